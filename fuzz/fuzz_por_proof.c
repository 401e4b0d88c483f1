/*
 * libFuzzer harness for por_proof_parse(), the parser of a holder's
 * inclusion proof (outside input: a holder or an auditor hands it back).
 *
 * Invariants checked, abort() on any breach: the answer is 0 or one of the
 * documented errors; on error the out-value is left untouched; on success
 * por_proof_format() writes back exactly the input bytes (the parser
 * accepts only the canonical form), and por_proof_verify() against a fixed
 * root answers 0 or -ERR_POR_PROOF with a NUL-terminated message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/reconcile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct por_proof p;
  memset(&p, 0x77, sizeof p);
  int rc = por_proof_parse((const char *)data, size, &p);
  if (rc != 0) {
    if (rc != -ERR_TOO_LONG && rc != -ERR_POR_NEGATIVE && rc != -ERR_POR_OVERFLOW &&
        rc != -ERR_POR_HEIGHT && rc != -ERR_POR_PROOF)
      abort();
    for (size_t i = 0; i < sizeof p; i++)
      if (((const uint8_t *)&p)[i] != 0x77)
        abort();
    return 0;
  }
  if (p.height > POR_HEIGHT_MAX || p.index >> p.height != 0)
    abort();
  static char text[POR_PROOF_TEXT_MAX];
  int n = por_proof_format(&p, text, sizeof text);
  if (n < 0 || (size_t)n != size || memcmp(text, data, size) != 0)
    abort();
  static const uint8_t root[POR_HASH_LEN] = {1, 2, 3};
  char msg[POR_MSG_MAX];
  memset(msg, 'x', sizeof msg);
  rc = por_proof_verify(&p, root, p.balance, p.height, msg, sizeof msg);
  if ((rc != 0 && rc != -ERR_POR_PROOF) || memchr(msg, '\0', sizeof msg) == NULL)
    abort();
  return 0;
}
