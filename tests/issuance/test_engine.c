/*
 * dbtest of the engine (issuance_engine*.c, issuance_settle.c): a mint
 * and a redeem through every step to exact figures -- the broker order's
 * terms, the fills, the fee, the settlement items and their dates, the
 * settlement postings, the token ledger's intents, every balance, every
 * event in order -- and the books check with the orders' hook, which also
 * catches a tampered posting.  The broker and the custodian are the rows
 * the connector and the custody store would write (test_engine_lib.c).
 */
#include <stdlib.h>
#include <string.h>

#include "tests/issuance/test_engine_lib.h"

TL_FIXTURE("engine")

static void expect_balance(const char *owner, const char *asset, const char *want)
{
  struct money m;
  char got[MONEY_STR_MAX];
  int rc = books_balance(T.c, owner, asset, &m);
  if (rc != 0)
    fail_msg("books_balance %s %s: %s", owner, asset, err_text(rc));
  money_format(m, got, sizeof got);
  if (strcmp(got, want) != 0)
    fail_msg("balance of %s %s is %s, want %s", owner, asset, got, want);
}

/* The mint: AAPL 10 at most 150.00, filled at 149.50, settled T+1, minted, completed. */
static int64_t mint_to_completion(void)
{
  int64_t id = tl_mint(&T, "AAPL", "10", "150");
  tl_expect(&T, "1502.50", "SELECT cash_required FROM orders WHERE id = %lld", (long long)id);
  /* Unfunded: the engine does not touch it. */
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.placed, 0);
  tl_fund(&T, id);

  st = tl_run(&T);
  assert_int_equal(st.placed, 1);
  tl_expect(&T, "broker_submitted", "SELECT state FROM orders WHERE id = %lld", (long long)id);
  tl_expect(&T, "BS1|AAPL|US0378331005|buy|10.000000|limit|150.000000|day||pending_new",
            "SELECT concat_ws('|', cl_ord_id, symbol, isin, side, quantity, ord_type, limit_price,"
            " tif, coalesce(note, ''), state) FROM broker_orders WHERE id = %lld",
            (long long)id);
  tl_expect(&T,
            "{\"qty\": \"10.000000\", \"tif\": \"day\", \"side\": \"buy\", \"type\": \"limit\","
            " \"cl_ord_id\": \"BS1\", \"limit_price\": \"150.000000\"}",
            "SELECT detail FROM order_events WHERE order_id = %lld AND to_state ="
            " 'broker_submitted'",
            (long long)id);

  /* The connector records the fill; the engine books it. */
  tl_exec(&T, id, 'F', "E1", NULL, "10", "149.5", "2027-03-02", "2027-03-03");
  tl_broker(&T, id, "filled", "10");
  st = tl_run(&T);
  assert_int_equal(st.fills, 1);
  assert_int_equal(st.executions, 1);
  tl_expect(&T, "settling|10.000000|1495.00|2.50|0.000000",
            "SELECT concat_ws('|', state, filled_qty, fill_cash, fee, settled_qty) FROM orders"
            " WHERE id = %lld",
            (long long)id);
  tl_expect(&T, "E1|buy|10.000000|149.50000000|1495.00|2027-03-02|2027-03-03|2027-03-03|pending|0",
            "SELECT concat_ws('|', exec_id, side, quantity, price, cash, trade_date, settle_date,"
            " broker_settle_date, state, attempts) FROM settlement_items WHERE order_id = %lld",
            (long long)id);
  tl_expect_ref(&T, id, T.ap_owner, "cash:USD", "5.00");
  tl_expect_ref(&T, id, "issuer", "shares:" TL_AAPL ":in_transit", "10.000000");
  tl_expect_ref(&T, id, "fees", "cash:USD", "2.50");
  tl_expect(&T, "1", "SELECT position FROM engine_cursors WHERE name = 'broker_executions'");
  tl_books_ok(&T);

  /* Not due before its settlement date: nothing tried. */
  st = tl_run(&T);
  assert_int_equal(st.confirmed + st.retried, 0);

  /* T+1: the custodian confirms; settled, minted and completed in one run. */
  tl_advance(&T, TL_DAY_MS);
  tl_custody(&T, "E1", TL_AAPL, "10", "RECE", "2027-03-03", "1495.00");
  st = tl_run(&T);
  assert_int_equal(st.confirmed, 1);
  assert_int_equal(st.minted, 1);
  assert_int_equal(st.completed, 1);
  tl_expect(&T, "completed|10.000000|1495.00|10.000000000000000000",
            "SELECT concat_ws('|', state, settled_qty, settled_cash, tokens_done) FROM orders"
            " WHERE id = %lld",
            (long long)id);
  tl_events(&T, id,
            "requested,validated,awaiting_cash,cash_received,broker_submitted,filled,settling,"
            "settling,settled_at_custodian,mint_submitted,minted,completed");
  tl_expect(&T, "confirmed|2027-03-03|1",
            "SELECT concat_ws('|', state, custody_settle_date, attempts) FROM settlement_items"
            " WHERE order_id = %lld",
            (long long)id);
  tl_expect(&T, "{\"cash_due\": \"5.00\", \"tokens_done\": \"10.000000000000000000\"}",
            "SELECT detail FROM order_events WHERE order_id = %lld AND to_state = 'completed'",
            (long long)id);
  tl_expect(&T, "mint|" TL_WALLET "|10.000000000000000000|executed|1",
            "SELECT concat_ws('|', ci.op, ci.to_address, ci.amount, ci.state,"
            " (SELECT count(*) FROM chain_transfers t WHERE t.intent_id = ci.id))"
            " FROM chain_intents ci WHERE key = 'order-%lld-mint'",
            (long long)id);
  tl_expect_ref(&T, id, T.ap_owner, "cash:USD", "5.00");
  tl_expect_ref(&T, id, T.ap_owner, "tokens:AAPLx", "10.000000000000000000");
  expect_balance("issuer", "shares:" TL_AAPL ":settled", "10.000000");
  expect_balance("issuer", "shares:" TL_AAPL ":in_transit", "0.000000");
  expect_balance("broker", "cash:USD", "0.00");
  expect_balance("custodian", "cash:USD", "-7.50");
  expect_balance("custodian", "shares:" TL_AAPL ":settled", "-10.000000");
  expect_balance("chain", "tokens:AAPLx", "-10.000000000000000000");
  expect_balance("fees", "cash:USD", "2.50");
  tl_books_ok(&T);
  /* Nothing more to do, however often the engine runs: one mint. */
  st = tl_run(&T);
  assert_int_equal(st.minted + st.placed + st.fills + st.confirmed, 0);
  tl_expect(&T, "1", "SELECT count(*) FROM chain_intents WHERE key LIKE 'order-%lld-%%'",
            (long long)id);
  return id;
}

static void test_mint(void **state)
{
  (void)state;
  mint_to_completion();
}

/* The redeem: 4 of the 10 AAPLx back, burned on receipt, sold at market, paid out. */
static void test_redeem(void **state)
{
  (void)state;
  int64_t mint = mint_to_completion();
  int64_t id = tl_redeem(&T, "AAPL", "4", NULL);
  struct engine_stats st = tl_pass(&T);
  assert_int_equal(st.escrowed, 1);
  assert_int_equal(st.burned, 1);
  tl_events(&T, id, "requested,validated,awaiting_tokens,tokens_received,burned");
  tl_expect(&T,
            "transfer|" TL_WALLET "|" ENGINE_REDEMPTION_ADDRESS "|4.000000000000000000|executed",
            "SELECT concat_ws('|', op, from_address, to_address, amount, state) FROM chain_intents"
            " WHERE key = 'order-%lld-escrow'",
            (long long)id);
  tl_expect(&T, "burn|" ENGINE_REDEMPTION_ADDRESS "|4.000000000000000000|executed",
            "SELECT concat_ws('|', op, from_address, amount, state) FROM chain_intents"
            " WHERE key = 'order-%lld-burn'",
            (long long)id);
  tl_expect_ref(&T, id, T.ap_owner, "tokens:AAPLx", "-4.000000000000000000");
  tl_expect_ref(&T, id, "chain", "tokens:AAPLx", "4.000000000000000000");

  st = tl_run(&T);
  assert_int_equal(st.placed, 1);
  tl_expect(&T, "sell|4.000000|market||day",
            "SELECT concat_ws('|', side, quantity, ord_type, coalesce(limit_price::text, ''), tif)"
            " FROM broker_orders WHERE id = %lld",
            (long long)id);
  tl_exec(&T, id, 'F', "E2", NULL, "4", "151.25", "2027-03-03", "2027-03-04");
  tl_broker(&T, id, "filled", "4");
  st = tl_run(&T);
  assert_int_equal(st.fills, 1);
  tl_expect(&T, "settling|605.00|1.61",
            "SELECT concat_ws('|', state, fill_cash, fee) FROM orders WHERE id = %lld",
            (long long)id);
  tl_expect_ref(&T, id, T.ap_owner, "cash:USD", "603.39");
  tl_expect_ref(&T, id, "issuer", "shares:" TL_AAPL ":in_transit", "-4.000000");

  tl_advance(&T, TL_DAY_MS);
  tl_custody(&T, "E2", TL_AAPL, "4", "DELI", "2027-03-04", "605.00");
  st = tl_run(&T);
  assert_int_equal(st.confirmed, 1);
  assert_int_equal(st.payouts, 1);
  tl_events(&T, id,
            "requested,validated,awaiting_tokens,tokens_received,burned,broker_submitted,filled,"
            "settling,settling,cash_settled,payout_submitted");
  tl_expect(&T, "{\"payout\": \"603.39\", \"cash_due\": \"603.39\"}",
            "SELECT detail FROM order_events WHERE order_id = %lld AND to_state ="
            " 'payout_submitted'",
            (long long)id);
  tl_expect(&T, "4.000000000000000000", "SELECT tokens_done FROM orders WHERE id = %lld",
            (long long)id);
  expect_balance(T.ap_owner, "tokens:AAPLx", "6.000000000000000000");
  expect_balance("chain", "tokens:AAPLx", "-6.000000000000000000");
  expect_balance("issuer", "tokens:AAPLx", "0.000000000000000000");
  expect_balance("issuer", "shares:" TL_AAPL ":settled", "6.000000");
  expect_balance("issuer", "shares:" TL_AAPL ":in_transit", "0.000000");
  expect_balance("fees", "cash:USD", "4.11");
  tl_expect(&T, "6.000000000000000000",
            "SELECT balance FROM chain_balances WHERE token = 'AAPLx' AND address = '" TL_WALLET
            "' ORDER BY block DESC LIMIT 1");
  tl_expect(&T, "0.000000000000000000",
            "SELECT balance FROM chain_balances WHERE token = 'AAPLx' AND address = "
            "'" ENGINE_REDEMPTION_ADDRESS "' ORDER BY block DESC LIMIT 1");
  tl_books_ok(&T);
  (void)mint;
}

/* The hook names a posting that does not match its order. */
static void test_books_hook_tamper(void **state)
{
  (void)state;
  int64_t id = mint_to_completion();
  char key[64], ref[64];
  struct money one, mone;
  money_parse("1.00", 4, 2, 0, &one);
  mone = one;
  mone.v = -mone.v;
  snprintf(key, sizeof key, "tamper-%lld", (long long)id);
  snprintf(ref, sizeof ref, "order:%lld", (long long)id);
  struct books_entry e[] = {{T.ap_owner, "cash:USD", one}, {"suspense", "cash:USD", mone}};
  struct books_posting p = {.key = key, .reference = ref, .entries = e, .n_entries = 2};
  assert_int_equal(books_post_txn(T.c, &p, NULL), BOOKS_POSTED);
  struct books_report r;
  books_report_init(&r);
  assert_int_equal(books_check_with(T.c, engine_books_check, NULL, &r), 0);
  assert_false(r.ok);
  assert_int_equal(r.counts[BOOKS_ISSUE_EXTERNAL], 1);
  assert_int_equal(r.n_items, 1);
  assert_string_equal(r.items[0].text,
                      "order 1 (completed): the AP's cash under the order is 6.00, expected 5.00");
  books_report_free(&r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_mint, setup, teardown),
      cmocka_unit_test_setup_teardown(test_redeem, setup, teardown),
      cmocka_unit_test_setup_teardown(test_books_hook_tamper, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
