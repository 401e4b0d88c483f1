/*
 * bench_money: the speed of the money path (common_money.c) against plain
 * native code doing the same work on the same operands, measured in the
 * same run because the machines are noisy.
 *
 * Each operation runs over a ring of RING pre-generated operands (a fixed
 * seed xorshift, so every run sees the same values): 18-decimal token
 * amounts up to 10^12 tokens, 2-decimal prices up to 10^6 and 2-decimal
 * cash.  The ring is chosen so that the native references are correct on
 * it (every product fits 128 bits); one mul operand in 16 is an exact
 * tie at scale 2, so the agreement check covers half-even rounding.  A
 * measurement is the best (minimum) of REPS timed runs of about TARGET_NS
 * each; ours and the reference alternate so that noise hits both alike.
 *
 * Honesty: before timing, ours and the reference must agree on every
 * element of the ring, and every timed run must return the checksum the
 * reference gives for that many passes over the ring; otherwise the
 * benchmark says why and exits 1.  Results go to a volatile sink so that
 * no work can be optimised away.
 *
 * Output: one line per operation, "<op>: ours <ns>/op, reference <ns>/op",
 * then the line "RATIO name=value ..." with ours / reference.  Floating
 * point is used only for timing, never for money.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "bench/bench_util.h"

typedef unsigned __int128 u128;
typedef __int128 i128;

#define RING      4096u
#define RING_MASK (RING - 1)
#define REPS      5
#define TARGET_NS 400e6
#define E18       ((u128)1000000000000000000ULL)

/* ------------------------------------------------------------------ */
/* Operands                                                            */
/* ------------------------------------------------------------------ */

/* add: signed 18-decimal amounts, a quarter of them negative. */
static struct money add_a[RING], add_b[RING];
/* mul: an 18-decimal amount times a 2-decimal price (nonzero). */
static struct money mul_amt[RING], price[RING];
/* div: 2-decimal cash over the price, to 18 decimals. */
static struct money cash[RING];
/* parse and format: the text of add_a, NUL-terminated. */
static char text[RING][MONEY_STR_MAX];
static size_t text_len[RING];

static volatile uint64_t sink;

static u128 pow10_u128(unsigned k)
{
  u128 p = 1;
  while (k-- > 0)
    p *= 10;
  return p;
}

/* Uniform enough below @bound (> 0) for a benchmark. */
static u128 below(u128 bound)
{
  u128 r = ((u128)xorshift64() << 64) | xorshift64();
  return r % bound;
}

/* A magnitude below 10^d with d uniform in [lo, hi]: spreads the sizes. */
static u128 spread(unsigned lo, unsigned hi)
{
  unsigned d = lo + (unsigned)(xorshift64() % (hi - lo + 1));
  return below(pow10_u128(d));
}

static struct money make(i128 v, unsigned scale)
{
  struct money m;
  if (money_make(v, scale, &m) != 0) {
    fprintf(stderr, "bench_money: bad operand\n");
    exit(1);
  }
  return m;
}

static void make_ring(void)
{
  for (unsigned i = 0; i < RING; i++) {
    /* Token amounts: up to 10^12 tokens at 18 decimals (v < 10^30). */
    i128 a = (i128)spread(18, 30), b = (i128)spread(18, 30);
    add_a[i] = make(xorshift64() % 4 == 0 ? -a : a, 18);
    add_b[i] = make(xorshift64() % 4 == 0 ? -b : b, 18);
    mul_amt[i] = make((i128)spread(18, 30), 18);
    /* Prices: 0.01 .. 1,000,000.00 (1 <= v <= 10^8). */
    price[i] = make((i128)(1 + spread(1, 8)), 2);
    /* One in 16: an odd number of half cents at 1.00, an exact tie at
       scale 2 (k + 0.5), so that the half-even branch is checked too. */
    if (i % 16 == 0) {
      mul_amt[i] = make((i128)(2 * spread(1, 12) + 1) * 5000000000000000, 18);
      price[i] = make(100, 2);
    }
    /* Cash: up to 10^12 at 2 decimals (v < 10^14). */
    cash[i] = make((i128)spread(1, 14), 2);
    int n = money_format(add_a[i], text[i], sizeof text[i]);
    if (n < 0) {
      fprintf(stderr, "bench_money: cannot format operand %u\n", i);
      exit(1);
    }
    text_len[i] = (size_t)n;
  }
}

/* ------------------------------------------------------------------ */
/* Native references                                                   */
/* ------------------------------------------------------------------ */

/* amount(18) * price(2) to scale 2, half-even: divide by 10^18. */
static i128 ref_mul(i128 a, i128 b)
{
  u128 p = (u128)a * (u128)b;
  u128 q = p / E18, r = p - q * E18;
  if (r > E18 / 2 || (r == E18 / 2 && (q & 1) != 0))
    q++;
  return (i128)q;
}

/* cash(2) / price(2) to scale 18, down: cash * 10^18 / price. */
static int ref_div(i128 c, i128 p, i128 *out)
{
  u128 n;
  if (__builtin_mul_overflow((u128)c, E18, &n))
    return -1;
  *out = (i128)(n / (u128)p);
  return 0;
}

/* An unchecked 18-decimal parser: strtoull, then the fraction digits. */
static i128 ref_parse(const char *s)
{
  bool neg = s[0] == '-';
  char *end;
  u128 v = (u128)strtoull(s + neg, &end, 10) * E18;
  if (*end == '.') {
    uint64_t frac = 0;
    unsigned n = 0;
    for (end++; *end >= '0' && *end <= '9'; end++, n++)
      frac = frac * 10 + (uint64_t)(*end - '0');
    while (n++ < 18)
      frac *= 10;
    v += frac;
  }
  return neg ? -(i128)v : (i128)v;
}

/* The text of v / 10^scale, one digit at a time; returns the length. */
static size_t ref_format(i128 v, unsigned scale, char *buf)
{
  char rev[48];
  size_t n = 0, p = 0;
  u128 x = v < 0 ? -(u128)v : (u128)v;
  do {
    rev[n++] = (char)('0' + (int)(x % 10));
    x /= 10;
  } while (x != 0);
  while (n < scale + 1)
    rev[n++] = '0';
  if (v < 0)
    buf[p++] = '-';
  for (size_t i = n; i > 0; i--) {
    if (i == scale && scale > 0)
      buf[p++] = '.';
    buf[p++] = rev[i - 1];
  }
  buf[p] = '\0';
  return p;
}

/* ------------------------------------------------------------------ */
/* Timed loops: each returns a checksum of its results                 */
/* ------------------------------------------------------------------ */

/* Kept out of line so that each run is one call around a plain loop.  A
   failed call of ours adds its error code, which spoils the checksum. */
#define NOINLINE __attribute__((noinline))

static NOINLINE u128 add_ours(size_t iters)
{
  u128 acc = 0;
  struct money r = {0, 0};
  for (size_t i = 0; i < iters; i++) {
    int rc = money_add(add_a[i & RING_MASK], add_b[i & RING_MASK], &r);
    acc += (u128)r.v + (u128)(i128)rc;
  }
  return acc;
}

static NOINLINE u128 add_ref(size_t iters)
{
  u128 acc = 0;
  i128 s;
  for (size_t i = 0; i < iters; i++) {
    if (__builtin_add_overflow(add_a[i & RING_MASK].v, add_b[i & RING_MASK].v, &s))
      acc += 1;
    acc += (u128)s;
  }
  return acc;
}

static NOINLINE u128 mul_ours(size_t iters)
{
  u128 acc = 0;
  struct money r = {0, 0};
  for (size_t i = 0; i < iters; i++) {
    int rc = money_mul(mul_amt[i & RING_MASK], price[i & RING_MASK], 2, MONEY_ROUND_HALF_EVEN, &r);
    acc += (u128)r.v + (u128)(i128)rc;
  }
  return acc;
}

static NOINLINE u128 mul_ref(size_t iters)
{
  u128 acc = 0;
  for (size_t i = 0; i < iters; i++)
    acc += (u128)ref_mul(mul_amt[i & RING_MASK].v, price[i & RING_MASK].v);
  return acc;
}

static NOINLINE u128 div_ours(size_t iters)
{
  u128 acc = 0;
  struct money r = {0, 0};
  for (size_t i = 0; i < iters; i++) {
    int rc = money_div(cash[i & RING_MASK], price[i & RING_MASK], 18, MONEY_ROUND_DOWN, &r);
    acc += (u128)r.v + (u128)(i128)rc;
  }
  return acc;
}

static NOINLINE u128 div_ref(size_t iters)
{
  u128 acc = 0;
  i128 q = 0;
  for (size_t i = 0; i < iters; i++) {
    int rc = ref_div(cash[i & RING_MASK].v, price[i & RING_MASK].v, &q);
    acc += (u128)q + (u128)(i128)rc;
  }
  return acc;
}

static NOINLINE u128 parse_ours(size_t iters)
{
  u128 acc = 0;
  struct money r = {0, 0};
  for (size_t i = 0; i < iters; i++) {
    size_t k = i & RING_MASK;
    int rc = money_parse(text[k], text_len[k], 18, MONEY_PARSE_NEGATIVE, &r);
    acc += (u128)r.v + (u128)(i128)rc;
  }
  return acc;
}

static NOINLINE u128 parse_ref(size_t iters)
{
  u128 acc = 0;
  for (size_t i = 0; i < iters; i++)
    acc += (u128)ref_parse(text[i & RING_MASK]);
  return acc;
}

/* Checksum of a text: its length and two of its bytes. */
static u128 text_sum(const char *buf, size_t len)
{
  return (u128)len * 131 + (unsigned char)buf[len / 2] * 7 + (unsigned char)buf[len - 1];
}

static NOINLINE u128 format_ours(size_t iters)
{
  u128 acc = 0;
  char buf[MONEY_STR_MAX];
  for (size_t i = 0; i < iters; i++) {
    int n = money_format(add_a[i & RING_MASK], buf, sizeof buf);
    acc += n > 0 ? text_sum(buf, (size_t)n) : (u128)(i128)n;
  }
  return acc;
}

static NOINLINE u128 format_ref(size_t iters)
{
  u128 acc = 0;
  char buf[MONEY_STR_MAX];
  for (size_t i = 0; i < iters; i++) {
    const struct money *m = &add_a[i & RING_MASK];
    acc += text_sum(buf, ref_format(m->v, m->scale, buf));
  }
  return acc;
}

/* ------------------------------------------------------------------ */
/* Agreement on the ring                                               */
/* ------------------------------------------------------------------ */

static void disagree(const char *op, unsigned i)
{
  fprintf(stderr, "bench_money: %s: ours and the reference disagree on operand %u\n", op, i);
  exit(1);
}

/* Check every element of the ring; exit 1 on the first mismatch. */
static void verify_ring(void)
{
  struct money r = {0, 0};
  for (unsigned i = 0; i < RING; i++) {
    i128 s;
    if (__builtin_add_overflow(add_a[i].v, add_b[i].v, &s) || money_add(add_a[i], add_b[i], &r) ||
        r.v != s || r.scale != 18)
      disagree("money_add", i);
    if (money_mul(mul_amt[i], price[i], 2, MONEY_ROUND_HALF_EVEN, &r) ||
        r.v != ref_mul(mul_amt[i].v, price[i].v) || r.scale != 2)
      disagree("money_mul", i);
    if (ref_div(cash[i].v, price[i].v, &s) ||
        money_div(cash[i], price[i], 18, MONEY_ROUND_DOWN, &r) || r.v != s || r.scale != 18)
      disagree("money_div", i);
    if (money_parse(text[i], text_len[i], 18, MONEY_PARSE_NEGATIVE, &r) || r.v != add_a[i].v ||
        ref_parse(text[i]) != add_a[i].v)
      disagree("money_parse", i);
    char ours[MONEY_STR_MAX], ref[MONEY_STR_MAX];
    int n = money_format(add_a[i], ours, sizeof ours);
    size_t m = ref_format(add_a[i].v, add_a[i].scale, ref);
    if (n < 0 || (size_t)n != m || memcmp(ours, ref, m) != 0)
      disagree("money_format", i);
  }
}

/* ------------------------------------------------------------------ */
/* Timing                                                              */
/* ------------------------------------------------------------------ */

typedef u128 (*run_fn)(size_t iters);

static double now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Time one run; its checksum must be @want (one pass) times its passes. */
static double timed(const char *op, run_fn fn, size_t iters, u128 want)
{
  double t0 = now_ns();
  u128 acc = fn(iters);
  double t1 = now_ns();
  sink = (uint64_t)acc;
  if (acc != want * (u128)(iters / RING)) {
    fprintf(stderr, "bench_money: %s: a timed run gave a wrong checksum\n", op);
    exit(1);
  }
  return t1 - t0;
}

/* A whole number of ring passes that takes about TARGET_NS. */
static size_t calibrate(const char *op, run_fn fn, u128 want)
{
  size_t iters = RING;
  double t;
  while ((t = timed(op, fn, iters, want)) < 20e6)
    iters *= 2;
  double passes = (double)iters / RING * TARGET_NS / t;
  return (passes < 1 ? 1 : (size_t)passes) * RING;
}

/* Best of REPS for ours and the reference, alternating; prints a line and
   returns ours / reference. */
static double compare(const char *op, run_fn ours, run_fn ref)
{
  u128 want = ref(RING);
  size_t n_ours = calibrate(op, ours, want), n_ref = calibrate(op, ref, want);
  double best_ours = 0, best_ref = 0;
  for (int r = 0; r < REPS; r++) {
    double a = timed(op, ours, n_ours, want) / (double)n_ours;
    double b = timed(op, ref, n_ref, want) / (double)n_ref;
    if (r == 0 || a < best_ours)
      best_ours = a;
    if (r == 0 || b < best_ref)
      best_ref = b;
  }
  printf("%s: ours %.2f ns/op, reference %.2f ns/op\n", op, best_ours, best_ref);
  fflush(stdout);
  return best_ours / best_ref;
}

int main(void)
{
  make_ring();
  verify_ring();
  double add = compare("money_add", add_ours, add_ref);
  double mul = compare("money_mul", mul_ours, mul_ref);
  double div = compare("money_div", div_ours, div_ref);
  double parse = compare("money_parse", parse_ours, parse_ref);
  double format = compare("money_format", format_ours, format_ref);
  printf("RATIO add_vs_int128=%.2f mul_vs_int128=%.2f div_vs_int128=%.2f parse_vs_native=%.2f "
         "format_vs_native=%.2f\n",
         add, mul, div, parse, format);
  return 0;
}
