/*
 * libFuzzer harness for api_body_parse(), the parser of every request
 * body a client sends (api/api_body.c), with one field list holding every
 * field type, and with an empty list.
 *
 * Invariants checked, abort() on any breach: it never crashes or reads out
 * of bounds (ASan); an error is a registry code of the documented ones with
 * a NUL-terminated hint that the JSON writer can carry; on success every
 * field given holds a value its rules allow -- strings within their size
 * and characters, integers within bounds, enums in range, addresses in
 * lower case -- and every amount is exact at its scale: its scale is the
 * field's, its sign the field's rule, and it equals the input's decimal
 * text parsed again on its own (read back from the body with yajl_tree).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
};

static const char *const sides[] = {"buy", "sell", NULL};

static const struct api_field fields[] = {
    API_FIELD_STRING("name", struct target, name, API_F_REQUIRED, API_CS_TEXT),
    API_FIELD_STRING("sym", struct target, sym, 0, API_CS_UPPER),
    API_FIELD_DECIMAL("qty", struct target, qty, API_F_REQUIRED, 6),
    API_FIELD_DECIMAL("price", struct target, price, API_F_ZERO, 2),
    API_FIELD_DECIMAL("delta", struct target, delta, API_F_NEGATIVE | API_F_ZERO, 18),
    API_FIELD_INT("n", struct target, n, 0, -5, 1000),
    API_FIELD_BOOL("flag", struct target, flag, 0),
    API_FIELD_ENUM("side", struct target, side, 0, sides),
    API_FIELD_ADDRESS("addr", struct target, addr, 0),
    API_FIELD_TIME("when", struct target, when, 0),
    API_FIELD_STRING("id", struct target, id, 0, API_CS_ID),
};
#define NF (sizeof fields / sizeof fields[0])

static void check(bool ok)
{
  if (!ok)
    abort();
}

static void check_error(int rc, const char *hint)
{
  check(rc == -ERR_API_BAD_JSON || rc == -ERR_API_FIELD || rc == -ERR_API_UNKNOWN_FIELD ||
        rc == -ERR_API_BODY_TOO_LARGE);
  check(err_known(rc));
  check(memchr(hint, '\0', API_HINT_MAX) != NULL);
  struct api_json j;
  const char *text;
  size_t len;
  api_json_init(&j);
  api_json_str(&j, hint);
  check(api_json_done(&j, &text, &len) == 0);
  yajl_val v = yajl_tree_parse(text, NULL, 0);
  check(v != NULL && YAJL_IS_STRING(v));
  yajl_tree_free(v);
  api_json_free(&j);
}

/* The decimal text of member @name in the body, parsed again at @scale, equals @m. */
static void check_amount(yajl_val root, const char *name, struct money m, unsigned scale,
                         unsigned flags)
{
  const char *path[] = {name, NULL};
  yajl_val v = yajl_tree_get(root, path, yajl_t_string);
  struct money again;
  check(v != NULL);
  const char *s = YAJL_GET_STRING(v);
  check(m.scale == scale);
  check(money_parse(s, strlen(s), scale, MONEY_PARSE_NEGATIVE, &again) == 0);
  check(again.v == m.v && again.scale == m.scale);
  check(m.v >= -MONEY_V_MAX && m.v <= MONEY_V_MAX);
  check(m.v != 0 || (flags & API_F_ZERO));
  check(m.v >= 0 || (flags & API_F_NEGATIVE));
  char buf[MONEY_STR_MAX];
  check(money_format(m, buf, sizeof buf) > 0);
  check(money_parse(buf, strlen(buf), scale, MONEY_PARSE_NEGATIVE, &again) == 0);
  check(again.v == m.v);
}

static void check_chars(const char *s, size_t size, enum api_charset cs)
{
  size_t n = strnlen(s, size);
  check(n > 0 && n < size);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    check(c >= 0x20 && c != 0x7f);
    if (cs == API_CS_UPPER)
      check((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.');
    if (cs == API_CS_ID)
      check((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '_' || c == '-');
  }
}

static void check_values(const uint8_t *data, size_t size, const struct target *t, uint64_t present)
{
  check((present & 1u) && (present & 4u)); /* the required ones */
  check_chars(t->name, sizeof t->name, API_CS_TEXT);
  if (present & (1u << 1))
    check_chars(t->sym, sizeof t->sym, API_CS_UPPER);
  if (present & (1u << 5))
    check(t->n >= -5 && t->n <= 1000);
  if (present & (1u << 7))
    check(t->side == 0 || t->side == 1);
  if (present & (1u << 8)) {
    check(strlen(t->addr) == API_ADDRESS_LEN && memcmp(t->addr, "0x", 2) == 0);
    for (size_t i = 2; i < API_ADDRESS_LEN; i++)
      check((t->addr[i] >= '0' && t->addr[i] <= '9') || (t->addr[i] >= 'a' && t->addr[i] <= 'f'));
  }
  if (present & (1u << 10))
    check_chars(t->id, sizeof t->id, API_CS_ID);
  /* Amounts, against the body read by another parser.  An accepted body has no NUL. */
  char *text = malloc(size + 1);
  check(text != NULL);
  memcpy(text, data, size);
  text[size] = '\0';
  check(strlen(text) == size);
  yajl_val root = yajl_tree_parse(text, NULL, 0);
  free(text);
  check(root != NULL && YAJL_IS_OBJECT(root));
  check_amount(root, "qty", t->qty, 6, 0);
  if (present & (1u << 3))
    check_amount(root, "price", t->price, 2, API_F_ZERO);
  if (present & (1u << 4))
    check_amount(root, "delta", t->delta, 18, API_F_NEGATIVE | API_F_ZERO);
  yajl_tree_free(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct target t;
  uint64_t present = 0;
  char hint[API_HINT_MAX];
  memset(&t, 0x5a, sizeof t);
  memset(hint, 'x', sizeof hint);
  int rc = api_body_parse((const char *)data, size, fields, NF, &t, &present, hint, sizeof hint);
  if (rc != 0)
    check_error(rc, hint);
  else
    check_values(data, size, &t, present);
  memset(hint, 'x', sizeof hint);
  rc = api_body_parse((const char *)data, size, NULL, 0, NULL, NULL, hint, sizeof hint);
  if (rc != 0)
    check_error(rc, hint);
  return 0;
}
