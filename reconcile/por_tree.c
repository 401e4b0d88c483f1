/*
 * por_tree.c: the Merkle sum tree of proof of reserves (CUSTODY_POR.md;
 * encodings in docs/por-tree.md): the node hashes, salts from the round
 * key, the streaming build and proof extraction, and an in-memory build
 * of the same tree for tests.
 *
 * Salts are the ChaCha20 keystream of the round key (libsodium's
 * crypto_stream_chacha20: 64-bit block counter, 8-byte nonce): salt i of a
 * kind is keystream bytes [32i, 32i + 32) under the nonce "bspor_u_"
 * (holders) or "bspor_p_" (pads).  The build draws SALT_BATCH holder salts
 * per keystream call.
 *
 * Streaming: a push hashes the leaf into the current batch (bh/bs, BATCH
 * leaves); a full batch makes its nodes of heights 1..BATCH_LEVELS level
 * by level and merges its top node.  Invariants of the merged part: after
 * m leaves merged, bit l of m says a complete node of height l waits for
 * its right sibling; its hash and sum already sit in the left half of
 * msg[l + 1] (the preimage of its parent) and its sum in lsum[l], so
 * memory is O(H + BATCH) whatever the number of leaves.  At finish the
 * leaves of an unfinished batch are merged one by one.  Overflow: every
 * sum is at most the total of the balances, checked at each push.
 *
 * Levels file: complete nodes (their subtree holds only real leaves) of
 * height 0 and 3..H are appended in creation order; heights 1 and 2 are
 * not stored (recomputed from their 2 or 4 leaves, adjacent in the file).
 * Node (l, j) closes with leaf k = (j+1)*2^l - 1; with S(k) = sum over m
 * >= 3 of floor(k / 2^m), leaf k is record k + S(k) and node (l >= 3, j)
 * is record k + S(k) + 1 + (l - 3).  At finish, the nodes that mix real
 * leaves and padding (one per level at most) stay in memory (edge[]);
 * siblings further right are pads, recomputed from the key.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "reconcile/por_bytes.h"
#include "reconcile/reconcile.h"

#define REC_LEN   (POR_HASH_LEN + 16)
#define LEAF_LEN  (1 + POR_ROUND_ID_LEN + POR_SALT_LEN + POR_HASH_LEN + 16)
#define INNER_LEN (1 + 16 + 16 + 2 * POR_HASH_LEN)
#define PAD_LEN   (1 + POR_ROUND_ID_LEN + 8 + POR_SALT_LEN)
/* Records gathered before one fwrite (stdio per 48-byte record costs more than the I/O). */
#define WBUF_RECS 4096
/* Heights 1..STORED_FROM-1 are not stored (recomputed from at most GROUP adjacent leaves). */
#define STORED_FROM 3
#define GROUP       (1u << (STORED_FROM - 1))
/*
 * Leaves hashed per batch: the nodes of heights 1..BATCH_LEVELS over them are made in plain
 * loops, level by level, once the batch is full (per-leaf merging takes about one branch
 * mispredicted per leaf: the SHA-256 code between two pushes wipes the branch history).
 */
#define BATCH_LEVELS 6
#define BATCH        (1u << BATCH_LEVELS)
/* Holder salts drawn per keystream call (4 KiB of ChaCha20: the vector code's stride). */
#define SALT_BATCH 128

static const uint8_t nonce_holder[8] = {'b', 's', 'p', 'o', 'r', '_', 'u', '_'};
static const uint8_t nonce_pad[8] = {'b', 's', 'p', 'o', 'r', '_', 'p', '_'};
static const uint8_t zeros[SALT_BATCH * POR_SALT_LEN];

struct por_tree {
  unsigned height;
  bool finished, failed;
  uint64_t n;
  FILE *levels;
  uint8_t round_id[POR_ROUND_ID_LEN];
  uint8_t key[POR_KEY_LEN];
  uint8_t leaf[LEAF_LEN];                     /* 0x00 | round_id | salt | H(id) | balance */
  uint8_t msg[POR_HEIGHT_MAX + 1][INNER_LEN]; /* msg[l]: the next node of height l's preimage */
  por_u128 lsum[POR_HEIGHT_MAX + 1];          /* sum of the node waiting at height l */
  por_u128 total;                             /* of every balance pushed */
  /* The current batch: its nodes of height l at [boff(l), boff(l) + (BATCH >> l)). */
  uint8_t bh[2 * BATCH][POR_HASH_LEN];
  por_u128 bs[2 * BATCH];
  bool has_edge[POR_HEIGHT_MAX + 1];
  struct por_node edge[POR_HEIGHT_MAX + 1];
  struct por_node root;
  uint8_t salts[SALT_BATCH * POR_SALT_LEN]; /* holder salts n & ~(SALT_BATCH-1) onwards */
  size_t wn;                                /* records in wbuf */
  uint8_t wbuf[WBUF_RECS * REC_LEN];
};

static void put_u128be(uint8_t *p, por_u128 v)
{
  por_put_u64be(p, (uint64_t)(v >> 64));
  por_put_u64be(p + 8, (uint64_t)v);
}

static por_u128 get_u128be(const uint8_t *p)
{
  return (por_u128)por_get_u64be(p) << 64 | por_get_u64be(p + 8);
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

/* Salt @i under @nonce: keystream bytes [32i, 32i + 32), i.e. half (i & 1) of block i >> 1. */
static void salt_at(const uint8_t key[POR_KEY_LEN], const uint8_t nonce[8], uint64_t i,
                    uint8_t out[POR_SALT_LEN])
{
  uint8_t blk[2 * POR_SALT_LEN];
  crypto_stream_chacha20_xor_ic(blk, zeros, sizeof blk, nonce, i >> 1, key);
  memcpy(out, blk + (i & 1) * POR_SALT_LEN, POR_SALT_LEN);
  sodium_memzero(blk, sizeof blk);
}

void por_salt_holder(const uint8_t key[POR_KEY_LEN], uint64_t index, uint8_t out[POR_SALT_LEN])
{
  salt_at(key, nonce_holder, index, out);
}

void por_leaf_hash(const uint8_t round_id[POR_ROUND_ID_LEN], const uint8_t salt[POR_SALT_LEN],
                   const uint8_t holder_hash[POR_HASH_LEN], por_u128 balance,
                   uint8_t out[POR_HASH_LEN])
{
  uint8_t m[LEAF_LEN];
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
  uint8_t m[PAD_LEN];
  m[0] = 0x02;
  memcpy(m + 1, round_id, POR_ROUND_ID_LEN);
  por_put_u64be(m + 1 + POR_ROUND_ID_LEN, heap);
  salt_at(key, nonce_pad, heap, m + 1 + POR_ROUND_ID_LEN + 8);
  crypto_hash_sha256(out->hash, m, sizeof m);
  out->sum = 0;
  sodium_memzero(m + 1 + POR_ROUND_ID_LEN + 8, POR_SALT_LEN);
}

int por_inner(const struct por_node *l, const struct por_node *r, struct por_node *out)
{
  por_u128 sum = l->sum + r->sum;
  if (sum < l->sum)
    return -ERR_POR_OVERFLOW;
  uint8_t m[INNER_LEN];
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
  t->leaf[0] = 0x00;
  memcpy(t->leaf + 1, round_id, POR_ROUND_ID_LEN);
  for (unsigned l = 1; l <= height; l++)
    t->msg[l][0] = 0x01;
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

/*
 * A digest copy in 4-byte pieces: libsodium stores a digest 4 bytes at a time, and a wider load
 * right after those stores cannot be forwarded from them (a stall of some 15 cycles per node).
 */
static void copy_digest(uint8_t *dst, const uint8_t *src)
{
  for (int i = 0; i < POR_HASH_LEN; i += 4) {
    uint32_t w;
    memcpy(&w, src + i, 4);
    memcpy(dst + i, &w, 4);
  }
}

static int emit(struct por_tree *t, const uint8_t hash[POR_HASH_LEN], por_u128 sum)
{
  if (t->levels == NULL)
    return 0;
  if (t->wn == WBUF_RECS && wflush(t) != 0)
    return -ERR_IO;
  uint8_t *rec = t->wbuf + t->wn++ * REC_LEN;
  copy_digest(rec, hash);
  put_u128be(rec + POR_HASH_LEN, sum);
  return 0;
}

/*
 * Where the node of height @l whose position has low bit @right goes: its half of its parent's
 * preimage (hash at 33 or 65, sum at 1 or 17), or the root at the top.
 */
static uint8_t *slot(struct por_tree *t, unsigned l, unsigned right)
{
  return l < t->height ? t->msg[l + 1] + 33 + right * POR_HASH_LEN : t->root.hash;
}

static void put_sum(struct por_tree *t, unsigned l, unsigned right, por_u128 sum)
{
  if (l < t->height)
    put_u128be(t->msg[l + 1] + 1 + right * 16, sum);
  else
    t->root.sum = sum;
}

/* Index in bh/bs of the batch's first node of height @l. */
static unsigned boff(unsigned l)
{
  return 2 * BATCH - (2 * BATCH >> l);
}

/*
 * Puts the complete node (@hash, @sum) of height @l at position @pos into the streaming state and
 * makes the parents it closes (the stored ones appended to the levels file).  The node itself
 * is not written to the file here.
 */
static int merge(struct por_tree *t, unsigned l, uint64_t pos, const uint8_t hash[POR_HASH_LEN],
                 por_u128 sum)
{
  unsigned right = (unsigned)(pos & 1);
  uint8_t *h = slot(t, l, right);
  copy_digest(h, hash);
  put_sum(t, l, right, sum);
  por_u128 s = sum;
  /* A right child at height l: its parent at height l + 1 closes. */
  for (; right != 0; l++) {
    por_u128 up = t->lsum[l] + s;
    if (up < s)
      return -ERR_POR_OVERFLOW;
    pos >>= 1;
    right = (unsigned)(pos & 1);
    h = slot(t, l + 1, right);
    crypto_hash_sha256(h, t->msg[l + 1], INNER_LEN);
    s = up;
    put_sum(t, l + 1, right, s);
    if (l + 1 >= STORED_FROM) {
      int rc = emit(t, h, s);
      if (rc != 0)
        return rc;
    }
  }
  t->lsum[l] = s; /* a left child (or the root) now waits at height l */
  return 0;
}

/*
 * A full batch (the last BATCH leaves, t->n a multiple of BATCH, height >= BATCH_LEVELS): its
 * nodes level by level, its stored nodes to the file in creation order, its top node merged.
 */
static int flush_batch(struct por_tree *t)
{
  uint8_t m[INNER_LEN];
  m[0] = 0x01;
  for (unsigned l = 1; l <= BATCH_LEVELS; l++) {
    unsigned lo = boff(l - 1), up = boff(l);
    for (unsigned j = 0; j < BATCH >> l; j++) {
      por_u128 a = t->bs[lo + 2 * j], b = t->bs[lo + 2 * j + 1];
      put_u128be(m + 1, a);
      put_u128be(m + 17, b);
      copy_digest(m + 33, t->bh[lo + 2 * j]);
      copy_digest(m + 33 + POR_HASH_LEN, t->bh[lo + 2 * j + 1]);
      crypto_hash_sha256(t->bh[up + j], m, INNER_LEN);
      t->bs[up + j] = a + b; /* no overflow: t->total bounds every sum */
    }
  }
  int rc = 0;
  for (unsigned k = 0; rc == 0 && t->levels != NULL && k < BATCH; k++) {
    rc = emit(t, t->bh[k], t->bs[k]);
    /* The nodes leaf k closes: heights l with 2^l dividing k + 1. */
    for (unsigned l = STORED_FROM; rc == 0 && l <= BATCH_LEVELS && (k + 1) % (1u << l) == 0; l++)
      rc = emit(t, t->bh[boff(l) + (k >> l)], t->bs[boff(l) + (k >> l)]);
  }
  unsigned top = boff(BATCH_LEVELS);
  if (rc == 0)
    rc = merge(t, BATCH_LEVELS, (t->n >> BATCH_LEVELS) - 1, t->bh[top], t->bs[top]);
  return rc;
}

/* The leaf of t->leaf (holder hash already in place) with @balance, into the batch. */
static int push_leaf(struct por_tree *t, por_u128 balance)
{
  uint64_t n = t->n;
  por_u128 total = t->total + balance;
  if (total < balance) { /* every sum is at most the total: checking it checks them all */
    t->failed = true;
    return -ERR_POR_OVERFLOW;
  }
  t->total = total;
  if (n % SALT_BATCH == 0)
    crypto_stream_chacha20_xor_ic(t->salts, zeros, sizeof t->salts, nonce_holder, n >> 1, t->key);
  memcpy(t->leaf + 1 + POR_ROUND_ID_LEN, t->salts + (n % SALT_BATCH) * POR_SALT_LEN, POR_SALT_LEN);
  put_u128be(t->leaf + LEAF_LEN - 16, balance);
  unsigned b = (unsigned)(n % BATCH);
  crypto_hash_sha256(t->bh[b], t->leaf, LEAF_LEN);
  t->bs[b] = balance;
  t->n = n + 1;
  if (b == BATCH - 1 && t->height >= BATCH_LEVELS) {
    int rc = flush_batch(t);
    if (rc != 0) {
      t->failed = true;
      return rc;
    }
  }
  return 0;
}

int por_tree_push_hashed(struct por_tree *t, const uint8_t holder_hash[POR_HASH_LEN],
                         por_u128 balance)
{
  if (t->finished || t->failed)
    return -ERR_INVALID_ARGUMENT;
  if (t->n >> t->height != 0)
    return -ERR_POR_HEIGHT;
  memcpy(t->leaf + 1 + POR_ROUND_ID_LEN + POR_SALT_LEN, holder_hash, POR_HASH_LEN);
  return push_leaf(t, balance);
}

int por_tree_push(struct por_tree *t, const void *holder_id, size_t id_len, por_u128 balance)
{
  if (t->finished || t->failed)
    return -ERR_INVALID_ARGUMENT;
  if (t->n >> t->height != 0)
    return -ERR_POR_HEIGHT;
  crypto_hash_sha256(t->leaf + 1 + POR_ROUND_ID_LEN + POR_SALT_LEN, holder_id, id_len);
  return push_leaf(t, balance);
}

int por_tree_push_signed(struct por_tree *t, const void *holder_id, size_t id_len, __int128 balance)
{
  if (balance < 0)
    return -ERR_POR_NEGATIVE;
  return por_tree_push(t, holder_id, id_len, (por_u128)balance);
}

/* The complete node waiting at height @l (bit l of n set). */
static void pending(const struct por_tree *t, unsigned l, struct por_node *out)
{
  memcpy(out->hash, t->msg[l + 1] + 33, POR_HASH_LEN);
  out->sum = t->lsum[l];
}

static int node_at(struct por_tree *t, unsigned l, uint64_t j, struct por_node *out);

/*
 * The nodes that mix holders and padding (the right edge, at most one per height) and the
 * root of a tree of t->n holders, 0 < n < 2^H or n == 0; the complete node waiting at each
 * height comes from the build (@stored false) or the levels file (@stored true).
 */
static int close_right(struct por_tree *t, bool stored)
{
  unsigned h = t->height;
  if (t->n == 0) {
    por_pad(t->round_id, t->key, 1, &t->root);
    return 0;
  }
  /* carry: the partial node at height l, position (n-1) >> l. */
  bool have = false;
  struct por_node carry, pend;
  for (unsigned l = 0; l < h; l++) {
    uint64_t pos = (t->n - 1) >> l;
    struct por_node pad;
    int rc = 0;
    if (t->n >> l & 1) {
      if (stored)
        rc = node_at(t, l, (t->n >> l) - 1, &pend);
      else
        pending(t, l, &pend);
      if (rc == 0 && !have) {
        por_pad(t->round_id, t->key, heap_of(h, l, pos + 1), &pad);
        rc = por_inner(&pend, &pad, &carry);
      } else if (rc == 0) {
        rc = por_inner(&pend, &carry, &carry);
      }
      have = true;
    } else if (have) {
      por_pad(t->round_id, t->key, heap_of(h, l, pos + 1), &pad);
      rc = por_inner(&carry, &pad, &carry);
    }
    if (rc != 0)
      return rc;
    if (have) {
      t->edge[l + 1] = carry;
      t->has_edge[l + 1] = true;
    }
  }
  t->root = carry;
  return 0;
}

int por_tree_finish(struct por_tree *t, struct por_node *root)
{
  if (t->finished || t->failed)
    return -ERR_INVALID_ARGUMENT;
  unsigned h = t->height;
  /* The leaves of an unfinished batch, one by one (each then closes its own parents). */
  uint64_t first = t->n - t->n % BATCH;
  for (uint64_t k = first; k < t->n; k++) {
    int rc = emit(t, t->bh[k - first], t->bs[k - first]);
    if (rc == 0)
      rc = merge(t, 0, k, t->bh[k - first], t->bs[k - first]);
    if (rc != 0) {
      t->failed = true;
      return rc;
    }
  }
  if (t->n == (uint64_t)1 << h) {
    /* t->root was set by the last push */
  } else {
    int rc = close_right(t, false);
    if (rc != 0) {
      t->failed = true;
      return rc;
    }
  }
  if (t->levels != NULL && (wflush(t) != 0 || fflush(t->levels) != 0)) {
    t->failed = true;
    return -ERR_IO;
  }
  t->finished = true;
  *root = t->root;
  return 0;
}

/* Record number of leaf @k: k + sum over m >= STORED_FROM of floor(k / 2^m). */
static uint64_t leaf_record(uint64_t k)
{
  uint64_t off = k;
  for (uint64_t q = k >> STORED_FROM; q != 0; q >>= 1)
    off += q;
  return off;
}

/*
 * Record number of complete node (l >= STORED_FROM, j): after its last leaf and the nodes of
 * heights STORED_FROM..l-1 that the same leaf closed.
 */
static uint64_t node_record(unsigned l, uint64_t j)
{
  return leaf_record(((j + 1) << l) - 1) + 1 + (l - STORED_FROM);
}

/* @count records from @rec by pread (no stdio buffer refill); the FILE's position is kept. */
static int read_nodes(FILE *f, uint64_t rec, unsigned count, struct por_node *out)
{
  uint8_t buf[GROUP * REC_LEN];
  size_t len = (size_t)count * REC_LEN;
  if (pread(fileno(f), buf, len, (off_t)(rec * REC_LEN)) != (ssize_t)len)
    return -ERR_IO;
  for (unsigned i = 0; i < count; i++) {
    memcpy(out[i].hash, buf + i * REC_LEN, POR_HASH_LEN);
    out[i].sum = get_u128be(buf + i * REC_LEN + POR_HASH_LEN);
  }
  return 0;
}

/* Node (l, j) of a finished tree. */
static int node_at(struct por_tree *t, unsigned l, uint64_t j, struct por_node *out)
{
  if (((j + 1) << l) <= t->n) {
    if (l == 0)
      return read_nodes(t->levels, leaf_record(j), 1, out);
    if (l >= STORED_FROM)
      return read_nodes(t->levels, node_record(l, j), 1, out);
    /* Not stored: its 2^l leaves are adjacent records; fold them. */
    struct por_node lv[GROUP];
    unsigned w = 1u << l;
    int rc = read_nodes(t->levels, leaf_record(j << l), w, lv);
    for (; rc == 0 && w > 1; w /= 2)
      for (unsigned i = 0; rc == 0 && i < w / 2; i++)
        rc = por_inner(&lv[2 * i], &lv[2 * i + 1], &lv[i]);
    if (rc == 0)
      *out = lv[0];
    return rc;
  }
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
  /* The leaf and its sibling leaf in one read when both are real (adjacent records). */
  struct por_node two[2];
  bool pair = t->height > 0 && (index | 1) < t->n;
  int rc = pair ? read_nodes(t->levels, leaf_record(index & ~(uint64_t)1), 2, two)
                : read_nodes(t->levels, leaf_record(index), 1, &two[index & 1]);
  if (rc != 0)
    return rc;
  const struct por_node *leaf = &two[index & 1];
  uint8_t want[POR_HASH_LEN];
  por_leaf_hash(p.round_id, p.salt, holder_hash, balance, want);
  if (leaf->sum != balance || sodium_memcmp(want, leaf->hash, POR_HASH_LEN) != 0)
    return -ERR_POR_PROOF;
  for (unsigned l = 0; l < t->height; l++) {
    if (l == 0 && pair)
      p.sib[0] = two[(index & 1) ^ 1];
    else if ((rc = node_at(t, l, (index >> l) ^ 1, &p.sib[l])) != 0)
      return rc;
  }
  *out = p;
  return 0;
}

int por_tree_open(unsigned height, const uint8_t round_id[POR_ROUND_ID_LEN],
                  const uint8_t key[POR_KEY_LEN], uint64_t n, FILE *levels, struct por_tree **out,
                  struct por_node *root)
{
  if (levels == NULL)
    return -ERR_INVALID_ARGUMENT;
  if (height > POR_HEIGHT_MAX || (height < 64 && n > (uint64_t)1 << height))
    return -ERR_POR_HEIGHT;
  struct por_tree *t = NULL;
  int rc = por_tree_new(height, round_id, key, levels, &t);
  if (rc != 0)
    return rc;
  t->n = n;
  t->finished = true;
  if (n == (uint64_t)1 << height)
    rc = node_at(t, height, 0, &t->root);
  else
    rc = close_right(t, true);
  if (rc != 0) {
    por_tree_free(t);
    return rc;
  }
  *root = t->root;
  *out = t;
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
    sodium_memzero(salt, sizeof salt);
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
