/* issuance_participants.c: placeholder, written by its slice this session. */
typedef int issuance_participants_placeholder;
