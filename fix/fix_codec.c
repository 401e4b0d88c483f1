/*
 * The FIX 4.4 framing parser: fix_parse() frames and tokenises one whole
 * message, the fix_msg_* accessors read typed values out of it, and
 * struct fix_stream cuts messages out of a byte stream.
 *
 * Framing.  A frame is "8=FIX.4.4" SOH "9=" <digits> SOH <body> "10=" <3
 * digits> SOH, where the body is exactly BodyLength bytes, starts with
 * "35=" and ends with an SOH; CheckSum is the sum of every byte before
 * "10=" mod 256.  BodyLength has no sign and no leading zero, and a whole
 * frame is at most FIX_MSG_MAX bytes.  Tags are decimal 1..2^31-1 without
 * a sign or leading zero; a value runs from the first '=' to the next SOH
 * and may be empty.  Checks run in this order, and the first failure
 * names the garble: BeginString, BodyLength (second field not 9 is
 * ORDER), frame length and "10=" position, CheckSum format and value,
 * then the fields (FIELD, ORDER when 35 is not third, TOO_MANY).
 *
 * Parsing makes one pass over the body (a byte loop for each SOH, memchr
 * for values over 64 bytes) after a word-at-a-time byte sum for the
 * CheckSum; it never allocates and never copies: fields are offsets into
 * the caller's frame.
 *
 * Streams.  The buffer holds cap + 1 bytes.  Invariant: 1 <= start <=
 * end <= cap + 1, and buf[start - 1] is the byte received just before
 * buf[start] (an SOH sentinel after init).  A frame may begin only where
 * "8=FIX" follows an SOH, so buf[start - 1] == SOH says whether start
 * itself may begin one; compaction keeps that byte.  fix_stream_next()
 * never leaves more than one partial frame (at most FIX_MSG_MAX bytes)
 * or a 5-byte partial "8=FIX" pending, so a caller that drains the
 * stream after each read always finds room.  Decisions depend only on
 * the bytes, never on how they were split into reads, so the messages
 * delivered and garbled_bytes are the same for every split.
 */
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "fix/fix_int.h"

/* "8=FIX.4.4" SOH */
#define BEGIN     "8=" FIX_BEGIN_STRING "\x01"
#define BEGIN_LEN (sizeof BEGIN - 1)
/* What starts a frame in a stream. */
#define MAGIC     "8=FIX"
#define MAGIC_LEN (sizeof MAGIC - 1)
/* "10=" 3 digits SOH */
#define TRAILER_LEN 7u
/* BodyLength digits: FIX_MSG_MAX has 5, one more still reads as too large. */
#define BODY_LENGTH_DIGITS 6u
#define TAG_MAX            2147483647u

static inline bool is_digit(char c)
{
  return (unsigned char)(c - '0') < 10;
}

/*
 * Parse the header "8=FIX.4.4" SOH "9=" digits SOH of @p (@n bytes
 * available).  Returns 0 with *body_len and *hdr_len (bytes up to and
 * including the SOH after 9=), 1 when @n bytes are a valid but incomplete
 * header, or -1 with *why.
 */
static int parse_header(const char *p, size_t n, size_t *body_len, size_t *hdr_len,
                        enum fix_garble *why)
{
  size_t m = n < BEGIN_LEN ? n : BEGIN_LEN;
  if (memcmp(p, BEGIN, m) != 0) {
    *why = m >= 2 && p[0] == '8' && p[1] == '=' ? FIX_GARBLE_BEGIN_STRING : FIX_GARBLE_ORDER;
    return -1;
  }
  if ((n > BEGIN_LEN && p[BEGIN_LEN] != '9') || (n > BEGIN_LEN + 1 && p[BEGIN_LEN + 1] != '=')) {
    *why = FIX_GARBLE_ORDER;
    return -1;
  }
  if (n < BEGIN_LEN + 2)
    return 1;
  size_t i = BEGIN_LEN + 2, v = 0;
  for (;; i++) {
    if (i >= n)
      return 1;
    char c = p[i];
    if (c == FIX_SOH)
      break;
    if (!is_digit(c) || i - (BEGIN_LEN + 2) >= BODY_LENGTH_DIGITS ||
        (c == '0' && i == BEGIN_LEN + 2)) {
      *why = FIX_GARBLE_BODY_LENGTH;
      return -1;
    }
    v = v * 10 + (size_t)(c - '0');
  }
  /* No digits, or a frame longer than allowed. */
  if (i == BEGIN_LEN + 2 || v > FIX_MSG_MAX - (i + 1) - TRAILER_LEN) {
    *why = FIX_GARBLE_BODY_LENGTH;
    return -1;
  }
  *body_len = v;
  *hdr_len = i + 1;
  return 0;
}

unsigned fix__byte_sum(const char *p, size_t n)
{
  uint64_t acc = 0;
  size_t i = 0;
#ifdef __SSE2__
  /* psadbw adds sixteen bytes into two 64-bit lanes per instruction. */
  __m128i zero = _mm_setzero_si128(), lanes = _mm_setzero_si128();
  for (; n - i >= 16; i += 16)
    lanes = _mm_add_epi64(lanes, _mm_sad_epu8(_mm_loadu_si128((const __m128i *)(p + i)), zero));
  acc = (uint64_t)_mm_cvtsi128_si64(lanes) +
        (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(lanes, lanes));
#else
  const uint64_t lo = 0x00ff00ff00ff00ffULL;
  while (n - i >= 8) {
    /* Four 16-bit lanes gain at most 510 per word: fold before 128 words. */
    size_t stop = i + 8 * 120;
    uint64_t lanes = 0;
    if (stop > n - 7)
      stop = n - 7;
    for (; i < stop; i += 8) {
      uint64_t w;
      memcpy(&w, p + i, 8);
      lanes += (w & lo) + ((w >> 8) & lo);
    }
    acc += (lanes & 0xffff) + ((lanes >> 16) & 0xffff) + ((lanes >> 32) & 0xffff) + (lanes >> 48);
  }
#endif
  for (; i < n; i++)
    acc += (unsigned char)p[i];
  return (unsigned)(acc & 0xff);
}

#ifndef __SSE2__
/*
 * The next SOH from @p.  The body ends with one, so the loop stops inside
 * the frame.  Values are mostly a few bytes: a plain loop measured faster
 * here than memchr or an eight-bytes-at-a-time search (99 ns against 108
 * and 117 for a 272-byte ExecutionReport).  Only where SSE2 is missing:
 * otherwise fix_parse() finds every SOH sixteen bytes at a time.
 */
static inline const char *find_soh(const char *p)
{
  while (*p != FIX_SOH)
    p++;
  return p;
}
#endif

/*
 * Record the field "tag=value" in [@p, @soh): at most 10 tag digits, no
 * leading zero, then '=' (the SOH is not a digit, so the tag loop stays
 * inside the field); the third field must be 35.  Returns why it is
 * garbled, or FIX_GARBLE_NONE.
 */
static inline enum fix_garble take_field(struct fix_msg *msg, const char *buf, const char *p,
                                         const char *soh, uint32_t *nf)
{
  const char *t = p;
  uint64_t t64;
  /* Most tags have one to three digits: read those without a loop. */
  if (is_digit(p[0]) && p[1] == '=') {
    t64 = (uint64_t)(p[0] - '0');
    p += 1;
  } else if (is_digit(p[0]) && is_digit(p[1]) && p[2] == '=') {
    t64 = (uint64_t)(p[0] - '0') * 10 + (uint64_t)(p[1] - '0');
    p += 2;
  } else {
    t64 = 0;
    while (is_digit(*p) && p - t < 11) {
      t64 = t64 * 10 + (uint64_t)(*p - '0');
      p++;
    }
  }
  if (p == t || *p != '=' || *t == '0' || t64 > TAG_MAX)
    return FIX_GARBLE_FIELD;
  uint32_t tag = (uint32_t)t64;
  p++;
  if (*nf == 2 && tag != FIX_TAG_MSG_TYPE)
    return FIX_GARBLE_ORDER;
  if (*nf >= FIX_FIELDS_MAX - 1) /* room for 10 is kept */
    return FIX_GARBLE_TOO_MANY;
  if (tag < FIX_INDEX_TAGS && msg->first[tag] == 0)
    msg->first[tag] = (uint8_t)(*nf < 254 ? *nf + 1 : 255);
  msg->fields[(*nf)++] = (struct fix_field){tag, (uint32_t)(p - buf), (uint32_t)(soh - p)};
  return FIX_GARBLE_NONE;
}

int fix_parse(const char *buf, size_t len, struct fix_msg *msg, enum fix_garble *why)
{
  enum fix_garble dummy;
  size_t body_len, hdr_len;
  if (why == NULL)
    why = &dummy;
  if (len > FIX_MSG_MAX) {
    *why = FIX_GARBLE_BODY_LENGTH;
    return -ERR_FIX_GARBLED;
  }
  int rc = parse_header(buf, len, &body_len, &hdr_len, why);
  if (rc != 0) {
    if (rc > 0) /* the whole input is a header at most */
      *why = len < BEGIN_LEN ? FIX_GARBLE_BEGIN_STRING : FIX_GARBLE_BODY_LENGTH;
    return -ERR_FIX_GARBLED;
  }
  size_t body_end = hdr_len + body_len;
  if (len != body_end + TRAILER_LEN || body_len == 0 || buf[body_end - 1] != FIX_SOH ||
      memcmp(buf + body_end, "10=", 3) != 0) {
    *why = FIX_GARBLE_BODY_LENGTH;
    return -ERR_FIX_GARBLED;
  }
  const char *ck = buf + body_end + 3;
  if (!is_digit(ck[0]) || !is_digit(ck[1]) || !is_digit(ck[2]) || ck[3] != FIX_SOH ||
      (unsigned)((ck[0] - '0') * 100 + (ck[1] - '0') * 10 + (ck[2] - '0')) !=
          fix__byte_sum(buf, body_end)) {
    *why = FIX_GARBLE_CHECKSUM;
    return -ERR_FIX_GARBLED;
  }

  struct fix_field *f = msg->fields;
  uint8_t *first = msg->first;
  memset(first, 0, sizeof msg->first);
  first[FIX_TAG_BEGIN_STRING] = 1;
  first[FIX_TAG_BODY_LENGTH] = 2;
  f[0] = (struct fix_field){FIX_TAG_BEGIN_STRING, 2, (uint32_t)(BEGIN_LEN - 3)};
  f[1] = (struct fix_field){FIX_TAG_BODY_LENGTH, (uint32_t)(BEGIN_LEN + 2),
                            (uint32_t)(hdr_len - 1 - (BEGIN_LEN + 2))};
  uint32_t nf = 2;
  enum fix_garble g = FIX_GARBLE_NONE;
  const char *fs = buf + hdr_len; /* start of the current field */
#ifdef __SSE2__
  /* Sixteen bytes at a time into a bitmask of SOH positions, then one
     field per set bit.  A load may run into the trailer ("10=xxx" SOH,
     always present) but never past the frame. */
  const __m128i sohv = _mm_set1_epi8(FIX_SOH);
  const char *body = fs;
  for (size_t c = 0; c < body_len && g == FIX_GARBLE_NONE; c += 16) {
    unsigned mask = 0;
    size_t left = body_len - c;
    if (left + TRAILER_LEN >= 16) {
      mask = (unsigned)_mm_movemask_epi8(
          _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(body + c)), sohv));
      if (left < 16)
        mask &= (1u << left) - 1;
    } else {
      for (size_t k = 0; k < left; k++)
        mask |= (unsigned)(body[c + k] == FIX_SOH) << k;
    }
    while (mask != 0 && g == FIX_GARBLE_NONE) {
      const char *soh = body + c + __builtin_ctz(mask);
      mask &= mask - 1;
      g = take_field(msg, buf, fs, soh, &nf);
      fs = soh + 1;
    }
  }
#else
  /* buf[body_end - 1] is an SOH, so each scan stops inside the body. */
  for (const char *end = buf + body_end; fs < end && g == FIX_GARBLE_NONE;) {
    const char *soh = find_soh(fs);
    g = take_field(msg, buf, fs, soh, &nf);
    fs = soh + 1;
  }
#endif
  if (g != FIX_GARBLE_NONE) {
    *why = g;
    return -ERR_FIX_GARBLED;
  }
  if (first[FIX_TAG_CHECKSUM] == 0)
    first[FIX_TAG_CHECKSUM] = (uint8_t)(nf < 254 ? nf + 1 : 255);
  f[nf++] = (struct fix_field){FIX_TAG_CHECKSUM, (uint32_t)(body_end + 3), 3};

  msg->frame = buf;
  msg->len = len;
  msg->msg_type = buf + f[2].off;
  msg->msg_type_len = f[2].len;
  msg->n_fields = nf;
  return 0;
}

void fix_msg_index(struct fix_msg *msg)
{
  memset(msg->first, 0, sizeof msg->first);
  for (uint32_t i = 0; i < msg->n_fields; i++) {
    uint32_t t = msg->fields[i].tag;
    if (t < FIX_INDEX_TAGS && msg->first[t] == 0)
      msg->first[t] = (uint8_t)(i < 254 ? i + 1 : 255);
  }
}

const struct fix_field *fix_msg_find(const struct fix_msg *msg, uint32_t tag)
{
  uint32_t from = 0;
  if (tag < FIX_INDEX_TAGS) {
    if (msg->first[tag] == 0)
      return NULL;
    if (msg->first[tag] < 255)
      return &msg->fields[msg->first[tag] - 1];
    from = 254;
  }
  for (uint32_t i = from; i < msg->n_fields; i++)
    if (msg->fields[i].tag == tag)
      return &msg->fields[i];
  return NULL;
}

int fix_msg_str(const struct fix_msg *msg, uint32_t tag, const char **val, size_t *len)
{
  const struct fix_field *f = fix_msg_find(msg, tag);
  if (f == NULL)
    return -ERR_FIX_MISSING;
  *val = msg->frame + f->off;
  *len = f->len;
  return 0;
}

int fix_msg_copy(const struct fix_msg *msg, uint32_t tag, char *buf, size_t size)
{
  const struct fix_field *f = fix_msg_find(msg, tag);
  if (f == NULL)
    return -ERR_FIX_MISSING;
  if (f->len >= size)
    return -ERR_TOO_LONG;
  memcpy(buf, msg->frame + f->off, f->len);
  buf[f->len] = '\0';
  return 0;
}

/* Digits only, 1..@max_digits of them (leading zeros count). */
static int parse_digits(const char *s, size_t len, size_t max_digits, uint64_t *out)
{
  uint64_t v = 0;
  if (len == 0 || len > max_digits)
    return -ERR_FIX_FORMAT;
  for (size_t i = 0; i < len; i++) {
    if (!is_digit(s[i]))
      return -ERR_FIX_FORMAT;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  *out = v;
  return 0;
}

int fix_msg_u64(const struct fix_msg *msg, uint32_t tag, uint64_t *out)
{
  const char *s;
  size_t len;
  int rc = fix_msg_str(msg, tag, &s, &len);
  if (rc != 0)
    return rc;
  return parse_digits(s, len, 18, out);
}

/*
 * FIX decimals may carry leading zeros ("00023.5"), trailing fraction
 * zeros ("1.500") and a bare trailing point ("100."); money_parse() takes
 * none of them, so they are dropped first, into a local copy.  Anything
 * else (sign '+', exponent, spaces) is left for money_parse() to refuse.
 */
/*
 * The common case in one pass: [-]digits[.digits] whose significant
 * digits fit 64 bits and whose scale factor fits 10^19.  Returns 0 or
 * -ERR_FIX_FORMAT exactly as the general path would, or 1 to say "use
 * the general path" (long or unusual values).  The fuzz harness checks
 * that the two agree.
 */
static int money_fast(const char *s, size_t len, unsigned scale, struct money *out)
{
  size_t i = 0;
  bool neg = false, dot = false;
  unsigned int_digits = 0, frac = 0, zeros = 0;
  uint64_t v = 0;
  if (scale > 19 || len == 0 || len > 40)
    return 1;
  if (s[0] == '-') {
    neg = true;
    i = 1;
  }
  for (; i < len; i++) {
    char c = s[i];
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (!is_digit(c))
      return -ERR_FIX_FORMAT;
    unsigned d = (unsigned)(c - '0');
    if (!dot) {
      int_digits++;
      if (v > (UINT64_MAX - d) / 10)
        return 1;
      v = v * 10 + d;
    } else if (d == 0) {
      zeros++; /* kept only if a non-zero digit follows */
    } else {
      frac += zeros + 1;
      if (frac > scale)
        return -ERR_FIX_FORMAT;
      uint64_t m = util_pow10[zeros + 1];
      if (v > (UINT64_MAX - d) / m)
        return 1;
      v = v * m + d;
      zeros = 0;
    }
  }
  if (int_digits == 0) /* "", "-", ".5", "-." */
    return -ERR_FIX_FORMAT;
  unsigned __int128 r = (unsigned __int128)v * util_pow10[scale - frac];
  if (r > (unsigned __int128)MONEY_V_MAX)
    return 1;
  out->v = neg ? -(__int128)r : (__int128)r;
  out->scale = (uint8_t)scale;
  return 0;
}

int fix_msg_money(const struct fix_msg *msg, uint32_t tag, unsigned scale, struct money *out)
{
  const char *s;
  size_t len;
  int rc = fix_msg_str(msg, tag, &s, &len);
  if (rc != 0)
    return rc;
  rc = money_fast(s, len, scale, out);
  return rc <= 0 ? rc : fix__money_general(s, len, scale, out);
}

int fix__money_fast(const char *s, size_t len, unsigned scale, struct money *out)
{
  return money_fast(s, len, scale, out);
}

/* The general path: any length, any scale, through money_parse(). */
int fix__money_general(const char *s, size_t len, unsigned scale, struct money *out)
{
  char t[MONEY_PARSE_MAX];
  if (len == 0 || len > sizeof t)
    return -ERR_FIX_FORMAT;
  size_t i = 0, n = 0;
  if (s[0] == '-')
    t[n++] = s[i++];
  while (i + 1 < len && s[i] == '0' && is_digit(s[i + 1]))
    i++;
  memcpy(t + n, s + i, len - i);
  n += len - i;
  const char *dot = memchr(t, '.', n);
  if (dot != NULL) {
    size_t d = (size_t)(dot - t);
    bool digits = true;
    for (size_t k = d + 1; k < n && digits; k++)
      digits = is_digit(t[k]);
    if (digits && d > 0 && is_digit(t[d - 1])) {
      while (n > d + 1 && t[n - 1] == '0')
        n--;
      if (n == d + 1)
        n = d;
    }
  }
  struct money m;
  if (money_parse(t, n, scale, MONEY_PARSE_NEGATIVE, &m) != 0)
    return -ERR_FIX_FORMAT;
  *out = m;
  return 0;
}

/* Two digits at @s as a number, or -1. */
static int two(const char *s)
{
  if (!is_digit(s[0]) || !is_digit(s[1]))
    return -1;
  return (s[0] - '0') * 10 + (s[1] - '0');
}

int fix_msg_time(const struct fix_msg *msg, uint32_t tag, int64_t *unix_ms)
{
  const char *s;
  size_t len;
  uint64_t year, ms = 0;
  int32_t day;
  int rc = fix_msg_str(msg, tag, &s, &len);
  if (rc != 0)
    return rc;
  if (len != 17 && len != 21 && len != 24 && len != 27)
    return -ERR_FIX_FORMAT;
  if (parse_digits(s, 4, 4, &year) != 0 || s[8] != '-' || s[11] != ':' || s[14] != ':')
    return -ERR_FIX_FORMAT;
  int mon = two(s + 4), mday = two(s + 6), hh = two(s + 9), mm = two(s + 12), ss = two(s + 15);
  /* Second 60 is a leap second, as FIX allows; it reads as the next minute. */
  if (mon < 0 || mday < 0 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
    return -ERR_FIX_FORMAT;
  /* Microseconds and nanoseconds (as fix_validate accepts) are cut to milliseconds. */
  if (len > 17 && (s[17] != '.' || parse_digits(s + 18, 3, 3, &ms) != 0))
    return -ERR_FIX_FORMAT;
  for (size_t i = 21; i < len; i++)
    if (s[i] < '0' || s[i] > '9')
      return -ERR_FIX_FORMAT;
  if (cal_day((int)year, (unsigned)mon, (unsigned)mday, &day) != 0)
    return -ERR_FIX_FORMAT;
  *unix_ms = (((int64_t)day * 24 + hh) * 60 + mm) * 60000 + (int64_t)ss * 1000 + (int64_t)ms;
  return 0;
}

bool fix_msg_is(const struct fix_msg *msg, const char *type)
{
  size_t n = strlen(type);
  return n == msg->msg_type_len && memcmp(msg->msg_type, type, n) == 0;
}

/* ------------------------------------------------------------------ */
/* Streams                                                             */
/* ------------------------------------------------------------------ */

int fix_stream_init(struct fix_stream *s)
{
  s->cap = 2 * (size_t)FIX_MSG_MAX;
  s->buf = malloc(s->cap + 1);
  if (s->buf == NULL)
    return -ERR_NOMEM;
  s->buf[0] = FIX_SOH;
  s->start = s->end = 1;
  s->garbled_bytes = 0;
  return 0;
}

void fix_stream_free(struct fix_stream *s)
{
  if (s == NULL)
    return;
  free(s->buf);
  s->buf = NULL;
  s->start = s->end = 0;
}

char *fix_stream_space(struct fix_stream *s, size_t *room)
{
  /* Keep buf[start - 1]: it says whether start may begin a frame. */
  if (s->start > 1 && (s->start == s->end || s->cap + 1 - s->end < FIX_MSG_MAX)) {
    size_t keep = s->end - s->start + 1;
    memmove(s->buf, s->buf + s->start - 1, keep);
    s->start = 1;
    s->end = keep;
  }
  if (s->end == s->cap + 1) {
    /* Only a caller that reads without draining comes here. */
    log_bug("fix", "fix_stream full: %zu bytes dropped", s->end - s->start);
    s->garbled_bytes += s->end - s->start;
    s->buf[0] = s->buf[s->end - 1];
    s->start = s->end = 1;
  }
  *room = s->cap + 1 - s->end;
  return s->buf + s->end;
}

void fix_stream_commit(struct fix_stream *s, size_t n)
{
  s->end += n;
}

/*
 * Offset of the first place at or after @from (in p[0..n)) where a frame
 * may begin: the previous byte is an SOH and the bytes there are "8=FIX"
 * or, at the end of the data, a prefix of it.  Returns n when there is
 * none: every byte can go.  p[-1] must be readable.
 */
static size_t find_begin(const char *p, size_t n, size_t from)
{
  size_t i = from;
  if (i > 0 && i <= n) /* look for the SOH from i - 1 on */
    i--;
  else if (i == 0) {
    if (p[-1] == FIX_SOH) {
      size_t m = n < MAGIC_LEN ? n : MAGIC_LEN;
      if (memcmp(p, MAGIC, m) == 0)
        return 0;
    }
  }
  while (i < n) {
    const char *soh = memchr(p + i, FIX_SOH, n - i);
    if (soh == NULL)
      return n;
    size_t c = (size_t)(soh - p) + 1;
    size_t m = n - c < MAGIC_LEN ? n - c : MAGIC_LEN;
    if (c >= from && memcmp(p + c, MAGIC, m) == 0)
      return c;
    i = c;
  }
  return n;
}

enum fix_next fix_stream_next(struct fix_stream *s, struct fix_msg *msg, enum fix_garble *why)
{
  enum fix_garble dummy, reason;
  size_t body_len, hdr_len;
  if (why == NULL)
    why = &dummy;
  const char *p = s->buf + s->start;
  size_t n = s->end - s->start;
  if (n == 0)
    return FIX_NEED_MORE;

  size_t c = find_begin(p, n, 0);
  if (c > 0) {
    s->start += c;
    s->garbled_bytes += c;
    *why = FIX_GARBLE_NO_BEGIN;
    return FIX_GARBLED;
  }
  if (n < MAGIC_LEN)
    return FIX_NEED_MORE;
  int rc = parse_header(p, n, &body_len, &hdr_len, &reason);
  if (rc > 0)
    return FIX_NEED_MORE;
  if (rc == 0) {
    size_t total = hdr_len + body_len + TRAILER_LEN;
    if (n < total)
      return FIX_NEED_MORE;
    if (fix_parse(p, total, msg, &reason) == 0) {
      s->start += total;
      *why = FIX_GARBLE_NONE;
      return FIX_MESSAGE;
    }
  }
  /* A bad frame: drop it through to the next place a frame may begin. */
  c = find_begin(p, n, 2);
  s->start += c;
  s->garbled_bytes += c;
  *why = reason;
  return FIX_GARBLED;
}
