/*
 * POST /v1/orders/mint (ap): a mint order of the caller.  Body: symbol
 * (the stock's or the token's), quantity (shares, scale 6), limit_price
 * (USD per share, scale 6: the most it pays), wallet (one of the AP's
 * allow-listed addresses), client_ref (optional, 1-64 bytes); header
 * X-Backstock-Signature when the AP has a signing key.  201 {"order"} in
 * awaiting_cash; refusals per docs/orders.md ("Validation"), nothing
 * stored.
 */
#include "api/api_orders_int.h"

int api_orders_mint_post(struct api_request *req)
{
  return api__order_create(req, ORDER_MINT);
}
