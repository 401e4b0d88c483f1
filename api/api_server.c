/*
 * The HTTP server over libmicrohttpd: listening, request ids, body size
 * limits, routing and the reply helpers.  Handlers run on MHD's worker
 * threads; each request owns a struct api_request (its "arena") freed in
 * one place, request_done().
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <yajl/yajl_gen.h>

#include "api/api.h"

struct api_server {
  struct MHD_Daemon *mhd;
  const struct api_ctx *ctx;
  uint16_t port;
};

struct api_request {
  const struct api_ctx *ctx;
  struct MHD_Connection *conn;
  const struct api_route *route;
  char id[65];
  char *body;
  size_t body_len;
  bool replied;
  int64_t started;
};

static const struct api_route routes[] = {
    {"GET", "/healthz", api_healthz_get, API_ROLE_PUBLIC},
};

const struct api_ctx *api_req_ctx(const struct api_request *req)
{
  return req->ctx;
}

const char *api_req_id(const struct api_request *req)
{
  return req->id;
}

int api_reply_json(struct api_request *req, unsigned status, const char *body, size_t len)
{
  struct MHD_Response *r =
      MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (r == NULL)
    return -ERR_NOMEM;
  MHD_add_response_header(r, "Content-Type", "application/json");
  MHD_add_response_header(r, "X-Request-Id", req->id);
  MHD_add_response_header(r, "Cache-Control", "no-store");
  enum MHD_Result ok = MHD_queue_response(req->conn, status, r);
  MHD_destroy_response(r);
  req->replied = true;
  log_msg(status >= 500 ? LOGL_WARN : LOGL_INFO, "api", "%s %s -> %u (%lld ms)",
          req->route != NULL ? req->route->method : "-",
          req->route != NULL ? req->route->path : "-", status,
          (long long)(util_mono_ms() - req->started));
  return ok == MHD_YES ? 0 : -ERR_IO;
}

int api_reply_error(struct api_request *req, int code, const char *hint)
{
  const unsigned char *buf;
  size_t len;
  yajl_gen g = yajl_gen_alloc(NULL);
  if (g == NULL)
    return -ERR_NOMEM;
  int c = code < 0 ? -code : code;
  const char *name = err_name(c);
  const char *text = hint != NULL ? hint : err_text(c);
  yajl_gen_map_open(g);
  yajl_gen_string(g, (const unsigned char *)"code", 4);
  yajl_gen_integer(g, c);
  yajl_gen_string(g, (const unsigned char *)"error", 5);
  yajl_gen_string(g, (const unsigned char *)name, strlen(name));
  yajl_gen_string(g, (const unsigned char *)"hint", 4);
  yajl_gen_string(g, (const unsigned char *)text, strlen(text));
  yajl_gen_map_close(g);
  yajl_gen_get_buf(g, &buf, &len);
  int rc = api_reply_json(req, err_http_status(c), (const char *)buf, len);
  yajl_gen_free(g);
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

static const struct api_route *route_of(const char *method, const char *url, bool *path_known)
{
  *path_known = false;
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    if (strcmp(routes[i].path, url) != 0)
      continue;
    *path_known = true;
    if (strcmp(routes[i].method, method) == 0)
      return &routes[i];
  }
  return NULL;
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
  req->route = route_of(method, url, &known);
  int rc;
  if (req->route == NULL)
    rc = api_reply_error(req, known ? ERR_API_METHOD : ERR_API_NOT_FOUND, NULL);
  else
    rc = req->route->handler(req);
  if (!req->replied) {
    log_bug("api", "handler for %s %s did not reply (rc %d)", method, url, rc);
    rc = api_reply_error(req, ERR_INTERNAL, NULL);
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
  free(req->body);
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
  if (s == NULL) {
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
