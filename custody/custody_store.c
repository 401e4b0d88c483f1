/* custody_store.c: being written. */
#include "custody/custody.h"
