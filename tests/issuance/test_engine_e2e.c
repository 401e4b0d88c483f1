/*
 * End to end, in real processes on one database: orders created as the
 * orders slice creates them (rows and first events, funded by the
 * admin's posting), then nothing but the processes --
 *
 *   backstock serve (API + engine + settlement worker + custody drop folder)
 *     -> broker_orders -> backstock connector -FIX-> backstock-simbroker
 *     -> executions -> the engine books fills, settlement items
 *   the shared clock moved one day on -> backstock-simcustodian settles the
 *     blotter, writes sese.025 into the drop folder -> serve's custody feed
 *     stores them -> the settlement worker confirms -> tokens minted
 *
 * Five mints at once, one per behaviour: AAPL fills (at_settlement),
 * MSFT fills in three parts (mint at fill), TSLA is rejected by the
 * broker, NVDA rests silent and is cancelled after its broker order, AMZN
 * fills but the custodian fails to settle it (settlement_failed, then
 * requires_attention three NYSE business days after its settlement
 * date).  Then a redeem of AAPLx: escrow, burn, FIX sell, cash settled,
 * payout_submitted.  At the end every order's events are exactly the
 * lifecycle, the figures exact, one broker order per order at the broker,
 * one mint per minted order, `backstock books check` exits 0, and SIGTERM
 * stops every process with status 0.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/issuance/test_engine_e2e_lib.h"

#define WAIT_MS 60000

EX_FIXTURE("engine_e2e")
static struct ex_child sim, conn, cust, serve;

static void state_is(int64_t id, const char *want)
{
  ex_wait_sql(&X, WAIT_MS, want, "SELECT state FROM orders WHERE id = %lld", (long long)id);
}

static void events_are(int64_t id, const char *want)
{
  tl_events(&X.t, id, want);
}

/* Cancel after the broker order, as order_cancel_in() does. */
static void ask_cancel(int64_t id)
{
  tl_sql(&X.t,
         "WITH m AS (UPDATE orders SET state = 'cancel_requested', cancel_requested = true"
         " WHERE id = %lld AND state = 'broker_submitted' RETURNING id) INSERT INTO order_events"
         " (order_id, seq, from_state, to_state, actor) SELECT m.id, (SELECT max(seq) + 1 FROM"
         " order_events WHERE order_id = m.id), 'broker_submitted', 'cancel_requested', 'api:1'"
         " FROM m",
         (long long)id);
}

static void test_orders_end_to_end(void **state)
{
  (void)state;
  struct tl *t = &X.t;
  tl_sql(t, "INSERT INTO instruments (symbol, isin, token_symbol, settlement_lag_days,"
            " mint_policy, burn_policy, min_order_qty, max_order_qty, market_open, market_close,"
            " cutoff, out_of_hours) VALUES"
            " ('TSLA', 'US88160R1014', 'TSLAx', 1, 'at_settlement', 'on_receipt', 1, 1000, '09:30',"
            " '16:00', '15:30', 'queue'),"
            " ('NVDA', 'US67066G1040', 'NVDAx', 1, 'at_settlement', 'on_receipt', 1, 1000, '09:30',"
            " '16:00', '15:30', 'queue'),"
            " ('AMZN', 'US0231351067', 'AMZNx', 1, 'at_settlement', 'on_receipt', 1, 1000, '09:30',"
            " '16:00', '15:30', 'queue')");
  ex_start_sim(&X, &sim,
               "price.AAPL = 149.50\nprice.MSFT = 399.99\nbehaviour.MSFT = partial:3:50\n"
               "price.TSLA = 200\nbehaviour.TSLA = reject\nprice.NVDA = 100\n"
               "behaviour.NVDA = silent\nprice.AMZN = 180\n");
  ex_start_cust(&X, &cust, "fail.AMZN = fail\n");
  char *cargs[] = {"connector", NULL};
  ex_start_backstock(&X, &conn, "connector stderr", cargs, NULL);
  char *sargs[] = {"serve", NULL};
  const char *senv[] = {"BACKSTOCK_LISTEN=127.0.0.1:0", NULL};
  ex_start_backstock(&X, &serve, "serve stderr", sargs, senv);
  char line[256];
  if (!ts_wait_line(serve.out, "backstock is up", EX_START_WAIT_MS, line, sizeof line)) {
    ex_dump(&X);
    fail_msg("backstock serve did not come up");
  }

  int64_t a = tl_mint(t, "AAPL", "10", "150");
  int64_t m = tl_mint(t, "MSFT", "6", "400");
  int64_t ts = tl_mint(t, "TSLA", "1", "210");
  int64_t n = tl_mint(t, "NVDA", "2", "110");
  int64_t z = tl_mint(t, "AMZN", "1", "200");
  int64_t all[] = {a, m, ts, n, z};
  for (size_t i = 0; i < 5; i++)
    tl_fund(t, all[i]);

  /* Tuesday: bought, rejected, resting. */
  state_is(a, "settling");
  state_is(m, "settling"); /* minted at fill already */
  state_is(ts, "broker_rejected");
  state_is(z, "settling");
  ex_wait_sql(&X, WAIT_MS, "new", "SELECT state FROM broker_orders WHERE id = %lld", (long long)n);
  ask_cancel(n);
  state_is(n, "cancelled");
  tl_expect(t, "6.000000000000000000|3",
            "SELECT concat_ws('|', o.tokens_done, (SELECT count(*) FROM settlement_items s"
            " WHERE s.order_id = o.id)) FROM orders o WHERE o.id = %lld",
            (long long)m);

  /* Wednesday: the custodian settles T+1; serve ingests and confirms. */
  tl_advance(t, TL_DAY_MS);
  state_is(a, "completed");
  state_is(m, "completed");
  ex_wait_sql(&X, WAIT_MS, "settling|pending",
              "SELECT concat_ws('|', o.state, s.state) FROM"
              " orders o JOIN settlement_items s ON s.order_id = o.id WHERE o.id = %lld"
              " AND s.attempts > 0",
              (long long)z);

  /* Redeem 4 AAPLx. */
  int64_t r = tl_redeem(t, "AAPL", "4", NULL);
  state_is(r, "settling");
  tl_advance(t, TL_DAY_MS);
  state_is(r, "payout_submitted");
  state_is(z, "settlement_failed"); /* not settled on its settlement date */

  /* Monday 2027-03-08, three business days after AMZN's settlement date. */
  tl_advance(t, 4 * TL_DAY_MS);
  state_is(z, "requires_attention");

  /* Every event of every order, in order. */
  events_are(a, "requested,validated,awaiting_cash,cash_received,broker_submitted,filled,settling,"
                "settling,settled_at_custodian,mint_submitted,minted,completed");
  events_are(m, "requested,validated,awaiting_cash,cash_received,broker_submitted,"
                "partially_filled,partially_filled,filled,mint_submitted,minted,settling,settling,"
                "settling,settling,settled_at_custodian,completed");
  events_are(ts, "requested,validated,awaiting_cash,cash_received,broker_submitted,"
                 "broker_rejected");
  events_are(n, "requested,validated,awaiting_cash,cash_received,broker_submitted,"
                "cancel_requested,cancelled");
  events_are(z, "requested,validated,awaiting_cash,cash_received,broker_submitted,filled,settling,"
                "settlement_failed,requires_attention");
  events_are(r, "requested,validated,awaiting_tokens,tokens_received,burned,broker_submitted,"
                "filled,settling,settling,cash_settled,payout_submitted");
  /* The figures. */
  tl_expect(t, "1495.00|2.50|5.00|10.000000000000000000",
            "SELECT concat_ws('|', fill_cash, fee, cash_funded - fill_cash - fee, tokens_done)"
            " FROM orders WHERE id = %lld",
            (long long)a);
  tl_expect(t, "2399.94|4.80|0.06",
            "SELECT concat_ws('|', fill_cash, fee, cash_funded - fill_cash - fee) FROM orders"
            " WHERE id = %lld",
            (long long)m);
  tl_expect(t, "598.00|1.60|596.40",
            "SELECT concat_ws('|', o.fill_cash, o.fee, e.detail->>'payout') FROM orders o JOIN"
            " order_events e ON e.order_id = o.id AND e.to_state = 'payout_submitted'"
            " WHERE o.id = %lld",
            (long long)r);
  tl_expect(t, "103=99 rejected by simulation",
            "SELECT detail->>'broker_text' FROM order_events WHERE order_id = %lld AND to_state ="
            " 'broker_rejected'",
            (long long)ts);
  tl_expect(t, "settlement of ", "SELECT left(attention, 14) FROM orders WHERE id = %lld",
            (long long)z);
  /* One broker order per order at the broker, one mint per minted order. */
  tl_expect(t, "6|6|0",
            "SELECT concat_ws('|', count(*), count(DISTINCT cl_ord_id),"
            " count(*) FILTER (WHERE cl_ord_id NOT LIKE 'BS%%')) FROM sim_orders");
  tl_expect(t, "2|2",
            "SELECT concat_ws('|', count(*), count(DISTINCT i.key)) FROM chain_transfers"
            " c JOIN chain_intents i ON i.id = c.intent_id WHERE i.op = 'mint'");
  tl_expect(t, "6.000000000000000000|6.000000000000000000",
            "SELECT concat_ws('|', (SELECT balance FROM chain_balances WHERE token = 'AAPLx' AND"
            " address = '" TL_WALLET "' ORDER BY block DESC LIMIT 1), (SELECT balance FROM"
            " chain_balances WHERE token = 'MSFTx' AND address = '" TL_WALLET "' ORDER BY block"
            " DESC LIMIT 1))");
  /* The books, by the command. */
  ex_books_ok(&X, "");
  ex_stop(&serve);
  ex_stop(&cust);
  ex_stop(&conn);
  ex_stop(&sim);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_orders_end_to_end, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
