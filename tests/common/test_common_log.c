/*
 * Tests of common/common_log.c: log lines.
 *
 * log_format_line() at fixed times gives exact text and JSON lines, with
 * and without a request id, for every level.  JSON escapes quotes,
 * backslashes, newlines and control characters (as \u00XX) in the message
 * and the component; text replaces control characters with spaces, so
 * outside text can never start a second line.  A message far longer than
 * the buffer still gives one valid JSON object ending in "\"}\n" (checked
 * by a small JSON reader here, which also decodes the message back to a
 * prefix of the original), and no buffer size, however small, is written
 * past.  log_level_parse() knows the four names and nothing else.
 * log_msg() writes one whole line to the FILE* of log_setup() (a
 * tmpfile()), with the current time, honours the level threshold and the
 * thread's request id, and 4 threads logging 1000 lines each give exactly
 * 4000 whole lines, each thread's in order.  The file is longer than most
 * because the JSON reader the checks rely on lives here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

/* 2026-11-18T11:06:40.123Z: day 20775 of the epoch plus 11:06:40.123. */
#define T0      1795000000123LL
#define T0_TEXT "2026-11-18T11:06:40.123Z"

/* Bytes past the size given to log_format_line(), which must stay intact. */
#define GUARD      64
#define GUARD_BYTE 0xa5

static void check_guard(const char *buf, size_t size)
{
  for (size_t i = size; i < size + GUARD; i++)
    if ((unsigned char)buf[i] != GUARD_BYTE)
      fail_msg("log_format_line wrote byte %zu of a %zu-byte buffer", i, size);
}

static size_t fmt(char *buf, size_t size, enum log_format format, int64_t ms, enum log_level level,
                  const char *component, const char *rid, const char *msg)
{
  memset(buf, GUARD_BYTE, size + GUARD);
  size_t n = log_format_line(buf, size, format, ms, level, component, rid, msg);
  check_guard(buf, size);
  return n;
}

static void assert_line(enum log_format format, int64_t ms, enum log_level level,
                        const char *component, const char *rid, const char *msg, const char *want)
{
  char buf[1024 + GUARD];
  size_t n = fmt(buf, 1024, format, ms, level, component, rid, msg);
  assert_string_equal(buf, want);
  assert_int_equal(n, strlen(want));
}

/* ------------------------------------------------------------------ */
/* A small reader for one JSON line of string members                  */
/* ------------------------------------------------------------------ */

static int hexval(char ch)
{
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/*
 * Read a JSON string at *p (at its opening quote); decode it into @out
 * (may be NULL) up to @size bytes.  Returns the decoded length or -1.
 * Code points above 0xff are rejected: the logger never writes them.
 */
static long read_string(const char **p, char *out, size_t size)
{
  const char *s = *p;
  size_t n = 0;
  if (*s++ != '"')
    return -1;
  for (;;) {
    unsigned char ch = (unsigned char)*s++;
    char dec;
    if (ch == '"')
      break;
    if (ch < 0x20)
      return -1; /* raw control character, including NUL */
    if (ch == '\\') {
      char e = *s++;
      switch (e) {
      case '"':
      case '\\':
      case '/':
        dec = e;
        break;
      case 'n':
        dec = '\n';
        break;
      case 'r':
        dec = '\r';
        break;
      case 't':
        dec = '\t';
        break;
      case 'b':
        dec = '\b';
        break;
      case 'f':
        dec = '\f';
        break;
      case 'u': {
        int v = 0;
        for (int k = 0; k < 4; k++) {
          int h = hexval(s[k]);
          if (h < 0)
            return -1;
          v = v * 16 + h;
        }
        if (v > 0xff)
          return -1;
        s += 4;
        dec = (char)v;
        break;
      }
      default:
        return -1;
      }
    } else {
      dec = (char)ch;
    }
    if (out != NULL && n + 1 < size)
      out[n] = dec;
    n++;
  }
  if (out != NULL && size > 0)
    out[n < size ? n : size - 1] = '\0';
  *p = s;
  return (long)n;
}

/*
 * Whether @line (of @len bytes) is exactly one JSON object of string
 * members followed by "\n".  The value of member @want_key, if any, is
 * decoded into @val.
 */
static int json_line_ok(const char *line, size_t len, const char *want_key, char *val,
                        size_t val_size)
{
  if (len < 3 || line[len - 1] != '\n' || strlen(line) != len)
    return 0;
  const char *p = line;
  if (*p++ != '{')
    return 0;
  for (;;) {
    char key[64];
    if (read_string(&p, key, sizeof key) < 0)
      return 0;
    if (*p++ != ':')
      return 0;
    int want = want_key != NULL && strcmp(key, want_key) == 0;
    if (read_string(&p, want ? val : NULL, val_size) < 0)
      return 0;
    if (*p == ',') {
      p++;
      continue;
    }
    if (*p++ != '}')
      return 0;
    break;
  }
  return p == line + len - 1 && *p == '\n';
}

static void test_json_reader(void **state)
{
  (void)state;
  /* The checker itself must be able to fail. */
  char v[32];
  const char *good = "{\"a\":\"x\\\"y\\u0001\",\"msg\":\"ok\\n\"}\n";
  assert_true(json_line_ok(good, strlen(good), "a", v, sizeof v));
  assert_string_equal(v, "x\"y\x01");
  static const char *const bad[] = {
      "{\"a\":\"x\"}",       "{\"a\":\"x\\\"}\n",
      "{\"a\":\"x\\q\"}\n",  "{\"a\":\"x\ny\"}\n",
      "{\"a\":\"x\"}\n{}\n", "{\"a\":\"\\u00zz\"}\n",
      "{\"a\":\"x\",}\n",    "{\"a\":\"x\"\n",
      "{\"a\":\"x\"}}\n",    "\"a\"\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (json_line_ok(bad[i], strlen(bad[i]), NULL, NULL, 0))
      fail_msg("the test's JSON reader accepts %s", bad[i]);
}

/* ------------------------------------------------------------------ */
/* log_format_line                                                     */
/* ------------------------------------------------------------------ */

static void test_text_exact(void **state)
{
  (void)state;
  assert_line(LOG_FORMAT_TEXT, T0, LOGL_INFO, "api", NULL, "hello world",
              T0_TEXT " info  api hello world\n");
  assert_line(LOG_FORMAT_TEXT, T0, LOGL_INFO, "api", "", "hello world",
              T0_TEXT " info  api hello world\n");
  assert_line(LOG_FORMAT_TEXT, T0, LOGL_INFO, "api", "r-42", "hello world",
              T0_TEXT " info  api [r-42] hello world\n");
  assert_line(LOG_FORMAT_TEXT, T0, LOGL_DEBUG, "db", NULL, "x", T0_TEXT " debug db x\n");
  assert_line(LOG_FORMAT_TEXT, T0, LOGL_WARN, "db", NULL, "x", T0_TEXT " warn  db x\n");
  assert_line(LOG_FORMAT_TEXT, T0, LOGL_ERROR, "db", "abc", "x", T0_TEXT " error db [abc] x\n");
  assert_line(LOG_FORMAT_TEXT, T0, LOGL_INFO, "api", NULL, "", T0_TEXT " info  api \n");
  /* Other instants: the epoch, a leap day, a small millisecond part. */
  assert_line(LOG_FORMAT_TEXT, 0, LOGL_INFO, "c", NULL, "m",
              "1970-01-01T00:00:00.000Z info  c m\n");
  assert_line(LOG_FORMAT_TEXT, 951782400999LL, LOGL_INFO, "c", NULL, "m",
              "2000-02-29T00:00:00.999Z info  c m\n");
  assert_line(LOG_FORMAT_TEXT, 1795000000005LL, LOGL_INFO, "c", NULL, "m",
              "2026-11-18T11:06:40.005Z info  c m\n");
  assert_line(LOG_FORMAT_TEXT, 1795046399999LL, LOGL_INFO, "c", NULL, "m",
              "2026-11-18T23:59:59.999Z info  c m\n");
}

static void test_json_exact(void **state)
{
  (void)state;
  assert_line(LOG_FORMAT_JSON, T0, LOGL_INFO, "api", NULL, "hello world",
              "{\"ts\":\"" T0_TEXT "\",\"level\":\"info\",\"component\":\"api\","
              "\"msg\":\"hello world\"}\n");
  assert_line(LOG_FORMAT_JSON, T0, LOGL_INFO, "api", "", "hello world",
              "{\"ts\":\"" T0_TEXT "\",\"level\":\"info\",\"component\":\"api\","
              "\"msg\":\"hello world\"}\n");
  assert_line(LOG_FORMAT_JSON, T0, LOGL_INFO, "api", "r-42", "hello world",
              "{\"ts\":\"" T0_TEXT "\",\"level\":\"info\",\"component\":\"api\","
              "\"request_id\":\"r-42\",\"msg\":\"hello world\"}\n");
  assert_line(LOG_FORMAT_JSON, T0, LOGL_WARN, "db", NULL, "",
              "{\"ts\":\"" T0_TEXT "\",\"level\":\"warn\",\"component\":\"db\",\"msg\":\"\"}\n");
  assert_line(LOG_FORMAT_JSON, T0, LOGL_ERROR, "db", NULL, "x",
              "{\"ts\":\"" T0_TEXT "\",\"level\":\"error\",\"component\":\"db\",\"msg\":\"x\"}\n");
  assert_line(LOG_FORMAT_JSON, T0, LOGL_DEBUG, "db", NULL, "x",
              "{\"ts\":\"" T0_TEXT "\",\"level\":\"debug\",\"component\":\"db\",\"msg\":\"x\"}\n");
}

static void test_json_escaping(void **state)
{
  (void)state;
  assert_line(
      LOG_FORMAT_JSON, T0, LOGL_INFO, "c\"o\\m\np\x01", "r\"1",
      "say \"hi\" \\ path\nnext\x01\x1f\r\t\x7f caf\xc3\xa9",
      "{\"ts\":\"" T0_TEXT "\",\"level\":\"info\",\"component\":\"c\\\"o\\\\m\\np\\u0001\","
      "\"request_id\":\"r\\\"1\","
      "\"msg\":\"say \\\"hi\\\" \\\\ path\\nnext\\u0001\\u001f\\r\\t\\u007f caf\xc3\xa9\"}\n");

  /* Whatever the message, the line is one valid object holding it. */
  char msg[64], buf[512 + GUARD], back[128];
  for (int ch = 1; ch < 256; ch++) {
    snprintf(msg, sizeof msg, "a%cb%c", (char)ch, (char)ch);
    size_t n = fmt(buf, 512, LOG_FORMAT_JSON, T0, LOGL_INFO, "c", NULL, msg);
    if (!json_line_ok(buf, n, "msg", back, sizeof back) || strcmp(back, msg) != 0)
      fail_msg("byte 0x%02x: bad line %s", ch, buf);
  }
}

static void test_text_no_forged_lines(void **state)
{
  (void)state;
  assert_line(LOG_FORMAT_TEXT, T0, LOGL_INFO, "api", NULL,
              "first\n" T0_TEXT " error api forged\r\x01x\ty",
              T0_TEXT " info  api first " T0_TEXT " error api forged  x\ty\n");
  char msg[8], buf[256 + GUARD];
  for (int ch = 1; ch < 0x20; ch++) {
    snprintf(msg, sizeof msg, "a%cb", (char)ch);
    size_t n = fmt(buf, 256, LOG_FORMAT_TEXT, T0, LOGL_INFO, "c", NULL, msg);
    assert_int_equal(n, strlen(buf));
    assert_true(buf[n - 1] == '\n');
    if (memchr(buf, '\n', n - 1) != NULL || memchr(buf, '\r', n) != NULL)
      fail_msg("byte 0x%02x makes a second line: %s", ch, buf);
  }
}

/* A message far longer than the buffer: one valid line, nearly full. */
static void test_json_truncation(void **state)
{
  (void)state;
  size_t mlen = 100000;
  char *msg = malloc(mlen + 1);
  assert_non_null(msg);
  /* Mixed widths: plain, 2-byte and 6-byte escapes, to end anywhere. */
  static const char pattern[] = "ab\"c\\d\x01"
                                "e\nfgh\x1f";
  for (size_t i = 0; i < mlen; i++)
    msg[i] = pattern[i % (sizeof pattern - 1)];
  msg[mlen] = '\0';

  /* The line of an empty message: the smallest size that fits it is hl + 1. */
  char head[256 + GUARD];
  size_t hl = fmt(head, 256, LOG_FORMAT_JSON, T0, LOGL_WARN, "api", "r-1", "");
  assert_int_equal(hl, strlen("{\"ts\":\"" T0_TEXT "\",\"level\":\"warn\",\"component\":\"api\","
                              "\"request_id\":\"r-1\",\"msg\":\"\"}\n"));

  size_t cap = 4096 + 256;
  char *buf = malloc(cap + GUARD);
  char *back = malloc(cap);
  assert_non_null(buf);
  assert_non_null(back);
  for (size_t size = hl + 1; size <= cap; size += size < hl + 80 ? 1 : 997) {
    size_t n = fmt(buf, size, LOG_FORMAT_JSON, T0, LOGL_WARN, "api", "r-1", msg);
    if (n > size - 1 || n + 9 < size)
      fail_msg("size %zu: length %zu", size, n);
    if (n < 3 || memcmp(buf + n - 3, "\"}\n", 3) != 0)
      fail_msg("size %zu: line does not end in \"}\\n: %s", size, buf);
    long dl = 0;
    if (!json_line_ok(buf, n, "msg", back, cap))
      fail_msg("size %zu: not one valid JSON object: %s", size, buf);
    dl = (long)strlen(back);
    if (memcmp(back, msg, (size_t)dl) != 0)
      fail_msg("size %zu: message is not a prefix of the original", size);
    if (size == cap)
      assert_true(dl > 2000);
  }
  free(back);
  free(buf);
  free(msg);
}

static void test_text_truncation(void **state)
{
  (void)state;
  size_t mlen = 100000, size = 4096 + 256;
  char *msg = malloc(mlen + 1);
  char *buf = malloc(size + GUARD);
  assert_non_null(msg);
  assert_non_null(buf);
  memset(msg, 'x', mlen);
  msg[mlen] = '\0';
  size_t n = fmt(buf, size, LOG_FORMAT_TEXT, T0, LOGL_INFO, "api", NULL, msg);
  assert_int_equal(n, size - 1);
  assert_int_equal(strlen(buf), n);
  const char *head = T0_TEXT " info  api ";
  assert_memory_equal(buf, head, strlen(head));
  assert_true(buf[n - 1] == '\n');
  assert_null(memchr(buf, '\n', n - 1));
  for (size_t i = strlen(head); i < n - 1; i++)
    assert_true(buf[i] == 'x');
  free(buf);
  free(msg);
}

/* No size, however small, is written past; the length matches the text. */
static void small_buffers(enum log_format format)
{
  char buf[200 + GUARD];
  const char *msg = "hello \"world\"\n";
  size_t full = fmt(buf, 200, format, T0, LOGL_INFO, "api", "rid", msg);
  assert_true(full < 150);
  memset(buf, GUARD_BYTE, sizeof buf);
  assert_int_equal(log_format_line(buf, 0, format, T0, LOGL_INFO, "api", "rid", msg), 0);
  check_guard(buf, 0);
  size_t bad = 0;
  for (size_t size = 1; size <= full + 2; size++) {
    memset(buf, GUARD_BYTE, sizeof buf);
    size_t n = log_format_line(buf, size, format, T0, LOGL_INFO, "api", "rid", msg);
    int overrun = 0;
    for (size_t i = size; i < size + GUARD; i++)
      overrun |= (unsigned char)buf[i] != GUARD_BYTE;
    if (overrun || n > size - 1 || buf[n] != '\0' || strlen(buf) != n) {
      if (bad++ < 3)
        print_error("%s, size %zu: returned %zu, strlen %zu%s\n",
                    format == LOG_FORMAT_JSON ? "json" : "text", size, n,
                    overrun ? strnlen(buf, size) : strlen(buf),
                    overrun ? ", wrote past the buffer" : "");
    }
  }
  if (bad != 0)
    fail_msg("%zu of %zu buffer sizes mishandled", bad, full + 2);
}

static void test_text_small_buffers(void **state)
{
  (void)state;
  small_buffers(LOG_FORMAT_TEXT);
}

static void test_json_small_buffers(void **state)
{
  (void)state;
  small_buffers(LOG_FORMAT_JSON);
}

static void test_level_parse(void **state)
{
  (void)state;
  static const struct {
    const char *s;
    enum log_level want;
  } good[] = {
      {"debug", LOGL_DEBUG},
      {"info", LOGL_INFO},
      {"warn", LOGL_WARN},
      {"error", LOGL_ERROR},
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    enum log_level l = (enum log_level)99;
    assert_int_equal(log_level_parse(good[i].s, &l), 0);
    assert_int_equal(l, good[i].want);
  }
  static const char *const bad[] = {"verbose", "INFO",  "Info",  "warning", "err",
                                    "",        "info ", " info", "debug\n", "fatal"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    enum log_level l = LOGL_WARN;
    if (log_level_parse(bad[i], &l) != -ERR_INVALID_ARGUMENT)
      fail_msg("log_level_parse(\"%s\") accepted", bad[i]);
    assert_int_equal(l, LOGL_WARN);
  }
}

/* ------------------------------------------------------------------ */
/* log_msg                                                             */
/* ------------------------------------------------------------------ */

/* Everything written to @f so far, NUL-terminated; free with free(). */
static char *slurp(FILE *f, size_t *len)
{
  assert_int_equal(fflush(f), 0);
  long end = ftell(f);
  assert_true(end >= 0);
  char *buf = malloc((size_t)end + 1);
  assert_non_null(buf);
  rewind(f);
  assert_int_equal(fread(buf, 1, (size_t)end, f), (size_t)end);
  buf[end] = '\0';
  *len = (size_t)end;
  return buf;
}

static size_t count_lines(const char *s, size_t len)
{
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    n += s[i] == '\n';
  return n;
}

static int two_digits(const char *s, int *out)
{
  if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
    return 0;
  *out = (s[0] - '0') * 10 + (s[1] - '0');
  return 1;
}

/*
 * Milliseconds since the epoch of "YYYY-MM-DDTHH:MM:SS.mmmZ" at @s, or -1.
 * Days from the civil date by the usual era arithmetic (no libc).
 */
static int64_t parse_ts(const char *s)
{
  int c, yy, mo, d, h, mi, sec, ms1, ms2;
  if (!two_digits(s, &c) || !two_digits(s + 2, &yy) || s[4] != '-' || !two_digits(s + 5, &mo) ||
      s[7] != '-' || !two_digits(s + 8, &d) || s[10] != 'T' || !two_digits(s + 11, &h) ||
      s[13] != ':' || !two_digits(s + 14, &mi) || s[16] != ':' || !two_digits(s + 17, &sec) ||
      s[19] != '.' || !two_digits(s + 20, &ms1) || s[22] < '0' || s[22] > '9' || s[23] != 'Z')
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
    return -1;
  int64_t y = c * 100 + yy;
  ms2 = ms1 * 10 + (s[22] - '0');
  y -= mo <= 2;
  int64_t era = y / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = era * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi) * 60000 + sec * 1000 + ms2;
}

static void test_parse_ts(void **state)
{
  (void)state;
  assert_int_equal(parse_ts(T0_TEXT), T0);
  assert_int_equal(parse_ts("1970-01-01T00:00:00.000Z"), 0);
  assert_int_equal(parse_ts("2000-02-29T00:00:00.999Z"), 951782400999LL);
  assert_int_equal(parse_ts("2000-02-29 00:00:00.999Z"), -1);
}

static FILE *setup_tmp(enum log_level level, enum log_format format)
{
  FILE *f = tmpfile();
  assert_non_null(f);
  log_setup(level, format, f);
  return f;
}

static int teardown_log(void **state)
{
  (void)state;
  log_setup(LOGL_INFO, LOG_FORMAT_TEXT, NULL);
  log_set_request_id(NULL);
  return 0;
}

static void test_msg_one_line(void **state)
{
  (void)state;
  FILE *f = setup_tmp(LOGL_INFO, LOG_FORMAT_TEXT);
  int64_t before = util_now_ms();
  log_msg(LOGL_INFO, "test", "hello %d %s", 42, "there");
  int64_t after = util_now_ms();
  size_t len;
  char *out = slurp(f, &len);
  const char *tail = " info  test hello 42 there\n";
  assert_int_equal(len, 24 + strlen(tail));
  assert_string_equal(out + 24, tail);
  int64_t ts = parse_ts(out);
  if (ts < before || ts > after)
    fail_msg("time %.24s is not between %lld and %lld", out, (long long)before, (long long)after);
  free(out);
  fclose(f);
}

static void test_msg_threshold(void **state)
{
  (void)state;
  FILE *f = setup_tmp(LOGL_INFO, LOG_FORMAT_TEXT);
  log_msg(LOGL_DEBUG, "t", "dropped");
  log_msg(LOGL_INFO, "t", "one");
  log_msg(LOGL_WARN, "t", "two");
  log_msg(LOGL_ERROR, "t", "three");
  size_t len;
  char *out = slurp(f, &len);
  assert_int_equal(count_lines(out, len), 3);
  assert_null(strstr(out, "dropped"));
  assert_int_equal(len, 3 * 24 + strlen(" info  t one\n warn  t two\n error t three\n"));
  assert_memory_equal(out + 24, " info  t one\n", 13);
  assert_memory_equal(out + 24 + 13 + 24, " warn  t two\n", 13);
  assert_string_equal(out + 2 * (24 + 13) + 24, " error t three\n");
  free(out);
  fclose(f);

  f = setup_tmp(LOGL_ERROR, LOG_FORMAT_TEXT);
  log_msg(LOGL_WARN, "t", "dropped");
  log_msg(LOGL_INFO, "t", "dropped");
  log_msg(LOGL_ERROR, "t", "kept");
  out = slurp(f, &len);
  assert_int_equal(len, 24 + strlen(" error t kept\n"));
  assert_string_equal(out + 24, " error t kept\n");
  free(out);
  fclose(f);

  f = setup_tmp(LOGL_DEBUG, LOG_FORMAT_TEXT);
  log_msg(LOGL_DEBUG, "t", "kept");
  out = slurp(f, &len);
  assert_int_equal(len, 24 + strlen(" debug t kept\n"));
  assert_string_equal(out + 24, " debug t kept\n");
  free(out);
  fclose(f);
}

static void test_msg_request_id_and_json(void **state)
{
  (void)state;
  FILE *f = setup_tmp(LOGL_INFO, LOG_FORMAT_JSON);
  log_set_request_id("req-7");
  log_msg(LOGL_WARN, "api", "slow \"%s\"", "GET");
  log_set_request_id(NULL);
  log_msg(LOGL_INFO, "api", "done");
  size_t len;
  char *out = slurp(f, &len);
  assert_int_equal(count_lines(out, len), 2);
  char *second = strchr(out, '\n') + 1;
  const char *w1 = "\",\"level\":\"warn\",\"component\":\"api\",\"request_id\":\"req-7\","
                   "\"msg\":\"slow \\\"GET\\\"\"}\n";
  const char *w2 = "\",\"level\":\"info\",\"component\":\"api\",\"msg\":\"done\"}\n";
  assert_memory_equal(out, "{\"ts\":\"", 7);
  assert_true(parse_ts(out + 7) > 0);
  assert_int_equal((size_t)(second - out), 7 + 24 + strlen(w1));
  assert_memory_equal(out + 7 + 24, w1, strlen(w1));
  assert_memory_equal(second, "{\"ts\":\"", 7);
  assert_string_equal(second + 7 + 24, w2);
  free(out);
  fclose(f);

  /* An id is kept to 64 bytes, the most the API echoes. */
  char id[101];
  memset(id, 'a', 100);
  id[100] = '\0';
  f = setup_tmp(LOGL_INFO, LOG_FORMAT_TEXT);
  log_set_request_id(id);
  log_msg(LOGL_INFO, "api", "x");
  log_set_request_id(NULL);
  out = slurp(f, &len);
  char want[128];
  snprintf(want, sizeof want, " info  api [%.64s] x\n", id);
  assert_string_equal(out + 24, want);
  free(out);
  fclose(f);
}

static void test_log_bug(void **state)
{
  (void)state;
  FILE *f = setup_tmp(LOGL_ERROR, LOG_FORMAT_TEXT);
  int line = __LINE__ + 1;
  log_bug("db", "impossible state %d", 7);
  size_t len;
  char *out = slurp(f, &len);
  char want[512];
  snprintf(want, sizeof want, " error db BUG at %s:%d: impossible state 7\n", __FILE__, line);
  assert_string_equal(out + 24, want);
  free(out);
  fclose(f);
}

#define THREADS    4
#define PER_THREAD 1000

static void *writer(void *arg)
{
  int t = (int)(intptr_t)arg;
  for (int i = 0; i < PER_THREAD; i++)
    log_msg(LOGL_INFO, "mt", "thread %d msg %d", t, i);
  return NULL;
}

static void test_threads_whole_lines(void **state)
{
  (void)state;
  FILE *f = setup_tmp(LOGL_INFO, LOG_FORMAT_TEXT);
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; t++)
    assert_int_equal(pthread_create(&th[t], NULL, writer, (void *)(intptr_t)t), 0);
  for (int t = 0; t < THREADS; t++)
    assert_int_equal(pthread_join(th[t], NULL), 0);
  size_t len;
  char *out = slurp(f, &len);
  assert_int_equal(count_lines(out, len), THREADS * PER_THREAD);
  assert_true(len > 0 && out[len - 1] == '\n');

  int next[THREADS] = {0};
  size_t lines = 0;
  for (char *p = out; p < out + len; lines++) {
    char *nl = strchr(p, '\n');
    assert_non_null(nl);
    *nl = '\0';
    int t = -1, i = -1, used = 0;
    if (parse_ts(p) < 0 || strncmp(p + 24, " info  mt thread ", 17) != 0 ||
        sscanf(p + 41, "%d msg %d%n", &t, &i, &used) != 2 || p[41 + used] != '\0' || t < 0 ||
        t >= THREADS)
      fail_msg("line %zu is not a whole line: \"%s\"", lines + 1, p);
    if (i != next[t])
      fail_msg("line %zu: thread %d message %d, want %d", lines + 1, t, i, next[t]);
    next[t]++;
    p = nl + 1;
  }
  assert_int_equal(lines, THREADS * PER_THREAD);
  for (int t = 0; t < THREADS; t++)
    assert_int_equal(next[t], PER_THREAD);
  free(out);
  fclose(f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_reader),
      cmocka_unit_test(test_parse_ts),
      cmocka_unit_test(test_text_exact),
      cmocka_unit_test(test_json_exact),
      cmocka_unit_test(test_json_escaping),
      cmocka_unit_test(test_text_no_forged_lines),
      cmocka_unit_test(test_json_truncation),
      cmocka_unit_test(test_text_truncation),
      cmocka_unit_test(test_text_small_buffers),
      cmocka_unit_test(test_json_small_buffers),
      cmocka_unit_test(test_level_parse),
      cmocka_unit_test_teardown(test_msg_one_line, teardown_log),
      cmocka_unit_test_teardown(test_msg_threshold, teardown_log),
      cmocka_unit_test_teardown(test_msg_request_id_and_json, teardown_log),
      cmocka_unit_test_teardown(test_log_bug, teardown_log),
      cmocka_unit_test_teardown(test_threads_whole_lines, teardown_log),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
