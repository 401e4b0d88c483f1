/*
 * Internals shared by the engine's files (issuance_engine*.c and
 * issuance_settle.c): the engine itself, the clock as it reads it, the
 * books names of an order, postings under the order's reference, the fee,
 * tokens for a quantity, small JSON details for events, and the moves
 * that several steps make (into filled, into requires_attention, giving
 * unsold redeem tokens back, advancing a settled order).
 *
 * Every *_in() function joins the caller's transaction and returns 0 or
 * a negated error; a database error comes back as -ERR_DB_CONFLICT or
 * -ERR_DB_HARD (order_qs() turns it into the body's status).
 */
#ifndef BACKSTOCK_ISSUANCE_ENGINE_INT_H
#define BACKSTOCK_ISSUANCE_ENGINE_INT_H

#include "chain/chain.h"
#include "fix/fix.h"
#include "issuance/issuance_int.h"

#define ENGINE_ACTOR "engine"
#define ENGINE_COMP  "engine" /* log component */
/* An order's detail JSON for its event. */
#define ENGINE_DETAIL_MAX 1024

struct engine {
  struct db_conn *c; /* borrowed */
  struct chain_ledger *l;
  const struct cal *cal;
  struct engine_cfg cfg;
};

/* The clock now, as the engine uses it. */
struct engine_now {
  int64_t ms;     /* clock_now(), ms since the epoch */
  int32_t ny_day; /* its date in America/New_York (cal day number) */
  int ny_minute;  /* minutes after midnight there */
};

/* engine__now() - read the clock (one statement; in a transaction or not). */
int engine__now(struct db_conn *c, struct engine_now *out);

/* The books names of an order. */
struct engine_names {
  char ref[BOOKS_REF_MAX];          /* "order:<id>" */
  char ap[BOOKS_OWNER_MAX];         /* "ap:<ap>" */
  char in_transit[BOOKS_ASSET_MAX]; /* "shares:<ISIN>:in_transit" */
  char settled[BOOKS_ASSET_MAX];    /* "shares:<ISIN>:settled" */
  char tokens[BOOKS_ASSET_MAX];     /* "tokens:<token symbol>" */
};

void engine__names(const struct order *o, struct engine_names *n);

/*
 * engine__post() - a posting under "order:<id>" with key
 * "order-<id>-<what>" (@what printable ASCII, no space).  Entries with a
 * zero amount are left out; fewer than two left: nothing is posted.
 * Returns 0 (posted now or before with the same entries) or the error of
 * books_post().
 */
int engine__post(struct db_conn *c, const struct order *o, const char *what,
                 const struct books_entry *e, size_t n, const char *memo);

/* engine__fee() - fee_flat + ceil(@cash x fee_rate to cents); a redeem's is capped at @cash. */
int engine__fee(const struct order *o, struct money cash, struct money *fee);

/*
 * engine__tokens_for() - raw tokens for @qty shares of @o: token_amount
 * for the whole quantity, else qty / multiplier rounded down at the
 * token's decimals; scale 18.
 */
int engine__tokens_for(const struct order *o, struct money qty, struct money *out);

/* engine__fmt() - @m as exact decimal text ("?" if it cannot be written). */
void engine__fmt(struct money m, char out[MONEY_STR_MAX]);

/* A JSON object built field by field (values are strings); cut at ENGINE_DETAIL_MAX. */
struct engine_json {
  char s[ENGINE_DETAIL_MAX];
  size_t n;
};

void engine__json_init(struct engine_json *j);
void engine__json_str(struct engine_json *j, const char *key, const char *val);
void engine__json_money(struct engine_json *j, const char *key, struct money m);
void engine__json_i64(struct engine_json *j, const char *key, int64_t v);
void engine__json_day(struct engine_json *j, const char *key, int32_t day);
/* The object's text, closed. */
const char *engine__json_end(struct engine_json *j);

/*
 * engine__attention_in() - move @o (locked, in its current state) to
 * requires_attention with attention = @why and an event whose detail is
 * @detail plus {"attention": why}; already there: the event only.
 */
int engine__attention_in(struct db_conn *c, const struct order *o, const char *why,
                         const char *detail);

/*
 * engine__filled_in() - move @o (locked, in @o->state, its fills booked
 * and its figures current) to filled: charge the fee on fill_cash
 * (orders.fee, posting "fee"), give unsold redeem tokens back, event with
 * @extra's fields; then for a redeem or an at_settlement mint on to
 * settling.
 */
int engine__filled_in(struct engine *e, struct order *o, struct engine_json *extra);

/*
 * engine__giveback_in() - a redeem ends after its tokens were escrowed
 * with @sold shares sold: the tokens beyond those sold go back to the
 * wallet, recorded now and executed after the commit -- re-minted
 * ("order-<id>-remint": chain -R, ap +R) when they were burned, else
 * transferred back ("order-<id>-return": issuer -R, ap +R).  Sets
 * tokens_done (burned on_receipt: T - R).  Adds "tokens_returned" to @j.
 * Nothing when nothing is unsold.
 */
int engine__giveback_in(struct engine *e, struct order *o, struct money sold,
                        struct engine_json *j);

/*
 * engine__advance_in() - @o (locked) in settling or settlement_failed
 * whose live settlement items are all confirmed: mint ->
 * settled_at_custodian (at_fill: -> completed), redeem -> cash_settled
 * (on_receipt: -> payout_submitted).  Returns 1 when it moved, 0 when
 * not (items still open, or another state), or an error.
 */
int engine__advance_in(struct engine *e, struct order *o, struct engine_stats *st);

/* engine__payout_in() - @o (locked) -> payout_submitted with payout = fill_cash - fee. */
int engine__payout_in(struct db_conn *c, struct order *o);

/* engine__complete_in() - @o (locked) -> completed, the residual cash_due in the detail. */
int engine__complete_in(struct db_conn *c, struct order *o);

/* engine__token_ready() - register the order's token on the ledger and in the books (idempotent).
 */
int engine__token_ready(struct engine *e, const struct order *o);

/* engine__intent_key() - "order-<id>-<what>". */
void engine__intent_key(int64_t id, const char *what, char out[CHAIN_KEY_MAX]);

/*
 * engine__ids() - the ids of the first @max rows of @stmt (first column)
 * with @params, into @ids.  Returns the count or a database error.
 */
int engine__ids(struct db_conn *c, const struct db_stmt *stmt, const char *const *params,
                int64_t *ids, size_t max);

/* engine__stats_add() - add every counter of @from to @to (NULL: nothing). */
void engine__stats_add(struct engine_stats *to, const struct engine_stats *from);

/* ENGINE_COUNT() - add one to a stats counter when @st is not NULL. */
#define ENGINE_COUNT(st, field)                                                                    \
  do {                                                                                             \
    if ((st) != NULL)                                                                              \
      (st)->field++;                                                                               \
  } while (0)

#endif
