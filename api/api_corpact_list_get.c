/*
 * GET /v1/instruments/{symbol}/corporate-actions (issuer admin, auditor,
 * AP): the instrument's corporate actions by id, every status, one page
 * at a time (?limit=, ?cursor=): {"items": [action...], "next_cursor":
 * ...}; 404 for no such instrument.
 */
#include <stdlib.h>

#include "api/api_corpact_int.h"
#include "api/api_instruments_int.h"

static int rows(struct db_conn *c, struct api_page_out *o, void *cls)
{
  struct api_instrument in;
  enum db_qs qs = api__instrument_by_symbol(c, *(const char *const *)cls, false, &in);
  if (qs < 0)
    return qs == DB_QS_SOFT ? -ERR_DB_CONFLICT : -ERR_DB_HARD;
  if (qs == DB_QS_NONE)
    return api__hint(o->hint, sizeof o->hint, -ERR_API_NOT_FOUND, "no such instrument");
  /* One more than shown: whether another page follows. */
  struct corpact *items = calloc((size_t)o->page.limit + 1, sizeof *items);
  if (items == NULL)
    return -ERR_NOMEM;
  int n = corpact_list(c, in.id, o->page.after, items, (size_t)o->page.limit + 1);
  for (int i = 0; i < n && api_page_item(o, items[i].id); i++)
    api__show_corpact(o->j, &items[i]);
  free(items);
  return n;
}

int api_corpact_list_get(struct api_request *req)
{
  static const struct api_page_list list = {.rows = rows};
  const char *symbol = api_req_param(req, "symbol");
  return api_page_get(req, &list, &symbol);
}
