/*
 * api: the HTTP server.  A routing table maps {method, path pattern} to
 * one handler per endpoint (a file named after the resource and method:
 * api_healthz_get.c); a pattern segment "{name}" matches one path segment,
 * read back with api_req_param().  Each request gets a request id (the
 * client's X-Request-Id when it is safe to echo, else a random one), a body
 * buffer with a size limit, the principal of its API key (routes that are
 * not public), and exactly one reply.  Errors answer
 * {"code": N, "error": "name", "hint": "..."} with the registry's status.
 *
 * What handlers stand on, in the order of the five steps (STYLE.md):
 *   - api_body_parse(): the JSON body against a declarative field list;
 *   - api_page_args() and the JSON writer (struct api_json);
 *   - api_idem_run(): a POST's work inside db_txn() with its Idempotency-Key
 *     record written in the same transaction (a replay gets the stored reply);
 *   - api_audit_append(): the hash-chained audit log of admin actions;
 *   - api_reply_*().
 * Conventions: docs/api.md.
 */
#ifndef BACKSTOCK_API_H
#define BACKSTOCK_API_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "db/db.h"

/* Largest request body accepted; more is answered with 413. */
#define API_BODY_MAX (64 * 1024)

/*
 * Roles, as bits: a route lists the roles that may call it.  A route of
 * API_ROLE_PUBLIC (no bit) needs no key at all.
 */
enum api_role {
  API_ROLE_PUBLIC = 0,
  API_ROLE_ISSUER_ADMIN = 1u << 0,
  API_ROLE_AP = 1u << 1,
  API_ROLE_AUDITOR = 1u << 2,
};
/* Every role: any valid key. */
#define API_ROLES_ANY (API_ROLE_ISSUER_ADMIN | API_ROLE_AP | API_ROLE_AUDITOR)

struct attest_result; /* reconcile/reconcile.h */

/* What handlers share: set up by the service, read-only while serving. */
struct api_ctx {
  struct db_pool *pool;
  unsigned schema_expected; /* newest migration of this binary */
  bool db_embedded;         /* the private cluster, not an external URL */
  int64_t started_mono_ms;  /* util_mono_ms() at start: uptime survives clock steps */
  /* The service's business days (read only, shared by the threads): order
   * creation's hours.  NULL: each creation loads the NYSE rules with the
   * shipped and stored closures itself. */
  const struct cal *cal;
  /* The attestation key store (reconcile/reconcile.h, docs/attestation.md)
   * whose public keys GET /.well-known/backstock-keys.json lists; NULL:
   * an empty list. */
  const char *attestation_key_dir;
  /* The service's data folder: attestations' files (holder exports for the
   * proofs) are under data_dir/attestations/<id>/; NULL: no proofs. */
  const char *data_dir;
  /* POST /v1/admin/attestations: one reconciler pass, then the next
   * attestation over the latest runs (services/backstock_attest.c), on
   * @c outside a transaction; fills @out.  Returns 0, -ERR_POR_NOTHING (no
   * reconciliation run at all) or another error.  NULL: that POST answers
   * 503.  @attest_publish_cls is its first argument. */
  int (*attest_publish)(void *cls, struct db_conn *c, struct attest_result *out);
  void *attest_publish_cls;
};

struct api_request;

typedef int (*api_handler)(struct api_request *req);

struct api_route {
  const char *method;
  const char *path; /* "/v1/admin/principals/{id}/keys": "{id}" is one segment */
  api_handler handler;
  unsigned roles; /* enum api_role bits; API_ROLE_PUBLIC: no key needed */
};

/** api_routes() - the routing table (for tests and the OpenAPI check); *n its length. */
const struct api_route *api_routes(size_t *n);

struct api_server;

/**
 * api_start() - listen on @host:@port and serve until api_stop().
 * @port: 0 picks a free port; api_port() tells which.
 * @threads: worker threads.
 * @ctx: borrowed; must outlive the server.
 * Returns 0, -ERR_IO (cannot listen; logged) or -ERR_NOMEM.
 */
int api_start(const char *host, uint16_t port, unsigned threads, const struct api_ctx *ctx,
              struct api_server **out);

/** api_port() - the port actually bound. */
uint16_t api_port(const struct api_server *s);

/** api_stop() - stop accepting, finish requests in flight, free. */
void api_stop(struct api_server *s);

/* ------------------------------------------------------------------ */
/* Principals and API keys (api_auth.c, api_keys.c)                    */
/* ------------------------------------------------------------------ */

#define API_NAME_MAX       100 /* bytes of a principal's name */
#define API_KEY_ID_LEN     16  /* hex digits of a key's public id */
#define API_KEY_SECRET_LEN 32  /* random bytes of a key's secret */
/* "bsk_" + id + "_" + 43 base64url characters of the secret, and the NUL. */
#define API_KEY_TEXT_MAX 72
/* A time that is not set (no expiry, not revoked, never used). */
#define API_TIME_NONE INT64_MIN

/* A principal: who a key speaks for. */
struct api_principal {
  int64_t id;
  char name[API_NAME_MAX + 1];
  enum api_role role; /* exactly one bit */
  int64_t created_ms; /* Unix milliseconds */
  bool disabled;
};

/* An API key as shown: never its secret. */
struct api_key_info {
  char id[API_KEY_ID_LEN + 1]; /* the public id, also in the key's text */
  int64_t principal;
  int64_t created_ms;
  int64_t expires_ms;   /* API_TIME_NONE: never */
  int64_t revoked_ms;   /* API_TIME_NONE: not revoked */
  int64_t last_used_ms; /* API_TIME_NONE: never used; updated at most once a minute */
};

/** api_role_name() - "issuer_admin", "ap", "auditor" ("public" for 0). */
const char *api_role_name(enum api_role role);

/** api_role_parse() - the role of a name; -ERR_INVALID_ARGUMENT if none. */
int api_role_parse(const char *name, enum api_role *out);

/**
 * api_key_make() - a new key: @key_id (16 hex digits, random), @text
 * ("bsk_<key_id>_<secret>", 32 random bytes of secret in base64url) and
 * @hash, the only thing stored: BLAKE2b-256 of the secret keyed with
 * "backstock-api-key-v1:" and the id.  The caller wipes @text
 * (sodium_memzero) once it has been shown.
 */
void api_key_make(char key_id[API_KEY_ID_LEN + 1], char text[API_KEY_TEXT_MAX], uint8_t hash[32]);

/**
 * api_key_check_text() - split a key's text and hash its secret.
 * @key_id: receives the public id.  @hash: receives the hash to compare.
 * Returns 0 or -ERR_API_UNAUTHORIZED (not the shape of a key).
 */
int api_key_check_text(const char *text, size_t len, char key_id[API_KEY_ID_LEN + 1],
                       uint8_t hash[32]);

/**
 * api_principal_create() - a principal and its first key; call inside
 * db_txn.  @expires_ms: the key's expiry or API_TIME_NONE.
 * @p, @k: receive the rows; @text receives the key (wipe it after use).
 * Returns DB_QS_HARD/SOFT, DB_QS_NONE when the name is taken, or 1.
 */
enum db_qs api_principal_create(struct db_conn *c, const char *name, enum api_role role,
                                int64_t expires_ms, struct api_principal *p, struct api_key_info *k,
                                char text[API_KEY_TEXT_MAX]);

/**
 * api_key_create() - a new key of principal @principal; call inside
 * db_txn.  Returns DB_QS_NONE when there is no such principal, else as
 * api_principal_create().
 */
enum db_qs api_key_create(struct db_conn *c, int64_t principal, int64_t expires_ms,
                          struct api_key_info *k, char text[API_KEY_TEXT_MAX]);

/**
 * api_bootstrap_admin() - the first issuer admin (command
 * "backstock admin bootstrap"): a principal of role issuer_admin named
 * @name with a key that never expires, and its audit record, in one
 * transaction.
 * @force: create it even when an enabled issuer admin exists.
 * @p: receives the principal.  @text: receives the key (wipe it after use).
 * Returns 0, -ERR_API_FIELD (@name empty, too long or with control
 * characters), -ERR_API_CONFLICT (an issuer admin exists and not @force,
 * or the name is taken) or the error of db_txn().
 */
int api_bootstrap_admin(struct db_conn *c, const char *name, bool force, struct api_principal *p,
                        char text[API_KEY_TEXT_MAX]);

/* ------------------------------------------------------------------ */
/* JSON output (api_json.c)                                            */
/* ------------------------------------------------------------------ */

#define API_JSON_DEPTH 32 /* nesting the writer supports */
#define API_TIME_STR   25 /* "2024-05-01T13:45:00.123Z" and the NUL */

/*
 * A small JSON writer: commas and escaping are its business.  Strings are
 * escaped as RFC 8785 does (\" \\ \b \f \n \r \t, other controls \u00xx,
 * the rest verbatim; invalid UTF-8 becomes U+FFFD); amounts are decimal
 * strings at their scale, times RFC 3339 UTC with milliseconds.  Errors
 * (out of memory, misuse) are sticky and reported by api_json_done().
 */
struct api_json {
  char *buf;
  size_t len, cap;
  int err;
  unsigned depth;
  uint64_t has_items; /* bit d: the container at depth d has a member */
  uint64_t is_obj;    /* bit d: the container at depth d is an object */
  bool after_key;
  bool wipe; /* holds a secret: api_json_free() wipes the buffer */
};

/** api_json_init() - an empty writer. */
void api_json_init(struct api_json *j);

/** api_json_free() - free the buffer (wiped first if api_json_secret()). */
void api_json_free(struct api_json *j);

/** api_json_secret() - mark the text as holding a secret. */
void api_json_secret(struct api_json *j);

void api_json_obj(struct api_json *j);     /* { */
void api_json_obj_end(struct api_json *j); /* } */
void api_json_arr(struct api_json *j);     /* [ */
void api_json_arr_end(struct api_json *j); /* ] */
/** api_json_key() - a member's name; the next call writes its value. */
void api_json_key(struct api_json *j, const char *key);
/** api_json_str() - a string value; NULL writes null. */
void api_json_str(struct api_json *j, const char *s);
void api_json_strn(struct api_json *j, const char *s, size_t n);
void api_json_int(struct api_json *j, int64_t v);
void api_json_bool(struct api_json *j, bool v);
void api_json_null(struct api_json *j);
/** api_json_money() - "1.50": the canonical text at the value's scale. */
void api_json_money(struct api_json *j, struct money m);
/** api_json_time() - "2024-05-01T13:45:00.123Z"; API_TIME_NONE writes null. */
void api_json_time(struct api_json *j, int64_t unix_ms);
/** api_json_hex() - bytes as a lower-case hex string. */
void api_json_hex(struct api_json *j, const uint8_t *p, size_t n);
/** api_json_raw() - an already encoded JSON value, written as it is. */
void api_json_raw(struct api_json *j, const char *json, size_t n);

/**
 * api_json_done() - the text, NUL-terminated (owned by @j).
 * Returns 0, or -ERR_NOMEM / -ERR_INTERNAL (containers left open, a value
 * without its key): the sticky error.
 */
int api_json_done(struct api_json *j, const char **text, size_t *len);

/**
 * api_time_format() - @unix_ms as "YYYY-MM-DDTHH:MM:SS.mmmZ".
 * Returns 0 or -ERR_INVALID_ARGUMENT (year outside 0000..9999).
 */
int api_time_format(int64_t unix_ms, char out[API_TIME_STR]);

/**
 * api_time_parse() - an RFC 3339 time: "YYYY-MM-DDTHH:MM:SS", optionally
 * ".f" to ".fff", then "Z" or "+HH:MM"/"-HH:MM" ('t' and 'z' accepted),
 * years CAL_YEAR_MIN..CAL_YEAR_MAX, no leap second.
 * Returns 0 or -ERR_INVALID_ARGUMENT.
 */
int api_time_parse(const char *s, size_t len, int64_t *unix_ms);

/**
 * api_json_canonical() - @json (one value, NUL-terminated) rewritten
 * canonically: object members sorted by the bytes of their names, no
 * whitespace, strings escaped as the writer does, numbers as written.
 * @out: receives a malloc'd NUL-terminated text (free with free()).
 * Returns 0, -ERR_API_BAD_JSON (not JSON, or a name repeated in an object)
 * or -ERR_NOMEM.
 */
int api_json_canonical(const char *json, char **out, size_t *out_len);

/* ------------------------------------------------------------------ */
/* Request bodies (api_body.c)                                         */
/* ------------------------------------------------------------------ */

#define API_BODY_DEPTH_MAX 16 /* nesting a body may have at all */
#define API_ADDRESS_LEN    42 /* "0x" and 40 hex digits */
#define API_FIELDS_MAX     64 /* fields of one list (bits of the present mask) */
#define API_HINT_MAX       256

enum api_ftype {
  API_T_STRING,  /* JSON string -> char[size]: 1..size-1 bytes of its charset */
  API_T_DECIMAL, /* JSON string "1.5" -> struct money at .scale */
  API_T_INT,     /* JSON integer -> int64_t within .min..max */
  API_T_BOOL,    /* true / false -> bool */
  API_T_ENUM,    /* JSON string, one of .values -> int (its index) */
  API_T_ADDRESS, /* "0x" + 40 hex digits, any case -> char[API_ADDRESS_LEN + 1], lower case */
  API_T_TIME,    /* RFC 3339 string -> int64_t Unix milliseconds */
};

/* Characters a string may hold (never a control character). */
enum api_charset {
  API_CS_TEXT = 0, /* any UTF-8 text without control characters */
  API_CS_ID,       /* A-Z a-z 0-9 . _ - */
  API_CS_UPPER,    /* A-Z 0-9 . (symbols, ISINs) */
};

/* Field flags. */
#define API_F_REQUIRED 0x1u /* missing (or null) is an error */
#define API_F_NEGATIVE 0x2u /* decimal: below zero allowed */
#define API_F_ZERO     0x4u /* decimal: zero allowed */
#define API_F_EMPTY    0x8u /* string: "" allowed */

/* One field of a body: where its value goes in the target struct. */
struct api_field {
  const char *name;
  enum api_ftype type;
  unsigned flags;
  size_t offset;             /* of the member in the target struct */
  size_t size;               /* string/address: sizeof the char array */
  enum api_charset charset;  /* string */
  unsigned scale;            /* decimal */
  int64_t min, max;          /* integer (both 0: any int64) */
  const char *const *values; /* enum: NULL-terminated */
};

/* Field list helpers: API_FIELD_STRING("name", struct x, name, API_F_REQUIRED, API_CS_TEXT). */
#define API_FIELD_STRING(nm, st, mb, fl, cs)                                                       \
  {                                                                                                \
    .name = (nm), .type = API_T_STRING, .flags = (fl), .offset = offsetof(st, mb),                 \
    .size = sizeof(((st *)0)->mb), .charset = (cs)                                                 \
  }
#define API_FIELD_DECIMAL(nm, st, mb, fl, sc)                                                      \
  {                                                                                                \
    .name = (nm), .type = API_T_DECIMAL, .flags = (fl), .offset = offsetof(st, mb), .scale = (sc)  \
  }
#define API_FIELD_INT(nm, st, mb, fl, lo, hi)                                                      \
  {                                                                                                \
    .name = (nm), .type = API_T_INT, .flags = (fl), .offset = offsetof(st, mb), .min = (lo),       \
    .max = (hi)                                                                                    \
  }
#define API_FIELD_BOOL(nm, st, mb, fl)                                                             \
  {                                                                                                \
    .name = (nm), .type = API_T_BOOL, .flags = (fl), .offset = offsetof(st, mb)                    \
  }
#define API_FIELD_ENUM(nm, st, mb, fl, vals)                                                       \
  {                                                                                                \
    .name = (nm), .type = API_T_ENUM, .flags = (fl), .offset = offsetof(st, mb), .values = (vals)  \
  }
#define API_FIELD_ADDRESS(nm, st, mb, fl)                                                          \
  {                                                                                                \
    .name = (nm), .type = API_T_ADDRESS, .flags = (fl), .offset = offsetof(st, mb),                \
    .size = sizeof(((st *)0)->mb)                                                                  \
  }
#define API_FIELD_TIME(nm, st, mb, fl)                                                             \
  {                                                                                                \
    .name = (nm), .type = API_T_TIME, .flags = (fl), .offset = offsetof(st, mb)                    \
  }

/**
 * api_body_parse() - parse a JSON body into @target by @fields.
 * The body is one JSON object (an empty or all-blank body counts as {}),
 * at most API_BODY_MAX bytes, nested at most API_BODY_DEPTH_MAX deep, UTF-8,
 * no name twice.  Members are the fields of the list only; null means
 * "not given".
 * @present: receives bit i for each field @fields[i] given (may be NULL).
 * @hint: receives a line for the client naming the field (API_HINT_MAX
 * suffices; may be NULL).
 * Returns 0, or: -ERR_API_BODY_TOO_LARGE; -ERR_API_BAD_JSON (not JSON,
 * not an object, too deep, a name twice); else the first of, in the
 * document's order: -ERR_API_UNKNOWN_FIELD (a member not in the list),
 * -ERR_API_FIELD (a value of the wrong type or out of range: a JSON
 * number for an amount, more fraction digits than the scale, a negative
 * or zero amount not allowed, a string too long ...); last, a required
 * field missing (-ERR_API_FIELD).  @target is unspecified on failure.
 */
int api_body_parse(const char *body, size_t len, const struct api_field *fields, size_t n,
                   void *target, uint64_t *present, char *hint, size_t hint_size);

/* ------------------------------------------------------------------ */
/* Pagination (api_page.c)                                             */
/* ------------------------------------------------------------------ */

#define API_PAGE_DEFAULT 100
#define API_PAGE_MAX     500
#define API_CURSOR_MAX   32 /* base64url of a decimal id, and the NUL */

/* One page of a list ordered by a positive id: rows with id > after. */
struct api_page {
  unsigned limit;
  int64_t after; /* 0: from the start */
};

/** api_cursor_encode() - the opaque cursor of @id (> 0). */
void api_cursor_encode(int64_t id, char out[API_CURSOR_MAX]);

/**
 * api_cursor_decode() - the id of a cursor: base64url (no padding) of a
 * decimal id 1..INT64_MAX without leading zeros, nothing else.
 * Returns 0 or -ERR_API_BAD_CURSOR.
 */
int api_cursor_decode(const char *s, int64_t *id);

/**
 * api_page_args() - the query's ?limit= (1..API_PAGE_MAX, default
 * API_PAGE_DEFAULT) and ?cursor=.
 * Returns 0, -ERR_API_FIELD (limit) or -ERR_API_BAD_CURSOR, with @hint.
 */
int api_page_args(struct api_request *req, struct api_page *p, char *hint, size_t hint_size);

/* Most parameters a page query takes after its $1 and $2 (api_page_fetch()). */
#define API_PAGE_ARGS_MAX 6

/**
 * api_page_fetch() - run the page query @q, whose $1 is the id after which
 * the page starts and $2 the limit (one more row than shown, to know
 * whether another page follows); @args (@n_args of them, at most
 * API_PAGE_ARGS_MAX, NULL for SQL NULL) are its $3, $4, ...: a list's
 * filters.  *r receives the rows (PQclear it; NULL when none), *shown how
 * many belong on this page, *more whether rows follow.  Returns 0 or the
 * registry code to answer with.
 */
int api_page_fetch(struct db_conn *c, const struct db_stmt *q, const struct api_page *p,
                   const char *const *args, int n_args, PGresult **r, int *shown, bool *more);

/** api_page_open() - start the reply: {"items":[ */
void api_page_open(struct api_json *j);

/**
 * api_page_close() - end the list: ],"next_cursor":... ; the object stays
 * open for more members (api_json_obj_end() closes it).
 * @next_after: id of the last item shown when more rows exist (the query
 * asked for limit + 1), else 0 (null cursor).
 */
void api_page_close(struct api_json *j, int64_t next_after);

/* A page being written by the rows callback of api_page_get(). */
struct api_page_out {
  struct api_json *j;      /* the reply: each item goes here */
  struct api_page page;    /* the request's ?limit= and ?cursor= */
  unsigned n;              /* items written */
  int64_t last;            /* id of the last item written */
  bool more;               /* a row beyond the page was seen */
  char hint[API_HINT_MAX]; /* with an error: a line for the client, or "" (err_text) */
};

/**
 * api_page_item() - whether the rows callback may write the item of the
 * row @id (counts it and records @id as the cursor's); false for a row
 * once the page is full: it is not written, and @o->more is set.
 */
bool api_page_item(struct api_page_out *o, int64_t id);

/*
 * A list endpoint's parts, for api_page_get().  @rows is required; the
 * others may be NULL.  @cls is the handler's.
 */
struct api_page_list {
  /* More of the query, checked before the database: 0 or the code to
   * answer, with @hint. */
  int (*check)(struct api_request *req, void *cls, char *hint, size_t hint_size);
  /* The page's rows in id order (at most page.limit + 1 of them: ask for
   * one more to know whether a next page exists), each through
   * api_page_item(), then its item written to @o->j.  Returns >= 0, or a
   * negative registry code to answer instead (with @o->hint). */
  int (*rows)(struct db_conn *c, struct api_page_out *o, void *cls);
  /* More members of the reply object, after "next_cursor". */
  void (*tail)(struct api_json *j, void *cls);
};

/**
 * api_page_get() - a GET of a list, one page at a time: api_page_args(),
 * @l->check, the request's database, then the reply 200 {"items": [...],
 * "next_cursor": ..., <@l->tail>} from @l->rows; any failure answers its
 * error instead.  Returns what api_reply_*() returns.
 */
int api_page_get(struct api_request *req, const struct api_page_list *l, void *cls);

/**
 * api_page_query() - a rows callback's work for a plain query: runs @q
 * (as api_page_fetch()) and writes each row of the page with @show; a
 * row's id is its first column.  Returns 0 or a negative registry code.
 */
int api_page_query(struct db_conn *c, const struct db_stmt *q, struct api_page_out *o,
                   void (*show)(struct api_json *j, PGresult *r, int row));

/** api_page_query_args() - api_page_query() with the query's filters as $3, $4, ... */
int api_page_query_args(struct db_conn *c, const struct db_stmt *q, const char *const *args,
                        int n_args, struct api_page_out *o,
                        void (*show)(struct api_json *j, PGresult *r, int row));

/* ------------------------------------------------------------------ */
/* Idempotency (api_idem.c)                                            */
/* ------------------------------------------------------------------ */

#define API_IDEM_KEY_MAX 128

/* The reply a POST's work produced, kept by api_idem_run() across retries. */
struct api_txn;

/*
 * The work of a POST: runs inside db_txn() (so it may run more than once)
 * and ends with api_txn_reply() or api_txn_error().  An error reply rolls
 * back everything the work wrote and records nothing.
 */
typedef enum db_qs (*api_work_fn)(struct db_conn *c, struct api_txn *t, void *cls);

/**
 * api_txn_reply() - the work's reply: @status and the JSON of @live; when
 * the reply shows a secret (a new API key), @stored is the version kept
 * for replays (the secret left out), else NULL.  Copied.
 * Returns DB_QS_NONE or DB_QS_HARD (out of memory): return it.
 */
enum db_qs api_txn_reply(struct api_txn *t, unsigned status, struct api_json *live,
                         struct api_json *stored);

/**
 * api_txn_reply_open() - api_json_init() @j and start the usual reply
 * object, {"@key": ; the caller writes the member's value, then
 * api_txn_reply_close().
 */
void api_txn_reply_open(struct api_json *j, const char *key);

/**
 * api_txn_reply_close() - end the object of @j, make it the work's reply
 * with @status (api_txn_reply(), nothing secret) and api_json_free() @j.
 * Returns as api_txn_reply().
 */
enum db_qs api_txn_reply_close(struct api_txn *t, unsigned status, struct api_json *j);

/**
 * api_txn_error() - the work's reply is the error @code (either sign) with
 * @hint (or NULL).  Returns DB_QS_NONE: return it.
 */
enum db_qs api_txn_error(struct api_txn *t, int code, const char *hint);

/** api_txn_principal() - the caller (as api_req_principal()). */
const struct api_principal *api_txn_principal(const struct api_txn *t);

/**
 * api_idem_run() - a POST's work with its Idempotency-Key, in one
 * transaction: the record of (principal, key) is looked up; if it exists
 * with the same method, path and body SHA-256, its stored reply is sent
 * again with "Idempotent-Replayed: true"; with another request, 409
 * api_idempotency_conflict; else @fn runs and its reply (when not an
 * error) is recorded in the same transaction.  Then the reply goes out.
 * @name: for the log.
 * Returns what api_reply_*() returns.
 */
int api_idem_run(struct api_request *req, const char *name, api_work_fn fn, void *cls);

/**
 * api_idem_post() - the end of most POST handlers: the body parsed by
 * @fields (@n of them; NULL, 0 and NULL @target: no body, or {}) into
 * @target (api_body_parse()); a bad body answers its error and hint; else
 * api_idem_run(@req, @name, @fn, @cls).  Returns what api_reply_*()
 * returns.
 */
int api_idem_post(struct api_request *req, const struct api_field *fields, size_t n, void *target,
                  const char *name, api_work_fn fn, void *cls);

/* ------------------------------------------------------------------ */
/* Audit log (api_audit.c)                                             */
/* ------------------------------------------------------------------ */

/**
 * api_audit_append() - append one record of an admin action to the
 * hash-chained audit log; call inside db_txn (the record commits with the
 * action).
 * @principal: who did it; 0 for the command line.
 * @action: "principal.create"; @target: "principal:7".
 * @details: a JSON object, stored canonically (api_json_canonical()).
 * The hash is SHA-256(prev_hash || seq || at_ms || principal || action ||
 * target || details): prev_hash 32 bytes (zeros for seq 1), seq, at_ms and
 * principal as 8-byte big-endian integers, each text as a 4-byte
 * big-endian length then its bytes.
 * Returns DB_QS_HARD/SOFT or 1.
 */
enum db_qs api_audit_append(struct db_conn *c, int64_t principal, const char *action,
                            const char *target, const char *details);

/**
 * api_audit_verify() - walk the whole chain in order and check each
 * record: seq is the previous one + 1 (from 1), prev_hash is the previous
 * hash, hash is recomputed.  @broken receives the seq of the first record
 * that fails, 0 when all hold.  @count (may be NULL) receives the records
 * checked (up to and with the first that fails).  Reads in batches of
 * 1000; needs no transaction of its own (the log only grows), and may run
 * inside one.
 * Returns 0 or -ERR_DB_HARD.
 */
int api_audit_verify(struct db_conn *c, int64_t *broken, int64_t *count);

/* ------------------------------------------------------------------ */
/* For handlers (api_server.c)                                         */
/* ------------------------------------------------------------------ */

const struct api_ctx *api_req_ctx(const struct api_request *req);
const char *api_req_id(const struct api_request *req);

/**
 * api_req_principal() - the caller; NULL on a public route.  An AP's
 * handlers filter what they show by its id.
 */
const struct api_principal *api_req_principal(const struct api_request *req);

/** api_req_key() - the key the caller used; NULL on a public route. */
const struct api_key_info *api_req_key(const struct api_request *req);

/** api_req_param() - the path segment matched by "{@name}", or NULL. */
const char *api_req_param(const struct api_request *req, const char *name);

/** api_req_query() - a query argument (?name=value), or NULL. */
const char *api_req_query(const struct api_request *req, const char *name);

/** api_req_body() - the body (NUL-terminated, "" when none) and its length. */
const char *api_req_body(const struct api_request *req, size_t *len);

/**
 * api_req_db() - the request's database connection, borrowed from the
 * pool on first use and given back after the reply.
 * Returns 0, -ERR_DB_POOL_TIMEOUT or -ERR_DB_CONNECT.
 */
int api_req_db(struct api_request *req, struct db_conn **out);

/**
 * api_parse_id() - a path id: decimal 1..INT64_MAX, no sign, no leading
 * zero.  Returns 0 or -ERR_API_NOT_FOUND.
 */
int api_parse_id(const char *s, int64_t *out);

/**
 * api_reply_json() - answer @status with a JSON body (copied).
 * Returns 0 or -ERR_NOMEM.
 */
int api_reply_json(struct api_request *req, unsigned status, const char *body, size_t len);

/**
 * api_reply_writer() - answer @status with the text of @j (or 500 when
 * the writer failed).  Does not free @j.
 */
int api_reply_writer(struct api_request *req, unsigned status, struct api_json *j);

/**
 * api_reply_error() - answer an error of the registry.
 * @code: error number (either sign).  @hint: extra text or NULL.
 */
int api_reply_error(struct api_request *req, int code, const char *hint);

/* Shared JSON shapes of the admin endpoints (api_keys.c). */
void api_show_principal(struct api_json *j, const struct api_principal *p);
void api_show_key(struct api_json *j, const struct api_key_info *k);

/* The OpenAPI document, embedded at build time from api/openapi.json. */
extern const char api_openapi_json[];
extern const size_t api_openapi_json_len;

/* Handlers, one file each. */
int api_healthz_get(struct api_request *req);
int api_openapi_get(struct api_request *req);
int api_me_get(struct api_request *req);
int api_admin_principals_post(struct api_request *req);
int api_admin_principals_get(struct api_request *req);
int api_admin_principal_keys_post(struct api_request *req);
int api_admin_key_revoke_post(struct api_request *req);
int api_admin_audit_get(struct api_request *req);
int api_wellknown_keys_get(struct api_request *req);
/* The public attestation endpoints (api_attest_get.c). */
int api_attestations_get(struct api_request *req);
int api_attestation_latest_get(struct api_request *req);
int api_attestation_get(struct api_request *req);
int api_attestation_proof_get(struct api_request *req);
/* On demand (api_attest_post.c) and the auditor's evidence (api_attest_evidence.c). */
int api_admin_attestations_post(struct api_request *req);
int api_attestation_evidence_get(struct api_request *req);
int api_attestation_evidence_file_get(struct api_request *req);

#endif
