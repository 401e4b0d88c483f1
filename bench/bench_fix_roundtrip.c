/*
 * The order round trip over loopback with the durable store on: an
 * initiator process sends NewOrderSingle, an acceptor process answers
 * each with a filled ExecutionReport; both are our FIX engine (session
 * layer, PostgreSQL message store, TCP driver) in two processes, and
 * both store every outgoing batch (messages and sequence numbers, one
 * transaction) before writing it.
 *
 * The bench starts its own PostgreSQL cluster with the service's
 * production settings (fsync on, synchronous_commit on), because a
 * durable store is only as fast as its commit.  It measures, in the same
 * run, the references a durable round trip cannot beat: the commit of a
 * one-row INSERT on that cluster and a 256-byte TCP ping-pong over
 * loopback.  A round trip needs at least two commits (ours before the
 * order, the broker's before the report) and one network round trip.
 *
 * Phases: 1,000 orders one at a time (latency p50/p99), then 10,000
 * orders with up to 200 in flight (orders per second; batching shows
 * here: one commit carries every frame of a loop turn).
 * Ends with "RATIO rt_vs_floor=<round-trip p50 / (2 commits + 1 TCP rtt)>".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"
#include "fix/fix.h"
#include "migrations/migrations.h"

#define SERIAL_N   1000
#define PIPE_N     10000
#define PIPE_DEPTH 200
#define REF_N      1000

static int64_t ns_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static int64_t pct(int64_t *v, size_t n, unsigned p)
{
  qsort(v, n, sizeof *v, cmp_i64);
  size_t i = n * p / 100;
  return v[i < n ? i : n - 1];
}

static void die(const char *what, int rc)
{
  fprintf(stderr, "bench_fix_roundtrip: %s: %s\n", what, rc ? err_text(rc) : strerror(errno));
  exit(1);
}

/* ------------------------------------------------------------------ */
/* The broker side: answers each order with a fill                     */
/* ------------------------------------------------------------------ */

static volatile int child_stop;
static void on_term(int sig)
{
  (void)sig;
  child_stop = 1;
}

static int broker_msg(void *ctx, struct fix_session *s, const struct fix_msg *m,
                      const struct fix_valid_info *info)
{
  uint64_t *n = ctx;
  char buf[1024], id[64], sym[16];
  struct fix_writer w;
  const char *out;
  size_t len;
  (void)info;
  if (!fix_msg_is(m, "D"))
    return 1;
  if (fix_msg_copy(m, 11, id, sizeof id) != 0 || fix_msg_copy(m, 55, sym, sizeof sym) != 0)
    return -ERR_FIX_MISSING;
  (*n)++;
  fix_writer_begin(&w, buf, sizeof buf, "8");
  size_t body0 = w.pos;
  char oid[32], eid[32];
  snprintf(oid, sizeof oid, "O%llu", (unsigned long long)*n);
  snprintf(eid, sizeof eid, "E%llu", (unsigned long long)*n);
  fix_writer_cstr(&w, 37, oid);
  fix_writer_cstr(&w, 17, eid);
  fix_writer_char(&w, 150, 'F');
  fix_writer_char(&w, 39, '2');
  fix_writer_cstr(&w, 11, id);
  fix_writer_cstr(&w, 55, sym);
  fix_writer_char(&w, 54, '1');
  fix_writer_cstr(&w, 38, "100");
  fix_writer_cstr(&w, 14, "100");
  fix_writer_cstr(&w, 151, "0");
  fix_writer_cstr(&w, 6, "189.5");
  fix_writer_cstr(&w, 32, "100");
  fix_writer_cstr(&w, 31, "189.5");
  fix_writer_time(&w, 60, util_now_ms());
  size_t body1 = w.pos;
  if (fix_writer_finish(&w, &out, &len) != 0)
    return -ERR_TOO_LONG;
  return fix_session_send(s, "8", buf + body0, body1 - body0, 0, util_now_ms());
}

static void run_broker(const char *conninfo, int port_fd)
{
  struct fix_net *n;
  struct fix_endpoint ep = {0};
  uint64_t count = 0;
  uint16_t port;
  int rc;
  signal(SIGTERM, on_term);
  fix_session_cfg_init(&ep.cfg, FIX_ACCEPTOR, "BROKER", "CLIENT");
  ep.app = (struct fix_app){.ctx = &count, .on_message = broker_msg};
  if ((rc = fix_net_create(conninfo, &n)) != 0 || (rc = fix_net_add(n, &ep, NULL)) != 0 ||
      (rc = fix_net_listen(n, "127.0.0.1", 0, &port)) != 0)
    die("broker setup", rc);
  if (write(port_fd, &port, sizeof port) != (ssize_t)sizeof port)
    die("pipe", 0);
  close(port_fd);
  rc = fix_net_run(n, &child_stop, 600000);
  fix_net_free(n);
  _exit(rc == 0 ? 0 : 1);
}

/* ------------------------------------------------------------------ */
/* The client side                                                     */
/* ------------------------------------------------------------------ */

struct client {
  volatile int stop;
  unsigned total, depth;
  unsigned sent, done;
  int64_t *t_send; /* ns, per order */
  int64_t *lat;
  int64_t t_first, t_last;
  unsigned base; /* order ids of this phase start here */
};

static int send_order(struct client *c, struct fix_session *s)
{
  char buf[512], id[32];
  struct fix_writer w;
  const char *out;
  size_t len;
  unsigned i = c->sent;
  snprintf(id, sizeof id, "ORD%u", c->base + i);
  fix_writer_begin(&w, buf, sizeof buf, "D");
  size_t body0 = w.pos;
  fix_writer_cstr(&w, 11, id);
  fix_writer_cstr(&w, 1, "RESERVE");
  fix_writer_char(&w, 21, '1');
  fix_writer_cstr(&w, 55, "AAPL");
  fix_writer_cstr(&w, 48, "US0378331005");
  fix_writer_char(&w, 22, '4');
  fix_writer_char(&w, 54, '1');
  fix_writer_time(&w, 60, util_now_ms());
  fix_writer_cstr(&w, 38, "100");
  fix_writer_char(&w, 40, '1');
  fix_writer_char(&w, 59, '0');
  fix_writer_char(&w, 544, '1');
  size_t body1 = w.pos;
  if (fix_writer_finish(&w, &out, &len) != 0)
    return -ERR_TOO_LONG;
  c->t_send[i] = ns_now();
  int rc = fix_session_send(s, "D", buf + body0, body1 - body0, c->base + i + 1, util_now_ms());
  if (rc == 0) {
    if (c->sent == 0)
      c->t_first = c->t_send[i];
    c->sent++;
  }
  return rc;
}

static void fill_window(struct client *c, struct fix_session *s)
{
  while (c->sent < c->total && c->sent - c->done < c->depth)
    if (send_order(c, s) != 0)
      break;
}

static int client_msg(void *ctx, struct fix_session *s, const struct fix_msg *m,
                      const struct fix_valid_info *info)
{
  struct client *c = ctx;
  char id[32];
  (void)info;
  if (!fix_msg_is(m, "8"))
    return 1;
  if (fix_msg_copy(m, 11, id, sizeof id) != 0 || strncmp(id, "ORD", 3) != 0)
    return -ERR_FIX_MISSING;
  unsigned k = (unsigned)strtoul(id + 3, NULL, 10) - c->base;
  if (k >= c->total)
    return 0;
  int64_t t = ns_now();
  c->lat[c->done++] = t - c->t_send[k];
  c->t_last = t;
  if (c->done == c->total)
    c->stop = 1;
  else
    fill_window(c, s);
  return 0;
}

static int64_t client_work(void *ctx, struct fix_session *s, int64_t now)
{
  (void)now;
  fill_window(ctx, s);
  return 50;
}

static void phase(const char *conninfo, uint16_t port, struct client *c, const char *name)
{
  struct fix_net *n;
  struct fix_endpoint ep = {0};
  int rc;
  fix_session_cfg_init(&ep.cfg, FIX_INITIATOR, "CLIENT", "BROKER");
  ep.app = (struct fix_app){.ctx = c, .on_message = client_msg, .on_work = client_work};
  ep.host = "127.0.0.1";
  ep.port = port;
  if ((rc = fix_net_create(conninfo, &n)) != 0 || (rc = fix_net_add(n, &ep, NULL)) != 0)
    die("client setup", rc);
  rc = fix_net_run(n, &c->stop, 300000);
  fix_net_free(n);
  if (rc != 0 || c->done != c->total) {
    fprintf(stderr, "bench_fix_roundtrip: %s: %u of %u orders answered\n", name, c->done, c->total);
    exit(1);
  }
}

/* ------------------------------------------------------------------ */
/* References                                                          */
/* ------------------------------------------------------------------ */

static int64_t ref_commit_p50(struct db_conn *c)
{
  static const struct db_stmt ins = {"bench_ins", "INSERT INTO bench_commit (v) VALUES ($1)", 1};
  int64_t *v = calloc(REF_N, sizeof *v);
  if (db_exec_sql(c, "CREATE TABLE IF NOT EXISTS bench_commit (v text)") < 0)
    die("create", -ERR_DB_HARD);
  for (unsigned i = 0; i < REF_N; i++) {
    const char *p[1] = {"x"};
    int64_t t = ns_now();
    if (db_exec(c, &ins, p, NULL) < 0)
      die("insert", -ERR_DB_HARD);
    v[i] = ns_now() - t;
  }
  int64_t r = pct(v, REF_N, 50);
  free(v);
  return r;
}

static int64_t ref_tcp_p50(void)
{
  int sv[2];
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t len = sizeof a;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
      getsockname(l, (struct sockaddr *)&a, &len) != 0)
    die("tcp ref", 0);
  pid_t pid = fork();
  if (pid == 0) {
    char b[256];
    int fd = accept(l, NULL, NULL);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (unsigned i = 0; i < REF_N; i++) {
      size_t got = 0;
      while (got < sizeof b) {
        ssize_t k = read(fd, b + got, sizeof b - got);
        if (k <= 0)
          _exit(1);
        got += (size_t)k;
      }
      if (write(fd, b, sizeof b) != (ssize_t)sizeof b)
        _exit(1);
    }
    _exit(0);
  }
  sv[0] = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(sv[0], (struct sockaddr *)&a, sizeof a) != 0)
    die("tcp connect", 0);
  int64_t *v = calloc(REF_N, sizeof *v);
  char b[256] = {0};
  for (unsigned i = 0; i < REF_N; i++) {
    int64_t t = ns_now();
    if (write(sv[0], b, sizeof b) != (ssize_t)sizeof b)
      die("tcp write", 0);
    size_t got = 0;
    while (got < sizeof b) {
      ssize_t k = read(sv[0], b + got, sizeof b - got);
      if (k <= 0)
        die("tcp read", 0);
      got += (size_t)k;
    }
    v[i] = ns_now() - t;
  }
  close(sv[0]);
  close(l);
  waitpid(pid, NULL, 0);
  int64_t r = pct(v, REF_N, 50);
  free(v);
  return r;
}

int main(void)
{
  char tmpl[] = "/tmp/bench-fix-rt.XXXXXX";
  struct db_cluster *cl = NULL;
  struct db_conn *c = NULL;
  struct db_migrate_result mr;
  char msg[512];
  int rc, fds[2];
  log_setup(LOGL_WARN, LOG_FORMAT_TEXT, stderr);
  if (mkdtemp(tmpl) == NULL)
    die("mkdtemp", 0);
  /* World-readable so that, run as root, the postgres user may enter it. */
  if (chmod(tmpl, 0755) != 0)
    die("chmod", 0);
  char data[300];
  snprintf(data, sizeof data, "%s/var", tmpl);
  if ((rc = db_cluster_start(data, "", 0, &cl)) != 0)
    die("PostgreSQL (fsync on)", rc);
  const char *conninfo = db_cluster_conninfo(cl);
  if ((rc = db_connect(conninfo, NULL, 3, &c)) != 0 ||
      (rc = db_migrate(c, migrations_all, migrations_count, &mr, msg, sizeof msg)) != 0)
    die("database", rc);
  char *fsync = NULL;
  PGresult *r = PQexec(c->pg, "SELECT current_setting('fsync') || '/' || "
                              "current_setting('synchronous_commit')");
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
    fsync = strdup(PQgetvalue(r, 0, 0));
  PQclear(r);

  int64_t commit = ref_commit_p50(c);
  int64_t tcp = ref_tcp_p50();

  if (pipe(fds) != 0)
    die("pipe", 0);
  fflush(NULL);
  pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    run_broker(conninfo, fds[1]);
  }
  close(fds[1]);
  uint16_t port = 0;
  if (read(fds[0], &port, sizeof port) != (ssize_t)sizeof port)
    die("broker did not start", 0);

  struct client a = {.total = SERIAL_N, .depth = 1, .base = 0};
  a.t_send = calloc(SERIAL_N, sizeof *a.t_send);
  a.lat = calloc(SERIAL_N, sizeof *a.lat);
  phase(conninfo, port, &a, "serial");
  int64_t p50 = pct(a.lat, a.done, 50), p99 = pct(a.lat, a.done, 99);

  struct client b = {.total = PIPE_N, .depth = PIPE_DEPTH, .base = 1000000};
  b.t_send = calloc(PIPE_N, sizeof *b.t_send);
  b.lat = calloc(PIPE_N, sizeof *b.lat);
  phase(conninfo, port, &b, "pipelined");
  double secs = (double)(b.t_last - b.t_first) / 1e9;
  int64_t bp50 = pct(b.lat, b.done, 50), bp99 = pct(b.lat, b.done, 99);

  kill(child, SIGTERM);
  waitpid(child, NULL, 0);

  /* What the stores hold: every order and every fill, each once. */
  char *orders = NULL, *fills = NULL;
  r = PQexec(c->pg, "SELECT count(*) FILTER (WHERE msg_type = 'D'), "
                    "count(*) FILTER (WHERE msg_type = '8') FROM fix_messages");
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
    orders = strdup(PQgetvalue(r, 0, 0));
    fills = strdup(PQgetvalue(r, 0, 1));
  }
  PQclear(r);
  db_close(c);
  db_cluster_stop(cl);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
  if (system(cmd) != 0)
    fprintf(stderr, "bench_fix_roundtrip: could not remove %s\n", tmpl);

  printf("PostgreSQL fsync/synchronous_commit: %s\n", fsync ? fsync : "?");
  printf("reference: one-row INSERT commit p50 %.1f us; 256-byte TCP ping-pong p50 %.1f us\n",
         commit / 1e3, tcp / 1e3);
  printf("round trip, one order at a time (%u): p50 %.1f us, p99 %.1f us\n", SERIAL_N, p50 / 1e3,
         p99 / 1e3);
  printf("round trip, up to %u in flight (%u): %.0f orders/s, p50 %.1f us, p99 %.1f us\n",
         PIPE_DEPTH, PIPE_N, PIPE_N / secs, bp50 / 1e3, bp99 / 1e3);
  printf("stored: %s NewOrderSingle, %s ExecutionReport\n", orders ? orders : "?",
         fills ? fills : "?");
  printf("RATIO rt_vs_floor=%.2f\n", (double)p50 / (double)(2 * commit + tcp));
  free(fsync);
  free(orders);
  free(fills);
  return 0;
}
