/*
 * issuance: the heart of backstock -- the books, mint and redeem orders,
 * the engine that drives them (broker, settlement queue, token ledger)
 * and corporate actions.
 *
 * Books (issuance_books*.c, tables in migrations/0009-books.sql, rules in
 * docs/books.md): a double-entry ledger in PostgreSQL.  An account is an
 * owner (a system role or an AP) and an asset (cash, shares settled or in
 * transit per ISIN, tokens per symbol), created on first use.  A posting
 * is a set of signed entries with a unique key; the entries of each asset
 * sum to zero, so every asset sums to zero over all accounts.  Postings
 * are written in the same transaction as the state change they belong
 * to, and every account's balance column is kept in step with its
 * entries.  books_check() proves all of it from the tables.
 *
 * Conventions as in common.h: 0 (or a count) on success, a negated
 * error of common_errors.h on failure; out-values only written on success.
 * A function that "joins the caller's transaction" runs its queries on
 * the connection as it is (call it inside a db_txn() body) and reports
 * -ERR_DB_CONFLICT for a serialization failure or deadlock, which the body
 * turns into DB_QS_SOFT (books_txn_qs()) so that db_txn() retries.
 */
#ifndef BACKSTOCK_ISSUANCE_H
#define BACKSTOCK_ISSUANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/common.h"
#include "db/db.h"

/* ------------------------------------------------------------------ */
/* Units                                                               */
/* ------------------------------------------------------------------ */

#define ISSUANCE_CASH_SCALE  2  /* USD cents */
#define ISSUANCE_QTY_SCALE   6  /* share quantities, as the FIX connector's */
#define ISSUANCE_TOKEN_SCALE 18 /* token base units (a token's default decimals) */

/* ------------------------------------------------------------------ */
/* Books (issuance_books.c, issuance_books_names.c)                    */
/* ------------------------------------------------------------------ */

/*
 * Owners.  System roles stand for the issuer's counterparties and may go
 * negative; an AP is "ap:<id>" (1-64 of A-Z a-z 0-9 . _ -, starting with a
 * letter or digit) and its accounts get a floor of 0 when they are
 * created.  A balance is a claim: positive, the owner holds (or is owed)
 * the asset; negative, the owner owes it (the custodian holding our
 * shares, the chain's issued supply).  docs/books.md has the postings.
 */
#define BOOKS_OWNER_ISSUER    "issuer"    /* the issuer itself: reserves of shares */
#define BOOKS_OWNER_BROKER    "broker"    /* trades not yet settled */
#define BOOKS_OWNER_CUSTODIAN "custodian" /* the custodian and the issuer's bank */
#define BOOKS_OWNER_CHAIN     "chain"     /* token supply: minus the tokens issued */
#define BOOKS_OWNER_FEES      "fees"      /* fees earned */
#define BOOKS_OWNER_SUSPENSE  "suspense"  /* received, not yet allocated */

/*
 * Assets, each with a scale (digits after the point) stored in
 * books_assets: "cash:<CCY>" (3 letters A-Z, default scale 2),
 * "shares:<ISIN>:settled" and "shares:<ISIN>:in_transit" (ISIN with a
 * valid check digit, scale 6), "tokens:<SYMBOL>" (1-16 of A-Z a-z 0-9
 * starting with a letter, scale 18 unless defined otherwise with
 * books_asset_define()).
 */
#define BOOKS_OWNER_MAX   72  /* longest owner and its NUL ("ap:" + 64) */
#define BOOKS_ASSET_MAX   32  /* longest asset and its NUL */
#define BOOKS_KEY_MAX     128 /* posting key: 1-127 printable ASCII, no space */
#define BOOKS_REF_MAX     128 /* reference "<kind>:<id>", up to 127 bytes */
#define BOOKS_MEMO_MAX    512 /* memo: up to 511 bytes, no control characters */
#define BOOKS_ENTRIES_MAX 64  /* entries per posting */

/* One entry of a posting.  Borrowed strings. */
struct books_entry {
  const char *owner;
  const char *asset;
  struct money amount; /* signed, not 0, exact at the asset's scale */
};

/* A posting as books_post() takes it.  Borrowed. */
struct books_posting {
  const char *key;       /* idempotency key, unique over all postings */
  const char *reference; /* what it belongs to: "order:123", "event:456" */
  const char *memo;      /* NULL for "" */
  int64_t at_ms;         /* its time, ms since the epoch; 0: the transaction's time */
  const struct books_entry *entries;
  size_t n_entries; /* 2 .. BOOKS_ENTRIES_MAX */
};

/* What books_post() returns on success. */
#define BOOKS_POSTED         0 /* written now */
#define BOOKS_ALREADY_POSTED 1 /* the key was posted before with the same entries: no change */

/**
 * books_post() - write a posting and update the balances of its accounts.
 * Joins the caller's transaction: call it inside the db_txn() body that
 * makes the state change the posting belongs to, so both commit or
 * neither does.  Every refusal happens before anything is written, so
 * after an error the transaction holds no part of the posting (only row
 * locks); the caller may go on or roll back.
 * @c: the connection of the caller's transaction.
 * @p: the posting.  Checked in this order: @c inside a transaction, the
 *     shape (key, reference, memo, time, 2..BOOKS_ENTRIES_MAX entries, no
 *     zero amount) give -ERR_INVALID_ARGUMENT; an owner -ERR_BOOKS_ACCOUNT; an asset name
 *     -ERR_BOOKS_ASSET; an amount not exact at its asset's scale
 *     -ERR_BOOKS_ASSET, out of range at it -ERR_BOOKS_OVERFLOW; the
 *     entries of some asset not summing to zero -ERR_BOOKS_UNBALANCED;
 *     the key already posted: the same reference and entries (in any
 *     order) give BOOKS_ALREADY_POSTED, others -ERR_BOOKS_DUPLICATE; then
 *     an account's new balance out of range -ERR_BOOKS_OVERFLOW, below
 *     its floor -ERR_BOOKS_INSUFFICIENT.
 * @id: if not NULL, receives the posting's id (the earlier one for
 *      BOOKS_ALREADY_POSTED).
 *
 * Accounts and assets are created on first use.  Row locks are taken in
 * account id order (no deadlock between postings), and the posting's id
 * is drawn after them, so an account's entries are numbered in the order
 * they commit (cursors of books_account_entries() never skip one).
 * Returns BOOKS_POSTED, BOOKS_ALREADY_POSTED, an error above,
 * -ERR_NOMEM, -ERR_DB_CONFLICT (retry the transaction) or -ERR_DB_HARD.
 */
int books_post(struct db_conn *c, const struct books_posting *p, int64_t *id);

/**
 * books_post_txn() - books_post() in a transaction of its own (db_txn(),
 * retried on conflicts), for postings that belong to no other change.
 * Returns as books_post(), or an error of db_txn().
 */
int books_post_txn(struct db_conn *c, const struct books_posting *p, int64_t *id);

/**
 * books_txn_qs() - what a db_txn() body returns after a books_*() call
 * that joined its transaction failed with @rc: DB_QS_SOFT for
 * -ERR_DB_CONFLICT (retry), DB_QS_HARD for -ERR_DB_HARD and
 * -ERR_DB_CONNECT, DB_QS_NONE otherwise (a refusal: nothing was written;
 * keep @rc for after db_txn()).
 */
enum db_qs books_txn_qs(int rc);

/**
 * books_asset_define() - record an asset with an explicit scale (a token
 * with other decimals than 18) before its first use.  One statement: in
 * the caller's transaction or on its own.  Defining it again with the
 * same scale changes nothing.
 * @scale: 0..MONEY_MAX_SCALE.
 * Returns 0, -ERR_BOOKS_ASSET (a bad name or scale, or the asset exists
 * with another scale), -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int books_asset_define(struct db_conn *c, const char *asset, unsigned scale);

/**
 * books_account_floor() - set or clear the floor of an account (created
 * if needed): postings that would leave its balance below it are
 * refused.  Joins the caller's transaction (-ERR_INVALID_ARGUMENT
 * outside one).
 * @floor: the lowest balance allowed, exact at the asset's scale; NULL
 *         for none (the account may go negative).
 * Returns 0, -ERR_BOOKS_ACCOUNT, -ERR_BOOKS_ASSET, -ERR_BOOKS_OVERFLOW,
 * -ERR_BOOKS_INSUFFICIENT (the balance is already below @floor),
 * -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int books_account_floor(struct db_conn *c, const char *owner, const char *asset,
                        const struct money *floor);

/** books_owner_valid() - whether @owner is a system role or "ap:<id>". */
bool books_owner_valid(const char *owner);

/**
 * books_asset_parse() - check an asset name and give its default scale.
 * @scale: if not NULL, receives the default scale of its kind.
 * Returns 0 or -ERR_BOOKS_ASSET.
 */
int books_asset_parse(const char *asset, unsigned *scale);

/* ------------------------------------------------------------------ */
/* Books: queries (issuance_books_query.c)                             */
/* ------------------------------------------------------------------ */

/*
 * The queries are single statements: each reads one consistent snapshot,
 * inside a caller's transaction or on its own.  They return -ERR_DB_HARD
 * or -ERR_DB_CONFLICT on database errors.
 */

/* An account as stored. */
struct books_account {
  int64_t id;
  char owner[BOOKS_OWNER_MAX];
  char asset[BOOKS_ASSET_MAX];
  unsigned scale;       /* the asset's */
  struct money balance; /* at the asset's scale */
  bool has_floor;
  struct money floor; /* when has_floor */
};

/**
 * books_account_get() - an account and its balance now.
 * Returns 0, -ERR_BOOKS_ACCOUNT (bad owner, or no such account yet),
 * -ERR_BOOKS_ASSET (bad asset name), -ERR_BOOKS_OVERFLOW (a stored figure
 * that does not fit), or a database error.
 */
int books_account_get(struct db_conn *c, const char *owner, const char *asset,
                      struct books_account *out);

/**
 * books_balance() - an account's balance now (its balance column).
 * Returns as books_account_get().
 */
int books_balance(struct db_conn *c, const char *owner, const char *asset, struct money *out);

/**
 * books_balance_at_posting() - an account's balance just after posting
 * @posting_id committed: the sum of its entries of postings with an id
 * up to @posting_id (ids of an account's postings follow commit order).
 * Returns as books_account_get().
 */
int books_balance_at_posting(struct db_conn *c, const char *owner, const char *asset,
                             int64_t posting_id, struct money *out);

/**
 * books_balance_at_time() - an account's balance as of @at_ms: the sum
 * of its entries of postings whose time (books_posting.at_ms) is at or
 * before it.
 * Returns as books_account_get().
 */
int books_balance_at_time(struct db_conn *c, const char *owner, const char *asset, int64_t at_ms,
                          struct money *out);

/* One entry of an account, with the posting it belongs to. */
struct books_entry_row {
  int64_t id; /* the entry's id: the cursor for the next page */
  int64_t posting_id;
  char key[BOOKS_KEY_MAX];
  char reference[BOOKS_REF_MAX];
  int64_t at_ms;
  struct money amount;  /* at the asset's scale */
  struct money balance; /* the account's balance after this entry */
};

/* Gets each row; returns 0 to go on, anything else to stop (returned). */
typedef int (*books_entry_fn)(void *cls, const struct books_entry_row *e);

/**
 * books_account_entries() - the entries of an account with an id above
 * @after (0: from the first), oldest first, at most @max, each handed to
 * @fn (the row is valid during the call only).
 * Returns the number handed over (>= 0), what @fn returned when it
 * stopped, or an error of books_account_get().
 */
int books_account_entries(struct db_conn *c, const char *owner, const char *asset, int64_t after,
                          size_t max, books_entry_fn fn, void *cls);

/* One entry of a posting as stored. */
struct books_entry_out {
  int64_t account_id;
  char owner[BOOKS_OWNER_MAX];
  char asset[BOOKS_ASSET_MAX];
  struct money amount;
};

/* A posting as stored, with its entries in their order. */
struct books_posting_row {
  int64_t id;
  char key[BOOKS_KEY_MAX];
  char reference[BOOKS_REF_MAX];
  char memo[BOOKS_MEMO_MAX];
  int64_t at_ms;
  size_t n_entries;
  struct books_entry_out entries[BOOKS_ENTRIES_MAX];
};

/* Gets each posting; returns 0 to go on, anything else to stop (returned). */
typedef int (*books_posting_fn)(void *cls, const struct books_posting_row *p);

/**
 * books_postings_by_reference() - every posting of @reference, oldest
 * first, each handed to @fn (valid during the call only).
 * Returns the number handed over, what @fn returned when it stopped,
 * -ERR_INVALID_ARGUMENT (a bad reference), -ERR_NOMEM or a database error.
 */
int books_postings_by_reference(struct db_conn *c, const char *reference, books_posting_fn fn,
                                void *cls);

/* ------------------------------------------------------------------ */
/* Books: the checker (issuance_books_check.c)                         */
/* ------------------------------------------------------------------ */

/* What a discrepancy breaks. */
enum books_issue {
  BOOKS_ISSUE_UNBALANCED = 0, /* (1) a posting's entries of one asset do not sum to zero */
  BOOKS_ISSUE_ENTRY_COUNT,    /* (1) a posting holds another number of entries than it wrote */
  BOOKS_ISSUE_ASSET_SUM,      /* (2) an asset's balances, or entries, do not sum to zero */
  BOOKS_ISSUE_BALANCE,        /* (3) a stored balance differs from the sum of its entries */
  BOOKS_ISSUE_FLOOR,          /* (4) a balance below its account's floor */
  BOOKS_ISSUE_SCALE,          /* a figure not representable at its asset's scale */
  BOOKS_ISSUE_EXTERNAL,       /* added by a hook: reconciliation against other tables */
};
#define BOOKS_ISSUE_COUNT 7

/* Discrepancies kept per issue (all are counted). */
#define BOOKS_REPORT_FIRST 10
/* Longest figure kept (exact decimal text and its NUL); longer ends in "...". */
#define BOOKS_FIGURE_MAX 96

/* One discrepancy, named exactly. */
struct books_discrepancy {
  enum books_issue issue;
  int64_t posting_id; /* 0 when not about one posting */
  int64_t account_id; /* 0 when not about one account */
  char owner[BOOKS_OWNER_MAX];
  char asset[BOOKS_ASSET_MAX];     /* "" when not about one asset */
  char expected[BOOKS_FIGURE_MAX]; /* what the figure must be */
  char actual[BOOKS_FIGURE_MAX];   /* what it is */
  char text[256];                  /* one line for people */
};

/* The figures of one asset over all accounts. */
struct books_asset_total {
  char asset[BOOKS_ASSET_MAX];
  unsigned scale;
  int64_t accounts;
  int64_t entries;
  char held[BOOKS_FIGURE_MAX];        /* sum of the positive balances */
  char owed[BOOKS_FIGURE_MAX];        /* sum of the negative balances */
  char net[BOOKS_FIGURE_MAX];         /* sum of all balances: must be zero */
  char entries_net[BOOKS_FIGURE_MAX]; /* sum of all entries: must be zero */
};

/* What books_check() found.  books_report_init() / books_report_free(). */
struct books_report {
  bool ok; /* no discrepancy at all */
  int64_t postings, entries, accounts;
  struct books_asset_total *totals; /* by asset name */
  size_t n_totals;
  uint64_t counts[BOOKS_ISSUE_COUNT]; /* discrepancies per issue */
  struct books_discrepancy *items;    /* the first BOOKS_REPORT_FIRST of each issue */
  size_t n_items, cap_items;
};

/** books_report_init() - an empty report. */
void books_report_init(struct books_report *r);

/** books_report_free() - free what @r holds and empty it; NULL does nothing. */
void books_report_free(struct books_report *r);

/**
 * books_report_add() - count a discrepancy and keep a copy if it is among
 * the first BOOKS_REPORT_FIRST of its issue; clears r->ok.
 * Returns 0 or -ERR_NOMEM.
 */
int books_report_add(struct books_report *r, const struct books_discrepancy *d);

/** books_issue_name() - "unbalanced", "entry_count", "asset_sum", ... */
const char *books_issue_name(enum books_issue issue);

/**
 * books_check_fn - a further check run by books_check_with() in the same
 * read-only snapshot after the books' own: it reads what it needs on @c
 * and adds what differs with books_report_add() (issue
 * BOOKS_ISSUE_EXTERNAL).  This is where the orders slice reconciles
 * order states against the postings of their reference ("order:<id>").
 * Returns 0 or an error (-ERR_DB_CONFLICT runs the whole check again
 * with a fresh report).
 */
typedef int (*books_check_fn)(struct db_conn *c, struct books_report *r, void *cls);

/**
 * books_check() - prove the books from the tables, in one read-only
 * snapshot: (1) every posting balances per asset and holds the entries
 * it wrote; (2) per asset, the balances and the entries over all
 * accounts sum to zero; (3) each account's stored balance equals the sum
 * of its entries; (4) no balance is below its floor; and every amount,
 * balance and floor is representable at its asset's scale.
 * @r: initialised by the caller (books_report_init()); filled with the
 *     counts, the totals of every asset and the first discrepancies.
 * Returns 0 when the check ran (r->ok tells the outcome), -ERR_NOMEM or
 * an error of db_txn().
 */
int books_check(struct db_conn *c, struct books_report *r);

/**
 * books_check_with() - books_check(), then @extra(c, r, cls) in the same
 * snapshot (NULL: none).
 */
int books_check_with(struct db_conn *c, books_check_fn extra, void *cls, struct books_report *r);

/**
 * books_report_print() - the report as text lines (what the command
 * `backstock books check` is to print, docs/books.md): a summary, one
 * line per asset, one per discrepancy kept, and a last line "books ok"
 * or "books FAILED" with the counts per issue.
 */
void books_report_print(const struct books_report *r, FILE *out);

/* ================================================================== */
/* Orders: core (issuance_orders_core.c) -- lead                      */
/* ================================================================== */

/*
 * Mint and redeem orders (tables in migrations/0013-orders.sql, the
 * lifecycle in docs/orders.md).  Every change of state goes through
 * order_transition_in(), which appends the order's event in the same
 * transaction, so the event history is complete by construction.
 */
enum order_kind { ORDER_MINT = 0, ORDER_REDEEM = 1 };

/* X(NAME, "name") in the order of migrations/0013-orders.sql. */
#define ORDER_STATES(X)                                                                            \
  X(REQUESTED, "requested")                                                                        \
  X(VALIDATED, "validated")                                                                        \
  X(AWAITING_CASH, "awaiting_cash")                                                                \
  X(CASH_RECEIVED, "cash_received")                                                                \
  X(AWAITING_TOKENS, "awaiting_tokens")                                                            \
  X(TOKENS_RECEIVED, "tokens_received")                                                            \
  X(BURNED, "burned")                                                                              \
  X(BROKER_SUBMITTED, "broker_submitted")                                                          \
  X(PARTIALLY_FILLED, "partially_filled")                                                          \
  X(FILLED, "filled")                                                                              \
  X(SETTLING, "settling")                                                                          \
  X(SETTLED_AT_CUSTODIAN, "settled_at_custodian")                                                  \
  X(CASH_SETTLED, "cash_settled")                                                                  \
  X(MINT_SUBMITTED, "mint_submitted")                                                              \
  X(MINTED, "minted")                                                                              \
  X(PAYOUT_SUBMITTED, "payout_submitted")                                                          \
  X(PAID, "paid")                                                                                  \
  X(COMPLETED, "completed")                                                                        \
  X(REJECTED, "rejected")                                                                          \
  X(EXPIRED, "expired")                                                                            \
  X(CANCEL_REQUESTED, "cancel_requested")                                                          \
  X(CANCELLED, "cancelled")                                                                        \
  X(BROKER_REJECTED, "broker_rejected")                                                            \
  X(SETTLEMENT_FAILED, "settlement_failed")                                                        \
  X(MINT_FAILED, "mint_failed")                                                                    \
  X(REQUIRES_ATTENTION, "requires_attention")

enum order_state {
#define ORDER_STATE_ENUM(n, s) ORDER_##n,
  ORDER_STATES(ORDER_STATE_ENUM)
#undef ORDER_STATE_ENUM
      ORDER_STATE_COUNT
};

/** order_state_name() - "requested", ...; "unknown" out of range (static). */
const char *order_state_name(enum order_state st);

/** order_state_parse() - the state named @s.  Returns 0 or -ERR_INVALID_ARGUMENT. */
int order_state_parse(const char *s, enum order_state *out);

/** order_state_final() - completed, rejected, expired, cancelled or broker_rejected. */
bool order_state_final(enum order_state st);

/** order_kind_name() - "mint" or "redeem" (static). */
const char *order_kind_name(enum order_kind k);

#define ORDER_SYMBOL_MAX 17  /* instrument or token symbol and its NUL */
#define ORDER_ISIN_MAX   13  /* ISIN and its NUL */
#define ORDER_WALLET_MAX 43  /* 0x + 40 hex and its NUL */
#define ORDER_TEXT_MAX   256 /* attention, client_ref (64) and its NUL */

/* An order as stored, with its instrument's names (order_get()). */
struct order {
  int64_t id;
  enum order_kind kind;
  int64_t ap;         /* principal id */
  int64_t instrument; /* instrument id */
  char symbol[ORDER_SYMBOL_MAX];
  char token_symbol[ORDER_SYMBOL_MAX];
  char isin[ORDER_ISIN_MAX];
  unsigned token_decimals;
  int settlement_lag_days;
  char wallet[ORDER_WALLET_MAX];
  struct money quantity; /* scale 6 */
  bool has_limit;
  struct money limit_price;  /* scale 6, when has_limit */
  struct money token_amount; /* scale 18 */
  struct money multiplier;   /* scale 18 */
  bool mint_at_fill;         /* mint: mint_policy at_fill */
  bool burn_on_receipt;      /* redeem: burn_policy on_receipt */
  struct money fee_flat;     /* scale 2 */
  struct money fee_rate;     /* scale 6 */
  struct money cash_required;
  enum order_state state;
  int64_t state_since_ms;
  struct money filled_qty, fill_cash, settled_qty, settled_cash; /* 6, 2, 6, 2 */
  struct money cash_funded, fee, cash_paid;                      /* scale 2 */
  struct money tokens_done;                                      /* scale 18 */
  int32_t session_date;                                          /* days since the epoch (cal) */
  int64_t cash_deadline_ms;                                      /* 0: none */
  bool cancel_requested;
  char attention[ORDER_TEXT_MAX];
  char client_ref[ORDER_TEXT_MAX];
  int64_t signing_key; /* 0: not signed */
  int64_t created_ms, updated_ms;
};

/**
 * order_get() - the order @id as stored now.  One statement: inside a
 * caller's transaction or on its own.  @lock: take FOR UPDATE on the
 * order's row (only inside a transaction).
 * Returns 0, -ERR_ORDER_NOT_FOUND, -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int order_get(struct db_conn *c, int64_t id, bool lock, struct order *out);

/**
 * order_cash_due() - what the issuer owes the AP under @o now:
 * cash_funded + (redeem) fill_cash - (mint) fill_cash - fee - cash_paid.
 * Returns 0 or -ERR_MONEY_OVERFLOW.
 */
int order_cash_due(const struct order *o, struct money *out);

/**
 * order_transition_in() - move order @id from @from to @to and append
 * its event (seq one above the last, the actor, @detail) in the caller's
 * transaction (call inside db_txn()).  Also sets state_since and updated
 * to clock_now().
 * @actor: "engine", "api:<principal id>", "admin:<principal id>".
 * @detail: a JSON object as text (NULL for "{}"); keep figures as strings.
 * Returns 0, -ERR_ORDER_STATE (the order is not in @from: someone else
 * moved it; nothing written), -ERR_ORDER_NOT_FOUND, -ERR_INVALID_ARGUMENT,
 * -ERR_DB_CONFLICT (retry the transaction) or -ERR_DB_HARD.
 */
int order_transition_in(struct db_conn *c, int64_t id, enum order_state from, enum order_state to,
                        const char *actor, const char *detail);

/**
 * order_event_in() - append an event that changes no state (from = to =
 * the current state: a fill that leaves it partially_filled, a retry, a
 * note).  Same rules as order_transition_in(); @st must be the current
 * state (-ERR_ORDER_STATE otherwise).
 */
int order_event_in(struct db_conn *c, int64_t id, enum order_state st, const char *actor,
                   const char *detail);

/**
 * order_qs() - what a db_txn() body returns after an order_*() call that
 * joined its transaction failed with @rc (as books_txn_qs()).
 */
enum db_qs order_qs(int rc);

/* ================================================================== */
/* Orders: requests (issuance_orders.c) -- orders helper              */
/* ================================================================== */

/*
 * Shared with the participants slice (issuance_participants.c): the two
 * checks an order's creation makes on its AP.
 */

/**
 * order_limits_check_in() - whether an order of @qty shares (scale 6) of
 * @instrument by AP @ap of @kind fits every limit of order_limits (the
 * AP's own and the instrument-wide one, each over its rolling window on
 * the clock, counting the orders that count there).  Joins the caller's
 * transaction (SERIALIZABLE: two racing orders cannot both squeeze in).
 * Returns 0 (fits), -ERR_ORDER_LIMIT, -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int order_limits_check_in(struct db_conn *c, int64_t instrument, int64_t ap, enum order_kind kind,
                          struct money qty);

/* Longest X-Backstock-Signature header value accepted. */
#define ORDER_SIG_HEADER_MAX 200

/**
 * order_signature_check_in() - check a signed instruction of AP @ap.
 * The signed payload is "backstock-order-v1\n" METHOD "\n" PATH "\n"
 * IDEMPOTENCY-KEY "\n" BODY (docs/orders.md, "Signed instructions"),
 * built by the caller into @payload.  @header is the X-Backstock-Signature
 * value "keyid=<id>,sig=<base64 of 64 bytes>" or NULL when absent.
 * With @header NULL: 0 when the AP has no active signing key (an unsigned
 * order), else -ERR_ORDER_SIGNATURE.  With @header: 0 when the key is the
 * AP's, not revoked, and the Ed25519 signature verifies; else
 * -ERR_ORDER_SIGNATURE.  On 0 with a signature, *key_id and sig[64] are
 * set (to store with the order); *key_id is 0 for an unsigned order.
 * Returns 0, -ERR_ORDER_SIGNATURE, -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int order_signature_check_in(struct db_conn *c, int64_t ap, const char *header,
                             const unsigned char *payload, size_t len, int64_t *key_id,
                             unsigned char sig[64]);

/* ------------------------------------------------------------------ */
/* Participants (issuance_participants*.c) -- participants helper      */
/* ------------------------------------------------------------------ */

/*
 * What an AP brings besides its API keys (tables in 0013-orders.sql,
 * docs/participants.md): the wallets it may mint to and redeem from, the
 * Ed25519 keys it signs order instructions with, and the limits per
 * window on what it (and all APs together) may order.  Times come from
 * clock_now().  Functions named *_in join the caller's transaction (call
 * them inside a db_txn() body; one that fails has written nothing);
 * lists are single statements.  An AP is a principal of role ap.
 */

/* A label: 0-100 bytes of text without control characters, and its NUL. */
#define AP_LABEL_MAX 101

/* An allow-listed wallet as stored. */
struct ap_wallet {
  int64_t id;
  int64_t ap;                     /* principal id */
  char address[ORDER_WALLET_MAX]; /* "0x" and 40 hex digits, lower case */
  char label[AP_LABEL_MAX];
  int64_t created_ms;
  int64_t revoked_ms; /* 0: active */
};

/**
 * ap_wallet_add_in() - allow AP @ap to use the wallet @address.  The
 * address is checked and kept in lower case (chain_address_parse()); it
 * is unique over all APs.  Adding again a wallet this AP had revoked
 * makes it active again (same id, the new label).
 * @label: NULL for "".
 * @out: receives the wallet.
 * Returns 0, -ERR_API_NOT_FOUND (@ap is not an AP), -ERR_CHAIN_ADDRESS,
 * -ERR_INVALID_ARGUMENT (label), -ERR_API_CONFLICT (the address is
 * listed already: active, or another AP's), -ERR_DB_CONFLICT or
 * -ERR_DB_HARD.
 */
int ap_wallet_add_in(struct db_conn *c, int64_t ap, const char *address, const char *label,
                     struct ap_wallet *out);

/**
 * ap_wallet_revoke_in() - revoke wallet @id (it takes no new order);
 * revoking a revoked wallet changes nothing.
 * @ap: the AP it must belong to, 0 for any.
 * @out: receives the wallet as it is now.  @changed: if not NULL,
 * receives whether this call revoked it.
 * Returns 0, -ERR_API_NOT_FOUND (no such wallet, or not @ap's),
 * -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int ap_wallet_revoke_in(struct db_conn *c, int64_t id, int64_t ap, struct ap_wallet *out,
                        bool *changed);

/**
 * ap_wallet_active_in() - whether @address (either case) is an active
 * wallet of AP @ap: the check an order makes on its wallet.
 * @out: if not NULL, receives the address in lower case.
 * Returns 0, -ERR_ORDER_WALLET, -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int ap_wallet_active_in(struct db_conn *c, int64_t ap, const char *address,
                        char out[ORDER_WALLET_MAX]);

/* Gets each wallet (valid during the call); 0 to go on, else stop (returned). */
typedef int (*ap_wallet_fn)(void *cls, const struct ap_wallet *w);

/**
 * ap_wallets_list() - the wallets of AP @ap (0: of all APs), revoked ones
 * too, with an id above @after (0: from the first), by id, at most @max,
 * each handed to @fn.
 * Returns the number handed over, what @fn returned when it stopped,
 * -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int ap_wallets_list(struct db_conn *c, int64_t ap, int64_t after, size_t max, ap_wallet_fn fn,
                    void *cls);

/* An Ed25519 signing key as stored. */
struct ap_signing_key {
  int64_t id; /* the keyid of X-Backstock-Signature */
  int64_t ap;
  unsigned char public_key[32];
  char label[AP_LABEL_MAX];
  int64_t created_ms;
  int64_t revoked_ms; /* 0: active */
};

/**
 * ap_signing_key_add_in() - register the Ed25519 public key @pk of AP @ap.
 * From then on (while it has an active key) every order instruction of
 * the AP must be signed.  A key is unique over all APs, revoked ones too.
 * @pk: 32 bytes, a valid Ed25519 point of the main subgroup (not of small
 *      order: crypto_core_ed25519_is_valid_point()).
 * @label: NULL for "".
 * Returns 0, -ERR_API_NOT_FOUND (@ap is not an AP), -ERR_INVALID_ARGUMENT
 * (@pk not a public key, label), -ERR_API_CONFLICT (registered before),
 * -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int ap_signing_key_add_in(struct db_conn *c, int64_t ap, const unsigned char pk[32],
                          const char *label, struct ap_signing_key *out);

/**
 * ap_signing_key_revoke_in() - revoke key @id: signatures by it are
 * refused from now on.  As ap_wallet_revoke_in(): @ap 0 for any AP (an
 * admin), else the key must be @ap's (-ERR_API_NOT_FOUND otherwise).
 */
int ap_signing_key_revoke_in(struct db_conn *c, int64_t id, int64_t ap, struct ap_signing_key *out,
                             bool *changed);

/* Gets each key (valid during the call); 0 to go on, else stop (returned). */
typedef int (*ap_signing_key_fn)(void *cls, const struct ap_signing_key *k);

/** ap_signing_keys_list() - as ap_wallets_list(), for signing keys. */
int ap_signing_keys_list(struct db_conn *c, int64_t ap, int64_t after, size_t max,
                         ap_signing_key_fn fn, void *cls);

/* The text of an X-Backstock-Signature value: "keyid=" 1-19 digits ",sig=" 88 base64. */
#define ORDER_SIG_B64_LEN 88 /* standard base64 (RFC 4648 section 4) of 64 bytes, padded */

/**
 * order_sig_header_parse() - parse an X-Backstock-Signature value
 * strictly: exactly "keyid=<id>,sig=<base64>", <id> a decimal
 * 1..INT64_MAX without sign or leading zero, <base64> the 88 characters
 * of standard, padded base64 of 64 bytes with zero padding bits (the one
 * canonical text); nothing before, between or after (no spaces), at most
 * ORDER_SIG_HEADER_MAX bytes.  @s need not end in a NUL.
 * @key_id, @sig: receive the key id and the signature (only on success).
 * Returns 0 or -ERR_ORDER_SIGNATURE.
 */
int order_sig_header_parse(const char *s, size_t len, int64_t *key_id, unsigned char sig[64]);

/* A limit of order_limits, with its instrument's symbol. */
struct order_limit {
  int64_t id;
  int64_t instrument;
  char symbol[ORDER_SYMBOL_MAX];
  int64_t ap; /* 0: all APs together */
  enum order_kind kind;
  int32_t window_seconds; /* 60 .. 31622400 (366 days) */
  struct money max_qty;   /* shares, scale 6, > 0 */
  int64_t updated_ms;
};

#define ORDER_LIMIT_WINDOW_MIN 60
#define ORDER_LIMIT_WINDOW_MAX 31622400

/**
 * order_limit_set_in() - set the limit of (@l->instrument, @l->ap,
 * @l->kind, @l->window_seconds) to @l->max_qty, making it or replacing
 * its max_qty (a limit is named by those four; several windows may apply
 * at once).
 * @l: in: instrument, ap (0: instrument-wide), kind, window_seconds,
 *     max_qty (> 0, exact at scale 6); on success all of it as stored.
 * @prev: if not NULL, receives the max_qty it replaced (scale 6), or 0
 *        when the limit is new.
 * Returns 0, -ERR_ORDER_INSTRUMENT (no such instrument),
 * -ERR_API_NOT_FOUND (ap is not an AP), -ERR_INVALID_ARGUMENT (window,
 * max_qty), -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int order_limit_set_in(struct db_conn *c, struct order_limit *l, struct money *prev);

/* Gets each limit (valid during the call); 0 to go on, else stop (returned). */
typedef int (*order_limit_fn)(void *cls, const struct order_limit *l);

/**
 * order_limits_list() - the limits of @instrument (0: all) with an id
 * above @after, by id, at most @max, each handed to @fn.
 * Returns the number handed over, what @fn returned when it stopped,
 * -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int order_limits_list(struct db_conn *c, int64_t instrument, int64_t after, size_t max,
                      order_limit_fn fn, void *cls);

/* Gets each account (valid during the call); 0 to go on, else stop (returned). */
typedef int (*books_account_fn)(void *cls, const struct books_account *a);

/**
 * books_accounts_list() - the books' accounts of @owner (NULL: of every
 * owner) with an id above @after, by id, at most @max, each handed to
 * @fn with its balance now (what GET /v1/balances shows).
 * Returns the number handed over, what @fn returned when it stopped,
 * -ERR_BOOKS_ACCOUNT (a bad @owner), -ERR_BOOKS_ASSET or
 * -ERR_BOOKS_OVERFLOW (a stored figure not exact at its scale: only after
 * tampering, books_check() names it), -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int books_accounts_list(struct db_conn *c, const char *owner, int64_t after, size_t max,
                        books_account_fn fn, void *cls);

/*
 * Requests on orders (issuance_orders*.c, docs/orders.md): creation with
 * its validation, cash recorded by an admin (funding, refunds, payouts),
 * cancel, and the queries.  Every "_in" function joins the caller's
 * transaction (call it inside a db_txn() body; on an error return the
 * body with order_qs()) and writes nothing when it refuses: every check
 * comes before the first write.  An error after a write (the books
 * refusing a posting: a broken invariant; -ERR_INTERNAL) leaves part of
 * it in the transaction, which the caller then rolls back (db_txn() with
 * DB_QS_HARD, or the API's savepoint).
 */

/* The time zone of primary-market hours (market_open, cutoff). */
#define ORDER_TIME_ZONE   "America/New_York"
#define ORDER_REF_MAX     65           /* client_ref, bank_ref: 1-64 bytes and the NUL */
#define ORDER_REASON_MAX  201          /* a cancel's reason: 1-200 bytes and the NUL */
#define ORDER_ACTOR_MAX   65           /* "api:<id>", "admin:<id>", "engine" and the NUL */
#define ORDER_PAYLOAD_MAX (128 * 1024) /* largest signed payload stored */

/* The primary session an order placed at some instant is for. */
struct order_session {
  bool in_hours;        /* a business day, market_open <= local time < cutoff */
  int32_t session_date; /* that day, else the next session's (day number) */
  int64_t cutoff_ms;    /* the cutoff instant of session_date */
};

/**
 * order_hours() - which primary session an order placed at @now_ms is
 * for.  Hours are wall times "HH:MM" in ORDER_TIME_ZONE on the business
 * days of @cal (NULL: the bare NYSE rules).  In hours: today's session.
 * Before @open on a business day: today's (it opens later).  Else the
 * next business day's.
 * Returns 0, -ERR_INVALID_ARGUMENT (a bad "HH:MM", @open >= @cutoff),
 * -ERR_FIX_TZ (no time zone data) or -ERR_CAL_DATE_RANGE.
 */
int order_hours(const struct cal *cal, const char *open, const char *cutoff, int64_t now_ms,
                struct order_session *out);

/* What order_create_in() takes.  Borrowed. */
struct order_request {
  enum order_kind kind;
  int64_t ap;               /* the AP's principal id */
  const char *symbol;       /* the stock's symbol (TSLA) or the token's (TSLAx) */
  struct money quantity;    /* shares, > 0, exact at ISSUANCE_QTY_SCALE */
  bool has_limit;           /* mint: required (the most it pays); redeem: optional */
  struct money limit_price; /* USD per share, > 0, exact at scale 6 */
  const char *wallet;       /* "0x" + 40 hex digits, any case */
  const char *client_ref;   /* NULL or 1-64 bytes of UTF-8 text: the AP's own reference */
  /* The instruction's signature: X-Backstock-Signature (NULL when absent)
   * and the exact bytes it covers (order_signature_check_in()). */
  const char *sig_header;
  const unsigned char *payload;
  size_t payload_len;    /* at most ORDER_PAYLOAD_MAX */
  const struct cal *cal; /* business days; NULL: NYSE rules, shipped and stored closures */
};

/**
 * order_create_in() - validate a mint or redeem order of an AP and insert
 * it with its first three events (requested, validated, awaiting_cash or
 * awaiting_tokens; actor "api:<ap>") in the caller's transaction.  Checks
 * in this order, each refusal writing nothing: the request's shape
 * (-ERR_INVALID_ARGUMENT; a bad wallet text -ERR_ORDER_WALLET); the AP an
 * enabled principal of role ap (-ERR_API_FORBIDDEN); the signature
 * (order_signature_check_in(): -ERR_ORDER_SIGNATURE); the instrument by
 * symbol or token symbol (-ERR_ORDER_INSTRUMENT); the wallet on the AP's
 * allow-list and not revoked (-ERR_ORDER_WALLET); no pause of this kind,
 * global or the instrument's (-ERR_ORDER_PAUSED); no corporate-action
 * window (-ERR_ORDER_CORPACT); quantity within the instrument's min..max
 * and a token amount above zero (-ERR_ORDER_SIZE); the limit price
 * (mint: required; -ERR_ORDER_PRICE), cash_required in range
 * (-ERR_ORDER_CASH); the limits of its windows (order_limits_check_in():
 * -ERR_ORDER_LIMIT); primary hours at db_clock_now() (out_of_hours
 * refuse: -ERR_ORDER_HOURS; queue: the next session).  docs/orders.md
 * has the figures (token_amount, cash_required, cash_deadline).
 * @id: receives the new order's id.
 * Returns 0, a refusal above, -ERR_NOMEM, -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int order_create_in(struct db_conn *c, const struct order_request *rq, int64_t *id);

/**
 * order_create_get_in() - order_create_in(), and the new order as
 * order_get() would read it then into @out (from the insert itself: no
 * second statement).  Returns what order_create_in() does.
 */
int order_create_get_in(struct db_conn *c, const struct order_request *rq, struct order *out);

/** order_create() - order_create_in() in a db_txn() of its own. */
int order_create(struct db_conn *c, const struct order_request *rq, int64_t *id);

enum order_cash_kind { ORDER_CASH_FUNDING = 0, ORDER_CASH_REFUND, ORDER_CASH_PAYOUT };

/** order_cash_kind_name() - "funding", "refund", "payout" (static). */
const char *order_cash_kind_name(enum order_cash_kind k);

/* A row of cash_movements. */
struct order_movement {
  int64_t id;
  int64_t order_id;
  enum order_cash_kind kind;
  struct money amount; /* scale 2 */
  char bank_ref[ORDER_REF_MAX];
  int64_t recorded_by; /* the admin's principal id */
  int64_t at_ms;
  bool existed; /* recorded before under this bank_ref: nothing changed now */
};

/**
 * order_fund_in() - record cash the issuer's bank received for mint
 * order @id (cash_movements 'funding'), raise cash_funded and post
 * custodian cash -X / ap:<ap> cash +X (key "order-<id>-funding-<movement
 * id>", reference "order:<id>"), with an event by "admin:<admin>": the
 * transition awaiting_cash -> cash_received once cash_funded reaches
 * cash_required, else a note in the current state.  The same @bank_ref
 * again for the same order and amount changes nothing (out->existed).
 * @amount: USD, > 0, exact at cents.  @bank_ref: 1-64 bytes of text.
 * Returns 0, -ERR_INVALID_ARGUMENT (amount or bank_ref), -ERR_API_CONFLICT
 * (the bank_ref was recorded with another order or amount),
 * -ERR_ORDER_NOT_FOUND, -ERR_ORDER_STATE (a redeem, or not awaiting_cash
 * or cash_received), -ERR_ORDER_CASH (cash_funded out of range), a books
 * error, -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int order_fund_in(struct db_conn *c, int64_t id, int64_t admin, struct money amount,
                  const char *bank_ref, struct order_movement *out);

/**
 * order_pay_in() - record cash paid to the AP under order @id: a refund
 * (mint) or a payout (redeem); raise cash_paid and post ap:<ap> cash -P /
 * custodian cash +P (key "order-<id>-<kind>-<movement id>").  At most
 * what may be paid now (docs/orders.md, "Cash"): a redeem only in
 * payout_submitted, up to order_cash_due(); a mint before its fills are
 * final only what exceeds cash_required, after them up to
 * order_cash_due().  A redeem whose cash due reaches 0 moves
 * payout_submitted -> paid -> completed; otherwise a note event.
 * Idempotent per bank_ref as order_fund_in().
 * Returns 0, -ERR_INVALID_ARGUMENT (amount, bank_ref, or @kind not the
 * order's: refund for a mint, payout for a redeem), -ERR_API_CONFLICT,
 * -ERR_ORDER_NOT_FOUND, -ERR_ORDER_STATE, -ERR_ORDER_CASH (more than may
 * be paid), a books error, -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int order_pay_in(struct db_conn *c, int64_t id, int64_t admin, enum order_cash_kind kind,
                 struct money amount, const char *bank_ref, struct order_movement *out);

/**
 * order_cancel_in() - cancel order @id for @actor ("api:<id>",
 * "admin:<id>").  Before the broker order the order is cancelled at once
 * (a mint's funded cash becomes refundable; a redeem's tokens go back: in
 * tokens_received a transfer intent "order-<id>-return" from the
 * redemption address, in burned a re-mint intent "order-<id>-remint",
 * recorded here with its books posting and executed by the engine; in
 * awaiting_tokens the engine's return step sends back an escrow that
 * executes anyway).  With a broker order live
 * (broker_submitted, partially_filled) it moves to cancel_requested with
 * orders.cancel_requested set: after the commit the caller asks the
 * broker with order_cancel_broker().  An order in cancel_requested is
 * left as it is (0).  @reason: NULL or 1-200 bytes of text.
 * @to: receives the state the order is in now.
 * Returns 0, -ERR_INVALID_ARGUMENT, -ERR_ORDER_NOT_FOUND, -ERR_ORDER_STATE
 * (final or past the broker order; a burned redeem whose burn has not
 * executed yet), a chain or books error, -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int order_cancel_in(struct db_conn *c, int64_t id, const char *actor, const char *reason,
                    enum order_state *to);

/**
 * order_cancel_broker() - outside a transaction, after the commit of an
 * order_cancel_in() that left order @id in cancel_requested: ask the
 * broker to cancel it (fix_broker_cancel(); asking again while a cancel
 * is pending changes nothing).  Nothing when the order is in another
 * state.  Returns 0, -ERR_ORDER_NOT_FOUND, -ERR_FIX_ORDER_UNKNOWN (no
 * broker order recorded yet) or -ERR_DB_*; a broker order already final
 * is 0 (the engine finishes the order).
 */
int order_cancel_broker(struct db_conn *c, int64_t id);

/**
 * order_cancel() - order_cancel_in() in a db_txn() of its own, then
 * order_cancel_broker() when the order went to cancel_requested.
 * Returns as order_cancel_in() (the broker step's error is logged only:
 * the order stays cancel_requested and the engine asks again).
 */
int order_cancel(struct db_conn *c, int64_t id, const char *actor, const char *reason,
                 enum order_state *to);

/* Which orders order_list() hands over. */
struct order_filter {
  int64_t ap; /* 0: every AP */
  bool has_state;
  enum order_state state;
  bool has_kind;
  enum order_kind kind;
  const char *symbol; /* NULL: all; the stock's or the token's symbol */
};

/* Gets each order; returns 0 to go on, anything else to stop (returned). */
typedef int (*order_fn)(void *cls, const struct order *o);

/**
 * order_list() - the orders matching @f with an id above @after (0: from
 * the first), by id, at most @max, each handed to @fn (valid during the
 * call).  One snapshot when called inside a transaction.
 * Returns the number handed over, what @fn returned when it stopped,
 * -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int order_list(struct db_conn *c, const struct order_filter *f, int64_t after, size_t max,
               order_fn fn, void *cls);

/* One row of order_events (borrowed by the callback). */
struct order_event {
  int64_t id; /* increasing: the cursor for the next page */
  int64_t order_id;
  int seq;       /* 1, 2, ... per order */
  bool has_from; /* false for the first event (requested) */
  enum order_state from, to;
  const char *actor;
  const char *detail; /* a JSON object */
  int64_t at_ms;
};

typedef int (*order_event_fn)(void *cls, const struct order_event *e);

/**
 * order_events() - the events of order @id with an event id above @after,
 * oldest first (seq order), at most @max, each handed to @fn.
 * Returns the number handed over, what @fn returned when it stopped,
 * -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int order_events(struct db_conn *c, int64_t id, int64_t after, size_t max, order_event_fn fn,
                 void *cls);

/* (further declarations of the orders slice) */

/* ================================================================== */
/* Engine: broker, fills, settlement queue, chain (issuance_engine*.c) */
/* ================================================================== */

/*
 * The engine (docs/engine.md, docs/settlement.md) drives every order
 * after its creation: it places the broker order when the order's
 * session is open, books each execution (fills, busts, corrections) with
 * its settlement item, settles the items against the custodian's
 * confirmations, records and executes the token ledger's intents (mint,
 * escrow, burn, give-back), completes, expires and cancels.  Each step
 * is a function that does a bounded amount of work in transactions of
 * its own (one per order or item), restartable at any point: a crash
 * between two transactions leaves a state the next pass continues from,
 * and every effect outside the order's own transaction (the broker
 * order, a chain intent) is keyed by the order id, so it happens once.
 * Several engines (processes or threads, each with its own engine and
 * connection) may run on one database at once.
 */

/* The issuer's redemption address of the built-in ledger (config redemption_address). */
#define ENGINE_REDEMPTION_ADDRESS "0x00000000000000000000000000000000000bac57"
#define ENGINE_ADDR_MAX           43 /* "0x" + 40 hex and the NUL */

/* What an engine is told (engine_cfg_init() gives the defaults). */
struct engine_cfg {
  unsigned batch;          /* most orders, items or executions per step per pass (1..10000): 100 */
  unsigned settle_retry_s; /* clock seconds before an unconfirmed item is tried again: 900 */
  unsigned escalate_days;  /* NYSE business days after settle_date before attention: 3 */
  char redemption_address[ENGINE_ADDR_MAX]; /* lower case */
};

/** engine_cfg_init() - the defaults above. */
void engine_cfg_init(struct engine_cfg *cfg);

/** engine_cfg_from() - the engine's part of the service configuration. */
void engine_cfg_from(const struct cfg *c, struct engine_cfg *out);

/* What the steps did; every count is added to (engine_pass() sums them). */
struct engine_stats {
  unsigned placed;      /* broker orders placed (orders -> broker_submitted) */
  unsigned executions;  /* broker executions consumed (ours or not) */
  unsigned fills;       /* fills booked */
  unsigned busts;       /* trade cancels (H) handled */
  unsigned corrections; /* trade corrections (G) handled */
  unsigned finals;      /* orders moved on by their broker order's final state */
  unsigned cancels;     /* fix_broker_cancel() asked for cancel_requested orders */
  unsigned confirmed;   /* settlement items confirmed */
  unsigned retried;     /* items not confirmed yet, tried again later */
  unsigned escalated;   /* items (and their orders) moved to requires_attention */
  unsigned minted;      /* mint intents executed and booked */
  unsigned escrowed;    /* redeem escrows executed and booked */
  unsigned burned;      /* burns recorded with their posting */
  unsigned returned;    /* escrows sent back after their order ended */
  unsigned completed;   /* orders completed */
  unsigned expired;     /* unfunded mints expired */
  unsigned payouts;     /* redeems moved to payout_submitted */
  unsigned attention;   /* orders moved to requires_attention */
  unsigned errors;      /* things skipped this pass for an error (logged, tried again) */
};

struct engine;

/**
 * engine_open() - an engine on connection @c (borrowed, outside a
 * transaction between calls; it must outlive the engine).  Opens the
 * built-in token ledger on @c.
 * @cal: the NYSE calendar with the extra closures (borrowed, read only).
 * @cfg: copied.
 * Returns 0, -ERR_INVALID_ARGUMENT (a field of @cfg out of range, a bad
 * redemption address) or -ERR_NOMEM.  Free with engine_free().
 */
int engine_open(struct db_conn *c, const struct cal *cal, const struct engine_cfg *cfg,
                struct engine **out);

/** engine_free() - free @e and its ledger (not the connection); NULL does nothing. */
void engine_free(struct engine *e);

/*
 * The steps.  Each handles at most cfg.batch things, adds to @st (may be
 * NULL) and returns how many it handled (>= 0: 0 means nothing to do) or
 * a database error (-ERR_DB_*) that stopped it; what was done before the
 * error stays done.  An error about one order (logged) is counted in
 * st->errors and does not stop the step.
 */

/**
 * engine_place_step() - place the broker order of every order whose
 * session is open (business day on the NYSE calendar, the instrument's
 * market_open <= New York time < market_close, session_date reached; not
 * paused, no corporate-action window): mints in cash_received, redeems in
 * burned (burn_policy on_receipt, the burn executed) or tokens_received
 * (at_payout).  The order moves to broker_submitted first (the intent,
 * with the broker order's terms in its event), then fix_broker_place()
 * (idempotent on the order id) sends it; an order found in
 * broker_submitted or cancel_requested without its broker order (a crash
 * in between) is placed again with the same terms.
 */
int engine_place_step(struct engine *e, struct engine_stats *st);

/**
 * engine_exec_step() - consume broker_executions after the engine's
 * cursor (engine_cursors 'broker_executions'), in cursor order, one
 * transaction per execution that also moves the cursor: a fill (F) is
 * booked (figures, posting, settlement item, event); a bust (H) cancels
 * the fill's item, reverses its posting and moves the order to
 * requires_attention; a correction (G) corrects the item and the order's
 * figures with a balancing posting.  Executions of broker orders that
 * are no orders of ours are passed over.
 */
int engine_exec_step(struct engine *e, struct engine_stats *st);

/**
 * engine_broker_step() - orders whose broker order is final and whose
 * executions are all consumed: something filled -> filled (fee charged,
 * unsold redeem tokens given back), nothing filled -> cancelled (a cancel
 * was asked) or broker_rejected (tokens of a redeem given back).  And for
 * each order in cancel_requested whose broker order is open and not being
 * canceled, fix_broker_cancel().
 */
int engine_broker_step(struct engine *e, struct engine_stats *st);

/**
 * engine_settle_step() - the settlement worker (issuance_settle.c): claim
 * due items one by one (pending, next_try_at passed, settle_date reached
 * on the clock's New York date) with FOR UPDATE SKIP LOCKED and confirm
 * each against custody_settlements; unconfirmed items are retried every
 * cfg.settle_retry_s and escalated after cfg.escalate_days business days.
 * Any number of workers may run at once: an item is confirmed once.
 */
int engine_settle_step(struct engine *e, struct engine_stats *st);

/**
 * engine_chain_step() - the token ledger: execute intents recorded and
 * not executed (chain_resume), record and execute mints (mint_policy
 * at_settlement: settled_at_custodian, at_fill: filled), finish orders
 * in mint_submitted or mint_failed, escrow the tokens of redeems in
 * awaiting_tokens (insufficient: rejected), burn (on_receipt:
 * tokens_received; at_payout: cash_settled), return the escrow of a
 * redeem cancelled before it was booked, and move an order whose burn or
 * give-back failed for good to requires_attention.
 */
int engine_chain_step(struct engine *e, struct engine_stats *st);

/**
 * engine_complete_step() - expire mints still awaiting_cash at their
 * cash_deadline; move settling / settlement_failed orders whose items are
 * all confirmed on (mint settled_at_custodian, redeem cash_settled ->
 * payout_submitted); at_payout redeems burned -> payout_submitted.
 */
int engine_complete_step(struct engine *e, struct engine_stats *st);

/**
 * engine_pass() - every step once, in the order place, exec, broker,
 * settle, chain, complete (and corporate actions: corpact_step()).
 * Returns the total handled (>= 0) or the first error (the remaining
 * steps still run).
 */
int engine_pass(struct engine *e, struct engine_stats *st);

/**
 * engine_run() - the engine loop until *@stop becomes nonzero: a pass,
 * then at once another while the pass found work, else wait for a
 * NOTIFY on broker_orders or clock, or @poll_ms, checking *@stop at least
 * every 100 ms.  Starts with chain_resume().  A pass that fails (the
 * database down) is logged and tried again after @poll_ms.  Returns 0.
 */
int engine_run(struct engine *e, unsigned poll_ms, volatile int *stop);

/**
 * engine_books_check() - the orders' books hook (a books_check_fn; @cls
 * unused): for every order, the postings of its reference order:<id>
 * against its figures and its chain intents -- the AP's cash equals
 * cash_due; the AP's tokens equal tokens_done (mint) or minus the escrow
 * plus what was given back (redeem); the issuer's shares in transit equal
 * filled - settled and its settled shares settled (signed per side); a
 * completed or payout order is fully settled; an order that never
 * reached its broker has no fill.  Each difference is a
 * BOOKS_ISSUE_EXTERNAL discrepancy naming the order.
 * Use: books_check_with(c, engine_books_check, NULL, &report).
 */
int engine_books_check(struct db_conn *c, struct books_report *r, void *cls);

/* ================================================================== */
/* Corporate actions (issuance_corpact.c)                             */
/* ================================================================== */

/**
 * corpact_window_in() - whether a corporate action of @instrument (not
 * cancelled) has clock_now() inside its window, when mint and redeem are
 * refused.  Joins the caller's transaction.  The window includes both
 * window_start and window_end; with several, the one starting first.
 * @action_id: if not NULL, receives the action's id (0 when none).
 * Returns 0 (no window), 1 (inside one), -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int corpact_window_in(struct db_conn *c, int64_t instrument, int64_t *action_id);

/*
 * An action on an instrument (table corporate_actions, migration 0014,
 * docs/corporate-actions.md): status announced -> scheduled -> applied
 * -> reconciled, or cancelled before applied.  Splits are ratio_new-for-
 * ratio_old ("2-for-1": new 2, old 1; "1-for-10": new 1, old 10).  A
 * split or reverse split moves instruments.multiplier (raw token ->
 * shares) from old_multiplier to new_multiplier at effective_at, guarded
 * by the old value; a symbol change renames the instrument, guarded by
 * the old symbol; a cash dividend is recorded; a stock dividend, a
 * merger and a delisting are recorded only (attention says so).  Mint
 * and redeem are refused from window_start to window_end, both included.
 * Times are ms since the epoch on the clock (clock_now()), dates day
 * numbers (cal_day()).  The *_in() functions join the caller's
 * transaction (call inside db_txn()); the others run their own.
 * Refusals: -ERR_INVALID_ARGUMENT (bad terms; @why says which field),
 * -ERR_API_NOT_FOUND (no such instrument or action), -ERR_API_CONFLICT
 * (the status or the clock does not allow it; @why says why).
 */
enum corpact_type {
  CORPACT_SPLIT = 0,
  CORPACT_REVERSE_SPLIT,
  CORPACT_CASH_DIVIDEND,
  CORPACT_STOCK_DIVIDEND,
  CORPACT_SYMBOL_CHANGE,
  CORPACT_MERGER,
  CORPACT_DELISTING,
};
#define CORPACT_TYPE_COUNT 7

enum corpact_status {
  CORPACT_ANNOUNCED = 0,
  CORPACT_SCHEDULED,
  CORPACT_APPLIED,
  CORPACT_RECONCILED,
  CORPACT_CANCELLED,
};
#define CORPACT_STATUS_COUNT 5

#define CORPACT_RATIO_SCALE    6         /* ratio_old, ratio_new */
#define CORPACT_CASH_SCALE     6         /* cash_per_share */
#define CORPACT_MULT_SCALE     18        /* multipliers */
#define CORPACT_DATE_NONE      INT32_MIN /* a date not given */
#define CORPACT_TIME_NONE      INT64_MIN /* a time not given (window: the default) */
#define CORPACT_SYMBOL_MAX     17        /* a symbol and its NUL */
#define CORPACT_TEXT_MAX       256       /* attention, why: up to 255 bytes and the NUL */
#define CORPACT_WINDOW_TAIL_MS 3600000   /* default window_end: effective_at + 1 hour */

/** corpact_type_name() - "split", "reverse_split", ...; "unknown" out of range. */
const char *corpact_type_name(enum corpact_type t);

/** corpact_type_parse() - the type named @s.  Returns 0 or -ERR_INVALID_ARGUMENT. */
int corpact_type_parse(const char *s, enum corpact_type *out);

/** corpact_status_name() - "announced", ...; "unknown" out of range. */
const char *corpact_status_name(enum corpact_status st);

/** corpact_status_parse() - the status named @s.  Returns 0 or -ERR_INVALID_ARGUMENT. */
int corpact_status_parse(const char *s, enum corpact_status *out);

/* What an announcement says. */
struct corpact_terms {
  enum corpact_type type;
  bool has_ratio;                         /* required: split, reverse_split, stock_dividend */
  struct money ratio_old;                 /* > 0, scale 6 */
  struct money ratio_new;                 /* > 0, scale 6 */
  bool has_cash;                          /* required: cash_dividend */
  struct money cash_per_share;            /* > 0, scale 6 */
  char currency[4];                       /* 3 letters A-Z, with has_cash */
  char new_symbol[CORPACT_SYMBOL_MAX];    /* "" none; required: symbol_change */
  int32_t record_date, ex_date, pay_date; /* CORPACT_DATE_NONE: not given */
  int64_t effective_ms;                   /* required */
  int64_t window_start_ms;                /* CORPACT_TIME_NONE: the default */
  int64_t window_end_ms;                  /* CORPACT_TIME_NONE: effective + 1 hour */
};

/** corpact_terms_init() - terms of @type with nothing else given. */
void corpact_terms_init(struct corpact_terms *t, enum corpact_type type);

/**
 * corpact_terms_check() - the rules within the terms, without the
 * database: ratios required for split, reverse_split and stock_dividend,
 * allowed for a merger, else refused; a split and a stock dividend have
 * ratio_new > ratio_old, a reverse split ratio_new < ratio_old; a cash
 * dividend has cash_per_share and currency (a merger may); a symbol
 * change has new_symbol (a merger may); amounts > 0 at scale 6 below
 * 10^14; dates ex <= record <= pay; window_start <= effective <=
 * window_end with start < end, where given.
 * @why: receives "field \"x\": ..." for a refusal (may be NULL).
 * Returns 0 or -ERR_INVALID_ARGUMENT.
 */
int corpact_terms_check(const struct corpact_terms *t, char *why, size_t wsz);

/**
 * corpact_multiplier() - @old x @ratio_new / @ratio_old, rounded
 * half-even at 18 places, with one rounding: the ratio (exact at scale 6)
 * is reduced to lowest terms n/d, old x n is exact, then divided by d
 * (integer arithmetic, never floating point).
 * Returns 0, -ERR_INVALID_ARGUMENT (a ratio <= 0 or not exact at scale
 * 6, or the result 0 or not below 10^20, what numeric(38,18) holds),
 * -ERR_MONEY_OVERFLOW (old x n beyond the range of struct money).
 */
int corpact_multiplier(struct money old, struct money ratio_new, struct money ratio_old,
                       struct money *out);

/* An action as stored, with its instrument's symbol now. */
struct corpact {
  int64_t id;
  int64_t instrument;
  char symbol[CORPACT_SYMBOL_MAX];
  struct corpact_terms terms;                  /* window_*_ms always set */
  char old_symbol[CORPACT_SYMBOL_MAX];         /* symbol change, once scheduled; else "" */
  bool has_multipliers;                        /* split, reverse split: from scheduled on */
  struct money old_multiplier, new_multiplier; /* scale 18 */
  enum corpact_status status;
  char attention[CORPACT_TEXT_MAX]; /* "" none */
  int64_t created_by;               /* principal; 0 none */
  int64_t created_ms, updated_ms;
  int64_t applied_ms; /* CORPACT_TIME_NONE until applied */
};

/**
 * corpact_announce_in() - record a new action of @instrument (status
 * announced), after corpact_terms_check() and: effective_at after
 * clock_now(); a new symbol other than the instrument's.  A window bound
 * not given gets its default: window_start the later of clock_now() and
 * 16:00 America/New_York on the business day before ex_date (before the
 * New York date of effective_at when there is no ex_date; the NYSE
 * calendar with the built-in and stored closures), but not after
 * effective_at; window_end effective_at + 1 hour.
 * @by: the principal announcing it; 0 for none.
 * @out: if not NULL, receives the action as stored.
 * @why: the reason of a refusal (may be NULL).
 * Returns 0, -ERR_INVALID_ARGUMENT, -ERR_API_NOT_FOUND, -ERR_NOMEM,
 * -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int corpact_announce_in(struct db_conn *c, int64_t instrument, const struct corpact_terms *t,
                        int64_t by, struct corpact *out, char *why, size_t wsz);

/** corpact_announce() - corpact_announce_in() in a db_txn() of its own. */
int corpact_announce(struct db_conn *c, int64_t instrument, const struct corpact_terms *t,
                     int64_t by, struct corpact *out, char *why, size_t wsz);

/**
 * corpact_schedule_in() - announced -> scheduled, before effective_at.
 * A split or reverse split records old_multiplier = the instrument's
 * multiplier now and new_multiplier = corpact_multiplier(); it is
 * refused while another split or reverse split of the instrument is
 * scheduled (its guard would fail).  A symbol change records old_symbol.
 * Returns 0, -ERR_API_NOT_FOUND, -ERR_API_CONFLICT (not announced,
 * effective_at passed, another split scheduled), -ERR_INVALID_ARGUMENT
 * (the new multiplier out of range), -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int corpact_schedule_in(struct db_conn *c, int64_t id, struct corpact *out, char *why, size_t wsz);
int corpact_schedule(struct db_conn *c, int64_t id, struct corpact *out, char *why, size_t wsz);

/**
 * corpact_cancel_in() - announced or scheduled -> cancelled: it is never
 * applied and its window no longer pauses anything.
 * Returns 0, -ERR_API_NOT_FOUND, -ERR_API_CONFLICT (applied, reconciled
 * or cancelled), -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int corpact_cancel_in(struct db_conn *c, int64_t id, struct corpact *out, char *why, size_t wsz);
int corpact_cancel(struct db_conn *c, int64_t id, struct corpact *out, char *why, size_t wsz);

/**
 * corpact_reconcile_in() - applied -> reconciled: an admin confirmed the
 * outcome (the multiplier, the records) against the outside world.
 * Returns 0, -ERR_API_NOT_FOUND, -ERR_API_CONFLICT (not applied),
 * -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int corpact_reconcile_in(struct db_conn *c, int64_t id, struct corpact *out, char *why, size_t wsz);
int corpact_reconcile(struct db_conn *c, int64_t id, struct corpact *out, char *why, size_t wsz);

/**
 * corpact_get() - the action @id as stored (FOR UPDATE when @lock: inside
 * a transaction only).  One statement.
 * Returns 0, -ERR_API_NOT_FOUND, -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int corpact_get(struct db_conn *c, int64_t id, bool lock, struct corpact *out);

/**
 * corpact_list() - the actions of @instrument with an id above @after,
 * by id, at most @max into @out.  One statement.
 * Returns the number written, -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int corpact_list(struct db_conn *c, int64_t instrument, int64_t after, struct corpact *out,
                 size_t max);

/* What one corpact_step() did. */
struct corpact_step_stats {
  unsigned applied;   /* split or symbol change applied, dividend or other recorded */
  unsigned guarded;   /* not applied: the guard failed (attention set, still scheduled) */
  unsigned unplanned; /* announced past effective_at, never scheduled (attention set) */
};

/**
 * corpact_step() - apply every scheduled action whose effective_at <=
 * clock_now() and that has no attention, oldest first, each in its own
 * transaction (the action's row locked, its status and time checked
 * again): a split or reverse split runs UPDATE instruments SET
 * multiplier = new WHERE multiplier = old (0 rows: attention, stays
 * scheduled); a symbol change likewise on the symbol (also when the new
 * symbol is taken); a cash dividend is recorded (applied); a stock
 * dividend, merger or delisting is applied with attention "recorded
 * only".  An announced action past its effective_at gets attention.
 * Every change is logged.  Call it on each pass of the engine loop, on a
 * connection outside a transaction.
 * @st: if not NULL, receives the counts (written also on error).
 * Returns 0 or the first database error (-ERR_DB_*); what was done
 * before it stays done.
 */
int corpact_step(struct db_conn *c, struct corpact_step_stats *st);

/**
 * corpact_window_at() - corpact_window_in() at @at_ms instead of
 * clock_now() (CORPACT_TIME_NONE: clock_now()).
 */
int corpact_window_at(struct db_conn *c, int64_t instrument, int64_t at_ms, int64_t *action_id);

/* Raw, multiplier and displayed figures of an instrument, side by side. */
struct corpact_supply {
  int64_t instrument;
  char token_symbol[CORPACT_SYMBOL_MAX];
  unsigned token_decimals;
  int64_t block;                 /* the ledger's head the supply was read at */
  struct money raw_supply;       /* tokens at token_decimals: what the ledger holds */
  struct money multiplier;       /* scale 18: shares per raw token */
  struct money displayed_supply; /* raw x multiplier, scale 18, rounded down */
  struct money liability_shares; /* raw x multiplier, scale 6, rounded up */
};

/**
 * corpact_figures() - displayed supply and liability in shares from
 * @raw (any scale) and @multiplier, exactly: displayed = raw x multiplier
 * rounded down at 18 places (what a holder is shown, never more than
 * backed); liability = raw x multiplier rounded up at 6 (share scale; the
 * issuer owes at least that).  Sets raw_supply, multiplier and the two.
 * Returns 0 or -ERR_MONEY_OVERFLOW.
 */
int corpact_figures(struct money raw, struct money multiplier, struct corpact_supply *out);

/**
 * corpact_supply() - the figures of @instrument now: its multiplier and
 * token (one statement), then the raw supply of the token on the
 * built-in ledger at its head (chain_supply() at CHAIN_LATEST; a token
 * the ledger does not know has supply 0), then corpact_figures().  On a
 * connection outside a transaction (the ledger runs its own).
 * Returns 0, -ERR_API_NOT_FOUND, -ERR_MONEY_OVERFLOW, -ERR_NOMEM,
 * -ERR_CHAIN_BACKEND or -ERR_DB_*.
 */
int corpact_supply(struct db_conn *c, int64_t instrument, struct corpact_supply *out);

#endif
