/* issuance_books.c: being written. */
#include "issuance/issuance.h"
