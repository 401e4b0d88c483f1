/*
 * backstock_audit.c: the auditor's offline commands
 * "audit verify" (also "--dir DIR", the folder of "attestations fetch")
 * and "audit inclusion" (services/backstock_audit.h,
 * docs/attestation.md).  The checks themselves are reconcile's
 * attest_verify_files() and attest_verify_inclusion(); this file reads the
 * files, the keys document and prints the outcome.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api.h"
#include "reconcile/reconcile.h"
#include "services/backstock_audit.h"

#define FILE_MAX     (64u << 20)
#define DIR_PATH_MAX 4096

bool backstock_audit_handles(int argc, char **argv, int i)
{
  return i + 1 < argc && strcmp(argv[i], "audit") == 0 &&
         (strcmp(argv[i + 1], "verify") == 0 || strcmp(argv[i + 1], "inclusion") == 0);
}

static void usage(FILE *f)
{
  fputs("usage: backstock audit verify --attestation FILE --statements DIR --holders DIR\n"
        "                              [--keys FILE] [--previous FILE]\n"
        "       backstock audit verify --dir DIR   (a folder of backstock attestations fetch)\n"
        "       backstock audit inclusion --attestation FILE --proof FILE\n",
        f);
}

/*
 * The keys of a public keys document ({"keys":[{"key_id":..,"public_key":..},..]}), read
 * with a plain scan: each "key_id" followed by its "public_key".
 */
static int load_keys(const char *text, struct por_pubkey **out, size_t *n)
{
  size_t cap = 8, k = 0;
  struct por_pubkey *keys = calloc(cap, sizeof *keys);
  if (keys == NULL)
    return -ERR_NOMEM;
  for (const char *p = strstr(text, "\"key_id\":\""); p != NULL;
       p = strstr(p + 1, "\"key_id\":\"")) {
    const char *id = p + 10, *pk = strstr(p, "\"public_key\":\"");
    if (pk == NULL || strncmp(id + POR_KEY_ID_LEN, "\"", 1) != 0)
      break;
    pk += 14;
    if (k == cap) {
      struct por_pubkey *nk = realloc(keys, 2 * cap * sizeof *keys);
      if (nk == NULL) {
        free(keys);
        return -ERR_NOMEM;
      }
      keys = nk;
      cap *= 2;
    }
    memset(&keys[k], 0, sizeof keys[k]);
    memcpy(keys[k].key_id, id, POR_KEY_ID_LEN);
    size_t bl = 0;
    const char *end = strchr(pk, '"');
    if (end == NULL ||
        sodium_base642bin(keys[k].pk, 32, pk, (size_t)(end - pk), NULL, &bl, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        bl != 32)
      break;
    keys[k].not_after_ms = POR_TIME_NONE;
    k++;
  }
  if (k == 0) {
    free(keys);
    return -ERR_POR_KEY;
  }
  *out = keys;
  *n = k;
  return 0;
}

static char *slurp(const char *what, const char *path, size_t *len)
{
  char *buf = NULL;
  if (path == NULL || util_read_file(path, FILE_MAX, &buf, len) != 0) {
    fprintf(stderr, "audit: cannot read the %s %s\n", what, path ? path : "(not given)");
    return NULL;
  }
  /* a trailing newline is not part of a document */
  while (*len > 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r'))
    buf[--*len] = '\0';
  return buf;
}

static int verify_cmd(const char *att, const char *stmts, const char *holders, const char *keys_p,
                      const char *prev_p)
{
  size_t len = 0, kl = 0, pl = 0;
  char *doc = slurp("attestation", att, &len), *kt = NULL, *pv = NULL;
  struct por_pubkey *keys = NULL;
  size_t nkeys = 0;
  char prev_hash[POR_HASH_HEX_LEN + 1] = "";
  int rc = doc == NULL ? -ERR_IO : 0;
  if (rc == 0 && (stmts == NULL || holders == NULL)) {
    usage(stderr);
    rc = -ERR_INVALID_ARGUMENT;
  }
  if (rc == 0 && keys_p != NULL) {
    kt = slurp("keys document", keys_p, &kl);
    rc = kt == NULL ? -ERR_IO : load_keys(kt, &keys, &nkeys);
    if (rc != 0 && kt != NULL)
      fprintf(stderr, "audit: %s holds no public key\n", keys_p);
  }
  if (rc == 0 && prev_p != NULL) {
    pv = slurp("previous attestation", prev_p, &pl);
    rc = pv == NULL ? -ERR_IO : por_attest_hash(pv, pl, api_json_canonical, prev_hash);
  }
  char msg[ATTEST_MSG_MAX];
  if (rc == 0) {
    rc = attest_verify_files(doc, len, stmts, holders, prev_p ? prev_hash : NULL, keys, nkeys,
                             api_json_canonical, msg, sizeof msg);
    if (rc != 0)
      fprintf(stderr, "audit verify: FAILED: %s\n", msg);
    else
      printf("ok: every figure recomputed from the files matches%s%s\n",
             keys_p ? "; signature verified" : "; signature NOT checked (no --keys)",
             prev_p ? "; previous hash matches" : "");
  }
  free(doc);
  free(kt);
  free(pv);
  free(keys);
  return rc == 0 ? 0 : rc == -ERR_INVALID_ARGUMENT ? 2 : 1;
}

/*
 * "verify --dir DIR": the folder "attestations fetch" writes: DIR/attestation.json,
 * DIR/statements, DIR/holders, DIR/backstock-keys.json and DIR/previous.json when it exists.
 */
static int verify_dir(const char *dir)
{
  char att[DIR_PATH_MAX], stmts[DIR_PATH_MAX], holders[DIR_PATH_MAX], keys[DIR_PATH_MAX],
      prev[DIR_PATH_MAX];
  if (strlen(dir) + 32 > DIR_PATH_MAX) {
    fputs("audit verify: --dir: the path is too long\n", stderr);
    return 2;
  }
  snprintf(att, sizeof att, "%s/attestation.json", dir);
  snprintf(stmts, sizeof stmts, "%s/statements", dir);
  snprintf(holders, sizeof holders, "%s/holders", dir);
  snprintf(keys, sizeof keys, "%s/backstock-keys.json", dir);
  snprintf(prev, sizeof prev, "%s/previous.json", dir);
  return verify_cmd(att, stmts, holders, keys, access(prev, F_OK) == 0 ? prev : NULL);
}

static int inclusion_cmd(const char *att, const char *proof)
{
  size_t len = 0, pl = 0;
  char *doc = slurp("attestation", att, &len);
  char *pr = doc ? slurp("proof", proof, &pl) : NULL;
  int rc = 1;
  if (doc != NULL && pr != NULL) {
    char msg[ATTEST_MSG_MAX];
    if (attest_verify_inclusion(doc, len, pr, pl, msg, sizeof msg) == 0) {
      printf("ok: the proof reaches the attestation's root\n");
      rc = 0;
    } else {
      fprintf(stderr, "audit inclusion: FAILED: %s\n", msg);
    }
  }
  free(doc);
  free(pr);
  return rc;
}

int backstock_audit_main(int argc, char **argv, int i)
{
  const char *att = NULL, *stmts = NULL, *holders = NULL, *keys = NULL, *prev = NULL, *proof = NULL;
  const char *dir = NULL;
  const char *what = argv[i];
  for (int k = i + 1; k < argc; k++) {
    const char *a = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;
    const char **dst = strcmp(a, "--attestation") == 0  ? &att
                       : strcmp(a, "--statements") == 0 ? &stmts
                       : strcmp(a, "--holders") == 0    ? &holders
                       : strcmp(a, "--keys") == 0       ? &keys
                       : strcmp(a, "--previous") == 0   ? &prev
                       : strcmp(a, "--proof") == 0      ? &proof
                       : strcmp(a, "--dir") == 0        ? &dir
                                                        : NULL;
    if (strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    }
    if (dst == NULL || v == NULL) {
      usage(stderr);
      return 2;
    }
    *dst = v;
    k++;
  }
  if (sodium_init() < 0)
    return 1;
  if (dir != NULL && strcmp(what, "verify") == 0) {
    if (att != NULL || stmts != NULL || holders != NULL || keys != NULL || prev != NULL) {
      fputs("audit verify: --dir names every file; give it alone\n", stderr);
      usage(stderr);
      return 2;
    }
    return verify_dir(dir);
  }
  if (strcmp(what, "verify") == 0)
    return verify_cmd(att, stmts, holders, keys, prev);
  if (att == NULL || proof == NULL) {
    usage(stderr);
    return 2;
  }
  return inclusion_cmd(att, proof);
}
