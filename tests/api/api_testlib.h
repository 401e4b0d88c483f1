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

#endif
