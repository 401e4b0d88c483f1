/*
 * GET /v1/instruments (issuer admin, auditor, AP): every instrument by
 * id, one page at a time (?limit=, ?cursor=): {"items": [instrument...],
 * "next_cursor": ...}.
 */
#include "api/api_instruments_int.h"

static const struct db_stmt q_page = {
    "api_instruments_page",
    "SELECT " API_INSTRUMENT_COLS
    " FROM instruments WHERE id > $1::bigint ORDER BY id LIMIT $2::integer",
    2,
};

static void show(struct api_json *j, PGresult *r, int row)
{
  struct api_instrument in;
  api__instrument_row(r, row, &in);
  api__show_instrument(j, &in);
}

static int rows(struct db_conn *c, struct api_page_out *o, void *cls)
{
  (void)cls;
  return api_page_query(c, &q_page, o, show);
}

int api_instruments_get(struct api_request *req)
{
  static const struct api_page_list list = {.rows = rows};
  return api_page_get(req, &list, NULL);
}
