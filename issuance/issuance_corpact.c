/* issuance_corpact.c: placeholder, written by its slice this session. */
typedef int issuance_corpact_placeholder;
