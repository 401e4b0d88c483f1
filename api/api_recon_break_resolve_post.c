/*
 * POST /v1/admin/recon/breaks/{id}/resolve (issuer admin): body
 * {"status": "explained" | "resolved", "note": "..."} (note 1-500 bytes).
 * An open break may be explained or resolved, an explained one resolved;
 * anything else is 409.  Audited as recon_break.<status>; replies
 * {"break": {"id", "status", "note"}}.
 */
#include <string.h>

#include "api/api_recon_int.h"

struct body {
  char status[16];
  char note[501];
};

static const struct api_field fields[] = {
    API_FIELD_STRING("status", struct body, status, API_F_REQUIRED, API_CS_ID),
    API_FIELD_STRING("note", struct body, note, API_F_REQUIRED, API_CS_TEXT),
};

struct resolve {
  int64_t id;
  struct body b;
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct resolve *x = cls;
  int err = 0;
  int64_t who = api_txn_principal(t)->id;
  enum db_qs qs = recon_break_resolve_in(c, x->id, x->b.status, x->b.note, who, &err);
  if (qs < 0)
    return qs;
  if (err == -ERR_API_NOT_FOUND)
    return api_txn_error(t, ERR_API_NOT_FOUND, "no such break");
  if (err == -ERR_API_CONFLICT)
    return api_txn_error(t, ERR_API_CONFLICT,
                         "the break is already resolved, aged out, or"
                         " explained");
  if (err != 0)
    return api_txn_error(t, ERR_API_FIELD,
                         "status: want explained or resolved; note: 1-500"
                         " bytes");
  struct api_json d, j;
  char target[48], action[48];
  api_json_init(&d);
  api_json_obj(&d);
  api_json_key(&d, "status");
  api_json_str(&d, x->b.status);
  api_json_key(&d, "note");
  api_json_str(&d, x->b.note);
  api_json_obj_end(&d);
  snprintf(target, sizeof target, "recon_break:%lld", (long long)x->id);
  snprintf(action, sizeof action, "recon_break.%s", x->b.status);
  qs = api__audit(c, who, action, target, &d);
  if (qs < 0)
    return qs;
  api_txn_reply_open(&j, "break");
  api_json_obj(&j);
  api_json_key(&j, "id");
  api_json_int(&j, x->id);
  api_json_key(&j, "status");
  api_json_str(&j, x->b.status);
  api_json_key(&j, "note");
  api_json_str(&j, x->b.note);
  api_json_obj_end(&j);
  return api_txn_reply_close(t, 200, &j);
}

int api_recon_break_resolve_post(struct api_request *req)
{
  struct resolve x;
  memset(&x, 0, sizeof x);
  if (api_parse_id(api_req_param(req, "id"), &x.id) != 0)
    return api_reply_error(req, ERR_API_NOT_FOUND, "no such break");
  return api_idem_post(req, fields, 2, &x.b, "recon_break_resolve_post", work, &x);
}
