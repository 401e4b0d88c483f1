/*
 * Internals shared by the files of the db module.
 */
#ifndef BACKSTOCK_DB_INT_H
#define BACKSTOCK_DB_INT_H

#include "db/db.h"

/* Record the error of @res (or of the connection) in c->last_error. */
void db__set_error(struct db_conn *c, const PGresult *res);

/* Status of a result: rows or count, soft (40001/40P01) or hard error. */
enum db_qs db__classify(struct db_conn *c, PGresult *res);

#endif
