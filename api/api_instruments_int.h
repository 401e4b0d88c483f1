/*
 * api: instruments and pauses, shared by their endpoint files
 * (api_admin_instruments_post.c, api_instruments_get.c,
 * api_instrument_get.c, api_admin_instrument_post.c,
 * api_admin_pauses_post.c, api_pauses_get.c): the instrument as the
 * handlers hold it, its checks, its row and its JSON.  Tables: migration
 * 0011-instruments.sql.  Conventions: docs/api.md.
 */
#ifndef BACKSTOCK_API_INSTRUMENTS_INT_H
#define BACKSTOCK_API_INSTRUMENTS_INT_H

#include "api/api_int.h"

#define API_SYMBOL_MAX 16 /* bytes of a symbol or token symbol */
#define API_ISIN_LEN   12
#define API_HHMM_LEN   5 /* "09:30" */
#define API_REASON_MAX 200

#define API_QTY_SCALE  6  /* shares */
#define API_CASH_SCALE 2  /* USD */
#define API_RATE_SCALE 6  /* fee_rate, a fraction */
#define API_MULT_SCALE 18 /* multiplier */

/* One instrument; the enums are indexes of the name lists below. */
struct api_instrument {
  int64_t id;
  char symbol[API_SYMBOL_MAX + 1];
  char isin[API_ISIN_LEN + 1 + 1]; /* one byte more: a 13th is seen and refused */
  char token_symbol[API_SYMBOL_MAX + 1];
  int64_t token_decimals;
  int64_t settlement_lag_days;
  int mint_policy;
  int burn_policy;
  struct money min_order_qty, max_order_qty, fee_flat, fee_rate, multiplier;
  char market_open[API_HHMM_LEN + 2], market_close[API_HHMM_LEN + 2], cutoff[API_HHMM_LEN + 2];
  int out_of_hours;
  int64_t created_ms, updated_ms;
  struct money raw_supply; /* the token's supply on the built-in ledger, at token_decimals */
};

/* NULL-terminated names of the policies, in the order of their indexes. */
extern const char *const api_mint_policies[]; /* at_fill, at_settlement */
extern const char *const api_burn_policies[]; /* on_receipt, at_payout */
extern const char *const api_out_of_hours[];  /* queue, refuse */

/** api__isin_ok() - 2 letters, 9 letters or digits, 1 digit, and the check digit holds. */
bool api__isin_ok(const char *s);

/** api__hhmm_ok() - "HH:MM", 00:00 to 23:59. */
bool api__hhmm_ok(const char *s);

/**
 * api__instrument_check() - the rules across fields: ISIN, hours
 * (market_open < cutoff <= market_close), fee_rate < 1, min_order_qty <=
 * max_order_qty.  Returns 0 or -ERR_API_FIELD with @hint.
 */
int api__instrument_check(const struct api_instrument *in, char *hint, size_t hint_size);

/* The columns api__instrument_row() reads, in order. */
#define API_INSTRUMENT_COLS                                                                        \
  "id, symbol, isin, token_symbol, token_decimals, settlement_lag_days, mint_policy,"              \
  " burn_policy, min_order_qty, max_order_qty, fee_flat, fee_rate, market_open, market_close,"     \
  " cutoff, out_of_hours, multiplier, (extract(epoch from created) * 1000)::bigint,"               \
  " (extract(epoch from updated) * 1000)::bigint," API_RAW_SUPPLY_COL

/*
 * The raw supply of the instrument's token on the built-in ledger at its
 * head (what chain_supply() at CHAIN_LATEST returns; 0 for a token never
 * minted), read in the same statement as the multiplier.
 */
#define API_RAW_SUPPLY_COL                                                                         \
  " coalesce((SELECT s.supply FROM chain_supply s WHERE s.token = instruments.token_symbol"        \
  " ORDER BY s.block DESC LIMIT 1), 0)"

/** api__instrument_row() - an instrument from API_INSTRUMENT_COLS of row @row. */
void api__instrument_row(PGresult *r, int row, struct api_instrument *in);

/**
 * api__instrument_by_symbol() - the instrument @symbol (FOR UPDATE when
 * @lock: call inside db_txn then).  Returns DB_QS_HARD/SOFT, DB_QS_NONE
 * (none) or 1.
 */
enum db_qs api__instrument_by_symbol(struct db_conn *c, const char *symbol, bool lock,
                                     struct api_instrument *in);

/**
 * api__instrument_knobs() - the members of the policy knobs (no id,
 * symbol or times) into the open object @j: for the audit log's details.
 */
void api__instrument_knobs(struct api_json *j, const struct api_instrument *in);

/** api__show_instrument() - the instrument as the API shows it (one object). */
void api__show_instrument(struct api_json *j, const struct api_instrument *in);

/**
 * api__show_pause() - a pause as the API shows it (one object): @scope
 * "global" or a symbol, @kind "mint" or "redeem", @set_by 0 for none.
 */
void api__show_pause(struct api_json *j, const char *scope, const char *kind, bool paused,
                     const char *reason, int64_t set_by, int64_t set_at_ms);

/* Handlers, one file each. */
int api_admin_instruments_post(struct api_request *req);
int api_instruments_get(struct api_request *req);
int api_instrument_get(struct api_request *req);
int api_admin_instrument_post(struct api_request *req);
int api_admin_pauses_post(struct api_request *req);
int api_pauses_get(struct api_request *req);

#endif
