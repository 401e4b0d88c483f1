/*
 * common: the public interface of the common module, which every other
 * module links.  It holds the error registry, exact money and quantity
 * arithmetic, the business-day calendar, logging and configuration.
 *
 * Conventions: functions return 0 (or a non-negative count) on success and
 * a negated error number from common_errors.h on failure; out-values go
 * through pointers and are only written on success.
 */
#ifndef BACKSTOCK_COMMON_H
#define BACKSTOCK_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/common_errors.h"

/* ------------------------------------------------------------------ */
/* Exact money and quantities (common_money.c)                         */
/* ------------------------------------------------------------------ */

/*
 * A fixed-point decimal: the value is v / 10^scale, exactly.  v is a
 * signed 128-bit integer limited to the symmetric range
 * [-MONEY_V_MAX, MONEY_V_MAX] (so negation never overflows); scale is
 * 0..MONEY_MAX_SCALE.  Token amounts use scale 18, share quantities the
 * instrument's scale, cash its currency's minor units.  Never floating
 * point.
 */
#define MONEY_MAX_SCALE 38
#define MONEY_V_MAX     ((__int128)(((unsigned __int128)1 << 127) - 1))
/* Longest text money_format() writes, with its terminating NUL. */
#define MONEY_STR_MAX 48
/* Longest text money_parse() considers; longer input is ERR_TOO_LONG. */
#define MONEY_PARSE_MAX 128

struct money {
  __int128 v;
  uint8_t scale;
};

/*
 * Every operation checks its inputs too: a scale over MONEY_MAX_SCALE is
 * -ERR_MONEY_SCALE, v == -2^127 is -ERR_MONEY_OVERFLOW.  Checks run in this
 * order: requested scale, inputs, division by zero, overflow, inexact (in
 * EXACT mode a result out of range even when rounded toward zero is
 * OVERFLOW, else INEXACT).  A rounding mode outside the enum acts as EXACT.
 *
 * Rounding for results that do not fit the target scale.
 * EXACT: fail with ERR_MONEY_INEXACT instead of rounding.
 * DOWN: toward zero.  UP: away from zero.
 * HALF_EVEN: to nearest, ties to the even neighbour (banker's rounding).
 */
enum money_round {
  MONEY_ROUND_EXACT = 0,
  MONEY_ROUND_DOWN,
  MONEY_ROUND_UP,
  MONEY_ROUND_HALF_EVEN,
};

/* money_parse() flag: a leading '-' is allowed. */
#define MONEY_PARSE_NEGATIVE 0x1u

/**
 * money_make() - build a money value from a raw integer and a scale.
 * @v: the value in base units (10^-scale).
 * @scale: 0..MONEY_MAX_SCALE.
 * @out: receives the value.
 * Returns 0, -ERR_MONEY_SCALE or -ERR_MONEY_OVERFLOW (v outside the
 * symmetric range).
 */
int money_make(__int128 v, unsigned scale, struct money *out);

/**
 * money_parse() - parse a decimal string exactly.
 * @s: the text, not necessarily NUL-terminated.
 * @len: its length in bytes.
 * @scale: scale of the result; the text may have at most this many
 *         fraction digits.
 * @flags: MONEY_PARSE_NEGATIVE to allow a leading '-'.
 * @out: receives the value at @scale.
 *
 * Grammar: ['-'] ('0' | [1-9][0-9]*) ['.' [0-9]+].  No '+', no spaces,
 * no leading zeros, no exponent, no thousands separators.
 * Returns 0 or one distinct error: -ERR_TOO_LONG, -ERR_MONEY_SYNTAX,
 * -ERR_MONEY_SIGN, -ERR_MONEY_EXPONENT, -ERR_MONEY_NAN,
 * -ERR_MONEY_PRECISION, -ERR_MONEY_OVERFLOW, -ERR_MONEY_SCALE.
 * When several apply, the first of: scale, too long, empty (syntax), '+'
 * (sign), NaN/inf words, '-' without the flag (sign), exponent, syntax,
 * precision, overflow.  So "-inf" is ERR_MONEY_NAN and "1.50e3" at scale
 * 1 is ERR_MONEY_EXPONENT.
 */
int money_parse(const char *s, size_t len, unsigned scale, unsigned flags, struct money *out);

/**
 * money_format() - write the canonical text of a value.
 * @m: the value.
 * @buf: receives the text, NUL-terminated: exactly m.scale fraction
 *       digits (none and no point when the scale is 0), '-' when negative.
 * @size: size of @buf; MONEY_STR_MAX always suffices.
 * Returns the length written (without the NUL), -ERR_TOO_LONG when @buf
 * is too small, or -ERR_MONEY_SCALE / -ERR_MONEY_OVERFLOW for an invalid
 * @m (then buf[0] = '\0').  money_parse() of the text gives back @m.
 */
int money_format(struct money m, char *buf, size_t size);

/**
 * money_rescale() - change the scale of a value.
 * @a: the value.
 * @scale: the new scale.
 * @mode: rounding when digits are dropped.
 * @out: receives the value at @scale.
 * Returns 0, -ERR_MONEY_SCALE, -ERR_MONEY_OVERFLOW, -ERR_MONEY_INEXACT.
 */
int money_rescale(struct money a, unsigned scale, enum money_round mode, struct money *out);

/**
 * money_add() - exact sum; the result has the larger of the two scales.
 * Returns 0 or -ERR_MONEY_OVERFLOW.
 */
int money_add(struct money a, struct money b, struct money *out);

/**
 * money_sub() - exact difference a - b; the result has the larger scale.
 * Returns 0 or -ERR_MONEY_OVERFLOW.
 */
int money_sub(struct money a, struct money b, struct money *out);

/**
 * money_mul() - product a * b at @scale, rounded by @mode.  The full
 * product is computed in 256 bits, so only the result must fit.
 * Returns 0, -ERR_MONEY_SCALE, -ERR_MONEY_OVERFLOW, -ERR_MONEY_INEXACT.
 */
int money_mul(struct money a, struct money b, unsigned scale, enum money_round mode,
              struct money *out);

/**
 * money_div() - quotient a / b at @scale, rounded by @mode.
 * Returns 0, -ERR_MONEY_DIV_ZERO, -ERR_MONEY_SCALE, -ERR_MONEY_OVERFLOW,
 * -ERR_MONEY_INEXACT.
 */
int money_div(struct money a, struct money b, unsigned scale, enum money_round mode,
              struct money *out);

/**
 * money_cmp() - compare exactly, across scales (any scale 0..255 and
 * v == -2^127 included: it has no error path).
 * Returns -1, 0 or 1 as a <, = or > b.
 */
int money_cmp(struct money a, struct money b);

/* ------------------------------------------------------------------ */
/* Dates and the business-day calendar (common_calendar.c)             */
/* ------------------------------------------------------------------ */

/*
 * A date is a day number: days since 1970-01-01 (proleptic Gregorian),
 * negative before.  Supported years: CAL_YEAR_MIN..CAL_YEAR_MAX.
 */
#define CAL_YEAR_MIN 1900
#define CAL_YEAR_MAX 2200
/* Text of a date "YYYY-MM-DD" plus NUL. */
#define CAL_DATE_STR 11

/**
 * cal_day() - day number of a civil date.
 * Returns 0, or -ERR_CAL_DATE_RANGE for an invalid or unsupported date.
 */
int cal_day(int year, unsigned month, unsigned mday, int32_t *out);

/** cal_civil() - civil date of a day number. */
void cal_civil(int32_t day, int *year, unsigned *month, unsigned *mday);

/** cal_weekday() - 0 = Sunday .. 6 = Saturday. */
unsigned cal_weekday(int32_t day);

/**
 * cal_parse_date() - parse exactly "YYYY-MM-DD".
 * Returns 0, -ERR_CAL_DATE_SYNTAX or -ERR_CAL_DATE_RANGE.
 */
int cal_parse_date(const char *s, size_t len, int32_t *out);

/** cal_format_date() - write "YYYY-MM-DD" into @buf (CAL_DATE_STR bytes). */
void cal_format_date(int32_t day, char buf[CAL_DATE_STR]);

/** cal_easter() - day number of Easter Sunday of @year (Gregorian). */
int32_t cal_easter(int year);

/**
 * cal_nyse_holiday() - whether @day is an NYSE full-day holiday by the
 * exchange's rules: true on the weekday the exchange closes (the observed
 * date), false on a weekend day even if a holiday's date falls there.
 * Extra closures are not included; early closes (half days) are not
 * modelled.
 * @name: if not NULL, receives a static name of the holiday.
 */
bool cal_nyse_holiday(int32_t day, const char **name);

/*
 * A market calendar: the NYSE rules plus extra closures (national days of
 * mourning, weather) loaded from data.  Weekends are never business days.
 */
struct cal {
  int32_t *closures; /* sorted, unique */
  size_t n_closures;
  size_t cap_closures;
};

/** cal_init() - an NYSE calendar with no extra closures. */
void cal_init(struct cal *c);

/** cal_free() - release @c; cal_free(NULL) does nothing. */
void cal_free(struct cal *c);

/**
 * cal_add_closure() - add one extra full-day closure.
 * Returns 0 or -ERR_NOMEM.
 */
int cal_add_closure(struct cal *c, int32_t day);

/**
 * cal_load_closures() - add extra closures from text: one date per line
 * ("YYYY-MM-DD"), optionally followed by whitespace and a reason; blank
 * lines and lines starting with '#' are ignored.
 * @line_out: if not NULL, receives the 1-based number of a bad line (the
 * one out-value written on failure).
 * Returns 0, -ERR_CAL_CLOSURES or -ERR_NOMEM; on error @c is unchanged.
 */
int cal_load_closures(struct cal *c, const char *text, size_t len, unsigned *line_out);

/**
 * cal_load_closures_file() - cal_load_closures() from a file of at most
 * 1 MiB; also -ERR_IO (unreadable) or -ERR_TOO_LONG.
 */
int cal_load_closures_file(struct cal *c, const char *path, unsigned *line_out);

/*
 * The closures file shipped with the source (data/nyse-closures.txt),
 * embedded at build time: load it with cal_load_closures().
 */
extern const char cal_builtin_closures[];
extern const size_t cal_builtin_closures_len;

/**
 * cal_is_business_day() - not a weekend, holiday or extra closure.
 * @c: NULL means the bare NYSE rules.
 */
bool cal_is_business_day(const struct cal *c, int32_t day);

/**
 * cal_add_business_days() - T+N: the date @n business days after @day
 * (before it when @n is negative; @day itself need not be a business
 * day).  @n == 0 gives @day if it is a business day, else the next one.
 * Returns 0 or -ERR_CAL_DATE_RANGE when the result leaves the range.
 */
int cal_add_business_days(const struct cal *c, int32_t day, int n, int32_t *out);

/* ------------------------------------------------------------------ */
/* Logging (common_log.c)                                              */
/* ------------------------------------------------------------------ */

enum log_level { LOGL_DEBUG = 0, LOGL_INFO, LOGL_WARN, LOGL_ERROR };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

/**
 * log_setup() - choose level, format and destination (stderr if NULL).
 * Safe to call again; lines are written whole, from any thread.
 */
void log_setup(enum log_level level, enum log_format format, FILE *out);

/**
 * log_set_request_id() - request id of the calling thread, copied (at
 * most 63 bytes); NULL clears it.
 */
void log_set_request_id(const char *id);

/**
 * log_msg() - write one line: time (UTC, RFC 3339 with milliseconds),
 * level, component, request id if any, message.
 */
void log_msg(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void log_vmsg(enum log_level level, const char *component, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/**
 * log_bug() - a bug of ours (not bad input): logged at error level with
 * the source file and line.
 */
void log_bug_at(const char *file, int line, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define log_bug(component, ...) log_bug_at(__FILE__, __LINE__, component, __VA_ARGS__)

/** log_level_parse() - "debug", "info", "warn", "error". */
int log_level_parse(const char *s, enum log_level *out);

/**
 * log_format_line() - format one line into @buf without writing it
 * (what log_msg writes).  Returns the length, truncated to @size - 1.
 */
size_t log_format_line(char *buf, size_t size, enum log_format format, int64_t unix_ms,
                       enum log_level level, const char *component, const char *request_id,
                       const char *msg);

/* ------------------------------------------------------------------ */
/* Configuration (common_config.c)                                     */
/* ------------------------------------------------------------------ */

#define CFG_PATH_MAX 1024
#define CFG_STR_MAX  256
#define CFG_ID_MAX   64 /* CompIDs, account, time zone name (63 and the NUL) */

/*
 * The service's configuration.  Defaults, then a file (key = value lines),
 * then BACKSTOCK_* environment variables, each later source overriding
 * the earlier.  database_url may hold a password and custody_feed_token
 * is a secret: both are wiped by cfg_free() and never logged.
 */
struct cfg {
  char listen_host[CFG_STR_MAX];    /* BACKSTOCK_LISTEN host part */
  uint16_t listen_port;             /* BACKSTOCK_LISTEN port part */
  char data_dir[CFG_PATH_MAX];      /* BACKSTOCK_DATA_DIR */
  char *database_url;               /* BACKSTOCK_DATABASE_URL, NULL = embedded */
  char pg_bindir[CFG_PATH_MAX];     /* BACKSTOCK_PG_BINDIR, "" = search */
  char calendar_file[CFG_PATH_MAX]; /* BACKSTOCK_CALENDAR_FILE */
  enum log_level log_level;         /* BACKSTOCK_LOG_LEVEL */
  enum log_format log_format;       /* BACKSTOCK_LOG_FORMAT */
  unsigned db_max_retries;          /* BACKSTOCK_DB_MAX_RETRIES */
  unsigned db_pool_size;            /* BACKSTOCK_DB_POOL_SIZE */
  unsigned http_threads;            /* BACKSTOCK_HTTP_THREADS */
  /* The broker connector ("backstock connector"). */
  char broker_host[CFG_STR_MAX];          /* BACKSTOCK_BROKER host part */
  uint16_t broker_port;                   /* BACKSTOCK_BROKER port part */
  char broker_sender_comp_id[CFG_ID_MAX]; /* BACKSTOCK_BROKER_SENDER_COMP_ID */
  char broker_target_comp_id[CFG_ID_MAX]; /* BACKSTOCK_BROKER_TARGET_COMP_ID */
  char broker_account[CFG_ID_MAX];        /* BACKSTOCK_BROKER_ACCOUNT */
  unsigned fix_heartbeat_s;               /* BACKSTOCK_FIX_HEARTBEAT_S */
  unsigned fix_reset_minute;              /* BACKSTOCK_FIX_RESET_TIME, minutes after midnight */
  char fix_time_zone[CFG_ID_MAX];         /* BACKSTOCK_FIX_TIME_ZONE */
  unsigned fix_rate_per_s;                /* BACKSTOCK_FIX_RATE_PER_S, 0 = unlimited */
  bool fix_reset_on_logon;                /* BACKSTOCK_FIX_RESET_ON_LOGON */
  /* Custodian feeds ("backstock custody ..."). */
  char custody_servicers[CFG_PATH_MAX]; /* BACKSTOCK_CUSTODY_SERVICERS, comma list */
  char custody_accounts[CFG_PATH_MAX];  /* BACKSTOCK_CUSTODY_ACCOUNTS, comma list */
  char custody_drop_dir[CFG_PATH_MAX];  /* BACKSTOCK_CUSTODY_DROP_DIR, relative: under data_dir */
  char custody_feed_url[CFG_PATH_MAX];  /* BACKSTOCK_CUSTODY_FEED_URL, "" = no HTTP feed */
  char *custody_feed_token;             /* BACKSTOCK_CUSTODY_FEED_TOKEN, secret, NULL = none */
  unsigned custody_poll_ms;             /* BACKSTOCK_CUSTODY_POLL_MS */
  uint64_t custody_max_bytes;           /* BACKSTOCK_CUSTODY_MAX_BYTES */
  /* The order engine and settlement queue ("backstock serve", "backstock engine"). */
  bool serve_engine;                 /* BACKSTOCK_SERVE_ENGINE: serve runs the engine too */
  unsigned engine_poll_ms;           /* BACKSTOCK_ENGINE_POLL_MS */
  unsigned engine_batch;             /* BACKSTOCK_ENGINE_BATCH */
  unsigned settlement_retry_s;       /* BACKSTOCK_SETTLEMENT_RETRY_S, clock seconds */
  unsigned settlement_escalate_days; /* BACKSTOCK_SETTLEMENT_ESCALATE_DAYS */
  char redemption_address[44];       /* BACKSTOCK_REDEMPTION_ADDRESS, lower case */
  /* Attestations (docs/attestation.md). */
  char attestation_key_dir[CFG_PATH_MAX]; /* BACKSTOCK_ATTESTATION_KEY_DIR, relative: under data_dir
                                           */
  unsigned attestation_tree_height;       /* BACKSTOCK_ATTESTATION_TREE_HEIGHT, 1..40 */
  uint64_t recon_tolerance_tokens;        /* BACKSTOCK_RECON_TOLERANCE_TOKENS, token base units */
};

/* One documented key; the table drives parsing, printing and the README. */
struct cfg_key {
  const char *key; /* in the file, e.g. "listen" */
  const char *env; /* e.g. "BACKSTOCK_LISTEN" */
  const char *def; /* default, as text */
  const char *doc; /* one line */
};

/** cfg_keys() - the table of keys; *n receives its length. */
const struct cfg_key *cfg_keys(size_t *n);

/** cfg_init() - fill @c with the defaults. */
void cfg_init(struct cfg *c);

/** cfg_free() - wipe and free what @c owns; cfg_free(NULL) does nothing. */
void cfg_free(struct cfg *c);

/**
 * cfg_set() - set one key from text.
 * @key: the file key ("listen") or the variable ("BACKSTOCK_LISTEN").
 * @value: no control characters, no spaces at either end.
 * Returns 0, -ERR_CFG_UNKNOWN_KEY, -ERR_CFG_VALUE or -ERR_NOMEM.
 */
int cfg_set(struct cfg *c, const char *key, const char *value);

/**
 * cfg_load_text() - apply "key = value" lines ('#' comments, blank lines).
 * @line_out: if not NULL, receives the 1-based number of a bad line.
 * Returns 0 or the error of the first bad line (-ERR_CFG_SYNTAX, ...).
 */
int cfg_load_text(struct cfg *c, const char *text, size_t len, unsigned *line_out);

/** cfg_load_file() - cfg_load_text() from a file; -ERR_CFG_FILE if unreadable. */
int cfg_load_file(struct cfg *c, const char *path, unsigned *line_out);

/**
 * cfg_load_env() - apply every BACKSTOCK_* variable of @envp (NULL-ended,
 * like environ).  An unknown BACKSTOCK_ variable is an error, so typos
 * do not pass silently.  BACKSTOCK_CONFIG and BACKSTOCK_TEST_* are skipped.
 * @bad_out: if not NULL, receives the offending variable name (borrowed).
 */
int cfg_load_env(struct cfg *c, char *const *envp, const char **bad_out);

/**
 * cfg_print() - write the effective configuration as key = value lines,
 * with any password in the database URL replaced by "***".
 */
void cfg_print(const struct cfg *c, FILE *out);

/* ------------------------------------------------------------------ */
/* Configuration walker (common_kv.c)                                  */
/* ------------------------------------------------------------------ */

/*
 * The syntax every configuration shares, with the keys left to a setter:
 * a text of lines ending in '\n' (a '\r' before it is dropped), each
 * blank, a comment ('#' first after spaces and tabs) or "key = value"
 * (spaces and tabs around key and value are dropped; the value may be
 * empty and may hold '='); and environment variables PREFIX<KEY>.  Last,
 * what several setters share: their refusal helper and two value parsers.
 */

#define KV_LINE_MAX 4200 /* the largest line_max: lines of up to 4199 bytes */

/**
 * kv_set_fn - a setter: apply @value to @key of the configuration @cls.
 * @key, @value: NUL-terminated, trimmed; borrowed for the call only (a
 * file's may hold a secret and are wiped after it: copy what is kept).
 * @why, @wsz: where to describe a refusal (may be NULL, 0).
 * Returns 0 or a negative error, which the walker returns as it is.
 */
typedef int (*kv_set_fn)(void *cls, const char *key, const char *value, char *why, size_t wsz);

/**
 * kv_load_text() - call @set for each "key = value" line of @text.
 * @text, @len: the lines; need not be NUL-terminated.
 * @line_max: a line of @line_max bytes or more (before trimming, with its
 * '\r') is an error; at most KV_LINE_MAX (larger counts as KV_LINE_MAX).
 * @line_out: if not NULL, receives the 1-based number of the bad line.
 * @why, @wsz: if not NULL, receive a one-line description of the error:
 * "line too long or holding a NUL byte", "want key = value", or the setter's.
 * Returns 0, -ERR_CFG_SYNTAX (a line too long, holding a NUL byte, with no
 * '=' or an empty key) or the first error of @set; lines after a bad one
 * are not applied.
 */
int kv_load_text(const char *text, size_t len, size_t line_max, kv_set_fn set, void *cls,
                 unsigned *line_out, char *why, size_t wsz);

/**
 * kv_load_file() - kv_load_text() of the file @path (at most 1 MiB); the
 * file's bytes are wiped before they are freed.
 * Returns as kv_load_text(), or -ERR_CFG_FILE ("cannot read <path>") if the
 * file cannot be read or is larger.
 */
int kv_load_file(const char *path, size_t line_max, kv_set_fn set, void *cls, unsigned *line_out,
                 char *why, size_t wsz);

/**
 * kv_load_env() - call @set for each variable of @envp (NULL-ended, like
 * environ) named @prefix<KEY>, in order, with KEY lower-cased up to its
 * first '.' and kept as written after it (BACKSTOCK_SIM_PRICE.AAPL gives
 * "price.AAPL").  A name of 128 bytes or more is passed over.  Every
 * prefixed variable goes to @set: an unknown key is the setter's error.
 * @bad_out: if not NULL, receives the name of the variable @set refused
 * (valid until the thread's next kv_load_env*() call).
 * Returns 0 or the first error of @set.
 */
int kv_load_env(char *const *envp, const char *prefix, kv_set_fn set, void *cls,
                const char **bad_out, char *why, size_t wsz);

/**
 * kv_load_env_var() - call @set with @key for each variable of @envp named
 * exactly @name (BACKSTOCK_DATABASE_URL as "database_url"); @bad_out as
 * for kv_load_env().  Returns 0 or the first error of @set.
 */
int kv_load_env_var(char *const *envp, const char *name, const char *key, kv_set_fn set, void *cls,
                    const char **bad_out, char *why, size_t wsz);

/**
 * kv_fail() - a setter's refusal: format the message into @why (if not
 * NULL and @wsz > 0) and return @rc.
 */
__attribute__((format(printf, 4, 5))) int kv_fail(char *why, size_t wsz, int rc, const char *fmt,
                                                  ...);

/**
 * kv_parse_uint() - the decimal [@s, @s + @len): digits only, no sign, no
 * leading zero, 1-9 digits, within [@lo, @hi], into *@out.
 * Returns 0 or -ERR_CFG_VALUE (*@out untouched).
 */
int kv_parse_uint(const char *s, size_t len, uint32_t lo, uint32_t hi, uint32_t *out);

#define KV_IPV4_MAX 16 /* a dotted IPv4 address and its NUL (INET_ADDRSTRLEN) */

/**
 * kv_parse_ipv4_port() - "IPv4-address:port" (port 0-65535 as
 * kv_parse_uint()) into @host_out and *@port_out.
 * Returns 0 or -ERR_CFG_VALUE (outputs untouched).
 */
int kv_parse_ipv4_port(const char *v, char host_out[KV_IPV4_MAX], uint16_t *port_out);

/* ------------------------------------------------------------------ */
/* Process options and signals (common_proc.c)                         */
/* ------------------------------------------------------------------ */

/**
 * proc_catch_stop() - from now on SIGINT and SIGTERM set *@stop to 1 (and
 * do nothing else), and SIGPIPE is ignored.  One flag per process: a
 * second call replaces the first's.  @stop must outlive the process's
 * signals (a static).
 */
void proc_catch_stop(volatile int *stop);

/**
 * proc_options() - the options a process takes before anything else:
 * "--config FILE" and "--help" (or "-h"); they end at the first argument
 * that does not start with '-'.
 * @usage: writes the process's usage text to the stream it is given.
 * @config_path: receives FILE (left as it is without --config; borrowed
 * from @argv).
 * @next: receives the index of the first argument after the options; NULL
 * when the process takes no other arguments (then one is an error).
 * Returns -1 to go on, or the exit status to return at once: 0 after
 * --help (usage on stdout), 2 after any other option, a --config without
 * FILE or, with @next NULL, an argument after the options (usage on
 * stderr).
 */
int proc_options(int argc, char **argv, void (*usage)(FILE *out), const char **config_path,
                 int *next);

/* ------------------------------------------------------------------ */
/* Small helpers (common_util.c)                                       */
/* ------------------------------------------------------------------ */

/* 10^0 .. 10^19: every power of ten that fits 64 bits. */
extern const uint64_t util_pow10[20];

/** util_now_ms() - wall clock, milliseconds since the epoch (UTC). */
int64_t util_now_ms(void);

/** util_mono_ms() - monotonic clock in milliseconds. */
int64_t util_mono_ms(void);

/** util_sleep_ms() - sleep, resuming after signals. */
void util_sleep_ms(unsigned ms);

/**
 * util_read_file() - read a whole file, at most @max bytes.
 * @out: receives a malloc'd buffer (NUL-terminated, free with free()).
 * Returns 0, -ERR_IO, -ERR_TOO_LONG or -ERR_NOMEM.
 */
int util_read_file(const char *path, size_t max, char **out, size_t *len);

/**
 * util_strlcpy() - copy with truncation check.
 * Returns 0, or -ERR_TOO_LONG (dst then holds a truncated copy).
 */
int util_strlcpy(char *dst, const char *src, size_t size);

/**
 * util_random_hex() - @nbytes random bytes (libsodium) as lower-case hex
 * into @out (2 * nbytes + 1 bytes).
 */
void util_random_hex(char *out, size_t nbytes);

/**
 * util_json_escape() - append @s as JSON string contents (no quotes) to
 * @buf at *@pos, never past @size - 1; keeps the buffer NUL-terminated.
 */
void util_json_escape(char *buf, size_t size, size_t *pos, const char *s);

#endif
