/*
 * End to end, the custody issue's "done when": the simulated broker and
 * the simulated custodian together produce settled trades and statements
 * that our ingestion reads back exactly -- real processes, one fresh
 * database (ts_db_create), everything over 127.0.0.1:
 *
 *   backstock order place  ->  backstock connector  ->FIX->  backstock-simbroker
 *        (sim_trades, the blotter)  ->  backstock-simcustodian (day_offset so
 *        that the T+1 settlement date is today)  ->  out_dir  ->  backstock
 *        custody watch (the drop folder is the custodian's out_dir)  ->  the
 *        custody store, read back with `backstock custody show`.
 *
 * In order: buys (with and without an ISIN on the order, one filled in
 * three parts), a sell and a busted buy are placed with `backstock order
 * place` and filled; the custodian is started, settles them and writes
 * the daily semt.002; its HTTP API refuses every request without the
 * bearer token and serves each listed document with the listed SHA-256;
 * the drop folder is ingested, and the store's sese.025 settlements and
 * statement positions equal what was traded (quantity per ISIN and
 * direction, one settlement per fill, no duplicate, the bust nowhere);
 * the custodian is killed (SIGKILL) and restarted: nothing is settled or
 * published twice; one more sell is settled by the running custodian and
 * statements asked for over HTTP (semt.002 and MT535) show the new
 * holdings; the HTTP feed (`backstock custody poll --once`) reads the
 * same documents and stores nothing new; SIGTERM ends every process with
 * status 0.  Every wait is bounded; a failure prints the children's
 * stderr.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "custody/custody.h"
#include "fix/fix.h"
#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

#define AAPL          "US0378331005"
#define MSFT          "US5949181045"
#define TSLA          "US88160R1014"
#define TOKEN         "e2e-custody-token-5f1c2a9b"
#define START_WAIT_MS 30000
#define WAIT_MS       60000
#define STOP_WAIT_MS  15000

struct e2e {
  struct ts_db db;
  char url[1200];
  char tmp[PATH_MAX];
  char drop[PATH_MAX + 8];
  char sim_bin[PATH_MAX], svc_bin[PATH_MAX], cust_bin[PATH_MAX];
  char sim_cfg[PATH_MAX + 16], cust_cfg[PATH_MAX + 16];
  char reset_env[64];
  struct db_conn *c;
  struct ts_child sim, conn, cust, watch;
  unsigned spawned;
  uint16_t broker_port, cust_port;
  int day_offset;
  bool ok;
};

static struct e2e E;

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

static void dump_children(void)
{
  struct ts_child *all[] = {&E.sim, &E.conn, &E.cust, &E.watch};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    ts_child_dump(all[i]);
}

static void spawn(struct ts_child *ch, const char *what, char *const argv[],
                  const char *const env[])
{
  ts_child_spawn(ch, E.tmp, ++E.spawned, what, argv, env);
}

/* The listening line of @ch ("<prefix>127.0.0.1:<port>"): the port. */
static uint16_t wait_listening(struct ts_child *ch, const char *prefix)
{
  char line[128];
  if (!ts_wait_line(ch->out, prefix, START_WAIT_MS, line, sizeof line))
    fail_msg("%s did not say it listens within %d ms", ch->what, START_WAIT_MS);
  uint16_t port = (uint16_t)strtoul(line + strlen(prefix), NULL, 10);
  assert_true(port != 0);
  return port;
}

static void start_sim(void)
{
  char db[1300], path[PATH_MAX + 8];
  snprintf(db, sizeof db, "BACKSTOCK_DATABASE_URL=%s", E.url);
  snprintf(path, sizeof path, "PATH=%s", getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin");
  char *argv[] = {E.sim_bin, "--config", E.sim_cfg, NULL};
  const char *env[] = {db, path, NULL};
  spawn(&E.sim, "simbroker stderr", argv, env);
  E.broker_port = wait_listening(&E.sim, "simbroker listening 127.0.0.1:");
}

/* `backstock @args...` with the service's environment (and the custody keys); does not wait. */
static void start_backstock(struct ts_child *ch, const char *what, char *const args[])
{
  char db[1300], path[PATH_MAX + 8], broker[64], data[PATH_MAX + 32], drop[PATH_MAX + 40];
  char feed[128];
  char *argv[16] = {E.svc_bin};
  size_t n = 1;
  for (; args[n - 1] != NULL && n < 15; n++)
    argv[n] = args[n - 1];
  argv[n] = NULL;
  snprintf(db, sizeof db, "BACKSTOCK_DATABASE_URL=%s", E.url);
  snprintf(path, sizeof path, "PATH=%s", getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin");
  snprintf(broker, sizeof broker, "BACKSTOCK_BROKER=127.0.0.1:%u", E.broker_port);
  snprintf(data, sizeof data, "BACKSTOCK_DATA_DIR=%s/var", E.tmp);
  snprintf(drop, sizeof drop, "BACKSTOCK_CUSTODY_DROP_DIR=%s", E.drop);
  snprintf(feed, sizeof feed, "BACKSTOCK_CUSTODY_FEED_URL=http://127.0.0.1:%u/v1/documents",
           E.cust_port);
  const char *env[] = {db,
                       path,
                       broker,
                       data,
                       E.reset_env,
                       drop,
                       feed,
                       "BACKSTOCK_CUSTODY_FEED_TOKEN=" TOKEN,
                       "BACKSTOCK_CUSTODY_SERVICERS=SIMCUSTXXXX",
                       "BACKSTOCK_CUSTODY_ACCOUNTS=RESERVE-01",
                       "BACKSTOCK_CUSTODY_POLL_MS=100",
                       "BACKSTOCK_FIX_TIME_ZONE=UTC",
                       "BACKSTOCK_LOG_LEVEL=info",
                       "BACKSTOCK_FIX_HEARTBEAT_S=5",
                       NULL};
  spawn(ch, what, argv, env);
}

/* Run `backstock @args...` to its end; returns its exit status, stdout in *out (free it). */
static int run_backstock(char *const args[], char **out)
{
  struct ts_child ch = {0};
  int st;
  size_t len;
  start_backstock(&ch, "backstock command stderr", args);
  if (!ts_child_wait(&ch, 60000, &st)) {
    ts_child_kill(&ch);
    ts_dump_file("backstock command stderr", ch.err);
    fail_msg("backstock %s %s did not finish within 60 s", args[0], args[1]);
  }
  if (out != NULL && util_read_file(ch.out, 16u << 20, out, &len) != 0)
    *out = strdup("");
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    ts_dump_file("backstock command stderr", ch.err);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void write_cust_config(void)
{
  snprintf(E.cust_cfg, sizeof E.cust_cfg, "%s/simcust.conf", E.tmp);
  FILE *f = fopen(E.cust_cfg, "w");
  assert_non_null(f);
  fprintf(f,
          "# test_e2e_custody: the T+1 settlement date is the simulated today\n"
          "listen = 127.0.0.1:0\n"
          "out_dir = %s\n"
          "token = " TOKEN "\n"
          "account_servicer = SIMCUSTXXXX\n"
          "safekeeping_account = RESERVE-01\n"
          "isin.AAPL = " AAPL "\n"
          "isin.MSFT = " MSFT "\n"
          "isin.TSLA = " TSLA "\n"
          "statement_time = 00:00\n"
          "poll_ms = 100\n"
          "day_offset = %d\n",
          E.drop, E.day_offset);
  assert_int_equal(fclose(f), 0);
}

static void start_cust(void)
{
  char db[1300], path[PATH_MAX + 8];
  snprintf(db, sizeof db, "BACKSTOCK_DATABASE_URL=%s", E.url);
  snprintf(path, sizeof path, "PATH=%s", getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin");
  write_cust_config();
  char *argv[] = {E.cust_bin, "--config", E.cust_cfg, NULL};
  const char *env[] = {db, path, "BACKSTOCK_SIMCUST_LOG_LEVEL=info", NULL};
  spawn(&E.cust, "simcustodian stderr", argv, env);
  E.cust_port = wait_listening(&E.cust, "simcustodian listening 127.0.0.1:");
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */
/* ------------------------------------------------------------------ */

struct http_reply {
  long status;
  char *body;
  size_t len;
  char sha[65]; /* X-Content-SHA256 */
};

static size_t on_body(char *p, size_t size, size_t n, void *cls)
{
  struct http_reply *r = cls;
  char *nb = realloc(r->body, r->len + size * n + 1);
  if (nb == NULL)
    return 0;
  memcpy(nb + r->len, p, size * n);
  r->body = nb;
  r->len += size * n;
  r->body[r->len] = '\0';
  return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *cls)
{
  struct http_reply *r = cls;
  static const char h[] = "X-Content-SHA256: ";
  if (size * n > sizeof h - 1 + 64 && strncasecmp(p, h, sizeof h - 1) == 0)
    snprintf(r->sha, sizeof r->sha, "%.64s", p + sizeof h - 1);
  return size * n;
}

/* @method @path on the custodian with @token (NULL: no Authorization). */
static struct http_reply http(const char *method, const char *path, const char *token)
{
  struct http_reply r = {0};
  char url[512], auth[256];
  struct curl_slist *hs = NULL;
  CURL *c = curl_easy_init();
  assert_non_null(c);
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", E.cust_port, path);
  if (token != NULL) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    hs = curl_slist_append(hs, auth);
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (strcmp(method, "POST") == 0)
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK)
    fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(hs);
  curl_easy_cleanup(c);
  if (r.body == NULL)
    r.body = strdup("");
  return r;
}

/* The names and SHA-256s of GET /v1/documents, in order. */
struct listing {
  size_t n;
  char name[64][96];
  char sha[64][65];
};

static struct listing list_documents(void)
{
  struct listing l = {0};
  struct http_reply r = http("GET", "/v1/documents", TOKEN);
  assert_int_equal(r.status, 200);
  const char *p = r.body;
  char want_url[160];
  while ((p = strstr(p, "{\"name\":\"")) != NULL && l.n < 64) {
    p += 9;
    size_t k = strcspn(p, "\"");
    assert_true(k < sizeof l.name[0]);
    memcpy(l.name[l.n], p, k);
    l.name[l.n][k] = '\0';
    snprintf(want_url, sizeof want_url, "\"url\":\"http://127.0.0.1:%u/v1/documents/%s\"",
             E.cust_port, l.name[l.n]);
    if (strncmp(p + k + 2, want_url, strlen(want_url)) != 0)
      fail_msg("listing entry %s: no url %s", l.name[l.n], want_url);
    const char *s = strstr(p, "\"sha256\":\"");
    assert_non_null(s);
    snprintf(l.sha[l.n], sizeof l.sha[0], "%.64s", s + 10);
    l.n++;
  }
  free(r.body);
  return l;
}

static struct listing wait_documents(size_t n)
{
  int64_t end = util_mono_ms() + WAIT_MS;
  for (;;) {
    struct listing l = list_documents();
    if (l.n >= n) {
      assert_int_equal(l.n, n);
      return l;
    }
    if (util_mono_ms() > end)
      fail_msg("the custodian lists %zu documents after %d ms, want %zu", l.n, WAIT_MS, n);
    util_sleep_ms(100);
  }
}

/* ------------------------------------------------------------------ */
/* Reading back                                                        */
/* ------------------------------------------------------------------ */

static void assert_sql(const char *sql, const char *want)
{
  char *v = ts_sql_value(E.c, sql);
  if (strcmp(v, want) != 0) {
    char got[512];
    snprintf(got, sizeof got, "%s", v);
    free(v);
    fail_msg("%s\n  got  \"%s\"\n  want \"%s\"", sql, got, want);
  }
  free(v);
}

static void wait_sql(const char *sql, const char *want)
{
  int64_t end = util_mono_ms() + WAIT_MS;
  for (;;) {
    char *v = ts_sql_value(E.c, sql);
    bool done = strcmp(v, want) == 0;
    free(v);
    if (done)
      return;
    if (util_mono_ms() > end)
      assert_sql(sql, want); /* fails with what it got */
    util_sleep_ms(100);
  }
}

/* The value of " key=" in @line, copied into @buf ("" when absent). */
static const char *field(const char *line, const char *key, char *buf, size_t size)
{
  char k[64];
  snprintf(k, sizeof k, " %s=", key);
  const char *p = strstr(line, k);
  buf[0] = '\0';
  if (p != NULL) {
    p += strlen(k);
    size_t n = strcspn(p, " \n");
    snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), p);
  }
  return buf;
}

static struct money qty(const char *s)
{
  struct money m;
  if (money_parse(s, strlen(s), CUSTODY_QTY_SCALE, 0, &m) != 0)
    fail_msg("quantity \"%s\" is not a decimal", s);
  return m;
}

/* `backstock custody show @what`: its lines (free the buffer). */
static char *show(const char *what)
{
  char *out = NULL;
  char *args[] = {"custody", "show", (char *)what, "--account", "RESERVE-01", NULL};
  int rc = run_backstock(args, &out);
  if (rc != 0)
    fail_msg("backstock custody show %s: exit %d", what, rc);
  return out;
}

/* Per ISIN (AAPL, MSFT, TSLA): net settled quantity, count of settlements. */
struct per_isin {
  struct money net[3];
  unsigned n;
};

static int isin_index(const char *isin)
{
  static const char *const isins[] = {AAPL, MSFT, TSLA};
  for (int i = 0; i < 3; i++)
    if (strcmp(isin, isins[i]) == 0)
      return i;
  fail_msg("unexpected ISIN %s", isin);
  return -1;
}

static void assert_net(const struct money *net, const char *aapl, const char *msft,
                       const char *tsla)
{
  const char *want[] = {aapl, msft, tsla};
  for (int i = 0; i < 3; i++)
    if (money_cmp(net[i], qty(want[i])) != 0) {
      char got[MONEY_STR_MAX];
      money_format(net[i], got, sizeof got);
      fail_msg("ISIN #%d: %s, want %s", i, got, want[i]);
    }
}

/*
 * The store's sese.025 settlements: each tx_id once and one of the blotter's
 * booked trades; net quantity per ISIN (RECE adds, DELI removes).
 */
static struct per_isin settlements(void)
{
  struct per_isin r;
  char *out = show("settlements"), *save = NULL;
  char tx[64], isin[16], q[64], dir[8], seen[4096] = " ";
  memset(&r, 0, sizeof r);
  for (int i = 0; i < 3; i++)
    r.net[i] = qty("0");
  for (char *line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    if (strncmp(line, "settlement ", 11) != 0)
      continue;
    field(line, "tx_id", tx, sizeof tx);
    field(line, "isin", isin, sizeof isin);
    field(line, "qty", q, sizeof q);
    field(line, "direction", dir, sizeof dir);
    char key[80];
    snprintf(key, sizeof key, " %s ", tx);
    if (strstr(seen, key) != NULL)
      fail_msg("settlement %s stored twice", tx);
    strncat(seen, key + 1, sizeof seen - strlen(seen) - 1);
    char sql[256];
    snprintf(
        sql, sizeof sql,
        "SELECT status || ' ' || quantity::numeric(30,6) FROM sim_trades WHERE trade_id = '%s'",
        tx);
    char *t = ts_sql_value(E.c, sql);
    if (strncmp(t, "booked ", 7) != 0)
      fail_msg("settlement %s: blotter says \"%s\"", tx, t);
    if (money_cmp(qty(t + 7), qty(q)) != 0)
      fail_msg("settlement %s: quantity %s, the trade's %s", tx, q, t + 7);
    free(t);
    int k = isin_index(isin);
    struct money m = qty(q);
    if (strcmp(dir, "DELI") == 0)
      m.v = -m.v;
    else
      assert_string_equal(dir, "RECE");
    assert_int_equal(money_add(r.net[k], m, &r.net[k]), 0);
    r.n++;
  }
  free(out);
  return r;
}

/*
 * The aggregate balance per ISIN of complete statement @statement_id
 * (a row of `show statements`), and its number of balances.
 */
static struct per_isin positions(const char *statement_id, unsigned *subs)
{
  struct per_isin r;
  char *out = show("positions"), *save = NULL;
  char st[32], isin[16], q[64], bal[32], side[8];
  memset(&r, 0, sizeof r);
  *subs = 0;
  for (int i = 0; i < 3; i++)
    r.net[i] = qty("0");
  for (char *line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    if (strncmp(line, "position ", 9) != 0 ||
        strcmp(field(line, "statement", st, sizeof st), statement_id) != 0)
      continue;
    field(line, "isin", isin, sizeof isin);
    field(line, "qty", q, sizeof q);
    field(line, "balance", bal, sizeof bal);
    field(line, "side", side, sizeof side);
    if (strncmp(bal, "sub:", 4) == 0)
      (*subs)++;
    if (strcmp(bal, "aggregate") != 0)
      continue;
    assert_string_equal(side, "LONG");
    int k = isin_index(isin);
    assert_int_equal(money_add(r.net[k], qty(q), &r.net[k]), 0);
    r.n++;
  }
  free(out);
  return r;
}

/* The `show statements` lines: count; the id of the @k-th (0-based) in *id. */
static unsigned statements(unsigned k, char *id, size_t size, char *kind, size_t ksize)
{
  char *out = show("statements"), *save = NULL, status[32];
  unsigned n = 0;
  for (char *line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    if (strncmp(line, "statement ", 10) != 0)
      continue;
    if (strcmp(field(line, "status", status, sizeof status), "complete") != 0)
      fail_msg("statement not complete: %s", line);
    if (n++ == k) {
      field(line, "id", id, size);
      field(line, "kind", kind, ksize);
    }
  }
  free(out);
  return n;
}

/* Regular files directly in @dir. */
static unsigned files_in(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  unsigned n = 0;
  if (d == NULL)
    return 0;
  while ((e = readdir(d)) != NULL) {
    char p[PATH_MAX + 300];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (e->d_name[0] != '.' && stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
      n++;
  }
  closedir(d);
  return n;
}

/* The watcher took every document out of the drop folder: @n in done/, none rejected. */
static void wait_ingested(unsigned n)
{
  char done[PATH_MAX + 32], rejected[PATH_MAX + 32];
  snprintf(done, sizeof done, "%s/done", E.drop);
  snprintf(rejected, sizeof rejected, "%s/rejected", E.drop);
  int64_t end = util_mono_ms() + WAIT_MS;
  while (files_in(done) < n || files_in(E.drop) > 0) {
    if (files_in(rejected) > 0) {
      char *out = show("rejects");
      fail_msg("the watcher rejected documents:\n%s", out);
    }
    if (util_mono_ms() > end)
      fail_msg("after %d ms: %u files in done/, %u left in the drop folder; want %u and 0", WAIT_MS,
               files_in(done), files_in(E.drop), n);
    util_sleep_ms(100);
  }
  assert_int_equal(files_in(done), n);
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void write_sim_config(void)
{
  snprintf(E.sim_cfg, sizeof E.sim_cfg, "%s/sim.conf", E.tmp);
  FILE *f = fopen(E.sim_cfg, "w");
  assert_non_null(f);
  /* A daily FIX reset 12 hours from now (UTC), so none falls inside the test. */
  time_t t = time(NULL) + 12 * 3600;
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(E.reset_env, sizeof E.reset_env, "BACKSTOCK_FIX_RESET_TIME=%02d:%02d", tm.tm_hour,
           tm.tm_min);
  fprintf(f,
          "# test_e2e_custody\n"
          "listen = 127.0.0.1:0\n"
          "reset_time = %02d:%02d\n"
          "time_zone = UTC\n"
          "price.AAPL = 189.50\n"
          "price.MSFT = 410.25\n"
          "price.TSLA = 250\n"
          "behaviour.default = fill\n",
          tm.tm_hour, tm.tm_min);
  assert_int_equal(fclose(f), 0);
}

static void binary(char *out, const char *rel)
{
  char p[PATH_MAX];
  ts_build_path(p, sizeof p, rel);
  if (realpath(p, out) == NULL)
    fail_msg("%s: %s (build it first)", p, strerror(errno));
}

static int group_setup(void **state)
{
  char msg[256];
  (void)state;
  memset(&E, 0, sizeof E);
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ts_tmpdir(E.tmp, sizeof E.tmp);
  snprintf(E.drop, sizeof E.drop, "%s/drop", E.tmp);
  binary(E.sim_bin, "services/backstock-simbroker");
  binary(E.svc_bin, "services/backstock");
  binary(E.cust_bin, "services/backstock-simcustodian");
  ts_db_create("e2ecust", &E.db);
  ts_db_conninfo(&E.db, E.url, sizeof E.url);
  E.c = ts_db_connect(&E.db, 10);
  if (db_migrate(E.c, migrations_all, migrations_count, NULL, msg, sizeof msg) != 0)
    fail_msg("migrate: %s", msg);
  write_sim_config();
  start_sim();
  char *args[] = {"connector", NULL};
  start_backstock(&E.conn, "connector stderr", args);
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  ts_child_kill(&E.watch);
  ts_child_kill(&E.cust);
  ts_child_kill(&E.conn);
  ts_child_kill(&E.sim);
  db_close(E.c);
  ts_db_drop(&E.db);
  ts_rmtree(E.tmp);
  curl_global_cleanup();
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
  if (!E.ok || getenv("BACKSTOCK_TEST_VERBOSE") != NULL)
    dump_children();
  return 0;
}

static void place(const char *id, const char *symbol, const char *side, const char *q,
                  const char *isin, const char *note)
{
  char *args[16] = {"order",  "place",      "--id",  (char *)id, "--symbol", (char *)symbol,
                    "--side", (char *)side, "--qty", (char *)q,  NULL};
  size_t n = 10;
  if (isin != NULL) {
    args[n++] = "--isin";
    args[n++] = (char *)isin;
  }
  if (note != NULL) {
    args[n++] = "--note";
    args[n++] = (char *)note;
  }
  args[n] = NULL;
  char *out = NULL;
  assert_int_equal(run_backstock(args, &out), 0);
  free(out);
}

/* ------------------------------------------------------------------ */
/* Scenarios                                                           */
/* ------------------------------------------------------------------ */

/* Buys, a sell and a busted buy, filled by the simulated broker. */
static void test_trade(void **state)
{
  (void)state;
  place("1", "AAPL", "buy", "10", AAPL, NULL);
  place("2", "AAPL", "buy", "5", NULL, NULL); /* the custodian knows the ISIN */
  place("3", "MSFT", "buy", "7", MSFT, NULL);
  place("4", "TSLA", "buy", "3", NULL, "sim:partial:3:50"); /* three trades of 1 */
  place("5", "AAPL", "sell", "4", AAPL, NULL);
  place("6", "MSFT", "buy", "100", MSFT, "sim:bust");
  wait_sql("SELECT count(*) FILTER (WHERE status = 'booked') || ' ' ||"
           " count(*) FILTER (WHERE status = 'busted') FROM sim_trades",
           "7 1");
  assert_sql("SELECT string_agg(cl_ord_id || ':' || side || ':' || quantity::numeric(30,0), ' '"
             " ORDER BY cl_ord_id, trade_id) FROM sim_trades WHERE status = 'booked'",
             "BS1:buy:10 BS2:buy:5 BS3:buy:7 BS4:buy:1 BS4:buy:1 BS4:buy:1 BS5:sell:4");
  /* T+1: the simulated today of the custodian is the latest settlement date. */
  char *off = ts_sql_value(E.c, "SELECT max(settle_date) - (now() AT TIME ZONE 'UTC')::date"
                                " FROM sim_trades");
  E.day_offset = (int)strtol(off, NULL, 10);
  free(off);
  assert_true(E.day_offset >= 0 && E.day_offset <= 7);
  E.ok = true;
}

/* The custodian settles them and publishes, over HTTP with the token only. */
static void test_settle_and_publish(void **state)
{
  (void)state;
  start_cust();
  /* Seven sese.025 and the daily semt.002 (its cut-off, 00:00, is behind us). */
  struct listing l = wait_documents(8);
  unsigned sese = 0, semt = 0;
  for (size_t i = 0; i < l.n; i++) {
    sese += strncmp(l.name[i], "sese025-", 8) == 0;
    semt += strncmp(l.name[i], "semt002-", 8) == 0;
  }
  assert_int_equal(sese, 7);
  assert_int_equal(semt, 1);
  assert_string_equal(l.name[7] + strlen(l.name[7]) - 10, "-p0001.xml");
  assert_sql("SELECT count(*) FILTER (WHERE status = 'settled') || ' ' || count(*)"
             " FROM sim_settlements",
             "7 7");
  assert_sql("SELECT count(*) FROM sim_settlements s JOIN sim_trades t USING (trade_id)"
             " WHERE t.status = 'busted'",
             "0");
  assert_sql("SELECT string_agg(isin || '=' || quantity::numeric(30,0), ' ' ORDER BY isin)"
             " FROM sim_holdings",
             AAPL "=11 " MSFT "=7 " TSLA "=3");

  /* Each document: the listed SHA-256 is that of the bytes served. */
  for (size_t i = 0; i < l.n; i++) {
    char path[160], hx[65];
    unsigned char h[crypto_hash_sha256_BYTES];
    snprintf(path, sizeof path, "/v1/documents/%s", l.name[i]);
    struct http_reply r = http("GET", path, TOKEN);
    assert_int_equal(r.status, 200);
    crypto_hash_sha256(h, (const unsigned char *)r.body, r.len);
    for (size_t k = 0; k < sizeof h; k++) {
      hx[2 * k] = "0123456789abcdef"[h[k] >> 4];
      hx[2 * k + 1] = "0123456789abcdef"[h[k] & 15];
    }
    hx[64] = '\0';
    assert_string_equal(hx, l.sha[i]);
    assert_string_equal(r.sha, l.sha[i]);
    free(r.body);
  }

  /* Every endpoint wants the token. */
  static const char *const paths[][2] = {{"GET", "/healthz"},
                                         {"GET", "/v1/documents"},
                                         {"GET", "/v1/documents/x.xml"},
                                         {"POST", "/v1/statements"},
                                         {"GET", "/nowhere"}};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    struct http_reply r = http(paths[i][0], paths[i][1], NULL);
    assert_int_equal(r.status, 401);
    free(r.body);
    r = http(paths[i][0], paths[i][1], "e2e-custody-token-5f1c2a9c");
    assert_int_equal(r.status, 401);
    free(r.body);
  }
  struct http_reply r = http("GET", "/healthz", TOKEN);
  assert_int_equal(r.status, 200);
  char *today = ts_sql_value(E.c, "SELECT max(settle_date) FROM sim_trades");
  char want[64];
  snprintf(want, sizeof want, "\"today\":\"%s\"", today);
  if (strstr(r.body, want) == NULL)
    fail_msg("healthz %s, want %s", r.body, want);
  free(today);
  free(r.body);
  r = http("GET", "/v1/documents/nope.xml", TOKEN);
  assert_int_equal(r.status, 404);
  free(r.body);
  r = http("DELETE", "/v1/documents", TOKEN);
  assert_int_equal(r.status, 405);
  free(r.body);
  r = http("POST", "/v1/statements?format=pdf", TOKEN);
  assert_int_equal(r.status, 400);
  free(r.body);
  r = http("POST", "/v1/statements?date=2999-01-01", TOKEN);
  assert_int_equal(r.status, 400);
  free(r.body);
  assert_int_equal(list_documents().n, 8); /* the refused requests wrote nothing */
  E.ok = true;
}

/* Our ingestion reads back exactly what was traded. */
static void test_ingest_matches_trades(void **state)
{
  (void)state;
  char *args[] = {"custody", "watch", NULL};
  start_backstock(&E.watch, "custody watch stderr", args);
  wait_ingested(8);
  struct per_isin s = settlements();
  assert_int_equal(s.n, 7); /* one per fill; the bust nowhere */
  assert_net(s.net, "11", "7", "3");
  char id[32], kind[32];
  assert_int_equal(statements(0, id, sizeof id, kind, sizeof kind), 1);
  assert_string_equal(kind, "semt002");
  unsigned subs;
  struct per_isin p = positions(id, &subs);
  assert_int_equal(p.n, 3);
  assert_int_equal(subs, 0); /* nothing pending: all settled */
  assert_net(p.net, "11", "7", "3");
  char *rej = show("rejects");
  if (strstr(rej, "reject ") != NULL)
    fail_msg("rejects: %s", rej);
  free(rej);
  E.ok = true;
}

/* SIGKILL and restart: nothing settled, published or ingested twice. */
static void test_custodian_restart(void **state)
{
  (void)state;
  int st;
  kill(-E.cust.pid, SIGKILL);
  assert_true(ts_child_wait(&E.cust, 5000, &st));
  assert_true(WIFSIGNALED(st));
  start_cust();
  util_sleep_ms(1000); /* ten polls */
  assert_int_equal(list_documents().n, 8);
  assert_sql("SELECT count(*) || ' ' || count(DISTINCT trade_id) FROM sim_settlements", "7 7");
  assert_sql("SELECT count(*) FROM sim_statements", "1");
  util_sleep_ms(500);
  char done[PATH_MAX + 16];
  snprintf(done, sizeof done, "%s/done", E.drop);
  assert_int_equal(files_in(done), 8);
  assert_int_equal(files_in(E.drop), 0);
  E.ok = true;
}

/* One more sell, settled by the running custodian; statements on request. */
static void test_more_trades_and_statements(void **state)
{
  (void)state;
  place("7", "MSFT", "sell", "2", MSFT, NULL);
  wait_sql("SELECT count(*) FROM sim_trades WHERE cl_ord_id = 'BS7'", "1");
  char *late = ts_sql_value(E.c, "SELECT max(settle_date) - (now() AT TIME ZONE 'UTC')::date"
                                 " FROM sim_trades");
  if ((int)strtol(late, NULL, 10) > E.day_offset) {
    /* New York's date moved on during the test: move the custodian's clock too. */
    E.day_offset = (int)strtol(late, NULL, 10);
    ts_child_stop(&E.cust, STOP_WAIT_MS);
    start_cust();
  }
  free(late);
  wait_sql("SELECT count(*) FROM sim_settlements", "8");
  struct http_reply r = http("POST", "/v1/statements?format=semt002", TOKEN);
  assert_int_equal(r.status, 201);
  if (strstr(r.body, "\"name\":\"semt002-SC") == NULL || strstr(r.body, "\"pages\":1") == NULL)
    fail_msg("POST semt002 answered %s", r.body);
  free(r.body);
  r = http("POST", "/v1/statements?format=mt535", TOKEN);
  assert_int_equal(r.status, 201);
  if (strstr(r.body, "\"name\":\"mt535-SC") == NULL)
    fail_msg("POST mt535 answered %s", r.body);
  free(r.body);
  size_t n = list_documents().n;
  assert_true(n == 11 || n == 12); /* + a daily of a new day, if the clock moved */
  wait_ingested((unsigned)n);

  struct per_isin s = settlements();
  assert_int_equal(s.n, 8);
  assert_net(s.net, "11", "5", "3");
  char id[32], kind[32];
  unsigned count = statements(0, id, sizeof id, kind, sizeof kind);
  assert_int_equal(count, (unsigned)n - 8);
  /* The two asked for come last, one semt.002 and one MT535 (written within
     the same clock tick, the drop folder cannot know which came first);
     both show the sell. */
  bool seen_semt = false, seen_mt = false;
  for (unsigned k = count - 2; k < count; k++) {
    unsigned subs;
    statements(k, id, sizeof id, kind, sizeof kind);
    if (strcmp(kind, "semt002") == 0)
      seen_semt = true;
    else if (strcmp(kind, "mt535") == 0)
      seen_mt = true;
    else
      fail_msg("statement %u is a %s, want semt002 or mt535", k, kind);
    struct per_isin p = positions(id, &subs);
    assert_int_equal(p.n, 3);
    assert_int_equal(subs, 0);
    assert_net(p.net, "11", "5", "3");
  }
  assert_true(seen_semt && seen_mt);

  /* A document ingested again by hand changes nothing. */
  char done[PATH_MAX + 16], file[PATH_MAX + 128], *out = NULL;
  snprintf(done, sizeof done, "%s/done", E.drop);
  struct listing l = list_documents();
  snprintf(file, sizeof file, "%s/%s", done, l.name[0]);
  char *args[] = {"custody", "ingest", file, NULL};
  assert_int_equal(run_backstock(args, &out), 0);
  free(out);
  assert_int_equal(settlements().n, 8);
  E.ok = true;
}

/* The HTTP feed reads the custodian's listing: everything is a duplicate. */
static void test_http_feed(void **state)
{
  (void)state;
  char *out = NULL;
  char *args[] = {"custody", "poll", "--once", NULL};
  char *before = ts_sql_value(E.c, "SELECT count(*) FROM custody_documents");
  assert_int_equal(run_backstock(args, &out), 0);
  free(out);
  char *after = ts_sql_value(E.c, "SELECT count(*) FROM custody_documents");
  assert_string_equal(after, before);
  free(before);
  free(after);
  char *rej = show("rejects");
  if (strstr(rej, "reject ") != NULL)
    fail_msg("rejects: %s", rej);
  free(rej);
  assert_int_equal(settlements().n, 8);
  E.ok = true;
}

static void test_sigterm(void **state)
{
  (void)state;
  ts_child_stop(&E.watch, STOP_WAIT_MS);
  ts_child_stop(&E.cust, STOP_WAIT_MS);
  ts_child_stop(&E.conn, STOP_WAIT_MS);
  ts_child_stop(&E.sim, STOP_WAIT_MS);
  /* The run killed with SIGKILL did not stop cleanly; the last one did. */
  assert_sql("SELECT string_agg((stopped_at IS NOT NULL)::text, ' ' ORDER BY id)"
             " FROM (SELECT id, stopped_at FROM service_runs"
             " WHERE service = 'backstock-simcustodian' ORDER BY id LIMIT 2) r",
             "false true");
  E.ok = true;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_trade, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_settle_and_publish, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_ingest_matches_trades, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_custodian_restart, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_more_trades_and_statements, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_http_feed, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_sigterm, test_setup, test_teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
