/*
 * GET /v1/pauses (issuer admin, auditor, AP): the pauses in force,
 * {"items": [pause...]}, the global ones first, then by symbol, mint
 * before redeem.  At most two per instrument and two global, so one page.
 * Minting (redeeming) an instrument is paused while its own pause or the
 * global one of that kind is.
 */
#include <stdlib.h>

#include "api/api_instruments_int.h"

static const struct db_stmt q_paused = {
    "api_pauses_paused",
    "SELECT coalesce(i.symbol, 'global'), p.kind, p.paused, p.reason, coalesce(p.set_by, 0),"
    " (extract(epoch from p.set_at) * 1000)::bigint"
    " FROM pauses p LEFT JOIN instruments i ON i.id = p.instrument WHERE p.paused"
    " ORDER BY p.instrument IS NOT NULL, i.symbol, p.kind",
    0,
};

void api__show_pause(struct api_json *j, const char *scope, const char *kind, bool paused,
                     const char *reason, int64_t set_by, int64_t set_at_ms)
{
  api_json_obj(j);
  api_json_key(j, "scope");
  api_json_str(j, scope);
  api_json_key(j, "kind");
  api_json_str(j, kind);
  api_json_key(j, "paused");
  api_json_bool(j, paused);
  api_json_key(j, "reason");
  api_json_str(j, reason);
  api_json_key(j, "set_by");
  if (set_by == 0)
    api_json_null(j);
  else
    api_json_int(j, set_by);
  api_json_key(j, "set_at");
  api_json_time(j, set_at_ms);
  api_json_obj_end(j);
}

int api_pauses_get(struct api_request *req)
{
  struct api_json j;
  struct db_conn *c;
  PGresult *r = NULL;
  int rc = api_req_db(req, &c);
  if (rc != 0)
    return api_reply_error(req, rc, NULL);
  enum db_qs qs = db_exec(c, &q_paused, NULL, &r);
  if (qs < 0)
    return api_reply_error(req, qs == DB_QS_SOFT ? ERR_DB_CONFLICT : ERR_DB_HARD, NULL);
  int rows = qs > 0 ? PQntuples(r) : 0;
  api_json_init(&j);
  api_json_obj(&j);
  api_json_key(&j, "items");
  api_json_arr(&j);
  for (int i = 0; i < rows; i++)
    api__show_pause(&j, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2)[0] == 't',
                    PQgetvalue(r, i, 3), strtoll(PQgetvalue(r, i, 4), NULL, 10),
                    api__ms_value(r, i, 5));
  if (r != NULL)
    PQclear(r);
  api_json_arr_end(&j);
  api_json_obj_end(&j);
  rc = api_reply_writer(req, 200, &j);
  api_json_free(&j);
  return rc;
}
