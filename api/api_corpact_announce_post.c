/*
 * POST /v1/admin/instruments/{symbol}/corporate-actions (issuer admin):
 * announce a corporate action of the instrument.  Body: type (split,
 * reverse_split, cash_dividend, stock_dividend, symbol_change, merger,
 * delisting) and effective_at (RFC 3339, after the clock's now) required;
 * ratio_new and ratio_old (decimal strings, scale 6, together: a split
 * is ratio_new-for-ratio_old), cash_per_share (scale 6) with currency,
 * new_symbol, record_date / ex_date / pay_date ("YYYY-MM-DD"),
 * window_start and window_end (defaults: docs/corporate-actions.md) as
 * the type needs (corpact_terms_check()).  201 {"corporate_action":
 * ...} with status announced; 400 api_field naming the field; 404 for
 * no such instrument.  Audited as corporate_action.announce.
 */
#include <string.h>

#include "api/api_corpact_int.h"
#include "api/api_instruments_int.h"

static const char *const types[] = {
    "split",         "reverse_split", "cash_dividend", "stock_dividend",
    "symbol_change", "merger",        "delisting",     NULL};

struct body {
  int type;
  struct money ratio_new, ratio_old, cash_per_share;
  char currency[4];
  char new_symbol[CORPACT_SYMBOL_MAX];
  char record_date[CAL_DATE_STR], ex_date[CAL_DATE_STR], pay_date[CAL_DATE_STR];
  int64_t effective_at, window_start, window_end;
};

enum { F_TYPE, F_RNEW, F_ROLD, F_CASH, F_CCY, F_SYM, F_REC, F_EX, F_PAY, F_EFF, F_WS, F_WE };

static const struct api_field fields[] = {
    [F_TYPE] = API_FIELD_ENUM("type", struct body, type, API_F_REQUIRED, types),
    [F_RNEW] = API_FIELD_DECIMAL("ratio_new", struct body, ratio_new, 0, CORPACT_RATIO_SCALE),
    [F_ROLD] = API_FIELD_DECIMAL("ratio_old", struct body, ratio_old, 0, CORPACT_RATIO_SCALE),
    [F_CASH] =
        API_FIELD_DECIMAL("cash_per_share", struct body, cash_per_share, 0, CORPACT_CASH_SCALE),
    [F_CCY] = API_FIELD_STRING("currency", struct body, currency, 0, API_CS_UPPER),
    [F_SYM] = API_FIELD_STRING("new_symbol", struct body, new_symbol, 0, API_CS_UPPER),
    [F_REC] = API_FIELD_STRING("record_date", struct body, record_date, 0, API_CS_TEXT),
    [F_EX] = API_FIELD_STRING("ex_date", struct body, ex_date, 0, API_CS_TEXT),
    [F_PAY] = API_FIELD_STRING("pay_date", struct body, pay_date, 0, API_CS_TEXT),
    [F_EFF] = API_FIELD_TIME("effective_at", struct body, effective_at, API_F_REQUIRED),
    [F_WS] = API_FIELD_TIME("window_start", struct body, window_start, 0),
    [F_WE] = API_FIELD_TIME("window_end", struct body, window_end, 0),
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

struct announce {
  char symbol[API_SYMBOL_MAX + 1];
  struct corpact_terms t;
};

static int date_field(uint64_t present, int f, const char *s, int32_t *out, char *hint, size_t size)
{
  if ((present & (1ull << f)) == 0)
    return 0;
  if (cal_parse_date(s, strlen(s), out) != 0)
    return api__hint(hint, size, -ERR_API_FIELD, "field \"%s\": a date \"YYYY-MM-DD\"",
                     fields[f].name);
  return 0;
}

/* The body as terms, and the rules within them; 0 or an error with @hint. */
static int to_terms(const struct body *b, uint64_t present, struct corpact_terms *t, char *hint,
                    size_t size)
{
  corpact_terms_init(t, (enum corpact_type)b->type);
  bool rn = (present & (1ull << F_RNEW)) != 0, ro = (present & (1ull << F_ROLD)) != 0;
  if (rn != ro)
    return api__hint(hint, size, -ERR_API_FIELD,
                     "field \"%s\": ratio_new and ratio_old go together",
                     rn ? "ratio_old" : "ratio_new");
  t->has_ratio = rn;
  if (rn) {
    t->ratio_new = b->ratio_new;
    t->ratio_old = b->ratio_old;
  }
  t->has_cash = (present & (1ull << F_CASH)) != 0;
  if (t->has_cash)
    t->cash_per_share = b->cash_per_share;
  if ((present & (1ull << F_CCY)) != 0)
    util_strlcpy(t->currency, b->currency, sizeof t->currency);
  if ((present & (1ull << F_SYM)) != 0)
    util_strlcpy(t->new_symbol, b->new_symbol, sizeof t->new_symbol);
  int rc = date_field(present, F_REC, b->record_date, &t->record_date, hint, size);
  if (rc == 0)
    rc = date_field(present, F_EX, b->ex_date, &t->ex_date, hint, size);
  if (rc == 0)
    rc = date_field(present, F_PAY, b->pay_date, &t->pay_date, hint, size);
  if (rc != 0)
    return rc;
  t->effective_ms = b->effective_at;
  if ((present & (1ull << F_WS)) != 0)
    t->window_start_ms = b->window_start;
  if ((present & (1ull << F_WE)) != 0)
    t->window_end_ms = b->window_end;
  rc = corpact_terms_check(t, hint, size);
  return rc == -ERR_INVALID_ARGUMENT ? -ERR_API_FIELD : rc;
}

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct announce *x = cls;
  struct api_instrument in;
  struct corpact a;
  char why[CORPACT_TEXT_MAX] = "", target[48];
  enum db_qs qs = api__instrument_by_symbol(c, x->symbol, false, &in);
  if (qs == DB_QS_NONE)
    return api_txn_error(t, ERR_API_NOT_FOUND, "no such instrument");
  if (qs < 0)
    return qs;
  int rc = corpact_announce_in(c, in.id, &x->t, api_txn_principal(t)->id, &a, why, sizeof why);
  if (rc == -ERR_DB_CONFLICT)
    return DB_QS_SOFT;
  if (rc == -ERR_DB_HARD || rc == -ERR_NOMEM || rc == -ERR_INTERNAL)
    return DB_QS_HARD;
  if (rc != 0)
    return api_txn_error(t, rc == -ERR_INVALID_ARGUMENT ? ERR_API_FIELD : rc,
                         why[0] != '\0' ? why : NULL);

  /* The audit record holds the action as announced, its window included. */
  struct api_json d, j;
  api_json_init(&d);
  api__show_corpact(&d, &a);
  snprintf(target, sizeof target, "corporate_action:%lld", (long long)a.id);
  qs = api__audit(c, api_txn_principal(t)->id, "corporate_action.announce", target, &d);
  if (qs < 0)
    return qs;
  api_txn_reply_open(&j, "corporate_action");
  api__show_corpact(&j, &a);
  return api_txn_reply_close(t, 201, &j);
}

int api_corpact_announce_post(struct api_request *req)
{
  struct body b;
  struct announce x;
  char hint[API_HINT_MAX];
  uint64_t present = 0;
  size_t len;
  memset(&b, 0, sizeof b);
  memset(&x, 0, sizeof x);
  const char *body = api_req_body(req, &len);
  int rc = api_body_parse(body, len, fields, N_FIELDS, &b, &present, hint, sizeof hint);
  if (rc == 0)
    rc = to_terms(&b, present, &x.t, hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  if (util_strlcpy(x.symbol, api_req_param(req, "symbol"), sizeof x.symbol) != 0)
    return api_reply_error(req, ERR_API_NOT_FOUND, "no such instrument");
  return api_idem_run(req, "corpact_announce_post", work, &x);
}
