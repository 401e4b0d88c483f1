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

static void show(struct api_json *j, PGresult *r, int row)
{
  struct api_principal p = {0};
  p.id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
  util_strlcpy(p.name, PQgetvalue(r, row, 1), sizeof p.name);
  if (api_role_parse(PQgetvalue(r, row, 2), &p.role) != 0)
    log_bug("api", "principal %lld has no known role", (long long)p.id);
  p.created_ms = api__ms_value(r, row, 3);
  p.disabled = PQgetvalue(r, row, 4)[0] == 't';
  api_show_principal(j, &p);
}

static int rows(struct db_conn *c, struct api_page_out *o, void *cls)
{
  (void)cls;
  return api_page_query(c, &q_page, o, show);
}

int api_admin_principals_get(struct api_request *req)
{
  static const struct api_page_list list = {.rows = rows};
  return api_page_get(req, &list, NULL);
}
