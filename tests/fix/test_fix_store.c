/*
 * Tests of fix/fix_store_pg.c on a fresh, migrated database: the session
 * row made by open, one batch with stored and unstored frames (rows,
 * numbers and byte-exact bodies read back), batches without stored
 * frames, the daily reset, the advisory lock between two connections (and
 * after a lost connection), the application hook inside the batch's
 * transaction (a failing hook leaves nothing, a conflicting one retries
 * the whole), a batch of 1000 frames in one transaction read back in
 * chunks, and the state seen again from a new connection.
 */
#include <stdlib.h>
#include <string.h>

#include "fix/fix.h"
#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

static struct ts_db db;
static struct db_conn *c;

static int setup(void **state)
{
  (void)state;
  char msg[256];
  ts_db_create("fixstore", &db);
  c = ts_db_connect(&db, 3);
  return db_migrate(c, migrations_all, migrations_count, NULL, msg, sizeof msg);
}

static int teardown(void **state)
{
  (void)state;
  db_close(c);
  ts_db_drop(&db);
  return 0;
}

/* A batch under construction: frames whose bodies live in one buffer. */
struct tbatch {
  char buf[256 * 1024];
  size_t used;
  struct fix_out out[1000];
  size_t n;
};

/* Append a frame "8=..|<body>10=000|" with @body of @len bytes. */
static void add(struct tbatch *b, uint64_t seq, const char *type, bool stored, int64_t sending_ms,
                const char *body, size_t len)
{
  static const char head[] = "8=FIX.4.4\0019=0\001";
  static const char tail[] = "10=000\001";
  assert_true(b->n < 1000 && b->used + sizeof head + len + sizeof tail < sizeof b->buf);
  struct fix_out *f = &b->out[b->n++];
  memset(f, 0, sizeof *f);
  f->seq = seq;
  util_strlcpy(f->msg_type, type, sizeof f->msg_type);
  f->seq_consumed = true;
  f->stored = stored;
  f->app_ref = seq; /* the application's hook runs only for batches with its frames */
  f->sending_ms = sending_ms;
  f->frame_off = (uint32_t)b->used;
  memcpy(b->buf + b->used, head, sizeof head - 1);
  b->used += sizeof head - 1;
  f->body_off = (uint32_t)b->used;
  f->body_len = (uint32_t)len;
  memcpy(b->buf + b->used, body, len);
  b->used += len;
  memcpy(b->buf + b->used, tail, sizeof tail - 1);
  b->used += sizeof tail - 1;
  f->frame_len = (uint32_t)(b->used - f->frame_off);
}

/* What a load handed out. */
struct got {
  size_t n;
  uint64_t seq[1000];
  char type[1000][4];
  int64_t sending[1000];
  char *body[1000];
  size_t len[1000];
  size_t stop_after; /* 0: never stop */
};

static int collect(void *cls, const struct fix_stored *m)
{
  struct got *g = cls;
  assert_true(g->n < 1000);
  g->seq[g->n] = m->seq;
  util_strlcpy(g->type[g->n], m->msg_type, sizeof g->type[g->n]);
  g->sending[g->n] = m->sending_ms;
  g->body[g->n] = malloc(m->body_len + 1);
  assert_non_null(g->body[g->n]);
  memcpy(g->body[g->n], m->body, m->body_len);
  g->len[g->n] = m->body_len;
  g->n++;
  return g->stop_after != 0 && g->n == g->stop_after ? 42 : 0;
}

static void got_free(struct got *g)
{
  for (size_t i = 0; i < g->n; i++)
    free(g->body[i]);
  g->n = 0;
}

static void expect_state(struct fix_store *st, uint64_t out, uint64_t in, int32_t day)
{
  uint64_t o = 0, i = 0;
  int32_t d = 0;
  assert_int_equal(fix_store_state(st, &o, &i, &d), 0);
  assert_int_equal(o, out);
  assert_int_equal(i, in);
  assert_int_equal(d, day);
}

static void expect_sql(struct db_conn *conn, const char *sql, const char *want)
{
  char *v = ts_sql_value(conn, sql);
  assert_string_equal(v, want);
  free(v);
}

/* Body bytes that must survive exactly: NUL, SOH, 0xff, quotes, braces. */
static const char odd_body[] = "58=a\"b\\c{d,e}\001\000\377x\001";

static void test_open_and_batch(void **state)
{
  (void)state;
  struct fix_store *st;
  assert_int_equal(fix_store_open(c, "BACKSTOCK->BROKER", &st), 0);
  expect_state(st, 1, 1, INT32_MIN);
  expect_sql(c,
             "SELECT next_out || '/' || next_in || '/' || (session_day IS NULL)"
             " FROM fix_sessions WHERE session_id = 'BACKSTOCK->BROKER'",
             "1/1/true");

  static struct tbatch b;
  b.n = b.used = 0;
  add(&b, 1, "D", true, 1773003600123LL, "11=BS1\00155=AAPL\001", 15);
  add(&b, 2, "0", false, 1773003600124LL, "", 0); /* Heartbeat: not stored */
  add(&b, 3, "AE", true, -5, odd_body, sizeof odd_body - 1);
  assert_int_equal(fix_store_persist(st, b.out, b.n, b.buf, 4, 7, NULL), 0);
  expect_state(st, 4, 7, INT32_MIN);
  expect_sql(c,
             "SELECT string_agg(seq || ':' || msg_type || ':' || sending_ms || ':' ||"
             " encode(body, 'hex'), ',' ORDER BY seq) FROM fix_messages",
             "1:D:1773003600123:31313d4253310135353d4141504c01,"
             "3:AE:-5:35383d6122625c637b642c657d0100ff7801");
  const struct fix_store_stats *stats = fix_store_stats_get(st);
  assert_int_equal(stats->batches, 1);
  assert_int_equal(stats->frames, 2);

  /* Read back: exactly the stored ones, in order, byte for byte. */
  struct fix_store_reader rd = fix_store_reader(st);
  static struct got g;
  assert_int_equal(rd.load(rd.ctx, 1, 3, collect, &g), 0);
  assert_int_equal(g.n, 2);
  assert_int_equal(g.seq[0], 1);
  assert_string_equal(g.type[0], "D");
  assert_int_equal(g.sending[0], 1773003600123LL);
  assert_int_equal(g.len[0], 15);
  assert_memory_equal(g.body[0], "11=BS1\00155=AAPL\001", 15);
  assert_int_equal(g.seq[1], 3);
  assert_string_equal(g.type[1], "AE");
  assert_int_equal(g.sending[1], -5);
  assert_int_equal(g.len[1], sizeof odd_body - 1);
  assert_memory_equal(g.body[1], odd_body, sizeof odd_body - 1);
  got_free(&g);
  /* A range holding only the unstored frame, and an open-ended one. */
  assert_int_equal(rd.load(rd.ctx, 2, 2, collect, &g), 0);
  assert_int_equal(g.n, 0);
  assert_int_equal(rd.load(rd.ctx, 2, UINT64_MAX, collect, &g), 0);
  assert_int_equal(g.n, 1);
  assert_int_equal(g.seq[0], 3);
  got_free(&g);
  /* The callback's nonzero stops the walk and is handed back. */
  g.stop_after = 1;
  assert_int_equal(rd.load(rd.ctx, 1, 3, collect, &g), 42);
  assert_int_equal(g.n, 1);
  g.stop_after = 0;
  got_free(&g);
  assert_int_equal(stats->loads, 4);

  /* No frames at all, and only unstored frames: just the numbers. */
  assert_int_equal(fix_store_persist(st, NULL, 0, NULL, 4, 8, NULL), 0);
  expect_state(st, 4, 8, INT32_MIN);
  b.n = b.used = 0;
  add(&b, 4, "0", false, 1, "", 0);
  add(&b, 5, "1", false, 2, "112=T\001", 6);
  assert_int_equal(fix_store_persist(st, b.out, b.n, b.buf, 6, 9, NULL), 0);
  expect_state(st, 6, 9, INT32_MIN);
  expect_sql(c, "SELECT count(*) FROM fix_messages", "2");
  assert_int_equal(stats->batches, 3);
  assert_int_equal(stats->frames, 2);

  /* Closed and reopened on the same connection: same row, still writable. */
  fix_store_close(st);
  assert_int_equal(fix_store_open(c, "BACKSTOCK->BROKER", &st), 0);
  expect_state(st, 6, 9, INT32_MIN);
  b.n = b.used = 0;
  add(&b, 6, "F", true, 3, "41=BS1\001", 7);
  assert_int_equal(fix_store_persist(st, b.out, b.n, b.buf, 7, 9, NULL), 0);
  expect_sql(c, "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM fix_messages", "1,3,6");
  expect_sql(c, "SELECT count(*) FROM fix_sessions", "1");
  fix_store_close(st);
}

static void test_reset(void **state)
{
  (void)state;
  struct fix_store *st;
  assert_int_equal(fix_store_open(c, "RESET->X", &st), 0);
  static struct tbatch b;
  b.n = b.used = 0;
  add(&b, 1, "D", true, 10, "55=IBM\001", 7);
  add(&b, 2, "D", true, 11, "55=MSFT\001", 8);
  assert_int_equal(fix_store_persist(st, b.out, b.n, b.buf, 3, 5, NULL), 0);
  expect_sql(c, "SELECT count(*) FROM fix_messages WHERE session_id = 'RESET->X'", "2");
  int32_t day;
  assert_int_equal(cal_day(2026, 3, 9, &day), 0);
  assert_int_equal(fix_store_reset(st, day), 0);
  expect_state(st, 1, 1, day);
  expect_state(st, 1, 1, 20521);
  expect_sql(c, "SELECT count(*) FROM fix_messages WHERE session_id = 'RESET->X'", "0");
  expect_sql(c, "SELECT session_day::text FROM fix_sessions WHERE session_id = 'RESET->X'",
             "2026-03-09");
  /* The numbers restart at 1 and the same numbers store again. */
  b.n = b.used = 0;
  add(&b, 1, "D", true, 12, "55=T\001", 5);
  assert_int_equal(fix_store_persist(st, b.out, b.n, b.buf, 2, 1, NULL), 0);
  expect_sql(c,
             "SELECT string_agg(seq || ':' || sending_ms, ',') FROM fix_messages"
             " WHERE session_id = 'RESET->X'",
             "1:12");
  expect_state(st, 2, 1, 20521);
  /* No day: NULL again. */
  assert_int_equal(fix_store_reset(st, INT32_MIN), 0);
  expect_state(st, 1, 1, INT32_MIN);
  fix_store_close(st);
}

static void test_lock(void **state)
{
  (void)state;
  struct db_conn *c2 = ts_db_connect(&db, 3);
  struct fix_store *a, *b, *other;
  assert_int_equal(fix_store_open(c, "LOCK->X", &a), 0);
  assert_int_equal(fix_store_open(c2, "LOCK->X", &b), 0);
  assert_int_equal(fix_store_lock(a), 0);
  assert_int_equal(fix_store_lock(a), 0); /* already ours */
  assert_int_equal(fix_store_lock(b), -ERR_FIX_SESSION_BUSY);
  assert_int_equal(fix_store_lock(b), -ERR_FIX_SESSION_BUSY);
  /* Another session's lock is independent. */
  assert_int_equal(fix_store_open(c2, "LOCK->Y", &other), 0);
  assert_int_equal(fix_store_lock(other), 0);
  fix_store_close(other);
  fix_store_unlock(a);
  assert_int_equal(fix_store_lock(b), 0);
  assert_int_equal(fix_store_lock(a), -ERR_FIX_SESSION_BUSY);
  /* Closing releases it. */
  fix_store_close(b);
  assert_int_equal(fix_store_lock(a), 0);
  expect_sql(c2,
             "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
             " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
             "1");
  fix_store_close(a);
  expect_sql(c2,
             "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
             " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
             "0");
  db_close(c2);
}

/* The lock is re-taken after the connection was lost, unless another process took it. */
static void test_lock_after_lost_connection(void **state)
{
  (void)state;
  struct db_conn *c1 = ts_db_connect(&db, 3), *c2 = ts_db_connect(&db, 3);
  struct fix_store *a, *b;
  assert_int_equal(fix_store_open(c1, "LOST->X", &a), 0);
  assert_int_equal(fix_store_open(c2, "LOST->X", &b), 0);
  assert_int_equal(fix_store_lock(a), 0);
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(c1->pg));
  ts_sql(c2, sql);
  for (int i = 0; i < 100 && fix_store_lock(b) != 0; i++)
    util_sleep_ms(20); /* the server ends the backend asynchronously */
  fix_store_unlock(b);
  /* a's write reconnects, takes the lock again and succeeds. */
  assert_int_equal(fix_store_persist(a, NULL, 0, NULL, 2, 2, NULL), 0);
  assert_true(c1->stats.reconnects >= 1);
  assert_int_equal(fix_store_lock(b), -ERR_FIX_SESSION_BUSY);
  /* Lost again, and this time b holds the lock first: a's write fails. */
  snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(c1->pg));
  ts_sql(c2, sql);
  int rc = -1;
  for (int i = 0; i < 100 && (rc = fix_store_lock(b)) != 0; i++)
    util_sleep_ms(20);
  assert_int_equal(rc, 0);
  assert_int_equal(fix_store_persist(a, NULL, 0, NULL, 3, 3, NULL), -ERR_FIX_SESSION_BUSY);
  expect_state(b, 2, 2, INT32_MIN);
  fix_store_close(a);
  fix_store_close(b);
  db_close(c1);
  db_close(c2);
}

/* The application hook: records what it sees inside the transaction. */
struct hook {
  enum db_qs result; /* what to return */
  int soft_first;    /* return DB_QS_SOFT this many times first */
  int calls;
  size_t n_seen;
};

static enum db_qs on_persist(void *ctx, struct db_conn *conn, const struct fix_out *batch, size_t n,
                             const char *outbuf)
{
  struct hook *h = ctx;
  (void)batch;
  (void)outbuf;
  h->calls++;
  h->n_seen = n;
  /* What the batch wrote is visible here: same transaction. */
  if (db_exec_sql(conn, "INSERT INTO hook_log SELECT count(*), max(next_out)"
                        " FROM fix_messages JOIN fix_sessions USING (session_id)"
                        " WHERE session_id = 'HOOK->X'") < 0)
    return DB_QS_HARD;
  if (h->soft_first > 0) {
    h->soft_first--;
    return DB_QS_SOFT;
  }
  return h->result;
}

static void test_hook(void **state)
{
  (void)state;
  ts_sql(c, "CREATE TABLE hook_log (messages bigint, next_out bigint)");
  struct fix_store *st;
  assert_int_equal(fix_store_open(c, "HOOK->X", &st), 0);
  struct hook h = {.result = DB_QS_NONE};
  struct fix_app app = {.ctx = &h, .on_persist = on_persist};
  static struct tbatch b;
  b.n = b.used = 0;
  add(&b, 1, "D", true, 1, "55=A\001", 5);
  add(&b, 2, "D", true, 2, "55=B\001", 5);
  assert_int_equal(fix_store_persist(st, b.out, b.n, b.buf, 3, 1, &app), 0);
  assert_int_equal(h.calls, 1);
  assert_int_equal(h.n_seen, 2);
  expect_sql(c, "SELECT string_agg(messages || '/' || next_out, ',') FROM hook_log", "2/3");

  /* A failing hook: neither the messages nor the numbers change. */
  h = (struct hook){.result = DB_QS_HARD};
  b.n = b.used = 0;
  add(&b, 3, "D", true, 3, "55=C\001", 5);
  add(&b, 4, "F", true, 4, "41=C\001", 5);
  assert_int_equal(fix_store_persist(st, b.out, b.n, b.buf, 5, 2, &app), -ERR_DB_HARD);
  assert_int_equal(h.calls, 1);
  expect_state(st, 3, 1, INT32_MIN);
  expect_sql(c,
             "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM fix_messages"
             " WHERE session_id = 'HOOK->X'",
             "1,2");
  expect_sql(c, "SELECT count(*) FROM hook_log", "1");
  assert_int_equal(fix_store_stats_get(st)->batches, 1);

  /* A conflicting hook: the whole batch runs again, and lands once. */
  unsigned long retries = c->stats.txn_retries;
  h = (struct hook){.result = DB_QS_NONE, .soft_first = 1};
  assert_int_equal(fix_store_persist(st, b.out, b.n, b.buf, 5, 2, &app), 0);
  assert_int_equal(h.calls, 2);
  assert_int_equal(c->stats.txn_retries, retries + 1);
  expect_state(st, 5, 2, INT32_MIN);
  expect_sql(c,
             "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM fix_messages"
             " WHERE session_id = 'HOOK->X'",
             "1,2,3,4");
  expect_sql(c,
             "SELECT string_agg(messages || '/' || next_out, ',' ORDER BY messages) FROM hook_log",
             "2/3,4/5");
  fix_store_close(st);
}

static void test_big_batch_and_restart(void **state)
{
  (void)state;
  struct db_conn *c1 = ts_db_connect(&db, 3);
  struct fix_store *st;
  assert_int_equal(fix_store_open(c1, "BIG->X", &st), 0);
  assert_int_equal(fix_store_lock(st), 0);
  static struct tbatch b;
  b.n = b.used = 0;
  size_t total = 0;
  for (unsigned i = 0; i < 1000; i++) {
    char body[96];
    int len = snprintf(body, sizeof body, "11=BS%u\00158=", i + 1);
    for (unsigned k = 0; k < i % 50; k++)
      body[len++] = (char)('a' + (i + k) % 26);
    body[len++] = '\001';
    add(&b, i + 1, i % 2 ? "D" : "F", true, 1700000000000LL + i, body, (size_t)len);
    total += (size_t)len;
  }
  assert_int_equal(fix_store_persist(st, b.out, b.n, b.buf, 1001, 17, NULL), 0);
  const struct fix_store_stats *stats = fix_store_stats_get(st);
  assert_int_equal(stats->batches, 1);
  assert_int_equal(stats->frames, 1000);
  char want[32];
  snprintf(want, sizeof want, "1000/%zu", total);
  expect_sql(c1,
             "SELECT count(*) || '/' || sum(length(body)) FROM fix_messages"
             " WHERE session_id = 'BIG->X'",
             want);
  int32_t day;
  assert_int_equal(cal_day(2026, 11, 2, &day), 0);
  fix_store_close(st);
  db_close(c1); /* the process "stops" */

  /* A new connection sees the same state and the same bytes. */
  c1 = ts_db_connect(&db, 3);
  assert_int_equal(fix_store_open(c1, "BIG->X", &st), 0);
  assert_int_equal(fix_store_lock(st), 0); /* released with the old connection */
  expect_state(st, 1001, 17, INT32_MIN);
  struct fix_store_reader rd = fix_store_reader(st);
  static struct got g;
  /* Two chunks of rows; then a range starting inside the first. */
  assert_int_equal(rd.load(rd.ctx, 1, 1000, collect, &g), 0);
  assert_int_equal(g.n, 1000);
  for (size_t i = 0; i < 1000; i++) {
    const struct fix_out *f = &b.out[i];
    assert_int_equal(g.seq[i], i + 1);
    assert_string_equal(g.type[i], f->msg_type);
    assert_int_equal(g.sending[i], f->sending_ms);
    assert_int_equal(g.len[i], f->body_len);
    assert_memory_equal(g.body[i], b.buf + f->body_off, f->body_len);
  }
  got_free(&g);
  assert_int_equal(rd.load(rd.ctx, 499, 1002, collect, &g), 0);
  assert_int_equal(g.n, 502);
  assert_int_equal(g.seq[0], 499);
  assert_int_equal(g.seq[501], 1000);
  got_free(&g);
  stats = fix_store_stats_get(st);
  assert_int_equal(stats->loads, 2);
  assert_int_equal(stats->batches, 0);
  assert_int_equal(fix_store_reset(st, day), 0);
  fix_store_close(st);
  db_close(c1);
  c1 = ts_db_connect(&db, 3);
  assert_int_equal(fix_store_open(c1, "BIG->X", &st), 0);
  expect_state(st, 1, 1, day);
  fix_store_close(st);
  db_close(c1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_and_batch), cmocka_unit_test(test_reset),
      cmocka_unit_test(test_lock),           cmocka_unit_test(test_lock_after_lost_connection),
      cmocka_unit_test(test_hook),           cmocka_unit_test(test_big_batch_and_restart),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
