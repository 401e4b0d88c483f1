/*
 * "backstock attest keys | rotate | publish" and the key directory of the
 * service's configuration (services/backstock_attest.h): thin wrappers over
 * the key store of reconcile/por_sign_keys.c; backstock_attest_build(), the
 * one way to publish (the command, serve's reconciler thread); and the
 * API's attestation on demand (a reconciler pass, then that build).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "api/api.h"
#include "db/db.h"
#include "reconcile/reconcile.h"
#include "services/backstock_attest.h"

void backstock_attest_dir(const struct cfg *cfg, char *out, size_t size)
{
  const char *v = cfg->attestation_key_dir;
  if (v[0] == '/')
    snprintf(out, size, "%s", v);
  else
    snprintf(out, size, "%s/%s", cfg->data_dir, v);
}

/* mkdir -p of @path's parents, each new one 0700. */
static int make_parents(const char *path)
{
  char buf[BACKSTOCK_ATTEST_DIR_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p != '\0'; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
      fprintf(stderr, "backstock: cannot create %s: %s\n", buf, strerror(errno));
      return -ERR_IO;
    }
    *p = '/';
  }
  return 0;
}

int backstock_attest_ensure(const struct cfg *cfg, char *dir, size_t size)
{
  backstock_attest_dir(cfg, dir, size);
  if (sodium_init() < 0)
    return -ERR_INTERNAL;
  int rc = make_parents(dir);
  if (rc == 0)
    rc = por_key_ensure(dir, util_now_ms(), NULL);
  if (rc != 0)
    fprintf(stderr, "backstock: attestation key store %s: %s (see the log line above)\n", dir,
            err_text(rc));
  return rc;
}

int backstock_attest_command(const struct cfg *cfg, int argc, char **argv, int i)
{
  char dir[BACKSTOCK_ATTEST_DIR_MAX], id[POR_KEY_ID_LEN + 1];
  const char *what = i < argc && i + 1 == argc ? argv[i] : "";
  int rc;
  if (strcmp(what, "keys") == 0) {
    struct por_pubkey *keys = NULL;
    size_t n = 0, len = 0;
    char *json = NULL;
    backstock_attest_dir(cfg, dir, sizeof dir);
    if ((rc = por_keys_load(dir, &keys, &n)) == 0)
      rc = por_keys_document(keys, n, &json, &len);
    free(keys);
    if (rc != 0) {
      fprintf(stderr, "backstock: attest keys: %s: %s\n", dir, err_text(rc));
      return rc;
    }
    printf("%s\n", json);
    free(json);
    return 0;
  }
  if (strcmp(what, "rotate") == 0) {
    backstock_attest_dir(cfg, dir, sizeof dir);
    if (sodium_init() < 0)
      return -ERR_INTERNAL;
    if ((rc = make_parents(dir)) == 0)
      rc = por_key_rotate(dir, util_now_ms(), id);
    if (rc != 0) {
      fprintf(stderr, "backstock: attest rotate: %s: %s\n", dir, err_text(rc));
      return rc;
    }
    printf("%s\n", id);
    return 0;
  }
  fputs("usage: backstock attest keys | attest rotate\n", stderr);
  return -ERR_INVALID_ARGUMENT;
}

int backstock_attest_publish(const struct cfg *cfg, struct db_conn *c)
{
  struct attest_result r;
  int rc = backstock_attest_build(cfg, c, &r);
  if (rc != 0) {
    fprintf(stderr, "attest publish: %s (%s)\n", err_text(rc), err_name(rc));
    return rc;
  }
  printf("attestation %lld over %zu ISIN(s): hash %s, files in %s/attestations/%lld\n",
         (long long)r.id, r.n_isins, r.hash, cfg->data_dir, (long long)r.id);
  return 0;
}

int backstock_attest_build(const struct cfg *cfg, struct db_conn *c, struct attest_result *out)
{
  char dir[BACKSTOCK_ATTEST_DIR_MAX];
  int rc = backstock_attest_ensure(cfg, dir, sizeof dir);
  struct por_signer *s = NULL;
  uint8_t master[POR_KEY_LEN];
  if (rc == 0)
    rc = por_signer_open(dir, &s);
  if (rc == 0)
    rc = attest_master_key(dir, master);
  if (rc == 0)
    rc = attest_build(c, s, master, cfg->data_dir, cfg->attestation_tree_height, api_json_canonical,
                      out);
  sodium_memzero(master, sizeof master);
  por_signer_free(s);
  return rc;
}

static bool retry_worth(int rc)
{
  return rc == -ERR_DB_CONFLICT || rc == -ERR_DB_HARD || rc == -ERR_DB_COMMIT_UNKNOWN;
}

int backstock_attest_on_demand(void *cls, struct db_conn *c, struct attest_result *out)
{
  const struct cfg *cfg = cls;
  struct recon_stats st;
  int rc = 0;
  for (int attempt = 0; attempt < 3; attempt++) {
    memset(&st, 0, sizeof st);
    if ((rc = db_ensure(c)) == 0)
      rc = recon_step(c, (int64_t)cfg->recon_tolerance_tokens, &st);
    if (!retry_worth(rc))
      break;
    log_msg(LOGL_INFO, "attest", "on demand: reconciler pass: %s; again", err_text(rc));
  }
  if (rc != 0)
    return rc;
  for (int attempt = 0; attempt < 3; attempt++) {
    rc = backstock_attest_build(cfg, c, out);
    if (!retry_worth(rc))
      break;
    log_msg(LOGL_INFO, "attest", "on demand: build: %s; again", err_text(rc));
  }
  if (rc == 0)
    log_msg(LOGL_INFO, "attest", "on demand: %u run(s); attestation %lld over %zu ISIN(s), hash %s",
            st.runs, (long long)out->id, out->n_isins, out->hash);
  return rc;
}
