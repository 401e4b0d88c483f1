/*
 * Tests of the embedded PostgreSQL cluster (db/db_cluster.c) with the
 * real PostgreSQL programs: first start (initdb), unix socket only, stop
 * leaving no process, restart reusing the data, one service per data
 * folder, a service killed with -9 (its guardian stops the server), a
 * whole process tree killed with -9 (the next start recovers), a stale
 * postmaster.pid naming a live unrelated process, and, as root, the
 * relocation used when the postgres user cannot enter the data folder.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/testsupport.h"

#define FAST DB_CLUSTER_FAST

static void assert_sql(struct db_conn *c, const char *sql, const char *want)
{
  char *v = ts_sql_value(c, sql);
  assert_string_equal(v, want);
  free(v);
}

static struct db_conn *connect_to(struct db_cluster *cl)
{
  struct db_conn *c = NULL;
  assert_int_equal(db_connect(db_cluster_conninfo(cl), NULL, 3, &c), 0);
  return c;
}

static void pg_dir_of(const char *data, char *out, size_t size)
{
  char link[PATH_MAX];
  snprintf(link, sizeof link, "%s/pg", data);
  if (realpath(link, out) == NULL)
    snprintf(out, size, "%s", link);
}

static void test_start_stop_restart(void **state)
{
  (void)state;
  char tmp[128], data[256], pgdir[PATH_MAX], pgver[PATH_MAX + 16];
  struct db_cluster *cl = NULL;
  struct stat st1, st2;
  ts_tmpdir(tmp, sizeof tmp);
  snprintf(data, sizeof data, "%s/var", tmp);

  assert_int_equal(db_cluster_start(data, NULL, FAST, &cl), 0);
  pg_dir_of(data, pgdir, sizeof pgdir);
  assert_string_equal(db_cluster_dir(cl), pgdir);
  snprintf(pgver, sizeof pgver, "%s/PG_VERSION", pgdir);
  assert_int_equal(stat(pgver, &st1), 0);
  struct db_conn *c = connect_to(cl);
  /* Unix socket only: no TCP listener at all. */
  assert_sql(c, "SHOW listen_addresses", "");
  assert_sql(c, "SELECT current_database()", "backstock");
  assert_sql(c, "SELECT current_user", "backstock");
  ts_sql(c, "CREATE TABLE keep (v int); INSERT INTO keep VALUES (42)");
  db_close(c);
  assert_true(ts_procs_in_dir(pgdir) > 0);
  assert_int_equal(db_cluster_stop(cl), 0);
  assert_int_equal(ts_procs_in_dir(pgdir), 0);

  /* Restart: same cluster (no new initdb), data still there. */
  assert_int_equal(db_cluster_start(data, NULL, FAST, &cl), 0);
  assert_int_equal(stat(pgver, &st2), 0);
  assert_int_equal(st1.st_ino, st2.st_ino);
  assert_int_equal(st1.st_mtime, st2.st_mtime);
  c = connect_to(cl);
  assert_sql(c, "SELECT v FROM keep", "42");
  db_close(c);
  assert_int_equal(db_cluster_stop(cl), 0);
  assert_int_equal(ts_procs_in_dir(pgdir), 0);
  ts_rmtree(tmp);
}

static void test_one_service_per_folder(void **state)
{
  (void)state;
  char tmp[128], data[256], pgdir[PATH_MAX];
  struct db_cluster *cl = NULL, *cl2 = NULL;
  ts_tmpdir(tmp, sizeof tmp);
  snprintf(data, sizeof data, "%s/var", tmp);
  assert_int_equal(db_cluster_start(data, NULL, FAST, &cl), 0);
  pg_dir_of(data, pgdir, sizeof pgdir);
  /* A second start on the same folder, from another process, is refused. */
  pid_t pid = fork();
  if (pid == 0) {
    db_cluster_lock_wait_ms = 300;
    _exit(db_cluster_start(data, NULL, FAST, &cl2) == -ERR_PG_IN_USE ? 0 : 1);
  }
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  /* The first one is unharmed. */
  struct db_conn *c = connect_to(cl);
  assert_sql(c, "SELECT 1", "1");
  db_close(c);
  assert_int_equal(db_cluster_stop(cl), 0);
  assert_int_equal(ts_procs_in_dir(pgdir), 0);
  ts_rmtree(tmp);
}

/* Fork a child that starts the cluster (with its guardian) and waits. */
static pid_t start_in_child(const char *data, unsigned flags)
{
  int p[2];
  char ok = 0;
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    struct db_cluster *cl = NULL;
    close(p[0]);
    char r = db_cluster_start(data, NULL, flags, &cl) == 0 ? 'y' : 'n';
    if (write(p[1], &r, 1) != 1)
      _exit(1);
    for (int i = 0; i < 600; i++) /* killed long before this ends */
      util_sleep_ms(100);
    _exit(0);
  }
  close(p[1]);
  assert_int_equal(read(p[0], &ok, 1), 1);
  close(p[0]);
  assert_int_equal(ok, 'y');
  return pid;
}

static void test_killed_service_guardian_stops_server(void **state)
{
  (void)state;
  char tmp[128], data[256], pgdir[PATH_MAX];
  struct db_cluster *cl = NULL;
  ts_tmpdir(tmp, sizeof tmp);
  snprintf(data, sizeof data, "%s/var", tmp);
  pid_t pid = start_in_child(data, FAST);
  pg_dir_of(data, pgdir, sizeof pgdir);
  assert_true(ts_procs_in_dir(pgdir) > 0);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  /* The guardian notices and runs a fast shutdown. */
  assert_int_equal(ts_wait_no_procs(pgdir, 30000), 0);
  /* And the folder is free again at once for the next start. */
  db_cluster_lock_wait_ms = 20000;
  assert_int_equal(db_cluster_start(data, NULL, FAST, &cl), 0);
  struct db_conn *c = connect_to(cl);
  assert_sql(c, "SELECT 1", "1");
  db_close(c);
  assert_int_equal(db_cluster_stop(cl), 0);
  assert_int_equal(ts_procs_in_dir(pgdir), 0);
  ts_rmtree(tmp);
}

static pid_t file_pid(const char *path)
{
  char *buf;
  assert_int_equal(util_read_file(path, 4096, &buf, NULL), 0);
  pid_t pid = (pid_t)strtol(buf, NULL, 10);
  free(buf);
  return pid;
}

static void test_whole_tree_killed(void **state)
{
  (void)state;
  char tmp[128], data[256], pgdir[PATH_MAX], pidfile[PATH_MAX + 32];
  struct db_cluster *cl = NULL;
  ts_tmpdir(tmp, sizeof tmp);
  snprintf(data, sizeof data, "%s/var", tmp);
  /* No guardian: as if it was killed too.  Then kill the postmaster -9. */
  pid_t pid = start_in_child(data, FAST | DB_CLUSTER_NO_GUARDIAN);
  pg_dir_of(data, pgdir, sizeof pgdir);
  snprintf(pidfile, sizeof pidfile, "%s/postmaster.pid", pgdir);
  struct db_conn *c = NULL;
  pid_t pm = file_pid(pidfile);
  assert_true(pm > 0);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  kill(pm, SIGKILL);
  /* The backends notice their postmaster is gone and exit. */
  assert_int_equal(ts_wait_no_procs(pgdir, 30000), 0);
  assert_int_equal(access(pidfile, F_OK), 0); /* left behind */

  assert_int_equal(db_cluster_start(data, NULL, FAST, &cl), 0);
  c = connect_to(cl);
  assert_sql(c, "SELECT 1", "1");
  db_close(c);
  assert_int_equal(db_cluster_stop(cl), 0);
  assert_int_equal(ts_procs_in_dir(pgdir), 0);
  ts_rmtree(tmp);
}

static void test_server_left_running_is_restarted(void **state)
{
  (void)state;
  char tmp[128], data[256], pgdir[PATH_MAX], pidfile[PATH_MAX + 32];
  struct db_cluster *cl = NULL;
  ts_tmpdir(tmp, sizeof tmp);
  snprintf(data, sizeof data, "%s/var", tmp);
  /* Service and guardian killed, postmaster still up. */
  pid_t pid = start_in_child(data, FAST | DB_CLUSTER_NO_GUARDIAN);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  pg_dir_of(data, pgdir, sizeof pgdir);
  snprintf(pidfile, sizeof pidfile, "%s/postmaster.pid", pgdir);
  pid_t old_pm = file_pid(pidfile);
  assert_int_equal(kill(old_pm, 0), 0);

  assert_int_equal(db_cluster_start(data, NULL, FAST, &cl), 0);
  pid_t new_pm = file_pid(pidfile);
  assert_int_not_equal(old_pm, new_pm); /* the leftover was stopped, not adopted */
  assert_int_equal(db_cluster_stop(cl), 0);
  assert_int_equal(ts_procs_in_dir(pgdir), 0);
  ts_rmtree(tmp);
}

static void test_stale_pidfile_with_reused_pid(void **state)
{
  (void)state;
  char tmp[128], data[256], pgdir[PATH_MAX], pidfile[PATH_MAX + 32], text[PATH_MAX + 64];
  struct db_cluster *cl = NULL;
  ts_tmpdir(tmp, sizeof tmp);
  snprintf(data, sizeof data, "%s/var", tmp);
  assert_int_equal(db_cluster_start(data, NULL, FAST, &cl), 0);
  assert_int_equal(db_cluster_stop(cl), 0);
  pg_dir_of(data, pgdir, sizeof pgdir);
  snprintf(pidfile, sizeof pidfile, "%s/postmaster.pid", pgdir);
  /* A pidfile naming a live process that is not a postmaster (us). */
  FILE *f = fopen(pidfile, "w");
  assert_non_null(f);
  snprintf(text, sizeof text, "%ld\n%s\n", (long)getpid(), pgdir);
  fputs(text, f);
  fclose(f);
  assert_int_equal(db_cluster_start(data, NULL, FAST, &cl), 0);
  assert_int_not_equal(file_pid(pidfile), getpid());
  struct db_conn *c = connect_to(cl);
  assert_sql(c, "SELECT 1", "1");
  db_close(c);
  assert_int_equal(db_cluster_stop(cl), 0);
  assert_int_equal(ts_procs_in_dir(pgdir), 0);
  ts_rmtree(tmp);
}

static void test_root_relocation(void **state)
{
  (void)state;
  char tmp[128], data[256], link[300], target[PATH_MAX];
  struct db_cluster *cl = NULL;
  struct stat st;
  if (geteuid() != 0) {
    /* Only root runs PostgreSQL as another user; nothing to relocate. */
    return;
  }
  ts_tmpdir(tmp, sizeof tmp);
  assert_int_equal(chmod(tmp, 0700), 0); /* postgres cannot enter */
  snprintf(data, sizeof data, "%s/var", tmp);
  assert_int_equal(db_cluster_start(data, NULL, FAST, &cl), 0);
  snprintf(link, sizeof link, "%s/pg", data);
  assert_int_equal(lstat(link, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  assert_non_null(realpath(link, target));
  assert_int_equal(strncmp(target, "/var/lib/backstock/pg-", 22), 0);
  assert_string_equal(db_cluster_dir(cl), target);
  struct db_conn *c = connect_to(cl);
  assert_sql(c, "SELECT current_setting('data_directory')", target);
  db_close(c);
  assert_int_equal(db_cluster_stop(cl), 0);
  /* Restart finds it through the link. */
  assert_int_equal(db_cluster_start(data, NULL, FAST, &cl), 0);
  assert_string_equal(db_cluster_dir(cl), target);
  assert_int_equal(db_cluster_stop(cl), 0);
  assert_int_equal(ts_procs_in_dir(target), 0);
  ts_rmtree(target);
  ts_rmtree(tmp);
}

static void test_bad_bindir(void **state)
{
  (void)state;
  char tmp[128], data[256];
  struct db_cluster *cl = NULL;
  ts_tmpdir(tmp, sizeof tmp);
  snprintf(data, sizeof data, "%s/var", tmp);
  assert_int_equal(db_cluster_start(data, "/nonexistent/bin", FAST, &cl), -ERR_PG_BINARIES);
  assert_null(cl);
  ts_rmtree(tmp);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_start_stop_restart),
      cmocka_unit_test(test_one_service_per_folder),
      cmocka_unit_test(test_killed_service_guardian_stops_server),
      cmocka_unit_test(test_whole_tree_killed),
      cmocka_unit_test(test_server_left_running_is_restarted),
      cmocka_unit_test(test_stale_pidfile_with_reused_pid),
      cmocka_unit_test(test_root_relocation),
      cmocka_unit_test(test_bad_bindir),
  };
  log_setup(LOGL_WARN, LOG_FORMAT_TEXT, stderr);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
