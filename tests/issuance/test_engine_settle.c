/*
 * dbtest of the settlement queue (issuance_settle.c): an item is not
 * tried before its settlement date; unconfirmed, it is retried every
 * settle_retry_s on the clock with one event for the order's move to
 * settlement_failed (not one per retry), and escalated to
 * requires_attention exactly escalate_days NYSE business days after its
 * settlement date; confirmed late, the order goes on from
 * settlement_failed; a confirmation with another quantity is no
 * confirmation, one with another date is (noted); an ExecID outside the
 * custodian's character set is matched by its hashed transaction id; and
 * two workers on their own connections, racing over 40 items of 20
 * orders, confirm each item exactly once.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "custody/custody.h"
#include "tests/issuance/test_engine_lib.h"

TL_FIXTURE("engine_settle")

/* AAPL 10 at 149.50, filled on Tuesday 2027-03-02 (settles Wednesday). */
static int64_t filled(const char *exec_id)
{
  int64_t id = tl_mint_filled(&T, "AAPL", "10", "150", "149.5", exec_id);
  tl_expect(&T, "settling", "SELECT state FROM orders WHERE id = %lld", (long long)id);
  return id;
}

static void test_retry_escalate(void **state)
{
  (void)state;
  int64_t id = filled("S1");
  /* Wednesday 10:00 New York: due, not confirmed. */
  tl_advance(&T, TL_DAY_MS);
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.retried, 1);
  tl_expect(&T, "pending|1|no matching sese.025 confirmation yet|2027-03-03 15:15:00+00",
            "SELECT concat_ws('|', state, attempts, last_error, date_trunc('second',"
            " next_try_at)) FROM settlement_items WHERE exec_id = 'S1'");
  /* On its settlement date a miss is no fail yet: the custodian may confirm later that day. */
  tl_expect(&T, "settling", "SELECT state FROM orders WHERE id = %lld", (long long)id);
  /* Not again before next_try_at; then once more. */
  tl_advance(&T, 899 * 1000);
  assert_int_equal(tl_run(&T).retried, 0);
  tl_advance(&T, 1000);
  assert_int_equal(tl_run(&T).retried, 1);
  tl_expect(&T, "2", "SELECT attempts FROM settlement_items WHERE exec_id = 'S1'");
  tl_expect(&T, "settling", "SELECT state FROM orders WHERE id = %lld", (long long)id);
  /* Thursday: failed (one event); Friday (2 business days after): retried, no new event. */
  tl_advance(&T, TL_DAY_MS);
  assert_int_equal(tl_run(&T).retried, 1);
  tl_advance(&T, TL_DAY_MS);
  st = tl_run(&T);
  assert_int_equal(st.retried, 1);
  assert_int_equal(st.escalated, 0);
  tl_events(&T, id,
            "requested,validated,awaiting_cash,cash_received,broker_submitted,filled,settling,"
            "settlement_failed");
  /* Monday 03-08 (3 business days after): escalated. */
  tl_advance(&T, 3 * TL_DAY_MS);
  st = tl_run(&T);
  assert_int_equal(st.escalated, 1);
  const char *why = "settlement of S1 (settle date 2027-03-03) not confirmed by the custodian "
                    "after 3 business days";
  tl_expect(&T, why, "SELECT attention FROM orders WHERE id = %lld", (long long)id);
  tl_expect(&T, "requires_attention|5",
            "SELECT concat_ws('|', state, attempts)"
            " FROM settlement_items WHERE exec_id = 'S1'");
  tl_events(&T, id,
            "requested,validated,awaiting_cash,cash_received,broker_submitted,filled,settling,"
            "settlement_failed,requires_attention");
  tl_expect(&T, "S1|5|2027-03-03",
            "SELECT concat_ws('|', detail->>'unsettled',"
            " detail->>'attempts', detail->>'settle_date') FROM order_events"
            " WHERE order_id = 1 AND to_state = 'requires_attention'");
  /* Escalated items are no longer in the queue. */
  tl_advance(&T, TL_DAY_MS);
  st = tl_run(&T);
  assert_int_equal(st.retried + st.escalated + st.confirmed, 0);
  tl_books_ok(&T);
}

static void test_confirmed_late(void **state)
{
  (void)state;
  int64_t id = filled("S2");
  tl_advance(&T, TL_DAY_MS);
  assert_int_equal(tl_run(&T).retried, 1);
  tl_advance(&T, TL_DAY_MS);
  assert_int_equal(tl_run(&T).retried, 1);
  tl_expect(&T, "settlement_failed", "SELECT state FROM orders WHERE id = %lld", (long long)id);
  /* The custodian's confirmation arrives, a day late and with its own date. */
  tl_custody(&T, "S2", TL_AAPL, "10", "RECE", "2027-03-04", "1495.00");
  tl_advance(&T, 900 * 1000);
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.confirmed, 1);
  assert_int_equal(st.completed, 1);
  tl_events(&T, id,
            "requested,validated,awaiting_cash,cash_received,broker_submitted,filled,settling,"
            "settlement_failed,settlement_failed,settled_at_custodian,mint_submitted,minted,"
            "completed");
  tl_expect(&T, "2027-03-03|2027-03-04|the custodian's settlement date differs from ours",
            "SELECT concat_ws('|', detail->>'settle_date', detail->>'custody_settle_date',"
            " detail->>'note') FROM order_events WHERE order_id = %lld AND detail ? 'settled'",
            (long long)id);
  tl_expect(&T, "confirmed|2027-03-04|3",
            "SELECT concat_ws('|', state, custody_settle_date, attempts) FROM settlement_items"
            " WHERE exec_id = 'S2'");
  tl_books_ok(&T);
}

/*
 * A miss on the settlement date puts the item off by settlement_retry_s;
 * a confirmation ingested a moment later makes it due again at once,
 * without the clock moving.
 */
static void test_confirmed_after_try(void **state)
{
  (void)state;
  int64_t id = filled("S5");
  tl_advance(&T, TL_DAY_MS);
  assert_int_equal(tl_run(&T).retried, 1);
  assert_int_equal(tl_run(&T).retried, 0); /* put off: not tried again */
  tl_custody(&T, "S5", TL_AAPL, "10", "RECE", "2027-03-03", "1495.00");
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.confirmed, 1);
  assert_int_equal(st.completed, 1);
  tl_expect(&T, "completed", "SELECT state FROM orders WHERE id = %lld", (long long)id);
  tl_expect(&T, "confirmed|2",
            "SELECT concat_ws('|', state, attempts) FROM settlement_items"
            " WHERE exec_id = 'S5'");
  tl_books_ok(&T);
}

static void test_mismatch_and_hashed_id(void **state)
{
  (void)state;
  /* Another quantity is no confirmation; another direction neither. */
  int64_t a = filled("S3");
  tl_custody(&T, "S3", TL_AAPL, "9", "RECE", "2027-03-03", "1345.50");
  /* An ExecID the custodian cannot use as it is: matched by its hashed form. */
  int64_t b = filled("S 4/x");
  char tx[CUSTODY_ID_MAX];
  custody_simcust_tx_id("S 4/x", tx);
  assert_int_equal(strncmp(tx, "H.", 2), 0);
  tl_custody(&T, tx, TL_AAPL, "10", "RECE", "2027-03-03", "1495.00");
  tl_advance(&T, TL_DAY_MS);
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.confirmed, 1);
  assert_int_equal(st.retried, 1);
  tl_expect(&T, "settling|1",
            "SELECT concat_ws('|', o.state, s.attempts) FROM orders o JOIN"
            " settlement_items s ON s.order_id = o.id WHERE o.id = %lld",
            (long long)a);
  tl_expect(&T, "completed", "SELECT state FROM orders WHERE id = %lld", (long long)b);
  tl_expect(&T, tx,
            "SELECT detail->>'custody_tx_id' FROM order_events WHERE order_id = %lld"
            " AND detail ? 'settled'",
            (long long)b);
  tl_expect(&T, "1", "SELECT count(*) FROM books_postings WHERE key LIKE 'order-%lld-settle-i%%'",
            (long long)b);
  tl_books_ok(&T);
}

/* ------------------------------------------------------------------ */
/* Two workers                                                         */
/* ------------------------------------------------------------------ */

#define N_ORDERS 20

struct worker {
  struct db_conn *c;
  struct engine *e;
  unsigned confirmed;
  int rc;
};

static pthread_barrier_t start;

static void *work(void *arg)
{
  struct worker *w = arg;
  int idle = 0;
  pthread_barrier_wait(&start);
  for (int i = 0; i < 400 && idle < 3; i++) {
    struct engine_stats st;
    memset(&st, 0, sizeof st);
    int rc = engine_settle_step(w->e, &st);
    if (rc < 0) {
      w->rc = rc;
      return NULL;
    }
    w->confirmed += st.confirmed;
    idle = rc == 0 ? idle + 1 : 0;
    util_sleep_ms(2); /* let the other one in between batches */
  }
  return NULL;
}

/*
 * The claim skips an item another worker holds: with K0's row locked by
 * a second connection, a pass confirms K1 at once and leaves K0 pending,
 * without waiting; once released, the next pass confirms K0.
 */
static void test_skip_locked(void **state)
{
  (void)state;
  int64_t a = filled("K0"), b = filled("K1");
  tl_custody(&T, "K0", TL_AAPL, "10", "RECE", "2027-03-03", "1495.00");
  tl_custody(&T, "K1", TL_AAPL, "10", "RECE", "2027-03-03", "1495.00");
  tl_advance(&T, TL_DAY_MS);
  struct db_conn *l = ts_db_connect(&T.db, 1);
  ts_sql(l, "BEGIN");
  ts_sql(l, "SELECT id FROM settlement_items WHERE exec_id = 'K0' FOR UPDATE");
  int64_t t0 = util_mono_ms();
  struct engine_stats st = tl_run(&T);
  assert_true(util_mono_ms() - t0 < 5000); /* it did not wait for the lock */
  assert_int_equal(st.confirmed, 1);
  tl_expect(&T, "pending|confirmed",
            "SELECT string_agg(state, '|' ORDER BY exec_id) FROM settlement_items"
            " WHERE exec_id IN ('K0', 'K1')");
  ts_sql(l, "ROLLBACK");
  db_close(l);
  st = tl_run(&T);
  assert_int_equal(st.confirmed, 1);
  tl_expect(&T, "completed|completed",
            "SELECT string_agg(state, '|' ORDER BY id) FROM orders WHERE id IN (%lld, %lld)",
            (long long)a, (long long)b);
  tl_books_ok(&T);
}

static void test_two_workers(void **state)
{
  (void)state;
  char ex[32];
  /* 20 orders of 10, each filled in two executions of 5: 40 items. */
  int64_t ids[N_ORDERS];
  for (int i = 0; i < N_ORDERS; i++) {
    ids[i] = tl_mint(&T, "AAPL", "10", "150");
    tl_fund(&T, ids[i]);
  }
  tl_run(&T);
  for (int i = 0; i < N_ORDERS; i++) {
    for (int k = 0; k < 2; k++) {
      snprintf(ex, sizeof ex, "W%d-%d", i, k);
      tl_exec(&T, ids[i], 'F', ex, NULL, "5", "149.5", "2027-03-02", "2027-03-03");
      tl_custody(&T, ex, TL_AAPL, "5", "RECE", "2027-03-03", "747.50");
    }
    tl_broker(&T, ids[i], "filled", "10");
  }
  tl_run(&T);
  tl_expect(&T, "40|0",
            "SELECT concat_ws('|', count(*), count(*) FILTER (WHERE state <>"
            " 'pending')) FROM settlement_items");
  tl_advance(&T, TL_DAY_MS);
  /* Small batches, so that both keep coming back to the queue. */
  struct engine_cfg cfg = T.cfg;
  cfg.batch = 2;
  struct worker w[2];
  pthread_t th[2];
  for (int i = 0; i < 2; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].c = ts_db_connect(&T.db, 50);
    assert_int_equal(engine_open(w[i].c, &T.cal, &cfg, &w[i].e), 0);
  }
  assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  pthread_barrier_destroy(&start);
  for (int i = 0; i < 2; i++) {
    print_message("worker %d confirmed %u items (%lu retries of its transactions)\n", i,
                  w[i].confirmed, w[i].c->stats.txn_retries);
    assert_int_equal(w[i].rc, 0);
    engine_free(w[i].e);
    db_close(w[i].c);
  }
  assert_int_equal(w[0].confirmed + w[1].confirmed, 40);
  /* Whether both took part depends on scheduling (test_skip_locked
   * proves the claim skips a locked item deterministically). */
  tl_expect(&T, "40|40",
            "SELECT concat_ws('|', count(*), count(DISTINCT custody_document))"
            " FROM settlement_items WHERE state = 'confirmed'");
  tl_expect(&T, "40", "SELECT count(*) FROM books_postings WHERE key LIKE 'order-%%-settle-W%%'");
  tl_expect(&T, "40|40",
            "SELECT concat_ws('|', count(*), count(DISTINCT detail->>'settled'))"
            " FROM order_events WHERE detail ? 'settled'");
  tl_expect(&T, "20", "SELECT count(*) FROM order_events WHERE to_state = 'settled_at_custodian'");
  tl_expect(&T, "20|10.000000|1495.00",
            "SELECT concat_ws('|', count(*), min(settled_qty), max(settled_cash)) FROM orders"
            " WHERE state = 'settled_at_custodian'");
  tl_books_ok(&T);
  /* The engine mints each once. */
  struct engine_stats st = tl_run(&T);
  assert_int_equal(st.minted, 20);
  tl_expect(&T, "20", "SELECT count(*) FROM chain_transfers");
  tl_books_ok(&T);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_retry_escalate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_confirmed_late, setup, teardown),
      cmocka_unit_test_setup_teardown(test_confirmed_after_try, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mismatch_and_hashed_id, setup, teardown),
      cmocka_unit_test_setup_teardown(test_skip_locked, setup, teardown),
      cmocka_unit_test_setup_teardown(test_two_workers, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
