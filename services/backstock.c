/*
 * backstock: the service's command line.
 *
 *   backstock [serve]      run the service in the foreground until SIGINT/SIGTERM
 *   backstock migrate      apply the database migrations and exit
 *   backstock config       print the effective configuration (secrets hidden)
 *   backstock version      print the version and the schema version it expects
 *   backstock pg start     start the embedded PostgreSQL and leave it running;
 *                          prints its libpq conninfo (used by the test harness)
 *   backstock pg stop      stop a server left running by "pg start"
 *
 * Configuration: defaults < the file named by --config or BACKSTOCK_CONFIG
 * < BACKSTOCK_* variables.  Without BACKSTOCK_DATABASE_URL the service
 * runs its private PostgreSQL under the data folder and stops it on exit;
 * a guardian process stops it too if this process is killed.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "common/common.h"
#include "db/db.h"
#include "migrations/migrations.h"

extern char **environ;

struct service {
  struct cfg cfg;
  struct cal cal;
  struct db_cluster *cluster;
  struct db_conn *conn;
  const char *conninfo; /* borrowed: cfg.database_url or the cluster's */
  long long run_id;
};

static void usage(FILE *out)
{
  fputs("usage: backstock [--config FILE] [serve | migrate | config | version | pg start|stop]\n"
        "Configuration keys and their BACKSTOCK_* variables: see README.md.\n",
        out);
}

static int load_config(struct cfg *cfg, const char *path)
{
  unsigned line = 0;
  const char *bad = NULL;
  int rc;
  cfg_init(cfg);
  if (path == NULL)
    path = getenv("BACKSTOCK_CONFIG");
  if (path != NULL && path[0] != '\0' && (rc = cfg_load_file(cfg, path, &line)) != 0) {
    if (rc == -ERR_CFG_FILE)
      fprintf(stderr, "backstock: cannot read configuration file %s\n", path);
    else
      fprintf(stderr, "backstock: %s line %u: %s\n", path, line, err_text(rc));
    return rc;
  }
  if ((rc = cfg_load_env(cfg, environ, &bad)) != 0) {
    fprintf(stderr, "backstock: %s: %s\n", bad != NULL ? bad : "?", err_text(rc));
    return rc;
  }
  log_setup(cfg->log_level, cfg->log_format, stderr);
  return 0;
}

/* Reach the database (starting the embedded one if needed) and migrate. */
static int open_database(struct service *svc, bool guardian)
{
  int rc;
  char msg[512];
  struct db_migrate_result mr;
  if (svc->cfg.database_url != NULL) {
    svc->conninfo = svc->cfg.database_url;
  } else {
    rc = db_cluster_start(svc->cfg.data_dir, svc->cfg.pg_bindir,
                          guardian ? 0 : DB_CLUSTER_NO_GUARDIAN, &svc->cluster);
    if (rc != 0) {
      fprintf(stderr, "backstock: embedded PostgreSQL: %s\n", err_text(rc));
      return rc;
    }
    svc->conninfo = db_cluster_conninfo(svc->cluster);
  }
  if ((rc = db_connect(svc->conninfo, NULL, svc->cfg.db_max_retries, &svc->conn)) != 0) {
    fprintf(stderr, "backstock: %s\n", err_text(rc));
    return rc;
  }
  rc = db_migrate(svc->conn, migrations_all, migrations_count, &mr, msg, sizeof msg);
  if (rc != 0) {
    fprintf(stderr, "backstock: %s: %s\n", err_text(rc), msg);
    return rc;
  }
  log_msg(LOGL_INFO, "migrate", "schema version %u (was %u, applied %u)", mr.to_version,
          mr.from_version, mr.applied);
  return 0;
}

static void close_database(struct service *svc)
{
  db_close(svc->conn);
  svc->conn = NULL;
  if (svc->cluster != NULL && db_cluster_stop(svc->cluster) != 0)
    fprintf(stderr, "backstock: embedded PostgreSQL did not stop cleanly\n");
  svc->cluster = NULL;
}

struct run_row {
  long long id;
};

static enum db_qs insert_run(struct db_conn *c, void *cls)
{
  return db_insert_service_run(c, "backstock", BACKSTOCK_VERSION, (unsigned)migrations_count,
                               (long)getpid(), &((struct run_row *)cls)->id);
}

static enum db_qs finish_run(struct db_conn *c, void *cls)
{
  return db_update_service_run_stopped(c, ((struct run_row *)cls)->id);
}

static enum db_qs load_closures(struct db_conn *c, void *cls)
{
  return db_select_market_closures(c, cls);
}

static int setup_calendar(struct service *svc)
{
  unsigned line = 0;
  int rc;
  cal_init(&svc->cal);
  if ((rc = cal_load_closures(&svc->cal, cal_builtin_closures, cal_builtin_closures_len, &line)) !=
      0) {
    log_bug("main", "built-in closures line %u: %s", line, err_text(rc));
    return rc;
  }
  if (svc->cfg.calendar_file[0] != '\0' &&
      (rc = cal_load_closures_file(&svc->cal, svc->cfg.calendar_file, &line)) != 0) {
    fprintf(stderr, "backstock: %s line %u: %s\n", svc->cfg.calendar_file, line, err_text(rc));
    return rc;
  }
  if ((rc = db_txn(svc->conn, "load_closures", load_closures, &svc->cal)) != 0)
    return rc;
  log_msg(LOGL_INFO, "main", "calendar: NYSE rules and %zu extra closures", svc->cal.n_closures);
  return 0;
}

static int serve(struct service *svc)
{
  sigset_t sigs;
  struct db_pool *pool = NULL;
  struct api_server *api = NULL;
  struct run_row run = {0};
  int rc, sig = 0;

  /* Block the stop signals before any thread or child exists; sigwait below. */
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  struct api_ctx ctx = {.schema_expected = (unsigned)migrations_count,
                        .db_embedded = svc->cfg.database_url == NULL,
                        .started_mono_ms = util_mono_ms()};
  if ((rc = open_database(svc, true)) != 0)
    goto out;
  if ((rc = setup_calendar(svc)) != 0)
    goto out;
  if ((rc = db_txn(svc->conn, "insert_run", insert_run, &run)) != 0)
    goto out;
  if ((rc = db_pool_create(svc->conninfo, svc->cfg.db_pool_size, svc->cfg.db_max_retries, &pool)) !=
      0)
    goto out;
  ctx.pool = pool;
  rc = api_start(svc->cfg.listen_host, svc->cfg.listen_port, svc->cfg.http_threads, &ctx, &api);
  if (rc != 0) {
    fprintf(stderr, "backstock: cannot listen on %s:%u\n", svc->cfg.listen_host,
            svc->cfg.listen_port);
    goto out;
  }
  log_msg(LOGL_INFO, "main", "backstock %s listening on http://%s:%u (run %lld, schema %zu)",
          BACKSTOCK_VERSION, svc->cfg.listen_host, api_port(api), run.id, migrations_count);
  fprintf(stdout, "backstock is up: curl http://%s:%u/healthz   (Ctrl-C stops it)\n",
          svc->cfg.listen_host, api_port(api));
  fflush(stdout);

  while (sigwait(&sigs, &sig) != 0)
    ;
  log_msg(LOGL_INFO, "main", "signal %d: stopping", sig);
  rc = 0;
out:
  api_stop(api);
  db_pool_free(pool);
  if (run.id != 0 && svc->conn != NULL)
    db_txn(svc->conn, "finish_run", finish_run, &run);
  close_database(svc);
  cal_free(&svc->cal);
  return rc;
}

static int pg_command(struct service *svc, const char *what)
{
  int rc;
  if (what != NULL && strcmp(what, "start") == 0) {
    unsigned flags = DB_CLUSTER_NO_GUARDIAN;
    if (getenv("BACKSTOCK_TEST_FAST_PG") != NULL)
      flags |= DB_CLUSTER_FAST;
    rc = db_cluster_start(svc->cfg.data_dir, svc->cfg.pg_bindir, flags, &svc->cluster);
    if (rc != 0) {
      fprintf(stderr, "backstock: embedded PostgreSQL: %s\n", err_text(rc));
      return rc;
    }
    printf("%s\n", db_cluster_conninfo(svc->cluster));
    db_cluster_detach(svc->cluster);
    svc->cluster = NULL;
    return 0;
  }
  if (what != NULL && strcmp(what, "stop") == 0) {
    rc = db_cluster_stop_dir(svc->cfg.data_dir, svc->cfg.pg_bindir);
    if (rc != 0)
      fprintf(stderr, "backstock: %s\n", err_text(rc));
    return rc;
  }
  usage(stderr);
  return -ERR_INVALID_ARGUMENT;
}

int main(int argc, char **argv)
{
  struct service svc;
  const char *config_path = NULL;
  int i = 1, rc;
  memset(&svc, 0, sizeof svc);
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_path = argv[++i];
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  const char *cmd = i < argc ? argv[i] : "serve";
  if (strcmp(cmd, "version") == 0) {
    printf("backstock %s (schema version %zu)\n", BACKSTOCK_VERSION, migrations_count);
    return 0;
  }
  if (load_config(&svc.cfg, config_path) != 0)
    return 2;
  if (strcmp(cmd, "serve") == 0) {
    rc = serve(&svc);
  } else if (strcmp(cmd, "migrate") == 0) {
    rc = open_database(&svc, true);
    close_database(&svc);
  } else if (strcmp(cmd, "config") == 0) {
    cfg_print(&svc.cfg, stdout);
    rc = 0;
  } else if (strcmp(cmd, "pg") == 0) {
    rc = pg_command(&svc, i + 1 < argc ? argv[i + 1] : NULL);
  } else {
    usage(stderr);
    cfg_free(&svc.cfg);
    return 2;
  }
  cfg_free(&svc.cfg);
  return rc == 0 ? 0 : rc == -ERR_INVALID_ARGUMENT ? 2 : 1;
}
