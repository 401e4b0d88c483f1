/*
 * libFuzzer harness for the FIX framing parser: fix_stream_* and
 * fix_parse(), which take bytes straight from the broker's socket.
 *
 * The first four input bytes choose chunk sizes (1..64, cycling); the
 * rest is fed to a fix_stream in those chunks, draining after each.
 * Invariants, abort() on any breach: fix_stream_space() never offers 0
 * bytes; every message lies inside the stream's received bytes, every
 * field inside its frame; the first three tags are 8, 9, 35 and the last
 * is 10; 8 is FIX.4.4; CheckSum recomputed over the frame matches;
 * BodyLength matches the frame length; msg_type is field 2;
 * fix_parse() of the frame gives the same message; garbled_bytes plus
 * delivered bytes never exceed the bytes fed.  fix_parse() is also run
 * on the raw input and must give 0 or -ERR_FIX_GARBLED with a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fix/fix_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fix_msg msg, again;

/*
 * Validation of an outside message: never crashes, and what it answers is
 * well formed: a reason FIX defines, a reference tag that is in the
 * message (or 0 / 35 for a type refusal), listed unknown tags that occur.
 */
static void check_validate(const struct fix_msg *m)
{
  struct fix_reject rej;
  struct fix_valid_info info;
  int rc = fix_validate(m, &rej, &info);
  if (rc == 0) {
    for (unsigned i = 0; i < info.n_unknown && i < 16; i++)
      if (fix_msg_find(m, info.unknown_tags[i]) == NULL)
        abort();
  } else if (rc == 1) {
    if (rej.reason != FIX_REJ_INVALID_MSG_TYPE || rej.ref_tag != FIX_TAG_MSG_TYPE)
      abort();
  } else if (rc == -1) {
    if ((unsigned)rej.reason > 17 || memchr(rej.text, '\0', sizeof rej.text) == NULL)
      abort();
    if (rej.ref_tag != 0 && rej.reason != FIX_REJ_REQUIRED_MISSING &&
        fix_msg_find(m, rej.ref_tag) == NULL)
      abort();
  } else {
    abort();
  }
}

static void check_msg(const struct fix_stream *s, const struct fix_msg *m)
{
  const char *f = m->frame;
  if (f < s->buf || m->len > FIX_MSG_MAX || f + m->len > s->buf + s->end || m->n_fields < 4 ||
      m->n_fields > FIX_FIELDS_MAX)
    abort();
  for (uint32_t i = 0; i < m->n_fields; i++) {
    const struct fix_field *x = &m->fields[i];
    if ((uint64_t)x->off + x->len >= m->len || f[x->off + x->len] != FIX_SOH || x->tag == 0 ||
        x->tag > 2147483647u || x->off < 2 || f[x->off - 1] != '=')
      abort();
    if (memchr(f + x->off, FIX_SOH, x->len) != NULL)
      abort();
    if (i > 0 && x->off <= m->fields[i - 1].off + m->fields[i - 1].len)
      abort();
  }
  const struct fix_field *last = &m->fields[m->n_fields - 1];
  if (m->fields[0].tag != 8 || m->fields[1].tag != 9 || m->fields[2].tag != 35 || last->tag != 10 ||
      last->len != 3 || last->off + 4 != m->len)
    abort();
  if (m->fields[0].len != 7 || memcmp(f + m->fields[0].off, "FIX.4.4", 7) != 0)
    abort();
  if (m->msg_type != f + m->fields[2].off || m->msg_type_len != m->fields[2].len)
    abort();
  unsigned sum = 0, want = 0;
  for (size_t i = 0; i < last->off - 3; i++)
    sum += (unsigned char)f[i];
  for (int i = 0; i < 3; i++)
    want = want * 10 + (unsigned)(f[last->off + i] - '0');
  if (sum % 256 != want)
    abort();
  size_t body = 0;
  for (uint32_t i = 0; i < m->fields[1].len; i++)
    body = body * 10 + (size_t)(f[m->fields[1].off + i] - '0');
  if (body != last->off - 3 - (m->fields[1].off + m->fields[1].len + 1))
    abort();
  if (fix_parse(f, m->len, &again, NULL) != 0 || again.n_fields != m->n_fields ||
      memcmp(again.fields, m->fields, m->n_fields * sizeof m->fields[0]) != 0)
    abort();
  check_validate(m);
}

/*
 * Where the one-pass decimal reader answers, it must agree with the
 * general path through money_parse(), value and error alike.
 */
static void check_money(const char *v, size_t len)
{
  static const unsigned scales[] = {0, 2, 8, 18, 19};
  for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++) {
    struct money a = {0, 0}, b = {0, 0};
    int fa = fix__money_fast(v, len, scales[k], &a);
    if (fa == 1)
      continue;
    int ga = fix__money_general(v, len, scales[k], &b);
    if (fa != ga || (fa == 0 && (a.v != b.v || a.scale != b.scale)))
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  check_money((const char *)data, size < 48 ? size : 48);
  enum fix_garble why = FIX_GARBLE_NONE;
  int rc = fix_parse((const char *)data, size, &msg, &why);
  if (rc == 0) {
    if (msg.len != size || msg.frame != (const char *)data)
      abort();
  } else if (rc != -ERR_FIX_GARBLED || why == FIX_GARBLE_NONE || why == FIX_GARBLE_NO_BEGIN) {
    abort();
  }

  uint8_t sizes[4] = {7, 13, 1, 64};
  size_t off = 0;
  for (; off < 4 && off < size; off++)
    sizes[off] = data[off];
  struct fix_stream s;
  if (fix_stream_init(&s) != 0)
    return 0;
  uint64_t fed = 0, delivered = 0;
  for (unsigned k = 0; off < size; k++) {
    size_t room, want = (size_t)(sizes[k % 4] % 64) + 1;
    char *p = fix_stream_space(&s, &room);
    if (room == 0)
      abort();
    if (want > room)
      want = room;
    if (want > size - off)
      want = size - off;
    memcpy(p, data + off, want);
    fix_stream_commit(&s, want);
    off += want;
    fed += want;
    enum fix_next r;
    while ((r = fix_stream_next(&s, &msg, &why)) != FIX_NEED_MORE) {
      if (r == FIX_MESSAGE) {
        check_msg(&s, &msg);
        delivered += msg.len;
      } else if (r != FIX_GARBLED || why == FIX_GARBLE_NONE) {
        abort();
      }
      if (delivered + s.garbled_bytes > fed || s.start > s.end)
        abort();
    }
  }
  if (delivered + s.garbled_bytes + (s.end - s.start) != fed)
    abort();
  fix_stream_free(&s);
  return 0;
}
