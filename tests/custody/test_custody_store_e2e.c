/*
 * End to end: `backstock custody ingest` as a real process on a fresh
 * database.
 *
 * First the command's lines and exit status: the shared example
 * ingested (its exact line), again (duplicate, exit 0), with a refused
 * file beside it (exit 1, one line each).  Then crash safety: a
 * statement of 200,000 positions (written with custody_semt002_write,
 * over 64 MiB so its raw bytes go in chunks) is ingested by a child that
 * is killed with SIGKILL while its COPY of the raw chunks runs, and again
 * while its COPY of the positions runs (seen in pg_stat_activity); each
 * time nothing is stored.  A restart then ingests it exactly once: one
 * document, 400,000 balance rows, the chunks reassemble to the file's
 * SHA-256; a further run is a duplicate.  Every wait is bounded.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "custody/custody.h"
#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

#define BIG_POSITIONS 200000
#define RUN_WAIT_MS   240000

static struct ts_db db;
static struct db_conn *c;
static char tmp[256], url[1200], bin[PATH_MAX], env_url[1300], env_dir[300];
static unsigned spawned;

static int setup(void **state)
{
  (void)state;
  char msg[256];
  ts_db_create("custody_e2e", &db);
  ts_db_conninfo(&db, url, sizeof url);
  c = ts_db_connect(&db, 3);
  ts_tmpdir(tmp, sizeof tmp);
  ts_build_path(bin, sizeof bin, "services/backstock");
  snprintf(env_url, sizeof env_url, "BACKSTOCK_DATABASE_URL=%s", url);
  snprintf(env_dir, sizeof env_dir, "BACKSTOCK_DATA_DIR=%s/var", tmp);
  return db_migrate(c, migrations_all, migrations_count, NULL, msg, sizeof msg);
}

static int teardown(void **state)
{
  (void)state;
  db_close(c);
  ts_db_drop(&db);
  ts_rmtree(tmp);
  return 0;
}

static long long num(const char *sql)
{
  char *v = ts_sql_value(c, sql);
  long long n = strtoll(v, NULL, 10);
  free(v);
  return n;
}

struct child {
  pid_t pid;
  char out[300], err[300];
};

/* `backstock custody ingest FILES...` (at most 4 files). */
static void start_ingest(struct child *ch, const char *f1, const char *f2)
{
  char *argv[] = {bin, "custody", "ingest", (char *)f1, (char *)f2, NULL};
  const char *env[] = {env_url,
                       env_dir,
                       "BACKSTOCK_CUSTODY_SERVICERS=EXAMCHZZXXX,BANKUS33XXX",
                       "BACKSTOCK_CUSTODY_ACCOUNTS=OMNI-TOKEN-RESERVE-01,RESERVE-2",
                       "BACKSTOCK_LOG_LEVEL=info",
                       NULL};
  spawned++;
  snprintf(ch->out, sizeof ch->out, "%s/ingest-%u.out", tmp, spawned);
  snprintf(ch->err, sizeof ch->err, "%s/ingest-%u.err", tmp, spawned);
  ch->pid = ts_spawn(argv, env, ch->out, ch->err);
}

/* Wait for @ch; its exit status, its stdout in *out (malloc'd). */
static int finish(struct child *ch, char **out)
{
  int st = 0;
  if (!ts_wait_exit(ch->pid, RUN_WAIT_MS, &st)) {
    ts_kill(ch->pid, SIGKILL);
    ts_wait_exit(ch->pid, 5000, NULL);
    ts_dump_file("ingest stderr", ch->err);
    fail_msg("backstock custody ingest did not end in %u ms", RUN_WAIT_MS);
  }
  if (out != NULL && util_read_file(ch->out, 1 << 20, out, NULL) != 0)
    *out = strdup("");
  if (!WIFEXITED(st))
    ts_dump_file("ingest stderr", ch->err);
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

static void file_sha(const char *path, char out[65])
{
  crypto_hash_sha256_state hs;
  unsigned char h[crypto_hash_sha256_BYTES], buf[1 << 16];
  FILE *f = fopen(path, "rb");
  size_t n;
  assert_non_null(f);
  crypto_hash_sha256_init(&hs);
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    crypto_hash_sha256_update(&hs, buf, n);
  fclose(f);
  crypto_hash_sha256_final(&hs, h);
  sodium_bin2hex(out, 65, h, sizeof h);
}

static void test_cli_lines(void **state)
{
  (void)state;
  char sample[PATH_MAX], bad[PATH_MAX], sha[65], want[2 * PATH_MAX + 512];
  struct child ch;
  char *out;
  ts_source_path(sample, sizeof sample, "../shared/data/samples/semt002-example.xml");
  file_sha(sample, sha);
  snprintf(bad, sizeof bad, "%s/other-account.xml", tmp);
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(util_read_file(sample, 1 << 20, &text, &len), 0);
  char *at = strstr(text, "OMNI-TOKEN-RESERVE-01");
  memcpy(at + 19, "99", 2);
  FILE *f = fopen(bad, "wb");
  fwrite(text, 1, len, f);
  fclose(f);
  free(text);

  start_ingest(&ch, sample, NULL);
  assert_int_equal(finish(&ch, &out), 0);
  snprintf(want, sizeof want,
           "ingested kind=semt002 sha256=%s document=1 positions=2 balances=7 "
           "statement=complete file=%s\n",
           sha, sample);
  assert_string_equal(out, want);
  free(out);

  start_ingest(&ch, bad, sample);
  assert_int_equal(finish(&ch, &out), 1);
  char bad_sha[65];
  file_sha(bad, bad_sha);
  snprintf(want, sizeof want,
           "rejected kind=semt002 sha256=%s reject=1 error=custody_account file=%s "
           "reason=safekeeping account 'OMNI-TOKEN-RESERVE-99' is not allow-listed\n"
           "duplicate kind=semt002 sha256=%s document=1 positions=0 balances=0 file=%s\n",
           bad_sha, bad, sha, sample);
  assert_string_equal(out, want);
  free(out);

  start_ingest(&ch, sample, NULL);
  assert_int_equal(finish(&ch, &out), 0);
  assert_non_null(strstr(out, "duplicate kind=semt002"));
  free(out);
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 1);
  assert_int_equal(num("SELECT count(*) FROM custody_rejects"), 1);
}

/* Write the big statement; returns its size. */
static off_t write_big(const char *path)
{
  struct custody_stmt st;
  int32_t day;
  memset(&st, 0, sizeof st);
  assert_int_equal(cal_day(2025, 7, 1, &day), 0);
  st.kind = CUSTODY_KIND_SEMT002;
  util_strlcpy(st.stmt_id, "BIG-1", sizeof st.stmt_id);
  st.page_no = 1;
  st.last_page = true;
  st.stmt_day = day;
  st.stmt_ms = (int64_t)day * 86400000;
  util_strlcpy(st.frequency, "DAIL", sizeof st.frequency);
  st.update = CUSTODY_UPDATE_COMPLETE;
  st.basis = CUSTODY_BASIS_SETT;
  util_strlcpy(st.account_owner, "ISSUER-1", sizeof st.account_owner);
  util_strlcpy(st.account_servicer, "BANKUS33XXX", sizeof st.account_servicer);
  util_strlcpy(st.safekeeping_account, "RESERVE-2", sizeof st.safekeeping_account);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(custody_semt002_write_begin(f, &st), 0);
  for (unsigned i = 0; i < BIG_POSITIONS; i++) {
    struct custody_position p;
    char digits[32];
    memset(&p, 0, sizeof p);
    snprintf(p.isin, sizeof p.isin, "US%09u", i);
    int n = snprintf(digits, sizeof digits, "3028%09u", i);
    int sum = 0;
    for (int k = n - 1, dbl = 1; k >= 0; k--, dbl = !dbl) {
      int d = digits[k] - '0';
      if (dbl && (d *= 2) > 9)
        d -= 9;
      sum += d;
    }
    p.isin[11] = (char)('0' + (10 - sum % 10) % 10);
    snprintf(p.description, sizeof p.description, "INSTRUMENT %u OF THE BIG ONE", i);
    util_strlcpy(p.place, "DTCYUS33XXX", sizeof p.place);
    p.aggregate.present = p.available.present = true;
    p.aggregate.kind = p.available.kind = CUSTODY_QTY_UNIT;
    assert_int_equal(
        money_make((__int128)(i + 1) * 100000000000000000, CUSTODY_QTY_SCALE, &p.aggregate.qty), 0);
    p.available.qty = p.aggregate.qty;
    assert_int_equal(custody_semt002_write_position(f, &p), 0);
  }
  assert_int_equal(custody_semt002_write_end(f), 0);
  assert_int_equal(fclose(f), 0);
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  return sb.st_size;
}

/* Whether a backend of the test database runs a query starting with @prefix. */
static bool running(struct db_conn *admin, const char *prefix)
{
  char sql[512];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND state = 'active'"
           " AND query LIKE '%s%%'",
           db.name, prefix);
  char *v = ts_sql_value(admin, sql);
  bool yes = strtol(v, NULL, 10) > 0;
  free(v);
  return yes;
}

/* Backends of the test database other than ours. */
static long others(struct db_conn *admin)
{
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' AND pid <>"
           " pg_backend_pid()",
           db.name);
  char *v = ts_sql_value(admin, sql);
  long n = strtol(v, NULL, 10);
  free(v);
  return n;
}

static void test_crash_mid_copy(void **state)
{
  (void)state;
  char big[PATH_MAX], sha[65];
  snprintf(big, sizeof big, "%s/big.xml", tmp);
  off_t size = write_big(big);
  assert_true(size > (off_t)CUSTODY_RAW_INLINE_MAX);
  file_sha(big, sha);
  /* A watcher connection of its own: c is the one counted out. */
  struct db_conn *admin = ts_db_connect(&db, 1);

  static const char *const targets[] = {"COPY custody_document_chunks", "COPY custody_positions"};
  for (size_t t = 0; t < 2; t++) {
    struct child ch;
    bool landed = false;
    for (int attempt = 0; attempt < 5 && !landed; attempt++) {
      start_ingest(&ch, big, NULL);
      int64_t end = util_mono_ms() + RUN_WAIT_MS;
      while (util_mono_ms() < end && !running(admin, targets[t])) {
        if (ts_wait_exit(ch.pid, 0, NULL))
          fail_msg("the ingester ended before its %s was seen", targets[t]);
        util_sleep_ms(5);
      }
      ts_kill(ch.pid, SIGKILL);
      int st = 0;
      assert_true(ts_wait_exit(ch.pid, 10000, &st));
      landed = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
    }
    assert_true(landed);
    /* Its backend notices the lost client and rolls back. */
    int64_t end = util_mono_ms() + 60000;
    while (others(admin) > 1 && util_mono_ms() < end)
      util_sleep_ms(50);
    assert_int_equal(num("SELECT (SELECT count(*) FROM custody_documents) + (SELECT count(*)"
                         " FROM custody_positions) + (SELECT count(*) FROM"
                         " custody_document_chunks) + (SELECT count(*) FROM custody_statements)"
                         " + (SELECT count(*) FROM custody_rejects)"),
                     0);
  }

  /* Restarted: exactly once. */
  struct child ch;
  char *out = NULL;
  start_ingest(&ch, big, NULL);
  int rc = finish(&ch, &out);
  if (rc != 0)
    ts_dump_file("ingest stderr", ch.err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "ingested kind=semt002 sha256="));
  assert_non_null(strstr(out, sha));
  char counts[64];
  snprintf(counts, sizeof counts, " positions=%u balances=%u ", BIG_POSITIONS, 2 * BIG_POSITIONS);
  assert_non_null(strstr(out, counts));
  free(out);
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 1);
  assert_int_equal(num("SELECT count(*) FROM custody_positions"), 2 * BIG_POSITIONS);
  assert_int_equal(num("SELECT count(*) FROM custody_statement_positions WHERE balance_no = 0"),
                   BIG_POSITIONS);
  assert_int_equal(num("SELECT n_chunks FROM custody_documents"),
                   (size + CUSTODY_RAW_CHUNK - 1) / CUSTODY_RAW_CHUNK);
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM custody_documents WHERE raw IS NULL AND size = %lld AND"
           " sha256 = '%s'",
           (long long)size, sha);
  assert_int_equal(num(sql), 1);
  char *v = ts_sql_value(c, "SELECT encode(sha256(string_agg(data, ''::bytea ORDER BY seq)),"
                            " 'hex') FROM custody_document_chunks");
  assert_string_equal(v, sha);
  free(v);
  /* The last balance, exact: position 200,000 holds 200,000 units. */
  v = ts_sql_value(c, "SELECT quantity FROM custody_positions WHERE position_no = 200000 AND"
                      " balance_no = 0");
  assert_string_equal(v, "200000");
  free(v);

  start_ingest(&ch, big, NULL);
  assert_int_equal(finish(&ch, &out), 0);
  assert_non_null(strstr(out, "duplicate kind=semt002"));
  free(out);
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 1);
  db_close(admin);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_cli_lines, setup, teardown),
      cmocka_unit_test_setup_teardown(test_crash_mid_copy, setup, teardown),
  };
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
