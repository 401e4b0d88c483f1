/*
 * Internals of the fix module shared with its tests and fuzz harness.
 */
#ifndef BACKSTOCK_FIX_INT_H
#define BACKSTOCK_FIX_INT_H

#include "fix/fix.h"

/* Sum of @n bytes mod 256: the FIX CheckSum of what precedes "10=". */
unsigned fix__byte_sum(const char *p, size_t n);

/* The two ways fix_msg_money() reads a decimal: the one-pass fast path
   (returns 1 when it declines) and the general path through money_parse();
   where the fast path answers, both must give the same result. */
int fix__money_fast(const char *s, size_t len, unsigned scale, struct money *out);
int fix__money_general(const char *s, size_t len, unsigned scale, struct money *out);

#endif
