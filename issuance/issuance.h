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
  struct money cash_funded, fee, cash_paid;                       /* scale 2 */
  struct money tokens_done;                                       /* scale 18 */
  int32_t session_date; /* days since the epoch (cal) */
  int64_t cash_deadline_ms; /* 0: none */
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

/* (further declarations of the orders slice) */

/* ================================================================== */
/* Engine: broker, fills, settlement queue, chain (issuance_engine*.c) */
/* ================================================================== */

/* (declarations of the engine slice) */

/* ================================================================== */
/* Corporate actions (issuance_corpact.c)                             */
/* ================================================================== */

/**
 * corpact_window_in() - whether a corporate action of @instrument (not
 * cancelled) has clock_now() inside its window, when mint and redeem are
 * refused.  Joins the caller's transaction.
 * @action_id: if not NULL, receives the action's id (0 when none).
 * Returns 0 (no window), 1 (inside one), -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int corpact_window_in(struct db_conn *c, int64_t instrument, int64_t *action_id);

/* (further declarations of the corporate-actions slice) */

#endif
