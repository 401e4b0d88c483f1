/*
 * Crash safety of the engine, in real processes: two `backstock engine`
 * processes drive a workload of mints and redeems (AAPL: mint at
 * settlement, burn on receipt, one fill; MSFT: mint at fill, burn at
 * payout, two partial fills each) against the simulated broker (through
 * `backstock connector`), the simulated custodian and `backstock custody
 * watch`, while the test kills one of the engines, or both, with SIGKILL
 * at random moments (20-220 ms apart) and starts them again, all the way
 * through.
 * Then, with both engines stopped by SIGTERM (exit 0):
 *
 *   - every order reached its end exactly once: its events are exactly its
 *     lifecycle, no transition twice;
 *   - one broker order per order, at our side and at the broker's (one
 *     sim_orders row per ClOrdID);
 *   - one mint intent per mint order, executed once (one transfer), one
 *     burn per redeem; the token balances are exact;
 *   - `backstock books check` exits 0 (the ledger sums to zero and every
 *     order matches its postings).
 *
 * The random seed is printed (BACKSTOCK_TEST_SEED sets it); every wait is
 * bounded.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/issuance/test_engine_e2e_lib.h"

#define N_MINT   20 /* 10 AAPL, 10 MSFT */
#define N_REDEEM 10 /* 5 AAPL, 5 MSFT */
#define PHASE_MS 240000

EX_FIXTURE("engine_crash")
static struct ex_child sim, conn, cust, watch, eng[2];
static unsigned seed, kills;

static void start_engine(int k)
{
  char *args[] = {"engine", NULL};
  const char *env[] = {"BACKSTOCK_LOG_LEVEL=warn", "BACKSTOCK_ENGINE_BATCH=3", NULL};
  ex_start_backstock(&X, &eng[k], k == 0 ? "engine 0 stderr" : "engine 1 stderr", args, env);
}

/* Kill and restart engines at random until @sql gives @want (at most PHASE_MS). */
static void chaos_until(const char *want, const char *sql)
{
  int64_t end = util_mono_ms() + PHASE_MS;
  for (;;) {
    char *v = ts_sql_value(X.t.c, sql);
    bool done = strcmp(v, want) == 0;
    if (done) {
      free(v);
      return;
    }
    if (util_mono_ms() > end) {
      ex_dump(&X);
      print_error("%s\n  got  \"%s\"\n  want \"%s\" after %d ms of chaos (seed %u, %u kills)\n",
                  sql, v, want, PHASE_MS, seed, kills);
      free(v);
      fail();
    }
    free(v);
    util_sleep_ms(20 + (unsigned)(rand_r(&seed) % 200));
    /* One of them, or both at once (then no engine runs for a moment). */
    int k = (int)(rand_r(&seed) % 3);
    for (int j = 0; j < 2; j++)
      if (k == j || k == 2) {
        ex_kill(&eng[j]);
        kills++;
      }
    util_sleep_ms((unsigned)(rand_r(&seed) % 50));
    for (int j = 0; j < 2; j++)
      if (k == j || k == 2)
        start_engine(j);
  }
}

static void test_killed_engines(void **state)
{
  (void)state;
  struct tl *t = &X.t;
  const char *s = getenv("BACKSTOCK_TEST_SEED");
  seed = s != NULL ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL) ^ (unsigned)getpid();
  print_message("seed %u\n", seed);
  ex_start_sim(&X, &sim,
               "price.AAPL = 149.50\nprice.MSFT = 399.99\nbehaviour.MSFT = partial:2:30\n");
  ex_start_cust(&X, &cust, "");
  char *cargs[] = {"connector", NULL};
  ex_start_backstock(&X, &conn, "connector stderr", cargs, NULL);
  char *wargs[] = {"custody", "watch", NULL};
  ex_start_backstock(&X, &watch, "custody watch stderr", wargs, NULL);
  start_engine(0);
  start_engine(1);

  /* Mints of 1..10 AAPL and 2..11 MSFT (two partial fills each). */
  int64_t mint[N_MINT], redeem[N_REDEEM];
  for (int i = 0; i < N_MINT; i++) {
    char q[8];
    snprintf(q, sizeof q, "%d", i / 2 + 1 + i % 2);
    mint[i] = tl_mint(t, i % 2 == 0 ? "AAPL" : "MSFT", q, i % 2 == 0 ? "150" : "400");
    tl_fund(t, mint[i]);
  }
  chaos_until("20", "SELECT count(*) FROM orders WHERE kind = 'mint' AND state = 'settling'"
                    " AND (mint_policy = 'at_settlement' OR tokens_done > 0)");
  tl_advance(t, TL_DAY_MS);
  chaos_until("20", "SELECT count(*) FROM orders WHERE kind = 'mint' AND state = 'completed'");
  print_message("mints completed (%u kills so far)\n", kills);

  /* Redeem 1 AAPL and 2 MSFT, five times each: 55 AAPLx and 65 MSFTx were minted. */
  for (int i = 0; i < N_REDEEM; i++)
    redeem[i] = tl_redeem(t, i % 2 == 0 ? "AAPL" : "MSFT", i % 2 == 0 ? "1" : "2", NULL);
  chaos_until("10", "SELECT count(*) FROM orders WHERE kind = 'redeem' AND state = 'settling'");
  tl_advance(t, TL_DAY_MS);
  chaos_until("10",
              "SELECT count(*) FROM orders WHERE kind = 'redeem' AND state = 'payout_submitted'");
  print_message("redeems paid out (%u kills in all)\n", kills);
  if (eng[0].pid <= 0)
    start_engine(0);
  if (eng[1].pid <= 0)
    start_engine(1);
  util_sleep_ms(500);
  ex_stop(&eng[0]);
  ex_stop(&eng[1]);

  /* Exactly once, everywhere. */
  for (int i = 0; i < N_MINT; i++)
    tl_events(t, mint[i],
              i % 2 == 0
                  ? "requested,validated,awaiting_cash,cash_received,broker_submitted,filled,"
                    "settling,settling,settled_at_custodian,mint_submitted,minted,completed"
                  : "requested,validated,awaiting_cash,cash_received,broker_submitted,"
                    "partially_filled,filled,mint_submitted,minted,settling,settling,"
                    "settling,settled_at_custodian,completed");
  for (int i = 0; i < N_REDEEM; i++)
    tl_events(t, redeem[i],
              i % 2 == 0 ? "requested,validated,awaiting_tokens,tokens_received,burned,"
                           "broker_submitted,filled,settling,settling,cash_settled,"
                           "payout_submitted"
                         : "requested,validated,awaiting_tokens,tokens_received,"
                           "broker_submitted,partially_filled,filled,settling,settling,settling,"
                           "cash_settled,burned,payout_submitted");
  tl_expect(t, "30|30|30",
            "SELECT concat_ws('|', count(*), count(DISTINCT cl_ord_id),"
            " (SELECT count(*) FROM broker_orders)) FROM sim_orders");
  tl_expect(t, "20|20|20",
            "SELECT concat_ws('|', count(*), count(*) FILTER (WHERE state = 'executed'),"
            " (SELECT count(*) FROM chain_transfers c JOIN chain_intents i ON i.id = c.intent_id"
            " WHERE i.op = 'mint')) FROM chain_intents WHERE op = 'mint'");
  tl_expect(t, "10|10|10",
            "SELECT concat_ws('|', count(*), count(*) FILTER (WHERE state = 'executed'),"
            " (SELECT count(*) FROM chain_transfers c JOIN chain_intents i ON i.id = c.intent_id"
            " WHERE i.op = 'burn')) FROM chain_intents WHERE op = 'burn'");
  tl_expect(t, "50.000000000000000000|55.000000000000000000",
            "SELECT concat_ws('|', (SELECT balance FROM chain_balances WHERE token = 'AAPLx' AND"
            " address = '" TL_WALLET "' ORDER BY block DESC LIMIT 1), (SELECT balance FROM"
            " chain_balances WHERE token = 'MSFTx' AND address = '" TL_WALLET "' ORDER BY block"
            " DESC LIMIT 1))");
  tl_expect(t, "0", "SELECT count(*) FROM orders WHERE attention IS NOT NULL");
  char note[32];
  snprintf(note, sizeof note, " (seed %u)", seed);
  ex_books_ok(&X, note);
  ex_stop(&watch);
  ex_stop(&cust);
  ex_stop(&conn);
  ex_stop(&sim);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_killed_engines, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
