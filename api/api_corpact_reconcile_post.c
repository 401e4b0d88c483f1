/*
 * POST /v1/admin/corporate-actions/{id}/reconcile (issuer admin): an
 * applied action becomes reconciled (an admin confirmed its outcome).
 * Body {}.  409 unless applied.  Audited as corporate_action.reconcile.
 * The work is api__corpact_change() (api_corpact.c).
 */
#include "api/api_corpact_int.h"

int api_corpact_reconcile_post(struct api_request *req)
{
  return api__corpact_change(req, "reconcile");
}
