/*
 * POST /v1/signing-keys/{id}/revoke (AP: its own keys; issuer admin: any
 * key): revoke signing key {id}; signatures by it are refused from now
 * on.  No body (or {}).  200 {"signing_key": ...}; revoking a revoked key
 * changes nothing and answers the same way.  404 when there is no such
 * key, or it is another AP's.  Audited as signing_key.revoke (the first
 * time only).
 */
#include "api/api_participants_int.h"

#define MISSING "no signing key of this id"

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const int64_t *id = cls;
  const struct api_principal *me = api_txn_principal(t);
  struct ap_signing_key k;
  struct api_json d, j;
  bool changed = false;
  int rc = ap_signing_key_revoke_in(c, *id, me->role == API_ROLE_AP ? me->id : 0, &k, &changed);
  if (rc != 0)
    return api__part_fail(t, rc, rc == -ERR_API_NOT_FOUND ? MISSING : NULL);
  if (changed)
    api__part_details(&d, k.ap);
  api_txn_reply_open(&j, "signing_key");
  api__show_signing_key(&j, &k);
  return api__part_reply(c, t, changed ? &d : NULL, "signing_key.revoke", "signing_key", k.id, 200,
                         &j);
}

int api_participants_key_revoke_post(struct api_request *req)
{
  return api__part_revoke_post(req, MISSING, "signing_key_revoke_post", work);
}
