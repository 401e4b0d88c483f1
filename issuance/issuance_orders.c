/*
 * Creating an order: every check of order_create_in() in its documented
 * order (issuance.h), each a read that writes nothing, then the figures
 * (token_amount, cash_required, session_date, cash_deadline) and one
 * statement that inserts the order in awaiting_cash / awaiting_tokens
 * with its three events (requested, validated, awaiting_*).  So a
 * refusal leaves no trace and a created order always has its three
 * events; every later change goes through order_transition_in().  The SERIALIZABLE transaction of
 * the caller makes the reads (pauses, limits, the instrument) hold at commit.
 */
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "issuance/issuance_orders_int.h"

/* The largest figures the columns hold (numeric(30, 6), numeric(20, 2)). */
#define QTY_V_LIMIT  ((__int128)1000000000000000000LL * 1000000000000LL) /* 10^30 at scale 6 */
#define CASH_V_LIMIT ((__int128)100000000000000000LL * 1000)             /* 10^20 at scale 2 */

/* The instrument as creation needs it. */
struct inst {
  int64_t id;
  char symbol[ORDER_SYMBOL_MAX], token_symbol[ORDER_SYMBOL_MAX];
  unsigned token_decimals;
  char mint_policy[16], burn_policy[16];
  struct money min_qty, max_qty, fee_flat, fee_rate, multiplier;
  char open[8], cutoff[8];
  bool queue; /* out_of_hours = 'queue' */
};

/* What creation computed. */
struct figures {
  struct money quantity, limit, token_amount, cash_required;
  struct order_session session;
  int64_t now_ms;
  int64_t key_id;
  unsigned char sig[64];
};

/*
 * The single-row checks of creation and the clock, in one statement (one
 * snapshot, as the separate reads were): the AP principal (0-1), the
 * instrument by symbol or token symbol (2-15, NULL when none), the wallet
 * on the AP's allow-list (16), a pause of this kind, global or the
 * instrument's (17), the instrument's corporate-action window at the
 * clock (18) and the clock in Unix ms (19).  validate() reads them in the
 * documented order; the same rows and ranges as the separate statements
 * of participants, pauses and corporate actions read.
 */
static const struct db_stmt q_checks = {
    "order_checks",
    "WITH clk AS (SELECT clock_now() AS t),"
    " i AS (SELECT id, symbol, token_symbol, token_decimals, mint_policy, burn_policy,"
    " min_order_qty, max_order_qty, fee_flat, fee_rate, market_open, cutoff, out_of_hours,"
    " multiplier FROM instruments WHERE symbol = $2 OR token_symbol = $2"
    " ORDER BY (symbol = $2) DESC LIMIT 1)"
    " SELECT p.role, p.disabled, i.id, i.symbol, i.token_symbol, i.token_decimals, i.mint_policy,"
    " i.burn_policy, i.min_order_qty, i.max_order_qty, i.fee_flat, i.fee_rate, i.market_open,"
    " i.cutoff, i.out_of_hours, i.multiplier,"
    " EXISTS (SELECT 1 FROM ap_wallets w WHERE w.ap = $1::bigint AND w.address = $3"
    " AND w.revoked_at IS NULL),"
    " i.id IS NOT NULL AND order_paused(i.id, $4),"
    " i.id IS NOT NULL AND corpact_window(i.id, clk.t) IS NOT NULL,"
    " (extract(epoch FROM clk.t) * 1000)::bigint,"
    " EXISTS (SELECT 1 FROM ap_signing_keys k WHERE k.ap = $1::bigint AND k.revoked_at IS NULL),"
    " i.id IS NOT NULL AND EXISTS (SELECT 1 FROM order_limits l WHERE l.instrument = i.id"
    " AND l.kind = $4 AND (l.ap IS NULL OR l.ap = $1::bigint))"
    " FROM clk LEFT JOIN principals p ON p.id = $1::bigint LEFT JOIN i ON true",
    4};

/*
 * The order in its first waiting state with its three events (seq 1-3:
 * requested, validated, awaiting_*), in one statement: nothing reads the
 * hot right-hand index pages the concurrent creations insert into (an
 * UPDATE and a max(seq) per transition would, and SERIALIZABLE then
 * aborts many of them under load).  It returns the order as order_get()
 * would read it (the events' CTE runs to completion all the same), so the
 * caller's reply needs no second read.
 */
static const struct db_stmt q_insert = {
    "order_insert",
    "WITH o AS (INSERT INTO orders (kind, ap, instrument, wallet, quantity, limit_price,"
    " token_amount, multiplier, mint_policy, burn_policy, fee_flat, fee_rate, cash_required,"
    " state, session_date, cash_deadline, signing_key, signature, signed_payload, client_ref)"
    " VALUES ($1, $2::bigint, $3::bigint, $4, $5::numeric, $6::numeric, $7::numeric,"
    " $8::numeric, $9, $10, $11::numeric, $12::numeric, $13::numeric, $23,"
    " DATE '1970-01-01' + $14::integer,"
    " 'epoch'::timestamptz + $15::bigint * interval '1 millisecond', $16::bigint, $17::bytea,"
    " $18::bytea, $19) RETURNING *),"
    " e AS (INSERT INTO order_events (order_id, seq, from_state, to_state, actor, detail)"
    " SELECT id, 1, NULL, 'requested', $20, $21::jsonb FROM o"
    " UNION ALL SELECT id, 2, 'requested', 'validated', $20, $22::jsonb FROM o"
    " UNION ALL SELECT id, 3, 'validated', $23, $20, $24::jsonb FROM o)"
    " SELECT " ORD_ORDER_COLS " FROM o JOIN instruments i ON i.id = o.instrument",
    24};

static const char *col(PGresult *r, int i)
{
  return PQgetisnull(r, 0, i) ? NULL : PQgetvalue(r, 0, i);
}

/* What q_checks found, as validate() reads it. */
struct checks {
  int ap;         /* 0 or -ERR_API_FORBIDDEN */
  int instrument; /* 0, -ERR_ORDER_INSTRUMENT or -ERR_INTERNAL */
  bool wallet, paused, corpact;
  bool signing_keys; /* the AP has an active signing key */
  bool limits;       /* a limit applies to this instrument, kind and AP */
  int64_t now_ms;
};

static int load_checks(struct db_conn *c, const struct order_request *rq, const char *wallet,
                       struct inst *in, struct checks *k)
{
  char ids[ISS_I64_TXT];
  const char *params[] = {ord__i64(rq->ap, ids), rq->symbol, wallet, order_kind_name(rq->kind)};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_checks, params, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == 0 || PQgetisnull(r, 0, 19)) {
    PQclear(r);
    log_bug("orders", "no clock row (migration 0012)");
    return -ERR_DB_HARD;
  }
  memset(k, 0, sizeof *k);
  memset(in, 0, sizeof *in);
  k->ap = col(r, 0) != NULL && strcmp(col(r, 0), "ap") == 0 && col(r, 1)[0] == 'f'
              ? 0
              : -ERR_API_FORBIDDEN;
  k->wallet = col(r, 16)[0] == 't';
  k->paused = col(r, 17)[0] == 't';
  k->corpact = col(r, 18)[0] == 't';
  k->now_ms = strtoll(col(r, 19), NULL, 10);
  k->signing_keys = col(r, 20)[0] == 't';
  k->limits = col(r, 21)[0] == 't';
  k->instrument = col(r, 2) == NULL ? -ERR_ORDER_INSTRUMENT : 0;
  if (k->instrument == 0) {
    in->id = strtoll(col(r, 2), NULL, 10);
    util_strlcpy(in->symbol, col(r, 3), sizeof in->symbol);
    util_strlcpy(in->token_symbol, col(r, 4), sizeof in->token_symbol);
    in->token_decimals = (unsigned)strtoul(col(r, 5), NULL, 10);
    util_strlcpy(in->mint_policy, col(r, 6), sizeof in->mint_policy);
    util_strlcpy(in->burn_policy, col(r, 7), sizeof in->burn_policy);
    util_strlcpy(in->open, col(r, 12), sizeof in->open);
    util_strlcpy(in->cutoff, col(r, 13), sizeof in->cutoff);
    in->queue = strcmp(col(r, 14), "queue") == 0;
    int rc = ord__num(col(r, 8), ISSUANCE_QTY_SCALE, &in->min_qty) |
             ord__num(col(r, 9), ISSUANCE_QTY_SCALE, &in->max_qty) |
             ord__num(col(r, 10), ISSUANCE_CASH_SCALE, &in->fee_flat) |
             ord__num(col(r, 11), 6, &in->fee_rate) | ord__num(col(r, 15), 18, &in->multiplier);
    if (rc != 0 || in->token_decimals > ISSUANCE_TOKEN_SCALE) {
      log_bug("orders", "instrument %s: a stored figure does not parse", rq->symbol);
      k->instrument = -ERR_INTERNAL;
    }
  }
  PQclear(r);
  return 0;
}

/*
 * Quantity, price and the figures: token_amount = quantity / multiplier
 * rounded down at the token's decimals; a mint's cash_required =
 * N + fee_flat + ceil(N x fee_rate) with N = ceil(quantity x limit), both
 * to cents.
 */
static int figures(const struct order_request *rq, const struct inst *in, struct figures *f)
{
  if (money_rescale(rq->quantity, ISSUANCE_QTY_SCALE, MONEY_ROUND_EXACT, &f->quantity) != 0 ||
      f->quantity.v <= 0 || money_cmp(f->quantity, in->min_qty) < 0 ||
      money_cmp(f->quantity, in->max_qty) > 0)
    return -ERR_ORDER_SIZE;
  struct money t;
  if (money_div(f->quantity, in->multiplier, in->token_decimals, MONEY_ROUND_DOWN, &t) != 0 ||
      t.v <= 0 || money_rescale(t, ISSUANCE_TOKEN_SCALE, MONEY_ROUND_EXACT, &f->token_amount) != 0)
    return -ERR_ORDER_SIZE;
  money_make(0, ISSUANCE_CASH_SCALE, &f->cash_required);
  money_make(0, 6, &f->limit);
  if (rq->kind == ORDER_MINT && !rq->has_limit)
    return -ERR_ORDER_PRICE;
  if (rq->has_limit && (money_rescale(rq->limit_price, 6, MONEY_ROUND_EXACT, &f->limit) != 0 ||
                        f->limit.v <= 0 || f->limit.v >= QTY_V_LIMIT))
    return -ERR_ORDER_PRICE;
  if (rq->kind != ORDER_MINT)
    return 0;
  struct money exact, n, fee;
  if (money_mul(f->quantity, f->limit, 12, MONEY_ROUND_EXACT, &exact) != 0 ||
      money_rescale(exact, ISSUANCE_CASH_SCALE, MONEY_ROUND_UP, &n) != 0 ||
      money_mul(n, in->fee_rate, ISSUANCE_CASH_SCALE, MONEY_ROUND_UP, &fee) != 0 ||
      money_add(n, fee, &n) != 0 || money_add(n, in->fee_flat, &f->cash_required) != 0 ||
      f->cash_required.v >= CASH_V_LIMIT)
    return -ERR_ORDER_CASH;
  return 0;
}

/* A calendar with the shipped and stored closures, when the caller gave none. */
static int load_cal(struct db_conn *c, struct cal *cal)
{
  unsigned line;
  cal_init(cal);
  if (cal_load_closures(cal, cal_builtin_closures, cal_builtin_closures_len, &line) != 0)
    return -ERR_INTERNAL;
  enum db_qs qs = db_select_market_closures(c, cal);
  return qs < 0 ? issuance__qs_err(qs) : 0;
}

/* Primary hours at f->now_ms (the clock the checks read). */
static int hours(struct db_conn *c, const struct order_request *rq, const struct inst *in,
                 struct figures *f)
{
  struct cal own;
  const struct cal *cal = rq->cal;
  int rc;
  if (cal == NULL) {
    if ((rc = load_cal(c, &own)) != 0) {
      cal_free(&own);
      return rc;
    }
    cal = &own;
  }
  rc = order_hours(cal, in->open, in->cutoff, f->now_ms, &f->session);
  if (cal == &own)
    cal_free(&own);
  if (rc != 0) {
    log_bug("orders", "hours of %s: %s", in->symbol, err_name(rc));
    return -ERR_INTERNAL;
  }
  if (!f->session.in_hours && !in->queue)
    return -ERR_ORDER_HOURS;
  return 0;
}

/* The checks, in the order of issuance.h; nothing written. */
static int validate(struct db_conn *c, const struct order_request *rq, const char *wallet,
                    struct inst *in, struct figures *f)
{
  struct checks k;
  memset(&k, 0, sizeof k);
  int rc = load_checks(c, rq, wallet, in, &k);
  if (rc != 0)
    return rc;
  if (k.ap != 0)
    return k.ap;
  /* The two checks below read what q_checks read already: run them only
   * when they can refuse (one statement each fewer per order otherwise),
   * with the same outcome as order_signature_check_in() and
   * order_limits_check_in() would give. */
  if (rq->sig_header == NULL && !k.signing_keys)
    f->key_id = 0; /* an unsigned order of an AP without keys */
  else if ((rc = order_signature_check_in(c, rq->ap, rq->sig_header, rq->payload, rq->payload_len,
                                          &f->key_id, f->sig)) != 0)
    return rc;
  if (k.instrument != 0)
    return k.instrument;
  if (!k.wallet)
    return -ERR_ORDER_WALLET;
  if (k.paused)
    return -ERR_ORDER_PAUSED;
  if (k.corpact)
    return -ERR_ORDER_CORPACT;
  if ((rc = figures(rq, in, f)) != 0)
    return rc;
  if (k.limits && (rc = order_limits_check_in(c, in->id, rq->ap, rq->kind, f->quantity)) != 0)
    return rc;
  f->now_ms = k.now_ms;
  return hours(c, rq, in, f);
}

/* The request's shape; the wallet in lower case into @wallet. */
static int check_shape(const struct order_request *rq, char wallet[CHAIN_ADDR_STR])
{
  if (rq == NULL || (rq->kind != ORDER_MINT && rq->kind != ORDER_REDEEM) || rq->ap <= 0 ||
      rq->symbol == NULL || strlen(rq->symbol) >= ORDER_SYMBOL_MAX ||
      (rq->client_ref != NULL && !ord__text_ok(rq->client_ref, ORDER_REF_MAX)) ||
      rq->payload_len > ORDER_PAYLOAD_MAX || (rq->payload == NULL && rq->payload_len > 0))
    return -ERR_INVALID_ARGUMENT;
  if (chain_address_parse(rq->wallet, wallet) != 0)
    return -ERR_ORDER_WALLET;
  return 0;
}

/* The details of the three first events, kept in @d[3]. */
static int details(const struct order_request *rq, const char *wallet, const struct inst *in,
                   const struct figures *f, struct ord_json d[3])
{
  char day[CAL_DATE_STR], ms[ISS_I64_TXT];
  ord__json_begin(&d[0]);
  ord__json_str(&d[0], "kind", order_kind_name(rq->kind));
  ord__json_str(&d[0], "symbol", in->symbol);
  ord__json_money(&d[0], "quantity", f->quantity);
  if (rq->has_limit)
    ord__json_money(&d[0], "limit_price", f->limit);
  else
    ord__json_str(&d[0], "limit_price", NULL);
  ord__json_str(&d[0], "wallet", wallet);
  ord__json_str(&d[0], "client_ref", rq->client_ref);
  ord__json_raw(&d[0], "signed", f->key_id != 0 ? "true" : "false");
  cal_format_date(f->session.session_date, day);
  ord__json_begin(&d[1]);
  ord__json_money(&d[1], "token_amount", f->token_amount);
  ord__json_money(&d[1], "cash_required", f->cash_required);
  ord__json_str(&d[1], "session_date", day);
  ord__json_raw(&d[1], "in_hours", f->session.in_hours ? "true" : "false");
  ord__json_begin(&d[2]);
  if (rq->kind == ORDER_MINT) {
    ord__json_money(&d[2], "cash_required", f->cash_required);
    ord__json_raw(&d[2], "cash_deadline_ms", ord__i64(f->session.cutoff_ms, ms));
  } else {
    ord__json_money(&d[2], "token_amount", f->token_amount);
  }
  for (int i = 0; i < 3; i++)
    if (ord__json_end(&d[i]) == NULL)
      return -ERR_INTERNAL;
  return 0;
}

static int insert(struct db_conn *c, const struct order_request *rq, const char *wallet,
                  const struct inst *in, const struct figures *f, struct order *out)
{
  char ap[ISS_I64_TXT], inst_id[ISS_I64_TXT], key[ISS_I64_TXT], day[16], deadline[ISS_I64_TXT];
  char q[MONEY_STR_MAX], lim[MONEY_STR_MAX], tok[MONEY_STR_MAX], mul[MONEY_STR_MAX],
      ff[MONEY_STR_MAX], fr[MONEY_STR_MAX], req[MONEY_STR_MAX], actor[ORDER_ACTOR_MAX];
  struct ord_json d[3];
  bool mint = rq->kind == ORDER_MINT;
  int rc = details(rq, wallet, in, f, d);
  if (rc != 0)
    return rc;
  money_format(f->quantity, q, sizeof q);
  money_format(f->limit, lim, sizeof lim);
  money_format(f->token_amount, tok, sizeof tok);
  money_format(in->multiplier, mul, sizeof mul);
  money_format(in->fee_flat, ff, sizeof ff);
  money_format(in->fee_rate, fr, sizeof fr);
  money_format(f->cash_required, req, sizeof req);
  snprintf(day, sizeof day, "%d", (int)f->session.session_date);
  snprintf(actor, sizeof actor, "api:%lld", (long long)rq->ap);
  const char *params[24] = {
      order_kind_name(rq->kind),
      ord__i64(rq->ap, ap),
      ord__i64(in->id, inst_id),
      wallet,
      q,
      rq->has_limit ? lim : NULL,
      tok,
      mul,
      mint ? in->mint_policy : NULL,
      mint ? NULL : in->burn_policy,
      ff,
      fr,
      req,
      day,
      mint ? ord__i64(f->session.cutoff_ms, deadline) : NULL,
      f->key_id != 0 ? ord__i64(f->key_id, key) : NULL,
      f->key_id != 0 ? (const char *)f->sig : NULL,
      f->key_id != 0 ? (const char *)rq->payload : NULL,
      rq->client_ref,
      actor,
      d[0].s,
      d[1].s,
      order_state_name(mint ? ORDER_AWAITING_CASH : ORDER_AWAITING_TOKENS),
      d[2].s,
  };
  int lengths[24] = {0}, formats[24] = {0};
  lengths[16] = 64;
  formats[16] = 1;
  lengths[17] = (int)rq->payload_len;
  formats[17] = 1;
  PGresult *r = NULL;
  enum db_qs qs = db_exec_bin(c, &q_insert, params, lengths, formats, 0, &r);
  if (qs <= 0) {
    if (qs == 0)
      log_bug("orders", "insert returned no row");
    return qs == 0 ? -ERR_INTERNAL : issuance__qs_err(qs);
  }
  rc = ord__order_row(r, out);
  PQclear(r);
  if (rc != 0)
    log_bug("orders", "the inserted order does not parse");
  return rc;
}

int order_create_get_in(struct db_conn *c, const struct order_request *rq, struct order *out)
{
  char wallet[CHAIN_ADDR_STR];
  struct inst in;
  struct figures f;
  if (c == NULL || !c->in_txn || out == NULL)
    return -ERR_INVALID_ARGUMENT;
  memset(&f, 0, sizeof f);
  int rc = check_shape(rq, wallet);
  if (rc == 0)
    rc = validate(c, rq, wallet, &in, &f);
  if (rc == 0)
    rc = insert(c, rq, wallet, &in, &f, out);
  return rc;
}

int order_create_in(struct db_conn *c, const struct order_request *rq, int64_t *id)
{
  struct order o;
  if (id == NULL)
    return -ERR_INVALID_ARGUMENT;
  int rc = order_create_get_in(c, rq, &o);
  if (rc == 0)
    *id = o.id;
  return rc;
}

struct create_ctx {
  const struct order_request *rq;
  int64_t id;
  int rc;
};

static enum db_qs create_body(struct db_conn *c, void *cls)
{
  struct create_ctx *x = cls;
  x->rc = order_create_in(c, x->rq, &x->id);
  if (x->rc == -ERR_INTERNAL)
    return DB_QS_HARD; /* maybe after the insert: roll it back */
  return x->rc == 0 ? DB_QS_NONE : order_qs(x->rc);
}

int order_create(struct db_conn *c, const struct order_request *rq, int64_t *id)
{
  struct create_ctx x = {.rq = rq};
  int rc = db_txn(c, "order_create", create_body, &x);
  if (x.rc != 0 && x.rc != -ERR_DB_CONFLICT && x.rc != -ERR_DB_HARD && x.rc != -ERR_INTERNAL)
    return x.rc;
  if (rc != 0)
    return rc;
  if (id != NULL)
    *id = x.id;
  return 0;
}
