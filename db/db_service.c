/*
 * A process's start and end on its database, the same for every service:
 * connect, bring the schema to the newest migration this binary carries,
 * and keep a row in service_runs from start (service, version, schema
 * version, pid) to clean stop.  A process that dies leaves its row with
 * no stopped_at, which is how a crash shows.
 */
#include <stdio.h>
#include <unistd.h>

#include "db/db_int.h"

#define CONNECT_RETRIES 10

struct run {
  const char *service;
  unsigned schema_version;
  long long id;
};

static enum db_qs insert_run(struct db_conn *c, void *cls)
{
  struct run *r = cls;
  return db_insert_service_run(c, r->service, BACKSTOCK_VERSION, r->schema_version, (long)getpid(),
                               &r->id);
}

static enum db_qs finish_run(struct db_conn *c, void *cls)
{
  return db_update_service_run_stopped(c, *(long long *)cls);
}

int db_service_start(const char *url, const char *service, const struct db_migration *list,
                     size_t n, struct db_conn **out, long long *run_id, char *msg, size_t msg_size)
{
  char detail[512] = "";
  struct db_migrate_result mr;
  struct run run = {service, (unsigned)n, 0};
  int rc;
  *out = NULL;
  *run_id = 0;
  if ((rc = db_connect(url, NULL, CONNECT_RETRIES, out)) != 0) {
    snprintf(msg, msg_size, "%s", err_text(rc));
    return rc;
  }
  if ((rc = db_migrate(*out, list, n, &mr, detail, sizeof detail)) != 0) {
    snprintf(msg, msg_size, "%s: %s", err_text(rc), detail);
    return rc;
  }
  log_msg(LOGL_INFO, "migrate", "schema version %u (was %u, applied %u)", mr.to_version,
          mr.from_version, mr.applied);
  if ((rc = db_txn(*out, "insert_run", insert_run, &run)) != 0) {
    snprintf(msg, msg_size, "cannot record the run: %s", err_text(rc));
    return rc;
  }
  *run_id = run.id;
  return 0;
}

int db_service_stop(struct db_conn *c, long long run_id)
{
  if (c == NULL || run_id == 0)
    return 0;
  return db_txn(c, "finish_run", finish_run, &run_id);
}
