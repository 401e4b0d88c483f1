/*
 * POST /v1/admin/corporate-actions/{id}/cancel (issuer admin): an
 * announced or scheduled action is cancelled: never applied, and its
 * window pauses nothing any more.  Body {} or {"reason": "..."} (1-200
 * bytes, kept in the audit record).  409 once applied.  Audited as
 * corporate_action.cancel.
 * The work is api__corpact_change() (api_corpact.c).
 */
#include "api/api_corpact_int.h"

int api_corpact_cancel_post(struct api_request *req)
{
  return api__corpact_change(req, "cancel");
}
