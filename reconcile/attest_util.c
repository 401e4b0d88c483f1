/*
 * attest_util.c: helpers of the attestation files (attest_int.h): amount
 * strings, a member reader for canonical JSON (the payload we wrote, or
 * one an auditor checks: anything unexpected is "absent"), folder and file
 * writing, and the holder export's line formats.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "reconcile/attest_int.h"

int attest_amount(struct money m, char *buf, size_t cap)
{
  int n = money_format(m, buf, cap);
  if (n < 0)
    return n;
  if (strchr(buf, '.') != NULL) {
    while (n > 0 && buf[n - 1] == '0')
      buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '.')
      buf[--n] = '\0';
  }
  if (strcmp(buf, "-0") == 0)
    n = snprintf(buf, cap, "0");
  return n;
}

int attest_base_amount(por_u128 v, unsigned decimals, char *buf, size_t cap)
{
  struct money m;
  if (v > (por_u128)(((unsigned __int128)1 << 126) - 1))
    return -ERR_MONEY_OVERFLOW;
  int rc = money_make((__int128)v, decimals, &m);
  return rc != 0 ? rc : attest_amount(m, buf, cap);
}

/* The end of the value starting at @p (canonical JSON), or NULL. */
static const char *skip_value(const char *p, const char *end)
{
  if (p >= end)
    return NULL;
  if (*p == '"') {
    for (p++; p < end; p++) {
      if (*p == '\\')
        p++;
      else if (*p == '"')
        return p + 1;
    }
    return NULL;
  }
  if (*p == '{' || *p == '[') {
    int depth = 0;
    while (p < end) {
      if (*p == '"') {
        p = skip_value(p, end);
        if (p == NULL)
          return NULL;
        continue;
      }
      if (*p == '{' || *p == '[')
        depth++;
      else if (*p == '}' || *p == ']') {
        if (--depth == 0)
          return p + 1;
      }
      p++;
    }
    return NULL;
  }
  while (p < end && *p != ',' && *p != '}' && *p != ']')
    p++;
  return p;
}

int attest_member(struct attest_span obj, const char *name, struct attest_span *out)
{
  const char *p = obj.p, *end = obj.p + obj.n;
  size_t nl = strlen(name);
  if (obj.n < 2 || *p != '{')
    return -1;
  p++;
  while (p < end && *p == '"') {
    const char *k = p + 1;
    const char *ke = skip_value(p, end);
    if (ke == NULL || ke >= end || *ke != ':')
      return -1;
    const char *v = ke + 1;
    const char *ve = skip_value(v, end);
    if (ve == NULL)
      return -1;
    if ((size_t)(ke - 1 - k) == nl && memcmp(k, name, nl) == 0) {
      out->p = v;
      out->n = (size_t)(ve - v);
      return 0;
    }
    p = ve;
    if (p < end && *p == ',')
      p++;
  }
  return -1;
}

int attest_element(struct attest_span arr, size_t i, struct attest_span *out)
{
  const char *p = arr.p, *end = arr.p + arr.n;
  if (arr.n < 2 || *p != '[')
    return -1;
  p++;
  for (size_t k = 0; p < end && *p != ']'; k++) {
    const char *ve = skip_value(p, end);
    if (ve == NULL)
      return -1;
    if (k == i) {
      out->p = p;
      out->n = (size_t)(ve - p);
      return 0;
    }
    p = ve;
    if (p < end && *p == ',')
      p++;
  }
  return -1;
}

int attest_str(struct attest_span v, char *buf, size_t cap)
{
  if (v.n < 2 || v.p[0] != '"' || v.p[v.n - 1] != '"' || v.n - 2 >= cap ||
      memchr(v.p + 1, '\\', v.n - 2) != NULL)
    return -1;
  memcpy(buf, v.p + 1, v.n - 2);
  buf[v.n - 2] = '\0';
  return 0;
}

void attest_rm_tree(const char *dir)
{
  char sub[ATTEST_PATH_MAX];
  const char *names[] = {"statements", "holders", "levels"};
  /* our own three folders of plain files: unlink what we wrote, then the folders */
  for (size_t i = 0; i < 3; i++) {
    snprintf(sub, sizeof sub, "%s/%s", dir, names[i]);
    attest_rm_files(sub);
    rmdir(sub);
  }
  attest_rm_files(dir);
  rmdir(dir);
}

int attest_mkdirs(const char *path)
{
  char tmp[ATTEST_PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
    return -ERR_IO;
  for (char *p = tmp + 1; *p != '\0'; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
      return -ERR_IO;
    *p = '/';
  }
  if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
    return -ERR_IO;
  return 0;
}

int attest_write_file(const char *path, const void *buf, size_t len)
{
  char tmp[ATTEST_PATH_MAX + 8];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
    return -ERR_IO;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return -ERR_IO;
  const char *p = buf;
  size_t left = len;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      close(fd);
      unlink(tmp);
      return -ERR_IO;
    }
    p += w;
    left -= (size_t)w;
  }
  if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
    unlink(tmp);
    return -ERR_IO;
  }
  return 0;
}

int attest_holders_header(const char *line, char *isin, uint8_t round_id[POR_ROUND_ID_LEN],
                          uint8_t key[POR_KEY_LEN], unsigned *height, unsigned *decimals)
{
  char rid[65], k[65];
  if (sscanf(line,
             "# backstock holders v1 isin=%12s round_id=%64s round_key=%64s height=%u "
             "decimals=%u",
             isin, rid, k, height, decimals) != 5)
    return -1;
  if (sodium_hex2bin(round_id, POR_ROUND_ID_LEN, rid, 64, NULL, NULL, NULL) != 0 ||
      sodium_hex2bin(key, POR_KEY_LEN, k, 64, NULL, NULL, NULL) != 0)
    return -1;
  sodium_memzero(k, sizeof k);
  return *height <= POR_HEIGHT_MAX && *decimals <= 18 ? 0 : -1;
}

int attest_holders_line(const char *line, char *holder, size_t hcap, por_u128 *balance)
{
  const char *sp = strchr(line, ' ');
  if (sp == NULL || sp == line || (size_t)(sp - line) >= hcap)
    return -1;
  memcpy(holder, line, (size_t)(sp - line));
  holder[sp - line] = '\0';
  const char *d = sp + 1;
  por_u128 v = 0;
  size_t nd = 0;
  for (; *d >= '0' && *d <= '9'; d++, nd++) {
    if (v > (((por_u128)-1) - 9) / 10)
      return -1;
    v = v * 10 + (por_u128)(*d - '0');
  }
  if (nd == 0 || (nd > 1 && sp[1] == '0') || (*d != '\0' && *d != '\n'))
    return -1;
  *balance = v;
  return 0;
}

int attest_liabilities(const struct attest_figures *f, por_u128 sum, unsigned decimals,
                       struct attest_liab *out)
{
  struct money raw, disp, owed, t1, t2, t3;
  if (sum > (por_u128)MONEY_V_MAX)
    return -ERR_MONEY_OVERFLOW;
  int rc = money_make((__int128)sum, decimals, &raw);
  /* displayed supply in shares, rounded up to the share unit the custodian counts in (10^-6),
   * as the reconciler's ceil6(m*N): both publish the same coverage */
  if (rc == 0)
    rc = money_mul(raw, f->multiplier, ATTEST_SHARE_SCALE, MONEY_ROUND_UP, &disp);
  /* settled: AGG - (displayed + RED_owed) */
  if (rc == 0)
    rc = money_add(disp, f->red_owed, &owed);
  if (rc == 0)
    rc = money_sub(f->agg, owed, &t1);
  if (rc == 0)
    rc = attest_amount(t1, out->settled, sizeof out->settled) < 0 ? -ERR_MONEY_OVERFLOW : 0;
  /* contractual: (AGG + PENR_in - PEND_out) - (displayed + (RED_owed - RED_instr) + MINT_owed) */
  if (rc == 0)
    rc = money_add(f->agg, f->penr_in, &t1);
  if (rc == 0)
    rc = money_sub(t1, f->pend_out, &t1);
  if (rc == 0)
    rc = money_sub(f->red_owed, f->red_instr, &t2);
  if (rc == 0)
    rc = money_add(t2, disp, &t2);
  if (rc == 0)
    rc = money_add(t2, f->mint_owed, &t2);
  if (rc == 0)
    rc = money_sub(t1, t2, &t3);
  if (rc != 0)
    return rc;
  struct {
    struct money m;
    char *dst;
  } w[] = {{t3, out->contractual},
           {f->agg, out->agg},
           {f->penr_in, out->penr_in},
           {f->pend_out, out->pend_out},
           {raw, out->raw},
           {f->multiplier, out->multiplier},
           {disp, out->displayed},
           {f->red_owed, out->red_owed},
           {f->red_instr, out->red_instr},
           {f->mint_owed, out->mints_owed}};
  for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
    if (attest_amount(w[i].m, w[i].dst, MONEY_STR_MAX) < 0)
      return -ERR_MONEY_OVERFLOW;
  return 0;
}

void attest_rm_files(const char *dir)
{
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *e;
  char path[ATTEST_PATH_MAX];
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0))
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode))
      unlink(path);
  }
  closedir(d);
}

int attest_master_key(const char *key_dir, uint8_t out[POR_KEY_LEN])
{
  char path[ATTEST_PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", key_dir, ATTEST_MASTER_FILE);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    uint8_t k[POR_KEY_LEN];
    randombytes_buf(k, sizeof k);
    char tmp[ATTEST_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int w = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = w >= 0 && write(w, k, sizeof k) == (ssize_t)sizeof k && fsync(w) == 0;
    if (w >= 0)
      ok = close(w) == 0 && ok;
    sodium_memzero(k, sizeof k);
    if (!ok || link(tmp, path) != 0) { /* link: a concurrent maker's key wins */
      unlink(tmp);
      if (!ok || errno != EEXIST)
        return -ERR_IO;
    }
    unlink(tmp);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0)
    return -ERR_IO;
  struct stat sb;
  ssize_t n = -1;
  if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == geteuid() &&
      (sb.st_mode & 077) == 0 && sb.st_size == POR_KEY_LEN)
    n = read(fd, out, POR_KEY_LEN);
  close(fd);
  if (n != POR_KEY_LEN) {
    log_msg(LOGL_ERROR, "attest", "%s: not a 32-byte file of ours with mode 0600", path);
    return -ERR_POR_KEY;
  }
  return 0;
}
