/*
 * The fixture of the orders' API tests: api_orders_fx.h.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tests/api/api_orders_fx.h"

struct tl_fx afx;

int afx_setup(void **state)
{
  (void)state;
  tl_fx_start(&afx, "apiorders", true);
  afx_sql("INSERT INTO instruments (symbol, isin, token_symbol, token_decimals, mint_policy,"
          " burn_policy, min_order_qty, max_order_qty, fee_flat, fee_rate, market_open,"
          " market_close, cutoff, out_of_hours) VALUES ('AAPL', 'US0378331005', 'AAPLx', 18,"
          " 'at_settlement', 'on_receipt', 1, 1000, 5.00, 0.0025, '09:30', '16:00', '15:30',"
          " 'refuse'), ('TSLA', 'US88160R1014', 'TSLAx', 6, 'at_fill', 'at_payout', 0.5, 500, 0,"
          " 0.001, '09:30', '16:00', '15:45', 'queue')");
  afx_sql("UPDATE instruments SET multiplier = 3 WHERE symbol = 'TSLA'");
  afx_sql("INSERT INTO ap_wallets (ap, address) VALUES (%lld, '%s'), (%lld, '%s')",
          (long long)afx.ap_id, AFX_W1, (long long)afx.ap2_id, AFX_W2);
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

void afx_call(const char *method, const char *path, const char *key, const char *idem,
              const char *body, const char *header, struct tl_reply *r)
{
  tl_call_hdr(&afx.s, method, path, key, idem, header, body, r);
}

long long afx_rows(void)
{
  return afx_int("SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM order_events)"
                 " + (SELECT count(*) FROM cash_movements) + (SELECT count(*) FROM books_postings)"
                 " + (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM api_idempotency)"
                 " + (SELECT count(*) FROM chain_intents)");
}

void afx_post_refused(const char *path, const char *key, const char *idem, const char *body,
                      long status, int code, const char *hint)
{
  struct tl_reply r;
  long long rows = afx_rows();
  tl_call(&afx.s, "POST", path, key, idem, body, &r);
  tl_expect_error(&r, status, code, hint);
  tl_reply_free(&r);
  assert_int_equal(afx_rows(), rows);
}

static int64_t create(const char *path, const char *body, const char *idem)
{
  struct tl_reply r;
  tl_call(&afx.s, "POST", path, afx.ap, idem, body, &r);
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
