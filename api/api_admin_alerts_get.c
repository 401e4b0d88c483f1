/*
 * GET /v1/admin/alerts (issuer admin, auditor): the operators' alerts by
 * id (docs/alerts.md), filtered by ?kind= (secure_mint | recon_break |
 * broker) and ?open= (true: not yet acknowledged; false: acknowledged),
 * one page at a time (?limit=, ?cursor=): {"items": [alert...],
 * "next_cursor": ...}.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_alerts_int.h"

static const struct db_stmt q_api_alerts = {
    "api_alerts",
    "SELECT " API_ALERT_COLS " FROM alerts a LEFT JOIN instruments i ON i.id = a.instrument"
    " WHERE a.id > $1::bigint AND ($3::text IS NULL OR a.kind = $3)"
    " AND ($4::boolean IS NULL OR (a.acknowledged_at IS NULL) = $4::boolean)"
    " ORDER BY a.id LIMIT $2::int",
    4};

struct filt {
  const char *kind, *open;
};

static int check(struct api_request *req, void *cls, char *hint, size_t hint_size)
{
  struct filt *f = cls;
  f->kind = api_req_query(req, "kind");
  f->open = api_req_query(req, "open");
  if (f->kind != NULL && strcmp(f->kind, "secure_mint") != 0 &&
      strcmp(f->kind, "recon_break") != 0 && strcmp(f->kind, "broker") != 0)
    return api__hint(hint, hint_size, ERR_API_FIELD,
                     "?kind=: want secure_mint, recon_break or broker");
  if (f->open != NULL && strcmp(f->open, "true") != 0 && strcmp(f->open, "false") != 0)
    return api__hint(hint, hint_size, ERR_API_FIELD, "?open=: want true or false");
  return 0;
}

static int rows(struct db_conn *c, struct api_page_out *o, void *cls)
{
  const struct filt *f = cls;
  const char *args[] = {f->kind, f->open};
  return api_page_query_args(c, &q_api_alerts, args, 2, o, api__alert_show);
}

int api_admin_alerts_get(struct api_request *req)
{
  static const struct api_page_list list = {.check = check, .rows = rows};
  struct filt f = {NULL, NULL};
  return api_page_get(req, &list, &f);
}
