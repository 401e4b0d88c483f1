/*
 * End to end: orders through the broker connector to the simulated
 * broker and back, with real processes over real TCP on 127.0.0.1.
 *
 * One fresh database (ts_db_create), migrated here, shared by
 * `backstock-simbroker` (the acceptor, its prices and behaviours from a
 * config file) and `backstock connector` (the initiator), both given it
 * as BACKSTOCK_DATABASE_URL.  Orders are placed through the C API
 * (fix_broker_place) and the `backstock order` commands, and read back
 * through fix_broker_get / fix_broker_executions and the simulator's
 * tables.  In order: a market buy filled at the price table's price
 * (exactly one execution, one sim_trades row), partial fills, a reject,
 * a resting order canceled from the command line, then the fault: the
 * connector killed with SIGKILL while an order is 'sent' (the simulator
 * acknowledges it only after 3 s) and restarted: the broker holds exactly
 * one order for that ClOrdID and the fill is recovered.  Last, SIGTERM
 * ends both processes with status 0.  Every wait is bounded; a failed
 * test prints the children's stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fix/fix.h"
#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

#define START_WAIT_MS 30000
#define ORDER_WAIT_MS 30000
#define STOP_WAIT_MS  15000

struct child {
  pid_t pid;
  char out[PATH_MAX + 32];
  char err[PATH_MAX + 32];
};

struct e2e {
  struct ts_db db;
  char url[1200]; /* the database as one conninfo */
  char tmp[PATH_MAX];
  char sim_bin[PATH_MAX], svc_bin[PATH_MAX];
  char sim_cfg[PATH_MAX + 16];
  char reset_env[64]; /* a daily reset 12 hours away, for both sides */
  struct db_conn *c;
  struct child sim, conn;
  unsigned spawned;
  uint16_t port;
  bool ok;
};

static struct e2e E;

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

static char *slurp(const char *path)
{
  char *buf = NULL;
  if (util_read_file(path, 1 << 22, &buf, NULL) != 0)
    return strdup("");
  return buf;
}

static void dump(const char *title, const char *path)
{
  char *s = slurp(path);
  size_t n = strlen(s);
  if (n > 0)
    fprintf(stderr, "----- %s (%s) -----\n%s\n----- end -----\n", title, path,
            n > 24000 ? s + n - 24000 : s);
  free(s);
}

static void dump_children(void)
{
  if (E.sim.out[0] != '\0')
    dump("simbroker stderr", E.sim.err);
  if (E.conn.out[0] != '\0')
    dump("connector stderr", E.conn.err);
}

/* Run @argv with exactly @env, in its own process group, output to files. */
static void spawn(struct child *ch, char *const argv[], char *const env[])
{
  E.spawned++;
  snprintf(ch->out, sizeof ch->out, "%s/child-%u.out", E.tmp, E.spawned);
  snprintf(ch->err, sizeof ch->err, "%s/child-%u.err", E.tmp, E.spawned);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY);
    int out = open(ch->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(ch->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
      _exit(126);
    execve(argv[0], argv, env);
    _exit(127);
  }
  setpgid(pid, pid);
  ch->pid = pid;
}

/* Wait at most @ms for @ch to end; true with its status in *st. */
static bool wait_exit(struct child *ch, unsigned ms, int *st)
{
  int64_t end = util_mono_ms() + ms;
  for (;;) {
    pid_t r = waitpid(ch->pid, st, WNOHANG);
    if (r == ch->pid) {
      ch->pid = 0;
      return true;
    }
    if (r < 0 || util_mono_ms() > end)
      return false;
    util_sleep_ms(20);
  }
}

static void kill_hard(struct child *ch)
{
  int st;
  if (ch->pid > 0) {
    kill(-ch->pid, SIGKILL);
    wait_exit(ch, 5000, &st);
  }
}

static void start_sim(void)
{
  char db[1300], path[PATH_MAX + 8];
  snprintf(db, sizeof db, "BACKSTOCK_DATABASE_URL=%s", E.url);
  snprintf(path, sizeof path, "PATH=%s", getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin");
  char *argv[] = {E.sim_bin, "--config", E.sim_cfg, NULL};
  char *env[] = {db, path, NULL};
  spawn(&E.sim, argv, env);
  /* Its one line on stdout names the port. */
  int64_t end = util_mono_ms() + START_WAIT_MS;
  for (;;) {
    char *out = slurp(E.sim.out);
    const char *p = strstr(out, "simbroker listening 127.0.0.1:");
    if (p != NULL && strchr(p, '\n') != NULL) {
      E.port = (uint16_t)strtoul(p + strlen("simbroker listening 127.0.0.1:"), NULL, 10);
      free(out);
      break;
    }
    free(out);
    int st;
    if (waitpid(E.sim.pid, &st, WNOHANG) == E.sim.pid) {
      E.sim.pid = 0;
      fail_msg("backstock-simbroker exited (status %d) before listening", st);
    }
    if (util_mono_ms() > end)
      fail_msg("backstock-simbroker did not say it listens within %d ms", START_WAIT_MS);
    util_sleep_ms(50);
  }
  assert_true(E.port != 0);
}

/* `backstock @cmd...` with the connector's environment; does not wait. */
static void start_backstock(struct child *ch, char *const args[])
{
  char db[1300], path[PATH_MAX + 8], broker[64], data[PATH_MAX + 32];
  char *argv[12] = {E.svc_bin};
  size_t n = 1;
  for (; args[n - 1] != NULL && n < 11; n++)
    argv[n] = args[n - 1];
  argv[n] = NULL;
  snprintf(db, sizeof db, "BACKSTOCK_DATABASE_URL=%s", E.url);
  snprintf(path, sizeof path, "PATH=%s", getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin");
  snprintf(broker, sizeof broker, "BACKSTOCK_BROKER=127.0.0.1:%u", E.port);
  snprintf(data, sizeof data, "BACKSTOCK_DATA_DIR=%s/var", E.tmp);
  char *env[] = {db,
                 path,
                 broker,
                 data,
                 E.reset_env,
                 "BACKSTOCK_FIX_TIME_ZONE=UTC",
                 "BACKSTOCK_LOG_LEVEL=info",
                 "BACKSTOCK_FIX_HEARTBEAT_S=5",
                 NULL};
  spawn(ch, argv, env);
}

static void start_connector(void)
{
  char *args[] = {"connector", NULL};
  start_backstock(&E.conn, args);
}

/* Run `backstock order ...` to its end; returns the exit status, stdout in *out (free). */
static int run_order(char *const args[], char **out)
{
  struct child ch = {0};
  int st;
  start_backstock(&ch, args);
  if (!wait_exit(&ch, 30000, &st)) {
    kill_hard(&ch);
    dump("order command stderr", ch.err);
    fail_msg("backstock order did not finish within 30 s");
  }
  if (out != NULL)
    *out = slurp(ch.out);
  if (!WIFEXITED(st) || WEXITSTATUS(st) > 2)
    dump("order command stderr", ch.err);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void write_sim_config(void)
{
  snprintf(E.sim_cfg, sizeof E.sim_cfg, "%s/sim.conf", E.tmp);
  FILE *f = fopen(E.sim_cfg, "w");
  assert_non_null(f);
  /* A daily reset 12 hours from now (UTC), so no reset falls inside the test. */
  time_t t = time(NULL) + 12 * 3600;
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(E.reset_env, sizeof E.reset_env, "BACKSTOCK_FIX_RESET_TIME=%02d:%02d", tm.tm_hour,
           tm.tm_min);
  fprintf(f,
          "# test_e2e_broker\n"
          "listen = 127.0.0.1:0\n"
          "sender_comp_id = BROKER\n"
          "target_comp_ids = BACKSTOCK\n"
          "reset_time = %02d:%02d\n"
          "time_zone = UTC\n"
          "price.AAPL = 189.50\n"
          "price.MSFT = 410.25\n"
          "price.SLOW = 12.34\n"
          "price.REST = 55\n"
          "behaviour.SLOW = ack_delay:3000\n"
          "behaviour.REST = silent\n"
          "behaviour.default = fill\n",
          tm.tm_hour, tm.tm_min);
  assert_int_equal(fclose(f), 0);
}

static int group_setup(void **state)
{
  char msg[256];
  (void)state;
  memset(&E, 0, sizeof E);
  signal(SIGPIPE, SIG_IGN);
  ts_tmpdir(E.tmp, sizeof E.tmp);
  char rel[PATH_MAX];
  ts_build_path(rel, sizeof rel, "services/backstock-simbroker");
  if (realpath(rel, E.sim_bin) == NULL)
    fail_msg("%s: %s (build it first)", rel, strerror(errno));
  ts_build_path(rel, sizeof rel, "services/backstock");
  if (realpath(rel, E.svc_bin) == NULL)
    fail_msg("%s: %s (build it first)", rel, strerror(errno));
  ts_db_create("e2ebroker", &E.db);
  ts_db_conninfo(&E.db, E.url, sizeof E.url);
  E.c = ts_db_connect(&E.db, 10);
  if (db_migrate(E.c, migrations_all, migrations_count, NULL, msg, sizeof msg) != 0)
    fail_msg("migrate: %s", msg);
  write_sim_config();
  start_sim();
  start_connector();
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  kill_hard(&E.conn);
  kill_hard(&E.sim);
  db_close(E.c);
  ts_db_drop(&E.db);
  ts_rmtree(E.tmp);
  return 0;
}

static int test_setup(void **state)
{
  (void)state;
  E.ok = false;
  return 0;
}

static int test_teardown(void **state)
{
  (void)state;
  /* BACKSTOCK_TEST_VERBOSE: the children's logs after every test, passed or not. */
  if (!E.ok || getenv("BACKSTOCK_TEST_VERBOSE") != NULL)
    dump_children();
  return 0;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static struct money amt(const char *s)
{
  struct money m;
  assert_int_equal(money_parse(s, strlen(s), 6, 0, &m), 0);
  return m;
}

static void assert_money(struct money m, const char *want)
{
  char buf[MONEY_STR_MAX];
  assert_true(money_format(m, buf, sizeof buf) > 0);
  if (strcmp(buf, want) != 0)
    fail_msg("amount %s, want %s", buf, want);
}

static void place(uint64_t id, const char *symbol, const char *qty, const char *note)
{
  struct fix_broker_order_req r = {
      .id = id,
      .symbol = symbol,
      .side = FIX_BROKER_BUY,
      .qty = amt(qty),
      .type = FIX_BROKER_MARKET,
      .tif = FIX_BROKER_DAY,
      .note = note,
  };
  assert_int_equal(fix_broker_place(E.c, &r), 0);
}

/* Wait until order @id reaches @want; fails after @ms. */
static struct fix_broker_order wait_state(uint64_t id, enum fix_broker_state want, unsigned ms)
{
  struct fix_broker_order o;
  int64_t end = util_mono_ms() + ms;
  for (;;) {
    assert_int_equal(fix_broker_get(E.c, id, &o), 0);
    if (o.state == want)
      return o;
    if (util_mono_ms() > end)
      fail_msg("order %llu is %s after %u ms, want %s", (unsigned long long)id,
               fix_broker_state_name(o.state), ms, fix_broker_state_name(want));
    util_sleep_ms(50);
  }
}

static void assert_sql(const char *sql, const char *want)
{
  char *v = ts_sql_value(E.c, sql);
  if (strcmp(v, want) != 0) {
    char got[256];
    snprintf(got, sizeof got, "%s", v);
    free(v);
    fail_msg("%s\n  got  \"%s\"\n  want \"%s\"", sql, got, want);
  }
  free(v);
}

struct seen {
  size_t n;
  struct fix_broker_exec e[8];
};

static int collect(void *cls, const struct fix_broker_exec *e)
{
  struct seen *s = cls;
  if (s->n < 8) {
    s->e[s->n] = *e;
    s->e[s->n].raw = NULL;
  }
  s->n++;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Scenarios                                                           */
/* ------------------------------------------------------------------ */

static void test_fill(void **state)
{
  (void)state;
  place(1, "AAPL", "10", NULL);
  struct fix_broker_order o = wait_state(1, FIX_BROKER_FILLED, ORDER_WAIT_MS);
  assert_money(o.cum_qty, "10.000000");
  assert_money(o.leaves_qty, "0.000000");
  assert_money(o.avg_px, "189.50000000");
  assert_true(o.broker_order_id[0] != '\0');
  struct seen s = {0};
  assert_int_equal(fix_broker_executions(E.c, 0, 1, 100, collect, &s), 1);
  assert_int_equal(s.e[0].exec_type, 'F');
  assert_money(s.e[0].last_qty, "10.000000");
  assert_money(s.e[0].last_px, "189.50000000");
  assert_true(s.e[0].trade_day != INT32_MIN && s.e[0].settl_day > s.e[0].trade_day);
  assert_sql("SELECT count(*) || ' ' || min(quantity) || ' ' || min(price) || ' ' || min(side)"
             " FROM sim_trades WHERE cl_ord_id = 'BS1'",
             "1 10.000000 189.500000 buy");
  assert_sql("SELECT count(*) FROM sim_orders WHERE cl_ord_id = 'BS1'", "1");
  E.ok = true;
}

static void test_partial_fills(void **state)
{
  (void)state;
  place(2, "MSFT", "9", "sim:partial:3:100");
  struct fix_broker_order o = wait_state(2, FIX_BROKER_FILLED, ORDER_WAIT_MS);
  assert_money(o.cum_qty, "9.000000");
  assert_money(o.avg_px, "410.25000000");
  struct seen s = {0};
  assert_int_equal(fix_broker_executions(E.c, 0, 2, 100, collect, &s), 3);
  assert_int_equal(s.e[0].ord_status, '1');
  assert_int_equal(s.e[1].ord_status, '1');
  assert_int_equal(s.e[2].ord_status, '2');
  assert_money(s.e[0].cum_qty, "3.000000");
  assert_money(s.e[1].cum_qty, "6.000000");
  assert_money(s.e[2].cum_qty, "9.000000");
  for (size_t i = 0; i < 3; i++) {
    assert_money(s.e[i].last_qty, "3.000000");
    assert_money(s.e[i].last_px, "410.25000000");
  }
  assert_sql("SELECT count(*) || ' ' || sum(quantity) FROM sim_trades WHERE cl_ord_id = 'BS2'",
             "3 9.000000");
  E.ok = true;
}

static void test_reject(void **state)
{
  (void)state;
  place(3, "NOPX", "1", NULL); /* no price in the table: rejected */
  struct fix_broker_order o = wait_state(3, FIX_BROKER_REJECTED, ORDER_WAIT_MS);
  if (strncmp(o.last_text, "103=", 4) != 0)
    fail_msg("reject text \"%s\" does not start with the reason", o.last_text);
  assert_money(o.cum_qty, "0.000000");
  struct seen s = {0};
  assert_int_equal(fix_broker_executions(E.c, 0, 3, 100, collect, &s), 0);
  assert_sql("SELECT count(*) FROM sim_trades WHERE cl_ord_id = 'BS3'", "0");
  E.ok = true;
}

static void test_cli_cancel(void **state)
{
  (void)state;
  char *out = NULL;
  char *place_args[] = {"order", "place", "--id", "6",     "--symbol", "REST", "--side",
                        "buy",   "--qty", "2.5",  "--tif", "day",      NULL};
  assert_int_equal(run_order(place_args, &out), 0);
  free(out);
  wait_state(6, FIX_BROKER_NEW, ORDER_WAIT_MS);
  char *cancel_args[] = {"order", "cancel", "--id", "6", NULL};
  assert_int_equal(run_order(cancel_args, &out), 0);
  free(out);
  struct fix_broker_order o = wait_state(6, FIX_BROKER_CANCELED, ORDER_WAIT_MS);
  assert_int_equal(o.cancel, FIX_BROKER_CANCEL_DONE);
  assert_money(o.leaves_qty, "0.000000");
  /* Final now: the command fails with 1; bad usage is 2. */
  assert_int_equal(run_order(cancel_args, &out), 1);
  free(out);
  char *show_args[] = {"order", "show", "--id", "1", NULL};
  assert_int_equal(run_order(show_args, &out), 0);
  if (strstr(out, "state=filled\n") == NULL || strstr(out, "cum_qty=10.000000\n") == NULL ||
      strstr(out, "last_px=189.50000000") == NULL)
    fail_msg("order show printed:\n%s", out);
  free(out);
  char *bad_args[] = {"order", "place", "--id", "7", "--symbol", "AAPL", NULL};
  assert_int_equal(run_order(bad_args, NULL), 2);
  char *unknown_args[] = {"order", "show", "--id", "999", NULL};
  assert_int_equal(run_order(unknown_args, NULL), 1);
  E.ok = true;
}

/* The connector killed while an order is out and not yet acknowledged. */
static void test_kill_mid_order(void **state)
{
  (void)state;
  int st;
  place(4, "SLOW", "5", NULL);
  wait_state(4, FIX_BROKER_SENT, ORDER_WAIT_MS);
  kill(-E.conn.pid, SIGKILL);
  assert_true(wait_exit(&E.conn, 5000, &st));
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  start_connector();
  struct fix_broker_order o = wait_state(4, FIX_BROKER_FILLED, ORDER_WAIT_MS);
  assert_money(o.cum_qty, "5.000000");
  assert_money(o.avg_px, "12.34000000");
  /* Exactly one order reached the broker; one NewOrderSingle went out. */
  assert_sql("SELECT count(*) FROM sim_orders WHERE cl_ord_id = 'BS4'", "1");
  assert_sql("SELECT count(*) FROM sim_orders WHERE cl_ord_id LIKE 'BS4%'", "1");
  assert_sql("SELECT count(*) FROM broker_order_events WHERE order_id = 4 AND kind = 'sent'", "1");
  /* The restarted connector asked for its state. */
  char *asked = ts_sql_value(E.c, "SELECT count(*) FROM broker_order_events WHERE order_id = 4"
                                  " AND kind = 'status_requested'");
  assert_true(strtol(asked, NULL, 10) >= 1);
  free(asked);
  struct seen s = {0};
  assert_int_equal(fix_broker_executions(E.c, 0, 4, 100, collect, &s), 1);
  assert_money(s.e[0].last_qty, "5.000000");
  assert_money(s.e[0].last_px, "12.34000000");
  assert_sql("SELECT count(*) || ' ' || min(price) FROM sim_trades WHERE cl_ord_id = 'BS4'",
             "1 12.340000");
  /* The first orders are untouched by the restart. */
  struct seen all = {0};
  assert_int_equal(fix_broker_executions(E.c, 0, 0, 100, collect, &all), 5);
  E.ok = true;
}

static void test_sigterm(void **state)
{
  (void)state;
  int st;
  kill(E.conn.pid, SIGTERM);
  assert_true(wait_exit(&E.conn, STOP_WAIT_MS, &st));
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  char *err = slurp(E.conn.err);
  bool logged_out = strstr(err, "connector stopped") != NULL;
  free(err);
  assert_true(logged_out);
  kill(E.sim.pid, SIGTERM);
  assert_true(wait_exit(&E.sim, STOP_WAIT_MS, &st));
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  E.ok = true;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_fill, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_partial_fills, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_reject, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_cli_cancel, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_kill_mid_order, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_sigterm, test_setup, test_teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
