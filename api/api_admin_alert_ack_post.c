/*
 * POST /v1/admin/alerts/{id}/acknowledge (issuer admin): body
 * {"note": "..."} (required, 1-500 bytes).  An open alert is
 * acknowledged once, by the caller, at the business clock's now; an
 * unknown id is 404, an alert already acknowledged 409.  Audited as
 * alert.acknowledge on "alert:<id>"; replies {"alert": alert} as
 * GET /v1/admin/alerts shows it.
 */
#include <string.h>

#include "api/api_alerts_int.h"

static const struct db_stmt q_api_alert_ack = {
    "api_alert_ack",
    "WITH a AS (UPDATE alerts SET acknowledged_by = $2::bigint, acknowledged_at = clock_now(),"
    " note = $3 WHERE id = $1::bigint AND acknowledged_at IS NULL RETURNING *)"
    " SELECT " API_ALERT_COLS " FROM a LEFT JOIN instruments i ON i.id = a.instrument",
    3};

static const struct db_stmt q_api_alert_exists = {"api_alert_exists",
                                                  "SELECT 1 FROM alerts WHERE id = $1::bigint", 1};

struct body {
  char note[501];
};

static const struct api_field fields[] = {
    API_FIELD_STRING("note", struct body, note, API_F_REQUIRED, API_CS_TEXT),
};

struct ack {
  int64_t id;
  struct body b;
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct ack *x = cls;
  int64_t who = api_txn_principal(t)->id;
  char ids[24], whos[24], target[48];
  PGresult *r = NULL;
  snprintf(ids, sizeof ids, "%lld", (long long)x->id);
  snprintf(whos, sizeof whos, "%lld", (long long)who);
  const char *p[3] = {ids, whos, x->b.note};
  enum db_qs qs = db_exec(c, &q_api_alert_ack, p, &r);
  if (qs < 0)
    return qs;
  if (qs == DB_QS_NONE) {
    qs = db_exec(c, &q_api_alert_exists, p, &r);
    if (qs < 0)
      return qs;
    if (r != NULL)
      PQclear(r);
    if (qs == DB_QS_NONE)
      return api_txn_error(t, ERR_API_NOT_FOUND, "no such alert");
    return api_txn_error(t, ERR_API_CONFLICT, "the alert is already acknowledged");
  }
  struct api_json d, j;
  api_json_init(&d);
  api_json_obj(&d);
  api_json_key(&d, "note");
  api_json_str(&d, x->b.note);
  api_json_obj_end(&d);
  snprintf(target, sizeof target, "alert:%lld", (long long)x->id);
  if ((qs = api__audit(c, who, "alert.acknowledge", target, &d)) < 0) {
    PQclear(r);
    return qs;
  }
  api_txn_reply_open(&j, "alert");
  api__alert_show(&j, r, 0);
  PQclear(r);
  return api_txn_reply_close(t, 200, &j);
}

int api_admin_alert_ack_post(struct api_request *req)
{
  struct ack x;
  memset(&x, 0, sizeof x);
  if (api_parse_id(api_req_param(req, "id"), &x.id) != 0)
    return api_reply_error(req, ERR_API_NOT_FOUND, "no such alert");
  return api_idem_post(req, fields, 1, &x.b, "alert_ack_post", work, &x);
}
