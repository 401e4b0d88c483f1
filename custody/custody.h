/*
 * custody: what the custodian tells us, the authority on how many shares
 * the issuer really holds.
 *
 * - Parsers of outside input: semt.002.001.11 statements of holdings
 *   (streaming, libxml2 xmlTextReader: memory does not grow with the
 *   number of positions), SWIFT MT535 statements (FIN block 4) and
 *   sese.025.001.11 settlement confirmations.  Hostile input is expected:
 *   no network, no DTD, no entity expansion, limits on size, depth and
 *   text length; a wrong namespace or version is a clear error.
 * - Writers of the same formats (the simulated custodian, fixtures,
 *   benchmarks); what they write validates against the schemas in
 *   ../shared/data/iso20022.
 * - The store: each document stored once in PostgreSQL with its raw
 *   bytes, SHA-256 and parsed content; pages assembled into statements;
 *   rejected input recorded with its reason, nothing else stored.
 * - Feeds: a drop folder and an HTTP endpoint polled with libcurl.
 *
 * Facts and pitfalls: ../shared/docs/CUSTODY_POR.md.  Quantities are
 * exact: struct money at CUSTODY_QTY_SCALE (Unit, FaceAmt, AmtsdVal) or
 * CUSTODY_DGTL_SCALE (DgtlTknUnit).
 */
#ifndef BACKSTOCK_CUSTODY_H
#define BACKSTOCK_CUSTODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/common.h"
#include "db/db.h"

/* Unit: DecimalNumber, 18 digits of which at most 17 after the point. */
#define CUSTODY_QTY_SCALE 17
/* DgtlTknUnit: 30 digits of which at most 29 after the point. */
#define CUSTODY_DGTL_SCALE 29

#define CUSTODY_ID_MAX     36 /* Max35Text + NUL */
#define CUSTODY_ISIN_LEN   12
#define CUSTODY_SUBBAL_MAX 16 /* sub-balances kept per position; more is an error */

/* Limits on outside input (custody_limits_default()). */
struct custody_limits {
  uint64_t max_bytes;     /* whole document; default 512 MiB */
  unsigned max_depth;     /* element nesting; default 64 */
  size_t max_text;        /* one text node or MT535 field; default 4096 */
  uint64_t max_positions; /* per document; default 10,000,000 */
};

void custody_limits_default(struct custody_limits *l);

/* Why a document was refused: registry code, where, and a message. */
struct custody_error {
  int code;       /* -ERR_CUSTODY_* (or another registry error) */
  uint64_t line;  /* 1-based line in the input, 0 if unknown */
  char where[96]; /* element path or MT535 tag, e.g. "BalForAcct/AggtBal/Qty" */
  char msg[192];
};

enum custody_kind {
  CUSTODY_KIND_SEMT002 = 1,
  CUSTODY_KIND_MT535 = 2,
  CUSTODY_KIND_SESE025 = 3,
};

/* StmtBsis */
enum custody_basis { CUSTODY_BASIS_SETT = 1, CUSTODY_BASIS_TRAD, CUSTODY_BASIS_CONT };
/* UpdTp */
enum custody_update { CUSTODY_UPDATE_COMPLETE = 1, CUSTODY_UPDATE_DELTA };

/* The statement's general details, known before its first position. */
struct custody_stmt {
  enum custody_kind kind;
  char stmt_id[CUSTODY_ID_MAX]; /* StmtId or 20C::SEME; "" when absent */
  uint32_t page_no;             /* Pgntn/PgNb or 28E */
  bool last_page;               /* Pgntn/LastPgInd or 28E LAST/ONLY */
  int32_t stmt_day;             /* calendar day of StmtDtTm (Dt, or DtTm in UTC) */
  int64_t stmt_ms;              /* StmtDtTm as UTC ms; the day's midnight when only a date */
  bool stmt_has_time;
  char frequency[5];                     /* Frqcy code (DAIL...), "" when absent */
  enum custody_update update;            /* COMP / DELT */
  enum custody_basis basis;              /* SETT / TRAD / CONT */
  bool activity;                         /* ActvtyInd */
  bool sub_accounts;                     /* SubAcctInd */
  char account_owner[CUSTODY_ID_MAX];    /* AcctOwnr: AnyBIC, LEI or proprietary id */
  char account_servicer[CUSTODY_ID_MAX]; /* AcctSvcr BIC (MT535: the sender BIC) */
  char safekeeping_account[CUSTODY_ID_MAX];
};

enum custody_qty_kind {
  CUSTODY_QTY_UNIT = 1,
  CUSTODY_QTY_FACE_AMT,
  CUSTODY_QTY_AMTSD_VAL,
  CUSTODY_QTY_DGTL_TKN_UNIT,
};

/* One quantity as the custodian reported it. */
struct custody_qty {
  bool present;
  enum custody_qty_kind kind;
  struct money qty; /* >= 0; scale CUSTODY_QTY_SCALE, or CUSTODY_DGTL_SCALE for DgtlTknUnit */
  bool shrt;        /* ShrtLngInd SHOR (or a negative MT535 quantity) */
};

struct custody_subbal {
  char type[5]; /* SubBalTp code: PENR, PEND, BLOK, PLED, COLO, ... (or Prtry id, cut to 4) */
  struct custody_qty qty;
};

/* One instrument's balances in one (sub-)account. */
struct custody_position {
  char sub_account[CUSTODY_ID_MAX]; /* SubAcctDtls/SfkpgAcct/Id; "" for the main account */
  char isin[CUSTODY_ISIN_LEN + 1];  /* checked against [A-Z]{2}[A-Z0-9]{9}[0-9] */
  char description[CUSTODY_ID_MAX];
  struct custody_qty aggregate;     /* AggtBal, required */
  struct custody_qty available;     /* AvlblBal */
  struct custody_qty not_available; /* NotAvlblBal */
  char place[CUSTODY_ID_MAX];       /* SfkpgPlc id (BIC or 94F), "" when absent */
  struct custody_subbal sub[CUSTODY_SUBBAL_MAX];
  unsigned n_sub;
};

/*
 * Called once per position, in document order; @st is complete by then.
 * A nonzero return stops the parse and is returned by it.
 */
typedef int (*custody_position_fn)(void *cls, const struct custody_stmt *st,
                                   const struct custody_position *p);

/* ------------------------------------------------------------------ */
/* semt.002.001.11 (custody_semt002.c)                                 */
/* ------------------------------------------------------------------ */

/**
 * custody_semt002_parse_fd() - stream one semt.002 page (one XML
 * Document) from @fd.  @st receives the statement details (also for a
 * page with no position); @fn gets every position.  Memory stays bounded
 * whatever the number of positions.  Returns 0, the callback's nonzero
 * value, or -ERR_CUSTODY_* with @err filled.
 */
int custody_semt002_parse_fd(int fd, const struct custody_limits *lim, struct custody_stmt *st,
                             custody_position_fn fn, void *cls, struct custody_error *err);

/** custody_semt002_parse_mem() - the same from memory. */
int custody_semt002_parse_mem(const char *buf, size_t len, const struct custody_limits *lim,
                              struct custody_stmt *st, custody_position_fn fn, void *cls,
                              struct custody_error *err);

/*
 * Writing a semt.002 page: begin (header), positions of the main account
 * first, then each sub-account's positions together, end.  Output
 * validates against semt.002.001.11.xsd.  Returns 0 or -ERR_IO /
 * -ERR_INVALID_ARGUMENT.
 */
int custody_semt002_write_begin(FILE *out, const struct custody_stmt *st);
int custody_semt002_write_position(FILE *out, const struct custody_position *p);
int custody_semt002_write_end(FILE *out);

/* ------------------------------------------------------------------ */
/* MT535 (custody_mt535.c)                                             */
/* ------------------------------------------------------------------ */

/**
 * custody_mt535_parse() - one MT535 message (blocks {1:}{2:}{4:...-}, or
 * block 4's text alone) of @len bytes.  Same contract as the semt.002
 * parser: @st then @fn per position (sequence B1, with B1b sub-balances).
 * Decimal comma; "N" before a quantity makes it negative (shrt).
 */
int custody_mt535_parse(const char *buf, size_t len, const struct custody_limits *lim,
                        struct custody_stmt *st, custody_position_fn fn, void *cls,
                        struct custody_error *err);

/** custody_mt535_write() - an MT535 of @n positions (main account only). */
int custody_mt535_write(FILE *out, const struct custody_stmt *st, const struct custody_position *p,
                        size_t n);

/* ------------------------------------------------------------------ */
/* sese.025.001.11 (custody_sese025.c)                                 */
/* ------------------------------------------------------------------ */

enum custody_direction { CUSTODY_RECEIVE = 1, CUSTODY_DELIVER = 2 };

/* One settled transaction. */
struct custody_settlement {
  char tx_id[CUSTODY_ID_MAX];          /* TxIdDtls/AcctOwnrTxId */
  char servicer_tx_id[CUSTODY_ID_MAX]; /* AcctSvcrTxId, "" when absent */
  char account_owner[CUSTODY_ID_MAX];
  char account_servicer[CUSTODY_ID_MAX];
  char safekeeping_account[CUSTODY_ID_MAX];
  char isin[CUSTODY_ISIN_LEN + 1];
  struct custody_qty qty;           /* SttldQty */
  enum custody_direction direction; /* SctiesMvmntTp RECE / DELI */
  bool against_payment;             /* Pmt APMT (else FREE) */
  int32_t trade_day;                /* TradDt, INT32_MIN when absent */
  int32_t settlement_day;           /* EfctvSttlmDt (date part) */
  struct money amount;              /* SttldAmt, scale 2; 0 when free of payment */
  char currency[4];                 /* "" when free of payment */
};

/** custody_sese025_parse_mem() - one confirmation.  Returns 0 or -ERR_CUSTODY_*. */
int custody_sese025_parse_mem(const char *buf, size_t len, const struct custody_limits *lim,
                              struct custody_settlement *out, struct custody_error *err);

/** custody_sese025_write() - a confirmation that validates against sese.025.001.11.xsd. */
int custody_sese025_write(FILE *out, const struct custody_settlement *s);

/* ------------------------------------------------------------------ */
/* Store and feeds (custody_store.c, custody_feed.c)                   */
/* ------------------------------------------------------------------ */

/* CUSTODY-STORE-API-BEGIN (written with custody_store.c and custody_feed.c) */

/*
 * The store (custody_store.c, tables in migrations/0006-custody.sql,
 * docs/custody-store.md).  A document is ingested in one transaction:
 * stored with its raw bytes, SHA-256 and everything parsed from it, or
 * not at all -- then one custody_rejects row says why.  The SHA-256 is
 * the idempotency key: the same bytes again change nothing.
 */

/* Raw bytes up to this size are kept in one bytea, larger ones in chunks. */
#define CUSTODY_RAW_INLINE_MAX (64u << 20)
#define CUSTODY_RAW_CHUNK      (1u << 20)
/* MT535 and sese.025 documents are parsed from memory: at most this size. */
#define CUSTODY_MEM_DOC_MAX (64u << 20)
/* Bytes of a refused document kept in its reject row. */
#define CUSTODY_REJECT_HEAD 4096

enum custody_outcome {
  CUSTODY_INGESTED = 1, /* stored */
  CUSTODY_DUPLICATE,    /* the same bytes were stored before: nothing changed */
  CUSTODY_REJECTED,     /* refused: a custody_rejects row, nothing else */
};

/* What became of one document. */
struct custody_ingest {
  enum custody_outcome outcome; /* 0: nothing recorded (a failure to retry later) */
  enum custody_kind kind;       /* 0 when not recognised */
  char sha256[65];              /* lower-case hex; "" when not computed (over max_bytes) */
  uint64_t size;
  int64_t document_id;      /* the stored document (new, or the earlier one for a duplicate) */
  int64_t reject_id;        /* the custody_rejects row of a refused document */
  uint64_t positions;       /* positions stored (0 for a duplicate or a reject) */
  uint64_t balances;        /* custody_positions rows stored */
  bool completed;           /* this page completed its statement */
  unsigned stale;           /* earlier incomplete statements this one reported stale */
  struct custody_error err; /* why, when refused */
};

struct custody_store;

/**
 * custody_store_open() - a store on connection @c (borrowed; it must
 * outlive the store and stay free of an open transaction between calls).
 * @servicers: allow-listed account servicers (BICs), comma-separated;
 *             spaces around items are ignored.  Empty: every document is
 *             refused (logged once here, and in each reject's message).
 * @accounts: allow-listed safekeeping accounts, likewise.
 * @lim: limits on outside input (NULL: custody_limits_default()).
 * @out: receives the store; free with custody_store_free().
 * Returns 0, -ERR_INVALID_ARGUMENT (an item longer than 35 characters)
 * or -ERR_NOMEM.
 */
int custody_store_open(struct db_conn *c, const char *servicers, const char *accounts,
                       const struct custody_limits *lim, struct custody_store **out);

/** custody_store_free() - free @s (not its connection); NULL does nothing. */
void custody_store_free(struct custody_store *s);

/** custody_store_db() - the connection of @s (borrowed). */
struct db_conn *custody_store_db(struct custody_store *s);

/** custody_store_limits() - the limits of @s (borrowed). */
const struct custody_limits *custody_store_limits(const struct custody_store *s);

/**
 * custody_reject_record() - record a document refused before it could be
 * read whole (a download over max_bytes): a custody_rejects row with no
 * SHA-256.  @head: its first bytes (at most CUSTODY_REJECT_HEAD kept).
 * @reject_id: if not NULL, receives the row's id.
 * Returns 0 or a database error.
 */
int custody_reject_record(struct custody_store *s, const char *source, uint64_t size,
                          const char *head, size_t head_len, const struct custody_error *err,
                          int64_t *reject_id);

/**
 * custody_ingest_fd() - ingest the regular file open on @fd (read from
 * offset 0 with pread/lseek; the descriptor stays open).  The kind is
 * detected from the bytes: an XML root in the namespace of semt.002 or
 * sese.025 (any other XML goes to the semt.002 parser, which names the
 * fault), or an MT535 FIN text.
 * @source: where it came from, for the tables and the log (a path, a URL).
 * @res: receives the outcome, always written.
 * Returns 0 when ingested or a duplicate; the -ERR_CUSTODY_* (or
 * -ERR_MONEY_* / -ERR_CAL_*) reason when refused (res->outcome
 * CUSTODY_REJECTED, a reject row stored); or -ERR_IO, -ERR_DB_CONNECT,
 * -ERR_DB_HARD, -ERR_DB_CONFLICT, -ERR_DB_COMMIT_UNKNOWN, -ERR_NOMEM when
 * nothing could be recorded (res->outcome 0): try again later.
 */
int custody_ingest_fd(struct custody_store *s, int fd, const char *source,
                      struct custody_ingest *res);

/** custody_ingest_file() - custody_ingest_fd() of the regular file @path (source = @path). */
int custody_ingest_file(struct custody_store *s, const char *path, struct custody_ingest *res);

/** custody_ingest_mem() - custody_ingest_fd() of @len bytes at @buf. */
int custody_ingest_mem(struct custody_store *s, const char *buf, size_t len, const char *source,
                       struct custody_ingest *res);

/** custody_detect_kind() - kind of a document from its first bytes; 0 if none. */
enum custody_kind custody_detect_kind(const char *head, size_t n);

/** custody_kind_name() - "semt002", "mt535", "sese025" or "unknown". */
const char *custody_kind_name(enum custody_kind k);

/** custody_outcome_name() - "ingested", "duplicate", "rejected" or "failed" (0). */
const char *custody_outcome_name(enum custody_outcome o);

/*
 * custody_show() - plain lines for operators and tests, one per row, in
 * a stable order (docs/custody-store.md gives the formats).
 * @what: "statements" (every statement, with its status), "positions"
 *        (balances of complete statements), "settlements" or "rejects".
 * @isin, @account: filters (NULL: all); @account is the safekeeping account.
 * Returns the number of lines written, -ERR_INVALID_ARGUMENT (@what),
 * -ERR_DB_HARD or -ERR_DB_CONNECT.
 */
int custody_show(struct db_conn *c, const char *what, const char *isin, const char *account,
                 FILE *out);

/*
 * Feeds (custody_feed.c).  Both run one pass at a time or loop until
 * *stop becomes nonzero (set it from a signal handler); a loop checks it
 * at least every 100 ms while it waits.
 */
struct custody_feed_stats {
  unsigned seen;       /* documents found (files, listed URLs) */
  unsigned ingested;   /* stored */
  unsigned duplicates; /* already stored */
  unsigned rejected;   /* refused (moved to rejected/, or recorded for the URL) */
  unsigned failed;     /* not handled this pass (database down, download failed): retried */
  unsigned skipped;    /* not yet (a file still changing) or not again (a URL done before) */
};

/*
 * Drop folder: a pass ingests each regular file of @dir, oldest first
 * (mtime, then inode, then name), once its size and mtime have not
 * changed since the previous pass; then renames it into done/ (ingested or duplicate) or
 * rejected/ (with NAME.reason.txt beside it).  Dot files and names
 * ending in .part are ignored.  A file the store could not handle
 * (database down) stays for the next pass.  The rename follows the
 * commit, so a file found again after a crash is a duplicate and is just
 * moved.
 */
struct custody_drop;

/**
 * custody_drop_open() - watch @dir (created with done/ and rejected/ if
 * missing, mode 0750), ingesting into @s (borrowed).
 * Returns 0, -ERR_IO (with a log line) or -ERR_NOMEM.
 */
int custody_drop_open(struct custody_store *s, const char *dir, struct custody_drop **out);

/** custody_drop_pass() - one pass; @st (may be NULL) receives its counts.  Returns 0 or -ERR_IO. */
int custody_drop_pass(struct custody_drop *d, struct custody_feed_stats *st);

/** custody_drop_run() - a pass every @poll_ms until *stop.  Returns 0. */
int custody_drop_run(struct custody_drop *d, unsigned poll_ms, volatile int *stop);

/** custody_drop_free() - NULL does nothing. */
void custody_drop_free(struct custody_drop *d);

/*
 * HTTP feed: GET the listing URL -- a JSON array of document URLs
 * (strings; absolute, or relative to the listing URL; same scheme, host
 * and port as the listing), oldest first -- then GET each URL not fetched
 * before (custody_feed_documents) and ingest it.  Every request carries
 * "Authorization: Bearer <token>" when a token is set, verifies TLS peer
 * and host, allows http and https only (http only to 127.0.0.1), follows
 * no redirect to another origin, and is retried with exponential backoff
 * and jitter on a 5xx, 429, timeout or connection failure.
 */
struct custody_http_cfg {
  const char *listing_url;
  const char *token;           /* "" or NULL: no Authorization header; copied, wiped on free */
  unsigned connect_timeout_ms; /* default 10000 */
  unsigned timeout_ms;         /* whole request, default 600000 */
  unsigned attempts;           /* per request, default 5 */
  unsigned backoff_ms;         /* pause before the 2nd attempt, doubled each time; default 500 */
  unsigned backoff_max_ms;     /* default 30000 */
  uint64_t max_bytes;          /* per document; default: the store's limit */
  uint64_t max_listing_bytes;  /* default 16 MiB */
};

/** custody_http_cfg_default() - the defaults above (listing_url and token NULL). */
void custody_http_cfg_default(struct custody_http_cfg *c);

struct custody_http;

/**
 * custody_http_open() - an HTTP feed into @s (borrowed).
 * Returns 0, -ERR_INVALID_ARGUMENT (no URL, a scheme other than
 * http/https, http to a host other than 127.0.0.1) or -ERR_NOMEM.
 */
int custody_http_open(struct custody_store *s, const struct custody_http_cfg *cfg,
                      struct custody_http **out);

/**
 * custody_http_pass() - one pass over the listing.  @stop (may be NULL)
 * aborts a transfer in progress.
 * Returns 0, or -ERR_CUSTODY_FEED when the listing could not be fetched
 * (401/403, 5xx after the retries, unreadable JSON); the documents of a
 * pass that failed are counted in st->failed.
 */
int custody_http_pass(struct custody_http *h, struct custody_feed_stats *st, volatile int *stop);

/** custody_http_run() - a pass every @poll_ms until *stop.  Returns 0. */
int custody_http_run(struct custody_http *h, unsigned poll_ms, volatile int *stop);

/** custody_http_free() - wipes the token; NULL does nothing. */
void custody_http_free(struct custody_http *h);

/* CUSTODY-STORE-API-END */

/* ------------------------------------------------------------------ */
/* Simulated custodian (custody_simcust.c)                             */
/* ------------------------------------------------------------------ */

/* SIMCUST-API-BEGIN (written with custody_simcust.c) */
/*
 * The simulated custodian (docs/simcustodian.md), run by the process
 * backstock-simcustodian: it reads the simulated broker's blotter
 * (sim_trades), settles each booked trade on its settlement date as of a
 * simulated clock (the database clock + day_offset days) unless a
 * configured fail or delay says otherwise, keeps the holdings of one safekeeping account,
 * and publishes a sese.025 per settled trade, a daily semt.002 at the
 * cut-off (MT535 or semt.002 on request) into a drop folder and over
 * HTTP.  Exactly once: a settlement, its holdings change and its
 * document commit together, keyed by the trade.
 */
#define CUSTODY_SIMCUST_SYMBOL_MAX 32 /* A-Z a-z 0-9 . / _ - and the NUL */
#define CUSTODY_SIMCUST_NAME_MAX   96 /* a document name and the NUL */
#define CUSTODY_SIMCUST_PATH_MAX   1024
#define CUSTODY_SIMCUST_TOKEN_MIN  16 /* bytes of the HTTP bearer token, at least */

/* What happens to a symbol's trades on their settlement date. */
enum custody_simcust_rule {
  CUSTODY_SIMCUST_SETTLE = 0, /* settle on the contractual date */
  CUSTODY_SIMCUST_FAIL,       /* fail.<SYMBOL> = fail: never settle */
  CUSTODY_SIMCUST_DELAY,      /* fail.<SYMBOL> = delay:<n>: settle n business days late */
};

/* The per-symbol keys isin.<SYMBOL> and fail.<SYMBOL>. */
struct custody_simcust_symbol {
  char symbol[CUSTODY_SIMCUST_SYMBOL_MAX];
  char isin[CUSTODY_ISIN_LEN + 1]; /* "" when not configured */
  enum custody_simcust_rule rule;
  unsigned delay_days; /* CUSTODY_SIMCUST_DELAY */
};

/* Configuration: defaults < file < BACKSTOCK_DATABASE_URL < BACKSTOCK_SIMCUST_<KEY>. */
struct custody_simcust_cfg {
  char *database_url;                       /* required; wiped by _cfg_free() */
  char listen_host[16];                     /* IPv4; default 127.0.0.1 */
  uint16_t listen_port;                     /* default 9879; 0 = any free port */
  char out_dir[CUSTODY_SIMCUST_PATH_MAX];   /* drop folder; required */
  char account_servicer[12];                /* BIC11, default SIMCUSTXXXX */
  char account_owner[CUSTODY_ID_MAX];       /* default BACKSTOCK */
  char safekeeping_account[CUSTODY_ID_MAX]; /* default RESERVE-01 */
  unsigned statement_minute; /* daily cut-off, minutes after 00:00 UTC; default 22:00 */
  unsigned page_size;        /* positions per statement page; default 1000 */
  char *token;               /* HTTP bearer token; required; wiped by _cfg_free() */
  int day_offset;            /* days added to the clock's date; default 0 */
  unsigned poll_ms;          /* blotter poll period; default 500 */
  enum log_level log_level;
  struct custody_simcust_symbol *symbols;
  size_t n_symbols, cap_symbols;
};

/** custody_simcust_cfg_init() - fill @c with the defaults. */
void custody_simcust_cfg_init(struct custody_simcust_cfg *c);

/** custody_simcust_cfg_free() - wipe the secrets and free what @c owns; NULL does nothing. */
void custody_simcust_cfg_free(struct custody_simcust_cfg *c);

/**
 * custody_simcust_cfg_set() - set one key ("out_dir", "isin.AAPL", ...)
 * from its text.  @why (@wsz bytes) receives the reason of a refusal.
 * Returns 0, -ERR_CFG_UNKNOWN_KEY, -ERR_CFG_VALUE or -ERR_NOMEM.
 */
int custody_simcust_cfg_set(struct custody_simcust_cfg *c, const char *key, const char *value,
                            char *why, size_t wsz);

/**
 * custody_simcust_cfg_load_text() - apply "key = value" lines ('#'
 * comments, blank lines).  @line_out receives the 1-based number of the
 * first bad line.  Returns 0 or that line's error (-ERR_CFG_SYNTAX, ...).
 */
int custody_simcust_cfg_load_text(struct custody_simcust_cfg *c, const char *text, size_t len,
                                  unsigned *line_out, char *why, size_t wsz);

/** custody_simcust_cfg_load_file() - the same from a file (at most 1 MiB; -ERR_CFG_FILE). */
int custody_simcust_cfg_load_file(struct custody_simcust_cfg *c, const char *path,
                                  unsigned *line_out, char *why, size_t wsz);

/**
 * custody_simcust_cfg_load_env() - BACKSTOCK_DATABASE_URL, then every
 * BACKSTOCK_SIMCUST_<KEY> of @envp (key lower-cased up to the first '.',
 * the symbol after it kept as written).  An unknown BACKSTOCK_SIMCUST_
 * variable is an error; @bad_out receives its name (valid until the next
 * call on this thread).
 */
int custody_simcust_cfg_load_env(struct custody_simcust_cfg *c, char *const *envp,
                                 const char **bad_out, char *why, size_t wsz);

/** custody_simcust_cfg_check() - the required keys are there.  0 or -ERR_CFG_VALUE. */
int custody_simcust_cfg_check(const struct custody_simcust_cfg *c, char *why, size_t wsz);

/** custody_simcust_cfg_symbol() - the entry of @symbol, NULL when it has none. */
const struct custody_simcust_symbol *custody_simcust_cfg_symbol(const struct custody_simcust_cfg *c,
                                                                const char *symbol);

/**
 * custody_simcust_today() - the simulated date at business time @now_ms
 * (the database clock, docs/clock.md): the UTC date of now_ms plus
 * day_offset days.
 */
int32_t custody_simcust_today(const struct custody_simcust_cfg *c, int64_t now_ms);

/**
 * custody_simcust_tx_id() - the settlement's transaction id of a blotter
 * trade: @trade_id itself when it is 1-35 of A-Z a-z 0-9 -, else "H." and
 * 33 hex digits of its SHA-256.  Distinct trades get distinct ids.
 */
void custody_simcust_tx_id(const char *trade_id, char out[CUSTODY_ID_MAX]);

struct custody_simcust;

/* What one custody_simcust_step() did. */
struct custody_simcust_stats {
  unsigned settled;    /* trades settled */
  unsigned failed;     /* trades failed (recorded once) */
  unsigned statements; /* daily statements written */
  unsigned written;    /* document files written to out_dir */
};

/**
 * custody_simcust_create() - set up a custodian: its database connection,
 * the NYSE calendar (rules,
 * data/nyse-closures.txt, market_closures), out_dir (created if missing,
 * one level).  The database must be migrated.  @cfg is borrowed and must
 * outlive the custodian.  Free with custody_simcust_free().
 * Returns 0, -ERR_DB_CONNECT, -ERR_IO or -ERR_NOMEM.
 */
int custody_simcust_create(const struct custody_simcust_cfg *cfg, struct custody_simcust **out);

/** custody_simcust_free() - close and free; NULL does nothing. */
void custody_simcust_free(struct custody_simcust *s);

/**
 * custody_simcust_step() - one pass at business time @now_ms (the
 * database clock): write any document a crash left unwritten, settle (or fail) every booked trade
 * now due, write the daily semt.002 once the simulated clock is past the
 * day's cut-off (and the days missed since the last one, at most 31),
 * and write the new documents' files.  @st (may be NULL) receives counts.
 * Returns 0 or the first error (the next step retries).
 */
int custody_simcust_step(struct custody_simcust *s, int64_t now_ms,
                         struct custody_simcust_stats *st);

/**
 * custody_simcust_statement() - write a statement of holdings as of the
 * cut-off of @day now (not daily): @kind CUSTODY_KIND_SEMT002 or
 * CUSTODY_KIND_MT535, paginated by page_size; its files are in out_dir
 * when this returns.  @c: a connection of the calling thread, or NULL
 * for the custodian's own (only on the thread that runs the steps).
 * @name (@size bytes) receives the first page's document name, @pages
 * (may be NULL) the number of pages.
 * Returns 0, -ERR_INVALID_ARGUMENT or a database / I/O error.
 */
int custody_simcust_statement(struct custody_simcust *s, struct db_conn *c, int32_t day,
                              enum custody_kind kind, char *name, size_t size, unsigned *pages);

/**
 * custody_simcust_run() - custody_simcust_step() every poll_ms until
 * *@stop becomes nonzero; a failed step is logged and retried.  Returns 0.
 */
int custody_simcust_run(struct custody_simcust *s, volatile int *stop);

/* Called per document, oldest first; nonzero stops and is returned. */
typedef int (*custody_simcust_doc_fn)(void *cls, const char *name, const char *sha256);

/**
 * custody_simcust_documents() - every document published (sim_documents),
 * oldest first, with the lower-case hex SHA-256 of its bytes, read on @c.
 * Returns 0, the callback's value or a database error.
 */
int custody_simcust_documents(struct db_conn *c, custody_simcust_doc_fn fn, void *cls);

/**
 * custody_simcust_document() - one document's bytes by name, read on @c.
 * @content receives a malloc'd NUL-terminated copy (free() it), @len its
 * length, @kind its format, @sha256 its hex digest.
 * Returns 0, -ERR_API_NOT_FOUND or a database error.
 */
int custody_simcust_document(struct db_conn *c, const char *name, enum custody_kind *kind,
                             char **content, size_t *len, char sha256[65]);
/* SIMCUST-API-END */

#endif
