/*
 * Default limits on custodian input: generous enough for a statement of
 * a million positions, small enough that hostile input cannot exhaust
 * memory or disk.
 */
#include "custody/custody.h"

void custody_limits_default(struct custody_limits *l)
{
  l->max_bytes = 512ull * 1024 * 1024;
  l->max_depth = 64;
  l->max_text = 4096;
  l->max_positions = 10000000;
}
