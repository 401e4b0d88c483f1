/*
 * Unit tests of the session state machine (fix/fix_session.c) with no
 * I/O: messages are written in pipe notation, framed with the codec and
 * fed to the session with a fake clock; what the session queues is read
 * back from its outbox and checked field by field.  A fake store reader
 * holds the "stored" application messages for resends.  The same rows
 * are tested over TCP against the real processes in
 * test_fix_session_acceptor.c and test_fix_session_initiator.c; here the
 * corner cases are cheap to reach (timers, queues, rate limit).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fix/fix.h"

#define T0 1795000000000LL /* 2026-11-18, a fixed clock */

struct fake {
  struct fix_session *s;
  int64_t now;
  char frame[4096];
  struct fix_msg msg;
  /* what the application saw */
  unsigned app_msgs, logons, disconnects;
  char last_app_type[4];
  int app_rc;
  /* stored messages for resends */
  struct fix_stored stored[8];
  size_t n_stored;
};

static int fake_load(void *ctx, uint64_t from, uint64_t to, fix_stored_fn fn, void *cls)
{
  struct fake *f = ctx;
  for (size_t i = 0; i < f->n_stored; i++)
    if (f->stored[i].seq >= from && f->stored[i].seq <= to && fn(cls, &f->stored[i]) != 0)
      return -1;
  return 0;
}

static int on_message(void *ctx, struct fix_session *s, const struct fix_msg *m,
                      const struct fix_valid_info *info)
{
  struct fake *f = ctx;
  (void)s;
  (void)info;
  f->app_msgs++;
  snprintf(f->last_app_type, sizeof f->last_app_type, "%.*s", (int)m->msg_type_len, m->msg_type);
  return f->app_rc;
}

static void on_logon(void *ctx, struct fix_session *s)
{
  (void)s;
  ((struct fake *)ctx)->logons++;
}

static void on_disconnect(void *ctx, struct fix_session *s, const char *why)
{
  (void)s;
  (void)why;
  ((struct fake *)ctx)->disconnects++;
}

/* "35=A|34=1|52=now|..." -> a framed message; "now" and "now-N" (seconds) in 52/122. */
static const struct fix_msg *mk(struct fake *f, const char *pipe)
{
  char type[8] = "";
  char tmp[1024];
  struct fix_writer w;
  const char *out;
  size_t len;
  snprintf(tmp, sizeof tmp, "%s", pipe);
  assert_true(strncmp(tmp, "35=", 3) == 0);
  size_t tl = strcspn(tmp + 3, "|");
  memcpy(type, tmp + 3, tl);
  fix_writer_begin(&w, f->frame, sizeof f->frame, type);
  char *p = tmp + 3 + tl + 1;
  while (*p != '\0') {
    char *bar = strchr(p, '|');
    assert_non_null(bar);
    *bar = '\0';
    char *eq = strchr(p, '=');
    assert_non_null(eq);
    *eq = '\0';
    uint32_t tag = (uint32_t)strtoul(p, NULL, 10);
    const char *v = eq + 1;
    if (strncmp(v, "now", 3) == 0)
      fix_writer_time(&w, tag, f->now + (v[3] == '-' ? -1000 * strtol(v + 4, NULL, 10) : 0));
    else
      fix_writer_cstr(&w, tag, v);
    p = bar + 1;
  }
  assert_int_equal(fix_writer_finish(&w, &out, &len), 0);
  assert_int_equal(fix_parse(out, len, &f->msg, NULL), 0);
  return &f->msg;
}

static void feed(struct fake *f, const char *pipe)
{
  fix_session_on_msg(f->s, mk(f, pipe), f->now);
}

/* Outbox entry @i as a parsed message. */
static struct fix_msg out_msg;
static const struct fix_msg *out_at(struct fake *f, size_t i)
{
  size_t n;
  const char *buf;
  const struct fix_out *o = fix_session_outbox(f->s, &n, &buf);
  if (i >= n)
    fail_msg("outbox has %zu frames, wanted #%zu", n, i);
  assert_int_equal(fix_parse(buf + o[i].frame_off, o[i].frame_len, &out_msg, NULL), 0);
  return &out_msg;
}

static size_t out_n(struct fake *f)
{
  size_t n;
  const char *buf;
  fix_session_outbox(f->s, &n, &buf);
  return n;
}

static void expect_field(const struct fix_msg *m, uint32_t tag, const char *want)
{
  char v[256];
  if (want == NULL) {
    assert_null(fix_msg_find(m, tag));
    return;
  }
  if (fix_msg_copy(m, tag, v, sizeof v) != 0)
    fail_msg("tag %u missing (want %s)", tag, want);
  if (strcmp(v, want) != 0)
    fail_msg("tag %u is '%s', want '%s'", tag, v, want);
}

/* Check "35=0|112=X|" against outbox entry @i. */
static void expect_out(struct fake *f, size_t i, const char *pipe)
{
  const struct fix_msg *m = out_at(f, i);
  char tmp[512];
  snprintf(tmp, sizeof tmp, "%s", pipe);
  for (char *p = tmp; *p != '\0';) {
    char *bar = strchr(p, '|');
    *bar = '\0';
    char *eq = strchr(p, '=');
    *eq = '\0';
    uint32_t tag = (uint32_t)strtoul(p, NULL, 10);
    expect_field(m, tag, strcmp(eq + 1, "<absent>") == 0 ? NULL : eq + 1);
    p = bar + 1;
  }
}

static void sent(struct fake *f)
{
  fix_session_stored(f->s);
  fix_session_sent(f->s, f->now);
}

static struct fake *setup_role(enum fix_role role)
{
  struct fake *f = calloc(1, sizeof *f);
  struct fix_session_cfg cfg;
  struct fix_app app = {
      .ctx = f, .on_message = on_message, .on_logon = on_logon, .on_disconnect = on_disconnect};
  struct fix_store_reader rd = {.ctx = f, .load = fake_load};
  f->now = T0;
  if (role == FIX_ACCEPTOR)
    fix_session_cfg_init(&cfg, role, "BROKER", "CLIENT");
  else
    fix_session_cfg_init(&cfg, role, "CLIENT", "BROKER");
  cfg.heartbeat_s = 10;
  assert_int_equal(fix_session_create(&cfg, &app, &rd, &f->s), 0);
  return f;
}

static void teardown_fake(struct fake *f)
{
  fix_session_free(f->s);
  free(f);
}

/* An acceptor logged on with the client at next in 2, next out 2. */
static struct fake *logged_on(void)
{
  struct fake *f = setup_role(FIX_ACCEPTOR);
  fix_session_connected(f->s, f->now);
  feed(f, "35=A|34=1|49=CLIENT|52=now|56=BROKER|98=0|108=10|");
  assert_int_equal(fix_session_state(f->s), FIX_ST_ACTIVE);
  sent(f);
  return f;
}

static void test_logon_answered(void **state)
{
  (void)state;
  struct fake *f = setup_role(FIX_ACCEPTOR);
  fix_session_set_seqs(f->s, 7, 1);
  fix_session_connected(f->s, f->now);
  feed(f, "35=A|34=1|49=CLIENT|52=now|56=BROKER|98=0|108=17|");
  assert_int_equal(out_n(f), 1);
  expect_out(f, 0, "35=A|34=7|49=BROKER|56=CLIENT|98=0|108=17|141=<absent>|");
  assert_int_equal(f->logons, 1);
  assert_int_equal(fix_session_next_in(f->s), 2);
  assert_int_equal(fix_session_next_out(f->s), 8);
  teardown_fake(f);
}

static void test_logon_reset(void **state)
{
  (void)state;
  struct fake *f = setup_role(FIX_ACCEPTOR);
  fix_session_set_seqs(f->s, 40, 30);
  fix_session_connected(f->s, f->now);
  feed(f, "35=A|34=1|49=CLIENT|52=now|56=BROKER|98=0|108=5|141=Y|");
  expect_out(f, 0, "35=A|34=1|108=5|141=Y|");
  assert_int_equal(fix_session_next_in(f->s), 2);
  assert_int_equal(fix_session_next_out(f->s), 2);
  assert_true(fix_session_take_reset(f->s));
  assert_false(fix_session_take_reset(f->s));
  teardown_fake(f);
}

static void test_logon_refused(void **state)
{
  (void)state;
  static const char *bad[] = {
      "35=0|34=1|49=CLIENT|52=now|56=BROKER|",                /* not a Logon */
      "35=A|34=1|49=OTHER|52=now|56=BROKER|98=0|108=5|",      /* sender */
      "35=A|34=1|49=CLIENT|52=now|56=OTHER|98=0|108=5|",      /* target */
      "35=A|34=1|49=CLIENT|52=now-121|56=BROKER|98=0|108=5|", /* SendingTime */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    struct fake *f = setup_role(FIX_ACCEPTOR);
    fix_session_connected(f->s, f->now);
    feed(f, bad[i]);
    assert_int_equal(fix_session_state(f->s), FIX_ST_CLOSING);
    assert_int_equal(out_n(f), 0);
    assert_int_equal(f->logons, 0);
    teardown_fake(f);
  }
}

static void test_gap_queue_and_drain(void **state)
{
  (void)state;
  struct fake *f = logged_on();
  feed(f, "35=1|34=4|49=CLIENT|52=now|56=BROKER|112=LATE|");
  assert_int_equal(out_n(f), 1);
  expect_out(f, 0, "35=2|34=2|7=2|16=0|");
  sent(f);
  /* a second message beyond the gap: queued, no second ResendRequest */
  feed(f, "35=1|34=5|49=CLIENT|52=now|56=BROKER|112=LATER|");
  assert_int_equal(out_n(f), 0);
  /* the gap is filled: 2 and 3 by a GapFill, then 4 and 5 come out of the queue in order */
  feed(f, "35=4|34=2|43=Y|49=CLIENT|52=now|56=BROKER|122=now|123=Y|36=4|");
  assert_int_equal(out_n(f), 2);
  expect_out(f, 0, "35=0|34=3|112=LATE|");
  expect_out(f, 1, "35=0|34=4|112=LATER|");
  assert_int_equal(fix_session_next_in(f->s), 6);
  teardown_fake(f);
}

static void test_too_low(void **state)
{
  (void)state;
  struct fake *f = logged_on();
  feed(f, "35=0|34=1|49=CLIENT|52=now|56=BROKER|");
  expect_out(f, 0, "35=5|58=MsgSeqNum too low, expecting 2 but received 1|");
  assert_int_equal(fix_session_state(f->s), FIX_ST_CLOSING);
  teardown_fake(f);
}

static void test_possdup(void **state)
{
  (void)state;
  struct fake *f = logged_on();
  feed(f, "35=0|34=1|43=Y|49=CLIENT|52=now|56=BROKER|122=now-1|");
  assert_int_equal(out_n(f), 0);
  assert_int_equal(fix_session_state(f->s), FIX_ST_ACTIVE);
  feed(f, "35=0|34=1|43=Y|49=CLIENT|52=now|56=BROKER|");
  expect_out(f, 0, "35=3|45=1|371=122|373=1|");
  assert_int_equal(fix_session_next_in(f->s), 2);
  sent(f);
  feed(f, "35=0|34=2|43=Y|49=CLIENT|52=now-10|56=BROKER|122=now|");
  expect_out(f, 0, "35=3|45=2|371=122|373=10|");
  expect_out(f, 1, "35=5|");
  assert_int_equal(fix_session_state(f->s), FIX_ST_CLOSING);
  teardown_fake(f);
}

static void test_sending_time_and_compid(void **state)
{
  (void)state;
  struct fake *f = logged_on();
  feed(f, "35=0|34=2|49=CLIENT|52=now-121|56=BROKER|");
  expect_out(f, 0, "35=3|45=2|373=10|");
  expect_out(f, 1, "35=5|");
  teardown_fake(f);
  f = logged_on();
  feed(f, "35=0|34=2|49=INTRUDER|52=now|56=BROKER|");
  expect_out(f, 0, "35=3|45=2|371=49|373=9|");
  expect_out(f, 1, "35=5|");
  assert_int_equal(fix_session_state(f->s), FIX_ST_CLOSING);
  teardown_fake(f);
}

static void test_resend_answer(void **state)
{
  (void)state;
  struct fake *f = logged_on(); /* our Logon was 1 */
  /* we "sent" 2 (a Heartbeat), 3 and 5 (stored ExecutionReports), 4 (admin) */
  fix_session_set_seqs(f->s, 6, 2);
  f->stored[0] = (struct fix_stored){
      .seq = 3, .msg_type = "8", .sending_ms = T0 - 5000, .body = "37=O1\x01", .body_len = 6};
  f->stored[1] = (struct fix_stored){
      .seq = 5, .msg_type = "8", .sending_ms = T0 - 4000, .body = "37=O2\x01", .body_len = 6};
  f->n_stored = 2;
  feed(f, "35=2|34=2|49=CLIENT|52=now|56=BROKER|7=1|16=0|");
  assert_int_equal(out_n(f), 4);
  expect_out(f, 0, "35=4|34=1|43=Y|123=Y|36=3|");
  expect_out(f, 1, "35=8|34=3|43=Y|122=20261118-11:06:35.000|37=O1|");
  expect_out(f, 2, "35=4|34=4|123=Y|36=5|");
  expect_out(f, 3, "35=8|34=5|43=Y|37=O2|");
  assert_int_equal(fix_session_next_out(f->s), 6); /* resends consume nothing */
  teardown_fake(f);
}

static void test_sequence_reset(void **state)
{
  (void)state;
  struct fake *f = logged_on();
  feed(f, "35=4|34=99|49=CLIENT|52=now|56=BROKER|36=20|");
  assert_int_equal(out_n(f), 0);
  assert_int_equal(fix_session_next_in(f->s), 20);
  feed(f, "35=4|34=20|49=CLIENT|52=now|56=BROKER|36=10|");
  expect_out(f, 0, "35=3|45=20|371=36|373=5|");
  assert_int_equal(fix_session_next_in(f->s), 20);
  sent(f);
  /* GapFill lower with PossDup and an old number: ignored */
  feed(f, "35=4|34=3|43=Y|49=CLIENT|52=now|56=BROKER|122=now|123=Y|36=4|");
  assert_int_equal(out_n(f), 0);
  teardown_fake(f);
}

static void test_reject_and_business_reject(void **state)
{
  (void)state;
  struct fake *f = logged_on();
  feed(f, "35=1|34=2|49=CLIENT|52=now|56=BROKER|");
  expect_out(f, 0, "35=3|45=2|371=112|373=1|");
  assert_int_equal(fix_session_next_in(f->s), 3);
  sent(f);
  feed(f, "35=E|34=3|49=CLIENT|52=now|56=BROKER|");
  expect_out(f, 0, "35=j|45=3|372=E|380=3|");
  sent(f);
  f->app_rc = 1; /* the application does not handle PositionReports */
  feed(f, "35=AP|34=4|49=CLIENT|52=now|56=BROKER|721=P1|715=20261118|728=0|");
  if (out_n(f) == 1 && fix_msg_is(out_at(f, 0), "3"))
    fail_msg("PositionReport rejected by validation, not the application");
  assert_int_equal(f->app_msgs, 1);
  expect_out(f, 0, "35=j|45=4|372=AP|380=3|");
  assert_int_equal(fix_session_state(f->s), FIX_ST_ACTIVE);
  teardown_fake(f);
}

static void test_app_failure_not_consumed(void **state)
{
  (void)state;
  struct fake *f = logged_on();
  f->app_rc = -ERR_DB_HARD; /* the fill could not be recorded */
  feed(f, "35=8|34=2|49=CLIENT|52=now|56=BROKER|37=O|17=E|150=F|39=2|55=X|54=1|14=1|151=0|6=1|");
  assert_int_equal(f->app_msgs, 1);
  assert_int_equal(fix_session_next_in(f->s), 2); /* asked for again after the next Logon */
  assert_int_equal(fix_session_state(f->s), FIX_ST_CLOSING);
  teardown_fake(f);
}

static void test_timers(void **state)
{
  (void)state;
  struct fake *f = logged_on(); /* HeartBtInt 10 */
  f->now += 10000;
  fix_session_tick(f->s, f->now);
  expect_out(f, 0, "35=0|112=<absent>|");
  sent(f);
  feed(f, "35=1|34=2|49=CLIENT|52=now|56=BROKER|112=PING|");
  expect_out(f, 0, "35=0|112=PING|");
  sent(f);
  f->now += 12000; /* 1.2 x HeartBtInt without a word */
  fix_session_tick(f->s, f->now);
  assert_int_equal(out_n(f), 1); /* the TestRequest breaks our silence too: no Heartbeat */
  expect_out(f, 0, "35=1|112=TEST1|");
  sent(f);
  f->now += 12000; /* 2.4 x */
  fix_session_tick(f->s, f->now);
  assert_int_equal(fix_session_state(f->s), FIX_ST_CLOSING);
  fix_session_disconnected(f->s, "test");
  assert_int_equal(f->disconnects, 1);
  teardown_fake(f);
}

static void test_logout_exchange(void **state)
{
  (void)state;
  struct fake *f = logged_on();
  feed(f, "35=5|34=2|49=CLIENT|52=now|56=BROKER|58=bye|");
  expect_out(f, 0, "35=5|34=2|");
  assert_int_equal(fix_session_state(f->s), FIX_ST_CLOSING);
  teardown_fake(f);
  f = logged_on();
  fix_session_logout(f->s, "done", f->now);
  expect_out(f, 0, "35=5|58=done|");
  assert_int_equal(fix_session_state(f->s), FIX_ST_LOGOUT_SENT);
  sent(f);
  feed(f, "35=5|34=2|49=CLIENT|52=now|56=BROKER|");
  assert_int_equal(out_n(f), 0);
  assert_int_equal(fix_session_state(f->s), FIX_ST_CLOSING);
  teardown_fake(f);
}

static void test_rate_limit(void **state)
{
  (void)state;
  struct fake *f = setup_role(FIX_INITIATOR);
  fix_session_free(f->s);
  struct fix_session_cfg cfg;
  struct fix_app app = {.ctx = f, .on_message = on_message};
  fix_session_cfg_init(&cfg, FIX_INITIATOR, "CLIENT", "BROKER");
  cfg.rate_per_s = 2;
  cfg.rate_burst = 2;
  assert_int_equal(fix_session_create(&cfg, &app, NULL, &f->s), 0);
  assert_int_equal(fix_session_send(f->s, "D", "11=A\x01", 5, 1, f->now), -ERR_FIX_NOT_LOGGED_ON);
  fix_session_connected(f->s, f->now);
  expect_out(f, 0, "35=A|34=1|108=30|98=0|");
  sent(f);
  feed(f, "35=A|34=1|49=BROKER|52=now|56=CLIENT|98=0|108=30|");
  assert_int_equal(fix_session_state(f->s), FIX_ST_ACTIVE);
  assert_int_equal(fix_session_send(f->s, "D", "11=A\x01", 5, 1, f->now), 0);
  assert_int_equal(fix_session_send(f->s, "D", "11=B\x01", 5, 2, f->now), 0);
  assert_int_equal(fix_session_send(f->s, "D", "11=C\x01", 5, 3, f->now), -ERR_FIX_RATE);
  assert_int_equal(fix_session_rate_wait_ms(f->s, f->now), 500);
  f->now += 500;
  assert_int_equal(fix_session_send(f->s, "D", "11=C\x01", 5, 3, f->now), 0);
  assert_int_equal(out_n(f), 3);
  expect_out(f, 2, "35=D|34=4|11=C|");
  size_t n;
  const char *buf;
  const struct fix_out *o = fix_session_outbox(f->s, &n, &buf);
  assert_true(o[2].stored && o[2].seq_consumed);
  assert_int_equal(o[2].app_ref, 3);
  assert_int_equal(o[2].body_len, 5);
  assert_memory_equal(buf + o[2].body_off, "11=C\x01", 5);
  teardown_fake(f);
}

int main(void)
{
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, NULL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_logon_answered),
      cmocka_unit_test(test_logon_reset),
      cmocka_unit_test(test_logon_refused),
      cmocka_unit_test(test_gap_queue_and_drain),
      cmocka_unit_test(test_too_low),
      cmocka_unit_test(test_possdup),
      cmocka_unit_test(test_sending_time_and_compid),
      cmocka_unit_test(test_resend_answer),
      cmocka_unit_test(test_sequence_reset),
      cmocka_unit_test(test_reject_and_business_reject),
      cmocka_unit_test(test_app_failure_not_consumed),
      cmocka_unit_test(test_timers),
      cmocka_unit_test(test_logout_exchange),
      cmocka_unit_test(test_rate_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
