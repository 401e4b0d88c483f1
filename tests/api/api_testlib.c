/*
 * Helpers of the api test suites (api_testlib.h): the in-process server
 * on a fresh database, principals, and libcurl requests with the API's
 * headers.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "migrations/migrations.h"
#include "tests/api/api_testlib.h"

void tl_server_start(const char *tag, struct tl_server *s)
{
  struct db_migrate_result mr;
  char msg[512];
  memset(s, 0, sizeof *s);
  if (sodium_init() < 0)
    fail_msg("sodium_init");
  ts_db_create(tag, &s->db);
  ts_db_conninfo(&s->db, s->conninfo, sizeof s->conninfo);
  s->conn = ts_db_connect(&s->db, 10);
  int rc = db_migrate(s->conn, migrations_all, migrations_count, &mr, msg, sizeof msg);
  if (rc != 0)
    fail_msg("db_migrate: %s: %s", err_text(rc), msg);
  assert_int_equal(db_pool_create(s->conninfo, 8, 10, &s->pool), 0);
  s->ctx.pool = s->pool;
  s->ctx.schema_expected = (unsigned)migrations_count;
  s->ctx.started_mono_ms = util_mono_ms();
  assert_int_equal(api_start("127.0.0.1", 0, 4, &s->ctx, &s->srv), 0);
  s->port = api_port(s->srv);
}

void tl_server_stop(struct tl_server *s)
{
  api_stop(s->srv);
  db_pool_free(s->pool);
  db_close(s->conn);
  if (s->db.name[0] != '\0')
    ts_db_drop(&s->db);
  memset(s, 0, sizeof *s);
}

struct tl_fx *tl_fx_new(void **state, const char *tag, bool two_aps)
{
  struct tl_fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  *state = f;
  tl_fx_start(f, tag, two_aps);
  return f;
}

void tl_fx_start(struct tl_fx *f, const char *tag, bool two_aps)
{
  memset(f, 0, sizeof *f);
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  tl_server_start(tag, &f->s);
  f->admin_id = tl_principal(&f->s, "Issuer Ops", API_ROLE_ISSUER_ADMIN, f->admin);
  f->ap_id = tl_principal(&f->s, "First AP", API_ROLE_AP, f->ap);
  if (two_aps)
    f->ap2_id = tl_principal(&f->s, "Second AP", API_ROLE_AP, f->ap2);
  f->auditor_id = tl_principal(&f->s, "Auditor", API_ROLE_AUDITOR, f->auditor);
}

int tl_fx_free(void **state)
{
  struct tl_fx *f = *state;
  if (f != NULL)
    tl_server_stop(&f->s);
  free(f);
  return 0;
}

struct mk {
  const char *name;
  enum api_role role;
  struct api_principal p;
  struct api_key_info k;
  char text[API_KEY_TEXT_MAX];
};

static enum db_qs mk_txn(struct db_conn *c, void *cls)
{
  struct mk *m = cls;
  return api_principal_create(c, m->name, m->role, API_TIME_NONE, &m->p, &m->k, m->text);
}

int64_t tl_principal(struct tl_server *s, const char *name, enum api_role role, char *key)
{
  struct mk m = {.name = name, .role = role};
  int rc = db_txn(s->conn, "tl_principal", mk_txn, &m);
  if (rc != 0 || m.p.id == 0)
    fail_msg("cannot make principal %s: %s", name, err_text(rc));
  memcpy(key, m.text, API_KEY_TEXT_MAX);
  return m.p.id;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *cls)
{
  struct tl_reply *r = cls;
  size_t n = size * nmemb;
  if (r->len + n > TL_BODY_CAP)
    return 0;
  memcpy(r->body + r->len, data, n);
  r->len += n;
  r->body[r->len] = '\0';
  return n;
}

static void header(CURL *h, const char *name, char *out, size_t size)
{
  struct curl_header *ch = NULL;
  out[0] = '\0';
  if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &ch) == CURLHE_OK)
    snprintf(out, size, "%s", ch->value);
}

/* tl_request() with one more header @extra ("Name: value"; NULL for none). */
static void request(uint16_t port, const char *method, const char *path, const char *auth,
                    const char *idem, const char *extra, const char *body, size_t body_len,
                    struct tl_reply *r)
{
  char url[1024], hdr[1024];
  struct curl_slist *hl = NULL;
  memset(r, 0, sizeof *r);
  r->body = malloc(TL_BODY_CAP + 1);
  assert_non_null(r->body);
  r->body[0] = '\0';
  CURL *h = curl_easy_init();
  assert_non_null(h);
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
  if (auth != NULL) {
    snprintf(hdr, sizeof hdr, "Authorization: %s", auth);
    hl = curl_slist_append(hl, hdr);
  }
  if (idem != NULL) {
    snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", idem);
    hl = curl_slist_append(hl, hdr);
  }
  if (extra != NULL)
    hl = curl_slist_append(hl, extra);
  hl = curl_slist_append(hl, "Expect:");
  if (body != NULL) {
    hl = curl_slist_append(hl, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  }
  if (strcmp(method, "POST") == 0 && body == NULL) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
  }
  if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  else if (strcmp(method, "GET") == 0 && body != NULL)
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "GET");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
  CURLcode cc = curl_easy_perform(h);
  curl_slist_free_all(hl);
  if (cc != CURLE_OK) {
    curl_easy_cleanup(h);
    fail_msg("no HTTP answer to %s %s: %s", method, url, curl_easy_strerror(cc));
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
  header(h, "X-Request-Id", r->request_id, sizeof r->request_id);
  header(h, "Idempotent-Replayed", r->replayed, sizeof r->replayed);
  header(h, "WWW-Authenticate", r->www_auth, sizeof r->www_auth);
  curl_easy_cleanup(h);
}

void tl_request(uint16_t port, const char *method, const char *path, const char *auth,
                const char *idem, const char *body, size_t body_len, struct tl_reply *r)
{
  request(port, method, path, auth, idem, NULL, body, body_len, r);
}

void tl_call_hdr(struct tl_server *s, const char *method, const char *path, const char *key,
                 const char *idem, const char *extra, const char *body, struct tl_reply *r)
{
  char auth[256];
  if (key != NULL)
    snprintf(auth, sizeof auth, "Bearer %s", key);
  request(s->port, method, path, key != NULL ? auth : NULL, idem, extra, body,
          body != NULL ? strlen(body) : 0, r);
}

void tl_call(struct tl_server *s, const char *method, const char *path, const char *key,
             const char *idem, const char *body, struct tl_reply *r)
{
  tl_call_hdr(s, method, path, key, idem, NULL, body, r);
}

void tl_reply_free(struct tl_reply *r)
{
  free(r->body);
  r->body = NULL;
}

yajl_val tl_json(const struct tl_reply *r)
{
  char err[256];
  yajl_val v = yajl_tree_parse(r->body, err, sizeof err);
  if (v == NULL || !YAJL_IS_OBJECT(v))
    fail_msg("reply (%ld) is not a JSON object (%s): %s", r->status, err, r->body);
  return v;
}

yajl_val tl_get(yajl_val root, const char *a, const char *b, const char *c)
{
  const char *path[4] = {a, b, c, NULL};
  yajl_val v = yajl_tree_get(root, path, yajl_t_any);
  if (v == NULL)
    fail_msg("no member %s%s%s%s%s", a, b != NULL ? "." : "", b != NULL ? b : "",
             c != NULL ? "." : "", c != NULL ? c : "");
  return v;
}

const char *tl_str(yajl_val root, const char *a, const char *b, const char *c)
{
  yajl_val v = tl_get(root, a, b, c);
  if (!YAJL_IS_STRING(v))
    fail_msg("member %s%s%s is not a string", a, b != NULL ? "." : "", b != NULL ? b : "");
  return YAJL_GET_STRING(v);
}

long long tl_int(yajl_val root, const char *a, const char *b, const char *c)
{
  yajl_val v = tl_get(root, a, b, c);
  if (!YAJL_IS_INTEGER(v))
    fail_msg("member %s%s%s is not an integer", a, b != NULL ? "." : "", b != NULL ? b : "");
  return YAJL_GET_INTEGER(v);
}

void tl_expect_error(const struct tl_reply *r, long status, int code, const char *hint_part)
{
  if (r->status != status)
    fail_msg("want %ld, got %ld: %s", status, r->status, r->body);
  yajl_val v = tl_json(r);
  assert_int_equal(tl_int(v, "code", NULL, NULL), code);
  assert_string_equal(tl_str(v, "error", NULL, NULL), err_name(code));
  const char *hint = tl_str(v, "hint", NULL, NULL);
  if (hint_part != NULL && strstr(hint, hint_part) == NULL)
    fail_msg("hint \"%s\" does not contain \"%s\"", hint, hint_part);
  assert_int_equal(YAJL_GET_OBJECT(v)->len, 3);
  yajl_tree_free(v);
}

long long tl_sql_int(struct tl_server *s, const char *sql)
{
  return ts_sql_int(s->conn, sql);
}

long long tl_count(struct tl_server *s, const char *table)
{
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
  return tl_sql_int(s, sql);
}

void tl_call_error(struct tl_server *s, const char *method, const char *path, const char *key,
                   const char *idem, const char *body, long status, int code, const char *hint)
{
  struct tl_reply r;
  tl_call(s, method, path, key, idem, body, &r);
  tl_expect_error(&r, status, code, hint);
  tl_reply_free(&r);
}

void tl_audit_has(struct tl_server *s, long long seq, int64_t who, const char *action,
                  const char *target, const char *details)
{
  char sql[1024];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM audit_log WHERE seq = %lld AND principal = %lld AND action = '%s'"
           " AND target = '%s' AND details = '%s'",
           seq, (long long)who, action, target, details);
  if (tl_sql_int(s, sql) != 1)
    fail_msg("no audit record %lld %s %s %s", seq, action, target, details);
}
