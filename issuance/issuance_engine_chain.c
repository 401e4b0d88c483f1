/*
 * The engine and the token ledger.  Every movement of tokens for an
 * order is a chain intent under the order's key ("order-<id>-mint",
 * "-escrow", "-burn", "-return", "-remint"); an intent executes at most
 * once whatever happens (chain/chain.h), so a mint, a burn or a transfer
 * happens once per order by construction.
 *
 *   mint    recorded in the transaction that moves the order to
 *           mint_submitted (after a reserves check), executed after the
 *           commit; then minted with its posting (chain -T, ap +T) and on
 *           (at_settlement: completed; at_fill: settling).  Refused by
 *           the reserves check: requires_attention with the figures, and
 *           a secure_mint alert (docs/alerts.md) in the same transaction.  An order
 *           found in mint_submitted or mint_failed (a crash, the backend
 *           down) executes the same key again: its first result.
 *   escrow  a redeem in awaiting_tokens: the transfer wallet ->
 *           redemption address is recorded, executed, then the order
 *           moves to tokens_received with its posting (ap -T, issuer +T);
 *           refused for too few tokens: rejected with the figures.
 *   burn    recorded with its posting (issuer -B, chain +B) in the
 *           transaction that moves the order to burned (on_receipt: from
 *           tokens_received; at_payout: from cash_settled), executed
 *           after the commit; nothing goes on (no broker order, no
 *           payout) before it executed.
 *   return  the escrow of a redeem that was cancelled, rejected or
 *           expired before it was booked (a cancel racing the escrow) is
 *           transferred back.
 * Intents recorded and not executed (a crash after a commit) are
 * executed by chain_resume() at the start of every step; a burn, re-mint
 * or return that failed for good (the redemption address short of
 * tokens) puts its order in requires_attention.
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_engine_int.h"

static const struct db_stmt q_to_mint = {
    "engine_chain_to_mint",
    "SELECT id FROM orders WHERE kind = 'mint' AND ((mint_policy = 'at_settlement'"
    " AND state = 'settled_at_custodian') OR (mint_policy = 'at_fill' AND state = 'filled'))"
    " ORDER BY id LIMIT $1::integer",
    1};

static const struct db_stmt q_minting = {
    "engine_chain_minting",
    "SELECT id FROM orders WHERE kind = 'mint' AND state IN ('mint_submitted', 'mint_failed')"
    " ORDER BY id LIMIT $1::integer",
    1};

static const struct db_stmt q_to_escrow = {
    "engine_chain_to_escrow",
    "SELECT id FROM orders WHERE kind = 'redeem' AND state = 'awaiting_tokens'"
    " AND NOT cancel_requested ORDER BY id LIMIT $1::integer",
    1};

static const struct db_stmt q_to_burn = {
    "engine_chain_to_burn",
    "SELECT id FROM orders WHERE kind = 'redeem' AND ((burn_policy = 'on_receipt'"
    " AND state = 'tokens_received' AND NOT cancel_requested)"
    " OR (burn_policy = 'at_payout' AND state = 'cash_settled'))"
    " ORDER BY id LIMIT $1::integer",
    1};

static const struct db_stmt q_to_return = {
    "engine_chain_to_return",
    "SELECT o.id FROM orders o JOIN chain_intents ci ON ci.key = 'order-' || o.id || '-escrow'"
    " AND ci.state = 'executed' WHERE o.kind = 'redeem'"
    " AND o.state IN ('cancelled', 'rejected', 'expired')"
    " AND NOT EXISTS (SELECT 1 FROM order_events ev WHERE ev.order_id = o.id"
    " AND ev.to_state = 'tokens_received')"
    " AND NOT EXISTS (SELECT 1 FROM chain_intents r WHERE r.key = 'order-' || o.id || '-return')"
    " ORDER BY o.id LIMIT $1::integer",
    1};

/* Orders with a burn or give-back intent that failed for good (nothing else would notice). */
static const struct db_stmt q_failed = {
    "engine_chain_failed",
    "SELECT o.id FROM orders o JOIN chain_intents ci ON ci.key IN ('order-' || o.id || '-burn',"
    " 'order-' || o.id || '-remint', 'order-' || o.id || '-return') AND ci.state = 'failed'"
    " WHERE o.state <> 'requires_attention' AND o.attention IS NULL"
    " ORDER BY o.id LIMIT $1::integer",
    1};

static const struct db_stmt q_failed_intent = {
    "engine_chain_failed_intent",
    "SELECT key, coalesce(reason, '') FROM chain_intents WHERE key IN ('order-' || $1 || '-burn',"
    " 'order-' || $1 || '-remint', 'order-' || $1 || '-return') AND state = 'failed'"
    " ORDER BY id LIMIT 1",
    1};

static const struct db_stmt q_multiplier = {
    "engine_chain_multiplier", "SELECT multiplier FROM instruments WHERE id = $1::bigint", 1};

static const struct db_stmt q_tokens_done = {
    "engine_chain_tokens_done", "UPDATE orders SET tokens_done = $2::numeric WHERE id = $1::bigint",
    2};

/* A refused mint's alert for operators (migrations/0019-alerts.sql): once per order. */
static const struct db_stmt q_secure_mint_alert = {
    "engine_chain_secure_mint_alert",
    "INSERT INTO alerts (kind, ref, isin, instrument, detail) VALUES ('secure_mint', $1, $2,"
    " $3::bigint, $4) ON CONFLICT (kind, ref) DO NOTHING",
    4};

/* What a job asks of its transaction body. */
enum chain_what {
  CW_MINT_RECORD,
  CW_MINTED,
  CW_MINT_FAILED,
  CW_ESCROW_RECORD,
  CW_ESCROWED,
  CW_ESCROW_REFUSED,
  CW_BURN,
  CW_RETURN,
  CW_ATTENTION,
  CW_INTENT_FAILED,
};

struct chain_job {
  struct engine *e;
  int64_t id;
  enum chain_what what;
  struct chain_intent it;  /* CW_MINTED, CW_ESCROWED: the executed intent */
  struct money balance;    /* CW_ESCROW_REFUSED: the wallet's balance */
  const char *why;         /* CW_ATTENTION */
  char key[CHAIN_KEY_MAX]; /* the intent to execute after the commit ("" none) */
  char reason[256];        /* a refusal that needs attention, found in the body */
  bool secure_mint;        /* reason is the reserves check's: raise its alert */
  bool alerted;            /* the alert was raised now (logged after the commit) */
  struct engine_stats st;
  bool moved;
  int rc;
};

/* A balance of the books, 0 for an account never used. */
static int balance0(struct db_conn *c, const char *owner, const char *asset, unsigned scale,
                    struct money *out)
{
  int rc = books_balance(c, owner, asset, out);
  if (rc == -ERR_BOOKS_ACCOUNT)
    return money_make(0, scale, out);
  return rc;
}

/*
 * Reserves before a mint of @t tokens: the issuer's settled shares (and
 * in transit for at_fill) must cover the tokens outstanding after it
 * (supply less the issuer's own, escrowed ones) times the multiplier,
 * rounded up.  0 when they do; 1 with @why when not.
 */
static int reserves_in(struct db_conn *c, const struct order *o, struct money t, char *why,
                       size_t wsz)
{
  struct engine_names nm;
  struct money settled, transit, chain, issuer, out, mult, need, have;
  char ids[ISS_I64_TXT];
  PGresult *r = NULL;
  int rc;
  engine__names(o, &nm);
  snprintf(ids, sizeof ids, "%lld", (long long)o->instrument);
  const char *p[] = {ids};
  enum db_qs qs = db_exec(c, &q_multiplier, p, &r);
  if (qs <= 0)
    return qs == DB_QS_NONE ? -ERR_ORDER_INSTRUMENT : issuance__qs_err(qs);
  rc = issuance__num_money(PQgetvalue(r, 0, 0), 18, &mult);
  PQclear(r);
  if (rc != 0)
    return -ERR_INTERNAL;
  if ((rc = balance0(c, BOOKS_OWNER_ISSUER, nm.settled, 6, &settled)) != 0 ||
      (rc = balance0(c, BOOKS_OWNER_ISSUER, nm.in_transit, 6, &transit)) != 0 ||
      (rc = balance0(c, BOOKS_OWNER_CHAIN, nm.tokens, 18, &chain)) != 0 ||
      (rc = balance0(c, BOOKS_OWNER_ISSUER, nm.tokens, 18, &issuer)) != 0)
    return rc;
  /* outstanding = -(chain) - issuer + t */
  chain.v = -chain.v;
  if (money_sub(chain, issuer, &out) != 0 || money_add(out, t, &out) != 0 ||
      money_mul(out, mult, ISSUANCE_QTY_SCALE, MONEY_ROUND_UP, &need) != 0)
    return -ERR_MONEY_OVERFLOW;
  have = settled;
  if (o->mint_at_fill && money_add(settled, transit, &have) != 0)
    return -ERR_MONEY_OVERFLOW;
  if (money_cmp(have, need) >= 0)
    return 0;
  char h[MONEY_STR_MAX], n[MONEY_STR_MAX];
  engine__fmt(have, h);
  engine__fmt(need, n);
  snprintf(why, wsz, "mint refused: reserves %s shares of %s would not cover %s shares of tokens",
           h, o->isin, n);
  return 1;
}

static int set_tokens_done(struct db_conn *c, const struct order *o, struct money t)
{
  char ids[ISS_I64_TXT], v[MONEY_STR_MAX];
  snprintf(ids, sizeof ids, "%lld", (long long)o->id);
  engine__fmt(t, v);
  const char *p[] = {ids, v};
  enum db_qs qs = db_exec(c, &q_tokens_done, p, NULL);
  return qs < 0 ? issuance__qs_err(qs) : 0;
}

static int record(struct db_conn *c, struct chain_job *j, const struct chain_intent_req *req)
{
  int err = 0;
  enum db_qs qs = chain_intent_record_in(c, req, NULL, &err);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (err != 0) {
    snprintf(j->reason, sizeof j->reason, "chain intent %s refused: %s", req->key, err_text(err));
    return 0;
  }
  util_strlcpy(j->key, req->key, sizeof j->key);
  return 0;
}

static int mint_record(struct chain_job *j, struct order *o)
{
  struct db_conn *c = j->e->c;
  struct money t;
  struct engine_json d;
  char key[CHAIN_KEY_MAX];
  bool ready =
      o->kind == ORDER_MINT && ((o->mint_at_fill && o->state == ORDER_FILLED) ||
                                (!o->mint_at_fill && o->state == ORDER_SETTLED_AT_CUSTODIAN));
  if (!ready)
    return 0;
  int rc = engine__tokens_for(o, o->filled_qty, &t);
  if (rc != 0)
    return rc;
  if (t.v <= 0) {
    snprintf(j->reason, sizeof j->reason, "the fills buy less than one token unit");
    return 0;
  }
  if ((rc = reserves_in(c, o, t, j->reason, sizeof j->reason)) != 0) {
    j->secure_mint = rc > 0;
    return rc < 0 ? rc : 0;
  }
  engine__intent_key(o->id, "mint", key);
  struct chain_intent_req req = {
      .key = key, .op = CHAIN_OP_MINT, .token = o->token_symbol, .to = o->wallet, .amount = t};
  if ((rc = record(c, j, &req)) != 0 || j->reason[0] != '\0')
    return rc;
  engine__json_init(&d);
  engine__json_str(&d, "intent", key);
  engine__json_money(&d, "tokens", t);
  engine__json_str(&d, "wallet", o->wallet);
  if ((rc = order_transition_in(c, o->id, o->state, ORDER_MINT_SUBMITTED, ENGINE_ACTOR,
                                engine__json_end(&d))) == 0)
    j->moved = true;
  return rc;
}

static int minted(struct chain_job *j, struct order *o)
{
  struct db_conn *c = j->e->c;
  struct engine_names nm;
  struct engine_json d;
  struct money t, nt;
  int rc;
  if (o->state != ORDER_MINT_SUBMITTED && o->state != ORDER_MINT_FAILED)
    return 0;
  engine__names(o, &nm);
  if (money_rescale(j->it.amount, ISSUANCE_TOKEN_SCALE, MONEY_ROUND_EXACT, &t) != 0)
    return -ERR_MONEY_OVERFLOW;
  nt = t;
  nt.v = -nt.v;
  struct books_entry be[] = {{BOOKS_OWNER_CHAIN, nm.tokens, nt}, {nm.ap, nm.tokens, t}};
  if ((rc = engine__post(c, o, "mint", be, 2, "tokens minted")) != 0 ||
      (rc = set_tokens_done(c, o, t)) != 0)
    return rc;
  o->tokens_done = t;
  engine__json_init(&d);
  engine__json_str(&d, "intent", j->it.key);
  engine__json_i64(&d, "block", j->it.block);
  engine__json_money(&d, "tokens", t);
  if ((rc = order_transition_in(c, o->id, o->state, ORDER_MINTED, ENGINE_ACTOR,
                                engine__json_end(&d))) != 0)
    return rc;
  o->state = ORDER_MINTED;
  j->moved = true;
  ENGINE_COUNT(&j->st, minted);
  if (o->mint_at_fill)
    return order_transition_in(c, o->id, ORDER_MINTED, ORDER_SETTLING, ENGINE_ACTOR, NULL);
  if ((rc = engine__complete_in(c, o)) == 0)
    ENGINE_COUNT(&j->st, completed);
  return rc;
}

static int escrow_record(struct chain_job *j, struct order *o)
{
  char key[CHAIN_KEY_MAX];
  if (o->kind != ORDER_REDEEM || o->state != ORDER_AWAITING_TOKENS || o->cancel_requested)
    return 0;
  engine__intent_key(o->id, "escrow", key);
  struct chain_intent_req req = {.key = key,
                                 .op = CHAIN_OP_TRANSFER,
                                 .token = o->token_symbol,
                                 .from = o->wallet,
                                 .to = j->e->cfg.redemption_address,
                                 .amount = o->token_amount};
  return record(j->e->c, j, &req);
}

static int escrowed(struct chain_job *j, struct order *o)
{
  struct db_conn *c = j->e->c;
  struct engine_names nm;
  struct engine_json d;
  struct money t = o->token_amount, nt = o->token_amount;
  if (o->state != ORDER_AWAITING_TOKENS)
    return 0; /* cancelled meanwhile: the return step gives the tokens back */
  nt.v = -nt.v;
  engine__names(o, &nm);
  engine__json_init(&d);
  engine__json_str(&d, "intent", j->it.key);
  engine__json_i64(&d, "block", j->it.block);
  engine__json_money(&d, "tokens", t);
  engine__json_str(&d, "to", j->e->cfg.redemption_address);
  struct books_entry be[] = {{nm.ap, nm.tokens, nt}, {BOOKS_OWNER_ISSUER, nm.tokens, t}};
  int rc = engine__post(c, o, "escrow", be, 2, "tokens received for redemption");
  if (rc == -ERR_BOOKS_INSUFFICIENT) {
    snprintf(j->reason, sizeof j->reason,
             "tokens escrowed on the ledger, but the AP's books hold fewer: not booked");
    ENGINE_COUNT(&j->st, attention);
    j->moved = true;
    return engine__attention_in(c, o, j->reason, engine__json_end(&d));
  }
  if (rc != 0)
    return rc;
  if ((rc = order_transition_in(c, o->id, o->state, ORDER_TOKENS_RECEIVED, ENGINE_ACTOR,
                                engine__json_end(&d))) == 0) {
    j->moved = true;
    ENGINE_COUNT(&j->st, escrowed);
  }
  return rc;
}

static int escrow_refused(struct chain_job *j, struct order *o)
{
  struct engine_json d;
  if (o->state != ORDER_AWAITING_TOKENS)
    return 0;
  engine__json_init(&d);
  engine__json_str(&d, "reason", "the wallet holds fewer tokens than the order redeems");
  engine__json_str(&d, "wallet", o->wallet);
  engine__json_money(&d, "wallet_balance", j->balance);
  engine__json_money(&d, "token_amount", o->token_amount);
  int rc = order_transition_in(j->e->c, o->id, o->state, ORDER_REJECTED, ENGINE_ACTOR,
                               engine__json_end(&d));
  if (rc == 0)
    j->moved = true;
  return rc;
}

static int burn(struct chain_job *j, struct order *o)
{
  struct db_conn *c = j->e->c;
  struct engine_names nm;
  struct engine_json d;
  struct money b, nb;
  char key[CHAIN_KEY_MAX];
  int rc;
  bool ready = o->kind == ORDER_REDEEM &&
               ((o->burn_on_receipt && o->state == ORDER_TOKENS_RECEIVED && !o->cancel_requested) ||
                (!o->burn_on_receipt && o->state == ORDER_CASH_SETTLED));
  if (!ready)
    return 0;
  /* on_receipt: everything escrowed; at_payout: what was sold (the rest went back at the fills). */
  if (o->burn_on_receipt)
    rc = money_rescale(o->token_amount, ISSUANCE_TOKEN_SCALE, MONEY_ROUND_EXACT, &b);
  else
    rc = engine__tokens_for(o, o->filled_qty, &b);
  if (rc != 0)
    return rc;
  engine__intent_key(o->id, "burn", key);
  struct chain_intent_req req = {.key = key,
                                 .op = CHAIN_OP_BURN,
                                 .token = o->token_symbol,
                                 .from = j->e->cfg.redemption_address,
                                 .amount = b};
  if (b.v > 0 && ((rc = record(c, j, &req)) != 0 || j->reason[0] != '\0'))
    return rc;
  engine__names(o, &nm);
  nb = b;
  nb.v = -nb.v;
  struct books_entry be[] = {{BOOKS_OWNER_ISSUER, nm.tokens, nb},
                             {BOOKS_OWNER_CHAIN, nm.tokens, b}};
  if ((rc = engine__post(c, o, "burn", be, 2, "tokens burned")) != 0 ||
      (rc = set_tokens_done(c, o, b)) != 0)
    return rc;
  engine__json_init(&d);
  engine__json_str(&d, "intent", key);
  engine__json_money(&d, "tokens", b);
  if ((rc = order_transition_in(c, o->id, o->state, ORDER_BURNED, ENGINE_ACTOR,
                                engine__json_end(&d))) == 0) {
    j->moved = true;
    ENGINE_COUNT(&j->st, burned);
  }
  return rc;
}

static int give_escrow_back(struct chain_job *j, struct order *o)
{
  struct engine_json d;
  char key[CHAIN_KEY_MAX];
  if (o->state != ORDER_CANCELLED && o->state != ORDER_REJECTED && o->state != ORDER_EXPIRED)
    return 0;
  engine__intent_key(o->id, "return", key);
  struct chain_intent_req req = {.key = key,
                                 .op = CHAIN_OP_TRANSFER,
                                 .token = o->token_symbol,
                                 .from = j->e->cfg.redemption_address,
                                 .to = o->wallet,
                                 .amount = o->token_amount};
  int rc = record(j->e->c, j, &req);
  if (rc != 0 || j->reason[0] != '\0')
    return rc;
  engine__json_init(&d);
  engine__json_str(&d, "return_intent", key);
  engine__json_money(&d, "tokens_returned", o->token_amount);
  engine__json_str(&d, "note", "escrow executed after the order ended: tokens sent back");
  if ((rc = order_event_in(j->e->c, o->id, o->state, ENGINE_ACTOR, engine__json_end(&d))) == 0) {
    j->moved = true;
    ENGINE_COUNT(&j->st, returned);
  }
  return rc;
}

/* A burn, re-mint or return of @o failed for good: a person must see to the tokens. */
static int intent_failed(struct chain_job *j, struct order *o)
{
  char ids[ISS_I64_TXT];
  PGresult *r = NULL;
  if (o->state == ORDER_REQUIRES_ATTENTION || o->attention[0] != '\0')
    return 0;
  snprintf(ids, sizeof ids, "%lld", (long long)o->id);
  const char *p[] = {ids};
  enum db_qs qs = db_exec(j->e->c, &q_failed_intent, p, &r);
  if (qs <= 0)
    return qs == DB_QS_NONE ? 0 : issuance__qs_err(qs);
  snprintf(j->reason, sizeof j->reason, "chain intent %s failed: %.180s", PQgetvalue(r, 0, 0),
           PQgetvalue(r, 0, 1));
  PQclear(r);
  return 0;
}

/* The secure-mint alert of @o, refused for j->reason (in the move's transaction). */
static int secure_mint_alert(struct chain_job *j, const struct order *o)
{
  char ids[ISS_I64_TXT], ins[ISS_I64_TXT];
  snprintf(ids, sizeof ids, "%lld", (long long)o->id);
  snprintf(ins, sizeof ins, "%lld", (long long)o->instrument);
  const char *p[] = {ids, o->isin, ins, j->reason};
  enum db_qs qs = db_exec(j->e->c, &q_secure_mint_alert, p, NULL);
  if (qs < 0)
    return issuance__qs_err(qs);
  j->alerted = qs > 0;
  return 0;
}

static enum db_qs chain_body(struct db_conn *c, void *cls)
{
  struct chain_job *j = cls;
  struct order o;
  int rc;
  j->key[0] = j->reason[0] = '\0';
  j->moved = j->secure_mint = j->alerted = false;
  memset(&j->st, 0, sizeof j->st);
  if ((rc = order_get(c, j->id, true, &o)) != 0) {
    j->rc = rc;
    return order_qs(rc);
  }
  switch (j->what) {
  case CW_MINT_RECORD:
    rc = mint_record(j, &o);
    break;
  case CW_MINTED:
    rc = minted(j, &o);
    break;
  case CW_MINT_FAILED:
    rc = 0;
    if (o.state == ORDER_MINT_SUBMITTED &&
        (rc = order_transition_in(c, o.id, o.state, ORDER_MINT_FAILED, ENGINE_ACTOR,
                                  "{\"reason\":\"the token ledger is unavailable\"}")) == 0)
      j->moved = true;
    break;
  case CW_ESCROW_RECORD:
    rc = escrow_record(j, &o);
    break;
  case CW_ESCROWED:
    rc = escrowed(j, &o);
    break;
  case CW_ESCROW_REFUSED:
    rc = escrow_refused(j, &o);
    break;
  case CW_BURN:
    rc = burn(j, &o);
    break;
  case CW_RETURN:
    rc = give_escrow_back(j, &o);
    break;
  case CW_INTENT_FAILED:
    rc = intent_failed(j, &o);
    break;
  case CW_ATTENTION:
    rc = 0;
    if (!order_state_final(o.state)) {
      rc = engine__attention_in(c, &o, j->why, NULL);
      j->moved = rc == 0;
      ENGINE_COUNT(&j->st, attention);
    }
    break;
  }
  if (rc == 0 && j->reason[0] != '\0' && j->what != CW_ESCROWED) {
    /* A refusal found before anything was written: the order needs a person. */
    j->key[0] = '\0';
    if ((rc = engine__attention_in(c, &o, j->reason, NULL)) == 0) {
      j->moved = true;
      ENGINE_COUNT(&j->st, attention);
      if (j->secure_mint)
        rc = secure_mint_alert(j, &o);
    }
  }
  j->rc = rc;
  if (rc != 0)
    return order_qs(rc) == DB_QS_NONE ? DB_QS_HARD : order_qs(rc);
  return DB_QS_NONE;
}

/* Run @j in a transaction; log a failure.  Returns 1 when the order moved, else 0. */
static int run(struct chain_job *j, struct engine_stats *st)
{
  int rc = db_txn(j->e->c, "engine_chain", chain_body, j);
  if (rc != 0 || j->rc != 0) {
    log_msg(LOGL_WARN, ENGINE_COMP, "order %lld: chain step %d: %s", (long long)j->id, j->what,
            err_text(rc != 0 ? rc : j->rc));
    ENGINE_COUNT(st, errors);
    j->key[0] = '\0';
    return 0;
  }
  engine__stats_add(st, &j->st);
  if (j->alerted)
    log_msg(LOGL_ERROR, ENGINE_COMP, "ALERT secure_mint order %lld: %s", (long long)j->id,
            j->reason);
  return j->moved ? 1 : 0;
}

/* Move order @id to requires_attention with @why (its own transaction). */
static int attention(struct engine *e, int64_t id, const char *why, struct engine_stats *st)
{
  struct chain_job j = {.e = e, .id = id, .what = CW_ATTENTION, .why = why};
  return run(&j, st);
}

/* Execute the mint of order @id and finish it: minted, mint_failed or attention. */
static int finish_mint(struct engine *e, int64_t id, struct engine_stats *st)
{
  struct chain_job j = {.e = e, .id = id};
  char key[CHAIN_KEY_MAX];
  engine__intent_key(id, "mint", key);
  int rc = chain_intent_execute(e->l, key, &j.it);
  if (rc == 0) {
    j.what = CW_MINTED;
    return run(&j, st);
  }
  if (rc == -ERR_CHAIN_BACKEND) {
    j.what = CW_MINT_FAILED;
    return run(&j, st);
  }
  if (rc == -ERR_CHAIN_PENDING || rc == -ERR_DB_CONFLICT || rc == -ERR_DB_HARD ||
      rc == -ERR_DB_CONNECT || rc == -ERR_DB_COMMIT_UNKNOWN) {
    log_msg(LOGL_INFO, ENGINE_COMP, "order %lld: mint %s: %s (tried again)", (long long)id, key,
            err_text(rc));
    return 0;
  }
  /* Failed for good, or no intent under the key: never a second key, a person decides. */
  char why[512];
  snprintf(why, sizeof why, "mint intent %s: %s%s%s", key, err_text(rc),
           j.it.reason[0] != '\0' ? ": " : "", j.it.reason);
  return attention(e, id, why, st);
}

typedef int (*per_order_fn)(struct engine *e, int64_t id, struct engine_stats *st);

static int each(struct engine *e, const struct db_stmt *q, per_order_fn fn, struct engine_stats *st)
{
  int64_t ids[10000];
  char lim[ISS_I64_TXT];
  snprintf(lim, sizeof lim, "%u", e->cfg.batch);
  const char *p[] = {lim};
  int n = engine__ids(e->c, q, p, ids, e->cfg.batch), done = 0;
  if (n < 0)
    return n;
  for (int i = 0; i < n; i++)
    done += fn(e, ids[i], st);
  return done;
}

/* Execute the intent a job recorded (built-in: now; else chain_resume later). */
static void execute_recorded(struct engine *e, const char *key)
{
  struct chain_intent it;
  int rc = chain_intent_execute(e->l, key, &it);
  if (rc != 0 && rc != -ERR_CHAIN_PENDING)
    log_msg(LOGL_WARN, ENGINE_COMP, "intent %s: %s", key, err_text(rc));
}

/*
 * The order, its token registered on the ledger and in the books.  A
 * token that cannot be (a symbol the books refuse, other decimals on the
 * ledger) needs a person: the order goes to requires_attention (*moved).
 */
static int load_order(struct engine *e, int64_t id, struct order *o, struct engine_stats *st,
                      int *moved)
{
  char why[256];
  int rc = order_get(e->c, id, false, o);
  if (rc == 0)
    rc = engine__token_ready(e, o);
  if (rc == 0)
    return 0;
  log_msg(LOGL_WARN, ENGINE_COMP, "order %lld: token: %s", (long long)id, err_text(rc));
  if (rc == -ERR_BOOKS_ASSET || rc == -ERR_CHAIN_UNKNOWN_TOKEN || rc == -ERR_INVALID_ARGUMENT ||
      rc == -ERR_API_CONFLICT) {
    snprintf(why, sizeof why, "token %s cannot be used: %s", o->token_symbol, err_text(rc));
    *moved = attention(e, id, why, st);
  }
  return rc;
}

static int do_mint(struct engine *e, int64_t id, struct engine_stats *st)
{
  struct order o;
  int moved = 0;
  if (load_order(e, id, &o, st, &moved) != 0)
    return moved;
  /* Recorded with the move to mint_submitted; the next part (q_minting) executes it. */
  struct chain_job j = {.e = e, .id = id, .what = CW_MINT_RECORD};
  return run(&j, st);
}

static int do_finish(struct engine *e, int64_t id, struct engine_stats *st)
{
  return finish_mint(e, id, st);
}

static int do_escrow(struct engine *e, int64_t id, struct engine_stats *st)
{
  struct order o;
  int moved = 0;
  if (load_order(e, id, &o, st, &moved) != 0)
    return moved;
  struct chain_job j = {.e = e, .id = id, .what = CW_ESCROW_RECORD};
  run(&j, st);
  if (j.key[0] == '\0')
    return j.moved ? 1 : 0;
  struct chain_job x = {.e = e, .id = id};
  int rc = chain_intent_execute(e->l, j.key, &x.it);
  if (rc == 0) {
    x.what = CW_ESCROWED;
    return run(&x, st);
  }
  if (rc == -ERR_CHAIN_INSUFFICIENT) {
    int64_t at;
    if (chain_balance(e->l, o.token_symbol, o.wallet, CHAIN_LATEST, &x.balance, &at) != 0)
      money_make(0, o.token_decimals, &x.balance);
    x.what = CW_ESCROW_REFUSED;
    return run(&x, st);
  }
  log_msg(LOGL_WARN, ENGINE_COMP, "order %lld: escrow %s: %s", (long long)id, j.key, err_text(rc));
  return 0;
}

static int do_burn(struct engine *e, int64_t id, struct engine_stats *st)
{
  struct chain_job j = {.e = e, .id = id, .what = CW_BURN};
  int moved = run(&j, st);
  if (j.key[0] != '\0')
    execute_recorded(e, j.key);
  return moved;
}

static int do_failed(struct engine *e, int64_t id, struct engine_stats *st)
{
  struct chain_job j = {.e = e, .id = id, .what = CW_INTENT_FAILED};
  return run(&j, st);
}

static int do_return(struct engine *e, int64_t id, struct engine_stats *st)
{
  struct chain_job j = {.e = e, .id = id, .what = CW_RETURN};
  int moved = run(&j, st);
  if (j.key[0] != '\0')
    execute_recorded(e, j.key);
  return moved;
}

int engine_chain_step(struct engine *e, struct engine_stats *st)
{
  struct chain_resume_stats rs;
  int rc = chain_resume(e->l, &rs), done = 0, n;
  if (rc != 0)
    return rc;
  static const struct {
    const struct db_stmt *q;
    per_order_fn fn;
  } parts[] = {
      {&q_to_mint, do_mint}, {&q_minting, do_finish},   {&q_to_escrow, do_escrow},
      {&q_to_burn, do_burn}, {&q_to_return, do_return}, {&q_failed, do_failed},
  };
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    if ((n = each(e, parts[i].q, parts[i].fn, st)) < 0)
      return n;
    done += n;
  }
  return done;
}
