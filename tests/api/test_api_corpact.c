/*
 * Corporate actions over real HTTP (api/api_corpact*.c): announce, list,
 * schedule, cancel and reconcile with the exact JSON and audit records;
 * a split applied by the step shows in the instrument; every endpoint
 * with the wrong roles (403) and no key (401); bad bodies (400) and
 * unknown symbols and ids (404) changing nothing; a replayed
 * Idempotency-Key with another body (409); and the instrument's raw
 * supply, multiplier, displayed supply and liability side by side.
 */
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "issuance/issuance.h"
#include "tests/api/api_testlib.h"

#define T0  1903867200000LL /* 2030-05-01T12:00:00Z */
#define EFF 1906723800000LL /* 2030-06-03T13:30:00Z */

static void clock_to(struct tl_fx *f, int64_t ms)
{
  char sql[256];
  snprintf(sql, sizeof sql,
           "UPDATE clock SET anchor_wall = clock_timestamp(), speed = 1,"
           " anchor_virtual = 'epoch'::timestamptz + %lld * interval '1 millisecond'",
           (long long)ms);
  ts_sql(f->s.conn, sql);
}

static int setup(void **state)
{
  struct tl_fx *f = tl_fx_new(state, "apicorpact", false);
  struct tl_reply r;
  tl_call(&f->s, "POST", "/v1/admin/instruments", f->admin, "setup-tsla",
          "{\"symbol\":\"TSLA\",\"isin\":\"US88160R1014\",\"token_symbol\":\"TSLAx\","
          "\"mint_policy\":\"at_fill\",\"burn_policy\":\"at_payout\",\"min_order_qty\":\"1\","
          "\"max_order_qty\":\"1000\"}",
          &r);
  assert_int_equal(r.status, 201);
  tl_reply_free(&r);
  clock_to(f, T0);
  return 0;
}

static const char split_body[] = "{\"type\":\"split\",\"ratio_new\":\"2\",\"ratio_old\":\"1\","
                                 "\"effective_at\":\"2030-06-03T13:30:00Z\"}";

/* The JSON of the split as announced, with @status and the given multipliers and times. */
static void split_json(char *out, size_t size, yajl_val a, const char *status, const char *om,
                       const char *nm, const char *applied)
{
  snprintf(out, size,
           "{\"id\":%lld,\"symbol\":\"TSLA\",\"type\":\"split\",\"status\":\"%s\","
           "\"ratio_new\":\"2.000000\",\"ratio_old\":\"1.000000\",\"cash_per_share\":null,"
           "\"currency\":null,\"new_symbol\":null,\"old_symbol\":null,\"record_date\":null,"
           "\"ex_date\":null,\"pay_date\":null,\"effective_at\":\"2030-06-03T13:30:00.000Z\","
           "\"window_start\":\"2030-05-31T20:00:00.000Z\","
           "\"window_end\":\"2030-06-03T14:30:00.000Z\",\"old_multiplier\":%s,"
           "\"new_multiplier\":%s,\"attention\":null,\"created_by\":%lld,\"created\":\"%s\","
           "\"updated\":\"%s\",\"applied_at\":%s}",
           tl_int(a, "id", NULL, NULL), status, om, nm, tl_int(a, "created_by", NULL, NULL),
           tl_str(a, "created", NULL, NULL), tl_str(a, "updated", NULL, NULL), applied);
}

static void test_lifecycle(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r, r2;
  char want[2048], body[2200], sql[1024], path[128];
  long long audits = tl_count(&f->s, "audit_log");

  /* Announce: 201, exact JSON, audited. */
  tl_call(&f->s, "POST", "/v1/admin/instruments/TSLA/corporate-actions", f->admin, "ca1",
          split_body, &r);
  assert_int_equal(r.status, 201);
  yajl_val v = tl_json(&r);
  yajl_val a = tl_get(v, "corporate_action", NULL, NULL);
  long long id = tl_int(a, "id", NULL, NULL);
  assert_int_equal(tl_int(a, "created_by", NULL, NULL), f->admin_id);
  assert_true(strncmp(tl_str(a, "created", NULL, NULL), "2030-05-01T12:00:0", 18) == 0);
  split_json(want, sizeof want, a, "announced", "null", "null", "null");
  snprintf(body, sizeof body, "{\"corporate_action\":%s}", want);
  assert_string_equal(r.body, body);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits + 1);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM audit_log WHERE seq = %lld AND principal = %lld AND action ="
           " 'corporate_action.announce' AND target = 'corporate_action:%lld' AND details LIKE"
           " '{\"applied_at\":null,%%\"effective_at\":\"2030-06-03T13:30:00.000Z\",%%"
           "\"status\":\"announced\",\"symbol\":\"TSLA\",\"type\":\"split\",%%}'",
           audits + 1, (long long)f->admin_id, id);
  assert_int_equal(tl_sql_int(&f->s, sql), 1);

  /* Replay: the same reply; another body under the key: 409. */
  tl_call(&f->s, "POST", "/v1/admin/instruments/TSLA/corporate-actions", f->admin, "ca1",
          split_body, &r2);
  assert_int_equal(r2.status, 201);
  assert_string_equal(r2.replayed, "true");
  assert_string_equal(r2.body, r.body);
  tl_reply_free(&r2);
  tl_call(&f->s, "POST", "/v1/admin/instruments/TSLA/corporate-actions", f->admin, "ca1",
          "{\"type\":\"split\",\"ratio_new\":\"3\",\"ratio_old\":\"1\","
          "\"effective_at\":\"2030-06-03T13:30:00Z\"}",
          &r2);
  tl_expect_error(&r2, 409, ERR_API_IDEMPOTENCY_CONFLICT, NULL);
  tl_reply_free(&r2);
  assert_int_equal(tl_count(&f->s, "corporate_actions"), 1);

  /* Every role lists it. */
  const char *readers[] = {f->admin, f->ap, f->auditor};
  char page[2400];
  snprintf(page, sizeof page, "{\"items\":[%s],\"next_cursor\":null}", want);
  for (int i = 0; i < 3; i++) {
    tl_call(&f->s, "GET", "/v1/instruments/TSLA/corporate-actions", readers[i], NULL, NULL, &r2);
    assert_int_equal(r2.status, 200);
    assert_string_equal(r2.body, page);
    tl_reply_free(&r2);
  }
  yajl_tree_free(v);
  tl_reply_free(&r);

  /* Schedule: the multipliers recorded; audited with them. */
  snprintf(path, sizeof path, "/v1/admin/corporate-actions/%lld/schedule", id);
  tl_call(&f->s, "POST", path, f->admin, "s1", "{}", &r);
  assert_int_equal(r.status, 200);
  v = tl_json(&r);
  a = tl_get(v, "corporate_action", NULL, NULL);
  split_json(want, sizeof want, a, "scheduled", "\"1.000000000000000000\"",
             "\"2.000000000000000000\"", "null");
  snprintf(body, sizeof body, "{\"corporate_action\":%s}", want);
  assert_string_equal(r.body, body);
  yajl_tree_free(v);
  tl_reply_free(&r);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM audit_log WHERE seq = %lld AND action ="
           " 'corporate_action.schedule' AND target = 'corporate_action:%lld' AND details ="
           " '{\"from\":\"announced\",\"new_multiplier\":\"2.000000000000000000\","
           "\"old_multiplier\":\"1.000000000000000000\",\"symbol\":\"TSLA\",\"to\":\"scheduled\","
           "\"type\":\"split\"}'",
           audits + 2, id);
  assert_int_equal(tl_sql_int(&f->s, sql), 1);
  /* Again (another key): the status does not allow it. */
  tl_call(&f->s, "POST", path, f->admin, "s2", "{}", &r);
  tl_expect_error(&r, 409, ERR_API_CONFLICT, "the action is scheduled: it cannot be scheduled");
  tl_reply_free(&r);

  /* The step at effective_at: the instrument's multiplier is 2. */
  clock_to(f, EFF);
  struct corpact_step_stats st;
  assert_int_equal(corpact_step(f->s.conn, &st), 0);
  assert_int_equal(st.applied, 1);
  tl_call(&f->s, "GET", "/v1/instruments/TSLA", f->ap, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  v = tl_json(&r);
  assert_string_equal(tl_str(v, "instrument", "multiplier", NULL), "2.000000000000000000");
  assert_string_equal(tl_str(v, "instrument", "raw_supply", NULL), "0.000000000000000000");
  yajl_tree_free(v);
  tl_reply_free(&r);

  /* Cancel once applied: 409.  Reconcile: 200, then 409. */
  snprintf(path, sizeof path, "/v1/admin/corporate-actions/%lld/cancel", id);
  tl_call(&f->s, "POST", path, f->admin, "c1", "{}", &r);
  tl_expect_error(&r, 409, ERR_API_CONFLICT, "the action is applied: it cannot be cancelled");
  tl_reply_free(&r);
  snprintf(path, sizeof path, "/v1/admin/corporate-actions/%lld/reconcile", id);
  tl_call(&f->s, "POST", path, f->admin, "r1", NULL, &r);
  assert_int_equal(r.status, 200);
  v = tl_json(&r);
  a = tl_get(v, "corporate_action", NULL, NULL);
  assert_string_equal(tl_str(a, "status", NULL, NULL), "reconciled");
  assert_string_equal(tl_str(a, "new_multiplier", NULL, NULL), "2.000000000000000000");
  assert_true(strncmp(tl_str(a, "applied_at", NULL, NULL), "2030-06-03T13:30:0", 18) == 0);
  yajl_tree_free(v);
  tl_reply_free(&r);
  tl_call(&f->s, "POST", path, f->admin, "r2", NULL, &r);
  tl_expect_error(&r, 409, ERR_API_CONFLICT, "the action is reconciled: it cannot be reconciled");
  tl_reply_free(&r);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM audit_log WHERE action = 'corporate_action.reconcile' AND"
           " details = '{\"from\":\"applied\",\"symbol\":\"TSLA\",\"to\":\"reconciled\","
           "\"type\":\"split\"}'");
  assert_int_equal(tl_sql_int(&f->s, sql), 1);
}

/* A cash dividend announced with its dates, then cancelled with a reason. */
static void test_dividend_cancel(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  char path[128];
  tl_call(&f->s, "POST", "/v1/admin/instruments/TSLA/corporate-actions", f->admin, "d1",
          "{\"type\":\"cash_dividend\",\"cash_per_share\":\"0.245\",\"currency\":\"USD\","
          "\"ex_date\":\"2030-05-28\",\"record_date\":\"2030-05-28\",\"pay_date\":\"2030-06-14\","
          "\"effective_at\":\"2030-05-28T13:30:00Z\"}",
          &r);
  assert_int_equal(r.status, 201);
  yajl_val v = tl_json(&r);
  yajl_val a = tl_get(v, "corporate_action", NULL, NULL);
  long long id = tl_int(a, "id", NULL, NULL);
  assert_string_equal(tl_str(a, "cash_per_share", NULL, NULL), "0.245000");
  assert_string_equal(tl_str(a, "currency", NULL, NULL), "USD");
  assert_string_equal(tl_str(a, "ex_date", NULL, NULL), "2030-05-28");
  assert_string_equal(tl_str(a, "pay_date", NULL, NULL), "2030-06-14");
  /* Friday before Memorial Day, 16:00 New York. */
  assert_string_equal(tl_str(a, "window_start", NULL, NULL), "2030-05-24T20:00:00.000Z");
  assert_string_equal(tl_str(a, "window_end", NULL, NULL), "2030-05-28T14:30:00.000Z");
  assert_true(YAJL_IS_NULL(tl_get(a, "ratio_new", NULL, NULL)));
  yajl_tree_free(v);
  tl_reply_free(&r);
  snprintf(path, sizeof path, "/v1/admin/corporate-actions/%lld/cancel", id);
  tl_call(&f->s, "POST", path, f->admin, "dc1", "{\"reason\":\"announced in error\"}", &r);
  assert_int_equal(r.status, 200);
  v = tl_json(&r);
  assert_string_equal(tl_str(v, "corporate_action", "status", NULL), "cancelled");
  yajl_tree_free(v);
  tl_reply_free(&r);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM audit_log WHERE action ="
                                     " 'corporate_action.cancel' AND details = '{\"from\":"
                                     "\"announced\",\"reason\":\"announced in error\",\"symbol\":"
                                     "\"TSLA\",\"to\":\"cancelled\",\"type\":\"cash_dividend\"}'"),
                   1);
  /* The reason is for cancel only. */
  snprintf(path, sizeof path, "/v1/admin/corporate-actions/%lld/reconcile", id);
  tl_call(&f->s, "POST", path, f->admin, "dc2", "{\"reason\":\"x\"}", &r);
  tl_expect_error(&r, 400, ERR_API_UNKNOWN_FIELD, "\"reason\"");
  tl_reply_free(&r);
}

/* Wrong roles, no key, unknown symbols and ids, bad bodies: nothing changes. */
static void test_refusals(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  const char *tables[] = {"corporate_actions", "audit_log", "api_idempotency"};
  long long before[3];
  for (int t = 0; t < 3; t++)
    before[t] = tl_count(&f->s, tables[t]);
  const char *writes[] = {
      "/v1/admin/instruments/TSLA/corporate-actions", "/v1/admin/corporate-actions/1/schedule",
      "/v1/admin/corporate-actions/1/cancel", "/v1/admin/corporate-actions/1/reconcile"};
  for (int i = 0; i < 4; i++) {
    tl_call(&f->s, "POST", writes[i], f->ap, "x1", split_body, &r);
    tl_expect_error(&r, 403, ERR_API_FORBIDDEN, NULL);
    tl_reply_free(&r);
    tl_call(&f->s, "POST", writes[i], f->auditor, "x1", split_body, &r);
    tl_expect_error(&r, 403, ERR_API_FORBIDDEN, NULL);
    tl_reply_free(&r);
    tl_call(&f->s, "POST", writes[i], NULL, "x1", split_body, &r);
    tl_expect_error(&r, 401, ERR_API_UNAUTHORIZED, NULL);
    tl_reply_free(&r);
  }
  tl_call(&f->s, "GET", "/v1/instruments/TSLA/corporate-actions", NULL, NULL, NULL, &r);
  tl_expect_error(&r, 401, ERR_API_UNAUTHORIZED, NULL);
  tl_reply_free(&r);
  /* Unknown symbol, unknown or malformed id. */
  tl_call(&f->s, "POST", "/v1/admin/instruments/NOPE/corporate-actions", f->admin, "x2", split_body,
          &r);
  tl_expect_error(&r, 404, ERR_API_NOT_FOUND, "no such instrument");
  tl_reply_free(&r);
  tl_call(&f->s, "GET", "/v1/instruments/NOPE/corporate-actions", f->ap, NULL, NULL, &r);
  tl_expect_error(&r, 404, ERR_API_NOT_FOUND, "no such instrument");
  tl_reply_free(&r);
  const char *ids[] = {
      "/v1/admin/corporate-actions/999/schedule", "/v1/admin/corporate-actions/abc/cancel",
      "/v1/admin/corporate-actions/0/reconcile", "/v1/admin/corporate-actions/01/schedule"};
  for (int i = 0; i < 4; i++) {
    tl_call(&f->s, "POST", ids[i], f->admin, "x3", "{}", &r);
    tl_expect_error(&r, 404, ERR_API_NOT_FOUND, "no such corporate action");
    tl_reply_free(&r);
  }
  /* No Idempotency-Key. */
  tl_call(&f->s, "POST", "/v1/admin/instruments/TSLA/corporate-actions", f->admin, NULL, split_body,
          &r);
  tl_expect_error(&r, 400, ERR_API_IDEMPOTENCY_REQUIRED, NULL);
  tl_reply_free(&r);
  tl_call(&f->s, "GET", "/v1/instruments/TSLA/corporate-actions?cursor=!!", f->ap, NULL, NULL, &r);
  tl_expect_error(&r, 400, ERR_API_BAD_CURSOR, NULL);
  tl_reply_free(&r);

#define EFFAT "\"effective_at\":\"2030-06-03T13:30:00Z\""
  struct {
    const char *body;
    int code;
    const char *part;
  } cases[] = {
      {"{" EFFAT "}", ERR_API_FIELD, "\"type\""},
      {"{\"type\":\"split\",\"ratio_new\":\"2\",\"ratio_old\":\"1\"}", ERR_API_FIELD,
       "\"effective_at\""},
      {"{\"type\":\"spin_off\"," EFFAT "}", ERR_API_FIELD, "\"type\""},
      {"{\"type\":\"split\",\"ratio_new\":2,\"ratio_old\":\"1\"," EFFAT "}", ERR_API_FIELD,
       "\"ratio_new\""},
      {"{\"type\":\"split\",\"ratio_new\":\"2\"," EFFAT "}", ERR_API_FIELD,
       "ratio_new and ratio_old go together"},
      {"{\"type\":\"split\",\"ratio_new\":\"1\",\"ratio_old\":\"2\"," EFFAT "}", ERR_API_FIELD,
       "a split has ratio_new above ratio_old"},
      {"{\"type\":\"reverse_split\",\"ratio_new\":\"10\",\"ratio_old\":\"1\"," EFFAT "}",
       ERR_API_FIELD, "a reverse_split has ratio_new below ratio_old"},
      {"{\"type\":\"split\",\"ratio_new\":\"2.0000001\",\"ratio_old\":\"1\"," EFFAT "}",
       ERR_API_FIELD, "\"ratio_new\""},
      {"{\"type\":\"split\",\"ratio_new\":\"-2\",\"ratio_old\":\"1\"," EFFAT "}", ERR_API_FIELD,
       "\"ratio_new\""},
      {"{\"type\":\"split\",\"ratio_new\":\"2\",\"ratio_old\":\"0\"," EFFAT "}", ERR_API_FIELD,
       "\"ratio_old\""},
      {"{\"type\":\"cash_dividend\",\"cash_per_share\":\"0.24\"," EFFAT "}", ERR_API_FIELD,
       "\"currency\""},
      {"{\"type\":\"cash_dividend\",\"cash_per_share\":\"0.24\",\"currency\":\"US1\"," EFFAT "}",
       ERR_API_FIELD, "\"currency\""},
      {"{\"type\":\"cash_dividend\",\"cash_per_share\":\"0.24\",\"currency\":\"USD\","
       "\"ex_date\":\"2030-13-01\"," EFFAT "}",
       ERR_API_FIELD, "\"ex_date\""},
      {"{\"type\":\"cash_dividend\",\"cash_per_share\":\"0.24\",\"currency\":\"USD\","
       "\"ex_date\":\"2030-06-02\",\"record_date\":\"2030-06-01\"," EFFAT "}",
       ERR_API_FIELD, "\"ex_date\""},
      {"{\"type\":\"split\",\"ratio_new\":\"2\",\"ratio_old\":\"1\","
       "\"effective_at\":\"2030-04-01T00:00:00Z\"}",
       ERR_API_FIELD, "must be after the clock's now"},
      {"{\"type\":\"split\",\"ratio_new\":\"2\",\"ratio_old\":\"1\","
       "\"window_end\":\"2030-06-03T13:00:00Z\"," EFFAT "}",
       ERR_API_FIELD, "\"window_end\""},
      {"{\"type\":\"split\",\"ratio_new\":\"2\",\"ratio_old\":\"1\",\"effective_at\":\"soon\"}",
       ERR_API_FIELD, "\"effective_at\""},
      {"{\"type\":\"symbol_change\",\"new_symbol\":\"TSLA\"," EFFAT "}", ERR_API_FIELD,
       "already has this symbol"},
      {"{\"type\":\"symbol_change\",\"new_symbol\":\"T'; DROP TABLE instruments;--\"," EFFAT "}",
       ERR_API_FIELD, "\"new_symbol\""},
      {"{\"type\":\"split\",\"ratio_new\":\"2\",\"ratio_old\":\"1\",\"multiplier\":\"2\"," EFFAT
       "}",
       ERR_API_UNKNOWN_FIELD, "\"multiplier\""},
      {"[1]", ERR_API_BAD_JSON, NULL},
  };
#undef EFFAT
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tl_call(&f->s, "POST", "/v1/admin/instruments/TSLA/corporate-actions", f->admin, "bad-1",
            cases[i].body, &r);
    tl_expect_error(&r, 400, cases[i].code, cases[i].part);
    tl_reply_free(&r);
  }
  for (int t = 0; t < 3; t++)
    assert_int_equal(tl_count(&f->s, tables[t]), before[t]);
}

/* Raw supply from the built-in ledger, the multiplier, displayed supply and liability. */
static void test_instrument_figures(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  struct chain_ledger *l = NULL;
  struct money one = {.v = 1, .scale = 18};
  assert_int_equal(chain_builtin_open(f->s.conn, &l), 0);
  struct chain_token tok = {.symbol = "TSLAx", .decimals = 18, .name = "Tesla token"};
  assert_int_equal(chain_token_register(l, &tok), 0);
  assert_int_equal(
      chain_mint(l, "fig-1", "TSLAx", "0x00000000000000000000000000000000000000aa", one, NULL), 0);
  chain_ledger_free(l);
  ts_sql(f->s.conn, "UPDATE instruments SET multiplier = 1.5 WHERE symbol = 'TSLA'");
  static const char figures[] =
      "\"raw_supply\":\"0.000000000000000001\",\"multiplier\":\"1.500000000000000000\","
      "\"displayed_supply\":\"0.000000000000000001\",\"liability_shares\":\"0.000001\",";
  tl_call(&f->s, "GET", "/v1/instruments/TSLA", f->auditor, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  if (strstr(r.body, figures) == NULL)
    fail_msg("no figures in %s", r.body);
  tl_reply_free(&r);
  tl_call(&f->s, "GET", "/v1/instruments", f->ap, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  if (strstr(r.body, figures) == NULL)
    fail_msg("no figures in %s", r.body);
  tl_reply_free(&r);
  /* The same as corpact_supply(), which reads through chain_supply(). */
  struct corpact_supply s;
  long long inst = tl_sql_int(&f->s, "SELECT id FROM instruments WHERE symbol = 'TSLA'");
  assert_int_equal(corpact_supply(f->s.conn, inst, &s), 0);
  char b[MONEY_STR_MAX];
  money_format(s.liability_shares, b, sizeof b);
  assert_string_equal(b, "0.000001");
  money_format(s.raw_supply, b, sizeof b);
  assert_string_equal(b, "0.000000000000000001");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_lifecycle, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_dividend_cancel, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_refusals, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_instrument_figures, setup, tl_fx_free),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
