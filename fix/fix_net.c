/*
 * The FIX transport: one poll() loop per process that serves every
 * session of that process over TCP, in either role.
 *
 * Per turn: accept and read what arrived (handing each framed message to
 * its session), drain NOTIFYs from the database, tick the session timers,
 * let logged-on applications work, then for each session store its
 * outbox and numbers in one batch (fix_store_persist) and only then copy
 * the frames to the socket.  A failed store closes the connection with
 * nothing sent: nothing reaches the wire that the store does not hold.
 *
 * Sessions hold their advisory lock while connected (taken before an
 * initiator connects or when an acceptor's Logon names the session,
 * released at disconnect), and reload their numbers from the store right
 * after taking it, so a session that moved to another process resumes
 * where that process left it.  The daily schedule is checked before
 * every connection and every turn: a session whose day ended logs out,
 * and its numbers are reset before the next Logon.
 *
 * Initiators reconnect with exponential backoff (reconnect_min_ms
 * doubling to reconnect_max_ms, each wait jittered down by up to a
 * quarter), reset to the minimum after a Logon succeeds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "fix/fix.h"

#define READ_CHUNK_MAX (256 * 1024) /* bytes read per connection per turn */
#define PENDING_MAX    64           /* accepted connections waiting for a Logon */
#define WRITE_WAIT_MS  2000         /* a closing connection's last bytes */
#define STOP_WAIT_MS   3000         /* logouts at shutdown */
#define POLL_MAX       (2 + PENDING_MAX + 64)

struct conn {
  int fd;
  struct fix_stream in;
  char *wbuf;
  size_t wlen, woff, wcap;
  int64_t opened_ms;
  int64_t closing_since_ms;
  bool connecting; /* initiator: non-blocking connect in progress */
};

struct ep {
  struct fix_endpoint cfg;
  char host[256];
  struct fix_session *s;
  struct db_conn *db; /* the store's connection (holds the advisory lock) */
  struct fix_store *st;
  struct conn *conn;
  bool locked;
  int32_t day;
  int64_t next_reset_ms;
  bool day_logout_sent;
  /* initiator */
  int64_t next_connect_ms;
  uint32_t backoff_ms;
  /* application */
  int64_t app_wake_ms;
};

struct fix_net {
  char *conninfo;
  struct db_conn *db; /* the loop's own connection: LISTEN and the applications */
  bool listening_db;
  struct ep **eps;
  size_t neps;
  int listen_fd;
  struct conn *pending[PENDING_MAX];
  size_t npending;
  struct fix_msg *msg; /* scratch (large) */
};

static int64_t now_ms(void)
{
  return util_now_ms();
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

static struct conn *conn_new(int fd, int64_t now)
{
  struct conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  if (fix_stream_init(&c->in) != 0) {
    free(c);
    return NULL;
  }
  c->fd = fd;
  c->opened_ms = now;
  return c;
}

static void conn_free(struct conn *c)
{
  if (c == NULL)
    return;
  if (c->fd >= 0)
    close(c->fd);
  fix_stream_free(&c->in);
  free(c->wbuf);
  free(c);
}

static void tune_socket(int fd)
{
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int conn_queue(struct conn *c, const char *p, size_t n)
{
  if (c->woff > 0 && c->woff == c->wlen)
    c->woff = c->wlen = 0;
  if (c->wcap - c->wlen < n) {
    size_t cap = c->wcap ? c->wcap : 16384;
    while (cap - c->wlen < n)
      cap *= 2;
    char *b = realloc(c->wbuf, cap);
    if (b == NULL)
      return -ERR_NOMEM;
    c->wbuf = b;
    c->wcap = cap;
  }
  memcpy(c->wbuf + c->wlen, p, n);
  c->wlen += n;
  return 0;
}

/* Write what is queued; returns 0, or -ERR_FIX_NET when the peer is gone. */
static int conn_flush(struct conn *c)
{
  while (c->woff < c->wlen) {
    ssize_t k = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
    if (k > 0) {
      c->woff += (size_t)k;
      continue;
    }
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return 0;
    return -ERR_FIX_NET;
  }
  c->woff = c->wlen = 0;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Sessions: store, schedule, lock                                     */
/* ------------------------------------------------------------------ */

static void fmt_utc(int64_t ms, char out[32])
{
  int32_t day = (int32_t)(ms / 86400000);
  int64_t r = ms % 86400000;
  int y;
  unsigned mo, d;
  cal_civil(day, &y, &mo, &d);
  snprintf(out, 32, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, mo, d, (int)(r / 3600000),
           (int)(r / 60000 % 60), (int)(r / 1000 % 60));
}

/*
 * Check the session day; when it changed and the session is not
 * connected, reset the numbers in the store and the session.
 */
static int ep_check_day(struct ep *e, int64_t now)
{
  int32_t day;
  int64_t next;
  int rc = fix_schedule_day(e->cfg.cfg.tz, e->cfg.cfg.reset_minute, now, &day, &next);
  if (rc != 0)
    return rc;
  e->next_reset_ms = next;
  if (day == e->day)
    return 0;
  if (e->conn != NULL) {
    if (!e->day_logout_sent && fix_session_state(e->s) == FIX_ST_ACTIVE) {
      log_msg(LOGL_INFO, "fix", "%s: end of the session day: logging out", fix_session_id(e->s));
      fix_session_logout(e->s, "End of session day", now);
      e->day_logout_sent = true;
    }
    return 0;
  }
  char d[CAL_DATE_STR], n[32];
  cal_format_date(day, d);
  fmt_utc(next, n);
  if ((rc = fix_store_reset(e->st, day)) != 0)
    return rc;
  fix_session_reset(e->s);
  fix_session_take_reset(e->s);
  fix_session_stored(e->s);
  log_msg(LOGL_INFO, "fix", "%s: new session day %s: sequence numbers reset to 1; next reset %s",
          fix_session_id(e->s), d, n);
  e->day = day;
  e->day_logout_sent = false;
  return 0;
}

/* Take the advisory lock and reload the numbers (another process may have moved them). */
static int ep_lock(struct ep *e, int64_t now)
{
  uint64_t out, in;
  int32_t day;
  int rc = fix_store_lock(e->st);
  if (rc != 0)
    return rc;
  e->locked = true;
  if ((rc = fix_store_state(e->st, &out, &in, &day)) != 0)
    goto fail;
  fix_session_set_seqs(e->s, out, in);
  e->day = day;
  if ((rc = ep_check_day(e, now)) != 0)
    goto fail;
  return 0;
fail:
  fix_store_unlock(e->st);
  e->locked = false;
  return rc;
}

static void ep_unlock(struct ep *e)
{
  if (e->locked)
    fix_store_unlock(e->st);
  e->locked = false;
}

/* Store the outbox and the numbers, then queue the frames on the socket. */
static int ep_flush(struct ep *e, int64_t now)
{
  size_t n;
  const char *buf;
  const struct fix_out *outs = fix_session_outbox(e->s, &n, &buf);
  int rc;
  if (n == 0 && !fix_session_seqs_dirty(e->s))
    return 0;
  if (fix_session_take_reset(e->s) && (rc = fix_store_reset(e->st, e->day)) != 0)
    return rc;
  rc = fix_store_persist(e->st, outs, n, buf, fix_session_next_out(e->s), fix_session_next_in(e->s),
                         &e->cfg.app);
  if (rc != 0) {
    log_msg(LOGL_ERROR, "fix", "%s: cannot store %zu outgoing frames: %s", fix_session_id(e->s), n,
            err_text(rc));
    return rc;
  }
  fix_session_stored(e->s);
  if (e->conn != NULL && !e->conn->connecting)
    for (size_t i = 0; i < n; i++)
      if ((rc = conn_queue(e->conn, buf + outs[i].frame_off, outs[i].frame_len)) != 0)
        return rc;
  fix_session_sent(e->s, now);
  return 0;
}

static void ep_schedule_reconnect(struct ep *e, int64_t now)
{
  if (e->cfg.cfg.role != FIX_INITIATOR)
    return;
  uint32_t b = e->backoff_ms;
  uint32_t jitter = b / 4 > 0 ? randombytes_uniform(b / 4 + 1) : 0;
  e->next_connect_ms = now + (b - jitter);
  log_msg(LOGL_INFO, "fix", "%s: reconnecting in %u ms", fix_session_id(e->s), b - jitter);
  b = b > e->cfg.reconnect_max_ms / 2 ? e->cfg.reconnect_max_ms : b * 2;
  e->backoff_ms = b;
}

static void ep_disconnect(struct fix_net *n, struct ep *e, const char *why, int64_t now)
{
  (void)n;
  if (e->conn == NULL)
    return;
  struct conn *c = e->conn;
  e->conn = NULL;
  fix_session_disconnected(e->s, why);
  /* Numbers handled before the drop are durable, and the lock free, before the
     peer sees the close: a reconnect to another process finds the session ready. */
  ep_flush(e, now);
  ep_unlock(e);
  conn_free(c);
  ep_schedule_reconnect(e, now);
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

int fix_net_create(const char *conninfo, struct fix_net **out)
{
  struct fix_net *n = calloc(1, sizeof *n);
  int rc;
  if (n == NULL)
    return -ERR_NOMEM;
  n->listen_fd = -1;
  n->conninfo = strdup(conninfo);
  n->msg = malloc(sizeof *n->msg);
  if (n->conninfo == NULL || n->msg == NULL) {
    fix_net_free(n);
    return -ERR_NOMEM;
  }
  if ((rc = db_connect(conninfo, NULL, 5, &n->db)) != 0) {
    fix_net_free(n);
    return rc;
  }
  *out = n;
  return 0;
}

void fix_net_free(struct fix_net *n)
{
  if (n == NULL)
    return;
  for (size_t i = 0; i < n->neps; i++) {
    struct ep *e = n->eps[i];
    conn_free(e->conn);
    ep_unlock(e);
    fix_store_close(e->st);
    db_close(e->db);
    fix_session_free(e->s);
    free(e);
  }
  free(n->eps);
  for (size_t i = 0; i < n->npending; i++)
    conn_free(n->pending[i]);
  if (n->listen_fd >= 0)
    close(n->listen_fd);
  db_close(n->db);
  if (n->conninfo != NULL)
    sodium_memzero(n->conninfo, strlen(n->conninfo));
  free(n->conninfo);
  free(n->msg);
  free(n);
}

struct db_conn *fix_net_db(struct fix_net *n)
{
  return n->db;
}

int fix_net_add(struct fix_net *n, const struct fix_endpoint *ep, struct fix_session **out)
{
  struct ep *e = calloc(1, sizeof *e);
  struct ep **eps;
  uint64_t o, i;
  int32_t day, d0;
  int64_t next, now = now_ms();
  int rc;
  if (e == NULL)
    return -ERR_NOMEM;
  e->cfg = *ep;
  if (ep->host != NULL)
    util_strlcpy(e->host, ep->host, sizeof e->host);
  e->cfg.host = e->host;
  if (e->cfg.reconnect_min_ms == 0)
    e->cfg.reconnect_min_ms = 500;
  if (e->cfg.reconnect_max_ms < e->cfg.reconnect_min_ms)
    e->cfg.reconnect_max_ms = e->cfg.reconnect_min_ms > 30000 ? e->cfg.reconnect_min_ms : 30000;
  e->backoff_ms = e->cfg.reconnect_min_ms;
  if ((rc = fix_schedule_day(ep->cfg.tz, ep->cfg.reset_minute, now, &d0, &next)) != 0)
    goto fail;
  if ((rc = db_connect(n->conninfo, NULL, 5, &e->db)) != 0)
    goto fail;
  char id[2 * FIX_COMPID_MAX + 3];
  snprintf(id, sizeof id, "%s->%s", ep->cfg.sender, ep->cfg.target);
  if ((rc = fix_store_open(e->db, id, &e->st)) != 0)
    goto fail;
  struct fix_store_reader rd = fix_store_reader(e->st);
  if ((rc = fix_session_create(&e->cfg.cfg, &e->cfg.app, &rd, &e->s)) != 0)
    goto fail;
  if ((rc = fix_store_state(e->st, &o, &i, &day)) != 0)
    goto fail;
  fix_session_set_seqs(e->s, o, i);
  e->day = day;
  eps = realloc(n->eps, (n->neps + 1) * sizeof *eps);
  if (eps == NULL) {
    rc = -ERR_NOMEM;
    goto fail;
  }
  n->eps = eps;
  n->eps[n->neps++] = e;
  {
    char dd[CAL_DATE_STR], nn[32];
    cal_format_date(d0, dd);
    fmt_utc(next, nn);
    log_msg(LOGL_INFO, "fix",
            "%s: %s; schedule: daily reset at %02u:%02u %s, session day %s, next reset %s; "
            "stored numbers: next out %llu, next in %llu",
            id, ep->cfg.role == FIX_INITIATOR ? "initiator" : "acceptor", ep->cfg.reset_minute / 60,
            ep->cfg.reset_minute % 60, ep->cfg.tz, dd, nn, (unsigned long long)o,
            (unsigned long long)i);
  }
  e->next_connect_ms = now;
  e->app_wake_ms = now;
  if (out != NULL)
    *out = e->s;
  return 0;
fail:
  fix_session_free(e->s);
  fix_store_close(e->st);
  db_close(e->db);
  free(e);
  return rc;
}

int fix_net_listen(struct fix_net *n, const char *host, uint16_t port, uint16_t *bound)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  socklen_t len = sizeof a;
  int one = 1;
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
    return -ERR_FIX_NET;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -ERR_FIX_NET;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    log_msg(LOGL_ERROR, "fix", "cannot listen on %s:%u: %s", host, port, strerror(errno));
    close(fd);
    return -ERR_FIX_NET;
  }
  n->listen_fd = fd;
  if (bound != NULL)
    *bound = ntohs(a.sin_port);
  log_msg(LOGL_INFO, "fix", "listening on %s:%u", host, ntohs(a.sin_port));
  return 0;
}

int fix_net_listen_channel(struct fix_net *n, const char *channel)
{
  char sql[128];
  for (const char *p = channel; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9')))
      return -ERR_INVALID_ARGUMENT;
  snprintf(sql, sizeof sql, "LISTEN %s", channel);
  if (db_exec_sql(n->db, sql) < 0)
    return -ERR_DB_HARD;
  n->listening_db = true;
  return 0;
}

void fix_net_drop(struct fix_net *n, struct fix_session *s)
{
  for (size_t i = 0; i < n->neps; i++)
    if (n->eps[i]->s == s)
      ep_disconnect(n, n->eps[i], "dropped by the application", now_ms());
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
/* ------------------------------------------------------------------ */

static void start_connect(struct fix_net *n, struct ep *e, int64_t now)
{
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  struct addrinfo *ai = NULL;
  char port[8];
  int rc;
  (void)n;
  if ((rc = ep_lock(e, now)) != 0) {
    if (rc == -ERR_FIX_SESSION_BUSY)
      log_msg(LOGL_WARN, "fix", "%s: active in another process; waiting", fix_session_id(e->s));
    ep_schedule_reconnect(e, now);
    return;
  }
  snprintf(port, sizeof port, "%u", e->cfg.port);
  if (getaddrinfo(e->host, port, &hints, &ai) != 0 || ai == NULL) {
    log_msg(LOGL_WARN, "fix", "%s: cannot resolve %s", fix_session_id(e->s), e->host);
    goto fail;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    goto fail;
  tune_socket(fd);
  int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
  if (r != 0 && errno != EINPROGRESS) {
    log_msg(LOGL_WARN, "fix", "%s: connect to %s:%u: %s", fix_session_id(e->s), e->host,
            e->cfg.port, strerror(errno));
    close(fd);
    goto fail;
  }
  freeaddrinfo(ai);
  e->conn = conn_new(fd, now);
  if (e->conn == NULL) {
    close(fd);
    ep_unlock(e);
    ep_schedule_reconnect(e, now);
    return;
  }
  e->conn->connecting = r != 0;
  if (!e->conn->connecting)
    fix_session_connected(e->s, now);
  return;
fail:
  if (ai != NULL)
    freeaddrinfo(ai);
  ep_unlock(e);
  ep_schedule_reconnect(e, now);
}

static void connect_done(struct fix_net *n, struct ep *e, int64_t now)
{
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(e->conn->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    log_msg(LOGL_WARN, "fix", "%s: connect to %s:%u: %s", fix_session_id(e->s), e->host,
            e->cfg.port, strerror(err));
    conn_free(e->conn);
    e->conn = NULL;
    ep_unlock(e);
    ep_schedule_reconnect(e, now);
    return;
  }
  (void)n;
  e->conn->connecting = false;
  log_msg(LOGL_INFO, "fix", "%s: connected to %s:%u", fix_session_id(e->s), e->host, e->cfg.port);
  fix_session_connected(e->s, now);
}

/* Read what is there; returns false when the connection ended. */
static bool conn_read(struct conn *c)
{
  size_t total = 0;
  while (total < READ_CHUNK_MAX) {
    size_t room;
    char *p = fix_stream_space(&c->in, &room);
    ssize_t k = recv(c->fd, p, room, 0);
    if (k > 0) {
      fix_stream_commit(&c->in, (size_t)k);
      total += (size_t)k;
      if ((size_t)k < room)
        return true;
      continue;
    }
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return true;
    return false;
  }
  return true;
}

/* Hand every whole message in the stream to the session. */
static void ep_deliver(struct fix_net *n, struct ep *e, int64_t now)
{
  enum fix_garble why;
  enum fix_next r;
  while (e->conn != NULL && (r = fix_stream_next(&e->conn->in, n->msg, &why)) != FIX_NEED_MORE) {
    enum fix_state st = fix_session_state(e->s);
    if (st == FIX_ST_CLOSING || st == FIX_ST_DISCONNECTED)
      break;
    if (r == FIX_GARBLED) {
      log_msg(LOGL_WARN, "fix", "%s: ignored garbled input (reason %d)", fix_session_id(e->s),
              (int)why);
      fix_session_on_garbled(e->s, why, now);
    } else {
      fix_session_on_msg(e->s, n->msg, now);
    }
  }
}

/* An accepted connection's first message: find its session. */
static void pending_read(struct fix_net *n, size_t idx, int64_t now)
{
  struct conn *c = n->pending[idx];
  enum fix_garble why;
  enum fix_next r;
  bool alive = conn_read(c);
  struct ep *match = NULL;
  const char *reason = NULL;
  while ((r = fix_stream_next(&c->in, n->msg, &why)) == FIX_GARBLED) {
    if (why == FIX_GARBLE_BEGIN_STRING) {
      reason = "bad BeginString before Logon";
      break;
    }
  }
  if (reason == NULL && r == FIX_NEED_MORE) {
    if (alive)
      return;
    reason = "closed before Logon";
  }
  if (reason == NULL) {
    const char *snd, *tgt;
    size_t sl, tl;
    if (!fix_msg_is(n->msg, "A"))
      reason = "first message is not a Logon";
    else if (fix_msg_str(n->msg, FIX_TAG_SENDER_COMP_ID, &snd, &sl) != 0 ||
             fix_msg_str(n->msg, FIX_TAG_TARGET_COMP_ID, &tgt, &tl) != 0)
      reason = "Logon without CompIDs";
    else {
      for (size_t i = 0; i < n->neps && match == NULL; i++) {
        const struct fix_session_cfg *cf = &n->eps[i]->cfg.cfg;
        if (cf->role == FIX_ACCEPTOR && strlen(cf->target) == sl &&
            memcmp(cf->target, snd, sl) == 0 && strlen(cf->sender) == tl &&
            memcmp(cf->sender, tgt, tl) == 0)
          match = n->eps[i];
      }
      if (match == NULL)
        reason = "Logon for an unknown session (CompIDs)";
      else if (match->conn != NULL)
        reason = "session already connected: keeping the first connection";
      else if (ep_lock(match, now) != 0)
        reason = "session active in another process";
    }
  }
  n->pending[idx] = n->pending[--n->npending];
  if (reason != NULL) {
    log_msg(LOGL_WARN, "fix", "closed an incoming connection without a reply: %s", reason);
    conn_free(c);
    return;
  }
  match->conn = c;
  fix_session_connected(match->s, now);
  fix_session_on_msg(match->s, n->msg, now);
  ep_deliver(n, match, now);
}

static void accept_all(struct fix_net *n, int64_t now)
{
  for (;;) {
    int fd = accept4(n->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
      return;
    if (n->npending >= PENDING_MAX) {
      close(fd);
      continue;
    }
    tune_socket(fd);
    struct conn *c = conn_new(fd, now);
    if (c == NULL) {
      close(fd);
      continue;
    }
    n->pending[n->npending++] = c;
  }
}

static void drain_notifies(struct fix_net *n, int64_t now)
{
  PGnotify *nt;
  bool any = false;
  if (n->db->pg == NULL)
    return;
  PQconsumeInput(n->db->pg);
  while ((nt = PQnotifies(n->db->pg)) != NULL) {
    PQfreemem(nt);
    any = true;
  }
  if (any)
    for (size_t i = 0; i < n->neps; i++)
      n->eps[i]->app_wake_ms = now;
}

/* Timers, application work, store and write: everything after the reads. */
static int64_t ep_turn(struct fix_net *n, struct ep *e, int64_t now, bool stopping)
{
  int64_t wait = 1000;
  if (e->conn == NULL) {
    if (e->cfg.cfg.role == FIX_INITIATOR && !stopping) {
      if (now >= e->next_connect_ms)
        start_connect(n, e, now);
      else if (e->next_connect_ms - now < wait)
        wait = e->next_connect_ms - now;
    } else if (e->cfg.cfg.role == FIX_ACCEPTOR && !stopping && now >= e->next_reset_ms) {
      if (ep_check_day(e, now) != 0)
        log_msg(LOGL_ERROR, "fix", "%s: cannot apply the daily reset", fix_session_id(e->s));
    }
    if (e->conn == NULL) {
      if (fix_session_seqs_dirty(e->s))
        ep_flush(e, now);
      return wait;
    }
  }
  if (e->conn->connecting)
    return wait;
  if (now >= e->next_reset_ms)
    ep_check_day(e, now);
  int64_t t = fix_session_tick(e->s, now);
  if (t < wait)
    wait = t;
  if (fix_session_state(e->s) == FIX_ST_ACTIVE) {
    if (e->cfg.app.on_work != NULL && now >= e->app_wake_ms) {
      int64_t w = e->cfg.app.on_work(e->cfg.app.ctx, e->s, now);
      e->app_wake_ms = w < 0 ? INT64_MAX : now + w;
      if (e->conn == NULL) /* the application dropped the connection */
        return 0;
    }
    if (e->app_wake_ms != INT64_MAX && e->app_wake_ms - now < wait)
      wait = e->app_wake_ms - now < 0 ? 0 : e->app_wake_ms - now;
  }
  if (ep_flush(e, now) != 0) {
    ep_disconnect(n, e, "message store failed: nothing sent", now);
    return 0;
  }
  if (conn_flush(e->conn) != 0) {
    ep_disconnect(n, e, "write failed", now);
    return 0;
  }
  if (fix_session_state(e->s) == FIX_ST_ACTIVE)
    e->backoff_ms = e->cfg.reconnect_min_ms;
  if (fix_session_state(e->s) == FIX_ST_CLOSING) {
    if (e->conn->closing_since_ms == 0)
      e->conn->closing_since_ms = now;
    if (e->conn->woff == e->conn->wlen || now - e->conn->closing_since_ms > WRITE_WAIT_MS) {
      ep_disconnect(n, e, NULL, now);
      return 0;
    }
  }
  return wait;
}

int fix_net_run(struct fix_net *n, volatile int *stop, int64_t max_ms)
{
  struct pollfd pfd[POLL_MAX];
  struct ep *pep[POLL_MAX];
  int64_t start = now_ms(), stop_at = 0;
  int64_t wait = 0;
  for (;;) {
    int64_t now = now_ms();
    bool stopping = (stop != NULL && *stop) || (max_ms > 0 && now - start >= max_ms);
    if (stopping && stop_at == 0) {
      stop_at = now;
      for (size_t i = 0; i < n->neps; i++)
        if (fix_session_state(n->eps[i]->s) == FIX_ST_ACTIVE)
          fix_session_logout(n->eps[i]->s, NULL, now);
        else if (n->eps[i]->conn != NULL)
          ep_disconnect(n, n->eps[i], "stopping", now);
    }
    if (stopping) {
      bool any = false;
      for (size_t i = 0; i < n->neps; i++)
        any |= n->eps[i]->conn != NULL;
      if (!any || now - stop_at > STOP_WAIT_MS) {
        for (size_t i = 0; i < n->neps; i++)
          ep_disconnect(n, n->eps[i], "stopped", now);
        return 0;
      }
    }
    /* Everything after the reads, for each session. */
    wait = 1000;
    for (size_t i = 0; i < n->neps; i++) {
      int64_t w = ep_turn(n, n->eps[i], now, stopping);
      if (w < wait)
        wait = w;
    }
    /* Pending connections that never sent a Logon. */
    for (size_t i = 0; i < n->npending;) {
      if (now - n->pending[i]->opened_ms > 10000) {
        log_msg(LOGL_WARN, "fix", "closed an incoming connection: no Logon within 10 s");
        conn_free(n->pending[i]);
        n->pending[i] = n->pending[--n->npending];
      } else
        i++;
    }
    /* Poll. */
    nfds_t np = 0;
    if (n->listen_fd >= 0 && !stopping) {
      pfd[np] = (struct pollfd){.fd = n->listen_fd, .events = POLLIN};
      pep[np++] = NULL;
    }
    if (n->listening_db && n->db->pg != NULL) {
      pfd[np] = (struct pollfd){.fd = PQsocket(n->db->pg), .events = POLLIN};
      pep[np++] = NULL;
    }
    size_t first_pending = np;
    for (size_t i = 0; i < n->npending; i++) {
      pfd[np] = (struct pollfd){.fd = n->pending[i]->fd, .events = POLLIN};
      pep[np++] = NULL;
    }
    size_t first_ep = np;
    for (size_t i = 0; i < n->neps && np < POLL_MAX; i++) {
      struct conn *c = n->eps[i]->conn;
      if (c == NULL)
        continue;
      short ev = POLLIN;
      if (c->connecting || c->woff < c->wlen)
        ev |= POLLOUT;
      pfd[np] = (struct pollfd){.fd = c->fd, .events = ev};
      pep[np++] = n->eps[i];
    }
    if (wait < 0)
      wait = 0;
    int pr = poll(pfd, np, (int)wait);
    if (pr < 0 && errno != EINTR)
      return -ERR_FIX_NET;
    now = now_ms();
    if (pr <= 0)
      continue;
    for (size_t i = 0; i < first_pending; i++) {
      if (!(pfd[i].revents & POLLIN))
        continue;
      if (pfd[i].fd == n->listen_fd)
        accept_all(n, now);
      else
        drain_notifies(n, now);
    }
    /* Pending connections: walk backwards, pending_read() may remove entries. */
    for (size_t i = first_ep; i-- > first_pending;) {
      if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      for (size_t k = 0; k < n->npending; k++)
        if (n->pending[k]->fd == pfd[i].fd) {
          pending_read(n, k, now);
          break;
        }
    }
    for (size_t i = first_ep; i < np; i++) {
      struct ep *e = pep[i];
      if (e->conn == NULL || e->conn->fd != pfd[i].fd || pfd[i].revents == 0)
        continue;
      if (e->conn->connecting) {
        if (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP))
          connect_done(n, e, now);
        continue;
      }
      if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        bool alive = conn_read(e->conn);
        ep_deliver(n, e, now);
        e->app_wake_ms = now; /* what arrived may have made work for the application */
        if (!alive && e->conn != NULL) {
          /* Answer what arrived before the close (a Logout) if we still can. */
          if (ep_flush(e, now) == 0)
            conn_flush(e->conn);
          ep_disconnect(n, e, "connection closed by the peer", now);
        }
      }
    }
    if (n->listening_db)
      drain_notifies(n, now);
  }
}
