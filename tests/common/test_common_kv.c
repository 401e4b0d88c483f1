/*
 * Tests of common/common_kv.c: the "key = value" walker every
 * configuration shares, driven with a recording setter.
 *
 * Lines: comments (also indented), blank lines, CRLF line ends, spaces and
 * tabs around key and value, '=' inside a value, an empty value and a last
 * line without '\n'; each syntax error with its code, its message and the
 * 1-based number of its line, and nothing applied after it; a NUL byte
 * inside a line; the line length bound at line_max - 1 / line_max bytes
 * (the '\r' counting) and at KV_LINE_MAX; the setter's own errors and
 * messages passed through.  Files: unreadable, too large, and read.
 * Variables: the prefix, keys lower-cased up to the first '.' only,
 * foreign, malformed and overlong names passed over, an unknown prefixed
 * variable refused by name, and the exact-name walker.  Last, the
 * setters' helpers: kv_fail(), kv_parse_uint(), kv_parse_ipv4_port().
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

/* What the setter saw, as "[key|value]" in order. */
struct rec {
  char log[8192];
};

/*
 * Keys starting "unknown" are unknown (-ERR_CFG_UNKNOWN_KEY, "<key>:
 * unknown key"), "bad" refuses every value (-ERR_CFG_VALUE, "bad:
 * refused"); any other key is recorded.
 */
static int record(void *cls, const char *key, const char *value, char *why, size_t wsz)
{
  struct rec *r = cls;
  if (strncmp(key, "unknown", 7) == 0) {
    snprintf(why, wsz, "%s: unknown key", key);
    return -ERR_CFG_UNKNOWN_KEY;
  }
  if (strcmp(key, "bad") == 0) {
    snprintf(why, wsz, "%s: refused", key);
    return -ERR_CFG_VALUE;
  }
  size_t n = strlen(r->log);
  snprintf(r->log + n, sizeof r->log - n, "[%s|%s]", key, value);
  return 0;
}

static int load(struct rec *r, const char *text, size_t line_max, unsigned *line, char *why,
                size_t wsz)
{
  memset(r, 0, sizeof *r);
  return kv_load_text(text, strlen(text), line_max, record, r, line, why, wsz);
}

static void test_text_format(void **state)
{
  (void)state;
  struct rec r;
  char why[128] = "";
  unsigned line = 99;
  const char *text = "# a comment\n"
                     "\n"
                     "   \t\n"
                     "  # an indented comment = not a key\n"
                     "listen = 127.0.0.1:1\r\n"
                     "\t sender_comp_id\t=\tBROKER  \r\n"
                     "\r\n"
                     "price.AAPL=189.50\n"
                     "url = a=b c\n"
                     "empty =\n"
                     "empty2 =   \r\n"
                     "last = no newline";
  assert_int_equal(load(&r, text, KV_LINE_MAX, &line, why, sizeof why), 0);
  assert_string_equal(r.log, "[listen|127.0.0.1:1][sender_comp_id|BROKER][price.AAPL|189.50]"
                             "[url|a=b c][empty|][empty2|][last|no newline]");
  assert_int_equal(line, 99); /* untouched without an error */
  assert_string_equal(why, "");

  /* Nothing, only a newline, NULL line_out and why. */
  assert_int_equal(load(&r, "", KV_LINE_MAX, NULL, NULL, 0), 0);
  assert_int_equal(load(&r, "\n", KV_LINE_MAX, NULL, NULL, 0), 0);
  assert_string_equal(r.log, "");
  /* A length shorter than the text: only what it covers. */
  memset(&r, 0, sizeof r);
  assert_int_equal(kv_load_text("a = 1\nb = 2\n", 6, KV_LINE_MAX, record, &r, NULL, NULL, 0), 0);
  assert_string_equal(r.log, "[a|1]");
}

static void test_text_errors(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    int rc;
    unsigned line;
    const char *why;
    const char *applied; /* what the setter saw before the error */
  } cases[] = {
      {"a = 1\nno equals sign\nb = 2\n", -ERR_CFG_SYNTAX, 2, "want key = value", "[a|1]"},
      {"a = 1\r\n\r\n = 4\r\nb = 2\r\n", -ERR_CFG_SYNTAX, 3, "want key = value", "[a|1]"},
      {"\t=\n", -ERR_CFG_SYNTAX, 1, "want key = value", ""},
      {"# c\n\n\nkey\n", -ERR_CFG_SYNTAX, 4, "want key = value", ""},
      {"a = 1\nunknown_x = 2\nb = 3\n", -ERR_CFG_UNKNOWN_KEY, 2, "unknown_x: unknown key", "[a|1]"},
      {"a = 1\nb = 2\n\nbad = 3\n", -ERR_CFG_VALUE, 4, "bad: refused", "[a|1][b|2]"},
      {"bad=", -ERR_CFG_VALUE, 1, "bad: refused", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct rec r;
    char why[128] = "";
    unsigned line = 0;
    int rc = load(&r, cases[i].text, KV_LINE_MAX, &line, why, sizeof why);
    if (rc != cases[i].rc || line != cases[i].line || strcmp(why, cases[i].why) != 0 ||
        strcmp(r.log, cases[i].applied) != 0)
      fail_msg("case %zu: got %d line %u why \"%s\" applied \"%s\"", i, rc, line, why, r.log);
  }
}

/* A NUL byte inside a line is an error of that line, not a shorter line. */
static void test_nul_byte(void **state)
{
  (void)state;
  static const char text[] = "a = 1\nb = 2\0x\nc = 3\n";
  struct rec r = {{0}};
  char why[128] = "";
  unsigned line = 0;
  assert_int_equal(
      kv_load_text(text, sizeof text - 1, KV_LINE_MAX, record, &r, &line, why, sizeof why),
      -ERR_CFG_SYNTAX);
  assert_int_equal(line, 2);
  assert_string_equal(why, "line too long or holding a NUL byte");
  assert_string_equal(r.log, "[a|1]");
}

static void test_line_length(void **state)
{
  (void)state;
  struct rec r;
  char why[128] = "";
  unsigned line = 0;
  /* line_max 16: 15 bytes pass, 16 do not, and a '\r' counts. */
  assert_int_equal(load(&r, "k = 0123456789a\n", 16, &line, why, sizeof why), 0);
  assert_string_equal(r.log, "[k|0123456789a]");
  assert_int_equal(load(&r, "x = 1\nk = 0123456789ab\n", 16, &line, why, sizeof why),
                   -ERR_CFG_SYNTAX);
  assert_int_equal(line, 2);
  assert_string_equal(why, "line too long or holding a NUL byte");
  assert_string_equal(r.log, "[x|1]");
  assert_int_equal(load(&r, "k = 0123456789a\r\n", 16, &line, why, sizeof why), -ERR_CFG_SYNTAX);
  assert_int_equal(line, 1);
  /* Without a final newline, the same bound. */
  assert_int_equal(load(&r, "k = 0123456789ab", 16, &line, why, sizeof why), -ERR_CFG_SYNTAX);

  /* KV_LINE_MAX bounds every line_max: KV_LINE_MAX - 1 bytes pass, KV_LINE_MAX do not. */
  static char big[KV_LINE_MAX + 2];
  memcpy(big, "k = ", 4);
  memset(big + 4, 'v', KV_LINE_MAX - 5);
  big[KV_LINE_MAX - 1] = '\0';
  assert_int_equal(load(&r, big, SIZE_MAX, &line, why, sizeof why), 0);
  assert_int_equal(strlen(r.log), strlen("[k|]") + KV_LINE_MAX - 5);
  big[KV_LINE_MAX - 1] = 'v';
  big[KV_LINE_MAX] = '\0';
  line = 0;
  assert_int_equal(load(&r, big, SIZE_MAX, &line, why, sizeof why), -ERR_CFG_SYNTAX);
  assert_int_equal(line, 1);
  assert_string_equal(r.log, "");
}

static void test_file(void **state)
{
  (void)state;
  struct rec r = {{0}};
  char why[256] = "";
  unsigned line = 0;
  assert_int_equal(kv_load_file("/nonexistent/backstock-test/kv.conf", KV_LINE_MAX, record, &r,
                                &line, why, sizeof why),
                   -ERR_CFG_FILE);
  assert_string_equal(why, "cannot read /nonexistent/backstock-test/kv.conf");
  assert_int_equal(line, 0);

  char path[] = "/tmp/test_common_kv_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  assert_non_null(f);
  fputs("# test\r\na = 1\r\n\r\nunknown_y = 2\r\nb = 3\r\n", f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(kv_load_file(path, KV_LINE_MAX, record, &r, &line, why, sizeof why),
                   -ERR_CFG_UNKNOWN_KEY);
  assert_int_equal(line, 4);
  assert_string_equal(why, "unknown_y: unknown key");
  assert_string_equal(r.log, "[a|1]");

  /* 1 MiB is read; one byte more is refused as a whole. */
  f = fopen(path, "w");
  assert_non_null(f);
  fputs("a = 2\n", f);
  for (size_t i = 6; i < (1u << 20); i++)
    fputc(i + 1 == (1u << 20) ? '\n' : '#', f);
  assert_int_equal(fclose(f), 0);
  memset(&r, 0, sizeof r);
  assert_int_equal(kv_load_file(path, SIZE_MAX, record, &r, &line, why, sizeof why),
                   -ERR_CFG_SYNTAX); /* a comment line longer than KV_LINE_MAX */
  assert_int_equal(line, 2);
  f = fopen(path, "w");
  assert_non_null(f);
  fputs("a = 2\n", f);
  for (size_t i = 6; i < (1u << 20); i++)
    fputc(i % 64 == 63 ? '\n' : '#', f);
  assert_int_equal(fclose(f), 0);
  memset(&r, 0, sizeof r);
  assert_int_equal(kv_load_file(path, KV_LINE_MAX, record, &r, &line, why, sizeof why), 0);
  assert_string_equal(r.log, "[a|2]");
  f = fopen(path, "a");
  assert_non_null(f);
  fputc('\n', f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(kv_load_file(path, KV_LINE_MAX, record, &r, &line, why, sizeof why),
                   -ERR_CFG_FILE);
  assert_int_equal(unlink(path), 0);
}

static void test_env_prefix(void **state)
{
  (void)state;
  char long_name[200];
  memset(long_name, 'X', sizeof long_name);
  memcpy(long_name, "BACKSTOCK_SIM_", 14);
  memcpy(long_name + 180, "=1", 3); /* a 180-byte name: passed over */
  char *env[] = {
      "PATH=/usr/bin",
      "BACKSTOCK_SIM_LISTEN=127.0.0.1:0",
      "BACKSTOCK_SIM_PRICE.AAPL=189.50",
      "BACKSTOCK_SIM_Behaviour.BRK.B=fill",
      "BACKSTOCK_SIMCUST_TOKEN=not ours",
      "BACKSTOCK_SIM",
      "NO_EQUALS_SIGN",
      long_name,
      "BACKSTOCK_SIM_DATABASE_URL=host=/tmp dbname=x",
      "BACKSTOCK_SIM_EMPTY=",
      "backstock_sim_lower=not ours either",
      NULL,
  };
  struct rec r = {{0}};
  const char *bad = "untouched";
  char why[128] = "";
  assert_int_equal(kv_load_env(env, "BACKSTOCK_SIM_", record, &r, &bad, why, sizeof why), 0);
  assert_string_equal(r.log, "[listen|127.0.0.1:0][price.AAPL|189.50][behaviour.BRK.B|fill]"
                             "[database_url|host=/tmp dbname=x][empty|]");
  assert_string_equal(bad, "untouched");
  assert_string_equal(why, "");
}

/* An unknown prefixed variable is the setter's error, named; nothing after it is applied. */
static void test_env_errors(void **state)
{
  (void)state;
  char *env[] = {"BACKSTOCK_SIM_A=1", "BACKSTOCK_SIM_UNKNOWN_KEY.X=2", "BACKSTOCK_SIM_B=3", NULL};
  struct rec r = {{0}};
  const char *bad = NULL;
  char why[128] = "";
  assert_int_equal(kv_load_env(env, "BACKSTOCK_SIM_", record, &r, &bad, why, sizeof why),
                   -ERR_CFG_UNKNOWN_KEY);
  assert_string_equal(bad, "BACKSTOCK_SIM_UNKNOWN_KEY.X");
  assert_string_equal(why, "unknown_key.X: unknown key");
  assert_string_equal(r.log, "[a|1]");

  char *env2[] = {"OTHER=1", "BACKSTOCK_SIM_BAD=x", NULL};
  memset(&r, 0, sizeof r);
  assert_int_equal(kv_load_env(env2, "BACKSTOCK_SIM_", record, &r, &bad, why, sizeof why),
                   -ERR_CFG_VALUE);
  assert_string_equal(bad, "BACKSTOCK_SIM_BAD");
  assert_string_equal(why, "bad: refused");
  /* A NULL bad_out is allowed. */
  assert_int_equal(kv_load_env(env2, "BACKSTOCK_SIM_", record, &r, NULL, NULL, 0), -ERR_CFG_VALUE);
}

static void test_env_var(void **state)
{
  (void)state;
  char *env[] = {"BACKSTOCK_DATABASE_URL_X=no", "BACKSTOCK_DATABASE_URL=postgresql:///a",
                 "XBACKSTOCK_DATABASE_URL=no", "BACKSTOCK_DATABASE_URL=postgresql:///b", NULL};
  struct rec r = {{0}};
  const char *bad = "untouched";
  char why[128] = "";
  assert_int_equal(kv_load_env_var(env, "BACKSTOCK_DATABASE_URL", "database_url", record, &r, &bad,
                                   why, sizeof why),
                   0);
  assert_string_equal(r.log, "[database_url|postgresql:///a][database_url|postgresql:///b]");
  assert_string_equal(bad, "untouched");
  assert_int_equal(
      kv_load_env_var(env, "BACKSTOCK_DATABASE_URL", "bad", record, &r, &bad, why, sizeof why),
      -ERR_CFG_VALUE);
  assert_string_equal(bad, "BACKSTOCK_DATABASE_URL");
  assert_string_equal(why, "bad: refused");
}

/* The setters' helpers: kv_fail(), kv_parse_uint(), kv_parse_ipv4_port(). */
static void test_value_helpers(void **state)
{
  (void)state;
  char why[16] = "";
  assert_int_equal(kv_fail(why, sizeof why, -ERR_CFG_VALUE, "%s: %d", "key", 12345678),
                   -ERR_CFG_VALUE);
  assert_string_equal(why, "key: 12345678");
  assert_int_equal(kv_fail(why, sizeof why, -ERR_NOMEM, "%s", "a message longer than 16"),
                   -ERR_NOMEM);
  assert_string_equal(why, "a message longe"); /* truncated, terminated */
  assert_int_equal(kv_fail(NULL, 0, -ERR_CFG_SYNTAX, "%s", "nowhere"), -ERR_CFG_SYNTAX);

  static const struct {
    const char *s;
    uint32_t lo, hi;
    int rc;
    uint32_t v;
  } nums[] = {
      {"0", 0, 10, 0, 0},
      {"10", 0, 10, 0, 10},
      {"11", 0, 10, -ERR_CFG_VALUE, 7},
      {"0", 1, 10, -ERR_CFG_VALUE, 7},
      {"007", 0, 10, -ERR_CFG_VALUE, 7},
      {"", 0, 10, -ERR_CFG_VALUE, 7},
      {"+1", 0, 10, -ERR_CFG_VALUE, 7},
      {"-1", 0, 10, -ERR_CFG_VALUE, 7},
      {"1 ", 0, 10, -ERR_CFG_VALUE, 7},
      {"999999999", 0, UINT32_MAX, 0, 999999999},
      {"1000000000", 0, UINT32_MAX, -ERR_CFG_VALUE, 7},
  };
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    uint32_t v = 7;
    int rc = kv_parse_uint(nums[i].s, strlen(nums[i].s), nums[i].lo, nums[i].hi, &v);
    if (rc != nums[i].rc || v != nums[i].v)
      fail_msg("\"%s\" in [%u, %u]: got %d, %u", nums[i].s, nums[i].lo, nums[i].hi, rc, v);
  }
  uint32_t v = 0;
  assert_int_equal(kv_parse_uint("12:34", 2, 0, 99, &v), 0); /* only the first @len bytes */
  assert_int_equal(v, 12);

  char host[KV_IPV4_MAX] = "old";
  uint16_t port = 1;
  assert_int_equal(kv_parse_ipv4_port("127.0.0.1:0", host, &port), 0);
  assert_string_equal(host, "127.0.0.1");
  assert_int_equal(port, 0);
  assert_int_equal(kv_parse_ipv4_port("255.255.255.255:65535", host, &port), 0);
  assert_string_equal(host, "255.255.255.255");
  assert_int_equal(port, 65535);
  static const char *const bad[] = {"127.0.0.1",     "127.0.0.1:",   "127.0.0.1:65536",
                                    "127.0.0.1:080", "localhost:80", "[::1]:80",
                                    ":80",           "1.2.3.4.5:80", "1.2.3.4 :80"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (kv_parse_ipv4_port(bad[i], host, &port) != -ERR_CFG_VALUE)
      fail_msg("\"%s\" accepted", bad[i]);
  assert_string_equal(host, "255.255.255.255"); /* untouched by refusals */
  assert_int_equal(port, 65535);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_format),   cmocka_unit_test(test_text_errors),
      cmocka_unit_test(test_nul_byte),      cmocka_unit_test(test_line_length),
      cmocka_unit_test(test_file),          cmocka_unit_test(test_env_prefix),
      cmocka_unit_test(test_env_errors),    cmocka_unit_test(test_env_var),
      cmocka_unit_test(test_value_helpers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
