/*
 * Helpers for the test suites.  A test that needs PostgreSQL calls
 * ts_db_create(), which makes a fresh database on the server named by
 * BACKSTOCK_TEST_DATABASE_URL and fails the test loudly when the variable
 * is missing or the server does not answer (never a silent skip).
 * Tests that run real processes spawn them with ts_spawn() (own process
 * group, exact environment, output to files) and wait with bounded waits.
 */
#ifndef BACKSTOCK_TESTSUPPORT_H
#define BACKSTOCK_TESTSUPPORT_H

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/types.h>

#include "db/db.h"

struct ts_db {
  char conninfo[1024]; /* the admin URL (libpq URL or conninfo) */
  char name[64];       /* database created for this test */
};

/* Create database bst_<tag>_<pid>_<n>; aborts the process if impossible. */
void ts_db_create(const char *tag, struct ts_db *out);

/* Drop it (terminating leftover sessions). */
void ts_db_drop(const struct ts_db *db);

/*
 * The database as one libpq conninfo string (key=value, quoted), for code
 * that takes a URL only (the pool, the service's BACKSTOCK_DATABASE_URL).
 */
void ts_db_conninfo(const struct ts_db *db, char *out, size_t size);

/* Connect to it with @max_retries; fails the test on error. */
struct db_conn *ts_db_connect(const struct ts_db *db, unsigned max_retries);

/* Run SQL on @c, failing the test on error. */
void ts_sql(struct db_conn *c, const char *sql);

/* First column of the first row of @sql as a malloc'd string ("" if none). */
char *ts_sql_value(struct db_conn *c, const char *sql);

/* ts_sql_value() as an integer (0 if none). */
long long ts_sql_int(struct db_conn *c, const char *sql);

/*
 * A fresh database for a dbtest: ts_db_create(@tag, @db), connected with
 * @max_retries and migrated with @m (@n of them, e.g. migrations_all and
 * migrations_count); fails the test on error.  Returns the connection
 * (db_close() it, then ts_db_drop(@db)).
 */
struct db_conn *ts_db_migrated(const char *tag, struct ts_db *db, unsigned max_retries,
                               const struct db_migration *m, size_t n);

/* ts_db_done() - the end of ts_db_migrated(): db_close(*@c) (then NULL), ts_db_drop(@db). */
void ts_db_done(struct db_conn **c, const struct ts_db *db);

/*
 * TS_FIXTURE(type, var, start, stop, tag) - a suite's fixture "static
 * @type @var" and its cmocka setup and teardown (static setup() and
 * teardown(), for cmocka_unit_test_setup_teardown()): @start(&@var, @tag)
 * and @stop(&@var).
 */
#define TS_FIXTURE(type, var, start, stop, tag)                                                    \
  static type var;                                                                                 \
  static int setup(void **state)                                                                   \
  {                                                                                                \
    (void)state;                                                                                   \
    start(&var, tag);                                                                              \
    return 0;                                                                                      \
  }                                                                                                \
  static int teardown(void **state)                                                                \
  {                                                                                                \
    (void)state;                                                                                   \
    stop(&var);                                                                                    \
    return 0;                                                                                      \
  }

/* A temporary folder (mkdtemp under /tmp), mode 0755; remove with ts_rmtree. */
void ts_tmpdir(char *out, size_t size);

/* Remove a folder tree (ignores errors). */
void ts_rmtree(const char *path);

/* Path of a file in the source or build tree (from the meson test env). */
void ts_source_path(char *out, size_t size, const char *rel);
void ts_build_path(char *out, size_t size, const char *rel);

/* Number of live processes whose working folder is @dir (postgres runs in PGDATA). */
int ts_procs_in_dir(const char *dir);

/* Number of live processes whose environment holds @needle ("KEY=value"). */
int ts_procs_with_env(const char *needle);

/* Wait until ts_procs_in_dir(dir) == 0, at most @ms; returns the last count. */
int ts_wait_no_procs(const char *dir, unsigned ms);

/* ------------------------------------------------------------------ */
/* Processes (generalised from tests/e2e/test_e2e_service.c)           */
/* ------------------------------------------------------------------ */

/* A port on 127.0.0.1 that was free a moment ago; fails the test if none. */
uint16_t ts_free_port(void);

/*
 * ts_spawn() - run argv[0] (a path) with @argv in its own process group,
 * stdin from /dev/null, stdout and stderr to @out_path and @err_path
 * (created or truncated).  @env is the exact environment: a NULL-ended
 * list of "KEY=value" (NULL: empty).  Returns the child's pid (which is
 * also its process group id); fails the test if fork() fails.
 */
pid_t ts_spawn(char *const argv[], const char *const env[], const char *out_path,
               const char *err_path);

/*
 * ts_wait_exit() - wait at most @ms for child @pid to end.  Returns true
 * with its wait status in *status (may be NULL), false on timeout.
 */
bool ts_wait_exit(pid_t pid, unsigned ms, int *status);

/* ts_kill() - send @sig to the process group of @pid (as ts_spawn made it). */
void ts_kill(pid_t pid, int sig);

/*
 * ts_dump_file() - print a file (its last 32 KiB) to stderr framed by
 * @title, for failure reports; nothing when it is missing or empty.
 */
void ts_dump_file(const char *title, const char *path);

/*
 * ts_wait_line() - poll the file at @path (a child's stdout) every 20 ms,
 * at most @ms, until a whole line (ending in a newline) starts with
 * @prefix.  Returns true with that line, without its newline, in @buf
 * (@size bytes, truncated); false on timeout.
 */
bool ts_wait_line(const char *path, const char *prefix, unsigned ms, char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* A simulated peer on its own database                               */
/* ------------------------------------------------------------------ */

/*
 * A simulated peer (backstock-simbroker, backstock-simcustodian) a test
 * runs from a configuration file, on a fresh migrated database, with a
 * temporary folder for its files.
 */
struct ts_sim {
  char bin[PATH_MAX];                                /* the program, absolute */
  char tmp[256];                                     /* the temporary folder */
  char path_env[PATH_MAX + 8];                       /* "PATH=..." */
  char url_env[2200];                                /* "BACKSTOCK_DATABASE_URL=..." */
  char conf[PATH_MAX], out[PATH_MAX], err[PATH_MAX]; /* of the latest start */
  struct ts_db db;
  struct db_conn *c; /* the test's own connection */
  pid_t pid;         /* 0 when not running */
  uint16_t port;     /* where it listens */
  unsigned starts;
};

/*
 * ts_sim_init() - @s for the program @rel of the build tree (e.g.
 * "services/backstock-simbroker"; fails the test when it is not built):
 * its temporary folder and a fresh database named after @tag, migrated
 * with @m (@n of them).
 */
void ts_sim_init(struct ts_sim *s, const char *rel, const char *tag, const struct db_migration *m,
                 size_t n);

/*
 * ts_sim_start() - run the program with "--config FILE" (@config written
 * into a new file of the folder) and the environment PATH and
 * BACKSTOCK_DATABASE_URL; wait at most @ms for its stdout line
 * "<@prefix><port>" (e.g. "simbroker listening 127.0.0.1:").  Fails the
 * test, showing its stderr, when it ends first or never says it.
 */
void ts_sim_start(struct ts_sim *s, const char *config, const char *prefix, unsigned ms);

/* ts_sim_stop() - SIGTERM; it must exit 0 within @ms (else SIGKILL and the test fails). */
void ts_sim_stop(struct ts_sim *s, unsigned ms);

/* ts_sim_free() - SIGKILL it if it runs; close and drop the database, remove the folder. */
void ts_sim_free(struct ts_sim *s);

/* ------------------------------------------------------------------ */
/* Child processes of end-to-end tests                                 */
/* ------------------------------------------------------------------ */

/* A process a test started: its name, pid (0 when not running) and output files. */
struct ts_child {
  const char *what;
  pid_t pid;
  char out[PATH_MAX + 32];
  char err[PATH_MAX + 32];
};

/* ts_child_spawn() - start @argv with @env; stdout and stderr go to @dir/child-@n.out|.err. */
void ts_child_spawn(struct ts_child *ch, const char *dir, unsigned n, const char *what,
                    char *const argv[], const char *const env[]);

/* ts_child_wait() - whether it exited within @ms (its status in *@st); pid cleared then. */
bool ts_child_wait(struct ts_child *ch, unsigned ms, int *st);

/* ts_child_kill() - SIGKILL it, if running, and reap it. */
void ts_child_kill(struct ts_child *ch);

/* ts_child_stop() - SIGTERM; it must exit 0 within @ms, else the test fails. */
void ts_child_stop(struct ts_child *ch, unsigned ms);

/* ts_child_dump() - show its stderr (when it was started). */
void ts_child_dump(const struct ts_child *ch);

#endif
