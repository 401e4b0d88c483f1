/*
 * Signed instructions of the client (backstock_client.h): an AP's
 * Ed25519 key is a 32-byte seed in a file of its own (base64 or hex);
 * the public key derived from it is what the AP registers
 * (POST /v1/signing-keys).  The signature covers exactly
 * "backstock-order-v1\n" METHOD "\n" PATH "\n" IDEMPOTENCY-KEY "\n" BODY,
 * the bytes sent, and travels as X-Backstock-Signature
 * "keyid=<id>,sig=<base64>".  Seeds and secret keys are wiped after use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "common/common.h"
#include "services/backstock_client.h"

static int hexval(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* The seed of the text [s, s + n): 64 hex digits or base64 of 32 bytes. */
static int parse_seed(const char *s, size_t n, unsigned char seed[32])
{
  size_t got = 0;
  const char *end = NULL;
  if (n == 64) {
    for (size_t i = 0; i < 32; i++) {
      int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
      if (hi < 0 || lo < 0)
        goto b64;
      seed[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
  }
b64:;
  static const int variants[] = {
      sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
      sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING};
  for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++)
    if (sodium_base642bin(seed, 32, s, n, NULL, &got, &end, variants[v]) == 0 && got == 32 &&
        end == s + n)
      return 0;
  sodium_memzero(seed, 32);
  return -ERR_INVALID_ARGUMENT;
}

int client_sign_key_load(const char *path, unsigned char seed[32])
{
  char *text = NULL;
  size_t len = 0;
  if (util_read_file(path, 4096, &text, &len) != 0)
    return -ERR_IO;
  size_t a = 0, b = len;
  while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r' || text[a] == '\n'))
    a++;
  while (b > a &&
         (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r' || text[b - 1] == '\n'))
    b--;
  int rc = parse_seed(text + a, b - a, seed);
  sodium_memzero(text, len);
  free(text);
  return rc;
}

unsigned char *client_sign_payload(const char *method, const char *path, const char *idem,
                                   const unsigned char *body, size_t body_len, size_t *len)
{
  size_t pre = strlen(CLIENT_SIGN_PREFIX), m = strlen(method), p = strlen(path), k = strlen(idem);
  size_t n = pre + m + 1 + p + 1 + k + 1 + body_len;
  unsigned char *buf = malloc(n + 1);
  if (buf == NULL)
    return NULL;
  unsigned char *w = buf;
  memcpy(w, CLIENT_SIGN_PREFIX, pre);
  w += pre;
  memcpy(w, method, m);
  w += m;
  *w++ = '\n';
  memcpy(w, path, p);
  w += p;
  *w++ = '\n';
  memcpy(w, idem, k);
  w += k;
  *w++ = '\n';
  if (body_len > 0)
    memcpy(w, body, body_len);
  buf[n] = '\0';
  *len = n;
  return buf;
}

int client_sign_header(const unsigned char seed[32], const char *key_id,
                       const unsigned char *payload, size_t len, char out[CLIENT_SIG_MAX])
{
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  unsigned char sig[crypto_sign_BYTES];
  char b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  crypto_sign_seed_keypair(pk, sk, seed);
  crypto_sign_detached(sig, NULL, payload, len, sk);
  sodium_memzero(sk, sizeof sk);
  sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
  int n = snprintf(out, CLIENT_SIG_MAX, "keyid=%s,sig=%s", key_id, b64);
  return n < 0 || n >= CLIENT_SIG_MAX ? -ERR_TOO_LONG : 0;
}

void client_sign_public(const unsigned char seed[32], char out[45])
{
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, seed);
  sodium_memzero(sk, sizeof sk);
  sodium_bin2base64(out, 45, pk, sizeof pk, sodium_base64_VARIANT_ORIGINAL);
}

int client_sign_generate(const char *path, char pub[45])
{
  unsigned char seed[32];
  char b64[45], line[46];
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return -ERR_IO;
  randombytes_buf(seed, sizeof seed);
  sodium_bin2base64(b64, sizeof b64, seed, sizeof seed, sodium_base64_VARIANT_ORIGINAL);
  client_sign_public(seed, pub);
  sodium_memzero(seed, sizeof seed);
  int n = snprintf(line, sizeof line, "%s\n", b64);
  sodium_memzero(b64, sizeof b64);
  bool ok = n > 0 && write(fd, line, (size_t)n) == (ssize_t)n && fsync(fd) == 0;
  int saved = errno;
  sodium_memzero(line, sizeof line);
  if (close(fd) != 0)
    ok = false;
  if (!ok) {
    unlink(path);
    errno = saved;
    return -ERR_IO;
  }
  return 0;
}
