/*
 * Instruments and pauses over real HTTP (api/api_*instrument*.c,
 * api/api_*pause*.c): create, list, get and update with the exact JSON;
 * bad bodies (ISIN, scale, negative fee, rate >= 1, min > max, hours,
 * unknown fields) answered 400 with nothing changed; only the issuer admin
 * writes (AP and auditor 403), all three read; Idempotency-Key replay and
 * 409; pauses set, cleared and listed; and every change's audit record.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "tests/api/api_testlib.h"

static int setup(void **state)
{
  tl_fx_new(state, "apiinstr", false);
  return 0;
}

static const char tsla_body[] =
    "{\"symbol\":\"TSLA\",\"isin\":\"US88160R1014\",\"token_symbol\":\"TSLAx\","
    "\"token_decimals\":18,\"settlement_lag_days\":1,\"mint_policy\":\"at_fill\","
    "\"burn_policy\":\"at_payout\",\"min_order_qty\":\"1\",\"max_order_qty\":\"10000.5\","
    "\"fee_flat\":\"25\",\"fee_rate\":\"0.0025\",\"market_open\":\"09:30\","
    "\"market_close\":\"16:00\",\"cutoff\":\"15:45\",\"out_of_hours\":\"refuse\"}";

/* The instrument JSON TSLA should have (id, the knobs that vary, and its times from @v). */
static void tsla_json(char *out, size_t size, yajl_val inst, const char *fee_rate, const char *ooh)
{
  snprintf(out, size,
           "{\"id\":%lld,\"symbol\":\"TSLA\",\"isin\":\"US88160R1014\",\"token_symbol\":\"TSLAx\","
           "\"token_decimals\":18,\"settlement_lag_days\":1,\"mint_policy\":\"at_fill\","
           "\"burn_policy\":\"at_payout\",\"min_order_qty\":\"1.000000\","
           "\"max_order_qty\":\"10000.500000\",\"fee_flat\":\"25.00\",\"fee_rate\":\"%s\","
           "\"market_open\":\"09:30\",\"market_close\":\"16:00\",\"cutoff\":\"15:45\","
           "\"out_of_hours\":\"%s\",\"time_zone\":\"America/New_York\","
           "\"raw_supply\":\"0.000000000000000000\",\"multiplier\":\"1.000000000000000000\","
           "\"displayed_supply\":\"0.000000000000000000\",\"liability_shares\":\"0.000000\","
           "\"created\":\"%s\",\"updated\":\"%s\"}",
           tl_int(inst, "id", NULL, NULL), fee_rate, ooh, tl_str(inst, "created", NULL, NULL),
           tl_str(inst, "updated", NULL, NULL));
}

static void test_create_get_list(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r, r2;
  char want[2048], sql[1024];
  long long audits = tl_count(&f->s, "audit_log");
  tl_call(&f->s, "POST", "/v1/admin/instruments", f->admin, "i1", tsla_body, &r);
  assert_int_equal(r.status, 201);
  yajl_val v = tl_json(&r);
  yajl_val inst = tl_get(v, "instrument", NULL, NULL);
  assert_string_equal(tl_str(inst, "created", NULL, NULL), tl_str(inst, "updated", NULL, NULL));
  char body[2200];
  tsla_json(want, sizeof want, inst, "0.002500", "refuse");
  snprintf(body, sizeof body, "{\"instrument\":%s}", want);
  assert_string_equal(r.body, body);
  /* Stored exactly. */
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM instruments WHERE symbol = 'TSLA' AND "
                                     "fee_rate = 0.0025 AND max_order_qty = 10000.5 AND fee_flat "
                                     "= 25 AND multiplier = 1 AND token_symbol = 'TSLAx'"),
                   1);
  /* Audited once, with the knobs. */
  assert_int_equal(tl_count(&f->s, "audit_log"), audits + 1);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM audit_log WHERE seq = %lld AND principal = %lld AND action = "
           "'instrument.create' AND target = 'instrument:TSLA' AND details = "
           "'{\"burn_policy\":\"at_payout\",\"cutoff\":\"15:45\",\"fee_flat\":\"25.00\","
           "\"fee_rate\":\"0.002500\",\"isin\":\"US88160R1014\",\"market_close\":\"16:00\","
           "\"market_open\":\"09:30\",\"max_order_qty\":\"10000.500000\",\"min_order_qty\":"
           "\"1.000000\",\"mint_policy\":\"at_fill\",\"out_of_hours\":\"refuse\","
           "\"settlement_lag_days\":1,\"symbol\":\"TSLA\",\"token_decimals\":18,"
           "\"token_symbol\":\"TSLAx\"}'",
           audits + 1, (long long)f->admin_id);
  assert_int_equal(tl_sql_int(&f->s, sql), 1);

  /* Replay: the same reply, flagged; nothing more made.  Another body: 409. */
  tl_call(&f->s, "POST", "/v1/admin/instruments", f->admin, "i1", tsla_body, &r2);
  assert_int_equal(r2.status, 201);
  assert_string_equal(r2.replayed, "true");
  assert_string_equal(r2.body, r.body);
  tl_reply_free(&r2);
  tl_call(&f->s, "POST", "/v1/admin/instruments", f->admin, "i1",
          "{\"symbol\":\"TSLB\",\"isin\":\"US88160R1014\",\"token_symbol\":\"TSLBx\","
          "\"mint_policy\":\"at_fill\",\"burn_policy\":\"at_payout\",\"min_order_qty\":\"1\","
          "\"max_order_qty\":\"2\"}",
          &r2);
  tl_expect_error(&r2, 409, ERR_API_IDEMPOTENCY_CONFLICT, NULL);
  tl_reply_free(&r2);
  assert_int_equal(tl_count(&f->s, "instruments"), 1);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits + 1);
  /* Taken symbol (another key): 409 api_conflict. */
  tl_call(&f->s, "POST", "/v1/admin/instruments", f->admin, "i1b", tsla_body, &r2);
  tl_expect_error(&r2, 409, ERR_API_CONFLICT, "exists");
  tl_reply_free(&r2);

  /* Every role reads it. */
  const char *readers[] = {f->admin, f->ap, f->auditor};
  for (int i = 0; i < 3; i++) {
    tl_call(&f->s, "GET", "/v1/instruments/TSLA", readers[i], NULL, NULL, &r2);
    assert_int_equal(r2.status, 200);
    assert_string_equal(r2.body, body);
    tl_reply_free(&r2);
  }
  tl_call(&f->s, "GET", "/v1/instruments/NOPE", f->ap, NULL, NULL, &r2);
  tl_expect_error(&r2, 404, ERR_API_NOT_FOUND, NULL);
  tl_reply_free(&r2);

  /* The defaults: 18 decimals, T+1, no fees, 09:30-16:00 cut off at 15:30, queue. */
  tl_call(&f->s, "POST", "/v1/admin/instruments", f->admin, "i2",
          "{\"symbol\":\"AAPL\",\"isin\":\"US0378331005\",\"token_symbol\":\"AAPLx\","
          "\"mint_policy\":\"at_settlement\",\"burn_policy\":\"on_receipt\","
          "\"min_order_qty\":\"0.000001\",\"max_order_qty\":\"500\"}",
          &r2);
  assert_int_equal(r2.status, 201);
  yajl_val v2 = tl_json(&r2);
  yajl_val a = tl_get(v2, "instrument", NULL, NULL);
  char want2[2048];
  snprintf(want2, sizeof want2,
           "{\"instrument\":{\"id\":%lld,\"symbol\":\"AAPL\",\"isin\":\"US0378331005\","
           "\"token_symbol\":\"AAPLx\",\"token_decimals\":18,\"settlement_lag_days\":1,"
           "\"mint_policy\":\"at_settlement\",\"burn_policy\":\"on_receipt\","
           "\"min_order_qty\":\"0.000001\",\"max_order_qty\":\"500.000000\",\"fee_flat\":"
           "\"0.00\",\"fee_rate\":\"0.000000\",\"market_open\":\"09:30\",\"market_close\":"
           "\"16:00\",\"cutoff\":\"15:30\",\"out_of_hours\":\"queue\",\"time_zone\":"
           "\"America/New_York\",\"raw_supply\":\"0.000000000000000000\",\"multiplier\":"
           "\"1.000000000000000000\",\"displayed_supply\":\"0.000000000000000000\","
           "\"liability_shares\":\"0.000000\",\"created\":\"%s\","
           "\"updated\":\"%s\"}}",
           tl_int(a, "id", NULL, NULL), tl_str(a, "created", NULL, NULL),
           tl_str(a, "updated", NULL, NULL));
  assert_string_equal(r2.body, want2);
  yajl_tree_free(v2);
  tl_reply_free(&r2);

  /* The list, by id, paginated. */
  tl_call(&f->s, "GET", "/v1/instruments?limit=1", f->auditor, NULL, NULL, &r2);
  assert_int_equal(r2.status, 200);
  char cur[API_CURSOR_MAX], page[2400];
  api_cursor_encode(tl_int(inst, "id", NULL, NULL), cur);
  snprintf(page, sizeof page, "{\"items\":[%s],\"next_cursor\":\"%s\"}", want, cur);
  assert_string_equal(r2.body, page);
  tl_reply_free(&r2);
  char url[128];
  snprintf(url, sizeof url, "/v1/instruments?limit=1&cursor=%s", cur);
  tl_call(&f->s, "GET", url, f->ap, NULL, NULL, &r2);
  assert_int_equal(r2.status, 200);
  yajl_val v3 = tl_json(&r2);
  yajl_val items = tl_get(v3, "items", NULL, NULL);
  assert_int_equal(items->u.array.len, 1);
  assert_string_equal(tl_str(items->u.array.values[0], "symbol", NULL, NULL), "AAPL");
  assert_true(YAJL_IS_NULL(tl_get(v3, "next_cursor", NULL, NULL)));
  yajl_tree_free(v3);
  tl_reply_free(&r2);
  tl_call(&f->s, "GET", "/v1/instruments?cursor=!!", f->ap, NULL, NULL, &r2);
  tl_expect_error(&r2, 400, ERR_API_BAD_CURSOR, NULL);
  tl_reply_free(&r2);
  yajl_tree_free(v);
  tl_reply_free(&r);
}

static void test_bad_bodies_change_nothing(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
#define BASE                                                                                       \
  "\"symbol\":\"NVDA\",\"token_symbol\":\"NVDAx\",\"mint_policy\":\"at_fill\","                    \
  "\"burn_policy\":\"on_receipt\""
#define ISIN "\"isin\":\"US67066G1040\""
  struct {
    const char *body;
    int code;
    const char *part;
  } cases[] = {
      {"{" BASE ",\"isin\":\"US67066G1041\",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\"}",
       ERR_API_FIELD, "\"isin\""},
      {"{" BASE ",\"isin\":\"U567066G1040\",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\"}",
       ERR_API_FIELD, "\"isin\""},
      {"{" BASE ",\"isin\":\"US67066G104\",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\"}",
       ERR_API_FIELD, "\"isin\""},
      {"{" BASE ",\"isin\":\"us67066g1040\",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\"}",
       ERR_API_FIELD, "\"isin\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"1.0000001\",\"max_order_qty\":\"2\"}", ERR_API_FIELD,
       "\"min_order_qty\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\",\"fee_flat\":\"0.001\"}",
       ERR_API_FIELD, "\"fee_flat\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\",\"fee_flat\":\"-1.00\"}",
       ERR_API_FIELD, "\"fee_flat\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\",\"fee_rate\":\"-0.1\"}",
       ERR_API_FIELD, "\"fee_rate\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\",\"fee_rate\":\"1\"}",
       ERR_API_FIELD, "\"fee_rate\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\",\"fee_rate\":\"1.5\"}",
       ERR_API_FIELD, "\"fee_rate\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\","
       "\"fee_rate\":\"0.0000001\"}",
       ERR_API_FIELD, "\"fee_rate\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"3\",\"max_order_qty\":\"2\"}", ERR_API_FIELD,
       "\"min_order_qty\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"0\",\"max_order_qty\":\"2\"}", ERR_API_FIELD,
       "\"min_order_qty\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":1,\"max_order_qty\":\"2\"}", ERR_API_FIELD,
       "\"min_order_qty\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\",\"token_decimals\":19}",
       ERR_API_FIELD, "\"token_decimals\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\","
       "\"market_open\":\"9:30\"}",
       ERR_API_FIELD, "\"market_open\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\","
       "\"market_close\":\"24:00\"}",
       ERR_API_FIELD, "\"market_close\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\",\"cutoff\":\"16:30\"}",
       ERR_API_FIELD, "\"cutoff\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\","
       "\"mint_policy\":\"later\"}",
       ERR_API_BAD_JSON, "twice"},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\",\"multiplier\":\"2\"}",
       ERR_API_UNKNOWN_FIELD, "\"multiplier\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\","
       "\"out_of_hours\":\"maybe\"}",
       ERR_API_FIELD, "\"out_of_hours\""},
      {"{" BASE "," ISIN ",\"min_order_qty\":\"1\"}", ERR_API_FIELD, "\"max_order_qty\""},
      {"{\"symbol\":\"nvda\",\"token_symbol\":\"NVDAx\",\"mint_policy\":\"at_fill\","
       "\"burn_policy\":\"on_receipt\"," ISIN ",\"min_order_qty\":\"1\",\"max_order_qty\":\"2\"}",
       ERR_API_FIELD, "\"symbol\""},
      {"{\"symbol\":\"NVDA'; DROP TABLE instruments;--\",\"token_symbol\":\"NVDAx\"}",
       ERR_API_FIELD, "\"symbol\""},
  };
#undef BASE
#undef ISIN
  const char *tables[] = {"instruments", "audit_log", "api_idempotency"};
  long long before[3];
  for (int t = 0; t < 3; t++)
    before[t] = tl_count(&f->s, tables[t]);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tl_call(&f->s, "POST", "/v1/admin/instruments", f->admin, "bad-1", cases[i].body, &r);
    tl_expect_error(&r, 400, cases[i].code, cases[i].part);
    tl_reply_free(&r);
  }
  for (int t = 0; t < 3; t++)
    assert_int_equal(tl_count(&f->s, tables[t]), before[t]);
}

static void test_update(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  char want[2048], body[2200], sql[512];
  long long audits = tl_count(&f->s, "audit_log");
  tl_call(&f->s, "POST", "/v1/admin/instruments/TSLA", f->admin, "u1",
          "{\"fee_rate\":\"0.001\",\"out_of_hours\":\"queue\"}", &r);
  assert_int_equal(r.status, 200);
  yajl_val v = tl_json(&r);
  yajl_val inst = tl_get(v, "instrument", NULL, NULL);
  tsla_json(want, sizeof want, inst, "0.001000", "queue");
  snprintf(body, sizeof body, "{\"instrument\":%s}", want);
  assert_string_equal(r.body, body);
  assert_true(strcmp(tl_str(inst, "updated", NULL, NULL), tl_str(inst, "created", NULL, NULL)) >=
              0);
  yajl_tree_free(v);
  tl_reply_free(&r);
  tl_call(&f->s, "GET", "/v1/instruments/TSLA", f->auditor, NULL, NULL, &r);
  assert_string_equal(r.body, body);
  tl_reply_free(&r);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits + 1);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM audit_log WHERE seq = %lld AND action = 'instrument.update' AND "
           "target = 'instrument:TSLA' AND details LIKE "
           "'{\"after\":{%%\"fee_rate\":\"0.001000\"%%\"out_of_hours\":\"queue\"%%},"
           "\"before\":{%%\"fee_rate\":\"0.002500\"%%\"out_of_hours\":\"refuse\"%%},"
           "\"changed\":[\"fee_rate\",\"out_of_hours\"],\"symbol\":\"TSLA\"}'",
           audits + 1);
  assert_int_equal(tl_sql_int(&f->s, sql), 1);
  /* Replay. */
  tl_call(&f->s, "POST", "/v1/admin/instruments/TSLA", f->admin, "u1",
          "{\"fee_rate\":\"0.001\",\"out_of_hours\":\"queue\"}", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.replayed, "true");
  assert_string_equal(r.body, body);
  tl_reply_free(&r);

  /* Refused: nothing changes, nothing audited. */
  struct {
    const char *path, *body;
    long status;
    int code;
    const char *part;
  } cases[] = {
      {"/v1/admin/instruments/TSLA", "{\"max_order_qty\":\"0.5\"}", 400, ERR_API_FIELD,
       "min_order_qty"},
      {"/v1/admin/instruments/TSLA", "{\"cutoff\":\"09:00\"}", 400, ERR_API_FIELD, "cutoff"},
      {"/v1/admin/instruments/TSLA", "{\"fee_rate\":\"1.0\"}", 400, ERR_API_FIELD, "fee_rate"},
      {"/v1/admin/instruments/TSLA", "{\"isin\":\"US0378331005\"}", 400, ERR_API_UNKNOWN_FIELD,
       "\"isin\""},
      {"/v1/admin/instruments/TSLA", "{}", 400, ERR_API_FIELD, "no field"},
      {"/v1/admin/instruments/TSLA", "{\"fee_flat\":\"-5\"}", 400, ERR_API_FIELD, "fee_flat"},
      {"/v1/admin/instruments/NOPE", "{\"fee_flat\":\"5\"}", 404, ERR_API_NOT_FOUND, NULL},
  };
  long long idem = tl_count(&f->s, "api_idempotency");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tl_call(&f->s, "POST", cases[i].path, f->admin, "u-bad", cases[i].body, &r);
    tl_expect_error(&r, cases[i].status, cases[i].code, cases[i].part);
    tl_reply_free(&r);
  }
  tl_call(&f->s, "GET", "/v1/instruments/TSLA", f->auditor, NULL, NULL, &r);
  assert_string_equal(r.body, body);
  tl_reply_free(&r);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits + 1);
  assert_int_equal(tl_count(&f->s, "api_idempotency"), idem);
  /* Both limits at once: checked together. */
  tl_call(&f->s, "POST", "/v1/admin/instruments/TSLA", f->admin, "u2",
          "{\"min_order_qty\":\"0.5\",\"max_order_qty\":\"0.5\"}", &r);
  assert_int_equal(r.status, 200);
  v = tl_json(&r);
  assert_string_equal(tl_str(v, "instrument", "min_order_qty", NULL), "0.500000");
  assert_string_equal(tl_str(v, "instrument", "max_order_qty", NULL), "0.500000");
  assert_string_equal(tl_str(v, "instrument", "fee_rate", NULL), "0.001000");
  yajl_tree_free(v);
  tl_reply_free(&r);
}

static void test_roles(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  const char *writers[] = {f->ap, f->auditor};
  long long before = tl_count(&f->s, "audit_log");
  for (int i = 0; i < 2; i++) {
    tl_call(&f->s, "POST", "/v1/admin/instruments", writers[i], "w1", tsla_body, &r);
    tl_expect_error(&r, 403, ERR_API_FORBIDDEN, NULL);
    tl_reply_free(&r);
    tl_call(&f->s, "POST", "/v1/admin/instruments/TSLA", writers[i], "w2", "{\"fee_flat\":\"1\"}",
            &r);
    tl_expect_error(&r, 403, ERR_API_FORBIDDEN, NULL);
    tl_reply_free(&r);
    tl_call(&f->s, "POST", "/v1/admin/pauses", writers[i], "w3",
            "{\"scope\":\"global\",\"kind\":\"mint\",\"paused\":true,\"reason\":\"x\"}", &r);
    tl_expect_error(&r, 403, ERR_API_FORBIDDEN, NULL);
    tl_reply_free(&r);
  }
  const char *gets[] = {"/v1/instruments", "/v1/instruments/TSLA", "/v1/pauses"};
  const char *readers[] = {f->admin, f->ap, f->auditor};
  for (int g = 0; g < 3; g++) {
    for (int i = 0; i < 3; i++) {
      tl_call(&f->s, "GET", gets[g], readers[i], NULL, NULL, &r);
      assert_int_equal(r.status, 200);
      tl_reply_free(&r);
    }
    tl_call(&f->s, "GET", gets[g], NULL, NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    tl_reply_free(&r);
  }
  assert_int_equal(tl_count(&f->s, "audit_log"), before);
  assert_int_equal(tl_count(&f->s, "pauses"), 0);
}

static void set_pause(struct tl_fx *f, const char *idem, const char *scope, const char *kind,
                      bool paused, const char *reason, char *at, size_t at_size)
{
  struct tl_reply r;
  char body[256], want[512];
  snprintf(body, sizeof body, "{\"scope\":\"%s\",\"kind\":\"%s\",\"paused\":%s,\"reason\":\"%s\"}",
           scope, kind, paused ? "true" : "false", reason);
  tl_call(&f->s, "POST", "/v1/admin/pauses", f->admin, idem, body, &r);
  assert_int_equal(r.status, 200);
  yajl_val v = tl_json(&r);
  snprintf(at, at_size, "%s", tl_str(v, "pause", "set_at", NULL));
  snprintf(want, sizeof want,
           "{\"pause\":{\"scope\":\"%s\",\"kind\":\"%s\",\"paused\":%s,\"reason\":\"%s\","
           "\"set_by\":%lld,\"set_at\":\"%s\"}}",
           scope, kind, paused ? "true" : "false", reason, (long long)f->admin_id, at);
  assert_string_equal(r.body, want);
  yajl_tree_free(v);
  tl_reply_free(&r);
}

static void test_pauses(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  char a1[API_TIME_STR + 8], a2[API_TIME_STR + 8], a3[API_TIME_STR + 8], want[1024], sql[512];
  long long audits = tl_count(&f->s, "audit_log");
  tl_call(&f->s, "GET", "/v1/pauses", f->ap, NULL, NULL, &r);
  assert_string_equal(r.body, "{\"items\":[]}");
  tl_reply_free(&r);
  set_pause(f, "p1", "TSLA", "redeem", true, "custodian outage", a1, sizeof a1);
  set_pause(f, "p2", "global", "mint", true, "split window", a2, sizeof a2);
  set_pause(f, "p3", "AAPL", "mint", true, "review", a3, sizeof a3);
  tl_call(&f->s, "GET", "/v1/pauses", f->auditor, NULL, NULL, &r);
  snprintf(want, sizeof want,
           "{\"items\":[{\"scope\":\"global\",\"kind\":\"mint\",\"paused\":true,\"reason\":"
           "\"split window\",\"set_by\":%lld,\"set_at\":\"%s\"},{\"scope\":\"AAPL\",\"kind\":"
           "\"mint\",\"paused\":true,\"reason\":\"review\",\"set_by\":%lld,\"set_at\":\"%s\"},"
           "{\"scope\":\"TSLA\",\"kind\":\"redeem\",\"paused\":true,\"reason\":\"custodian "
           "outage\",\"set_by\":%lld,\"set_at\":\"%s\"}]}",
           (long long)f->admin_id, a2, (long long)f->admin_id, a3, (long long)f->admin_id, a1);
  assert_string_equal(r.body, want);
  tl_reply_free(&r);
  /* Cleared: gone from the list, the row kept with its new state. */
  set_pause(f, "p4", "global", "mint", false, "window over", a2, sizeof a2);
  set_pause(f, "p5", "AAPL", "mint", false, "done", a3, sizeof a3);
  tl_call(&f->s, "GET", "/v1/pauses", f->auditor, NULL, NULL, &r);
  snprintf(want, sizeof want,
           "{\"items\":[{\"scope\":\"TSLA\",\"kind\":\"redeem\",\"paused\":true,\"reason\":"
           "\"custodian outage\",\"set_by\":%lld,\"set_at\":\"%s\"}]}",
           (long long)f->admin_id, a1);
  assert_string_equal(r.body, want);
  tl_reply_free(&r);
  assert_int_equal(tl_count(&f->s, "pauses"), 3);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM pauses WHERE instrument IS NULL AND "
                                     "kind = 'mint' AND NOT paused AND reason = 'window over'"),
                   1);
  /* Every change audited, in order. */
  assert_int_equal(tl_count(&f->s, "audit_log"), audits + 5);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM audit_log WHERE seq = %lld AND principal = %lld AND action = "
           "'pause.set' AND target = 'pause:global:mint' AND details = "
           "'{\"kind\":\"mint\",\"paused\":false,\"reason\":\"window over\",\"scope\":\"global\"}'",
           audits + 4, (long long)f->admin_id);
  assert_int_equal(tl_sql_int(&f->s, sql), 1);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM audit_log WHERE seq = %lld AND action = 'pause.set' AND target = "
           "'pause:TSLA:redeem' AND details = '{\"kind\":\"redeem\",\"paused\":true,\"reason\":"
           "\"custodian outage\",\"scope\":\"TSLA\"}'",
           audits + 1);
  assert_int_equal(tl_sql_int(&f->s, sql), 1);

  /* Replay and conflict. */
  const char *p1 =
      "{\"scope\":\"TSLA\",\"kind\":\"redeem\",\"paused\":true,\"reason\":\"custodian outage\"}";
  tl_call(&f->s, "POST", "/v1/admin/pauses", f->admin, "p1", p1, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.replayed, "true");
  tl_reply_free(&r);
  tl_call(&f->s, "POST", "/v1/admin/pauses", f->admin, "p1",
          "{\"scope\":\"TSLA\",\"kind\":\"redeem\",\"paused\":false,\"reason\":\"x\"}", &r);
  tl_expect_error(&r, 409, ERR_API_IDEMPOTENCY_CONFLICT, NULL);
  tl_reply_free(&r);

  /* Bad bodies: nothing changes. */
  struct {
    const char *body, *part;
    int code;
  } cases[] = {
      {"{\"scope\":\"MSFT\",\"kind\":\"mint\",\"paused\":true,\"reason\":\"x\"}", "\"scope\"",
       ERR_API_FIELD},
      {"{\"scope\":\"global\",\"kind\":\"burn\",\"paused\":true,\"reason\":\"x\"}", "\"kind\"",
       ERR_API_FIELD},
      {"{\"scope\":\"global\",\"kind\":\"mint\",\"paused\":\"yes\",\"reason\":\"x\"}", "\"paused\"",
       ERR_API_FIELD},
      {"{\"scope\":\"global\",\"kind\":\"mint\",\"paused\":true}", "\"reason\"", ERR_API_FIELD},
      {"{\"scope\":\"global\",\"kind\":\"mint\",\"paused\":true,\"reason\":\"\"}", "\"reason\"",
       ERR_API_FIELD},
      {"{\"scope\":\"global\",\"kind\":\"mint\",\"paused\":true,\"reason\":\"x\",\"until\":1}",
       "\"until\"", ERR_API_UNKNOWN_FIELD},
  };
  long long n_audit = tl_count(&f->s, "audit_log");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tl_call(&f->s, "POST", "/v1/admin/pauses", f->admin, "p-bad", cases[i].body, &r);
    tl_expect_error(&r, 400, cases[i].code, cases[i].part);
    tl_reply_free(&r);
  }
  assert_int_equal(tl_count(&f->s, "audit_log"), n_audit);
  assert_int_equal(tl_count(&f->s, "pauses"), 3);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_get_list), cmocka_unit_test(test_bad_bodies_change_nothing),
      cmocka_unit_test(test_update),          cmocka_unit_test(test_roles),
      cmocka_unit_test(test_pauses),
  };
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || sodium_init() < 0)
    return 1;
  int rc = cmocka_run_group_tests(tests, setup, tl_fx_free);
  curl_global_cleanup();
  return rc;
}
