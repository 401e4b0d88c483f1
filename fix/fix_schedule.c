/* fix_schedule.c: being written. */
#include "fix/fix.h"
