/*
 * The Merkle sum tree (reconcile/por_tree.c, por_tree_proof.c): known small
 * trees against roots computed here from the CUSTODY_POR.md formulas byte by
 * byte (and pinned as hex, as are holder salts deep into the ChaCha20
 * keystream), every holder's proof verifying for every count
 * up to 2^H at heights 0..5, the streaming build equal to the in-memory one,
 * the sibling-sum attack and every flipped bit or changed amount detected,
 * overflow, negative balances and too many leaves refused, and the proof's
 * text form round-tripping and refusing anything but its canonical form.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "reconcile/reconcile.h"
#include "tests/support/testsupport.h"

static uint8_t rid[POR_ROUND_ID_LEN], key[POR_KEY_LEN];

static int setup(void **state)
{
  (void)state;
  if (sodium_init() < 0)
    return -1;
  for (int i = 0; i < POR_KEY_LEN; i++)
    key[i] = (uint8_t)i;
  return por_round_id("US0378331005", "2025-06-30T20:00:00Z", rid);
}

static void hex(const uint8_t *b, char out[65])
{
  sodium_bin2hex(out, 65, b, 32);
}

/* ---- the reference: the formulas written out again, independently ---- */

static void ref_holder(unsigned i, uint8_t out[32])
{
  char id[32];
  int n = snprintf(id, sizeof id, "holder-%u", i);
  crypto_hash_sha256(out, (const uint8_t *)id, (size_t)n);
}

static por_u128 ref_balance(unsigned i)
{
  return (por_u128)(1000 + 7 * i);
}

static void be(uint8_t *p, por_u128 v, int n)
{
  for (int i = n - 1; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)(v & 0xff);
}

/*
 * Salt @i of a kind: bytes [32i, 32i + 32) of the ChaCha20 keystream (djb's: 64-bit block
 * counter, 8-byte nonce = the kind) under the round key, taken here from the stream's start.
 */
static void ref_salt(const char *nonce, uint64_t i, uint8_t out[32])
{
  uint8_t ks[32 * 16];
  assert_true(i < 16);
  crypto_stream_chacha20(ks, sizeof ks, (const uint8_t *)nonce, key);
  memcpy(out, ks + 32 * i, 32);
}

static struct por_node ref_leaf(unsigned i)
{
  uint8_t m[113], salt[32], hh[32];
  struct por_node nd;
  ref_salt("bspor_u_", i, salt);
  ref_holder(i, hh);
  m[0] = 0;
  memcpy(m + 1, rid, 32);
  memcpy(m + 33, salt, 32);
  memcpy(m + 65, hh, 32);
  be(m + 97, ref_balance(i), 16);
  crypto_hash_sha256(nd.hash, m, sizeof m);
  nd.sum = ref_balance(i);
  return nd;
}

static struct por_node ref_pad(uint64_t heap)
{
  uint8_t m[73];
  struct por_node nd;
  m[0] = 2;
  memcpy(m + 1, rid, 32);
  be(m + 33, heap, 8);
  ref_salt("bspor_p_", heap, m + 41);
  crypto_hash_sha256(nd.hash, m, sizeof m);
  nd.sum = 0;
  return nd;
}

static struct por_node ref_inner(struct por_node l, struct por_node r)
{
  uint8_t m[97];
  struct por_node nd;
  m[0] = 1;
  be(m + 1, l.sum, 16);
  be(m + 17, r.sum, 16);
  memcpy(m + 33, l.hash, 32);
  memcpy(m + 65, r.hash, 32);
  crypto_hash_sha256(nd.hash, m, sizeof m);
  nd.sum = l.sum + r.sum;
  return nd;
}

/* Streams holders 0..n-1 into a tree of height h with a levels file; the tree is returned. */
static struct por_tree *stream(unsigned h, unsigned n, FILE *f, struct por_node *root)
{
  struct por_tree *t;
  assert_int_equal(por_tree_new(h, rid, key, f, &t), 0);
  for (unsigned i = 0; i < n; i++) {
    char id[32];
    int len = snprintf(id, sizeof id, "holder-%u", i);
    assert_int_equal(por_tree_push(t, id, (size_t)len, ref_balance(i)), 0);
  }
  assert_int_equal(por_tree_finish(t, root), 0);
  return t;
}

static void expect_root(unsigned h, unsigned n, struct por_node want, const char *want_hex,
                        uint64_t want_sum)
{
  char got[65];
  struct por_node root;
  struct por_tree *t = stream(h, n, NULL, &root);
  por_tree_free(t);
  hex(want.hash, got);
  assert_string_equal(got, want_hex); /* the reference gives the pinned bytes */
  hex(root.hash, got);
  assert_string_equal(got, want_hex); /* and the tree agrees */
  assert_true(root.sum == want_sum && want.sum == want_sum);
}

/*
 * The pinned hex was computed a third way, outside this code: Python's hashlib.sha256 and
 * ChaCha20 from Python's `cryptography` (16-byte IV = u64le(block) | nonce), which agreed with
 * `openssl enc -chacha20` and a pure-Python ChaCha20 checked on RFC 8439's test vector;
 * docs/por-tree.md.
 */
static void test_known_roots(void **state)
{
  (void)state;
  char h[65];
  hex(rid, h);
  assert_string_equal(h, "e6804777c5eb0e4acf9b6d6c1b170e5d02328c1b2b547598fd881b9d6efe6a17");
  struct por_node l0 = ref_leaf(0), l1 = ref_leaf(1), l2 = ref_leaf(2);
  /* 1 leaf, height 1: inner(L0, pad(heap 3)). */
  expect_root(1, 1, ref_inner(l0, ref_pad(3)),
              "c0e7796437f352636f80f22c7bbea56693315c67c392c95529d5821cd9fa7f1d", 1000);
  /* 2 leaves, height 1. */
  expect_root(1, 2, ref_inner(l0, l1),
              "60e815c5d8fc8ad3ecbec47b320f6bb4b377342c2a69abb9814d8086f43b7c3d", 2007);
  /* 3 leaves, height 2: inner(inner(L0, L1), inner(L2, pad(heap 7))). */
  expect_root(2, 3, ref_inner(ref_inner(l0, l1), ref_inner(l2, ref_pad(7))),
              "50254ca9b4be1d1fc3400f79f9f15a5d76e6a235fd191852307e0d5ec04bc93c", 3021);
  /* 3 leaves, height 3: the right half is one pad (heap 3). */
  expect_root(3, 3, ref_inner(ref_inner(ref_inner(l0, l1), ref_inner(l2, ref_pad(11))), ref_pad(3)),
              "996ad84989922c8bffd6f55810f825227bbee6460e540d25005079b003ccec47", 3021);
  /* 1 leaf, height 3: pads at heap 9, 5, 3. */
  expect_root(3, 1, ref_inner(ref_inner(ref_inner(l0, ref_pad(9)), ref_pad(5)), ref_pad(3)),
              "69aaee555cc3a2278cfa981581dc976fef4128ea0c47b13137b74232b86e34b7", 1000);
  /* No leaf, height 2: the root is the pad of heap 1. */
  expect_root(2, 0, ref_pad(1), "d0c954666fc5089317afb85049caf4b4b5b22c91a03af81e5a236c2f89c06d5e",
              0);
}

/*
 * Holder salts far into the stream (a block counter past 32 bits; the last slot of height 40),
 * pinned from the same Python computation.
 */
static void test_salts(void **state)
{
  (void)state;
  static const struct {
    uint64_t i;
    const char *hex;
  } want[] = {
      {0, "bf36da27226c2bdc6192e2fa2b87d685427c1c83d1de892f73d892dc7dfee5e9"},
      {1, "71a174f9dd892c3f1a46d9aff3adb9234667828b57761b3c6828a990edbd5371"},
      {2, "3cec688f601aad6ac24a010cd7b14c9cfa8329248ba5ffbb1bce1728a09e74d2"},
      {257, "2fe984d42194a75cd29dbd2e0a7a6a0f31a20f06bb956f2d4dce9f7c11a1e614"},
      {((uint64_t)1 << 33) + 1, "0af0b259c78c5a0df0cd4200fb9f20e11cc1c9fbd3456b0d59f71bf68101ee7a"},
      {((uint64_t)1 << 40) - 1, "6751f75cd9049b9b3875a20858ad8e2d3ce024bb3608c8e1512de970057be970"},
  };
  for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
    uint8_t salt[32];
    char got[65];
    por_salt_holder(key, want[k].i, salt);
    hex(salt, got);
    assert_string_equal(got, want[k].hex);
  }
  uint8_t a[32], b[32];
  ref_salt("bspor_u_", 5, a);
  por_salt_holder(key, 5, b);
  assert_memory_equal(a, b, 32);
}

/*
 * Every proof of every tree up to 2^h leaves at heights 0..5 verifies and round-trips; at
 * heights 6 and 7 (one and two full batches of 64 leaves in the build) every count too, with
 * every proof at the batch edges and a fifth of the others.
 */
static void test_every_proof(void **state)
{
  (void)state;
  for (unsigned h = 0; h <= 7; h++) {
    for (unsigned n = 0; n <= (1u << h); n++) {
      FILE *f = tmpfile();
      assert_non_null(f);
      struct por_node root, mem;
      struct por_tree *t = stream(h, n, f, &root);
      uint8_t(*hh)[32] = calloc(n + 1, 32);
      por_u128 *bal = calloc(n + 1, sizeof *bal);
      por_u128 total = 0;
      for (unsigned i = 0; i < n; i++) {
        ref_holder(i, hh[i]);
        bal[i] = ref_balance(i);
        total += bal[i];
      }
      assert_int_equal(por_tree_build_mem(h, rid, key, (const uint8_t(*)[32])hh, bal, n, &mem), 0);
      assert_memory_equal(mem.hash, root.hash, 32);
      assert_true(mem.sum == root.sum && root.sum == total);
      /* the same tree opened from its levels file alone: same root, same proofs */
      struct por_tree *o = NULL;
      struct por_node oroot;
      assert_int_equal(por_tree_open(h, rid, key, n, f, &o, &oroot), 0);
      assert_memory_equal(oroot.hash, root.hash, 32);
      assert_true(oroot.sum == root.sum);
      for (unsigned i = 0; i < n; i++) {
        if (h >= 6 && i % 5 != 0 && i % 64 > 1 && i % 64 < 62 && i + 2 < n)
          continue;
        struct por_proof p, q, op;
        char msg[POR_MSG_MAX], text[POR_PROOF_TEXT_MAX], text2[POR_PROOF_TEXT_MAX];
        assert_int_equal(por_tree_proof(t, i, hh[i], bal[i], &p), 0);
        assert_int_equal(por_tree_proof(o, i, hh[i], bal[i], &op), 0);
        assert_memory_equal(&op, &p, sizeof p);
        if (por_proof_verify(&p, root.hash, total, h, msg, sizeof msg) != 0)
          fail_msg("h %u n %u holder %u: %s", h, n, i, msg);
        assert_string_equal(msg, "ok");
        int len = por_proof_format(&p, text, sizeof text);
        assert_true(len > 0);
        assert_int_equal(por_proof_parse(text, (size_t)len, &q), 0);
        assert_int_equal(por_proof_format(&q, text2, sizeof text2), len);
        assert_string_equal(text, text2);
        assert_int_equal(por_proof_verify(&q, root.hash, total, h, NULL, 0), 0);
      }
      if (n > 0) /* a balance that is not the stored leaf's: no proof */
        assert_int_equal(por_tree_proof(t, 0, hh[0], bal[0] + 1, &(struct por_proof){0}),
                         -ERR_POR_PROOF);
      assert_int_equal(por_tree_proof(t, n, hh[0], 0, &(struct por_proof){0}),
                       -ERR_INVALID_ARGUMENT);
      free(hh);
      free(bal);
      por_tree_free(o);
      por_tree_free(t);
      fclose(f);
    }
  }
  /* a levels file shorter than its count says; a count past the height */
  FILE *f = tmpfile();
  struct por_tree *o = NULL;
  struct por_node r;
  assert_int_equal(por_tree_open(3, rid, key, 5, f, &o, &r), -ERR_IO);
  assert_int_equal(por_tree_open(3, rid, key, 8, f, &o, &r), -ERR_IO);
  assert_int_equal(por_tree_open(3, rid, key, 9, f, &o, &r), -ERR_POR_HEIGHT);
  assert_null(o);
  fclose(f);
}

/* A larger tree: streaming equals in-memory for random balances at heights 10 and 12. */
static void test_stream_equals_memory(void **state)
{
  (void)state;
  const unsigned n = 1000;
  uint8_t(*hh)[32] = calloc(n, 32);
  por_u128 *bal = calloc(n, sizeof *bal);
  uint64_t x = 88172645463325252ULL;
  for (unsigned i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    bal[i] = (por_u128)x * 1000003u;
    randombytes_buf(hh[i], 32);
  }
  for (unsigned h = 10; h <= 12; h += 2) {
    FILE *f = tmpfile();
    struct por_tree *t;
    struct por_node root, mem;
    assert_int_equal(por_tree_new(h, rid, key, f, &t), 0);
    for (unsigned i = 0; i < n; i++)
      assert_int_equal(por_tree_push_hashed(t, hh[i], bal[i]), 0);
    assert_int_equal(por_tree_finish(t, &root), 0);
    assert_int_equal(por_tree_build_mem(h, rid, key, (const uint8_t(*)[32])hh, bal, n, &mem), 0);
    assert_memory_equal(root.hash, mem.hash, 32);
    assert_true(root.sum == mem.sum);
    for (unsigned i = 0; i < n; i += 37) {
      struct por_proof p;
      assert_int_equal(por_tree_proof(t, i, hh[i], bal[i], &p), 0);
      assert_int_equal(por_proof_verify(&p, root.hash, root.sum, h, NULL, 0), 0);
    }
    por_tree_free(t);
    fclose(f);
  }
  free(hh);
  free(bal);
}

/* Four holders; proofs of holders 0 and 3. */
static struct por_tree *four(FILE *f, struct por_node *root, struct por_proof *p0,
                             struct por_proof *p3)
{
  struct por_tree *t = stream(2, 4, f, root);
  uint8_t hh[32];
  ref_holder(0, hh);
  assert_int_equal(por_tree_proof(t, 0, hh, ref_balance(0), p0), 0);
  ref_holder(3, hh);
  assert_int_equal(por_tree_proof(t, 3, hh, ref_balance(3), p3), 0);
  return t;
}

static void expect_fail(const struct por_proof *p, const uint8_t *root, por_u128 sum, unsigned h,
                        const char *needle)
{
  char msg[POR_MSG_MAX];
  assert_int_equal(por_proof_verify(p, root, sum, h, msg, sizeof msg), -ERR_POR_PROOF);
  if (needle != NULL && strstr(msg, needle) == NULL)
    fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
}

/*
 * The attack of CUSTODY_POR.md: the issuer lowers the sibling sum shown to one holder (and
 * the published liabilities by as much), or shows two holders different sums for the same
 * subtree.  The sums are inside the hashes, so every such proof fails.
 */
static void test_sibling_sum_attack(void **state)
{
  (void)state;
  FILE *f = tmpfile();
  struct por_node root;
  struct por_proof p0, p3, a;
  struct por_tree *t = four(f, &root, &p0, &p3);
  assert_true(root.sum == 4042);
  assert_true(p0.sib[1].sum == 2035 && p3.sib[1].sum == 2007);
  /* Holder 0 shown the right half as 35 less, liabilities published 35 less. */
  a = p0;
  a.sib[1].sum -= 35;
  expect_fail(&a, root.hash, root.sum - 35, 2, "level 2 (root): recomputed hash");
  expect_fail(&a, root.hash, root.sum, 2, "level 2 (root): recomputed hash");
  /* Holder 3 shown a different left half sum than the tree holds: both views cannot pass. */
  a = p3;
  a.sib[1].sum = 1000;
  expect_fail(&a, root.hash, root.sum, 2, "recomputed hash");
  /* Moving value between the two sums of a level: still caught. */
  a = p0;
  a.sib[0].sum += 5;
  a.balance -= 5;
  expect_fail(&a, root.hash, root.sum, 2, "recomputed hash");
  /* Sibling sums that pass the liabilities are named by their level. */
  a = p0;
  a.sib[0].sum = root.sum;
  expect_fail(&a, root.hash, root.sum, 2, "level 1: subtree sum 5042 exceeds");
  a = p0;
  a.sib[0].sum = ~(por_u128)0;
  expect_fail(&a, root.hash, root.sum, 2, "level 0: sum of the node and its sibling passes");
  por_tree_free(t);
  fclose(f);
}

/* A flipped bit anywhere, a changed balance, sum, index or height: every check fails. */
static void test_tamper(void **state)
{
  (void)state;
  FILE *f = tmpfile();
  struct por_node root;
  struct por_proof p0, p3, a;
  struct por_tree *t = four(f, &root, &p0, &p3);
  assert_int_equal(por_proof_verify(&p3, root.hash, root.sum, 2, NULL, 0), 0);
  unsigned fails = 0;
  for (unsigned bit = 0; bit < 256; bit++) {
    uint8_t mask = (uint8_t)(1u << (bit % 8));
    unsigned byte = bit / 8;
    uint8_t *fields[5];
    for (int k = 0; k < 5; k++) {
      a = p3;
      fields[0] = a.round_id, fields[1] = a.salt, fields[2] = a.holder_hash;
      fields[3] = a.sib[0].hash, fields[4] = a.sib[1].hash;
      fields[k][byte] ^= mask;
      fails += por_proof_verify(&a, root.hash, root.sum, 2, NULL, 0) == -ERR_POR_PROOF;
    }
    uint8_t r[32];
    memcpy(r, root.hash, 32);
    r[byte] ^= mask;
    fails += por_proof_verify(&p3, r, root.sum, 2, NULL, 0) == -ERR_POR_PROOF;
  }
  assert_int_equal(fails, 6 * 256);
  a = p3;
  a.balance += 1;
  expect_fail(&a, root.hash, root.sum, 2, "level 2 (root): recomputed hash");
  expect_fail(&a, root.hash, root.sum + 1, 2, "level 2 (root): recomputed hash");
  a = p3;
  a.sib[0].sum -= 1;
  expect_fail(&a, root.hash, root.sum, 2, "recomputed hash");
  a = p3;
  a.index = 2;
  expect_fail(&a, root.hash, root.sum, 2, "recomputed hash");
  a = p3;
  a.index = 4;
  expect_fail(&a, root.hash, root.sum, 2, "leaf index 4 out of range");
  expect_fail(&p3, root.hash, root.sum - 1, 2, "level 2 (root): recomputed sum 4042 differs");
  expect_fail(&p3, root.hash, root.sum, 3, "proof height 2 differs from the published height 3");
  por_tree_free(t);
  fclose(f);
}

static void test_refusals(void **state)
{
  (void)state;
  struct por_tree *t;
  struct por_node root;
  const por_u128 max = ~(por_u128)0;
  /* Two balances summing past u128. */
  assert_int_equal(por_tree_new(2, rid, key, NULL, &t), 0);
  assert_int_equal(por_tree_push(t, "a", 1, max), 0);
  assert_int_equal(por_tree_push(t, "b", 1, 1), -ERR_POR_OVERFLOW);
  assert_int_equal(por_tree_push(t, "c", 1, 0), -ERR_INVALID_ARGUMENT); /* failed tree */
  assert_int_equal(por_tree_finish(t, &root), -ERR_INVALID_ARGUMENT);
  por_tree_free(t);
  /*
   * MAX, 0 | 1, pad: refused at the push that takes the total past 2^128 - 1, before the node
   * over both halves exists (every sum is at most the total).
   */
  assert_int_equal(por_tree_new(2, rid, key, NULL, &t), 0);
  assert_int_equal(por_tree_push(t, "a", 1, max), 0);
  assert_int_equal(por_tree_push(t, "b", 1, 0), 0);
  assert_int_equal(por_tree_push(t, "c", 1, 1), -ERR_POR_OVERFLOW);
  assert_int_equal(por_tree_count(t), 2);
  assert_int_equal(por_tree_finish(t, &root), -ERR_INVALID_ARGUMENT);
  por_tree_free(t);
  /* The same deep in a tree with full batches: 100 holders, the last one overflowing. */
  assert_int_equal(por_tree_new(10, rid, key, NULL, &t), 0);
  for (unsigned i = 0; i < 99; i++)
    assert_int_equal(por_tree_push(t, "x", 1, i == 70 ? max - 5000 : 1), 0);
  assert_int_equal(por_tree_push(t, "y", 1, 5000), -ERR_POR_OVERFLOW);
  assert_int_equal(por_tree_finish(t, &root), -ERR_INVALID_ARGUMENT);
  por_tree_free(t);
  uint8_t hh[2][32] = {{1}, {2}};
  por_u128 bal[2] = {max - 1, 2};
  assert_int_equal(por_tree_build_mem(1, rid, key, (const uint8_t(*)[32])hh, bal, 2, &root),
                   -ERR_POR_OVERFLOW);
  bal[1] = 1; /* exactly 2^128 - 1: fine */
  assert_int_equal(por_tree_build_mem(1, rid, key, (const uint8_t(*)[32])hh, bal, 2, &root), 0);
  assert_true(root.sum == max);
  /* Negative balances. */
  assert_int_equal(por_tree_new(1, rid, key, NULL, &t), 0);
  assert_int_equal(por_tree_push_signed(t, "a", 1, -1), -ERR_POR_NEGATIVE);
  assert_int_equal(por_tree_count(t), 0);
  assert_int_equal(por_tree_push_signed(t, "a", 1, 5), 0);
  /* Too many leaves for the height. */
  assert_int_equal(por_tree_push_signed(t, "b", 1, 6), 0);
  assert_int_equal(por_tree_push(t, "c", 1, 7), -ERR_POR_HEIGHT);
  assert_int_equal(por_tree_count(t), 2);
  por_tree_free(t);
  assert_int_equal(por_tree_new(POR_HEIGHT_MAX + 1, rid, key, NULL, &t), -ERR_POR_HEIGHT);
  uint8_t hh3[3][32] = {{1}, {2}, {3}};
  por_u128 bal3[3] = {1, 2, 3};
  assert_int_equal(por_tree_build_mem(1, rid, key, (const uint8_t(*)[32])hh3, bal3, 3, &root),
                   -ERR_POR_HEIGHT);
  por_tree_free(NULL);
}

/* The text form: exact bytes, and anything but the canonical form refused. */
static void test_text(void **state)
{
  (void)state;
  struct por_proof p, q;
  memset(&p, 0, sizeof p);
  p.height = 1;
  p.index = 1;
  p.balance = 42;
  memset(p.round_id, 0xab, 32);
  memset(p.salt, 0x01, 32);
  memset(p.holder_hash, 0xff, 32);
  memset(p.sib[0].hash, 0x10, 32);
  p.sib[0].sum = ~(por_u128)0;
  char text[POR_PROOF_TEXT_MAX];
  int n = por_proof_format(&p, text, sizeof text);
  char want[1024];
  snprintf(want, sizeof want,
           "{\"balance\":\"42\",\"height\":1,\"holder\":\"%s\",\"index\":1,\"round_id\":\"%s\","
           "\"salt\":\"%s\",\"siblings\":[{\"hash\":\"%s\",\"sum\":"
           "\"340282366920938463463374607431768211455\"}]}",
           "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
           "abababababababababababababababababababababababababababababababab",
           "0101010101010101010101010101010101010101010101010101010101010101",
           "1010101010101010101010101010101010101010101010101010101010101010");
  assert_string_equal(text, want);
  assert_int_equal(n, (int)strlen(want));
  assert_int_equal(por_proof_parse(text, (size_t)n, &q), 0);
  assert_memory_equal(&p, &q, sizeof p);
  assert_int_equal(por_proof_format(&p, text, 100), -ERR_TOO_LONG);

  struct {
    const char *from, *to;
    int rc;
  } bad[] = {
      {"\"42\"", "\"042\"", -ERR_POR_PROOF},
      {"\"42\"", "\"-42\"", -ERR_POR_NEGATIVE},
      {"\"42\"", "42", -ERR_POR_PROOF},
      {"\"42\"", "\"\"", -ERR_POR_PROOF},
      {"\"340282366920938463463374607431768211455\"", "\"340282366920938463463374607431768211456\"",
       -ERR_POR_OVERFLOW},
      {"\"height\":1", "\"height\":41", -ERR_POR_HEIGHT},
      {"\"height\":1", "\"height\":2", -ERR_POR_PROOF}, /* one sibling short */
      {"\"index\":1", "\"index\":2", -ERR_POR_PROOF},   /* out of range */
      {"\"index\":1", "\"index\": 1", -ERR_POR_PROOF},
      {"ffff", "FFFF", -ERR_POR_PROOF},
      {"}]}", "}]} ", -ERR_POR_PROOF},
      {"{\"balance\"", "{\"Balance\"", -ERR_POR_PROOF},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char mod[1100];
    const char *at = strstr(want, bad[i].from);
    assert_non_null(at);
    int m = snprintf(mod, sizeof mod, "%.*s%s%s", (int)(at - want), want, bad[i].to,
                     at + strlen(bad[i].from));
    memset(&q, 0x5a, sizeof q);
    if (por_proof_parse(mod, (size_t)m, &q) != bad[i].rc)
      fail_msg("case %zu: %d, want %d", i, por_proof_parse(mod, (size_t)m, &q), bad[i].rc);
    assert_int_equal(q.height, 0x5a5a5a5au); /* untouched */
  }
  for (int cut = 0; cut < n; cut++) /* every prefix refused */
    assert_int_not_equal(por_proof_parse(text, (size_t)cut, &q), 0);
  assert_int_equal(por_proof_parse(text, POR_PROOF_TEXT_MAX + 1, &q), -ERR_TOO_LONG);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_roots),
      cmocka_unit_test(test_salts), /* the ChaCha20 salts */
      cmocka_unit_test(test_every_proof),
      cmocka_unit_test(test_stream_equals_memory),
      cmocka_unit_test(test_sibling_sum_attack),
      cmocka_unit_test(test_tamper),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_text),
  };
  return cmocka_run_group_tests_name("por_tree", tests, setup, NULL);
}
