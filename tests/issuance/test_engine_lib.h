/*
 * Fixtures for the engine's dbtests (test_engine*.c): a fresh migrated
 * database, the clock set to Tuesday 2027-03-02 15:00 UTC (10:00 in New
 * York, the market open), one AP, two instruments, and an engine on it;
 * orders inserted as the orders slice creates them (the row and its
 * three first events), funded as the admin endpoint funds them, broker
 * executions and broker order states written as the connector writes
 * them, custodian confirmations as the custody store stores them.
 *
 *   AAPL  US0378331005  AAPLx  18 decimals  lag 1  at_settlement  on_receipt
 *         fee 1.00 + 0.001  market 09:30-16:00 (cutoff 15:30)
 *   MSFT  US5949181045  MSFTx   6 decimals  lag 1  at_fill        at_payout
 *         fee 0.00 + 0.002
 */
#ifndef BACKSTOCK_TEST_ENGINE_LIB_H
#define BACKSTOCK_TEST_ENGINE_LIB_H

#include "issuance/issuance.h"
#include "tests/support/testsupport.h"

#define TL_WALLET "0x00000000000000000000000000000000000a1111"
#define TL_AAPL   "US0378331005"
#define TL_MSFT   "US5949181045"
/* 2027-03-02T15:00:00Z */
#define TL_START_MS 1803999600000LL
#define TL_DAY_MS   86400000LL

struct tl {
  struct ts_db db;
  struct db_conn *c;
  struct cal cal;
  struct engine_cfg cfg;
  struct engine *e;
  int64_t ap;
  char ap_owner[32];
};

/* Set up @t as above (aborts the test on failure). */
void tl_setup(struct tl *t, const char *tag);
void tl_teardown(struct tl *t);

/* TL_FIXTURE(tag) - "static struct tl T", started by tl_setup(&T, @tag) (TS_FIXTURE()). */
#define TL_FIXTURE(tag) TS_FIXTURE(struct tl, T, tl_setup, tl_teardown, tag)

/* A query's first value (malloc'd text, "" without rows), and an exact comparison. */
char *tl_value(struct tl *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tl_expect(struct tl *t, const char *want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Run SQL (fails the test on error). */
void tl_sql(struct tl *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A mint order in awaiting_cash (cash_required computed as docs/orders.md says). */
int64_t tl_mint(struct tl *t, const char *symbol, const char *qty, const char *limit);
/* Fund it fully (posting, cash_funded, cash_received) as order_fund_in does. */
void tl_fund(struct tl *t, int64_t id);
/* A redeem order in awaiting_tokens (@limit NULL: market). */
int64_t tl_redeem(struct tl *t, const char *symbol, const char *qty, const char *limit);

/* An execution of broker order @id as the connector records it. */
void tl_exec(struct tl *t, int64_t id, char type, const char *exec_id, const char *ref,
             const char *qty, const char *px, const char *trade, const char *settle);
/* The broker order's state and cum_qty as the connector's reports leave them. */
void tl_broker(struct tl *t, int64_t id, const char *state, const char *cum);
/* A sese.025 confirmation as the custody store keeps it. */
void tl_custody(struct tl *t, const char *tx_id, const char *isin, const char *qty, const char *dir,
                const char *date, const char *amount);

/*
 * A mint of @qty @symbol at most @limit funded, placed and filled at @px
 * today (execution @exec_id, settling the next weekday, the broker order
 * filled), and one engine pass after the fill.
 */
int64_t tl_mint_filled(struct tl *t, const char *symbol, const char *qty, const char *limit,
                       const char *px, const char *exec_id);

/*
 * A mint of @qty @symbol at most @limit taken through to completed: funded,
 * placed, filled at @px (execution @exec_id, broker order filled), the
 * clock moved a day on, confirmed by the custodian, minted.  The clock
 * ends one day later than it started.
 */
int64_t tl_mint_done(struct tl *t, const char *symbol, const char *qty, const char *limit,
                     const char *px, const char *exec_id);

/* The clock's New York date now, "YYYY-MM-DD" (malloc'd). */
char *tl_today(struct tl *t);

/* One engine pass (fails the test on an error); its stats. */
struct engine_stats tl_pass(struct tl *t);
/* Passes until one finds nothing (at most 20); the sum of their stats. */
struct engine_stats tl_run(struct tl *t);
/* Move the clock forward. */
void tl_advance(struct tl *t, int64_t ms);

/* The order's states, "requested,validated,..." in event order. */
void tl_events(struct tl *t, int64_t id, const char *want);
/* Sum of the entries of @owner/@asset under "order:<id>" ("0" when none). */
char *tl_ref_sum(struct tl *t, int64_t id, const char *owner, const char *asset);
/* tl_ref_sum() must be exactly @want (fails the test naming the order, owner and asset). */
void tl_expect_ref(struct tl *t, int64_t id, const char *owner, const char *asset,
                   const char *want);
/* books_check_with(the engine's hook) must be ok (prints the report if not). */
void tl_books_ok(struct tl *t);

#endif
