/*
 * The books' names and numbers: owners (system roles and "ap:<id>"),
 * asset names with their default scales (an ISIN with its check digit),
 * posting keys, references and memos; numeric text as PostgreSQL prints
 * it to exact money; query statuses to errors.  No I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_int.h"

static const char *const system_owners[] = {
    BOOKS_OWNER_ISSUER, BOOKS_OWNER_BROKER, BOOKS_OWNER_CUSTODIAN,
    BOOKS_OWNER_CHAIN,  BOOKS_OWNER_FEES,   BOOKS_OWNER_SUSPENSE,
};

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

static bool is_alnum(char ch)
{
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

bool books_owner_valid(const char *o)
{
  if (o == NULL)
    return false;
  for (size_t i = 0; i < sizeof system_owners / sizeof system_owners[0]; i++)
    if (strcmp(o, system_owners[i]) == 0)
      return true;
  if (strncmp(o, "ap:", 3) != 0)
    return false;
  const char *id = o + 3;
  size_t n = strlen(id);
  if (n < 1 || n > 64 || !is_alnum(id[0]))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!is_alnum(id[i]) && id[i] != '.' && id[i] != '_' && id[i] != '-')
      return false;
  return true;
}

/* 12 characters: 2 letters, 9 letters or digits, a check digit (Luhn). */
static bool isin_valid(const char *s)
{
  unsigned digits[24], nd = 0;
  for (size_t i = 0; i < 12; i++) {
    char ch = s[i];
    bool letter = ch >= 'A' && ch <= 'Z', digit = ch >= '0' && ch <= '9';
    if ((i < 2 && !letter) || (i == 11 && !digit) || (!letter && !digit))
      return false;
    if (digit) {
      digits[nd++] = (unsigned)(ch - '0');
    } else {
      unsigned v = (unsigned)(ch - 'A') + 10;
      digits[nd++] = v / 10;
      digits[nd++] = v % 10;
    }
  }
  unsigned sum = 0;
  for (unsigned i = 0; i < nd; i++) {
    unsigned d = digits[nd - 1 - i];
    if (i % 2 == 1) {
      d *= 2;
      if (d > 9)
        d -= 9;
    }
    sum += d;
  }
  return sum % 10 == 0;
}

int books_asset_parse(const char *a, unsigned *scale)
{
  if (a == NULL || strlen(a) >= BOOKS_ASSET_MAX)
    return -ERR_BOOKS_ASSET;
  size_t n = strlen(a);
  unsigned sc;
  if (strncmp(a, "cash:", 5) == 0) {
    if (n != 8)
      return -ERR_BOOKS_ASSET;
    for (size_t i = 5; i < 8; i++)
      if (a[i] < 'A' || a[i] > 'Z')
        return -ERR_BOOKS_ASSET;
    sc = ISSUANCE_CASH_SCALE;
  } else if (strncmp(a, "shares:", 7) == 0) {
    if (n < 7 + 12 + 1 || !isin_valid(a + 7) || a[19] != ':')
      return -ERR_BOOKS_ASSET;
    if (strcmp(a + 20, "settled") != 0 && strcmp(a + 20, "in_transit") != 0)
      return -ERR_BOOKS_ASSET;
    sc = ISSUANCE_QTY_SCALE;
  } else if (strncmp(a, "tokens:", 7) == 0) {
    const char *sym = a + 7;
    size_t ns = n - 7;
    if (ns < 1 || ns > 16 ||
        !((sym[0] >= 'A' && sym[0] <= 'Z') || (sym[0] >= 'a' && sym[0] <= 'z')))
      return -ERR_BOOKS_ASSET;
    for (size_t i = 1; i < ns; i++)
      if (!is_alnum(sym[i]))
        return -ERR_BOOKS_ASSET;
    sc = ISSUANCE_TOKEN_SCALE;
  } else {
    return -ERR_BOOKS_ASSET;
  }
  if (scale != NULL)
    *scale = sc;
  return 0;
}

bool issuance__ref_valid(const char *s)
{
  if (s == NULL || !(s[0] >= 'a' && s[0] <= 'z'))
    return false;
  const char *colon = strchr(s, ':');
  if (colon == NULL || colon - s > 32)
    return false;
  for (const char *q = s + 1; q < colon; q++)
    if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_'))
      return false;
  size_t n = strlen(colon + 1);
  if (n < 1 || n > 94)
    return false;
  for (const char *q = colon + 1; *q != '\0'; q++)
    if (*q < '!' || *q > '~')
      return false;
  return true;
}

bool issuance__key_valid(const char *s)
{
  if (s == NULL)
    return false;
  size_t n = strlen(s);
  if (n < 1 || n >= BOOKS_KEY_MAX)
    return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '!' || s[i] > '~')
      return false;
  return true;
}

/* Valid UTF-8 (no overlong forms, no surrogates) without control characters, shorter than
 * BOOKS_MEMO_MAX. */
bool issuance__memo_valid(const char *s)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s);
  if (n >= BOOKS_MEMO_MAX)
    return false;
  for (size_t i = 0; i < n;) {
    unsigned ch = p[i];
    size_t k;
    unsigned lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (ch < 0x20 || ch == 0x7f)
      return false;
    if (ch < 0x80) {
      k = 0;
    } else if (ch >= 0xc2 && ch <= 0xdf) {
      k = 1;
    } else if (ch >= 0xe0 && ch <= 0xef) {
      k = 2;
      lo = ch == 0xe0 ? 0xa0 : 0x80;
      hi = ch == 0xed ? 0x9f : 0xbf;
    } else if (ch >= 0xf0 && ch <= 0xf4) {
      k = 3;
      lo = ch == 0xf0 ? 0x90 : 0x80;
      hi = ch == 0xf4 ? 0x8f : 0xbf;
    } else {
      return false;
    }
    if (k > n - 1 - i)
      return false;
    for (size_t j = 1; j <= k; j++) {
      unsigned b = p[i + j];
      if (j == 1 ? (b < lo || b > hi) : (b & 0xc0) != 0x80)
        return false;
    }
    i += k + 1;
  }
  return true;
}

/* ------------------------------------------------------------------ */
/* Numbers                                                             */
/* ------------------------------------------------------------------ */

int issuance__qs_err(enum db_qs qs)
{
  return qs == DB_QS_SOFT ? -ERR_DB_CONFLICT : -ERR_DB_HARD;
}

enum db_qs books_txn_qs(int rc)
{
  if (rc == -ERR_DB_CONFLICT)
    return DB_QS_SOFT;
  if (rc == -ERR_DB_HARD || rc == -ERR_DB_CONNECT)
    return DB_QS_HARD;
  return DB_QS_NONE;
}

int issuance__num_money(const char *s, unsigned scale, struct money *out)
{
  char buf[MONEY_PARSE_MAX];
  size_t n = strlen(s);
  if (n >= sizeof buf)
    return -ERR_BOOKS_OVERFLOW;
  memcpy(buf, s, n + 1);
  char *dot = strchr(buf, '.');
  if (dot != NULL) {
    /* Drop fraction zeros beyond the scale (and the point if no digit is left). */
    size_t frac = strlen(dot + 1);
    while (frac > scale && dot[frac] == '0')
      dot[frac--] = '\0';
    if (frac == 0)
      *dot = '\0';
  }
  int rc = money_parse(buf, strlen(buf), scale, MONEY_PARSE_NEGATIVE, out);
  if (rc == -ERR_MONEY_OVERFLOW)
    return -ERR_BOOKS_OVERFLOW;
  return rc == 0 ? 0 : -ERR_BOOKS_ASSET;
}
