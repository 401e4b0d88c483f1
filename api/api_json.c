/*
 * JSON out: the writer every reply uses (commas, escaping, amounts as
 * decimal strings, RFC 3339 UTC times with milliseconds), RFC 3339 in,
 * and the canonical form the audit log hashes.  Invariant of the writer:
 * whatever it is given, its text is valid JSON with valid UTF-8 (bad
 * bytes become U+FFFD) or api_json_done() reports an error.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <yajl/yajl_tree.h>

#include "api/api_int.h"

void api_json_init(struct api_json *j)
{
  memset(j, 0, sizeof *j);
}

void api_json_free(struct api_json *j)
{
  if (j == NULL)
    return;
  if (j->wipe && j->buf != NULL)
    sodium_memzero(j->buf, j->cap);
  free(j->buf);
  memset(j, 0, sizeof *j);
}

void api_json_secret(struct api_json *j)
{
  j->wipe = true;
}

static void put(struct api_json *j, const char *s, size_t n)
{
  if (j->err != 0)
    return;
  if (j->len + n + 1 > j->cap) {
    size_t ncap = j->cap == 0 ? 256 : j->cap;
    while (ncap < j->len + n + 1)
      ncap *= 2;
    char *nb = malloc(ncap);
    if (nb == NULL) {
      j->err = -ERR_NOMEM;
      return;
    }
    if (j->buf != NULL) {
      memcpy(nb, j->buf, j->len);
      if (j->wipe)
        sodium_memzero(j->buf, j->cap);
      free(j->buf);
    }
    j->buf = nb;
    j->cap = ncap;
  }
  memcpy(j->buf + j->len, s, n);
  j->len += n;
  j->buf[j->len] = '\0';
}

/* Before a value: the comma, or the check that a key came in an object. */
static void value_start(struct api_json *j)
{
  uint64_t bit = 1ull << j->depth;
  if (j->err != 0)
    return;
  if (j->after_key) {
    j->after_key = false;
    return;
  }
  if (j->depth == 0) {
    if (j->len > 0)
      j->err = -ERR_INTERNAL; /* a second top-level value */
    return;
  }
  if ((j->is_obj & bit) != 0) {
    j->err = -ERR_INTERNAL; /* a value in an object without its key */
    return;
  }
  if ((j->has_items & bit) != 0)
    put(j, ",", 1);
  j->has_items |= bit;
}

static void open_c(struct api_json *j, char ch)
{
  value_start(j);
  if (j->err != 0)
    return;
  if (j->depth + 1 >= API_JSON_DEPTH) {
    j->err = -ERR_INTERNAL;
    return;
  }
  put(j, &ch, 1);
  j->depth++;
  uint64_t bit = 1ull << j->depth;
  j->has_items &= ~bit;
  if (ch == '{')
    j->is_obj |= bit;
  else
    j->is_obj &= ~bit;
}

static void close_c(struct api_json *j, char ch)
{
  if (j->err != 0)
    return;
  if (j->depth == 0 || j->after_key || ((j->is_obj >> j->depth) & 1) != (ch == '}')) {
    j->err = -ERR_INTERNAL;
    return;
  }
  put(j, &ch, 1);
  j->depth--;
}

void api_json_obj(struct api_json *j)
{
  open_c(j, '{');
}

void api_json_obj_end(struct api_json *j)
{
  close_c(j, '}');
}

void api_json_arr(struct api_json *j)
{
  open_c(j, '[');
}

void api_json_arr_end(struct api_json *j)
{
  close_c(j, ']');
}

/* Length of the valid UTF-8 sequence at @s (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
  unsigned c = s[0];
  size_t len;
  unsigned cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return len;
}

bool api__utf8_text(const unsigned char *s, size_t len)
{
  for (size_t i = 0; i < len;) {
    size_t n = utf8_len(s + i, len - i);
    if (n == 0 || s[i] < 0x20 || s[i] == 0x7f || (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0))
      return false;
    i += n;
  }
  return true;
}

bool api__name_ok(const char *s, size_t len)
{
  return len >= 1 && len <= API_NAME_MAX && api__utf8_text((const unsigned char *)s, len);
}

static void put_escaped(struct api_json *j, const char *s, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  size_t run = 0; /* start of the bytes not written yet */
  put(j, "\"", 1);
  for (size_t i = 0; i < n;) {
    unsigned char c = u[i];
    const char *esc = NULL;
    char ubuf[7];
    size_t ul = utf8_len(u + i, n - i);
    if (c == '"')
      esc = "\\\"";
    else if (c == '\\')
      esc = "\\\\";
    else if (c == '\b')
      esc = "\\b";
    else if (c == '\f')
      esc = "\\f";
    else if (c == '\n')
      esc = "\\n";
    else if (c == '\r')
      esc = "\\r";
    else if (c == '\t')
      esc = "\\t";
    else if (c < 0x20) {
      memcpy(ubuf, "\\u00", 4);
      ubuf[4] = hex[c >> 4];
      ubuf[5] = hex[c & 15];
      ubuf[6] = '\0';
      esc = ubuf;
    } else if (ul == 0) {
      esc = "\xef\xbf\xbd"; /* U+FFFD for a byte that is not UTF-8 */
    }
    if (esc == NULL) {
      i += ul;
      continue;
    }
    put(j, s + run, i - run);
    put(j, esc, strlen(esc));
    i++;
    run = i;
  }
  put(j, s + run, n - run);
  put(j, "\"", 1);
}

void api_json_key(struct api_json *j, const char *key)
{
  uint64_t bit = 1ull << j->depth;
  if (j->err != 0)
    return;
  if (j->depth == 0 || j->after_key || (j->is_obj & bit) == 0) {
    j->err = -ERR_INTERNAL;
    return;
  }
  if ((j->has_items & bit) != 0)
    put(j, ",", 1);
  j->has_items |= bit;
  put_escaped(j, key, strlen(key));
  put(j, ":", 1);
  j->after_key = true;
}

void api_json_strn(struct api_json *j, const char *s, size_t n)
{
  value_start(j);
  put_escaped(j, s, n);
}

void api_json_str(struct api_json *j, const char *s)
{
  if (s == NULL)
    api_json_null(j);
  else
    api_json_strn(j, s, strlen(s));
}

void api_json_int(struct api_json *j, int64_t v)
{
  char b[24];
  int n = snprintf(b, sizeof b, "%lld", (long long)v);
  value_start(j);
  put(j, b, (size_t)n);
}

void api_json_bool(struct api_json *j, bool v)
{
  value_start(j);
  put(j, v ? "true" : "false", v ? 4 : 5);
}

void api_json_null(struct api_json *j)
{
  value_start(j);
  put(j, "null", 4);
}

void api_json_money(struct api_json *j, struct money m)
{
  char b[MONEY_STR_MAX];
  int n = money_format(m, b, sizeof b);
  if (n < 0) {
    if (j->err == 0)
      j->err = -ERR_INTERNAL;
    return;
  }
  api_json_strn(j, b, (size_t)n);
}

void api_json_time(struct api_json *j, int64_t unix_ms)
{
  char b[API_TIME_STR];
  if (unix_ms == API_TIME_NONE) {
    api_json_null(j);
    return;
  }
  if (api_time_format(unix_ms, b) != 0) {
    if (j->err == 0)
      j->err = -ERR_INTERNAL;
    return;
  }
  api_json_str(j, b);
}

void api_json_hex(struct api_json *j, const uint8_t *p, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  value_start(j);
  put(j, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    char two[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
    put(j, two, 2);
  }
  put(j, "\"", 1);
}

void api_json_raw(struct api_json *j, const char *json, size_t n)
{
  value_start(j);
  put(j, json, n);
}

int api_json_done(struct api_json *j, const char **text, size_t *len)
{
  if (j->err == 0 && (j->depth != 0 || j->after_key || j->len == 0))
    j->err = -ERR_INTERNAL;
  if (j->err != 0)
    return j->err;
  *text = j->buf;
  *len = j->len;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Times                                                               */
/* ------------------------------------------------------------------ */

int api_time_format(int64_t unix_ms, char out[API_TIME_STR])
{
  /* Floor division: times before 1970 count back from the day before. */
  int64_t day = unix_ms / 86400000, ms = unix_ms % 86400000;
  if (ms < 0) {
    ms += 86400000;
    day--;
  }
  int y;
  unsigned mo, d;
  if (day < INT32_MIN || day > INT32_MAX) {
    out[0] = '\0';
    return -ERR_INVALID_ARGUMENT;
  }
  cal_civil((int32_t)day, &y, &mo, &d);
  if (y < 0 || y > 9999) {
    out[0] = '\0';
    return -ERR_INVALID_ARGUMENT;
  }
  char b[64]; /* wide enough for any int fields: the compiler cannot see their ranges */
  snprintf(b, sizeof b, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, mo, d, (int)(ms / 3600000),
           (int)(ms / 60000 % 60), (int)(ms / 1000 % 60), (int)(ms % 1000));
  return util_strlcpy(out, b, API_TIME_STR) == 0 ? 0 : -ERR_INVALID_ARGUMENT;
}

/* @n digits at @s as a number, or -1. */
static int digits(const char *s, size_t n)
{
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

int api_time_parse(const char *s, size_t len, int64_t *unix_ms)
{
  int32_t day;
  size_t i = 19;
  int ms = 0, off = 0;
  if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':')
    return -ERR_INVALID_ARGUMENT;
  int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
  if (cal_parse_date(s, 10, &day) != 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59)
    return -ERR_INVALID_ARGUMENT;
  if (s[i] == '.') {
    size_t k = 0;
    for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, k++) {
      if (k >= 3)
        return -ERR_INVALID_ARGUMENT;
      ms = ms * 10 + (s[i] - '0');
    }
    if (k == 0)
      return -ERR_INVALID_ARGUMENT;
    for (; k < 3; k++)
      ms *= 10;
  }
  if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
    off = 0;
  } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59)
      return -ERR_INVALID_ARGUMENT;
    off = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
  } else {
    return -ERR_INVALID_ARGUMENT;
  }
  int64_t secs = (int64_t)day * 86400 + h * 3600 + mi * 60 + se - (int64_t)off * 60;
  *unix_ms = secs * 1000 + ms;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Canonical JSON                                                      */
/* ------------------------------------------------------------------ */

struct member {
  const char *key;
  yajl_val val;
};

static int member_cmp(const void *a, const void *b)
{
  return strcmp(((const struct member *)a)->key, ((const struct member *)b)->key);
}

static int canon(struct api_json *j, yajl_val v, unsigned depth)
{
  if (depth >= API_JSON_DEPTH - 1)
    return -ERR_API_BAD_JSON;
  if (YAJL_IS_OBJECT(v)) {
    size_t n = v->u.object.len;
    struct member *m = calloc(n > 0 ? n : 1, sizeof *m);
    if (m == NULL)
      return -ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
      m[i] = (struct member){v->u.object.keys[i], v->u.object.values[i]};
    qsort(m, n, sizeof *m, member_cmp);
    int rc = 0;
    api_json_obj(j);
    for (size_t i = 0; i < n && rc == 0; i++) {
      if (i > 0 && strcmp(m[i - 1].key, m[i].key) == 0)
        rc = -ERR_API_BAD_JSON;
      api_json_key(j, m[i].key);
      if (rc == 0)
        rc = canon(j, m[i].val, depth + 1);
    }
    api_json_obj_end(j);
    free(m);
    return rc;
  }
  if (YAJL_IS_ARRAY(v)) {
    int rc = 0;
    api_json_arr(j);
    for (size_t i = 0; i < v->u.array.len && rc == 0; i++)
      rc = canon(j, v->u.array.values[i], depth + 1);
    api_json_arr_end(j);
    return rc;
  }
  if (YAJL_IS_STRING(v))
    api_json_str(j, YAJL_GET_STRING(v));
  else if (YAJL_IS_NUMBER(v))
    api_json_raw(j, YAJL_GET_NUMBER(v), strlen(YAJL_GET_NUMBER(v)));
  else if (YAJL_IS_TRUE(v))
    api_json_bool(j, true);
  else if (YAJL_IS_FALSE(v))
    api_json_bool(j, false);
  else
    api_json_null(j);
  return 0;
}

int api_json_canonical(const char *json, char **out, size_t *out_len)
{
  struct api_json j;
  const char *text;
  size_t len;
  yajl_val v = yajl_tree_parse(json, NULL, 0);
  if (v == NULL)
    return -ERR_API_BAD_JSON;
  api_json_init(&j);
  int rc = canon(&j, v, 0);
  yajl_tree_free(v);
  if (rc == 0)
    rc = api_json_done(&j, &text, &len);
  if (rc == 0) {
    *out = j.buf; /* the writer's buffer, handed over */
    *out_len = len;
    j.buf = NULL;
  }
  api_json_free(&j);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Small shared helpers                                                */
/* ------------------------------------------------------------------ */

int api__hint(char *hint, size_t size, int rc, const char *fmt, ...)
{
  if (hint != NULL && size > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(hint, size, fmt, ap);
    va_end(ap);
  }
  return rc;
}

int64_t api__ms_value(PGresult *r, int row, int col)
{
  if (PQgetisnull(r, row, col))
    return API_TIME_NONE;
  return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

const char *api__ms_param(int64_t ms, char buf[24])
{
  if (ms == API_TIME_NONE)
    return NULL;
  snprintf(buf, 24, "%lld", (long long)ms);
  return buf;
}
