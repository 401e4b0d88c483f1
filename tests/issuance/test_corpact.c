/*
 * Corporate actions (issuance/issuance_corpact*.c) against a real
 * PostgreSQL: the multiplier arithmetic to the exact digit (half-even at
 * 18 places, ties included), the terms' rules, the displayed figures
 * (liability rounded up at share scale), and over the clock: a 2-for-1
 * split applied exactly at effective_at and not a second before, 1-for-10
 * and 3-for-2, a guard that finds the multiplier changed behind its back,
 * a cancelled action never applied, the window both ends included and
 * its default bounds on the NYSE calendar, dividends recorded, a symbol
 * change with its guard, and raw supply read from the built-in ledger.
 */
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "issuance/issuance.h"
#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

/* Times (Unix ms, UTC). */
#define T0       1903867200000LL /* 2030-05-01T12:00:00Z: the clock at the start */
#define EFF      1906723800000LL /* 2030-06-03T13:30:00Z: Monday 09:30 New York */
#define FRI_1600 1906488000000LL /* 2030-05-31T20:00:00Z: Friday 16:00 New York */
#define FRI_MEM  1905883200000LL /* 2030-05-24T20:00:00Z: Friday before Memorial Day 16:00 NY */
#define TUE_EFF  1906205400000LL /* 2030-05-28T13:30:00Z: Tuesday after Memorial Day */
#define HOUR     3600000LL

static struct ts_db db;
static struct db_conn *c;

static int setup(void **state)
{
  (void)state;
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  c = ts_db_migrated("corpact", &db, 10, migrations_all, migrations_count);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  ts_db_done(&c, &db);
  return 0;
}

static void clock_to(int64_t ms)
{
  char sql[256];
  snprintf(sql, sizeof sql,
           "UPDATE clock SET anchor_wall = clock_timestamp(), speed = 1,"
           " anchor_virtual = 'epoch'::timestamptz + %lld * interval '1 millisecond'",
           (long long)ms);
  ts_sql(c, sql);
}

static void expect_sql(const char *sql, const char *want)
{
  char *v = ts_sql_value(c, sql);
  if (strcmp(v, want) != 0)
    fail_msg("%s: got \"%s\", want \"%s\"", sql, v, want);
  free(v);
}

/* A fresh instrument of @symbol (ISIN and token derived from it) with @multiplier. */
static int64_t instrument(const char *symbol, const char *isin, const char *multiplier)
{
  char sql[768];
  snprintf(sql, sizeof sql,
           "INSERT INTO instruments (symbol, isin, token_symbol, mint_policy, burn_policy,"
           " min_order_qty, max_order_qty, market_open, market_close, cutoff, out_of_hours,"
           " multiplier) VALUES ('%s', '%s', '%sx', 'at_fill', 'on_receipt', 1, 1000, '09:30',"
           " '16:00', '15:30', 'queue', %s) RETURNING id",
           symbol, isin, symbol, multiplier);
  return ts_sql_int(c, sql);
}

static void multiplier_is(int64_t inst, const char *want)
{
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT multiplier FROM instruments WHERE id = %lld", (long long)inst);
  expect_sql(sql, want);
}

static struct money amt(const char *s, unsigned scale)
{
  struct money m;
  if (money_parse(s, strlen(s), scale, 0, &m) != 0)
    fail_msg("bad amount %s", s);
  return m;
}

static void money_is(struct money m, const char *want)
{
  char b[MONEY_STR_MAX];
  assert_true(money_format(m, b, sizeof b) > 0);
  assert_string_equal(b, want);
}

static struct corpact_terms split_terms(enum corpact_type type, const char *rn, const char *ro,
                                        int64_t eff)
{
  struct corpact_terms t;
  corpact_terms_init(&t, type);
  t.has_ratio = true;
  t.ratio_new = amt(rn, CORPACT_RATIO_SCALE);
  t.ratio_old = amt(ro, CORPACT_RATIO_SCALE);
  t.effective_ms = eff;
  return t;
}

/* A cash dividend of @cash USD a share, effective at @eff. */
static struct corpact_terms dividend_terms(const char *cash, int64_t eff)
{
  struct corpact_terms t;
  corpact_terms_init(&t, CORPACT_CASH_DIVIDEND);
  t.has_cash = true;
  t.cash_per_share = amt(cash, 6);
  util_strlcpy(t.currency, "USD", sizeof t.currency);
  t.effective_ms = eff;
  return t;
}

/* Announce and schedule; returns the action's id. */
static int64_t scheduled(int64_t inst, const struct corpact_terms *t, struct corpact *a)
{
  char why[CORPACT_TEXT_MAX] = "";
  int rc = corpact_announce(c, inst, t, 0, a, why, sizeof why);
  if (rc != 0)
    fail_msg("announce: %d %s", rc, why);
  assert_int_equal(a->status, CORPACT_ANNOUNCED);
  rc = corpact_schedule(c, a->id, a, why, sizeof why);
  if (rc != 0)
    fail_msg("schedule: %d %s", rc, why);
  assert_int_equal(a->status, CORPACT_SCHEDULED);
  return a->id;
}

static struct corpact_step_stats step(void)
{
  struct corpact_step_stats st;
  assert_int_equal(corpact_step(c, &st), 0);
  return st;
}

/* ------------------------------------------------------------------ */

static void test_multiplier_digits(void **state)
{
  struct money m;
  (void)state;
  struct {
    const char *old, *rn, *ro, *want;
  } cases[] = {
      {"1", "2", "1", "2.000000000000000000"},                    /* 2-for-1 */
      {"2", "1", "10", "0.200000000000000000"},                   /* 1-for-10 on 2 */
      {"1", "3", "2", "1.500000000000000000"},                    /* 3-for-2 */
      {"1", "1", "3", "0.333333333333333333"},                    /* 1/3: the 19th digit 3, down */
      {"1", "2", "3", "0.666666666666666667"},                    /* 2/3: ...6|66, up */
      {"1", "7", "3", "2.333333333333333333"},                    /* 7-for-3 */
      {"1.5", "1", "7", "0.214285714285714286"},                  /* 1.5/7: ...285|714, up */
      {"0.000000000000000003", "1", "2", "0.000000000000000002"}, /* 1.5e-18: tie, to even 2 */
      {"0.000000000000000005", "1", "2", "0.000000000000000002"}, /* 2.5e-18: tie, to even 2 */
      {"0.000000000000000007", "1", "2", "0.000000000000000004"}, /* 3.5e-18: tie, to even 4 */
      {"12345678901234567890.123456789012345678", "1", "3",
       "4115226300411522630.041152263004115226"},
      {"1.123456789012345678", "1.000001", "0.999999", "1.123459035928170619"},
      {"50000000000000000000", "1", "2", "25000000000000000000.000000000000000000"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(
        corpact_multiplier(amt(cases[i].old, 18), amt(cases[i].rn, 6), amt(cases[i].ro, 6), &m), 0);
    money_is(m, cases[i].want);
  }
  /* 0.5e-18 rounds to 0 (even): no multiplier; 10^20 does not fit numeric(38, 18). */
  assert_int_equal(
      corpact_multiplier(amt("0.000000000000000001", 18), amt("1", 6), amt("2", 6), &m),
      -ERR_INVALID_ARGUMENT);
  assert_int_equal(
      corpact_multiplier(amt("50000000000000000000", 18), amt("2", 6), amt("1", 6), &m),
      -ERR_INVALID_ARGUMENT);
  assert_int_equal(corpact_multiplier(amt("1", 18), amt("0", 6), amt("1", 6), &m),
                   -ERR_INVALID_ARGUMENT);
}

static void test_terms_rules(void **state)
{
  char why[CORPACT_TEXT_MAX];
  struct corpact_terms t;
  (void)state;
  struct {
    enum corpact_type type;
    const char *rn, *ro; /* NULL: no ratio */
    const char *cash, *ccy, *sym;
    int32_t ex, rec, pay;
    int64_t eff, ws, we;
    const char *why; /* NULL: accepted */
  } cases[] = {
      {CORPACT_SPLIT, "2", "1", NULL, "", "", 0, 0, 0, EFF, 0, 0, NULL},
      {CORPACT_SPLIT, "1", "2", NULL, "", "", 0, 0, 0, EFF, 0, 0,
       "field \"ratio_new\": a split has ratio_new above ratio_old (ratio_new-for-ratio_old, e.g. "
       "2-for-1)"},
      {CORPACT_SPLIT, "1", "1", NULL, "", "", 0, 0, 0, EFF, 0, 0,
       "field \"ratio_new\": a split has ratio_new above ratio_old (ratio_new-for-ratio_old, e.g. "
       "2-for-1)"},
      {CORPACT_REVERSE_SPLIT, "10", "1", NULL, "", "", 0, 0, 0, EFF, 0, 0,
       "field \"ratio_new\": a reverse_split has ratio_new below ratio_old (ratio_new-for-"
       "ratio_old, e.g. 1-for-10)"},
      {CORPACT_REVERSE_SPLIT, "1", "10", NULL, "", "", 0, 0, 0, EFF, 0, 0, NULL},
      {CORPACT_SPLIT, NULL, NULL, NULL, "", "", 0, 0, 0, EFF, 0, 0,
       "field \"ratio_new\": a split needs ratio_new and ratio_old"},
      {CORPACT_SPLIT, "2", "0", NULL, "", "", 0, 0, 0, EFF, 0, 0,
       "field \"ratio_old\": must be above 0 and below 100000000000000, with at most 6 decimals"},
      {CORPACT_CASH_DIVIDEND, NULL, NULL, NULL, "", "", 0, 0, 0, EFF, 0, 0,
       "field \"cash_per_share\": a cash_dividend needs cash_per_share and currency"},
      {CORPACT_CASH_DIVIDEND, NULL, NULL, "0.24", "", "", 0, 0, 0, EFF, 0, 0,
       "field \"currency\": 3 letters A-Z (ISO 4217), with cash_per_share"},
      {CORPACT_CASH_DIVIDEND, NULL, NULL, "0.24", "USD", "", 0, 0, 0, EFF, 0, 0, NULL},
      {CORPACT_CASH_DIVIDEND, "2", "1", "0.24", "USD", "", 0, 0, 0, EFF, 0, 0,
       "field \"ratio_new\": not for a cash_dividend"},
      {CORPACT_SPLIT, "2", "1", "0.24", "USD", "", 0, 0, 0, EFF, 0, 0,
       "field \"cash_per_share\": not for a split"},
      {CORPACT_SYMBOL_CHANGE, NULL, NULL, NULL, "", "", 0, 0, 0, EFF, 0, 0,
       "field \"new_symbol\": a symbol_change needs new_symbol"},
      {CORPACT_SYMBOL_CHANGE, NULL, NULL, NULL, "", "tsla", 0, 0, 0, EFF, 0, 0,
       "field \"new_symbol\": 1-16 of A-Z 0-9 ."},
      {CORPACT_DELISTING, NULL, NULL, NULL, "", "", 0, 0, 0, EFF, 0, 0, NULL},
      {CORPACT_STOCK_DIVIDEND, "1.05", "1", NULL, "", "", 0, 0, 0, EFF, 0, 0, NULL},
      {CORPACT_CASH_DIVIDEND, NULL, NULL, "0.24", "USD", "", 20602, 20601, 20610, EFF, 0, 0,
       "field \"ex_date\": must not be after record_date"},
      {CORPACT_CASH_DIVIDEND, NULL, NULL, "0.24", "USD", "", 20601, 20601, 20600, EFF, 0, 0,
       "field \"pay_date\": must not be before record_date"},
      {CORPACT_CASH_DIVIDEND, NULL, NULL, "0.24", "USD", "", 20601, 20601, 20610, EFF, 0, 0, NULL},
      {CORPACT_SPLIT, "2", "1", NULL, "", "", 0, 0, 0, CORPACT_TIME_NONE, 0, 0,
       "field \"effective_at\": required"},
      {CORPACT_SPLIT, "2", "1", NULL, "", "", 0, 0, 0, EFF, EFF + 1, 0,
       "field \"window_start\": must not be after effective_at"},
      {CORPACT_SPLIT, "2", "1", NULL, "", "", 0, 0, 0, EFF, 0, EFF - 1,
       "field \"window_end\": must not be before effective_at"},
      {CORPACT_SPLIT, "2", "1", NULL, "", "", 0, 0, 0, EFF, EFF, EFF,
       "field \"window_end\": must be after window_start"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    corpact_terms_init(&t, cases[i].type);
    if (cases[i].rn != NULL) {
      t.has_ratio = true;
      t.ratio_new = amt(cases[i].rn, 6);
      t.ratio_old = amt(cases[i].ro, 6);
    }
    if (cases[i].cash != NULL) {
      t.has_cash = true;
      t.cash_per_share = amt(cases[i].cash, 6);
    }
    util_strlcpy(t.currency, cases[i].ccy, sizeof t.currency);
    util_strlcpy(t.new_symbol, cases[i].sym, sizeof t.new_symbol);
    if (cases[i].ex != 0) {
      t.ex_date = cases[i].ex;
      t.record_date = cases[i].rec;
      t.pay_date = cases[i].pay;
    }
    t.effective_ms = cases[i].eff;
    if (cases[i].ws != 0)
      t.window_start_ms = cases[i].ws;
    if (cases[i].we != 0)
      t.window_end_ms = cases[i].we;
    why[0] = '\0';
    int rc = corpact_terms_check(&t, why, sizeof why);
    if (cases[i].why == NULL) {
      if (rc != 0)
        fail_msg("case %zu refused: %s", i, why);
    } else {
      assert_int_equal(rc, -ERR_INVALID_ARGUMENT);
      assert_string_equal(why, cases[i].why);
    }
  }
}

static void test_figures(void **state)
{
  struct corpact_supply s;
  (void)state;
  /* One raw unit at 18 decimals, multiplier 1.5: 1.5e-18 shares; shown 1e-18, owed 0.000001. */
  assert_int_equal(corpact_figures(amt("0.000000000000000001", 18), amt("1.5", 18), &s), 0);
  money_is(s.raw_supply, "0.000000000000000001");
  money_is(s.multiplier, "1.500000000000000000");
  money_is(s.displayed_supply, "0.000000000000000001");
  money_is(s.liability_shares, "0.000001");
  /* 3 tokens x 1/3 (rounded): 0.999999999999999999 shown, 1.000000 owed. */
  assert_int_equal(corpact_figures(amt("3", 18), amt("0.333333333333333333", 18), &s), 0);
  money_is(s.displayed_supply, "0.999999999999999999");
  money_is(s.liability_shares, "1.000000");
  /* Exact: 100.5 x 2 = 201; a token of 6 decimals keeps its scale. */
  assert_int_equal(corpact_figures(amt("100.5", 6), amt("2", 18), &s), 0);
  money_is(s.raw_supply, "100.500000");
  money_is(s.displayed_supply, "201.000000000000000000");
  money_is(s.liability_shares, "201.000000");
  assert_int_equal(corpact_figures(amt("0", 18), amt("2", 18), &s), 0);
  money_is(s.displayed_supply, "0.000000000000000000");
  money_is(s.liability_shares, "0.000000");
}

/* 2-for-1 moves 1 -> 2 exactly at effective_at, not a second before; then reconciled. */
static void test_split_at_effective(void **state)
{
  struct corpact a, b;
  char why[CORPACT_TEXT_MAX];
  (void)state;
  clock_to(T0);
  int64_t inst = instrument("SPLT", "US0000000001", "1");
  struct corpact_terms t = split_terms(CORPACT_SPLIT, "2", "1", EFF);
  int64_t id = scheduled(inst, &t, &a);
  money_is(a.old_multiplier, "1.000000000000000000");
  money_is(a.new_multiplier, "2.000000000000000000");
  assert_true(a.has_multipliers);
  /* The default window: Friday 16:00 New York to effective + 1 hour. */
  assert_int_equal(a.terms.window_start_ms, FRI_1600);
  assert_int_equal(a.terms.window_end_ms, EFF + HOUR);

  clock_to(EFF - 1000);
  struct corpact_step_stats st = step();
  assert_int_equal(st.applied, 0);
  multiplier_is(inst, "1.000000000000000000");
  assert_int_equal(corpact_get(c, id, false, &b), 0);
  assert_int_equal(b.status, CORPACT_SCHEDULED);
  assert_int_equal(b.applied_ms, CORPACT_TIME_NONE);

  clock_to(EFF);
  st = step();
  assert_int_equal(st.applied, 1);
  assert_int_equal(st.guarded, 0);
  multiplier_is(inst, "2.000000000000000000");
  assert_int_equal(corpact_get(c, id, false, &b), 0);
  assert_int_equal(b.status, CORPACT_APPLIED);
  assert_true(b.applied_ms >= EFF && b.applied_ms < EFF + 5000);
  assert_string_equal(b.attention, "");
  /* Once only. */
  st = step();
  assert_int_equal(st.applied, 0);
  multiplier_is(inst, "2.000000000000000000");
  /* Cancel after applied: refused; reconcile: applied -> reconciled, then no more. */
  assert_int_equal(corpact_cancel(c, id, NULL, why, sizeof why), -ERR_API_CONFLICT);
  assert_string_equal(why, "the action is applied: it cannot be cancelled");
  assert_int_equal(corpact_reconcile(c, id, &b, why, sizeof why), 0);
  assert_int_equal(b.status, CORPACT_RECONCILED);
  assert_int_equal(corpact_reconcile(c, id, &b, why, sizeof why), -ERR_API_CONFLICT);
  assert_string_equal(why, "the action is reconciled: it cannot be reconciled");
}

static void test_ratios_applied(void **state)
{
  struct corpact a;
  (void)state;
  clock_to(T0);
  struct {
    const char *sym, *isin, *from;
    enum corpact_type type;
    const char *rn, *ro, *want;
  } cases[] = {
      {"REV", "US0000000002", "2", CORPACT_REVERSE_SPLIT, "1", "10", "0.200000000000000000"},
      {"THR", "US0000000003", "1", CORPACT_SPLIT, "3", "2", "1.500000000000000000"},
      {"TRD", "US0000000004", "1", CORPACT_REVERSE_SPLIT, "2", "3", "0.666666666666666667"},
  };
  int64_t ids[3];
  for (int i = 0; i < 3; i++) {
    ids[i] = instrument(cases[i].sym, cases[i].isin, cases[i].from);
    struct corpact_terms t = split_terms(cases[i].type, cases[i].rn, cases[i].ro, EFF + i);
    scheduled(ids[i], &t, &a);
    money_is(a.new_multiplier, cases[i].want);
  }
  clock_to(EFF + 10);
  struct corpact_step_stats st = step();
  assert_int_equal(st.applied, 3);
  for (int i = 0; i < 3; i++)
    multiplier_is(ids[i], cases[i].want);
}

/* The multiplier changed behind the action's back: not applied, attention, still scheduled. */
static void test_guard(void **state)
{
  struct corpact a, b;
  char why[CORPACT_TEXT_MAX];
  (void)state;
  clock_to(T0);
  int64_t inst = instrument("GRD", "US0000000005", "1");
  struct corpact_terms t = split_terms(CORPACT_SPLIT, "2", "1", EFF);
  int64_t id = scheduled(inst, &t, &a);
  /* A second split while one is scheduled: refused (its guard could never hold). */
  struct corpact_terms t2 = split_terms(CORPACT_SPLIT, "3", "1", EFF + HOUR);
  assert_int_equal(corpact_announce(c, inst, &t2, 0, &b, why, sizeof why), 0);
  assert_int_equal(corpact_schedule(c, b.id, NULL, why, sizeof why), -ERR_API_CONFLICT);
  assert_string_equal(why, "another split of this instrument is scheduled: apply or cancel it "
                           "first (its guard expects the multiplier of now)");
  ts_sql(c, "UPDATE instruments SET multiplier = 3 WHERE symbol = 'GRD'");
  clock_to(EFF + 1);
  struct corpact_step_stats st = step();
  assert_int_equal(st.applied, 0);
  assert_int_equal(st.guarded, 1);
  multiplier_is(inst, "3.000000000000000000");
  assert_int_equal(corpact_get(c, id, false, &a), 0);
  assert_int_equal(a.status, CORPACT_SCHEDULED);
  assert_string_equal(a.attention, "guard failed: the multiplier is 3.000000000000000000, "
                                   "expected 1.000000000000000000; not applied, an operator "
                                   "must look");
  /* Left alone from then on. */
  st = step();
  assert_int_equal(st.guarded, 0);
  assert_int_equal(st.applied, 0);
  /* The second one was announced and never scheduled: past its time it gets attention once. */
  clock_to(EFF + HOUR + 1);
  st = step();
  assert_int_equal(st.unplanned, 1);
  assert_int_equal(corpact_get(c, b.id, false, &b), 0);
  assert_int_equal(b.status, CORPACT_ANNOUNCED);
  assert_string_equal(b.attention,
                      "effective_at passed while announced: never scheduled, nothing applied");
  st = step();
  assert_int_equal(st.unplanned, 0);
  /* Scheduling after effective_at: refused. */
  assert_int_equal(corpact_schedule(c, b.id, NULL, why, sizeof why), -ERR_API_CONFLICT);
  assert_string_equal(why, "effective_at has passed: cancel this action and announce it again");
}

/* Cancelled before applied: never applied, and its window pauses nothing. */
static void test_cancelled_never_applied(void **state)
{
  struct corpact a;
  char why[CORPACT_TEXT_MAX];
  int64_t found = -1;
  (void)state;
  clock_to(T0);
  int64_t inst = instrument("CNL", "US0000000006", "1");
  struct corpact_terms t = split_terms(CORPACT_SPLIT, "2", "1", EFF);
  int64_t id = scheduled(inst, &t, &a);
  assert_int_equal(corpact_window_at(c, inst, EFF, &found), 1);
  assert_int_equal(found, id);
  assert_int_equal(corpact_cancel(c, id, &a, why, sizeof why), 0);
  assert_int_equal(a.status, CORPACT_CANCELLED);
  assert_int_equal(corpact_window_at(c, inst, EFF, &found), 0);
  assert_int_equal(found, 0);
  clock_to(EFF + 1000);
  struct corpact_step_stats st = step();
  assert_int_equal(st.applied, 0);
  multiplier_is(inst, "1.000000000000000000");
  assert_int_equal(corpact_get(c, id, false, &a), 0);
  assert_int_equal(a.status, CORPACT_CANCELLED);
  assert_int_equal(corpact_cancel(c, id, NULL, why, sizeof why), -ERR_API_CONFLICT);
  assert_string_equal(why, "the action is cancelled: it cannot be cancelled");
  assert_int_equal(corpact_schedule(c, id, NULL, why, sizeof why), -ERR_API_CONFLICT);
  assert_string_equal(why, "the action is cancelled: it cannot be scheduled");
  assert_int_equal(corpact_schedule(c, 999999, NULL, why, sizeof why), -ERR_API_NOT_FOUND);
}

struct window_at {
  int64_t inst;
  int rc;
  int64_t id;
};

static enum db_qs window_body(struct db_conn *conn, void *cls)
{
  struct window_at *w = cls;
  w->rc = corpact_window_in(conn, w->inst, &w->id);
  return w->rc < 0 ? DB_QS_HARD : DB_QS_NONE;
}

/* The window includes both ends, and corpact_window_in() follows the clock. */
static void test_window(void **state)
{
  struct corpact a;
  char why[CORPACT_TEXT_MAX];
  int64_t id = -1;
  (void)state;
  clock_to(T0);
  int64_t inst = instrument("WIN", "US0000000007", "1");
  struct corpact_terms t = split_terms(CORPACT_SPLIT, "2", "1", EFF);
  t.window_start_ms = EFF - 2 * HOUR;
  t.window_end_ms = EFF + 30 * 60000;
  assert_int_equal(corpact_announce(c, inst, &t, 0, &a, why, sizeof why), 0);
  assert_int_equal(a.terms.window_start_ms, EFF - 2 * HOUR);
  assert_int_equal(a.terms.window_end_ms, EFF + 30 * 60000);
  struct {
    int64_t at;
    int want;
  } probes[] = {
      {EFF - 2 * HOUR - 1, 0}, {EFF - 2 * HOUR, 1},       {EFF, 1},
      {EFF + 30 * 60000, 1},   {EFF + 30 * 60000 + 1, 0}, {T0, 0},
  };
  for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
    assert_int_equal(corpact_window_at(c, inst, probes[i].at, &id), probes[i].want);
    assert_int_equal(id, probes[i].want ? a.id : 0);
  }
  /* Another instrument: never. */
  int64_t other = instrument("WIO", "US0000000008", "1");
  assert_int_equal(corpact_window_at(c, other, EFF, &id), 0);
  /* On the clock, inside a transaction. */
  struct window_at w = {inst, -1, -1};
  clock_to(EFF - 2 * HOUR - 2000);
  assert_int_equal(db_txn(c, "window", window_body, &w), 0);
  assert_int_equal(w.rc, 0);
  clock_to(EFF - 2 * HOUR);
  assert_int_equal(db_txn(c, "window", window_body, &w), 0);
  assert_int_equal(w.rc, 1);
  assert_int_equal(w.id, a.id);
}

/* Default windows on the NYSE calendar, and "the later of now". */
static void test_default_window(void **state)
{
  struct corpact a;
  char why[CORPACT_TEXT_MAX];
  (void)state;
  clock_to(T0);
  int64_t inst = instrument("DEF", "US0000000009", "1");
  /* ex_date Tuesday 2030-05-28, after Memorial Day: the close of Friday 2030-05-24. */
  struct corpact_terms t = dividend_terms("0.24", TUE_EFF);
  assert_int_equal(cal_parse_date("2030-05-28", 10, &t.ex_date), 0);
  t.record_date = t.ex_date;
  assert_int_equal(cal_parse_date("2030-06-14", 10, &t.pay_date), 0);
  assert_int_equal(corpact_announce(c, inst, &t, 0, &a, why, sizeof why), 0);
  assert_int_equal(a.terms.window_start_ms, FRI_MEM);
  assert_int_equal(a.terms.window_end_ms, TUE_EFF + HOUR);
  assert_int_equal(a.terms.ex_date, t.ex_date);
  assert_int_equal(a.terms.pay_date, t.pay_date);
  /* No ex_date: effective_at's New York date (Tuesday) stands in. */
  t.ex_date = t.record_date = t.pay_date = CORPACT_DATE_NONE;
  assert_int_equal(corpact_announce(c, inst, &t, 0, &a, why, sizeof why), 0);
  assert_int_equal(a.terms.window_start_ms, FRI_MEM);
  /* Announced after that close: the window starts now. */
  clock_to(FRI_MEM + HOUR);
  assert_int_equal(corpact_announce(c, inst, &t, 0, &a, why, sizeof why), 0);
  assert_true(a.terms.window_start_ms >= FRI_MEM + HOUR &&
              a.terms.window_start_ms < FRI_MEM + HOUR + 5000);
  assert_true(a.created_ms >= FRI_MEM + HOUR && a.created_ms < FRI_MEM + HOUR + 5000);
  /* effective_at not after now: refused, nothing stored. */
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM corporate_actions WHERE instrument = %lld",
           (long long)inst);
  expect_sql(sql, "3");
  t.effective_ms = FRI_MEM;
  assert_int_equal(corpact_announce(c, inst, &t, 0, &a, why, sizeof why), -ERR_INVALID_ARGUMENT);
  assert_string_equal(why, "field \"effective_at\": must be after the clock's now");
  assert_int_equal(corpact_announce(c, 999999, &t, 0, &a, why, sizeof why), -ERR_API_NOT_FOUND);
  expect_sql(sql, "3");
}

/* Dividends and the rest: recorded; a symbol change renames, guarded. */
static void test_recorded_and_symbol(void **state)
{
  struct corpact a, d, s, g;
  char why[CORPACT_TEXT_MAX];
  (void)state;
  clock_to(T0);
  int64_t inst = instrument("DIV", "US0000000010", "1.25");
  struct corpact_terms t = dividend_terms("0.245", EFF);
  int64_t div = scheduled(inst, &t, &a);
  assert_false(a.has_multipliers);
  struct corpact_terms sd = split_terms(CORPACT_STOCK_DIVIDEND, "1.05", "1", EFF + 1);
  int64_t stock = scheduled(inst, &sd, &d);
  struct corpact_terms sc;
  corpact_terms_init(&sc, CORPACT_SYMBOL_CHANGE);
  util_strlcpy(sc.new_symbol, "DVD", sizeof sc.new_symbol);
  sc.effective_ms = EFF + 2;
  int64_t sym = scheduled(inst, &sc, &s);
  assert_string_equal(s.old_symbol, "DIV");
  /* Same symbol: refused. */
  util_strlcpy(sc.new_symbol, "DIV", sizeof sc.new_symbol);
  assert_int_equal(corpact_announce(c, inst, &sc, 0, &g, why, sizeof why), -ERR_INVALID_ARGUMENT);
  assert_string_equal(why, "field \"new_symbol\": the instrument already has this symbol");
  /* A symbol change to a taken symbol: guarded. */
  int64_t other = instrument("OTH", "US0000000011", "1");
  instrument("TAKEN", "US0000000012", "1");
  util_strlcpy(sc.new_symbol, "TAKEN", sizeof sc.new_symbol);
  int64_t taken = scheduled(other, &sc, &g);

  clock_to(EFF + 10);
  struct corpact_step_stats st = step();
  assert_int_equal(st.applied, 3);
  assert_int_equal(st.guarded, 1);
  multiplier_is(inst, "1.250000000000000000");
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT symbol FROM instruments WHERE id = %lld", (long long)inst);
  expect_sql(sql, "DVD");
  assert_int_equal(corpact_get(c, div, false, &a), 0);
  assert_int_equal(a.status, CORPACT_APPLIED);
  assert_string_equal(a.attention, "");
  money_is(a.terms.cash_per_share, "0.245000");
  assert_string_equal(a.symbol, "DVD");
  assert_int_equal(corpact_get(c, stock, false, &d), 0);
  assert_int_equal(d.status, CORPACT_APPLIED);
  assert_string_equal(d.attention, "recorded only: a stock_dividend changes nothing "
                                   "automatically yet; act on it by hand, then reconcile");
  assert_int_equal(corpact_get(c, sym, false, &s), 0);
  assert_int_equal(s.status, CORPACT_APPLIED);
  assert_int_equal(corpact_get(c, taken, false, &g), 0);
  assert_int_equal(g.status, CORPACT_SCHEDULED);
  assert_string_equal(g.attention, "guard failed: the symbol is OTH, expected OTH, or TAKEN is "
                                   "taken; not applied, an operator must look");
  /* The list, by id. */
  struct corpact items[4];
  assert_int_equal(corpact_list(c, inst, 0, items, 4), 3);
  assert_int_equal(items[0].id, div);
  assert_int_equal(items[2].id, sym);
  assert_int_equal(corpact_list(c, inst, div, items, 1), 1);
  assert_int_equal(items[0].id, stock);
}

/* Raw supply from the built-in ledger, next to the multiplier and displayed figures. */
static void test_supply(void **state)
{
  struct corpact_supply s;
  struct chain_ledger *l = NULL;
  (void)state;
  int64_t inst = instrument("SUP", "US0000000013", "1.5");
  /* A token the ledger does not know: nothing minted. */
  assert_int_equal(corpact_supply(c, inst, &s), 0);
  money_is(s.raw_supply, "0.000000000000000000");
  money_is(s.liability_shares, "0.000000");
  assert_string_equal(s.token_symbol, "SUPx");
  assert_int_equal(chain_builtin_open(c, &l), 0);
  struct chain_token tok = {.symbol = "SUPx", .decimals = 18, .name = "SUP token"};
  assert_int_equal(chain_token_register(l, &tok), 0);
  assert_int_equal(chain_mint(l, "sup-1", "SUPx", "0x00000000000000000000000000000000000000aa",
                              amt("0.000000000000000001", 18), NULL),
                   0);
  int64_t head;
  assert_int_equal(chain_head(l, &head), 0);
  assert_int_equal(corpact_supply(c, inst, &s), 0);
  assert_int_equal(s.block, head);
  money_is(s.raw_supply, "0.000000000000000001");
  money_is(s.multiplier, "1.500000000000000000");
  money_is(s.displayed_supply, "0.000000000000000001");
  money_is(s.liability_shares, "0.000001");
  assert_int_equal(chain_mint(l, "sup-2", "SUPx", "0x00000000000000000000000000000000000000aa",
                              amt("2.000000000000000001", 18), NULL),
                   0);
  assert_int_equal(corpact_supply(c, inst, &s), 0);
  money_is(s.raw_supply, "2.000000000000000002");
  money_is(s.displayed_supply, "3.000000000000000003");
  money_is(s.liability_shares, "3.000001");
  chain_ledger_free(l);
  assert_int_equal(corpact_supply(c, 999999, &s), -ERR_API_NOT_FOUND);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_multiplier_digits),
      cmocka_unit_test(test_terms_rules),
      cmocka_unit_test(test_figures),
      cmocka_unit_test_setup_teardown(test_split_at_effective, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ratios_applied, setup, teardown),
      cmocka_unit_test_setup_teardown(test_guard, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancelled_never_applied, setup, teardown),
      cmocka_unit_test_setup_teardown(test_window, setup, teardown),
      cmocka_unit_test_setup_teardown(test_default_window, setup, teardown),
      cmocka_unit_test_setup_teardown(test_recorded_and_symbol, setup, teardown),
      cmocka_unit_test_setup_teardown(test_supply, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
