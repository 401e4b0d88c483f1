/*
 * attest_recover.c: the attestation folders a crash left behind.
 *
 * attest_build_from() writes an attestation's files into
 * <data dir>/attestations/.tmp-<id>-<random> and renames that folder to
 * <id> once the row is committed.  A crash between the commit and the
 * rename leaves a committed attestation without its folder (no evidence,
 * no proofs); a crash or a lost race before the commit leaves a folder no
 * row will ever claim.  attest_recover() settles both: a temporary folder
 * whose attestation.json is byte for byte the stored document of its id
 * becomes <id>; one of an id already stored with another document (the
 * loser of a race) or already in place is removed; one of an id not yet
 * stored is left alone (a build may be running), unless it is older than
 * a day.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "db/db.h"
#include "reconcile/attest_int.h"

#define STALE_S 86400

/* Settles one temporary folder @name (".tmp-<id>-<hex>") under @top. */
static int settle(struct db_conn *c, const char *top, const char *name, unsigned *renamed)
{
  char *end = NULL, dir[ATTEST_PATH_MAX], final_dir[ATTEST_PATH_MAX], path[ATTEST_PATH_MAX + 32];
  long long id = strtoll(name + 5, &end, 10);
  if (id < 1 || end == NULL || *end != '-')
    return 0;
  snprintf(dir, sizeof dir, "%s/%s", top, name);
  snprintf(final_dir, sizeof final_dir, "%s/%lld", top, id);
  char *doc = NULL, *mine = NULL;
  size_t len = 0, mlen = 0;
  int64_t got = 0;
  int rc = attest_get(c, id, &got, &doc, &len);
  if (rc == -ERR_API_NOT_FOUND || (rc == 0 && got != id)) {
    struct stat st;
    free(doc);
    if (stat(dir, &st) == 0 && time(NULL) - st.st_mtime > STALE_S)
      attest_rm_tree(dir);
    return 0;
  }
  if (rc != 0)
    return rc;
  snprintf(path, sizeof path, "%s/attestation.json", dir);
  struct stat fs;
  bool same = util_read_file(path, 64u << 20, &mine, &mlen) == 0 && mlen == len &&
              memcmp(mine, doc, len) == 0;
  if (same && stat(final_dir, &fs) != 0 && errno == ENOENT) {
    if (rename(dir, final_dir) != 0) {
      rc = -ERR_IO;
    } else {
      log_msg(LOGL_WARN, "attest", "attestation %lld: its folder recovered from %s", id, name);
      (*renamed)++;
    }
  } else {
    attest_rm_tree(dir);
  }
  free(mine);
  free(doc);
  return rc;
}

int attest_recover(struct db_conn *c, const char *data_dir, unsigned *renamed)
{
  char top[ATTEST_DATA_DIR_MAX + 16];
  unsigned local = 0;
  if (renamed == NULL)
    renamed = &local;
  *renamed = 0;
  if (strlen(data_dir) >= ATTEST_DATA_DIR_MAX)
    return -ERR_INVALID_ARGUMENT;
  snprintf(top, sizeof top, "%s/attestations", data_dir);
  DIR *d = opendir(top);
  if (d == NULL)
    return errno == ENOENT ? 0 : -ERR_IO;
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL)
    if (strncmp(e->d_name, ".tmp-", 5) == 0)
      rc = settle(c, top, e->d_name, renamed);
  closedir(d);
  return rc;
}
