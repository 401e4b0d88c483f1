/*
 * GET /healthz: is the service able to work?  200 when the database
 * answers and its schema is the one this binary expects; 503 otherwise,
 * with the database's state: "up", "down" or "schema_mismatch".
 * Public, no body, nothing changed.
 */
#include <string.h>

#include <yajl/yajl_gen.h>

#include "api/api.h"

#define KEY(g, s) yajl_gen_string(g, (const unsigned char *)(s), strlen(s))

int api_healthz_get(struct api_request *req)
{
  const struct api_ctx *ctx = api_req_ctx(req);
  struct db_conn *c = NULL;
  unsigned version = 0;
  const char *state = "down";
  int rc = db_pool_get(ctx->pool, 2000, &c);
  if (rc == 0) {
    rc = db_schema_version(c, &version);
    db_pool_put(ctx->pool, c);
  }
  if (rc == 0)
    state = version == ctx->schema_expected ? "up" : "schema_mismatch";
  bool ok = strcmp(state, "up") == 0;

  yajl_gen g = yajl_gen_alloc(NULL);
  if (g == NULL)
    return api_reply_error(req, ERR_NOMEM, NULL);
  yajl_gen_map_open(g);
  KEY(g, "status");
  KEY(g, ok ? "ok" : "unavailable");
  KEY(g, "version");
  KEY(g, BACKSTOCK_VERSION);
  KEY(g, "uptime_s");
  yajl_gen_integer(g, (util_mono_ms() - ctx->started_mono_ms) / 1000);
  KEY(g, "database");
  yajl_gen_map_open(g);
  KEY(g, "state");
  KEY(g, state);
  KEY(g, "embedded");
  yajl_gen_bool(g, ctx->db_embedded);
  KEY(g, "schema_version");
  if (rc == 0)
    yajl_gen_integer(g, version);
  else
    yajl_gen_null(g);
  KEY(g, "expected_schema_version");
  yajl_gen_integer(g, ctx->schema_expected);
  yajl_gen_map_close(g);
  yajl_gen_map_close(g);
  const unsigned char *buf;
  size_t len;
  yajl_gen_get_buf(g, &buf, &len);
  rc = api_reply_json(req, ok ? 200 : 503, (const char *)buf, len);
  yajl_gen_free(g);
  return rc;
}
