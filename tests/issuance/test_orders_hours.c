/*
 * Primary-market hours (issuance/issuance_orders_hours.c): which session
 * an order placed at an instant is for, and that session's cutoff
 * instant, across New York's daylight-saving changes, weekends, an NYSE
 * holiday and an extra closure; bad hours refused.
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance.h"
#include "tests/support/testsupport.h"

static int32_t day(int y, unsigned m, unsigned d)
{
  int32_t v;
  assert_int_equal(cal_day(y, m, d, &v), 0);
  return v;
}

/* order_hours() at @now with 09:30..15:30 must give @in, @session, @cutoff. */
static void expect(const struct cal *cal, int64_t now, bool in, int32_t session, int64_t cutoff)
{
  struct order_session s;
  assert_int_equal(order_hours(cal, "09:30", "15:30", now, &s), 0);
  if (s.in_hours != in || s.session_date != session || s.cutoff_ms != cutoff)
    fail_msg("at %lld: got in %d session %d cutoff %lld; want %d %d %lld", (long long)now,
             s.in_hours, (int)s.session_date, (long long)s.cutoff_ms, in, (int)session,
             (long long)cutoff);
}

static void test_summer(void **state)
{
  (void)state;
  int32_t jul1 = day(2025, 7, 1), jul2 = day(2025, 7, 2), jul7 = day(2025, 7, 7);
  /* Tuesday 14:00 EDT: in hours, cutoff 15:30 EDT = 19:30Z. */
  expect(NULL, 1751392800000LL, true, jul1, 1751398200000LL);
  /* 09:00 EDT: before the open, today's session. */
  expect(NULL, 1751374800000LL, false, jul1, 1751398200000LL);
  /* 09:30:00.000 exactly: open. 15:29:59.999: open. 15:30:00.000: closed. */
  expect(NULL, 1751376600000LL, true, jul1, 1751398200000LL);
  expect(NULL, 1751398199999LL, true, jul1, 1751398200000LL);
  expect(NULL, 1751398200000LL, false, jul2, 1751484600000LL);
  /* 16:00 EDT: Wednesday's session. */
  expect(NULL, 1751400000000LL, false, jul2, 1751484600000LL);
  /* Thursday 3 July 16:00: Friday 4 July is Independence Day: Monday 7 July. */
  expect(NULL, 1751572800000LL, false, jul7, 1751916600000LL);
  /* Friday 4 July noon (a holiday) and Saturday noon: Monday too. */
  expect(NULL, 1751644800000LL, false, jul7, 1751916600000LL);
  expect(NULL, 1751731200000LL, false, jul7, 1751916600000LL);
}

static void test_daylight_saving(void **state)
{
  (void)state;
  /* Friday 7 March 2025, EST: 15:29 in hours (20:29Z), 15:31 not. */
  expect(NULL, 1741379340000LL, true, day(2025, 3, 7), 1741379400000LL);
  /* 15:31 EST Friday: Monday 10 March, after the change: 15:30 EDT = 19:30Z. */
  expect(NULL, 1741379460000LL, false, day(2025, 3, 10), 1741635000000LL);
  /* Friday 31 October 16:31 EDT: Monday 3 November, 15:30 EST = 20:30Z. */
  expect(NULL, 1761942660000LL, false, day(2025, 11, 3), 1762201800000LL);
}

static void test_extra_closure(void **state)
{
  (void)state;
  struct cal cal;
  cal_init(&cal);
  assert_int_equal(cal_add_closure(&cal, day(2025, 7, 2)), 0);
  /* Tuesday after the cutoff: Wednesday is closed, so Thursday 3 July. */
  expect(&cal, 1751400000000LL, false, day(2025, 7, 3), 1751571000000LL);
  /* On the closed Wednesday at 14:00 EDT: not in hours. */
  expect(&cal, 1751479200000LL, false, day(2025, 7, 3), 1751571000000LL);
  cal_free(&cal);
}

static void test_bad_hours(void **state)
{
  (void)state;
  struct order_session s;
  assert_int_equal(order_hours(NULL, "15:30", "09:30", 0, &s), -ERR_INVALID_ARGUMENT);
  assert_int_equal(order_hours(NULL, "09:30", "09:30", 0, &s), -ERR_INVALID_ARGUMENT);
  assert_int_equal(order_hours(NULL, "9:30", "15:30", 0, &s), -ERR_INVALID_ARGUMENT);
  assert_int_equal(order_hours(NULL, "09:30", "24:00", 0, &s), -ERR_INVALID_ARGUMENT);
  assert_int_equal(order_hours(NULL, "09:60", "15:30", 0, &s), -ERR_INVALID_ARGUMENT);
  assert_int_equal(order_hours(NULL, NULL, "15:30", 0, &s), -ERR_INVALID_ARGUMENT);
  /* An open at midnight and a cutoff one minute later work. */
  assert_int_equal(order_hours(NULL, "00:00", "00:01", 1751392800000LL, &s), 0);
  assert_false(s.in_hours);
  assert_int_equal(s.session_date, day(2025, 7, 2));
  assert_int_equal(s.cutoff_ms, 1751428860000LL); /* 2025-07-02 00:01 EDT = 04:01Z */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_summer),
      cmocka_unit_test(test_daylight_saving),
      cmocka_unit_test(test_extra_closure),
      cmocka_unit_test(test_bad_hours),
  };
  return cmocka_run_group_tests_name("orders_hours", tests, NULL, NULL);
}
