/*
 * Interoperability with QuickFIX (Debian libquickfix-dev), real processes
 * over TCP on 127.0.0.1 with a fresh database per test:
 *
 * test_connector_vs_quickfix: `backstock connector` logs on to
 * qf_acceptor (QuickFIX as the broker, FileStore, every message validated
 * against tests/fix/interop/FIX44.xml), an order placed with
 * fix_broker_place() is filled at QuickFIX's price exactly, SIGTERM logs
 * out, a restarted connector logs on with the next sequence number (no
 * reset).  Then two crashes in flight:
 *   - the acceptor is frozen (SIGSTOP) while our NewOrderSingle is in its
 *     socket buffer, killed, and restarted on its FileStore: QuickFIX asks
 *     for a resend from exactly that order's MsgSeqNum, gets it (PossDup)
 *     and fills it; our connector also asks for the order's status;
 *   - the connector is frozen while QuickFIX's fill is in its socket
 *     buffer, killed and restarted: it sees the gap, asks for a resend,
 *     and books the fill once.
 * QuickFIX never rejects (35=3) or business-rejects anything of ours.
 *
 * test_quickfix_vs_simbroker: qf_initiator (QuickFIX as a client) trades
 * with backstock-simbroker: three runs on one FileStore (buys, sells with
 * an ISIN, partial fills), every order filled at the simulated broker's
 * price, and sim_trades holds exactly those fills, under the ExecIDs
 * QuickFIX received.
 *
 * The QuickFIX programs are built only when meson found QuickFIX and a
 * C++ compiler; when they are missing these tests fail (never skip) and
 * say so.  Every wait is bounded; on failure each process's stdout and
 * stderr are printed.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fix/fix.h"
#include "tests/support/testsupport.h"

#define MAX_PROCS 16
#define MAX_ENV   16
#define START_MS  30000 /* a process is up / logged on */
#define STEP_MS   20000 /* an order is answered, a line appears */
#define STOP_MS   20000 /* a process exits after a signal */

struct proc {
  char name[32];
  pid_t pid; /* 0 once reaped */
  int status;
  char out[PATH_MAX + 64];
  char err[PATH_MAX + 64];
};

/* Every process a test started (apart from t, which their names point into). */
static struct proc procs[MAX_PROCS];
static unsigned n_procs;

static struct {
  char tmp[PATH_MAX];
  struct ts_db db;
  bool have_db;
  char url_env[2100];
  char path_env[PATH_MAX + 8];
  char data_env[PATH_MAX + 32];
  char reset_time[8]; /* "HH:MM" UTC, 12 hours from now: no daily reset during a test */
  char backstock[PATH_MAX], simbroker[PATH_MAX], qfa[PATH_MAX], qfi[PATH_MAX], dict[PATH_MAX];
  struct db_conn *c;
  bool ok;
} t;

/* ------------------------------------------------------------------ */
/* Processes and their output                                          */
/* ------------------------------------------------------------------ */

static void need_binary(char *out, const char *rel, const char *why)
{
  char p[PATH_MAX];
  ts_build_path(p, sizeof p, rel);
  if (realpath(p, out) == NULL || access(out, X_OK) != 0)
    fail_msg("%s is not built: %s", p, why);
}

static struct proc *start(const char *name, char *const argv[], const char *const env[])
{
  assert_true(n_procs < MAX_PROCS);
  struct proc *p = &procs[n_procs];
  snprintf(p->name, sizeof p->name, "%s", name);
  snprintf(p->out, sizeof p->out, "%s/%02u-%s.out", t.tmp, n_procs, name);
  snprintf(p->err, sizeof p->err, "%s/%02u-%s.err", t.tmp, n_procs, name);
  n_procs++;
  p->pid = ts_spawn(argv, env, p->out, p->err);
  return p;
}

/* Whether @p still runs (reaps it when it ended). */
static bool alive(struct proc *p)
{
  if (p->pid <= 0)
    return false;
  if (waitpid(p->pid, &p->status, WNOHANG) == p->pid) {
    p->pid = 0;
    return false;
  }
  return true;
}

/* Send @sig to @p and wait for its exit; returns the wait status. */
static int stop(struct proc *p, int sig)
{
  assert_true(p->pid > 0);
  ts_kill(p->pid, sig);
  if (!ts_wait_exit(p->pid, STOP_MS, &p->status))
    fail_msg("%s did not exit within %d ms of signal %d", p->name, STOP_MS, sig);
  p->pid = 0;
  return p->status;
}

static void stop_clean(struct proc *p)
{
  int st = stop(p, SIGTERM);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("%s: wait status %#x after SIGTERM, want exit 0", p->name, st);
}

/* Number of whole lines of @path starting with @prefix; the @nth one (1-based) into @buf. */
static unsigned lines(const char *path, const char *prefix, unsigned nth, char *buf, size_t size)
{
  char *text = NULL;
  size_t len = 0, pl = strlen(prefix);
  unsigned n = 0;
  if (util_read_file(path, 16u << 20, &text, &len) != 0)
    return 0;
  for (size_t i = 0; i < len;) {
    const char *nl = memchr(text + i, '\n', len - i);
    if (nl == NULL)
      break;
    size_t ll = (size_t)(nl - (text + i));
    if (ll >= pl && memcmp(text + i, prefix, pl) == 0 && ++n == nth && buf != NULL) {
      size_t k = ll < size - 1 ? ll : size - 1;
      memcpy(buf, text + i, k);
      buf[k] = '\0';
    }
    i += ll + 1;
  }
  free(text);
  return n;
}

/* Wait for the @nth line of @p's stdout starting with @prefix; fails on timeout or exit. */
static void expect_line(struct proc *p, const char *prefix, unsigned nth, unsigned ms, char *buf,
                        size_t size)
{
  int64_t end = util_mono_ms() + ms;
  for (;;) {
    if (lines(p->out, prefix, nth, buf, size) >= nth)
      return;
    bool up = alive(p);
    if (!up && lines(p->out, prefix, nth, buf, size) >= nth)
      return;
    if (!up)
      fail_msg("%s exited (wait status %#x) before line #%u \"%s...\"", p->name, p->status, nth,
               prefix);
    if (util_mono_ms() >= end)
      fail_msg("no line #%u \"%s...\" from %s within %u ms", nth, prefix, p->name, ms);
    util_sleep_ms(20);
  }
}

static void dump_all(void)
{
  for (unsigned i = 0; i < n_procs; i++) {
    char title[64];
    snprintf(title, sizeof title, "%s stdout", procs[i].name);
    ts_dump_file(title, procs[i].out);
    snprintf(title, sizeof title, "%s stderr", procs[i].name);
    ts_dump_file(title, procs[i].err);
  }
}

/*
 * Bytes waiting to be read on an established TCP socket whose local port
 * (@local) or remote port is @port: the largest such queue, from
 * /proc/net/tcp; fails the test when that file cannot be read.
 */
static unsigned long tcp_rx_queued(unsigned port, bool local)
{
  char *text = NULL;
  size_t len = 0;
  unsigned long best = 0;
  if (util_read_file("/proc/net/tcp", 4u << 20, &text, &len) != 0)
    fail_msg("cannot read /proc/net/tcp");
  for (char *line = text; line != NULL && *line != '\0';) {
    char *nl = strchr(line, '\n');
    if (nl != NULL)
      *nl = '\0';
    unsigned lport, rport, st;
    unsigned long txq, rxq;
    if (sscanf(line, " %*u: %*x:%x %*x:%x %x %lx:%lx", &lport, &rport, &st, &txq, &rxq) == 5 &&
        st == 1 && (local ? lport : rport) == port && rxq > best)
      best = rxq;
    line = nl != NULL ? nl + 1 : NULL;
  }
  free(text);
  return best;
}

static void expect_rx_queued(unsigned port, bool local, const char *what)
{
  int64_t end = util_mono_ms() + STEP_MS;
  while (tcp_rx_queued(port, local) == 0) {
    if (util_mono_ms() >= end)
      fail_msg("%s: no bytes waiting on port %u within %d ms", what, port, STEP_MS);
    util_sleep_ms(10);
  }
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static int setup(void **state)
{
  (void)state;
  memset(&t, 0, sizeof t);
  memset(procs, 0, sizeof procs);
  n_procs = 0;
  ts_tmpdir(t.tmp, sizeof t.tmp);
  ts_db_create("interop", &t.db);
  t.have_db = true;
  char conninfo[2048];
  ts_db_conninfo(&t.db, conninfo, sizeof conninfo);
  snprintf(t.url_env, sizeof t.url_env, "BACKSTOCK_DATABASE_URL=%s", conninfo);
  const char *path = getenv("PATH");
  snprintf(t.path_env, sizeof t.path_env, "PATH=%s", path != NULL ? path : "/usr/bin:/bin");
  snprintf(t.data_env, sizeof t.data_env, "BACKSTOCK_DATA_DIR=%s/var", t.tmp);
  time_t later = time(NULL) + 12 * 3600;
  struct tm tm;
  gmtime_r(&later, &tm);
  snprintf(t.reset_time, sizeof t.reset_time, "%02d:%02d", tm.tm_hour % 24, tm.tm_min % 60);
  ts_source_path(t.dict, sizeof t.dict, "tests/fix/interop/FIX44.xml");
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  if (!t.ok)
    dump_all();
  for (unsigned i = 0; i < n_procs; i++)
    if (procs[i].pid > 0) {
      ts_kill(procs[i].pid, SIGKILL);
      ts_wait_exit(procs[i].pid, STOP_MS, NULL);
    }
  db_close(t.c);
  if (t.have_db)
    ts_db_drop(&t.db);
  if (t.ok)
    ts_rmtree(t.tmp);
  else
    fprintf(stderr, "(files kept in %s)\n", t.tmp);
  return 0;
}

static void need_quickfix(char *out, const char *name)
{
  char rel[64];
  snprintf(rel, sizeof rel, "tests/fix/interop/%s", name);
  need_binary(out, rel,
              "meson found no QuickFIX (libquickfix-dev) or no C++ compiler; "
              "scripts/deps.sh installs both");
}

/* ------------------------------------------------------------------ */
/* Orders through the connector's C API                                */
/* ------------------------------------------------------------------ */

static struct money dec(const char *s, unsigned scale)
{
  struct money m;
  assert_int_equal(money_parse(s, strlen(s), scale, 0, &m), 0);
  return m;
}

static void assert_money(const char *what, struct money got, const char *want)
{
  struct money w;
  if (money_parse(want, strlen(want), got.scale, 0, &w) != 0 || money_cmp(got, w) != 0) {
    char g[MONEY_STR_MAX];
    money_format(got, g, sizeof g);
    fail_msg("%s: %s, want %s", what, g, want);
  }
}

static void place(uint64_t id, const char *symbol, enum fix_broker_side side, const char *qty,
                  const char *limit, const char *note)
{
  struct fix_broker_order_req req = {
      .id = id,
      .symbol = symbol,
      .side = side,
      .qty = dec(qty, FIX_BROKER_QTY_SCALE),
      .type = limit != NULL ? FIX_BROKER_LIMIT : FIX_BROKER_MARKET,
      .price = dec(limit != NULL ? limit : "0", FIX_BROKER_QTY_SCALE),
      .tif = FIX_BROKER_DAY,
      .note = note,
  };
  int rc = fix_broker_place(t.c, &req);
  if (rc != 0)
    fail_msg("fix_broker_place(%llu): %s", (unsigned long long)id, err_text(rc));
}

/* Wait until order @id reaches @state (or a final state); returns it as stored. */
static struct fix_broker_order wait_state(uint64_t id, enum fix_broker_state state)
{
  struct fix_broker_order o;
  int64_t end = util_mono_ms() + STEP_MS;
  for (;;) {
    int rc = fix_broker_get(t.c, id, &o);
    if (rc != 0)
      fail_msg("fix_broker_get(%llu): %s", (unsigned long long)id, err_text(rc));
    if (o.state == state || fix_broker_state_final(o.state))
      break;
    if (util_mono_ms() >= end)
      break;
    util_sleep_ms(20);
  }
  if (o.state != state)
    fail_msg("order %llu is %s (%s), want %s", (unsigned long long)id,
             fix_broker_state_name(o.state), o.last_text, fix_broker_state_name(state));
  return o;
}

static void expect_filled(uint64_t id, const char *qty, const char *px)
{
  struct fix_broker_order o = wait_state(id, FIX_BROKER_FILLED);
  assert_money("cum_qty", o.cum_qty, qty);
  assert_money("leaves_qty", o.leaves_qty, "0");
  assert_money("avg_px", o.avg_px, px);
}

/* money_format() without trailing fraction zeros: "189.50000000" -> "189.5", "10.000" -> "10". */
static void format_short(struct money m, char *buf, size_t size)
{
  money_format(m, buf, size);
  if (strchr(buf, '.') == NULL)
    return;
  size_t n = strlen(buf);
  while (n > 0 && buf[n - 1] == '0')
    buf[--n] = '\0';
  if (n > 0 && buf[n - 1] == '.')
    buf[--n] = '\0';
}

struct execs {
  unsigned n;
  char line[16][160];
};

static int collect_exec(void *cls, const struct fix_broker_exec *e)
{
  struct execs *x = cls;
  char q[MONEY_STR_MAX], p[MONEY_STR_MAX];
  if (x->n >= 16)
    return 1;
  format_short(e->last_qty, q, sizeof q);
  format_short(e->last_px, p, sizeof p);
  snprintf(x->line[x->n++], sizeof x->line[0], "%llu %c %s %s", (unsigned long long)e->order_id,
           e->exec_type, q, p);
  return 0;
}

/* ------------------------------------------------------------------ */
/* The connector against QuickFIX as the broker                        */
/* ------------------------------------------------------------------ */

static struct proc *start_acceptor(const char *name, unsigned port, const char *store,
                                   const char *price)
{
  char port_s[16];
  snprintf(port_s, sizeof port_s, "%u", port);
  char *argv[] = {t.qfa,         "--port",    port_s,     "--store", (char *)store,
                  "--target",    "BACKSTOCK", "--sender", "BROKER",  "--price",
                  (char *)price, "--dict",    t.dict,     NULL};
  const char *env[] = {t.path_env, NULL};
  struct proc *p = start(name, argv, env);
  expect_line(p, "listening ", 1, START_MS, NULL, 0);
  return p;
}

static struct proc *start_connector(const char *name, unsigned port)
{
  static char broker[64], reset[64];
  snprintf(broker, sizeof broker, "BACKSTOCK_BROKER=127.0.0.1:%u", port);
  snprintf(reset, sizeof reset, "BACKSTOCK_FIX_RESET_TIME=%s", t.reset_time);
  const char *env[MAX_ENV] = {t.url_env,
                              t.data_env,
                              t.path_env,
                              "BACKSTOCK_LOG_LEVEL=debug",
                              broker,
                              "BACKSTOCK_BROKER_SENDER_COMP_ID=BACKSTOCK",
                              "BACKSTOCK_BROKER_TARGET_COMP_ID=BROKER",
                              "BACKSTOCK_BROKER_ACCOUNT=RESERVE",
                              "BACKSTOCK_FIX_HEARTBEAT_S=30",
                              "BACKSTOCK_FIX_RESET_ON_LOGON=false",
                              "BACKSTOCK_FIX_TIME_ZONE=UTC",
                              reset,
                              NULL};
  char *argv[] = {t.backstock, "connector", NULL};
  return start(name, argv, env);
}

/* The @nth "logon <peer seq> <next in> <next out>" of @acc: the peer's Logon MsgSeqNum. */
static unsigned long logon_seq(struct proc *acc, unsigned nth)
{
  char line[128];
  unsigned long seq, in, out;
  expect_line(acc, "logon ", nth, START_MS, line, sizeof line);
  if (sscanf(line, "logon %lu %lu %lu", &seq, &in, &out) != 3)
    fail_msg("%s: bad line \"%s\"", acc->name, line);
  return seq;
}

static void expect_order_line(struct proc *acc, const char *want)
{
  char line[160], prefix[64];
  const char *sp = strchr(want + 6, ' ');
  snprintf(prefix, sizeof prefix, "%.*s", (int)(sp - want + 1), want); /* "order BSn " */
  expect_line(acc, prefix, 1, STEP_MS, line, sizeof line);
  assert_string_equal(line, want);
}

/* No 35=3 / 35=j against our messages, no "MsgSeqNum too low", exactly @orders new orders. */
static void expect_no_complaints(struct proc *acc, unsigned orders)
{
  char line[256];
  if (lines(acc->out, "reject ", 1, line, sizeof line) > 0)
    fail_msg("%s rejected one of our messages: %s", acc->name, line);
  if (lines(acc->out, "business_reject_in ", 1, line, sizeof line) > 0)
    fail_msg("%s got a BusinessMessageReject from us: %s", acc->name, line);
  if (lines(acc->out, "logout_sent MsgSeqNum too low", 1, line, sizeof line) > 0)
    fail_msg("%s: %s", acc->name, line);
  assert_int_equal(lines(acc->out, "order ", 0, NULL, 0), orders);
}

static void test_connector_vs_quickfix(void **state)
{
  (void)state;
  char store[PATH_MAX + 16], line[160];
  unsigned long seq;
  need_quickfix(t.qfa, "qf_acceptor");
  need_binary(t.backstock, "services/backstock", "the service binary");
  snprintf(store, sizeof store, "%s/qfstore", t.tmp);
  assert_int_equal(mkdir(store, 0755), 0);
  unsigned port = ts_free_port();

  /* 1. Logon, one order filled at QuickFIX's price, SIGTERM logs out. */
  struct proc *acc = start_acceptor("qf_acceptor-1", port, store, "189.50");
  struct proc *con = start_connector("connector-1", port);
  assert_int_equal(logon_seq(acc, 1), 1);
  t.c = ts_db_connect(&t.db, 10);
  place(1, "AAPL", FIX_BROKER_BUY, "10", NULL, NULL);
  expect_order_line(acc, "order BS1 AAPL 1 10");
  expect_filled(1, "10", "189.5");
  stop_clean(con);
  expect_line(acc, "logout ", 1, STEP_MS, line, sizeof line);
  assert_int_equal(sscanf(line, "logout %lu", &seq), 1);
  expect_line(acc, "disconnect", 1, STEP_MS, NULL, 0);

  /* 2. A restarted connector continues the sequence numbers. */
  con = start_connector("connector-2", port);
  assert_int_equal(logon_seq(acc, 2), seq + 1);
  place(2, "MSFT", FIX_BROKER_BUY, "3", "200", NULL);
  expect_order_line(acc, "order BS2 MSFT 1 3");
  expect_filled(2, "3", "189.5");

  /* 3. The acceptor dies with our order unread; its restart recovers it. */
  ts_kill(acc->pid, SIGSTOP);
  place(3, "AAPL", FIX_BROKER_BUY, "5", NULL, NULL);
  struct fix_broker_order o3 = wait_state(3, FIX_BROKER_SENT);
  assert_true(o3.sent_seq > seq + 1);
  expect_rx_queued(port, true, "the frozen acceptor");
  stop(acc, SIGKILL);
  expect_no_complaints(acc, 2);
  acc = start_acceptor("qf_acceptor-2", port, store, "190.25");
  assert_true(logon_seq(acc, 1) > o3.sent_seq);
  expect_line(acc, "resend ", 1, STEP_MS, line, sizeof line);
  char want[64];
  snprintf(want, sizeof want, "resend %llu 0", (unsigned long long)o3.sent_seq);
  assert_string_equal(line, want);
  expect_order_line(acc, "order BS3 AAPL 1 5");
  expect_filled(3, "5", "190.25");
  expect_line(acc, "status BS3", 1, STEP_MS, NULL, 0);

  /* 4. The connector dies with QuickFIX's fill unread; its restart asks for it. */
  place(4, "AAPL", FIX_BROKER_BUY, "2", NULL, "qf:delay:1500");
  wait_state(4, FIX_BROKER_NEW);
  ts_kill(con->pid, SIGSTOP);
  struct fix_broker_order o4;
  assert_int_equal(fix_broker_get(t.c, 4, &o4), 0);
  if (o4.state != FIX_BROKER_NEW) /* the 1.5 s delay was not enough on this machine */
    fail_msg("order 4 is %s before its fill was sent", fix_broker_state_name(o4.state));
  unsigned long fill_seq;
  expect_line(acc, "exec BS4 F ", 1, STEP_MS, line, sizeof line);
  assert_int_equal(sscanf(line, "exec BS4 F %lu N", &fill_seq), 1);
  expect_rx_queued(port, false, "the frozen connector");
  stop(con, SIGKILL);
  con = start_connector("connector-3", port);
  logon_seq(acc, 2);
  unsigned long begin, end;
  expect_line(acc, "resend_in ", 1, STEP_MS, line, sizeof line);
  assert_int_equal(sscanf(line, "resend_in %lu %lu", &begin, &end), 2);
  assert_true(begin <= fill_seq && (end == 0 || end >= fill_seq));
  char resent[64];
  expect_line(acc, "exec BS4 F ", 2, STEP_MS, line, sizeof line);
  snprintf(resent, sizeof resent, "exec BS4 F %lu Y", fill_seq); /* the same frame, PossDup */
  assert_string_equal(line, resent);
  expect_filled(4, "2", "190.25");

  /* 5. Clean ends, and what the connector booked: one trade per order. */
  stop_clean(con);
  expect_line(acc, "logout ", 1, STEP_MS, NULL, 0);
  stop_clean(acc);
  expect_line(acc, "stopped", 1, STEP_MS, NULL, 0);
  expect_no_complaints(acc, 2);
  struct execs x = {0};
  assert_int_equal(fix_broker_executions(t.c, 0, 0, 16, collect_exec, &x), 4);
  assert_string_equal(x.line[0], "1 F 10 189.5");
  assert_string_equal(x.line[1], "2 F 3 189.5");
  assert_string_equal(x.line[2], "3 F 5 190.25");
  assert_string_equal(x.line[3], "4 F 2 190.25");
  t.ok = true;
}

/* ------------------------------------------------------------------ */
/* QuickFIX as a client of the simulated broker                        */
/* ------------------------------------------------------------------ */

/* One qf_initiator run; every order must be filled (exit 0, "done <count>"). */
static struct proc *run_initiator(const char *name, unsigned port, const char *const *args,
                                  unsigned count)
{
  char port_s[16], store[PATH_MAX + 16], count_s[16], want[32];
  char *argv[32] = {t.qfi,      "--port",   port_s,   "--host",      "127.0.0.1", "--sender",
                    "QFCLIENT", "--target", "BROKER", "--dict",      t.dict,      "--store",
                    store,      "--count",  count_s,  "--timeout-s", "30"};
  size_t n = 17;
  snprintf(port_s, sizeof port_s, "%u", port);
  snprintf(store, sizeof store, "%s/qfi-store", t.tmp);
  snprintf(count_s, sizeof count_s, "%u", count);
  for (size_t i = 0; args[i] != NULL; i++) {
    assert_true(n + 1 < sizeof argv / sizeof argv[0]);
    argv[n++] = (char *)args[i];
  }
  argv[n] = NULL;
  const char *env[] = {t.path_env, NULL};
  struct proc *p = start(name, argv, env);
  if (!ts_wait_exit(p->pid, 60000, &p->status))
    fail_msg("%s did not finish within 60 s", name);
  p->pid = 0;
  snprintf(want, sizeof want, "done %u", count);
  char line[64];
  expect_line(p, "done ", 1, 0, line, sizeof line);
  assert_string_equal(line, want);
  if (!WIFEXITED(p->status) || WEXITSTATUS(p->status) != 0)
    fail_msg("%s: wait status %#x, want exit 0", name, p->status);
  return p;
}

/* "filled <id> <cum> <avg>" of @p for ClOrdID @id, values compared exactly. */
static void expect_fill_line(struct proc *p, const char *id, const char *qty, const char *px)
{
  char prefix[64], line[160], got_id[64], cum[64], avg[64];
  snprintf(prefix, sizeof prefix, "filled %s ", id);
  expect_line(p, prefix, 1, 0, line, sizeof line);
  assert_int_equal(sscanf(line, "filled %63s %63s %63s", got_id, cum, avg), 3);
  assert_money("CumQty", dec(cum, 6), qty);
  assert_money("AvgPx", dec(avg, 8), px);
}

/* Append the ExecIDs of the fills (ExecType F) @p received to @ids (space-separated). */
static void add_fill_exec_ids(struct proc *p, char *ids, size_t size, unsigned *n)
{
  char line[256], id[64], type[8], status[8], cum[64], avg[64], exec_id[64];
  unsigned total = lines(p->out, "exec ", 0, NULL, 0);
  for (unsigned i = 1; i <= total; i++) {
    lines(p->out, "exec ", i, line, sizeof line);
    if (sscanf(line, "exec %63s %7s %7s %63s %63s %63s", id, type, status, cum, avg, exec_id) ==
            6 &&
        strcmp(type, "F") == 0) {
      size_t len = strlen(ids);
      snprintf(ids + len, size - len, "%s%s", len > 0 ? " " : "", exec_id);
      (*n)++;
    }
  }
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* @ids (space-separated) sorted by strcmp, in place. */
static void sort_words(char *ids)
{
  char *words[64], copy[4096], *save = NULL;
  size_t n = 0;
  snprintf(copy, sizeof copy, "%s", ids);
  for (char *w = strtok_r(copy, " ", &save); w != NULL && n < 64; w = strtok_r(NULL, " ", &save))
    words[n++] = w;
  qsort(words, n, sizeof words[0], cmp_str);
  ids[0] = '\0';
  size_t len = 0;
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(ids + len, 4096 - len, "%s%s", i > 0 ? " " : "", words[i]);
}

static void test_quickfix_vs_simbroker(void **state)
{
  (void)state;
  need_quickfix(t.qfi, "qf_initiator");
  need_binary(t.simbroker, "services/backstock-simbroker", "the simulated broker");
  char cfg[PATH_MAX + 16], line[160];
  snprintf(cfg, sizeof cfg, "%s/simbroker.conf", t.tmp);
  FILE *f = fopen(cfg, "w");
  assert_non_null(f);
  fprintf(f,
          "# written by test_fix_interop\n"
          "listen = 127.0.0.1:0\nsender_comp_id = BROKER\ntarget_comp_ids = QFCLIENT\n"
          "reset_time = %s\ntime_zone = UTC\nsettle_days = 1\n"
          "price.AAPL = 189.50\nprice.MSFT = 410.25\nbehaviour.default = fill\n",
          t.reset_time);
  assert_int_equal(fclose(f), 0);

  char *argv[] = {t.simbroker, "--config", cfg, NULL};
  const char *env[] = {t.url_env, t.path_env, NULL};
  struct proc *sim = start("simbroker", argv, env);
  unsigned port;
  expect_line(sim, "simbroker listening 127.0.0.1:", 1, START_MS, line, sizeof line);
  assert_int_equal(sscanf(line, "simbroker listening 127.0.0.1:%u", &port), 1);

  /* Buys, sells with an ISIN, partial fills: one FileStore, so one continuing session. */
  const char *a_args[] = {"--symbol", "AAPL",      "--qty",  "10", "--prefix",
                          "QFA-",     "--account", "QFACCT", NULL};
  const char *b_args[] = {"--symbol", "MSFT",   "--side",       "2", "--qty", "7", "--prefix",
                          "QFB-",     "--isin", "US5949181045", NULL};
  const char *c_args[] = {"--symbol",         "AAPL", "--qty", "9", "--prefix", "QFC-", "--text",
                          "sim:partial:3:20", NULL};
  struct proc *a = run_initiator("qf_initiator-A", port, a_args, 3);
  struct proc *b = run_initiator("qf_initiator-B", port, b_args, 2);
  struct proc *c = run_initiator("qf_initiator-C", port, c_args, 2);
  expect_fill_line(a, "QFA-1", "10", "189.5");
  expect_fill_line(a, "QFA-2", "10", "189.5");
  expect_fill_line(a, "QFA-3", "10", "189.5");
  expect_fill_line(b, "QFB-1", "7", "410.25");
  expect_fill_line(b, "QFB-2", "7", "410.25");
  expect_fill_line(c, "QFC-1", "9", "189.5");
  expect_fill_line(c, "QFC-2", "9", "189.5");
  struct proc *runs[] = {a, b, c};
  for (unsigned i = 0; i < 3; i++)
    if (lines(runs[i]->out, "reject", 0, NULL, 0) > 0)
      fail_msg("%s rejected a message of the simulated broker (or was rejected)", runs[i]->name);
  stop_clean(sim);

  /* The blotter holds exactly these fills, under the ExecIDs QuickFIX received. */
  t.c = ts_db_connect(&t.db, 10);
  char *got = ts_sql_value(
      t.c, "SELECT string_agg(concat_ws(' ', cl_ord_id, session, coalesce(account, '-'), symbol, "
           "coalesce(isin, '-'), side, quantity, price, status), ';' ORDER BY cl_ord_id COLLATE "
           "\"C\", trade_id COLLATE \"C\") FROM sim_trades");
  assert_string_equal(got, "QFA-1 BROKER->QFCLIENT QFACCT AAPL - buy 10.000000 189.500000 booked;"
                           "QFA-2 BROKER->QFCLIENT QFACCT AAPL - buy 10.000000 189.500000 booked;"
                           "QFA-3 BROKER->QFCLIENT QFACCT AAPL - buy 10.000000 189.500000 booked;"
                           "QFB-1 BROKER->QFCLIENT - MSFT US5949181045 sell 7.000000 410.250000 "
                           "booked;"
                           "QFB-2 BROKER->QFCLIENT - MSFT US5949181045 sell 7.000000 410.250000 "
                           "booked;"
                           "QFC-1 BROKER->QFCLIENT - AAPL - buy 3.000000 189.500000 booked;"
                           "QFC-1 BROKER->QFCLIENT - AAPL - buy 3.000000 189.500000 booked;"
                           "QFC-1 BROKER->QFCLIENT - AAPL - buy 3.000000 189.500000 booked;"
                           "QFC-2 BROKER->QFCLIENT - AAPL - buy 3.000000 189.500000 booked;"
                           "QFC-2 BROKER->QFCLIENT - AAPL - buy 3.000000 189.500000 booked;"
                           "QFC-2 BROKER->QFCLIENT - AAPL - buy 3.000000 189.500000 booked");
  free(got);
  char ids[4096] = "";
  unsigned n = 0;
  for (unsigned i = 0; i < 3; i++)
    add_fill_exec_ids(runs[i], ids, sizeof ids, &n);
  assert_int_equal(n, 11);
  sort_words(ids);
  got = ts_sql_value(t.c, "SELECT string_agg(trade_id, ' ' ORDER BY trade_id COLLATE \"C\") "
                          "FROM sim_trades");
  assert_string_equal(got, ids);
  free(got);
  t.ok = true;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_connector_vs_quickfix, setup, teardown),
      cmocka_unit_test_setup_teardown(test_quickfix_vs_simbroker, setup, teardown),
  };
  return cmocka_run_group_tests_name("fix_interop", tests, NULL, NULL);
}
