/*
 * POST /v1/admin/instruments/{symbol} (issuer admin): change an
 * instrument's policy knobs; only the fields given change, the rules
 * across fields hold for the result.  Fields: settlement_lag_days,
 * mint_policy, burn_policy, min_order_qty, max_order_qty, fee_flat,
 * fee_rate, market_open, market_close, cutoff, out_of_hours (at least
 * one).  The symbol, ISIN, token and multiplier do not change here.  200
 * {"instrument": ...}; 404 for no such instrument.  Audited as
 * instrument.update with the fields given and the knobs before and after.
 */
#include <string.h>

#include "api/api_instruments_int.h"

static const struct api_field fields[] = {
    API_FIELD_INT("settlement_lag_days", struct api_instrument, settlement_lag_days, 0, 0, 10),
    API_FIELD_ENUM("mint_policy", struct api_instrument, mint_policy, 0, api_mint_policies),
    API_FIELD_ENUM("burn_policy", struct api_instrument, burn_policy, 0, api_burn_policies),
    API_FIELD_DECIMAL("min_order_qty", struct api_instrument, min_order_qty, 0, API_QTY_SCALE),
    API_FIELD_DECIMAL("max_order_qty", struct api_instrument, max_order_qty, 0, API_QTY_SCALE),
    API_FIELD_DECIMAL("fee_flat", struct api_instrument, fee_flat, API_F_ZERO, API_CASH_SCALE),
    API_FIELD_DECIMAL("fee_rate", struct api_instrument, fee_rate, API_F_ZERO, API_RATE_SCALE),
    API_FIELD_STRING("market_open", struct api_instrument, market_open, 0, API_CS_TEXT),
    API_FIELD_STRING("market_close", struct api_instrument, market_close, 0, API_CS_TEXT),
    API_FIELD_STRING("cutoff", struct api_instrument, cutoff, 0, API_CS_TEXT),
    API_FIELD_ENUM("out_of_hours", struct api_instrument, out_of_hours, 0, api_out_of_hours),
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

static const struct db_stmt q_update = {
    "api_instrument_update",
    "UPDATE instruments SET settlement_lag_days = $2::integer, mint_policy = $3,"
    " burn_policy = $4, min_order_qty = $5::numeric, max_order_qty = $6::numeric,"
    " fee_flat = $7::numeric, fee_rate = $8::numeric, market_open = $9, market_close = $10,"
    " cutoff = $11, out_of_hours = $12, updated = date_trunc('milliseconds', now())"
    " WHERE id = $1::bigint RETURNING " API_INSTRUMENT_COLS,
    12,
};

struct upd {
  const char *symbol;
  struct api_instrument b;
  uint64_t present;
};

/* Bytes of the member a field fills. */
static size_t field_size(const struct api_field *f)
{
  switch (f->type) {
  case API_T_STRING:
    return f->size;
  case API_T_INT:
    return sizeof(int64_t);
  case API_T_ENUM:
    return sizeof(int);
  case API_T_DECIMAL:
    return sizeof(struct money);
  default:
    return 0;
  }
}

static void knobs_obj(struct api_json *j, const char *key, const struct api_instrument *in)
{
  api_json_key(j, key);
  api_json_obj(j);
  api__instrument_knobs(j, in);
  api_json_obj_end(j);
}

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct upd *u = cls;
  struct api_instrument before, in;
  struct api_json d, j;
  char hint[API_HINT_MAX], id[24], lag[16], mn[MONEY_STR_MAX], mx[MONEY_STR_MAX], ff[MONEY_STR_MAX],
      fr[MONEY_STR_MAX], target[40];
  PGresult *r = NULL;
  enum db_qs qs = api__instrument_by_symbol(c, u->symbol, true, &before);
  if (qs == DB_QS_NONE)
    return api_txn_error(t, ERR_API_NOT_FOUND, "no such instrument");
  if (qs < 0)
    return qs;
  in = before;
  for (size_t i = 0; i < N_FIELDS; i++)
    if (u->present & (1ull << i))
      memcpy((char *)&in + fields[i].offset, (const char *)&u->b + fields[i].offset,
             field_size(&fields[i]));
  int rc = api__instrument_check(&in, hint, sizeof hint);
  if (rc != 0)
    return api_txn_error(t, rc, hint);
  snprintf(id, sizeof id, "%lld", (long long)in.id);
  snprintf(lag, sizeof lag, "%lld", (long long)in.settlement_lag_days);
  money_format(in.min_order_qty, mn, sizeof mn);
  money_format(in.max_order_qty, mx, sizeof mx);
  money_format(in.fee_flat, ff, sizeof ff);
  money_format(in.fee_rate, fr, sizeof fr);
  const char *params[] = {id,
                          lag,
                          api_mint_policies[in.mint_policy],
                          api_burn_policies[in.burn_policy],
                          mn,
                          mx,
                          ff,
                          fr,
                          in.market_open,
                          in.market_close,
                          in.cutoff,
                          api_out_of_hours[in.out_of_hours]};
  qs = db_exec(c, &q_update, params, &r);
  if (qs <= 0)
    return qs < 0 ? qs : DB_QS_HARD;
  api__instrument_row(r, 0, &in);
  PQclear(r);
  api_json_init(&d);
  api_json_obj(&d);
  api_json_key(&d, "symbol");
  api_json_str(&d, in.symbol);
  api_json_key(&d, "changed");
  api_json_arr(&d);
  for (size_t i = 0; i < N_FIELDS; i++)
    if (u->present & (1ull << i))
      api_json_str(&d, fields[i].name);
  api_json_arr_end(&d);
  knobs_obj(&d, "before", &before);
  knobs_obj(&d, "after", &in);
  api_json_obj_end(&d);
  snprintf(target, sizeof target, "instrument:%s", in.symbol);
  qs = api__audit(c, api_txn_principal(t)->id, "instrument.update", target, &d);
  if (qs < 0)
    return qs;
  api_txn_reply_open(&j, "instrument");
  api__show_instrument(&j, &in);
  return api_txn_reply_close(t, 200, &j);
}

int api_admin_instrument_post(struct api_request *req)
{
  struct upd u = {.symbol = api_req_param(req, "symbol")};
  char hint[API_HINT_MAX];
  size_t len;
  const char *body = api_req_body(req, &len);
  int rc = api_body_parse(body, len, fields, N_FIELDS, &u.b, &u.present, hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  if (u.present == 0)
    return api_reply_error(req, ERR_API_FIELD, "no field to change");
  return api_idem_run(req, "instrument_post", work, &u);
}
