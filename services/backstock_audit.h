/*
 * The auditor's offline commands (services/backstock_audit.c,
 * docs/attestation.md):
 *   backstock audit verify --attestation FILE --statements DIR --holders DIR
 *                          [--keys FILE] [--previous FILE]
 *   backstock audit verify --dir DIR    (what "attestations fetch" wrote)
 *   backstock audit inclusion --attestation FILE --proof FILE
 * The two audit commands are offline (no configuration, no database) and are
 * dispatched before the API client's "audit books|log|..." group.
 */
#ifndef BACKSTOCK_SERVICES_BACKSTOCK_AUDIT_H
#define BACKSTOCK_SERVICES_BACKSTOCK_AUDIT_H

#include <stdbool.h>

#include "common/common.h"
#include "db/db.h"
#include "reconcile/reconcile.h"

/** backstock_audit_handles() - whether argv[@i..] is "audit verify" or "audit inclusion". */
bool backstock_audit_handles(int argc, char **argv, int i);

/**
 * backstock_audit_main() - run "audit verify|inclusion" (@argv[@i] is the
 * word after "audit").  Prints "ok: ..." on stdout, or the first mismatch
 * on stderr.  Returns the process exit code: 0 verified, 1 a mismatch or
 * unreadable file, 2 usage.
 */
int backstock_audit_main(int argc, char **argv, int i);

#endif
