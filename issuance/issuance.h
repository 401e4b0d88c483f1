/* issuance: books, orders and settlement; being written. */
#ifndef BACKSTOCK_ISSUANCE_H
#define BACKSTOCK_ISSUANCE_H
#endif
