/*
 * api: the HTTP server.  A routing table maps {method, path} to one
 * handler per endpoint (a file named after the resource and method:
 * api_healthz_get.c).  Each request gets a request id (the client's
 * X-Request-Id when it is safe to echo, else a random one), a body buffer
 * with a size limit, and exactly one reply.  Errors answer
 * {"code": N, "error": "name", "hint": "..."} with the registry's status.
 */
#ifndef BACKSTOCK_API_H
#define BACKSTOCK_API_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "db/db.h"

/* Largest request body accepted; more is answered with 413. */
#define API_BODY_MAX (64 * 1024)

enum api_role { API_ROLE_PUBLIC = 0 };

/* What handlers share: set up by the service, read-only while serving. */
struct api_ctx {
  struct db_pool *pool;
  unsigned schema_expected; /* newest migration of this binary */
  bool db_embedded;         /* the private cluster, not an external URL */
  int64_t started_mono_ms;  /* util_mono_ms() at start: uptime survives clock steps */
};

struct api_request;

typedef int (*api_handler)(struct api_request *req);

struct api_route {
  const char *method;
  const char *path;
  api_handler handler;
  enum api_role role;
};

struct api_server;

/**
 * api_start() - listen on @host:@port and serve until api_stop().
 * @port: 0 picks a free port; api_port() tells which.
 * @threads: worker threads.
 * @ctx: borrowed; must outlive the server.
 * Returns 0, -ERR_IO (cannot listen; logged) or -ERR_NOMEM.
 */
int api_start(const char *host, uint16_t port, unsigned threads, const struct api_ctx *ctx,
              struct api_server **out);

/** api_port() - the port actually bound. */
uint16_t api_port(const struct api_server *s);

/** api_stop() - stop accepting, finish requests in flight, free. */
void api_stop(struct api_server *s);

/* For handlers. */
const struct api_ctx *api_req_ctx(const struct api_request *req);
const char *api_req_id(const struct api_request *req);

/**
 * api_reply_json() - answer @status with a JSON body (copied).
 * Returns 0 or -ERR_NOMEM.
 */
int api_reply_json(struct api_request *req, unsigned status, const char *body, size_t len);

/**
 * api_reply_error() - answer an error of the registry.
 * @code: error number (either sign).  @hint: extra text or NULL.
 */
int api_reply_error(struct api_request *req, int code, const char *hint);

/* Handlers, one file each. */
int api_healthz_get(struct api_request *req);

#endif
