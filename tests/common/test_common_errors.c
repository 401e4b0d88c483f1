/*
 * Tests of common/common_errors.c: the error registry.
 *
 * Every row of the COMMON_ERRORS X-macro list is checked through the
 * public lookups, for both signs of its number: err_name() answers the
 * lower-case symbolic name, err_text() the row's own text, and
 * err_http_status() the row's status, which must be one an API may send.
 * Numbers and names are unique, each number lies in its module's block
 * (the groups of common_errors.h), and numbers outside the registry answer
 * "unknown" and 500.  A few rows are pinned to their exact number and
 * status, since clients depend on them.  Finally every number must be
 * listed in docs/errors.md, found through BACKSTOCK_TEST_SOURCE_ROOT (set by
 * meson); a missing file fails the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

/* The registry as the test sees it, straight from the X-macro list. */
struct row {
  const char *upper; /* symbolic name as written in the list */
  int num;
  unsigned http;
  const char *text;
};

static const struct row rows[] = {
#define TEST_ROW(name, num, http, text) {#name, num, http, text},
    COMMON_ERRORS(TEST_ROW)
#undef TEST_ROW
};

#define N_ROWS (sizeof rows / sizeof rows[0])

/* The statuses an API answer may carry. */
static const unsigned allowed_http[] = {200, 400, 401, 403, 404, 405, 409, 413, 422, 429, 500, 503};

static int http_allowed(unsigned http)
{
  for (size_t i = 0; i < sizeof allowed_http / sizeof allowed_http[0]; i++)
    if (allowed_http[i] == http)
      return 1;
  return 0;
}

static void lower_name(const char *upper, char *out, size_t size)
{
  size_t i = 0;
  for (; upper[i] != '\0' && i + 1 < size; i++) {
    char ch = upper[i];
    out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
  }
  assert_true(upper[i] == '\0'); /* the test's buffer was big enough */
  out[i] = '\0';
}

static void test_registry_not_empty(void **state)
{
  (void)state;
  assert_true(http_allowed(503));
  assert_false(http_allowed(502));
  /* Guards the loops below against passing on an empty list. */
  assert_true(N_ROWS >= 40);
  assert_string_equal(rows[0].upper, "OK");
  assert_int_equal(rows[0].num, 0);
}

static void test_every_row(void **state)
{
  (void)state;
  for (size_t i = 0; i < N_ROWS; i++) {
    char want[64];
    lower_name(rows[i].upper, want, sizeof want);
    for (int sign = 1; sign >= -1; sign -= 2) {
      int code = sign * rows[i].num;
      const char *name = err_name(code);
      if (name == NULL || strcmp(name, want) != 0)
        fail_msg("err_name(%d) = \"%s\", want \"%s\"", code, name ? name : "(null)", want);
      const char *text = err_text(code);
      if (text == NULL || text[0] == '\0')
        fail_msg("err_text(%d) is empty", code);
      if (strcmp(text, rows[i].text) != 0)
        fail_msg("err_text(%d) = \"%s\", want \"%s\"", code, text, rows[i].text);
      unsigned http = err_http_status(code);
      if (http != rows[i].http)
        fail_msg("err_http_status(%d) = %u, want %u", code, http, rows[i].http);
      if (!http_allowed(http))
        fail_msg("err_http_status(%d) = %u is not an allowed status", code, http);
      if (!err_known(code))
        fail_msg("err_known(%d) is false for %s", code, want);
    }
  }
}

static void test_names_lower_case(void **state)
{
  (void)state;
  for (size_t i = 0; i < N_ROWS; i++) {
    const char *name = err_name(rows[i].num);
    assert_true(name[0] != '\0');
    for (const char *p = name; *p != '\0'; p++)
      if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
        fail_msg("err_name(%d) = \"%s\" has '%c'", rows[i].num, name, *p);
  }
}

static void test_numbers_unique(void **state)
{
  (void)state;
  for (size_t i = 0; i < N_ROWS; i++)
    for (size_t j = i + 1; j < N_ROWS; j++)
      if (rows[i].num == rows[j].num)
        fail_msg("ERR_%s and ERR_%s share number %d", rows[i].upper, rows[j].upper, rows[i].num);
}

static void test_names_unique(void **state)
{
  (void)state;
  for (size_t i = 0; i < N_ROWS; i++)
    for (size_t j = i + 1; j < N_ROWS; j++)
      if (strcmp(err_name(rows[i].num), err_name(rows[j].num)) == 0)
        fail_msg("%d and %d share the name \"%s\"", rows[i].num, rows[j].num,
                 err_name(rows[i].num));
}

/* Each number lies in its module's block of common_errors.h. */
static void test_number_blocks(void **state)
{
  (void)state;
  static const struct {
    const char *prefix;
    int lo, hi;
  } blocks[] = {
      {"MONEY_", 1000, 1099}, {"CAL_", 1100, 1199},     {"CFG_", 1200, 1299},
      {"DB_", 2000, 2099},    {"MIGRATE_", 2100, 2199}, {"PG_", 2200, 2299},
      {"API_", 3000, 3999},   {"FIX_", 4000, 4999},     {"CUSTODY_", 5000, 5999},
      {"BOOKS_", 6000, 6999}, {"CHAIN_", 7000, 7999},   {"ORDER_", 8000, 8999},
      {"POR_", 9000, 9999},
  };
  for (size_t i = 0; i < N_ROWS; i++) {
    int lo = 0, hi = 999; /* general */
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++)
      if (strncmp(rows[i].upper, blocks[b].prefix, strlen(blocks[b].prefix)) == 0) {
        lo = blocks[b].lo;
        hi = blocks[b].hi;
      }
    if (rows[i].num < lo || rows[i].num > hi)
      fail_msg("ERR_%s = %d is outside its block %d..%d", rows[i].upper, rows[i].num, lo, hi);
  }
}

static void test_unknown_numbers(void **state)
{
  (void)state;
  static const int unknown[] = {6,    -6,    999,  1000,    1010,    -1010,      1099,
                                1200, 1205,  2000, 2006,    2100,    2207,       3000,
                                3099, 99999, -999, INT_MAX, INT_MIN, INT_MIN + 1};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    int code = unknown[i];
    if (strcmp(err_name(code), "unknown") != 0)
      fail_msg("err_name(%d) = \"%s\", want \"unknown\"", code, err_name(code));
    assert_int_equal(err_http_status(code), 500);
    if (err_known(code))
      fail_msg("err_known(%d) is true", code);
    const char *text = err_text(code);
    assert_non_null(text);
    assert_true(text[0] != '\0');
  }
}

static void test_exact_rows(void **state)
{
  (void)state;
  assert_int_equal(ERR_OK, 0);
  assert_string_equal(err_name(0), "ok");
  assert_int_equal(err_http_status(0), 200);
  assert_true(err_known(0));

  assert_int_equal(ERR_MONEY_OVERFLOW, 1006);
  assert_string_equal(err_name(-ERR_MONEY_OVERFLOW), "money_overflow");
  assert_string_equal(err_name(ERR_MONEY_OVERFLOW), "money_overflow");
  assert_int_equal(err_http_status(-ERR_MONEY_OVERFLOW), 400);

  assert_int_equal(ERR_DB_CONFLICT, 2003);
  assert_string_equal(err_name(-ERR_DB_CONFLICT), "db_conflict");
  assert_int_equal(err_http_status(-ERR_DB_CONFLICT), 503);
  assert_int_equal(err_http_status(ERR_DB_CONFLICT), 503);

  assert_int_equal(ERR_API_NOT_FOUND, 3001);
  assert_string_equal(err_name(-ERR_API_NOT_FOUND), "api_not_found");
  assert_int_equal(err_http_status(-ERR_API_NOT_FOUND), 404);
  assert_string_equal(err_text(-ERR_API_NOT_FOUND), "no such resource");

  assert_int_equal(ERR_API_METHOD, 3002);
  assert_int_equal(err_http_status(-ERR_API_METHOD), 405);
  assert_int_equal(ERR_API_BODY_TOO_LARGE, 3003);
  assert_int_equal(err_http_status(-ERR_API_BODY_TOO_LARGE), 413);
  assert_int_equal(ERR_CFG_UNKNOWN_KEY, 1202);
  assert_string_equal(err_name(-ERR_CFG_UNKNOWN_KEY), "cfg_unknown_key");
  assert_int_equal(ERR_NOMEM, 2);
  assert_int_equal(err_http_status(-ERR_NOMEM), 500);
}

/* Whether @num occurs in @text as a whole number (not inside another). */
static int has_number(const char *text, int num)
{
  char want[16];
  snprintf(want, sizeof want, "%d", num);
  size_t wl = strlen(want);
  for (const char *p = strstr(text, want); p != NULL; p = strstr(p + 1, want)) {
    int before = p > text && p[-1] >= '0' && p[-1] <= '9';
    int after = p[wl] >= '0' && p[wl] <= '9';
    if (!before && !after)
      return 1;
  }
  return 0;
}

static void test_docs_list_every_number(void **state)
{
  (void)state;
  const char *root = getenv("BACKSTOCK_TEST_SOURCE_ROOT");
  if (root == NULL || root[0] == '\0')
    fail_msg("BACKSTOCK_TEST_SOURCE_ROOT is not set (run through meson test)");
  char path[4096];
  snprintf(path, sizeof path, "%s/docs/errors.md", root);
  char *text = NULL;
  size_t len = 0;
  int rc = util_read_file(path, 1 << 20, &text, &len);
  if (rc != 0)
    fail_msg("%s is missing or unreadable (%s): the error list must be documented there", path,
             err_name(rc));
  size_t missing = 0;
  for (size_t i = 0; i < N_ROWS; i++)
    if (!has_number(text, rows[i].num)) {
      print_error("docs/errors.md does not list %d (ERR_%s)\n", rows[i].num, rows[i].upper);
      missing++;
    }
  free(text);
  if (missing != 0)
    fail_msg("%zu error numbers are missing from %s", missing, path);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_registry_not_empty),     cmocka_unit_test(test_every_row),
      cmocka_unit_test(test_names_lower_case),       cmocka_unit_test(test_numbers_unique),
      cmocka_unit_test(test_names_unique),           cmocka_unit_test(test_number_blocks),
      cmocka_unit_test(test_unknown_numbers),        cmocka_unit_test(test_exact_rows),
      cmocka_unit_test(test_docs_list_every_number),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
