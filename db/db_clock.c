/* db_clock.c: placeholder, written by the clock slice this session. */
typedef int db_clock_placeholder;
