/*
 * Cash and cancel over real HTTP (api/api_admin_order_funding_post.c,
 * api_admin_order_payouts_post.c, api_order_cancel_post.c): funding with
 * its movement, the move to cash_received and its audit record; the same
 * bank reference replayed under a new Idempotency-Key (200, nothing
 * changed) or reused (409); refunds limited (422) and complete; a
 * redeem's payout in the wrong state (409); bad bodies (zero, negative,
 * over-precise, numbers, unknown fields, long references); cancel by the
 * AP (own only), by the admin (audited), of a working broker order
 * (cancel_requested) and of a final order (409).
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance.h"
#include "tests/api/api_orders_fx.h"

/* POST that must answer @status: the reply's JSON (free it). */
static yajl_val post_ok(const char *path, const char *key, const char *idem, const char *body,
                        long status, struct tl_reply *r)
{
  tl_call(&afx.s, "POST", path, key, idem, body, r);
  if (r->status != status)
    fail_msg("POST %s: want %ld, got %ld: %s", path, status, r->status, r->body);
  return tl_json(r);
}

static void test_funding(void **state)
{
  (void)state;
  struct tl_reply r;
  char p[96], want[512];
  int64_t id = afx_mint("m1");
  snprintf(p, sizeof p, "/v1/admin/orders/%lld/funding", (long long)id);
  yajl_val v =
      post_ok(p, afx.admin, "f1", "{\"amount\":\"1000.25\",\"bank_ref\":\"STMT 1/7\"}", 201, &r);
  assert_string_equal(tl_str(v, "order", "state", NULL), "awaiting_cash");
  assert_string_equal(tl_str(v, "order", "cash_funded", NULL), "1000.25");
  assert_string_equal(tl_str(v, "order", "cash_due", NULL), "1000.25");
  long long mid = tl_int(v, "movement", "id", NULL);
  snprintf(want, sizeof want,
           "{\"id\":%lld,\"order_id\":%lld,\"kind\":\"funding\",\"amount\":\"1000.25\","
           "\"bank_ref\":\"STMT 1/7\",\"recorded_by\":%lld,\"at\":\"%s\"}",
           mid, (long long)id, (long long)afx.admin_id, tl_str(v, "movement", "at", NULL));
  assert_non_null(strstr(r.body, want));
  yajl_tree_free(v);
  tl_reply_free(&r);
  assert_int_equal(afx_int("SELECT count(*) FROM audit_log WHERE action = 'order.funding' AND"
                           " target = 'order:%lld'",
                           (long long)id),
                   1);
  assert_int_equal(afx_int("SELECT balance * 100 FROM books_accounts WHERE owner = 'ap:%lld'",
                           (long long)afx.ap_id),
                   100025);
  /* The same statement line under a new key: 200, the same movement, nothing written but the key.
   */
  long long rows = afx_rows();
  v = post_ok(p, afx.admin, "f2", "{\"amount\":\"1000.25\",\"bank_ref\":\"STMT 1/7\"}", 200, &r);
  assert_int_equal(tl_int(v, "movement", "id", NULL), mid);
  yajl_tree_free(v);
  tl_reply_free(&r);
  assert_int_equal(afx_rows(), rows + 1); /* the idempotency record */
  /* Another amount under that reference: 409. */
  afx_post_refused(p, afx.admin, "f3", "{\"amount\":\"1000.26\",\"bank_ref\":\"STMT 1/7\"}", 409,
                   ERR_API_CONFLICT, "bank_ref");
  /* Bad bodies. */
  static const char *const bad[] = {
      "{\"amount\":\"0\",\"bank_ref\":\"B\"}",
      "{\"amount\":\"-1\",\"bank_ref\":\"B\"}",
      "{\"amount\":\"1.001\",\"bank_ref\":\"B\"}",
      "{\"amount\":1,\"bank_ref\":\"B\"}",
      "{\"amount\":\"1e2\",\"bank_ref\":\"B\"}",
      "{\"amount\":\"1\"}",
      "{\"amount\":\"1\",\"bank_ref\":\"\"}",
      "{\"amount\":\"1\",\"bank_ref\":\"12345678901234567890123456789012345678901234567890123456789"
      "0123456\"}",
      "{\"amount\":\"99999999999999999999999999999999999999999\",\"bank_ref\":\"B\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    afx_post_refused(p, afx.admin, "f4", bad[i], 400, ERR_API_FIELD, NULL);
  afx_post_refused(p, afx.admin, "f4", "{\"amount\":\"1\",\"bank_ref\":\"B\",\"order\":1}", 400,
                   ERR_API_UNKNOWN_FIELD, "order");
  afx_post_refused(p, afx.admin, "f4", "{\"amount\":\"1\",", 400, ERR_API_BAD_JSON, NULL);
  afx_post_refused("/v1/admin/orders/999999/funding", afx.admin, "f4",
                   "{\"amount\":\"1\",\"bank_ref\":\"B\"}", 404, ERR_ORDER_NOT_FOUND, NULL);
  /* Out of range for the column: 422, nothing written. */
  afx_post_refused(p, afx.admin, "f4", "{\"amount\":\"999999999999999999.99\",\"bank_ref\":\"B\"}",
                   422, ERR_ORDER_CASH, NULL);
  /* The rest: cash_received. SQL metacharacters in the reference are kept. */
  v = post_ok(p, afx.admin, "f5",
              "{\"amount\":\"1011\",\"bank_ref\":\"x'); DROP TABLE orders;--\"}", 201, &r);
  assert_string_equal(tl_str(v, "order", "state", NULL), "cash_received");
  assert_string_equal(tl_str(v, "movement", "bank_ref", NULL), "x'); DROP TABLE orders;--");
  yajl_tree_free(v);
  tl_reply_free(&r);
  /* A redeem takes no funding. */
  int64_t rid = afx_redeem("m2");
  snprintf(p, sizeof p, "/v1/admin/orders/%lld/funding", (long long)rid);
  afx_post_refused(p, afx.admin, "f6", "{\"amount\":\"1\",\"bank_ref\":\"B9\"}", 409,
                   ERR_ORDER_STATE, NULL);
}

static void test_refund_cancel(void **state)
{
  (void)state;
  struct tl_reply r;
  char f[96], pay[96], c[96];
  int64_t id = afx_mint("m1");
  snprintf(f, sizeof f, "/v1/admin/orders/%lld/funding", (long long)id);
  snprintf(pay, sizeof pay, "/v1/admin/orders/%lld/payouts", (long long)id);
  snprintf(c, sizeof c, "/v1/orders/%lld/cancel", (long long)id);
  yajl_val v = post_ok(f, afx.admin, "f1", "{\"amount\":\"2100\",\"bank_ref\":\"IN-1\"}", 201, &r);
  yajl_tree_free(v);
  tl_reply_free(&r);
  /* Before the fills only the excess (88.75) may go back; a payout is for redeems. */
  afx_post_refused(pay, afx.admin, "p1",
                   "{\"kind\":\"refund\",\"amount\":\"88.76\",\"bank_ref\":\"O1\"}", 422,
                   ERR_ORDER_CASH, NULL);
  afx_post_refused(pay, afx.admin, "p1",
                   "{\"kind\":\"payout\",\"amount\":\"1\",\"bank_ref\":\"O1\"}", 400, ERR_API_FIELD,
                   "refund");
  afx_post_refused(pay, afx.admin, "p1",
                   "{\"kind\":\"bonus\",\"amount\":\"1\",\"bank_ref\":\"O1\"}", 400, ERR_API_FIELD,
                   "kind");
  v = post_ok(pay, afx.admin, "p2",
              "{\"kind\":\"refund\",\"amount\":\"88.75\",\"bank_ref\":\"O1\"}", 201, &r);
  assert_string_equal(tl_str(v, "movement", "kind", NULL), "refund");
  assert_string_equal(tl_str(v, "order", "cash_due", NULL), "2011.25");
  yajl_tree_free(v);
  tl_reply_free(&r);
  /* Another AP cannot cancel it; its AP can, with a reason; not audited (not an admin). */
  afx_post_refused(c, afx.ap2, "c1", "{}", 404, ERR_ORDER_NOT_FOUND, NULL);
  afx_post_refused(c, afx.ap, "c1", "{\"reason\":\"\"}", 400, ERR_API_FIELD, "reason");
  afx_post_refused(c, afx.ap, "c1", "{\"why\":\"x\"}", 400, ERR_API_UNKNOWN_FIELD, "why");
  long long audits = afx_int("SELECT count(*) FROM audit_log");
  v = post_ok(c, afx.ap, "c2", "{\"reason\":\"changed my mind\"}", 200, &r);
  assert_string_equal(tl_str(v, "order", "state", NULL), "cancelled");
  yajl_tree_free(v);
  tl_reply_free(&r);
  assert_int_equal(afx_int("SELECT count(*) FROM audit_log"), audits);
  assert_int_equal(afx_int("SELECT count(*) FROM order_events WHERE order_id = %lld AND"
                           " to_state = 'cancelled' AND actor = 'api:%lld' AND"
                           " detail->>'reason' = 'changed my mind'",
                           (long long)id, (long long)afx.ap_id),
                   1);
  /* Cancelled again: 409. */
  afx_post_refused(c, afx.admin, "c3", "{}", 409, ERR_ORDER_STATE, NULL);
  /* Now the whole cash due goes back, and not a cent more. */
  afx_post_refused(pay, afx.admin, "p3",
                   "{\"kind\":\"refund\",\"amount\":\"2011.26\",\"bank_ref\":\"O2\"}", 422,
                   ERR_ORDER_CASH, NULL);
  v = post_ok(pay, afx.admin, "p4",
              "{\"kind\":\"refund\",\"amount\":\"2011.25\",\"bank_ref\":\"O2\"}", 201, &r);
  assert_string_equal(tl_str(v, "order", "cash_due", NULL), "0.00");
  assert_string_equal(tl_str(v, "order", "cash_paid", NULL), "2100.00");
  yajl_tree_free(v);
  tl_reply_free(&r);
  assert_int_equal(afx_int("SELECT count(*) FROM audit_log WHERE action = 'order.refund'"), 2);
  assert_int_equal(afx_int("SELECT count(*) FROM books_accounts WHERE balance <> 0"), 0);
}

static void test_payout(void **state)
{
  (void)state;
  char pay[96];
  int64_t id = afx_redeem("r1");
  snprintf(pay, sizeof pay, "/v1/admin/orders/%lld/payouts", (long long)id);
  afx_post_refused(pay, afx.admin, "p1",
                   "{\"kind\":\"payout\",\"amount\":\"1\",\"bank_ref\":\"P1\"}", 409,
                   ERR_ORDER_STATE, NULL);
  afx_post_refused(pay, afx.admin, "p1",
                   "{\"kind\":\"refund\",\"amount\":\"1\",\"bank_ref\":\"P1\"}", 400, ERR_API_FIELD,
                   "payout");
  /* As the engine leaves it: sold for 1500.00, fee 8.75, payout_submitted. */
  afx_sql("UPDATE orders SET state = 'payout_submitted', filled_qty = quantity, fill_cash = 1500,"
          " fee = 8.75 WHERE id = %lld",
          (long long)id);
  struct books_entry e1[] = {{"broker", "cash:USD", {-150000, 2}}, {NULL, "cash:USD", {150000, 2}}};
  struct books_entry e2[] = {{NULL, "cash:USD", {-875, 2}}, {"fees", "cash:USD", {875, 2}}};
  char owner[32], ref[32];
  snprintf(owner, sizeof owner, "ap:%lld", (long long)afx.ap_id);
  snprintf(ref, sizeof ref, "order:%lld", (long long)id);
  e1[1].owner = owner;
  e2[0].owner = owner;
  struct books_posting p1 = {"t-fill", ref, NULL, 0, e1, 2}, p2 = {"t-fee", ref, NULL, 0, e2, 2};
  assert_int_equal(books_post_txn(afx.s.conn, &p1, NULL), 0);
  assert_int_equal(books_post_txn(afx.s.conn, &p2, NULL), 0);
  afx_post_refused(pay, afx.admin, "p2",
                   "{\"kind\":\"payout\",\"amount\":\"1491.26\",\"bank_ref\":\"P1\"}", 422,
                   ERR_ORDER_CASH, NULL);
  struct tl_reply r;
  yajl_val v = post_ok(pay, afx.admin, "p3",
                       "{\"kind\":\"payout\",\"amount\":\"1491.25\",\"bank_ref\":\"P1\"}", 201, &r);
  assert_string_equal(tl_str(v, "order", "state", NULL), "completed");
  assert_string_equal(tl_str(v, "order", "cash_due", NULL), "0.00");
  yajl_tree_free(v);
  tl_reply_free(&r);
  assert_int_equal(afx_int("SELECT count(*) FROM audit_log WHERE action = 'order.payout'"), 1);
  assert_int_equal(afx_int("SELECT count(*) FROM order_events WHERE order_id = %lld AND"
                           " to_state IN ('paid', 'completed')",
                           (long long)id),
                   2);
}

static void test_cancel_admin(void **state)
{
  (void)state;
  struct tl_reply r;
  char c[96];
  /* The admin cancels an AP's order: audited with the states. */
  int64_t a = afx_mint("m1");
  snprintf(c, sizeof c, "/v1/orders/%lld/cancel", (long long)a);
  yajl_val v = post_ok(c, afx.admin, "c1", "", 200, &r);
  assert_string_equal(tl_str(v, "order", "state", NULL), "cancelled");
  yajl_tree_free(v);
  tl_reply_free(&r);
  assert_int_equal(afx_int("SELECT count(*) FROM audit_log WHERE action = 'order.cancel' AND"
                           " target = 'order:%lld' AND details = '{\"from_state\":"
                           "\"awaiting_cash\",\"reason\":null,\"to_state\":\"cancelled\"}'",
                           (long long)a),
                   1);
  /* With a broker order working: cancel_requested, the flag set. */
  int64_t b = afx_mint("m2");
  afx_sql("UPDATE orders SET state = 'broker_submitted' WHERE id = %lld", (long long)b);
  snprintf(c, sizeof c, "/v1/orders/%lld/cancel", (long long)b);
  v = post_ok(c, afx.ap, "c2", "{}", 200, &r);
  assert_string_equal(tl_str(v, "order", "state", NULL), "cancel_requested");
  assert_true(YAJL_IS_TRUE(tl_get(v, "order", "cancel_requested", NULL)));
  yajl_tree_free(v);
  tl_reply_free(&r);
  /* Replayed: the stored reply. */
  tl_call(&afx.s, "POST", c, afx.ap, "c2", "{}", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.replayed, "true");
  tl_reply_free(&r);
  /* A filled order: 409. */
  int64_t d = afx_mint("m3");
  afx_sql("UPDATE orders SET state = 'filled' WHERE id = %lld", (long long)d);
  snprintf(c, sizeof c, "/v1/orders/%lld/cancel", (long long)d);
  afx_post_refused(c, afx.admin, "c3", "{}", 409, ERR_ORDER_STATE, NULL);
  /* A redeem awaiting tokens: cancelled at once. */
  int64_t e = afx_redeem("m4");
  snprintf(c, sizeof c, "/v1/orders/%lld/cancel", (long long)e);
  v = post_ok(c, afx.ap, "c4", "{}", 200, &r);
  assert_string_equal(tl_str(v, "order", "state", NULL), "cancelled");
  yajl_tree_free(v);
  tl_reply_free(&r);
  afx_post_refused("/v1/orders/0/cancel", afx.admin, "c5", "{}", 404, ERR_ORDER_NOT_FOUND, NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_funding, afx_setup, afx_teardown),
      cmocka_unit_test_setup_teardown(test_refund_cancel, afx_setup, afx_teardown),
      cmocka_unit_test_setup_teardown(test_payout, afx_setup, afx_teardown),
      cmocka_unit_test_setup_teardown(test_cancel_admin, afx_setup, afx_teardown),
  };
  return cmocka_run_group_tests_name("api_orders_cash", tests, NULL, NULL);
}
