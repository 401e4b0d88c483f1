/*
 * Query: the newest applied migration.  0 on a database that has never
 * been migrated (the versions table does not exist yet).
 */
#include <stdlib.h>
#include <string.h>

#include "db/db_int.h"

const struct db_stmt db_stmt_select_schema_version = {
    "select_schema_version",
    "SELECT coalesce(max(version), 0) FROM " DB_SCHEMA ".schema_versions",
    0,
};

int db_schema_version(struct db_conn *c, unsigned *out)
{
  PGresult *r = NULL;
  if (db_ensure(c) != 0)
    return -ERR_DB_CONNECT;
  /* Not prepared if the table is missing: ask the catalog first. */
  PGresult *t = PQexec(c->pg, "SELECT to_regclass('" DB_SCHEMA ".schema_versions')"
                              " IS NOT NULL");
  if (db__classify(c, t) < 0) {
    PQclear(t);
    return PQstatus(c->pg) == CONNECTION_OK ? -ERR_DB_HARD : -ERR_DB_CONNECT;
  }
  bool exists = strcmp(PQgetvalue(t, 0, 0), "t") == 0;
  PQclear(t);
  if (!exists) {
    *out = 0;
    return 0;
  }
  if (db_exec(c, &db_stmt_select_schema_version, NULL, &r) <= 0) /* always one row */
    return PQstatus(c->pg) == CONNECTION_OK ? -ERR_DB_HARD : -ERR_DB_CONNECT;
  *out = (unsigned)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return 0;
}
