/*
 * Attestation keys and signatures (reconcile/por_sign*.c): a known answer
 * for the fixed seed 00 01 .. 1f and a fixed payload (cross-checked with
 * an independent Ed25519, Python's cryptography); each tampering of a
 * signed document fails with the expected error; the key store makes its
 * directory 0700 and its secret 0600, refuses a secret file of 0644 and a
 * directory open to others, and rotation moves the current pointer while
 * the old key still verifies what it signed.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api.h"
#include "reconcile/reconcile.h"
#include "tests/support/testsupport.h"

static const char PAYLOAD[] = "{\"isin\":\"US0378331005\",\"previous\":null,\"reserves\":\"100\"}";
static const char KEY_ID[] = "56475aa75463474c";
static const char PK_HEX[] = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char SIG_HEX[] = "cb9813f7fe19ef62abce946fa83174529b525fc1ab47ebf33854a2ecdf3a5f8d"
                              "b4771033a141f389c7d58f584ccc56f6ffd0fd94d29f84125fd50b022849d300";
static const char DOC[] =
    "{\"payload\":{\"isin\":\"US0378331005\",\"previous\":null,\"reserves\":\"100\"},"
    "\"signature\":{\"alg\":\"ed25519\",\"key_id\":\"56475aa75463474c\",\"sig\":"
    "\"y5gT9/4Z72KrzpRvqDF0UptSX8GrR+vzOFSi7N86X420dxAzoUHzicfVj1hMzFb2/"
    "9D9lNKfhBJf1QsCKEnTAA==\"}}";
static const char DOC_HASH[] = "378f6d75e023faea578a5022e138b654075ef1168ce9e931fe5c4bf74f6d4086";

static struct por_signer *fixed_signer(void)
{
  uint8_t seed[32];
  struct por_signer *s = NULL;
  for (int i = 0; i < 32; i++)
    seed[i] = (uint8_t)i;
  assert_int_equal(por_signer_from_seed(seed, &s), 0);
  return s;
}

static struct por_pubkey fixed_pub(void)
{
  struct por_pubkey k;
  memset(&k, 0, sizeof k);
  memcpy(k.key_id, KEY_ID, sizeof KEY_ID);
  assert_int_equal(sodium_hex2bin(k.pk, 32, PK_HEX, 64, NULL, NULL, NULL), 0);
  k.not_after_ms = POR_TIME_NONE;
  k.current = true;
  return k;
}

static int verify(const char *doc, const struct por_pubkey *k, size_t n)
{
  return por_attest_verify(doc, strlen(doc), k, n, api_json_canonical, NULL, NULL, NULL);
}

static void test_known_answer(void **state)
{
  (void)state;
  struct por_signer *s = fixed_signer();
  char pkhex[65], *doc = NULL, hash[POR_HASH_HEX_LEN + 1];
  size_t len = 0;
  sodium_bin2hex(pkhex, sizeof pkhex, por_signer_public(s), 32);
  assert_string_equal(pkhex, PK_HEX);
  assert_string_equal(por_signer_key_id(s), KEY_ID);
  assert_int_equal(por_attest_sign(s, PAYLOAD, strlen(PAYLOAD), api_json_canonical, &doc, &len), 0);
  assert_int_equal(len, strlen(DOC));
  assert_string_equal(doc, DOC);

  /* The signature itself, in hex. */
  const char *sg = strstr(doc, "\"sig\":\"") + 7;
  uint8_t sig[64];
  size_t sl = 0;
  char sighex[129];
  assert_int_equal(sodium_base642bin(sig, sizeof sig, sg, POR_SIG_B64_LEN, NULL, &sl, NULL,
                                     sodium_base64_VARIANT_ORIGINAL),
                   0);
  sodium_bin2hex(sighex, sizeof sighex, sig, sizeof sig);
  assert_string_equal(sighex, SIG_HEX);

  struct por_pubkey k = fixed_pub();
  const char *p = NULL;
  size_t plen = 0;
  const struct por_pubkey *used = NULL;
  assert_int_equal(por_attest_verify(doc, len, &k, 1, api_json_canonical, &p, &plen, &used), 0);
  assert_int_equal(plen, strlen(PAYLOAD));
  assert_memory_equal(p, PAYLOAD, plen);
  assert_ptr_equal(used, &k);

  assert_int_equal(por_attest_hash(doc, len, api_json_canonical, hash), 0);
  assert_string_equal(hash, DOC_HASH);
  /* The hash is of the canonical bytes: a spaced copy hashes the same. */
  const char *spaced = "{ \"signature\" : {\"sig\":\"x\"}, \"payload\" : {} }";
  char h2[POR_HASH_HEX_LEN + 1], h3[POR_HASH_HEX_LEN + 1];
  const char *tight = "{\"payload\":{},\"signature\":{\"sig\":\"x\"}}";
  assert_int_equal(por_attest_hash(spaced, strlen(spaced), api_json_canonical, h2), 0);
  assert_int_equal(por_attest_hash(tight, strlen(tight), api_json_canonical, h3), 0);
  assert_string_equal(h2, h3);
  assert_int_equal(por_attest_hash("{x", 2, api_json_canonical, h2), -ERR_POR_CANONICAL);
  free(doc);
  por_signer_free(s);
}

/* @doc with @from replaced by @to (first occurrence); malloc'd. */
static char *edit(const char *doc, const char *from, const char *to)
{
  const char *at = strstr(doc, from);
  assert_non_null(at);
  size_t pre = (size_t)(at - doc), fl = strlen(from), tl = strlen(to);
  char *out = malloc(strlen(doc) - fl + tl + 1);
  assert_non_null(out);
  memcpy(out, doc, pre);
  memcpy(out + pre, to, tl);
  memcpy(out + pre + tl, at + fl, strlen(at + fl) + 1);
  return out;
}

static void expect(const char *from, const char *to, int err)
{
  struct por_pubkey k = fixed_pub();
  char *t = edit(DOC, from, to);
  int rc = verify(t, &k, 1);
  if (rc != err)
    fail_msg("%s -> %s: %d (%s), want %d", from, to, rc, err_text(rc), err);
  free(t);
}

static void test_tampering(void **state)
{
  (void)state;
  struct por_pubkey k = fixed_pub();
  assert_int_equal(verify(DOC, &k, 1), 0);
  /* One byte of the payload. */
  expect("\"100\"", "\"101\"", -ERR_POR_SIGNATURE);
  expect("US0378331005", "US0378331006", -ERR_POR_SIGNATURE);
  /* One byte of the signature (still base64 of 64 bytes). */
  expect("\"sig\":\"y5gT", "\"sig\":\"z5gT", -ERR_POR_SIGNATURE);
  /* The key id: unknown, or upper case (not the canonical shape). */
  expect("56475aa75463474c", "56475aa75463474d", -ERR_POR_SIGNATURE);
  expect("56475aa75463474c", "56475AA75463474C", -ERR_POR_CANONICAL);
  /* Same meaning, not canonical: a space, key order, an escape. */
  expect("\"isin\":\"US", "\"isin\": \"US", -ERR_POR_CANONICAL);
  expect("{\"isin\":\"US0378331005\",\"previous\":null,",
         "{\"previous\":null,\"isin\":\"US0378331005\",", -ERR_POR_CANONICAL);
  expect("\"US0378331005\"", "\"\\u0055S0378331005\"", -ERR_POR_CANONICAL);
  expect("{\"payload\":", "{ \"payload\":", -ERR_POR_CANONICAL);
  /* A member smuggled between payload and signature. */
  expect("\"100\"},", "\"100\"},\"extra\":{},", -ERR_POR_CANONICAL);
  /* Another algorithm, a signature that is not 64 bytes. */
  expect("ed25519", "ed448", -ERR_POR_CANONICAL);
  expect("TAA==", "TA==", -ERR_POR_CANONICAL);
  /* A key of the same id but another public key. */
  k.pk[0] ^= 1;
  assert_int_equal(verify(DOC, &k, 1), -ERR_POR_SIGNATURE);
  assert_int_equal(verify(DOC, NULL, 0), -ERR_POR_SIGNATURE);
  assert_int_equal(por_attest_verify(DOC, 10, NULL, 0, api_json_canonical, NULL, NULL, NULL),
                   -ERR_POR_CANONICAL);

  /* Signing refuses a payload that is not canonical, or not an object. */
  struct por_signer *s = fixed_signer();
  char *doc = NULL;
  size_t len = 0;
  static const char *const bad[] = {"{\"b\":1,\"a\":2}", "{\"a\": 1}", "[1]", "{\"a\":1} ", "{"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(por_attest_sign(s, bad[i], strlen(bad[i]), api_json_canonical, &doc, &len),
                     -ERR_POR_CANONICAL);
  por_signer_free(s);
}

static mode_t mode_of(const char *path)
{
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return st.st_mode & 07777;
}

static void read_text(const char *path, char *out, size_t size)
{
  char *t = NULL;
  size_t n = 0;
  assert_int_equal(util_read_file(path, size - 1, &t, &n), 0);
  memcpy(out, t, n);
  out[n] = '\0';
  free(t);
}

static char *sign_with(const char *dir, const char *payload, char id[POR_KEY_ID_LEN + 1])
{
  struct por_signer *s = NULL;
  char *doc = NULL;
  size_t len;
  assert_int_equal(por_signer_open(dir, &s), 0);
  memcpy(id, por_signer_key_id(s), POR_KEY_ID_LEN + 1);
  assert_int_equal(por_attest_sign(s, payload, strlen(payload), api_json_canonical, &doc, &len), 0);
  por_signer_free(s);
  return doc;
}

static void test_store_and_rotation(void **state)
{
  (void)state;
  char tmp[256], dir[300], path[400], text[128], id1[17], id2[17], id3[17];
  struct por_pubkey *keys = NULL;
  size_t n = 0;
  bool created = false;
  const int64_t t1 = 1714570000000, t2 = 1717250000123;
  ts_tmpdir(tmp, sizeof tmp);
  snprintf(dir, sizeof dir, "%s/keys", tmp);

  assert_int_equal(por_key_ensure(dir, t1, &created), 0);
  assert_true(created);
  assert_int_equal(mode_of(dir), 0700);
  assert_int_equal(por_keys_load(dir, &keys, &n), 0);
  assert_int_equal(n, 1);
  assert_true(keys[0].current);
  assert_int_equal(keys[0].not_before_ms, t1);
  assert_true(keys[0].not_after_ms == POR_TIME_NONE);
  memcpy(id1, keys[0].key_id, sizeof id1);
  snprintf(path, sizeof path, "%s/%s.key", dir, id1);
  assert_int_equal(mode_of(path), 0600);
  snprintf(path, sizeof path, "%s/%s.pub", dir, id1);
  assert_int_equal(mode_of(path), 0644);
  snprintf(path, sizeof path, "%s/current", dir);
  read_text(path, text, sizeof text);
  assert_int_equal(strlen(text), 17);
  assert_memory_equal(text, id1, 16);
  /* A second ensure keeps the key. */
  assert_int_equal(por_key_ensure(dir, t2, &created), 0);
  assert_false(created);

  char *doc1 = sign_with(dir, PAYLOAD, id3);
  assert_string_equal(id3, id1);
  assert_int_equal(verify(doc1, keys, n), 0);
  free(keys);

  /* Rotation: a new current key; the old one keeps verifying. */
  assert_int_equal(por_key_rotate(dir, t2, id2), 0);
  assert_string_not_equal(id1, id2);
  read_text(path, text, sizeof text);
  assert_memory_equal(text, id2, 16);
  snprintf(path, sizeof path, "%s/%s.key", dir, id1);
  assert_int_equal(access(path, F_OK), -1); /* the retired secret is gone */
  assert_int_equal(por_keys_load(dir, &keys, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(keys[0].key_id, id1);
  assert_false(keys[0].current);
  assert_int_equal(keys[0].not_before_ms, t1);
  assert_int_equal(keys[0].not_after_ms, t2);
  assert_string_equal(keys[1].key_id, id2);
  assert_true(keys[1].current);
  assert_int_equal(keys[1].not_before_ms, t2);
  assert_true(keys[1].not_after_ms == POR_TIME_NONE);
  assert_int_equal(verify(doc1, keys, n), 0);
  char *doc2 = sign_with(dir, PAYLOAD, id3);
  assert_string_equal(id3, id2);
  assert_int_equal(verify(doc2, keys, n), 0);
  assert_int_equal(verify(doc2, keys, 1), -ERR_POR_SIGNATURE); /* not with the old key */

  /* The keys document lists both, oldest first. */
  char *json = NULL, want[1024], pk1[45], pk2[45];
  size_t jl = 0;
  sodium_bin2base64(pk1, sizeof pk1, keys[0].pk, 32, sodium_base64_VARIANT_ORIGINAL);
  sodium_bin2base64(pk2, sizeof pk2, keys[1].pk, 32, sodium_base64_VARIANT_ORIGINAL);
  snprintf(want, sizeof want,
           "{\"keys\":[{\"alg\":\"ed25519\",\"current\":false,\"key_id\":\"%s\","
           "\"not_after\":\"2024-06-01T13:53:20.123Z\",\"not_before\":"
           "\"2024-05-01T13:26:40.000Z\",\"public_key\":\"%s\"},{\"alg\":\"ed25519\","
           "\"current\":true,\"key_id\":\"%s\",\"not_after\":null,\"not_before\":"
           "\"2024-06-01T13:53:20.123Z\",\"public_key\":\"%s\"}]}",
           id1, pk1, id2, pk2);
  assert_int_equal(por_keys_document(keys, n, &json, &jl), 0);
  assert_string_equal(json, want);
  assert_int_equal(jl, strlen(want));
  free(json);
  free(keys);
  free(doc1);
  free(doc2);
  ts_rmtree(tmp);
}

static void test_permissions(void **state)
{
  (void)state;
  char tmp[256], dir[300], path[400], id[17];
  struct por_signer *s = NULL;
  ts_tmpdir(tmp, sizeof tmp);
  snprintf(dir, sizeof dir, "%s/keys", tmp);
  log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, stderr);
  /* No directory yet: nothing to sign with. */
  assert_int_equal(por_signer_open(dir, &s), -ERR_POR_KEY);
  assert_int_equal(por_key_rotate(dir, 1000, id), 0); /* creates, then rotates */
  assert_int_equal(mode_of(dir), 0700);
  snprintf(path, sizeof path, "%s/%s.key", dir, id);
  assert_int_equal(por_signer_open(dir, &s), 0);
  por_signer_free(s);
  s = NULL;

  assert_int_equal(chmod(path, 0644), 0);
  assert_int_equal(por_signer_open(dir, &s), -ERR_POR_KEY);
  assert_null(s);
  assert_int_equal(chmod(path, 0640), 0);
  assert_int_equal(por_signer_open(dir, &s), -ERR_POR_KEY);
  assert_int_equal(chmod(path, 0400), 0); /* stricter is fine */
  assert_int_equal(por_signer_open(dir, &s), 0);
  por_signer_free(s);
  s = NULL;
  assert_int_equal(chmod(path, 0600), 0);

  /* A directory open to others is refused, for signing and for new keys. */
  assert_int_equal(chmod(dir, 0755), 0);
  assert_int_equal(por_signer_open(dir, &s), -ERR_POR_KEY);
  assert_int_equal(por_key_rotate(dir, 2000, NULL), -ERR_POR_KEY);
  assert_int_equal(chmod(dir, 0700), 0);

  /* A secret that does not match its public file, or a broken pointer. */
  char cur[400];
  snprintf(cur, sizeof cur, "%s/current", dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite("0123456789abcdef0123456789abcdef", 1, 32, f), 32);
  fclose(f);
  assert_int_equal(por_signer_open(dir, &s), -ERR_POR_KEY);
  f = fopen(cur, "wb");
  assert_non_null(f);
  fputs("nothex\n", f);
  fclose(f);
  assert_int_equal(por_signer_open(dir, &s), -ERR_POR_KEY);
  assert_null(s);
  ts_rmtree(tmp);
}

int main(void)
{
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_answer),
      cmocka_unit_test(test_tampering),
      cmocka_unit_test(test_store_and_rotation),
      cmocka_unit_test(test_permissions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
