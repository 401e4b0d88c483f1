/*
 * The reconciler's endpoints over real HTTP (api/api_recon*.c,
 * docs/reconcile.md) on runs and breaks the real reconciler made
 * (tests/api/api_recon_fx.h): statement S1 of March 2 holds 400 AAPL
 * shares and 7 of an ISIN no instrument has, S2 of March 3 399 AAPL; the
 * 400 tokens were minted by no order.  That gives runs 1 (AAPL, 4
 * breaks: three mints and the unexplained coverage), 2 (the unknown ISIN:
 * a security_master break) and 3 (AAPL, one share short: a roll-forward
 * break).  Exact JSON of the lists, each filter, paging with cursors,
 * bad queries; the resolution of a break through its states with the
 * audit records, replay and conflict of the Idempotency-Key, bad bodies,
 * unknown ids and the wrong roles.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tests/api/api_recon_fx.h"

#define TIME_SQL(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static char *sqlv(struct tl_fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One text value of SQL (malloc'd). */
static char *sqlv(struct tl_fx *f, const char *fmt, ...)
{
  char q[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(q, sizeof q, fmt, ap);
  va_end(ap);
  char *v = ts_sql_value(f->s.conn, q);
  assert_non_null(v);
  return v;
}

static int setup(void **state)
{
  struct tl_fx *f = tl_fx_new(state, "apirecon", false);
  rfx_plant(&f->s);
  rfx_statement(&f->s, "S1", 2, 400, 7);
  assert_int_equal(rfx_recon(&f->s), 2);
  rfx_statement(&f->s, "S2", 3, 399, 0);
  assert_int_equal(rfx_recon(&f->s), 1);
  assert_int_equal(rfx_recon(&f->s), 0);
  return 0;
}

/* The ids of the reply's items, "1,2,3", and its next_cursor ("null" when none). */
static void ids_of(const struct tl_reply *r, char *ids, size_t size, char *cursor, size_t csize)
{
  yajl_val v = tl_json(r);
  yajl_val items = tl_get(v, "items", NULL, NULL);
  assert_true(YAJL_IS_ARRAY(items));
  size_t pos = 0;
  ids[0] = '\0';
  for (size_t i = 0; i < items->u.array.len; i++)
    pos += (size_t)snprintf(ids + pos, size - pos, "%s%lld", i ? "," : "",
                            tl_int(items->u.array.values[i], "id", NULL, NULL));
  yajl_val nc = tl_get(v, "next_cursor", NULL, NULL);
  util_strlcpy(cursor, YAJL_IS_STRING(nc) ? YAJL_GET_STRING(nc) : "null", csize);
  yajl_tree_free(v);
}

/* GET @path with @key: 200 and the items' ids @want, and a next cursor when @more. */
static void expect_ids(struct tl_fx *f, const char *path, const char *key, const char *want,
                       bool more, char *cursor, size_t csize)
{
  struct tl_reply r;
  char ids[256], cur[64];
  tl_call(&f->s, "GET", path, key, NULL, NULL, &r);
  if (r.status != 200)
    fail_msg("GET %s: %ld %s", path, r.status, r.body);
  ids_of(&r, ids, sizeof ids, cur, sizeof cur);
  if (strcmp(ids, want) != 0)
    fail_msg("GET %s: ids %s, want %s", path, ids, want);
  assert_int_equal(strcmp(cur, "null") != 0, more);
  if (cursor != NULL)
    util_strlcpy(cursor, cur, csize);
  tl_reply_free(&r);
}

/* The exact JSON of run @id (figures as planted; times and hashes as stored). */
static void run_json(struct tl_fx *f, int id, char *out, size_t size)
{
  static const char *const fig[] = {
      /* isin, statement, cutoff, supply, agg, liabilities, settled, contractual, breaks */
      RFX_ISIN,
      "1",
      "2026-03-02T22:00:00.000Z",
      "400.000000000000000000",
      "400.000000",
      "400.000000",
      "0.000000",
      "0.000000",
      "4",
      RFX_OTHER,
      "1",
      "2026-03-02T22:00:00.000Z",
      "0.000000000000000000",
      "7.000000",
      "0.000000",
      "7.000000",
      "7.000000",
      "1",
      RFX_ISIN,
      "2",
      "2026-03-03T22:00:00.000Z",
      "400.000000000000000000",
      "399.000000",
      "400.000000",
      "-1.000000",
      "-1.000000",
      "1"};
  const char *const *x = &fig[(id - 1) * 9];
  char *created = sqlv(f, "SELECT " TIME_SQL("created") " FROM recon_runs WHERE id = %d", id);
  char *sha = sqlv(f, "SELECT statement_sha256s[1] FROM recon_runs WHERE id = %d", id);
  assert_int_equal(strlen(sha), 64);
  snprintf(out, size,
           "{\"id\":%d,\"isin\":\"%s\",\"statement\":%s,\"cutoff\":\"%s\",\"block\":3,"
           "\"supply\":\"%s\",\"multiplier\":\"1.000000000000000000\",\"agg\":\"%s\","
           "\"pend_out\":\"0.000000\",\"penr_in\":\"0.000000\",\"red_owed\":\"0.000000\","
           "\"red_instr\":\"0.000000\",\"mint_owed\":\"0.000000\",\"liabilities\":\"%s\","
           "\"settled_coverage\":\"%s\",\"contractual_coverage\":\"%s\",\"status\":\"breaks\","
           "\"breaks\":%s,\"created\":\"%s\",\"statement_sha256s\":[\"%s\"]}",
           id, x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8], created, sha);
  free(created);
  free(sha);
}

static void test_runs(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  char want[8192], item[3][1024], cursor[64], path[256];
  for (int i = 0; i < 3; i++)
    run_json(f, i + 1, item[i], sizeof item[i]);
  /* S1 and S2 are different documents */
  assert_true(strcmp(strstr(item[0], "sha256s"), strstr(item[2], "sha256s")) != 0);
  snprintf(want, sizeof want, "{\"items\":[%s,%s,%s],\"next_cursor\":null}", item[0], item[1],
           item[2]);
  const char *keys[] = {f->auditor, f->admin};
  for (int k = 0; k < 2; k++) {
    tl_call(&f->s, "GET", "/v1/recon/runs", keys[k], NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, want);
    tl_reply_free(&r);
  }
  /* filters */
  snprintf(want, sizeof want, "{\"items\":[%s],\"next_cursor\":null}", item[1]);
  tl_call(&f->s, "GET", "/v1/recon/runs?isin=" RFX_OTHER, f->auditor, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, want);
  tl_reply_free(&r);
  expect_ids(f, "/v1/recon/runs?isin=" RFX_ISIN, f->auditor, "1,3", false, NULL, 0);
  expect_ids(f, "/v1/recon/runs?status=breaks", f->auditor, "1,2,3", false, NULL, 0);
  tl_call(&f->s, "GET", "/v1/recon/runs?status=ok", f->auditor, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{\"items\":[],\"next_cursor\":null}");
  tl_reply_free(&r);
  expect_ids(f, "/v1/recon/runs?isin=" RFX_ISIN "&status=ok", f->auditor, "", false, NULL, 0);
  /* paging */
  expect_ids(f, "/v1/recon/runs?limit=2", f->auditor, "1,2", true, cursor, sizeof cursor);
  snprintf(path, sizeof path, "/v1/recon/runs?limit=2&cursor=%s", cursor);
  expect_ids(f, path, f->auditor, "3", false, NULL, 0);
  expect_ids(f, "/v1/recon/runs?limit=1&isin=" RFX_ISIN, f->auditor, "1", true, cursor,
             sizeof cursor);
  snprintf(path, sizeof path, "/v1/recon/runs?limit=1&isin=" RFX_ISIN "&cursor=%s", cursor);
  expect_ids(f, path, f->auditor, "3", false, NULL, 0);
  /* bad queries */
  tl_call_error(&f->s, "GET", "/v1/recon/runs?status=open", f->auditor, NULL, NULL, 400,
                ERR_API_FIELD, "?status=");
  tl_call_error(&f->s, "GET", "/v1/recon/runs?isin=US037833100", f->auditor, NULL, NULL, 400,
                ERR_API_FIELD, "?isin=");
  tl_call_error(&f->s, "GET", "/v1/recon/runs?limit=0", f->auditor, NULL, NULL, 400, ERR_API_FIELD,
                NULL);
  tl_call_error(&f->s, "GET", "/v1/recon/runs?limit=501", f->auditor, NULL, NULL, 400,
                ERR_API_FIELD, NULL);
  tl_call_error(&f->s, "GET", "/v1/recon/runs?cursor=%21%21", f->auditor, NULL, NULL, 400,
                ERR_API_BAD_CURSOR, NULL);
  /* roles */
  tl_call_error(&f->s, "GET", "/v1/recon/runs", f->ap, NULL, NULL, 403, ERR_API_FORBIDDEN, NULL);
  tl_call_error(&f->s, "GET", "/v1/recon/runs", NULL, NULL, NULL, 401, ERR_API_UNAUTHORIZED, NULL);
  tl_call_error(&f->s, "POST", "/v1/recon/runs", f->admin, "k", "{}", 405, ERR_API_METHOD, NULL);
}

/* The exact JSON of break @id as now stored. */
static void break_json(struct tl_fx *f, int id, char *out, size_t size)
{
  char *v = sqlv(
      f,
      "SELECT concat_ws('|', run, last_run, isin, key, class, amount, detail, status, " TIME_SQL(
          "opened") ", " TIME_SQL("updated") ") FROM recon_breaks WHERE id = %d",
      id);
  char *p[10], *s = v;
  for (int i = 0; i < 10; i++) {
    p[i] = s;
    s = strchr(s, '|');
    if (i < 9) {
      assert_non_null(s);
      *s++ = '\0';
    }
  }
  snprintf(out, size,
           "{\"id\":%d,\"run\":%s,\"last_run\":%s,\"isin\":\"%s\",\"key\":\"%s\",\"class\":\"%s\","
           "\"amount\":\"%s\",\"detail\":\"%s\",\"status\":\"%s\",\"opened\":\"%s\","
           "\"updated\":\"%s\",\"resolved_by\":null,\"note\":null}",
           id, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9]);
  free(v);
}

static void test_breaks(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  char want[16384], item[6][1024], cursor[64], path[256];
  for (int i = 0; i < 6; i++)
    break_json(f, i + 1, item[i], sizeof item[i]);
  /* the figures the reconciler found, exactly */
  static const char *const expect[] = {
      "\"run\":1,\"last_run\":1,\"isin\":\"" RFX_ISIN "\",\"key\":\"mint:1\",\"class\":\"booking\","
      "\"amount\":\"-100.000000\",\"detail\":\"block 1 minted 100.000000000000000000 AAPLx "
      "(intent m1) without a purchase\",\"status\":\"open\"",
      "\"key\":\"mint:2\",\"class\":\"booking\",\"amount\":\"-250.500000\"",
      "\"key\":\"mint:3\",\"class\":\"booking\",\"amount\":\"-49.500000\"",
      "\"run\":1,\"last_run\":1,\"isin\":\"" RFX_ISIN "\",\"key\":\"coverage:1\",\"class\":"
      "\"booking\",\"amount\":\"400.000000\"",
      "\"run\":2,\"last_run\":2,\"isin\":\"" RFX_OTHER "\",\"key\":\"isin\",\"class\":"
      "\"security_master\",\"amount\":\"7.000000\",\"detail\":\"the custodian holds 7.000000 of "
      "US5949181045, which no instrument has\",\"status\":\"open\"",
      "\"run\":3,\"last_run\":3,\"isin\":\"" RFX_ISIN "\",\"key\":\"rollforward:agg:3\",\"class\":"
      "\"booking\",\"amount\":\"-1.000000\",\"detail\":\"AGG 399.000000 at 2026-03-03, expected "
      "400.000000 from AGG 400.000000 at 2026-03-02 and the settlements between\""};
  for (int i = 0; i < 6; i++)
    if (strstr(item[i], expect[i]) == NULL)
      fail_msg("break %d: %s lacks %s", i + 1, item[i], expect[i]);
  int pos = snprintf(want, sizeof want, "{\"items\":[");
  for (int i = 0; i < 6; i++)
    pos += snprintf(want + pos, sizeof want - (size_t)pos, "%s%s", i ? "," : "", item[i]);
  snprintf(want + pos, sizeof want - (size_t)pos, "],\"next_cursor\":null}");
  const char *keys[] = {f->auditor, f->admin};
  for (int k = 0; k < 2; k++) {
    tl_call(&f->s, "GET", "/v1/recon/breaks", keys[k], NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, want);
    tl_reply_free(&r);
  }
  snprintf(want, sizeof want, "{\"items\":[%s],\"next_cursor\":null}", item[4]);
  tl_call(&f->s, "GET", "/v1/recon/breaks?class=security_master", f->auditor, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, want);
  tl_reply_free(&r);
  expect_ids(f, "/v1/recon/breaks?isin=" RFX_OTHER, f->auditor, "5", false, NULL, 0);
  expect_ids(f, "/v1/recon/breaks?isin=" RFX_ISIN, f->auditor, "1,2,3,4,6", false, NULL, 0);
  expect_ids(f, "/v1/recon/breaks?status=open", f->auditor, "1,2,3,4,5,6", false, NULL, 0);
  expect_ids(f, "/v1/recon/breaks?status=resolved", f->auditor, "", false, NULL, 0);
  expect_ids(f, "/v1/recon/breaks?class=timing", f->auditor, "", false, NULL, 0);
  expect_ids(f, "/v1/recon/breaks?class=booking&isin=" RFX_ISIN "&limit=3", f->auditor, "1,2,3",
             true, cursor, sizeof cursor);
  snprintf(path, sizeof path, "/v1/recon/breaks?class=booking&isin=" RFX_ISIN "&limit=3&cursor=%s",
           cursor);
  expect_ids(f, path, f->auditor, "4,6", false, NULL, 0);
  tl_call_error(&f->s, "GET", "/v1/recon/breaks?class=nonsense", f->auditor, NULL, NULL, 400,
                ERR_API_FIELD, "?class=");
  tl_call_error(&f->s, "GET", "/v1/recon/breaks?status=ok", f->auditor, NULL, NULL, 400,
                ERR_API_FIELD, "?status=");
  tl_call_error(&f->s, "GET", "/v1/recon/breaks?isin=x", f->auditor, NULL, NULL, 400, ERR_API_FIELD,
                "?isin=");
  tl_call_error(&f->s, "GET", "/v1/recon/breaks?cursor=MA", f->auditor, NULL, NULL, 400,
                ERR_API_BAD_CURSOR, NULL);
  tl_call_error(&f->s, "GET", "/v1/recon/breaks", f->ap, NULL, NULL, 403, ERR_API_FORBIDDEN, NULL);
  tl_call_error(&f->s, "GET", "/v1/recon/breaks", NULL, NULL, NULL, 401, ERR_API_UNAUTHORIZED,
                NULL);
}

#define RESOLVE "/v1/admin/recon/breaks/6/resolve"

static void test_resolve(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  char sql[256];
  const char *explain = "{\"status\":\"explained\",\"note\":\"share lent out, back on the 4th\"}";
  long long seq = tl_sql_int(&f->s, "SELECT coalesce(max(seq), 0) FROM audit_log");

  /* wrong roles, no key, no Idempotency-Key: nothing changes */
  tl_call_error(&f->s, "POST", RESOLVE, f->auditor, "r0", explain, 403, ERR_API_FORBIDDEN, NULL);
  tl_call_error(&f->s, "POST", RESOLVE, f->ap, "r0", explain, 403, ERR_API_FORBIDDEN, NULL);
  tl_call_error(&f->s, "POST", RESOLVE, NULL, "r0", explain, 401, ERR_API_UNAUTHORIZED, NULL);
  tl_call_error(&f->s, "POST", RESOLVE, f->admin, NULL, explain, 400, ERR_API_IDEMPOTENCY_REQUIRED,
                NULL);
  /* bad bodies */
  tl_call_error(&f->s, "POST", RESOLVE, f->admin, "b1", "{\"status\":\"explained\"}", 400,
                ERR_API_FIELD, "note");
  tl_call_error(&f->s, "POST", RESOLVE, f->admin, "b2", "{\"status\":\"explained\",\"note\":\"\"}",
                400, ERR_API_FIELD, "note");
  tl_call_error(&f->s, "POST", RESOLVE, f->admin, "b3", "{\"status\":\"aged_out\",\"note\":\"x\"}",
                400, ERR_API_FIELD, NULL);
  tl_call_error(&f->s, "POST", RESOLVE, f->admin, "b4", "{\"status\":\"explained\",", 400,
                ERR_API_BAD_JSON, NULL);
  tl_call_error(&f->s, "POST", RESOLVE, f->admin, "b5",
                "{\"status\":\"resolved\",\"note\":\"x\",\"by\":1}", 400, ERR_API_UNKNOWN_FIELD,
                NULL);
  tl_call_error(&f->s, "POST", RESOLVE, f->admin, "b6", "{\"status\":7,\"note\":\"x\"}", 400,
                ERR_API_FIELD, NULL);
  /* unknown ids */
  tl_call_error(&f->s, "POST", "/v1/admin/recon/breaks/999/resolve", f->admin, "u1", explain, 404,
                ERR_API_NOT_FOUND, "no such break");
  tl_call_error(&f->s, "POST", "/v1/admin/recon/breaks/0/resolve", f->admin, "u2", explain, 404,
                ERR_API_NOT_FOUND, NULL);
  tl_call_error(&f->s, "POST", "/v1/admin/recon/breaks/abc/resolve", f->admin, "u3", explain, 404,
                ERR_API_NOT_FOUND, NULL);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM recon_breaks WHERE status <> 'open'"),
                   0);
  assert_int_equal(tl_sql_int(&f->s, "SELECT coalesce(max(seq), 0) FROM audit_log"), seq);

  /* open -> explained */
  tl_call(&f->s, "POST", RESOLVE, f->admin, "e1", explain, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{\"break\":{\"id\":6,\"status\":\"explained\",\"note\":\"share lent "
                              "out, back on the 4th\"}}");
  assert_string_equal(r.replayed, "");
  tl_reply_free(&r);
  tl_audit_has(&f->s, seq + 1, f->admin_id, "recon_break.explained", "recon_break:6",
               "{\"note\":\"share lent out, back on the 4th\",\"status\":\"explained\"}");
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM recon_breaks WHERE id = 6 AND status = 'explained' AND"
           " resolved_by = %lld AND note = 'share lent out, back on the 4th'",
           (long long)f->admin_id);
  assert_int_equal(tl_sql_int(&f->s, sql), 1);
  /* replay: the same reply, nothing new */
  tl_call(&f->s, "POST", RESOLVE, f->admin, "e1", explain, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{\"break\":{\"id\":6,\"status\":\"explained\",\"note\":\"share lent "
                              "out, back on the 4th\"}}");
  assert_string_equal(r.replayed, "true");
  tl_reply_free(&r);
  assert_int_equal(tl_sql_int(&f->s, "SELECT max(seq) FROM audit_log"), seq + 1);
  /* the key with another body */
  tl_call_error(&f->s, "POST", RESOLVE, f->admin, "e1", "{\"status\":\"resolved\",\"note\":\"x\"}",
                409, ERR_API_IDEMPOTENCY_CONFLICT, NULL);
  /* explained twice */
  tl_call_error(&f->s, "POST", RESOLVE, f->admin, "e2", explain, 409, ERR_API_CONFLICT, NULL);
  expect_ids(f, "/v1/recon/breaks?status=explained", f->auditor, "6", false, NULL, 0);

  /* explained -> resolved; then final */
  tl_call(&f->s, "POST", RESOLVE, f->admin, "e3",
          "{\"status\":\"resolved\",\"note\":\"returned; S3 shows 400\"}", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body,
                      "{\"break\":{\"id\":6,\"status\":\"resolved\",\"note\":\"returned; S3 "
                      "shows 400\"}}");
  tl_reply_free(&r);
  tl_audit_has(&f->s, seq + 2, f->admin_id, "recon_break.resolved", "recon_break:6",
               "{\"note\":\"returned; S3 shows 400\",\"status\":\"resolved\"}");
  tl_call_error(&f->s, "POST", RESOLVE, f->admin, "e4",
                "{\"status\":\"resolved\",\"note\":\"again\"}", 409, ERR_API_CONFLICT, NULL);
  tl_call_error(&f->s, "POST", RESOLVE, f->admin, "e5",
                "{\"status\":\"explained\",\"note\":\"again\"}", 409, ERR_API_CONFLICT, NULL);
  expect_ids(f, "/v1/recon/breaks?status=resolved", f->auditor, "6", false, NULL, 0);
  expect_ids(f, "/v1/recon/breaks?status=open", f->auditor, "1,2,3,4,5", false, NULL, 0);

  /* open -> resolved directly */
  tl_call(&f->s, "POST", "/v1/admin/recon/breaks/5/resolve", f->admin, "e6",
          "{\"status\":\"resolved\",\"note\":\"instrument to be listed\"}", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{\"break\":{\"id\":5,\"status\":\"resolved\",\"note\":\"instrument "
                              "to be listed\"}}");
  tl_reply_free(&r);
  tl_audit_has(&f->s, seq + 3, f->admin_id, "recon_break.resolved", "recon_break:5",
               "{\"note\":\"instrument to be listed\",\"status\":\"resolved\"}");
  assert_int_equal(tl_sql_int(&f->s, "SELECT max(seq) FROM audit_log"), seq + 3);
  expect_ids(f, "/v1/recon/breaks?status=resolved", f->auditor, "5,6", false, NULL, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_runs, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_breaks, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_resolve, setup, tl_fx_free),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
