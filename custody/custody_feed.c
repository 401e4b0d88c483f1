/* custody_feed.c: being written. */
#include "custody/custody.h"
