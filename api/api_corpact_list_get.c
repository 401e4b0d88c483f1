/*
 * GET /v1/instruments/{symbol}/corporate-actions (issuer admin, auditor,
 * AP): the instrument's corporate actions by id, every status, one page
 * at a time (?limit=, ?cursor=): {"items": [action...], "next_cursor":
 * ...}; 404 for no such instrument.
 */
#include <stdlib.h>

#include "api/api_corpact_int.h"
#include "api/api_instruments_int.h"

int api_corpact_list_get(struct api_request *req)
{
  struct api_page pg;
  struct api_instrument in;
  struct api_json j;
  struct db_conn *c;
  char hint[API_HINT_MAX];
  int rc = api_page_args(req, &pg, hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  if ((rc = api_req_db(req, &c)) != 0)
    return api_reply_error(req, rc, NULL);
  enum db_qs qs = api__instrument_by_symbol(c, api_req_param(req, "symbol"), false, &in);
  if (qs < 0)
    return api_reply_error(req, qs == DB_QS_SOFT ? ERR_DB_CONFLICT : ERR_DB_HARD, NULL);
  if (qs == DB_QS_NONE)
    return api_reply_error(req, ERR_API_NOT_FOUND, "no such instrument");
  /* One more than shown: whether another page follows. */
  struct corpact *items = calloc((size_t)pg.limit + 1, sizeof *items);
  if (items == NULL)
    return api_reply_error(req, ERR_NOMEM, NULL);
  int n = corpact_list(c, in.id, pg.after, items, (size_t)pg.limit + 1);
  if (n < 0) {
    free(items);
    return api_reply_error(req, n, NULL);
  }
  bool more = (unsigned)n > pg.limit;
  int shown = more ? (int)pg.limit : n;
  api_json_init(&j);
  api_page_open(&j);
  for (int i = 0; i < shown; i++)
    api__show_corpact(&j, &items[i]);
  api_page_close(&j, more ? items[shown - 1].id : 0);
  api_json_obj_end(&j);
  free(items);
  rc = api_reply_writer(req, 200, &j);
  api_json_free(&j);
  return rc;
}
