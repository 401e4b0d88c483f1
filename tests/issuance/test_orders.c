/*
 * Creating orders (issuance/issuance_orders.c) on a real PostgreSQL: the
 * exact figures of a mint and a redeem (token amount rounded down at the
 * token's decimals, cash_required with its fee, session date and cash
 * deadline) and their three events; every refusal in its documented
 * order, each leaving no row behind; pauses, a corporate-action window,
 * limits, hours (refused or queued, on the moved clock); a signed
 * instruction stored with its key, signature and payload; and the list
 * with its filters and cursor.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tests/issuance/orders_fx.h"

/* order_create() must refuse @rq with @want and leave every table as it was. */
static void refused(const struct order_request *rq, int want)
{
  long long before = fx_rows();
  int64_t id = -1;
  int rc = order_create(fx.c, rq, &id);
  if (rc != want)
    fail_msg("want %s, got %s", err_name(want), rc == 0 ? "0" : err_name(rc));
  assert_int_equal(id, -1);
  assert_int_equal(fx_rows(), before);
}

static void test_mint_figures(void **state)
{
  (void)state;
  char sql[256];
  int64_t id = fx_mint();
  struct order o = fx_get(id);
  assert_int_equal(o.kind, ORDER_MINT);
  assert_int_equal(o.ap, fx.ap1);
  assert_string_equal(o.symbol, "AAPL");
  assert_string_equal(o.token_symbol, "AAPLx");
  assert_string_equal(o.wallet, FX_WALLET1);
  assert_string_equal(fx_fmt(o.quantity), "10.000000");
  assert_string_equal(fx_fmt(o.limit_price), "200.123456");
  assert_string_equal(fx_fmt(o.token_amount), "10.000000000000000000");
  assert_string_equal(fx_fmt(o.multiplier), "1.000000000000000000");
  /* 10 x 200.123456 = 2001.23456 -> 2001.24; fee 5.00 + ceil(5.0031) = 10.01. */
  assert_string_equal(fx_fmt(o.cash_required), "2011.25");
  assert_string_equal(fx_fmt(o.fee_flat), "5.00");
  assert_string_equal(fx_fmt(o.fee_rate), "0.002500");
  assert_false(o.mint_at_fill);
  assert_int_equal(o.state, ORDER_AWAITING_CASH);
  assert_true(o.state_since_ms >= FX_T0 && o.state_since_ms < FX_T0 + 60000);
  int32_t jul1;
  assert_int_equal(cal_day(2025, 7, 1, &jul1), 0);
  assert_int_equal(o.session_date, jul1);
  assert_int_equal(o.cash_deadline_ms, 1751398200000LL); /* 15:30 EDT */
  assert_int_equal(o.signing_key, 0);
  assert_false(o.cancel_requested);
  assert_string_equal(fx_events(id), "->requested requested>validated validated>awaiting_cash");
  snprintf(sql, sizeof sql,
           "SELECT string_agg(actor, ',' ORDER BY seq) FROM order_events WHERE order_id = %lld",
           (long long)id);
  char want_actor[128];
  snprintf(want_actor, sizeof want_actor, "api:%lld,api:%lld,api:%lld", (long long)fx.ap1,
           (long long)fx.ap1, (long long)fx.ap1);
  assert_string_equal(fx_text(sql), want_actor);
  snprintf(sql, sizeof sql,
           "SELECT detail->>'cash_required' || ' ' || (detail->>'session_date') FROM order_events"
           " WHERE order_id = %lld AND seq = 2",
           (long long)id);
  assert_string_equal(fx_text(sql), "2011.25 2025-07-01");
  snprintf(sql, sizeof sql,
           "SELECT detail::text FROM order_events WHERE order_id = %lld AND seq = 1",
           (long long)id);
  assert_string_equal(fx_text(sql),
                      "{\"kind\": \"mint\", \"signed\": false, \"symbol\": \"AAPL\", \"wallet\": "
                      "\"0x1111111111111111111111111111111111111111\", \"quantity\": "
                      "\"10.000000\", \"client_ref\": null, \"limit_price\": \"200.123456\"}");
  /* Nothing posted at creation. */
  assert_int_equal(fx_int("SELECT count(*) FROM books_postings"), 0);
}

static void test_redeem_figures(void **state)
{
  (void)state;
  /* TSLA: multiplier 3, 6 decimals: 10 / 3 = 3.333333 (down). By token symbol, any case of wallet.
   */
  struct order_request rq = fx_req(ORDER_REDEEM, fx.ap2, "TSLAx", "10", "250",
                                   "0x2222222222222222222222222222222222222222");
  rq.client_ref = "desk-7'; DROP TABLE orders; --";
  int64_t id = fx_create(&rq);
  struct order o = fx_get(id);
  assert_int_equal(o.kind, ORDER_REDEEM);
  assert_string_equal(o.symbol, "TSLA");
  assert_string_equal(fx_fmt(o.token_amount), "3.333333000000000000");
  assert_string_equal(fx_fmt(o.multiplier), "3.000000000000000000");
  assert_string_equal(fx_fmt(o.limit_price), "250.000000");
  assert_string_equal(fx_fmt(o.cash_required), "0.00");
  assert_false(o.burn_on_receipt);
  assert_int_equal(o.state, ORDER_AWAITING_TOKENS);
  assert_int_equal(o.cash_deadline_ms, 0);
  assert_string_equal(o.client_ref, "desk-7'; DROP TABLE orders; --");
  assert_string_equal(fx_events(id), "->requested requested>validated validated>awaiting_tokens");
  /* A market redeem: no limit. */
  struct order_request m = fx_req(ORDER_REDEEM, fx.ap1, "AAPL", "2.5", NULL, FX_WALLET1);
  o = fx_get(fx_create(&m));
  assert_false(o.has_limit);
  assert_string_equal(fx_fmt(o.token_amount), "2.500000000000000000");
  assert_true(o.burn_on_receipt);
}

static void test_refusals(void **state)
{
  (void)state;
  char sql[256];
  struct order_request rq;
  /* Shape. */
  rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "10", "200", "0x11");
  refused(&rq, -ERR_ORDER_WALLET);
  rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "10", "200", FX_WALLET1);
  rq.client_ref = "";
  refused(&rq, -ERR_INVALID_ARGUMENT);
  rq.client_ref = "bad\x01";
  refused(&rq, -ERR_INVALID_ARGUMENT);
  rq.client_ref = "\xff\xfe";
  refused(&rq, -ERR_INVALID_ARGUMENT);
  /* The AP: an admin, an auditor, a disabled AP, none. */
  rq = fx_req(ORDER_MINT, fx.admin, "AAPL", "10", "200", FX_WALLET1);
  refused(&rq, -ERR_API_FORBIDDEN);
  rq.ap = fx.auditor;
  refused(&rq, -ERR_API_FORBIDDEN);
  rq.ap = 999999;
  refused(&rq, -ERR_API_FORBIDDEN);
  /* Instrument. */
  rq = fx_req(ORDER_MINT, fx.ap1, "MSFT", "10", "200", FX_WALLET1);
  refused(&rq, -ERR_ORDER_INSTRUMENT);
  rq.symbol = "aapl";
  refused(&rq, -ERR_ORDER_INSTRUMENT);
  /* Wallet: another AP's, unknown, revoked. */
  rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "10", "200", FX_WALLET2);
  refused(&rq, -ERR_ORDER_WALLET);
  rq.wallet = "0x3333333333333333333333333333333333333333";
  refused(&rq, -ERR_ORDER_WALLET);
  ts_sql(fx.c, "UPDATE ap_wallets SET revoked_at = clock_now() WHERE address = '" FX_WALLET2 "'");
  rq = fx_req(ORDER_MINT, fx.ap2, "AAPL", "10", "200", FX_WALLET2);
  refused(&rq, -ERR_ORDER_WALLET);
  /* Size: below the minimum, above the maximum, finer than shares' scale, zero. */
  rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "0.999999", "200", FX_WALLET1);
  refused(&rq, -ERR_ORDER_SIZE);
  rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "1000.000001", "200", FX_WALLET1);
  refused(&rq, -ERR_ORDER_SIZE);
  rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "10", "200", FX_WALLET1);
  rq.quantity = fx_amt("10.0000001", 7);
  refused(&rq, -ERR_ORDER_SIZE);
  rq.quantity = fx_amt("0", 6);
  refused(&rq, -ERR_ORDER_SIZE);
  /* Price: a mint needs one; zero, finer than 6 places, too large, cash out of range. */
  rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "10", NULL, FX_WALLET1);
  refused(&rq, -ERR_ORDER_PRICE);
  rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "10", "0", FX_WALLET1);
  refused(&rq, -ERR_ORDER_PRICE);
  rq.limit_price = fx_amt("1.0000001", 7);
  refused(&rq, -ERR_ORDER_PRICE);
  rq.limit_price = fx_amt("1000000000000000000000000", 6);
  refused(&rq, -ERR_ORDER_PRICE);
  rq.limit_price = fx_amt("1000000000000000000", 6); /* 10 x 10^18 USD */
  refused(&rq, -ERR_ORDER_CASH);
  rq = fx_req(ORDER_REDEEM, fx.ap1, "AAPL", "10", "-1", FX_WALLET1);
  refused(&rq, -ERR_ORDER_PRICE);
  /* Pauses: the instrument's redeem pause stops redeems only; a global mint pause all mints. */
  snprintf(sql, sizeof sql,
           "INSERT INTO pauses (instrument, kind, paused, reason) VALUES (%lld, 'redeem', true,"
           " 'audit')",
           (long long)fx.aapl);
  ts_sql(fx.c, sql);
  rq = fx_req(ORDER_REDEEM, fx.ap1, "AAPL", "10", NULL, FX_WALLET1);
  refused(&rq, -ERR_ORDER_PAUSED);
  rq = fx_req(ORDER_REDEEM, fx.ap1, "TSLA", "10", NULL, FX_WALLET1);
  int64_t ok = fx_create(&rq);
  assert_true(ok > 0);
  ts_sql(fx.c, "INSERT INTO pauses (instrument, kind, paused, reason) VALUES (NULL, 'mint', true,"
               " 'all')");
  rq = fx_req(ORDER_MINT, fx.ap1, "TSLA", "10", "200", FX_WALLET1);
  refused(&rq, -ERR_ORDER_PAUSED);
  ts_sql(fx.c, "UPDATE pauses SET paused = false");
  /* A pause checked before the size: a paused, too small order is "paused". */
  ts_sql(fx.c, "UPDATE pauses SET paused = true WHERE instrument IS NULL");
  rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "0.1", "200", FX_WALLET1);
  refused(&rq, -ERR_ORDER_PAUSED);
  ts_sql(fx.c, "UPDATE pauses SET paused = false");
  /* Nothing of the refusals is left: one order, its three events. */
  assert_int_equal(fx_int("SELECT count(*) FROM orders"), 1);
  assert_int_equal(fx_int("SELECT count(*) FROM order_events"), 3);
}

static void test_corpact_window(void **state)
{
  (void)state;
  char sql[512];
  snprintf(sql, sizeof sql,
           "INSERT INTO corporate_actions (instrument, type, ratio_old, ratio_new, effective_at,"
           " window_start, window_end) VALUES (%lld, 'split', 1, 2, clock_now() + interval '1"
           " hour', clock_now() - interval '1 minute', clock_now() + interval '2 hours')",
           (long long)fx.aapl);
  ts_sql(fx.c, sql);
  struct order_request rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "10", "200", FX_WALLET1);
  refused(&rq, -ERR_ORDER_CORPACT);
  rq = fx_req(ORDER_REDEEM, fx.ap1, "AAPLx", "10", NULL, FX_WALLET1);
  refused(&rq, -ERR_ORDER_CORPACT);
  /* Another instrument is not concerned; a cancelled action pauses nothing. */
  rq = fx_req(ORDER_MINT, fx.ap1, "TSLA", "10", "200", FX_WALLET1);
  assert_true(fx_create(&rq) > 0);
  ts_sql(fx.c, "UPDATE corporate_actions SET status = 'cancelled'");
  rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "10", "200", FX_WALLET1);
  assert_true(fx_create(&rq) > 0);
}

static void test_limits(void **state)
{
  (void)state;
  char sql[512];
  snprintf(sql, sizeof sql,
           "INSERT INTO order_limits (instrument, ap, kind, window_seconds, max_qty) VALUES"
           " (%lld, %lld, 'mint', 3600, 15)",
           (long long)fx.aapl, (long long)fx.ap1);
  ts_sql(fx.c, sql);
  struct order_request rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "10", "200", FX_WALLET1);
  int64_t first = fx_create(&rq);
  rq.quantity = fx_amt("5.000001", 6);
  refused(&rq, -ERR_ORDER_LIMIT);
  rq.quantity = fx_amt("5", 6);
  assert_true(fx_create(&rq) > 0);
  /* Another AP and redeems are not limited; a cancelled order no longer counts. */
  rq = fx_req(ORDER_MINT, fx.ap2, "AAPL", "10", "200", FX_WALLET2);
  assert_true(fx_create(&rq) > 0);
  enum order_state to;
  char actor[32];
  snprintf(actor, sizeof actor, "api:%lld", (long long)fx.ap1);
  assert_int_equal(order_cancel(fx.c, first, actor, NULL, &to), 0);
  rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "10", "200", FX_WALLET1);
  assert_true(fx_create(&rq) > 0);
  /* An hour later the window is empty again. */
  fx_clock(FX_T0 + 3700000);
  rq.quantity = fx_amt("15", 6);
  assert_true(fx_create(&rq) > 0);
}

static void test_hours(void **state)
{
  (void)state;
  int32_t jul1, jul2;
  assert_int_equal(cal_day(2025, 7, 1, &jul1), 0);
  assert_int_equal(cal_day(2025, 7, 2, &jul2), 0);
  /* AAPL refuses out of hours: 09:00 and 15:30 New York. */
  fx_clock(1751374800000LL);
  struct order_request rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "10", "200", FX_WALLET1);
  refused(&rq, -ERR_ORDER_HOURS);
  /* TSLA queues: before the open, today's session (cutoff 15:45 EDT). */
  rq.symbol = "TSLA";
  struct order o = fx_get(fx_create(&rq));
  assert_int_equal(o.session_date, jul1);
  assert_int_equal(o.cash_deadline_ms, 1751399100000LL);
  assert_int_equal(o.state, ORDER_AWAITING_CASH);
  fx_clock(1751400000000LL); /* 16:00 EDT */
  rq.symbol = "AAPL";
  refused(&rq, -ERR_ORDER_HOURS);
  rq.symbol = "TSLA";
  o = fx_get(fx_create(&rq));
  assert_int_equal(o.session_date, jul2);
  assert_int_equal(o.cash_deadline_ms, 1751485500000LL);
  /* The validated event says it was out of hours. */
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT detail->>'in_hours' FROM order_events WHERE order_id = %lld AND seq = 2",
           (long long)o.id);
  assert_string_equal(fx_text(sql), "false");
  /* An extra closure stored in the database counts: Wednesday closed -> Thursday. */
  ts_sql(fx.c, "INSERT INTO market_closures (day, reason) VALUES ('2025-07-02', 'test')");
  o = fx_get(fx_create(&rq));
  int32_t jul3;
  assert_int_equal(cal_day(2025, 7, 3, &jul3), 0);
  assert_int_equal(o.session_date, jul3);
  /* A redeem has no cash deadline. */
  rq = fx_req(ORDER_REDEEM, fx.ap1, "TSLA", "1", NULL, FX_WALLET1);
  o = fx_get(fx_create(&rq));
  assert_int_equal(o.session_date, jul3);
  assert_int_equal(o.cash_deadline_ms, 0);
}

static void test_signed(void **state)
{
  (void)state;
  unsigned char pk[32], sk[64], sig[64];
  char sql[512], hex[65], header[ORDER_SIG_HEADER_MAX + 1], b64[100];
  assert_true(sodium_init() >= 0);
  crypto_sign_keypair(pk, sk);
  sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
  snprintf(sql, sizeof sql,
           "INSERT INTO ap_signing_keys (ap, public_key) VALUES (%lld, '\\x%s') RETURNING id",
           (long long)fx.ap1, hex);
  long long key = fx_int(sql);
  static const char payload[] = "backstock-order-v1\nPOST\n/v1/orders/mint\nk1\n{\"x\":1}";
  struct order_request rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "10", "200", FX_WALLET1);
  /* Unsigned while the AP has an active key: refused. */
  refused(&rq, -ERR_ORDER_SIGNATURE);
  rq.payload = (const unsigned char *)payload;
  rq.payload_len = sizeof payload - 1;
  crypto_sign_detached(sig, NULL, rq.payload, rq.payload_len, sk);
  sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
  snprintf(header, sizeof header, "keyid=%lld,sig=%s", key, b64);
  rq.sig_header = header;
  /* The signature over another payload: refused. */
  rq.payload_len--;
  refused(&rq, -ERR_ORDER_SIGNATURE);
  rq.payload_len++;
  int64_t id = fx_create(&rq);
  struct order o = fx_get(id);
  assert_int_equal(o.signing_key, key);
  snprintf(sql, sizeof sql, "SELECT encode(signed_payload, 'escape') FROM orders WHERE id = %lld",
           (long long)id);
  assert_string_equal(fx_text(sql), payload);
  snprintf(sql, sizeof sql,
           "SELECT replace(encode(signature, 'base64'), E'\\n', '') FROM orders WHERE id = %lld",
           (long long)id);
  assert_string_equal(fx_text(sql), b64);
  snprintf(sql, sizeof sql,
           "SELECT detail->>'signed' FROM order_events WHERE order_id = %lld AND seq = 1",
           (long long)id);
  assert_string_equal(fx_text(sql), "true");
}

struct seen {
  int64_t ids[16];
  int n;
};

static int collect(void *cls, const struct order *o)
{
  struct seen *s = cls;
  if (s->n < 16)
    s->ids[s->n++] = o->id;
  return 0;
}

static void test_list(void **state)
{
  (void)state;
  int64_t m1 = fx_mint();
  int64_t r1 = fx_redeem();
  struct order_request rq = fx_req(ORDER_MINT, fx.ap2, "TSLA", "1", "100", FX_WALLET2);
  int64_t m2 = fx_create(&rq);
  int64_t m3 = fx_mint();
  struct seen s = {0};
  struct order_filter f = {0};
  assert_int_equal(order_list(fx.c, &f, 0, 10, collect, &s), 4);
  assert_int_equal(s.ids[0], m1);
  assert_int_equal(s.ids[3], m3);
  /* A page of 2, then the rest after the last id shown. */
  memset(&s, 0, sizeof s);
  assert_int_equal(order_list(fx.c, &f, 0, 2, collect, &s), 2);
  assert_int_equal(order_list(fx.c, &f, s.ids[1], 2, collect, &s), 2);
  assert_int_equal(s.ids[2], m2);
  assert_int_equal(s.ids[3], m3);
  /* By AP, kind, state, symbol (stock's or token's). */
  memset(&s, 0, sizeof s);
  f.ap = fx.ap2;
  assert_int_equal(order_list(fx.c, &f, 0, 10, collect, &s), 1);
  assert_int_equal(s.ids[0], m2);
  memset(&f, 0, sizeof f);
  memset(&s, 0, sizeof s);
  f.has_kind = true;
  f.kind = ORDER_REDEEM;
  assert_int_equal(order_list(fx.c, &f, 0, 10, collect, &s), 1);
  assert_int_equal(s.ids[0], r1);
  memset(&f, 0, sizeof f);
  memset(&s, 0, sizeof s);
  f.has_state = true;
  f.state = ORDER_AWAITING_CASH;
  f.symbol = "AAPLx";
  assert_int_equal(order_list(fx.c, &f, 0, 10, collect, &s), 2);
  assert_int_equal(s.ids[0], m1);
  assert_int_equal(s.ids[1], m3);
  f.symbol = "TSLA";
  assert_int_equal(order_list(fx.c, &f, 0, 10, collect, &s), 1);
  f.symbol = "x' OR 1=1 --";
  assert_int_equal(order_list(fx.c, &f, 0, 10, collect, &s), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_mint_figures, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_redeem_figures, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_refusals, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_corpact_window, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_limits, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_hours, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_signed, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_list, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests_name("orders", tests, NULL, NULL);
}
