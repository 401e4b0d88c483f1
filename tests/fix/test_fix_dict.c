/*
 * Tests of fix/fix_dict.c: fix_validate() against the FIX 4.4 dictionary.
 *
 * Messages are built by a tokenizer local to this file ("8=FIX.4.4|9=0|
 * 35=8|...|10=000|", '|' standing for SOH), not by fix_parse(), so that
 * these tests depend on the dictionary alone; BodyLength and CheckSum
 * values do not matter to validation.  Valid messages of each type we use
 * pass; each reject reason comes with its exact ref tag; unknown tags of
 * an application message reach it, listed; unknown message types return
 * 1 with 373=11 on tag 35.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fix/fix.h"

#define HDR  "8=FIX.4.4|9=100|"
#define SESS "|34=2|49=BROKER|52=20240315-14:30:00.123|56=BACKSTOCK|"
#define TRL  "10=000|"

/* A message and the frame it borrows. */
struct tmsg {
  char frame[4096];
  struct fix_msg msg;
};

/* Tokenise @text ('|' for SOH) into @t, failing the test on bad input. */
static struct fix_msg *build(struct tmsg *t, const char *text)
{
  size_t len = strlen(text);
  if (len >= sizeof t->frame)
    fail_msg("test message too long");
  memset(&t->msg, 0, sizeof t->msg);
  for (size_t i = 0; i < len; i++)
    t->frame[i] = text[i] == '|' ? FIX_SOH : text[i];
  t->frame[len] = '\0';
  t->msg.frame = t->frame;
  t->msg.len = len;
  size_t p = 0;
  while (p < len) {
    uint32_t tag = 0;
    size_t q = p;
    while (q < len && t->frame[q] >= '0' && t->frame[q] <= '9')
      tag = tag * 10 + (uint32_t)(t->frame[q++] - '0');
    if (q == p || q >= len || t->frame[q] != '=')
      fail_msg("bad field at %zu in %s", p, text);
    size_t v = q + 1, e = v;
    while (e < len && t->frame[e] != FIX_SOH)
      e++;
    if (e >= len)
      fail_msg("field not ended by '|' in %s", text);
    if (t->msg.n_fields >= FIX_FIELDS_MAX)
      fail_msg("too many fields");
    struct fix_field *f = &t->msg.fields[t->msg.n_fields++];
    f->tag = tag;
    f->off = (uint32_t)v;
    f->len = (uint32_t)(e - v);
    if (tag == FIX_TAG_MSG_TYPE && !t->msg.msg_type) {
      t->msg.msg_type = t->frame + v;
      t->msg.msg_type_len = (uint32_t)(e - v);
    }
    p = e + 1;
  }
  return &t->msg;
}

static struct tmsg tm; /* large: kept out of the stack */

/* Validate @text; check the return value and, when it is not 0, the reject. */
static void expect(const char *text, int want_rc, int want_reason, uint32_t want_tag)
{
  struct fix_reject rej;
  struct fix_valid_info info;
  memset(&rej, 0xA5, sizeof rej);
  int rc = fix_validate(build(&tm, text), &rej, &info);
  if (rc != want_rc)
    fail_msg("%s: rc %d (reason %d tag %u), want %d", text, rc, rej.reason, rej.ref_tag, want_rc);
  if (want_rc != 0) {
    if ((int)rej.reason != want_reason || rej.ref_tag != want_tag)
      fail_msg("%s: reason %d tag %u, want %d tag %u", text, rej.reason, rej.ref_tag, want_reason,
               want_tag);
    assert_true(strlen(rej.text) > 0);
  }
}

static void expect_ok(const char *text)
{
  expect(text, 0, 0, 0);
}

static void expect_rej(const char *text, int reason, uint32_t tag)
{
  expect(text, -1, reason, tag);
}

#define ER_BODY                                                                                    \
  "37=O1|17=E1|150=F|39=2|55=ACME|54=1|151=0|14=100|6=12.5|11=C1|38=100|44=12.50|40=2|59=0|"       \
  "31=12.5|32=100|64=20240319|75=20240315|60=20240315-14:30:00.120|48=US0378331005|22=4|"
#define ER      HDR "35=8" SESS ER_BODY
#define NOS_MIN HDR "35=D" SESS "11=C1|21=1|55=ACME|54=1|60=20240315-14:30:00|40=2|"
#define NOS     NOS_MIN "38=100|44=12.5|59=0|"

/* ------------------------------------------------------------------ */
/* Valid messages                                                      */
/* ------------------------------------------------------------------ */

static void test_valid_execution_report(void **state)
{
  (void)state;
  expect_ok(ER TRL);
  /* With both groups and the optional header fields. */
  expect_ok(HDR "35=8|34=2|49=B|52=20240315-14:30:00|56=T|43=Y|122=20240315-14:29:00.000|"
                "97=N|" ER_BODY "453=2|448=P1|447=D|452=1|448=P2|452=3|"
                "382=1|375=CB|337=CT|437=100|438=20240315-14:30:00|58=done|" TRL);
  struct fix_reject rej;
  struct fix_valid_info info;
  info.n_unknown = 99;
  assert_int_equal(fix_validate(build(&tm, ER TRL), &rej, &info), 0);
  assert_int_equal(info.n_unknown, 0);
  /* NULL out-pointers are allowed. */
  assert_int_equal(fix_validate(build(&tm, ER TRL), NULL, NULL), 0);
}

static void test_valid_new_order_single(void **state)
{
  (void)state;
  expect_ok(NOS TRL);
  expect_ok(NOS "1=ACC1|48=US0378331005|22=4|544=1|453=1|448=ME|447=D|452=3|" TRL);
  expect_ok(HDR "35=D" SESS "11=C2|21=1|55=ACME|54=2|60=20240315-14:30:00.000|40=1|38=5|59=3|" TRL);
}

static void test_valid_admin(void **state)
{
  (void)state;
  expect_ok(HDR "35=2" SESS "7=5|16=0|" TRL);
  expect_ok(HDR "35=4" SESS "123=Y|36=10|" TRL);
  expect_ok(HDR "35=4" SESS "36=10|" TRL);
  expect_ok(HDR "35=A" SESS "98=0|108=30|141=Y|" TRL);
  expect_ok(HDR "35=0" SESS TRL);
  expect_ok(HDR "35=0" SESS "112=TEST|" TRL);
  expect_ok(HDR "35=1" SESS "112=TEST|" TRL);
  expect_ok(HDR "35=5" SESS "58=bye|" TRL);
  expect_ok(HDR "35=3" SESS "45=7|371=122|372=D|373=1|58=Required tag missing|" TRL);
}

static void test_valid_other_app(void **state)
{
  (void)state;
  expect_ok(HDR "35=F" SESS "41=C1|11=C2|55=ACME|54=1|60=20240315-14:30:00|38=100|" TRL);
  expect_ok(HDR "35=9" SESS "37=O1|11=C2|41=C1|39=8|434=1|102=0|" TRL);
  expect_ok(HDR "35=H" SESS "11=C1|55=ACME|54=1|37=O1|" TRL);
  expect_ok(HDR "35=Q" SESS "37=O1|17=E1|127=D|55=ACME|54=1|38=1|" TRL);
  expect_ok(HDR "35=j" SESS "372=D|380=3|45=3|58=no|" TRL);
  expect_ok(HDR "35=AN" SESS "710=R1|724=0|715=20240315|60=20240315-14:30:00|1=A|" TRL);
  expect_ok(HDR "35=AP" SESS "721=P1|715=20240315|728=0|55=ACME|"
                "702=2|703=SOD|704=100|703=FIN|705=5|" TRL);
}

/* ------------------------------------------------------------------ */
/* One test per reject reason                                          */
/* ------------------------------------------------------------------ */

static void test_required_missing(void **state)
{
  (void)state;
  /* D without ClOrdID. */
  expect_rej(HDR "35=D" SESS "21=1|55=ACME|54=1|60=20240315-14:30:00|40=2|" TRL,
             FIX_REJ_REQUIRED_MISSING, 11);
  /* TestRequest without TestReqID; header without SenderCompID. */
  expect_rej(HDR "35=1" SESS TRL, FIX_REJ_REQUIRED_MISSING, 112);
  expect_rej(HDR "35=0|34=2|52=20240315-14:30:00|56=T|" TRL, FIX_REJ_REQUIRED_MISSING, 49);
  /* No CheckSum. */
  expect_rej(HDR "35=0" SESS, FIX_REJ_REQUIRED_MISSING, 10);
}

static void test_value_out_of_range(void **state)
{
  (void)state;
  expect_rej(HDR "35=D" SESS "11=C1|21=1|55=ACME|54=X|60=20240315-14:30:00|40=2|" TRL,
             FIX_REJ_VALUE_OUT_OF_RANGE, 54);
  expect_rej(HDR "35=8" SESS "37=O1|17=E1|150=Z|39=2|55=A|54=1|151=0|14=1|6=1|" TRL,
             FIX_REJ_VALUE_OUT_OF_RANGE, 150);
  /* A negative HeartBtInt is a well-formed int out of range: 5. */
  expect_rej(HDR "35=A" SESS "98=0|108=-5|" TRL, FIX_REJ_VALUE_OUT_OF_RANGE, 108);
  expect_rej(HDR "35=A" SESS "98=7|108=30|" TRL, FIX_REJ_VALUE_OUT_OF_RANGE, 98);
  expect_rej(HDR "35=3" SESS "45=1|373=18|" TRL, FIX_REJ_VALUE_OUT_OF_RANGE, 373);
}

static void test_bad_format(void **state)
{
  (void)state;
  expect_rej(NOS_MIN "38=abc|" TRL, FIX_REJ_BAD_FORMAT, 38);
  expect_rej(HDR "35=D" SESS "11=C1|21=1|55=ACME|54=1|60=2024-03-15|40=2|" TRL, FIX_REJ_BAD_FORMAT,
             60);
  expect_rej(HDR "35=0|34=x2|49=B|52=20240315-14:30:00|56=T|" TRL, FIX_REJ_BAD_FORMAT, 34);
  expect_rej(HDR "35=0|34=2|49=B|52=20240230-14:30:00|56=T|" TRL, FIX_REJ_BAD_FORMAT, 52);
  expect_rej(HDR "35=0|34=2|49=B|52=20240315-24:30:00|56=T|" TRL, FIX_REJ_BAD_FORMAT, 52);
  expect_rej(HDR "35=0|34=2|49=B|52=20240315-14:30:00|56=T|43=X|" TRL, FIX_REJ_BAD_FORMAT, 43);
  expect_rej(HDR "35=A" SESS "98=0|108=abc|" TRL, FIX_REJ_BAD_FORMAT, 108);
  expect_rej(HDR "35=2" SESS "7=-1|16=0|" TRL, FIX_REJ_BAD_FORMAT, 7);
  expect_rej(ER "432=2024031|" TRL, FIX_REJ_BAD_FORMAT, 432);
  expect_rej(ER "13=12|" TRL, FIX_REJ_BAD_FORMAT, 13);
  expect_rej(NOS "18=1  2|" TRL, FIX_REJ_BAD_FORMAT, 18);
  /* Accepted variants: microseconds, a leap day, leading zeros, a bare point. */
  expect_ok(HDR "35=0|34=002|49=B|52=20240229-23:59:60.123456|56=T|" TRL);
  expect_ok(NOS "110=100.|111=.5|" TRL);
}

static void test_no_value(void **state)
{
  (void)state;
  expect_rej(ER "58=|" TRL, FIX_REJ_NO_VALUE, 58);
}

static void test_repeated_tag(void **state)
{
  (void)state;
  expect_rej(ER "55=ACME|" TRL, FIX_REJ_REPEATED_TAG, 55);
  expect_rej(HDR "35=0|34=2|49=B|49=B|52=20240315-14:30:00|56=T|" TRL, FIX_REJ_REPEATED_TAG, 49);
  /* A member twice in one group instance. */
  expect_rej(NOS "453=1|448=A|447=D|447=D|" TRL, FIX_REJ_REPEATED_TAG, 447);
}

static void test_out_of_order(void **state)
{
  (void)state;
  /* Header tag after the body started. */
  expect_rej(HDR "35=8|34=2|52=20240315-14:30:00|56=T|" ER_BODY "49=B|" TRL, FIX_REJ_OUT_OF_ORDER,
             49);
  /* A field after the trailer. */
  expect_rej(ER TRL "58=late|", FIX_REJ_OUT_OF_ORDER, 58);
  /* 8, 9, 35 not first. */
  expect_rej("9=5|8=FIX.4.4|35=0" SESS TRL, FIX_REJ_OUT_OF_ORDER, 8);
  expect_rej(HDR "35=0" SESS "35=0|" TRL, FIX_REJ_OUT_OF_ORDER, 35);
}

static void test_num_in_group(void **state)
{
  (void)state;
  /* Fewer instances than announced, before another field and at the end. */
  expect_rej(NOS "453=2|448=A|447=D|452=1|58=x|" TRL, FIX_REJ_BAD_NUM_IN_GROUP, 453);
  expect_rej(NOS "453=2|448=A|447=D|452=1|" TRL, FIX_REJ_BAD_NUM_IN_GROUP, 453);
  /* More instances than announced. */
  expect_rej(NOS "453=1|448=A|448=B|" TRL, FIX_REJ_BAD_NUM_IN_GROUP, 453);
  /* Not a number. */
  expect_rej(NOS "453=x|" TRL, FIX_REJ_BAD_NUM_IN_GROUP, 453);
  expect_rej(NOS "453=-1|" TRL, FIX_REJ_BAD_NUM_IN_GROUP, 453);
  /* Announced but no instance at all. */
  expect_rej(NOS "453=1|58=x|" TRL, FIX_REJ_BAD_NUM_IN_GROUP, 453);
  /* Zero instances is accepted. */
  expect_ok(NOS "453=0|" TRL);
}

static void test_group_order(void **state)
{
  (void)state;
  /* A member before the delimiter. */
  expect_rej(NOS "453=1|447=D|448=A|452=1|" TRL, FIX_REJ_GROUP_ORDER, 447);
  /* Members out of their defined order. */
  expect_rej(NOS "453=1|448=A|452=1|447=D|" TRL, FIX_REJ_GROUP_ORDER, 447);
  /* A member outside its group. */
  expect_rej(NOS "448=A|" TRL, FIX_REJ_GROUP_ORDER, 448);
}

static void test_unknown_tags_in_app_message(void **state)
{
  (void)state;
  struct fix_reject rej;
  struct fix_valid_info info;
  assert_int_equal(fix_validate(build(&tm, ER "9999=x|6000=y|" TRL), &rej, &info), 0);
  assert_int_equal(info.n_unknown, 2);
  assert_int_equal(info.unknown_tags[0], 9999);
  assert_int_equal(info.unknown_tags[1], 6000);
  /* A FIX tag that ER does not list (ExecTransType, gone in 4.4) passes too. */
  assert_int_equal(fix_validate(build(&tm, ER "20=0|" TRL), &rej, &info), 0);
  assert_int_equal(info.n_unknown, 1);
  assert_int_equal(info.unknown_tags[0], 20);
  /* More than 16: counted, the first 16 listed. */
  char text[2048];
  size_t pos = 0;
  const char *head = ER;
  memcpy(text, head, strlen(head));
  pos = strlen(head);
  for (int i = 0; i < 20; i++) {
    char f[8] = {'5', '0', (char)('0' + i / 10), (char)('0' + i % 10), '=', 'v', '|', 0};
    memcpy(text + pos, f, 7);
    pos += 7;
  }
  memcpy(text + pos, TRL, sizeof TRL);
  assert_int_equal(fix_validate(build(&tm, text), &rej, &info), 0);
  assert_int_equal(info.n_unknown, 20);
  assert_int_equal(info.unknown_tags[15], 5015);
}

static void test_tag_not_defined_in_admin(void **state)
{
  (void)state;
  expect_rej(HDR "35=0" SESS "7=1|" TRL, FIX_REJ_TAG_NOT_DEFINED, 7);
  expect_rej(HDR "35=A" SESS "98=0|108=30|6000=x|" TRL, FIX_REJ_TAG_NOT_DEFINED, 6000);
  /* Not a FIX 4.4 tag nor a user-defined one. */
  expect_rej(HDR "35=5" SESS "1500=x|" TRL, FIX_REJ_INVALID_TAG, 1500);
}

static void test_invalid_tag_number(void **state)
{
  (void)state;
  struct fix_reject rej;
  struct fix_msg *m = build(&tm, ER "58=x|" TRL);
  m->fields[m->n_fields - 2].tag = 0;
  assert_int_equal(fix_validate(m, &rej, NULL), -1);
  assert_int_equal(rej.reason, FIX_REJ_INVALID_TAG);
  assert_int_equal(rej.ref_tag, 0);
}

static void test_unknown_msg_type(void **state)
{
  (void)state;
  struct fix_reject rej;
  struct fix_valid_info info;
  assert_int_equal(fix_validate(build(&tm, HDR "35=ZZ" SESS TRL), &rej, &info), 1);
  assert_int_equal(rej.reason, FIX_REJ_INVALID_MSG_TYPE);
  assert_int_equal(rej.ref_tag, 35);
  assert_string_equal(rej.text, "Invalid MsgType");
  assert_false(rej.business);
  /* A FIX 4.4 application type we do not use: the session answers 35=j 380=3. */
  assert_int_equal(fix_validate(build(&tm, HDR "35=G" SESS TRL), &rej, &info), 1);
  assert_int_equal(rej.reason, FIX_REJ_INVALID_MSG_TYPE);
  assert_int_equal(rej.ref_tag, 35);
  assert_string_equal(rej.text, "Unsupported Message Type");
  assert_true(rej.business);
  /* Types are case-sensitive and exact. */
  assert_int_equal(fix_validate(build(&tm, HDR "35=a" SESS TRL), &rej, &info), 1);
  assert_int_equal(fix_validate(build(&tm, HDR "35=DD" SESS TRL), &rej, &info), 1);
  assert_int_equal(fix_validate(build(&tm, HDR "35=A" SESS "98=0|108=1|" TRL), &rej, &info), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_execution_report),
      cmocka_unit_test(test_valid_new_order_single),
      cmocka_unit_test(test_valid_admin),
      cmocka_unit_test(test_valid_other_app),
      cmocka_unit_test(test_required_missing),
      cmocka_unit_test(test_value_out_of_range),
      cmocka_unit_test(test_bad_format),
      cmocka_unit_test(test_no_value),
      cmocka_unit_test(test_repeated_tag),
      cmocka_unit_test(test_out_of_order),
      cmocka_unit_test(test_num_in_group),
      cmocka_unit_test(test_group_order),
      cmocka_unit_test(test_unknown_tags_in_app_message),
      cmocka_unit_test(test_tag_not_defined_in_admin),
      cmocka_unit_test(test_invalid_tag_number),
      cmocka_unit_test(test_unknown_msg_type),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
