/* chain_ledger.c: being written. */
#include "chain/chain.h"
