/*
 * The books' queries: an account and its balance (now, as of a posting,
 * as of a time), an account's entries after a cursor with the running
 * balance, and the postings of a reference.  Each is one statement, so
 * it reads one consistent snapshot inside a caller's transaction or on
 * its own.  Amounts come back at their asset's scale; a stored figure
 * that does not fit it (only after tampering: books_check() names it) is
 * reported as -ERR_BOOKS_ASSET or -ERR_BOOKS_OVERFLOW.
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_int.h"

/* The posting time in ms since the epoch (posted_at is whole ms unless it was now()). */
#define SQL_MS "floor(extract(epoch FROM p.posted_at) * 1000)::bigint"

static const struct db_stmt q_account = {
    "books_select_account",
    "SELECT a.id, s.scale, a.balance, a.floor FROM books_accounts a"
    " JOIN books_assets s ON s.asset = a.asset WHERE a.owner = $1 AND a.asset = $2",
    2};

static const struct db_stmt q_balance_at_posting = {
    "books_select_balance_at_posting",
    "SELECT s.scale, COALESCE((SELECT sum(e.amount) FROM books_entries e"
    " WHERE e.account_id = a.id AND e.posting_id <= $3::bigint), 0)"
    " FROM books_accounts a JOIN books_assets s ON s.asset = a.asset"
    " WHERE a.owner = $1 AND a.asset = $2",
    3};

static const struct db_stmt q_balance_at_time = {
    "books_select_balance_at_time",
    "SELECT s.scale, COALESCE((SELECT sum(e.amount) FROM books_entries e"
    " JOIN books_postings p ON p.id = e.posting_id WHERE e.account_id = a.id"
    " AND p.posted_at <= 'epoch'::timestamptz + $3::bigint * interval '1 millisecond'), 0)"
    " FROM books_accounts a JOIN books_assets s ON s.asset = a.asset"
    " WHERE a.owner = $1 AND a.asset = $2",
    3};

static const struct db_stmt q_entries = {
    "books_select_account_entries",
    "WITH acct AS (SELECT a.id, s.scale, (SELECT COALESCE(sum(x.amount), 0) FROM books_entries x"
    " WHERE x.account_id = a.id AND x.id <= $3::bigint) AS base"
    " FROM books_accounts a JOIN books_assets s ON s.asset = a.asset"
    " WHERE a.owner = $1 AND a.asset = $2),"
    " page AS (SELECT e.id, e.posting_id, e.amount FROM books_entries e, acct"
    " WHERE e.account_id = acct.id AND e.id > $3::bigint ORDER BY e.id LIMIT $4::bigint)"
    " SELECT acct.scale, page.id, page.posting_id, p.key, p.reference, " SQL_MS ", page.amount,"
    " acct.base + sum(page.amount) OVER (ORDER BY page.id)"
    " FROM acct LEFT JOIN page ON true LEFT JOIN books_postings p ON p.id = page.posting_id"
    " ORDER BY page.id",
    4};

static const struct db_stmt q_postings_by_ref = {
    "books_select_postings_by_reference",
    "SELECT p.id, p.key, p.reference, p.memo, " SQL_MS ", e.account_id, a.owner, a.asset,"
    " e.amount, s.scale FROM books_postings p LEFT JOIN books_entries e ON e.posting_id = p.id"
    " LEFT JOIN books_accounts a ON a.id = e.account_id"
    " LEFT JOIN books_assets s ON s.asset = a.asset WHERE p.reference = $1 ORDER BY p.id, e.seq",
    1};

int64_t issuance__ms(const char *s)
{
  return strtoll(s, NULL, 10);
}

void issuance__figure(const char *s, unsigned scale, char out[BOOKS_FIGURE_MAX])
{
  struct money m;
  if (issuance__num_money(s, scale, &m) == 0 && money_format(m, out, BOOKS_FIGURE_MAX) > 0)
    return;
  if (util_strlcpy(out, s, BOOKS_FIGURE_MAX) != 0)
    memcpy(out + BOOKS_FIGURE_MAX - 4, "...", 4);
}

/* Names checked as a query needs them. */
static int check_names(const char *owner, const char *asset)
{
  if (!books_owner_valid(owner))
    return -ERR_BOOKS_ACCOUNT;
  return books_asset_parse(asset, NULL);
}

int books_account_get(struct db_conn *c, const char *owner, const char *asset,
                      struct books_account *out)
{
  PGresult *r;
  struct books_account a;
  int rc = check_names(owner, asset);
  if (rc != 0)
    return rc;
  const char *p[] = {owner, asset};
  enum db_qs qs = db_exec(c, &q_account, p, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == DB_QS_NONE)
    return -ERR_BOOKS_ACCOUNT;
  memset(&a, 0, sizeof a);
  a.id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  util_strlcpy(a.owner, owner, sizeof a.owner);
  util_strlcpy(a.asset, asset, sizeof a.asset);
  a.scale = (unsigned)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
  rc = issuance__num_money(PQgetvalue(r, 0, 2), a.scale, &a.balance);
  a.has_floor = !PQgetisnull(r, 0, 3);
  if (rc == 0 && a.has_floor)
    rc = issuance__num_money(PQgetvalue(r, 0, 3), a.scale, &a.floor);
  PQclear(r);
  if (rc == 0)
    *out = a;
  return rc;
}

int books_balance(struct db_conn *c, const char *owner, const char *asset, struct money *out)
{
  struct books_account a;
  int rc = books_account_get(c, owner, asset, &a);
  if (rc == 0)
    *out = a.balance;
  return rc;
}

/* A balance of one of the "as of" queries: row (scale, sum). */
static int balance_as_of(struct db_conn *c, const struct db_stmt *q, const char *owner,
                         const char *asset, int64_t bound, struct money *out)
{
  char b[ISS_I64_TXT];
  PGresult *r;
  int rc = check_names(owner, asset);
  if (rc != 0)
    return rc;
  snprintf(b, sizeof b, "%lld", (long long)bound);
  const char *p[] = {owner, asset, b};
  enum db_qs qs = db_exec(c, q, p, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == DB_QS_NONE)
    return -ERR_BOOKS_ACCOUNT;
  unsigned scale = (unsigned)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
  rc = issuance__num_money(PQgetvalue(r, 0, 1), scale, out);
  PQclear(r);
  return rc;
}

int books_balance_at_posting(struct db_conn *c, const char *owner, const char *asset,
                             int64_t posting_id, struct money *out)
{
  return balance_as_of(c, &q_balance_at_posting, owner, asset, posting_id, out);
}

int books_balance_at_time(struct db_conn *c, const char *owner, const char *asset, int64_t at_ms,
                          struct money *out)
{
  return balance_as_of(c, &q_balance_at_time, owner, asset, at_ms, out);
}

int books_account_entries(struct db_conn *c, const char *owner, const char *asset, int64_t after,
                          size_t max, books_entry_fn fn, void *cls)
{
  char a[ISS_I64_TXT], m[ISS_I64_TXT];
  PGresult *r;
  int rc = check_names(owner, asset);
  if (rc != 0)
    return rc;
  if (max > INT32_MAX)
    max = INT32_MAX;
  snprintf(a, sizeof a, "%lld", (long long)(after < 0 ? 0 : after));
  snprintf(m, sizeof m, "%zu", max);
  const char *p[] = {owner, asset, a, m};
  enum db_qs qs = db_exec(c, &q_entries, p, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == DB_QS_NONE)
    return -ERR_BOOKS_ACCOUNT;
  int n = 0;
  unsigned scale = (unsigned)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
  for (int i = 0; i < (int)qs && rc == 0; i++) {
    struct books_entry_row e;
    if (PQgetisnull(r, i, 1))
      break; /* the account has no entry after @after */
    memset(&e, 0, sizeof e);
    e.id = strtoll(PQgetvalue(r, i, 1), NULL, 10);
    e.posting_id = strtoll(PQgetvalue(r, i, 2), NULL, 10);
    util_strlcpy(e.key, PQgetvalue(r, i, 3), sizeof e.key);
    util_strlcpy(e.reference, PQgetvalue(r, i, 4), sizeof e.reference);
    e.at_ms = issuance__ms(PQgetvalue(r, i, 5));
    if ((rc = issuance__num_money(PQgetvalue(r, i, 6), scale, &e.amount)) != 0 ||
        (rc = issuance__num_money(PQgetvalue(r, i, 7), scale, &e.balance)) != 0)
      break;
    if ((rc = fn(cls, &e)) == 0)
      n++;
  }
  PQclear(r);
  return rc != 0 ? rc : n;
}

int books_postings_by_reference(struct db_conn *c, const char *reference, books_posting_fn fn,
                                void *cls)
{
  PGresult *r;
  if (!issuance__ref_valid(reference))
    return -ERR_INVALID_ARGUMENT;
  const char *p[] = {reference};
  enum db_qs qs = db_exec(c, &q_postings_by_ref, p, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == DB_QS_NONE)
    return 0;
  struct books_posting_row *row = malloc(sizeof *row);
  if (row == NULL) {
    PQclear(r);
    return -ERR_NOMEM;
  }
  int rc = 0, n = 0;
  for (int i = 0; i < (int)qs && rc == 0;) {
    memset(row, 0, sizeof *row);
    row->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    util_strlcpy(row->key, PQgetvalue(r, i, 1), sizeof row->key);
    util_strlcpy(row->reference, PQgetvalue(r, i, 2), sizeof row->reference);
    util_strlcpy(row->memo, PQgetvalue(r, i, 3), sizeof row->memo);
    row->at_ms = issuance__ms(PQgetvalue(r, i, 4));
    for (; i < (int)qs && strtoll(PQgetvalue(r, i, 0), NULL, 10) == row->id; i++) {
      if (PQgetisnull(r, i, 5) || row->n_entries == BOOKS_ENTRIES_MAX)
        continue; /* no entries (tampered), or more than a posting can hold */
      struct books_entry_out *e = &row->entries[row->n_entries++];
      e->account_id = strtoll(PQgetvalue(r, i, 5), NULL, 10);
      util_strlcpy(e->owner, PQgetvalue(r, i, 6), sizeof e->owner);
      util_strlcpy(e->asset, PQgetvalue(r, i, 7), sizeof e->asset);
      unsigned scale = (unsigned)strtoul(PQgetvalue(r, i, 9), NULL, 10);
      if (rc == 0)
        rc = issuance__num_money(PQgetvalue(r, i, 8), scale, &e->amount);
    }
    if (rc == 0 && (rc = fn(cls, row)) == 0)
      n++;
  }
  free(row);
  PQclear(r);
  return rc != 0 ? rc : n;
}
