/*
 * Tests of order limits (issuance/issuance_participants_limits.c) on a
 * fresh, migrated database per test: the exact boundary (max 100 takes
 * 60 + 40 and refuses 60 + 40.000001), which orders count (not rejected,
 * expired, or cancelled with nothing filled), the rolling window moved by
 * the clock, per-AP and instrument-wide limits together, mint and redeem
 * apart, setting and listing limits with their refusals, two racing
 * SERIALIZABLE transactions that cannot both squeeze in, and the list of
 * the books' accounts.
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance.h"
#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

static struct ts_db db;
static struct db_conn *c;
static int64_t ap1, ap2, admin, aapl, tsla;

static int64_t instrument(const char *sym, const char *isin)
{
  char sql[512];
  snprintf(sql, sizeof sql,
           "INSERT INTO instruments (symbol, isin, token_symbol, mint_policy, burn_policy,"
           " min_order_qty, max_order_qty, market_open, market_close, cutoff, out_of_hours)"
           " VALUES ('%s', '%s', '%sx', 'at_fill', 'on_receipt', 0.000001, 1000000, '09:30',"
           " '16:00', '15:30', 'queue') RETURNING id",
           sym, isin, sym);
  return ts_sql_int(c, sql);
}

static int setup(void **state)
{
  (void)state;
  c = ts_db_migrated("part_limits", &db, 10, migrations_all, migrations_count);
  ap1 = ts_sql_int(c, "INSERT INTO principals (name, role) VALUES ('AP One', 'ap') RETURNING id");
  ap2 = ts_sql_int(c, "INSERT INTO principals (name, role) VALUES ('AP Two', 'ap') RETURNING id");
  admin = ts_sql_int(
      c, "INSERT INTO principals (name, role) VALUES ('Ops', 'issuer_admin') RETURNING id");
  aapl = instrument("AAPL", "US0378331005");
  tsla = instrument("TSLA", "US88160R1014");
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  ts_db_done(&c, &db);
  return 0;
}

static struct money qty(const char *s)
{
  struct money m;
  if (money_parse(s, strlen(s), 6, 0, &m) != 0)
    fail_msg("bad quantity %s", s);
  return m;
}

/* An order row as the orders slice would write it, created now on the clock. */
static int64_t order(const char *kind, int64_t ap, int64_t ins, const char *q, const char *state,
                     const char *filled)
{
  char sql[1024];
  bool mint = strcmp(kind, "mint") == 0;
  snprintf(sql, sizeof sql,
           "INSERT INTO orders (kind, ap, instrument, wallet, quantity, limit_price, token_amount,"
           " multiplier, mint_policy, burn_policy, fee_flat, fee_rate, state, filled_qty,"
           " session_date) VALUES ('%s', %lld, %lld, '0x00000000000000000000000000000000000000a1',"
           " %s, 100, %s, 1, %s, %s, 0, 0, '%s', %s, current_date) RETURNING id",
           kind, (long long)ap, (long long)ins, q, q, mint ? "'at_fill'" : "NULL",
           mint ? "NULL" : "'on_receipt'", state, filled);
  return ts_sql_int(c, sql);
}

static void set_limit(int64_t ins, int64_t ap, enum order_kind kind, int32_t window, const char *mx)
{
  struct order_limit l = {
      .instrument = ins, .ap = ap, .kind = kind, .window_seconds = window, .max_qty = qty(mx)};
  assert_int_equal(order_limit_set_in(c, &l, NULL), 0);
}

static int check(int64_t ins, int64_t ap, enum order_kind kind, const char *q)
{
  return order_limits_check_in(c, ins, ap, kind, qty(q));
}

/* ------------------------------------------------------------------ */

static void test_boundary(void **state)
{
  (void)state;
  /* No limit: anything passes. */
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "999999"), 0);
  set_limit(aapl, ap1, ORDER_MINT, 3600, "100");
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "100"), 0);
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "100.000001"), -ERR_ORDER_LIMIT);
  order("mint", ap1, aapl, "60", "awaiting_cash", "0");
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "40"), 0);
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "40.000001"), -ERR_ORDER_LIMIT);
  /* The money may come at another scale, exact at 6. */
  struct money forty = {40, 0};
  assert_int_equal(order_limits_check_in(c, aapl, ap1, ORDER_MINT, forty), 0);
  struct money over = {400000010, 7}; /* 40.0000010 */
  assert_int_equal(order_limits_check_in(c, aapl, ap1, ORDER_MINT, over), -ERR_ORDER_LIMIT);
  struct money inexact = {400000001, 7}; /* 40.0000001: not a quantity */
  assert_int_equal(order_limits_check_in(c, aapl, ap1, ORDER_MINT, inexact), -ERR_INVALID_ARGUMENT);
  struct money zero = {0, 6};
  assert_int_equal(order_limits_check_in(c, aapl, ap1, ORDER_MINT, zero), -ERR_INVALID_ARGUMENT);
  /* Other AP, other kind, other instrument: not this limit. */
  assert_int_equal(check(aapl, ap2, ORDER_MINT, "500"), 0);
  assert_int_equal(check(aapl, ap1, ORDER_REDEEM, "500"), 0);
  assert_int_equal(check(tsla, ap1, ORDER_MINT, "500"), 0);
  /* 60 + 40 = 100 exactly: the next share is refused. */
  order("mint", ap1, aapl, "40", "broker_submitted", "0");
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "0.000001"), -ERR_ORDER_LIMIT);
  /* Orders of others do not count against AP one. */
  order("mint", ap2, aapl, "500", "awaiting_cash", "0");
  order("redeem", ap1, aapl, "500", "awaiting_tokens", "0");
  set_limit(aapl, ap1, ORDER_MINT, 3600, "100.000001");
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "0.000001"), 0);
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "0.000002"), -ERR_ORDER_LIMIT);
}

static void test_what_counts(void **state)
{
  (void)state;
  set_limit(aapl, ap1, ORDER_MINT, 86400, "100");
  order("mint", ap1, aapl, "10", "rejected", "0");
  order("mint", ap1, aapl, "20", "expired", "0");
  order("mint", ap1, aapl, "30", "cancelled", "0");
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "100"), 0);
  /* These count: a cancel with something filled, a broker reject, done and open ones. */
  order("mint", ap1, aapl, "5", "cancelled", "1");
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "95"), 0);
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "95.000001"), -ERR_ORDER_LIMIT);
  order("mint", ap1, aapl, "6", "broker_rejected", "0");
  order("mint", ap1, aapl, "7", "completed", "7");
  order("mint", ap1, aapl, "8", "requires_attention", "8");
  order("mint", ap1, aapl, "9", "partially_filled", "3");
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "65"), 0); /* 5+6+7+8+9 = 35 */
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "65.000001"), -ERR_ORDER_LIMIT);
}

static void test_window_rolls(void **state)
{
  (void)state;
  set_limit(aapl, ap1, ORDER_MINT, 3600, "100");
  set_limit(aapl, ap1, ORDER_REDEEM, 60, "10");
  order("mint", ap1, aapl, "60", "awaiting_cash", "0");
  order("redeem", ap1, aapl, "10", "awaiting_tokens", "0");
  assert_int_equal(check(aapl, ap1, ORDER_REDEEM, "0.000001"), -ERR_ORDER_LIMIT);
  /* 3590 s later both are still inside the hour; the minute has rolled. */
  ts_sql(c, "UPDATE clock SET anchor_virtual = anchor_virtual + interval '3590 seconds'");
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "40"), 0);
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "40.000001"), -ERR_ORDER_LIMIT);
  assert_int_equal(check(aapl, ap1, ORDER_REDEEM, "10"), 0);
  assert_int_equal(check(aapl, ap1, ORDER_REDEEM, "10.000001"), -ERR_ORDER_LIMIT);
  /* A new order now, then 20 s more: the first has left the hour, the second not. */
  order("mint", ap1, aapl, "30", "awaiting_cash", "0");
  ts_sql(c, "UPDATE clock SET anchor_virtual = anchor_virtual + interval '20 seconds'");
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "70"), 0);
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "70.000001"), -ERR_ORDER_LIMIT);
  /* Two windows at once: a day of 120 also applies. */
  set_limit(aapl, ap1, ORDER_MINT, 86400, "120");
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "30"), 0); /* 60 + 30 + 30 = 120 */
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "30.000001"), -ERR_ORDER_LIMIT);
}

static void test_instrument_wide(void **state)
{
  (void)state;
  set_limit(aapl, 0, ORDER_MINT, 600, "150");
  order("mint", ap1, aapl, "100", "awaiting_cash", "0");
  assert_int_equal(check(aapl, ap2, ORDER_MINT, "50"), 0);
  assert_int_equal(check(aapl, ap2, ORDER_MINT, "50.000001"), -ERR_ORDER_LIMIT);
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "50.000001"), -ERR_ORDER_LIMIT);
  order("mint", ap2, aapl, "20", "awaiting_cash", "0");
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "30"), 0);
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "30.000001"), -ERR_ORDER_LIMIT);
  /* AP two's own limit is tighter: 25 in 600 s, it has 20. */
  set_limit(aapl, ap2, ORDER_MINT, 600, "25");
  assert_int_equal(check(aapl, ap2, ORDER_MINT, "5"), 0);
  assert_int_equal(check(aapl, ap2, ORDER_MINT, "5.000001"), -ERR_ORDER_LIMIT);
  assert_int_equal(check(aapl, ap1, ORDER_MINT, "30"), 0);
  /* The other instrument and kind are free. */
  assert_int_equal(check(tsla, ap1, ORDER_MINT, "1000"), 0);
  assert_int_equal(check(aapl, ap1, ORDER_REDEEM, "1000"), 0);
}

struct seen {
  int n;
  struct order_limit l[8];
};

static int see(void *cls, const struct order_limit *l)
{
  struct seen *s = cls;
  s->l[s->n++] = *l;
  return 0;
}

static void test_set_and_list(void **state)
{
  (void)state;
  struct order_limit l = {
      .instrument = aapl, .ap = ap1, .kind = ORDER_REDEEM, .window_seconds = 3600};
  struct money prev = {99, 6};
  char buf[MONEY_STR_MAX];
  l.max_qty = qty("250.5");
  assert_int_equal(order_limit_set_in(c, &l, &prev), 0);
  assert_int_equal(prev.v, 0);
  int64_t id = l.id;
  assert_true(id > 0);
  assert_string_equal(l.symbol, "AAPL");
  assert_int_equal(l.ap, ap1);
  assert_int_equal(l.kind, ORDER_REDEEM);
  assert_int_equal(l.window_seconds, 3600);
  money_format(l.max_qty, buf, sizeof buf);
  assert_string_equal(buf, "250.500000");
  /* Again: the same row, max_qty replaced, the old one reported. */
  l.max_qty = qty("300");
  assert_int_equal(order_limit_set_in(c, &l, &prev), 0);
  assert_int_equal(l.id, id);
  money_format(prev, buf, sizeof buf);
  assert_string_equal(buf, "250.500000");
  money_format(l.max_qty, buf, sizeof buf);
  assert_string_equal(buf, "300.000000");
  assert_int_equal(ts_sql_int(c, "SELECT count(*) FROM order_limits WHERE max_qty = 300"), 1);
  /* Another window, instrument-wide, another instrument: rows of their own. */
  set_limit(aapl, ap1, ORDER_REDEEM, 60, "5");
  set_limit(aapl, 0, ORDER_REDEEM, 3600, "1000");
  set_limit(aapl, 0, ORDER_REDEEM, 3600, "2000"); /* replaces, ap NULL is one scope */
  set_limit(tsla, 0, ORDER_MINT, 31622400, "7");
  assert_int_equal(ts_sql_int(c, "SELECT count(*) FROM order_limits"), 4);
  assert_int_equal(
      ts_sql_int(c, "SELECT count(*) FROM order_limits WHERE ap IS NULL AND max_qty = 2000"), 1);

  /* Refusals, nothing written. */
  struct order_limit b = l;
  b.window_seconds = 59;
  assert_int_equal(order_limit_set_in(c, &b, NULL), -ERR_INVALID_ARGUMENT);
  b.window_seconds = 31622401;
  assert_int_equal(order_limit_set_in(c, &b, NULL), -ERR_INVALID_ARGUMENT);
  b = l;
  b.max_qty = qty("0");
  assert_int_equal(order_limit_set_in(c, &b, NULL), -ERR_INVALID_ARGUMENT);
  b.max_qty = (struct money){-5, 6};
  assert_int_equal(order_limit_set_in(c, &b, NULL), -ERR_INVALID_ARGUMENT);
  b.max_qty = (struct money){12345678, 7};
  assert_int_equal(order_limit_set_in(c, &b, NULL), -ERR_INVALID_ARGUMENT);
  b = l;
  b.kind = (enum order_kind)5;
  assert_int_equal(order_limit_set_in(c, &b, NULL), -ERR_INVALID_ARGUMENT);
  b = l;
  b.instrument = 9999;
  assert_int_equal(order_limit_set_in(c, &b, NULL), -ERR_ORDER_INSTRUMENT);
  b = l;
  b.ap = admin;
  assert_int_equal(order_limit_set_in(c, &b, NULL), -ERR_API_NOT_FOUND);
  b.ap = 424242;
  assert_int_equal(order_limit_set_in(c, &b, NULL), -ERR_API_NOT_FOUND);
  assert_int_equal(ts_sql_int(c, "SELECT count(*) FROM order_limits"), 4);
  assert_int_equal(ts_sql_int(c, "SELECT count(*) FROM order_limits WHERE max_qty = 300"), 1);

  struct seen s;
  memset(&s, 0, sizeof s);
  assert_int_equal(order_limits_list(c, 0, 0, 10, see, &s), 4);
  assert_int_equal(s.l[0].id, id);
  assert_string_equal(s.l[3].symbol, "TSLA");
  assert_int_equal(s.l[3].ap, 0);
  assert_int_equal(s.l[3].kind, ORDER_MINT);
  assert_int_equal(s.l[3].window_seconds, 31622400);
  money_format(s.l[3].max_qty, buf, sizeof buf);
  assert_string_equal(buf, "7.000000");
  memset(&s, 0, sizeof s);
  assert_int_equal(order_limits_list(c, aapl, 0, 10, see, &s), 3);
  memset(&s, 0, sizeof s);
  assert_int_equal(order_limits_list(c, aapl, id, 1, see, &s), 1);
  assert_int_equal(s.l[0].window_seconds, 60);
  memset(&s, 0, sizeof s);
  assert_int_equal(order_limits_list(c, tsla, s.l[0].id, 10, see, &s), 1);
}

static void insert_sql(int64_t ap, char *out, size_t size)
{
  snprintf(out, size,
           "INSERT INTO orders (kind, ap, instrument, wallet, quantity, limit_price, token_amount,"
           " multiplier, mint_policy, fee_flat, fee_rate, state, session_date) VALUES ('mint',"
           " %lld, %lld, '0x00000000000000000000000000000000000000a1', 60, 100, 60, 1, 'at_fill',"
           " 0, 0, 'awaiting_cash', current_date)",
           (long long)ap, (long long)aapl);
}

/* Two transactions each check and insert 60 under a limit of 100: one of them fails. */
static void test_race(void **state)
{
  (void)state;
  struct db_conn *c2 = ts_db_connect(&db, 10);
  set_limit(aapl, 0, ORDER_MINT, 3600, "100");
  ts_sql(c, "BEGIN ISOLATION LEVEL SERIALIZABLE");
  ts_sql(c2, "BEGIN ISOLATION LEVEL SERIALIZABLE");
  assert_int_equal(order_limits_check_in(c, aapl, ap1, ORDER_MINT, qty("60")), 0);
  assert_int_equal(order_limits_check_in(c2, aapl, ap2, ORDER_MINT, qty("60")), 0);
  char ins1[1024], ins2[1024];
  insert_sql(ap1, ins1, sizeof ins1);
  insert_sql(ap2, ins2, sizeof ins2);
  enum db_qs a = db_exec_sql(c, ins1);
  enum db_qs b = db_exec_sql(c2, ins2);
  if (a >= 0)
    a = db_exec_sql(c, "COMMIT");
  else
    db_exec_sql(c, "ROLLBACK");
  if (b >= 0)
    b = db_exec_sql(c2, "COMMIT");
  else
    db_exec_sql(c2, "ROLLBACK");
  /* Exactly one committed; the other failed serialization (and would be retried). */
  assert_true((a >= 0) != (b >= 0));
  assert_int_equal(a >= 0 ? b : a, DB_QS_SOFT);
  assert_int_equal(ts_sql_int(c, "SELECT count(*) FROM orders"), 1);
  /* The retry sees the first order and is refused. */
  assert_int_equal(order_limits_check_in(c2, aapl, ap2, ORDER_MINT, qty("60")), -ERR_ORDER_LIMIT);
  assert_int_equal(order_limits_check_in(c2, aapl, ap2, ORDER_MINT, qty("40")), 0);
  db_close(c2);
}

struct accts {
  int n;
  struct books_account a[8];
};

static int see_acct(void *cls, const struct books_account *a)
{
  struct accts *s = cls;
  s->a[s->n++] = *a;
  return 0;
}

static void test_accounts_list(void **state)
{
  (void)state;
  struct books_entry e[] = {
      {"custodian", "cash:USD", {-150050, 2}},
      {"ap:1", "cash:USD", {150050, 2}},
  };
  struct books_posting p = {"fund-1", "order:1", NULL, 0, e, 2};
  assert_int_equal(books_post_txn(c, &p, NULL), 0);
  struct books_entry e2[] = {
      {"chain", "tokens:AAPLx", {-5, 0}},
      {"ap:1", "tokens:AAPLx", {5, 0}},
  };
  e2[0].amount = (struct money){-(__int128)5000000000000000000, 18};
  e2[1].amount = (struct money){(__int128)5000000000000000000, 18};
  struct books_posting p2 = {"mint-1", "order:1", NULL, 0, e2, 2};
  assert_int_equal(books_post_txn(c, &p2, NULL), 0);
  char buf[MONEY_STR_MAX];
  struct accts s;
  memset(&s, 0, sizeof s);
  assert_int_equal(books_accounts_list(c, "ap:1", 0, 10, see_acct, &s), 2);
  assert_string_equal(s.a[0].owner, "ap:1");
  assert_string_equal(s.a[0].asset, "cash:USD");
  assert_int_equal(s.a[0].scale, 2);
  money_format(s.a[0].balance, buf, sizeof buf);
  assert_string_equal(buf, "1500.50");
  assert_string_equal(s.a[1].asset, "tokens:AAPLx");
  assert_int_equal(s.a[1].scale, 18);
  money_format(s.a[1].balance, buf, sizeof buf);
  assert_string_equal(buf, "5.000000000000000000");
  memset(&s, 0, sizeof s);
  assert_int_equal(books_accounts_list(c, NULL, 0, 10, see_acct, &s), 4);
  memset(&s, 0, sizeof s);
  assert_int_equal(books_accounts_list(c, "custodian", 0, 10, see_acct, &s), 1);
  money_format(s.a[0].balance, buf, sizeof buf);
  assert_string_equal(buf, "-1500.50");
  int64_t first = s.a[0].id;
  memset(&s, 0, sizeof s);
  assert_int_equal(books_accounts_list(c, NULL, first, 2, see_acct, &s), 2);
  assert_true(s.a[0].id > first);
  assert_int_equal(books_accounts_list(c, "ap:2", 0, 10, see_acct, &s), 0);
  assert_int_equal(books_accounts_list(c, "nobody", 0, 10, see_acct, &s), -ERR_BOOKS_ACCOUNT);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_boundary, setup, teardown),
      cmocka_unit_test_setup_teardown(test_what_counts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_window_rolls, setup, teardown),
      cmocka_unit_test_setup_teardown(test_instrument_wide, setup, teardown),
      cmocka_unit_test_setup_teardown(test_set_and_list, setup, teardown),
      cmocka_unit_test_setup_teardown(test_race, setup, teardown),
      cmocka_unit_test_setup_teardown(test_accounts_list, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
