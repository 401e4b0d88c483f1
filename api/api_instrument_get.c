/*
 * GET /v1/instruments/{symbol} (issuer admin, auditor, AP): one
 * instrument, {"instrument": ...}; 404 for no such instrument.
 */
#include "api/api_instruments_int.h"

int api_instrument_get(struct api_request *req)
{
  struct api_instrument in;
  struct api_json j;
  struct db_conn *c;
  int rc = api_req_db(req, &c);
  if (rc != 0)
    return api_reply_error(req, rc, NULL);
  enum db_qs qs = api__instrument_by_symbol(c, api_req_param(req, "symbol"), false, &in);
  if (qs < 0)
    return api_reply_error(req, qs == DB_QS_SOFT ? ERR_DB_CONFLICT : ERR_DB_HARD, NULL);
  if (qs == DB_QS_NONE)
    return api_reply_error(req, ERR_API_NOT_FOUND, "no such instrument");
  api_json_init(&j);
  api_json_obj(&j);
  api_json_key(&j, "instrument");
  api__show_instrument(&j, &in);
  api_json_obj_end(&j);
  rc = api_reply_writer(req, 200, &j);
  api_json_free(&j);
  return rc;
}
