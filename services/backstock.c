/*
 * backstock: the service's command line.
 *
 *   backstock [serve]      run the service in the foreground until SIGINT/SIGTERM: the API,
 *                          and (serve_engine) the order engine with its settlement worker
 *                          and the custody feed (docs/engine.md)
 *   backstock migrate      apply the database migrations and exit
 *   backstock config       print the effective configuration (secrets hidden)
 *   backstock version      print the version and the schema version it expects
 *   backstock pg start     start the embedded PostgreSQL and leave it running;
 *                          prints its libpq conninfo (used by the test harness)
 *   backstock pg stop      stop a server left running by "pg start"
 *   backstock connector    run the broker connector (FIX initiator) until SIGINT/SIGTERM
 *   backstock engine       run the order engine alone until SIGINT/SIGTERM (any number of
 *                          engines may share a database)
 *   backstock books check  prove the books and every order against them; exit 0 ok, 1 not
 *   backstock order place --id N --symbol S --side buy|sell --qty Q [--limit P]
 *                   [--tif day|ioc] [--isin I] [--note T]
 *   backstock order cancel --id N
 *   backstock order show --id N
 *                          place, cancel or show a broker order (docs/broker.md)
 *   backstock custody ingest FILE...
 *                          ingest custodian documents, one line per file
 *   backstock custody watch
 *                          ingest what is dropped into custody_drop_dir until SIGINT/SIGTERM
 *   backstock custody poll [--once]
 *                          poll the custodian's HTTP feed until SIGINT/SIGTERM (or one pass)
 *   backstock custody show statements|positions|settlements|rejects [--isin X] [--account A]
 *                          print what the custody store holds (docs/custody-store.md)
 *   backstock admin bootstrap --name NAME [--force]
 *                          create the first issuer admin and print its API key once
 *   backstock clock show | advance <N>[s|m|h|d] | speed <N>
 *                          show, advance or speed up the business time (docs/clock.md)
 *   backstock demo seed [--out FILE] [--api URL]
 *                          seed the demo principals, keys, instruments and wallet
 *   backstock demo open | next-day
 *                          move the clock to the demo market's (next) session open
 *   backstock attest keys | rotate
 *                          print the attestation public keys document, or make a new
 *                          current signing key (docs/attestation.md)
 *
 *   backstock help | mint | redeem | orders | wallets | balances | signing-keys | me
 *           | instruments | pauses | admin <not bootstrap> ... | audit ...
 *                          the API client: requests to a running service
 *                          (services/backstock_client*.c, docs/cli.md)
 *
 * Configuration: defaults < the file named by --config or BACKSTOCK_CONFIG
 * < BACKSTOCK_* variables.  Without BACKSTOCK_DATABASE_URL the service
 * runs its private PostgreSQL under the data folder and stops it on exit;
 * a guardian process stops it too if this process is killed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "common/common.h"
#include "custody/custody.h"
#include "db/db.h"
#include "fix/fix.h"
#include "issuance/issuance.h"
#include "migrations/migrations.h"
#include "services/backstock_attest.h"
#include "reconcile/reconcile.h"
#include "services/backstock_audit.h"
#include "services/backstock_recon.h"
#include "services/backstock_client.h"
#include "services/backstock_clock.h"
#include "services/backstock_int.h"

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
  fputs("usage: backstock [--config FILE] [serve | migrate | config | version | pg start|stop\n"
        "                                    | connector | engine | books check\n"
        "                                    | order place|cancel|show ...\n"
        "                                    | custody ingest|watch|poll|show ...\n"
        "                                    | admin bootstrap --name NAME [--force]]\n"
        "  order place --id N --symbol S --side buy|sell --qty Q [--limit P] [--tif day|ioc]\n"
        "              [--isin I] [--note T]\n"
        "  order cancel --id N\n"
        "  order show --id N\n"
        "  custody ingest FILE...\n"
        "  custody watch\n"
        "  custody poll [--once]\n"
        "  custody show statements|positions|settlements|rejects [--isin X] [--account A]\n"
        "  admin bootstrap --name NAME [--force]   the first issuer admin; prints its API key\n"
        "  clock show | advance <N>[s|m|h|d] | speed <N>   the business time (docs/clock.md)\n"
        "  attest keys | rotate   the attestation public keys, or a new signing key\n"
        "  attest publish         build, sign and store an attestation now\n"
        "  audit verify | inclusion  check an attestation offline (docs/attestation.md)\n"
        "  recon run | runs | breaks [--isin X] [--status S] [--class C]"
        " | resolve ID explained|resolved NOTE\n"
        "API client commands (mint, redeem, orders, wallets, signing-keys, admin fund|payout|...,\n"
        "audit books|log|recon ..., alerts list|ack, attestations list|latest|show|fetch):\n"
        "backstock help; each takes --help (docs/cli.md).\n"
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

static enum db_qs insert_connector_run(struct db_conn *c, void *cls)
{
  return db_insert_service_run(c, "connector", BACKSTOCK_VERSION, (unsigned)migrations_count,
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

/* ------------------------------------------------------------------ */
/* The order engine, in serve's threads or alone (docs/engine.md)      */
/* ------------------------------------------------------------------ */

static volatile int engine_stop;

/* The drop folder of custody_drop_dir (relative: under data_dir) into @dir. */
static void custody_dir(const struct service *svc, char *dir, size_t size)
{
  const char *v = svc->cfg.custody_drop_dir;
  if (v[0] == '/')
    snprintf(dir, size, "%s", v);
  else
    snprintf(dir, size, "%s/%s", svc->cfg.data_dir, v);
}

/* Run the engine loop on a connection of its own until engine_stop. */
static int engine_loop(const struct service *svc, struct db_conn *c)
{
  struct engine_cfg ecfg;
  struct engine *e = NULL;
  engine_cfg_from(&svc->cfg, &ecfg);
  int rc = engine_open(c, &svc->cal, &ecfg, &e);
  if (rc != 0) {
    log_msg(LOGL_ERROR, "engine", "cannot start: %s", err_text(rc));
    return rc;
  }
  rc = engine_run(e, svc->cfg.engine_poll_ms, &engine_stop);
  engine_free(e);
  return rc;
}

static void *engine_thread(void *arg)
{
  const struct service *svc = arg;
  struct db_conn *c = NULL;
  if (db_connect(svc->conninfo, NULL, svc->cfg.db_max_retries, &c) == 0)
    engine_loop(svc, c);
  else
    log_msg(LOGL_ERROR, "engine", "no database connection: the engine does not run");
  db_close(c);
  return NULL;
}

/* The custody feed of serve: the drop folder, or the HTTP feed (one thread each). */
/* The custodian HTTP feed's settings from the service's configuration. */
static void http_cfg_of(const struct service *svc, struct custody_http_cfg *hc)
{
  custody_http_cfg_default(hc);
  hc->listing_url = svc->cfg.custody_feed_url;
  hc->token = svc->cfg.custody_feed_token;
  hc->max_bytes = svc->cfg.custody_max_bytes;
}

struct feed_arg {
  const struct service *svc;
  bool http;
};

static void *feed_thread(void *arg)
{
  const struct feed_arg *fa = arg;
  const struct service *svc = fa->svc;
  struct db_conn *c = NULL;
  struct custody_store *st = NULL;
  struct custody_limits lim;
  char dir[CFG_PATH_MAX * 2 + 2];
  custody_limits_default(&lim);
  lim.max_bytes = svc->cfg.custody_max_bytes;
  if (db_connect(svc->conninfo, NULL, svc->cfg.db_max_retries, &c) != 0 ||
      custody_store_open(c, svc->cfg.custody_servicers, svc->cfg.custody_accounts, &lim, &st) !=
          0) {
    log_msg(LOGL_ERROR, "custody", "the custody feed cannot start");
  } else if (fa->http) {
    struct custody_http_cfg hc;
    struct custody_http *h = NULL;
    http_cfg_of(svc, &hc);
    if (custody_http_open(st, &hc, &h) == 0)
      custody_http_run(h, svc->cfg.custody_poll_ms, &engine_stop);
    custody_http_free(h);
  } else {
    struct custody_drop *d = NULL;
    custody_dir(svc, dir, sizeof dir);
    if (custody_drop_open(st, dir, &d) == 0)
      custody_drop_run(d, svc->cfg.custody_poll_ms, &engine_stop);
    custody_drop_free(d);
  }
  custody_store_free(st);
  db_close(c);
  return NULL;
}

/*
 * The reconciler of serve: each engine_poll_ms, reconcile every complete
 * settled statement the custody feed stored (recon_step(): nothing to do
 * is one query), and whenever a run is newer than the latest attestation
 * (attest_due(): this pass's runs, or runs a crash left unattested),
 * publish an attestation over the latest runs -- so with the custodian's
 * daily statement, one reconciliation and one attestation a day on the
 * clock (docs/reconcile.md, docs/attestation.md).  A failing build is
 * retried each pass and logged every 20th time.
 */
static void *recon_thread(void *arg)
{
  const struct service *svc = arg;
  struct db_conn *c = NULL;
  if (db_connect(svc->conninfo, NULL, svc->cfg.db_max_retries, &c) != 0) {
    log_msg(LOGL_ERROR, "recon", "no database connection: the reconciler does not run");
    return NULL;
  }
  unsigned failures = 0;
  while (!engine_stop) {
    struct recon_stats st;
    memset(&st, 0, sizeof st);
    bool due = false;
    int rc = recon_step(c, (int64_t)svc->cfg.recon_tolerance_tokens, &st);
    if (rc != 0)
      log_msg(LOGL_WARN, "recon", "pass: %s", err_text(rc));
    if (rc == 0 && st.runs > 0)
      log_msg(LOGL_INFO, "recon", "%u run(s), %u with breaks, %u break(s) open", st.runs,
              st.with_breaks, st.open_breaks);
    if (rc == 0 && (rc = attest_due(c, &due)) == 0 && due) {
      struct attest_result r;
      if ((rc = backstock_attest_build(&svc->cfg, c, &r)) == 0) {
        failures = 0;
        log_msg(LOGL_INFO, "attest", "attestation %lld over %zu ISIN(s) published, hash %s",
                (long long)r.id, r.n_isins, r.hash);
      } else if (failures++ % 20 == 0) {
        log_msg(LOGL_WARN, "attest", "no attestation: %s (retrying each pass)", err_text(rc));
      }
    }
    for (unsigned waited = 0; waited < svc->cfg.engine_poll_ms && !engine_stop; waited += 50)
      util_sleep_ms(50);
  }
  db_close(c);
  return NULL;
}

/* What serve runs beside the API. */
struct background {
  pthread_t th[4];
  struct feed_arg feed[2];
  unsigned n;
};

/*
 * Start the engine and, when the custodian's allow-lists are set, the
 * custody feed (the drop folder when custody_drop_dir is set, the HTTP
 * feed when custody_feed_url is).  Nothing when serve_engine is false.
 */
static void background_start(const struct service *svc, struct background *bg)
{
  memset(bg, 0, sizeof *bg);
  engine_stop = 0;
  if (!svc->cfg.serve_engine)
    return;
  if (pthread_create(&bg->th[bg->n], NULL, engine_thread, (void *)svc) == 0)
    bg->n++;
  if (pthread_create(&bg->th[bg->n], NULL, recon_thread, (void *)svc) == 0)
    bg->n++;
  bool custody = svc->cfg.custody_servicers[0] != '\0' && svc->cfg.custody_accounts[0] != '\0';
  for (int k = 0; custody && k < 2; k++) {
    bool http = k == 1;
    if ((http && svc->cfg.custody_feed_url[0] == '\0') ||
        (!http && svc->cfg.custody_drop_dir[0] == '\0'))
      continue;
    bg->feed[k] = (struct feed_arg){.svc = svc, .http = http};
    if (pthread_create(&bg->th[bg->n], NULL, feed_thread, &bg->feed[k]) == 0)
      bg->n++;
  }
  log_msg(LOGL_INFO, "main", "engine and reconciler running%s",
          bg->n > 2 ? " with the custody feed" : "");
}

static void background_stop(struct background *bg)
{
  engine_stop = 1;
  for (unsigned k = 0; k < bg->n; k++)
    pthread_join(bg->th[k], NULL);
  bg->n = 0;
}

static enum db_qs insert_engine_run(struct db_conn *c, void *cls)
{
  return db_insert_service_run(c, "engine", BACKSTOCK_VERSION, (unsigned)migrations_count,
                               (long)getpid(), &((struct run_row *)cls)->id);
}

/* "engine": the engine loop alone, on the service's connection, until SIGINT/SIGTERM. */
static int engine_command(struct service *svc)
{
  struct run_row run = {0};
  int rc;
  proc_catch_stop(&engine_stop);
  if ((rc = open_database(svc, true)) == 0 && (rc = setup_calendar(svc)) == 0 &&
      (rc = db_txn(svc->conn, "insert_run", insert_engine_run, &run)) == 0) {
    log_msg(LOGL_INFO, "main", "engine %s (run %lld)", BACKSTOCK_VERSION, run.id);
    rc = engine_loop(svc, svc->conn);
  }
  if (run.id != 0 && svc->conn != NULL)
    db_txn(svc->conn, "finish_run", finish_run, &run);
  close_database(svc);
  cal_free(&svc->cal);
  return rc;
}

/* "books check": the books and every order against them (books_report_print()). */
static int books_command(struct service *svc, int argc, char **argv, int i)
{
  struct books_report r;
  if (i >= argc || strcmp(argv[i], "check") != 0 || i + 1 != argc) {
    fputs("usage: backstock books check\n", stderr);
    return -ERR_INVALID_ARGUMENT;
  }
  books_report_init(&r);
  int rc = open_database(svc, true);
  if (rc == 0) {
    rc = books_check_with(svc->conn, engine_books_check, NULL, &r);
    if (rc != 0)
      fprintf(stderr, "backstock: books check: %s\n", err_text(rc));
    else
      books_report_print(&r, stdout);
    fflush(stdout);
    if (rc == 0 && !r.ok)
      rc = -ERR_BOOKS_UNBALANCED;
  }
  books_report_free(&r);
  close_database(svc);
  return rc;
}

static int serve(struct service *svc)
{
  sigset_t sigs;
  struct db_pool *pool = NULL;
  struct api_server *api = NULL;
  struct run_row run = {0};
  struct background bg = {0};
  char key_dir[BACKSTOCK_ATTEST_DIR_MAX];
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
  ctx.cal = &svc->cal;
  if ((rc = backstock_attest_ensure(&svc->cfg, key_dir, sizeof key_dir)) != 0)
    goto out;
  ctx.attestation_key_dir = key_dir;
  ctx.data_dir = svc->cfg.data_dir;
  ctx.attest_publish = backstock_attest_on_demand;
  ctx.attest_publish_cls = &svc->cfg;
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
  background_start(svc, &bg);
  fprintf(stdout, "backstock is up: curl http://%s:%u/healthz   (Ctrl-C stops it)\n",
          svc->cfg.listen_host, api_port(api));
  fflush(stdout);

  while (sigwait(&sigs, &sig) != 0)
    ;
  log_msg(LOGL_INFO, "main", "signal %d: stopping", sig);
  rc = 0;
out:
  background_stop(&bg);
  api_stop(api);
  db_pool_free(pool);
  if (run.id != 0 && svc->conn != NULL)
    db_txn(svc->conn, "finish_run", finish_run, &run);
  close_database(svc);
  cal_free(&svc->cal);
  return rc;
}

/* ------------------------------------------------------------------ */
/* The broker connector and the order commands                         */
/* ------------------------------------------------------------------ */

static volatile int connector_stop;

/*
 * Run the FIX initiator session to the broker with the connector
 * application until SIGINT/SIGTERM, then log out (bounded) and return.
 */
static int connector(struct service *svc)
{
  struct fix_net *net = NULL;
  struct fix_broker *app = NULL;
  struct run_row run = {0};
  int rc;

  proc_catch_stop(&connector_stop);

  if ((rc = open_database(svc, true)) != 0)
    goto out;
  if ((rc = db_txn(svc->conn, "insert_run", insert_connector_run, &run)) != 0)
    goto out;
  if ((rc = fix_net_create(svc->conninfo, &net)) != 0) {
    fprintf(stderr, "backstock: connector: %s\n", err_text(rc));
    goto out;
  }
  if ((rc = fix_broker_create(fix_net_db(net), svc->cfg.broker_account, &app)) != 0)
    goto out;
  struct fix_endpoint ep;
  memset(&ep, 0, sizeof ep);
  fix_session_cfg_init(&ep.cfg, FIX_INITIATOR, svc->cfg.broker_sender_comp_id,
                       svc->cfg.broker_target_comp_id);
  ep.cfg.heartbeat_s = svc->cfg.fix_heartbeat_s;
  ep.cfg.rate_per_s = svc->cfg.fix_rate_per_s;
  ep.cfg.reset_on_logon = svc->cfg.fix_reset_on_logon;
  ep.cfg.reset_minute = svc->cfg.fix_reset_minute;
  util_strlcpy(ep.cfg.tz, svc->cfg.fix_time_zone, sizeof ep.cfg.tz);
  ep.app = fix_broker_app(app);
  ep.host = svc->cfg.broker_host;
  ep.port = svc->cfg.broker_port;
  ep.reconnect_min_ms = 500;
  ep.reconnect_max_ms = 10000;
  if ((rc = fix_net_add(net, &ep, NULL)) != 0) {
    fprintf(stderr, "backstock: connector: %s\n", err_text(rc));
    goto out;
  }
  if ((rc = fix_net_listen_channel(net, FIX_BROKER_CHANNEL)) != 0) {
    fprintf(stderr, "backstock: connector: LISTEN %s: %s\n", FIX_BROKER_CHANNEL, err_text(rc));
    goto out;
  }
  log_msg(LOGL_INFO, "main", "connector %s: %s -> %s at %s:%u, account %s (run %lld)",
          BACKSTOCK_VERSION, svc->cfg.broker_sender_comp_id, svc->cfg.broker_target_comp_id,
          svc->cfg.broker_host, svc->cfg.broker_port, svc->cfg.broker_account, run.id);
  rc = fix_net_run(net, &connector_stop, 0);
  if (rc != 0)
    log_msg(LOGL_ERROR, "main", "connector stopped: %s", err_text(rc));
  else
    log_msg(LOGL_INFO, "main", "connector stopped");
out:
  fix_net_free(net);
  fix_broker_free(app);
  if (run.id != 0 && svc->conn != NULL)
    db_txn(svc->conn, "finish_run", finish_run, &run);
  close_database(svc);
  return rc;
}

/* The options of "order ...": each "--name value", at most once. */
struct order_opts {
  const char *id, *symbol, *side, *qty, *limit, *tif, *isin, *note;
};

static int order_opts_parse(int argc, char **argv, int i, struct order_opts *o)
{
  memset(o, 0, sizeof *o);
  for (; i < argc; i += 2) {
    static const char *const names[] = {"--id",    "--symbol", "--side", "--qty",
                                        "--limit", "--tif",    "--isin", "--note"};
    const char **slots[] = {&o->id,    &o->symbol, &o->side, &o->qty,
                            &o->limit, &o->tif,    &o->isin, &o->note};
    size_t k;
    for (k = 0; k < sizeof names / sizeof names[0]; k++)
      if (strcmp(argv[i], names[k]) == 0)
        break;
    if (k == sizeof names / sizeof names[0] || i + 1 >= argc || *slots[k] != NULL) {
      fprintf(stderr, "backstock: order: bad or repeated option %s\n", argv[i]);
      return -ERR_INVALID_ARGUMENT;
    }
    *slots[k] = argv[i + 1];
  }
  return 0;
}

static int parse_order_id(const char *s, uint64_t *out)
{
  char *end;
  if (s == NULL || s[0] < '1' || s[0] > '9')
    return -ERR_INVALID_ARGUMENT;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > (unsigned long long)INT64_MAX)
    return -ERR_INVALID_ARGUMENT;
  *out = v;
  return 0;
}

static int parse_amount(const char *s, struct money *out)
{
  return money_parse(s, strlen(s), FIX_BROKER_QTY_SCALE, 0, out) == 0 ? 0 : -ERR_INVALID_ARGUMENT;
}

/* The request of "order place" from its options (bad usage: -ERR_INVALID_ARGUMENT). */
static int order_req(const struct order_opts *o, struct fix_broker_order_req *req)
{
  memset(req, 0, sizeof *req);
  if (parse_order_id(o->id, &req->id) != 0 || o->symbol == NULL || o->side == NULL ||
      o->qty == NULL || parse_amount(o->qty, &req->qty) != 0)
    return -ERR_INVALID_ARGUMENT;
  req->symbol = o->symbol;
  req->isin = o->isin;
  req->note = o->note;
  if (strcmp(o->side, "buy") == 0)
    req->side = FIX_BROKER_BUY;
  else if (strcmp(o->side, "sell") == 0)
    req->side = FIX_BROKER_SELL;
  else
    return -ERR_INVALID_ARGUMENT;
  req->type = FIX_BROKER_MARKET;
  if (o->limit != NULL) {
    req->type = FIX_BROKER_LIMIT;
    if (parse_amount(o->limit, &req->price) != 0)
      return -ERR_INVALID_ARGUMENT;
  }
  req->tif = FIX_BROKER_DAY;
  if (o->tif != NULL && strcmp(o->tif, "ioc") == 0)
    req->tif = FIX_BROKER_IOC;
  else if (o->tif != NULL && strcmp(o->tif, "day") != 0)
    return -ERR_INVALID_ARGUMENT;
  return 0;
}

static void print_money(const char *name, struct money m)
{
  char buf[MONEY_STR_MAX];
  money_format(m, buf, sizeof buf);
  printf("%s=%s\n", name, buf);
}

static int print_exec(void *cls, const struct fix_broker_exec *e)
{
  char q[MONEY_STR_MAX], px[MONEY_STR_MAX], cum[MONEY_STR_MAX];
  (void)cls;
  money_format(e->last_qty, q, sizeof q);
  money_format(e->last_px, px, sizeof px);
  money_format(e->cum_qty, cum, sizeof cum);
  printf("execution cursor=%lld exec_id=%s exec_type=%c ord_status=%c last_qty=%s last_px=%s "
         "cum_qty=%s%s%s\n",
         (long long)e->cursor, e->exec_id, e->exec_type, e->ord_status, q, px, cum,
         e->exec_ref_id[0] != '\0' ? " exec_ref_id=" : "", e->exec_ref_id);
  return 0;
}

static int order_show(struct db_conn *c, uint64_t id)
{
  struct fix_broker_order o;
  int rc = fix_broker_get(c, id, &o);
  if (rc != 0)
    return rc;
  printf("id=%llu\ncl_ord_id=%s\nsymbol=%s\n", (unsigned long long)o.id, o.cl_ord_id, o.symbol);
  if (o.isin[0] != '\0')
    printf("isin=%s\n", o.isin);
  printf("side=%s\ntype=%s\ntif=%s\n", o.side == FIX_BROKER_BUY ? "buy" : "sell",
         o.type == FIX_BROKER_LIMIT ? "limit" : "market", o.tif == FIX_BROKER_IOC ? "ioc" : "day");
  print_money("qty", o.qty);
  if (o.type == FIX_BROKER_LIMIT)
    print_money("limit", o.price);
  printf("state=%s\ncancel=%s\n", fix_broker_state_name(o.state), fix_broker_cancel_name(o.cancel));
  print_money("cum_qty", o.cum_qty);
  print_money("leaves_qty", o.leaves_qty);
  print_money("avg_px", o.avg_px);
  printf("broker_order_id=%s\nsent_seq=%llu\n", o.broker_order_id, (unsigned long long)o.sent_seq);
  if (o.last_text[0] != '\0')
    printf("text=%s\n", o.last_text);
  int n = fix_broker_executions(c, 0, id, 100000, print_exec, NULL);
  return n < 0 ? n : 0;
}

/* "order place|cancel|show": 0, -ERR_INVALID_ARGUMENT (usage) or the failure. */
static int order_command(struct service *svc, int argc, char **argv, int i)
{
  struct order_opts o;
  struct fix_broker_order_req req;
  uint64_t id = 0;
  const char *what = i < argc ? argv[i] : "";
  int rc;
  if (order_opts_parse(argc, argv, i + 1, &o) != 0 || parse_order_id(o.id, &id) != 0 ||
      (strcmp(what, "place") == 0 && order_req(&o, &req) != 0) ||
      (strcmp(what, "place") != 0 &&
       (o.symbol != NULL || o.side != NULL || o.qty != NULL || o.limit != NULL || o.tif != NULL ||
        o.isin != NULL || o.note != NULL)) ||
      (strcmp(what, "place") != 0 && strcmp(what, "cancel") != 0 && strcmp(what, "show") != 0)) {
    usage(stderr);
    return -ERR_INVALID_ARGUMENT;
  }
  if ((rc = open_database(svc, true)) != 0) {
    close_database(svc);
    return rc;
  }
  if (strcmp(what, "place") == 0) {
    rc = fix_broker_place(svc->conn, &req);
    if (rc == -ERR_INVALID_ARGUMENT) {
      fprintf(stderr, "backstock: order place: a value is out of range (symbol, ISIN, "
                      "quantity, price or note)\n");
      close_database(svc);
      return rc; /* usage: exit 2 */
    }
    if (rc == 0)
      printf("order %llu placed (ClOrdID BS%llu)\n", (unsigned long long)id,
             (unsigned long long)id);
  } else if (strcmp(what, "cancel") == 0) {
    rc = fix_broker_cancel(svc->conn, id);
    if (rc == 0)
      printf("order %llu: cancel requested\n", (unsigned long long)id);
  } else {
    rc = order_show(svc->conn, id);
  }
  if (rc != 0)
    fprintf(stderr, "backstock: order %s %llu: %s (%s)\n", what, (unsigned long long)id,
            err_text(rc), err_name(rc));
  close_database(svc);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Custodian documents                                                 */
/* ------------------------------------------------------------------ */

static volatile int custody_stop;

/* The database and a store with the configured allow-list and size limit. */
static int custody_open(struct service *svc, struct custody_store **out)
{
  struct custody_limits lim;
  int rc;
  if ((rc = open_database(svc, true)) != 0)
    return rc;
  custody_limits_default(&lim);
  lim.max_bytes = svc->cfg.custody_max_bytes;
  rc = custody_store_open(svc->conn, svc->cfg.custody_servicers, svc->cfg.custody_accounts, &lim,
                          out);
  if (rc != 0)
    fprintf(stderr, "backstock: custody: %s\n", err_text(rc));
  return rc;
}

/* "custody ingest FILE...": one line per file; 1 if any was not stored. */
static int custody_ingest_files(struct custody_store *st, int argc, char **argv, int i)
{
  int worst = 0;
  for (; i < argc; i++) {
    struct custody_ingest r;
    int rc = custody_ingest_file(st, argv[i], &r);
    printf("%s kind=%s sha256=%s", custody_outcome_name(r.outcome), custody_kind_name(r.kind),
           r.sha256[0] != '\0' ? r.sha256 : "-");
    if (r.outcome == CUSTODY_REJECTED)
      printf(" reject=%lld error=%s file=%s reason=%s\n", (long long)r.reject_id,
             err_name(r.err.code), argv[i], r.err.msg[0] != '\0' ? r.err.msg : err_text(rc));
    else if (r.outcome != 0)
      printf(" document=%lld positions=%llu balances=%llu%s file=%s\n", (long long)r.document_id,
             (unsigned long long)r.positions, (unsigned long long)r.balances,
             r.completed ? " statement=complete" : "", argv[i]);
    else
      printf(" error=%s file=%s reason=%s\n", err_name(rc), argv[i], err_text(rc));
    fflush(stdout);
    if (rc != 0)
      worst = rc;
  }
  return worst;
}

static int custody_watch(struct service *svc, struct custody_store *st)
{
  char dir[CFG_PATH_MAX * 2 + 2];
  struct custody_drop *d = NULL;
  const char *v = svc->cfg.custody_drop_dir;
  if (v[0] == '\0') {
    fprintf(stderr, "backstock: custody watch: custody_drop_dir is empty (no drop folder)\n");
    return -ERR_INVALID_ARGUMENT;
  }
  if (v[0] == '/')
    snprintf(dir, sizeof dir, "%s", v);
  else
    snprintf(dir, sizeof dir, "%s/%s", svc->cfg.data_dir, v);
  int rc = custody_drop_open(st, dir, &d);
  if (rc != 0) {
    fprintf(stderr, "backstock: custody watch: %s: %s\n", dir, err_text(rc));
    return rc;
  }
  rc = custody_drop_run(d, svc->cfg.custody_poll_ms, &custody_stop);
  custody_drop_free(d);
  return rc;
}

static int custody_poll(struct service *svc, struct custody_store *st, bool once)
{
  struct custody_http_cfg hc;
  struct custody_http *h = NULL;
  http_cfg_of(svc, &hc);
  if (hc.listing_url[0] == '\0') {
    fprintf(stderr, "backstock: custody poll: custody_feed_url is not set\n");
    return -ERR_INVALID_ARGUMENT;
  }
  int rc = custody_http_open(st, &hc, &h);
  if (rc != 0) {
    fprintf(stderr, "backstock: custody poll: %s\n", err_text(rc));
    return rc;
  }
  if (once) {
    struct custody_feed_stats fs;
    rc = custody_http_pass(h, &fs, &custody_stop);
    printf("poll listed=%u ingested=%u duplicates=%u rejected=%u failed=%u skipped=%u%s\n", fs.seen,
           fs.ingested, fs.duplicates, fs.rejected, fs.failed, fs.skipped,
           rc != 0 ? " listing=failed" : "");
    if (rc == 0 && (fs.rejected > 0 || fs.failed > 0))
      rc = -ERR_CUSTODY_FEED;
  } else {
    rc = custody_http_run(h, svc->cfg.custody_poll_ms, &custody_stop);
  }
  custody_http_free(h);
  return rc;
}

/* "custody show WHAT [--isin X] [--account A]". */
static int custody_show_command(struct service *svc, int argc, char **argv, int i)
{
  const char *isin = NULL, *account = NULL;
  const char *what = i < argc ? argv[i] : "";
  for (i++; i < argc; i += 2) {
    const char **slot = strcmp(argv[i], "--isin") == 0      ? &isin
                        : strcmp(argv[i], "--account") == 0 ? &account
                                                            : NULL;
    if (slot == NULL || *slot != NULL || i + 1 >= argc) {
      usage(stderr);
      return -ERR_INVALID_ARGUMENT;
    }
    *slot = argv[i + 1];
  }
  if (strcmp(what, "statements") != 0 && strcmp(what, "positions") != 0 &&
      strcmp(what, "settlements") != 0 && strcmp(what, "rejects") != 0) {
    usage(stderr);
    return -ERR_INVALID_ARGUMENT;
  }
  int rc = open_database(svc, true);
  if (rc == 0) {
    rc = custody_show(svc->conn, what, isin, account, stdout);
    if (rc < 0)
      fprintf(stderr, "backstock: custody show: %s\n", err_text(rc));
  }
  close_database(svc);
  return rc < 0 ? rc : 0;
}

static int custody_command(struct service *svc, int argc, char **argv, int i)
{
  struct custody_store *st = NULL;
  const char *what = i < argc ? argv[i] : "";
  bool once = false;
  int rc;
  if (strcmp(what, "show") == 0)
    return custody_show_command(svc, argc, argv, i + 1);
  if (strcmp(what, "poll") == 0 && i + 1 < argc && strcmp(argv[i + 1], "--once") == 0)
    once = true;
  if ((strcmp(what, "ingest") == 0 && i + 1 >= argc) ||
      ((strcmp(what, "watch") == 0 || strcmp(what, "poll") == 0) && i + 1 + once < argc) ||
      (strcmp(what, "ingest") != 0 && strcmp(what, "watch") != 0 && strcmp(what, "poll") != 0)) {
    usage(stderr);
    return -ERR_INVALID_ARGUMENT;
  }
  proc_catch_stop(&custody_stop);
  if ((rc = custody_open(svc, &st)) == 0) {
    if (strcmp(what, "ingest") == 0)
      rc = custody_ingest_files(st, argc, argv, i + 1);
    else if (strcmp(what, "watch") == 0)
      rc = custody_watch(svc, st);
    else
      rc = custody_poll(svc, st, once);
  }
  custody_store_free(st);
  close_database(svc);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Administration                                                      */
/* ------------------------------------------------------------------ */

/*
 * "admin bootstrap --name NAME [--force]": the first issuer admin.  Its
 * API key goes to stdout alone on one line (KEY=$(backstock admin
 * bootstrap ...)), shown this once; the rest to stderr.  Refused while an
 * enabled issuer admin exists, unless --force.
 */
static int admin_command(struct service *svc, int argc, char **argv, int i)
{
  const char *name = NULL;
  bool force = false;
  struct api_principal p;
  char key[API_KEY_TEXT_MAX];
  const char *what = i < argc ? argv[i] : "";
  for (i++; i < argc; i++) {
    if (strcmp(argv[i], "--name") == 0 && i + 1 < argc && name == NULL)
      name = argv[++i];
    else if (strcmp(argv[i], "--force") == 0 && !force)
      force = true;
    else
      name = "";
  }
  if (strcmp(what, "bootstrap") != 0 || name == NULL || name[0] == '\0') {
    usage(stderr);
    return -ERR_INVALID_ARGUMENT;
  }
  if (sodium_init() < 0) {
    fprintf(stderr, "backstock: admin bootstrap: libsodium cannot start\n");
    return -ERR_INTERNAL;
  }
  int rc = open_database(svc, true);
  if (rc == 0) {
    rc = api_bootstrap_admin(svc->conn, name, force, &p, key);
    if (rc == 0) {
      printf("%s\n", key);
      fflush(stdout);
      sodium_memzero(key, sizeof key);
      fprintf(stderr,
              "backstock: issuer admin %lld \"%s\" created; its API key (above) is shown this "
              "once and stored nowhere\n",
              (long long)p.id, p.name);
    } else if (rc == -ERR_API_FIELD) {
      fprintf(stderr,
              "backstock: admin bootstrap: --name wants 1 to %d bytes of text without "
              "control characters\n",
              API_NAME_MAX);
      rc = -ERR_INVALID_ARGUMENT;
    } else if (rc == -ERR_API_CONFLICT) {
      fprintf(stderr, "backstock: admin bootstrap: %s\n",
              force ? "a principal of this name exists"
                    : "an issuer admin exists already (--force makes another)");
    } else {
      fprintf(stderr, "backstock: admin bootstrap: %s\n", err_text(rc));
    }
  }
  close_database(svc);
  return rc;
}

/*
 * "demo seed [--out FILE] [--api URL]": the demo principals, keys,
 * instruments and wallet (services/backstock_demo.c); FILE defaults to
 * <data dir>/demo-keys.json, URL to the address the API listens on.
 */
static int demo_command(struct service *svc, int argc, char **argv, int i)
{
  const char *what = i < argc ? argv[i] : "";
  const char *out = NULL, *api = NULL;
  for (i++; i < argc; i++) {
    if (strcmp(argv[i], "--out") == 0 && i + 1 < argc && out == NULL)
      out = argv[++i];
    else if (strcmp(argv[i], "--api") == 0 && i + 1 < argc && api == NULL)
      api = argv[++i];
    else
      what = "";
  }
  bool clock_cmd = strcmp(what, "open") == 0 || strcmp(what, "next-day") == 0;
  if (strcmp(what, "seed") != 0 && !(clock_cmd && out == NULL && api == NULL)) {
    fputs("usage: backstock demo seed [--out FILE] [--api URL] | demo open | demo next-day\n",
          stderr);
    return -ERR_INVALID_ARGUMENT;
  }
  if (clock_cmd) {
    int crc = open_database(svc, true);
    if (crc == 0)
      crc = demo_clock(svc->conn, strcmp(what, "next-day") == 0);
    close_database(svc);
    return crc;
  }
  char path[CFG_PATH_MAX + 32], url[CFG_STR_MAX + 32];
  if (out == NULL) {
    snprintf(path, sizeof path, "%s/demo-keys.json", svc->cfg.data_dir);
    out = path;
  }
  if (api == NULL) {
    snprintf(url, sizeof url, "http://%s:%u", svc->cfg.listen_host, (unsigned)svc->cfg.listen_port);
    api = url;
  }
  if (sodium_init() < 0)
    return -ERR_INTERNAL;
  int rc = open_database(svc, true);
  if (rc == 0)
    rc = demo_seed(svc->conn, out, api);
  close_database(svc);
  return rc;
}

/* "clock show | advance | speed" (services/backstock_clock.c). */
static int clock_command(struct service *svc, int argc, char **argv, int i)
{
  struct backstock_clock_cmd cc;
  int rc = backstock_clock_parse(argc, argv, i, &cc);
  if (rc != 0)
    return rc > 0 ? 0 : rc;
  if ((rc = open_database(svc, true)) == 0)
    rc = backstock_clock_run(svc->conn, &cc, stdout);
  close_database(svc);
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
  /* Offline auditor tools (audit verify | inclusion): before the client's audit group. */
  if (backstock_audit_handles(argc, argv, i))
    return backstock_audit_main(argc, argv, i + 1);
  /* The API client (mint, orders, admin fund, audit ...): no configuration, no database. */
  if (client_handles(argc, argv, i))
    return client_main(argc, argv, i);
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
  } else if (strcmp(cmd, "connector") == 0) {
    rc = connector(&svc);
  } else if (strcmp(cmd, "engine") == 0) {
    rc = engine_command(&svc);
  } else if (strcmp(cmd, "books") == 0) {
    rc = books_command(&svc, argc, argv, i + 1);
  } else if (strcmp(cmd, "order") == 0) {
    rc = order_command(&svc, argc, argv, i + 1);
  } else if (strcmp(cmd, "custody") == 0) {
    rc = custody_command(&svc, argc, argv, i + 1);
  } else if (strcmp(cmd, "admin") == 0) {
    rc = admin_command(&svc, argc, argv, i + 1);
  } else if (strcmp(cmd, "clock") == 0) {
    rc = clock_command(&svc, argc, argv, i + 1);
  } else if (strcmp(cmd, "demo") == 0) {
    rc = demo_command(&svc, argc, argv, i + 1);
  } else if (strcmp(cmd, "attest") == 0 && i + 1 < argc && strcmp(argv[i + 1], "publish") == 0) {
    if ((rc = open_database(&svc, true)) == 0)
      rc = backstock_attest_publish(&svc.cfg, svc.conn);
    close_database(&svc);
  } else if (strcmp(cmd, "attest") == 0) {
    rc = backstock_attest_command(&svc.cfg, argc, argv, i + 1);
  } else if (strcmp(cmd, "recon") == 0) {
    if ((rc = open_database(&svc, true)) == 0)
      rc = backstock_recon_command(svc.conn, (int64_t)svc.cfg.recon_tolerance_tokens, argc, argv,
                                   i + 1);
    close_database(&svc);
  } else {
    usage(stderr);
    cfg_free(&svc.cfg);
    return 2;
  }
  cfg_free(&svc.cfg);
  return rc == 0 ? 0 : rc == -ERR_INVALID_ARGUMENT ? 2 : 1;
}
