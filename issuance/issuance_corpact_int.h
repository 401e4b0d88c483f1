/*
 * Internals of the corporate actions (issuance_corpact*.c): the columns
 * an action is read with, its row, and small helpers the files share.
 */
#ifndef BACKSTOCK_ISSUANCE_CORPACT_INT_H
#define BACKSTOCK_ISSUANCE_CORPACT_INT_H

#include "issuance/issuance_int.h"

/*
 * Times travel as Unix ms: columns read as "(extract(epoch from col) *
 * 1000)::bigint" (exact: stored truncated to ms), parameters written as
 * "'epoch'::timestamptz + $n::bigint * interval '1 millisecond'".
 */

/* The columns corpact__row() reads, of "corporate_actions a JOIN instruments i". */
#define CORPACT_COLS                                                                               \
  "a.id, a.instrument, i.symbol, a.type, a.ratio_old, a.ratio_new, a.cash_per_share,"              \
  " a.currency, a.new_symbol, a.old_symbol, (a.record_date - date '1970-01-01'),"                  \
  " (a.ex_date - date '1970-01-01'), (a.pay_date - date '1970-01-01'),"                            \
  " (extract(epoch from a.effective_at) * 1000)::bigint,"                                          \
  " (extract(epoch from a.window_start) * 1000)::bigint,"                                          \
  " (extract(epoch from a.window_end) * 1000)::bigint, a.old_multiplier, a.new_multiplier,"        \
  " a.status, a.attention, a.created_by, (extract(epoch from a.created) * 1000)::bigint,"          \
  " (extract(epoch from a.updated) * 1000)::bigint,"                                               \
  " (extract(epoch from a.applied_at) * 1000)::bigint"
#define CORPACT_FROM " FROM corporate_actions a JOIN instruments i ON i.id = a.instrument"

/**
 * corpact__row() - the action at row @row of a result of CORPACT_COLS.
 * Returns 0 or -ERR_INTERNAL (a stored figure that does not fit: logged).
 */
int corpact__row(PGresult *r, int row, struct corpact *out);

/** corpact__ms_text() - @ms as text for a bigint parameter. */
const char *corpact__ms_text(int64_t ms, char buf[ISS_I64_TXT]);

/** corpact__multiplier_type() - a type that moves the multiplier (split, reverse split). */
bool corpact__multiplier_type(enum corpact_type t);

#endif
