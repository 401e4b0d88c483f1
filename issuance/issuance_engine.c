/* issuance_engine.c: placeholder, written by its slice this session. */
typedef int issuance_engine_placeholder;
