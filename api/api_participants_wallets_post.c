/*
 * POST /v1/admin/aps/{id}/wallets (issuer admin): put a wallet on the
 * allow-list of AP {id}.  Body: address ("0x" and 40 hex digits, either
 * case; kept in lower case), label (optional, 0-100 bytes of text).  201
 * {"wallet": ...}; the same AP's revoked wallet is made active again
 * (same id).  404 when {id} is not an AP; 409 api_conflict when the
 * address is listed already (active, or another AP's).  Audited as
 * wallet.add.
 */
#include <string.h>

#include "api/api_participants_int.h"

struct body {
  char address[API_ADDRESS_LEN + 1];
  char label[AP_LABEL_MAX];
};

struct ctx {
  int64_t ap;
  struct body b;
};

static const struct api_field fields[] = {
    API_FIELD_ADDRESS("address", struct body, address, API_F_REQUIRED),
    API_FIELD_STRING("label", struct body, label, API_F_EMPTY, API_CS_TEXT),
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct ctx *x = cls;
  struct ap_wallet w;
  struct api_json d, j;
  int rc = ap_wallet_add_in(c, x->ap, x->b.address, x->b.label, &w);
  if (rc == -ERR_API_NOT_FOUND)
    return api_txn_error(t, rc, "no AP of this id");
  if (rc == -ERR_API_CONFLICT)
    return api_txn_error(t, rc, "this address is on an allow-list already");
  if (rc != 0)
    return api__part_fail(t, rc, NULL);
  api__part_details(&d, w.ap);
  api_json_key(&d, "address");
  api_json_str(&d, w.address);
  api_json_key(&d, "label");
  api_json_str(&d, w.label);
  api_txn_reply_open(&j, "wallet");
  api__show_wallet(&j, &w);
  return api__part_reply(c, t, &d, "wallet.add", "wallet", w.id, 201, &j);
}

int api_participants_wallets_post(struct api_request *req)
{
  struct ctx x;
  memset(&x, 0, sizeof x);
  if (api_parse_id(api_req_param(req, "id"), &x.ap) != 0)
    return api_reply_error(req, ERR_API_NOT_FOUND, "no AP of this id");
  return api_idem_post(req, fields, sizeof fields / sizeof fields[0], &x.b, "wallets_post", work,
                       &x);
}
