/*
 * GET /v1/recon/runs (issuer admin, auditor): the reconciler's runs by id,
 * filtered by ?isin= and ?status= (ok | breaks), one page at a time
 * (?limit=, ?cursor=): {"items": [run...], "next_cursor": ...}.  Figures
 * are decimal strings as stored (shares scale 6, supply raw scale 18).
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_recon_int.h"

static const struct db_stmt q_api_recon_runs = {
    "api_recon_runs",
    "SELECT id, isin, statement, (extract(epoch FROM cutoff) * 1000)::bigint, block, supply,"
    " multiplier, agg, pend_out, penr_in, red_owed, red_instr, mint_owed, liabilities,"
    " settled_coverage, contractual_coverage, status, breaks,"
    " (extract(epoch FROM created) * 1000)::bigint, array_to_string(statement_sha256s, ',')"
    " FROM recon_runs WHERE id > $1::bigint AND ($3::text IS NULL OR isin = $3)"
    " AND ($4::text IS NULL OR status = $4) ORDER BY id LIMIT $2::int",
    4};

struct filt {
  const char *isin, *status;
};

static int check(struct api_request *req, void *cls, char *hint, size_t hint_size)
{
  struct filt *f = cls;
  f->isin = api_req_query(req, "isin");
  f->status = api_req_query(req, "status");
  if (f->isin != NULL && strlen(f->isin) != 12)
    return api__hint(hint, hint_size, ERR_API_FIELD, "?isin=: want 12 characters");
  if (f->status != NULL && strcmp(f->status, "ok") != 0 && strcmp(f->status, "breaks") != 0)
    return api__hint(hint, hint_size, ERR_API_FIELD, "?status=: want ok or breaks");
  return 0;
}

static void str(struct api_json *j, const char *k, PGresult *r, int i, int col)
{
  api_json_key(j, k);
  api_json_str(j, PQgetvalue(r, i, col));
}

static int rows(struct db_conn *c, struct api_page_out *o, void *cls)
{
  const struct filt *f = cls;
  static const char *const names[] = {"supply",
                                      "multiplier",
                                      "agg",
                                      "pend_out",
                                      "penr_in",
                                      "red_owed",
                                      "red_instr",
                                      "mint_owed",
                                      "liabilities",
                                      "settled_coverage",
                                      "contractual_coverage",
                                      "status"};
  char after[24], limit[16];
  PGresult *r = NULL;
  snprintf(after, sizeof after, "%lld", (long long)o->page.after);
  snprintf(limit, sizeof limit, "%u", o->page.limit + 1);
  const char *p[4] = {after, limit, f->isin, f->status};
  enum db_qs qs = db_exec(c, &q_api_recon_runs, p, &r);
  if (qs < 0)
    return qs == DB_QS_SOFT ? -ERR_DB_CONFLICT : -ERR_DB_HARD;
  for (int i = 0; i < (qs > 0 ? PQntuples(r) : 0); i++) {
    if (!api_page_item(o, strtoll(PQgetvalue(r, i, 0), NULL, 10)))
      break;
    api_json_obj(o->j);
    api_json_key(o->j, "id");
    api_json_int(o->j, strtoll(PQgetvalue(r, i, 0), NULL, 10));
    str(o->j, "isin", r, i, 1);
    api_json_key(o->j, "statement");
    api_json_int(o->j, strtoll(PQgetvalue(r, i, 2), NULL, 10));
    api_json_key(o->j, "cutoff");
    api_json_time(o->j, strtoll(PQgetvalue(r, i, 3), NULL, 10));
    api_json_key(o->j, "block");
    api_json_int(o->j, strtoll(PQgetvalue(r, i, 4), NULL, 10));
    for (int k = 0; k < 12; k++)
      str(o->j, names[k], r, i, 5 + k);
    api_json_key(o->j, "breaks");
    api_json_int(o->j, strtoll(PQgetvalue(r, i, 17), NULL, 10));
    api_json_key(o->j, "created");
    api_json_time(o->j, strtoll(PQgetvalue(r, i, 18), NULL, 10));
    api_json_key(o->j, "statement_sha256s");
    api_json_arr(o->j);
    const char *s = PQgetvalue(r, i, 19);
    while (*s != '\0') {
      const char *e = strchr(s, ',');
      size_t n = e != NULL ? (size_t)(e - s) : strlen(s);
      api_json_strn(o->j, s, n);
      s += n + (e != NULL);
    }
    api_json_arr_end(o->j);
    api_json_obj_end(o->j);
  }
  if (r != NULL)
    PQclear(r);
  return 0;
}

int api_recon_runs_get(struct api_request *req)
{
  static const struct api_page_list list = {.check = check, .rows = rows};
  struct filt f = {NULL, NULL};
  return api_page_get(req, &list, &f);
}
