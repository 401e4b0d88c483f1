/*
 * Reading the reconciler's tables (recon_runs, recon_breaks) as plain
 * lines for the command line and tests, and an admin's resolution of a
 * break (docs/reconcile.md).  Filters are parameters; NULL means any.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/reconcile.h"

static const struct db_stmt q_recon_runs_list = {
    "recon_runs_list",
    "SELECT id, isin, statement, to_char(cutoff AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), block, supply, multiplier, agg, pend_out, penr_in, "
    "red_owed, red_instr, mint_owed, liabilities, settled_coverage, contractual_coverage, status, "
    "breaks FROM recon_runs WHERE ($1::text IS NULL OR isin = $1) "
    "AND ($2::text IS NULL OR status = $2) AND id > $3::bigint ORDER BY id LIMIT $4::int",
    4};

static const struct db_stmt q_recon_breaks_list = {
    "recon_breaks_list",
    "SELECT id, run, last_run, isin, key, class, amount, status, coalesce(note, ''), detail "
    "FROM recon_breaks WHERE ($1::text IS NULL OR isin = $1) "
    "AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR class = $3) "
    "AND id > $4::bigint ORDER BY id LIMIT $5::int",
    5};

static const struct db_stmt q_recon_break_resolve = {
    "recon_break_resolve",
    "UPDATE recon_breaks SET status = $2, note = $3, resolved_by = nullif($4::bigint, 0), "
    "updated = clock_now() WHERE id = $1 AND status IN ('open', 'explained') "
    "AND NOT (status = 'explained' AND $2 = 'explained')",
    4};

static const struct db_stmt q_recon_break_exists = {
    "recon_break_exists", "SELECT status FROM recon_breaks WHERE id = $1", 1};

/* Trailing zeros off a numeric's text (in place): "1.500000" -> "1.5", "2.000" -> "2". */
static const char *trim(char *buf, size_t size, const char *v)
{
  snprintf(buf, size, "%s", v);
  if (strchr(buf, '.') == NULL)
    return buf;
  size_t n = strlen(buf);
  while (n > 0 && buf[n - 1] == '0')
    buf[--n] = '\0';
  if (n > 0 && buf[n - 1] == '.')
    buf[--n] = '\0';
  return buf;
}

/* Runs @q with the filter's parameters and prints each row with @show. */
struct list_ctx {
  const struct db_stmt *q;
  const char *params[5];
  FILE *out;
  void (*show)(FILE *out, PGresult *r, int row);
  int lines;
};

static enum db_qs list_txn(struct db_conn *c, void *cls)
{
  struct list_ctx *l = cls;
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, l->q, l->params, &r);
  l->lines = 0;
  if (qs <= 0)
    return qs;
  for (int i = 0; i < PQntuples(r); i++)
    l->show(l->out, r, i);
  l->lines = PQntuples(r);
  PQclear(r);
  return qs;
}

static void show_run(FILE *out, PGresult *r, int i)
{
  char b[9][64];
  fprintf(out,
          "run id=%s isin=%s statement=%s cutoff=%s block=%s supply=%s multiplier=%s agg=%s "
          "pend_out=%s penr_in=%s red_owed=%s red_instr=%s mint_owed=%s liabilities=%s "
          "settled_coverage=%s contractual_coverage=%s status=%s breaks=%s\n",
          PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
          PQgetvalue(r, i, 4), trim(b[0], sizeof b[0], PQgetvalue(r, i, 5)),
          trim(b[1], sizeof b[1], PQgetvalue(r, i, 6)), PQgetvalue(r, i, 7), PQgetvalue(r, i, 8),
          PQgetvalue(r, i, 9), PQgetvalue(r, i, 10), PQgetvalue(r, i, 11), PQgetvalue(r, i, 12),
          PQgetvalue(r, i, 13), PQgetvalue(r, i, 14), PQgetvalue(r, i, 15), PQgetvalue(r, i, 16),
          PQgetvalue(r, i, 17));
}

static void show_break(FILE *out, PGresult *r, int i)
{
  char note[600], detail[600];
  const char *srcs[2] = {PQgetvalue(r, i, 8), PQgetvalue(r, i, 9)};
  char *dsts[2] = {note, detail};
  for (int k = 0; k < 2; k++) { /* one line per row: control characters print as '?' */
    snprintf(dsts[k], sizeof note, "%s", srcs[k][0] ? srcs[k] : "-");
    for (char *p = dsts[k]; *p; p++)
      if ((unsigned char)*p < 0x20)
        *p = '?';
  }
  fprintf(out,
          "break id=%s run=%s last_run=%s isin=%s key=%s class=%s amount=%s status=%s "
          "note=\"%s\" detail=\"%s\"\n",
          PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
          PQgetvalue(r, i, 4), PQgetvalue(r, i, 5), PQgetvalue(r, i, 6), PQgetvalue(r, i, 7), note,
          detail);
}

static int list(struct db_conn *c, const struct recon_filter *f, bool breaks, FILE *out)
{
  struct recon_filter none;
  struct list_ctx l;
  char after[24], limit[16];
  memset(&none, 0, sizeof none);
  if (f == NULL)
    f = &none;
  snprintf(after, sizeof after, "%" PRId64, f->after);
  snprintf(limit, sizeof limit, "%u", f->limit == 0 ? 100u : f->limit);
  memset(&l, 0, sizeof l);
  l.out = out;
  l.params[0] = f->isin;
  l.params[1] = f->status;
  if (breaks) {
    l.q = &q_recon_breaks_list;
    l.params[2] = f->klass;
    l.params[3] = after;
    l.params[4] = limit;
    l.show = show_break;
  } else {
    l.q = &q_recon_runs_list;
    l.params[2] = after;
    l.params[3] = limit;
    l.show = show_run;
  }
  int rc = db_txn(c, breaks ? "recon_breaks_list" : "recon_runs_list", list_txn, &l);
  return rc != 0 ? rc : l.lines;
}

int recon_runs_show(struct db_conn *c, const struct recon_filter *f, FILE *out)
{
  return list(c, f, false, out);
}

int recon_breaks_show(struct db_conn *c, const struct recon_filter *f, FILE *out)
{
  return list(c, f, true, out);
}

bool recon_break_status_valid(const char *s)
{
  return s != NULL && (strcmp(s, "explained") == 0 || strcmp(s, "resolved") == 0);
}

enum db_qs recon_break_resolve_in(struct db_conn *c, int64_t id, const char *status,
                                  const char *note, int64_t principal, int *err)
{
  char ids[24], who[24];
  PGresult *r = NULL;
  *err = 0;
  if (!recon_break_status_valid(status) || note == NULL || note[0] == '\0' || strlen(note) > 500) {
    *err = -ERR_INVALID_ARGUMENT;
    return DB_QS_NONE;
  }
  snprintf(ids, sizeof ids, "%" PRId64, id);
  snprintf(who, sizeof who, "%" PRId64, principal);
  const char *p[4] = {ids, status, note, who};
  enum db_qs qs = db_exec(c, &q_recon_break_resolve, p, NULL);
  if (qs != DB_QS_NONE)
    return qs;
  qs = db_exec(c, &q_recon_break_exists, p, &r);
  if (qs < 0)
    return qs;
  *err = qs == DB_QS_NONE ? -ERR_API_NOT_FOUND : -ERR_API_CONFLICT;
  if (r != NULL)
    PQclear(r);
  return DB_QS_NONE;
}
