/*
 * Internals shared by the files of the common module.
 */
#ifndef BACKSTOCK_COMMON_INT_H
#define BACKSTOCK_COMMON_INT_H

/* 10^0 .. 10^19, for the initializers of util_pow10 (64-bit) and of the
   money module's 128-bit table, which continues past 10^19. */
#define COMMON__POW10_0_19                                                                         \
  1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL, 100000000ULL,        \
      1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL, 10000000000000ULL,         \
      100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,        \
      1000000000000000000ULL, 10000000000000000000ULL

#endif
