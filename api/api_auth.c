/*
 * The key check of every route that is not public: the request's
 * "Authorization: Bearer bsk_<key_id>_<secret>" is split, its secret
 * hashed (api_keys.c) and compared in constant time with the stored hash
 * of key_id's row; the key must be neither revoked nor expired and its
 * principal not disabled.  The client gets one answer for every failure
 * (401 api_unauthorized); the log names the reason, never the key.  The
 * header's copy is wiped after use.
 */
#include <strings.h>
#include <string.h>

#include <sodium.h>

#include "api/api_int.h"

/*
 * Columns: hash, principal id, name, role, created (ms), disabled; the
 * key's created, expires_at, revoked_at, last_used_at (ms); expired now;
 * last use older than a minute.
 */
static const struct db_stmt q_key_lookup = {
    "api_key_lookup",
    "SELECT k.secret_hash, p.id, p.name, p.role, (extract(epoch from p.created) * 1000)::bigint,"
    " p.disabled, (extract(epoch from k.created) * 1000)::bigint,"
    " (extract(epoch from k.expires_at) * 1000)::bigint,"
    " (extract(epoch from k.revoked_at) * 1000)::bigint,"
    " (extract(epoch from k.last_used_at) * 1000)::bigint,"
    " k.expires_at IS NOT NULL AND k.expires_at <= now(),"
    " k.last_used_at IS NULL OR k.last_used_at < now() - interval '60 seconds'"
    " FROM api_keys k JOIN principals p ON p.id = k.principal WHERE k.key_id = $1",
    1,
};

static const struct db_stmt q_key_touch = {
    "api_key_touch",
    "UPDATE api_keys SET last_used_at = date_trunc('milliseconds', now()) WHERE key_id = $1"
    " AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')",
    1,
};

static int refuse(const struct api_request *req, const char *why)
{
  log_msg(LOGL_INFO, "auth", "%s %s: 401 (%s)", req->method, req->url, why);
  return -ERR_API_UNAUTHORIZED;
}

static int db_error(enum db_qs qs)
{
  return qs == DB_QS_SOFT ? -ERR_DB_CONFLICT : -ERR_DB_HARD;
}

/* The row of @key_id checked against @hash; fills @req on success. */
static int check_row(struct api_request *req, struct db_conn *c, const char *key_id,
                     const uint8_t hash[32])
{
  static const uint8_t dummy[32];
  uint8_t stored[32];
  size_t n = 0;
  PGresult *r;
  const char *params[] = {key_id};
  enum db_qs qs = db_exec(c, &q_key_lookup, params, &r);
  if (qs < 0)
    return db_error(qs);
  if (qs == DB_QS_NONE) {
    volatile int same = sodium_memcmp(hash, dummy, 32); /* as long as a known key's check */
    (void)same;
    return refuse(req, "unknown key");
  }
  const char *hx = PQgetvalue(r, 0, 0);
  bool ok = strncmp(hx, "\\x", 2) == 0 &&
            sodium_hex2bin(stored, sizeof stored, hx + 2, strlen(hx + 2), NULL, &n, NULL) == 0 &&
            n == 32 && sodium_memcmp(hash, stored, 32) == 0;
  struct api_principal *p = &req->principal;
  struct api_key_info *k = &req->key;
  p->id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
  util_strlcpy(p->name, PQgetvalue(r, 0, 2), sizeof p->name);
  int role_ok = api_role_parse(PQgetvalue(r, 0, 3), &p->role);
  p->created_ms = api__ms_value(r, 0, 4);
  p->disabled = PQgetvalue(r, 0, 5)[0] == 't';
  util_strlcpy(k->id, key_id, sizeof k->id);
  k->principal = p->id;
  k->created_ms = api__ms_value(r, 0, 6);
  k->expires_ms = api__ms_value(r, 0, 7);
  k->revoked_ms = api__ms_value(r, 0, 8);
  k->last_used_ms = api__ms_value(r, 0, 9);
  bool expired = PQgetvalue(r, 0, 10)[0] == 't';
  bool stale = PQgetvalue(r, 0, 11)[0] == 't';
  PQclear(r);
  if (!ok)
    return refuse(req, "wrong secret");
  if (k->revoked_ms != API_TIME_NONE)
    return refuse(req, "key revoked");
  if (expired)
    return refuse(req, "key expired");
  if (p->disabled)
    return refuse(req, "principal disabled");
  if (role_ok != 0) {
    log_bug("auth", "principal %lld has no known role", (long long)p->id);
    return -ERR_INTERNAL;
  }
  if (stale && db_exec(c, &q_key_touch, params, NULL) < 0)
    log_msg(LOGL_WARN, "auth", "last_used_at of key %s not updated: %s", key_id, c->last_error);
  req->authed = true;
  return 0;
}

int api__authenticate(struct api_request *req)
{
  char text[API_KEY_TEXT_MAX];
  char key_id[API_KEY_ID_LEN + 1];
  uint8_t hash[32];
  struct db_conn *c;
  const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Authorization");
  if (h == NULL)
    return refuse(req, "no Authorization header");
  if (strncasecmp(h, "Bearer ", 7) != 0)
    return refuse(req, "not a Bearer credential");
  h += 7;
  while (*h == ' ')
    h++;
  size_t len = strlen(h);
  while (len > 0 && (h[len - 1] == ' ' || h[len - 1] == '\t'))
    len--;
  if (len >= sizeof text)
    return refuse(req, "malformed key");
  memcpy(text, h, len);
  text[len] = '\0';
  int rc = api_key_check_text(text, len, key_id, hash);
  sodium_memzero(text, sizeof text);
  if (rc != 0)
    return refuse(req, "malformed key");
  if ((rc = api_req_db(req, &c)) != 0)
    return rc;
  memset(&req->principal, 0, sizeof req->principal);
  memset(&req->key, 0, sizeof req->key);
  rc = check_row(req, c, key_id, hash);
  sodium_memzero(hash, sizeof hash);
  if (rc != 0) {
    memset(&req->principal, 0, sizeof req->principal);
    memset(&req->key, 0, sizeof req->key);
  }
  return rc;
}
