/*
 * POST /v1/admin/wallets/{id}/revoke (issuer admin): take wallet {id}
 * off its AP's allow-list: orders naming it are refused from now on.  No
 * body (or {}).  200 {"wallet": ...}; revoking a revoked wallet changes
 * nothing and answers the same way.  404 when there is no such wallet.
 * Audited as wallet.revoke (the first time only).
 */
#include "api/api_participants_int.h"

struct ctx {
  int64_t id;
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct ctx *x = cls;
  struct ap_wallet w;
  struct api_json d, j;
  bool changed = false;
  char target[40];
  int rc = ap_wallet_revoke_in(c, x->id, 0, &w, &changed);
  if (rc == -ERR_API_NOT_FOUND)
    return api_txn_error(t, rc, "no wallet of this id");
  if (rc != 0)
    return api__part_fail(t, rc, NULL);
  if (changed) {
    api_json_init(&d);
    api_json_obj(&d);
    api_json_key(&d, "ap");
    api_json_int(&d, w.ap);
    api_json_key(&d, "address");
    api_json_str(&d, w.address);
    api_json_obj_end(&d);
    snprintf(target, sizeof target, "wallet:%lld", (long long)w.id);
    enum db_qs qs = api__audit(c, api_txn_principal(t)->id, "wallet.revoke", target, &d);
    if (qs < 0)
      return qs;
  }
  api_json_init(&j);
  api_json_obj(&j);
  api_json_key(&j, "wallet");
  api__show_wallet(&j, &w);
  api_json_obj_end(&j);
  enum db_qs qs = api_txn_reply(t, 200, &j, NULL);
  api_json_free(&j);
  return qs;
}

int api_participants_wallet_revoke_post(struct api_request *req)
{
  struct ctx x = {0};
  char hint[API_HINT_MAX];
  size_t len;
  if (api_parse_id(api_req_param(req, "id"), &x.id) != 0)
    return api_reply_error(req, ERR_API_NOT_FOUND, "no wallet of this id");
  const char *body = api_req_body(req, &len);
  int rc = api_body_parse(body, len, NULL, 0, NULL, NULL, hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  return api_idem_run(req, "wallet_revoke_post", work, &x);
}
