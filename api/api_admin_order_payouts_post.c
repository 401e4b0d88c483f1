/*
 * POST /v1/admin/orders/{id}/payouts (issuer admin): cash the issuer paid
 * to the AP under an order.  Body {kind ("refund" for a mint, "payout"
 * for a redeem), amount (USD, scale 2, > 0), bank_ref (1-64 bytes, unique
 * per kind)}.  At most what may be paid now (docs/orders.md, "Cash"):
 * more is 422 order_cash; a redeem's payout only in payout_submitted (409
 * order_state), and the one that brings its cash due to 0 completes it.
 * 201 {"order", "movement"}; the same bank_ref again as for funding.
 * Audited as order.refund or order.payout.
 */
#include <stdio.h>
#include <string.h>

#include "api/api_orders_int.h"

static const char *const kinds[] = {"refund", "payout", NULL};

struct body {
  int kind;
  struct money amount;
  char bank_ref[ORDER_REF_MAX];
};

static const struct api_field fields[] = {
    API_FIELD_ENUM("kind", struct body, kind, API_F_REQUIRED, kinds),
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
  char target[40], action[24];
  enum order_cash_kind kind = x->b.kind == 0 ? ORDER_CASH_REFUND : ORDER_CASH_PAYOUT;
  int rc = order_pay_in(c, x->id, me->id, kind, x->b.amount, x->b.bank_ref, &m);
  if (rc != 0)
    return api__order_fail(
        t, rc,
        rc == -ERR_INVALID_ARGUMENT ? "kind: \"refund\" for a mint order, \"payout\" for a redeem"
        : rc == -ERR_API_CONFLICT   ? "this bank_ref was recorded for another order or amount"
        : rc == -ERR_ORDER_CASH     ? "more than may be paid under this order now"
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
    snprintf(action, sizeof action, "order.%s", kinds[x->b.kind]);
    enum db_qs qs = api__audit(c, me->id, action, target, &d);
    if (qs < 0)
      return qs;
  }
  return api__order_reply(c, t, m.existed ? 200 : 201, x->id, &m);
}

int api_admin_order_payouts_post(struct api_request *req)
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
  return api_idem_run(req, "order_payouts_post", work, &x);
}
