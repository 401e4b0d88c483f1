/*
 * Internals shared by the files of the issuance module: the books'
 * text checks, numeric text to money, the mapping of query statuses
 * to errors, and the page of a list.
 */
#ifndef BACKSTOCK_ISSUANCE_INT_H
#define BACKSTOCK_ISSUANCE_INT_H

#include "issuance/issuance.h"

/* Text of a bigint parameter (int64 and its NUL). */
#define ISS_I64_TXT 24

/* -ERR_DB_CONFLICT for a soft status, -ERR_DB_HARD for a hard one. */
int issuance__qs_err(enum db_qs qs);

/*
 * A reference: "<kind>:<id>", kind 1-32 of a-z 0-9 _ starting with a
 * letter, id 1-94 printable ASCII without space.
 */
bool issuance__ref_valid(const char *s);

/* A posting key: 1..BOOKS_KEY_MAX-1 printable ASCII without space. */
bool issuance__key_valid(const char *s);

/* A memo: valid UTF-8 without control characters, shorter than BOOKS_MEMO_MAX. */
bool issuance__memo_valid(const char *s);

/*
 * Numeric text as PostgreSQL prints it to money at @scale: fraction
 * digits beyond @scale must be zeros.  Returns 0, -ERR_BOOKS_ASSET (not
 * exact at @scale, or not a number) or -ERR_BOOKS_OVERFLOW.
 */
int issuance__num_money(const char *s, unsigned scale, struct money *out);

/*
 * A figure for reports: @s (numeric text) at @scale when it is exact
 * there and in range ("0" at scale 2 is "0.00"), else @s as it is, cut
 * to BOOKS_FIGURE_MAX - 1 bytes ending in "...".
 */
void issuance__figure(const char *s, unsigned scale, char out[BOOKS_FIGURE_MAX]);

/* Milliseconds since the epoch of a posting time read as numeric text. */
int64_t issuance__ms(const char *s);

/* Gets row @row of @r; returns 0 to go on, anything else to stop (returned). */
typedef int (*issuance_row_fn)(void *cls, PGresult *r, int row);

/*
 * issuance__page() - one page of a list (issuance_participants_limits.c):
 * runs @st with $1 @scope (text; NULL is SQL NULL), $2 @after (rows with
 * an id above it) and $3 @max (the most rows), and hands each row to @fn.
 * Returns the rows handed over, what @fn returned when it stopped,
 * -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int issuance__page(struct db_conn *c, const struct db_stmt *st, const char *scope, int64_t after,
                   size_t max, issuance_row_fn fn, void *cls);

#endif
