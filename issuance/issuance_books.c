/*
 * The books: postings, asset definitions and floors.  books_post()
 * joins the caller's transaction and does, in order: check the posting
 * in memory (shape, owners, assets), read the scales of its assets,
 * bring every amount to its asset's scale exactly and prove that the
 * entries of each asset sum to zero; look the key up (a replay with the
 * same reference and entries changes nothing); lock the existing
 * accounts in id order (SELECT ... ORDER BY id FOR UPDATE), compute every
 * new balance with checked arithmetic and hold it against the floor; and
 * only then write: missing assets and accounts (in key order), the
 * posting, its entries and the new balances in one statement.  So a
 * refused posting writes nothing, concurrent postings cannot deadlock on
 * accounts, and the posting id is drawn while its accounts are locked
 * (an account's entries are numbered in commit order).
 *
 * Invariants kept: every account's balance is the sum of its entries;
 * the entries of each asset of each posting sum to zero; no balance
 * below its account's floor.  books_check() (issuance_books_check.c)
 * proves them from the tables.  Tables: migrations/0009-books.sql.
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_int.h"

/* Array literals of one posting: {...} of up to BOOKS_ENTRIES_MAX items. */
#define ARR_MAX 6144

/* The amount of an entry at the asset's scale. */
static int to_scale(struct money m, unsigned scale, struct money *out)
{
  int rc = money_rescale(m, scale, MONEY_ROUND_EXACT, out);
  if (rc == -ERR_MONEY_OVERFLOW)
    return -ERR_BOOKS_OVERFLOW;
  return rc == 0 ? 0 : -ERR_BOOKS_ASSET;
}

static struct money zero(unsigned scale)
{
  struct money z = {0, (uint8_t)scale};
  return z;
}

/* A growing array literal for one parameter; NULL from arr_end() if too long. */
struct arr {
  char *p;
  size_t len;
  bool over;
};

static void arr_put(struct arr *a, const char *s)
{
  size_t n = strlen(s);
  if (a->over || a->len + n + 2 > ARR_MAX) {
    a->over = true;
    return;
  }
  memcpy(a->p + a->len, s, n + 1);
  a->len += n;
}

static void arr_begin(struct arr *a, char *buf)
{
  a->p = buf;
  a->len = 0;
  a->over = false;
  arr_put(a, "{");
}

/* One item; @s NULL is SQL NULL, text items are quoted (their characters need no escape). */
static void arr_item(struct arr *a, const char *s, bool quote)
{
  if (a->len > 1)
    arr_put(a, ",");
  if (s == NULL) {
    arr_put(a, "NULL");
    return;
  }
  if (quote)
    arr_put(a, "\"");
  arr_put(a, s);
  if (quote)
    arr_put(a, "\"");
}

static const char *arr_end(struct arr *a)
{
  arr_put(a, "}");
  return a->over ? NULL : a->p;
}

static void i64_txt(char out[ISS_I64_TXT], int64_t v)
{
  snprintf(out, ISS_I64_TXT, "%lld", (long long)v);
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/* ------------------------------------------------------------------ */

static const struct db_stmt q_assets = {
    "books_select_assets", "SELECT asset, scale FROM books_assets WHERE asset = ANY($1::text[])",
    1};

static const struct db_stmt q_insert_assets = {
    "books_insert_assets",
    "INSERT INTO books_assets (asset, scale)"
    " SELECT asset, scale FROM unnest($1::text[], $2::smallint[]) AS n(asset, scale)"
    " ORDER BY asset ON CONFLICT DO NOTHING",
    2};

static const struct db_stmt q_define_asset = {
    "books_define_asset",
    "WITH i AS (INSERT INTO books_assets (asset, scale) VALUES ($1, $2::smallint)"
    " ON CONFLICT DO NOTHING RETURNING scale)"
    " SELECT scale FROM i UNION ALL SELECT scale FROM books_assets WHERE asset = $1",
    2};

static const struct db_stmt q_posting_by_key = {
    "books_select_posting_by_key",
    "SELECT p.id, p.reference, a.owner, a.asset, e.amount FROM books_postings p"
    " LEFT JOIN books_entries e ON e.posting_id = p.id"
    " LEFT JOIN books_accounts a ON a.id = e.account_id WHERE p.key = $1 ORDER BY e.seq",
    1};

static const struct db_stmt q_lock_accounts = {
    "books_lock_accounts",
    "SELECT a.id, a.owner, a.asset, a.balance, a.floor FROM books_accounts a"
    " JOIN unnest($1::text[], $2::text[]) AS k(owner, asset)"
    " ON a.owner = k.owner AND a.asset = k.asset ORDER BY a.id FOR UPDATE OF a",
    2};

static const struct db_stmt q_insert_accounts = {
    "books_insert_accounts",
    "INSERT INTO books_accounts (owner, asset, floor)"
    " SELECT owner, asset, floor FROM unnest($1::text[], $2::text[], $3::numeric[])"
    " AS n(owner, asset, floor) ORDER BY owner, asset ON CONFLICT DO NOTHING"
    " RETURNING id, owner, asset",
    3};

static const struct db_stmt q_write_posting = {
    "books_insert_posting",
    "WITH p AS (INSERT INTO books_postings (key, reference, memo, posted_at, n_entries)"
    " VALUES ($1, $2, $3, COALESCE('epoch'::timestamptz + $4::bigint * interval '1 millisecond',"
    " now()), $5::integer) ON CONFLICT (key) DO NOTHING RETURNING id),"
    " e AS (INSERT INTO books_entries (posting_id, seq, account_id, amount)"
    " SELECT p.id, x.seq, x.account_id, x.amount FROM p,"
    " unnest($6::bigint[], $7::numeric[]) WITH ORDINALITY AS x(account_id, amount, seq)"
    " ORDER BY x.seq),"
    " u AS (UPDATE books_accounts a SET balance = v.balance"
    " FROM unnest($8::bigint[], $9::numeric[]) AS v(id, balance)"
    " WHERE a.id = v.id AND EXISTS (SELECT 1 FROM p))"
    " SELECT id FROM p",
    9};

static const struct db_stmt q_set_floor = {
    "books_update_account_floor",
    "UPDATE books_accounts SET floor = $2::numeric WHERE id = $1::bigint", 2};

/* ------------------------------------------------------------------ */
/* The work of one posting                                             */
/* ------------------------------------------------------------------ */

struct w_asset {
  const char *name;
  unsigned scale;
  bool exists;      /* a books_assets row */
  struct money sum; /* of the posting's entries */
};

struct w_acct {
  const char *owner;
  size_t asset; /* index in assets */
  int64_t id;   /* 0 until known */
  bool exists;  /* found by the lock */
  struct money delta, balance, next;
  bool has_floor;
  struct money floor;
};

struct w_line {
  size_t acct;
  struct money amount; /* at the asset's scale */
};

struct work {
  struct w_asset assets[BOOKS_ENTRIES_MAX];
  struct w_acct accts[BOOKS_ENTRIES_MAX];
  struct w_line lines[BOOKS_ENTRIES_MAX];
  size_t n_assets, n_accts, n_lines;
  char arr[4][ARR_MAX];
  char cmp[2][BOOKS_ENTRIES_MAX][BOOKS_OWNER_MAX + BOOKS_ASSET_MAX + MONEY_STR_MAX];
};

static size_t find_asset(struct work *w, const char *name)
{
  for (size_t i = 0; i < w->n_assets; i++)
    if (strcmp(w->assets[i].name, name) == 0)
      return i;
  return SIZE_MAX;
}

static size_t find_acct(struct work *w, const char *owner, const char *asset)
{
  for (size_t i = 0; i < w->n_accts; i++)
    if (strcmp(w->accts[i].owner, owner) == 0 &&
        strcmp(w->assets[w->accts[i].asset].name, asset) == 0)
      return i;
  return SIZE_MAX;
}

/* Add an account (and its asset) to @w; names checked.  Returns its index or an error. */
static int add_acct(struct work *w, const char *owner, const char *asset, size_t *ix)
{
  unsigned scale;
  if (!books_owner_valid(owner))
    return -ERR_BOOKS_ACCOUNT;
  int rc = books_asset_parse(asset, &scale);
  if (rc != 0)
    return rc;
  size_t ai = find_asset(w, asset);
  if (ai == SIZE_MAX) {
    ai = w->n_assets++;
    w->assets[ai] = (struct w_asset){.name = asset, .scale = scale, .sum = zero(scale)};
  }
  size_t k = find_acct(w, owner, asset);
  if (k == SIZE_MAX) {
    k = w->n_accts++;
    w->accts[k] = (struct w_acct){.owner = owner, .asset = ai};
  }
  *ix = k;
  return 0;
}

/* The stored scales of @w's assets (the default of its kind for a new one). */
static int load_scales(struct db_conn *c, struct work *w)
{
  struct arr a;
  PGresult *r;
  arr_begin(&a, w->arr[0]);
  for (size_t i = 0; i < w->n_assets; i++)
    arr_item(&a, w->assets[i].name, true);
  const char *p[] = {arr_end(&a)};
  enum db_qs qs = db_exec(c, &q_assets, p, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  for (int i = 0; i < (int)qs; i++) {
    size_t ai = find_asset(w, PQgetvalue(r, i, 0));
    if (ai != SIZE_MAX) {
      w->assets[ai].scale = (unsigned)strtoul(PQgetvalue(r, i, 1), NULL, 10);
      w->assets[ai].exists = true;
    }
  }
  if (qs > 0)
    PQclear(r);
  for (size_t i = 0; i < w->n_accts; i++) {
    unsigned sc = w->assets[w->accts[i].asset].scale;
    w->accts[i].delta = w->accts[i].balance = zero(sc);
  }
  return 0;
}

/* Lock the existing accounts of @w in id order and read their balances and floors. */
static int lock_accounts(struct db_conn *c, struct work *w)
{
  struct arr o, a;
  PGresult *r;
  arr_begin(&o, w->arr[0]);
  arr_begin(&a, w->arr[1]);
  for (size_t i = 0; i < w->n_accts; i++) {
    arr_item(&o, w->accts[i].owner, true);
    arr_item(&a, w->assets[w->accts[i].asset].name, true);
  }
  const char *p[] = {arr_end(&o), arr_end(&a)};
  enum db_qs qs = db_exec(c, &q_lock_accounts, p, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  int rc = 0;
  for (int i = 0; i < (int)qs && rc == 0; i++) {
    size_t k = find_acct(w, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
    if (k == SIZE_MAX)
      continue;
    struct w_acct *x = &w->accts[k];
    unsigned sc = w->assets[x->asset].scale;
    x->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    x->exists = true;
    rc = issuance__num_money(PQgetvalue(r, i, 3), sc, &x->balance);
    x->has_floor = !PQgetisnull(r, i, 4);
    if (rc == 0 && x->has_floor)
      rc = issuance__num_money(PQgetvalue(r, i, 4), sc, &x->floor);
    if (rc != 0)
      log_msg(LOGL_ERROR, "books", "account %lld (%s %s): stored figures unreadable at scale %u",
              (long long)x->id, x->owner, w->assets[x->asset].name, sc);
  }
  if (qs > 0)
    PQclear(r);
  /* A new account: balance 0, an AP's floor 0, a system role's none. */
  for (size_t i = 0; i < w->n_accts; i++) {
    struct w_acct *x = &w->accts[i];
    if (!x->exists) {
      x->has_floor = strncmp(x->owner, "ap:", 3) == 0;
      x->floor = zero(w->assets[x->asset].scale);
    }
  }
  return rc;
}

/* Insert the assets and accounts of @w not stored yet; fills the accounts' ids. */
static int create_missing(struct db_conn *c, struct work *w)
{
  struct arr x, y, z;
  char sc[BOOKS_ENTRIES_MAX][8], fl[BOOKS_ENTRIES_MAX][MONEY_STR_MAX];
  PGresult *r;
  size_t want = 0;
  arr_begin(&x, w->arr[0]);
  arr_begin(&y, w->arr[1]);
  for (size_t i = 0; i < w->n_assets; i++) {
    if (w->assets[i].exists)
      continue;
    snprintf(sc[i], sizeof sc[i], "%u", w->assets[i].scale);
    arr_item(&x, w->assets[i].name, true);
    arr_item(&y, sc[i], false);
    want++;
  }
  if (want > 0) {
    const char *p[] = {arr_end(&x), arr_end(&y)};
    enum db_qs qs = db_exec(c, &q_insert_assets, p, NULL);
    if (qs < 0)
      return issuance__qs_err(qs);
    if ((size_t)qs != want)
      return -ERR_DB_CONFLICT; /* added meanwhile: read its scale again */
  }
  want = 0;
  arr_begin(&x, w->arr[0]);
  arr_begin(&y, w->arr[1]);
  arr_begin(&z, w->arr[2]);
  for (size_t i = 0; i < w->n_accts; i++) {
    struct w_acct *k = &w->accts[i];
    if (k->exists)
      continue;
    if (k->has_floor && money_format(k->floor, fl[i], sizeof fl[i]) < 0)
      return -ERR_BOOKS_OVERFLOW;
    arr_item(&x, k->owner, true);
    arr_item(&y, w->assets[k->asset].name, true);
    arr_item(&z, k->has_floor ? fl[i] : NULL, false);
    want++;
  }
  if (want == 0)
    return 0;
  const char *p[] = {arr_end(&x), arr_end(&y), arr_end(&z)};
  enum db_qs qs = db_exec(c, &q_insert_accounts, p, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  for (int i = 0; i < (int)qs; i++) {
    size_t k = find_acct(w, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
    if (k != SIZE_MAX) {
      w->accts[k].id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
      w->accts[k].exists = true;
    }
  }
  if (qs > 0)
    PQclear(r);
  return (size_t)qs == want ? 0 : -ERR_DB_CONFLICT; /* created meanwhile: lock it next time */
}

/* Whether @c is inside a transaction: a posting outside one would lose its locks between
 * statements. */
static bool in_txn(struct db_conn *c, const char *what)
{
  PGTransactionStatusType st = c->pg != NULL ? PQtransactionStatus(c->pg) : PQTRANS_UNKNOWN;
  if (st == PQTRANS_INTRANS || st == PQTRANS_INERROR)
    return true;
  log_bug("books", "%s called outside a transaction", what);
  return false;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp((const char *)a, (const char *)b);
}

/*
 * Whether the stored posting of @r (rows of q_posting_by_key) has
 * @reference and the entries of @w, in any order.
 */
static bool same_posting(struct work *w, PGresult *r, int rows, const char *reference)
{
  size_t row = sizeof w->cmp[0][0];
  char amt[MONEY_STR_MAX];
  if (strcmp(PQgetvalue(r, 0, 1), reference) != 0 || (size_t)rows != w->n_lines)
    return false;
  for (size_t i = 0; i < w->n_lines; i++) {
    const struct w_acct *k = &w->accts[w->lines[i].acct];
    money_format(w->lines[i].amount, amt, sizeof amt);
    snprintf(w->cmp[0][i], row, "%s\t%s\t%s", k->owner, w->assets[k->asset].name, amt);
  }
  for (int i = 0; i < rows; i++) {
    struct money m;
    size_t ai = PQgetisnull(r, i, 3) ? SIZE_MAX : find_asset(w, PQgetvalue(r, i, 3));
    if (ai == SIZE_MAX || issuance__num_money(PQgetvalue(r, i, 4), w->assets[ai].scale, &m) != 0)
      return false;
    money_format(m, amt, sizeof amt);
    snprintf(w->cmp[1][i], row, "%s\t%s\t%s", PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), amt);
  }
  qsort(w->cmp[0], w->n_lines, row, cmp_str);
  qsort(w->cmp[1], w->n_lines, row, cmp_str);
  for (size_t i = 0; i < w->n_lines; i++)
    if (strcmp(w->cmp[0][i], w->cmp[1][i]) != 0)
      return false;
  return true;
}

/* The posting, its entries and the new balances, in one statement. */
static int write_posting(struct db_conn *c, struct work *w, const struct books_posting *p,
                         int64_t *id)
{
  struct arr ea, eb, ua, ub;
  char at[ISS_I64_TXT], n[ISS_I64_TXT], ids[BOOKS_ENTRIES_MAX][ISS_I64_TXT];
  char amt[BOOKS_ENTRIES_MAX][MONEY_STR_MAX], bal[BOOKS_ENTRIES_MAX][MONEY_STR_MAX];
  PGresult *r;
  arr_begin(&ea, w->arr[0]);
  arr_begin(&eb, w->arr[1]);
  arr_begin(&ua, w->arr[2]);
  arr_begin(&ub, w->arr[3]);
  for (size_t i = 0; i < w->n_lines; i++) {
    char idt[ISS_I64_TXT];
    i64_txt(idt, w->accts[w->lines[i].acct].id);
    money_format(w->lines[i].amount, amt[i], sizeof amt[i]);
    arr_item(&ea, idt, false);
    arr_item(&eb, amt[i], false);
  }
  for (size_t i = 0; i < w->n_accts; i++) {
    i64_txt(ids[i], w->accts[i].id);
    money_format(w->accts[i].next, bal[i], sizeof bal[i]);
    arr_item(&ua, ids[i], false);
    arr_item(&ub, bal[i], false);
  }
  i64_txt(at, p->at_ms);
  i64_txt(n, (int64_t)w->n_lines);
  const char *prm[] = {p->key,
                       p->reference,
                       p->memo != NULL ? p->memo : "",
                       p->at_ms != 0 ? at : NULL,
                       n,
                       arr_end(&ea),
                       arr_end(&eb),
                       arr_end(&ua),
                       arr_end(&ub)};
  enum db_qs qs = db_exec(c, &q_write_posting, prm, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == DB_QS_NONE)
    return -ERR_DB_CONFLICT; /* the key was posted meanwhile: look again */
  *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return 0;
}

/* Shape, names, scales and balance per asset: everything but the accounts. */
static int check_posting(struct db_conn *c, struct work *w, const struct books_posting *p)
{
  if (p == NULL || !issuance__key_valid(p->key) || !issuance__ref_valid(p->reference) ||
      (p->memo != NULL && !issuance__memo_valid(p->memo)) || p->at_ms < 0 ||
      p->at_ms > 253402300799999LL /* 9999-12-31T23:59:59.999Z */ || p->entries == NULL ||
      p->n_entries < 2 || p->n_entries > BOOKS_ENTRIES_MAX)
    return -ERR_INVALID_ARGUMENT;
  for (size_t i = 0; i < p->n_entries; i++)
    if (p->entries[i].amount.v == 0)
      return -ERR_INVALID_ARGUMENT;
  for (size_t i = 0; i < p->n_entries; i++)
    if (!books_owner_valid(p->entries[i].owner))
      return -ERR_BOOKS_ACCOUNT;
  for (size_t i = 0; i < p->n_entries; i++) {
    int rc = add_acct(w, p->entries[i].owner, p->entries[i].asset, &w->lines[i].acct);
    if (rc != 0)
      return rc;
  }
  w->n_lines = p->n_entries;
  int rc = load_scales(c, w);
  if (rc != 0)
    return rc;
  for (size_t i = 0; i < w->n_lines; i++) {
    struct w_acct *k = &w->accts[w->lines[i].acct];
    struct w_asset *a = &w->assets[k->asset];
    if ((rc = to_scale(p->entries[i].amount, a->scale, &w->lines[i].amount)) != 0)
      return rc;
    if (money_add(a->sum, w->lines[i].amount, &a->sum) != 0 ||
        money_add(k->delta, w->lines[i].amount, &k->delta) != 0)
      return -ERR_BOOKS_OVERFLOW;
  }
  for (size_t i = 0; i < w->n_assets; i++)
    if (w->assets[i].sum.v != 0)
      return -ERR_BOOKS_UNBALANCED;
  return 0;
}

/* The new balance of every account, held against its floor. */
static int next_balances(struct work *w)
{
  for (size_t i = 0; i < w->n_accts; i++) {
    struct w_acct *k = &w->accts[i];
    if (money_add(k->balance, k->delta, &k->next) != 0)
      return -ERR_BOOKS_OVERFLOW;
    if (k->has_floor && money_cmp(k->next, k->floor) < 0)
      return -ERR_BOOKS_INSUFFICIENT;
  }
  return 0;
}

int books_post(struct db_conn *c, const struct books_posting *p, int64_t *id)
{
  PGresult *r;
  int64_t pid = 0;
  if (!in_txn(c, "books_post"))
    return -ERR_INVALID_ARGUMENT;
  struct work *w = calloc(1, sizeof *w);
  if (w == NULL)
    return -ERR_NOMEM;
  int rc = check_posting(c, w, p);
  if (rc != 0)
    goto out;

  const char *kp[] = {p->key};
  enum db_qs qs = db_exec(c, &q_posting_by_key, kp, &r);
  if (qs < 0) {
    rc = issuance__qs_err(qs);
    goto out;
  }
  if (qs > 0) {
    bool same = same_posting(w, r, (int)qs, p->reference);
    pid = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    rc = same ? BOOKS_ALREADY_POSTED : -ERR_BOOKS_DUPLICATE;
    goto out;
  }

  if ((rc = lock_accounts(c, w)) != 0 || (rc = next_balances(w)) != 0 ||
      (rc = create_missing(c, w)) != 0 || (rc = write_posting(c, w, p, &pid)) != 0)
    goto out;
  rc = BOOKS_POSTED;
out:
  if (rc >= 0 && id != NULL)
    *id = pid;
  free(w);
  return rc;
}

struct post_txn {
  const struct books_posting *p;
  int64_t id;
  int rc;
};

static enum db_qs post_body(struct db_conn *c, void *cls)
{
  struct post_txn *x = cls;
  x->rc = books_post(c, x->p, &x->id);
  return x->rc < 0 ? books_txn_qs(x->rc) : DB_QS_NONE;
}

int books_post_txn(struct db_conn *c, const struct books_posting *p, int64_t *id)
{
  struct post_txn x = {.p = p};
  int rc = db_txn(c, "books_post", post_body, &x);
  if (rc != 0)
    return rc;
  if (x.rc >= 0 && id != NULL)
    *id = x.id;
  return x.rc;
}

/* ------------------------------------------------------------------ */
/* Assets and floors                                                   */
/* ------------------------------------------------------------------ */

int books_asset_define(struct db_conn *c, const char *asset, unsigned scale)
{
  char sc[8];
  PGresult *r;
  if (books_asset_parse(asset, NULL) != 0 || scale > MONEY_MAX_SCALE)
    return -ERR_BOOKS_ASSET;
  snprintf(sc, sizeof sc, "%u", scale);
  const char *p[] = {asset, sc};
  enum db_qs qs = db_exec(c, &q_define_asset, p, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == DB_QS_NONE)
    return -ERR_DB_CONFLICT; /* defined meanwhile, not visible yet */
  bool same = strtoul(PQgetvalue(r, 0, 0), NULL, 10) == scale;
  PQclear(r);
  return same ? 0 : -ERR_BOOKS_ASSET;
}

int books_account_floor(struct db_conn *c, const char *owner, const char *asset,
                        const struct money *floor)
{
  char fl[MONEY_STR_MAX], idt[ISS_I64_TXT];
  size_t k;
  if (!in_txn(c, "books_account_floor"))
    return -ERR_INVALID_ARGUMENT;
  struct work *w = calloc(1, sizeof *w);
  if (w == NULL)
    return -ERR_NOMEM;
  int rc = add_acct(w, owner, asset, &k);
  if (rc == 0)
    rc = load_scales(c, w);
  struct money f;
  if (rc == 0 && floor != NULL)
    rc = to_scale(*floor, w->assets[0].scale, &f);
  if (rc == 0)
    rc = lock_accounts(c, w);
  if (rc != 0)
    goto out;
  struct w_acct *x = &w->accts[k];
  if (floor != NULL && money_cmp(x->balance, f) < 0) {
    rc = -ERR_BOOKS_INSUFFICIENT;
    goto out;
  }
  if ((rc = create_missing(c, w)) != 0)
    goto out;
  if (floor != NULL)
    money_format(f, fl, sizeof fl);
  i64_txt(idt, x->id);
  const char *p[] = {idt, floor != NULL ? fl : NULL};
  enum db_qs qs = db_exec(c, &q_set_floor, p, NULL);
  rc = qs < 0 ? issuance__qs_err(qs) : 0;
out:
  free(w);
  return rc;
}
