/*
 * Internals of the orders slice (issuance_orders*.c): a small writer of
 * the JSON objects kept as event details, text checks, the AP's books
 * owner and the statuses of its queries.
 */
#ifndef BACKSTOCK_ISSUANCE_ORDERS_INT_H
#define BACKSTOCK_ISSUANCE_ORDERS_INT_H

#include "issuance/issuance_int.h"

/* An event's detail: one flat JSON object, built in place. */
#define ORD_JSON_MAX 4096

struct ord_json {
  char s[ORD_JSON_MAX];
  size_t n;
  bool any;
};

/* "{" */
void ord__json_begin(struct ord_json *j);
/* "key":"value" (escaped); NULL writes null. */
void ord__json_str(struct ord_json *j, const char *key, const char *val);
/* "key":"1.50" (the canonical text at the value's scale). */
void ord__json_money(struct ord_json *j, const char *key, struct money m);
/* "key":<raw JSON> (true, 12, null ...). */
void ord__json_raw(struct ord_json *j, const char *key, const char *raw);
/* "}" and the text; NULL when it did not fit (a bug: inputs are bounded). */
const char *ord__json_end(struct ord_json *j);

/* 1 to @max - 1 bytes of valid UTF-8 without control characters. */
bool ord__text_ok(const char *s, size_t max);

/* "ap:<id>" into @out (BOOKS_OWNER_MAX). */
void ord__ap_owner(int64_t ap, char out[BOOKS_OWNER_MAX]);

/* "<v>" of an int64 into @out (ISS_I64_TXT). */
const char *ord__i64(int64_t v, char out[ISS_I64_TXT]);

/*
 * The columns of an order and its instrument's figures, from "orders o"
 * (or a CTE o of its columns) joined with "instruments i": what
 * ord__order_row() reads.
 */
/* clang-format off */
#define ORD_ORDER_COLS                                                                             \
  "o.id, o.kind, o.ap, o.instrument, i.symbol, i.token_symbol, i.isin, i.token_decimals,"         \
  " i.settlement_lag_days, o.wallet, o.quantity, o.limit_price, o.token_amount, o.multiplier,"     \
  " o.mint_policy, o.burn_policy, o.fee_flat, o.fee_rate, o.cash_required, o.state,"               \
  " floor(extract(epoch FROM o.state_since) * 1000)::bigint, o.filled_qty, o.fill_cash,"          \
  " o.settled_qty, o.settled_cash, o.cash_funded, o.fee, o.cash_paid, o.tokens_done,"              \
  " o.session_date - DATE '1970-01-01', floor(extract(epoch FROM o.cash_deadline) * 1000)::bigint," \
  " o.cancel_requested, o.attention, o.client_ref, o.signing_key,"                                 \
  " floor(extract(epoch FROM o.created) * 1000)::bigint,"                                          \
  " floor(extract(epoch FROM o.updated) * 1000)::bigint"
/* clang-format on */

/* The first row of @r, selected as ORD_ORDER_COLS, into @o: 0 or -ERR_INTERNAL. */
int ord__order_row(PGresult *r, struct order *o);

/* A stored figure to money at @scale (as order_get() reads them). */
int ord__num(const char *s, unsigned scale, struct money *out);

/* Milliseconds since the epoch of a timestamp column selected as ms. */
int64_t ord__ms(const char *s);

/*
 * The AP's tokens of @o's token under reference "order:<id>" in the books
 * (signed: a redeem's escrow made it negative).  Joins the caller's
 * transaction.  Returns 0 or a database error.
 */
int ord__ap_tokens(struct db_conn *c, const struct order *o, struct money *out);

/* A books posting of two entries with reference "order:<id>". */
int ord__post2(struct db_conn *c, const struct order *o, const char *key, const char *owner_neg,
               const char *owner_pos, const char *asset, struct money amount);

#endif
