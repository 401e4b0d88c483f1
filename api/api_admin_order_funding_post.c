/*
 * POST /v1/admin/orders/{id}/funding (issuer admin): cash the issuer's
 * bank received for a mint order.  Body {amount (USD, scale 2, > 0),
 * bank_ref (1-64 bytes: the bank statement's reference, unique among
 * fundings)}.  201 {"order", "movement"}; the same bank_ref with the same
 * order and amount again answers 200 with the movement recorded before
 * and changes nothing; with anything else 409 api_conflict.  409
 * order_state unless the order awaits cash or has received it.  Audited
 * as order.funding.
 */
#include <stdio.h>
#include <string.h>

#include "api/api_orders_int.h"

struct body {
  struct money amount;
  char bank_ref[ORDER_REF_MAX];
};

static const struct api_field fields[] = {
    API_FIELD_DECIMAL("amount", struct body, amount, API_F_REQUIRED, ISSUANCE_CASH_SCALE),
    API_FIELD_STRING("bank_ref", struct body, bank_ref, API_F_REQUIRED, API_CS_TEXT),
};

struct ctx {
  int64_t id;
  struct body b;
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  struct ctx *x = cls;
  const struct api_principal *me = api_txn_principal(t);
  struct order_movement m;
  char target[40];
  int rc = order_fund_in(c, x->id, me->id, x->b.amount, x->b.bank_ref, &m);
  if (rc != 0)
    return api__order_fail(t, rc,
                           rc == -ERR_API_CONFLICT
                               ? "this bank_ref was recorded for another order or amount"
                           : rc == -ERR_ORDER_STATE ? "only a mint awaiting cash takes funding"
                                                    : NULL);
  if (!m.existed) {
    struct api_json d;
    api_json_init(&d);
    api_json_obj(&d);
    api_json_key(&d, "amount");
    api_json_money(&d, m.amount);
    api_json_key(&d, "bank_ref");
    api_json_str(&d, m.bank_ref);
    api_json_key(&d, "movement");
    api_json_int(&d, m.id);
    api_json_obj_end(&d);
    snprintf(target, sizeof target, "order:%lld", (long long)x->id);
    enum db_qs qs = api__audit(c, me->id, "order.funding", target, &d);
    if (qs < 0)
      return qs;
  }
  return api__order_reply(c, t, m.existed ? 200 : 201, x->id, &m);
}

int api_admin_order_funding_post(struct api_request *req)
{
  struct ctx x;
  char hint[API_HINT_MAX];
  size_t len;
  memset(&x, 0, sizeof x);
  int rc = api__order_id(req, &x.id);
  if (rc != 0)
    return api_reply_error(req, rc, NULL);
  const char *body = api_req_body(req, &len);
  rc = api_body_parse(body, len, fields, sizeof fields / sizeof fields[0], &x.b, NULL, hint,
                      sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  return api_idem_run(req, "order_funding_post", work, &x);
}
