/*
 * Tests of common/common_money.c: exact decimal money.
 *
 * Two halves.  The fixed cases pin behaviour a user would notice with
 * exact expected text: the limits of the range at scales 0, 18 and 38,
 * every rounding mode on ties and near-ties (positive and negative, odd
 * and even neighbours) for rescale, mul and div, overflow of each
 * operation, each parse rejection with its own error, format round trips,
 * mixed scales, and 18-decimal token amounts against 2-decimal prices.
 * The random cases check every operation against an independent
 * computation in GMP (mpz_t), from a fixed seed printed at the start
 * (MONEY_TEST_SEED=0x... repeats another run), with magnitudes of random
 * bit length over the whole range and random scales; they check both the
 * value and the error, and that an out-value is left untouched on error.
 * The file is longer than most because the reference model lives here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <gmp.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

typedef __int128 i128;
typedef unsigned __int128 u128;

#define NEG    MONEY_PARSE_NEGATIVE
#define MAX0   "170141183460469231731687303715884105727"
#define MAX18  "170141183460469231731.687303715884105727"
#define MAX38  "1.70141183460469231731687303715884105727"
#define HALF38 "0.50000000000000000000000000000000000000"
/* Random cases per operation (each of them in all four rounding modes
   where the operation rounds). */
#define RANDOM_CASES 30000
#define DEFAULT_SEED 0x5eed0f4d0e7a11c3ULL

/* ------------------------------------------------------------------ */
/* Helpers for the fixed cases                                         */
/* ------------------------------------------------------------------ */

/* The value of @text at the scale its fraction digits give. */
static struct money val(const char *text)
{
  const char *dot = strchr(text, '.');
  unsigned scale = dot == NULL ? 0 : (unsigned)strlen(dot + 1);
  struct money m = {0, 0};
  int rc = money_parse(text, strlen(text), scale, NEG, &m);
  if (rc != 0)
    fail_msg("parse \"%s\": %s", text, err_name(rc));
  return m;
}

/* The text of @m must be @want (which also pins the scale). */
static void expect_text(struct money m, const char *want, const char *what)
{
  char buf[MONEY_STR_MAX];
  int n = money_format(m, buf, sizeof buf);
  if (n < 0)
    fail_msg("%s: format failed: %s", what, err_name(n));
  if (strcmp(buf, want) != 0 || (size_t)n != strlen(want))
    fail_msg("%s: got \"%s\", want \"%s\"", what, buf, want);
}

static void test_make(void **state)
{
  (void)state;
  struct money m = {7, 7};
  assert_int_equal(money_make(MONEY_V_MAX, 38, &m), 0);
  expect_text(m, MAX38, "make max");
  assert_int_equal(money_make(-MONEY_V_MAX, 0, &m), 0);
  expect_text(m, "-" MAX0, "make -max");
  assert_int_equal(money_make(-12345, 2, &m), 0);
  expect_text(m, "-123.45", "make");
  m.v = 7;
  m.scale = 7;
  assert_int_equal(money_make(-MONEY_V_MAX - 1, 0, &m), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_make(1, 39, &m), -ERR_MONEY_SCALE);
  assert_true(m.v == 7 && m.scale == 7);
}

static void test_limits(void **state)
{
  (void)state;
  static const struct {
    unsigned scale;
    const char *max, *over;
  } rows[] = {
      {0, MAX0, "170141183460469231731687303715884105728"},
      {18, MAX18, "170141183460469231731.687303715884105728"},
      {38, MAX38, "1.70141183460469231731687303715884105728"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    unsigned sc = rows[i].scale;
    struct money m = {0, 0}, back = {0, 0};
    char neg[64], negover[64];
    snprintf(neg, sizeof neg, "-%s", rows[i].max);
    snprintf(negover, sizeof negover, "-%s", rows[i].over);

    assert_int_equal(money_make(MONEY_V_MAX, sc, &m), 0);
    expect_text(m, rows[i].max, "format max");
    assert_int_equal(money_parse(rows[i].max, strlen(rows[i].max), sc, 0, &back), 0);
    assert_true(back.v == MONEY_V_MAX && back.scale == sc);

    assert_int_equal(money_make(-MONEY_V_MAX, sc, &m), 0);
    expect_text(m, neg, "format -max");
    assert_int_equal(money_parse(neg, strlen(neg), sc, NEG, &back), 0);
    assert_true(back.v == -MONEY_V_MAX && back.scale == sc);

    assert_int_equal(money_parse(rows[i].over, strlen(rows[i].over), sc, 0, &back),
                     -ERR_MONEY_OVERFLOW);
    assert_int_equal(money_parse(negover, strlen(negover), sc, NEG, &back), -ERR_MONEY_OVERFLOW);
  }
  /* The integer part alone overflows at a positive scale. */
  struct money m;
  assert_int_equal(money_parse("170141183460469231732", 21, 18, 0, &m), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_parse("2", 1, 38, 0, &m), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_parse("1", 1, 38, 0, &m), 0);
  expect_text(m, "1.00000000000000000000000000000000000000", "1 at 38");
}

/* ------------------------------------------------------------------ */
/* Parse and format                                                    */
/* ------------------------------------------------------------------ */

static void test_parse_errors(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    size_t len; /* 0: strlen */
    unsigned scale, flags;
    int want;
  } rows[] = {
      /* sign */
      {"+1", 0, 2, 0, -ERR_MONEY_SIGN},
      {"+1", 0, 2, NEG, -ERR_MONEY_SIGN},
      {"+0", 0, 2, NEG, -ERR_MONEY_SIGN},
      {"-1", 0, 2, 0, -ERR_MONEY_SIGN},
      {"-0", 0, 0, 0, -ERR_MONEY_SIGN},
      {"--1", 0, 2, 0, -ERR_MONEY_SIGN},
      {"+inf", 0, 2, NEG, -ERR_MONEY_SIGN},
      /* exponent */
      {"1e5", 0, 2, 0, -ERR_MONEY_EXPONENT},
      {"1E5", 0, 2, 0, -ERR_MONEY_EXPONENT},
      {"1.5E-3", 0, 2, 0, -ERR_MONEY_EXPONENT},
      {"-1.5e+3", 0, 2, NEG, -ERR_MONEY_EXPONENT},
      {"1.50e3", 0, 1, 0, -ERR_MONEY_EXPONENT},
      {"0e0", 0, 2, 0, -ERR_MONEY_EXPONENT},
      {"1.e5", 0, 2, 0, -ERR_MONEY_EXPONENT},
      {"1e", 0, 2, 0, -ERR_MONEY_EXPONENT},
      /* NaN and infinities, in any case */
      {"NaN", 0, 2, 0, -ERR_MONEY_NAN},
      {"nan", 0, 2, 0, -ERR_MONEY_NAN},
      {"NAN", 0, 2, NEG, -ERR_MONEY_NAN},
      {"inf", 0, 2, 0, -ERR_MONEY_NAN},
      {"Infinity", 0, 2, 0, -ERR_MONEY_NAN},
      {"INFINITY", 0, 2, 0, -ERR_MONEY_NAN},
      {"-inf", 0, 2, NEG, -ERR_MONEY_NAN},
      {"-inf", 0, 2, 0, -ERR_MONEY_NAN},
      {"-Infinity", 0, 2, NEG, -ERR_MONEY_NAN},
      /* precision, zeros included */
      {"1.50", 0, 1, 0, -ERR_MONEY_PRECISION},
      {"1.0", 0, 0, 0, -ERR_MONEY_PRECISION},
      {"0.001", 0, 2, 0, -ERR_MONEY_PRECISION},
      {"-0.000", 0, 2, NEG, -ERR_MONEY_PRECISION},
      {"0.000000000000000000000000000000000000001", 0, 38, 0, -ERR_MONEY_PRECISION},
      /* scale argument */
      {"1", 0, 39, 0, -ERR_MONEY_SCALE},
      {"1", 0, 1000, NEG, -ERR_MONEY_SCALE},
      /* syntax */
      {"", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {".5", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"1.", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"01", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"00", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"00.5", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"-01", 0, 2, NEG, -ERR_MONEY_SYNTAX},
      {" 1", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"1 ", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"1\n", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"1,000", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"1_000", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"--1", 0, 2, NEG, -ERR_MONEY_SYNTAX},
      {"-", 0, 2, NEG, -ERR_MONEY_SYNTAX},
      {"-.5", 0, 2, NEG, -ERR_MONEY_SYNTAX},
      {"- 1", 0, 2, NEG, -ERR_MONEY_SYNTAX},
      {"0x10", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"1.2.3", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"1..2", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {".", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"e5", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {".e5", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"nana", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"infinit", 0, 2, 0, -ERR_MONEY_SYNTAX},
      {"1\0", 2, 2, 0, -ERR_MONEY_SYNTAX},
      {"1\0002", 3, 2, 0, -ERR_MONEY_SYNTAX},
      {"\0", 1, 2, 0, -ERR_MONEY_SYNTAX},
      {"\xd9\xa1", 0, 2, 0, -ERR_MONEY_SYNTAX},     /* ARABIC-INDIC DIGIT ONE */
      {"\xef\xbc\x91", 0, 2, 0, -ERR_MONEY_SYNTAX}, /* FULLWIDTH ONE */
      {"1\xc2\xa0", 0, 2, 0, -ERR_MONEY_SYNTAX},    /* NO-BREAK SPACE */
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    size_t len = rows[i].len ? rows[i].len : strlen(rows[i].text);
    struct money m = {77, 77};
    int rc = money_parse(rows[i].text, len, rows[i].scale, rows[i].flags, &m);
    if (rc != rows[i].want)
      fail_msg("row %zu \"%s\": got %s, want %s", i, rows[i].text, rc ? err_name(rc) : "success",
               err_name(rows[i].want));
    assert_true(m.v == 77 && m.scale == 77);
  }

  /* Length: MONEY_PARSE_MAX bytes are looked at, one more is too long. */
  char big[MONEY_PARSE_MAX + 2];
  struct money m;
  memset(big, '1', sizeof big);
  assert_int_equal(money_parse(big, MONEY_PARSE_MAX + 1, 2, 0, &m), -ERR_TOO_LONG);
  assert_int_equal(money_parse(big, MONEY_PARSE_MAX, 2, 0, &m), -ERR_MONEY_OVERFLOW);
  memset(big, ' ', sizeof big);
  assert_int_equal(money_parse(big, MONEY_PARSE_MAX + 1, 2, 0, &m), -ERR_TOO_LONG);
  assert_int_equal(money_parse(big, MONEY_PARSE_MAX, 2, 0, &m), -ERR_MONEY_SYNTAX);
  assert_int_equal(money_parse(NULL, 0, 2, 0, &m), -ERR_MONEY_SYNTAX);
}

static void test_parse_ok(void **state)
{
  (void)state;
  struct money m;
  assert_int_equal(money_parse("-0", 2, 0, NEG, &m), 0);
  assert_true(m.v == 0 && m.scale == 0);
  expect_text(m, "0", "-0");
  assert_int_equal(money_parse("-0.00", 5, 2, NEG, &m), 0);
  assert_true(m.v == 0 && m.scale == 2);
  expect_text(m, "0.00", "-0.00");
  assert_int_equal(money_parse("0.05", 4, 2, 0, &m), 0);
  assert_true(m.v == 5 && m.scale == 2);
  assert_int_equal(money_parse("123", 3, 2, 0, &m), 0);
  assert_true(m.v == 12300 && m.scale == 2);
  expect_text(m, "123.00", "123 at 2");
  assert_int_equal(money_parse("1.5", 3, 18, 0, &m), 0);
  assert_true(m.v == (i128)1500000000000000000LL && m.scale == 18);
  assert_int_equal(money_parse("-1.5", 4, 1, NEG, &m), 0);
  assert_true(m.v == -15 && m.scale == 1);
  assert_int_equal(money_parse("0.00000000000000000000000000000000000001", 40, 38, 0, &m), 0);
  assert_true(m.v == 1 && m.scale == 38);
  /* Only @len bytes are read. */
  assert_int_equal(money_parse("12345", 3, 0, 0, &m), 0);
  assert_true(m.v == 123);
  assert_int_equal(money_parse("1.25xyz", 4, 2, 0, &m), 0);
  assert_true(m.v == 125);
  assert_int_equal(money_parse("1.25xyz", 3, 2, 0, &m), 0);
  assert_true(m.v == 120);
}

static void test_format(void **state)
{
  (void)state;
  static const struct {
    i128 v;
    unsigned scale;
    const char *want;
  } rows[] = {
      {0, 0, "0"},
      {0, 2, "0.00"},
      {5, 2, "0.05"},
      {-5, 2, "-0.05"},
      {-1, 0, "-1"},
      {1, 38, "0.00000000000000000000000000000000000001"},
      {-MONEY_V_MAX, 38, "-" MAX38},
      {-MONEY_V_MAX, 0, "-" MAX0},
      {(i128)10000000000000000000ULL, 19, "1.0000000000000000000"},
      {(i128)9999999999999999999ULL, 19, "0.9999999999999999999"},
      {-(i128)10000000000000000000ULL * 10, 0, "-100000000000000000000"},
      {123456, 3, "123.456"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    struct money m, back;
    assert_int_equal(money_make(rows[i].v, rows[i].scale, &m), 0);
    expect_text(m, rows[i].want, "format");
    assert_int_equal(money_parse(rows[i].want, strlen(rows[i].want), rows[i].scale, NEG, &back), 0);
    assert_true(back.v == m.v && back.scale == m.scale);
  }

  /* Every buffer too small by even one byte is refused, NUL-terminated. */
  struct money m;
  assert_int_equal(money_make(-MONEY_V_MAX, 38, &m), 0);
  char buf[MONEY_STR_MAX];
  size_t need = strlen("-" MAX38) + 1;
  for (size_t size = 1; size < need; size++) {
    memset(buf, 'x', sizeof buf);
    assert_int_equal(money_format(m, buf, size), -ERR_TOO_LONG);
    assert_int_equal(buf[0], '\0');
  }
  assert_int_equal(money_format(m, NULL, 0), -ERR_TOO_LONG);
  assert_int_equal(money_format(m, buf, need), (int)need - 1);
  assert_string_equal(buf, "-" MAX38);

  /* Values that are not valid money are refused. */
  struct money bad = {1, 39};
  assert_int_equal(money_format(bad, buf, sizeof buf), -ERR_MONEY_SCALE);
  assert_int_equal(buf[0], '\0');
  bad.v = -MONEY_V_MAX - 1;
  bad.scale = 0;
  assert_int_equal(money_format(bad, buf, sizeof buf), -ERR_MONEY_OVERFLOW);
}

/* ------------------------------------------------------------------ */
/* Rounding                                                            */
/* ------------------------------------------------------------------ */

#define INEXACT NULL
#define OVER    "overflow"

enum op { OP_RESCALE, OP_MUL, OP_DIV };

struct round_case {
  const char *a, *b; /* operands at the scales of their text */
  unsigned scale;    /* result scale */
  /* by mode (EXACT, DOWN, UP, HALF_EVEN): the text, INEXACT or OVER */
  const char *want[4];
};

static const char *const mode_names[] = {"EXACT", "DOWN", "UP", "HALF_EVEN"};

static int run_op(enum op op, struct money a, struct money b, unsigned scale, enum money_round mode,
                  struct money *out)
{
  switch (op) {
  case OP_RESCALE:
    return money_rescale(a, scale, mode, out);
  case OP_MUL:
    return money_mul(a, b, scale, mode, out);
  case OP_DIV:
  default:
    return money_div(a, b, scale, mode, out);
  }
}

static void check_rounding(enum op op, const struct round_case *rows, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    struct money a = val(rows[i].a);
    struct money b = rows[i].b ? val(rows[i].b) : a;
    for (int mode = 0; mode < 4; mode++) {
      const char *want = rows[i].want[mode];
      struct money out = {77, 77};
      int rc = run_op(op, a, b, rows[i].scale, (enum money_round)mode, &out);
      int want_rc = want == INEXACT           ? -ERR_MONEY_INEXACT
                    : strcmp(want, OVER) == 0 ? -ERR_MONEY_OVERFLOW
                                              : 0;
      if (rc != want_rc)
        fail_msg("%s %s at %u %s: got %s, want %s", rows[i].a, rows[i].b ? rows[i].b : "",
                 rows[i].scale, mode_names[mode], rc ? err_name(rc) : "success",
                 want_rc ? err_name(want_rc) : want);
      if (rc == 0) {
        char what[160];
        snprintf(what, sizeof what, "%s %s at %u %s", rows[i].a, rows[i].b ? rows[i].b : "",
                 rows[i].scale, mode_names[mode]);
        expect_text(out, want, what);
      } else {
        assert_true(out.v == 77 && out.scale == 77);
      }
    }
  }
}

static void test_rescale_rounding(void **state)
{
  (void)state;
  static const struct round_case rows[] = {
      {"2.5", NULL, 0, {INEXACT, "2", "3", "2"}},
      {"3.5", NULL, 0, {INEXACT, "3", "4", "4"}},
      {"-2.5", NULL, 0, {INEXACT, "-2", "-3", "-2"}},
      {"-3.5", NULL, 0, {INEXACT, "-3", "-4", "-4"}},
      {"0.5", NULL, 0, {INEXACT, "0", "1", "0"}},
      {"-0.5", NULL, 0, {INEXACT, "0", "-1", "0"}},
      {"1.5", NULL, 0, {INEXACT, "1", "2", "2"}},
      {"-1.5", NULL, 0, {INEXACT, "-1", "-2", "-2"}},
      {"2.49", NULL, 0, {INEXACT, "2", "3", "2"}},
      {"2.51", NULL, 0, {INEXACT, "2", "3", "3"}},
      {"-2.49", NULL, 0, {INEXACT, "-2", "-3", "-2"}},
      {"-2.51", NULL, 0, {INEXACT, "-2", "-3", "-3"}},
      {"2.50", NULL, 0, {INEXACT, "2", "3", "2"}},
      {"0.04", NULL, 1, {INEXACT, "0.0", "0.1", "0.0"}},
      {"-0.06", NULL, 1, {INEXACT, "0.0", "-0.1", "-0.1"}},
      {"2.50", NULL, 1, {"2.5", "2.5", "2.5", "2.5"}},
      {"-7.0", NULL, 0, {"-7", "-7", "-7", "-7"}},
      {"-1.5", NULL, 3, {"-1.500", "-1.500", "-1.500", "-1.500"}},
      {"1.50000000000000000000000000000000000000", NULL, 0, {INEXACT, "1", "2", "2"}},
      {HALF38, NULL, 0, {INEXACT, "0", "1", "0"}},
      {"0.50000000000000000000000000000000000001", NULL, 0, {INEXACT, "0", "1", "1"}},
      {"-1.49999999999999999999999999999999999999", NULL, 0, {INEXACT, "-1", "-2", "-1"}},
      {"0.00000000000000000000000000000000000005",
       NULL,
       37,
       {INEXACT, "0.0000000000000000000000000000000000000",
        "0.0000000000000000000000000000000000001", "0.0000000000000000000000000000000000000"}},
      {"-0.00000000000000000000000000000000000015",
       NULL,
       37,
       {INEXACT, "-0.0000000000000000000000000000000000001",
        "-0.0000000000000000000000000000000000002", "-0.0000000000000000000000000000000000002"}},
      {MAX38,
       NULL,
       37,
       {INEXACT, "1.7014118346046923173168730371588410572",
        "1.7014118346046923173168730371588410573", "1.7014118346046923173168730371588410573"}},
      {"-" MAX38, NULL, 0, {INEXACT, "-1", "-2", "-2"}},
      {MAX0, NULL, 0, {MAX0, MAX0, MAX0, MAX0}},
      {MAX0, NULL, 1, {OVER, OVER, OVER, OVER}},
  };
  check_rounding(OP_RESCALE, rows, sizeof rows / sizeof rows[0]);
}

static void test_mul_rounding(void **state)
{
  (void)state;
  static const struct round_case rows[] = {
      {"0.5", "5", 0, {INEXACT, "2", "3", "2"}},
      {"1.5", "5", 0, {INEXACT, "7", "8", "8"}},
      {"-0.5", "5", 0, {INEXACT, "-2", "-3", "-2"}},
      {"1.5", "-5", 0, {INEXACT, "-7", "-8", "-8"}},
      {"-1.5", "-5", 0, {INEXACT, "7", "8", "8"}},
      {"0.49", "5", 0, {INEXACT, "2", "3", "2"}},
      {"0.51", "5", 0, {INEXACT, "2", "3", "3"}},
      {"-0.49", "5", 0, {INEXACT, "-2", "-3", "-2"}},
      {"-0.51", "5", 0, {INEXACT, "-2", "-3", "-3"}},
      {"1.5", "2", 0, {"3", "3", "3", "3"}},
      {"1.5", "2", 2, {"3.00", "3.00", "3.00", "3.00"}},
      {"-0.1", "0.1", 1, {INEXACT, "0.0", "-0.1", "0.0"}},
      /* products beyond 128 bits */
      {HALF38, HALF38, 1, {INEXACT, "0.2", "0.3", "0.2"}},
      {HALF38, "-0.70000000000000000000000000000000000000", 1, {INEXACT, "-0.3", "-0.4", "-0.4"}},
      {"0.50000000000000000000000000000000000001", HALF38, 1, {INEXACT, "0.2", "0.3", "0.3"}},
      {"-0.49999999999999999999999999999999999999", HALF38, 1, {INEXACT, "-0.2", "-0.3", "-0.2"}},
      {HALF38,
       HALF38,
       38,
       {"0.25000000000000000000000000000000000000", "0.25000000000000000000000000000000000000",
        "0.25000000000000000000000000000000000000", "0.25000000000000000000000000000000000000"}},
      {MAX38, MAX38, 38, {OVER, OVER, OVER, OVER}},
      {MAX38,
       MAX38,
       37,
       {INEXACT, "2.8948022309329048855892746252171976962",
        "2.8948022309329048855892746252171976963", "2.8948022309329048855892746252171976963"}},
      {MAX38,
       "-" MAX38,
       36,
       {INEXACT, "-2.894802230932904885589274625217197696",
        "-2.894802230932904885589274625217197697", "-2.894802230932904885589274625217197696"}},
      {"-" MAX38, MAX38, 0, {INEXACT, "-2", "-3", "-3"}},
      /* (1 - 10^-38)(1 + 10^-38) = 1 - 10^-76 takes the rare add-back
         step of the 256-bit long division */
      {"0.99999999999999999999999999999999999999",
       "1.00000000000000000000000000000000000001",
       1,
       {INEXACT, "0.9", "1.0", "1.0"}},
      {"0.99999999999999999999999999999999999999",
       "-1.00000000000000000000000000000000000001",
       20,
       {INEXACT, "-0.99999999999999999999", "-1.00000000000000000000", "-1.00000000000000000000"}},
      /* (2^128 - 1) / 3 * 1.5 = MONEY_V_MAX + 0.5: only DOWN fits */
      {"113427455640312821154458202477256070485", "1.5", 0, {INEXACT, MAX0, OVER, OVER}},
  };
  check_rounding(OP_MUL, rows, sizeof rows / sizeof rows[0]);
}

static void test_div_rounding(void **state)
{
  (void)state;
  static const struct round_case rows[] = {
      {"5", "2", 0, {INEXACT, "2", "3", "2"}},
      {"7", "2", 0, {INEXACT, "3", "4", "4"}},
      {"-5", "2", 0, {INEXACT, "-2", "-3", "-2"}},
      {"7", "-2", 0, {INEXACT, "-3", "-4", "-4"}},
      {"-7", "-2", 0, {INEXACT, "3", "4", "4"}},
      {"12", "5", 0, {INEXACT, "2", "3", "2"}},
      {"13", "5", 0, {INEXACT, "2", "3", "3"}},
      {"-12", "5", 0, {INEXACT, "-2", "-3", "-2"}},
      {"-13", "5", 0, {INEXACT, "-2", "-3", "-3"}},
      {"1", "3", 2, {INEXACT, "0.33", "0.34", "0.33"}},
      {"-2", "3", 2, {INEXACT, "-0.66", "-0.67", "-0.67"}},
      {"1", "8", 2, {INEXACT, "0.12", "0.13", "0.12"}},
      {"3", "8", 2, {INEXACT, "0.37", "0.38", "0.38"}},
      {"6", "3", 0, {"2", "2", "2", "2"}},
      {"1", "4", 2, {"0.25", "0.25", "0.25", "0.25"}},
      {"1.25", "0.5", 0, {INEXACT, "2", "3", "2"}},
      {"-1.75", "0.5", 0, {INEXACT, "-3", "-4", "-4"}},
      /* divisor scaled beyond 128 bits */
      {"0.00000000000000000000000000000000000001", MAX0, 0, {INEXACT, "0", "1", "0"}},
      {"-0.00000000000000000000000000000000000001", MAX0, 0, {INEXACT, "0", "-1", "0"}},
      /* numerator scaled beyond 128 bits */
      {"1", "0.80000000000000000000000000000000000000", 1, {INEXACT, "1.2", "1.3", "1.2"}},
      {"3", "0.80000000000000000000000000000000000000", 1, {INEXACT, "3.7", "3.8", "3.8"}},
      {"-3", "0.80000000000000000000000000000000000000", 1, {INEXACT, "-3.7", "-3.8", "-3.8"}},
      {"1",
       "0.00000000000000000000000000000000000001",
       0,
       {"100000000000000000000000000000000000000", "100000000000000000000000000000000000000",
        "100000000000000000000000000000000000000", "100000000000000000000000000000000000000"}},
      {"1", "0.00000000000000000000000000000000000001", 38, {OVER, OVER, OVER, OVER}},
      {MAX0, MAX38, 38, {OVER, OVER, OVER, OVER}},
      {MAX0, "1", 38, {OVER, OVER, OVER, OVER}},
      {MAX0, "0.5", 0, {OVER, OVER, OVER, OVER}},
      {MAX0, "1.0", 0, {MAX0, MAX0, MAX0, MAX0}},
  };
  check_rounding(OP_DIV, rows, sizeof rows / sizeof rows[0]);
}

/* ------------------------------------------------------------------ */
/* Overflow, mixed scales, tokens, invalid inputs                       */
/* ------------------------------------------------------------------ */

static void test_overflow(void **state)
{
  (void)state;
  struct money out = {77, 77};
  struct money max = val(MAX0), nmax = val("-" MAX0), one = val("1");
  struct money m1 = val("-1"), max38 = val(MAX38),
               ulp38 = val("0."
                           "0000000000000000000000000000000000000"
                           "1");

  assert_int_equal(money_add(max, one, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_add(nmax, m1, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_add(max38, ulp38, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_add(max, val("0.1"), &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_sub(nmax, one, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_sub(max, m1, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_mul(max, val("2"), 0, MONEY_ROUND_DOWN, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_mul(max, max, 0, MONEY_ROUND_DOWN, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_mul(max38, val("10"), 38, MONEY_ROUND_DOWN, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_mul(max, one, 1, MONEY_ROUND_DOWN, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_div(max, val("0.5"), 0, MONEY_ROUND_DOWN, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_rescale(max, 1, MONEY_ROUND_DOWN, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(
      money_rescale(val("20000000000000000000000000000000000000"), 1, MONEY_ROUND_DOWN, &out),
      -ERR_MONEY_OVERFLOW);
  /* Exactly 2^127, one past MONEY_V_MAX, by each route. */
  struct money p126 = val("85070591730234615865843651857942052864");
  assert_int_equal(money_mul(p126, val("2"), 0, MONEY_ROUND_EXACT, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_mul(p126, val("2.0"), 0, MONEY_ROUND_EXACT, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_div(p126, val("0.5"), 0, MONEY_ROUND_EXACT, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_add(p126, p126, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_sub(val("-" MAX0), one, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_parse("170141183460469231731687303715884105728", 39, 0, 0, &out),
                   -ERR_MONEY_OVERFLOW);
  assert_true(out.v == 77 && out.scale == 77);

  /* Just inside the range. */
  assert_int_equal(money_add(max, m1, &out), 0);
  expect_text(out, "170141183460469231731687303715884105726", "max - 1");
  assert_int_equal(money_sub(nmax, m1, &out), 0);
  expect_text(out, "-170141183460469231731687303715884105726", "-max + 1");
  assert_int_equal(
      money_rescale(val("10000000000000000000000000000000000000"), 1, MONEY_ROUND_EXACT, &out), 0);
  expect_text(out, "10000000000000000000000000000000000000.0", "1e37 at 1");
  assert_int_equal(money_mul(val("10000000000000000000"), val("10000000000000000000"), 0,
                             MONEY_ROUND_EXACT, &out),
                   0);
  expect_text(out, "100000000000000000000000000000000000000", "1e19^2");
  assert_int_equal(money_mul(val("100000000000000000000"), val("10000000000000000000"), 0,
                             MONEY_ROUND_EXACT, &out),
                   -ERR_MONEY_OVERFLOW);
  /* A 134-bit product whose result fits. */
  assert_int_equal(money_mul(val("100.000000000000000000"), val("100.000000000000000000"), 18,
                             MONEY_ROUND_EXACT, &out),
                   0);
  expect_text(out, "10000.000000000000000000", "100 * 100 at 18");

  /* Division by zero, at any scale, before anything else arithmetic. */
  assert_int_equal(money_div(one, val("0"), 2, MONEY_ROUND_DOWN, &out), -ERR_MONEY_DIV_ZERO);
  assert_int_equal(money_div(val("0"), val("0.00"), 2, MONEY_ROUND_EXACT, &out),
                   -ERR_MONEY_DIV_ZERO);
  assert_int_equal(money_div(max, val("-0.0"), 38, MONEY_ROUND_UP, &out), -ERR_MONEY_DIV_ZERO);
}

static void test_mixed_scales(void **state)
{
  (void)state;
  struct money out;
  assert_int_equal(money_add(val("1.5"), val("0.25"), &out), 0);
  expect_text(out, "1.75", "1.5 + 0.25");
  assert_int_equal(money_add(val("0.25"), val("-1.5"), &out), 0);
  expect_text(out, "-1.25", "0.25 + -1.5");
  assert_int_equal(money_sub(val("1.5"), val("0.25"), &out), 0);
  expect_text(out, "1.25", "1.5 - 0.25");
  assert_int_equal(money_sub(val("0.25"), val("1.5"), &out), 0);
  expect_text(out, "-1.25", "0.25 - 1.5");
  assert_int_equal(money_sub(val("1.5"), val("1.50"), &out), 0);
  expect_text(out, "0.00", "1.5 - 1.50");
  assert_int_equal(money_add(val("1"), val("0.00000000000000000000000000000000000001"), &out), 0);
  expect_text(out, "1.00000000000000000000000000000000000001", "1 + 1e-38");
  /* The upscaled 2e37 leaves the range, the sum does not. */
  assert_int_equal(money_add(val("20000000000000000000000000000000000000"),
                             val("-10000000000000000000000000000000000000.0"), &out),
                   0);
  expect_text(out, "10000000000000000000000000000000000000.0", "2e37 - 1e37");
  assert_int_equal(money_sub(val("-20000000000000000000000000000000000000"),
                             val("-10000000000000000000000000000000000000.0"), &out),
                   0);
  expect_text(out, "-10000000000000000000000000000000000000.0", "-2e37 + 1e37");
  assert_int_equal(money_add(val(MAX0), val("0.0"), &out), -ERR_MONEY_OVERFLOW);

  assert_int_equal(money_cmp(val("1.50"), val("1.5")), 0);
  assert_int_equal(money_cmp(val("1.5"), val("1.51")), -1);
  assert_int_equal(money_cmp(val("1.51"), val("1.5")), 1);
  assert_int_equal(money_cmp(val("-1.5"), val("-1.51")), 1);
  assert_int_equal(money_cmp(val("-1.51"), val("-1.5")), -1);
  assert_int_equal(money_cmp(val("0"), val("0.00000")), 0);
  assert_int_equal(money_cmp(val("-0.01"), val("0")), -1);
  assert_int_equal(money_cmp(val("0.00000000000000000000000000000000000001"), val("0")), 1);
  assert_int_equal(money_cmp(val(MAX0), val(MAX38)), 1);
  assert_int_equal(money_cmp(val("-" MAX0), val("-" MAX38)), -1);
  assert_int_equal(money_cmp(val(MAX38), val("2")), -1);
  assert_int_equal(money_cmp(val(MAX38), val("1")), 1);
  assert_int_equal(money_cmp(val("-" MAX0), val(MAX0)), -1);
  assert_int_equal(money_cmp(val("1.5"), val("1.50000000000000000000000000000000000000")), 0);
  assert_int_equal(money_cmp(val(MAX38), val("1.7014118346046923173168730371588410573")), -1);
}

static void test_tokens(void **state)
{
  (void)state;
  struct money tokens = val("1.500000000000000000"); /* 18 decimals */
  struct money price = val("123.45");
  struct money out;
  const char *want[4] = {INEXACT, "185.17", "185.18", "185.18"};
  for (int mode = 0; mode < 4; mode++) {
    int rc = money_mul(tokens, price, 2, (enum money_round)mode, &out);
    if (want[mode] == INEXACT) {
      assert_int_equal(rc, -ERR_MONEY_INEXACT);
    } else {
      assert_int_equal(rc, 0);
      expect_text(out, want[mode], mode_names[mode]);
    }
  }
  assert_int_equal(money_mul(tokens, price, 18, MONEY_ROUND_EXACT, &out), 0);
  expect_text(out, "185.175000000000000000", "1.5 * 123.45 at 18");

  /* How many tokens 100.00 buys at 123.45. */
  assert_int_equal(money_div(val("100.00"), price, 18, MONEY_ROUND_DOWN, &out), 0);
  expect_text(out, "0.810044552450384771", "100 / 123.45 down");
  assert_int_equal(money_div(val("100.00"), price, 18, MONEY_ROUND_UP, &out), 0);
  expect_text(out, "0.810044552450384772", "100 / 123.45 up");
  assert_int_equal(money_div(val("100.00"), price, 18, MONEY_ROUND_HALF_EVEN, &out), 0);
  expect_text(out, "0.810044552450384771", "100 / 123.45 half even");

  /* One wei of a token is worth less than a cent. */
  struct money wei = val("0.000000000000000001");
  assert_int_equal(money_mul(wei, val("0.01"), 2, MONEY_ROUND_DOWN, &out), 0);
  expect_text(out, "0.00", "wei down");
  assert_int_equal(money_mul(wei, val("0.01"), 2, MONEY_ROUND_UP, &out), 0);
  expect_text(out, "0.01", "wei up");
  assert_int_equal(money_add(val("0.1"), val("0.2"), &out), 0);
  assert_int_equal(money_rescale(out, 18, MONEY_ROUND_EXACT, &out), 0);
  expect_text(out, "0.300000000000000000", "0.1 + 0.2");
  assert_int_equal(money_rescale(tokens, 0, MONEY_ROUND_HALF_EVEN, &out), 0);
  expect_text(out, "2", "1.5 tokens whole");
}

static void test_invalid_inputs(void **state)
{
  (void)state;
  struct money ok = val("1.5"), out = {77, 77};
  struct money bad_scale = {1, 39}, bad_v = {-MONEY_V_MAX - 1, 0};
  enum money_round d = MONEY_ROUND_DOWN;

  assert_int_equal(money_rescale(ok, 39, d, &out), -ERR_MONEY_SCALE);
  assert_int_equal(money_mul(ok, ok, 39, d, &out), -ERR_MONEY_SCALE);
  assert_int_equal(money_div(ok, ok, 39, d, &out), -ERR_MONEY_SCALE);
  assert_int_equal(money_div(ok, val("0"), 39, d, &out), -ERR_MONEY_SCALE);
  assert_int_equal(money_add(bad_scale, ok, &out), -ERR_MONEY_SCALE);
  assert_int_equal(money_sub(ok, bad_scale, &out), -ERR_MONEY_SCALE);
  assert_int_equal(money_mul(bad_scale, ok, 2, d, &out), -ERR_MONEY_SCALE);
  assert_int_equal(money_div(ok, bad_scale, 2, d, &out), -ERR_MONEY_SCALE);
  assert_int_equal(money_rescale(bad_scale, 2, d, &out), -ERR_MONEY_SCALE);
  assert_int_equal(money_add(bad_v, ok, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_sub(ok, bad_v, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_mul(ok, bad_v, 2, d, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_div(bad_v, ok, 2, d, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_div(ok, bad_v, 2, d, &out), -ERR_MONEY_OVERFLOW);
  assert_int_equal(money_rescale(bad_v, 2, d, &out), -ERR_MONEY_OVERFLOW);
  assert_true(out.v == 77 && out.scale == 77);
  /* cmp stays exact and total even so. */
  struct money huge_scale = {1, 200};
  assert_int_equal(money_cmp(huge_scale, val("0.00000000000000000000000000000000000001")), -1);
  assert_int_equal(money_cmp(val("-1"), huge_scale), -1);
  assert_int_equal(money_cmp(val("0.00000000000000000000000000000000000001"), huge_scale), 1);
  assert_int_equal(money_cmp(bad_v, val("-" MAX0)), -1);
  assert_int_equal(money_cmp(huge_scale, huge_scale), 0);
}

/* ------------------------------------------------------------------ */
/* Random cases against GMP                                             */
/* ------------------------------------------------------------------ */

static uint64_t seed = DEFAULT_SEED;
static uint64_t rng_state;
static mpz_t zmax;

/* xorshift64*, restarted per test so each test repeats on its own. */
static void rng_start(unsigned test)
{
  rng_state = seed ^ (0x9e3779b97f4a7c15ULL * (test + 1));
  if (rng_state == 0)
    rng_state = 1;
}

static uint64_t rng(void)
{
  uint64_t x = rng_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng_state = x;
  return x * 0x2545f4914f6cdd1dULL;
}

static unsigned below(unsigned n)
{
  return (unsigned)(rng() % n);
}

static u128 pow10_u128(unsigned k)
{
  u128 p = 1;
  while (k-- > 0)
    p *= 10;
  return p;
}

/* A magnitude 0..MONEY_V_MAX: mostly of a random bit length, sometimes a
   value near a power of ten or a tie (5, 15, 25 times one). */
static u128 rand_mag(void)
{
  if (below(8) == 0) {
    unsigned k = below(39);
    u128 p = pow10_u128(k);
    switch (below(10)) {
    case 0:
      return 0;
    case 1:
      return (u128)MONEY_V_MAX - below(3);
    case 2:
      return p;
    case 3:
      return p - 1;
    case 4:
      return k < 38 ? p + 1 : p;
    case 5:
      return k < 38 ? 5 * p : p;
    case 6:
      return k < 37 ? 15 * p : p;
    case 7:
      return k < 37 ? 25 * p + (p / 10) * below(10) : p;
    case 8:
      return (u128)1 << below(127);
    default:
      return 1 + below(1000);
    }
  }
  unsigned bits = below(128);
  if (bits == 0)
    return 0;
  u128 x = ((u128)rng() << 64) | rng();
  x &= ((u128)1 << bits) - 1;
  return x | ((u128)1 << (bits - 1));
}

static struct money rand_money(void)
{
  u128 m = rand_mag();
  struct money r;
  r.v = below(2) ? -(i128)m : (i128)m;
  r.scale = (uint8_t)below(MONEY_MAX_SCALE + 1);
  return r;
}

/* Mostly valid; one in 200 has a bad scale, one in 200 is -2^127. */
static struct money rand_input(void)
{
  struct money r = rand_money();
  unsigned k = below(200);
  if (k == 0)
    r.scale = (uint8_t)(MONEY_MAX_SCALE + 1 + below(200));
  else if (k == 1)
    r.v = -MONEY_V_MAX - 1;
  return r;
}

static unsigned rand_target_scale(void)
{
  return below(50) == 0 ? MONEY_MAX_SCALE + 1 + below(30) : below(MONEY_MAX_SCALE + 1);
}

static void z_set_i128(mpz_t z, i128 v)
{
  u128 m = v < 0 ? -(u128)v : (u128)v;
  mpz_set_ui(z, (unsigned long)(uint64_t)(m >> 64));
  mpz_mul_2exp(z, z, 64);
  mpz_add_ui(z, z, (unsigned long)(uint64_t)m);
  if (v < 0)
    mpz_neg(z, z);
}

/* z *= 10^k */
static void z_mul_p10(mpz_t z, unsigned k)
{
  mpz_t p;
  mpz_init(p);
  mpz_ui_pow_ui(p, 10, k);
  mpz_mul(z, z, p);
  mpz_clear(p);
}

/* The documented error of an input, 0 when valid. */
static int ref_check(struct money a)
{
  if (a.scale > MONEY_MAX_SCALE)
    return -ERR_MONEY_SCALE;
  if (a.v < -MONEY_V_MAX)
    return -ERR_MONEY_OVERFLOW;
  return 0;
}

/*
 * out = n / d (d > 0) rounded by @mode.  Out of range when the rounded
 * result is (in EXACT mode: the result rounded toward zero); INEXACT for
 * any remainder in EXACT mode.
 */
static int ref_round(mpz_t out, const mpz_t n, const mpz_t d, enum money_round mode)
{
  mpz_t q, r;
  mpz_inits(q, r, NULL);
  mpz_tdiv_qr(q, r, n, d);
  int rc = 0;
  if (mpz_cmpabs(q, zmax) > 0) {
    rc = -ERR_MONEY_OVERFLOW;
  } else if (mpz_sgn(r) != 0) {
    int away = 0;
    if (mode == MONEY_ROUND_EXACT) {
      rc = -ERR_MONEY_INEXACT;
    } else if (mode == MONEY_ROUND_UP) {
      away = 1;
    } else if (mode == MONEY_ROUND_HALF_EVEN) {
      mpz_mul_2exp(r, r, 1);
      int c = mpz_cmpabs(r, d);
      away = c > 0 || (c == 0 && mpz_odd_p(q));
    }
    if (away) {
      if (mpz_sgn(n) < 0)
        mpz_sub_ui(q, q, 1);
      else
        mpz_add_ui(q, q, 1);
    }
    if (rc == 0 && mpz_cmpabs(q, zmax) > 0)
      rc = -ERR_MONEY_OVERFLOW;
  }
  if (rc == 0)
    mpz_set(out, q);
  mpz_clears(q, r, NULL);
  return rc;
}

static void describe(char *buf, size_t size, struct money m)
{
  mpz_t z;
  mpz_init(z);
  z_set_i128(z, m.v);
  gmp_snprintf(buf, size, "%Zd/10^%u", z, (unsigned)m.scale);
  mpz_clear(z);
}

/* Compare an operation's answer with the reference; fail with the case. */
static void check_case(const char *op, struct money a, struct money b, unsigned scale, int mode,
                       int rc, struct money out, int want_rc, const mpz_t want)
{
  bool good = rc == want_rc;
  if (good && rc == 0) {
    mpz_t got;
    mpz_init(got);
    z_set_i128(got, out.v);
    good = out.scale == scale && mpz_cmp(got, want) == 0;
    mpz_clear(got);
  } else if (good) {
    good = out.v == 77 && out.scale == 77;
  }
  if (good)
    return;
  char sa[96], sb[96], so[96], sw[96];
  describe(sa, sizeof sa, a);
  describe(sb, sizeof sb, b);
  describe(so, sizeof so, out);
  gmp_snprintf(sw, sizeof sw, "%Zd", want);
  fail_msg("seed 0x%016" PRIx64 ": %s(%s, %s) at %u mode %s: got %s %s, "
           "want %s %s",
           seed, op, sa, sb, scale, mode >= 0 ? mode_names[mode] : "-",
           rc ? err_name(rc) : "success", rc ? "" : so, want_rc ? err_name(want_rc) : "success",
           want_rc ? "" : sw);
}

static void random_add_sub(bool sub, unsigned test)
{
  mpz_t x, y, want;
  mpz_inits(x, y, want, NULL);
  rng_start(test);
  for (int i = 0; i < RANDOM_CASES; i++) {
    struct money a = rand_input(), b = rand_input();
    /* Often the same magnitude range, to reach the edges of the range. */
    if (below(4) == 0)
      b.v = below(2) ? (i128)MONEY_V_MAX - below(1000) : a.v < -MONEY_V_MAX ? 0 : -a.v;
    unsigned sc = a.scale > b.scale ? a.scale : b.scale;
    int want_rc = ref_check(a);
    if (want_rc == 0)
      want_rc = ref_check(b);
    if (want_rc == 0) {
      z_set_i128(x, a.v);
      z_mul_p10(x, sc - a.scale);
      z_set_i128(y, b.v);
      z_mul_p10(y, sc - b.scale);
      if (sub)
        mpz_sub(want, x, y);
      else
        mpz_add(want, x, y);
      if (mpz_cmpabs(want, zmax) > 0)
        want_rc = -ERR_MONEY_OVERFLOW;
    }
    struct money out = {77, 77};
    int rc = sub ? money_sub(a, b, &out) : money_add(a, b, &out);
    check_case(sub ? "sub" : "add", a, b, sc, -1, rc, out, want_rc, want);
  }
  mpz_clears(x, y, want, NULL);
}

static void test_random_add(void **state)
{
  (void)state;
  random_add_sub(false, 1);
}

static void test_random_sub(void **state)
{
  (void)state;
  random_add_sub(true, 2);
}

static void test_random_mul(void **state)
{
  (void)state;
  mpz_t n, d, want;
  mpz_inits(n, d, want, NULL);
  rng_start(3);
  for (int i = 0; i < RANDOM_CASES; i++) {
    struct money a = rand_input(), b = rand_input();
    unsigned sc = rand_target_scale();
    /* Bias the scale toward a result of sensible size. */
    if (below(2) == 0 && sc <= MONEY_MAX_SCALE) {
      unsigned sum = a.scale + b.scale;
      sc = sum > MONEY_MAX_SCALE ? below(MONEY_MAX_SCALE + 1) : sum - below(sum + 1);
    }
    for (int mode = 0; mode < 4; mode++) {
      int want_rc = sc > MONEY_MAX_SCALE ? -ERR_MONEY_SCALE : ref_check(a);
      if (want_rc == 0)
        want_rc = ref_check(b);
      if (want_rc == 0) {
        int k = (int)a.scale + (int)b.scale - (int)sc;
        z_set_i128(n, a.v);
        z_set_i128(d, b.v);
        mpz_mul(n, n, d);
        mpz_set_ui(d, 1);
        if (k >= 0)
          z_mul_p10(d, (unsigned)k);
        else
          z_mul_p10(n, (unsigned)-k);
        want_rc = ref_round(want, n, d, (enum money_round)mode);
      }
      struct money out = {77, 77};
      int rc = money_mul(a, b, sc, (enum money_round)mode, &out);
      check_case("mul", a, b, sc, mode, rc, out, want_rc, want);
    }
  }
  mpz_clears(n, d, want, NULL);
}

static void test_random_div(void **state)
{
  (void)state;
  mpz_t n, d, want;
  mpz_inits(n, d, want, NULL);
  rng_start(4);
  for (int i = 0; i < RANDOM_CASES; i++) {
    struct money a = rand_input(), b = rand_input();
    unsigned sc = rand_target_scale();
    /* Exact ties: a = (2q + 1) c, b = 2c. */
    if (below(8) == 0) {
      u128 c = rand_mag() >> 66, q = rand_mag() >> 66;
      a.v = (i128)((2 * q + 1) * c) * (below(2) ? -1 : 1);
      b.v = (i128)(2 * c);
      a.scale = b.scale = (uint8_t)below(MONEY_MAX_SCALE + 1);
      sc = 0;
    }
    for (int mode = 0; mode < 4; mode++) {
      int want_rc = sc > MONEY_MAX_SCALE ? -ERR_MONEY_SCALE : ref_check(a);
      if (want_rc == 0)
        want_rc = ref_check(b);
      if (want_rc == 0 && b.v == 0)
        want_rc = -ERR_MONEY_DIV_ZERO;
      if (want_rc == 0) {
        int e = (int)sc + (int)b.scale - (int)a.scale;
        z_set_i128(n, a.v);
        z_set_i128(d, b.v);
        if (mpz_sgn(d) < 0) {
          mpz_neg(d, d);
          mpz_neg(n, n);
        }
        if (e >= 0)
          z_mul_p10(n, (unsigned)e);
        else
          z_mul_p10(d, (unsigned)-e);
        want_rc = ref_round(want, n, d, (enum money_round)mode);
      }
      struct money out = {77, 77};
      int rc = money_div(a, b, sc, (enum money_round)mode, &out);
      check_case("div", a, b, sc, mode, rc, out, want_rc, want);
    }
  }
  mpz_clears(n, d, want, NULL);
}

static void test_random_rescale(void **state)
{
  (void)state;
  mpz_t n, d, want;
  mpz_inits(n, d, want, NULL);
  rng_start(5);
  for (int i = 0; i < RANDOM_CASES; i++) {
    struct money a = rand_input();
    unsigned sc = rand_target_scale();
    if (below(2) == 0 && a.scale <= MONEY_MAX_SCALE)
      sc = a.scale - below(a.scale + 1); /* down, where rounding happens */
    for (int mode = 0; mode < 4; mode++) {
      int want_rc = sc > MONEY_MAX_SCALE ? -ERR_MONEY_SCALE : ref_check(a);
      if (want_rc == 0) {
        z_set_i128(n, a.v);
        mpz_set_ui(d, 1);
        if (sc >= a.scale)
          z_mul_p10(n, sc - a.scale);
        else
          z_mul_p10(d, a.scale - sc);
        want_rc = ref_round(want, n, d, (enum money_round)mode);
      }
      struct money out = {77, 77};
      int rc = money_rescale(a, sc, (enum money_round)mode, &out);
      check_case("rescale", a, a, sc, mode, rc, out, want_rc, want);
    }
  }
  mpz_clears(n, d, want, NULL);
}

static void test_random_cmp(void **state)
{
  (void)state;
  mpz_t x, y;
  mpz_inits(x, y, NULL);
  rng_start(6);
  for (int i = 0; i < RANDOM_CASES; i++) {
    struct money a = rand_money(), b = rand_money();
    unsigned k = below(4);
    if (k == 0) {
      /* The same value at a larger scale, when it fits; or one ulp off. */
      unsigned up = below(MONEY_MAX_SCALE + 1 - a.scale);
      i128 v;
      if (!__builtin_mul_overflow(a.v, (i128)pow10_u128(up), &v)) {
        i128 off = (i128)below(3) - 1;
        b.v = (v == MONEY_V_MAX && off > 0) || (v == -MONEY_V_MAX && off < 0) ? v : v + off;
        b.scale = (uint8_t)(a.scale + up);
      }
    } else if (k == 1) {
      b.v = a.v < 0 ? -(i128)rand_mag() : (i128)rand_mag();
    }
    z_set_i128(x, a.v);
    z_mul_p10(x, b.scale);
    z_set_i128(y, b.v);
    z_mul_p10(y, a.scale);
    int want = mpz_cmp(x, y);
    want = (want > 0) - (want < 0);
    int got = money_cmp(a, b), back = money_cmp(b, a);
    if (got != want || back != -want) {
      char sa[96], sb[96];
      describe(sa, sizeof sa, a);
      describe(sb, sizeof sb, b);
      fail_msg("seed 0x%016" PRIx64 ": cmp(%s, %s) = %d / %d, want %d", seed, sa, sb, got, back,
               want);
    }
  }
  mpz_clears(x, y, NULL);
}

/* Reference text of a value: digits from GMP, point, sign. */
static void ref_text(char *buf, size_t size, struct money m)
{
  mpz_t z;
  char digits[64];
  mpz_init(z);
  z_set_i128(z, m.v);
  mpz_abs(z, z);
  mpz_get_str(digits, 10, z);
  mpz_clear(z);
  size_t nd = strlen(digits);
  char padded[64];
  size_t pad = nd < (size_t)m.scale + 1 ? m.scale + 1 - nd : 0;
  memset(padded, '0', pad);
  memcpy(padded + pad, digits, nd + 1);
  size_t total = pad + nd;
  if (m.scale == 0)
    snprintf(buf, size, "%s%s", m.v < 0 ? "-" : "", padded);
  else
    snprintf(buf, size, "%s%.*s.%s", m.v < 0 ? "-" : "", (int)(total - m.scale), padded,
             padded + total - m.scale);
}

static void test_random_format_parse(void **state)
{
  (void)state;
  mpz_t want, got;
  mpz_inits(want, got, NULL);
  rng_start(7);
  for (int i = 0; i < RANDOM_CASES; i++) {
    struct money m = rand_money(), back = {77, 77};
    char text[MONEY_STR_MAX], ref[96];
    int n = money_format(m, text, sizeof text);
    ref_text(ref, sizeof ref, m);
    if (n < 0 || strcmp(text, ref) != 0 || (size_t)n != strlen(ref))
      fail_msg("seed 0x%016" PRIx64 ": format gave \"%s\", want \"%s\"", seed,
               n < 0 ? err_name(n) : text, ref);
    int rc = money_parse(text, (size_t)n, m.scale, NEG, &back);
    if (rc != 0 || back.v != m.v || back.scale != m.scale)
      fail_msg("seed 0x%016" PRIx64 ": \"%s\" did not parse back", seed, text);

    /* At another scale, and perhaps without the sign allowed. */
    unsigned sc = below(MONEY_MAX_SCALE + 1);
    unsigned flags = below(2) ? NEG : 0;
    int want_rc = 0;
    if (m.v < 0 && flags == 0)
      want_rc = -ERR_MONEY_SIGN;
    else if (m.scale > sc)
      want_rc = -ERR_MONEY_PRECISION;
    else {
      z_set_i128(want, m.v);
      z_mul_p10(want, sc - m.scale);
      if (mpz_cmpabs(want, zmax) > 0)
        want_rc = -ERR_MONEY_OVERFLOW;
    }
    back.v = 77;
    back.scale = 77;
    rc = money_parse(text, (size_t)n, sc, flags, &back);
    check_case("parse", m, m, sc, -1, rc, back, want_rc, want);
  }
  mpz_clears(want, got, NULL);
}

/* Random text, often valid, often one edit away from valid. */
static size_t rand_text(char *buf)
{
  static const char noise[] = " ,x.-+eE0123456789\0\xff_";
  static const char *const words[] = {"nan",      "NaN",  "inf", "INF",     "Infinity", "iNfInItY",
                                      "infinity", "nana", "in",  "infinit", "-nan",     "-Inf"};
  size_t n = 0;
  unsigned r = below(100);
  if (r < 3)
    buf[n++] = '+';
  else if (r < 40)
    buf[n++] = '-';
  if (below(30) == 0) {
    const char *w = words[below(sizeof words / sizeof words[0])];
    memcpy(buf + n, w, strlen(w));
    n += strlen(w);
  } else {
    r = below(100);
    if (r < 20) {
      buf[n++] = '0';
    } else if (r < 95) {
      unsigned len = 1 + below(r < 90 ? 22 : 60);
      buf[n++] = (char)('1' + below(9));
      for (unsigned k = 1; k < len; k++)
        buf[n++] = (char)('0' + below(10));
    }
    if (below(2)) {
      buf[n++] = '.';
      unsigned len = below(45);
      for (unsigned k = 0; k < len; k++)
        buf[n++] = (char)('0' + below(10));
    }
    if (below(20) == 0) {
      buf[n++] = below(2) ? 'e' : 'E';
      if (below(2))
        buf[n++] = below(2) ? '-' : '+';
      for (unsigned k = below(4); k > 0; k--)
        buf[n++] = (char)('0' + below(10));
    }
  }
  if (below(4) == 0) {
    for (unsigned k = 1 + below(3); k > 0; k--) {
      unsigned pos = below((unsigned)n + 1);
      unsigned what = below(3);
      if (what == 0 || n == 0 || pos == n) { /* insert */
        memmove(buf + pos + 1, buf + pos, n - pos);
        buf[pos] = noise[below(sizeof noise - 1)];
        n++;
      } else if (what == 1) { /* delete */
        memmove(buf + pos, buf + pos + 1, n - pos - 1);
        n--;
      } else { /* replace */
        buf[pos] = noise[below(sizeof noise - 1)];
      }
    }
  }
  if (below(100) == 0) {
    unsigned to = MONEY_PARSE_MAX - 8 + below(16);
    while (n < to)
      buf[n++] = (char)('0' + below(10));
  }
  return n;
}

static bool matches(const regex_t *re, const char *s, size_t len, bool whole)
{
  char z[256];
  size_t n = strnlen(s, len);
  if (whole && n != len)
    return false; /* a NUL byte inside */
  memcpy(z, s, n);
  z[n] = '\0';
  return regexec(re, z, 0, NULL, 0) == 0;
}

static void test_random_parse_text(void **state)
{
  (void)state;
  regex_t grammar, nan, expo;
  assert_int_equal(regcomp(&grammar, "^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$", REG_EXTENDED), 0);
  assert_int_equal(regcomp(&nan, "^-?(nan|inf|infinity)$", REG_EXTENDED | REG_ICASE), 0);
  assert_int_equal(regcomp(&expo, "^-?([0-9]+\\.?[0-9]*|\\.[0-9]+)[eE]", REG_EXTENDED), 0);
  mpz_t want;
  mpz_init(want);
  rng_start(8);
  unsigned accepted = 0;
  for (int i = 0; i < RANDOM_CASES; i++) {
    char text[200];
    size_t len = rand_text(text);
    unsigned sc = below(MONEY_MAX_SCALE + 2);
    unsigned flags = below(2) ? NEG : 0;
    int want_rc = 0;
    mpz_set_ui(want, 0);
    if (sc > MONEY_MAX_SCALE)
      want_rc = -ERR_MONEY_SCALE;
    else if (len > MONEY_PARSE_MAX)
      want_rc = -ERR_TOO_LONG;
    else if (len == 0)
      want_rc = -ERR_MONEY_SYNTAX;
    else if (text[0] == '+')
      want_rc = -ERR_MONEY_SIGN;
    else if (matches(&nan, text, len, true))
      want_rc = -ERR_MONEY_NAN;
    else if (text[0] == '-' && flags == 0)
      want_rc = -ERR_MONEY_SIGN;
    else if (matches(&expo, text, len, false))
      want_rc = -ERR_MONEY_EXPONENT;
    else if (!matches(&grammar, text, len, true))
      want_rc = -ERR_MONEY_SYNTAX;
    else {
      /* Digits without sign or point, then scaled to @sc. */
      char digits[200];
      size_t nd = 0, nfrac = 0;
      bool frac = false;
      for (size_t k = 0; k < len; k++) {
        if (text[k] == '.')
          frac = true;
        else if (text[k] != '-') {
          digits[nd++] = text[k];
          nfrac += frac;
        }
      }
      digits[nd] = '\0';
      if (nfrac > sc) {
        want_rc = -ERR_MONEY_PRECISION;
      } else {
        mpz_set_str(want, digits, 10);
        z_mul_p10(want, sc - (unsigned)nfrac);
        if (text[0] == '-')
          mpz_neg(want, want);
        if (mpz_cmpabs(want, zmax) > 0)
          want_rc = -ERR_MONEY_OVERFLOW;
      }
    }
    struct money out = {77, 77};
    int rc = money_parse(text, len, sc, flags, &out);
    if (rc == 0)
      accepted++;
    if (rc != want_rc)
      fail_msg("seed 0x%016" PRIx64 ": parse \"%.*s\" (%zu bytes) at %u "
               "flags %u: got %s, want %s",
               seed, (int)len, text, len, sc, flags, rc ? err_name(rc) : "success",
               want_rc ? err_name(want_rc) : "success");
    struct money a = {0, 0};
    check_case("parse", a, a, sc, -1, rc, out, want_rc, want);
  }
  /* The generator must reach the success path often enough to matter. */
  assert_true(accepted > RANDOM_CASES / 10);
  mpz_clear(want);
  regfree(&grammar);
  regfree(&nan);
  regfree(&expo);
}

static int group_setup(void **state)
{
  (void)state;
  mpz_init_set_ui(zmax, 1);
  mpz_mul_2exp(zmax, zmax, 127);
  mpz_sub_ui(zmax, zmax, 1);
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  mpz_clear(zmax);
  return 0;
}

int main(void)
{
  const char *env = getenv("MONEY_TEST_SEED");
  if (env != NULL && *env != '\0')
    seed = strtoull(env, NULL, 0);
  printf("money: random seed 0x%016" PRIx64
         " (MONEY_TEST_SEED repeats a run), %d cases per operation\n",
         seed, RANDOM_CASES);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_make),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_parse_ok),
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_rescale_rounding),
      cmocka_unit_test(test_mul_rounding),
      cmocka_unit_test(test_div_rounding),
      cmocka_unit_test(test_overflow),
      cmocka_unit_test(test_mixed_scales),
      cmocka_unit_test(test_tokens),
      cmocka_unit_test(test_invalid_inputs),
      cmocka_unit_test(test_random_add),
      cmocka_unit_test(test_random_sub),
      cmocka_unit_test(test_random_mul),
      cmocka_unit_test(test_random_div),
      cmocka_unit_test(test_random_rescale),
      cmocka_unit_test(test_random_cmp),
      cmocka_unit_test(test_random_format_parse),
      cmocka_unit_test(test_random_parse_text),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
