/*
 * The client's HTTP requests over libcurl (backstock_client.h): one easy
 * handle per request, bounded in time (connect and whole request) and in
 * size (CLIENT_REPLY_MAX), http and https only, no redirects followed,
 * the API key sent as a Bearer token and never written anywhere else
 * (--verbose prints the request line and ids, never the headers).
 */
#include <string.h>
#include <stdlib.h>

#include <curl/curl.h>
#include <sodium.h>

#include "common/common.h"
#include "services/backstock_client.h"

struct sink {
  char *buf;
  size_t len, cap;
  bool too_long;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *cls)
{
  struct sink *s = cls;
  size_t n = size * nmemb;
  if (n > CLIENT_REPLY_MAX - s->len) {
    s->too_long = true;
    return 0;
  }
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap == 0 ? 8192 : s->cap;
    while (cap < s->len + n + 1)
      cap *= 2;
    char *b = realloc(s->buf, cap);
    if (b == NULL)
      return 0;
    s->buf = b;
    s->cap = cap;
  }
  memcpy(s->buf + s->len, data, n);
  s->len += n;
  s->buf[s->len] = '\0';
  return n;
}

/* Keep the two reply headers we show: X-Request-Id and Idempotent-Replayed. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *cls)
{
  struct client_reply *r = cls;
  size_t n = size * nmemb;
  static const char rid[] = "x-request-id:", rep[] = "idempotent-replayed:";
  if (n > sizeof rid - 1 && strncasecmp(data, rid, sizeof rid - 1) == 0) {
    size_t a = sizeof rid - 1, b = n;
    while (a < b && (data[a] == ' ' || data[a] == '\t'))
      a++;
    while (b > a && (data[b - 1] == '\r' || data[b - 1] == '\n' || data[b - 1] == ' '))
      b--;
    if (b - a < sizeof r->request_id) {
      memcpy(r->request_id, data + a, b - a);
      r->request_id[b - a] = '\0';
    }
  } else if (n > sizeof rep - 1 && strncasecmp(data, rep, sizeof rep - 1) == 0) {
    r->replayed = strstr(data + sizeof rep - 1, "true") != NULL;
  }
  return n;
}

int client_escape(const char *s, char *out, size_t size)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    bool plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '.' || ch == '_' || ch == '~';
    if (o + (plain ? 1 : 3) >= size) {
      if (size > 0)
        out[0] = '\0';
      return -ERR_TOO_LONG;
    }
    if (plain) {
      out[o++] = (char)ch;
    } else {
      out[o++] = '%';
      out[o++] = hex[ch >> 4];
      out[o++] = hex[ch & 15];
    }
  }
  if (size == 0)
    return -ERR_TOO_LONG;
  out[o] = '\0';
  return 0;
}

/* Append "Name: value" to @list; false when out of memory. */
static bool add_header(struct curl_slist **list, const char *name, const char *value)
{
  char line[CLIENT_KEY_MAX + 64];
  int n = snprintf(line, sizeof line, "%s: %s", name, value);
  if (n < 0 || (size_t)n >= sizeof line)
    return false;
  struct curl_slist *l = curl_slist_append(*list, line);
  sodium_memzero(line, sizeof line);
  if (l == NULL)
    return false;
  *list = l;
  return true;
}

int client_http(const struct client_conn *conn, const struct client_req *req,
                struct client_reply *out)
{
  char url[CLIENT_URL_MAX];
  struct sink sink = {0};
  struct curl_slist *hdrs = NULL;
  CURL *h = NULL;
  int rc = 0;

  memset(out, 0, sizeof *out);
  int n = snprintf(url, sizeof url, "%s%s%s%s", conn->base, req->path,
                   req->query != NULL && req->query[0] != '\0' ? "?" : "",
                   req->query != NULL ? req->query : "");
  if (n < 0 || (size_t)n >= sizeof url) {
    snprintf(out->transport, sizeof out->transport, "the URL is longer than %d bytes",
             CLIENT_URL_MAX - 1);
    return -ERR_TOO_LONG;
  }
  if ((h = curl_easy_init()) == NULL) {
    snprintf(out->transport, sizeof out->transport, "libcurl cannot start");
    return -ERR_NOMEM;
  }
  bool ok = add_header(&hdrs, "Accept", "application/json") &&
            add_header(&hdrs, "User-Agent", "backstock-cli/" BACKSTOCK_VERSION) &&
            add_header(&hdrs, "Expect", "");
  if (ok && conn->key[0] != '\0') {
    char bearer[CLIENT_KEY_MAX + 8];
    snprintf(bearer, sizeof bearer, "Bearer %s", conn->key);
    ok = add_header(&hdrs, "Authorization", bearer);
    sodium_memzero(bearer, sizeof bearer);
  }
  if (ok && req->idem != NULL)
    ok = add_header(&hdrs, "Idempotency-Key", req->idem);
  if (ok && req->signature != NULL)
    ok = add_header(&hdrs, "X-Backstock-Signature", req->signature);
  if (ok && req->body != NULL)
    ok = add_header(&hdrs, "Content-Type", "application/json");
  if (!ok) {
    snprintf(out->transport, sizeof out->transport, "cannot build the request's headers");
    rc = -ERR_NOMEM;
    goto done;
  }
  curl_easy_setopt(h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, conn->timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, conn->connect_ms);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
  if (strcmp(req->method, "POST") == 0) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body != NULL ? (const char *)req->body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, req->body != NULL ? (long)req->body_len : 0L);
  } else if (strcmp(req->method, "GET") != 0) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
  }
  if (conn->verbose)
    fprintf(stderr, "> %s %s%s%s%s\n", req->method, url,
            req->idem != NULL ? " (Idempotency-Key " : "", req->idem != NULL ? req->idem : "",
            req->idem != NULL ? ")" : "");
  CURLcode cc = curl_easy_perform(h);
  if (cc != CURLE_OK) {
    if (sink.too_long) {
      snprintf(out->transport, sizeof out->transport, "the reply is longer than %u bytes",
               CLIENT_REPLY_MAX);
      rc = -ERR_TOO_LONG;
    } else {
      snprintf(out->transport, sizeof out->transport, "%s: %s", conn->base, curl_easy_strerror(cc));
      rc = -ERR_IO;
    }
    goto done;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
  if (sink.buf == NULL && (sink.buf = calloc(1, 1)) == NULL) {
    rc = -ERR_NOMEM;
    goto done;
  }
  out->body = sink.buf;
  out->len = sink.len;
  sink.buf = NULL;
  if (conn->verbose)
    fprintf(stderr, "< %ld (request %s%s)\n", out->status,
            out->request_id[0] != '\0' ? out->request_id : "-",
            out->replayed ? ", idempotent replay" : "");
done:
  if (rc != 0)
    out->status = 0;
  free(sink.buf);
  for (struct curl_slist *l = hdrs; l != NULL; l = l->next)
    sodium_memzero(l->data, strlen(l->data)); /* the Bearer line */
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);
  return rc;
}

void client_reply_free(struct client_reply *r)
{
  if (r == NULL)
    return;
  free(r->body);
  r->body = NULL;
  r->len = 0;
}

void client_conn_wipe(struct client_conn *conn)
{
  sodium_memzero(conn->key, sizeof conn->key);
}
