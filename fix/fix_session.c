/* fix_session.c: being written. */
#include "fix/fix.h"
