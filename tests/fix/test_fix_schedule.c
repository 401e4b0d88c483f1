/*
 * Tests of fix/fix_schedule.c: session days and next reset instants read
 * from the system tz database (tzdata), in UTC, America/New_York across
 * both 2026 DST changes (2026-03-08 and 2026-11-01, with the connector's
 * 17:00 reset, a reset inside the spring-forward gap and one inside the
 * repeated hour), after the last transition of the file (the footer
 * rule), Asia/Tokyo; unknown zones and hostile names are -ERR_FIX_TZ.
 *
 * Expected instants are written as UTC wall times (converted with
 * cal_day) and a few as literal milliseconds, checked against Python's
 * zoneinfo when the test was written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "fix/fix.h"

#define H 3600000LL
#define M 60000LL

static int32_t day_of(int y, unsigned m, unsigned d)
{
  int32_t out;
  assert_int_equal(cal_day(y, m, d, &out), 0);
  return out;
}

/* Milliseconds of a UTC wall time. */
static int64_t utc(int y, unsigned mo, unsigned d, int h, int mi)
{
  return (int64_t)day_of(y, mo, d) * 86400000LL + h * H + mi * M;
}

/* Assert the session day and next reset of @ms in @tz at @reset minutes. */
static void expect(const char *tz, uint32_t reset, int64_t ms, int32_t want_day, int64_t want_next)
{
  int32_t d = 0;
  int64_t next = 0;
  assert_int_equal(fix_schedule_day(tz, reset, ms, &d, &next), 0);
  assert_int_equal(d, want_day);
  assert_int_equal(next, want_next);
}

static void test_utc(void **state)
{
  (void)state;
  /* Midnight reset: the session day is the UTC date. */
  expect("UTC", 0, utc(2026, 5, 4, 0, 0), day_of(2026, 5, 4), utc(2026, 5, 5, 0, 0));
  expect("UTC", 0, utc(2026, 5, 4, 0, 0) - 1, day_of(2026, 5, 3), utc(2026, 5, 4, 0, 0));
  /* 17:00 reset: before it, still the previous day's session. */
  expect("UTC", 17 * 60, utc(2026, 5, 4, 16, 59), day_of(2026, 5, 3), utc(2026, 5, 4, 17, 0));
  expect("UTC", 17 * 60, utc(2026, 5, 4, 17, 0), day_of(2026, 5, 4), utc(2026, 5, 5, 17, 0));
  /* Across a year end and a leap day; Etc/UTC is the same zone. */
  expect("Etc/UTC", 30, utc(2028, 2, 29, 23, 59), day_of(2028, 2, 29), utc(2028, 3, 1, 0, 30));
  expect("UTC", 0, utc(2026, 12, 31, 23, 59), day_of(2026, 12, 31), utc(2027, 1, 1, 0, 0));
  /* Before the epoch. */
  expect("UTC", 0, -1, -1, 0);
  /* Literal numbers: 2026-05-04 is day 20577. */
  int32_t d;
  int64_t next;
  assert_int_equal(fix_schedule_day("UTC", 0, 1777896000000LL, &d, &next), 0);
  assert_int_equal(d, 20577);
  assert_int_equal(next, 1777939200000LL);
}

static void test_new_york_spring_forward(void **state)
{
  (void)state;
  const char *ny = "America/New_York";
  const uint32_t r = 17 * 60;
  /* Friday 2026-03-06 17:00 EST = 22:00 UTC starts the session of the 6th. */
  expect(ny, r, utc(2026, 3, 6, 22, 0) - 1, day_of(2026, 3, 5), utc(2026, 3, 6, 22, 0));
  expect(ny, r, utc(2026, 3, 6, 22, 0), day_of(2026, 3, 6), utc(2026, 3, 7, 22, 0));
  /* Saturday 17:00 EST; the next reset is Sunday 17:00 EDT = 21:00 UTC, 23 h later. */
  expect(ny, r, utc(2026, 3, 7, 22, 0), 20519, 1773003600000LL);
  assert_int_equal(day_of(2026, 3, 7), 20519);
  assert_int_equal(utc(2026, 3, 8, 21, 0), 1773003600000LL);
  /* Across the change itself (07:00 UTC = 02:00 EST -> 03:00 EDT). */
  expect(ny, r, utc(2026, 3, 8, 6, 59), day_of(2026, 3, 7), utc(2026, 3, 8, 21, 0));
  expect(ny, r, utc(2026, 3, 8, 7, 0), day_of(2026, 3, 7), utc(2026, 3, 8, 21, 0));
  expect(ny, r, utc(2026, 3, 8, 21, 0) - 1, day_of(2026, 3, 7), utc(2026, 3, 8, 21, 0));
  expect(ny, r, utc(2026, 3, 8, 21, 0), 20520, 1773090000000LL);
  /* A reset at 02:30 does not exist on 2026-03-08: it happens at the
     first instant after the gap, 03:00 EDT = 07:00 UTC. */
  expect(ny, 150, utc(2026, 3, 8, 6, 0), day_of(2026, 3, 7), utc(2026, 3, 8, 7, 0));
  expect(ny, 150, utc(2026, 3, 8, 7, 0), day_of(2026, 3, 8), utc(2026, 3, 9, 6, 30));
}

static void test_new_york_fall_back(void **state)
{
  (void)state;
  const char *ny = "America/New_York";
  const uint32_t r = 17 * 60;
  /* Saturday 2026-10-31 17:00 EDT = 21:00 UTC; next is Sunday 17:00 EST
     = 22:00 UTC, 25 h later. */
  expect(ny, r, utc(2026, 10, 31, 21, 0) - 1, day_of(2026, 10, 30), utc(2026, 10, 31, 21, 0));
  expect(ny, r, utc(2026, 10, 31, 21, 0), 20757, 1793570400000LL);
  assert_int_equal(utc(2026, 11, 1, 22, 0), 1793570400000LL);
  /* Across the change (06:00 UTC = 02:00 EDT -> 01:00 EST). */
  expect(ny, r, utc(2026, 11, 1, 6, 0), day_of(2026, 10, 31), utc(2026, 11, 1, 22, 0));
  expect(ny, r, utc(2026, 11, 1, 22, 0), 20758, 1793656800000LL);
  /* A reset at 01:30 happens twice on 2026-11-01: the first one counts
     (01:30 EDT = 05:30 UTC). */
  expect(ny, 90, utc(2026, 11, 1, 4, 0), day_of(2026, 10, 31), utc(2026, 11, 1, 5, 30));
  expect(ny, 90, utc(2026, 11, 1, 5, 30), day_of(2026, 11, 1), utc(2026, 11, 2, 6, 30));
}

static void test_new_york_after_last_transition(void **state)
{
  (void)state;
  /* 2100 lies after the file's transitions: the footer rule (EST5EDT,
     M3.2.0,M11.1.0) gives EDT on 2100-07-01. */
  expect("America/New_York", 17 * 60, 4118158800000LL, 47663, 4118245200000LL);
  assert_int_equal(utc(2100, 7, 1, 21, 0), 4118158800000LL);
  /* and EST in January. */
  expect("America/New_York", 17 * 60, utc(2100, 1, 15, 21, 59), day_of(2100, 1, 14),
         utc(2100, 1, 15, 22, 0));
}

static void test_tokyo(void **state)
{
  (void)state;
  /* JST is UTC+9 all year: local midnight of 2026-01-02 is 15:00 UTC on the 1st. */
  expect("Asia/Tokyo", 0, utc(2026, 1, 1, 14, 59), day_of(2026, 1, 1), utc(2026, 1, 1, 15, 0));
  expect("Asia/Tokyo", 0, utc(2026, 1, 1, 15, 0), 20455, utc(2026, 1, 2, 15, 0));
  /* A 06:00 JST reset is at 21:00 UTC the day before. */
  expect("Asia/Tokyo", 360, utc(2026, 7, 10, 20, 59), day_of(2026, 7, 10), utc(2026, 7, 10, 21, 0));
  expect("Asia/Tokyo", 360, utc(2026, 7, 10, 21, 0), day_of(2026, 7, 11), utc(2026, 7, 11, 21, 0));
  /* Repeated calls use the cached zone and answer the same. */
  for (int i = 0; i < 3; i++)
    expect("Asia/Tokyo", 0, utc(2026, 1, 1, 15, 0), 20455, utc(2026, 1, 2, 15, 0));
}

static void test_unknown_and_hostile(void **state)
{
  (void)state;
  static const char *const bad[] = {
      "Mars/Olympus_Mons",
      "../etc/passwd",
      "/etc/passwd",
      "America/../../../etc/passwd",
      "America/New York",
      "America/New_York\n",
      "",
      "zone.tab",
      "America",
      "leapseconds",
      "America/New_York/",
      "Asia/Tokyo;rm",
      "%s%n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int32_t d = 7;
    int64_t next = 7;
    assert_int_equal(fix_schedule_day(bad[i], 0, 0, &d, &next), -ERR_FIX_TZ);
    assert_int_equal(d, 7); /* nothing written on failure */
    assert_int_equal(next, 7);
  }
  char longname[300];
  memset(longname, 'A', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  int32_t d;
  int64_t next;
  assert_int_equal(fix_schedule_day(longname, 0, 0, &d, &next), -ERR_FIX_TZ);
  assert_int_equal(fix_schedule_day(NULL, 0, 0, &d, &next), -ERR_FIX_TZ);
  /* A reset minute past the day is a caller's bug. */
  assert_int_equal(fix_schedule_day("UTC", 1440, 0, &d, &next), -ERR_INVALID_ARGUMENT);
  /* A failed name is not cached as good: the known zone still works. */
  expect("Asia/Tokyo", 0, utc(2026, 1, 1, 15, 0), 20455, utc(2026, 1, 2, 15, 0));
}

/* Several threads loading the same zones at once get the same answers. */
static void *worker(void *arg)
{
  int *bad = arg;
  for (int i = 0; i < 200; i++) {
    int32_t d;
    int64_t next;
    const char *tz = (i % 3 == 0) ? "Europe/Paris" : (i % 3 == 1) ? "Asia/Tokyo" : "UTC";
    if (fix_schedule_day(tz, 0, 1777896000000LL, &d, &next) != 0 || d != 20577)
      (*bad)++;
  }
  return NULL;
}

static void test_threads(void **state)
{
  (void)state;
  pthread_t th[8];
  int bad[8] = {0};
  for (int i = 0; i < 8; i++)
    assert_int_equal(pthread_create(&th[i], NULL, worker, &bad[i]), 0);
  for (int i = 0; i < 8; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(bad[i], 0);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utc),
      cmocka_unit_test(test_new_york_spring_forward),
      cmocka_unit_test(test_new_york_fall_back),
      cmocka_unit_test(test_new_york_after_last_transition),
      cmocka_unit_test(test_tokyo),
      cmocka_unit_test(test_unknown_and_hostile),
      cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
