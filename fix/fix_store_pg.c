/* fix_store_pg.c: being written. */
#include "fix/fix.h"
