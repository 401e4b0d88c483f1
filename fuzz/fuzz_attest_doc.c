/*
 * libFuzzer harness for what `backstock audit verify` reads from outside:
 * an attestation document (attest_verify_files(): the canonical-shape and
 * signature check, then the payload walk per ISIN) and the lines of a
 * holder export (attest_holders_header(), attest_holders_line()).
 *
 * The statement and holder folders are empty temporary folders, so each
 * ISIN's check ends at its first file; the document walk, the string and
 * number readers and the error messages are what is exercised.  A fixed
 * public key stands for the published keys (no input carries its
 * signature; the point is the parsing before it).
 *
 * Invariants, abort() on any breach: the answer is 0 or one of the
 * documented errors; the message is NUL-terminated within its buffer; a
 * header or line accepted has a 12-character ISIN / a holder within its
 * buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "reconcile/attest_int.h"
#include "reconcile/reconcile.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64] = "/tmp/fuzz-attest-XXXXXX";
static struct por_pubkey key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  if (mkdtemp(dir) == NULL)
    abort();
  memcpy(key.key_id, "56475aa75463474c", 17);
  for (int i = 0; i < 32; i++)
    key.pk[i] = (uint8_t)(3 * i + 1);
  key.not_after_ms = POR_TIME_NONE;
  return 0;
}

static void check_doc(const char *doc, size_t len, bool with_keys)
{
  char msg[ATTEST_MSG_MAX];
  memset(msg, 'x', sizeof msg);
  int rc = attest_verify_files(doc, len, dir, dir, with_keys ? NULL : "", with_keys ? &key : NULL,
                               with_keys ? 1 : 0, api_json_canonical, msg, sizeof msg);
  if (rc != 0 && rc != -ERR_POR_MISMATCH && rc != -ERR_POR_PROOF && rc != -ERR_POR_SIGNATURE &&
      rc != -ERR_POR_CANONICAL && rc != -ERR_IO && rc != -ERR_POR_OVERFLOW &&
      rc != -ERR_POR_HEIGHT && rc != -ERR_POR_NEGATIVE && rc != -ERR_NOMEM &&
      rc != -ERR_MONEY_OVERFLOW && rc != -ERR_TOO_LONG)
    abort();
  if (memchr(msg, '\0', sizeof msg) == NULL)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size > (1u << 20))
    return 0;
  char *s = malloc(size + 1);
  if (s == NULL)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  check_doc(s, size, true);
  check_doc(s, size, false);
  /* the same bytes as holder-export lines */
  for (char *line = s, *next; line != NULL && *line != '\0'; line = next) {
    next = strchr(line, '\n');
    if (next != NULL)
      *next++ = '\0';
    char isin[16], holder[128];
    uint8_t rid[POR_ROUND_ID_LEN], rkey[POR_KEY_LEN];
    unsigned h = 0, d = 0;
    por_u128 bal = 0;
    if (attest_holders_header(line, isin, rid, rkey, &h, &d) == 0 && strlen(isin) != 12)
      abort();
    if (attest_holders_line(line, holder, sizeof holder, &bal) == 0 &&
        memchr(holder, '\0', sizeof holder) == NULL)
      abort();
  }
  free(s);
  return 0;
}
