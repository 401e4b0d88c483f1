/*
 * Helpers of the api test suites: a migrated test database with a server
 * listening on 127.0.0.1 (in process), principals made directly in the
 * database, and HTTP requests over libcurl with the headers the API
 * reads (Authorization, Idempotency-Key) and writes (X-Request-Id,
 * Idempotent-Replayed, WWW-Authenticate).
 */
#ifndef BACKSTOCK_TESTS_API_TESTLIB_H
#define BACKSTOCK_TESTS_API_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "api/api.h"
#include "tests/support/testsupport.h"

#define TL_BODY_CAP (256 * 1024)

struct tl_reply {
  long status;
  char *body; /* NUL-terminated */
  size_t len;
  char request_id[128];
  char replayed[16]; /* Idempotent-Replayed, "" when absent */
  char www_auth[64]; /* WWW-Authenticate, "" when absent */
};

struct tl_server {
  struct ts_db db;
  char conninfo[2048];
  struct db_pool *pool;
  struct db_conn *conn; /* for the tests' own SQL */
  struct api_ctx ctx;
  struct api_server *srv;
  uint16_t port;
};

/* A fresh migrated database and a server on it (4 threads, pool of 8). */
void tl_server_start(const char *tag, struct tl_server *s);
void tl_server_stop(struct tl_server *s);

/*
 * A principal of @role named @name with one key; its text into @key
 * (API_KEY_TEXT_MAX).  Returns the principal's id; fails the test on error.
 */
int64_t tl_principal(struct tl_server *s, const char *name, enum api_role role, char *key);

/*
 * The fixture most suites share: the server and, made in this order (ids
 * 1, 2, ...), "Issuer Ops" (issuer admin), "First AP", "Second AP" (only
 * when asked for) and "Auditor", each with a key.
 */
struct tl_fx {
  struct tl_server s;
  char admin[API_KEY_TEXT_MAX], ap[API_KEY_TEXT_MAX], ap2[API_KEY_TEXT_MAX],
      auditor[API_KEY_TEXT_MAX];
  int64_t admin_id, ap_id, ap2_id, auditor_id; /* ap2_id 0 without "Second AP" */
};

/*
 * tl_fx_start() - logging at error level, @f's server on a fresh
 * database named after @tag, and its principals ("Second AP" when
 * @two_aps).  Fails the test on error; tl_server_stop(&f->s) ends it.
 */
void tl_fx_start(struct tl_fx *f, const char *tag, bool two_aps);

/*
 * tl_fx_new() - the work of a cmocka setup: a new struct tl_fx in *@state
 * (freed by tl_fx_free()), started by tl_fx_start().  Returns *@state.
 */
struct tl_fx *tl_fx_new(void **state, const char *tag, bool two_aps);

/* tl_fx_free() - a cmocka teardown for tl_fx_new(): stops the server, frees the fixture. */
int tl_fx_free(void **state);

/*
 * One request.  @auth: the whole Authorization header value ("Bearer ...")
 * or NULL for none.  @idem: the Idempotency-Key, or NULL.  @body: sent
 * when not NULL (then as POST body even for other methods: curl sets it).
 * Fails the test when no HTTP answer came.
 */
void tl_request(uint16_t port, const char *method, const char *path, const char *auth,
                const char *idem, const char *body, size_t body_len, struct tl_reply *r);

/* tl_request() with "Bearer <key>" (key may be NULL: no header). */
void tl_call(struct tl_server *s, const char *method, const char *path, const char *key,
             const char *idem, const char *body, struct tl_reply *r);

/* tl_call() with one more header @extra ("Name: value"; NULL for none). */
void tl_call_hdr(struct tl_server *s, const char *method, const char *path, const char *key,
                 const char *idem, const char *extra, const char *body, struct tl_reply *r);

void tl_reply_free(struct tl_reply *r);

/* The reply's body as a JSON object (fails the test if it is not one); yajl_tree_free() it. */
yajl_val tl_json(const struct tl_reply *r);

/* A member by path (NULL-ended list of names); fails when missing. */
yajl_val tl_get(yajl_val root, const char *a, const char *b, const char *c);
const char *tl_str(yajl_val root, const char *a, const char *b, const char *c);
long long tl_int(yajl_val root, const char *a, const char *b, const char *c);

/*
 * Check an error reply: @status, the registry's @code and name, and
 * (when @hint_part is not NULL) that the hint contains it.
 */
void tl_expect_error(const struct tl_reply *r, long status, int code, const char *hint_part);

/* An integer from SQL on the fixture's connection. */
long long tl_sql_int(struct tl_server *s, const char *sql);

/* The rows of @table. */
long long tl_count(struct tl_server *s, const char *table);

/* tl_call() that must answer the error @status / @code (tl_expect_error(), @hint may be NULL). */
void tl_call_error(struct tl_server *s, const char *method, const char *path, const char *key,
                   const char *idem, const char *body, long status, int code, const char *hint);

/* Fail unless audit record @seq is @action by @who on @target with exactly @details. */
void tl_audit_has(struct tl_server *s, long long seq, int64_t who, const char *action,
                  const char *target, const char *details);

#endif
