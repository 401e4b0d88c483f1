/* issuance_settle.c: placeholder, written by its slice this session. */
typedef int issuance_settle_placeholder;
