/*
 * The operators' alerts over real HTTP (api/api_admin_alerts_get.c,
 * api_admin_alert_ack_post.c, docs/alerts.md) on a fresh database per
 * test, seeded with one alert of each kind (the broker's through its
 * broker_alerts row and the migration's trigger): the list as exact JSON,
 * its ?kind= and ?open= filters and paging; an acknowledgement with its
 * note, audited once, replayed with its Idempotency-Key, refused a second
 * time (409), without a note (400), for an unknown id (404); only an
 * issuer admin acknowledges, an auditor reads, an AP does neither.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/api/api_testlib.h"

#define ISIN "US0378331005"

#define A1                                                                                         \
  "{\"id\":1,\"kind\":\"secure_mint\",\"ref\":\"7\",\"isin\":\"" ISIN "\",\"instrument\":1,"       \
  "\"symbol\":\"AAPL\",\"detail\":\"mint refused: reserves 10.000000 shares of " ISIN              \
  " would not cover 110.000000 shares of tokens\",\"raised\":\"2027-03-02T15:00:00.000Z\","        \
  "\"open\":true,\"acknowledged_by\":null,\"acknowledged_at\":null,\"note\":null}"
#define A2                                                                                         \
  "{\"id\":2,\"kind\":\"recon_break\",\"ref\":\"3\",\"isin\":\"" ISIN "\",\"instrument\":1,"       \
  "\"symbol\":\"AAPL\",\"detail\":\"booking break coverage:4 on " ISIN ": one share short\","      \
  "\"raised\":\"2027-03-02T16:00:00.250Z\",\"open\":true,\"acknowledged_by\":null,"                \
  "\"acknowledged_at\":null,\"note\":null}"
#define A3                                                                                         \
  "{\"id\":3,\"kind\":\"broker\",\"ref\":\"unknown_cl_ord_id:EX9\",\"isin\":null,"                 \
  "\"instrument\":null,\"symbol\":null,\"detail\":\"ExecutionReport 17=EX9 for no order of "       \
  "ours\","                                                                                        \
  "\"raised\":\"2027-03-02T17:00:00.000Z\",\"open\":true,\"acknowledged_by\":null,"                \
  "\"acknowledged_at\":null,\"note\":null}"

static void sql(struct tl_fx *f, const char *q)
{
  ts_sql(f->s.conn, q);
}

static int setup(void **state)
{
  struct tl_fx *f = tl_fx_new(state, "apialerts", false);
  sql(f, "INSERT INTO instruments (symbol, isin, token_symbol, token_decimals, mint_policy,"
         " burn_policy, min_order_qty, max_order_qty, market_open, market_close, cutoff,"
         " out_of_hours) VALUES ('AAPL', '" ISIN "', 'AAPLx', 18, 'at_settlement', 'on_receipt',"
         " 1, 1000, '09:30', '16:00', '15:30', 'refuse')");
  sql(f, "INSERT INTO alerts (kind, ref, isin, instrument, detail, raised) VALUES"
         " ('secure_mint', '7', '" ISIN "', 1, 'mint refused: reserves 10.000000 shares of " ISIN
         " would not cover 110.000000 shares of tokens', '2027-03-02 15:00:00+00'),"
         " ('recon_break', '3', '" ISIN "', 1, 'booking break coverage:4 on " ISIN
         ": one share short', '2027-03-02 16:00:00.25+00')");
  sql(f, "INSERT INTO broker_alerts (kind, ref, detail, created_at) VALUES ('unknown_cl_ord_id',"
         " 'EX9', 'ExecutionReport 17=EX9 for no order of ours', '2027-03-02 17:00:00+00')");
  /* the connector's repeated alert: no second row, so none here either */
  sql(f, "INSERT INTO broker_alerts (kind, ref, detail) VALUES ('unknown_cl_ord_id', 'EX9',"
         " 'again') ON CONFLICT (kind, ref) DO NOTHING");
  return 0;
}

/* GET @path as @key: 200 and exactly @want. */
static void get_is(struct tl_fx *f, const char *path, const char *key, const char *want)
{
  struct tl_reply r;
  tl_call(&f->s, "GET", path, key, NULL, NULL, &r);
  if (r.status != 200 || strcmp(r.body, want) != 0)
    fail_msg("GET %s: %ld %s\n  want %s", path, r.status, r.body, want);
  tl_reply_free(&r);
}

#define PAGE(items) "{\"items\":[" items "],\"next_cursor\":null}"

/* The time of alert @id's acknowledgement as the API writes it. */
static char *ack_time(struct tl_fx *f, int id)
{
  char q[256];
  snprintf(q, sizeof q,
           "SELECT to_char(acknowledged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
           " FROM alerts WHERE id = %d",
           id);
  char *v = ts_sql_value(f->s.conn, q);
  assert_non_null(v);
  return v;
}

static void test_list(void **state)
{
  struct tl_fx *f = *state;
  get_is(f, "/v1/admin/alerts", f->admin, PAGE(A1 "," A2 "," A3));
  get_is(f, "/v1/admin/alerts", f->auditor, PAGE(A1 "," A2 "," A3));
  get_is(f, "/v1/admin/alerts?kind=secure_mint", f->admin, PAGE(A1));
  get_is(f, "/v1/admin/alerts?kind=recon_break", f->auditor, PAGE(A2));
  get_is(f, "/v1/admin/alerts?kind=broker", f->admin, PAGE(A3));
  get_is(f, "/v1/admin/alerts?open=true", f->admin, PAGE(A1 "," A2 "," A3));
  get_is(f, "/v1/admin/alerts?open=false", f->admin, PAGE());
  get_is(f, "/v1/admin/alerts?open=true&kind=broker", f->admin, PAGE(A3));
  /* paging: two, then the last */
  struct tl_reply r;
  tl_call(&f->s, "GET", "/v1/admin/alerts?limit=2", f->admin, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  yajl_val v = tl_json(&r);
  yajl_val items = tl_get(v, "items", NULL, NULL);
  assert_int_equal(YAJL_GET_ARRAY(items)->len, 2);
  char cursor[API_CURSOR_MAX], path[128];
  snprintf(cursor, sizeof cursor, "%s", tl_str(v, "next_cursor", NULL, NULL));
  yajl_tree_free(v);
  tl_reply_free(&r);
  char want[API_CURSOR_MAX];
  api_cursor_encode(2, want);
  assert_string_equal(cursor, want);
  snprintf(path, sizeof path, "/v1/admin/alerts?limit=2&cursor=%s", cursor);
  get_is(f, path, f->admin, PAGE(A3));
  /* bad filters */
  tl_call_error(&f->s, "GET", "/v1/admin/alerts?kind=nope", f->admin, NULL, NULL, 400,
                ERR_API_FIELD, "?kind=");
  tl_call_error(&f->s, "GET", "/v1/admin/alerts?open=yes", f->admin, NULL, NULL, 400, ERR_API_FIELD,
                "?open=");
  tl_call_error(&f->s, "GET", "/v1/admin/alerts?cursor=zz!", f->admin, NULL, NULL, 400,
                ERR_API_BAD_CURSOR, NULL);
  /* roles */
  tl_call_error(&f->s, "GET", "/v1/admin/alerts", f->ap, NULL, NULL, 403, ERR_API_FORBIDDEN, NULL);
  tl_call_error(&f->s, "GET", "/v1/admin/alerts", NULL, NULL, NULL, 401, ERR_API_UNAUTHORIZED,
                NULL);
}

static void test_acknowledge(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  const char *body = "{\"note\": \"reserves topped up\"}";
  long long audits = tl_sql_int(&f->s, "SELECT count(*) FROM audit_log");
  tl_call(&f->s, "POST", "/v1/admin/alerts/1/acknowledge", f->admin, "ack-1", body, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.replayed, "");
  char *at = ack_time(f, 1);
  char want[2048], acked[1024];
  snprintf(acked, sizeof acked,
           "{\"id\":1,\"kind\":\"secure_mint\",\"ref\":\"7\",\"isin\":\"" ISIN "\","
           "\"instrument\":1,\"symbol\":\"AAPL\",\"detail\":\"mint refused: reserves 10.000000"
           " shares of " ISIN " would not cover 110.000000 shares of tokens\",\"raised\":"
           "\"2027-03-02T15:00:00.000Z\",\"open\":false,\"acknowledged_by\":%lld,"
           "\"acknowledged_at\":\"%s\",\"note\":\"reserves topped up\"}",
           (long long)f->admin_id, at);
  snprintf(want, sizeof want, "{\"alert\":%s}", acked);
  assert_string_equal(r.body, want);
  tl_reply_free(&r);
  /* the acknowledgement is now (the business clock), by the admin, audited once */
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM alerts WHERE id = 1 AND"
                                     " acknowledged_at BETWEEN clock_now() - interval '1 minute'"
                                     " AND clock_now()"),
                   1);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM audit_log"), audits + 1);
  tl_audit_has(&f->s, audits + 1, f->admin_id, "alert.acknowledge", "alert:1",
               "{\"note\":\"reserves topped up\"}");
  /* the lists */
  char page[4096];
  snprintf(page, sizeof page, PAGE("%s"), acked);
  get_is(f, "/v1/admin/alerts?open=false", f->auditor, page);
  get_is(f, "/v1/admin/alerts?open=true", f->admin, PAGE(A2 "," A3));
  /* replay: the stored reply, nothing done twice */
  tl_call(&f->s, "POST", "/v1/admin/alerts/1/acknowledge", f->admin, "ack-1", body, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.replayed, "true");
  assert_string_equal(r.body, want);
  tl_reply_free(&r);
  char *again = ack_time(f, 1);
  assert_string_equal(again, at);
  free(again);
  free(at);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM audit_log"), audits + 1);
  /* the same key with another body; another key: already acknowledged */
  tl_call_error(&f->s, "POST", "/v1/admin/alerts/1/acknowledge", f->admin, "ack-1",
                "{\"note\": \"other\"}", 409, ERR_API_IDEMPOTENCY_CONFLICT, NULL);
  tl_call_error(&f->s, "POST", "/v1/admin/alerts/1/acknowledge", f->admin, "ack-2",
                "{\"note\": \"twice\"}", 409, ERR_API_CONFLICT, "already acknowledged");
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM audit_log"), audits + 1);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM alerts WHERE note = 'reserves"
                                     " topped up' AND acknowledged_by IS NOT NULL"),
                   1);
}

static void test_refused(void **state)
{
  struct tl_fx *f = *state;
  const char *p = "/v1/admin/alerts/2/acknowledge";
  long long audits = tl_sql_int(&f->s, "SELECT count(*) FROM audit_log");
  /* the note is required, 1-500 bytes */
  tl_call_error(&f->s, "POST", p, f->admin, "n-1", "{}", 400, ERR_API_FIELD, "note");
  tl_call_error(&f->s, "POST", p, f->admin, "n-2", "", 400, ERR_API_FIELD, "note");
  tl_call_error(&f->s, "POST", p, f->admin, "n-3", "{\"note\": \"\"}", 400, ERR_API_FIELD, "note");
  tl_call_error(&f->s, "POST", p, f->admin, "n-4", "{\"note\": 5}", 400, ERR_API_FIELD, "note");
  char big[700];
  memset(big, 0, sizeof big);
  memcpy(big, "{\"note\": \"", 10);
  memset(big + 10, 'x', 501);
  memcpy(big + 511, "\"}", 2);
  tl_call_error(&f->s, "POST", p, f->admin, "n-5", big, 400, ERR_API_FIELD, "note");
  tl_call_error(&f->s, "POST", p, f->admin, "n-6", "{\"note\": \"ok\", \"by\": 1}", 400,
                ERR_API_UNKNOWN_FIELD, NULL);
  /* no Idempotency-Key */
  tl_call_error(&f->s, "POST", p, f->admin, NULL, "{\"note\": \"ok\"}", 400,
                ERR_API_IDEMPOTENCY_REQUIRED, NULL);
  /* unknown ids */
  tl_call_error(&f->s, "POST", "/v1/admin/alerts/99/acknowledge", f->admin, "u-1",
                "{\"note\": \"x\"}", 404, ERR_API_NOT_FOUND, "no such alert");
  tl_call_error(&f->s, "POST", "/v1/admin/alerts/abc/acknowledge", f->admin, "u-2",
                "{\"note\": \"x\"}", 404, ERR_API_NOT_FOUND, NULL);
  tl_call_error(&f->s, "POST", "/v1/admin/alerts/0/acknowledge", f->admin, "u-3",
                "{\"note\": \"x\"}", 404, ERR_API_NOT_FOUND, NULL);
  /* roles: only an issuer admin */
  tl_call_error(&f->s, "POST", p, f->auditor, "r-1", "{\"note\": \"x\"}", 403, ERR_API_FORBIDDEN,
                NULL);
  tl_call_error(&f->s, "POST", p, f->ap, "r-2", "{\"note\": \"x\"}", 403, ERR_API_FORBIDDEN, NULL);
  tl_call_error(&f->s, "POST", p, NULL, "r-3", "{\"note\": \"x\"}", 401, ERR_API_UNAUTHORIZED,
                NULL);
  /* nothing changed */
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM alerts WHERE acknowledged_at IS NULL"
                                     " AND acknowledged_by IS NULL AND note IS NULL"),
                   3);
  assert_int_equal(tl_sql_int(&f->s, "SELECT count(*) FROM audit_log"), audits);
  get_is(f, "/v1/admin/alerts", f->admin, PAGE(A1 "," A2 "," A3));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_list, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_acknowledge, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_refused, setup, tl_fx_free),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
