/*
 * Wallets and signing keys over real HTTP (api/api_participants_*.c):
 * add, list and revoke with the exact JSON and audit records; an AP sees
 * its own rows only and another AP's key answers 404; every wrong role
 * 403; malformed bodies, unknown fields, bad addresses and keys 400;
 * taken addresses and keys 409; a replayed Idempotency-Key gives the
 * first reply, with another body 409; and nothing changes on a refusal
 * (rows and audit records counted before and after).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tests/api/api_testlib.h"

static int setup(void **state)
{
  tl_fx_new(state, "apipart", true);
  return 0;
}

/* A call that must answer @status with exactly @want (when not NULL). */
static void call_exact(struct tl_fx *f, const char *method, const char *path, const char *key,
                       const char *idem, const char *body, long status, const char *want)
{
  struct tl_reply r;
  tl_call(&f->s, method, path, key, idem, body, &r);
  if (r.status != status)
    fail_msg("%s %s: want %ld, got %ld %s", method, path, status, r.status, r.body);
  if (want != NULL)
    assert_string_equal(r.body, want);
  tl_reply_free(&r);
}

#define ADDR1 "0x00000000000000000000000000000000000000a1"
#define ADDR2 "0x00000000000000000000000000000000000000a2"

/* ------------------------------------------------------------------ */
/* Wallets                                                             */
/* ------------------------------------------------------------------ */

/*
 * The JSON of a wallet (@name "address") or a signing key (@name
 * "public_key", @value its base64); @revoked NULL: not revoked.
 */
static void row_json(char *out, size_t size, long long id, int64_t ap, const char *name,
                     const char *value, const char *label, const char *created, const char *revoked)
{
  char rv[64];
  if (revoked != NULL)
    snprintf(rv, sizeof rv, "\"%s\"", revoked);
  else
    snprintf(rv, sizeof rv, "null");
  snprintf(out, size,
           "{\"id\":%lld,\"ap\":%lld,\"%s\":\"%s\",\"label\":\"%s\",\"created\":\"%s\","
           "\"revoked_at\":%s}",
           id, (long long)ap, name, value, label, created, rv);
}

static void wallet_json(char *out, size_t size, long long id, int64_t ap, const char *addr,
                        const char *label, const char *created, const char *revoked)
{
  row_json(out, size, id, ap, "address", addr, label, created, revoked);
}

static void test_wallet_add(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r, r2;
  char path[128], want[1024], w[512], sql[256], details[256], target[64];
  long long audits = tl_count(&f->s, "audit_log");
  snprintf(path, sizeof path, "/v1/admin/aps/%lld/wallets", (long long)f->ap_id);
  const char *body =
      "{\"address\":\"0xABCDEF0123456789abcdef0123456789ABCDEF01\",\"label\":\"desk\"}";
  tl_call(&f->s, "POST", path, f->admin, "w1", body, &r);
  assert_int_equal(r.status, 201);
  yajl_val v = tl_json(&r);
  long long id = tl_int(v, "wallet", "id", NULL);
  wallet_json(w, sizeof w, id, f->ap_id, "0xabcdef0123456789abcdef0123456789abcdef01", "desk",
              tl_str(v, "wallet", "created", NULL), NULL);
  snprintf(want, sizeof want, "{\"wallet\":%s}", w);
  assert_string_equal(r.body, want);
  yajl_tree_free(v);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM ap_wallets WHERE id = %lld AND ap = %lld AND address = "
           "'0xabcdef0123456789abcdef0123456789abcdef01' AND label = 'desk' AND revoked_at IS NULL",
           id, (long long)f->ap_id);
  assert_int_equal(tl_sql_int(&f->s, sql), 1);
  snprintf(details, sizeof details,
           "{\"address\":\"0xabcdef0123456789abcdef0123456789abcdef01\",\"ap\":%lld,"
           "\"label\":\"desk\"}",
           (long long)f->ap_id);
  snprintf(target, sizeof target, "wallet:%lld", id);
  tl_audit_has(&f->s, audits + 1, f->admin_id, "wallet.add", target, details);

  /* Replay: the same reply, flagged; another body under the key: 409. */
  tl_call(&f->s, "POST", path, f->admin, "w1", body, &r2);
  assert_int_equal(r2.status, 201);
  assert_string_equal(r2.replayed, "true");
  assert_string_equal(r2.body, r.body);
  tl_reply_free(&r2);
  tl_call_error(&f->s, "POST", path, f->admin, "w1", "{\"address\":\"" ADDR1 "\"}", 409,
                ERR_API_IDEMPOTENCY_CONFLICT, NULL);
  tl_reply_free(&r);

  /* Refusals: nothing changes. */
  long long wallets = tl_count(&f->s, "ap_wallets");
  audits = tl_count(&f->s, "audit_log");
  const char *ok = "{\"address\":\"" ADDR1 "\"}";
  tl_call_error(&f->s, "POST", path, f->ap, "w2", ok, 403, ERR_API_FORBIDDEN, NULL);
  tl_call_error(&f->s, "POST", path, f->auditor, "w2", ok, 403, ERR_API_FORBIDDEN, NULL);
  tl_call_error(&f->s, "POST", path, f->admin, NULL, ok, 400, ERR_API_IDEMPOTENCY_REQUIRED, NULL);
  char other[128];
  snprintf(other, sizeof other, "/v1/admin/aps/%lld/wallets", (long long)f->admin_id);
  tl_call_error(&f->s, "POST", other, f->admin, "w3", ok, 404, ERR_API_NOT_FOUND, "no AP");
  snprintf(other, sizeof other, "/v1/admin/aps/%lld/wallets", (long long)f->auditor_id + 1000);
  tl_call_error(&f->s, "POST", other, f->admin, "w4", ok, 404, ERR_API_NOT_FOUND, "no AP");
  tl_call_error(&f->s, "POST", "/v1/admin/aps/x1/wallets", f->admin, "w5", ok, 404,
                ERR_API_NOT_FOUND, NULL);
  tl_call_error(&f->s, "POST", "/v1/admin/aps/01/wallets", f->admin, "w5", ok, 404,
                ERR_API_NOT_FOUND, NULL);
  tl_call_error(&f->s, "POST", path, f->admin, "w6", "{\"address\":", 400, ERR_API_BAD_JSON, NULL);
  tl_call_error(&f->s, "POST", path, f->admin, "w6", "[]", 400, ERR_API_BAD_JSON, NULL);
  tl_call_error(&f->s, "POST", path, f->admin, "w6", "{\"address\":\"" ADDR1 "\",\"ap\":1}", 400,
                ERR_API_UNKNOWN_FIELD, "\"ap\"");
  tl_call_error(&f->s, "POST", path, f->admin, "w6", "{\"label\":\"x\"}", 400, ERR_API_FIELD,
                "address");
  tl_call_error(&f->s, "POST", path, f->admin, "w6",
                "{\"address\":\"0x00000000000000000000000000000000000000g1\"}", 400, ERR_API_FIELD,
                "address");
  tl_call_error(&f->s, "POST", path, f->admin, "w6",
                "{\"address\":\"0x00000000000000000000000000000000000000a\"}", 400, ERR_API_FIELD,
                "address");
  tl_call_error(&f->s, "POST", path, f->admin, "w6", "{\"address\":12}", 400, ERR_API_FIELD,
                "address");
  tl_call_error(&f->s, "POST", path, f->admin, "w6",
                "{\"address\":\"" ADDR1 "\",\"label\":\"two\\nlines\"}", 400, ERR_API_FIELD,
                "label");
  char longbody[512];
  char label[102];
  memset(label, 'x', 101);
  label[101] = '\0';
  snprintf(longbody, sizeof longbody, "{\"address\":\"" ADDR1 "\",\"label\":\"%s\"}", label);
  tl_call_error(&f->s, "POST", path, f->admin, "w6", longbody, 400, ERR_API_FIELD, "label");
  tl_call_error(&f->s, "POST", path, f->admin, "w6",
                "{\"address\":\"0x00000000000000000000000000000000000000a1'; DROP TABLE ap_wallets;"
                " --\"}",
                400, ERR_API_FIELD, "address");
  /* Taken: the same address for another AP, in another case. */
  snprintf(other, sizeof other, "/v1/admin/aps/%lld/wallets", (long long)f->ap2_id);
  tl_call_error(&f->s, "POST", other, f->admin, "w7",
                "{\"address\":\"0xabcdef0123456789ABCDEF0123456789abcdef01\"}", 409,
                ERR_API_CONFLICT, "allow-list");
  assert_int_equal(tl_count(&f->s, "ap_wallets"), wallets);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits);
  assert_int_equal(tl_count(&f->s, "api_idempotency"), 1);

  /* A label of exactly 100 bytes is fine; an empty one too. */
  label[100] = '\0';
  snprintf(longbody, sizeof longbody, "{\"address\":\"" ADDR1 "\",\"label\":\"%s\"}", label);
  call_exact(f, "POST", path, f->admin, "w8", longbody, 201, NULL);
  call_exact(f, "POST", other, f->admin, "w9", "{\"address\":\"" ADDR2 "\",\"label\":\"\"}", 201,
             NULL);
  assert_int_equal(tl_count(&f->s, "ap_wallets"), wallets + 2);
}

/* Adds ADDR1 for AP one and ADDR2 for AP two; their ids into @id1, @id2. */
static void two_wallets(struct tl_fx *f, long long *id1, long long *id2)
{
  struct tl_reply r;
  char path[128];
  snprintf(path, sizeof path, "/v1/admin/aps/%lld/wallets", (long long)f->ap_id);
  tl_call(&f->s, "POST", path, f->admin, "a1", "{\"address\":\"" ADDR1 "\",\"label\":\"one\"}", &r);
  assert_int_equal(r.status, 201);
  yajl_val v = tl_json(&r);
  *id1 = tl_int(v, "wallet", "id", NULL);
  yajl_tree_free(v);
  tl_reply_free(&r);
  snprintf(path, sizeof path, "/v1/admin/aps/%lld/wallets", (long long)f->ap2_id);
  tl_call(&f->s, "POST", path, f->admin, "a2", "{\"address\":\"" ADDR2 "\",\"label\":\"two\"}", &r);
  assert_int_equal(r.status, 201);
  v = tl_json(&r);
  *id2 = tl_int(v, "wallet", "id", NULL);
  yajl_tree_free(v);
  tl_reply_free(&r);
}

/* The ids of a page's items, in order, and its next_cursor ("" when null). */
static int page_ids(const struct tl_reply *r, long long *ids, int max, char *cursor, size_t size)
{
  yajl_val v = tl_json(r);
  yajl_val items = tl_get(v, "items", NULL, NULL);
  assert_true(YAJL_IS_ARRAY(items));
  int n = (int)items->u.array.len;
  assert_true(n <= max);
  for (int i = 0; i < n; i++)
    ids[i] = tl_int(items->u.array.values[i], "id", NULL, NULL);
  yajl_val nc = tl_get(v, "next_cursor", NULL, NULL);
  snprintf(cursor, size, "%s", YAJL_IS_STRING(nc) ? YAJL_GET_STRING(nc) : "");
  yajl_tree_free(v);
  return n;
}

static void test_wallet_list_revoke(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  long long id1, id2, ids[8];
  char cur[64], path[128], want[1024], w[512], target[64], details[256];
  two_wallets(f, &id1, &id2);

  /* An AP sees its own; admin and auditor all, or one AP's. */
  tl_call(&f->s, "GET", "/v1/wallets", f->ap, NULL, NULL, &r);
  assert_int_equal(r.status, 200);
  yajl_val v = tl_json(&r);
  wallet_json(w, sizeof w, id1, f->ap_id, ADDR1, "one",
              tl_str(tl_get(v, "items", NULL, NULL)->u.array.values[0], "created", NULL, NULL),
              NULL);
  snprintf(want, sizeof want, "{\"items\":[%s],\"next_cursor\":null}", w);
  assert_string_equal(r.body, want);
  yajl_tree_free(v);
  tl_reply_free(&r);
  tl_call(&f->s, "GET", "/v1/wallets", f->ap2, NULL, NULL, &r);
  assert_int_equal(page_ids(&r, ids, 8, cur, sizeof cur), 1);
  assert_int_equal(ids[0], id2);
  tl_reply_free(&r);
  const char *readers[] = {f->admin, f->auditor};
  for (int i = 0; i < 2; i++) {
    tl_call(&f->s, "GET", "/v1/wallets", readers[i], NULL, NULL, &r);
    assert_int_equal(page_ids(&r, ids, 8, cur, sizeof cur), 2);
    assert_int_equal(ids[0], id1);
    assert_int_equal(ids[1], id2);
    assert_string_equal(cur, "");
    tl_reply_free(&r);
    snprintf(path, sizeof path, "/v1/wallets?ap=%lld", (long long)f->ap2_id);
    tl_call(&f->s, "GET", path, readers[i], NULL, NULL, &r);
    assert_int_equal(page_ids(&r, ids, 8, cur, sizeof cur), 1);
    assert_int_equal(ids[0], id2);
    tl_reply_free(&r);
  }
  /* Pages of one. */
  tl_call(&f->s, "GET", "/v1/wallets?limit=1", f->admin, NULL, NULL, &r);
  assert_int_equal(page_ids(&r, ids, 8, cur, sizeof cur), 1);
  assert_int_equal(ids[0], id1);
  assert_string_not_equal(cur, "");
  tl_reply_free(&r);
  snprintf(path, sizeof path, "/v1/wallets?limit=1&cursor=%s", cur);
  tl_call(&f->s, "GET", path, f->admin, NULL, NULL, &r);
  assert_int_equal(page_ids(&r, ids, 8, cur, sizeof cur), 1);
  assert_int_equal(ids[0], id2);
  assert_string_equal(cur, "");
  tl_reply_free(&r);
  /* An AP may not pick another AP; bad arguments. */
  snprintf(path, sizeof path, "/v1/wallets?ap=%lld", (long long)f->ap2_id);
  tl_call_error(&f->s, "GET", path, f->ap, NULL, NULL, 403, ERR_API_FORBIDDEN, "?ap=");
  snprintf(path, sizeof path, "/v1/wallets?ap=%lld", (long long)f->ap_id);
  tl_call_error(&f->s, "GET", path, f->ap, NULL, NULL, 403, ERR_API_FORBIDDEN, "?ap=");
  tl_call_error(&f->s, "GET", "/v1/wallets?ap=x", f->admin, NULL, NULL, 400, ERR_API_FIELD, "?ap=");
  tl_call_error(&f->s, "GET", "/v1/wallets?ap=0", f->admin, NULL, NULL, 400, ERR_API_FIELD, "?ap=");
  tl_call_error(&f->s, "GET", "/v1/wallets?ap=-1", f->admin, NULL, NULL, 400, ERR_API_FIELD,
                "?ap=");
  tl_call_error(&f->s, "GET", "/v1/wallets?limit=0", f->admin, NULL, NULL, 400, ERR_API_FIELD,
                "limit");
  tl_call_error(&f->s, "GET", "/v1/wallets?cursor=zz", f->admin, NULL, NULL, 400,
                ERR_API_BAD_CURSOR, NULL);

  /* Revoke: roles, unknown ids and bad bodies change nothing. */
  long long audits = tl_count(&f->s, "audit_log");
  snprintf(path, sizeof path, "/v1/admin/wallets/%lld/revoke", id1);
  tl_call_error(&f->s, "POST", path, f->ap, "r1", "{}", 403, ERR_API_FORBIDDEN, NULL);
  tl_call_error(&f->s, "POST", path, f->auditor, "r1", "{}", 403, ERR_API_FORBIDDEN, NULL);
  tl_call_error(&f->s, "POST", path, f->admin, "r1", "{\"reason\":\"x\"}", 400,
                ERR_API_UNKNOWN_FIELD, NULL);
  tl_call_error(&f->s, "POST", "/v1/admin/wallets/999999/revoke", f->admin, "r1", "{}", 404,
                ERR_API_NOT_FOUND, "no wallet");
  tl_call_error(&f->s, "POST", "/v1/admin/wallets/0/revoke", f->admin, "r1", "{}", 404,
                ERR_API_NOT_FOUND, NULL);
  assert_int_equal(
      tl_sql_int(&f->s, "SELECT count(*) FROM ap_wallets WHERE revoked_at IS NOT NULL"), 0);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits);

  tl_call(&f->s, "POST", path, f->admin, "r1", NULL, &r);
  assert_int_equal(r.status, 200);
  v = tl_json(&r);
  const char *revoked = tl_str(v, "wallet", "revoked_at", NULL);
  wallet_json(w, sizeof w, id1, f->ap_id, ADDR1, "one", tl_str(v, "wallet", "created", NULL),
              revoked);
  snprintf(want, sizeof want, "{\"wallet\":%s}", w);
  assert_string_equal(r.body, want);
  snprintf(target, sizeof target, "wallet:%lld", id1);
  snprintf(details, sizeof details, "{\"address\":\"" ADDR1 "\",\"ap\":%lld}", (long long)f->ap_id);
  tl_audit_has(&f->s, audits + 1, f->admin_id, "wallet.revoke", target, details);
  /* Again under a new key: the same wallet, no second record. */
  struct tl_reply r2;
  tl_call(&f->s, "POST", path, f->admin, "r2", "{}", &r2);
  assert_int_equal(r2.status, 200);
  assert_string_equal(r2.body, r.body);
  assert_string_equal(r2.replayed, "");
  tl_reply_free(&r2);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits + 1);
  yajl_tree_free(v);
  tl_reply_free(&r);
  /* Listed as revoked. */
  tl_call(&f->s, "GET", "/v1/wallets", f->ap, NULL, NULL, &r);
  assert_non_null(strstr(r.body, "\"revoked_at\":\"20"));
  tl_reply_free(&r);
}

/* ------------------------------------------------------------------ */
/* Signing keys                                                        */
/* ------------------------------------------------------------------ */

static void key_json(char *out, size_t size, long long id, int64_t ap, const char *pk,
                     const char *label, const char *created, const char *revoked)
{
  row_json(out, size, id, ap, "public_key", pk, label, created, revoked);
}

static void new_pk(char b64[45])
{
  unsigned char pk[32], sk[64];
  crypto_sign_keypair(pk, sk);
  sodium_memzero(sk, sizeof sk);
  sodium_bin2base64(b64, 45, pk, 32, sodium_base64_VARIANT_ORIGINAL);
}

static long long add_key(struct tl_fx *f, const char *key, const char *idem, const char *pk)
{
  struct tl_reply r;
  char body[256];
  snprintf(body, sizeof body, "{\"public_key\":\"%s\"}", pk);
  tl_call(&f->s, "POST", "/v1/signing-keys", key, idem, body, &r);
  if (r.status != 201)
    fail_msg("add key: %ld %s", r.status, r.body);
  yajl_val v = tl_json(&r);
  long long id = tl_int(v, "signing_key", "id", NULL);
  yajl_tree_free(v);
  tl_reply_free(&r);
  return id;
}

static void test_key_add(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r, r2;
  char pk[45], pk2[45], body[512], want[1024], k[512], target[64], details[256];
  new_pk(pk);
  new_pk(pk2);
  long long audits = tl_count(&f->s, "audit_log");
  snprintf(body, sizeof body, "{\"public_key\":\"%s\",\"label\":\"hsm 1\"}", pk);
  tl_call(&f->s, "POST", "/v1/signing-keys", f->ap, "k1", body, &r);
  assert_int_equal(r.status, 201);
  yajl_val v = tl_json(&r);
  long long id = tl_int(v, "signing_key", "id", NULL);
  key_json(k, sizeof k, id, f->ap_id, pk, "hsm 1", tl_str(v, "signing_key", "created", NULL), NULL);
  snprintf(want, sizeof want, "{\"signing_key\":%s}", k);
  assert_string_equal(r.body, want);
  yajl_tree_free(v);
  snprintf(target, sizeof target, "signing_key:%lld", id);
  snprintf(details, sizeof details, "{\"ap\":%lld,\"label\":\"hsm 1\",\"public_key\":\"%s\"}",
           (long long)f->ap_id, pk);
  tl_audit_has(&f->s, audits + 1, f->ap_id, "signing_key.create", target, details);
  /* Stored as the 32 bytes. */
  unsigned char raw[32];
  char hex[65], sql[256];
  assert_int_equal(
      sodium_base642bin(raw, 32, pk, 44, NULL, NULL, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
  sodium_bin2hex(hex, sizeof hex, raw, 32);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM ap_signing_keys WHERE id = %lld AND public_key = '\\x%s'", id,
           hex);
  assert_int_equal(tl_sql_int(&f->s, sql), 1);

  /* Replay and conflict of the Idempotency-Key. */
  tl_call(&f->s, "POST", "/v1/signing-keys", f->ap, "k1", body, &r2);
  assert_int_equal(r2.status, 201);
  assert_string_equal(r2.replayed, "true");
  assert_string_equal(r2.body, r.body);
  tl_reply_free(&r2);
  tl_reply_free(&r);
  snprintf(body, sizeof body, "{\"public_key\":\"%s\"}", pk2);
  tl_call_error(&f->s, "POST", "/v1/signing-keys", f->ap, "k1", body, 409,
                ERR_API_IDEMPOTENCY_CONFLICT, NULL);

  /* Refusals: nothing changes. */
  long long keys = tl_count(&f->s, "ap_signing_keys");
  audits = tl_count(&f->s, "audit_log");
  tl_call_error(&f->s, "POST", "/v1/signing-keys", f->admin, "k2", body, 403, ERR_API_FORBIDDEN,
                NULL);
  tl_call_error(&f->s, "POST", "/v1/signing-keys", f->auditor, "k2", body, 403, ERR_API_FORBIDDEN,
                NULL);
  /* Taken, by another AP too. */
  snprintf(body, sizeof body, "{\"public_key\":\"%s\"}", pk);
  tl_call_error(&f->s, "POST", "/v1/signing-keys", f->ap2, "k2", body, 409, ERR_API_CONFLICT,
                "registered already");
  tl_call_error(&f->s, "POST", "/v1/signing-keys", f->ap, "k2", body, 409, ERR_API_CONFLICT, NULL);
  /* Not a key. */
  char bad[128];
  const char *bads[] = {
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", /* zero: a point of small order */
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", /* 31 bytes */
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", /* 33 bytes, 44 characters */
      "",
      "not base64 at all",
  };
  for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
    snprintf(body, sizeof body, "{\"public_key\":\"%s\"}", bads[i]);
    tl_call_error(&f->s, "POST", "/v1/signing-keys", f->ap, "k3", body, 400, ERR_API_FIELD,
                  "public_key");
  }
  /* The URL-safe alphabet and a missing padding are not the standard text. */
  snprintf(bad, sizeof bad, "%s", pk2);
  for (char *p = bad; *p != '\0'; p++)
    *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
  if (strcmp(bad, pk2) != 0) {
    snprintf(body, sizeof body, "{\"public_key\":\"%s\"}", bad);
    tl_call_error(&f->s, "POST", "/v1/signing-keys", f->ap, "k3", body, 400, ERR_API_FIELD,
                  "public_key");
  }
  /*
   * libsodium 1.0.18 decodes every byte >= 0x80 as '/': the key of seed 40 (little-endian in
   * the first 4 bytes) is "2NPp1zpSlKBMeDwD//SeJPhy5S1E1d/rqYR8OXmPuXE=", and with "é" (two
   * bytes of UTF-8) in place of its "//" it would decode to the same valid key.
   */
  snprintf(body, sizeof body,
           "{\"public_key\":\"2NPp1zpSlKBMeDwD\xc3\xa9SeJPhy5S1E1d/rqYR8OXmPuXE=\"}");
  tl_call_error(&f->s, "POST", "/v1/signing-keys", f->ap, "k3", body, 400, ERR_API_FIELD,
                "public_key");
  call_exact(f, "POST", "/v1/signing-keys", f->ap2, "k4",
             "{\"public_key\":\"2NPp1zpSlKBMeDwD//SeJPhy5S1E1d/rqYR8OXmPuXE=\"}", 201, NULL);
  keys++; /* and its audit record */
  audits++;
  snprintf(body, sizeof body, "{\"public_key\":\"%.43s\"}", pk2);
  tl_call_error(&f->s, "POST", "/v1/signing-keys", f->ap, "k3", body, 400, ERR_API_FIELD,
                "public_key");
  snprintf(body, sizeof body, "{\"public_key\":\"%s\",\"ap\":2}", pk2);
  tl_call_error(&f->s, "POST", "/v1/signing-keys", f->ap, "k3", body, 400, ERR_API_UNKNOWN_FIELD,
                "ap");
  tl_call_error(&f->s, "POST", "/v1/signing-keys", f->ap, "k3", "{}", 400, ERR_API_FIELD,
                "public_key");
  tl_call_error(&f->s, "POST", "/v1/signing-keys", f->ap, "k3", "{\"public_key\":", 400,
                ERR_API_BAD_JSON, NULL);
  tl_call_error(&f->s, "POST", "/v1/signing-keys", f->ap, "k3", "{\"public_key\":32}", 400,
                ERR_API_FIELD, "public_key");
  assert_int_equal(tl_count(&f->s, "ap_signing_keys"), keys);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits);
}

static void test_key_list_revoke(void **state)
{
  struct tl_fx *f = *state;
  struct tl_reply r;
  char pk1[45], pk2[45], pk3[45], path[128], cur[64], want[1024], k[512], target[64], det[64];
  long long ids[8];
  new_pk(pk1);
  new_pk(pk2);
  new_pk(pk3);
  long long k1 = add_key(f, f->ap, "a", pk1);
  long long k2 = add_key(f, f->ap2, "a", pk2);
  long long k3 = add_key(f, f->ap, "b", pk3);

  tl_call(&f->s, "GET", "/v1/signing-keys", f->ap, NULL, NULL, &r);
  assert_int_equal(page_ids(&r, ids, 8, cur, sizeof cur), 2);
  assert_int_equal(ids[0], k1);
  assert_int_equal(ids[1], k3);
  tl_reply_free(&r);
  tl_call(&f->s, "GET", "/v1/signing-keys", f->ap2, NULL, NULL, &r);
  assert_int_equal(page_ids(&r, ids, 8, cur, sizeof cur), 1);
  assert_int_equal(ids[0], k2);
  tl_reply_free(&r);
  tl_call(&f->s, "GET", "/v1/signing-keys", f->auditor, NULL, NULL, &r);
  assert_int_equal(page_ids(&r, ids, 8, cur, sizeof cur), 3);
  tl_reply_free(&r);
  snprintf(path, sizeof path, "/v1/signing-keys?ap=%lld&limit=1", (long long)f->ap_id);
  tl_call(&f->s, "GET", path, f->admin, NULL, NULL, &r);
  assert_int_equal(page_ids(&r, ids, 8, cur, sizeof cur), 1);
  assert_int_equal(ids[0], k1);
  tl_reply_free(&r);
  snprintf(path, sizeof path, "/v1/signing-keys?ap=%lld&limit=1&cursor=%s", (long long)f->ap_id,
           cur);
  tl_call(&f->s, "GET", path, f->admin, NULL, NULL, &r);
  assert_int_equal(page_ids(&r, ids, 8, cur, sizeof cur), 1);
  assert_int_equal(ids[0], k3);
  assert_string_equal(cur, "");
  tl_reply_free(&r);
  tl_call_error(&f->s, "GET", "/v1/signing-keys?ap=1", f->ap, NULL, NULL, 403, ERR_API_FORBIDDEN,
                NULL);

  /* Another AP's key is not found; the auditor may not; nothing changes. */
  long long audits = tl_count(&f->s, "audit_log");
  snprintf(path, sizeof path, "/v1/signing-keys/%lld/revoke", k1);
  tl_call_error(&f->s, "POST", path, f->ap2, "r", "{}", 404, ERR_API_NOT_FOUND, "no signing key");
  tl_call_error(&f->s, "POST", path, f->auditor, "r", "{}", 403, ERR_API_FORBIDDEN, NULL);
  tl_call_error(&f->s, "POST", "/v1/signing-keys/99999/revoke", f->ap, "r", "{}", 404,
                ERR_API_NOT_FOUND, NULL);
  tl_call_error(&f->s, "POST", "/v1/signing-keys/abc/revoke", f->admin, "r", "{}", 404,
                ERR_API_NOT_FOUND, NULL);
  tl_call_error(&f->s, "POST", path, f->ap, "r", "{\"why\":1}", 400, ERR_API_UNKNOWN_FIELD, NULL);
  assert_int_equal(
      tl_sql_int(&f->s, "SELECT count(*) FROM ap_signing_keys WHERE revoked_at IS NOT NULL"), 0);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits);

  /* AP one revokes its own; the admin revokes AP two's. */
  tl_call(&f->s, "POST", path, f->ap, "r", "{}", &r);
  assert_int_equal(r.status, 200);
  yajl_val v = tl_json(&r);
  key_json(k, sizeof k, k1, f->ap_id, pk1, "", tl_str(v, "signing_key", "created", NULL),
           tl_str(v, "signing_key", "revoked_at", NULL));
  snprintf(want, sizeof want, "{\"signing_key\":%s}", k);
  assert_string_equal(r.body, want);
  yajl_tree_free(v);
  tl_reply_free(&r);
  snprintf(target, sizeof target, "signing_key:%lld", k1);
  snprintf(det, sizeof det, "{\"ap\":%lld}", (long long)f->ap_id);
  tl_audit_has(&f->s, audits + 1, f->ap_id, "signing_key.revoke", target, det);
  snprintf(path, sizeof path, "/v1/signing-keys/%lld/revoke", k2);
  call_exact(f, "POST", path, f->admin, "r", NULL, 200, NULL);
  snprintf(target, sizeof target, "signing_key:%lld", k2);
  snprintf(det, sizeof det, "{\"ap\":%lld}", (long long)f->ap2_id);
  tl_audit_has(&f->s, audits + 2, f->admin_id, "signing_key.revoke", target, det);
  /* Again: no change, no record. */
  call_exact(f, "POST", path, f->admin, "r2", "{}", 200, NULL);
  assert_int_equal(tl_count(&f->s, "audit_log"), audits + 2);
  assert_int_equal(
      tl_sql_int(&f->s, "SELECT count(*) FROM ap_signing_keys WHERE revoked_at IS NOT NULL"), 2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_wallet_add, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_wallet_list_revoke, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_key_add, setup, tl_fx_free),
      cmocka_unit_test_setup_teardown(test_key_list_revoke, setup, tl_fx_free),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
