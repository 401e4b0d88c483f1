/*
 * The fixture of the orders' API tests: api_orders_fx.h.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "tests/api/api_orders_fx.h"

struct afx afx;

int afx_setup(void **state)
{
  (void)state;
  memset(&afx, 0, sizeof afx);
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  tl_server_start("apiorders", &afx.s);
  afx.admin_id = tl_principal(&afx.s, "Ops", API_ROLE_ISSUER_ADMIN, afx.admin);
  afx.ap1_id = tl_principal(&afx.s, "AP One", API_ROLE_AP, afx.ap1);
  afx.ap2_id = tl_principal(&afx.s, "AP Two", API_ROLE_AP, afx.ap2);
  afx.auditor_id = tl_principal(&afx.s, "Audit", API_ROLE_AUDITOR, afx.auditor);
  afx_sql("INSERT INTO instruments (symbol, isin, token_symbol, token_decimals, mint_policy,"
          " burn_policy, min_order_qty, max_order_qty, fee_flat, fee_rate, market_open,"
          " market_close, cutoff, out_of_hours) VALUES ('AAPL', 'US0378331005', 'AAPLx', 18,"
          " 'at_settlement', 'on_receipt', 1, 1000, 5.00, 0.0025, '09:30', '16:00', '15:30',"
          " 'refuse'), ('TSLA', 'US88160R1014', 'TSLAx', 6, 'at_fill', 'at_payout', 0.5, 500, 0,"
          " 0.001, '09:30', '16:00', '15:45', 'queue')");
  afx_sql("UPDATE instruments SET multiplier = 3 WHERE symbol = 'TSLA'");
  afx_sql("INSERT INTO ap_wallets (ap, address) VALUES (%lld, '%s'), (%lld, '%s')",
          (long long)afx.ap1_id, AFX_W1, (long long)afx.ap2_id, AFX_W2);
  /* 2025-07-01T18:00:00Z: 14:00 EDT, a Tuesday. */
  afx_sql("UPDATE clock SET anchor_wall = clock_timestamp(), speed = 1,"
          " anchor_virtual = '2025-07-01T18:00:00Z'");
  return 0;
}

int afx_teardown(void **state)
{
  (void)state;
  tl_server_stop(&afx.s);
  return 0;
}

void afx_sql(const char *fmt, ...)
{
  char sql[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sql, sizeof sql, fmt, ap);
  va_end(ap);
  ts_sql(afx.s.conn, sql);
}

long long afx_int(const char *fmt, ...)
{
  char sql[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sql, sizeof sql, fmt, ap);
  va_end(ap);
  return tl_sql_int(&afx.s, sql);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *cls)
{
  struct tl_reply *r = cls;
  size_t n = size * nmemb;
  if (r->len + n > TL_BODY_CAP)
    return 0;
  memcpy(r->body + r->len, data, n);
  r->len += n;
  r->body[r->len] = '\0';
  return n;
}

void afx_call(const char *method, const char *path, const char *key, const char *idem,
              const char *body, const char *header, struct tl_reply *r)
{
  if (header == NULL) {
    tl_call(&afx.s, method, path, key, idem, body, r);
    return;
  }
  char url[1024], hdr[1024];
  struct curl_slist *hl = NULL;
  memset(r, 0, sizeof *r);
  r->body = malloc(TL_BODY_CAP + 1);
  assert_non_null(r->body);
  r->body[0] = '\0';
  CURL *h = curl_easy_init();
  assert_non_null(h);
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", afx.s.port, path);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", key);
  hl = curl_slist_append(hl, hdr);
  snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", idem);
  hl = curl_slist_append(hl, hdr);
  hl = curl_slist_append(hl, header);
  hl = curl_slist_append(hl, "Expect:");
  hl = curl_slist_append(hl, "Content-Type: application/json");
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
  (void)method; /* POST: the only method with a body here */
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
  CURLcode cc = curl_easy_perform(h);
  curl_slist_free_all(hl);
  if (cc != CURLE_OK)
    fail_msg("no HTTP answer to %s: %s", url, curl_easy_strerror(cc));
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_cleanup(h);
}

long long afx_rows(void)
{
  return afx_int("SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM order_events)"
                 " + (SELECT count(*) FROM cash_movements) + (SELECT count(*) FROM books_postings)"
                 " + (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM api_idempotency)"
                 " + (SELECT count(*) FROM chain_intents)");
}

static int64_t create(const char *path, const char *body, const char *idem)
{
  struct tl_reply r;
  tl_call(&afx.s, "POST", path, afx.ap1, idem, body, &r);
  if (r.status != 201)
    fail_msg("POST %s: %ld %s", path, r.status, r.body);
  yajl_val v = tl_json(&r);
  int64_t id = tl_int(v, "order", "id", NULL);
  yajl_tree_free(v);
  tl_reply_free(&r);
  return id;
}

int64_t afx_mint(const char *idem)
{
  return create("/v1/orders/mint",
                "{\"symbol\":\"AAPL\",\"quantity\":\"10\",\"limit_price\":\"200.123456\","
                "\"wallet\":\"" AFX_W1 "\"}",
                idem);
}

int64_t afx_redeem(const char *idem)
{
  return create("/v1/orders/redeem",
                "{\"symbol\":\"AAPL\",\"quantity\":\"10\",\"wallet\":\"" AFX_W1 "\"}", idem);
}
