/*
 * Keys and roles over real HTTP (api/api_auth.c, the router of
 * api/api_server.c): every route that is not public answers 401 with one
 * and the same body to a missing, malformed, unknown, wrong, revoked or
 * expired key and to a key of a disabled principal; every route answers
 * 403 to every role it does not list (before the Idempotency-Key check);
 * GET /v1/me shows each role's principal and key; the public routes need
 * no key; a POST needs a well-formed Idempotency-Key.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "tests/api/api_testlib.h"

static const char unauthorized[] =
    "{\"code\":3008,\"error\":\"api_unauthorized\",\"hint\":\"missing or invalid API key\"}";

struct fx {
  struct tl_server s;
  char admin[API_KEY_TEXT_MAX], ap[API_KEY_TEXT_MAX], auditor[API_KEY_TEXT_MAX];
  int64_t admin_id, ap_id, auditor_id;
};

static int setup(void **state)
{
  struct fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  *state = f;
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  tl_server_start("apiauth", &f->s);
  f->admin_id = tl_principal(&f->s, "Issuer Ops", API_ROLE_ISSUER_ADMIN, f->admin);
  f->ap_id = tl_principal(&f->s, "Jane Street AP", API_ROLE_AP, f->ap);
  f->auditor_id = tl_principal(&f->s, "Audit & Co", API_ROLE_AUDITOR, f->auditor);
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  if (f != NULL)
    tl_server_stop(&f->s);
  free(f);
  return 0;
}

/* A route's path with each "{id}" replaced by "1". */
static void concrete(const char *pattern, char *out, size_t size)
{
  size_t o = 0;
  for (const char *p = pattern; *p != '\0' && o + 2 < size;) {
    if (*p == '{') {
      out[o++] = '1';
      p = strchr(p, '}') + 1;
    } else {
      out[o++] = *p++;
    }
  }
  out[o] = '\0';
}

static void expect_401(const struct tl_reply *r, const char *what)
{
  if (r->status != 401 || strcmp(r->body, unauthorized) != 0)
    fail_msg("%s: want 401 %s, got %ld %s", what, unauthorized, r->status, r->body);
  assert_string_equal(r->www_auth, "Bearer");
}

static void test_missing_key_every_route(void **state)
{
  struct fx *f = *state;
  size_t n;
  const struct api_route *rt = api_routes(&n);
  unsigned checked = 0;
  for (size_t i = 0; i < n; i++) {
    char path[256];
    struct tl_reply r;
    if (rt[i].roles == API_ROLE_PUBLIC)
      continue;
    concrete(rt[i].path, path, sizeof path);
    tl_call(&f->s, rt[i].method, path, NULL, "k1", NULL, &r);
    expect_401(&r, path);
    tl_reply_free(&r);
    checked++;
  }
  assert_true(checked >= 6);
}

static void test_bad_keys(void **state)
{
  struct fx *f = *state;
  char h[256], other[API_KEY_TEXT_MAX], unknown[API_KEY_TEXT_MAX], id[API_KEY_ID_LEN + 1];
  uint8_t hash[32];
  struct tl_reply r;
  /* Well-formed keys that are not ours: a fresh one, and ours with another secret. */
  api_key_make(id, unknown, hash);
  memcpy(other, f->ap, sizeof other);
  memcpy(other + 21, unknown + 21, 43);
  const char *bad[] = {
      "",  "Basic amFuZTpzZWNyZXQ=", "Bearer", "Bearer ", "Token x", "Bearer x", "Bearer bsk_",
      NULL};
  for (size_t i = 0; bad[i] != NULL; i++) {
    tl_request(f->s.port, "GET", "/v1/me", bad[i], NULL, NULL, 0, &r);
    expect_401(&r, bad[i]);
    tl_reply_free(&r);
  }
  char keyed[7][256];
  snprintf(keyed[0], sizeof keyed[0], "Bearer %s", unknown);
  snprintf(keyed[1], sizeof keyed[1], "Bearer %s", other);
  snprintf(keyed[2], sizeof keyed[2], "Bearer %sx", f->ap);
  snprintf(keyed[3], sizeof keyed[3], "Bearer %.63s", f->ap);
  snprintf(keyed[4], sizeof keyed[4], "Bearer  %s", other);
  snprintf(keyed[5], sizeof keyed[5], "Basic %s", f->ap);
  snprintf(keyed[6], sizeof keyed[6], "Bearer %s %s", f->ap, f->ap);
  for (size_t i = 0; i < 7; i++) {
    tl_request(f->s.port, "GET", "/v1/me", keyed[i], NULL, NULL, 0, &r);
    expect_401(&r, keyed[i]);
    tl_reply_free(&r);
  }
  /* The scheme's case does not matter (RFC 7235); blanks around the key do not either. */
  snprintf(h, sizeof h, "bearer   %s", f->ap);
  tl_request(f->s.port, "GET", "/v1/me", h, NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  tl_reply_free(&r);
}

static void test_revoked_expired_disabled(void **state)
{
  struct fx *f = *state;
  char k1[API_KEY_TEXT_MAX], k2[API_KEY_TEXT_MAX], k3[API_KEY_TEXT_MAX], path[128], sql[256];
  struct tl_reply r;
  tl_principal(&f->s, "revoked ap", API_ROLE_AP, k1);
  tl_principal(&f->s, "expired ap", API_ROLE_AP, k2);
  int64_t p3 = tl_principal(&f->s, "disabled ap", API_ROLE_AP, k3);
  const char *keys[] = {k1, k2, k3};
  for (int i = 0; i < 3; i++) {
    tl_call(&f->s, "GET", "/v1/me", keys[i], NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    tl_reply_free(&r);
  }
  /* Revoked through the API. */
  snprintf(path, sizeof path, "/v1/admin/keys/%.16s/revoke", k1 + 4);
  tl_call(&f->s, "POST", path, f->admin, "revoke-k1", NULL, &r);
  assert_int_equal(r.status, 200);
  tl_reply_free(&r);
  tl_call(&f->s, "GET", "/v1/me", k1, NULL, NULL, &r);
  expect_401(&r, "revoked");
  tl_reply_free(&r);
  /* Expiry in the future: fine; in the past: refused. */
  snprintf(sql, sizeof sql,
           "UPDATE api_keys SET expires_at = now() + interval '1 hour' WHERE key_id = '%.16s'",
           k2 + 4);
  ts_sql(f->s.conn, sql);
  tl_call(&f->s, "GET", "/v1/me", k2, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  tl_reply_free(&r);
  snprintf(sql, sizeof sql,
           "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE key_id = '%.16s'",
           k2 + 4);
  ts_sql(f->s.conn, sql);
  tl_call(&f->s, "GET", "/v1/me", k2, NULL, NULL, &r);
  expect_401(&r, "expired");
  tl_reply_free(&r);
  /* A disabled principal. */
  snprintf(sql, sizeof sql, "UPDATE principals SET disabled = true WHERE id = %lld", (long long)p3);
  ts_sql(f->s.conn, sql);
  tl_call(&f->s, "GET", "/v1/me", k3, NULL, NULL, &r);
  expect_401(&r, "disabled");
  tl_reply_free(&r);
  /* Refused on an admin route too, before any role check. */
  tl_call(&f->s, "GET", "/v1/admin/principals", k1, NULL, NULL, &r);
  expect_401(&r, "revoked, admin route");
  tl_reply_free(&r);
}

static void test_wrong_role_every_route(void **state)
{
  struct fx *f = *state;
  size_t n;
  const struct api_route *rt = api_routes(&n);
  const struct {
    enum api_role role;
    const char *key;
  } who[] = {
      {API_ROLE_ISSUER_ADMIN, f->admin}, {API_ROLE_AP, f->ap}, {API_ROLE_AUDITOR, f->auditor}};
  unsigned forbidden = 0, allowed = 0;
  for (size_t i = 0; i < n; i++) {
    char path[256];
    if (rt[i].roles == API_ROLE_PUBLIC)
      continue;
    concrete(rt[i].path, path, sizeof path);
    for (size_t w = 0; w < 3; w++) {
      struct tl_reply r;
      bool may = (rt[i].roles & who[w].role) != 0;
      /* No Idempotency-Key: the role is checked first. */
      tl_call(&f->s, rt[i].method, path, who[w].key, NULL, NULL, &r);
      if (!may) {
        if (r.status != 403)
          fail_msg("%s %s as %s: want 403, got %ld %s", rt[i].method, path,
                   api_role_name(who[w].role), r.status, r.body);
        tl_expect_error(&r, 403, ERR_API_FORBIDDEN, NULL);
        forbidden++;
      } else {
        if (r.status == 401 || r.status == 403)
          fail_msg("%s %s as %s: %ld %s", rt[i].method, path, api_role_name(who[w].role), r.status,
                   r.body);
        if (strcmp(rt[i].method, "POST") == 0)
          tl_expect_error(&r, 400, ERR_API_IDEMPOTENCY_REQUIRED, "Idempotency-Key");
        allowed++;
      }
      tl_reply_free(&r);
    }
  }
  /* Every pair was tried; with today's routes: admin all 6, ap /v1/me, auditor /v1/me and two
   * reads (later routes add to both counts). */
  assert_true(allowed >= 6 + 1 + 3);
  assert_true(forbidden >= 18 - 10);
}

static void check_me(struct fx *f, const char *key, int64_t id, const char *name, const char *role)
{
  struct tl_reply r;
  tl_call(&f->s, "GET", "/v1/me", key, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  yajl_val v = tl_json(&r);
  assert_int_equal(YAJL_GET_OBJECT(v)->len, 2);
  assert_int_equal(tl_int(v, "principal", "id", NULL), id);
  assert_string_equal(tl_str(v, "principal", "name", NULL), name);
  assert_string_equal(tl_str(v, "principal", "role", NULL), role);
  assert_true(YAJL_IS_FALSE(tl_get(v, "principal", "disabled", NULL)));
  assert_int_equal(strlen(tl_str(v, "principal", "created", NULL)), 24);
  char kid[API_KEY_ID_LEN + 1];
  snprintf(kid, sizeof kid, "%.16s", key + 4);
  assert_string_equal(tl_str(v, "key", "id", NULL), kid);
  assert_int_equal(tl_int(v, "key", "principal", NULL), id);
  assert_true(YAJL_IS_NULL(tl_get(v, "key", "expires_at", NULL)));
  assert_true(YAJL_IS_NULL(tl_get(v, "key", "revoked_at", NULL)));
  assert_int_equal(YAJL_GET_OBJECT(tl_get(v, "key", NULL, NULL))->len, 6);
  /* The secret is nowhere in the reply. */
  assert_null(strstr(r.body, key + 21));
  yajl_tree_free(v);
  tl_reply_free(&r);
}

static void test_me(void **state)
{
  struct fx *f = *state;
  char sql[160];
  check_me(f, f->admin, f->admin_id, "Issuer Ops", "issuer_admin");
  check_me(f, f->ap, f->ap_id, "Jane Street AP", "ap");
  check_me(f, f->auditor, f->auditor_id, "Audit & Co", "auditor");
  /* Use is recorded (at most once a minute). */
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM api_keys WHERE last_used_at IS NOT NULL AND principal = %lld",
           (long long)f->auditor_id);
  assert_int_equal(tl_sql_int(&f->s, sql), 1);
}

static void test_public_routes(void **state)
{
  struct fx *f = *state;
  struct tl_reply r;
  tl_request(f->s.port, "GET", "/v1/openapi.json", NULL, NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.len, api_openapi_json_len);
  assert_memory_equal(r.body, api_openapi_json, r.len);
  tl_reply_free(&r);
  /* A bad key on a public route is not looked at. */
  tl_request(f->s.port, "GET", "/v1/openapi.json", "Bearer nonsense", NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  tl_reply_free(&r);
  tl_request(f->s.port, "GET", "/healthz", "Bearer nonsense", NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  tl_reply_free(&r);
  /* Unknown paths and methods stay 404 / 405, with or without a key. */
  tl_call(&f->s, "GET", "/v1/nope", NULL, NULL, NULL, &r);
  tl_expect_error(&r, 404, ERR_API_NOT_FOUND, NULL);
  tl_reply_free(&r);
  tl_call(&f->s, "DELETE", "/v1/me", f->admin, NULL, NULL, &r);
  tl_expect_error(&r, 405, ERR_API_METHOD, NULL);
  tl_reply_free(&r);
  tl_call(&f->s, "GET", "/v1/admin/principals/1/keys", f->admin, NULL, NULL, &r);
  tl_expect_error(&r, 405, ERR_API_METHOD, NULL);
  tl_reply_free(&r);
  tl_call(&f->s, "POST", "/v1/admin/principals//keys", f->admin, "x", NULL, &r);
  tl_expect_error(&r, 404, ERR_API_NOT_FOUND, NULL);
  tl_reply_free(&r);
}

static void test_idempotency_header(void **state)
{
  struct fx *f = *state;
  struct tl_reply r;
  char k128[129], k129[130];
  memset(k128, 'k', 128);
  k128[128] = '\0';
  memset(k129, 'k', 129);
  k129[129] = '\0';
  const char *body = "{\"name\":\"idem header ap\",\"role\":\"ap\"}";
  const char *bad[] = {NULL, k129, "a b", "caf\xc3\xa9"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tl_call(&f->s, "POST", "/v1/admin/principals", f->admin, bad[i], body, &r);
    tl_expect_error(&r, 400, ERR_API_IDEMPOTENCY_REQUIRED, "Idempotency-Key");
    tl_reply_free(&r);
  }
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM principals WHERE name = 'idem header "
                                     "ap'"),
                   0);
  tl_call(&f->s, "POST", "/v1/admin/principals", f->admin, k128, body, &r);
  assert_int_equal(r.status, 201);
  tl_reply_free(&r);
  tl_call(&f->s, "POST", "/v1/admin/principals", f->admin, "!~", body, &r);
  tl_expect_error(&r, 409, ERR_API_CONFLICT, NULL); /* a new key: the name is taken */
  tl_reply_free(&r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_missing_key_every_route),
      cmocka_unit_test(test_bad_keys),
      cmocka_unit_test(test_revoked_expired_disabled),
      cmocka_unit_test(test_wrong_role_every_route),
      cmocka_unit_test(test_me),
      cmocka_unit_test(test_public_routes),
      cmocka_unit_test(test_idempotency_header),
  };
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return 1;
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  curl_global_cleanup();
  return rc;
}
