/*
 * The public attestation endpoints (no key; docs/attestation.md):
 *   GET /v1/attestations                 history, oldest first, paginated
 *   GET /v1/attestations/latest          the newest signed document
 *   GET /v1/attestations/{id}            one signed document
 *   GET /v1/attestations/{id}/proofs/{isin}/{holder}
 *                                        a holder's inclusion proof and the root
 * Documents are served byte for byte as signed (reconcile/attest*.c);
 * proofs are rebuilt from the attestation's holder export under
 * ctx->data_dir/attestations/<id>/.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "reconcile/reconcile.h"

static const struct db_stmt q_page = {
    "api_attest_page",
    "SELECT id, (extract(epoch from created) * 1000)::bigint, hash, coalesce(previous_hash, '')"
    " FROM attestations WHERE id > $1::bigint ORDER BY id LIMIT $2::int",
    2,
};

static void show(struct api_json *j, PGresult *r, int row)
{
  api_json_obj(j);
  api_json_key(j, "id");
  api_json_int(j, strtoll(PQgetvalue(r, row, 0), NULL, 10));
  api_json_key(j, "created");
  api_json_time(j, strtoll(PQgetvalue(r, row, 1), NULL, 10));
  api_json_key(j, "hash");
  api_json_str(j, PQgetvalue(r, row, 2));
  api_json_key(j, "previous");
  if (PQgetvalue(r, row, 3)[0] == '\0')
    api_json_null(j);
  else
    api_json_str(j, PQgetvalue(r, row, 3));
  api_json_obj_end(j);
}

static int rows(struct db_conn *c, struct api_page_out *o, void *cls)
{
  (void)cls;
  return api_page_query(c, &q_page, o, show);
}

int api_attestations_get(struct api_request *req)
{
  static const struct api_page_list l = {NULL, rows, NULL};
  return api_page_get(req, &l, NULL);
}

/* The id of the path ("latest": 0); -1 when not an id. */
static int64_t path_id(struct api_request *req)
{
  const char *s = api_req_param(req, "id");
  if (s == NULL)
    return 0;
  char *end = NULL;
  long long v = strtoll(s, &end, 10);
  if (s[0] < '1' || s[0] > '9' || *end != '\0' || v <= 0)
    return -1;
  return v;
}

static int reply_doc(struct api_request *req, int64_t id)
{
  struct db_conn *c;
  if (id < 0)
    return api_reply_error(req, ERR_API_NOT_FOUND, "no such attestation");
  int rc = api_req_db(req, &c);
  if (rc != 0)
    return api_reply_error(req, rc, NULL);
  char *doc = NULL;
  size_t len = 0;
  int64_t got = 0;
  rc = attest_get(c, id, &got, &doc, &len);
  if (rc != 0)
    return api_reply_error(req, rc, rc == -ERR_API_NOT_FOUND ? "no attestation yet" : NULL);
  rc = api_reply_json(req, 200, doc, len);
  free(doc);
  return rc;
}

int api_attestation_latest_get(struct api_request *req)
{
  return reply_doc(req, 0);
}

int api_attestation_get(struct api_request *req)
{
  return reply_doc(req, path_id(req));
}

int api_attestation_proof_get(struct api_request *req)
{
  const struct api_ctx *ctx = api_req_ctx(req);
  int64_t id = path_id(req);
  const char *isin = api_req_param(req, "isin"), *holder = api_req_param(req, "holder");
  if (id <= 0 || isin == NULL || holder == NULL || ctx->data_dir == NULL)
    return api_reply_error(req, ERR_API_NOT_FOUND, "no such attestation");
  char h[128];
  if (util_strlcpy(h, holder, sizeof h) != 0)
    return api_reply_error(req, ERR_API_NOT_FOUND, "no such ISIN or holder");
  for (char *p = h; *p != '\0'; p++) /* addresses are kept in lower case */
    if (*p >= 'A' && *p <= 'F')
      *p = (char)(*p - 'A' + 'a');
  char *json = NULL;
  size_t len = 0;
  int rc = attest_proof(ctx->data_dir, id, isin, h, &json, &len);
  if (rc != 0)
    return api_reply_error(req, rc, rc == -ERR_API_NOT_FOUND ? "no such ISIN or holder" : NULL);
  rc = api_reply_json(req, 200, json, len);
  free(json);
  return rc;
}
