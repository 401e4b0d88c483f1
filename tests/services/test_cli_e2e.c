/*
 * End to end, the API client of the backstock command (docs/cli.md)
 * against the real service: "admin bootstrap" on a fresh database, "serve"
 * on a free port of 127.0.0.1, then the CLI as a subprocess with
 * BACKSTOCK_API_URL and the key from BACKSTOCK_API_KEY or --key-file:
 * help and usage (exit 0 and 2, nothing sent), principals, keys, a wrong
 * and a revoked key (exit 1, error 3008), roles (3009), instruments,
 * pauses, idempotent retries (the same --idempotency-key replays, another
 * body is 3011), wallets, limits, signing keys, balances, the books
 * check, the audit log with every action in order, and an unreachable
 * service (error 4 io).  test_orders drives mint (refusals, replays),
 * funding, events, cancel, refund, orders wait, lists and signed
 * instructions; test_more a signed redeem, wallet revoke, corporate
 * actions and the clock.  Orders are placed on a Saturday of the business
 * clock (moved there over the API) so that the engine inside "serve"
 * leaves the mints where the test looks at them.  Every wait is bounded;
 * a failure prints the last command's output and the service's log.
 */
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <yajl/yajl_tree.h>

#include "tests/support/testsupport.h"

#define RUN_WAIT_MS   30000
#define START_WAIT_MS 60000

struct e2e {
  struct ts_db db;
  char conninfo[2048];
  char tmp[PATH_MAX];
  char bin[PATH_MAX];
  char url[64];
  char out[PATH_MAX + 16], err[PATH_MAX + 16];
  char serr[PATH_MAX + 16];
  unsigned runs;
  pid_t svc;
  bool ok;
  char admin[128], ap[128], auditor[128]; /* API keys */
  char ap_id[24];
  char admin_file[PATH_MAX + 16];
};

static struct e2e E;

/* One finished command: exit status, stdout, stderr (free with res_free). */
struct res {
  int status;
  char *out, *err;
};

static void res_free(struct res *r)
{
  free(r->out);
  free(r->err);
  memset(r, 0, sizeof *r);
}

/* Run `backstock @args` with @env (NULL-ended) until it ends; into @r. */
static void run_env(struct res *r, const char *const *env, const char *const *args)
{
  char *argv[48] = {E.bin};
  size_t n = 1;
  int st;
  for (; args[n - 1] != NULL && n < 47; n++)
    argv[n] = (char *)args[n - 1];
  argv[n] = NULL;
  E.runs++;
  snprintf(E.out, sizeof E.out, "%s/run-%u.out", E.tmp, E.runs);
  snprintf(E.err, sizeof E.err, "%s/run-%u.err", E.tmp, E.runs);
  pid_t pid = ts_spawn(argv, env, E.out, E.err);
  if (!ts_wait_exit(pid, RUN_WAIT_MS, &st)) {
    ts_kill(pid, SIGKILL);
    ts_wait_exit(pid, 5000, NULL);
    fail_msg("backstock %s did not end within %d ms", args[0], RUN_WAIT_MS);
  }
  memset(r, 0, sizeof *r);
  r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  if (util_read_file(E.out, 1 << 22, &r->out, NULL) != 0)
    r->out = strdup("");
  if (util_read_file(E.err, 1 << 22, &r->err, NULL) != 0)
    r->err = strdup("");
}

/* The CLI against the service, with @key in BACKSTOCK_API_KEY (NULL: none). */
static void cli(struct res *r, const char *key, const char *const *args)
{
  char path[PATH_MAX + 8], url[128], k[200];
  snprintf(path, sizeof path, "PATH=%s", getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin");
  snprintf(url, sizeof url, "BACKSTOCK_API_URL=%s", E.url);
  snprintf(k, sizeof k, "BACKSTOCK_API_KEY=%s", key != NULL ? key : "");
  const char *env[] = {path, url, key != NULL ? k : NULL, NULL};
  run_env(r, env, args);
}

#define CLI(r, key, ...) cli(r, key, (const char *const[]){__VA_ARGS__, NULL})

/* Expect exit @status; on a mismatch show what the command printed. */
static void expect(const struct res *r, int status)
{
  if (r->status != status)
    fail_msg("exit %d, wanted %d\n--- stdout\n%s\n--- stderr\n%s", r->status, status, r->out,
             r->err);
}

/* Exit 1 and exactly one stderr line starting "error <code> <name>: ", nothing on stdout. */
static void expect_error(const struct res *r, int code, const char *name)
{
  char want[128];
  expect(r, 1);
  snprintf(want, sizeof want, "error %d %s: ", code, name);
  if (strncmp(r->err, want, strlen(want)) != 0)
    fail_msg("stderr \"%s\" does not start with \"%s\"", r->err, want);
  assert_string_equal(r->out, "");
}

/* Exit 2 (usage), stderr "error <code> <name>: <cmd>: ..." naming @needle; no stdout. */
static void expect_usage(const struct res *r, int code, const char *needle)
{
  char want[64];
  expect(r, 2);
  snprintf(want, sizeof want, "error %d ", code);
  if (strncmp(r->err, want, strlen(want)) != 0 || strstr(r->err, needle) == NULL)
    fail_msg("stderr \"%s\" is not a usage error %d naming \"%s\"", r->err, code, needle);
  assert_string_equal(r->out, "");
}

/*
 * The CLI must fail on @args: as a usage error @code naming @text
 * (expect_usage()) when @usage, else with the service's error @code named
 * @text (expect_error()).
 */
static void fails(bool usage, const char *key, int code, const char *text, const char *const *args)
{
  struct res r;
  cli(&r, key, args);
  if (usage)
    expect_usage(&r, code, text);
  else
    expect_error(&r, code, text);
  res_free(&r);
}

#define USAGE(key, code, needle, ...)                                                              \
  fails(true, key, code, needle, (const char *const[]){__VA_ARGS__, NULL})
#define REFUSED(key, code, name, ...)                                                              \
  fails(false, key, code, name, (const char *const[]){__VA_ARGS__, NULL})

/* The reply on stdout as a tree (yajl_tree_free()). */
static yajl_val json(const struct res *r)
{
  char why[256];
  yajl_val v = yajl_tree_parse(r->out, why, sizeof why);
  if (v == NULL)
    fail_msg("stdout is not JSON (%s):\n%s", why, r->out);
  return v;
}

/* The value at a dotted path ("items.0.name"), or NULL. */
static yajl_val jget(yajl_val v, const char *path)
{
  char buf[256], *save = NULL;
  snprintf(buf, sizeof buf, "%s", path);
  for (char *t = strtok_r(buf, ".", &save); t != NULL && v != NULL;
       t = strtok_r(NULL, ".", &save)) {
    if (YAJL_IS_ARRAY(v)) {
      char *end;
      unsigned long i = strtoul(t, &end, 10);
      v = *end == '\0' && i < v->u.array.len ? v->u.array.values[i] : NULL;
    } else if (YAJL_IS_OBJECT(v)) {
      const char *p[] = {t, NULL};
      v = yajl_tree_get(v, p, yajl_t_any);
    } else {
      v = NULL;
    }
  }
  return v;
}

/* The CLI must succeed (exit 0): its stdout as JSON (done() frees both). */
static yajl_val cli_json(struct res *r, const char *key, const char *const *args)
{
  cli(r, key, args);
  expect(r, 0);
  return json(r);
}

#define CLI_JSON(r, key, ...) cli_json(r, key, (const char *const[]){__VA_ARGS__, NULL})

static void done(struct res *r, yajl_val v)
{
  yajl_tree_free(v);
  res_free(r);
}

static const char *jstr(yajl_val v, const char *path)
{
  yajl_val x = jget(v, path);
  if (x == NULL || !YAJL_IS_STRING(x))
    fail_msg("%s is not a string", path);
  return x->u.string;
}

/* A number's text as sent. */
static const char *jnum(yajl_val v, const char *path)
{
  yajl_val x = jget(v, path);
  if (x == NULL || !YAJL_IS_NUMBER(x))
    fail_msg("%s is not a number", path);
  return x->u.number.r;
}

static size_t jlen(yajl_val v, const char *path)
{
  yajl_val x = jget(v, path);
  if (x == NULL || !YAJL_IS_ARRAY(x))
    fail_msg("%s is not an array", path);
  return x->u.array.len;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
  (void)state;
  memset(&E, 0, sizeof E);
  ts_tmpdir(E.tmp, sizeof E.tmp);
  char rel[PATH_MAX];
  ts_build_path(rel, sizeof rel, "services/backstock");
  if (realpath(rel, E.bin) == NULL)
    fail_msg("no service binary at %s", rel);
  ts_db_create("cli", &E.db);
  ts_db_conninfo(&E.db, E.conninfo, sizeof E.conninfo);

  /* The first admin, on the database. */
  char db[2200], data[PATH_MAX + 32], path[PATH_MAX + 8], listen[64], line[256];
  struct res r;
  snprintf(db, sizeof db, "BACKSTOCK_DATABASE_URL=%s", E.conninfo);
  snprintf(data, sizeof data, "BACKSTOCK_DATA_DIR=%s/var", E.tmp);
  snprintf(path, sizeof path, "PATH=%s", getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin");
  const char *benv[] = {db, data, path, "BACKSTOCK_LOG_LEVEL=warn", NULL};
  run_env(&r, benv, (const char *const[]){"admin", "bootstrap", "--name", "ops", NULL});
  expect(&r, 0);
  assert_int_equal(strlen(r.out), 65);
  memcpy(E.admin, r.out, 64);
  E.admin[64] = '\0';
  res_free(&r);
  snprintf(E.admin_file, sizeof E.admin_file, "%s/admin.key", E.tmp);
  char keyline[160];
  snprintf(keyline, sizeof keyline, "%s\n", E.admin);
  write_file(E.admin_file, keyline, 0600);

  /* The service. */
  uint16_t port = ts_free_port();
  snprintf(E.url, sizeof E.url, "http://127.0.0.1:%u", port);
  snprintf(listen, sizeof listen, "BACKSTOCK_LISTEN=127.0.0.1:%u", port);
  const char *env[] = {db, data, path, listen, "BACKSTOCK_LOG_LEVEL=info", NULL};
  char *argv[] = {E.bin, "serve", NULL};
  char sout[PATH_MAX + 16];
  snprintf(sout, sizeof sout, "%s/serve.out", E.tmp);
  snprintf(E.serr, sizeof E.serr, "%s/serve.err", E.tmp);
  E.svc = ts_spawn(argv, env, sout, E.serr);
  if (!ts_wait_line(sout, "backstock is up", START_WAIT_MS, line, sizeof line)) {
    ts_dump_file("service stderr", E.serr);
    fail_msg("the service did not come up within %d ms", START_WAIT_MS);
  }
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  if (E.svc > 0) {
    int st;
    ts_kill(E.svc, SIGTERM);
    if (!ts_wait_exit(E.svc, 30000, &st)) {
      ts_kill(E.svc, SIGKILL);
      ts_wait_exit(E.svc, 5000, NULL);
    }
  }
  if (!E.ok) {
    ts_dump_file("last command stdout", E.out);
    ts_dump_file("last command stderr", E.err);
    ts_dump_file("service stderr", E.serr);
  }
  if (E.db.name[0] != '\0')
    ts_db_drop(&E.db);
  ts_rmtree(E.tmp);
  return 0;
}

/* Help and usage: no service needed, nothing sent. */
static void test_help_usage(void **state)
{
  struct res r;
  (void)state;
  CLI(&r, NULL, "help");
  expect(&r, 0);
  const char *names[] = {"\n  mint ",       "\n  redeem ",       "\n  orders cancel ",
                         "\n  admin fund ", "\n  admin payout ", "\n  audit books ",
                         "\n  audit log ",  "admin bootstrap",   "Authorized participants",
                         "Issuer admins",   "Auditors",          "order place|cancel|show"};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
    if (strstr(r.out, names[k]) == NULL)
      fail_msg("help does not name \"%s\"", names[k]);
  res_free(&r);

  CLI(&r, NULL, "mint", "--help");
  expect(&r, 0);
  assert_int_equal(strncmp(r.out,
                           "usage: backstock mint --symbol S --quantity Q --limit-price P "
                           "--wallet ADDR [--client-ref R]",
                           91),
                   0);
  const char *opts[] = {"role: ap   request: POST /v1/orders/mint",
                        "--sign-key FILE",
                        "--sign-key-id ID",
                        "--idempotency-key K",
                        "--key-file FILE",
                        "--api URL",
                        "--output json|table",
                        "--timeout SECONDS"};
  for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++)
    if (strstr(r.out, opts[k]) == NULL)
      fail_msg("mint --help does not name \"%s\"", opts[k]);
  assert_string_equal(r.err, "");
  res_free(&r);
  CLI(&r, NULL, "help", "admin", "payout");
  expect(&r, 0);
  assert_non_null(strstr(r.out, "--kind refund|payout"));
  assert_non_null(strstr(r.out, "POST /v1/admin/orders/{id}/payouts"));
  res_free(&r);
  CLI(&r, NULL, "admin", "instruments", "--help");
  expect(&r, 0);
  assert_non_null(strstr(r.out, "  admin instruments create "));
  assert_non_null(strstr(r.out, "  admin instruments show "));
  res_free(&r);
  CLI(&r, NULL, "admin", "instruments");
  expect(&r, 2);
  assert_non_null(strstr(r.err, "\"backstock admin instruments\" wants one of:\n"));
  res_free(&r);
  /* The old command keeps its meaning: "order" (one broker order) is not "orders". */
  CLI(&r, NULL, "orders", "--help");
  expect(&r, 0);
  assert_non_null(strstr(r.out, "usage: backstock orders [--state S] [--kind mint|redeem]"));
  res_free(&r);

  /* Usage errors: exit 2, one line, nothing sent (no service is needed for them). */
  USAGE(E.admin, 1001, "error 1001 money_syntax: mint: --quantity \"1,5\"", "mint", "--symbol",
        "TSLA", "--quantity", "1,5", "--limit-price", "2", "--wallet", "0x1");
  USAGE(E.admin, 1005, "money_precision", "mint", "--symbol", "TSLA", "--quantity", "1.1234567",
        "--limit-price", "2", "--wallet", "0x1");
  USAGE(E.admin, 1002, "--amount \"-5\"", "admin", "fund", "7", "--amount", "-5", "--bank-ref",
        "W");
  USAGE(E.admin, 1005, "at most 2 places", "admin", "fund", "7", "--amount", "5.001", "--bank-ref",
        "W");
  USAGE(E.admin, 3, "--limit-price P is required", "mint", "--symbol", "TSLA", "--quantity", "1");
  USAGE(E.admin, 3, "--public-key-file FILE or --public-key B64 is required", "signing-keys", "add",
        "--label", "x");
  USAGE(E.admin, 3, "ID \"abc\": want a positive integer", "orders", "show", "abc");
  USAGE(E.admin, 3, "the argument ID is required", "orders", "show");
  USAGE(E.admin, 3, "want one of refund|payout", "admin", "payout", "3", "--kind", "bonus",
        "--amount", "1", "--bank-ref", "B");
  USAGE(E.admin, 3, "unknown option --bogus", "me", "--bogus");
  USAGE(E.admin, 3, "want json or table", "me", "--output", "yaml");
  USAGE(E.admin, 3, "--timeout", "pauses", "--timeout", "0");
  USAGE(E.admin, 3, "--limit given twice", "admin", "audit", "--limit", "5", "--limit", "6");
  CLI(&r, NULL, "me", "--key", E.admin);
  expect_usage(&r, 3, "never taken as an argument");
  assert_null(strstr(r.err, E.admin + 21)); /* not even echoed */
  res_free(&r);
  USAGE(NULL, 3, "no API key: set BACKSTOCK_API_KEY or use --key-file FILE", "me");
  USAGE(E.admin, 3, "is not http(s)://HOST[:PORT]", "me", "--api", "ftp://127.0.0.1:21");
  USAGE(E.admin, 3, "--idempotency-key", "mint", "--symbol", "T", "--quantity", "1",
        "--limit-price", "1", "--wallet", "0x1", "--idempotency-key", "has space");
  CLI(&r, E.admin, "nonsense");
  expect(&r, 2); /* not a client command: the service's usage */
  res_free(&r);
  USAGE(NULL, 3, "no command \"nonsense\"", "help", "nonsense");
  E.ok = true;
}

/* Principals, keys, roles, instruments, pauses, participants, audit. */
static void test_admin(void **state)
{
  struct res r;
  yajl_val v;
  char path[PATH_MAX + 32], key2[128], kid[40], pub[64], sk_id[24], wallet_ap[24];
  (void)state;
  E.ok = false;

  /* The key from a file; pretty JSON. */
  CLI(&r, NULL, "me", "--key-file", E.admin_file);
  expect(&r, 0);
  assert_int_equal(
      strncmp(r.out, "{\n  \"principal\": {\n    \"id\": 1,\n    \"name\": \"ops\",\n", 50), 0);
  v = json(&r);
  assert_string_equal(jstr(v, "principal.role"), "issuer_admin");
  assert_string_equal(r.err, "");
  done(&r, v);
  snprintf(path, sizeof path, "%s/loose.key", E.tmp);
  write_file(path, E.admin, 0644);
  CLI(&r, NULL, "me", "--key-file", path);
  expect(&r, 0);
  assert_non_null(strstr(r.err, "can be read by other users"));
  res_free(&r);
  snprintf(path, sizeof path, "%s/empty.key", E.tmp);
  write_file(path, "\n", 0600);
  USAGE(E.admin, 3, "empty.key is empty", "me", "--key-file", path);
  /* A key file wins over the variable. */
  CLI(&r, "bsk_0000000000000000_nope", "me", "--key-file", E.admin_file);
  expect(&r, 0);
  res_free(&r);

  /* Wrong keys: 401, error 3008, exit 1. */
  CLI(&r, "bsk_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "me");
  expect_error(&r, 3008, "api_unauthorized");
  assert_string_equal(r.err, "error 3008 api_unauthorized: missing or invalid API key\n");
  res_free(&r);
  REFUSED("garbage", 3008, "api_unauthorized", "pauses");

  /* An AP and its keys. */
  v = CLI_JSON(&r, E.admin, "admin", "principals", "add", "--name", "Desk AP", "--role", "ap");
  assert_string_equal(jstr(v, "principal.name"), "Desk AP");
  assert_string_equal(jstr(v, "principal.role"), "ap");
  snprintf(E.ap, sizeof E.ap, "%s", jstr(v, "api_key"));
  snprintf(E.ap_id, sizeof E.ap_id, "%s", jnum(v, "principal.id"));
  assert_string_equal(E.ap_id, "2");
  assert_int_equal(strncmp(E.ap, "bsk_", 4), 0);
  done(&r, v);
  v = CLI_JSON(&r, E.admin, "admin", "keys", "add", E.ap_id);
  snprintf(key2, sizeof key2, "%s", jstr(v, "api_key"));
  snprintf(kid, sizeof kid, "%s", jstr(v, "key.id"));
  assert_string_equal(jnum(v, "key.principal"), "2");
  assert_int_equal(strlen(kid), 16);
  done(&r, v);
  v = CLI_JSON(&r, key2, "me");
  assert_string_equal(jstr(v, "principal.name"), "Desk AP");
  assert_string_equal(jstr(v, "key.id"), kid);
  done(&r, v);
  v = CLI_JSON(&r, E.admin, "admin", "keys", "revoke", kid);
  assert_string_equal(jstr(v, "key.id"), kid);
  assert_non_null(jstr(v, "key.revoked_at"));
  done(&r, v);
  REFUSED(key2, 3008, "api_unauthorized", "me");
  REFUSED(E.admin, 3001, "api_not_found", "admin", "keys", "add", "999");

  /* Roles. */
  REFUSED(E.ap, 3009, "api_forbidden", "admin", "audit");
  REFUSED(E.ap, 3009, "api_forbidden", "admin", "principals", "add", "--name", "x", "--role", "ap");

  /* Idempotent retries: the same key replays, another body under it is refused. */
  v = CLI_JSON(&r, E.admin, "admin", "principals", "add", "--name", "Auditor", "--role", "auditor",
               "--idempotency-key", "cli-k1");
  snprintf(E.auditor, sizeof E.auditor, "%s", jstr(v, "api_key"));
  assert_string_equal(jnum(v, "principal.id"), "3");
  yajl_tree_free(v);
  assert_string_equal(r.err, "");
  res_free(&r);
  v = CLI_JSON(&r, E.admin, "admin", "principals", "add", "--name", "Auditor", "--role", "auditor",
               "--idempotency-key=cli-k1");
  assert_string_equal(jnum(v, "principal.id"), "3");
  assert_true(YAJL_IS_NULL(jget(v, "api_key"))); /* a replay never shows the key again */
  yajl_tree_free(v);
  assert_string_equal(r.err, "backstock: this is the stored reply of an earlier request with "
                             "Idempotency-Key cli-k1; nothing was done again\n");
  res_free(&r);
  REFUSED(E.admin, 3011, "api_idempotency_conflict", "admin", "principals", "add", "--name",
          "Other", "--role", "auditor", "--idempotency-key", "cli-k1");
  CLI(&r, E.auditor, "admin", "principals", "list", "--output", "table");
  expect(&r, 0);
  assert_int_equal(strncmp(r.out, "id  name     role          created", 34), 0);
  assert_non_null(strstr(r.out, "\n1   ops      issuer_admin  "));
  assert_non_null(strstr(r.out, "\n2   Desk AP  ap            "));
  assert_non_null(strstr(r.out, "\n3   Auditor  auditor       "));
  assert_non_null(strstr(r.out, "\nnext_cursor: -\n"));
  res_free(&r);
  v = CLI_JSON(&r, E.auditor, "audit", "principals", "--limit", "2");
  assert_int_equal(jlen(v, "items"), 2);
  char cursor[64];
  snprintf(cursor, sizeof cursor, "%s", jstr(v, "next_cursor"));
  done(&r, v);
  v = CLI_JSON(&r, E.auditor, "audit", "principals", "--limit", "2", "--cursor", cursor);
  assert_int_equal(jlen(v, "items"), 1);
  assert_string_equal(jstr(v, "items.0.name"), "Auditor");
  done(&r, v);
  REFUSED(E.auditor, 3013, "api_bad_cursor", "audit", "principals", "--cursor", "bogus");

  /* Instruments. */
  v = CLI_JSON(&r, E.admin, "admin", "instruments", "create", "--symbol", "TSLA", "--isin",
               "US88160R1014", "--token-symbol", "TSLAx", "--mint-policy", "at_settlement",
               "--burn-policy", "on_receipt", "--min-order-qty", "1", "--max-order-qty", "100000",
               "--fee-rate", "0.0025");
  assert_string_equal(jstr(v, "instrument.symbol"), "TSLA");
  assert_string_equal(jstr(v, "instrument.token_symbol"), "TSLAx");
  assert_string_equal(jstr(v, "instrument.fee_rate"), "0.002500");
  assert_string_equal(jstr(v, "instrument.fee_flat"), "0.00");
  assert_string_equal(jstr(v, "instrument.min_order_qty"), "1.000000");
  assert_string_equal(jstr(v, "instrument.max_order_qty"), "100000.000000");
  assert_string_equal(jnum(v, "instrument.token_decimals"), "18");
  assert_string_equal(jstr(v, "instrument.out_of_hours"), "queue");
  done(&r, v);
  REFUSED(E.admin, 3012, "api_conflict", "admin", "instruments", "create", "--symbol", "TSLA",
          "--isin", "US88160R1014", "--token-symbol", "TSLAx", "--mint-policy", "at_settlement",
          "--burn-policy", "on_receipt", "--min-order-qty", "1", "--max-order-qty", "100000");
  USAGE(E.admin, 3, "want one of at_fill|at_settlement", "admin", "instruments", "create",
        "--symbol", "AAPL", "--isin", "US0378331006", "--token-symbol", "AAPLx", "--mint-policy",
        "sometimes", "--burn-policy", "on_receipt", "--min-order-qty", "1", "--max-order-qty",
        "10");
  CLI(&r, E.admin, "admin", "instruments", "create", "--symbol", "AAPL", "--isin", "US0378331007",
      "--token-symbol", "AAPLx", "--mint-policy", "at_fill", "--burn-policy", "on_receipt",
      "--min-order-qty", "1", "--max-order-qty", "10");
  expect_error(&r, 3006, "api_field"); /* the ISIN's check digit, checked by the service */
  assert_non_null(strstr(r.err, "isin"));
  res_free(&r);
  v = CLI_JSON(&r, E.admin, "admin", "instruments", "update", "TSLA", "--fee-flat", "1.50");
  assert_string_equal(jstr(v, "instrument.fee_flat"), "1.50");
  assert_string_equal(jstr(v, "instrument.fee_rate"), "0.002500");
  done(&r, v);
  v = CLI_JSON(&r, E.ap, "instruments", "show", "TSLA");
  assert_string_equal(jstr(v, "instrument.isin"), "US88160R1014");
  done(&r, v);
  REFUSED(E.ap, 3001, "api_not_found", "instruments", "show", "NOPE");
  CLI(&r, E.ap, "instruments", "--output", "table");
  expect(&r, 0);
  assert_int_equal(strncmp(r.out, "id  symbol  isin          token_symbol", 37), 0);
  assert_non_null(strstr(r.out, "\n1   TSLA    US88160R1014  TSLAx "));
  res_free(&r);

  /* Pauses. */
  v = CLI_JSON(&r, E.admin, "admin", "pause", "set", "--scope", "TSLA", "--kind", "mint",
               "--reason", "split on Friday");
  assert_string_equal(jstr(v, "pause.scope"), "TSLA");
  assert_string_equal(jstr(v, "pause.kind"), "mint");
  assert_true(YAJL_IS_TRUE(jget(v, "pause.paused")));
  done(&r, v);
  v = CLI_JSON(&r, E.ap, "pauses");
  assert_int_equal(jlen(v, "items"), 1);
  assert_string_equal(jstr(v, "items.0.reason"), "split on Friday");
  done(&r, v);
  v = CLI_JSON(&r, E.admin, "admin", "pause", "clear", "--scope", "TSLA", "--kind", "mint",
               "--reason", "split done");
  assert_true(YAJL_IS_FALSE(jget(v, "pause.paused")));
  done(&r, v);
  v = CLI_JSON(&r, E.admin, "admin", "pause", "list");
  assert_int_equal(jlen(v, "items"), 0);
  done(&r, v);

  /* Wallets and limits. */
  v = CLI_JSON(&r, E.admin, "admin", "wallets", "add", "--ap", E.ap_id, "--address",
               "0x1111111111111111111111111111111111111111", "--label", "desk");
  assert_string_equal(jstr(v, "wallet.address"), "0x1111111111111111111111111111111111111111");
  snprintf(wallet_ap, sizeof wallet_ap, "%s", jnum(v, "wallet.ap"));
  assert_string_equal(wallet_ap, E.ap_id);
  assert_true(YAJL_IS_NULL(jget(v, "wallet.revoked_at")));
  done(&r, v);
  v = CLI_JSON(&r, E.ap, "wallets");
  assert_int_equal(jlen(v, "items"), 1);
  assert_string_equal(jstr(v, "items.0.label"), "desk");
  done(&r, v);
  REFUSED(E.ap, 3009, "api_forbidden", "wallets", "--ap", "1");
  v = CLI_JSON(&r, E.admin, "admin", "limits", "set", "--symbol", "TSLA", "--kind", "mint",
               "--window-seconds", "86400", "--max-qty", "5000");
  assert_string_equal(jstr(v, "limit.max_qty"), "5000.000000");
  assert_string_equal(jnum(v, "limit.window_seconds"), "86400");
  assert_true(YAJL_IS_NULL(jget(v, "limit.ap")));
  done(&r, v);
  v = CLI_JSON(&r, E.auditor, "audit", "limits", "--symbol", "TSLAx");
  assert_int_equal(jlen(v, "items"), 1);
  assert_string_equal(jstr(v, "items.0.symbol"), "TSLA");
  done(&r, v);

  /* Signing keys: made here, registered, listed, revoked. */
  snprintf(path, sizeof path, "%s/ap.key", E.tmp);
  CLI(&r, NULL, "signing-keys", "generate", "--out", path);
  expect(&r, 0);
  assert_int_equal(strlen(r.out), 45);
  snprintf(pub, sizeof pub, "%.44s", r.out);
  res_free(&r);
  CLI(&r, NULL, "signing-keys", "generate", "--out", path);
  expect(&r, 1);
  assert_int_equal(strncmp(r.err, "error 4 io: signing-keys generate: cannot create ", 49), 0);
  res_free(&r);
  snprintf(path, sizeof path, "%s/ap.key.pub", E.tmp);
  v = CLI_JSON(&r, E.ap, "signing-keys", "add", "--public-key-file", path, "--label", "desk-1");
  assert_string_equal(jstr(v, "signing_key.public_key"), pub);
  assert_string_equal(jstr(v, "signing_key.label"), "desk-1");
  snprintf(sk_id, sizeof sk_id, "%s", jnum(v, "signing_key.id"));
  done(&r, v);
  REFUSED(E.ap, 3012, "api_conflict", "signing-keys", "add", "--public-key", pub);
  USAGE(E.ap, 3, "give only one of the options for public_key", "signing-keys", "add",
        "--public-key", pub, "--public-key-file", path);
  USAGE(E.ap, 3, "does not hold a base64 Ed25519 public key", "signing-keys", "add",
        "--public-key-file", E.admin_file);
  v = CLI_JSON(&r, E.ap, "signing-keys", "list");
  assert_int_equal(jlen(v, "items"), 1);
  assert_string_equal(jnum(v, "items.0.id"), sk_id);
  done(&r, v);
  v = CLI_JSON(&r, E.ap, "signing-keys", "revoke", sk_id);
  assert_non_null(jstr(v, "signing_key.revoked_at"));
  done(&r, v);

  /* Balances and the books. */
  v = CLI_JSON(&r, E.ap, "balances");
  assert_int_equal(jlen(v, "items"), 0);
  done(&r, v);
  v = CLI_JSON(&r, E.auditor, "audit", "books");
  assert_true(YAJL_IS_TRUE(jget(v, "ok")));
  done(&r, v);
  REFUSED(E.ap, 3009, "api_forbidden", "audit", "books");

  /* The audit log: every admin action above, in order, its chain verified. */
  v = CLI_JSON(&r, E.auditor, "audit", "log");
  assert_true(YAJL_IS_TRUE(jget(v, "verified")));
  const char *actions[] = {"principal.bootstrap", "principal.create", "key.create",
                           "key.revoke",          "principal.create", "instrument.create",
                           "instrument.update",   "pause.set",        "pause.set",
                           "wallet.add",          "limit.set",        "signing_key.create",
                           "signing_key.revoke"};
  size_t na = sizeof actions / sizeof actions[0];
  assert_int_equal(jlen(v, "items"), na);
  char name[32];
  snprintf(name, sizeof name, "%zu", na);
  assert_string_equal(jnum(v, "records"), name);
  for (size_t k = 0; k < na; k++) {
    snprintf(name, sizeof name, "items.%zu.action", k);
    assert_string_equal(jstr(v, name), actions[k]);
  }
  done(&r, v);
  CLI(&r, E.admin, "admin", "audit", "--limit", "1", "--output", "table");
  expect(&r, 0);
  assert_int_equal(strncmp(r.out, "seq  at  ", 9), 0);
  assert_non_null(strstr(r.out, "principal.bootstrap"));
  assert_non_null(strstr(r.out, "\nverified: true\n"));
  res_free(&r);

  /* No service there: error 4 io, exit 1; a POST says how to retry safely. */
  REFUSED(E.admin, 4, "io", "me", "--api", "http://127.0.0.1:1");
  CLI(&r, E.admin, "admin", "pause", "set", "--scope", "global", "--kind", "mint", "--reason", "x",
      "--api", "http://127.0.0.1:1/", "--idempotency-key", "retry-me");
  expect(&r, 1);
  assert_int_equal(strncmp(r.err, "error 4 io: http://127.0.0.1:1: ", 32), 0);
  assert_non_null(strstr(r.err,
                         "\nbackstock: the outcome is unknown; to retry safely, run the same "
                         "command with --idempotency-key retry-me\n"));
  res_free(&r);
  E.ok = true;
}

#define WALLET "0x1111111111111111111111111111111111111111"

/* Mint (unsigned and signed), events, funding, cancel, refund, wait, lists, the books. */
static void test_orders(void **state)
{
  struct res r;
  yajl_val v;
  char path[PATH_MAX + 32], id1[24], id2[24], sk_id[24];
  (void)state;
  E.ok = false;

  /* Orders queue for the next session, so that the engine inside "serve" leaves them where the
   * test looks at them: the business clock moves on to a Saturday (over the API), and the hours
   * shrink to one minute a day. */
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  int days = (6 - tm.tm_wday + 7) % 7;
  if (days == 0 && tm.tm_hour >= 15)
    days = 7;
  long long advance = (long long)days * 86400 + (15 - tm.tm_hour) * 3600LL - tm.tm_min * 60LL -
                      tm.tm_sec; /* to Saturday 15:00 UTC */
  char adv[32];
  snprintf(adv, sizeof adv, "%lld", advance);
  v = CLI_JSON(&r, E.admin, "admin", "clock", "set", "--advance-seconds", adv);
  long long off = strtoll(jnum(v, "offset_seconds"), NULL, 10);
  assert_true(off >= advance - 2 && off <= advance + 2);
  done(&r, v);
  v = CLI_JSON(&r, E.admin, "admin", "instruments", "update", "TSLA", "--market-open", "09:30",
               "--cutoff", "09:31", "--market-close", "09:32");
  assert_string_equal(jstr(v, "instrument.cutoff"), "09:31");
  done(&r, v);

  /* A mint: 10 shares at most 250.00; fee 1.50 + ceil(2500.00 x 0.0025) = 7.75. */
  v = CLI_JSON(&r, E.ap, "mint", "--symbol", "TSLA", "--quantity", "10", "--limit-price", "250.00",
               "--wallet", WALLET, "--client-ref", "cli-1", "--idempotency-key", "mint-1");
  snprintf(id1, sizeof id1, "%s", jnum(v, "order.id"));
  assert_string_equal(jstr(v, "order.kind"), "mint");
  assert_string_equal(jstr(v, "order.state"), "awaiting_cash");
  assert_string_equal(jstr(v, "order.symbol"), "TSLA");
  assert_string_equal(jstr(v, "order.quantity"), "10.000000");
  assert_string_equal(jstr(v, "order.limit_price"), "250.000000");
  assert_string_equal(jstr(v, "order.cash_required"), "2507.75");
  assert_string_equal(jstr(v, "order.client_ref"), "cli-1");
  assert_true(YAJL_IS_FALSE(jget(v, "order.signed")));
  done(&r, v);
  /* The same command again (a retry): the same order, nothing new. */
  v = CLI_JSON(&r, E.ap, "mint", "--symbol", "TSLA", "--quantity", "10", "--limit-price", "250.00",
               "--wallet", WALLET, "--client-ref", "cli-1", "--idempotency-key", "mint-1");
  assert_string_equal(jnum(v, "order.id"), id1);
  yajl_tree_free(v);
  assert_non_null(strstr(r.err, "Idempotency-Key mint-1; nothing was done again"));
  res_free(&r);
  REFUSED(E.ap, 3011, "api_idempotency_conflict", "mint", "--symbol", "TSLA", "--quantity", "11",
          "--limit-price", "250.00", "--wallet", WALLET, "--idempotency-key", "mint-1");

  /* Refused at the API: nothing stored. */
  REFUSED(E.ap, 8006, "order_wallet", "mint", "--symbol", "TSLA", "--quantity", "10",
          "--limit-price", "250", "--wallet", "0x2222222222222222222222222222222222222222");
  REFUSED(E.ap, 8003, "order_size", "mint", "--symbol", "TSLA", "--quantity", "100001",
          "--limit-price", "250", "--wallet", WALLET);
  REFUSED(E.ap, 8011, "order_instrument", "mint", "--symbol", "NOPE", "--quantity", "1",
          "--limit-price", "250", "--wallet", WALLET);
  CLI(&r, E.admin, "admin", "pause", "set", "--scope", "global", "--kind", "mint", "--reason",
      "maintenance");
  expect(&r, 0);
  res_free(&r);
  REFUSED(E.ap, 8002, "order_paused", "mint", "--symbol", "TSLA", "--quantity", "1",
          "--limit-price", "250", "--wallet", WALLET);
  CLI(&r, E.admin, "admin", "pause", "clear", "--scope", "global", "--kind", "mint", "--reason",
      "done");
  expect(&r, 0);
  res_free(&r);

  /* Reading it: the AP, the auditor; its three creation events. */
  CLI(&r, E.auditor, "orders", "show", id1, "--output", "table");
  expect(&r, 0);
  assert_non_null(strstr(r.out, "\nstate                   awaiting_cash\n"));
  assert_non_null(strstr(r.out, "\ncash_required           2507.75\n"));
  res_free(&r);
  v = CLI_JSON(&r, E.ap, "orders", "events", id1);
  assert_int_equal(jlen(v, "items"), 3);
  assert_true(YAJL_IS_NULL(jget(v, "items.0.from_state")));
  assert_string_equal(jstr(v, "items.0.to_state"), "requested");
  assert_string_equal(jstr(v, "items.1.to_state"), "validated");
  assert_string_equal(jstr(v, "items.2.to_state"), "awaiting_cash");
  assert_string_equal(jstr(v, "items.2.actor"), "api:2");
  done(&r, v);
  REFUSED(E.ap, 8008, "order_not_found", "orders", "show", "999");

  /* Funding, then the AP cancels before any broker order: cancelled, the cash refundable. */
  v = CLI_JSON(&r, E.admin, "admin", "fund", id1, "--amount", "2507.75", "--bank-ref", "WIRE-0001");
  assert_string_equal(jstr(v, "order.state"), "cash_received");
  assert_string_equal(jstr(v, "order.cash_funded"), "2507.75");
  assert_string_equal(jstr(v, "movement.kind"), "funding");
  assert_string_equal(jstr(v, "movement.amount"), "2507.75");
  assert_string_equal(jstr(v, "movement.bank_ref"), "WIRE-0001");
  done(&r, v);
  v = CLI_JSON(&r, E.ap, "orders", "cancel", id1, "--reason", "wrong size");
  assert_string_equal(jstr(v, "order.state"), "cancelled");
  assert_string_equal(jstr(v, "order.cash_due"), "2507.75");
  done(&r, v);
  REFUSED(E.ap, 8001, "order_state", "orders", "cancel", id1);
  REFUSED(E.admin, 8010, "order_cash", "admin", "payout", id1, "--kind", "refund", "--amount",
          "2507.76", "--bank-ref", "WIRE-R1");
  v = CLI_JSON(&r, E.admin, "admin", "payout", id1, "--kind", "refund", "--amount", "2507.75",
               "--bank-ref", "WIRE-R1");
  assert_string_equal(jstr(v, "order.cash_paid"), "2507.75");
  assert_string_equal(jstr(v, "order.cash_due"), "0.00");
  assert_string_equal(jstr(v, "movement.kind"), "refund");
  done(&r, v);
  v = CLI_JSON(&r, E.ap, "orders", "wait", id1, "--for", "cancelled", "--timeout", "10");
  assert_string_equal(jstr(v, "order.state"), "cancelled");
  yajl_tree_free(v);
  snprintf(path, sizeof path, "backstock: /v1/orders/%s: cancelled\n", id1);
  assert_string_equal(r.err, path);
  res_free(&r);
  CLI(&r, E.ap, "orders", "wait", id1, "--for", "cash_received", "--timeout", "10");
  expect(&r, 0); /* passed through, as its events show */
  v = json(&r);
  assert_string_equal(jstr(v, "order.state"), "cancelled");
  done(&r, v);
  CLI(&r, E.ap, "orders", "wait", id1, "--for", "completed,minted", "--timeout", "10");
  expect(&r, 1);
  assert_non_null(
      strstr(r.err, "error 8001 order_state: the order is cancelled, not completed,minted\n"));
  res_free(&r);

  /* Signed instructions: once a key is active, unsigned orders are refused. */
  snprintf(path, sizeof path, "%s/desk.key", E.tmp);
  CLI(&r, NULL, "signing-keys", "generate", "--out", path);
  expect(&r, 0);
  res_free(&r);
  snprintf(path, sizeof path, "%s/desk.key.pub", E.tmp);
  v = CLI_JSON(&r, E.ap, "signing-keys", "add", "--public-key-file", path);
  snprintf(sk_id, sizeof sk_id, "%s", jnum(v, "signing_key.id"));
  done(&r, v);
  REFUSED(E.ap, 8007, "order_signature", "mint", "--symbol", "TSLAx", "--quantity", "2",
          "--limit-price", "250", "--wallet", WALLET);
  snprintf(path, sizeof path, "%s/desk.key", E.tmp);
  v = CLI_JSON(&r, E.ap, "mint", "--symbol", "TSLAx", "--quantity", "2", "--limit-price", "250",
               "--wallet", WALLET, "--sign-key", path);
  snprintf(id2, sizeof id2, "%s", jnum(v, "order.id"));
  assert_true(YAJL_IS_TRUE(jget(v, "order.signed")));
  assert_string_equal(jnum(v, "order.signing_key"), sk_id);
  assert_string_equal(jstr(v, "order.state"), "awaiting_cash");
  done(&r, v);
  REFUSED(E.ap, 8007, "order_signature", "mint", "--symbol", "TSLAx", "--quantity", "2",
          "--limit-price", "250", "--wallet", WALLET, "--sign-key", path, "--sign-key-id", "999");
  char other[PATH_MAX + 32];
  snprintf(other, sizeof other, "%s/other.key", E.tmp);
  CLI(&r, NULL, "signing-keys", "generate", "--out", other);
  expect(&r, 0);
  res_free(&r);
  CLI(&r, E.ap, "mint", "--symbol", "TSLAx", "--quantity", "2", "--limit-price", "250", "--wallet",
      WALLET, "--sign-key", other);
  expect_error(&r, 8007, "order_signature"); /* not registered: found out before sending */
  assert_non_null(strstr(r.err, "is not an active signing key of yours"));
  res_free(&r);
  v = CLI_JSON(&r, E.admin, "orders", "cancel", id2);
  assert_string_equal(jstr(v, "order.state"), "cancelled");
  done(&r, v);

  /* The lists: filters, the auditor's view. */
  v = CLI_JSON(&r, E.ap, "orders", "--kind", "mint");
  assert_int_equal(jlen(v, "items"), 2);
  assert_string_equal(jnum(v, "items.0.id"), id1);
  assert_string_equal(jnum(v, "items.1.id"), id2);
  done(&r, v);
  CLI(&r, E.auditor, "audit", "orders", "--kind", "mint", "--state", "cancelled", "--output",
      "table");
  expect(&r, 0);
  assert_int_equal(strncmp(r.out, "id  kind  state      state_since ", 33), 0);
  assert_non_null(strstr(r.out, "\n1   mint  cancelled  "));
  assert_non_null(strstr(r.out, "\nnext_cursor: -\n"));
  res_free(&r);
  REFUSED(E.ap, 3009, "api_forbidden", "orders", "--ap", "2");

  /* Cash in, cash out: the AP's cash account is back to zero, the books hold. */
  v = CLI_JSON(&r, E.ap, "balances");
  assert_int_equal(jlen(v, "items"), 1);
  assert_string_equal(jstr(v, "items.0.owner"), "ap:2");
  assert_string_equal(jstr(v, "items.0.asset"), "cash:USD");
  assert_string_equal(jstr(v, "items.0.balance"), "0.00");
  done(&r, v);
  v = CLI_JSON(&r, E.auditor, "audit", "books");
  assert_true(YAJL_IS_TRUE(jget(v, "ok")));
  assert_int_equal(jlen(v, "discrepancies"), 0);
  done(&r, v);
  E.ok = true;
}

/* A redeem, the rest of the admin and auditor commands: lists, wallet revoke, corporate
 * actions, clock. */
static void test_more(void **state)
{
  struct res r;
  yajl_val v;
  char eff[32];
  (void)state;
  E.ok = false;

  CLI(&r, E.auditor, "audit", "balances", "--owner", "ap:2", "--output", "table");
  expect(&r, 0);
  assert_string_equal(r.out, "owner  asset     balance  scale\n"
                             "ap:2   cash:USD  0.00     2\n"
                             "next_cursor: -\n");
  res_free(&r);
  v = CLI_JSON(&r, E.admin, "admin", "limits", "list", "--symbol", "TSLA");
  assert_int_equal(jlen(v, "items"), 1);
  assert_string_equal(jstr(v, "items.0.max_qty"), "5000.000000");
  done(&r, v);
  v = CLI_JSON(&r, E.admin, "admin", "instruments", "list");
  assert_int_equal(jlen(v, "items"), 1);
  done(&r, v);
  CLI(&r, E.admin, "admin", "instruments", "show", "TSLA", "--output", "table");
  expect(&r, 0);
  assert_non_null(strstr(r.out, "\nfee_flat             1.50\n"));
  res_free(&r);

  /* A signed redeem (last: the engine of serve takes it on from here, so nothing above depends on
   * how far it gets). */
  char key[PATH_MAX + 32];
  snprintf(key, sizeof key, "%s/desk.key", E.tmp);
  v = CLI_JSON(&r, E.ap, "redeem", "--symbol", "TSLA", "--quantity", "1.5", "--wallet", WALLET,
               "--sign-key", key, "--client-ref", "cli-r1");
  char id3[24];
  snprintf(id3, sizeof id3, "%s", jnum(v, "order.id"));
  assert_string_equal(jstr(v, "order.kind"), "redeem");
  assert_string_equal(jstr(v, "order.state"), "awaiting_tokens");
  assert_string_equal(jstr(v, "order.quantity"), "1.500000");
  assert_true(YAJL_IS_NULL(jget(v, "order.limit_price")));
  assert_true(YAJL_IS_TRUE(jget(v, "order.signed")));
  done(&r, v);
  v = CLI_JSON(&r, E.auditor, "audit", "orders", "--kind", "redeem");
  assert_int_equal(jlen(v, "items"), 1);
  assert_string_equal(jnum(v, "items.0.id"), id3);
  assert_string_equal(jstr(v, "items.0.client_ref"), "cli-r1");
  done(&r, v);

  /* Wallets: the admin's list, a revoke, the auditor sees it revoked; minting to it is refused. */
  v = CLI_JSON(&r, E.admin, "admin", "wallets", "list", "--ap", E.ap_id);
  assert_int_equal(jlen(v, "items"), 1);
  assert_string_equal(jnum(v, "items.0.id"), "1");
  done(&r, v);
  v = CLI_JSON(&r, E.admin, "admin", "wallets", "revoke", "1");
  assert_non_null(jstr(v, "wallet.revoked_at"));
  done(&r, v);
  v = CLI_JSON(&r, E.auditor, "audit", "wallets");
  assert_non_null(jstr(v, "items.0.revoked_at"));
  done(&r, v);
  REFUSED(E.ap, 8006, "order_wallet", "mint", "--symbol", "TSLA", "--quantity", "1",
          "--limit-price", "250", "--wallet", WALLET, "--sign-key", key);

  /* A corporate action: announced 30 days ahead, scheduled, cancelled, listed. */
  time_t t = time(NULL) + 30 * 86400;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(eff, sizeof eff, "%Y-%m-%dT%H:%M:%SZ", &tm);
  v = CLI_JSON(&r, E.admin, "admin", "corpact", "announce", "TSLA", "--type", "split",
               "--ratio-old", "1", "--ratio-new", "3", "--effective-at", eff);
  assert_string_equal(jnum(v, "corporate_action.id"), "1");
  assert_string_equal(jstr(v, "corporate_action.status"), "announced");
  assert_string_equal(jstr(v, "corporate_action.ratio_new"), "3.000000");
  assert_int_equal(strncmp(jstr(v, "corporate_action.effective_at"), eff, 19), 0);
  done(&r, v);
  USAGE(E.admin, 3, "want one of split|reverse_split|", "admin", "corpact", "announce", "TSLA",
        "--type", "spinoff", "--effective-at", eff);
  v = CLI_JSON(&r, E.admin, "admin", "corpact", "schedule", "1");
  assert_string_equal(jstr(v, "corporate_action.status"), "scheduled");
  assert_string_equal(jstr(v, "corporate_action.new_multiplier"), "3.000000000000000000");
  done(&r, v);
  v = CLI_JSON(&r, E.admin, "admin", "corpact", "cancel", "1", "--reason", "terms changed");
  assert_string_equal(jstr(v, "corporate_action.status"), "cancelled");
  done(&r, v);
  REFUSED(E.admin, 3012, "api_conflict", "admin", "corpact", "reconcile", "1");
  v = CLI_JSON(&r, E.ap, "admin", "corpact", "list", "TSLA");
  assert_int_equal(jlen(v, "items"), 1);
  assert_string_equal(jstr(v, "items.0.status"), "cancelled");
  done(&r, v);

  /* The clock over the API: moved on by a day. */
  v = CLI_JSON(&r, E.ap, "admin", "clock", "show");
  assert_string_equal(jnum(v, "speed"), "1");
  long long off0 = strtoll(jnum(v, "offset_seconds"), NULL, 10);
  done(&r, v);
  v = CLI_JSON(&r, E.admin, "admin", "clock", "set", "--advance-seconds", "86400");
  long long off = strtoll(jnum(v, "offset_seconds"), NULL, 10) - off0;
  assert_true(off >= 86399 && off <= 86401);
  done(&r, v);
  REFUSED(E.ap, 3009, "api_forbidden", "admin", "clock", "set", "--speed", "60");

  /* Every admin action of this test is in the chain, still verified. */
  v = CLI_JSON(&r, E.auditor, "audit", "log", "--limit", "500");
  assert_true(YAJL_IS_TRUE(jget(v, "verified")));
  size_t n = jlen(v, "items");
  const char *tail[] = {"wallet.revoke", "corporate_action.announce", "corporate_action.schedule",
                        "corporate_action.cancel", "clock.change"};
  char name[32];
  for (size_t k = 0; k < 5; k++) {
    snprintf(name, sizeof name, "items.%zu.action", n - 5 + k);
    assert_string_equal(jstr(v, name), tail[k]);
  }
  done(&r, v);
  E.ok = true;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_help_usage),
      cmocka_unit_test(test_admin),
      cmocka_unit_test(test_orders),
      cmocka_unit_test(test_more),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
