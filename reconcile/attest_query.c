/*
 * attest_query.c: the SQL of the attestations: the reconciler's latest
 * figures per ISIN (the one coupling to recon_runs), holders of a token at
 * a block (the built-in ledger's running balances), a statement and its
 * pages' raw bytes (custody), and the attestations table.
 */
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "reconcile/attest_q.h"

/* The run of the newest cut-off of each ISIN with an instrument (recon_runs, migration 0015). */
const struct db_stmt attest_q_figures = {
    "attest_q_figures",
    "SELECT DISTINCT ON (isin) isin, statement_id, chain_block, agg::text, pend_out::text,"
    " penr_in::text, red_owed::text, red_instr::text, mint_owed::text, multiplier::text"
    " FROM recon_runs WHERE instrument IS NOT NULL ORDER BY isin, cutoff DESC, id DESC",
    0};

/*
 * The next page of holders with a positive balance of token $1 at block $2, by address, after
 * address $3 ('' for the first), at most $4: pages keep the build's memory bounded.  Addresses
 * are '0x' and 40 lower-case hex digits (chain_balances' CHECK), so every collation orders them
 * as their bytes, which the proofs' binary search over the export relies on.
 */
const struct db_stmt attest_q_holders = {
    "attest_q_holders",
    "SELECT address, balance::text FROM (SELECT DISTINCT ON (address) address, balance"
    " FROM chain_balances WHERE token = $1 AND block <= $2::bigint AND address > $3"
    " ORDER BY address, block DESC) b WHERE balance > 0 ORDER BY address LIMIT $4::int",
    4};

const struct db_stmt attest_q_instrument = {
    "attest_q_instrument", "SELECT token_symbol, token_decimals FROM instruments WHERE isin = $1",
    1};

const struct db_stmt attest_q_statement = {
    "attest_q_statement",
    "SELECT stmt_id, to_char(stmt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    " FROM custody_statements WHERE id = $1::bigint",
    1};

/* The pages of statement $1 in page order: sha256 and the raw bytes in hex. */
const struct db_stmt attest_q_pages = {
    "attest_q_pages",
    "SELECT d.sha256, encode(coalesce(d.raw, (SELECT string_agg(k.data, ''::bytea ORDER BY"
    " k.seq) FROM custody_document_chunks k WHERE k.document_id = d.id)), 'hex')"
    " FROM custody_statement_pages p JOIN custody_documents d ON d.id = p.document_id"
    " WHERE p.statement_id = $1::bigint ORDER BY p.page_no",
    1};

const struct db_stmt attest_q_last = {
    "attest_q_last", "SELECT id, hash FROM attestations ORDER BY id DESC LIMIT 1", 0};

const struct db_stmt attest_q_insert = {
    "attest_q_insert",
    "INSERT INTO attestations (id, created, payload, document, hash, previous_hash)"
    " VALUES ($1::bigint, to_timestamp($2::bigint / 1000.0), $3, $4, $5, $6)",
    6};

/* Attestation $1, or the latest when $1 is 0. */
const struct db_stmt attest_q_get = {
    "attest_q_get",
    "SELECT id, document FROM attestations WHERE $1::bigint = 0 OR id = $1::bigint"
    " ORDER BY id DESC LIMIT 1",
    1};

/* Whether a reconciliation run is newer than the latest attestation (or there is none yet). */
const struct db_stmt attest_q_due = {
    "attest_q_due",
    "SELECT EXISTS (SELECT 1 FROM recon_runs WHERE instrument IS NOT NULL AND created >"
    " coalesce((SELECT max(created) FROM attestations), '-infinity'::timestamptz))",
    0};

int attest_due(struct db_conn *c, bool *due)
{
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &attest_q_due, NULL, &r);
  if (qs < 0)
    return qs == DB_QS_SOFT ? -ERR_DB_CONFLICT : -ERR_DB_HARD;
  *due = qs > 0 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
  PQclear(r);
  return 0;
}

static int money_col(PGresult *r, int row, int col, struct money *out)
{
  const char *v = PQgetvalue(r, row, col);
  if (PQgetisnull(r, row, col))
    v = "0";
  return money_parse(v, strlen(v), 18, MONEY_PARSE_NEGATIVE, out);
}

int attest_figures_latest(struct db_conn *c, struct attest_figures **out, size_t *n)
{
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &attest_q_figures, NULL, &r);
  if (qs < 0)
    return qs == DB_QS_SOFT ? -ERR_DB_CONFLICT : -ERR_DB_HARD;
  int rows = qs == DB_QS_NONE ? 0 : PQntuples(r);
  struct attest_figures *f = calloc(rows > 0 ? (size_t)rows : 1, sizeof *f);
  if (f == NULL) {
    PQclear(r);
    return -ERR_NOMEM;
  }
  int rc = 0;
  for (int i = 0; i < rows && rc == 0; i++) {
    util_strlcpy(f[i].isin, PQgetvalue(r, i, 0), sizeof f[i].isin);
    f[i].statement_id = strtoll(PQgetvalue(r, i, 1), NULL, 10);
    f[i].block = strtoll(PQgetvalue(r, i, 2), NULL, 10);
    struct money *m[] = {&f[i].agg,       &f[i].pend_out,  &f[i].penr_in,   &f[i].red_owed,
                         &f[i].red_instr, &f[i].mint_owed, &f[i].multiplier};
    for (int k = 0; k < 7 && rc == 0; k++)
      rc = money_col(r, i, 3 + k, m[k]);
  }
  PQclear(r);
  if (rc != 0) {
    free(f);
    return rc;
  }
  *out = f;
  *n = (size_t)rows;
  return 0;
}
