/*
 * Helpers of the orders slice: the JSON writer of event details (flat
 * objects of strings, figures as decimal strings), text checks, the
 * AP's books owner and two-entry postings under "order:<id>", and the
 * AP's token balance under an order, read from the books.
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_orders_int.h"

static void put(struct ord_json *j, const char *s)
{
  size_t n = strlen(s);
  if (j->n + n + 1 > sizeof j->s) {
    j->n = sizeof j->s; /* overflowed: ord__json_end() reports it */
    return;
  }
  memcpy(j->s + j->n, s, n + 1);
  j->n += n;
}

static void key(struct ord_json *j, const char *k)
{
  if (j->any)
    put(j, ",");
  j->any = true;
  put(j, "\"");
  put(j, k);
  put(j, "\":");
}

void ord__json_begin(struct ord_json *j)
{
  j->n = 0;
  j->any = false;
  j->s[0] = '\0';
  put(j, "{");
}

void ord__json_str(struct ord_json *j, const char *k, const char *val)
{
  key(j, k);
  if (val == NULL) {
    put(j, "null");
    return;
  }
  put(j, "\"");
  if (j->n < sizeof j->s) {
    size_t pos = j->n;
    util_json_escape(j->s, sizeof j->s, &pos, val);
    /* util_json_escape() stops short of the end: then it did not fit. */
    j->n = pos + 1 >= sizeof j->s ? sizeof j->s : pos;
  }
  put(j, "\"");
}

void ord__json_money(struct ord_json *j, const char *k, struct money m)
{
  char t[MONEY_STR_MAX];
  if (money_format(m, t, sizeof t) < 0)
    util_strlcpy(t, "?", sizeof t);
  ord__json_str(j, k, t);
}

void ord__json_raw(struct ord_json *j, const char *k, const char *raw)
{
  key(j, k);
  put(j, raw);
}

const char *ord__json_end(struct ord_json *j)
{
  put(j, "}");
  if (j->n >= sizeof j->s) {
    log_bug("orders", "event detail too long");
    return NULL;
  }
  return j->s;
}

bool ord__text_ok(const char *s, size_t max)
{
  if (s == NULL)
    return false;
  size_t n = strnlen(s, max);
  if (n == 0 || n >= max)
    return false;
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    unsigned char ch = p[i];
    if (ch < 0x20 || ch == 0x7f)
      return false;
    if (ch < 0x80) {
      i++;
      continue;
    }
    size_t len;
    unsigned cp;
    if (ch >= 0xc2 && ch <= 0xdf) {
      len = 2;
      cp = ch & 0x1fu;
    } else if (ch >= 0xe0 && ch <= 0xef) {
      len = 3;
      cp = ch & 0x0fu;
    } else if (ch >= 0xf0 && ch <= 0xf4) {
      len = 4;
      cp = ch & 0x07u;
    } else {
      return false;
    }
    if (i + len > n)
      return false;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (p[i + k] & 0x3fu);
    }
    /* overlong forms, surrogates, beyond U+10FFFF, C1 controls */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
      return false;
    i += len;
  }
  return true;
}

void ord__ap_owner(int64_t ap, char out[BOOKS_OWNER_MAX])
{
  snprintf(out, BOOKS_OWNER_MAX, "ap:%lld", (long long)ap);
}

const char *ord__i64(int64_t v, char out[ISS_I64_TXT])
{
  snprintf(out, ISS_I64_TXT, "%lld", (long long)v);
  return out;
}

int ord__num(const char *s, unsigned scale, struct money *out)
{
  if (s == NULL)
    return money_make(0, scale, out);
  return issuance__num_money(s, scale, out) == 0 ? 0 : -ERR_INTERNAL;
}

int64_t ord__ms(const char *s)
{
  return s != NULL ? strtoll(s, NULL, 10) : 0;
}

static const struct db_stmt q_ap_tokens = {
    "order_ap_tokens",
    "SELECT coalesce(sum(e.amount), 0) FROM books_postings p"
    " JOIN books_entries e ON e.posting_id = p.id"
    " JOIN books_accounts a ON a.id = e.account_id"
    " WHERE p.reference = $1 AND a.owner = $2 AND a.asset = $3",
    3};

int ord__ap_tokens(struct db_conn *c, const struct order *o, struct money *out)
{
  char ref[BOOKS_REF_MAX], owner[BOOKS_OWNER_MAX], asset[BOOKS_ASSET_MAX];
  snprintf(ref, sizeof ref, "order:%lld", (long long)o->id);
  snprintf(asset, sizeof asset, "tokens:%s", o->token_symbol);
  ord__ap_owner(o->ap, owner);
  const char *params[] = {ref, owner, asset};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_ap_tokens, params, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  int rc = qs > 0 ? issuance__num_money(PQgetvalue(r, 0, 0), ISSUANCE_TOKEN_SCALE, out)
                  : money_make(0, ISSUANCE_TOKEN_SCALE, out);
  PQclear(r);
  return rc == 0 ? 0 : -ERR_INTERNAL;
}

int ord__post2(struct db_conn *c, const struct order *o, const char *key, const char *owner_neg,
               const char *owner_pos, const char *asset, struct money amount)
{
  char ref[BOOKS_REF_MAX];
  struct money neg;
  snprintf(ref, sizeof ref, "order:%lld", (long long)o->id);
  if (money_sub((struct money){0, amount.scale}, amount, &neg) != 0)
    return -ERR_BOOKS_OVERFLOW;
  const struct books_entry e[] = {{owner_neg, asset, neg}, {owner_pos, asset, amount}};
  struct books_posting p = {key, ref, NULL, 0, e, 2};
  int rc = books_post(c, &p, NULL);
  return rc == BOOKS_ALREADY_POSTED ? 0 : rc;
}
