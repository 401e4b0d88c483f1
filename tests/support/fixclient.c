/*
 * fixclient: the raw FIX peer of fixclient.h.  A connection owns its
 * socket, a fix_stream for framing what arrives, a copy of the last
 * message (so it stays valid while more bytes are read) and a bounded
 * transcript of both directions ("+123ms > 8=FIX.4.4|9=...").  Every
 * failure goes through fc_fail(), which prints the transcript first.
 * Sends use MSG_NOSIGNAL: a peer that already closed is a test failure,
 * never a SIGPIPE.  Longer than most files: building, framing and
 * checking messages of one peer belong together.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/fixclient.h"
#include "tests/support/testsupport.h"

#define TEXT_MAX       (16 * 1024) /* one message in pipe notation */
#define TRANSCRIPT_MAX (48 * 1024) /* kept per connection; older lines dropped */
#define CONNS_MAX      64
#define NOW_SLACK_MS   10000 /* <now> in an expectation: this close to the clock */

struct fc_conn {
  int fd;
  char name[32];
  int64_t t0;
  struct fix_stream in;
  bool eof;
  bool have_last;
  int64_t last_ms;
  char sender[FIX_COMPID_MAX];
  char target[FIX_COMPID_MAX];
  char frame[FIX_MSG_MAX];
  struct fix_msg last;    /* parsed from frame[] */
  struct fix_msg scratch; /* what the stream hands out, before the copy */
  char *transcript;       /* TRANSCRIPT_MAX bytes, NUL-terminated */
  size_t tlen;
  bool truncated;
};

static struct fc_conn *open_conns[CONNS_MAX];

static void track(struct fc_conn *c)
{
  for (size_t i = 0; i < CONNS_MAX; i++)
    if (open_conns[i] == NULL) {
      open_conns[i] = c;
      return;
    }
  fail_msg("fixclient: more than %d connections open", CONNS_MAX);
}

static void untrack(struct fc_conn *c)
{
  for (size_t i = 0; i < CONNS_MAX; i++)
    if (open_conns[i] == c)
      open_conns[i] = NULL;
}

/* ------------------------------------------------------------------ */
/* Text helpers                                                        */
/* ------------------------------------------------------------------ */

void fc_timestamp(int64_t unix_ms, char *out, size_t size)
{
  struct tm tm;
  time_t t = (time_t)(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
  int ms = (int)(unix_ms - (int64_t)t * 1000);
  gmtime_r(&t, &tm);
  snprintf(out, size, "%04d%02d%02d-%02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

void fc_pipe(const char *frame, size_t len, char *out, size_t size)
{
  size_t n = 0;
  if (size == 0)
    return;
  for (size_t i = 0; i < len && n + 1 < size; i++) {
    unsigned char ch = (unsigned char)frame[i];
    if (ch == FIX_SOH) {
      out[n++] = '|';
    } else if (ch < 0x20 || ch >= 0x7f) {
      if (n + 4 >= size)
        break;
      n += (size_t)snprintf(out + n, size - n, "\\x%02x", ch);
    } else {
      out[n++] = (char)ch;
    }
  }
  out[n] = '\0';
}

static void note(struct fc_conn *c, char dir, const char *frame, size_t len)
{
  char line[TEXT_MAX + 64];
  int n = snprintf(line, sizeof line, "+%lldms %c ", (long long)(util_mono_ms() - c->t0), dir);
  if (n < 0)
    return;
  if (frame != NULL)
    fc_pipe(frame, len, line + n, sizeof line - (size_t)n - 1);
  else
    line[n] = '\0';
  size_t l = strlen(line);
  line[l++] = '\n';
  line[l] = '\0';
  if (l >= TRANSCRIPT_MAX)
    return;
  while (c->tlen + l >= TRANSCRIPT_MAX) { /* drop the oldest lines */
    char *nl = memchr(c->transcript, '\n', c->tlen);
    size_t cut = nl != NULL ? (size_t)(nl - c->transcript) + 1 : c->tlen;
    memmove(c->transcript, c->transcript + cut, c->tlen - cut + 1);
    c->tlen -= cut;
    c->truncated = true;
  }
  memcpy(c->transcript + c->tlen, line, l + 1);
  c->tlen += l;
}

void fc_transcript(const struct fc_conn *c)
{
  if (c == NULL)
    return;
  fprintf(stderr,
          "----- FIX transcript of %s (> sent by the test, < received)%s -----\n%s"
          "----- end of transcript -----\n",
          c->name, c->truncated ? ", older lines dropped" : "", c->transcript);
}

void fc_fail(const struct fc_conn *c, const char *fmt, ...)
{
  char msg[TEXT_MAX + 512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fc_transcript(c);
  fail_msg("%s%s%s", c != NULL ? c->name : "", c != NULL ? ": " : "", msg);
  abort(); /* not reached: fail_msg() jumps out of the test */
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

static struct fc_conn *conn_new(int fd, const char *name)
{
  struct fc_conn *c = calloc(1, sizeof *c);
  if (c == NULL || (c->transcript = calloc(1, TRANSCRIPT_MAX)) == NULL)
    fail_msg("fixclient: out of memory");
  if (fix_stream_init(&c->in) != 0)
    fail_msg("fixclient: fix_stream_init failed");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->fd = fd;
  c->t0 = util_mono_ms();
  snprintf(c->name, sizeof c->name, "%s", name != NULL ? name : "fix");
  track(c);
  return c;
}

struct fc_conn *fc_connect(uint16_t port, const char *name)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    fail_msg("socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    int e = errno;
    close(fd);
    fail_msg("%s: connect to 127.0.0.1:%u: %s", name != NULL ? name : "fix", port, strerror(e));
  }
  return conn_new(fd, name);
}

int fc_listen(uint16_t *port)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(*port)};
  socklen_t len = sizeof a;
  int one = 1;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    fail_msg("socket: %s", strerror(errno));
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    int e = errno;
    close(fd);
    fail_msg("listen on 127.0.0.1:%u: %s", *port, strerror(e));
  }
  *port = ntohs(a.sin_port);
  return fd;
}

struct fc_conn *fc_accept(int lfd, unsigned ms, const char *name)
{
  int64_t end = util_mono_ms() + ms;
  for (;;) {
    int64_t left = end - util_mono_ms();
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    int r = poll(&p, 1, left > 0 ? (int)left : 0);
    if (r < 0 && errno != EINTR)
      fail_msg("poll: %s", strerror(errno));
    if (r > 0) {
      int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
      if (fd >= 0)
        return conn_new(fd, name);
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
        fail_msg("accept: %s", strerror(errno));
    }
    if (util_mono_ms() >= end)
      return NULL;
  }
}

void fc_close(struct fc_conn *c)
{
  if (c == NULL)
    return;
  untrack(c);
  if (getenv("BACKSTOCK_TEST_FIX_TRACE") != NULL)
    fc_transcript(c);
  close(c->fd);
  fix_stream_free(&c->in);
  free(c->transcript);
  free(c);
}

void fc_close_all(void)
{
  for (size_t i = 0; i < CONNS_MAX; i++)
    if (open_conns[i] != NULL)
      fc_close(open_conns[i]);
}

void fc_set_comp_ids(struct fc_conn *c, const char *sender, const char *target)
{
  snprintf(c->sender, sizeof c->sender, "%s", sender != NULL ? sender : "");
  snprintf(c->target, sizeof c->target, "%s", target != NULL ? target : "");
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */
/* ------------------------------------------------------------------ */

/* A bounded output string; overflow fails the test. */
struct sbuf {
  char *p;
  size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
  if (b->len + n + 1 > b->cap)
    fail_msg("fixclient: message longer than %zu bytes", b->cap - 1);
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

/* Parse "<now>", "<now-200s>", "<now+1500ms>" at @s; *n its length.  false if not one. */
static bool time_placeholder(const char *s, size_t *n, int64_t *unix_ms)
{
  if (strncmp(s, "<now", 4) != 0)
    return false;
  const char *p = s + 4;
  int64_t off = 0;
  if (*p == '+' || *p == '-') {
    char *end;
    long long v = strtoll(p + 1, &end, 10);
    if (end == p + 1)
      return false;
    if (strncmp(end, "ms", 2) == 0)
      end += 2;
    else if (*end == 's')
      v *= 1000, end++;
    else
      return false;
    off = *p == '-' ? -v : v;
    p = end;
  }
  if (*p != '>')
    return false;
  *n = (size_t)(p + 1 - s);
  *unix_ms = util_now_ms() + off;
  return true;
}

/* Copy @pipe with time placeholders expanded. */
static void expand_times(const char *pipe, struct sbuf *out)
{
  for (const char *s = pipe; *s != '\0';) {
    size_t n;
    int64_t t;
    if (*s == '<' && time_placeholder(s, &n, &t)) {
      char ts[32];
      fc_timestamp(t, ts, sizeof ts);
      sb_add(out, ts, strlen(ts));
      s += n;
    } else {
      sb_add(out, s, 1);
      s++;
    }
  }
}

/* Replace the first occurrence of @from (length @fl) at or after @at with @to. */
static void splice(struct sbuf *b, size_t at, size_t fl, const char *to)
{
  size_t tl = strlen(to);
  if (b->len - fl + tl + 1 > b->cap)
    fail_msg("fixclient: message too long");
  memmove(b->p + at + tl, b->p + at + fl, b->len - at - fl + 1);
  memcpy(b->p + at, to, tl);
  b->len = b->len - fl + tl;
}

/*
 * Resolve <len>, <len+N>, <len-N>, <sum>, <badsum> on a text whose time
 * placeholders are expanded and whose '|' are already SOH.
 */
static void resolve_frame(struct sbuf *b)
{
  char *lp = strstr(b->p, "<len");
  if (lp != NULL) {
    char *close_ = strchr(lp, '>');
    if (close_ == NULL)
      fail_msg("fixclient: unterminated <len");
    long adj = 0;
    if (lp[4] == '+' || lp[4] == '-')
      adj = strtol(lp + 4, NULL, 10);
    size_t at = (size_t)(lp - b->p), fl = (size_t)(close_ + 1 - lp);
    /* Body: after the SOH that ends this field, up to the SOH before the last "10=". */
    char *body = memchr(close_, FIX_SOH, b->len - (size_t)(close_ - b->p));
    if (body == NULL)
      fail_msg("fixclient: nothing after <len>");
    body++;
    char *trailer = NULL;
    for (char *p = body; (p = strstr(p, "\x01"
                                        "10=")) != NULL;
         p++)
      trailer = p + 1;
    size_t body_len = trailer != NULL ? (size_t)(trailer - body) : b->len - (size_t)(body - b->p);
    char num[32];
    snprintf(num, sizeof num, "%ld", (long)body_len + adj);
    splice(b, at, fl, num);
  }
  char *sp = strstr(b->p, "<sum>");
  bool bad = false;
  if (sp == NULL && (sp = strstr(b->p, "<badsum>")) != NULL)
    bad = true;
  if (sp != NULL) {
    /* The sum covers everything before the "10=" that holds the placeholder. */
    size_t at = (size_t)(sp - b->p);
    size_t start = at >= 3 && memcmp(sp - 3, "10=", 3) == 0 ? at - 3 : at;
    unsigned sum = 0;
    for (size_t i = 0; i < start; i++)
      sum += (unsigned char)b->p[i];
    sum %= 256;
    if (bad)
      sum = (sum + 1) % 256;
    char num[8];
    snprintf(num, sizeof num, "%03u", sum);
    splice(b, at, bad ? 8 : 5, num);
  }
}

static void send_bytes(struct fc_conn *c, const char *p, size_t n)
{
  note(c, '>', p, n);
  size_t done = 0;
  while (done < n) {
    ssize_t k = send(c->fd, p + done, n - done, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      fc_fail(c, "send failed: %s", k < 0 ? strerror(errno) : "0 bytes");
    done += (size_t)k;
  }
}

/* Expand, turn '|' into SOH, resolve lengths and sums, send. */
static void send_text(struct fc_conn *c, const char *text)
{
  static char buf[FIX_MSG_MAX + 1];
  struct sbuf b = {buf, 0, sizeof buf};
  buf[0] = '\0';
  expand_times(text, &b);
  for (size_t i = 0; i < b.len; i++)
    if (b.p[i] == '|')
      b.p[i] = FIX_SOH;
  resolve_frame(&b);
  send_bytes(c, b.p, b.len);
}

void fc_send_raw(struct fc_conn *c, const char *pipe)
{
  send_text(c, pipe);
}

void fc_send_rawf(struct fc_conn *c, const char *fmt, ...)
{
  static char text[FIX_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof text)
    fc_fail(c, "fc_send_rawf: text too long");
  send_text(c, text);
}

/* Whether @pipe has a field with @tag ("|49=" or at the start). */
static bool has_tag(const char *pipe, const char *tag)
{
  size_t tl = strlen(tag);
  for (const char *p = pipe; p != NULL && *p != '\0';) {
    if (strncmp(p, tag, tl) == 0 && p[tl] == '=')
      return true;
    p = strchr(p, '|');
    if (p != NULL)
      p++;
  }
  return false;
}

void fc_send(struct fc_conn *c, const char *pipe)
{
  static char text[FIX_MSG_MAX];
  struct sbuf b = {text, 0, sizeof text};
  text[0] = '\0';
  if (strncmp(pipe, "35=", 3) != 0)
    fc_fail(c, "fc_send: the text must start with 35=: %s", pipe);
  const char *after35 = strchr(pipe, '|');
  if (after35 == NULL)
    fc_fail(c, "fc_send: no '|' after 35=: %s", pipe);
  after35++;
  sb_add(&b, "8=" FIX_BEGIN_STRING "|9=<len>|", strlen("8=" FIX_BEGIN_STRING "|9=<len>|"));
  sb_add(&b, pipe, (size_t)(after35 - pipe));
  if (c->sender[0] != '\0' && !has_tag(pipe, "49")) {
    sb_add(&b, "49=", 3);
    sb_add(&b, c->sender, strlen(c->sender));
    sb_add(&b, "|", 1);
  }
  if (c->target[0] != '\0' && !has_tag(pipe, "56")) {
    sb_add(&b, "56=", 3);
    sb_add(&b, c->target, strlen(c->target));
    sb_add(&b, "|", 1);
  }
  if (c->sender[0] != '\0' && !has_tag(pipe, "52"))
    sb_add(&b, "52=<now>|", 9);
  sb_add(&b, after35, strlen(after35));
  if (b.len > 0 && b.p[b.len - 1] != '|')
    sb_add(&b, "|", 1);
  sb_add(&b, "10=<sum>|", 9);
  send_text(c, text);
}

void fc_sendf(struct fc_conn *c, const char *fmt, ...)
{
  static char text[FIX_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof text)
    fc_fail(c, "fc_sendf: text too long");
  fc_send(c, text);
}

/* ------------------------------------------------------------------ */
/* Receiving                                                           */
/* ------------------------------------------------------------------ */

/* Take the next whole message out of the stream into c->last; true if one. */
static bool next_buffered(struct fc_conn *c)
{
  struct fix_msg *m = &c->scratch;
  enum fix_garble why;
  enum fix_next r = fix_stream_next(&c->in, m, &why);
  if (r == FIX_GARBLED)
    fc_fail(c, "the peer sent a garbled frame (fix_garble %d, %llu bytes discarded)", (int)why,
            (unsigned long long)c->in.garbled_bytes);
  if (r == FIX_NEED_MORE)
    return false;
  memcpy(c->frame, m->frame, m->len);
  size_t len = m->len;
  if (fix_parse(c->frame, len, &c->last, NULL) != 0)
    fc_fail(c, "fixclient: a framed message does not parse again");
  c->have_last = true;
  c->last_ms = util_mono_ms();
  note(c, '<', c->frame, len);
  return true;
}

enum fc_got fc_recv(struct fc_conn *c, unsigned ms, const struct fix_msg **msg)
{
  int64_t end = util_mono_ms() + ms;
  if (msg != NULL)
    *msg = NULL;
  for (;;) {
    if (next_buffered(c)) {
      if (msg != NULL)
        *msg = &c->last;
      return FC_MSG;
    }
    if (c->eof)
      return FC_EOF;
    int64_t left = end - util_mono_ms();
    if (left <= 0)
      return FC_TIMEOUT;
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int r = poll(&p, 1, (int)left);
    if (r < 0 && errno != EINTR)
      fc_fail(c, "poll: %s", strerror(errno));
    if (r <= 0)
      continue;
    size_t room;
    char *space = fix_stream_space(&c->in, &room);
    ssize_t k = recv(c->fd, space, room, 0);
    if (k < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (k <= 0) {
      c->eof = true;
      c->last_ms = util_mono_ms();
      note(c, '<', "(connection closed)", 19);
      continue;
    }
    fix_stream_commit(&c->in, (size_t)k);
  }
}

const struct fix_msg *fc_last(struct fc_conn *c)
{
  return c->have_last ? &c->last : NULL;
}

int64_t fc_last_ms(const struct fc_conn *c)
{
  return c->last_ms;
}

static void last_text(const struct fc_conn *c, char *out, size_t size)
{
  if (c->have_last)
    fc_pipe(c->last.frame, c->last.len, out, size);
  else
    snprintf(out, size, "(nothing received)");
}

/* One expectation "tag=value" against the last message; NULL or what is wrong. */
static const char *check_one(struct fc_conn *c, uint32_t tag, const char *want, size_t wl,
                             char *why, size_t size)
{
  const struct fix_field *f = fix_msg_find(&c->last, tag);
  if (wl == 8 && memcmp(want, "<absent>", 8) == 0) {
    if (f != NULL)
      snprintf(why, size, "tag %u present, want it absent", tag);
    return f != NULL ? why : NULL;
  }
  if (f == NULL) {
    snprintf(why, size, "tag %u missing, want %.*s", tag, (int)wl, want);
    return why;
  }
  const char *v = c->last.frame + f->off;
  if (wl == 5 && memcmp(want, "<any>", 5) == 0)
    return NULL;
  if (wl == 5 && memcmp(want, "<now>", 5) == 0) {
    int64_t t;
    if (fix_msg_time(&c->last, tag, &t) != 0 || llabs(t - util_now_ms()) > NOW_SLACK_MS) {
      snprintf(why, size, "tag %u is %.*s, want a UTCTimestamp within %d ms of now", tag,
               (int)f->len, v, NOW_SLACK_MS);
      return why;
    }
    return NULL;
  }
  if (f->len != wl || memcmp(v, want, wl) != 0) {
    snprintf(why, size, "tag %u is \"%.*s\", want \"%.*s\"", tag, (int)f->len, v, (int)wl, want);
    return why;
  }
  return NULL;
}

void fc_check(struct fc_conn *c, const char *pipe)
{
  static char got[TEXT_MAX];
  char why[512];
  if (!c->have_last)
    fc_fail(c, "no message received to check against %s", pipe);
  for (const char *p = pipe; *p != '\0';) {
    const char *end = strchr(p, '|');
    size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
    if (n > 0) {
      char *eq;
      unsigned long tag = strtoul(p, &eq, 10);
      if (eq == p || *eq != '=' || (size_t)(eq - p) >= n)
        fc_fail(c, "bad expectation \"%.*s\" in %s", (int)n, p, pipe);
      const char *val = eq + 1;
      size_t vl = n - (size_t)(val - p);
      if (check_one(c, (uint32_t)tag, val, vl, why, sizeof why) != NULL) {
        last_text(c, got, sizeof got);
        fc_fail(c, "%s\n  expected: %s\n  received: %s", why, pipe, got);
      }
    }
    p += n;
    if (*p == '|')
      p++;
  }
}

const struct fix_msg *fc_expect(struct fc_conn *c, unsigned ms, const char *pipe)
{
  enum fc_got r = fc_recv(c, ms, NULL);
  if (r == FC_TIMEOUT)
    fc_fail(c, "nothing received within %u ms; expected %s", ms, pipe);
  if (r == FC_EOF)
    fc_fail(c, "connection closed; expected %s", pipe);
  fc_check(c, pipe);
  return &c->last;
}

const struct fix_msg *fc_expectf(struct fc_conn *c, unsigned ms, const char *fmt, ...)
{
  char text[TEXT_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof text)
    fc_fail(c, "fc_expectf: text too long");
  return fc_expect(c, ms, text);
}

void fc_expect_absent(struct fc_conn *c, const char *tags)
{
  static char got[TEXT_MAX];
  if (!c->have_last)
    fc_fail(c, "no message received to check for absent tags %s", tags);
  for (const char *p = tags; *p != '\0';) {
    char *end;
    unsigned long tag = strtoul(p, &end, 10);
    if (end == p)
      fc_fail(c, "bad tag list %s", tags);
    if (fix_msg_find(&c->last, (uint32_t)tag) != NULL) {
      last_text(c, got, sizeof got);
      fc_fail(c, "tag %lu must be absent\n  received: %s", tag, got);
    }
    p = *end == '|' ? end + 1 : end;
  }
}

void fc_expect_disconnect(struct fc_conn *c, unsigned ms)
{
  static char got[TEXT_MAX];
  enum fc_got r = fc_recv(c, ms, NULL);
  if (r == FC_EOF)
    return;
  if (r == FC_TIMEOUT)
    fc_fail(c, "still connected after %u ms; expected a disconnect", ms);
  last_text(c, got, sizeof got);
  fc_fail(c, "expected a disconnect without a reply, received: %s", got);
}

void fc_expect_nothing(struct fc_conn *c, unsigned ms)
{
  static char got[TEXT_MAX];
  enum fc_got r = fc_recv(c, ms, NULL);
  if (r == FC_TIMEOUT)
    return;
  if (r == FC_EOF)
    fc_fail(c, "connection closed; expected nothing for %u ms", ms);
  last_text(c, got, sizeof got);
  fc_fail(c, "expected nothing for %u ms, received: %s", ms, got);
}

void fc_get(struct fc_conn *c, uint32_t tag, char *buf, size_t size)
{
  if (!c->have_last || fix_msg_copy(&c->last, tag, buf, size) != 0)
    fc_fail(c, "tag %u missing (or too long) in the last message", tag);
}

uint64_t fc_get_u64(struct fc_conn *c, uint32_t tag)
{
  uint64_t v;
  if (!c->have_last || fix_msg_u64(&c->last, tag, &v) != 0)
    fc_fail(c, "tag %u missing or not an unsigned integer in the last message", tag);
  return v;
}
