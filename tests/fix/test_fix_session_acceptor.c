/*
 * The FIX session table of ../shared/docs/FIX.md, acceptor side, proved
 * with real bytes over real TCP: the simulated broker
 * (backstock-simbroker, a real process on a fresh database, port 0) is
 * the acceptor, and each test case is a raw FIX peer (fixclient) that
 * sends bytes and checks every byte that comes back.
 *
 * Each case logs on with its own client CompID (T01, T02, ... in the
 * order of the table in main()), so each starts from sequence number 1
 * on both sides and no case disturbs another.  A broker serves at most
 * 16 client CompIDs, so the cases use a few brokers in turn, one after
 * the other on one database; the restart case runs a broker of its own
 * on a database of its own.  HeartBtInt is 30 s except in
 * the timer cases (108=1), so no Heartbeat can slip between a message and
 * the answer a case waits for.
 *
 * Row by row (FIX.md "Session layer"): Logon; wrong CompIDs / BeginString
 * / SendingTime / first message not a Logon; second connection; MsgSeqNum
 * too high (at Logon and later, filled by GapFill or by resent messages);
 * too low; PossDup; garbled frames; SendingTime accuracy; CompID
 * mismatch; Heartbeat and TestRequest; peer silent; ResendRequest
 * (including after a restart of the broker); SequenceReset-GapFill and
 * -Reset; validation errors; unsupported application type; unsolicited
 * Logout.  A failing case prints its transcript and the broker's log.
 * Longer than most files: one case per row, sharing one fixture.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/fixclient.h"
#include "tests/support/testsupport.h"

#define START_MS 60000 /* the broker prints its listening line */
#define STOP_MS  20000 /* SIGTERM to exit */
#define REPLY_MS 5000  /* an answer to a message */
#define QUIET_MS 400   /* "nothing comes back" */
#define CLOSE_MS 8000  /* a disconnect (a Logout's wait is 5 s at most) */
#define HB_S     30    /* HeartBtInt of the cases that do not test timers */
#define PER_SIM  16    /* client CompIDs one broker serves (FIX_SIM_TARGETS_MAX) */
#define SIMS_MAX 4

/* One simulated broker process. */
struct sim {
  pid_t pid;
  uint16_t port;
  char conf[PATH_MAX];
  char out[PATH_MAX];
  char err[PATH_MAX];
};

static struct {
  char tmp[PATH_MAX];
  char bin[PATH_MAX];
  struct ts_db db;
  bool have_db;
  char url[2200]; /* "BACKSTOCK_DATABASE_URL=..." */
  char path_env[PATH_MAX + 8];
  struct sim sims[SIMS_MAX]; /* sims[k] serves T(16k+1) .. T(16k+16) */
  unsigned n_sims;
  bool bad_exit; /* a broker stopped between cases did not exit 0 */
  unsigned n_tests;
  unsigned index;  /* of the running case, from 1 */
  char comp[16];   /* its client CompID */
  struct sim *sim; /* the broker that serves it */
  unsigned spawned;
  bool ok;
  struct sim extra; /* the restart case's own broker */
  struct ts_db extra_db;
  bool have_extra_db;
} fx;

/* ------------------------------------------------------------------ */
/* The simulated broker                                                */
/* ------------------------------------------------------------------ */

/* @out = "<tmp>/<stem>-<spawned><ext>". */
static void tmp_path(char *out, size_t size, const char *stem, const char *ext)
{
  int n = snprintf(out, size, "%s/%s-%u%s", fx.tmp, stem, fx.spawned, ext);
  if (n < 0 || (size_t)n >= size)
    fail_msg("path too long under %s", fx.tmp);
}

/* "HH:MM" twelve hours from now (UTC): no daily reset while the cases run. */
static void reset_time_far(char *out, size_t size)
{
  int64_t m = (util_now_ms() / 60000 + 12 * 60) % (24 * 60);
  snprintf(out, size, "%02d:%02d", (int)(m / 60), (int)(m % 60));
}

/* Write the configuration for client CompIDs @comps and start the broker. */
static void sim_start(struct sim *s, const char *url_env, const char *comps)
{
  char text[8192], line[256], reset[8];
  int st;
  fx.spawned++;
  tmp_path(s->conf, sizeof s->conf, "sim", ".conf");
  tmp_path(s->out, sizeof s->out, "sim", ".out");
  tmp_path(s->err, sizeof s->err, "sim", ".err");
  reset_time_far(reset, sizeof reset);
  int n = snprintf(text, sizeof text,
                   "# written by test_fix_session_acceptor\n"
                   "listen = 127.0.0.1:0\n"
                   "sender_comp_id = BROKER\n"
                   "target_comp_ids = %s\n"
                   "max_skew_s = 120\n"
                   "reset_time = %s\n"
                   "time_zone = UTC\n"
                   "settle_days = 1\n"
                   "price.AAPL = 189.50\n"
                   "behaviour.default = fill\n"
                   "log_level = debug\n",
                   comps, reset);
  assert_true(n > 0 && (size_t)n < sizeof text);
  FILE *f = fopen(s->conf, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, (size_t)n, f), (size_t)n);
  assert_int_equal(fclose(f), 0);

  char *argv[] = {fx.bin, "--config", s->conf, NULL};
  const char *env[] = {fx.path_env, url_env, NULL};
  s->pid = ts_spawn(argv, env, s->out, s->err);
  int64_t end = util_mono_ms() + START_MS;
  for (;;) {
    if (ts_wait_line(s->out, "simbroker listening 127.0.0.1:", 100, line, sizeof line))
      break;
    if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
      s->pid = 0;
      ts_dump_file("simbroker stderr", s->err);
      fail_msg("backstock-simbroker ended before listening (%s %d)",
               WIFEXITED(st) ? "exit status" : "signal",
               WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    }
    if (util_mono_ms() >= end) {
      ts_dump_file("simbroker stderr", s->err);
      fail_msg("backstock-simbroker printed no listening line within %d ms", START_MS);
    }
  }
  char *end_p;
  long port = strtol(line + strlen("simbroker listening 127.0.0.1:"), &end_p, 10);
  if (port <= 0 || port > 65535 || *end_p != '\0')
    fail_msg("bad listening line: \"%s\"", line);
  s->port = (uint16_t)port;
}

/* SIGTERM; the broker must exit 0 within STOP_MS.  Returns its wait status. */
static int sim_stop(struct sim *s)
{
  int st = 0;
  if (s->pid <= 0)
    return 0;
  kill(s->pid, SIGTERM);
  if (!ts_wait_exit(s->pid, STOP_MS, &st)) {
    ts_kill(s->pid, SIGKILL);
    ts_wait_exit(s->pid, STOP_MS, &st);
    s->pid = 0;
    fail_msg("backstock-simbroker did not exit within %d ms of SIGTERM", STOP_MS);
  }
  s->pid = 0;
  return st;
}

static void sim_kill(struct sim *s)
{
  if (s->pid > 0) {
    ts_kill(s->pid, SIGKILL);
    ts_wait_exit(s->pid, STOP_MS, NULL);
    s->pid = 0;
  }
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */
/* ------------------------------------------------------------------ */

static int group_setup(void **state)
{
  char bin[PATH_MAX], conninfo[2048];
  (void)state;
  ts_build_path(bin, sizeof bin, "services/backstock-simbroker");
  if (realpath(bin, fx.bin) == NULL || access(fx.bin, X_OK) != 0) {
    fprintf(stderr, "FATAL: %s is not built\n", bin);
    return -1;
  }
  const char *p = getenv("PATH");
  snprintf(fx.path_env, sizeof fx.path_env, "PATH=%s", p != NULL ? p : "/usr/bin:/bin");
  ts_tmpdir(fx.tmp, sizeof fx.tmp);
  ts_db_create("fixacc", &fx.db);
  fx.have_db = true;
  ts_db_conninfo(&fx.db, conninfo, sizeof conninfo);
  snprintf(fx.url, sizeof fx.url, "BACKSTOCK_DATABASE_URL=%s", conninfo);
  fx.n_sims = (fx.n_tests + PER_SIM - 1) / PER_SIM;
  if (fx.n_sims > SIMS_MAX) {
    fprintf(stderr, "FATAL: %u cases need more than %d brokers\n", fx.n_tests, SIMS_MAX);
    return -1;
  }
  return 0;
}

/* Stop broker @k; false (after printing why) unless it exited 0. */
static bool sim_stop_checked(unsigned k)
{
  int st = sim_stop(&fx.sims[k]);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
    return true;
  fprintf(stderr, "backstock-simbroker %u: wait status %d after SIGTERM (want exit 0)\n", k, st);
  ts_dump_file("simbroker stderr", fx.sims[k].err);
  return false;
}

static int group_teardown(void **state)
{
  (void)state;
  fc_close_all();
  int rc = fx.bad_exit ? -1 : 0;
  for (unsigned k = 0; k < fx.n_sims; k++)
    if (fx.sims[k].pid > 0 && !sim_stop_checked(k))
      rc = -1;
  if (fx.have_db)
    ts_db_drop(&fx.db);
  if (fx.tmp[0] != '\0')
    ts_rmtree(fx.tmp);
  return rc;
}

/*
 * Each case gets the next CompID; the broker that serves it starts with
 * the first of its cases, and the one before it stops then (so the
 * brokers' database connections, one per session, never add up).
 */
static int test_setup(void **state)
{
  char comps[1024];
  size_t pos = 0;
  (void)state;
  fx.index++;
  snprintf(fx.comp, sizeof fx.comp, "T%02u", fx.index);
  unsigned k = (fx.index - 1) / PER_SIM;
  fx.sim = &fx.sims[k];
  fx.ok = false;
  if (fx.sim->pid > 0)
    return 0;
  for (unsigned j = 0; j < k; j++)
    if (fx.sims[j].pid > 0 && !sim_stop_checked(j))
      fx.bad_exit = true;
  comps[0] = '\0';
  for (unsigned i = k * PER_SIM + 1; i <= fx.n_tests && i <= (k + 1) * PER_SIM; i++)
    pos += (size_t)snprintf(comps + pos, sizeof comps - pos, "%sT%02u", pos > 0 ? "," : "", i);
  sim_start(fx.sim, fx.url, comps);
  return 0;
}

static int test_teardown(void **state)
{
  (void)state;
  fc_close_all();
  if (!fx.ok) {
    fprintf(stderr, "(case %u used CompID %s against BROKER)\n", fx.index, fx.comp);
    ts_dump_file("simbroker stderr", fx.extra.err[0] != '\0' ? fx.extra.err : fx.sim->err);
  }
  sim_kill(&fx.extra);
  fx.extra.err[0] = '\0';
  if (fx.have_extra_db) {
    ts_db_drop(&fx.extra_db);
    fx.have_extra_db = false;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* A connection with this case's CompIDs filled in by fc_send(). */
static struct fc_conn *dial(uint16_t port)
{
  struct fc_conn *c = fc_connect(port, fx.comp);
  fc_set_comp_ids(c, fx.comp, "BROKER");
  return c;
}

/* Log on with 34=1 and HeartBtInt @hb; the answer is checked field by field. */
static struct fc_conn *logon_on(uint16_t port, unsigned hb)
{
  struct fc_conn *c = dial(port);
  fc_sendf(c, "35=A|34=1|98=0|108=%u|", hb);
  fc_expectf(c, REPLY_MS, "35=A|34=1|49=BROKER|56=%s|52=<now>|98=0|108=%u|141=<absent>|", fx.comp,
             hb);
  return c;
}

static struct fc_conn *logon(unsigned hb)
{
  return logon_on(fx.sim->port, hb);
}

/* TestRequest @seq answered by Heartbeat @their_seq echoing the id. */
static void ping(struct fc_conn *c, unsigned seq, unsigned their_seq)
{
  char id[32];
  snprintf(id, sizeof id, "P%u", seq);
  fc_sendf(c, "35=1|34=%u|112=%s|", seq, id);
  fc_expectf(c, REPLY_MS, "35=0|34=%u|112=%s|", their_seq, id);
}

/* Our Logout @seq answered by the broker's Logout @their_seq, then the end. */
static void logout(struct fc_conn *c, unsigned seq, unsigned their_seq)
{
  fc_sendf(c, "35=5|34=%u|", seq);
  fc_expectf(c, REPLY_MS, "35=5|34=%u|", their_seq);
  fc_expect_disconnect(c, CLOSE_MS);
}

/* A NewOrderSingle: a market buy of 10 AAPL. */
static void send_order(struct fc_conn *c, unsigned seq, const char *clordid)
{
  fc_sendf(c, "35=D|34=%u|11=%s|1=RESERVE|21=1|55=AAPL|54=1|60=<now>|38=10|40=1|59=0|544=1|", seq,
           clordid);
}

/* A message kept for comparing with its resend. */
struct saved {
  char frame[4096];
  size_t len;
  struct fix_msg m;
};

static void save_last(struct fc_conn *c, struct saved *s)
{
  const struct fix_msg *m = fc_last(c);
  assert_non_null(m);
  assert_true(m->len < sizeof s->frame);
  memcpy(s->frame, m->frame, m->len);
  s->len = m->len;
  assert_int_equal(fix_parse(s->frame, s->len, &s->m, NULL), 0);
}

/* Fields a resend may change: BodyLength, CheckSum, SendingTime, the resend flags. */
static bool resend_may_differ(uint32_t tag)
{
  return tag == 9 || tag == 10 || tag == 43 || tag == 52 || tag == 97 || tag == 122;
}

/*
 * The last message is the resend of @orig: same MsgSeqNum and every
 * other field equal and in the same order, 43=Y, and 122 = the original
 * SendingTime.
 */
static void expect_resend_of(struct fc_conn *c, const struct saved *orig)
{
  char want[4096], pipe[4096];
  const struct fix_msg *m = fc_last(c);
  size_t n = 0;
  const char *sent;
  size_t sent_len;
  assert_int_equal(fix_msg_str(&orig->m, 52, &sent, &sent_len), 0);
  n += (size_t)snprintf(want + n, sizeof want - n, "43=Y|122=%.*s|", (int)sent_len, sent);
  fc_check(c, want);
  uint32_t i = 0, j = 0;
  for (;;) {
    while (i < orig->m.n_fields && resend_may_differ(orig->m.fields[i].tag))
      i++;
    while (j < m->n_fields && resend_may_differ(m->fields[j].tag))
      j++;
    if (i == orig->m.n_fields || j == m->n_fields)
      break;
    const struct fix_field *a = &orig->m.fields[i], *b = &m->fields[j];
    if (a->tag != b->tag || a->len != b->len ||
        memcmp(orig->frame + a->off, m->frame + b->off, a->len) != 0)
      break;
    i++, j++;
  }
  if (i != orig->m.n_fields || j != m->n_fields) {
    fc_pipe(orig->frame, orig->len, pipe, sizeof pipe);
    fc_fail(c,
            "the resend differs from the original (beyond 9 10 43 52 97 122) at field %u/%u\n"
            "  original: %s",
            i, j, pipe);
  }
}

/* ------------------------------------------------------------------ */
/* Logon                                                               */
/* ------------------------------------------------------------------ */

/* Logon answered with the same HeartBtInt and 98=0; the session works; Logout ends it. */
static void test_logon_answered(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  ping(c, 2, 2);
  logout(c, 3, 3);
  /* A second Logon continues the numbers. */
  c = dial(fx.sim->port);
  fc_send(c, "35=A|34=4|98=0|108=17|");
  fc_expectf(c, REPLY_MS, "35=A|34=4|49=BROKER|56=%s|98=0|108=17|", fx.comp);
  ping(c, 5, 5);
  fx.ok = true;
}

/* 141=Y resets both sequence numbers to 1. */
static void test_logon_reset_seq_num(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  ping(c, 2, 2);
  ping(c, 3, 3);
  logout(c, 4, 4);
  c = dial(fx.sim->port);
  fc_send(c, "35=A|34=1|98=0|108=30|141=Y|");
  fc_expectf(c, REPLY_MS, "35=A|34=1|49=BROKER|56=%s|98=0|108=30|141=Y|", fx.comp);
  ping(c, 2, 2);
  fx.ok = true;
}

/* After a refused Logon the session is untouched: a proper Logon 34=1 is answered 34=1. */
static void logon_still_fresh(void)
{
  struct fc_conn *c = logon(HB_S);
  ping(c, 2, 2);
}

static void test_logon_unknown_sender(void **state)
{
  (void)state;
  struct fc_conn *c = fc_connect(fx.sim->port, "NOBODY");
  fc_send(c, "35=A|34=1|49=NOBODY|52=<now>|56=BROKER|98=0|108=30|");
  fc_expect_disconnect(c, CLOSE_MS);
  logon_still_fresh();
  fx.ok = true;
}

static void test_logon_wrong_target(void **state)
{
  (void)state;
  struct fc_conn *c = dial(fx.sim->port);
  fc_sendf(c, "35=A|34=1|49=%s|52=<now>|56=NOTBROKER|98=0|108=30|", fx.comp);
  fc_expect_disconnect(c, CLOSE_MS);
  logon_still_fresh();
  fx.ok = true;
}

static void test_logon_bad_sending_time(void **state)
{
  (void)state;
  struct fc_conn *c = dial(fx.sim->port);
  fc_send(c, "35=A|34=1|52=<now-200s>|98=0|108=30|");
  fc_expect_disconnect(c, CLOSE_MS);
  c = dial(fx.sim->port);
  fc_send(c, "35=A|34=1|52=<now+200s>|98=0|108=30|");
  fc_expect_disconnect(c, CLOSE_MS);
  logon_still_fresh();
  fx.ok = true;
}

static void test_logon_bad_begin_string(void **state)
{
  (void)state;
  struct fc_conn *c = dial(fx.sim->port);
  fc_send_rawf(c, "8=FIX.4.2|9=<len>|35=A|34=1|49=%s|52=<now>|56=BROKER|98=0|108=30|10=<sum>|",
               fx.comp);
  fc_expect_disconnect(c, CLOSE_MS);
  logon_still_fresh();
  fx.ok = true;
}

static void test_first_message_not_logon(void **state)
{
  (void)state;
  struct fc_conn *c = dial(fx.sim->port);
  fc_send(c, "35=1|34=1|112=HELLO|");
  fc_expect_disconnect(c, CLOSE_MS);
  logon_still_fresh();
  fx.ok = true;
}

/* A second connection for a logged-on session is closed; the first one still works. */
static void test_second_connection(void **state)
{
  (void)state;
  struct fc_conn *c1 = logon(HB_S);
  struct fc_conn *c2 = dial(fx.sim->port);
  fc_send(c2, "35=A|34=2|98=0|108=30|");
  fc_expect_disconnect(c2, CLOSE_MS);
  ping(c1, 2, 2);
  fc_expect_nothing(c1, QUIET_MS);
  fx.ok = true;
}

/* ------------------------------------------------------------------ */
/* Sequence numbers                                                    */
/* ------------------------------------------------------------------ */

/* A Logon beyond the expected number is processed, then ResendRequest 7=1 16=0. */
static void test_logon_seq_too_high(void **state)
{
  (void)state;
  struct fc_conn *c = dial(fx.sim->port);
  fc_send(c, "35=A|34=5|98=0|108=30|");
  fc_expectf(c, REPLY_MS, "35=A|34=1|49=BROKER|56=%s|98=0|108=30|", fx.comp);
  fc_expect(c, REPLY_MS, "35=2|34=2|7=1|16=0|");
  fc_send(c, "35=4|34=1|43=Y|122=<now-1s>|123=Y|36=6|");
  fc_expect_nothing(c, QUIET_MS);
  ping(c, 6, 3);
  fx.ok = true;
}

/* A TestRequest beyond a gap waits; a GapFill releases it; its Heartbeat comes once. */
static void test_seq_too_high_gap_fill(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  fc_send(c, "35=1|34=4|112=Q4|");
  fc_expect(c, REPLY_MS, "35=2|34=2|7=2|16=0|");
  fc_expect_nothing(c, QUIET_MS);
  fc_send(c, "35=4|34=2|43=Y|122=<now-1s>|123=Y|36=4|");
  fc_expect(c, REPLY_MS, "35=0|34=3|112=Q4|");
  fc_expect_nothing(c, QUIET_MS);
  ping(c, 5, 4);
  fc_expect_nothing(c, QUIET_MS);
  fx.ok = true;
}

/* Two messages queued beyond a gap are processed in order once resends fill it. */
static void test_seq_too_high_resent(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  fc_send(c, "35=1|34=4|112=Q4|");
  fc_expect(c, REPLY_MS, "35=2|34=2|7=2|16=0|");
  fc_send(c, "35=1|34=5|112=Q5|");
  fc_expect_nothing(c, QUIET_MS);
  fc_send(c, "35=0|34=2|43=Y|122=<now-2s>|");
  fc_expect_nothing(c, QUIET_MS);
  fc_send(c, "35=0|34=3|43=Y|122=<now-2s>|");
  fc_expect(c, REPLY_MS, "35=0|34=3|112=Q4|");
  fc_expect(c, REPLY_MS, "35=0|34=4|112=Q5|");
  fc_expect_nothing(c, QUIET_MS);
  ping(c, 6, 5);
  fx.ok = true;
}

/* MsgSeqNum below the expected one without PossDup: Logout with the text, disconnect. */
static void test_seq_too_low(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  ping(c, 2, 2);
  fc_send(c, "35=1|34=2|112=LOW|");
  fc_expect(c, REPLY_MS, "35=5|34=3|58=MsgSeqNum too low, expecting 3 but received 2|");
  fc_expect_disconnect(c, CLOSE_MS);
  fx.ok = true;
}

/* PossDup of a number already seen: ignored. */
static void test_poss_dup_already_seen(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  ping(c, 2, 2);
  fc_send(c, "35=1|34=2|43=Y|122=<now-1s>|112=P2|");
  fc_expect_nothing(c, QUIET_MS);
  ping(c, 3, 3);
  fx.ok = true;
}

/* PossDup without OrigSendingTime: Reject 45/371=122/373=1, the session stays up. */
static void test_poss_dup_without_orig_sending_time(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  ping(c, 2, 2);
  fc_send(c, "35=1|34=2|43=Y|112=P2|");
  fc_expect(c, REPLY_MS, "35=3|34=3|45=2|371=122|373=1|");
  ping(c, 3, 4);
  fx.ok = true;
}

/* OrigSendingTime later than SendingTime: Reject 373=10, then Logout. */
static void test_orig_sending_time_after_sending_time(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  ping(c, 2, 2);
  fc_send(c, "35=1|34=2|43=Y|52=<now>|122=<now+10s>|112=P2|");
  fc_expect(c, REPLY_MS, "35=3|34=3|45=2|373=10|");
  fc_expect(c, REPLY_MS, "35=5|34=4|");
  fc_send(c, "35=5|34=3|");
  fc_expect_disconnect(c, CLOSE_MS);
  fx.ok = true;
}

/* ------------------------------------------------------------------ */
/* Garbled frames: ignored, no sequence number consumed                */
/* ------------------------------------------------------------------ */

static void test_garbage_ignored(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  fc_send_raw(c, "hello|this is not FIX|8=FIY|");
  fc_expect_nothing(c, QUIET_MS);
  ping(c, 2, 2);
  fx.ok = true;
}

static void test_bad_checksum_ignored(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  fc_send_rawf(c, "8=FIX.4.4|9=<len>|35=1|34=2|49=%s|52=<now>|56=BROKER|112=BAD|10=<badsum>|",
               fx.comp);
  fc_expect_nothing(c, QUIET_MS);
  ping(c, 2, 2);
  fx.ok = true;
}

static void test_bad_body_length_ignored(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  /* Too short: "10=" is not where it says. */
  fc_send_rawf(c, "8=FIX.4.4|9=<len-3>|35=1|34=2|49=%s|52=<now>|56=BROKER|112=BAD|10=<sum>|",
               fx.comp);
  fc_expect_nothing(c, QUIET_MS);
  ping(c, 2, 2);
  /* Too long: framing waits for the bytes it claims, which come with the next
   * message; then "10=" is not where it says, and the next message (which
   * starts with its own "8=FIX") is read on its own. */
  fc_send_rawf(c, "8=FIX.4.4|9=<len+12>|35=1|34=3|49=%s|52=<now>|56=BROKER|112=BAD|10=<sum>|",
               fx.comp);
  fc_expect_nothing(c, QUIET_MS);
  fc_send(c, "35=1|34=3|112=AFTER|");
  fc_expect(c, REPLY_MS, "35=0|34=3|112=AFTER|");
  ping(c, 4, 4);
  fx.ok = true;
}

static void test_header_out_of_order_ignored(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  /* 35 not third. */
  fc_send_rawf(c, "8=FIX.4.4|9=<len>|34=2|35=1|49=%s|52=<now>|56=BROKER|112=BAD|10=<sum>|",
               fx.comp);
  fc_expect_nothing(c, QUIET_MS);
  /* 9 not second. */
  fc_send_rawf(c, "8=FIX.4.4|35=1|9=<len>|34=2|49=%s|52=<now>|56=BROKER|112=BAD|10=<sum>|",
               fx.comp);
  fc_expect_nothing(c, QUIET_MS);
  ping(c, 2, 2);
  fx.ok = true;
}

/* ------------------------------------------------------------------ */
/* SendingTime and CompIDs mid-session                                 */
/* ------------------------------------------------------------------ */

static void test_sending_time_off(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  /* 100 s off is within the 120 s allowed. */
  fc_send(c, "35=1|34=2|52=<now-100s>|112=OLD|");
  fc_expect(c, REPLY_MS, "35=0|34=2|112=OLD|");
  fc_send(c, "35=1|34=3|52=<now-200s>|112=OLDER|");
  fc_expect(c, REPLY_MS, "35=3|34=3|45=3|373=10|");
  fc_expect(c, REPLY_MS, "35=5|34=4|");
  fc_send(c, "35=5|34=4|");
  fc_expect_disconnect(c, CLOSE_MS);
  fx.ok = true;
}

static void test_sending_time_in_future(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  fc_send(c, "35=1|34=2|52=<now+200s>|112=FUTURE|");
  fc_expect(c, REPLY_MS, "35=3|34=2|45=2|373=10|");
  fc_expect(c, REPLY_MS, "35=5|34=3|");
  fc_send(c, "35=5|34=3|");
  fc_expect_disconnect(c, CLOSE_MS);
  fx.ok = true;
}

static void test_sender_comp_id_mismatch(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  fc_send(c, "35=1|34=2|49=INTRUDER|112=WHO|");
  fc_expect(c, REPLY_MS, "35=3|34=2|45=2|373=9|");
  fc_expect(c, REPLY_MS, "35=5|34=3|");
  fc_send(c, "35=5|34=3|");
  fc_expect_disconnect(c, CLOSE_MS);
  fx.ok = true;
}

static void test_target_comp_id_mismatch(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  fc_send(c, "35=1|34=2|56=SOMEONE|112=WHO|");
  fc_expect(c, REPLY_MS, "35=3|34=2|45=2|373=9|");
  fc_expect(c, REPLY_MS, "35=5|34=3|");
  fc_send(c, "35=5|34=3|");
  fc_expect_disconnect(c, CLOSE_MS);
  fx.ok = true;
}

/* ------------------------------------------------------------------ */
/* Heartbeats and TestRequests                                         */
/* ------------------------------------------------------------------ */

/*
 * 108=1: while we keep talking (a Heartbeat every 250 ms), the broker
 * sends a Heartbeat (no 112) after each second of its own silence and no
 * TestRequest.
 */
static void test_heartbeat_after_silence(void **state)
{
  (void)state;
  struct fc_conn *c = logon(1);
  int64_t t0 = fc_last_ms(c), next_send = t0 + 250, end = t0 + 3400, prev = t0;
  unsigned seq = 2, beats = 0;
  while (util_mono_ms() < end) {
    const struct fix_msg *m;
    int64_t now = util_mono_ms();
    if (now >= next_send) {
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
    int64_t gap = fc_last_ms(c) - prev;
    if (gap < 700 || gap > 1700)
      fc_fail(c, "Heartbeat %lld ms after the previous message it sent; want about 1000",
              (long long)gap);
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
  struct fc_conn *c = logon(HB_S);
  fc_send(c, "35=1|34=2|112=ABC 123|");
  fc_expect(c, REPLY_MS, "35=0|34=2|112=ABC 123|");
  fc_send(c, "35=1|34=3|112=T2|");
  fc_expect(c, REPLY_MS, "35=0|34=3|112=T2|");
  fx.ok = true;
}

/* 108=1 and we say nothing: a TestRequest after about 1.2 s, the end after about 2.4 s. */
static void test_peer_silent(void **state)
{
  (void)state;
  struct fc_conn *c = logon(1);
  int64_t t0 = fc_last_ms(c);
  unsigned tests = 0;
  for (;;) {
    const struct fix_msg *m;
    enum fc_got r = fc_recv(c, 6000, &m);
    if (r == FC_TIMEOUT)
      fc_fail(c, "still connected 6 s after we fell silent (HeartBtInt 1)");
    if (r == FC_EOF)
      break;
    if (fix_msg_is(m, "1")) {
      fc_check(c, "112=<any>|");
      int64_t at = fc_last_ms(c) - t0;
      if (at < 900 || at > 2300)
        fc_fail(c, "TestRequest %lld ms after our last message; want about 1200", (long long)at);
      tests++;
    } else if (!fix_msg_is(m, "0") && !fix_msg_is(m, "5")) {
      fc_fail(c, "unexpected message while silent");
    }
  }
  int64_t at = fc_last_ms(c) - t0;
  if (tests < 1)
    fc_fail(c, "disconnected without a TestRequest first");
  if (at < 1900 || at > 4500)
    fc_fail(c, "disconnected %lld ms after our last message; want about 2400", (long long)at);
  fx.ok = true;
}

/* Answering its TestRequests keeps the session up. */
static void test_test_request_reply_keeps_session(void **state)
{
  (void)state;
  struct fc_conn *c = logon(1);
  int64_t end = util_mono_ms() + 4000;
  unsigned seq = 2, tests = 0;
  char id[64];
  while (util_mono_ms() < end) {
    const struct fix_msg *m;
    int64_t left = end - util_mono_ms();
    enum fc_got r = fc_recv(c, left > 0 ? (unsigned)left : 0, &m);
    if (r == FC_EOF)
      fc_fail(c, "disconnected although we answered its TestRequests");
    if (r == FC_MSG && fix_msg_is(m, "1")) {
      fc_get(c, 112, id, sizeof id);
      fc_sendf(c, "35=0|34=%u|112=%s|", seq++, id);
      tests++;
    }
  }
  if (tests < 1)
    fc_fail(c, "no TestRequest in 4 s of silence with HeartBtInt 1");
  fc_sendf(c, "35=1|34=%u|112=STILL|", seq);
  const struct fix_msg *m;
  for (;;) { /* skip Heartbeats that crossed ours */
    if (fc_recv(c, REPLY_MS, &m) != FC_MSG)
      fc_fail(c, "no answer to the last TestRequest");
    if (fix_msg_find(m, 112) != NULL && fix_msg_is(m, "0"))
      break;
  }
  fc_check(c, "35=0|112=STILL|");
  fx.ok = true;
}

/* ------------------------------------------------------------------ */
/* ResendRequest                                                       */
/* ------------------------------------------------------------------ */

/* Order @clordid sent as @seq: its ack and fill come back as @their_seq and +1. */
static void order_filled(struct fc_conn *c, unsigned seq, const char *clordid, unsigned their_seq,
                         struct saved *ack, struct saved *fill)
{
  send_order(c, seq, clordid);
  fc_expectf(c, REPLY_MS, "35=8|34=%u|11=%s|150=0|39=0|55=AAPL|54=1|43=<absent>|", their_seq,
             clordid);
  save_last(c, ack);
  fc_expectf(c, REPLY_MS, "35=8|34=%u|11=%s|150=F|39=2|55=AAPL|54=1|43=<absent>|", their_seq + 1,
             clordid);
  save_last(c, fill);
}

/*
 * Application messages are resent with 43=Y, 122 = original 52 and the
 * same number; each run of admin messages becomes one GapFill.
 */
static void test_resend_request(void **state)
{
  (void)state;
  struct saved er[4];
  struct fc_conn *c = logon(HB_S);                /* theirs: 1 Logon */
  order_filled(c, 2, "ORD-A", 2, &er[0], &er[1]); /* 2, 3 */
  ping(c, 3, 4);                                  /* 4 Heartbeat */
  order_filled(c, 4, "ORD-B", 5, &er[2], &er[3]); /* 5, 6 */
  ping(c, 5, 7);                                  /* 7 Heartbeat */

  fc_send(c, "35=2|34=6|7=1|16=0|");
  fc_expect(c, REPLY_MS, "35=4|34=1|123=Y|36=2|43=Y|");
  fc_expect(c, REPLY_MS, "35=8|34=2|");
  expect_resend_of(c, &er[0]);
  fc_expect(c, REPLY_MS, "35=8|34=3|");
  expect_resend_of(c, &er[1]);
  fc_expect(c, REPLY_MS, "35=4|34=4|123=Y|36=5|43=Y|");
  fc_expect(c, REPLY_MS, "35=8|34=5|");
  expect_resend_of(c, &er[2]);
  fc_expect(c, REPLY_MS, "35=8|34=6|");
  expect_resend_of(c, &er[3]);
  fc_expect(c, REPLY_MS, "35=4|34=7|123=Y|36=8|43=Y|");
  fc_expect_nothing(c, QUIET_MS);
  /* The resends took no number. */
  ping(c, 7, 8);

  /* A closed range. */
  fc_send(c, "35=2|34=8|7=3|16=5|");
  fc_expect(c, REPLY_MS, "35=8|34=3|");
  expect_resend_of(c, &er[1]);
  fc_expect(c, REPLY_MS, "35=4|34=4|123=Y|36=5|43=Y|");
  fc_expect(c, REPLY_MS, "35=8|34=5|");
  expect_resend_of(c, &er[2]);
  fc_expect_nothing(c, QUIET_MS);
  ping(c, 9, 9);
  fx.ok = true;
}

/*
 * The broker restarted (SIGTERM, then a new process on the same
 * database) resumes its numbers and resends what the old process sent.
 */
static void test_restart_resumes(void **state)
{
  (void)state;
  char conninfo[2048], url[2200];
  struct saved er[2];
  int st;
  ts_db_create("fixrst", &fx.extra_db);
  fx.have_extra_db = true;
  ts_db_conninfo(&fx.extra_db, conninfo, sizeof conninfo);
  snprintf(url, sizeof url, "BACKSTOCK_DATABASE_URL=%s", conninfo);
  snprintf(fx.comp, sizeof fx.comp, "R01");
  sim_start(&fx.extra, url, "R01");

  struct fc_conn *c = logon_on(fx.extra.port, HB_S);
  order_filled(c, 2, "ORD-R", 2, &er[0], &er[1]);
  ping(c, 3, 4);
  /* SIGTERM: the broker logs out; we answer; it exits 0. */
  kill(fx.extra.pid, SIGTERM);
  fc_expect(c, REPLY_MS, "35=5|34=5|");
  fc_send(c, "35=5|34=4|");
  fc_expect_disconnect(c, CLOSE_MS);
  fc_close(c);
  if (!ts_wait_exit(fx.extra.pid, STOP_MS, &st))
    fail_msg("backstock-simbroker did not exit within %d ms of SIGTERM", STOP_MS);
  fx.extra.pid = 0;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("backstock-simbroker: wait status %d after SIGTERM, want exit 0", st);

  sim_start(&fx.extra, url, "R01");
  c = dial(fx.extra.port);
  fc_send(c, "35=A|34=5|98=0|108=30|");
  fc_expect(c, REPLY_MS, "35=A|34=6|49=BROKER|56=R01|98=0|108=30|");
  fc_send(c, "35=2|34=6|7=2|16=3|");
  fc_expect(c, REPLY_MS, "35=8|34=2|");
  expect_resend_of(c, &er[0]);
  fc_expect(c, REPLY_MS, "35=8|34=3|");
  expect_resend_of(c, &er[1]);
  fc_expect_nothing(c, QUIET_MS);
  ping(c, 7, 7);
  logout(c, 8, 8);
  st = sim_stop(&fx.extra);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  fx.ok = true;
}

/* ------------------------------------------------------------------ */
/* SequenceReset                                                       */
/* ------------------------------------------------------------------ */

static void test_gap_fill_equal(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  fc_send(c, "35=4|34=2|123=Y|36=10|");
  fc_expect_nothing(c, QUIET_MS);
  ping(c, 10, 2);
  fx.ok = true;
}

static void test_gap_fill_higher(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  fc_send(c, "35=4|34=5|123=Y|36=10|");
  fc_expect(c, REPLY_MS, "35=2|34=2|7=2|16=0|");
  fc_expect_nothing(c, QUIET_MS);
  fc_send(c, "35=4|34=2|43=Y|122=<now-1s>|123=Y|36=5|");
  fc_expect_nothing(c, QUIET_MS);
  /* The queued GapFill (34=5, 36=10) now applies. */
  ping(c, 10, 3);
  fx.ok = true;
}

static void test_gap_fill_lower(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  ping(c, 2, 2);
  fc_send(c, "35=4|34=1|43=Y|122=<now-1s>|123=Y|36=20|");
  fc_expect_nothing(c, QUIET_MS);
  ping(c, 3, 3);
  /* Without PossDup it is a number too low. */
  fc_send(c, "35=4|34=1|123=Y|36=20|");
  fc_expect(c, REPLY_MS, "35=5|34=4|58=MsgSeqNum too low, expecting 4 but received 1|");
  fc_expect_disconnect(c, CLOSE_MS);
  fx.ok = true;
}

/* Reset mode sets the next expected number whatever 34 says, without a ResendRequest. */
static void test_sequence_reset_reset(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  fc_send(c, "35=4|34=50|36=10|");
  fc_expect_nothing(c, QUIET_MS);
  ping(c, 10, 2);
  fc_send(c, "35=4|34=1|123=N|36=20|");
  fc_expect_nothing(c, QUIET_MS);
  ping(c, 20, 3);
  fx.ok = true;
}

/* Reset mode with NewSeqNo below the expected number: Reject 373=5. */
static void test_sequence_reset_lower(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  ping(c, 2, 2);
  ping(c, 3, 3);
  fc_send(c, "35=4|34=4|36=2|");
  fc_expect(c, REPLY_MS, "35=3|34=4|45=4|373=5|");
  fc_send(c, "35=4|34=4|123=N|36=3|");
  fc_expect(c, REPLY_MS, "35=3|34=5|45=4|373=5|");
  /* Whether or not a rejected Reset took its number, a good one sets the next. */
  fc_send(c, "35=4|34=6|36=10|");
  fc_expect_nothing(c, QUIET_MS);
  ping(c, 10, 6);
  fx.ok = true;
}

/*
 * The same with QuickFIX's bytes (test/definitions/server/fix44/
 * 11c_NewSeqNoLess.def): a Reset's MsgSeqNum is ignored, so 34=0 gets the
 * Reject of its NewSeqNo like any other, and takes no number.
 */
static void test_sequence_reset_lower_seq_zero(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  fc_send(c, "35=4|34=0|36=1|");
  fc_expect(c, REPLY_MS, "35=3|34=2|45=0|373=5|");
  ping(c, 2, 3);
  fc_send(c, "35=4|34=0|123=N|36=1|");
  fc_expect(c, REPLY_MS, "35=3|34=4|45=0|373=5|");
  ping(c, 3, 5);
  fx.ok = true;
}

/* ------------------------------------------------------------------ */
/* Validation: Reject 45/371/373, the number consumed, the session up   */
/* ------------------------------------------------------------------ */

/* Send @body as 34=2, expect Reject 45=2 @tag @reason, then a TestRequest 34=3 works. */
static void rejected(const char *body, unsigned tag, unsigned reason)
{
  struct fc_conn *c = logon(HB_S);
  fc_sendf(c, "%s", body);
  fc_expectf(c, REPLY_MS, "35=3|34=2|45=2|371=%u|373=%u|", tag, reason);
  ping(c, 3, 3);
  fc_expect_nothing(c, QUIET_MS);
  fx.ok = true;
}

static void test_reject_invalid_tag(void **state)
{
  (void)state;
  rejected("35=1|34=2|112=V|2000=X|", 2000, 0);
}

static void test_reject_required_tag_missing(void **state)
{
  (void)state;
  rejected("35=1|34=2|", 112, 1);
}

static void test_reject_tag_not_defined(void **state)
{
  (void)state;
  rejected("35=1|34=2|112=V|55=AAPL|", 55, 2);
}

static void test_reject_tag_without_value(void **state)
{
  (void)state;
  rejected("35=1|34=2|112=|", 112, 4);
}

static void test_reject_value_out_of_range(void **state)
{
  (void)state;
  rejected("35=D|34=2|11=V5|1=RESERVE|21=1|55=AAPL|54=Z|60=<now>|38=10|40=1|59=0|", 54, 5);
}

static void test_reject_bad_format(void **state)
{
  (void)state;
  rejected("35=D|34=2|11=V6|1=RESERVE|21=1|55=AAPL|54=1|60=<now>|38=1x|40=1|59=0|", 38, 6);
}

static void test_reject_repeated_tag(void **state)
{
  (void)state;
  rejected("35=1|34=2|112=A|112=B|", 112, 13);
}

static void test_reject_out_of_order(void **state)
{
  (void)state;
  rejected("35=1|34=2|112=V|115=LATE|", 115, 14);
}

static void test_reject_bad_num_in_group(void **state)
{
  (void)state;
  rejected("35=D|34=2|11=V16|1=RESERVE|21=1|55=AAPL|54=1|60=<now>|38=10|40=1|59=0|"
           "453=2|448=P1|447=D|452=1|",
           453, 16);
}

static void test_reject_invalid_msg_type(void **state)
{
  (void)state;
  rejected("35=ZZ|34=2|", 35, 11);
}

/* ------------------------------------------------------------------ */
/* Application messages and Logout                                     */
/* ------------------------------------------------------------------ */

static void test_unsupported_application_type(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  fc_send(c, "35=B|34=2|148=Hello|");
  fc_expect(c, REPLY_MS, "35=j|34=2|45=2|372=B|380=3|");
  ping(c, 3, 3);
  fx.ok = true;
}

static void test_unsolicited_logout(void **state)
{
  (void)state;
  struct fc_conn *c = logon(HB_S);
  fc_send(c, "35=5|34=2|58=bye|");
  fc_expect(c, REPLY_MS, "35=5|34=2|");
  fc_expect_disconnect(c, CLOSE_MS);
  fx.ok = true;
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
      CASE(test_logon_answered),
      CASE(test_logon_reset_seq_num),
      CASE(test_logon_unknown_sender),
      CASE(test_logon_wrong_target),
      CASE(test_logon_bad_sending_time),
      CASE(test_logon_bad_begin_string),
      CASE(test_first_message_not_logon),
      CASE(test_second_connection),
      CASE(test_logon_seq_too_high),
      CASE(test_seq_too_high_gap_fill),
      CASE(test_seq_too_high_resent),
      CASE(test_seq_too_low),
      CASE(test_poss_dup_already_seen),
      CASE(test_poss_dup_without_orig_sending_time),
      CASE(test_orig_sending_time_after_sending_time),
      CASE(test_garbage_ignored),
      CASE(test_bad_checksum_ignored),
      CASE(test_bad_body_length_ignored),
      CASE(test_header_out_of_order_ignored),
      CASE(test_sending_time_off),
      CASE(test_sending_time_in_future),
      CASE(test_sender_comp_id_mismatch),
      CASE(test_target_comp_id_mismatch),
      CASE(test_heartbeat_after_silence),
      CASE(test_test_request_answered),
      CASE(test_peer_silent),
      CASE(test_test_request_reply_keeps_session),
      CASE(test_resend_request),
      CASE(test_restart_resumes),
      CASE(test_gap_fill_equal),
      CASE(test_gap_fill_higher),
      CASE(test_gap_fill_lower),
      CASE(test_sequence_reset_reset),
      CASE(test_sequence_reset_lower),
      CASE(test_sequence_reset_lower_seq_zero),
      CASE(test_reject_invalid_tag),
      CASE(test_reject_required_tag_missing),
      CASE(test_reject_tag_not_defined),
      CASE(test_reject_tag_without_value),
      CASE(test_reject_value_out_of_range),
      CASE(test_reject_bad_format),
      CASE(test_reject_repeated_tag),
      CASE(test_reject_out_of_order),
      CASE(test_reject_bad_num_in_group),
      CASE(test_reject_invalid_msg_type),
      CASE(test_unsupported_application_type),
      CASE(test_unsolicited_logout),
  };
  fx.n_tests = sizeof tests / sizeof tests[0];
  signal(SIGPIPE, SIG_IGN);
  log_setup(LOGL_WARN, LOG_FORMAT_TEXT, stderr);
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
