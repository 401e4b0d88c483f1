/*
 * Tests of the simulated broker's parts that need no network
 * (fix/fix_simbroker_cfg.c): behaviour specs, the configuration file and
 * BACKSTOCK_SIM_* variables (good lines, and bad lines with their exact
 * error, line number and reason), the New York trade date around
 * midnight and the DST switches, settlement dates across weekends and
 * holidays, how partial:<n> cuts an order, and the exact CumQty /
 * LeavesQty / AvgPx of partial fills, bust and correct.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fix/fix.h"

static struct money m(__int128 v, unsigned scale)
{
  struct money r;
  assert_int_equal(money_make(v, scale, &r), 0);
  return r;
}

static void assert_money(struct money got, const char *want)
{
  char buf[MONEY_STR_MAX];
  assert_true(money_format(got, buf, sizeof buf) > 0);
  assert_string_equal(buf, want);
}

static int32_t day(int y, unsigned mo, unsigned d)
{
  int32_t out;
  assert_int_equal(cal_day(y, mo, d, &out), 0);
  return out;
}

/* ------------------------------------------------------------------ */

static void test_behaviour_specs(void **state)
{
  (void)state;
  static const struct {
    const char *spec;
    enum fix_sim_kind kind;
    uint32_t n, ms;
  } good[] = {
      {"fill", FIX_SIM_FILL, 0, 0},
      {"partial:3:100", FIX_SIM_PARTIAL, 3, 100},
      {"partial:1:0", FIX_SIM_PARTIAL, 1, 0},
      {"partial:1000:86400000", FIX_SIM_PARTIAL, 1000, 86400000},
      {"reject", FIX_SIM_REJECT, 0, 0},
      {"cancel", FIX_SIM_CANCEL, 0, 0},
      {"expire", FIX_SIM_EXPIRE, 0, 0},
      {"ack_delay:250", FIX_SIM_ACK_DELAY, 0, 250},
      {"ack_delay:0", FIX_SIM_ACK_DELAY, 0, 0},
      {"disconnect", FIX_SIM_DISCONNECT, 0, 0},
      {"duplicate", FIX_SIM_DUPLICATE, 0, 0},
      {"silent", FIX_SIM_SILENT, 0, 0},
      {"bust", FIX_SIM_BUST, 0, 0},
      {"correct", FIX_SIM_CORRECT, 0, 0},
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    struct fix_sim_behaviour b;
    char text[FIX_SIM_SPEC_MAX];
    assert_int_equal(fix_sim_behaviour_parse(good[i].spec, strlen(good[i].spec), &b), 0);
    assert_int_equal(b.kind, good[i].kind);
    assert_int_equal(b.n, good[i].n);
    assert_int_equal(b.ms, good[i].ms);
    fix_sim_behaviour_format(&b, text);
    assert_string_equal(text, good[i].spec);
  }
  static const char *const bad[] = {
      "",
      "Fill",
      "fill:1",
      "partial",
      "partial:3",
      "partial:3:",
      "partial:0:100",
      "partial:1001:1",
      "partial:03:100",
      "partial:3:-1",
      "partial:3:+1",
      "partial:3:1:1",
      "partial:3:86400001",
      "ack_delay",
      "ack_delay:",
      "ack_delay:x",
      "ack_delay:86400001",
      "bust ",
      " bust",
      "sim:fill",
      "partial::5",
      "unknown",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct fix_sim_behaviour b = {FIX_SIM_SILENT, 7, 7};
    assert_int_equal(fix_sim_behaviour_parse(bad[i], strlen(bad[i]), &b), -ERR_CFG_VALUE);
    assert_int_equal(b.kind, FIX_SIM_SILENT); /* untouched on failure */
  }
  /* The length counts, not a NUL: "fill" inside a longer buffer. */
  struct fix_sim_behaviour b;
  assert_int_equal(fix_sim_behaviour_parse("fillX", 4, &b), 0);
  assert_int_equal(b.kind, FIX_SIM_FILL);
}

static void test_cfg_defaults(void **state)
{
  (void)state;
  struct fix_sim_cfg c;
  fix_sim_cfg_init(&c);
  assert_string_equal(c.listen_host, "127.0.0.1");
  assert_int_equal(c.listen_port, 9878);
  assert_string_equal(c.sender, "BROKER");
  assert_int_equal(c.n_targets, 1);
  assert_string_equal(c.targets[0], "BACKSTOCK");
  assert_int_equal(c.max_skew_s, 120);
  assert_int_equal(c.reset_minute, 17 * 60);
  assert_string_equal(c.tz, "America/New_York");
  assert_int_equal(c.settle_days, 1);
  assert_int_equal(c.default_behaviour.kind, FIX_SIM_FILL);
  assert_null(c.database_url);
  assert_int_equal(c.n_symbols, 0);
  char why[128];
  assert_int_equal(fix_sim_cfg_check(&c, why, sizeof why), -ERR_CFG_VALUE);
  assert_string_equal(why, "no database: set database_url or BACKSTOCK_DATABASE_URL");
  fix_sim_cfg_free(&c);
  fix_sim_cfg_free(NULL);
}

static void test_cfg_good_file(void **state)
{
  (void)state;
  static const char text[] = "# simulated broker\n"
                             "\n"
                             "listen = 0.0.0.0:0\n"
                             "  sender_comp_id=SIMBRK  \n"
                             "target_comp_ids = BACKSTOCK, TEST2 ,T3\n"
                             "max_skew_s = 30\r\n"
                             "reset_time = 07:05\n"
                             "time_zone = Europe/London\n"
                             "settle_days = 2\n"
                             "price.AAPL = 189.50\n"
                             "price.BRK.B = 412.123456\n"
                             "behaviour.AAPL = partial:3:100\n"
                             "behaviour.default = silent\n"
                             "price.AAPL = 190\n" /* a later line wins */
                             "database_url = postgresql:///x\n"
                             "log_level = debug";
  struct fix_sim_cfg c;
  unsigned line = 99;
  char why[128] = "";
  fix_sim_cfg_init(&c);
  assert_int_equal(fix_sim_cfg_load_text(&c, text, strlen(text), &line, why, sizeof why), 0);
  assert_int_equal(line, 99);
  assert_string_equal(c.listen_host, "0.0.0.0");
  assert_int_equal(c.listen_port, 0);
  assert_string_equal(c.sender, "SIMBRK");
  assert_int_equal(c.n_targets, 3);
  assert_string_equal(c.targets[0], "BACKSTOCK");
  assert_string_equal(c.targets[1], "TEST2");
  assert_string_equal(c.targets[2], "T3");
  assert_int_equal(c.max_skew_s, 30);
  assert_int_equal(c.reset_minute, 7 * 60 + 5);
  assert_string_equal(c.tz, "Europe/London");
  assert_int_equal(c.settle_days, 2);
  assert_int_equal(c.default_behaviour.kind, FIX_SIM_SILENT);
  assert_string_equal(c.database_url, "postgresql:///x");
  assert_int_equal(c.log_level, LOGL_DEBUG);
  assert_int_equal(c.n_symbols, 2);
  const struct fix_sim_symbol *s = fix_sim_cfg_symbol(&c, "AAPL");
  assert_non_null(s);
  assert_true(s->has_price);
  assert_money(s->price, "190.000000");
  assert_true(s->has_behaviour);
  assert_int_equal(s->behaviour.kind, FIX_SIM_PARTIAL);
  assert_int_equal(s->behaviour.n, 3);
  assert_int_equal(s->behaviour.ms, 100);
  s = fix_sim_cfg_symbol(&c, "BRK.B");
  assert_non_null(s);
  assert_money(s->price, "412.123456");
  assert_false(s->has_behaviour);
  assert_null(fix_sim_cfg_symbol(&c, "aapl")); /* symbols are exact */
  assert_null(fix_sim_cfg_symbol(&c, "MSFT"));
  assert_int_equal(fix_sim_cfg_check(&c, why, sizeof why), 0);
  fix_sim_cfg_free(&c);
}

static void test_cfg_bad_lines(void **state)
{
  (void)state;
  static const struct {
    const char *line;
    int rc;
    const char *why;
  } bad[] = {
      {"listen = 127.0.0.1", -ERR_CFG_VALUE, "listen: want IPv4-address:port"},
      {"listen = 127.0.0.1:65536", -ERR_CFG_VALUE, "listen: want IPv4-address:port"},
      {"listen = :80", -ERR_CFG_VALUE, "listen: want IPv4-address:port"},
      {"listen = 1.2.3.4:08", -ERR_CFG_VALUE, "listen: want IPv4-address:port"},
      {"listen = localhost:80", -ERR_CFG_VALUE, "listen: want IPv4-address:port"},
      {"listen = 1.2.3.256:80", -ERR_CFG_VALUE, "listen: want IPv4-address:port"},
      {"nonsense", -ERR_CFG_SYNTAX, "want key = value"},
      {" = value", -ERR_CFG_SYNTAX, "want key = value"},
      {"foo = 1", -ERR_CFG_UNKNOWN_KEY, "foo: unknown key"},
      {"Listen = 127.0.0.1:1", -ERR_CFG_UNKNOWN_KEY, "Listen: unknown key"},
      {"sender_comp_id =", -ERR_CFG_VALUE, "sender_comp_id: want 1-63 printable characters"},
      {"sender_comp_id = A B", -ERR_CFG_VALUE, "sender_comp_id: want 1-63 printable characters"},
      {"target_comp_ids = A,,B", -ERR_CFG_VALUE,
       "target_comp_ids: want 1-16 distinct comma-separated CompIDs"},
      {"target_comp_ids = A,B,A", -ERR_CFG_VALUE,
       "target_comp_ids: want 1-16 distinct comma-separated CompIDs"},
      {"target_comp_ids = A,", -ERR_CFG_VALUE,
       "target_comp_ids: want 1-16 distinct comma-separated CompIDs"},
      {"max_skew_s = 0", -ERR_CFG_VALUE, "max_skew_s: want seconds, 1-86400"},
      {"max_skew_s = 86401", -ERR_CFG_VALUE, "max_skew_s: want seconds, 1-86400"},
      {"settle_days = 31", -ERR_CFG_VALUE, "settle_days: want business days, 0-30"},
      {"settle_days = -1", -ERR_CFG_VALUE, "settle_days: want business days, 0-30"},
      {"reset_time = 24:00", -ERR_CFG_VALUE, "reset_time: want HH:MM"},
      {"reset_time = 7:00", -ERR_CFG_VALUE, "reset_time: want HH:MM"},
      {"reset_time = 12:60", -ERR_CFG_VALUE, "reset_time: want HH:MM"},
      {"reset_time = 1a:00", -ERR_CFG_VALUE, "reset_time: want HH:MM"},
      {"time_zone = ../etc/passwd", -ERR_CFG_VALUE,
       "time_zone: want a zone name such as America/New_York"},
      {"time_zone = /UTC", -ERR_CFG_VALUE, "time_zone: want a zone name such as America/New_York"},
      {"price.AAPL = -1", -ERR_CFG_VALUE,
       "price.AAPL: want a positive decimal with at most 6 fraction digits"},
      {"price.AAPL = 0", -ERR_CFG_VALUE,
       "price.AAPL: want a positive decimal with at most 6 fraction digits"},
      {"price.AAPL = 1.1234567", -ERR_CFG_VALUE,
       "price.AAPL: want a positive decimal with at most 6 fraction digits"},
      {"price.AAPL = 1e3", -ERR_CFG_VALUE,
       "price.AAPL: want a positive decimal with at most 6 fraction digits"},
      {"price.AAPL =", -ERR_CFG_VALUE,
       "price.AAPL: want a positive decimal with at most 6 fraction digits"},
      {"price. = 5", -ERR_CFG_UNKNOWN_KEY, "price.: not a symbol (A-Z a-z 0-9 . / _ -)"},
      {"price.A$ = 5", -ERR_CFG_UNKNOWN_KEY, "price.A$: not a symbol (A-Z a-z 0-9 . / _ -)"},
      {"behaviour.MSFT = partial:0:5", -ERR_CFG_VALUE, "behaviour.MSFT: not a behaviour spec"},
      {"behaviour.default = sim:fill", -ERR_CFG_VALUE, "behaviour.default: not a behaviour spec"},
      {"log_level = loud", -ERR_CFG_VALUE, "log_level: want debug, info, warn or error"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[256], why[160] = "";
    unsigned line = 0;
    struct fix_sim_cfg c;
    fix_sim_cfg_init(&c);
    /* The bad line is the second; the fourth must not be applied. */
    int n = snprintf(text, sizeof text, "# comment\n%s\nsettle_days = 3\nsettle_days = 4\n",
                     bad[i].line);
    int rc = fix_sim_cfg_load_text(&c, text, (size_t)n, &line, why, sizeof why);
    if (rc != bad[i].rc || line != 2 || strcmp(why, bad[i].why) != 0)
      fail_msg("\"%s\": rc %d line %u why \"%s\"", bad[i].line, rc, line, why);
    assert_int_equal(c.settle_days, 1);
    fix_sim_cfg_free(&c);
  }
}

static void test_cfg_env(void **state)
{
  (void)state;
  char *env[] = {
      "PATH=/usr/bin",
      "BACKSTOCK_LISTEN=127.0.0.1:1", /* the service's own: not ours, ignored */
      "BACKSTOCK_SIM_LISTEN=127.0.0.2:7001",
      "BACKSTOCK_SIM_PRICE.AAPL=189.5",
      "BACKSTOCK_SIM_BEHAVIOUR.AAPL=bust",
      "BACKSTOCK_SIM_BEHAVIOUR.DEFAULT=expire",
      "BACKSTOCK_SIM_TARGET_COMP_IDS=X1,X2",
      "BACKSTOCK_SIM_DATABASE_URL=dbname=sim",
      "BACKSTOCK_DATABASE_URL=dbname=service",
      NULL,
  };
  static const char file[] = "listen = 127.0.0.1:5000\nsettle_days = 0\nprice.MSFT = 1\n";
  struct fix_sim_cfg c;
  const char *bad = NULL;
  char why[128] = "";
  fix_sim_cfg_init(&c);
  assert_int_equal(fix_sim_cfg_load_text(&c, file, strlen(file), NULL, why, sizeof why), 0);
  assert_int_equal(fix_sim_cfg_load_env(&c, env, &bad, why, sizeof why), 0);
  assert_string_equal(c.listen_host, "127.0.0.2");
  assert_int_equal(c.listen_port, 7001);
  assert_int_equal(c.settle_days, 0); /* from the file */
  assert_int_equal(c.n_targets, 2);
  assert_string_equal(c.targets[1], "X2");
  assert_int_equal(c.default_behaviour.kind, FIX_SIM_EXPIRE);
  /* BACKSTOCK_SIM_DATABASE_URL wins over BACKSTOCK_DATABASE_URL, whatever the order. */
  assert_string_equal(c.database_url, "dbname=sim");
  const struct fix_sim_symbol *s = fix_sim_cfg_symbol(&c, "AAPL");
  assert_non_null(s);
  assert_money(s->price, "189.500000");
  assert_int_equal(s->behaviour.kind, FIX_SIM_BUST);
  assert_non_null(fix_sim_cfg_symbol(&c, "MSFT"));
  fix_sim_cfg_free(&c);

  /* BACKSTOCK_DATABASE_URL alone is enough. */
  char *env2[] = {"BACKSTOCK_DATABASE_URL=dbname=service", NULL};
  fix_sim_cfg_init(&c);
  assert_int_equal(fix_sim_cfg_load_env(&c, env2, &bad, why, sizeof why), 0);
  assert_string_equal(c.database_url, "dbname=service");
  assert_int_equal(fix_sim_cfg_check(&c, why, sizeof why), 0);
  fix_sim_cfg_free(&c);

  /* An unknown BACKSTOCK_SIM_ variable, and a bad value, name the variable. */
  char *env3[] = {"BACKSTOCK_SIM_SETTLE_DAYS=2", "BACKSTOCK_SIM_SETLE_DAYS=2", NULL};
  fix_sim_cfg_init(&c);
  assert_int_equal(fix_sim_cfg_load_env(&c, env3, &bad, why, sizeof why), -ERR_CFG_UNKNOWN_KEY);
  assert_string_equal(bad, "BACKSTOCK_SIM_SETLE_DAYS");
  assert_string_equal(why, "setle_days: unknown key");
  fix_sim_cfg_free(&c);
  char *env4[] = {"BACKSTOCK_SIM_PRICE.AAPL=abc", NULL};
  fix_sim_cfg_init(&c);
  assert_int_equal(fix_sim_cfg_load_env(&c, env4, &bad, why, sizeof why), -ERR_CFG_VALUE);
  assert_string_equal(bad, "BACKSTOCK_SIM_PRICE.AAPL");
  assert_string_equal(why, "price.AAPL: want a positive decimal with at most 6 fraction digits");
  fix_sim_cfg_free(&c);
}

static void test_cfg_check(void **state)
{
  (void)state;
  struct fix_sim_cfg c;
  char why[128];
  static const char text[] = "database_url = dbname=x\ntarget_comp_ids = A, BROKER\n";
  fix_sim_cfg_init(&c);
  assert_int_equal(fix_sim_cfg_load_text(&c, text, strlen(text), NULL, why, sizeof why), 0);
  assert_int_equal(fix_sim_cfg_check(&c, why, sizeof why), -ERR_CFG_VALUE);
  assert_string_equal(why, "target_comp_ids: BROKER is the sender_comp_id");
  /* An empty database_url unsets it. */
  assert_int_equal(fix_sim_cfg_set(&c, "target_comp_ids", "A", why, sizeof why), 0);
  assert_int_equal(fix_sim_cfg_check(&c, why, sizeof why), 0);
  assert_int_equal(fix_sim_cfg_set(&c, "database_url", "", why, sizeof why), 0);
  assert_null(c.database_url);
  assert_int_equal(fix_sim_cfg_check(&c, why, sizeof why), -ERR_CFG_VALUE);
  /* Control characters in a value are refused. */
  assert_int_equal(fix_sim_cfg_set(&c, "sender_comp_id", "A\tB", why, sizeof why), -ERR_CFG_VALUE);
  assert_string_equal(why, "sender_comp_id: control character in the value");
  fix_sim_cfg_free(&c);
}

/* ------------------------------------------------------------------ */

static int64_t utc_ms(int y, unsigned mo, unsigned d, int h, int mi, int s)
{
  return ((int64_t)day(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
}

static void test_trade_day(void **state)
{
  (void)state;
  static const struct {
    int y, mo, d, h, mi, s;
    int ny, nmo, nd;
  } cases[] = {
      /* EST (UTC-5): New York midnight is 05:00 UTC. */
      {2026, 11, 25, 15, 0, 0, 2026, 11, 25},
      {2026, 11, 26, 4, 59, 59, 2026, 11, 25},
      {2026, 11, 26, 5, 0, 0, 2026, 11, 26},
      {2027, 1, 1, 4, 30, 0, 2026, 12, 31},
      /* EDT (UTC-4): midnight is 04:00 UTC. */
      {2026, 7, 1, 3, 59, 59, 2026, 6, 30},
      {2026, 7, 1, 4, 0, 0, 2026, 7, 1},
      /* 2026: EDT from Sunday March 8 07:00 UTC to Sunday November 1 06:00 UTC. */
      {2026, 3, 8, 4, 30, 0, 2026, 3, 7},   /* EST: 23:30 on the 7th */
      {2026, 3, 9, 4, 30, 0, 2026, 3, 9},   /* EDT: 00:30 on the 9th */
      {2026, 11, 1, 4, 30, 0, 2026, 11, 1}, /* EDT: 00:30 */
      {2026, 11, 2, 4, 30, 0, 2026, 11, 1}, /* EST: 23:30 */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int32_t got;
    int64_t t = utc_ms(cases[i].y, (unsigned)cases[i].mo, (unsigned)cases[i].d, cases[i].h,
                       cases[i].mi, cases[i].s);
    assert_int_equal(fix_sim_trade_day(t, &got), 0);
    if (got != day(cases[i].ny, (unsigned)cases[i].nmo, (unsigned)cases[i].nd)) {
      char d[CAL_DATE_STR];
      cal_format_date(got, d);
      fail_msg("case %zu: got %s", i, d);
    }
  }
  /* A millisecond before New York midnight. */
  int32_t got;
  assert_int_equal(fix_sim_trade_day(utc_ms(2026, 11, 26, 5, 0, 0) - 1, &got), 0);
  assert_int_equal(got, day(2026, 11, 25));
}

static void test_settle_date(void **state)
{
  (void)state;
  struct cal cal;
  unsigned line = 0;
  cal_init(&cal);
  assert_int_equal(cal_load_closures(&cal, cal_builtin_closures, cal_builtin_closures_len, &line),
                   0);
  struct {
    int y, mo, d;
    unsigned n;
    int wy, wmo, wd;
  } t[] = {
      /* Wednesday before Thanksgiving (Thursday 26th): Friday. */
      {2026, 11, 25, 1, 2026, 11, 27},
      {2026, 11, 25, 2, 2026, 11, 30},
      /* Friday: over the weekend to Monday. */
      {2026, 11, 20, 1, 2026, 11, 23},
      {2026, 11, 27, 1, 2026, 11, 30},
      /* Thursday December 24: Christmas is Friday, so Monday. */
      {2026, 12, 24, 1, 2026, 12, 28},
      /* A plain Tuesday. */
      {2026, 11, 24, 1, 2026, 11, 25},
      /* A fill the simulator made on a Saturday (it does not model market
         hours): the first business day after it is Monday. */
      {2026, 11, 28, 0, 2026, 11, 30},
      {2026, 11, 28, 1, 2026, 11, 30},
      {2026, 11, 28, 2, 2026, 12, 1},
      /* A fill on Thanksgiving itself: Friday. */
      {2026, 11, 26, 1, 2026, 11, 27},
      /* Good Friday 2026 is April 3. */
      {2026, 4, 2, 1, 2026, 4, 6},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    int32_t got;
    assert_int_equal(
        fix_sim_settle_date(&cal, day(t[i].y, (unsigned)t[i].mo, (unsigned)t[i].d), t[i].n, &got),
        0);
    if (got != day(t[i].wy, (unsigned)t[i].wmo, (unsigned)t[i].wd)) {
      char d[CAL_DATE_STR];
      cal_format_date(got, d);
      fail_msg("case %zu: got %s", i, d);
    }
  }
  /* An extra closure counts too. */
  assert_int_equal(cal_add_closure(&cal, day(2026, 11, 24)), 0);
  int32_t got;
  assert_int_equal(fix_sim_settle_date(&cal, day(2026, 11, 23), 1, &got), 0);
  assert_int_equal(got, day(2026, 11, 25));
  cal_free(&cal);
}

/* ------------------------------------------------------------------ */

static void test_split(void **state)
{
  (void)state;
  static const struct {
    const char *qty;
    uint32_t n;
    uint32_t n_eff;
    const char *parts[5];
  } cases[] = {
      {"100", 3, 3, {"33.000000", "33.000000", "34.000000"}},
      {"100", 1, 1, {"100.000000"}},
      {"1.25", 4, 4, {"0.310000", "0.310000", "0.310000", "0.320000"}},
      {"2", 3, 2, {"1.000000", "1.000000"}},        /* fewer units than fills */
      {"0.000007", 2, 2, {"0.000003", "0.000004"}}, /* the smallest unit */
      {"10.5", 5, 5, {"2.100000", "2.100000", "2.100000", "2.100000", "2.100000"}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct money q, part, sum = m(0, 6);
    uint32_t ne = 0;
    assert_int_equal(money_parse(cases[i].qty, strlen(cases[i].qty), 6, 0, &q), 0);
    for (uint32_t k = 1; k <= cases[i].n_eff; k++) {
      assert_int_equal(fix_sim_split(q, cases[i].n, k, &part, &ne), 0);
      assert_int_equal(ne, cases[i].n_eff);
      assert_money(part, cases[i].parts[k - 1]);
      assert_int_equal(money_add(sum, part, &sum), 0);
    }
    assert_int_equal(money_cmp(sum, q), 0);
    assert_int_equal(fix_sim_split(q, cases[i].n, 0, &part, &ne), -ERR_INVALID_ARGUMENT);
    assert_int_equal(fix_sim_split(q, cases[i].n, cases[i].n_eff + 1, &part, &ne),
                     -ERR_INVALID_ARGUMENT);
  }
  struct money part;
  uint32_t ne;
  assert_int_equal(fix_sim_split(m(0, 6), 2, 1, &part, &ne), -ERR_INVALID_ARGUMENT);
  assert_int_equal(fix_sim_split(m(-5, 0), 2, 1, &part, &ne), -ERR_INVALID_ARGUMENT);
  assert_int_equal(fix_sim_split(m(5, 0), 0, 1, &part, &ne), -ERR_INVALID_ARGUMENT);
  assert_int_equal(fix_sim_split(m(1, 7), 1, 1, &part, &ne), -ERR_INVALID_ARGUMENT);
}

static void test_totals_partial(void **state)
{
  (void)state;
  struct fix_sim_totals t;
  struct money px = m(189500000, 6); /* 189.50 */
  fix_sim_totals_init(&t, m(100000000, 6));
  assert_money(t.cum_qty, "0.000000");
  assert_money(t.leaves_qty, "100.000000");
  assert_money(t.avg_px, "0.000000");
  assert_int_equal(fix_sim_totals_fill(&t, m(33000000, 6), px), 0);
  assert_money(t.cum_qty, "33.000000");
  assert_money(t.leaves_qty, "67.000000");
  assert_money(t.amount, "6253.500000000000");
  assert_money(t.avg_px, "189.500000");
  assert_int_equal(fix_sim_totals_fill(&t, m(33000000, 6), px), 0);
  /* More than is left is refused, and changes nothing. */
  assert_int_equal(fix_sim_totals_fill(&t, m(35000000, 6), px), -ERR_INVALID_ARGUMENT);
  assert_money(t.leaves_qty, "34.000000");
  assert_int_equal(fix_sim_totals_fill(&t, m(34000000, 6), px), 0);
  assert_money(t.cum_qty, "100.000000");
  assert_money(t.leaves_qty, "0.000000");
  assert_money(t.amount, "18950.000000000000");
  assert_money(t.avg_px, "189.500000");
}

static void test_totals_avg_px(void **state)
{
  (void)state;
  struct fix_sim_totals t;
  /* 10.0000015 rounds half-even to ...02, 10.0000025 to ...02 as well. */
  fix_sim_totals_init(&t, m(2, 0));
  assert_int_equal(fix_sim_totals_fill(&t, m(1, 0), m(10000001, 6)), 0);
  assert_int_equal(fix_sim_totals_fill(&t, m(1, 0), m(10000002, 6)), 0);
  assert_money(t.amount, "20.000003000000");
  assert_money(t.avg_px, "10.000002");
  fix_sim_totals_init(&t, m(2, 0));
  assert_int_equal(fix_sim_totals_fill(&t, m(1, 0), m(10000002, 6)), 0);
  assert_int_equal(fix_sim_totals_fill(&t, m(1, 0), m(10000003, 6)), 0);
  assert_money(t.avg_px, "10.000002");
  /* 4/3 does not terminate: 1.333333. */
  fix_sim_totals_init(&t, m(3, 0));
  for (int i = 0; i < 2; i++)
    assert_int_equal(fix_sim_totals_fill(&t, m(1, 0), m(1, 0)), 0);
  assert_int_equal(fix_sim_totals_fill(&t, m(1, 0), m(2, 0)), 0);
  assert_money(t.avg_px, "1.333333");
  /* Fractional quantities: 0.5 @ 3.333333 + 1.25 @ 7.1 = 10.5416665 / 1.75. */
  fix_sim_totals_init(&t, m(1750000, 6));
  assert_int_equal(fix_sim_totals_fill(&t, m(5, 1), m(3333333, 6)), 0);
  assert_int_equal(fix_sim_totals_fill(&t, m(125, 2), m(71, 1)), 0);
  assert_money(t.amount, "10.541666500000");
  assert_money(t.avg_px, "6.023809"); /* 6.0238094285... */
  assert_money(t.leaves_qty, "0.000000");
}

static void test_totals_bust_correct(void **state)
{
  (void)state;
  struct fix_sim_totals t;
  struct money q = m(100000000, 6), px = m(189500000, 6), px2 = m(189510000, 6);
  fix_sim_totals_init(&t, q);
  assert_int_equal(fix_sim_totals_fill(&t, q, px), 0);
  /* A trade correct: take the fill back, add it again at the new price. */
  struct fix_sim_totals c = t;
  assert_int_equal(fix_sim_totals_fill(&c, (struct money){-q.v, 6}, px), 0);
  assert_money(c.cum_qty, "0.000000");
  assert_money(c.leaves_qty, "100.000000");
  assert_money(c.avg_px, "0.000000");
  assert_int_equal(fix_sim_totals_fill(&c, q, px2), 0);
  assert_money(c.avg_px, "189.510000");
  assert_money(c.amount, "18951.000000000000");
  assert_money(c.leaves_qty, "0.000000");
  /* Taking back more than was filled is refused. */
  assert_int_equal(fix_sim_totals_fill(&t, m(-200, 0), px), -ERR_INVALID_ARGUMENT);
  assert_money(t.cum_qty, "100.000000");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_behaviour_specs), cmocka_unit_test(test_cfg_defaults),
      cmocka_unit_test(test_cfg_good_file),   cmocka_unit_test(test_cfg_bad_lines),
      cmocka_unit_test(test_cfg_env),         cmocka_unit_test(test_cfg_check),
      cmocka_unit_test(test_trade_day),       cmocka_unit_test(test_settle_date),
      cmocka_unit_test(test_split),           cmocka_unit_test(test_totals_partial),
      cmocka_unit_test(test_totals_avg_px),   cmocka_unit_test(test_totals_bust_correct),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
