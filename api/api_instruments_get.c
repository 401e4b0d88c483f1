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

int api_instruments_get(struct api_request *req)
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
    struct api_instrument in;
    api__instrument_row(r, i, &in);
    api__show_instrument(&j, &in);
    last = in.id;
  }
  PQclear(r);
  api_page_close(&j, more ? last : 0);
  api_json_obj_end(&j);
  rc = api_reply_writer(req, 200, &j);
  api_json_free(&j);
  return rc;
}
