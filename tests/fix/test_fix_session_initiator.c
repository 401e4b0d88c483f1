/*
 * The FIX session table of ../shared/docs/FIX.md, initiator side, with
 * real bytes over real TCP: `backstock connector` (the service binary's
 * FIX initiator, a real process on a fresh database) logs on to the test,
 * which listens on 127.0.0.1 as a raw acceptor (fixclient) and checks
 * every byte the connector sends.
 *
 * Each case starts its own connector (HeartBtInt 1 s, CompIDs BACKSTOCK
 * -> BROKER, the daily reset twelve hours away) on its own database and
 * listening port: its Logon (8, 9, 35 first; 34=1; 98=0; 108=1); a
 * Heartbeat after a second of silence; our TestRequest answered; a
 * number too high from us answered by a ResendRequest; our
 * ResendRequest answered by one GapFill (nothing but admin messages was
 * sent); our Logout answered; and after we drop the connection, new
 * attempts spaced by the backoff (500 ms doubling, each jittered down by
 * at most a quarter: fix_net.c's defaults) whose Logons continue the
 * numbers.  SIGTERM makes it log out and exit 0.
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

#define CONNECT_MS 60000 /* the connector's first connection (it migrates first) */
#define STOP_MS    20000
#define REPLY_MS   5000
#define QUIET_MS   400
#define CLOSE_MS   8000

/* The backoff of fix_net.c: min 500 ms, doubling, each wait in [3/4, 1] of it. */
#define BACKOFF_MIN_MS 500
#define SLACK_MS       100  /* timer granularity below the bound */
#define LATE_MS        1000 /* scheduling and loop latency above it */

static struct {
  char tmp[PATH_MAX];
  char bin[PATH_MAX];
  char path_env[PATH_MAX + 8];
  char url[2200];
  char data_env[PATH_MAX + 32];
  char broker_env[64];
  char reset_env[64];
  char out[PATH_MAX], err[PATH_MAX];
  struct ts_db db;
  bool have_db;
  int lfd;
  uint16_t port;
  pid_t pid;
  unsigned spawned;
  bool ok;
} fx = {.lfd = -1};

/* ------------------------------------------------------------------ */
/* The connector                                                       */
/* ------------------------------------------------------------------ */

static void start_connector(void)
{
  char conninfo[2048];
  ts_db_create("fixini", &fx.db);
  fx.have_db = true;
  ts_db_conninfo(&fx.db, conninfo, sizeof conninfo);
  snprintf(fx.url, sizeof fx.url, "BACKSTOCK_DATABASE_URL=%s", conninfo);
  fx.port = 0;
  fx.lfd = fc_listen(&fx.port);
  snprintf(fx.broker_env, sizeof fx.broker_env, "BACKSTOCK_BROKER=127.0.0.1:%u", fx.port);
  int64_t m = (util_now_ms() / 60000 + 12 * 60) % (24 * 60);
  snprintf(fx.reset_env, sizeof fx.reset_env, "BACKSTOCK_FIX_RESET_TIME=%02d:%02d", (int)(m / 60),
           (int)(m % 60));
  fx.spawned++;
  int n1 =
      snprintf(fx.data_env, sizeof fx.data_env, "BACKSTOCK_DATA_DIR=%s/var-%u", fx.tmp, fx.spawned);
  int n2 = snprintf(fx.out, sizeof fx.out, "%s/connector-%u.out", fx.tmp, fx.spawned);
  int n3 = snprintf(fx.err, sizeof fx.err, "%s/connector-%u.err", fx.tmp, fx.spawned);
  if (n1 < 0 || n2 < 0 || n3 < 0 || (size_t)n1 >= sizeof fx.data_env ||
      (size_t)n2 >= sizeof fx.out || (size_t)n3 >= sizeof fx.err)
    fail_msg("path too long under %s", fx.tmp);
  char *argv[] = {fx.bin, "connector", NULL};
  const char *env[] = {fx.path_env,
                       fx.url,
                       fx.data_env,
                       fx.broker_env,
                       fx.reset_env,
                       "BACKSTOCK_FIX_TIME_ZONE=UTC",
                       "BACKSTOCK_BROKER_SENDER_COMP_ID=BACKSTOCK",
                       "BACKSTOCK_BROKER_TARGET_COMP_ID=BROKER",
                       "BACKSTOCK_BROKER_ACCOUNT=RESERVE",
                       "BACKSTOCK_FIX_HEARTBEAT_S=1",
                       "BACKSTOCK_LOG_LEVEL=debug",
                       NULL};
  fx.pid = ts_spawn(argv, env, fx.out, fx.err);
}

/* The connector's next connection within @ms, or a failure naming @what. */
static struct fc_conn *accept_from_connector(unsigned ms, const char *what)
{
  int st;
  int64_t end = util_mono_ms() + ms;
  for (;;) {
    struct fc_conn *c = fc_accept(fx.lfd, 200, "connector");
    if (c != NULL) {
      fc_set_comp_ids(c, "BROKER", "BACKSTOCK");
      return c;
    }
    if (waitpid(fx.pid, &st, WNOHANG) == fx.pid) {
      fx.pid = 0;
      fail_msg("backstock connector ended (%s %d) before %s",
               WIFEXITED(st) ? "exit status" : "signal",
               WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), what);
    }
    if (util_mono_ms() >= end)
      fail_msg("no connection from backstock connector within %u ms (%s)", ms, what);
  }
}

/* Its Logon with MsgSeqNum @seq: 8, 9, 35 first, our CompIDs, 98=0, 108=1. */
static void expect_logon(struct fc_conn *c, unsigned seq)
{
  fc_expectf(c, REPLY_MS, "35=A|34=%u|49=BACKSTOCK|56=BROKER|52=<now>|98=0|108=1|141=<absent>|",
             seq);
  const struct fix_msg *m = fc_last(c);
  static const char begin[] = "8=FIX.4.4\x01"
                              "9=";
  if (m->len < sizeof begin || memcmp(m->frame, begin, sizeof begin - 1) != 0 || m->n_fields < 3 ||
      m->fields[0].tag != 8 || m->fields[1].tag != 9 || m->fields[2].tag != 35)
    fc_fail(c, "the Logon does not start with 8, 9, 35");
  fc_expect_absent(c, "43|97|122|");
}

/* Accept, read its Logon @seq, answer with our Logon @our_seq. */
static struct fc_conn *logged_on(unsigned seq, unsigned our_seq, unsigned ms)
{
  struct fc_conn *c = accept_from_connector(ms, "its Logon");
  expect_logon(c, seq);
  fc_sendf(c, "35=A|34=%u|98=0|108=1|", our_seq);
  return c;
}

/* SIGTERM: it logs out (we answer) and exits 0. */
static void stop_connector(struct fc_conn *c, unsigned their_seq, unsigned our_seq)
{
  int st;
  kill(fx.pid, SIGTERM);
  const struct fix_msg *m;
  char want[64];
  for (;;) { /* a Heartbeat may cross the signal */
    if (fc_recv(c, REPLY_MS, &m) != FC_MSG)
      fc_fail(c, "no Logout within %d ms of SIGTERM", REPLY_MS);
    if (!fix_msg_is(m, "0"))
      break;
    snprintf(want, sizeof want, "34=%u|", their_seq++);
    fc_check(c, want);
  }
  snprintf(want, sizeof want, "35=5|34=%u|", their_seq);
  fc_check(c, want);
  fc_sendf(c, "35=5|34=%u|", our_seq);
  fc_expect_disconnect(c, CLOSE_MS);
  if (!ts_wait_exit(fx.pid, STOP_MS, &st))
    fail_msg("backstock connector did not exit within %d ms of SIGTERM", STOP_MS);
  fx.pid = 0;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("backstock connector: wait status %d after SIGTERM, want exit 0", st);
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */
/* ------------------------------------------------------------------ */

static int group_setup(void **state)
{
  char bin[PATH_MAX];
  (void)state;
  ts_build_path(bin, sizeof bin, "services/backstock");
  if (realpath(bin, fx.bin) == NULL || access(fx.bin, X_OK) != 0) {
    fprintf(stderr, "FATAL: %s is not built\n", bin);
    return -1;
  }
  const char *p = getenv("PATH");
  snprintf(fx.path_env, sizeof fx.path_env, "PATH=%s", p != NULL ? p : "/usr/bin:/bin");
  ts_tmpdir(fx.tmp, sizeof fx.tmp);
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  if (fx.tmp[0] != '\0')
    ts_rmtree(fx.tmp);
  return 0;
}

static int test_setup(void **state)
{
  (void)state;
  fx.ok = false;
  start_connector();
  return 0;
}

static int test_teardown(void **state)
{
  (void)state;
  fc_close_all();
  if (fx.pid > 0) {
    kill(fx.pid, SIGTERM);
    if (!ts_wait_exit(fx.pid, STOP_MS, NULL)) {
      ts_kill(fx.pid, SIGKILL);
      ts_wait_exit(fx.pid, STOP_MS, NULL);
    }
    fx.pid = 0;
  }
  if (!fx.ok) {
    ts_dump_file("connector stdout", fx.out);
    ts_dump_file("connector stderr", fx.err);
  }
  if (fx.lfd >= 0)
    close(fx.lfd);
  fx.lfd = -1;
  if (fx.have_db)
    ts_db_drop(&fx.db);
  fx.have_db = false;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Cases                                                               */
/* ------------------------------------------------------------------ */

/* Its Logon; SIGTERM makes it log out and exit 0. */
static void test_logon(void **state)
{
  (void)state;
  struct fc_conn *c = logged_on(1, 1, CONNECT_MS);
  fc_expect_nothing(c, QUIET_MS);
  stop_connector(c, 2, 2);
  fx.ok = true;
}

/* While we keep talking, it sends a Heartbeat (no 112) after each second of its silence. */
static void test_heartbeat_after_silence(void **state)
{
  (void)state;
  struct fc_conn *c = logged_on(1, 1, CONNECT_MS);
  int64_t t0 = util_mono_ms(), next_send = t0 + 250, end = t0 + 3400, prev = t0;
  unsigned seq = 2, beats = 0, their = 2;
  while (util_mono_ms() < end) {
    const struct fix_msg *m;
    if (util_mono_ms() >= next_send) {
      fc_sendf(c, "35=0|34=%u|", seq++);
      next_send += 250;
    }
    int64_t wait = next_send - util_mono_ms();
    enum fc_got r = fc_recv(c, wait > 0 ? (unsigned)wait : 0, &m);
    if (r == FC_EOF)
      fc_fail(c, "disconnected while we kept sending Heartbeats");
    if (r == FC_TIMEOUT)
      continue;
    fc_check(c, "35=0|112=<absent>|");
    if (fc_get_u64(c, 34) != their)
      fc_fail(c, "Heartbeat with 34=%llu, want %u", (unsigned long long)fc_get_u64(c, 34), their);
    their++;
    int64_t gap = fc_last_ms(c) - prev;
    if (gap < 700 || gap > 1700)
      fc_fail(c, "Heartbeat %lld ms after its previous message; want about 1000", (long long)gap);
    prev = fc_last_ms(c);
    beats++;
  }
  if (beats < 2 || beats > 4)
    fc_fail(c, "%u Heartbeats in 3.4 s with HeartBtInt 1; want 3 (2 to 4)", beats);
  fx.ok = true;
}

static void test_test_request_answered(void **state)
{
  (void)state;
  struct fc_conn *c = logged_on(1, 1, CONNECT_MS);
  fc_send(c, "35=1|34=2|112=INI 1|");
  fc_expect(c, REPLY_MS, "35=0|34=2|49=BACKSTOCK|56=BROKER|112=INI 1|");
  fx.ok = true;
}

/* A number too high from us: ResendRequest 7=first missing 16=0; a GapFill mends it. */
static void test_seq_too_high(void **state)
{
  (void)state;
  struct fc_conn *c = logged_on(1, 1, CONNECT_MS);
  fc_send(c, "35=0|34=5|");
  fc_expect(c, REPLY_MS, "35=2|34=2|7=2|16=0|");
  fc_send(c, "35=4|34=2|43=Y|122=<now-1s>|123=Y|36=6|");
  fc_send(c, "35=1|34=6|112=MENDED|");
  fc_expect(c, REPLY_MS, "35=0|34=3|112=MENDED|");
  fx.ok = true;
}

/* Our ResendRequest: it has sent only admin messages, so one GapFill answers it. */
static void test_resend_request_gap_fill(void **state)
{
  (void)state;
  struct fc_conn *c = logged_on(1, 1, CONNECT_MS);
  fc_send(c, "35=1|34=2|112=R|");
  fc_expect(c, REPLY_MS, "35=0|34=2|112=R|");
  fc_send(c, "35=2|34=3|7=1|16=0|");
  fc_expect(c, REPLY_MS, "35=4|34=1|123=Y|36=3|43=Y|");
  fc_expect_nothing(c, QUIET_MS);
  fc_send(c, "35=1|34=4|112=AFTER|");
  fc_expect(c, REPLY_MS, "35=0|34=3|112=AFTER|");
  fx.ok = true;
}

/* Our Logout is answered; then it comes back, its numbers continuing. */
static void test_logout_answered(void **state)
{
  (void)state;
  struct fc_conn *c = logged_on(1, 1, CONNECT_MS);
  fc_send(c, "35=5|34=2|");
  fc_expect(c, REPLY_MS, "35=5|34=2|");
  fc_expect_disconnect(c, CLOSE_MS);
  fc_close(c);
  c = logged_on(3, 3, 5000);
  fc_send(c, "35=1|34=4|112=BACK|");
  fc_expect(c, REPLY_MS, "35=0|34=4|112=BACK|");
  fx.ok = true;
}

/* The gap between @since and the next connection must be in [@lo, @hi] ms. */
static struct fc_conn *reconnect_within(int64_t since, unsigned lo, unsigned hi, const char *what)
{
  struct fc_conn *c = accept_from_connector(hi + 2000, what);
  int64_t gap = util_mono_ms() - since;
  if (gap < (int64_t)lo || gap > (int64_t)hi)
    fc_fail(c, "%s came %lld ms after the drop; want %u to %u ms", what, (long long)gap, lo, hi);
  return c;
}

/*
 * We drop the connection: it reconnects after the minimum backoff (it was
 * logged on), then after twice and four times that while its Logons go
 * unanswered; every Logon continues the numbers.
 */
static void test_reconnect_backoff(void **state)
{
  (void)state;
  const unsigned b = BACKOFF_MIN_MS;
  struct fc_conn *c = logged_on(1, 1, CONNECT_MS);
  fc_send(c, "35=1|34=2|112=UP|");
  fc_expect(c, REPLY_MS, "35=0|34=2|112=UP|");
  fc_close(c);
  int64_t t = util_mono_ms();

  c = reconnect_within(t, b * 3 / 4 - SLACK_MS, b + LATE_MS, "the first reconnection");
  expect_logon(c, 3);
  fc_close(c); /* unanswered */
  t = util_mono_ms();

  c = reconnect_within(t, 2 * b * 3 / 4 - SLACK_MS, 2 * b + LATE_MS, "the second reconnection");
  expect_logon(c, 4);
  fc_close(c);
  t = util_mono_ms();

  c = reconnect_within(t, 4 * b * 3 / 4 - SLACK_MS, 4 * b + LATE_MS, "the third reconnection");
  expect_logon(c, 5);
  fc_send(c, "35=A|34=3|98=0|108=1|");
  fc_send(c, "35=1|34=4|112=RESUMED|");
  fc_expect(c, REPLY_MS, "35=0|34=6|112=RESUMED|");
  fx.ok = true;
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
      CASE(test_logon),
      CASE(test_heartbeat_after_silence),
      CASE(test_test_request_answered),
      CASE(test_seq_too_high),
      CASE(test_resend_request_gap_fill),
      CASE(test_logout_answered),
      CASE(test_reconnect_backoff),
  };
  signal(SIGPIPE, SIG_IGN);
  log_setup(LOGL_WARN, LOG_FORMAT_TEXT, stderr);
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
