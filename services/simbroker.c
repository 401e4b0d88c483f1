/*
 * backstock-simbroker: the simulated broker, a FIX 4.4 acceptor that fills
 * orders (docs/simbroker.md; the logic is fix/fix_simbroker.c).
 *
 *   backstock-simbroker [--config FILE]
 *
 * Configuration: defaults < FILE ("key = value" lines) <
 * BACKSTOCK_DATABASE_URL < BACKSTOCK_SIM_<KEY> variables.  It migrates the
 * database, records its run in service_runs, listens, prints exactly one
 * line on stdout, "simbroker listening <host>:<port>", and serves until
 * SIGTERM or SIGINT, when every session logs out and it exits 0.  Exit
 * status 2: bad command line or configuration; 1: anything else fatal.
 */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "db/db.h"
#include "fix/fix.h"
#include "migrations/migrations.h"

#define NAME "backstock-simbroker"

extern char **environ;

static volatile int stop_flag;

static void usage(FILE *out)
{
  fputs("usage: " NAME " [--config FILE]\n"
        "Keys and their BACKSTOCK_SIM_* variables: see docs/simbroker.md.\n",
        out);
}

static int load_config(struct fix_sim_cfg *cfg, const char *path)
{
  char why[256] = "";
  unsigned line = 0;
  const char *bad = NULL;
  int rc;
  if (path != NULL && (rc = fix_sim_cfg_load_file(cfg, path, &line, why, sizeof why)) != 0) {
    if (rc == -ERR_CFG_FILE)
      fprintf(stderr, NAME ": cannot read configuration file %s\n", path);
    else
      fprintf(stderr, NAME ": %s line %u: %s (%s)\n", path, line, err_text(rc), why);
    return rc;
  }
  if ((rc = fix_sim_cfg_load_env(cfg, environ, &bad, why, sizeof why)) != 0) {
    fprintf(stderr, NAME ": %s: %s (%s)\n", bad != NULL ? bad : "?", err_text(rc), why);
    return rc;
  }
  if ((rc = fix_sim_cfg_check(cfg, why, sizeof why)) != 0) {
    fprintf(stderr, NAME ": %s\n", why);
    return rc;
  }
  return 0;
}

static int serve(const struct fix_sim_cfg *cfg)
{
  struct db_conn *admin = NULL;
  struct fix_net *net = NULL;
  struct fix_sim *sim = NULL;
  long long run = 0;
  char msg[640] = "";
  uint16_t port = 0;
  int rc;
  if ((rc = db_service_start(cfg->database_url, NAME, migrations_all, migrations_count, &admin,
                             &run, msg, sizeof msg)) != 0) {
    fprintf(stderr, NAME ": %s\n", msg);
    goto out;
  }
  if ((rc = fix_net_create(cfg->database_url, &net)) != 0) {
    fprintf(stderr, NAME ": %s\n", err_text(rc));
    goto out;
  }
  if ((rc = fix_sim_create(cfg, net, &sim)) != 0) {
    fprintf(stderr, NAME ": cannot set up the sessions: %s\n", err_text(rc));
    goto out;
  }
  if ((rc = fix_net_listen(net, cfg->listen_host, cfg->listen_port, &port)) != 0) {
    fprintf(stderr, NAME ": cannot listen on %s:%u: %s\n", cfg->listen_host, cfg->listen_port,
            err_text(rc));
    goto out;
  }
  log_msg(LOGL_INFO, "main", NAME " %s listening on %s:%u as %s for %zu client(s), run %lld",
          BACKSTOCK_VERSION, cfg->listen_host, port, cfg->sender, cfg->n_targets, run);
  printf("simbroker listening %s:%u\n", cfg->listen_host, port);
  fflush(stdout);
  rc = fix_net_run(net, &stop_flag, 0);
  if (rc != 0)
    fprintf(stderr, NAME ": %s\n", err_text(rc));
  else
    log_msg(LOGL_INFO, "main", "stopped");
out:
  fix_net_free(net); /* before the simulator: its sessions call into it */
  fix_sim_free(sim);
  db_service_stop(admin, run);
  db_close(admin);
  return rc;
}

int main(int argc, char **argv)
{
  struct fix_sim_cfg cfg;
  const char *config_path = NULL;
  int rc = proc_options(argc, argv, usage, &config_path, NULL);
  if (rc >= 0)
    return rc;
  fix_sim_cfg_init(&cfg);
  if (load_config(&cfg, config_path) != 0) {
    fix_sim_cfg_free(&cfg);
    return 2;
  }
  log_setup(cfg.log_level, LOG_FORMAT_TEXT, stderr);

  proc_catch_stop(&stop_flag);
  rc = serve(&cfg);
  fix_sim_cfg_free(&cfg);
  return rc == 0 ? 0 : 1;
}
