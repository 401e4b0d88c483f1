/*
 * GET /v1/openapi.json: the OpenAPI 3 document of every route
 * (api/openapi.json, embedded at build time).  Public; the document and
 * the routing table list the same paths and methods (a test checks).
 */
#include "api/api.h"

int api_openapi_get(struct api_request *req)
{
  return api_reply_json(req, 200, api_openapi_json, api_openapi_json_len);
}
