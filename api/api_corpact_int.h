/*
 * api: corporate actions, shared by their endpoint files
 * (api_corpact_*.c): the JSON of an action, the figures raw / multiplier
 * / displayed that the instrument JSON carries, and the handlers.  The
 * model is issuance.h's "Corporate actions" section and
 * docs/corporate-actions.md.
 */
#ifndef BACKSTOCK_API_CORPACT_INT_H
#define BACKSTOCK_API_CORPACT_INT_H

#include "api/api_int.h"
#include "issuance/issuance.h"

/**
 * api__show_corpact() - an action as the API shows it (one object): id,
 * symbol, type, status, the terms (null when not given), the window,
 * the multipliers, attention, created_by and the times.
 */
void api__show_corpact(struct api_json *j, const struct corpact *a);

/**
 * api__show_supply() - the members "raw_supply" (@raw as it is),
 * "multiplier", "displayed_supply" and "liability_shares"
 * (corpact_figures()) into the open object @j, side by side.
 */
void api__show_supply(struct api_json *j, struct money raw, struct money multiplier);

/*
 * api__corpact_change() - the handler of POST
 * /v1/admin/corporate-actions/{id}/<verb>: @verb "schedule", "cancel" or
 * "reconcile".  Body {} ("cancel" also takes {"reason": "..."}).  200
 * {"corporate_action": ...}; 404 for no such action; 409 api_conflict
 * when its status does not allow the change.  Audited as
 * corporate_action.<verb>.
 */
int api__corpact_change(struct api_request *req, const char *verb);

/* Handlers, one file each. */
int api_corpact_announce_post(struct api_request *req);
int api_corpact_list_get(struct api_request *req);
int api_corpact_schedule_post(struct api_request *req);
int api_corpact_cancel_post(struct api_request *req);
int api_corpact_reconcile_post(struct api_request *req);

#endif
