/*
 * dbtest of the secure-mint check (issuance_engine_chain.c, docs/alerts.md):
 * before every mint, the issuer's settled shares must cover the tokens
 * outstanding after it times the multiplier (rounded up at 6 places).
 * An over-mint is refused: the order goes to requires_attention with the
 * reason and its exact figures, one secure_mint alert with that detail is
 * raised in the same transaction, no mint intent and no token posting
 * exist, and running the engine again (or retrying the step after the
 * order was put back) raises no second alert.  A mint that exactly meets
 * the reserves passes; one raw token unit more is refused.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/issuance/test_engine_lib.h"

TL_FIXTURE("engine_secure_mint")

#define REASON_110                                                                                 \
  "mint refused: reserves 10.000000 shares of US0378331005 would not cover 110.000000 shares of "  \
  "tokens"

/* A posting outside any order: @amount of @asset from @from to @to. */
static void post(const char *key, const char *from, const char *to, const char *asset,
                 const char *amount, unsigned scale)
{
  struct money v, nv;
  assert_int_equal(money_parse(amount, strlen(amount), scale, 0, &v), 0);
  nv = v;
  nv.v = -nv.v;
  struct books_entry e[] = {{from, asset, nv}, {to, asset, v}};
  struct books_posting p = {.key = key, .reference = "test:1", .entries = e, .n_entries = 2};
  assert_int_equal(books_post_txn(T.c, &p, NULL), BOOKS_POSTED);
}

/* The custodian confirms @exec_id (10 AAPL, or @qty) for tomorrow, the clock moves there. */
static void settle(const char *exec_id, const char *qty, const char *cash)
{
  char *day =
      tl_value(&T, "SELECT settle_date FROM settlement_items WHERE exec_id = '%s'", exec_id);
  tl_custody(&T, exec_id, TL_AAPL, qty, "RECE", day, cash);
  free(day);
  tl_advance(&T, TL_DAY_MS);
}

static void expect_refused(int64_t id, const char *reason)
{
  tl_expect(&T, reason, "SELECT attention FROM orders WHERE id = %lld", (long long)id);
  tl_expect(&T, "requires_attention", "SELECT state FROM orders WHERE id = %lld", (long long)id);
  /* no mint intent, no token posting, no tokens for the AP */
  tl_expect(&T, "0", "SELECT count(*) FROM chain_intents WHERE key = 'order-%lld-mint'",
            (long long)id);
  tl_expect(&T, "0", "SELECT count(*) FROM books_postings WHERE key = 'order-%lld-mint'",
            (long long)id);
  tl_expect_ref(&T, id, T.ap_owner, "tokens:AAPLx", "0");
  tl_expect_ref(&T, id, "chain", "tokens:AAPLx", "0");
}

static void test_over_mint(void **state)
{
  (void)state;
  int64_t id = tl_mint_filled(&T, "AAPL", "10", "150", "149.5", "E1");
  /* 100 tokens issued outside any order, with no shares behind them. */
  post("stray", "chain", "suspense", "tokens:AAPLx", "100", 18);
  settle("E1", "10", "1495.00");
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.minted, 0);
  assert_int_equal(st.attention, 1);
  expect_refused(id, REASON_110);
  tl_events(&T, id,
            "requested,validated,awaiting_cash,cash_received,broker_submitted,filled,settling,"
            "settling,settled_at_custodian,requires_attention");
  /* exactly one alert, with the reason as its detail, written by the move's transaction */
  tl_expect(&T, "1", "SELECT count(*) FROM alerts");
  tl_expect(&T, "secure_mint|1|US0378331005|AAPL|" REASON_110 "|t|t",
            "SELECT concat_ws('|', a.kind, a.ref, a.isin, i.symbol, a.detail,"
            " a.acknowledged_at IS NULL AND a.note IS NULL AND a.acknowledged_by IS NULL,"
            " a.xmin::text = (SELECT xmin::text FROM order_events WHERE order_id = %lld"
            " AND to_state = 'requires_attention'))"
            " FROM alerts a JOIN instruments i ON i.id = a.instrument",
            (long long)id);
  tl_books_ok(&T);

  /* The engine again: nothing to do, no second alert. */
  st = tl_run(&T);
  assert_int_equal(st.attention, 0);
  tl_expect(&T, "1", "SELECT count(*) FROM alerts");

  /* The step retried (the order put back as it was): refused again, still one alert. */
  tl_sql(&T, "UPDATE orders SET state = 'settled_at_custodian', attention = NULL WHERE id = %lld",
         (long long)id);
  st = tl_run(&T);
  assert_int_equal(st.attention, 1);
  expect_refused(id, REASON_110);
  tl_expect(&T, "2",
            "SELECT count(*) FROM order_events WHERE order_id = %lld AND to_state ="
            " 'requires_attention'",
            (long long)id);
  tl_expect(&T, "1|1", "SELECT concat_ws('|', count(*), min(ref)) FROM alerts");
  tl_expect(&T, "0", "SELECT count(*) FROM chain_intents");
}

static void test_boundary(void **state)
{
  (void)state;
  /* 5 more settled shares and 5 stray tokens: after the mint of 10, 15 cover exactly 15. */
  int64_t a = tl_mint_filled(&T, "AAPL", "10", "150", "149.5", "E1");
  post("shares", "custodian", "issuer", "shares:" TL_AAPL ":settled", "5", 6);
  post("stray", "chain", "suspense", "tokens:AAPLx", "5", 18);
  settle("E1", "10", "1495.00");
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.minted, 1);
  assert_int_equal(st.attention, 0);
  tl_expect(&T, "completed", "SELECT state FROM orders WHERE id = %lld", (long long)a);
  tl_expect(&T, "mint|10.000000000000000000|executed",
            "SELECT concat_ws('|', op, amount, state) FROM chain_intents WHERE key ="
            " 'order-%lld-mint'",
            (long long)a);
  tl_expect(&T, "0", "SELECT count(*) FROM alerts");

  /* One raw token unit more outstanding: 16 settled do not cover 16.000001 (rounded up). */
  int64_t b = tl_mint_filled(&T, "AAPL", "1", "150", "149.5", "E2");
  post("stray-unit", "chain", "suspense", "tokens:AAPLx", "0.000000000000000001", 18);
  settle("E2", "1", "149.50");
  st = tl_run(&T);
  assert_int_equal(st.minted, 0);
  assert_int_equal(st.attention, 1);
  const char *why = "mint refused: reserves 16.000000 shares of US0378331005 would not cover"
                    " 16.000001 shares of tokens";
  expect_refused(b, why);
  tl_expect(&T, why, "SELECT detail FROM alerts WHERE kind = 'secure_mint' AND ref = '%lld'",
            (long long)b);
  tl_expect(&T, "1", "SELECT count(*) FROM alerts");
  tl_books_ok(&T);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_over_mint, setup, teardown),
      cmocka_unit_test_setup_teardown(test_boundary, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
