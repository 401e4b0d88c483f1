/*
 * The attestation key store (docs/attestation.md): a directory outside the
 * database, mode 0700, owned by the service's user, holding
 *   <key_id>.key   the 32-byte Ed25519 seed, mode 0600 (only the current key)
 *   <key_id>.pub   text lines "key_id = ..", "alg = ed25519",
 *                  "public_key = <base64>", "not_before = <unix ms>",
 *                  "not_after = <unix ms>" (empty while the key is valid)
 *   current        the current key id and a newline
 * Every file is written atomically: a temporary file in the directory,
 * fsync, rename, fsync of the directory.  A secret is read only from a
 * regular file of ours with no group or other bits, into sodium_malloc'd
 * memory, and wiped after use.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "reconcile/reconcile.h"

#define SEED_LEN 32
#define PUB_MAX  1024 /* bytes of a public key file */
#define DIR_MAX  4096 /* bytes of the directory's path */
#define PATH_BUF (DIR_MAX + 64)

/* Refuse with a logged reason. */
static int refuse(const char *path, const char *why)
{
  log_msg(LOGL_ERROR, "attest", "key store %s: %s", path, why);
  return -ERR_POR_KEY;
}

/* The directory must be ours and closed to group and others. */
static int check_dir(const char *dir)
{
  struct stat st;
  if (strlen(dir) >= DIR_MAX)
    return refuse(dir, "path too long");
  if (lstat(dir, &st) != 0)
    return refuse(dir, "missing (run `backstock attest rotate` or start the service)");
  if (!S_ISDIR(st.st_mode))
    return refuse(dir, "not a directory");
  if (st.st_uid != geteuid())
    return refuse(dir, "owned by another user");
  if ((st.st_mode & 077) != 0)
    return refuse(dir, "open to group or others (chmod 700 it)");
  return 0;
}

/* Write @len bytes to @dir/@name atomically with @mode. */
static int write_atomic(const char *dir, const char *name, const void *data, size_t len,
                        mode_t mode)
{
  char tmp[PATH_BUF], path[PATH_BUF];
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp%ld", dir, name, (long)getpid());
  snprintf(path, sizeof path, "%s/%s", dir, name);
  unlink(tmp);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    log_msg(LOGL_ERROR, "attest", "cannot create %s: %s", tmp, strerror(errno));
    return -ERR_IO;
  }
  const char *p = data;
  size_t off = 0;
  int rc = fchmod(fd, mode) == 0 ? 0 : -ERR_IO;
  while (rc == 0 && off < len) {
    ssize_t w = write(fd, p + off, len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      rc = -ERR_IO;
    else
      off += (size_t)w;
  }
  if (rc == 0 && fsync(fd) != 0)
    rc = -ERR_IO;
  if (close(fd) != 0)
    rc = -ERR_IO;
  if (rc == 0 && rename(tmp, path) != 0)
    rc = -ERR_IO;
  if (rc != 0) {
    log_msg(LOGL_ERROR, "attest", "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    return rc;
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return 0;
}

/* The id in "current", or -ERR_POR_KEY / 1 when there is none. */
static int read_current(const char *dir, char id[POR_KEY_ID_LEN + 1])
{
  char path[PATH_BUF], *text = NULL;
  size_t len = 0;
  snprintf(path, sizeof path, "%s/current", dir);
  if (access(path, F_OK) != 0 && errno == ENOENT)
    return 1;
  if (util_read_file(path, 64, &text, &len) != 0)
    return refuse(path, "unreadable");
  int rc = 0;
  if (len != POR_KEY_ID_LEN + 1 || text[POR_KEY_ID_LEN] != '\n')
    rc = refuse(path, "not a key id and a newline");
  for (size_t i = 0; rc == 0 && i < POR_KEY_ID_LEN; i++)
    if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
      rc = refuse(path, "not a key id and a newline");
  if (rc == 0) {
    memcpy(id, text, POR_KEY_ID_LEN);
    id[POR_KEY_ID_LEN] = '\0';
  }
  free(text);
  return rc;
}

/* The text of a public key file. */
static int write_pub(const char *dir, const struct por_pubkey *k)
{
  char b64[POR_PK_B64_LEN + 1], text[PUB_MAX], name[POR_KEY_ID_LEN + 8], after[24] = "";
  sodium_bin2base64(b64, sizeof b64, k->pk, sizeof k->pk, sodium_base64_VARIANT_ORIGINAL);
  if (k->not_after_ms != POR_TIME_NONE)
    snprintf(after, sizeof after, "%lld", (long long)k->not_after_ms);
  int n =
      snprintf(text, sizeof text,
               "key_id = %s\nalg = ed25519\npublic_key = %s\nnot_before = %lld\nnot_after = %s\n",
               k->key_id, b64, (long long)k->not_before_ms, after);
  snprintf(name, sizeof name, "%s.pub", k->key_id);
  return write_atomic(dir, name, text, (size_t)n, 0644);
}

/* The value of "@key = " on its own line of @text, up to the newline. */
static const char *pub_field(const char *text, const char *key, size_t *vlen)
{
  size_t kl = strlen(key);
  for (const char *l = text; l != NULL && *l != '\0';) {
    const char *nl = strchr(l, '\n');
    if (nl == NULL)
      return NULL;
    if ((size_t)(nl - l) >= kl + 3 && memcmp(l, key, kl) == 0 && memcmp(l + kl, " = ", 3) == 0) {
      *vlen = (size_t)(nl - l) - kl - 3;
      return l + kl + 3;
    }
    l = nl + 1;
  }
  return NULL;
}

static int parse_ms(const char *v, size_t n, int64_t *out)
{
  char buf[24], *end;
  if (n == 0 || n >= sizeof buf)
    return -1;
  memcpy(buf, v, n);
  buf[n] = '\0';
  errno = 0;
  long long x = strtoll(buf, &end, 10);
  if (errno != 0 || *end != '\0' || x < 0)
    return -1;
  *out = x;
  return 0;
}

/* Read @dir/@id.pub into @k, checking that its key id is its public key's. */
static int read_pub(const char *dir, const char *id, struct por_pubkey *k)
{
  char path[PATH_BUF], *text = NULL, want[POR_KEY_ID_LEN + 1];
  size_t len = 0, n = 0, bl = 0;
  const char *v;
  snprintf(path, sizeof path, "%s/%s.pub", dir, id);
  if (util_read_file(path, PUB_MAX, &text, &len) != 0)
    return refuse(path, "unreadable");
  int rc = -1;
  memset(k, 0, sizeof *k);
  if (memchr(text, '\0', len) != NULL)
    goto out;
  if ((v = pub_field(text, "key_id", &n)) == NULL || n != POR_KEY_ID_LEN || memcmp(v, id, n) != 0)
    goto out;
  if ((v = pub_field(text, "alg", &n)) == NULL || n != 7 || memcmp(v, "ed25519", 7) != 0)
    goto out;
  if ((v = pub_field(text, "public_key", &n)) == NULL ||
      sodium_base642bin(k->pk, sizeof k->pk, v, n, NULL, &bl, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      bl != sizeof k->pk)
    goto out;
  if ((v = pub_field(text, "not_before", &n)) == NULL || parse_ms(v, n, &k->not_before_ms) != 0)
    goto out;
  if ((v = pub_field(text, "not_after", &n)) == NULL)
    goto out;
  k->not_after_ms = POR_TIME_NONE;
  if (n > 0 && parse_ms(v, n, &k->not_after_ms) != 0)
    goto out;
  por_key_id(k->pk, want);
  if (strcmp(want, id) != 0)
    goto out;
  memcpy(k->key_id, id, POR_KEY_ID_LEN + 1);
  rc = 0;
out:
  free(text);
  return rc == 0 ? 0 : refuse(path, "malformed public key file");
}

/* Read the seed of @id into @seed (SEED_LEN bytes), checking the file. */
static int read_seed(const char *dir, const char *id, unsigned char *seed)
{
  char path[PATH_BUF];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s.key", dir, id);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return refuse(path, "cannot open the secret key file");
  int rc = 0;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    rc = refuse(path, "not a regular file");
  else if (st.st_uid != geteuid())
    rc = refuse(path, "owned by another user");
  else if ((st.st_mode & 077) != 0)
    rc = refuse(path, "permissions looser than 0600 (chmod 600 it)");
  else if (st.st_size != SEED_LEN)
    rc = refuse(path, "not a 32-byte secret key");
  size_t off = 0;
  while (rc == 0 && off < SEED_LEN) {
    ssize_t r = read(fd, seed + off, SEED_LEN - off);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      rc = refuse(path, "short read");
    else
      off += (size_t)r;
  }
  close(fd);
  return rc;
}

int por_signer_open(const char *dir, struct por_signer **out)
{
  char id[POR_KEY_ID_LEN + 1];
  struct por_pubkey k;
  int rc = check_dir(dir);
  if (rc != 0)
    return rc;
  if ((rc = read_current(dir, id)) != 0)
    return rc > 0 ? refuse(dir, "no current key") : rc;
  if ((rc = read_pub(dir, id, &k)) != 0)
    return rc;
  unsigned char *seed = sodium_malloc(SEED_LEN);
  if (seed == NULL)
    return -ERR_NOMEM;
  if ((rc = read_seed(dir, id, seed)) == 0)
    rc = por_signer_from_seed(seed, out);
  sodium_free(seed);
  if (rc == 0 && memcmp(por_signer_public(*out), k.pk, sizeof k.pk) != 0) {
    por_signer_free(*out);
    *out = NULL;
    rc = refuse(dir, "the secret key does not match its public key file");
  }
  return rc;
}

/* A new key valid from @now_ms: its secret and public files; not yet current. */
static int make_key(const char *dir, int64_t now_ms, struct por_pubkey *k)
{
  unsigned char *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
  char name[POR_KEY_ID_LEN + 8];
  if (sk == NULL)
    return -ERR_NOMEM;
  memset(k, 0, sizeof *k);
  crypto_sign_keypair(k->pk, sk);
  por_key_id(k->pk, k->key_id);
  k->not_before_ms = now_ms;
  k->not_after_ms = POR_TIME_NONE;
  snprintf(name, sizeof name, "%s.key", k->key_id);
  /* libsodium's secret key starts with the seed. */
  int rc = write_atomic(dir, name, sk, SEED_LEN, 0600);
  sodium_free(sk);
  if (rc == 0)
    rc = write_pub(dir, k);
  return rc;
}

static int set_current(const char *dir, const char *id)
{
  char line[POR_KEY_ID_LEN + 2];
  snprintf(line, sizeof line, "%s\n", id);
  return write_atomic(dir, "current", line, POR_KEY_ID_LEN + 1, 0644);
}

int por_key_ensure(const char *dir, int64_t now_ms, bool *created)
{
  char id[POR_KEY_ID_LEN + 1];
  struct por_pubkey k;
  if (created != NULL)
    *created = false;
  if (strlen(dir) >= DIR_MAX)
    return refuse(dir, "path too long");
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    log_msg(LOGL_ERROR, "attest", "cannot create %s: %s", dir, strerror(errno));
    return -ERR_IO;
  }
  int rc = check_dir(dir);
  if (rc != 0)
    return rc;
  if ((rc = read_current(dir, id)) <= 0)
    return rc;
  if ((rc = make_key(dir, now_ms, &k)) == 0)
    rc = set_current(dir, k.key_id);
  if (rc == 0) {
    log_msg(LOGL_INFO, "attest", "new attestation key %s in %s", k.key_id, dir);
    if (created != NULL)
      *created = true;
  }
  return rc;
}

int por_key_rotate(const char *dir, int64_t now_ms, char new_id[POR_KEY_ID_LEN + 1])
{
  char old[POR_KEY_ID_LEN + 1], path[PATH_BUF];
  struct por_pubkey ok, nk;
  bool made;
  int rc = por_key_ensure(dir, now_ms, &made);
  if (rc != 0)
    return rc;
  if (made) { /* a fresh store: its first key is the new one */
    if ((rc = read_current(dir, old)) != 0)
      return rc > 0 ? refuse(dir, "no current key") : rc;
    if (new_id != NULL)
      memcpy(new_id, old, POR_KEY_ID_LEN + 1);
    return 0;
  }
  if ((rc = read_current(dir, old)) != 0)
    return rc > 0 ? refuse(dir, "no current key") : rc;
  if ((rc = read_pub(dir, old, &ok)) != 0)
    return rc;
  /* New key, then the pointer, then retire the old one: a crash between
   * steps leaves an old key without its end time, never no key. */
  if ((rc = make_key(dir, now_ms, &nk)) != 0 || (rc = set_current(dir, nk.key_id)) != 0)
    return rc;
  ok.not_after_ms = now_ms;
  if ((rc = write_pub(dir, &ok)) != 0)
    return rc;
  snprintf(path, sizeof path, "%s/%s.key", dir, old);
  int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) { /* overwrite the retired seed before unlinking it */
    unsigned char zero[SEED_LEN] = {0};
    if (write(fd, zero, sizeof zero) != (ssize_t)sizeof zero || fsync(fd) != 0)
      log_msg(LOGL_WARN, "attest", "cannot overwrite %s", path);
    close(fd);
  }
  if (unlink(path) != 0 && errno != ENOENT)
    log_msg(LOGL_WARN, "attest", "cannot remove %s: %s", path, strerror(errno));
  log_msg(LOGL_INFO, "attest", "rotated attestation key %s -> %s", old, nk.key_id);
  if (new_id != NULL)
    memcpy(new_id, nk.key_id, POR_KEY_ID_LEN + 1);
  return 0;
}

static int key_cmp(const void *a, const void *b)
{
  const struct por_pubkey *x = a, *y = b;
  if (x->not_before_ms != y->not_before_ms)
    return x->not_before_ms < y->not_before_ms ? -1 : 1;
  return strcmp(x->key_id, y->key_id);
}

int por_keys_load(const char *dir, struct por_pubkey **keys, size_t *n)
{
  char cur[POR_KEY_ID_LEN + 1] = "";
  struct por_pubkey *v = NULL;
  size_t cnt = 0;
  if (strlen(dir) >= DIR_MAX)
    return refuse(dir, "path too long");
  int rc = read_current(dir, cur);
  if (rc < 0)
    return rc;
  DIR *d = opendir(dir);
  if (d == NULL)
    return refuse(dir, "cannot open the key directory");
  rc = 0;
  for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
    const char *nm = e->d_name;
    if (strlen(nm) != POR_KEY_ID_LEN + 4 || strcmp(nm + POR_KEY_ID_LEN, ".pub") != 0)
      continue;
    char id[POR_KEY_ID_LEN + 1];
    memcpy(id, nm, POR_KEY_ID_LEN);
    id[POR_KEY_ID_LEN] = '\0';
    if (cnt == POR_KEYS_MAX) {
      rc = refuse(dir, "too many keys");
      break;
    }
    struct por_pubkey *nv = realloc(v, (cnt + 1) * sizeof *v);
    if (nv == NULL) {
      rc = -ERR_NOMEM;
      break;
    }
    v = nv;
    if ((rc = read_pub(dir, id, &v[cnt])) == 0) {
      v[cnt].current = strcmp(id, cur) == 0;
      cnt++;
    }
  }
  closedir(d);
  if (rc != 0) {
    free(v);
    return rc;
  }
  if (cnt > 0)
    qsort(v, cnt, sizeof *v, key_cmp);
  *keys = v;
  *n = cnt;
  return 0;
}

/* "2024-05-01T13:45:00.123Z" */
static void fmt_time(int64_t ms, char out[64])
{
  struct tm tm;
  time_t s = (time_t)(ms / 1000);
  gmtime_r(&s, &tm);
  snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int por_keys_document(const struct por_pubkey *keys, size_t n, char **json, size_t *len)
{
  /* Every value is hex, base64 or a time: nothing needs escaping. */
  size_t cap = 16 + n * 400, pos = 0;
  char *b = malloc(cap);
  if (b == NULL)
    return -ERR_NOMEM;
  pos += (size_t)snprintf(b + pos, cap - pos, "{\"keys\":[");
  for (size_t i = 0; i < n; i++) {
    char pk[POR_PK_B64_LEN + 1], nb[64], na[72] = "null";
    sodium_bin2base64(pk, sizeof pk, keys[i].pk, sizeof keys[i].pk, sodium_base64_VARIANT_ORIGINAL);
    fmt_time(keys[i].not_before_ms, nb);
    if (keys[i].not_after_ms != POR_TIME_NONE) {
      char t[64];
      fmt_time(keys[i].not_after_ms, t);
      snprintf(na, sizeof na, "\"%s\"", t);
    }
    pos += (size_t)snprintf(b + pos, cap - pos,
                            "%s{\"alg\":\"ed25519\",\"current\":%s,\"key_id\":\"%s\","
                            "\"not_after\":%s,\"not_before\":\"%s\",\"public_key\":\"%s\"}",
                            i > 0 ? "," : "", keys[i].current ? "true" : "false", keys[i].key_id,
                            na, nb, pk);
  }
  pos += (size_t)snprintf(b + pos, cap - pos, "]}");
  *json = b;
  *len = pos;
  return 0;
}
