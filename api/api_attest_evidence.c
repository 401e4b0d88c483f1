/*
 * The auditor's evidence of an attestation (issuer admin, auditor;
 * docs/attestation.md), from its folder <data_dir>/attestations/<id>/:
 *   GET /v1/attestations/{id}/evidence
 *       {"attestation":id,"files":[{"path","sha256","size"}...]} sorted by
 *       path: attestation.json, holders/<ISIN>.txt, statements/<sha256>.xml
 *       (the levels files are the service's, not evidence);
 *   GET /v1/attestations/{id}/evidence/attestation.json
 *   GET /v1/attestations/{id}/evidence/{dir}/{name}
 *       one of those files, its raw bytes (application/json, text/plain,
 *       application/xml).
 * Only names of the strict patterns are ever opened (no path of the
 * client's reaches the file system: no traversal), without following a
 * symbolic link, regular files only, at most EVIDENCE_FILE_MAX bytes;
 * anything else is 404.  An attestation the database does not know, or
 * whose folder is missing, is 404.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api_int.h"

/* Largest evidence file served (a holder export of 2^20 holders is ~80 MiB). */
#define EVIDENCE_FILE_MAX ((uint64_t)256 << 20)
/* Most files one manifest lists. */
#define EVIDENCE_FILES_MAX 100000
#define EVIDENCE_PATH_MAX  1024

static const struct db_stmt q_exists = {
    "api_attest_exists",
    "SELECT 1 FROM attestations WHERE id = $1::bigint",
    1,
};

struct entry {
  char path[96]; /* relative to the attestation's folder */
  char sha[crypto_hash_sha256_BYTES * 2 + 1];
  uint64_t size;
};

static bool is_hex_lower(char ch)
{
  return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

static bool is_upper(char ch)
{
  return ch >= 'A' && ch <= 'Z';
}

static bool is_digit(char ch)
{
  return ch >= '0' && ch <= '9';
}

/* statements/: 64 lower-case hex digits and ".xml". */
static bool statement_name_ok(const char *s)
{
  if (strlen(s) != 68 || strcmp(s + 64, ".xml") != 0)
    return false;
  for (int i = 0; i < 64; i++)
    if (!is_hex_lower(s[i]))
      return false;
  return true;
}

/* holders/: an ISIN (two letters, nine letters or digits, a digit) and ".txt". */
static bool holder_name_ok(const char *s)
{
  if (strlen(s) != 16 || strcmp(s + 12, ".txt") != 0 || !is_upper(s[0]) || !is_upper(s[1]) ||
      !is_digit(s[11]))
    return false;
  for (int i = 2; i < 11; i++)
    if (!is_upper(s[i]) && !is_digit(s[i]))
      return false;
  return true;
}

/* The Content-Type of a valid evidence path. */
static const char *content_type(const char *rel)
{
  size_t n = strlen(rel);
  if (n > 4 && strcmp(rel + n - 4, ".xml") == 0)
    return "application/xml";
  if (n > 4 && strcmp(rel + n - 4, ".txt") == 0)
    return "text/plain";
  return "application/json";
}

/*
 * The folder of the attestation of the path's {id} into @dir, once the
 * database knows it and the folder exists.  Returns 0,
 * -ERR_API_NOT_FOUND or a database error to answer.
 */
static int att_dir(struct api_request *req, int64_t *id, char *dir, size_t size)
{
  const struct api_ctx *ctx = api_req_ctx(req);
  struct db_conn *c;
  char ids[24];
  struct stat st;
  if (api_parse_id(api_req_param(req, "id"), id) != 0 || ctx->data_dir == NULL)
    return -ERR_API_NOT_FOUND;
  int rc = api_req_db(req, &c);
  if (rc != 0)
    return rc;
  snprintf(ids, sizeof ids, "%lld", (long long)*id);
  const char *p[] = {ids};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_exists, p, &r);
  if (r != NULL)
    PQclear(r);
  if (qs < 0)
    return qs == DB_QS_SOFT ? -ERR_DB_CONFLICT : -ERR_DB_HARD;
  if (qs == DB_QS_NONE)
    return -ERR_API_NOT_FOUND;
  int n = snprintf(dir, size, "%s/attestations/%lld", ctx->data_dir, (long long)*id);
  if (n < 0 || (size_t)n >= size || lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return -ERR_API_NOT_FOUND;
  return 0;
}

/*
 * Open @dir/@rel for reading: a regular file (not a link) of at most
 * EVIDENCE_FILE_MAX bytes.  Returns the descriptor, -ERR_API_NOT_FOUND or
 * -ERR_IO (too large, unreadable: logged).
 */
static int open_evidence(const char *dir, const char *rel, uint64_t *size)
{
  char path[EVIDENCE_PATH_MAX];
  struct stat st;
  int n = snprintf(path, sizeof path, "%s/%s", dir, rel);
  if (n < 0 || (size_t)n >= sizeof path)
    return -ERR_API_NOT_FOUND;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
      return -ERR_API_NOT_FOUND;
    log_msg(LOGL_WARN, "api", "evidence %s: %s", path, strerror(errno));
    return -ERR_IO;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return -ERR_API_NOT_FOUND;
  }
  if ((uint64_t)st.st_size > EVIDENCE_FILE_MAX) {
    log_msg(LOGL_WARN, "api", "evidence %s: %lld bytes, over the %llu served", path,
            (long long)st.st_size, (unsigned long long)EVIDENCE_FILE_MAX);
    close(fd);
    return -ERR_IO;
  }
  *size = (uint64_t)st.st_size;
  return fd;
}

/* SHA-256 (hex) and size of @dir/@rel into @e; 0, -ERR_API_NOT_FOUND (gone) or -ERR_IO. */
static int hash_file(const char *dir, const char *rel, struct entry *e)
{
  uint64_t size = 0, seen = 0;
  int fd = open_evidence(dir, rel, &size);
  if (fd < 0)
    return fd;
  crypto_hash_sha256_state hs;
  unsigned char buf[65536], out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_init(&hs);
  for (;;) {
    ssize_t k = read(fd, buf, sizeof buf);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0) {
      close(fd);
      return -ERR_IO;
    }
    if (k == 0)
      break;
    crypto_hash_sha256_update(&hs, buf, (unsigned long long)k);
    seen += (uint64_t)k;
  }
  close(fd);
  crypto_hash_sha256_final(&hs, out);
  sodium_bin2hex(e->sha, sizeof e->sha, out, sizeof out);
  util_strlcpy(e->path, rel, sizeof e->path);
  e->size = seen;
  (void)size;
  return 0;
}

struct list {
  struct entry *v;
  size_t n, cap;
};

static int add(struct list *l, const char *dir, const char *rel)
{
  if (l->n == l->cap) {
    size_t cap = l->cap != 0 ? 2 * l->cap : 16;
    if (cap > EVIDENCE_FILES_MAX)
      return -ERR_IO;
    struct entry *v = realloc(l->v, cap * sizeof *v);
    if (v == NULL)
      return -ERR_NOMEM;
    l->v = v;
    l->cap = cap;
  }
  int rc = hash_file(dir, rel, &l->v[l->n]);
  if (rc == -ERR_API_NOT_FOUND)
    return 0; /* not a regular file, or gone: not evidence */
  if (rc == 0)
    l->n++;
  return rc;
}

/* Every file of @dir/@sub whose name @ok accepts. */
static int add_folder(struct list *l, const char *dir, const char *sub, bool (*ok)(const char *))
{
  char path[EVIDENCE_PATH_MAX], rel[96];
  snprintf(path, sizeof path, "%s/%s", dir, sub);
  DIR *d = opendir(path);
  if (d == NULL)
    return errno == ENOENT ? 0 : -ERR_IO;
  int rc = 0;
  struct dirent *de;
  while (rc == 0 && (de = readdir(d)) != NULL) {
    if (!ok(de->d_name) || strlen(sub) + 1 + strlen(de->d_name) >= sizeof rel)
      continue;
    memcpy(rel, sub, strlen(sub));
    rel[strlen(sub)] = '/';
    util_strlcpy(rel + strlen(sub) + 1, de->d_name, sizeof rel - strlen(sub) - 1);
    rc = add(l, dir, rel);
  }
  closedir(d);
  return rc;
}

static int by_path(const void *a, const void *b)
{
  return strcmp(((const struct entry *)a)->path, ((const struct entry *)b)->path);
}

int api_attestation_evidence_get(struct api_request *req)
{
  char dir[EVIDENCE_PATH_MAX];
  int64_t id = 0;
  struct list l = {NULL, 0, 0};
  int rc = att_dir(req, &id, dir, sizeof dir);
  if (rc == 0)
    rc = add(&l, dir, "attestation.json");
  if (rc == 0)
    rc = add_folder(&l, dir, "holders", holder_name_ok);
  if (rc == 0)
    rc = add_folder(&l, dir, "statements", statement_name_ok);
  if (rc != 0) {
    free(l.v);
    return api_reply_error(req, rc, rc == -ERR_API_NOT_FOUND ? "no such attestation" : NULL);
  }
  qsort(l.v, l.n, sizeof *l.v, by_path);
  struct api_json j;
  api_json_init(&j);
  api_json_obj(&j);
  api_json_key(&j, "attestation");
  api_json_int(&j, id);
  api_json_key(&j, "files");
  api_json_arr(&j);
  for (size_t i = 0; i < l.n; i++) {
    api_json_obj(&j);
    api_json_key(&j, "path");
    api_json_str(&j, l.v[i].path);
    api_json_key(&j, "sha256");
    api_json_str(&j, l.v[i].sha);
    api_json_key(&j, "size");
    api_json_int(&j, (int64_t)l.v[i].size);
    api_json_obj_end(&j);
  }
  api_json_arr_end(&j);
  api_json_obj_end(&j);
  free(l.v);
  rc = api_reply_writer(req, 200, &j);
  api_json_free(&j);
  return rc;
}

int api_attestation_evidence_file_get(struct api_request *req)
{
  const char *sub = api_req_param(req, "dir"), *name = api_req_param(req, "name");
  char dir[EVIDENCE_PATH_MAX], rel[96];
  int64_t id = 0;
  uint64_t size = 0;
  if (sub == NULL && name == NULL)
    util_strlcpy(rel, "attestation.json", sizeof rel);
  else if (sub != NULL && name != NULL &&
           ((strcmp(sub, "statements") == 0 && statement_name_ok(name)) ||
            (strcmp(sub, "holders") == 0 && holder_name_ok(name))))
    snprintf(rel, sizeof rel, "%s/%s", sub, name);
  else
    return api_reply_error(req, ERR_API_NOT_FOUND, "no such evidence file");
  int rc = att_dir(req, &id, dir, sizeof dir);
  if (rc != 0)
    return api_reply_error(req, rc, rc == -ERR_API_NOT_FOUND ? "no such attestation" : NULL);
  int fd = open_evidence(dir, rel, &size);
  if (fd < 0)
    return api_reply_error(req, fd, fd == -ERR_API_NOT_FOUND ? "no such evidence file" : NULL);
  /* MHD owns the descriptor from here (closes it with the response). */
  struct MHD_Response *r = MHD_create_response_from_fd64(size, fd);
  if (r == NULL) {
    close(fd);
    return api_reply_error(req, ERR_NOMEM, NULL);
  }
  return api__reply_response(req, 200, r, content_type(rel), false);
}
