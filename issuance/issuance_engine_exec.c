/*
 * The engine's reader of broker_executions: every execution after the
 * cursor engine_cursors('broker_executions'), in cursor order (the
 * connector commits them in that order), each in one transaction that
 * also moves the cursor -- so an execution is booked exactly once, by
 * whichever engine gets there first (the cursor row is locked, a second
 * engine finds it moved and passes over).
 *
 *   F  a fill: the order's filled_qty and fill_cash, the fill's posting
 *      (key "order-<id>-fill-<ExecID>"), its settlement item (settle_date
 *      = trade date + the instrument's lag in NYSE business days), and
 *      the event: partially_filled, filled (fee charged), or an event in
 *      cancel_requested.
 *   H  a bust of an earlier fill: its item (pending) is cancelled and its
 *      posting reversed ("order-<id>-bust-<ExecRefID>"), the figures
 *      reduced, and the order goes to requires_attention (an operator
 *      decides what becomes of the rest).  A bust after the item was
 *      confirmed is not reversed: attention only.
 *   G  a correction: the item's quantity, price and cash and the order's
 *      figures (and its fee, once charged) are corrected with a balancing
 *      posting ("order-<id>-correct-<ExecID>").
 *
 * Executions of broker orders that are not ours (no order of that id, or
 * an order that never reached broker_submitted: a manual `backstock order
 * place`) move the cursor and nothing else.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_engine_int.h"

/* One execution as read, copied out of fix_broker_executions(). */
struct exec_row {
  int64_t cursor;
  int64_t order_id;
  char exec_id[FIX_BROKER_ID_MAX];
  char ref_id[FIX_BROKER_ID_MAX];
  char type;
  struct money qty, px;
  int32_t trade_day, settl_day;
};

struct exec_list {
  struct exec_row *rows;
  size_t n, max;
};

static int collect(void *cls, const struct fix_broker_exec *x)
{
  struct exec_list *l = cls;
  if (l->n >= l->max)
    return 1;
  struct exec_row *r = &l->rows[l->n++];
  memset(r, 0, sizeof *r);
  r->cursor = x->cursor;
  r->order_id = (int64_t)x->order_id;
  util_strlcpy(r->exec_id, x->exec_id, sizeof r->exec_id);
  util_strlcpy(r->ref_id, x->exec_ref_id, sizeof r->ref_id);
  r->type = x->exec_type;
  r->qty = x->last_qty;
  r->px = x->last_px;
  r->trade_day = x->trade_day;
  r->settl_day = x->settl_day;
  return 0;
}

static const struct db_stmt q_cursor = {
    "engine_exec_cursor",
    "SELECT position FROM engine_cursors WHERE name = 'broker_executions' FOR UPDATE", 0};

static const struct db_stmt q_cursor_read = {
    "engine_exec_cursor_read",
    "SELECT position FROM engine_cursors WHERE name = 'broker_executions'", 0};

static const struct db_stmt q_cursor_move = {
    "engine_exec_cursor_move",
    "UPDATE engine_cursors SET position = $1::bigint WHERE name = 'broker_executions'", 1};

static const struct db_stmt q_reached_broker = {
    "engine_exec_reached_broker",
    "SELECT 1 FROM order_events WHERE order_id = $1::bigint AND to_state = 'broker_submitted'"
    " LIMIT 1",
    1};

static const struct db_stmt q_fill_figures = {
    "engine_exec_fill_figures",
    "UPDATE orders SET filled_qty = $2::numeric, fill_cash = $3::numeric, fee = $4::numeric"
    " WHERE id = $1::bigint",
    4};

static const struct db_stmt q_item_insert = {
    "engine_exec_item_insert",
    "INSERT INTO settlement_items (order_id, exec_id, side, isin, quantity, price, cash,"
    " trade_date, settle_date, broker_settle_date, next_try_at)"
    " VALUES ($1::bigint, $2, $3, $4, $5::numeric, $6::numeric, $7::numeric, $8::date, $9::date,"
    " $10::date, clock_now()) ON CONFLICT (exec_id) DO NOTHING",
    10};

static const struct db_stmt q_item_get = {
    "engine_exec_item_get",
    "SELECT id, state, quantity, price, cash FROM settlement_items WHERE exec_id = $1"
    " AND order_id = $2::bigint FOR UPDATE",
    2};

static const struct db_stmt q_item_cancel = {
    "engine_exec_item_cancel",
    "UPDATE settlement_items SET state = 'cancelled', last_error = $2 WHERE id = $1::bigint", 2};

static const struct db_stmt q_item_correct = {
    "engine_exec_item_correct",
    "UPDATE settlement_items SET quantity = $2::numeric, price = $3::numeric, cash = $4::numeric,"
    " last_error = $5 WHERE id = $1::bigint",
    5};

struct exec_job {
  struct engine *e;
  const struct exec_row *x;
  struct engine_stats st;
  bool consumed; /* the cursor moved past it in this transaction */
  int rc;
};

/*
 * Post @be (@n entries) for execution @id of @o under the key part
 * "<what>-<id>" (the id itself when it fits a key, else "c<cursor>").
 * Returns as engine__post().
 */
static int post(struct exec_job *j, const struct order *o, const char *id, const char *what,
                const struct books_entry *be, size_t n, const char *memo)
{
  char key[BOOKS_KEY_MAX];
  bool ok = id[0] != '\0' && strlen(id) <= 63;
  for (const char *p = id; ok && *p != '\0'; p++)
    ok = *p > ' ' && *p <= '~';
  if (ok)
    snprintf(key, sizeof key, "%s-%s", what, id);
  else
    snprintf(key, sizeof key, "%s-c%lld", what, (long long)j->x->cursor);
  return engine__post(j->e->c, o, key, be, n, memo);
}

/* Move @o to requires_attention (counted) with the text of @fmt and the detail @d. */
static int attention(struct exec_job *j, const struct order *o, struct engine_json *d,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int attention(struct exec_job *j, const struct order *o, struct engine_json *d,
                     const char *fmt, ...)
{
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  ENGINE_COUNT(&j->st, attention);
  return engine__attention_in(j->e->c, o, why, engine__json_end(d));
}

/* Fill entries of @o for @q shares and @c cash (signs as the fill; negate for a reversal). */
static size_t fill_entries(const struct order *o, const struct engine_names *nm, struct money q,
                           struct money c, struct books_entry *e)
{
  struct money nq = q, nc = c;
  nq.v = -nq.v;
  nc.v = -nc.v;
  if (o->kind == ORDER_MINT) {
    e[0] = (struct books_entry){nm->ap, "cash:USD", nc};
    e[1] = (struct books_entry){BOOKS_OWNER_BROKER, "cash:USD", c};
    e[2] = (struct books_entry){BOOKS_OWNER_BROKER, nm->in_transit, nq};
    e[3] = (struct books_entry){BOOKS_OWNER_ISSUER, nm->in_transit, q};
  } else {
    e[0] = (struct books_entry){BOOKS_OWNER_ISSUER, nm->in_transit, nq};
    e[1] = (struct books_entry){BOOKS_OWNER_BROKER, nm->in_transit, q};
    e[2] = (struct books_entry){BOOKS_OWNER_BROKER, "cash:USD", nc};
    e[3] = (struct books_entry){nm->ap, "cash:USD", c};
  }
  return 4;
}

/* Set @o's fill figures to @filled and @fcash and write them (and its fee). */
static int set_figures(struct db_conn *c, struct order *o, struct money filled, struct money fcash)
{
  char ids[ISS_I64_TXT], q[MONEY_STR_MAX], cash[MONEY_STR_MAX], fee[MONEY_STR_MAX];
  o->filled_qty = filled;
  o->fill_cash = fcash;
  snprintf(ids, sizeof ids, "%lld", (long long)o->id);
  engine__fmt(o->filled_qty, q);
  engine__fmt(o->fill_cash, cash);
  engine__fmt(o->fee, fee);
  const char *p[] = {ids, q, cash, fee};
  enum db_qs qs = db_exec(c, &q_fill_figures, p, NULL);
  return qs < 0 ? issuance__qs_err(qs) : 0;
}

/* The figures of an execution as SQL text: its quantity and price, and @cash. */
struct exec_txt {
  char q[MONEY_STR_MAX], px[MONEY_STR_MAX], cash[MONEY_STR_MAX];
};

static void exec_txt(const struct exec_row *x, struct money cash, struct exec_txt *t)
{
  engine__fmt(x->qty, t->q);
  engine__fmt(x->px, t->px);
  engine__fmt(cash, t->cash);
}

static void exec_detail(struct engine_json *d, const struct exec_row *x, struct money cash)
{
  engine__json_str(d, "exec_id", x->exec_id);
  engine__json_money(d, "qty", x->qty);
  engine__json_money(d, "price", x->px);
  engine__json_money(d, "cash", cash);
}

/* ------------------------------------------------------------------ */
/* F: a fill                                                           */
/* ------------------------------------------------------------------ */

static int on_fill(struct exec_job *j, struct order *o)
{
  struct engine *e = j->e;
  const struct exec_row *x = j->x;
  struct engine_names nm;
  struct engine_json d;
  struct books_entry be[4];
  struct money cash, filled, fcash;
  int rc;
  engine__names(o, &nm);
  engine__json_init(&d);
  if (money_mul(x->qty, x->px, ISSUANCE_CASH_SCALE, MONEY_ROUND_HALF_EVEN, &cash) != 0 ||
      money_add(o->filled_qty, x->qty, &filled) != 0 || money_add(o->fill_cash, cash, &fcash) != 0)
    return -ERR_MONEY_OVERFLOW;
  exec_detail(&d, x, cash);
  if (o->state != ORDER_BROKER_SUBMITTED && o->state != ORDER_PARTIALLY_FILLED &&
      o->state != ORDER_CANCEL_REQUESTED)
    return attention(j, o, &d, "a fill (%s) arrived in state %s: not booked", x->exec_id,
                     order_state_name(o->state));
  if (x->qty.v <= 0 || x->px.v <= 0 || money_cmp(filled, o->quantity) > 0)
    return attention(j, o, &d,
                     "a fill (%s) beyond the order's quantity or not positive: not booked",
                     x->exec_id);
  /* Dates: the broker's trade date (else the clock's), plus the lag on the NYSE calendar. */
  int32_t trade = x->trade_day, settle;
  if (trade == INT32_MIN) {
    struct engine_now now;
    if ((rc = engine__now(e->c, &now)) != 0)
      return rc;
    trade = now.ny_day;
  }
  if (cal_add_business_days(e->cal, trade, o->settlement_lag_days, &settle) != 0)
    return -ERR_CAL_DATE_RANGE;
  engine__json_day(&d, "trade_date", trade);
  engine__json_day(&d, "settle_date", settle);
  if (x->settl_day != INT32_MIN) {
    engine__json_day(&d, "broker_settle_date", x->settl_day);
    if (x->settl_day != settle)
      engine__json_str(&d, "note", "the broker's settlement date differs from the calendar's");
  }
  size_t n = fill_entries(o, &nm, x->qty, cash, be);
  rc = post(j, o, x->exec_id, "fill", be, n, "fill");
  if (rc == -ERR_BOOKS_INSUFFICIENT) /* refused before anything was written */
    return attention(j, o, &d,
                     "fill %s: its cash exceeds the AP's cash under the order: not booked",
                     x->exec_id);
  if (rc != 0 || (rc = set_figures(e->c, o, filled, fcash)) != 0)
    return rc;
  char oid[ISS_I64_TXT], td[CAL_DATE_STR], sd[CAL_DATE_STR], bd[CAL_DATE_STR];
  struct exec_txt t;
  snprintf(oid, sizeof oid, "%lld", (long long)o->id);
  exec_txt(x, cash, &t);
  cal_format_date(trade, td);
  cal_format_date(settle, sd);
  if (x->settl_day != INT32_MIN)
    cal_format_date(x->settl_day, bd);
  const char *ip[] = {
      oid, x->exec_id, o->kind == ORDER_MINT ? "buy" : "sell", o->isin, t.q, t.px, t.cash,
      td,  sd,         x->settl_day != INT32_MIN ? bd : NULL};
  enum db_qs qs = db_exec(e->c, &q_item_insert, ip, NULL);
  if (qs < 0)
    return issuance__qs_err(qs);
  ENGINE_COUNT(&j->st, fills);
  if (o->state == ORDER_CANCEL_REQUESTED)
    return order_event_in(e->c, o->id, o->state, ENGINE_ACTOR, engine__json_end(&d));
  if (money_cmp(filled, o->quantity) == 0)
    return engine__filled_in(e, o, &d);
  if (o->state == ORDER_PARTIALLY_FILLED)
    return order_event_in(e->c, o->id, o->state, ENGINE_ACTOR, engine__json_end(&d));
  return order_transition_in(e->c, o->id, o->state, ORDER_PARTIALLY_FILLED, ENGINE_ACTOR,
                             engine__json_end(&d));
}

/* ------------------------------------------------------------------ */
/* H and G: a bust and a correction                                    */
/* ------------------------------------------------------------------ */

struct item {
  int64_t id;
  char state[16];
  struct money qty, px, cash;
};

/* The settlement item of execution @exec_id of @o, locked.  1 found, 0 none, or an error. */
static int item_get(struct db_conn *c, const struct order *o, const char *exec_id, struct item *it)
{
  char oid[ISS_I64_TXT];
  PGresult *r = NULL;
  snprintf(oid, sizeof oid, "%lld", (long long)o->id);
  const char *p[] = {exec_id, oid};
  enum db_qs qs = db_exec(c, &q_item_get, p, &r);
  if (qs <= 0)
    return qs == DB_QS_NONE ? 0 : issuance__qs_err(qs);
  it->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  util_strlcpy(it->state, PQgetvalue(r, 0, 1), sizeof it->state);
  int bad = issuance__num_money(PQgetvalue(r, 0, 2), ISSUANCE_QTY_SCALE, &it->qty) |
            issuance__num_money(PQgetvalue(r, 0, 3), FIX_BROKER_PX_SCALE, &it->px) |
            issuance__num_money(PQgetvalue(r, 0, 4), ISSUANCE_CASH_SCALE, &it->cash);
  PQclear(r);
  return bad != 0 ? -ERR_INTERNAL : 1;
}

/* Update item @it by @st, whose $1 is the item's id and @p the parameters after it. */
static int item_update(struct db_conn *c, const struct db_stmt *st, const struct item *it,
                       const char *const *p, int n)
{
  char iid[ISS_I64_TXT];
  const char *all[5];
  snprintf(iid, sizeof iid, "%lld", (long long)it->id);
  all[0] = iid;
  for (int i = 0; i < n; i++)
    all[i + 1] = p[i];
  enum db_qs qs = db_exec(c, st, all, NULL);
  return qs < 0 ? issuance__qs_err(qs) : 0;
}

static int on_bust(struct exec_job *j, struct order *o)
{
  struct engine *e = j->e;
  const struct exec_row *x = j->x;
  struct engine_names nm;
  struct engine_json d;
  struct books_entry be[4];
  struct item it;
  struct money filled, fcash;
  char note[128];
  engine__names(o, &nm);
  engine__json_init(&d);
  engine__json_str(&d, "exec_id", x->exec_id);
  engine__json_str(&d, "busts", x->ref_id);
  engine__json_money(&d, "qty", x->qty);
  int rc = item_get(e->c, o, x->ref_id, &it);
  if (rc < 0)
    return rc;
  ENGINE_COUNT(&j->st, busts);
  if (rc == 0 || strcmp(it.state, "pending") != 0 || money_cmp(it.qty, x->qty) != 0)
    return attention(j, o, &d, "the broker busted fill %s (%s): not reversed, settle by hand",
                     x->ref_id,
                     rc == 0                            ? "never booked"
                     : strcmp(it.state, "pending") != 0 ? "its settlement is no longer pending"
                                                        : "another quantity than the fill's");
  struct money nq = it.qty, nc = it.cash;
  nq.v = -nq.v;
  nc.v = -nc.v;
  size_t n = fill_entries(o, &nm, nq, nc, be);
  rc = post(j, o, x->ref_id, "bust", be, n, "fill busted by the broker");
  if (rc == -ERR_BOOKS_INSUFFICIENT)
    return attention(j, o, &d,
                     "the broker busted fill %s: the AP's cash no longer covers the reversal, not "
                     "reversed",
                     x->ref_id);
  if (rc != 0)
    return rc;
  if (money_sub(o->filled_qty, it.qty, &filled) != 0 ||
      money_sub(o->fill_cash, it.cash, &fcash) != 0)
    return -ERR_MONEY_OVERFLOW;
  if ((rc = set_figures(e->c, o, filled, fcash)) != 0)
    return rc;
  snprintf(note, sizeof note, "busted by %s", x->exec_id);
  const char *p[] = {note};
  if ((rc = item_update(e->c, &q_item_cancel, &it, p, 1)) != 0)
    return rc;
  engine__json_str(&d, "reversed", "true");
  return attention(j, o, &d,
                   "the broker busted fill %s: reversed (item cancelled); the order's rest needs a "
                   "decision",
                   x->ref_id);
}

static int on_correct(struct exec_job *j, struct order *o)
{
  struct engine *e = j->e;
  const struct exec_row *x = j->x;
  struct engine_names nm;
  struct engine_json d;
  struct books_entry be[6];
  struct item it;
  struct money cash, dq, dc, filled, fcash, fee, dfee, nfee;
  engine__names(o, &nm);
  engine__json_init(&d);
  engine__json_str(&d, "exec_id", x->exec_id);
  engine__json_str(&d, "corrects", x->ref_id);
  int rc = item_get(e->c, o, x->ref_id, &it);
  if (rc < 0)
    return rc;
  ENGINE_COUNT(&j->st, corrections);
  if (money_mul(x->qty, x->px, ISSUANCE_CASH_SCALE, MONEY_ROUND_HALF_EVEN, &cash) != 0 ||
      money_sub(x->qty, it.qty, &dq) != 0 || money_sub(cash, it.cash, &dc) != 0 ||
      money_add(o->filled_qty, dq, &filled) != 0 || money_add(o->fill_cash, dc, &fcash) != 0)
    return -ERR_MONEY_OVERFLOW;
  engine__json_money(&d, "qty", x->qty);
  engine__json_money(&d, "price", x->px);
  engine__json_money(&d, "cash", cash);
  engine__json_money(&d, "was_qty", it.qty);
  engine__json_money(&d, "was_price", it.px);
  engine__json_money(&d, "was_cash", it.cash);
  if (rc == 0 || strcmp(it.state, "pending") != 0 || x->qty.v <= 0 || x->px.v <= 0 ||
      filled.v < 0 || money_cmp(filled, o->quantity) > 0)
    return attention(
        j, o, &d, "the broker corrected fill %s (%s): not applied, correct by hand", x->ref_id,
        rc == 0                            ? "never booked"
        : strcmp(it.state, "pending") != 0 ? "its settlement is no longer pending"
                                           : "the corrected figures do not fit the order");
  /* The fee follows the corrected cash once it was charged. */
  dfee.v = 0;
  dfee.scale = ISSUANCE_CASH_SCALE;
  nfee = o->fee;
  if (o->fee.v != 0) {
    if ((rc = engine__fee(o, fcash, &fee)) != 0 || money_sub(fee, o->fee, &dfee) != 0)
      return rc != 0 ? rc : -ERR_MONEY_OVERFLOW;
    nfee = fee;
  }
  size_t n = fill_entries(o, &nm, dq, dc, be);
  struct money nf = dfee;
  nf.v = -nf.v;
  be[n++] = (struct books_entry){nm.ap, "cash:USD", nf};
  be[n++] = (struct books_entry){BOOKS_OWNER_FEES, "cash:USD", dfee};
  rc = post(j, o, x->exec_id, "correct", be, n, "fill corrected by the broker");
  if (rc == -ERR_BOOKS_INSUFFICIENT)
    return attention(j, o, &d,
                     "the broker corrected fill %s: the AP's cash does not cover it, not applied",
                     x->ref_id);
  if (rc != 0)
    return rc;
  o->fee = nfee;
  if ((rc = set_figures(e->c, o, filled, fcash)) != 0)
    return rc;
  struct exec_txt t;
  char note[128];
  exec_txt(x, cash, &t);
  snprintf(note, sizeof note, "corrected by %s", x->exec_id);
  const char *p[] = {t.q, t.px, t.cash, note};
  if ((rc = item_update(e->c, &q_item_correct, &it, p, 4)) != 0)
    return rc;
  if (o->fee.v != 0)
    engine__json_money(&d, "fee", o->fee);
  return order_event_in(e->c, o->id, o->state, ENGINE_ACTOR, engine__json_end(&d));
}

/* ------------------------------------------------------------------ */
/* The step                                                            */
/* ------------------------------------------------------------------ */

/*
 * Lock the cursor: 1 when @x lies beyond it (to book now), DB_QS_NONE
 * when another engine booked it already, or an error.
 */
static enum db_qs cursor_ahead(struct db_conn *c, const struct exec_row *x)
{
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_cursor, NULL, &r);
  if (qs <= 0)
    return qs == DB_QS_NONE ? DB_QS_HARD : qs;
  int64_t pos = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return pos >= x->cursor ? DB_QS_NONE : 1;
}

/* Move the cursor (locked by cursor_ahead()) to @x; then *@consumed. */
static enum db_qs cursor_past(struct db_conn *c, const struct exec_row *x, bool *consumed)
{
  char cur[ISS_I64_TXT];
  snprintf(cur, sizeof cur, "%lld", (long long)x->cursor);
  const char *p[] = {cur};
  enum db_qs qs = db_exec(c, &q_cursor_move, p, NULL);
  if (qs >= 0)
    *consumed = true;
  return qs;
}

static enum db_qs exec_body(struct db_conn *c, void *cls)
{
  struct exec_job *j = cls;
  const struct exec_row *x = j->x;
  char oid[ISS_I64_TXT];
  struct order o;
  int rc = 0;
  j->consumed = false;
  j->rc = 0;
  memset(&j->st, 0, sizeof j->st);
  enum db_qs qs = cursor_ahead(c, x);
  if (qs <= 0)
    return qs;
  rc = order_get(c, x->order_id, true, &o);
  if (rc == 0) {
    snprintf(oid, sizeof oid, "%lld", (long long)o.id);
    const char *p[] = {oid};
    qs = db_exec(c, &q_reached_broker, p, NULL);
    if (qs < 0)
      return qs;
    if (qs == DB_QS_NONE)
      rc = -ERR_ORDER_NOT_FOUND; /* a broker order of that id that is not this order's */
  }
  if (rc == 0) {
    if (x->type == 'F')
      rc = on_fill(j, &o);
    else if (x->type == 'H')
      rc = on_bust(j, &o);
    else if (x->type == 'G')
      rc = on_correct(j, &o);
    if (rc != 0) {
      j->rc = rc;
      enum db_qs q = order_qs(rc);
      return q == DB_QS_NONE ? DB_QS_HARD : q; /* roll back whatever was written */
    }
  } else if (rc != -ERR_ORDER_NOT_FOUND) {
    j->rc = rc;
    return order_qs(rc);
  }
  if ((qs = cursor_past(c, x, &j->consumed)) < 0)
    return qs;
  ENGINE_COUNT(&j->st, executions);
  return DB_QS_NONE;
}

/* An error of ours (not the database's): the execution cannot be booked as it is. */
static bool logical(int rc)
{
  return rc != 0 && rc != -ERR_DB_CONFLICT && rc != -ERR_DB_HARD && rc != -ERR_DB_CONNECT &&
         rc != -ERR_DB_COMMIT_UNKNOWN && rc != -ERR_NOMEM;
}

struct poison_job {
  const struct exec_row *x;
  int why;
  bool consumed;
};

/*
 * An execution that cannot be booked (figures out of range, a date off
 * the calendar): its order goes to requires_attention and the cursor
 * moves past it, so the executions after it are not held up forever.
 */
static enum db_qs poison_body(struct db_conn *c, void *cls)
{
  struct poison_job *j = cls;
  struct order o;
  char why[256];
  j->consumed = false;
  enum db_qs qs = cursor_ahead(c, j->x);
  if (qs <= 0)
    return qs;
  int rc = order_get(c, j->x->order_id, true, &o);
  if (rc == 0) {
    struct engine_json d;
    engine__json_init(&d);
    engine__json_str(&d, "exec_id", j->x->exec_id);
    snprintf(why, sizeof why, "execution %s could not be booked: %s", j->x->exec_id,
             err_text(j->why));
    rc = engine__attention_in(c, &o, why, engine__json_end(&d));
  }
  if (rc != 0 && rc != -ERR_ORDER_NOT_FOUND)
    return order_qs(rc) == DB_QS_NONE ? DB_QS_HARD : order_qs(rc);
  qs = cursor_past(c, j->x, &j->consumed);
  return qs < 0 ? qs : DB_QS_NONE;
}

int engine_exec_step(struct engine *e, struct engine_stats *st)
{
  PGresult *r = NULL;
  if (db_ensure(e->c) != 0)
    return -ERR_DB_CONNECT;
  enum db_qs qs = db_exec(e->c, &q_cursor_read, NULL, &r);
  if (qs <= 0)
    return qs == DB_QS_NONE ? -ERR_INTERNAL : issuance__qs_err(qs);
  int64_t after = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  struct exec_list l = {.rows = calloc(e->cfg.batch, sizeof(struct exec_row)), .max = e->cfg.batch};
  if (l.rows == NULL)
    return -ERR_NOMEM;
  int rc = fix_broker_executions(e->c, after, 0, e->cfg.batch, collect, &l);
  int done = 0;
  for (size_t i = 0; rc >= 0 && i < l.n; i++) {
    struct exec_job j = {.e = e, .x = &l.rows[i]};
    int trc = db_txn(e->c, "engine_exec", exec_body, &j);
    if (logical(j.rc)) {
      struct poison_job pj = {.x = &l.rows[i], .why = j.rc};
      log_msg(LOGL_ERROR, ENGINE_COMP, "execution %lld (%s, order %lld) cannot be booked: %s",
              (long long)l.rows[i].cursor, l.rows[i].exec_id, (long long)l.rows[i].order_id,
              err_text(j.rc));
      trc = db_txn(e->c, "engine_exec_poison", poison_body, &pj);
      j.rc = 0;
      if (trc == 0 && pj.consumed) {
        ENGINE_COUNT(st, executions);
        ENGINE_COUNT(st, attention);
        done++;
        continue;
      }
    }
    if (trc != 0 || j.rc != 0) {
      /* In cursor order: nothing after it may be booked before it. */
      log_msg(LOGL_WARN, ENGINE_COMP, "execution %lld (%s, order %lld): %s",
              (long long)l.rows[i].cursor, l.rows[i].exec_id, (long long)l.rows[i].order_id,
              err_text(trc != 0 ? trc : j.rc));
      ENGINE_COUNT(st, errors);
      rc = trc != 0 ? trc : j.rc;
      break;
    }
    if (j.consumed) {
      engine__stats_add(st, &j.st);
      done++;
    }
  }
  free(l.rows);
  return rc < 0 ? rc : done;
}
