/*
 * Tests of connections and the pool (db/db_conn.c, db/db_pool.c) on a
 * real PostgreSQL: session defaults, result statuses, statements prepared
 * once per connection and again after a reconnect, reconnection outside a
 * transaction after the server killed our session, refusal to reconnect
 * inside one, and the pool's limits.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/support/testsupport.h"

static struct ts_db db;

static int setup(void **state)
{
  (void)state;
  ts_db_create("conn", &db);
  struct db_conn *c = ts_db_connect(&db, 1);
  ts_sql(c, "CREATE SCHEMA backstock; CREATE TABLE kv (k text PRIMARY KEY, v int NOT NULL);"
            "INSERT INTO kv VALUES ('a', 1), ('b', 2), ('c', 3)");
  db_close(c);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  ts_db_drop(&db);
  return 0;
}

static void assert_sql(struct db_conn *c, const char *sql, const char *want)
{
  char *v = ts_sql_value(c, sql);
  assert_string_equal(v, want);
  free(v);
}

static void test_session_defaults(void **state)
{
  (void)state;
  struct db_conn *c = ts_db_connect(&db, 1);
  assert_sql(c, "SHOW default_transaction_isolation", "serializable");
  assert_sql(c, "SHOW search_path", "backstock, public");
  assert_sql(c, "SHOW TimeZone", "UTC");
  assert_sql(c, "SHOW application_name", "backstock");
  /* Unqualified names find our schema. */
  assert_sql(c, "SELECT sum(v) FROM kv", "6");
  db_close(c);
}

static const struct db_stmt st_get = {"kv_get", "SELECT v FROM kv WHERE k = $1", 1};
static const struct db_stmt st_set = {"kv_set", "UPDATE kv SET v = $2::int WHERE k = $1", 2};
static const struct db_stmt st_all = {"kv_all", "SELECT k FROM kv ORDER BY k", 0};

static void test_statuses_and_prepare_once(void **state)
{
  (void)state;
  struct db_conn *c = ts_db_connect(&db, 1);
  PGresult *r = NULL;
  const char *a[] = {"a"}, *zz[] = {"zz"};
  assert_int_equal(db_exec(c, &st_get, a, &r), 1);
  assert_string_equal(PQgetvalue(r, 0, 0), "1");
  PQclear(r);
  assert_int_equal(db_exec(c, &st_get, zz, NULL), DB_QS_NONE);
  /* No rows: no result handed over, nothing for the caller to free. */
  r = (PGresult *)&r;
  assert_int_equal(db_exec(c, &st_get, zz, &r), DB_QS_NONE);
  assert_null(r);
  assert_int_equal(db_exec(c, &st_all, NULL, NULL), 3);
  const char *upd[] = {"zz", "5"};
  assert_int_equal(db_exec(c, &st_set, upd, NULL), DB_QS_NONE);
  const char *upd2[] = {"b", "20"};
  assert_int_equal(db_exec(c, &st_set, upd2, NULL), 1);
  const char *upd3[] = {"b", "2"};
  assert_int_equal(db_exec(c, &st_set, upd3, NULL), 1);
  /* Three statements, each prepared once however often it ran. */
  assert_int_equal(c->stats.prepares, 3);
  assert_int_equal(c->n_prepared, 3);
  /* A bad parameter is a hard error with its SQLSTATE, nothing changed. */
  const char *bad[] = {"a", "not a number"};
  assert_int_equal(db_exec(c, &st_set, bad, NULL), DB_QS_HARD);
  assert_string_equal(c->last_sqlstate, "22P02");
  assert_sql(c, "SELECT v FROM kv WHERE k = 'a'", "1");
  db_close(c);
}

static void test_many_statements(void **state)
{
  (void)state;
  /* More statements than the set's first capacity: it must grow. */
  static struct db_stmt many[100];
  static char names[100][16];
  struct db_conn *c = ts_db_connect(&db, 1);
  for (int i = 0; i < 100; i++) {
    snprintf(names[i], sizeof names[i], "many_%d", i);
    many[i] = (struct db_stmt){names[i], "SELECT 1", 0};
    assert_int_equal(db_exec(c, &many[i], NULL, NULL), 1);
  }
  for (int i = 0; i < 100; i++)
    assert_int_equal(db_exec(c, &many[i], NULL, NULL), 1);
  assert_int_equal(c->stats.prepares, 100);
  db_close(c);
}

static void kill_backend(struct db_conn *victim)
{
  struct db_conn *k = ts_db_connect(&db, 1);
  char sql[96];
  snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(victim->pg));
  assert_sql(k, sql, "t");
  db_close(k);
  util_sleep_ms(100);
}

static enum db_qs read_a(struct db_conn *c, void *cls)
{
  PGresult *r;
  const char *a[] = {"a"};
  enum db_qs qs = db_exec(c, &st_get, a, &r);
  if (qs > 0) {
    *(int *)cls = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
  }
  return qs;
}

static void test_reconnect_outside_txn(void **state)
{
  (void)state;
  struct db_conn *c = ts_db_connect(&db, 3);
  int v = 0;
  assert_int_equal(db_txn(c, "read_a", read_a, &v), 0);
  assert_int_equal(c->stats.prepares, 1);
  int old_pid = PQbackendPID(c->pg);
  kill_backend(c);
  /* The next query on the dead session fails hard ... */
  assert_int_equal(db_exec(c, &st_get, (const char *[]){"a"}, NULL), DB_QS_HARD);
  /* ... and the next transaction reconnects first and re-prepares. */
  v = 0;
  assert_int_equal(db_txn(c, "read_a", read_a, &v), 0);
  assert_int_equal(v, 1);
  assert_int_equal(c->stats.reconnects, 1);
  assert_int_equal(c->stats.prepares, 2);
  assert_int_not_equal(PQbackendPID(c->pg), old_pid);
  /* Session defaults came back with the new session. */
  assert_sql(c, "SHOW default_transaction_isolation", "serializable");
  db_close(c);
}

static void test_no_reconnect_inside_txn(void **state)
{
  (void)state;
  struct db_conn *c = ts_db_connect(&db, 3);
  c->in_txn = true; /* as inside a transaction body */
  kill_backend(c);
  assert_int_equal(db_exec_sql(c, "SELECT 1"), DB_QS_HARD); /* libpq notices here */
  assert_int_equal(db_ensure(c), -ERR_DB_CONNECT);
  assert_int_equal(c->stats.reconnects, 0);
  c->in_txn = false;
  assert_int_equal(db_ensure(c), 0);
  assert_int_equal(c->stats.reconnects, 1);
  db_close(c);
}

static void test_connect_failure(void **state)
{
  (void)state;
  struct db_conn *c = NULL;
  assert_int_equal(
      db_connect("host=/nonexistent-backstock port=1 user=x connect_timeout=2", NULL, 1, &c),
      -ERR_DB_CONNECT);
  assert_null(c);
  db_close(NULL); /* does nothing */
}

static void test_pool(void **state)
{
  (void)state;
  struct db_pool *p;
  struct db_conn *c1, *c2, *c3;
  char info[2048];
  ts_db_conninfo(&db, info, sizeof info);
  assert_int_equal(db_pool_create(info, 2, 3, &p), 0);
  assert_int_equal(db_pool_get(p, 1000, &c1), 0);
  assert_int_equal(db_pool_get(p, 1000, &c2), 0);
  assert_ptr_not_equal(c1, c2);
  int64_t t0 = util_mono_ms();
  assert_int_equal(db_pool_get(p, 300, &c3), -ERR_DB_POOL_TIMEOUT);
  int64_t waited = util_mono_ms() - t0;
  assert_true(waited >= 250);
  db_pool_put(p, c2);
  assert_int_equal(db_pool_get(p, 300, &c3), 0);
  assert_ptr_equal(c3, c2); /* reused, not a new connection */
  assert_sql(c3, "SELECT count(*) FROM kv", "3");
  /* A connection killed while idle in the pool: libpq cannot know until it
   * talks, so the pool hands it out and the runner repairs it (BEGIN fails,
   * reconnect, run the body). */
  db_pool_put(p, c3);
  kill_backend(c3);
  assert_int_equal(db_pool_get(p, 300, &c3), 0);
  int v = 0;
  assert_int_equal(db_txn(c3, "read_a", read_a, &v), 0);
  assert_int_equal(v, 1);
  assert_int_equal(c3->stats.reconnects, 1);
  db_pool_put(p, c3);
  db_pool_put(p, c1);
  db_pool_free(p);

  /* A pool whose server is unreachable answers ERR_DB_CONNECT and keeps its slots. */
  assert_int_equal(
      db_pool_create("host=/nonexistent-backstock port=1 user=x connect_timeout=2", 1, 1, &p), 0);
  assert_int_equal(db_pool_get(p, 100, &c1), -ERR_DB_CONNECT);
  assert_int_equal(db_pool_get(p, 100, &c1), -ERR_DB_CONNECT);
  db_pool_free(p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_session_defaults),
      cmocka_unit_test(test_statuses_and_prepare_once),
      cmocka_unit_test(test_many_statements),
      cmocka_unit_test(test_reconnect_outside_txn),
      cmocka_unit_test(test_no_reconnect_inside_txn),
      cmocka_unit_test(test_connect_failure),
      cmocka_unit_test(test_pool),
  };
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  return cmocka_run_group_tests(tests, setup, teardown);
}
