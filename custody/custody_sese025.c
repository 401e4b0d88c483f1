/* custody_sese025.c: being written. */
#include "custody/custody.h"
