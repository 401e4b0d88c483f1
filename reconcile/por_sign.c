/* por_sign.c: placeholder, written by its slice this session. */
typedef int por_sign_placeholder;
