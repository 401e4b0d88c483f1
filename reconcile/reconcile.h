/*
 * reconcile: reconciliation and proof of reserves (issue 6;
 * ../shared/docs/CUSTODY_POR.md).  The Merkle sum tree over holder
 * balances and its inclusion proofs, the attestation keys and signatures,
 * and (later) the reconciler itself.
 *
 * Conventions as in common.h: 0 (or a count) on success, a negated error
 * of common_errors.h (block 9000, POR_*) on failure; out-values only
 * written on success.
 */
#ifndef BACKSTOCK_RECONCILE_H
#define BACKSTOCK_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/common.h"

/* ================================================================== */
/* Merkle sum tree (por_tree*.c) -- tree helper                        */
/* ================================================================== */

/* (declarations of the sum-tree slice) */

/* ================================================================== */
/* Attestation keys and signatures (por_sign*.c) -- signing helper     */
/* ================================================================== */

/* (declarations of the signing slice) */

#endif
