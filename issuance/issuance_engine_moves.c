/*
 * Moves of an order that several steps make, each inside the caller's
 * transaction with the order's row locked (order_get(lock)): into
 * requires_attention, into filled (the fee, unsold redeem tokens given
 * back, on to settling), on from a fully confirmed settlement, to
 * payout_submitted and to completed; and the completion step itself
 * (expiry, settled orders moved on, at_payout redeems paid out after
 * their burn).  docs/engine.md, "Moves".
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_engine_int.h"

static const struct db_stmt q_attention = {
    "engine_set_attention", "UPDATE orders SET attention = left($2, 255) WHERE id = $1::bigint", 2};

static const struct db_stmt q_set_fee = {
    "engine_set_fee", "UPDATE orders SET fee = $2::numeric WHERE id = $1::bigint", 2};

static const struct db_stmt q_set_tokens_done = {
    "engine_set_tokens_done", "UPDATE orders SET tokens_done = $2::numeric WHERE id = $1::bigint",
    2};

static int exec_id_money(struct db_conn *c, const struct db_stmt *st, int64_t id, struct money m)
{
  char ids[ISS_I64_TXT], v[MONEY_STR_MAX];
  snprintf(ids, sizeof ids, "%lld", (long long)id);
  engine__fmt(m, v);
  const char *p[] = {ids, v};
  enum db_qs qs = db_exec(c, st, p, NULL);
  return qs < 0 ? issuance__qs_err(qs) : 0;
}

int engine__attention_in(struct db_conn *c, const struct order *o, const char *why,
                         const char *detail)
{
  struct engine_json j;
  char ids[ISS_I64_TXT];
  /* detail is an object "{...}": add the attention field to it. */
  engine__json_init(&j);
  if (detail != NULL && strlen(detail) > 2 && strlen(detail) < ENGINE_DETAIL_MAX - 300) {
    memcpy(j.s, detail, strlen(detail) - 1); /* without the closing brace */
    j.n = strlen(detail) - 1;
    j.s[j.n] = '\0';
  }
  engine__json_str(&j, "attention", why);
  snprintf(ids, sizeof ids, "%lld", (long long)o->id);
  const char *p[] = {ids, why};
  enum db_qs qs = db_exec(c, &q_attention, p, NULL);
  if (qs < 0)
    return issuance__qs_err(qs);
  log_msg(LOGL_WARN, ENGINE_COMP, "order %lld requires attention: %s", (long long)o->id, why);
  if (o->state == ORDER_REQUIRES_ATTENTION)
    return order_event_in(c, o->id, o->state, ENGINE_ACTOR, engine__json_end(&j));
  return order_transition_in(c, o->id, o->state, ORDER_REQUIRES_ATTENTION, ENGINE_ACTOR,
                             engine__json_end(&j));
}

/* ------------------------------------------------------------------ */
/* Into filled                                                         */
/* ------------------------------------------------------------------ */

static enum order_state after_filled(const struct order *o)
{
  return o->kind == ORDER_MINT && o->mint_at_fill ? ORDER_FILLED : ORDER_SETTLING;
}

int engine__filled_in(struct engine *e, struct order *o, struct engine_json *extra)
{
  struct engine_names nm;
  struct money fee, neg;
  int rc;
  engine__names(o, &nm);
  if ((rc = engine__fee(o, o->fill_cash, &fee)) != 0)
    return rc;
  if (o->fee.v != 0) /* charged before (the order was filled once already): no second fee */
    fee.v = 0;
  neg = fee;
  neg.v = -neg.v;
  struct books_entry fe[] = {{nm.ap, "cash:USD", neg}, {BOOKS_OWNER_FEES, "cash:USD", fee}};
  if (fee.v != 0) {
    if ((rc = engine__post(e->c, o, "fee", fe, 2, "fee on the fills")) != 0)
      return rc;
    if (money_add(o->fee, fee, &o->fee) != 0)
      return -ERR_MONEY_OVERFLOW;
    if ((rc = exec_id_money(e->c, &q_set_fee, o->id, o->fee)) != 0)
      return rc;
  }
  engine__json_money(extra, "filled_qty", o->filled_qty);
  engine__json_money(extra, "fill_cash", o->fill_cash);
  engine__json_money(extra, "fee", o->fee);
  if (o->kind == ORDER_REDEEM) {
    struct money sold;
    if ((rc = engine__tokens_for(o, o->filled_qty, &sold)) != 0 ||
        (rc = engine__giveback_in(e, o, sold, extra)) != 0)
      return rc;
  }
  if ((rc = order_transition_in(e->c, o->id, o->state, ORDER_FILLED, ENGINE_ACTOR,
                                engine__json_end(extra))) != 0)
    return rc;
  o->state = ORDER_FILLED;
  if (after_filled(o) == ORDER_SETTLING) {
    if ((rc = order_transition_in(e->c, o->id, ORDER_FILLED, ORDER_SETTLING, ENGINE_ACTOR, NULL)) !=
        0)
      return rc;
    o->state = ORDER_SETTLING;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Giving unsold redeem tokens back                                    */
/* ------------------------------------------------------------------ */

int engine__giveback_in(struct engine *e, struct order *o, struct money sold, struct engine_json *j)
{
  struct engine_names nm;
  struct money back, neg;
  char key[CHAIN_KEY_MAX];
  int rc, err = 0;
  if (o->kind != ORDER_REDEEM || money_sub(o->token_amount, sold, &back) != 0)
    return o->kind != ORDER_REDEEM ? 0 : -ERR_MONEY_OVERFLOW;
  if (back.v <= 0)
    return 0;
  engine__names(o, &nm);
  neg = back;
  neg.v = -neg.v;
  /* Burned already (on_receipt, in burned before the broker): re-mint; else transfer back. */
  bool burned = o->burn_on_receipt;
  struct chain_intent_req req = {.amount = back, .token = o->token_symbol};
  if (burned) {
    engine__intent_key(o->id, "remint", key);
    req.op = CHAIN_OP_MINT;
    req.to = o->wallet;
  } else {
    engine__intent_key(o->id, "return", key);
    req.op = CHAIN_OP_TRANSFER;
    req.from = e->cfg.redemption_address;
    req.to = o->wallet;
  }
  req.key = key;
  enum db_qs qs = chain_intent_record_in(e->c, &req, NULL, &err);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (err != 0)
    return err;
  struct books_entry be[] = {{burned ? BOOKS_OWNER_CHAIN : BOOKS_OWNER_ISSUER, nm.tokens, neg},
                             {nm.ap, nm.tokens, back}};
  if ((rc = engine__post(e->c, o, burned ? "remint" : "return", be, 2,
                         "unsold tokens given back")) != 0)
    return rc;
  if (burned) {
    struct money done;
    if (money_sub(o->tokens_done, back, &done) != 0)
      return -ERR_MONEY_OVERFLOW;
    if (done.v < 0)
      done.v = 0;
    o->tokens_done = done;
    if ((rc = exec_id_money(e->c, &q_set_tokens_done, o->id, done)) != 0)
      return rc;
  }
  engine__json_money(j, "tokens_returned", back);
  engine__json_str(j, "return_intent", key);
  return 0;
}

/* ------------------------------------------------------------------ */
/* On from settlement, payout, completion                              */
/* ------------------------------------------------------------------ */

static const struct db_stmt q_items_open = {
    "engine_items_open",
    "SELECT count(*) FILTER (WHERE state <> 'confirmed'), count(*) FROM settlement_items"
    " WHERE order_id = $1::bigint AND state <> 'cancelled'",
    1};

int engine__payout_in(struct db_conn *c, struct order *o)
{
  struct money payout, due;
  struct engine_json j;
  if (money_sub(o->fill_cash, o->fee, &payout) != 0 || order_cash_due(o, &due) != 0)
    return -ERR_MONEY_OVERFLOW;
  engine__json_init(&j);
  engine__json_money(&j, "payout", payout);
  engine__json_money(&j, "cash_due", due);
  int rc = order_transition_in(c, o->id, o->state, ORDER_PAYOUT_SUBMITTED, ENGINE_ACTOR,
                               engine__json_end(&j));
  if (rc == 0)
    o->state = ORDER_PAYOUT_SUBMITTED;
  return rc;
}

int engine__complete_in(struct db_conn *c, struct order *o)
{
  struct money due;
  struct engine_json j;
  if (order_cash_due(o, &due) != 0)
    return -ERR_MONEY_OVERFLOW;
  engine__json_init(&j);
  engine__json_money(&j, "cash_due", due); /* residual: refundable through the admin payouts */
  engine__json_money(&j, "tokens_done", o->tokens_done);
  int rc =
      order_transition_in(c, o->id, o->state, ORDER_COMPLETED, ENGINE_ACTOR, engine__json_end(&j));
  if (rc == 0)
    o->state = ORDER_COMPLETED;
  return rc;
}

int engine__advance_in(struct engine *e, struct order *o, struct engine_stats *st)
{
  char ids[ISS_I64_TXT];
  PGresult *r = NULL;
  int rc;
  if (o->state != ORDER_SETTLING && o->state != ORDER_SETTLEMENT_FAILED)
    return 0;
  snprintf(ids, sizeof ids, "%lld", (long long)o->id);
  const char *p[] = {ids};
  enum db_qs qs = db_exec(e->c, &q_items_open, p, &r);
  if (qs <= 0)
    return qs == DB_QS_NONE ? -ERR_INTERNAL : issuance__qs_err(qs);
  long open = strtol(PQgetvalue(r, 0, 0), NULL, 10), all = strtol(PQgetvalue(r, 0, 1), NULL, 10);
  PQclear(r);
  if (open > 0 || all == 0)
    return 0;
  struct engine_json j;
  engine__json_init(&j);
  engine__json_money(&j, "settled_qty", o->settled_qty);
  engine__json_money(&j, "settled_cash", o->settled_cash);
  enum order_state to = o->kind == ORDER_MINT ? ORDER_SETTLED_AT_CUSTODIAN : ORDER_CASH_SETTLED;
  if ((rc = order_transition_in(e->c, o->id, o->state, to, ENGINE_ACTOR, engine__json_end(&j))) !=
      0)
    return rc;
  o->state = to;
  if (o->kind == ORDER_MINT && o->mint_at_fill) {
    if ((rc = engine__complete_in(e->c, o)) != 0)
      return rc;
    ENGINE_COUNT(st, completed);
  } else if (o->kind == ORDER_REDEEM && o->burn_on_receipt) {
    if ((rc = engine__payout_in(e->c, o)) != 0)
      return rc;
    ENGINE_COUNT(st, payouts);
  }
  return 1;
}

int engine__token_ready(struct engine *e, const struct order *o)
{
  struct chain_token t;
  char asset[BOOKS_ASSET_MAX];
  int rc = chain_token_get(e->l, o->token_symbol, &t);
  if (rc == -ERR_CHAIN_UNKNOWN_TOKEN) {
    memset(&t, 0, sizeof t);
    util_strlcpy(t.symbol, o->token_symbol, sizeof t.symbol);
    t.decimals = o->token_decimals;
    snprintf(t.name, sizeof t.name, "%s (backed by %s)", o->token_symbol, o->symbol);
    rc = chain_token_register(e->l, &t);
    if (rc == -ERR_API_CONFLICT) /* registered meanwhile under another name */
      rc = chain_token_get(e->l, o->token_symbol, &t);
  }
  if (rc != 0)
    return rc;
  if (t.decimals != o->token_decimals) {
    log_msg(LOGL_ERROR, ENGINE_COMP, "token %s has %u decimals on the ledger, the instrument %u",
            o->token_symbol, t.decimals, o->token_decimals);
    return -ERR_CHAIN_UNKNOWN_TOKEN;
  }
  snprintf(asset, sizeof asset, "tokens:%s", o->token_symbol);
  return books_asset_define(e->c, asset, o->token_decimals);
}

/* ------------------------------------------------------------------ */
/* The completion step                                                 */
/* ------------------------------------------------------------------ */

static const struct db_stmt q_due = {
    "engine_complete_due",
    "SELECT o.id FROM orders o WHERE"
    " (o.state = 'awaiting_cash' AND o.cash_deadline <= clock_now())"
    " OR (o.state IN ('settling', 'settlement_failed') AND NOT EXISTS (SELECT 1"
    " FROM settlement_items s WHERE s.order_id = o.id AND s.state NOT IN ('confirmed', "
    "'cancelled'))"
    " AND EXISTS (SELECT 1 FROM settlement_items s WHERE s.order_id = o.id AND s.state = "
    "'confirmed'))"
    " OR (o.state = 'burned' AND o.burn_policy = 'at_payout' AND EXISTS (SELECT 1 FROM "
    "chain_intents"
    " ci WHERE ci.key = 'order-' || o.id || '-burn' AND ci.state = 'executed'))"
    " ORDER BY o.id LIMIT $1::integer",
    1};

struct complete_job {
  struct engine *e;
  int64_t id;
  struct engine_stats st; /* of the attempt that committed */
  int done;               /* 1: moved */
  int rc;
};

static enum db_qs complete_body(struct db_conn *c, void *cls)
{
  struct complete_job *j = cls;
  struct order o;
  struct engine_now now;
  int rc;
  j->done = 0;
  j->rc = 0;
  memset(&j->st, 0, sizeof j->st);
  if ((rc = order_get(c, j->id, true, &o)) != 0 || (rc = engine__now(c, &now)) != 0) {
    j->rc = rc;
    return order_qs(rc);
  }
  if (o.state == ORDER_AWAITING_CASH && o.cash_deadline_ms != 0 && o.cash_deadline_ms <= now.ms) {
    struct engine_json d;
    engine__json_init(&d);
    engine__json_money(&d, "cash_funded", o.cash_funded);
    engine__json_money(&d, "cash_required", o.cash_required);
    rc = order_transition_in(c, o.id, o.state, ORDER_EXPIRED, ENGINE_ACTOR, engine__json_end(&d));
    if (rc == 0) {
      ENGINE_COUNT(&j->st, expired);
      j->done = 1;
    }
  } else if (o.state == ORDER_SETTLING || o.state == ORDER_SETTLEMENT_FAILED) {
    rc = engine__advance_in(j->e, &o, &j->st);
    if (rc > 0) {
      j->done = 1;
      rc = 0;
    }
  } else if (o.state == ORDER_BURNED && o.kind == ORDER_REDEEM && !o.burn_on_receipt) {
    rc = engine__payout_in(c, &o);
    if (rc == 0) {
      ENGINE_COUNT(&j->st, payouts);
      j->done = 1;
    }
  }
  j->rc = rc;
  return rc != 0 ? order_qs(rc) : DB_QS_NONE;
}

int engine_complete_step(struct engine *e, struct engine_stats *st)
{
  int64_t ids[10000];
  char lim[ISS_I64_TXT];
  snprintf(lim, sizeof lim, "%u", e->cfg.batch);
  const char *p[] = {lim};
  int n = engine__ids(e->c, &q_due, p, ids, e->cfg.batch);
  if (n < 0)
    return n;
  int done = 0;
  for (int i = 0; i < n; i++) {
    struct complete_job j = {.e = e, .id = ids[i]};
    int rc = db_txn(e->c, "engine_complete", complete_body, &j);
    if (rc == 0 && j.rc == 0) {
      done += j.done;
      engine__stats_add(st, &j.st);
    } else {
      log_msg(LOGL_WARN, ENGINE_COMP, "order %lld: completion: %s", (long long)ids[i],
              err_text(rc != 0 ? rc : j.rc));
      ENGINE_COUNT(st, errors);
    }
  }
  return done;
}
