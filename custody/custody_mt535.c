/* custody_mt535.c: being written. */
#include "custody/custody.h"
