/*
 * Cash an issuer admin records against an order: funding received for a
 * mint, refunds and payouts sent to the AP.  Each is a row of
 * cash_movements (unique per kind and bank reference: a statement line
 * is recorded once), the order's running figure (cash_funded or
 * cash_paid), a books posting between the custodian (the issuer's bank)
 * and the AP under "order:<id>", and an event, all in the caller's
 * transaction.  Checks come first, so a refusal writes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_orders_int.h"

static const char *const kind_names[] = {"funding", "refund", "payout"};

const char *order_cash_kind_name(enum order_cash_kind k)
{
  return (unsigned)k <= ORDER_CASH_PAYOUT ? kind_names[k] : "unknown";
}

#define MV_COLS                                                                                    \
  "id, order_id, kind, amount, bank_ref, recorded_by, floor(extract(epoch FROM at) * "             \
  "1000)::bigint"

static const struct db_stmt q_find = {
    "order_movement_find",
    "SELECT " MV_COLS " FROM cash_movements WHERE kind = $1 AND bank_ref = $2", 2};

static const struct db_stmt q_insert = {
    "order_movement_insert",
    "INSERT INTO cash_movements (order_id, kind, amount, bank_ref, recorded_by)"
    " VALUES ($1::bigint, $2, $3::numeric, $4, $5::bigint) ON CONFLICT DO NOTHING"
    " RETURNING " MV_COLS,
    5};

static const struct db_stmt q_add_funded = {
    "order_add_funded",
    "UPDATE orders SET cash_funded = cash_funded + $2::numeric, updated = clock_now()"
    " WHERE id = $1::bigint",
    2};

static const struct db_stmt q_add_paid = {
    "order_add_paid",
    "UPDATE orders SET cash_paid = cash_paid + $2::numeric, updated = clock_now()"
    " WHERE id = $1::bigint",
    2};

static int parse_movement(PGresult *r, struct order_movement *m)
{
  memset(m, 0, sizeof *m);
  m->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  m->order_id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
  const char *k = PQgetvalue(r, 0, 2);
  m->kind = strcmp(k, "payout") == 0   ? ORDER_CASH_PAYOUT
            : strcmp(k, "refund") == 0 ? ORDER_CASH_REFUND
                                       : ORDER_CASH_FUNDING;
  util_strlcpy(m->bank_ref, PQgetvalue(r, 0, 4), sizeof m->bank_ref);
  m->recorded_by = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
  m->at_ms = ord__ms(PQgetvalue(r, 0, 6));
  return ord__num(PQgetvalue(r, 0, 3), ISSUANCE_CASH_SCALE, &m->amount);
}

/*
 * An earlier movement of @kind under @bank_ref: 1 (the same order and
 * amount: *m filled, existed), -ERR_API_CONFLICT (another), 0 (none).
 */
static int earlier(struct db_conn *c, enum order_cash_kind kind, const char *bank_ref, int64_t id,
                   struct money amount, struct order_movement *m)
{
  const char *params[] = {kind_names[kind], bank_ref};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_find, params, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == 0)
    return 0;
  int rc = parse_movement(r, m);
  PQclear(r);
  if (rc != 0)
    return rc;
  if (m->order_id != id || money_cmp(m->amount, amount) != 0)
    return -ERR_API_CONFLICT;
  m->existed = true;
  return 1;
}

/* Amount and bank reference of a request; the amount at cents into @out. */
static int check_args(struct db_conn *c, int64_t admin, struct money amount, const char *bank_ref,
                      struct money *out)
{
  if (c == NULL || !c->in_txn || admin <= 0 || !ord__text_ok(bank_ref, ORDER_REF_MAX) ||
      money_rescale(amount, ISSUANCE_CASH_SCALE, MONEY_ROUND_EXACT, out) != 0 || out->v <= 0)
    return -ERR_INVALID_ARGUMENT;
  return 0;
}

/* The movement row, the order's figure and the books posting. */
static int record(struct db_conn *c, const struct order *o, enum order_cash_kind kind,
                  struct money amount, const char *bank_ref, int64_t admin,
                  struct order_movement *m)
{
  char ids[ISS_I64_TXT], adm[ISS_I64_TXT], amt[MONEY_STR_MAX], key[BOOKS_KEY_MAX],
      owner[BOOKS_OWNER_MAX];
  money_format(amount, amt, sizeof amt);
  const char *pi[] = {ord__i64(o->id, ids), kind_names[kind], amt, bank_ref, ord__i64(admin, adm)};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_insert, pi, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == 0) {
    /* Recorded by a transaction that committed after our snapshot. */
    util_strlcpy(c->last_sqlstate, "40001", sizeof c->last_sqlstate);
    return -ERR_DB_CONFLICT;
  }
  int rc = parse_movement(r, m);
  PQclear(r);
  if (rc != 0)
    return rc;
  const char *pu[] = {ids, amt};
  qs = db_exec(c, kind == ORDER_CASH_FUNDING ? &q_add_funded : &q_add_paid, pu, NULL);
  if (qs < 0)
    return issuance__qs_err(qs);
  snprintf(key, sizeof key, "order-%lld-%s-%lld", (long long)o->id, kind_names[kind],
           (long long)m->id);
  ord__ap_owner(o->ap, owner);
  if (kind == ORDER_CASH_FUNDING)
    return ord__post2(c, o, key, BOOKS_OWNER_CUSTODIAN, owner, "cash:USD", amount);
  return ord__post2(c, o, key, owner, BOOKS_OWNER_CUSTODIAN, "cash:USD", amount);
}

static const char *detail(struct ord_json *d, const struct order_movement *m, const char *fig,
                          struct money total, struct money due)
{
  char id[ISS_I64_TXT];
  ord__json_begin(d);
  ord__json_str(d, "cash", kind_names[m->kind]);
  ord__json_raw(d, "movement", ord__i64(m->id, id));
  ord__json_money(d, "amount", m->amount);
  ord__json_str(d, "bank_ref", m->bank_ref);
  ord__json_money(d, fig, total);
  ord__json_money(d, "cash_due", due);
  return ord__json_end(d);
}

int order_fund_in(struct db_conn *c, int64_t id, int64_t admin, struct money amount,
                  const char *bank_ref, struct order_movement *out)
{
  struct money x, funded, due;
  struct order o;
  struct order_movement m;
  struct ord_json d;
  char actor[ORDER_ACTOR_MAX];
  int rc = check_args(c, admin, amount, bank_ref, &x);
  if (rc != 0)
    return rc;
  if ((rc = earlier(c, ORDER_CASH_FUNDING, bank_ref, id, x, &m)) != 0) {
    if (rc == 1 && out != NULL)
      *out = m;
    return rc == 1 ? 0 : rc;
  }
  if ((rc = order_get(c, id, true, &o)) != 0)
    return rc;
  if (o.kind != ORDER_MINT || (o.state != ORDER_AWAITING_CASH && o.state != ORDER_CASH_RECEIVED))
    return -ERR_ORDER_STATE;
  if (money_add(o.cash_funded, x, &funded) != 0 ||
      money_cmp(funded, (struct money){(__int128)100000000000000000LL * 1000, 2}) >= 0)
    return -ERR_ORDER_CASH;
  o.cash_funded = funded;
  if (order_cash_due(&o, &due) != 0)
    return -ERR_ORDER_CASH;
  if ((rc = record(c, &o, ORDER_CASH_FUNDING, x, bank_ref, admin, &m)) != 0)
    return rc;
  snprintf(actor, sizeof actor, "admin:%lld", (long long)admin);
  const char *det = detail(&d, &m, "cash_funded", funded, due);
  if (det == NULL)
    return -ERR_INTERNAL;
  if (o.state == ORDER_AWAITING_CASH && money_cmp(funded, o.cash_required) >= 0)
    rc = order_transition_in(c, id, ORDER_AWAITING_CASH, ORDER_CASH_RECEIVED, actor, det);
  else
    rc = order_event_in(c, id, o.state, actor, det);
  if (rc == 0 && out != NULL)
    *out = m;
  return rc;
}

/* Mint states whose fills (and so the fee) may still come. */
static bool fills_open(enum order_state st)
{
  return st == ORDER_REQUESTED || st == ORDER_VALIDATED || st == ORDER_AWAITING_CASH ||
         st == ORDER_CASH_RECEIVED || st == ORDER_BROKER_SUBMITTED ||
         st == ORDER_PARTIALLY_FILLED || st == ORDER_CANCEL_REQUESTED;
}

/* What may be paid under @o now (docs/orders.md, "Cash"). */
static int payable(const struct order *o, struct money *out)
{
  struct money due;
  if (order_cash_due(o, &due) != 0)
    return -ERR_ORDER_CASH;
  if (o->kind == ORDER_REDEEM) {
    if (o->state != ORDER_PAYOUT_SUBMITTED)
      return -ERR_ORDER_STATE;
    *out = due;
    return 0;
  }
  if (fills_open(o->state)) {
    /* Only what exceeds what the order may still spend. */
    struct money spare;
    if (money_sub(o->cash_funded, o->cash_paid, &spare) != 0 ||
        money_sub(spare, o->cash_required, &spare) != 0)
      return -ERR_ORDER_CASH;
    if (money_cmp(spare, due) < 0)
      due = spare;
  }
  *out = due;
  return 0;
}

int order_pay_in(struct db_conn *c, int64_t id, int64_t admin, enum order_cash_kind kind,
                 struct money amount, const char *bank_ref, struct order_movement *out)
{
  struct money x, max, due;
  struct order o;
  struct order_movement m;
  struct ord_json d;
  char actor[ORDER_ACTOR_MAX];
  if (kind != ORDER_CASH_REFUND && kind != ORDER_CASH_PAYOUT)
    return -ERR_INVALID_ARGUMENT;
  int rc = check_args(c, admin, amount, bank_ref, &x);
  if (rc != 0)
    return rc;
  if ((rc = earlier(c, kind, bank_ref, id, x, &m)) != 0) {
    if (rc == 1 && out != NULL)
      *out = m;
    return rc == 1 ? 0 : rc;
  }
  if ((rc = order_get(c, id, true, &o)) != 0)
    return rc;
  if ((o.kind == ORDER_MINT) != (kind == ORDER_CASH_REFUND))
    return -ERR_INVALID_ARGUMENT;
  if ((rc = payable(&o, &max)) != 0)
    return rc;
  if (money_cmp(x, max) > 0)
    return -ERR_ORDER_CASH;
  if (money_add(o.cash_paid, x, &o.cash_paid) != 0 || order_cash_due(&o, &due) != 0)
    return -ERR_ORDER_CASH;
  if ((rc = record(c, &o, kind, x, bank_ref, admin, &m)) != 0)
    return rc;
  snprintf(actor, sizeof actor, "admin:%lld", (long long)admin);
  const char *det = detail(&d, &m, "cash_paid", o.cash_paid, due);
  if (det == NULL)
    return -ERR_INTERNAL;
  if (o.kind == ORDER_REDEEM && due.v == 0) {
    rc = order_transition_in(c, id, ORDER_PAYOUT_SUBMITTED, ORDER_PAID, actor, det);
    if (rc == 0)
      rc = order_transition_in(c, id, ORDER_PAID, ORDER_COMPLETED, actor, "{}");
  } else {
    rc = order_event_in(c, id, o.state, actor, det);
  }
  if (rc == 0 && out != NULL)
    *out = m;
  return rc;
}
