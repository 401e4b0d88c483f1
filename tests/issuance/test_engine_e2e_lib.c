/*
 * Real processes for the engine's end-to-end tests: see
 * test_engine_e2e_lib.h.  Generalised from tests/e2e/test_e2e_custody.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/issuance/test_engine_e2e_lib.h"

static void binary(char *out, const char *rel)
{
  char p[PATH_MAX];
  ts_build_path(p, sizeof p, rel);
  if (realpath(p, out) == NULL)
    fail_msg("%s: %s (build it first)", p, strerror(errno));
}

void ex_setup(struct ex *x, const char *tag)
{
  memset(x, 0, sizeof *x);
  signal(SIGPIPE, SIG_IGN);
  tl_setup(&x->t, tag);
  ts_db_conninfo(&x->t.db, x->url, sizeof x->url);
  ts_tmpdir(x->tmp, sizeof x->tmp);
  snprintf(x->drop, sizeof x->drop, "%s/drop", x->tmp);
  binary(x->sim_bin, "services/backstock-simbroker");
  binary(x->svc_bin, "services/backstock");
  binary(x->cust_bin, "services/backstock-simcustodian");
  /* A daily FIX reset 12 hours from now (UTC, wall clock), so none falls inside the test. */
  time_t now = time(NULL) + 12 * 3600;
  struct tm tm;
  gmtime_r(&now, &tm);
  snprintf(x->reset_env, sizeof x->reset_env, "BACKSTOCK_FIX_RESET_TIME=%02d:%02d", tm.tm_hour,
           tm.tm_min);
}

void ex_teardown(struct ex *x)
{
  for (unsigned i = 0; i < x->n_all; i++)
    ex_kill(x->all[i]);
  tl_teardown(&x->t);
  ts_rmtree(x->tmp);
}

void ex_dump(struct ex *x)
{
  for (unsigned i = 0; i < x->n_all; i++)
    if (x->all[i]->err[0] != '\0')
      ts_dump_file(x->all[i]->what, x->all[i]->err);
}

static void spawn(struct ex *x, struct ex_child *ch, const char *what, char *const argv[],
                  const char *const env[])
{
  bool known = false;
  for (unsigned i = 0; i < x->n_all; i++)
    known = known || x->all[i] == ch;
  if (!known && x->n_all < sizeof x->all / sizeof x->all[0])
    x->all[x->n_all++] = ch;
  x->spawned++;
  ch->what = what;
  snprintf(ch->out, sizeof ch->out, "%s/child-%u.out", x->tmp, x->spawned);
  snprintf(ch->err, sizeof ch->err, "%s/child-%u.err", x->tmp, x->spawned);
  ch->pid = ts_spawn(argv, env, ch->out, ch->err);
}

static bool wait_exit(struct ex_child *ch, unsigned ms, int *st)
{
  if (ch->pid <= 0 || !ts_wait_exit(ch->pid, ms, st))
    return false;
  ch->pid = 0;
  return true;
}

void ex_kill(struct ex_child *ch)
{
  int st;
  if (ch->pid > 0) {
    ts_kill(ch->pid, SIGKILL);
    wait_exit(ch, 5000, &st);
  }
}

void ex_stop(struct ex_child *ch)
{
  int st = 0;
  assert_true(ch->pid > 0);
  kill(ch->pid, SIGTERM);
  if (!wait_exit(ch, EX_STOP_WAIT_MS, &st))
    fail_msg("%s did not stop within %d ms of SIGTERM", ch->what, EX_STOP_WAIT_MS);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("%s ended with status %d after SIGTERM", ch->what, st);
}

static uint16_t wait_listening(struct ex_child *ch, const char *prefix)
{
  char line[128];
  if (!ts_wait_line(ch->out, prefix, EX_START_WAIT_MS, line, sizeof line))
    fail_msg("%s did not say it listens within %d ms", ch->what, EX_START_WAIT_MS);
  uint16_t port = (uint16_t)strtoul(line + strlen(prefix), NULL, 10);
  assert_true(port != 0);
  return port;
}

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

void ex_start_sim(struct ex *x, struct ex_child *ch, const char *extra)
{
  char cfg[PATH_MAX + 16], text[4096], db[1300], path[PATH_MAX + 8];
  snprintf(cfg, sizeof cfg, "%s/sim.conf", x->tmp);
  snprintf(text, sizeof text,
           "listen = 127.0.0.1:0\nreset_time = %s\ntime_zone = UTC\nsettle_days = 1\n%s\n",
           x->reset_env + strlen("BACKSTOCK_FIX_RESET_TIME="), extra);
  write_file(cfg, text);
  snprintf(db, sizeof db, "BACKSTOCK_DATABASE_URL=%s", x->url);
  snprintf(path, sizeof path, "PATH=%s", getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin");
  char *argv[] = {x->sim_bin, "--config", cfg, NULL};
  const char *env[] = {db, path, NULL};
  spawn(x, ch, "simbroker stderr", argv, env);
  x->broker_port = wait_listening(ch, "simbroker listening 127.0.0.1:");
}

void ex_start_cust(struct ex *x, struct ex_child *ch, const char *extra)
{
  char cfg[PATH_MAX + 16], text[8192], db[1300], path[PATH_MAX + 8];
  snprintf(cfg, sizeof cfg, "%s/simcust.conf", x->tmp);
  snprintf(text, sizeof text,
           "listen = 127.0.0.1:0\nout_dir = %s\ntoken = engine-e2e-token-0123456789\n"
           "account_servicer = SIMCUSTXXXX\nsafekeeping_account = RESERVE-01\n"
           "statement_time = 23:00\npoll_ms = 100\n%s\n",
           x->drop, extra);
  write_file(cfg, text);
  snprintf(db, sizeof db, "BACKSTOCK_DATABASE_URL=%s", x->url);
  snprintf(path, sizeof path, "PATH=%s", getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin");
  char *argv[] = {x->cust_bin, "--config", cfg, NULL};
  const char *env[] = {db, path, "BACKSTOCK_SIMCUST_LOG_LEVEL=info", NULL};
  spawn(x, ch, "simcustodian stderr", argv, env);
  wait_listening(ch, "simcustodian listening 127.0.0.1:");
}

void ex_start_backstock(struct ex *x, struct ex_child *ch, const char *what, char *const args[],
                        const char *const env[])
{
  char db[1300], path[PATH_MAX + 8], broker[64], data[PATH_MAX + 32], drop[PATH_MAX + 40];
  char *argv[16] = {x->svc_bin};
  const char *e[40];
  size_t n = 1, k = 0;
  for (; args[n - 1] != NULL && n < 15; n++)
    argv[n] = args[n - 1];
  argv[n] = NULL;
  snprintf(db, sizeof db, "BACKSTOCK_DATABASE_URL=%s", x->url);
  snprintf(path, sizeof path, "PATH=%s", getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin");
  snprintf(broker, sizeof broker, "BACKSTOCK_BROKER=127.0.0.1:%u", x->broker_port);
  snprintf(data, sizeof data, "BACKSTOCK_DATA_DIR=%s/var", x->tmp);
  snprintf(drop, sizeof drop, "BACKSTOCK_CUSTODY_DROP_DIR=%s", x->drop);
  const char *base[] = {db,
                        path,
                        broker,
                        data,
                        x->reset_env,
                        drop,
                        "BACKSTOCK_CUSTODY_SERVICERS=SIMCUSTXXXX",
                        "BACKSTOCK_CUSTODY_ACCOUNTS=RESERVE-01",
                        "BACKSTOCK_CUSTODY_POLL_MS=100",
                        "BACKSTOCK_FIX_TIME_ZONE=UTC",
                        "BACKSTOCK_FIX_HEARTBEAT_S=5",
                        "BACKSTOCK_ENGINE_POLL_MS=100",
                        "BACKSTOCK_SETTLEMENT_RETRY_S=1",
                        "BACKSTOCK_LOG_LEVEL=info",
                        NULL};
  for (size_t i = 0; base[i] != NULL; i++)
    e[k++] = base[i];
  for (size_t i = 0; env != NULL && env[i] != NULL && k < 39; i++)
    e[k++] = env[i];
  e[k] = NULL;
  spawn(x, ch, what, argv, e);
}

int ex_run_backstock(struct ex *x, char *const args[], char **out)
{
  struct ex_child ch = {0};
  int st;
  size_t len;
  ex_start_backstock(x, &ch, "backstock command stderr", args, NULL);
  x->n_all--; /* a command, not kept among the children */
  if (!wait_exit(&ch, 60000, &st)) {
    ex_kill(&ch);
    ts_dump_file("backstock command stderr", ch.err);
    fail_msg("backstock %s did not finish within 60 s", args[0]);
  }
  if (out != NULL && util_read_file(ch.out, 16u << 20, out, &len) != 0)
    *out = strdup("");
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    ts_dump_file("backstock command stderr", ch.err);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void ex_books_ok(struct ex *x, const char *note)
{
  char *out = NULL;
  char *args[] = {"books", "check", NULL};
  int rc = ex_run_backstock(x, args, &out);
  if (rc != 0 || strstr(out, "\nbooks ok") == NULL) {
    print_error("%s", out);
    free(out);
    fail_msg("backstock books check: exit %d%s", rc, note);
  }
  free(out);
}

void ex_wait_sql(struct ex *x, unsigned ms, const char *want, const char *fmt, ...)
{
  va_list ap;
  char *sql = NULL;
  va_start(ap, fmt);
  if (vasprintf(&sql, fmt, ap) < 0)
    fail_msg("out of memory");
  va_end(ap);
  int64_t end = util_mono_ms() + ms;
  for (;;) {
    char *v = ts_sql_value(x->t.c, sql);
    bool done = strcmp(v, want) == 0;
    if (done || util_mono_ms() > end) {
      if (!done) {
        ex_dump(x);
        print_error("%s\n  got  \"%s\"\n  want \"%s\" (after %u ms)\n", sql, v, want, ms);
        free(v);
        free(sql);
        fail();
      }
      free(v);
      free(sql);
      return;
    }
    free(v);
    util_sleep_ms(100);
  }
}
