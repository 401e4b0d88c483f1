/*
 * The fixture of the orders' API tests (test_api_orders*.c): a struct
 * tl_fx with both APs (an issuer admin, two APs and an auditor, each with
 * a key, on a fresh database), AAPL (refuses out of hours) and TSLA
 * (queues) with a wallet per AP, and the clock at Tuesday 2025-07-01
 * 14:00 New York; requests with extra headers; row counts.
 */
#ifndef BACKSTOCK_TESTS_API_ORDERS_FX_H
#define BACKSTOCK_TESTS_API_ORDERS_FX_H

#include "tests/api/api_testlib.h"

#define AFX_W1 "0x1111111111111111111111111111111111111111"
#define AFX_W2 "0x2222222222222222222222222222222222222222"

extern struct tl_fx afx;

int afx_setup(void **state);
int afx_teardown(void **state);

/* tl_call() with one more header ("Name: value"; NULL for none). */
void afx_call(const char *method, const char *path, const char *key, const char *idem,
              const char *body, const char *header, struct tl_reply *r);

/* The rows an order request may write: orders, events, movements, postings, audit, idempotency. */
long long afx_rows(void);

/* A POST that must answer @status/@code (hint containing @hint, may be NULL) and change no row. */
void afx_post_refused(const char *path, const char *key, const char *idem, const char *body,
                      long status, int code, const char *hint);

/* A mint of AP 1 (10 AAPL at 200.123456, cash_required 2011.25): its id. */
int64_t afx_mint(const char *idem);

/* A redeem of AP 1 (10 AAPL at market): its id. */
int64_t afx_redeem(const char *idem);

/* Run SQL on the fixture's connection. */
void afx_sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* An integer of SQL. */
long long afx_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
