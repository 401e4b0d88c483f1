/*
 * dbtest of the engine and the broker (issuance_engine_broker.c,
 * issuance_engine_exec.c): when an order is placed (hours, business days,
 * session date, pauses, corporate-action windows), placing again after a
 * crash between the two transactions, partial fills, a cancel asked after
 * the broker order (with a fill racing it), cancels and rejects with
 * nothing filled, a bust and a correction, executions of broker orders
 * that are not ours, a broker order id taken by a manual order, and
 * expiry of an unfunded mint.  Exact figures and events throughout.
 */
#include <stdlib.h>
#include <string.h>

#include "fix/fix.h"
#include "tests/issuance/test_engine_lib.h"

TL_FIXTURE("engine_broker")

static void expect_state(int64_t id, const char *want)
{
  tl_expect(&T, want, "SELECT state FROM orders WHERE id = %lld", (long long)id);
}

/* Cancel after the broker order, as the orders slice does it (order_cancel_in). */
static void ask_cancel(int64_t id, const char *from)
{
  tl_sql(&T,
         "WITH m AS (UPDATE orders SET state = 'cancel_requested', cancel_requested = true"
         " WHERE id = %lld AND state = '%s' RETURNING id) INSERT INTO order_events (order_id, seq,"
         " from_state, to_state, actor) SELECT m.id, (SELECT max(seq) + 1 FROM order_events"
         " WHERE order_id = m.id), '%s', 'cancel_requested', 'api:1' FROM m",
         (long long)id, from, from);
}

static void test_place_when_open(void **state)
{
  (void)state;
  /* 16:30 in New York: closed. */
  tl_advance(&T, 6 * 3600000LL + 30 * 60000LL);
  int64_t id = tl_mint(&T, "AAPL", "1", "150");
  tl_fund(&T, id);
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.placed, 0);
  expect_state(id, "cash_received");
  /* Wednesday 09:29: not yet; 09:30: placed. */
  tl_advance(&T, 17 * 3600000LL - 1 * 60000LL);
  st = tl_run(&T);
  assert_int_equal(st.placed, 0);
  tl_advance(&T, 60000);
  st = tl_run(&T);
  assert_int_equal(st.placed, 1);
  expect_state(id, "broker_submitted");

  /* A session date in the future waits for it. */
  int64_t later = tl_mint(&T, "AAPL", "1", "150");
  tl_sql(&T, "UPDATE orders SET session_date = '2027-03-04' WHERE id = %lld", (long long)later);
  tl_fund(&T, later);
  assert_int_equal(tl_run(&T).placed, 0);

  /* Paused (the instrument's mint), then a corporate-action window: waits; then placed. */
  int64_t held = tl_mint(&T, "AAPL", "1", "150");
  tl_fund(&T, held);
  tl_sql(&T, "INSERT INTO pauses (instrument, kind, paused, reason) SELECT id, 'mint', true,"
             " 'test' FROM instruments WHERE symbol = 'AAPL'");
  assert_int_equal(tl_run(&T).placed, 0);
  tl_sql(&T, "UPDATE pauses SET paused = false");
  tl_sql(&T, "INSERT INTO corporate_actions (instrument, type, ratio_old, ratio_new, effective_at,"
             " window_start, window_end) SELECT id, 'split', 1, 2, clock_now() + interval '1 hour',"
             " clock_now() - interval '1 hour', clock_now() + interval '2 hours' FROM instruments"
             " WHERE symbol = 'AAPL'");
  assert_int_equal(tl_run(&T).placed, 0);
  tl_sql(&T, "UPDATE corporate_actions SET status = 'cancelled'");
  st = tl_run(&T);
  assert_int_equal(st.placed, 1);
  expect_state(held, "broker_submitted");
  expect_state(later, "cash_received");

  /* Thursday, the session date: placed.  Saturday nothing would be. */
  tl_advance(&T, TL_DAY_MS);
  assert_int_equal(tl_run(&T).placed, 1);
  expect_state(later, "broker_submitted");
  int64_t sat = tl_mint(&T, "AAPL", "1", "150");
  tl_fund(&T, sat);
  tl_advance(&T, 2 * TL_DAY_MS);
  assert_int_equal(tl_run(&T).placed, 0);
  tl_advance(&T, 2 * TL_DAY_MS); /* Monday */
  assert_int_equal(tl_run(&T).placed, 1);
}

/* A crash after broker_submitted committed and before the broker order: placed on the next pass. */
struct move {
  int64_t id;
};

static enum db_qs move_body(struct db_conn *c, void *cls)
{
  struct move *m = cls;
  int rc = order_transition_in(c, m->id, ORDER_CASH_RECEIVED, ORDER_BROKER_SUBMITTED, "engine",
                               "{\"crash\":\"before fix_broker_place\"}");
  return rc != 0 ? order_qs(rc) : DB_QS_NONE;
}

static void test_place_after_crash(void **state)
{
  (void)state;
  int64_t id = tl_mint(&T, "AAPL", "2", "100");
  tl_fund(&T, id);
  struct move m = {.id = id};
  assert_int_equal(db_txn(T.c, "test_move", move_body, &m), 0);
  tl_expect(&T, "0", "SELECT count(*) FROM broker_orders");
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.placed, 1);
  tl_expect(&T, "1|buy|2.000000|limit|100.000000|pending_new",
            "SELECT concat_ws('|', count(*) OVER (), side, quantity, ord_type, limit_price, state)"
            " FROM broker_orders");
  tl_expect(&T, "1", "SELECT count(*) FROM broker_order_events WHERE kind = 'placed'");
  tl_events(&T, id, "requested,validated,awaiting_cash,cash_received,broker_submitted");
  /* Placing again is a replay: nothing new anywhere. */
  st = tl_run(&T);
  assert_int_equal(st.placed, 0);
  struct fix_broker_order_req req = {.id = (uint64_t)id,
                                     .symbol = "AAPL",
                                     .isin = TL_AAPL,
                                     .side = FIX_BROKER_BUY,
                                     .type = FIX_BROKER_LIMIT,
                                     .tif = FIX_BROKER_DAY};
  money_parse("2", 1, 6, 0, &req.qty);
  money_parse("100", 3, 6, 0, &req.price);
  assert_int_equal(fix_broker_place(T.c, &req), 0);
  tl_expect(&T, "1", "SELECT count(*) FROM broker_order_events WHERE kind = 'placed'");
}

static void test_partial_then_cancel(void **state)
{
  (void)state;
  int64_t id = tl_mint(&T, "AAPL", "10", "150");
  tl_fund(&T, id);
  tl_run(&T);
  tl_exec(&T, id, 'F', "P1", NULL, "3", "149", "2027-03-02", "2027-03-03");
  tl_exec(&T, id, 'F', "P2", NULL, "3", "149.5", "2027-03-02", "2027-03-03");
  tl_broker(&T, id, "partially_filled", "6");
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.fills, 2);
  expect_state(id, "partially_filled");
  ask_cancel(id, "partially_filled");
  st = tl_run(&T);
  assert_int_equal(st.cancels, 1);
  tl_expect(&T, "pending_cancel", "SELECT cancel_state FROM broker_orders WHERE id = %lld",
            (long long)id);
  /* A fill racing the cancel, then the broker's cancel of the rest. */
  tl_exec(&T, id, 'F', "P3", NULL, "1", "150", "2027-03-02", "2027-03-03");
  tl_broker(&T, id, "canceled", "7");
  st = tl_run(&T);
  assert_int_equal(st.fills, 1);
  assert_int_equal(st.finals, 1);
  tl_expect(&T, "settling|7.000000|1045.50|2.05",
            "SELECT concat_ws('|', state, filled_qty, fill_cash, fee) FROM orders WHERE id = %lld",
            (long long)id);
  tl_events(&T, id,
            "requested,validated,awaiting_cash,cash_received,broker_submitted,partially_filled,"
            "partially_filled,cancel_requested,cancel_requested,filled,settling");
  tl_expect(&T, "3", "SELECT count(*) FROM settlement_items WHERE order_id = %lld", (long long)id);
  tl_expect_ref(&T, id, T.ap_owner, "cash:USD", "454.95");
  tl_expect_ref(&T, id, "issuer", "shares:" TL_AAPL ":in_transit", "7.000000");
  tl_books_ok(&T);
  /* Settled: 7 shares' worth of tokens minted, 454.95 stays refundable. */
  tl_custody(&T, "P1", TL_AAPL, "3", "RECE", "2027-03-03", "447.00");
  tl_custody(&T, "P2", TL_AAPL, "3", "RECE", "2027-03-03", "448.50");
  tl_custody(&T, "P3", TL_AAPL, "1", "RECE", "2027-03-03", "150.00");
  tl_advance(&T, TL_DAY_MS);
  st = tl_run(&T);
  assert_int_equal(st.confirmed, 3);
  tl_expect(&T, "completed|7.000000000000000000",
            "SELECT concat_ws('|', state, tokens_done) FROM orders WHERE id = %lld", (long long)id);
  tl_expect(&T, "{\"cash_due\": \"454.95\", \"tokens_done\": \"7.000000000000000000\"}",
            "SELECT detail FROM order_events WHERE order_id = %lld AND to_state = 'completed'",
            (long long)id);
  tl_books_ok(&T);
}

static void test_nothing_filled(void **state)
{
  (void)state;
  int64_t cancelled = tl_mint(&T, "AAPL", "10", "150");
  int64_t rejected = tl_mint(&T, "AAPL", "1", "150");
  tl_fund(&T, cancelled);
  tl_fund(&T, rejected);
  tl_run(&T);
  ask_cancel(cancelled, "broker_submitted");
  tl_run(&T);
  tl_broker(&T, cancelled, "canceled", "0");
  tl_broker(&T, rejected, "rejected", "0");
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.finals, 2);
  tl_events(&T, cancelled,
            "requested,validated,awaiting_cash,cash_received,broker_submitted,cancel_requested,"
            "cancelled");
  tl_events(&T, rejected,
            "requested,validated,awaiting_cash,cash_received,broker_submitted,broker_rejected");
  tl_expect(&T,
            "{\"broker_text\": \"103=99 no liquidity\", \"broker_state\": \"rejected\","
            " \"broker_cum_qty\": \"0.000000\"}",
            "SELECT detail FROM order_events WHERE order_id = %lld AND to_state ="
            " 'broker_rejected'",
            (long long)rejected);
  /* Their cash stays the AP's, refundable. */
  tl_expect_ref(&T, cancelled, T.ap_owner, "cash:USD", "1502.50");
  tl_expect_ref(&T, rejected, T.ap_owner, "cash:USD", "151.15");
  tl_expect(&T, "0.00|0.00", "SELECT concat_ws('|', min(fee), max(fee)) FROM orders");
  tl_books_ok(&T);
}

static void test_bust(void **state)
{
  (void)state;
  int64_t id = tl_mint_filled(&T, "AAPL", "10", "150", "149.5", "B1");
  tl_exec(&T, id, 'H', "B1X", "B1", "10", "149.5", "2027-03-02", "2027-03-03");
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.busts, 1);
  tl_expect(&T,
            "requires_attention|0.000000|0.00|2.50|the broker busted fill B1: reversed (item "
            "cancelled); the order's rest needs a decision",
            "SELECT concat_ws('|', state, filled_qty, fill_cash, fee, attention) FROM orders"
            " WHERE id = %lld",
            (long long)id);
  tl_expect(&T, "cancelled|busted by B1X",
            "SELECT concat_ws('|', state, last_error) FROM settlement_items WHERE exec_id = 'B1'");
  tl_events(&T, id,
            "requested,validated,awaiting_cash,cash_received,broker_submitted,filled,settling,"
            "requires_attention");
  tl_expect_ref(&T, id, T.ap_owner, "cash:USD", "1500.00");
  tl_expect_ref(&T, id, "issuer", "shares:" TL_AAPL ":in_transit", "0.000000");
  tl_expect(&T, "2", "SELECT count(*) FROM books_postings WHERE key LIKE 'order-%lld-%%-B1'",
            (long long)id);
  tl_books_ok(&T);
  /* The cancelled item is never settled. */
  tl_custody(&T, "B1", TL_AAPL, "10", "RECE", "2027-03-03", "1495.00");
  tl_advance(&T, TL_DAY_MS);
  st = tl_run(&T);
  assert_int_equal(st.confirmed, 0);
}

static void test_correct(void **state)
{
  (void)state;
  int64_t id = tl_mint_filled(&T, "AAPL", "10", "150", "149.5", "C1");
  tl_exec(&T, id, 'G', "C1G", "C1", "10", "149", "2027-03-02", "2027-03-03");
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.corrections, 1);
  tl_expect(&T, "settling|10.000000|1490.00|2.49",
            "SELECT concat_ws('|', state, filled_qty, fill_cash, fee) FROM orders WHERE id = %lld",
            (long long)id);
  tl_expect(&T, "10.000000|149.00000000|1490.00|pending|corrected by C1G",
            "SELECT concat_ws('|', quantity, price, cash, state, last_error) FROM settlement_items"
            " WHERE exec_id = 'C1'");
  tl_expect_ref(&T, id, T.ap_owner, "cash:USD", "10.01");
  tl_expect_ref(&T, id, "fees", "cash:USD", "2.49");
  tl_events(&T, id,
            "requested,validated,awaiting_cash,cash_received,broker_submitted,filled,settling,"
            "settling");
  tl_books_ok(&T);
  tl_custody(&T, "C1", TL_AAPL, "10", "RECE", "2027-03-03", "1490.00");
  tl_advance(&T, TL_DAY_MS);
  tl_run(&T);
  expect_state(id, "completed");
  tl_books_ok(&T);
}

static void test_not_ours(void **state)
{
  (void)state;
  /* A manual broker order (`backstock order place --id 999`): its fill is passed over. */
  struct fix_broker_order_req req = {.id = 999,
                                     .symbol = "AAPL",
                                     .side = FIX_BROKER_BUY,
                                     .type = FIX_BROKER_MARKET,
                                     .tif = FIX_BROKER_DAY};
  money_parse("5", 1, 6, 0, &req.qty);
  assert_int_equal(fix_broker_place(T.c, &req), 0);
  tl_exec(&T, 999, 'F', "M1", NULL, "5", "149", "2027-03-02", "2027-03-03");
  /* An order whose id a manual broker order took first, with other terms. */
  int64_t id = tl_mint(&T, "AAPL", "10", "150");
  req.id = (uint64_t)id;
  assert_int_equal(fix_broker_place(T.c, &req), 0);
  tl_exec(&T, id, 'F', "M2", NULL, "5", "149", "2027-03-02", "2027-03-03");
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.executions, 2);
  assert_int_equal(st.fills, 0);
  tl_expect(&T, "0", "SELECT count(*) FROM settlement_items");
  tl_expect(&T, "0", "SELECT count(*) FROM books_postings");
  tl_expect(&T, "2", "SELECT position FROM engine_cursors");
  expect_state(id, "awaiting_cash");
  tl_fund(&T, id);
  st = tl_run(&T);
  assert_int_equal(st.attention, 1);
  tl_expect(&T, "requires_attention|broker order id taken by another broker order with other terms",
            "SELECT concat_ws('|', state, attention) FROM orders WHERE id = %lld", (long long)id);
  tl_events(&T, id,
            "requested,validated,awaiting_cash,cash_received,broker_submitted,"
            "requires_attention");
}

static void test_expiry(void **state)
{
  (void)state;
  int64_t id = tl_mint(&T, "AAPL", "10", "150");
  tl_advance(&T, 5 * 3600000LL - 1000);
  assert_int_equal(tl_run(&T).expired, 0);
  tl_advance(&T, 1000);
  assert_int_equal(tl_run(&T).expired, 1);
  tl_events(&T, id, "requested,validated,awaiting_cash,expired");
  tl_expect(&T, "{\"cash_funded\": \"0.00\", \"cash_required\": \"1502.50\"}",
            "SELECT detail FROM order_events WHERE order_id = %lld AND to_state = 'expired'",
            (long long)id);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_place_when_open, setup, teardown),
      cmocka_unit_test_setup_teardown(test_place_after_crash, setup, teardown),
      cmocka_unit_test_setup_teardown(test_partial_then_cancel, setup, teardown),
      cmocka_unit_test_setup_teardown(test_nothing_filled, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bust, setup, teardown),
      cmocka_unit_test_setup_teardown(test_correct, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_ours, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
