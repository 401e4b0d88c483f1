/* custody_semt002_write.c: being written. */
#include "custody/custody.h"
