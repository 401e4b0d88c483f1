/*
 * POST /v1/admin/corporate-actions/{id}/schedule (issuer admin): an
 * announced action becomes scheduled, before its effective_at.  A split
 * or reverse split records old_multiplier (the instrument's now) and
 * new_multiplier (old x ratio_new / ratio_old, half-even at 18 places);
 * refused (409) while another split of the instrument is scheduled.  A
 * symbol change records old_symbol.  Body {}.  Audited as
 * corporate_action.schedule with both multipliers.
 * The work is api__corpact_change() (api_corpact.c).
 */
#include "api/api_corpact_int.h"

int api_corpact_schedule_post(struct api_request *req)
{
  return api__corpact_change(req, "schedule");
}
