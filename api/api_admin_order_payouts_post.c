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

#include "api/api_orders_int.h"

static const char *const kinds[] = {"refund", "payout", NULL};

static const struct api_field fields[] = {
    API_FIELD_ENUM("kind", struct api_order_cash, kind, API_F_REQUIRED, kinds),
    API_FIELD_DECIMAL("amount", struct api_order_cash, amount, API_F_REQUIRED, ISSUANCE_CASH_SCALE),
    API_FIELD_STRING("bank_ref", struct api_order_cash, bank_ref, API_F_REQUIRED, API_CS_TEXT),
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct api_order_cash *x = cls;
  struct order_movement m;
  char action[24];
  enum order_cash_kind kind = x->kind == 0 ? ORDER_CASH_REFUND : ORDER_CASH_PAYOUT;
  int rc = order_pay_in(c, x->id, api_txn_principal(t)->id, kind, x->amount, x->bank_ref, &m);
  if (rc != 0)
    return api__order_fail(
        t, rc,
        rc == -ERR_INVALID_ARGUMENT ? "kind: \"refund\" for a mint order, \"payout\" for a redeem"
        : rc == -ERR_API_CONFLICT   ? "this bank_ref was recorded for another order or amount"
        : rc == -ERR_ORDER_CASH     ? "more than may be paid under this order now"
                                    : NULL);
  snprintf(action, sizeof action, "order.%s", kinds[x->kind]);
  return api__order_cash_reply(c, t, x->id, action, &m);
}

int api_admin_order_payouts_post(struct api_request *req)
{
  return api__order_cash_post(req, fields, sizeof fields / sizeof fields[0], "order_payouts_post",
                              work);
}
