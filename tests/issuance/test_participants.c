/*
 * Tests of the participants (issuance/issuance_participants.c) on a
 * fresh, migrated database per test: wallets (added for an AP only, the
 * address in lower case, unique over all APs, revoked and made active
 * again, listed by AP with a cursor; refusals write nothing), Ed25519
 * signing keys (registered once, valid points only, revoked, listed), the
 * strict parser of X-Backstock-Signature, and order_signature_check_in()
 * with key pairs made here: a good signature passes, one flipped byte of
 * the payload or of the signature, another AP's key, an unknown or
 * revoked key are refused; a missing header passes only while the AP has
 * no active key.  Times come from the clock (moved ahead by 1000 days).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "issuance/issuance.h"
#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

static struct ts_db db;
static struct db_conn *c;
static int64_t ap1, ap2, admin;

static int64_t principal(const char *name, const char *role)
{
  char sql[256];
  snprintf(sql, sizeof sql, "INSERT INTO principals (name, role) VALUES ('%s', '%s') RETURNING id",
           name, role);
  return ts_sql_int(c, sql);
}

static int setup(void **state)
{
  (void)state;
  c = ts_db_migrated("participants", &db, 10, migrations_all, migrations_count);
  ts_sql(c, "UPDATE clock SET anchor_virtual = anchor_virtual + interval '1000 days'");
  ap1 = principal("AP One", "ap");
  ap2 = principal("AP Two", "ap");
  admin = principal("Ops", "issuer_admin");
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  ts_db_done(&c, &db);
  return 0;
}

static int64_t clock_ms(void)
{
  return ts_sql_int(c, "SELECT floor(extract(epoch FROM clock_now()) * 1000)::bigint");
}

#define A1 "0x00000000000000000000000000000000000000a1"
#define A2 "0x00000000000000000000000000000000000000a2"
#define A3 "0x00000000000000000000000000000000000000a3"

/* ------------------------------------------------------------------ */
/* Wallets                                                             */
/* ------------------------------------------------------------------ */

static void test_wallet_add(void **state)
{
  (void)state;
  struct ap_wallet w, w2;
  int64_t before = clock_ms();
  /* Mixed case in, lower case stored; created on the clock (1000 days ahead). */
  assert_int_equal(
      ap_wallet_add_in(c, ap1, "0xABCDEF0123456789abcdef0123456789ABCDEF01", "desk", &w), 0);
  int64_t after = clock_ms();
  assert_true(w.id > 0);
  assert_int_equal(w.ap, ap1);
  assert_string_equal(w.address, "0xabcdef0123456789abcdef0123456789abcdef01");
  assert_string_equal(w.label, "desk");
  assert_true(w.created_ms >= before && w.created_ms <= after);
  assert_true(w.created_ms > util_now_ms() + 999LL * 86400000);
  assert_int_equal(w.revoked_ms, 0);
  assert_int_equal(ts_sql_int(c, "SELECT count(*) FROM ap_wallets WHERE address = "
                                 "'0xabcdef0123456789abcdef0123456789abcdef01' AND label = 'desk'"),
                   1);
  /* NULL label is "". */
  assert_int_equal(ap_wallet_add_in(c, ap2, A2, NULL, &w2), 0);
  assert_string_equal(w2.label, "");
  assert_int_equal(w2.ap, ap2);

  /* Refusals, nothing written. */
  assert_int_equal(ap_wallet_add_in(c, admin, A3, NULL, &w2), -ERR_API_NOT_FOUND);
  assert_int_equal(ap_wallet_add_in(c, 999999, A3, NULL, &w2), -ERR_API_NOT_FOUND);
  assert_int_equal(ap_wallet_add_in(c, 0, A3, NULL, &w2), -ERR_API_NOT_FOUND);
  assert_int_equal(ap_wallet_add_in(c, ap1, "0x00000000000000000000000000000000000000a", NULL, &w2),
                   -ERR_CHAIN_ADDRESS);
  assert_int_equal(
      ap_wallet_add_in(c, ap1, "0x00000000000000000000000000000000000000g1", NULL, &w2),
      -ERR_CHAIN_ADDRESS);
  assert_int_equal(ap_wallet_add_in(c, ap1, "00000000000000000000000000000000000000a1", NULL, &w2),
                   -ERR_CHAIN_ADDRESS);
  assert_int_equal(ap_wallet_add_in(c, ap1, NULL, NULL, &w2), -ERR_CHAIN_ADDRESS);
  char longlabel[102];
  memset(longlabel, 'x', 101);
  longlabel[101] = '\0';
  assert_int_equal(ap_wallet_add_in(c, ap1, A3, longlabel, &w2), -ERR_INVALID_ARGUMENT);
  assert_int_equal(ap_wallet_add_in(c, ap1, A3, "two\nlines", &w2), -ERR_INVALID_ARGUMENT);
  assert_int_equal(ap_wallet_add_in(c, ap1, A3, "bad \xff utf8", &w2), -ERR_INVALID_ARGUMENT);
  longlabel[100] = '\0'; /* 100 bytes is fine */
  /* Taken: by another AP (either case), or active for the same AP. */
  assert_int_equal(ap_wallet_add_in(c, ap1, A2, NULL, &w2), -ERR_API_CONFLICT);
  assert_int_equal(
      ap_wallet_add_in(c, ap2, "0xABCDEF0123456789ABCDEF0123456789ABCDEF01", NULL, &w2),
      -ERR_API_CONFLICT);
  assert_int_equal(ap_wallet_add_in(c, ap1, "0xabcdef0123456789abcdef0123456789abcdef01", "x", &w2),
                   -ERR_API_CONFLICT);
  assert_int_equal(ts_sql_int(c, "SELECT count(*) FROM ap_wallets"), 2);
  assert_int_equal(ts_sql_int(c, "SELECT count(*) FROM ap_wallets WHERE label = 'x'"), 0);
  assert_int_equal(ap_wallet_add_in(c, ap1, A3, longlabel, &w2), 0);
  assert_int_equal(strlen(w2.label), 100);
}

static void test_wallet_revoke_active(void **state)
{
  (void)state;
  struct ap_wallet w, r;
  bool changed = false;
  char addr[ORDER_WALLET_MAX];
  assert_int_equal(ap_wallet_add_in(c, ap1, A1, "main", &w), 0);
  assert_int_equal(ap_wallet_active_in(c, ap1, "0x00000000000000000000000000000000000000A1", addr),
                   0);
  assert_string_equal(addr, A1);
  assert_int_equal(ap_wallet_active_in(c, ap2, A1, NULL), -ERR_ORDER_WALLET);
  assert_int_equal(ap_wallet_active_in(c, ap1, A2, NULL), -ERR_ORDER_WALLET);
  assert_int_equal(ap_wallet_active_in(c, ap1, "0x1", NULL), -ERR_ORDER_WALLET);

  /* Another AP's scope: not found, nothing changed. */
  assert_int_equal(ap_wallet_revoke_in(c, w.id, ap2, &r, &changed), -ERR_API_NOT_FOUND);
  assert_int_equal(ap_wallet_revoke_in(c, w.id + 100, 0, &r, &changed), -ERR_API_NOT_FOUND);
  assert_int_equal(ap_wallet_revoke_in(c, 0, 0, &r, &changed), -ERR_API_NOT_FOUND);
  assert_int_equal(ts_sql_int(c, "SELECT count(*) FROM ap_wallets WHERE revoked_at IS NOT NULL"),
                   0);

  int64_t before = clock_ms();
  assert_int_equal(ap_wallet_revoke_in(c, w.id, ap1, &r, &changed), 0);
  int64_t after = clock_ms();
  assert_true(changed);
  assert_int_equal(r.id, w.id);
  assert_true(r.revoked_ms >= before && r.revoked_ms <= after);
  assert_int_equal(ap_wallet_active_in(c, ap1, A1, NULL), -ERR_ORDER_WALLET);
  /* Again: nothing changes. */
  struct ap_wallet r2;
  assert_int_equal(ap_wallet_revoke_in(c, w.id, 0, &r2, &changed), 0);
  assert_false(changed);
  assert_int_equal(r2.revoked_ms, r.revoked_ms);

  /* Another AP cannot take it; the same AP makes it active again (same id, new label). */
  assert_int_equal(ap_wallet_add_in(c, ap2, A1, NULL, &r2), -ERR_API_CONFLICT);
  assert_int_equal(ap_wallet_add_in(c, ap1, A1, "back", &r2), 0);
  assert_int_equal(r2.id, w.id);
  assert_int_equal(r2.revoked_ms, 0);
  assert_int_equal(r2.created_ms, w.created_ms);
  assert_string_equal(r2.label, "back");
  assert_int_equal(ap_wallet_active_in(c, ap1, A1, NULL), 0);
  assert_int_equal(ts_sql_int(c, "SELECT count(*) FROM ap_wallets"), 1);
}

struct seen {
  int n;
  int64_t ids[16];
  int stop_at; /* stop (return 7) at this row, 0: never */
};

static int see_wallet(void *cls, const struct ap_wallet *w)
{
  struct seen *s = cls;
  s->ids[s->n++] = w->id;
  return s->stop_at == s->n ? 7 : 0;
}

static void test_wallet_list(void **state)
{
  (void)state;
  struct ap_wallet w[4];
  struct seen s;
  const char *addrs[] = {A1, A2, A3, "0x00000000000000000000000000000000000000a4"};
  for (int i = 0; i < 4; i++)
    assert_int_equal(ap_wallet_add_in(c, i == 1 ? ap2 : ap1, addrs[i], NULL, &w[i]), 0);
  assert_int_equal(ap_wallet_revoke_in(c, w[2].id, 0, &w[2], NULL), 0);

  memset(&s, 0, sizeof s);
  assert_int_equal(ap_wallets_list(c, ap1, 0, 100, see_wallet, &s), 3); /* revoked ones too */
  assert_int_equal(s.ids[0], w[0].id);
  assert_int_equal(s.ids[1], w[2].id);
  assert_int_equal(s.ids[2], w[3].id);
  memset(&s, 0, sizeof s);
  assert_int_equal(ap_wallets_list(c, 0, 0, 100, see_wallet, &s), 4);
  memset(&s, 0, sizeof s);
  assert_int_equal(ap_wallets_list(c, ap2, 0, 100, see_wallet, &s), 1);
  assert_int_equal(s.ids[0], w[1].id);
  /* A page of 2, then the rest after its last id. */
  memset(&s, 0, sizeof s);
  assert_int_equal(ap_wallets_list(c, ap1, 0, 2, see_wallet, &s), 2);
  assert_int_equal(ap_wallets_list(c, ap1, s.ids[1], 2, see_wallet, &s), 1);
  assert_int_equal(s.ids[2], w[3].id);
  memset(&s, 0, sizeof s);
  assert_int_equal(ap_wallets_list(c, admin, 0, 100, see_wallet, &s), 0);
  assert_int_equal(ap_wallets_list(c, ap1, 0, 0, see_wallet, &s), 0);
  s.stop_at = 2;
  assert_int_equal(ap_wallets_list(c, 0, 0, 100, see_wallet, &s), 7);
  assert_int_equal(s.n, 2);
}

/* ------------------------------------------------------------------ */
/* Signing keys                                                        */
/* ------------------------------------------------------------------ */

static int see_key(void *cls, const struct ap_signing_key *k)
{
  struct seen *s = cls;
  s->ids[s->n++] = k->id;
  return 0;
}

static void test_key_add_revoke_list(void **state)
{
  (void)state;
  unsigned char pk[32], sk[64], pk2[32], sk2[64], zero[32] = {0};
  struct ap_signing_key k, k2, r;
  bool changed;
  assert_true(sodium_init() >= 0);
  crypto_sign_keypair(pk, sk);
  crypto_sign_keypair(pk2, sk2);
  int64_t before = clock_ms();
  assert_int_equal(ap_signing_key_add_in(c, ap1, pk, "hsm-1", &k), 0);
  assert_true(k.id > 0);
  assert_int_equal(k.ap, ap1);
  assert_memory_equal(k.public_key, pk, 32);
  assert_string_equal(k.label, "hsm-1");
  assert_true(k.created_ms >= before && k.created_ms <= clock_ms());
  assert_int_equal(k.revoked_ms, 0);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, pk, 32);
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM ap_signing_keys WHERE public_key = '\\x%s'::bytea AND ap = %lld",
           hex, (long long)ap1);
  assert_int_equal(ts_sql_int(c, sql), 1);

  /* Refusals, nothing written. */
  assert_int_equal(ap_signing_key_add_in(c, ap1, pk, NULL, &k2), -ERR_API_CONFLICT);
  assert_int_equal(ap_signing_key_add_in(c, ap2, pk, NULL, &k2), -ERR_API_CONFLICT);
  assert_int_equal(ap_signing_key_add_in(c, admin, pk2, NULL, &k2), -ERR_API_NOT_FOUND);
  assert_int_equal(ap_signing_key_add_in(c, ap1, zero, NULL, &k2), -ERR_INVALID_ARGUMENT);
  unsigned char bad[32];
  memset(bad, 0xff, 31);
  bad[31] = 0x7f; /* y = 2^255 - 1: not a canonical encoding */
  assert_int_equal(ap_signing_key_add_in(c, ap1, bad, NULL, &k2), -ERR_INVALID_ARGUMENT);
  assert_int_equal(ap_signing_key_add_in(c, ap1, pk2, "tab\there", &k2), -ERR_INVALID_ARGUMENT);
  assert_int_equal(ts_sql_int(c, "SELECT count(*) FROM ap_signing_keys"), 1);

  assert_int_equal(ap_signing_key_add_in(c, ap2, pk2, NULL, &k2), 0);
  assert_true(k2.id > k.id);

  /* Revoke: not another AP's; then once; again changes nothing. */
  assert_int_equal(ap_signing_key_revoke_in(c, k.id, ap2, &r, &changed), -ERR_API_NOT_FOUND);
  assert_int_equal(ap_signing_key_revoke_in(c, 424242, 0, &r, &changed), -ERR_API_NOT_FOUND);
  assert_int_equal(
      ts_sql_int(c, "SELECT count(*) FROM ap_signing_keys WHERE revoked_at IS NOT NULL"), 0);
  assert_int_equal(ap_signing_key_revoke_in(c, k.id, ap1, &r, &changed), 0);
  assert_true(changed);
  assert_true(r.revoked_ms > 0);
  assert_memory_equal(r.public_key, pk, 32);
  int64_t at = r.revoked_ms;
  assert_int_equal(ap_signing_key_revoke_in(c, k.id, 0, &r, &changed), 0);
  assert_false(changed);
  assert_int_equal(r.revoked_ms, at);
  /* A revoked key stays registered. */
  assert_int_equal(ap_signing_key_add_in(c, ap1, pk, NULL, &k2), -ERR_API_CONFLICT);

  struct seen s;
  memset(&s, 0, sizeof s);
  assert_int_equal(ap_signing_keys_list(c, ap1, 0, 10, see_key, &s), 1);
  assert_int_equal(s.ids[0], k.id);
  memset(&s, 0, sizeof s);
  assert_int_equal(ap_signing_keys_list(c, 0, 0, 10, see_key, &s), 2);
  memset(&s, 0, sizeof s);
  assert_int_equal(ap_signing_keys_list(c, 0, k.id, 10, see_key, &s), 1);
  assert_int_equal(s.ids[0], k2.id);
  sodium_memzero(sk, sizeof sk);
  sodium_memzero(sk2, sizeof sk2);
}

/* ------------------------------------------------------------------ */
/* The signature header and the check                                  */
/* ------------------------------------------------------------------ */

static void header_of(int64_t id, const unsigned char sig[64], char *out, size_t size)
{
  char b64[ORDER_SIG_B64_LEN + 1];
  sodium_bin2base64(b64, sizeof b64, sig, 64, sodium_base64_VARIANT_ORIGINAL);
  snprintf(out, size, "keyid=%lld,sig=%s", (long long)id, b64);
}

static int parse(const char *s)
{
  int64_t id = -1;
  unsigned char sig[64];
  return order_sig_header_parse(s, strlen(s), &id, sig);
}

static void test_header_parse(void **state)
{
  (void)state;
  unsigned char sig[64], out[64];
  int64_t id = 0;
  char h[256], b[256];
  for (int i = 0; i < 64; i++)
    sig[i] = (unsigned char)(i * 7 + 1);
  header_of(42, sig, h, sizeof h);
  assert_int_equal(strlen(h), 6 + 2 + 5 + 88);
  assert_int_equal(order_sig_header_parse(h, strlen(h), &id, out), 0);
  assert_int_equal(id, 42);
  assert_memory_equal(out, sig, 64);
  /* The largest id. */
  header_of(INT64_MAX, sig, h, sizeof h);
  assert_int_equal(order_sig_header_parse(h, strlen(h), &id, out), 0);
  assert_int_equal(id, INT64_MAX);
  /* Not NUL-terminated: the length rules. */
  header_of(7, sig, h, sizeof h);
  size_t n = strlen(h);
  h[n] = 'X';
  assert_int_equal(order_sig_header_parse(h, n, &id, out), 0);
  assert_int_equal(order_sig_header_parse(h, n + 1, &id, out), -ERR_ORDER_SIGNATURE);
  assert_int_equal(order_sig_header_parse(h, n - 1, &id, out), -ERR_ORDER_SIGNATURE);
  h[n] = '\0';

  const char *b64 = strstr(h, "sig=") + 4;
  /* Every malformation is the one refusal. */
  snprintf(b, sizeof b, "keyid=07,sig=%s", b64);
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, "keyid=0,sig=%s", b64);
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, "keyid=-7,sig=%s", b64);
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, "keyid=+7,sig=%s", b64);
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, "keyid=,sig=%s", b64);
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, "keyid=9223372036854775808,sig=%s", b64);
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, "KEYID=7,sig=%s", b64);
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, "keyid=7, sig=%s", b64);
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, " keyid=7,sig=%s", b64);
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, "keyid=7,sig=%s ", b64);
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, "sig=%s,keyid=7", b64);
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, "keyid=7;sig=%s", b64);
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, "keyid=7,sig=%.86s", b64); /* padding left out */
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, "keyid=7,sig=%.84s", b64); /* a short signature */
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, "keyid=7,sig=%sAAAA", b64); /* a long one */
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, "keyid=7,sig=%s", b64);
  b[13] = '*'; /* not base64 */
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  snprintf(b, sizeof b, "keyid=7,sig=%s", b64);
  b[13] = '-'; /* the URL-safe alphabet */
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  /* Bytes >= 0x80, which libsodium 1.0.18 decodes as letters: refused by the round trip. */
  for (int ch = 0x80; ch <= 0xff; ch++) {
    snprintf(b, sizeof b, "keyid=7,sig=%s", b64);
    b[13] = (char)ch;
    assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  }
  /* Non-zero padding bits: the last character before "==" carries 4 of them. */
  snprintf(b, sizeof b, "keyid=7,sig=%s", b64);
  char *last = b + strlen(b) - 3;
  *last = (char)(*last == 'A' ? 'B' : *last == 'Q' ? 'R' : *last == 'g' ? 'h' : 'x');
  assert_int_equal(parse(b), -ERR_ORDER_SIGNATURE);
  /* NUL inside. */
  snprintf(b, sizeof b, "keyid=7,sig=%s", b64);
  b[20] = '\0';
  assert_int_equal(order_sig_header_parse(b, strlen(h), &id, out), -ERR_ORDER_SIGNATURE);
  /* Longer than ORDER_SIG_HEADER_MAX. */
  char big[ORDER_SIG_HEADER_MAX + 2];
  memset(big, '1', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(parse(big), -ERR_ORDER_SIGNATURE);
  assert_int_equal(parse(""), -ERR_ORDER_SIGNATURE);
  assert_int_equal(order_sig_header_parse(NULL, 0, &id, out), -ERR_ORDER_SIGNATURE);
  /* Nothing was written by the refusals. */
  assert_int_equal(id, 7);
}

#define PAYLOAD                                                                                    \
  "backstock-order-v1\nPOST\n/v1/orders/mint\nk-0001\n{\"symbol\":\"AAPL\",\"quantity\":\"10\","   \
  "\"limit_price\":\"190.00\",\"wallet\":\"0x00000000000000000000000000000000000000a1\"}"

static int check(int64_t ap, const char *header, const unsigned char *payload, size_t len,
                 int64_t *key_id, unsigned char sig[64])
{
  return order_signature_check_in(c, ap, header, payload, len, key_id, sig);
}

static void test_signature_check(void **state)
{
  (void)state;
  unsigned char pk[32], sk[64], pk2[32], sk2[64], sig[64], sig2[64], got[64];
  unsigned char payload[] = PAYLOAD;
  size_t len = sizeof payload - 1;
  struct ap_signing_key k1, k2, r;
  int64_t key_id = -1;
  char h[256];
  assert_true(sodium_init() >= 0);

  /* No key yet: unsigned orders pass, key_id 0. */
  assert_int_equal(check(ap1, NULL, payload, len, &key_id, got), 0);
  assert_int_equal(key_id, 0);

  crypto_sign_keypair(pk, sk);
  crypto_sign_keypair(pk2, sk2);
  assert_int_equal(ap_signing_key_add_in(c, ap1, pk, "one", &k1), 0);
  assert_int_equal(ap_signing_key_add_in(c, ap2, pk2, "two", &k2), 0);
  /* With an active key the header is required. */
  key_id = -1;
  assert_int_equal(check(ap1, NULL, payload, len, &key_id, got), -ERR_ORDER_SIGNATURE);
  assert_int_equal(key_id, -1);

  /* A good signature. */
  crypto_sign_detached(sig, NULL, payload, len, sk);
  header_of(k1.id, sig, h, sizeof h);
  memset(got, 0, sizeof got);
  assert_int_equal(check(ap1, h, payload, len, &key_id, got), 0);
  assert_int_equal(key_id, k1.id);
  assert_memory_equal(got, sig, 64);

  /* One flipped byte of the payload, anywhere. */
  for (size_t i = 0; i < len; i += 17) {
    payload[i] ^= 0x01;
    assert_int_equal(check(ap1, h, payload, len, &key_id, got), -ERR_ORDER_SIGNATURE);
    payload[i] ^= 0x01;
  }
  assert_int_equal(check(ap1, h, payload, len - 1, &key_id, got), -ERR_ORDER_SIGNATURE);
  /* One flipped byte of the signature. */
  for (size_t i = 0; i < 64; i += 9) {
    memcpy(sig2, sig, 64);
    sig2[i] ^= 0x20;
    header_of(k1.id, sig2, h, sizeof h);
    assert_int_equal(check(ap1, h, payload, len, &key_id, got), -ERR_ORDER_SIGNATURE);
  }
  /* AP two's key and signature, sent by AP one: not its key. */
  crypto_sign_detached(sig2, NULL, payload, len, sk2);
  header_of(k2.id, sig2, h, sizeof h);
  assert_int_equal(check(ap1, h, payload, len, &key_id, got), -ERR_ORDER_SIGNATURE);
  assert_int_equal(check(ap2, h, payload, len, &key_id, got), 0);
  assert_int_equal(key_id, k2.id);
  /* AP one's key id with AP two's signature; an unknown key id. */
  header_of(k1.id, sig2, h, sizeof h);
  assert_int_equal(check(ap1, h, payload, len, &key_id, got), -ERR_ORDER_SIGNATURE);
  header_of(k2.id + 100, sig, h, sizeof h);
  assert_int_equal(check(ap1, h, payload, len, &key_id, got), -ERR_ORDER_SIGNATURE);
  /* A malformed header. */
  assert_int_equal(check(ap1, "keyid=1,sig=AAAA", payload, len, &key_id, got),
                   -ERR_ORDER_SIGNATURE);
  assert_int_equal(check(ap1, "", payload, len, &key_id, got), -ERR_ORDER_SIGNATURE);

  /* Revoked: the good signature is refused; with no active key left, unsigned passes again. */
  header_of(k1.id, sig, h, sizeof h);
  assert_int_equal(ap_signing_key_revoke_in(c, k1.id, ap1, &r, NULL), 0);
  assert_int_equal(check(ap1, h, payload, len, &key_id, got), -ERR_ORDER_SIGNATURE);
  key_id = -1;
  assert_int_equal(check(ap1, NULL, payload, len, &key_id, got), 0);
  assert_int_equal(key_id, 0);
  /* AP two still has its key. */
  assert_int_equal(check(ap2, NULL, payload, len, &key_id, got), -ERR_ORDER_SIGNATURE);

  /* An empty payload can be signed too. */
  unsigned char pk3[32], sk3[64];
  struct ap_signing_key k3;
  crypto_sign_keypair(pk3, sk3);
  assert_int_equal(ap_signing_key_add_in(c, ap1, pk3, NULL, &k3), 0);
  crypto_sign_detached(sig, NULL, (const unsigned char *)"", 0, sk3);
  header_of(k3.id, sig, h, sizeof h);
  assert_int_equal(check(ap1, h, NULL, 0, &key_id, got), 0);
  assert_int_equal(key_id, k3.id);
  assert_int_equal(check(ap1, h, NULL, 1, &key_id, got), -ERR_INVALID_ARGUMENT);
  sodium_memzero(sk, sizeof sk);
  sodium_memzero(sk2, sizeof sk2);
  sodium_memzero(sk3, sizeof sk3);
}

/*
 * A fixed test key (docs/participants.md shows the same numbers, made
 * there with openssl): the seed is the bytes 0, 1, ... 31.
 */
#define DOC_SIG                                                                                    \
  "iV5cClH3bZGvQSMJ41clfW8qPt3IL92fiy0PVt6MxAiOLR8Y6+sD+pxi6rebYS2dRA/gmF/h99et09Gr0xmiCA=="

static void test_fixed_vector(void **state)
{
  (void)state;
  unsigned char seed[32], pk[32], sk[64], sig[64];
  char pk_b64[45], sig_b64[ORDER_SIG_B64_LEN + 1];
  for (int i = 0; i < 32; i++)
    seed[i] = (unsigned char)i;
  assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
  sodium_bin2base64(pk_b64, sizeof pk_b64, pk, 32, sodium_base64_VARIANT_ORIGINAL);
  const char payload[] = "backstock-order-v1\nPOST\n/v1/orders/mint\nk-0001\n"
                         "{\"symbol\":\"AAPL\",\"quantity\":\"10\",\"limit_price\":\"190.00\","
                         "\"wallet\":\"0x00000000000000000000000000000000000000a1\"}";
  crypto_sign_detached(sig, NULL, (const unsigned char *)payload, sizeof payload - 1, sk);
  sodium_bin2base64(sig_b64, sizeof sig_b64, sig, 64, sodium_base64_VARIANT_ORIGINAL);
  assert_string_equal(pk_b64, "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=");
  assert_string_equal(sig_b64, DOC_SIG);
  struct ap_signing_key k;
  int64_t key_id;
  unsigned char got[64];
  char h[256];
  assert_int_equal(ap_signing_key_add_in(c, ap1, pk, "doc", &k), 0);
  header_of(k.id, sig, h, sizeof h);
  assert_int_equal(order_signature_check_in(c, ap1, h, (const unsigned char *)payload,
                                            sizeof payload - 1, &key_id, got),
                   0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_wallet_add, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wallet_revoke_active, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wallet_list, setup, teardown),
      cmocka_unit_test_setup_teardown(test_key_add_revoke_list, setup, teardown),
      cmocka_unit_test(test_header_parse),
      cmocka_unit_test_setup_teardown(test_signature_check, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fixed_vector, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
