/*
 * Fixtures for the engine's dbtests: see test_engine_lib.h.  Rows are
 * written with plain SQL exactly as the slices that own them write them
 * (orders and their first events, the funding posting, the connector's
 * executions, the custody store's confirmations), so the engine is tested
 * alone and to exact figures.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrations/migrations.h"
#include "tests/issuance/test_engine_lib.h"

static char *vformat(const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    fail_msg("out of memory");
  return s;
}

char *tl_value(struct tl *t, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *sql = vformat(fmt, ap);
  va_end(ap);
  char *v = ts_sql_value(t->c, sql);
  free(sql);
  return v;
}

void tl_expect(struct tl *t, const char *want, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *sql = vformat(fmt, ap);
  va_end(ap);
  char *v = ts_sql_value(t->c, sql);
  if (strcmp(v, want) != 0) {
    print_error("%s\n  got  \"%s\"\n  want \"%s\"\n", sql, v, want);
    free(v);
    free(sql);
    fail();
  }
  free(v);
  free(sql);
}

void tl_sql(struct tl *t, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *sql = vformat(fmt, ap);
  va_end(ap);
  ts_sql(t->c, sql);
  free(sql);
}

void tl_setup(struct tl *t, const char *tag)
{
  unsigned line = 0;
  memset(t, 0, sizeof *t);
  t->c = ts_db_migrated(tag, &t->db, 20, migrations_all, migrations_count);
  assert_int_equal(db_clock_set(t->c, TL_START_MS, NULL), 0);
  t->ap = ts_sql_int(t->c, "INSERT INTO principals (name, role) VALUES ('ap-one', 'ap')"
                           " RETURNING id");
  snprintf(t->ap_owner, sizeof t->ap_owner, "ap:%lld", (long long)t->ap);
  ts_sql(t->c, "INSERT INTO principals (name, role) VALUES ('admin-one', 'issuer_admin')");
  ts_sql(t->c,
         "INSERT INTO instruments (symbol, isin, token_symbol, token_decimals, settlement_lag_days,"
         " mint_policy, burn_policy, min_order_qty, max_order_qty, fee_flat, fee_rate, market_open,"
         " market_close, cutoff, out_of_hours) VALUES"
         " ('AAPL', '" TL_AAPL "', 'AAPLx', 18, 1, 'at_settlement', 'on_receipt', 0.000001, 100000,"
         " 1.00, 0.001, '09:30', '16:00', '15:30', 'queue'),"
         " ('MSFT', '" TL_MSFT "', 'MSFTx', 6, 1, 'at_fill', 'at_payout', 0.000001, 100000,"
         " 0.00, 0.002, '09:30', '16:00', '15:30', 'queue')");
  cal_init(&t->cal);
  assert_int_equal(
      cal_load_closures(&t->cal, cal_builtin_closures, cal_builtin_closures_len, &line), 0);
  engine_cfg_init(&t->cfg);
  assert_int_equal(engine_open(t->c, &t->cal, &t->cfg, &t->e), 0);
}

void tl_teardown(struct tl *t)
{
  engine_free(t->e);
  cal_free(&t->cal);
  ts_db_done(&t->c, &t->db);
}

static int64_t insert_order(struct tl *t, const char *kind, const char *symbol, const char *qty,
                            const char *limit)
{
  bool mint = strcmp(kind, "mint") == 0;
  char *id = tl_value(
      t,
      "WITH i AS (SELECT * FROM instruments WHERE symbol = '%s'),"
      " v AS (SELECT %s::numeric AS q, %s::numeric AS l)"
      " INSERT INTO orders (kind, ap, instrument, wallet, quantity, limit_price, token_amount,"
      " multiplier, mint_policy, burn_policy, fee_flat, fee_rate, cash_required, state,"
      " session_date, cash_deadline)"
      " SELECT '%s', %lld, i.id, '" TL_WALLET "', v.q, v.l, trunc(v.q / i.multiplier,"
      " i.token_decimals), i.multiplier, %s, %s, i.fee_flat, i.fee_rate,"
      " %s, '%s', (clock_now() AT TIME ZONE 'America/New_York')::date,"
      " %s FROM i, v RETURNING id",
      symbol, qty, limit != NULL ? limit : "NULL", kind, (long long)t->ap,
      mint ? "i.mint_policy" : "NULL", mint ? "NULL" : "i.burn_policy",
      mint ? "ceil(v.q * v.l * 100) / 100 + i.fee_flat + ceil(v.q * v.l * i.fee_rate * 100) / 100"
           : "0",
      mint ? "awaiting_cash" : "awaiting_tokens",
      mint ? "clock_now() + interval '5 hours'" : "NULL");
  int64_t n = strtoll(id, NULL, 10);
  free(id);
  assert_true(n > 0);
  tl_sql(t,
         "INSERT INTO order_events (order_id, seq, from_state, to_state, actor) VALUES"
         " (%lld, 1, NULL, 'requested', 'api:%lld'), (%lld, 2, 'requested', 'validated',"
         " 'api:%lld'), (%lld, 3, 'validated', '%s', 'api:%lld')",
         (long long)n, (long long)t->ap, (long long)n, (long long)t->ap, (long long)n,
         mint ? "awaiting_cash" : "awaiting_tokens", (long long)t->ap);
  return n;
}

int64_t tl_mint(struct tl *t, const char *symbol, const char *qty, const char *limit)
{
  return insert_order(t, "mint", symbol, qty, limit);
}

int64_t tl_redeem(struct tl *t, const char *symbol, const char *qty, const char *limit)
{
  return insert_order(t, "redeem", symbol, qty, limit);
}

struct fund {
  int64_t id;
  int rc;
};

static enum db_qs fund_body(struct db_conn *c, void *cls)
{
  struct fund *f = cls;
  struct order o;
  char key[64], ref[64], ap[32], ids[24], x[MONEY_STR_MAX];
  int rc = order_get(c, f->id, true, &o);
  if (rc == 0) {
    struct money neg = o.cash_required;
    neg.v = -neg.v;
    snprintf(key, sizeof key, "order-%lld-funding-1", (long long)o.id);
    snprintf(ref, sizeof ref, "order:%lld", (long long)o.id);
    snprintf(ap, sizeof ap, "ap:%lld", (long long)o.ap);
    struct books_entry e[] = {{BOOKS_OWNER_CUSTODIAN, "cash:USD", neg},
                              {ap, "cash:USD", o.cash_required}};
    struct books_posting p = {.key = key, .reference = ref, .entries = e, .n_entries = 2};
    rc = books_post(c, &p, NULL);
  }
  if (rc == 0) {
    static const struct db_stmt st = {
        "tl_fund", "UPDATE orders SET cash_funded = $2::numeric WHERE id = $1::bigint", 2};
    snprintf(ids, sizeof ids, "%lld", (long long)o.id);
    money_format(o.cash_required, x, sizeof x);
    const char *params[] = {ids, x};
    enum db_qs qs = db_exec(c, &st, params, NULL);
    if (qs < 0)
      return qs;
    rc = order_transition_in(c, o.id, ORDER_AWAITING_CASH, ORDER_CASH_RECEIVED, "admin:1",
                             "{\"bank_ref\":\"test\"}");
  }
  f->rc = rc;
  return rc != 0 ? order_qs(rc) : DB_QS_NONE;
}

void tl_fund(struct tl *t, int64_t id)
{
  struct fund f = {.id = id};
  int rc = db_txn(t->c, "tl_fund", fund_body, &f);
  if (rc != 0 || f.rc != 0)
    fail_msg("funding order %lld: %s / %s (%s)", (long long)id, err_text(rc), err_text(f.rc),
             t->c->last_error);
}

void tl_exec(struct tl *t, int64_t id, char type, const char *exec_id, const char *ref,
             const char *qty, const char *px, const char *trade, const char *settle)
{
  tl_sql(t,
         "INSERT INTO broker_executions (exec_id, order_id, exec_type, exec_ref_id, ord_status,"
         " broker_order_id, last_qty, last_px, cum_qty, leaves_qty, avg_px, trade_date, settl_date,"
         " session_id, msg_seq_num, raw) VALUES ('%s', %lld, '%c', %s%s%s, '1', 'B%lld', %s, %s,"
         " 0, 0, 0, %s%s%s, %s%s%s, 'S', 1, 'raw'::bytea)",
         exec_id, (long long)id, type, ref ? "'" : "", ref ? ref : "NULL", ref ? "'" : "",
         (long long)id, qty, px, trade ? "'" : "", trade ? trade : "NULL", trade ? "'" : "",
         settle ? "'" : "", settle ? settle : "NULL", settle ? "'" : "");
}

void tl_broker(struct tl *t, int64_t id, const char *state, const char *cum)
{
  tl_sql(t,
         "UPDATE broker_orders SET state = '%s', cum_qty = %s, leaves_qty = CASE WHEN '%s' IN"
         " ('filled', 'canceled', 'rejected', 'expired') THEN 0 ELSE quantity - %s END,"
         " last_text = CASE WHEN '%s' = 'rejected' THEN '103=99 no liquidity' ELSE last_text END,"
         " cancel_state = CASE WHEN '%s' = 'canceled' AND cancel_state <> 'none' THEN 'cancel_done'"
         " ELSE cancel_state END WHERE id = %lld",
         state, cum, state, cum, state, state, (long long)id);
}

void tl_custody(struct tl *t, const char *tx_id, const char *isin, const char *qty, const char *dir,
                const char *date, const char *amount)
{
  char *doc = tl_value(t,
                       "INSERT INTO custody_documents (kind, sha256, size, source, raw) VALUES"
                       " ('sese025', encode(sha256('doc-%s'::bytea), 'hex'), 1, 'test', 'x')"
                       " RETURNING id",
                       tx_id);
  tl_sql(t,
         "INSERT INTO custody_settlements (document_id, account_servicer, tx_id, servicer_tx_id,"
         " account_owner, safekeeping_account, isin, quantity, is_short, qty_kind, direction,"
         " against_payment, trade_date, settlement_date, amount, currency) VALUES (%s,"
         " 'SIMCUSTXXXX', '%s', '', 'BACKSTOCK', 'RESERVE-01', '%s', %s, false, 'UNIT', '%s',"
         " true, NULL, '%s', %s, 'USD')",
         doc, tx_id, isin, qty, dir, date, amount);
  free(doc);
}

struct engine_stats tl_pass(struct tl *t)
{
  struct engine_stats st;
  memset(&st, 0, sizeof st);
  int rc = engine_pass(t->e, &st);
  if (rc < 0)
    fail_msg("engine_pass: %s", err_text(rc));
  assert_int_equal(st.errors, 0);
  return st;
}

struct engine_stats tl_run(struct tl *t)
{
  struct engine_stats sum, st;
  memset(&sum, 0, sizeof sum);
  for (int i = 0; i < 20; i++) {
    memset(&st, 0, sizeof st);
    int rc = engine_pass(t->e, &st);
    if (rc < 0)
      fail_msg("engine_pass: %s", err_text(rc));
    assert_int_equal(st.errors, 0);
    unsigned *s = (unsigned *)&sum;
    const unsigned *p = (const unsigned *)&st;
    for (size_t k = 0; k < sizeof sum / sizeof(unsigned); k++)
      s[k] += p[k];
    if (rc == 0)
      return sum;
  }
  fail_msg("the engine still finds work after 20 passes");
  return sum;
}

void tl_advance(struct tl *t, int64_t ms)
{
  assert_int_equal(db_clock_advance(t->c, ms, NULL), 0);
}

void tl_events(struct tl *t, int64_t id, const char *want)
{
  tl_expect(t, want,
            "SELECT string_agg(to_state, ',' ORDER BY seq) FROM order_events WHERE order_id = %lld",
            (long long)id);
}

char *tl_ref_sum(struct tl *t, int64_t id, const char *owner, const char *asset)
{
  return tl_value(t,
                  "SELECT coalesce(sum(e.amount), 0) FROM books_postings p JOIN books_entries e"
                  " ON e.posting_id = p.id JOIN books_accounts a ON a.id = e.account_id"
                  " WHERE p.reference = 'order:%lld' AND a.owner = '%s' AND a.asset = '%s'",
                  (long long)id, owner, asset);
}

void tl_expect_ref(struct tl *t, int64_t id, const char *owner, const char *asset, const char *want)
{
  char *v = tl_ref_sum(t, id, owner, asset);
  if (strcmp(v, want) != 0) {
    print_error("order %lld: %s %s is %s, want %s\n", (long long)id, owner, asset, v, want);
    free(v);
    fail();
  }
  free(v);
}

void tl_books_ok(struct tl *t)
{
  struct books_report r;
  books_report_init(&r);
  assert_int_equal(books_check_with(t->c, engine_books_check, NULL, &r), 0);
  if (!r.ok) {
    books_report_print(&r, stderr);
    books_report_free(&r);
    fail_msg("the books check failed");
  }
  books_report_free(&r);
}

char *tl_today(struct tl *t)
{
  return tl_value(t, "SELECT (clock_now() AT TIME ZONE 'America/New_York')::date");
}

static char *next_weekday(struct tl *t, const char *day)
{
  return tl_value(t,
                  "SELECT settle FROM (SELECT '%s'::date + n AS settle FROM"
                  " generate_series(1, 5) n) d WHERE extract(isodow FROM settle) < 6"
                  " ORDER BY settle LIMIT 1",
                  day);
}

int64_t tl_mint_filled(struct tl *t, const char *symbol, const char *qty, const char *limit,
                       const char *px, const char *exec_id)
{
  int64_t id = tl_mint(t, symbol, qty, limit);
  tl_fund(t, id);
  tl_run(t);
  tl_expect(t, "broker_submitted", "SELECT state FROM orders WHERE id = %lld", (long long)id);
  char *today = tl_today(t);
  char *settle = next_weekday(t, today);
  tl_exec(t, id, 'F', exec_id, NULL, qty, px, today, settle);
  tl_broker(t, id, "filled", qty);
  tl_run(t);
  free(today);
  free(settle);
  return id;
}

int64_t tl_mint_done(struct tl *t, const char *symbol, const char *qty, const char *limit,
                     const char *px, const char *exec_id)
{
  int64_t id = tl_mint_filled(t, symbol, qty, limit, px, exec_id);
  char *today = tl_today(t);
  char *settle = next_weekday(t, today);
  char *cash = tl_value(t, "SELECT round(%s::numeric * %s::numeric, 2)", qty, px);
  char *isin = tl_value(t, "SELECT isin FROM instruments WHERE symbol = '%s'", symbol);
  tl_custody(t, exec_id, isin, qty, "RECE", settle, cash);
  tl_advance(t, TL_DAY_MS);
  tl_run(t);
  tl_expect(t, "completed", "SELECT state FROM orders WHERE id = %lld", (long long)id);
  free(today);
  free(settle);
  free(cash);
  free(isin);
  return id;
}
