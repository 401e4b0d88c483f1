/* issuance_orders.c: placeholder, written by its slice this session. */
typedef int issuance_orders_placeholder;
