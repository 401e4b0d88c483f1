/*
 * attest_verify.c: checking an attestation offline (the auditor's
 * `backstock attest verify` / `attest inclusion`) and reading it back for
 * the API: the document of an id, and a holder's proof rebuilt from the
 * holder export.  Every mismatch is reported as "<ISIN> <field>: the
 * attestation says X, <source> gives Y", the first one only.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "custody/custody.h"
#include "reconcile/attest_int.h"
#include "reconcile/attest_q.h"

#define HOLDER_MAX 128

/* The string member at @path ("a.b.c") of @obj into @buf; 0 or -1. */
static int get_str(struct attest_span obj, const char *path, char *buf, size_t cap)
{
  char name[64];
  struct attest_span v = obj;
  while (*path != '\0') {
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    if (n >= sizeof name)
      return -1;
    memcpy(name, path, n);
    name[n] = '\0';
    if (attest_member(v, name, &v) != 0)
      return -1;
    path += n + (dot != NULL);
  }
  if (v.n > 0 && v.p[0] != '"') { /* a number or null: its text */
    if (v.n >= cap)
      return -1;
    memcpy(buf, v.p, v.n);
    buf[v.n] = '\0';
    return 0;
  }
  return attest_str(v, buf, cap);
}

struct agg_sum {
  const char *isin;
  struct money sum;
  int rc;
};

static int agg_fn(void *cls, const struct custody_stmt *st, const struct custody_position *p)
{
  (void)st;
  struct agg_sum *a = cls;
  if (strcmp(p->isin, a->isin) != 0 || !p->aggregate.present)
    return 0;
  if (p->aggregate.shrt)
    a->rc = money_sub(a->sum, p->aggregate.qty, &a->sum);
  else
    a->rc = money_add(a->sum, p->aggregate.qty, &a->sum);
  return a->rc;
}

/* Statement pages: their hashes, the statement's hash, AGG. */
static int check_statement(struct attest_span ins, const char *isin, const char *dir,
                           struct money *agg, char *msg, size_t cap)
{
  struct attest_span pages, pg;
  if (attest_member(ins, "statement", &pages) != 0 || attest_member(pages, "pages", &pages) != 0)
    return kv_fail(msg, cap, -ERR_POR_MISMATCH, "%s statement.pages: missing", isin);
  crypto_hash_sha256_state hs;
  crypto_hash_sha256_init(&hs);
  struct agg_sum a = {isin, {0, 0}, 0};
  struct custody_limits lim;
  custody_limits_default(&lim);
  for (size_t i = 0; attest_element(pages, i, &pg) == 0; i++) {
    char sha[80], file[128], path[ATTEST_PATH_MAX], hex[65];
    if (get_str(pg, "sha256", sha, sizeof sha) != 0 ||
        get_str(pg, "file", file, sizeof file) != 0 || strchr(file, '/') != NULL)
      return kv_fail(msg, cap, -ERR_POR_MISMATCH, "%s statement.pages[%zu]: malformed", isin, i);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *buf = NULL;
    size_t len = 0;
    if (util_read_file(path, (size_t)lim.max_bytes, &buf, &len) != 0)
      return kv_fail(msg, cap, -ERR_IO, "%s statement.pages[%zu]: cannot read %s", isin, i, path);
    uint8_t h[32];
    crypto_hash_sha256(h, (const uint8_t *)buf, len);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    crypto_hash_sha256_update(&hs, (const uint8_t *)buf, len);
    if (strcmp(hex, sha) != 0) {
      free(buf);
      return kv_fail(
          msg, cap, -ERR_POR_MISMATCH,
          "%s statement.pages[%zu].sha256: the attestation says %s, file %s hashes to %s", isin, i,
          sha, path, hex);
    }
    struct custody_stmt st;
    struct custody_error err;
    memset(&err, 0, sizeof err);
    int rc = custody_semt002_parse_mem(buf, len, &lim, &st, agg_fn, &a, &err);
    free(buf);
    if (rc != 0)
      return kv_fail(msg, cap, -ERR_POR_MISMATCH, "%s statement file %s: not a semt.002 (%s: %s)",
                     isin, path, err.where, err.msg);
  }
  uint8_t h[32];
  char hex[65], want[80];
  crypto_hash_sha256_final(&hs, h);
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  if (get_str(ins, "statement.sha256", want, sizeof want) != 0 || strcmp(want, hex) != 0)
    return kv_fail(msg, cap, -ERR_POR_MISMATCH,
                   "%s statement.sha256: the attestation says %s, the statement files give %s",
                   isin, want, hex);
  *agg = a.sum;
  return 0;
}

/* Rebuilds the tree of @path (a holder export); @isin, @rid checked against the header. */
static int rebuild(const char *path, const char *isin, struct por_node *root, uint64_t *count,
                   unsigned *height, unsigned *decimals, uint8_t rid[POR_ROUND_ID_LEN],
                   const char *want_holder, struct por_proof *proof, char *msg, size_t cap)
{
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return kv_fail(msg, cap, -ERR_IO, "%s: cannot read the holder export %s", isin, path);
  char line[512], hisin[16] = "";
  uint8_t key[POR_KEY_LEN];
  int rc = 0;
  if (fgets(line, sizeof line, f) == NULL ||
      attest_holders_header(line, hisin, rid, key, height, decimals) != 0 ||
      strcmp(hisin, isin) != 0) {
    fclose(f);
    return kv_fail(msg, cap, -ERR_POR_MISMATCH, "%s: %s has no valid header line", isin, path);
  }
  FILE *lv = want_holder != NULL ? tmpfile() : NULL;
  struct por_tree *t = NULL;
  rc = (want_holder != NULL && lv == NULL) ? -ERR_IO : por_tree_new(*height, rid, key, lv, &t);
  sodium_memzero(key, sizeof key);
  uint64_t n = 0, at = UINT64_MAX;
  uint8_t at_hash[POR_HASH_LEN];
  por_u128 at_bal = 0;
  while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
    char holder[HOLDER_MAX];
    por_u128 bal;
    if (attest_holders_line(line, holder, sizeof holder, &bal) != 0) {
      rc = kv_fail(msg, cap, -ERR_POR_MISMATCH, "%s: %s line %llu is not \"<holder> <balance>\"",
                   isin, path, (unsigned long long)n + 2);
      break;
    }
    if (want_holder != NULL && strcmp(holder, want_holder) == 0) {
      at = n;
      at_bal = bal;
      crypto_hash_sha256(at_hash, (const uint8_t *)holder, strlen(holder));
    }
    rc = por_tree_push(t, holder, strlen(holder), bal);
    n++;
  }
  fclose(f);
  if (rc == 0)
    rc = por_tree_finish(t, root);
  if (rc == 0 && want_holder != NULL)
    rc = at == UINT64_MAX ? -ERR_API_NOT_FOUND : por_tree_proof(t, at, at_hash, at_bal, proof);
  por_tree_free(t);
  if (lv != NULL)
    fclose(lv);
  if (rc != 0 && msg != NULL && msg[0] == '\0')
    kv_fail(msg, cap, rc, "%s: the holder export %s does not build a tree (%s)", isin, path,
            err_name(rc));
  *count = n;
  return rc;
}

static int check_field(const char *isin, const char *field, const char *said, const char *got,
                       const char *src, char *msg, size_t cap)
{
  if (strcmp(said, got) == 0)
    return 0;
  return kv_fail(msg, cap, -ERR_POR_MISMATCH, "%s %s: the attestation says %s, %s gives %s", isin,
                 field, said, src, got);
}

/* One instrument of the payload against the files. */
static int check_isin(struct attest_span ins, size_t i, const char *stmt_dir,
                      const char *holders_dir, char *msg, size_t cap)
{
  char isin[16], path[ATTEST_PATH_MAX], s[MONEY_STR_MAX + 80];
  if (get_str(ins, "isin", isin, sizeof isin) != 0 || strlen(isin) != 12 ||
      strspn(isin, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != 12)
    return kv_fail(msg, cap, -ERR_POR_MISMATCH, "instruments[%zu].isin: malformed", i);
  struct attest_figures f;
  memset(&f, 0, sizeof f);
  util_strlcpy(f.isin, isin, sizeof f.isin);
  int rc = check_statement(ins, isin, stmt_dir, &f.agg, msg, cap);
  if (rc != 0)
    return rc;

  struct por_node root;
  uint64_t count = 0;
  unsigned height = 0, decimals = 0;
  uint8_t rid[POR_ROUND_ID_LEN];
  snprintf(path, sizeof path, "%s/%s.txt", holders_dir, isin);
  if (msg != NULL)
    msg[0] = '\0';
  rc = rebuild(path, isin, &root, &count, &height, &decimals, rid, NULL, NULL, msg, cap);
  if (rc != 0)
    return rc;
  char got[MONEY_STR_MAX + 80];
  sodium_bin2hex(got, sizeof got, rid, sizeof rid);
  if (get_str(ins, "tree.round_id", s, sizeof s) != 0)
    s[0] = '\0';
  if ((rc = check_field(isin, "tree.round_id", s, got, "the holder export", msg, cap)) != 0)
    return rc;
  struct {
    const char *field;
    unsigned v;
  } ints[] = {{"tree.height", height}, {"tree.decimals", decimals}};
  for (size_t k = 0; k < 2; k++) {
    snprintf(got, sizeof got, "%u", ints[k].v);
    if (get_str(ins, ints[k].field, s, sizeof s) != 0)
      s[0] = '\0';
    if ((rc = check_field(isin, ints[k].field, s, got, "the holder export", msg, cap)) != 0)
      return rc;
  }
  snprintf(got, sizeof got, "%llu", (unsigned long long)count);
  if (get_str(ins, "tree.holders", s, sizeof s) != 0)
    s[0] = '\0';
  if ((rc = check_field(isin, "tree.holders", s, got, "the holder export", msg, cap)) != 0)
    return rc;
  por_u128_format(root.sum, got, sizeof got);
  if (get_str(ins, "tree.sum", s, sizeof s) != 0)
    s[0] = '\0';
  if ((rc = check_field(isin, "tree.sum", s, got, "the holder export", msg, cap)) != 0)
    return rc;
  sodium_bin2hex(got, sizeof got, root.hash, sizeof root.hash);
  if (get_str(ins, "tree.root", s, sizeof s) != 0)
    s[0] = '\0';
  if ((rc = check_field(isin, "tree.root", s, got, "the holder export", msg, cap)) != 0)
    return rc;

  /* the figures the files cannot give are taken as published, the rest recomputed */
  struct {
    const char *field;
    struct money *m;
  } in[] = {{"reserves.pending_in", &f.penr_in},
            {"reserves.pending_out", &f.pend_out},
            {"liabilities.multiplier", &f.multiplier},
            {"liabilities.redemptions_owed", &f.red_owed},
            {"liabilities.redemptions_instructed", &f.red_instr},
            {"liabilities.mints_owed", &f.mint_owed}};
  for (size_t k = 0; k < sizeof in / sizeof in[0]; k++)
    if (get_str(ins, in[k].field, s, sizeof s) != 0 ||
        money_parse(s, strlen(s), 18, MONEY_PARSE_NEGATIVE, in[k].m) != 0)
      return kv_fail(msg, cap, -ERR_POR_MISMATCH, "%s %s: missing or not an amount", isin,
                     in[k].field);
  struct attest_liab l;
  if ((rc = attest_liabilities(&f, root.sum, decimals, &l)) != 0)
    return kv_fail(msg, cap, -ERR_POR_MISMATCH, "%s: figures out of range (%s)", isin,
                   err_name(rc));
  struct {
    const char *field, *got, *src;
  } out[] = {{"reserves.settled", l.agg, "the statement files (AggtBal)"},
             {"liabilities.raw_supply", l.raw, "the holder export (sum)"},
             {"liabilities.displayed_supply", l.displayed, "raw supply x multiplier"},
             {"coverage.settled", l.settled, "AGG - (displayed + redemptions owed)"},
             {"coverage.contractual", l.contractual, "the contractual equation"}};
  for (size_t k = 0; k < sizeof out / sizeof out[0]; k++) {
    if (get_str(ins, out[k].field, s, sizeof s) != 0)
      s[0] = '\0';
    if ((rc = check_field(isin, out[k].field, s, out[k].got, out[k].src, msg, cap)) != 0)
      return rc;
  }
  return 0;
}

int attest_verify_files(const char *doc, size_t len, const char *stmt_dir, const char *holders_dir,
                        const char *prev_hash, const struct por_pubkey *keys, size_t nkeys,
                        por_canon_fn canon, char *msg, size_t msg_cap)
{
  if (msg != NULL && msg_cap > 0)
    msg[0] = '\0';
  struct attest_span d = {doc, len}, pl, list, ins;
  if (keys != NULL) {
    int rc = por_attest_verify(doc, len, keys, nkeys, canon, NULL, NULL, NULL);
    if (rc == -ERR_POR_CANONICAL)
      return kv_fail(msg, msg_cap, rc, "document: not in canonical form (or its payload is not)");
    if (rc != 0)
      return kv_fail(msg, msg_cap, rc,
                     "signature: does not verify with any published key (unknown key id or the "
                     "payload or signature changed)");
  }
  if (attest_member(d, "payload", &pl) != 0 || attest_member(pl, "instruments", &list) != 0)
    return kv_fail(msg, msg_cap, -ERR_POR_CANONICAL, "document: no payload.instruments");
  if (prev_hash != NULL) {
    char s[80];
    if (get_str(pl, "previous", s, sizeof s) != 0)
      s[0] = '\0';
    const char *want = prev_hash[0] ? prev_hash : "null";
    if (strcmp(s, want) != 0)
      return kv_fail(msg, msg_cap, -ERR_POR_MISMATCH,
                     "previous: the attestation says %s, the previous attestation hashes to %s", s,
                     want);
  }
  size_t i = 0;
  for (; attest_element(list, i, &ins) == 0; i++) {
    int rc = check_isin(ins, i, stmt_dir, holders_dir, msg, msg_cap);
    if (rc != 0)
      return rc;
  }
  if (i == 0)
    return kv_fail(msg, msg_cap, -ERR_POR_MISMATCH, "instruments: empty");
  return 0;
}

int attest_verify_inclusion(const char *doc, size_t len, const char *proof, size_t plen, char *msg,
                            size_t msg_cap)
{
  if (msg != NULL && msg_cap > 0)
    msg[0] = '\0';
  struct attest_span pr = {proof, plen}, inner, d = {doc, len}, pl, list, ins;
  /* the API's wrapper {"isin":..,"proof":{..},..} or the bare proof */
  if (attest_member(pr, "proof", &inner) == 0)
    pr = inner;
  struct por_proof p;
  if (por_proof_parse(pr.p, pr.n, &p) != 0)
    return kv_fail(msg, msg_cap, -ERR_POR_PROOF, "proof: not a proof in its canonical text form");
  if (attest_member(d, "payload", &pl) != 0 || attest_member(pl, "instruments", &list) != 0)
    return kv_fail(msg, msg_cap, -ERR_POR_PROOF, "document: no payload.instruments");
  char rid[65];
  sodium_bin2hex(rid, sizeof rid, p.round_id, sizeof p.round_id);
  for (size_t i = 0; attest_element(list, i, &ins) == 0; i++) {
    char s[80], isin[16], sum[64], h[16];
    if (get_str(ins, "tree.round_id", s, sizeof s) != 0 || strcmp(s, rid) != 0)
      continue;
    uint8_t root[POR_HASH_LEN];
    por_u128 total = 0;
    if (get_str(ins, "isin", isin, sizeof isin) != 0 || get_str(ins, "tree.root", s, sizeof s) ||
        get_str(ins, "tree.sum", sum, sizeof sum) != 0 ||
        get_str(ins, "tree.height", h, sizeof h) != 0 ||
        sodium_hex2bin(root, sizeof root, s, strlen(s), NULL, NULL, NULL) != 0)
      return kv_fail(msg, msg_cap, -ERR_POR_PROOF, "instruments[%zu].tree: malformed", i);
    for (const char *c = sum; *c; c++)
      total = total * 10 + (por_u128)(*c - '0');
    char why[POR_MSG_MAX];
    int rc = por_proof_verify(&p, root, total, (unsigned)strtoul(h, NULL, 10), why, sizeof why);
    if (rc != 0)
      return kv_fail(msg, msg_cap, rc, "%s proof: %s", isin, why);
    return 0;
  }
  return kv_fail(msg, msg_cap, -ERR_POR_PROOF,
                 "proof: its round_id %s is none of the attestation's trees", rid);
}

int attest_get(struct db_conn *c, int64_t id, int64_t *id_out, char **doc, size_t *len)
{
  char ids[24];
  snprintf(ids, sizeof ids, "%lld", (long long)id);
  const char *p[] = {ids};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &attest_q_get, p, &r);
  if (qs < 0)
    return qs == DB_QS_SOFT ? -ERR_DB_CONFLICT : -ERR_DB_HARD;
  if (qs == DB_QS_NONE)
    return -ERR_API_NOT_FOUND;
  *id_out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  size_t n = (size_t)PQgetlength(r, 0, 1);
  char *d = malloc(n + 1);
  if (d == NULL) {
    PQclear(r);
    return -ERR_NOMEM;
  }
  memcpy(d, PQgetvalue(r, 0, 1), n + 1);
  PQclear(r);
  *doc = d;
  *len = n;
  return 0;
}

int attest_proof(const char *data_dir, int64_t id, const char *isin, const char *holder,
                 char **json, size_t *len)
{
  if (strlen(isin) != 12 || strspn(isin, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != 12 ||
      strlen(holder) >= HOLDER_MAX || strlen(data_dir) >= ATTEST_DATA_DIR_MAX)
    return -ERR_API_NOT_FOUND;
  char path[ATTEST_PATH_MAX];
  snprintf(path, sizeof path, "%s/attestations/%lld/holders/%s.txt", data_dir, (long long)id, isin);
  struct por_node root;
  struct por_proof p;
  uint64_t count;
  unsigned height, decimals;
  uint8_t rid[POR_ROUND_ID_LEN];
  char dir[ATTEST_PATH_MAX];
  snprintf(dir, sizeof dir, "%s/attestations/%lld", data_dir, (long long)id);
  int rc = attest_proof_levels(dir, isin, holder, &p, &root);
  if (rc == -ERR_IO) /* a folder without levels and offsets: rebuild from the export */
    rc = rebuild(path, isin, &root, &count, &height, &decimals, rid, holder, &p, NULL, 0);
  if (rc == -ERR_IO)
    return -ERR_API_NOT_FOUND;
  if (rc != 0)
    return rc;
  char text[POR_PROOF_TEXT_MAX], hex[65], sum[48];
  if ((rc = por_proof_format(&p, text, sizeof text)) < 0)
    return rc;
  sodium_bin2hex(hex, sizeof hex, root.hash, sizeof root.hash);
  por_u128_format(root.sum, sum, sizeof sum);
  size_t cap = strlen(text) + 256;
  char *out = malloc(cap);
  if (out == NULL)
    return -ERR_NOMEM;
  int n =
      snprintf(out, cap,
               "{\"attestation\":%lld,\"isin\":\"%s\",\"proof\":%s,\"root\":\"%s\",\"sum\":\"%s\"}",
               (long long)id, isin, text, hex, sum);
  *json = out;
  *len = (size_t)n;
  return 0;
}
