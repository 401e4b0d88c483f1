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

static void show(struct api_json *j, PGresult *r, int i)
{
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
  api_json_obj(j);
  api_json_key(j, "id");
  api_json_int(j, strtoll(PQgetvalue(r, i, 0), NULL, 10));
  str(j, "isin", r, i, 1);
  api_json_key(j, "statement");
  api_json_int(j, strtoll(PQgetvalue(r, i, 2), NULL, 10));
  api_json_key(j, "cutoff");
  api_json_time(j, strtoll(PQgetvalue(r, i, 3), NULL, 10));
  api_json_key(j, "block");
  api_json_int(j, strtoll(PQgetvalue(r, i, 4), NULL, 10));
  for (int k = 0; k < 12; k++)
    str(j, names[k], r, i, 5 + k);
  api_json_key(j, "breaks");
  api_json_int(j, strtoll(PQgetvalue(r, i, 17), NULL, 10));
  api_json_key(j, "created");
  api_json_time(j, strtoll(PQgetvalue(r, i, 18), NULL, 10));
  api_json_key(j, "statement_sha256s");
  api_json_arr(j);
  const char *s = PQgetvalue(r, i, 19);
  while (*s != '\0') {
    const char *e = strchr(s, ',');
    size_t n = e != NULL ? (size_t)(e - s) : strlen(s);
    api_json_strn(j, s, n);
    s += n + (e != NULL);
  }
  api_json_arr_end(j);
  api_json_obj_end(j);
}

static int rows(struct db_conn *c, struct api_page_out *o, void *cls)
{
  const struct filt *f = cls;
  const char *args[] = {f->isin, f->status};
  return api_page_query_args(c, &q_api_recon_runs, args, 2, o, show);
}

int api_recon_runs_get(struct api_request *req)
{
  static const struct api_page_list list = {.check = check, .rows = rows};
  struct filt f = {NULL, NULL};
  return api_page_get(req, &list, &f);
}
