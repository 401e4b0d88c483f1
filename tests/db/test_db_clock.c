/*
 * The one clock (db/db_clock.c, migrations/0012-clock.sql) on a real
 * PostgreSQL, a fresh migrated database per test: it starts as the wall
 * clock; advance moves it by exactly the step (the offset to the wall
 * clock is exact at speed 1, since both are read at one instant); speed
 * 3600 turns 100 ms of wall time into 360 s; the time is continuous across
 * a change of speed; backwards is refused (advance < 0, set before now)
 * and changes nothing; two connections advancing at once both count; a
 * change inside the caller's transaction commits or rolls back with it;
 * NOTIFY clock carries the new time.
 */
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

#define HOUR_MS 3600000LL
#define DAY_MS  86400000LL

static struct ts_db db;
static struct db_conn *c;

static int setup(void **state)
{
  (void)state;
  char msg[256];
  ts_db_create("clock", &db);
  c = ts_db_connect(&db, 50);
  return db_migrate(c, migrations_all, migrations_count, NULL, msg, sizeof msg);
}

static int teardown(void **state)
{
  (void)state;
  db_close(c);
  ts_db_drop(&db);
  return 0;
}

static struct db_clock get(struct db_conn *conn)
{
  struct db_clock k;
  memset(&k, 0, sizeof k);
  assert_int_equal(db_clock_get(conn, &k), 0);
  return k;
}

/* A fresh database's clock is the wall clock: speed 1, no offset. */
static void test_starts_as_wall_clock(void **state)
{
  (void)state;
  int64_t before = util_now_ms(), ms = 0;
  struct db_clock k = get(c);
  int64_t after = util_now_ms();
  assert_int_equal(k.speed, 1);
  assert_int_equal(k.now_ms, k.wall_ms);
  assert_int_equal(k.anchor_virtual_ms, k.anchor_wall_ms);
  /* Same host: the server's clock is ours. */
  assert_true(k.now_ms >= before - 1000 && k.now_ms <= after + 1000);
  assert_int_equal(db_clock_now(c, &ms), 0);
  assert_true(ms >= k.now_ms && ms <= util_now_ms() + 1000);
}

/* advance 86400 s: the business time moves by exactly one day. */
static void test_advance_one_day(void **state)
{
  (void)state;
  int64_t t0 = util_mono_ms();
  struct db_clock k0 = get(c), k1;
  assert_int_equal(db_clock_advance(c, DAY_MS, &k1), 0);
  int64_t elapsed = util_mono_ms() - t0;
  /* One day plus the real time between the two readings, no more. */
  assert_true(k1.now_ms - k0.now_ms >= DAY_MS);
  assert_true(k1.now_ms - k0.now_ms <= DAY_MS + elapsed + 1);
  /* At speed 1 the offset to the wall clock is exact. */
  assert_int_equal(k1.now_ms - k1.wall_ms, DAY_MS);
  assert_int_equal(k1.anchor_virtual_ms - k1.anchor_wall_ms, DAY_MS);
  assert_int_equal(k1.speed, 1);
  struct db_clock k2 = get(c);
  assert_int_equal(k2.now_ms - k2.wall_ms, DAY_MS);
  assert_true(k2.now_ms >= k1.now_ms);
  /* db_clock_now() and clock_now() in SQL say the same. */
  int64_t ms;
  assert_int_equal(db_clock_now(c, &ms), 0);
  assert_true(ms - util_now_ms() >= DAY_MS - 1000 && ms - util_now_ms() <= DAY_MS + 1000);
  char *d = ts_sql_value(c, "SELECT (clock_now() - clock_timestamp() > interval '23 hours 59 min')"
                            " AND (clock_now() - clock_timestamp() < interval '24 hours 1 min')");
  assert_string_equal(d, "t");
  free(d);
  /* Steps add up. */
  assert_int_equal(db_clock_advance(c, 90 * 60 * 1000, &k1), 0);
  assert_int_equal(k1.now_ms - k1.wall_ms, DAY_MS + 90 * 60 * 1000);
  /* Zero is allowed and changes nothing. */
  assert_int_equal(db_clock_advance(c, 0, &k1), 0);
  assert_int_equal(k1.now_ms - k1.wall_ms, DAY_MS + 90 * 60 * 1000);
}

/* speed 3600: 100 ms of wall time are 360 s of business time; then speed 1 again. */
static void test_speed(void **state)
{
  (void)state;
  struct db_clock k0 = get(c), k1, k2, k3;
  int64_t t0 = util_mono_ms();
  assert_int_equal(db_clock_set_speed(c, 3600, &k1), 0);
  assert_int_equal(k1.speed, 3600);
  /* Continuous: the change itself moved the time only by the real time spent. */
  assert_true(k1.now_ms >= k0.now_ms);
  assert_true(k1.now_ms - k0.now_ms <= util_mono_ms() - t0 + 1);
  util_sleep_ms(100);
  k2 = get(c);
  /* The server read its clock for k1 after t0 and for k2 before now: the
   * real time between the two readings is at most this (a loaded machine
   * may delay either reply, so the bound starts before the k1 call). */
  int64_t real = util_mono_ms() - t0;
  int64_t wall = k2.wall_ms - k1.wall_ms, virt = k2.now_ms - k1.now_ms;
  assert_true(wall >= 99 && wall <= real + 2);
  /* 100 ms x 3600 = 360 s, and exactly wall x 3600 up to the ms roundings. */
  assert_true(virt >= 99 * 3600 && virt <= (real + 2) * 3600);
  assert_true(virt - wall * 3600 >= -3601 && virt - wall * 3600 <= 3601);
  /* Out of range: refused, the clock unchanged. */
  assert_int_equal(db_clock_set_speed(c, 0, NULL), -ERR_INVALID_ARGUMENT);
  assert_int_equal(db_clock_set_speed(c, -5, NULL), -ERR_INVALID_ARGUMENT);
  assert_int_equal(db_clock_set_speed(c, 1000001, NULL), -ERR_INVALID_ARGUMENT);
  assert_int_equal(get(c).speed, 3600);
  /* Back to speed 1: the time gained stays, and from there it runs as the wall clock. */
  assert_int_equal(db_clock_set_speed(c, 1, &k3), 0);
  assert_int_equal(k3.speed, 1);
  assert_true(k3.now_ms >= k2.now_ms);
  int64_t offset = k3.now_ms - k3.wall_ms;
  assert_true(offset >= 99 * 3599 && offset <= (util_mono_ms() - t0 + 2) * 3600);
  util_sleep_ms(30);
  struct db_clock k4 = get(c);
  assert_true(k4.now_ms - k4.wall_ms >= offset - 1 && k4.now_ms - k4.wall_ms <= offset + 1);
  assert_int_equal(db_clock_set_speed(c, DB_CLOCK_SPEED_MAX, &k4), 0);
  assert_int_equal(k4.speed, 1000000);
}

/* Never backwards: a negative step or an earlier time is refused and changes nothing. */
static void test_backwards_refused(void **state)
{
  (void)state;
  struct db_clock k0 = get(c), k1;
  assert_int_equal(db_clock_advance(c, -1, NULL), -ERR_INVALID_ARGUMENT);
  assert_int_equal(db_clock_advance(c, -DAY_MS, NULL), -ERR_INVALID_ARGUMENT);
  assert_int_equal(db_clock_advance(c, DB_CLOCK_ADVANCE_MAX_MS + 1, NULL), -ERR_INVALID_ARGUMENT);
  assert_int_equal(db_clock_set(c, k0.now_ms - 1000, NULL), -ERR_INVALID_ARGUMENT);
  assert_int_equal(db_clock_set(c, -1, NULL), -ERR_INVALID_ARGUMENT);
  k1 = get(c);
  assert_int_equal(k1.now_ms, k1.wall_ms); /* nothing moved */
  assert_int_equal(k1.anchor_wall_ms, k0.anchor_wall_ms);
  /* Forward to an exact time: taken as given. */
  int64_t at = k1.now_ms + 5 * DAY_MS + 123;
  assert_int_equal(db_clock_set(c, at, &k1), 0);
  assert_int_equal(k1.now_ms, at);
  assert_int_equal(k1.anchor_virtual_ms, at);
  /* Now the earlier time is in the past: refused. */
  assert_int_equal(db_clock_set(c, at - 1, NULL), -ERR_INVALID_ARGUMENT);
  assert_true(get(c).now_ms >= at);
  /* The table itself refuses a speed out of range. */
  assert_int_equal(db_exec_sql(c, "UPDATE clock SET speed = 0"), DB_QS_HARD);
  assert_string_equal(c->last_sqlstate, "23514");
}

struct racer {
  struct db_conn *conn;
  int n, fails;
};

static void *race(void *arg)
{
  struct racer *r = arg;
  for (int i = 0; i < r->n; i++)
    if (db_clock_advance(r->conn, HOUR_MS, NULL) != 0)
      r->fails++;
  return NULL;
}

/* Two connections advancing at once: every step counts (conflicts are retried). */
static void test_concurrent_advance(void **state)
{
  (void)state;
  struct racer a = {ts_db_connect(&db, 50), 40, 0}, b = {ts_db_connect(&db, 50), 40, 0};
  pthread_t ta, tb;
  assert_int_equal(pthread_create(&ta, NULL, race, &a), 0);
  assert_int_equal(pthread_create(&tb, NULL, race, &b), 0);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  assert_int_equal(a.fails, 0);
  assert_int_equal(b.fails, 0);
  struct db_clock k = get(c);
  assert_int_equal(k.now_ms - k.wall_ms, 80 * HOUR_MS);
  db_close(a.conn);
  db_close(b.conn);
}

struct txn_step {
  int64_t delta;
  enum db_qs end; /* what the body returns after the step */
  int rc;
};

static enum db_qs step_tx(struct db_conn *conn, void *cls)
{
  struct txn_step *s = cls;
  s->rc = db_clock_advance(conn, s->delta, NULL);
  if (s->rc == -ERR_DB_CONFLICT)
    return DB_QS_SOFT;
  if (s->rc != 0)
    return DB_QS_HARD;
  int64_t ms;
  if (db_clock_now(conn, &ms) != 0)
    return DB_QS_HARD;
  return s->end;
}

/* Inside the caller's transaction the change commits or rolls back with it. */
static void test_inside_transaction(void **state)
{
  (void)state;
  struct txn_step s = {DAY_MS, DB_QS_HARD, -1};
  assert_int_equal(db_txn(c, "clock_rollback", step_tx, &s), -ERR_DB_HARD);
  assert_int_equal(s.rc, 0);
  struct db_clock k = get(c);
  assert_int_equal(k.now_ms - k.wall_ms, 0);
  s = (struct txn_step){2 * DAY_MS, DB_QS_NONE, -1};
  assert_int_equal(db_txn(c, "clock_commit", step_tx, &s), 0);
  k = get(c);
  assert_int_equal(k.now_ms - k.wall_ms, 2 * DAY_MS);
}

/* A change sends NOTIFY clock "<now ms> <speed>", at commit. */
static void test_notify(void **state)
{
  (void)state;
  struct db_conn *l = ts_db_connect(&db, 1);
  struct db_clock k;
  char want[64];
  ts_sql(l, "LISTEN clock");
  assert_int_equal(db_clock_advance(c, 7 * DAY_MS, &k), 0);
  snprintf(want, sizeof want, "%lld 1", (long long)k.now_ms);
  PGnotify *n = NULL;
  int64_t end = util_mono_ms() + 5000;
  while (n == NULL && util_mono_ms() < end) {
    struct pollfd p = {.fd = PQsocket(l->pg), .events = POLLIN};
    poll(&p, 1, 100);
    assert_int_equal(PQconsumeInput(l->pg), 1);
    n = PQnotifies(l->pg);
  }
  assert_non_null(n);
  assert_string_equal(n->relname, "clock");
  assert_string_equal(n->extra, want);
  PQfreemem(n);
  /* A refused change sends nothing. */
  assert_int_equal(db_clock_set(c, 0, NULL), -ERR_INVALID_ARGUMENT);
  assert_int_equal(db_clock_set_speed(c, 20, &k), 0);
  snprintf(want, sizeof want, "%lld 20", (long long)k.now_ms);
  n = NULL;
  end = util_mono_ms() + 5000;
  while (n == NULL && util_mono_ms() < end) {
    struct pollfd p = {.fd = PQsocket(l->pg), .events = POLLIN};
    poll(&p, 1, 100);
    assert_int_equal(PQconsumeInput(l->pg), 1);
    n = PQnotifies(l->pg);
  }
  assert_non_null(n);
  assert_string_equal(n->extra, want);
  PQfreemem(n);
  db_close(l);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_starts_as_wall_clock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_advance_one_day, setup, teardown),
      cmocka_unit_test_setup_teardown(test_speed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_backwards_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_advance, setup, teardown),
      cmocka_unit_test_setup_teardown(test_inside_transaction, setup, teardown),
      cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
  };
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
