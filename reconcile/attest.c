/*
 * attest.c: building an attestation (docs/attestation.md).  Per ISIN of
 * the figures: the holders of its token at the run's block go into the
 * holder export and the sum tree (levels file kept for proofs); the
 * statement's pages are exported raw; the payload (canonical JSON) is
 * signed and stored in table attestations, chained to the previous one.
 * Files are written into a temporary folder that is renamed to
 * <data dir>/attestations/<id> once the row is committed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chain/chain.h"
#include "reconcile/attest_int.h"
#include "reconcile/por_bytes.h"
#include "reconcile/attest_q.h"

struct build {
  struct db_conn *c;
  const uint8_t *master;
  unsigned height;
  char dir[ATTEST_DIR_MAX]; /* the temporary folder */
  FILE *pl;                 /* the payload */
};

static void time_rfc3339(int64_t ms, char *buf, size_t cap)
{
  char tmp[96];
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
  util_strlcpy(buf, tmp, cap);
}

static int qs_err(enum db_qs qs)
{
  return qs == DB_QS_SOFT ? -ERR_DB_CONFLICT : -ERR_DB_HARD;
}

/* The statement's pages: export each, hash all; writes the "statement" member. */
static int do_statement(struct build *b, const struct attest_figures *f, const char *stmt_id,
                        const char *cutoff)
{
  char id[24];
  snprintf(id, sizeof id, "%lld", (long long)f->statement_id);
  const char *p[] = {id};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(b->c, &attest_q_pages, p, &r);
  if (qs < 0)
    return qs_err(qs);
  if (qs == DB_QS_NONE)
    return -ERR_INVALID_ARGUMENT;
  crypto_hash_sha256_state hs;
  crypto_hash_sha256_init(&hs);
  char esc[512];
  size_t pos = 0;
  esc[0] = '\0';
  util_json_escape(esc, sizeof esc, &pos, stmt_id);
  fprintf(b->pl, "\"statement\":{\"cutoff\":\"%s\",\"id\":\"%s\",\"pages\":[", cutoff, esc);
  int rc = 0;
  for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
    const char *sha = PQgetvalue(r, i, 0), *hex = PQgetvalue(r, i, 1);
    size_t hl = strlen(hex), n = 0;
    uint8_t *raw = malloc(hl / 2 + 1);
    if (raw == NULL) {
      rc = -ERR_NOMEM;
      break;
    }
    if (sodium_hex2bin(raw, hl / 2 + 1, hex, hl, NULL, &n, NULL) != 0)
      rc = -ERR_IO;
    char path[ATTEST_PATH_MAX];
    snprintf(path, sizeof path, "%s/statements/%s.xml", b->dir, sha);
    if (rc == 0)
      rc = attest_write_file(path, raw, n);
    crypto_hash_sha256_update(&hs, raw, n);
    free(raw);
    fprintf(b->pl, "%s{\"file\":\"%s.xml\",\"sha256\":\"%s\"}", i ? "," : "", sha, sha);
  }
  PQclear(r);
  uint8_t h[32];
  char hh[65];
  crypto_hash_sha256_final(&hs, h);
  sodium_bin2hex(hh, sizeof hh, h, sizeof h);
  fprintf(b->pl, "],\"sha256\":\"%s\"}", hh);
  return rc;
}

#define HOLDERS_PAGE 10000

/*
 * Every holder of @token at the run's block, a page at a time, in address order: its line in
 * the export @hf, the line's byte offset (8 bytes big-endian) in @of, its leaf in @t.  *@off is
 * the export's length so far; *@rows counts the holders.  An address not above the one before
 * is refused (-ERR_INTERNAL): the proofs' binary search needs the order.
 */
static int holders_pages(struct build *b, const struct attest_figures *f, const char *token,
                         unsigned decimals, FILE *hf, FILE *of, struct por_tree *t, uint64_t *off,
                         uint64_t *rows)
{
  char blk[24], after[48] = "", lim[16];
  snprintf(blk, sizeof blk, "%lld", (long long)f->block);
  snprintf(lim, sizeof lim, "%d", HOLDERS_PAGE);
  for (;;) {
    const char *p[] = {token, blk, after, lim};
    PGresult *r = NULL;
    enum db_qs qs = db_exec(b->c, &attest_q_holders, p, &r);
    if (qs < 0)
      return qs_err(qs);
    int n = qs > 0 ? PQntuples(r) : 0, rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
      const char *addr = PQgetvalue(r, i, 0), *bal = PQgetvalue(r, i, 1);
      struct money m;
      if (strlen(addr) >= sizeof after || strcmp(addr, after) <= 0) {
        rc = -ERR_INTERNAL;
        break;
      }
      memcpy(after, addr, strlen(addr) + 1);
      rc = money_parse(bal, strlen(bal), 18, 0, &m);
      if (rc == 0)
        rc = money_rescale(m, decimals, MONEY_ROUND_EXACT, &m);
      if (rc != 0)
        break;
      char d[48];
      uint8_t be[8];
      por_u128_format((por_u128)m.v, d, sizeof d);
      por_put_u64be(be, *off);
      int w = fprintf(hf, "%s %s\n", addr, d);
      if (w < 0 || fwrite(be, 1, sizeof be, of) != sizeof be) {
        rc = -ERR_IO;
        break;
      }
      *off += (uint64_t)w;
      (*rows)++;
      rc = por_tree_push(t, addr, strlen(addr), (por_u128)m.v);
    }
    if (r != NULL)
      PQclear(r);
    if (rc != 0 || n < HOLDERS_PAGE)
      return rc;
  }
}

/* The holders: export and tree; writes the "tree" member, gives the sum. */
static int do_tree(struct build *b, const struct attest_figures *f, const char *token,
                   unsigned decimals, const char *cutoff, por_u128 *sum_out)
{
  uint8_t rid[POR_ROUND_ID_LEN], key[POR_KEY_LEN];
  int rc = por_round_id(f->isin, cutoff, rid);
  if (rc != 0)
    return rc;
  por_round_key(b->master, rid, key);
  char path[ATTEST_PATH_MAX];
  snprintf(path, sizeof path, "%s/levels/%s.levels", b->dir, f->isin);
  FILE *lv = fopen(path, "w+");
  snprintf(path, sizeof path, "%s/levels/%s.offsets", b->dir, f->isin);
  FILE *of = fopen(path, "w");
  snprintf(path, sizeof path, "%s/holders/%s.txt", b->dir, f->isin);
  FILE *hf = fopen(path, "w");
  struct por_tree *t = NULL;
  if (lv == NULL || hf == NULL || of == NULL)
    rc = -ERR_IO;
  else
    rc = por_tree_new(b->height, rid, key, lv, &t);
  char rhex[65], khex[65];
  sodium_bin2hex(rhex, sizeof rhex, rid, sizeof rid);
  sodium_bin2hex(khex, sizeof khex, key, sizeof key);
  sodium_memzero(key, sizeof key);
  int w = 0;
  if (rc == 0)
    w = fprintf(hf,
                "# backstock holders v1 isin=%s round_id=%s round_key=%s height=%u decimals=%u\n",
                f->isin, rhex, khex, b->height, decimals);
  sodium_memzero(khex, sizeof khex);
  uint64_t off = w > 0 ? (uint64_t)w : 0, rows = 0;
  if (rc == 0)
    rc = holders_pages(b, f, token, decimals, hf, of, t, &off, &rows);
  struct por_node root;
  if (rc == 0)
    rc = por_tree_finish(t, &root);
  por_tree_free(t);
  if (hf != NULL && (fflush(hf) != 0 || fsync(fileno(hf)) != 0) && rc == 0)
    rc = -ERR_IO;
  if (hf != NULL && fclose(hf) != 0 && rc == 0)
    rc = -ERR_IO;
  if (of != NULL && fclose(of) != 0 && rc == 0)
    rc = -ERR_IO;
  if (lv != NULL)
    fclose(lv);
  if (rc != 0)
    return rc;
  char hex[65], sum[48];
  sodium_bin2hex(hex, sizeof hex, root.hash, sizeof root.hash);
  por_u128_format(root.sum, sum, sizeof sum);
  fprintf(b->pl,
          "\"tree\":{\"decimals\":%u,\"height\":%u,\"holders\":%llu,\"root\":\"%s\","
          "\"round_id\":\"%s\",\"sum\":\"%s\",\"token\":\"%s\"}",
          decimals, b->height, (unsigned long long)rows, hex, rhex, sum, token);
  *sum_out = root.sum;
  return 0;
}

/* One "instruments" element. */
static int do_isin(struct build *b, const struct attest_figures *f)
{
  const char *p[] = {f->isin};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(b->c, &attest_q_instrument, p, &r);
  if (qs <= 0)
    return qs == DB_QS_NONE ? -ERR_INVALID_ARGUMENT : qs_err(qs);
  char token[CHAIN_SYMBOL_MAX];
  util_strlcpy(token, PQgetvalue(r, 0, 0), sizeof token);
  unsigned decimals = (unsigned)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
  PQclear(r);
  char sid[24];
  snprintf(sid, sizeof sid, "%lld", (long long)f->statement_id);
  const char *sp[] = {sid};
  qs = db_exec(b->c, &attest_q_statement, sp, &r);
  if (qs <= 0)
    return qs == DB_QS_NONE ? -ERR_INVALID_ARGUMENT : qs_err(qs);
  char stmt_id[128], cutoff[40];
  util_strlcpy(stmt_id, PQgetvalue(r, 0, 0), sizeof stmt_id);
  util_strlcpy(cutoff, PQgetvalue(r, 0, 1), sizeof cutoff);
  PQclear(r);

  struct attest_liab l;
  fprintf(b->pl, "{\"chain\":{\"block\":\"%lld\",\"hash\":null,\"id\":\"builtin\"},",
          (long long)f->block);
  /* tree first into a side buffer: coverage needs its sum, but sorts before it */
  FILE *main_pl = b->pl;
  char *tree = NULL, *stmt = NULL;
  size_t tl = 0, sl = 0;
  por_u128 sum = 0;
  b->pl = open_memstream(&tree, &tl);
  int rc = b->pl == NULL ? -ERR_NOMEM : do_tree(b, f, token, decimals, cutoff, &sum);
  if (b->pl != NULL)
    fclose(b->pl);
  b->pl = open_memstream(&stmt, &sl);
  if (rc == 0)
    rc = b->pl == NULL ? -ERR_NOMEM : do_statement(b, f, stmt_id, cutoff);
  if (b->pl != NULL)
    fclose(b->pl);
  b->pl = main_pl;
  if (rc == 0)
    rc = attest_liabilities(f, sum, decimals, &l);
  if (rc == 0)
    fprintf(b->pl,
            "\"coverage\":{\"contractual\":\"%s\",\"settled\":\"%s\"},\"isin\":\"%s\","
            "\"liabilities\":{\"displayed_supply\":\"%s\",\"mints_owed\":\"%s\","
            "\"multiplier\":\"%s\",\"raw_supply\":\"%s\",\"redemptions_instructed\":\"%s\","
            "\"redemptions_owed\":\"%s\"},\"reserves\":{\"pending_in\":\"%s\","
            "\"pending_out\":\"%s\",\"settled\":\"%s\"},%s,%s}",
            l.contractual, l.settled, f->isin, l.displayed, l.mints_owed, l.multiplier, l.raw,
            l.red_instr, l.red_owed, l.penr_in, l.pend_out, l.agg, stmt, tree);
  free(tree);
  free(stmt);
  return rc;
}

struct ins {
  int64_t id;
  int64_t now;
  const char *payload, *doc, *hash, *prev;
};

static enum db_qs ins_fn(struct db_conn *c, void *cls)
{
  struct ins *a = cls;
  char id[24], now[24];
  snprintf(id, sizeof id, "%lld", (long long)a->id);
  snprintf(now, sizeof now, "%lld", (long long)a->now);
  const char *p[] = {id, now, a->payload, a->doc, a->hash, a->prev};
  return db_exec(c, &attest_q_insert, p, NULL);
}

static int mk_dirs(const char *dir)
{
  const char *sub[] = {"", "/statements", "/holders", "/levels"};
  char path[ATTEST_PATH_MAX];
  for (size_t i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s%s", dir, sub[i]);
    int rc = attest_mkdirs(path);
    if (rc != 0)
      return rc;
  }
  return 0;
}

int attest_build_from(struct db_conn *c, const struct por_signer *s,
                      const uint8_t master[POR_KEY_LEN], const char *data_dir, unsigned height,
                      por_canon_fn canon, const struct attest_figures *figs, size_t n,
                      struct attest_result *out)
{
  if (n == 0 || n > ATTEST_ISINS_MAX || height > POR_HEIGHT_MAX)
    return -ERR_INVALID_ARGUMENT;
  struct build b = {.c = c, .master = master, .height = height ? height : ATTEST_HEIGHT_DEFAULT};
  PGresult *r = NULL;
  /* a folder an earlier crash left between commit and rename first */
  int rc0 = attest_recover(c, data_dir, NULL);
  if (rc0 != 0)
    log_msg(LOGL_WARN, "attest", "recovering earlier folders: %s", err_text(rc0));
  enum db_qs qs = db_exec(c, &attest_q_last, NULL, &r);
  if (qs < 0)
    return qs_err(qs);
  int64_t id = 1;
  char prev[POR_HASH_HEX_LEN + 1] = "";
  if (qs > 0) {
    id = strtoll(PQgetvalue(r, 0, 0), NULL, 10) + 1;
    util_strlcpy(prev, PQgetvalue(r, 0, 1), sizeof prev);
    PQclear(r);
  }
  int64_t now = 0;
  int rc = db_clock_now(c, &now);
  if (rc != 0)
    return rc;
  if (strlen(data_dir) >= ATTEST_DATA_DIR_MAX)
    return -ERR_INVALID_ARGUMENT;
  char top[ATTEST_DATA_DIR_MAX + 16], rnd[17], final_dir[ATTEST_DIR_MAX];
  util_random_hex(rnd, 8);
  snprintf(top, sizeof top, "%s/attestations", data_dir);
  snprintf(b.dir, sizeof b.dir, "%s/.tmp-%lld-%s", top, (long long)id, rnd);
  snprintf(final_dir, sizeof final_dir, "%s/%lld", top, (long long)id);
  if ((rc = mk_dirs(b.dir)) != 0)
    return rc;
  char *payload = NULL, *canon_pl = NULL, *doc = NULL;
  size_t pl_len = 0, canon_len = 0, doc_len = 0;
  b.pl = open_memstream(&payload, &pl_len);
  if (b.pl == NULL) {
    attest_rm_tree(b.dir);
    return -ERR_NOMEM;
  }
  char created[40];
  time_rfc3339(now, created, sizeof created);
  fprintf(b.pl, "{\"created\":\"%s\",\"id\":%lld,\"instruments\":[", created, (long long)id);
  /* sorted by ISIN, each once */
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (i > 0 && strcmp(figs[i - 1].isin, figs[i].isin) >= 0)
      rc = -ERR_INVALID_ARGUMENT;
    if (rc == 0 && i > 0)
      fputc(',', b.pl);
    if (rc == 0)
      rc = do_isin(&b, &figs[i]);
  }
  if (prev[0] != '\0')
    fprintf(b.pl, "],\"previous\":\"%s\",\"version\":1}", prev);
  else
    fprintf(b.pl, "],\"previous\":null,\"version\":1}");
  fclose(b.pl);
  if (rc == 0 && canon(payload, &canon_pl, &canon_len) != 0)
    rc = -ERR_POR_CANONICAL;
  if (rc == 0)
    rc = por_attest_sign(s, canon_pl, canon_len, canon, &doc, &doc_len);
  char hash[POR_HASH_HEX_LEN + 1] = "", path[ATTEST_PATH_MAX];
  if (rc == 0)
    rc = por_attest_hash(doc, doc_len, canon, hash);
  snprintf(path, sizeof path, "%s/attestation.json", b.dir);
  if (rc == 0)
    rc = attest_write_file(path, doc, doc_len);
  bool inserting = rc == 0;
  if (rc == 0) {
    struct ins a = {id, now, canon_pl, doc, hash, prev[0] ? prev : NULL};
    rc = db_txn(c, "attest_insert", ins_fn, &a);
  }
  if (rc == 0 && rename(b.dir, final_dir) != 0) {
    log_msg(LOGL_ERROR, "attest", "attestation %lld stored but its folder %s not renamed: %s",
            (long long)id, b.dir, strerror(errno));
    rc = -ERR_IO;
  }
  /* after an insert that may have committed (an error on COMMIT's answer), or a failed rename,
   * the folder stays: attest_recover() renames it if the row is there, removes it if not */
  if (rc != 0 && rc != -ERR_IO && !inserting)
    attest_rm_tree(b.dir);
  free(payload);
  free(canon_pl);
  free(doc);
  if (rc != 0)
    return rc;
  out->id = id;
  util_strlcpy(out->hash, hash, sizeof out->hash);
  out->n_isins = n;
  log_msg(LOGL_INFO, "attest", "attestation %lld over %zu ISIN(s), hash %s", (long long)id, n,
          hash);
  return 0;
}

int attest_build(struct db_conn *c, const struct por_signer *s, const uint8_t master[POR_KEY_LEN],
                 const char *data_dir, unsigned height, por_canon_fn canon,
                 struct attest_result *out)
{
  struct attest_figures *f = NULL;
  size_t n = 0;
  int rc = attest_figures_latest(c, &f, &n);
  if (rc != 0)
    return rc;
  rc = n == 0 ? -ERR_POR_NOTHING
              : attest_build_from(c, s, master, data_dir, height, canon, f, n, out);
  free(f);
  return rc;
}
