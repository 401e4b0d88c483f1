/*
 * Unit tests of the request body parser (api/api_body.c): one field list
 * with every type, then bodies that must parse (every value checked
 * exactly) and bodies that must not (each with its registry code and the
 * field its hint names): malformed, oversized, too deep, a member twice,
 * unknown members, wrong types, JSON numbers for amounts, over-precise,
 * negative, zero and overflowing amounts, integers out of range, control
 * characters, and which error wins when there are several.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "tests/support/testsupport.h"

struct target {
  char name[41];
  char sym[9];
  struct money qty;
  struct money price;
  struct money delta;
  int64_t n;
  bool flag;
  int side;
  char addr[API_ADDRESS_LEN + 1];
  int64_t when;
  char id[17];
  char note[11];
};

static const char *const sides[] = {"buy", "sell", NULL};

enum { F_NAME, F_SYM, F_QTY, F_PRICE, F_DELTA, F_N, F_FLAG, F_SIDE, F_ADDR, F_WHEN, F_ID, F_NOTE };

static const struct api_field fields[] = {
    API_FIELD_STRING("name", struct target, name, API_F_REQUIRED, API_CS_TEXT),
    API_FIELD_STRING("sym", struct target, sym, 0, API_CS_UPPER),
    API_FIELD_DECIMAL("qty", struct target, qty, API_F_REQUIRED, 6),
    API_FIELD_DECIMAL("price", struct target, price, API_F_ZERO, 2),
    API_FIELD_DECIMAL("delta", struct target, delta, API_F_NEGATIVE | API_F_ZERO, 2),
    API_FIELD_INT("n", struct target, n, 0, 1, 1000),
    API_FIELD_BOOL("flag", struct target, flag, 0),
    API_FIELD_ENUM("side", struct target, side, 0, sides),
    API_FIELD_ADDRESS("addr", struct target, addr, 0),
    API_FIELD_TIME("when", struct target, when, 0),
    API_FIELD_STRING("id", struct target, id, 0, API_CS_ID),
    API_FIELD_STRING("note", struct target, note, API_F_EMPTY, API_CS_TEXT),
};
#define NF (sizeof fields / sizeof fields[0])

static char hint[API_HINT_MAX];

static int parse_n(const char *body, size_t len, struct target *t, uint64_t *present)
{
  memset(t, 0x5a, sizeof *t);
  return api_body_parse(body, len, fields, NF, t, present, hint, sizeof hint);
}

static int parse(const char *body, struct target *t, uint64_t *present)
{
  return parse_n(body, strlen(body), t, present);
}

/* @body fails with @code and a hint holding @part. */
static void refused(const char *body, int code, const char *part)
{
  struct target t;
  int rc = parse(body, &t, NULL);
  if (rc != -code)
    fail_msg("%s: want %s, got %s (%s)", body, err_name(code), err_name(rc), hint);
  if (part != NULL && strstr(hint, part) == NULL)
    fail_msg("%s: hint \"%s\" lacks \"%s\"", body, hint, part);
}

static void assert_money(struct money m, long long v, unsigned scale)
{
  assert_true(m.v == (__int128)v);
  assert_int_equal(m.scale, scale);
}

static void test_all_fields(void **state)
{
  struct target t;
  uint64_t present = 0;
  (void)state;
  const char *body = "{\"name\":\"Zürich Capital\",\"sym\":\"BRK.B\",\"qty\":\"1.5\","
                     "\"price\":\"0\",\"delta\":\"-12.25\",\"n\":1000,\"flag\":true,"
                     "\"side\":\"sell\",\"addr\":\"0xABCDEF0123456789abcdef0123456789ABCDEF01\","
                     "\"when\":\"2025-01-31T15:00:00.250+01:00\",\"id\":\"a-b_c.9\","
                     "\"note\":\"\"}";
  assert_int_equal(parse(body, &t, &present), 0);
  assert_int_equal(present, (1u << NF) - 1);
  assert_string_equal(t.name, "Zürich Capital");
  assert_string_equal(t.sym, "BRK.B");
  assert_money(t.qty, 1500000, 6);
  assert_money(t.price, 0, 2);
  assert_money(t.delta, -1225, 2);
  assert_int_equal(t.n, 1000);
  assert_true(t.flag);
  assert_int_equal(t.side, 1);
  assert_string_equal(t.addr, "0xabcdef0123456789abcdef0123456789abcdef01");
  assert_int_equal(t.when, 1738332000250LL); /* 2025-01-31T14:00:00.250Z */
  assert_string_equal(t.id, "a-b_c.9");
  assert_string_equal(t.note, "");
}

static void test_minimal_and_nulls(void **state)
{
  struct target t;
  uint64_t present = 0;
  (void)state;
  assert_int_equal(
      parse("  {\"qty\":\"7\",\"name\":\"a\",\"sym\":null,\"n\":null}\n", &t, &present), 0);
  assert_int_equal(present, (1u << F_NAME) | (1u << F_QTY));
  assert_money(t.qty, 7000000, 6);
  assert_int_equal(
      parse("{\"name\":\"a\",\"qty\":\"0.000001\",\"n\":1,\"flag\":false}", &t, &present), 0);
  assert_money(t.qty, 1, 6);
  assert_int_equal(t.n, 1);
  assert_false(t.flag);
  /* Empty and blank bodies are {}: here the first required field is missing. */
  refused("", ERR_API_FIELD, "\"name\" is required");
  refused(" \r\n\t", ERR_API_FIELD, "\"name\" is required");
  refused("{}", ERR_API_FIELD, "\"name\" is required");
  refused("{\"name\":\"a\"}", ERR_API_FIELD, "\"qty\" is required");
  refused("{\"name\":null,\"qty\":\"1\"}", ERR_API_FIELD, "\"name\" is required");
  /* An empty list takes only {} or nothing. */
  assert_int_equal(api_body_parse("", 0, NULL, 0, NULL, NULL, hint, sizeof hint), 0);
  assert_int_equal(api_body_parse("{}", 2, NULL, 0, NULL, NULL, hint, sizeof hint), 0);
  assert_int_equal(api_body_parse("{\"x\":1}", 7, NULL, 0, NULL, NULL, hint, sizeof hint),
                   -ERR_API_UNKNOWN_FIELD);
}

static void test_malformed(void **state)
{
  (void)state;
  const char *bad[] = {
      "{",
      "{\"name\":}",
      "{\"name\":\"a\",}",
      "{\"name\":\"a\"} x",
      "{\"name\":\"a\"}{}",
      "{name:\"a\"}",
      "{'name':'a'}",
      "{\"name\":\"a\" /* c */}",
      "{\"qty\":01}",
      "{\"name\":\"\xff\xfe\"}",
      "{\"name\":\"a\x01\"}",
      "nul",
      "{\"qty\":NaN}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    refused(bad[i], ERR_API_BAD_JSON, "malformed JSON");
  const char *not_object[] = {"[]", "[{\"name\":\"a\"}]", "\"x\"", "1", "null", "true"};
  for (size_t i = 0; i < sizeof not_object / sizeof not_object[0]; i++)
    refused(not_object[i], ERR_API_BAD_JSON, "must be a JSON object");
  /* A NUL byte in the text. */
  struct target t;
  assert_int_equal(parse_n("{\"name\":\"a\"}\0", 13, &t, NULL), -ERR_API_BAD_JSON);
}

/* {"x": and @arrays brackets, closed. */
static const char *nested(char *buf, int arrays)
{
  size_t p = (size_t)snprintf(buf, 256, "{\"x\":");
  for (int i = 0; i < arrays; i++)
    buf[p++] = '[';
  for (int i = 0; i < arrays; i++)
    buf[p++] = ']';
  buf[p++] = '}';
  buf[p] = '\0';
  return buf;
}

static void test_size_and_depth(void **state)
{
  struct target t;
  char *big = malloc(API_BODY_MAX + 2);
  (void)state;
  assert_non_null(big);
  /* Exactly API_BODY_MAX bytes: read (a long name, so api_field, not size). */
  memset(big, ' ', API_BODY_MAX);
  memcpy(big, "{\"name\":\"a\",\"qty\":\"1\"}", 22);
  assert_int_equal(parse_n(big, API_BODY_MAX, &t, NULL), 0);
  big[API_BODY_MAX] = ' ';
  assert_int_equal(parse_n(big, API_BODY_MAX + 1, &t, NULL), -ERR_API_BODY_TOO_LARGE);
  free(big);

  char deep[256];
  /* depth 1 (the body) + 16 arrays = 17: one too many. */
  refused(nested(deep, API_BODY_DEPTH_MAX), ERR_API_BAD_JSON, "nested deeper than 16");
  /* 16 deep is allowed: the unknown member is the error. */
  refused(nested(deep, API_BODY_DEPTH_MAX - 1), ERR_API_UNKNOWN_FIELD, "\"x\"");
  /* 60000 brackets: stopped at once or at the limit, never deeper. */
  char *huge = malloc(60001);
  assert_non_null(huge);
  memset(huge, '[', 60000);
  huge[60000] = '\0';
  refused(huge, ERR_API_BAD_JSON, "must be a JSON object");
  memcpy(huge, "{\"name\":", 8);
  refused(huge, ERR_API_BAD_JSON, "nested deeper");
  free(huge);
}

static void test_duplicates_and_unknown(void **state)
{
  (void)state;
  refused("{\"name\":\"a\",\"qty\":\"1\",\"name\":\"b\"}", ERR_API_BAD_JSON,
          "member \"name\" given twice");
  refused("{\"name\":\"a\",\"qty\":\"1\",\"qty\":\"1\"}", ERR_API_BAD_JSON, "\"qty\" given twice");
  refused("{\"name\":\"a\",\"qty\":\"1\",\"bogus\":1}", ERR_API_UNKNOWN_FIELD,
          "unknown field \"bogus\"");
  refused("{\"Name\":\"a\",\"qty\":\"1\"}", ERR_API_UNKNOWN_FIELD, "\"Name\"");
  refused("{\"name\":\"a\",\"qty\":\"1\",\"x\":{\"deep\":[1,2,{\"y\":null}]}}",
          ERR_API_UNKNOWN_FIELD, "\"x\"");
  /* A long unknown name is cut in the hint. */
  char body[400];
  char name[200];
  memset(name, 'k', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  snprintf(body, sizeof body, "{\"%s\":1}", name);
  refused(body, ERR_API_UNKNOWN_FIELD, "kkk...");
  assert_true(strlen(hint) < 100);
  /* The first wrong member in the text wins; a syntax error anywhere wins over all. */
  refused("{\"bogus\":1,\"name\":5}", ERR_API_UNKNOWN_FIELD, "bogus");
  refused("{\"name\":5,\"bogus\":1}", ERR_API_FIELD, "\"name\"");
  refused("{\"name\":5,\"bogus\":1", ERR_API_BAD_JSON, NULL);
  refused("{\"bogus\":1,\"name\":\"a\",\"name\":\"b\"}", ERR_API_BAD_JSON, "twice");
}

static void test_wrong_types(void **state)
{
  (void)state;
  struct {
    const char *body;
    const char *part;
  } cases[] = {
      {"{\"name\":5,\"qty\":\"1\"}", "field \"name\": want a string"},
      {"{\"name\":true,\"qty\":\"1\"}", "field \"name\""},
      {"{\"name\":{},\"qty\":\"1\"}", "field \"name\""},
      {"{\"name\":[\"a\"],\"qty\":\"1\"}", "field \"name\""},
      {"{\"name\":\"a\",\"qty\":\"1\",\"flag\":\"true\"}", "field \"flag\": want true or false"},
      {"{\"name\":\"a\",\"qty\":\"1\",\"flag\":1}", "field \"flag\""},
      {"{\"name\":\"a\",\"qty\":\"1\",\"n\":\"5\"}", "field \"n\": want an integer"},
      {"{\"name\":\"a\",\"qty\":\"1\",\"n\":5.0}", "field \"n\": want an integer"},
      {"{\"name\":\"a\",\"qty\":\"1\",\"n\":1e2}", "field \"n\""},
      {"{\"name\":\"a\",\"qty\":\"1\",\"n\":-0}", NULL},
      {"{\"name\":\"a\",\"qty\":\"1\",\"side\":\"hold\"}", "one of \"buy\", \"sell\""},
      {"{\"name\":\"a\",\"qty\":\"1\",\"side\":\"BUY\"}", "field \"side\""},
      {"{\"name\":\"a\",\"qty\":\"1\",\"side\":0}", "field \"side\""},
      {"{\"name\":\"a\",\"qty\":\"1\",\"addr\":\"0x123\"}", "\"0x\" and 40 hex digits"},
      {"{\"name\":\"a\",\"qty\":\"1\",\"addr\":\"0xabcdef0123456789abcdef0123456789abcdef0g\"}",
       "field \"addr\""},
      {"{\"name\":\"a\",\"qty\":\"1\",\"addr\":\"0Xabcdef0123456789abcdef0123456789abcdef01\"}",
       "field \"addr\""},
      {"{\"name\":\"a\",\"qty\":\"1\",\"when\":\"2025-13-01T00:00:00Z\"}", "RFC 3339"},
      {"{\"name\":\"a\",\"qty\":\"1\",\"when\":\"2025-01-01 00:00:00Z\"}", "field \"when\""},
      {"{\"name\":\"a\",\"qty\":\"1\",\"when\":\"2025-01-01T00:00:00\"}", "field \"when\""},
      {"{\"name\":\"a\",\"qty\":\"1\",\"when\":\"2025-01-01T00:00:00.1234Z\"}", "field \"when\""},
      {"{\"name\":\"a\",\"qty\":\"1\",\"when\":1735689600000}", "field \"when\""},
      {"{\"name\":\"a\",\"qty\":\"1\",\"sym\":\"aapl\"}", "character not allowed"},
      {"{\"name\":\"a\",\"qty\":\"1\",\"id\":\"a b\"}", "field \"id\""},
      {"{\"name\":\"a\\u0001\",\"qty\":\"1\"}", "field \"name\": character not allowed"},
      {"{\"name\":\"a\\nb\",\"qty\":\"1\"}", "field \"name\""},
      {"{\"name\":\"\xc2\x85\",\"qty\":\"1\"}", "field \"name\""},
      {"{\"name\":\"a\\u0000b\",\"qty\":\"1\"}", "field \"name\""},
      {"{\"name\":\"\",\"qty\":\"1\"}", "must not be empty"},
      {"{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"qty\":\"1\"}", "too long"},
      {"{\"name\":\"a\",\"qty\":\"1\",\"note\":\"12345678901\"}", "too long"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    refused(cases[i].body, ERR_API_FIELD, cases[i].part);
  /* 40 bytes is the most; "-0" is zero for an integer of 1..1000: out of range. */
  struct target t;
  assert_int_equal(
      parse("{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"qty\":\"1\"}", &t, NULL), 0);
  assert_int_equal(strlen(t.name), 40);
}

static void test_amounts(void **state)
{
  struct target t;
  (void)state;
  refused("{\"name\":\"a\",\"qty\":1.5}", ERR_API_FIELD, "not JSON numbers");
  refused("{\"name\":\"a\",\"qty\":1}", ERR_API_FIELD, "field \"qty\"");
  refused("{\"name\":\"a\",\"qty\":\"1.1234567\"}", ERR_API_FIELD, "more than 6 fraction digits");
  refused("{\"name\":\"a\",\"qty\":\"1\",\"price\":\"0.001\"}", ERR_API_FIELD,
          "more than 2 fraction digits");
  refused("{\"name\":\"a\",\"qty\":\"-1\"}", ERR_API_FIELD, "must be greater than zero");
  refused("{\"name\":\"a\",\"qty\":\"-0.5\"}", ERR_API_FIELD, "must be greater than zero");
  refused("{\"name\":\"a\",\"qty\":\"0\"}", ERR_API_FIELD, "must not be zero");
  refused("{\"name\":\"a\",\"qty\":\"0.000000\"}", ERR_API_FIELD, "must not be zero");
  refused("{\"name\":\"a\",\"qty\":\"1\",\"price\":\"-1\"}", ERR_API_FIELD, "zero or more");
  refused("{\"name\":\"a\",\"qty\":\"1e3\"}", ERR_API_FIELD, "field \"qty\"");
  refused("{\"name\":\"a\",\"qty\":\"+1\"}", ERR_API_FIELD, "field \"qty\"");
  refused("{\"name\":\"a\",\"qty\":\"1.\"}", ERR_API_FIELD, "field \"qty\"");
  refused("{\"name\":\"a\",\"qty\":\".5\"}", ERR_API_FIELD, "field \"qty\"");
  refused("{\"name\":\"a\",\"qty\":\"01\"}", ERR_API_FIELD, "field \"qty\"");
  refused("{\"name\":\"a\",\"qty\":\" 1\"}", ERR_API_FIELD, "field \"qty\"");
  refused("{\"name\":\"a\",\"qty\":\"1,000\"}", ERR_API_FIELD, "field \"qty\"");
  refused("{\"name\":\"a\",\"qty\":\"NaN\"}", ERR_API_FIELD, "field \"qty\"");
  refused("{\"name\":\"a\",\"qty\":\"\"}", ERR_API_FIELD, "field \"qty\"");
  /* Overflow: 2^127 / 10^6 is about 1.7e32. */
  refused("{\"name\":\"a\",\"qty\":\"1000000000000000000000000000000000\"}", ERR_API_FIELD,
          "out of range");
  refused("{\"name\":\"a\",\"qty\":\"1\",\"n\":99999999999999999999999}", ERR_API_FIELD,
          "out of range");
  refused("{\"name\":\"a\",\"qty\":\"1\",\"n\":1001}", ERR_API_FIELD, "from 1 to 1000");
  refused("{\"name\":\"a\",\"qty\":\"1\",\"n\":0}", ERR_API_FIELD, "from 1 to 1000");
  /* The largest amount that fits, exactly. */
  assert_int_equal(
      parse("{\"name\":\"a\",\"qty\":\"170141183460469231731687303715884.105727\"}", &t, NULL), 0);
  assert_true(t.qty.v == MONEY_V_MAX);
  assert_int_equal(parse("{\"name\":\"a\",\"qty\":\"1\",\"delta\":\"-0.01\"}", &t, NULL), 0);
  assert_money(t.delta, -1, 2);
  assert_int_equal(parse("{\"name\":\"a\",\"qty\":\"1\",\"delta\":\"0\"}", &t, NULL), 0);
  assert_money(t.delta, 0, 2);
}

/* SQL and JSON metacharacters are text like any other. */
static void test_metacharacters(void **state)
{
  struct target t;
  (void)state;
  assert_int_equal(parse("{\"name\":\"x'); DROP TABLE t;--\\\\\\\"%_\",\"qty\":\"1\"}", &t, NULL),
                   0);
  assert_string_equal(t.name, "x'); DROP TABLE t;--\\\"%_");
  assert_int_equal(parse("{\"name\":\"\\ud83d\\ude00 \\u00e9\",\"qty\":\"1\"}", &t, NULL), 0);
  assert_string_equal(t.name, "\xf0\x9f\x98\x80 \xc3\xa9");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_fields),
      cmocka_unit_test(test_minimal_and_nulls),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_size_and_depth),
      cmocka_unit_test(test_duplicates_and_unknown),
      cmocka_unit_test(test_wrong_types),
      cmocka_unit_test(test_amounts),
      cmocka_unit_test(test_metacharacters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
