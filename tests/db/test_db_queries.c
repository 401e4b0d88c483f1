/*
 * Tests of the query files of db/ on a migrated real database: extra
 * market closures read into a calendar, and the service_runs bookkeeping.
 */
#include <stdlib.h>
#include <string.h>

#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

static struct ts_db db;
static struct db_conn *c;

static int setup(void **state)
{
  (void)state;
  char msg[256];
  ts_db_create("queries", &db);
  c = ts_db_connect(&db, 3);
  return db_migrate(c, migrations_all, migrations_count, NULL, msg, sizeof msg);
}

static int teardown(void **state)
{
  (void)state;
  db_close(c);
  ts_db_drop(&db);
  return 0;
}

static int32_t day(const char *s)
{
  int32_t d;
  assert_int_equal(cal_parse_date(s, strlen(s), &d), 0);
  return d;
}

static void test_closures_from_database(void **state)
{
  (void)state;
  struct cal cal;
  cal_init(&cal);
  /* Empty table: nothing added. */
  assert_int_equal(db_select_market_closures(c, &cal), DB_QS_NONE);
  assert_int_equal(cal.n_closures, 0);
  ts_sql(c, "INSERT INTO market_closures (day, reason) VALUES"
            " ('2026-12-28', 'test closure'), ('2026-12-21', 'another')");
  assert_int_equal(db_select_market_closures(c, &cal), 2);
  assert_int_equal(cal.n_closures, 2);
  assert_false(cal_is_business_day(&cal, day("2026-12-21")));
  assert_false(cal_is_business_day(&cal, day("2026-12-28")));
  assert_true(cal_is_business_day(NULL, day("2026-12-28")));
  /* T+1 from Thursday 2026-12-24 (Christmas Friday, weekend, closure Monday). */
  int32_t t1;
  assert_int_equal(cal_add_business_days(&cal, day("2026-12-24"), 1, &t1), 0);
  assert_int_equal(t1, day("2026-12-29"));
  /* Out-of-range dates in the table are skipped, not fatal. */
  ts_sql(c, "INSERT INTO market_closures (day, reason) VALUES ('1800-01-01', 'too old')");
  assert_int_equal(db_select_market_closures(c, &cal), 3);
  assert_int_equal(cal.n_closures, 2);
  /* The table refuses an empty reason. */
  assert_int_equal(db_exec_sql(c, "INSERT INTO market_closures VALUES ('2027-01-05', '')"),
                   DB_QS_HARD);
  assert_string_equal(c->last_sqlstate, "23514");
  cal_free(&cal);
}

static void test_service_runs(void **state)
{
  (void)state;
  long long id1 = 0, id2 = 0;
  assert_int_equal(db_insert_service_run(c, "backstock", "9.9.9", 7, 4242, &id1), 1);
  assert_int_equal(db_insert_service_run(c, "backstock", "9.9.9", 7, 4343, &id2), 1);
  assert_true(id2 > id1 && id1 > 0);
  assert_int_equal(db_update_service_run_stopped(c, id1), 1);
  /* A second stop of the same run changes nothing. */
  assert_int_equal(db_update_service_run_stopped(c, id1), DB_QS_NONE);
  char *v =
      ts_sql_value(c, "SELECT string_agg(pid || ':' || version || ':' || schema_version"
                      " || ':' || (stopped_at IS NOT NULL), ',' ORDER BY id) FROM service_runs");
  assert_string_equal(v, "4242:9.9.9:7:true,4343:9.9.9:7:false");
  free(v);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_closures_from_database),
      cmocka_unit_test(test_service_runs),
  };
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  return cmocka_run_group_tests(tests, setup, teardown);
}
