/*
 * Cancelling an order (docs/orders.md, "Cancel").  Before the broker
 * order it is cancelled at once: a mint keeps its funded cash as cash due
 * (refundable with order_pay_in()); a redeem gets its tokens back by a
 * chain intent recorded here and executed by the engine -- a transfer
 * "order-<id>-return" from the redemption address the escrow sent them
 * to, or a mint "order-<id>-remint" after the burn -- with the books
 * posting of the return (ap tokens +T) when the books hold the AP's
 * tokens as taken under the order.  A redeem still awaiting its tokens
 * needs nothing here: the engine's return step sends back an escrow that
 * executed without being booked.  With a broker order live the order
 * moves to cancel_requested; the broker is asked after the commit
 * (order_cancel_broker(): fix_broker_cancel() runs a transaction of its
 * own, so it cannot join the caller's).
 */
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "fix/fix.h"
#include "issuance/issuance_orders_int.h"

/* Where the escrow sends tokens when no escrow intent says otherwise. */
static const char default_redemption[] = "0x00000000000000000000000000000000000bac57";

static const struct db_stmt q_intent = {
    "order_cancel_intent", "SELECT state, to_address FROM chain_intents WHERE key = $1", 1};

/* After a re-mint: burned less re-minted (what the books' hook checks). */
static const struct db_stmt q_unburn = {
    "order_cancel_unburn",
    "UPDATE orders SET tokens_done = 0, updated = clock_now() WHERE id = $1::bigint", 1};

static const struct db_stmt q_flag = {
    "order_cancel_flag",
    "UPDATE orders SET cancel_requested = true, updated = clock_now() WHERE id = $1::bigint", 1};

/*
 * The intent "order-<id>-<what>" of @o: its state ("" when none) and,
 * for a transfer, its destination (the redemption address by default).
 */
static int intent_of(struct db_conn *c, const struct order *o, const char *what, char state[16],
                     char to[CHAIN_ADDR_STR])
{
  char key[CHAIN_KEY_MAX];
  snprintf(key, sizeof key, "order-%lld-%s", (long long)o->id, what);
  const char *params[] = {key};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_intent, params, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  state[0] = '\0';
  util_strlcpy(to, default_redemption, CHAIN_ADDR_STR);
  if (qs > 0) {
    util_strlcpy(state, PQgetvalue(r, 0, 0), 16);
    util_strlcpy(to, PQgetvalue(r, 0, 1), CHAIN_ADDR_STR);
  }
  PQclear(r);
  return 0;
}

/*
 * Give a redeem's tokens back: record the intent (@remint: a mint of what
 * was burned, tokens_done, to the wallet, and tokens_done goes back to 0;
 * else a transfer of token_amount from @from), and when the books hold
 * the AP's tokens as taken under this order, post them back from the
 * issuer (transfer) or the chain (re-mint).
 */
static int give_back(struct db_conn *c, const struct order *o, bool remint, const char *from,
                     struct ord_json *d)
{
  char key[CHAIN_KEY_MAX], asset[BOOKS_ASSET_MAX], owner[BOOKS_OWNER_MAX], ids[ISS_I64_TXT];
  struct money t = remint ? o->tokens_done : o->token_amount, held, want;
  if (t.v <= 0)
    return -ERR_ORDER_STATE; /* burned, yet nothing burned: needs an operator */
  snprintf(key, sizeof key, "order-%lld-%s", (long long)o->id, remint ? "remint" : "return");
  struct chain_intent_req req = {
      .key = key,
      .op = remint ? CHAIN_OP_MINT : CHAIN_OP_TRANSFER,
      .token = o->token_symbol,
      .from = remint ? NULL : from,
      .to = o->wallet,
      .amount = t,
  };
  int rc = ord__ap_tokens(c, o, &held);
  if (rc != 0)
    return rc;
  if (money_sub((struct money){0, ISSUANCE_TOKEN_SCALE}, t, &want) != 0)
    return -ERR_INTERNAL;
  int err = 0;
  enum db_qs qs = chain_intent_record_in(c, &req, NULL, &err);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (err != 0)
    return err; /* refused: nothing written */
  ord__json_str(d, "intent", key);
  ord__json_money(d, "tokens", t);
  if (remint) {
    const char *params[] = {ord__i64(o->id, ids)};
    if ((qs = db_exec(c, &q_unburn, params, NULL)) < 0)
      return issuance__qs_err(qs);
  }
  if (money_cmp(held, want) != 0)
    return 0; /* the books never took them: nothing to give back there */
  snprintf(asset, sizeof asset, "tokens:%s", o->token_symbol);
  ord__ap_owner(o->ap, owner);
  rc = ord__post2(c, o, key, remint ? BOOKS_OWNER_CHAIN : BOOKS_OWNER_ISSUER, owner, asset, t);
  if (rc == 0)
    ord__json_str(d, "posting", key);
  return rc;
}

/*
 * A redeem before its broker order: what to do with its tokens.
 * awaiting_tokens: nothing here -- an escrow that executed (now or
 * later) without being booked is sent back by the engine's return step.
 * tokens_received: a transfer back from where the escrow sent them.
 * burned: a re-mint, once the burn executed (a burn still on its way
 * would run before the re-mint, but should it fail the re-mint would
 * issue tokens twice: refused until it executed).
 */
static int redeem_tokens(struct db_conn *c, const struct order *o, struct ord_json *d)
{
  char st[16], to[CHAIN_ADDR_STR];
  int rc;
  switch (o->state) {
  case ORDER_AWAITING_TOKENS:
    return 0;
  case ORDER_TOKENS_RECEIVED:
    if ((rc = intent_of(c, o, "escrow", st, to)) != 0)
      return rc;
    return give_back(c, o, false, to, d);
  default: /* burned */
    if ((rc = intent_of(c, o, "burn", st, to)) != 0)
      return rc;
    if (strcmp(st, "executed") != 0)
      return -ERR_ORDER_STATE;
    return give_back(c, o, true, NULL, d);
  }
}

/* Whether @o is before its broker order, so a cancel ends it at once. */
static bool before_broker(const struct order *o)
{
  switch (o->state) {
  case ORDER_REQUESTED:
  case ORDER_VALIDATED:
  case ORDER_AWAITING_CASH:
  case ORDER_CASH_RECEIVED:
    return o->kind == ORDER_MINT;
  case ORDER_AWAITING_TOKENS:
  case ORDER_TOKENS_RECEIVED:
    return o->kind == ORDER_REDEEM;
  case ORDER_BURNED: /* on_receipt burns before the broker order, at_payout after */
    return o->kind == ORDER_REDEEM && o->burn_on_receipt && o->filled_qty.v == 0;
  default:
    return false;
  }
}

static bool actor_ok(const char *a)
{
  size_t n = a != NULL ? strnlen(a, ORDER_ACTOR_MAX) : 0;
  if (n == 0 || n >= ORDER_ACTOR_MAX)
    return false;
  for (size_t i = 0; i < n; i++)
    if (a[i] <= ' ' || a[i] > '~')
      return false;
  return true;
}

int order_cancel_in(struct db_conn *c, int64_t id, const char *actor, const char *reason,
                    enum order_state *to)
{
  struct order o;
  struct ord_json d;
  if (c == NULL || !c->in_txn || !actor_ok(actor) ||
      (reason != NULL && !ord__text_ok(reason, ORDER_REASON_MAX)))
    return -ERR_INVALID_ARGUMENT;
  int rc = order_get(c, id, true, &o);
  if (rc != 0)
    return rc;
  if (o.state == ORDER_CANCEL_REQUESTED) {
    if (to != NULL)
      *to = o.state; /* asked before: the broker is asked again after the commit */
    return 0;
  }
  ord__json_begin(&d);
  ord__json_str(&d, "reason", reason);
  if (before_broker(&o)) {
    if (o.kind == ORDER_MINT) {
      struct money due;
      if (order_cash_due(&o, &due) != 0)
        return -ERR_INTERNAL;
      ord__json_money(&d, "refundable", due);
    } else if ((rc = redeem_tokens(c, &o, &d)) != 0) {
      return rc;
    }
    const char *det = ord__json_end(&d);
    if (det == NULL)
      return -ERR_INTERNAL;
    if ((rc = order_transition_in(c, id, o.state, ORDER_CANCELLED, actor, det)) == 0 && to != NULL)
      *to = ORDER_CANCELLED;
    return rc;
  }
  if (o.state != ORDER_BROKER_SUBMITTED && o.state != ORDER_PARTIALLY_FILLED)
    return -ERR_ORDER_STATE;
  ord__json_money(&d, "filled_qty", o.filled_qty);
  const char *det = ord__json_end(&d);
  if (det == NULL)
    return -ERR_INTERNAL;
  if ((rc = order_transition_in(c, id, o.state, ORDER_CANCEL_REQUESTED, actor, det)) != 0)
    return rc;
  char ids[ISS_I64_TXT];
  const char *params[] = {ord__i64(id, ids)};
  enum db_qs qs = db_exec(c, &q_flag, params, NULL);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (to != NULL)
    *to = ORDER_CANCEL_REQUESTED;
  return 0;
}

int order_cancel_broker(struct db_conn *c, int64_t id)
{
  struct order o;
  if (c == NULL || c->in_txn)
    return -ERR_INVALID_ARGUMENT;
  int rc = order_get(c, id, false, &o);
  if (rc != 0 || o.state != ORDER_CANCEL_REQUESTED)
    return rc;
  rc = fix_broker_cancel(c, (uint64_t)id);
  if (rc == -ERR_FIX_ORDER_FINAL)
    return 0;
  if (rc != 0)
    log_msg(LOGL_WARN, "orders", "order %lld: asking the broker to cancel: %s", (long long)id,
            err_name(rc));
  return rc;
}

struct cancel_ctx {
  int64_t id;
  const char *actor, *reason;
  enum order_state to;
  int rc;
};

static enum db_qs cancel_body(struct db_conn *c, void *cls)
{
  struct cancel_ctx *x = cls;
  x->rc = order_cancel_in(c, x->id, x->actor, x->reason, &x->to);
  /* A bug or the books refusing the return come after the intent: undo it. */
  if (x->rc == -ERR_INTERNAL || (x->rc <= -6000 && x->rc > -7000))
    return DB_QS_HARD;
  return x->rc == 0 ? DB_QS_NONE : order_qs(x->rc);
}

int order_cancel(struct db_conn *c, int64_t id, const char *actor, const char *reason,
                 enum order_state *to)
{
  struct cancel_ctx x = {.id = id, .actor = actor, .reason = reason};
  int rc = db_txn(c, "order_cancel", cancel_body, &x);
  if (x.rc != 0 && x.rc != -ERR_DB_CONFLICT && x.rc != -ERR_DB_HARD)
    return x.rc;
  if (rc != 0)
    return rc;
  if (x.to == ORDER_CANCEL_REQUESTED)
    order_cancel_broker(c, id);
  if (to != NULL)
    *to = x.to;
  return 0;
}
