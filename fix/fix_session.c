/*
 * The FIX 4.4 session layer: one session (a pair of CompIDs) as a state
 * machine with no I/O.  The driver (fix_net.c) hands it each framed
 * message and the time; the session answers by queueing frames in its
 * outbox and by moving to CLOSING when the connection must end.  Every
 * row of the session table in ../shared/docs/FIX.md is decided here.
 *
 * Invariants:
 * - next_out is the number the next frame that consumes a number gets;
 *   resends and the GapFills that answer a ResendRequest reuse old
 *   numbers and consume none.
 * - next_in is the number expected next; it moves only when a message
 *   with that number is handled (processed, rejected or gap-filled), or
 *   by a SequenceReset.
 * - Messages beyond a gap are copied into the queue (sorted by number,
 *   one per number) and handled in order once the gap fills; the queue is
 *   dropped on disconnect (the peer resends them after the next Logon).
 * - Frames are built in place in one growing buffer; struct fix_out
 *   keeps offsets, never pointers, so the buffer may move.
 * - Outbound application messages pass a token bucket (rate_per_s,
 *   rate_burst); admin messages and resends are never held back.
 *
 * Choices where FIX.md leaves room: a PossDup message carries
 * OrigSendingTime whether or not its number was already seen (the checks
 * of 122 apply to both); a Logon in an active session, or an unknown
 * MsgSeqNum, ends the session with a Logout; a peer silent for 2.4 x
 * HeartBtInt is disconnected without a Logout (it would not read it).
 */
#include <stdlib.h>
#include <string.h>

#include "fix/fix.h"

#define OUT_MIN_ROOM    1024
#define TEST_REQ_MAX    32
#define QUEUE_MAX       10000              /* out-of-order messages kept; more: disconnect */
#define QUEUE_BYTES_MAX (16 * 1024 * 1024) /* ... and their bytes */
#define RESEND_MAX_MS   86400000LL

struct queued {
  uint64_t seq;
  char *frame;
  size_t len;
  bool answered; /* a ResendRequest already answered on arrival */
};

struct fix_session {
  struct fix_session_cfg cfg;
  struct fix_app app;
  struct fix_store_reader reader;
  char id[2 * FIX_COMPID_MAX + 3];
  enum fix_state state;
  int64_t state_since_ms;
  uint64_t next_out, next_in;
  bool seqs_dirty;
  bool reset_taken; /* numbers reset since fix_session_take_reset() */
  uint32_t hb_s;    /* heartbeat interval in use */
  int64_t last_sent_ms, last_recv_ms;
  bool test_pending;
  unsigned test_n;
  char test_id[TEST_REQ_MAX];
  bool resend_pending; /* our ResendRequest is out, the gap not yet filled */
  /* Out-of-order messages, sorted by seq. */
  struct queued *q;
  size_t nq, capq;
  size_t q_bytes;
  /* Outbox. */
  char *outbuf;
  size_t out_len, out_cap;
  struct fix_out *outs;
  size_t nout, capout;
  /* Outbound rate limit: tokens in thousandths. */
  int64_t tokens_milli;
  int64_t tokens_at_ms;
  char why[160]; /* why the connection is closing, for the log */
  struct fix_session_stats stats;
};

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

void fix_session_cfg_init(struct fix_session_cfg *cfg, enum fix_role role, const char *sender,
                          const char *target)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->role = role;
  util_strlcpy(cfg->sender, sender, sizeof cfg->sender);
  util_strlcpy(cfg->target, target, sizeof cfg->target);
  cfg->heartbeat_s = 30;
  cfg->max_skew_s = 120;
  cfg->logon_timeout_s = 10;
  cfg->logout_timeout_s = 5;
  cfg->reset_minute = 0;
  util_strlcpy(cfg->tz, "UTC", sizeof cfg->tz);
}

int fix_session_create(const struct fix_session_cfg *cfg, const struct fix_app *app,
                       const struct fix_store_reader *reader, struct fix_session **out)
{
  struct fix_session *s = calloc(1, sizeof *s);
  if (s == NULL)
    return -ERR_NOMEM;
  s->cfg = *cfg;
  if (s->cfg.rate_burst == 0)
    s->cfg.rate_burst = s->cfg.rate_per_s > 0 ? s->cfg.rate_per_s : 1;
  if (app != NULL)
    s->app = *app;
  if (reader != NULL)
    s->reader = *reader;
  snprintf(s->id, sizeof s->id, "%s->%s", cfg->sender, cfg->target);
  s->next_out = s->next_in = 1;
  s->state = FIX_ST_DISCONNECTED;
  s->tokens_milli = (int64_t)s->cfg.rate_burst * 1000;
  s->tokens_at_ms = 0;
  *out = s;
  return 0;
}

static void queue_clear(struct fix_session *s)
{
  for (size_t i = 0; i < s->nq; i++)
    free(s->q[i].frame);
  s->nq = 0;
  s->q_bytes = 0;
}

void fix_session_free(struct fix_session *s)
{
  if (s == NULL)
    return;
  queue_clear(s);
  free(s->q);
  free(s->outbuf);
  free(s->outs);
  free(s);
}

const struct fix_session_cfg *fix_session_cfg_get(const struct fix_session *s)
{
  return &s->cfg;
}
const char *fix_session_id(const struct fix_session *s)
{
  return s->id;
}
enum fix_state fix_session_state(const struct fix_session *s)
{
  return s->state;
}
uint64_t fix_session_next_out(const struct fix_session *s)
{
  return s->next_out;
}
uint64_t fix_session_next_in(const struct fix_session *s)
{
  return s->next_in;
}
bool fix_session_seqs_dirty(const struct fix_session *s)
{
  return s->seqs_dirty;
}
const struct fix_session_stats *fix_session_stats_get(const struct fix_session *s)
{
  return &s->stats;
}

void fix_session_set_seqs(struct fix_session *s, uint64_t next_out, uint64_t next_in)
{
  s->next_out = next_out;
  s->next_in = next_in;
}

void fix_session_reset(struct fix_session *s)
{
  s->next_out = s->next_in = 1;
  s->seqs_dirty = true;
  s->reset_taken = true;
  queue_clear(s);
  s->resend_pending = false;
}

bool fix_session_take_reset(struct fix_session *s)
{
  bool r = s->reset_taken;
  s->reset_taken = false;
  return r;
}

static void set_state(struct fix_session *s, enum fix_state st, int64_t now_ms)
{
  s->state = st;
  s->state_since_ms = now_ms;
}

/* End the connection once the outbox is written; @why goes to the log. */
static void closing(struct fix_session *s, const char *why, int64_t now_ms)
{
  if (s->state == FIX_ST_CLOSING || s->state == FIX_ST_DISCONNECTED)
    return;
  util_strlcpy(s->why, why, sizeof s->why);
  log_msg(LOGL_INFO, "fix", "%s: closing: %s", s->id, why);
  set_state(s, FIX_ST_CLOSING, now_ms);
}

/* ------------------------------------------------------------------ */
/* Building frames                                                     */
/* ------------------------------------------------------------------ */

static int out_reserve(struct fix_session *s, size_t need)
{
  if (s->out_cap - s->out_len < need) {
    size_t cap = s->out_cap ? s->out_cap : 8192;
    while (cap - s->out_len < need)
      cap *= 2;
    char *b = realloc(s->outbuf, cap);
    if (b == NULL)
      return -ERR_NOMEM;
    s->outbuf = b;
    s->out_cap = cap;
  }
  if (s->nout == s->capout) {
    size_t cap = s->capout ? s->capout * 2 : 16;
    struct fix_out *o = realloc(s->outs, cap * sizeof *o);
    if (o == NULL)
      return -ERR_NOMEM;
    s->outs = o;
    s->capout = cap;
  }
  return 0;
}

/* A frame being built: the writer and what the outbox entry will say. */
struct frame {
  struct fix_writer w;
  struct fix_out o;
};

/*
 * Start a frame of @type numbered @seq (0: take next_out) with the
 * standard header; @possdup adds 43=Y and 122=@orig_ms.  @body_hint:
 * bytes the body will need.  Returns 0 or -ERR_NOMEM.
 */
static int frame_begin(struct fix_session *s, struct frame *f, const char *type, uint64_t seq,
                       bool possdup, int64_t orig_ms, size_t body_hint, int64_t now_ms)
{
  int rc = out_reserve(s, body_hint + OUT_MIN_ROOM);
  if (rc != 0)
    return rc;
  memset(&f->o, 0, sizeof f->o);
  f->o.seq = seq != 0 ? seq : s->next_out;
  f->o.seq_consumed = seq == 0;
  f->o.sending_ms = now_ms;
  util_strlcpy(f->o.msg_type, type, sizeof f->o.msg_type);
  fix_writer_begin(&f->w, s->outbuf + s->out_len, s->out_cap - s->out_len, type);
  fix_writer_u64(&f->w, FIX_TAG_MSG_SEQ_NUM, f->o.seq);
  if (possdup)
    fix_writer_char(&f->w, FIX_TAG_POSS_DUP, 'Y');
  fix_writer_cstr(&f->w, FIX_TAG_SENDER_COMP_ID, s->cfg.sender);
  fix_writer_time(&f->w, FIX_TAG_SENDING_TIME, now_ms);
  fix_writer_cstr(&f->w, FIX_TAG_TARGET_COMP_ID, s->cfg.target);
  if (possdup)
    fix_writer_time(&f->w, FIX_TAG_ORIG_SENDING_TIME, orig_ms);
  f->o.body_off = (uint32_t)(s->out_len + f->w.pos);
  return 0;
}

/* Finish the frame and add it to the outbox. */
static int frame_end(struct fix_session *s, struct frame *f, bool stored, uint64_t app_ref,
                     int64_t now_ms)
{
  const char *msg;
  size_t len;
  f->o.body_len = (uint32_t)(s->out_len + f->w.pos - f->o.body_off);
  int rc = fix_writer_finish(&f->w, &msg, &len);
  if (rc != 0) {
    log_bug("fix", "%s: cannot write a %s frame: %s", s->id, f->o.msg_type, err_text(rc));
    return rc;
  }
  f->o.frame_off = (uint32_t)(msg - s->outbuf);
  f->o.frame_len = (uint32_t)len;
  f->o.stored = stored;
  f->o.app_ref = app_ref;
  s->out_len = (size_t)(msg - s->outbuf) + len;
  s->outs[s->nout++] = f->o;
  if (f->o.seq_consumed) {
    s->next_out++;
    s->seqs_dirty = true;
  }
  s->last_sent_ms = now_ms;
  s->stats.msgs_out++;
  return 0;
}

static void send_heartbeat(struct fix_session *s, const char *test_id, size_t tlen, int64_t now)
{
  struct frame f;
  if (frame_begin(s, &f, "0", 0, false, 0, tlen, now) != 0)
    return;
  if (test_id != NULL)
    fix_writer_str(&f.w, FIX_TAG_TEST_REQ_ID, test_id, tlen);
  frame_end(s, &f, false, 0, now);
}

static void send_test_request(struct fix_session *s, int64_t now)
{
  struct frame f;
  snprintf(s->test_id, sizeof s->test_id, "TEST%u", ++s->test_n);
  if (frame_begin(s, &f, "1", 0, false, 0, 0, now) != 0)
    return;
  fix_writer_cstr(&f.w, FIX_TAG_TEST_REQ_ID, s->test_id);
  if (frame_end(s, &f, false, 0, now) == 0)
    s->test_pending = true;
}

static void send_logon(struct fix_session *s, bool reset, int64_t now)
{
  struct frame f;
  if (frame_begin(s, &f, "A", 0, false, 0, 0, now) != 0)
    return;
  fix_writer_char(&f.w, FIX_TAG_ENCRYPT_METHOD, '0');
  fix_writer_u64(&f.w, FIX_TAG_HEART_BT_INT, s->hb_s);
  if (reset)
    fix_writer_char(&f.w, FIX_TAG_RESET_SEQ_NUM, 'Y');
  frame_end(s, &f, false, 0, now);
}

static void send_logout(struct fix_session *s, const char *text, int64_t now)
{
  struct frame f;
  if (frame_begin(s, &f, "5", 0, false, 0, text ? strlen(text) : 0, now) != 0)
    return;
  if (text != NULL && text[0] != '\0')
    fix_writer_cstr(&f.w, FIX_TAG_TEXT, text);
  frame_end(s, &f, false, 0, now);
}

static void send_resend_request(struct fix_session *s, uint64_t from, int64_t now)
{
  struct frame f;
  if (frame_begin(s, &f, "2", 0, false, 0, 0, now) != 0)
    return;
  fix_writer_u64(&f.w, 7, from);
  fix_writer_u64(&f.w, 16, 0);
  if (frame_end(s, &f, false, 0, now) == 0) {
    s->resend_pending = true;
    s->stats.resend_requests_sent++;
    log_msg(LOGL_INFO, "fix", "%s: gap: asked for a resend from %llu", s->id,
            (unsigned long long)from);
  }
}

/* Reject (35=3) of message @ref_seq. */
static void send_reject(struct fix_session *s, uint64_t ref_seq, const struct fix_msg *m,
                        uint32_t ref_tag, enum fix_reject_reason reason, const char *text,
                        int64_t now)
{
  struct frame f;
  if (frame_begin(s, &f, "3", 0, false, 0, 256, now) != 0)
    return;
  fix_writer_u64(&f.w, FIX_TAG_REF_SEQ_NUM, ref_seq);
  if (ref_tag != 0)
    fix_writer_u64(&f.w, FIX_TAG_REF_TAG_ID, ref_tag);
  if (m != NULL && m->msg_type_len > 0 && m->msg_type_len < 4)
    fix_writer_str(&f.w, FIX_TAG_REF_MSG_TYPE, m->msg_type, m->msg_type_len);
  fix_writer_u64(&f.w, FIX_TAG_REJECT_REASON, (uint64_t)reason);
  if (text != NULL && text[0] != '\0')
    fix_writer_cstr(&f.w, FIX_TAG_TEXT, text);
  if (frame_end(s, &f, false, 0, now) == 0) {
    s->stats.rejects_sent++;
    log_msg(LOGL_WARN, "fix", "%s: rejected message %llu: 373=%d 371=%u %s", s->id,
            (unsigned long long)ref_seq, (int)reason, ref_tag, text ? text : "");
  }
}

static void send_business_reject(struct fix_session *s, uint64_t ref_seq, const struct fix_msg *m,
                                 const char *text, int64_t now)
{
  struct frame f;
  if (frame_begin(s, &f, "j", 0, false, 0, 256, now) != 0)
    return;
  fix_writer_u64(&f.w, FIX_TAG_REF_SEQ_NUM, ref_seq);
  if (m->msg_type_len > 0)
    fix_writer_str(&f.w, FIX_TAG_REF_MSG_TYPE, m->msg_type, m->msg_type_len);
  fix_writer_u64(&f.w, FIX_TAG_BUSINESS_REJECT_REASON, 3);
  fix_writer_cstr(&f.w, FIX_TAG_TEXT, text);
  if (frame_end(s, &f, false, 0, now) == 0)
    s->stats.rejects_sent++;
}

/* GapFill for [seq, new_seq) in answer to a ResendRequest. */
static void send_gap_fill(struct fix_session *s, uint64_t seq, uint64_t new_seq, int64_t now)
{
  struct frame f;
  if (frame_begin(s, &f, "4", seq, true, now, 0, now) != 0)
    return;
  fix_writer_char(&f.w, FIX_TAG_GAP_FILL, 'Y');
  fix_writer_u64(&f.w, FIX_TAG_NEW_SEQ_NO, new_seq);
  if (frame_end(s, &f, false, 0, now) == 0)
    s->stats.gap_fills_sent++;
}

int fix_session_send(struct fix_session *s, const char *msg_type, const char *body, size_t body_len,
                     uint64_t app_ref, int64_t now_ms)
{
  if (s->state != FIX_ST_ACTIVE)
    return -ERR_FIX_NOT_LOGGED_ON;
  if (body_len > FIX_MSG_MAX - 256 || strlen(msg_type) > 3)
    return -ERR_TOO_LONG;
  if (fix_session_rate_wait_ms(s, now_ms) > 0)
    return -ERR_FIX_RATE;
  struct frame f;
  int rc = frame_begin(s, &f, msg_type, 0, false, 0, body_len, now_ms);
  if (rc != 0)
    return rc;
  fix_writer_raw(&f.w, body, body_len);
  rc = frame_end(s, &f, true, app_ref, now_ms);
  if (rc != 0)
    return rc;
  if (s->cfg.rate_per_s > 0)
    s->tokens_milli -= 1000;
  s->stats.app_out++;
  return 0;
}

/* Refill the bucket; const so that rate_wait can be asked freely. */
static int64_t tokens_at(const struct fix_session *s, int64_t now_ms)
{
  int64_t cap = (int64_t)s->cfg.rate_burst * 1000;
  int64_t el = now_ms - s->tokens_at_ms;
  if (el < 0)
    el = 0;
  if (el > 3600000)
    el = 3600000;
  int64_t t = s->tokens_milli + el * (int64_t)s->cfg.rate_per_s;
  return t > cap ? cap : t;
}

int64_t fix_session_rate_wait_ms(const struct fix_session *s, int64_t now_ms)
{
  if (s->cfg.rate_per_s == 0)
    return 0;
  int64_t t = tokens_at(s, now_ms);
  /* The bucket is refilled lazily; record it on the mutable path. */
  struct fix_session *m = (struct fix_session *)s;
  m->tokens_milli = t;
  m->tokens_at_ms = now_ms;
  if (t >= 1000)
    return 0;
  return (1000 - t + s->cfg.rate_per_s - 1) / s->cfg.rate_per_s;
}

/* ------------------------------------------------------------------ */
/* Outbox                                                              */
/* ------------------------------------------------------------------ */

const struct fix_out *fix_session_outbox(const struct fix_session *s, size_t *n, const char **buf)
{
  *n = s->nout;
  *buf = s->outbuf;
  return s->outs;
}

void fix_session_stored(struct fix_session *s)
{
  s->seqs_dirty = false;
}

void fix_session_sent(struct fix_session *s, int64_t now_ms)
{
  if (s->nout > 0)
    s->last_sent_ms = now_ms;
  s->nout = 0;
  s->out_len = 0;
}

/* ------------------------------------------------------------------ */
/* Connection events                                                   */
/* ------------------------------------------------------------------ */

void fix_session_connected(struct fix_session *s, int64_t now_ms)
{
  s->nout = 0;
  s->out_len = 0;
  queue_clear(s);
  s->resend_pending = false;
  s->test_pending = false;
  s->last_recv_ms = s->last_sent_ms = now_ms;
  s->why[0] = '\0';
  if (s->cfg.role == FIX_INITIATOR) {
    s->hb_s = s->cfg.heartbeat_s;
    if (s->cfg.reset_on_logon)
      fix_session_reset(s);
    set_state(s, FIX_ST_LOGON_SENT, now_ms);
    send_logon(s, s->cfg.reset_on_logon, now_ms);
  } else {
    set_state(s, FIX_ST_AWAIT_LOGON, now_ms);
  }
}

void fix_session_disconnected(struct fix_session *s, const char *why)
{
  if (s->state == FIX_ST_DISCONNECTED)
    return;
  const char *w = s->why[0] != '\0' ? s->why : why;
  log_msg(LOGL_INFO, "fix", "%s: disconnected (%s); next out %llu, next in %llu", s->id,
          w != NULL ? w : "", (unsigned long long)s->next_out, (unsigned long long)s->next_in);
  s->state = FIX_ST_DISCONNECTED;
  s->nout = 0;
  s->out_len = 0;
  queue_clear(s);
  s->resend_pending = false;
  s->test_pending = false;
  if (s->app.on_disconnect != NULL)
    s->app.on_disconnect(s->app.ctx, s, w != NULL ? w : "");
  s->why[0] = '\0';
}

void fix_session_logout(struct fix_session *s, const char *text, int64_t now_ms)
{
  if (s->state != FIX_ST_ACTIVE) {
    if (s->state == FIX_ST_LOGON_SENT || s->state == FIX_ST_AWAIT_LOGON)
      closing(s, "logout before logon completed", now_ms);
    return;
  }
  send_logout(s, text, now_ms);
  set_state(s, FIX_ST_LOGOUT_SENT, now_ms);
}

void fix_session_on_garbled(struct fix_session *s, enum fix_garble why, int64_t now_ms)
{
  s->stats.garbled++;
  if (why == FIX_GARBLE_BEGIN_STRING) {
    if (s->state == FIX_ST_AWAIT_LOGON || s->state == FIX_ST_LOGON_SENT)
      closing(s, "bad BeginString before Logon", now_ms);
    else if (s->state == FIX_ST_ACTIVE) {
      send_logout(s, "Incorrect BeginString", now_ms);
      closing(s, "bad BeginString", now_ms);
    }
  }
}

int64_t fix_session_tick(struct fix_session *s, int64_t now)
{
  int64_t next = 1000;
  switch (s->state) {
  case FIX_ST_ACTIVE:
    if (s->hb_s == 0)
      break;
    {
      int64_t hb = (int64_t)s->hb_s * 1000;
      if (now - s->last_recv_ms >= hb * 24 / 10) {
        closing(s, "peer silent for 2.4 x HeartBtInt", now);
        return 0;
      }
      if (now - s->last_recv_ms >= hb * 12 / 10 && !s->test_pending)
        send_test_request(s, now);
      if (now - s->last_sent_ms >= hb)
        send_heartbeat(s, NULL, 0, now);
      int64_t a = s->last_sent_ms + hb - now;
      int64_t b = s->last_recv_ms + (s->test_pending ? hb * 24 / 10 : hb * 12 / 10) - now;
      if (a < next)
        next = a;
      if (b < next)
        next = b;
    }
    break;
  case FIX_ST_LOGON_SENT:
  case FIX_ST_AWAIT_LOGON: {
    int64_t end = s->state_since_ms + (int64_t)s->cfg.logon_timeout_s * 1000;
    if (now >= end) {
      closing(s, "no Logon in time", now);
      return 0;
    }
    if (end - now < next)
      next = end - now;
    break;
  }
  case FIX_ST_LOGOUT_SENT: {
    int64_t end = s->state_since_ms + (int64_t)s->cfg.logout_timeout_s * 1000;
    if (now >= end) {
      closing(s, "no Logout answer in time", now);
      return 0;
    }
    if (end - now < next)
      next = end - now;
    break;
  }
  default:
    break;
  }
  return next < 1 ? 1 : next;
}

/* ------------------------------------------------------------------ */
/* Resends                                                             */
/* ------------------------------------------------------------------ */

struct resend_walk {
  struct fix_session *s;
  uint64_t cur; /* first number not yet answered */
  int64_t now;
};

static int resend_one(void *cls, const struct fix_stored *m)
{
  struct resend_walk *r = cls;
  struct fix_session *s = r->s;
  if (m->seq < r->cur)
    return 0;
  if (m->seq > r->cur)
    send_gap_fill(s, r->cur, m->seq, r->now);
  struct frame f;
  if (frame_begin(s, &f, m->msg_type, m->seq, true, m->sending_ms, m->body_len, r->now) != 0)
    return -1;
  fix_writer_raw(&f.w, m->body, m->body_len);
  if (frame_end(s, &f, false, 0, r->now) != 0)
    return -1;
  s->stats.resends_answered++;
  r->cur = m->seq + 1;
  return 0;
}

static void do_resend(struct fix_session *s, uint64_t begin, uint64_t end, int64_t now)
{
  uint64_t last = s->next_out - 1;
  if (end == 0 || end > last)
    end = last;
  log_msg(LOGL_INFO, "fix", "%s: ResendRequest %llu..%llu", s->id, (unsigned long long)begin,
          (unsigned long long)end);
  if (begin == 0 || begin > end)
    return;
  struct resend_walk r = {.s = s, .cur = begin, .now = now};
  if (s->reader.load != NULL) {
    int rc = s->reader.load(s->reader.ctx, begin, end, resend_one, &r);
    if (rc != 0) {
      /* The store failed: say nothing rather than a GapFill over real messages. */
      log_msg(LOGL_ERROR, "fix", "%s: cannot read stored messages for a resend: %s", s->id,
              err_text(rc));
      closing(s, "message store unavailable for a resend", now);
      return;
    }
  }
  if (r.cur <= end)
    send_gap_fill(s, r.cur, end + 1, now);
}

/* ------------------------------------------------------------------ */
/* Incoming messages                                                   */
/* ------------------------------------------------------------------ */

static bool field_eq(const struct fix_msg *m, uint32_t tag, const char *want)
{
  const char *v;
  size_t len;
  return fix_msg_str(m, tag, &v, &len) == 0 && len == strlen(want) && memcmp(v, want, len) == 0;
}

static bool flag_yes(const struct fix_msg *m, uint32_t tag)
{
  return field_eq(m, tag, "Y");
}

static int64_t abs64(int64_t v)
{
  return v < 0 ? -v : v;
}

/* Keep a copy of a message beyond the gap. */
static void enqueue(struct fix_session *s, const struct fix_msg *m, uint64_t seq, bool answered,
                    int64_t now)
{
  size_t i = s->nq;
  while (i > 0 && s->q[i - 1].seq > seq)
    i--;
  if (i > 0 && s->q[i - 1].seq == seq)
    return; /* already queued */
  if (s->nq >= QUEUE_MAX || s->q_bytes + m->len > QUEUE_BYTES_MAX) {
    closing(s, "too many messages beyond a sequence gap", now);
    return;
  }
  if (s->nq == s->capq) {
    size_t cap = s->capq ? s->capq * 2 : 16;
    struct queued *q = realloc(s->q, cap * sizeof *q);
    if (q == NULL)
      return;
    s->q = q;
    s->capq = cap;
  }
  char *copy = malloc(m->len);
  if (copy == NULL)
    return;
  memcpy(copy, m->frame, m->len);
  memmove(s->q + i + 1, s->q + i, (s->nq - i) * sizeof *s->q);
  s->q[i] = (struct queued){.seq = seq, .frame = copy, .len = m->len, .answered = answered};
  s->nq++;
  s->q_bytes += m->len;
  s->stats.queued_out_of_order++;
}

/* Drop queued messages numbered below next_in. */
static void queue_trim(struct fix_session *s)
{
  size_t k = 0;
  while (k < s->nq && s->q[k].seq < s->next_in) {
    s->q_bytes -= s->q[k].len;
    free(s->q[k++].frame);
  }
  if (k > 0) {
    memmove(s->q, s->q + k, (s->nq - k) * sizeof *s->q);
    s->nq -= k;
  }
}

static void advance_in(struct fix_session *s)
{
  s->next_in++;
  s->seqs_dirty = true;
}

static void handle_logout(struct fix_session *s, const struct fix_msg *m, int64_t now)
{
  char text[128] = "";
  fix_msg_copy(m, FIX_TAG_TEXT, text, sizeof text);
  if (s->state == FIX_ST_LOGOUT_SENT) {
    closing(s, "Logout answered", now);
    return;
  }
  log_msg(LOGL_INFO, "fix", "%s: peer logged out: %s", s->id, text);
  send_logout(s, NULL, now);
  closing(s, "peer logged out", now);
}

/*
 * A message whose number is the one expected (or that came out of the
 * queue): validate it and act on it.
 */
static void process_in_order(struct fix_session *s, const struct fix_msg *m, uint64_t seq,
                             int64_t now)
{
  struct fix_reject rej;
  struct fix_valid_info info;
  int v = fix_validate(m, &rej, &info);
  if (v < 0) {
    advance_in(s);
    send_reject(s, seq, m, rej.ref_tag, rej.reason, rej.text, now);
    return;
  }
  if (v > 0) {
    advance_in(s);
    if (rej.business)
      send_business_reject(s, seq, m, "Unsupported Message Type", now);
    else
      send_reject(s, seq, m, FIX_TAG_MSG_TYPE, FIX_REJ_INVALID_MSG_TYPE, "Invalid MsgType", now);
    return;
  }
  if (m->msg_type_len == 1) {
    char t = m->msg_type[0];
    switch (t) {
    case '0': {
      const char *id;
      size_t len;
      advance_in(s);
      if (s->test_pending && fix_msg_str(m, FIX_TAG_TEST_REQ_ID, &id, &len) == 0 &&
          len == strlen(s->test_id) && memcmp(id, s->test_id, len) == 0)
        s->test_pending = false;
      return;
    }
    case '1': {
      const char *id;
      size_t len;
      advance_in(s);
      if (fix_msg_str(m, FIX_TAG_TEST_REQ_ID, &id, &len) == 0)
        send_heartbeat(s, id, len, now);
      return;
    }
    case '2': {
      uint64_t b = 0, e = 0;
      advance_in(s);
      fix_msg_u64(m, 7, &b);
      fix_msg_u64(m, 16, &e);
      do_resend(s, b, e, now);
      return;
    }
    case '3':
      advance_in(s);
      log_msg(LOGL_WARN, "fix", "%s: peer rejected one of our messages (seq %llu)", s->id,
              (unsigned long long)seq);
      return;
    case '4': {
      uint64_t ns = 0;
      if (fix_msg_u64(m, FIX_TAG_NEW_SEQ_NO, &ns) != 0) {
        advance_in(s);
        send_reject(s, seq, m, FIX_TAG_NEW_SEQ_NO, FIX_REJ_BAD_FORMAT, "Bad NewSeqNo", now);
        return;
      }
      if (ns > s->next_in) {
        s->next_in = ns;
        s->seqs_dirty = true;
      } else if (ns < s->next_in) {
        advance_in(s);
        send_reject(s, seq, m, FIX_TAG_NEW_SEQ_NO, FIX_REJ_VALUE_OUT_OF_RANGE,
                    "Attempt to lower sequence number, invalid value NewSeqNo", now);
      }
      return;
    }
    case '5':
      advance_in(s);
      handle_logout(s, m, now);
      return;
    case 'A':
      advance_in(s);
      send_logout(s, "Unexpected Logon in an active session", now);
      closing(s, "unexpected Logon", now);
      return;
    default:
      break;
    }
  }
  advance_in(s);
  s->stats.app_in++;
  if (s->app.on_message == NULL) {
    send_business_reject(s, seq, m, "Unsupported Message Type", now);
    return;
  }
  int rc = s->app.on_message(s->app.ctx, s, m, &info);
  if (rc == 1) {
    send_business_reject(s, seq, m, "Unsupported Message Type", now);
  } else if (rc < 0) {
    /* Not consumed: a fill the application could not record must not be
       lost.  The connection ends; after the next Logon the number is missing
       again and the peer resends the message. */
    s->next_in = seq;
    s->seqs_dirty = true;
    log_msg(LOGL_ERROR, "fix",
            "%s: the application could not handle message %llu (%s): disconnecting so that "
            "it is sent again",
            s->id, (unsigned long long)seq, err_text(rc));
    closing(s, "the application failed on a message", now);
  }
}

/* Handle what the queue holds once the gap before it is filled. */
static void drain_queue(struct fix_session *s, int64_t now)
{
  queue_trim(s);
  while (s->nq > 0 && s->q[0].seq == s->next_in &&
         (s->state == FIX_ST_ACTIVE || s->state == FIX_ST_LOGOUT_SENT)) {
    struct queued q = s->q[0];
    memmove(s->q, s->q + 1, (s->nq - 1) * sizeof *s->q);
    s->nq--;
    s->q_bytes -= q.len;
    struct fix_msg *m = malloc(sizeof *m);
    if (m != NULL && fix_parse(q.frame, q.len, m, NULL) == 0) {
      if (q.answered) {
        advance_in(s);
      } else {
        process_in_order(s, m, q.seq, now);
      }
    }
    free(m);
    free(q.frame);
    queue_trim(s);
  }
  if (s->nq == 0 && s->resend_pending) {
    s->resend_pending = false;
    log_msg(LOGL_INFO, "fix", "%s: gap filled; next in %llu", s->id,
            (unsigned long long)s->next_in);
  }
}

/*
 * Header checks every message gets before its number is compared:
 * CompIDs and SendingTime.  Returns false when the session ends.
 */
static bool header_ok(struct fix_session *s, const struct fix_msg *m, uint64_t seq, bool in_order,
                      int64_t now)
{
  if ((fix_msg_find(m, FIX_TAG_SENDER_COMP_ID) != NULL &&
       !field_eq(m, FIX_TAG_SENDER_COMP_ID, s->cfg.target)) ||
      (fix_msg_find(m, FIX_TAG_TARGET_COMP_ID) != NULL &&
       !field_eq(m, FIX_TAG_TARGET_COMP_ID, s->cfg.sender))) {
    uint32_t tag = field_eq(m, FIX_TAG_SENDER_COMP_ID, s->cfg.target) ? FIX_TAG_TARGET_COMP_ID
                                                                      : FIX_TAG_SENDER_COMP_ID;
    if (in_order)
      advance_in(s);
    send_reject(s, seq, m, tag, FIX_REJ_COMPID, "CompID problem", now);
    send_logout(s, "CompID problem", now);
    closing(s, "CompID mismatch", now);
    return false;
  }
  int64_t st;
  if (fix_msg_time(m, FIX_TAG_SENDING_TIME, &st) == 0 &&
      abs64(st - now) > (int64_t)s->cfg.max_skew_s * 1000) {
    if (in_order)
      advance_in(s);
    send_reject(s, seq, m, FIX_TAG_SENDING_TIME, FIX_REJ_SENDING_TIME,
                "SendingTime accuracy problem", now);
    send_logout(s, "SendingTime accuracy problem", now);
    closing(s, "SendingTime accuracy problem", now);
    return false;
  }
  if (flag_yes(m, FIX_TAG_POSS_DUP) && !fix_msg_is(m, "4")) {
    int64_t orig;
    int rc = fix_msg_time(m, FIX_TAG_ORIG_SENDING_TIME, &orig);
    if (rc == -ERR_FIX_MISSING) {
      if (in_order)
        advance_in(s);
      send_reject(s, seq, m, FIX_TAG_ORIG_SENDING_TIME, FIX_REJ_REQUIRED_MISSING,
                  "Required tag missing", now);
      return false;
    }
    if (rc == 0 && fix_msg_time(m, FIX_TAG_SENDING_TIME, &st) == 0 && orig > st) {
      if (in_order)
        advance_in(s);
      send_reject(s, seq, m, FIX_TAG_ORIG_SENDING_TIME, FIX_REJ_SENDING_TIME,
                  "SendingTime accuracy problem", now);
      send_logout(s, "SendingTime accuracy problem", now);
      closing(s, "OrigSendingTime later than SendingTime", now);
      return false;
    }
  }
  return true;
}

/* The first message of a connection: it must be a good Logon. */
static void on_logon(struct fix_session *s, const struct fix_msg *m, uint64_t seq, int64_t now)
{
  struct fix_reject rej;
  uint64_t hb = 0;
  int64_t st;
  if (!fix_msg_is(m, "A")) {
    closing(s, "first message is not a Logon", now);
    return;
  }
  if (!field_eq(m, FIX_TAG_SENDER_COMP_ID, s->cfg.target) ||
      !field_eq(m, FIX_TAG_TARGET_COMP_ID, s->cfg.sender)) {
    closing(s, "Logon with the wrong CompIDs", now);
    return;
  }
  if (fix_msg_time(m, FIX_TAG_SENDING_TIME, &st) != 0 ||
      abs64(st - now) > (int64_t)s->cfg.max_skew_s * 1000) {
    closing(s, "Logon with a bad SendingTime", now);
    return;
  }
  if (fix_validate(m, &rej, NULL) != 0 || fix_msg_u64(m, FIX_TAG_HEART_BT_INT, &hb) != 0 ||
      hb > 3600) {
    closing(s, "invalid Logon", now);
    return;
  }
  bool reset = flag_yes(m, FIX_TAG_RESET_SEQ_NUM);
  if (reset && s->cfg.role == FIX_ACCEPTOR) {
    fix_session_reset(s);
  } else if (reset && s->cfg.role == FIX_INITIATOR && !s->cfg.reset_on_logon) {
    /* The acceptor reset: our Logon was number 1 of the new sequence too. */
    s->next_in = 1;
    s->seqs_dirty = true;
    s->reset_taken = true;
  }
  if (seq < s->next_in) {
    char text[128];
    snprintf(text, sizeof text, "MsgSeqNum too low, expecting %llu but received %llu",
             (unsigned long long)s->next_in, (unsigned long long)seq);
    send_logout(s, text, now);
    closing(s, text, now);
    return;
  }
  if (s->cfg.role == FIX_ACCEPTOR) {
    s->hb_s = (uint32_t)hb;
    send_logon(s, reset, now);
  }
  set_state(s, FIX_ST_ACTIVE, now);
  log_msg(LOGL_INFO, "fix", "%s: logged on (HeartBtInt %u%s); next out %llu, next in %llu", s->id,
          s->hb_s, reset ? ", sequence reset" : "", (unsigned long long)s->next_out,
          (unsigned long long)seq);
  if (seq == s->next_in)
    advance_in(s);
  else
    send_resend_request(s, s->next_in, now);
  if (s->app.on_logon != NULL)
    s->app.on_logon(s->app.ctx, s);
}

void fix_session_on_msg(struct fix_session *s, const struct fix_msg *m, int64_t now)
{
  if (s->state == FIX_ST_CLOSING || s->state == FIX_ST_DISCONNECTED)
    return;
  s->stats.msgs_in++;
  s->last_recv_ms = now;
  uint64_t seq = 0;
  bool seq_reset = fix_msg_is(m, "4") && !flag_yes(m, FIX_TAG_GAP_FILL);
  /* A SequenceReset-Reset's number is ignored, so it may even be 0. */
  if (fix_msg_u64(m, FIX_TAG_MSG_SEQ_NUM, &seq) != 0 || (seq == 0 && !seq_reset)) {
    if (s->state == FIX_ST_ACTIVE || s->state == FIX_ST_LOGOUT_SENT)
      send_logout(s, "MsgSeqNum missing or invalid", now);
    closing(s, "message without a valid MsgSeqNum", now);
    return;
  }
  if (s->state == FIX_ST_AWAIT_LOGON || s->state == FIX_ST_LOGON_SENT) {
    on_logon(s, m, seq, now);
    return;
  }
  /* SequenceReset-Reset: the number of the message does not matter. */
  if (seq_reset) {
    uint64_t ns = 0;
    if (!header_ok(s, m, seq, false, now)) /* a reset consumes no number */
      return;
    if (fix_msg_u64(m, FIX_TAG_NEW_SEQ_NO, &ns) != 0 || ns < s->next_in) {
      send_reject(s, seq, m, FIX_TAG_NEW_SEQ_NO, FIX_REJ_VALUE_OUT_OF_RANGE,
                  "Attempt to lower sequence number, invalid value NewSeqNo", now);
      return;
    }
    log_msg(LOGL_INFO, "fix", "%s: SequenceReset-Reset: next in %llu -> %llu", s->id,
            (unsigned long long)s->next_in, (unsigned long long)ns);
    s->next_in = ns;
    s->seqs_dirty = true;
    drain_queue(s, now);
    return;
  }
  if (!header_ok(s, m, seq, seq == s->next_in, now))
    return;
  if (seq > s->next_in) {
    bool answered = false;
    if (fix_msg_is(m, "2")) {
      /* Answer at once: the peer may be waiting for our resend to fill its own gap. */
      uint64_t b = 0, e = 0;
      fix_msg_u64(m, 7, &b);
      fix_msg_u64(m, 16, &e);
      do_resend(s, b, e, now);
      answered = true;
    } else if (fix_msg_is(m, "5")) {
      handle_logout(s, m, now);
      return;
    }
    enqueue(s, m, seq, answered, now);
    if (!s->resend_pending)
      send_resend_request(s, s->next_in, now);
    return;
  }
  if (seq < s->next_in) {
    if (flag_yes(m, FIX_TAG_POSS_DUP)) {
      s->stats.ignored_possdup++;
      return;
    }
    char text[128];
    snprintf(text, sizeof text, "MsgSeqNum too low, expecting %llu but received %llu",
             (unsigned long long)s->next_in, (unsigned long long)seq);
    send_logout(s, text, now);
    closing(s, text, now);
    return;
  }
  process_in_order(s, m, seq, now);
  drain_queue(s, now);
}
