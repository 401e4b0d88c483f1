/*
 * Helpers for the test suites.  A test that needs PostgreSQL calls
 * ts_db_create(), which makes a fresh database on the server named by
 * BACKSTOCK_TEST_DATABASE_URL and fails the test loudly when the variable
 * is missing or the server does not answer (never a silent skip).
 */
#ifndef BACKSTOCK_TESTSUPPORT_H
#define BACKSTOCK_TESTSUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

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

#endif
