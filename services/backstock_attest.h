/*
 * "backstock attest keys | rotate": the attestation key store
 * (reconcile/por_sign_keys.c, docs/attestation.md) from the command line,
 * and where the service finds it.  No database: the keys live outside it.
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

#endif
