/*
 * Unit tests of the API's small pieces without I/O: the JSON writer
 * (api/api_json.c: structure, escaping, invalid UTF-8, amounts, times,
 * misuse), the canonical JSON of the audit log, RFC 3339 in and out,
 * pagination cursors (api/api_page.c) and the text of API keys
 * (api/api_keys.c).  Every output is compared byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "tests/support/testsupport.h"

/* The writer's text, checked and freed. */
static void expect_text(struct api_json *j, const char *want)
{
  const char *text;
  size_t len;
  int rc = api_json_done(j, &text, &len);
  if (rc != 0)
    fail_msg("writer failed: %s", err_name(rc));
  assert_string_equal(text, want);
  assert_int_equal(len, strlen(want));
  api_json_free(j);
}

static void expect_misuse(struct api_json *j)
{
  const char *text;
  size_t len;
  assert_int_equal(api_json_done(j, &text, &len), -ERR_INTERNAL);
  api_json_free(j);
}

static void test_writer(void **state)
{
  struct api_json j;
  struct money m;
  (void)state;
  api_json_init(&j);
  api_json_obj(&j);
  api_json_key(&j, "a");
  api_json_int(&j, -9223372036854775807LL - 1);
  api_json_key(&j, "b");
  api_json_arr(&j);
  api_json_bool(&j, true);
  api_json_bool(&j, false);
  api_json_null(&j);
  api_json_obj(&j);
  api_json_obj_end(&j);
  api_json_arr(&j);
  api_json_arr_end(&j);
  api_json_str(&j, NULL);
  api_json_arr_end(&j);
  api_json_key(&j, "m");
  assert_int_equal(money_parse("-12.5", 5, 6, MONEY_PARSE_NEGATIVE, &m), 0);
  api_json_money(&j, m);
  api_json_key(&j, "t");
  api_json_time(&j, 1738332000250LL);
  api_json_key(&j, "none");
  api_json_time(&j, API_TIME_NONE);
  api_json_key(&j, "h");
  api_json_hex(&j, (const uint8_t *)"\x00\xff\x10", 3);
  api_json_key(&j, "r");
  api_json_raw(&j, "{\"x\":1}", 7);
  api_json_obj_end(&j);
  expect_text(&j, "{\"a\":-9223372036854775808,\"b\":[true,false,null,{},[],null],"
                  "\"m\":\"-12.500000\",\"t\":\"2025-01-31T14:00:00.250Z\",\"none\":null,"
                  "\"h\":\"00ff10\",\"r\":{\"x\":1}}");
}

static void test_escaping(void **state)
{
  struct api_json j;
  (void)state;
  api_json_init(&j);
  api_json_arr(&j);
  api_json_str(&j, "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f é €😀");
  api_json_strn(&j, "a\0b", 3);
  api_json_str(&j, "bad \xff\xc3 \xe2\x82 \xed\xa0\x80 \xc0\xaf end"); /* not UTF-8 */
  api_json_arr_end(&j);
  expect_text(&j, "[\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f é €😀\",\"a\\u0000b\","
                  "\"bad \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
                  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd end\"]");
  /* A key is escaped too. */
  api_json_init(&j);
  api_json_obj(&j);
  api_json_key(&j, "k\"\n");
  api_json_int(&j, 1);
  api_json_obj_end(&j);
  expect_text(&j, "{\"k\\\"\\n\":1}");
}

static void test_misuse(void **state)
{
  struct api_json j;
  (void)state;
  api_json_init(&j); /* nothing written */
  expect_misuse(&j);
  api_json_init(&j); /* a value in an object without its key */
  api_json_obj(&j);
  api_json_int(&j, 1);
  api_json_obj_end(&j);
  expect_misuse(&j);
  api_json_init(&j); /* a key in an array */
  api_json_arr(&j);
  api_json_key(&j, "a");
  expect_misuse(&j);
  api_json_init(&j); /* left open */
  api_json_obj(&j);
  expect_misuse(&j);
  api_json_init(&j); /* a key without its value */
  api_json_obj(&j);
  api_json_key(&j, "a");
  api_json_obj_end(&j);
  expect_misuse(&j);
  api_json_init(&j); /* closed with the wrong bracket */
  api_json_obj(&j);
  api_json_arr_end(&j);
  expect_misuse(&j);
  api_json_init(&j); /* two values at the top */
  api_json_int(&j, 1);
  api_json_int(&j, 2);
  expect_misuse(&j);
  api_json_init(&j); /* too deep */
  for (int i = 0; i < API_JSON_DEPTH + 1; i++)
    api_json_arr(&j);
  expect_misuse(&j);
  /* A secret's buffer is wiped and freed (nothing to see; must not crash). */
  api_json_init(&j);
  api_json_secret(&j);
  api_json_str(&j, "bsk_secret");
  expect_text(&j, "\"bsk_secret\"");
}

static void test_canonical(void **state)
{
  char *out = NULL;
  size_t len = 0;
  (void)state;
  assert_int_equal(
      api_json_canonical(" { \"b\" : [ 1 , {\"z\":null,\"a\":true} ] ,\"a\":\"\\u00e9\\n\","
                         "\"B\":-1.50e3 } ",
                         &out, &len),
      0);
  assert_string_equal(out, "{\"B\":-1.50e3,\"a\":\"é\\n\",\"b\":[1,{\"a\":true,\"z\":null}]}");
  assert_int_equal(len, strlen(out));
  free(out);
  assert_int_equal(api_json_canonical("{\"a\":1,\"a\":2}", &out, &len), -ERR_API_BAD_JSON);
  assert_int_equal(api_json_canonical("{\"a\":", &out, &len), -ERR_API_BAD_JSON);
  assert_int_equal(api_json_canonical("{}", &out, &len), 0);
  assert_string_equal(out, "{}");
  free(out);
}

static void test_times(void **state)
{
  char b[API_TIME_STR];
  int64_t ms;
  (void)state;
  assert_int_equal(api_time_format(0, b), 0);
  assert_string_equal(b, "1970-01-01T00:00:00.000Z");
  assert_int_equal(api_time_format(-1, b), 0);
  assert_string_equal(b, "1969-12-31T23:59:59.999Z");
  assert_int_equal(api_time_format(4102444799999LL, b), 0);
  assert_string_equal(b, "2099-12-31T23:59:59.999Z");
  assert_int_equal(api_time_format(253402300800000LL, b), -ERR_INVALID_ARGUMENT); /* year 10000 */

  struct {
    const char *s;
    long long ms;
  } ok[] = {
      {"2025-01-31T15:00:00Z", 1738335600000LL},
      {"2025-01-31t15:00:00z", 1738335600000LL},
      {"2025-01-31T15:00:00.5Z", 1738335600500LL},
      {"2025-01-31T15:00:00.05Z", 1738335600050LL},
      {"2025-01-31T15:00:00.123Z", 1738335600123LL},
      {"2025-01-31T15:00:00+01:00", 1738332000000LL},
      {"2025-01-31T15:00:00-05:30", 1738355400000LL},
      {"2024-02-29T00:00:00Z", 1709164800000LL},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    if (api_time_parse(ok[i].s, strlen(ok[i].s), &ms) != 0)
      fail_msg("%s refused", ok[i].s);
    assert_int_equal(ms, ok[i].ms);
  }
  const char *bad[] = {"",
                       "2025-01-31",
                       "2025-01-31T15:00:00",
                       "2025-01-31T15:00Z",
                       "2025-01-31 15:00:00Z",
                       "2025-02-29T00:00:00Z",
                       "2025-01-31T24:00:00Z",
                       "2025-01-31T15:60:00Z",
                       "2025-01-31T15:00:60Z",
                       "2025-01-31T15:00:00.Z",
                       "2025-01-31T15:00:00.1234Z",
                       "2025-01-31T15:00:00+0100",
                       "2025-01-31T15:00:00+24:00",
                       "2025-01-31T15:00:00ZZ",
                       "+2025-01-31T15:00:00Z",
                       "1899-12-31T00:00:00Z",
                       "2025-1-31T15:00:00Z"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (api_time_parse(bad[i], strlen(bad[i]), &ms) != -ERR_INVALID_ARGUMENT)
      fail_msg("%s accepted", bad[i]);
}

static void test_cursors(void **state)
{
  char c[API_CURSOR_MAX];
  int64_t id;
  (void)state;
  api_cursor_encode(1, c);
  assert_string_equal(c, "MQ");
  assert_int_equal(api_cursor_decode("MQ", &id), 0);
  assert_int_equal(id, 1);
  api_cursor_encode(INT64_MAX, c);
  assert_int_equal(api_cursor_decode(c, &id), 0);
  assert_int_equal(id, INT64_MAX);
  for (int64_t v = 1; v < 100000; v = v * 3 + 1) {
    api_cursor_encode(v, c);
    assert_int_equal(api_cursor_decode(c, &id), 0);
    assert_int_equal(id, v);
  }
  const char *bad[] = {"",
                       "M",
                       "MR",                           /* the unused bits set */
                       "MQ==",                         /* padding */
                       "MA",                           /* "0" */
                       "MDE",                          /* "01" */
                       "LTE",                          /* "-1" */
                       "Zm9v",                         /* "foo" */
                       "OTIyMzM3MjAzNjg1NDc3NTgwOA",   /* INT64_MAX + 1 */
                       "MTAwMDAwMDAwMDAwMDAwMDAwMDAw", /* 20 digits */
                       "M Q",
                       "M+",
                       "!!!",
                       "MQMQMQMQMQMQMQMQMQMQMQMQMQMQMQMQMQMQ"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (api_cursor_decode(bad[i], &id) != -ERR_API_BAD_CURSOR)
      fail_msg("cursor \"%s\" accepted", bad[i]);
}

static void test_key_text(void **state)
{
  char id[API_KEY_ID_LEN + 1], id2[API_KEY_ID_LEN + 1], text[API_KEY_TEXT_MAX],
      text2[API_KEY_TEXT_MAX];
  uint8_t hash[32], hash2[32];
  (void)state;
  api_key_make(id, text, hash);
  assert_int_equal(strlen(text), 64);
  assert_memory_equal(text, "bsk_", 4);
  assert_memory_equal(text + 4, id, 16);
  assert_int_equal(text[20], '_');
  assert_int_equal(api_key_check_text(text, strlen(text), id2, hash2), 0);
  assert_string_equal(id, id2);
  assert_memory_equal(hash, hash2, 32);
  /* Two keys differ in id, secret and hash. */
  api_key_make(id2, text2, hash2);
  assert_string_not_equal(id, id2);
  assert_memory_not_equal(text + 21, text2 + 21, 43);
  assert_memory_not_equal(hash, hash2, 32);
  /* The hash is keyed by the id: the same secret under another id differs. */
  memcpy(text2 + 21, text + 21, 43);
  assert_int_equal(api_key_check_text(text2, 64, id2, hash2), 0);
  assert_memory_not_equal(hash, hash2, 32);
  /* One character changed in the secret: another hash. */
  memcpy(text2, text, sizeof text2);
  text2[30] = text2[30] == 'A' ? 'B' : 'A';
  assert_int_equal(api_key_check_text(text2, 64, id2, hash2), 0);
  assert_memory_not_equal(hash, hash2, 32);
  /* Shapes refused. */
  char bad[80];
  struct {
    size_t at;
    char ch;
  } edits[] = {{0, 'B'}, {3, '-'}, {4, 'A'}, {10, 'g'}, {20, '-'}, {40, '+'}, {50, '='}};
  for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
    memcpy(bad, text, 65);
    bad[edits[i].at] = edits[i].ch;
    if (api_key_check_text(bad, 64, id2, hash2) != -ERR_API_UNAUTHORIZED)
      fail_msg("edit %zu accepted: %s", i, bad);
  }
  assert_int_equal(api_key_check_text(text, 63, id2, hash2), -ERR_API_UNAUTHORIZED);
  memcpy(bad, text, 65);
  memcpy(bad + 64, "A", 2);
  assert_int_equal(api_key_check_text(bad, 65, id2, hash2), -ERR_API_UNAUTHORIZED);
  assert_int_equal(api_key_check_text("", 0, id2, hash2), -ERR_API_UNAUTHORIZED);
  /* The last character of 32 bytes in base64url carries 4 bits: its other 2 must be 0. */
  memcpy(bad, text, 65);
  const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const char *pos = strchr(alphabet, bad[63]);
  assert_non_null(pos);
  bad[63] = alphabet[(pos - alphabet) ^ 1];
  assert_int_equal(api_key_check_text(bad, 64, id2, hash2), -ERR_API_UNAUTHORIZED);
  sodium_memzero(text, sizeof text);
}

static void test_roles(void **state)
{
  enum api_role r;
  (void)state;
  assert_string_equal(api_role_name(API_ROLE_ISSUER_ADMIN), "issuer_admin");
  assert_string_equal(api_role_name(API_ROLE_AP), "ap");
  assert_string_equal(api_role_name(API_ROLE_AUDITOR), "auditor");
  assert_string_equal(api_role_name(API_ROLE_PUBLIC), "public");
  assert_int_equal(api_role_parse("ap", &r), 0);
  assert_int_equal(r, API_ROLE_AP);
  assert_int_equal(api_role_parse("auditor", &r), 0);
  assert_int_equal(r, API_ROLE_AUDITOR);
  assert_int_equal(api_role_parse("admin", &r), -ERR_INVALID_ARGUMENT);
  assert_int_equal(api_role_parse("AP", &r), -ERR_INVALID_ARGUMENT);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_writer),   cmocka_unit_test(test_escaping),
      cmocka_unit_test(test_misuse),   cmocka_unit_test(test_canonical),
      cmocka_unit_test(test_times),    cmocka_unit_test(test_cursors),
      cmocka_unit_test(test_key_text), cmocka_unit_test(test_roles),
  };
  if (sodium_init() < 0)
    return 1;
  return cmocka_run_group_tests(tests, NULL, NULL);
}
