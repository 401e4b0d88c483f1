/*
 * "backstock attest keys | rotate | publish": the attestation key store
 * (reconcile/por_sign_keys.c, docs/attestation.md) from the command line
 * and where the service finds it (the keys live outside the database), and
 * publishing an attestation with it: the command, serve's reconciler
 * thread and the API's on-demand publisher.
 */
#ifndef BACKSTOCK_SERVICES_BACKSTOCK_ATTEST_H
#define BACKSTOCK_SERVICES_BACKSTOCK_ATTEST_H

#include <stddef.h>

#include "common/common.h"

/* Room for any key directory: data_dir, "/", attestation_key_dir. */
#define BACKSTOCK_ATTEST_DIR_MAX (2 * CFG_PATH_MAX + 2)

/**
 * backstock_attest_dir() - the key directory of @cfg into @out:
 * attestation_key_dir, a relative one under data_dir.
 */
void backstock_attest_dir(const struct cfg *cfg, char *out, size_t size);

/**
 * backstock_attest_ensure() - make data_dir (mode 0700 when new) and the
 * key directory with a first key when there is none (serve calls it at
 * start).  @dir: receives the key directory (BACKSTOCK_ATTEST_DIR_MAX bytes).
 * Returns 0, -ERR_POR_KEY (permissions: refused, with a message on
 * stderr) or -ERR_IO.
 */
int backstock_attest_ensure(const struct cfg *cfg, char *dir, size_t size);

/**
 * backstock_attest_command() - "attest keys" prints the public keys
 * document (GET /.well-known/backstock-keys.json) and a newline on
 * stdout; "attest rotate" makes a new current key (the first one when
 * there is none) and prints its id.  @argv[@i] is the word after
 * "attest".  Returns 0, -ERR_INVALID_ARGUMENT (usage on stderr) or the
 * key store's error (its message on stderr).
 */
int backstock_attest_command(const struct cfg *cfg, int argc, char **argv, int i);

struct db_conn;
struct attest_result;

/**
 * backstock_attest_publish() - "attest publish": one attestation now over
 * the latest reconciliation run of each ISIN, with the key store of @cfg
 * and files under data_dir/attestations; prints its id and hash.
 * Returns 0 or an error (message on stderr).
 */
int backstock_attest_publish(const struct cfg *cfg, struct db_conn *c);

/**
 * backstock_attest_build() - what "attest publish" does, without printing:
 * one attestation now, into @out.  Returns 0 or an error of the key store
 * or attest_build().
 */
int backstock_attest_build(const struct cfg *cfg, struct db_conn *c, struct attest_result *out);

/**
 * backstock_attest_on_demand() - the API's attestation on demand
 * (struct api_ctx's attest_publish; POST /v1/admin/attestations): one
 * reconciler pass (recon_step(), with recon_tolerance_tokens as serve's reconciler), then
 * the next attestation over the latest run of each ISIN
 * (backstock_attest_build()).  @cls: the service's const struct cfg.
 * @c: outside a transaction.  A pass or a build that loses a race with
 * serve's reconciler thread (a database conflict) is tried again, at most
 * three times in all.
 * Returns 0, -ERR_POR_NOTHING (no reconciliation run at all), or the
 * error of the pass, the key store or attest_build().
 */
int backstock_attest_on_demand(void *cls, struct db_conn *c, struct attest_result *out);

#endif
