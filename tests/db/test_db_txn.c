/*
 * Tests of the transaction runner (db/db_txn.c) against a real
 * PostgreSQL: real serialization failures provoked with a second
 * connection (write skew under SERIALIZABLE), a real deadlock between two
 * threads, the runner retrying and finally succeeding, giving up with
 * ERR_DB_CONFLICT when conflicts never stop, hard errors not retried, and
 * a connection lost inside the body being reconnected and retried.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/testsupport.h"

static struct ts_db db;

static int setup(void **state)
{
  (void)state;
  ts_db_create("txn", &db);
  struct db_conn *c = ts_db_connect(&db, 1);
  ts_sql(c, "CREATE SCHEMA backstock;"
            "CREATE TABLE doctors (name text PRIMARY KEY, on_call boolean NOT NULL);"
            "CREATE TABLE pair (id int PRIMARY KEY, v int NOT NULL)");
  db_close(c);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  ts_db_drop(&db);
  return 0;
}

static void reset(struct db_conn *c)
{
  ts_sql(c, "DELETE FROM doctors;"
            "INSERT INTO doctors VALUES ('alice', true), ('bob', true);"
            "DELETE FROM pair; INSERT INTO pair VALUES (1, 0), (2, 0)");
}

static long long value(struct db_conn *c, const char *sql)
{
  char *v = ts_sql_value(c, sql);
  long long n = strtoll(v, NULL, 10);
  free(v);
  return n;
}

/*
 * The classic write skew: each transaction checks that two doctors are on
 * call, then takes one off.  Serially only one can go off call.
 */
static const struct db_stmt st_count = {"count_on_call",
                                        "SELECT count(*) FROM doctors WHERE on_call", 0};
static const struct db_stmt st_off = {"go_off_call",
                                      "UPDATE doctors SET on_call = false WHERE name = $1", 1};

struct skew {
  struct db_conn *other; /* the interfering connection */
  unsigned interfere;    /* attempts on which the other one commits first */
  unsigned calls;
  long long seen_on_call;
};

static void other_goes_off(struct db_conn *o, const char *who)
{
  /* Runs a whole conflicting transaction on the second connection. */
  ts_sql(o, "BEGIN ISOLATION LEVEL SERIALIZABLE");
  ts_sql(o, "SELECT count(*) FROM doctors WHERE on_call");
  const char *p[] = {who};
  assert_true(db_exec(o, &st_off, p, NULL) == 1);
  ts_sql(o, "COMMIT");
}

static enum db_qs skew_body(struct db_conn *c, void *cls)
{
  struct skew *s = cls;
  PGresult *r;
  bool interfere = ++s->calls <= s->interfere;
  /* Put bob back on call before our snapshot, so every attempt conflicts. */
  if (interfere)
    ts_sql(s->other, "UPDATE doctors SET on_call = true WHERE name = 'bob'");
  enum db_qs qs = db_exec(c, &st_count, NULL, &r);
  if (qs < 0)
    return qs;
  s->seen_on_call = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  if (interfere)
    other_goes_off(s->other, "bob");
  if (s->seen_on_call < 2)
    return DB_QS_NONE; /* not enough doctors left: do nothing */
  const char *p[] = {"alice"};
  return db_exec(c, &st_off, p, NULL);
}

static void test_commit_plain(void **state)
{
  (void)state;
  struct db_conn *c = ts_db_connect(&db, 5);
  reset(c);
  struct skew s = {.other = NULL, .interfere = 0};
  assert_int_equal(db_txn(c, "plain", skew_body, &s), 0);
  assert_int_equal(s.calls, 1);
  assert_int_equal(c->stats.txn_commits, 1);
  assert_int_equal(c->stats.txn_retries, 0);
  assert_int_equal(value(c, "SELECT count(*) FROM doctors WHERE on_call"), 1);
  db_close(c);
}

/* One real serialization failure: the runner retries once and succeeds. */
static void test_retry_then_succeed(void **state)
{
  (void)state;
  struct db_conn *c = ts_db_connect(&db, 5);
  struct db_conn *o = ts_db_connect(&db, 1);
  reset(c);
  struct skew s = {.other = o, .interfere = 1};
  assert_int_equal(db_txn(c, "skew", skew_body, &s), 0);
  /* First attempt saw 2 on call and conflicted; the second saw bob off. */
  assert_int_equal(s.calls, 2);
  assert_int_equal(s.seen_on_call, 1);
  assert_int_equal(c->stats.txn_retries, 1);
  assert_int_equal(c->stats.txn_commits, 1);
  assert_string_equal(c->last_sqlstate, "40001");
  /* Serial outcome: bob off (the other), alice still on call. */
  assert_int_equal(value(c, "SELECT count(*) FROM doctors WHERE on_call AND name = 'alice'"), 1);
  assert_int_equal(value(c, "SELECT count(*) FROM doctors WHERE on_call"), 1);
  db_close(o);
  db_close(c);
}

/* Conflicts on every attempt: the runner gives up after max_retries. */
static void test_gives_up(void **state)
{
  (void)state;
  struct db_conn *c = ts_db_connect(&db, 4);
  struct db_conn *o = ts_db_connect(&db, 1);
  reset(c);
  struct skew s = {.other = o, .interfere = 1000};
  assert_int_equal(db_txn(c, "skew_forever", skew_body, &s), -ERR_DB_CONFLICT);
  assert_int_equal(s.calls, 4);
  assert_int_equal(c->stats.txn_retries, 3);
  assert_int_equal(c->stats.txn_commits, 0);
  assert_int_equal(c->stats.txn_gave_up, 1);
  assert_int_equal(err_http_status(-ERR_DB_CONFLICT), 503);
  /* Nothing of ours committed: alice is still on call. */
  assert_int_equal(value(c, "SELECT count(*) FROM doctors WHERE on_call AND name = 'alice'"), 1);
  assert_false(c->in_txn);
  /* The connection is usable afterwards. */
  struct skew calm = {.other = NULL};
  ts_sql(c, "UPDATE doctors SET on_call = true");
  assert_int_equal(db_txn(c, "calm", skew_body, &calm), 0);
  db_close(o);
  db_close(c);
}

/* A hard error is returned at once, not retried. */
static enum db_qs bad_sql(struct db_conn *c, void *cls)
{
  static const struct db_stmt st = {"bad_insert", "INSERT INTO pair VALUES (1, 1)", 0};
  (*(unsigned *)cls)++;
  return db_exec(c, &st, NULL, NULL); /* duplicate key */
}

static void test_hard_error_not_retried(void **state)
{
  (void)state;
  struct db_conn *c = ts_db_connect(&db, 5);
  reset(c);
  unsigned calls = 0;
  assert_int_equal(db_txn(c, "dup", bad_sql, &calls), -ERR_DB_HARD);
  assert_int_equal(calls, 1);
  assert_string_equal(c->last_sqlstate, "23505");
  assert_int_equal(c->stats.txn_retries, 0);
  assert_false(c->in_txn);
  db_close(c);
}

/* A real deadlock: two threads lock the two rows in opposite orders. */
struct dl {
  struct db_conn *c;
  int first, second;
  pthread_barrier_t *barrier;
  unsigned calls;
  int rc;
};

static enum db_qs dl_body(struct db_conn *c, void *cls)
{
  static const struct db_stmt st = {"bump_pair", "UPDATE pair SET v = v + 1 WHERE id = $1", 1};
  struct dl *d = cls;
  char a[8], b[8];
  snprintf(a, sizeof a, "%d", d->first);
  snprintf(b, sizeof b, "%d", d->second);
  const char *pa[] = {a}, *pb[] = {b};
  d->calls++;
  enum db_qs qs = db_exec(c, &st, pa, NULL);
  if (qs < 0)
    return qs;
  if (d->calls == 1)
    pthread_barrier_wait(d->barrier); /* both hold their first row */
  return db_exec(c, &st, pb, NULL);
}

static void *dl_thread(void *arg)
{
  struct dl *d = arg;
  d->rc = db_txn(d->c, "deadlock", dl_body, d);
  return NULL;
}

static void test_deadlock_retried(void **state)
{
  (void)state;
  pthread_barrier_t barrier;
  pthread_t t1, t2;
  struct db_conn *setup_c = ts_db_connect(&db, 1);
  reset(setup_c);
  struct dl d1 = {.c = ts_db_connect(&db, 5), .first = 1, .second = 2, .barrier = &barrier};
  struct dl d2 = {.c = ts_db_connect(&db, 5), .first = 2, .second = 1, .barrier = &barrier};
  ts_sql(d1.c, "SET deadlock_timeout = '50ms'");
  ts_sql(d2.c, "SET deadlock_timeout = '50ms'");
  /* READ COMMITTED so the waiter blocks on the lock (a deadlock), rather
   * than failing at once with a serialization error. */
  ts_sql(d1.c, "SET default_transaction_isolation = 'read committed'");
  ts_sql(d2.c, "SET default_transaction_isolation = 'read committed'");
  pthread_barrier_init(&barrier, NULL, 2);
  pthread_create(&t1, NULL, dl_thread, &d1);
  pthread_create(&t2, NULL, dl_thread, &d2);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  pthread_barrier_destroy(&barrier);
  assert_int_equal(d1.rc, 0);
  assert_int_equal(d2.rc, 0);
  /* Exactly one was the deadlock victim and ran again. */
  assert_int_equal(d1.c->stats.txn_retries + d2.c->stats.txn_retries, 1);
  assert_int_equal(d1.calls + d2.calls, 3);
  struct db_conn *victim = d1.c->stats.txn_retries == 1 ? d1.c : d2.c;
  assert_string_equal(victim->last_sqlstate, "40P01");
  /* Both increments of both rows landed exactly once each. */
  assert_int_equal(value(setup_c, "SELECT v FROM pair WHERE id = 1"), 2);
  assert_int_equal(value(setup_c, "SELECT v FROM pair WHERE id = 2"), 2);
  db_close(d1.c);
  db_close(d2.c);
  db_close(setup_c);
}

/* The connection dies inside the body: reconnect, run the body again. */
struct lost {
  struct db_conn *killer;
  unsigned calls;
};

static enum db_qs lost_body(struct db_conn *c, void *cls)
{
  static const struct db_stmt st = {"bump_one", "UPDATE pair SET v = v + 10 WHERE id = 1", 0};
  struct lost *l = cls;
  l->calls++;
  if (l->calls == 1) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(c->pg));
    ts_sql(l->killer, sql);
    util_sleep_ms(100);
  }
  return db_exec(c, &st, NULL, NULL);
}

static void test_connection_lost_in_body(void **state)
{
  (void)state;
  struct db_conn *c = ts_db_connect(&db, 5);
  struct db_conn *k = ts_db_connect(&db, 1);
  reset(c);
  struct lost l = {.killer = k};
  assert_int_equal(db_txn(c, "lost", lost_body, &l), 0);
  assert_int_equal(l.calls, 2);
  assert_int_equal(c->stats.reconnects, 1);
  assert_int_equal(c->stats.txn_commits, 1);
  /* Applied exactly once. */
  assert_int_equal(value(c, "SELECT v FROM pair WHERE id = 1"), 10);
  db_close(k);
  db_close(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_commit_plain),     cmocka_unit_test(test_retry_then_succeed),
      cmocka_unit_test(test_gives_up),         cmocka_unit_test(test_hard_error_not_retried),
      cmocka_unit_test(test_deadlock_retried), cmocka_unit_test(test_connection_lost_in_body),
  };
  log_setup(LOGL_WARN, LOG_FORMAT_TEXT, stderr);
  return cmocka_run_group_tests(tests, setup, teardown);
}
