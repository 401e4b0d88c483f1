/*
 * The operators' alerts endpoints (api/api_alert*.c, docs/alerts.md): the
 * list of alerts (migrations/0019-alerts.sql) and an issuer admin's
 * acknowledgement of one, and the JSON of an alert both write.
 */
#ifndef BACKSTOCK_API_ALERTS_INT_H
#define BACKSTOCK_API_ALERTS_INT_H

#include "api/api_int.h"

/* The columns api__alert_show() reads, in order (alerts a, instruments i left-joined). */
#define API_ALERT_COLS                                                                             \
  "a.id, a.kind, a.ref, a.isin, a.instrument, i.symbol, a.detail,"                                 \
  " (extract(epoch FROM a.raised) * 1000)::bigint, a.acknowledged_by,"                             \
  " (extract(epoch FROM a.acknowledged_at) * 1000)::bigint, a.note"

/*
 * api__alert_show() - the alert of row @row of @r (API_ALERT_COLS) as
 * {"id", "kind", "ref", "isin", "instrument", "symbol", "detail",
 * "raised", "open", "acknowledged_by", "acknowledged_at", "note"}.
 */
void api__alert_show(struct api_json *j, PGresult *r, int row);

/* GET /v1/admin/alerts (issuer admin, auditor): ?kind=, ?open=true|false, paged. */
int api_admin_alerts_get(struct api_request *req);
/* POST /v1/admin/alerts/{id}/acknowledge (issuer admin, audited): {"note": "..."}. */
int api_admin_alert_ack_post(struct api_request *req);

#endif
