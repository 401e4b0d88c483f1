/*
 * Helpers shared by the benchmarks: a fixed-seed generator, so every run
 * measures the same operands.
 */
#ifndef BACKSTOCK_BENCH_UTIL_H
#define BACKSTOCK_BENCH_UTIL_H

#include <stdint.h>

/* xorshift64 from a fixed seed: the same sequence on every run. */
static inline uint64_t xorshift64(void)
{
  static uint64_t state = 0x9E3779B97F4A7C15ULL;
  uint64_t x = state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  state = x;
  return x;
}

#endif
