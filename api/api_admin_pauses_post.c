/*
 * POST /v1/admin/pauses (issuer admin): set or clear a pause.  Body:
 * scope ("global" or an instrument's symbol), kind ("mint" or "redeem"),
 * paused (true sets, false clears), reason (1-200 bytes of text); all
 * required.  The row of that scope and kind is replaced (the table keeps
 * the current state; the audit log keeps the history).  200 {"pause":
 * ...}; 400 api_field when the scope names no instrument.  Audited as
 * pause.set.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_instruments_int.h"

struct body {
  char scope[API_SYMBOL_MAX + 1];
  int kind;
  bool paused;
  char reason[API_REASON_MAX + 1];
};

static const char *const kinds[] = {"mint", "redeem", NULL};

static const struct api_field fields[] = {
    API_FIELD_STRING("scope", struct body, scope, API_F_REQUIRED, API_CS_ID),
    API_FIELD_ENUM("kind", struct body, kind, API_F_REQUIRED, kinds),
    API_FIELD_BOOL("paused", struct body, paused, API_F_REQUIRED),
    API_FIELD_STRING("reason", struct body, reason, API_F_REQUIRED, API_CS_TEXT),
};

static const struct db_stmt q_set = {
    "api_pause_set",
    "INSERT INTO pauses (instrument, kind, paused, reason, set_by)"
    " VALUES ($1::bigint, $2, $3::boolean, $4, $5::bigint)"
    " ON CONFLICT ((coalesce(instrument, 0)), kind) DO UPDATE SET paused = EXCLUDED.paused,"
    " reason = EXCLUDED.reason, set_by = EXCLUDED.set_by, set_at = EXCLUDED.set_at"
    " RETURNING (extract(epoch from set_at) * 1000)::bigint",
    5,
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct body *b = cls;
  const struct api_principal *who = api_txn_principal(t);
  bool global = strcmp(b->scope, "global") == 0;
  struct api_instrument in;
  struct api_json d, j;
  char inst[24], by[24], target[64];
  PGresult *r = NULL;
  enum db_qs qs;
  if (!global) {
    qs = api__instrument_by_symbol(c, b->scope, true, &in);
    if (qs == DB_QS_NONE)
      return api_txn_error(t, ERR_API_FIELD,
                           "field \"scope\": \"global\" or the symbol of an instrument");
    if (qs < 0)
      return qs;
    snprintf(inst, sizeof inst, "%lld", (long long)in.id);
  }
  snprintf(by, sizeof by, "%lld", (long long)who->id);
  const char *params[] = {global ? NULL : inst, kinds[b->kind], b->paused ? "true" : "false",
                          b->reason, by};
  qs = db_exec(c, &q_set, params, &r);
  if (qs <= 0)
    return qs < 0 ? qs : DB_QS_HARD;
  int64_t at = api__ms_value(r, 0, 0);
  PQclear(r);
  api_json_init(&d);
  api_json_obj(&d);
  api_json_key(&d, "scope");
  api_json_str(&d, b->scope);
  api_json_key(&d, "kind");
  api_json_str(&d, kinds[b->kind]);
  api_json_key(&d, "paused");
  api_json_bool(&d, b->paused);
  api_json_key(&d, "reason");
  api_json_str(&d, b->reason);
  api_json_obj_end(&d);
  snprintf(target, sizeof target, "pause:%s:%s", b->scope, kinds[b->kind]);
  qs = api__audit(c, who->id, "pause.set", target, &d);
  if (qs < 0)
    return qs;
  api_txn_reply_open(&j, "pause");
  api__show_pause(&j, b->scope, kinds[b->kind], b->paused, b->reason, who->id, at);
  return api_txn_reply_close(t, 200, &j);
}

int api_admin_pauses_post(struct api_request *req)
{
  struct body b = {0};
  return api_idem_post(req, fields, sizeof fields / sizeof fields[0], &b, "pauses_post", work, &b);
}
