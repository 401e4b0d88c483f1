/*
 * POST /v1/orders/{id}/cancel (ap: its own; issuer admin: any): cancel an
 * order.  Body {} or {"reason": "..."} (1-200 bytes of text).  Before
 * its broker order it is cancelled at once; with a broker order live it
 * moves to cancel_requested and the broker is asked after the commit
 * (docs/orders.md, "Cancel").  200 {"order"}; 409 order_state when it
 * cannot be cancelled; 404 for no such order and for another AP's.  An
 * issuer admin's cancel is audited as order.cancel.
 */
#include <stdio.h>
#include <string.h>

#include "api/api_orders_int.h"

struct body {
  char reason[ORDER_REASON_MAX];
};

static const struct api_field fields[] = {
    API_FIELD_STRING("reason", struct body, reason, 0, API_CS_TEXT),
};

struct ctx {
  int64_t id;
  const char *reason;
  bool ran;
  enum order_state to;
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  struct ctx *x = cls;
  const struct api_principal *me = api_txn_principal(t);
  struct order o;
  char actor[ORDER_ACTOR_MAX], target[40];
  x->ran = false;
  int rc = api__order_visible(c, me, x->id, true, &o);
  if (rc != 0)
    return api__order_fail(t, rc, NULL);
  bool admin = me->role == API_ROLE_ISSUER_ADMIN;
  snprintf(actor, sizeof actor, "%s:%lld", admin ? "admin" : "api", (long long)me->id);
  rc = order_cancel_in(c, x->id, actor, x->reason, &x->to);
  if (rc != 0)
    return api__order_fail(t, rc,
                           rc == -ERR_ORDER_STATE
                               ? "only an order before its broker order, or with its broker"
                                 " order working, can be cancelled"
                               : NULL);
  if (admin) {
    struct api_json d;
    api_json_init(&d);
    api_json_obj(&d);
    api_json_key(&d, "from_state");
    api_json_str(&d, order_state_name(o.state));
    api_json_key(&d, "reason");
    api_json_str(&d, x->reason);
    api_json_key(&d, "to_state");
    api_json_str(&d, order_state_name(x->to));
    api_json_obj_end(&d);
    snprintf(target, sizeof target, "order:%lld", (long long)x->id);
    enum db_qs qs = api__audit(c, me->id, "order.cancel", target, &d);
    if (qs < 0)
      return qs;
  }
  x->ran = true;
  return api__order_reply(c, t, 200, x->id, NULL);
}

int api_order_cancel_post(struct api_request *req)
{
  struct body b;
  struct ctx x = {0};
  char hint[API_HINT_MAX];
  uint64_t present = 0;
  size_t len;
  memset(&b, 0, sizeof b);
  int rc = api__order_id(req, &x.id);
  if (rc != 0)
    return api_reply_error(req, rc, NULL);
  const char *body = api_req_body(req, &len);
  rc = api_body_parse(body, len, fields, sizeof fields / sizeof fields[0], &b, &present, hint,
                      sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  x.reason = (present & 1u) != 0 ? b.reason : NULL;
  rc = api_idem_run(req, "order_cancel_post", work, &x);
  /* After the commit: ask the broker (nothing unless the order is cancel_requested). */
  struct db_conn *c;
  if (x.ran && x.to == ORDER_CANCEL_REQUESTED && api_req_db(req, &c) == 0)
    order_cancel_broker(c, x.id);
  return rc;
}
