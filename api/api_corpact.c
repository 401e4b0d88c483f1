/*
 * Corporate actions in the API, shared by their endpoints
 * (api_corpact_int.h): the JSON of an action, the raw / multiplier /
 * displayed figures of the instrument JSON, and the three changes of
 * status (schedule, cancel, reconcile), which differ only in their verb:
 * each runs the issuance function in the request's transaction and
 * appends its audit record there, so both commit or neither does.
 */
#include <string.h>

#include "api/api_corpact_int.h"

static void show_money(struct api_json *j, const char *key, bool has, struct money m)
{
  api_json_key(j, key);
  if (has)
    api_json_money(j, m);
  else
    api_json_null(j);
}

static void show_text(struct api_json *j, const char *key, const char *s)
{
  api_json_key(j, key);
  api_json_str(j, s[0] != '\0' ? s : NULL);
}

static void show_date(struct api_json *j, const char *key, int32_t day)
{
  char b[CAL_DATE_STR];
  api_json_key(j, key);
  if (day == CORPACT_DATE_NONE) {
    api_json_null(j);
    return;
  }
  cal_format_date(day, b);
  api_json_str(j, b);
}

static void show_time(struct api_json *j, const char *key, int64_t ms)
{
  api_json_key(j, key);
  api_json_time(j, ms == CORPACT_TIME_NONE ? API_TIME_NONE : ms);
}

void api__show_corpact(struct api_json *j, const struct corpact *a)
{
  const struct corpact_terms *t = &a->terms;
  api_json_obj(j);
  api_json_key(j, "id");
  api_json_int(j, a->id);
  api_json_key(j, "symbol");
  api_json_str(j, a->symbol);
  api_json_key(j, "type");
  api_json_str(j, corpact_type_name(t->type));
  api_json_key(j, "status");
  api_json_str(j, corpact_status_name(a->status));
  show_money(j, "ratio_new", t->has_ratio, t->ratio_new);
  show_money(j, "ratio_old", t->has_ratio, t->ratio_old);
  show_money(j, "cash_per_share", t->has_cash, t->cash_per_share);
  show_text(j, "currency", t->currency);
  show_text(j, "new_symbol", t->new_symbol);
  show_text(j, "old_symbol", a->old_symbol);
  show_date(j, "record_date", t->record_date);
  show_date(j, "ex_date", t->ex_date);
  show_date(j, "pay_date", t->pay_date);
  show_time(j, "effective_at", t->effective_ms);
  show_time(j, "window_start", t->window_start_ms);
  show_time(j, "window_end", t->window_end_ms);
  show_money(j, "old_multiplier", a->has_multipliers, a->old_multiplier);
  show_money(j, "new_multiplier", a->has_multipliers, a->new_multiplier);
  show_text(j, "attention", a->attention);
  api_json_key(j, "created_by");
  if (a->created_by > 0)
    api_json_int(j, a->created_by);
  else
    api_json_null(j);
  show_time(j, "created", a->created_ms);
  show_time(j, "updated", a->updated_ms);
  show_time(j, "applied_at", a->applied_ms);
  api_json_obj_end(j);
}

void api__show_supply(struct api_json *j, struct money raw, struct money multiplier)
{
  struct corpact_supply s;
  bool ok = corpact_figures(raw, multiplier, &s) == 0;
  if (!ok)
    log_bug("api", "supply figures out of range");
  api_json_key(j, "raw_supply");
  api_json_money(j, raw);
  api_json_key(j, "multiplier");
  api_json_money(j, multiplier);
  show_money(j, "displayed_supply", ok, s.displayed_supply);
  show_money(j, "liability_shares", ok, s.liability_shares);
}

/* ------------------------------------------------------------------ */
/* schedule, cancel, reconcile                                         */
/* ------------------------------------------------------------------ */

#define REASON_MAX 200

struct change_body {
  char reason[REASON_MAX + 1];
};

static const struct api_field cancel_fields[] = {
    API_FIELD_STRING("reason", struct change_body, reason, 0, API_CS_TEXT),
};

struct change {
  const char *verb;
  int64_t id;
  struct change_body b;
};

static enum db_qs refusal(struct api_txn *t, int rc, const char *why)
{
  if (rc == -ERR_DB_CONFLICT)
    return DB_QS_SOFT;
  if (rc == -ERR_DB_HARD || rc == -ERR_NOMEM || rc == -ERR_INTERNAL)
    return DB_QS_HARD;
  if (rc == -ERR_INVALID_ARGUMENT)
    rc = -ERR_API_FIELD;
  return api_txn_error(t, rc, why[0] != '\0' ? why : NULL);
}

static enum db_qs change_work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct change *x = cls;
  struct corpact before, a;
  char why[CORPACT_TEXT_MAX] = "", target[48], action[48];
  int rc = corpact_get(c, x->id, true, &before);
  if (rc == -ERR_API_NOT_FOUND)
    return api_txn_error(t, ERR_API_NOT_FOUND, "no such corporate action");
  if (rc != 0)
    return refusal(t, rc, why);
  if (strcmp(x->verb, "schedule") == 0)
    rc = corpact_schedule_in(c, x->id, &a, why, sizeof why);
  else if (strcmp(x->verb, "cancel") == 0)
    rc = corpact_cancel_in(c, x->id, &a, why, sizeof why);
  else
    rc = corpact_reconcile_in(c, x->id, &a, why, sizeof why);
  if (rc != 0)
    return refusal(t, rc, why);

  struct api_json d, j;
  api_json_init(&d);
  api_json_obj(&d);
  api_json_key(&d, "symbol");
  api_json_str(&d, a.symbol);
  api_json_key(&d, "type");
  api_json_str(&d, corpact_type_name(a.terms.type));
  api_json_key(&d, "from");
  api_json_str(&d, corpact_status_name(before.status));
  api_json_key(&d, "to");
  api_json_str(&d, corpact_status_name(a.status));
  if (a.has_multipliers && a.status == CORPACT_SCHEDULED) {
    show_money(&d, "old_multiplier", true, a.old_multiplier);
    show_money(&d, "new_multiplier", true, a.new_multiplier);
  }
  if (x->b.reason[0] != '\0') {
    api_json_key(&d, "reason");
    api_json_str(&d, x->b.reason);
  }
  api_json_obj_end(&d);
  snprintf(target, sizeof target, "corporate_action:%lld", (long long)a.id);
  snprintf(action, sizeof action, "corporate_action.%s", x->verb);
  enum db_qs qs = api__audit(c, api_txn_principal(t)->id, action, target, &d);
  if (qs < 0)
    return qs;
  api_txn_reply_open(&j, "corporate_action");
  api__show_corpact(&j, &a);
  return api_txn_reply_close(t, 200, &j);
}

int api__corpact_change(struct api_request *req, const char *verb)
{
  struct change x = {.verb = verb};
  char hint[API_HINT_MAX];
  size_t len;
  if (api_parse_id(api_req_param(req, "id"), &x.id) != 0)
    return api_reply_error(req, ERR_API_NOT_FOUND, "no such corporate action");
  const char *body = api_req_body(req, &len);
  bool cancel = strcmp(verb, "cancel") == 0;
  int rc = api_body_parse(body, len, cancel_fields, cancel ? 1 : 0, &x.b, NULL, hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  char name[32];
  snprintf(name, sizeof name, "corpact_%s_post", verb);
  return api_idem_run(req, name, change_work, &x);
}
