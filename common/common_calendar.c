/*
 * Dates and the NYSE business-day calendar.
 *
 * A date is a day number: days since 1970-01-01 in the proleptic Gregorian
 * calendar, negative before (Howard Hinnant's days_from_civil and
 * civil_from_days, computed in 64 bits so no int32_t day overflows).  Only
 * years CAL_YEAR_MIN..CAL_YEAR_MAX are accepted from outside (cal_day,
 * cal_parse_date) and produced by cal_add_business_days.
 *
 * The NYSE full-day holidays follow NYSE Rule 7.2: a holiday falling on a
 * Saturday closes the exchange on the Friday before, one on a Sunday on the
 * Monday after, except New Year's Day on a Saturday, which is not observed
 * (Friday December 31 ends the accounting year).  cal_nyse_holiday() is
 * true only on the weekday the exchange is closed, never on a Saturday or
 * Sunday, so observed dates never cross into another year and each year's
 * holidays are computed from that year alone.
 *
 * Rules modelled, with the years they changed: Martin Luther King Jr. Day
 * since 1998; Washington's Birthday and Memorial Day on Mondays since 1971
 * (February 22 and May 30 before); Juneteenth since 2022.  Older history
 * (Lincoln's Birthday, Election Day, Columbus and Veterans Day closures,
 * Saturday trading, Thanksgiving before 1942) is not modelled.  Early
 * closes (half days) are not full-day holidays and are not modelled either.
 *
 * Closures the rules cannot know (days of mourning, weather) come from
 * data through struct cal, whose array stays sorted and unique.
 */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

/* Day number of a civil date; any year, no validation. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                          /* 0..399 */
  int64_t mp = m > 2 ? (int64_t)m - 3 : (int64_t)m + 9; /* 0..11 */
  int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;    /* 0..365 */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  /* 0..146096 */
  return era * 146097 + doe - 719468;
}

static bool is_leap(int y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int y, unsigned m)
{
  static const unsigned len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && is_leap(y))
    return 29;
  return len[m - 1];
}

/* First and last day numbers of the supported range. */
static int32_t day_min(void)
{
  return (int32_t)days_from_civil(CAL_YEAR_MIN, 1, 1);
}

static int32_t day_max(void)
{
  return (int32_t)days_from_civil(CAL_YEAR_MAX, 12, 31);
}

int cal_day(int year, unsigned month, unsigned mday, int32_t *out)
{
  if (year < CAL_YEAR_MIN || year > CAL_YEAR_MAX || month < 1 || month > 12 || mday < 1 ||
      mday > days_in_month(year, month))
    return -ERR_CAL_DATE_RANGE;
  *out = (int32_t)days_from_civil(year, month, mday);
  return 0;
}

void cal_civil(int32_t day, int *year, unsigned *month, unsigned *mday)
{
  int64_t z = (int64_t)day + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097; /* 0..146096 */
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100); /* 0..365 */
  int64_t mp = (5 * doy + 2) / 153;                      /* 0..11 */
  unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  *year = (int)(y + (m <= 2));
  *month = m;
  *mday = d;
}

unsigned cal_weekday(int32_t day)
{
  /* 1970-01-01 was a Thursday (4). */
  int64_t w = ((int64_t)day + 4) % 7;
  return (unsigned)(w < 0 ? w + 7 : w);
}

/* Value of @n ASCII digits at @s, or -1 if any is not a digit. */
static int digits(const char *s, size_t n)
{
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

int cal_parse_date(const char *s, size_t len, int32_t *out)
{
  if (s == NULL || len != CAL_DATE_STR - 1 || s[4] != '-' || s[7] != '-')
    return -ERR_CAL_DATE_SYNTAX;
  int y = digits(s, 4);
  int m = digits(s + 5, 2);
  int d = digits(s + 8, 2);
  if (y < 0 || m < 0 || d < 0)
    return -ERR_CAL_DATE_SYNTAX;
  return cal_day(y, (unsigned)m, (unsigned)d, out);
}

/* Write @v as exactly @n decimal digits, zero padded. */
static void put_digits(char *p, unsigned v, size_t n)
{
  while (n-- > 0) {
    p[n] = (char)('0' + v % 10);
    v /= 10;
  }
}

/*
 * A day whose year does not fit four digits (outside 0..9999) is written
 * "0000-00-00", which cal_parse_date() rejects.
 */
void cal_format_date(int32_t day, char buf[CAL_DATE_STR])
{
  int y;
  unsigned m, d;
  cal_civil(day, &y, &m, &d);
  if (y < 0 || y > 9999) {
    y = 0;
    m = 0;
    d = 0;
  }
  put_digits(buf, (unsigned)y, 4);
  buf[4] = '-';
  put_digits(buf + 5, m, 2);
  buf[7] = '-';
  put_digits(buf + 8, d, 2);
  buf[10] = '\0';
}

/* Floor modulo for the computus with negative years. */
static int64_t fmod64(int64_t a, int64_t b)
{
  int64_t r = a % b;
  return r < 0 ? r + b : r;
}

static int64_t fdiv64(int64_t a, int64_t b)
{
  return (a - fmod64(a, b)) / b;
}

/*
 * The anonymous Gregorian algorithm (Meeus/Jones/Butcher).  Years are
 * clamped to +-5,000,000 so the day number fits an int32_t; the result is
 * meaningful for Gregorian years (1583 on).
 */
int32_t cal_easter(int year)
{
  int64_t y = year;
  if (y > 5000000)
    y = 5000000;
  if (y < -5000000)
    y = -5000000;
  int64_t a = fmod64(y, 19);
  int64_t b = fdiv64(y, 100);
  int64_t c = fmod64(y, 100);
  int64_t d = fdiv64(b, 4);
  int64_t e = fmod64(b, 4);
  int64_t f = fdiv64(b + 8, 25);
  int64_t g = fdiv64(b - f + 1, 3);
  int64_t h = fmod64(19 * a + b - d - g + 15, 30);
  int64_t i = c / 4;
  int64_t k = c % 4;
  int64_t l = fmod64(32 + 2 * e + 2 * i - h - k, 7);
  int64_t m = (a + 11 * h + 22 * l) / 451;
  int64_t x = h + l - 7 * m + 114;
  return (int32_t)days_from_civil(y, (unsigned)(x / 31), (unsigned)(x % 31 + 1));
}

/* No holiday this year (a sentinel never equal to a weekday tested). */
#define NO_DAY INT64_MIN

/*
 * Observed day of a fixed-date holiday: Saturday to Friday (or not at all
 * when @sat_observed is false: New Year's Day, whose Friday would be
 * December 31 of the year before), Sunday to Monday.
 */
static int64_t observed(int y, unsigned m, unsigned d, bool sat_observed)
{
  int64_t day = days_from_civil(y, m, d);
  unsigned wd = cal_weekday((int32_t)day);
  if (wd == 6)
    return sat_observed ? day - 1 : NO_DAY;
  if (wd == 0)
    return day + 1;
  return day;
}

/* The @n-th (1-based) weekday @wd of month @m. */
static int64_t nth_weekday(int y, unsigned m, unsigned wd, unsigned n)
{
  int64_t first = days_from_civil(y, m, 1);
  unsigned off = (wd + 7 - cal_weekday((int32_t)first)) % 7;
  return first + off + 7 * (int64_t)(n - 1);
}

/* The last weekday @wd of month @m. */
static int64_t last_weekday(int y, unsigned m, unsigned wd)
{
  int64_t last = days_from_civil(y, m, days_in_month(y, m));
  unsigned back = (cal_weekday((int32_t)last) + 7 - wd) % 7;
  return last - back;
}

enum { MON = 1, THU = 4 };

bool cal_nyse_holiday(int32_t day, const char **name)
{
  unsigned wd = cal_weekday(day);
  if (wd == 0 || wd == 6)
    return false;
  int y;
  unsigned m, d;
  cal_civil(day, &y, &m, &d);

  struct {
    int64_t day;
    const char *name;
  } h[10];
  size_t n = 0;

  h[n].day = observed(y, 1, 1, false);
  h[n++].name = "New Year's Day";
  h[n].day = y >= 1998 ? nth_weekday(y, 1, MON, 3) : NO_DAY;
  h[n++].name = "Martin Luther King Jr. Day";
  h[n].day = y >= 1971 ? nth_weekday(y, 2, MON, 3) : observed(y, 2, 22, true);
  h[n++].name = "Washington's Birthday";
  h[n].day = (int64_t)cal_easter(y) - 2;
  h[n++].name = "Good Friday";
  h[n].day = y >= 1971 ? last_weekday(y, 5, MON) : observed(y, 5, 30, true);
  h[n++].name = "Memorial Day";
  h[n].day = y >= 2022 ? observed(y, 6, 19, true) : NO_DAY;
  h[n++].name = "Juneteenth National Independence Day";
  h[n].day = observed(y, 7, 4, true);
  h[n++].name = "Independence Day";
  h[n].day = nth_weekday(y, 9, MON, 1);
  h[n++].name = "Labor Day";
  h[n].day = nth_weekday(y, 11, THU, 4);
  h[n++].name = "Thanksgiving Day";
  h[n].day = observed(y, 12, 25, true);
  h[n++].name = "Christmas Day";

  for (size_t i = 0; i < n; i++) {
    if (h[i].day == day) {
      if (name != NULL)
        *name = h[i].name;
      return true;
    }
  }
  return false;
}

void cal_init(struct cal *c)
{
  c->closures = NULL;
  c->n_closures = 0;
  c->cap_closures = 0;
}

void cal_free(struct cal *c)
{
  if (c == NULL)
    return;
  free(c->closures);
  cal_init(c);
}

/* Index of the first closure >= @day. */
static size_t lower_bound(const int32_t *a, size_t n, int32_t day)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (a[mid] < day)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

int cal_add_closure(struct cal *c, int32_t day)
{
  size_t i = lower_bound(c->closures, c->n_closures, day);
  if (i < c->n_closures && c->closures[i] == day)
    return 0;
  if (c->n_closures == c->cap_closures) {
    size_t cap = c->cap_closures == 0 ? 16 : c->cap_closures * 2;
    if (cap < c->cap_closures || cap > SIZE_MAX / sizeof(int32_t))
      return -ERR_NOMEM;
    int32_t *p = realloc(c->closures, cap * sizeof(int32_t));
    if (p == NULL)
      return -ERR_NOMEM;
    c->closures = p;
    c->cap_closures = cap;
  }
  memmove(c->closures + i + 1, c->closures + i, (c->n_closures - i) * sizeof(int32_t));
  c->closures[i] = day;
  c->n_closures++;
  return 0;
}

static int cmp_day(const void *a, const void *b)
{
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* One line (without its '\n'): 0 and *day, 1 if blank or comment, < 0. */
static int parse_line(const char *s, size_t len, int32_t *day)
{
  if (len > 0 && s[len - 1] == '\r')
    len--;
  size_t i = 0;
  while (i < len && (s[i] == ' ' || s[i] == '\t'))
    i++;
  if (i == len || s[i] == '#')
    return 1;
  if (len < CAL_DATE_STR - 1 || cal_parse_date(s, CAL_DATE_STR - 1, day) != 0)
    return -ERR_CAL_CLOSURES;
  if (len > CAL_DATE_STR - 1 && s[CAL_DATE_STR - 1] != ' ' && s[CAL_DATE_STR - 1] != '\t')
    return -ERR_CAL_CLOSURES;
  return 0;
}

/*
 * Parses every line into a temporary sorted list, then merges it with the
 * calendar's closures into a new array that replaces the old one only
 * when all went well, so on any error @c is untouched.
 */
int cal_load_closures(struct cal *c, const char *text, size_t len, unsigned *line_out)
{
  int32_t *tmp = NULL, *merged = NULL;
  size_t n = 0, cap = 0;
  unsigned line = 0;
  int rc = 0;

  if (text == NULL)
    len = 0;
  size_t pos = 0;
  while (pos < len) {
    const char *s = text + pos;
    const char *nl = memchr(s, '\n', len - pos);
    size_t l = nl != NULL ? (size_t)(nl - s) : len - pos;
    pos += l + (nl != NULL);
    line++;
    int32_t day;
    rc = parse_line(s, l, &day);
    if (rc < 0) {
      if (line_out != NULL)
        *line_out = line;
      goto out;
    }
    if (rc == 1)
      continue;
    if (n == cap) {
      size_t ncap = cap == 0 ? 16 : cap * 2;
      int32_t *p = ncap > SIZE_MAX / sizeof(int32_t) ? NULL : realloc(tmp, ncap * sizeof(int32_t));
      if (p == NULL) {
        rc = -ERR_NOMEM;
        goto out;
      }
      tmp = p;
      cap = ncap;
    }
    tmp[n++] = day;
  }
  rc = 0;
  if (n == 0)
    goto out;
  qsort(tmp, n, sizeof(int32_t), cmp_day);

  size_t total = c->n_closures + n;
  if (total < n || total > SIZE_MAX / sizeof(int32_t)) {
    rc = -ERR_NOMEM;
    goto out;
  }
  merged = malloc(total * sizeof(int32_t));
  if (merged == NULL) {
    rc = -ERR_NOMEM;
    goto out;
  }
  size_t i = 0, j = 0, k = 0;
  while (i < c->n_closures || j < n) {
    int32_t v;
    if (j == n || (i < c->n_closures && c->closures[i] <= tmp[j]))
      v = c->closures[i++];
    else
      v = tmp[j++];
    if (k == 0 || merged[k - 1] != v)
      merged[k++] = v;
  }
  free(c->closures);
  c->closures = merged;
  c->n_closures = k;
  c->cap_closures = total;
  merged = NULL;
out:
  free(tmp);
  free(merged);
  return rc;
}

/* The closures file is small; anything over this is not ours. */
#define CAL_FILE_MAX (1024 * 1024)

int cal_load_closures_file(struct cal *c, const char *path, unsigned *line_out)
{
  char *buf = NULL;
  size_t len = 0;
  int rc = util_read_file(path, CAL_FILE_MAX, &buf, &len);
  if (rc != 0)
    return rc;
  rc = cal_load_closures(c, buf, len, line_out);
  free(buf);
  return rc;
}

bool cal_is_business_day(const struct cal *c, int32_t day)
{
  unsigned wd = cal_weekday(day);
  if (wd == 0 || wd == 6)
    return false;
  if (cal_nyse_holiday(day, NULL))
    return false;
  if (c != NULL && c->n_closures > 0) {
    size_t i = lower_bound(c->closures, c->n_closures, day);
    if (i < c->n_closures && c->closures[i] == day)
      return false;
  }
  return true;
}

/*
 * Walks one day at a time; every step moves toward a range end, so the
 * loop runs at most the length of the range (about 110,000 days).
 */
int cal_add_business_days(const struct cal *c, int32_t day, int n, int32_t *out)
{
  int32_t lo = day_min(), hi = day_max();
  if (day < lo || day > hi)
    return -ERR_CAL_DATE_RANGE;
  int step = n < 0 ? -1 : 1;
  int64_t left = n < 0 ? -(int64_t)n : (int64_t)n;
  int32_t d = day;

  if (n == 0) {
    while (!cal_is_business_day(c, d)) {
      if (d == hi)
        return -ERR_CAL_DATE_RANGE;
      d++;
    }
    *out = d;
    return 0;
  }
  while (left > 0) {
    if ((step > 0 && d == hi) || (step < 0 && d == lo))
      return -ERR_CAL_DATE_RANGE;
    d += step;
    if (cal_is_business_day(c, d))
      left--;
  }
  *out = d;
  return 0;
}
