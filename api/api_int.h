/*
 * api internals shared by the module's files: the request as the server
 * keeps it, and the steps the server runs before a handler (key check,
 * Idempotency-Key header).  Not for handlers: they use api.h.
 */
#ifndef BACKSTOCK_API_INT_H
#define BACKSTOCK_API_INT_H

#include <microhttpd.h>

#include "api/api.h"

#define API_PARAMS_MAX    4
#define API_PARAM_VAL_MAX 96 /* a path segment matched by {name}, with its NUL */

/* Waiting for a database connection, at most (then 503). */
#define API_DB_WAIT_MS 5000

/*
 * One request: its "arena", freed in one place (request_done() of
 * api_server.c).  The principal and key are set by api__authenticate().
 */
struct api_request {
  const struct api_ctx *ctx;
  struct MHD_Connection *conn;
  const struct api_route *route;
  const char *method; /* borrowed from MHD for the request's life */
  const char *url;
  char id[65];
  char *body;
  size_t body_len;
  bool replied;
  int64_t started;
  unsigned n_params;
  const char *param_names[API_PARAMS_MAX]; /* point into the route's pattern */
  size_t param_name_len[API_PARAMS_MAX];
  char param_vals[API_PARAMS_MAX][API_PARAM_VAL_MAX];
  struct db_conn *db; /* borrowed from the pool, given back after the reply */
  bool authed;
  struct api_principal principal;
  struct api_key_info key;
  const char *idem_key; /* the Idempotency-Key header of a POST (borrowed from MHD) */
};

/**
 * api__reply() - api_reply_json() with, when @replayed, the header
 * "Idempotent-Replayed: true".
 */
int api__reply(struct api_request *req, unsigned status, const char *body, size_t len,
               bool replayed);

/**
 * api__reply_response() - answer @status with the prepared response @r
 * (taken: destroyed here) and the usual headers, its Content-Type
 * @content_type (raw files: api_attest_evidence.c).
 */
int api__reply_response(struct api_request *req, unsigned status, struct MHD_Response *r,
                        const char *content_type, bool replayed);

/**
 * api__authenticate() - check the "Authorization: Bearer <key>" of @req
 * and set its principal and key.  Every way a key can be wrong (missing,
 * malformed, unknown, revoked, expired, its principal disabled) is the
 * same -ERR_API_UNAUTHORIZED; the log says which.
 * Returns 0, -ERR_API_UNAUTHORIZED or a database error (-ERR_DB_*).
 */
int api__authenticate(struct api_request *req);

/** api__idem_key_ok() - 1..API_IDEM_KEY_MAX visible ASCII characters (0x21..0x7e). */
bool api__idem_key_ok(const char *key);

/**
 * api__hint() - format a hint into @hint (may be NULL) and return @rc.
 */
int api__hint(char *hint, size_t size, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/**
 * api__name_ok() - a principal's name: 1..API_NAME_MAX bytes of UTF-8
 * without control characters.
 */
bool api__name_ok(const char *s, size_t len);

/** api__utf8_text() - @s is UTF-8 without control characters (C0, DEL, C1). */
bool api__utf8_text(const unsigned char *s, size_t len);

/*
 * Times travel between SQL and C as Unix milliseconds (bigint): columns are
 * read as "(extract(epoch from col) * 1000)::bigint", exact since they are
 * stored truncated to ms, and written as "'epoch'::timestamptz + $n::bigint *
 * interval '1 millisecond'".
 */

/** api__ms_value() - a bigint column as int64_t; SQL NULL is API_TIME_NONE. */
int64_t api__ms_value(PGresult *r, int row, int col);

/** api__ms_param() - text of Unix ms @ms for "$n::bigint" (NULL for API_TIME_NONE). */
const char *api__ms_param(int64_t ms, char buf[24]);

/* The columns api__key_row() reads, in order. */
#define API_KEY_COLS                                                                               \
  "key_id, principal, (extract(epoch from created) * 1000)::bigint,"                               \
  " (extract(epoch from expires_at) * 1000)::bigint,"                                              \
  " (extract(epoch from revoked_at) * 1000)::bigint,"                                              \
  " (extract(epoch from last_used_at) * 1000)::bigint"

/** api__key_row() - a key from API_KEY_COLS at column @col of row @row. */
void api__key_row(PGresult *r, int row, int col, struct api_key_info *k);

/**
 * api__new_key_reply() - the reply of a new key: 201 with "principal" (when
 * @p is not NULL), "key" and "api_key" (the text, shown this once); the
 * version recorded for replays has "api_key": null.
 */
enum db_qs api__new_key_reply(struct api_txn *t, const struct api_principal *p,
                              const struct api_key_info *k, const char *text);

/**
 * api__audit() - api_audit_append() with the details written in @details
 * (one JSON object); frees @details.  Call inside db_txn.
 */
enum db_qs api__audit(struct db_conn *c, int64_t principal, const char *action, const char *target,
                      struct api_json *details);

/* The clock (api_clock.c): GET /v1/clock, POST /v1/admin/clock. */
int api_clock_get(struct api_request *req);
int api_admin_clock_post(struct api_request *req);

#endif
