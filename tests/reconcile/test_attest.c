/*
 * Attestations (reconcile/attest*.c): three holders of one token on the
 * built-in ledger and one custodian statement give an attestation whose
 * figures are known exactly; it verifies offline from its exported files;
 * the second one cites the first's hash; and each tampering (one share in
 * the statement, one byte of it, one holder balance, one sibling sum in a
 * proof, the signature, the previous hash) fails with a message naming
 * what differs.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <sodium.h>

#include "api/api.h"
#include "chain/chain.h"
#include "custody/custody.h"
#include "migrations/migrations.h"
#include "reconcile/attest_int.h"
#include "reconcile/reconcile.h"
#include "tests/support/testsupport.h"

#define ISIN  "US0378331005"
#define OTHER "US5949181045"
#define A1    "0x1111111111111111111111111111111111111111"
#define A2    "0x2222222222222222222222222222222222222222"
#define A3    "0x3333333333333333333333333333333333333333"

static struct ts_db db;
static struct db_conn *c;
static char dir[256], adir[512], sdir[600], hdir[600];
static struct por_signer *signer;
static struct por_pubkey pub;
static uint8_t master[POR_KEY_LEN];
static int64_t stmt_id, block;

static struct money amt(const char *s, unsigned scale)
{
  struct money m;
  assert_int_equal(money_parse(s, strlen(s), scale, 0, &m), 0);
  return m;
}

/* A semt.002 page of BANKUS33XXX / RESERVE-2 with @aapl shares of ISIN (and 7 of OTHER). */
static char *semt(const char *aapl, size_t *len)
{
  struct custody_stmt st;
  memset(&st, 0, sizeof st);
  st.kind = CUSTODY_KIND_SEMT002;
  util_strlcpy(st.stmt_id, "STMT-1", sizeof st.stmt_id);
  st.page_no = 1;
  st.last_page = true;
  st.stmt_day = 20270; /* 2025-07-01 */
  st.stmt_ms = (int64_t)st.stmt_day * 86400000 + 20 * 3600000;
  st.stmt_has_time = true;
  util_strlcpy(st.frequency, "DAIL", sizeof st.frequency);
  st.update = CUSTODY_UPDATE_COMPLETE;
  st.basis = CUSTODY_BASIS_SETT;
  util_strlcpy(st.account_owner, "ISSUER-1", sizeof st.account_owner);
  util_strlcpy(st.account_servicer, "BANKUS33XXX", sizeof st.account_servicer);
  util_strlcpy(st.safekeeping_account, "RESERVE-2", sizeof st.safekeeping_account);
  struct custody_position p[2];
  memset(p, 0, sizeof p);
  util_strlcpy(p[0].isin, ISIN, sizeof p[0].isin);
  p[0].aggregate =
      (struct custody_qty){true, CUSTODY_QTY_UNIT, amt(aapl, CUSTODY_QTY_SCALE), false};
  util_strlcpy(p[1].isin, OTHER, sizeof p[1].isin);
  p[1].aggregate = (struct custody_qty){true, CUSTODY_QTY_UNIT, amt("7", CUSTODY_QTY_SCALE), false};
  char *out = NULL;
  FILE *f = open_memstream(&out, len);
  assert_int_equal(custody_semt002_write_begin(f, &st), 0);
  for (int i = 0; i < 2; i++)
    assert_int_equal(custody_semt002_write_position(f, &p[i]), 0);
  assert_int_equal(custody_semt002_write_end(f), 0);
  fclose(f);
  return out;
}

static int setup(void **state)
{
  (void)state;
  assert_true(sodium_init() >= 0);
  c = ts_db_migrated("attest", &db, 3, migrations_all, migrations_count);
  ts_sql(c, "INSERT INTO instruments (symbol, isin, token_symbol, token_decimals, mint_policy,"
            " burn_policy, min_order_qty, max_order_qty, market_open, market_close, cutoff,"
            " out_of_hours) VALUES ('AAPL', '" ISIN "', 'AAPLx', 6, 'at_fill', 'on_receipt', 1,"
            " 1000, '09:30', '16:00', '15:30', 'refuse')");
  struct chain_ledger *l = NULL;
  assert_int_equal(chain_builtin_open(c, &l), 0);
  struct chain_token t = {"AAPLx", 6, "Apple tokenized"};
  assert_int_equal(chain_token_register(l, &t), 0);
  struct chain_intent in;
  assert_int_equal(chain_mint(l, "m1", "AAPLx", A1, amt("100", 6), &in), 0);
  assert_int_equal(chain_mint(l, "m2", "AAPLx", A2, amt("250.5", 6), &in), 0);
  assert_int_equal(chain_mint(l, "m3", "AAPLx", A3, amt("49.5", 6), &in), 0);
  assert_int_equal(chain_head(l, &block), 0);
  /* after the block: not in the attestation */
  assert_int_equal(chain_mint(l, "m4", "AAPLx", A3, amt("1", 6), &in), 0);
  chain_ledger_free(l);

  struct custody_store *cs = NULL;
  assert_int_equal(custody_store_open(c, "BANKUS33XXX", "RESERVE-2", NULL, &cs), 0);
  size_t len = 0;
  char *doc = semt("400", &len);
  struct custody_ingest res;
  assert_int_equal(custody_ingest_mem(cs, doc, len, "test", &res), 0);
  free(doc);
  custody_store_free(cs);
  stmt_id = ts_sql_int(c, "SELECT id FROM custody_statements");
  assert_true(stmt_id > 0);

  uint8_t seed[32];
  for (int i = 0; i < 32; i++)
    seed[i] = (uint8_t)i;
  assert_int_equal(por_signer_from_seed(seed, &signer), 0);
  memset(&pub, 0, sizeof pub);
  util_strlcpy(pub.key_id, por_signer_key_id(signer), sizeof pub.key_id);
  memcpy(pub.pk, por_signer_public(signer), 32);
  pub.not_after_ms = POR_TIME_NONE;
  memset(master, 0x42, sizeof master);
  ts_tmpdir(dir, sizeof dir);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  por_signer_free(signer);
  ts_rmtree(dir);
  ts_db_done(&c, &db);
  return 0;
}

static struct attest_figures figures(void)
{
  struct attest_figures f;
  memset(&f, 0, sizeof f);
  util_strlcpy(f.isin, ISIN, sizeof f.isin);
  f.statement_id = stmt_id;
  f.block = block;
  f.agg = amt("400", 0);
  f.penr_in = amt("10", 0);
  f.pend_out = amt("5", 0);
  f.multiplier = amt("1", 0);
  return f;
}

static char *read_all(const char *path, size_t *len)
{
  char *buf = NULL;
  int rc = util_read_file(path, 1 << 24, &buf, len);
  assert_int_equal(rc, 0);
  assert_non_null(buf);
  return buf;
}

static void write_all(const char *path, const char *buf, size_t len)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, len, f), len);
  fclose(f);
}

/* Replaces the first @from in @s (in place, same length). */
static void patch(char *s, const char *from, const char *to)
{
  char *p = strstr(s, from);
  assert_non_null(p);
  assert_int_equal(strlen(from), strlen(to));
  memcpy(p, to, strlen(to));
}

static char hash1[65];

static void paths(int64_t id)
{
  snprintf(adir, sizeof adir, "%s/attestations/%lld", dir, (long long)id);
  snprintf(sdir, sizeof sdir, "%s/statements", adir);
  snprintf(hdir, sizeof hdir, "%s/holders", adir);
}

static int verify(const char *doc, const char *prev, bool keys, char *msg)
{
  return attest_verify_files(doc, strlen(doc), sdir, hdir, prev, keys ? &pub : NULL, keys ? 1 : 0,
                             api_json_canonical, msg, ATTEST_MSG_MAX);
}

static void test_build_and_verify(void **state)
{
  (void)state;
  struct attest_figures f = figures();
  struct attest_result r;
  assert_int_equal(attest_build_from(c, signer, master, dir, 4, api_json_canonical, &f, 1, &r), 0);
  assert_int_equal(r.id, 1);
  util_strlcpy(hash1, r.hash, sizeof hash1);
  paths(1);
  char path[700], msg[ATTEST_MSG_MAX];
  snprintf(path, sizeof path, "%s/attestation.json", adir);
  size_t len;
  char *doc = read_all(path, &len);
  char *stored = ts_sql_value(c, "SELECT document FROM attestations WHERE id = 1");
  assert_string_equal(stored, doc);
  free(stored);
  /* the exact figures */
  assert_non_null(strstr(doc, "\"chain\":{\"block\":\"3\",\"hash\":null,\"id\":\"builtin\"}"));
  assert_non_null(strstr(doc, "\"coverage\":{\"contractual\":\"5\",\"settled\":\"0\"}"));
  assert_non_null(strstr(doc, "\"liabilities\":{\"displayed_supply\":\"400\",\"mints_owed\":"
                              "\"0\",\"multiplier\":\"1\",\"raw_supply\":\"400\","
                              "\"redemptions_instructed\":\"0\",\"redemptions_owed\":\"0\"}"));
  assert_non_null(strstr(doc, "\"reserves\":{\"pending_in\":\"10\",\"pending_out\":\"5\","
                              "\"settled\":\"400\"}"));
  assert_non_null(strstr(doc, "\"decimals\":6,\"height\":4,\"holders\":3,"));
  assert_non_null(strstr(doc, "\"sum\":\"400000000\",\"token\":\"AAPLx\"}"));
  assert_non_null(strstr(doc, "\"previous\":null,\"version\":1}"));
  assert_non_null(strstr(doc, "\"id\":\"STMT-1\""));
  /* the holder export */
  snprintf(path, sizeof path, "%s/" ISIN ".txt", hdir);
  char *h = read_all(path, &len);
  assert_non_null(strstr(h, "\n" A1 " 100000000\n" A2 " 250500000\n" A3 " 49500000\n"));
  free(h);
  assert_int_equal(verify(doc, "", true, msg), 0);
  assert_string_equal(msg, "");
  free(doc);

  /* the second cites the first */
  assert_int_equal(attest_build_from(c, signer, master, dir, 4, api_json_canonical, &f, 1, &r), 0);
  assert_int_equal(r.id, 2);
  paths(2);
  snprintf(path, sizeof path, "%s/attestation.json", adir);
  doc = read_all(path, &len);
  char want[100];
  snprintf(want, sizeof want, "\"previous\":\"%s\"", hash1);
  assert_non_null(strstr(doc, want));
  assert_int_equal(verify(doc, hash1, true, msg), 0);
  assert_int_equal(ts_sql_int(c, "SELECT count(*) FROM attestations WHERE previous_hash ="
                                 " (SELECT hash FROM attestations WHERE id = 1)"),
                   1);
  int64_t id = 0;
  char *got = NULL;
  assert_int_equal(attest_get(c, 0, &id, &got, &len), 0);
  assert_int_equal(id, 2);
  assert_string_equal(got, doc);
  free(got);
  free(doc);
}

/* Attestation 1's document and the path of its statement page. */
static char *doc1(char *stmt_path, size_t cap)
{
  paths(1);
  char path[700];
  size_t len;
  snprintf(path, sizeof path, "%s/attestation.json", adir);
  char *doc = read_all(path, &len);
  size_t off = (size_t)(strstr(doc, "\"file\":\"") - doc);
  assert_true(off < len);
  snprintf(stmt_path, cap, "%s/%.68s", sdir, doc + off + 8);
  return doc;
}

static void test_tamper_statement(void **state)
{
  (void)state;
  char sp[700], msg[ATTEST_MSG_MAX], expect[2048];
  char *doc = doc1(sp, sizeof sp);
  size_t olen, len;
  char *orig = read_all(sp, &olen);
  uint8_t h[32];
  char ohex[65], nhex[65];
  crypto_hash_sha256(h, (const uint8_t *)orig, olen);
  sodium_bin2hex(ohex, sizeof ohex, h, 32);

  /* one share less, re-written as a valid semt.002 */
  char *fake = semt("399", &len);
  write_all(sp, fake, len);
  crypto_hash_sha256(h, (const uint8_t *)fake, len);
  sodium_bin2hex(nhex, sizeof nhex, h, 32);
  assert_int_equal(verify(doc, NULL, true, msg), -ERR_POR_MISMATCH);
  snprintf(expect, sizeof expect,
           ISIN " statement.pages[0].sha256: the attestation says %s, file %s hashes to %s", ohex,
           sp, nhex);
  assert_string_equal(msg, expect);
  /* the same with the hashes in the payload changed too: the signature breaks, and without
   * the signature the recomputed AggtBal names the difference */
  char *forged = strdup(doc), from[80], to[80];
  snprintf(from, sizeof from, "\"sha256\":\"%s\"", ohex);
  snprintf(to, sizeof to, "\"sha256\":\"%s\"", nhex);
  while (strstr(forged, from) != NULL)
    patch(forged, from, to);
  assert_int_equal(verify(forged, NULL, true, msg), -ERR_POR_SIGNATURE);
  assert_non_null(strstr(msg, "signature: does not verify"));
  assert_int_equal(verify(forged, NULL, false, msg), -ERR_POR_MISMATCH);
  assert_string_equal(msg, ISIN " reserves.settled: the attestation says 400, the statement files "
                                "(AggtBal) gives 399");
  free(forged);
  free(fake);

  /* one byte of the file */
  char *bytes = malloc(olen + 1);
  memcpy(bytes, orig, olen + 1);
  bytes[olen / 2] ^= 0x01;
  write_all(sp, bytes, olen);
  crypto_hash_sha256(h, (const uint8_t *)bytes, olen);
  sodium_bin2hex(nhex, sizeof nhex, h, 32);
  assert_int_equal(verify(doc, NULL, true, msg), -ERR_POR_MISMATCH);
  snprintf(expect, sizeof expect,
           ISIN " statement.pages[0].sha256: the attestation says %s, file %s hashes to %s", ohex,
           sp, nhex);
  assert_string_equal(msg, expect);
  free(bytes);

  write_all(sp, orig, olen);
  assert_int_equal(verify(doc, NULL, true, msg), 0);
  free(orig);
  free(doc);
}

static void test_tamper_holders(void **state)
{
  (void)state;
  char sp[700], msg[ATTEST_MSG_MAX], path[700];
  char *doc = doc1(sp, sizeof sp);
  size_t len;
  snprintf(path, sizeof path, "%s/" ISIN ".txt", hdir);
  char *orig = read_all(path, &len);
  char *t = strdup(orig);
  patch(t, A1 " 100000000", A1 " 100000001");
  write_all(path, t, len);
  assert_int_equal(verify(doc, NULL, true, msg), -ERR_POR_MISMATCH);
  assert_string_equal(msg, ISIN " tree.sum: the attestation says 400000000, the holder export "
                                "gives 400000001");
  /* a balance moved between holders keeps the sum: the root differs */
  memcpy(t, orig, len);
  patch(t, A1 " 100000000", A1 " 100000001");
  patch(t, A2 " 250500000", A2 " 250499999");
  write_all(path, t, len);
  assert_int_equal(verify(doc, NULL, true, msg), -ERR_POR_MISMATCH);
  assert_non_null(strstr(msg, ISIN " tree.root: the attestation says "));
  assert_non_null(strstr(msg, ", the holder export gives "));
  write_all(path, orig, len);
  assert_int_equal(verify(doc, NULL, true, msg), 0);
  free(t);
  free(orig);
  free(doc);
}

/*
 * The proof endpoint's two paths give the same bytes: out of the levels and offsets files
 * (binary search, the tree reopened), and rebuilt from the holder export when those files are
 * missing; holders before the first, between and after the last are not found either way.
 */
static void test_proof_paths(void **state)
{
  (void)state;
  const char *const who[] = {A1,
                             A2,
                             A3,
                             "0x0000000000000000000000000000000000000001",
                             "0x2222222222222222222222222222222222222223",
                             "0xffffffffffffffffffffffffffffffffffffffff"};
  char lv[400], off[420];
  snprintf(lv, sizeof lv, "%s/attestations/1/levels", dir);
  snprintf(off, sizeof off, "%s.away", lv);
  for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
    char *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    int ra = attest_proof(dir, 1, ISIN, who[i], &a, &la);
    assert_int_equal(rename(lv, off), 0);
    int rb = attest_proof(dir, 1, ISIN, who[i], &b, &lb);
    assert_int_equal(rename(off, lv), 0);
    assert_int_equal(ra, i < 3 ? 0 : -ERR_API_NOT_FOUND);
    assert_int_equal(rb, ra);
    if (ra == 0) {
      assert_int_equal(la, lb);
      assert_memory_equal(a, b, la);
    }
    free(a);
    free(b);
  }
}

static void test_tamper_proof(void **state)
{
  (void)state;
  char sp[700], msg[ATTEST_MSG_MAX];
  char *doc = doc1(sp, sizeof sp);
  char *json = NULL;
  size_t len;
  assert_int_equal(attest_proof(dir, 1, ISIN, A2, &json, &len), 0);
  assert_non_null(strstr(json, "\"balance\":\"250500000\""));
  assert_non_null(strstr(json, "\"sum\":\"400000000\"}"));
  assert_int_equal(attest_verify_inclusion(doc, strlen(doc), json, len, msg, sizeof msg), 0);
  assert_int_equal(
      attest_proof(dir, 1, ISIN, "0x9999999999999999999999999999999999999999", &json, &len),
      -ERR_API_NOT_FOUND);
  /* one sibling sum raised by one */
  char *p = strstr(json, "\"proof\":") + 8;
  char *end = strstr(p, "]}") + 2;
  struct por_proof pr;
  assert_int_equal(por_proof_parse(p, (size_t)(end - p), &pr), 0);
  pr.sib[0].sum += 1;
  char text[POR_PROOF_TEXT_MAX];
  assert_true(por_proof_format(&pr, text, sizeof text) > 0);
  assert_int_equal(attest_verify_inclusion(doc, strlen(doc), text, strlen(text), msg, sizeof msg),
                   -ERR_POR_PROOF);
  assert_string_equal(msg, ISIN " proof: level 2: subtree sum 400000001 exceeds the published "
                                "liabilities 400000000");
  free(json);
  free(doc);
}

static void test_tamper_signature_and_previous(void **state)
{
  (void)state;
  char sp[700], msg[ATTEST_MSG_MAX];
  char *doc = doc1(sp, sizeof sp);
  /* one character of the signature */
  char *t = strdup(doc);
  char *s = strstr(t, "\"sig\":\"") + 7;
  s[3] = s[3] == 'A' ? 'B' : 'A';
  assert_int_equal(verify(t, NULL, true, msg), -ERR_POR_SIGNATURE);
  assert_string_equal(msg, "signature: does not verify with any published key (unknown key id or "
                           "the payload or signature changed)");
  free(t);
  free(doc);

  /* the previous hash of attestation 2 */
  paths(2);
  char path[700];
  size_t len;
  snprintf(path, sizeof path, "%s/attestation.json", adir);
  doc = read_all(path, &len);
  t = strdup(doc);
  char bad[65];
  memcpy(bad, hash1, 65);
  bad[0] = bad[0] == '0' ? '1' : '0';
  patch(t, hash1, bad);
  assert_int_equal(verify(t, hash1, true, msg), -ERR_POR_SIGNATURE);
  char expect[ATTEST_MSG_MAX];
  snprintf(expect, sizeof expect,
           "previous: the attestation says %s, the previous attestation hashes to %s", bad, hash1);
  assert_int_equal(verify(t, hash1, false, msg), -ERR_POR_MISMATCH);
  assert_string_equal(msg, expect);
  free(t);
  free(doc);
}

/* Runs the backstock binary with @args, stdout and stderr into @out; the exit status. */
static int run_cli(const char *args, char *out, size_t cap)
{
  char exe[512], cmd[4096];
  ts_build_path(exe, sizeof exe, "services/backstock");
  snprintf(cmd, sizeof cmd, "timeout 30 %s %s 2>&1", exe, args);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out, 1, cap - 1, p);
  out[n] = '\0';
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void **state)
{
  (void)state;
  char keys[300], att[700], args[3000], out[4096], path[700], prf[300];
  char *kd = NULL;
  size_t kl = 0;
  assert_int_equal(por_keys_document(&pub, 1, &kd, &kl), 0);
  snprintf(keys, sizeof keys, "%s/keys.json", dir);
  write_all(keys, kd, kl);
  free(kd);
  paths(2);
  snprintf(att, sizeof att, "%s/attestation.json", adir);
  snprintf(path, sizeof path, "%s/attestations/1/attestation.json", dir);
  snprintf(args, sizeof args,
           "audit verify --attestation %s --statements %s --holders %s --keys %s --previous %s",
           att, sdir, hdir, keys, path);
  assert_int_equal(run_cli(args, out, sizeof out), 0);
  assert_string_equal(out, "ok: every figure recomputed from the files matches; signature "
                           "verified; previous hash matches\n");
  /* one holder balance changed */
  snprintf(path, sizeof path, "%s/" ISIN ".txt", hdir);
  size_t len;
  char *orig = read_all(path, &len), *t = strdup(orig);
  patch(t, A3 " 49500000", A3 " 49500100");
  write_all(path, t, len);
  assert_int_equal(run_cli(args, out, sizeof out), 1);
  assert_string_equal(out, "audit verify: FAILED: " ISIN " tree.sum: the attestation says "
                           "400000000, the holder export gives 400000100\n");
  write_all(path, orig, len);
  free(t);
  free(orig);
  /* inclusion */
  char *json = NULL;
  assert_int_equal(attest_proof(dir, 2, ISIN, A3, &json, &len), 0);
  snprintf(prf, sizeof prf, "%s/proof.json", dir);
  write_all(prf, json, len);
  free(json);
  snprintf(args, sizeof args, "audit inclusion --attestation %s --proof %s", att, prf);
  assert_int_equal(run_cli(args, out, sizeof out), 0);
  assert_string_equal(out, "ok: the proof reaches the attestation's root\n");
  /* the proof against attestation 1: another round? same cut-off, so same round id, but the
   * document differs only in time: the root is the same and the proof verifies there too */
  snprintf(args, sizeof args,
           "audit inclusion --attestation %s/attestations/1/attestation.json"
           " --proof %s",
           dir, prf);
  assert_int_equal(run_cli(args, out, sizeof out), 0);
  snprintf(args, sizeof args, "audit verify --attestation %s", att);
  assert_int_equal(run_cli(args, out, sizeof out), 2);
}

/* The reconciler's latest run per ISIN feeds attest_build(). */
static void test_from_recon_runs(void **state)
{
  (void)state;
  char sql[2048];
  for (int k = 0; k < 2; k++) {
    snprintf(sql, sizeof sql,
             "INSERT INTO recon_runs (isin, statement, instrument, cutoff, statement_sha256s,"
             " block, supply, multiplier, agg, pend_out, penr_in, red_owed, red_instr, mint_owed,"
             " liabilities, settled_coverage, contractual_coverage, status) SELECT '" ISIN "',"
             " %lld, i.id, '2025-07-0%dT20:00:00Z', ARRAY[]::text[], %lld, 400, 1, %s, 5, 10, 0,"
             " 0, 0, 400, 0, 5, 'ok' FROM instruments i WHERE i.isin = '" ISIN "'",
             (long long)stmt_id, 2 - k, (long long)block, k == 0 ? "400" : "399");
    if (k == 1) /* an older cut-off: not the latest */
      ts_sql(c, "ALTER TABLE recon_runs DROP CONSTRAINT recon_runs_isin_statement_key");
    ts_sql(c, sql);
  }
  struct attest_figures *f = NULL;
  size_t n = 0;
  assert_int_equal(attest_figures_latest(c, &f, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(f[0].isin, ISIN);
  assert_int_equal(f[0].statement_id, stmt_id);
  assert_int_equal(f[0].block, block);
  assert_int_equal(money_cmp(f[0].agg, amt("400", 0)), 0);
  assert_int_equal(money_cmp(f[0].pend_out, amt("5", 0)), 0);
  assert_int_equal(money_cmp(f[0].penr_in, amt("10", 0)), 0);
  free(f);
  struct attest_result r;
  assert_int_equal(attest_build(c, signer, master, dir, 4, api_json_canonical, &r), 0);
  assert_int_equal(r.id, 3);
  paths(3);
  char path[700], msg[ATTEST_MSG_MAX];
  size_t len;
  snprintf(path, sizeof path, "%s/attestation.json", adir);
  char *doc = read_all(path, &len);
  assert_int_equal(verify(doc, NULL, true, msg), 0);
  assert_non_null(strstr(doc, "\"coverage\":{\"contractual\":\"5\",\"settled\":\"0\"}"));
  free(doc);
}

/*
 * A crash between the commit of attestation 3 and the rename of its folder, a loser of a race
 * for id 3 and a build of 4 in progress: attest_recover() renames the folder whose
 * attestation.json is the stored document, removes the loser and leaves the build alone.
 */
static void test_recover(void **state)
{
  (void)state;
  char top[400], tmp[600], lose[600], prog[600], path[700];
  struct stat st;
  unsigned n = 9;
  snprintf(top, sizeof top, "%s/attestations", dir);
  snprintf(path, sizeof path, "%s/3", top);
  snprintf(tmp, sizeof tmp, "%s/.tmp-3-0011223344556677", top);
  snprintf(lose, sizeof lose, "%s/.tmp-3-8899aabbccddeeff", top);
  snprintf(prog, sizeof prog, "%s/.tmp-4-0123456789abcdef", top);
  assert_int_equal(rename(path, tmp), 0);
  assert_int_equal(mkdir(lose, 0700), 0);
  assert_int_equal(mkdir(prog, 0700), 0);
  snprintf(path, sizeof path, "%s/attestation.json", lose);
  write_all(path, "{}", 2);
  snprintf(path, sizeof path, "%s/attestation.json", prog);
  write_all(path, "{}", 2);
  assert_int_equal(attest_recover(c, dir, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(stat(tmp, &st), -1);
  assert_int_equal(stat(lose, &st), -1);
  assert_int_equal(stat(prog, &st), 0);
  paths(3);
  size_t len;
  snprintf(path, sizeof path, "%s/attestation.json", adir);
  char *doc = read_all(path, &len), msg[ATTEST_MSG_MAX];
  assert_int_equal(verify(doc, NULL, true, msg), 0);
  free(doc);
  assert_int_equal(attest_recover(c, dir, &n), 0);
  assert_int_equal(n, 0);
  attest_rm_tree(prog);
  assert_int_equal(stat(prog, &st), -1);
}

/*
 * More holders than one page of the build's holder query (10,000): 10,050 more holders of one
 * base unit at the attested block, written straight into the ledger's balances.  The export
 * holds all 10,053 in address order, the attestation verifies against its files (coverage
 * short by the 0.01005 shares they hold), and proofs
 * of holders on both pages come out of the levels file.
 */
static void test_many_holders(void **state)
{
  (void)state;
  char sql[512], msg[ATTEST_MSG_MAX];
  snprintf(sql, sizeof sql,
           "INSERT INTO chain_balances (token, address, block, balance) SELECT 'AAPLx',"
           " '0xb' || lpad(to_hex(g), 39, '0'), %lld, 0.000001 FROM generate_series(1, 10050) g",
           (long long)block);
  ts_sql(c, sql);
  struct attest_figures f = figures();
  struct attest_result r;
  assert_int_equal(attest_build_from(c, signer, master, dir, 16, api_json_canonical, &f, 1, &r), 0);
  paths(r.id);
  char path[700];
  size_t len;
  snprintf(path, sizeof path, "%s/attestation.json", adir);
  char *doc = read_all(path, &len);
  assert_non_null(strstr(doc, "\"holders\":10053,"));
  assert_non_null(strstr(doc, "\"sum\":\"400010050\""));
  /* 10,050 units of 10^-6 more than the 400 shares held: the coverages say so */
  assert_non_null(
      strstr(doc, "\"coverage\":{\"contractual\":\"4.98995\",\"settled\":\"-0.01005\"}"));
  if (verify(doc, NULL, true, msg) != 0)
    fail_msg("%s", msg);
  const char *const who[] = {"0xb000000000000000000000000000000000000001", A1, A3,
                             "0xb000000000000000000000000000000000002742"};
  for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
    char *json = NULL;
    size_t jl = 0;
    assert_int_equal(attest_proof(dir, r.id, ISIN, who[i], &json, &jl), 0);
    assert_int_equal(attest_verify_inclusion(doc, len, json, jl, msg, sizeof msg), 0);
    free(json);
  }
  free(doc);
}

/*
 * A fractional multiplier: the displayed supply is rounded up to the share unit (10^-6), as the
 * reconciler's ceil6(m*N), so payload and recon_runs publish the same coverage.  3 tokens at
 * 0.666666666666666667 (a 3-for-2 reverse split) = 2.000000000000000001 shares -> 2.000001.
 */
static void test_liabilities_rounding(void **state)
{
  (void)state;
  struct attest_figures f = figures();
  struct attest_liab l;
  f.multiplier = amt("0.666666666666666667", 18);
  f.agg = amt("2.000001", 6);
  f.penr_in = amt("0", 0);
  f.pend_out = amt("0", 0);
  assert_int_equal(attest_liabilities(&f, (por_u128)3000000000000000000ULL, 18, &l), 0);
  assert_string_equal(l.raw, "3");
  assert_string_equal(l.displayed, "2.000001");
  assert_string_equal(l.settled, "0");
  assert_string_equal(l.contractual, "0");
  f.agg = amt("2", 0);
  assert_int_equal(attest_liabilities(&f, (por_u128)3000000000000000000ULL, 18, &l), 0);
  assert_string_equal(l.settled, "-0.000001");
  /* one base unit over an exact share count still rounds up to the next 10^-6 share */
  f.multiplier = amt("1", 0);
  assert_int_equal(attest_liabilities(&f, (por_u128)2000000000000000001ULL, 18, &l), 0);
  assert_string_equal(l.raw, "2.000000000000000001");
  assert_string_equal(l.displayed, "2.000001");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_build_and_verify),
      cmocka_unit_test(test_tamper_statement),
      cmocka_unit_test(test_tamper_holders),
      cmocka_unit_test(test_proof_paths),
      cmocka_unit_test(test_tamper_proof),
      cmocka_unit_test(test_tamper_signature_and_previous),
      cmocka_unit_test(test_cli),
      cmocka_unit_test(test_from_recon_runs),
      cmocka_unit_test(test_recover),
      cmocka_unit_test(test_liabilities_rounding),
      cmocka_unit_test(test_many_holders),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
