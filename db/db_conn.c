/*
 * Connections: open with session defaults, classify every result into one
 * status, keep the set of statements prepared on this connection (a
 * reconnect forgets them, since the server did), and reconnect only
 * between transactions.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "db/db_int.h"

static const char session_sql[] = "SET default_transaction_isolation TO 'serializable';"
                                  "SET search_path TO " DB_SCHEMA ", public;"
                                  "SET TIME ZONE 'UTC';"
                                  "SET application_name TO 'backstock';"
                                  "SET client_min_messages TO warning;";

static void notice_quiet(void *arg, const PGresult *res)
{
  (void)arg;
  (void)res;
}

void db__set_error(struct db_conn *c, const PGresult *res)
{
  const char *msg = res != NULL ? PQresultErrorMessage(res) : NULL;
  const char *st = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  if (msg == NULL || msg[0] == '\0')
    msg = c->pg != NULL ? PQerrorMessage(c->pg) : "no connection";
  util_strlcpy(c->last_error, msg, sizeof c->last_error);
  size_t n = strlen(c->last_error);
  while (n > 0 && (c->last_error[n - 1] == '\n' || c->last_error[n - 1] == ' '))
    c->last_error[--n] = '\0';
  util_strlcpy(c->last_sqlstate, st != NULL ? st : "", sizeof c->last_sqlstate);
}

static int open_pg(struct db_conn *c)
{
  const char *kw[3] = {"dbname", NULL, NULL};
  const char *val[3] = {c->conninfo, NULL, NULL};
  if (c->dbname != NULL) {
    kw[1] = "dbname";
    val[1] = c->dbname;
  }
  c->pg = PQconnectdbParams(kw, val, 1);
  if (c->pg == NULL)
    return -ERR_NOMEM;
  if (PQstatus(c->pg) != CONNECTION_OK) {
    db__set_error(c, NULL);
    log_msg(LOGL_WARN, "db", "connect failed: %s", c->last_error);
    PQfinish(c->pg);
    c->pg = NULL;
    return -ERR_DB_CONNECT;
  }
  PQsetNoticeReceiver(c->pg, notice_quiet, NULL);
  if (db_exec_sql(c, session_sql) < 0) {
    log_msg(LOGL_WARN, "db", "session setup failed: %s", c->last_error);
    PQfinish(c->pg);
    c->pg = NULL;
    return -ERR_DB_CONNECT;
  }
  return 0;
}

int db_connect(const char *conninfo, const char *dbname, unsigned max_retries, struct db_conn **out)
{
  struct db_conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return -ERR_NOMEM;
  c->max_retries = max_retries == 0 ? 1 : max_retries;
  c->conninfo = strdup(conninfo);
  c->dbname = dbname != NULL ? strdup(dbname) : NULL;
  if (c->conninfo == NULL || (dbname != NULL && c->dbname == NULL)) {
    db_close(c);
    return -ERR_NOMEM;
  }
  int rc = open_pg(c);
  if (rc != 0) {
    db_close(c);
    return rc;
  }
  *out = c;
  return 0;
}

void db_close(struct db_conn *c)
{
  if (c == NULL)
    return;
  if (c->pg != NULL)
    PQfinish(c->pg);
  if (c->conninfo != NULL) {
    sodium_memzero(c->conninfo, strlen(c->conninfo));
    free(c->conninfo);
  }
  free(c->dbname);
  free(c->prepared);
  free(c);
}

int db_ensure(struct db_conn *c)
{
  if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
    return 0;
  if (c->in_txn)
    return -ERR_DB_CONNECT;
  if (c->pg != NULL)
    PQfinish(c->pg);
  c->pg = NULL;
  /* The server forgot our statements with the old session. */
  c->n_prepared = 0;
  if (c->prepared != NULL)
    memset(c->prepared, 0, c->cap_prepared * sizeof *c->prepared);
  int rc = open_pg(c);
  if (rc == 0) {
    c->stats.reconnects++;
    log_msg(LOGL_INFO, "db", "reconnected to the database");
  }
  return rc;
}

enum db_qs db__classify(struct db_conn *c, PGresult *res)
{
  switch (PQresultStatus(res)) {
  case PGRES_COMMAND_OK: {
    const char *n = PQcmdTuples(res);
    return n[0] == '\0' ? DB_QS_NONE : (enum db_qs)strtol(n, NULL, 10);
  }
  case PGRES_TUPLES_OK:
    return (enum db_qs)PQntuples(res);
  case PGRES_EMPTY_QUERY: /* nothing but comments: a migration may be only a note */
    return DB_QS_NONE;
  default:
    break;
  }
  db__set_error(c, res);
  if (strcmp(c->last_sqlstate, "40001") == 0 || strcmp(c->last_sqlstate, "40P01") == 0)
    return DB_QS_SOFT;
  return DB_QS_HARD;
}

/* Pointer hash of a statement into the open-addressing set. */
static size_t slot_of(const struct db_stmt *s, size_t cap)
{
  uintptr_t h = (uintptr_t)s;
  h ^= h >> 17;
  h *= (uintptr_t)0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 7) & (cap - 1);
}

static bool is_prepared(const struct db_conn *c, const struct db_stmt *s)
{
  if (c->cap_prepared == 0)
    return false;
  for (size_t i = slot_of(s, c->cap_prepared);; i = (i + 1) & (c->cap_prepared - 1)) {
    if (c->prepared[i] == s)
      return true;
    if (c->prepared[i] == NULL)
      return false;
  }
}

static int remember(struct db_conn *c, const struct db_stmt *s)
{
  if ((c->n_prepared + 1) * 2 > c->cap_prepared) {
    size_t ncap = c->cap_prepared == 0 ? 32 : c->cap_prepared * 2;
    const struct db_stmt **old = c->prepared;
    size_t ocap = c->cap_prepared;
    c->prepared = calloc(ncap, sizeof *c->prepared);
    if (c->prepared == NULL) {
      c->prepared = old;
      return -ERR_NOMEM;
    }
    c->cap_prepared = ncap;
    c->n_prepared = 0;
    for (size_t i = 0; i < ocap; i++)
      if (old[i] != NULL)
        remember(c, old[i]);
    free(old);
  }
  size_t i = slot_of(s, c->cap_prepared);
  while (c->prepared[i] != NULL)
    i = (i + 1) & (c->cap_prepared - 1);
  c->prepared[i] = s;
  c->n_prepared++;
  return 0;
}

enum db_qs db_exec(struct db_conn *c, const struct db_stmt *stmt, const char *const *params,
                   PGresult **res)
{
  return db_exec_bin(c, stmt, params, NULL, NULL, 0, res);
}

enum db_qs db_exec_bin(struct db_conn *c, const struct db_stmt *stmt, const char *const *params,
                       const int *lengths, const int *formats, int result_format, PGresult **res)
{
  if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
    util_strlcpy(c->last_error, "connection lost", sizeof c->last_error);
    c->last_sqlstate[0] = '\0';
    return DB_QS_HARD;
  }
  if (!is_prepared(c, stmt)) {
    PGresult *pr = PQprepare(c->pg, stmt->name, stmt->sql, stmt->nparams, NULL);
    enum db_qs qs = db__classify(c, pr);
    PQclear(pr);
    if (qs < 0) {
      /* A statement of ours that does not prepare is a bug; a lost
       * connection or an aborted transaction is not. */
      if (PQstatus(c->pg) == CONNECTION_OK && strcmp(c->last_sqlstate, "25P02") != 0)
        log_bug("db", "prepare %s: %s", stmt->name, c->last_error);
      return qs;
    }
    if (remember(c, stmt) != 0)
      return DB_QS_HARD;
    c->stats.prepares++;
  }
  PGresult *r =
      PQexecPrepared(c->pg, stmt->name, stmt->nparams, params, lengths, formats, result_format);
  enum db_qs qs = db__classify(c, r);
  if (res != NULL)
    *res = qs > 0 ? r : NULL;
  if (res == NULL || qs <= 0)
    PQclear(r);
  return qs;
}

enum db_qs db_exec_sql(struct db_conn *c, const char *sql)
{
  if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
    util_strlcpy(c->last_error, "connection lost", sizeof c->last_error);
    c->last_sqlstate[0] = '\0';
    return DB_QS_HARD;
  }
  PGresult *r = PQexec(c->pg, sql);
  enum db_qs qs = db__classify(c, r);
  PQclear(r);
  return qs;
}
