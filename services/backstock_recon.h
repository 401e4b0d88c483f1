/*
 * "backstock recon run | runs | breaks | resolve" (services/backstock_recon.c,
 * docs/reconcile.md): the reconciler from the command line, on the
 * service's database connection.
 */
#ifndef BACKSTOCK_RECON_H
#define BACKSTOCK_RECON_H

#include <stdint.h>

#include "db/db.h"

/**
 * backstock_recon_command() - run the recon command whose words start at
 * argv[@i], on @c (open, migrated), with @tolerance_tokens (the
 * recon_tolerance_tokens setting).  Prints what it did on stdout.
 * Returns 0, -ERR_INVALID_ARGUMENT (usage, printed) or another error.
 */
int backstock_recon_command(struct db_conn *c, int64_t tolerance_tokens, int argc, char **argv,
                            int i);

#endif
