/*
 * Order limits, balances and the books check over real HTTP
 * (api/api_participants_limits_*.c, _balances_get.c, _books_check_get.c):
 * set a limit (by the stock's or the token's symbol, per AP or
 * instrument-wide), replace it, list it, with the exact JSON and audit
 * records; bad bodies 400 with nothing changed; wrong roles 403; replayed
 * Idempotency-Key; balances an AP sees (its own accounts only) against an
 * admin's and auditor's view; the checker's report as JSON, healthy and
 * after tampering with a balance.
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance.h"
#include "tests/api/api_testlib.h"

/* The instrument of the fixture: AAPL. */
static long long aapl;

static int setup(void **state)
{
  struct tl_fx *f = tl_fx_new(state, "apilimits", true);
  aapl = tl_sql_int(
      &f->s, "INSERT INTO instruments (symbol, isin, token_symbol, mint_policy, burn_policy,"
             " min_order_qty, max_order_qty, market_open, market_close, cutoff, out_of_hours)"
             " VALUES ('AAPL', 'US0378331005', 'AAPLx', 'at_fill', 'on_receipt', 1, 1000, '09:30',"
             " '16:00', '15:30', 'queue') RETURNING id");
  return 0;
}

/* ------------------------------------------------------------------ */
/* Limits                                                              */
/* ------------------------------------------------------------------ */

static void test_limit_set(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r, r2;
  char body[256], want[512], target[64], det[512];
  long long audits = tl_count(&f->s, "audit_log");
  snprintf(body, sizeof body,
           "{\"symbol\":\"AAPL\",\"ap\":%lld,\"kind\":\"mint\",\"window_seconds\":3600,"
           "\"max_qty\":\"100\"}",
           (long long)f->ap_id);
  tl_call(&f->s, "POST", "/v1/admin/limits", f->admin, "l1", body, &r);
  assert_int_equal(r.status, 200);
  yajl_val v = tl_json(&r);
  long long id = tl_int(v, "limit", "id", NULL);
  snprintf(want, sizeof want,
           "{\"limit\":{\"id\":%lld,\"symbol\":\"AAPL\",\"ap\":%lld,\"kind\":\"mint\","
           "\"window_seconds\":3600,\"max_qty\":\"100.000000\",\"updated\":\"%s\"}}",
           id, (long long)f->ap_id, tl_str(v, "limit", "updated", NULL));
  assert_string_equal(r.body, want);
  yajl_tree_free(v);
  snprintf(target, sizeof target, "limit:%lld", id);
  snprintf(det, sizeof det,
           "{\"ap\":%lld,\"kind\":\"mint\",\"max_qty\":\"100.000000\",\"previous_max_qty\":null,"
           "\"symbol\":\"AAPL\",\"window_seconds\":3600}",
           (long long)f->ap_id);
  tl_audit_has(&f->s, audits + 1, f->admin_id, "limit.set", target, det);
  tl_call(&f->s, "POST", "/v1/admin/limits", f->admin, "l1", body, &r2);
  assert_int_equal(r2.status, 200);
  assert_string_equal(r2.replayed, "true");
  assert_string_equal(r2.body, r.body);
  tl_reply_free(&r2);
  tl_reply_free(&r);

  /* By the token's symbol: the same limit, max_qty replaced. */
  snprintf(body, sizeof body,
           "{\"symbol\":\"AAPLx\",\"ap\":%lld,\"kind\":\"mint\",\"window_seconds\":3600,"
           "\"max_qty\":\"250.5\"}",
           (long long)f->ap_id);
  tl_call(&f->s, "POST", "/v1/admin/limits", f->admin, "l2", body, &r);
  assert_int_equal(r.status, 200);
  v = tl_json(&r);
  assert_int_equal(tl_int(v, "limit", "id", NULL), id);
  assert_string_equal(tl_str(v, "limit", "max_qty", NULL), "250.500000");
  yajl_tree_free(v);
  tl_reply_free(&r);
  snprintf(det, sizeof det,
           "{\"ap\":%lld,\"kind\":\"mint\",\"max_qty\":\"250.500000\",\"previous_max_qty\":"
           "\"100.000000\",\"symbol\":\"AAPL\",\"window_seconds\":3600}",
           (long long)f->ap_id);
  tl_audit_has(&f->s, audits + 2, f->admin_id, "limit.set", target, det);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM order_limits WHERE max_qty = 250.5"), 1);

  /* Instrument-wide: "ap" left out or null. */
  tl_call(&f->s, "POST", "/v1/admin/limits", f->admin, "l3",
          "{\"symbol\":\"AAPL\",\"ap\":null,\"kind\":\"redeem\",\"window_seconds\":86400,"
          "\"max_qty\":\"1000.000001\"}",
          &r);
  assert_int_equal(r.status, 200);
  v = tl_json(&r);
  long long wide = tl_int(v, "limit", "id", NULL);
  snprintf(want, sizeof want,
           "{\"limit\":{\"id\":%lld,\"symbol\":\"AAPL\",\"ap\":null,\"kind\":\"redeem\","
           "\"window_seconds\":86400,\"max_qty\":\"1000.000001\",\"updated\":\"%s\"}}",
           wide, tl_str(v, "limit", "updated", NULL));
  assert_string_equal(r.body, want);
  yajl_tree_free(v);
  tl_reply_free(&r);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM order_limits WHERE ap IS NULL AND "
                                     "kind = 'redeem' AND max_qty = 1000.000001"),
                   1);

  /* Refusals: nothing changes. */
  long long limits = tl_count(&f->s, "order_limits");
  audits = tl_count(&f->s, "audit_log");
  const char *good = "{\"symbol\":\"AAPL\",\"kind\":\"mint\",\"window_seconds\":60,"
                     "\"max_qty\":\"5\"}";
  tl_call_error(&f->s, "POST", "/v1/admin/limits", f->ap, "x", good, 403, ERR_API_FORBIDDEN, NULL);
  tl_call_error(&f->s, "POST", "/v1/admin/limits", f->auditor, "x", good, 403, ERR_API_FORBIDDEN,
                NULL);
  tl_call_error(&f->s, "POST", "/v1/admin/limits", f->admin, "l1", good, 409,
                ERR_API_IDEMPOTENCY_CONFLICT, NULL);
  const struct {
    const char *body;
    int code;
    const char *hint;
  } bad[] = {
      {"{\"symbol\":\"MSFT\",\"kind\":\"mint\",\"window_seconds\":60,\"max_qty\":\"5\"}",
       ERR_API_FIELD, "symbol"},
      {"{\"symbol\":\"AAPL\",\"ap\":1,\"kind\":\"mint\",\"window_seconds\":60,\"max_qty\":\"5\"}",
       ERR_API_FIELD, "\"ap\""}, /* principal 1 is the admin */
      {"{\"symbol\":\"AAPL\",\"ap\":0,\"kind\":\"mint\",\"window_seconds\":60,\"max_qty\":\"5\"}",
       ERR_API_FIELD, "ap"},
      {"{\"symbol\":\"AAPL\",\"ap\":\"2\",\"kind\":\"mint\",\"window_seconds\":60,"
       "\"max_qty\":\"5\"}",
       ERR_API_FIELD, "ap"},
      {"{\"symbol\":\"AAPL\",\"kind\":\"burn\",\"window_seconds\":60,\"max_qty\":\"5\"}",
       ERR_API_FIELD, "kind"},
      {"{\"symbol\":\"AAPL\",\"kind\":\"mint\",\"window_seconds\":59,\"max_qty\":\"5\"}",
       ERR_API_FIELD, "window_seconds"},
      {"{\"symbol\":\"AAPL\",\"kind\":\"mint\",\"window_seconds\":31622401,\"max_qty\":\"5\"}",
       ERR_API_FIELD, "window_seconds"},
      {"{\"symbol\":\"AAPL\",\"kind\":\"mint\",\"window_seconds\":60.5,\"max_qty\":\"5\"}",
       ERR_API_FIELD, "window_seconds"},
      {"{\"symbol\":\"AAPL\",\"kind\":\"mint\",\"window_seconds\":60,\"max_qty\":\"0\"}",
       ERR_API_FIELD, "max_qty"},
      {"{\"symbol\":\"AAPL\",\"kind\":\"mint\",\"window_seconds\":60,\"max_qty\":\"-5\"}",
       ERR_API_FIELD, "max_qty"},
      {"{\"symbol\":\"AAPL\",\"kind\":\"mint\",\"window_seconds\":60,\"max_qty\":\"1.0000001\"}",
       ERR_API_FIELD, "max_qty"},
      {"{\"symbol\":\"AAPL\",\"kind\":\"mint\",\"window_seconds\":60,\"max_qty\":5}", ERR_API_FIELD,
       "max_qty"},
      {"{\"symbol\":\"AAPL\",\"kind\":\"mint\",\"window_seconds\":60,"
       "\"max_qty\":\"1e3\"}",
       ERR_API_FIELD, "max_qty"},
      {"{\"symbol\":\"AAPL\",\"kind\":\"mint\",\"window_seconds\":60,"
       "\"max_qty\":\"999999999999999999999999999999999999999\"}",
       ERR_API_FIELD, "max_qty"},
      {"{\"symbol\":\"AAPL\",\"kind\":\"mint\",\"window_seconds\":60}", ERR_API_FIELD, "max_qty"},
      {"{\"symbol\":\"AAPL'--\",\"kind\":\"mint\",\"window_seconds\":60,\"max_qty\":\"5\"}",
       ERR_API_FIELD, "symbol"},
      {"{\"symbol\":\"AAPL\",\"kind\":\"mint\",\"window_seconds\":60,\"max_qty\":\"5\","
       "\"instrument\":1}",
       ERR_API_UNKNOWN_FIELD, "instrument"},
      {"{\"symbol\":\"AAPL\",", ERR_API_BAD_JSON, NULL},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    tl_call_error(&f->s, "POST", "/v1/admin/limits", f->admin, "bad", bad[i].body, 400, bad[i].code,
                  bad[i].hint);
  assert_int_equal(tl_count(&f->s, "order_limits"), limits);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM api_idempotency WHERE key = 'bad'"), 0);
}

static void test_limit_list(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  tl_sql_int(&f->s, "INSERT INTO instruments (symbol, isin, token_symbol, mint_policy,"
                    " burn_policy, min_order_qty, max_order_qty, market_open, market_close,"
                    " cutoff, out_of_hours) VALUES ('TSLA', 'US88160R1014', 'TSLAx', 'at_fill',"
                    " 'on_receipt', 1, 1000, '09:30', '16:00', '15:30', 'queue') RETURNING id");
  tl_call(&f->s, "POST", "/v1/admin/limits", f->admin, "a",
          "{\"symbol\":\"AAPL\",\"kind\":\"mint\",\"window_seconds\":60,\"max_qty\":\"5\"}", &r);
  assert_int_equal(r.status, 200);
  tl_reply_free(&r);
  tl_call(&f->s, "POST", "/v1/admin/limits", f->admin, "b",
          "{\"symbol\":\"TSLAx\",\"kind\":\"redeem\",\"window_seconds\":120,\"max_qty\":\"7.25\"}",
          &r);
  assert_int_equal(r.status, 200);
  yajl_val v = tl_json(&r);
  long long tid = tl_int(v, "limit", "id", NULL);
  char one[512], want[1024];
  snprintf(
      one, sizeof one,
      "{\"id\":%lld,\"symbol\":\"TSLA\",\"ap\":null,\"kind\":\"redeem\",\"window_seconds\":120,"
      "\"max_qty\":\"7.250000\",\"updated\":\"%s\"}",
      tid, tl_str(v, "limit", "updated", NULL));
  yajl_tree_free(v);
  tl_reply_free(&r);
  /* By symbol: the stock's or the token's. */
  snprintf(want, sizeof want, "{\"items\":[%s],\"next_cursor\":null}", one);
  const char *paths[] = {"/v1/admin/limits?symbol=TSLA", "/v1/admin/limits?symbol=TSLAx"};
  for (int i = 0; i < 2; i++) {
    tl_call(&f->s, "GET", paths[i], f->auditor, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, want);
    tl_reply_free(&r);
  }
  tl_call(&f->s, "GET", "/v1/admin/limits?symbol=MSFT", f->admin, NULL, NULL, &r);
  assert_string_equal(r.body, "{\"items\":[],\"next_cursor\":null}");
  tl_reply_free(&r);
  /* All, a page at a time. */
  tl_call(&f->s, "GET", "/v1/admin/limits?limit=1", f->admin, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  v = tl_json(&r);
  assert_string_equal(
      tl_str(tl_get(v, "items", NULL, NULL)->u.array.values[0], "symbol", NULL, NULL), "AAPL");
  char path[128];
  snprintf(path, sizeof path, "/v1/admin/limits?limit=1&cursor=%s",
           tl_str(v, "next_cursor", NULL, NULL));
  yajl_tree_free(v);
  tl_reply_free(&r);
  tl_call(&f->s, "GET", path, f->admin, NULL, NULL, &r);
  snprintf(want, sizeof want, "{\"items\":[%s],\"next_cursor\":null}", one);
  assert_string_equal(r.body, want);
  tl_reply_free(&r);
  tl_call_error(&f->s, "GET", "/v1/admin/limits", f->ap, NULL, NULL, 403, ERR_API_FORBIDDEN, NULL);
  tl_call_error(&f->s, "GET", "/v1/admin/limits?cursor=x", f->admin, NULL, NULL, 400,
                ERR_API_BAD_CURSOR, NULL);
  tl_call_error(&f->s, "GET", "/v1/admin/limits?symbol=", f->admin, NULL, NULL, 400, ERR_API_FIELD,
                "symbol");
}

/* ------------------------------------------------------------------ */
/* Balances and the books check                                        */
/* ------------------------------------------------------------------ */

/* AP one funded 1500.50 USD and holds 5 AAPLx; AP two funded 20 USD. */
static void post_books(struct tl_fx *f)
{
  char ap1[32], ap2[32];
  snprintf(ap1, sizeof ap1, "ap:%lld", (long long)f->ap_id);
  snprintf(ap2, sizeof ap2, "ap:%lld", (long long)f->ap2_id);
  struct books_entry e1[] = {{"custodian", "cash:USD", {-150050, 2}},
                             {ap1, "cash:USD", {150050, 2}}};
  struct books_posting p1 = {"fund-1", "order:1", NULL, 0, e1, 2};
  assert_int_equal(books_post_txn(f->s.conn, &p1, NULL), 0);
  struct books_entry e2[] = {{"chain", "tokens:AAPLx", {-(__int128)5000000000000000000, 18}},
                             {ap1, "tokens:AAPLx", {(__int128)5000000000000000000, 18}}};
  struct books_posting p2 = {"mint-1", "order:1", NULL, 0, e2, 2};
  assert_int_equal(books_post_txn(f->s.conn, &p2, NULL), 0);
  struct books_entry e3[] = {{"custodian", "cash:USD", {-2000, 2}}, {ap2, "cash:USD", {2000, 2}}};
  struct books_posting p3 = {"fund-2", "order:2", NULL, 0, e3, 2};
  assert_int_equal(books_post_txn(f->s.conn, &p3, NULL), 0);
}

static void test_balances(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  char want[1024], path[128];
  post_books(f);
  tl_call(&f->s, "GET", "/v1/balances", f->ap, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  snprintf(want, sizeof want,
           "{\"items\":[{\"owner\":\"ap:%lld\",\"asset\":\"cash:USD\",\"balance\":\"1500.50\","
           "\"scale\":2},{\"owner\":\"ap:%lld\",\"asset\":\"tokens:AAPLx\",\"balance\":"
           "\"5.000000000000000000\",\"scale\":18}],\"next_cursor\":null}",
           (long long)f->ap_id, (long long)f->ap_id);
  assert_string_equal(r.body, want);
  tl_reply_free(&r);
  tl_call(&f->s, "GET", "/v1/balances", f->ap2, NULL, NULL, &r);
  snprintf(want, sizeof want,
           "{\"items\":[{\"owner\":\"ap:%lld\",\"asset\":\"cash:USD\",\"balance\":\"20.00\","
           "\"scale\":2}],\"next_cursor\":null}",
           (long long)f->ap2_id);
  assert_string_equal(r.body, want);
  tl_reply_free(&r);
  /* An AP may not look at others, not even by ?owner= of its own name. */
  tl_call_error(&f->s, "GET", "/v1/balances?owner=custodian", f->ap, NULL, NULL, 403,
                ERR_API_FORBIDDEN, "?owner=");
  snprintf(path, sizeof path, "/v1/balances?owner=ap:%lld", (long long)f->ap_id);
  tl_call_error(&f->s, "GET", path, f->ap, NULL, NULL, 403, ERR_API_FORBIDDEN, NULL);

  /* Admin and auditor: one owner's, or all. */
  const char *readers[] = {f->admin, f->auditor};
  for (int i = 0; i < 2; i++) {
    tl_call(&f->s, "GET", "/v1/balances?owner=custodian", readers[i], NULL, NULL, &r);
    assert_string_equal(r.body, "{\"items\":[{\"owner\":\"custodian\",\"asset\":\"cash:USD\","
                                "\"balance\":\"-1520.50\",\"scale\":2}],\"next_cursor\":null}");
    tl_reply_free(&r);
    tl_call(&f->s, "GET", path, readers[i], NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"balance\":\"1500.50\""));
    tl_reply_free(&r);
    tl_call(&f->s, "GET", "/v1/balances", readers[i], NULL, NULL, &r);
    yajl_val v = tl_json(&r);
    assert_int_equal(tl_get(v, "items", NULL, NULL)->u.array.len, 5);
    yajl_tree_free(v);
    tl_reply_free(&r);
  }
  tl_call(&f->s, "GET", "/v1/balances?owner=nobody", f->admin, NULL, NULL, &r);
  tl_expect_error(&r, 400, ERR_API_FIELD, "owner");
  tl_reply_free(&r);
  tl_call(&f->s, "GET", "/v1/balances?owner=fees", f->admin, NULL, NULL, &r);
  assert_string_equal(r.body, "{\"items\":[],\"next_cursor\":null}");
  tl_reply_free(&r);
  /* Pages of two: 2, 2, 1. */
  int seen = 0;
  char cursor[64] = "";
  for (int pages = 0; pages < 3; pages++) {
    snprintf(path, sizeof path, "/v1/balances?limit=2%s%s", cursor[0] ? "&cursor=" : "", cursor);
    tl_call(&f->s, "GET", path, f->admin, NULL, NULL, &r);
    yajl_val v = tl_json(&r);
    size_t n = tl_get(v, "items", NULL, NULL)->u.array.len;
    assert_int_equal(n, pages < 2 ? 2 : 1);
    seen += (int)n;
    yajl_val nc = tl_get(v, "next_cursor", NULL, NULL);
    snprintf(cursor, sizeof cursor, "%s", YAJL_IS_STRING(nc) ? YAJL_GET_STRING(nc) : "");
    assert_true(pages < 2 ? cursor[0] != '\0' : cursor[0] == '\0');
    yajl_tree_free(v);
    tl_reply_free(&r);
  }
  assert_int_equal(seen, 5);
}

static void test_books_check(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  post_books(f);
  tl_call_error(&f->s, "GET", "/v1/books/check", f->ap, NULL, NULL, 403, ERR_API_FORBIDDEN, NULL);
  const char *want =
      "{\"ok\":true,\"postings\":3,\"entries\":6,\"accounts\":5,\"counts\":{\"unbalanced\":0,"
      "\"entry_count\":0,\"asset_sum\":0,\"balance\":0,\"floor\":0,\"scale\":0,\"external\":0},"
      "\"totals\":[{\"asset\":\"cash:USD\",\"scale\":2,\"accounts\":3,\"entries\":4,"
      "\"held\":\"1520.50\",\"owed\":\"-1520.50\",\"net\":\"0.00\",\"entries_net\":\"0.00\"},"
      "{\"asset\":\"tokens:AAPLx\",\"scale\":18,\"accounts\":2,\"entries\":2,"
      "\"held\":\"5.000000000000000000\",\"owed\":\"-5.000000000000000000\","
      "\"net\":\"0.000000000000000000\",\"entries_net\":\"0.000000000000000000\"}],"
      "\"discrepancies\":[]}";
  const char *readers[] = {f->admin, f->auditor};
  for (int i = 0; i < 2; i++) {
    tl_call(&f->s, "GET", "/v1/books/check", readers[i], NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, want);
    tl_reply_free(&r);
  }
  /* Tamper with the custodian's stored balance: named exactly. */
  long long acct =
      tl_sql_int(&f->s, "SELECT id FROM books_accounts WHERE owner = 'custodian' AND asset = "
                        "'cash:USD'");
  ts_sql(f->s.conn, "UPDATE books_accounts SET balance = balance + 1 WHERE owner = 'custodian'");
  tl_call(&f->s, "GET", "/v1/books/check", f->auditor, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  char bad[2048];
  snprintf(bad, sizeof bad,
           "{\"ok\":false,\"postings\":3,\"entries\":6,\"accounts\":5,\"counts\":{"
           "\"unbalanced\":0,\"entry_count\":0,\"asset_sum\":1,\"balance\":1,\"floor\":0,"
           "\"scale\":0,\"external\":0},\"totals\":[{\"asset\":\"cash:USD\",\"scale\":2,"
           "\"accounts\":3,\"entries\":4,\"held\":\"1520.50\",\"owed\":\"-1519.50\","
           "\"net\":\"1.00\",\"entries_net\":\"0.00\"},{\"asset\":\"tokens:AAPLx\","
           "\"scale\":18,\"accounts\":2,\"entries\":2,\"held\":\"5.000000000000000000\","
           "\"owed\":\"-5.000000000000000000\",\"net\":\"0.000000000000000000\","
           "\"entries_net\":\"0.000000000000000000\"}],\"discrepancies\":[{\"issue\":"
           "\"asset_sum\",\"posting_id\":null,\"account_id\":null,\"owner\":\"\",\"asset\":"
           "\"cash:USD\",\"expected\":\"0.00\",\"actual\":\"1.00\",\"text\":\"(2) the "
           "balances of cash:USD over 3 accounts sum to 1.00, not 0.00\"},{\"issue\":\"balance\","
           "\"posting_id\":null,\"account_id\":%lld,\"owner\":\"custodian\",\"asset\":"
           "\"cash:USD\",\"expected\":\"-1520.50\",\"actual\":\"-1519.50\",\"text\":\"(3) "
           "account %lld (custodian cash:USD): stored balance -1519.50, its entries sum to "
           "-1520.50\"}]}",
           acct, acct);
  assert_string_equal(r.body, bad);
  tl_reply_free(&r);
}

/* The orders' hook runs too: a mint funded 10.00 with no posting is an "external" discrepancy. */
static void test_books_check_orders(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  char sql[1024], owner[32];
  snprintf(sql, sizeof sql,
           "INSERT INTO orders (kind, ap, instrument, wallet, quantity, limit_price, token_amount,"
           " multiplier, mint_policy, fee_flat, fee_rate, cash_required, cash_funded, state,"
           " session_date) VALUES ('mint', %lld, %lld,"
           " '0x00000000000000000000000000000000000000a1', 1, 10, 1, 1, 'at_fill', 0, 0, 10, 10,"
           " 'cash_received', current_date) RETURNING id",
           (long long)f->ap_id, aapl);
  tl_sql_int(&f->s, sql);
  tl_call(&f->s, "GET", "/v1/books/check", f->admin, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  yajl_val v = tl_json(&r);
  assert_true(YAJL_IS_FALSE(tl_get(v, "ok", NULL, NULL)));
  assert_int_equal(tl_int(v, "counts", "external", NULL), 1);
  assert_int_equal(tl_int(v, "counts", "balance", NULL), 0);
  yajl_val items = tl_get(v, "discrepancies", NULL, NULL);
  assert_int_equal(items->u.array.len, 1);
  yajl_val d = items->u.array.values[0];
  snprintf(owner, sizeof owner, "ap:%lld", (long long)f->ap_id);
  assert_string_equal(tl_str(d, "issue", NULL, NULL), "external");
  assert_string_equal(tl_str(d, "owner", NULL, NULL), owner);
  assert_string_equal(tl_str(d, "asset", NULL, NULL), "cash:USD");
  assert_string_equal(tl_str(d, "expected", NULL, NULL), "10.00");
  assert_string_equal(tl_str(d, "actual", NULL, NULL), "0.00");
  yajl_tree_free(v);
  tl_reply_free(&r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_limit_set, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_limit_list, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_balances, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_books_check, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_books_check_orders, setup, tl_fx_free),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
