/*
 * libFuzzer harness for money_parse(), the parser of amounts that arrive
 * from clients, brokers and custodians.
 *
 * Each input is parsed at several scales (including an invalid one) with
 * and without MONEY_PARSE_NEGATIVE.  Invariants checked, abort() on any
 * breach: the answer is 0 or one of the documented errors; a '-' is only
 * accepted with the flag; on success money_format() writes exactly the
 * canonical form of the input (the input with its fraction padded with
 * zeros to the scale, and without the sign when the value is zero), and
 * parsing that text again gives the same value and scale.  On error the
 * out-value is left untouched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned scales[] = {0, 1, 2, 6, 8, 18, 37, 38, 39};

static bool documented(int rc)
{
  switch (-rc) {
  case ERR_TOO_LONG:
  case ERR_MONEY_SYNTAX:
  case ERR_MONEY_SIGN:
  case ERR_MONEY_EXPONENT:
  case ERR_MONEY_NAN:
  case ERR_MONEY_PRECISION:
  case ERR_MONEY_OVERFLOW:
  case ERR_MONEY_SCALE:
    return true;
  default:
    return false;
  }
}

/*
 * The canonical text of an accepted input @s at @scale, into @buf.
 * Returns its length, or 0 when it does not fit (which never happens for
 * an accepted input).
 */
static size_t canonical(const char *s, size_t len, unsigned scale, char *buf, size_t cap)
{
  size_t i = 0, n = 0, nfrac = 0;
  bool neg = len > 0 && s[0] == '-', zero = true, point = false;
  if (neg)
    i = 1;
  for (size_t k = i; k < len; k++) {
    if (s[k] == '.')
      point = true;
    else if (s[k] != '0')
      zero = false;
    if (point && s[k] != '.')
      nfrac++;
  }
  if (neg && !zero) {
    if (n + 1 > cap)
      return 0;
    buf[n++] = '-';
  }
  if (n + (len - i) > cap)
    return 0;
  memcpy(buf + n, s + i, len - i);
  n += len - i;
  if (scale > 0 && !point) {
    if (n + 1 > cap)
      return 0;
    buf[n++] = '.';
  }
  for (; nfrac < scale; nfrac++) {
    if (n + 1 > cap)
      return 0;
    buf[n++] = '0';
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data;
  for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++) {
    for (unsigned flags = 0; flags <= MONEY_PARSE_NEGATIVE; flags++) {
      unsigned scale = scales[i];
      struct money m = {77, 77};
      int rc = money_parse(s, size, scale, flags, &m);
      if (rc != 0) {
        if (!documented(rc) || m.v != 77 || m.scale != 77)
          abort();
        continue;
      }
      if (m.scale != scale || m.v < -MONEY_V_MAX)
        abort();
      if (m.v < 0 && (flags & MONEY_PARSE_NEGATIVE) == 0)
        abort();

      char text[MONEY_STR_MAX], want[MONEY_PARSE_MAX + MONEY_STR_MAX];
      int n = money_format(m, text, sizeof text);
      if (n < 0 || (size_t)n >= sizeof text || text[n] != '\0')
        abort();
      size_t wn = canonical(s, size, scale, want, sizeof want);
      if (wn != (size_t)n || memcmp(text, want, wn) != 0)
        abort();

      struct money back = {77, 77};
      if (money_parse(text, (size_t)n, scale, MONEY_PARSE_NEGATIVE, &back) != 0 || back.v != m.v ||
          back.scale != m.scale)
        abort();
      if (money_cmp(back, m) != 0)
        abort();
    }
  }
  return 0;
}
