/*
 * POST /v1/orders/redeem (ap): a redeem order of the caller.  Body as
 * the mint's (api_orders_mint_post.c) with limit_price optional (the
 * least it sells at; none: a market sell).  201 {"order"} in
 * awaiting_tokens.
 */
#include "api/api_orders_int.h"

int api_orders_redeem_post(struct api_request *req)
{
  return api__order_create(req, ORDER_REDEEM);
}
