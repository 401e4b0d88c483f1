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
  struct api_page_out *p = cls;
  if (api_page_item(p, l->id))
    api__show_limit(p->j, l);
  return 0;
}

static int check(struct api_request *req, void *cls, char *hint, size_t hint_size)
{
  const char *symbol = api_req_query(req, "symbol");
  *(const char **)cls = symbol;
  if (symbol != NULL && (symbol[0] == '\0' || strlen(symbol) >= ORDER_SYMBOL_MAX))
    return api__hint(hint, hint_size, ERR_API_FIELD, "?symbol=: want 1 to 16 characters");
  return 0;
}

static int rows(struct db_conn *c, struct api_page_out *o, void *cls)
{
  const char *symbol = *(const char **)cls;
  char sym[ORDER_SYMBOL_MAX];
  int64_t instrument = 0;
  if (symbol != NULL) {
    enum db_qs qs = api__part_instrument(c, symbol, &instrument, sym);
    if (qs < 0)
      return qs == DB_QS_SOFT ? -ERR_DB_CONFLICT : -ERR_DB_HARD;
    if (qs == DB_QS_NONE)
      return 0; /* nothing to show */
  }
  return order_limits_list(c, instrument, o->page.after, (size_t)o->page.limit + 1, item, o);
}

int api_participants_limits_get(struct api_request *req)
{
  static const struct api_page_list list = {.check = check, .rows = rows};
  const char *symbol = NULL;
  return api_page_get(req, &list, &symbol);
}
