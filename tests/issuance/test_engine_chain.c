/*
 * dbtest of the engine and the token ledger (issuance_engine_chain.c and
 * the give-back in issuance_engine_moves.c): mint at fill and redeem with
 * burn at payout (a partial sale: the unsold tokens go back), a redeem
 * rejected by the broker after its burn (re-minted), an escrow refused
 * for too few tokens, an escrow that lands after its order was cancelled
 * (sent back), the reserves check before a mint, and a crash between the
 * mint's record and its execution, or between its execution and the
 * order's minted: one mint per order, always.
 */
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "tests/issuance/test_engine_lib.h"

TL_FIXTURE("engine_chain")

static void expect_wallet(const char *token, const char *addr, const char *want)
{
  tl_expect(&T, want,
            "SELECT coalesce((SELECT balance FROM chain_balances WHERE token = '%s' AND address ="
            " '%s' ORDER BY block DESC LIMIT 1), 0)",
            token, addr);
}

static void test_at_fill_at_payout(void **state)
{
  (void)state;
  /* Mint 5 MSFTx at fill: minted before settlement, completed after it. */
  int64_t m = tl_mint(&T, "MSFT", "5", "400");
  tl_expect(&T, "2004.00", "SELECT cash_required FROM orders WHERE id = %lld", (long long)m);
  tl_fund(&T, m);
  tl_run(&T);
  tl_exec(&T, m, 'F', "F1", NULL, "5", "399.99", "2027-03-02", "2027-03-03");
  tl_broker(&T, m, "filled", "5");
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.minted, 1);
  tl_expect(&T, "settling|1999.95|4.00|5.000000000000000000",
            "SELECT concat_ws('|', state, fill_cash, fee, tokens_done) FROM orders WHERE id = %lld",
            (long long)m);
  expect_wallet("MSFTx", TL_WALLET, "5.000000000000000000");
  tl_books_ok(&T);
  tl_custody(&T, "F1", TL_MSFT, "5", "RECE", "2027-03-03", "1999.95");
  tl_advance(&T, TL_DAY_MS);
  st = tl_run(&T);
  assert_int_equal(st.completed, 1);
  tl_events(&T, m,
            "requested,validated,awaiting_cash,cash_received,broker_submitted,filled,"
            "mint_submitted,minted,settling,settling,settled_at_custodian,completed");

  /* Redeem 4 at 401 or better: 2 sold, the rest expires; 2 go back, 2 burned at payout. */
  int64_t r = tl_redeem(&T, "MSFT", "4", "401");
  st = tl_run(&T);
  assert_int_equal(st.escrowed, 1);
  assert_int_equal(st.burned, 0);
  assert_int_equal(st.placed, 1);
  tl_expect(&T, "sell|limit|401.000000",
            "SELECT concat_ws('|', side, ord_type, limit_price) FROM broker_orders WHERE id = %lld",
            (long long)r);
  tl_exec(&T, r, 'F', "R1", NULL, "2", "401.5", "2027-03-03", "2027-03-04");
  tl_broker(&T, r, "expired", "2");
  st = tl_run(&T);
  assert_int_equal(st.finals, 1);
  tl_expect(&T, "settling|2.000000|803.00|1.61|0.000000000000000000",
            "SELECT concat_ws('|', state, filled_qty, fill_cash, fee, tokens_done) FROM orders"
            " WHERE id = %lld",
            (long long)r);
  tl_expect(&T, "2.000000000000000000|order-2-return",
            "SELECT concat_ws('|', detail->>'tokens_returned', detail->>'return_intent') FROM"
            " order_events WHERE order_id = %lld AND to_state = 'filled'",
            (long long)r);
  expect_wallet("MSFTx", TL_WALLET, "3.000000000000000000");
  expect_wallet("MSFTx", ENGINE_REDEMPTION_ADDRESS, "2.000000000000000000");
  tl_expect_ref(&T, r, T.ap_owner, "tokens:MSFTx", "-2.000000");
  tl_books_ok(&T);
  tl_custody(&T, "R1", TL_MSFT, "2", "DELI", "2027-03-04", "803.00");
  tl_advance(&T, TL_DAY_MS);
  st = tl_run(&T);
  assert_int_equal(st.burned, 1);
  assert_int_equal(st.payouts, 1);
  tl_events(&T, r,
            "requested,validated,awaiting_tokens,tokens_received,broker_submitted,"
            "partially_filled,filled,settling,settling,cash_settled,burned,payout_submitted");
  tl_expect(&T, "2.000000000000000000|801.39",
            "SELECT concat_ws('|', o.tokens_done, e.detail->>'payout') FROM orders o JOIN"
            " order_events e ON e.order_id = o.id AND e.to_state = 'payout_submitted'"
            " WHERE o.id = %lld",
            (long long)r);
  expect_wallet("MSFTx", ENGINE_REDEMPTION_ADDRESS, "0.000000000000000000");
  tl_expect(&T, "3.000000000000000000",
            "SELECT supply FROM chain_supply WHERE token = 'MSFTx' ORDER BY block DESC LIMIT 1");
  tl_expect_ref(&T, r, T.ap_owner, "cash:USD", "801.39");
  tl_expect_ref(&T, r, "chain", "tokens:MSFTx", "2.000000");
  tl_books_ok(&T);
}

static void test_redeem_rejected_remint(void **state)
{
  (void)state;
  tl_mint_done(&T, "AAPL", "10", "150", "149.5", "E1");
  int64_t r = tl_redeem(&T, "AAPL", "4", NULL);
  tl_run(&T);
  tl_expect(&T, "broker_submitted", "SELECT state FROM orders WHERE id = %lld", (long long)r);
  expect_wallet("AAPLx", TL_WALLET, "6.000000000000000000");
  tl_broker(&T, r, "rejected", "0");
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.finals, 1);
  tl_events(&T, r,
            "requested,validated,awaiting_tokens,tokens_received,burned,broker_submitted,"
            "broker_rejected");
  tl_expect(&T, "mint|4.000000000000000000|executed",
            "SELECT concat_ws('|', op, amount, state) FROM chain_intents WHERE key ="
            " 'order-%lld-remint'",
            (long long)r);
  tl_expect(&T, "0.000000000000000000", "SELECT tokens_done FROM orders WHERE id = %lld",
            (long long)r);
  expect_wallet("AAPLx", TL_WALLET, "10.000000000000000000");
  tl_expect_ref(&T, r, T.ap_owner, "tokens:AAPLx", "0.000000000000000000");
  tl_expect_ref(&T, r, "chain", "tokens:AAPLx", "0.000000000000000000");
  tl_books_ok(&T);
}

static void test_escrow_insufficient(void **state)
{
  (void)state;
  int64_t r = tl_redeem(&T, "AAPL", "4", NULL);
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.escrowed, 0);
  tl_events(&T, r, "requested,validated,awaiting_tokens,rejected");
  tl_expect(&T,
            "the wallet holds fewer tokens than the order redeems|" TL_WALLET
            "|0.000000000000000000|4.000000000000000000",
            "SELECT concat_ws('|', detail->>'reason', detail->>'wallet', detail->>'wallet_balance',"
            " detail->>'token_amount') FROM order_events WHERE order_id = %lld AND to_state ="
            " 'rejected'",
            (long long)r);
  tl_expect(&T, "failed", "SELECT state FROM chain_intents WHERE key = 'order-%lld-escrow'",
            (long long)r);
  tl_expect(&T, "0", "SELECT count(*) FROM books_postings");
  tl_books_ok(&T);
}

static void test_cancel_races_escrow(void **state)
{
  (void)state;
  struct chain_ledger *l;
  struct chain_intent it;
  struct money four;
  char key[64];
  tl_mint_done(&T, "AAPL", "10", "150", "149.5", "E1");
  int64_t r = tl_redeem(&T, "AAPL", "4", NULL);
  /* The escrow executes; the order is cancelled before the engine books it. */
  snprintf(key, sizeof key, "order-%lld-escrow", (long long)r);
  money_parse("4", 1, 18, 0, &four);
  assert_int_equal(chain_builtin_open(T.c, &l), 0);
  assert_int_equal(chain_transfer(l, key, "AAPLx", TL_WALLET, ENGINE_REDEMPTION_ADDRESS, four, &it),
                   0);
  chain_ledger_free(l);
  tl_sql(&T,
         "WITH m AS (UPDATE orders SET state = 'cancelled' WHERE id = %lld RETURNING id)"
         " INSERT INTO order_events (order_id, seq, from_state, to_state, actor) SELECT m.id, 4,"
         " 'awaiting_tokens', 'cancelled', 'api:1' FROM m",
         (long long)r);
  expect_wallet("AAPLx", TL_WALLET, "6.000000000000000000");
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.returned, 1);
  expect_wallet("AAPLx", TL_WALLET, "10.000000000000000000");
  expect_wallet("AAPLx", ENGINE_REDEMPTION_ADDRESS, "0.000000000000000000");
  tl_events(&T, r, "requested,validated,awaiting_tokens,cancelled,cancelled");
  tl_expect(&T, "4.000000000000000000",
            "SELECT detail->>'tokens_returned' FROM order_events WHERE order_id = %lld AND seq = 5",
            (long long)r);
  assert_int_equal(tl_run(&T).returned, 0);
  tl_books_ok(&T);
}

static void test_reserves(void **state)
{
  (void)state;
  struct money hundred, mhundred;
  int64_t id = tl_mint_filled(&T, "AAPL", "10", "150", "149.5", "E1");
  /* 100 tokens issued outside any order, with no shares behind them. */
  money_parse("100", 3, 18, 0, &hundred);
  mhundred = hundred;
  mhundred.v = -mhundred.v;
  struct books_entry e[] = {{"chain", "tokens:AAPLx", mhundred},
                            {"suspense", "tokens:AAPLx", hundred}};
  struct books_posting p = {.key = "stray", .reference = "test:1", .entries = e, .n_entries = 2};
  assert_int_equal(books_post_txn(T.c, &p, NULL), BOOKS_POSTED);
  tl_custody(&T, "E1", TL_AAPL, "10", "RECE", "2027-03-03", "1495.00");
  tl_advance(&T, TL_DAY_MS);
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.minted, 0);
  tl_expect(&T,
            "requires_attention|mint refused: reserves 10.000000 shares of US0378331005 would not "
            "cover 110.000000 shares of tokens",
            "SELECT concat_ws('|', state, attention) FROM orders WHERE id = %lld", (long long)id);
  tl_expect(&T, "0", "SELECT count(*) FROM chain_intents");
}

struct rec {
  int64_t id;
  int rc;
};

/* What the mint step commits before it executes: the intent and mint_submitted. */
static enum db_qs record_body(struct db_conn *c, void *cls)
{
  struct rec *r = cls;
  struct money ten;
  char key[64];
  int err = 0;
  snprintf(key, sizeof key, "order-%lld-mint", (long long)r->id);
  money_parse("10", 2, 18, 0, &ten);
  struct chain_intent_req req = {
      .key = key, .op = CHAIN_OP_MINT, .token = "AAPLx", .to = TL_WALLET, .amount = ten};
  enum db_qs qs = chain_intent_record_in(c, &req, NULL, &err);
  if (qs < 0)
    return qs;
  r->rc = err != 0 ? err
                   : order_transition_in(c, r->id, ORDER_SETTLED_AT_CUSTODIAN, ORDER_MINT_SUBMITTED,
                                         "engine", NULL);
  return r->rc != 0 ? order_qs(r->rc) : DB_QS_NONE;
}

/* An order settled at the custodian, the engine stopped before its chain step. */
static int64_t settled_order(const char *exec_id)
{
  int64_t id = tl_mint(&T, "AAPL", "10", "150");
  tl_fund(&T, id);
  tl_run(&T);
  char *today = tl_today(&T);
  tl_exec(&T, id, 'F', exec_id, NULL, "10", "149.5", today, NULL);
  free(today);
  tl_broker(&T, id, "filled", "10");
  assert_true(engine_exec_step(T.e, NULL) >= 1);
  char *settle =
      tl_value(&T, "SELECT settle_date FROM settlement_items WHERE exec_id = '%s'", exec_id);
  tl_custody(&T, exec_id, TL_AAPL, "10", "RECE", settle, "1495.00");
  free(settle);
  tl_advance(&T, TL_DAY_MS);
  assert_int_equal(engine_settle_step(T.e, NULL), 1);
  tl_expect(&T, "settled_at_custodian", "SELECT state FROM orders WHERE id = %lld", (long long)id);
  return id;
}

/* A new engine, as a restarted process has. */
static void restart(void)
{
  engine_free(T.e);
  assert_int_equal(engine_open(T.c, &T.cal, &T.cfg, &T.e), 0);
}

static void test_mint_crash(void **state)
{
  (void)state;
  struct chain_ledger *l;
  struct chain_intent it, again;
  char key[64];

  /* 1. Killed after the record committed, before the execute. */
  int64_t a = settled_order("K1");
  assert_int_equal(chain_builtin_open(T.c, &l), 0);
  struct chain_token tok = {"AAPLx", 18, "AAPLx (backed by AAPL)"};
  assert_int_equal(chain_token_register(l, &tok), 0);
  struct rec r = {.id = a};
  assert_int_equal(db_txn(T.c, "test_record", record_body, &r), 0);
  assert_int_equal(r.rc, 0);
  restart();
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.minted, 1);
  tl_events(&T, a,
            "requested,validated,awaiting_cash,cash_received,broker_submitted,filled,settling,"
            "settling,settled_at_custodian,mint_submitted,minted,completed");

  /* 2. Killed after the execute, before minted committed. */
  int64_t b = settled_order("K2");
  r.id = b;
  assert_int_equal(db_txn(T.c, "test_record", record_body, &r), 0);
  snprintf(key, sizeof key, "order-%lld-mint", (long long)b);
  assert_int_equal(chain_intent_execute(l, key, &it), 0);
  restart();
  st = tl_run(&T);
  assert_int_equal(st.minted, 1);
  tl_expect(&T, "completed", "SELECT state FROM orders WHERE id = %lld", (long long)b);

  /* Executing again, running again: the first result, never a second mint. */
  assert_int_equal(chain_intent_execute(l, key, &again), 0);
  assert_int_equal(again.block, it.block);
  assert_int_equal(tl_run(&T).minted, 0);
  tl_expect(&T, "2|2|20.000000000000000000",
            "SELECT concat_ws('|', count(*), count(DISTINCT t.intent_id), sum(t.amount)) FROM"
            " chain_transfers t JOIN chain_intents i ON i.id = t.intent_id WHERE i.op = 'mint'");
  expect_wallet("AAPLx", TL_WALLET, "20.000000000000000000");
  chain_ledger_free(l);
  tl_books_ok(&T);
}

/* A burn that fails for good (the redemption address was emptied): the order needs a person. */
static void test_burn_fails(void **state)
{
  (void)state;
  struct chain_ledger *l;
  struct chain_intent it;
  struct money two;
  tl_mint_done(&T, "MSFT", "5", "400", "399.99", "F1");
  int64_t r = tl_redeem(&T, "MSFT", "2", NULL);
  tl_run(&T);
  tl_exec(&T, r, 'F', "R1", NULL, "2", "401", "2027-03-03", "2027-03-04");
  tl_broker(&T, r, "filled", "2");
  tl_run(&T);
  money_parse("2", 1, 6, 0, &two);
  assert_int_equal(chain_builtin_open(T.c, &l), 0);
  assert_int_equal(chain_transfer(l, "stray", "MSFTx", ENGINE_REDEMPTION_ADDRESS,
                                  "0x00000000000000000000000000000000000b2222", two, &it),
                   0);
  chain_ledger_free(l);
  tl_custody(&T, "R1", TL_MSFT, "2", "DELI", "2027-03-04", "802.00");
  tl_advance(&T, TL_DAY_MS);
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.burned, 1);
  assert_int_equal(st.payouts, 0);
  assert_int_equal(st.attention, 1);
  tl_expect(&T, "requires_attention|chain intent order-2-burn failed: ",
            "SELECT concat_ws('|', state, left(attention, 34)) FROM orders WHERE id = %lld",
            (long long)r);
  tl_events(&T, r,
            "requested,validated,awaiting_tokens,tokens_received,broker_submitted,filled,settling,"
            "settling,cash_settled,burned,requires_attention");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_at_fill_at_payout, setup, teardown),
      cmocka_unit_test_setup_teardown(test_redeem_rejected_remint, setup, teardown),
      cmocka_unit_test_setup_teardown(test_escrow_insufficient, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_races_escrow, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reserves, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mint_crash, setup, teardown),
      cmocka_unit_test_setup_teardown(test_burn_fails, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
