/* recon.c: placeholder, written by its slice this session. */
typedef int recon_placeholder;
