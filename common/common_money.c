/*
 * Exact money and quantities: fixed-point decimals v / 10^scale with a
 * signed 128-bit v (see struct money in common.h).
 *
 * Invariants.  A valid value has scale 0..MONEY_MAX_SCALE and v in the
 * symmetric range [-MONEY_V_MAX, MONEY_V_MAX], so negation never
 * overflows; -2^127 is out of range.  Every operation checks its inputs
 * (an out-of-range scale is -ERR_MONEY_SCALE, v == -2^127 is
 * -ERR_MONEY_OVERFLOW) and writes its out-value only on success.  No
 * floating point, no heap.
 *
 * Arithmetic works on signs and magnitudes: the magnitude is computed
 * exactly (in 128 bits when it fits, else in 256 bits from 64-bit limbs),
 * then divided by a power of ten where digits are dropped, rounded
 * symmetrically (round the magnitude, then apply the sign) and range
 * checked.  Only the final result must fit: an intermediate such as a
 * 250-bit product or an upscaled addend that leaves 128 bits is not an
 * overflow by itself.
 *
 * Error precedence of the arithmetic: the requested scale (SCALE), then
 * the inputs (SCALE, OVERFLOW), then division by zero, then OVERFLOW when
 * the rounded result is out of range (in EXACT mode: when the result
 * rounded toward zero is), then INEXACT for a nonzero remainder in EXACT
 * mode.  A mode outside enum money_round acts as EXACT.
 *
 * Parse precedence, first match wins: the scale argument (SCALE); more
 * than MONEY_PARSE_MAX bytes (TOO_LONG); empty text (SYNTAX); a leading
 * '+' (SIGN, always); "nan", "inf" or "infinity" in any case after an
 * optional '-' (NAN); a leading '-' without MONEY_PARSE_NEGATIVE (SIGN);
 * digits and points followed by 'e' or 'E' after at least one digit
 * (EXPONENT, so "1.50e3" is an exponent error and not a precision one);
 * anything off the grammar, including leading zeros, spaces, separators,
 * NUL bytes, "1." and ".5" (SYNTAX); more fraction digits than the scale,
 * zeros included (PRECISION); a magnitude above MONEY_V_MAX (OVERFLOW).
 */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/common_int.h"

typedef unsigned __int128 u128;
typedef __int128 i128;

#define V_MAX ((u128)MONEY_V_MAX)

/* 10^0 .. 10^38 (10^38 < 2^127 < 10^39). */
#define E19 ((u128)10000000000000000000ULL)
static const u128 p10[MONEY_MAX_SCALE + 1] = {
    COMMON__POW10_0_19,
    E19 * 10ULL,
    E19 * 100ULL,
    E19 * 1000ULL,
    E19 * 10000ULL,
    E19 * 100000ULL,
    E19 * 1000000ULL,
    E19 * 10000000ULL,
    E19 * 100000000ULL,
    E19 * 1000000000ULL,
    E19 * 10000000000ULL,
    E19 * 100000000000ULL,
    E19 * 1000000000000ULL,
    E19 * 10000000000000ULL,
    E19 * 100000000000000ULL,
    E19 * 1000000000000000ULL,
    E19 * 10000000000000000ULL,
    E19 * 100000000000000000ULL,
    E19 * 1000000000000000000ULL,
    E19 * 10000000000000000000ULL,
};

/* ------------------------------------------------------------------ */
/* Unsigned 256-bit helpers: four 64-bit limbs, least significant first */
/* ------------------------------------------------------------------ */

struct u256 {
  uint64_t w[4];
};

static struct u256 u256_from128(u128 x)
{
  struct u256 r = {{(uint64_t)x, (uint64_t)(x >> 64), 0, 0}};
  return r;
}

static bool u256_fits128(const struct u256 *a)
{
  return a->w[2] == 0 && a->w[3] == 0;
}

static u128 u256_low128(const struct u256 *a)
{
  return ((u128)a->w[1] << 64) | a->w[0];
}

static bool u256_is_zero(const struct u256 *a)
{
  return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0;
}

static int u256_cmp(const struct u256 *a, const struct u256 *b)
{
  for (int i = 3; i >= 0; i--)
    if (a->w[i] != b->w[i])
      return a->w[i] < b->w[i] ? -1 : 1;
  return 0;
}

/* a + b; returns the carry out. */
static unsigned u256_add(struct u256 *r, const struct u256 *a, const struct u256 *b)
{
  unsigned carry = 0;
  for (int i = 0; i < 4; i++) {
    u128 s = (u128)a->w[i] + b->w[i] + carry;
    r->w[i] = (uint64_t)s;
    carry = (unsigned)(s >> 64);
  }
  return carry;
}

/* a - b, for a >= b. */
static void u256_sub(struct u256 *r, const struct u256 *a, const struct u256 *b)
{
  unsigned borrow = 0;
  for (int i = 0; i < 4; i++) {
    uint64_t x = a->w[i], y = b->w[i];
    uint64_t d = x - y - borrow;
    borrow = (x < y) || (x - y < borrow);
    r->w[i] = d;
  }
}

/* The full 256-bit product of two 128-bit numbers. */
static struct u256 u256_mul128(u128 a, u128 b)
{
  uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64);
  uint64_t b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
  u128 p00 = (u128)a0 * b0, p01 = (u128)a0 * b1;
  u128 p10_ = (u128)a1 * b0, p11 = (u128)a1 * b1;
  /* Middle column: at most 3 * (2^64 - 1), so u128 holds it. */
  u128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10_;
  u128 high = p11 + (p01 >> 64) + (p10_ >> 64) + (mid >> 64);
  struct u256 r = {{(uint64_t)p00, (uint64_t)mid, (uint64_t)high, (uint64_t)(high >> 64)}};
  return r;
}

/* a * b truncated to 256 bits; returns true when the product overflows. */
static bool u256_mul_overflow(struct u256 *r, const struct u256 *a, const struct u256 *b)
{
  uint64_t t[4] = {0, 0, 0, 0};
  bool over = false;
  for (int i = 0; i < 4; i++) {
    if (a->w[i] == 0)
      continue;
    uint64_t carry = 0;
    for (int j = 0; j < 4; j++) {
      if (i + j >= 4) {
        if (b->w[j] != 0)
          over = true;
        continue;
      }
      u128 p = (u128)a->w[i] * b->w[j] + t[i + j] + carry;
      t[i + j] = (uint64_t)p;
      carry = (uint64_t)(p >> 64);
    }
    if (carry != 0)
      over = true;
  }
  memcpy(r->w, t, sizeof t);
  return over;
}

/* 10^k for k = 0..76 (10^76 < 2^256); a larger k is a bug of ours. */
static struct u256 u256_p10(unsigned k)
{
  if (k > 2 * MONEY_MAX_SCALE)
    abort();
  if (k <= MONEY_MAX_SCALE)
    return u256_from128(p10[k]);
  return u256_mul128(p10[MONEY_MAX_SCALE], p10[k - MONEY_MAX_SCALE]);
}

static int u256_limbs(const struct u256 *a)
{
  int n = 4;
  while (n > 0 && a->w[n - 1] == 0)
    n--;
  return n;
}

/*
 * q = u / v and r = u % v for v != 0: Knuth's algorithm D (TAOCP vol. 2,
 * 4.3.1) on 64-bit limbs, as in Hacker's Delight's divmnu64.
 */
static void u256_divmod(const struct u256 *u, const struct u256 *v, struct u256 *q, struct u256 *r)
{
  int n = u256_limbs(v), m = u256_limbs(u);
  struct u256 zero = {{0, 0, 0, 0}};
  *q = zero;
  if (u256_cmp(u, v) < 0) {
    *r = *u;
    return;
  }
  if (n == 1) {
    uint64_t d = v->w[0];
    u128 rem = 0;
    for (int i = m - 1; i >= 0; i--) {
      u128 cur = (rem << 64) | u->w[i];
      q->w[i] = (uint64_t)(cur / d);
      rem = cur % d;
    }
    *r = zero;
    r->w[0] = (uint64_t)rem;
    return;
  }

  /* Normalize so that the divisor's top limb has its top bit set. */
  int s = __builtin_clzll(v->w[n - 1]);
  uint64_t vn[4], un[5];
  for (int i = n - 1; i > 0; i--)
    vn[i] = (v->w[i] << s) | (s ? v->w[i - 1] >> (64 - s) : 0);
  vn[0] = v->w[0] << s;
  un[m] = s ? u->w[m - 1] >> (64 - s) : 0;
  for (int i = m - 1; i > 0; i--)
    un[i] = (u->w[i] << s) | (s ? u->w[i - 1] >> (64 - s) : 0);
  un[0] = u->w[0] << s;

  for (int j = m - n; j >= 0; j--) {
    /* Estimate the quotient digit from the top two limbs, then fix it. */
    u128 num = ((u128)un[j + n] << 64) | un[j + n - 1];
    u128 qhat = num / vn[n - 1];
    u128 rhat = num % vn[n - 1];
    while ((qhat >> 64) != 0 || qhat * vn[n - 2] > ((rhat << 64) | un[j + n - 2])) {
      qhat--;
      rhat += vn[n - 1];
      if ((rhat >> 64) != 0)
        break;
    }

    /* Multiply and subtract. */
    uint64_t carry = 0, borrow = 0;
    for (int i = 0; i < n; i++) {
      u128 p = qhat * vn[i] + carry;
      uint64_t plo = (uint64_t)p;
      carry = (uint64_t)(p >> 64);
      uint64_t x = un[i + j];
      uint64_t d1 = x - plo;
      uint64_t b1 = x < plo;
      uint64_t d2 = d1 - borrow;
      uint64_t b2 = d1 < borrow;
      un[i + j] = d2;
      borrow = b1 + b2;
    }
    u128 take = (u128)carry + borrow;
    bool negative = un[j + n] < take;
    un[j + n] = (uint64_t)(un[j + n] - take);

    /* The estimate was one too large (rare): add the divisor back. */
    if (negative) {
      qhat--;
      uint64_t c = 0;
      for (int i = 0; i < n; i++) {
        u128 t = (u128)un[i + j] + vn[i] + c;
        un[i + j] = (uint64_t)t;
        c = (uint64_t)(t >> 64);
      }
      un[j + n] += c;
    }
    q->w[j] = (uint64_t)qhat;
  }

  *r = zero;
  for (int i = 0; i < n; i++)
    r->w[i] = (un[i] >> s) | (s ? un[i + 1] << (64 - s) : 0);
}

/* ------------------------------------------------------------------ */
/* Rounding and checks                                                 */
/* ------------------------------------------------------------------ */

static int check(struct money a)
{
  if (a.scale > MONEY_MAX_SCALE)
    return -ERR_MONEY_SCALE;
  if (a.v < -MONEY_V_MAX)
    return -ERR_MONEY_OVERFLOW;
  return 0;
}

static u128 mag(i128 v)
{
  return v < 0 ? -(u128)v : (u128)v;
}

/*
 * Finish a result from the magnitude q of the quotient rounded toward
 * zero, whether a remainder was dropped (inexact) and how it compares
 * with half the divisor (half: -1 below, 0 a tie, 1 above).
 */
static int finish(u128 q, bool inexact, int half, enum money_round mode, bool neg, unsigned scale,
                  struct money *out)
{
  if (q > V_MAX)
    return -ERR_MONEY_OVERFLOW;
  if (inexact) {
    switch (mode) {
    case MONEY_ROUND_DOWN:
      break;
    case MONEY_ROUND_UP:
      q++;
      break;
    case MONEY_ROUND_HALF_EVEN:
      if (half > 0 || (half == 0 && (q & 1) != 0))
        q++;
      break;
    case MONEY_ROUND_EXACT:
    default:
      return -ERR_MONEY_INEXACT;
    }
    if (q > V_MAX)
      return -ERR_MONEY_OVERFLOW;
  }
  out->v = neg ? -(i128)q : (i128)q;
  out->scale = (uint8_t)scale;
  return 0;
}

/* Round n / d (128-bit, d != 0) with the sign applied afterwards. */
static int div_round128(u128 n, u128 d, enum money_round mode, bool neg, unsigned scale,
                        struct money *out)
{
  u128 q = n / d, r = n % d;
  int half = 0;
  if (r != 0) {
    u128 rest = d - r;
    half = r < rest ? -1 : r > rest ? 1 : 0;
  }
  return finish(q, r != 0, half, mode, neg, scale, out);
}

/* Round n / d (256-bit, d != 0) with the sign applied afterwards. */
static int div_round256(const struct u256 *n, const struct u256 *d, enum money_round mode, bool neg,
                        unsigned scale, struct money *out)
{
  if (u256_fits128(n) && u256_fits128(d))
    return div_round128(u256_low128(n), u256_low128(d), mode, neg, scale, out);
  struct u256 q, r, rest;
  u256_divmod(n, d, &q, &r);
  if (!u256_fits128(&q))
    return -ERR_MONEY_OVERFLOW;
  int half = 0;
  bool inexact = !u256_is_zero(&r);
  if (inexact) {
    u256_sub(&rest, d, &r);
    half = u256_cmp(&r, &rest);
  }
  return finish(u256_low128(&q), inexact, half, mode, neg, scale, out);
}

/* ------------------------------------------------------------------ */
/* Public functions                                                    */
/* ------------------------------------------------------------------ */

int money_make(__int128 v, unsigned scale, struct money *out)
{
  if (scale > MONEY_MAX_SCALE)
    return -ERR_MONEY_SCALE;
  if (v < -MONEY_V_MAX)
    return -ERR_MONEY_OVERFLOW;
  out->v = v;
  out->scale = (uint8_t)scale;
  return 0;
}

int money_rescale(struct money a, unsigned scale, enum money_round mode, struct money *out)
{
  if (scale > MONEY_MAX_SCALE)
    return -ERR_MONEY_SCALE;
  int rc = check(a);
  if (rc != 0)
    return rc;
  if (scale >= a.scale) {
    i128 v;
    if (__builtin_mul_overflow(a.v, (i128)p10[scale - a.scale], &v) || v < -MONEY_V_MAX)
      return -ERR_MONEY_OVERFLOW;
    out->v = v;
    out->scale = (uint8_t)scale;
    return 0;
  }
  return div_round128(mag(a.v), p10[a.scale - scale], mode, a.v < 0, scale, out);
}

/* Signed sum at the common scale; b is negated first when @negate_b. */
static int add_sub(struct money a, struct money b, bool negate_b, struct money *out)
{
  int rc = check(a);
  if (rc == 0)
    rc = check(b);
  if (rc != 0)
    return rc;
  if (negate_b)
    b.v = -b.v;
  i128 x, y, s;
  if (a.scale == b.scale) {
    /* The common case: no rescaling (and no 128-bit multiply by 1). */
    if (__builtin_add_overflow(a.v, b.v, &s) || s < -MONEY_V_MAX)
      return -ERR_MONEY_OVERFLOW;
    out->v = s;
    out->scale = a.scale;
    return 0;
  }
  unsigned scale = a.scale > b.scale ? a.scale : b.scale;

  /* Fast path: everything fits 128 bits. */
  if (!__builtin_mul_overflow(a.v, (i128)p10[scale - a.scale], &x) &&
      !__builtin_mul_overflow(b.v, (i128)p10[scale - b.scale], &y) &&
      !__builtin_add_overflow(x, y, &s)) {
    if (s < -MONEY_V_MAX)
      return -ERR_MONEY_OVERFLOW;
    out->v = s;
    out->scale = (uint8_t)scale;
    return 0;
  }

  /* An upscaled addend left 128 bits: add signed magnitudes in 256 bits
     (each is below 2^254, so the sum cannot wrap). */
  struct u256 ma = u256_mul128(mag(a.v), p10[scale - a.scale]);
  struct u256 mb = u256_mul128(mag(b.v), p10[scale - b.scale]);
  bool na = a.v < 0, nb = b.v < 0, neg;
  struct u256 m;
  if (na == nb) {
    u256_add(&m, &ma, &mb);
    neg = na;
  } else if (u256_cmp(&ma, &mb) >= 0) {
    u256_sub(&m, &ma, &mb);
    neg = na;
  } else {
    u256_sub(&m, &mb, &ma);
    neg = nb;
  }
  if (!u256_fits128(&m) || u256_low128(&m) > V_MAX)
    return -ERR_MONEY_OVERFLOW;
  return finish(u256_low128(&m), false, 0, MONEY_ROUND_EXACT, neg, scale, out);
}

int money_add(struct money a, struct money b, struct money *out)
{
  return add_sub(a, b, false, out);
}

int money_sub(struct money a, struct money b, struct money *out)
{
  return add_sub(a, b, true, out);
}

/* The checks of mul and div, in the documented order: scale, then inputs. */
static int check_args(struct money a, struct money b, unsigned scale)
{
  if (scale > MONEY_MAX_SCALE)
    return -ERR_MONEY_SCALE;
  int rc = check(a);
  return rc != 0 ? rc : check(b);
}

int money_mul(struct money a, struct money b, unsigned scale, enum money_round mode,
              struct money *out)
{
  int rc = check_args(a, b, scale);
  if (rc != 0)
    return rc;
  bool neg = (a.v < 0) != (b.v < 0);
  u128 ma = mag(a.v), mb = mag(b.v), p;
  int k = (int)a.scale + (int)b.scale - (int)scale;

  if (k <= 0) {
    /* Digits are added: the product itself must already fit. */
    if (__builtin_mul_overflow(ma, mb, &p) || __builtin_mul_overflow(p, p10[-k], &p) || p > V_MAX)
      return -ERR_MONEY_OVERFLOW;
    return finish(p, false, 0, mode, neg, scale, out);
  }
  if (!__builtin_mul_overflow(ma, mb, &p) && k <= MONEY_MAX_SCALE)
    return div_round128(p, p10[k], mode, neg, scale, out);
  struct u256 n = u256_mul128(ma, mb);
  struct u256 d = u256_p10((unsigned)k);
  return div_round256(&n, &d, mode, neg, scale, out);
}

int money_div(struct money a, struct money b, unsigned scale, enum money_round mode,
              struct money *out)
{
  int rc = check_args(a, b, scale);
  if (rc != 0)
    return rc;
  if (b.v == 0)
    return -ERR_MONEY_DIV_ZERO;
  bool neg = (a.v < 0) != (b.v < 0);
  u128 ma = mag(a.v), mb = mag(b.v), t;
  /* a / b at scale: a.v * 10^e / b.v with e = scale + b.scale - a.scale. */
  int e = (int)scale + (int)b.scale - (int)a.scale;

  if (e >= 0) {
    if (e <= MONEY_MAX_SCALE && !__builtin_mul_overflow(ma, p10[e], &t))
      return div_round128(t, mb, mode, neg, scale, out);
    /* The numerator needs 256 bits; beyond that the quotient exceeds
       2^256 / 2^127 and overflows in any mode. */
    struct u256 n = u256_from128(ma), pe = u256_p10((unsigned)e);
    if (u256_mul_overflow(&n, &n, &pe))
      return -ERR_MONEY_OVERFLOW;
    struct u256 d = u256_from128(mb);
    return div_round256(&n, &d, mode, neg, scale, out);
  }

  /* e < 0, so -e <= a.scale <= 38: the power of ten goes to the
     divisor, which then needs at most 127 + 127 bits. */
  if (!__builtin_mul_overflow(mb, p10[-e], &t))
    return div_round128(ma, t, mode, neg, scale, out);
  struct u256 n = u256_from128(ma), d = u256_mul128(mb, p10[-e]);
  return div_round256(&n, &d, mode, neg, scale, out);
}

int money_cmp(struct money a, struct money b)
{
  int sa = (a.v > 0) - (a.v < 0), sb = (b.v > 0) - (b.v < 0);
  if (sa != sb || sa == 0)
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  /* Same sign, both nonzero: compare the magnitudes at a common scale.
     Any scale is handled, even an invalid one: a factor beyond 10^38
     makes that side at least 10^39 > 2^128 > the other magnitude. */
  u128 ma = mag(a.v), mb = mag(b.v);
  int c;
  if (a.scale == b.scale) {
    c = ma < mb ? -1 : ma > mb ? 1 : 0;
  } else if (a.scale < b.scale) {
    unsigned k = (unsigned)(b.scale - a.scale);
    if (k > MONEY_MAX_SCALE) {
      c = 1;
    } else {
      struct u256 x = u256_mul128(ma, p10[k]), y = u256_from128(mb);
      c = u256_cmp(&x, &y);
    }
  } else {
    unsigned k = (unsigned)(a.scale - b.scale);
    if (k > MONEY_MAX_SCALE) {
      c = -1;
    } else {
      struct u256 x = u256_from128(ma), y = u256_mul128(mb, p10[k]);
      c = u256_cmp(&x, &y);
    }
  }
  return sa < 0 ? -c : c;
}

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */

static char lower_ascii(char c)
{
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Whether s[0..len) is @word (lower case) in any case. */
static bool word_is(const char *s, size_t len, const char *word)
{
  size_t n = strlen(word);
  if (len != n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (lower_ascii(s[i]) != word[i])
      return false;
  return true;
}

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

int money_parse(const char *s, size_t len, unsigned scale, unsigned flags, struct money *out)
{
  if (scale > MONEY_MAX_SCALE)
    return -ERR_MONEY_SCALE;
  if (len > MONEY_PARSE_MAX)
    return -ERR_TOO_LONG;
  if (s == NULL || len == 0)
    return -ERR_MONEY_SYNTAX;
  if (s[0] == '+')
    return -ERR_MONEY_SIGN;

  size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    i = 1;
  }
  if (word_is(s + i, len - i, "nan") || word_is(s + i, len - i, "inf") ||
      word_is(s + i, len - i, "infinity"))
    return -ERR_MONEY_NAN;
  if (neg && (flags & MONEY_PARSE_NEGATIVE) == 0)
    return -ERR_MONEY_SIGN;

  /* Lexical scan: digits with at most one point, then an exponent? */
  size_t int_start = i, int_end, frac_start = 0, frac_end = 0;
  bool point = false, any_digit = false;
  size_t j = i;
  while (j < len && is_digit(s[j]))
    j++;
  int_end = j;
  any_digit = int_end > int_start;
  if (j < len && s[j] == '.') {
    point = true;
    frac_start = ++j;
    while (j < len && is_digit(s[j]))
      j++;
    frac_end = j;
    any_digit = any_digit || frac_end > frac_start;
  }
  if (j < len && (s[j] == 'e' || s[j] == 'E') && any_digit)
    return -ERR_MONEY_EXPONENT;

  /* The grammar: ('0' | [1-9][0-9]*) ['.' [0-9]+], nothing after. */
  if (j != len || int_end == int_start || (s[int_start] == '0' && int_end - int_start > 1) ||
      (point && frac_end == frac_start))
    return -ERR_MONEY_SYNTAX;
  size_t nfrac = point ? frac_end - frac_start : 0;
  if (nfrac > scale)
    return -ERR_MONEY_PRECISION;

  u128 v = 0;
  for (size_t k = int_start; k < int_end; k++)
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (u128)(s[k] - '0'), &v))
      return -ERR_MONEY_OVERFLOW;
  for (size_t k = frac_start; k < frac_end; k++)
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (u128)(s[k] - '0'), &v))
      return -ERR_MONEY_OVERFLOW;
  if (__builtin_mul_overflow(v, p10[scale - nfrac], &v) || v > V_MAX)
    return -ERR_MONEY_OVERFLOW;
  out->v = neg ? -(i128)v : (i128)v;
  out->scale = (uint8_t)scale;
  return 0;
}

int money_format(struct money m, char *buf, size_t size)
{
  int rc = check(m);
  if (rc != 0) {
    if (size > 0)
      buf[0] = '\0';
    return rc;
  }

  /* Digits of the magnitude, least significant first, in chunks of 19
     so that most divisions are 64-bit. */
  char rev[48];
  size_t n = 0;
  u128 x = mag(m.v);
  while (x >= E19) {
    uint64_t chunk = (uint64_t)(x % E19);
    x /= E19;
    for (int i = 0; i < 19; i++) {
      rev[n++] = (char)('0' + chunk % 10);
      chunk /= 10;
    }
  }
  uint64_t low = (uint64_t)x;
  do {
    rev[n++] = (char)('0' + low % 10);
    low /= 10;
  } while (low != 0);
  /* At least one integer digit: pad with zeros up to scale + 1 digits. */
  while (n < (size_t)m.scale + 1)
    rev[n++] = '0';

  size_t len = n + (m.v < 0) + (m.scale > 0);
  if (len + 1 > size) {
    if (size > 0)
      buf[0] = '\0';
    return -ERR_TOO_LONG;
  }
  size_t p = 0;
  if (m.v < 0)
    buf[p++] = '-';
  for (size_t i = n; i > 0; i--) {
    if (i == m.scale && m.scale > 0)
      buf[p++] = '.';
    buf[p++] = rev[i - 1];
  }
  buf[p] = '\0';
  return (int)p;
}
