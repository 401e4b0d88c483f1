/*
 * Primary-market hours: which session an order placed at an instant is
 * for, and the cutoff instant of that session.  Hours are wall times in
 * ORDER_TIME_ZONE read through the FIX module's time-zone reader
 * (fix_schedule_day(): a "day" that starts at a given local minute), so
 * daylight-saving changes are exact; business days are the calendar's.
 */
#include <string.h>

#include "fix/fix.h"
#include "issuance/issuance_orders_int.h"

#define DAY_MS 86400000LL

/* "HH:MM" to minutes after midnight, or -1. */
static int hhmm(const char *s)
{
  if (s == NULL || strlen(s) != 5 || s[2] != ':')
    return -1;
  for (int i = 0; i < 5; i++)
    if (i != 2 && (s[i] < '0' || s[i] > '9'))
      return -1;
  int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59)
    return -1;
  return h * 60 + m;
}

/* The local date of @ms (a day that starts at local midnight). */
static int local_day(int64_t ms, int32_t *day)
{
  return fix_schedule_day(ORDER_TIME_ZONE, 0, ms, day, NULL);
}

/* Whether the local wall time at @ms is at or after @minute of its date. */
static int at_or_after(int64_t ms, int minute, int32_t today, bool *out)
{
  int32_t d;
  int rc = fix_schedule_day(ORDER_TIME_ZONE, (uint32_t)minute, ms, &d, NULL);
  if (rc == 0)
    *out = d == today; /* else the "day" started at @minute yesterday */
  return rc;
}

/*
 * The instant local wall time reaches @minute on @day: walk the days that
 * start at @minute from two days before until the one of @day - 1, whose
 * end is the instant wanted.
 */
static int instant_of(int32_t day, int minute, int64_t *out)
{
  int64_t t = ((int64_t)day - 2) * DAY_MS;
  for (int i = 0; i < 6; i++) {
    int32_t d;
    int64_t next;
    int rc = fix_schedule_day(ORDER_TIME_ZONE, (uint32_t)minute, t, &d, &next);
    if (rc != 0)
      return rc;
    if (d == day - 1) {
      *out = next;
      return 0;
    }
    if (d >= day)
      return -ERR_INTERNAL; /* cannot be: t starts before */
    t = next;
  }
  return -ERR_INTERNAL;
}

int order_hours(const struct cal *cal, const char *open, const char *cutoff, int64_t now_ms,
                struct order_session *out)
{
  int mo = hhmm(open), mc = hhmm(cutoff);
  if (mo < 0 || mc < 0 || mo >= mc || out == NULL)
    return -ERR_INVALID_ARGUMENT;
  int32_t today;
  bool after_open, after_cut;
  int rc = local_day(now_ms, &today);
  if (rc == 0)
    rc = at_or_after(now_ms, mo, today, &after_open);
  if (rc == 0)
    rc = at_or_after(now_ms, mc, today, &after_cut);
  if (rc != 0)
    return rc;
  struct order_session s = {0};
  bool business = cal_is_business_day(cal, today);
  s.in_hours = business && after_open && !after_cut;
  if (business && !after_cut)
    s.session_date = today; /* in hours, or before today's open */
  else if ((rc = cal_add_business_days(cal, today, 1, &s.session_date)) != 0)
    return rc;
  if ((rc = instant_of(s.session_date, mc, &s.cutoff_ms)) != 0)
    return rc;
  *out = s;
  return 0;
}
