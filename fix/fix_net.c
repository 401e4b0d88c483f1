/* fix_net.c: being written. */
#include "fix/fix.h"
