/*
 * GET /v1/orders/{id}/events (ap: its own order; issuer admin, auditor:
 * any): the order's events in order (seq 1, 2, ...), one page at a time
 * (?limit=, ?cursor=): {"items": [event...], "next_cursor": ...}; 404
 * order_not_found for no such order and for another AP's.
 */
#include "api/api_orders_int.h"

static int item(void *cls, const struct order_event *e)
{
  struct api_page_out *p = cls;
  if (!api_page_item(p, e->id))
    return 1;
  api__show_order_event(p->j, e);
  return 0;
}

struct ctx {
  const struct api_principal *me;
  int64_t id;
};

static int rows(struct db_conn *c, struct api_page_out *o, void *cls)
{
  const struct ctx *x = cls;
  struct order ord;
  int rc = api__order_visible(c, x->me, x->id, false, &ord);
  if (rc != 0)
    return rc;
  return order_events(c, x->id, o->page.after, (size_t)o->page.limit + 1, item, o);
}

int api_order_events_get(struct api_request *req)
{
  static const struct api_page_list list = {.rows = rows};
  struct ctx x = {.me = api_req_principal(req)};
  int rc = api__order_id(req, &x.id);
  if (rc != 0)
    return api_reply_error(req, rc, NULL);
  return api_page_get(req, &list, &x);
}
