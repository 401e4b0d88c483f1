/*
 * End to end, issue 5's flow through the public API on the demo stack:
 * the processes of scripts/run.sh, started as it starts them, with their
 * configuration, but on free ports, a fresh database (ts_db_create) and
 * a temporary data folder:
 *
 *   backstock migrate; backstock-simbroker (run.sh's prices, fill, T+1);
 *   backstock-simcustodian (drop folder <tmp>/custody-in); backstock
 *   connector; backstock demo seed --out <tmp>/demo-keys.json --api URL;
 *   backstock demo open; backstock serve (API, engine, custody feed).
 *
 * The keys come from demo-keys.json.  In order, on one stack:
 *   - an AP mints 10 TSLAx at most 260.00: funded by the admin, bought at
 *     250.00 by the broker, settled on T+1 (the clock moved one business
 *     day through the API) as the custodian confirms, minted; the residual
 *     cash refunded;
 *   - the AP redeems 4: escrowed, burned, sold at 250.00, settled on T+1,
 *     paid out;
 *   - every event of both orders, the balances, the books check, the
 *     instrument's supply figures, the broker's blotter, the broker orders
 *     and the chain intents, each exact;
 *   - a business day later, the custodian's daily statement reconciled
 *     and attested by serve (6 TSLA held, 6 TSLAx outstanding, coverage 0,
 *     no break), verified offline by `backstock audit verify` and
 *     `audit inclusion` from what the API publishes;
 *   - variants: a mint pause (refused with nothing stored, then taken);
 *     a corporate action's window on AAPL (refused, nothing stored, taken
 *     once the action is cancelled); cancels in awaiting_cash and, the
 *     instrument paused so that the engine holds it, in cash_received
 *     (no broker order; the cash refunded); wrong roles and another AP;
 *   - SIGTERM stops every process with status 0.
 *
 * Times: `demo open` moves the clock to 09:35 New York when the market is
 * closed and leaves it when it is open; the flow needs some minutes of
 * the session, so a clock found after 15:00 New York (the wall clock in
 * the last half hour of a session) is moved on with `demo next-day`.
 * Every wait is bounded; a failure prints every process's stderr.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yajl/yajl_tree.h>

#include "tests/api/api_testlib.h"
#include "tests/support/testsupport.h"

#define START_WAIT_MS 30000
#define STATE_WAIT_MS 30000
#define CMD_WAIT_MS   60000
#define STOP_WAIT_MS  15000
#define WALLET        "0x00000000000000000000000000000000000a0001"
#define CUST_TOKEN    "e2e-demo-custodian-token-7d41c09e"
#define TSLA_ISIN     "US88160R1014"

struct e2e {
  struct ts_db db;
  char url[1200];
  char tmp[PATH_MAX];
  char sim_bin[PATH_MAX], svc_bin[PATH_MAX], cust_bin[PATH_MAX];
  struct db_conn *c;
  struct ts_child sim, cust, conn, serve;
  unsigned spawned, idem;
  uint16_t broker_port, api_port;
  char admin[API_KEY_TEXT_MAX], ap[API_KEY_TEXT_MAX], auditor[API_KEY_TEXT_MAX];
  long long ap_id;
  bool up; /* group setup done */
  bool ok; /* this test passed */
};

static struct e2e E;

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

static void dump_children(void)
{
  struct ts_child *all[] = {&E.sim, &E.cust, &E.conn, &E.serve};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    ts_child_dump(all[i]);
}

static void spawn(struct ts_child *ch, const char *what, char *const argv[],
                  const char *const env[])
{
  ts_child_spawn(ch, E.tmp, ++E.spawned, what, argv, env);
}

/* The first line of @ch's stdout starting with @prefix, into @line. */
static void wait_ready(struct ts_child *ch, const char *prefix, char *line, size_t size)
{
  if (!ts_wait_line(ch->out, prefix, START_WAIT_MS, line, size))
    fail_msg("%s did not print \"%s...\" within %d ms", ch->what, prefix, START_WAIT_MS);
}

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

/* The simulators' environment (run.sh exports the database; they read no other key). */
static void sim_env(char *db, size_t dsize, char *path, size_t psize)
{
  snprintf(db, dsize, "BACKSTOCK_DATABASE_URL=%s", E.url);
  snprintf(path, psize, "PATH=%s", getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin");
}

/* backstock-simbroker with run.sh's configuration, on a free port. */
static void start_sim(void)
{
  char cfg[PATH_MAX + 32], db[1300], path[PATH_MAX + 8], line[128];
  snprintf(cfg, sizeof cfg, "%s/simbroker.conf", E.tmp);
  write_file(cfg, "listen = 127.0.0.1:0\n"
                  "sender_comp_id = BROKER\n"
                  "target_comp_ids = BACKSTOCK\n"
                  "settle_days = 1\n"
                  "price.TSLA = 250.00\n"
                  "price.AAPL = 190.00\n"
                  "price.NVDA = 120.00\n"
                  "behaviour.default = fill\n");
  sim_env(db, sizeof db, path, sizeof path);
  char *argv[] = {E.sim_bin, "--config", cfg, NULL};
  const char *env[] = {db, path, NULL};
  spawn(&E.sim, "simbroker stderr", argv, env);
  wait_ready(&E.sim, "simbroker listening 127.0.0.1:", line, sizeof line);
  E.broker_port = (uint16_t)strtoul(line + strlen("simbroker listening 127.0.0.1:"), NULL, 10);
  assert_true(E.broker_port != 0);
}

/* backstock-simcustodian with run.sh's configuration, on a free port. */
static void start_cust(void)
{
  char cfg[PATH_MAX + 32], text[PATH_MAX + 512], db[1300], path[PATH_MAX + 8], line[128];
  snprintf(cfg, sizeof cfg, "%s/simcustodian.conf", E.tmp);
  snprintf(text, sizeof text,
           "listen = 127.0.0.1:0\n"
           "token = " CUST_TOKEN "\n"
           "out_dir = %s/custody-in\n"
           "account_servicer = SIMCUSTXXXX\n"
           "safekeeping_account = RESERVE-01\n"
           "isin.TSLA = " TSLA_ISIN "\n"
           "isin.AAPL = US0378331005\n"
           "isin.NVDA = US67066G1040\n"
           "poll_ms = 200\n",
           E.tmp);
  write_file(cfg, text);
  assert_int_equal(chmod(cfg, 0600), 0);
  sim_env(db, sizeof db, path, sizeof path);
  char *argv[] = {E.cust_bin, "--config", cfg, NULL};
  const char *env[] = {db, path, NULL};
  spawn(&E.cust, "simcustodian stderr", argv, env);
  wait_ready(&E.cust, "simcustodian listening 127.0.0.1:", line, sizeof line);
}

/*
 * `backstock @args...` with run.sh's environment: the database and the
 * data folder, the custody keys when @custody (run.sh exports them after
 * `migrate`), and @extra (may be NULL).  Does not wait.
 */
static void start_backstock(struct ts_child *ch, const char *what, char *const args[], bool custody,
                            const char *extra)
{
  char db[1300], path[PATH_MAX + 8], data[PATH_MAX + 32], drop[PATH_MAX + 48];
  char *argv[16] = {E.svc_bin};
  const char *env[12];
  size_t n = 1, k = 0;
  for (; args[n - 1] != NULL && n < 15; n++)
    argv[n] = args[n - 1];
  argv[n] = NULL;
  sim_env(db, sizeof db, path, sizeof path);
  snprintf(data, sizeof data, "BACKSTOCK_DATA_DIR=%s", E.tmp);
  snprintf(drop, sizeof drop, "BACKSTOCK_CUSTODY_DROP_DIR=%s/custody-in", E.tmp);
  env[k++] = db;
  env[k++] = path;
  env[k++] = data;
  if (custody) {
    env[k++] = "BACKSTOCK_CUSTODY_SERVICERS=SIMCUSTXXXX";
    env[k++] = "BACKSTOCK_CUSTODY_ACCOUNTS=RESERVE-01";
    env[k++] = drop;
  }
  if (extra != NULL)
    env[k++] = extra;
  env[k] = NULL;
  spawn(ch, what, argv, env);
}

/* Run `backstock @args...` to its end; it must exit 0; its stdout (free it). */
static char *run_backstock(char *const args[], bool custody)
{
  struct ts_child ch = {0};
  int st;
  char *out = NULL;
  size_t len;
  start_backstock(&ch, "backstock command stderr", args, custody, NULL);
  if (!ts_child_wait(&ch, CMD_WAIT_MS, &st)) {
    ts_child_kill(&ch);
    ts_dump_file(ch.what, ch.err);
    fail_msg("backstock %s did not finish within %d ms", args[0], CMD_WAIT_MS);
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    ts_dump_file(ch.what, ch.err);
    fail_msg("backstock %s %s: status %d", args[0], args[1] != NULL ? args[1] : "", st);
  }
  if (util_read_file(ch.out, 1u << 20, &out, &len) != 0)
    fail_msg("cannot read %s", ch.out);
  return out;
}

/* ------------------------------------------------------------------ */
/* HTTP and JSON                                                       */
/* ------------------------------------------------------------------ */

/* @method @path with @key (NULL: none); a POST gets a new Idempotency-Key unless @idem. */
static void call_idem(const char *method, const char *path, const char *key, const char *idem,
                      const char *body, struct tl_reply *r)
{
  char auth[128], k[48];
  if (idem == NULL && strcmp(method, "POST") == 0) {
    snprintf(k, sizeof k, "e2e-demo-%u", ++E.idem);
    idem = k;
  }
  if (key != NULL)
    snprintf(auth, sizeof auth, "Bearer %s", key);
  tl_request(E.api_port, method, path, key != NULL ? auth : NULL, idem, body,
             body != NULL ? strlen(body) : 0, r);
}

static void call(const char *method, const char *path, const char *key, const char *body,
                 struct tl_reply *r)
{
  call_idem(method, path, key, NULL, body, r);
}

/* The reply's JSON after checking its status (the reply is freed). */
static yajl_val expect(struct tl_reply *r, long status)
{
  if (r->status != status)
    fail_msg("want HTTP %ld, got %ld: %s", status, r->status, r->body);
  yajl_val v = tl_json(r);
  tl_reply_free(r);
  return v;
}

/* @method @path answered @status with the registry's @code (nothing else checked). */
static void expect_refused(const char *method, const char *path, const char *key, const char *body,
                           long status, int code)
{
  struct tl_reply r;
  call(method, path, key, body, &r);
  tl_expect_error(&r, status, code, NULL);
  tl_reply_free(&r);
}

static void expect_str(yajl_val v, const char *a, const char *b, const char *want)
{
  const char *got = tl_str(v, a, b, NULL);
  if (strcmp(got, want) != 0)
    fail_msg("%s%s%s: got \"%s\", want \"%s\"", a, b != NULL ? "." : "", b != NULL ? b : "", got,
             want);
}

static yajl_val order_get(long long id, const char *key)
{
  char path[64];
  struct tl_reply r;
  snprintf(path, sizeof path, "/v1/orders/%lld", id);
  call("GET", path, key, NULL, &r);
  return expect(&r, 200);
}

/* Poll the order (as the AP) until it is in @want, at most STATE_WAIT_MS; its JSON. */
static yajl_val wait_state(long long id, const char *want)
{
  static const char *const dead[] = {"requires_attention", "settlement_failed", "broker_rejected",
                                     "rejected",           "expired",           "cancelled",
                                     "mint_failed"};
  int64_t end = util_mono_ms() + STATE_WAIT_MS;
  for (;;) {
    yajl_val v = order_get(id, E.ap);
    const char *st = tl_str(v, "order", "state", NULL);
    if (strcmp(st, want) == 0)
      return v;
    for (size_t i = 0; i < sizeof dead / sizeof dead[0]; i++)
      if (strcmp(st, dead[i]) == 0 && strcmp(want, dead[i]) != 0)
        fail_msg("order %lld is %s (attention: %s), want %s", id, st,
                 YAJL_IS_STRING(tl_get(v, "order", "attention", NULL))
                     ? tl_str(v, "order", "attention", NULL)
                     : "none",
                 want);
    if (util_mono_ms() > end)
      fail_msg("order %lld is still %s after %d ms, want %s", id, st, STATE_WAIT_MS, want);
    yajl_tree_free(v);
    util_sleep_ms(100);
  }
}

/* The order's events' to_state, space-separated, must be @want. */
static void expect_events(long long id, const char *want)
{
  char path[80], got[1024] = "";
  struct tl_reply r;
  snprintf(path, sizeof path, "/v1/orders/%lld/events", id);
  call("GET", path, E.ap, NULL, &r);
  yajl_val v = expect(&r, 200);
  yajl_val items = tl_get(v, "items", NULL, NULL);
  assert_true(YAJL_IS_ARRAY(items));
  assert_true(YAJL_IS_NULL(tl_get(v, "next_cursor", NULL, NULL)));
  size_t n = 0;
  for (size_t i = 0; i < YAJL_GET_ARRAY(items)->len; i++) {
    yajl_val it = YAJL_GET_ARRAY(items)->values[i];
    assert_int_equal(tl_int(it, "seq", NULL, NULL), (long long)i + 1);
    n += (size_t)snprintf(got + n, sizeof got - n, "%s%s", i > 0 ? " " : "",
                          tl_str(it, "to_state", NULL, NULL));
    assert_true(n < sizeof got);
  }
  if (strcmp(got, want) != 0)
    fail_msg("events of order %lld:\n  got  %s\n  want %s", id, got, want);
  yajl_tree_free(v);
}

/* The AP's balances, "asset=balance ...", must be @want. */
static void expect_balances(const char *want)
{
  char got[512] = "";
  struct tl_reply r;
  call("GET", "/v1/balances", E.ap, NULL, &r);
  yajl_val v = expect(&r, 200);
  yajl_val items = tl_get(v, "items", NULL, NULL);
  size_t n = 0;
  for (size_t i = 0; i < YAJL_GET_ARRAY(items)->len; i++) {
    yajl_val it = YAJL_GET_ARRAY(items)->values[i];
    char owner[32];
    snprintf(owner, sizeof owner, "ap:%lld", E.ap_id);
    expect_str(it, "owner", NULL, owner);
    n += (size_t)snprintf(got + n, sizeof got - n, "%s%s=%s", i > 0 ? " " : "",
                          tl_str(it, "asset", NULL, NULL), tl_str(it, "balance", NULL, NULL));
    assert_true(n < sizeof got);
  }
  if (strcmp(got, want) != 0)
    fail_msg("balances:\n  got  %s\n  want %s", got, want);
  yajl_tree_free(v);
}

/* GET /v1/books/check as the auditor: ok, no discrepancy, cash nets to zero; its JSON. */
static yajl_val books_ok(void)
{
  struct tl_reply r;
  call("GET", "/v1/books/check", E.auditor, NULL, &r);
  yajl_val v = expect(&r, 200);
  if (!YAJL_IS_TRUE(tl_get(v, "ok", NULL, NULL)))
    fail_msg("the books do not check");
  assert_int_equal(YAJL_GET_ARRAY(tl_get(v, "discrepancies", NULL, NULL))->len, 0);
  yajl_val totals = tl_get(v, "totals", NULL, NULL);
  bool cash = false;
  for (size_t i = 0; i < YAJL_GET_ARRAY(totals)->len; i++) {
    yajl_val t = YAJL_GET_ARRAY(totals)->values[i];
    if (strcmp(tl_str(t, "asset", NULL, NULL), "cash:USD") == 0) {
      expect_str(t, "net", NULL, "0.00");
      cash = true;
    }
  }
  assert_true(cash);
  return v;
}

static void assert_sql(const char *sql, const char *want)
{
  char *v = ts_sql_value(E.c, sql);
  if (strcmp(v, want) != 0) {
    char got[1024];
    snprintf(got, sizeof got, "%s", v);
    free(v);
    fail_msg("%s\n  got  \"%s\"\n  want \"%s\"", sql, got, want);
  }
  free(v);
}

/* What the API may have stored: orders, events, idempotency records. */
static char *stored(void)
{
  return ts_sql_value(E.c, "SELECT (SELECT count(*) FROM orders) || ' ' ||"
                           " (SELECT count(*) FROM order_events) || ' ' ||"
                           " (SELECT count(*) FROM api_idempotency)");
}

static void expect_stored(const char *before)
{
  char *now = stored();
  if (strcmp(now, before) != 0) {
    char got[128];
    snprintf(got, sizeof got, "%s", now);
    free(now);
    fail_msg("orders, events, idempotency records: %s, want %s (unchanged)", got, before);
  }
  free(now);
}

/* POST a mint of @qty @symbol at most @limit; 201 and its id. */
static long long mint(const char *symbol, const char *qty, const char *limit, const char *idem,
                      const char *want_cash)
{
  char body[256];
  struct tl_reply r;
  snprintf(body, sizeof body,
           "{\"symbol\":\"%s\",\"quantity\":\"%s\",\"limit_price\":\"%s\",\"wallet\":\"" WALLET
           "\"}",
           symbol, qty, limit);
  call_idem("POST", "/v1/orders/mint", E.ap, idem, body, &r);
  yajl_val v = expect(&r, 201);
  expect_str(v, "order", "state", "awaiting_cash");
  expect_str(v, "order", "cash_required", want_cash);
  long long id = tl_int(v, "order", "id", NULL);
  yajl_tree_free(v);
  return id;
}

static void set_pause(bool paused)
{
  char body[160];
  struct tl_reply r;
  snprintf(body, sizeof body,
           "{\"scope\":\"TSLA\",\"kind\":\"mint\",\"paused\":%s,\"reason\":\"e2e demo %s\"}",
           paused ? "true" : "false", paused ? "pause" : "resume");
  call("POST", "/v1/admin/pauses", E.admin, body, &r);
  yajl_val v = expect(&r, 200);
  expect_str(v, "pause", "scope", "TSLA");
  expect_str(v, "pause", "kind", "mint");
  assert_true(paused ? YAJL_IS_TRUE(tl_get(v, "pause", "paused", NULL))
                     : YAJL_IS_FALSE(tl_get(v, "pause", "paused", NULL)));
  yajl_tree_free(v);
  call("GET", "/v1/pauses", E.ap, NULL, &r);
  v = expect(&r, 200);
  assert_int_equal(YAJL_GET_ARRAY(tl_get(v, "items", NULL, NULL))->len, paused ? 1 : 0);
  yajl_tree_free(v);
}

static void advance_one_business_day(void)
{
  struct tl_reply r;
  call("POST", "/v1/admin/clock", E.admin, "{\"advance_business_days\":1}", &r);
  yajl_tree_free(expect(&r, 200));
}

/* ------------------------------------------------------------------ */
/* Setup: the demo stack as scripts/run.sh starts it                   */
/* ------------------------------------------------------------------ */

static void binary(char *out, const char *rel)
{
  char p[PATH_MAX];
  ts_build_path(p, sizeof p, rel);
  if (realpath(p, out) == NULL)
    fail_msg("%s: %s (build it first)", p, strerror(errno));
}

static void copy_key(yajl_val keys, const char *who, char *out)
{
  const char *k = tl_str(keys, who, "key", NULL);
  assert_true(strncmp(k, "bsk_", 4) == 0 && strlen(k) < API_KEY_TEXT_MAX);
  snprintf(out, API_KEY_TEXT_MAX, "%s", k);
}

/* `demo seed`: its file (0600, printed on stdout too) holds the keys. */
static void demo_seed(void)
{
  char file[PATH_MAX + 32], api[64], err[256];
  snprintf(file, sizeof file, "%s/demo-keys.json", E.tmp);
  snprintf(api, sizeof api, "http://127.0.0.1:%u", E.api_port);
  char *args[] = {"demo", "seed", "--out", file, "--api", api, NULL};
  char *out = run_backstock(args, true), *text = NULL;
  size_t len;
  struct stat sb;
  assert_int_equal(stat(file, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  assert_int_equal(util_read_file(file, 1u << 16, &text, &len), 0);
  assert_string_equal(out, text);
  yajl_val keys = yajl_tree_parse(text, err, sizeof err);
  if (keys == NULL)
    fail_msg("%s: %s", file, err);
  expect_str(keys, "api", NULL, api);
  copy_key(keys, "admin", E.admin);
  copy_key(keys, "ap", E.ap);
  copy_key(keys, "auditor", E.auditor);
  expect_str(keys, "ap", "wallet", WALLET);
  expect_str(keys, "ap", "name", "demo-ap");
  E.ap_id = tl_int(keys, "ap", "principal", NULL);
  yajl_val ins = tl_get(keys, "instruments", NULL, NULL);
  assert_int_equal(YAJL_GET_ARRAY(ins)->len, 3);
  assert_string_equal(YAJL_GET_STRING(YAJL_GET_ARRAY(ins)->values[0]), "TSLAx");
  yajl_tree_free(keys);
  free(text);
  free(out);
}

/* `demo open`; then at least an hour and a half of the session must be left. */
static void demo_open(void)
{
  static const char *const ny_time = "SELECT to_char(clock_now() AT TIME ZONE"
                                     " 'America/New_York', 'HH24:MI')";
  char *args[] = {"demo", "open", NULL};
  char *out = run_backstock(args, true);
  if (strncmp(out, "clock now ", 10) != 0 || strstr(out, "primary market") == NULL)
    fail_msg("demo open printed: %s", out);
  free(out);
  char *hm = ts_sql_value(E.c, ny_time);
  if (strcmp(hm, "15:00") >= 0) {
    char *next[] = {"demo", "next-day", NULL};
    free(run_backstock(next, true));
    free(hm);
    hm = ts_sql_value(E.c, ny_time);
  }
  if (strcmp(hm, "09:30") < 0 || strcmp(hm, "15:00") >= 0)
    fail_msg("the clock is at %s New York after demo open", hm);
  free(hm);
}

static void cleanup(void);

static int group_setup(void **state)
{
  char line[256], want[128], listen[64];
  (void)state;
  memset(&E, 0, sizeof E);
  atexit(cleanup);
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  ts_tmpdir(E.tmp, sizeof E.tmp);
  binary(E.sim_bin, "services/backstock-simbroker");
  binary(E.svc_bin, "services/backstock");
  binary(E.cust_bin, "services/backstock-simcustodian");
  ts_db_create("e2edemo", &E.db);
  ts_db_conninfo(&E.db, E.url, sizeof E.url);
  E.c = ts_db_connect(&E.db, 10);

  char *migrate[] = {"migrate", NULL};
  free(run_backstock(migrate, false));
  start_sim();
  char drop[PATH_MAX + 16];
  snprintf(drop, sizeof drop, "%s/custody-in", E.tmp);
  assert_int_equal(mkdir(drop, 0755), 0);
  start_cust();
  char broker[64];
  snprintf(broker, sizeof broker, "BACKSTOCK_BROKER=127.0.0.1:%u", E.broker_port);
  char *conn[] = {"connector", NULL};
  start_backstock(&E.conn, "connector stderr", conn, true, broker);

  E.api_port = ts_free_port();
  demo_seed();
  demo_open();
  snprintf(listen, sizeof listen, "BACKSTOCK_LISTEN=127.0.0.1:%u", E.api_port);
  char *serve[] = {"serve", NULL};
  start_backstock(&E.serve, "serve stderr", serve, true, listen);
  wait_ready(&E.serve, "backstock is up", line, sizeof line);
  snprintf(want, sizeof want, "backstock is up: curl http://127.0.0.1:%u/healthz", E.api_port);
  if (strncmp(line, want, strlen(want)) != 0)
    fail_msg("serve printed \"%s\", want \"%s ...\"", line, want);
  E.up = true;
  return 0;
}

/*
 * Kill what still runs, drop the database, remove the folder; once.  Also
 * run at exit, for a group setup that failed half way.
 */
static void cleanup(void)
{
  static bool done;
  if (done)
    return;
  done = true;
  if (!E.up)
    dump_children();
  ts_child_kill(&E.serve);
  ts_child_kill(&E.conn);
  ts_child_kill(&E.cust);
  ts_child_kill(&E.sim);
  db_close(E.c);
  E.c = NULL;
  if (E.db.name[0] != '\0')
    ts_db_drop(&E.db);
  if (E.tmp[0] != '\0')
    ts_rmtree(E.tmp);
  curl_global_cleanup();
}

static int group_teardown(void **state)
{
  (void)state;
  cleanup();
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

/* ------------------------------------------------------------------ */
/* The flow                                                            */
/* ------------------------------------------------------------------ */

/* The demo keys work, each with its role. */
static void test_keys(void **state)
{
  static const char *const roles[] = {"issuer_admin", "ap", "auditor"};
  const char *keys[] = {E.admin, E.ap, E.auditor};
  (void)state;
  for (size_t i = 0; i < 3; i++) {
    struct tl_reply r;
    call("GET", "/v1/me", keys[i], NULL, &r);
    yajl_val v = expect(&r, 200);
    expect_str(v, "principal", "role", roles[i]);
    yajl_tree_free(v);
  }
  E.ok = true;
}

/* Mint 10 TSLAx: funded, bought, settled on T+1, minted, the rest refunded. */
static void test_mint(void **state)
{
  struct tl_reply r;
  (void)state;
  long long id = mint("TSLAx", "10", "260.00", NULL, "2607.60");
  assert_int_equal(id, 1);
  yajl_val v = order_get(1, E.ap);
  expect_str(v, "order", "symbol", "TSLA");
  expect_str(v, "order", "token_symbol", "TSLAx");
  expect_str(v, "order", "isin", TSLA_ISIN);
  expect_str(v, "order", "quantity", "10.000000");
  expect_str(v, "order", "limit_price", "260.000000");
  expect_str(v, "order", "token_amount", "10.000000000000000000");
  expect_str(v, "order", "multiplier", "1.000000000000000000");
  expect_str(v, "order", "mint_policy", "at_settlement");
  yajl_tree_free(v);

  call("POST", "/v1/admin/orders/1/funding", E.admin,
       "{\"amount\":\"2607.60\",\"bank_ref\":\"WIRE-0001\"}", &r);
  v = expect(&r, 201);
  expect_str(v, "order", "state", "cash_received");
  expect_str(v, "order", "cash_funded", "2607.60");
  expect_str(v, "movement", "kind", "funding");
  expect_str(v, "movement", "amount", "2607.60");
  expect_str(v, "movement", "bank_ref", "WIRE-0001");
  yajl_tree_free(v);

  v = wait_state(1, "settling");
  expect_str(v, "order", "filled_qty", "10.000000");
  expect_str(v, "order", "fill_cash", "2500.00");
  expect_str(v, "order", "fee", "7.50");
  expect_str(v, "order", "cash_due", "100.10");
  expect_str(v, "order", "settled_qty", "0.000000");
  expect_str(v, "order", "tokens_done", "0.000000000000000000");
  yajl_tree_free(v);

  advance_one_business_day();
  v = wait_state(1, "completed");
  expect_str(v, "order", "settled_qty", "10.000000");
  expect_str(v, "order", "settled_cash", "2500.00");
  expect_str(v, "order", "tokens_done", "10.000000000000000000");
  expect_str(v, "order", "cash_due", "100.10");
  yajl_tree_free(v);

  call("POST", "/v1/admin/orders/1/payouts", E.admin,
       "{\"kind\":\"refund\",\"amount\":\"100.10\",\"bank_ref\":\"WIRE-0002\"}", &r);
  v = expect(&r, 201);
  expect_str(v, "order", "state", "completed");
  expect_str(v, "order", "cash_paid", "100.10");
  expect_str(v, "order", "cash_due", "0.00");
  yajl_tree_free(v);
  expect_balances("cash:USD=0.00 tokens:TSLAx=10.000000000000000000");
  E.ok = true;
}

/* Redeem 4: escrowed, burned, sold, settled on T+1, paid out. */
static void test_redeem(void **state)
{
  struct tl_reply r;
  (void)state;
  call("POST", "/v1/orders/redeem", E.ap,
       "{\"symbol\":\"TSLAx\",\"quantity\":\"4\",\"wallet\":\"" WALLET "\"}", &r);
  yajl_val v = expect(&r, 201);
  assert_int_equal(tl_int(v, "order", "id", NULL), 2);
  expect_str(v, "order", "state", "awaiting_tokens");
  expect_str(v, "order", "token_amount", "4.000000000000000000");
  expect_str(v, "order", "cash_required", "0.00");
  expect_str(v, "order", "burn_policy", "on_receipt");
  assert_true(YAJL_IS_NULL(tl_get(v, "order", "limit_price", NULL)));
  yajl_tree_free(v);

  v = wait_state(2, "settling");
  expect_str(v, "order", "filled_qty", "4.000000");
  expect_str(v, "order", "fill_cash", "1000.00");
  expect_str(v, "order", "fee", "6.00"); /* 5.00 + ceil(1000.00 x 0.001) */
  expect_str(v, "order", "cash_due", "994.00");
  expect_str(v, "order", "tokens_done", "4.000000000000000000");
  yajl_tree_free(v);

  advance_one_business_day();
  v = wait_state(2, "payout_submitted");
  expect_str(v, "order", "settled_qty", "4.000000");
  expect_str(v, "order", "settled_cash", "1000.00");
  expect_str(v, "order", "cash_due", "994.00");
  yajl_tree_free(v);

  /* A payout is not a refund, and not more than is due. */
  expect_refused("POST", "/v1/admin/orders/2/payouts", E.admin,
                 "{\"kind\":\"refund\",\"amount\":\"994.00\",\"bank_ref\":\"WIRE-0003\"}", 400,
                 ERR_API_FIELD);
  expect_refused("POST", "/v1/admin/orders/2/payouts", E.admin,
                 "{\"kind\":\"payout\",\"amount\":\"994.01\",\"bank_ref\":\"WIRE-0003\"}", 422,
                 ERR_ORDER_CASH);
  call("POST", "/v1/admin/orders/2/payouts", E.admin,
       "{\"kind\":\"payout\",\"amount\":\"994.00\",\"bank_ref\":\"WIRE-0003\"}", &r);
  v = expect(&r, 201);
  expect_str(v, "order", "state", "completed");
  expect_str(v, "order", "cash_paid", "994.00");
  expect_str(v, "order", "cash_due", "0.00");
  yajl_tree_free(v);
  E.ok = true;
}

/* Every event of both orders, in order. */
static void test_events(void **state)
{
  (void)state;
  expect_events(1, "requested validated awaiting_cash cash_received broker_submitted filled"
                   " settling settling settled_at_custodian mint_submitted minted completed"
                   " completed");
  expect_events(2, "requested validated awaiting_tokens tokens_received burned broker_submitted"
                   " filled settling settling cash_settled payout_submitted paid completed");
  E.ok = true;
}

/* Balances, books, supply; the broker's blotter, broker orders and chain intents. */
static void test_books(void **state)
{
  struct tl_reply r;
  (void)state;
  expect_balances("cash:USD=0.00 tokens:TSLAx=6.000000000000000000");
  yajl_val v = books_ok();
  /* Mint: funding, fill, settlement, mint, fee, refund; redeem: escrow, burn, fill,
     settlement, fee, payout. */
  assert_int_equal(tl_int(v, "postings", NULL, NULL), 12);
  yajl_val totals = tl_get(v, "totals", NULL, NULL);
  for (size_t i = 0; i < YAJL_GET_ARRAY(totals)->len; i++) {
    yajl_val t = YAJL_GET_ARRAY(totals)->values[i];
    if (strcmp(tl_str(t, "asset", NULL, NULL), "cash:USD") == 0)
      expect_str(t, "held", NULL, "13.50"); /* the fees: 7.50 + 6.00 */
  }
  yajl_tree_free(v);

  call("GET", "/v1/instruments/TSLA", E.auditor, NULL, &r);
  v = expect(&r, 200);
  expect_str(v, "instrument", "raw_supply", "6.000000000000000000");
  expect_str(v, "instrument", "multiplier", "1.000000000000000000");
  expect_str(v, "instrument", "displayed_supply", "6.000000000000000000");
  expect_str(v, "instrument", "liability_shares", "6.000000");
  yajl_tree_free(v);

  assert_sql("SELECT string_agg(cl_ord_id || ' ' || side || ' ' || quantity || ' ' || price || ' '"
             " || status || ' T+' || (settle_date - trade_date), ', ' ORDER BY cl_ord_id)"
             " FROM sim_trades",
             "BS1 buy 10.000000 250.000000 booked T+1, BS2 sell 4.000000 250.000000 booked T+1");
  assert_sql("SELECT string_agg(trade_id || ' ' || status, ', ' ORDER BY trade_id)"
             " FROM sim_settlements",
             "SIM1-2 settled, SIM2-2 settled");
  assert_sql("SELECT string_agg(id || ' ' || side || ' ' || symbol || ' ' || isin || ' ' ||"
             " quantity || ' ' || ord_type || ' ' || coalesce(limit_price::text, '-') || ' ' ||"
             " state || ' ' || cum_qty, ', ' ORDER BY id) FROM broker_orders",
             "1 buy TSLA " TSLA_ISIN " 10.000000 limit 260.000000 filled 10.000000, "
             "2 sell TSLA " TSLA_ISIN " 4.000000 market - filled 4.000000");
  assert_sql("SELECT string_agg(key || ' ' || op || ' ' || token || ' ' || amount || ' ' || state,"
             " ', ' ORDER BY id) FROM chain_intents",
             "order-1-mint mint TSLAx 10.000000000000000000 executed, "
             "order-2-escrow transfer TSLAx 4.000000000000000000 executed, "
             "order-2-burn burn TSLAx 4.000000000000000000 executed");
  E.ok = true;
}

/* ------------------------------------------------------------------ */
/* Reconciliation and proof of reserves                                */
/* ------------------------------------------------------------------ */

#define ATTEST_WAIT_MS 60000

/* The @isin slice of an attestation document's payload. */
static yajl_val slice_of(yajl_val doc, const char *isin)
{
  const char *path[] = {"payload", "instruments", NULL};
  yajl_val a = yajl_tree_get(doc, path, yajl_t_array);
  for (size_t i = 0; a != NULL && i < YAJL_GET_ARRAY(a)->len; i++) {
    yajl_val s = YAJL_GET_ARRAY(a)->values[i];
    if (strcmp(tl_str(s, "isin", NULL, NULL), isin) == 0)
      return s;
  }
  fail_msg("no %s slice in the attestation", isin);
  return NULL;
}

/* GET @path (public) into the file @dir/@name; the reply's body (free it). */
static char *save(const char *path, const char *dir, const char *name)
{
  struct tl_reply r;
  char f[PATH_MAX + 64];
  call("GET", path, NULL, NULL, &r);
  if (r.status != 200)
    fail_msg("GET %s: HTTP %ld: %s", path, r.status, r.body);
  snprintf(f, sizeof f, "%s/%s", dir, name);
  write_file(f, r.body);
  char *body = r.body;
  r.body = NULL;
  tl_reply_free(&r);
  return body;
}

/*
 * The day after the redeem settled, the custodian's daily statement of that day is reconciled
 * and attested: TSLA 6 shares held, 6 TSLAx outstanding (one holder), both coverages 0, no break;
 * the auditor verifies the published attestation offline (figures, tree, signature, chain) and
 * the AP's inclusion proof.
 */
static void test_attestation(void **state)
{
  struct tl_reply r;
  char path[256], dir[PATH_MAX + 16];
  (void)state;
  advance_one_business_day();
  int64_t end = util_mono_ms() + ATTEST_WAIT_MS;
  yajl_val doc = NULL;
  for (;;) {
    call("GET", "/v1/attestations/latest", NULL, NULL, &r);
    if (r.status == 200) {
      doc = tl_json(&r);
      yajl_val t = slice_of(doc, TSLA_ISIN);
      if (strcmp(tl_str(t, "reserves", "settled", NULL), "6") == 0)
        break;
      yajl_tree_free(doc);
      doc = NULL;
    }
    tl_reply_free(&r);
    if (util_mono_ms() > end)
      fail_msg("no attestation of 6 settled TSLA within %d ms", ATTEST_WAIT_MS);
    util_sleep_ms(200);
  }
  tl_reply_free(&r);
  long long id = tl_int(doc, "payload", "id", NULL);
  assert_true(id >= 2);
  yajl_val t = slice_of(doc, TSLA_ISIN);
  expect_str(t, "reserves", "settled", "6");
  expect_str(t, "reserves", "pending_in", "0");
  expect_str(t, "reserves", "pending_out", "0");
  expect_str(t, "liabilities", "raw_supply", "6");
  expect_str(t, "liabilities", "displayed_supply", "6");
  expect_str(t, "liabilities", "multiplier", "1");
  expect_str(t, "liabilities", "redemptions_owed", "0");
  expect_str(t, "liabilities", "mints_owed", "0");
  expect_str(t, "coverage", "settled", "0");
  expect_str(t, "coverage", "contractual", "0");
  expect_str(t, "tree", "sum", "6000000000000000000");
  expect_str(t, "tree", "token", "TSLAx");
  assert_int_equal(tl_int(t, "tree", "holders", NULL), 1);
  assert_int_equal(tl_int(t, "tree", "height", NULL), 20);
  yajl_tree_free(doc);

  /* Every run reconciled clean: no break at all. */
  call("GET", "/v1/recon/breaks", E.auditor, NULL, &r);
  doc = expect(&r, 200);
  assert_int_equal(YAJL_GET_ARRAY(tl_get(doc, "items", NULL, NULL))->len, 0);
  yajl_tree_free(doc);
  assert_sql("SELECT count(*) > 0 AND bool_and(status = 'ok') FROM recon_runs", "t");

  /* The auditor, as the README shows: fetch the latest with its evidence, verify it offline. */
  char api[64], keyf[PATH_MAX + 32], att[PATH_MAX + 64], proof[PATH_MAX + 64];
  snprintf(dir, sizeof dir, "%s/att", E.tmp);
  snprintf(api, sizeof api, "http://127.0.0.1:%u", (unsigned)E.api_port);
  snprintf(keyf, sizeof keyf, "%s/auditor.key", E.tmp);
  write_file(keyf, E.auditor);
  assert_int_equal(chmod(keyf, 0600), 0);
  char *fetch[] = {"attestations", "fetch", "latest",     "--out", dir,
                   "--api",        api,     "--key-file", keyf,    NULL};
  char *out = run_backstock(fetch, false);
  snprintf(path, sizeof path, "attestation %lld: ", id);
  if (strncmp(out, path, strlen(path)) != 0)
    fail_msg("attestations fetch: %s", out);
  free(out);
  char *verify[] = {"audit", "verify", "--dir", dir, NULL};
  out = run_backstock(verify, false);
  assert_string_equal(out, "ok: every figure recomputed from the files matches; signature "
                           "verified; previous hash matches\n");
  free(out);
  /* The AP's inclusion proof in the TSLA tree. */
  snprintf(path, sizeof path, "/v1/attestations/%lld/proofs/" TSLA_ISIN "/" WALLET, id);
  free(save(path, dir, "proof.json"));
  snprintf(att, sizeof att, "%s/attestation.json", dir);
  snprintf(proof, sizeof proof, "%s/proof.json", dir);
  char *incl[] = {"audit", "inclusion", "--attestation", att, "--proof", proof, NULL};
  out = run_backstock(incl, false);
  if (strncmp(out, "ok", 2) != 0)
    fail_msg("audit inclusion: %s", out);
  free(out);
  E.ok = true;
}

/* ------------------------------------------------------------------ */
/* Variants                                                            */
/* ------------------------------------------------------------------ */

#define MINT_1_TSLA                                                                                \
  "{\"symbol\":\"TSLAx\",\"quantity\":\"1\",\"limit_price\":\"260.00\",\"wallet\":\"" WALLET "\"}"

/* A mint pause refuses mints (nothing stored); lifted, the same request is taken. */
static void test_pause(void **state)
{
  struct tl_reply r;
  (void)state;
  set_pause(true);
  char *before = stored();
  call_idem("POST", "/v1/orders/mint", E.ap, "e2e-demo-paused", MINT_1_TSLA, &r);
  tl_expect_error(&r, 409, ERR_ORDER_PAUSED, NULL);
  tl_reply_free(&r);
  expect_stored(before);
  free(before);
  set_pause(false);
  /* A refusal leaves no idempotency record: the same key is free for the retry. */
  long long id = mint("TSLAx", "1", "260.00", "e2e-demo-paused", "265.26");
  assert_int_equal(id, 3);
  E.ok = true;
}

/* Cancel in awaiting_cash; and in cash_received, held by a pause, then refunded. */
static void test_cancel(void **state)
{
  struct tl_reply r;
  (void)state;
  /* Order 3, left awaiting cash by test_pause. */
  call("POST", "/v1/orders/3/cancel", E.ap, "{\"reason\":\"e2e: changed my mind\"}", &r);
  yajl_val v = expect(&r, 200);
  expect_str(v, "order", "state", "cancelled");
  expect_str(v, "order", "cash_due", "0.00");
  yajl_tree_free(v);
  expect_refused("POST", "/v1/orders/3/cancel", E.ap, "{}", 409, ERR_ORDER_STATE);
  expect_events(3, "requested validated awaiting_cash cancelled");

  /* Funded while the instrument's mint is paused: the engine holds it in cash_received. */
  long long id = mint("TSLA", "2", "255.50", NULL, "516.52");
  assert_int_equal(id, 4);
  set_pause(true);
  call("POST", "/v1/admin/orders/4/funding", E.admin,
       "{\"amount\":\"516.52\",\"bank_ref\":\"WIRE-0004\"}", &r);
  v = expect(&r, 201);
  expect_str(v, "order", "state", "cash_received");
  yajl_tree_free(v);
  util_sleep_ms(2500); /* more than two of the engine's passes (engine_poll_ms 1000) */
  v = order_get(4, E.ap);
  expect_str(v, "order", "state", "cash_received");
  yajl_tree_free(v);
  call("POST", "/v1/orders/4/cancel", E.ap, "{}", &r);
  v = expect(&r, 200);
  expect_str(v, "order", "state", "cancelled");
  expect_str(v, "order", "cash_due", "516.52");
  yajl_tree_free(v);
  set_pause(false);
  call("POST", "/v1/admin/orders/4/payouts", E.admin,
       "{\"kind\":\"refund\",\"amount\":\"516.52\",\"bank_ref\":\"WIRE-0005\"}", &r);
  v = expect(&r, 201);
  expect_str(v, "order", "state", "cancelled");
  expect_str(v, "order", "cash_paid", "516.52");
  expect_str(v, "order", "cash_due", "0.00");
  yajl_tree_free(v);
  expect_events(4, "requested validated awaiting_cash cash_received cancelled cancelled");

  util_sleep_ms(1500); /* an engine pass after the pause was lifted: still no broker order */
  assert_sql("SELECT count(*) FROM broker_orders WHERE id >= 3", "0");
  assert_sql("SELECT count(*) FROM sim_orders", "2");
  expect_balances("cash:USD=0.00 tokens:TSLAx=6.000000000000000000");
  yajl_tree_free(books_ok());
  E.ok = true;
}

/* A corporate action's window on AAPL refuses its mints and redeems; cancelled, it does not. */
static void test_corpact(void **state)
{
  struct tl_reply r;
  char body[512], path[96], from[API_TIME_STR], eff[API_TIME_STR], to[API_TIME_STR];
  int64_t now;
  (void)state;
  call("GET", "/v1/clock", NULL, NULL, &r);
  yajl_val v = expect(&r, 200);
  const char *s = tl_str(v, "now", NULL, NULL);
  assert_int_equal(api_time_parse(s, strlen(s), &now), 0);
  yajl_tree_free(v);
  assert_int_equal(api_time_format(now - 60000, from), 0);
  assert_int_equal(api_time_format(now + 3600000, eff), 0);
  assert_int_equal(api_time_format(now + 7200000, to), 0);
  snprintf(body, sizeof body,
           "{\"type\":\"split\",\"ratio_new\":\"2\",\"ratio_old\":\"1\",\"effective_at\":\"%s\","
           "\"window_start\":\"%s\",\"window_end\":\"%s\"}",
           eff, from, to);
  call("POST", "/v1/admin/instruments/AAPL/corporate-actions", E.admin, body, &r);
  v = expect(&r, 201);
  expect_str(v, "corporate_action", "status", "announced");
  expect_str(v, "corporate_action", "window_start", from);
  expect_str(v, "corporate_action", "window_end", to);
  long long ca = tl_int(v, "corporate_action", "id", NULL);
  yajl_tree_free(v);

  char *before = stored();
  expect_refused("POST", "/v1/orders/mint", E.ap,
                 "{\"symbol\":\"AAPLx\",\"quantity\":\"1\",\"limit_price\":\"200.00\","
                 "\"wallet\":\"" WALLET "\"}",
                 409, ERR_ORDER_CORPACT);
  expect_refused("POST", "/v1/orders/redeem", E.ap,
                 "{\"symbol\":\"AAPL\",\"quantity\":\"1\",\"wallet\":\"" WALLET "\"}", 409,
                 ERR_ORDER_CORPACT);
  expect_stored(before);
  free(before);

  snprintf(path, sizeof path, "/v1/admin/corporate-actions/%lld/cancel", ca);
  call("POST", path, E.admin, "{\"reason\":\"e2e demo\"}", &r);
  v = expect(&r, 200);
  expect_str(v, "corporate_action", "status", "cancelled");
  yajl_tree_free(v);
  long long id = mint("AAPLx", "1", "200.00", NULL, "205.20");
  assert_int_equal(id, 5);
  call("POST", "/v1/orders/5/cancel", E.ap, "{}", &r);
  v = expect(&r, 200);
  expect_str(v, "order", "state", "cancelled");
  yajl_tree_free(v);
  E.ok = true;
}

/* Wrong roles, and another AP: refused, and order 1 does not exist for it. */
static void test_roles(void **state)
{
  struct tl_reply r;
  char other[API_KEY_TEXT_MAX];
  (void)state;
  char *before = stored();
  expect_refused("POST", "/v1/orders/mint", E.auditor, MINT_1_TSLA, 403, ERR_API_FORBIDDEN);
  expect_refused("POST", "/v1/orders/1/cancel", E.auditor, "{}", 403, ERR_API_FORBIDDEN);
  expect_refused("POST", "/v1/admin/orders/1/funding", E.ap,
                 "{\"amount\":\"1.00\",\"bank_ref\":\"WIRE-X\"}", 403, ERR_API_FORBIDDEN);
  expect_refused("POST", "/v1/admin/clock", E.auditor, "{\"advance_business_days\":1}", 403,
                 ERR_API_FORBIDDEN);
  call("GET", "/v1/orders/1", NULL, NULL, &r);
  assert_int_equal(r.status, 401);
  tl_reply_free(&r);
  expect_stored(before);
  free(before);

  call("POST", "/v1/admin/principals", E.admin, "{\"name\":\"e2e-other-ap\",\"role\":\"ap\"}", &r);
  yajl_val v = expect(&r, 201);
  expect_str(v, "principal", "role", "ap");
  snprintf(other, sizeof other, "%s", tl_str(v, "api_key", NULL, NULL));
  yajl_tree_free(v);
  before = stored();
  expect_refused("GET", "/v1/orders/1", other, NULL, 404, ERR_ORDER_NOT_FOUND);
  expect_refused("GET", "/v1/orders/1/events", other, NULL, 404, ERR_ORDER_NOT_FOUND);
  expect_refused("POST", "/v1/orders/1/cancel", other, "{}", 404, ERR_ORDER_NOT_FOUND);
  expect_refused("POST", "/v1/orders/mint", other, MINT_1_TSLA, 422,
                 ERR_ORDER_WALLET); /* not its wallet */
  call("GET", "/v1/orders", other, NULL, &r);
  v = expect(&r, 200);
  assert_int_equal(YAJL_GET_ARRAY(tl_get(v, "items", NULL, NULL))->len, 0);
  yajl_tree_free(v);
  call("GET", "/v1/balances", other, NULL, &r);
  v = expect(&r, 200);
  assert_int_equal(YAJL_GET_ARRAY(tl_get(v, "items", NULL, NULL))->len, 0);
  yajl_tree_free(v);
  expect_stored(before);
  free(before);
  /* The auditor reads every order. */
  v = order_get(1, E.auditor);
  expect_str(v, "order", "state", "completed");
  yajl_tree_free(v);
  E.ok = true;
}

/* SIGTERM: every process ends with status 0 and records its stop. */
static void test_stop(void **state)
{
  (void)state;
  ts_child_stop(&E.serve, STOP_WAIT_MS);
  ts_child_stop(&E.conn, STOP_WAIT_MS);
  ts_child_stop(&E.cust, STOP_WAIT_MS);
  ts_child_stop(&E.sim, STOP_WAIT_MS);
  assert_sql("SELECT string_agg(service || ' ' || (stopped_at IS NOT NULL), ', ' ORDER BY service)"
             " FROM service_runs",
             "backstock true, backstock-simbroker true, backstock-simcustodian true,"
             " connector true");
  E.ok = true;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_keys, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_mint, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_redeem, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_events, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_books, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_attestation, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_pause, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_cancel, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_corpact, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_roles, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_stop, test_setup, test_teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
