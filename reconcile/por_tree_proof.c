/*
 * por_tree_proof.c: inclusion proofs of the Merkle sum tree -- the check a
 * holder (or auditor) runs against the published root, and the proof's
 * text form with its strict parser (outside input).
 *
 * The text form is canonical JSON (docs/por-tree.md): keys sorted, no
 * whitespace, hashes as 64 lowercase hex digits, amounts as decimal
 * strings without sign or leading zeros, height and index as JSON
 * integers.  The parser accepts exactly what por_proof_format() writes, so
 * formatting a parsed proof gives back the same bytes.
 */
#include <stdarg.h>
#include <string.h>

#include <sodium.h>

#include "reconcile/reconcile.h"

int por_u128_format(por_u128 v, char *buf, size_t cap)
{
  char tmp[40];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + (int)(v % 10));
    v /= 10;
  } while (v != 0);
  if ((size_t)n + 1 > cap)
    return -ERR_TOO_LONG;
  for (int i = 0; i < n; i++)
    buf[i] = tmp[n - 1 - i];
  buf[n] = '\0';
  return n;
}

static void say(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *msg, size_t cap, const char *fmt, ...)
{
  if (msg == NULL || cap == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, cap, fmt, ap);
  va_end(ap);
}

int por_proof_verify(const struct por_proof *p, const uint8_t root_hash[POR_HASH_LEN],
                     por_u128 root_sum, unsigned height, char *msg, size_t msg_cap)
{
  say(msg, msg_cap, "ok");
  if (p->height != height) {
    say(msg, msg_cap, "proof height %u differs from the published height %u", p->height, height);
    return -ERR_POR_PROOF;
  }
  if (height > POR_HEIGHT_MAX || p->index >> height != 0) {
    say(msg, msg_cap, "leaf index %llu out of range for height %u", (unsigned long long)p->index,
        height);
    return -ERR_POR_PROOF;
  }
  struct por_node cur;
  por_leaf_hash(p->round_id, p->salt, p->holder_hash, p->balance, cur.hash);
  cur.sum = p->balance;
  for (unsigned l = 0; l < height; l++) {
    int rc = (p->index >> l & 1) != 0 ? por_inner(&p->sib[l], &cur, &cur)
                                      : por_inner(&cur, &p->sib[l], &cur);
    if (rc != 0) {
      say(msg, msg_cap, "level %u: sum of the node and its sibling passes 2^128", l);
      return -ERR_POR_PROOF;
    }
    if (l + 1 < height && cur.sum > root_sum) {
      char a[40], b[40];
      por_u128_format(cur.sum, a, sizeof a);
      por_u128_format(root_sum, b, sizeof b);
      say(msg, msg_cap, "level %u: subtree sum %s exceeds the published liabilities %s", l + 1, a,
          b);
      return -ERR_POR_PROOF;
    }
  }
  if (sodium_memcmp(cur.hash, root_hash, POR_HASH_LEN) != 0) {
    char a[2 * POR_HASH_LEN + 1], b[2 * POR_HASH_LEN + 1];
    sodium_bin2hex(a, sizeof a, cur.hash, POR_HASH_LEN);
    sodium_bin2hex(b, sizeof b, root_hash, POR_HASH_LEN);
    say(msg, msg_cap, "level %u (root): recomputed hash %s differs from the published root %s",
        height, a, b);
    return -ERR_POR_PROOF;
  }
  if (cur.sum != root_sum) {
    char a[40], b[40];
    por_u128_format(cur.sum, a, sizeof a);
    por_u128_format(root_sum, b, sizeof b);
    say(msg, msg_cap,
        "level %u (root): recomputed sum %s differs from the published liabilities %s", height, a,
        b);
    return -ERR_POR_PROOF;
  }
  return 0;
}

/* A bounded writer. */
struct out {
  char *buf;
  size_t cap, n;
  bool full;
};

static void put(struct out *o, const char *s, size_t len)
{
  if (o->full || o->n + len + 1 > o->cap) {
    o->full = true;
    return;
  }
  memcpy(o->buf + o->n, s, len);
  o->n += len;
  o->buf[o->n] = '\0';
}

static void put_s(struct out *o, const char *s)
{
  put(o, s, strlen(s));
}

static void put_hex(struct out *o, const uint8_t *b)
{
  char h[2 * POR_HASH_LEN + 1];
  sodium_bin2hex(h, sizeof h, b, POR_HASH_LEN);
  put(o, "\"", 1);
  put(o, h, 2 * POR_HASH_LEN);
  put(o, "\"", 1);
}

static void put_u128(struct out *o, por_u128 v, bool quoted)
{
  char d[40];
  int n = por_u128_format(v, d, sizeof d);
  if (quoted)
    put(o, "\"", 1);
  put(o, d, (size_t)n);
  if (quoted)
    put(o, "\"", 1);
}

int por_proof_format(const struct por_proof *p, char *buf, size_t cap)
{
  if (p->height > POR_HEIGHT_MAX)
    return -ERR_POR_HEIGHT;
  struct out o = {buf, cap, 0, cap == 0};
  if (cap > 0)
    buf[0] = '\0';
  put_s(&o, "{\"balance\":");
  put_u128(&o, p->balance, true);
  put_s(&o, ",\"height\":");
  put_u128(&o, p->height, false);
  put_s(&o, ",\"holder\":");
  put_hex(&o, p->holder_hash);
  put_s(&o, ",\"index\":");
  put_u128(&o, p->index, false);
  put_s(&o, ",\"round_id\":");
  put_hex(&o, p->round_id);
  put_s(&o, ",\"salt\":");
  put_hex(&o, p->salt);
  put_s(&o, ",\"siblings\":[");
  for (unsigned l = 0; l < p->height; l++) {
    put_s(&o, l == 0 ? "{\"hash\":" : ",{\"hash\":");
    put_hex(&o, p->sib[l].hash);
    put_s(&o, ",\"sum\":");
    put_u128(&o, p->sib[l].sum, true);
    put_s(&o, "}");
  }
  put_s(&o, "]}");
  if (o.full)
    return -ERR_TOO_LONG;
  return (int)o.n;
}

/* A cursor over the input. */
struct in {
  const char *s;
  size_t len, i;
};

static bool lit(struct in *c, const char *want)
{
  size_t n = strlen(want);
  if (c->len - c->i < n || memcmp(c->s + c->i, want, n) != 0)
    return false;
  c->i += n;
  return true;
}

static int hexval(char ch)
{
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  return -1;
}

/* "<64 lowercase hex digits>" */
static int get_hex(struct in *c, uint8_t *out)
{
  if (c->len - c->i < 2 * POR_HASH_LEN + 2 || c->s[c->i] != '"' ||
      c->s[c->i + 2 * POR_HASH_LEN + 1] != '"')
    return -ERR_POR_PROOF;
  const char *h = c->s + c->i + 1;
  for (size_t k = 0; k < POR_HASH_LEN; k++) {
    int hi = hexval(h[2 * k]), lo = hexval(h[2 * k + 1]);
    if (hi < 0 || lo < 0)
      return -ERR_POR_PROOF;
    out[k] = (uint8_t)(hi << 4 | lo);
  }
  c->i += 2 * POR_HASH_LEN + 2;
  return 0;
}

/* Digits without a sign or a leading zero, at most @max; @quoted: inside quotes. */
static int get_dec(struct in *c, bool quoted, por_u128 max, por_u128 *out)
{
  if (quoted && !lit(c, "\""))
    return -ERR_POR_PROOF;
  if (c->i < c->len && c->s[c->i] == '-')
    return -ERR_POR_NEGATIVE;
  size_t start = c->i;
  por_u128 v = 0;
  bool over = false;
  while (c->i < c->len && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
    unsigned d = (unsigned)(c->s[c->i] - '0');
    if (v > (max - d) / 10)
      over = true;
    else
      v = v * 10 + d;
    c->i++;
    if (c->i - start > 40)
      return -ERR_POR_PROOF;
  }
  size_t n = c->i - start;
  if (n == 0 || (n > 1 && c->s[start] == '0'))
    return -ERR_POR_PROOF;
  if (quoted && !lit(c, "\""))
    return -ERR_POR_PROOF;
  if (over)
    return -ERR_POR_OVERFLOW;
  *out = v;
  return 0;
}

int por_proof_parse(const char *text, size_t len, struct por_proof *out)
{
  if (len > POR_PROOF_TEXT_MAX)
    return -ERR_TOO_LONG;
  struct in c = {text, len, 0};
  struct por_proof p;
  memset(&p, 0, sizeof p);
  por_u128 v;
  int rc;
  if (!lit(&c, "{\"balance\":"))
    return -ERR_POR_PROOF;
  if ((rc = get_dec(&c, true, ~(por_u128)0, &p.balance)) != 0)
    return rc;
  if (!lit(&c, ",\"height\":"))
    return -ERR_POR_PROOF;
  if ((rc = get_dec(&c, false, UINT32_MAX, &v)) != 0)
    return rc == -ERR_POR_OVERFLOW ? -ERR_POR_HEIGHT : rc;
  if (v > POR_HEIGHT_MAX)
    return -ERR_POR_HEIGHT;
  p.height = (unsigned)v;
  if (!lit(&c, ",\"holder\":") || get_hex(&c, p.holder_hash) != 0 || !lit(&c, ",\"index\":"))
    return -ERR_POR_PROOF;
  if ((rc = get_dec(&c, false, UINT64_MAX, &v)) != 0)
    return rc == -ERR_POR_OVERFLOW ? -ERR_POR_PROOF : rc;
  p.index = (uint64_t)v;
  if (p.index >> p.height != 0)
    return -ERR_POR_PROOF;
  if (!lit(&c, ",\"round_id\":") || get_hex(&c, p.round_id) != 0 || !lit(&c, ",\"salt\":") ||
      get_hex(&c, p.salt) != 0 || !lit(&c, ",\"siblings\":["))
    return -ERR_POR_PROOF;
  for (unsigned l = 0; l < p.height; l++) {
    if (!lit(&c, l == 0 ? "{\"hash\":" : ",{\"hash\":") || get_hex(&c, p.sib[l].hash) != 0 ||
        !lit(&c, ",\"sum\":"))
      return -ERR_POR_PROOF;
    if ((rc = get_dec(&c, true, ~(por_u128)0, &p.sib[l].sum)) != 0)
      return rc;
    if (!lit(&c, "}"))
      return -ERR_POR_PROOF;
  }
  if (!lit(&c, "]}") || c.i != c.len)
    return -ERR_POR_PROOF;
  *out = p;
  return 0;
}
