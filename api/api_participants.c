/*
 * What the participants' endpoints share (api_participants_int.h): the
 * JSON of a wallet, a signing key and a limit, the mapping of issuance
 * errors inside a POST's work and its audited reply, the scope of a list
 * by the caller's role (?ap=), and the lookup of an instrument by its
 * symbol or token symbol.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api_participants_int.h"

static int64_t time_or_none(int64_t ms)
{
  return ms == 0 ? API_TIME_NONE : ms;
}

void api__show_wallet(struct api_json *j, const struct ap_wallet *w)
{
  api_json_obj(j);
  api_json_key(j, "id");
  api_json_int(j, w->id);
  api_json_key(j, "ap");
  api_json_int(j, w->ap);
  api_json_key(j, "address");
  api_json_str(j, w->address);
  api_json_key(j, "label");
  api_json_str(j, w->label);
  api_json_key(j, "created");
  api_json_time(j, w->created_ms);
  api_json_key(j, "revoked_at");
  api_json_time(j, time_or_none(w->revoked_ms));
  api_json_obj_end(j);
}

void api__show_signing_key(struct api_json *j, const struct ap_signing_key *k)
{
  char b64[API_PUBKEY_B64];
  sodium_bin2base64(b64, sizeof b64, k->public_key, sizeof k->public_key,
                    sodium_base64_VARIANT_ORIGINAL);
  api_json_obj(j);
  api_json_key(j, "id");
  api_json_int(j, k->id);
  api_json_key(j, "ap");
  api_json_int(j, k->ap);
  api_json_key(j, "public_key");
  api_json_str(j, b64);
  api_json_key(j, "label");
  api_json_str(j, k->label);
  api_json_key(j, "created");
  api_json_time(j, k->created_ms);
  api_json_key(j, "revoked_at");
  api_json_time(j, time_or_none(k->revoked_ms));
  api_json_obj_end(j);
}

void api__show_limit(struct api_json *j, const struct order_limit *l)
{
  api_json_obj(j);
  api_json_key(j, "id");
  api_json_int(j, l->id);
  api_json_key(j, "symbol");
  api_json_str(j, l->symbol);
  api_json_key(j, "ap");
  if (l->ap > 0)
    api_json_int(j, l->ap);
  else
    api_json_null(j);
  api_json_key(j, "kind");
  api_json_str(j, order_kind_name(l->kind));
  api_json_key(j, "window_seconds");
  api_json_int(j, l->window_seconds);
  api_json_key(j, "max_qty");
  api_json_money(j, l->max_qty);
  api_json_key(j, "updated");
  api_json_time(j, l->updated_ms);
  api_json_obj_end(j);
}

enum db_qs api__part_fail(struct api_txn *t, int rc, const char *hint)
{
  enum db_qs qs = books_txn_qs(rc);
  if (qs != DB_QS_NONE)
    return qs;
  return api_txn_error(t, rc, hint);
}

void api__part_details(struct api_json *d, int64_t ap)
{
  api_json_init(d);
  api_json_obj(d);
  api_json_key(d, "ap");
  api_json_int(d, ap);
}

int api__part_revoke_post(struct api_request *req, const char *missing, const char *name,
                          api_work_fn fn)
{
  int64_t id = 0;
  if (api_parse_id(api_req_param(req, "id"), &id) != 0)
    return api_reply_error(req, ERR_API_NOT_FOUND, missing);
  return api_idem_post(req, NULL, 0, NULL, name, fn, &id);
}

enum db_qs api__part_reply(struct db_conn *c, struct api_txn *t, struct api_json *d,
                           const char *action, const char *kind, int64_t id, unsigned status,
                           struct api_json *j)
{
  if (d != NULL) {
    char target[48];
    api_json_obj_end(d);
    snprintf(target, sizeof target, "%s:%lld", kind, (long long)id);
    enum db_qs qs = api__audit(c, api_txn_principal(t)->id, action, target, d);
    if (qs < 0) {
      api_json_free(j);
      return qs;
    }
  }
  return api_txn_reply_close(t, status, j);
}

int api__part_scope(struct api_request *req, void *cls, char *hint, size_t hint_size)
{
  const struct api_principal *me = api_req_principal(req);
  const char *v = api_req_query(req, "ap");
  int64_t *ap = cls;
  if (me->role == API_ROLE_AP) {
    if (v != NULL)
      return api__hint(hint, hint_size, -ERR_API_FORBIDDEN,
                       "?ap= is for issuer_admin and auditor keys; an AP sees its own");
    *ap = me->id;
    return 0;
  }
  *ap = 0;
  if (v == NULL)
    return 0;
  char *end;
  errno = 0;
  long long n = v[0] >= '1' && v[0] <= '9' && strlen(v) <= 19 ? strtoll(v, &end, 10) : 0;
  if (n <= 0 || errno != 0 || *end != '\0')
    return api__hint(hint, hint_size, -ERR_API_FIELD, "?ap=: want a principal id (1 or more)");
  *ap = n;
  return 0;
}

static const struct db_stmt q_instrument = {
    "api_part_instrument",
    "SELECT id, symbol FROM instruments WHERE symbol = $1 OR token_symbol = $1"
    " ORDER BY (symbol = $1) DESC LIMIT 1",
    1,
};

enum db_qs api__part_instrument(struct db_conn *c, const char *symbol, int64_t *id,
                                char out[ORDER_SYMBOL_MAX])
{
  PGresult *r = NULL;
  const char *params[] = {symbol};
  enum db_qs qs = db_exec(c, &q_instrument, params, &r);
  if (qs <= 0)
    return qs;
  *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  util_strlcpy(out, PQgetvalue(r, 0, 1), ORDER_SYMBOL_MAX);
  PQclear(r);
  return 1;
}
