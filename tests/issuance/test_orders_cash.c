/*
 * Cash and cancel on orders (issuance/issuance_orders_cash.c,
 * issuance_orders_cancel.c, issuance_orders_query.c) on a real
 * PostgreSQL: funding with its exact books posting and the move to
 * cash_received, the same bank reference replayed (nothing changes) or
 * reused (conflict); refunds limited to what the order does not need and
 * payouts completing a redeem; cancel in every cancellable state (mint
 * before and after its broker order, redeem awaiting tokens, with tokens
 * received and after the burn, with the chain intents and the books'
 * return) and refused in the others; and the complete, ordered event
 * history read back page by page.
 */
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "fix/fix.h"
#include "tests/issuance/orders_fx.h"

struct cash_ctx {
  int64_t id;
  enum order_cash_kind kind;
  struct money amount;
  const char *ref;
  struct order_movement m;
  int rc;
};

static enum db_qs fund_body(struct db_conn *c, void *cls)
{
  struct cash_ctx *x = cls;
  x->rc = x->kind == ORDER_CASH_FUNDING
              ? order_fund_in(c, x->id, fx.admin, x->amount, x->ref, &x->m)
              : order_pay_in(c, x->id, fx.admin, x->kind, x->amount, x->ref, &x->m);
  /* A refusal commits what the function wrote: the tests check it wrote nothing. */
  return x->rc == 0 ? DB_QS_NONE : order_qs(x->rc);
}

/* Record cash in a transaction of its own: the function's result. */
static int cash(int64_t id, enum order_cash_kind kind, const char *amount, const char *ref,
                struct order_movement *m)
{
  struct cash_ctx x = {.id = id, .kind = kind, .amount = fx_amt(amount, 2), .ref = ref};
  int rc = db_txn(fx.c, "test_cash", fund_body, &x);
  if (x.rc != 0)
    return x.rc;
  if (rc != 0)
    return rc;
  if (m != NULL)
    *m = x.m;
  return 0;
}

/* cash() that must refuse with @want, changing nothing. */
static void cash_refused(int64_t id, enum order_cash_kind kind, const char *amount, const char *ref,
                         int want)
{
  long long before = fx_rows();
  int rc = cash(id, kind, amount, ref, NULL);
  if (rc != want)
    fail_msg("want %s, got %s", err_name(want), rc == 0 ? "0" : err_name(rc));
  assert_int_equal(fx_rows(), before);
}

static const char *ap_owner(int64_t ap)
{
  static char b[BOOKS_OWNER_MAX];
  snprintf(b, sizeof b, "ap:%lld", (long long)ap);
  return b;
}

static const char *admin_actor(void)
{
  static char b[32];
  snprintf(b, sizeof b, "admin:%lld", (long long)fx.admin);
  return b;
}

static void test_fund(void **state)
{
  (void)state;
  char sql[256], key[64];
  struct order_movement m;
  int64_t id = fx_mint();
  /* A first part: a note event, the order still awaiting cash. */
  assert_int_equal(cash(id, ORDER_CASH_FUNDING, "1000.25", "BANK-1", &m), 0);
  assert_false(m.existed);
  assert_int_equal(m.order_id, id);
  assert_string_equal(fx_fmt(m.amount), "1000.25");
  assert_int_equal(m.recorded_by, fx.admin);
  struct order o = fx_get(id);
  assert_int_equal(o.state, ORDER_AWAITING_CASH);
  assert_string_equal(fx_fmt(o.cash_funded), "1000.25");
  fx_balance("custodian", "cash:USD", "-1000.25");
  fx_balance(ap_owner(fx.ap1), "cash:USD", "1000.25");
  snprintf(key, sizeof key, "order-%lld-funding-%lld", (long long)id, (long long)m.id);
  snprintf(sql, sizeof sql, "SELECT reference FROM books_postings WHERE key = '%s'", key);
  char ref[32];
  snprintf(ref, sizeof ref, "order:%lld", (long long)id);
  assert_string_equal(fx_text(sql), ref);
  /* The same statement line again: nothing changes. */
  long long rows = fx_rows();
  struct order_movement again;
  assert_int_equal(cash(id, ORDER_CASH_FUNDING, "1000.25", "BANK-1", &again), 0);
  assert_true(again.existed);
  assert_int_equal(again.id, m.id);
  assert_int_equal(fx_rows(), rows);
  /* The same reference with another amount, or for another order: conflict. */
  cash_refused(id, ORDER_CASH_FUNDING, "1000.26", "BANK-1", -ERR_API_CONFLICT);
  int64_t other = fx_mint();
  cash_refused(other, ORDER_CASH_FUNDING, "1000.25", "BANK-1", -ERR_API_CONFLICT);
  /* Bad amounts and references. */
  cash_refused(id, ORDER_CASH_FUNDING, "0", "BANK-2", -ERR_INVALID_ARGUMENT);
  cash_refused(id, ORDER_CASH_FUNDING, "-5", "BANK-2", -ERR_INVALID_ARGUMENT);
  cash_refused(id, ORDER_CASH_FUNDING, "5", "", -ERR_INVALID_ARGUMENT);
  cash_refused(id, ORDER_CASH_FUNDING, "5",
               "12345678901234567890123456789012345678901234567890123456789012345",
               -ERR_INVALID_ARGUMENT);
  cash_refused(999999, ORDER_CASH_FUNDING, "5", "BANK-2", -ERR_ORDER_NOT_FOUND);
  /* The rest: 2011.25 reached -> cash_received; funding more is still taken. */
  assert_int_equal(cash(id, ORDER_CASH_FUNDING, "1011.00", "BANK-2", NULL), 0);
  o = fx_get(id);
  assert_int_equal(o.state, ORDER_CASH_RECEIVED);
  assert_string_equal(fx_fmt(o.cash_funded), "2011.25");
  assert_int_equal(cash(id, ORDER_CASH_FUNDING, "0.75", "BANK-3", NULL), 0);
  fx_balance("custodian", "cash:USD", "-2012.00");
  fx_balance(ap_owner(fx.ap1), "cash:USD", "2012.00");
  assert_string_equal(fx_events(id), "->requested requested>validated validated>awaiting_cash "
                                     "awaiting_cash>awaiting_cash awaiting_cash>cash_received "
                                     "cash_received>cash_received");
  snprintf(sql, sizeof sql,
           "SELECT detail->>'amount' || ' ' || (detail->>'bank_ref') || ' ' ||"
           " (detail->>'cash_funded') || ' ' || (detail->>'cash_due') || ' ' || actor"
           " FROM order_events WHERE order_id = %lld AND seq = 5",
           (long long)id);
  char want[128];
  snprintf(want, sizeof want, "1011.00 BANK-2 2011.25 2011.25 %s", admin_actor());
  assert_string_equal(fx_text(sql), want);
  /* A redeem takes no funding; a mint past cash_received neither. */
  cash_refused(fx_redeem(), ORDER_CASH_FUNDING, "5", "BANK-4", -ERR_ORDER_STATE);
  fx_state(id, "broker_submitted");
  cash_refused(id, ORDER_CASH_FUNDING, "5", "BANK-4", -ERR_ORDER_STATE);
  /* The books still balance. */
  fx_books_ok();
}

static void test_refund_mint(void **state)
{
  (void)state;
  int64_t id = fx_mint();
  assert_int_equal(cash(id, ORDER_CASH_FUNDING, "2100.00", "IN-1", NULL), 0);
  /* Before the fills only the excess over cash_required (2011.25): 88.75. */
  cash_refused(id, ORDER_CASH_REFUND, "88.76", "OUT-1", -ERR_ORDER_CASH);
  cash_refused(id, ORDER_CASH_PAYOUT, "1.00", "OUT-1", -ERR_INVALID_ARGUMENT);
  assert_int_equal(cash(id, ORDER_CASH_REFUND, "88.75", "OUT-1", NULL), 0);
  struct order o = fx_get(id);
  assert_string_equal(fx_fmt(o.cash_paid), "88.75");
  assert_int_equal(o.state, ORDER_CASH_RECEIVED);
  cash_refused(id, ORDER_CASH_REFUND, "0.01", "OUT-2", -ERR_ORDER_CASH);
  /* Cancelled: all of the cash due is refundable, and no more. */
  enum order_state to;
  assert_int_equal(order_cancel(fx.c, id, admin_actor(), "client asked", &to), 0);
  assert_int_equal(to, ORDER_CANCELLED);
  cash_refused(id, ORDER_CASH_REFUND, "2011.26", "OUT-2", -ERR_ORDER_CASH);
  assert_int_equal(cash(id, ORDER_CASH_REFUND, "2011.25", "OUT-2", NULL), 0);
  o = fx_get(id);
  struct money due;
  assert_int_equal(order_cash_due(&o, &due), 0);
  assert_string_equal(fx_fmt(due), "0.00");
  assert_int_equal(o.state, ORDER_CANCELLED);
  fx_balance("custodian", "cash:USD", "0.00");
  fx_balance(ap_owner(fx.ap1), "cash:USD", "0.00");
  assert_int_equal(fx_int("SELECT count(*) FROM cash_movements WHERE kind = 'refund'"), 2);
  /* A refund key is per kind: "IN-1" is free as a refund reference. */
  cash_refused(id, ORDER_CASH_REFUND, "0.01", "IN-1", -ERR_ORDER_CASH);
  fx_books_ok();
}

/* Post what the engine would for a redeem sold for @c with fee @f. */
static void engine_sold(int64_t id, const char *c, const char *f)
{
  char ref[32], kf[64], kfee[64];
  snprintf(ref, sizeof ref, "order:%lld", (long long)id);
  snprintf(kf, sizeof kf, "test-%lld-fill", (long long)id);
  snprintf(kfee, sizeof kfee, "test-%lld-fee", (long long)id);
  struct money cm = fx_amt(c, 2), fm = fx_amt(f, 2), ncm, nfm;
  money_sub((struct money){0, 2}, cm, &ncm);
  money_sub((struct money){0, 2}, fm, &nfm);
  const struct books_entry e1[] = {{"broker", "cash:USD", ncm}, {ap_owner(fx.ap1), "cash:USD", cm}};
  const struct books_entry e2[] = {{ap_owner(fx.ap1), "cash:USD", nfm}, {"fees", "cash:USD", fm}};
  struct books_posting p1 = {kf, ref, NULL, 0, e1, 2}, p2 = {kfee, ref, NULL, 0, e2, 2};
  assert_int_equal(books_post_txn(fx.c, &p1, NULL), 0);
  assert_int_equal(books_post_txn(fx.c, &p2, NULL), 0);
  char sql[256];
  snprintf(sql, sizeof sql,
           "UPDATE orders SET filled_qty = quantity, fill_cash = %s, fee = %s WHERE id = %lld", c,
           f, (long long)id);
  ts_sql(fx.c, sql);
}

static void test_payout_redeem(void **state)
{
  (void)state;
  int64_t id = fx_redeem();
  engine_sold(id, "1500.00", "8.75");
  /* Not yet payout_submitted: refused. */
  fx_state(id, "cash_settled");
  cash_refused(id, ORDER_CASH_PAYOUT, "100", "P-1", -ERR_ORDER_STATE);
  fx_state(id, "payout_submitted");
  cash_refused(id, ORDER_CASH_REFUND, "100", "P-1", -ERR_INVALID_ARGUMENT);
  cash_refused(id, ORDER_CASH_PAYOUT, "1491.26", "P-1", -ERR_ORDER_CASH);
  /* A first part leaves it payout_submitted; the rest completes it. */
  assert_int_equal(cash(id, ORDER_CASH_PAYOUT, "1000.00", "P-1", NULL), 0);
  assert_int_equal(fx_get(id).state, ORDER_PAYOUT_SUBMITTED);
  assert_int_equal(cash(id, ORDER_CASH_PAYOUT, "491.25", "P-2", NULL), 0);
  struct order o = fx_get(id);
  assert_int_equal(o.state, ORDER_COMPLETED);
  assert_string_equal(fx_fmt(o.cash_paid), "1491.25");
  fx_balance(ap_owner(fx.ap1), "cash:USD", "0.00");
  fx_balance("custodian", "cash:USD", "1491.25");
  fx_balance("fees", "cash:USD", "8.75");
  assert_string_equal(fx_events(id), "->requested requested>validated validated>awaiting_tokens "
                                     "payout_submitted>payout_submitted payout_submitted>paid "
                                     "paid>completed");
  /* Completed: nothing more to pay. */
  cash_refused(id, ORDER_CASH_PAYOUT, "0.01", "P-3", -ERR_ORDER_STATE);
}

static void cancel_ok(int64_t id, enum order_state want)
{
  enum order_state to = ORDER_REQUESTED;
  char actor[32];
  snprintf(actor, sizeof actor, "api:%lld", (long long)fx.ap1);
  int rc = order_cancel(fx.c, id, actor, NULL, &to);
  if (rc != 0)
    fail_msg("cancel %lld: %s", (long long)id, err_name(rc));
  assert_int_equal(to, want);
  assert_int_equal(fx_get(id).state, want);
}

static void cancel_refused(int64_t id, int want)
{
  long long before = fx_rows();
  enum order_state to;
  int rc = order_cancel(fx.c, id, admin_actor(), "ops", &to);
  if (rc != want)
    fail_msg("cancel %lld: want %s, got %s", (long long)id, err_name(want),
             rc == 0 ? "0" : err_name(rc));
  assert_int_equal(fx_rows(), before);
}

static void test_cancel_mint(void **state)
{
  (void)state;
  char sql[256];
  /* awaiting_cash and cash_received: cancelled at once, the cash refundable. */
  int64_t a = fx_mint();
  cancel_ok(a, ORDER_CANCELLED);
  int64_t b = fx_mint();
  assert_int_equal(cash(b, ORDER_CASH_FUNDING, "2011.25", "F-1", NULL), 0);
  cancel_ok(b, ORDER_CANCELLED);
  snprintf(sql, sizeof sql,
           "SELECT detail->>'refundable' || ' ' || actor FROM order_events WHERE order_id = %lld"
           " AND to_state = 'cancelled'",
           (long long)b);
  char want[64];
  snprintf(want, sizeof want, "2011.25 api:%lld", (long long)fx.ap1);
  assert_string_equal(fx_text(sql), want);
  /* Cancelled and again: refused, nothing written. */
  cancel_refused(b, -ERR_ORDER_STATE);
  /* broker_submitted with the broker order recorded: cancel_requested, the broker asked. */
  int64_t c = fx_mint();
  fx_state(c, "broker_submitted");
  struct fix_broker_order_req br = {.id = (uint64_t)c,
                                    .symbol = "AAPL",
                                    .isin = FX_AAPL_ISIN,
                                    .side = FIX_BROKER_BUY,
                                    .qty = fx_amt("10", 6),
                                    .type = FIX_BROKER_LIMIT,
                                    .price = fx_amt("200.123456", 6),
                                    .tif = FIX_BROKER_DAY};
  assert_int_equal(fix_broker_place(fx.c, &br), 0);
  cancel_ok(c, ORDER_CANCEL_REQUESTED);
  assert_true(fx_get(c).cancel_requested);
  snprintf(sql, sizeof sql, "SELECT cancel_state FROM broker_orders WHERE id = %lld", (long long)c);
  assert_string_equal(fx_text(sql), "pending_cancel");
  /* Asked again: no new event, the broker still pending. */
  long long ev = fx_int("SELECT count(*) FROM order_events");
  cancel_ok(c, ORDER_CANCEL_REQUESTED);
  assert_int_equal(fx_int("SELECT count(*) FROM order_events"), ev);
  assert_string_equal(fx_text(sql), "pending_cancel");
  /* partially_filled without a broker order row: cancel_requested, the broker step logged. */
  int64_t d = fx_mint();
  fx_state(d, "partially_filled");
  cancel_ok(d, ORDER_CANCEL_REQUESTED);
  assert_int_equal(order_cancel_broker(fx.c, d), -ERR_FIX_ORDER_UNKNOWN);
  /* Past the broker order, or final: refused. */
  static const char *const past[] = {
      "filled",  "settling", "settled_at_custodian", "mint_submitted",    "minted", "completed",
      "expired", "rejected", "broker_rejected",      "requires_attention"};
  for (size_t i = 0; i < sizeof past / sizeof past[0]; i++) {
    int64_t e = fx_mint();
    fx_state(e, past[i]);
    cancel_refused(e, -ERR_ORDER_STATE);
  }
  cancel_refused(999999, -ERR_ORDER_NOT_FOUND);
  enum order_state to;
  assert_int_equal(order_cancel(fx.c, a, "bad actor", NULL, &to), -ERR_INVALID_ARGUMENT);
  assert_int_equal(order_cancel(fx.c, a, admin_actor(), "", &to), -ERR_INVALID_ARGUMENT);
}

/* The ledger, with AAPLx registered. */
static struct chain_ledger *ledger(void)
{
  struct chain_ledger *l;
  assert_int_equal(chain_builtin_open(fx.c, &l), 0);
  struct chain_token t = {.symbol = "AAPLx", .decimals = 18, .name = "Apple token"};
  assert_int_equal(chain_token_register(l, &t), 0);
  return l;
}

/* Record (and with @execute run) intent "order-<id>-<what>" as the engine would. */
static void engine_intent(struct chain_ledger *l, int64_t id, const char *what, bool execute)
{
  char key[64];
  snprintf(key, sizeof key, "order-%lld-%s", (long long)id, what);
  bool burn = strcmp(what, "burn") == 0;
  struct chain_intent_req req = {.key = key,
                                 .op = burn ? CHAIN_OP_BURN : CHAIN_OP_TRANSFER,
                                 .token = "AAPLx",
                                 .from = burn ? "0x00000000000000000000000000000000000bac57"
                                              : FX_WALLET1,
                                 .to = burn ? NULL : "0x00000000000000000000000000000000000bac57",
                                 .amount = fx_amt("10", 18)};
  assert_int_equal(chain_intent_record(l, &req, NULL), 0);
  if (execute) {
    struct chain_intent it;
    assert_int_equal(chain_intent_execute(l, key, &it), 0);
    assert_int_equal(it.state, CHAIN_INTENT_EXECUTED);
  }
}

/* Give AP 1's wallet 10 AAPLx on the ledger and in the books (as a mint would). */
static void wallet_tokens(struct chain_ledger *l, int64_t id)
{
  char key[64];
  snprintf(key, sizeof key, "test-mint-%lld", (long long)id);
  assert_int_equal(chain_mint(l, key, "AAPLx", FX_WALLET1, fx_amt("10", 18), NULL), 0);
  const struct books_entry e0[] = {{"chain", "tokens:AAPLx", fx_amt("-10", 18)},
                                   {ap_owner(fx.ap1), "tokens:AAPLx", fx_amt("10", 18)}};
  struct books_posting p0 = {key, "test:mint", NULL, 0, e0, 2};
  assert_int_equal(books_post_txn(fx.c, &p0, NULL), 0);
}

/* The books of the escrow (and the burn) under the order, as the engine posts them. */
static void engine_books(int64_t id, bool burned)
{
  char ref[32], k1[64], k2[64];
  snprintf(ref, sizeof ref, "order:%lld", (long long)id);
  snprintf(k1, sizeof k1, "test-%lld-escrow", (long long)id);
  snprintf(k2, sizeof k2, "test-%lld-burn", (long long)id);
  struct money t = fx_amt("10", 18), nt = fx_amt("-10", 18);
  const struct books_entry e1[] = {{ap_owner(fx.ap1), "tokens:AAPLx", nt},
                                   {"issuer", "tokens:AAPLx", t}};
  const struct books_entry e2[] = {{"issuer", "tokens:AAPLx", nt}, {"chain", "tokens:AAPLx", t}};
  struct books_posting p1 = {k1, ref, NULL, 0, e1, 2}, p2 = {k2, ref, NULL, 0, e2, 2};
  assert_int_equal(books_post_txn(fx.c, &p1, NULL), 0);
  if (burned)
    assert_int_equal(books_post_txn(fx.c, &p2, NULL), 0);
}

static const char *intent(int64_t id, const char *what)
{
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT op || ' ' || from_address || ' ' || to_address || ' ' || amount || ' ' ||"
           " state FROM chain_intents WHERE key = 'order-%lld-%s'",
           (long long)id, what);
  return fx_text(sql);
}

static void test_cancel_redeem(void **state)
{
  (void)state;
  char sql[256], want[256], key[64];
  struct chain_ledger *l = ledger();
  struct chain_intent it;
  struct money bal;
  /* awaiting_tokens, nothing moved: cancelled, no intent. */
  int64_t a = fx_redeem();
  cancel_ok(a, ORDER_CANCELLED);
  assert_int_equal(fx_int("SELECT count(*) FROM chain_intents"), 0);
  /* awaiting_tokens with the escrow on its way: cancelled, nothing recorded here (the engine's
   * return step sends an escrow back that executes without being booked). */
  int64_t b = fx_redeem();
  wallet_tokens(l, b);
  engine_intent(l, b, "escrow", false);
  long long intents = fx_int("SELECT count(*) FROM chain_intents");
  long long postings = fx_int("SELECT count(*) FROM books_postings");
  cancel_ok(b, ORDER_CANCELLED);
  assert_int_equal(fx_int("SELECT count(*) FROM chain_intents"), intents);
  assert_int_equal(fx_int("SELECT count(*) FROM books_postings"), postings);
  snprintf(key, sizeof key, "order-%lld-escrow", (long long)b);
  assert_int_equal(chain_intent_execute(l, key, &it), 0); /* back to the wallet: the engine's */
  snprintf(key, sizeof key, "order-%lld-return", (long long)b);
  struct chain_intent_req back = {.key = key,
                                  .op = CHAIN_OP_TRANSFER,
                                  .token = "AAPLx",
                                  .from = "0x00000000000000000000000000000000000bac57",
                                  .to = FX_WALLET1,
                                  .amount = fx_amt("10", 18)};
  assert_int_equal(chain_intent_record(l, &back, NULL), 0);
  assert_int_equal(chain_intent_execute(l, key, &it), 0);
  /* tokens_received: a return transfer from the redemption address, the books given back. */
  int64_t c = fx_redeem();
  engine_intent(l, c, "escrow", true);
  engine_books(c, false);
  fx_state(c, "tokens_received");
  cancel_ok(c, ORDER_CANCELLED);
  snprintf(want, sizeof want,
           "transfer 0x00000000000000000000000000000000000bac57 %s 10.000000000000000000 recorded",
           FX_WALLET1);
  assert_string_equal(intent(c, "return"), want);
  fx_balance(ap_owner(fx.ap1), "tokens:AAPLx", "10.000000000000000000");
  fx_balance("issuer", "tokens:AAPLx", "0.000000000000000000");
  snprintf(sql, sizeof sql,
           "SELECT detail->>'intent' || ' ' || (detail->>'posting') FROM order_events"
           " WHERE order_id = %lld AND to_state = 'cancelled'",
           (long long)c);
  snprintf(key, sizeof key, "order-%lld-return", (long long)c);
  snprintf(want, sizeof want, "%s %s", key, key);
  assert_string_equal(fx_text(sql), want);
  /* The engine executes it: the wallet has its tokens again. */
  assert_int_equal(chain_intent_execute(l, key, &it), 0);
  assert_int_equal(it.state, CHAIN_INTENT_EXECUTED);
  assert_int_equal(chain_balance(l, "AAPLx", FX_WALLET1, CHAIN_LATEST, &bal, NULL), 0);
  assert_string_equal(fx_fmt(bal), "10.000000000000000000");
  /* burned (on receipt, before the broker order), the burn still on its way: refused. */
  int64_t d = fx_redeem();
  engine_intent(l, d, "escrow", true);
  engine_books(d, true);
  engine_intent(l, d, "burn", false);
  fx_state(d, "burned");
  ts_sql(fx.c, "UPDATE orders SET tokens_done = 10 WHERE state = 'burned'");
  cancel_refused(d, -ERR_ORDER_STATE);
  /* Once it executed: a re-mint with its posting (chain -T, ap +T). */
  snprintf(key, sizeof key, "order-%lld-burn", (long long)d);
  assert_int_equal(chain_intent_execute(l, key, &it), 0);
  cancel_ok(d, ORDER_CANCELLED);
  snprintf(want, sizeof want,
           "mint 0x0000000000000000000000000000000000000000 %s 10.000000000000000000 recorded",
           FX_WALLET1);
  assert_string_equal(intent(d, "remint"), want);
  fx_balance(ap_owner(fx.ap1), "tokens:AAPLx", "10.000000000000000000");
  fx_balance("issuer", "tokens:AAPLx", "0.000000000000000000");
  fx_balance("chain", "tokens:AAPLx", "-10.000000000000000000");
  snprintf(key, sizeof key, "order-%lld-remint", (long long)d);
  assert_int_equal(chain_intent_execute(l, key, &it), 0);
  assert_int_equal(chain_balance(l, "AAPLx", FX_WALLET1, CHAIN_LATEST, &bal, NULL), 0);
  assert_string_equal(fx_fmt(bal), "10.000000000000000000");
  struct money supply;
  assert_int_equal(chain_supply(l, "AAPLx", CHAIN_LATEST, &supply, NULL), 0);
  assert_string_equal(fx_fmt(supply), "10.000000000000000000");
  assert_string_equal(fx_fmt(fx_get(d).tokens_done), "0.000000000000000000");
  /* at_payout burns after the broker order: TSLA burned is past it. */
  struct order_request rq = fx_req(ORDER_REDEEM, fx.ap1, "TSLA", "3", NULL, FX_WALLET1);
  int64_t e = fx_create(&rq);
  fx_state(e, "burned");
  cancel_refused(e, -ERR_ORDER_STATE);
  /* A redeem in broker_submitted: cancel_requested. */
  int64_t f = fx_redeem();
  fx_state(f, "broker_submitted");
  cancel_ok(f, ORDER_CANCEL_REQUESTED);
  chain_ledger_free(l);
  fx_books_ok();
}

struct evs {
  char text[1024];
  int64_t last;
  int n;
};

static int collect(void *cls, const struct order_event *e)
{
  struct evs *x = cls;
  size_t len = strlen(x->text);
  snprintf(x->text + len, sizeof x->text - len, "%s%d:%s>%s", len > 0 ? " " : "", e->seq,
           e->has_from ? order_state_name(e->from) : "-", order_state_name(e->to));
  x->last = e->id;
  x->n++;
  return 0;
}

static void test_events(void **state)
{
  (void)state;
  int64_t id = fx_mint();
  int64_t other = fx_mint(); /* its events interleave in the table, never in the list */
  assert_int_equal(cash(id, ORDER_CASH_FUNDING, "11.25", "E-1", NULL), 0);
  assert_int_equal(cash(other, ORDER_CASH_FUNDING, "1.00", "E-2", NULL), 0);
  assert_int_equal(cash(id, ORDER_CASH_FUNDING, "2000.00", "E-3", NULL), 0);
  enum order_state to;
  assert_int_equal(order_cancel(fx.c, id, admin_actor(), "ops \"quoted\"", &to), 0);
  struct evs x = {0};
  assert_int_equal(order_events(fx.c, id, 0, 100, collect, &x), 6);
  assert_string_equal(x.text, "1:->requested 2:requested>validated 3:validated>awaiting_cash "
                              "4:awaiting_cash>awaiting_cash 5:awaiting_cash>cash_received "
                              "6:cash_received>cancelled");
  /* Pages of 4 then the rest after the last id. */
  struct evs p = {0};
  assert_int_equal(order_events(fx.c, id, 0, 4, collect, &p), 4);
  assert_int_equal(order_events(fx.c, id, p.last, 4, collect, &p), 2);
  assert_string_equal(p.text, x.text);
  assert_int_equal(order_events(fx.c, id, p.last, 4, collect, &p), 0);
  /* The reason kept exactly, escaped as JSON. */
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT detail->>'reason' FROM order_events WHERE order_id = %lld AND seq = 6",
           (long long)id);
  assert_string_equal(fx_text(sql), "ops \"quoted\"");
  /* Times are the clock's. */
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM order_events WHERE order_id = %lld AND at >= 'epoch'::timestamptz"
           " + %lld * interval '1 millisecond' AND at < 'epoch'::timestamptz + %lld * interval '1"
           " millisecond'",
           (long long)id, (long long)FX_T0, (long long)FX_T0 + 60000);
  assert_int_equal(fx_int(sql), 6);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_fund, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_refund_mint, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_payout_redeem, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_cancel_mint, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_cancel_redeem, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_events, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests_name("orders_cash", tests, NULL, NULL);
}
