/* chain: the token ledger interface; being written. */
#ifndef BACKSTOCK_CHAIN_H
#define BACKSTOCK_CHAIN_H
#endif
