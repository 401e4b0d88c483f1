/*
 * reconcile: reconciliation and proof of reserves (issue 6;
 * ../shared/docs/CUSTODY_POR.md).  The Merkle sum tree over holder
 * balances and its inclusion proofs, the attestation keys and signatures,
 * and (later) the reconciler itself.
 *
 * Conventions as in common.h: 0 (or a count) on success, a negated error
 * of common_errors.h (block 9000, POR_*) on failure; out-values only
 * written on success.
 */
#ifndef BACKSTOCK_RECONCILE_H
#define BACKSTOCK_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/common.h"

/* ================================================================== */
/* Merkle sum tree (por_tree*.c) -- tree helper                        */
/* ================================================================== */

/*
 * A Merkle sum tree over one ISIN's holder balances for one round, as
 * CUSTODY_POR.md prescribes (encodings in docs/por-tree.md):
 *
 *   leaf  = SHA256(0x00 | round_id | salt_u | SHA256(holder_id) | u128be(balance))
 *   inner = SHA256(0x01 | u128be(L.sum) | u128be(R.sum) | L.hash | R.hash)
 *   pad   = SHA256(0x02 | round_id | u64be(index) | salt_index), sum 0
 *
 * The height H is fixed (2^H leaf slots).  An empty subtree is one pad
 * node whose index is its heap number (root 1, node at height l and
 * position j: 2^(H-l) + j), so padding costs at most H hashes.  Salts:
 * crypto_kdf_derive_from_key (BLAKE2b) from the 32-byte round key, context
 * "bspor_u_" with the holder's index for salt_u, "bspor_p_" with the heap
 * number for salt_index.
 *
 * Built streaming: leaves pushed in order, one pending node per level
 * (memory O(H)); every complete node is appended (48 bytes: hash,
 * u128be sum) to a caller-given file in creation order, from which a
 * proof's siblings are read back.
 */
#define POR_HASH_LEN     32
#define POR_ROUND_ID_LEN 32
#define POR_KEY_LEN      32
#define POR_SALT_LEN     32
/* Largest height: 2^40 leaves (heap numbers fit in u64). */
#define POR_HEIGHT_MAX 40
/* Longest text form of a proof (por_proof_format / por_proof_parse). */
#define POR_PROOF_TEXT_MAX 8192
/* Size of a message buffer for por_proof_verify that never truncates. */
#define POR_MSG_MAX 256

typedef unsigned __int128 por_u128;

/* A node: its hash and the sum of the balances below it. */
struct por_node {
  uint8_t hash[POR_HASH_LEN];
  por_u128 sum;
};

/* An inclusion proof: the leaf's preimage parts and its H siblings, leaf level first. */
struct por_proof {
  unsigned height;
  uint64_t index;
  uint8_t round_id[POR_ROUND_ID_LEN];
  uint8_t salt[POR_SALT_LEN];
  uint8_t holder_hash[POR_HASH_LEN];
  por_u128 balance;
  struct por_node sib[POR_HEIGHT_MAX];
};

struct por_tree;

/*
 * The round id of a tree: SHA256("backstock/por/round/v1" 0x00 | isin 0x00 | as_of), with
 * @isin the 12-character ISIN and @as_of the cut-off in RFC 3339 UTC (NUL-terminated, each
 * at most 64 bytes).  Returns 0 or -ERR_INVALID_ARGUMENT.
 */
int por_round_id(const char *isin, const char *as_of, uint8_t out[POR_ROUND_ID_LEN]);

/*
 * A round key from a long-lived @master key: keyed BLAKE2b-256 (crypto_generichash, key
 * @master) of "backstock/por/round-key/v1" 0x00 | round_id.  The caller wipes @out.
 */
void por_round_key(const uint8_t master[POR_KEY_LEN], const uint8_t round_id[POR_ROUND_ID_LEN],
                   uint8_t out[POR_KEY_LEN]);

/* salt_u of the holder at @index (crypto_kdf, context "bspor_u_"). */
void por_salt_holder(const uint8_t key[POR_KEY_LEN], uint64_t index, uint8_t out[POR_SALT_LEN]);

/* The hash of a leaf from its preimage parts. */
void por_leaf_hash(const uint8_t round_id[POR_ROUND_ID_LEN], const uint8_t salt[POR_SALT_LEN],
                   const uint8_t holder_hash[POR_HASH_LEN], por_u128 balance,
                   uint8_t out[POR_HASH_LEN]);

/* The pad node with heap number @heap (sum 0; salt_index from context "bspor_p_"). */
void por_pad(const uint8_t round_id[POR_ROUND_ID_LEN], const uint8_t key[POR_KEY_LEN],
             uint64_t heap, struct por_node *out);

/* The parent of @l and @r into @out (may alias); -ERR_POR_OVERFLOW when the sum passes u128. */
int por_inner(const struct por_node *l, const struct por_node *r, struct por_node *out);

/*
 * Starts a tree of height @height (0..POR_HEIGHT_MAX) for @round_id with the secret @key
 * (copied; wiped by por_tree_free).  @levels: a file open for reading and writing, positioned
 * at its start, where nodes are appended (NULL: root only, no proofs); borrowed, must outlive
 * the tree.  Returns 0, -ERR_POR_HEIGHT or -ERR_NOMEM; *out freed with por_tree_free().
 */
int por_tree_new(unsigned height, const uint8_t round_id[POR_ROUND_ID_LEN],
                 const uint8_t key[POR_KEY_LEN], FILE *levels, struct por_tree **out);

/* Frees @t (NULL: nothing), wiping the key; the levels file stays the caller's. */
void por_tree_free(struct por_tree *t);

/*
 * Appends the next holder (index = number pushed before): @holder_id bytes (hashed with
 * SHA-256) and @balance.  Returns 0, -ERR_POR_HEIGHT (2^H holders already), -ERR_POR_OVERFLOW,
 * -ERR_IO (levels file) or -ERR_INVALID_ARGUMENT (after finish); after an error the tree only
 * accepts por_tree_free().
 */
int por_tree_push(struct por_tree *t, const void *holder_id, size_t id_len, por_u128 balance);

/* As por_tree_push with the SHA-256 of the holder id already computed. */
int por_tree_push_hashed(struct por_tree *t, const uint8_t holder_hash[POR_HASH_LEN],
                         por_u128 balance);

/* As por_tree_push with a signed balance: a negative one is -ERR_POR_NEGATIVE (tree unchanged). */
int por_tree_push_signed(struct por_tree *t, const void *holder_id, size_t id_len,
                         __int128 balance);

/*
 * Closes the tree (pads the rest to height H), flushes the levels file and gives the root.
 * Returns 0, -ERR_POR_OVERFLOW, -ERR_IO or -ERR_INVALID_ARGUMENT (already finished or failed).
 */
int por_tree_finish(struct por_tree *t, struct por_node *root);

/* Leaves pushed so far. */
uint64_t por_tree_count(const struct por_tree *t);

/*
 * The inclusion proof of holder @index of a finished tree with a levels file; the caller
 * gives the holder's id hash and balance (from its export), which must match the stored
 * leaf.  Returns 0, -ERR_INVALID_ARGUMENT (not finished, no file, index out of range),
 * -ERR_POR_PROOF (the leaf differs) or -ERR_IO.
 */
int por_tree_proof(struct por_tree *t, uint64_t index, const uint8_t holder_hash[POR_HASH_LEN],
                   por_u128 balance, struct por_proof *out);

/*
 * Builds the same tree in memory (all levels; O(n) memory), for tests and small sets.
 * @holder_hashes: @n hashes; @balances: @n balances.  Returns 0, -ERR_POR_HEIGHT,
 * -ERR_POR_OVERFLOW or -ERR_NOMEM.
 */
int por_tree_build_mem(unsigned height, const uint8_t round_id[POR_ROUND_ID_LEN],
                       const uint8_t key[POR_KEY_LEN], const uint8_t (*holder_hashes)[POR_HASH_LEN],
                       const por_u128 *balances, uint64_t n, struct por_node *root);

/*
 * Checks @p against the published root (@root_hash, @root_sum = liabilities) and @height.
 * Returns 0, or -ERR_POR_PROOF with what differs (and at which level) in @msg (may be NULL).
 */
int por_proof_verify(const struct por_proof *p, const uint8_t root_hash[POR_HASH_LEN],
                     por_u128 root_sum, unsigned height, char *msg, size_t msg_cap);

/*
 * The proof's text form (canonical JSON, docs/por-tree.md) into @buf with a NUL.  Returns the
 * length, or -ERR_TOO_LONG (POR_PROOF_TEXT_MAX always suffices).
 */
int por_proof_format(const struct por_proof *p, char *buf, size_t cap);

/*
 * Parses exactly the canonical text form (outside input; @len bytes, no NUL needed).
 * Returns 0, -ERR_TOO_LONG, -ERR_POR_NEGATIVE (a signed sum), -ERR_POR_OVERFLOW (a sum past
 * u128), -ERR_POR_HEIGHT or -ERR_POR_PROOF (anything else); *out written only on success.
 */
int por_proof_parse(const char *text, size_t len, struct por_proof *out);

/* Writes @v in decimal with a NUL into @buf (at least 40 bytes); returns the length. */
int por_u128_format(por_u128 v, char *buf, size_t cap);

/* ================================================================== */
/* Attestation keys and signatures (por_sign*.c) -- signing helper     */
/* ================================================================== */

/*
 * An attestation document (docs/attestation.md) is canonical JSON:
 *   {"payload":<P>,"signature":{"alg":"ed25519","key_id":"<16 hex>","sig":"<base64>"}}
 * where <P> is a JSON object in canonical form (api_json_canonical()) and
 * sig is Ed25519 (crypto_sign_detached) over POR_SIGN_DOMAIN followed by
 * the bytes of <P>.  Keys live outside the database in a key directory
 * (por_sign_keys.c): <key_id>.key (the 32-byte seed, 0600), <key_id>.pub
 * (text, validity times), and "current" (the key id that signs).
 */
#define POR_SIGN_DOMAIN  "backstock-attestation-v1\n"
#define POR_KEY_ID_LEN   16   /* hex digits: the first 8 bytes of SHA-256(public key) */
#define POR_SIG_B64_LEN  88   /* standard base64 of 64 bytes, with padding */
#define POR_PK_B64_LEN   44   /* standard base64 of 32 bytes, with padding */
#define POR_HASH_HEX_LEN 64   /* SHA-256 as lower-case hex */
#define POR_KEYS_MAX     1024 /* keys a directory may hold */
/* A validity end that is not set (the key is still valid). */
#define POR_TIME_NONE INT64_MIN

/* A public key of the key store, as published. */
struct por_pubkey {
  char key_id[POR_KEY_ID_LEN + 1];
  uint8_t pk[32];
  int64_t not_before_ms; /* Unix milliseconds */
  int64_t not_after_ms;  /* POR_TIME_NONE: not retired */
  bool current;          /* the key that signs now */
};

/*
 * A canonicaliser of JSON text, as api_json_canonical(): @json
 * NUL-terminated; *out malloc'd (free()), NUL-terminated.  Returns 0 or a
 * negative error (not JSON ...).  Passed in because reconcile must not
 * depend on api (api depends on reconcile for the keys endpoint).
 */
typedef int (*por_canon_fn)(const char *json, char **out, size_t *out_len);

/* A loaded signing key: the secret lives in sodium_malloc'd memory. */
struct por_signer;

/** por_key_id() - the key id of @pk: the first 16 hex digits of SHA-256(@pk). */
void por_key_id(const uint8_t pk[32], char id[POR_KEY_ID_LEN + 1]);

/**
 * por_signer_from_seed() - a signer of the key pair of @seed
 * (crypto_sign_seed_keypair); for tests and known answers.
 * Returns 0 or -ERR_NOMEM.  Free with por_signer_free().
 */
int por_signer_from_seed(const uint8_t seed[32], struct por_signer **out);

/**
 * por_signer_open() - the current key of the key directory @dir: the
 * "current" file names it; its secret file must be a regular file of
 * ours, mode 0600 or stricter, and match the public key file.  The
 * directory must be ours and closed to group and others.
 * Returns 0, -ERR_POR_KEY (missing, permissions, mismatch: logged with
 * the reason) or -ERR_NOMEM.  Free with por_signer_free().
 */
int por_signer_open(const char *dir, struct por_signer **out);

/** por_signer_free() - wipe and free; NULL does nothing. */
void por_signer_free(struct por_signer *s);

/** por_signer_key_id() - the signer's key id (borrowed). */
const char *por_signer_key_id(const struct por_signer *s);

/** por_signer_public() - the signer's public key (borrowed, 32 bytes). */
const uint8_t *por_signer_public(const struct por_signer *s);

/**
 * por_attest_sign() - the attestation document of @payload (@len bytes, a
 * JSON object that must already be canonical: canon(@payload) gives the
 * same bytes).
 * @doc: receives the document, malloc'd and NUL-terminated (free()).
 * Returns 0, -ERR_POR_CANONICAL (not JSON, not an object, or not
 * canonical) or -ERR_NOMEM.
 */
int por_attest_sign(const struct por_signer *s, const char *payload, size_t len, por_canon_fn canon,
                    char **doc, size_t *doc_len);

/**
 * por_attest_verify() - check an attestation document: its exact
 * canonical shape, that its payload is canonical, that the key id is one
 * of @keys (@n of them) and the signature verifies with it.
 * @payload, @payload_len: receive where the payload lies in @doc (may be
 * NULL).  @key: receives the key that verified (may be NULL).
 * Returns 0, -ERR_POR_CANONICAL (not the document's canonical shape, or
 * the payload not canonical) or -ERR_POR_SIGNATURE (unknown key id, bad
 * signature).
 */
int por_attest_verify(const char *doc, size_t len, const struct por_pubkey *keys, size_t n,
                      por_canon_fn canon, const char **payload, size_t *payload_len,
                      const struct por_pubkey **key);

/**
 * por_attest_hash() - the hash of an attestation document, for the next
 * one's "previous" member: SHA-256 of its canonical bytes (canon(@doc)),
 * lower-case hex.  Returns 0 or -ERR_POR_CANONICAL (not JSON).
 */
int por_attest_hash(const char *doc, size_t len, por_canon_fn canon,
                    char hex[POR_HASH_HEX_LEN + 1]);

/**
 * por_key_ensure() - make the key directory @dir (mode 0700; its parent
 * must exist) and, when it has no current key, generate one valid from
 * @now_ms.  An existing directory must be ours and closed to group and
 * others.  @created (may be NULL): whether a key was made.
 * Returns 0, -ERR_POR_KEY (logged) or -ERR_IO.
 */
int por_key_ensure(const char *dir, int64_t now_ms, bool *created);

/**
 * por_key_rotate() - a new current key valid from @now_ms: the old
 * current key's public file gets not_after = @now_ms (it still verifies
 * what it signed) and its secret file is wiped and removed.  The
 * "current" file is replaced atomically (temp file, fsync, rename).  A
 * store without a key (or directory) just gets its first key.
 * @new_id: receives the new key id (may be NULL).
 * Returns 0, -ERR_POR_KEY or -ERR_IO.
 */
int por_key_rotate(const char *dir, int64_t now_ms, char new_id[POR_KEY_ID_LEN + 1]);

/**
 * por_keys_load() - every public key of @dir, oldest not_before first
 * (then by key id), the current one marked.
 * @keys: receives a malloc'd array (free()); NULL when @n is 0.
 * Returns 0, -ERR_POR_KEY (an unreadable or malformed public key file,
 * the directory missing) or -ERR_NOMEM.
 */
int por_keys_load(const char *dir, struct por_pubkey **keys, size_t *n);

/**
 * por_keys_document() - the public keys document (canonical JSON):
 * {"keys":[{"alg":"ed25519","current":B,"key_id":"..","not_after":T|null,
 * "not_before":T,"public_key":"<base64>"}]}, times RFC 3339 UTC with
 * milliseconds.  @json: receives malloc'd NUL-terminated text (free()).
 * Returns 0 or -ERR_NOMEM.
 */
int por_keys_document(const struct por_pubkey *keys, size_t n, char **json, size_t *len);

/* ================================================================== */
/* The reconciler (recon*.c) -- reconciler helper                      */
/* ================================================================== */

/* (declarations of the reconciler slice) */

/* ================================================================== */
/* Attestations: build, publish, verify (attest*.c) -- attest helper   */
/* ================================================================== */

/* (declarations of the attestation slice) */

#endif
