/*
 * The reconciler's pass (docs/reconcile.md): every complete SETT/COMP
 * statement not yet reconciled, in cut-off order, each of its ISINs (and
 * every instrument's ISIN) in one SERIALIZABLE transaction of its own that
 * calls recon_isin() (migrations/0015-reconcile.sql).  The run row's unique
 * key (isin, statement) makes a pass resumable: a pass killed half way
 * leaves whole runs only, and the next one carries on with what is left.
 * Each break of the run that is open and not of class timing raises a
 * recon_break alert (docs/alerts.md) in the same transaction, once per
 * break, and a line "ALERT recon_break ..." in the log after the commit.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/reconcile.h"

/* The next pair still to reconcile. */
static const struct db_stmt q_recon_todo = {
    "recon_todo", "SELECT statement, isin FROM recon_todo ORDER BY cutoff, statement, isin LIMIT 1",
    0};

/* One pair, then its run's status (the run is not visible to the first statement). */
static const struct db_stmt q_recon_isin = {"recon_isin", "SELECT recon_isin($1, $2, $3)", 3};
static const struct db_stmt q_recon_run_status = {"recon_run_status",
                                                  "SELECT status FROM recon_runs WHERE id = $1", 1};

/* The run's open breaks other than timing, as operators' alerts (0019-alerts.sql). */
static const struct db_stmt q_recon_alerts = {
    "recon_alerts",
    "INSERT INTO alerts (kind, ref, isin, instrument, detail)"
    " SELECT 'recon_break', b.id::text, b.isin, i.id,"
    " left(format('%s break %s on %s: %s', b.class, b.key, b.isin, b.detail), 2000)"
    " FROM recon_breaks b LEFT JOIN instruments i ON i.isin = b.isin"
    " WHERE b.last_run = $1::bigint AND b.status = 'open' AND b.class <> 'timing' ORDER BY b.id"
    " ON CONFLICT (kind, ref) DO NOTHING RETURNING ref, detail",
    1};

static const struct db_stmt q_recon_open = {
    "recon_open_breaks", "SELECT count(*) FROM recon_breaks WHERE status IN ('open', 'explained')",
    0};

struct pair {
  char statement[24];
  char isin[16];
  char tol[24];
  bool found;
  bool ok;
  PGresult *alerts; /* the alerts the run raised (ref, detail), logged after the commit */
};

static enum db_qs todo_txn(struct db_conn *c, void *cls)
{
  struct pair *p = cls;
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_recon_todo, NULL, &r);
  p->found = false;
  if (qs <= 0)
    return qs;
  snprintf(p->statement, sizeof p->statement, "%s", PQgetvalue(r, 0, 0));
  snprintf(p->isin, sizeof p->isin, "%s", PQgetvalue(r, 0, 1));
  p->found = true;
  PQclear(r);
  return qs;
}

static enum db_qs isin_txn(struct db_conn *c, void *cls)
{
  struct pair *p = cls;
  const char *params[3] = {p->statement, p->isin, p->tol};
  char run[24];
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_recon_isin, params, &r);
  if (qs <= 0)
    return qs == DB_QS_NONE ? DB_QS_HARD : qs;
  snprintf(run, sizeof run, "%s", PQgetvalue(r, 0, 0));
  PQclear(r);
  const char *rp[1] = {run};
  qs = db_exec(c, &q_recon_run_status, rp, &r);
  if (qs <= 0)
    return qs == DB_QS_NONE ? DB_QS_HARD : qs;
  p->ok = strcmp(PQgetvalue(r, 0, 0), "ok") == 0;
  PQclear(r);
  if (p->alerts != NULL) { /* a retried body: the earlier attempt's rows are void */
    PQclear(p->alerts);
    p->alerts = NULL;
  }
  enum db_qs aq = db_exec(c, &q_recon_alerts, rp, &p->alerts);
  return aq < 0 ? aq : qs;
}

static enum db_qs open_txn(struct db_conn *c, void *cls)
{
  unsigned *n = cls;
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_recon_open, NULL, &r);
  if (qs <= 0)
    return qs;
  *n = (unsigned)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return qs;
}

int recon_step(struct db_conn *c, int64_t tolerance_tokens, struct recon_stats *st)
{
  struct recon_stats local;
  struct pair p;
  int rc;
  if (st == NULL)
    st = &local;
  memset(st, 0, sizeof *st);
  memset(&p, 0, sizeof p);
  snprintf(p.tol, sizeof p.tol, "%" PRId64, tolerance_tokens < 0 ? 0 : tolerance_tokens);
  for (;;) {
    if ((rc = db_txn(c, "recon_todo", todo_txn, &p)) != 0)
      return rc;
    if (!p.found)
      break;
    rc = db_txn(c, "recon_isin", isin_txn, &p);
    for (int i = 0; rc == 0 && p.alerts != NULL && i < PQntuples(p.alerts); i++)
      log_msg(LOGL_ERROR, "recon", "ALERT recon_break %s: %s", PQgetvalue(p.alerts, i, 0),
              PQgetvalue(p.alerts, i, 1));
    if (p.alerts != NULL) {
      PQclear(p.alerts);
      p.alerts = NULL;
    }
    if (rc != 0) {
      log_msg(LOGL_ERROR, "recon", "statement %s isin %s: %s (%s)", p.statement, p.isin,
              err_text(rc), c->last_error);
      return rc;
    }
    st->runs++;
    if (p.ok)
      st->ok++;
    else
      st->with_breaks++;
    log_msg(p.ok ? LOGL_INFO : LOGL_WARN, "recon", "statement %s isin %s: %s", p.statement, p.isin,
            p.ok ? "ok" : "breaks");
  }
  return db_txn(c, "recon_open_breaks", open_txn, &st->open_breaks);
}
