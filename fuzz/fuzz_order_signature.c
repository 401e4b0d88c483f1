/*
 * libFuzzer harness for order_sig_header_parse(), the parser of the
 * X-Backstock-Signature header an AP sends with a signed order
 * instruction (issuance/issuance_participants.c).
 *
 * Invariants checked, abort() on any breach: it never crashes or reads
 * out of bounds (ASan; the input is not NUL-terminated); a refusal is
 * always -ERR_ORDER_SIGNATURE and writes nothing; an accepted text is at
 * most ORDER_SIG_HEADER_MAX bytes, has a key id of 1 or more, and is
 * exactly the one canonical text of what it parsed to ("keyid=" decimal
 * ",sig=" padded standard base64), so no two texts mean the same
 * signature; and the same bytes as a C string give the same answer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "issuance/issuance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
  if (!ok)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  int64_t id = -5;
  unsigned char sig[64], sig2[64];
  memset(sig, 0xa5, sizeof sig);
  int rc = order_sig_header_parse((const char *)data, size, &id, sig);
  if (rc != 0) {
    check(rc == -ERR_ORDER_SIGNATURE);
    check(id == -5);
    for (size_t i = 0; i < sizeof sig; i++)
      check(sig[i] == 0xa5);
  } else {
    char b64[ORDER_SIG_B64_LEN + 1], again[ORDER_SIG_HEADER_MAX + 64];
    check(size <= ORDER_SIG_HEADER_MAX);
    check(id >= 1);
    sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(again, sizeof again, "keyid=%lld,sig=%s", (long long)id, b64);
    check(n > 0 && (size_t)n == size && memcmp(again, data, size) == 0);
  }
  /* As a C string (cut at a NUL inside, if any): the same answer for the same text. */
  char *s = malloc(size + 1);
  check(s != NULL);
  memcpy(s, data, size);
  s[size] = '\0';
  int64_t id2 = -5;
  int rc2 = order_sig_header_parse(s, strlen(s), &id2, sig2);
  if (strlen(s) == size) {
    check(rc2 == rc);
    check(rc != 0 || (id2 == id && memcmp(sig2, sig, sizeof sig) == 0));
  }
  free(s);
  return 0;
}
