/*
 * The engine and the broker: placing broker orders when an order's
 * session is open, and moving orders on when their broker order reaches
 * a final state (or asking the broker to cancel one).
 *
 * Placing is write-ahead: the order moves to broker_submitted (its event
 * holds the broker order's terms) in one transaction, then
 * fix_broker_place() records the broker order in its own (the connector
 * sends it).  The broker order's id is the order's id and its terms are a
 * function of the order's row, so placing again after a crash between
 * the two is a no-op replay; an order found in broker_submitted or
 * cancel_requested without its broker order is placed again.  An order
 * can therefore never have a broker order while in a state where a
 * cancel would not reach the broker: a cancel after broker_submitted goes
 * through cancel_requested, and this step asks the broker to cancel every
 * cancel_requested order whose broker order is open.
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_engine_int.h"

/* ------------------------------------------------------------------ */
/* Placing                                                             */
/* ------------------------------------------------------------------ */

static const struct db_stmt q_placeable = {
    "engine_placeable",
    "SELECT o.id FROM orders o JOIN instruments i ON i.id = o.instrument WHERE"
    " ($2::boolean AND NOT o.cancel_requested AND o.session_date <= $3::date"
    " AND i.market_open <= $4 AND $4 < i.market_close"
    " AND ((o.kind = 'mint' AND o.state = 'cash_received')"
    " OR (o.kind = 'redeem' AND o.burn_policy = 'at_payout' AND o.state = 'tokens_received')"
    " OR (o.kind = 'redeem' AND o.burn_policy = 'on_receipt' AND o.state = 'burned'"
    " AND EXISTS (SELECT 1 FROM chain_intents ci WHERE ci.key = 'order-' || o.id || '-burn'"
    " AND ci.state = 'executed')))"
    " AND NOT order_paused(o.instrument, o.kind)"
    " AND corpact_window(o.instrument, clock_now()) IS NULL)"
    " OR (o.state IN ('broker_submitted', 'cancel_requested')"
    " AND NOT EXISTS (SELECT 1 FROM broker_orders b WHERE b.id = o.id))"
    " ORDER BY o.id LIMIT $1::integer",
    4};

/* The broker order of @o: a function of the order's row only. */
static void broker_req(const struct order *o, struct fix_broker_order_req *req)
{
  memset(req, 0, sizeof *req);
  req->id = (uint64_t)o->id;
  req->symbol = o->symbol;
  req->isin = o->isin;
  req->side = o->kind == ORDER_MINT ? FIX_BROKER_BUY : FIX_BROKER_SELL;
  req->qty = o->quantity;
  req->type = o->has_limit ? FIX_BROKER_LIMIT : FIX_BROKER_MARKET;
  req->price = o->limit_price;
  req->tif = FIX_BROKER_DAY;
  req->note = NULL;
}

struct place_job {
  int64_t id;
  bool open; /* the session is open now */
  struct order o;
  bool place; /* after the commit: fix_broker_place() */
  bool moved; /* the order moved to broker_submitted */
  int rc;
};

static enum db_qs place_body(struct db_conn *c, void *cls)
{
  struct place_job *j = cls;
  int rc;
  j->place = j->moved = false;
  if ((rc = order_get(c, j->id, true, &j->o)) != 0) {
    j->rc = rc;
    return order_qs(rc);
  }
  const struct order *o = &j->o;
  bool placeable =
      (o->kind == ORDER_MINT && o->state == ORDER_CASH_RECEIVED) ||
      (o->kind == ORDER_REDEEM && !o->burn_on_receipt && o->state == ORDER_TOKENS_RECEIVED) ||
      (o->kind == ORDER_REDEEM && o->burn_on_receipt && o->state == ORDER_BURNED);
  if (o->state == ORDER_BROKER_SUBMITTED || o->state == ORDER_CANCEL_REQUESTED) {
    j->place = true; /* placed before a crash or not: placing again replays */
    j->rc = 0;
    return DB_QS_NONE;
  }
  if (!placeable || !j->open || o->cancel_requested) {
    j->rc = 0;
    return DB_QS_NONE; /* moved meanwhile */
  }
  struct fix_broker_order_req req;
  struct engine_json d;
  char cl[32];
  broker_req(o, &req);
  snprintf(cl, sizeof cl, "BS%lld", (long long)o->id);
  engine__json_init(&d);
  engine__json_str(&d, "cl_ord_id", cl);
  engine__json_str(&d, "side", req.side == FIX_BROKER_BUY ? "buy" : "sell");
  engine__json_money(&d, "qty", req.qty);
  engine__json_str(&d, "type", req.type == FIX_BROKER_LIMIT ? "limit" : "market");
  if (req.type == FIX_BROKER_LIMIT)
    engine__json_money(&d, "limit_price", req.price);
  engine__json_str(&d, "tif", "day");
  rc = order_transition_in(c, o->id, o->state, ORDER_BROKER_SUBMITTED, ENGINE_ACTOR,
                           engine__json_end(&d));
  j->rc = rc;
  if (rc != 0)
    return order_qs(rc);
  j->place = j->moved = true;
  return DB_QS_NONE;
}

struct attention_job {
  int64_t id;
  const char *why;
  const char *detail;
  int rc;
};

static enum db_qs attention_body(struct db_conn *c, void *cls)
{
  struct attention_job *j = cls;
  struct order o;
  int rc = order_get(c, j->id, true, &o);
  if (rc == 0)
    rc = engine__attention_in(c, &o, j->why, j->detail);
  j->rc = rc;
  return rc != 0 ? order_qs(rc) : DB_QS_NONE;
}

/* Move order @id to requires_attention in a transaction of its own. */
static int attention(struct engine *e, int64_t id, const char *why)
{
  struct attention_job j = {.id = id, .why = why, .detail = NULL};
  int rc = db_txn(e->c, "engine_attention", attention_body, &j);
  return rc != 0 ? rc : j.rc;
}

int engine_place_step(struct engine *e, struct engine_stats *st)
{
  int64_t ids[10000];
  struct engine_now now;
  char lim[ISS_I64_TXT], day[CAL_DATE_STR], hm[16];
  int rc = engine__now(e->c, &now);
  if (rc != 0)
    return rc;
  bool open = cal_is_business_day(e->cal, now.ny_day);
  snprintf(lim, sizeof lim, "%u", e->cfg.batch);
  cal_format_date(now.ny_day, day);
  snprintf(hm, sizeof hm, "%02d:%02d", (now.ny_minute / 60) % 24, now.ny_minute % 60);
  const char *p[] = {lim, open ? "true" : "false", day, hm};
  int n = engine__ids(e->c, &q_placeable, p, ids, e->cfg.batch);
  if (n < 0)
    return n;
  int done = 0;
  for (int i = 0; i < n; i++) {
    struct place_job j = {.id = ids[i], .open = open};
    rc = db_txn(e->c, "engine_place", place_body, &j);
    if (rc != 0 || j.rc != 0) {
      log_msg(LOGL_WARN, ENGINE_COMP, "order %lld: placing: %s", (long long)ids[i],
              err_text(rc != 0 ? rc : j.rc));
      ENGINE_COUNT(st, errors);
      continue;
    }
    if (!j.place)
      continue;
    struct fix_broker_order_req req;
    broker_req(&j.o, &req);
    rc = fix_broker_place(e->c, &req);
    if (rc == 0) {
      log_msg(LOGL_INFO, ENGINE_COMP, "order %lld: broker order BS%lld placed", (long long)j.o.id,
              (long long)j.o.id);
      ENGINE_COUNT(st, placed);
      done++;
    } else if (rc == -ERR_FIX_ORDER_CONFLICT || rc == -ERR_INVALID_ARGUMENT) {
      /* The id is taken by another broker order (a manual one), or the terms do not fit FIX. */
      rc = attention(e, j.o.id,
                     rc == -ERR_FIX_ORDER_CONFLICT
                         ? "broker order id taken by another broker order with other terms"
                         : "the order's terms are not a valid broker order");
      if (rc == 0) {
        ENGINE_COUNT(st, attention);
        done++;
      }
    } else {
      log_msg(LOGL_WARN, ENGINE_COMP, "order %lld: fix_broker_place: %s (placed on a later pass)",
              (long long)j.o.id, err_text(rc));
      ENGINE_COUNT(st, errors);
    }
  }
  return done;
}

/* ------------------------------------------------------------------ */
/* Final states of broker orders, and cancels                          */
/* ------------------------------------------------------------------ */

static const struct db_stmt q_finals = {
    "engine_broker_finals",
    "SELECT o.id FROM orders o JOIN broker_orders b ON b.id = o.id"
    " WHERE o.state IN ('broker_submitted', 'partially_filled', 'cancel_requested')"
    " AND b.state IN ('filled', 'canceled', 'rejected', 'expired')"
    " AND NOT EXISTS (SELECT 1 FROM broker_executions x WHERE x.order_id = o.id"
    " AND x.cursor > (SELECT position FROM engine_cursors WHERE name = 'broker_executions'))"
    " ORDER BY o.id LIMIT $1::integer",
    1};

static const struct db_stmt q_to_cancel = {
    "engine_broker_to_cancel",
    "SELECT o.id FROM orders o JOIN broker_orders b ON b.id = o.id"
    " WHERE o.state = 'cancel_requested' AND b.cancel_state = 'none'"
    " AND b.state NOT IN ('filled', 'canceled', 'rejected', 'expired')"
    " ORDER BY o.id LIMIT $1::integer",
    1};

struct final_job {
  struct engine *e;
  int64_t id;
  struct engine_stats st;
  bool moved;
  int rc;
};

static enum db_qs final_body(struct db_conn *c, void *cls)
{
  struct final_job *j = cls;
  struct order o;
  struct fix_broker_order b;
  struct engine_json d;
  int rc;
  j->moved = false;
  memset(&j->st, 0, sizeof j->st);
  if ((rc = order_get(c, j->id, true, &o)) != 0) {
    j->rc = rc;
    return order_qs(rc);
  }
  if (o.state != ORDER_BROKER_SUBMITTED && o.state != ORDER_PARTIALLY_FILLED &&
      o.state != ORDER_CANCEL_REQUESTED) {
    j->rc = 0;
    return DB_QS_NONE;
  }
  if ((rc = fix_broker_get(c, (uint64_t)o.id, &b)) != 0) {
    j->rc = rc;
    return rc == -ERR_DB_HARD ? DB_QS_HARD : DB_QS_NONE;
  }
  if (!fix_broker_state_final(b.state)) {
    j->rc = 0;
    return DB_QS_NONE;
  }
  engine__json_init(&d);
  engine__json_str(&d, "broker_state", fix_broker_state_name(b.state));
  engine__json_money(&d, "broker_cum_qty", b.cum_qty);
  if (b.last_text[0] != '\0')
    engine__json_str(&d, "broker_text", b.last_text);
  if (money_cmp(b.cum_qty, o.filled_qty) != 0) {
    char why[200], a[MONEY_STR_MAX], f[MONEY_STR_MAX];
    engine__fmt(b.cum_qty, a);
    engine__fmt(o.filled_qty, f);
    snprintf(why, sizeof why, "the broker reports %s filled, the executions booked %s", a, f);
    rc = engine__attention_in(c, &o, why, engine__json_end(&d));
    if (rc == 0)
      ENGINE_COUNT(&j->st, attention);
  } else if (o.filled_qty.v > 0) {
    rc = engine__filled_in(j->e, &o, &d);
    if (rc == -ERR_BOOKS_INSUFFICIENT) /* refused before anything was written */
      rc = engine__attention_in(c, &o, "the fee exceeds the AP's cash under the order",
                                engine__json_end(&d));
  } else {
    enum order_state to = o.state == ORDER_CANCEL_REQUESTED || o.cancel_requested
                              ? ORDER_CANCELLED
                              : ORDER_BROKER_REJECTED;
    struct money zero;
    money_make(0, ISSUANCE_TOKEN_SCALE, &zero);
    rc = engine__giveback_in(j->e, &o, zero, &d);
    if (rc == 0)
      rc = order_transition_in(c, o.id, o.state, to, ENGINE_ACTOR, engine__json_end(&d));
  }
  j->rc = rc;
  if (rc != 0)
    return order_qs(rc) == DB_QS_NONE ? DB_QS_HARD : order_qs(rc);
  j->moved = true;
  ENGINE_COUNT(&j->st, finals);
  return DB_QS_NONE;
}

int engine_broker_step(struct engine *e, struct engine_stats *st)
{
  int64_t ids[10000];
  char lim[ISS_I64_TXT];
  snprintf(lim, sizeof lim, "%u", e->cfg.batch);
  const char *p[] = {lim};
  int n = engine__ids(e->c, &q_finals, p, ids, e->cfg.batch), done = 0;
  if (n < 0)
    return n;
  for (int i = 0; i < n; i++) {
    struct final_job j = {.e = e, .id = ids[i]};
    int rc = db_txn(e->c, "engine_broker_final", final_body, &j);
    if (rc != 0 || j.rc != 0) {
      log_msg(LOGL_WARN, ENGINE_COMP, "order %lld: broker order final: %s", (long long)ids[i],
              err_text(rc != 0 ? rc : j.rc));
      ENGINE_COUNT(st, errors);
    } else if (j.moved) {
      engine__stats_add(st, &j.st);
      done++;
    }
  }
  if ((n = engine__ids(e->c, &q_to_cancel, p, ids, e->cfg.batch)) < 0)
    return n;
  for (int i = 0; i < n; i++) {
    int rc = fix_broker_cancel(e->c, (uint64_t)ids[i]);
    if (rc == 0) {
      log_msg(LOGL_INFO, ENGINE_COMP, "order %lld: broker cancel asked", (long long)ids[i]);
      ENGINE_COUNT(st, cancels);
      done++;
    } else if (rc != -ERR_FIX_ORDER_FINAL) {
      log_msg(LOGL_WARN, ENGINE_COMP, "order %lld: fix_broker_cancel: %s", (long long)ids[i],
              err_text(rc));
      ENGINE_COUNT(st, errors);
    }
  }
  return done;
}
