/*
 * Query: record the clean end of a service process.
 */
#include "db/db_int.h"

const struct db_stmt db_stmt_update_service_run_stopped = {
    "update_service_run_stopped",
    "UPDATE service_runs SET stopped_at = now() WHERE id = $1::bigint AND stopped_at IS NULL",
    1,
};

enum db_qs db_update_service_run_stopped(struct db_conn *c, long long id)
{
  char idtxt[24];
  snprintf(idtxt, sizeof idtxt, "%lld", id);
  const char *params[] = {idtxt};
  return db_exec(c, &db_stmt_update_service_run_stopped, params, NULL);
}
