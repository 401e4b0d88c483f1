/*
 * "backstock attestations fetch [ID|latest] --out DIR" (docs/cli.md,
 * docs/attestation.md): everything an auditor needs to check an
 * attestation offline, into DIR:
 *   attestation.json        GET /v1/attestations/{id} (byte for byte)
 *   backstock-keys.json     GET /.well-known/backstock-keys.json
 *   previous.json           GET /v1/attestations/{id-1} (when id > 1)
 *   holders/<ISIN>.txt      \ every file of GET /v1/attestations/{id}/evidence,
 *   statements/<sha>.xml    / each checked against the manifest's SHA-256 and size
 * then "backstock audit verify --dir DIR" checks it.  Only manifest paths
 * of the service's strict patterns are written (a path of a reply never
 * leaves DIR).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <yajl/yajl_tree.h>

#include "common/common.h"
#include "services/backstock_client.h"

#define FETCH_PATH_MAX 4096

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line "error 4 io: attestations fetch: ..." on stderr; exit 1. */
static int fail(const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "error %d %s: attestations fetch: ", ERR_IO, err_name(ERR_IO));
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return CLIENT_EXIT_ERROR;
}

/* GET @path into @rep (free it in any case); 0, or the exit status with the error printed. */
static int get(const struct client_conn *conn, const char *path, struct client_reply *rep)
{
  struct client_req req = {.method = "GET", .path = path};
  memset(rep, 0, sizeof *rep);
  client_http(conn, &req, rep);
  if (rep->status == 200)
    return 0;
  client_print_error(stderr, conn, rep);
  return CLIENT_EXIT_ERROR; /* the caller frees @rep */
}

static int write_file(const char *dir, const char *rel, const char *buf, size_t len)
{
  char path[FETCH_PATH_MAX];
  int n = snprintf(path, sizeof path, "%s/%s", dir, rel);
  if (n < 0 || (size_t)n >= sizeof path)
    return fail("%s/%s: path too long", dir, rel);
  FILE *f = fopen(path, "wb");
  bool ok = f != NULL && fwrite(buf, 1, len, f) == len;
  if (f != NULL && fclose(f) != 0)
    ok = false;
  if (!ok)
    return fail("cannot write %s: %s", path, strerror(errno));
  return 0;
}

static int make_dir(const char *dir, const char *sub)
{
  char path[FETCH_PATH_MAX];
  int n = snprintf(path, sizeof path, "%s%s%s", dir, sub[0] ? "/" : "", sub);
  if (n < 0 || (size_t)n >= sizeof path)
    return fail("%s: path too long", dir);
  if (mkdir(path, 0755) != 0 && errno != EEXIST)
    return fail("cannot create %s: %s", path, strerror(errno));
  return 0;
}

static void sha_hex(const char *buf, size_t len, char out[65])
{
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)buf, len);
  sodium_bin2hex(out, 65, h, sizeof h);
}

/* A manifest path of the service's patterns (api/api_attest_evidence.c). */
static bool path_ok(const char *p)
{
  size_t n = strlen(p);
  if (strcmp(p, "attestation.json") == 0)
    return true;
  if (n == 8 + 16 && strncmp(p, "holders/", 8) == 0 && strcmp(p + 20, ".txt") == 0) {
    for (size_t i = 8; i < 20; i++) {
      char ch = p[i];
      bool up = ch >= 'A' && ch <= 'Z', dig = ch >= '0' && ch <= '9';
      if ((i < 10 && !up) || (i == 19 && !dig) || (!up && !dig))
        return false;
    }
    return true;
  }
  if (n == 11 + 68 && strncmp(p, "statements/", 11) == 0 && strcmp(p + 75, ".xml") == 0)
    return strspn(p + 11, "0123456789abcdef") == 64;
  return false;
}

/* The payload's id of an attestation document; 0 when it has none. */
static long long doc_id(const char *doc)
{
  const char *pid[] = {"payload", "id", NULL};
  yajl_val root = yajl_tree_parse(doc, NULL, 0);
  yajl_val v = root != NULL ? yajl_tree_get(root, pid, yajl_t_number) : NULL;
  long long id = v != NULL && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : 0;
  yajl_tree_free(root);
  return id;
}

/* Each file of the manifest @m (@doc is attestation.json); the count in *@n. */
static int fetch_files(const struct client_conn *conn, const char *dir, long long id,
                       const struct client_reply *m, const char *doc, size_t doc_len, size_t *n)
{
  const char *pfiles[] = {"files", NULL}, *ppath[] = {"path", NULL}, *psha[] = {"sha256", NULL},
             *psize[] = {"size", NULL};
  yajl_val root = yajl_tree_parse(m->body, NULL, 0);
  yajl_val files = root != NULL ? yajl_tree_get(root, pfiles, yajl_t_array) : NULL;
  int rc = files == NULL ? fail("the evidence manifest is not {\"files\": [...]}") : 0;
  bool saw_doc = false;
  for (size_t i = 0; rc == 0 && i < files->u.array.len; i++) {
    yajl_val f = files->u.array.values[i];
    yajl_val vp = yajl_tree_get(f, ppath, yajl_t_string),
             vs = yajl_tree_get(f, psha, yajl_t_string),
             vz = yajl_tree_get(f, psize, yajl_t_number);
    const char *p = vp != NULL ? YAJL_GET_STRING(vp) : NULL;
    if (p == NULL || vs == NULL || vz == NULL || !YAJL_IS_INTEGER(vz) || !path_ok(p)) {
      rc = fail("manifest entry %zu is not a valid {path, sha256, size}", i + 1);
      break;
    }
    const char *want = YAJL_GET_STRING(vs);
    long long size = YAJL_GET_INTEGER(vz);
    char got[65], url[CLIENT_URL_MAX];
    if (strcmp(p, "attestation.json") == 0) {
      sha_hex(doc, doc_len, got);
      if (strcmp(got, want) != 0 || (long long)doc_len != size)
        rc = fail("attestation.json: the evidence's SHA-256 is %s, the published document's %s",
                  want, got);
      saw_doc = true;
      continue;
    }
    struct client_reply rep;
    snprintf(url, sizeof url, "/v1/attestations/%lld/evidence/%s", id, p);
    if ((rc = get(conn, url, &rep)) != 0) {
      client_reply_free(&rep);
      break;
    }
    sha_hex(rep.body, rep.len, got);
    if (strcmp(got, want) != 0 || (long long)rep.len != size)
      rc = fail("%s: %zu bytes with SHA-256 %s; the manifest says %lld bytes, %s", p, rep.len, got,
                size, want);
    else
      rc = write_file(dir, p, rep.body, rep.len);
    client_reply_free(&rep);
    (*n)++;
  }
  if (rc == 0 && !saw_doc)
    rc = fail("the evidence manifest lacks attestation.json");
  yajl_tree_free(root);
  return rc;
}

int client_fetch_attestation(const struct client_conn *conn, const char *which, const char *dir)
{
  struct client_reply doc = {0}, keys = {0}, prev = {0}, man = {0};
  char path[CLIENT_URL_MAX], prev_path[FETCH_PATH_MAX];
  size_t n = 0;
  int rc;
  if (which == NULL)
    which = "latest";
  size_t wl = strlen(which);
  if (strcmp(which, "latest") != 0 &&
      (wl == 0 || wl > 18 || which[0] == '0' || strspn(which, "0123456789") != wl)) {
    fprintf(stderr, "error %d %s: attestations fetch: \"%s\": want an attestation id or latest\n",
            ERR_INVALID_ARGUMENT, err_name(ERR_INVALID_ARGUMENT), which);
    return CLIENT_EXIT_USAGE;
  }
  if ((rc = make_dir(dir, "")) != 0 || (rc = make_dir(dir, "statements")) != 0 ||
      (rc = make_dir(dir, "holders")) != 0)
    return rc;
  snprintf(path, sizeof path, "/v1/attestations/%s", which);
  if ((rc = get(conn, path, &doc)) != 0)
    goto out;
  long long id = doc_id(doc.body);
  if (id <= 0) {
    rc = fail("the document of attestation %s has no payload id", which);
    goto out;
  }
  if ((rc = write_file(dir, "attestation.json", doc.body, doc.len)) != 0)
    goto out;
  if ((rc = get(conn, "/.well-known/backstock-keys.json", &keys)) != 0 ||
      (rc = write_file(dir, "backstock-keys.json", keys.body, keys.len)) != 0)
    goto out;
  snprintf(prev_path, sizeof prev_path, "%s/previous.json", dir);
  if (id > 1) {
    snprintf(path, sizeof path, "/v1/attestations/%lld", id - 1);
    if ((rc = get(conn, path, &prev)) != 0 ||
        (rc = write_file(dir, "previous.json", prev.body, prev.len)) != 0)
      goto out;
  } else if (unlink(prev_path) != 0 && errno != ENOENT) {
    rc = fail("cannot remove the stale %s: %s", prev_path, strerror(errno));
    goto out;
  }
  snprintf(path, sizeof path, "/v1/attestations/%lld/evidence", id);
  if ((rc = get(conn, path, &man)) != 0)
    goto out;
  if ((rc = fetch_files(conn, dir, id, &man, doc.body, doc.len, &n)) != 0)
    goto out;
  printf("attestation %lld: attestation.json, backstock-keys.json%s and %zu evidence file(s) in "
         "%s, each SHA-256 checked; verify with: backstock audit verify --dir %s\n",
         id, id > 1 ? ", previous.json" : "", n, dir, dir);
  rc = fflush(stdout) == 0 ? CLIENT_EXIT_OK : CLIENT_EXIT_ERROR;
out:
  client_reply_free(&doc);
  client_reply_free(&keys);
  client_reply_free(&prev);
  client_reply_free(&man);
  return rc;
}
