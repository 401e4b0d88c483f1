/*
 * GET /v1/orders/{id}/events (ap: its own order; issuer admin, auditor:
 * any): the order's events in order (seq 1, 2, ...), one page at a time
 * (?limit=, ?cursor=): {"items": [event...], "next_cursor": ...}; 404
 * order_not_found for no such order and for another AP's.
 */
#include "api/api_orders_int.h"

struct page {
  struct api_json *j;
  unsigned limit, n;
  int64_t last;
  bool more;
};

static int item(void *cls, const struct order_event *e)
{
  struct page *p = cls;
  if (p->n >= p->limit) {
    p->more = true;
    return 1;
  }
  api__show_order_event(p->j, e);
  p->n++;
  p->last = e->id;
  return 0;
}

int api_order_events_get(struct api_request *req)
{
  struct api_page pg;
  struct db_conn *c;
  struct order o;
  struct api_json j;
  char hint[API_HINT_MAX];
  int64_t id;
  int rc = api__order_id(req, &id);
  if (rc == 0)
    rc = api_page_args(req, &pg, hint, sizeof hint);
  else
    hint[0] = '\0';
  if (rc != 0)
    return api_reply_error(req, rc, hint[0] != '\0' ? hint : NULL);
  if ((rc = api_req_db(req, &c)) == 0)
    rc = api__order_visible(c, api_req_principal(req), id, false, &o);
  if (rc != 0)
    return api_reply_error(req, rc, NULL);
  api_json_init(&j);
  api_page_open(&j);
  struct page p = {.j = &j, .limit = pg.limit};
  rc = order_events(c, id, pg.after, (size_t)pg.limit + 1, item, &p);
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
