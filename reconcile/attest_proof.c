/*
 * attest_proof.c: a holder's inclusion proof out of an attestation's
 * files without rebuilding its tree (what GET
 * /v1/attestations/{id}/proofs/{isin}/{holder} serves, in O(log N + H)
 * reads instead of N hashes).
 *
 * attest.c writes, per ISIN, the holder export holders/<ISIN>.txt (header,
 * then "<holder> <balance>" lines in address order), levels/<ISIN>.levels
 * (the tree's nodes, docs/por-tree.md) and levels/<ISIN>.offsets (the
 * export's byte offset of each holder's line, 8 bytes big-endian, in
 * leaf order).  The holder is found by binary search over the offsets,
 * its line read back, and the tree reopened from the levels file
 * (por_tree_open) for por_tree_proof.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "reconcile/attest_int.h"
#include "reconcile/por_bytes.h"

#define LINE_MAX_BYTES 256

/* Line @k of the export (via the offsets file): holder and balance. */
static int line_at(int hfd, int ofd, uint64_t k, char *holder, size_t hcap, por_u128 *bal)
{
  uint8_t be[8];
  char line[LINE_MAX_BYTES + 1];
  if (pread(ofd, be, sizeof be, (off_t)(k * 8)) != (ssize_t)sizeof be)
    return -ERR_IO;
  ssize_t got = pread(hfd, line, LINE_MAX_BYTES, (off_t)por_get_u64be(be));
  if (got <= 0)
    return -ERR_IO;
  line[got] = '\0';
  char *nl = strchr(line, '\n');
  if (nl == NULL)
    return -ERR_POR_MISMATCH;
  *nl = '\0';
  return attest_holders_line(line, holder, hcap, bal) == 0 ? 0 : -ERR_POR_MISMATCH;
}

int attest_proof_levels(const char *dir, const char *isin, const char *holder,
                        struct por_proof *proof, struct por_node *root)
{
  char path[ATTEST_PATH_MAX + 64], hdr[LINE_MAX_BYTES * 2], hisin[16] = "";
  uint8_t rid[POR_ROUND_ID_LEN], key[POR_KEY_LEN];
  unsigned height = 0, decimals = 0;
  int hfd = -1, ofd = -1, rc = 0;
  FILE *lv = NULL;
  struct stat st;
  snprintf(path, sizeof path, "%s/holders/%s.txt", dir, isin);
  hfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  snprintf(path, sizeof path, "%s/levels/%s.offsets", dir, isin);
  ofd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  snprintf(path, sizeof path, "%s/levels/%s.levels", dir, isin);
  lv = fopen(path, "rb");
  if (hfd < 0 || ofd < 0 || lv == NULL || fstat(ofd, &st) != 0 || st.st_size % 8 != 0) {
    rc = -ERR_IO;
    goto out;
  }
  ssize_t got = pread(hfd, hdr, sizeof hdr - 1, 0);
  char *nl = got > 0 ? memchr(hdr, '\n', (size_t)got) : NULL;
  if (nl == NULL) {
    rc = -ERR_POR_MISMATCH;
    goto out;
  }
  *nl = '\0';
  if (attest_holders_header(hdr, hisin, rid, key, &height, &decimals) != 0 ||
      strcmp(hisin, isin) != 0) {
    rc = -ERR_POR_MISMATCH;
    goto out;
  }
  /* the first line whose holder is not below @holder */
  uint64_t n = (uint64_t)st.st_size / 8, lo = 0, hi = n;
  char h[LINE_MAX_BYTES];
  por_u128 bal = 0;
  while (lo < hi && rc == 0) {
    uint64_t mid = lo + (hi - lo) / 2;
    if ((rc = line_at(hfd, ofd, mid, h, sizeof h, &bal)) == 0) {
      if (strcmp(h, holder) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  }
  if (rc == 0 &&
      (lo == n || (rc = line_at(hfd, ofd, lo, h, sizeof h, &bal)) != 0 || strcmp(h, holder) != 0))
    rc = rc != 0 ? rc : -ERR_API_NOT_FOUND;
  struct por_tree *t = NULL;
  if (rc == 0)
    rc = por_tree_open(height, rid, key, n, lv, &t, root);
  if (rc == 0) {
    uint8_t hh[POR_HASH_LEN];
    crypto_hash_sha256(hh, (const uint8_t *)holder, strlen(holder));
    rc = por_tree_proof(t, lo, hh, bal, proof);
  }
  por_tree_free(t);
out:
  sodium_memzero(key, sizeof key);
  if (hfd >= 0)
    close(hfd);
  if (ofd >= 0)
    close(ofd);
  if (lv != NULL)
    fclose(lv);
  return rc;
}
