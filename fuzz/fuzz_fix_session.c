/*
 * libFuzzer harness for the session layer (fix_session.c), which acts on
 * every message a peer sends.  Random bytes would almost never pass the
 * checksum, so the input is read as a script of well-framed messages:
 * one line per message, its first three bytes choosing the type, the
 * MsgSeqNum relative to the one expected, header variations (PossDup,
 * OrigSendingTime, wrong CompIDs, skewed SendingTime) and the clock step;
 * the rest of the line is "tag=value|..." body fields written as given.
 * Each script runs against an acceptor that the first line logs on.
 *
 * Invariants, abort() on any breach: every frame the session queues
 * parses, passes our own validation (fix_validate() == 0) and carries our
 * CompIDs; a frame that consumes a number carries exactly next_out at the
 * time (numbers strictly increase without a reset); resends and GapFills
 * carry 43=Y; nothing is queued after CLOSING.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fix/fix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {"A", "0", "1", "2", "3", "4",  "5",  "D", "8",
                                    "F", "9", "H", "Q", "j", "AN", "AP", "E", "ZZ"};

static struct fix_msg in, out;
static char frame[8192];

static int load(void *ctx, uint64_t from, uint64_t to, fix_stored_fn fn, void *cls)
{
  (void)ctx;
  /* every third number is a stored ExecutionReport */
  for (uint64_t s = from; s <= to && s < from + 64; s++)
    if (s % 3 == 0) {
      struct fix_stored m = {.seq = s,
                             .msg_type = "8",
                             .sending_ms = 1795000000000LL,
                             .body = "37=O\x01"
                                     "17=E\x01"
                                     "150=0\x01"
                                     "39=0\x01"
                                     "55=X\x01"
                                     "54=1\x01"
                                     "14=0\x01"
                                     "151=1\x01"
                                     "6=0\x01",
                             .body_len = 45};
      if (fn(cls, &m) != 0)
        return -1;
    }
  return 0;
}

static int on_message(void *ctx, struct fix_session *s, const struct fix_msg *m,
                      const struct fix_valid_info *info)
{
  (void)ctx;
  (void)info;
  if (fix_msg_is(m, "D"))
    fix_session_send(s, "8", "37=O\x01", 5, 0, 1795000000000LL);
  return fix_msg_is(m, "AP") ? 1 : 0;
}

/* Check and drop what the session queued. */
static void drain(struct fix_session *s, uint64_t *last_out, int64_t now)
{
  size_t n;
  const char *buf;
  const struct fix_out *o = fix_session_outbox(s, &n, &buf);
  for (size_t i = 0; i < n; i++) {
    if (fix_parse(buf + o[i].frame_off, o[i].frame_len, &out, NULL) != 0)
      abort();
    struct fix_reject rej;
    if (fix_validate(&out, &rej, NULL) != 0)
      abort();
    char v[64];
    uint64_t seq;
    if (fix_msg_copy(&out, FIX_TAG_SENDER_COMP_ID, v, sizeof v) != 0 || strcmp(v, "BROKER") != 0)
      abort();
    if (fix_msg_u64(&out, FIX_TAG_MSG_SEQ_NUM, &seq) != 0 || seq != o[i].seq)
      abort();
    if (o[i].seq_consumed) {
      if (*last_out != 0 && seq <= *last_out && seq != 1)
        abort();
      *last_out = seq;
    } else if (fix_msg_copy(&out, FIX_TAG_POSS_DUP, v, sizeof v) != 0 || strcmp(v, "Y") != 0) {
      abort();
    }
  }
  fix_session_stored(s);
  fix_session_sent(s, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static bool quiet;
  if (!quiet) {
    log_setup(LOGL_ERROR, LOG_FORMAT_TEXT, NULL);
    quiet = true;
  }
  struct fix_session_cfg cfg;
  struct fix_session *s;
  struct fix_store_reader rd = {.ctx = NULL, .load = load};
  struct fix_app app = {.on_message = on_message};
  int64_t now = 1795000000000LL;
  uint64_t last_out = 0;
  fix_session_cfg_init(&cfg, FIX_ACCEPTOR, "BROKER", "CLIENT");
  if (fix_session_create(&cfg, &app, &rd, &s) != 0)
    return 0;
  fix_session_connected(s, now);
  size_t pos = 0;
  bool first = true;
  while (pos < size && fix_session_state(s) != FIX_ST_CLOSING) {
    size_t end = pos;
    while (end < size && data[end] != '\n')
      end++;
    if (end - pos >= 3) {
      uint8_t t = data[pos], d = data[pos + 1], fl = data[pos + 2];
      const char *type = first ? "A" : types[t % (sizeof types / sizeof *types)];
      int64_t seq = (int64_t)fix_session_next_in(s) + (int)(d % 8) - 3;
      if (seq < 1)
        seq = 1;
      struct fix_writer w;
      const char *msg;
      size_t len;
      fix_writer_begin(&w, frame, sizeof frame, type);
      fix_writer_u64(&w, FIX_TAG_MSG_SEQ_NUM, (uint64_t)seq);
      if (fl & 1)
        fix_writer_char(&w, FIX_TAG_POSS_DUP, 'Y');
      fix_writer_cstr(&w, FIX_TAG_SENDER_COMP_ID, (fl & 4) ? "OTHER" : "CLIENT");
      fix_writer_time(&w, FIX_TAG_SENDING_TIME, now - ((fl & 8) ? 200000 : 0));
      fix_writer_cstr(&w, FIX_TAG_TARGET_COMP_ID, "BROKER");
      if (fl & 2)
        fix_writer_time(&w, FIX_TAG_ORIG_SENDING_TIME, now - ((fl & 16) ? -5000 : 1000));
      if (first) {
        fix_writer_cstr(&w, FIX_TAG_ENCRYPT_METHOD, "0");
        fix_writer_u64(&w, FIX_TAG_HEART_BT_INT, 30);
      }
      /* body: "tag=value|" pairs */
      size_t p = pos + 3;
      while (p < end) {
        size_t q = p;
        while (q < end && data[q] != '|')
          q++;
        const char *eq = memchr(data + p, '=', q - p);
        if (eq != NULL) {
          uint32_t tag = (uint32_t)strtoul((const char *)data + p, NULL, 10);
          const char *val = eq + 1;
          size_t vl = (size_t)((const char *)data + q - val);
          if (tag > 0 && tag < 100000 && vl > 0 && memchr(val, '\x01', vl) == NULL)
            fix_writer_str(&w, tag, val, vl);
        }
        p = q + 1;
      }
      if (fix_writer_finish(&w, &msg, &len) == 0 && fix_parse(msg, len, &in, NULL) == 0) {
        fix_session_on_msg(s, &in, now);
        first = false;
      }
      drain(s, &last_out, now);
      now += (fl >> 5) * 7000; /* up to 49 s: heartbeats and test requests happen */
      fix_session_tick(s, now);
      drain(s, &last_out, now);
    }
    pos = end + 1;
  }
  fix_session_disconnected(s, "end of input");
  fix_session_free(s);
  return 0;
}
