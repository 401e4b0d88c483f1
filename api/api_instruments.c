/*
 * Instruments, shared by their endpoints (api_instruments_int.h): the policy
 * names, the checks across fields (ISIN with its check digit, the hours,
 * fee rate, order limits), the row as read from the database and the JSON
 * the API shows.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_corpact_int.h"
#include "api/api_instruments_int.h"

const char *const api_mint_policies[] = {"at_fill", "at_settlement", NULL};
const char *const api_burn_policies[] = {"on_receipt", "at_payout", NULL};
const char *const api_out_of_hours[] = {"queue", "refuse", NULL};

static const struct db_stmt q_by_symbol = {
    "api_instrument_by_symbol",
    "SELECT " API_INSTRUMENT_COLS " FROM instruments WHERE symbol = $1",
    1,
};

static const struct db_stmt q_by_symbol_lock = {
    "api_instrument_by_symbol_lock",
    "SELECT " API_INSTRUMENT_COLS " FROM instruments WHERE symbol = $1 FOR UPDATE",
    1,
};

static bool is_upper(char ch)
{
  return ch >= 'A' && ch <= 'Z';
}

static bool is_digit(char ch)
{
  return ch >= '0' && ch <= '9';
}

bool api__isin_ok(const char *s)
{
  if (strlen(s) != API_ISIN_LEN || !is_upper(s[0]) || !is_upper(s[1]) || !is_digit(s[11]))
    return false;
  /* Letters become two digits (A = 10 ... Z = 35); Luhn over the digits, from the right. */
  char digits[2 * API_ISIN_LEN];
  size_t n = 0;
  for (size_t i = 0; i < API_ISIN_LEN; i++) {
    if (is_digit(s[i])) {
      digits[n++] = s[i];
    } else if (is_upper(s[i])) {
      int v = s[i] - 'A' + 10;
      digits[n++] = (char)('0' + v / 10);
      digits[n++] = (char)('0' + v % 10);
    } else {
      return false;
    }
  }
  int sum = 0;
  for (size_t k = 0; k < n; k++) {
    int d = digits[n - 1 - k] - '0';
    if (k % 2 == 1) {
      d *= 2;
      if (d > 9)
        d -= 9;
    }
    sum += d;
  }
  return sum % 10 == 0;
}

bool api__hhmm_ok(const char *s)
{
  return strlen(s) == API_HHMM_LEN && is_digit(s[0]) && is_digit(s[1]) && s[2] == ':' &&
         is_digit(s[3]) && is_digit(s[4]) && (s[0] - '0') * 10 + (s[1] - '0') < 24 && s[3] < '6';
}

int api__instrument_check(const struct api_instrument *in, char *hint, size_t hint_size)
{
  if (!api__isin_ok(in->isin))
    return api__hint(hint, hint_size, -ERR_API_FIELD,
                     "field \"isin\": not an ISIN (2 letters, 9 letters or digits, a check digit)");
  const char *names[] = {"market_open", "market_close", "cutoff"};
  const char *vals[] = {in->market_open, in->market_close, in->cutoff};
  for (int i = 0; i < 3; i++)
    if (!api__hhmm_ok(vals[i]))
      return api__hint(hint, hint_size, -ERR_API_FIELD, "field \"%s\": must be \"HH:MM\"",
                       names[i]);
  /* "HH:MM" compares as text. */
  if (strcmp(in->market_open, in->cutoff) >= 0 || strcmp(in->cutoff, in->market_close) > 0)
    return api__hint(hint, hint_size, -ERR_API_FIELD,
                     "field \"cutoff\": must be after market_open and not after market_close");
  struct money one = {.v = 1, .scale = 0};
  if (money_cmp(in->fee_rate, one) >= 0)
    return api__hint(hint, hint_size, -ERR_API_FIELD,
                     "field \"fee_rate\": must be below 1 (a fraction: 0.0025 is 0.25%%)");
  if (money_cmp(in->min_order_qty, in->max_order_qty) > 0)
    return api__hint(hint, hint_size, -ERR_API_FIELD,
                     "field \"min_order_qty\": must not exceed max_order_qty");
  return 0;
}

static int name_index(const char *const *names, const char *s)
{
  for (int i = 0; names[i] != NULL; i++)
    if (strcmp(names[i], s) == 0)
      return i;
  return 0;
}

static struct money col_money(PGresult *r, int row, int col, unsigned scale)
{
  struct money m = {.v = 0, .scale = (uint8_t)scale};
  const char *s = PQgetvalue(r, row, col);
  if (money_parse(s, strlen(s), scale, 0, &m) != 0)
    log_bug("api", "instrument column %d: %s is not a decimal at scale %u", col, s, scale);
  return m;
}

void api__instrument_row(PGresult *r, int row, struct api_instrument *in)
{
  memset(in, 0, sizeof *in);
  in->id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
  util_strlcpy(in->symbol, PQgetvalue(r, row, 1), sizeof in->symbol);
  util_strlcpy(in->isin, PQgetvalue(r, row, 2), sizeof in->isin);
  util_strlcpy(in->token_symbol, PQgetvalue(r, row, 3), sizeof in->token_symbol);
  in->token_decimals = strtoll(PQgetvalue(r, row, 4), NULL, 10);
  in->settlement_lag_days = strtoll(PQgetvalue(r, row, 5), NULL, 10);
  in->mint_policy = name_index(api_mint_policies, PQgetvalue(r, row, 6));
  in->burn_policy = name_index(api_burn_policies, PQgetvalue(r, row, 7));
  in->min_order_qty = col_money(r, row, 8, API_QTY_SCALE);
  in->max_order_qty = col_money(r, row, 9, API_QTY_SCALE);
  in->fee_flat = col_money(r, row, 10, API_CASH_SCALE);
  in->fee_rate = col_money(r, row, 11, API_RATE_SCALE);
  util_strlcpy(in->market_open, PQgetvalue(r, row, 12), sizeof in->market_open);
  util_strlcpy(in->market_close, PQgetvalue(r, row, 13), sizeof in->market_close);
  util_strlcpy(in->cutoff, PQgetvalue(r, row, 14), sizeof in->cutoff);
  in->out_of_hours = name_index(api_out_of_hours, PQgetvalue(r, row, 15));
  in->multiplier = col_money(r, row, 16, API_MULT_SCALE);
  in->created_ms = api__ms_value(r, row, 17);
  in->updated_ms = api__ms_value(r, row, 18);
  /* Stored at 18 places; exact at the token's decimals. */
  struct money raw = col_money(r, row, 19, API_MULT_SCALE);
  if (money_rescale(raw, (unsigned)in->token_decimals, MONEY_ROUND_EXACT, &in->raw_supply) != 0)
    in->raw_supply = raw;
}

enum db_qs api__instrument_by_symbol(struct db_conn *c, const char *symbol, bool lock,
                                     struct api_instrument *in)
{
  PGresult *r = NULL;
  const char *params[] = {symbol};
  enum db_qs qs = db_exec(c, lock ? &q_by_symbol_lock : &q_by_symbol, params, &r);
  if (qs <= 0)
    return qs;
  api__instrument_row(r, 0, in);
  PQclear(r);
  return 1;
}

void api__instrument_knobs(struct api_json *j, const struct api_instrument *in)
{
  api_json_key(j, "isin");
  api_json_str(j, in->isin);
  api_json_key(j, "token_symbol");
  api_json_str(j, in->token_symbol);
  api_json_key(j, "token_decimals");
  api_json_int(j, in->token_decimals);
  api_json_key(j, "settlement_lag_days");
  api_json_int(j, in->settlement_lag_days);
  api_json_key(j, "mint_policy");
  api_json_str(j, api_mint_policies[in->mint_policy]);
  api_json_key(j, "burn_policy");
  api_json_str(j, api_burn_policies[in->burn_policy]);
  api_json_key(j, "min_order_qty");
  api_json_money(j, in->min_order_qty);
  api_json_key(j, "max_order_qty");
  api_json_money(j, in->max_order_qty);
  api_json_key(j, "fee_flat");
  api_json_money(j, in->fee_flat);
  api_json_key(j, "fee_rate");
  api_json_money(j, in->fee_rate);
  api_json_key(j, "market_open");
  api_json_str(j, in->market_open);
  api_json_key(j, "market_close");
  api_json_str(j, in->market_close);
  api_json_key(j, "cutoff");
  api_json_str(j, in->cutoff);
  api_json_key(j, "out_of_hours");
  api_json_str(j, api_out_of_hours[in->out_of_hours]);
}

void api__show_instrument(struct api_json *j, const struct api_instrument *in)
{
  api_json_obj(j);
  api_json_key(j, "id");
  api_json_int(j, in->id);
  api_json_key(j, "symbol");
  api_json_str(j, in->symbol);
  api__instrument_knobs(j, in);
  api_json_key(j, "time_zone");
  api_json_str(j, "America/New_York");
  api__show_supply(j, in->raw_supply, in->multiplier);
  api_json_key(j, "created");
  api_json_time(j, in->created_ms);
  api_json_key(j, "updated");
  api_json_time(j, in->updated_ms);
  api_json_obj_end(j);
}
