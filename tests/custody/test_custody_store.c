/*
 * Tests of custody/custody_store.c on a fresh, migrated database per
 * test: the shared semt.002 example stored to exact rows (and its raw
 * bytes and SHA-256), the same bytes twice (one document), pages out of
 * order assembled into a complete statement, a missing page reported
 * when a later statement arrives, a page sent twice in other bytes (same
 * content: custody_pages; other positions: custody_conflict), page
 * numbers past the last page, accounts and servicers not allow-listed
 * (nothing stored but the reject, with at most 4 KiB of head), a fault
 * found after 10,000 positions already went into the COPY (nothing
 * stored), the size limit, MT535 and sese.025 documents, two connections
 * ingesting the same statement at once (one document), and the lines of
 * custody_show().
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "custody/custody.h"
#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

#define SERVICERS "EXAMCHZZXXX, BANKUS33XXX"
#define ACCOUNTS  "OMNI-TOKEN-RESERVE-01,RESERVE-2"

static struct ts_db db;
static struct db_conn *c;
static struct custody_store *store;

static int setup(void **state)
{
  (void)state;
  char msg[256];
  ts_db_create("custody_store", &db);
  c = ts_db_connect(&db, 10);
  int rc = db_migrate(c, migrations_all, migrations_count, NULL, msg, sizeof msg);
  if (rc == 0)
    rc = custody_store_open(c, SERVICERS, ACCOUNTS, NULL, &store);
  return rc;
}

static int teardown(void **state)
{
  (void)state;
  custody_store_free(store);
  store = NULL;
  db_close(c);
  ts_db_drop(&db);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static long long num(const char *sql)
{
  char *v = ts_sql_value(c, sql);
  long long n = strtoll(v, NULL, 10);
  free(v);
  return n;
}

/* Every row of @sql, columns joined by '|', rows by '\n' (malloc'd). */
static char *rows(const char *sql)
{
  PGresult *r = PQexec(c->pg, sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    fail_msg("%s: %s", sql, PQresultErrorMessage(r));
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  for (int i = 0; i < PQntuples(r); i++) {
    for (int j = 0; j < PQnfields(r); j++)
      fprintf(f, "%s%s", j > 0 ? "|" : "", PQgetvalue(r, i, j));
    fputc('\n', f);
  }
  fclose(f);
  PQclear(r);
  return out;
}

static void assert_rows(const char *sql, const char *want)
{
  char *got = rows(sql);
  if (strcmp(got, want) != 0)
    fail_msg("%s\n--- got ---\n%s--- want ---\n%s", sql, got, want);
  free(got);
}

static char *show(const char *what, const char *isin, const char *account)
{
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  int n = custody_show(c, what, isin, account, f);
  fclose(f);
  assert_true(n >= 0);
  return out;
}

static void sample_path(char *out, size_t size)
{
  ts_source_path(out, size, "../shared/data/samples/semt002-example.xml");
}

/* The header of a statement page of BANKUS33XXX / RESERVE-2. */
static struct custody_stmt stmt(const char *id, int32_t day, uint32_t page, bool last)
{
  struct custody_stmt st;
  memset(&st, 0, sizeof st);
  st.kind = CUSTODY_KIND_SEMT002;
  util_strlcpy(st.stmt_id, id, sizeof st.stmt_id);
  st.page_no = page;
  st.last_page = last;
  st.stmt_day = day;
  st.stmt_ms = (int64_t)day * 86400000 + 23 * 3600000;
  st.stmt_has_time = true;
  util_strlcpy(st.frequency, "DAIL", sizeof st.frequency);
  st.update = CUSTODY_UPDATE_COMPLETE;
  st.basis = CUSTODY_BASIS_SETT;
  util_strlcpy(st.account_owner, "ISSUER-1", sizeof st.account_owner);
  util_strlcpy(st.account_servicer, "BANKUS33XXX", sizeof st.account_servicer);
  util_strlcpy(st.safekeeping_account, "RESERVE-2", sizeof st.safekeeping_account);
  return st;
}

static struct custody_qty qty(const char *v)
{
  struct custody_qty q = {.present = true, .kind = CUSTODY_QTY_UNIT};
  assert_int_equal(money_parse(v, strlen(v), CUSTODY_QTY_SCALE, 0, &q.qty), 0);
  return q;
}

static struct custody_position pos(const char *isin, const char *aggregate)
{
  struct custody_position p;
  memset(&p, 0, sizeof p);
  util_strlcpy(p.isin, isin, sizeof p.isin);
  p.aggregate = qty(aggregate);
  return p;
}

/* The ISIN of position @i: "US" + 9 digits + its check digit (Luhn over the letters' values). */
static void isin_of(unsigned i, char out[CUSTODY_ISIN_LEN + 1])
{
  char digits[32];
  snprintf(out, CUSTODY_ISIN_LEN + 1, "US%09u", i);
  /* U=30 S=28, then the nine digits. */
  int n = snprintf(digits, sizeof digits, "3028%09u", i);
  int sum = 0;
  for (int k = n - 1, dbl = 1; k >= 0; k--, dbl = !dbl) {
    int d = digits[k] - '0';
    if (dbl && (d *= 2) > 9)
      d -= 9;
    sum += d;
  }
  out[11] = (char)('0' + (10 - sum % 10) % 10);
  out[12] = '\0';
}

/* A semt.002 page in memory (free it). */
static char *page_doc(const struct custody_stmt *st, const struct custody_position *p, size_t n,
                      size_t *len)
{
  char *out = NULL;
  FILE *f = open_memstream(&out, len);
  assert_int_equal(custody_semt002_write_begin(f, st), 0);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(custody_semt002_write_position(f, &p[i]), 0);
  assert_int_equal(custody_semt002_write_end(f), 0);
  fclose(f);
  return out;
}

static int ingest_page(const struct custody_stmt *st, const struct custody_position *p, size_t n,
                       struct custody_ingest *res)
{
  size_t len;
  char *doc = page_doc(st, p, n, &len);
  int rc = custody_ingest_mem(store, doc, len, "test", res);
  free(doc);
  return rc;
}

static long long stored_total(void)
{
  return num("SELECT (SELECT count(*) FROM custody_documents) + (SELECT count(*) FROM"
             " custody_statements) + (SELECT count(*) FROM custody_statement_pages) +"
             " (SELECT count(*) FROM custody_positions) + (SELECT count(*) FROM"
             " custody_document_chunks) + (SELECT count(*) FROM custody_settlements)");
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

static void test_detect_kind(void **state)
{
  (void)state;
  static const struct {
    const char *head;
    enum custody_kind kind;
  } cases[] = {
      {"<?xml version=\"1.0\"?>\n<!-- sese.025 -->\n<Document xmlns=\"urn:iso:std:iso:20022:tech:"
       "xsd:semt.002.001.11\">",
       CUSTODY_KIND_SEMT002},
      {"\xef\xbb\xbf<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:sese.025.001.11\">",
       CUSTODY_KIND_SESE025},
      {"<x:Document xmlns:x=\"urn:iso:std:iso:20022:tech:xsd:sese.025.001.09\">",
       CUSTODY_KIND_SESE025},
      {"<Other/>", CUSTODY_KIND_SEMT002}, /* the semt.002 parser names the fault */
      {"<!DOCTYPE x [<!ENTITY a \"sese.025\">]><x/>", CUSTODY_KIND_SEMT002},
      {"{1:F01BANKUS33AXXX0000000000}{2:O535...}{4:\r\n", CUSTODY_KIND_MT535},
      {"\r\n:16R:GENL\r\n", CUSTODY_KIND_MT535},
      {"hello", 0},
      {"", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (custody_detect_kind(cases[i].head, strlen(cases[i].head)) != cases[i].kind)
      fail_msg("case %zu: kind %d, want %d", i,
               custody_detect_kind(cases[i].head, strlen(cases[i].head)), cases[i].kind);
}

/* The shared example: every row exactly, the raw bytes and their SHA-256. */
static void test_sample_exact(void **state)
{
  (void)state;
  char path[4096], want_sha[65];
  char *bytes = NULL;
  size_t len = 0;
  unsigned char h[crypto_hash_sha256_BYTES];
  sample_path(path, sizeof path);
  assert_int_equal(util_read_file(path, 1 << 20, &bytes, &len), 0);
  crypto_hash_sha256(h, (const unsigned char *)bytes, len);
  sodium_bin2hex(want_sha, sizeof want_sha, h, sizeof h);

  struct custody_ingest res;
  assert_int_equal(custody_ingest_file(store, path, &res), 0);
  assert_int_equal(res.outcome, CUSTODY_INGESTED);
  assert_int_equal(res.kind, CUSTODY_KIND_SEMT002);
  assert_string_equal(res.sha256, want_sha);
  assert_int_equal(res.size, len);
  assert_int_equal(res.document_id, 1);
  assert_int_equal(res.positions, 2);
  assert_int_equal(res.balances, 7);
  assert_true(res.completed);
  assert_int_equal(res.stale, 0);

  char want[4400];
  snprintf(want, sizeof want, "1|semt002|%s|%zu|%s|t|0\n", want_sha, len, path);
  assert_rows("SELECT id, kind, sha256, size, source, encode(sha256(raw), 'hex') = sha256,"
              " n_chunks FROM custody_documents",
              want);
  char *hex = malloc(2 * len + 1);
  sodium_bin2hex(hex, 2 * len + 1, (const unsigned char *)bytes, len);
  char *q = malloc(2 * len + 128);
  snprintf(q, 2 * len + 128, "SELECT raw = decode('%s', 'hex') FROM custody_documents", hex);
  assert_rows(q, "t\n");
  free(q);
  free(hex);
  assert_rows("SELECT account_servicer, safekeeping_account, stmt_id, stmt_day, basis,"
              " update_type, stmt_at, stmt_has_time, pages, last_page, complete_at IS NOT NULL,"
              " stale_at IS NULL FROM custody_statements",
              "EXAMCHZZXXX|OMNI-TOKEN-RESERVE-01|STMT-20250630-0001|2025-06-30|SETT|COMP|"
              "2025-06-30 23:59:59+00|t|1|1|t|t\n");
  assert_rows("SELECT document_id, statement_id, page_no, last_page, kind, account_owner,"
              " frequency, activity, sub_accounts, positions, balances, length(content_sha256)"
              " FROM custody_statement_pages",
              "1|1|1|t|semt002|ISSUER-0001|DAIL|t|f|2|7|64\n");
  assert_rows("SELECT position_no, balance_no, balance, COALESCE(sub_type, '-'), isin,"
              " sub_account, quantity, is_short, qty_kind FROM custody_positions"
              " ORDER BY 1, 2",
              "1|0|aggregate|-|US0378331005||100250|f|UNIT\n"
              "1|1|available|-|US0378331005||100000|f|UNIT\n"
              "1|2|not_available|-|US0378331005||250|f|UNIT\n"
              "1|3|sub|PEND|US0378331005||250|f|UNIT\n"
              "1|4|sub|PENR|US0378331005||1500|f|UNIT\n"
              "2|0|aggregate|-|US88160R1014||42000|f|UNIT\n"
              "2|1|available|-|US88160R1014||42000|f|UNIT\n");
  assert_int_equal(num("SELECT count(*) FROM custody_rejects"), 0);
  assert_int_equal(num("SELECT count(*) FROM custody_complete_statements"), 1);

  char *out = show("positions", "US88160R1014", NULL);
  assert_string_equal(out, "position statement=1 account=OMNI-TOKEN-RESERVE-01 sub_account=- "
                           "isin=US88160R1014 balance=aggregate qty=42000 side=LONG qty_kind=UNIT "
                           "day=2025-06-30 basis=SETT update=COMP\n"
                           "position statement=1 account=OMNI-TOKEN-RESERVE-01 sub_account=- "
                           "isin=US88160R1014 balance=available qty=42000 side=LONG qty_kind=UNIT "
                           "day=2025-06-30 basis=SETT update=COMP\n");
  free(out);
  out = show("statements", NULL, "OMNI-TOKEN-RESERVE-01");
  assert_string_equal(out, "statement id=1 servicer=EXAMCHZZXXX account=OMNI-TOKEN-RESERVE-01 "
                           "stmt_id=STMT-20250630-0001 day=2025-06-30 basis=SETT update=COMP "
                           "pages=1/1 status=complete positions=2 kind=semt002\n");
  free(out);
  out = show("positions", NULL, "NO-SUCH-ACCOUNT");
  assert_string_equal(out, "");
  free(out);
  free(bytes);
}

/* The same bytes again, from a file or from memory, change nothing. */
static void test_same_twice(void **state)
{
  (void)state;
  char path[4096];
  char *bytes = NULL;
  size_t len = 0;
  struct custody_ingest a, b, m;
  sample_path(path, sizeof path);
  assert_int_equal(custody_ingest_file(store, path, &a), 0);
  long long before = stored_total();
  assert_int_equal(custody_ingest_file(store, path, &b), 0);
  assert_int_equal(util_read_file(path, 1 << 20, &bytes, &len), 0);
  assert_int_equal(custody_ingest_mem(store, bytes, len, "again", &m), 0);
  assert_int_equal(a.outcome, CUSTODY_INGESTED);
  assert_int_equal(b.outcome, CUSTODY_DUPLICATE);
  assert_int_equal(m.outcome, CUSTODY_DUPLICATE);
  assert_int_equal(b.document_id, a.document_id);
  assert_int_equal(m.document_id, a.document_id);
  assert_string_equal(b.sha256, a.sha256);
  assert_int_equal(b.positions, 0);
  assert_int_equal(stored_total(), before);
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 1);
  assert_int_equal(num("SELECT count(*) FROM custody_positions"), 7);
  assert_int_equal(num("SELECT count(*) FROM custody_rejects"), 0);
  free(bytes);
}

/* Pages 3 (last), 1, 2: complete only with the last of them, and only then visible. */
static void test_pages_out_of_order(void **state)
{
  (void)state;
  int32_t day;
  struct custody_ingest res;
  assert_int_equal(cal_day(2025, 7, 1, &day), 0);
  struct custody_position p1[2] = {pos("US0378331005", "10"), pos("US88160R1014", "20")};
  struct custody_position p2[1] = {pos("US5949181045", "0.00000000000000001")};
  struct custody_position p3[1] = {pos("US0231351067", "99999999999999999")};
  struct custody_stmt s3 = stmt("S-3", day, 3, true), s1 = stmt("S-3", day, 1, false),
                      s2 = stmt("S-3", day, 2, false);
  assert_int_equal(ingest_page(&s3, p3, 1, &res), 0);
  assert_int_equal(res.outcome, CUSTODY_INGESTED);
  assert_false(res.completed);
  assert_int_equal(ingest_page(&s1, p1, 2, &res), 0);
  assert_false(res.completed);
  char *out = show("statements", NULL, NULL);
  assert_string_equal(out, "statement id=1 servicer=BANKUS33XXX account=RESERVE-2 stmt_id=S-3 "
                           "day=2025-07-01 basis=SETT update=COMP pages=2/3 status=incomplete "
                           "positions=3 kind=semt002\n");
  free(out);
  assert_int_equal(num("SELECT count(*) FROM custody_statement_positions"), 0);
  assert_int_equal(num("SELECT count(*) FROM custody_complete_statements"), 0);
  assert_int_equal(ingest_page(&s2, p2, 1, &res), 0);
  assert_true(res.completed);
  assert_rows("SELECT page_no, position_no, isin, quantity FROM custody_statement_positions"
              " ORDER BY page_no, position_no",
              "1|1|US0378331005|10\n1|2|US88160R1014|20\n2|1|US5949181045|0.00000000000000001\n"
              "3|1|US0231351067|99999999999999999\n");
  assert_rows("SELECT pages, last_page, complete_at IS NOT NULL FROM custody_statements",
              "3|3|t\n");
  assert_int_equal(num("SELECT count(*) FROM custody_rejects"), 0);
}

/* A missing page is reported when a later statement of the account and basis arrives. */
static void test_missing_page_stale(void **state)
{
  (void)state;
  int32_t day;
  struct custody_ingest res;
  assert_int_equal(cal_day(2025, 7, 1, &day), 0);
  struct custody_position p = pos("US0378331005", "5");
  struct custody_stmt m1 = stmt("M", day, 1, false), m3 = stmt("M", day, 3, true);
  struct custody_stmt t1 = stmt("T", day, 1, false); /* never gets its last page */
  t1.basis = CUSTODY_BASIS_SETT;
  util_strlcpy(t1.stmt_id, "T", sizeof t1.stmt_id);
  t1.stmt_ms -= 3600000;                             /* an hour before M */
  struct custody_stmt x1 = stmt("X", day, 1, false); /* another basis: not superseded */
  x1.basis = CUSTODY_BASIS_TRAD;
  assert_int_equal(ingest_page(&m1, &p, 1, &res), 0);
  assert_int_equal(ingest_page(&m3, &p, 1, &res), 0);
  assert_int_equal(ingest_page(&t1, &p, 1, &res), 0);
  assert_int_equal(ingest_page(&x1, &p, 1, &res), 0);
  assert_int_equal(res.stale, 0);
  assert_int_equal(num("SELECT count(*) FROM custody_rejects"), 0);

  struct custody_stmt n1 = stmt("N", day + 1, 1, true);
  assert_int_equal(ingest_page(&n1, &p, 1, &res), 0);
  assert_int_equal(res.outcome, CUSTODY_INGESTED);
  assert_true(res.completed);
  assert_int_equal(res.stale, 2);
  assert_rows("SELECT r.error_code, r.error_name, s.stmt_id, r.sha256 IS NULL, r.location,"
              " r.message FROM custody_rejects r JOIN custody_statements s"
              " ON s.id = r.statement_id ORDER BY s.stmt_id",
              "5010|custody_pages|M|t|Pgntn|statement 'M' of 2025-07-01 (COMP) is incomplete: "
              "page(s) 2 of 3 missing; superseded by statement 'N' of 2025-07-02 "
              "23:00:00.000+00\n"
              "5010|custody_pages|T|t|Pgntn|statement 'T' of 2025-07-01 (COMP) is incomplete: "
              "its last page never arrived (1 page(s) stored); superseded by statement 'N' of "
              "2025-07-02 23:00:00.000+00\n");
  char *out = show("statements", NULL, NULL);
  assert_non_null(strstr(out, "stmt_id=M day=2025-07-01 basis=SETT update=COMP pages=2/3 "
                              "status=stale"));
  assert_non_null(strstr(out, "stmt_id=X day=2025-07-01 basis=TRAD update=COMP pages=1/? "
                              "status=incomplete"));
  free(out);
  /* Reported once: a still later statement reports nothing again. */
  struct custody_stmt o1 = stmt("O", day + 2, 1, true);
  assert_int_equal(ingest_page(&o1, &p, 1, &res), 0);
  assert_int_equal(res.stale, 0);
  assert_int_equal(num("SELECT count(*) FROM custody_rejects"), 2);
  /* The late page still completes M. */
  struct custody_stmt m2 = stmt("M", day, 2, false);
  assert_int_equal(ingest_page(&m2, &p, 1, &res), 0);
  assert_true(res.completed);
  assert_int_equal(num("SELECT count(*) FROM custody_complete_statements"), 3);
}

/* The same page number again: same content in other bytes, or other positions. */
static void test_duplicate_and_conflicting_page(void **state)
{
  (void)state;
  int32_t day;
  struct custody_ingest res;
  assert_int_equal(cal_day(2025, 7, 1, &day), 0);
  struct custody_position p[2] = {pos("US0378331005", "10"), pos("US88160R1014", "20")};
  struct custody_stmt s2 = stmt("D", day, 2, false);
  assert_int_equal(ingest_page(&s2, p, 2, &res), 0);
  long long before = stored_total();

  /* A description is not content: other bytes, the same page. */
  util_strlcpy(p[0].description, "APPLE INC", sizeof p[0].description);
  assert_int_equal(ingest_page(&s2, p, 2, &res), -ERR_CUSTODY_PAGES);
  assert_int_equal(res.outcome, CUSTODY_REJECTED);
  assert_int_equal(res.err.code, -ERR_CUSTODY_PAGES);
  assert_int_equal(res.document_id, 0);
  assert_true(res.reject_id > 0);
  assert_string_equal(res.err.msg, "page 2 of statement 'D' is stored already (document 1); the "
                                   "same page again in other bytes");
  /* Another quantity contradicts it. */
  p[1].aggregate = qty("21");
  assert_int_equal(ingest_page(&s2, p, 2, &res), -ERR_CUSTODY_CONFLICT);
  assert_string_equal(
      res.err.msg, "page 2 of statement 'D' is stored already (document 1) with other positions");
  /* So does the last-page flag. */
  p[1].aggregate = qty("20");
  s2.last_page = true;
  assert_int_equal(ingest_page(&s2, p, 2, &res), -ERR_CUSTODY_CONFLICT);
  assert_int_equal(stored_total(), before);
  assert_rows("SELECT error_code, error_name, location, kind, length(sha256), size > 0,"
              " statement_id IS NULL FROM custody_rejects ORDER BY id",
              "5010|custody_pages|Pgntn/PgNb|semt002|64|t|t\n"
              "5014|custody_conflict|Pgntn/PgNb|semt002|64|t|t\n"
              "5014|custody_conflict|Pgntn/PgNb|semt002|64|t|t\n");
}

/* Page numbers that cannot belong to the statement. */
static void test_page_numbers(void **state)
{
  (void)state;
  int32_t day;
  struct custody_ingest res;
  assert_int_equal(cal_day(2025, 7, 1, &day), 0);
  struct custody_position p = pos("US0378331005", "1");
  struct custody_stmt a3 = stmt("A", day, 3, true), a4 = stmt("A", day, 4, false),
                      a2 = stmt("A", day, 2, true);
  assert_int_equal(ingest_page(&a3, &p, 1, &res), 0);
  long long before = stored_total();
  assert_int_equal(ingest_page(&a4, &p, 1, &res), -ERR_CUSTODY_PAGES);
  assert_string_equal(res.err.msg, "page 4 of statement 'A': its last page is page 3");
  assert_int_equal(ingest_page(&a2, &p, 1, &res), -ERR_CUSTODY_PAGES);
  assert_string_equal(res.err.msg,
                      "page 2 of statement 'A' is flagged last, but page 3 already is");
  struct custody_stmt b5 = stmt("B", day, 5, false), b4 = stmt("B", day, 4, true);
  assert_int_equal(ingest_page(&b5, &p, 1, &res), 0);
  before = stored_total();
  assert_int_equal(ingest_page(&b4, &p, 1, &res), -ERR_CUSTODY_PAGES);
  assert_string_equal(res.err.msg, "page 4 of statement 'B' is flagged last, but page 5 is stored");
  assert_int_equal(stored_total(), before);
  assert_int_equal(num("SELECT count(*) FROM custody_rejects WHERE error_code = 5010"), 3);
}

/* Not allow-listed: refused, nothing stored but the reject and 4 KiB of head. */
static void test_not_allowed(void **state)
{
  (void)state;
  int32_t day;
  struct custody_ingest res;
  assert_int_equal(cal_day(2025, 7, 1, &day), 0);
  struct custody_position p[200];
  for (unsigned i = 0; i < 200; i++) {
    char isin[CUSTODY_ISIN_LEN + 1];
    isin_of(i, isin);
    p[i] = pos(isin, "7");
  }
  struct custody_stmt st = stmt("Z", day, 1, true);
  util_strlcpy(st.safekeeping_account, "RESERVE-3", sizeof st.safekeeping_account);
  size_t len;
  char *doc = page_doc(&st, p, 200, &len);
  assert_true(len > 8192);
  assert_int_equal(custody_ingest_mem(store, doc, len, "x", &res), -ERR_CUSTODY_ACCOUNT);
  assert_int_equal(res.outcome, CUSTODY_REJECTED);
  assert_string_equal(res.err.where, "SfkpgAcct");
  assert_string_equal(res.err.msg, "safekeeping account 'RESERVE-3' is not allow-listed");
  assert_int_equal(stored_total(), 0);
  char *hex = malloc(2 * 4096 + 1);
  sodium_bin2hex(hex, 2 * 4096 + 1, (const unsigned char *)doc, 4096);
  char *q = malloc(2 * 4096 + 256);
  snprintf(q, 2 * 4096 + 256,
           "SELECT error_code, octet_length(head), head = decode('%s', 'hex'), size, source"
           " FROM custody_rejects",
           hex);
  char want[128];
  snprintf(want, sizeof want, "5011|4096|t|%zu|x\n", len);
  assert_rows(q, want);
  free(q);
  free(hex);
  free(doc);

  st = stmt("Z", day, 1, true);
  util_strlcpy(st.account_servicer, "EVILUS33XXX", sizeof st.account_servicer);
  assert_int_equal(ingest_page(&st, p, 1, &res), -ERR_CUSTODY_ACCOUNT);
  assert_string_equal(res.err.where, "AcctSvcr");
  assert_string_equal(res.err.msg, "account servicer 'EVILUS33XXX' is not allow-listed");
  /* A statement without positions is checked too. */
  util_strlcpy(st.account_servicer, "BANKUS33XXX", sizeof st.account_servicer);
  util_strlcpy(st.safekeeping_account, "RESERVE-9", sizeof st.safekeeping_account);
  assert_int_equal(ingest_page(&st, NULL, 0, &res), -ERR_CUSTODY_ACCOUNT);

  /* An empty allow-list refuses everything, and says why. */
  struct custody_store *none;
  assert_int_equal(custody_store_open(c, "", "RESERVE-2", NULL, &none), 0);
  char path[4096];
  sample_path(path, sizeof path);
  assert_int_equal(custody_ingest_file(none, path, &res), -ERR_CUSTODY_ACCOUNT);
  assert_string_equal(res.err.msg, "account servicer 'EXAMCHZZXXX' is not allow-listed "
                                   "(custody_servicers is empty: every document is refused)");
  custody_store_free(none);
  assert_int_equal(stored_total(), 0);
  assert_int_equal(num("SELECT count(*) FROM custody_rejects"), 4);
}

/* A fault after 10,000 positions went into the COPY: nothing of it stays. */
static void test_fault_after_copy(void **state)
{
  (void)state;
  int32_t day;
  struct custody_ingest res;
  assert_int_equal(cal_day(2025, 7, 1, &day), 0);
  enum { N = 12000 };
  struct custody_position *p = calloc(N, sizeof *p);
  for (unsigned i = 0; i < N; i++) {
    char isin[CUSTODY_ISIN_LEN + 1];
    isin_of(i, isin);
    p[i] = pos(isin, "123.5");
    p[i].available = qty("100");
    p[i].not_available = qty("23.5");
  }
  struct custody_stmt st = stmt("F", day, 1, true);
  size_t len;
  char *doc = page_doc(&st, p, N, &len);
  /* Break the quantity of position 11,000 (same length, so nothing else moves). */
  char isin[CUSTODY_ISIN_LEN + 1];
  isin_of(11000, isin);
  char *at = strstr(doc, isin);
  assert_non_null(at);
  at = strstr(at, "<Unit>123.5</Unit>");
  assert_non_null(at);
  memcpy(at + 6, "12x.5", 5);
  int rc = custody_ingest_mem(store, doc, len, "broken", &res);
  assert_int_equal(res.outcome, CUSTODY_REJECTED);
  assert_int_equal(rc, res.err.code);
  assert_true(rc == -ERR_CUSTODY_VALUE || rc == -ERR_MONEY_SYNTAX);
  assert_true(res.err.line > 11000);
  assert_int_equal(stored_total(), 0);
  assert_int_equal(num("SELECT count(*) FROM custody_rejects"), 1);
  /* The intact statement then goes in whole. */
  memcpy(at + 6, "123.5", 5);
  assert_int_equal(custody_ingest_mem(store, doc, len, "fixed", &res), 0);
  assert_int_equal(res.positions, N);
  assert_int_equal(num("SELECT count(*) FROM custody_positions"), 3 * N);
  assert_rows("SELECT balance_no, sum(quantity) FROM custody_positions GROUP BY 1 ORDER BY 1",
              "0|1482000.0\n1|1200000\n2|282000.0\n");
  free(doc);
  free(p);
}

/* Over the size limit: refused unread, no SHA-256. */
static void test_too_large(void **state)
{
  (void)state;
  struct custody_limits lim;
  struct custody_store *small;
  struct custody_ingest res;
  char path[4096];
  custody_limits_default(&lim);
  lim.max_bytes = 1024;
  assert_int_equal(custody_store_open(c, SERVICERS, ACCOUNTS, &lim, &small), 0);
  sample_path(path, sizeof path);
  assert_int_equal(custody_ingest_file(small, path, &res), -ERR_CUSTODY_TOO_LARGE);
  assert_string_equal(res.sha256, "");
  custody_store_free(small);
  assert_rows("SELECT error_name, sha256 IS NULL, size > 1024, octet_length(head) FROM"
              " custody_rejects",
              "custody_too_large|t|t|2371\n"); /* the head: the whole 2,371 bytes */
  assert_int_equal(stored_total(), 0);
}

/* MT535: stored like a semt.002 page; a negative quantity is a short one. */
static void test_mt535(void **state)
{
  (void)state;
  int32_t day;
  struct custody_ingest res;
  assert_int_equal(cal_day(2025, 7, 1, &day), 0);
  struct custody_stmt st = stmt("MT-1", day, 1, true);
  st.kind = CUSTODY_KIND_MT535;
  struct custody_position p[2] = {pos("US0378331005", "1500.25"), pos("US88160R1014", "3")};
  p[1].aggregate.shrt = true;
  char *doc = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&doc, &len);
  assert_int_equal(custody_mt535_write(f, &st, p, 2), 0);
  fclose(f);
  assert_int_equal(custody_ingest_mem(store, doc, len, "mt", &res), 0);
  assert_int_equal(res.kind, CUSTODY_KIND_MT535);
  assert_int_equal(res.positions, 2);
  assert_rows("SELECT s.account_servicer, s.safekeeping_account, s.stmt_id, g.kind,"
              " p.isin, p.quantity, p.is_short FROM custody_statement_positions p"
              " JOIN custody_statement_pages g USING (document_id)"
              " JOIN custody_statements s ON s.id = g.statement_id ORDER BY p.position_no",
              "BANKUS33XXX|RESERVE-2|MT-1|mt535|US0378331005|1500.25|f\n"
              "BANKUS33XXX|RESERVE-2|MT-1|mt535|US88160R1014|3|t\n");
  free(doc);
  /* Not allow-listed: our reason, whatever the parser does when stopped. */
  util_strlcpy(st.safekeeping_account, "OTHER-1", sizeof st.safekeeping_account);
  util_strlcpy(st.stmt_id, "MT-2", sizeof st.stmt_id);
  f = open_memstream(&doc, &len);
  assert_int_equal(custody_mt535_write(f, &st, p, 2), 0);
  fclose(f);
  assert_int_equal(custody_ingest_mem(store, doc, len, "mt2", &res), -ERR_CUSTODY_ACCOUNT);
  assert_string_equal(res.err.where, "SfkpgAcct");
  assert_string_equal(res.err.msg, "safekeeping account 'OTHER-1' is not allow-listed");
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 1);
  free(doc);
}

/* sese.025: one settlement per servicer and transaction id. */
static void test_settlement(void **state)
{
  (void)state;
  struct custody_settlement t;
  struct custody_ingest res;
  memset(&t, 0, sizeof t);
  util_strlcpy(t.tx_id, "TX-1", sizeof t.tx_id);
  util_strlcpy(t.account_owner, "ISSUER-1", sizeof t.account_owner);
  util_strlcpy(t.account_servicer, "BANKUS33XXX", sizeof t.account_servicer);
  util_strlcpy(t.safekeeping_account, "RESERVE-2", sizeof t.safekeeping_account);
  util_strlcpy(t.isin, "US0378331005", sizeof t.isin);
  t.qty = qty("25");
  t.direction = CUSTODY_RECEIVE;
  t.trade_day = INT32_MIN;
  assert_int_equal(cal_day(2025, 7, 2, &t.settlement_day), 0);
  char *doc = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&doc, &len);
  assert_int_equal(custody_sese025_write(f, &t), 0);
  fclose(f);
  assert_int_equal(custody_ingest_mem(store, doc, len, "sese", &res), 0);
  assert_int_equal(res.kind, CUSTODY_KIND_SESE025);
  assert_int_equal(res.outcome, CUSTODY_INGESTED);
  assert_rows("SELECT account_servicer, tx_id, safekeeping_account, isin, quantity, direction,"
              " settlement_date, trade_date IS NULL, against_payment FROM custody_settlements",
              "BANKUS33XXX|TX-1|RESERVE-2|US0378331005|25|RECE|2025-07-02|t|f\n");
  char *out = show("settlements", "US0378331005", NULL);
  assert_string_equal(out, "settlement document=1 servicer=BANKUS33XXX account=RESERVE-2 "
                           "tx_id=TX-1 isin=US0378331005 qty=25 qty_kind=UNIT direction=RECE "
                           "settled=2025-07-02 payment=FREE\n");
  free(out);
  free(doc);
  /* The same transaction confirmed again in other bytes contradicts it. */
  t.qty = qty("26");
  f = open_memstream(&doc, &len);
  assert_int_equal(custody_sese025_write(f, &t), 0);
  fclose(f);
  assert_int_equal(custody_ingest_mem(store, doc, len, "sese2", &res), -ERR_CUSTODY_CONFLICT);
  assert_int_equal(num("SELECT count(*) FROM custody_settlements"), 1);
  free(doc);
  /* Not allow-listed. */
  util_strlcpy(t.tx_id, "TX-2", sizeof t.tx_id);
  util_strlcpy(t.safekeeping_account, "ELSEWHERE", sizeof t.safekeeping_account);
  f = open_memstream(&doc, &len);
  assert_int_equal(custody_sese025_write(f, &t), 0);
  fclose(f);
  assert_int_equal(custody_ingest_mem(store, doc, len, "sese3", &res), -ERR_CUSTODY_ACCOUNT);
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 1);
  free(doc);
}

/* Two connections ingest the same statement at once: one document. */
struct racer {
  const char *doc;
  size_t len;
  int rc;
  struct custody_ingest res;
};

static void *race(void *arg)
{
  struct racer *r = arg;
  struct db_conn *cc = NULL;
  struct custody_store *s = NULL;
  r->rc = db_connect(db.conninfo, db.name, 10, &cc);
  if (r->rc == 0)
    r->rc = custody_store_open(cc, SERVICERS, ACCOUNTS, NULL, &s);
  if (r->rc == 0)
    r->rc = custody_ingest_mem(s, r->doc, r->len, "race", &r->res);
  custody_store_free(s);
  db_close(cc);
  return NULL;
}

static void test_concurrent_same_document(void **state)
{
  (void)state;
  int32_t day;
  assert_int_equal(cal_day(2025, 7, 1, &day), 0);
  enum { N = 3000 };
  struct custody_position *p = calloc(N, sizeof *p);
  for (unsigned i = 0; i < N; i++) {
    char isin[CUSTODY_ISIN_LEN + 1];
    isin_of(i, isin);
    p[i] = pos(isin, "1");
  }
  struct custody_stmt st = stmt("R", day, 1, true);
  size_t len;
  char *doc = page_doc(&st, p, N, &len);
  struct racer r[2] = {{doc, len, 0, {0}}, {doc, len, 0, {0}}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  assert_int_equal(r[0].rc, 0);
  assert_int_equal(r[1].rc, 0);
  assert_int_equal(r[0].res.outcome + r[1].res.outcome, CUSTODY_INGESTED + CUSTODY_DUPLICATE);
  assert_int_equal(r[0].res.document_id, r[1].res.document_id);
  assert_int_equal(num("SELECT count(*) FROM custody_documents"), 1);
  assert_int_equal(num("SELECT count(*) FROM custody_positions"), N);
  free(doc);
  free(p);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_detect_kind),
      cmocka_unit_test_setup_teardown(test_sample_exact, setup, teardown),
      cmocka_unit_test_setup_teardown(test_same_twice, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pages_out_of_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_page_stale, setup, teardown),
      cmocka_unit_test_setup_teardown(test_duplicate_and_conflicting_page, setup, teardown),
      cmocka_unit_test_setup_teardown(test_page_numbers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_allowed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fault_after_copy, setup, teardown),
      cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mt535, setup, teardown),
      cmocka_unit_test_setup_teardown(test_settlement, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_same_document, setup, teardown),
  };
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
