/*
 * Attestations over real HTTP (api/api_attest*.c, docs/attestation.md)
 * with the service's own publisher (services/backstock_attest.c,
 * backstock_attest_on_demand(), linked in) and a real key store in a
 * temporary data folder.  The public list, latest, document and proof
 * endpoints byte for byte against the stored document and its files;
 * POST /v1/admin/attestations: 409 before any reconciliation, 201 with
 * the signed document, the chain of hashes, replay and key conflict,
 * roles, bad bodies, 503 without a publisher, the audit records; the
 * evidence manifest with exact SHA-256s and sizes, each file's bytes and
 * Content-Type, traversal attempts, names off the patterns, symbolic
 * links, a file over the size served, a missing folder; and the client's
 * "attestations fetch" then "audit verify --dir" (the auditor's flow).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "reconcile/reconcile.h"
#include "services/backstock_attest.h"
#include "tests/api/api_recon_fx.h"

#define H1 "/proofs/" RFX_ISIN "/" RFX_A1

struct att {
  struct tl_fx f; /* first: tl_fx_free() frees this struct */
  struct cfg cfg;
  char dir[256], keys[BACKSTOCK_ATTEST_DIR_MAX];
};

static int setup(void **state)
{
  struct att *a = calloc(1, sizeof *a);
  assert_non_null(a);
  assert_true(sodium_init() >= 0);
  tl_fx_start(&a->f, "apiattest", false);
  ts_tmpdir(a->dir, sizeof a->dir);
  cfg_init(&a->cfg);
  util_strlcpy(a->cfg.data_dir, a->dir, sizeof a->cfg.data_dir);
  util_strlcpy(a->cfg.attestation_key_dir, "keys", sizeof a->cfg.attestation_key_dir);
  assert_int_equal(backstock_attest_ensure(&a->cfg, a->keys, sizeof a->keys), 0);
  a->f.s.ctx.data_dir = a->dir;
  a->f.s.ctx.attestation_key_dir = a->keys;
  a->f.s.ctx.attest_publish = backstock_attest_on_demand;
  a->f.s.ctx.attest_publish_cls = &a->cfg;
  rfx_plant(&a->f.s);
  *state = a;
  return 0;
}

static int teardown(void **state)
{
  struct att *a = *state;
  ts_rmtree(a->dir);
  cfg_free(&a->cfg);
  return tl_fx_free(state);
}

static char *read_file(const char *path, size_t *len)
{
  char *buf = NULL;
  assert_int_equal(util_read_file(path, 1 << 26, &buf, len), 0);
  return buf;
}

/* The stored document of attestation @id (SQL). */
static char *stored_doc(struct att *a, long long id)
{
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT document FROM attestations WHERE id = %lld", id);
  char *v = ts_sql_value(a->f.s.conn, sql);
  assert_non_null(v);
  return v;
}

static void hash_of(const char *doc, char hex[POR_HASH_HEX_LEN + 1])
{
  assert_int_equal(por_attest_hash(doc, strlen(doc), api_json_canonical, hex), 0);
}

/* The document verifies with the key store's public keys. */
static void verifies(struct att *a, const char *doc)
{
  struct por_pubkey *keys = NULL;
  size_t n = 0;
  assert_int_equal(por_keys_load(a->keys, &keys, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(
      por_attest_verify(doc, strlen(doc), keys, n, api_json_canonical, NULL, NULL, NULL), 0);
  free(keys);
}

/* POST /v1/admin/attestations with @idem: 201, the body returned (malloc'd). */
static char *publish(struct att *a, const char *idem, const char *replayed)
{
  struct tl_reply r;
  tl_call(&a->f.s, "POST", "/v1/admin/attestations", a->f.admin, idem, NULL, &r);
  if (r.status != 201)
    fail_msg("publish: %ld %s", r.status, r.body);
  assert_string_equal(r.replayed, replayed);
  char *doc = strdup(r.body);
  tl_reply_free(&r);
  return doc;
}

static void expect_get(struct att *a, const char *path, const char *want)
{
  struct tl_reply r;
  tl_call(&a->f.s, "GET", path, NULL, NULL, NULL, &r);
  if (r.status != 200)
    fail_msg("GET %s: %ld %s", path, r.status, r.body);
  assert_string_equal(r.body, want);
  tl_reply_free(&r);
}

static long long audit_seq(struct att *a)
{
  return tl_sql_int(&a->f.s, "SELECT coalesce(max(seq), 0) FROM audit_log");
}

static void test_publish(void **state)
{
  struct att *a = *state;
  struct tl_fx *f = &a->f;
  struct tl_reply r;
  char want[4096], h1[65], h2[65], h3[65], path[700], details[256];

  /* nothing yet */
  expect_get(a, "/v1/attestations", "{\"items\":[],\"next_cursor\":null}");
  tl_call_error(&f->s, "GET", "/v1/attestations/latest", NULL, NULL, NULL, 404, ERR_API_NOT_FOUND,
                NULL);
  tl_call_error(&f->s, "GET", "/v1/attestations/1", NULL, NULL, NULL, 404, ERR_API_NOT_FOUND, NULL);
  long long seq = audit_seq(a);
  /* no reconciliation run at all: 409, nothing recorded (the key stays free) */
  tl_call_error(&f->s, "POST", "/v1/admin/attestations", f->admin, "p1", NULL, 409, ERR_POR_NOTHING,
                "no reconciliation run");
  assert_int_equal(tl_count(&f->s, "attestations"), 0);
  assert_int_equal(audit_seq(a), seq);
  /* roles, headers, bodies */
  tl_call_error(&f->s, "POST", "/v1/admin/attestations", f->auditor, "p1", NULL, 403,
                ERR_API_FORBIDDEN, NULL);
  tl_call_error(&f->s, "POST", "/v1/admin/attestations", f->ap, "p1", NULL, 403, ERR_API_FORBIDDEN,
                NULL);
  tl_call_error(&f->s, "POST", "/v1/admin/attestations", NULL, "p1", NULL, 401,
                ERR_API_UNAUTHORIZED, NULL);
  tl_call_error(&f->s, "POST", "/v1/admin/attestations", f->admin, NULL, NULL, 400,
                ERR_API_IDEMPOTENCY_REQUIRED, NULL);
  tl_call_error(&f->s, "POST", "/v1/admin/attestations", f->admin, "p1", "{\"isin\":\"x\"}", 400,
                ERR_API_UNKNOWN_FIELD, NULL);
  tl_call_error(&f->s, "POST", "/v1/admin/attestations", f->admin, "p1", "[", 400, ERR_API_BAD_JSON,
                NULL);
  tl_call_error(&f->s, "GET", "/v1/admin/attestations", f->admin, NULL, NULL, 405, ERR_API_METHOD,
                NULL);
  /* a service without a publisher */
  f->s.ctx.attest_publish = NULL;
  tl_call_error(&f->s, "POST", "/v1/admin/attestations", f->admin, "p1", NULL, 503,
                ERR_API_UNAVAILABLE, "on demand");
  f->s.ctx.attest_publish = backstock_attest_on_demand;

  /* a statement not reconciled yet: the POST reconciles it, then publishes */
  rfx_statement(&f->s, "S1", 2, 400, 7);
  assert_int_equal(tl_count(&f->s, "recon_runs"), 0);
  char *d1 = publish(a, "p1", "");
  assert_int_equal(tl_count(&f->s, "recon_runs"), 2);
  assert_int_equal(tl_count(&f->s, "attestations"), 1);
  char *s1 = stored_doc(a, 1);
  assert_string_equal(d1, s1);
  verifies(a, d1);
  hash_of(d1, h1);
  assert_non_null(strstr(d1, "{\"payload\":{\"created\":\""));
  assert_non_null(strstr(d1, "\"id\":1,\"instruments\":[{\"chain\":{\"block\":\"3\",\"hash\":null,"
                             "\"id\":\"builtin\"},\"coverage\":{\"contractual\":\"0\",\"settled\":"
                             "\"0\"},\"isin\":\"" RFX_ISIN "\",\"liabilities\":{"
                             "\"displayed_supply\":\"400\",\"mints_owed\":\"0\",\"multiplier\":"
                             "\"1\",\"raw_supply\":\"400\",\"redemptions_instructed\":\"0\","
                             "\"redemptions_owed\":\"0\"},\"reserves\":{\"pending_in\":\"0\","
                             "\"pending_out\":\"0\",\"settled\":\"400\"}"));
  assert_non_null(strstr(d1, "\"holders\":3,"));
  assert_non_null(strstr(d1, "\"sum\":\"400000000\",\"token\":\"AAPLx\"}}],\"previous\":null,"
                             "\"version\":1}"));
  assert_null(strstr(d1, RFX_OTHER)); /* no instrument: not attested */
  snprintf(details, sizeof details, "{\"hash\":\"%s\",\"isins\":1}", h1);
  tl_audit_has(&f->s, seq + 1, f->admin_id, "attestation.publish", "attestation:1", details);
  /* the file written is the document */
  size_t len;
  snprintf(path, sizeof path, "%s/attestations/1/attestation.json", a->dir);
  char *file = read_file(path, &len);
  assert_int_equal(len, strlen(d1));
  assert_memory_equal(file, d1, len);
  free(file);

  /* replay: the same document, nothing new */
  char *again = publish(a, "p1", "true");
  assert_string_equal(again, d1);
  free(again);
  assert_int_equal(tl_count(&f->s, "attestations"), 1);
  assert_int_equal(audit_seq(a), seq + 1);
  /* the key with another body: 409, nothing published */
  tl_call_error(&f->s, "POST", "/v1/admin/attestations", f->admin, "p1", "{}", 409,
                ERR_API_IDEMPOTENCY_CONFLICT, NULL);
  assert_int_equal(tl_count(&f->s, "attestations"), 1);

  /* the next one cites the first's hash */
  char *d2 = publish(a, "p2", "");
  char *s2 = stored_doc(a, 2);
  assert_string_equal(d2, s2);
  verifies(a, d2);
  hash_of(d2, h2);
  snprintf(want, sizeof want, "],\"previous\":\"%s\",\"version\":1},\"signature\"", h1);
  assert_non_null(strstr(d2, want));
  assert_non_null(strstr(d2, "\"id\":2,"));
  /* a statement one share short: the third reconciles it and says so */
  rfx_statement(&f->s, "S2", 3, 399, 0);
  char *d3 = publish(a, "p3", "");
  assert_int_equal(tl_count(&f->s, "recon_runs"), 3);
  hash_of(d3, h3);
  snprintf(want, sizeof want, "],\"previous\":\"%s\",\"version\":1},\"signature\"", h2);
  assert_non_null(strstr(d3, want));
  assert_non_null(strstr(d3, "\"coverage\":{\"contractual\":\"-1\",\"settled\":\"-1\"}"));
  assert_non_null(strstr(d3, "\"reserves\":{\"pending_in\":\"0\",\"pending_out\":\"0\","
                             "\"settled\":\"399\"}"));
  snprintf(details, sizeof details, "{\"hash\":\"%s\",\"isins\":1}", h3);
  tl_audit_has(&f->s, seq + 3, f->admin_id, "attestation.publish", "attestation:3", details);
  assert_int_equal(audit_seq(a), seq + 3);

  /* the public endpoints, byte for byte */
  expect_get(a, "/v1/attestations/1", d1);
  expect_get(a, "/v1/attestations/2", d2);
  expect_get(a, "/v1/attestations/3", d3);
  expect_get(a, "/v1/attestations/latest", d3);
  char *c[3];
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path,
             "SELECT to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
             " FROM attestations WHERE id = %d",
             i + 1);
    c[i] = ts_sql_value(f->s.conn, path);
    assert_non_null(c[i]);
  }
  snprintf(want, sizeof want,
           "{\"items\":[{\"id\":1,\"created\":\"%s\",\"hash\":\"%s\",\"previous\":null},"
           "{\"id\":2,\"created\":\"%s\",\"hash\":\"%s\",\"previous\":\"%s\"},"
           "{\"id\":3,\"created\":\"%s\",\"hash\":\"%s\",\"previous\":\"%s\"}],"
           "\"next_cursor\":null}",
           c[0], h1, c[1], h2, h1, c[2], h3, h2);
  expect_get(a, "/v1/attestations", want);
  tl_call(&f->s, "GET", "/v1/attestations?limit=2", NULL, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "{\"id\":2,"));
  assert_null(strstr(r.body, "{\"id\":3,"));
  assert_null(strstr(r.body, "\"next_cursor\":null"));
  tl_reply_free(&r);
  for (int i = 0; i < 3; i++)
    free(c[i]);
  tl_call_error(&f->s, "GET", "/v1/attestations/4", NULL, NULL, NULL, 404, ERR_API_NOT_FOUND, NULL);
  tl_call_error(&f->s, "GET", "/v1/attestations/01", NULL, NULL, NULL, 404, ERR_API_NOT_FOUND,
                NULL);
  tl_call_error(&f->s, "GET", "/v1/attestations/x", NULL, NULL, NULL, 404, ERR_API_NOT_FOUND, NULL);

  /* proofs: each holder's reaches the published root */
  const char *holders[] = {RFX_A1, RFX_A2, RFX_A3};
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "/v1/attestations/3/proofs/" RFX_ISIN "/%s", holders[i]);
    tl_call(&f->s, "GET", path, NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    char msg[ATTEST_MSG_MAX];
    if (attest_verify_inclusion(d3, strlen(d3), r.body, r.len, msg, sizeof msg) != 0)
      fail_msg("proof of %s: %s", holders[i], msg);
    assert_non_null(strstr(r.body, "\"sum\":\"400000000\""));
    tl_reply_free(&r);
  }
  /* a proof of attestation 3 does not reach attestation 1's tree of another round */
  tl_call(&f->s, "GET", "/v1/attestations/1" H1, NULL, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  char msg[ATTEST_MSG_MAX];
  assert_int_equal(attest_verify_inclusion(d1, strlen(d1), r.body, r.len, msg, sizeof msg), 0);
  assert_int_not_equal(attest_verify_inclusion(d3, strlen(d3), r.body, r.len, msg, sizeof msg), 0);
  tl_reply_free(&r);
  tl_call_error(&f->s, "GET", "/v1/attestations/4" H1, NULL, NULL, NULL, 404, ERR_API_NOT_FOUND,
                NULL);
  tl_call_error(&f->s, "GET", "/v1/attestations/1/proofs/" RFX_OTHER "/" RFX_A1, NULL, NULL, NULL,
                404, ERR_API_NOT_FOUND, NULL);
  tl_call_error(&f->s, "GET",
                "/v1/attestations/1/proofs/" RFX_ISIN "/0x4444444444444444444444444444444444444444",
                NULL, NULL, NULL, 404, ERR_API_NOT_FOUND, NULL);
  free(d1);
  free(d2);
  free(d3);
  free(s1);
  free(s2);
}

/* The manifest entry of file @rel of attestation @id's folder. */
static int entry(struct att *a, long long id, const char *rel, char *out, size_t size)
{
  char path[700], hex[65];
  unsigned char h[32];
  size_t len;
  snprintf(path, sizeof path, "%s/attestations/%lld/%s", a->dir, id, rel);
  char *buf = read_file(path, &len);
  crypto_hash_sha256(h, (const unsigned char *)buf, len);
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  free(buf);
  return snprintf(out, size, "{\"path\":\"%s\",\"sha256\":\"%s\",\"size\":%zu}", rel, hex, len);
}

/* GET @path with @key: 404. */
static void not_found(struct att *a, const char *path, const char *key)
{
  char *body = NULL, ct[128];
  size_t len;
  long st = rfx_get(a->f.s.port, path, key, &body, &len, ct, sizeof ct);
  if (st != 404)
    fail_msg("GET %s: %ld, want 404 (%.200s)", path, st, body);
  assert_non_null(strstr(body, "\"code\":3001"));
  free(body);
}

static void test_evidence(void **state)
{
  struct att *a = *state;
  struct tl_fx *f = &a->f;
  struct tl_reply r;
  char want[4096], e[3][256], rel[128], path[700], url[256], ct[128];
  rfx_statement(&f->s, "S1", 2, 400, 7);
  char *d1 = publish(a, "e1", "");
  /* the statement page is named by its SHA-256, as the payload cites it */
  char *sha = ts_sql_value(f->s.conn, "SELECT statement_sha256s[1] FROM recon_runs WHERE id = 1");
  assert_non_null(sha);
  snprintf(want, sizeof want, "\"pages\":[{\"file\":\"%s.xml\",\"sha256\":\"%s\"}]", sha, sha);
  assert_non_null(strstr(d1, want));
  snprintf(rel, sizeof rel, "statements/%s.xml", sha);
  entry(a, 1, "attestation.json", e[0], sizeof e[0]);
  entry(a, 1, "holders/" RFX_ISIN ".txt", e[1], sizeof e[1]);
  entry(a, 1, rel, e[2], sizeof e[2]);
  snprintf(want, sizeof want, "{\"attestation\":1,\"files\":[%s,%s,%s]}", e[0], e[1], e[2]);
  snprintf(path, sizeof path, "\"sha256\":\"%s\"", sha);
  assert_non_null(strstr(e[2], path)); /* the page's bytes hash to its name */
  const char *keys[] = {f->auditor, f->admin};
  for (int k = 0; k < 2; k++) {
    tl_call(&f->s, "GET", "/v1/attestations/1/evidence", keys[k], NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, want);
    tl_reply_free(&r);
  }
  /* each file: its bytes and type */
  struct {
    const char *rel, *type;
  } files[] = {{"attestation.json", "application/json"},
               {"holders/" RFX_ISIN ".txt", "text/plain"},
               {rel, "application/xml"}};
  for (int i = 0; i < 3; i++) {
    char *body = NULL, *disk;
    size_t len, dl;
    snprintf(url, sizeof url, "/v1/attestations/1/evidence/%s", files[i].rel);
    assert_int_equal(rfx_get(f->s.port, url, f->auditor, &body, &len, ct, sizeof ct), 200);
    assert_string_equal(ct, files[i].type);
    snprintf(path, sizeof path, "%s/attestations/1/%s", a->dir, files[i].rel);
    disk = read_file(path, &dl);
    assert_int_equal(len, dl);
    assert_memory_equal(body, disk, len);
    if (i == 0)
      assert_string_equal(body, d1);
    if (i == 1)
      assert_non_null(strstr(body, "# backstock holders v1 isin=" RFX_ISIN " round_id="));
    free(body);
    free(disk);
  }
  /* roles */
  tl_call_error(&f->s, "GET", "/v1/attestations/1/evidence", NULL, NULL, NULL, 401,
                ERR_API_UNAUTHORIZED, NULL);
  tl_call_error(&f->s, "GET", "/v1/attestations/1/evidence/attestation.json", NULL, NULL, NULL, 401,
                ERR_API_UNAUTHORIZED, NULL);
  tl_call_error(&f->s, "GET", "/v1/attestations/1/evidence/holders/" RFX_ISIN ".txt", NULL, NULL,
                NULL, 401, ERR_API_UNAUTHORIZED, NULL);
  tl_call_error(&f->s, "GET", "/v1/attestations/1/evidence", f->ap, NULL, NULL, 403,
                ERR_API_FORBIDDEN, NULL);
  tl_call_error(&f->s, "GET", "/v1/attestations/1/evidence/attestation.json", f->ap, NULL, NULL,
                403, ERR_API_FORBIDDEN, NULL);

  /* traversal, names off the patterns, files that are not there */
  const char *bad[] = {
      "/v1/attestations/1/evidence/..%2F..%2F..%2Fetc%2Fpasswd",
      "/v1/attestations/1/evidence/holders/..%2Fattestation.json",
      "/v1/attestations/1/evidence/holders/..%2F..%2F1%2Fattestation.json",
      "/v1/attestations/1/evidence/%2E%2E/attestation.json",
      "/v1/attestations/1/evidence/../evidence/attestation.json/x",
      "/v1/attestations/1/evidence/holders/..",
      "/v1/attestations/1/evidence/statements/..%2F..%2F..%2F..%2Fkeys%2Fpor-master.secret",
      "/v1/attestations/1/evidence/levels/" RFX_ISIN ".levels",
      "/v1/attestations/1/evidence/holders/us0378331005.txt",
      "/v1/attestations/1/evidence/holders/" RFX_ISIN ".TXT",
      "/v1/attestations/1/evidence/holders/" RFX_ISIN ".txt.bak",
      "/v1/attestations/1/evidence/holders/US0378331006.txt",
      "/v1/attestations/1/evidence/statements/" RFX_ISIN ".txt",
      "/v1/attestations/1/evidence/holders/attestation.json",
      "/v1/attestations/1/evidence/keys/current",
      "/v1/attestations/1/evidence/attestation.JSON",
      "/v1/attestations/2/evidence/attestation.json",
      "/v1/attestations/0/evidence/attestation.json",
      "/v1/attestations/01/evidence",
      "/v1/attestations/2/evidence",
      "/v1/attestations/latest/evidence",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    not_found(a, bad[i], f->auditor);
  char upper[256];
  snprintf(upper, sizeof upper, "/v1/attestations/1/evidence/statements/%s", rel + 11);
  for (char *p = upper + 40; *p != '.'; p++)
    if (*p >= 'a' && *p <= 'f')
      *p = (char)(*p - 'a' + 'A');
  not_found(a, upper, f->auditor);

  /* a symbolic link of a valid name is neither listed nor served */
  snprintf(path, sizeof path, "%s/attestations/1/holders/US0000000000.txt", a->dir);
  assert_int_equal(symlink("/etc/passwd", path), 0);
  not_found(a, "/v1/attestations/1/evidence/holders/US0000000000.txt", f->auditor);
  snprintf(want, sizeof want, "{\"attestation\":1,\"files\":[%s,%s,%s]}", e[0], e[1], e[2]);
  tl_call(&f->s, "GET", "/v1/attestations/1/evidence", f->auditor, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, want);
  tl_reply_free(&r);
  unlink(path);
  /* a file over the size served: refused */
  snprintf(path, sizeof path, "%s/attestations/1/holders/US0000000001.txt", a->dir);
  FILE *big = fopen(path, "w");
  assert_non_null(big);
  assert_int_equal(ftruncate(fileno(big), (off_t)(257 << 20)), 0);
  fclose(big);
  tl_call_error(&f->s, "GET", "/v1/attestations/1/evidence/holders/US0000000001.txt", f->auditor,
                NULL, NULL, 500, ERR_IO, NULL);
  unlink(path);
  /* the folder gone: 404 */
  char moved[700];
  snprintf(path, sizeof path, "%s/attestations/1", a->dir);
  snprintf(moved, sizeof moved, "%s/attestations/moved", a->dir);
  assert_int_equal(rename(path, moved), 0);
  not_found(a, "/v1/attestations/1/evidence", f->auditor);
  not_found(a, "/v1/attestations/1/evidence/attestation.json", f->auditor);
  assert_int_equal(rename(moved, path), 0);
  /* a service without a data folder has no evidence */
  f->s.ctx.data_dir = NULL;
  not_found(a, "/v1/attestations/1/evidence", f->auditor);
  f->s.ctx.data_dir = a->dir;
  free(sha);
  free(d1);
}

/* Runs "backstock @args" with BACKSTOCK_API_KEY=@key (NULL: unset); output into @out. */
static int run_cli(const char *key, const char *args, char *out, size_t cap)
{
  char exe[512], cmd[4096], env[256];
  ts_build_path(exe, sizeof exe, "services/backstock");
  if (key != NULL)
    snprintf(env, sizeof env, "env BACKSTOCK_API_KEY='%s'", key);
  else
    snprintf(env, sizeof env, "env -u BACKSTOCK_API_KEY");
  snprintf(cmd, sizeof cmd, "%s timeout 60 %s %s 2>&1", env, exe, args);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out, 1, cap - 1, p);
  out[n] = '\0';
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void same_file(const char *path, const char *want)
{
  size_t len;
  char *got = read_file(path, &len);
  assert_int_equal(len, strlen(want));
  assert_memory_equal(got, want, len);
  free(got);
}

/* The auditor's flow: attestations fetch, then audit verify --dir. */
static void test_fetch_and_verify(void **state)
{
  struct att *a = *state;
  struct tl_fx *f = &a->f;
  struct tl_reply r;
  char out[4096], args[2048], want[2048], dir[300], path[700], api[64], h2[65];
  rfx_statement(&f->s, "S1", 2, 400, 7);
  char *d1 = publish(a, "f1", "");
  rfx_statement(&f->s, "S2", 3, 401, 0);
  char *d2 = publish(a, "f2", "");
  hash_of(d2, h2);
  ts_tmpdir(dir, sizeof dir);
  snprintf(api, sizeof api, "--api http://127.0.0.1:%u", f->s.port);

  snprintf(args, sizeof args, "attestations fetch latest --out %s/att %s", dir, api);
  assert_int_equal(run_cli(f->auditor, args, out, sizeof out), 0);
  snprintf(want, sizeof want,
           "attestation 2: attestation.json, backstock-keys.json, previous.json and 2 evidence "
           "file(s) in %s/att, each SHA-256 checked; verify with: backstock audit verify --dir "
           "%s/att\n",
           dir, dir);
  assert_string_equal(out, want);
  snprintf(path, sizeof path, "%s/att/attestation.json", dir);
  same_file(path, d2);
  snprintf(path, sizeof path, "%s/att/previous.json", dir);
  same_file(path, d1);
  tl_call(&f->s, "GET", "/.well-known/backstock-keys.json", NULL, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  snprintf(path, sizeof path, "%s/att/backstock-keys.json", dir);
  same_file(path, r.body);
  tl_reply_free(&r);
  size_t len;
  snprintf(path, sizeof path, "%s/attestations/2/holders/" RFX_ISIN ".txt", a->dir);
  char *holders = read_file(path, &len);
  snprintf(path, sizeof path, "%s/att/holders/" RFX_ISIN ".txt", dir);
  same_file(path, holders);

  snprintf(args, sizeof args, "audit verify --dir %s/att", dir);
  assert_int_equal(run_cli(NULL, args, out, sizeof out), 0);
  assert_string_equal(out, "ok: every figure recomputed from the files matches; signature "
                           "verified; previous hash matches\n");
  /* one holder's balance changed in the folder: the check fails and says where */
  char *t = strdup(holders);
  char *p = strstr(t, RFX_A3 " 49500000");
  assert_non_null(p);
  memcpy(p + strlen(RFX_A3) + 1, "49500100", 8);
  FILE *w = fopen(path, "w");
  assert_non_null(w);
  assert_int_equal(fwrite(t, 1, len, w), len);
  fclose(w);
  assert_int_equal(run_cli(NULL, args, out, sizeof out), 1);
  assert_non_null(strstr(out, "audit verify: FAILED: "));
  assert_non_null(strstr(out, "tree"));
  free(t);
  free(holders);
  /* --dir with another file option: usage */
  snprintf(args, sizeof args, "audit verify --dir %s/att --keys x.json", dir);
  assert_int_equal(run_cli(NULL, args, out, sizeof out), 2);

  /* the first attestation into the same folder: no previous any more */
  snprintf(args, sizeof args, "attestations fetch 1 --out %s/att %s", dir, api);
  assert_int_equal(run_cli(f->admin, args, out, sizeof out), 0);
  snprintf(path, sizeof path, "%s/att/previous.json", dir);
  assert_int_not_equal(access(path, F_OK), 0);
  snprintf(args, sizeof args, "audit verify --dir %s/att", dir);
  assert_int_equal(run_cli(NULL, args, out, sizeof out), 0);
  assert_string_equal(out,
                      "ok: every figure recomputed from the files matches; signature verified\n");

  /* refusals */
  snprintf(args, sizeof args, "attestations fetch latest --out %s/ap %s", dir, api);
  assert_int_equal(run_cli(f->ap, args, out, sizeof out), 1);
  assert_non_null(strstr(out, "error 3009 api_forbidden"));
  assert_int_equal(run_cli(NULL, args, out, sizeof out), 2);
  snprintf(args, sizeof args, "attestations fetch 3 --out %s/three %s", dir, api);
  assert_int_equal(run_cli(f->auditor, args, out, sizeof out), 1);
  assert_non_null(strstr(out, "error 3001 api_not_found"));
  snprintf(args, sizeof args, "attestations fetch ../1 --out %s/x %s", dir, api);
  assert_int_equal(run_cli(f->auditor, args, out, sizeof out), 2);
  snprintf(args, sizeof args, "attestations fetch latest %s", api);
  assert_int_equal(run_cli(f->auditor, args, out, sizeof out), 2);

  /* the public commands need no key */
  snprintf(args, sizeof args, "attestations list %s", api);
  assert_int_equal(run_cli(NULL, args, out, sizeof out), 0);
  snprintf(want, sizeof want, "\"hash\": \"%s\"", h2);
  assert_non_null(strstr(out, want));
  snprintf(args, sizeof args, "attestations show 2 %s", api);
  assert_int_equal(run_cli(NULL, args, out, sizeof out), 0);
  assert_non_null(strstr(out, "\"settled\": \"401\""));
  snprintf(args, sizeof args, "attestations latest %s", api);
  assert_int_equal(run_cli(NULL, args, out, sizeof out), 0);
  assert_non_null(strstr(out, "\"id\": 2,"));
  /* and on demand, from the command line */
  snprintf(args, sizeof args, "admin attestations publish %s", api);
  assert_int_equal(run_cli(f->admin, args, out, sizeof out), 0);
  assert_non_null(strstr(out, "\"id\": 3,"));
  assert_int_equal(tl_count(&f->s, "attestations"), 3);
  ts_rmtree(dir);
  free(d1);
  free(d2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_publish, setup, teardown),
      cmocka_unit_test_setup_teardown(test_evidence, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fetch_and_verify, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
