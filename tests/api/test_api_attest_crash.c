/*
 * Attestations when the publisher is killed: `backstock attest publish`
 * (a real process on the fixture's database and a temporary data folder)
 * is killed with SIGKILL at random points, KILLS times, then run once to
 * its end.  Afterwards:
 *
 *   - the attestations form one chain: ids 1..N with no gap, each citing
 *     the hash of the one before (the first citing none);
 *   - every stored attestation has its folder, whose attestation.json is
 *     byte for byte the stored document (a kill between the commit and the
 *     rename is recovered by the next publisher's attest_recover());
 *   - no temporary folder is left once attest_recover() has run;
 *   - `backstock audit verify` accepts each attestation with its files and
 *     the previous one.
 *
 * The kill points are spread over a publish's measured duration (the
 * first, unkilled run) so that some land before, some during and some
 * after the commit.  Every wait is bounded.
 */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "reconcile/reconcile.h"
#include "tests/api/api_recon_fx.h"

#define KILLS   40
#define WAIT_MS 60000

struct crash {
  struct tl_fx f;
  char dir[256], bin[PATH_MAX], db[2100], data[300], path[PATH_MAX + 8];
  unsigned n;
};

static struct crash X;

static int setup(void **state)
{
  (void)state;
  assert_true(sodium_init() >= 0);
  tl_fx_start(&X.f, "attcrash", false);
  ts_tmpdir(X.dir, sizeof X.dir);
  char p[PATH_MAX];
  ts_build_path(p, sizeof p, "services/backstock");
  if (realpath(p, X.bin) == NULL)
    fail_msg("%s: not built", p);
  snprintf(X.db, sizeof X.db, "BACKSTOCK_DATABASE_URL=%s", X.f.s.conninfo);
  snprintf(X.data, sizeof X.data, "BACKSTOCK_DATA_DIR=%s", X.dir);
  snprintf(X.path, sizeof X.path, "PATH=%s", getenv("PATH") != NULL ? getenv("PATH") : "/usr/bin");
  rfx_plant(&X.f.s);
  rfx_statement(&X.f.s, "STMT-C1", 2, 400, 0);
  assert_int_equal(rfx_recon(&X.f.s), 1);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  ts_rmtree(X.dir);
  tl_server_stop(&X.f.s);
  return 0;
}

/* Start `backstock @a @b` on the fixture's database and data folder. */
static void start(struct ts_child *ch, const char *a, const char *b)
{
  char *argv[] = {X.bin, (char *)a, (char *)b, NULL};
  const char *env[] = {X.db, X.data, X.path, "BACKSTOCK_LOG_LEVEL=warn", NULL};
  ts_child_spawn(ch, X.dir, ++X.n, "backstock", argv, env);
}

/* Run `backstock @a @b` to its end: it must exit 0. */
static void run(const char *a, const char *b)
{
  struct ts_child ch = {0};
  int st = 0;
  start(&ch, a, b);
  if (!ts_child_wait(&ch, WAIT_MS, &st)) {
    ts_child_kill(&ch);
    fail_msg("backstock %s %s did not end within %d ms", a, b, WAIT_MS);
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    ts_child_dump(&ch);
    fail_msg("backstock %s %s: status %d", a, b, st);
  }
}

static unsigned temp_folders(void)
{
  char top[300];
  unsigned n = 0;
  snprintf(top, sizeof top, "%s/attestations", X.dir);
  DIR *d = opendir(top);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += strncmp(e->d_name, ".tmp-", 5) == 0;
  closedir(d);
  return n;
}

/* `backstock audit verify` of attestation @id with its files (and @id - 1's document). */
static void verify(long long id)
{
  char att[400], st[400], ho[400], prev[400];
  snprintf(att, sizeof att, "%s/attestations/%lld/attestation.json", X.dir, id);
  snprintf(st, sizeof st, "%s/attestations/%lld/statements", X.dir, id);
  snprintf(ho, sizeof ho, "%s/attestations/%lld/holders", X.dir, id);
  snprintf(prev, sizeof prev, "%s/attestations/%lld/attestation.json", X.dir, id - 1);
  char *argv[] = {X.bin,    "audit",
                  "verify", "--attestation",
                  att,      "--statements",
                  st,       "--holders",
                  ho,       id > 1 ? "--previous" : NULL,
                  prev,     NULL};
  const char *env[] = {X.path, NULL};
  struct ts_child ch = {0};
  int status = 0;
  ts_child_spawn(&ch, X.dir, ++X.n, "audit verify", argv, env);
  assert_true(ts_child_wait(&ch, WAIT_MS, &status));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ts_child_dump(&ch);
    fail_msg("audit verify of attestation %lld: status %d", id, status);
  }
}

static void test_kill_publish(void **state)
{
  (void)state;
  run("attest", "rotate"); /* the first signing key */
  run("attest", "publish");
  int64_t t0 = util_mono_ms();
  run("attest", "publish"); /* a warm one: its duration spreads the kill points */
  int64_t took = util_mono_ms() - t0;
  if (took < 10)
    took = 10;
  unsigned seed = (unsigned)getpid();
  unsigned killed = 0, ended = 0;
  for (int k = 0; k < KILLS; k++) {
    struct ts_child ch = {0};
    int st = 0;
    start(&ch, "attest", "publish");
    util_sleep_ms((unsigned)(rand_r(&seed) % (unsigned)took));
    if (ts_child_wait(&ch, 0, &st)) {
      ended++;
      continue;
    }
    ts_child_kill(&ch);
    killed++;
  }
  run("attest", "publish");
  unsigned renamed = 0;
  assert_int_equal(attest_recover(X.f.s.conn, X.dir, &renamed), 0);
  print_message("attest crash: %u killed, %u ended first, %u folder(s) recovered at the end\n",
                killed, ended, renamed);
  assert_true(killed > 0);

  /* One chain, no gap. */
  long long n = ts_sql_int(X.f.s.conn, "SELECT count(*) FROM attestations");
  assert_true(n >= 3);
  assert_int_equal(ts_sql_int(X.f.s.conn, "SELECT max(id) FROM attestations"), n);
  assert_int_equal(ts_sql_int(X.f.s.conn,
                              "SELECT count(*) FROM attestations a LEFT JOIN attestations p"
                              " ON p.id = a.id - 1 WHERE (a.id = 1 AND a.previous_hash IS NULL)"
                              " OR a.previous_hash = p.hash"),
                   n);
  /* Every stored attestation has its folder, with the stored bytes; nothing temporary left. */
  for (long long id = 1; id <= n; id++) {
    char sql[96], file[400];
    snprintf(sql, sizeof sql, "SELECT document FROM attestations WHERE id = %lld", id);
    char *doc = ts_sql_value(X.f.s.conn, sql), *got = NULL;
    size_t len = 0;
    snprintf(file, sizeof file, "%s/attestations/%lld/attestation.json", X.dir, id);
    if (util_read_file(file, 1 << 24, &got, &len) != 0)
      fail_msg("attestation %lld is stored but %s is missing", id, file);
    assert_int_equal(len, strlen(doc));
    assert_memory_equal(got, doc, len);
    free(got);
    free(doc);
    verify(id);
  }
  assert_int_equal(temp_folders(), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kill_publish),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
