/*
 * Request bodies: one JSON object parsed with yajl's callback parser
 * straight into a handler's struct, by a declarative field list
 * (struct api_field).  The whole text is always read to its end, so a
 * body that is not JSON is api_bad_json even when an earlier member was
 * already wrong; otherwise the first wrong member, in the document's
 * order, names itself in the hint.  Rules: api_body_parse() in api.h.
 *
 * Invariants: amounts never pass through a double (numbers arrive as
 * their text; a JSON number for an amount is refused), every error is a
 * registry code, and nothing is read past API_BODY_MAX bytes or
 * API_BODY_DEPTH_MAX levels.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "api/api_int.h"

#define NAME_SHOWN 64 /* bytes of an unknown member's name put in a hint */

struct bp {
  const struct api_field *f;
  size_t n;
  char *target;
  uint64_t present, seen;
  unsigned depth; /* containers open; the body's object is depth 1 */
  int cur;        /* field of the current member at depth 1; -1: unknown member */
  int stop_rc;    /* api_bad_json found by a callback: the parse stops */
  int field_rc;   /* the first wrong member */
  char stop_hint[API_HINT_MAX];
  char field_hint[API_HINT_MAX];
};

/* @name cut to at most NAME_SHOWN bytes on a UTF-8 boundary, for a hint. */
static void shown_name(const unsigned char *name, size_t len, char out[NAME_SHOWN + 4])
{
  size_t n = len;
  if (n > NAME_SHOWN) {
    n = NAME_SHOWN;
    while (n > 0 && (name[n] & 0xc0) == 0x80)
      n--;
  }
  memcpy(out, name, n);
  memcpy(out + n, len > n ? "..." : "", len > n ? 4 : 1);
}

static int stop(struct bp *p, const char *why)
{
  if (p->stop_rc == 0) {
    p->stop_rc = -ERR_API_BAD_JSON;
    snprintf(p->stop_hint, sizeof p->stop_hint, "%s", why);
  }
  return 0; /* cancels the parse */
}

static const char *want(const struct api_field *f, char *buf, size_t size)
{
  snprintf(buf, size, "a value of another type");
  switch (f->type) {
  case API_T_STRING:
    snprintf(buf, size, "a string of %s1 to %zu bytes%s", (f->flags & API_F_EMPTY) ? "0 or " : "",
             f->size - 1,
             f->charset == API_CS_ID      ? " of A-Z a-z 0-9 . _ -"
             : f->charset == API_CS_UPPER ? " of A-Z 0-9 ."
                                          : " without control characters");
    break;
  case API_T_DECIMAL:
    snprintf(buf, size, "a decimal string like \"12.5\" with at most %u fraction digits", f->scale);
    break;
  case API_T_INT:
    if (f->min == 0 && f->max == 0)
      snprintf(buf, size, "an integer");
    else
      snprintf(buf, size, "an integer from %lld to %lld", (long long)f->min, (long long)f->max);
    break;
  case API_T_BOOL:
    snprintf(buf, size, "true or false");
    break;
  case API_T_ENUM: {
    size_t pos = (size_t)snprintf(buf, size, "one of");
    for (size_t i = 0; f->values[i] != NULL && pos < size; i++)
      pos += (size_t)snprintf(buf + pos, size - pos, "%s \"%s\"", i > 0 ? "," : "", f->values[i]);
    break;
  }
  case API_T_ADDRESS:
    snprintf(buf, size, "an address: \"0x\" and 40 hex digits");
    break;
  case API_T_TIME:
    snprintf(buf, size, "an RFC 3339 time like \"2025-01-31T15:00:00Z\"");
    break;
  }
  return buf;
}

/* Record the first wrong member (code and hint); the parse goes on. */
__attribute__((format(printf, 3, 4))) static void wrong(struct bp *p, int rc, const char *fmt, ...)
{
  if (p->field_rc != 0)
    return;
  p->field_rc = rc;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->field_hint, sizeof p->field_hint, fmt, ap);
  va_end(ap);
}

static void wrong_type(struct bp *p, const struct api_field *f)
{
  char w[160];
  wrong(p, -ERR_API_FIELD, "field \"%s\": want %s", f->name, want(f, w, sizeof w));
}

/* The field the current member feeds, or NULL (unknown member, or deeper). */
static const struct api_field *member(struct bp *p)
{
  return p->depth == 1 && p->cur >= 0 ? &p->f[p->cur] : NULL;
}

static void *slot(struct bp *p, const struct api_field *f)
{
  return p->target + f->offset;
}

static void mark(struct bp *p)
{
  p->present |= 1ull << p->cur;
}

static bool charset_ok(const struct api_field *f, const unsigned char *s, size_t len)
{
  if (f->charset == API_CS_TEXT)
    return api__utf8_text(s, len);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = s[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.';
    if (f->charset == API_CS_ID)
      ok = ok || (c >= 'a' && c <= 'z') || c == '_' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

static void set_decimal(struct bp *p, const struct api_field *f, const char *s, size_t len)
{
  struct money m;
  unsigned flags = (f->flags & API_F_NEGATIVE) ? MONEY_PARSE_NEGATIVE : 0;
  int rc = money_parse(s, len, f->scale, flags, &m);
  if (rc == -ERR_MONEY_PRECISION) {
    wrong(p, -ERR_API_FIELD, "field \"%s\": more than %u fraction digits", f->name, f->scale);
  } else if (rc == -ERR_MONEY_OVERFLOW || rc == -ERR_TOO_LONG) {
    wrong(p, -ERR_API_FIELD, "field \"%s\": amount out of range", f->name);
  } else if (rc == -ERR_MONEY_SIGN && len > 0 && s[0] == '-') {
    wrong(p, -ERR_API_FIELD, "field \"%s\": must be %s", f->name,
          (f->flags & API_F_ZERO) ? "zero or more" : "greater than zero");
  } else if (rc != 0) {
    char w[160];
    wrong(p, -ERR_API_FIELD, "field \"%s\": %s: want %s", f->name, err_text(rc),
          want(f, w, sizeof w));
  } else if (m.v == 0 && !(f->flags & API_F_ZERO)) {
    wrong(p, -ERR_API_FIELD, "field \"%s\": must not be zero", f->name);
  } else {
    memcpy(slot(p, f), &m, sizeof m);
    mark(p);
  }
}

static void set_string(struct bp *p, const struct api_field *f, const unsigned char *s, size_t len)
{
  if (len >= f->size || (len == 0 && !(f->flags & API_F_EMPTY))) {
    wrong(p, -ERR_API_FIELD, "field \"%s\": %s (1 to %zu bytes)", f->name,
          len == 0 ? "must not be empty" : "too long", f->size - 1);
  } else if (!charset_ok(f, s, len)) {
    char w[160];
    wrong(p, -ERR_API_FIELD, "field \"%s\": character not allowed: want %s", f->name,
          want(f, w, sizeof w));
  } else {
    memcpy(slot(p, f), s, len);
    ((char *)slot(p, f))[len] = '\0';
    mark(p);
  }
}

static bool is_hex(unsigned char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void set_address(struct bp *p, const struct api_field *f, const unsigned char *s, size_t len)
{
  bool ok = len == API_ADDRESS_LEN && s[0] == '0' && s[1] == 'x' && f->size > API_ADDRESS_LEN;
  for (size_t i = 2; ok && i < len; i++)
    ok = is_hex(s[i]);
  if (!ok) {
    wrong_type(p, f);
    return;
  }
  char *d = slot(p, f);
  for (size_t i = 0; i < len; i++)
    d[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
  d[len] = '\0';
  mark(p);
}

static int cb_string(void *ctx, const unsigned char *s, size_t len)
{
  struct bp *p = ctx;
  if (p->depth == 0)
    return stop(p, "the body must be a JSON object");
  const struct api_field *f = member(p);
  if (f == NULL)
    return 1;
  switch (f->type) {
  case API_T_STRING:
    set_string(p, f, s, len);
    break;
  case API_T_DECIMAL:
    set_decimal(p, f, (const char *)s, len);
    break;
  case API_T_ENUM:
    for (int i = 0; f->values[i] != NULL; i++) {
      if (strlen(f->values[i]) == len && memcmp(f->values[i], s, len) == 0) {
        *(int *)slot(p, f) = i;
        mark(p);
        return 1;
      }
    }
    wrong_type(p, f);
    break;
  case API_T_ADDRESS:
    set_address(p, f, s, len);
    break;
  case API_T_TIME: {
    int64_t ms;
    if (api_time_parse((const char *)s, len, &ms) != 0) {
      wrong_type(p, f);
    } else {
      *(int64_t *)slot(p, f) = ms;
      mark(p);
    }
    break;
  }
  default:
    wrong_type(p, f);
  }
  return 1;
}

static void set_int(struct bp *p, const struct api_field *f, const char *s, size_t len)
{
  char buf[24];
  size_t i = s[0] == '-' ? 1 : 0;
  bool ok = len > i && len < sizeof buf && (s[i] != '0' || len == i + 1);
  for (size_t k = i; ok && k < len; k++)
    ok = s[k] >= '0' && s[k] <= '9';
  if (!ok) {
    wrong_type(p, f); /* a fraction, an exponent or too many digits */
    return;
  }
  memcpy(buf, s, len);
  buf[len] = '\0';
  errno = 0;
  long long v = strtoll(buf, NULL, 10);
  if (errno != 0 || ((f->min != 0 || f->max != 0) && (v < f->min || v > f->max))) {
    char w[160];
    wrong(p, -ERR_API_FIELD, "field \"%s\": out of range: want %s", f->name, want(f, w, sizeof w));
    return;
  }
  *(int64_t *)slot(p, f) = v;
  mark(p);
}

static int cb_number(void *ctx, const char *s, size_t len)
{
  struct bp *p = ctx;
  if (p->depth == 0)
    return stop(p, "the body must be a JSON object");
  const struct api_field *f = member(p);
  if (f == NULL)
    return 1;
  if (f->type == API_T_INT)
    set_int(p, f, s, len);
  else if (f->type == API_T_DECIMAL)
    wrong(p, -ERR_API_FIELD,
          "field \"%s\": amounts are decimal strings like \"12.5\", not JSON numbers", f->name);
  else
    wrong_type(p, f);
  return 1;
}

static int cb_bool(void *ctx, int v)
{
  struct bp *p = ctx;
  if (p->depth == 0)
    return stop(p, "the body must be a JSON object");
  const struct api_field *f = member(p);
  if (f == NULL)
    return 1;
  if (f->type != API_T_BOOL) {
    wrong_type(p, f);
    return 1;
  }
  *(bool *)slot(p, f) = v != 0;
  mark(p);
  return 1;
}

static int cb_null(void *ctx)
{
  struct bp *p = ctx;
  if (p->depth == 0)
    return stop(p, "the body must be a JSON object");
  const struct api_field *f = member(p);
  if (f != NULL && (f->flags & API_F_REQUIRED))
    wrong(p, -ERR_API_FIELD, "field \"%s\" is required: null is not a value", f->name);
  return 1;
}

static int open_container(struct bp *p, bool is_map)
{
  if (p->depth == 0 && !is_map)
    return stop(p, "the body must be a JSON object");
  const struct api_field *f = member(p);
  if (f != NULL)
    wrong_type(p, f);
  if (++p->depth > API_BODY_DEPTH_MAX) {
    char why[64];
    snprintf(why, sizeof why, "nested deeper than %d levels", API_BODY_DEPTH_MAX);
    return stop(p, why);
  }
  return 1;
}

static int cb_start_map(void *ctx)
{
  return open_container(ctx, true);
}

static int cb_start_array(void *ctx)
{
  return open_container(ctx, false);
}

static int cb_end(void *ctx)
{
  ((struct bp *)ctx)->depth--;
  return 1;
}

static int cb_key(void *ctx, const unsigned char *key, size_t len)
{
  struct bp *p = ctx;
  if (p->depth != 1)
    return 1;
  char shown[NAME_SHOWN + 4];
  for (size_t i = 0; i < p->n; i++) {
    if (strlen(p->f[i].name) != len || memcmp(p->f[i].name, key, len) != 0)
      continue;
    if (p->seen & (1ull << i)) {
      char why[128];
      snprintf(why, sizeof why, "member \"%s\" given twice", p->f[i].name);
      return stop(p, why);
    }
    p->seen |= 1ull << i;
    p->cur = (int)i;
    return 1;
  }
  p->cur = -1;
  shown_name(key, len, shown);
  wrong(p, -ERR_API_UNKNOWN_FIELD, "unknown field \"%s\"", shown);
  return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_bool,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_key,
    .yajl_end_map = cb_end,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end,
};

static bool blank(const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
      return false;
  return true;
}

/* yajl's complaint, one line, as a hint. */
static int syntax_error(yajl_handle h, const char *body, size_t len, char *hint, size_t hsz)
{
  unsigned char *msg = yajl_get_error(h, 0, (const unsigned char *)body, len);
  char text[160] = "not JSON";
  if (msg != NULL) {
    snprintf(text, sizeof text, "%s", (const char *)msg);
    yajl_free_error(h, msg);
  }
  for (size_t i = strlen(text); i > 0 && (text[i - 1] == '\n' || text[i - 1] == ' '); i--)
    text[i - 1] = '\0';
  return api__hint(hint, hsz, -ERR_API_BAD_JSON, "malformed JSON: %s", text);
}

int api_body_parse(const char *body, size_t len, const struct api_field *fields, size_t n,
                   void *target, uint64_t *present, char *hint, size_t hint_size)
{
  struct bp p = {.f = fields, .n = n, .target = target, .cur = -1};
  if (hint != NULL && hint_size > 0)
    hint[0] = '\0';
  if (n > API_FIELDS_MAX) {
    log_bug("api", "a field list of %zu fields (at most %d)", n, API_FIELDS_MAX);
    return -ERR_INTERNAL;
  }
  if (len > API_BODY_MAX)
    return api__hint(hint, hint_size, -ERR_API_BODY_TOO_LARGE, "a body is at most %d bytes",
                     API_BODY_MAX);
  if (!blank(body, len)) {
    yajl_handle h = yajl_alloc(&callbacks, NULL, &p);
    if (h == NULL)
      return -ERR_NOMEM;
    yajl_status st = yajl_parse(h, (const unsigned char *)body, len);
    if (st == yajl_status_ok)
      st = yajl_complete_parse(h);
    if (p.stop_rc != 0) {
      yajl_free(h);
      return api__hint(hint, hint_size, p.stop_rc, "%s", p.stop_hint);
    }
    if (st != yajl_status_ok) {
      int rc = syntax_error(h, body, len, hint, hint_size);
      yajl_free(h);
      return rc;
    }
    yajl_free(h);
    if (p.field_rc != 0)
      return api__hint(hint, hint_size, p.field_rc, "%s", p.field_hint);
  }
  for (size_t i = 0; i < n; i++)
    if ((fields[i].flags & API_F_REQUIRED) && !(p.present & (1ull << i)))
      return api__hint(hint, hint_size, -ERR_API_FIELD, "field \"%s\" is required", fields[i].name);
  if (present != NULL)
    *present = p.present;
  return 0;
}
