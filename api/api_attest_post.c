/*
 * POST /v1/admin/attestations (issuer admin, Idempotency-Key; body none or
 * {}): publish an attestation now.  The service's callback
 * (ctx->attest_publish: one reconciler pass, then the next attestation
 * over the latest runs) runs on the request's connection outside any
 * transaction, since both commit on their own; then, in one transaction
 * (api_idem_run()), the audit record "attestation.publish" and the
 * Idempotency-Key's record of the reply: 201 and the signed document,
 * byte for byte as GET /v1/attestations/{id} serves it.
 *
 * A key already recorded publishes nothing (its reply is sent again, or
 * 409 when it was used for another request).  Two requests racing with
 * one new key, or a crash between the publication and the record, may
 * publish one attestation more than replies tell of: harmless (no money
 * moves; the chain stays linear), documented in docs/attestation.md.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "reconcile/reconcile.h"

static const struct db_stmt q_seen = {
    "api_attest_idem_seen",
    "SELECT 1 FROM api_idempotency WHERE principal = $1::bigint AND key = $2",
    2,
};

struct publish {
  struct attest_result res;
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct publish *x = cls;
  int64_t who = api_txn_principal(t)->id;
  if (x->res.id <= 0) /* the key's record went away between the two looks */
    return api_txn_error(t, ERR_API_IDEMPOTENCY_CONFLICT,
                         "send the request again with a new Idempotency-Key");
  char *doc = NULL;
  size_t len = 0;
  int64_t got = 0;
  int rc = attest_get(c, x->res.id, &got, &doc, &len);
  if (rc == -ERR_DB_CONFLICT)
    return DB_QS_SOFT;
  if (rc != 0)
    return rc == -ERR_API_NOT_FOUND ? api_txn_error(t, ERR_INTERNAL, "the attestation vanished")
                                    : DB_QS_HARD;
  struct api_json d, j;
  char target[48];
  api_json_init(&d);
  api_json_obj(&d);
  api_json_key(&d, "hash");
  api_json_str(&d, x->res.hash);
  api_json_key(&d, "isins");
  api_json_int(&d, (int64_t)x->res.n_isins);
  api_json_obj_end(&d);
  snprintf(target, sizeof target, "attestation:%lld", (long long)x->res.id);
  enum db_qs qs = api__audit(c, who, "attestation.publish", target, &d);
  if (qs < 0) {
    free(doc);
    return qs;
  }
  api_json_init(&j);
  api_json_raw(&j, doc, len);
  free(doc);
  qs = api_txn_reply(t, 201, &j, NULL);
  api_json_free(&j);
  return qs;
}

/* Whether the caller's Idempotency-Key is recorded already: 1, 0 or a negative error. */
static int key_seen(struct api_request *req, struct db_conn *c)
{
  char pid[24];
  const struct api_principal *p = api_req_principal(req);
  snprintf(pid, sizeof pid, "%lld", (long long)p->id);
  const char *params[] = {pid, req->idem_key};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_seen, params, &r);
  if (r != NULL)
    PQclear(r);
  if (qs < 0)
    return qs == DB_QS_SOFT ? -ERR_DB_CONFLICT : -ERR_DB_HARD;
  return qs > 0 ? 1 : 0;
}

int api_admin_attestations_post(struct api_request *req)
{
  const struct api_ctx *ctx = api_req_ctx(req);
  struct publish x;
  char hint[API_HINT_MAX];
  size_t len;
  struct db_conn *c;
  memset(&x, 0, sizeof x);
  const char *body = api_req_body(req, &len);
  int rc = api_body_parse(body, len, NULL, 0, NULL, NULL, hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  if (ctx->attest_publish == NULL)
    return api_reply_error(req, ERR_API_UNAVAILABLE,
                           "this service does not publish attestations on demand");
  if ((rc = api_req_db(req, &c)) != 0 || (rc = db_ensure(c)) != 0)
    return api_reply_error(req, rc, NULL);
  if ((rc = key_seen(req, c)) < 0)
    return api_reply_error(req, rc, NULL);
  if (rc == 0) {
    rc = ctx->attest_publish(ctx->attest_publish_cls, c, &x.res);
    if (rc == -ERR_POR_NOTHING)
      return api_reply_error(req, rc,
                             "no reconciliation run yet: an attestation needs at least one "
                             "complete custodian statement reconciled");
    if (rc != 0) {
      log_msg(LOGL_WARN, "api", "attestation on demand: %s", err_text(rc));
      return api_reply_error(req, rc, NULL);
    }
  }
  return api_idem_run(req, "attestation_publish", work, &x);
}
