/*
 * End to end: the feeds as real processes on a fresh database.
 *
 * `backstock custody watch` with hostile files dropped in -- an external
 * entity (XXE), a billion laughs, truncated XML, the wrong namespace, an
 * account not allow-listed, a sparse 1 GiB file -- then a good one: each
 * hostile file lands in rejected/ with its reason, the watcher stays
 * alive, the good file is ingested.  Killed with SIGKILL and restarted
 * with more files dropped meanwhile (one still named .part), each file is
 * ingested once; SIGTERM ends it with status 0.
 *
 * `backstock custody poll --once` against a libmicrohttpd server in this
 * test on 127.0.0.1: without the token nothing is stored (exit 1); with
 * it both listed documents are ingested, and a second pass fetches
 * nothing; `custody poll` runs until SIGTERM; `backstock config` shows
 * the token as ***.  Every wait is bounded.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <microhttpd.h>

#include "custody/custody.h"
#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

#define WAIT_MS 30000
#define TOKEN   "e2e-token-0123456789"

static struct ts_db db;
static struct db_conn *c;
static char tmp[256], in[300], url[1200], bin[PATH_MAX];
static char env_url[1300], env_dir[300], env_drop[340], env_feed[200];
static unsigned spawned;

static int setup(void **state)
{
  (void)state;
  char msg[256];
  ts_db_create("custody_feed_e2e", &db);
  ts_db_conninfo(&db, url, sizeof url);
  c = ts_db_connect(&db, 3);
  ts_tmpdir(tmp, sizeof tmp);
  snprintf(in, sizeof in, "%s/in", tmp);
  ts_build_path(bin, sizeof bin, "services/backstock");
  snprintf(env_url, sizeof env_url, "BACKSTOCK_DATABASE_URL=%s", url);
  snprintf(env_dir, sizeof env_dir, "BACKSTOCK_DATA_DIR=%s/var", tmp);
  snprintf(env_drop, sizeof env_drop, "BACKSTOCK_CUSTODY_DROP_DIR=%s", in);
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

/* backstock @a1 @a2 [@a3] with the test's environment (+ @extra, may be NULL). */
static void start(struct child *ch, const char *a1, const char *a2, const char *a3,
                  const char *extra)
{
  char *argv[] = {bin, (char *)a1, (char *)a2, (char *)a3, NULL};
  const char *env[] = {env_url,
                       env_dir,
                       env_drop,
                       "BACKSTOCK_CUSTODY_SERVICERS=EXAMCHZZXXX",
                       "BACKSTOCK_CUSTODY_ACCOUNTS=OMNI-TOKEN-RESERVE-01",
                       "BACKSTOCK_CUSTODY_POLL_MS=100",
                       "BACKSTOCK_LOG_LEVEL=info",
                       env_feed[0] != '\0' ? env_feed : "BACKSTOCK_LOG_FORMAT=text",
                       extra,
                       NULL};
  spawned++;
  snprintf(ch->out, sizeof ch->out, "%s/child-%u.out", tmp, spawned);
  snprintf(ch->err, sizeof ch->err, "%s/child-%u.err", tmp, spawned);
  ch->pid = ts_spawn(argv, env, ch->out, ch->err);
}

static int finish(struct child *ch, unsigned ms)
{
  int st = 0;
  if (!ts_wait_exit(ch->pid, ms, &st)) {
    ts_kill(ch->pid, SIGKILL);
    ts_wait_exit(ch->pid, 5000, NULL);
    ts_dump_file("child stderr", ch->err);
    fail_msg("backstock did not end in %u ms", ms);
  }
  if (!WIFEXITED(st))
    ts_dump_file("child stderr", ch->err);
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

static char *sample(size_t *len)
{
  char path[PATH_MAX], *buf = NULL;
  ts_source_path(path, sizeof path, "../shared/data/samples/semt002-example.xml");
  assert_int_equal(util_read_file(path, 1 << 20, &buf, len), 0);
  return buf;
}

/* The sample with @from replaced by @to (same length). */
static char *variant(const char *from, const char *to, size_t *len)
{
  char *b = sample(len);
  char *at = strstr(b, from);
  assert_non_null(at);
  assert_int_equal(strlen(from), strlen(to));
  memcpy(at, to, strlen(to));
  return b;
}

/* Drop a file the way a custodian should: NAME.part, then renamed. */
static void drop(const char *name, const char *data, size_t len)
{
  char part[400], path[400];
  snprintf(part, sizeof part, "%s/%s.part", in, name);
  snprintf(path, sizeof path, "%s/%s", in, name);
  FILE *f = fopen(part, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(rename(part, path), 0);
}

static bool exists(const char *sub, const char *name)
{
  char path[1024];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s%s%s", in, sub, sub[0] != '\0' ? "/" : "", name);
  return stat(path, &st) == 0;
}

static bool wait_for(const char *sub, const char *name)
{
  int64_t end = util_mono_ms() + WAIT_MS;
  while (!exists(sub, name)) {
    if (util_mono_ms() >= end)
      return false;
    util_sleep_ms(20);
  }
  return true;
}

static char *reason(const char *name)
{
  char path[400], *buf = NULL;
  snprintf(path, sizeof path, "%s/rejected/%s.reason.txt", in, name);
  if (util_read_file(path, 1 << 16, &buf, NULL) != 0)
    return strdup("");
  return buf;
}

static void test_watch_hostile(void **state)
{
  (void)state;
  static const char xxe[] =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE Document [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
      "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:semt.002.001.11\">&xxe;</Document>\n";
  static const char laughs[] =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
      "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
      "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
      "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
      "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
      "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
      "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
      "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
      "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
      "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">]>\n"
      "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:semt.002.001.11\">&lol9;</Document>\n";
  size_t len;
  struct child w;
  start(&w, "custody", "watch", NULL, NULL);
  assert_true(wait_for("", "rejected"));

  drop("xxe.xml", xxe, sizeof xxe - 1);
  drop("laughs.xml", laughs, sizeof laughs - 1);
  char *s = sample(&len);
  drop("truncated.xml", s, len / 2);
  free(s);
  s = variant("xsd:semt.002.001.11", "xsd:semt.002.001.10", &len);
  drop("namespace.xml", s, len);
  free(s);
  s = variant("OMNI-TOKEN-RESERVE-01", "OMNI-TOKEN-RESERVE-99", &len);
  drop("account.xml", s, len);
  free(s);
  char huge[400];
  snprintf(huge, sizeof huge, "%s/huge.xml", in);
  int fd = open(huge, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, (off_t)1 << 30), 0); /* sparse: 1 GiB, no disk */
  close(fd);

  static const struct {
    const char *name, *error;
  } want[] = {
      {"xxe.xml", "error: custody_forbidden (5002)"},
      {"laughs.xml", "error: custody_forbidden (5002)"},
      {"truncated.xml", "error: custody_xml (5001)"},
      {"namespace.xml", "error: custody_namespace (5003)"},
      {"account.xml", "error: custody_account (5011)"},
      {"huge.xml", "error: custody_too_large (5004)"},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    char rf[300];
    snprintf(rf, sizeof rf, "%s.reason.txt", want[i].name);
    if (!wait_for("rejected", rf)) {
      ts_dump_file("watch stderr", w.err);
      fail_msg("%s was not rejected", want[i].name);
    }
    char *r = reason(want[i].name);
    if (strncmp(r, want[i].error, strlen(want[i].error)) != 0)
      fail_msg("%s: reason \"%s\", want \"%s...\"", want[i].name, r, want[i].error);
    free(r);
  }
  assert_false(ts_wait_exit(w.pid, 0, NULL)); /* still serving */
  s = sample(&len);
  drop("good.xml", s, len);
  free(s);
  assert_true(wait_for("done", "good.xml"));
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 1);
  assert_int_equal(num("SELECT count(*) FROM custody_positions"), 7);
  assert_int_equal(num("SELECT count(*) FROM custody_rejects"), 6);
  assert_int_equal(num("SELECT count(*) FROM custody_rejects WHERE sha256 IS NULL"), 1);

  /* Killed, files dropped meanwhile, restarted: each ingested once. */
  ts_kill(w.pid, SIGKILL);
  assert_true(ts_wait_exit(w.pid, 10000, NULL));
  s = variant("STMT-20250630-0001", "STMT-20250630-0002", &len);
  drop("second.xml", s, len);
  free(s);
  s = variant("STMT-20250630-0001", "STMT-20250630-0003", &len);
  drop("third.xml", s, len);
  char part[400];
  snprintf(part, sizeof part, "%s/fourth.xml.part", in);
  FILE *f = fopen(part, "wb");
  fwrite(s, 1, len, f);
  fclose(f);
  free(s);
  start(&w, "custody", "watch", NULL, NULL);
  assert_true(wait_for("done", "second.xml"));
  assert_true(wait_for("done", "third.xml"));
  util_sleep_ms(500);
  assert_true(exists("", "fourth.xml.part")); /* still being written, as far as we know */
  char whole[400];
  snprintf(whole, sizeof whole, "%s/fourth.xml", in);
  assert_int_equal(rename(part, whole), 0);
  assert_true(wait_for("done", "fourth.xml"));
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 3);
  assert_int_equal(num("SELECT count(*) FROM custody_statements"), 3);
  ts_kill(w.pid, SIGTERM);
  assert_int_equal(finish(&w, 15000), 0);
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */
/* ------------------------------------------------------------------ */

struct server {
  struct MHD_Daemon *d;
  uint16_t port;
  char *a, *b;
  size_t a_len, b_len;
  pthread_mutex_t lock;
  unsigned docs_served;
};

static struct server srv;

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *path,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
  (void)cls;
  (void)method;
  (void)version;
  (void)upload;
  (void)upload_size;
  (void)con_cls;
  char listing[512];
  const char *body = "";
  size_t len = 0;
  unsigned status = 404;
  const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
  if (auth == NULL || strcmp(auth, "Bearer " TOKEN) != 0) {
    status = 401;
  } else if (strcmp(path, "/v1/documents") == 0) {
    snprintf(listing, sizeof listing,
             "[{\"name\":\"a.xml\",\"url\":\"http://127.0.0.1:%u/v1/documents/a.xml\"},"
             "{\"name\":\"b.xml\",\"url\":\"http://127.0.0.1:%u/v1/documents/b.xml\"}]",
             srv.port, srv.port);
    body = listing;
    len = strlen(listing);
    status = 200;
  } else if (strcmp(path, "/v1/documents/a.xml") == 0 || strcmp(path, "/v1/documents/b.xml") == 0) {
    bool a = path[14] == 'a';
    body = a ? srv.a : srv.b;
    len = a ? srv.a_len : srv.b_len;
    status = 200;
    pthread_mutex_lock(&srv.lock);
    srv.docs_served++;
    pthread_mutex_unlock(&srv.lock);
  }
  struct MHD_Response *r =
      MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  enum MHD_Result ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

static void test_poll(void **state)
{
  (void)state;
  memset(&srv, 0, sizeof srv);
  pthread_mutex_init(&srv.lock, NULL);
  srv.a = sample(&srv.a_len);
  srv.b = variant("STMT-20250630-0001", "STMT-20250630-000B", &srv.b_len);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                           NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
  assert_non_null(srv.d);
  srv.port = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT)->port;
  snprintf(env_feed, sizeof env_feed, "BACKSTOCK_CUSTODY_FEED_URL=http://127.0.0.1:%u/v1/documents",
           srv.port);

  struct child p;
  char line[256];
  start(&p, "custody", "poll", "--once", NULL);
  assert_int_equal(finish(&p, WAIT_MS), 1);
  assert_true(ts_wait_line(p.out, "poll ", 1000, line, sizeof line));
  assert_string_equal(line, "poll listed=0 ingested=0 duplicates=0 rejected=0 failed=0 "
                            "skipped=0 listing=failed");
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 0);

  start(&p, "custody", "poll", "--once", "BACKSTOCK_CUSTODY_FEED_TOKEN=" TOKEN);
  assert_int_equal(finish(&p, WAIT_MS), 0);
  assert_true(ts_wait_line(p.out, "poll ", 1000, line, sizeof line));
  assert_string_equal(line, "poll listed=2 ingested=2 duplicates=0 rejected=0 failed=0 skipped=0");
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 2);
  assert_int_equal(num("SELECT count(*) FROM custody_feed_documents"), 2);

  start(&p, "custody", "poll", "--once", "BACKSTOCK_CUSTODY_FEED_TOKEN=" TOKEN);
  assert_int_equal(finish(&p, WAIT_MS), 0);
  assert_true(ts_wait_line(p.out, "poll ", 1000, line, sizeof line));
  assert_string_equal(line, "poll listed=2 ingested=0 duplicates=0 rejected=0 failed=0 skipped=2");
  assert_int_equal(srv.docs_served, 2);
  char *err = NULL;
  assert_int_equal(util_read_file(p.err, 1 << 20, &err, NULL), 0);
  assert_null(strstr(err, TOKEN));
  free(err);

  /* The loop: until SIGTERM. */
  start(&p, "custody", "poll", NULL, "BACKSTOCK_CUSTODY_FEED_TOKEN=" TOKEN);
  util_sleep_ms(500);
  assert_false(ts_wait_exit(p.pid, 0, NULL));
  ts_kill(p.pid, SIGTERM);
  assert_int_equal(finish(&p, 15000), 0);

  start(&p, "config", NULL, NULL, "BACKSTOCK_CUSTODY_FEED_TOKEN=" TOKEN);
  assert_int_equal(finish(&p, WAIT_MS), 0);
  assert_true(ts_wait_line(p.out, "custody_feed_token", 1000, line, sizeof line));
  assert_string_equal(line, "custody_feed_token = ***");
  char *out = NULL;
  assert_int_equal(util_read_file(p.out, 1 << 20, &out, NULL), 0);
  assert_null(strstr(out, TOKEN));
  free(out);

  MHD_stop_daemon(srv.d);
  pthread_mutex_destroy(&srv.lock);
  free(srv.a);
  free(srv.b);
  env_feed[0] = '\0';
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_watch_hostile, setup, teardown),
      cmocka_unit_test_setup_teardown(test_poll, setup, teardown),
  };
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
