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
#include "db/db.h"

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
 * fix_msg_time() - a UTCTimestamp "YYYYMMDD-HH:MM:SS[.sss]" (or 6 or 9
 * fraction digits, cut to milliseconds) as milliseconds since the epoch.  Returns 0,
 * -ERR_FIX_MISSING or -ERR_FIX_FORMAT.
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
 * fix_writer_raw() - append already encoded fields ("tag=value SOH" ...),
 * e.g. a stored body; @len bytes, which must end with SOH (or be empty).
 */
void fix_writer_raw(struct fix_writer *w, const char *fields, size_t len);

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

/* ------------------------------------------------------------------ */
/* Session layer (fix_session.c)                                       */
/* ------------------------------------------------------------------ */

/*
 * One FIX session (a pair of CompIDs) as a state machine without I/O:
 * the driver (fix_net.c) feeds it parsed messages and the time, and takes
 * from it the frames to send.  Every behaviour of FIX.md's session table
 * lives here.  Frames that consume a sequence number are handed to the
 * store (fix_store_pg.c) in one batch, with the sequence numbers, before
 * any of them is written to the socket.
 */
enum fix_role { FIX_INITIATOR = 0, FIX_ACCEPTOR = 1 };

enum fix_state {
  FIX_ST_DISCONNECTED = 0, /* no connection */
  FIX_ST_LOGON_SENT,       /* initiator: Logon sent, waiting for the answer */
  FIX_ST_AWAIT_LOGON,      /* acceptor: connected, waiting for the Logon */
  FIX_ST_ACTIVE,           /* logged on */
  FIX_ST_LOGOUT_SENT,      /* our Logout is out, waiting for the answer */
  FIX_ST_CLOSING,          /* flush what is queued, then disconnect */
};

#define FIX_COMPID_MAX 64

struct fix_session_cfg {
  enum fix_role role;
  char sender[FIX_COMPID_MAX]; /* our CompID (49 on what we send) */
  char target[FIX_COMPID_MAX]; /* theirs (56 on what we send) */
  uint32_t heartbeat_s;        /* 108 the initiator proposes; the acceptor uses the peer's */
  uint32_t max_skew_s;         /* SendingTime accuracy, default 120 */
  uint32_t logon_timeout_s;    /* wait for the Logon (answer), default 10 */
  uint32_t logout_timeout_s;   /* wait for the Logout answer, default 5 */
  uint32_t rate_per_s;         /* outbound application messages per second, 0 = unlimited */
  uint32_t rate_burst;         /* bucket size, default rate_per_s (at least 1) */
  bool reset_on_logon;         /* initiator: send 141=Y on every Logon */
  /* Daily schedule: the session day starts at reset_minute (minutes after
     local midnight, 0..1439) in time zone tz ("America/New_York", "UTC");
     sequence numbers reset to 1 at that instant. */
  uint32_t reset_minute;
  char tz[64];
};

/** fix_session_cfg_init() - defaults: heartbeat 30, skew 120, logon 10, logout 5, UTC 00:00. */
void fix_session_cfg_init(struct fix_session_cfg *cfg, enum fix_role role, const char *sender,
                          const char *target);

/*
 * A frame waiting to be written.  seq_consumed: it took a sequence number
 * (everything but resends and their GapFills); stored: an application
 * message kept for resends (admin messages are replaced by GapFills).
 * app_ref: the application's own reference, passed to its persist hook
 * (the connector's order id), 0 for none.
 */
struct fix_out {
  uint64_t seq;
  char msg_type[4];
  bool seq_consumed;
  bool stored;
  uint64_t app_ref;
  int64_t sending_ms; /* 52 */
  uint32_t frame_off; /* the whole frame: outbuf[frame_off .. +frame_len) */
  uint32_t frame_len;
  uint32_t body_off; /* fields after the standard header, before 10= */
  uint32_t body_len;
};

/* A stored application message, as the store hands it back for a resend. */
struct fix_stored {
  uint64_t seq;
  const char *msg_type;
  int64_t sending_ms; /* original SendingTime, becomes 122 */
  const char *body;   /* fields after the standard header, before 10= */
  size_t body_len;
};

/* Called for each stored message in [from, to], in order; nonzero stops. */
typedef int (*fix_stored_fn)(void *cls, const struct fix_stored *m);

/* Reading back stored messages (the PostgreSQL store, or a test's fake). */
struct fix_store_reader {
  void *ctx;
  int (*load)(void *ctx, uint64_t from, uint64_t to, fix_stored_fn fn, void *cls);
};

struct fix_session;

/*
 * What the application plugs into a session.  Callbacks run on the
 * driver's thread with no lock held; they may call fix_session_send().
 */
struct fix_app {
  void *ctx;
  /* An application message, in sequence, validated (@info lists tags we
     do not know: the message still arrives).  Return 0 when handled, 1
     when the application does not handle this type (the session answers
     BusinessMessageReject 380=3), a negative error when it could not
     handle it for now (a database failure): the message is then not
     consumed, the connection ends, and the peer resends it after the next
     Logon, so the application must be idempotent (ExecID). */
  int (*on_message)(void *ctx, struct fix_session *s, const struct fix_msg *m,
                    const struct fix_valid_info *info);
  /* Logged on (both Logons exchanged). */
  void (*on_logon)(void *ctx, struct fix_session *s);
  /* The connection ended; @why for the log. */
  void (*on_disconnect)(void *ctx, struct fix_session *s, const char *why);
  /* Once per loop turn while logged on: send what is due.  Returns the
     milliseconds until it wants to be called again (-1: only on events). */
  int64_t (*on_work)(void *ctx, struct fix_session *s, int64_t now_ms);
  /* Inside the transaction that stores a batch of outgoing frames, before
     any is sent: record the application's side of them (e.g. which order
     went out under which sequence number).  Called only for batches with
     at least one frame whose app_ref is not 0 (other batches are one
     statement, one round trip).  Return a db_qs; DB_QS_SOFT makes the
     whole batch retry. */
  enum db_qs (*on_persist)(void *ctx, struct db_conn *c, const struct fix_out *batch, size_t n,
                           const char *outbuf);
};

/**
 * fix_session_create() - a session in state DISCONNECTED.
 * @cfg: copied.  @app: copied (may be NULL for none).  @reader: copied
 * (ctx borrowed; NULL: nothing stored, every resend is a GapFill).
 * Returns 0 or -ERR_NOMEM.  Free with fix_session_free().
 */
int fix_session_create(const struct fix_session_cfg *cfg, const struct fix_app *app,
                       const struct fix_store_reader *reader, struct fix_session **out);

/** fix_session_free() - NULL does nothing. */
void fix_session_free(struct fix_session *s);

/** fix_session_cfg_get() - the configuration (CompIDs, role, ...). */
const struct fix_session_cfg *fix_session_cfg_get(const struct fix_session *s);

/** fix_session_id() - "SENDER->TARGET", the store's key. */
const char *fix_session_id(const struct fix_session *s);

enum fix_state fix_session_state(const struct fix_session *s);

/** fix_session_set_seqs() - numbers loaded from the store (before connecting). */
void fix_session_set_seqs(struct fix_session *s, uint64_t next_out, uint64_t next_in);

/** Next sequence number we will send / we expect. */
uint64_t fix_session_next_out(const struct fix_session *s);
uint64_t fix_session_next_in(const struct fix_session *s);

/**
 * fix_session_connected() - a connection is up: the initiator queues its
 * Logon (141=Y when configured, which resets both numbers to 1), the
 * acceptor waits for one.
 */
void fix_session_connected(struct fix_session *s, int64_t now_ms);

/**
 * fix_session_on_msg() - one framed message from the peer.  For an
 * acceptor's first message the driver has already matched the CompIDs to
 * this session.  May queue frames, call the application, or ask to
 * disconnect (fix_session_state() becomes CLOSING or DISCONNECTED).
 */
void fix_session_on_msg(struct fix_session *s, const struct fix_msg *m, int64_t now_ms);

/**
 * fix_session_on_garbled() - the stream discarded bytes.  A bad
 * BeginString before the Logon closes the connection without a reply;
 * anything else is ignored (no sequence number consumed).
 */
void fix_session_on_garbled(struct fix_session *s, enum fix_garble why, int64_t now_ms);

/**
 * fix_session_tick() - timers: Heartbeat after HeartBtInt of outbound
 * silence, TestRequest after 1.2 x HeartBtInt of inbound silence,
 * disconnect after 2.4 x, logon and logout timeouts.
 * Returns the milliseconds until the next timer (at most 1000).
 */
int64_t fix_session_tick(struct fix_session *s, int64_t now_ms);

/**
 * fix_session_send() - queue an application message: the session writes
 * 35, the header (34 49 52 56) and the trailer around @body (encoded
 * fields "tag=value SOH"..., as fix_writer_raw() takes them).
 * @app_ref: handed back to the persist hook with this frame.
 * Returns 0, -ERR_FIX_NOT_LOGGED_ON (not ACTIVE), -ERR_FIX_RATE (the
 * outbound rate limit is reached: try again after
 * fix_session_rate_wait_ms()), -ERR_TOO_LONG.
 */
int fix_session_send(struct fix_session *s, const char *msg_type, const char *body, size_t body_len,
                     uint64_t app_ref, int64_t now_ms);

/** fix_session_rate_wait_ms() - 0 when a message may be sent now, else the wait. */
int64_t fix_session_rate_wait_ms(const struct fix_session *s, int64_t now_ms);

/**
 * fix_session_logout() - send Logout (@text may be NULL) and wait for the
 * answer (then disconnect), at most logout_timeout_s.
 */
void fix_session_logout(struct fix_session *s, const char *text, int64_t now_ms);

/**
 * fix_session_outbox() - frames queued since the last fix_session_sent():
 * *n entries, whose bytes are in *buf.  The driver stores them (with
 * fix_session_next_out/in) and only then writes them.
 */
const struct fix_out *fix_session_outbox(const struct fix_session *s, size_t *n, const char **buf);

/** fix_session_seqs_dirty() - numbers changed since the last fix_session_stored(). */
bool fix_session_seqs_dirty(const struct fix_session *s);

/** fix_session_stored() - the outbox and the numbers are durable. */
void fix_session_stored(struct fix_session *s);

/** fix_session_sent() - the outbox was written to the socket: empty it. */
void fix_session_sent(struct fix_session *s, int64_t now_ms);

/**
 * fix_session_disconnected() - the connection is gone (either side):
 * back to DISCONNECTED, the outbox dropped (what was stored is resent on
 * request), queued out-of-order messages dropped, the app told.
 */
void fix_session_disconnected(struct fix_session *s, const char *why);

/** fix_session_reset() - both numbers back to 1 (daily reset). */
void fix_session_reset(struct fix_session *s);

/**
 * fix_session_take_reset() - whether the numbers were reset to 1 (by a
 * 141=Y Logon, ours or the peer's) since the last call: the driver then
 * clears the store's messages (fix_store_reset) before the next batch.
 */
bool fix_session_take_reset(struct fix_session *s);

/* Counters for tests and the log. */
struct fix_session_stats {
  uint64_t msgs_in, msgs_out, app_in, app_out;
  uint64_t rejects_sent, resend_requests_sent, resends_answered, gap_fills_sent;
  uint64_t garbled, ignored_possdup, queued_out_of_order;
};
const struct fix_session_stats *fix_session_stats_get(const struct fix_session *s);

/* ------------------------------------------------------------------ */
/* Message store in PostgreSQL (fix_store_pg.c)                        */
/* ------------------------------------------------------------------ */

/*
 * The durable side of a session: its row in fix_sessions (next numbers,
 * the schedule day they belong to) and the application messages it sent
 * (fix_messages), for resends after a restart.  One batch = one
 * transaction = one round trip for any number of frames.  The store's
 * connection also holds the session's advisory lock: one active
 * connection per session across processes.
 */
struct fix_store;

/**
 * fix_store_open() - open (creating if needed) the row of @session_id.
 * @c: borrowed, dedicated to this store while it is open (holds the lock).
 * Returns 0, -ERR_DB_* or -ERR_NOMEM.
 */
int fix_store_open(struct db_conn *c, const char *session_id, struct fix_store **out);

/** fix_store_close() - release the lock if held and free; NULL does nothing. */
void fix_store_close(struct fix_store *st);

/**
 * fix_store_lock() - take the session's advisory lock (session level, on
 * the store's connection).  Returns 0, -ERR_FIX_SESSION_BUSY (another
 * process holds it) or -ERR_DB_*.
 */
int fix_store_lock(struct fix_store *st);

/** fix_store_unlock() - release it (also released when the connection ends). */
void fix_store_unlock(struct fix_store *st);

/**
 * fix_store_state() - the stored numbers and session day (a calendar day
 * number, INT32_MIN when never set).  Returns 0 or -ERR_DB_*.
 */
int fix_store_state(struct fix_store *st, uint64_t *next_out, uint64_t *next_in, int32_t *day);

/**
 * fix_store_reset() - new session day: numbers to 1, stored messages
 * deleted, day recorded, in one transaction.  Returns 0 or -ERR_DB_*.
 */
int fix_store_reset(struct fix_store *st, int32_t day);

/**
 * fix_store_persist() - in one transaction: insert the @n frames of
 * @batch that are stored, set the numbers, and run @app's on_persist
 * hook (may be NULL).  Returns 0 or -ERR_DB_* (nothing persisted: the
 * frames must not be sent).
 */
int fix_store_persist(struct fix_store *st, const struct fix_out *batch, size_t n,
                      const char *outbuf, uint64_t next_out, uint64_t next_in,
                      const struct fix_app *app);

/** fix_store_reader() - a reader for fix_session_create() (borrows @st). */
struct fix_store_reader fix_store_reader(struct fix_store *st);

/* Counters: batches and frames written, for the log and benchmarks. */
struct fix_store_stats {
  uint64_t batches, frames, loads;
};
const struct fix_store_stats *fix_store_stats_get(const struct fix_store *st);

/* ------------------------------------------------------------------ */
/* Time zones and the session schedule (fix_schedule.c)                */
/* ------------------------------------------------------------------ */

/**
 * fix_schedule_day() - the session day (calendar day number) that
 * @unix_ms falls in, for a daily reset at @reset_minute local time in @tz,
 * and the instant of the next reset.  Returns 0 or -ERR_FIX_TZ (unknown
 * time zone).
 */
int fix_schedule_day(const char *tz, uint32_t reset_minute, int64_t unix_ms, int32_t *day,
                     int64_t *next_reset_ms);

/* ------------------------------------------------------------------ */
/* Transport: TCP driver for both roles (fix_net.c)                    */
/* ------------------------------------------------------------------ */

/*
 * The event loop of one process: poll() over the sockets, the store's
 * database connection (LISTEN/NOTIFY wakes the application) and the
 * timers.  Single-threaded: sessions, callbacks and the store run on the
 * caller's thread.  Per turn: read and handle what arrived, tick the
 * timers, let each logged-on application work, then for each session
 * store its outbox in one batch and write it.  A frame reaches the socket
 * only after its batch committed; a failed store closes the connection
 * without sending.
 */
struct fix_net;

/* One session served by the loop. */
struct fix_endpoint {
  struct fix_session_cfg cfg;
  struct fix_app app;
  const char *host; /* initiator: where to connect */
  uint16_t port;
  uint32_t reconnect_min_ms; /* backoff: doubles from min to max, with jitter; default 500 */
  uint32_t reconnect_max_ms; /* default 30000 */
};

/**
 * fix_net_create() - an event loop whose stores use the database at
 * @conninfo (one connection per session, opened here).
 * Returns 0, -ERR_DB_CONNECT or -ERR_NOMEM.
 */
int fix_net_create(const char *conninfo, struct fix_net **out);

/** fix_net_free() - close every connection and free; NULL does nothing. */
void fix_net_free(struct fix_net *n);

/**
 * fix_net_add() - serve one session: an initiator connects (and
 * reconnects with backoff) to host:port; an acceptor session waits on the
 * listening socket.  Loads the store (applying the daily reset if the
 * session day changed, logged with the schedule).  *out (may be NULL)
 * receives the session, owned by the loop.
 * Returns 0, -ERR_FIX_TZ, -ERR_DB_* or -ERR_NOMEM.
 */
int fix_net_add(struct fix_net *n, const struct fix_endpoint *ep, struct fix_session **out);

/**
 * fix_net_listen() - accept connections on @host:@port (port 0: any;
 * *bound receives the port).  A connection's first message must be a
 * Logon whose CompIDs name an acceptor session of this loop; a second
 * connection for a session already connected, or one whose advisory lock
 * another process holds, is closed without a reply.
 * Returns 0 or -ERR_FIX_NET.
 */
int fix_net_listen(struct fix_net *n, const char *host, uint16_t port, uint16_t *bound);

/**
 * fix_net_listen_channel() - LISTEN on @channel on the stores' database so
 * that a NOTIFY ends the poll early (the application then works).
 */
int fix_net_listen_channel(struct fix_net *n, const char *channel);

/** fix_net_db() - the loop's own database connection (for the applications' queries). */
struct db_conn *fix_net_db(struct fix_net *n);

/**
 * fix_net_run() - run until *@stop becomes true (a signal handler sets
 * it) or @max_ms elapsed (0: no limit); on stop, every logged-on session
 * logs out (bounded wait).  Returns 0 or a fatal error.
 */
int fix_net_run(struct fix_net *n, volatile int *stop, int64_t max_ms);

/** fix_net_drop() - close a session's connection now (fault tests, simulated broker). */
void fix_net_drop(struct fix_net *n, struct fix_session *s);

/* ------------------------------------------------------------------ */
/* Broker connector (fix_broker.c)                                     */
/* ------------------------------------------------------------------ */

/* BROKER-API-BEGIN (written with fix_broker.c) */

/*
 * The broker connector: the rest of the service places, cancels and
 * queries orders through these functions on its own database connection
 * (an order row and a NOTIFY broker_orders, nothing on the wire); the
 * connector process (`backstock connector`) runs struct fix_broker as the
 * application of an initiator session and sends them.  Fills come back
 * as rows of broker_executions, read in order with fix_broker_executions().
 * Tables, states and the recovery argument: docs/broker.md.
 */

/* Scale of quantities and of limit prices; of prices the broker reports. */
#define FIX_BROKER_QTY_SCALE  6
#define FIX_BROKER_PX_SCALE   8
#define FIX_BROKER_SYMBOL_MAX 17 /* 16 characters and the NUL */
#define FIX_BROKER_ISIN_MAX   13 /* 12 characters and the NUL */
#define FIX_BROKER_NOTE_MAX   129
#define FIX_BROKER_ID_MAX     64 /* ClOrdID, OrderID, ExecID kept (63 and the NUL) */
/* The channel a placed or canceled order is announced on. */
#define FIX_BROKER_CHANNEL "broker_orders"

enum fix_broker_side { FIX_BROKER_BUY = 1, FIX_BROKER_SELL = 2 };
enum fix_broker_ord_type { FIX_BROKER_MARKET = 1, FIX_BROKER_LIMIT = 2 };
enum fix_broker_tif { FIX_BROKER_DAY = 0, FIX_BROKER_IOC = 3 };

/* The order's own state; the last four are final. */
enum fix_broker_state {
  FIX_BROKER_PENDING_NEW = 0, /* placed, not yet sent */
  FIX_BROKER_SENT,            /* NewOrderSingle stored and sent, no answer yet */
  FIX_BROKER_NEW,             /* acknowledged by the broker */
  FIX_BROKER_PARTIALLY_FILLED,
  FIX_BROKER_FILLED,
  FIX_BROKER_CANCELED,
  FIX_BROKER_REJECTED,
  FIX_BROKER_EXPIRED,
};

/* Our cancel request, apart from the order's state. */
enum fix_broker_cancel {
  FIX_BROKER_CANCEL_NONE = 0,
  FIX_BROKER_CANCEL_PENDING,  /* requested, OrderCancelRequest not yet sent */
  FIX_BROKER_CANCEL_SENT,     /* OrderCancelRequest sent */
  FIX_BROKER_CANCEL_REJECTED, /* the broker answered OrderCancelReject */
  FIX_BROKER_CANCEL_DONE,     /* the order was canceled */
};

/* An order request: what fix_broker_place() records.  Borrowed strings. */
struct fix_broker_order_req {
  uint64_t id;        /* our order id, 1 .. 2^63-1; ClOrdID "BS<id>" */
  const char *symbol; /* 1-16 of A-Z 0-9 . / -, starting with a letter or digit */
  const char *isin;   /* NULL for none; 12 characters with a valid check digit */
  enum fix_broker_side side;
  struct money qty; /* > 0, exact at FIX_BROKER_QTY_SCALE */
  enum fix_broker_ord_type type;
  struct money price; /* limit only: > 0, exact at FIX_BROKER_QTY_SCALE */
  enum fix_broker_tif tif;
  const char *note; /* NULL for none; 1-128 printable ASCII, sent as tag 58 */
};

/* An order as stored (fix_broker_get()). */
struct fix_broker_order {
  uint64_t id;
  char cl_ord_id[FIX_BROKER_ID_MAX];
  char symbol[FIX_BROKER_SYMBOL_MAX];
  char isin[FIX_BROKER_ISIN_MAX]; /* "" for none */
  enum fix_broker_side side;
  enum fix_broker_ord_type type;
  enum fix_broker_tif tif;
  struct money qty;   /* FIX_BROKER_QTY_SCALE */
  struct money price; /* limit price; 0 for a market order */
  enum fix_broker_state state;
  enum fix_broker_cancel cancel;
  struct money cum_qty;                    /* FIX_BROKER_QTY_SCALE */
  struct money leaves_qty;                 /* FIX_BROKER_QTY_SCALE */
  struct money avg_px;                     /* FIX_BROKER_PX_SCALE */
  char broker_order_id[FIX_BROKER_ID_MAX]; /* 37, "" until acknowledged */
  uint64_t sent_seq;                       /* MsgSeqNum of the NewOrderSingle, 0 before */
  char last_text[FIX_BROKER_NOTE_MAX];     /* the broker's last 58 (reject reason) */
  int64_t updated_ms;                      /* last change, ms since the epoch */
};

/* One row of broker_executions (borrowed by the callback). */
struct fix_broker_exec {
  int64_t cursor; /* increasing; pass the last one back to read on */
  uint64_t order_id;
  char exec_id[FIX_BROKER_ID_MAX];
  char exec_ref_id[FIX_BROKER_ID_MAX]; /* H and G: the ExecID they amend; "" else */
  char exec_type;                      /* 'F' trade, 'H' trade cancel, 'G' trade correct */
  char ord_status;                     /* 39 */
  struct money last_qty;               /* H: the quantity reversed; G: the corrected quantity */
  struct money last_px;                /* FIX_BROKER_PX_SCALE */
  struct money cum_qty, leaves_qty, avg_px;
  int32_t trade_day; /* calendar day number, INT32_MIN when absent */
  int32_t settl_day;
  uint64_t msg_seq_num;
  uint32_t unknown_tags[16]; /* tags the engine did not know, as received */
  unsigned n_unknown;
  const char *raw; /* the FIX message as received */
  size_t raw_len;
};

/* Called for each execution in cursor order; nonzero stops the read. */
typedef int (*fix_broker_exec_fn)(void *cls, const struct fix_broker_exec *e);

/** fix_broker_state_name() - "pending_new", "filled", ... (static). */
const char *fix_broker_state_name(enum fix_broker_state st);

/** fix_broker_cancel_name() - "none", "pending_cancel", ... (static). */
const char *fix_broker_cancel_name(enum fix_broker_cancel cs);

/** fix_broker_state_final() - filled, canceled, rejected or expired. */
bool fix_broker_state_final(enum fix_broker_state st);

/**
 * fix_broker_place() - record an order for the connector to send: the
 * row (state pending_new, ClOrdID "BS<id>") and NOTIFY broker_orders in
 * one transaction.  Idempotent: the same id with the same terms returns 0
 * and changes nothing.
 * @c: the caller's connection (not inside a transaction).
 * Returns 0, -ERR_INVALID_ARGUMENT (a field out of its range),
 * -ERR_FIX_ORDER_CONFLICT (the id is taken with other terms) or
 * -ERR_DB_*.
 */
int fix_broker_place(struct db_conn *c, const struct fix_broker_order_req *req);

/**
 * fix_broker_cancel() - ask for an order to be canceled: the connector
 * sends OrderCancelRequest (or, for an order not yet sent, cancels it
 * without sending anything).  Asking again while a cancel is pending
 * returns 0 and changes nothing; after an OrderCancelReject it asks anew.
 * Returns 0, -ERR_FIX_ORDER_UNKNOWN, -ERR_FIX_ORDER_FINAL or -ERR_DB_*.
 */
int fix_broker_cancel(struct db_conn *c, uint64_t id);

/**
 * fix_broker_get() - the order @id as stored now.
 * Returns 0, -ERR_FIX_ORDER_UNKNOWN or -ERR_DB_*.
 */
int fix_broker_get(struct db_conn *c, uint64_t id, struct fix_broker_order *out);

/**
 * fix_broker_executions() - executions with cursor > @after, in order, at
 * most @max, of order @order_id (0: of every order), each handed to @fn.
 * Returns the number handed over (>= 0), -ERR_DB_* or -ERR_INTERNAL (a row that does not read
 * back).
 */
int fix_broker_executions(struct db_conn *c, int64_t after, uint64_t order_id, size_t max,
                          fix_broker_exec_fn fn, void *cls);

/* The connector application (one per initiator session). */
struct fix_broker;

/* Counters for tests and the log. */
struct fix_broker_stats {
  uint64_t orders_sent, cancels_sent, status_requests, reports, duplicates, fills;
  uint64_t dk_sent, cancel_rejects, errors;
};

/**
 * fix_broker_create() - the connector application.
 * @c: borrowed; its queries (the loop's fix_net_db() in the connector).
 * @account: tag 1 on orders (copied, 1-63 characters).
 * Returns 0, -ERR_INVALID_ARGUMENT or -ERR_NOMEM.  Free with fix_broker_free().
 */
int fix_broker_create(struct db_conn *c, const char *account, struct fix_broker **out);

/** fix_broker_free() - NULL does nothing. */
void fix_broker_free(struct fix_broker *b);

/**
 * fix_broker_app() - the callbacks to plug into the session (on_message,
 * on_logon, on_disconnect, on_work, on_persist), with @b as their ctx.
 */
struct fix_app fix_broker_app(struct fix_broker *b);

/** fix_broker_stats_get() - the counters. */
const struct fix_broker_stats *fix_broker_stats_get(const struct fix_broker *b);

/* BROKER-API-END */

/* ------------------------------------------------------------------ */
/* Simulated broker (fix_simbroker.c)                                  */
/* ------------------------------------------------------------------ */

/* SIMBROKER-API-BEGIN (written with fix_simbroker.c) */
/*
 * The simulated broker: a FIX acceptor that fills orders by configured
 * behaviours, books every fill in sim_trades and keeps its orders in
 * sim_orders (migrations/0005-simbroker.sql, docs/simbroker.md).  Its
 * configuration comes from a file of "key = value" lines and
 * BACKSTOCK_SIM_<KEY> variables; fix_sim_create() plugs one application
 * per client CompID into a struct fix_net.
 */
enum fix_sim_kind {
  FIX_SIM_FILL = 0,   /* ack, then one full fill */
  FIX_SIM_PARTIAL,    /* ack, then n fills ms apart */
  FIX_SIM_REJECT,     /* ExecType 8 */
  FIX_SIM_CANCEL,     /* ack, then unsolicited cancel */
  FIX_SIM_EXPIRE,     /* ack, then expiry */
  FIX_SIM_ACK_DELAY,  /* nothing for ms, then ack and full fill */
  FIX_SIM_DISCONNECT, /* ack, drop the connection, fill after the next logon */
  FIX_SIM_DUPLICATE,  /* ack, fill, the same fill again */
  FIX_SIM_SILENT,     /* ack only, rests until canceled */
  FIX_SIM_BUST,       /* ack, fill, trade cancel (H) */
  FIX_SIM_CORRECT,    /* ack, fill, trade correct (G) */
};

struct fix_sim_behaviour {
  enum fix_sim_kind kind;
  uint32_t n;  /* partial: number of fills, 1..1000 */
  uint32_t ms; /* partial: spacing; ack_delay: delay; 0..86400000 */
};

/* Longest behaviour spec text ("partial:1000:86400000") plus NUL. */
#define FIX_SIM_SPEC_MAX 32
/* Longest symbol plus NUL; most client CompIDs served. */
#define FIX_SIM_SYMBOL_MAX  32
#define FIX_SIM_TARGETS_MAX 16

/**
 * fix_sim_behaviour_parse() - parse a spec: fill, partial:<n>:<ms>,
 * reject, cancel, expire, ack_delay:<ms>, disconnect, duplicate, silent,
 * bust, correct (exactly, lower case, decimal numbers without sign or
 * leading zeros).  Returns 0 or -ERR_CFG_VALUE.
 */
int fix_sim_behaviour_parse(const char *s, size_t len, struct fix_sim_behaviour *out);

/** fix_sim_behaviour_format() - the canonical spec text into @buf (FIX_SIM_SPEC_MAX bytes). */
void fix_sim_behaviour_format(const struct fix_sim_behaviour *b, char buf[FIX_SIM_SPEC_MAX]);

/* What the configuration says about one symbol. */
struct fix_sim_symbol {
  char symbol[FIX_SIM_SYMBOL_MAX];
  bool has_price;
  struct money price; /* scale 6, > 0 */
  bool has_behaviour;
  struct fix_sim_behaviour behaviour;
};

struct fix_sim_cfg {
  char listen_host[CFG_STR_MAX]; /* listen = 127.0.0.1:9878 */
  uint16_t listen_port;
  char sender[FIX_COMPID_MAX];                       /* sender_comp_id = BROKER */
  char targets[FIX_SIM_TARGETS_MAX][FIX_COMPID_MAX]; /* target_comp_ids = BACKSTOCK */
  size_t n_targets;
  uint32_t max_skew_s;                        /* max_skew_s = 120 */
  uint32_t reset_minute;                      /* reset_time = 17:00 */
  char tz[64];                                /* time_zone = America/New_York */
  unsigned settle_days;                       /* settle_days = 1 */
  struct fix_sim_behaviour default_behaviour; /* behaviour.default = fill */
  struct fix_sim_symbol *symbols;             /* price.<SYMBOL>, behaviour.<SYMBOL> */
  size_t n_symbols, cap_symbols;
  char *database_url;       /* database_url or BACKSTOCK_DATABASE_URL; wiped by free */
  enum log_level log_level; /* log_level = info */
};

/** fix_sim_cfg_init() - the defaults (no symbols, no database). */
void fix_sim_cfg_init(struct fix_sim_cfg *c);

/** fix_sim_cfg_free() - free (and wipe the database URL); NULL does nothing. */
void fix_sim_cfg_free(struct fix_sim_cfg *c);

/**
 * fix_sim_cfg_set() - set one key ("listen", "price.AAPL", ...) from its
 * text value.  @why (may be NULL) receives a one-line reason on failure.
 * Returns 0, -ERR_CFG_UNKNOWN_KEY, -ERR_CFG_VALUE or -ERR_NOMEM.
 */
int fix_sim_cfg_set(struct fix_sim_cfg *c, const char *key, const char *value, char *why,
                    size_t why_size);

/**
 * fix_sim_cfg_load_text() - apply "key = value" lines ('#' comments and
 * blank lines skipped; later lines override earlier ones).
 * @line_out: receives the 1-based number of the first bad line.
 * Returns 0, -ERR_CFG_SYNTAX (no '=' or no key) or an error of
 * fix_sim_cfg_set(); nothing after the bad line is applied.
 */
int fix_sim_cfg_load_text(struct fix_sim_cfg *c, const char *text, size_t len, unsigned *line_out,
                          char *why, size_t why_size);

/** fix_sim_cfg_load_file() - the same from a file (at most 1 MiB); -ERR_CFG_FILE if unreadable. */
int fix_sim_cfg_load_file(struct fix_sim_cfg *c, const char *path, unsigned *line_out, char *why,
                          size_t why_size);

/**
 * fix_sim_cfg_load_env() - apply BACKSTOCK_DATABASE_URL, then every
 * BACKSTOCK_SIM_<KEY> of @envp (NULL-ended): the key is the rest of the
 * name in lower case up to its first '.', the symbol after it as written
 * (BACKSTOCK_SIM_PRICE.AAPL=189.50; BACKSTOCK_SIM_BEHAVIOUR.DEFAULT is
 * behaviour.default).  An unknown BACKSTOCK_SIM_ variable is an error.
 * @bad_out: receives the offending variable name (thread-local storage).
 */
int fix_sim_cfg_load_env(struct fix_sim_cfg *c, char *const *envp, const char **bad_out, char *why,
                         size_t why_size);

/**
 * fix_sim_cfg_check() - what the file and the environment must have
 * given together: a database, a target CompID, none equal to the sender.
 * Returns 0 or -ERR_CFG_VALUE with @why.
 */
int fix_sim_cfg_check(const struct fix_sim_cfg *c, char *why, size_t why_size);

/** fix_sim_cfg_symbol() - the entry of @symbol (exact match), or NULL. */
const struct fix_sim_symbol *fix_sim_cfg_symbol(const struct fix_sim_cfg *c, const char *symbol);

/* Running totals of an order: exact, quantities and prices at scale 6. */
struct fix_sim_totals {
  struct money cum_qty;
  struct money leaves_qty;
  struct money amount; /* sum of qty x px, scale 12 */
  struct money avg_px; /* amount / cum_qty, HALF_EVEN at scale 6; 0 with no fills */
};

/** fix_sim_totals_init() - nothing filled, @order_qty left. */
void fix_sim_totals_init(struct fix_sim_totals *t, struct money order_qty);

/**
 * fix_sim_totals_fill() - add a fill of @qty at @px (negative @qty takes
 * one back: a trade cancel).  Returns 0 or a money error (overflow; a fill
 * larger than leaves_qty is -ERR_INVALID_ARGUMENT).
 */
int fix_sim_totals_fill(struct fix_sim_totals *t, struct money qty, struct money px);

/**
 * fix_sim_split() - the @k-th (1-based) of the fills a partial:<n> order
 * of @qty gets: the quantity is cut in the units of its own last fraction
 * digit (whole shares for 100, hundredths for 1.25), the first fills get
 * the quotient and the last the rest; when there are fewer units than @n,
 * one unit per fill.  *n_eff receives the number of fills.
 * Returns 0 or -ERR_INVALID_ARGUMENT (qty not positive, k out of range).
 */
int fix_sim_split(struct money qty, uint32_t n, uint32_t k, struct money *part, uint32_t *n_eff);

/**
 * fix_sim_settle_date() - SettlDate: the date @settle_days business days
 * of @cal after @trade_day (cal_add_business_days(): a fill on a Saturday
 * settles T+1 on Monday; T+0 is the trade date or the next business day).
 * Returns 0 or -ERR_CAL_DATE_RANGE.
 */
int fix_sim_settle_date(const struct cal *cal, int32_t trade_day, unsigned settle_days,
                        int32_t *out);

/**
 * fix_sim_trade_day() - TradeDate of an instant: its date in New York
 * (EST/EDT by the United States rules in force since 2007, computed here
 * so that no time zone database is needed).
 * Returns 0 or -ERR_CAL_DATE_RANGE.
 */
int fix_sim_trade_day(int64_t unix_ms, int32_t *day);

struct fix_sim;

/**
 * fix_sim_create() - the simulated broker: loads the calendar (built-in
 * closures and market_closures), then adds one acceptor session per
 * target CompID to @net with the application and its pending orders.
 * @cfg: borrowed, must outlive the simulator.  @net: borrowed; the
 * sessions it holds call back into the simulator, so free the net first.
 * Returns 0, -ERR_NOMEM, -ERR_FIX_TZ or -ERR_DB_* (from fix_net_add()).
 * Free with fix_sim_free().
 */
int fix_sim_create(const struct fix_sim_cfg *cfg, struct fix_net *net, struct fix_sim **out);

/** fix_sim_free() - NULL does nothing. */
void fix_sim_free(struct fix_sim *sim);
/* SIMBROKER-API-END */

#endif
