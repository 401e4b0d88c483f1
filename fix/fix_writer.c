/*
 * FIX serialization: struct fix_writer (see fix.h).  The body is written
 * first, starting FIX_WRITER_GAP bytes into the caller's buffer with
 * "35=<type>" SOH; fix_writer_finish() then knows BodyLength, writes
 * "8=FIX.4.4" SOH "9=<len>" SOH right-aligned so that it ends exactly
 * where the body begins (no byte of the body moves), and appends
 * "10=<sum>" SOH, the sum of every byte from "8=" up to the byte before
 * "10=", modulo 256, in three digits.
 *
 * Errors are sticky: the first one (-ERR_TOO_LONG when the buffer is too
 * small, -ERR_FIX_FORMAT for an empty value, a value holding SOH, tag 0,
 * an invalid money value or a time before 1970 or after 9999) is kept,
 * later calls do nothing, and fix_writer_finish() returns it.
 *
 * Speed: no snprintf; integers are written two digits at a time from a
 * table, decimals that fit 64 bits take a fast path that never touches
 * 128-bit division, and the checksum is a plain byte sum that the
 * compiler can vectorise.
 */
#include <string.h>

#include "fix/fix_int.h"

/* Room kept for "8=FIX.4.4" SOH "9=" <up to 19 digits> SOH. */
#define FIX_WRITER_GAP 32
/* "10=" + 3 digits + SOH. */
#define TRAILER_LEN 7
/* Longest decimal of a uint64_t. */
#define U64_DIGITS 20

static const char digits2[201] = "00010203040506070809"
                                 "10111213141516171819"
                                 "20212223242526272829"
                                 "30313233343536373839"
                                 "40414243444546474849"
                                 "50515253545556575859"
                                 "60616263646566676869"
                                 "70717273747576777879"
                                 "80818283848586878889"
                                 "90919293949596979899";

/* Write @v in decimal so that it ends just before @end; returns the
   first byte written (at most U64_DIGITS bytes before @end). */
static char *u64_rev(char *end, uint64_t v)
{
  char *p = end;
  while (v >= 100) {
    unsigned r = (unsigned)(v % 100);
    v /= 100;
    p -= 2;
    memcpy(p, digits2 + 2 * r, 2);
  }
  if (v >= 10) {
    p -= 2;
    memcpy(p, digits2 + 2 * v, 2);
  } else {
    *--p = (char)('0' + v);
  }
  return p;
}

/* Write exactly @n digits of @v (zero-padded, @v < 10^@n) at @p. */
static void digits_fixed(char *p, uint64_t v, unsigned n)
{
  while (n >= 2) {
    n -= 2;
    memcpy(p + n, digits2 + 2 * (v % 100), 2);
    v /= 100;
  }
  if (n == 1)
    p[0] = (char)('0' + v % 10);
}

static void fail(struct fix_writer *w, int err)
{
  if (w->error == 0)
    w->error = err;
}

/* Start a field: "tag=" with room for @vlen value bytes and the SOH.
   Returns where the value goes, or NULL (error recorded). */
static char *field_open(struct fix_writer *w, uint32_t tag, size_t vlen)
{
  if (w->error != 0)
    return NULL;
  if (tag == 0) {
    fail(w, -ERR_FIX_FORMAT);
    return NULL;
  }
  size_t tlen = tag < 10 ? 1 : tag < 100 ? 2 : tag < 1000 ? 3 : 4;
  while (tlen < 10 && tag >= util_pow10[tlen])
    tlen++;
  if (w->cap - w->pos < tlen + 2 || w->cap - w->pos - tlen - 2 < vlen) {
    fail(w, -ERR_TOO_LONG);
    return NULL;
  }
  char *p = w->buf + w->pos;
  /* Nearly every tag has one to three digits: write those directly. */
  if (tlen == 1) {
    p[0] = (char)('0' + tag);
  } else if (tlen == 2) {
    memcpy(p, digits2 + 2 * tag, 2);
  } else if (tlen == 3) {
    p[0] = (char)('0' + tag / 100);
    memcpy(p + 1, digits2 + 2 * (tag % 100), 2);
  } else {
    u64_rev(p + tlen, tag);
  }
  p[tlen] = '=';
  return p + tlen + 1;
}

/* Close a field whose value of @vlen bytes starts at @val. */
static void field_close(struct fix_writer *w, char *val, size_t vlen)
{
  val[vlen] = FIX_SOH;
  w->pos = (size_t)(val + vlen + 1 - w->buf);
}

void fix_writer_begin(struct fix_writer *w, char *buf, size_t cap, const char *msg_type)
{
  w->buf = buf;
  w->cap = cap;
  w->pos = FIX_WRITER_GAP;
  w->body_start = FIX_WRITER_GAP;
  w->error = 0;
  if (buf == NULL || cap < FIX_WRITER_GAP + TRAILER_LEN) {
    w->pos = w->cap = 0;
    w->error = -ERR_TOO_LONG;
    return;
  }
  fix_writer_cstr(w, FIX_TAG_MSG_TYPE, msg_type);
}

void fix_writer_str(struct fix_writer *w, uint32_t tag, const char *val, size_t len)
{
  if (w->error != 0)
    return;
  if (len == 0 || val == NULL) {
    fail(w, -ERR_FIX_FORMAT);
    return;
  }
  char *p = field_open(w, tag, len);
  if (p == NULL)
    return;
  if (len <= 32) {
    /* Short values (nearly all): copy and look for SOH in one pass. */
    unsigned char soh = 0;
    for (size_t i = 0; i < len; i++) {
      p[i] = val[i];
      soh |= (unsigned char)(val[i] == FIX_SOH);
    }
    if (soh != 0) {
      fail(w, -ERR_FIX_FORMAT);
      return;
    }
  } else {
    if (memchr(val, FIX_SOH, len) != NULL) {
      fail(w, -ERR_FIX_FORMAT);
      return;
    }
    memcpy(p, val, len);
  }
  field_close(w, p, len);
}

void fix_writer_cstr(struct fix_writer *w, uint32_t tag, const char *val)
{
  if (val == NULL) {
    fail(w, -ERR_FIX_FORMAT);
    return;
  }
  if (w->error != 0)
    return;
  /* Short strings with room to spare (nearly all): find the end, copy
     and look for SOH in one pass; anything else takes the exact path. */
  enum { SHORT = 32 };
  if (w->cap - w->pos >= SHORT + 16) {
    char *p = field_open(w, tag, SHORT);
    if (p == NULL)
      return;
    size_t i = 0;
    unsigned char soh = 0;
    for (; i < SHORT && val[i] != '\0'; i++) {
      p[i] = val[i];
      soh |= (unsigned char)(val[i] == FIX_SOH);
    }
    if (i < SHORT || val[SHORT] == '\0') {
      if (i == 0 || soh != 0) {
        fail(w, -ERR_FIX_FORMAT);
        return;
      }
      field_close(w, p, i);
      return;
    }
  }
  fix_writer_str(w, tag, val, strlen(val));
}

void fix_writer_u64(struct fix_writer *w, uint32_t tag, uint64_t v)
{
  char tmp[U64_DIGITS];
  char *d = u64_rev(tmp + sizeof tmp, v);
  size_t n = (size_t)(tmp + sizeof tmp - d);
  char *p = field_open(w, tag, n);
  if (p == NULL)
    return;
  memcpy(p, d, n);
  field_close(w, p, n);
}

void fix_writer_char(struct fix_writer *w, uint32_t tag, char c)
{
  if (w->error != 0)
    return;
  if (c == FIX_SOH || c == '\0') {
    fail(w, -ERR_FIX_FORMAT);
    return;
  }
  char *p = field_open(w, tag, 1);
  if (p == NULL)
    return;
  p[0] = c;
  field_close(w, p, 1);
}

/* Text of @m without trailing fraction zeros into @out (MONEY_STR_MAX),
   for values beyond the in-place fast path; returns the length or a
   negative error. */
static int money_trimmed(struct money m, char *out)
{
  int n = money_format(m, out, MONEY_STR_MAX);
  if (n < 0)
    return n;
  if (m.scale > 0) {
    while (out[n - 1] == '0')
      n--;
    if (out[n - 1] == '.')
      n--;
  }
  return n;
}

/* Decimal digits of @v (at least 1). */
static unsigned u64_len(uint64_t v)
{
  unsigned n = 1;
  while (v >= 10000) {
    v /= 10000;
    n += 4;
  }
  return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

void fix_writer_money(struct fix_writer *w, uint32_t tag, struct money m)
{
  if (w->error != 0)
    return;
  unsigned __int128 mag = m.v < 0 ? -(unsigned __int128)m.v : (unsigned __int128)m.v;
  if (m.scale <= 19 && mag <= UINT64_MAX && m.v != -MONEY_V_MAX - 1) {
    /* Fast path, written in place: sizes first, then the digits. */
    uint64_t x = (uint64_t)mag, p10 = util_pow10[m.scale];
    uint64_t ip = x / p10, fr = x - ip * p10; /* one hardware divide, not two */
    unsigned fd = m.scale;
    if (fr == 0)
      fd = 0;
    while (fd > 0 && fr % 10 == 0) {
      fr /= 10;
      fd--;
    }
    size_t il = u64_len(ip), n = (m.v < 0) + il + (fd > 0 ? fd + 1 : 0);
    char *p = field_open(w, tag, n);
    if (p == NULL)
      return;
    char *q = p;
    if (m.v < 0)
      *q++ = '-';
    u64_rev(q + il, ip);
    q += il;
    if (fd > 0) {
      *q++ = '.';
      digits_fixed(q, fr, fd);
    }
    field_close(w, p, n);
    return;
  }
  char tmp[MONEY_STR_MAX];
  int n = money_trimmed(m, tmp);
  if (n <= 0) {
    fail(w, -ERR_FIX_FORMAT);
    return;
  }
  char *p = field_open(w, tag, (size_t)n);
  if (p == NULL)
    return;
  memcpy(p, tmp, (size_t)n);
  field_close(w, p, (size_t)n);
}

#define MS_PER_DAY 86400000LL

void fix_writer_time(struct fix_writer *w, uint32_t tag, int64_t unix_ms)
{
  if (w->error != 0)
    return;
  if (unix_ms < 0) {
    fail(w, -ERR_FIX_FORMAT);
    return;
  }
  int64_t day = unix_ms / MS_PER_DAY;
  uint64_t ms = (uint64_t)(unix_ms % MS_PER_DAY);
  if (day > INT32_MAX) {
    fail(w, -ERR_FIX_FORMAT);
    return;
  }
  /* Messages of one day share "YYYYMMDD-": each thread keeps the last. */
  static _Thread_local int64_t cached_day = -1;
  static _Thread_local char cached_date[9];
  if (day != cached_day) {
    int year;
    unsigned month, mday;
    cal_civil((int32_t)day, &year, &month, &mday);
    if (year < 1970 || year > 9999) {
      fail(w, -ERR_FIX_FORMAT);
      return;
    }
    digits_fixed(cached_date, (uint64_t)year, 4);
    digits_fixed(cached_date + 4, month, 2);
    digits_fixed(cached_date + 6, mday, 2);
    cached_date[8] = '-';
    cached_day = day;
  }
  /* YYYYMMDD-HH:MM:SS.sss */
  char *p = field_open(w, tag, 21);
  if (p == NULL)
    return;
  unsigned sec = (unsigned)(ms / 1000);
  memcpy(p, cached_date, 9);
  digits_fixed(p + 9, sec / 3600, 2);
  p[11] = ':';
  digits_fixed(p + 12, sec / 60 % 60, 2);
  p[14] = ':';
  digits_fixed(p + 15, sec % 60, 2);
  p[17] = '.';
  digits_fixed(p + 18, ms % 1000, 3);
  field_close(w, p, 21);
}

void fix_writer_raw(struct fix_writer *w, const char *fields, size_t len)
{
  if (w->error != 0 || len == 0)
    return;
  if (fields[len - 1] != FIX_SOH) {
    fail(w, -ERR_FIX_FORMAT);
    return;
  }
  if (w->cap - w->pos < len + TRAILER_LEN) {
    fail(w, -ERR_TOO_LONG);
    return;
  }
  memcpy(w->buf + w->pos, fields, len);
  w->pos += len;
}

int fix_writer_finish(struct fix_writer *w, const char **msg, size_t *len)
{
  if (w->error == 0 && w->cap - w->pos < TRAILER_LEN)
    fail(w, -ERR_TOO_LONG);
  if (w->error != 0)
    return w->error;
  static const char begin[] = "8=" FIX_BEGIN_STRING "\x01"
                              "9=";
  size_t body_len = w->pos - w->body_start;
  /* "9=<len>" SOH, right-aligned against the body. */
  char *end = w->buf + w->body_start;
  *--end = FIX_SOH;
  char *start = u64_rev(end, body_len);
  start -= sizeof begin - 1;
  memcpy(start, begin, sizeof begin - 1);
  size_t head = (size_t)(w->buf + w->body_start - start);
  unsigned sum = fix__byte_sum(start, head + body_len);
  char *t = w->buf + w->pos;
  memcpy(t, "10=", 3);
  digits_fixed(t + 3, sum, 3);
  t[6] = FIX_SOH;
  w->pos += TRAILER_LEN;
  *msg = start;
  *len = (size_t)(w->buf + w->pos - start);
  return 0;
}
