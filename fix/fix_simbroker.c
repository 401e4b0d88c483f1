/* fix_simbroker.c: being written. */
#include "fix/fix.h"
