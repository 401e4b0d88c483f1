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
/* CUSTODY-STORE-API-END */

/* ------------------------------------------------------------------ */
/* Simulated custodian (custody_simcust.c)                             */
/* ------------------------------------------------------------------ */

/* SIMCUST-API-BEGIN (written with custody_simcust.c) */
/* SIMCUST-API-END */

#endif
