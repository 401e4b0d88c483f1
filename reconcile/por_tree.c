/*
 * por_tree.c: the Merkle sum tree of proof of reserves (CUSTODY_POR.md;
 * encodings in docs/por-tree.md): the node hashes, salts from the round
 * key, the streaming build and proof extraction, and an in-memory build
 * of the same tree for tests.
 *
 * Streaming invariants: pend[l] holds the last complete node of height l
 * still waiting for its right sibling (at most one per level, so memory is
 * O(H) whatever the number of leaves).  Complete nodes (their subtree holds
 * only real leaves) are appended to the levels file in creation order;
 * node (l, j) closes with leaf k = (j+1)*2^l - 1, so its record number is
 * sum over m of floor(k / 2^m), plus l (the nodes the same push made
 * before it).  At finish, the nodes that mix real leaves and padding (one
 * per level at most) stay in memory (edge[]); siblings further right are
 * pads, recomputed from the key.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "reconcile/reconcile.h"

#define REC_LEN (POR_HASH_LEN + 16)
/* Records gathered before one fwrite (stdio per 48-byte record costs more than the I/O). */
#define WBUF_RECS 1024

struct por_tree {
  unsigned height;
  bool finished, failed;
  uint64_t n;
  FILE *levels;
  uint8_t round_id[POR_ROUND_ID_LEN];
  uint8_t key[POR_KEY_LEN];
  uint64_t pend_mask; /* bit l: pend[l] holds a node */
  struct por_node pend[POR_HEIGHT_MAX + 1];
  bool has_edge[POR_HEIGHT_MAX + 1];
  struct por_node edge[POR_HEIGHT_MAX + 1];
  struct por_node root;
  size_t wn; /* records in wbuf */
  uint8_t wbuf[WBUF_RECS * REC_LEN];
};

static void put_u128be(uint8_t *p, por_u128 v)
{
  for (int i = 15; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

static por_u128 get_u128be(const uint8_t *p)
{
  por_u128 v = 0;
  for (int i = 0; i < 16; i++)
    v = (v << 8) | p[i];
  return v;
}

static void put_u64be(uint8_t *p, uint64_t v)
{
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

int por_round_id(const char *isin, const char *as_of, uint8_t out[POR_ROUND_ID_LEN])
{
  static const char dom[] = "backstock/por/round/v1";
  if (isin == NULL || as_of == NULL)
    return -ERR_INVALID_ARGUMENT;
  size_t il = strnlen(isin, 65), al = strnlen(as_of, 65);
  if (il > 64 || al > 64)
    return -ERR_INVALID_ARGUMENT;
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, (const uint8_t *)dom, sizeof dom); /* with its NUL */
  crypto_hash_sha256_update(&st, (const uint8_t *)isin, il + 1);
  crypto_hash_sha256_update(&st, (const uint8_t *)as_of, al);
  crypto_hash_sha256_final(&st, out);
  return 0;
}

void por_round_key(const uint8_t master[POR_KEY_LEN], const uint8_t round_id[POR_ROUND_ID_LEN],
                   uint8_t out[POR_KEY_LEN])
{
  static const char dom[] = "backstock/por/round-key/v1";
  uint8_t msg[sizeof dom + POR_ROUND_ID_LEN];
  memcpy(msg, dom, sizeof dom);
  memcpy(msg + sizeof dom, round_id, POR_ROUND_ID_LEN);
  crypto_generichash(out, POR_KEY_LEN, msg, sizeof msg, master, POR_KEY_LEN);
}

void por_salt_holder(const uint8_t key[POR_KEY_LEN], uint64_t index, uint8_t out[POR_SALT_LEN])
{
  crypto_kdf_derive_from_key(out, POR_SALT_LEN, index, "bspor_u_", key);
}

void por_leaf_hash(const uint8_t round_id[POR_ROUND_ID_LEN], const uint8_t salt[POR_SALT_LEN],
                   const uint8_t holder_hash[POR_HASH_LEN], por_u128 balance,
                   uint8_t out[POR_HASH_LEN])
{
  uint8_t m[1 + POR_ROUND_ID_LEN + POR_SALT_LEN + POR_HASH_LEN + 16];
  m[0] = 0x00;
  memcpy(m + 1, round_id, POR_ROUND_ID_LEN);
  memcpy(m + 1 + POR_ROUND_ID_LEN, salt, POR_SALT_LEN);
  memcpy(m + 1 + POR_ROUND_ID_LEN + POR_SALT_LEN, holder_hash, POR_HASH_LEN);
  put_u128be(m + 1 + POR_ROUND_ID_LEN + POR_SALT_LEN + POR_HASH_LEN, balance);
  crypto_hash_sha256(out, m, sizeof m);
}

void por_pad(const uint8_t round_id[POR_ROUND_ID_LEN], const uint8_t key[POR_KEY_LEN],
             uint64_t heap, struct por_node *out)
{
  uint8_t m[1 + POR_ROUND_ID_LEN + 8 + POR_SALT_LEN];
  m[0] = 0x02;
  memcpy(m + 1, round_id, POR_ROUND_ID_LEN);
  put_u64be(m + 1 + POR_ROUND_ID_LEN, heap);
  crypto_kdf_derive_from_key(m + 1 + POR_ROUND_ID_LEN + 8, POR_SALT_LEN, heap, "bspor_p_", key);
  crypto_hash_sha256(out->hash, m, sizeof m);
  out->sum = 0;
  sodium_memzero(m + 1 + POR_ROUND_ID_LEN + 8, POR_SALT_LEN);
}

int por_inner(const struct por_node *l, const struct por_node *r, struct por_node *out)
{
  por_u128 sum = l->sum + r->sum;
  if (sum < l->sum)
    return -ERR_POR_OVERFLOW;
  uint8_t m[1 + 16 + 16 + 2 * POR_HASH_LEN];
  m[0] = 0x01;
  put_u128be(m + 1, l->sum);
  put_u128be(m + 17, r->sum);
  memcpy(m + 33, l->hash, POR_HASH_LEN);
  memcpy(m + 33 + POR_HASH_LEN, r->hash, POR_HASH_LEN);
  crypto_hash_sha256(out->hash, m, sizeof m);
  out->sum = sum;
  return 0;
}

/* Heap number of node (l, j) in a tree of height h. */
static uint64_t heap_of(unsigned h, unsigned l, uint64_t j)
{
  return ((uint64_t)1 << (h - l)) + j;
}

int por_tree_new(unsigned height, const uint8_t round_id[POR_ROUND_ID_LEN],
                 const uint8_t key[POR_KEY_LEN], FILE *levels, struct por_tree **out)
{
  if (height > POR_HEIGHT_MAX)
    return -ERR_POR_HEIGHT;
  if (sodium_init() < 0)
    return -ERR_INTERNAL;
  struct por_tree *t = calloc(1, sizeof *t);
  if (t == NULL)
    return -ERR_NOMEM;
  t->height = height;
  t->levels = levels;
  memcpy(t->round_id, round_id, POR_ROUND_ID_LEN);
  memcpy(t->key, key, POR_KEY_LEN);
  *out = t;
  return 0;
}

void por_tree_free(struct por_tree *t)
{
  if (t == NULL)
    return;
  sodium_memzero(t, sizeof *t);
  free(t);
}

uint64_t por_tree_count(const struct por_tree *t)
{
  return t->n;
}

static int wflush(struct por_tree *t)
{
  if (t->wn > 0 && fwrite(t->wbuf, REC_LEN, t->wn, t->levels) != t->wn)
    return -ERR_IO;
  t->wn = 0;
  return 0;
}

static int emit(struct por_tree *t, const struct por_node *nd)
{
  if (t->levels == NULL)
    return 0;
  if (t->wn == WBUF_RECS && wflush(t) != 0)
    return -ERR_IO;
  uint8_t *rec = t->wbuf + t->wn++ * REC_LEN;
  memcpy(rec, nd->hash, POR_HASH_LEN);
  put_u128be(rec + POR_HASH_LEN, nd->sum);
  return 0;
}

int por_tree_push_hashed(struct por_tree *t, const uint8_t holder_hash[POR_HASH_LEN],
                         por_u128 balance)
{
  if (t->finished || t->failed)
    return -ERR_INVALID_ARGUMENT;
  if (t->n >> t->height != 0)
    return -ERR_POR_HEIGHT;
  uint8_t salt[POR_SALT_LEN];
  struct por_node nd;
  por_salt_holder(t->key, t->n, salt);
  por_leaf_hash(t->round_id, salt, holder_hash, balance, nd.hash);
  sodium_memzero(salt, sizeof salt);
  nd.sum = balance;
  int rc = emit(t, &nd);
  unsigned l = 0;
  while (rc == 0 && (t->pend_mask >> l & 1) != 0) {
    rc = por_inner(&t->pend[l], &nd, &nd);
    t->pend_mask &= ~((uint64_t)1 << l);
    l++;
    if (rc == 0)
      rc = emit(t, &nd);
  }
  if (rc != 0) {
    t->failed = true;
    return rc;
  }
  t->pend[l] = nd;
  t->pend_mask |= (uint64_t)1 << l;
  t->n++;
  return 0;
}

int por_tree_push(struct por_tree *t, const void *holder_id, size_t id_len, por_u128 balance)
{
  uint8_t hh[POR_HASH_LEN];
  crypto_hash_sha256(hh, holder_id, id_len);
  return por_tree_push_hashed(t, hh, balance);
}

int por_tree_push_signed(struct por_tree *t, const void *holder_id, size_t id_len, __int128 balance)
{
  if (balance < 0)
    return -ERR_POR_NEGATIVE;
  return por_tree_push(t, holder_id, id_len, (por_u128)balance);
}

int por_tree_finish(struct por_tree *t, struct por_node *root)
{
  if (t->finished || t->failed)
    return -ERR_INVALID_ARGUMENT;
  unsigned h = t->height;
  if (t->n == (uint64_t)1 << h) {
    t->root = t->pend[h];
  } else if (t->n == 0) {
    por_pad(t->round_id, t->key, 1, &t->root);
  } else {
    /* carry: the partial node at height l, position (n-1) >> l. */
    bool have = false;
    struct por_node carry;
    for (unsigned l = 0; l < h; l++) {
      uint64_t pos = (t->n - 1) >> l;
      struct por_node pad;
      int rc = 0;
      if (t->pend_mask >> l & 1) {
        if (!have) {
          por_pad(t->round_id, t->key, heap_of(h, l, pos + 1), &pad);
          rc = por_inner(&t->pend[l], &pad, &carry);
        } else {
          rc = por_inner(&t->pend[l], &carry, &carry);
        }
        have = true;
      } else if (have) {
        por_pad(t->round_id, t->key, heap_of(h, l, pos + 1), &pad);
        rc = por_inner(&carry, &pad, &carry);
      }
      if (rc != 0) {
        t->failed = true;
        return rc;
      }
      if (have) {
        t->edge[l + 1] = carry;
        t->has_edge[l + 1] = true;
      }
    }
    t->root = carry;
  }
  if (t->levels != NULL && (wflush(t) != 0 || fflush(t->levels) != 0)) {
    t->failed = true;
    return -ERR_IO;
  }
  t->finished = true;
  *root = t->root;
  return 0;
}

/* Record number of complete node (l, j) in the levels file. */
static uint64_t record_of(unsigned l, uint64_t j)
{
  uint64_t k = ((j + 1) << l) - 1, off = l;
  for (uint64_t q = k; q != 0; q >>= 1)
    off += q;
  return off;
}

/* One record by pread (no stdio buffer refill per sibling); the FILE's position is kept. */
static int read_node(FILE *f, uint64_t rec, struct por_node *out)
{
  uint8_t buf[REC_LEN];
  if (pread(fileno(f), buf, REC_LEN, (off_t)(rec * REC_LEN)) != REC_LEN)
    return -ERR_IO;
  memcpy(out->hash, buf, POR_HASH_LEN);
  out->sum = get_u128be(buf + POR_HASH_LEN);
  return 0;
}

/* Node (l, j) of a finished tree. */
static int node_at(struct por_tree *t, unsigned l, uint64_t j, struct por_node *out)
{
  if (((j + 1) << l) <= t->n)
    return read_node(t->levels, record_of(l, j), out);
  if ((j << l) >= t->n) {
    por_pad(t->round_id, t->key, heap_of(t->height, l, j), out);
    return 0;
  }
  if (!t->has_edge[l])
    return -ERR_INTERNAL;
  *out = t->edge[l];
  return 0;
}

int por_tree_proof(struct por_tree *t, uint64_t index, const uint8_t holder_hash[POR_HASH_LEN],
                   por_u128 balance, struct por_proof *out)
{
  if (!t->finished || t->levels == NULL || index >= t->n)
    return -ERR_INVALID_ARGUMENT;
  struct por_proof p;
  memset(&p, 0, sizeof p);
  p.height = t->height;
  p.index = index;
  memcpy(p.round_id, t->round_id, POR_ROUND_ID_LEN);
  por_salt_holder(t->key, index, p.salt);
  memcpy(p.holder_hash, holder_hash, POR_HASH_LEN);
  p.balance = balance;
  struct por_node leaf;
  int rc = node_at(t, 0, index, &leaf);
  if (rc != 0)
    return rc;
  uint8_t want[POR_HASH_LEN];
  por_leaf_hash(p.round_id, p.salt, holder_hash, balance, want);
  if (leaf.sum != balance || sodium_memcmp(want, leaf.hash, POR_HASH_LEN) != 0)
    return -ERR_POR_PROOF;
  for (unsigned l = 0; l < t->height; l++) {
    rc = node_at(t, l, (index >> l) ^ 1, &p.sib[l]);
    if (rc != 0)
      return rc;
  }
  *out = p;
  return 0;
}

int por_tree_build_mem(unsigned height, const uint8_t round_id[POR_ROUND_ID_LEN],
                       const uint8_t key[POR_KEY_LEN], const uint8_t (*holder_hashes)[POR_HASH_LEN],
                       const por_u128 *balances, uint64_t n, struct por_node *root)
{
  if (height > POR_HEIGHT_MAX || n > (uint64_t)1 << height)
    return -ERR_POR_HEIGHT;
  if (sodium_init() < 0)
    return -ERR_INTERNAL;
  if (n == 0) {
    por_pad(round_id, key, 1, root);
    return 0;
  }
  struct por_node *lv = malloc((size_t)n * sizeof *lv);
  if (lv == NULL)
    return -ERR_NOMEM;
  for (uint64_t i = 0; i < n; i++) {
    uint8_t salt[POR_SALT_LEN];
    por_salt_holder(key, i, salt);
    por_leaf_hash(round_id, salt, holder_hashes[i], balances[i], lv[i].hash);
    lv[i].sum = balances[i];
  }
  int rc = 0;
  uint64_t width = n; /* real-or-partial nodes at this height */
  for (unsigned l = 0; l < height && rc == 0; l++) {
    uint64_t up = (width + 1) / 2;
    for (uint64_t j = 0; j < up && rc == 0; j++) {
      struct por_node right;
      if (2 * j + 1 < width)
        right = lv[2 * j + 1];
      else
        por_pad(round_id, key, heap_of(height, l, 2 * j + 1), &right);
      rc = por_inner(&lv[2 * j], &right, &lv[j]);
    }
    width = up;
  }
  if (rc == 0)
    *root = lv[0];
  free(lv);
  return rc;
}
