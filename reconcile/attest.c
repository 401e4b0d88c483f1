/* attest.c: placeholder, written by its slice this session. */
typedef int attest_placeholder;
