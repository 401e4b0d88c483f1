/*
 * GET /.well-known/backstock-keys.json: the public keys of the attestation
 * key store (reconcile/por_sign_keys.c, docs/attestation.md), retired ones
 * too, oldest first, the current one marked; canonical JSON as
 * por_keys_document() writes it.  Public, no body, nothing changed.  A
 * service without a key store (ctx->attestation_key_dir NULL) lists none.
 */
#include <stdlib.h>

#include "api/api.h"
#include "reconcile/reconcile.h"

int api_wellknown_keys_get(struct api_request *req)
{
  const struct api_ctx *ctx = api_req_ctx(req);
  struct por_pubkey *keys = NULL;
  size_t n = 0, len = 0;
  char *json = NULL;
  int rc = 0;
  if (ctx->attestation_key_dir != NULL)
    rc = por_keys_load(ctx->attestation_key_dir, &keys, &n);
  if (rc == 0)
    rc = por_keys_document(keys, n, &json, &len);
  free(keys);
  if (rc != 0)
    return api_reply_error(req, rc, NULL);
  rc = api_reply_json(req, 200, json, len);
  free(json);
  return rc;
}
