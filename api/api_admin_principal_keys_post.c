/*
 * POST /v1/admin/principals/{id}/keys (issuer admin): a new API key for
 * principal {id}, shown in this reply only ("api_key"; a replay shows
 * null).  Body: optional expires_at (RFC 3339, in the future); an empty
 * body is {}.  201; 404 when there is no such principal.  Audited as
 * key.create.
 */
#include <string.h>

#include <sodium.h>

#include "api/api_int.h"

struct body {
  int64_t principal; /* from the path */
  int64_t expires_at;
};

static const struct api_field fields[] = {
    API_FIELD_TIME("expires_at", struct body, expires_at, 0),
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct body *b = cls;
  struct api_key_info k;
  struct api_json d;
  char text[API_KEY_TEXT_MAX], target[40];
  enum db_qs qs = api_key_create(c, b->principal, b->expires_at, &k, text);
  if (qs == DB_QS_NONE)
    return api_txn_error(t, ERR_API_NOT_FOUND, "no principal of this id");
  if (qs < 0)
    return qs;
  api_json_init(&d);
  api_json_obj(&d);
  api_json_key(&d, "expires_at");
  api_json_time(&d, k.expires_ms);
  api_json_key(&d, "key_id");
  api_json_str(&d, k.id);
  api_json_key(&d, "principal");
  api_json_int(&d, k.principal);
  api_json_obj_end(&d);
  snprintf(target, sizeof target, "key:%s", k.id);
  qs = api__audit(c, api_txn_principal(t)->id, "key.create", target, &d);
  if (qs >= 0)
    qs = api__new_key_reply(t, NULL, &k, text);
  sodium_memzero(text, sizeof text);
  return qs;
}

int api_admin_principal_keys_post(struct api_request *req)
{
  struct body b = {.expires_at = API_TIME_NONE};
  char hint[API_HINT_MAX];
  size_t len;
  if (api_parse_id(api_req_param(req, "id"), &b.principal) != 0)
    return api_reply_error(req, ERR_API_NOT_FOUND, "no principal of this id");
  const char *body = api_req_body(req, &len);
  int rc = api_body_parse(body, len, fields, sizeof fields / sizeof fields[0], &b, NULL, hint,
                          sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  if (b.expires_at != API_TIME_NONE && b.expires_at <= util_now_ms())
    return api_reply_error(req, ERR_API_FIELD, "field \"expires_at\": must be in the future");
  return api_idem_run(req, "principal_keys_post", work, &b);
}
