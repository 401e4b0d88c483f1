/*
 * GET /v1/orders/{id} (ap: its own; issuer admin, auditor: any): 200
 * {"order": ...}; 404 order_not_found for no such order and for another
 * AP's.
 */
#include "api/api_orders_int.h"

int api_order_get(struct api_request *req)
{
  struct db_conn *c;
  struct order o;
  struct api_json j;
  int64_t id;
  int rc = api__order_id(req, &id);
  if (rc == 0)
    rc = api_req_db(req, &c);
  if (rc == 0)
    rc = api__order_visible(c, api_req_principal(req), id, false, &o);
  if (rc != 0)
    return api_reply_error(req, rc, NULL);
  api_json_init(&j);
  api_json_obj(&j);
  api_json_key(&j, "order");
  api__show_order(&j, &o);
  api_json_obj_end(&j);
  rc = api_reply_writer(req, 200, &j);
  api_json_free(&j);
  return rc;
}
