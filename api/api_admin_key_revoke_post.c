/*
 * POST /v1/admin/keys/{id}/revoke (issuer admin): revoke the key whose
 * public id is {id} (the 16 hex digits after "bsk_"); from now on it is
 * refused with 401.  No body (or {}).  200 with the key; revoking a
 * revoked key changes nothing and answers the same way.  404 when there
 * is no such key.  Audited as key.revoke (the first time only).
 */
#include <string.h>

#include "api/api_int.h"

struct ctx {
  const char *key_id;
};

static const struct db_stmt q_revoke = {
    "api_key_revoke",
    "UPDATE api_keys SET revoked_at = date_trunc('milliseconds', now())"
    " WHERE key_id = $1 AND revoked_at IS NULL RETURNING " API_KEY_COLS,
    1,
};

static const struct db_stmt q_key_get = {
    "api_key_get",
    "SELECT " API_KEY_COLS " FROM api_keys WHERE key_id = $1",
    1,
};

static enum db_qs reply_key(struct api_txn *t, const struct api_key_info *k)
{
  struct api_json j;
  api_txn_reply_open(&j, "key");
  api_show_key(&j, k);
  return api_txn_reply_close(t, 200, &j);
}

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct ctx *x = cls;
  struct api_key_info k;
  struct api_json d;
  char target[40];
  PGresult *r;
  const char *params[] = {x->key_id};
  enum db_qs qs = db_exec(c, &q_revoke, params, &r);
  if (qs < 0)
    return qs;
  if (qs == DB_QS_NONE) {
    if ((qs = db_exec(c, &q_key_get, params, &r)) < 0)
      return qs;
    if (qs == DB_QS_NONE)
      return api_txn_error(t, ERR_API_NOT_FOUND, "no key of this id");
    api__key_row(r, 0, 0, &k);
    PQclear(r);
    return reply_key(t, &k); /* revoked before: nothing to do */
  }
  api__key_row(r, 0, 0, &k);
  PQclear(r);
  api_json_init(&d);
  api_json_obj(&d);
  api_json_key(&d, "key_id");
  api_json_str(&d, k.id);
  api_json_key(&d, "principal");
  api_json_int(&d, k.principal);
  api_json_obj_end(&d);
  snprintf(target, sizeof target, "key:%s", k.id);
  qs = api__audit(c, api_txn_principal(t)->id, "key.revoke", target, &d);
  return qs < 0 ? qs : reply_key(t, &k);
}

int api_admin_key_revoke_post(struct api_request *req)
{
  struct ctx x = {.key_id = api_req_param(req, "id")};
  bool ok = x.key_id != NULL && strlen(x.key_id) == API_KEY_ID_LEN;
  for (size_t i = 0; ok && i < API_KEY_ID_LEN; i++)
    ok = (x.key_id[i] >= '0' && x.key_id[i] <= '9') || (x.key_id[i] >= 'a' && x.key_id[i] <= 'f');
  if (!ok)
    return api_reply_error(req, ERR_API_NOT_FOUND, "no key of this id (16 hex digits)");
  return api_idem_post(req, NULL, 0, NULL, "key_revoke_post", work, &x);
}
