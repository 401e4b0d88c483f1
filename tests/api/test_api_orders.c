/*
 * Orders over real HTTP (api/api_orders*.c, api_order_*.c): a mint and a
 * redeem created with their exact JSON, read back by the roles that may
 * (another AP gets 404), their events, the list with its filters and
 * cursor; a replayed Idempotency-Key (same body: the stored reply; other
 * body: 409); every wrong role; malformed, oversized, mistyped,
 * negative, zero, over-precise, overflowing and unknown fields, SQL
 * metacharacters; refusals of the rules (instrument, wallet, size,
 * pause, hours, signature) -- each a clear 4xx with nothing changed; and
 * a signed instruction.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tests/api/api_orders_fx.h"

static const char mint_body[] = "{\"symbol\":\"AAPL\",\"quantity\":\"10\",\"limit_price\":"
                                "\"200.123456\",\"wallet\":\"" AFX_W1 "\",\"client_ref\":\"r1\"}";

/* The exact JSON of the fixture's mint @id in awaiting_cash (times from @o). */
static void mint_json(char *out, size_t size, yajl_val o, const char *client_ref)
{
  snprintf(out, size,
           "{\"id\":%lld,\"kind\":\"mint\",\"state\":\"awaiting_cash\",\"state_since\":\"%s\","
           "\"ap\":%lld,\"symbol\":\"AAPL\",\"token_symbol\":\"AAPLx\",\"isin\":\"US0378331005\","
           "\"wallet\":\"" AFX_W1 "\",\"quantity\":\"10.000000\","
           "\"token_amount\":\"10.000000000000000000\",\"multiplier\":\"1.000000000000000000\","
           "\"token_amount_displayed\":\"10.000000000000000000\",\"token_decimals\":18,"
           "\"limit_price\":\"200.123456\",\"mint_policy\":\"at_settlement\",\"burn_policy\":null,"
           "\"fee_flat\":\"5.00\",\"fee_rate\":\"0.002500\",\"cash_required\":\"2011.25\","
           "\"cash_funded\":\"0.00\",\"filled_qty\":\"0.000000\",\"fill_cash\":\"0.00\","
           "\"settled_qty\":\"0.000000\",\"settled_cash\":\"0.00\",\"fee\":\"0.00\","
           "\"cash_paid\":\"0.00\",\"cash_due\":\"0.00\",\"tokens_done\":\"0.000000000000000000\","
           "\"session_date\":\"2025-07-01\",\"cash_deadline\":\"2025-07-01T19:30:00.000Z\","
           "\"cancel_requested\":false,\"attention\":null,\"client_ref\":%s,\"signed\":false,"
           "\"signing_key\":null,\"created\":\"%s\",\"updated\":\"%s\"}",
           tl_int(o, "id", NULL, NULL), tl_str(o, "state_since", NULL, NULL), (long long)afx.ap_id,
           client_ref, tl_str(o, "created", NULL, NULL), tl_str(o, "updated", NULL, NULL));
}

/* The "order" member of a reply as text (re-serialised members in order): the body itself. */
static void expect_order_reply(const struct tl_reply *r, long status, const char *client_ref)
{
  char want[4096];
  if (r->status != status)
    fail_msg("want %ld, got %ld: %s", status, r->status, r->body);
  yajl_val v = tl_json(r);
  yajl_val o = tl_get(v, "order", NULL, NULL);
  mint_json(want, sizeof want - 16, o, client_ref);
  char full[4200];
  snprintf(full, sizeof full, "{\"order\":%s}", want);
  assert_string_equal(r->body, full);
  assert_memory_equal(tl_str(o, "created", NULL, NULL), "2025-07-01T18:0", 15);
  yajl_tree_free(v);
}

static void test_mint(void **state)
{
  (void)state;
  struct tl_reply r, r2;
  char path[64];
  tl_call(&afx.s, "POST", "/v1/orders/mint", afx.ap, "m1", mint_body, &r);
  expect_order_reply(&r, 201, "\"r1\"");
  yajl_val v = tl_json(&r);
  long long id = tl_int(v, "order", "id", NULL);
  yajl_tree_free(v);
  /* Replay: the stored reply; another body under the key: 409, nothing changed. */
  tl_call(&afx.s, "POST", "/v1/orders/mint", afx.ap, "m1", mint_body, &r2);
  assert_int_equal(r2.status, 201);
  assert_string_equal(r2.replayed, "true");
  assert_string_equal(r2.body, r.body);
  tl_reply_free(&r2);
  long long rows = afx_rows();
  tl_call(&afx.s, "POST", "/v1/orders/mint", afx.ap, "m1",
          "{\"symbol\":\"AAPL\",\"quantity\":\"11\",\"limit_price\":\"200\",\"wallet\":\"" AFX_W1
          "\"}",
          &r2);
  tl_expect_error(&r2, 409, ERR_API_IDEMPOTENCY_CONFLICT, NULL);
  tl_reply_free(&r2);
  assert_int_equal(afx_rows(), rows);
  assert_int_equal(afx_int("SELECT count(*) FROM orders"), 1);
  /* Read back by the AP, the admin and the auditor: the same order. */
  snprintf(path, sizeof path, "/v1/orders/%lld", id);
  const char *readers[] = {afx.ap, afx.admin, afx.auditor};
  for (int i = 0; i < 3; i++) {
    tl_call(&afx.s, "GET", path, readers[i], NULL, NULL, &r2);
    expect_order_reply(&r2, 200, "\"r1\"");
    tl_reply_free(&r2);
  }
  /* Another AP: as if there were no such order. */
  tl_call(&afx.s, "GET", path, afx.ap2, NULL, NULL, &r2);
  tl_expect_error(&r2, 404, ERR_ORDER_NOT_FOUND, NULL);
  tl_reply_free(&r2);
  tl_call(&afx.s, "GET", "/v1/orders/999999", afx.admin, NULL, NULL, &r2);
  tl_expect_error(&r2, 404, ERR_ORDER_NOT_FOUND, NULL);
  tl_reply_free(&r2);
  tl_call(&afx.s, "GET", "/v1/orders/01", afx.admin, NULL, NULL, &r2);
  tl_expect_error(&r2, 404, ERR_ORDER_NOT_FOUND, NULL);
  tl_reply_free(&r2);
  tl_reply_free(&r);
}

static void test_events(void **state)
{
  (void)state;
  struct tl_reply r;
  char path[64], want[2048];
  int64_t id = afx_mint("e1");
  snprintf(path, sizeof path, "/v1/orders/%lld/events", (long long)id);
  tl_call(&afx.s, "GET", path, afx.ap, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  yajl_val v = tl_json(&r);
  yajl_val items = tl_get(v, "items", NULL, NULL);
  assert_int_equal(YAJL_GET_ARRAY(items)->len, 3);
  long long e1 = tl_int(YAJL_GET_ARRAY(items)->values[0], "id", NULL, NULL);
  const char *at = tl_str(YAJL_GET_ARRAY(items)->values[0], "at", NULL, NULL);
  char atc[32];
  util_strlcpy(atc, at, sizeof atc);
  const char *at2 = tl_str(YAJL_GET_ARRAY(items)->values[1], "at", NULL, NULL);
  const char *at3 = tl_str(YAJL_GET_ARRAY(items)->values[2], "at", NULL, NULL);
  snprintf(want, sizeof want,
           "{\"items\":[{\"id\":%lld,\"seq\":1,\"from_state\":null,\"to_state\":\"requested\","
           "\"actor\":\"api:%lld\",\"detail\":{\"kind\": \"mint\", \"signed\": false, \"symbol\": "
           "\"AAPL\", \"wallet\": \"" AFX_W1 "\", \"quantity\": \"10.000000\", \"client_ref\": "
           "null, \"limit_price\": \"200.123456\"},\"at\":\"%s\"},{\"id\":%lld,\"seq\":2,"
           "\"from_state\":\"requested\",\"to_state\":\"validated\",\"actor\":\"api:%lld\","
           "\"detail\":{\"in_hours\": true, \"session_date\": \"2025-07-01\", "
           "\"token_amount\": \"10.000000000000000000\", \"cash_required\": \"2011.25\"},"
           "\"at\":\"%s\"},"
           "{\"id\":%lld,\"seq\":3,\"from_state\":\"validated\",\"to_state\":\"awaiting_cash\","
           "\"actor\":\"api:%lld\",\"detail\":{\"cash_required\": \"2011.25\", "
           "\"cash_deadline_ms\": 1751398200000},\"at\":\"%s\"}],\"next_cursor\":null}",
           e1, (long long)afx.ap_id, atc, e1 + 1, (long long)afx.ap_id, at2, e1 + 2,
           (long long)afx.ap_id, at3);
  assert_string_equal(r.body, want);
  yajl_tree_free(v);
  tl_reply_free(&r);
  /* Pages of 2: a cursor, then the last one. */
  char p2[128];
  snprintf(p2, sizeof p2, "%s?limit=2", path);
  tl_call(&afx.s, "GET", p2, afx.auditor, NULL, NULL, &r);
  v = tl_json(&r);
  assert_int_equal(YAJL_GET_ARRAY(tl_get(v, "items", NULL, NULL))->len, 2);
  snprintf(p2, sizeof p2, "%s?limit=2&cursor=%s", path, tl_str(v, "next_cursor", NULL, NULL));
  yajl_tree_free(v);
  tl_reply_free(&r);
  tl_call(&afx.s, "GET", p2, afx.admin, NULL, NULL, &r);
  v = tl_json(&r);
  assert_int_equal(YAJL_GET_ARRAY(tl_get(v, "items", NULL, NULL))->len, 1);
  assert_int_equal(
      tl_int(YAJL_GET_ARRAY(tl_get(v, "items", NULL, NULL))->values[0], "seq", NULL, NULL), 3);
  assert_true(YAJL_IS_NULL(tl_get(v, "next_cursor", NULL, NULL)));
  yajl_tree_free(v);
  tl_reply_free(&r);
  /* Another AP's order: 404; a bad cursor: 400. */
  tl_call(&afx.s, "GET", path, afx.ap2, NULL, NULL, &r);
  tl_expect_error(&r, 404, ERR_ORDER_NOT_FOUND, NULL);
  tl_reply_free(&r);
  snprintf(p2, sizeof p2, "%s?cursor=abc", path);
  tl_call(&afx.s, "GET", p2, afx.admin, NULL, NULL, &r);
  tl_expect_error(&r, 400, ERR_API_BAD_CURSOR, NULL);
  tl_reply_free(&r);
}

static void test_redeem(void **state)
{
  (void)state;
  struct tl_reply r;
  /* By the token symbol, TSLA: 10 / multiplier 3 at 6 decimals; upper-case hex wallet. */
  tl_call(&afx.s, "POST", "/v1/orders/redeem", afx.ap2, "r1",
          "{\"symbol\":\"TSLAx\",\"quantity\":\"10\",\"wallet\":"
          "\"0X2222222222222222222222222222222222222222\"}",
          &r);
  /* "0X" is not "0x": refused as a field. */
  tl_expect_error(&r, 400, ERR_API_FIELD, "wallet");
  tl_reply_free(&r);
  tl_call(&afx.s, "POST", "/v1/orders/redeem", afx.ap2, "r2",
          "{\"symbol\":\"TSLAx\",\"quantity\":\"10\",\"wallet\":"
          "\"0x2222222222222222222222222222222222222222\",\"limit_price\":\"250.5\"}",
          &r);
  assert_int_equal(r.status, 201);
  yajl_val v = tl_json(&r);
  assert_string_equal(tl_str(v, "order", "kind", NULL), "redeem");
  assert_string_equal(tl_str(v, "order", "state", NULL), "awaiting_tokens");
  assert_string_equal(tl_str(v, "order", "symbol", NULL), "TSLA");
  assert_string_equal(tl_str(v, "order", "token_amount", NULL), "3.333333000000000000");
  assert_string_equal(tl_str(v, "order", "multiplier", NULL), "3.000000000000000000");
  assert_string_equal(tl_str(v, "order", "token_amount_displayed", NULL), "9.999999000000000000");
  assert_string_equal(tl_str(v, "order", "quantity", NULL), "10.000000");
  assert_string_equal(tl_str(v, "order", "limit_price", NULL), "250.500000");
  assert_string_equal(tl_str(v, "order", "burn_policy", NULL), "at_payout");
  assert_true(YAJL_IS_NULL(tl_get(v, "order", "mint_policy", NULL)));
  assert_true(YAJL_IS_NULL(tl_get(v, "order", "cash_deadline", NULL)));
  assert_string_equal(tl_str(v, "order", "cash_required", NULL), "0.00");
  assert_string_equal(tl_str(v, "order", "cash_due", NULL), "0.00");
  yajl_tree_free(v);
  tl_reply_free(&r);
  /* A market redeem. */
  int64_t id = afx_redeem("r3");
  char path[64];
  snprintf(path, sizeof path, "/v1/orders/%lld", (long long)id);
  tl_call(&afx.s, "GET", path, afx.ap, NULL, NULL, &r);
  v = tl_json(&r);
  assert_true(YAJL_IS_NULL(tl_get(v, "order", "limit_price", NULL)));
  assert_string_equal(tl_str(v, "order", "burn_policy", NULL), "on_receipt");
  yajl_tree_free(v);
  tl_reply_free(&r);
}

static void test_roles(void **state)
{
  (void)state;
  struct tl_reply r;
  int64_t id = afx_mint("x1");
  char p[128];
  const char *mb = mint_body;
  const char *rb = "{\"symbol\":\"AAPL\",\"quantity\":\"1\",\"wallet\":\"" AFX_W1 "\"}";
  /* Creation: the AP only. */
  afx_post_refused("/v1/orders/mint", afx.admin, "k1", mb, 403, ERR_API_FORBIDDEN, NULL);
  afx_post_refused("/v1/orders/mint", afx.auditor, "k1", mb, 403, ERR_API_FORBIDDEN, NULL);
  afx_post_refused("/v1/orders/redeem", afx.admin, "k1", rb, 403, ERR_API_FORBIDDEN, NULL);
  afx_post_refused("/v1/orders/redeem", afx.auditor, "k1", rb, 403, ERR_API_FORBIDDEN, NULL);
  afx_post_refused("/v1/orders/mint", NULL, "k1", mb, 401, ERR_API_UNAUTHORIZED, NULL);
  afx_post_refused("/v1/orders/mint", "bsk_0000000000000000_xxxx", "k1", mb, 401,
                   ERR_API_UNAUTHORIZED, NULL);
  /* Cancel: the AP (own) and the admin; not the auditor; another AP: 404. */
  snprintf(p, sizeof p, "/v1/orders/%lld/cancel", (long long)id);
  afx_post_refused(p, afx.auditor, "k2", "{}", 403, ERR_API_FORBIDDEN, NULL);
  afx_post_refused(p, afx.ap2, "k2", "{}", 404, ERR_ORDER_NOT_FOUND, NULL);
  afx_post_refused(p, NULL, "k2", "{}", 401, ERR_API_UNAUTHORIZED, NULL);
  /* Cash: the admin only. */
  snprintf(p, sizeof p, "/v1/admin/orders/%lld/funding", (long long)id);
  const char *fb = "{\"amount\":\"10\",\"bank_ref\":\"B1\"}";
  afx_post_refused(p, afx.ap, "k3", fb, 403, ERR_API_FORBIDDEN, NULL);
  afx_post_refused(p, afx.ap2, "k3", fb, 403, ERR_API_FORBIDDEN, NULL);
  afx_post_refused(p, afx.auditor, "k3", fb, 403, ERR_API_FORBIDDEN, NULL);
  snprintf(p, sizeof p, "/v1/admin/orders/%lld/payouts", (long long)id);
  const char *pb = "{\"kind\":\"refund\",\"amount\":\"10\",\"bank_ref\":\"B1\"}";
  afx_post_refused(p, afx.ap, "k4", pb, 403, ERR_API_FORBIDDEN, NULL);
  afx_post_refused(p, afx.auditor, "k4", pb, 403, ERR_API_FORBIDDEN, NULL);
  /* Reads: every role; no key 401. */
  for (int i = 0; i < 3; i++) {
    if (i == 0)
      snprintf(p, sizeof p, "/v1/orders");
    else
      snprintf(p, sizeof p, "/v1/orders/%lld%s", (long long)id, i == 2 ? "/events" : "");
    tl_call(&afx.s, "GET", p, NULL, NULL, NULL, &r);
    tl_expect_error(&r, 401, ERR_API_UNAUTHORIZED, NULL);
    tl_reply_free(&r);
    const char *keys[] = {afx.ap, afx.admin, afx.auditor};
    for (int k = 0; k < 3; k++) {
      tl_call(&afx.s, "GET", p, keys[k], NULL, NULL, &r);
      assert_int_equal(r.status, 200);
      tl_reply_free(&r);
    }
  }
  /* Wrong methods. */
  tl_call(&afx.s, "GET", "/v1/orders/mint", afx.ap, NULL, NULL, &r);
  assert_true(r.status == 404 || r.status == 405);
  tl_reply_free(&r);
  assert_int_equal(afx_int("SELECT count(*) FROM orders"), 1);
}

static void test_bad_input(void **state)
{
  (void)state;
  const char *m = "/v1/orders/mint";
  char big[70000];
  afx_post_refused(m, afx.ap, "b1", "{\"symbol\":\"AAPL\",", 400, ERR_API_BAD_JSON, NULL);
  afx_post_refused(m, afx.ap, "b1", "[1,2]", 400, ERR_API_BAD_JSON, NULL);
  afx_post_refused(m, afx.ap, "b1", "", 400, ERR_API_FIELD, "symbol");
  memset(big, ' ', sizeof big - 1);
  big[0] = '{';
  big[sizeof big - 2] = '}';
  big[sizeof big - 1] = '\0';
  afx_post_refused(m, afx.ap, "b1", big, 413, ERR_API_BODY_TOO_LARGE, NULL);
  /* Amounts: a number, negative, zero, over-precise, overflowing, exponent. */
  static const char *const qtys[] = {"10",
                                     "\"-1\"",
                                     "\"0\"",
                                     "\"1.0000001\"",
                                     "\"1000000000000000000000000000000000000000000\"",
                                     "\"1e3\"",
                                     "\"+5\"",
                                     "\"05\"",
                                     "\"NaN\"",
                                     "null"};
  for (size_t i = 0; i < sizeof qtys / sizeof qtys[0]; i++) {
    char b[512];
    snprintf(b, sizeof b,
             "{\"symbol\":\"AAPL\",\"quantity\":%s,\"limit_price\":\"200\",\"wallet\":\"" AFX_W1
             "\"}",
             qtys[i]);
    afx_post_refused(m, afx.ap, "b2", b, 400, ERR_API_FIELD, "quantity");
  }
  static const char *const prices[] = {"\"-200\"", "\"0\"", "\"200.0000001\"", "200", "\"\""};
  for (size_t i = 0; i < sizeof prices / sizeof prices[0]; i++) {
    char b[512];
    snprintf(b, sizeof b,
             "{\"symbol\":\"AAPL\",\"quantity\":\"1\",\"limit_price\":%s,\"wallet\":\"" AFX_W1
             "\"}",
             prices[i]);
    afx_post_refused(m, afx.ap, "b3", b, 400, ERR_API_FIELD, "limit_price");
  }
  /* A mint without a limit price; unknown and duplicate members; bad wallet and symbol. */
  afx_post_refused(m, afx.ap, "b4",
                   "{\"symbol\":\"AAPL\",\"quantity\":\"1\",\"wallet\":\"" AFX_W1 "\"}", 400,
                   ERR_API_FIELD, "limit_price");
  afx_post_refused(
      m, afx.ap, "b4",
      "{\"symbol\":\"AAPL\",\"quantity\":\"1\",\"limit_price\":\"2\",\"wallet\":\"" AFX_W1
      "\",\"ap\":7}",
      400, ERR_API_UNKNOWN_FIELD, "ap");
  afx_post_refused(
      m, afx.ap, "b4",
      "{\"symbol\":\"AAPL\",\"symbol\":\"AAPL\",\"quantity\":\"1\",\"limit_price\":\"2\","
      "\"wallet\":\"" AFX_W1 "\"}",
      400, ERR_API_BAD_JSON, NULL);
  afx_post_refused(
      m, afx.ap, "b4",
      "{\"symbol\":\"AAPL\",\"quantity\":\"1\",\"limit_price\":\"2\",\"wallet\":\"0x12\"}", 400,
      ERR_API_FIELD, "wallet");
  afx_post_refused(
      m, afx.ap, "b4",
      "{\"symbol\":\"AAPL'; DROP TABLE orders; --\",\"quantity\":\"1\",\"limit_price\":"
      "\"2\",\"wallet\":\"" AFX_W1 "\"}",
      400, ERR_API_FIELD, "symbol");
  afx_post_refused(
      m, afx.ap, "b4",
      "{\"symbol\":\"AAPL\",\"quantity\":\"1\",\"limit_price\":\"2\",\"wallet\":\"" AFX_W1
      "\",\"client_ref\":\"12345678901234567890123456789012345678901234567890123456789"
      "012345\"}",
      400, ERR_API_FIELD, "client_ref");
  afx_post_refused(
      m, afx.ap, "b4",
      "{\"symbol\":\"AAPL\",\"quantity\":\"1\",\"limit_price\":\"2\",\"wallet\":\"" AFX_W1
      "\",\"client_ref\":\"a\\u0001b\"}",
      400, ERR_API_FIELD, "client_ref");
  /* No Idempotency-Key. */
  struct tl_reply r;
  long long rows = afx_rows();
  tl_call(&afx.s, "POST", m, afx.ap, NULL, mint_body, &r);
  tl_expect_error(&r, 400, ERR_API_IDEMPOTENCY_REQUIRED, NULL);
  tl_reply_free(&r);
  assert_int_equal(afx_rows(), rows);
  /* SQL metacharacters in client_ref are kept as they are. */
  tl_call(&afx.s, "POST", m, afx.ap, "b5",
          "{\"symbol\":\"AAPL\",\"quantity\":\"1\",\"limit_price\":\"2\",\"wallet\":\"" AFX_W1
          "\",\"client_ref\":\"x'); DELETE FROM orders; --\\\"\"}",
          &r);
  assert_int_equal(r.status, 201);
  yajl_val v = tl_json(&r);
  assert_string_equal(tl_str(v, "order", "client_ref", NULL), "x'); DELETE FROM orders; --\"");
  yajl_tree_free(v);
  tl_reply_free(&r);
  assert_int_equal(afx_int("SELECT count(*) FROM orders"), 1);
  /* GET filters and paging. */
  static const char *const bad_gets[] = {"/v1/orders?state=open",   "/v1/orders?kind=burn",
                                         "/v1/orders?limit=0",      "/v1/orders?limit=501",
                                         "/v1/orders?symbol=A%27B", "/v1/orders?ap=0",
                                         "/v1/orders?ap=x",         "/v1/orders?cursor=%3D%3D"};
  for (size_t i = 0; i < sizeof bad_gets / sizeof bad_gets[0]; i++) {
    tl_call(&afx.s, "GET", bad_gets[i], afx.admin, NULL, NULL, &r);
    if (r.status != 400)
      fail_msg("%s: %ld %s", bad_gets[i], r.status, r.body);
    tl_reply_free(&r);
  }
}

static void test_rules(void **state)
{
  (void)state;
  const char *m = "/v1/orders/mint";
  afx_post_refused(
      m, afx.ap, "u1",
      "{\"symbol\":\"MSFT\",\"quantity\":\"1\",\"limit_price\":\"2\",\"wallet\":\"" AFX_W1 "\"}",
      404, ERR_ORDER_INSTRUMENT, NULL);
  afx_post_refused(
      m, afx.ap, "u1",
      "{\"symbol\":\"AAPL\",\"quantity\":\"1\",\"limit_price\":\"2\",\"wallet\":\"" AFX_W2 "\"}",
      422, ERR_ORDER_WALLET, NULL);
  afx_post_refused(m, afx.ap, "u1",
                   "{\"symbol\":\"AAPL\",\"quantity\":\"1000.5\",\"limit_price\":\"2\",\"wallet\":"
                   "\"" AFX_W1 "\"}",
                   422, ERR_ORDER_SIZE, NULL);
  afx_post_refused(m, afx.ap, "u1",
                   "{\"symbol\":\"AAPL\",\"quantity\":\"10\",\"limit_price\":"
                   "\"999999999999999999\",\"wallet\":\"" AFX_W1 "\"}",
                   422, ERR_ORDER_CASH, NULL);
  afx_sql("INSERT INTO pauses (instrument, kind, paused, reason) VALUES (NULL, 'mint', true, 'x')");
  afx_post_refused(m, afx.ap, "u1", mint_body, 409, ERR_ORDER_PAUSED, NULL);
  afx_sql("UPDATE pauses SET paused = false");
  /* 16:30 New York: AAPL refuses, TSLA queues for Wednesday. */
  afx_sql("UPDATE clock SET anchor_wall = clock_timestamp(), anchor_virtual = "
          "'2025-07-01T20:30:00Z'");
  afx_post_refused(m, afx.ap, "u1", mint_body, 422, ERR_ORDER_HOURS, NULL);
  struct tl_reply r;
  tl_call(&afx.s, "POST", m, afx.ap, "u1",
          "{\"symbol\":\"TSLA\",\"quantity\":\"1\",\"limit_price\":\"2\",\"wallet\":\"" AFX_W1
          "\"}",
          &r);
  assert_int_equal(r.status, 201);
  yajl_val v = tl_json(&r);
  assert_string_equal(tl_str(v, "order", "session_date", NULL), "2025-07-02");
  assert_string_equal(tl_str(v, "order", "cash_deadline", NULL), "2025-07-02T19:45:00.000Z");
  /* 1 x 2 = 2.00 + ceil(0.002) = 2.01. */
  assert_string_equal(tl_str(v, "order", "cash_required", NULL), "2.01");
  yajl_tree_free(v);
  tl_reply_free(&r);
}

static void test_list(void **state)
{
  (void)state;
  struct tl_reply r;
  int64_t m1 = afx_mint("l1");
  int64_t r1 = afx_redeem("l2");
  tl_call(&afx.s, "POST", "/v1/orders/mint", afx.ap2, "l3",
          "{\"symbol\":\"TSLA\",\"quantity\":\"1\",\"limit_price\":\"2\",\"wallet\":\"" AFX_W2
          "\"}",
          &r);
  assert_int_equal(r.status, 201);
  tl_reply_free(&r);
  struct {
    const char *path, *key;
    int n;
  } cases[] = {
      {"/v1/orders", afx.ap, 2},
      {"/v1/orders", afx.ap2, 1},
      {"/v1/orders", afx.admin, 3},
      {"/v1/orders", afx.auditor, 3},
      {"/v1/orders?kind=redeem", afx.admin, 1},
      {"/v1/orders?state=awaiting_cash", afx.admin, 2},
      {"/v1/orders?symbol=AAPLx", afx.admin, 2},
      {"/v1/orders?symbol=TSLA&kind=mint", afx.ap, 0},
      {"/v1/orders?state=cancelled", afx.ap, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tl_call(&afx.s, "GET", cases[i].path, cases[i].key, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    yajl_val v = tl_json(&r);
    if ((int)YAJL_GET_ARRAY(tl_get(v, "items", NULL, NULL))->len != cases[i].n)
      fail_msg("%s: want %d items: %s", cases[i].path, cases[i].n, r.body);
    yajl_tree_free(v);
    tl_reply_free(&r);
  }
  char p[128];
  snprintf(p, sizeof p, "/v1/orders?ap=%lld", (long long)afx.ap2_id);
  tl_call(&afx.s, "GET", p, afx.ap, NULL, NULL, &r);
  tl_expect_error(&r, 403, ERR_API_FORBIDDEN, "ap");
  tl_reply_free(&r);
  tl_call(&afx.s, "GET", p, afx.auditor, NULL, NULL, &r);
  yajl_val v = tl_json(&r);
  assert_int_equal(YAJL_GET_ARRAY(tl_get(v, "items", NULL, NULL))->len, 1);
  yajl_tree_free(v);
  tl_reply_free(&r);
  /* Pages of one: m1, then r1 (the AP's own), then the end. */
  tl_call(&afx.s, "GET", "/v1/orders?limit=1", afx.ap, NULL, NULL, &r);
  v = tl_json(&r);
  yajl_val items = tl_get(v, "items", NULL, NULL);
  assert_int_equal(tl_int(YAJL_GET_ARRAY(items)->values[0], "id", NULL, NULL), m1);
  snprintf(p, sizeof p, "/v1/orders?limit=1&cursor=%s", tl_str(v, "next_cursor", NULL, NULL));
  yajl_tree_free(v);
  tl_reply_free(&r);
  tl_call(&afx.s, "GET", p, afx.ap, NULL, NULL, &r);
  v = tl_json(&r);
  items = tl_get(v, "items", NULL, NULL);
  assert_int_equal(tl_int(YAJL_GET_ARRAY(items)->values[0], "id", NULL, NULL), r1);
  assert_true(YAJL_IS_NULL(tl_get(v, "next_cursor", NULL, NULL)));
  yajl_tree_free(v);
  tl_reply_free(&r);
}

static void test_signed(void **state)
{
  (void)state;
  unsigned char pk[32], sk[64], sig[64];
  char hex[65], b64[100], header[300], payload[1024];
  struct tl_reply r;
  crypto_sign_keypair(pk, sk);
  sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
  long long key = afx_int("INSERT INTO ap_signing_keys (ap, public_key) VALUES (%lld, '\\x%s')"
                          " RETURNING id",
                          (long long)afx.ap_id, hex);
  /* Unsigned while the AP has a key: 401, nothing stored. */
  afx_post_refused("/v1/orders/mint", afx.ap, "s1", mint_body, 401, ERR_ORDER_SIGNATURE, NULL);
  /* Signed over another idempotency key: 401. */
  int n = snprintf(payload, sizeof payload, "backstock-order-v1\nPOST\n/v1/orders/mint\n%s\n%s",
                   "s0", mint_body);
  crypto_sign_detached(sig, NULL, (unsigned char *)payload, (unsigned long long)n, sk);
  sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
  snprintf(header, sizeof header, "X-Backstock-Signature: keyid=%lld,sig=%s", key, b64);
  long long rows = afx_rows();
  afx_call("POST", "/v1/orders/mint", afx.ap, "s2", mint_body, header, &r);
  tl_expect_error(&r, 401, ERR_ORDER_SIGNATURE, NULL);
  tl_reply_free(&r);
  assert_int_equal(afx_rows(), rows);
  /* Signed right: 201, the order signed, the payload stored as signed. */
  n = snprintf(payload, sizeof payload, "backstock-order-v1\nPOST\n/v1/orders/mint\n%s\n%s", "s3",
               mint_body);
  crypto_sign_detached(sig, NULL, (unsigned char *)payload, (unsigned long long)n, sk);
  sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
  snprintf(header, sizeof header, "X-Backstock-Signature: keyid=%lld,sig=%s", key, b64);
  afx_call("POST", "/v1/orders/mint", afx.ap, "s3", mint_body, header, &r);
  assert_int_equal(r.status, 201);
  yajl_val v = tl_json(&r);
  assert_true(YAJL_IS_TRUE(tl_get(v, "order", "signed", NULL)));
  assert_int_equal(tl_int(v, "order", "signing_key", NULL), key);
  long long id = tl_int(v, "order", "id", NULL);
  yajl_tree_free(v);
  tl_reply_free(&r);
  assert_int_equal(afx_int("SELECT count(*) FROM orders WHERE id = %lld AND signed_payload ="
                           " convert_to('%s', 'UTF8') AND octet_length(signed_payload) = %d",
                           id, payload, n),
                   1);
  /* A malformed header: 401. */
  afx_call("POST", "/v1/orders/mint", afx.ap, "s4", mint_body,
           "X-Backstock-Signature: keyid=1,sig=abc", &r);
  tl_expect_error(&r, 401, ERR_ORDER_SIGNATURE, NULL);
  tl_reply_free(&r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_mint, afx_setup, afx_teardown),
      cmocka_unit_test_setup_teardown(test_events, afx_setup, afx_teardown),
      cmocka_unit_test_setup_teardown(test_redeem, afx_setup, afx_teardown),
      cmocka_unit_test_setup_teardown(test_roles, afx_setup, afx_teardown),
      cmocka_unit_test_setup_teardown(test_bad_input, afx_setup, afx_teardown),
      cmocka_unit_test_setup_teardown(test_rules, afx_setup, afx_teardown),
      cmocka_unit_test_setup_teardown(test_list, afx_setup, afx_teardown),
      cmocka_unit_test_setup_teardown(test_signed, afx_setup, afx_teardown),
  };
  return cmocka_run_group_tests_name("api_orders", tests, NULL, NULL);
}
