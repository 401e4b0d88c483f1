/*
 * The one transaction runner.  Every write of the service goes through
 * db_txn(): BEGIN (SERIALIZABLE by session default), the body, COMMIT.
 * Serialization failures and deadlocks, in the body or at COMMIT, roll
 * back and run the body again after a randomized, growing pause, up to
 * c->max_retries attempts; then the caller gets ERR_DB_CONFLICT, which
 * the API answers with 503.  Nothing else is retried except a connection
 * lost before COMMIT was sent; a connection lost during COMMIT leaves the
 * outcome unknown and is reported as such, never retried blindly.
 */
#include <sodium.h>

#include "db/db_int.h"

/* Pause before attempt @attempt (2, 3, ...): up to 2^attempt ms, max 200. */
static void backoff(unsigned attempt)
{
  unsigned cap = attempt >= 8 ? 200 : (1u << attempt);
  if (cap > 200)
    cap = 200;
  util_sleep_ms(1 + randombytes_uniform(cap));
}

static void rollback(struct db_conn *c)
{
  if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK) {
    PGresult *r = PQexec(c->pg, "ROLLBACK");
    PQclear(r);
  }
  c->in_txn = false;
}

int db_txn(struct db_conn *c, const char *name, db_txn_fn fn, void *cls)
{
  int fail = -ERR_DB_CONFLICT; /* why the last attempt did not commit */
  for (unsigned attempt = 1; attempt <= c->max_retries; attempt++) {
    if (attempt > 1) {
      c->stats.txn_retries++;
      backoff(attempt);
    }
    if (db_ensure(c) != 0)
      return -ERR_DB_CONNECT;
    if (db_exec_sql(c, "BEGIN") < 0) {
      if (PQstatus(c->pg) != CONNECTION_OK) {
        fail = -ERR_DB_CONNECT;
        continue;
      } /* lost before anything ran: reconnect and try again */
      log_msg(LOGL_ERROR, "db", "%s: BEGIN failed: %s", name, c->last_error);
      return -ERR_DB_HARD;
    }
    c->in_txn = true;
    enum db_qs qs = fn(c, cls);
    if (qs == DB_QS_SOFT) {
      log_msg(LOGL_DEBUG, "db", "%s: attempt %u conflicted (%s)", name, attempt, c->last_sqlstate);
      rollback(c);
      fail = -ERR_DB_CONFLICT;
      continue;
    }
    if (qs == DB_QS_HARD) {
      bool lost = PQstatus(c->pg) != CONNECTION_OK;
      rollback(c);
      if (lost) {
        log_msg(LOGL_WARN, "db", "%s: connection lost in the body, retrying", name);
        fail = -ERR_DB_CONNECT;
        continue;
      }
      log_msg(LOGL_ERROR, "db", "%s: %s", name, c->last_error);
      return -ERR_DB_HARD;
    }
    PGresult *r = PQexec(c->pg, "COMMIT");
    qs = db__classify(c, r);
    PQclear(r);
    c->in_txn = false;
    if (qs >= 0) {
      c->stats.txn_commits++;
      return 0;
    }
    if (qs == DB_QS_SOFT) {
      log_msg(LOGL_DEBUG, "db", "%s: commit %u conflicted (%s)", name, attempt, c->last_sqlstate);
      rollback(c);
      fail = -ERR_DB_CONFLICT;
      continue;
    }
    if (PQstatus(c->pg) != CONNECTION_OK) {
      log_msg(LOGL_ERROR, "db", "%s: connection lost during COMMIT", name);
      return -ERR_DB_COMMIT_UNKNOWN;
    }
    log_msg(LOGL_ERROR, "db", "%s: COMMIT failed: %s", name, c->last_error);
    rollback(c);
    return -ERR_DB_HARD;
  }
  if (fail == -ERR_DB_CONNECT) {
    log_msg(LOGL_ERROR, "db", "%s: connection kept failing", name);
    return fail;
  }
  c->stats.txn_gave_up++;
  log_msg(LOGL_WARN, "db", "%s: gave up after %u conflicting attempts", name, c->max_retries);
  return -ERR_DB_CONFLICT;
}
