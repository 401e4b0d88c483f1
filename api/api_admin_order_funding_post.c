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
#include "api/api_orders_int.h"

static const struct api_field fields[] = {
    API_FIELD_DECIMAL("amount", struct api_order_cash, amount, API_F_REQUIRED, ISSUANCE_CASH_SCALE),
    API_FIELD_STRING("bank_ref", struct api_order_cash, bank_ref, API_F_REQUIRED, API_CS_TEXT),
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct api_order_cash *x = cls;
  struct order_movement m;
  int rc = order_fund_in(c, x->id, api_txn_principal(t)->id, x->amount, x->bank_ref, &m);
  if (rc != 0)
    return api__order_fail(t, rc,
                           rc == -ERR_API_CONFLICT
                               ? "this bank_ref was recorded for another order or amount"
                           : rc == -ERR_ORDER_STATE ? "only a mint awaiting cash takes funding"
                                                    : NULL);
  return api__order_cash_reply(c, t, x->id, "order.funding", &m);
}

int api_admin_order_funding_post(struct api_request *req)
{
  return api__order_cash_post(req, fields, sizeof fields / sizeof fields[0], "order_funding_post",
                              work);
}
