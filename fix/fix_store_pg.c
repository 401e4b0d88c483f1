/*
 * fix_store_pg.c: the FIX message store in PostgreSQL (tables of
 * migrations/0003-fix-store.sql).
 *
 * A store owns nothing but its bookkeeping: the connection is the
 * caller's, dedicated to the store while it is open.  Invariants:
 *
 * - one batch of outgoing frames = one transaction = one round trip: a
 *   single data-modifying statement inserts every stored frame and sets
 *   the numbers, then the application's persist hook runs in the same
 *   transaction (db_txn retries the whole on a soft error).  The bodies
 *   travel as one binary bytea parameter (concatenated) with their
 *   lengths, numbers, types and times as text arrays, split in SQL;
 * - the statements with binary parameters or results (insert_batch,
 *   select_messages) run through db_exec_bin, prepared per connection like
 *   every other statement;
 * - the session's advisory lock is session-level on this connection, so a
 *   reconnect loses it silently: while the store believes it holds the
 *   lock, every write first re-takes it after a reconnect and fails with
 *   -ERR_FIX_SESSION_BUSY when another process got it in between.
 *
 * Every statement runs with the connection's defaults (SERIALIZABLE).
 */
#include <stdlib.h>
#include <string.h>

#include "fix/fix.h"

/* Rows fetched per round trip when reading messages back. */
#define LOAD_CHUNK 500

struct fix_store {
  struct db_conn *c;
  char *id;
  bool locked;
  unsigned long lock_gen; /* c->stats.reconnects when the lock was taken */
  bool busy;              /* the body found the lock taken by another process */
  struct fix_store_stats stats;
};

static const struct db_stmt fix_store_insert_session = {
    "fix_store_insert_session",
    "INSERT INTO fix_sessions (session_id) VALUES ($1) ON CONFLICT (session_id) DO NOTHING",
    1,
};

static const struct db_stmt fix_store_select_state = {
    "fix_store_select_state",
    "SELECT next_out, next_in, session_day::text FROM fix_sessions WHERE session_id = $1",
    1,
};

/* The daily reset: messages gone, numbers to 1, the day recorded. */
static const struct db_stmt fix_store_reset_day = {
    "fix_store_reset_day",
    "WITH gone AS (DELETE FROM fix_messages WHERE session_id = $1)"
    " UPDATE fix_sessions SET next_out = 1, next_in = 1, session_day = $2::date,"
    " updated_at = now() WHERE session_id = $1",
    2,
};

static const struct db_stmt fix_store_try_lock = {
    "fix_store_try_lock",
    "SELECT pg_try_advisory_lock(hashtextextended('fix_store:' || $1, 0))",
    1,
};

static const struct db_stmt fix_store_release_lock = {
    "fix_store_release_lock",
    "SELECT pg_advisory_unlock(hashtextextended('fix_store:' || $1, 0))",
    1,
};

/*
 * One batch: $1 session, $2 next_out, $3 next_in, $4 seqs, $5 types,
 * $6 sending_ms, $7 body lengths (text arrays, same order), $8 the bodies
 * concatenated (binary).  A frame whose number was already stored (a
 * numbering restarted without a reset) replaces the old one.  Returns one
 * row with the number of frames written; no row if the session row is
 * missing.
 */
static const struct db_stmt fix_store_insert_batch = {
    "fix_store_insert_batch",
    "WITH f AS ("
    "  SELECT t.seq, t.msg_type, t.sending_ms, t.len,"
    "         coalesce(sum(t.len) OVER (ORDER BY t.ord ROWS BETWEEN UNBOUNDED PRECEDING"
    "                                   AND 1 PRECEDING), 0) AS off"
    "  FROM unnest($4::bigint[], $5::text[], $6::bigint[], $7::int[]) WITH ORDINALITY"
    "       AS t(seq, msg_type, sending_ms, len, ord)"
    "), ins AS ("
    "  INSERT INTO fix_messages (session_id, seq, msg_type, sending_ms, body)"
    "  SELECT $1, f.seq, f.msg_type, f.sending_ms,"
    "         substring($8::bytea FROM (f.off + 1)::int FOR f.len) FROM f"
    "  ON CONFLICT (session_id, seq) DO UPDATE SET msg_type = EXCLUDED.msg_type,"
    "     sending_ms = EXCLUDED.sending_ms, body = EXCLUDED.body, stored_at = now()"
    "  RETURNING 1"
    ")"
    " UPDATE fix_sessions SET next_out = $2::bigint, next_in = $3::bigint, updated_at = now()"
    " WHERE session_id = $1 RETURNING (SELECT count(*) FROM ins)",
    8,
};

/* $1 session, $2 from, $3 to, $4 limit; results in binary. */
static const struct db_stmt fix_store_select_messages = {
    "fix_store_select_messages",
    "SELECT seq, msg_type, sending_ms, body FROM fix_messages"
    " WHERE session_id = $1 AND seq BETWEEN $2::bigint AND $3::bigint ORDER BY seq LIMIT $4::int",
    4,
};

static bool conn_ok(struct db_conn *c)
{
  if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
    return true;
  util_strlcpy(c->last_error, "connection lost", sizeof c->last_error);
  c->last_sqlstate[0] = '\0';
  return false;
}

/* ---- open, close, lock --------------------------------------------- */

struct open_cls {
  const char *id;
};

static enum db_qs open_body(struct db_conn *c, void *cls)
{
  struct open_cls *o = cls;
  const char *params[] = {o->id};
  return db_exec(c, &fix_store_insert_session, params, NULL);
}

int fix_store_open(struct db_conn *c, const char *session_id, struct fix_store **out)
{
  struct fix_store *st = calloc(1, sizeof *st);
  if (st == NULL)
    return -ERR_NOMEM;
  st->c = c;
  st->id = strdup(session_id);
  if (st->id == NULL) {
    free(st);
    return -ERR_NOMEM;
  }
  struct open_cls o = {session_id};
  int rc = db_txn(c, "fix_store_open", open_body, &o);
  if (rc != 0) {
    fix_store_close(st);
    return rc;
  }
  *out = st;
  return 0;
}

void fix_store_close(struct fix_store *st)
{
  if (st == NULL)
    return;
  fix_store_unlock(st);
  free(st->id);
  free(st);
}

/* pg_try_advisory_lock: 1 taken, 0 held elsewhere, < 0 a db_qs error. */
static int try_lock(struct fix_store *st)
{
  const char *params[] = {st->id};
  PGresult *r;
  enum db_qs qs = db_exec(st->c, &fix_store_try_lock, params, &r);
  if (qs <= 0)
    return qs == DB_QS_NONE ? DB_QS_HARD : qs;
  int got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
  PQclear(r);
  return got;
}

int fix_store_lock(struct fix_store *st)
{
  if (st->locked && st->lock_gen == st->c->stats.reconnects && conn_ok(st->c))
    return 0;
  if (!st->c->in_txn && db_ensure(st->c) != 0)
    return -ERR_DB_CONNECT;
  int got = try_lock(st);
  if (got < 0) {
    log_msg(LOGL_ERROR, "fix", "%s: advisory lock: %s", st->id, st->c->last_error);
    return conn_ok(st->c) ? -ERR_DB_HARD : -ERR_DB_CONNECT;
  }
  st->locked = got == 1;
  st->lock_gen = st->c->stats.reconnects;
  return st->locked ? 0 : -ERR_FIX_SESSION_BUSY;
}

void fix_store_unlock(struct fix_store *st)
{
  if (!st->locked)
    return;
  st->locked = false;
  /* After a reconnect the server already dropped it with the old session. */
  if (st->lock_gen != st->c->stats.reconnects || !conn_ok(st->c))
    return;
  const char *params[] = {st->id};
  PGresult *r;
  if (db_exec(st->c, &fix_store_release_lock, params, &r) > 0)
    PQclear(r);
}

/*
 * In a write's body: if the connection was replaced since the lock was
 * taken, take it again on this one; another holder makes the write fail.
 */
static enum db_qs relock(struct fix_store *st)
{
  if (!st->locked || st->lock_gen == st->c->stats.reconnects)
    return DB_QS_NONE;
  int got = try_lock(st);
  if (got < 0)
    return (enum db_qs)got;
  if (got == 0) {
    st->busy = true;
    util_strlcpy(st->c->last_error, "session lock taken by another process",
                 sizeof st->c->last_error);
    return DB_QS_HARD;
  }
  st->lock_gen = st->c->stats.reconnects;
  return DB_QS_NONE;
}

/* Map db_txn's result, turning a lost lock into SESSION_BUSY. */
static int txn_result(struct fix_store *st, int rc)
{
  if (st->busy) {
    st->busy = false;
    st->locked = false;
    log_msg(LOGL_ERROR, "fix",
            "%s: the session lock was lost with the connection and another "
            "process holds it now",
            st->id);
    return -ERR_FIX_SESSION_BUSY;
  }
  return rc;
}

/* ---- state and reset ------------------------------------------------ */

int fix_store_state(struct fix_store *st, uint64_t *next_out, uint64_t *next_in, int32_t *day)
{
  if (!st->c->in_txn && db_ensure(st->c) != 0)
    return -ERR_DB_CONNECT;
  const char *params[] = {st->id};
  PGresult *r;
  enum db_qs qs = db_exec(st->c, &fix_store_select_state, params, &r);
  if (qs <= 0) {
    log_msg(LOGL_ERROR, "fix", "%s: cannot read the session state: %s", st->id,
            qs == DB_QS_NONE ? "no row" : st->c->last_error);
    return qs == DB_QS_SOFT ? -ERR_DB_CONFLICT : -ERR_DB_HARD;
  }
  int rc = 0;
  uint64_t o = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
  uint64_t i = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
  int32_t d = INT32_MIN;
  if (!PQgetisnull(r, 0, 2)) {
    const char *s = PQgetvalue(r, 0, 2);
    if (cal_parse_date(s, strlen(s), &d) != 0) {
      log_msg(LOGL_ERROR, "fix", "%s: stored session day %s out of range", st->id, s);
      rc = -ERR_DB_HARD;
    }
  }
  PQclear(r);
  if (rc == 0) {
    *next_out = o;
    *next_in = i;
    *day = d;
  }
  return rc;
}

struct reset_cls {
  struct fix_store *st;
  const char *day; /* NULL: no day */
};

static enum db_qs reset_body(struct db_conn *c, void *cls)
{
  struct reset_cls *r = cls;
  enum db_qs qs = relock(r->st);
  if (qs < 0)
    return qs;
  const char *params[] = {r->st->id, r->day};
  qs = db_exec(c, &fix_store_reset_day, params, NULL);
  if (qs == DB_QS_NONE) {
    util_strlcpy(c->last_error, "session row missing", sizeof c->last_error);
    return DB_QS_HARD;
  }
  return qs;
}

int fix_store_reset(struct fix_store *st, int32_t day)
{
  char d[CAL_DATE_STR];
  struct reset_cls r = {st, NULL};
  if (day != INT32_MIN) {
    cal_format_date(day, d);
    r.day = d;
  }
  return txn_result(st, db_txn(st->c, "fix_store_reset", reset_body, &r));
}

/* ---- persist --------------------------------------------------------- */

struct persist_cls {
  struct fix_store *st;
  const struct fix_out *batch;
  size_t n;
  const char *outbuf;
  const struct fix_app *app;
  size_t n_stored;
  const char *vals[8];
  int lens[8];
  int fmts[8];
};

static enum db_qs persist_body(struct db_conn *c, void *cls)
{
  struct persist_cls *p = cls;
  enum db_qs qs = relock(p->st);
  if (qs < 0)
    return qs;
  PGresult *r;
  qs = db_exec_bin(c, &fix_store_insert_batch, p->vals, p->lens, p->fmts, 0, &r);
  if (qs < 0)
    return qs;
  if (qs == DB_QS_NONE) {
    util_strlcpy(c->last_error, "session row missing", sizeof c->last_error);
    return DB_QS_HARD;
  }
  unsigned long long wrote = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  if (wrote != p->n_stored) {
    log_bug("fix", "%s: batch wrote %llu of %zu frames", p->st->id, wrote, p->n_stored);
    return DB_QS_HARD;
  }
  if (p->app != NULL && p->app->on_persist != NULL) {
    c->last_error[0] = '\0';
    qs = p->app->on_persist(p->app->ctx, c, p->batch, p->n, p->outbuf);
    if (qs < 0 && c->last_error[0] == '\0')
      util_strlcpy(c->last_error, "the application's persist hook failed", sizeof c->last_error);
    if (qs < 0)
      return qs;
  }
  return DB_QS_NONE;
}

/* Growing text buffer for the array literals. */
struct sbuf {
  char *p;
  size_t len, cap;
  bool nomem;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
  if (b->nomem)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap == 0 ? 256 : b->cap;
    while (ncap < b->len + n + 1)
      ncap *= 2;
    char *np = realloc(b->p, ncap);
    if (np == NULL) {
      b->nomem = true;
      return;
    }
    b->p = np;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_num(struct sbuf *b, bool first, long long v)
{
  char t[32];
  int n = snprintf(t, sizeof t, "%s%lld", first ? "" : ",", v);
  sb_add(b, t, (size_t)n);
}

/* A quoted array element: "..." with " and \ escaped. */
static void sb_quoted(struct sbuf *b, bool first, const char *s)
{
  if (!first)
    sb_add(b, ",", 1);
  sb_add(b, "\"", 1);
  for (; *s != '\0'; s++) {
    if (*s == '"' || *s == '\\')
      sb_add(b, "\\", 1);
    sb_add(b, s, 1);
  }
  sb_add(b, "\"", 1);
}

/* The application's hook runs only for batches that carry its frames. */
static bool needs_hook(const struct fix_app *app, const struct fix_out *batch, size_t n)
{
  if (app == NULL || app->on_persist == NULL)
    return false;
  for (size_t i = 0; i < n; i++)
    if (batch[i].app_ref != 0)
      return true;
  return false;
}

int fix_store_persist(struct fix_store *st, const struct fix_out *batch, size_t n,
                      const char *outbuf, uint64_t next_out, uint64_t next_in,
                      const struct fix_app *app)
{
  int rc = -ERR_NOMEM;
  struct sbuf seqs = {0}, types = {0}, times = {0}, lens = {0};
  char *bodies = NULL;
  size_t total = 0, k = 0;
  if (next_out < 1 || next_in < 1 || next_out > INT64_MAX || next_in > INT64_MAX) {
    log_bug("fix", "%s: persist with numbers %llu/%llu", st->id, (unsigned long long)next_out,
            (unsigned long long)next_in);
    return -ERR_INVALID_ARGUMENT;
  }
  for (size_t i = 0; i < n; i++)
    if (batch[i].stored)
      total += batch[i].body_len;
  if (total > INT32_MAX) {
    log_bug("fix", "%s: batch of %zu body bytes", st->id, total);
    return -ERR_TOO_LONG;
  }
  bodies = malloc(total + 1);
  if (bodies == NULL)
    goto out;
  sb_add(&seqs, "{", 1);
  sb_add(&types, "{", 1);
  sb_add(&times, "{", 1);
  sb_add(&lens, "{", 1);
  total = 0;
  for (size_t i = 0; i < n; i++) {
    const struct fix_out *f = &batch[i];
    if (!f->stored)
      continue;
    char type[sizeof f->msg_type + 1];
    memcpy(type, f->msg_type, sizeof f->msg_type);
    type[sizeof f->msg_type] = '\0';
    sb_num(&seqs, k == 0, (long long)f->seq);
    sb_quoted(&types, k == 0, type);
    sb_num(&times, k == 0, (long long)f->sending_ms);
    sb_num(&lens, k == 0, (long long)f->body_len);
    memcpy(bodies + total, outbuf + f->body_off, f->body_len);
    total += f->body_len;
    k++;
  }
  sb_add(&seqs, "}", 1);
  sb_add(&types, "}", 1);
  sb_add(&times, "}", 1);
  sb_add(&lens, "}", 1);
  if (seqs.nomem || types.nomem || times.nomem || lens.nomem)
    goto out;
  char o[24], in[24];
  snprintf(o, sizeof o, "%llu", (unsigned long long)next_out);
  snprintf(in, sizeof in, "%llu", (unsigned long long)next_in);
  struct persist_cls p = {
      .st = st,
      .batch = batch,
      .n = n,
      .outbuf = outbuf,
      .app = app,
      .n_stored = k,
      .vals = {st->id, o, in, seqs.p, types.p, times.p, lens.p, bodies},
      .lens = {0, 0, 0, 0, 0, 0, 0, (int)total},
      .fmts = {0, 0, 0, 0, 0, 0, 0, 1},
  };
  if (needs_hook(app, batch, n)) {
    rc = txn_result(st, db_txn(st->c, "fix_store_persist", persist_body, &p));
  } else {
    /* No application rows to write: the one statement is its own transaction
       (one round trip instead of BEGIN, statement, COMMIT).  Re-running it after
       a lost connection is harmless: it rewrites the same rows and numbers. */
    p.app = NULL;
    rc = -ERR_DB_CONFLICT;
    for (unsigned attempt = 0; attempt < 3 && rc == -ERR_DB_CONFLICT; attempt++) {
      if (db_ensure(st->c) != 0) {
        rc = -ERR_DB_CONNECT;
        break;
      }
      enum db_qs qs = persist_body(st->c, &p);
      rc = qs >= 0 ? 0 : qs == DB_QS_SOFT ? -ERR_DB_CONFLICT : -ERR_DB_HARD;
      if (rc == -ERR_DB_HARD && !st->busy && PQstatus(st->c->pg) != CONNECTION_OK)
        rc = -ERR_DB_CONFLICT; /* the connection was lost: reconnect and run it again */
    }
    rc = txn_result(st, rc);
  }
  if (rc == 0) {
    st->stats.batches++;
    st->stats.frames += k;
  }
out:
  free(seqs.p);
  free(types.p);
  free(times.p);
  free(lens.p);
  free(bodies);
  return rc;
}

/* ---- reading back ---------------------------------------------------- */

static uint64_t be64(const char *p)
{
  const unsigned char *u = (const unsigned char *)p;
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | u[i];
  return v;
}

static int load(void *ctx, uint64_t from, uint64_t to, fix_stored_fn fn, void *cls)
{
  struct fix_store *st = ctx;
  struct db_conn *c = st->c;
  st->stats.loads++;
  if (to > INT64_MAX)
    to = INT64_MAX;
  if (from < 1)
    from = 1;
  if (!c->in_txn && db_ensure(c) != 0)
    return -ERR_DB_CONNECT;
  while (from <= to) {
    char f[24], t[24], lim[16];
    snprintf(f, sizeof f, "%llu", (unsigned long long)from);
    snprintf(t, sizeof t, "%llu", (unsigned long long)to);
    snprintf(lim, sizeof lim, "%d", LOAD_CHUNK);
    const char *vals[] = {st->id, f, t, lim};
    PGresult *r;
    enum db_qs qs = db_exec_bin(c, &fix_store_select_messages, vals, NULL, NULL, 1, &r);
    if (qs < 0) {
      log_msg(LOGL_ERROR, "fix", "%s: cannot read stored messages: %s", st->id, c->last_error);
      return qs == DB_QS_SOFT ? -ERR_DB_CONFLICT : conn_ok(c) ? -ERR_DB_HARD : -ERR_DB_CONNECT;
    }
    if (qs == DB_QS_NONE)
      return 0;
    int rows = PQntuples(r), stop = 0;
    uint64_t last = from;
    char type[16];
    for (int i = 0; i < rows && stop == 0; i++) {
      if (PQgetlength(r, i, 0) != 8 || PQgetlength(r, i, 2) != 8 ||
          PQgetlength(r, i, 1) >= (int)sizeof type) {
        log_bug("fix", "%s: unexpected stored message layout", st->id);
        PQclear(r);
        return -ERR_DB_HARD;
      }
      memcpy(type, PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1));
      type[PQgetlength(r, i, 1)] = '\0';
      struct fix_stored m = {
          .seq = be64(PQgetvalue(r, i, 0)),
          .msg_type = type,
          .sending_ms = (int64_t)be64(PQgetvalue(r, i, 2)),
          .body = PQgetvalue(r, i, 3),
          .body_len = (size_t)PQgetlength(r, i, 3),
      };
      last = m.seq;
      stop = fn(cls, &m);
    }
    PQclear(r);
    if (stop != 0)
      return stop;
    if (rows < LOAD_CHUNK || last >= to)
      return 0;
    from = last + 1;
  }
  return 0;
}

struct fix_store_reader fix_store_reader(struct fix_store *st)
{
  return (struct fix_store_reader){.ctx = st, .load = load};
}

const struct fix_store_stats *fix_store_stats_get(const struct fix_store *st)
{
  return &st->stats;
}
