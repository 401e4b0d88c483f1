/*
 * The error registry: every error the service can report, as one X-macro
 * list.  Each row gives the symbolic name, a stable number (never reused,
 * never renumbered: clients and logs depend on it), the HTTP status an API
 * answers with, and a one-line text for humans.
 *
 * Numbers are grouped by module: 1..999 general, 1000 money, 1100
 * calendar, 1200 configuration, 2000 database, 2100 migrations, 2200
 * embedded PostgreSQL, 3000 HTTP API, 4000 FIX, 5000 custody, 6000 books, 7000 chain,
 * 8000 orders, 9000 proof of reserves.  Functions return 0 on success and
 * the negated number on failure (-ERR_MONEY_OVERFLOW).
 *
 * Included only through common.h.
 */
#ifndef BACKSTOCK_COMMON_ERRORS_H
#define BACKSTOCK_COMMON_ERRORS_H

/* X(name, number, http_status, text) */
#define COMMON_ERRORS(X)                                                                           \
  X(OK, 0, 200, "success")                                                                         \
  X(INTERNAL, 1, 500, "internal error")                                                            \
  X(NOMEM, 2, 500, "out of memory")                                                                \
  X(INVALID_ARGUMENT, 3, 400, "invalid argument")                                                  \
  X(IO, 4, 500, "input/output error")                                                              \
  X(TOO_LONG, 5, 400, "input longer than allowed")                                                 \
  X(MONEY_SYNTAX, 1001, 400, "malformed decimal number")                                           \
  X(MONEY_SIGN, 1002, 400, "sign not allowed here")                                                \
  X(MONEY_EXPONENT, 1003, 400, "exponent notation not allowed")                                    \
  X(MONEY_NAN, 1004, 400, "NaN or infinity is not a number")                                       \
  X(MONEY_PRECISION, 1005, 400, "more fraction digits than the scale allows")                      \
  X(MONEY_OVERFLOW, 1006, 400, "amount out of range")                                              \
  X(MONEY_DIV_ZERO, 1007, 400, "division by zero")                                                 \
  X(MONEY_SCALE, 1008, 400, "scale out of range")                                                  \
  X(MONEY_INEXACT, 1009, 400, "result is not exact at this scale")                                 \
  X(CAL_DATE_SYNTAX, 1101, 400, "malformed date (want YYYY-MM-DD)")                                \
  X(CAL_DATE_RANGE, 1102, 400, "date out of the supported range")                                  \
  X(CAL_CLOSURES, 1103, 500, "malformed market closures file")                                     \
  X(CFG_SYNTAX, 1201, 500, "malformed configuration line")                                         \
  X(CFG_UNKNOWN_KEY, 1202, 500, "unknown configuration key")                                       \
  X(CFG_VALUE, 1203, 500, "invalid configuration value")                                           \
  X(CFG_FILE, 1204, 500, "cannot read configuration file")                                         \
  X(DB_CONNECT, 2001, 503, "database unavailable")                                                 \
  X(DB_HARD, 2002, 500, "database error")                                                          \
  X(DB_CONFLICT, 2003, 503, "database busy with conflicting work, retry")                          \
  X(DB_COMMIT_UNKNOWN, 2004, 503, "connection lost during commit")                                 \
  X(DB_POOL_TIMEOUT, 2005, 503, "no database connection free in time")                             \
  X(MIGRATE_GAP, 2101, 500, "migration numbering has a gap")                                       \
  X(MIGRATE_DB_NEWER, 2102, 500, "database schema is newer than this binary")                      \
  X(MIGRATE_CHECKSUM, 2103, 500, "an applied migration differs from ours")                         \
  X(MIGRATE_FAILED, 2104, 500, "a migration failed")                                               \
  X(PG_BINARIES, 2201, 500, "PostgreSQL server programs not found")                                \
  X(PG_INITDB, 2202, 500, "initdb failed")                                                         \
  X(PG_START, 2203, 500, "embedded PostgreSQL did not start")                                      \
  X(PG_STOP, 2204, 500, "embedded PostgreSQL did not stop")                                        \
  X(PG_IN_USE, 2205, 500, "data folder in use by another backstock")                               \
  X(PG_USER, 2206, 500, "no 'postgres' user to run PostgreSQL as root")                            \
  X(API_NOT_FOUND, 3001, 404, "no such resource")                                                  \
  X(API_METHOD, 3002, 405, "method not allowed on this resource")                                  \
  X(API_BODY_TOO_LARGE, 3003, 413, "request body too large")                                       \
  X(API_UNAVAILABLE, 3004, 503, "service unavailable")                                             \
  X(API_BAD_JSON, 3005, 400, "malformed JSON body")                                                \
  X(API_FIELD, 3006, 400, "invalid value for a request field")                                     \
  X(API_UNKNOWN_FIELD, 3007, 400, "unknown field in the request body")                             \
  X(API_UNAUTHORIZED, 3008, 401, "missing or invalid API key")                                     \
  X(API_FORBIDDEN, 3009, 403, "this key's role may not do this")                                   \
  X(API_IDEMPOTENCY_REQUIRED, 3010, 400, "Idempotency-Key header required")                        \
  X(API_IDEMPOTENCY_CONFLICT, 3011, 409, "Idempotency-Key reused with another request")            \
  X(API_CONFLICT, 3012, 409, "resource already exists")                                            \
  X(API_BAD_CURSOR, 3013, 400, "invalid pagination cursor")                                        \
  X(FIX_GARBLED, 4001, 400, "garbled FIX message")                                                 \
  X(FIX_MISSING, 4002, 400, "FIX field missing")                                                   \
  X(FIX_FORMAT, 4003, 400, "FIX field value has the wrong format")                                 \
  X(FIX_NOT_LOGGED_ON, 4004, 503, "FIX session not logged on")                                     \
  X(FIX_RATE, 4005, 503, "FIX outbound rate limit reached")                                        \
  X(FIX_SESSION_BUSY, 4006, 409, "FIX session active in another process")                          \
  X(FIX_TZ, 4007, 500, "unknown time zone")                                                        \
  X(FIX_NET, 4008, 503, "FIX network error")                                                       \
  X(FIX_ORDER_CONFLICT, 4009, 409, "order id already used with different terms")                   \
  X(FIX_ORDER_UNKNOWN, 4010, 404, "no such broker order")                                          \
  X(FIX_ORDER_FINAL, 4011, 409, "broker order already in a final state")                           \
  X(CUSTODY_XML, 5001, 400, "malformed XML document")                                              \
  X(CUSTODY_FORBIDDEN, 5002, 400, "DTD, entity or external reference not allowed")                 \
  X(CUSTODY_NAMESPACE, 5003, 400, "wrong document type, namespace or version")                     \
  X(CUSTODY_TOO_LARGE, 5004, 413, "document exceeds the size limit")                               \
  X(CUSTODY_DEPTH, 5005, 400, "document nested too deeply")                                        \
  X(CUSTODY_TEXT_LONG, 5006, 400, "field longer than allowed")                                     \
  X(CUSTODY_MISSING, 5007, 400, "required element missing")                                        \
  X(CUSTODY_VALUE, 5008, 400, "invalid value in a custodian document")                             \
  X(CUSTODY_MT535, 5009, 400, "malformed MT535 message")                                           \
  X(CUSTODY_PAGES, 5010, 422, "statement pages missing or duplicated")                             \
  X(CUSTODY_ACCOUNT, 5011, 403, "account servicer or safekeeping account not allowed")             \
  X(CUSTODY_DUPLICATE, 5012, 409, "document already ingested")                                     \
  X(CUSTODY_FEED, 5013, 503, "custodian feed unavailable")                                         \
  X(CUSTODY_CONFLICT, 5014, 409, "document contradicts one already stored")                        \
  X(BOOKS_UNBALANCED, 6001, 422, "posting does not balance")                                       \
  X(BOOKS_ASSET, 6002, 400, "unknown or invalid asset")                                            \
  X(BOOKS_DUPLICATE, 6003, 409, "posting key already used with other entries")                     \
  X(BOOKS_ACCOUNT, 6004, 404, "no such ledger account")                                            \
  X(BOOKS_OVERFLOW, 6005, 422, "amount out of range")                                              \
  X(BOOKS_INSUFFICIENT, 6006, 409, "balance would go below its floor")                             \
  X(CHAIN_INTENT_CONFLICT, 7001, 409, "intent key already used with other terms")                  \
  X(CHAIN_INSUFFICIENT, 7002, 409, "token balance too small")                                      \
  X(CHAIN_UNKNOWN_TOKEN, 7003, 404, "unknown token")                                               \
  X(CHAIN_PENDING, 7004, 503, "intent not executed yet")                                           \
  X(CHAIN_BACKEND, 7005, 503, "token ledger backend unavailable")                                  \
  X(CHAIN_ADDRESS, 7006, 400, "invalid account address")                                           \
  X(ORDER_STATE, 8001, 409, "order is not in a state that allows this")                            \
  X(ORDER_PAUSED, 8002, 409, "minting or redeeming this instrument is paused")                     \
  X(ORDER_SIZE, 8003, 422, "quantity outside the instrument's minimum and maximum")                \
  X(ORDER_LIMIT, 8004, 422, "order would exceed a limit of its window")                            \
  X(ORDER_HOURS, 8005, 422, "outside primary-market hours; this instrument refuses")               \
  X(ORDER_WALLET, 8006, 422, "wallet not on the AP's allow-list")                                  \
  X(ORDER_SIGNATURE, 8007, 401, "missing or invalid Ed25519 signature of the instruction")         \
  X(ORDER_NOT_FOUND, 8008, 404, "no such order")                                                   \
  X(ORDER_CORPACT, 8009, 409, "a corporate action's window pauses mint and redeem")                \
  X(ORDER_CASH, 8010, 422, "cash amount does not fit what the order needs or holds")               \
  X(ORDER_INSTRUMENT, 8011, 404, "no such instrument")                                             \
  X(ORDER_PRICE, 8012, 422, "price outside the instrument's bounds")                               \
  X(POR_OVERFLOW, 9001, 422, "sum out of range")                                                   \
  X(POR_NEGATIVE, 9002, 422, "negative balance in a proof of reserves")                            \
  X(POR_PROOF, 9003, 422, "inclusion proof does not verify")                                       \
  X(POR_HEIGHT, 9004, 422, "more leaves than the tree height allows")                              \
  X(POR_SIGNATURE, 9005, 422, "attestation signature does not verify")                             \
  X(POR_KEY, 9006, 500, "attestation signing key unavailable")                                     \
  X(POR_CANONICAL, 9007, 400, "not canonical JSON")                                                \
  X(POR_MISMATCH, 9008, 422, "recomputed figure differs from the attestation")                     \
  X(POR_NOTHING, 9009, 409, "no reconciliation run to attest")

enum err_code {
#define COMMON_ERR_ENUM(name, num, http, text) ERR_##name = num,
  COMMON_ERRORS(COMMON_ERR_ENUM)
#undef COMMON_ERR_ENUM
};

/**
 * err_name() - symbolic name of an error, e.g. "money_overflow".
 * @code: error number, either sign.
 * Returns a static string; "unknown" for a number not in the registry.
 */
const char *err_name(int code);

/**
 * err_text() - one-line human text of an error.
 * @code: error number, either sign.
 * Returns a static string.
 */
const char *err_text(int code);

/**
 * err_http_status() - HTTP status an API answers this error with.
 * @code: error number, either sign.  Unknown numbers map to 500.
 */
unsigned err_http_status(int code);

/** err_known() - whether @code (either sign) is in the registry. */
int err_known(int code);

#endif
