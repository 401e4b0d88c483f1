/*
 * The books' checker: books_check() proves from the tables alone, in one
 * REPEATABLE READ READ ONLY snapshot, that
 *   (1) every posting balances per asset and still holds the number of
 *       entries it wrote;
 *   (2) per asset, the balances over all accounts sum to zero, and so do
 *       the entries;
 *   (3) every account's stored balance equals the sum of its entries;
 *   (4) no balance (stored, or summed from the entries) is below its
 *       account's floor;
 * and that every amount, balance and floor is representable at its
 * asset's scale.  Each check is one query that counts every discrepancy
 * and returns the first BOOKS_REPORT_FIRST in a stable order; all
 * figures are exact numeric text from PostgreSQL, shown at the asset's
 * scale.  A hook (books_check_with()) runs further checks in the same
 * snapshot: the orders slice reconciles order states there.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_int.h"

/* MONEY_V_MAX: the largest magnitude a balance may reach in base units. */
#define SQL_V_MAX "170141183460469231731687303715884105727"
/* Whether figure X is not representable at scale s.scale. */
#define SQL_BAD(x)                                                                                 \
  "(" x " <> round(" x ", s.scale) OR abs(" x ") * 10::numeric ^ s.scale > " SQL_V_MAX ")"

static const struct db_stmt q_counts = {
    "books_check_counts",
    "SELECT (SELECT count(*) FROM books_postings), (SELECT count(*) FROM books_entries),"
    " (SELECT count(*) FROM books_accounts)",
    0};

static const struct db_stmt q_unbalanced = {
    "books_check_unbalanced",
    "SELECT x.posting_id, p.key, x.asset, s.scale, x.total, count(*) OVER () FROM"
    " (SELECT e.posting_id, a.asset, sum(e.amount) AS total FROM books_entries e"
    " JOIN books_accounts a ON a.id = e.account_id GROUP BY e.posting_id, a.asset"
    " HAVING sum(e.amount) <> 0) x JOIN books_postings p ON p.id = x.posting_id"
    " JOIN books_assets s ON s.asset = x.asset ORDER BY x.posting_id, x.asset LIMIT $1::bigint",
    1};

static const struct db_stmt q_entry_count = {
    "books_check_entry_count",
    "SELECT p.id, p.key, p.n_entries, count(e.id), count(*) OVER () FROM books_postings p"
    " LEFT JOIN books_entries e ON e.posting_id = p.id GROUP BY p.id"
    " HAVING count(e.id) <> p.n_entries ORDER BY p.id LIMIT $1::bigint",
    1};

static const struct db_stmt q_totals = {
    "books_check_totals",
    "SELECT s.asset, s.scale, count(a.id), COALESCE(max(t.n), 0),"
    " COALESCE(sum(a.balance) FILTER (WHERE a.balance > 0), 0),"
    " COALESCE(sum(a.balance) FILTER (WHERE a.balance < 0), 0), COALESCE(sum(a.balance), 0),"
    " COALESCE(max(t.total), 0), COALESCE(sum(a.balance), 0) <> 0, COALESCE(max(t.total), 0) <> 0"
    " FROM books_assets s LEFT JOIN books_accounts a ON a.asset = s.asset"
    " LEFT JOIN (SELECT b.asset, count(*) AS n, sum(e.amount) AS total FROM books_entries e"
    " JOIN books_accounts b ON b.id = e.account_id GROUP BY b.asset) t ON t.asset = s.asset"
    " GROUP BY s.asset, s.scale ORDER BY s.asset",
    0};

/* The accounts with the sum of their entries, for checks (3) and (4). */
#define SQL_ACCOUNTS                                                                               \
  " FROM books_accounts a JOIN books_assets s ON s.asset = a.asset"                                \
  " LEFT JOIN (SELECT account_id, sum(amount) AS total FROM books_entries GROUP BY account_id) t"  \
  " ON t.account_id = a.id"

static const struct db_stmt q_balances = {
    "books_check_balances",
    "SELECT a.id, a.owner, a.asset, s.scale, COALESCE(t.total, 0), a.balance, count(*) OVER "
    "()" SQL_ACCOUNTS " WHERE a.balance <> COALESCE(t.total, 0) ORDER BY a.id LIMIT $1::bigint",
    1};

static const struct db_stmt q_floors = {
    "books_check_floors",
    "SELECT a.id, a.owner, a.asset, s.scale, a.floor, LEAST(a.balance, COALESCE(t.total, 0)),"
    " count(*) OVER ()" SQL_ACCOUNTS " WHERE a.floor IS NOT NULL"
    " AND (a.balance < a.floor OR COALESCE(t.total, 0) < a.floor) ORDER BY a.id LIMIT $1::bigint",
    1};

static const struct db_stmt q_scales = {
    "books_check_scales",
    "SELECT kind, posting_id, account_id, owner, asset, scale, figure, count(*) OVER () FROM ("
    " SELECT 'entry' AS kind, e.posting_id, a.id AS account_id, a.owner, a.asset, s.scale,"
    " e.amount AS figure, e.id AS ord FROM books_entries e"
    " JOIN books_accounts a ON a.id = e.account_id JOIN books_assets s ON s.asset = a.asset"
    " WHERE " SQL_BAD("e.amount") " UNION ALL"
                                  " SELECT 'balance', 0, a.id, a.owner, a.asset, s.scale, "
                                  "a.balance, 0 FROM books_accounts a"
                                  " JOIN books_assets s ON s.asset = a.asset WHERE " SQL_BAD(
                                      "a.balance") " UNION ALL"
                                                   " SELECT 'floor', 0, a.id, a.owner, a.asset, "
                                                   "s.scale, a.floor, 0 FROM books_accounts a"
                                                   " JOIN books_assets s ON s.asset = a.asset "
                                                   "WHERE a.floor IS NOT NULL AND " SQL_BAD(
                                                       "a.floor") ") x ORDER BY kind, account_id, "
                                                                  "ord LIMIT $1::bigint",
    1};

static const char *const issue_names[BOOKS_ISSUE_COUNT] = {
    "unbalanced", "entry_count", "asset_sum", "balance", "floor", "scale", "external",
};

/* ------------------------------------------------------------------ */
/* The report                                                          */
/* ------------------------------------------------------------------ */

const char *books_issue_name(enum books_issue issue)
{
  return (unsigned)issue < BOOKS_ISSUE_COUNT ? issue_names[issue] : "unknown";
}

void books_report_init(struct books_report *r)
{
  memset(r, 0, sizeof *r);
  r->ok = true;
}

void books_report_free(struct books_report *r)
{
  if (r == NULL)
    return;
  free(r->totals);
  free(r->items);
  books_report_init(r);
}

int books_report_add(struct books_report *r, const struct books_discrepancy *d)
{
  unsigned k = (unsigned)d->issue < BOOKS_ISSUE_COUNT ? (unsigned)d->issue : BOOKS_ISSUE_EXTERNAL;
  r->ok = false;
  if (r->counts[k]++ >= BOOKS_REPORT_FIRST)
    return 0;
  if (r->n_items == r->cap_items) {
    size_t cap = r->cap_items == 0 ? 16 : 2 * r->cap_items;
    struct books_discrepancy *n = realloc(r->items, cap * sizeof *n);
    if (n == NULL)
      return -ERR_NOMEM;
    r->items = n;
    r->cap_items = cap;
  }
  r->items[r->n_items] = *d;
  r->items[r->n_items].issue = (enum books_issue)k;
  r->n_items++;
  return 0;
}

/* Add a discrepancy; its text is formatted from @fmt. */
__attribute__((format(printf, 9, 10))) static int add(struct books_report *r,
                                                      enum books_issue issue, int64_t posting,
                                                      int64_t account, const char *owner,
                                                      const char *asset, const char *expected,
                                                      const char *actual, const char *fmt, ...)
{
  struct books_discrepancy d;
  va_list ap;
  memset(&d, 0, sizeof d);
  d.issue = issue;
  d.posting_id = posting;
  d.account_id = account;
  util_strlcpy(d.owner, owner, sizeof d.owner);
  util_strlcpy(d.asset, asset, sizeof d.asset);
  util_strlcpy(d.expected, expected, sizeof d.expected);
  util_strlcpy(d.actual, actual, sizeof d.actual);
  va_start(ap, fmt);
  vsnprintf(d.text, sizeof d.text, fmt, ap);
  va_end(ap);
  return books_report_add(r, &d);
}

/* ------------------------------------------------------------------ */
/* The checks                                                          */
/* ------------------------------------------------------------------ */

struct check {
  struct books_report *r;
  books_check_fn extra;
  void *cls;
  int rc;
};

static const char *v(PGresult *res, int row, int col)
{
  return PQgetvalue(res, row, col);
}

static int64_t i64(PGresult *res, int row, int col)
{
  return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static unsigned u(PGresult *res, int row, int col)
{
  return (unsigned)strtoul(PQgetvalue(res, row, col), NULL, 10);
}

/* Run @q with the per-issue limit; *res gets the rows (NULL when none). */
static int run(struct db_conn *c, const struct db_stmt *q, PGresult **res, int *rows)
{
  char lim[ISS_I64_TXT];
  snprintf(lim, sizeof lim, "%d", BOOKS_REPORT_FIRST);
  const char *p[] = {lim};
  enum db_qs qs = db_exec(c, q, q->nparams > 0 ? p : NULL, res);
  if (qs < 0)
    return issuance__qs_err(qs);
  *rows = (int)qs;
  if (qs == DB_QS_NONE)
    *res = NULL;
  return 0;
}

/* Count the discrepancies of one check beyond the rows it returned (column @col: the total). */
static void count_rest(struct books_report *r, enum books_issue issue, PGresult *res, int rows,
                       int col)
{
  if (rows > 0) {
    uint64_t total = strtoull(v(res, 0, col), NULL, 10);
    if (total > r->counts[issue])
      r->counts[issue] = total;
  }
}

static int check_postings(struct db_conn *c, struct books_report *r)
{
  PGresult *res;
  char fig[BOOKS_FIGURE_MAX], zero[BOOKS_FIGURE_MAX], want[BOOKS_FIGURE_MAX];
  int rows, rc = run(c, &q_unbalanced, &res, &rows);
  for (int i = 0; rc == 0 && i < rows; i++) {
    issuance__figure(v(res, i, 4), u(res, i, 3), fig);
    issuance__figure("0", u(res, i, 3), zero);
    rc = add(r, BOOKS_ISSUE_UNBALANCED, i64(res, i, 0), 0, "", v(res, i, 2), zero, fig,
             "(1) posting %lld (key %s): its entries of %s sum to %s, not %s",
             (long long)i64(res, i, 0), v(res, i, 1), v(res, i, 2), fig, zero);
  }
  count_rest(r, BOOKS_ISSUE_UNBALANCED, res, rows, 5);
  PQclear(res);
  if (rc != 0 || (rc = run(c, &q_entry_count, &res, &rows)) != 0)
    return rc;
  for (int i = 0; rc == 0 && i < rows; i++) {
    util_strlcpy(want, v(res, i, 2), sizeof want);
    util_strlcpy(fig, v(res, i, 3), sizeof fig);
    rc = add(r, BOOKS_ISSUE_ENTRY_COUNT, i64(res, i, 0), 0, "", "", want, fig,
             "(1) posting %lld (key %s): %s entries stored, it wrote %s", (long long)i64(res, i, 0),
             v(res, i, 1), fig, want);
  }
  count_rest(r, BOOKS_ISSUE_ENTRY_COUNT, res, rows, 4);
  PQclear(res);
  return rc;
}

static int check_totals(struct db_conn *c, struct books_report *r)
{
  PGresult *res;
  int rows, rc = run(c, &q_totals, &res, &rows);
  if (rc != 0 || rows == 0)
    return rc;
  r->totals = calloc((size_t)rows, sizeof *r->totals);
  if (r->totals == NULL) {
    PQclear(res);
    return -ERR_NOMEM;
  }
  r->n_totals = (size_t)rows;
  for (int i = 0; rc == 0 && i < rows; i++) {
    struct books_asset_total *t = &r->totals[i];
    char zero[BOOKS_FIGURE_MAX];
    util_strlcpy(t->asset, v(res, i, 0), sizeof t->asset);
    t->scale = u(res, i, 1);
    t->accounts = i64(res, i, 2);
    t->entries = i64(res, i, 3);
    issuance__figure(v(res, i, 4), t->scale, t->held);
    issuance__figure(v(res, i, 5), t->scale, t->owed);
    issuance__figure(v(res, i, 6), t->scale, t->net);
    issuance__figure(v(res, i, 7), t->scale, t->entries_net);
    issuance__figure("0", t->scale, zero);
    if (strcmp(v(res, i, 8), "t") == 0)
      rc = add(r, BOOKS_ISSUE_ASSET_SUM, 0, 0, "", t->asset, zero, t->net,
               "(2) the balances of %s over %lld accounts sum to %s, not %s", t->asset,
               (long long)t->accounts, t->net, zero);
    if (rc == 0 && strcmp(v(res, i, 9), "t") == 0)
      rc = add(r, BOOKS_ISSUE_ASSET_SUM, 0, 0, "", t->asset, zero, t->entries_net,
               "(2) the %lld entries of %s sum to %s, not %s", (long long)t->entries, t->asset,
               t->entries_net, zero);
  }
  PQclear(res);
  return rc;
}

static int check_accounts(struct db_conn *c, struct books_report *r)
{
  PGresult *res;
  char want[BOOKS_FIGURE_MAX], got[BOOKS_FIGURE_MAX];
  int rows, rc = run(c, &q_balances, &res, &rows);
  for (int i = 0; rc == 0 && i < rows; i++) {
    issuance__figure(v(res, i, 4), u(res, i, 3), want);
    issuance__figure(v(res, i, 5), u(res, i, 3), got);
    rc = add(r, BOOKS_ISSUE_BALANCE, 0, i64(res, i, 0), v(res, i, 1), v(res, i, 2), want, got,
             "(3) account %lld (%s %s): stored balance %s, its entries sum to %s",
             (long long)i64(res, i, 0), v(res, i, 1), v(res, i, 2), got, want);
  }
  count_rest(r, BOOKS_ISSUE_BALANCE, res, rows, 6);
  PQclear(res);
  if (rc != 0 || (rc = run(c, &q_floors, &res, &rows)) != 0)
    return rc;
  for (int i = 0; rc == 0 && i < rows; i++) {
    issuance__figure(v(res, i, 4), u(res, i, 3), want);
    issuance__figure(v(res, i, 5), u(res, i, 3), got);
    rc = add(r, BOOKS_ISSUE_FLOOR, 0, i64(res, i, 0), v(res, i, 1), v(res, i, 2), want, got,
             "(4) account %lld (%s %s): balance %s below its floor %s", (long long)i64(res, i, 0),
             v(res, i, 1), v(res, i, 2), got, want);
  }
  count_rest(r, BOOKS_ISSUE_FLOOR, res, rows, 6);
  PQclear(res);
  if (rc != 0 || (rc = run(c, &q_scales, &res, &rows)) != 0)
    return rc;
  for (int i = 0; rc == 0 && i < rows; i++) {
    char post[48] = "";
    if (strcmp(v(res, i, 0), "entry") == 0)
      snprintf(post, sizeof post, " in posting %lld", (long long)i64(res, i, 1));
    issuance__figure(v(res, i, 6), u(res, i, 5), got);
    rc = add(r, BOOKS_ISSUE_SCALE, i64(res, i, 1), i64(res, i, 2), v(res, i, 3), v(res, i, 4), "",
             got, "%s of account %lld (%s %s)%s: %s is not representable at scale %u", v(res, i, 0),
             (long long)i64(res, i, 2), v(res, i, 3), v(res, i, 4), post, got, u(res, i, 5));
  }
  count_rest(r, BOOKS_ISSUE_SCALE, res, rows, 7);
  PQclear(res);
  return rc;
}

static enum db_qs check_body(struct db_conn *c, void *cls)
{
  struct check *x = cls;
  struct books_report *r = x->r;
  PGresult *res;
  books_report_free(r);
  x->rc = 0;
  if (db_exec_sql(c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY") < 0)
    return DB_QS_HARD;
  enum db_qs qs = db_exec(c, &q_counts, NULL, &res);
  if (qs <= 0)
    return qs < 0 ? qs : DB_QS_HARD;
  r->postings = i64(res, 0, 0);
  r->entries = i64(res, 0, 1);
  r->accounts = i64(res, 0, 2);
  PQclear(res);
  int rc = check_postings(c, r);
  if (rc == 0)
    rc = check_totals(c, r);
  if (rc == 0)
    rc = check_accounts(c, r);
  if (rc == 0 && x->extra != NULL)
    rc = x->extra(c, r, x->cls);
  x->rc = rc;
  return rc < 0 ? books_txn_qs(rc) : DB_QS_NONE;
}

int books_check_with(struct db_conn *c, books_check_fn extra, void *cls, struct books_report *r)
{
  struct check x = {.r = r, .extra = extra, .cls = cls};
  int rc = db_txn(c, "books_check", check_body, &x);
  return rc != 0 ? rc : x.rc;
}

int books_check(struct db_conn *c, struct books_report *r)
{
  return books_check_with(c, NULL, NULL, r);
}

void books_report_print(const struct books_report *r, FILE *out)
{
  fprintf(out, "books postings=%lld entries=%lld accounts=%lld assets=%zu\n",
          (long long)r->postings, (long long)r->entries, (long long)r->accounts, r->n_totals);
  for (size_t i = 0; i < r->n_totals; i++) {
    const struct books_asset_total *t = &r->totals[i];
    fprintf(out,
            "asset %s scale=%u accounts=%lld entries=%lld held=%s owed=%s net=%s entries_net=%s\n",
            t->asset, t->scale, (long long)t->accounts, (long long)t->entries, t->held, t->owed,
            t->net, t->entries_net);
  }
  for (size_t i = 0; i < r->n_items; i++) {
    const struct books_discrepancy *d = &r->items[i];
    fprintf(out, "discrepancy %s: %s\n", books_issue_name(d->issue), d->text);
  }
  if (r->ok) {
    fprintf(out, "books ok\n");
    return;
  }
  fprintf(out, "books FAILED");
  for (unsigned k = 0; k < BOOKS_ISSUE_COUNT; k++)
    fprintf(out, " %s=%llu", issue_names[k], (unsigned long long)r->counts[k]);
  fputc('\n', out);
}
