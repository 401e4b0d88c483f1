/* chain_builtin.c: being written. */
#include "chain/chain.h"
