/*
 * Tests of fix/fix_codec.c: framing, tokenising, typed field access and
 * the stream framer.
 *
 * Messages are built by mk() below, which computes BodyLength and
 * CheckSum itself (independently of fix_writer) from a body written with
 * '|' for SOH.  Parse cases check exact field lists; garble cases check
 * the exact reason; stream cases feed the same bytes split at every byte
 * boundary, one byte at a time and in random chunks (fixed seed) and
 * check that exactly the expected frames come out, byte for byte, with
 * the same garbled_bytes whatever the split.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fix/fix.h"

#define BIG (FIX_MSG_MAX + 4096)

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Copy @s into @out turning '|' into SOH; returns the length. */
static size_t soh(char *out, const char *s)
{
  size_t n = 0;
  for (; s[n] != '\0'; n++)
    out[n] = s[n] == '|' ? FIX_SOH : s[n];
  return n;
}

/*
 * A whole message: "8=" @begin SOH "9=" len SOH @body "10=" sum SOH, where
 * @body uses '|' for SOH and ends with one.  @ck_delta is added to the
 * CheckSum (0 for a correct one).  Returns the length.
 */
static size_t mk_full(char *out, const char *begin, const char *body, int ck_delta)
{
  char tmp[BIG];
  size_t blen = soh(tmp, body);
  int n = snprintf(out, 64,
                   "8=%s\x01"
                   "9=%zu\x01",
                   begin, blen);
  memcpy(out + n, tmp, blen);
  size_t len = (size_t)n + blen;
  unsigned sum = 0;
  for (size_t i = 0; i < len; i++)
    sum += (unsigned char)out[i];
  sum = (sum + (unsigned)ck_delta) % 256;
  snprintf(out + len, 8, "10=%03u\x01", sum);
  return len + 7;
}

static size_t mk(char *out, const char *body)
{
  return mk_full(out, "FIX.4.4", body, 0);
}

static const char *EXEC_REPORT =
    "35=8|34=1042|49=BROKER|52=20240315-14:30:05.123|56=BACKSTOCK|37=ORD-778812|"
    "11=a1b2c3d4e5f6|17=EXEC-99120031|150=F|39=1|1=ACC-001|55=AAPL|48=US0378331005|22=4|"
    "54=1|38=100|44=172.5|32=40|31=172.45|14=40|151=60|6=172.45|60=20240315-14:30:05.120|"
    "75=20240315|64=20240319|58=partial fill|";

static const char *NEW_ORDER = "35=D|34=7|49=BACKSTOCK|52=20240315-14:30:00.000|56=BROKER|"
                               "11=a1b2c3d4e5f6|1=ACC-001|21=1|55=AAPL|48=US0378331005|22=4|"
                               "54=1|60=20240315-14:30:00.000|38=100|40=2|44=172.5|59=0|544=1|";

/* A parsed message with its buffer. */
struct pm {
  char buf[BIG];
  size_t len;
  struct fix_msg msg;
};

static void parse_ok(struct pm *m, const char *body)
{
  enum fix_garble why = FIX_GARBLE_FIELD;
  m->len = mk(m->buf, body);
  assert_int_equal(fix_parse(m->buf, m->len, &m->msg, &why), 0);
}

static void expect_garble(const char *buf, size_t len, enum fix_garble want)
{
  static struct fix_msg msg;
  enum fix_garble why = FIX_GARBLE_NONE;
  assert_int_equal(fix_parse(buf, len, &msg, &why), -ERR_FIX_GARBLED);
  assert_int_equal(why, want);
}

static void expect_body_garble(const char *body, enum fix_garble want)
{
  static char buf[BIG];
  expect_garble(buf, mk(buf, body), want);
}

/* The value of field @i as a string. */
static const char *val(const struct fix_msg *m, uint32_t i)
{
  static char v[BIG];
  memcpy(v, m->frame + m->fields[i].off, m->fields[i].len);
  v[m->fields[i].len] = '\0';
  return v;
}

/* Check the fields of @m against "tag=value" strings, in order. */
static void expect_fields(const struct fix_msg *m, const char *const *want, size_t n)
{
  static char got[BIG + 16];
  assert_int_equal(m->n_fields, n);
  for (uint32_t i = 0; i < n; i++) {
    snprintf(got, sizeof got, "%u=%s", m->fields[i].tag, val(m, i));
    assert_string_equal(got, want[i]);
  }
}

/* ------------------------------------------------------------------ */
/* fix_parse                                                           */
/* ------------------------------------------------------------------ */

static void test_parse_execution_report(void **state)
{
  (void)state;
  static struct pm m;
  parse_ok(&m, EXEC_REPORT);
  static const char *const want[] = {
      "8=FIX.4.4",
      "9=282",
      "35=8",
      "34=1042",
      "49=BROKER",
      "52=20240315-14:30:05.123",
      "56=BACKSTOCK",
      "37=ORD-778812",
      "11=a1b2c3d4e5f6",
      "17=EXEC-99120031",
      "150=F",
      "39=1",
      "1=ACC-001",
      "55=AAPL",
      "48=US0378331005",
      "22=4",
      "54=1",
      "38=100",
      "44=172.5",
      "32=40",
      "31=172.45",
      "14=40",
      "151=60",
      "6=172.45",
      "60=20240315-14:30:05.120",
      "75=20240315",
      "64=20240319",
      "58=partial fill",
      "10=144",
  };
  expect_fields(&m.msg, want, sizeof want / sizeof want[0]);
  assert_ptr_equal(m.msg.frame, m.buf);
  assert_int_equal(m.msg.len, m.len);
  assert_int_equal(m.len, 305);
  assert_true(fix_msg_is(&m.msg, "8"));
  assert_false(fix_msg_is(&m.msg, "D"));
  assert_false(fix_msg_is(&m.msg, "80"));
  assert_int_equal(m.msg.msg_type_len, 1);
  assert_ptr_equal(m.msg.msg_type, m.buf + 19);

  const char *v;
  size_t len;
  assert_int_equal(fix_msg_str(&m.msg, 17, &v, &len), 0);
  assert_int_equal(len, 13);
  assert_memory_equal(v, "EXEC-99120031", 13);
  assert_int_equal(fix_msg_str(&m.msg, 9999, &v, &len), -ERR_FIX_MISSING);
  assert_null(fix_msg_find(&m.msg, 9999));
  assert_ptr_equal(fix_msg_find(&m.msg, 58), &m.msg.fields[27]);

  char b[16];
  assert_int_equal(fix_msg_copy(&m.msg, 55, b, sizeof b), 0);
  assert_string_equal(b, "AAPL");
  assert_int_equal(fix_msg_copy(&m.msg, 55, b, 5), 0);
  assert_int_equal(fix_msg_copy(&m.msg, 55, b, 4), -ERR_TOO_LONG);
  assert_int_equal(fix_msg_copy(&m.msg, 17, b, 13), -ERR_TOO_LONG);
  assert_int_equal(fix_msg_copy(&m.msg, 7777, b, sizeof b), -ERR_FIX_MISSING);

  uint64_t u;
  assert_int_equal(fix_msg_u64(&m.msg, 34, &u), 0);
  assert_int_equal(u, 1042);
  struct money px;
  assert_int_equal(fix_msg_money(&m.msg, 31, 4, &px), 0);
  assert_true(px.v == 1724500 && px.scale == 4);
  int64_t t;
  assert_int_equal(fix_msg_time(&m.msg, 52, &t), 0);
  assert_int_equal(t, 1710513005123LL);
}

static void test_parse_new_order_single(void **state)
{
  (void)state;
  static struct pm m;
  parse_ok(&m, NEW_ORDER);
  static const char *const want[] = {
      "8=FIX.4.4",
      "9=180",
      "35=D",
      "34=7",
      "49=BACKSTOCK",
      "52=20240315-14:30:00.000",
      "56=BROKER",
      "11=a1b2c3d4e5f6",
      "1=ACC-001",
      "21=1",
      "55=AAPL",
      "48=US0378331005",
      "22=4",
      "54=1",
      "60=20240315-14:30:00.000",
      "38=100",
      "40=2",
      "44=172.5",
      "59=0",
      "544=1",
      "10=107",
  };
  expect_fields(&m.msg, want, sizeof want / sizeof want[0]);
  assert_true(fix_msg_is(&m.msg, "D"));
  /* Offsets of the first fields, exactly. */
  assert_int_equal(m.msg.fields[0].off, 2);
  assert_int_equal(m.msg.fields[0].len, 7);
  assert_int_equal(m.msg.fields[1].off, 12);
  assert_int_equal(m.msg.fields[1].len, 3);
  assert_int_equal(m.msg.fields[2].off, 19);
  assert_int_equal(m.msg.fields[20].off, m.len - 4);
}

static void test_parse_empty_value_and_repeats(void **state)
{
  (void)state;
  static struct pm m;
  parse_ok(&m, "35=8|58=|11=x|58=second|58=third|9999=a=b|");
  static const char *const want[] = {"8=FIX.4.4", "9=42",     "35=8",     "58=",   "11=x",
                                     "58=second", "58=third", "9999=a=b", "10=174"};
  expect_fields(&m.msg, want, sizeof want / sizeof want[0]);
  const char *v;
  size_t len = 99;
  assert_int_equal(fix_msg_str(&m.msg, 58, &v, &len), 0);
  assert_int_equal(len, 0);
  /* Tag 2^31 - 1 is the largest. */
  parse_ok(&m, "35=0|2147483647=x|");
  assert_int_equal(m.msg.fields[3].tag, 2147483647u);
  /* Empty MsgType tokenises; validation deals with it. */
  parse_ok(&m, "35=|");
  assert_int_equal(m.msg.msg_type_len, 0);
}

static void test_garble_kinds(void **state)
{
  (void)state;
  static char b[BIG];
  size_t n;

  /* BeginString */
  expect_garble(b, mk_full(b, "FIX.4.2", "35=0|", 0), FIX_GARBLE_BEGIN_STRING);
  expect_garble(b, mk_full(b, "FIXT.1.1", "35=0|", 0), FIX_GARBLE_BEGIN_STRING);
  expect_garble("8=FIX", 5, FIX_GARBLE_BEGIN_STRING);
  /* First field not 8. */
  n = mk(b, "35=0|");
  b[0] = '9';
  expect_garble(b, n, FIX_GARBLE_ORDER);

  /* BodyLength: wrong by one either way, missing, malformed, leading zero. */
  n = mk(b, "35=0|");
  b[12] = '6';
  expect_garble(b, n, FIX_GARBLE_BODY_LENGTH);
  b[12] = '4';
  expect_garble(b, n, FIX_GARBLE_BODY_LENGTH);
  n = soh(b, "8=FIX.4.4|9=05|35=0|10=000|");
  expect_garble(b, n, FIX_GARBLE_BODY_LENGTH);
  n = soh(b, "8=FIX.4.4|9=|35=0|10=000|");
  expect_garble(b, n, FIX_GARBLE_BODY_LENGTH);
  n = soh(b, "8=FIX.4.4|9=x5|35=0|10=000|");
  expect_garble(b, n, FIX_GARBLE_BODY_LENGTH);
  n = soh(b, "8=FIX.4.4|9=0|10=000|");
  expect_garble(b, n, FIX_GARBLE_BODY_LENGTH);
  n = soh(b, "8=FIX.4.4|9=9999999|35=0|10=000|");
  expect_garble(b, n, FIX_GARBLE_BODY_LENGTH);
  expect_garble(b, 14, FIX_GARBLE_BODY_LENGTH); /* "8=FIX.4.4|9=99": header cut */
  /* 9 not second (35 there instead). */
  n = soh(b, "8=FIX.4.4|35=0|9=5|10=000|");
  expect_garble(b, n, FIX_GARBLE_ORDER);
  /* Trailing bytes after 10=xxx SOH, or one missing. */
  n = mk(b, "35=0|");
  expect_garble(b, n + 1, FIX_GARBLE_BODY_LENGTH);
  expect_garble(b, n - 1, FIX_GARBLE_BODY_LENGTH);

  /* CheckSum: wrong by one, malformed. */
  n = mk_full(b, "FIX.4.4", "35=0|", 1);
  expect_garble(b, n, FIX_GARBLE_CHECKSUM);
  n = mk(b, "35=0|");
  b[n - 3] = 'a';
  expect_garble(b, n, FIX_GARBLE_CHECKSUM);
  n = mk(b, "35=0|");
  b[n - 1] = '|';
  expect_garble(b, n, FIX_GARBLE_CHECKSUM);

  /* Fields. */
  expect_body_garble("35=0|58|", FIX_GARBLE_FIELD);
  expect_body_garble("35=0|=x|", FIX_GARBLE_FIELD);
  expect_body_garble("35=0|abc=x|", FIX_GARBLE_FIELD);
  expect_body_garble("35=0|0=x|", FIX_GARBLE_FIELD);
  expect_body_garble("35=0|058=x|", FIX_GARBLE_FIELD);
  expect_body_garble("35=0|-58=x|", FIX_GARBLE_FIELD);
  expect_body_garble("35=0|+58=x|", FIX_GARBLE_FIELD);
  expect_body_garble("35=0|2147483648=x|", FIX_GARBLE_FIELD);
  expect_body_garble("35=0|99999999999=x|", FIX_GARBLE_FIELD);
  expect_body_garble("35=0||", FIX_GARBLE_FIELD);
  expect_body_garble("35=0|58 =x|", FIX_GARBLE_FIELD);

  /* 35 not third. */
  expect_body_garble("34=1|35=0|", FIX_GARBLE_ORDER);
  expect_body_garble("|35=0|", FIX_GARBLE_FIELD);

  /* BodyLength fine but the body does not end with SOH before 10=. */
  n = soh(b, "8=FIX.4.4|9=5|35=0x10=000|");
  expect_garble(b, n, FIX_GARBLE_BODY_LENGTH);
}

/* A body with @n_body fields after 35. */
static size_t mk_many(char *out, unsigned n_body)
{
  static char body[BIG];
  size_t p = (size_t)snprintf(body, sizeof body, "35=0|");
  for (unsigned i = 0; i < n_body; i++)
    p += (size_t)snprintf(body + p, sizeof body - p, "58=%u|", i);
  return mk(out, body);
}

static void test_too_many_fields(void **state)
{
  (void)state;
  static char b[BIG];
  static struct fix_msg msg;
  /* 8, 9, 35, 10 and 508 more make FIX_FIELDS_MAX. */
  size_t n = mk_many(b, FIX_FIELDS_MAX - 4);
  assert_int_equal(fix_parse(b, n, &msg, NULL), 0);
  assert_int_equal(msg.n_fields, FIX_FIELDS_MAX);
  assert_int_equal(msg.fields[FIX_FIELDS_MAX - 1].tag, 10);
  assert_string_equal(val(&msg, FIX_FIELDS_MAX - 2), "507");
  n = mk_many(b, FIX_FIELDS_MAX - 3);
  expect_garble(b, n, FIX_GARBLE_TOO_MANY);
  assert_int_equal(fix_parse(b, n, &msg, NULL), -ERR_FIX_GARBLED);
}

/*
 * The tag index keeps a field's position in one byte: a small tag whose
 * first occurrence lies beyond position 253 must still be found (by a
 * scan), and one that never occurs must not.
 */
static void test_find_far_fields(void **state)
{
  (void)state;
  static char body[BIG], b[BIG];
  static struct fix_msg msg;
  size_t p = (size_t)snprintf(body, sizeof body, "35=0|");
  for (unsigned i = 0; i < 300; i++)
    p += (size_t)snprintf(body + p, sizeof body - p, "5001=%u|", i);
  snprintf(body + p, sizeof body - p, "112=late|58=later|");
  size_t n = mk(b, body);
  assert_int_equal(fix_parse(b, n, &msg, NULL), 0);
  assert_int_equal(msg.n_fields, 3 + 300 + 2 + 1);
  const char *v;
  size_t len;
  assert_int_equal(fix_msg_str(&msg, 112, &v, &len), 0);
  assert_int_equal(len, 4);
  assert_memory_equal(v, "late", 4);
  assert_int_equal(fix_msg_str(&msg, 58, &v, &len), 0);
  assert_memory_equal(v, "later", 5);
  assert_ptr_equal(fix_msg_find(&msg, 5001), &msg.fields[3]);
  assert_null(fix_msg_find(&msg, 11));
  assert_int_equal(fix_msg_find(&msg, 10)->tag, 10);
  /* A hand-built message indexed with fix_msg_index() answers the same. */
  static struct fix_msg copy;
  memcpy(copy.fields, msg.fields, sizeof msg.fields);
  copy.frame = msg.frame;
  copy.n_fields = msg.n_fields;
  fix_msg_index(&copy);
  assert_int_equal(fix_msg_str(&copy, 58, &v, &len), 0);
  assert_memory_equal(v, "later", 5);
  assert_null(fix_msg_find(&copy, 11));
}

/* A message of exactly @total bytes: one long 58 field padded. */
static size_t mk_sized(char *out, size_t total)
{
  static char body[BIG];
  /* 8=FIX.4.4| 9=NNNNN| ... 10=xxx| : header 10 + 3 + digits + 1, trailer 7 */
  size_t overhead = 10 + 3 + 5 + 7;
  size_t blen = total - overhead;
  size_t p = (size_t)snprintf(body, sizeof body, "35=0|58=");
  memset(body + p, 'x', blen - p - 1);
  body[blen - 1] = '|';
  body[blen] = '\0';
  size_t n = mk(out, body);
  assert_int_equal(n, total);
  return n;
}

static void test_msg_max(void **state)
{
  (void)state;
  static char b[BIG + 16];
  static struct fix_msg msg;
  size_t n = mk_sized(b, FIX_MSG_MAX);
  assert_int_equal(fix_parse(b, n, &msg, NULL), 0);
  assert_int_equal(msg.len, FIX_MSG_MAX);
  assert_int_equal(msg.n_fields, 5);
  n = mk_sized(b, FIX_MSG_MAX + 1);
  expect_garble(b, n, FIX_GARBLE_BODY_LENGTH);

  /* In a stream: the largest passes, one more is skipped and the next
     message still arrives. */
  struct fix_stream s;
  enum fix_garble why;
  size_t room;
  assert_int_equal(fix_stream_init(&s), 0);
  for (int round = 0; round < 2; round++) {
    n = mk_sized(b, FIX_MSG_MAX + (size_t)round);
    n += mk(b + n, "35=0|");
    size_t off = 0;
    int got = 0, garbled = 0;
    while (off < n) {
      char *p = fix_stream_space(&s, &room);
      assert_true(room > 0);
      size_t k = n - off < room ? n - off : room;
      k = k > 5000 ? 5000 : k;
      memcpy(p, b + off, k);
      fix_stream_commit(&s, k);
      off += k;
      enum fix_next r;
      while ((r = fix_stream_next(&s, &msg, &why)) != FIX_NEED_MORE) {
        if (r == FIX_MESSAGE)
          got++;
        else
          garbled++;
      }
    }
    if (round == 0) {
      assert_int_equal(got, 2);
      assert_int_equal(s.garbled_bytes, 0);
    } else {
      assert_int_equal(got, 1);
      assert_int_equal(s.garbled_bytes, FIX_MSG_MAX + 1);
    }
  }
  fix_stream_free(&s);
  fix_stream_free(NULL);
}

/* ------------------------------------------------------------------ */
/* Typed values                                                        */
/* ------------------------------------------------------------------ */

static void test_u64(void **state)
{
  (void)state;
  static struct pm m;
  parse_ok(&m, "35=0|1=0|2=999999999999999999|3=1000000000000000000|4=-1|5=+1|6=|7=12a|8=007|"
               "9= 1|");
  uint64_t u = 77;
  assert_int_equal(fix_msg_u64(&m.msg, 1, &u), 0);
  assert_int_equal(u, 0);
  assert_int_equal(fix_msg_u64(&m.msg, 2, &u), 0);
  assert_true(u == 999999999999999999ULL);
  u = 77;
  assert_int_equal(fix_msg_u64(&m.msg, 3, &u), -ERR_FIX_FORMAT);
  assert_int_equal(fix_msg_u64(&m.msg, 4, &u), -ERR_FIX_FORMAT);
  assert_int_equal(fix_msg_u64(&m.msg, 5, &u), -ERR_FIX_FORMAT);
  assert_int_equal(fix_msg_u64(&m.msg, 6, &u), -ERR_FIX_FORMAT);
  assert_int_equal(fix_msg_u64(&m.msg, 7, &u), -ERR_FIX_FORMAT);
  assert_int_equal(u, 77);
  assert_int_equal(fix_msg_u64(&m.msg, 11, &u), -ERR_FIX_MISSING);
  /* 8 is BeginString (the first 8), 9 BodyLength: fields are looked up
     in wire order. */
  assert_int_equal(fix_msg_u64(&m.msg, 8, &u), -ERR_FIX_FORMAT);
  assert_int_equal(fix_msg_u64(&m.msg, 9, &u), 0);
  assert_int_equal(u, m.len - 22);
}

static void test_money(void **state)
{
  (void)state;
  static struct pm m;
  parse_ok(&m, "35=0|1=172.45|2=-3.5|3=100.|4=1e5|5=+1|6=|7=1.234|21=00023.50|22=-0.5|10=.5|"
               "11=1.500|12=7|13=-007|14=1.2.3|15=nan|16= 1|17=1,000|");
  struct money v = {77, 77};
  assert_int_equal(fix_msg_money(&m.msg, 1, 2, &v), 0);
  assert_true(v.v == 17245 && v.scale == 2);
  assert_int_equal(fix_msg_money(&m.msg, 1, 6, &v), 0);
  assert_true(v.v == 172450000 && v.scale == 6);
  assert_int_equal(fix_msg_money(&m.msg, 2, 2, &v), 0);
  assert_true(v.v == -350 && v.scale == 2);
  assert_int_equal(fix_msg_money(&m.msg, 3, 0, &v), 0);
  assert_true(v.v == 100 && v.scale == 0);
  assert_int_equal(fix_msg_money(&m.msg, 3, 2, &v), 0);
  assert_true(v.v == 10000);
  assert_int_equal(fix_msg_money(&m.msg, 21, 2, &v), 0);
  assert_true(v.v == 2350);
  assert_int_equal(fix_msg_money(&m.msg, 22, 1, &v), 0);
  assert_true(v.v == -5);
  assert_int_equal(fix_msg_money(&m.msg, 11, 1, &v), 0);
  assert_true(v.v == 15 && v.scale == 1);
  assert_int_equal(fix_msg_money(&m.msg, 12, 0, &v), 0);
  assert_true(v.v == 7);
  assert_int_equal(fix_msg_money(&m.msg, 13, 0, &v), 0);
  assert_true(v.v == -7);
  v = (struct money){77, 77};
  assert_int_equal(fix_msg_money(&m.msg, 1, 1, &v), -ERR_FIX_FORMAT); /* 2 digits > scale 1 */
  assert_int_equal(fix_msg_money(&m.msg, 7, 2, &v), -ERR_FIX_FORMAT);
  assert_int_equal(fix_msg_money(&m.msg, 4, 2, &v), -ERR_FIX_FORMAT);
  assert_int_equal(fix_msg_money(&m.msg, 5, 2, &v), -ERR_FIX_FORMAT);
  assert_int_equal(fix_msg_money(&m.msg, 6, 2, &v), -ERR_FIX_FORMAT);
  assert_int_equal(fix_msg_money(&m.msg, 14, 2, &v), -ERR_FIX_FORMAT);
  assert_int_equal(fix_msg_money(&m.msg, 15, 2, &v), -ERR_FIX_FORMAT);
  assert_int_equal(fix_msg_money(&m.msg, 16, 2, &v), -ERR_FIX_FORMAT);
  assert_int_equal(fix_msg_money(&m.msg, 17, 2, &v), -ERR_FIX_FORMAT);
  assert_int_equal(fix_msg_money(&m.msg, 1, 39, &v), -ERR_FIX_FORMAT);
  assert_true(v.v == 77 && v.scale == 77);
  assert_int_equal(fix_msg_money(&m.msg, 99, 2, &v), -ERR_FIX_MISSING);
  /* ".5": tag 10 is the CheckSum field's tag too, but the body's 10=.5
     comes first in wire order. */
  assert_int_equal(fix_msg_money(&m.msg, 10, 2, &v), -ERR_FIX_FORMAT);
}

static void test_time(void **state)
{
  (void)state;
  static struct pm m;
  parse_ok(&m, "35=0|1=20240315-14:30:05|2=20240315-14:30:05.123|3=20240229-23:59:59.999|"
               "4=20230229-12:00:00|5=20240315-24:00:00|6=20240315-14:60:00|"
               "7=20240315-14:30:05.12|19=20240315 14:30:05|20=20241301-00:00:00|"
               "11=19700101-00:00:00.000|12=20240315-14:30:05.1234|13=2024031-14:30:05.123|"
               "14=20240315-14:30:60|15=20240300-00:00:00|16=20240315-14:3a:05|"
               "17=20240315-14:30:05,123|18=|");
  int64_t t = 77;
  assert_int_equal(fix_msg_time(&m.msg, 1, &t), 0);
  assert_int_equal(t, 1710513005000LL);
  assert_int_equal(fix_msg_time(&m.msg, 2, &t), 0);
  assert_int_equal(t, 1710513005123LL);
  assert_int_equal(fix_msg_time(&m.msg, 3, &t), 0);
  assert_int_equal(t, 1709251199999LL);
  assert_int_equal(fix_msg_time(&m.msg, 11, &t), 0);
  assert_int_equal(t, 0);
  /* A leap second reads as the next minute. */
  assert_int_equal(fix_msg_time(&m.msg, 14, &t), 0);
  assert_int_equal(t, 1710513060000LL);
  t = 77;
  static const uint32_t bad[] = {4, 5, 6, 7, 12, 13, 15, 16, 17, 18, 19, 20};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(fix_msg_time(&m.msg, bad[i], &t), -ERR_FIX_FORMAT);
  assert_int_equal(t, 77);
  assert_int_equal(fix_msg_time(&m.msg, 99, &t), -ERR_FIX_MISSING);
}

/* ------------------------------------------------------------------ */
/* Streams                                                             */
/* ------------------------------------------------------------------ */

/* What a stream delivered. */
struct got {
  char frames[8][512];
  size_t lens[8];
  int n;
  int garbled;
  enum fix_garble why[64];
};

static void drain(struct fix_stream *s, struct got *g)
{
  static struct fix_msg msg;
  enum fix_garble why;
  enum fix_next r;
  while ((r = fix_stream_next(s, &msg, &why)) != FIX_NEED_MORE) {
    if (r == FIX_MESSAGE) {
      assert_true(g->n < 8 && msg.len <= 512);
      assert_true(msg.frame >= s->buf && msg.frame + msg.len <= s->buf + s->end);
      memcpy(g->frames[g->n], msg.frame, msg.len);
      g->lens[g->n++] = msg.len;
    } else {
      assert_int_equal(r, FIX_GARBLED);
      assert_true(why != FIX_GARBLE_NONE);
      if (g->garbled < 64)
        g->why[g->garbled] = why;
      g->garbled++;
    }
  }
}

static void feed(struct fix_stream *s, struct got *g, const char *d, size_t n)
{
  while (n > 0) {
    size_t room;
    char *p = fix_stream_space(s, &room);
    assert_true(room > 0);
    size_t k = n < room ? n : room;
    memcpy(p, d, k);
    fix_stream_commit(s, k);
    d += k;
    n -= k;
    drain(s, g);
  }
}

/*
 * Feed @d split at @cuts (sorted offsets, @ncuts of them) and check the
 * frames that come out are exactly @want[0..nwant), with @garbled_bytes.
 */
static void run_split(const char *d, size_t n, const size_t *cuts, size_t ncuts,
                      const char *const *want, const size_t *wlen, int nwant,
                      uint64_t garbled_bytes)
{
  static struct got g;
  struct fix_stream s;
  memset(&g, 0, sizeof g);
  assert_int_equal(fix_stream_init(&s), 0);
  size_t prev = 0;
  for (size_t i = 0; i <= ncuts; i++) {
    size_t c = i < ncuts ? cuts[i] : n;
    feed(&s, &g, d + prev, c - prev);
    prev = c;
  }
  assert_int_equal(g.n, nwant);
  for (int i = 0; i < nwant; i++) {
    assert_int_equal(g.lens[i], wlen[i]);
    assert_memory_equal(g.frames[i], want[i], wlen[i]);
  }
  assert_int_equal(s.garbled_bytes, garbled_bytes);
  fix_stream_free(&s);
}

/* Every split of @d: at each single boundary, byte by byte, random chunks. */
static void all_splits(const char *d, size_t n, const char *const *want, const size_t *wlen,
                       int nwant, uint64_t garbled_bytes)
{
  static size_t cuts[4096];
  assert_true(n < 4096);
  run_split(d, n, NULL, 0, want, wlen, nwant, garbled_bytes);
  for (size_t k = 1; k < n; k++) {
    cuts[0] = k;
    run_split(d, n, cuts, 1, want, wlen, nwant, garbled_bytes);
  }
  for (size_t k = 0; k + 1 < n; k++)
    cuts[k] = k + 1;
  run_split(d, n, cuts, n - 1, want, wlen, nwant, garbled_bytes);
  srand(0x5eed);
  for (int round = 0; round < 200; round++) {
    size_t nc = 0, at = 0;
    for (;;) {
      at += 1 + (size_t)rand() % 40;
      if (at >= n)
        break;
      cuts[nc++] = at;
    }
    run_split(d, n, cuts, nc, want, wlen, nwant, garbled_bytes);
  }
}

static void test_stream_two_messages(void **state)
{
  (void)state;
  static char a[512], b[512], d[2048];
  size_t na = mk(a, EXEC_REPORT), nb = mk(b, NEW_ORDER);
  memcpy(d, a, na);
  memcpy(d + na, b, nb);
  const char *want[] = {a, b};
  size_t wlen[] = {na, nb};
  all_splits(d, na + nb, want, wlen, 2, 0);
}

static void test_stream_garbage(void **state)
{
  (void)state;
  static char a[512], b[512], d[2048];
  size_t na = mk(a, "35=0|34=5|"), nb = mk(b, NEW_ORDER), n = 0;
  /* Before, between (including near-misses of "8=FIX"), after. */
  n += soh(d + n, "junk8=FIX.4.4|garbage 8=FIX|");
  memcpy(d + n, a, na);
  n += na;
  size_t g2 = soh(d + n, "x|8=FI|8=|8=FIXT.1.1|9=5|35=0|10=000|8=FIX");
  n += g2;
  d[n++] = FIX_SOH;
  memcpy(d + n, b, nb);
  n += nb;
  size_t tail = soh(d + n, "|8=FI");
  n += tail;
  const char *want[] = {a, b};
  size_t wlen[] = {na, nb};
  /* The final "8=FI" may still begin a frame: it stays pending. */
  all_splits(d, n, want, wlen, 2, n - na - nb - 4);
}

static void test_stream_bad_checksum_then_good(void **state)
{
  (void)state;
  static char a[512], b[512], d[2048];
  static struct got g;
  size_t na = mk_full(a, "FIX.4.4", "35=8|34=2|58=bad|", 7), nb = mk(b, NEW_ORDER);
  memcpy(d, a, na);
  memcpy(d + na, b, nb);
  const char *want[] = {b};
  size_t wlen[] = {nb};
  all_splits(d, na + nb, want, wlen, 1, na);

  /* Once, whole: one GARBLED for the frame, with its reason. */
  struct fix_stream s;
  memset(&g, 0, sizeof g);
  assert_int_equal(fix_stream_init(&s), 0);
  feed(&s, &g, d, na + nb);
  assert_int_equal(g.n, 1);
  assert_int_equal(g.garbled, 1);
  assert_int_equal(g.why[0], FIX_GARBLE_CHECKSUM);
  fix_stream_free(&s);
}

static void test_stream_body_length_past_end(void **state)
{
  (void)state;
  static char a[512], b[512], c[512], d[2048];
  static struct got g;
  /* A claims 40 more body bytes than it has: the stream waits, then finds
     no 10= where it should be, skips A and delivers B and C. */
  size_t na = mk(a, "35=0|34=3|"), nb = mk(b, NEW_ORDER), nc = mk(c, "35=1|112=T|");
  a[12] = '5'; /* 9=10 -> 9=50 */
  assert_memory_equal(a + 10, "9=50", 4);
  memcpy(d, a, na);
  memcpy(d + na, b, nb);
  memcpy(d + na + nb, c, nc);
  const char *want[] = {b, c};
  size_t wlen[] = {nb, nc};
  all_splits(d, na + nb + nc, want, wlen, 2, na);

  struct fix_stream s;
  memset(&g, 0, sizeof g);
  assert_int_equal(fix_stream_init(&s), 0);
  feed(&s, &g, d, na + 20);
  assert_int_equal(g.n, 0);
  assert_int_equal(g.garbled, 0); /* still waiting for A */
  feed(&s, &g, d + na + 20, nb + nc - 20);
  assert_int_equal(g.n, 2);
  assert_int_equal(g.garbled, 1);
  assert_int_equal(g.why[0], FIX_GARBLE_BODY_LENGTH);
  fix_stream_free(&s);
}

static void test_stream_garble_reasons(void **state)
{
  (void)state;
  static char d[2048], b[512];
  static struct got g;
  struct fix_stream s;
  size_t nb = mk(b, "35=0|");
  struct {
    const char *bytes;
    enum fix_garble why;
  } cases[] = {
      {"garbage|", FIX_GARBLE_NO_BEGIN},
      {"8=FIX.4.2|9=5|35=0|10=000|", FIX_GARBLE_BEGIN_STRING},
      {"8=FIX.4.4|9=99999|35=0|10=000|", FIX_GARBLE_BODY_LENGTH},
      {"8=FIX.4.4|9=1234567|", FIX_GARBLE_BODY_LENGTH},
      {"8=FIX.4.4|9=x|", FIX_GARBLE_BODY_LENGTH},
      {"8=FIX.4.4|35=0|", FIX_GARBLE_ORDER},
      {"8=FIX.4.4|9=5|35=0|10=000|", FIX_GARBLE_CHECKSUM},
      {"8=FIX.4.4|9=5|34=0|10=000|", FIX_GARBLE_CHECKSUM},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t n = soh(d, cases[i].bytes);
    memcpy(d + n, b, nb);
    memset(&g, 0, sizeof g);
    assert_int_equal(fix_stream_init(&s), 0);
    feed(&s, &g, d, n + nb);
    assert_int_equal(g.n, 1);
    assert_memory_equal(g.frames[0], b, nb);
    assert_int_equal(g.garbled, 1);
    assert_int_equal(g.why[0], cases[i].why);
    assert_int_equal(s.garbled_bytes, n);
    fix_stream_free(&s);
  }
  /* Fields, order and too-many garbles (checksum fixed). */
  const char *bodies[] = {"35=0|58|", "34=1|35=0|"};
  enum fix_garble whys[] = {FIX_GARBLE_FIELD, FIX_GARBLE_ORDER};
  for (size_t i = 0; i < 2; i++) {
    size_t n = mk(d, bodies[i]);
    memcpy(d + n, b, nb);
    memset(&g, 0, sizeof g);
    assert_int_equal(fix_stream_init(&s), 0);
    feed(&s, &g, d, n + nb);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.garbled, 1);
    assert_int_equal(g.why[0], whys[i]);
    fix_stream_free(&s);
  }
}

static void test_stream_many_reads(void **state)
{
  (void)state;
  /* Thousands of messages through one stream, in reads of odd sizes,
     with garbage every few: the buffer compacts and never runs out. */
  static char one[512], d[1 << 20];
  static struct fix_msg msg;
  size_t n = 0, n1 = mk(one, EXEC_REPORT);
  int want = 0;
  for (int i = 0; n + 600 < sizeof d; i++) {
    memcpy(d + n, one, n1);
    n += n1;
    want++;
    if (i % 7 == 0)
      n += soh(d + n, "noise|");
  }
  struct fix_stream s;
  assert_int_equal(fix_stream_init(&s), 0);
  size_t off = 0;
  int got = 0;
  while (off < n) {
    size_t room;
    char *p = fix_stream_space(&s, &room);
    assert_true(room > 0);
    size_t k = 4093 < room ? 4093 : room;
    k = k < n - off ? k : n - off;
    memcpy(p, d + off, k);
    fix_stream_commit(&s, k);
    off += k;
    enum fix_next r;
    enum fix_garble why;
    while ((r = fix_stream_next(&s, &msg, &why)) != FIX_NEED_MORE)
      if (r == FIX_MESSAGE) {
        assert_int_equal(msg.len, n1);
        assert_true(fix_msg_is(&msg, "8"));
        got++;
      }
  }
  assert_int_equal(got, want);
  assert_int_equal(s.garbled_bytes, (uint64_t)(n - (size_t)want * n1));
  fix_stream_free(&s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_execution_report),
      cmocka_unit_test(test_parse_new_order_single),
      cmocka_unit_test(test_parse_empty_value_and_repeats),
      cmocka_unit_test(test_garble_kinds),
      cmocka_unit_test(test_too_many_fields),
      cmocka_unit_test(test_find_far_fields),
      cmocka_unit_test(test_msg_max),
      cmocka_unit_test(test_u64),
      cmocka_unit_test(test_money),
      cmocka_unit_test(test_time),
      cmocka_unit_test(test_stream_two_messages),
      cmocka_unit_test(test_stream_garbage),
      cmocka_unit_test(test_stream_bad_checksum_then_good),
      cmocka_unit_test(test_stream_body_length_past_end),
      cmocka_unit_test(test_stream_garble_reasons),
      cmocka_unit_test(test_stream_many_reads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
