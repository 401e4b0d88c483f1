/*
 * GET /v1/orders (ap: its own; issuer admin, auditor: all): orders by id,
 * one page at a time (?limit=, ?cursor=), filtered by ?state=, ?kind=
 * (mint, redeem), ?symbol= (the stock's or the token's) and, for issuer
 * admins and auditors, ?ap= (an AP's principal id; an AP passing it gets
 * 403).  {"items": [order...], "next_cursor": ...}.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_orders_int.h"

static int item(void *cls, const struct order *o)
{
  struct api_page_out *p = cls;
  if (!api_page_item(p, o->id))
    return 1; /* one beyond the page: stop */
  api__show_order(p->j, o);
  return 0;
}

static bool symbol_ok(const char *s)
{
  size_t n = strlen(s);
  if (n == 0 || n >= ORDER_SYMBOL_MAX)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
          (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
      return false;
  return true;
}

/* The filters of the query; 0 or the code to answer, with @hint. */
static int filters(struct api_request *req, void *cls, char *hint, size_t hs)
{
  struct order_filter *f = cls;
  const struct api_principal *me = api_req_principal(req);
  const char *state = api_req_query(req, "state"), *kind = api_req_query(req, "kind"),
             *sym = api_req_query(req, "symbol"), *ap = api_req_query(req, "ap");
  memset(f, 0, sizeof *f);
  if (state != NULL) {
    if (order_state_parse(state, &f->state) != 0)
      return api__hint(hint, hs, -ERR_API_FIELD, "state: one of the order states (docs/orders.md)");
    f->has_state = true;
  }
  if (kind != NULL) {
    if (strcmp(kind, "mint") != 0 && strcmp(kind, "redeem") != 0)
      return api__hint(hint, hs, -ERR_API_FIELD, "kind: \"mint\" or \"redeem\"");
    f->has_kind = true;
    f->kind = kind[0] == 'm' ? ORDER_MINT : ORDER_REDEEM;
  }
  if (sym != NULL) {
    if (!symbol_ok(sym))
      return api__hint(hint, hs, -ERR_API_FIELD,
                       "symbol: 1 to 16 of A-Z a-z 0-9 . _ - (the stock's or the token's)");
    f->symbol = sym;
  }
  if (me->role == API_ROLE_AP) {
    if (ap != NULL)
      return api__hint(hint, hs, -ERR_API_FORBIDDEN,
                       "?ap= is for issuer_admin and auditor keys; an AP sees its own orders");
    f->ap = me->id;
  } else if (ap != NULL) {
    char *end;
    errno = 0;
    long long v = ap[0] >= '1' && ap[0] <= '9' && strlen(ap) <= 19 ? strtoll(ap, &end, 10) : 0;
    if (v <= 0 || errno != 0 || *end != '\0')
      return api__hint(hint, hs, -ERR_API_FIELD, "ap: a principal id, 1 or more");
    f->ap = v;
  }
  return 0;
}

static int rows(struct db_conn *c, struct api_page_out *o, void *cls)
{
  return order_list(c, cls, o->page.after, (size_t)o->page.limit + 1, item, o);
}

int api_orders_get(struct api_request *req)
{
  static const struct api_page_list list = {.check = filters, .rows = rows};
  struct order_filter f;
  return api_page_get(req, &list, &f);
}
