/*
 * The audit log: every admin action appended, in the action's own
 * transaction, to audit_log (migrations/0010-api-principals.sql) as a
 * hash chain, and the check that walks the chain.  The encoding hashed is
 * fixed here and in the migration's comment: SHA-256 over prev_hash (32
 * bytes), seq, at (Unix ms) and principal (0 for the command line) as
 * 8-byte big-endian integers, then action, target and details, each as a
 * 4-byte big-endian length and its bytes.  details is canonical JSON text,
 * hashed byte for byte as stored.
 *
 * Appending reads the last record and inserts the next seq; two appends
 * racing meet on the primary key and SERIALIZABLE makes one run again, so
 * the chain never forks.  The table's triggers refuse UPDATE, DELETE and
 * TRUNCATE; the check finds what went around them.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api_int.h"

#define VERIFY_BATCH   "1000"
#define VERIFY_BATCH_N 1000

static const struct db_stmt q_audit_last = {
    "api_audit_last",
    "SELECT l.seq, l.hash,"
    " (extract(epoch from date_trunc('milliseconds', now())) * 1000)::bigint FROM (SELECT 1) one "
    "LEFT JOIN"
    " (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) l ON true",
    0,
};

static const struct db_stmt q_audit_insert = {
    "api_audit_insert",
    "INSERT INTO audit_log (seq, at, principal, action, target, details, prev_hash, hash)"
    " VALUES ($1::bigint, 'epoch'::timestamptz + $2::bigint * interval '1 millisecond',"
    " $3::bigint, $4, $5, $6, $7::bytea, $8::bytea) ON CONFLICT (seq) DO NOTHING",
    8,
};

static const struct db_stmt q_audit_batch = {
    "api_audit_batch",
    "SELECT seq, (extract(epoch from at) * 1000)::bigint, coalesce(principal, 0), action,"
    " target, details, prev_hash, hash FROM audit_log WHERE seq > $1::bigint"
    " ORDER BY seq LIMIT " VERIFY_BATCH,
    1,
};

static void be(crypto_hash_sha256_state *st, uint64_t v, unsigned bytes)
{
  uint8_t b[8];
  for (unsigned i = 0; i < bytes; i++)
    b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
  crypto_hash_sha256_update(st, b, bytes);
}

static void text(crypto_hash_sha256_state *st, const char *s, size_t n)
{
  be(st, n, 4);
  crypto_hash_sha256_update(st, (const unsigned char *)s, n);
}

static void chain_hash(const uint8_t prev[32], int64_t seq, int64_t at_ms, int64_t principal,
                       const char *action, size_t al, const char *target, size_t tl,
                       const char *details, size_t dl, uint8_t out[32])
{
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, prev, 32);
  be(&st, (uint64_t)seq, 8);
  be(&st, (uint64_t)at_ms, 8);
  be(&st, (uint64_t)principal, 8);
  text(&st, action, al);
  text(&st, target, tl);
  text(&st, details, dl);
  crypto_hash_sha256_final(&st, out);
}

/* A bytea column in hex output ("\x..") into 32 bytes; false if not that. */
static bool bytea32(const char *hx, uint8_t out[32])
{
  size_t n = 0;
  return strncmp(hx, "\\x", 2) == 0 && strlen(hx) == 2 + 64 &&
         sodium_hex2bin(out, 32, hx + 2, 64, NULL, &n, NULL) == 0 && n == 32;
}

static void hex_param(const uint8_t h[32], char out[2 + 64 + 1])
{
  memcpy(out, "\\x", 2);
  sodium_bin2hex(out + 2, 65, h, 32);
}

enum db_qs api_audit_append(struct db_conn *c, int64_t principal, const char *action,
                            const char *target, const char *details)
{
  uint8_t prev[32] = {0}, hash[32];
  char *canon = NULL;
  size_t clen;
  PGresult *r;
  int rc = api_json_canonical(details, &canon, &clen);
  if (rc != 0) {
    log_bug("audit", "%s on %s: details are not a JSON object (%s)", action, target, err_text(rc));
    return DB_QS_HARD;
  }
  enum db_qs qs = db_exec(c, &q_audit_last, NULL, &r);
  if (qs <= 0) {
    free(canon);
    return qs < 0 ? qs : DB_QS_HARD;
  }
  int64_t seq = 1;
  if (!PQgetisnull(r, 0, 0)) {
    seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10) + 1;
    if (!bytea32(PQgetvalue(r, 0, 1), prev)) {
      log_bug("audit", "record %lld has no 32-byte hash", (long long)seq - 1);
      PQclear(r);
      free(canon);
      return DB_QS_HARD;
    }
  }
  int64_t at = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
  PQclear(r);
  chain_hash(prev, seq, at, principal, action, strlen(action), target, strlen(target), canon, clen,
             hash);
  char seqt[24], att[24], pt[24], prevt[67], hasht[67];
  snprintf(seqt, sizeof seqt, "%lld", (long long)seq);
  snprintf(att, sizeof att, "%lld", (long long)at);
  snprintf(pt, sizeof pt, "%lld", (long long)principal);
  hex_param(prev, prevt);
  hex_param(hash, hasht);
  const char *params[] = {seqt,  att,  principal != 0 ? pt : NULL, action, target, canon,
                          prevt, hasht};
  qs = db_exec(c, &q_audit_insert, params, NULL);
  free(canon);
  if (qs == DB_QS_NONE) { /* seq taken by a commit after our snapshot: again */
    util_strlcpy(c->last_sqlstate, "40001", sizeof c->last_sqlstate);
    return DB_QS_SOFT;
  }
  return qs;
}

int api_audit_verify(struct db_conn *c, int64_t *broken, int64_t *count)
{
  uint8_t prev[32] = {0}, stored_prev[32], stored[32], want[32];
  int64_t last = 0, n = 0;
  *broken = 0;
  for (;;) {
    char after[24];
    PGresult *r;
    snprintf(after, sizeof after, "%lld", (long long)last);
    const char *params[] = {after};
    enum db_qs qs = db_exec(c, &q_audit_batch, params, &r);
    if (qs < 0)
      return -ERR_DB_HARD;
    if (qs == DB_QS_NONE)
      break;
    int rows = PQntuples(r);
    for (int i = 0; i < rows && *broken == 0; i++) {
      int64_t seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
      int64_t at = strtoll(PQgetvalue(r, i, 1), NULL, 10);
      int64_t who = strtoll(PQgetvalue(r, i, 2), NULL, 10);
      bool ok = seq == last + 1 && bytea32(PQgetvalue(r, i, 6), stored_prev) &&
                bytea32(PQgetvalue(r, i, 7), stored) && sodium_memcmp(stored_prev, prev, 32) == 0;
      if (ok) {
        chain_hash(prev, seq, at, who, PQgetvalue(r, i, 3), (size_t)PQgetlength(r, i, 3),
                   PQgetvalue(r, i, 4), (size_t)PQgetlength(r, i, 4), PQgetvalue(r, i, 5),
                   (size_t)PQgetlength(r, i, 5), want);
        ok = sodium_memcmp(want, stored, 32) == 0;
      }
      if (!ok) {
        *broken = seq;
        log_msg(LOGL_ERROR, "audit", "audit chain broken at record %lld", (long long)seq);
      }
      memcpy(prev, stored, 32);
      last = seq;
      n++;
    }
    PQclear(r);
    if (*broken != 0 || rows < VERIFY_BATCH_N)
      break;
  }
  if (count != NULL)
    *count = n;
  return 0;
}
