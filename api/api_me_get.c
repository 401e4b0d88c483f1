/*
 * GET /v1/me: who the key speaks for -- its principal (id, name, role)
 * and the key itself (never its secret).  Any valid key; nothing changed.
 */
#include "api/api.h"

int api_me_get(struct api_request *req)
{
  struct api_json j;
  api_json_init(&j);
  api_json_obj(&j);
  api_json_key(&j, "principal");
  api_show_principal(&j, api_req_principal(req));
  api_json_key(&j, "key");
  api_show_key(&j, api_req_key(req));
  api_json_obj_end(&j);
  int rc = api_reply_writer(req, 200, &j);
  api_json_free(&j);
  return rc;
}
