/*
 * The admin endpoints over real HTTP, with what stands under them:
 * principals and keys made, listed and revoked (api/api_admin_*.c); the
 * Idempotency-Key record (api/api_idem.c): a replay gets the first reply
 * (the key's secret left out), another request under the key 409, eight
 * racing requests one effect; bad bodies answered 4xx with nothing
 * changed; SQL metacharacters stored verbatim; cursor pagination; and the
 * audit log (api/api_audit.c): every action recorded, the chain recomputed
 * here from the reply alone, the table refusing UPDATE/DELETE/TRUNCATE,
 * and a record tampered with (trigger disabled) named by the check.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "tests/api/api_testlib.h"

static int setup(void **state)
{
  tl_fx_new(state, "apiadmin", false);
  return 0;
}

/* The body with its "api_key":"bsk_..." replaced by "api_key":null. */
static char *without_key(const char *body)
{
  char *out = strdup(body);
  char *k = strstr(out, "\"api_key\":\"bsk_");
  assert_non_null(out);
  assert_non_null(k);
  char *end = strchr(k + 11, '"');
  memcpy(k + 10, "null", 4);
  memmove(k + 14, end + 1, strlen(end + 1) + 1);
  return out;
}

static void test_create_principal(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r, r2;
  char sql[256], key[API_KEY_TEXT_MAX];
  const char *body = "{\"name\":\"Citadel AP\",\"role\":\"ap\"}";
  long long audits = tl_count(&f->s, "audit_log");
  tl_call(&f->s, "POST", "/v1/admin/principals", f->admin, "c1", body, &r);
  assert_int_equal(r.status, 201);
  assert_string_equal(r.replayed, "");
  yajl_val v = tl_json(&r);
  int64_t id = tl_int(v, "principal", "id", NULL);
  assert_string_equal(tl_str(v, "principal", "name", NULL), "Citadel AP");
  assert_string_equal(tl_str(v, "principal", "role", NULL), "ap");
  assert_true(YAJL_IS_FALSE(tl_get(v, "principal", "disabled", NULL)));
  const char *kid = tl_str(v, "key", "id", NULL);
  assert_int_equal(tl_int(v, "key", "principal", NULL), id);
  snprintf(key, sizeof key, "%s", tl_str(v, "api_key", NULL, NULL));
  assert_int_equal(strlen(key), 64);
  assert_memory_equal(key + 4, kid, 16);
  assert_int_equal(YAJL_GET_OBJECT(v)->len, 3);
  /* The key works, for that principal. */
  tl_call(&f->s, "GET", "/v1/me", key, NULL, NULL, &r2);
  assert_int_equal(r2.status, 200);
  yajl_val me = tl_json(&r2);
  assert_int_equal(tl_int(me, "principal", "id", NULL), id);
  yajl_tree_free(me);
  tl_reply_free(&r2);
  /* The secret is stored nowhere; the record keeps "api_key": null. */
  snprintf(sql, sizeof sql,
           "SELECT (SELECT count(*) FROM api_idempotency WHERE response LIKE '%%%s%%')"
           " + (SELECT count(*) FROM audit_log WHERE details LIKE '%%%s%%')",
           key + 21, key + 21);
  assert_int_equal(tl_sql_int(&f->s, sql), 0);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM api_idempotency WHERE key = 'c1' AND "
                                     "status = 201 AND response LIKE '%\"api_key\":null}'"),
                   1);
  /* One audit record, exactly. */
  assert_int_equal(tl_count(&f->s, "audit_log"), audits + 1);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM audit_log WHERE seq = %lld AND principal = %lld AND action = "
           "'principal.create' AND target = 'principal:%lld' AND details = "
           "'{\"key_id\":\"%s\",\"name\":\"Citadel AP\",\"role\":\"ap\"}'",
           audits + 1, (long long)f->admin_id, (long long)id, kid);
  assert_int_equal(tl_sql_int(&f->s, sql), 1);

  /* Replay: the first reply without the secret, flagged; nothing more made. */
  tl_call(&f->s, "POST", "/v1/admin/principals", f->admin, "c1", body, &r2);
  assert_int_equal(r2.status, 201);
  assert_string_equal(r2.replayed, "true");
  char *want = without_key(r.body);
  assert_string_equal(r2.body, want);
  free(want);
  tl_reply_free(&r2);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM principals WHERE name = 'Citadel AP'"),
                   1);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits + 1);

  /* The key with another body, or another path: 409, nothing made. */
  tl_call(&f->s, "POST", "/v1/admin/principals", f->admin, "c1",
          "{\"name\":\"Citadel AP 2\",\"role\":\"ap\"}", &r2);
  tl_expect_error(&r2, 409, ERR_API_IDEMPOTENCY_CONFLICT, "another request");
  tl_reply_free(&r2);
  tl_call(&f->s, "POST", "/v1/admin/principals", f->admin, "c1",
          "{\"role\":\"ap\",\"name\":\"Citadel AP\"}", &r2); /* same meaning, other bytes */
  tl_expect_error(&r2, 409, ERR_API_IDEMPOTENCY_CONFLICT, NULL);
  tl_reply_free(&r2);
  snprintf(sql, sizeof sql, "/v1/admin/principals/%lld/keys", (long long)id);
  tl_call(&f->s, "POST", sql, f->admin, "c1", "{}", &r2);
  tl_expect_error(&r2, 409, ERR_API_IDEMPOTENCY_CONFLICT, NULL);
  tl_reply_free(&r2);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM principals WHERE name LIKE 'Citadel%'"),
                   1);

  /* Keys are per principal: another admin's "c1" is its own. */
  char admin2[API_KEY_TEXT_MAX];
  tl_principal(&f->s, "Second Admin", API_ROLE_ISSUER_ADMIN, admin2);
  tl_call(&f->s, "POST", "/v1/admin/principals", admin2, "c1",
          "{\"name\":\"Citadel AP 2\",\"role\":\"auditor\",\"key_expires_at\":"
          "\"2099-01-01T01:00:00+01:00\"}",
          &r2);
  assert_int_equal(r2.status, 201);
  assert_string_equal(r2.replayed, "");
  yajl_val v2 = tl_json(&r2);
  assert_string_equal(tl_str(v2, "principal", "role", NULL), "auditor");
  assert_string_equal(tl_str(v2, "key", "expires_at", NULL), "2099-01-01T00:00:00.000Z");
  yajl_tree_free(v2);
  tl_reply_free(&r2);
  tl_call(&f->s, "POST", "/v1/admin/principals", f->admin, "c-past",
          "{\"name\":\"Late\",\"role\":\"ap\",\"key_expires_at\":\"2020-01-01T00:00:00Z\"}", &r2);
  tl_expect_error(&r2, 400, ERR_API_FIELD, "key_expires_at");
  tl_reply_free(&r2);
  yajl_tree_free(v);
  tl_reply_free(&r);
  sodium_memzero(key, sizeof key);
}

static void test_bad_bodies_change_nothing(void **state)
{
  struct tl_fx *f = *state;
  char name101[160], deep[200];
  struct tl_reply r;
  memset(name101, 'n', 101);
  name101[101] = '\0';
  char long_body[256];
  snprintf(long_body, sizeof long_body, "{\"name\":\"%s\",\"role\":\"ap\"}", name101);
  size_t p = (size_t)snprintf(deep, sizeof deep, "{\"name\":");
  for (int i = 0; i < 40; i++)
    deep[p++] = '[';
  deep[p] = '\0';
  struct {
    const char *body;
    long status;
    int code;
    const char *part;
  } cases[] = {
      {"{", 400, ERR_API_BAD_JSON, "malformed JSON"},
      {"[]", 400, ERR_API_BAD_JSON, "JSON object"},
      {"{\"name\":\"x\",\"role\":\"ap\",\"extra\":1}", 400, ERR_API_UNKNOWN_FIELD, "\"extra\""},
      {"{\"name\":5,\"role\":\"ap\"}", 400, ERR_API_FIELD, "\"name\""},
      {"{\"name\":\"x\",\"role\":\"king\"}", 400, ERR_API_FIELD, "\"role\""},
      {"{\"name\":\"\",\"role\":\"ap\"}", 400, ERR_API_FIELD, "\"name\""},
      {"{\"name\":\"a\\u0007b\",\"role\":\"ap\"}", 400, ERR_API_FIELD, "\"name\""},
      {long_body, 400, ERR_API_FIELD, "too long"},
      {"{\"name\":\"x\",\"role\":\"ap\",\"name\":\"y\"}", 400, ERR_API_BAD_JSON, "twice"},
      {deep, 400, ERR_API_BAD_JSON, "nested deeper"},
      {"{\"role\":\"ap\"}", 400, ERR_API_FIELD, "\"name\" is required"},
      {"{\"name\":\"x\",\"role\":\"ap\",\"key_expires_at\":1893456000}", 400, ERR_API_FIELD,
       "key_expires_at"},
  };
  const char *tables[] = {"principals", "api_keys", "audit_log", "api_idempotency"};
  long long before[4];
  for (int t = 0; t < 4; t++)
    before[t] = tl_count(&f->s, tables[t]);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tl_call(&f->s, "POST", "/v1/admin/principals", f->admin, "bad-1", cases[i].body, &r);
    tl_expect_error(&r, cases[i].status, cases[i].code, cases[i].part);
    tl_reply_free(&r);
  }
  /* Over the size limit: refused before it is read. */
  char *big = malloc(API_BODY_MAX + 2);
  assert_non_null(big);
  memset(big, ' ', API_BODY_MAX + 1);
  big[0] = '{';
  big[API_BODY_MAX] = '}';
  big[API_BODY_MAX + 1] = '\0';
  tl_call(&f->s, "POST", "/v1/admin/principals", f->admin, "bad-1", big, &r);
  tl_expect_error(&r, 413, ERR_API_BODY_TOO_LARGE, NULL);
  tl_reply_free(&r);
  free(big);
  for (int t = 0; t < 4; t++)
    assert_int_equal(tl_count(&f->s, tables[t]), before[t]);
  /* A refused request leaves no record: the key serves the corrected request. */
  tl_call(&f->s, "POST", "/v1/admin/principals", f->admin, "bad-1",
          "{\"name\":\"Corrected\",\"role\":\"ap\"}", &r);
  assert_int_equal(r.status, 201);
  tl_reply_free(&r);
  /* So does a request the work refused (409 api_conflict: the name is taken). */
  tl_call(&f->s, "POST", "/v1/admin/principals", f->admin, "bad-2",
          "{\"name\":\"Corrected\",\"role\":\"ap\"}", &r);
  tl_expect_error(&r, 409, ERR_API_CONFLICT, NULL);
  tl_reply_free(&r);
  assert_int_equal(tl_count(&f->s, "api_idempotency"), before[3] + 1);
  tl_call(&f->s, "POST", "/v1/admin/principals", f->admin, "bad-2",
          "{\"name\":\"Corrected 2\",\"role\":\"ap\"}", &r);
  assert_int_equal(r.status, 201);
  tl_reply_free(&r);
}

static void test_sql_metacharacters(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  char sql[128];
  const char *names[] = {"Robert'); DROP TABLE principals;--", "100% _under_ \\back\\ \"q\" $1 ;",
                         "Zürich ☃ 日本"};
  const char *json[] = {"{\"name\":\"Robert'); DROP TABLE principals;--\",\"role\":\"ap\"}",
                        "{\"name\":\"100% _under_ \\\\back\\\\ \\\"q\\\" $1 ;\",\"role\":\"ap\"}",
                        "{\"name\":\"Zürich \\u2603 日本\",\"role\":\"ap\"}"};
  for (int i = 0; i < 3; i++) {
    char idem[16];
    snprintf(idem, sizeof idem, "meta-%d", i);
    tl_call(&f->s, "POST", "/v1/admin/principals", f->admin, idem, json[i], &r);
    assert_int_equal(r.status, 201);
    yajl_val v = tl_json(&r);
    assert_string_equal(tl_str(v, "principal", "name", NULL), names[i]);
    snprintf(sql, sizeof sql, "SELECT name FROM principals WHERE id = %lld",
             tl_int(v, "principal", "id", NULL));
    char *stored = ts_sql_value(f->s.conn, sql);
    assert_string_equal(stored, names[i]);
    free(stored);
    yajl_tree_free(v);
    tl_reply_free(&r);
  }
  assert_true(tl_count(&f->s, "principals") >= 6);
}

static void test_keys_and_revoke(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  char path[128], key[API_KEY_TEXT_MAX], kid[API_KEY_ID_LEN + 1];
  snprintf(path, sizeof path, "/v1/admin/principals/%lld/keys", (long long)f->ap_id);
  tl_call(&f->s, "POST", path, f->admin, "k-1", NULL, &r); /* no body at all */
  assert_int_equal(r.status, 201);
  yajl_val v = tl_json(&r);
  assert_int_equal(YAJL_GET_OBJECT(v)->len, 2); /* key, api_key */
  assert_int_equal(tl_int(v, "key", "principal", NULL), f->ap_id);
  snprintf(key, sizeof key, "%s", tl_str(v, "api_key", NULL, NULL));
  snprintf(kid, sizeof kid, "%s", tl_str(v, "key", "id", NULL));
  yajl_tree_free(v);
  tl_reply_free(&r);
  const char *both[] = {key, f->ap};
  for (int i = 0; i < 2; i++) {
    tl_call(&f->s, "GET", "/v1/me", both[i], NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    tl_reply_free(&r);
  }
  tl_call(&f->s, "POST", path, f->admin, "k-2", "{\"expires_at\":\"2099-06-30T12:00:00.5Z\"}", &r);
  assert_int_equal(r.status, 201);
  v = tl_json(&r);
  assert_string_equal(tl_str(v, "key", "expires_at", NULL), "2099-06-30T12:00:00.500Z");
  yajl_tree_free(v);
  tl_reply_free(&r);
  tl_call(&f->s, "POST", path, f->admin, "k-3", "{\"expires_at\":\"2001-01-01T00:00:00Z\"}", &r);
  tl_expect_error(&r, 400, ERR_API_FIELD, "expires_at");
  tl_reply_free(&r);
  const char *no[] = {
      "/v1/admin/principals/999999/keys", "/v1/admin/principals/abc/keys",
      "/v1/admin/principals/0/keys",      "/v1/admin/principals/01/keys",
      "/v1/admin/principals/-1/keys",     "/v1/admin/principals/99999999999999999999/keys"};
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
    tl_call(&f->s, "POST", no[i], f->admin, "k-4", "{}", &r);
    tl_expect_error(&r, 404, ERR_API_NOT_FOUND, NULL);
    tl_reply_free(&r);
  }

  /* Revoke: 200, the key refused from now on, audited once. */
  long long audits = tl_count(&f->s, "audit_log");
  snprintf(path, sizeof path, "/v1/admin/keys/%s/revoke", kid);
  tl_call(&f->s, "POST", path, f->admin, "rv-1", NULL, &r);
  assert_int_equal(r.status, 200);
  v = tl_json(&r);
  assert_string_equal(tl_str(v, "key", "id", NULL), kid);
  char revoked_at[40];
  snprintf(revoked_at, sizeof revoked_at, "%s", tl_str(v, "key", "revoked_at", NULL));
  yajl_tree_free(v);
  tl_reply_free(&r);
  tl_call(&f->s, "GET", "/v1/me", key, NULL, NULL, &r);
  assert_int_equal(r.status, 401);
  tl_reply_free(&r);
  tl_call(&f->s, "GET", "/v1/me", f->ap, NULL, NULL, &r);
  assert_int_equal(r.status, 200); /* the principal's other key */
  tl_reply_free(&r);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits + 1);
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM audit_log WHERE action = 'key.revoke' AND target = 'key:%s'"
           " AND details = '{\"key_id\":\"%s\",\"principal\":%lld}'",
           kid, kid, (long long)f->ap_id);
  assert_int_equal(tl_sql_int(&f->s, sql), 1);
  /* Again (another Idempotency-Key): the same answer, nothing new. */
  tl_call(&f->s, "POST", path, f->admin, "rv-2", "{}", &r);
  assert_int_equal(r.status, 200);
  v = tl_json(&r);
  assert_string_equal(tl_str(v, "key", "revoked_at", NULL), revoked_at);
  yajl_tree_free(v);
  tl_reply_free(&r);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits + 1);
  tl_call(&f->s, "POST", "/v1/admin/keys/0123456789abcdef/revoke", f->admin, "rv-3", NULL, &r);
  tl_expect_error(&r, 404, ERR_API_NOT_FOUND, NULL);
  tl_reply_free(&r);
  tl_call(&f->s, "POST", "/v1/admin/keys/0123456789ABCDEF/revoke", f->admin, "rv-3", NULL, &r);
  tl_expect_error(&r, 404, ERR_API_NOT_FOUND, NULL);
  tl_reply_free(&r);
  tl_call(&f->s, "POST", path, f->admin, "rv-4", "{\"now\":true}", &r);
  tl_expect_error(&r, 400, ERR_API_UNKNOWN_FIELD, "\"now\"");
  tl_reply_free(&r);
  sodium_memzero(key, sizeof key);
}

struct racer {
  struct tl_fx *f;
  const char *idem;
  char body[128];
  long status;
  char replayed[16];
  long long id;
  int code;
};

static void *race(void *cls)
{
  struct racer *x = cls;
  struct tl_reply r;
  tl_call(&x->f->s, "POST", "/v1/admin/principals", x->f->admin, x->idem, x->body, &r);
  x->status = r.status;
  snprintf(x->replayed, sizeof x->replayed, "%s", r.replayed);
  yajl_val v = yajl_tree_parse(r.body, NULL, 0);
  const char *idp[] = {"principal", "id", NULL}, *codep[] = {"code", NULL};
  yajl_val id = yajl_tree_get(v, idp, yajl_t_number), code = yajl_tree_get(v, codep, yajl_t_number);
  x->id = id != NULL ? YAJL_GET_INTEGER(id) : 0;
  x->code = code != NULL ? (int)YAJL_GET_INTEGER(code) : 0;
  yajl_tree_free(v);
  tl_reply_free(&r);
  return NULL;
}

static void run_race(struct racer *x, int n)
{
  pthread_t th[8];
  for (int i = 0; i < n; i++)
    assert_int_equal(pthread_create(&th[i], NULL, race, &x[i]), 0);
  for (int i = 0; i < n; i++)
    pthread_join(th[i], NULL);
}

static void test_concurrent_same_key(void **state)
{
  struct tl_fx *f = *state;
  struct racer x[8];
  long long audits = tl_count(&f->s, "audit_log");
  for (int i = 0; i < 8; i++) {
    memset(&x[i], 0, sizeof x[i]);
    x[i].f = f;
    x[i].idem = "race-1";
    snprintf(x[i].body, sizeof x[i].body, "{\"name\":\"Racer\",\"role\":\"ap\"}");
  }
  run_race(x, 8);
  int fresh = 0;
  for (int i = 0; i < 8; i++) {
    if (x[i].status != 201)
      fail_msg("racer %d: %ld (code %d)", i, x[i].status, x[i].code);
    assert_int_equal(x[i].id, x[0].id);
    fresh += x[i].replayed[0] == '\0';
  }
  assert_int_equal(fresh, 1);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM principals WHERE name = 'Racer'"), 1);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM api_idempotency WHERE key = 'race-1'"),
                   1);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits + 1);

  /* Eight keys, one name: one made, seven told it exists. */
  const char *keys[] = {"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"};
  for (int i = 0; i < 8; i++) {
    memset(&x[i], 0, sizeof x[i]);
    x[i].f = f;
    x[i].idem = keys[i];
    snprintf(x[i].body, sizeof x[i].body, "{\"name\":\"Contested\",\"role\":\"ap\"}");
  }
  run_race(x, 8);
  int made = 0, conflict = 0;
  for (int i = 0; i < 8; i++) {
    made += x[i].status == 201;
    conflict += x[i].status == 409 && x[i].code == ERR_API_CONFLICT;
  }
  assert_int_equal(made, 1);
  assert_int_equal(conflict, 7);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits + 2);
}

/* Every item of every page of @path (limit @limit); their ids into @ids, returns how many. */
static int walk(struct tl_fx *f, const char *path, const char *idname, int limit, long long *ids,
                int max)
{
  char url[256], cursor[64] = "";
  int n = 0;
  for (int page = 0; page < 1000; page++) {
    struct tl_reply r;
    snprintf(url, sizeof url, "%s?limit=%d%s%s", path, limit, cursor[0] ? "&cursor=" : "", cursor);
    tl_call(&f->s, "GET", url, f->auditor, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    yajl_val v = tl_json(&r);
    yajl_val items = tl_get(v, "items", NULL, NULL), next = tl_get(v, "next_cursor", NULL, NULL);
    assert_true(YAJL_IS_ARRAY(items));
    assert_true((int)items->u.array.len <= limit);
    for (size_t i = 0; i < items->u.array.len; i++) {
      assert_true(n < max);
      ids[n] = tl_int(items->u.array.values[i], idname, NULL, NULL);
      if (n > 0)
        assert_true(ids[n] > ids[n - 1]);
      n++;
    }
    bool last = YAJL_IS_NULL(next);
    if (!last) {
      assert_int_equal((int)items->u.array.len, limit);
      snprintf(cursor, sizeof cursor, "%s", YAJL_GET_STRING(next));
    }
    yajl_tree_free(v);
    tl_reply_free(&r);
    if (last)
      return n;
  }
  fail_msg("%s: no last page", path);
  return -1;
}

static void test_pagination(void **state)
{
  struct tl_fx *f = *state;
  long long ids[600], all[600];
  struct tl_reply r;
  long long total = tl_count(&f->s, "principals");
  assert_true(total >= 10);
  int n = walk(f, "/v1/admin/principals", "id", 500, all, 600);
  assert_int_equal(n, total);
  for (int limit = 1; limit <= 4; limit++) {
    assert_int_equal(walk(f, "/v1/admin/principals", "id", limit, ids, 600), total);
    assert_memory_equal(ids, all, sizeof ids[0] * (size_t)total);
  }
  /* The default page holds them all here (fewer than 100). */
  tl_call(&f->s, "GET", "/v1/admin/principals", f->admin, NULL, NULL, &r);
  yajl_val v = tl_json(&r);
  assert_int_equal(tl_get(v, "items", NULL, NULL)->u.array.len, total);
  assert_true(YAJL_IS_NULL(tl_get(v, "next_cursor", NULL, NULL)));
  yajl_tree_free(v);
  tl_reply_free(&r);
  /* After the last id: an empty page. */
  char url[128], c[API_CURSOR_MAX];
  api_cursor_encode(all[total - 1], c);
  snprintf(url, sizeof url, "/v1/admin/principals?cursor=%s", c);
  tl_call(&f->s, "GET", url, f->admin, NULL, NULL, &r);
  assert_string_equal(r.body, "{\"items\":[],\"next_cursor\":null}");
  tl_reply_free(&r);
  const char *bad_limit[] = {"0", "501", "abc", "-1", "1.5", "", "07", "1%200"};
  for (size_t i = 0; i < sizeof bad_limit / sizeof bad_limit[0]; i++) {
    snprintf(url, sizeof url, "/v1/admin/principals?limit=%s", bad_limit[i]);
    tl_call(&f->s, "GET", url, f->admin, NULL, NULL, &r);
    tl_expect_error(&r, 400, ERR_API_FIELD, "limit");
    tl_reply_free(&r);
  }
  const char *bad_cursor[] = {"!!!", "Zm9v", "MR", "", "MQ==", "LTE", "MA"};
  for (size_t i = 0; i < sizeof bad_cursor / sizeof bad_cursor[0]; i++) {
    snprintf(url, sizeof url, "/v1/admin/audit?cursor=%s", bad_cursor[i]);
    tl_call(&f->s, "GET", url, f->admin, NULL, NULL, &r);
    tl_expect_error(&r, 400, ERR_API_BAD_CURSOR, "cursor");
    tl_reply_free(&r);
  }
  n = walk(f, "/v1/admin/audit", "seq", 2, ids, 600);
  assert_int_equal(n, tl_count(&f->s, "audit_log"));
  for (int i = 0; i < n; i++)
    assert_int_equal(ids[i], i + 1);
}

/* The hash of an audit item as the client can recompute it (docs/api.md). */
static void item_hash(yajl_val it, const uint8_t prev[32], uint8_t out[32])
{
  crypto_hash_sha256_state st;
  uint8_t b[8];
  int64_t at;
  const char *ats = tl_str(it, "at", NULL, NULL);
  assert_int_equal(api_time_parse(ats, strlen(ats), &at), 0);
  yajl_val who = tl_get(it, "principal", NULL, NULL);
  uint64_t nums[3] = {(uint64_t)tl_int(it, "seq", NULL, NULL), (uint64_t)at,
                      YAJL_IS_NULL(who) ? 0 : (uint64_t)YAJL_GET_INTEGER(who)};
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, prev, 32);
  for (int i = 0; i < 3; i++) {
    for (int k = 0; k < 8; k++)
      b[k] = (uint8_t)(nums[i] >> (56 - 8 * k));
    crypto_hash_sha256_update(&st, b, 8);
  }
  const char *texts[] = {tl_str(it, "action", NULL, NULL), tl_str(it, "target", NULL, NULL),
                         tl_str(it, "details", NULL, NULL)};
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(texts[i]);
    uint8_t l[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    crypto_hash_sha256_update(&st, l, 4);
    crypto_hash_sha256_update(&st, (const uint8_t *)texts[i], n);
  }
  crypto_hash_sha256_final(&st, out);
}

/* GET /v1/admin/audit: the verdict, and the chain recomputed from the reply. */
static void check_audit(struct tl_server *s, const char *key, long long records, long long broken)
{
  struct tl_reply r;
  uint8_t prev[32] = {0}, h[32];
  char hex[65];
  tl_call(s, "GET", "/v1/admin/audit?limit=500", key, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  yajl_val v = tl_json(&r);
  assert_int_equal(tl_int(v, "records", NULL, NULL), records);
  if (broken == 0) {
    assert_true(YAJL_IS_TRUE(tl_get(v, "verified", NULL, NULL)));
    assert_true(YAJL_IS_NULL(tl_get(v, "broken_seq", NULL, NULL)));
  } else {
    assert_true(YAJL_IS_FALSE(tl_get(v, "verified", NULL, NULL)));
    assert_int_equal(tl_int(v, "broken_seq", NULL, NULL), broken);
  }
  yajl_val items = tl_get(v, "items", NULL, NULL);
  for (size_t i = 0; broken == 0 && i < items->u.array.len; i++) {
    yajl_val it = items->u.array.values[i];
    sodium_bin2hex(hex, sizeof hex, prev, 32);
    assert_string_equal(tl_str(it, "prev_hash", NULL, NULL), hex);
    item_hash(it, prev, h);
    sodium_bin2hex(hex, sizeof hex, h, 32);
    assert_string_equal(tl_str(it, "hash", NULL, NULL), hex);
    memcpy(prev, h, 32);
  }
  yajl_tree_free(v);
  tl_reply_free(&r);
}

/* @sql must fail with @part in its message. */
static void refused_sql(struct tl_server *s, const char *sql, const char *part)
{
  PGresult *r = PQexec(s->conn->pg, sql);
  if (PQresultStatus(r) != PGRES_FATAL_ERROR || strstr(PQresultErrorMessage(r), part) == NULL)
    fail_msg("%s: want an error with \"%s\", got %s %s", sql, part, PQresStatus(PQresultStatus(r)),
             PQresultErrorMessage(r));
  PQclear(r);
}

static void test_audit_chain(void **state)
{
  struct tl_fx *f = *state;
  struct tl_server t;
  struct api_principal p;
  char key[API_KEY_TEXT_MAX], ap[API_KEY_TEXT_MAX];
  int64_t broken = -1, n = 0;
  check_audit(&f->s, f->auditor, tl_count(&f->s, "audit_log"), 0);

  /* A database of its own, to tamper with. */
  tl_server_start("apitamper", &t);
  assert_int_equal(api_bootstrap_admin(t.conn, "Boot", false, &p, key), 0);
  assert_int_equal(api_bootstrap_admin(t.conn, "Boot 2", false, &p, ap), -ERR_API_CONFLICT);
  for (int i = 0; i < 3; i++) {
    char body[64], idem[8];
    struct tl_reply r;
    snprintf(body, sizeof body, "{\"name\":\"AP %d\",\"role\":\"ap\"}", i);
    snprintf(idem, sizeof idem, "t%d", i);
    tl_call(&t, "POST", "/v1/admin/principals", key, idem, body, &r);
    assert_int_equal(r.status, 201);
    tl_reply_free(&r);
  }
  assert_int_equal(api_audit_verify(t.conn, &broken, &n), 0);
  assert_int_equal(broken, 0);
  assert_int_equal(n, 4);
  check_audit(&t, key, 4, 0);
  assert_int_equal(tl_sql_int(&t, "SELECT count(*) FROM audit_log WHERE seq = 1 AND principal IS "
                                  "NULL AND action = 'principal.bootstrap'"),
                   1);
  /* The table refuses changes. */
  refused_sql(&t, "UPDATE audit_log SET action = 'x' WHERE seq = 2", "append-only");
  refused_sql(&t, "DELETE FROM audit_log WHERE seq = 4", "append-only");
  refused_sql(&t, "TRUNCATE audit_log", "append-only");
  /* With the trigger off, a change to a record's details: that record is named. */
  char *orig = ts_sql_value(t.conn, "SELECT details FROM audit_log WHERE seq = 2");
  ts_sql(t.conn, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
  ts_sql(t.conn, "UPDATE audit_log SET details = replace(details, 'AP 0', 'AP X') WHERE seq = 2");
  assert_int_equal(api_audit_verify(t.conn, &broken, &n), 0);
  assert_int_equal(broken, 2);
  check_audit(&t, key, 2, 2);
  /* Put back byte for byte: whole again. */
  PGresult *res;
  const char *params[] = {orig};
  res = PQexecParams(t.conn->pg, "UPDATE audit_log SET details = $1 WHERE seq = 2", 1, NULL, params,
                     NULL, NULL, 0);
  assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
  PQclear(res);
  free(orig);
  assert_int_equal(api_audit_verify(t.conn, &broken, &n), 0);
  assert_int_equal(broken, 0);
  /* A hash rewritten: its own record fails. */
  ts_sql(t.conn, "UPDATE audit_log SET hash = sha256(hash) WHERE seq = 3");
  assert_int_equal(api_audit_verify(t.conn, &broken, &n), 0);
  assert_int_equal(broken, 3);
  /* A record removed: the next one is named. */
  ts_sql(t.conn, "UPDATE audit_log SET hash = (SELECT prev_hash FROM audit_log WHERE seq = 4)"
                 " WHERE seq = 3");
  assert_int_equal(api_audit_verify(t.conn, &broken, &n), 0);
  assert_int_equal(broken, 0);
  ts_sql(t.conn, "DELETE FROM audit_log WHERE seq = 2");
  ts_sql(t.conn, "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only");
  assert_int_equal(api_audit_verify(t.conn, &broken, &n), 0);
  assert_int_equal(broken, 3);
  check_audit(&t, key, 2, 3);
  sodium_memzero(key, sizeof key);
  tl_server_stop(&t);
}

static void test_bootstrap(void **state)
{
  struct tl_fx *f = *state;
  struct api_principal p;
  char key[API_KEY_TEXT_MAX];
  struct tl_reply r;
  assert_int_equal(api_bootstrap_admin(f->s.conn, "Boot", false, &p, key), -ERR_API_CONFLICT);
  assert_int_equal(api_bootstrap_admin(f->s.conn, "", true, &p, key), -ERR_API_FIELD);
  assert_int_equal(api_bootstrap_admin(f->s.conn, "a\nb", true, &p, key), -ERR_API_FIELD);
  assert_int_equal(api_bootstrap_admin(f->s.conn, "Issuer Ops", true, &p, key), -ERR_API_CONFLICT);
  long long audits = tl_count(&f->s, "audit_log");
  assert_int_equal(api_bootstrap_admin(f->s.conn, "Boot", true, &p, key), 0);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits + 1);
  assert_int_equal(p.role, API_ROLE_ISSUER_ADMIN);
  tl_call(&f->s, "GET", "/v1/me", key, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  yajl_val v = tl_json(&r);
  assert_int_equal(tl_int(v, "principal", "id", NULL), p.id);
  assert_string_equal(tl_str(v, "principal", "role", NULL), "issuer_admin");
  yajl_tree_free(v);
  tl_reply_free(&r);
  sodium_memzero(key, sizeof key);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_principal),    cmocka_unit_test(test_bad_bodies_change_nothing),
      cmocka_unit_test(test_sql_metacharacters),  cmocka_unit_test(test_keys_and_revoke),
      cmocka_unit_test(test_concurrent_same_key), cmocka_unit_test(test_pagination),
      cmocka_unit_test(test_audit_chain),         cmocka_unit_test(test_bootstrap),
  };
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || sodium_init() < 0)
    return 1;
  int rc = cmocka_run_group_tests(tests, setup, tl_fx_free);
  curl_global_cleanup();
  return rc;
}
