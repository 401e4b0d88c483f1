/*
 * The HTTP server over libmicrohttpd: listening, request ids, body size
 * limits, routing (with "{name}" path segments), the key and role check
 * of every route that is not public, the Idempotency-Key header of every
 * POST, and the reply helpers.  Handlers run on MHD's worker threads; each
 * request owns a struct api_request (its "arena", api_int.h) freed in one
 * place, request_done(); its database connection goes back to the pool
 * as soon as the handler has replied.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "api/api_alerts_int.h"
#include "api/api_corpact_int.h"
#include "api/api_instruments_int.h"
#include "api/api_orders_int.h"
#include "api/api_participants_int.h"
#include "api/api_recon_int.h"
#include "api/api_int.h"

struct api_server {
  struct MHD_Daemon *mhd;
  const struct api_ctx *ctx;
  uint16_t port;
};

#define ADMIN_READ (API_ROLE_ISSUER_ADMIN | API_ROLE_AUDITOR)

/* Every endpoint; api/openapi.json documents exactly these (a test checks). */
static const struct api_route routes[] = {
    {"GET", "/healthz", api_healthz_get, API_ROLE_PUBLIC},
    {"GET", "/v1/openapi.json", api_openapi_get, API_ROLE_PUBLIC},
    {"GET", "/.well-known/backstock-keys.json", api_wellknown_keys_get, API_ROLE_PUBLIC},
    {"GET", "/v1/attestations", api_attestations_get, API_ROLE_PUBLIC},
    {"GET", "/v1/attestations/latest", api_attestation_latest_get, API_ROLE_PUBLIC},
    {"GET", "/v1/attestations/{id}", api_attestation_get, API_ROLE_PUBLIC},
    {"GET", "/v1/attestations/{id}/proofs/{isin}/{holder}", api_attestation_proof_get,
     API_ROLE_PUBLIC},
    {"GET", "/v1/attestations/{id}/evidence", api_attestation_evidence_get, ADMIN_READ},
    {"GET", "/v1/attestations/{id}/evidence/attestation.json", api_attestation_evidence_file_get,
     ADMIN_READ},
    {"GET", "/v1/attestations/{id}/evidence/{dir}/{name}", api_attestation_evidence_file_get,
     ADMIN_READ},
    {"POST", "/v1/admin/attestations", api_admin_attestations_post, API_ROLE_ISSUER_ADMIN},
    {"GET", "/v1/me", api_me_get, API_ROLES_ANY},
    {"POST", "/v1/admin/principals", api_admin_principals_post, API_ROLE_ISSUER_ADMIN},
    {"GET", "/v1/admin/principals", api_admin_principals_get, ADMIN_READ},
    {"POST", "/v1/admin/principals/{id}/keys", api_admin_principal_keys_post,
     API_ROLE_ISSUER_ADMIN},
    {"POST", "/v1/admin/keys/{id}/revoke", api_admin_key_revoke_post, API_ROLE_ISSUER_ADMIN},
    {"GET", "/v1/admin/audit", api_admin_audit_get, ADMIN_READ},
    {"POST", "/v1/admin/instruments", api_admin_instruments_post, API_ROLE_ISSUER_ADMIN},
    {"GET", "/v1/instruments", api_instruments_get, API_ROLES_ANY},
    {"GET", "/v1/instruments/{symbol}", api_instrument_get, API_ROLES_ANY},
    {"POST", "/v1/admin/instruments/{symbol}", api_admin_instrument_post, API_ROLE_ISSUER_ADMIN},
    {"POST", "/v1/admin/pauses", api_admin_pauses_post, API_ROLE_ISSUER_ADMIN},
    {"GET", "/v1/pauses", api_pauses_get, API_ROLES_ANY},
    {"POST", "/v1/orders/mint", api_orders_mint_post, API_ROLE_AP},
    {"POST", "/v1/orders/redeem", api_orders_redeem_post, API_ROLE_AP},
    {"GET", "/v1/orders", api_orders_get, API_ROLES_ANY},
    {"GET", "/v1/orders/{id}", api_order_get, API_ROLES_ANY},
    {"GET", "/v1/orders/{id}/events", api_order_events_get, API_ROLES_ANY},
    {"POST", "/v1/orders/{id}/cancel", api_order_cancel_post, API_ROLE_AP | API_ROLE_ISSUER_ADMIN},
    {"POST", "/v1/admin/orders/{id}/funding", api_admin_order_funding_post, API_ROLE_ISSUER_ADMIN},
    {"POST", "/v1/admin/orders/{id}/payouts", api_admin_order_payouts_post, API_ROLE_ISSUER_ADMIN},
    {"POST", "/v1/admin/aps/{id}/wallets", api_participants_wallets_post, API_ROLE_ISSUER_ADMIN},
    {"POST", "/v1/admin/wallets/{id}/revoke", api_participants_wallet_revoke_post,
     API_ROLE_ISSUER_ADMIN},
    {"GET", "/v1/wallets", api_participants_wallets_get, API_ROLES_ANY},
    {"POST", "/v1/signing-keys", api_participants_keys_post, API_ROLE_AP},
    {"GET", "/v1/signing-keys", api_participants_keys_get, API_ROLES_ANY},
    {"POST", "/v1/signing-keys/{id}/revoke", api_participants_key_revoke_post,
     API_ROLE_AP | API_ROLE_ISSUER_ADMIN},
    {"POST", "/v1/admin/limits", api_participants_limits_post, API_ROLE_ISSUER_ADMIN},
    {"GET", "/v1/admin/limits", api_participants_limits_get, ADMIN_READ},
    {"GET", "/v1/balances", api_participants_balances_get, API_ROLES_ANY},
    {"GET", "/v1/books/check", api_participants_books_check_get, ADMIN_READ},
    {"POST", "/v1/admin/instruments/{symbol}/corporate-actions", api_corpact_announce_post,
     API_ROLE_ISSUER_ADMIN},
    {"GET", "/v1/instruments/{symbol}/corporate-actions", api_corpact_list_get, API_ROLES_ANY},
    {"POST", "/v1/admin/corporate-actions/{id}/schedule", api_corpact_schedule_post,
     API_ROLE_ISSUER_ADMIN},
    {"POST", "/v1/admin/corporate-actions/{id}/cancel", api_corpact_cancel_post,
     API_ROLE_ISSUER_ADMIN},
    {"POST", "/v1/admin/corporate-actions/{id}/reconcile", api_corpact_reconcile_post,
     API_ROLE_ISSUER_ADMIN},
    {"GET", "/v1/clock", api_clock_get, API_ROLE_PUBLIC},
    {"POST", "/v1/admin/clock", api_admin_clock_post, API_ROLE_ISSUER_ADMIN},
    {"GET", "/v1/recon/runs", api_recon_runs_get, ADMIN_READ},
    {"GET", "/v1/recon/breaks", api_recon_breaks_get, ADMIN_READ},
    {"POST", "/v1/admin/recon/breaks/{id}/resolve", api_recon_break_resolve_post,
     API_ROLE_ISSUER_ADMIN},
    {"GET", "/v1/admin/alerts", api_admin_alerts_get, ADMIN_READ},
    {"POST", "/v1/admin/alerts/{id}/acknowledge", api_admin_alert_ack_post, API_ROLE_ISSUER_ADMIN},
};

const struct api_route *api_routes(size_t *n)
{
  *n = sizeof routes / sizeof routes[0];
  return routes;
}

const struct api_ctx *api_req_ctx(const struct api_request *req)
{
  return req->ctx;
}

const char *api_req_id(const struct api_request *req)
{
  return req->id;
}

const struct api_principal *api_req_principal(const struct api_request *req)
{
  return req->authed ? &req->principal : NULL;
}

const struct api_key_info *api_req_key(const struct api_request *req)
{
  return req->authed ? &req->key : NULL;
}

const char *api_req_param(const struct api_request *req, const char *name)
{
  size_t n = strlen(name);
  for (unsigned i = 0; i < req->n_params; i++)
    if (req->param_name_len[i] == n && memcmp(req->param_names[i], name, n) == 0)
      return req->param_vals[i];
  return NULL;
}

const char *api_req_query(const struct api_request *req, const char *name)
{
  return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *api_req_body(const struct api_request *req, size_t *len)
{
  *len = req->body_len;
  return req->body != NULL ? req->body : "";
}

int api_req_db(struct api_request *req, struct db_conn **out)
{
  if (req->db == NULL) {
    int rc = db_pool_get(req->ctx->pool, API_DB_WAIT_MS, &req->db);
    if (rc != 0) {
      req->db = NULL;
      return rc;
    }
  }
  *out = req->db;
  return 0;
}

int api_parse_id(const char *s, int64_t *out)
{
  char *end;
  if (s == NULL || s[0] < '1' || s[0] > '9' || strlen(s) > 19)
    return -ERR_API_NOT_FOUND;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0' || v <= 0)
    return -ERR_API_NOT_FOUND;
  *out = v;
  return 0;
}

int api_reply_json(struct api_request *req, unsigned status, const char *body, size_t len)
{
  return api__reply(req, status, body, len, false);
}

int api__reply(struct api_request *req, unsigned status, const char *body, size_t len,
               bool replayed)
{
  if (req->replied) {
    log_bug("api", "second reply (%u) to one request", status);
    return -ERR_INTERNAL;
  }
  struct MHD_Response *r =
      MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (r == NULL)
    return -ERR_NOMEM;
  return api__reply_response(req, status, r, "application/json", replayed);
}

int api__reply_response(struct api_request *req, unsigned status, struct MHD_Response *r,
                        const char *content_type, bool replayed)
{
  if (req->replied) {
    log_bug("api", "second reply (%u) to one request", status);
    MHD_destroy_response(r);
    return -ERR_INTERNAL;
  }
  MHD_add_response_header(r, "Content-Type", content_type);
  MHD_add_response_header(r, "X-Request-Id", req->id);
  MHD_add_response_header(r, "Cache-Control", "no-store");
  if (replayed)
    MHD_add_response_header(r, "Idempotent-Replayed", "true");
  if (status == 401)
    MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
  enum MHD_Result ok = MHD_queue_response(req->conn, status, r);
  MHD_destroy_response(r);
  req->replied = true;
  log_msg(status >= 500 ? LOGL_WARN : LOGL_INFO, "api", "%s %s -> %u (%lld ms)",
          req->route != NULL ? req->route->method : "-",
          req->route != NULL ? req->route->path : "-", status,
          (long long)(util_mono_ms() - req->started));
  return ok == MHD_YES ? 0 : -ERR_IO;
}

int api_reply_writer(struct api_request *req, unsigned status, struct api_json *j)
{
  const char *text;
  size_t len;
  int rc = api_json_done(j, &text, &len);
  if (rc != 0) {
    log_bug("api", "reply writer failed: %s", err_text(rc));
    return api_reply_error(req, rc, NULL);
  }
  return api_reply_json(req, status, text, len);
}

int api_reply_error(struct api_request *req, int code, const char *hint)
{
  struct api_json j;
  const char *text;
  size_t len;
  int c = code < 0 ? -code : code;
  api_json_init(&j);
  api_json_obj(&j);
  api_json_key(&j, "code");
  api_json_int(&j, c);
  api_json_key(&j, "error");
  api_json_str(&j, err_name(c));
  api_json_key(&j, "hint");
  api_json_str(&j, hint != NULL ? hint : err_text(c));
  api_json_obj_end(&j);
  int rc = api_json_done(&j, &text, &len);
  if (rc == 0)
    rc = api_reply_json(req, err_http_status(c), text, len);
  api_json_free(&j);
  return rc;
}

/* Echo a client's request id only if it is short and plain. */
static bool safe_id(const char *s)
{
  size_t n = 0;
  if (s == NULL)
    return false;
  for (; s[n] != '\0'; n++) {
    char ch = s[n];
    if (n >= 64 || !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
      return false;
  }
  return n > 0;
}

/* One path segment's end: the next '/' or the end of the text. */
static const char *seg_end(const char *s)
{
  const char *e = strchr(s, '/');
  return e != NULL ? e : s + strlen(s);
}

/*
 * Whether @url matches the pattern @pat; a "{name}" segment matches one
 * segment of 1..API_PARAM_VAL_MAX-1 bytes, recorded in @req when it is
 * not NULL.
 */
static bool path_match(const char *pat, const char *url, struct api_request *req)
{
  unsigned n = 0;
  while (*pat == '/' && *url == '/') {
    pat++;
    url++;
    const char *pe = seg_end(pat), *ue = seg_end(url);
    size_t pl = (size_t)(pe - pat), ul = (size_t)(ue - url);
    if (pl >= 2 && pat[0] == '{' && pat[pl - 1] == '}') {
      if (ul == 0 || ul >= API_PARAM_VAL_MAX || n >= API_PARAMS_MAX)
        return false;
      if (req != NULL) {
        req->param_names[n] = pat + 1;
        req->param_name_len[n] = pl - 2;
        memcpy(req->param_vals[n], url, ul);
        req->param_vals[n][ul] = '\0';
      }
      n++;
    } else if (pl != ul || memcmp(pat, url, pl) != 0) {
      return false;
    }
    pat = pe;
    url = ue;
  }
  if (*pat != '\0' || *url != '\0')
    return false;
  if (req != NULL)
    req->n_params = n;
  return true;
}

static const struct api_route *route_of(struct api_request *req, const char *method,
                                        const char *url, bool *path_known)
{
  *path_known = false;
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    if (!path_match(routes[i].path, url, NULL))
      continue;
    *path_known = true;
    if (strcmp(routes[i].method, method) == 0) {
      path_match(routes[i].path, url, req);
      return &routes[i];
    }
  }
  return NULL;
}

bool api__idem_key_ok(const char *key)
{
  size_t n = 0;
  if (key == NULL)
    return false;
  for (; key[n] != '\0'; n++)
    if (n >= API_IDEM_KEY_MAX || key[n] < 0x21 || key[n] > 0x7e)
      return false;
  return n > 0;
}

/* Key, role and Idempotency-Key checks, then the handler. */
static int dispatch(struct api_request *req)
{
  const struct api_route *rt = req->route;
  if (rt->roles != API_ROLE_PUBLIC) {
    int rc = api__authenticate(req);
    if (rc != 0)
      return api_reply_error(req, rc, NULL);
    if ((rt->roles & (unsigned)req->principal.role) == 0) {
      log_msg(LOGL_INFO, "api", "principal %lld (%s) may not %s %s", (long long)req->principal.id,
              api_role_name(req->principal.role), rt->method, rt->path);
      return api_reply_error(req, ERR_API_FORBIDDEN, NULL);
    }
  }
  if (strcmp(rt->method, "POST") == 0) {
    req->idem_key = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Idempotency-Key");
    if (!api__idem_key_ok(req->idem_key))
      return api_reply_error(req, ERR_API_IDEMPOTENCY_REQUIRED,
                             "send an Idempotency-Key header of 1 to 128 visible ASCII "
                             "characters with every POST");
  }
  return rt->handler(req);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
  const struct api_server *s = cls;
  struct api_request *req = *con_cls;
  (void)version;
  if (req == NULL) {
    req = calloc(1, sizeof *req);
    if (req == NULL)
      return MHD_NO;
    req->ctx = s->ctx;
    req->conn = conn;
    req->method = method;
    req->url = url;
    req->started = util_mono_ms();
    const char *cid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (safe_id(cid))
      util_strlcpy(req->id, cid, sizeof req->id);
    else
      util_random_hex(req->id, 8);
    *con_cls = req;
    /* A declared length over the limit is refused before reading a byte. */
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl != NULL && strtoull(cl, NULL, 10) > API_BODY_MAX) {
      return api_reply_error(req, ERR_API_BODY_TOO_LARGE, NULL) == 0 ? MHD_YES : MHD_NO;
    }
    return MHD_YES;
  }
  if (req->replied) {
    *upload_size = 0; /* already answered (413): drop the rest */
    return MHD_YES;
  }
  if (*upload_size > 0) {
    if (req->body_len + *upload_size <= API_BODY_MAX) {
      char *nb = realloc(req->body, req->body_len + *upload_size + 1);
      if (nb == NULL)
        return MHD_NO;
      memcpy(nb + req->body_len, upload, *upload_size);
      req->body = nb;
      req->body_len += *upload_size;
      req->body[req->body_len] = '\0';
    } else {
      /* A chunked body past the limit: MHD cannot answer in the middle of
       * a body, and reading on would let a client stream without end, so
       * the connection is closed. */
      log_msg(LOGL_WARN, "api", "[%s] %s %s: body over %d bytes; closing the connection", req->id,
              method, url, API_BODY_MAX);
      return MHD_NO;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  log_set_request_id(req->id);
  bool known;
  req->route = route_of(req, method, url, &known);
  int rc;
  if (req->route == NULL)
    rc = api_reply_error(req, known ? ERR_API_METHOD : ERR_API_NOT_FOUND, NULL);
  else
    rc = dispatch(req);
  if (!req->replied) {
    log_bug("api", "handler for %s %s did not reply (rc %d)", method, url, rc);
    rc = api_reply_error(req, ERR_INTERNAL, NULL);
  }
  if (req->db != NULL) {
    db_pool_put(req->ctx->pool, req->db);
    req->db = NULL;
  }
  log_set_request_id(NULL);
  return rc == 0 ? MHD_YES : MHD_NO;
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
  struct api_request *req = *con_cls;
  (void)cls;
  (void)conn;
  (void)toe;
  if (req == NULL)
    return;
  if (req->db != NULL)
    db_pool_put(req->ctx->pool, req->db);
  free(req->body);
  sodium_memzero(req, sizeof *req);
  free(req);
  *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
  (void)cls;
  log_vmsg(LOGL_WARN, "http", fmt, ap);
}

int api_start(const char *host, uint16_t port, unsigned threads, const struct api_ctx *ctx,
              struct api_server **out)
{
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
  struct addrinfo *ai = NULL;
  char portstr[8];
  snprintf(portstr, sizeof portstr, "%u", port);
  int gai = getaddrinfo(host, portstr, &hints, &ai);
  if (gai != 0 || ai == NULL) {
    log_msg(LOGL_ERROR, "api", "cannot resolve listen address %s: %s", host, gai_strerror(gai));
    return -ERR_IO;
  }
  struct api_server *s = calloc(1, sizeof *s);
  if (s == NULL || sodium_init() < 0) {
    free(s);
    freeaddrinfo(ai);
    return -ERR_NOMEM;
  }
  s->ctx = ctx;
  unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
  if (ai->ai_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  s->mhd =
      MHD_start_daemon(flags, port, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                       NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE,
                       threads, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT,
                       1024u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
                       MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_END);
  freeaddrinfo(ai);
  if (s->mhd == NULL) {
    log_msg(LOGL_ERROR, "api", "cannot listen on %s:%u", host, port);
    free(s);
    return -ERR_IO;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
  s->port = di != NULL ? di->port : port;
  *out = s;
  return 0;
}

uint16_t api_port(const struct api_server *s)
{
  return s->port;
}

void api_stop(struct api_server *s)
{
  if (s == NULL)
    return;
  MHD_stop_daemon(s->mhd);
  free(s);
}
