/*
 * "backstock clock show | advance <N>[s|m|h|d] | speed <N>": the one
 * clock (docs/clock.md) from the command line, on the service's database
 * directly.  services/backstock.c dispatches the command: it parses first
 * (no database needed for --help or a usage error), then opens the
 * database and runs.
 */
#ifndef BACKSTOCK_SERVICES_BACKSTOCK_CLOCK_H
#define BACKSTOCK_SERVICES_BACKSTOCK_CLOCK_H

#include <stdint.h>
#include <stdio.h>

#include "db/db.h"

enum backstock_clock_op { BACKSTOCK_CLOCK_SHOW, BACKSTOCK_CLOCK_ADVANCE, BACKSTOCK_CLOCK_SPEED };

/* A parsed "clock" command. */
struct backstock_clock_cmd {
  enum backstock_clock_op op;
  int64_t delta_ms; /* advance */
  int32_t speed;    /* speed */
};

/**
 * backstock_clock_parse() - parse the arguments after "clock" (@argv[@i]
 * on).  "--help" anywhere prints that command's usage on stdout; a bad
 * command, number or unit prints the reason and the usage on stderr.
 * Returns 0 (run @cmd on the database), 1 (help printed: exit 0) or
 * -ERR_INVALID_ARGUMENT (exit 2).
 */
int backstock_clock_parse(int argc, char **argv, int i, struct backstock_clock_cmd *cmd);

/**
 * backstock_clock_run() - run @cmd on @c and print the clock after it on
 * @out, one line: "clock <RFC 3339 UTC ms> speed <N> offset <+seconds>"
 * (offset: business time minus wall time, rounded to whole seconds).  A
 * refused change (backwards, out of range) prints the reason on stderr.
 * Returns 0, -ERR_INVALID_ARGUMENT or the database's error.
 */
int backstock_clock_run(struct db_conn *c, const struct backstock_clock_cmd *cmd, FILE *out);

#endif
