/*
 * The core of orders: state and kind names, reading an order with its
 * instrument's names, what the issuer owes the AP under it, and the one
 * way a state changes (order_transition_in(): the guarded UPDATE and the
 * appended event in the caller's transaction).
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_orders_int.h"

static const char *const state_names[ORDER_STATE_COUNT] = {
#define ORDER_STATE_NAME(n, s) s,
    ORDER_STATES(ORDER_STATE_NAME)
#undef ORDER_STATE_NAME
};

const char *order_state_name(enum order_state st)
{
  if ((unsigned)st >= ORDER_STATE_COUNT)
    return "unknown";
  return state_names[st];
}

int order_state_parse(const char *s, enum order_state *out)
{
  if (s == NULL)
    return -ERR_INVALID_ARGUMENT;
  for (unsigned i = 0; i < ORDER_STATE_COUNT; i++)
    if (strcmp(s, state_names[i]) == 0) {
      *out = (enum order_state)i;
      return 0;
    }
  return -ERR_INVALID_ARGUMENT;
}

bool order_state_final(enum order_state st)
{
  return st == ORDER_COMPLETED || st == ORDER_REJECTED || st == ORDER_EXPIRED ||
         st == ORDER_CANCELLED || st == ORDER_BROKER_REJECTED;
}

const char *order_kind_name(enum order_kind k)
{
  return k == ORDER_REDEEM ? "redeem" : "mint";
}

enum db_qs order_qs(int rc)
{
  return books_txn_qs(rc);
}

/* An order and its instrument's figures, as ord__order_row() reads them. */
#define ORDER_SELECT                                                                               \
  "SELECT " ORD_ORDER_COLS " FROM orders o JOIN instruments i ON i.id = o.instrument"              \
  " WHERE o.id = $1::bigint"

static const struct db_stmt q_get = {"order_select", ORDER_SELECT, 1};

static const struct db_stmt q_get_lock = {"order_select_lock", ORDER_SELECT " FOR UPDATE OF o", 1};

static const char *val(PGresult *r, int col)
{
  return PQgetisnull(r, 0, col) ? NULL : PQgetvalue(r, 0, col);
}

static int64_t i64(PGresult *r, int col)
{
  const char *s = val(r, col);
  return s ? strtoll(s, NULL, 10) : 0;
}

/* Numeric column @col to money at @scale; NULL is zero. */
static int num(PGresult *r, int col, unsigned scale, struct money *out)
{
  const char *s = val(r, col);
  if (s == NULL)
    return money_make(0, scale, out);
  return issuance__num_money(s, scale, out) == 0 ? 0 : -ERR_INTERNAL;
}

static void text(PGresult *r, int col, char *out, size_t size)
{
  const char *s = val(r, col);
  util_strlcpy(out, s ? s : "", size);
}

int ord__order_row(PGresult *r, struct order *o)
{
  memset(o, 0, sizeof *o);
  o->id = i64(r, 0);
  o->kind = strcmp(PQgetvalue(r, 0, 1), "redeem") == 0 ? ORDER_REDEEM : ORDER_MINT;
  o->ap = i64(r, 2);
  o->instrument = i64(r, 3);
  text(r, 4, o->symbol, sizeof o->symbol);
  text(r, 5, o->token_symbol, sizeof o->token_symbol);
  text(r, 6, o->isin, sizeof o->isin);
  o->token_decimals = (unsigned)i64(r, 7);
  o->settlement_lag_days = (int)i64(r, 8);
  text(r, 9, o->wallet, sizeof o->wallet);
  o->has_limit = val(r, 11) != NULL;
  const char *mp = val(r, 14), *bp = val(r, 15);
  o->mint_at_fill = mp != NULL && strcmp(mp, "at_fill") == 0;
  o->burn_on_receipt = bp != NULL && strcmp(bp, "on_receipt") == 0;
  if (order_state_parse(PQgetvalue(r, 0, 19), &o->state) != 0)
    return -ERR_INTERNAL;
  o->state_since_ms = i64(r, 20);
  o->session_date = (int32_t)i64(r, 29);
  o->cash_deadline_ms = i64(r, 30);
  o->cancel_requested = PQgetvalue(r, 0, 31)[0] == 't';
  text(r, 32, o->attention, sizeof o->attention);
  text(r, 33, o->client_ref, sizeof o->client_ref);
  o->signing_key = i64(r, 34);
  o->created_ms = i64(r, 35);
  o->updated_ms = i64(r, 36);
  static const struct {
    int col;
    unsigned scale;
    size_t off;
  } figs[] = {
      {10, ISSUANCE_QTY_SCALE, offsetof(struct order, quantity)},
      {11, ISSUANCE_QTY_SCALE, offsetof(struct order, limit_price)},
      {12, ISSUANCE_TOKEN_SCALE, offsetof(struct order, token_amount)},
      {13, 18, offsetof(struct order, multiplier)},
      {16, ISSUANCE_CASH_SCALE, offsetof(struct order, fee_flat)},
      {17, 6, offsetof(struct order, fee_rate)},
      {18, ISSUANCE_CASH_SCALE, offsetof(struct order, cash_required)},
      {21, ISSUANCE_QTY_SCALE, offsetof(struct order, filled_qty)},
      {22, ISSUANCE_CASH_SCALE, offsetof(struct order, fill_cash)},
      {23, ISSUANCE_QTY_SCALE, offsetof(struct order, settled_qty)},
      {24, ISSUANCE_CASH_SCALE, offsetof(struct order, settled_cash)},
      {25, ISSUANCE_CASH_SCALE, offsetof(struct order, cash_funded)},
      {26, ISSUANCE_CASH_SCALE, offsetof(struct order, fee)},
      {27, ISSUANCE_CASH_SCALE, offsetof(struct order, cash_paid)},
      {28, ISSUANCE_TOKEN_SCALE, offsetof(struct order, tokens_done)},
  };
  for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++)
    if (num(r, figs[i].col, figs[i].scale, (struct money *)((char *)o + figs[i].off)) != 0)
      return -ERR_INTERNAL;
  return 0;
}

int order_get(struct db_conn *c, int64_t id, bool lock, struct order *out)
{
  if (c == NULL || out == NULL || id <= 0 || (lock && !c->in_txn))
    return id <= 0 && c != NULL && out != NULL ? -ERR_ORDER_NOT_FOUND : -ERR_INVALID_ARGUMENT;
  char ids[ISS_I64_TXT];
  snprintf(ids, sizeof ids, "%lld", (long long)id);
  const char *params[] = {ids};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, lock ? &q_get_lock : &q_get, params, &r);
  int rc;
  if (qs == DB_QS_NONE)
    rc = -ERR_ORDER_NOT_FOUND;
  else if (qs < 0)
    rc = issuance__qs_err(qs);
  else
    rc = ord__order_row(r, out);
  PQclear(r);
  return rc;
}

int order_cash_due(const struct order *o, struct money *out)
{
  struct money due;
  int rc = money_sub(o->cash_funded, o->fee, &due);
  if (rc == 0)
    rc = o->kind == ORDER_REDEEM ? money_add(due, o->fill_cash, &due)
                                 : money_sub(due, o->fill_cash, &due);
  if (rc == 0)
    rc = money_sub(due, o->cash_paid, &due);
  if (rc != 0)
    return -ERR_MONEY_OVERFLOW;
  *out = due;
  return 0;
}

/*
 * The guarded move and its event in one statement: the UPDATE only
 * matches the order in @from, and the event's seq follows the order's
 * last (the row lock of the UPDATE serialises writers of one order).
 */
static const struct db_stmt q_transition = {
    "order_transition",
    "WITH moved AS (UPDATE orders SET state = $3, state_since = clock_now(), updated = clock_now()"
    " WHERE id = $1::bigint AND state = $2 RETURNING id)"
    " INSERT INTO order_events (order_id, seq, from_state, to_state, actor, detail)"
    " SELECT m.id, COALESCE((SELECT max(seq) FROM order_events WHERE order_id = m.id), 0) + 1,"
    " $2, $3, $4, $5::jsonb FROM moved m RETURNING seq",
    5};

static const struct db_stmt q_event = {
    "order_event",
    "WITH cur AS (SELECT id FROM orders WHERE id = $1::bigint AND state = $2 FOR UPDATE)"
    " INSERT INTO order_events (order_id, seq, from_state, to_state, actor, detail)"
    " SELECT c.id, COALESCE((SELECT max(seq) FROM order_events WHERE order_id = c.id), 0) + 1,"
    " $2, $2, $3, $4::jsonb FROM cur c RETURNING seq",
    4};

static const struct db_stmt q_exists = {"order_exists",
                                        "SELECT 1 FROM orders WHERE id = $1::bigint", 1};

/* After a statement that matched no order in the expected state: why. */
static int why_not(struct db_conn *c, const char *ids)
{
  const char *params[] = {ids};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_exists, params, &r);
  PQclear(r);
  if (qs > 0)
    return -ERR_ORDER_STATE;
  if (qs == DB_QS_NONE)
    return -ERR_ORDER_NOT_FOUND;
  return issuance__qs_err(qs);
}

static bool actor_valid(const char *a)
{
  size_t n = a ? strlen(a) : 0;
  if (n == 0 || n > 64)
    return false;
  for (size_t i = 0; i < n; i++)
    if (a[i] <= ' ' || a[i] > '~')
      return false;
  return true;
}

static int run(struct db_conn *c, const struct db_stmt *st, int64_t id, const char *const *rest,
               int n_rest)
{
  char ids[ISS_I64_TXT];
  snprintf(ids, sizeof ids, "%lld", (long long)id);
  const char *params[5] = {ids};
  for (int i = 0; i < n_rest; i++)
    params[1 + i] = rest[i];
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, st, params, &r);
  PQclear(r);
  if (qs > 0)
    return 0;
  if (qs == DB_QS_NONE)
    return why_not(c, ids);
  if (qs == DB_QS_HARD && strcmp(c->last_sqlstate, "22P02") == 0)
    return -ERR_INVALID_ARGUMENT; /* detail is not JSON */
  return issuance__qs_err(qs);
}

int order_transition_in(struct db_conn *c, int64_t id, enum order_state from, enum order_state to,
                        const char *actor, const char *detail)
{
  if (c == NULL || !c->in_txn || id <= 0 || (unsigned)from >= ORDER_STATE_COUNT ||
      (unsigned)to >= ORDER_STATE_COUNT || from == to || !actor_valid(actor))
    return -ERR_INVALID_ARGUMENT;
  const char *rest[] = {state_names[from], state_names[to], actor, detail ? detail : "{}"};
  return run(c, &q_transition, id, rest, 4);
}

int order_event_in(struct db_conn *c, int64_t id, enum order_state st, const char *actor,
                   const char *detail)
{
  if (c == NULL || !c->in_txn || id <= 0 || (unsigned)st >= ORDER_STATE_COUNT ||
      !actor_valid(actor))
    return -ERR_INVALID_ARGUMENT;
  const char *rest[] = {state_names[st], actor, detail ? detail : "{}"};
  return run(c, &q_event, id, rest, 3);
}
