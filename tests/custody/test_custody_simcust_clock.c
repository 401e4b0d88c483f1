/*
 * The simulated custodian on the one clock (docs/clock.md): a real
 * backstock-simcustodian on a fresh database whose clock was set to noon
 * UTC of a day D at least ten days ahead.  Its today is D (GET /healthz),
 * it settles the blotter's trade due on D and not those due on D+1 and
 * D+2; the clock advanced one day while it runs makes it D+1 and settles
 * the next trade; restarted with day_offset = 1 on top of the shared
 * clock, its today is D+2 and the last trade settles; a statement for a
 * date after its today is refused.  Blotter rows are inserted by hand, as
 * the simulated broker books them.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

#define TOKEN    "clock-test-token-8d2e4f"
#define AAPL     "US0378331005"
#define DAY_MS   86400000LL
#define START_MS 60000
#define STOP_MS  20000
#define WAIT_MS  10000

static struct {
  struct ts_sim sim;
  char drop[PATH_MAX];
} fx;

struct reply {
  long status;
  char body[4096];
  size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *cls)
{
  struct reply *r = cls;
  size_t k = size * n;
  if (r->len + k >= sizeof r->body)
    return 0;
  memcpy(r->body + r->len, p, k);
  r->len += k;
  r->body[r->len] = '\0';
  return k;
}

static struct reply http(const char *method, const char *path)
{
  struct reply r;
  char url[256], auth[128];
  memset(&r, 0, sizeof r);
  CURL *c = curl_easy_init();
  assert_non_null(c);
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", fx.sim.port, path);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", TOKEN);
  struct curl_slist *hs = curl_slist_append(NULL, auth);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (strcmp(method, "POST") == 0)
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK)
    fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(hs);
  curl_easy_cleanup(c);
  return r;
}

static void date_of(int32_t day, char out[CAL_DATE_STR])
{
  cal_format_date(day, out);
}

static void start_custodian(int day_offset)
{
  char conf[PATH_MAX + 256];
  snprintf(conf, sizeof conf,
           "listen = 127.0.0.1:0\n"
           "token = " TOKEN "\n"
           "out_dir = %s\n"
           "isin.AAPL = " AAPL "\n"
           "day_offset = %d\n"
           "poll_ms = 50\n"
           "log_level = debug\n",
           fx.drop, day_offset);
  ts_sim_start(&fx.sim, conf, "simcustodian listening 127.0.0.1:", START_MS);
}

/* A booked buy of 10 AAPL at 100 with its dates. */
static void add_trade(unsigned n, int32_t trade_day, int32_t settle_day)
{
  char sql[2048], td[CAL_DATE_STR], sd[CAL_DATE_STR];
  date_of(trade_day, td);
  date_of(settle_day, sd);
  snprintf(sql, sizeof sql,
           "WITH o AS (INSERT INTO sim_orders (session, cl_ord_id, symbol, side_code,"
           " ord_type_code, behaviour, step, next_at)"
           " VALUES ('BROKER->BACKSTOCK', 'BS%u', 'AAPL', '1', '1', 'fill', 'done', now())"
           " RETURNING id, order_id)"
           " INSERT INTO sim_trades (trade_id, order_id, sim_order_id, cl_ord_id, session,"
           " account, symbol, isin, side, quantity, price, trade_date, settle_date, status,"
           " executed_at)"
           " SELECT 'T%u', o.order_id, o.id, 'BS%u', 'BROKER->BACKSTOCK', 'RESERVE', 'AAPL', '" AAPL
           "', 'buy', 10, 100, '%s', '%s', 'booked', now() FROM o",
           n, n, n, td, sd);
  ts_sql(fx.sim.c, sql);
}

/* The settled trades, "T1 T2" in order ("" when none). */
static char *settled(void)
{
  return ts_sql_value(fx.sim.c,
                      "SELECT coalesce(string_agg(t.trade_id, ' ' ORDER BY t.trade_id), '')"
                      " FROM sim_settlements s JOIN sim_trades t ON t.trade_id = s.trade_id"
                      " WHERE s.status = 'settled'");
}

/* Wait (bounded) until settled() is @want. */
static void wait_settled(const char *want)
{
  int64_t end = util_mono_ms() + WAIT_MS;
  for (;;) {
    char *got = settled();
    bool ok = strcmp(got, want) == 0;
    if (ok || util_mono_ms() >= end) {
      if (!ok) {
        ts_dump_file("simcustodian stderr", fx.sim.err);
        fail_msg("settled trades: got \"%s\", want \"%s\"", got, want);
      }
      free(got);
      return;
    }
    free(got);
    util_sleep_ms(50);
  }
}

static void expect_today(int32_t day)
{
  char want[96], d[CAL_DATE_STR];
  date_of(day, d);
  snprintf(want, sizeof want, "{\"status\":\"ok\",\"today\":\"%s\"}", d);
  struct reply r = http("GET", "/healthz");
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, want);
}

static int setup(void **state)
{
  (void)state;
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ts_sim_init(&fx.sim, "services/backstock-simcustodian", "custclock", migrations_all,
              migrations_count);
  snprintf(fx.drop, sizeof fx.drop, "%s/drop", fx.sim.tmp);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  ts_sim_free(&fx.sim);
  curl_global_cleanup();
  return 0;
}

static void test_today_is_the_clock(void **state)
{
  (void)state;
  int32_t wall_day = (int32_t)(util_now_ms() / DAY_MS), d = wall_day + 10;
  /* Noon UTC: far from the 22:00 cut-off and from midnight, at speed 1. */
  assert_int_equal(db_clock_set(fx.sim.c, (int64_t)d * DAY_MS + 12 * 3600000LL, NULL), 0);
  add_trade(1, d - 1, d);
  add_trade(2, d, d + 1);
  add_trade(3, d + 1, d + 2);

  start_custodian(0);
  expect_today(d);
  wait_settled("T1");
  util_sleep_ms(300); /* six polls: nothing more is due */
  char *s = settled();
  assert_string_equal(s, "T1");
  free(s);
  /* The settlement is dated by the clock too. */
  char want[64], dd[CAL_DATE_STR];
  date_of(d, dd);
  snprintf(want, sizeof want, "%s", dd);
  s = ts_sql_value(fx.sim.c, "SELECT settled_date FROM sim_settlements WHERE trade_id = 'T1'");
  assert_string_equal(s, want);
  free(s);
  /* A statement as of a date after today is refused; today's is written. */
  char path[96];
  date_of(d + 1, dd);
  snprintf(path, sizeof path, "/v1/statements?date=%s", dd);
  assert_int_equal(http("POST", path).status, 400);
  date_of(d, dd);
  snprintf(path, sizeof path, "/v1/statements?date=%s", dd);
  assert_int_equal(http("POST", path).status, 201);

  /* The custodian reads the shared clock each pass: one day later, T2 is due. */
  assert_int_equal(db_clock_advance(fx.sim.c, DAY_MS, NULL), 0);
  wait_settled("T1 T2");
  expect_today(d + 1);
  ts_sim_stop(&fx.sim, STOP_MS);

  /* day_offset still adds whole days, now on top of the shared clock. */
  start_custodian(1);
  expect_today(d + 2);
  wait_settled("T1 T2 T3");
  ts_sim_stop(&fx.sim, STOP_MS);
  assert_true(d + 2 != wall_day);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_today_is_the_clock, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
