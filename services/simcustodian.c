/*
 * backstock-simcustodian: the simulated custodian, which settles the
 * simulated broker's trades and publishes sese.025 confirmations and
 * semt.002 / MT535 statements into a drop folder and over HTTP
 * (docs/simcustodian.md; the logic is custody/custody_simcust.c).
 *
 *   backstock-simcustodian [--config FILE]
 *
 * Configuration: defaults < FILE ("key = value" lines) <
 * BACKSTOCK_DATABASE_URL < BACKSTOCK_SIMCUST_<KEY> variables.  It migrates
 * the database, records its run in service_runs, serves its HTTP API
 * (this file: libmicrohttpd on one thread, its own database connection,
 * every request authenticated with the bearer token), prints exactly one
 * line on stdout, "simcustodian listening <host>:<port>", and steps the
 * custodian every poll_ms until SIGTERM or SIGINT, then exits 0.  Exit
 * status 2: bad command line or configuration; 1: anything else fatal.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <sodium.h>

#include "common/common.h"
#include "custody/custody.h"
#include "db/db.h"
#include "migrations/migrations.h"

#define NAME          "backstock-simcustodian"
#define HTTP_BODY_MAX 65536

extern char **environ;

static volatile int stop_flag;

static void usage(FILE *out)
{
  fputs("usage: " NAME " [--config FILE]\n"
        "Keys and their BACKSTOCK_SIMCUST_* variables: see docs/simcustodian.md.\n",
        out);
}

static int load_config(struct custody_simcust_cfg *cfg, const char *path)
{
  char why[256] = "";
  unsigned line = 0;
  const char *bad = NULL;
  int rc;
  if (path != NULL &&
      (rc = custody_simcust_cfg_load_file(cfg, path, &line, why, sizeof why)) != 0) {
    if (rc == -ERR_CFG_FILE)
      fprintf(stderr, NAME ": cannot read configuration file %s\n", path);
    else
      fprintf(stderr, NAME ": %s line %u: %s (%s)\n", path, line, err_text(rc), why);
    return rc;
  }
  if ((rc = custody_simcust_cfg_load_env(cfg, environ, &bad, why, sizeof why)) != 0) {
    fprintf(stderr, NAME ": %s: %s (%s)\n", bad != NULL ? bad : "?", err_text(rc), why);
    return rc;
  }
  if ((rc = custody_simcust_cfg_check(cfg, why, sizeof why)) != 0) {
    fprintf(stderr, NAME ": %s\n", why);
    return rc;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* HTTP API                                                            */
/* ------------------------------------------------------------------ */

struct http {
  const struct custody_simcust_cfg *cfg;
  struct custody_simcust *sc;
  struct db_conn *db; /* the HTTP thread's own */
  struct MHD_Daemon *mhd;
  uint16_t port;
  unsigned char token_hash[crypto_hash_sha256_BYTES];
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
                             const char *body, size_t len, const char *sha)
{
  struct MHD_Response *r =
      MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (r == NULL)
    return MHD_NO;
  MHD_add_response_header(r, "Content-Type", type);
  MHD_add_response_header(r, "Cache-Control", "no-store");
  if (status == MHD_HTTP_UNAUTHORIZED)
    MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
  if (sha != NULL)
    MHD_add_response_header(r, "X-Content-SHA256", sha);
  enum MHD_Result ok = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return ok;
}

/* {"code": N, "error": "name", "hint": "..."}, as the service answers; code 0 for none. */
static enum MHD_Result reply_error(struct MHD_Connection *conn, unsigned status, int code,
                                   const char *name, const char *hint)
{
  char body[512];
  size_t pos;
  int c = code < 0 ? -code : code;
  snprintf(body, sizeof body, "{\"code\":%d,\"error\":\"", c);
  pos = strlen(body);
  util_json_escape(body, sizeof body, &pos, c != 0 ? err_name(c) : name);
  snprintf(body + pos, sizeof body - pos, "\",\"hint\":\"");
  pos = strlen(body);
  util_json_escape(body, sizeof body, &pos, hint != NULL ? hint : err_text(c));
  snprintf(body + pos, sizeof body - pos, "\"}");
  return reply(conn, status, "application/json", body, strlen(body), NULL);
}

/* Authorization: Bearer <token>, compared in constant time (as SHA-256: lengths leak nothing). */
static bool authorized(const struct http *h, struct MHD_Connection *conn)
{
  const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
  unsigned char got[crypto_hash_sha256_BYTES];
  if (v == NULL || strncmp(v, "Bearer ", 7) != 0)
    return false;
  crypto_hash_sha256(got, (const unsigned char *)v + 7, strlen(v + 7));
  return sodium_memcmp(got, h->token_hash, sizeof got) == 0;
}

struct listing {
  const struct http *h;
  FILE *f;
  unsigned n;
};

static int list_one(void *cls, const char *name, const char *sha256)
{
  struct listing *l = cls;
  /* Names are [A-Za-z0-9._-] (the table checks it): nothing to escape. */
  fprintf(l->f, "%s{\"name\":\"%s\",\"url\":\"http://%s:%u/v1/documents/%s\",\"sha256\":\"%s\"}",
          l->n++ > 0 ? "," : "", name, l->h->cfg->listen_host, l->h->port, name, sha256);
  return 0;
}

static enum MHD_Result get_documents(struct http *h, struct MHD_Connection *conn)
{
  char *buf = NULL;
  size_t len = 0;
  struct listing l = {h, open_memstream(&buf, &len), 0};
  if (l.f == NULL)
    return MHD_NO;
  fputc('[', l.f);
  int rc = custody_simcust_documents(h->db, list_one, &l);
  fputc(']', l.f);
  bool bad = ferror(l.f) != 0;
  if (fclose(l.f) != 0 || bad) {
    free(buf);
    return MHD_NO;
  }
  enum MHD_Result ok = rc != 0 ? reply_error(conn, err_http_status(rc), rc, NULL, NULL)
                               : reply(conn, MHD_HTTP_OK, "application/json", buf, len, NULL);
  free(buf);
  return ok;
}

static enum MHD_Result get_document(struct http *h, struct MHD_Connection *conn, const char *name)
{
  enum custody_kind kind;
  char *buf = NULL, sha[65];
  size_t len;
  int rc = custody_simcust_document(h->db, name, &kind, &buf, &len, sha);
  if (rc == -ERR_API_NOT_FOUND)
    return reply_error(conn, MHD_HTTP_NOT_FOUND, rc, NULL, "no such document");
  if (rc != 0)
    return reply_error(conn, err_http_status(rc), rc, NULL, NULL);
  enum MHD_Result ok =
      reply(conn, MHD_HTTP_OK,
            kind == CUSTODY_KIND_MT535 ? "text/plain; charset=us-ascii" : "application/xml", buf,
            len, sha);
  free(buf);
  return ok;
}

/* The simulated today: clock_now() of the database plus day_offset days (docs/clock.md). */
static int sim_today(const struct custody_simcust_cfg *cfg, struct db_conn *db, int32_t *today)
{
  int64_t now;
  int rc = db_clock_now(db, &now);
  if (rc == 0)
    *today = custody_simcust_today(cfg, now);
  return rc;
}

static enum MHD_Result post_statement(struct http *h, struct MHD_Connection *conn)
{
  const char *date = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "date");
  const char *fmt = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "format");
  int32_t today, day;
  int rc = sim_today(h->cfg, h->db, &today);
  if (rc != 0)
    return reply_error(conn, err_http_status(rc), rc, NULL, NULL);
  day = today;
  enum custody_kind kind = CUSTODY_KIND_SEMT002;
  char name[CUSTODY_SIMCUST_NAME_MAX], body[256];
  unsigned pages = 0;
  if (fmt != NULL && strcmp(fmt, "mt535") == 0)
    kind = CUSTODY_KIND_MT535;
  else if (fmt != NULL && strcmp(fmt, "semt002") != 0)
    return reply_error(conn, MHD_HTTP_BAD_REQUEST, ERR_INVALID_ARGUMENT, NULL,
                       "format: want semt002 or mt535");
  if (date != NULL && cal_parse_date(date, strlen(date), &day) != 0)
    return reply_error(conn, MHD_HTTP_BAD_REQUEST, ERR_CAL_DATE_SYNTAX, NULL,
                       "date: want YYYY-MM-DD");
  if (day > today)
    return reply_error(conn, MHD_HTTP_BAD_REQUEST, ERR_INVALID_ARGUMENT, NULL,
                       "date: after the simulated today");
  rc = custody_simcust_statement(h->sc, h->db, day, kind, name, sizeof name, &pages);
  if (rc != 0)
    return reply_error(conn, err_http_status(rc), rc, NULL, NULL);
  int n = snprintf(body, sizeof body, "{\"name\":\"%s\",\"pages\":%u}", name, pages);
  return reply(conn, MHD_HTTP_CREATED, "application/json", body, (size_t)n, NULL);
}

static enum MHD_Result get_healthz(struct http *h, struct MHD_Connection *conn)
{
  char today[CAL_DATE_STR], body[64];
  int32_t day;
  int rc = sim_today(h->cfg, h->db, &day);
  if (rc != 0)
    return reply_error(conn, err_http_status(rc), rc, NULL, NULL);
  cal_format_date(day, today);
  int n = snprintf(body, sizeof body, "{\"status\":\"ok\",\"today\":\"%s\"}", today);
  return reply(conn, MHD_HTTP_OK, "application/json", body, (size_t)n, NULL);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
  static const char docs[] = "/v1/documents/";
  struct http *h = cls;
  size_t *body = *con_cls;
  (void)version;
  (void)upload;
  if (body == NULL) {
    if ((body = calloc(1, sizeof *body)) == NULL)
      return MHD_NO;
    *con_cls = body;
    return MHD_YES;
  }
  if (*upload_size > 0) { /* no endpoint takes a body: drop it, within a bound */
    *body += *upload_size;
    *upload_size = 0;
    return *body <= HTTP_BODY_MAX ? MHD_YES : MHD_NO;
  }
  bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
  bool is_doc = strncmp(url, docs, sizeof docs - 1) == 0;
  enum MHD_Result ok;
  if (!authorized(h, conn))
    ok = reply_error(conn, MHD_HTTP_UNAUTHORIZED, 0, "unauthorized",
                     "send Authorization: Bearer <token>");
  else if (strcmp(url, "/healthz") == 0 && get)
    ok = get_healthz(h, conn);
  else if (strcmp(url, "/v1/documents") == 0 && get)
    ok = get_documents(h, conn);
  else if (is_doc && get)
    ok = get_document(h, conn, url + sizeof docs - 1);
  else if (strcmp(url, "/v1/statements") == 0 && post)
    ok = post_statement(h, conn);
  else if (strcmp(url, "/healthz") == 0 || strcmp(url, "/v1/documents") == 0 || is_doc ||
           strcmp(url, "/v1/statements") == 0)
    ok = reply_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, ERR_API_METHOD, NULL, NULL);
  else
    ok = reply_error(conn, MHD_HTTP_NOT_FOUND, ERR_API_NOT_FOUND, NULL, NULL);
  log_msg(LOGL_DEBUG, "http", "%s %s", method, url);
  return ok;
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
  (void)cls;
  (void)conn;
  (void)toe;
  free(*con_cls);
  *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
  (void)cls;
  log_vmsg(LOGL_WARN, "http", fmt, ap);
}

/* Listen on cfg->listen_host:listen_port; one thread, so handlers share h->db. */
static int http_start(struct http *h)
{
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(h->cfg->listen_port)};
  int rc;
  crypto_hash_sha256(h->token_hash, (const unsigned char *)h->cfg->token, strlen(h->cfg->token));
  if (inet_pton(AF_INET, h->cfg->listen_host, &sa.sin_addr) != 1)
    return -ERR_INVALID_ARGUMENT;
  if ((rc = db_connect(h->cfg->database_url, NULL, 10, &h->db)) != 0)
    return rc;
  h->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                            h->cfg->listen_port, NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER,
                            mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT, 64u,
                            MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_END);
  if (h->mhd == NULL)
    return -ERR_IO;
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
  h->port = di != NULL ? di->port : h->cfg->listen_port;
  return 0;
}

static void http_stop(struct http *h)
{
  if (h->mhd != NULL)
    MHD_stop_daemon(h->mhd);
  h->mhd = NULL;
  db_close(h->db);
  h->db = NULL;
  sodium_memzero(h->token_hash, sizeof h->token_hash);
}

/* ------------------------------------------------------------------ */
/* The process                                                         */
/* ------------------------------------------------------------------ */

static int serve(const struct custody_simcust_cfg *cfg)
{
  struct db_conn *admin = NULL;
  struct custody_simcust *sc = NULL;
  struct http h = {.cfg = cfg};
  long long run = 0;
  char today[CAL_DATE_STR], msg[640] = "";
  int32_t day;
  int rc;
  if ((rc = db_service_start(cfg->database_url, NAME, migrations_all, migrations_count, &admin,
                             &run, msg, sizeof msg)) != 0) {
    fprintf(stderr, NAME ": %s\n", msg);
    goto out;
  }
  if ((rc = custody_simcust_create(cfg, &sc)) != 0) {
    fprintf(stderr, NAME ": cannot set up the custodian: %s\n", err_text(rc));
    goto out;
  }
  h.sc = sc;
  if ((rc = http_start(&h)) != 0) {
    fprintf(stderr, NAME ": cannot listen on %s:%u: %s\n", cfg->listen_host, cfg->listen_port,
            err_text(rc));
    goto out;
  }
  if ((rc = sim_today(cfg, admin, &day)) != 0) {
    fprintf(stderr, NAME ": cannot read the clock: %s\n", err_text(rc));
    goto out;
  }
  cal_format_date(day, today);
  log_msg(LOGL_INFO, "main",
          NAME " %s listening on %s:%u; account %s at %s, out_dir %s, simulated today %s "
               "(day_offset %d), run %lld",
          BACKSTOCK_VERSION, cfg->listen_host, h.port, cfg->safekeeping_account,
          cfg->account_servicer, cfg->out_dir, today, cfg->day_offset, run);
  printf("simcustodian listening %s:%u\n", cfg->listen_host, h.port);
  fflush(stdout);
  rc = custody_simcust_run(sc, &stop_flag);
  log_msg(LOGL_INFO, "main", "stopped");
out:
  http_stop(&h); /* before the custodian: its handlers call into it */
  custody_simcust_free(sc);
  db_service_stop(admin, run);
  db_close(admin);
  return rc;
}

int main(int argc, char **argv)
{
  struct custody_simcust_cfg cfg;
  const char *config_path = NULL;
  int rc = proc_options(argc, argv, usage, &config_path, NULL);
  if (rc >= 0)
    return rc;
  if (sodium_init() < 0) {
    fputs(NAME ": libsodium did not initialise\n", stderr);
    return 1;
  }
  custody_simcust_cfg_init(&cfg);
  if (load_config(&cfg, config_path) != 0) {
    custody_simcust_cfg_free(&cfg);
    return 2;
  }
  log_setup(cfg.log_level, LOG_FORMAT_TEXT, stderr);

  proc_catch_stop(&stop_flag);
  rc = serve(&cfg);
  custody_simcust_cfg_free(&cfg);
  return rc == 0 ? 0 : 1;
}
