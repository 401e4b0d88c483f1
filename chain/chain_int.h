/*
 * Internals shared by the files of the chain module: the row shape of an
 * intent (read by the shared layer and by backends that lock it), and
 * the text forms of amounts, ops and states as the tables hold them.
 */
#ifndef BACKSTOCK_CHAIN_INT_H
#define BACKSTOCK_CHAIN_INT_H

#include "chain/chain.h"

#define CHAIN__COMP "chain"
/* A numeric as text (numeric(60, 18) has at most 62 characters). */
#define CHAIN__NUM_TXT 80

/*
 * The columns of an intent and its token's decimals, in the order
 * chain__intent_row() reads them; FROM clause CHAIN__INTENT_FROM.
 */
#define CHAIN__INTENT_COLS                                                                         \
  "i.id, i.key, i.op, i.token, i.from_address, i.to_address, i.amount::text, i.state,"             \
  " coalesce(i.block, 0), coalesce(i.error, 0), coalesce(i.reason, ''), t.decimals"
#define CHAIN__INTENT_FROM " FROM chain_intents i JOIN chain_tokens t ON t.symbol = i.token"

/*
 * chain__intent_row() - fill @out from row @row of a result with
 * CHAIN__INTENT_COLS; @decimals (if not NULL) receives the token's.
 * Returns 0 or -ERR_INTERNAL (a value that does not read back: a bug).
 */
int chain__intent_row(const PGresult *r, int row, struct chain_intent *out, unsigned *decimals);

/*
 * chain__money() - a numeric's text (at most CHAIN_TOKEN_SCALE fraction
 * digits, trailing zeros allowed) as money at @decimals, exactly.
 * Returns 0 or -ERR_INTERNAL.
 */
int chain__money(const char *txt, unsigned decimals, struct money *out);

/* chain__format() - @m as text for a numeric parameter (CHAIN__NUM_TXT bytes). */
int chain__format(struct money m, char out[CHAIN__NUM_TXT]);

/* chain__symbol_ok() - 1-16 of A-Z a-z 0-9 . -, starting with a letter or digit. */
bool chain__symbol_ok(const char *s);

/* chain__key_ok() - 1-128 printable ASCII characters, no space. */
bool chain__key_ok(const char *s);

/* chain__result() - what chain_intent_execute() returns for @it as stored. */
int chain__result(const struct chain_intent *it);

#endif
