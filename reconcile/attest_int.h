/*
 * attest_int.h: helpers shared by the attestation files (attest*.c):
 * amounts as payload strings, a reader of members of canonical JSON, the
 * layout of an attestation's folder, small file helpers.
 */
#ifndef BACKSTOCK_ATTEST_INT_H
#define BACKSTOCK_ATTEST_INT_H

#include <stddef.h>

#include "reconcile/reconcile.h"

#define ATTEST_PATH_MAX 1024
/* Longest data folder accepted, and an attestation folder's path. */
#define ATTEST_DATA_DIR_MAX 384
#define ATTEST_DIR_MAX      512

/* A span of JSON text: one value. */
struct attest_span {
  const char *p;
  size_t n;
};

/* @m as the payload writes amounts: canonical decimal, no trailing fraction zeros. */
int attest_amount(struct money m, char *buf, size_t cap);

/* A balance in base units at @decimals as an amount string. */
int attest_base_amount(por_u128 v, unsigned decimals, char *buf, size_t cap);

/* The value of member @name of the object @obj (canonical JSON); 0 or -1 when absent. */
int attest_member(struct attest_span obj, const char *name, struct attest_span *out);

/* Element @i of the array @arr; 0 or -1. */
int attest_element(struct attest_span arr, size_t i, struct attest_span *out);

/* A JSON string value without escapes into @buf (NUL-terminated); 0 or -1. */
int attest_str(struct attest_span v, char *buf, size_t cap);

/* An ISIN's published figures as payload strings (attest_liabilities()). */
struct attest_liab {
  char agg[MONEY_STR_MAX], penr_in[MONEY_STR_MAX], pend_out[MONEY_STR_MAX];
  char raw[MONEY_STR_MAX], multiplier[MONEY_STR_MAX], displayed[MONEY_STR_MAX];
  char red_owed[MONEY_STR_MAX], red_instr[MONEY_STR_MAX], mints_owed[MONEY_STR_MAX];
  char settled[MONEY_STR_MAX], contractual[MONEY_STR_MAX];
};

/*
 * The figures of @f with the tree's @sum (base units at @decimals) as raw
 * supply: displayed = raw x multiplier (rounded up), settled coverage =
 * AGG - (displayed + RED_owed), contractual = (AGG + PENR_in - PEND_out) -
 * (displayed + (RED_owed - RED_instr) + MINT_owed).  0 or a money error.
 */
int attest_liabilities(const struct attest_figures *f, por_u128 sum, unsigned decimals,
                       struct attest_liab *out);

/* Removes the plain files of folder @dir (not sub-folders). */
void attest_rm_files(const char *dir);

/*
 * The inclusion proof of @holder in the @isin tree of the attestation folder @dir, out of its
 * levels and offsets files (attest_proof.c): binary search, then O(H) reads.  *@root: the
 * tree's root as the files give it.  Returns 0, -ERR_API_NOT_FOUND (no such holder), -ERR_IO
 * (a file missing: the caller may rebuild from the export), -ERR_POR_MISMATCH (a malformed
 * export) or a tree error.
 */
int attest_proof_levels(const char *dir, const char *isin, const char *holder,
                        struct por_proof *proof, struct por_node *root);

/* Removes an attestation folder @dir: its statements/, holders/, levels/ and plain files. */
void attest_rm_tree(const char *dir);

/* Makes @path and its missing parents (0700). 0 or -ERR_IO. */
int attest_mkdirs(const char *path);

/* Writes @len bytes to @path atomically (temp file, fsync, rename). 0 or -ERR_IO. */
int attest_write_file(const char *path, const void *buf, size_t len);

/* Parses the header line of a holder export. 0 or -1. */
int attest_holders_header(const char *line, char *isin, uint8_t round_id[POR_ROUND_ID_LEN],
                          uint8_t key[POR_KEY_LEN], unsigned *height, unsigned *decimals);

/* Parses "<holder> <balance>" (holder at most 127 bytes). 0 or -1. */
int attest_holders_line(const char *line, char *holder, size_t hcap, por_u128 *balance);

#endif
