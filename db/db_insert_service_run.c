/*
 * Query: record the start of a service process in service_runs.
 */
#include <stdlib.h>

#include "db/db_int.h"

const struct db_stmt db_stmt_insert_service_run = {
    "insert_service_run",
    "INSERT INTO service_runs (service, version, schema_version, pid)"
    " VALUES ($1, $2, $3::integer, $4::integer) RETURNING id",
    4,
};

enum db_qs db_insert_service_run(struct db_conn *c, const char *service, const char *version,
                                 unsigned schema_version, long pid, long long *id)
{
  char schema[16], pidtxt[24];
  PGresult *r;
  snprintf(schema, sizeof schema, "%u", schema_version);
  snprintf(pidtxt, sizeof pidtxt, "%ld", pid);
  const char *params[] = {service, version, schema, pidtxt};
  enum db_qs qs = db_exec(c, &db_stmt_insert_service_run, params, &r);
  if (qs > 0) {
    *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
  }
  return qs;
}
