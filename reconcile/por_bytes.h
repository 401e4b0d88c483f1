/*
 * por_bytes.h: big-endian u64 store and load for the tree's encodings and
 * the attestation files (por_tree.c, attest.c, attest_proof.c): one byte
 * swap on a little-endian host.
 */
#ifndef BACKSTOCK_POR_BYTES_H
#define BACKSTOCK_POR_BYTES_H

#include <stdint.h>
#include <string.h>

static inline void por_put_u64be(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  v = __builtin_bswap64(v);
  memcpy(p, &v, 8);
#else
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = (uint8_t)v;
#endif
}

static inline uint64_t por_get_u64be(const uint8_t *p)
{
  uint64_t v;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  memcpy(&v, p, 8);
  v = __builtin_bswap64(v);
#else
  v = (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 | (uint64_t)p[3] << 32 |
      (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 | (uint64_t)p[6] << 8 | p[7];
#endif
  return v;
}

#endif
