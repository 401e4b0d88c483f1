/*
 * migrations: the numbered SQL files of this folder, embedded in the
 * binary at build time (scripts/embed.py), in order.  db_migrate() applies
 * them; the newest number is the schema version this binary expects.
 */
#ifndef BACKSTOCK_MIGRATIONS_H
#define BACKSTOCK_MIGRATIONS_H

#include <stddef.h>

#include "db/db.h"

extern const struct db_migration migrations_all[];
extern const size_t migrations_count;

#endif
