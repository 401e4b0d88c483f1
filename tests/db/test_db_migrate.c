/*
 * Tests of the migration runner (db/db_migrate.c) on real, empty
 * databases: apply in order, re-apply changes nothing, a gap in our list
 * or in the database's record is refused, a database newer than the
 * binary is refused, an edited migration is detected, a failing
 * migration leaves no trace, two runners at once apply each migration
 * once, and the project's real migrations apply cleanly.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

static const struct db_migration three[] = {
    {1, "one", "CREATE TABLE t1 (id int PRIMARY KEY);"},
    {2, "two", "CREATE TABLE t2 (id int PRIMARY KEY); INSERT INTO t1 VALUES (1), (2);"},
    {3, "three", "ALTER TABLE t2 ADD COLUMN note text NOT NULL DEFAULT 'x';"},
};

static long long value(struct db_conn *c, const char *sql)
{
  char *v = ts_sql_value(c, sql);
  long long n = strtoll(v, NULL, 10);
  free(v);
  return n;
}

static bool table_exists(struct db_conn *c, const char *name)
{
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT to_regclass('backstock.%s') IS NOT NULL", name);
  char *v = ts_sql_value(c, sql);
  bool yes = strcmp(v, "t") == 0;
  free(v);
  return yes;
}

static void test_apply_and_reapply(void **state)
{
  (void)state;
  struct ts_db db;
  struct db_migrate_result res;
  char msg[512];
  unsigned v = 99;
  ts_db_create("mig", &db);
  struct db_conn *c = ts_db_connect(&db, 3);
  assert_int_equal(db_schema_version(c, &v), 0);
  assert_int_equal(v, 0);

  assert_int_equal(db_migrate(c, three, 3, &res, msg, sizeof msg), 0);
  assert_int_equal(res.from_version, 0);
  assert_int_equal(res.to_version, 3);
  assert_int_equal(res.applied, 3);
  assert_int_equal(db_schema_version(c, &v), 0);
  assert_int_equal(v, 3);
  assert_true(table_exists(c, "t1"));
  assert_int_equal(value(c, "SELECT count(*) FROM t1"), 2);
  assert_int_equal(value(c, "SELECT count(*) FROM schema_versions"), 3);
  char *names =
      ts_sql_value(c, "SELECT string_agg(name, ',' ORDER BY version) FROM schema_versions");
  assert_string_equal(names, "one,two,three");
  free(names);
  /* The recorded hash is the SHA-256 of the text. */
  /* The recorded hash is the SHA-256 of the text, as PostgreSQL computes it. */
  assert_int_equal(value(c,
                         "SELECT count(*) FROM schema_versions WHERE version = 1 AND sha256 = "
                         "encode(sha256('CREATE TABLE t1 (id int PRIMARY KEY);'::bytea), 'hex')"),
                   1);
  char *before = ts_sql_value(c, "SELECT string_agg(applied_at::text, ',') FROM schema_versions");

  /* Re-apply: nothing changes. */
  assert_int_equal(db_migrate(c, three, 3, &res, msg, sizeof msg), 0);
  assert_int_equal(res.from_version, 3);
  assert_int_equal(res.to_version, 3);
  assert_int_equal(res.applied, 0);
  assert_int_equal(value(c, "SELECT count(*) FROM t1"), 2);
  char *after = ts_sql_value(c, "SELECT string_agg(applied_at::text, ',') FROM schema_versions");
  assert_string_equal(before, after);
  free(before);
  free(after);

  db_close(c);
  ts_db_drop(&db);
}

static void test_incremental(void **state)
{
  (void)state;
  struct ts_db db;
  struct db_migrate_result res;
  char msg[512];
  ts_db_create("miginc", &db);
  struct db_conn *c = ts_db_connect(&db, 3);
  assert_int_equal(db_migrate(c, three, 2, &res, msg, sizeof msg), 0);
  assert_int_equal(res.applied, 2);
  assert_int_equal(db_migrate(c, three, 3, &res, msg, sizeof msg), 0);
  assert_int_equal(res.from_version, 2);
  assert_int_equal(res.applied, 1);
  assert_int_equal(value(c, "SELECT count(*) FROM information_schema.columns WHERE "
                            "table_name = 't2' AND column_name = 'note'"),
                   1);
  db_close(c);
  ts_db_drop(&db);
}

static void test_gap_in_list(void **state)
{
  (void)state;
  struct ts_db db;
  char msg[512];
  static const struct db_migration gap[] = {
      {1, "one", "CREATE TABLE t1 (id int);"},
      {2, "two", "CREATE TABLE t2 (id int);"},
      {4, "four", "CREATE TABLE t4 (id int);"},
  };
  ts_db_create("miggap", &db);
  struct db_conn *c = ts_db_connect(&db, 3);
  assert_int_equal(db_migrate(c, gap, 3, NULL, msg, sizeof msg), -ERR_MIGRATE_GAP);
  assert_string_equal(msg, "this binary's migrations jump to 4 where 3 was expected");
  /* Refused before anything ran. */
  assert_false(table_exists(c, "t1"));
  unsigned v = 9;
  assert_int_equal(db_schema_version(c, &v), 0);
  assert_int_equal(v, 0);
  db_close(c);
  ts_db_drop(&db);
}

static void test_gap_in_database(void **state)
{
  (void)state;
  struct ts_db db;
  char msg[512];
  ts_db_create("migdbgap", &db);
  struct db_conn *c = ts_db_connect(&db, 3);
  assert_int_equal(db_migrate(c, three, 3, NULL, msg, sizeof msg), 0);
  ts_sql(c, "DELETE FROM schema_versions WHERE version = 2");
  assert_int_equal(db_migrate(c, three, 3, NULL, msg, sizeof msg), -ERR_MIGRATE_GAP);
  assert_string_equal(msg, "the database records migration 3 but not migration 2");
  db_close(c);
  ts_db_drop(&db);
}

static void test_database_newer(void **state)
{
  (void)state;
  struct ts_db db;
  char msg[512];
  ts_db_create("mignew", &db);
  struct db_conn *c = ts_db_connect(&db, 3);
  assert_int_equal(db_migrate(c, three, 3, NULL, msg, sizeof msg), 0);
  assert_int_equal(db_migrate(c, three, 2, NULL, msg, sizeof msg), -ERR_MIGRATE_DB_NEWER);
  assert_string_equal(msg, "the database is at schema version 3 but this binary knows only up "
                           "to 2; run a newer backstock");
  /* Nothing was dropped or changed. */
  assert_int_equal(value(c, "SELECT count(*) FROM schema_versions"), 3);
  db_close(c);
  ts_db_drop(&db);
}

static void test_edited_migration(void **state)
{
  (void)state;
  struct ts_db db;
  char msg[512];
  struct db_migration edited[3];
  memcpy(edited, three, sizeof edited);
  edited[1].sql = "CREATE TABLE t2 (id bigint PRIMARY KEY);";
  ts_db_create("migedit", &db);
  struct db_conn *c = ts_db_connect(&db, 3);
  assert_int_equal(db_migrate(c, three, 3, NULL, msg, sizeof msg), 0);
  assert_int_equal(db_migrate(c, edited, 3, NULL, msg, sizeof msg), -ERR_MIGRATE_CHECKSUM);
  assert_string_equal(msg, "migration 2 (two) was applied with a text other than this binary's");
  db_close(c);
  ts_db_drop(&db);
}

static void test_failing_migration_rolls_back(void **state)
{
  (void)state;
  struct ts_db db;
  char msg[512];
  struct db_migrate_result res;
  static const struct db_migration bad[] = {
      {1, "one", "CREATE TABLE t1 (id int PRIMARY KEY);"},
      {2, "half", "CREATE TABLE half (id int); INSERT INTO nowhere VALUES (1);"},
  };
  ts_db_create("migfail", &db);
  struct db_conn *c = ts_db_connect(&db, 3);
  assert_int_equal(db_migrate(c, bad, 2, &res, msg, sizeof msg), -ERR_MIGRATE_FAILED);
  assert_non_null(strstr(msg, "migration 2 (half) failed: ERROR:  relation \"nowhere\" does not "
                              "exist"));
  /* Migration 1 stays, migration 2 left nothing behind, not even its table. */
  unsigned v = 0;
  assert_int_equal(db_schema_version(c, &v), 0);
  assert_int_equal(v, 1);
  assert_true(table_exists(c, "t1"));
  assert_false(table_exists(c, "half"));
  assert_false(c->in_txn);
  db_close(c);
  ts_db_drop(&db);
}

struct racer {
  const struct ts_db *db;
  int rc;
  unsigned applied;
};

static void *race(void *arg)
{
  struct racer *r = arg;
  struct db_migrate_result res = {0, 0, 0};
  char msg[512];
  struct db_conn *c = NULL;
  if (db_connect(r->db->conninfo, r->db->name, 3, &c) != 0) {
    r->rc = -1;
    return NULL;
  }
  r->rc = db_migrate(c, three, 3, &res, msg, sizeof msg);
  r->applied = res.applied;
  db_close(c);
  return NULL;
}

static void test_concurrent_runners(void **state)
{
  (void)state;
  struct ts_db db;
  pthread_t th[4];
  struct racer r[4];
  ts_db_create("migrace", &db);
  for (int i = 0; i < 4; i++) {
    r[i] = (struct racer){.db = &db};
    pthread_create(&th[i], NULL, race, &r[i]);
  }
  unsigned total = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(r[i].rc, 0);
    total += r[i].applied;
  }
  assert_int_equal(total, 3);
  struct db_conn *c = ts_db_connect(&db, 3);
  assert_int_equal(value(c, "SELECT count(*) FROM schema_versions"), 3);
  assert_int_equal(value(c, "SELECT count(*) FROM t1"), 2);
  db_close(c);
  ts_db_drop(&db);
}

static void test_real_migrations(void **state)
{
  (void)state;
  struct ts_db db;
  char msg[512];
  struct db_migrate_result res;
  ts_db_create("migreal", &db);
  struct db_conn *c = ts_db_connect(&db, 3);
  assert_true(migrations_count >= 2);
  for (size_t i = 0; i < migrations_count; i++)
    assert_int_equal(migrations_all[i].version, i + 1);
  assert_int_equal(db_migrate(c, migrations_all, migrations_count, &res, msg, sizeof msg), 0);
  assert_int_equal(res.applied, migrations_count);
  assert_true(table_exists(c, "market_closures"));
  assert_true(table_exists(c, "service_runs"));
  assert_int_equal(db_migrate(c, migrations_all, migrations_count, &res, msg, sizeof msg), 0);
  assert_int_equal(res.applied, 0);
  db_close(c);
  ts_db_drop(&db);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_apply_and_reapply),
      cmocka_unit_test(test_incremental),
      cmocka_unit_test(test_gap_in_list),
      cmocka_unit_test(test_gap_in_database),
      cmocka_unit_test(test_database_newer),
      cmocka_unit_test(test_edited_migration),
      cmocka_unit_test(test_failing_migration_rolls_back),
      cmocka_unit_test(test_concurrent_runners),
      cmocka_unit_test(test_real_migrations),
  };
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
