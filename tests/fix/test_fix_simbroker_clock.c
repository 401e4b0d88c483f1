/*
 * The simulated broker on the one clock (docs/clock.md): a real
 * backstock-simbroker on a fresh database whose clock was moved forward
 * (db_clock_set() to 16:00 UTC of a Wednesday at least two weeks ahead),
 * and a raw FIX peer (fixclient) that buys AAPL.  The fill's TradeDate
 * (75) is the virtual date in New York, its SettlDate (64) the next NYSE
 * business day after it, its TransactTime (60) the virtual time; the
 * blotter row (sim_trades) carries the same dates.  SendingTime (52)
 * stays on the wall clock, so the session's skew check still holds.
 * Then the clock is advanced one day while the broker runs: the next
 * fill is dated the day after.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrations/migrations.h"
#include "tests/support/fixclient.h"
#include "tests/support/testsupport.h"

#define START_MS 60000
#define STOP_MS  20000
#define REPLY_MS 5000
#define DAY_MS   86400000LL

static struct {
  struct ts_sim sim;
  struct cal cal;
} fx;

/* "YYYYMMDD" of @day. */
static void fix_date(int32_t day, char out[9])
{
  char d[CAL_DATE_STR];
  cal_format_date(day, d);
  snprintf(out, 9, "%.4s%.2s%.2s", d, d + 5, d + 8);
}

static void start_broker(void)
{
  char conf[512];
  int64_t m = (util_now_ms() / 60000 + 12 * 60) % (24 * 60); /* no daily reset while we run */
  snprintf(conf, sizeof conf,
           "listen = 127.0.0.1:0\n"
           "sender_comp_id = BROKER\n"
           "target_comp_ids = CLK\n"
           "reset_time = %02d:%02d\n"
           "time_zone = UTC\n"
           "settle_days = 1\n"
           "price.AAPL = 189.50\n"
           "behaviour.default = fill\n"
           "log_level = debug\n",
           (int)(m / 60), (int)(m % 60));
  ts_sim_start(&fx.sim, conf, "simbroker listening 127.0.0.1:", START_MS);
}

static int setup(void **state)
{
  unsigned line = 0;
  (void)state;
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  ts_sim_init(&fx.sim, "services/backstock-simbroker", "simclock", migrations_all,
              migrations_count);
  cal_init(&fx.cal);
  return cal_load_closures(&fx.cal, cal_builtin_closures, cal_builtin_closures_len, &line);
}

static int teardown(void **state)
{
  (void)state;
  fc_close_all();
  ts_sim_free(&fx.sim);
  cal_free(&fx.cal);
  return 0;
}

/* Buy 10 AAPL as @clordid (MsgSeqNum @seq); the fill must carry @day. */
static void buy_and_check(struct fc_conn *fc, unsigned seq, unsigned their_ack, const char *clordid,
                          int32_t day, int64_t virt_from)
{
  char td[9], sd[9], t60[32], sql[512];
  int32_t settle;
  assert_int_equal(fix_sim_settle_date(&fx.cal, day, 1, &settle), 0);
  fix_date(day, td);
  fix_date(settle, sd);
  fc_sendf(fc, "35=D|34=%u|11=%s|1=RESERVE|21=1|55=AAPL|54=1|60=<now>|38=10|40=1|59=0|", seq,
           clordid);
  fc_expectf(fc, REPLY_MS, "35=8|34=%u|52=<now>|11=%s|150=0|39=0|75=%s|64=%s|", their_ack, clordid,
             td, sd);
  fc_expectf(fc, REPLY_MS, "35=8|34=%u|52=<now>|11=%s|150=F|39=2|32=10|31=189.5|75=%s|64=%s|",
             their_ack + 1, clordid, td, sd);
  /* TransactTime: the business time, between our readings of the clock. */
  fc_get(fc, 60, t60, sizeof t60);
  int64_t virt_to = 0;
  assert_int_equal(db_clock_now(fx.sim.c, &virt_to), 0);
  char lo[32], hi[32];
  fc_timestamp(virt_from - 1, lo, sizeof lo);
  fc_timestamp(virt_to + 1, hi, sizeof hi);
  if (strcmp(t60, lo) < 0 || strcmp(t60, hi) > 0)
    fc_fail(fc, "TransactTime %s is not the business time (%s .. %s)", t60, lo, hi);
  /* The blotter row has the same dates. */
  char dtd[CAL_DATE_STR], dsd[CAL_DATE_STR];
  cal_format_date(day, dtd);
  cal_format_date(settle, dsd);
  snprintf(sql, sizeof sql,
           "SELECT trade_date || ' ' || settle_date || ' ' || (executed_at >= timestamptz 'epoch'"
           " + %lld * interval '1 ms') FROM sim_trades WHERE cl_ord_id = '%s'",
           (long long)virt_from - 1, clordid);
  char want[64];
  snprintf(want, sizeof want, "%s %s true", dtd, dsd);
  char *got = ts_sql_value(fx.sim.c, sql);
  if (strcmp(got, want) != 0) {
    char g[128];
    snprintf(g, sizeof g, "%s", got);
    free(got);
    fail_msg("sim_trades of %s: got \"%s\", want \"%s\"", clordid, g, want);
  }
  free(got);
}

static void test_fill_dated_by_the_clock(void **state)
{
  (void)state;
  int32_t wall_day = (int32_t)(util_now_ms() / DAY_MS), day = wall_day + 14;
  while (cal_weekday(day) != 3) /* a Wednesday */
    day++;
  /* 16:00 UTC is 11:00 or 12:00 in New York: the same date there. */
  int64_t at = (int64_t)day * DAY_MS + 16 * 3600000LL;
  struct db_clock k;
  assert_int_equal(db_clock_set(fx.sim.c, at, &k), 0);
  assert_int_equal(k.now_ms, at);
  start_broker();

  struct fc_conn *fc = fc_connect(fx.sim.port, "CLK");
  fc_set_comp_ids(fc, "CLK", "BROKER");
  fc_send(fc, "35=A|34=1|98=0|108=30|");
  fc_expect(fc, REPLY_MS, "35=A|34=1|52=<now>|98=0|108=30|");
  int64_t virt_from = 0;
  assert_int_equal(db_clock_now(fx.sim.c, &virt_from), 0);
  buy_and_check(fc, 2, 2, "C1", day, virt_from);

  /* The broker reads the clock each time: a day later, the next fill says so. */
  assert_int_equal(db_clock_advance(fx.sim.c, DAY_MS, NULL), 0);
  assert_int_equal(db_clock_now(fx.sim.c, &virt_from), 0);
  buy_and_check(fc, 3, 4, "C2", day + 1, virt_from);
  assert_true(day + 1 != wall_day);

  fc_sendf(fc, "35=5|34=4|");
  fc_expect(fc, REPLY_MS, "35=5|");
  fc_expect_disconnect(fc, 8000);
  ts_sim_stop(&fx.sim, STOP_MS);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_fill_dated_by_the_clock, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
