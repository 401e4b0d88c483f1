/*
 * The migration runner.  Migrations are numbered 1, 2, 3, ... with no
 * gap; each runs in its own transaction together with the row that
 * records it (version, name, SHA-256 of its text) in
 * backstock.schema_versions, so a migration is either applied and
 * recorded or neither.  Concurrent runners (two services starting at
 * once) serialize on a transaction-scoped advisory lock and re-check
 * what is applied after taking it.
 *
 * Refusals, each with a clear message: a gap in our list or in the
 * database's record, a database newer than this binary, or an applied
 * migration whose text differs from ours (someone edited a released
 * file).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "db/db_int.h"

/* Advisory lock key of the migration runner ("bsmigrat" in ASCII). */
#define MIGRATE_LOCK "7166462307425887604"

static const char bootstrap_sql[] = "CREATE SCHEMA IF NOT EXISTS " DB_SCHEMA ";"
                                    "CREATE TABLE IF NOT EXISTS " DB_SCHEMA ".schema_versions ("
                                    " version integer PRIMARY KEY CHECK (version > 0),"
                                    " name text NOT NULL,"
                                    " sha256 text NOT NULL,"
                                    " applied_at timestamptz NOT NULL DEFAULT now());";

static void sha256_hex(const char *text, char out[65])
{
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)text, strlen(text));
  sodium_bin2hex(out, 65, h, sizeof h);
}

static int fail(struct db_conn *c, int rc, char *msg, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(struct db_conn *c, int rc, char *msg, size_t size, const char *fmt, ...)
{
  va_list ap;
  if (c->in_txn) {
    PGresult *r = PQexec(c->pg, "ROLLBACK");
    PQclear(r);
    c->in_txn = false;
  }
  va_start(ap, fmt);
  vsnprintf(msg, size, fmt, ap);
  va_end(ap);
  log_msg(LOGL_ERROR, "migrate", "%s", msg);
  return rc;
}

/* BEGIN and take the runner's lock. */
static int begin_locked(struct db_conn *c)
{
  if (db_ensure(c) != 0)
    return -ERR_DB_CONNECT;
  if (db_exec_sql(c, "BEGIN ISOLATION LEVEL READ COMMITTED") < 0)
    return -ERR_DB_CONNECT;
  c->in_txn = true;
  if (db_exec_sql(c, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")") < 0)
    return -ERR_DB_HARD;
  return 0;
}

static int commit(struct db_conn *c)
{
  enum db_qs qs = db_exec_sql(c, "COMMIT");
  c->in_txn = false;
  return qs < 0 ? -ERR_DB_HARD : 0;
}

/* Read the applied versions (inside the locked transaction). */
static int applied_versions(struct db_conn *c, PGresult **out)
{
  PGresult *r = PQexec(c->pg, "SELECT version, name, sha256 FROM " DB_SCHEMA
                              ".schema_versions ORDER BY version");
  if (db__classify(c, r) < 0) {
    PQclear(r);
    return -ERR_DB_HARD;
  }
  *out = r;
  return 0;
}

/*
 * Check the database's record against our list.
 * Returns the number of applied migrations (all verified) or an error.
 */
static int verify_applied(struct db_conn *c, const struct db_migration *list, size_t n, char *msg,
                          size_t size)
{
  PGresult *r;
  if (applied_versions(c, &r) != 0)
    return fail(c, -ERR_MIGRATE_FAILED, msg, size, "cannot read schema_versions: %s",
                c->last_error);
  int rows = PQntuples(r);
  int rc = rows;
  unsigned newest = rows > 0 ? (unsigned)strtoul(PQgetvalue(r, rows - 1, 0), NULL, 10) : 0;
  for (int i = 0; i < rows; i++) {
    unsigned v = (unsigned)strtoul(PQgetvalue(r, i, 0), NULL, 10);
    if (v > n) {
      rc = fail(c, -ERR_MIGRATE_DB_NEWER, msg, size,
                "the database is at schema version %u but this binary knows only up to %u;"
                " run a newer backstock",
                newest, (unsigned)n);
      break;
    }
    if (v != (unsigned)i + 1) {
      rc = fail(c, -ERR_MIGRATE_GAP, msg, size,
                "the database records migration %u but not migration %u", v, (unsigned)i + 1);
      break;
    }
    char want[65];
    sha256_hex(list[i].sql, want);
    if (strcmp(want, PQgetvalue(r, i, 2)) != 0) {
      rc = fail(c, -ERR_MIGRATE_CHECKSUM, msg, size,
                "migration %u (%s) was applied with a text other than this binary's", v,
                list[i].name);
      break;
    }
  }
  PQclear(r);
  return rc;
}

int db_migrate(struct db_conn *c, const struct db_migration *list, size_t n,
               struct db_migrate_result *res, char *msg, size_t msg_size)
{
  int rc;
  struct db_migrate_result out = {0, 0, 0};
  msg[0] = '\0';
  for (size_t i = 0; i < n; i++)
    if (list[i].version != i + 1)
      return fail(c, -ERR_MIGRATE_GAP, msg, msg_size,
                  "this binary's migrations jump to %u where %u was expected", list[i].version,
                  (unsigned)i + 1);

  if ((rc = begin_locked(c)) != 0)
    return fail(c, rc, msg, msg_size, "cannot start the migration: %s", c->last_error);
  if (db_exec_sql(c, bootstrap_sql) < 0)
    return fail(c, -ERR_MIGRATE_FAILED, msg, msg_size, "cannot create the versions table: %s",
                c->last_error);
  rc = verify_applied(c, list, n, msg, msg_size);
  if (rc < 0)
    return rc;
  if (commit(c) != 0)
    return fail(c, -ERR_MIGRATE_FAILED, msg, msg_size, "commit failed: %s", c->last_error);
  out.from_version = (unsigned)rc;

  for (size_t i = (size_t)rc; i < n; i++) {
    const struct db_migration *m = &list[i];
    char vbuf[16], hash[65];
    if ((rc = begin_locked(c)) != 0)
      return fail(c, rc, msg, msg_size, "cannot start migration %u: %s", m->version, c->last_error);
    /* Someone may have applied it while we waited for the lock. */
    rc = verify_applied(c, list, n, msg, msg_size);
    if (rc < 0)
      return rc;
    if ((size_t)rc > i) {
      commit(c);
      continue;
    }
    if (db_exec_sql(c, m->sql) < 0)
      return fail(c, -ERR_MIGRATE_FAILED, msg, msg_size, "migration %u (%s) failed: %s", m->version,
                  m->name, c->last_error);
    snprintf(vbuf, sizeof vbuf, "%u", m->version);
    sha256_hex(m->sql, hash);
    const char *params[3] = {vbuf, m->name, hash};
    PGresult *r = PQexecParams(c->pg,
                               "INSERT INTO " DB_SCHEMA ".schema_versions (version, name, sha256)"
                               " VALUES ($1::integer, $2, $3)",
                               3, NULL, params, NULL, NULL, 0);
    enum db_qs qs = db__classify(c, r);
    PQclear(r);
    if (qs < 0 || commit(c) != 0)
      return fail(c, -ERR_MIGRATE_FAILED, msg, msg_size, "recording migration %u: %s", m->version,
                  c->last_error);
    log_msg(LOGL_INFO, "migrate", "applied migration %u (%s)", m->version, m->name);
    out.applied++;
  }
  out.to_version = (unsigned)n;
  if (res != NULL)
    *res = out;
  return 0;
}
