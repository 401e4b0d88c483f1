/*
 * Order limits (table order_limits of migrations/0013-orders.sql,
 * docs/participants.md): set and list them, and the check an order's
 * creation makes, order_limits_check_in(); and the list of the books'
 * accounts that GET /v1/balances shows.
 *
 * A limit caps the shares of one instrument and kind (mint or redeem)
 * ordered in any rolling window of window_seconds on the clock: by one AP
 * (ap set) or by all APs together (ap NULL).  An order counts in a window
 * when it was created within it, (clock_now() - window, clock_now()],
 * unless it was rejected, expired, or cancelled with nothing filled.  An
 * order that would bring the sum above max_qty is refused.  The check is
 * one statement in the caller's SERIALIZABLE transaction, which also
 * inserts the order, so two racing orders cannot both squeeze under a
 * limit (one of them fails serialization and is retried, then counted).
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_int.h"

#define MS(x) "floor(extract(epoch FROM " x ") * 1000)::bigint"

/*
 * The first limit that @qty ($4) would break: every limit of the
 * instrument and kind that is instrument-wide or the AP's, with what
 * counts in its window now.
 */
static const struct db_stmt q_check = {
    "part_select_limit_broken",
    "WITH clk AS (SELECT clock_now() AS t)"
    " SELECT l.id FROM order_limits l, clk"
    " WHERE l.instrument = $1::bigint AND l.kind = $3 AND (l.ap IS NULL OR l.ap = $2::bigint)"
    " AND l.max_qty < $4::numeric + COALESCE((SELECT sum(o.quantity) FROM orders o"
    " WHERE o.instrument = l.instrument AND o.kind = l.kind AND (l.ap IS NULL OR o.ap = l.ap)"
    " AND o.created > clk.t - l.window_seconds * interval '1 second'"
    " AND o.state NOT IN ('rejected', 'expired')"
    " AND NOT (o.state = 'cancelled' AND o.filled_qty = 0)), 0)"
    " ORDER BY l.id LIMIT 1",
    4};

#define LIMIT_COLS                                                                                 \
  "l.id, l.instrument, i.symbol, l.ap, l.kind, l.window_seconds, l.max_qty, " MS("l.updated")

static const struct db_stmt q_instrument = {"part_select_instrument",
                                            "SELECT 1 FROM instruments WHERE id = $1::bigint", 1};

static const struct db_stmt q_is_ap = {
    "part_limit_select_ap", "SELECT 1 FROM principals WHERE id = $1::bigint AND role = 'ap'", 1};

static const struct db_stmt q_prev = {
    "part_select_limit_prev",
    "SELECT max_qty FROM order_limits WHERE instrument = $1::bigint"
    " AND coalesce(ap, 0) = $2::bigint AND kind = $3 AND window_seconds = $4::integer FOR UPDATE",
    4};

static const struct db_stmt q_set = {
    "part_upsert_limit",
    "WITH l AS (INSERT INTO order_limits (instrument, ap, kind, window_seconds, max_qty)"
    " VALUES ($1::bigint, NULLIF($2::bigint, 0), $3, $4::integer, $5::numeric)"
    " ON CONFLICT (instrument, (coalesce(ap, 0)), kind, window_seconds)"
    " DO UPDATE SET max_qty = EXCLUDED.max_qty, updated = clock_now() RETURNING *)"
    " SELECT " LIMIT_COLS " FROM l JOIN instruments i ON i.id = l.instrument",
    5};

static const struct db_stmt q_list = {
    "part_select_limits",
    "SELECT " LIMIT_COLS " FROM order_limits l JOIN instruments i ON i.id = l.instrument"
    " WHERE ($1::bigint = 0 OR l.instrument = $1::bigint) AND l.id > $2::bigint"
    " ORDER BY l.id LIMIT $3::bigint",
    3};

static const struct db_stmt q_accounts = {
    "part_select_accounts",
    "SELECT a.id, a.owner, a.asset, s.scale, a.balance, a.floor FROM books_accounts a"
    " JOIN books_assets s ON s.asset = a.asset WHERE ($1::text IS NULL OR a.owner = $1)"
    " AND a.id > $2::bigint ORDER BY a.id LIMIT $3::bigint",
    3};

static void i64_text(int64_t v, char out[ISS_I64_TXT])
{
  snprintf(out, ISS_I64_TXT, "%lld", (long long)v);
}

/* @m exactly at scale 6 and > 0, as text: 0 or -ERR_INVALID_ARGUMENT. */
static int qty_text(struct money m, struct money *q, char out[MONEY_STR_MAX])
{
  if (money_rescale(m, ISSUANCE_QTY_SCALE, MONEY_ROUND_EXACT, q) != 0 || q->v <= 0 ||
      money_format(*q, out, MONEY_STR_MAX) < 0)
    return -ERR_INVALID_ARGUMENT;
  return 0;
}

int order_limits_check_in(struct db_conn *c, int64_t instrument, int64_t ap, enum order_kind kind,
                          struct money qty)
{
  char ins[ISS_I64_TXT], aps[ISS_I64_TXT], qs_txt[MONEY_STR_MAX];
  struct money q;
  if (c == NULL || (kind != ORDER_MINT && kind != ORDER_REDEEM) || qty_text(qty, &q, qs_txt) != 0)
    return -ERR_INVALID_ARGUMENT;
  i64_text(instrument, ins);
  i64_text(ap, aps);
  const char *params[] = {ins, aps, order_kind_name(kind), qs_txt};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_check, params, &r);
  PQclear(r);
  if (qs < 0)
    return issuance__qs_err(qs);
  return qs > 0 ? -ERR_ORDER_LIMIT : 0;
}

static int limit_row(PGresult *r, int row, struct order_limit *l)
{
  memset(l, 0, sizeof *l);
  l->id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
  l->instrument = strtoll(PQgetvalue(r, row, 1), NULL, 10);
  util_strlcpy(l->symbol, PQgetvalue(r, row, 2), sizeof l->symbol);
  l->ap = PQgetisnull(r, row, 3) ? 0 : strtoll(PQgetvalue(r, row, 3), NULL, 10);
  l->kind = strcmp(PQgetvalue(r, row, 4), "redeem") == 0 ? ORDER_REDEEM : ORDER_MINT;
  l->window_seconds = (int32_t)strtol(PQgetvalue(r, row, 5), NULL, 10);
  l->updated_ms = strtoll(PQgetvalue(r, row, 7), NULL, 10);
  return issuance__num_money(PQgetvalue(r, row, 6), ISSUANCE_QTY_SCALE, &l->max_qty) == 0
             ? 0
             : -ERR_INTERNAL;
}

/* Whether statement @st with the one id @id finds a row: 1, 0 or a database error. */
static int exists(struct db_conn *c, const struct db_stmt *st, int64_t id)
{
  char ids[ISS_I64_TXT];
  i64_text(id, ids);
  const char *params[] = {ids};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, st, params, &r);
  PQclear(r);
  return qs < 0 ? issuance__qs_err(qs) : qs > 0;
}

int order_limit_set_in(struct db_conn *c, struct order_limit *l, struct money *prev)
{
  char ins[ISS_I64_TXT], aps[ISS_I64_TXT], win[ISS_I64_TXT], mx[MONEY_STR_MAX];
  struct money q, before = {0, ISSUANCE_QTY_SCALE};
  PGresult *r = NULL;
  if (c == NULL || l == NULL || l->ap < 0 || (l->kind != ORDER_MINT && l->kind != ORDER_REDEEM) ||
      l->window_seconds < ORDER_LIMIT_WINDOW_MIN || l->window_seconds > ORDER_LIMIT_WINDOW_MAX ||
      qty_text(l->max_qty, &q, mx) != 0)
    return -ERR_INVALID_ARGUMENT;
  int rc = l->instrument > 0 ? exists(c, &q_instrument, l->instrument) : 0;
  if (rc <= 0)
    return rc < 0 ? rc : -ERR_ORDER_INSTRUMENT;
  if (l->ap > 0 && (rc = exists(c, &q_is_ap, l->ap)) <= 0)
    return rc < 0 ? rc : -ERR_API_NOT_FOUND;
  i64_text(l->instrument, ins);
  i64_text(l->ap, aps);
  snprintf(win, sizeof win, "%d", (int)l->window_seconds);
  const char *pp[] = {ins, aps, order_kind_name(l->kind), win};
  enum db_qs qs = db_exec(c, &q_prev, pp, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs > 0) {
    rc = issuance__num_money(PQgetvalue(r, 0, 0), ISSUANCE_QTY_SCALE, &before);
    PQclear(r);
    if (rc != 0)
      return -ERR_INTERNAL;
  }
  const char *params[] = {ins, aps, order_kind_name(l->kind), win, mx};
  if ((qs = db_exec(c, &q_set, params, &r)) < 0)
    return issuance__qs_err(qs);
  if (qs == DB_QS_NONE)
    return -ERR_INTERNAL;
  rc = limit_row(r, 0, l);
  PQclear(r);
  if (rc == 0 && prev != NULL)
    *prev = before;
  return rc;
}

int issuance__page(struct db_conn *c, const struct db_stmt *st, const char *scope, int64_t after,
                   size_t max, issuance_row_fn fn, void *cls)
{
  char afters[ISS_I64_TXT], lim[ISS_I64_TXT];
  if (max == 0)
    return 0;
  i64_text(after, afters);
  snprintf(lim, sizeof lim, "%zu", max > (size_t)INT32_MAX ? (size_t)INT32_MAX : max);
  const char *params[] = {scope, afters, lim};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, st, params, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  int n = qs > 0 ? PQntuples(r) : 0, i = 0, rc = 0;
  for (; i < n && rc == 0; i++)
    rc = fn(cls, r, i);
  PQclear(r);
  return rc != 0 ? rc : i;
}

/* The caller's callback of order_limits_list(). */
struct limit_to {
  order_limit_fn fn;
  void *cls;
};

static int limit_to(void *cls, PGresult *r, int row)
{
  const struct limit_to *t = cls;
  struct order_limit l;
  int rc = limit_row(r, row, &l);
  return rc != 0 ? rc : t->fn(t->cls, &l);
}

int order_limits_list(struct db_conn *c, int64_t instrument, int64_t after, size_t max,
                      order_limit_fn fn, void *cls)
{
  char ins[ISS_I64_TXT];
  struct limit_to t = {fn, cls};
  if (c == NULL || fn == NULL || instrument < 0 || after < 0)
    return -ERR_INVALID_ARGUMENT;
  i64_text(instrument, ins);
  return issuance__page(c, &q_list, ins, after, max, limit_to, &t);
}

/* The caller's callback of books_accounts_list(). */
struct account_to {
  books_account_fn fn;
  void *cls;
};

static int account_to(void *cls, PGresult *r, int row)
{
  const struct account_to *t = cls;
  struct books_account a;
  memset(&a, 0, sizeof a);
  a.id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
  util_strlcpy(a.owner, PQgetvalue(r, row, 1), sizeof a.owner);
  util_strlcpy(a.asset, PQgetvalue(r, row, 2), sizeof a.asset);
  a.scale = (unsigned)strtoul(PQgetvalue(r, row, 3), NULL, 10);
  int rc = issuance__num_money(PQgetvalue(r, row, 4), a.scale, &a.balance);
  a.has_floor = !PQgetisnull(r, row, 5);
  if (rc == 0 && a.has_floor)
    rc = issuance__num_money(PQgetvalue(r, row, 5), a.scale, &a.floor);
  return rc != 0 ? rc : t->fn(t->cls, &a);
}

int books_accounts_list(struct db_conn *c, const char *owner, int64_t after, size_t max,
                        books_account_fn fn, void *cls)
{
  struct account_to t = {fn, cls};
  if (c == NULL || fn == NULL || after < 0)
    return -ERR_INVALID_ARGUMENT;
  if (owner != NULL && !books_owner_valid(owner))
    return -ERR_BOOKS_ACCOUNT;
  return issuance__page(c, &q_accounts, owner, after, max, account_to, &t);
}
