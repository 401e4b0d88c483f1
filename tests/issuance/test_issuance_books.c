/*
 * Tests of the books (issuance/issuance_books*.c) on a fresh, migrated
 * database per test: the postings of a mint and a redeem (cash in from
 * an AP, fee, buy into transit, settle in transit to settled, mint, burn,
 * sell, pay out) to exact balances, queries (as of a posting and a time,
 * entries after a cursor, postings by reference) and the checker's exact
 * totals and printed report; unbalanced and cross-asset postings refused
 * with nothing written; idempotency and conflicts; floors; overflow at
 * the edge of the 128-bit range; wrong scales and names; a posting inside
 * a caller's transaction that rolls back; 8 threads posting on the same
 * accounts (all land, no deadlock, exact totals); and tampering with
 * balances, entries and floors in SQL, which the checker names exactly.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance.h"
#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

#define CASH    "cash:USD"
#define SETTLED "shares:US0378331005:settled"
#define TRANSIT "shares:US0378331005:in_transit"
#define TOKENS  "tokens:AAPLx"
#define T0      1751328000000LL /* 2025-07-01T00:00:00Z */

static struct ts_db db;
static struct db_conn *c;

static int setup(void **state)
{
  (void)state;
  char msg[256];
  ts_db_create("issuance_books", &db);
  c = ts_db_connect(&db, 10);
  return db_migrate(c, migrations_all, migrations_count, NULL, msg, sizeof msg);
}

static int teardown(void **state)
{
  (void)state;
  db_close(c);
  c = NULL;
  ts_db_drop(&db);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static struct money amt(const char *s, unsigned scale)
{
  struct money m;
  if (money_parse(s, strlen(s), scale, MONEY_PARSE_NEGATIVE, &m) != 0)
    fail_msg("bad amount %s", s);
  return m;
}

static struct money usd(const char *s)
{
  return amt(s, 2);
}

static struct money qty(const char *s)
{
  return amt(s, 6);
}

static struct money tok(const char *s)
{
  return amt(s, 18);
}

static struct money raw(__int128 v, unsigned scale)
{
  struct money m = {v, (uint8_t)scale};
  return m;
}

static int post_at(const char *key, const char *ref, int64_t at, const struct books_entry *e,
                   size_t n, int64_t *id)
{
  struct books_posting p = {key, ref, "test", at, e, n};
  return books_post_txn(c, &p, id);
}

#define ENTRIES(...)        ((const struct books_entry[]){__VA_ARGS__})
#define N_ENTRIES(...)      (sizeof ENTRIES(__VA_ARGS__) / sizeof(struct books_entry))
#define POST(key, ref, ...) post_at(key, ref, 0, ENTRIES(__VA_ARGS__), N_ENTRIES(__VA_ARGS__), NULL)
#define POST_AT(key, ref, at, id, ...)                                                             \
  post_at(key, ref, at, ENTRIES(__VA_ARGS__), N_ENTRIES(__VA_ARGS__), id)

static void assert_bal(const char *owner, const char *asset, const char *want)
{
  struct money m;
  char got[MONEY_STR_MAX];
  int rc = books_balance(c, owner, asset, &m);
  if (rc != 0)
    fail_msg("balance %s %s: %s", owner, asset, err_name(rc));
  money_format(m, got, sizeof got);
  if (strcmp(got, want) != 0)
    fail_msg("balance %s %s: got %s, want %s", owner, asset, got, want);
}

static long long num(const char *sql)
{
  char *v = ts_sql_value(c, sql);
  long long n = strtoll(v, NULL, 10);
  free(v);
  return n;
}

static int64_t account_id(const char *owner, const char *asset)
{
  struct books_account a;
  assert_int_equal(books_account_get(c, owner, asset, &a), 0);
  return a.id;
}

/* The checker's report as text (free it). */
static char *report_text(const struct books_report *r)
{
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  books_report_print(r, f);
  fclose(f);
  return out;
}

static void assert_check_ok(void)
{
  struct books_report r;
  books_report_init(&r);
  assert_int_equal(books_check(c, &r), 0);
  if (!r.ok) {
    char *t = report_text(&r);
    fail_msg("books check failed:\n%s", t);
  }
  books_report_free(&r);
}

/* The postings of one mint (order 1) and one redeem (order 2) of AAPLx by AP 7. */
static int64_t ids[8];

static void seed_flow(void)
{
  /* Cash in from the AP: the bank (custodian) owes it, the AP is owed it. */
  assert_int_equal(POST_AT("cash-in:1", "order:1", T0, &ids[0], {"ap:7", CASH, usd("1505.00")},
                           {"custodian", CASH, usd("-1505.00")}),
                   BOOKS_POSTED);
  /* The fee. */
  assert_int_equal(POST_AT("fee:1", "order:1", T0 + 1000, &ids[1], {"ap:7", CASH, usd("-5.00")},
                           {"fees", CASH, usd("5.00")}),
                   BOOKS_POSTED);
  /* The fill: 10 shares at 150.00 bought, owed by the broker in transit. */
  assert_int_equal(POST_AT("fill:1", "order:1", T0 + 2000, &ids[2], {"ap:7", CASH, usd("-1500.00")},
                           {"broker", CASH, usd("1500.00")}, {"broker", TRANSIT, qty("-10")},
                           {"issuer", TRANSIT, qty("10")}),
                   BOOKS_POSTED);
  /* Settlement (DVP): in transit to settled at the custodian, cash leaves the bank. */
  assert_int_equal(POST_AT("settle:1", "order:1", T0 + 3000, &ids[3],
                           {"issuer", TRANSIT, qty("-10")}, {"broker", TRANSIT, qty("10")},
                           {"custodian", SETTLED, qty("-10")}, {"issuer", SETTLED, qty("10")},
                           {"broker", CASH, usd("-1500.00")}, {"custodian", CASH, usd("1500.00")}),
                   BOOKS_POSTED);
  /* Mint 10 tokens to the AP. */
  assert_int_equal(POST_AT("mint:1", "order:1", T0 + 4000, &ids[4], {"chain", TOKENS, tok("-10")},
                           {"ap:7", TOKENS, tok("10")}),
                   BOOKS_POSTED);
  /* Redeem 4: burn, sell at 151.25 (605.00, fee 2.00), pay out. */
  assert_int_equal(POST_AT("burn:2", "order:2", T0 + 5000, &ids[5], {"ap:7", TOKENS, tok("-4")},
                           {"chain", TOKENS, tok("4")}),
                   BOOKS_POSTED);
  assert_int_equal(POST_AT("sell:2", "order:2", T0 + 6000, &ids[6], {"issuer", SETTLED, qty("-4")},
                           {"custodian", SETTLED, qty("4")}, {"custodian", CASH, usd("-605.00")},
                           {"ap:7", CASH, usd("603.00")}, {"fees", CASH, usd("2.00")}),
                   BOOKS_POSTED);
  assert_int_equal(POST_AT("payout:2", "order:2", T0 + 7000, &ids[7],
                           {"ap:7", CASH, usd("-603.00")}, {"custodian", CASH, usd("603.00")}),
                   BOOKS_POSTED);
}

/* ------------------------------------------------------------------ */
/* The postings of a mint and a redeem                                 */
/* ------------------------------------------------------------------ */

static void test_flow(void **state)
{
  (void)state;
  seed_flow();
  assert_bal("custodian", CASH, "-7.00");
  assert_bal("fees", CASH, "7.00");
  assert_bal("ap:7", CASH, "0.00");
  assert_bal("broker", CASH, "0.00");
  assert_bal("broker", TRANSIT, "0.000000");
  assert_bal("issuer", TRANSIT, "0.000000");
  assert_bal("custodian", SETTLED, "-6.000000");
  assert_bal("issuer", SETTLED, "6.000000");
  assert_bal("chain", TOKENS, "-6.000000000000000000");
  assert_bal("ap:7", TOKENS, "6.000000000000000000");

  /* Accounts created on first use with their floors: an AP's 0, a system role's none. */
  struct books_account a;
  assert_int_equal(books_account_get(c, "ap:7", TOKENS, &a), 0);
  assert_true(a.has_floor);
  assert_true(a.floor.v == 0);
  assert_int_equal(a.scale, 18);
  assert_int_equal(books_account_get(c, "chain", TOKENS, &a), 0);
  assert_false(a.has_floor);
  assert_int_equal(num("SELECT count(*) FROM books_accounts"), 10);
  assert_int_equal(num("SELECT scale FROM books_assets WHERE asset = '" SETTLED "'"), 6);
  assert_int_equal(num("SELECT scale FROM books_assets WHERE asset = '" TOKENS "'"), 18);
  char *v = ts_sql_value(c, "SELECT amount FROM books_entries WHERE posting_id = "
                            "(SELECT id FROM books_postings WHERE key = 'mint:1') AND seq = 2");
  assert_string_equal(v, "10.000000000000000000");
  free(v);

  struct books_report r;
  books_report_init(&r);
  assert_int_equal(books_check(c, &r), 0);
  char *t = report_text(&r);
  const char *want =
      "books postings=8 entries=25 accounts=10 assets=4\n"
      "asset cash:USD scale=2 accounts=4 entries=13 held=7.00 owed=-7.00 net=0.00 "
      "entries_net=0.00\n"
      "asset shares:US0378331005:in_transit scale=6 accounts=2 entries=4 held=0.000000 "
      "owed=0.000000 net=0.000000 entries_net=0.000000\n"
      "asset shares:US0378331005:settled scale=6 accounts=2 entries=4 held=6.000000 "
      "owed=-6.000000 net=0.000000 entries_net=0.000000\n"
      "asset tokens:AAPLx scale=18 accounts=2 entries=4 held=6.000000000000000000 "
      "owed=-6.000000000000000000 net=0.000000000000000000 entries_net=0.000000000000000000\n"
      "books ok\n";
  if (strcmp(t, want) != 0)
    fail_msg("report:\n%s--- want ---\n%s", t, want);
  assert_true(r.ok);
  assert_int_equal(r.n_items, 0);
  free(t);
  books_report_free(&r);
}

/* Balances as of a posting and a time; entries after a cursor; postings by reference. */
struct page {
  int n;
  int64_t last;
  char lines[8][320];
};

static int on_entry(void *cls, const struct books_entry_row *e)
{
  struct page *pg = cls;
  char a[MONEY_STR_MAX], b[MONEY_STR_MAX];
  money_format(e->amount, a, sizeof a);
  money_format(e->balance, b, sizeof b);
  snprintf(pg->lines[pg->n++], sizeof pg->lines[0], "%s %s %s %lld", e->key, a, b,
           (long long)(e->at_ms - T0));
  pg->last = e->id;
  return 0;
}

struct refs {
  int n;
  char lines[8][1024];
};

static int on_posting(void *cls, const struct books_posting_row *p)
{
  struct refs *x = cls;
  int len =
      snprintf(x->lines[x->n], sizeof x->lines[0], "%s %s %zu:", p->key, p->memo, p->n_entries);
  for (size_t i = 0; i < p->n_entries && len < 900; i++) {
    char a[MONEY_STR_MAX];
    money_format(p->entries[i].amount, a, sizeof a);
    len += snprintf(x->lines[x->n] + len, sizeof x->lines[0] - (size_t)len, " %s=%s",
                    p->entries[i].owner, a);
  }
  x->n++;
  return 0;
}

static int stop_at_two(void *cls, const struct books_posting_row *p)
{
  (void)p;
  return ++*(int *)cls == 2 ? 42 : 0;
}

static void test_queries(void **state)
{
  (void)state;
  struct money m;
  char s[MONEY_STR_MAX];
  seed_flow();

  assert_int_equal(books_balance_at_posting(c, "ap:7", CASH, ids[1], &m), 0);
  money_format(m, s, sizeof s);
  assert_string_equal(s, "1500.00");
  assert_int_equal(books_balance_at_posting(c, "ap:7", CASH, ids[0] - 1, &m), 0);
  money_format(m, s, sizeof s);
  assert_string_equal(s, "0.00");
  assert_int_equal(books_balance_at_posting(c, "issuer", SETTLED, ids[5], &m), 0);
  money_format(m, s, sizeof s);
  assert_string_equal(s, "10.000000");
  assert_int_equal(books_balance_at_time(c, "ap:7", CASH, T0 + 999, &m), 0);
  money_format(m, s, sizeof s);
  assert_string_equal(s, "1505.00");
  assert_int_equal(books_balance_at_time(c, "ap:7", CASH, T0 + 6000, &m), 0);
  money_format(m, s, sizeof s);
  assert_string_equal(s, "603.00");
  assert_int_equal(books_balance_at_time(c, "ap:7", TOKENS, T0 - 1, &m), 0);
  assert_true(m.v == 0 && m.scale == 18);

  /* Entries of the AP's cash, two at a time, with the running balance. */
  struct page pg;
  memset(&pg, 0, sizeof pg);
  assert_int_equal(books_account_entries(c, "ap:7", CASH, 0, 2, on_entry, &pg), 2);
  assert_int_equal(books_account_entries(c, "ap:7", CASH, pg.last, 2, on_entry, &pg), 2);
  assert_int_equal(books_account_entries(c, "ap:7", CASH, pg.last, 2, on_entry, &pg), 1);
  assert_int_equal(books_account_entries(c, "ap:7", CASH, pg.last, 2, on_entry, &pg), 0);
  assert_int_equal(pg.n, 5);
  assert_string_equal(pg.lines[0], "cash-in:1 1505.00 1505.00 0");
  assert_string_equal(pg.lines[1], "fee:1 -5.00 1500.00 1000");
  assert_string_equal(pg.lines[2], "fill:1 -1500.00 0.00 2000");
  assert_string_equal(pg.lines[3], "sell:2 603.00 603.00 6000");
  assert_string_equal(pg.lines[4], "payout:2 -603.00 0.00 7000");

  /* Postings by reference, oldest first, entries in their order. */
  struct refs x;
  memset(&x, 0, sizeof x);
  assert_int_equal(books_postings_by_reference(c, "order:2", on_posting, &x), 3);
  assert_string_equal(x.lines[0], "burn:2 test 2: ap:7=-4.000000000000000000 "
                                  "chain=4.000000000000000000");
  assert_string_equal(x.lines[1], "sell:2 test 5: issuer=-4.000000 custodian=4.000000 "
                                  "custodian=-605.00 ap:7=603.00 fees=2.00");
  assert_string_equal(x.lines[2], "payout:2 test 2: ap:7=-603.00 custodian=603.00");
  int seen = 0;
  assert_int_equal(books_postings_by_reference(c, "order:1", stop_at_two, &seen), 42);
  assert_int_equal(books_postings_by_reference(c, "order:99", on_posting, &x), 0);
  assert_int_equal(books_postings_by_reference(c, "order", on_posting, &x), -ERR_INVALID_ARGUMENT);

  /* Unknown and invalid accounts. */
  assert_int_equal(books_balance(c, "ap:8", CASH, &m), -ERR_BOOKS_ACCOUNT);
  assert_int_equal(books_balance(c, "bank", CASH, &m), -ERR_BOOKS_ACCOUNT);
  assert_int_equal(books_balance(c, "ap:7", "cash:usd", &m), -ERR_BOOKS_ASSET);
  assert_int_equal(books_account_entries(c, "ap:8", CASH, 0, 10, on_entry, &pg),
                   -ERR_BOOKS_ACCOUNT);
  assert_int_equal(books_balance_at_time(c, "ap:8", CASH, T0, &m), -ERR_BOOKS_ACCOUNT);
}

/* ------------------------------------------------------------------ */
/* Refusals                                                            */
/* ------------------------------------------------------------------ */

static void assert_nothing_written(void)
{
  assert_int_equal(num("SELECT count(*) FROM books_postings"), 0);
  assert_int_equal(num("SELECT count(*) FROM books_entries"), 0);
  assert_int_equal(num("SELECT count(*) FROM books_accounts"), 0);
  assert_int_equal(num("SELECT count(*) FROM books_assets"), 1); /* cash:USD, seeded */
}

static void test_unbalanced(void **state)
{
  (void)state;
  assert_int_equal(
      POST("u1", "order:1", {"ap:7", CASH, usd("1.00")}, {"custodian", CASH, usd("-0.99")}),
      -ERR_BOOKS_UNBALANCED);
  /* Shares never balance against cash, nor settled against in transit. */
  assert_int_equal(
      POST("u2", "order:1", {"ap:7", CASH, usd("10.00")}, {"issuer", SETTLED, qty("-10")}),
      -ERR_BOOKS_UNBALANCED);
  assert_int_equal(
      POST("u3", "order:1", {"issuer", SETTLED, qty("1")}, {"issuer", TRANSIT, qty("-1")}),
      -ERR_BOOKS_UNBALANCED);
  /* Each asset balanced but one: refused. */
  assert_int_equal(POST("u4", "order:1", {"ap:7", CASH, usd("1.00")},
                        {"custodian", CASH, usd("-1.00")}, {"chain", TOKENS, tok("-1")},
                        {"ap:7", TOKENS, tok("0.999999999999999999")}),
                   -ERR_BOOKS_UNBALANCED);
  /* Fewer than two entries, or a zero amount. */
  assert_int_equal(POST("u5", "order:1", {"ap:7", CASH, usd("1.00")}), -ERR_INVALID_ARGUMENT);
  assert_int_equal(
      POST("u6", "order:1", {"ap:7", CASH, usd("0.00")}, {"custodian", CASH, usd("0.00")}),
      -ERR_INVALID_ARGUMENT);
  assert_nothing_written();
}

/*
 * A posting written by another writer than books_post(), in SQL: @n
 * entries announced, entries ap:7 +@a and custodian -@b in cash.  Returns
 * the error of COMMIT ("" when it committed), malloc'd.
 */
static char *raw_posting(const char *key, int n, const char *a, const char *b)
{
  char sql[1024];
  snprintf(sql, sizeof sql,
           "WITH p AS (INSERT INTO books_postings (key, reference, posted_at, n_entries)"
           " VALUES ('%s', 'order:1', now(), %d) RETURNING id)"
           " INSERT INTO books_entries (posting_id, seq, account_id, amount)"
           " SELECT p.id, v.seq, a.id, v.amount FROM p, (VALUES (1, 'ap:7', %s::numeric),"
           " (2, 'custodian', -%s::numeric)) v(seq, owner, amount)"
           " JOIN books_accounts a ON a.owner = v.owner AND a.asset = 'cash:USD'",
           key, n, a, b);
  ts_sql(c, "BEGIN");
  ts_sql(c, sql);
  PGresult *res = PQexec(c->pg, "COMMIT");
  char *err = strdup(PQresultStatus(res) == PGRES_COMMAND_OK ? "" : PQresultErrorMessage(res));
  PQclear(res);
  return err;
}

/* The deferred trigger refuses at COMMIT a posting that does not balance, whoever wrote it. */
static void test_db_guard(void **state)
{
  (void)state;
  ts_sql(c, "INSERT INTO books_accounts (owner, asset) VALUES ('ap:7', 'cash:USD'),"
            " ('custodian', 'cash:USD')");
  char *err = raw_posting("raw:1", 2, "1.00", "0.99");
  assert_non_null(strstr(err, "books: posting 1 does not balance in cash:USD"));
  free(err);
  err = raw_posting("raw:2", 3, "1.00", "1.00");
  assert_non_null(strstr(err, "books: posting 2 holds 2 entries, not 3"));
  free(err);
  err = raw_posting("raw:3", 2, "1.00", "1.00");
  assert_string_equal(err, "");
  free(err);
  assert_int_equal(num("SELECT count(*) FROM books_postings"), 1);
  assert_int_equal(num("SELECT count(*) FROM books_entries"), 2);
  /* Append-only: no UPDATE or DELETE of postings, no TRUNCATE. */
  static const char *const refused[] = {
      "UPDATE books_postings SET memo = 'x'",
      "DELETE FROM books_entries",
      "TRUNCATE books_entries",
      "TRUNCATE books_postings CASCADE",
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    PGresult *res = PQexec(c->pg, refused[i]);
    if (PQresultStatus(res) != PGRES_FATAL_ERROR ||
        strstr(PQresultErrorMessage(res), "append-only") == NULL)
      fail_msg("%s: not refused (%s)", refused[i], PQresultErrorMessage(res));
    PQclear(res);
  }
  assert_int_equal(num("SELECT count(*) FROM books_entries"), 2);
}

static void test_names(void **state)
{
  (void)state;
  static const char *const bad_assets[] = {
      "cash:usd",
      "cash:US",
      "cash:USDX",
      "shares:US0378331006:settled",
      "shares:US0378331005:pending",
      "shares:US0378331005",
      "shares:us0378331005:settled",
      "tokens:",
      "tokens:1ABC",
      "tokens:ABCDEFGHIJKLMNOPQ",
      "tokens:AB-C",
      "bonds:X",
      "",
  };
  for (size_t i = 0; i < sizeof bad_assets / sizeof bad_assets[0]; i++) {
    assert_int_equal(books_asset_parse(bad_assets[i], NULL), -ERR_BOOKS_ASSET);
    assert_int_equal(POST("n1", "order:1", {"ap:7", bad_assets[i], usd("1.00")},
                          {"custodian", bad_assets[i], usd("-1.00")}),
                     -ERR_BOOKS_ASSET);
  }
  unsigned sc;
  assert_int_equal(books_asset_parse("shares:US88160R1014:in_transit", &sc), 0);
  assert_int_equal(sc, 6);
  assert_int_equal(books_asset_parse("tokens:ABCDEFGHIJKLMNOP", &sc), 0);
  assert_int_equal(sc, 18);

  static const char *const bad_owners[] = {"ap:", "bank", "AP:1", "ap:-x", "issuer ", "ap:a b", ""};
  for (size_t i = 0; i < sizeof bad_owners / sizeof bad_owners[0]; i++) {
    assert_false(books_owner_valid(bad_owners[i]));
    assert_int_equal(POST("n2", "order:1", {bad_owners[i], CASH, usd("1.00")},
                          {"custodian", CASH, usd("-1.00")}),
                     -ERR_BOOKS_ACCOUNT);
  }
  assert_true(books_owner_valid("ap:AP-7.x_1"));
  assert_true(books_owner_valid("suspense"));

  /* Keys, references, memos, times. */
  const struct books_entry e[] = {{"ap:7", CASH, usd("1.00")}, {"custodian", CASH, usd("-1.00")}};
  struct books_posting p = {"k", "order:1", NULL, 0, e, 2};
  const char *bad_keys[] = {"", "a b", "k\n"};
  for (size_t i = 0; i < 3; i++) {
    p.key = bad_keys[i];
    assert_int_equal(books_post_txn(c, &p, NULL), -ERR_INVALID_ARGUMENT);
  }
  p.key = "k";
  const char *bad_refs[] = {"order", "Order:1", "order:", "order:a b", ":1"};
  for (size_t i = 0; i < 5; i++) {
    p.reference = bad_refs[i];
    assert_int_equal(books_post_txn(c, &p, NULL), -ERR_INVALID_ARGUMENT);
  }
  p.reference = "order:1";
  const char *bad_memos[] = {"line\nbreak", "\xc3(", "\xed\xa0\x80", "\xe2\x82"};
  for (size_t i = 0; i < 4; i++) {
    p.memo = bad_memos[i];
    assert_int_equal(books_post_txn(c, &p, NULL), -ERR_INVALID_ARGUMENT);
  }
  p.memo = NULL;
  p.at_ms = -1;
  assert_int_equal(books_post_txn(c, &p, NULL), -ERR_INVALID_ARGUMENT);
  /* Outside a transaction its row locks would not hold: refused. */
  p.at_ms = 0;
  assert_int_equal(books_post(c, &p, NULL), -ERR_INVALID_ARGUMENT);
  struct money z = usd("0.00");
  assert_int_equal(books_account_floor(c, "ap:7", CASH, &z), -ERR_INVALID_ARGUMENT);
  assert_nothing_written();
  p.at_ms = 0;
  p.memo = "caf\xc3\xa9 \xe2\x82\xac";
  assert_int_equal(books_post_txn(c, &p, NULL), BOOKS_POSTED);
  char *v = ts_sql_value(c, "SELECT memo FROM books_postings");
  assert_string_equal(v, "caf\xc3\xa9 \xe2\x82\xac");
  free(v);
}

static void test_scales(void **state)
{
  (void)state;
  /* An amount not exact at the asset's scale; one exact in more digits is fine. */
  assert_int_equal(
      POST("s1", "order:1", {"ap:7", CASH, raw(1005, 3)}, {"custodian", CASH, raw(-1005, 3)}),
      -ERR_BOOKS_ASSET);
  assert_int_equal(
      POST("s2", "order:1", {"issuer", SETTLED, raw(1, 7)}, {"custodian", SETTLED, raw(-1, 7)}),
      -ERR_BOOKS_ASSET);
  assert_int_equal(
      POST("s3", "order:1", {"ap:7", CASH, raw(1500, 3)}, {"custodian", CASH, raw(-15, 1)}),
      BOOKS_POSTED);
  assert_bal("ap:7", CASH, "1.50");
  char *v = ts_sql_value(c, "SELECT string_agg(amount::text, ',' ORDER BY seq) FROM books_entries");
  assert_string_equal(v, "1.50,-1.50");
  free(v);

  /* A token with 6 decimals, defined before its first use. */
  struct money m;
  assert_int_equal(books_asset_define(c, "tokens:SIXD", 6), 0);
  assert_int_equal(books_asset_define(c, "tokens:SIXD", 6), 0);
  assert_int_equal(books_asset_define(c, "tokens:SIXD", 8), -ERR_BOOKS_ASSET);
  assert_int_equal(books_asset_define(c, "tokens:BAD-", 6), -ERR_BOOKS_ASSET);
  assert_int_equal(books_asset_define(c, "tokens:X", 39), -ERR_BOOKS_ASSET);
  assert_int_equal(POST("s4", "order:1", {"ap:7", "tokens:SIXD", raw(1, 7)},
                        {"chain", "tokens:SIXD", raw(-1, 7)}),
                   -ERR_BOOKS_ASSET);
  assert_int_equal(POST("s5", "order:1", {"ap:7", "tokens:SIXD", raw(1, 6)},
                        {"chain", "tokens:SIXD", raw(-1, 6)}),
                   BOOKS_POSTED);
  assert_int_equal(books_balance(c, "ap:7", "tokens:SIXD", &m), 0);
  assert_true(m.v == 1 && m.scale == 6);
  /* The default 18 for a token used first. */
  assert_int_equal(
      POST("s6", "order:1", {"ap:7", TOKENS, raw(1, 18)}, {"chain", TOKENS, raw(-1, 18)}),
      BOOKS_POSTED);
  assert_int_equal(books_asset_define(c, TOKENS, 18), 0);
  assert_int_equal(books_asset_define(c, TOKENS, 6), -ERR_BOOKS_ASSET);
  assert_int_equal(
      POST("s7", "order:1", {"ap:7", TOKENS, raw(1, 19)}, {"chain", TOKENS, raw(-1, 19)}),
      -ERR_BOOKS_ASSET);
  /* An invalid money value (scale past 38). */
  assert_int_equal(
      POST("s8", "order:1", {"ap:7", CASH, raw(1, 39)}, {"custodian", CASH, raw(-1, 39)}),
      -ERR_BOOKS_ASSET);
  assert_int_equal(num("SELECT count(*) FROM books_postings"), 3);
  assert_check_ok();
}

/* ------------------------------------------------------------------ */
/* Idempotency                                                         */
/* ------------------------------------------------------------------ */

static void test_idempotency(void **state)
{
  (void)state;
  int64_t id1 = 0, id2 = 0;
  assert_int_equal(POST_AT("cash-in:9", "order:9", T0, &id1, {"ap:7", CASH, usd("100.00")},
                           {"custodian", CASH, usd("-100.00")}),
                   BOOKS_POSTED);
  assert_true(id1 > 0);
  /* The same key, reference and entries, in another order, scale, memo and time. */
  struct books_posting p = {
      "cash-in:9",
      "order:9",
      "again",
      T0 + 5000,
      ENTRIES({"custodian", CASH, raw(-1000, 1)}, {"ap:7", CASH, usd("100.00")}),
      2};
  assert_int_equal(books_post_txn(c, &p, &id2), BOOKS_ALREADY_POSTED);
  assert_true(id2 == id1);
  assert_bal("ap:7", CASH, "100.00");
  assert_int_equal(num("SELECT count(*) FROM books_postings"), 1);
  char *v = ts_sql_value(c, "SELECT memo FROM books_postings");
  assert_string_equal(v, "test");
  free(v);

  /* Other entries, another reference: a conflict, nothing changes. */
  assert_int_equal(POST("cash-in:9", "order:9", {"ap:7", CASH, usd("100.01")},
                        {"custodian", CASH, usd("-100.01")}),
                   -ERR_BOOKS_DUPLICATE);
  assert_int_equal(POST("cash-in:9", "order:10", {"ap:7", CASH, usd("100.00")},
                        {"custodian", CASH, usd("-100.00")}),
                   -ERR_BOOKS_DUPLICATE);
  assert_int_equal(POST("cash-in:9", "order:9", {"ap:8", CASH, usd("100.00")},
                        {"custodian", CASH, usd("-100.00")}),
                   -ERR_BOOKS_DUPLICATE);
  assert_int_equal(POST("cash-in:9", "order:9", {"ap:7", CASH, usd("50.00")},
                        {"ap:7", CASH, usd("50.00")}, {"custodian", CASH, usd("-100.00")}),
                   -ERR_BOOKS_DUPLICATE);
  /* A replay is answered even when its posting would now break a floor. */
  assert_int_equal(POST("payout:9", "order:9", {"ap:7", CASH, usd("-100.00")},
                        {"custodian", CASH, usd("100.00")}),
                   BOOKS_POSTED);
  assert_int_equal(POST("payout:9", "order:9", {"ap:7", CASH, usd("-100.00")},
                        {"custodian", CASH, usd("100.00")}),
                   BOOKS_ALREADY_POSTED);
  assert_bal("ap:7", CASH, "0.00");
  assert_bal("custodian", CASH, "0.00");
  assert_int_equal(num("SELECT count(*) FROM books_postings"), 2);
  assert_int_equal(num("SELECT count(*) FROM books_entries"), 4);
  assert_check_ok();
}

/* ------------------------------------------------------------------ */
/* Floors and overflow                                                 */
/* ------------------------------------------------------------------ */

static enum db_qs floor_body(struct db_conn *conn, void *cls)
{
  void **a = cls;
  int *rc = a[3];
  *rc = books_account_floor(conn, a[0], a[1], a[2]);
  return books_txn_qs(*rc);
}

static int set_floor(const char *owner, const char *asset, const struct money *floor)
{
  int rc = 0;
  void *a[] = {(void *)owner, (void *)asset, (void *)floor, &rc};
  int trc = db_txn(c, "floor", floor_body, a);
  return trc != 0 ? trc : rc;
}

static void test_floors(void **state)
{
  (void)state;
  struct money m;
  assert_int_equal(
      POST("mint", "order:1", {"chain", TOKENS, tok("-5")}, {"ap:7", TOKENS, tok("5")}),
      BOOKS_POSTED);
  /* The AP's tokens may not go below 0; the chain's supply account may. */
  assert_int_equal(POST("burn", "order:2", {"ap:7", TOKENS, tok("-5.000000000000000001")},
                        {"chain", TOKENS, tok("5.000000000000000001")}),
                   -ERR_BOOKS_INSUFFICIENT);
  assert_bal("ap:7", TOKENS, "5.000000000000000000");
  assert_int_equal(
      POST("burn", "order:2", {"ap:7", TOKENS, tok("-5")}, {"chain", TOKENS, tok("5")}),
      BOOKS_POSTED);
  assert_bal("ap:7", TOKENS, "0.000000000000000000");
  assert_bal("chain", TOKENS, "0.000000000000000000");

  /* A new AP account starts at floor 0: a payout from nothing is refused, nothing created. */
  assert_int_equal(
      POST("pay", "order:3", {"ap:9", CASH, usd("-1.00")}, {"custodian", CASH, usd("1.00")}),
      -ERR_BOOKS_INSUFFICIENT);
  assert_int_equal(books_balance(c, "ap:9", CASH, &m), -ERR_BOOKS_ACCOUNT);
  assert_int_equal(books_balance(c, "custodian", CASH, &m), -ERR_BOOKS_ACCOUNT);

  /* A floor on a system account; a floor above the balance is refused. */
  assert_int_equal(
      POST("in", "order:4", {"custodian", SETTLED, qty("-3")}, {"issuer", SETTLED, qty("3")}),
      BOOKS_POSTED);
  struct money z = qty("0"), ten = tok("10"), bad = raw(1, 3);
  assert_int_equal(set_floor("issuer", SETTLED, &z), 0);
  assert_int_equal(POST("out", "order:5", {"issuer", SETTLED, qty("-3.000001")},
                        {"custodian", SETTLED, qty("3.000001")}),
                   -ERR_BOOKS_INSUFFICIENT);
  assert_int_equal(
      POST("out", "order:5", {"issuer", SETTLED, qty("-3")}, {"custodian", SETTLED, qty("3")}),
      BOOKS_POSTED);
  assert_int_equal(set_floor("ap:7", TOKENS, &ten), -ERR_BOOKS_INSUFFICIENT);
  assert_int_equal(set_floor("ap:7", CASH, &bad), -ERR_BOOKS_ASSET);
  assert_int_equal(set_floor("bank", CASH, &z), -ERR_BOOKS_ACCOUNT);
  /* Cleared: the AP may now owe cash (credit granted by the issuer). */
  assert_int_equal(set_floor("ap:7", CASH, NULL), 0);
  assert_int_equal(
      POST("credit", "order:6", {"ap:7", CASH, usd("-1.00")}, {"custodian", CASH, usd("1.00")}),
      BOOKS_POSTED);
  assert_bal("ap:7", CASH, "-1.00");
  assert_check_ok();
}

static void test_overflow(void **state)
{
  (void)state;
  struct money max = raw(MONEY_V_MAX, 18), one = raw(1, 18);
  struct money neg_max = raw(-MONEY_V_MAX, 18), neg_one = raw(-1, 18);
  assert_int_equal(POST("big", "order:1", {"ap:7", TOKENS, max}, {"chain", TOKENS, neg_max}),
                   BOOKS_POSTED);
  assert_bal("ap:7", TOKENS, "170141183460469231731.687303715884105727");
  assert_bal("chain", TOKENS, "-170141183460469231731.687303715884105727");
  /* One base unit more: the AP's balance (and the chain's) would leave the range. */
  assert_int_equal(POST("big+1", "order:1", {"ap:7", TOKENS, one}, {"chain", TOKENS, neg_one}),
                   -ERR_BOOKS_OVERFLOW);
  /* Only the chain's would: another AP's account is fine, the chain's is not. */
  assert_int_equal(POST("big+2", "order:1", {"ap:8", TOKENS, one}, {"chain", TOKENS, neg_one}),
                   -ERR_BOOKS_OVERFLOW);
  /* The entries of one posting summing out of range. */
  assert_int_equal(POST("big+3", "order:1", {"ap:8", TOKENS, max}, {"ap:9", TOKENS, max},
                        {"chain", TOKENS, neg_max}, {"chain", TOKENS, neg_max}),
                   -ERR_BOOKS_OVERFLOW);
  /* An amount that leaves the range at the asset's scale, and one outside every range. */
  assert_int_equal(POST("big+4", "order:1", {"ap:8", TOKENS, raw((__int128)1 << 100, 0)},
                        {"chain", TOKENS, raw(-((__int128)1 << 100), 0)}),
                   -ERR_BOOKS_OVERFLOW);
  struct money wrap = {-MONEY_V_MAX - 1, 18};
  assert_int_equal(POST("big+5", "order:1", {"ap:8", TOKENS, wrap}, {"chain", TOKENS, max}),
                   -ERR_BOOKS_OVERFLOW);
  /* Back down by the maximum: exact. */
  assert_int_equal(POST("big-1", "order:2", {"ap:7", TOKENS, neg_max}, {"chain", TOKENS, max}),
                   BOOKS_POSTED);
  assert_bal("ap:7", TOKENS, "0.000000000000000000");
  assert_int_equal(num("SELECT count(*) FROM books_postings"), 2);
  struct books_report r;
  books_report_init(&r);
  assert_int_equal(books_check(c, &r), 0);
  assert_true(r.ok);
  assert_int_equal(r.n_totals, 2);
  assert_string_equal(r.totals[1].asset, TOKENS);
  assert_string_equal(r.totals[1].net, "0.000000000000000000");
  assert_int_equal(r.totals[1].entries, 4);
  books_report_free(&r);
}

/* ------------------------------------------------------------------ */
/* Inside the caller's transaction                                     */
/* ------------------------------------------------------------------ */

struct caller {
  int attempts;
  int rc;
  int64_t id;
  bool fail_first; /* answer soft after posting, once */
  bool unbalanced; /* a refused posting, the state change kept */
};

static const struct db_stmt q_state = {"test_books_insert_state",
                                       "INSERT INTO t_state (note) VALUES ($1)", 1};

static enum db_qs caller_body(struct db_conn *conn, void *cls)
{
  struct caller *x = cls;
  x->attempts++;
  const char *p[] = {"order 5 funded"};
  enum db_qs qs = db_exec(conn, &q_state, p, NULL);
  if (qs < 0)
    return qs;
  struct books_posting post = {
      "cash-in:5",
      "order:5",
      NULL,
      0,
      ENTRIES({"ap:5", CASH, usd("10.00")},
              {"custodian", CASH, usd(x->unbalanced ? "-9.00" : "-10.00")}),
      2};
  x->rc = books_post(conn, &post, &x->id);
  if (x->rc < 0)
    return books_txn_qs(x->rc);
  if (x->fail_first && x->attempts == 1)
    return DB_QS_SOFT; /* as if the state change conflicted: all of it is retried */
  return DB_QS_NONE;
}

static void test_caller_txn(void **state)
{
  (void)state;
  ts_sql(c, "CREATE TABLE t_state (id serial PRIMARY KEY, note text NOT NULL)");
  struct caller x = {.unbalanced = true};
  assert_int_equal(db_txn(c, "caller", caller_body, &x), 0);
  assert_int_equal(x.rc, -ERR_BOOKS_UNBALANCED);
  assert_int_equal(num("SELECT count(*) FROM t_state"), 1);
  assert_int_equal(num("SELECT count(*) FROM books_postings"), 0);

  memset(&x, 0, sizeof x);
  x.fail_first = true;
  assert_int_equal(db_txn(c, "caller", caller_body, &x), 0);
  assert_int_equal(x.attempts, 2);
  assert_int_equal(x.rc, BOOKS_POSTED); /* the first attempt's posting was rolled back with it */
  assert_int_equal(num("SELECT count(*) FROM t_state"), 2);
  assert_int_equal(num("SELECT count(*) FROM books_postings"), 1);
  assert_bal("ap:5", CASH, "10.00");

  /* The body runs again later (a retried request): already posted, same id. */
  int64_t first = x.id;
  memset(&x, 0, sizeof x);
  assert_int_equal(db_txn(c, "caller", caller_body, &x), 0);
  assert_int_equal(x.rc, BOOKS_ALREADY_POSTED);
  assert_true(x.id == first);
  assert_bal("ap:5", CASH, "10.00");
  assert_check_ok();
}

/* ------------------------------------------------------------------ */
/* Concurrency                                                         */
/* ------------------------------------------------------------------ */

#define THREADS 8
#define PER     100

static pthread_barrier_t start;

struct worker {
  int t;
  int failures;
  int first_error;
  unsigned long retries;
};

static void *work(void *arg)
{
  struct worker *w = arg;
  struct db_conn *wc = NULL;
  if (db_connect(db.conninfo, db.name, 1000, &wc) != 0) {
    w->failures = PER;
    pthread_barrier_wait(&start);
    return NULL;
  }
  char ap[16], key[32], ref[32];
  snprintf(ap, sizeof ap, "ap:%d", w->t);
  pthread_barrier_wait(&start); /* all connected: go together */
  for (int i = 0; i < PER; i++) {
    struct books_entry e[5] = {
        {"custodian", CASH, usd("-1.00")}, {"fees", CASH, usd("0.25")}, {ap, CASH, usd("0.75")},
        {"chain", TOKENS, tok("-1")},      {ap, TOKENS, tok("1")},
    };
    if (w->t % 2 == 1) { /* the hot accounts in the other order */
      struct books_entry r[5] = {e[4], e[3], e[2], e[1], e[0]};
      memcpy(e, r, sizeof e);
    }
    snprintf(key, sizeof key, "c:%d:%d", w->t, i);
    snprintf(ref, sizeof ref, "order:%d", w->t * 1000 + i);
    struct books_posting p = {key, ref, NULL, 0, e, 5};
    int rc = books_post_txn(wc, &p, NULL);
    if (rc != BOOKS_POSTED) {
      if (w->failures++ == 0)
        w->first_error = rc;
    }
  }
  w->retries = wc->stats.txn_retries;
  db_close(wc);
  return NULL;
}

static void test_concurrent(void **state)
{
  (void)state;
  pthread_t th[THREADS];
  struct worker w[THREADS];
  unsigned long retries = 0;
  assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
  for (int t = 0; t < THREADS; t++) {
    w[t] = (struct worker){.t = t};
    assert_int_equal(pthread_create(&th[t], NULL, work, &w[t]), 0);
  }
  for (int t = 0; t < THREADS; t++) {
    pthread_join(th[t], NULL);
    if (w[t].failures != 0)
      fail_msg("thread %d: %d postings failed, first %s", t, w[t].failures,
               err_name(w[t].first_error));
    retries += w[t].retries;
  }
  pthread_barrier_destroy(&start);
  print_message("%d postings from %d threads, %lu retried attempts\n", THREADS * PER, THREADS,
                retries);
  assert_int_equal(num("SELECT count(*) FROM books_postings"), THREADS * PER);
  assert_bal("custodian", CASH, "-800.00");
  assert_bal("fees", CASH, "200.00");
  assert_bal("chain", TOKENS, "-800.000000000000000000");
  for (int t = 0; t < THREADS; t++) {
    char ap[16];
    snprintf(ap, sizeof ap, "ap:%d", t);
    assert_bal(ap, CASH, "75.00");
    assert_bal(ap, TOKENS, "100.000000000000000000");
  }
  struct books_report r;
  books_report_init(&r);
  assert_int_equal(books_check(c, &r), 0);
  assert_true(r.ok);
  assert_int_equal(r.postings, THREADS * PER);
  assert_int_equal(r.entries, THREADS * PER * 5);
  assert_int_equal(r.accounts, 3 + 2 * THREADS);
  assert_int_equal(r.n_totals, 2);
  assert_string_equal(r.totals[0].asset, CASH);
  assert_string_equal(r.totals[0].held, "800.00");
  assert_string_equal(r.totals[0].owed, "-800.00");
  assert_string_equal(r.totals[0].net, "0.00");
  assert_string_equal(r.totals[1].held, "800.000000000000000000");
  assert_string_equal(r.totals[1].owed, "-800.000000000000000000");
  books_report_free(&r);
  /* Locks in account order: the server saw no deadlock in this database. */
  assert_int_equal(num("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"),
                   0);
}

/*
 * Lock order, shown directly: another session holds the account with the
 * higher id; a posting listing that account first must already hold the
 * lower one while it waits (a third session cannot take it), so two
 * postings can never hold one each and wait for the other.
 */
struct blocked {
  int rc;
};

static void *post_blocked(void *arg)
{
  struct blocked *b = arg;
  struct db_conn *wc = NULL;
  b->rc = -ERR_DB_CONNECT;
  if (db_connect(db.conninfo, db.name, 10, &wc) != 0)
    return NULL;
  const struct books_entry e[] = {{"custodian", CASH, usd("-1.00")}, {"ap:1", CASH, usd("1.00")}};
  struct books_posting p = {"lock:2", "order:2", NULL, 0, e, 2};
  b->rc = books_post_txn(wc, &p, NULL);
  db_close(wc);
  return NULL;
}

static PGresult *exec_on(struct db_conn *conn, const char *sql, ExecStatusType want)
{
  PGresult *res = PQexec(conn->pg, sql);
  if (PQresultStatus(res) != want)
    fail_msg("%s: %s", sql, PQresultErrorMessage(res));
  return res;
}

static void test_lock_order(void **state)
{
  (void)state;
  assert_int_equal(
      POST("lock:1", "order:1", {"ap:1", CASH, usd("1.00")}, {"custodian", CASH, usd("-1.00")}),
      BOOKS_POSTED);
  assert_true(account_id("ap:1", CASH) < account_id("custodian", CASH));
  struct db_conn *x = ts_db_connect(&db, 1), *y = ts_db_connect(&db, 1);
  PQclear(exec_on(x, "BEGIN", PGRES_COMMAND_OK));
  PQclear(exec_on(x, "SELECT 1 FROM books_accounts WHERE owner = 'custodian' FOR UPDATE",
                  PGRES_TUPLES_OK));
  pthread_t th;
  struct blocked b;
  assert_int_equal(pthread_create(&th, NULL, post_blocked, &b), 0);
  long long waiting = 0;
  for (int i = 0; i < 1000 && waiting == 0; i++) {
    util_sleep_ms(10);
    waiting = num("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                  " AND wait_event_type = 'Lock'");
  }
  /* The posting holds ap:1 (the lower id) while it waits for the custodian. */
  PQclear(exec_on(y, "BEGIN", PGRES_COMMAND_OK));
  PGresult *res =
      PQexec(y->pg, "SELECT 1 FROM books_accounts WHERE owner = 'ap:1' FOR UPDATE NOWAIT");
  ExecStatusType st = PQresultStatus(res);
  char sqlstate[6] = "";
  if (PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL)
    util_strlcpy(sqlstate, PQresultErrorField(res, PG_DIAG_SQLSTATE), sizeof sqlstate);
  PQclear(res);
  PQclear(exec_on(y, "ROLLBACK", PGRES_COMMAND_OK));
  PQclear(exec_on(x, "COMMIT", PGRES_COMMAND_OK)); /* let the posting go on, whatever happened */
  pthread_join(th, NULL);
  assert_true(waiting > 0);
  assert_int_equal(st, PGRES_FATAL_ERROR);
  assert_string_equal(sqlstate, "55P03"); /* lock_not_available */
  assert_int_equal(b.rc, BOOKS_POSTED);
  assert_bal("ap:1", CASH, "2.00");
  assert_bal("custodian", CASH, "-2.00");
  db_close(x);
  db_close(y);
  assert_check_ok();
}

/* ------------------------------------------------------------------ */
/* Tampering                                                           */
/* ------------------------------------------------------------------ */

static void check_failed(struct books_report *r)
{
  books_report_init(r);
  assert_int_equal(books_check(c, r), 0);
  assert_false(r->ok);
}

static void assert_counts(const struct books_report *r, uint64_t unbalanced, uint64_t entry_count,
                          uint64_t asset_sum, uint64_t balance, uint64_t floor, uint64_t scale)
{
  uint64_t want[BOOKS_ISSUE_EXTERNAL] = {unbalanced, entry_count, asset_sum, balance, floor, scale};
  for (unsigned k = 0; k < BOOKS_ISSUE_EXTERNAL; k++)
    if (r->counts[k] != want[k])
      fail_msg("%s: %llu discrepancies, want %llu", books_issue_name((enum books_issue)k),
               (unsigned long long)r->counts[k], (unsigned long long)want[k]);
}

static void assert_item(const struct books_report *r, size_t i, enum books_issue issue,
                        int64_t posting, int64_t account, const char *expected, const char *actual,
                        const char *text)
{
  assert_true(i < r->n_items);
  const struct books_discrepancy *d = &r->items[i];
  assert_string_equal(books_issue_name(d->issue), books_issue_name(issue));
  assert_true(d->posting_id == posting);
  assert_true(d->account_id == account);
  assert_string_equal(d->expected, expected);
  assert_string_equal(d->actual, actual);
  assert_string_equal(d->text, text);
}

static void test_tamper_balance(void **state)
{
  (void)state;
  char text[256];
  struct books_report r;
  seed_flow();
  int64_t fees = account_id("fees", CASH);
  ts_sql(c, "UPDATE books_accounts SET balance = balance + 1 WHERE owner = 'fees'"
            " AND asset = 'cash:USD'");
  check_failed(&r);
  assert_counts(&r, 0, 0, 1, 1, 0, 0);
  assert_int_equal(r.n_items, 2);
  assert_item(&r, 0, BOOKS_ISSUE_ASSET_SUM, 0, 0, "0.00", "1.00",
              "(2) the balances of cash:USD over 4 accounts sum to 1.00, not 0.00");
  snprintf(text, sizeof text,
           "(3) account %lld (fees cash:USD): stored balance 8.00, its entries sum to 7.00",
           (long long)fees);
  assert_item(&r, 1, BOOKS_ISSUE_BALANCE, 0, fees, "7.00", "8.00", text);
  assert_string_equal(r.items[1].owner, "fees");
  assert_string_equal(r.items[1].asset, CASH);
  assert_string_equal(r.totals[0].net, "1.00");
  assert_string_equal(r.totals[0].entries_net, "0.00");
  char *t = report_text(&r);
  assert_non_null(strstr(t, "\nbooks FAILED unbalanced=0 entry_count=0 asset_sum=1 balance=1 "
                            "floor=0 scale=0 external=0\n"));
  free(t);
  books_report_free(&r);
}

static void test_tamper_entry(void **state)
{
  (void)state;
  char text[256];
  struct books_report r;
  seed_flow();
  int64_t fees = account_id("fees", CASH);
  const char *upd = "UPDATE books_entries SET amount = amount + 0.01 WHERE posting_id ="
                    " (SELECT id FROM books_postings WHERE key = 'fee:1') AND seq = 2";
  /* Append-only: the trigger refuses, until an owner disables it. */
  PGresult *res = PQexec(c->pg, upd);
  assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
  assert_non_null(strstr(PQresultErrorMessage(res), "append-only"));
  PQclear(res);
  ts_sql(c, "ALTER TABLE books_entries DISABLE TRIGGER books_entries_append_only");
  ts_sql(c, upd);
  check_failed(&r);
  assert_counts(&r, 1, 0, 1, 1, 0, 0);
  snprintf(text, sizeof text,
           "(1) posting %lld (key fee:1): its entries of cash:USD sum to 0.01, not 0.00",
           (long long)ids[1]);
  assert_item(&r, 0, BOOKS_ISSUE_UNBALANCED, ids[1], 0, "0.00", "0.01", text);
  assert_string_equal(r.items[0].asset, CASH);
  assert_item(&r, 1, BOOKS_ISSUE_ASSET_SUM, 0, 0, "0.00", "0.01",
              "(2) the 13 entries of cash:USD sum to 0.01, not 0.00");
  snprintf(text, sizeof text,
           "(3) account %lld (fees cash:USD): stored balance 7.00, its entries sum to 7.01",
           (long long)fees);
  assert_item(&r, 2, BOOKS_ISSUE_BALANCE, 0, fees, "7.01", "7.00", text);
  books_report_free(&r);
}

static void test_tamper_delete(void **state)
{
  (void)state;
  char text[256];
  struct books_report r;
  seed_flow();
  int64_t broker = account_id("broker", TRANSIT), issuer = account_id("issuer", TRANSIT);
  /* A balanced pair removed from the settlement: only the count and the balances tell. */
  ts_sql(c, "ALTER TABLE books_entries DISABLE TRIGGER books_entries_append_only");
  ts_sql(c, "DELETE FROM books_entries WHERE posting_id ="
            " (SELECT id FROM books_postings WHERE key = 'settle:1') AND seq IN (1, 2)");
  check_failed(&r);
  assert_counts(&r, 0, 1, 0, 2, 0, 0);
  snprintf(text, sizeof text, "(1) posting %lld (key settle:1): 4 entries stored, it wrote 6",
           (long long)ids[3]);
  assert_item(&r, 0, BOOKS_ISSUE_ENTRY_COUNT, ids[3], 0, "6", "4", text);
  snprintf(text, sizeof text,
           "(3) account %lld (broker shares:US0378331005:in_transit): stored balance 0.000000, "
           "its entries sum to -10.000000",
           (long long)broker);
  assert_item(&r, 1, BOOKS_ISSUE_BALANCE, 0, broker, "-10.000000", "0.000000", text);
  assert_true(r.items[2].account_id == issuer);
  assert_string_equal(r.items[2].expected, "10.000000");
  books_report_free(&r);
}

static void test_tamper_floor_scale(void **state)
{
  (void)state;
  char text[256];
  struct books_report r;
  seed_flow();
  int64_t ap = account_id("ap:7", TOKENS), fees = account_id("fees", CASH);
  ts_sql(c, "UPDATE books_accounts SET floor = 7 WHERE owner = 'ap:7' AND asset = 'tokens:AAPLx'");
  ts_sql(c,
         "UPDATE books_accounts SET balance = 7.001 WHERE owner = 'fees' AND asset = 'cash:USD'");
  check_failed(&r);
  assert_counts(&r, 0, 0, 1, 1, 1, 1);
  assert_item(&r, 0, BOOKS_ISSUE_ASSET_SUM, 0, 0, "0.00", "0.001",
              "(2) the balances of cash:USD over 4 accounts sum to 0.001, not 0.00");
  snprintf(text, sizeof text,
           "(3) account %lld (fees cash:USD): stored balance 7.001, its entries sum to 7.00",
           (long long)fees);
  assert_item(&r, 1, BOOKS_ISSUE_BALANCE, 0, fees, "7.00", "7.001", text);
  snprintf(text, sizeof text,
           "(4) account %lld (ap:7 tokens:AAPLx): balance 6.000000000000000000 below its floor "
           "7.000000000000000000",
           (long long)ap);
  assert_item(&r, 2, BOOKS_ISSUE_FLOOR, 0, ap, "7.000000000000000000", "6.000000000000000000",
              text);
  snprintf(text, sizeof text,
           "balance of account %lld (fees cash:USD): 7.001 is not representable at scale 2",
           (long long)fees);
  assert_item(&r, 3, BOOKS_ISSUE_SCALE, 0, fees, "", "7.001", text);
  /* A posting on the unreadable account is refused; others go on. */
  assert_int_equal(
      POST("fee:3", "order:3", {"custodian", CASH, usd("-0.01")}, {"fees", CASH, usd("0.01")}),
      -ERR_BOOKS_ASSET);
  assert_int_equal(
      POST("fee:4", "order:3", {"custodian", CASH, usd("-0.01")}, {"broker", CASH, usd("0.01")}),
      BOOKS_POSTED);
  books_report_free(&r);
}

/* The hook: the orders slice's reconciliation runs here, in the checker's snapshot. */
static int hook(struct db_conn *conn, struct books_report *r, void *cls)
{
  int *calls = cls;
  (*calls)++;
  PGresult *res =
      PQexec(conn->pg, "SELECT count(*) FROM books_postings WHERE reference = 'order:1'");
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    PQclear(res);
    return -ERR_DB_HARD;
  }
  struct books_discrepancy d;
  memset(&d, 0, sizeof d);
  d.issue = BOOKS_ISSUE_EXTERNAL;
  util_strlcpy(d.expected, "6", sizeof d.expected);
  util_strlcpy(d.actual, PQgetvalue(res, 0, 0), sizeof d.actual);
  snprintf(d.text, sizeof d.text, "order 1 completed: %s postings, want 6", d.actual);
  PQclear(res);
  /* The snapshot is read-only. */
  res = PQexec(conn->pg, "SHOW transaction_read_only");
  bool ro = PQresultStatus(res) == PGRES_TUPLES_OK && strcmp(PQgetvalue(res, 0, 0), "on") == 0;
  PQclear(res);
  return ro ? books_report_add(r, &d) : -ERR_INTERNAL;
}

static void test_check_hook(void **state)
{
  (void)state;
  int calls = 0;
  struct books_report r;
  seed_flow();
  books_report_init(&r);
  assert_int_equal(books_check_with(c, hook, &calls, &r), 0);
  assert_int_equal(calls, 1);
  assert_false(r.ok);
  assert_counts(&r, 0, 0, 0, 0, 0, 0);
  assert_true(r.counts[BOOKS_ISSUE_EXTERNAL] == 1);
  assert_item(&r, 0, BOOKS_ISSUE_EXTERNAL, 0, 0, "6", "5", "order 1 completed: 5 postings, want 6");
  char *t = report_text(&r);
  assert_non_null(strstr(t, "discrepancy external: order 1 completed: 5 postings, want 6\n"));
  free(t);
  books_report_free(&r);
  books_report_free(NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_flow, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unbalanced, setup, teardown),
      cmocka_unit_test_setup_teardown(test_db_guard, setup, teardown),
      cmocka_unit_test_setup_teardown(test_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_scales, setup, teardown),
      cmocka_unit_test_setup_teardown(test_idempotency, setup, teardown),
      cmocka_unit_test_setup_teardown(test_floors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_overflow, setup, teardown),
      cmocka_unit_test_setup_teardown(test_caller_txn, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lock_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tamper_balance, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tamper_entry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tamper_delete, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tamper_floor_scale, setup, teardown),
      cmocka_unit_test_setup_teardown(test_check_hook, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
