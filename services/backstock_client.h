/*
 * The API client of the backstock command (docs/cli.md): the commands
 * that talk to a running service over its REST API (mint, redeem,
 * orders, wallets, balances, signing-keys, admin ..., audit ...), as
 * opposed to the commands of services/backstock.c that open the
 * database directly (serve, migrate, order, custody, admin bootstrap).
 *
 * Files: backstock_client_cmds.c (the command table: one row per
 * command), backstock_client.c (option parsing, checks, the request),
 * backstock_client_help.c (help from the table), backstock_client_http.c
 * (libcurl requests, bounded), backstock_client_out.c (pretty JSON and
 * tables on stdout, errors on stderr), backstock_client_sign.c (Ed25519
 * signed instructions), backstock_client_wait.c (orders wait).
 *
 * Exit status of every client command: 0 success, 1 the service answered
 * an error (4xx/5xx) or could not be reached, 2 bad usage.
 */
#ifndef BACKSTOCK_CLIENT_H
#define BACKSTOCK_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CLIENT_EXIT_OK    0
#define CLIENT_EXIT_ERROR 1
#define CLIENT_EXIT_USAGE 2

#define CLIENT_URL_MAX     1024 /* base URL, path and query together */
#define CLIENT_KEY_MAX     256  /* API key text */
#define CLIENT_IDEM_MAX    128  /* Idempotency-Key (the API's limit) */
#define CLIENT_SIG_MAX     200  /* X-Backstock-Signature value */
#define CLIENT_REPLY_MAX   (16u << 20)
#define CLIENT_DEFAULT_URL "http://127.0.0.1:8080"

/**
 * client_handles() - whether "backstock @argv[@i] ..." is a client
 * command (mint, orders, admin fund, help ...) rather than one of the
 * database commands; "admin bootstrap" stays a database command.
 */
bool client_handles(int argc, char **argv, int i);

/**
 * client_main() - run the client command at @argv[@i].
 * Returns the exit status: CLIENT_EXIT_OK, _ERROR or _USAGE.
 */
int client_main(int argc, char **argv, int i);

/* ------------------------------------------------------------------ */
/* The command table (backstock_client_cmds.c)                         */
/* ------------------------------------------------------------------ */

/* What an option's value is, checked before anything is sent. */
enum client_type {
  CLIENT_T_STRING,  /* JSON string, as typed */
  CLIENT_T_DECIMAL, /* JSON string as typed, a decimal of at most .scale fraction digits, >= 0 */
  CLIENT_T_INT,     /* JSON integer (a non-negative decimal integer) */
  CLIENT_T_ID,      /* a positive integer id (1-18 digits) */
  CLIENT_T_BOOL,    /* true or false */
  CLIENT_T_ENUM,    /* one of .choices ("a|b|c"), a JSON string */
  CLIENT_T_KEYFILE, /* a file holding a base64 Ed25519 public key: its text, a JSON string */
};

/* Where an option's value goes. */
enum client_dest {
  CLIENT_BODY,  /* member .field of the JSON body */
  CLIENT_QUERY, /* ?field=value */
  CLIENT_PATH,  /* replaces {field} in the path */
  CLIENT_LOCAL, /* read by the command itself */
};

/* One option; .name NULL makes it the command's positional argument. */
struct client_opt {
  const char *name;  /* "--quantity" or NULL */
  const char *field; /* body member, query name or path placeholder */
  enum client_type type;
  enum client_dest dest;
  unsigned scale; /* CLIENT_T_DECIMAL */
  bool required;
  const char *meta;    /* "Q", shown in the usage */
  const char *choices; /* CLIENT_T_ENUM */
  const char *help;
};

#define CLIENT_CMD_SIGN    0x1u  /* takes --sign-key (a signed instruction) */
#define CLIENT_CMD_NOKEY   0x2u  /* needs no API key */
#define CLIENT_CMD_LIST    0x4u  /* answers a page: --limit and --cursor */
#define CLIENT_CMD_OKFIELD 0x8u  /* a reply {"ok": false, ...} exits 1 (books check) */
#define CLIENT_CMD_WAIT    0x10u /* polls the order until a state (orders wait) */
#define CLIENT_CMD_FETCH   0x20u /* attestations fetch: several requests into a folder */

struct client_cmd;

/* A command that runs here rather than as one request; @vals by option. */
typedef int (*client_local_fn)(const struct client_cmd *cmd, const char *const *vals);

/* One command: its words, its request and its help. */
struct client_cmd {
  const char *words;  /* "orders show" */
  const char *role;   /* "ap", "issuer_admin", "auditor" or "any" (the help's group) */
  const char *method; /* "GET" or "POST"; NULL with .local */
  const char *path;   /* "/v1/orders/{id}" */
  const char *summary;
  const struct client_opt *opts; /* ended by an entry with .field NULL */
  const char *fixed_key;         /* a boolean member always sent (pause set/clear) */
  bool fixed_value;
  unsigned flags;
  client_local_fn local;
  const char *example;
};

/* The table, in the order of "backstock help" within each role. */
extern const struct client_cmd client_cmds[];
extern const size_t client_n_cmds;

/* ------------------------------------------------------------------ */
/* Help (backstock_client_help.c)                                      */
/* ------------------------------------------------------------------ */

/* client_help_cmd() - the usage, options, request and example of @cmd. */
void client_help_cmd(FILE *out, const struct client_cmd *cmd);

/* client_help_all() - every client command by role, and the local ones. */
void client_help_all(FILE *out);

/**
 * client_help_group() - the commands that start with the words of
 * argv[@i..] ("admin instruments"): on stdout and exit 0 when @asked
 * (--help, "help WORDS"), else on stderr and exit 2.  Words that start no
 * command are a usage error (exit 2).  Returns the exit status.
 */
int client_help_group(int argc, char **argv, int i, bool asked);

/* ------------------------------------------------------------------ */
/* HTTP (backstock_client_http.c)                                      */
/* ------------------------------------------------------------------ */

/* Where and how to reach the service. */
struct client_conn {
  char base[CLIENT_URL_MAX]; /* "http://127.0.0.1:8080", no trailing '/' */
  char key[CLIENT_KEY_MAX];  /* "" for none; wiped by client_conn_wipe() */
  long timeout_ms;           /* whole request */
  long connect_ms;           /* connection setup */
  bool verbose;              /* request line, status, ids on stderr */
};

/* One request. */
struct client_req {
  const char *method;        /* "GET" or "POST" */
  const char *path;          /* "/v1/orders/mint" (escaped already) */
  const char *query;         /* "state=x&limit=5" or NULL */
  const char *idem;          /* Idempotency-Key or NULL */
  const char *signature;     /* X-Backstock-Signature value or NULL */
  const unsigned char *body; /* NULL for none */
  size_t body_len;
};

/* A reply; body owned (free with client_reply_free()). */
struct client_reply {
  long status; /* 0 when no HTTP reply came */
  char *body;  /* NUL-terminated */
  size_t len;
  char request_id[72];
  bool replayed;                        /* Idempotent-Replayed: true */
  char transport[CLIENT_URL_MAX + 160]; /* why no reply came, when status is 0 */
};

/**
 * client_http() - send @req to @conn (with its key as a Bearer token when
 * set), wait at most conn->timeout_ms.  On return @out holds the reply or,
 * with status 0, why there is none.  Never follows redirects; only http
 * and https.  Returns 0 when a reply came, -ERR_IO when none did,
 * -ERR_TOO_LONG for a reply over CLIENT_REPLY_MAX or a URL over
 * CLIENT_URL_MAX, -ERR_NOMEM.
 */
int client_http(const struct client_conn *conn, const struct client_req *req,
                struct client_reply *out);

/* client_reply_free() - free a reply's body; NULL does nothing. */
void client_reply_free(struct client_reply *r);

/* client_conn_wipe() - wipe the key held by @conn (sodium_memzero). */
void client_conn_wipe(struct client_conn *conn);

/**
 * client_escape() - percent-encode @s for a path segment or a query
 * value (everything but A-Z a-z 0-9 - . _ ~) into @out of @size bytes.
 * Returns 0 or -ERR_TOO_LONG.
 */
int client_escape(const char *s, char *out, size_t size);

/* ------------------------------------------------------------------ */
/* Output (backstock_client_out.c)                                     */
/* ------------------------------------------------------------------ */

enum client_format {
  CLIENT_OUT_JSON,  /* the reply re-indented, numbers and strings as sent */
  CLIENT_OUT_TABLE, /* a list as aligned columns, an object as name/value lines */
};

/**
 * client_print_json() - write the JSON text [@s, @s + @len) indented by
 * two spaces, every value exactly as sent, and a newline to @out.
 * Returns 0, or -ERR_INVALID_ARGUMENT when it is not JSON (nothing is
 * written then).
 */
int client_print_json(FILE *out, const char *s, size_t len);

/**
 * client_print_table() - write the JSON text as a table: the first member
 * of the top-level object that is an array of objects becomes rows (one
 * column per member name, in the order first seen; nested values as
 * compact JSON, null as "-"); the other members follow as "name: value"
 * lines.  A top-level object without such an array is written as
 * "path  value" lines (order.id  5).  Returns 0 or -ERR_INVALID_ARGUMENT.
 */
int client_print_table(FILE *out, const char *s, size_t len);

/**
 * client_print_error() - write the one line of a failed request to @err:
 * "error <code> <name>: <hint>" from the API's error body, or for a reply
 * that is not one "error <status> http_<status>: ...", or for no reply
 * "error 4 io: <why>".
 */
void client_print_error(FILE *err, const struct client_conn *conn, const struct client_reply *r);

/* ------------------------------------------------------------------ */
/* Signed instructions (backstock_client_sign.c)                       */
/* ------------------------------------------------------------------ */

#define CLIENT_SIGN_PREFIX "backstock-order-v1\n"

/**
 * client_sign_key_load() - read an Ed25519 seed from @path: 32 bytes as
 * 64 hex digits or base64 (standard or URL-safe, padding optional),
 * surrounding blanks ignored.  @seed receives the bytes (wipe it).
 * Returns 0, -ERR_IO (unreadable) or -ERR_INVALID_ARGUMENT (not a seed).
 */
int client_sign_key_load(const char *path, unsigned char seed[32]);

/**
 * client_sign_payload() - the bytes an instruction's signature covers:
 * "backstock-order-v1\n" METHOD "\n" PATH "\n" IDEMPOTENCY-KEY "\n" BODY
 * (issuance.h, order_signature_check_in()).  Returns a malloc'd buffer
 * (free()) with its length in *@len, or NULL when out of memory.
 */
unsigned char *client_sign_payload(const char *method, const char *path, const char *idem,
                                   const unsigned char *body, size_t body_len, size_t *len);

/**
 * client_sign_header() - sign @payload with the key of @seed and write
 * the header value "keyid=<@key_id>,sig=<base64 of the 64 bytes>" into
 * @out (CLIENT_SIG_MAX bytes).  Returns 0 or -ERR_TOO_LONG.
 */
int client_sign_header(const unsigned char seed[32], const char *key_id,
                       const unsigned char *payload, size_t len, char out[CLIENT_SIG_MAX]);

/**
 * client_sign_public() - the public key of @seed in base64 (standard,
 * padded: 44 characters) into @out (45 bytes).
 */
void client_sign_public(const unsigned char seed[32], char out[45]);

/**
 * client_sign_generate() - make a new random seed, write it in base64 to
 * a new file @path (mode 0600; an existing file is never overwritten) and
 * its public key in base64 into @pub.  Returns 0, -ERR_IO (with errno
 * kept: EEXIST when the file exists).
 */
int client_sign_generate(const char *path, char pub[45]);

/* ------------------------------------------------------------------ */
/* Waiting for an order (backstock_client_wait.c)                      */
/* ------------------------------------------------------------------ */

/**
 * client_wait_order() - poll GET @path (an order) every 0.5 s until its
 * state is one of the comma-separated @want, or its events show it was
 * (exit 0), a final state or
 * requires_attention that is not wanted, or @total_ms have passed (exit
 * 1 with "error 8001 order_state: ..." on stderr).  Each new state goes
 * to stderr as it is seen; the last reply to stdout (a table when @table).
 * Returns the exit status.
 */
int client_wait_order(const struct client_conn *conn, const char *path, const char *want,
                      long total_ms, bool table);

/* ------------------------------------------------------------------ */
/* Fetching an attestation (backstock_client_fetch.c)                  */
/* ------------------------------------------------------------------ */

/**
 * client_fetch_attestation() - "attestations fetch [ID|latest] --out
 * DIR": attestation @which (an id, "latest" or NULL for latest) into
 * @dir/attestation.json, the public keys into @dir/backstock-keys.json,
 * attestation id-1 into @dir/previous.json (removed when id is 1), and
 * every file of its evidence manifest into @dir/<path>, each checked
 * against the manifest's SHA-256 and size (docs/attestation.md).  Prints
 * one line on stdout.  Returns the exit status.
 */
int client_fetch_attestation(const struct client_conn *conn, const char *which, const char *dir);

#endif
