/*
 * The custodian feeds: how documents reach the store (custody_store.c).
 *
 * Drop folder: a pass lists the folder, ingests each regular file whose
 * size, mtime and inode have not changed since the previous pass (so a
 * file still being written waits), oldest first (mtime, then inode),
 * and then renames it into done/ or rejected/ (with NAME.reason.txt).
 * The rename follows the commit: after a crash in between, the file is
 * found again, is a duplicate, and is just moved.  A file the store
 * could not handle (database down) stays where it is for the next pass.
 *
 * HTTP: a pass GETs the listing (a JSON array of document URLs) and each
 * URL not in custody_feed_documents, into an unlinked temporary file,
 * and ingests it; then records the URL with what became of it.  Every
 * request: http/https only (http only to 127.0.0.1), TLS peer and host
 * verified, the bearer token (never logged, wiped when freed), connect
 * and total timeouts, at most max_bytes, no redirect to another origin,
 * retries with exponential backoff and jitter on 5xx/429/timeouts/
 * connection failures.  A URL on another origin than the listing's is
 * skipped, so the token never leaves for another host.
 *
 * Last, custody_show(): what came in, as plain lines for operators and
 * tests (`backstock custody show`).
 *
 * Longer than most files because custody/meson.build's file list is
 * fixed: both feeds, the strict JSON reader of the listing and the
 * operator's view live here.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "custody/custody.h"

#define NAME_MAX_LEN 255
#define URL_MAX      2048
#define LISTING_MAX  100000 /* URLs per listing */
#define REDIRECT_MAX 5

/* Sleep @ms in slices of at most 100 ms; false when *stop became nonzero. */
static bool nap(unsigned ms, volatile int *stop)
{
  while (ms > 0) {
    if (stop != NULL && *stop)
      return false;
    unsigned k = ms < 100 ? ms : 100;
    util_sleep_ms(k);
    ms -= k;
  }
  return stop == NULL || !*stop;
}

static void count(struct custody_feed_stats *st, enum custody_outcome o)
{
  if (o == CUSTODY_INGESTED)
    st->ingested++;
  else if (o == CUSTODY_DUPLICATE)
    st->duplicates++;
  else if (o == CUSTODY_REJECTED)
    st->rejected++;
  else
    st->failed++;
}

/* ------------------------------------------------------------------ */
/* Drop folder                                                         */
/* ------------------------------------------------------------------ */

struct entry {
  char name[NAME_MAX_LEN + 1];
  off_t size;
  struct timespec mtime;
  ino_t ino;
};

struct entries {
  struct entry *v;
  size_t n, cap;
};

struct custody_drop {
  struct custody_store *s;
  char *dir;
  int dfd;
  struct entries prev; /* the files of the previous pass, for the stability check */
};

static int entries_add(struct entries *e, const struct entry *x)
{
  if (e->n == e->cap) {
    size_t ncap = e->cap == 0 ? 64 : e->cap * 2;
    struct entry *nv = realloc(e->v, ncap * sizeof *nv);
    if (nv == NULL)
      return -ERR_NOMEM;
    e->v = nv;
    e->cap = ncap;
  }
  e->v[e->n++] = *x;
  return 0;
}

static int mkdir_at(int dfd, const char *name)
{
  if (mkdirat(dfd, name, 0750) != 0 && errno != EEXIST)
    return -1;
  struct stat st;
  return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

int custody_drop_open(struct custody_store *s, const char *dir, struct custody_drop **out)
{
  if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
    log_msg(LOGL_ERROR, "custody", "drop folder %s: %s", dir, strerror(errno));
    return -ERR_IO;
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || mkdir_at(dfd, "done") != 0 || mkdir_at(dfd, "rejected") != 0) {
    log_msg(LOGL_ERROR, "custody", "drop folder %s (or its done/, rejected/): %s", dir,
            strerror(errno));
    if (dfd >= 0)
      close(dfd);
    return -ERR_IO;
  }
  struct custody_drop *d = calloc(1, sizeof *d);
  if (d == NULL || (d->dir = strdup(dir)) == NULL) {
    free(d);
    close(dfd);
    return -ERR_NOMEM;
  }
  d->s = s;
  d->dfd = dfd;
  *out = d;
  return 0;
}

void custody_drop_free(struct custody_drop *d)
{
  if (d == NULL)
    return;
  close(d->dfd);
  free(d->prev.v);
  free(d->dir);
  free(d);
}

static bool ignored(const char *name)
{
  size_t n = strlen(name);
  return name[0] == '.' || (n >= 5 && strcmp(name + n - 5, ".part") == 0) || n > NAME_MAX_LEN;
}

static int by_age(const void *a, const void *b)
{
  const struct entry *x = a, *y = b;
  if (x->mtime.tv_sec != y->mtime.tv_sec)
    return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
  if (x->mtime.tv_nsec != y->mtime.tv_nsec)
    return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
  /* mtime has the kernel's tick as resolution: files written within one
   * tick are ordered by inode, which follows creation on the usual file
   * systems (ext4, tmpfs), then by name. */
  if (x->ino != y->ino)
    return x->ino < y->ino ? -1 : 1;
  return strcmp(x->name, y->name);
}

static bool unchanged(const struct entries *prev, const struct entry *e)
{
  for (size_t i = 0; i < prev->n; i++) {
    const struct entry *p = &prev->v[i];
    if (strcmp(p->name, e->name) == 0)
      return p->size == e->size && p->ino == e->ino && p->mtime.tv_sec == e->mtime.tv_sec &&
             p->mtime.tv_nsec == e->mtime.tv_nsec;
  }
  return false;
}

/*
 * Rename @name into @sub/, as @name or, when taken, @name.1, @name.2, ...
 * @final receives the name used.  Returns 0 or -ERR_IO.
 */
static int move_into(struct custody_drop *d, const char *name, const char *sub, char *final,
                     size_t size)
{
  char to[NAME_MAX_LEN + 64];
  for (unsigned n = 0; n < 1000; n++) {
    if (n == 0)
      snprintf(final, size, "%s", name);
    else
      snprintf(final, size, "%s.%u", name, n);
    snprintf(to, sizeof to, "%s/%s", sub, final);
    if (renameat2(d->dfd, name, d->dfd, to, RENAME_NOREPLACE) == 0)
      return 0;
    if (errno != EEXIST)
      break;
  }
  log_msg(LOGL_ERROR, "custody", "cannot move %s/%s into %s/: %s", d->dir, name, sub,
          strerror(errno));
  return -ERR_IO;
}

static void write_reason(struct custody_drop *d, const char *final, const struct custody_ingest *r)
{
  char path[NAME_MAX_LEN + 64];
  snprintf(path, sizeof path, "rejected/%s.reason.txt", final);
  int fd = openat(d->dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (f == NULL) {
    log_msg(LOGL_ERROR, "custody", "cannot write %s/%s: %s", d->dir, path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return;
  }
  fprintf(f,
          "error: %s (%d)\nmessage: %s\nwhere: %s\nline: %llu\nkind: %s\nsha256: %s\n"
          "size: %llu\nreject_id: %lld\n",
          err_name(r->err.code), r->err.code < 0 ? -r->err.code : r->err.code, r->err.msg,
          r->err.where, (unsigned long long)r->err.line, custody_kind_name(r->kind),
          r->sha256[0] != '\0' ? r->sha256 : "-", (unsigned long long)r->size,
          (long long)r->reject_id);
  if (fclose(f) != 0)
    log_msg(LOGL_ERROR, "custody", "cannot write %s/%s", d->dir, path);
}

/* Ingest one stable file and move it aside; counts into @st. */
static void drop_one(struct custody_drop *d, const struct entry *e, struct custody_feed_stats *st)
{
  char path[4096], final[NAME_MAX_LEN + 16];
  struct custody_ingest res;
  struct stat sb;
  snprintf(path, sizeof path, "%s/%s", d->dir, e->name);
  int fd = openat(d->dfd, e->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_ino != e->ino ||
      sb.st_size != e->size) {
    /* Gone, replaced or changed since it was listed: the next pass sees it again. */
    if (fd >= 0)
      close(fd);
    st->skipped++;
    return;
  }
  custody_ingest_fd(d->s, fd, path, &res);
  close(fd);
  count(st, res.outcome);
  if (res.outcome == 0)
    return;
  bool rej = res.outcome == CUSTODY_REJECTED;
  if (move_into(d, e->name, rej ? "rejected" : "done", final, sizeof final) != 0)
    return;
  if (rej)
    write_reason(d, final, &res);
}

int custody_drop_pass(struct custody_drop *d, struct custody_feed_stats *st)
{
  struct custody_feed_stats local;
  struct entries now = {0}, ready = {0};
  int rc = 0;
  if (st == NULL)
    st = &local;
  memset(st, 0, sizeof *st);
  int dfd = dup(d->dfd);
  DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (dir == NULL) {
    log_msg(LOGL_ERROR, "custody", "drop folder %s: %s", d->dir, strerror(errno));
    if (dfd >= 0)
      close(dfd);
    return -ERR_IO;
  }
  rewinddir(dir);
  struct dirent *de;
  while ((de = readdir(dir)) != NULL) {
    struct stat sb;
    struct entry e;
    if (ignored(de->d_name) || fstatat(d->dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(sb.st_mode))
      continue;
    memset(&e, 0, sizeof e);
    memcpy(e.name, de->d_name, strlen(de->d_name) + 1);
    e.size = sb.st_size;
    e.mtime = sb.st_mtim;
    e.ino = sb.st_ino;
    st->seen++;
    if (entries_add(&now, &e) != 0 ||
        (unchanged(&d->prev, &e) ? entries_add(&ready, &e) : (st->skipped++, 0)) != 0) {
      rc = -ERR_NOMEM;
      break;
    }
  }
  closedir(dir);
  if (ready.n > 1)
    qsort(ready.v, ready.n, sizeof *ready.v, by_age);
  for (size_t i = 0; rc == 0 && i < ready.n; i++)
    drop_one(d, &ready.v[i], st);
  free(d->prev.v);
  d->prev = now; /* moved files are gone by the next pass anyway */
  free(ready.v);
  return rc;
}

int custody_drop_run(struct custody_drop *d, unsigned poll_ms, volatile int *stop)
{
  log_msg(LOGL_INFO, "custody", "watching drop folder %s every %u ms", d->dir, poll_ms);
  while (!*stop) {
    struct custody_feed_stats st;
    custody_drop_pass(d, &st);
    if (st.ingested + st.duplicates + st.rejected + st.failed > 0)
      log_msg(LOGL_INFO, "custody",
              "drop pass: %u ingested, %u duplicates, %u rejected, %u to retry, %u waiting",
              st.ingested, st.duplicates, st.rejected, st.failed, st.skipped);
    nap(poll_ms, stop);
  }
  log_msg(LOGL_INFO, "custody", "drop folder %s: stopped", d->dir);
  return 0;
}

/* ------------------------------------------------------------------ */
/* HTTP feed                                                           */
/* ------------------------------------------------------------------ */

struct custody_http {
  struct custody_store *s;
  struct custody_http_cfg cfg;
  char *listing_url;
  char origin[URL_MAX]; /* scheme://host:port of the listing */
  char *token;          /* owned, wiped */
  struct curl_slist *headers;
  CURL *curl;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

void custody_http_cfg_default(struct custody_http_cfg *c)
{
  memset(c, 0, sizeof *c);
  c->connect_timeout_ms = 10000;
  c->timeout_ms = 600000;
  c->attempts = 5;
  c->backoff_ms = 500;
  c->backoff_max_ms = 30000;
  c->max_listing_bytes = 16u << 20;
}

/*
 * "scheme://host:port" of an absolute @url into @origin; only http and
 * https, and http only to 127.0.0.1.  Returns 0 or -ERR_INVALID_ARGUMENT.
 */
static int url_origin(const char *url, char *origin, size_t size)
{
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL;
  int rc = -ERR_INVALID_ARGUMENT;
  if (u != NULL && strlen(url) < URL_MAX && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
      (strcmp(scheme, "https") == 0 ||
       (strcmp(scheme, "http") == 0 && strcmp(host, "127.0.0.1") == 0))) {
    snprintf(origin, size, "%s://%s:%s", scheme, host, port);
    rc = 0;
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return rc;
}

int custody_http_open(struct custody_store *s, const struct custody_http_cfg *cfg,
                      struct custody_http **out)
{
  char origin[URL_MAX];
  if (cfg->listing_url == NULL || url_origin(cfg->listing_url, origin, sizeof origin) != 0) {
    log_msg(LOGL_ERROR, "custody",
            "custody_feed_url must be an https URL (http only to 127.0.0.1)");
    return -ERR_INVALID_ARGUMENT;
  }
  const char *tok = cfg->token != NULL ? cfg->token : "";
  for (const char *p = tok; *p != '\0'; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
      log_msg(LOGL_ERROR, "custody", "custody_feed_token holds a space or control character");
      return -ERR_INVALID_ARGUMENT;
    }
  pthread_once(&curl_once, curl_init_once);
  struct custody_http *h = calloc(1, sizeof *h);
  if (h == NULL)
    return -ERR_NOMEM;
  h->s = s;
  h->cfg = *cfg;
  if (h->cfg.max_bytes == 0)
    h->cfg.max_bytes = custody_store_limits(s)->max_bytes;
  if (h->cfg.attempts == 0)
    h->cfg.attempts = 1;
  memcpy(h->origin, origin, sizeof origin);
  h->listing_url = strdup(cfg->listing_url);
  h->token = strdup(tok);
  h->curl = curl_easy_init();
  if (h->listing_url == NULL || h->token == NULL || h->curl == NULL)
    goto nomem;
  if (h->token[0] != '\0') {
    size_t n = strlen(h->token) + 32;
    char *line = malloc(n);
    if (line == NULL)
      goto nomem;
    snprintf(line, n, "Authorization: Bearer %s", h->token);
    h->headers = curl_slist_append(NULL, line);
    sodium_memzero(line, n);
    free(line);
    if (h->headers == NULL)
      goto nomem;
  }
  h->cfg.listing_url = h->listing_url;
  h->cfg.token = NULL;
  *out = h;
  return 0;
nomem:
  custody_http_free(h);
  return -ERR_NOMEM;
}

void custody_http_free(struct custody_http *h)
{
  if (h == NULL)
    return;
  for (struct curl_slist *l = h->headers; l != NULL; l = l->next)
    sodium_memzero(l->data, strlen(l->data));
  curl_slist_free_all(h->headers);
  if (h->token != NULL) {
    sodium_memzero(h->token, strlen(h->token));
    free(h->token);
  }
  if (h->curl != NULL)
    curl_easy_cleanup(h->curl);
  free(h->listing_url);
  free(h);
}

/* Where a response body goes: memory (the listing) or a file (a document). */
struct sink {
  struct custody_http *h;
  int fd;    /* >= 0: write here */
  char *mem; /* else grow this */
  size_t mem_cap;
  uint64_t len; /* bytes received */
  uint64_t max;
  uint64_t announced; /* Content-Length, 0 when none */
  bool too_large;
  bool io_error;
  char head[CUSTODY_REJECT_HEAD];
  size_t head_len;
  volatile int *stop;
};

static size_t on_data(char *p, size_t one, size_t n, void *cls)
{
  struct sink *k = cls;
  (void)one;
  if (k->len + n > k->max) {
    k->too_large = true;
    return 0;
  }
  if (k->head_len < sizeof k->head) {
    size_t c = sizeof k->head - k->head_len < n ? sizeof k->head - k->head_len : n;
    memcpy(k->head + k->head_len, p, c);
    k->head_len += c;
  }
  if (k->fd >= 0) {
    for (size_t off = 0; off < n;) {
      ssize_t w = write(k->fd, p + off, n - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        k->io_error = true;
        return 0;
      }
      off += (size_t)w;
    }
  } else {
    if (k->len + n + 1 > k->mem_cap) {
      size_t ncap = k->mem_cap == 0 ? 65536 : k->mem_cap;
      while (ncap < k->len + n + 1)
        ncap *= 2;
      char *nm = realloc(k->mem, ncap);
      if (nm == NULL) {
        k->io_error = true;
        return 0;
      }
      k->mem = nm;
      k->mem_cap = ncap;
    }
    memcpy(k->mem + k->len, p, n);
    k->mem[k->len + n] = '\0';
  }
  k->len += n;
  return n;
}

/* Remember Content-Length, for the reject of a document over the limit. */
static size_t on_header(char *p, size_t one, size_t n, void *cls)
{
  struct sink *k = cls;
  (void)one;
  if (n > 15 && strncasecmp(p, "Content-Length:", 15) == 0)
    k->announced = strtoull(p + 15, NULL, 10);
  return n;
}

static int on_progress(void *cls, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
  struct sink *k = cls;
  (void)dt;
  (void)dn;
  (void)ut;
  (void)un;
  return k->stop != NULL && *k->stop ? 1 : 0;
}

static void sink_reset(struct sink *k)
{
  k->len = 0;
  k->announced = 0;
  k->head_len = 0;
  k->too_large = k->io_error = false;
  if (k->fd >= 0 && (ftruncate(k->fd, 0) != 0 || lseek(k->fd, 0, SEEK_SET) != 0))
    k->io_error = true;
}

enum fetch_result {
  FETCH_OK = 0,
  FETCH_TOO_LARGE, /* over max: the document's fault */
  FETCH_FAILED,    /* after the retries, or not retryable: try again next pass */
  FETCH_STOPPED,
};

/* One GET of @url with the feed's rules; the body into @k. */
static enum fetch_result get_once(struct custody_http *h, const char *url, struct sink *k,
                                  long *status, CURLcode *cc, char *location, size_t loc_size)
{
  CURL *c = h->curl;
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "127.0.0.1");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)h->cfg.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->cfg.timeout_ms);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "backstock/" BACKSTOCK_VERSION);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)k->max);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, k);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, k);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, k);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  if (h->headers != NULL)
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
  *status = 0;
  location[0] = '\0';
  *cc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
  if (*cc == CURLE_OK && *status >= 300 && *status < 400) {
    char *loc = NULL;
    if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc != NULL)
      snprintf(location, loc_size, "%s", loc);
  }
  if (k->too_large || *cc == CURLE_FILESIZE_EXCEEDED) {
    if (k->announced > k->len)
      k->len = k->announced;
    return FETCH_TOO_LARGE;
  }
  if (*cc == CURLE_ABORTED_BY_CALLBACK)
    return FETCH_STOPPED;
  return *cc == CURLE_OK && *status == 200 && !k->io_error ? FETCH_OK : FETCH_FAILED;
}

static bool retryable(CURLcode cc, long status)
{
  if (cc == CURLE_OK)
    return status >= 500 || status == 429;
  return cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_COULDNT_CONNECT || cc == CURLE_RECV_ERROR ||
         cc == CURLE_SEND_ERROR || cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE ||
         cc == CURLE_COULDNT_RESOLVE_HOST;
}

/*
 * GET @url with retries and same-origin redirects.  Failures are logged
 * (status or curl's error text, never the token).
 */
static enum fetch_result fetch(struct custody_http *h, const char *url, struct sink *k)
{
  char cur[URL_MAX], loc[URL_MAX], origin[URL_MAX];
  unsigned redirects = 0, attempt = 1;
  snprintf(cur, sizeof cur, "%s", url);
  for (;;) {
    long status;
    CURLcode cc;
    sink_reset(k);
    if (k->io_error)
      return FETCH_FAILED;
    enum fetch_result fr = get_once(h, cur, k, &status, &cc, loc, sizeof loc);
    if (fr == FETCH_OK || fr == FETCH_TOO_LARGE || fr == FETCH_STOPPED)
      return fr;
    if (cc == CURLE_OK && status >= 300 && status < 400 && loc[0] != '\0') {
      if (url_origin(loc, origin, sizeof origin) != 0 || strcmp(origin, h->origin) != 0) {
        log_msg(LOGL_WARN, "custody", "GET %s: redirect to another origin refused", cur);
        return FETCH_FAILED;
      }
      if (++redirects > REDIRECT_MAX) {
        log_msg(LOGL_WARN, "custody", "GET %s: too many redirects", url);
        return FETCH_FAILED;
      }
      snprintf(cur, sizeof cur, "%s", loc);
      continue;
    }
    bool again = retryable(cc, status) && attempt < h->cfg.attempts;
    if (cc != CURLE_OK)
      log_msg(again ? LOGL_INFO : LOGL_WARN, "custody", "GET %s: %s (attempt %u of %u)", cur,
              curl_easy_strerror(cc), attempt, h->cfg.attempts);
    else
      log_msg(again ? LOGL_INFO : LOGL_WARN, "custody", "GET %s: HTTP %ld%s (attempt %u of %u)",
              cur, status, status == 401 || status == 403 ? " (check custody_feed_token)" : "",
              attempt, h->cfg.attempts);
    if (!again)
      return FETCH_FAILED;
    /* Exponential backoff with jitter: a pause in [d/2, d]. */
    uint64_t d = (uint64_t)h->cfg.backoff_ms << (attempt - 1 < 20 ? attempt - 1 : 20);
    if (d > h->cfg.backoff_max_ms)
      d = h->cfg.backoff_max_ms;
    unsigned pause =
        (unsigned)(d / 2 + (d / 2 > 0 ? randombytes_uniform((uint32_t)(d / 2 + 1)) : 0));
    if (!nap(pause, k->stop))
      return FETCH_STOPPED;
    attempt++;
  }
}

/*
 * The listing: a JSON array whose entries are URL strings, or objects
 * with a "url" string and optionally a "sha256" (64 lower-case hex
 * digits, checked against the download); other members are ignored.
 * Strict JSON; a URL is ASCII.
 */
struct listed {
  char *url;
  char sha[65]; /* "" when not given */
};

struct jp {
  const char *p, *end;
};

static void jws(struct jp *j)
{
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
    j->p++;
}

static bool jlit(struct jp *j, char ch)
{
  jws(j);
  if (j->p < j->end && *j->p == ch) {
    j->p++;
    return true;
  }
  return false;
}

/*
 * A string into @out (NULL: skip it).  Kept strings must be printable
 * ASCII (escapes included) and fit @size.  Returns false on bad input.
 */
static bool jstring(struct jp *j, char *out, size_t size)
{
  size_t n = 0;
  if (!jlit(j, '"'))
    return false;
  while (j->p < j->end && *j->p != '"') {
    unsigned char ch = (unsigned char)*j->p++;
    if (ch < 0x20)
      return false;
    if (ch == '\\') {
      if (j->p == j->end)
        return false;
      char e = *j->p++;
      if (e == 'u') {
        unsigned cp = 0;
        for (int i = 0; i < 4; i++, j->p++) {
          char hx = j->p < j->end ? *j->p : 'x';
          int v = hx >= '0' && hx <= '9'   ? hx - '0'
                  : hx >= 'a' && hx <= 'f' ? hx - 'a' + 10
                  : hx >= 'A' && hx <= 'F' ? hx - 'A' + 10
                                           : -1;
          if (v < 0)
            return false;
          cp = cp * 16 + (unsigned)v;
        }
        ch = cp < 0x80 ? (unsigned char)cp : 0x80;
      } else if (e == '"' || e == '\\' || e == '/') {
        ch = (unsigned char)e;
      } else if (e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
        ch = 0x01;
      } else {
        return false;
      }
    }
    if (out != NULL) {
      if (ch <= 0x20 || ch >= 0x7f || n + 1 >= size)
        return false;
      out[n++] = (char)ch;
    }
  }
  if (j->p == j->end)
    return false;
  j->p++;
  if (out != NULL)
    out[n] = '\0';
  return true;
}

static bool jvalue(struct jp *j, int depth);

static bool jcontainer(struct jp *j, char close, int depth)
{
  if (jlit(j, close))
    return true;
  do {
    if (close == '}' && (!jstring(j, NULL, 0) || !jlit(j, ':')))
      return false;
    if (!jvalue(j, depth))
      return false;
  } while (jlit(j, ','));
  return jlit(j, close);
}

/* Skip one value of any type, at most 8 levels deep. */
static bool jvalue(struct jp *j, int depth)
{
  jws(j);
  if (j->p == j->end || depth > 8)
    return false;
  char ch = *j->p;
  if (ch == '"')
    return jstring(j, NULL, 0);
  if (ch == '[' || ch == '{') {
    j->p++;
    return jcontainer(j, ch == '[' ? ']' : '}', depth + 1);
  }
  static const char *const words[] = {"true", "false", "null"};
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(words[i]);
    if ((size_t)(j->end - j->p) >= n && memcmp(j->p, words[i], n) == 0) {
      j->p += n;
      return true;
    }
  }
  const char *s = j->p; /* a number, loosely: its value is never used */
  while (j->p < j->end && *j->p != '\0' && strchr("0123456789+-.eE", *j->p) != NULL)
    j->p++;
  return j->p > s && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9'));
}

/* One entry: a URL string or an object with "url" (and "sha256"). */
static bool jentry(struct jp *j, struct listed *e)
{
  char url[URL_MAX];
  url[0] = '\0';
  e->sha[0] = '\0';
  jws(j);
  if (j->p < j->end && *j->p == '"') {
    if (!jstring(j, url, sizeof url))
      return false;
  } else {
    if (!jlit(j, '{'))
      return false;
    if (!jlit(j, '}')) {
      do {
        char key[16];
        struct jp save = *j;
        if (!jstring(j, key, sizeof key)) {
          *j = save;
          key[0] = '\0';
          if (!jstring(j, NULL, 0))
            return false;
        }
        if (!jlit(j, ':'))
          return false;
        jws(j);
        bool ok = strcmp(key, "url") == 0      ? jstring(j, url, sizeof url)
                  : strcmp(key, "sha256") == 0 ? jstring(j, e->sha, sizeof e->sha)
                                               : jvalue(j, 1);
        if (!ok)
          return false;
      } while (jlit(j, ','));
      if (!jlit(j, '}'))
        return false;
    }
    if (e->sha[0] != '\0' && strspn(e->sha, "0123456789abcdef") != 64)
      return false;
  }
  return url[0] != '\0' && (e->url = strdup(url)) != NULL;
}

/* @v receives a malloc'd array (free each url, then it).  Returns the count or -1. */
static long parse_listing(const char *p, size_t len, struct listed **v)
{
  struct jp j = {p, p + len};
  struct listed *a = NULL;
  long n = 0, cap = 0;
  if (!jlit(&j, '['))
    goto bad;
  if (!jlit(&j, ']')) {
    do {
      if (n == cap) {
        if (cap >= LISTING_MAX)
          goto bad;
        cap = cap == 0 ? 64 : cap * 2;
        struct listed *na = realloc(a, (size_t)cap * sizeof *na);
        if (na == NULL)
          goto bad;
        a = na;
      }
      if (!jentry(&j, &a[n]))
        goto bad;
      n++;
    } while (jlit(&j, ','));
    if (!jlit(&j, ']'))
      goto bad;
  }
  jws(&j);
  if (j.p != j.end)
    goto bad;
  *v = a;
  return n;
bad:
  for (long i = 0; i < n; i++)
    free(a[i].url);
  free(a);
  return -1;
}

/* @rel resolved against the listing URL into @out; 0 or -1. */
static int resolve(const struct custody_http *h, const char *rel, char *out, size_t size)
{
  CURLU *u = curl_url();
  char *s = NULL;
  int rc = -1;
  if (u != NULL && curl_url_set(u, CURLUPART_URL, h->listing_url, 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_URL, rel, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK && strlen(s) < size) {
    memcpy(out, s, strlen(s) + 1);
    rc = 0;
  }
  curl_free(s);
  curl_url_cleanup(u);
  return rc;
}

static const struct db_stmt q_feed_seen = {
    "custody_select_feed_document", "SELECT 1 FROM custody_feed_documents WHERE url = $1", 1};

static const struct db_stmt q_feed_done = {
    "custody_insert_feed_document",
    "INSERT INTO custody_feed_documents (url, sha256, document_id, reject_id)"
    " VALUES ($1, $2, $3::bigint, $4::bigint) ON CONFLICT (url) DO NOTHING",
    4};

struct feed_row {
  const char *url, *sha;
  int64_t document_id, reject_id;
  bool seen;
};

static enum db_qs feed_seen_body(struct db_conn *c, void *cls)
{
  struct feed_row *f = cls;
  const char *v[1] = {f->url};
  enum db_qs qs = db_exec(c, &q_feed_seen, v, NULL);
  f->seen = qs > 0;
  return qs;
}

static enum db_qs feed_done_body(struct db_conn *c, void *cls)
{
  struct feed_row *f = cls;
  char doc[24], rej[24];
  snprintf(doc, sizeof doc, "%lld", (long long)f->document_id);
  snprintf(rej, sizeof rej, "%lld", (long long)f->reject_id);
  const char *v[4] = {f->url, f->sha[0] != '\0' ? f->sha : NULL, f->document_id != 0 ? doc : NULL,
                      f->reject_id != 0 ? rej : NULL};
  return db_exec(c, &q_feed_done, v, NULL);
}

/* An unlinked temporary file for a download. */
static int temp_fd(void)
{
  const char *dir = getenv("TMPDIR");
  if (dir == NULL || dir[0] == '\0')
    dir = "/tmp";
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0)
    return fd;
  char path[4096];
  snprintf(path, sizeof path, "%s/backstock-custody-XXXXXX", dir);
  fd = mkostemp(path, O_CLOEXEC);
  if (fd >= 0)
    unlink(path);
  return fd;
}

/* Whether the file on @fd has the SHA-256 @want (hex). */
static bool same_sha(int fd, const char *want)
{
  crypto_hash_sha256_state hs;
  unsigned char h[crypto_hash_sha256_BYTES], buf[65536];
  char got[65];
  crypto_hash_sha256_init(&hs);
  for (off_t off = 0;;) {
    ssize_t n = pread(fd, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return false;
    if (n == 0)
      break;
    crypto_hash_sha256_update(&hs, buf, (size_t)n);
    off += n;
  }
  crypto_hash_sha256_final(&hs, h);
  sodium_bin2hex(got, sizeof got, h, sizeof h);
  return strcmp(got, want) == 0;
}

/* Fetch and ingest one listed document; counts into @st. */
static void http_one(struct custody_http *h, const struct listed *e, struct custody_feed_stats *st,
                     volatile int *stop)
{
  struct db_conn *c = custody_store_db(h->s);
  char url[URL_MAX], origin[URL_MAX];
  struct feed_row f = {.url = url, .sha = ""};
  struct custody_ingest res;
  memset(&res, 0, sizeof res);
  st->seen++;
  const char *listed = e->url;
  if (resolve(h, listed, url, sizeof url) != 0 || url_origin(url, origin, sizeof origin) != 0 ||
      strcmp(origin, h->origin) != 0) {
    log_msg(LOGL_WARN, "custody", "listing entry '%.200s' skipped: not a URL of %s", listed,
            h->origin);
    st->skipped++;
    return;
  }
  if (db_txn(c, "custody_feed_seen", feed_seen_body, &f) != 0) {
    st->failed++;
    return;
  }
  if (f.seen) {
    st->skipped++;
    return;
  }
  struct sink k = {.h = h, .fd = temp_fd(), .max = h->cfg.max_bytes, .stop = stop};
  if (k.fd < 0) {
    log_msg(LOGL_ERROR, "custody", "temporary file for %s: %s", url, strerror(errno));
    st->failed++;
    return;
  }
  enum fetch_result fr = fetch(h, url, &k);
  if (fr == FETCH_TOO_LARGE) {
    struct custody_error te = {.code = -ERR_CUSTODY_TOO_LARGE};
    snprintf(te.msg, sizeof te.msg, "download of over %llu bytes stopped (custody_max_bytes)",
             (unsigned long long)k.max);
    if (custody_reject_record(h->s, url, k.len, k.head, k.head_len, &te, &res.reject_id) == 0)
      res.outcome = CUSTODY_REJECTED;
  } else if (fr == FETCH_OK && e->sha[0] != '\0' && !same_sha(k.fd, e->sha)) {
    log_msg(LOGL_WARN, "custody", "GET %s: the bytes do not have the listed SHA-256; retried later",
            url);
  } else if (fr == FETCH_OK) {
    custody_ingest_fd(h->s, k.fd, url, &res);
  }
  close(k.fd);
  count(st, res.outcome);
  if (res.outcome == 0)
    return;
  f.sha = res.sha256;
  f.document_id = res.outcome == CUSTODY_REJECTED ? 0 : res.document_id;
  f.reject_id = res.outcome == CUSTODY_REJECTED ? res.reject_id : 0;
  if (db_txn(c, "custody_feed_done", feed_done_body, &f) != 0)
    log_msg(LOGL_WARN, "custody", "%s: handled but not recorded; it will be fetched again", url);
}

int custody_http_pass(struct custody_http *h, struct custody_feed_stats *st, volatile int *stop)
{
  struct custody_feed_stats local;
  struct sink k = {.h = h, .fd = -1, .max = h->cfg.max_listing_bytes, .stop = stop};
  struct listed *urls = NULL;
  if (st == NULL)
    st = &local;
  memset(st, 0, sizeof *st);
  enum fetch_result fr = fetch(h, h->listing_url, &k);
  long n = fr == FETCH_OK ? parse_listing(k.mem != NULL ? k.mem : "", k.len, &urls) : -1;
  free(k.mem);
  if (n < 0) {
    if (fr == FETCH_OK)
      log_msg(LOGL_WARN, "custody", "GET %s: not a JSON array of document URLs", h->listing_url);
    else if (fr == FETCH_TOO_LARGE)
      log_msg(LOGL_WARN, "custody", "GET %s: listing over %llu bytes", h->listing_url,
              (unsigned long long)k.max);
    return -ERR_CUSTODY_FEED;
  }
  for (long i = 0; i < n; i++) {
    if (stop == NULL || !*stop)
      http_one(h, &urls[i], st, stop);
    free(urls[i].url);
  }
  free(urls);
  return 0;
}

int custody_http_run(struct custody_http *h, unsigned poll_ms, volatile int *stop)
{
  log_msg(LOGL_INFO, "custody", "polling %s every %u ms", h->listing_url, poll_ms);
  while (!*stop) {
    struct custody_feed_stats st;
    if (custody_http_pass(h, &st, stop) == 0 &&
        st.ingested + st.duplicates + st.rejected + st.failed > 0)
      log_msg(LOGL_INFO, "custody",
              "feed pass: %u listed, %u ingested, %u duplicates, %u rejected, %u to retry", st.seen,
              st.ingested, st.duplicates, st.rejected, st.failed);
    nap(poll_ms, stop);
  }
  log_msg(LOGL_INFO, "custody", "feed %s: stopped", h->listing_url);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Reading back (custody_show)                                         */
/* ------------------------------------------------------------------ */

static const struct db_stmt q_show_statements = {
    "custody_show_statements",
    "SELECT s.id, s.account_servicer, s.safekeeping_account, s.stmt_id,"
    " to_char(s.stmt_day, 'YYYY-MM-DD'), s.basis, s.update_type,"
    " s.pages || '/' || COALESCE(s.last_page::text, '?'),"
    " CASE WHEN s.complete_at IS NOT NULL THEN 'complete'"
    " WHEN s.stale_at IS NOT NULL THEN 'stale' ELSE 'incomplete' END,"
    " (SELECT COALESCE(sum(g.positions), 0) FROM custody_statement_pages g"
    "  WHERE g.statement_id = s.id),"
    " (SELECT string_agg(DISTINCT g.kind, ',') FROM custody_statement_pages g"
    "  WHERE g.statement_id = s.id)"
    " FROM custody_statements s WHERE ($1::text IS NULL OR s.safekeeping_account = $1)"
    " AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM custody_statement_pages g JOIN"
    " custody_positions p ON p.document_id = g.document_id WHERE g.statement_id = s.id"
    " AND p.isin = $2)) ORDER BY s.id",
    2};

static const struct db_stmt q_show_positions = {
    "custody_show_positions",
    "SELECT statement_id, safekeeping_account, CASE WHEN sub_account = '' THEN '-' ELSE"
    " sub_account END, isin, CASE WHEN balance = 'sub' THEN 'sub:' || sub_type ELSE balance END,"
    " quantity::text, CASE WHEN is_short THEN 'SHOR' ELSE 'LONG' END, qty_kind,"
    " to_char(stmt_day, 'YYYY-MM-DD'), basis, update_type"
    " FROM custody_statement_positions WHERE ($1::text IS NULL OR safekeeping_account = $1)"
    " AND ($2::text IS NULL OR isin = $2)"
    " ORDER BY statement_id, page_no, position_no, balance_no",
    2};

static const struct db_stmt q_show_settlements = {
    "custody_show_settlements",
    "SELECT document_id, account_servicer, safekeeping_account, tx_id, isin, quantity::text,"
    " qty_kind, direction, to_char(settlement_date, 'YYYY-MM-DD'),"
    " CASE WHEN against_payment THEN 'APMT' ELSE 'FREE' END"
    " FROM custody_settlements WHERE ($1::text IS NULL OR safekeeping_account = $1)"
    " AND ($2::text IS NULL OR isin = $2) ORDER BY document_id",
    2};

/* Rejects are not filtered: $1 and $2 are accepted and ignored. */
static const struct db_stmt q_show_rejects = {
    "custody_show_rejects",
    "SELECT id, error_name, COALESCE(kind, '-'), COALESCE(sha256, '-'), size,"
    " COALESCE(statement_id::text, '-'), CASE WHEN location = '' THEN '-' ELSE location END,"
    " line, source, message FROM custody_rejects"
    " WHERE $1::text IS NULL OR $2::text IS NULL OR true ORDER BY id",
    2};

/* Print @v with control characters as '?', so that one row stays one line. */
static void put_clean(FILE *out, const char *v)
{
  for (; *v != '\0'; v++)
    fputc((unsigned char)*v < 0x20 || *v == 0x7f ? '?' : *v, out);
}

int custody_show(struct db_conn *c, const char *what, const char *isin, const char *account,
                 FILE *out)
{
  static const struct {
    const char *what, *prefix;
    const struct db_stmt *q;
    const char *cols; /* the name of each column, '|'-separated */
  } views[] = {
      {"statements", "statement", &q_show_statements,
       "id|servicer|account|stmt_id|day|basis|update|pages|status|positions|kind"},
      {"positions", "position", &q_show_positions,
       "statement|account|sub_account|isin|balance|qty|side|qty_kind|day|basis|update"},
      {"settlements", "settlement", &q_show_settlements,
       "document|servicer|account|tx_id|isin|qty|qty_kind|direction|settled|payment"},
      {"rejects", "reject", &q_show_rejects,
       "id|error|kind|sha256|size|statement|where|line|source|message"},
  };
  size_t i;
  for (i = 0; i < sizeof views / sizeof views[0]; i++)
    if (strcmp(what, views[i].what) == 0)
      break;
  if (i == sizeof views / sizeof views[0])
    return -ERR_INVALID_ARGUMENT;
  PGresult *r = NULL;
  const char *v[2] = {account, isin};
  enum db_qs qs = db_exec(c, views[i].q, v, &r);
  if (qs < 0)
    return PQstatus(c->pg) == CONNECTION_OK ? -ERR_DB_HARD : -ERR_DB_CONNECT;
  for (int row = 0; row < (int)qs; row++) {
    const char *name = views[i].cols;
    fputs(views[i].prefix, out);
    for (int col = 0; col < PQnfields(r); col++) {
      size_t n = strcspn(name, "|");
      fprintf(out, " %.*s=", (int)n, name);
      put_clean(out, PQgetvalue(r, row, col));
      name += name[n] == '|' ? n + 1 : n;
    }
    fputc('\n', out);
  }
  if (qs > 0)
    PQclear(r);
  return (int)qs;
}
