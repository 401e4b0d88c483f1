/*
 * Fault tests of the session layer over real TCP against the real
 * simulated broker processes (backstock-simbroker), with a test peer
 * written byte by byte (tests/support/fixclient):
 *
 * - the connection dropped in the middle of a resend: the peer asks for
 *   everything again after a new Logon and gets every ExecutionReport
 *   once more, byte-identical in content (same numbers, same ExecIDs,
 *   43=Y, 122 = the first SendingTime) and GapFills exactly where admin
 *   messages were, including the new Logon;
 * - one session, two broker processes on one database: while the first
 *   holds the session, a Logon to the second is closed without a reply
 *   (the advisory lock); after the first logs out, the second takes the
 *   session and continues the first one's numbers from the store.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/fixclient.h"
#include "tests/support/testsupport.h"

#define START_MS 60000
#define STOP_MS  20000
#define REPLY_MS 5000
#define CLOSE_MS 8000
#define ORDERS   10

struct sim {
  pid_t pid;
  uint16_t port;
  char conf[PATH_MAX], out[PATH_MAX], err[PATH_MAX];
};

static struct {
  char tmp[PATH_MAX - 64];
  char bin[PATH_MAX];
  struct ts_db db;
  char url[2200];
  char path_env[PATH_MAX + 8];
  unsigned spawned;
  struct sim sims[2];
  bool ok;
} fx;

static void sim_start(struct sim *s, const char *comps)
{
  char line[256], reset[8];
  int st;
  int64_t m = (util_now_ms() / 60000 + 12 * 60) % (24 * 60); /* no daily reset during the run */
  snprintf(reset, sizeof reset, "%02d:%02d", (int)(m / 60), (int)(m % 60));
  fx.spawned++;
  snprintf(s->conf, sizeof s->conf, "%s/sim-%u.conf", fx.tmp, fx.spawned);
  snprintf(s->out, sizeof s->out, "%s/sim-%u.out", fx.tmp, fx.spawned);
  snprintf(s->err, sizeof s->err, "%s/sim-%u.err", fx.tmp, fx.spawned);
  FILE *f = fopen(s->conf, "w");
  assert_non_null(f);
  fprintf(f,
          "listen = 127.0.0.1:0\nsender_comp_id = BROKER\ntarget_comp_ids = %s\n"
          "reset_time = %s\ntime_zone = UTC\nprice.AAPL = 189.50\nbehaviour.default = fill\n",
          comps, reset);
  assert_int_equal(fclose(f), 0);
  char *argv[] = {fx.bin, "--config", s->conf, NULL};
  const char *env[] = {fx.path_env, fx.url, NULL};
  s->pid = ts_spawn(argv, env, s->out, s->err);
  int64_t end = util_mono_ms() + START_MS;
  while (!ts_wait_line(s->out, "simbroker listening 127.0.0.1:", 100, line, sizeof line)) {
    if (waitpid(s->pid, &st, WNOHANG) == s->pid || util_mono_ms() >= end) {
      ts_dump_file("simbroker stderr", s->err);
      fail_msg("backstock-simbroker did not start");
    }
  }
  s->port = (uint16_t)strtol(line + strlen("simbroker listening 127.0.0.1:"), NULL, 10);
  assert_true(s->port > 0);
}

static void sim_stop(struct sim *s)
{
  int st = 0;
  if (s->pid <= 0)
    return;
  kill(s->pid, SIGTERM);
  if (!ts_wait_exit(s->pid, STOP_MS, &st)) {
    ts_kill(s->pid, SIGKILL);
    ts_wait_exit(s->pid, STOP_MS, &st);
  }
  s->pid = 0;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    ts_dump_file("simbroker stderr", s->err);
    fail_msg("backstock-simbroker did not exit 0 on SIGTERM (status %d)", st);
  }
}

static int setup(void **state)
{
  char bin[PATH_MAX], conninfo[2048];
  (void)state;
  memset(&fx, 0, sizeof fx);
  ts_build_path(bin, sizeof bin, "services/backstock-simbroker");
  if (realpath(bin, fx.bin) == NULL) {
    fprintf(stderr, "FATAL: %s is not built\n", bin);
    return -1;
  }
  const char *p = getenv("PATH");
  snprintf(fx.path_env, sizeof fx.path_env, "PATH=%s", p != NULL ? p : "/usr/bin:/bin");
  ts_tmpdir(fx.tmp, sizeof fx.tmp);
  ts_db_create("fixfault", &fx.db);
  ts_db_conninfo(&fx.db, conninfo, sizeof conninfo);
  snprintf(fx.url, sizeof fx.url, "BACKSTOCK_DATABASE_URL=%s", conninfo);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  fc_close_all();
  for (unsigned i = 0; i < 2; i++)
    if (fx.sims[i].pid > 0) {
      kill(fx.sims[i].pid, SIGTERM);
      if (!ts_wait_exit(fx.sims[i].pid, STOP_MS, NULL))
        ts_kill(fx.sims[i].pid, SIGKILL);
    }
  if (!fx.ok)
    for (unsigned i = 0; i < 2; i++)
      if (fx.sims[i].err[0] != '\0')
        ts_dump_file("simbroker stderr", fx.sims[i].err);
  ts_db_drop(&fx.db);
  ts_rmtree(fx.tmp);
  return 0;
}

static struct fc_conn *dial(uint16_t port, const char *comp)
{
  struct fc_conn *c = fc_connect(port, comp);
  fc_set_comp_ids(c, comp, "BROKER");
  return c;
}

/* What the broker sent under one number the first time. */
struct sent {
  char type[4];
  char exec_id[64];
  char sending_time[32];
};

static void test_drop_mid_resend(void **state)
{
  (void)state;
  static struct sent first[2 * ORDERS + 2];
  sim_start(&fx.sims[0], "RESEND");
  struct fc_conn *c = dial(fx.sims[0].port, "RESEND");
  fc_send(c, "35=A|34=1|98=0|108=30|");
  fc_expect(c, REPLY_MS, "35=A|34=1|");
  /* Ten orders: each acknowledged and filled, broker numbers 2..21. */
  for (unsigned i = 0; i < ORDERS; i++)
    fc_sendf(c, "35=D|34=%u|11=R%u|1=RESERVE|21=1|55=AAPL|54=1|60=<now>|38=10|40=1|59=0|", 2 + i,
             i);
  for (unsigned seq = 2; seq < 2 + 2 * ORDERS; seq++) {
    fc_expectf(c, REPLY_MS, "35=8|34=%u|", seq);
    fc_get(c, 17, first[seq].exec_id, sizeof first[seq].exec_id);
    fc_get(c, 52, first[seq].sending_time, sizeof first[seq].sending_time);
  }
  /* Ask for everything, read five messages of the answer, drop the connection. */
  fc_send(c, "35=2|34=12|7=1|16=0|");
  fc_expect(c, REPLY_MS, "35=4|34=1|43=Y|123=Y|36=2|");
  for (unsigned seq = 2; seq < 6; seq++)
    fc_expectf(c, REPLY_MS, "35=8|34=%u|43=Y|", seq);
  fc_close(c);

  /* A new connection: our numbers go on (13); the broker's Logon is 22. */
  c = dial(fx.sims[0].port, "RESEND");
  fc_send(c, "35=A|34=13|98=0|108=30|");
  fc_expect(c, REPLY_MS, "35=A|34=22|");
  fc_send(c, "35=2|34=14|7=1|16=0|");
  fc_expect(c, REPLY_MS, "35=4|34=1|43=Y|123=Y|36=2|");
  for (unsigned seq = 2; seq < 2 + 2 * ORDERS; seq++) {
    fc_expectf(c, REPLY_MS, "35=8|34=%u|43=Y|17=%s|122=%s|", seq, first[seq].exec_id,
               first[seq].sending_time);
  }
  /* The new Logon was admin: a GapFill, and nothing more. */
  fc_expect(c, REPLY_MS, "35=4|34=22|43=Y|123=Y|36=23|");
  fc_expect_nothing(c, 500);
  /* The session carries on with the broker's next number. */
  fc_send(c, "35=1|34=15|112=AFTER|");
  fc_expect(c, REPLY_MS, "35=0|34=23|112=AFTER|");
  fc_send(c, "35=5|34=16|");
  fc_expect(c, REPLY_MS, "35=5|34=24|");
  fc_expect_disconnect(c, CLOSE_MS);
  sim_stop(&fx.sims[0]);
  fx.ok = true;
}

static void test_one_session_two_processes(void **state)
{
  (void)state;
  sim_start(&fx.sims[0], "SHARED");
  sim_start(&fx.sims[1], "SHARED");
  struct fc_conn *a = dial(fx.sims[0].port, "SHARED");
  fc_send(a, "35=A|34=1|98=0|108=30|");
  fc_expect(a, REPLY_MS, "35=A|34=1|");
  /* The same session through the other process: closed, no reply. */
  struct fc_conn *b = dial(fx.sims[1].port, "SHARED");
  fc_send(b, "35=A|34=2|98=0|108=30|");
  fc_expect_disconnect(b, CLOSE_MS);
  fc_close(b);
  /* The first connection is untouched. */
  fc_send(a, "35=1|34=2|112=STILL|");
  fc_expect(a, REPLY_MS, "35=0|34=2|112=STILL|");
  fc_send(a, "35=5|34=3|");
  fc_expect(a, REPLY_MS, "35=5|34=3|");
  fc_expect_disconnect(a, CLOSE_MS);
  fc_close(a);
  /* Now the second process takes the session and continues its numbers from the store. */
  b = dial(fx.sims[1].port, "SHARED");
  fc_send(b, "35=A|34=4|98=0|108=30|");
  fc_expect(b, REPLY_MS, "35=A|34=4|");
  fc_send(b, "35=1|34=5|112=MOVED|");
  fc_expect(b, REPLY_MS, "35=0|34=5|112=MOVED|");
  /* And now the first one refuses it. */
  a = dial(fx.sims[0].port, "SHARED");
  fc_send(a, "35=A|34=6|98=0|108=30|");
  fc_expect_disconnect(a, CLOSE_MS);
  fc_close(a);
  fc_send(b, "35=5|34=6|");
  fc_expect(b, REPLY_MS, "35=5|34=6|");
  fc_expect_disconnect(b, CLOSE_MS);
  sim_stop(&fx.sims[0]);
  sim_stop(&fx.sims[1]);
  fx.ok = true;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_drop_mid_resend, setup, teardown),
      cmocka_unit_test_setup_teardown(test_one_session_two_processes, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
