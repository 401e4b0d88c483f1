/*
 * The fixture of the orders dbtests: orders_fx.h.
 */
#include <stdlib.h>
#include <string.h>

#include "migrations/migrations.h"
#include "tests/issuance/orders_fx.h"

struct fx fx;

static int64_t insert_id(const char *sql)
{
  int64_t id = ts_sql_int(fx.c, sql);
  if (id <= 0)
    fail_msg("no id from %s", sql);
  return id;
}

int fx_setup(void **state)
{
  char sql[512];
  (void)state;
  memset(&fx, 0, sizeof fx);
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  fx.c = ts_db_migrated("orders", &fx.db, 10, migrations_all, migrations_count);
  fx.admin = insert_id("INSERT INTO principals (name, role) VALUES ('Ops', 'issuer_admin')"
                       " RETURNING id");
  fx.ap1 = insert_id("INSERT INTO principals (name, role) VALUES ('AP One', 'ap') RETURNING id");
  fx.ap2 = insert_id("INSERT INTO principals (name, role) VALUES ('AP Two', 'ap') RETURNING id");
  fx.auditor =
      insert_id("INSERT INTO principals (name, role) VALUES ('Audit', 'auditor') RETURNING id");
  fx.aapl = insert_id(
      "INSERT INTO instruments (symbol, isin, token_symbol, token_decimals, mint_policy,"
      " burn_policy, min_order_qty, max_order_qty, fee_flat, fee_rate, market_open, market_close,"
      " cutoff, out_of_hours) VALUES ('AAPL', 'US0378331005', 'AAPLx', 18, 'at_settlement',"
      " 'on_receipt', 1, 1000, 5.00, 0.0025, '09:30', '16:00', '15:30', 'refuse') RETURNING id");
  fx.tsla = insert_id(
      "INSERT INTO instruments (symbol, isin, token_symbol, token_decimals, mint_policy,"
      " burn_policy, min_order_qty, max_order_qty, fee_flat, fee_rate, market_open, market_close,"
      " cutoff, out_of_hours, multiplier) VALUES ('TSLA', 'US88160R1014', 'TSLAx', 6, 'at_fill',"
      " 'at_payout', 0.5, 500, 0, 0.001, '09:30', '16:00', '15:45', 'queue', 3) RETURNING id");
  snprintf(sql, sizeof sql,
           "INSERT INTO ap_wallets (ap, address) VALUES (%lld, '%s'), (%lld, '%s')",
           (long long)fx.ap1, FX_WALLET1, (long long)fx.ap2, FX_WALLET2);
  ts_sql(fx.c, sql);
  fx_clock(FX_T0);
  return 0;
}

int fx_teardown(void **state)
{
  (void)state;
  ts_db_done(&fx.c, &fx.db);
  return 0;
}

void fx_clock(int64_t ms)
{
  char sql[256];
  snprintf(sql, sizeof sql,
           "UPDATE clock SET anchor_wall = clock_timestamp(), speed = 1,"
           " anchor_virtual = 'epoch'::timestamptz + %lld * interval '1 millisecond'",
           (long long)ms);
  ts_sql(fx.c, sql);
}

struct money fx_amt(const char *s, unsigned scale)
{
  struct money m;
  if (money_parse(s, strlen(s), scale, MONEY_PARSE_NEGATIVE, &m) != 0)
    fail_msg("bad amount %s", s);
  return m;
}

struct order_request fx_req(enum order_kind kind, int64_t ap, const char *sym, const char *qty,
                            const char *limit, const char *wallet)
{
  struct order_request rq = {
      .kind = kind, .ap = ap, .symbol = sym, .quantity = fx_amt(qty, 6), .wallet = wallet};
  if (limit != NULL && limit[0] != '\0') {
    rq.has_limit = true;
    rq.limit_price = fx_amt(limit, 6);
  }
  return rq;
}

int64_t fx_create(const struct order_request *rq)
{
  int64_t id = 0;
  int rc = order_create(fx.c, rq, &id);
  if (rc != 0)
    fail_msg("order_create: %s", err_name(rc));
  return id;
}

int64_t fx_mint(void)
{
  struct order_request rq = fx_req(ORDER_MINT, fx.ap1, "AAPL", "10", "200.123456", FX_WALLET1);
  return fx_create(&rq);
}

int64_t fx_redeem(void)
{
  struct order_request rq = fx_req(ORDER_REDEEM, fx.ap1, "AAPL", "10", NULL, FX_WALLET1);
  return fx_create(&rq);
}

struct order fx_get(int64_t id)
{
  struct order o;
  int rc = order_get(fx.c, id, false, &o);
  if (rc != 0)
    fail_msg("order_get %lld: %s", (long long)id, err_name(rc));
  return o;
}

void fx_books_ok(void)
{
  struct books_report r;
  books_report_init(&r);
  assert_int_equal(books_check_with(fx.c, engine_books_check, NULL, &r), 0);
  for (size_t i = 0; i < r.n_items; i++)
    fprintf(stderr, "%s\n", r.items[i].text);
  assert_true(r.ok);
  books_report_free(&r);
}

long long fx_int(const char *sql)
{
  return ts_sql_int(fx.c, sql);
}

const char *fx_text(const char *sql)
{
  static char buf[4096];
  char *v = ts_sql_value(fx.c, sql);
  util_strlcpy(buf, v, sizeof buf);
  free(v);
  return buf;
}

long long fx_rows(void)
{
  return fx_int("SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM order_events)"
                " + (SELECT count(*) FROM cash_movements) + (SELECT count(*) FROM chain_intents)"
                " + (SELECT count(*) FROM books_postings)");
}

const char *fx_fmt(struct money m)
{
  static char bufs[4][MONEY_STR_MAX];
  static unsigned next;
  char *b = bufs[next++ % 4];
  if (money_format(m, b, MONEY_STR_MAX) < 0)
    util_strlcpy(b, "?", MONEY_STR_MAX);
  return b;
}

void fx_balance(const char *owner, const char *asset, const char *want)
{
  struct money m;
  int rc = books_balance(fx.c, owner, asset, &m);
  const char *got = rc == -ERR_BOOKS_ACCOUNT ? "none" : rc != 0 ? err_name(rc) : fx_fmt(m);
  if (strcmp(got, want) != 0)
    fail_msg("balance %s %s: got %s, want %s", owner, asset, got, want);
}

void fx_state(int64_t id, const char *state)
{
  char sql[256];
  snprintf(sql, sizeof sql, "UPDATE orders SET state = '%s' WHERE id = %lld", state, (long long)id);
  ts_sql(fx.c, sql);
}

const char *fx_events(int64_t id)
{
  char sql[512];
  snprintf(sql, sizeof sql,
           "SELECT string_agg(coalesce(from_state, '-') || '>' || to_state, ' ' ORDER BY seq)"
           " FROM order_events WHERE order_id = %lld",
           (long long)id);
  return fx_text(sql);
}
