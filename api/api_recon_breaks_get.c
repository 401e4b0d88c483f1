/*
 * GET /v1/recon/breaks (issuer admin, auditor): the reconciler's breaks by
 * id, filtered by ?isin=, ?status= (open | explained | aged_out |
 * resolved) and ?class=, one page at a time (?limit=, ?cursor=):
 * {"items": [break...], "next_cursor": ...}.  amount: shares, signed.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_recon_int.h"

static const struct db_stmt q_api_recon_breaks = {
    "api_recon_breaks",
    "SELECT id, run, last_run, isin, key, class, amount, detail, status,"
    " (extract(epoch FROM opened) * 1000)::bigint, (extract(epoch FROM updated) * 1000)::bigint,"
    " resolved_by, note FROM recon_breaks WHERE id > $1::bigint"
    " AND ($3::text IS NULL OR isin = $3) AND ($4::text IS NULL OR status = $4)"
    " AND ($5::text IS NULL OR class = $5) ORDER BY id LIMIT $2::int",
    5};

struct filt {
  const char *isin, *status, *klass;
};

static bool one_of(const char *v, const char *const *set)
{
  for (; *set != NULL; set++)
    if (strcmp(v, *set) == 0)
      return true;
  return false;
}

static int check(struct api_request *req, void *cls, char *hint, size_t hint_size)
{
  static const char *const statuses[] = {"open", "explained", "aged_out", "resolved", NULL};
  static const char *const classes[] = {
      "timing", "pending_settlement", "failed_settlement", "corporate_action",
      "fees",   "security_master",    "booking",           "custodian_data",
      NULL};
  struct filt *f = cls;
  f->isin = api_req_query(req, "isin");
  f->status = api_req_query(req, "status");
  f->klass = api_req_query(req, "class");
  if (f->isin != NULL && strlen(f->isin) != 12)
    return api__hint(hint, hint_size, ERR_API_FIELD, "?isin=: want 12 characters");
  if (f->status != NULL && !one_of(f->status, statuses))
    return api__hint(hint, hint_size, ERR_API_FIELD,
                     "?status=: want open, explained, aged_out or resolved");
  if (f->klass != NULL && !one_of(f->klass, classes))
    return api__hint(hint, hint_size, ERR_API_FIELD, "?class=: not a break class");
  return 0;
}

static void col(struct api_json *j, const char *k, PGresult *r, int i, int c)
{
  api_json_key(j, k);
  if (PQgetisnull(r, i, c))
    api_json_null(j);
  else
    api_json_str(j, PQgetvalue(r, i, c));
}

static void num(struct api_json *j, const char *k, PGresult *r, int i, int c)
{
  api_json_key(j, k);
  if (PQgetisnull(r, i, c))
    api_json_null(j);
  else
    api_json_int(j, strtoll(PQgetvalue(r, i, c), NULL, 10));
}

static void show(struct api_json *j, PGresult *r, int i)
{
  api_json_obj(j);
  num(j, "id", r, i, 0);
  num(j, "run", r, i, 1);
  num(j, "last_run", r, i, 2);
  col(j, "isin", r, i, 3);
  col(j, "key", r, i, 4);
  col(j, "class", r, i, 5);
  col(j, "amount", r, i, 6);
  col(j, "detail", r, i, 7);
  col(j, "status", r, i, 8);
  api_json_key(j, "opened");
  api_json_time(j, strtoll(PQgetvalue(r, i, 9), NULL, 10));
  api_json_key(j, "updated");
  api_json_time(j, strtoll(PQgetvalue(r, i, 10), NULL, 10));
  num(j, "resolved_by", r, i, 11);
  col(j, "note", r, i, 12);
  api_json_obj_end(j);
}

static int rows(struct db_conn *c, struct api_page_out *o, void *cls)
{
  const struct filt *f = cls;
  const char *args[] = {f->isin, f->status, f->klass};
  return api_page_query_args(c, &q_api_recon_breaks, args, 3, o, show);
}

int api_recon_breaks_get(struct api_request *req)
{
  static const struct api_page_list list = {.check = check, .rows = rows};
  struct filt f = {NULL, NULL, NULL};
  return api_page_get(req, &list, &f);
}
