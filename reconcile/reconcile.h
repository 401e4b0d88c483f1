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
 * the ChaCha20 keystream (crypto_stream_chacha20: djb's, 64-bit block
 * counter, 8-byte nonce) keyed with the 32-byte round key; salt_u of holder
 * i is keystream bytes [32i, 32i + 32) under the nonce "bspor_u_",
 * salt_index of heap number x bytes [32x, 32x + 32) under "bspor_p_".
 *
 * Built streaming: leaves pushed in order, one pending node per level
 * (memory O(H)); every complete node of height 0 or 3..H is appended (48
 * bytes: hash, u128be sum) to a caller-given file in creation order, from
 * which a proof's siblings are read back (heights 1 and 2 recomputed from
 * their leaves).
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

/* salt_u of the holder at @index (ChaCha20 keystream bytes [32 index, +32), nonce "bspor_u_"). */
void por_salt_holder(const uint8_t key[POR_KEY_LEN], uint64_t index, uint8_t out[POR_SALT_LEN]);

/* The hash of a leaf from its preimage parts. */
void por_leaf_hash(const uint8_t round_id[POR_ROUND_ID_LEN], const uint8_t salt[POR_SALT_LEN],
                   const uint8_t holder_hash[POR_HASH_LEN], por_u128 balance,
                   uint8_t out[POR_HASH_LEN]);

/* The pad node with heap number @heap (sum 0; salt_index from the nonce "bspor_p_"). */
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
 * SHA-256) and @balance.  Returns 0, -ERR_POR_HEIGHT (2^H holders already), -ERR_POR_OVERFLOW
 * (the total of the balances passes 2^128 - 1: every node sum is at most that total), -ERR_IO
 * (levels file) or -ERR_INVALID_ARGUMENT (after finish); after an error the tree only accepts
 * por_tree_free().
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
 * Opens the finished tree of @n holders whose levels file @levels (open for reading) a
 * build wrote, for proofs (por_tree_proof) without pushing the holders again: the right
 * edge and the root are recomputed from O(H) records and pads.  *@root receives the root,
 * which the caller compares with the published one.  Returns 0, -ERR_POR_HEIGHT,
 * -ERR_INVALID_ARGUMENT, -ERR_IO (a short file) or -ERR_NOMEM; *@out freed with
 * por_tree_free() (the file stays the caller's).
 */
int por_tree_open(unsigned height, const uint8_t round_id[POR_ROUND_ID_LEN],
                  const uint8_t key[POR_KEY_LEN], uint64_t n, FILE *levels, struct por_tree **out,
                  struct por_node *root);

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

/*
 * The reconciler (docs/reconcile.md, migrations/0015-reconcile.sql): per
 * ISIN, at each complete custodian statement of basis SETT and update
 * type COMP, a recon_runs row (custodian, our books, the token ledger,
 * settled and contractual coverage) and the breaks it finds
 * (recon_breaks: open, explained, aged_out, resolved).
 */

#include "db/db.h" /* struct db_conn, enum db_qs (here to keep the slice's edits in its section) */

/* What one recon_step() pass did. */
struct recon_stats {
  unsigned runs;        /* (statement, ISIN) pairs reconciled */
  unsigned ok;          /* of which without a break */
  unsigned with_breaks; /* of which with at least one break */
  unsigned open_breaks; /* breaks open or explained after the pass (all ISINs) */
};

/**
 * recon_step() - reconcile every complete SETT/COMP statement not yet
 * reconciled, in cut-off order, each ISIN in one transaction of its own
 * (recon_isin() in SQL); resumes where it stopped (unique (isin,
 * statement)).  @c: outside a transaction.
 * @tolerance_tokens: tolerance on the contractual coverage, in the
 *                    token's base units (0: none; settled shares have none).
 * @st: if not NULL, receives the counts (written also on error).
 * Returns 0, -ERR_DB_HARD, -ERR_DB_CONFLICT, -ERR_DB_CONNECT or
 * -ERR_DB_COMMIT_UNKNOWN.
 */
int recon_step(struct db_conn *c, int64_t tolerance_tokens, struct recon_stats *st);

/* Filters of the lists; NULL or 0: any. */
struct recon_filter {
  const char *isin;
  const char *status; /* runs: ok | breaks; breaks: open | explained | aged_out | resolved */
  const char *klass;  /* breaks only: the class */
  int64_t after;      /* cursor: ids above it */
  unsigned limit;     /* 0: 100 */
};

/**
 * recon_runs_show() / recon_breaks_show() - one line per row (key=value,
 * docs/reconcile.md), id order, into @out.  Returns the number of lines
 * or -ERR_DB_HARD / -ERR_DB_CONNECT.
 */
int recon_runs_show(struct db_conn *c, const struct recon_filter *f, FILE *out);
int recon_breaks_show(struct db_conn *c, const struct recon_filter *f, FILE *out);

/** recon_break_status_valid() - whether @s is a break status an admin may set. */
bool recon_break_status_valid(const char *s);

/**
 * recon_break_resolve_in() - inside the caller's transaction: set break
 * @id to @status ("explained" or "resolved") with @note (1..500 bytes) by
 * @principal (0: the command line).  An explained break may be resolved;
 * a resolved or aged-out one changes no more.
 * @err: receives 0, -ERR_INVALID_ARGUMENT (status, note),
 *       -ERR_API_NOT_FOUND or -ERR_API_CONFLICT (already final).
 * Returns the query status for the runner.
 */
enum db_qs recon_break_resolve_in(struct db_conn *c, int64_t id, const char *status,
                                  const char *note, int64_t principal, int *err);

/* ================================================================== */
/* Attestations: build, publish, verify (attest*.c) -- attest helper   */
/* ================================================================== */

/*
 * An attestation (docs/attestation.md) cites, per ISIN, the latest
 * reconciliation run's figures, the custodian statement's pages, the
 * token ledger at the run's block and the sum tree over every holder's
 * balance there.  attest_build() writes, under <data dir>/attestations/<id>/:
 *   attestation.json         the signed document
 *   holders/<ISIN>.txt       the holder export: a '#' header line, then
 *                            "<holder id> <balance in base units>" per holder
 *   statements/<sha256>.xml  each statement page's raw bytes
 *   levels/<ISIN>.levels     the tree's levels file
 * and inserts the row of table attestations, all in one go.
 */
struct db_conn;

#define ATTEST_HEIGHT_DEFAULT 20
/* Scale of share amounts in the payload (the custodian's unit, as recon_runs' numeric(30, 6)). */
#define ATTEST_SHARE_SCALE 6
#define ATTEST_ISINS_MAX   4096
/* The round master key's file in the attestation key directory. */
#define ATTEST_MASTER_FILE "por-master.secret"
/* Size of a message buffer for the verify functions. */
#define ATTEST_MSG_MAX 1024

/* One ISIN's figures of its latest reconciliation run (amounts exact). */
struct attest_figures {
  char isin[13];
  int64_t statement_id;    /* custody_statements.id */
  int64_t block;           /* the ledger block of the run */
  struct money agg;        /* AGG, shares */
  struct money pend_out;   /* PEND_out, shares */
  struct money penr_in;    /* PENR_in, shares */
  struct money red_owed;   /* RED_owed, shares */
  struct money red_instr;  /* RED_instr, shares */
  struct money mint_owed;  /* MINT_owed, tokens */
  struct money multiplier; /* m, shares per token */
};

/**
 * attest_figures_latest() - the figures of the latest run of each ISIN
 * (table recon_runs of the reconciler; the only place that reads it).
 * @out: malloc'd array (free()), ordered by ISIN; @n its length.
 * Returns 0, -ERR_NOMEM or -ERR_DB_*.
 */
int attest_figures_latest(struct db_conn *c, struct attest_figures **out, size_t *n);

/**
 * attest_master_key() - the round master key kept next to the signing
 * keys: @key_dir/ATTEST_MASTER_FILE (32 random bytes, mode 0600), made
 * when missing.  Round keys derive from it with por_round_key().
 * Returns 0, -ERR_POR_KEY (wrong size or permissions) or -ERR_IO.
 */
int attest_master_key(const char *key_dir, uint8_t out[POR_KEY_LEN]);

/* What attest_build() made. */
struct attest_result {
  int64_t id;
  char hash[POR_HASH_HEX_LEN + 1];
  size_t n_isins;
};

/**
 * attest_build_from() - build, sign, write and store the next attestation
 * over @figs (@n of them, 1..ATTEST_ISINS_MAX).
 * @master: the round master key; @height: tree height (0: the default);
 * @data_dir: the files go under @data_dir/attestations/<id>/.
 * Returns 0, -ERR_INVALID_ARGUMENT (no figures, an unknown ISIN or
 * statement), -ERR_POR_* (tree, signing), -ERR_IO or -ERR_DB_*.
 */
int attest_build_from(struct db_conn *c, const struct por_signer *s,
                      const uint8_t master[POR_KEY_LEN], const char *data_dir, unsigned height,
                      por_canon_fn canon, const struct attest_figures *figs, size_t n,
                      struct attest_result *out);

/**
 * attest_due() - whether a reconciliation run of an instrument is newer
 * (by its clock_now() time) than the latest attestation, or there are runs
 * and no attestation yet: the reconciler's thread then publishes, so runs
 * reconciled just before a crash still get their attestation.
 * Returns 0 (with *@due), -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int attest_due(struct db_conn *c, bool *due);

/**
 * attest_recover() - settle the temporary folders under
 * @data_dir/attestations that a crash left (attest_recover.c): one whose
 * attestation.json is the stored document of its id becomes <id> (counted
 * in *@renamed when not NULL); one of a stored id with another document,
 * or whose <id> exists, is removed; one of an id not stored yet is left (a
 * build may be running) unless older than a day.  attest_build_from()
 * calls it first.  Returns 0, -ERR_IO or a database error.
 */
int attest_recover(struct db_conn *c, const char *data_dir, unsigned *renamed);

/**
 * attest_build() - attest_build_from() over attest_figures_latest();
 * -ERR_POR_NOTHING when no instrument has a reconciliation run yet.
 */
int attest_build(struct db_conn *c, const struct por_signer *s, const uint8_t master[POR_KEY_LEN],
                 const char *data_dir, unsigned height, por_canon_fn canon,
                 struct attest_result *out);

/**
 * attest_get() - the document of attestation @id (0: the latest).
 * @doc: malloc'd NUL-terminated (free()).  Returns 0, -ERR_API_NOT_FOUND or
 * -ERR_DB_*.
 */
int attest_get(struct db_conn *c, int64_t id, int64_t *id_out, char **doc, size_t *len);

/**
 * attest_proof() - the inclusion proof of @holder in the @isin tree of
 * attestation @id, rebuilt from its holder export under @data_dir, as
 * JSON {"isin":..,"proof":<por_proof_format>,"root":..,"sum":..}.
 * @json: malloc'd (free()).  Returns 0, -ERR_API_NOT_FOUND (no such ISIN or
 * holder), -ERR_IO or -ERR_POR_*.
 */
int attest_proof(const char *data_dir, int64_t id, const char *isin, const char *holder,
                 char **json, size_t *len);

/**
 * attest_verify_files() - offline check of an attestation document
 * against the files it cites: signature and canonical form (@keys), per
 * ISIN the statement pages in @stmt_dir (<sha256>.xml: their hashes, the
 * statement hash, AGG recomputed with the semt.002 parser), the tree
 * root, sum and holder count rebuilt from @holders_dir/<ISIN>.txt,
 * liabilities = tree sum, displayed supply and both coverages.
 * @prev_hash: the previous attestation's hash to expect (NULL: not checked).
 * Returns 0, or -ERR_POR_MISMATCH / -ERR_POR_PROOF / -ERR_POR_SIGNATURE /
 * -ERR_POR_CANONICAL / -ERR_IO with the first mismatch in @msg ("<field>: expected X, found Y").
 */
int attest_verify_files(const char *doc, size_t len, const char *stmt_dir, const char *holders_dir,
                        const char *prev_hash, const struct por_pubkey *keys, size_t nkeys,
                        por_canon_fn canon, char *msg, size_t msg_cap);

/**
 * attest_verify_inclusion() - check a proof (por_proof_format text, or
 * the JSON attest_proof() gives) against the tree of the attestation
 * @doc whose round id it carries.  Returns 0 or -ERR_POR_PROOF with why
 * in @msg.
 */
int attest_verify_inclusion(const char *doc, size_t len, const char *proof, size_t plen, char *msg,
                            size_t msg_cap);

#endif
