/*
 * The orders' books hook (engine_books_check(), a books_check_fn run by
 * books_check_with() in the checker's read-only snapshot): every order
 * against the postings of its reference "order:<id>" and its chain
 * intents.  For each order (docs/engine.md, "Books check"):
 *
 *   1. the AP's cash under the order = cash_due (cash_funded + (redeem)
 *      fill_cash - (mint) fill_cash - fee - cash_paid);
 *   2. the AP's tokens under the order = tokens_done (mint), or, for a
 *      redeem whose tokens were received, minus the escrow plus what was
 *      given back (return, remint); 0 for a redeem never received;
 *   3. the chain's tokens under the order = -tokens_done (mint) or
 *      +tokens_done (redeem: burned less re-minted);
 *   4. a mint's tokens_done equals its executed mint intent, once minted;
 *   5. the issuer's shares in transit = filled - settled, and its settled
 *      shares = settled (a redeem's with the opposite sign);
 *   6. an order that never reached broker_submitted has no fill; a
 *      completed mint and a redeem in payout_submitted, paid or completed
 *      are fully settled (settled_qty = filled_qty > 0).
 * Each difference is one BOOKS_ISSUE_EXTERNAL discrepancy naming the
 * order, the owner and asset, the expected and the actual figure.
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_engine_int.h"

static const struct db_stmt q_orders = {
    "engine_books_orders",
    "WITH sums AS (SELECT p.reference, a.owner, a.asset, sum(e.amount) AS s"
    " FROM books_postings p JOIN books_entries e ON e.posting_id = p.id"
    " JOIN books_accounts a ON a.id = e.account_id WHERE p.reference LIKE 'order:%'"
    " GROUP BY p.reference, a.owner, a.asset)"
    " SELECT o.id, o.kind, o.state, o.ap, i.isin, i.token_symbol,"
    " o.cash_funded, o.fill_cash, o.fee, o.cash_paid, o.filled_qty, o.settled_qty,"
    " o.tokens_done,"
    " coalesce((SELECT s FROM sums WHERE reference = 'order:' || o.id AND owner = 'ap:' || o.ap"
    " AND asset = 'cash:USD'), 0),"
    " coalesce((SELECT s FROM sums WHERE reference = 'order:' || o.id AND owner = 'ap:' || o.ap"
    " AND asset = 'tokens:' || i.token_symbol), 0),"
    " coalesce((SELECT s FROM sums WHERE reference = 'order:' || o.id AND owner = 'chain'"
    " AND asset = 'tokens:' || i.token_symbol), 0),"
    " coalesce((SELECT s FROM sums WHERE reference = 'order:' || o.id AND owner = 'issuer'"
    " AND asset = 'shares:' || i.isin || ':in_transit'), 0),"
    " coalesce((SELECT s FROM sums WHERE reference = 'order:' || o.id AND owner = 'issuer'"
    " AND asset = 'shares:' || i.isin || ':settled'), 0),"
    " (SELECT amount FROM chain_intents WHERE key = 'order-' || o.id || '-mint'"
    " AND state = 'executed'),"
    " coalesce((SELECT amount FROM chain_intents WHERE key = 'order-' || o.id || '-escrow'"
    " AND state = 'executed'), 0),"
    " coalesce((SELECT sum(amount) FROM chain_intents WHERE key IN ('order-' || o.id || '-return',"
    " 'order-' || o.id || '-remint') AND state <> 'failed'), 0),"
    " EXISTS (SELECT 1 FROM order_events ev WHERE ev.order_id = o.id"
    " AND ev.to_state = 'tokens_received'),"
    " EXISTS (SELECT 1 FROM order_events ev WHERE ev.order_id = o.id"
    " AND ev.to_state = 'broker_submitted')"
    " FROM orders o JOIN instruments i ON i.id = o.instrument ORDER BY o.id",
    0};

/* Columns of q_orders. */
enum {
  C_ID,
  C_KIND,
  C_STATE,
  C_AP,
  C_ISIN,
  C_TOKEN,
  C_FUNDED,
  C_FILL_CASH,
  C_FEE,
  C_PAID,
  C_FILLED,
  C_SETTLED,
  C_TOKENS_DONE,
  C_AP_CASH,
  C_AP_TOKENS,
  C_CHAIN_TOKENS,
  C_TRANSIT,
  C_SETTLED_SH,
  C_MINTED,
  C_ESCROWED,
  C_GIVEN_BACK,
  C_RECEIVED,
  C_REACHED
};

struct row_ctx {
  struct books_report *r;
  PGresult *res;
  int row;
  int64_t id;
  char state[32];
  int rc;
};

static const char *col(const struct row_ctx *x, int c)
{
  return PQgetvalue(x->res, x->row, c);
}

/* A figure of the row at @scale (NULL column: 0).  Unreadable: 1 (the row is reported). */
static int fig(const struct row_ctx *x, int c, unsigned scale, struct money *out)
{
  if (PQgetisnull(x->res, x->row, c))
    return money_make(0, scale, out) == 0 ? 0 : 1;
  return issuance__num_money(col(x, c), scale, out) == 0 ? 0 : 1;
}

static void report(struct row_ctx *x, const char *owner, const char *asset, const char *what,
                   struct money expected, struct money actual)
{
  struct books_discrepancy d;
  memset(&d, 0, sizeof d);
  d.issue = BOOKS_ISSUE_EXTERNAL;
  util_strlcpy(d.owner, owner, sizeof d.owner);
  util_strlcpy(d.asset, asset, sizeof d.asset);
  struct money a;
  /* The actual figure at the expected one's scale when it is exact there. */
  if (money_rescale(actual, expected.scale, MONEY_ROUND_EXACT, &a) != 0)
    a = actual;
  engine__fmt(expected, d.expected);
  engine__fmt(a, d.actual);
  snprintf(d.text, sizeof d.text, "order %lld (%s): %s is %s, expected %s", (long long)x->id,
           x->state, what, d.actual, d.expected);
  if (x->rc == 0 && books_report_add(x->r, &d) != 0)
    x->rc = -ERR_NOMEM;
}

static void expect(struct row_ctx *x, const char *owner, const char *asset, const char *what,
                   struct money expected, struct money actual)
{
  if (money_cmp(expected, actual) != 0)
    report(x, owner, asset, what, expected, actual);
}

static void check_row(struct row_ctx *x)
{
  struct money funded, fcash, fee, paid, filled, settled, done, ap_cash, ap_tok, chain_tok, transit,
      settled_sh, minted, escrowed, back, due, t, zero;
  char ap[BOOKS_OWNER_MAX], cash[] = "cash:USD", tokens[BOOKS_ASSET_MAX], tr[BOOKS_ASSET_MAX],
                            st[BOOKS_ASSET_MAX];
  bool mint = strcmp(col(x, C_KIND), "mint") == 0;
  x->id = strtoll(col(x, C_ID), NULL, 10);
  util_strlcpy(x->state, col(x, C_STATE), sizeof x->state);
  snprintf(ap, sizeof ap, "ap:%s", col(x, C_AP));
  snprintf(tokens, sizeof tokens, "tokens:%s", col(x, C_TOKEN));
  snprintf(tr, sizeof tr, "shares:%s:in_transit", col(x, C_ISIN));
  snprintf(st, sizeof st, "shares:%s:settled", col(x, C_ISIN));
  money_make(0, 0, &zero);
  int bad = fig(x, C_FUNDED, 2, &funded) | fig(x, C_FILL_CASH, 2, &fcash) | fig(x, C_FEE, 2, &fee) |
            fig(x, C_PAID, 2, &paid) | fig(x, C_FILLED, 6, &filled) |
            fig(x, C_SETTLED, 6, &settled) | fig(x, C_TOKENS_DONE, 18, &done) |
            fig(x, C_AP_CASH, 18, &ap_cash) | fig(x, C_AP_TOKENS, 18, &ap_tok) |
            fig(x, C_CHAIN_TOKENS, 18, &chain_tok) | fig(x, C_TRANSIT, 18, &transit) |
            fig(x, C_SETTLED_SH, 18, &settled_sh) | fig(x, C_MINTED, 18, &minted) |
            fig(x, C_ESCROWED, 18, &escrowed) | fig(x, C_GIVEN_BACK, 18, &back);
  if (bad != 0) {
    report(x, ap, "", "a stored figure (unreadable)", zero, zero);
    return;
  }
  bool received = col(x, C_RECEIVED)[0] == 't', reached = col(x, C_REACHED)[0] == 't';
  /* 1. cash */
  if (money_sub(funded, fee, &due) != 0 ||
      (mint ? money_sub(due, fcash, &due) : money_add(due, fcash, &due)) != 0 ||
      money_sub(due, paid, &due) != 0)
    return;
  expect(x, ap, cash, "the AP's cash under the order", due, ap_cash);
  /* 2-4. tokens */
  if (mint) {
    expect(x, ap, tokens, "the AP's tokens under the order", done, ap_tok);
    t = done;
    t.v = -t.v;
    expect(x, BOOKS_OWNER_CHAIN, tokens, "the chain's tokens under the order", t, chain_tok);
    bool minting = strcmp(x->state, "mint_submitted") == 0 || strcmp(x->state, "mint_failed") == 0;
    if (!minting && !PQgetisnull(x->res, x->row, C_MINTED))
      expect(x, ap, tokens, "tokens_done against the executed mint intent", minted, done);
    else if (done.v != 0 && PQgetisnull(x->res, x->row, C_MINTED))
      report(x, ap, tokens, "tokens minted without an executed mint intent", zero, done);
  } else {
    money_make(0, 18, &t);
    if (received && (money_sub(back, escrowed, &t) != 0))
      return;
    expect(x, ap, tokens, "the AP's tokens under the order", t, ap_tok);
    expect(x, BOOKS_OWNER_CHAIN, tokens, "the chain's tokens under the order", done, chain_tok);
  }
  /* 5. shares */
  if (money_sub(filled, settled, &t) != 0)
    return;
  if (!mint)
    t.v = -t.v;
  expect(x, BOOKS_OWNER_ISSUER, tr, "the issuer's shares in transit under the order", t, transit);
  t = settled;
  if (!mint)
    t.v = -t.v;
  expect(x, BOOKS_OWNER_ISSUER, st, "the issuer's settled shares under the order", t, settled_sh);
  /* 6. states */
  if (!reached && filled.v != 0)
    report(x, BOOKS_OWNER_ISSUER, tr, "filled_qty of an order that never reached its broker", zero,
           filled);
  bool done_state = mint ? strcmp(x->state, "completed") == 0
                         : (strcmp(x->state, "payout_submitted") == 0 ||
                            strcmp(x->state, "paid") == 0 || strcmp(x->state, "completed") == 0);
  if (done_state && (money_cmp(settled, filled) != 0 || filled.v <= 0))
    report(x, BOOKS_OWNER_ISSUER, st, "settled_qty of a finished order (filled_qty expected)",
           filled, settled);
  if (mint && strcmp(x->state, "completed") == 0 && done.v <= 0)
    report(x, ap, tokens, "tokens_done of a completed mint", minted, done);
}

int engine_books_check(struct db_conn *c, struct books_report *r, void *cls)
{
  PGresult *res = NULL;
  (void)cls;
  enum db_qs qs = db_exec(c, &q_orders, NULL, &res);
  if (qs < 0)
    return issuance__qs_err(qs);
  struct row_ctx x = {.r = r, .res = res};
  for (x.row = 0; x.row < (int)qs && x.rc == 0; x.row++)
    check_row(&x);
  PQclear(res);
  return x.rc;
}
