/*
 * Tests of common/common_calendar.c: day numbers, date text, Easter, the
 * NYSE holiday rules against the exchange's published lists for 2024-2027,
 * the extra closures (text and data/nyse-closures.txt) and T+N.
 *
 * The closures file is found through BACKSTOCK_TEST_SOURCE_ROOT, which meson
 * sets to the source root; the test fails when it is unset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

/* Day number of a valid "YYYY-MM-DD", failing the test otherwise. */
static int32_t D(const char *s)
{
  int32_t day = 0;
  int rc = cal_parse_date(s, strlen(s), &day);
  if (rc != 0)
    fail_msg("bad date in test: %s (%d)", s, rc);
  return day;
}

static void assert_date(int32_t day, const char *want)
{
  char buf[CAL_DATE_STR];
  cal_format_date(day, buf);
  assert_string_equal(buf, want);
}

/* ------------------------------------------------------------------ */
/* Day numbers and text                                                */
/* ------------------------------------------------------------------ */

static void test_day_known_values(void **state)
{
  (void)state;
  int32_t d = 12345;
  assert_int_equal(cal_day(1970, 1, 1, &d), 0);
  assert_int_equal(d, 0);
  assert_int_equal(cal_day(1969, 12, 31, &d), 0);
  assert_int_equal(d, -1);
  assert_int_equal(cal_day(1900, 1, 1, &d), 0);
  assert_int_equal(d, -25567);
  assert_int_equal(cal_day(2000, 3, 1, &d), 0);
  assert_int_equal(d, 11017);
  assert_int_equal(cal_day(2024, 2, 29, &d), 0);
  assert_int_equal(d, 19782);
  assert_int_equal(cal_day(2026, 11, 21, &d), 0);
  assert_int_equal(d, 20778);
  assert_int_equal(cal_day(2200, 12, 31, &d), 0);
  assert_int_equal(d, 84370);

  int y;
  unsigned m, md;
  cal_civil(-25567, &y, &m, &md);
  assert_int_equal(y, 1900);
  assert_int_equal(m, 1);
  assert_int_equal(md, 1);
  cal_civil(19782, &y, &m, &md);
  assert_int_equal(y, 2024);
  assert_int_equal(m, 2);
  assert_int_equal(md, 29);
}

static void test_day_range(void **state)
{
  (void)state;
  int32_t d = 777;
  assert_int_equal(cal_day(2026, 2, 29, &d), -ERR_CAL_DATE_RANGE);
  assert_int_equal(cal_day(1900, 2, 29, &d), -ERR_CAL_DATE_RANGE);
  assert_int_equal(cal_day(2100, 2, 29, &d), -ERR_CAL_DATE_RANGE);
  assert_int_equal(cal_day(2026, 0, 1, &d), -ERR_CAL_DATE_RANGE);
  assert_int_equal(cal_day(2026, 13, 1, &d), -ERR_CAL_DATE_RANGE);
  assert_int_equal(cal_day(2026, 4, 31, &d), -ERR_CAL_DATE_RANGE);
  assert_int_equal(cal_day(2026, 1, 0, &d), -ERR_CAL_DATE_RANGE);
  assert_int_equal(cal_day(1899, 12, 31, &d), -ERR_CAL_DATE_RANGE);
  assert_int_equal(cal_day(2201, 1, 1, &d), -ERR_CAL_DATE_RANGE);
  assert_int_equal(d, 777); /* untouched on error */
  assert_int_equal(cal_day(2000, 2, 29, &d), 0);
  assert_int_equal(cal_day(2024, 2, 29, &d), 0);
}

static void test_weekday(void **state)
{
  (void)state;
  assert_int_equal(cal_weekday(0), 4);               /* 1970-01-01 Thu */
  assert_int_equal(cal_weekday(D("2026-11-21")), 6); /* Saturday */
  assert_int_equal(cal_weekday(D("2026-11-22")), 0); /* Sunday */
  assert_int_equal(cal_weekday(-1), 3);              /* 1969-12-31 Wed */
  assert_int_equal(cal_weekday(D("1900-01-01")), 1); /* Monday */
  assert_int_equal(cal_weekday(D("2000-01-01")), 6); /* Saturday */
  assert_int_equal(cal_weekday(D("2200-12-31")), 3); /* Wednesday */
}

/*
 * Every day of the supported range: civil -> day -> civil, text -> day,
 * consecutive days advance the date by one, weekdays cycle.
 */
static void test_roundtrip_all_days(void **state)
{
  (void)state;
  int32_t lo = D("1900-01-01"), hi = D("2200-12-31");
  int py = 1899;
  unsigned pm = 12, pd = 31;
  for (int32_t day = lo; day <= hi; day++) {
    int y;
    unsigned m, md;
    cal_civil(day, &y, &m, &md);
    int32_t back = -1;
    assert_int_equal(cal_day(y, m, md, &back), 0);
    assert_int_equal(back, day);

    /* The date follows the previous one. */
    if (md == 1) {
      if (m == 1) {
        assert_int_equal(y, py + 1);
        assert_int_equal(pm, 12);
        assert_int_equal(pd, 31);
      } else {
        assert_int_equal(y, py);
        assert_int_equal(m, pm + 1);
      }
    } else {
      assert_int_equal(y, py);
      assert_int_equal(m, pm);
      assert_int_equal(md, pd + 1);
    }
    py = y;
    pm = m;
    pd = md;

    char buf[CAL_DATE_STR];
    cal_format_date(day, buf);
    assert_int_equal(strlen(buf), 10);
    assert_int_equal(cal_parse_date(buf, 10, &back), 0);
    assert_int_equal(back, day);
    assert_int_equal(cal_weekday(day), (unsigned)((day - lo + 1) % 7));
  }
  assert_int_equal(py, 2200);
}

static void test_parse_rejections(void **state)
{
  (void)state;
  static const struct {
    const char *s;
    int rc;
  } cases[] = {
      {"2026-02-30", -ERR_CAL_DATE_RANGE},   {"2026-2-3", -ERR_CAL_DATE_SYNTAX},
      {"2026-13-01", -ERR_CAL_DATE_RANGE},   {" 2026-01-01", -ERR_CAL_DATE_SYNTAX},
      {"20260101", -ERR_CAL_DATE_SYNTAX},    {"1899-12-31", -ERR_CAL_DATE_RANGE},
      {"2201-01-01", -ERR_CAL_DATE_RANGE},   {"0000-00-00", -ERR_CAL_DATE_RANGE},
      {"2026-00-10", -ERR_CAL_DATE_RANGE},   {"2026-01-00", -ERR_CAL_DATE_RANGE},
      {"2026-01-01 ", -ERR_CAL_DATE_SYNTAX}, {"2026/01/01", -ERR_CAL_DATE_SYNTAX},
      {"2026-01-0a", -ERR_CAL_DATE_SYNTAX},  {"+026-01-01", -ERR_CAL_DATE_SYNTAX},
      {"2026-+1-01", -ERR_CAL_DATE_SYNTAX},  {"", -ERR_CAL_DATE_SYNTAX},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int32_t d = 4242;
    int rc = cal_parse_date(cases[i].s, strlen(cases[i].s), &d);
    if (rc != cases[i].rc)
      fail_msg("\"%s\": got %d, want %d", cases[i].s, rc, cases[i].rc);
    assert_int_equal(d, 4242);
  }
  /* Only @len bytes count: the text need not be NUL-terminated. */
  int32_t d = 0;
  assert_int_equal(cal_parse_date("2026-11-215", 10, &d), 0);
  assert_int_equal(d, 20778);
  assert_int_equal(cal_parse_date("2026-11-21", 9, &d), -ERR_CAL_DATE_SYNTAX);
  assert_int_equal(cal_parse_date("2024-02-29", 10, &d), 0);
  assert_int_equal(d, 19782);
}

static void test_format(void **state)
{
  (void)state;
  assert_date(0, "1970-01-01");
  assert_date(-1, "1969-12-31");
  assert_date(-25567, "1900-01-01");
  assert_date(84370, "2200-12-31");
  assert_date(20778, "2026-11-21");
  /* A year that does not fit four digits gives text parse rejects. */
  assert_date(INT32_MAX, "0000-00-00");
  assert_date(INT32_MIN, "0000-00-00");
}

static void test_easter(void **state)
{
  (void)state;
  static const struct {
    int year;
    const char *date;
  } cases[] = {
      {2024, "2024-03-31"}, {2025, "2025-04-20"}, {2026, "2026-04-05"}, {2027, "2027-03-28"},
      {2000, "2000-04-23"}, {2038, "2038-04-25"}, {2008, "2008-03-23"}, {2011, "2011-04-24"},
      {2019, "2019-04-21"}, {1961, "1961-04-02"}, {1900, "1900-04-15"}, {2200, "2200-04-06"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int32_t e = cal_easter(cases[i].year);
    assert_int_equal(e, D(cases[i].date));
    assert_int_equal(cal_weekday(e), 0);
  }
  /* Easter is always a Sunday from March 22 to April 25. */
  for (int y = CAL_YEAR_MIN; y <= CAL_YEAR_MAX; y++) {
    int32_t e = cal_easter(y), a, b;
    assert_int_equal(cal_day(y, 3, 22, &a), 0);
    assert_int_equal(cal_day(y, 4, 25, &b), 0);
    assert_true(e >= a && e <= b);
    assert_int_equal(cal_weekday(e), 0);
  }
}

/* ------------------------------------------------------------------ */
/* NYSE holiday rules                                                  */
/* ------------------------------------------------------------------ */

/* As published by NYSE. */
static const struct {
  int year;
  const char *dates[10];
} published[] = {
    {2024,
     {"2024-01-01", "2024-01-15", "2024-02-19", "2024-03-29", "2024-05-27", "2024-06-19",
      "2024-07-04", "2024-09-02", "2024-11-28", "2024-12-25"}},
    {2025,
     {"2025-01-01", "2025-01-20", "2025-02-17", "2025-04-18", "2025-05-26", "2025-06-19",
      "2025-07-04", "2025-09-01", "2025-11-27", "2025-12-25"}},
    {2026,
     {"2026-01-01", "2026-01-19", "2026-02-16", "2026-04-03", "2026-05-25", "2026-06-19",
      "2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25"}},
    {2027,
     {"2027-01-01", "2027-01-18", "2027-02-15", "2027-03-26", "2027-05-31", "2027-06-18",
      "2027-07-05", "2027-09-06", "2027-11-25", "2027-12-24"}},
};

static const char *const names[10] = {
    "New Year's Day",        "Martin Luther King Jr. Day",
    "Washington's Birthday", "Good Friday",
    "Memorial Day",          "Juneteenth National Independence Day",
    "Independence Day",      "Labor Day",
    "Thanksgiving Day",      "Christmas Day",
};

static void test_published_holidays(void **state)
{
  (void)state;
  struct cal c;
  cal_init(&c);
  for (size_t i = 0; i < sizeof published / sizeof published[0]; i++) {
    int y = published[i].year;
    int32_t first, last;
    assert_int_equal(cal_day(y, 1, 1, &first), 0);
    assert_int_equal(cal_day(y, 12, 31, &last), 0);
    unsigned found = 0;
    for (int32_t day = first; day <= last; day++) {
      char buf[CAL_DATE_STR];
      cal_format_date(day, buf);
      int listed = -1;
      for (int k = 0; k < 10; k++)
        if (strcmp(published[i].dates[k], buf) == 0)
          listed = k;
      const char *name = NULL;
      bool hol = cal_nyse_holiday(day, &name);
      unsigned wd = cal_weekday(day);
      if (listed >= 0) {
        if (!hol)
          fail_msg("%s should be an NYSE holiday", buf);
        assert_string_equal(name, names[listed]);
        assert_false(cal_is_business_day(&c, day));
        found++;
      } else if (wd == 0 || wd == 6) {
        assert_false(hol);
        assert_false(cal_is_business_day(&c, day));
      } else {
        if (hol)
          fail_msg("%s is not an NYSE holiday (got %s)", buf, name);
        assert_null(name);
        assert_true(cal_is_business_day(&c, day));
      }
    }
    assert_int_equal(found, 10);
  }
  cal_free(&c);
}

static void test_holiday_edges(void **state)
{
  (void)state;
  struct cal c;
  cal_init(&c);
  const char *name = NULL;

  /* New Year's Day on a Saturday is not observed on Friday Dec 31. */
  assert_int_equal(cal_weekday(D("2022-01-01")), 6);
  assert_false(cal_nyse_holiday(D("2022-01-01"), NULL));
  assert_false(cal_nyse_holiday(D("2021-12-31"), NULL));
  assert_true(cal_is_business_day(&c, D("2021-12-31")));
  assert_true(cal_is_business_day(&c, D("2022-01-03")));

  /* Juneteenth: not before 2022; Sunday June 19 2022 observed Monday. */
  assert_true(cal_is_business_day(&c, D("2021-06-18")));
  assert_false(cal_nyse_holiday(D("2021-06-18"), NULL));
  assert_true(cal_nyse_holiday(D("2022-06-20"), &name));
  assert_string_equal(name, "Juneteenth National Independence Day");

  /* New Year's Day on a Sunday is observed Monday January 2. */
  name = NULL;
  assert_true(cal_nyse_holiday(D("2023-01-02"), &name));
  assert_string_equal(name, "New Year's Day");
  name = NULL;
  assert_true(cal_nyse_holiday(D("2017-01-02"), &name));
  assert_string_equal(name, "New Year's Day");

  /* Christmas on a Saturday is observed Friday December 24. */
  name = NULL;
  assert_true(cal_nyse_holiday(D("2021-12-24"), &name));
  assert_string_equal(name, "Christmas Day");
  assert_false(cal_nyse_holiday(D("2021-12-25"), NULL));

  /* Christmas on a Sunday is observed Monday December 26. */
  assert_true(cal_nyse_holiday(D("2022-12-26"), &name));
  assert_string_equal(name, "Christmas Day");

  /* Martin Luther King Jr. Day since 1998 only. */
  assert_false(cal_nyse_holiday(D("1997-01-20"), NULL));
  assert_true(cal_nyse_holiday(D("1998-01-19"), &name));
  assert_string_equal(name, "Martin Luther King Jr. Day");

  /* Before 1971: February 22 and May 30 with the weekend rule. */
  assert_true(cal_nyse_holiday(D("1970-02-23"), &name)); /* Sun Feb 22 */
  assert_string_equal(name, "Washington's Birthday");
  assert_false(cal_nyse_holiday(D("1970-02-16"), NULL));
  assert_true(cal_nyse_holiday(D("1970-05-29"), &name)); /* Sat May 30 */
  assert_string_equal(name, "Memorial Day");
  assert_true(cal_nyse_holiday(D("1971-02-15"), &name));
  assert_string_equal(name, "Washington's Birthday");
  assert_true(cal_nyse_holiday(D("1971-05-31"), &name));
  assert_string_equal(name, "Memorial Day");

  /* Thanksgiving is the fourth Thursday, not the last (five in 2023). */
  assert_true(cal_nyse_holiday(D("2023-11-23"), &name));
  assert_string_equal(name, "Thanksgiving Day");
  assert_true(cal_is_business_day(&c, D("2023-11-30")));
  assert_true(cal_nyse_holiday(D("2029-11-22"), &name));
  assert_true(cal_is_business_day(&c, D("2029-11-29")));

  /* The name is only written for a holiday. */
  name = "unchanged";
  assert_false(cal_nyse_holiday(D("2026-11-24"), &name));
  assert_string_equal(name, "unchanged");
  cal_free(&c);
}

/*
 * Over the whole range: holidays fall on weekdays only, and from 2022 on
 * each year has ten, or nine when New Year's Day is a Saturday.
 */
static void test_holiday_counts(void **state)
{
  (void)state;
  for (int y = CAL_YEAR_MIN; y <= CAL_YEAR_MAX; y++) {
    int32_t first, last;
    assert_int_equal(cal_day(y, 1, 1, &first), 0);
    assert_int_equal(cal_day(y, 12, 31, &last), 0);
    unsigned n = 0;
    for (int32_t day = first; day <= last; day++) {
      if (!cal_nyse_holiday(day, NULL))
        continue;
      unsigned wd = cal_weekday(day);
      assert_true(wd >= 1 && wd <= 5);
      n++;
    }
    if (y >= 2022) {
      unsigned want = cal_weekday(first) == 6 ? 9 : 10;
      if (n != want)
        fail_msg("%d: %u holidays, want %u", y, n, want);
    } else {
      assert_true(n >= 7 && n <= 9);
    }
  }
}

/* ------------------------------------------------------------------ */
/* Extra closures                                                      */
/* ------------------------------------------------------------------ */

static void assert_sorted_unique(const struct cal *c)
{
  for (size_t i = 1; i < c->n_closures; i++)
    assert_true(c->closures[i - 1] < c->closures[i]);
  assert_true(c->n_closures <= c->cap_closures);
}

static void test_add_closure(void **state)
{
  (void)state;
  struct cal c;
  cal_init(&c);
  assert_null(c.closures);
  assert_int_equal(c.n_closures, 0);
  /* 0..99 in a scrambled order, each twice: grows past the first array. */
  for (int pass = 0; pass < 2; pass++)
    for (int32_t i = 0; i < 100; i++)
      assert_int_equal(cal_add_closure(&c, 20000 + (i * 37) % 100), 0);
  assert_int_equal(c.n_closures, 100);
  assert_sorted_unique(&c);
  assert_int_equal(c.closures[0], 20000);
  assert_int_equal(c.closures[99], 20099);
  cal_free(&c);
  assert_null(c.closures);
  assert_int_equal(c.n_closures, 0);
  cal_free(&c);
  cal_free(NULL);
}

static void test_load_closures_text(void **state)
{
  (void)state;
  struct cal c;
  cal_init(&c);
  assert_int_equal(cal_add_closure(&c, D("2026-03-10")), 0);

  static const char good[] = "# extra closures\n"
                             "\n"
                             "2026-11-24  storm\n"
                             "2026-03-10\tduplicate of an existing one\n"
                             "   \n"
                             "  # an indented comment\n"
                             "2026-11-24 again, a duplicate\r\n"
                             "2026-01-06\r\n"
                             "2026-06-01"; /* no final newline */
  unsigned line = 99;
  assert_int_equal(cal_load_closures(&c, good, strlen(good), &line), 0);
  assert_int_equal(line, 99);
  assert_int_equal(c.n_closures, 4);
  assert_sorted_unique(&c);
  assert_int_equal(c.closures[0], D("2026-01-06"));
  assert_int_equal(c.closures[1], D("2026-03-10"));
  assert_int_equal(c.closures[2], D("2026-06-01"));
  assert_int_equal(c.closures[3], D("2026-11-24"));
  assert_false(cal_is_business_day(&c, D("2026-11-24")));
  assert_true(cal_is_business_day(&c, D("2026-11-23")));

  /* Loading the same text again changes nothing. */
  assert_int_equal(cal_load_closures(&c, good, strlen(good), NULL), 0);
  assert_int_equal(c.n_closures, 4);

  /* Empty text is fine. */
  assert_int_equal(cal_load_closures(&c, "", 0, &line), 0);
  assert_int_equal(cal_load_closures(&c, NULL, 0, &line), 0);
  assert_int_equal(c.n_closures, 4);

  /* A bad line: its number, and the calendar exactly as before. */
  static const struct {
    const char *text;
    unsigned line;
  } bad[] = {
      {"2026-12-01\n# fine\n2026-02-30 no such day\n2026-12-02\n", 3},
      {"2026-12-01\n2026-12-01x\n", 2},
      {" 2026-12-01\n", 1},
      {"2026-12-01\n\n\n12/03/2026\n", 4},
      {"2026-12-01\r\n2026-12-1\r\n", 2},
      {"2026-12-01\n1899-12-29 too early\n", 2},
      {"hello\n", 1},
  };
  int32_t before[4];
  memcpy(before, c.closures, sizeof before);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    line = 0;
    int rc = cal_load_closures(&c, bad[i].text, strlen(bad[i].text), &line);
    assert_int_equal(rc, -ERR_CAL_CLOSURES);
    if (line != bad[i].line)
      fail_msg("case %zu: line %u, want %u", i, line, bad[i].line);
    assert_int_equal(c.n_closures, 4);
    assert_memory_equal(c.closures, before, sizeof before);
    assert_true(cal_is_business_day(&c, D("2026-12-01")));
  }
  /* line_out may be NULL. */
  assert_int_equal(cal_load_closures(&c, "x\n", 2, NULL), -ERR_CAL_CLOSURES);
  cal_free(&c);
}

static void test_closures_file(void **state)
{
  (void)state;
  const char *root = getenv("BACKSTOCK_TEST_SOURCE_ROOT");
  if (root == NULL || root[0] == '\0')
    fail_msg("BACKSTOCK_TEST_SOURCE_ROOT is not set (meson sets it to the "
             "source root; set it by hand when running this test directly)");
  char path[4096];
  int n = snprintf(path, sizeof path, "%s/data/nyse-closures.txt", root);
  assert_true(n > 0 && (size_t)n < sizeof path);

  struct cal c;
  cal_init(&c);
  int32_t carter = D("2025-01-09");
  assert_true(cal_is_business_day(&c, carter));
  assert_false(cal_nyse_holiday(carter, NULL));

  unsigned line = 0;
  int rc = cal_load_closures_file(&c, path, &line);
  if (rc != 0)
    fail_msg("%s: %s (line %u)", path, err_name(rc), line);
  assert_false(cal_is_business_day(&c, carter));

  static const char *const want[] = {
      "2001-09-11", "2001-09-12", "2001-09-13", "2001-09-14", "2004-06-11",
      "2007-01-02", "2012-10-29", "2012-10-30", "2018-12-05", "2025-01-09",
  };
  assert_int_equal(c.n_closures, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    assert_int_equal(c.closures[i], D(want[i]));
    /* Each is a weekday the rules alone keep open. */
    assert_false(cal_nyse_holiday(c.closures[i], NULL));
    unsigned wd = cal_weekday(c.closures[i]);
    assert_true(wd >= 1 && wd <= 5);
  }

  /* T+1 from the day before skips the closure. */
  int32_t out = 0;
  assert_int_equal(cal_add_business_days(&c, D("2025-01-08"), 1, &out), 0);
  assert_date(out, "2025-01-10");
  assert_int_equal(cal_add_business_days(&c, D("2012-10-26"), 1, &out), 0);
  assert_date(out, "2012-10-31");

  /* A missing file is an I/O error and leaves the calendar alone. */
  n = snprintf(path, sizeof path, "%s/data/no-such-closures.txt", root);
  assert_true(n > 0 && (size_t)n < sizeof path);
  assert_int_equal(cal_load_closures_file(&c, path, &line), -ERR_IO);
  assert_int_equal(c.n_closures, 10);
  cal_free(&c);

  struct cal bare;
  cal_init(&bare);
  assert_int_equal(cal_add_business_days(&bare, D("2025-01-08"), 1, &out), 0);
  assert_date(out, "2025-01-09");
  cal_free(&bare);
}

/* ------------------------------------------------------------------ */
/* T+N                                                                 */
/* ------------------------------------------------------------------ */

static void test_add_business_days(void **state)
{
  (void)state;
  struct cal c;
  cal_init(&c);
  static const struct {
    const char *from;
    int n;
    const char *want;
  } cases[] = {
      /* T+1 over a weekend, a holiday, year ends. */
      {"2026-11-20", 1, "2026-11-23"},
      {"2026-11-25", 1, "2026-11-27"},
      {"2026-12-31", 1, "2027-01-04"},
      {"2027-12-23", 1, "2027-12-27"},
      {"2024-12-31", 1, "2025-01-02"},
      {"2026-11-23", 1, "2026-11-24"},
      /* T+2, T+5. */
      {"2026-11-25", 2, "2026-11-30"},
      {"2026-11-20", 2, "2026-11-24"},
      {"2026-12-21", 5, "2026-12-29"},
      {"2026-07-01", 5, "2026-07-09"},
      /* Backwards. */
      {"2026-11-30", -1, "2026-11-27"},
      {"2026-11-27", -1, "2026-11-25"},
      {"2027-01-04", -3, "2026-12-29"},
      {"2025-01-02", -1, "2024-12-31"},
      /* n = 0: the day itself, or the next business day. */
      {"2026-11-24", 0, "2026-11-24"},
      {"2026-11-26", 0, "2026-11-27"},
      {"2027-12-24", 0, "2027-12-27"},
      /* From a Saturday. */
      {"2026-11-21", 0, "2026-11-23"},
      {"2026-11-21", 1, "2026-11-23"},
      {"2026-11-21", 2, "2026-11-24"},
      {"2026-11-21", -1, "2026-11-20"},
      /* From a holiday. */
      {"2026-11-26", 1, "2026-11-27"},
      {"2026-11-26", -1, "2026-11-25"},
      /* A year of business days: 251 in 2026. */
      {"2025-12-31", 251, "2026-12-31"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int32_t out = -1;
    int rc = cal_add_business_days(&c, D(cases[i].from), cases[i].n, &out);
    assert_int_equal(rc, 0);
    char buf[CAL_DATE_STR];
    cal_format_date(out, buf);
    if (strcmp(buf, cases[i].want) != 0)
      fail_msg("%s %+d: got %s, want %s", cases[i].from, cases[i].n, buf, cases[i].want);
  }
  cal_free(&c);
}

static void test_add_business_days_range(void **state)
{
  (void)state;
  struct cal c;
  cal_init(&c);
  int32_t out = 4242;
  int32_t lo = D("1900-01-01"), hi = D("2200-12-31");

  assert_int_equal(cal_add_business_days(&c, hi, 1, &out), -ERR_CAL_DATE_RANGE);
  assert_int_equal(cal_add_business_days(&c, hi, 0, &out), 0);
  assert_int_equal(out, hi);
  /* 1900-01-01 is New Year's Day: nothing business before 1900-01-02. */
  assert_int_equal(cal_add_business_days(&c, lo, 0, &out), 0);
  assert_date(out, "1900-01-02");
  out = 4242;
  assert_int_equal(cal_add_business_days(&c, D("1900-01-02"), -1, &out), -ERR_CAL_DATE_RANGE);
  assert_int_equal(out, 4242);
  assert_int_equal(cal_add_business_days(&c, lo - 1, 0, &out), -ERR_CAL_DATE_RANGE);
  assert_int_equal(cal_add_business_days(&c, hi + 1, -1, &out), -ERR_CAL_DATE_RANGE);
  assert_int_equal(cal_add_business_days(&c, D("2026-11-20"), INT_MAX, &out), -ERR_CAL_DATE_RANGE);
  assert_int_equal(cal_add_business_days(&c, D("2026-11-20"), INT_MIN, &out), -ERR_CAL_DATE_RANGE);
  assert_int_equal(out, 4242);

  /* n = 0 on a last day that is closed has nowhere to go. */
  assert_int_equal(cal_add_closure(&c, hi), 0);
  assert_int_equal(cal_add_business_days(&c, hi, 0, &out), -ERR_CAL_DATE_RANGE);
  assert_int_equal(out, 4242);
  cal_free(&c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_day_known_values),
      cmocka_unit_test(test_day_range),
      cmocka_unit_test(test_weekday),
      cmocka_unit_test(test_roundtrip_all_days),
      cmocka_unit_test(test_parse_rejections),
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_easter),
      cmocka_unit_test(test_published_holidays),
      cmocka_unit_test(test_holiday_edges),
      cmocka_unit_test(test_holiday_counts),
      cmocka_unit_test(test_add_closure),
      cmocka_unit_test(test_load_closures_text),
      cmocka_unit_test(test_closures_file),
      cmocka_unit_test(test_add_business_days),
      cmocka_unit_test(test_add_business_days_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
