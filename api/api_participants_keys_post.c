/*
 * POST /v1/signing-keys (AP): register an Ed25519 public key of the
 * calling AP.  Body: public_key (standard base64 with padding of the 32
 * bytes, 44 characters), label (optional, 0-100 bytes of text).  201
 * {"signing_key": ...}; its id is the keyid of X-Backstock-Signature.
 * From then on, while the AP has an active key, its order instructions
 * must be signed (docs/participants.md).  400 api_field for a text that
 * is not such a key (or a point of small order); 409 api_conflict when
 * the key is registered already (by anyone, revoked ones too).  Audited
 * as signing_key.create (a key's whole life is in the audit log).
 */
#include <string.h>

#include <sodium.h>

#include "api/api_participants_int.h"

struct body {
  char public_key[64]; /* one more than a key's text: longer texts are seen and refused */
  char label[AP_LABEL_MAX];
};

struct ctx {
  struct body b;
  unsigned char pk[32];
};

static const struct api_field fields[] = {
    API_FIELD_STRING("public_key", struct body, public_key, API_F_REQUIRED, API_CS_TEXT),
    API_FIELD_STRING("label", struct body, label, API_F_EMPTY, API_CS_TEXT),
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct ctx *x = cls;
  const struct api_principal *me = api_txn_principal(t);
  struct ap_signing_key k;
  struct api_json d, j;
  char b64[API_PUBKEY_B64];
  int rc = ap_signing_key_add_in(c, me->id, x->pk, x->b.label, &k);
  if (rc == -ERR_API_CONFLICT)
    return api_txn_error(t, rc, "this public key is registered already");
  if (rc != 0)
    return api__part_fail(t, rc, NULL);
  sodium_bin2base64(b64, sizeof b64, k.public_key, 32, sodium_base64_VARIANT_ORIGINAL);
  api__part_details(&d, k.ap);
  api_json_key(&d, "public_key");
  api_json_str(&d, b64);
  api_json_key(&d, "label");
  api_json_str(&d, k.label);
  api_txn_reply_open(&j, "signing_key");
  api__show_signing_key(&j, &k);
  return api__part_reply(c, t, &d, "signing_key.create", "signing_key", k.id, 201, &j);
}

/*
 * Whether @text is exactly the base64 of @pk: libsodium (1.0.18) takes
 * some bytes >= 0x80 for base64 letters, so a decoded text is encoded
 * again and compared.
 */
static bool canonical(const unsigned char pk[32], const char *text)
{
  char again[API_PUBKEY_B64];
  sodium_bin2base64(again, sizeof again, pk, 32, sodium_base64_VARIANT_ORIGINAL);
  return strcmp(again, text) == 0;
}

int api_participants_keys_post(struct api_request *req)
{
  struct ctx x;
  char hint[API_HINT_MAX];
  size_t len, got = 0;
  const char *end = NULL;
  memset(&x, 0, sizeof x);
  const char *body = api_req_body(req, &len);
  int rc = api_body_parse(body, len, fields, sizeof fields / sizeof fields[0], &x.b, NULL, hint,
                          sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  size_t n = strlen(x.b.public_key);
  if (n != API_PUBKEY_B64 - 1 ||
      sodium_base642bin(x.pk, sizeof x.pk, x.b.public_key, n, NULL, &got, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      got != sizeof x.pk || end != x.b.public_key + n || !canonical(x.pk, x.b.public_key))
    return api_reply_error(req, ERR_API_FIELD,
                           "field \"public_key\": want the standard base64 (with padding, 44 "
                           "characters) of a 32-byte Ed25519 public key");
  if (sodium_init() < 0 || crypto_core_ed25519_is_valid_point(x.pk) != 1)
    return api_reply_error(req, ERR_API_FIELD,
                           "field \"public_key\": not a valid Ed25519 public key");
  return api_idem_run(req, "signing_keys_post", work, &x);
}
