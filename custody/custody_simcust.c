/* custody_simcust.c: being written. */
#include "custody/custody.h"
