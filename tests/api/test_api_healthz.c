/*
 * Tests of the HTTP server (api/api_server.c) and GET /healthz
 * (api/api_healthz_get.c), in process, over real HTTP: a fresh database
 * is migrated, a server listens on 127.0.0.1 on a port of its choosing,
 * and libcurl asks it.  Covered: the healthy answer field by field, request
 * ids (echoed when safe, replaced by 16 hex digits otherwise), the error
 * replies for an unknown path, a wrong method and a body over API_BODY_MAX,
 * a schema older than the binary expects, a database that cannot be
 * reached (the server keeps answering 503), and 200 requests from 8
 * threads at once.  Every answer is checked against exact values.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <yajl/yajl_tree.h>

#include "api/api.h"
#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

/* The server's clock starts this long before the tests: uptime_s >= it. */
#define UPTIME_OFFSET_S 3600
#define BODY_CAP        (256 * 1024)
#define N_THREADS       8
#define N_PER_THREAD    25

struct reply {
  long status;
  char content_type[128];
  char request_id[128]; /* "" when the header is missing */
  char *body;           /* NUL-terminated, at most BODY_CAP bytes */
  size_t len;
  bool overflow;
};

struct fixture {
  struct ts_db db;
  char conninfo[2048]; /* the test database, as key=value conninfo */
  struct db_pool *pool;
  struct api_ctx ctx;
  struct api_server *srv;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *cls)
{
  struct reply *r = cls;
  size_t n = size * nmemb;
  if (r->len + n > BODY_CAP) {
    r->overflow = true;
    return 0;
  }
  memcpy(r->body + r->len, data, n);
  r->len += n;
  r->body[r->len] = '\0';
  return n;
}

static void reply_free(struct reply *r)
{
  free(r->body);
  r->body = NULL;
}

/*
 * One request on @h (a handle the caller owns, reused for keep-alive).
 * @method: "GET" or "POST".  @rid: X-Request-Id to send, or NULL.
 * @body/@body_len: the POST body.  Returns 0 when an HTTP answer came.
 */
static int request_on(CURL *h, uint16_t port, const char *method, const char *path, const char *rid,
                      const char *body, size_t body_len, struct reply *r)
{
  char url[256], hdr[256];
  struct curl_slist *hl = NULL;
  struct curl_header *ch = NULL;
  memset(r, 0, sizeof *r);
  r->body = malloc(BODY_CAP + 1);
  if (r->body == NULL)
    return -1;
  r->body[0] = '\0';
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
  if (rid != NULL) {
    snprintf(hdr, sizeof hdr, "X-Request-Id: %s", rid);
    hl = curl_slist_append(hl, hdr);
  }
  if (strcmp(method, "POST") == 0) {
    hl = curl_slist_append(hl, "Content-Type: application/octet-stream");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != NULL ? body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
  CURLcode cc = curl_easy_perform(h);
  curl_slist_free_all(hl);
  if (cc != CURLE_OK) {
    fprintf(stderr, "curl %s %s: %s\n", method, url, curl_easy_strerror(cc));
    return -1;
  }
  char *ct = NULL;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
  snprintf(r->content_type, sizeof r->content_type, "%s", ct != NULL ? ct : "");
  if (curl_easy_header(h, "X-Request-Id", 0, CURLH_HEADER, -1, &ch) == CURLHE_OK)
    snprintf(r->request_id, sizeof r->request_id, "%s", ch->value);
  return 0;
}

/* One request on a fresh handle; fails the test when no answer came. */
static void request(uint16_t port, const char *method, const char *path, const char *rid,
                    const char *body, size_t body_len, struct reply *r)
{
  CURL *h = curl_easy_init();
  assert_non_null(h);
  int rc = request_on(h, port, method, path, rid, body, body_len, r);
  curl_easy_cleanup(h);
  if (rc != 0)
    fail_msg("no HTTP answer from 127.0.0.1:%u%s", port, path);
}

static bool is_hex16(const char *s)
{
  if (strlen(s) != 16)
    return false;
  for (; *s != '\0'; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

static yajl_val parse(const struct reply *r)
{
  char err[256];
  yajl_val v = yajl_tree_parse(r->body, err, sizeof err);
  if (v == NULL || !YAJL_IS_OBJECT(v))
    fail_msg("reply is not a JSON object (%s): %s", err, r->body);
  return v;
}

static yajl_val field(yajl_val root, const char *a, const char *b)
{
  const char *path[3] = {a, b, NULL};
  yajl_val v = yajl_tree_get(root, path, yajl_t_any);
  if (v == NULL)
    fail_msg("reply has no field %s%s%s", a, b != NULL ? "." : "", b != NULL ? b : "");
  return v;
}

static const char *str_field(yajl_val root, const char *a, const char *b)
{
  yajl_val v = field(root, a, b);
  if (!YAJL_IS_STRING(v))
    fail_msg("field %s%s%s is not a string", a, b != NULL ? "." : "", b != NULL ? b : "");
  return YAJL_GET_STRING(v);
}

static long long int_field(yajl_val root, const char *a, const char *b)
{
  yajl_val v = field(root, a, b);
  if (!YAJL_IS_INTEGER(v))
    fail_msg("field %s%s%s is not an integer", a, b != NULL ? "." : "", b != NULL ? b : "");
  return YAJL_GET_INTEGER(v);
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  struct db_conn *c;
  struct db_migrate_result mr;
  char msg[512];
  assert_non_null(f);
  *state = f; /* the teardown frees what exists, even after a failure here */
  log_setup(LOGL_WARN, LOG_FORMAT_TEXT, stderr);
  ts_db_create("healthz", &f->db);
  ts_db_conninfo(&f->db, f->conninfo, sizeof f->conninfo);
  c = ts_db_connect(&f->db, 3);
  int rc = db_migrate(c, migrations_all, migrations_count, &mr, msg, sizeof msg);
  if (rc != 0)
    fail_msg("db_migrate: %s: %s", err_text(rc), msg);
  assert_int_equal(mr.to_version, migrations_count);
  db_close(c);
  assert_int_equal(db_pool_create(f->conninfo, 4, 3, &f->pool), 0);
  f->ctx.pool = f->pool;
  f->ctx.schema_expected = (unsigned)migrations_count;
  f->ctx.db_embedded = false;
  f->ctx.started_mono_ms = util_mono_ms() - (int64_t)UPTIME_OFFSET_S * 1000;
  assert_int_equal(api_start("127.0.0.1", 0, 4, &f->ctx, &f->srv), 0);
  assert_true(api_port(f->srv) != 0);
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  if (f == NULL)
    return 0;
  api_stop(f->srv);
  db_pool_free(f->pool);
  if (f->db.name[0] != '\0')
    ts_db_drop(&f->db);
  free(f);
  return 0;
}

/* The healthy answer, every field. */
static void test_healthz_ok(void **state)
{
  struct fixture *f = *state;
  struct reply r;
  request(api_port(f->srv), "GET", "/healthz", NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.content_type, "application/json");
  assert_true(is_hex16(r.request_id));
  yajl_val v = parse(&r);
  assert_string_equal(str_field(v, "status", NULL), "ok");
  assert_string_equal(str_field(v, "version", NULL), BACKSTOCK_VERSION);
  long long up = int_field(v, "uptime_s", NULL);
  assert_true(up >= UPTIME_OFFSET_S && up < UPTIME_OFFSET_S + 120);
  assert_string_equal(str_field(v, "database", "state"), "up");
  assert_true(YAJL_IS_FALSE(field(v, "database", "embedded")));
  assert_int_equal(int_field(v, "database", "schema_version"), migrations_count);
  assert_int_equal(int_field(v, "database", "expected_schema_version"), migrations_count);
  assert_int_equal(YAJL_GET_OBJECT(v)->len, 4);
  assert_int_equal(YAJL_GET_OBJECT(field(v, "database", NULL))->len, 4);
  yajl_tree_free(v);
  reply_free(&r);
}

/* A plain client id is echoed; anything else is replaced by 16 hex digits. */
static void test_request_id(void **state)
{
  struct fixture *f = *state;
  uint16_t port = api_port(f->srv);
  struct reply r;
  char id64[65], id65[66], id100[101];
  memset(id64, 'a', 64);
  id64[64] = '\0';
  memset(id65, 'b', 65);
  id65[65] = '\0';
  memset(id100, 'c', 100);
  id100[100] = '\0';

  request(port, "GET", "/healthz", "abc-123", NULL, 0, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.request_id, "abc-123");
  reply_free(&r);

  request(port, "GET", "/healthz", "A_z-09", NULL, 0, &r);
  assert_string_equal(r.request_id, "A_z-09");
  reply_free(&r);

  request(port, "GET", "/healthz", id64, NULL, 0, &r);
  assert_string_equal(r.request_id, id64);
  reply_free(&r);

  const char *unsafe[] = {"abc 123", "abc;123", "a/b", id65, id100};
  for (size_t i = 0; i < sizeof unsafe / sizeof unsafe[0]; i++) {
    request(port, "GET", "/healthz", unsafe[i], NULL, 0, &r);
    assert_int_equal(r.status, 200);
    if (!is_hex16(r.request_id))
      fail_msg("id %s answered with %s, not 16 hex digits", unsafe[i], r.request_id);
    reply_free(&r);
  }

  /* Errors carry the id too, and two generated ids differ. */
  char first[128];
  request(port, "GET", "/nope", NULL, NULL, 0, &r);
  assert_true(is_hex16(r.request_id));
  snprintf(first, sizeof first, "%s", r.request_id);
  reply_free(&r);
  request(port, "GET", "/nope", NULL, NULL, 0, &r);
  assert_true(is_hex16(r.request_id));
  assert_string_not_equal(r.request_id, first);
  reply_free(&r);
  request(port, "GET", "/nope", "err-7", NULL, 0, &r);
  assert_string_equal(r.request_id, "err-7");
  reply_free(&r);
}

static void test_not_found(void **state)
{
  struct fixture *f = *state;
  struct reply r;
  const char *paths[] = {"/nope", "/", "/healthz/", "/HEALTHZ", "/healthz/x"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    request(api_port(f->srv), "GET", paths[i], NULL, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(r.body, "{\"code\":3001,\"error\":\"api_not_found\",\"hint\":\"no such "
                                "resource\"}");
    reply_free(&r);
  }
}

static void test_method_not_allowed(void **state)
{
  struct fixture *f = *state;
  struct reply r;
  static const char expect[] =
      "{\"code\":3002,\"error\":\"api_method\",\"hint\":\"method not allowed on this resource\"}";
  request(api_port(f->srv), "POST", "/healthz", NULL, "", 0, &r);
  assert_int_equal(r.status, 405);
  assert_string_equal(r.content_type, "application/json");
  assert_string_equal(r.body, expect);
  reply_free(&r);
  request(api_port(f->srv), "POST", "/healthz", NULL, "{}", 2, &r);
  assert_int_equal(r.status, 405);
  assert_string_equal(r.body, expect);
  reply_free(&r);
}

/* API_BODY_MAX bytes are read; one more is 413, and the server goes on. */
static void test_body_too_large(void **state)
{
  struct fixture *f = *state;
  struct reply r;
  size_t n = API_BODY_MAX + 1;
  char *big = malloc(n);
  assert_non_null(big);
  memset(big, 'x', n);

  request(api_port(f->srv), "POST", "/healthz", NULL, big, API_BODY_MAX, &r);
  assert_int_equal(r.status, 405);
  reply_free(&r);

  request(api_port(f->srv), "POST", "/healthz", "big-1", big, n, &r);
  assert_int_equal(r.status, 413);
  assert_string_equal(r.request_id, "big-1");
  yajl_val v = parse(&r);
  assert_int_equal(int_field(v, "code", NULL), 3003);
  assert_string_equal(str_field(v, "error", NULL), "api_body_too_large");
  yajl_tree_free(v);
  assert_string_equal(r.body, "{\"code\":3003,\"error\":\"api_body_too_large\",\"hint\":\"request "
                              "body too large\"}");
  reply_free(&r);

  /* Four times the limit, on a path that does not exist: still 413. */
  char *huge = malloc(4 * n);
  assert_non_null(huge);
  memset(huge, 'y', 4 * n);
  request(api_port(f->srv), "POST", "/nope", NULL, huge, 4 * n, &r);
  assert_int_equal(r.status, 413);
  reply_free(&r);
  free(huge);
  free(big);

  request(api_port(f->srv), "GET", "/healthz", NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  reply_free(&r);
}

/* A binary that expects a newer schema than the database has. */
static void test_schema_mismatch(void **state)
{
  struct fixture *f = *state;
  struct api_ctx ctx = f->ctx;
  struct api_server *s = NULL;
  struct reply r;
  ctx.schema_expected = (unsigned)migrations_count + 1;
  assert_int_equal(api_start("127.0.0.1", 0, 2, &ctx, &s), 0);
  assert_true(api_port(s) != api_port(f->srv));
  request(api_port(s), "GET", "/healthz", NULL, NULL, 0, &r);
  api_stop(s);
  assert_int_equal(r.status, 503);
  assert_string_equal(r.content_type, "application/json");
  yajl_val v = parse(&r);
  assert_string_equal(str_field(v, "status", NULL), "unavailable");
  assert_string_equal(str_field(v, "version", NULL), BACKSTOCK_VERSION);
  assert_string_equal(str_field(v, "database", "state"), "schema_mismatch");
  assert_int_equal(int_field(v, "database", "schema_version"), migrations_count);
  assert_int_equal(int_field(v, "database", "expected_schema_version"), migrations_count + 1);
  yajl_tree_free(v);
  reply_free(&r);
}

/* A database that cannot be reached: 503 "down", again and again. */
static void test_database_down(void **state)
{
  struct fixture *f = *state;
  struct db_pool *pool = NULL;
  struct api_server *s = NULL;
  struct api_ctx ctx = f->ctx;
  struct reply r;
  assert_int_equal(db_pool_create("host=/nonexistent-dir port=5432 user=x dbname=y "
                                  "connect_timeout=2",
                                  2, 1, &pool),
                   0);
  ctx.pool = pool;
  assert_int_equal(api_start("127.0.0.1", 0, 2, &ctx, &s), 0);
  for (int i = 0; i < 3; i++) {
    int64_t t0 = util_mono_ms();
    request(api_port(s), "GET", "/healthz", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 503);
    assert_true(util_mono_ms() - t0 < 10000);
    yajl_val v = parse(&r);
    assert_string_equal(str_field(v, "status", NULL), "unavailable");
    assert_string_equal(str_field(v, "database", "state"), "down");
    assert_true(YAJL_IS_NULL(field(v, "database", "schema_version")));
    assert_true(YAJL_IS_FALSE(field(v, "database", "embedded")));
    assert_int_equal(int_field(v, "database", "expected_schema_version"), migrations_count);
    yajl_tree_free(v);
    reply_free(&r);
  }
  request(api_port(s), "GET", "/nope", NULL, NULL, 0, &r);
  assert_int_equal(r.status, 404);
  reply_free(&r);
  api_stop(s);
  db_pool_free(pool);
  /* The healthy server was not disturbed. */
  request(api_port(f->srv), "GET", "/healthz", NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  reply_free(&r);
}

struct worker {
  uint16_t port;
  int n;
  int ok;        /* 200 with its own request id echoed */
  int answers;   /* any HTTP answer */
  char bad[512]; /* the first failure, for the log */
};

static void *worker_run(void *cls)
{
  struct worker *w = cls;
  CURL *h = curl_easy_init();
  if (h == NULL)
    return NULL;
  for (int i = 0; i < N_PER_THREAD; i++) {
    char rid[32];
    struct reply r;
    snprintf(rid, sizeof rid, "w%d-r%d", w->n, i);
    if (request_on(h, w->port, "GET", "/healthz", rid, NULL, 0, &r) == 0) {
      w->answers++;
      if (r.status == 200 && strcmp(r.request_id, rid) == 0 &&
          strstr(r.body, "\"status\":\"ok\"") != NULL)
        w->ok++;
      else if (w->bad[0] == '\0')
        snprintf(w->bad, sizeof w->bad, "%s: %ld id %.64s %.200s", rid, r.status, r.request_id,
                 r.body);
    }
    reply_free(&r);
  }
  curl_easy_cleanup(h);
  return NULL;
}

/* 200 requests from 8 threads, each answered 200 with its own id. */
static void test_concurrent(void **state)
{
  struct fixture *f = *state;
  pthread_t th[N_THREADS];
  struct worker w[N_THREADS];
  int ok = 0, answers = 0;
  for (int i = 0; i < N_THREADS; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].port = api_port(f->srv);
    w[i].n = i;
    assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
  }
  for (int i = 0; i < N_THREADS; i++) {
    pthread_join(th[i], NULL);
    ok += w[i].ok;
    answers += w[i].answers;
    if (w[i].bad[0] != '\0')
      fprintf(stderr, "thread %d: %s\n", i, w[i].bad);
  }
  assert_int_equal(answers, N_THREADS * N_PER_THREAD);
  assert_int_equal(ok, N_THREADS * N_PER_THREAD);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_healthz_ok),     cmocka_unit_test(test_request_id),
      cmocka_unit_test(test_not_found),      cmocka_unit_test(test_method_not_allowed),
      cmocka_unit_test(test_body_too_large), cmocka_unit_test(test_schema_mismatch),
      cmocka_unit_test(test_database_down),  cmocka_unit_test(test_concurrent),
  };
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return 1;
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  curl_global_cleanup();
  return rc;
}
