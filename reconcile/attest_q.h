/* attest_q.h: the prepared statements of the attestations (attest_query.c). */
#ifndef BACKSTOCK_ATTEST_Q_H
#define BACKSTOCK_ATTEST_Q_H

#include "db/db.h"
#include "reconcile/reconcile.h"

extern const struct db_stmt attest_q_figures;
extern const struct db_stmt attest_q_holders;
extern const struct db_stmt attest_q_instrument;
extern const struct db_stmt attest_q_statement;
extern const struct db_stmt attest_q_pages;
extern const struct db_stmt attest_q_last;
extern const struct db_stmt attest_q_insert;
extern const struct db_stmt attest_q_get;

#endif
