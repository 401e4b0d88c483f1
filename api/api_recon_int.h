/*
 * The reconciler's endpoints (api/api_recon*.c, docs/reconcile.md): lists
 * of runs and breaks, and an admin's resolution of a break.
 */
#ifndef API_RECON_INT_H
#define API_RECON_INT_H

#include "api/api_int.h"
#include "reconcile/reconcile.h"

/* GET /v1/recon/runs (issuer admin, auditor). */
int api_recon_runs_get(struct api_request *req);
/* GET /v1/recon/breaks (issuer admin, auditor). */
int api_recon_breaks_get(struct api_request *req);
/* POST /v1/admin/recon/breaks/{id}/resolve (issuer admin, audited). */
int api_recon_break_resolve_post(struct api_request *req);

#endif
