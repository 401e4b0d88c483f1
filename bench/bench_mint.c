/*
 * Mint orders over HTTP with durable commit, next to pgbench running the
 * same inserts against the same PostgreSQL in the same run.
 *
 * The bench starts its own PostgreSQL cluster with the service's
 * production settings (fsync on, synchronous_commit on), migrates it and
 * seeds, straight in SQL: an AP principal and its API key, an instrument
 * (AAPL) open for orders all day with wide size limits, an allow-listed
 * wallet, and the shared clock moved to 15:00 UTC of the next NYSE
 * business day (the clock only moves forward).  It then runs the real
 * service, `backstock serve` (argv[1]), as a child on that database and
 * a free port, and POSTs /v1/orders/mint from 32 keep-alive connections
 * (its own HTTP/1.1 client over one epoll loop; every request a fresh
 * Idempotency-Key and its own quantity, price and client_ref): a warm-up,
 * then the measured run, each request's latency in integer nanoseconds
 * from its first byte written to its reply's last byte read.  Every
 * reply must be 201 and every order stored with its three events.
 *
 * The reference: pgbench (argv[2], the writes the endpoint commits,
 * statement for statement: its order row with its three order_events and
 * its api_idempotency record) with 32 clients, prepared statements, the
 * same number of transactions, on the same cluster, after its own
 * warm-up; its per-transaction log gives its p50/p99.  It runs at
 * PostgreSQL's default isolation (READ COMMITTED): the floor of those
 * inserts.  The same statements at the service's SERIALIZABLE conflict
 * with each other on the index pages every new row lands on (the
 * foreign-key check of order_events against orders, the ON CONFLICT
 * check of api_idempotency), and pgbench, which retries at once, then
 * mostly measures its retries (BACKSTOCK_BENCH_PGBENCH_SERIALIZABLE=1
 * shows it; docs/bench.md).
 *
 * For each phase it also prints what PostgreSQL did per request (commits,
 * WAL syncs, WAL bytes, rows inserted: pg_stat_database, pg_stat_wal),
 * the CPU spent per request by our cluster's processes, the service and
 * the client (or pgbench), which other load on the machine does not
 * change, and the service's serialization failures: what a slow ratio is
 * explained with.
 *
 * Ends with "RATIO mint_vs_pgbench=<ours tps / pgbench tps> mint_p99_ms=<p99>
 * cpu_vs_pgbench=<pgbench CPU per transaction / ours per request>"; the
 * last is the steadier figure on a machine that runs other work too.
 * Environment: BACKSTOCK_BENCH_MINT_N (measured requests, default 10240,
 * rounded down to a multiple of 32), BACKSTOCK_HTTP_THREADS and
 * BACKSTOCK_DB_POOL_SIZE (passed to the service when set; else it runs
 * with its defaults), BACKSTOCK_BENCH_KEEP=1
 * (keep the folder with the service's log and pgbench's output and logs).
 * The service's serialization failures (it retries them, db_txn) are
 * counted from PostgreSQL's log; any reply other than 201 fails the bench
 * after its figures are printed.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "db/db.h"
#include "migrations/migrations.h"

#define CONNS         32
#define WARM_N        1024
#define RUN_N         10240
#define START_MS      90000  /* the service up */
#define STALL_MS      30000  /* no reply at all for this long: give up */
#define PGBENCH_MS    600000 /* one pgbench run */
#define STOP_MS       30000
#define STATS_IDLE_MS 11000 /* backends flush their statistics when idle this long */
#define WALLET        "0x00000000000000000000000000000000000be4c4"
#define SYMBOL        "AAPL"
#define REQ_MAX       2048
#define REPLY_MAX     16384

extern char **environ;

static char tmpdir[] = "/tmp/bench-mint.XXXXXX";
static pid_t service_pid;

static int64_t ns_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
  va_list ap;
  int e = errno;
  fputs("bench_mint: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (errno: %s)\n", strerror(e));
  if (service_pid > 0)
    kill(service_pid, SIGKILL);
  fprintf(stderr, "bench_mint: logs are kept in %s\n", tmpdir);
  exit(1);
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile @p of @v[0..n) sorted ascending. */
static int64_t pct(const int64_t *v, size_t n, unsigned p)
{
  size_t rank = (n * p + 99) / 100;
  return v[rank == 0 ? 0 : rank - 1];
}

static void path_in(char *out, size_t size, const char *name)
{
  int n = snprintf(out, size, "%s/%s", tmpdir, name);
  if (n < 0 || (size_t)n >= size)
    die("path too long: %s/%s", tmpdir, name);
}

/* ------------------------------------------------------------------ */
/* Database: seed, counters                                            */
/* ------------------------------------------------------------------ */

static PGresult *sql(struct db_conn *c, const char *q, int n, const char *const *params)
{
  PGresult *r = PQexecParams(c->pg, q, n, NULL, params, NULL, NULL, 0);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
    die("SQL failed: %s: %s", q, PQresultErrorMessage(r));
  return r;
}

/* One text value of a one-row query; the caller frees it. */
static char *sql_value(struct db_conn *c, const char *q, int n, const char *const *params)
{
  PGresult *r = sql(c, q, n, params);
  if (PQntuples(r) != 1)
    die("SQL gave %d rows: %s", PQntuples(r), q);
  char *v = strdup(PQgetvalue(r, 0, 0));
  PQclear(r);
  return v;
}

struct seed {
  char key[API_KEY_TEXT_MAX];
  char ap[24];
  char instrument[24];
  int64_t session_ms; /* where the clock was moved to */
};

struct ap_cls {
  struct api_principal p;
  struct api_key_info k;
  char *key;
};

static enum db_qs make_ap(struct db_conn *c, void *cls)
{
  struct ap_cls *a = cls;
  return api_principal_create(c, "bench-ap", API_ROLE_AP, API_TIME_NONE, &a->p, &a->k, a->key);
}

/* 15:00 UTC (10:00 or 11:00 in New York) of the next NYSE business day. */
static int64_t next_session_ms(void)
{
  struct cal cal;
  unsigned line = 0;
  int32_t day = (int32_t)(util_now_ms() / 86400000) + 1, out;
  cal_init(&cal);
  if (cal_load_closures(&cal, cal_builtin_closures, cal_builtin_closures_len, &line) != 0 ||
      cal_add_business_days(&cal, day, 0, &out) != 0)
    die("calendar");
  cal_free(&cal);
  return (int64_t)out * 86400000 + 15 * 3600000;
}

static void seed(struct db_conn *c, struct seed *s)
{
  struct ap_cls a = {.key = s->key};
  int rc = db_txn(c, "bench_ap", make_ap, &a);
  if (rc != 0)
    die("AP principal: %s", err_text(rc));
  snprintf(s->ap, sizeof s->ap, "%lld", (long long)a.p.id);
  char *v = sql_value(
      c,
      "INSERT INTO instruments (symbol, isin, token_symbol, token_decimals, mint_policy,"
      " burn_policy, min_order_qty, max_order_qty, fee_flat, fee_rate, market_open, market_close,"
      " cutoff, out_of_hours) VALUES ('" SYMBOL "', 'US0378331005', 'AAPLx', 18, 'at_settlement',"
      " 'on_receipt', 0.000001, 1000000, 1.00, 0.0025, '00:00', '23:59', '23:58', 'refuse')"
      " RETURNING id",
      0, NULL);
  snprintf(s->instrument, sizeof s->instrument, "%s", v);
  free(v);
  const char *p1[] = {s->ap};
  PQclear(sql(c, "INSERT INTO ap_wallets (ap, address, label) VALUES ($1, '" WALLET "', 'bench')",
              1, p1));
  char ms[24];
  s->session_ms = next_session_ms();
  snprintf(ms, sizeof ms, "%lld", (long long)s->session_ms);
  const char *p2[] = {ms};
  PQclear(sql(c,
              "UPDATE clock SET anchor_wall = now(), updated_at = now(),"
              " anchor_virtual = 'epoch'::timestamptz + $1::bigint * interval '1 millisecond'"
              " WHERE id = 1",
              1, p2));
}

/* What PostgreSQL did, cumulative: compared before and after a phase. */
struct pgstat {
  double commits, inserted, wal_syncs, wal_writes, wal_bytes, wal_records;
};

static void pgstat_read(struct db_conn *c, struct pgstat *s)
{
  /* Statistics are per backend until flushed: ask for a fresh snapshot. */
  PQclear(sql(c, "SELECT pg_stat_clear_snapshot()", 0, NULL));
  PGresult *r = sql(c,
                    "SELECT d.xact_commit, d.tup_inserted, w.wal_sync, w.wal_write, w.wal_bytes,"
                    " w.wal_records FROM pg_stat_database d, pg_stat_wal w"
                    " WHERE d.datname = current_database()",
                    0, NULL);
  s->commits = strtod(PQgetvalue(r, 0, 0), NULL);
  s->inserted = strtod(PQgetvalue(r, 0, 1), NULL);
  s->wal_syncs = strtod(PQgetvalue(r, 0, 2), NULL);
  s->wal_writes = strtod(PQgetvalue(r, 0, 3), NULL);
  s->wal_bytes = strtod(PQgetvalue(r, 0, 4), NULL);
  s->wal_records = strtod(PQgetvalue(r, 0, 5), NULL);
  PQclear(r);
}

/* Serialization failures PostgreSQL logged so far (its log, ERROR lines). */
static unsigned serialization_failures(void)
{
  char path[128], *text = NULL;
  unsigned n = 0;
  path_in(path, sizeof path, "var/log/postgresql.log");
  if (util_read_file(path, (size_t)1 << 30, &text, NULL) != 0)
    return 0;
  for (const char *p = text; (p = strstr(p, "could not serialize access")) != NULL; p++)
    n++;
  free(text);
  return n;
}

/* ------------------------------------------------------------------ */
/* CPU                                                                 */
/* ------------------------------------------------------------------ */

struct cpu {
  long long busy, total; /* /proc/stat jiffies, all CPUs */
  long long service;     /* the service's utime + stime, jiffies */
  long long pg;          /* our cluster's processes, jiffies (see pg_jiffies) */
  int64_t self_us;       /* this process (the client) */
  int64_t children_us;   /* reaped children (pgbench) */
};

static pid_t postmaster_pid;

/* utime, stime, cutime, cstime and the parent of /proc/<pid>/stat; 0 or -1. */
static int proc_times(long pid, long long t[4], long *ppid)
{
  char path[64], *text = NULL;
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  if (util_read_file(path, 1 << 16, &text, NULL) != 0)
    return -1;
  const char *p = strrchr(text, ')');
  /* After "(comm)": state, ppid, 9 fields, then utime stime cutime cstime. */
  int n = p == NULL
              ? 0
              : sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld %lld %lld",
                       ppid, &t[0], &t[1], &t[2], &t[3]);
  free(text);
  return n == 5 ? 0 : -1;
}

/*
 * CPU of our PostgreSQL cluster: the postmaster with its reaped children
 * (backends that ended) plus its live children.  The difference of two
 * readings is what the cluster spent in between, other processes on the
 * machine excluded.
 */
static long long pg_jiffies(void)
{
  long long t[4], sum = 0;
  long ppid;
  if (postmaster_pid <= 0 || proc_times(postmaster_pid, t, &ppid) != 0)
    return 0;
  sum = t[0] + t[1] + t[2] + t[3];
  DIR *d = opendir("/proc");
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end == '\0' && pid > 0 && proc_times(pid, t, &ppid) == 0 && ppid == postmaster_pid)
      sum += t[0] + t[1];
  }
  if (d != NULL)
    closedir(d);
  return sum;
}

static int64_t tv_us(struct timeval a, struct timeval b)
{
  return (int64_t)a.tv_sec * 1000000 + a.tv_usec + (int64_t)b.tv_sec * 1000000 + b.tv_usec;
}

static void cpu_read(struct cpu *c)
{
  long long v[10] = {0}, t[4];
  long ppid;
  char *text = NULL;
  memset(c, 0, sizeof *c);
  if (util_read_file("/proc/stat", 1 << 20, &text, NULL) == 0) {
    sscanf(text, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3], &v[4],
           &v[5], &v[6], &v[7]);
    for (int i = 0; i < 8; i++)
      c->total += v[i];
    c->busy = c->total - v[3] - v[4]; /* less idle and iowait */
    free(text);
  }
  if (service_pid > 0 && proc_times(service_pid, t, &ppid) == 0)
    c->service = t[0] + t[1];
  c->pg = pg_jiffies();
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  c->self_us = tv_us(ru.ru_utime, ru.ru_stime);
  getrusage(RUSAGE_CHILDREN, &ru);
  c->children_us = tv_us(ru.ru_utime, ru.ru_stime);
}

/* Print what one phase cost per request; returns its CPU per request (us). */
static double print_costs(const char *who, double n, const struct pgstat *a, const struct pgstat *b,
                          const struct cpu *ca, const struct cpu *cb, bool ours)
{
  printf("  %s per request: %.2f commits, %.2f WAL syncs, %.2f WAL writes, %.0f WAL bytes,"
         " %.1f WAL records, %.2f rows inserted\n",
         who, (b->commits - a->commits) / n, (b->wal_syncs - a->wal_syncs) / n,
         (b->wal_writes - a->wal_writes) / n, (b->wal_bytes - a->wal_bytes) / n,
         (b->wal_records - a->wal_records) / n, (b->inserted - a->inserted) / n);
  double total = (double)(cb->total - ca->total), us = 1e6 / (double)sysconf(_SC_CLK_TCK);
  double pg = (double)(cb->pg - ca->pg) * us / n;
  double client =
      (double)(ours ? cb->self_us - ca->self_us : cb->children_us - ca->children_us) / n;
  double service = ours ? (double)(cb->service - ca->service) * us / n : 0.0;
  printf("  %s CPU per request: PostgreSQL %.0f us", who, pg);
  if (ours)
    printf(", service %.0f us", service);
  printf(", %s %.0f us, together %.0f us (machine busy %.0f%% of %ld CPUs, other processes"
         " included)",
         ours ? "client" : "pgbench", client, pg + service + client,
         total > 0 ? 100.0 * (double)(cb->busy - ca->busy) / total : 0.0,
         sysconf(_SC_NPROCESSORS_ONLN));
  printf("\n");
  return pg + service + client;
}

/* ------------------------------------------------------------------ */
/* The service                                                         */
/* ------------------------------------------------------------------ */

static uint16_t service_start(const char *bin, const char *conninfo)
{
  char env_db[2048], env_dir[160], env_threads[64], env_pool[64], logpath[128], datadir[128];
  int fds[2];
  const char *threads = getenv("BACKSTOCK_HTTP_THREADS");
  const char *pool = getenv("BACKSTOCK_DB_POOL_SIZE");
  path_in(datadir, sizeof datadir, "service");
  path_in(logpath, sizeof logpath, "service.log");
  snprintf(env_db, sizeof env_db, "BACKSTOCK_DATABASE_URL=%s", conninfo);
  snprintf(env_dir, sizeof env_dir, "BACKSTOCK_DATA_DIR=%s", datadir);
  snprintf(env_threads, sizeof env_threads, "BACKSTOCK_HTTP_THREADS=%s", threads ? threads : "");
  snprintf(env_pool, sizeof env_pool, "BACKSTOCK_DB_POOL_SIZE=%s", pool ? pool : "");
  /* The service's own defaults unless the bench was given other sizes. */
  char *env[] = {
      "PATH=/usr/local/bin:/usr/bin:/bin", env_db, env_dir, "BACKSTOCK_LISTEN=127.0.0.1:0",
      "BACKSTOCK_LOG_LEVEL=info",          NULL,   NULL,    NULL};
  size_t n = 5;
  if (threads != NULL)
    env[n++] = env_threads;
  if (pool != NULL)
    env[n++] = env_pool;
  char *const argv[] = {(char *)bin, "serve", NULL};
  if (mkdir(datadir, 0700) != 0 || pipe(fds) != 0)
    die("service folder or pipe");
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    int log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int null = open("/dev/null", O_RDONLY);
    if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(log, 2) < 0)
      _exit(126);
    close(fds[0]);
    setpgid(0, 0);
    execve(bin, argv, env);
    _exit(127);
  }
  service_pid = pid;
  close(fds[1]);
  /* "backstock is up: curl http://127.0.0.1:<port>/healthz ..." */
  char line[512];
  size_t len = 0;
  int64_t deadline = util_mono_ms() + START_MS;
  unsigned port = 0;
  while (port == 0) {
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    int64_t left = deadline - util_mono_ms();
    if (left <= 0 || poll(&p, 1, (int)left) <= 0)
      die("the service did not start within %d ms; see %s", START_MS, logpath);
    ssize_t k = read(fds[0], line + len, sizeof line - 1 - len);
    if (k <= 0)
      die("the service exited at start; see %s", logpath);
    len += (size_t)k;
    line[len] = '\0';
    const char *at = strstr(line, "http://127.0.0.1:");
    if (at != NULL && strchr(at, '\n') != NULL)
      port = (unsigned)strtoul(at + strlen("http://127.0.0.1:"), NULL, 10);
    else if (len == sizeof line - 1)
      die("unexpected output from the service: %s", line);
  }
  close(fds[0]);
  if (port == 0 || port > 65535)
    die("no port in the service's output: %s", line);
  return (uint16_t)port;
}

/* Wait for @pid up to @ms; 1 when it exited (*status set), 0 when not. */
static int wait_bounded(pid_t pid, unsigned ms, int *status)
{
  int64_t deadline = util_mono_ms() + ms;
  for (;;) {
    pid_t w = waitpid(pid, status, WNOHANG);
    if (w == pid)
      return 1;
    if (w < 0 && errno != EINTR)
      return 1;
    if (util_mono_ms() >= deadline)
      return 0;
    util_sleep_ms(20);
  }
}

static void service_stop(void)
{
  int st = 0;
  kill(service_pid, SIGTERM);
  if (!wait_bounded(service_pid, STOP_MS, &st)) {
    kill(service_pid, SIGKILL);
    wait_bounded(service_pid, STOP_MS, &st);
    fprintf(stderr, "bench_mint: the service did not stop on SIGTERM\n");
  }
  service_pid = 0;
}

/* ------------------------------------------------------------------ */
/* The HTTP load: CONNS keep-alive connections, one epoll loop          */
/* ------------------------------------------------------------------ */

struct hconn {
  int fd;
  bool busy;
  unsigned idx; /* request index within the phase */
  int64_t t0;
  size_t out_len, out_off;
  char out[REQ_MAX];
  size_t in_len;
  char in[REPLY_MAX];
};

struct load {
  uint16_t port;
  const char *key;
  const char *tag;                       /* Idempotency-Key prefix of the phase */
  unsigned total, issued, done, ok, bad; /* ok: replies 201 (their latencies in lat) */
  size_t reply_bytes;                    /* bodies of the replies, summed */
  int64_t *lat;
  int64_t t_first, t_last;
  char first_bad[600];
};

/* splitmix64's finaliser: a bijection, so distinct @n give distinct keys. */
static uint64_t mix64(uint64_t x)
{
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/*
 * The mint request number @n of the phase into @c->out.  Its
 * Idempotency-Key is random-looking, as clients' UUIDs are (keys in
 * sequence would all land on one page of the table's index).
 */
static void build_request(const struct load *l, unsigned n, struct hconn *c)
{
  char body[512];
  /* Quantity 1..50 shares, limit 150.00..150.99: every order its own. */
  int blen = snprintf(body, sizeof body,
                      "{\"symbol\":\"" SYMBOL "\",\"quantity\":\"%u\",\"limit_price\":\"150.%02u\","
                      "\"wallet\":\"" WALLET "\",\"client_ref\":\"%s-%u\"}",
                      1 + n % 50, n % 100, l->tag, n);
  int len = snprintf(c->out, sizeof c->out,
                     "POST /v1/orders/mint HTTP/1.1\r\n"
                     "Host: 127.0.0.1:%u\r\n"
                     "Authorization: Bearer %s\r\n"
                     "Idempotency-Key: %s-%016llx\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %d\r\n"
                     "\r\n%s",
                     l->port, l->key, l->tag, (unsigned long long)mix64(n), blen, body);
  if (blen < 0 || (size_t)blen >= sizeof body || len < 0 || (size_t)len >= sizeof c->out)
    die("request too long");
  c->out_len = (size_t)len;
  c->out_off = 0;
}

static void send_some(int ep, struct hconn *c)
{
  while (c->out_off < c->out_len) {
    ssize_t k = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (k < 0)
      die("write to the service");
    c->out_off += (size_t)k;
  }
  struct epoll_event ev = {.events = EPOLLIN | (c->out_off < c->out_len ? EPOLLOUT : 0u),
                           .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
    die("epoll_ctl");
}

static void next_request(int ep, struct load *l, struct hconn *c)
{
  if (l->issued >= l->total) {
    c->busy = false;
    return;
  }
  c->idx = l->issued++;
  build_request(l, c->idx, c);
  c->busy = true;
  c->in_len = 0;
  c->t0 = ns_now();
  if (l->t_first == 0)
    l->t_first = c->t0;
  send_some(ep, c);
}

/* A whole reply in @c->in: its length, else 0.  Sets *status. */
static size_t reply_complete(const struct hconn *c, unsigned *status)
{
  const char *end = strstr(c->in, "\r\n\r\n");
  if (end == NULL)
    return 0;
  size_t head = (size_t)(end - c->in) + 4;
  if (strncmp(c->in, "HTTP/1.1 ", 9) != 0)
    die("not an HTTP/1.1 reply: %.80s", c->in);
  *status = (unsigned)strtoul(c->in + 9, NULL, 10);
  const char *cl = strcasestr(c->in, "\r\nContent-Length:");
  if (cl == NULL || cl > end)
    die("reply without Content-Length: %.300s", c->in);
  size_t body = (size_t)strtoul(cl + 17, NULL, 10);
  if (head + body >= sizeof c->in)
    die("reply over %d bytes", REPLY_MAX);
  return c->in_len >= head + body ? head + body : 0;
}

static void on_readable(int ep, struct load *l, struct hconn *c)
{
  for (;;) {
    ssize_t k = read(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len);
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (k < 0)
      die("read from the service");
    if (k == 0)
      die("the service closed a connection (request %u of %s)", c->idx, l->tag);
    c->in_len += (size_t)k;
    c->in[c->in_len] = '\0';
    unsigned status = 0;
    size_t whole = reply_complete(c, &status);
    if (whole == 0)
      continue;
    int64_t t = ns_now();
    if (!c->busy || whole != c->in_len)
      die("a reply nobody asked for");
    l->done++;
    if (status == 201) {
      l->lat[l->ok++] = t - c->t0;
      l->reply_bytes += whole - (size_t)(strstr(c->in, "\r\n\r\n") + 4 - c->in);
    }
    l->t_last = t;
    if (status != 201 && l->bad++ == 0)
      snprintf(l->first_bad, sizeof l->first_bad, "%u: %s", status, strstr(c->in, "\r\n\r\n") + 4);
    next_request(ep, l, c);
    return;
  }
}

static int connect_one(uint16_t port)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
      connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
    die("connect to the service on port %u", port);
  return fd;
}

/* Run @l->total requests over CONNS connections; fills l->lat and the times. */
static void run_load(struct load *l)
{
  struct hconn *conns = calloc(CONNS, sizeof *conns);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  l->lat = calloc(l->total, sizeof *l->lat);
  if (conns == NULL || ep < 0 || l->lat == NULL)
    die("out of memory");
  for (unsigned i = 0; i < CONNS; i++) {
    conns[i].fd = connect_one(l->port);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) != 0)
      die("epoll_ctl");
  }
  for (unsigned i = 0; i < CONNS; i++)
    next_request(ep, l, &conns[i]);
  int64_t last_progress = util_mono_ms();
  while (l->done < l->total) {
    struct epoll_event evs[CONNS];
    int n = epoll_wait(ep, evs, CONNS, 1000);
    if (n < 0 && errno != EINTR)
      die("epoll_wait");
    unsigned before = l->done;
    for (int i = 0; i < n; i++) {
      struct hconn *c = evs[i].data.ptr;
      if (evs[i].events & EPOLLOUT)
        send_some(ep, c);
      if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_readable(ep, l, c);
    }
    if (l->done != before)
      last_progress = util_mono_ms();
    else if (util_mono_ms() - last_progress > STALL_MS)
      die("no reply for %d ms (%u of %u done in %s)", STALL_MS, l->done, l->total, l->tag);
  }
  for (unsigned i = 0; i < CONNS; i++)
    close(conns[i].fd);
  close(ep);
  free(conns);
  if (l->bad > 0)
    fprintf(stderr, "bench_mint: %u of %u replies were not 201 in %s; the first: %s\n", l->bad,
            l->total, l->tag, l->first_bad);
}

/* ------------------------------------------------------------------ */
/* pgbench                                                             */
/* ------------------------------------------------------------------ */

/* The highest /usr/lib/postgresql/<version>/bin/pgbench, else PATH's. */
static void find_pgbench(char *out, size_t size)
{
  for (int v = 30; v >= 12; v--) {
    snprintf(out, size, "/usr/lib/postgresql/%d/bin/pgbench", v);
    if (access(out, X_OK) == 0)
      return;
  }
  snprintf(out, size, "%s", "/usr/bin/pgbench");
  if (access(out, X_OK) != 0)
    die("pgbench not found (Debian: package postgresql-15)");
}

struct pgb {
  double tps, lat_avg_ms, lat_sd_ms;
  unsigned long done, failed, retried;
  int64_t *lat; /* ns, from the per-transaction log (us resolution) */
  size_t n;
};

static double field_after(const char *text, const char *label)
{
  const char *p = strstr(text, label);
  return p != NULL ? strtod(p + strlen(label), NULL) : -1.0;
}

/* Latencies of every pgbench_log.* file (field 3: microseconds). */
static void read_pgbench_logs(const char *dir, const char *prefix, struct pgb *r, size_t cap)
{
  char cmd[300], path[256];
  snprintf(cmd, sizeof cmd, "ls '%s' | grep '^%s\\.'", dir, prefix);
  FILE *ls = popen(cmd, "r");
  if (ls == NULL)
    die("ls");
  r->lat = calloc(cap, sizeof *r->lat);
  while (fgets(path, sizeof path, ls) != NULL) {
    char full[400];
    path[strcspn(path, "\n")] = '\0';
    snprintf(full, sizeof full, "%s/%s", dir, path);
    FILE *f = fopen(full, "r");
    char line[256];
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
      long long client, tno, us;
      if (sscanf(line, "%lld %lld %lld", &client, &tno, &us) == 3 && r->n < cap)
        r->lat[r->n++] = (int64_t)us * 1000;
    }
    if (f != NULL)
      fclose(f);
  }
  pclose(ls);
}

/*
 * pgbench -n -M prepared -c CONNS -j 2 -t @per_client -f @script with the
 * service's session settings; with @log, the per-transaction log too.
 */
static void run_pgbench(const char *pgbench, const char *script, const char *conninfo,
                        const struct seed *s, size_t reply_bytes, unsigned per_client, bool log,
                        const char *name, struct pgb *r)
{
  char t[16], ap[40], ins[48], day[32], deadline[48], rep[32], prefix[160], outpath[128],
      logdir[128], dir_name[64];
  snprintf(t, sizeof t, "%u", per_client);
  snprintf(ap, sizeof ap, "ap=%s", s->ap);
  snprintf(ins, sizeof ins, "instrument=%s", s->instrument);
  snprintf(day, sizeof day, "day=%lld", (long long)(s->session_ms / 86400000));
  /* The cutoff, 23:58 in New York: 03:58 or 04:58 UTC the next day. */
  snprintf(deadline, sizeof deadline, "deadline=%lld",
           (long long)(s->session_ms - 15 * 3600000 + 86400000 + 4 * 3600000 + 58 * 60000));
  snprintf(rep, sizeof rep, "reply=%zu", reply_bytes);
  snprintf(dir_name, sizeof dir_name, "pgbench-%s", name);
  path_in(logdir, sizeof logdir, dir_name);
  snprintf(prefix, sizeof prefix, "--log-prefix=%s/pgb", logdir);
  snprintf(dir_name, sizeof dir_name, "pgbench-%s.out", name);
  path_in(outpath, sizeof outpath, dir_name);
  if (mkdir(logdir, 0700) != 0)
    die("mkdir %s", logdir);
  char *argv[32];
  unsigned k = 0;
  bool serializable = getenv("BACKSTOCK_BENCH_PGBENCH_SERIALIZABLE") != NULL;
  char *fixed[] = {
      (char *)pgbench,   "-n", "-M", "prepared", "-c", "32", "-j", "2",  "-t",     t,    "-P", "5",
      "--max-tries=100", "-D", ap,   "-D",       ins,  "-D", day,  "-D", deadline, "-D", rep,  "-f",
      (char *)script};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    argv[k++] = fixed[i];
  if (log) {
    argv[k++] = "-l";
    argv[k++] = prefix;
  }
  argv[k++] = (char *)conninfo;
  argv[k] = NULL;
  char *const env[] = {"PATH=/usr/local/bin:/usr/bin:/bin",
                       serializable ? "PGOPTIONS=-c default_transaction_isolation=serializable"
                                      " -c search_path=" DB_SCHEMA ",public -c TimeZone=UTC"
                                    : "PGOPTIONS=-c search_path=" DB_SCHEMA
                                      ",public -c TimeZone=UTC",
                       NULL};
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    int out = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int null = open("/dev/null", O_RDONLY);
    if (out < 0 || null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
      _exit(126);
    execve(pgbench, argv, env);
    _exit(127);
  }
  int st = 0;
  if (!wait_bounded(pid, PGBENCH_MS, &st)) {
    kill(pid, SIGKILL);
    wait_bounded(pid, STOP_MS, &st);
    die("pgbench did not finish within %d ms; see %s", PGBENCH_MS, outpath);
  }
  char *text = NULL;
  if (util_read_file(outpath, 1 << 22, &text, NULL) != 0)
    die("cannot read %s", outpath);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    die("pgbench failed (status %d); its output ends:\n%s", st,
        strlen(text) > 3000 ? text + strlen(text) - 3000 : text);
  r->tps = field_after(text, "tps = ");
  r->lat_avg_ms = field_after(text, "latency average = ");
  r->lat_sd_ms = field_after(text, "latency stddev = ");
  r->done = (unsigned long)field_after(text, "number of transactions actually processed: ");
  double failed = field_after(text, "number of failed transactions: ");
  double retried = field_after(text, "number of transactions retried: ");
  r->failed = failed > 0 ? (unsigned long)failed : 0;
  r->retried = retried > 0 ? (unsigned long)retried : 0;
  free(text);
  if (r->tps <= 0)
    die("no tps in pgbench's output (%s)", outpath);
  if (log) {
    read_pgbench_logs(logdir, "pgb", r, (size_t)per_client * CONNS);
    qsort(r->lat, r->n, sizeof *r->lat, cmp_i64);
  }
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
  struct db_cluster *cl = NULL;
  struct db_conn *c = NULL;
  struct db_migrate_result mr;
  struct seed s = {0};
  char msg[512], data[128], pgbench[300];
  int rc;
  if (argc != 3) {
    fprintf(stderr, "usage: bench_mint BACKSTOCK_BINARY PGBENCH_SCRIPT\n");
    return 2;
  }
  unsigned n_run = RUN_N;
  const char *env_n = getenv("BACKSTOCK_BENCH_MINT_N");
  if (env_n != NULL)
    n_run = (unsigned)strtoul(env_n, NULL, 10) / CONNS * CONNS;
  if (n_run == 0)
    n_run = CONNS;
  log_setup(LOGL_WARN, LOG_FORMAT_TEXT, stderr);
  signal(SIGPIPE, SIG_IGN);
  find_pgbench(pgbench, sizeof pgbench);
  if (mkdtemp(tmpdir) == NULL)
    die("mkdtemp");
  /* World-readable so that, run as root, the postgres user may enter it. */
  if (chmod(tmpdir, 0755) != 0)
    die("chmod");
  path_in(data, sizeof data, "var");
  if ((rc = db_cluster_start(data, "", 0, &cl)) != 0)
    die("PostgreSQL (fsync on): %s", err_text(rc));
  const char *conninfo = db_cluster_conninfo(cl);
  char pidfile[PATH_MAX + 32], *pidtext = NULL;
  snprintf(pidfile, sizeof pidfile, "%s/postmaster.pid", db_cluster_dir(cl));
  if (util_read_file(pidfile, 1 << 16, &pidtext, NULL) != 0)
    die("cannot read %s", pidfile);
  postmaster_pid = (pid_t)strtol(pidtext, NULL, 10);
  free(pidtext);
  if ((rc = db_connect(conninfo, NULL, 3, &c)) != 0 ||
      (rc = db_migrate(c, migrations_all, migrations_count, &mr, msg, sizeof msg)) != 0)
    die("database: %s %s", err_text(rc), msg);
  char *durable = sql_value(c,
                            "SELECT current_setting('fsync') || '/' ||"
                            " current_setting('synchronous_commit') || '/' ||"
                            " current_setting('wal_sync_method') || '/' || version()",
                            0, NULL);
  seed(c, &s);

  uint16_t port = service_start(argv[1], conninfo);
  struct load warm = {.port = port, .key = s.key, .tag = "warm", .total = WARM_N};
  run_load(&warm);
  struct load run = {.port = port, .key = s.key, .tag = "run", .total = n_run};
  struct pgstat pa, pb;
  struct cpu ca, cb;
  /* A busy backend passes its statistics on when it has been idle for a
   * while (PostgreSQL 15: at most 10 s) or when it exits. */
  util_sleep_ms(STATS_IDLE_MS);
  unsigned ser_warm = serialization_failures();
  pgstat_read(c, &pa);
  cpu_read(&ca);
  run_load(&run);
  cpu_read(&cb);
  service_stop();
  pgstat_read(c, &pb);
  unsigned ser_ours = serialization_failures();
  if (run.ok == 0)
    die("no order was created");
  qsort(run.lat, run.ok, sizeof *run.lat, cmp_i64);
  double secs = (double)(run.t_last - run.t_first) / 1e9;
  double ours_tps = run.ok / secs;
  int64_t p50 = pct(run.lat, run.ok, 50), p99 = pct(run.lat, run.ok, 99);
  size_t reply = run.reply_bytes / run.ok;
  /* Every 201 stored its order in awaiting_cash with its three events. */
  char *orders =
      sql_value(c,
                "SELECT count(*) FILTER (WHERE state = 'awaiting_cash') || ' orders, ' ||"
                " (SELECT count(*) FROM order_events) || ' events' FROM orders",
                0, NULL);
  char want[64];
  unsigned created = warm.ok + run.ok;
  snprintf(want, sizeof want, "%u orders, %u events", created, 3 * created);
  if (strcmp(orders, want) != 0)
    die("stored %s, expected %s", orders, want);

  struct pgb pw = {0}, pg = {0};
  struct pgstat qa, qb;
  struct cpu da, db;
  run_pgbench(pgbench, argv[2], conninfo, &s, reply, WARM_N / CONNS, false, "warm", &pw);
  unsigned ser_pgb = serialization_failures();
  pgstat_read(c, &qa);
  cpu_read(&da);
  run_pgbench(pgbench, argv[2], conninfo, &s, reply, n_run / CONNS, true, "run", &pg);
  util_sleep_ms(500); /* the postmaster reaps pgbench's backends */
  cpu_read(&db);
  pgstat_read(c, &qb);
  ser_pgb = serialization_failures() - ser_pgb;

  printf("PostgreSQL fsync/synchronous_commit/wal_sync_method/version: %s\n", durable);
  printf("service: http_threads=%s db_pool_size=%s; %u connections, warm-up %u, measured %u\n",
         getenv("BACKSTOCK_HTTP_THREADS") ? getenv("BACKSTOCK_HTTP_THREADS") : "default",
         getenv("BACKSTOCK_DB_POOL_SIZE") ? getenv("BACKSTOCK_DB_POOL_SIZE") : "default", CONNS,
         WARM_N, n_run);
  printf("ours (POST /v1/orders/mint): %.0f orders/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms"
         " (%u replies 201 of %u in %.2f s; reply %zu bytes)\n",
         ours_tps, p50 / 1e6, p99 / 1e6, run.lat[run.ok - 1] / 1e6, run.ok, run.done, secs, reply);
  double ours_cpu = print_costs("ours", run.done, &pa, &pb, &ca, &cb, true);
  printf("  ours serialization failures (retried by db_txn): %u, %.2f per request\n",
         ser_ours - ser_warm, (double)(ser_ours - ser_warm) / run.done);
  printf("pgbench (same inserts, %lu transactions, %lu retried, %lu failed): %.0f tps,"
         " latency average %.2f ms, stddev %.2f ms",
         pg.done, pg.retried, pg.failed, pg.tps, pg.lat_avg_ms, pg.lat_sd_ms);
  if (pg.n > 0)
    printf(", p50 %.2f ms, p99 %.2f ms", pct(pg.lat, pg.n, 50) / 1e6, pct(pg.lat, pg.n, 99) / 1e6);
  printf("\n");
  double pgb_cpu = print_costs("pgbench", (double)pg.done, &qa, &qb, &da, &db, false);
  printf("  pgbench serialization failures: %u, %.2f per transaction\n", ser_pgb,
         (double)ser_pgb / (double)pg.done);
  printf("stored by ours: %s\n", orders);

  unsigned bad = warm.bad + run.bad;
  if (bad > 0)
    printf("FAILED: %u of %u replies were not 201 (first: %s)\n", bad, warm.done + run.done,
           warm.bad > 0 ? warm.first_bad : run.first_bad);

  db_close(c);
  db_cluster_stop(cl);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (getenv("BACKSTOCK_BENCH_KEEP") != NULL)
    fprintf(stderr, "bench_mint: logs are kept in %s\n", tmpdir);
  else if (system(cmd) != 0)
    fprintf(stderr, "bench_mint: could not remove %s\n", tmpdir);
  /* cpu_vs_pgbench: CPU per pgbench transaction / CPU per request of ours
   * (our cluster, pgbench or the service and its client), which other
   * load on a shared machine changes far less than the throughputs. */
  printf("RATIO mint_vs_pgbench=%.2f mint_p99_ms=%.2f cpu_vs_pgbench=%.2f\n", ours_tps / pg.tps,
         p99 / 1e6, ours_cpu > 0 ? pgb_cpu / ours_cpu : 0.0);
  free(durable);
  free(orders);
  free(run.lat);
  free(warm.lat);
  free(pg.lat);
  if (bad > 0)
    return 1;
  return 0;
}
