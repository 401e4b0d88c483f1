/*
 * fix_schedule.c: time zones and the daily session schedule.
 *
 * A small reader of the system tz database (/usr/share/zoneinfo/<name>,
 * RFC 8536 TZif files of version 2 or later): the 64-bit section's
 * transitions and local time types, and the footer's POSIX TZ string for
 * instants after the last transition.  The process time zone (TZ,
 * localtime_r) is never touched.  "UTC" (and "Etc/UTC", "GMT",
 * "Etc/GMT") works without the file.
 *
 * Loaded zones are immutable and kept for the life of the process in a
 * small mutex-protected table, so a lookup after the first is a string
 * compare; when the table is full a zone is loaded for the one call and
 * freed.  Leap-second records are skipped: times are POSIX times.
 *
 * Names are refused before any file is opened when they hold "..", start
 * with '/', or contain a character outside [A-Za-z0-9_+-/].
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fix/fix.h"

#define TZ_DIR       "/usr/share/zoneinfo/"
#define TZ_NAME_MAX  128
#define TZ_FILE_MAX  (1024 * 1024)
#define TZ_CACHE_MAX 32
#define DAY_S        86400

/* A POSIX TZ rule date: Jn (julian, no Feb 29), n (zero-based), Mm.w.d. */
struct tz_date {
  char kind; /* 'J', 'N' or 'M' */
  int n;     /* J: 1..365, N: 0..365 */
  int m, w, d;
  int32_t secs; /* local time of day of the change, may be negative or > 24 h */
};

/* The footer rule: standard offset and, when has_dst, the yearly changes. */
struct tz_rule {
  int32_t std_off; /* seconds east of UTC */
  int32_t dst_off;
  bool has_dst;
  struct tz_date start, end;
};

struct tz_zone {
  char name[TZ_NAME_MAX];
  size_t n_trans;
  int64_t *trans; /* ascending UTC seconds */
  uint8_t *idx;   /* type in effect from trans[i] */
  size_t n_types;
  int32_t *offs; /* utoff of each type */
  bool has_rule; /* footer present and not empty */
  struct tz_rule rule;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tz_zone *cache[TZ_CACHE_MAX];
static size_t n_cache;

static int64_t floordiv(int64_t a, int64_t b)
{
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (any year). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
  y -= m <= 2;
  int64_t era = floordiv(y, 400);
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* The year of a day number. */
static int64_t year_of(int64_t z)
{
  z += 719468;
  int64_t era = floordiv(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  return yoe + era * 400 + (m <= 2);
}

static bool is_leap(int64_t y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static void zone_free(struct tz_zone *z)
{
  if (z == NULL)
    return;
  free(z->trans);
  free(z->idx);
  free(z->offs);
  free(z);
}

/* ---- POSIX TZ string (the TZif footer) ---------------------------- */

static bool parse_tz_name(const char **p)
{
  const char *s = *p;
  if (*s == '<') {
    s++;
    while (*s != '\0' && *s != '>')
      s++;
    if (*s != '>' || s - *p < 4)
      return false;
    *p = s + 1;
    return true;
  }
  while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
    s++;
  if (s - *p < 3)
    return false;
  *p = s;
  return true;
}

/* [+-]hh[:mm[:ss]], hours up to @max_h; sets seconds (sign applied). */
static bool parse_tz_time(const char **p, int max_h, int32_t *out)
{
  const char *s = *p;
  int sign = 1;
  if (*s == '+' || *s == '-')
    sign = *s++ == '-' ? -1 : 1;
  int part[3] = {0, 0, 0};
  for (int i = 0; i < 3; i++) {
    if (i > 0) {
      if (*s != ':')
        break;
      s++;
    }
    if (*s < '0' || *s > '9')
      return false;
    int v = 0, nd = 0;
    while (*s >= '0' && *s <= '9' && nd < 3) {
      v = v * 10 + (*s++ - '0');
      nd++;
    }
    part[i] = v;
  }
  if (part[0] > max_h || part[1] > 59 || part[2] > 59)
    return false;
  *out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
  *p = s;
  return true;
}

static bool parse_int(const char **p, int lo, int hi, int *out)
{
  const char *s = *p;
  int v = 0, nd = 0;
  while (*s >= '0' && *s <= '9' && nd < 4) {
    v = v * 10 + (*s++ - '0');
    nd++;
  }
  if (nd == 0 || v < lo || v > hi)
    return false;
  *out = v;
  *p = s;
  return true;
}

static bool parse_tz_date(const char **p, struct tz_date *d)
{
  const char *s = *p;
  if (*s == 'J') {
    s++;
    d->kind = 'J';
    if (!parse_int(&s, 1, 365, &d->n))
      return false;
  } else if (*s == 'M') {
    s++;
    d->kind = 'M';
    if (!parse_int(&s, 1, 12, &d->m) || *s++ != '.' || !parse_int(&s, 1, 5, &d->w) || *s++ != '.' ||
        !parse_int(&s, 0, 6, &d->d))
      return false;
  } else {
    d->kind = 'N';
    if (!parse_int(&s, 0, 365, &d->n))
      return false;
  }
  d->secs = 2 * 3600;
  if (*s == '/') {
    s++;
    if (!parse_tz_time(&s, 167, &d->secs))
      return false;
  }
  *p = s;
  return true;
}

/* Parse the footer @s (NUL-terminated, without newlines). */
static bool parse_rule(const char *s, struct tz_rule *r)
{
  memset(r, 0, sizeof *r);
  int32_t off;
  if (!parse_tz_name(&s) || !parse_tz_time(&s, 24, &off))
    return false;
  r->std_off = -off; /* POSIX counts west positive */
  if (*s == '\0')
    return true;
  if (!parse_tz_name(&s))
    return false;
  r->has_dst = true;
  r->dst_off = r->std_off + 3600;
  if (*s != ',' && *s != '\0') {
    if (!parse_tz_time(&s, 24, &off))
      return false;
    r->dst_off = -off;
  }
  if (*s == '\0') { /* no rule given: the POSIX default, US rules */
    r->start = (struct tz_date){'M', 0, 3, 2, 0, 7200};
    r->end = (struct tz_date){'M', 0, 11, 1, 0, 7200};
    return true;
  }
  if (*s++ != ',' || !parse_tz_date(&s, &r->start) || *s++ != ',' || !parse_tz_date(&s, &r->end))
    return false;
  return *s == '\0';
}

/* Day number of rule date @d in year @y. */
static int64_t rule_day(const struct tz_date *d, int64_t y)
{
  int64_t jan1 = days_from_civil(y, 1, 1);
  if (d->kind == 'J')
    return jan1 + d->n - 1 + (is_leap(y) && d->n >= 60 ? 1 : 0);
  if (d->kind == 'N')
    return jan1 + d->n;
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int len = mdays[d->m - 1] + (d->m == 2 && is_leap(y) ? 1 : 0);
  int64_t first = days_from_civil(y, d->m, 1);
  int64_t wd = (first + 4) - floordiv(first + 4, 7) * 7; /* 0 = Sunday (1970-01-01: Thursday) */
  int64_t day = first + (d->d - wd + 7) % 7 + (int64_t)(d->w - 1) * 7;
  while (day >= first + len)
    day -= 7;
  return day;
}

/* UTC instants at which DST starts and ends in year @y. */
static void rule_changes(const struct tz_rule *r, int64_t y, int64_t *start, int64_t *end)
{
  *start = rule_day(&r->start, y) * DAY_S + r->start.secs - r->std_off;
  *end = rule_day(&r->end, y) * DAY_S + r->end.secs - r->dst_off;
}

static int32_t rule_offset(const struct tz_rule *r, int64_t t)
{
  if (!r->has_dst)
    return r->std_off;
  int64_t y = year_of(floordiv(t + r->std_off, DAY_S));
  int64_t start, end;
  rule_changes(r, y, &start, &end);
  bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
  return dst ? r->dst_off : r->std_off;
}

/* The first change of the rule strictly after @t (INT64_MAX: none). */
static int64_t rule_next(const struct tz_rule *r, int64_t t)
{
  if (!r->has_dst)
    return INT64_MAX;
  int64_t y = year_of(floordiv(t, DAY_S)), best = INT64_MAX;
  for (int64_t k = y - 1; k <= y + 1; k++) {
    int64_t a, b;
    rule_changes(r, k, &a, &b);
    if (a > t && a < best)
      best = a;
    if (b > t && b < best)
      best = b;
  }
  return best;
}

/* ---- Zone lookups ------------------------------------------------- */

static int32_t zone_offset(const struct tz_zone *z, int64_t t)
{
  if (z->n_trans == 0 || t < z->trans[0]) {
    if (z->n_trans == 0 && z->has_rule)
      return rule_offset(&z->rule, t);
    return z->offs[0];
  }
  if (t >= z->trans[z->n_trans - 1] && z->has_rule)
    return rule_offset(&z->rule, t);
  size_t lo = 0, hi = z->n_trans; /* last i with trans[i] <= t */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (z->trans[mid] <= t)
      lo = mid;
    else
      hi = mid;
  }
  return z->offs[z->idx[lo]];
}

/* The first instant after @t where the offset may change (INT64_MAX: none). */
static int64_t zone_next(const struct tz_zone *z, int64_t t)
{
  if (z->n_trans > 0 && t < z->trans[z->n_trans - 1]) {
    size_t lo = 0, hi = z->n_trans - 1; /* first i with trans[i] > t */
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (z->trans[mid] > t)
        hi = mid;
      else
        lo = mid + 1;
    }
    return z->trans[lo];
  }
  return z->has_rule ? rule_next(&z->rule, t) : INT64_MAX;
}

/*
 * The first instant whose local wall clock reads @wall (local seconds
 * since the epoch) or, inside a gap, the first instant after the gap:
 * the least t with t + offset(t) >= wall, found interval by interval.
 */
static int64_t zone_instant(const struct tz_zone *z, int64_t wall)
{
  int64_t t = wall - 30 * 3600; /* offsets stay within +-26 h: wall(t) < wall */
  for (int i = 0; i < 64; i++) {
    int32_t off = zone_offset(z, t);
    int64_t b = zone_next(z, t);
    int64_t cand = wall - off > t ? wall - off : t;
    if (cand < b)
      return cand;
    t = b;
  }
  return wall - zone_offset(z, wall); /* unreachable with real data */
}

/* ---- TZif files --------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Counts of a TZif header at @p (44 bytes). */
struct tzif_hdr {
  uint32_t isut, isstd, leap, time, type, chars;
};

static bool read_hdr(const unsigned char *p, size_t len, bool check, struct tzif_hdr *h)
{
  if (len < 44 || memcmp(p, "TZif", 4) != 0)
    return false;
  h->isut = be32(p + 20);
  h->isstd = be32(p + 24);
  h->leap = be32(p + 28);
  h->time = be32(p + 32);
  h->type = be32(p + 36);
  h->chars = be32(p + 40);
  if (!check) /* the version 1 block is only skipped */
    return h->time <= 100000 && h->type <= 256 && h->leap <= 100000 && h->chars <= 100000 &&
           h->isut <= 256 && h->isstd <= 256;
  return h->type >= 1 && h->type <= 256 && h->time <= 100000 && h->leap <= 100000 &&
         h->chars <= 100000 && (h->isut == 0 || h->isut == h->type) &&
         (h->isstd == 0 || h->isstd == h->type);
}

static size_t block_size(const struct tzif_hdr *h, size_t tsize)
{
  return (size_t)h->time * tsize + h->time + (size_t)h->type * 6 + h->chars +
         (size_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

static int parse_tzif(const unsigned char *p, size_t len, struct tz_zone *z)
{
  struct tzif_hdr h;
  if (!read_hdr(p, len, false, &h) || p[4] < '2')
    return -ERR_FIX_TZ;
  size_t skip = 44 + block_size(&h, 4);
  if (skip > len || !read_hdr(p + skip, len - skip, true, &h))
    return -ERR_FIX_TZ;
  const unsigned char *d = p + skip + 44;
  size_t rest = len - skip - 44;
  if (block_size(&h, 8) > rest)
    return -ERR_FIX_TZ;
  z->n_trans = h.time;
  z->n_types = h.type;
  z->trans = malloc((h.time + 1) * sizeof *z->trans);
  z->idx = malloc(h.time + 1);
  z->offs = malloc(h.type * sizeof *z->offs);
  if (z->trans == NULL || z->idx == NULL || z->offs == NULL)
    return -ERR_NOMEM;
  for (size_t i = 0; i < h.time; i++) {
    z->trans[i] = be64(d + i * 8);
    if (i > 0 && z->trans[i] <= z->trans[i - 1])
      return -ERR_FIX_TZ;
  }
  d += (size_t)h.time * 8;
  for (size_t i = 0; i < h.time; i++) {
    z->idx[i] = d[i];
    if (d[i] >= h.type)
      return -ERR_FIX_TZ;
  }
  d += h.time;
  for (size_t i = 0; i < h.type; i++) {
    int32_t off = (int32_t)be32(d + i * 6);
    if (off <= -26 * 3600 || off >= 26 * 3600 || d[i * 6 + 4] > 1)
      return -ERR_FIX_TZ;
    z->offs[i] = off;
  }
  d += block_size(&h, 8) - (size_t)h.time * 9;
  rest -= block_size(&h, 8);
  /* Footer: "\n" TZ string "\n". */
  if (rest < 2 || d[0] != '\n')
    return -ERR_FIX_TZ;
  const unsigned char *nl = memchr(d + 1, '\n', rest - 1);
  if (nl == NULL || (size_t)(nl - d - 1) >= 128)
    return -ERR_FIX_TZ;
  char footer[128];
  memcpy(footer, d + 1, (size_t)(nl - d - 1));
  footer[nl - d - 1] = '\0';
  if (footer[0] != '\0') {
    if (!parse_rule(footer, &z->rule))
      return -ERR_FIX_TZ;
    z->has_rule = true;
  }
  return 0;
}

static bool name_ok(const char *tz)
{
  size_t n = strlen(tz);
  if (n == 0 || n >= TZ_NAME_MAX || tz[0] == '/' || strstr(tz, "..") != NULL)
    return false;
  for (size_t i = 0; i < n; i++) {
    char ch = tz[i];
    bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '+' || ch == '-' || ch == '/';
    if (!ok)
      return false;
  }
  return true;
}

static bool is_utc_name(const char *tz)
{
  return strcmp(tz, "UTC") == 0 || strcmp(tz, "Etc/UTC") == 0 || strcmp(tz, "GMT") == 0 ||
         strcmp(tz, "Etc/GMT") == 0;
}

/* Load @tz from the tz database (or the built-in UTC). */
static int zone_load(const char *tz, struct tz_zone **out)
{
  struct tz_zone *z = calloc(1, sizeof *z);
  if (z == NULL)
    return -ERR_NOMEM;
  util_strlcpy(z->name, tz, sizeof z->name);
  char path[sizeof TZ_DIR + TZ_NAME_MAX];
  snprintf(path, sizeof path, "%s%s", TZ_DIR, tz);
  char *buf = NULL;
  size_t len = 0;
  int rc = util_read_file(path, TZ_FILE_MAX, &buf, &len);
  if (rc == 0) {
    rc = parse_tzif((const unsigned char *)buf, len, z);
    free(buf);
    if (rc == -ERR_FIX_TZ)
      log_msg(LOGL_WARN, "fix", "time zone %s: not a TZif v2+ file", tz);
  } else if (rc != -ERR_NOMEM && is_utc_name(tz)) {
    z->n_types = 1;
    z->offs = calloc(1, sizeof *z->offs);
    rc = z->offs != NULL ? 0 : -ERR_NOMEM;
  } else if (rc != -ERR_NOMEM) {
    rc = -ERR_FIX_TZ;
  }
  if (rc != 0) {
    zone_free(z);
    return rc;
  }
  *out = z;
  return 0;
}

/*
 * The zone @tz, cached.  *tmp receives a zone the caller must free (the
 * cache was full), else NULL.
 */
static int zone_get(const char *tz, const struct tz_zone **out, struct tz_zone **tmp)
{
  *tmp = NULL;
  pthread_mutex_lock(&cache_lock);
  for (size_t i = 0; i < n_cache; i++) {
    if (strcmp(cache[i]->name, tz) == 0) {
      *out = cache[i];
      pthread_mutex_unlock(&cache_lock);
      return 0;
    }
  }
  pthread_mutex_unlock(&cache_lock);
  struct tz_zone *z;
  int rc = zone_load(tz, &z);
  if (rc != 0)
    return rc;
  pthread_mutex_lock(&cache_lock);
  for (size_t i = 0; i < n_cache; i++) {
    if (strcmp(cache[i]->name, tz) == 0) { /* another thread was quicker */
      *out = cache[i];
      pthread_mutex_unlock(&cache_lock);
      zone_free(z);
      return 0;
    }
  }
  if (n_cache < TZ_CACHE_MAX)
    cache[n_cache++] = z;
  else
    *tmp = z;
  *out = z;
  pthread_mutex_unlock(&cache_lock);
  return 0;
}

int fix_schedule_day(const char *tz, uint32_t reset_minute, int64_t unix_ms, int32_t *day,
                     int64_t *next_reset_ms)
{
  if (tz == NULL || !name_ok(tz))
    return -ERR_FIX_TZ;
  /* 10^17 ms is about three million years: no overflow below. */
  if (reset_minute >= 24 * 60 || unix_ms < -100000000000000000LL || unix_ms > 100000000000000000LL)
    return -ERR_INVALID_ARGUMENT;
  const struct tz_zone *z;
  struct tz_zone *tmp;
  int rc = zone_get(tz, &z, &tmp);
  if (rc != 0)
    return rc;
  int64_t t = floordiv(unix_ms, 1000);
  int64_t local_ms = unix_ms + (int64_t)zone_offset(z, t) * 1000;
  int64_t d = floordiv(local_ms - (int64_t)reset_minute * 60000, (int64_t)DAY_S * 1000);
  /* The reset on the following local date; with a repeated hour the
     first reading of the wall time can lie behind us: take the next. */
  int64_t next = 0;
  for (int64_t k = d + 1; k <= d + 3; k++) {
    next = zone_instant(z, k * DAY_S + (int64_t)reset_minute * 60);
    if (next * 1000 > unix_ms)
      break;
  }
  zone_free(tmp);
  if (d < INT32_MIN + 1 || d > INT32_MAX)
    return -ERR_INVALID_ARGUMENT;
  *day = (int32_t)d;
  if (next_reset_ms != NULL)
    *next_reset_ms = next * 1000;
  return 0;
}
