/*
 * POST /v1/admin/principals (issuer admin): a new principal -- an AP, an
 * auditor or another issuer admin -- with its first API key, shown in
 * this reply only ("api_key"; a replay under the same Idempotency-Key
 * shows null).  Body: name (1-100 bytes of text, unique), role, optional
 * key_expires_at (RFC 3339, in the future).  201; 409 api_conflict when
 * the name is taken.  Audited as principal.create.
 */
#include <string.h>

#include <sodium.h>

#include "api/api_int.h"

struct body {
  char name[API_NAME_MAX + 1];
  int role; /* index of roles[]: bit 1 << index of enum api_role */
  int64_t key_expires_at;
};

static const char *const roles[] = {"issuer_admin", "ap", "auditor", NULL};

static const struct api_field fields[] = {
    API_FIELD_STRING("name", struct body, name, API_F_REQUIRED, API_CS_TEXT),
    API_FIELD_ENUM("role", struct body, role, API_F_REQUIRED, roles),
    API_FIELD_TIME("key_expires_at", struct body, key_expires_at, 0),
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct body *b = cls;
  struct api_principal p;
  struct api_key_info k;
  struct api_json d;
  char text[API_KEY_TEXT_MAX], target[40];
  enum db_qs qs = api_principal_create(c, b->name, (enum api_role)(1u << b->role),
                                       b->key_expires_at, &p, &k, text);
  if (qs == DB_QS_NONE)
    return api_txn_error(t, ERR_API_CONFLICT, "a principal of this name exists");
  if (qs < 0)
    return qs;
  api_json_init(&d);
  api_json_obj(&d);
  api_json_key(&d, "key_id");
  api_json_str(&d, k.id);
  api_json_key(&d, "name");
  api_json_str(&d, p.name);
  api_json_key(&d, "role");
  api_json_str(&d, api_role_name(p.role));
  api_json_obj_end(&d);
  snprintf(target, sizeof target, "principal:%lld", (long long)p.id);
  qs = api__audit(c, api_txn_principal(t)->id, "principal.create", target, &d);
  if (qs >= 0)
    qs = api__new_key_reply(t, &p, &k, text);
  sodium_memzero(text, sizeof text);
  return qs;
}

int api_admin_principals_post(struct api_request *req)
{
  struct body b = {.key_expires_at = API_TIME_NONE};
  char hint[API_HINT_MAX];
  size_t len;
  const char *body = api_req_body(req, &len);
  int rc = api_body_parse(body, len, fields, sizeof fields / sizeof fields[0], &b, NULL, hint,
                          sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  if (b.key_expires_at != API_TIME_NONE && b.key_expires_at <= util_now_ms())
    return api_reply_error(req, ERR_API_FIELD, "field \"key_expires_at\": must be in the future");
  return api_idem_run(req, "principals_post", work, &b);
}
