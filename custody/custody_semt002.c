/* custody_semt002.c: being written. */
#include "custody/custody.h"
