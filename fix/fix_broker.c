/* fix_broker.c: being written. */
#include "fix/fix.h"
