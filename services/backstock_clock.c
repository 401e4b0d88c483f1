/*
 * "backstock clock": show, advance or speed up the one clock
 * (docs/clock.md) on the service's database (db/db_clock.c does the
 * work; this file parses and prints).
 *
 *   backstock clock show              clock <RFC 3339 ms UTC> speed <N> offset <+seconds>
 *   backstock clock advance <N>[s|m|h|d]   forward by N seconds (default unit),
 *                                     minutes, hours or days; never backwards
 *   backstock clock speed <N>         business time runs N times as fast (1..1000000)
 *
 * Each prints the clock after it, as "show" does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "services/backstock_clock.h"

static void usage_all(FILE *out)
{
  fputs("usage: backstock clock show | advance <N>[s|m|h|d] | speed <N>\n"
        "  show                  print the business time: clock <time> speed <N> offset <+s>\n"
        "  advance <N>[s|m|h|d]  move it forward by N seconds (default), minutes, hours or days\n"
        "  speed <N>             let it run N times as fast as the wall clock (1..1000000)\n"
        "The clock never goes backwards.  See docs/clock.md.\n",
        out);
}

static void usage_op(enum backstock_clock_op op, FILE *out)
{
  switch (op) {
  case BACKSTOCK_CLOCK_SHOW:
    fputs("usage: backstock clock show\n"
          "Print the business time of the database, one line:\n"
          "  clock <RFC 3339 UTC, ms> speed <N> offset <+seconds ahead of the wall clock>\n",
          out);
    break;
  case BACKSTOCK_CLOCK_ADVANCE:
    fputs("usage: backstock clock advance <N>[s|m|h|d]\n"
          "Move the business time forward by N seconds (no unit or s), minutes (m), hours (h)\n"
          "or days (d), at most 3660 days; N >= 0: the clock never goes backwards.\n"
          "Prints the clock after the step, as \"clock show\".\n",
          out);
    break;
  case BACKSTOCK_CLOCK_SPEED:
    fputs("usage: backstock clock speed <N>\n"
          "From now on the business time runs N times as fast as the wall clock (1..1000000;\n"
          "1 is normal); the time itself does not jump.  Prints the clock, as \"clock show\".\n",
          out);
    break;
  }
}

/* Decimal digits only, no sign, value <= @max.  Returns 0 or -1. */
static int parse_count(const char *s, size_t len, int64_t max, int64_t *out)
{
  int64_t v = 0;
  if (len == 0 || len > 18)
    return -1;
  for (size_t k = 0; k < len; k++) {
    if (s[k] < '0' || s[k] > '9')
      return -1;
    v = v * 10 + (s[k] - '0');
  }
  if (v > max)
    return -1;
  *out = v;
  return 0;
}

/* "<N>[s|m|h|d]" into ms.  Returns 0 or -ERR_INVALID_ARGUMENT (reason on stderr). */
static int parse_step(const char *s, int64_t *ms)
{
  size_t len = strlen(s);
  int64_t unit = 1000, n;
  if (len > 0 && strchr("smhd", s[len - 1]) != NULL) {
    unit = s[len - 1] == 's'   ? 1000
           : s[len - 1] == 'm' ? 60000
           : s[len - 1] == 'h' ? 3600000
                               : 86400000;
    len--;
  }
  if (s[0] == '-') {
    fprintf(stderr, "backstock: clock advance %s: the clock never goes backwards\n", s);
    return -ERR_INVALID_ARGUMENT;
  }
  if (parse_count(s, len, DB_CLOCK_ADVANCE_MAX_MS, &n) != 0 || n > DB_CLOCK_ADVANCE_MAX_MS / unit) {
    fprintf(stderr,
            "backstock: clock advance %s: want a whole number of seconds, minutes, hours or days"
            " (N, Ns, Nm, Nh, Nd), at most 3660 days\n",
            s);
    return -ERR_INVALID_ARGUMENT;
  }
  *ms = n * unit;
  return 0;
}

int backstock_clock_parse(int argc, char **argv, int i, struct backstock_clock_cmd *cmd)
{
  const char *what = i < argc ? argv[i] : "";
  memset(cmd, 0, sizeof *cmd);
  if (strcmp(what, "show") == 0)
    cmd->op = BACKSTOCK_CLOCK_SHOW;
  else if (strcmp(what, "advance") == 0)
    cmd->op = BACKSTOCK_CLOCK_ADVANCE;
  else if (strcmp(what, "speed") == 0)
    cmd->op = BACKSTOCK_CLOCK_SPEED;
  else if (strcmp(what, "--help") == 0 || strcmp(what, "-h") == 0) {
    usage_all(stdout);
    return 1;
  } else {
    usage_all(stderr);
    return -ERR_INVALID_ARGUMENT;
  }
  for (int k = i + 1; k < argc; k++) {
    if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
      usage_op(cmd->op, stdout);
      return 1;
    }
  }
  int want = cmd->op == BACKSTOCK_CLOCK_SHOW ? 0 : 1;
  if (argc - (i + 1) != want) {
    usage_op(cmd->op, stderr);
    return -ERR_INVALID_ARGUMENT;
  }
  if (cmd->op == BACKSTOCK_CLOCK_ADVANCE)
    return parse_step(argv[i + 1], &cmd->delta_ms);
  if (cmd->op == BACKSTOCK_CLOCK_SPEED) {
    const char *s = argv[i + 1];
    int64_t v;
    if (parse_count(s, strlen(s), DB_CLOCK_SPEED_MAX, &v) != 0 || v < 1) {
      fprintf(stderr, "backstock: clock speed %s: want a whole number from 1 to %d\n", s,
              DB_CLOCK_SPEED_MAX);
      return -ERR_INVALID_ARGUMENT;
    }
    cmd->speed = (int32_t)v;
  }
  return 0;
}

/* Offset in whole seconds, rounded half away from zero. */
static long long offset_s(const struct db_clock *k)
{
  int64_t d = k->now_ms - k->wall_ms;
  return (long long)(d >= 0 ? (d + 500) / 1000 : -((-d + 500) / 1000));
}

int backstock_clock_run(struct db_conn *c, const struct backstock_clock_cmd *cmd, FILE *out)
{
  struct db_clock k;
  char t[API_TIME_STR];
  int rc;
  switch (cmd->op) {
  case BACKSTOCK_CLOCK_ADVANCE:
    rc = db_clock_advance(c, cmd->delta_ms, &k);
    break;
  case BACKSTOCK_CLOCK_SPEED:
    rc = db_clock_set_speed(c, cmd->speed, &k);
    break;
  default:
    rc = db_clock_get(c, &k);
    break;
  }
  if (rc == -ERR_INVALID_ARGUMENT) {
    fprintf(stderr, "backstock: clock: refused (the clock never goes backwards; limits in "
                    "docs/clock.md)\n");
    return rc;
  }
  if (rc != 0) {
    fprintf(stderr, "backstock: clock: %s\n", err_text(rc));
    return rc;
  }
  if (api_time_format(k.now_ms, t) != 0) {
    fprintf(stderr, "backstock: clock: the time %lld ms is outside years 0000-9999\n",
            (long long)k.now_ms);
    return -ERR_INTERNAL;
  }
  fprintf(out, "clock %s speed %ld offset %+lld\n", t, (long)k.speed, offset_s(&k));
  fflush(out);
  return 0;
}
