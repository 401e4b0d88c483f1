/*
 * A fixture of the reconciliation and attestation API suites
 * (test_api_recon.c, test_api_attest.c), after tests/reconcile: an
 * instrument AAPL (ISIN RFX_ISIN, token AAPLx with 6 decimals) whose
 * tokens three holders received on the built-in ledger, and semt.002
 * statements of the custodian (BANKUS33XXX / RESERVE-1) ingested through
 * the custody store, so that recon_step() has complete SETT/COMP
 * statements to reconcile.  All in the fixture server's database.
 */
#ifndef BACKSTOCK_TESTS_API_RECON_FX_H
#define BACKSTOCK_TESTS_API_RECON_FX_H

#include "tests/api/api_testlib.h"

#define RFX_ISIN  "US0378331005" /* AAPL */
#define RFX_OTHER "US5949181045" /* an ISIN no instrument has */
#define RFX_A1    "0x1111111111111111111111111111111111111111"
#define RFX_A2    "0x2222222222222222222222222222222222222222"
#define RFX_A3    "0x3333333333333333333333333333333333333333"

/*
 * rfx_plant() - the instrument, its token and three mints not made by
 * any order, executed on March 1 2026 at 20:00 UTC: 100 to RFX_A1, 250.5
 * to RFX_A2, 49.5 to RFX_A3 (400 tokens).
 */
void rfx_plant(struct tl_server *s);

/*
 * rfx_statement() - ingest a one-page complete statement @id of March
 * @day 2026, 22:00 UTC, holding @shares whole shares of RFX_ISIN and,
 * when @other is not 0, @other shares of RFX_OTHER.
 */
void rfx_statement(struct tl_server *s, const char *id, unsigned day, long long shares,
                   long long other);

/* rfx_recon() - one recon_step() pass (tolerance 0); returns its runs. */
unsigned rfx_recon(struct tl_server *s);

/*
 * rfx_get() - GET http://127.0.0.1:@port@path with "Bearer @key" (NULL:
 * none), at most 30 s and 32 MiB: returns the status; @body receives the
 * bytes (malloc'd, NUL-terminated, free()), @len their number, @ct the
 * Content-Type ("" when none).  Fails the test when no answer came.
 */
long rfx_get(uint16_t port, const char *path, const char *key, char **body, size_t *len, char *ct,
             size_t ct_size);

#endif
