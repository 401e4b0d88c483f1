/*
 * custody_xml_int.h: internals shared by the ISO 20022 parsers and writers
 * of the custody module (custody_semt002.c, custody_semt002_write.c,
 * custody_sese025.c).  Not part of the public interface.
 *
 * The parsing engine (custody_semt002.c) drives libxml2's xmlTextReader
 * over a table of the schema's types: each type lists the child elements
 * the parser knows, in schema order, with a child type (0 for a text
 * leaf), an action code and flags.  The engine enforces the hostile-input
 * rules (no DOCTYPE, entity or foreign encoding; byte, depth and text
 * limits; the exact namespace), the order of known children, repeats of
 * single children and the presence of required ones, skips unknown
 * elements, and calls the document's action function at the start and
 * end of containers and with the text of each leaf.
 */
#ifndef BACKSTOCK_CUSTODY_XML_INT_H
#define BACKSTOCK_CUSTODY_XML_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "custody/custody.h"

/* Child flags. */
#define CUSTODY__XF_REQ   0x01 /* required: missing is -ERR_CUSTODY_MISSING */
#define CUSTODY__XF_MULTI 0x02 /* may repeat */
#define CUSTODY__XF_ATTR  0x04 /* leaf: action also called at its start (attributes) */

/* Type flags. */
#define CUSTODY__XT_CHOICE 0x01 /* exactly one of the children */

/* Longest leaf text kept (every field read is far shorter). */
#define CUSTODY__XML_TEXT_MAX 512

struct custody__xml_child {
  const char *name;
  uint8_t len;   /* strlen(name) */
  uint8_t type;  /* index into the type table; 0 = text leaf */
  uint8_t act;   /* action code for the handler; 0 = none */
  uint8_t flags; /* CUSTODY__XF_* */
};

struct custody__xml_type {
  const struct custody__xml_child *kids;
  uint8_t n;
  uint8_t flags; /* CUSTODY__XT_* */
};

enum custody__xml_phase {
  CUSTODY__XML_START = 1, /* a container (or an XF_ATTR leaf) starts */
  CUSTODY__XML_END,       /* a container ends, its children checked */
  CUSTODY__XML_LEAF,      /* a leaf ends: text and len are its content */
};

struct custody__xml;

/*
 * Called by the engine; returns 0 to go on, or an error code (usually
 * from custody__xml_fail()) or a callback's nonzero value to stop.
 */
typedef int (*custody__xml_action_fn)(void *cls, struct custody__xml *x, unsigned act,
                                      enum custody__xml_phase phase, const char *text, size_t len);

struct custody__xml_schema {
  const char *ns;                        /* exact namespace of Document */
  const struct custody__xml_type *types; /* types[1] is the root type (Document's) */
  size_t n_types;
  custody__xml_action_fn action;
};

/**
 * custody__xml_parse() - run the engine over @fd (when @buf is NULL) or
 * @buf/@len.  Returns 0, the handler's nonzero value, or -ERR_CUSTODY_*
 * (also -ERR_IO, -ERR_NOMEM) with @err filled (@err may be NULL).
 */
int custody__xml_parse(int fd, const char *buf, size_t len, const struct custody_limits *lim,
                       const struct custody__xml_schema *sc, void *cls, struct custody_error *err);

/**
 * custody__xml_fail() - record an error at the current element: code,
 * line, where = the element path (plus "/" @child when not NULL), and a
 * formatted message.  Returns @code.
 */
int custody__xml_fail(struct custody__xml *x, int code, const char *child, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** custody__xml_fail_at() - the same with an explicit @where. */
int custody__xml_fail_at(struct custody__xml *x, int code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/**
 * custody__xml_attr() - in a START call, the value of attribute @name
 * (no namespace) of the current element, copied into @out (NUL-ended).
 * Returns its length, -1 when absent, -2 when longer than @size - 1.
 */
int custody__xml_attr(struct custody__xml *x, const char *name, char *out, size_t size);

/* ------------------------------------------------------------------ */
/* Value helpers (custody_semt002.c)                                   */
/* ------------------------------------------------------------------ */

/** custody__isin_ok() - [A-Z]{2}[A-Z0-9]{9}[0-9], exactly 12 bytes. */
bool custody__isin_ok(const char *s, size_t len);

/** custody__bic_ok() - AnyBIC: [A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?. */
bool custody__bic_ok(const char *s, size_t len);

/** custody__lei_ok() - [A-Z0-9]{18}[0-9]{2}. */
bool custody__lei_ok(const char *s, size_t len);

/** custody__freq_code_ok() - an EventFrequency7Code (DAIL, WEEK, ...). */
bool custody__freq_code_ok(const char *s, size_t len);

/** custody__subbal_code_ok() - a SecuritiesBalanceType12Code (PEND, PENR, BLOK, ...). */
bool custody__subbal_code_ok(const char *s, size_t len);

/**
 * custody__code4() - which of the 4-letter codes concatenated in @codes
 * ("COMPDELT") @s is: 0, 1, ..., or -1 for none.
 */
int custody__code4(const char *s, size_t len, const char *codes);

/** custody__alnum4_ok() - Exact4AlphaNumericText: [a-zA-Z0-9]{4}. */
bool custody__alnum4_ok(const char *s, size_t len);

/**
 * custody__decimal() - an xs:decimal of the schema (whitespace trimmed,
 * optional sign, leading and trailing zeros ignored as the schema counts
 * digits by value) into @out at @scale.  At most @max_frac fraction and
 * @max_total significant digits; negative values are refused.
 * Returns 0 or -ERR_CUSTODY_VALUE.
 */
int custody__decimal(const char *s, size_t len, unsigned scale, unsigned max_frac,
                     unsigned max_total, struct money *out);

/**
 * custody__qty_limits() - scale, fraction and total digits of a quantity
 * kind (Unit 17/17/18, FaceAmt and AmtsdVal 17/5/18, DgtlTknUnit 29/29/30).
 * Returns false for an unknown kind.
 */
bool custody__qty_limits(enum custody_qty_kind kind, unsigned *scale, unsigned *max_frac,
                         unsigned *max_total);

/**
 * custody__money_text() - the plain decimal text of @m (no trailing
 * fraction zeros, no trailing point) into @buf (MONEY_STR_MAX bytes),
 * after checking it has at most @max_frac fraction and @max_total
 * significant digits and is not negative.  Returns the length or
 * -ERR_INVALID_ARGUMENT.
 */
int custody__money_text(struct money m, unsigned max_frac, unsigned max_total, char *buf);

/**
 * custody__date() - xs:date "YYYY-MM-DD" with an optional time zone
 * (ignored: the calendar date as written).  Returns 0 or -ERR_CUSTODY_VALUE.
 */
int custody__date(const char *s, size_t len, int32_t *day);

/**
 * custody__datetime() - xs:dateTime "YYYY-MM-DDThh:mm:ss[.f*][Z|+hh:mm|-hh:mm]"
 * into UTC milliseconds (no zone: taken as UTC; fractions beyond the
 * millisecond are cut) and @local_day, the date as written.
 * Returns 0 or -ERR_CUSTODY_VALUE.
 */
int custody__datetime(const char *s, size_t len, int64_t *ms, int32_t *local_day);

/** custody__floor_day() - the UTC day of @ms. */
int32_t custody__floor_day(int64_t ms);

/* ------------------------------------------------------------------ */
/* Writing helpers (custody_semt002_write.c)                           */
/* ------------------------------------------------------------------ */

/**
 * custody__text_ok() - valid UTF-8 of 1..@max characters with no
 * character XML 1.0 forbids.
 */
bool custody__text_ok(const char *s, size_t max);

/** custody__put_text() - write @s with &, <, > and CR escaped. */
void custody__put_text(FILE *out, const char *s);

/** custody__put_elem() - "<name>" escaped text "</name>". */
void custody__put_elem(FILE *out, const char *name, const char *text);

/**
 * custody__put_qty() - the FinancialInstrumentQuantity33Choice element of
 * @q (<Unit>, <FaceAmt>, <AmtsdVal> or <DgtlTknUnit>).  Returns 0 or
 * -ERR_INVALID_ARGUMENT (q not present, negative, wrong scale, too many
 * digits).
 */
int custody__put_qty(FILE *out, const struct custody_qty *q);

/** custody__put_date() - "YYYY-MM-DD". */
void custody__put_date(FILE *out, int32_t day);

/**
 * custody__put_party() - the Id choice of a party: <AnyBIC> when @id is a
 * BIC, else <PrtryId><Id>@id</Id><Issr>@issuer</Issr></PrtryId>.
 */
void custody__put_party(FILE *out, const char *id, const char *issuer);

#endif
