/*
 * The fixture of the orders dbtests (test_orders*.c): a fresh migrated
 * database with an issuer admin, two APs and an auditor, two instruments
 * (AAPL: 18 decimals, multiplier 1, refuse out of hours, burn on receipt;
 * TSLA: 6 decimals, multiplier 3, queue, burn at payout), a wallet per AP,
 * and the clock at Tuesday 2025-07-01 14:00 New York (in hours).  Rows
 * the engine would write are written with SQL.
 */
#ifndef BACKSTOCK_TESTS_ORDERS_FX_H
#define BACKSTOCK_TESTS_ORDERS_FX_H

#include <stdint.h>

#include "issuance/issuance.h"
#include "tests/support/testsupport.h"

#define FX_WALLET1   "0x1111111111111111111111111111111111111111"
#define FX_WALLET2   "0x2222222222222222222222222222222222222222"
#define FX_AAPL_ISIN "US0378331005"
#define FX_T0        1751392800000LL /* 2025-07-01T18:00:00Z = 14:00 EDT, a Tuesday */

struct fx {
  struct ts_db db;
  struct db_conn *c;
  int64_t admin, ap1, ap2, auditor;
  int64_t aapl, tsla; /* instrument ids */
};

extern struct fx fx;

/* cmocka setup/teardown: a new database per test. */
int fx_setup(void **state);
int fx_teardown(void **state);

/* Set the business time to @ms (the clock row, directly). */
void fx_clock(int64_t ms);

/* An exact value at @scale from text (fails the test when it does not parse). */
struct money fx_amt(const char *s, unsigned scale);

/* A request of @ap for @qty shares of @sym to @wallet; a mint gets @limit ("" for none). */
struct order_request fx_req(enum order_kind kind, int64_t ap, const char *sym, const char *qty,
                            const char *limit, const char *wallet);

/* order_create() that must succeed: the new id. */
int64_t fx_create(const struct order_request *rq);

/* A mint of AP 1: 10 AAPL at 200.123456 (cash_required 2011.25). */
int64_t fx_mint(void);

/* A redeem of AP 1: 10 AAPL at market. */
int64_t fx_redeem(void);

/* The order as stored (fails the test on error). */
struct order fx_get(int64_t id);

/* The integer of SQL @sql. */
long long fx_int(const char *sql);

/* The text of SQL @sql (static buffer, until the next call). */
const char *fx_text(const char *sql);

/* Rows of the order tables together: orders, events, movements, intents, postings. */
long long fx_rows(void);

/* A figure as text: money_format() into a static buffer (one of 4 in turn). */
const char *fx_fmt(struct money m);

/* Assert a books balance ("" asset prefix free): owner, asset, exact text. */
void fx_balance(const char *owner, const char *asset, const char *want);

/* books_check_with() the engine's hook must be ok (its items printed to stderr). */
void fx_books_ok(void);

/* Move order @id to @state directly (as the engine would), no event. */
void fx_state(int64_t id, const char *state);

/* The events of @id as "from>to" joined by spaces ("-" for no from). */
const char *fx_events(int64_t id);

#endif
