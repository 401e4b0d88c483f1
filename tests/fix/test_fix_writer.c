/*
 * Tests of fix/fix_writer.c: the exact bytes of whole messages (with
 * BodyLength and CheckSum computed here independently by plain loops),
 * decimal trimming, UTCTimestamps, buffer sizes to the byte, sticky
 * format errors, and a round trip through fix_parse().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fix/fix.h"

/* Build the expected frame of @body ("35=..." SOH ... SOH, with '|' for
   SOH) the slow way: header, body, then the checksum by a plain loop. */
static size_t expected_frame(const char *body_bars, char *out, size_t size)
{
  static char body[16384];
  size_t blen = strlen(body_bars);
  assert_true(blen < sizeof body);
  for (size_t i = 0; i < blen; i++)
    body[i] = body_bars[i] == '|' ? FIX_SOH : body_bars[i];
  int n = snprintf(out, size,
                   "8=FIX.4.4\x01"
                   "9=%zu\x01",
                   blen);
  assert_true(n > 0 && (size_t)n + blen + 7 < size);
  memcpy(out + n, body, blen);
  size_t len = (size_t)n + blen;
  unsigned sum = 0;
  for (size_t i = 0; i < len; i++)
    sum += (unsigned char)out[i];
  n = snprintf(out + len, size - len, "10=%03u\x01", sum % 256);
  return len + (size_t)n;
}

static struct money m(__int128 v, unsigned scale)
{
  struct money r;
  assert_int_equal(money_make(v, scale, &r), 0);
  return r;
}

static void test_heartbeat(void **state)
{
  (void)state;
  char buf[256], want[256];
  struct fix_writer w;
  fix_writer_begin(&w, buf, sizeof buf, "0");
  fix_writer_u64(&w, 34, 2);
  fix_writer_cstr(&w, 49, "BACKSTOCK");
  fix_writer_time(&w, 52, 1700000000123LL);
  fix_writer_cstr(&w, 56, "BROKER");
  const char *msg;
  size_t len;
  assert_int_equal(fix_writer_finish(&w, &msg, &len), 0);
  size_t wl = expected_frame("35=0|34=2|49=BACKSTOCK|52=20231114-22:13:20.123|56=BROKER|", want,
                             sizeof want);
  assert_int_equal(len, wl);
  assert_memory_equal(msg, want, wl);
  /* The body did not move: it starts at the gap. */
  assert_memory_equal(buf + 32, "35=0\x01", 5);
  assert_ptr_equal(msg + len, buf + w.pos);
}

static void write_nos(struct fix_writer *w, char *buf, size_t cap)
{
  fix_writer_begin(w, buf, cap, "D");
  fix_writer_u64(w, 34, 1234567);
  fix_writer_cstr(w, 49, "BACKSTOCK");
  fix_writer_time(w, 52, 1709251199999LL);
  fix_writer_cstr(w, 56, "BROKER");
  fix_writer_cstr(w, 1, "ACC-001");
  fix_writer_cstr(w, 11, "ORD-20240229-000042");
  fix_writer_money(w, 38, m(1500, 0));
  fix_writer_char(w, 40, '2');
  fix_writer_money(w, 44, m(1005000, 4));
  fix_writer_char(w, 54, '1');
  fix_writer_str(w, 55, "AAPLxx", 4);
  fix_writer_char(w, 59, '0');
  fix_writer_time(w, 60, 1709251199999LL);
}

#define NOS_BODY                                                                                   \
  "35=D|34=1234567|49=BACKSTOCK|52=20240229-23:59:59.999|56=BROKER|1=ACC-001|"                     \
  "11=ORD-20240229-000042|38=1500|40=2|44=100.5|54=1|55=AAPL|59=0|60=20240229-23:59:59.999|"

static void test_new_order_single(void **state)
{
  (void)state;
  char buf[512], want[512];
  struct fix_writer w;
  write_nos(&w, buf, sizeof buf);
  const char *msg;
  size_t len;
  assert_int_equal(fix_writer_finish(&w, &msg, &len), 0);
  size_t wl = expected_frame(NOS_BODY, want, sizeof want);
  assert_int_equal(len, wl);
  assert_memory_equal(msg, want, wl);
}

/* Exactly big enough: 32 bytes of gap + body + 7 bytes of trailer. */
static void test_buffer_exact(void **state)
{
  (void)state;
  char buf[512], want[512];
  size_t need = 32 + strlen(NOS_BODY) + 7;
  size_t wl = expected_frame(NOS_BODY, want, sizeof want);
  struct fix_writer w;
  const char *msg;
  size_t len;
  write_nos(&w, buf, need);
  assert_int_equal(fix_writer_finish(&w, &msg, &len), 0);
  assert_int_equal(len, wl);
  assert_memory_equal(msg, want, wl);
  assert_ptr_equal(msg + len, buf + need);
  /* One short: the trailer no longer fits. */
  write_nos(&w, buf, need - 1);
  assert_int_equal(fix_writer_finish(&w, &msg, &len), -ERR_TOO_LONG);
  /* Much shorter: a field does not fit (and the error sticks). */
  write_nos(&w, buf, need - 40);
  assert_int_equal(fix_writer_finish(&w, &msg, &len), -ERR_TOO_LONG);
  /* Smaller than the gap. */
  fix_writer_begin(&w, buf, 20, "0");
  assert_int_equal(fix_writer_finish(&w, &msg, &len), -ERR_TOO_LONG);
}

static void test_format_errors(void **state)
{
  (void)state;
  char buf[256];
  struct fix_writer w;
  const char *msg;
  size_t len;
  /* SOH inside a value; the error sticks over later good fields. */
  fix_writer_begin(&w, buf, sizeof buf, "D");
  fix_writer_str(&w, 58,
                 "a\x01"
                 "b",
                 3);
  fix_writer_cstr(&w, 55, "IBM");
  assert_int_equal(fix_writer_finish(&w, &msg, &len), -ERR_FIX_FORMAT);
  /* Empty value. */
  fix_writer_begin(&w, buf, sizeof buf, "D");
  fix_writer_cstr(&w, 55, "");
  assert_int_equal(fix_writer_finish(&w, &msg, &len), -ERR_FIX_FORMAT);
  /* Empty message type. */
  fix_writer_begin(&w, buf, sizeof buf, "");
  assert_int_equal(fix_writer_finish(&w, &msg, &len), -ERR_FIX_FORMAT);
  /* SOH as a char value. */
  fix_writer_begin(&w, buf, sizeof buf, "D");
  fix_writer_char(&w, 54, FIX_SOH);
  assert_int_equal(fix_writer_finish(&w, &msg, &len), -ERR_FIX_FORMAT);
  /* The first error wins: too long, then a format error. */
  fix_writer_begin(&w, buf, 48, "D");
  fix_writer_cstr(&w, 58, "a long text that cannot fit in sixteen bytes");
  fix_writer_cstr(&w, 55, "");
  assert_int_equal(fix_writer_finish(&w, &msg, &len), -ERR_TOO_LONG);
  /* A time before 1970. */
  fix_writer_begin(&w, buf, sizeof buf, "0");
  fix_writer_time(&w, 52, -1);
  assert_int_equal(fix_writer_finish(&w, &msg, &len), -ERR_FIX_FORMAT);
}

/* The value written for one money field. */
static void check_money(struct money v, const char *want)
{
  char buf[256];
  struct fix_writer w;
  const char *msg;
  size_t len;
  fix_writer_begin(&w, buf, sizeof buf, "0");
  fix_writer_money(&w, 44, v);
  assert_int_equal(fix_writer_finish(&w, &msg, &len), 0);
  char field[128];
  int n = snprintf(field, sizeof field,
                   "\x01"
                   "44=%s\x01"
                   "10=",
                   want);
  assert_non_null(memmem(msg, len, field, (size_t)n));
}

static void test_money(void **state)
{
  (void)state;
  check_money(m(10050, 2), "100.5");
  check_money(m(700, 2), "7");
  check_money(m(0, 3), "0");
  check_money(m(-1250, 3), "-1.25");
  check_money(m(42, 0), "42");
  check_money(m(1, 8), "0.00000001");
  check_money(m(-5, 1), "-0.5");
  check_money(m(1203, 3), "1.203");
  check_money(m(123456789012345678LL, 18), "0.123456789012345678");
  /* Beyond 64 bits: the money_format() path. */
  check_money(m((__int128)1000000000000000000LL * 1000 + 500000000000000000LL, 18), "1000.5");
  check_money(m(-((__int128)1 << 100), 20), "-12676506002.28229401496703205376");
  check_money(m(300, 30), "0.0000000000000000000000000003");
  /* An invalid value. */
  char buf[256];
  struct fix_writer w;
  const char *msg;
  size_t len;
  struct money bad = {0, 60};
  fix_writer_begin(&w, buf, sizeof buf, "0");
  fix_writer_money(&w, 44, bad);
  assert_int_equal(fix_writer_finish(&w, &msg, &len), -ERR_FIX_FORMAT);
}

static void check_time(int64_t ms, const char *want)
{
  char buf[256];
  struct fix_writer w;
  const char *msg;
  size_t len;
  fix_writer_begin(&w, buf, sizeof buf, "0");
  fix_writer_time(&w, 52, ms);
  assert_int_equal(fix_writer_finish(&w, &msg, &len), 0);
  char field[64];
  int n = snprintf(field, sizeof field,
                   "\x01"
                   "52=%s\x01",
                   want);
  assert_non_null(memmem(msg, len, field, (size_t)n));
}

static void test_time(void **state)
{
  (void)state;
  check_time(0, "19700101-00:00:00.000");
  check_time(1709251199999LL, "20240229-23:59:59.999");
  check_time(1709251200000LL, "20240301-00:00:00.000");
  check_time(86399999, "19700101-23:59:59.999");
  check_time(951782400000LL, "20000229-00:00:00.000");
}

static void test_u64(void **state)
{
  (void)state;
  char buf[256], want[256];
  struct fix_writer w;
  const char *msg;
  size_t len;
  fix_writer_begin(&w, buf, sizeof buf, "AP");
  fix_writer_u64(&w, 34, 0);
  fix_writer_u64(&w, 36, 9);
  fix_writer_u64(&w, 45, 10);
  fix_writer_u64(&w, 98, 99);
  fix_writer_u64(&w, 108, 100);
  fix_writer_u64(&w, 4294967295u, UINT64_MAX);
  assert_int_equal(fix_writer_finish(&w, &msg, &len), 0);
  size_t wl = expected_frame("35=AP|34=0|36=9|45=10|98=99|108=100|4294967295=18446744073709551615|",
                             want, sizeof want);
  assert_int_equal(len, wl);
  assert_memory_equal(msg, want, wl);
  /* Tag 0 is not a tag. */
  fix_writer_begin(&w, buf, sizeof buf, "0");
  fix_writer_u64(&w, 0, 1);
  assert_int_equal(fix_writer_finish(&w, &msg, &len), -ERR_FIX_FORMAT);
}

/* A body of exactly 9, 10, 99, 100 ... bytes: the header width changes. */
static void test_body_length_widths(void **state)
{
  (void)state;
  static const size_t sizes[] = {5, 10, 11, 99, 100, 999, 1000, 10000};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    static char buf[12000], want[12000], bars[11000];
    size_t blen = sizes[k];
    /* "35=0|" then one 58= field padding to blen. */
    size_t n = 0;
    memcpy(bars, "35=0|", 5);
    n = 5;
    if (blen > 5) {
      assert_true(blen >= 10);
      memcpy(bars + n, "58=", 3);
      n += 3;
      while (n < blen - 1)
        bars[n++] = 'x';
      bars[n++] = '|';
    }
    bars[n] = '\0';
    assert_int_equal(n, blen);
    struct fix_writer w;
    fix_writer_begin(&w, buf, sizeof buf, "0");
    if (blen > 5)
      fix_writer_str(&w, 58, bars + 8, blen - 9);
    const char *msg;
    size_t len;
    assert_int_equal(fix_writer_finish(&w, &msg, &len), 0);
    size_t wl = expected_frame(bars, want, sizeof want);
    assert_int_equal(len, wl);
    assert_memory_equal(msg, want, wl);
  }
}

/* Write a NewOrderSingle, parse it back with fix_parse(), read each field. */
static void test_round_trip(void **state)
{
  (void)state;
  char buf[512];
  struct fix_writer w;
  const char *msg;
  size_t len;
  write_nos(&w, buf, sizeof buf);
  assert_int_equal(fix_writer_finish(&w, &msg, &len), 0);
  static struct fix_msg pm;
  enum fix_garble why = FIX_GARBLE_NONE;
  assert_int_equal(fix_parse(msg, len, &pm, &why), 0);
  assert_true(fix_msg_is(&pm, "D"));
  uint64_t u;
  assert_int_equal(fix_msg_u64(&pm, 34, &u), 0);
  assert_int_equal(u, 1234567);
  static const struct {
    uint32_t tag;
    const char *val;
  } strs[] = {{49, "BACKSTOCK"}, {56, "BROKER"}, {1, "ACC-001"}, {11, "ORD-20240229-000042"},
              {40, "2"},         {54, "1"},      {55, "AAPL"},   {59, "0"}};
  for (size_t k = 0; k < sizeof strs / sizeof strs[0]; k++) {
    const char *v;
    size_t n;
    assert_int_equal(fix_msg_str(&pm, strs[k].tag, &v, &n), 0);
    assert_int_equal(n, strlen(strs[k].val));
    assert_memory_equal(v, strs[k].val, n);
  }
  struct money q, px;
  assert_int_equal(fix_msg_money(&pm, 38, 0, &q), 0);
  assert_int_equal(money_cmp(q, m(1500, 0)), 0);
  assert_int_equal(fix_msg_money(&pm, 44, 4, &px), 0);
  assert_int_equal(money_cmp(px, m(1005000, 4)), 0);
  int64_t t;
  assert_int_equal(fix_msg_time(&pm, 52, &t), 0);
  assert_int_equal(t, 1709251199999LL);
  assert_int_equal(fix_msg_time(&pm, 60, &t), 0);
  assert_int_equal(t, 1709251199999LL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_heartbeat),    cmocka_unit_test(test_new_order_single),
      cmocka_unit_test(test_buffer_exact), cmocka_unit_test(test_format_errors),
      cmocka_unit_test(test_money),        cmocka_unit_test(test_time),
      cmocka_unit_test(test_u64),          cmocka_unit_test(test_body_length_widths),
      cmocka_unit_test(test_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
