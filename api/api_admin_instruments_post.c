/*
 * POST /v1/admin/instruments (issuer admin): a new instrument.  Body:
 * symbol, isin, token_symbol, min_order_qty, max_order_qty, mint_policy,
 * burn_policy (required); token_decimals (18), settlement_lag_days (1),
 * fee_flat ("0.00"), fee_rate ("0.000000"), market_open ("09:30"),
 * market_close ("16:00"), cutoff ("15:30"), out_of_hours ("queue").  The
 * multiplier starts at 1.  201 {"instrument": ...}; 409 api_conflict when
 * the symbol, ISIN or token symbol is taken.  Audited as
 * instrument.create.
 */
#include <string.h>

#include "api/api_instruments_int.h"

static const struct api_field fields[] = {
    API_FIELD_STRING("symbol", struct api_instrument, symbol, API_F_REQUIRED, API_CS_UPPER),
    API_FIELD_STRING("isin", struct api_instrument, isin, API_F_REQUIRED, API_CS_UPPER),
    API_FIELD_STRING("token_symbol", struct api_instrument, token_symbol, API_F_REQUIRED,
                     API_CS_ID),
    API_FIELD_INT("token_decimals", struct api_instrument, token_decimals, 0, 0, 18),
    API_FIELD_INT("settlement_lag_days", struct api_instrument, settlement_lag_days, 0, 0, 10),
    API_FIELD_ENUM("mint_policy", struct api_instrument, mint_policy, API_F_REQUIRED,
                   api_mint_policies),
    API_FIELD_ENUM("burn_policy", struct api_instrument, burn_policy, API_F_REQUIRED,
                   api_burn_policies),
    API_FIELD_DECIMAL("min_order_qty", struct api_instrument, min_order_qty, API_F_REQUIRED,
                      API_QTY_SCALE),
    API_FIELD_DECIMAL("max_order_qty", struct api_instrument, max_order_qty, API_F_REQUIRED,
                      API_QTY_SCALE),
    API_FIELD_DECIMAL("fee_flat", struct api_instrument, fee_flat, API_F_ZERO, API_CASH_SCALE),
    API_FIELD_DECIMAL("fee_rate", struct api_instrument, fee_rate, API_F_ZERO, API_RATE_SCALE),
    API_FIELD_STRING("market_open", struct api_instrument, market_open, 0, API_CS_TEXT),
    API_FIELD_STRING("market_close", struct api_instrument, market_close, 0, API_CS_TEXT),
    API_FIELD_STRING("cutoff", struct api_instrument, cutoff, 0, API_CS_TEXT),
    API_FIELD_ENUM("out_of_hours", struct api_instrument, out_of_hours, 0, api_out_of_hours),
};

static const struct db_stmt q_insert = {
    "api_instrument_insert",
    "INSERT INTO instruments (symbol, isin, token_symbol, token_decimals, settlement_lag_days,"
    " mint_policy, burn_policy, min_order_qty, max_order_qty, fee_flat, fee_rate, market_open,"
    " market_close, cutoff, out_of_hours) VALUES ($1, $2, $3, $4::integer, $5::integer, $6, $7,"
    " $8::numeric, $9::numeric, $10::numeric, $11::numeric, $12, $13, $14, $15)"
    " ON CONFLICT DO NOTHING RETURNING " API_INSTRUMENT_COLS,
    15,
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct api_instrument *b = cls;
  struct api_instrument in;
  struct api_json d, j;
  char dec[16], lag[16], mn[MONEY_STR_MAX], mx[MONEY_STR_MAX], ff[MONEY_STR_MAX], fr[MONEY_STR_MAX],
      target[40];
  PGresult *r = NULL;
  snprintf(dec, sizeof dec, "%lld", (long long)b->token_decimals);
  snprintf(lag, sizeof lag, "%lld", (long long)b->settlement_lag_days);
  money_format(b->min_order_qty, mn, sizeof mn);
  money_format(b->max_order_qty, mx, sizeof mx);
  money_format(b->fee_flat, ff, sizeof ff);
  money_format(b->fee_rate, fr, sizeof fr);
  const char *params[] = {b->symbol,
                          b->isin,
                          b->token_symbol,
                          dec,
                          lag,
                          api_mint_policies[b->mint_policy],
                          api_burn_policies[b->burn_policy],
                          mn,
                          mx,
                          ff,
                          fr,
                          b->market_open,
                          b->market_close,
                          b->cutoff,
                          api_out_of_hours[b->out_of_hours]};
  enum db_qs qs = db_exec(c, &q_insert, params, &r);
  if (qs == DB_QS_NONE)
    return api_txn_error(t, ERR_API_CONFLICT,
                         "an instrument with this symbol, ISIN or token symbol exists");
  if (qs < 0)
    return qs;
  api__instrument_row(r, 0, &in);
  PQclear(r);
  api_json_init(&d);
  api_json_obj(&d);
  api_json_key(&d, "symbol");
  api_json_str(&d, in.symbol);
  api__instrument_knobs(&d, &in);
  api_json_obj_end(&d);
  snprintf(target, sizeof target, "instrument:%s", in.symbol);
  qs = api__audit(c, api_txn_principal(t)->id, "instrument.create", target, &d);
  if (qs < 0)
    return qs;
  api_txn_reply_open(&j, "instrument");
  api__show_instrument(&j, &in);
  return api_txn_reply_close(t, 201, &j);
}

int api_admin_instruments_post(struct api_request *req)
{
  struct api_instrument b = {
      .token_decimals = 18,
      .settlement_lag_days = 1,
      .fee_flat = {.v = 0, .scale = API_CASH_SCALE},
      .fee_rate = {.v = 0, .scale = API_RATE_SCALE},
      .market_open = "09:30",
      .market_close = "16:00",
      .cutoff = "15:30",
  };
  char hint[API_HINT_MAX];
  size_t len;
  const char *body = api_req_body(req, &len);
  int rc = api_body_parse(body, len, fields, sizeof fields / sizeof fields[0], &b, NULL, hint,
                          sizeof hint);
  if (rc == 0)
    rc = api__instrument_check(&b, hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  return api_idem_run(req, "instruments_post", work, &b);
}
