/*
 * GET /v1/admin/limits (issuer admin, auditor): the order limits by id,
 * all or those of one instrument (?symbol=, the stock's or the token's;
 * an unknown symbol gives an empty list), one page at a time:
 * {"items": [limit...], "next_cursor": ...}.
 */
#include <string.h>

#include "api/api_participants_int.h"

static int item(void *cls, const struct order_limit *l)
{
  struct api_part_page *p = cls;
  if (api__part_page_item(p, l->id))
    api__show_limit(p->j, l);
  return 0;
}

int api_participants_limits_get(struct api_request *req)
{
  struct api_page pg;
  struct api_json j;
  struct db_conn *c;
  char hint[API_HINT_MAX], sym[ORDER_SYMBOL_MAX];
  int64_t instrument = 0;
  const char *symbol = api_req_query(req, "symbol");
  int rc = api_page_args(req, &pg, hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  if (symbol != NULL && (symbol[0] == '\0' || strlen(symbol) >= ORDER_SYMBOL_MAX))
    return api_reply_error(req, ERR_API_FIELD, "?symbol=: want 1 to 16 characters");
  if ((rc = api_req_db(req, &c)) != 0)
    return api_reply_error(req, rc, NULL);
  api_json_init(&j);
  struct api_part_page p = {.j = &j, .limit = pg.limit};
  api_page_open(&j);
  rc = 0;
  if (symbol != NULL) {
    enum db_qs qs = api__part_instrument(c, symbol, &instrument, sym);
    if (qs < 0)
      rc = qs == DB_QS_SOFT ? -ERR_DB_CONFLICT : -ERR_DB_HARD;
    else if (qs == DB_QS_NONE)
      instrument = -1; /* nothing to show */
  }
  if (rc == 0 && instrument >= 0)
    rc = order_limits_list(c, instrument, pg.after, (size_t)pg.limit + 1, item, &p);
  if (rc < 0) {
    api_json_free(&j);
    return api_reply_error(req, rc, NULL);
  }
  api_page_close(&j, p.more ? p.last : 0);
  api_json_obj_end(&j);
  rc = api_reply_writer(req, 200, &j);
  api_json_free(&j);
  return rc;
}
