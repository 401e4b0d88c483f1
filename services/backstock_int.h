/*
 * Internals shared by the files of the backstock command (services/):
 * the commands that live outside backstock.c.
 */
#ifndef BACKSTOCK_SERVICES_INT_H
#define BACKSTOCK_SERVICES_INT_H

#include <stdbool.h>

#include "db/db.h"

/**
 * demo_seed() - "backstock demo seed": the demo principals with their
 * keys, the demo instruments and the AP's wallet, written to @out_path
 * (created 0600, never overwritten) and printed; when @out_path exists,
 * only print it.  @api_url goes into the file for clients.
 * Returns 0, -ERR_IO or an error of db_txn().
 */
int demo_seed(struct db_conn *c, const char *out_path, const char *api_url);

/**
 * demo_clock() - "demo open" (@next_day false): when the demo
 * instruments' primary market is closed on the clock, advance the clock
 * to the next session's open + 5 minutes; "demo next-day" (true): advance
 * it to the next business day's open + 5 minutes.  Prints the clock.
 * Returns 0 or an error of the clock or the calendar.
 */
int demo_clock(struct db_conn *c, bool next_day);

#endif
