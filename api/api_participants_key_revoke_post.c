/*
 * POST /v1/signing-keys/{id}/revoke (AP: its own keys; issuer admin: any
 * key): revoke signing key {id}; signatures by it are refused from now
 * on.  No body (or {}).  200 {"signing_key": ...}; revoking a revoked key
 * changes nothing and answers the same way.  404 when there is no such
 * key, or it is another AP's.  Audited as signing_key.revoke (the first
 * time only).
 */
#include "api/api_participants_int.h"

struct ctx {
  int64_t id;
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct ctx *x = cls;
  const struct api_principal *me = api_txn_principal(t);
  struct ap_signing_key k;
  struct api_json d, j;
  bool changed = false;
  char target[48];
  int rc = ap_signing_key_revoke_in(c, x->id, me->role == API_ROLE_AP ? me->id : 0, &k, &changed);
  if (rc == -ERR_API_NOT_FOUND)
    return api_txn_error(t, rc, "no signing key of this id");
  if (rc != 0)
    return api__part_fail(t, rc, NULL);
  if (changed) {
    api_json_init(&d);
    api_json_obj(&d);
    api_json_key(&d, "ap");
    api_json_int(&d, k.ap);
    api_json_obj_end(&d);
    snprintf(target, sizeof target, "signing_key:%lld", (long long)k.id);
    enum db_qs qs = api__audit(c, me->id, "signing_key.revoke", target, &d);
    if (qs < 0)
      return qs;
  }
  api_json_init(&j);
  api_json_obj(&j);
  api_json_key(&j, "signing_key");
  api__show_signing_key(&j, &k);
  api_json_obj_end(&j);
  enum db_qs qs = api_txn_reply(t, 200, &j, NULL);
  api_json_free(&j);
  return qs;
}

int api_participants_key_revoke_post(struct api_request *req)
{
  struct ctx x = {0};
  char hint[API_HINT_MAX];
  size_t len;
  if (api_parse_id(api_req_param(req, "id"), &x.id) != 0)
    return api_reply_error(req, ERR_API_NOT_FOUND, "no signing key of this id");
  const char *body = api_req_body(req, &len);
  int rc = api_body_parse(body, len, NULL, 0, NULL, NULL, hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  return api_idem_run(req, "signing_key_revoke_post", work, &x);
}
