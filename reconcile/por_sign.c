/*
 * Attestation signatures (docs/attestation.md): the signer (an Ed25519
 * secret key in sodium_malloc'd memory, wiped when freed), the attestation
 * document around a canonical JSON payload, its verification and its
 * hash for the next attestation's "previous" member.
 *
 * Invariants: the signed bytes are exactly POR_SIGN_DOMAIN followed by the
 * payload's canonical bytes; a document is accepted only in its one
 * canonical shape, so each document has exactly one text and one hash.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "reconcile/reconcile.h"

struct por_signer {
  unsigned char *sk; /* crypto_sign_SECRETKEYBYTES, sodium_malloc'd */
  uint8_t pk[crypto_sign_PUBLICKEYBYTES];
  char key_id[POR_KEY_ID_LEN + 1];
};

/* The document's fixed parts around the payload, key id and signature. */
static const char DOC_HEAD[] = "{\"payload\":";
static const char DOC_SIG[] = ",\"signature\":{\"alg\":\"ed25519\",\"key_id\":\"";
static const char DOC_MID[] = "\",\"sig\":\"";
static const char DOC_TAIL[] = "\"}}";

#define HEAD_LEN (sizeof DOC_HEAD - 1)
#define SUFFIX_LEN                                                                                 \
  (sizeof DOC_SIG - 1 + POR_KEY_ID_LEN + sizeof DOC_MID - 1 + POR_SIG_B64_LEN + sizeof DOC_TAIL - 1)

void por_key_id(const uint8_t pk[32], char id[POR_KEY_ID_LEN + 1])
{
  uint8_t h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, pk, 32);
  sodium_bin2hex(id, POR_KEY_ID_LEN + 1, h, POR_KEY_ID_LEN / 2);
}

int por_signer_from_seed(const uint8_t seed[32], struct por_signer **out)
{
  struct por_signer *s = calloc(1, sizeof *s);
  if (s == NULL)
    return -ERR_NOMEM;
  s->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
  if (s->sk == NULL) {
    free(s);
    return -ERR_NOMEM;
  }
  crypto_sign_seed_keypair(s->pk, s->sk, seed);
  por_key_id(s->pk, s->key_id);
  *out = s;
  return 0;
}

void por_signer_free(struct por_signer *s)
{
  if (s == NULL)
    return;
  sodium_free(s->sk); /* wipes the memory before freeing it */
  sodium_memzero(s, sizeof *s);
  free(s);
}

const char *por_signer_key_id(const struct por_signer *s)
{
  return s->key_id;
}

const uint8_t *por_signer_public(const struct por_signer *s)
{
  return s->pk;
}

/* A NUL-terminated copy of @len bytes, or NULL. */
static char *dup_n(const char *p, size_t len)
{
  char *c = malloc(len + 1);
  if (c != NULL) {
    memcpy(c, p, len);
    c[len] = '\0';
  }
  return c;
}

/*
 * Whether @p (@len bytes) is a JSON object in canonical form: no NUL,
 * starts with '{', and canon() gives back the same bytes.  Returns 0,
 * -ERR_POR_CANONICAL or -ERR_NOMEM.
 */
/*
 * @p (not NUL-terminated, no NUL inside) in canonical form, into *out
 * (malloc'd, *out_len bytes).  Returns 0, -ERR_POR_CANONICAL or -ERR_NOMEM.
 */
static int canonical_of(const char *p, size_t len, por_canon_fn canon, char **out, size_t *out_len)
{
  char *copy;
  if (memchr(p, '\0', len) != NULL)
    return -ERR_POR_CANONICAL;
  if ((copy = dup_n(p, len)) == NULL)
    return -ERR_NOMEM;
  int rc = canon(copy, out, out_len);
  free(copy);
  if (rc == -ERR_NOMEM)
    return rc;
  return rc != 0 ? -ERR_POR_CANONICAL : 0;
}

static int check_canonical(const char *p, size_t len, por_canon_fn canon)
{
  char *c = NULL;
  size_t clen = 0;
  if (len == 0 || p[0] != '{')
    return -ERR_POR_CANONICAL;
  int rc = canonical_of(p, len, canon, &c, &clen);
  if (rc != 0)
    return rc;
  rc = clen == len && memcmp(c, p, len) == 0 ? 0 : -ERR_POR_CANONICAL;
  free(c);
  return rc;
}

/* DOMAIN || payload, malloc'd; NULL when out of memory. */
static unsigned char *signed_bytes(const char *payload, size_t len, size_t *n)
{
  size_t dl = sizeof POR_SIGN_DOMAIN - 1;
  unsigned char *m = malloc(dl + len + 1);
  if (m == NULL)
    return NULL;
  memcpy(m, POR_SIGN_DOMAIN, dl);
  memcpy(m + dl, payload, len);
  *n = dl + len;
  return m;
}

int por_attest_sign(const struct por_signer *s, const char *payload, size_t len, por_canon_fn canon,
                    char **doc, size_t *doc_len)
{
  uint8_t sig[crypto_sign_BYTES];
  char b64[POR_SIG_B64_LEN + 1];
  size_t mlen;
  int rc = check_canonical(payload, len, canon);
  if (rc != 0)
    return rc;
  unsigned char *m = signed_bytes(payload, len, &mlen);
  if (m == NULL)
    return -ERR_NOMEM;
  crypto_sign_detached(sig, NULL, m, mlen, s->sk);
  free(m);
  sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);

  size_t total = HEAD_LEN + len + SUFFIX_LEN;
  char *d = malloc(total + 1), *w = d;
  if (d == NULL)
    return -ERR_NOMEM;
  memcpy(w, DOC_HEAD, HEAD_LEN);
  w += HEAD_LEN;
  memcpy(w, payload, len);
  w += len;
  memcpy(w, DOC_SIG, sizeof DOC_SIG - 1);
  w += sizeof DOC_SIG - 1;
  memcpy(w, s->key_id, POR_KEY_ID_LEN);
  w += POR_KEY_ID_LEN;
  memcpy(w, DOC_MID, sizeof DOC_MID - 1);
  w += sizeof DOC_MID - 1;
  memcpy(w, b64, POR_SIG_B64_LEN);
  w += POR_SIG_B64_LEN;
  memcpy(w, DOC_TAIL, sizeof DOC_TAIL);
  *doc = d;
  *doc_len = total;
  return 0;
}

static bool is_lower_hex(const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
      return false;
  return true;
}

int por_attest_verify(const char *doc, size_t len, const struct por_pubkey *keys, size_t n,
                      por_canon_fn canon, const char **payload, size_t *payload_len,
                      const struct por_pubkey **key)
{
  uint8_t sig[crypto_sign_BYTES];
  char b64[POR_SIG_B64_LEN + 1];
  size_t siglen = 0, mlen;

  /* The shape: head, payload, then the signature object of fixed length. */
  if (len < HEAD_LEN + 2 + SUFFIX_LEN || memcmp(doc, DOC_HEAD, HEAD_LEN) != 0)
    return -ERR_POR_CANONICAL;
  const char *p = doc + HEAD_LEN;
  size_t plen = len - HEAD_LEN - SUFFIX_LEN;
  const char *t = p + plen, *id = t + sizeof DOC_SIG - 1;
  const char *mid = id + POR_KEY_ID_LEN, *sg = mid + sizeof DOC_MID - 1;
  const char *tail = sg + POR_SIG_B64_LEN;
  if (memcmp(t, DOC_SIG, sizeof DOC_SIG - 1) != 0 || !is_lower_hex(id, POR_KEY_ID_LEN) ||
      memcmp(mid, DOC_MID, sizeof DOC_MID - 1) != 0 ||
      memcmp(tail, DOC_TAIL, sizeof DOC_TAIL - 1) != 0)
    return -ERR_POR_CANONICAL;
  /* The signature: standard base64 of exactly 64 bytes, in its one spelling. */
  if (sodium_base642bin(sig, sizeof sig, sg, POR_SIG_B64_LEN, NULL, &siglen, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      siglen != sizeof sig)
    return -ERR_POR_CANONICAL;
  sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
  if (memcmp(b64, sg, POR_SIG_B64_LEN) != 0)
    return -ERR_POR_CANONICAL;
  /* The payload: one canonical object (which also rules out a member
   * smuggled between "payload" and "signature"). */
  int rc = check_canonical(p, plen, canon);
  if (rc != 0)
    return rc;

  const struct por_pubkey *k = NULL;
  for (size_t i = 0; i < n && k == NULL; i++)
    if (memcmp(keys[i].key_id, id, POR_KEY_ID_LEN) == 0 && keys[i].key_id[POR_KEY_ID_LEN] == '\0')
      k = &keys[i];
  if (k == NULL)
    return -ERR_POR_SIGNATURE;
  unsigned char *m = signed_bytes(p, plen, &mlen);
  if (m == NULL)
    return -ERR_NOMEM;
  rc = crypto_sign_verify_detached(sig, m, mlen, k->pk) == 0 ? 0 : -ERR_POR_SIGNATURE;
  free(m);
  if (rc != 0)
    return rc;
  if (payload != NULL)
    *payload = p;
  if (payload_len != NULL)
    *payload_len = plen;
  if (key != NULL)
    *key = k;
  return 0;
}

int por_attest_hash(const char *doc, size_t len, por_canon_fn canon, char hex[POR_HASH_HEX_LEN + 1])
{
  uint8_t h[crypto_hash_sha256_BYTES];
  char *c = NULL;
  size_t clen = 0;
  int rc = canonical_of(doc, len, canon, &c, &clen);
  if (rc != 0)
    return rc;
  crypto_hash_sha256(h, (const unsigned char *)c, clen);
  free(c);
  sodium_bin2hex(hex, POR_HASH_HEX_LEN + 1, h, sizeof h);
  return 0;
}
