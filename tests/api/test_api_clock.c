/*
 * The clock over real HTTP (api/api_clock.c) on a fresh database per test:
 * GET /v1/clock is public and shows the wall clock on a fresh database;
 * POST /v1/admin/clock advances it by exactly the seconds given, changes
 * its speed, or both, with one audit record (clock.change) and the
 * Idempotency-Key replay doing nothing twice; backwards, empty, strings,
 * out-of-range and unknown members are 400 and change nothing; only an
 * issuer admin may change it.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/api/api_testlib.h"

#define DAY_S 86400

static int setup(void **state)
{
  tl_fx_new(state, "apiclock", false);
  return 0;
}

struct shown {
  int64_t now_ms;
  long long speed, offset;
};

/* A Clock reply: exactly its three members; now parsed. */
static struct shown clock_of(const struct tl_reply *r)
{
  struct shown c;
  yajl_val v = tl_json(r);
  assert_int_equal(YAJL_GET_OBJECT(v)->len, 3);
  const char *now = tl_str(v, "now", NULL, NULL);
  assert_int_equal(strlen(now), 24); /* 2026-01-31T14:00:00.250Z */
  assert_int_equal(api_time_parse(now, strlen(now), &c.now_ms), 0);
  c.speed = tl_int(v, "speed", NULL, NULL);
  c.offset = tl_int(v, "offset_seconds", NULL, NULL);
  yajl_tree_free(v);
  return c;
}

static struct shown get_clock(struct tl_fx *f, const char *key)
{
  struct tl_reply r;
  tl_call(&f->s, "GET", "/v1/clock", key, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  struct shown c = clock_of(&r);
  tl_reply_free(&r);
  return c;
}

static void post_ok(struct tl_fx *f, const char *idem, const char *body, struct shown *out)
{
  struct tl_reply r;
  tl_call(&f->s, "POST", "/v1/admin/clock", f->admin, idem, body, &r);
  if (r.status != 200)
    fail_msg("POST /v1/admin/clock %s: %ld %s", body, r.status, r.body);
  assert_string_equal(r.replayed, "");
  *out = clock_of(&r);
  tl_reply_free(&r);
}

/* Public, and on a fresh database the wall clock itself. */
static void test_get_fresh(void **state)
{
  struct tl_fx *f = *state;
  int64_t before = util_now_ms();
  struct shown c = get_clock(f, NULL);
  int64_t after = util_now_ms();
  assert_true(c.now_ms >= before - 1000 && c.now_ms <= after + 1000);
  assert_int_equal(c.speed, 1);
  assert_int_equal(c.offset, 0);
  /* Any key, or a bad one, is not looked at. */
  struct tl_reply r;
  tl_request(f->s.port, "GET", "/v1/clock", "Bearer nonsense", NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  tl_reply_free(&r);
  c = get_clock(f, f->ap);
  assert_int_equal(c.offset, 0);
}

/* advance_seconds 86400: one day ahead, exactly; audited once; a replay does nothing. */
static void test_advance(void **state)
{
  struct tl_fx *f = *state;
  struct shown c, g;
  struct tl_reply r;
  char sql[512];
  long long audits = tl_sql_int(&f->s, "SELECT count(*) FROM audit_log");
  int64_t before = util_now_ms();
  post_ok(f, "adv-1", "{\"advance_seconds\": 86400}", &c);
  assert_int_equal(c.offset, DAY_S);
  assert_int_equal(c.speed, 1);
  assert_true(c.now_ms >= before + DAY_S * 1000LL - 1000 &&
              c.now_ms <= util_now_ms() + DAY_S * 1000LL + 1000);
  g = get_clock(f, NULL);
  assert_int_equal(g.offset, DAY_S);
  assert_true(g.now_ms >= c.now_ms);
  /* The SQL clock agrees: clock_now() is a day ahead of the wall clock. */
  assert_int_equal(tl_sql_int(&f->s, "SELECT round(extract(epoch from clock_now() -"
                                     " clock_timestamp()))::bigint"),
                   DAY_S);
  /* One audit record with the step and the clock before and after. */
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM audit_log"), audits + 1);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM audit_log WHERE seq = %lld AND principal = %lld AND action ="
           " 'clock.change' AND target = 'clock' AND details LIKE '{\"advance_seconds\":86400,"
           "\"after\":{\"now\":\"%%\",\"offset_seconds\":86400,\"speed\":1},\"before\":{\"now\":"
           "\"%%\",\"offset_seconds\":0,\"speed\":1}}'",
           audits + 1, (long long)f->admin_id);
  assert_int_equal(tl_sql_int(&f->s, sql), 1);
  /* Replay: the stored reply, flagged; the clock did not move twice. */
  tl_call(&f->s, "POST", "/v1/admin/clock", f->admin, "adv-1", "{\"advance_seconds\": 86400}", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.replayed, "true");
  assert_int_equal(clock_of(&r).now_ms, c.now_ms);
  tl_reply_free(&r);
  assert_int_equal(get_clock(f, NULL).offset, DAY_S);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM audit_log"), audits + 1);
  /* The same key with another body: 409, nothing moved. */
  tl_call(&f->s, "POST", "/v1/admin/clock", f->admin, "adv-1", "{\"advance_seconds\": 60}", &r);
  tl_expect_error(&r, 409, ERR_API_IDEMPOTENCY_CONFLICT, NULL);
  tl_reply_free(&r);
  /* Steps add up; 0 is allowed. */
  post_ok(f, "adv-2", "{\"advance_seconds\": 3600}", &c);
  assert_int_equal(c.offset, DAY_S + 3600);
  post_ok(f, "adv-3", "{\"advance_seconds\": 0}", &c);
  assert_int_equal(c.offset, DAY_S + 3600);
}

/* speed: the time runs faster from now on, without a jump; both members together. */
static void test_speed(void **state)
{
  struct tl_fx *f = *state;
  struct shown c, g;
  post_ok(f, "sp-1", "{\"speed\": 3600}", &c);
  assert_int_equal(c.speed, 3600);
  assert_true(c.offset >= 0 && c.offset <= 10);
  util_sleep_ms(200);
  g = get_clock(f, NULL);
  assert_int_equal(g.speed, 3600);
  /* 200 ms of wall time at 3600: at least 720 s ahead of where it was. */
  assert_true(g.offset >= c.offset + 700);
  assert_true(g.now_ms - c.now_ms >= 200 * 3600 - 3600);
  post_ok(f, "sp-2", "{\"advance_seconds\": 60, \"speed\": 1}", &c);
  assert_int_equal(c.speed, 1);
  assert_true(c.offset >= g.offset + 60);
  util_sleep_ms(100);
  g = get_clock(f, NULL);
  assert_int_equal(g.speed, 1);
  assert_true(g.offset >= c.offset - 1 && g.offset <= c.offset + 1);
}

/*
 * advance_business_days: from Friday 2030-05-24 14:00Z one business day
 * is Tuesday 2030-05-28 (Memorial Day on the Monday), same time of day;
 * two more land on Thursday.
 */
static void test_business_days(void **state)
{
  struct tl_fx *f = *state;
  struct shown c;
  assert_int_equal(tl_sql_int(&f->s, "WITH u AS (UPDATE clock SET anchor_wall = clock_timestamp(),"
                                     " anchor_virtual = '2030-05-24 14:00:00+00', speed = 1"
                                     " RETURNING 1) SELECT count(*) FROM u"),
                   1);
  post_ok(f, "bd-1", "{\"advance_business_days\": 1}", &c);
  assert_int_equal(tl_sql_int(&f->s, "SELECT (clock_now() AT TIME ZONE 'UTC')::date"
                                     " - DATE '2030-05-28'"),
                   0);
  assert_int_equal(tl_sql_int(&f->s, "SELECT extract(hour FROM clock_now() AT TIME ZONE 'UTC')"),
                   14);
  post_ok(f, "bd-2", "{\"advance_business_days\": 2}", &c);
  assert_int_equal(tl_sql_int(&f->s, "SELECT (clock_now() AT TIME ZONE 'UTC')::date"
                                     " - DATE '2030-05-30'"),
                   0);
  long long audits = tl_sql_int(&f->s, "SELECT count(*) FROM audit_log WHERE details LIKE"
                                       " '%\"advance_business_days\":2%'");
  assert_int_equal(audits, 1);
}

/* Bad bodies: 400, the clock unchanged; the roles. */
static void test_refused(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  static const struct {
    const char *body;
    int code;
    const char *hint;
  } bad[] = {
      {"{\"advance_seconds\": -5}", ERR_API_FIELD, "never goes backwards"},
      {"{\"advance_seconds\": -86400, \"speed\": 2}", ERR_API_FIELD, "never goes backwards"},
      {"{}", ERR_API_FIELD, "advance_seconds"},
      {"", ERR_API_FIELD, "advance_seconds"},
      {"{\"advance_seconds\": 316224001}", ERR_API_FIELD, "at most 316224000"},
      {"{\"advance_seconds\": 1.5}", ERR_API_FIELD, "advance_seconds"},
      {"{\"advance_seconds\": \"60\"}", ERR_API_FIELD, "advance_seconds"},
      {"{\"speed\": 0}", ERR_API_FIELD, "speed"},
      {"{\"advance_business_days\": 0}", ERR_API_FIELD, "advance_business_days"},
      {"{\"advance_business_days\": 31}", ERR_API_FIELD, "advance_business_days"},
      {"{\"speed\": 1000001}", ERR_API_FIELD, "speed"},
      {"{\"at\": \"2030-01-01T00:00:00Z\"}", ERR_API_UNKNOWN_FIELD, "at"},
      {"[1]", ERR_API_BAD_JSON, NULL},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char idem[16];
    snprintf(idem, sizeof idem, "bad-%zu", i);
    tl_call(&f->s, "POST", "/v1/admin/clock", f->admin, idem, bad[i].body, &r);
    tl_expect_error(&r, 400, bad[i].code, bad[i].hint);
    tl_reply_free(&r);
  }
  /* No Idempotency-Key. */
  tl_call(&f->s, "POST", "/v1/admin/clock", f->admin, NULL, "{\"advance_seconds\": 60}", &r);
  tl_expect_error(&r, 400, ERR_API_IDEMPOTENCY_REQUIRED, "Idempotency-Key");
  tl_reply_free(&r);
  /* Only an issuer admin. */
  tl_call(&f->s, "POST", "/v1/admin/clock", f->ap, "r-1", "{\"advance_seconds\": 60}", &r);
  tl_expect_error(&r, 403, ERR_API_FORBIDDEN, NULL);
  tl_reply_free(&r);
  tl_call(&f->s, "POST", "/v1/admin/clock", f->auditor, "r-2", "{\"advance_seconds\": 60}", &r);
  tl_expect_error(&r, 403, ERR_API_FORBIDDEN, NULL);
  tl_reply_free(&r);
  tl_call(&f->s, "POST", "/v1/admin/clock", NULL, "r-3", "{\"advance_seconds\": 60}", &r);
  tl_expect_error(&r, 401, ERR_API_UNAUTHORIZED, NULL);
  tl_reply_free(&r);
  /* Nothing moved, nothing recorded. */
  struct shown c = get_clock(f, NULL);
  assert_int_equal(c.offset, 0);
  assert_int_equal(c.speed, 1);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM audit_log WHERE action ="
                                     " 'clock.change'"),
                   0);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM api_idempotency"), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_get_fresh, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_advance, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_speed, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_business_days, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_refused, setup, tl_fx_free),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
