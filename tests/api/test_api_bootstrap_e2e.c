/*
 * End to end, the service binary (services/backstock) against a fresh
 * database: "admin bootstrap" prints the first issuer admin's key alone on
 * stdout, refuses a second admin (exit 1) unless --force, refuses bad
 * usage (exit 2); then "serve" takes that key: GET /v1/me, a new AP made
 * through the API whose key works and is refused the admin routes, no
 * key refused, the audit log verified with the bootstrap records first,
 * and SIGTERM stops the service with exit 0.  Every wait is bounded; a
 * failure prints the children's stderr.
 */
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <curl/curl.h>

#include "tests/api/api_testlib.h"

#define RUN_WAIT_MS   60000
#define START_WAIT_MS 60000

struct e2e {
  struct ts_db db;
  char conninfo[2048];
  char tmp[PATH_MAX];
  char bin[PATH_MAX];
  char out[PATH_MAX + 16], err[PATH_MAX + 16];
  unsigned runs;
  pid_t svc;
  bool ok;
};

static struct e2e E;

static void env_of(char *db, size_t dbs, char *data, size_t ds, char *path, size_t ps)
{
  snprintf(db, dbs, "BACKSTOCK_DATABASE_URL=%s", E.conninfo);
  snprintf(data, ds, "BACKSTOCK_DATA_DIR=%s/var", E.tmp);
  snprintf(path, ps, "PATH=%s", getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin");
}

/* `backstock @args...` to its end: the exit status; stdout into @out (free()). */
static int run(const char *const args[], char **out)
{
  char db[2200], data[PATH_MAX + 32], path[PATH_MAX + 8];
  char *argv[8] = {E.bin};
  int st;
  size_t n = 1;
  for (; args[n - 1] != NULL && n < 7; n++)
    argv[n] = (char *)args[n - 1];
  argv[n] = NULL;
  env_of(db, sizeof db, data, sizeof data, path, sizeof path);
  const char *env[] = {db, data, path, "BACKSTOCK_LOG_LEVEL=warn", NULL};
  E.runs++;
  snprintf(E.out, sizeof E.out, "%s/run-%u.out", E.tmp, E.runs);
  snprintf(E.err, sizeof E.err, "%s/run-%u.err", E.tmp, E.runs);
  pid_t pid = ts_spawn(argv, env, E.out, E.err);
  if (!ts_wait_exit(pid, RUN_WAIT_MS, &st)) {
    ts_kill(pid, SIGKILL);
    ts_wait_exit(pid, 5000, NULL);
    fail_msg("backstock %s did not end within %d ms", args[0], RUN_WAIT_MS);
  }
  if (out != NULL && util_read_file(E.out, 1 << 20, out, NULL) != 0)
    *out = strdup("");
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
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
  ts_db_create("apiboot", &E.db);
  ts_db_conninfo(&E.db, E.conninfo, sizeof E.conninfo);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  if (E.svc > 0) {
    ts_kill(E.svc, SIGKILL);
    ts_wait_exit(E.svc, 5000, NULL);
  }
  if (!E.ok) {
    ts_dump_file("last command stderr", E.err);
    char serr[PATH_MAX + 16];
    snprintf(serr, sizeof serr, "%s/serve.err", E.tmp);
    ts_dump_file("service stderr", serr);
  }
  if (E.db.name[0] != '\0')
    ts_db_drop(&E.db);
  ts_rmtree(E.tmp);
  return 0;
}

/* The key line of a bootstrap's stdout, checked; into @key. */
static void key_of(const char *out, char key[API_KEY_TEXT_MAX])
{
  char id[API_KEY_ID_LEN + 1];
  uint8_t hash[32];
  size_t n = strlen(out);
  if (n != 65 || out[64] != '\n')
    fail_msg("bootstrap stdout is not one key line: \"%s\"", out);
  memcpy(key, out, 64);
  key[64] = '\0';
  assert_int_equal(api_key_check_text(key, 64, id, hash), 0);
}

static void test_bootstrap_and_serve(void **state)
{
  char *out = NULL, key[API_KEY_TEXT_MAX], key2[API_KEY_TEXT_MAX], apkey[API_KEY_TEXT_MAX];
  char line[256], db[2200], data[PATH_MAX + 32], path[PATH_MAX + 8], listen[64];
  char sout[PATH_MAX + 16], serr[PATH_MAX + 16];
  struct tl_reply r;
  (void)state;

  const char *boot[] = {"admin", "bootstrap", "--name", "Issuer Ops", NULL};
  assert_int_equal(run(boot, &out), 0);
  key_of(out, key);
  free(out);
  /* A second admin: refused, nothing printed on stdout. */
  const char *again[] = {"admin", "bootstrap", "--name", "Someone Else", NULL};
  assert_int_equal(run(again, &out), 1);
  assert_string_equal(out, "");
  free(out);
  char *err = NULL;
  assert_int_equal(util_read_file(E.err, 1 << 20, &err, NULL), 0);
  assert_non_null(strstr(err, "an issuer admin exists already"));
  free(err);
  /* --force makes another, but not under a taken name. */
  const char *taken[] = {"admin", "bootstrap", "--force", "--name", "Issuer Ops", NULL};
  assert_int_equal(run(taken, NULL), 1);
  const char *forced[] = {"admin", "bootstrap", "--name", "Second Ops", "--force", NULL};
  assert_int_equal(run(forced, &out), 0);
  key_of(out, key2);
  free(out);
  assert_string_not_equal(key, key2);
  /* Usage. */
  const char *u1[] = {"admin", "bootstrap", NULL}, *u2[] = {"admin", "bootstrap", "--name", NULL},
             *u3[] = {"admin", "nope", "--name", "x", NULL},
             *u4[] = {"admin", "bootstrap", "--name", "a\tb", NULL},
             *u5[] = {"admin", "bootstrap", "--name", "x", "--bogus", NULL};
  const char *const *usage[] = {u1, u2, u3, u4, u5};
  for (size_t i = 0; i < 5; i++)
    assert_int_equal(run(usage[i], NULL), 2);

  /* Serve, and use the key. */
  uint16_t port = ts_free_port();
  env_of(db, sizeof db, data, sizeof data, path, sizeof path);
  snprintf(listen, sizeof listen, "BACKSTOCK_LISTEN=127.0.0.1:%u", port);
  const char *env[] = {db, data, path, listen, "BACKSTOCK_LOG_LEVEL=info", NULL};
  char *argv[] = {E.bin, "serve", NULL};
  snprintf(sout, sizeof sout, "%s/serve.out", E.tmp);
  snprintf(serr, sizeof serr, "%s/serve.err", E.tmp);
  E.svc = ts_spawn(argv, env, sout, serr);
  if (!ts_wait_line(sout, "backstock is up", START_WAIT_MS, line, sizeof line))
    fail_msg("the service did not come up within %d ms", START_WAIT_MS);

  char auth[128];
  snprintf(auth, sizeof auth, "Bearer %s", key);
  tl_request(port, "GET", "/v1/me", auth, NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  yajl_val v = tl_json(&r);
  assert_string_equal(tl_str(v, "principal", "name", NULL), "Issuer Ops");
  assert_string_equal(tl_str(v, "principal", "role", NULL), "issuer_admin");
  yajl_tree_free(v);
  tl_reply_free(&r);
  const char *body = "{\"name\":\"Market Maker AP\",\"role\":\"ap\"}";
  tl_request(port, "POST", "/v1/admin/principals", auth, "e2e-1", body, strlen(body), &r);
  assert_int_equal(r.status, 201);
  v = tl_json(&r);
  snprintf(apkey, sizeof apkey, "%s", tl_str(v, "api_key", NULL, NULL));
  yajl_tree_free(v);
  tl_reply_free(&r);
  snprintf(auth, sizeof auth, "Bearer %s", apkey);
  tl_request(port, "GET", "/v1/me", auth, NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\"role\":\"ap\""));
  tl_reply_free(&r);
  tl_request(port, "GET", "/v1/admin/audit", auth, NULL, NULL, 0, &r);
  tl_expect_error(&r, 403, ERR_API_FORBIDDEN, NULL);
  tl_reply_free(&r);
  tl_request(port, "GET", "/v1/admin/audit", NULL, NULL, NULL, 0, &r);
  tl_expect_error(&r, 401, ERR_API_UNAUTHORIZED, NULL);
  tl_reply_free(&r);
  snprintf(auth, sizeof auth, "Bearer %s", key2);
  tl_request(port, "GET", "/v1/admin/audit", auth, NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  v = tl_json(&r);
  assert_true(YAJL_IS_TRUE(tl_get(v, "verified", NULL, NULL)));
  assert_int_equal(tl_int(v, "records", NULL, NULL), 3);
  yajl_val items = tl_get(v, "items", NULL, NULL);
  const char *actions[] = {"principal.bootstrap", "principal.bootstrap", "principal.create"};
  for (int i = 0; i < 3; i++)
    assert_string_equal(tl_str(items->u.array.values[i], "action", NULL, NULL), actions[i]);
  assert_true(YAJL_IS_NULL(tl_get(items->u.array.values[0], "principal", NULL, NULL)));
  yajl_tree_free(v);
  tl_reply_free(&r);
  tl_request(port, "GET", "/v1/openapi.json", NULL, NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.len, api_openapi_json_len);
  tl_reply_free(&r);

  int st;
  ts_kill(E.svc, SIGTERM);
  if (!ts_wait_exit(E.svc, 30000, &st))
    fail_msg("the service did not stop within 30 s of SIGTERM");
  E.svc = 0;
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  /* The keys were never written to a log. */
  char *log = NULL;
  assert_int_equal(util_read_file(serr, 1 << 22, &log, NULL), 0);
  assert_null(strstr(log, key + 21));
  assert_null(strstr(log, apkey + 21));
  free(log);
  E.ok = true;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bootstrap_and_serve),
  };
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return 1;
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  curl_global_cleanup();
  return rc;
}
