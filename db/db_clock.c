/*
 * The one clock (docs/clock.md; table and clock_now() in
 * migrations/0012-clock.sql): the business time of the service and of the
 * simulated broker and custodian that share its database.  Virtual now =
 * anchor_virtual + (wall now - anchor_wall) * speed.
 *
 * Invariants:
 * - It never goes backwards.  Every change is one UPDATE that re-anchors
 *   at the exact virtual time of one clock_timestamp() reading (taken once,
 *   in a CTE, so no instant is lost between reading and writing) and may
 *   only add to it: advance by delta >= 0, a new speed from the same
 *   point, or a jump to a time not before the current one.  clock_now()
 *   truncates to milliseconds, which keeps it monotonic.
 * - Each function is one statement, atomic on its own.  Outside a
 *   transaction a change runs inside db_txn() (two concurrent advances
 *   both count: the loser of the row conflict is retried); inside the
 *   caller's transaction it runs once and a conflict is the caller's to
 *   retry.
 * - A change sends NOTIFY on channel "clock" (payload "<now ms> <speed>"),
 *   delivered at commit, so long-running processes can re-read.
 *
 * The file holds the clock's five statements together (not one query per
 * file): they share their columns and make sense only side by side.
 */
#include <stdlib.h>
#include <string.h>

#include "db/db_int.h"

/* The exact virtual time at wall time w.t, from the row c. */
#define VIRTUAL_AT  "(c.anchor_virtual + (w.t - c.anchor_wall) * c.speed)"
#define MS(x)       "(extract(epoch from date_trunc('milliseconds', " x ")) * 1000)::bigint"
#define MS_FLOOR(x) "floor(extract(epoch from " x ") * 1000)::bigint"

/* The columns read_row() reads: now, wall, anchor_wall, anchor_virtual, speed. */
#define GET_COLS                                                                                   \
  MS(VIRTUAL_AT)                                                                                   \
  ", " MS("w.t") ", " MS_FLOOR("c.anchor_wall") ", " MS_FLOOR("c.anchor_virtual") ", c.speed"

/* The same columns after a change, from its RETURNING (u), and the NOTIFY. */
#define NEW_COLS                                                                                   \
  MS("u.anchor_virtual")                                                                           \
  ", " MS("u.t") ", " MS_FLOOR("u.anchor_wall") ", " MS_FLOOR("u.anchor_virtual") ", u.speed"
#define NOTIFY "pg_notify('clock', " MS("u.anchor_virtual") "::text || ' ' || u.speed::text)"

/*
 * A change: @set re-anchors at w.t (exact), @guard limits it.  After the
 * change the virtual time at w.t is the new anchor_virtual.
 */
#define CHANGE(set, guard)                                                                         \
  "WITH w AS (SELECT clock_timestamp() AS t),"                                                     \
  " u AS (UPDATE clock c SET " set ", anchor_wall = w.t, updated_at = w.t FROM w"                  \
  " WHERE c.id = 1" guard " RETURNING c.anchor_virtual, c.anchor_wall, c.speed, w.t)"              \
  " SELECT " NEW_COLS ", " NOTIFY " FROM u"

#define MS_PARAM(n) "(timestamptz 'epoch' + $" #n "::bigint * interval '1 millisecond')"

static const struct db_stmt q_clock_now = {
    "db_clock_now",
    "SELECT (extract(epoch from clock_now()) * 1000)::bigint",
    0,
};

static const struct db_stmt q_clock_get = {
    "db_clock_get",
    "SELECT " GET_COLS " FROM clock c, (SELECT clock_timestamp() AS t) w WHERE c.id = 1",
    0,
};

static const struct db_stmt q_clock_advance = {
    "db_clock_advance",
    CHANGE("anchor_virtual = " VIRTUAL_AT " + $1::bigint * interval '1 millisecond'", ""),
    1,
};

static const struct db_stmt q_clock_speed = {
    "db_clock_set_speed",
    CHANGE("anchor_virtual = " VIRTUAL_AT ", speed = $1::integer", ""),
    1,
};

static const struct db_stmt q_clock_set = {
    "db_clock_set",
    CHANGE("anchor_virtual = " MS_PARAM(1),
           " AND date_trunc('milliseconds', " VIRTUAL_AT ") <= " MS_PARAM(1)),
    1,
};

static int64_t col_i64(PGresult *r, int col)
{
  return strtoll(PQgetvalue(r, 0, col), NULL, 10);
}

static void read_row(PGresult *r, struct db_clock *out)
{
  out->now_ms = col_i64(r, 0);
  out->wall_ms = col_i64(r, 1);
  out->anchor_wall_ms = col_i64(r, 2);
  out->anchor_virtual_ms = col_i64(r, 3);
  out->speed = (int32_t)col_i64(r, 4);
}

static int status_error(struct db_conn *c, enum db_qs qs)
{
  if (qs == DB_QS_SOFT)
    return -ERR_DB_CONFLICT;
  return c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK ? -ERR_DB_HARD : -ERR_DB_CONNECT;
}

/* One statement; outside a transaction, reconnect first if needed. */
static int run_once(struct db_conn *c, const struct db_stmt *stmt, const char *const *params,
                    struct db_clock *out, bool *changed)
{
  PGresult *r = NULL;
  if (!c->in_txn && db_ensure(c) != 0)
    return -ERR_DB_CONNECT;
  enum db_qs qs = db_exec(c, stmt, params, &r);
  if (qs < 0)
    return status_error(c, qs);
  *changed = qs > 0;
  if (qs > 0) {
    read_row(r, out);
    PQclear(r);
  }
  return 0;
}

struct change {
  const struct db_stmt *stmt;
  const char *const *params;
  struct db_clock *out;
  bool changed;
};

static enum db_qs change_tx(struct db_conn *c, void *cls)
{
  struct change *ch = cls;
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, ch->stmt, ch->params, &r);
  ch->changed = qs > 0;
  if (qs > 0) {
    read_row(r, ch->out);
    PQclear(r);
  }
  return qs;
}

/* A change: once inside the caller's transaction, else in db_txn(). */
static int change(struct db_conn *c, const struct db_stmt *stmt, const char *const *params,
                  struct db_clock *out, bool *changed)
{
  struct db_clock local;
  struct change ch = {stmt, params, out != NULL ? out : &local, false};
  int rc;
  if (c->in_txn)
    return run_once(c, stmt, params, ch.out, changed);
  rc = db_txn(c, stmt->name, change_tx, &ch);
  *changed = ch.changed;
  return rc;
}

int db_clock_now(struct db_conn *c, int64_t *ms)
{
  PGresult *r = NULL;
  if (!c->in_txn && db_ensure(c) != 0)
    return -ERR_DB_CONNECT;
  enum db_qs qs = db_exec(c, &q_clock_now, NULL, &r);
  if (qs < 0)
    return status_error(c, qs);
  if (qs == 0 || PQgetisnull(r, 0, 0)) {
    if (r != NULL)
      PQclear(r);
    log_bug("db", "the clock row is missing (migration 0012)");
    return -ERR_DB_HARD;
  }
  *ms = col_i64(r, 0);
  PQclear(r);
  return 0;
}

int db_clock_get(struct db_conn *c, struct db_clock *out)
{
  bool found = false;
  int rc = run_once(c, &q_clock_get, NULL, out, &found);
  if (rc == 0 && !found) {
    log_bug("db", "the clock row is missing (migration 0012)");
    return -ERR_DB_HARD;
  }
  return rc;
}

int db_clock_advance(struct db_conn *c, int64_t delta_ms, struct db_clock *out)
{
  char d[24];
  bool changed = false;
  if (delta_ms < 0 || delta_ms > DB_CLOCK_ADVANCE_MAX_MS)
    return -ERR_INVALID_ARGUMENT;
  snprintf(d, sizeof d, "%lld", (long long)delta_ms);
  const char *params[] = {d};
  int rc = change(c, &q_clock_advance, params, out, &changed);
  if (rc == 0 && !changed) {
    log_bug("db", "the clock row is missing (migration 0012)");
    return -ERR_DB_HARD;
  }
  return rc;
}

int db_clock_set_speed(struct db_conn *c, int32_t speed, struct db_clock *out)
{
  char s[16];
  bool changed = false;
  if (speed < 1 || speed > DB_CLOCK_SPEED_MAX)
    return -ERR_INVALID_ARGUMENT;
  snprintf(s, sizeof s, "%ld", (long)speed);
  const char *params[] = {s};
  int rc = change(c, &q_clock_speed, params, out, &changed);
  if (rc == 0 && !changed) {
    log_bug("db", "the clock row is missing (migration 0012)");
    return -ERR_DB_HARD;
  }
  return rc;
}

int db_clock_set(struct db_conn *c, int64_t at_ms, struct db_clock *out)
{
  char a[24];
  bool changed = false;
  if (at_ms < 0 || at_ms > DB_CLOCK_TIME_MAX_MS)
    return -ERR_INVALID_ARGUMENT;
  snprintf(a, sizeof a, "%lld", (long long)at_ms);
  const char *params[] = {a};
  int rc = change(c, &q_clock_set, params, out, &changed);
  if (rc == 0 && !changed)
    return -ERR_INVALID_ARGUMENT; /* before the clock's time: never backwards */
  return rc;
}
