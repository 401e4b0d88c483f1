/*
 * GET /v1/admin/principals (issuer admin, auditor): every principal by
 * id, one page at a time (?limit=, ?cursor=): {"items": [principal...],
 * "next_cursor": ...}.  Nothing changed.
 */
#include <stdlib.h>

#include "api/api_int.h"

static const struct db_stmt q_page = {
    "api_principals_page",
    "SELECT id, name, role, (extract(epoch from created) * 1000)::bigint, disabled"
    " FROM principals WHERE id > $1::bigint ORDER BY id LIMIT $2::integer",
    2,
};

int api_admin_principals_get(struct api_request *req)
{
  struct api_page pg;
  struct api_json j;
  struct db_conn *c;
  char hint[API_HINT_MAX];
  PGresult *r = NULL;
  int rc = api_page_args(req, &pg, hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  if ((rc = api_req_db(req, &c)) != 0)
    return api_reply_error(req, rc, NULL);
  int shown;
  bool more;
  if ((rc = api_page_fetch(c, &q_page, &pg, &r, &shown, &more)) != 0)
    return api_reply_error(req, rc, NULL);
  api_json_init(&j);
  api_page_open(&j);
  int64_t last = 0;
  for (int i = 0; i < shown; i++) {
    struct api_principal p = {0};
    p.id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    util_strlcpy(p.name, PQgetvalue(r, i, 1), sizeof p.name);
    if (api_role_parse(PQgetvalue(r, i, 2), &p.role) != 0)
      log_bug("api", "principal %lld has no known role", (long long)p.id);
    p.created_ms = api__ms_value(r, i, 3);
    p.disabled = PQgetvalue(r, i, 4)[0] == 't';
    api_show_principal(&j, &p);
    last = p.id;
  }
  PQclear(r);
  api_page_close(&j, more ? last : 0);
  api_json_obj_end(&j);
  rc = api_reply_writer(req, 200, &j);
  api_json_free(&j);
  return rc;
}
