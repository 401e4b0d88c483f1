/*
 * POST /v1/admin/wallets/{id}/revoke (issuer admin): take wallet {id}
 * off its AP's allow-list: orders naming it are refused from now on.  No
 * body (or {}).  200 {"wallet": ...}; revoking a revoked wallet changes
 * nothing and answers the same way.  404 when there is no such wallet.
 * Audited as wallet.revoke (the first time only).
 */
#include "api/api_participants_int.h"

#define MISSING "no wallet of this id"

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const int64_t *id = cls;
  struct ap_wallet w;
  struct api_json d, j;
  bool changed = false;
  int rc = ap_wallet_revoke_in(c, *id, 0, &w, &changed);
  if (rc != 0)
    return api__part_fail(t, rc, rc == -ERR_API_NOT_FOUND ? MISSING : NULL);
  if (changed) {
    api__part_details(&d, w.ap);
    api_json_key(&d, "address");
    api_json_str(&d, w.address);
  }
  api_txn_reply_open(&j, "wallet");
  api__show_wallet(&j, &w);
  return api__part_reply(c, t, changed ? &d : NULL, "wallet.revoke", "wallet", w.id, 200, &j);
}

int api_participants_wallet_revoke_post(struct api_request *req)
{
  return api__part_revoke_post(req, MISSING, "wallet_revoke_post", work);
}
