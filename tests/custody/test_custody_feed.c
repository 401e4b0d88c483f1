/*
 * Tests of custody/custody_feed.c on a fresh, migrated database per test.
 *
 * Drop folder, one pass at a time: a file is ingested only once it did
 * not change for a pass, oldest first, then moved to done/ or rejected/
 * (with its .reason.txt); dot files and .part files stay; a name taken
 * in done/ gets a suffix; a file committed before a crash but not moved
 * is a duplicate next time and is just moved; with the database gone the
 * file stays.
 *
 * HTTP feed, against a libmicrohttpd server in this process on
 * 127.0.0.1: 401 without the token (no retry, nothing stored); with it,
 * a document listed twice is fetched once, a 503 is retried, a copy
 * under another URL is a duplicate, another origin is skipped, an
 * oversize download is recorded as a reject, a redirect to another
 * origin is refused, a slow answer times out and is retried next pass,
 * the listed SHA-256 is checked; a second pass fetches nothing again;
 * the token never appears in the log; the listing of the simulated
 * custodian (objects) is read; URLs other than https (or http to
 * 127.0.0.1) are refused.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "custody/custody.h"
#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

#define SERVICERS "EXAMCHZZXXX,BANKUS33XXX"
#define ACCOUNTS  "OMNI-TOKEN-RESERVE-01,RESERVE-2"
#define TOKEN     "s3cret-token-4711"

static struct ts_db db;
static struct db_conn *c;
static struct custody_store *store;
static char tmp[256];

static int setup(void **state)
{
  (void)state;
  char msg[256];
  ts_db_create("custody_feed", &db);
  c = ts_db_connect(&db, 10);
  ts_tmpdir(tmp, sizeof tmp);
  int rc = db_migrate(c, migrations_all, migrations_count, NULL, msg, sizeof msg);
  if (rc == 0)
    rc = custody_store_open(c, SERVICERS, ACCOUNTS, NULL, &store);
  return rc;
}

static int teardown(void **state)
{
  (void)state;
  custody_store_free(store);
  store = NULL;
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

__attribute__((noinline)) static char *sample(size_t *len)
{
  char path[4096], *buf = NULL;
  ts_source_path(path, sizeof path, "../shared/data/samples/semt002-example.xml");
  assert_int_equal(util_read_file(path, 1 << 20, &buf, len), 0);
  return buf;
}

/* The sample with its statement id replaced (same length): another document. */
static char *sample_as(const char *id8, size_t *len)
{
  char *b = sample(len);
  char *at = strstr(b, "STMT-20250630-0001");
  assert_non_null(at);
  memcpy(at + 10, id8, 8);
  return b;
}

static void put_file(const char *dir, const char *name, const char *data, size_t len)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
}

static bool exists(const char *dir, const char *name)
{
  char path[512];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &st) == 0;
}

/* Set the mtime of @name to @sec seconds after the epoch. */
static void set_mtime(const char *dir, const char *name, time_t sec)
{
  char path[512];
  struct timespec t[2] = {{sec, 0}, {sec, 0}};
  snprintf(path, sizeof path, "%s/%s", dir, name);
  assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* ------------------------------------------------------------------ */
/* Drop folder                                                         */
/* ------------------------------------------------------------------ */

static void test_drop_folder(void **state)
{
  (void)state;
  char dir[300], done[320], rej[320];
  struct custody_drop *d;
  struct custody_feed_stats st;
  size_t len;
  snprintf(dir, sizeof dir, "%s/in", tmp);
  snprintf(done, sizeof done, "%s/done", dir);
  snprintf(rej, sizeof rej, "%s/rejected", dir);
  assert_int_equal(custody_drop_open(store, dir, &d), 0);
  char *a = sample(&len);
  char *b = sample_as("AAAAAAAA", &len);
  put_file(dir, "b-newer.xml", b, len);
  put_file(dir, "a-older.xml", a, len);
  set_mtime(dir, "a-older.xml", 1000000);
  set_mtime(dir, "b-newer.xml", 2000000);
  put_file(dir, ".hidden.xml", a, len);
  put_file(dir, "c.xml.part", a, len);
  put_file(dir, "bad.xml", "<Document/>", 11);
  put_file(dir, "growing.xml", a, 100);

  /* First sight: nothing is stable yet. */
  assert_int_equal(custody_drop_pass(d, &st), 0);
  assert_int_equal(st.seen, 4);
  assert_int_equal(st.skipped, 4);
  assert_int_equal(st.ingested + st.rejected, 0);
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 0);

  /* growing.xml gets more bytes: it waits another pass. */
  put_file(dir, "growing.xml", a, 200);
  assert_int_equal(custody_drop_pass(d, &st), 0);
  assert_int_equal(st.ingested, 2);
  assert_int_equal(st.rejected, 1);
  assert_int_equal(st.skipped, 1);
  /* Oldest first: a-older.xml is document 1. */
  char *v = ts_sql_value(c, "SELECT source FROM custody_documents WHERE id = 1");
  char want[400];
  snprintf(want, sizeof want, "%s/a-older.xml", dir);
  assert_string_equal(v, want);
  free(v);
  assert_true(exists(done, "a-older.xml") && exists(done, "b-newer.xml"));
  assert_true(exists(rej, "bad.xml"));
  assert_false(exists(dir, "a-older.xml") || exists(dir, "bad.xml"));
  assert_true(exists(dir, ".hidden.xml") && exists(dir, "c.xml.part"));
  char path[512], *reason = NULL;
  snprintf(path, sizeof path, "%s/bad.xml.reason.txt", rej);
  assert_int_equal(util_read_file(path, 1 << 16, &reason, NULL), 0);
  assert_non_null(strstr(reason, "error: custody_namespace (5003)\n"));
  assert_non_null(strstr(reason, "\nsize: 11\n"));
  assert_non_null(strstr(reason, "\nreject_id: 1\n"));
  free(reason);

  /* Truncated at 200 bytes: rejected once stable. */
  assert_int_equal(custody_drop_pass(d, &st), 0);
  assert_int_equal(st.rejected, 1);
  assert_true(exists(rej, "growing.xml") && exists(rej, "growing.xml.reason.txt"));

  /* The same name again (the same bytes): a duplicate, moved beside the first. */
  put_file(dir, "a-older.xml", a, len);
  custody_drop_pass(d, &st);
  assert_int_equal(custody_drop_pass(d, &st), 0);
  assert_int_equal(st.duplicates, 1);
  assert_true(exists(done, "a-older.xml.1"));
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 2);
  assert_int_equal(num("SELECT count(*) FROM custody_rejects"), 2);
  custody_drop_free(d);
  free(a);
  free(b);
}

/* Committed but not moved (a crash in between): next time a duplicate, just moved. */
static void test_drop_after_crash(void **state)
{
  (void)state;
  char dir[300], done[320], path[400];
  struct custody_drop *d;
  struct custody_feed_stats st;
  struct custody_ingest res;
  size_t len;
  snprintf(dir, sizeof dir, "%s/in", tmp);
  snprintf(done, sizeof done, "%s/done", dir);
  assert_int_equal(custody_drop_open(store, dir, &d), 0);
  char *a = sample(&len);
  put_file(dir, "s.xml", a, len);
  snprintf(path, sizeof path, "%s/s.xml", dir);
  assert_int_equal(custody_ingest_file(store, path, &res), 0);
  assert_int_equal(res.outcome, CUSTODY_INGESTED);
  custody_drop_free(d); /* "the crash" */
  assert_int_equal(custody_drop_open(store, dir, &d), 0);
  custody_drop_pass(d, &st);
  assert_int_equal(custody_drop_pass(d, &st), 0);
  assert_int_equal(st.duplicates, 1);
  assert_true(exists(done, "s.xml"));
  assert_false(exists(dir, "s.xml"));
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 1);
  assert_int_equal(num("SELECT count(*) FROM custody_positions"), 7);

  /* The database gone: the file stays for later. */
  put_file(dir, "t.xml", a, len);
  custody_drop_pass(d, &st);
  ts_db_drop(&db);
  assert_int_equal(custody_drop_pass(d, &st), 0);
  assert_int_equal(st.failed, 1);
  assert_true(exists(dir, "t.xml"));
  custody_drop_free(d);
  free(a);
}

/* ------------------------------------------------------------------ */
/* HTTP feed                                                           */
/* ------------------------------------------------------------------ */

struct server {
  struct MHD_Daemon *d;
  uint16_t port;
  pthread_mutex_t lock;
  char listing[4096];
  unsigned hits_list, hits_a, hits_b, hits_copy, hits_big, hits_slow, hits_bad_sha;
  unsigned unauthorized;
  char *a, *b;
  size_t a_len, b_len;
};

static struct server srv;

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *body,
                             size_t len, const char *location)
{
  struct MHD_Response *r =
      MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (location != NULL)
    MHD_add_response_header(r, "Location", location);
  enum MHD_Result ret = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
  (void)cls;
  (void)method;
  (void)version;
  (void)upload;
  (void)upload_size;
  (void)con_cls;
  const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
  pthread_mutex_lock(&srv.lock);
  bool ok = auth != NULL && strcmp(auth, "Bearer " TOKEN) == 0;
  if (!ok)
    srv.unauthorized++;
  unsigned *hit = strcmp(url, "/list") == 0            ? &srv.hits_list
                  : strcmp(url, "/docs/a.xml") == 0    ? &srv.hits_a
                  : strcmp(url, "/docs/b.xml") == 0    ? &srv.hits_b
                  : strcmp(url, "/docs/copy.xml") == 0 ? &srv.hits_copy
                  : strcmp(url, "/docs/big.xml") == 0  ? &srv.hits_big
                  : strcmp(url, "/docs/slow.xml") == 0 ? &srv.hits_slow
                  : strcmp(url, "/docs/sha.xml") == 0  ? &srv.hits_bad_sha
                                                       : NULL;
  unsigned n = hit != NULL ? ++*hit : 0;
  pthread_mutex_unlock(&srv.lock);
  if (!ok)
    return reply(conn, 401, "{}", 2, NULL);
  if (strcmp(url, "/list") == 0)
    return reply(conn, 200, srv.listing, strlen(srv.listing), NULL);
  if (strcmp(url, "/docs/a.xml") == 0 || strcmp(url, "/docs/copy.xml") == 0 ||
      strcmp(url, "/docs/sha.xml") == 0)
    return reply(conn, 200, srv.a, srv.a_len, NULL);
  if (strcmp(url, "/docs/b.xml") == 0)
    return n == 1 ? reply(conn, 503, "busy", 4, NULL) : reply(conn, 200, srv.b, srv.b_len, NULL);
  if (strcmp(url, "/docs/big.xml") == 0) {
    char *big = malloc(100000);
    memset(big, ' ', 100000);
    memcpy(big, "<Document>", 10);
    enum MHD_Result r = reply(conn, 200, big, 100000, NULL);
    free(big);
    return r;
  }
  if (strcmp(url, "/docs/away.xml") == 0)
    return reply(conn, 302, "", 0, "http://127.0.0.2:1/docs/a.xml");
  if (strcmp(url, "/docs/slow.xml") == 0) {
    util_sleep_ms(1500);
    return reply(conn, 200, srv.a, srv.a_len, NULL);
  }
  return reply(conn, 404, "", 0, NULL);
}

static void server_start(void)
{
  memset(&srv, 0, sizeof srv);
  pthread_mutex_init(&srv.lock, NULL);
  srv.a = sample(&srv.a_len);
  srv.b = sample_as("BBBBBBBB", &srv.b_len);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                           NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
  assert_non_null(srv.d);
  const union MHD_DaemonInfo *i = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
  assert_non_null(i);
  srv.port = i->port;
}

static void server_stop(void)
{
  MHD_stop_daemon(srv.d);
  pthread_mutex_destroy(&srv.lock);
  free(srv.a);
  free(srv.b);
}

static struct custody_http *feed(const char *token, unsigned attempts)
{
  struct custody_http_cfg hc;
  struct custody_http *h = NULL;
  char url[128];
  custody_http_cfg_default(&hc);
  snprintf(url, sizeof url, "http://127.0.0.1:%u/list", srv.port);
  hc.listing_url = url;
  hc.token = token;
  hc.attempts = attempts;
  hc.backoff_ms = 20;
  hc.backoff_max_ms = 100;
  hc.timeout_ms = 800;
  hc.connect_timeout_ms = 2000;
  hc.max_bytes = 50000;
  assert_int_equal(custody_http_open(store, &hc, &h), 0);
  return h;
}

static void test_http_feed(void **state)
{
  (void)state;
  char *log = NULL;
  size_t log_len = 0;
  FILE *logf = open_memstream(&log, &log_len);
  log_setup(LOGL_DEBUG, LOG_FORMAT_TEXT, logf);
  server_start();
  snprintf(srv.listing, sizeof srv.listing,
           "[\"docs/a.xml\", \"/docs/b.xml\", \"http://127.0.0.1:%u/docs/a.xml\","
           " \"docs/copy.xml\", \"https://elsewhere.example/x.xml\", \"docs/big.xml\","
           " \"docs/away.xml\", \"docs/slow.xml\"]",
           srv.port);

  /* Without the token: 401 on the listing, no retry, nothing stored. */
  struct custody_http *h = feed(NULL, 3);
  struct custody_feed_stats st;
  assert_int_equal(custody_http_pass(h, &st, NULL), -ERR_CUSTODY_FEED);
  assert_int_equal(srv.hits_list, 1);
  assert_int_equal(srv.unauthorized, 1);
  custody_http_free(h);
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 0);

  h = feed(TOKEN, 2);
  assert_int_equal(custody_http_pass(h, &st, NULL), 0);
  assert_int_equal(st.seen, 8);
  assert_int_equal(st.ingested, 2);   /* a, b */
  assert_int_equal(st.duplicates, 1); /* copy */
  assert_int_equal(st.rejected, 1);   /* big */
  assert_int_equal(st.failed, 2);     /* away, slow */
  assert_int_equal(st.skipped, 2);    /* a again, elsewhere */
  assert_int_equal(srv.hits_a, 1);
  assert_int_equal(srv.hits_b, 2); /* 503, then 200 */
  assert_int_equal(srv.hits_slow, 2);
  assert_int_equal(srv.unauthorized, 1);
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 2);
  assert_int_equal(num("SELECT count(*) FROM custody_feed_documents"), 4);
  char *v = ts_sql_value(c, "SELECT string_agg(error_name || ' ' || size::text || ' ' ||"
                            " (sha256 IS NULL)::text, ',') FROM custody_rejects");
  assert_string_equal(v, "custody_too_large 100000 true");
  free(v);

  /* A second pass fetches only what failed. */
  assert_int_equal(custody_http_pass(h, &st, NULL), 0);
  assert_int_equal(st.ingested + st.duplicates + st.rejected, 0);
  assert_int_equal(st.skipped, 6);
  assert_int_equal(srv.hits_a + srv.hits_b + srv.hits_copy + srv.hits_big, 5);
  assert_int_equal(srv.hits_slow, 4);
  custody_http_free(h);

  /* The simulated custodian's listing: objects; a wrong SHA-256 is not ingested. */
  snprintf(srv.listing, sizeof srv.listing,
           "[{\"name\":\"sha.xml\",\"url\":\"http://127.0.0.1:%u/docs/sha.xml\",\"sha256\":"
           "\"%064d\",\"n\":[1,{\"x\":null}],\"ok\":true}]",
           srv.port, 0);
  h = feed(TOKEN, 1);
  assert_int_equal(custody_http_pass(h, &st, NULL), 0);
  assert_int_equal(st.failed, 1);
  assert_int_equal(srv.hits_bad_sha, 1);
  custody_http_free(h);
  snprintf(srv.listing, sizeof srv.listing, "{\"not\": \"an array\"}");
  h = feed(TOKEN, 1);
  assert_int_equal(custody_http_pass(h, &st, NULL), -ERR_CUSTODY_FEED);
  custody_http_free(h);

  server_stop();
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  fclose(logf);
  assert_non_null(strstr(log, "HTTP 401"));
  assert_non_null(strstr(log, "HTTP 503"));
  assert_null(strstr(log, TOKEN));
  free(log);
}

static void test_http_urls(void **state)
{
  (void)state;
  static const struct {
    const char *url;
    int rc;
  } cases[] = {
      {"https://custodian.example/v1/documents", 0},
      {"http://127.0.0.1:9879/v1/documents", 0},
      {"http://localhost:9879/v1/documents", -ERR_INVALID_ARGUMENT},
      {"http://10.0.0.1/x", -ERR_INVALID_ARGUMENT},
      {"ftp://127.0.0.1/x", -ERR_INVALID_ARGUMENT},
      {"file:///etc/passwd", -ERR_INVALID_ARGUMENT},
      {"not a url", -ERR_INVALID_ARGUMENT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct custody_http_cfg hc;
    struct custody_http *h = NULL;
    custody_http_cfg_default(&hc);
    hc.listing_url = cases[i].url;
    int rc = custody_http_open(store, &hc, &h);
    if (rc != cases[i].rc)
      fail_msg("%s: %d, want %d", cases[i].url, rc, cases[i].rc);
    custody_http_free(h);
  }
  struct custody_http_cfg hc;
  struct custody_http *h = NULL;
  custody_http_cfg_default(&hc);
  hc.listing_url = "https://custodian.example/";
  hc.token = "two words";
  assert_int_equal(custody_http_open(store, &hc, &h), -ERR_INVALID_ARGUMENT);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_drop_folder, setup, teardown),
      cmocka_unit_test_setup_teardown(test_drop_after_crash, setup, teardown),
      cmocka_unit_test_setup_teardown(test_http_feed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_http_urls, setup, teardown),
  };
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
