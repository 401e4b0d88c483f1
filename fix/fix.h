/*
 * fix: the FIX 4.4 engine shared by the broker connector (initiator) and
 * the simulated broker (acceptor).  This part is the codec:
 *
 * - framing: struct fix_stream takes bytes as they arrive from a socket
 *   (messages split across reads, several per read, garbage between
 *   them), checks BeginString, BodyLength and CheckSum, and hands out one
 *   whole message at a time, tokenised without copying;
 * - field access on a parsed message (struct fix_msg): values point into
 *   the frame;
 * - serialization (struct fix_writer): BodyLength and CheckSum computed,
 *   header written in place in front of the body, no copy of the body;
 * - validation against a dictionary of the message types we use, with
 *   the reject reasons (tag 373) of FIX.md.
 *
 * The wire format and the session behaviours are in ../shared/docs/FIX.md.
 */
#ifndef BACKSTOCK_FIX_H
#define BACKSTOCK_FIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define FIX_SOH          '\x01'
#define FIX_BEGIN_STRING "FIX.4.4"
/* Largest frame accepted (8= through 10=xxx SOH); longer is garbled. */
#define FIX_MSG_MAX (64 * 1024)
/* Most fields in one message; more is garbled. */
#define FIX_FIELDS_MAX 512

/* Tags the engine itself uses. */
enum fix_tag {
  FIX_TAG_BEGIN_STRING = 8,
  FIX_TAG_BODY_LENGTH = 9,
  FIX_TAG_CHECKSUM = 10,
  FIX_TAG_MSG_SEQ_NUM = 34,
  FIX_TAG_MSG_TYPE = 35,
  FIX_TAG_NEW_SEQ_NO = 36,
  FIX_TAG_POSS_DUP = 43,
  FIX_TAG_REF_SEQ_NUM = 45,
  FIX_TAG_SENDER_COMP_ID = 49,
  FIX_TAG_SENDING_TIME = 52,
  FIX_TAG_TARGET_COMP_ID = 56,
  FIX_TAG_TEXT = 58,
  FIX_TAG_POSS_RESEND = 97,
  FIX_TAG_ENCRYPT_METHOD = 98,
  FIX_TAG_HEART_BT_INT = 108,
  FIX_TAG_TEST_REQ_ID = 112,
  FIX_TAG_ORIG_SENDING_TIME = 122,
  FIX_TAG_GAP_FILL = 123,
  FIX_TAG_RESET_SEQ_NUM = 141,
  FIX_TAG_REF_TAG_ID = 371,
  FIX_TAG_REF_MSG_TYPE = 372,
  FIX_TAG_REJECT_REASON = 373,
  FIX_TAG_BUSINESS_REJECT_REASON = 380,
};

/* ------------------------------------------------------------------ */
/* Parsed messages (fix_codec.c)                                       */
/* ------------------------------------------------------------------ */

/* One field: the value is frame[off .. off+len), not NUL-terminated. */
struct fix_field {
  uint32_t tag;
  uint32_t off;
  uint32_t len;
};

/* Tags below this are found through an index rather than a scan. */
#define FIX_INDEX_TAGS 128

/*
 * A framed and tokenised message.  Borrowed: frame points into the
 * stream's buffer (or the caller's), valid until the next call on that
 * stream.  fields[] lists every field in wire order, 8, 9 and 10
 * included; msg_type is the value of 35 (the third field).  first[t] is
 * 1 + the index of the first field with tag t (0: none; 255: at index
 * 254 or later, so look it up by scanning), for t below FIX_INDEX_TAGS;
 * fix_parse() fills it, a message built by hand needs fix_msg_index().
 */
struct fix_msg {
  const char *frame;
  size_t len;
  const char *msg_type; /* points into frame, msg_type_len bytes */
  uint32_t msg_type_len;
  uint32_t n_fields;
  uint8_t first[FIX_INDEX_TAGS];
  struct fix_field fields[FIX_FIELDS_MAX];
};

/** fix_msg_index() - (re)build first[] from fields[]. */
void fix_msg_index(struct fix_msg *msg);

/* Why bytes were discarded (for the log; the session ignores them). */
enum fix_garble {
  FIX_GARBLE_NONE = 0,
  FIX_GARBLE_NO_BEGIN,     /* bytes before a "8=FIX" */
  FIX_GARBLE_BEGIN_STRING, /* 8 is not FIX.4.4 */
  FIX_GARBLE_BODY_LENGTH,  /* 9 missing, malformed, too large, or 10= not where it says */
  FIX_GARBLE_CHECKSUM,     /* 10 malformed or wrong */
  FIX_GARBLE_FIELD,        /* a field without '=', a non-numeric or zero tag */
  FIX_GARBLE_ORDER,        /* 8, 9, 35 not the first three fields */
  FIX_GARBLE_TOO_MANY,     /* more than FIX_FIELDS_MAX fields */
};

/**
 * fix_parse() - frame and tokenise exactly one whole message.
 * @buf, @len: the bytes of one message, 8= through 10=xxx SOH.
 * @msg: receives the message (borrowing @buf).
 * Returns 0, or -ERR_FIX_GARBLED with *why set (may be NULL).
 */
int fix_parse(const char *buf, size_t len, struct fix_msg *msg, enum fix_garble *why);

/**
 * fix_msg_find() - first field with @tag, or NULL.
 */
const struct fix_field *fix_msg_find(const struct fix_msg *msg, uint32_t tag);

/**
 * fix_msg_str() - value of the first @tag as a pointer into the frame.
 * Returns 0 or -ERR_FIX_MISSING.
 */
int fix_msg_str(const struct fix_msg *msg, uint32_t tag, const char **val, size_t *len);

/**
 * fix_msg_copy() - value of the first @tag copied NUL-terminated into
 * @buf.  Returns 0, -ERR_FIX_MISSING or -ERR_TOO_LONG.
 */
int fix_msg_copy(const struct fix_msg *msg, uint32_t tag, char *buf, size_t size);

/**
 * fix_msg_u64() - value of the first @tag as an unsigned integer (digits
 * only, no sign, no leading '+', at most 18 digits).
 * Returns 0, -ERR_FIX_MISSING or -ERR_FIX_FORMAT.
 */
int fix_msg_u64(const struct fix_msg *msg, uint32_t tag, uint64_t *out);

/**
 * fix_msg_money() - value of the first @tag as an exact decimal at
 * @scale (FIX Qty, Price, Amt: optional '-', digits, optional point).
 * Returns 0, -ERR_FIX_MISSING, -ERR_FIX_FORMAT (not a FIX decimal, or
 * more fraction digits than @scale).
 */
int fix_msg_money(const struct fix_msg *msg, uint32_t tag, unsigned scale, struct money *out);

/**
 * fix_msg_time() - a UTCTimestamp "YYYYMMDD-HH:MM:SS[.sss]" as
 * milliseconds since the epoch.  Returns 0, -ERR_FIX_MISSING or
 * -ERR_FIX_FORMAT.
 */
int fix_msg_time(const struct fix_msg *msg, uint32_t tag, int64_t *unix_ms);

/** fix_msg_is() - whether the message type is @type ("D", "8", "AP"). */
bool fix_msg_is(const struct fix_msg *msg, const char *type);

/* ------------------------------------------------------------------ */
/* Streams (fix_codec.c)                                               */
/* ------------------------------------------------------------------ */

/*
 * A receive buffer that frames messages out of a byte stream.  Use:
 *   p = fix_stream_space(s, &room); n = read(fd, p, room); fix_stream_commit(s, n);
 *   while ((r = fix_stream_next(s, &msg, &why)) != FIX_NEED_MORE) ...
 */
struct fix_stream {
  char *buf;
  size_t cap;             /* FIX_MSG_MAX * 2 */
  size_t start;           /* first byte not yet consumed */
  size_t end;             /* one past the last byte received */
  uint64_t garbled_bytes; /* total discarded, for the log and tests */
};

enum fix_next {
  FIX_NEED_MORE = 0, /* no whole message yet: read more */
  FIX_MESSAGE = 1,   /* *msg holds the next message */
  FIX_GARBLED = 2,   /* bytes were discarded (*why says why); call again */
};

/** fix_stream_init() - Returns 0 or -ERR_NOMEM.  Free with fix_stream_free(). */
int fix_stream_init(struct fix_stream *s);

/** fix_stream_free() - release the buffer; NULL does nothing. */
void fix_stream_free(struct fix_stream *s);

/**
 * fix_stream_space() - where to put received bytes; *room receives how
 * many fit (never 0: consumed bytes are compacted away first).
 */
char *fix_stream_space(struct fix_stream *s, size_t *room);

/** fix_stream_commit() - @n bytes were written at fix_stream_space(). */
void fix_stream_commit(struct fix_stream *s, size_t n);

/**
 * fix_stream_next() - the next message, or why bytes were skipped.
 * A message stays valid until the next call to any fix_stream_*.
 * Garbage is skipped up to the next "8=FIX" that starts a field.
 */
enum fix_next fix_stream_next(struct fix_stream *s, struct fix_msg *msg, enum fix_garble *why);

/* ------------------------------------------------------------------ */
/* Serialization (fix_writer.c)                                        */
/* ------------------------------------------------------------------ */

/*
 * Writes one message into a caller's buffer: the body first (after a gap
 * kept for the header), then 8= and 9= are written backwards into the
 * gap so that no byte of the body moves, then 10=.  Errors are sticky:
 * check once at fix_writer_finish().
 */
struct fix_writer {
  char *buf;
  size_t cap;
  size_t pos;        /* next byte of the body */
  size_t body_start; /* where 35= begins */
  int error;         /* 0 or -ERR_TOO_LONG / -ERR_FIX_FORMAT */
};

/** fix_writer_begin() - start a message of type @msg_type (writes 35=). */
void fix_writer_begin(struct fix_writer *w, char *buf, size_t cap, const char *msg_type);

/** fix_writer_str() - tag=value; the value must not contain SOH and must not be empty. */
void fix_writer_str(struct fix_writer *w, uint32_t tag, const char *val, size_t len);

/** fix_writer_cstr() - fix_writer_str() of a NUL-terminated string. */
void fix_writer_cstr(struct fix_writer *w, uint32_t tag, const char *val);

/** fix_writer_u64() - an unsigned integer. */
void fix_writer_u64(struct fix_writer *w, uint32_t tag, uint64_t v);

/** fix_writer_char() - a one-character value (Side, OrdType, ExecType...), not SOH or NUL. */
void fix_writer_char(struct fix_writer *w, uint32_t tag, char c);

/**
 * fix_writer_money() - an exact decimal with trailing fraction zeros
 * (and a bare point) dropped: 100.50 at scale 2 writes "100.5", 7.00 "7".
 */
void fix_writer_money(struct fix_writer *w, uint32_t tag, struct money m);

/** fix_writer_time() - a UTCTimestamp with milliseconds, "YYYYMMDD-HH:MM:SS.sss". */
void fix_writer_time(struct fix_writer *w, uint32_t tag, int64_t unix_ms);

/**
 * fix_writer_finish() - write the header and the CheckSum.
 * @msg, @len: receive the whole message (inside the caller's buffer).
 * Returns 0 or the first error.
 */
int fix_writer_finish(struct fix_writer *w, const char **msg, size_t *len);

/* ------------------------------------------------------------------ */
/* Validation (fix_dict.c)                                             */
/* ------------------------------------------------------------------ */

/* SessionRejectReason (373). */
enum fix_reject_reason {
  FIX_REJ_INVALID_TAG = 0,
  FIX_REJ_REQUIRED_MISSING = 1,
  FIX_REJ_TAG_NOT_DEFINED = 2,
  FIX_REJ_UNDEFINED_TAG = 3,
  FIX_REJ_NO_VALUE = 4,
  FIX_REJ_VALUE_OUT_OF_RANGE = 5,
  FIX_REJ_BAD_FORMAT = 6,
  FIX_REJ_COMPID = 9,
  FIX_REJ_SENDING_TIME = 10,
  FIX_REJ_INVALID_MSG_TYPE = 11,
  FIX_REJ_REPEATED_TAG = 13,
  FIX_REJ_OUT_OF_ORDER = 14,
  FIX_REJ_GROUP_ORDER = 15,
  FIX_REJ_BAD_NUM_IN_GROUP = 16,
};

struct fix_reject {
  enum fix_reject_reason reason;
  uint32_t ref_tag; /* 371, 0 when none */
  bool business;    /* fix_validate() returned 1 for a valid FIX application type
                       we do not handle: answer BusinessMessageReject 380=3, not a
                       Reject 373=11 */
  char text[128];   /* 58, for the Reject */
};

/*
 * What validation found that is not a reject: an application message may
 * carry tags we do not know (a broker's custom fields); it still reaches
 * the application, with those tags listed here for the log.
 */
struct fix_valid_info {
  uint32_t unknown_tags[16];
  unsigned n_unknown; /* may exceed 16: only the first 16 are listed */
};

/**
 * fix_validate() - check a parsed message against the FIX 4.4 dictionary
 * of the message types we use (admin: 0 1 2 3 4 5 A; application: D 8 F
 * 9 H Q j AN AP): required fields, field formats (int, seqnum, length,
 * NumInGroup, qty/price/amt, char, boolean, UTCTimestamp, LocalMktDate),
 * enumerations, repeating groups (count, delimiter first, members in
 * order), repeated tags outside groups, header fields before the body
 * and the trailer last.
 * Returns 0 (valid; @info lists unknown tags of application messages),
 * 1 (the type is unknown or not one we use: rej->business tells whether
 * to answer BusinessMessageReject 380=3, for a FIX application type, or
 * Reject 373=11, for an invalid one), or -1 (invalid: @rej holds 373, 371
 * and a text).  @rej and @info may be NULL.
 */
int fix_validate(const struct fix_msg *msg, struct fix_reject *rej, struct fix_valid_info *info);

#endif
