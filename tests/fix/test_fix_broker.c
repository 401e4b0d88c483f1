/*
 * Tests of fix/fix_broker.c on a fresh, migrated database per test: the
 * order API (place is idempotent and refuses other terms under the same
 * id, NOTIFY on a new order only, the cancel rules, the executions
 * cursor) and the connector application driven directly through its
 * callbacks.  A real fix_session (logged on by feeding it the broker's
 * Logon) takes what the application sends; its outbox is checked and
 * handed to the persist hook inside a transaction, as the store does.
 * ExecutionReports are written with fix_writer, parsed with fix_parse,
 * validated (so unknown tags are listed as the engine lists them) and
 * given to on_message: partial fill then fill, reject, cancel, expiry,
 * trade cancel (H) and correct (G), a duplicate ExecID, an unknown tag,
 * an unknown ClOrdID (DontKnowTrade and an alert), OrderCancelReject,
 * OrderStatusRequests at logon, the rate limit, and a crash before the
 * store commits (the order goes out again, same ClOrdID).  Longer than
 * most files: the scenarios share one fixture and its message helpers.
 */
#include <stdlib.h>
#include <string.h>

#include "fix/fix.h"
#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

struct fx {
  struct ts_db db;
  struct db_conn *c;
  struct fix_broker *b;
  struct fix_app app;
  struct fix_session *s;
  uint64_t in_seq; /* next MsgSeqNum from the broker */
  char raw[4096];  /* the last message delivered */
  size_t raw_len;
};

/* ------------------------------------------------------------------ */
/* Fixture                                                             */
/* ------------------------------------------------------------------ */

/* Feed the broker's Logon to the session: ACTIVE, on_logon runs. */
static void logon(struct fx *f)
{
  char buf[512];
  const char *msg;
  size_t len;
  struct fix_writer w;
  /* The number the session expects: no gap, no ResendRequest. */
  f->in_seq = fix_session_next_in(f->s);
  fix_writer_begin(&w, buf, sizeof buf, "A");
  fix_writer_u64(&w, 34, f->in_seq++);
  fix_writer_cstr(&w, 49, "BROKER");
  fix_writer_time(&w, 52, util_now_ms());
  fix_writer_cstr(&w, 56, "BACKSTOCK");
  fix_writer_char(&w, 98, '0');
  fix_writer_u64(&w, 108, 30);
  assert_int_equal(fix_writer_finish(&w, &msg, &len), 0);
  struct fix_msg *m = malloc(sizeof *m);
  assert_non_null(m);
  assert_int_equal(fix_parse(msg, len, m, NULL), 0);
  fix_session_connected(f->s, util_now_ms());
  fix_session_on_msg(f->s, m, util_now_ms());
  free(m);
  assert_int_equal(fix_session_state(f->s), FIX_ST_ACTIVE);
}

static void open_session(struct fx *f, uint32_t rate)
{
  struct fix_session_cfg cfg;
  fix_session_cfg_init(&cfg, FIX_INITIATOR, "BACKSTOCK", "BROKER");
  cfg.rate_per_s = rate;
  assert_int_equal(fix_session_create(&cfg, &f->app, NULL, &f->s), 0);
  fix_session_set_seqs(f->s, 1, 1);
  logon(f);
  fix_session_stored(f->s);
  fix_session_sent(f->s, util_now_ms()); /* our Logon went out */
}

static struct fx *fx_new(uint32_t rate)
{
  char msg[256];
  struct fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  ts_db_create("fixbroker", &f->db);
  f->c = ts_db_connect(&f->db, 5);
  if (db_migrate(f->c, migrations_all, migrations_count, NULL, msg, sizeof msg) != 0)
    fail_msg("migrate: %s", msg);
  assert_int_equal(fix_broker_create(f->c, "RESERVE", &f->b), 0);
  f->app = fix_broker_app(f->b);
  open_session(f, rate);
  return f;
}

static int setup(void **state)
{
  *state = fx_new(0);
  return 0;
}

static int setup_rate(void **state)
{
  *state = fx_new(2);
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  fix_session_free(f->s);
  fix_broker_free(f->b);
  db_close(f->c);
  ts_db_drop(&f->db);
  free(f);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static struct money amt(const char *s)
{
  struct money m;
  assert_int_equal(money_parse(s, strlen(s), 6, 0, &m), 0);
  return m;
}

static void assert_money(struct money m, const char *want)
{
  char buf[MONEY_STR_MAX];
  assert_true(money_format(m, buf, sizeof buf) > 0);
  assert_string_equal(buf, want);
}

static int place(struct fx *f, uint64_t id, const char *symbol, const char *qty, const char *limit,
                 const char *note)
{
  struct fix_broker_order_req r = {
      .id = id,
      .symbol = symbol,
      .side = FIX_BROKER_BUY,
      .qty = amt(qty),
      .type = limit != NULL ? FIX_BROKER_LIMIT : FIX_BROKER_MARKET,
      .tif = FIX_BROKER_DAY,
      .note = note,
  };
  if (limit != NULL)
    r.price = amt(limit);
  return fix_broker_place(f->c, &r);
}

/* The first column of the first row of @sql, compared with @want. */
static void assert_sql(struct fx *f, const char *sql, const char *want)
{
  char *v = ts_sql_value(f->c, sql);
  if (strcmp(v, want) != 0) {
    char got[512];
    snprintf(got, sizeof got, "%s", v);
    free(v);
    fail_msg("%s\n  got  \"%s\"\n  want \"%s\"", sql, got, want);
  }
  free(v);
}

static struct fix_broker_order get(struct fx *f, uint64_t id)
{
  struct fix_broker_order o;
  assert_int_equal(fix_broker_get(f->c, id, &o), 0);
  return o;
}

struct persist_args {
  struct fx *f;
  const struct fix_out *out;
  size_t n;
  const char *buf;
  bool fail; /* roll back after the hook: a crash before the commit */
};

static enum db_qs persist_body(struct db_conn *c, void *cls)
{
  struct persist_args *a = cls;
  enum db_qs qs = a->f->app.on_persist(a->f->app.ctx, c, a->out, a->n, a->buf);
  if (qs < 0)
    return qs;
  return a->fail ? DB_QS_HARD : DB_QS_NONE;
}

/* What the store does with the outbox: the hook in a transaction, then "sent". */
static size_t persist(struct fx *f, bool fail)
{
  struct persist_args a = {.f = f, .fail = fail};
  a.out = fix_session_outbox(f->s, &a.n, &a.buf);
  int rc = db_txn(f->c, "test_persist", persist_body, &a);
  assert_int_equal(rc, fail ? -ERR_DB_HARD : 0);
  fix_session_stored(f->s);
  fix_session_sent(f->s, util_now_ms());
  return a.n;
}

/* Frame @i of the outbox, parsed (free it). */
static struct fix_msg *out_msg(struct fx *f, size_t i, const char *type)
{
  size_t n;
  const char *buf;
  const struct fix_out *o = fix_session_outbox(f->s, &n, &buf);
  assert_true(i < n);
  assert_string_equal(o[i].msg_type, type);
  struct fix_msg *m = malloc(sizeof *m);
  assert_non_null(m);
  assert_int_equal(fix_parse(buf + o[i].frame_off, o[i].frame_len, m, NULL), 0);
  assert_int_equal(fix_validate(m, NULL, NULL), 0);
  return m;
}

static void assert_field(const struct fix_msg *m, uint32_t tag, const char *want)
{
  char v[128];
  if (want == NULL) {
    assert_null(fix_msg_find(m, tag));
    return;
  }
  if (fix_msg_copy(m, tag, v, sizeof v) != 0)
    fail_msg("tag %u missing", tag);
  if (strcmp(v, want) != 0)
    fail_msg("tag %u: got \"%s\", want \"%s\"", tag, v, want);
}

static size_t outbox_n(struct fx *f)
{
  size_t n;
  const char *buf;
  fix_session_outbox(f->s, &n, &buf);
  return n;
}

/*
 * Deliver an application message from the broker to on_message: header
 * written here, @fields as "tag=value|..." ('|' becomes SOH).  Returns
 * on_message's result.
 */
static int deliver(struct fx *f, const char *type, const char *fields)
{
  char body[2048], buf[4096];
  size_t n = strlen(fields);
  const char *msg;
  size_t len;
  struct fix_writer w;
  assert_true(n < sizeof body);
  for (size_t i = 0; i < n; i++)
    body[i] = fields[i] == '|' ? '\001' : fields[i];
  fix_writer_begin(&w, buf, sizeof buf, type);
  fix_writer_u64(&w, 34, f->in_seq++);
  fix_writer_cstr(&w, 49, "BROKER");
  fix_writer_time(&w, 52, util_now_ms());
  fix_writer_cstr(&w, 56, "BACKSTOCK");
  fix_writer_raw(&w, body, n);
  assert_int_equal(fix_writer_finish(&w, &msg, &len), 0);
  memcpy(f->raw, msg, len);
  f->raw_len = len;
  struct fix_msg *m = malloc(sizeof *m);
  struct fix_reject rej;
  struct fix_valid_info info;
  assert_non_null(m);
  assert_int_equal(fix_parse(f->raw, len, m, NULL), 0);
  if (fix_validate(m, &rej, &info) != 0)
    fail_msg("test message invalid: 373=%d 371=%u %s", rej.reason, rej.ref_tag, rej.text);
  int rc = f->app.on_message(f->app.ctx, f->s, m, &info);
  free(m);
  return rc;
}

/* Place order @id (market buy of @qty AAPL), send it and persist: state sent. */
static void place_sent(struct fx *f, uint64_t id, const char *qty)
{
  assert_int_equal(place(f, id, "AAPL", qty, NULL, NULL), 0);
  f->app.on_work(f->app.ctx, f->s, util_now_ms());
  assert_int_equal(persist(f, false), 1);
  assert_int_equal(get(f, id).state, FIX_BROKER_SENT);
}

/* ------------------------------------------------------------------ */
/* The order API                                                       */
/* ------------------------------------------------------------------ */

static bool notified(PGconn *l, const char *payload)
{
  int64_t end = util_mono_ms() + 2000;
  while (util_mono_ms() < end) {
    PQconsumeInput(l);
    PGnotify *nt = PQnotifies(l);
    if (nt != NULL) {
      bool same = strcmp(nt->relname, FIX_BROKER_CHANNEL) == 0 && strcmp(nt->extra, payload) == 0;
      PQfreemem(nt);
      return same;
    }
    util_sleep_ms(20);
  }
  return false;
}

static void test_place_idempotent(void **state)
{
  struct fx *f = *state;
  char url[1200];
  ts_db_conninfo(&f->db, url, sizeof url);
  PGconn *l = PQconnectdb(url);
  assert_int_equal(PQstatus(l), CONNECTION_OK);
  PQclear(PQexec(l, "LISTEN " FIX_BROKER_CHANNEL));

  struct fix_broker_order_req r = {
      .id = 42,
      .symbol = "AAPL",
      .isin = "US0378331005",
      .side = FIX_BROKER_SELL,
      .qty = amt("12.5"),
      .type = FIX_BROKER_LIMIT,
      .price = amt("189.25"),
      .tif = FIX_BROKER_IOC,
      .note = "reserve top-up",
  };
  assert_int_equal(fix_broker_place(f->c, &r), 0);
  assert_true(notified(l, "42"));
  struct fix_broker_order o = get(f, 42);
  assert_string_equal(o.cl_ord_id, "BS42");
  assert_string_equal(o.symbol, "AAPL");
  assert_string_equal(o.isin, "US0378331005");
  assert_int_equal(o.side, FIX_BROKER_SELL);
  assert_int_equal(o.type, FIX_BROKER_LIMIT);
  assert_int_equal(o.tif, FIX_BROKER_IOC);
  assert_money(o.qty, "12.500000");
  assert_money(o.price, "189.250000");
  assert_money(o.leaves_qty, "12.500000");
  assert_money(o.cum_qty, "0.000000");
  assert_int_equal(o.state, FIX_BROKER_PENDING_NEW);
  assert_int_equal(o.cancel, FIX_BROKER_CANCEL_NONE);
  assert_int_equal(o.sent_seq, 0);

  /* The same terms again (quantity at another scale): nothing changes, no NOTIFY. */
  r.qty = amt("12.500");
  assert_int_equal(fix_broker_place(f->c, &r), 0);
  assert_false(notified(l, "42"));
  assert_sql(f, "SELECT count(*) FROM broker_orders", "1");
  assert_sql(f, "SELECT count(*) FROM broker_order_events WHERE kind = 'placed'", "1");

  /* Other terms under the same id. */
  struct fix_broker_order_req x = r;
  x.qty = amt("13");
  assert_int_equal(fix_broker_place(f->c, &x), -ERR_FIX_ORDER_CONFLICT);
  x = r;
  x.note = NULL;
  assert_int_equal(fix_broker_place(f->c, &x), -ERR_FIX_ORDER_CONFLICT);
  x = r;
  x.isin = NULL;
  assert_int_equal(fix_broker_place(f->c, &x), -ERR_FIX_ORDER_CONFLICT);
  x = r;
  x.type = FIX_BROKER_MARKET;
  assert_int_equal(fix_broker_place(f->c, &x), -ERR_FIX_ORDER_CONFLICT);
  x = r;
  x.side = FIX_BROKER_BUY;
  assert_int_equal(fix_broker_place(f->c, &x), -ERR_FIX_ORDER_CONFLICT);
  assert_money(get(f, 42).qty, "12.500000");

  /* Bad requests change nothing. */
  const char *bad_symbols[] = {"aapl", "", "-AAPL", "AAPL AAPL", "ABCDEFGHIJKLMNOPQ"};
  for (size_t i = 0; i < sizeof bad_symbols / sizeof bad_symbols[0]; i++) {
    x = r;
    x.id = 43;
    x.symbol = bad_symbols[i];
    assert_int_equal(fix_broker_place(f->c, &x), -ERR_INVALID_ARGUMENT);
  }
  x = r;
  x.id = 43;
  x.isin = "US0378331006"; /* wrong check digit */
  assert_int_equal(fix_broker_place(f->c, &x), -ERR_INVALID_ARGUMENT);
  x.isin = NULL;
  x.qty = amt("0");
  assert_int_equal(fix_broker_place(f->c, &x), -ERR_INVALID_ARGUMENT);
  assert_int_equal(money_parse("1.0000001", 9, 7, 0, &x.qty), 0);
  assert_int_equal(fix_broker_place(f->c, &x), -ERR_INVALID_ARGUMENT);
  x.qty = amt("1");
  x.price = amt("0");
  assert_int_equal(fix_broker_place(f->c, &x), -ERR_INVALID_ARGUMENT);
  x.price = amt("1");
  x.note = "tab\there";
  assert_int_equal(fix_broker_place(f->c, &x), -ERR_INVALID_ARGUMENT);
  x.note = NULL;
  x.id = 0;
  assert_int_equal(fix_broker_place(f->c, &x), -ERR_INVALID_ARGUMENT);
  x.id = (uint64_t)INT64_MAX + 1;
  assert_int_equal(fix_broker_place(f->c, &x), -ERR_INVALID_ARGUMENT);
  assert_sql(f, "SELECT count(*) FROM broker_orders", "1");
  assert_int_equal(fix_broker_get(f->c, 43, &o), -ERR_FIX_ORDER_UNKNOWN);
  PQfinish(l);
}

static void test_cancel_rules(void **state)
{
  struct fx *f = *state;
  assert_int_equal(fix_broker_cancel(f->c, 7), -ERR_FIX_ORDER_UNKNOWN);
  assert_int_equal(place(f, 7, "MSFT", "3", NULL, NULL), 0);
  assert_int_equal(fix_broker_cancel(f->c, 7), 0);
  assert_int_equal(get(f, 7).cancel, FIX_BROKER_CANCEL_PENDING);
  /* Asking again while pending: nothing changes. */
  assert_int_equal(fix_broker_cancel(f->c, 7), 0);
  assert_sql(f, "SELECT cancel_count FROM broker_orders WHERE id = 7", "1");
  assert_sql(f, "SELECT count(*) FROM broker_order_events WHERE kind = 'cancel_requested'", "1");

  static const char *const finals[] = {"filled", "canceled", "rejected", "expired"};
  for (size_t i = 0; i < 4; i++) {
    char sql[160];
    assert_int_equal(place(f, 10 + i, "MSFT", "3", NULL, NULL), 0);
    snprintf(sql, sizeof sql, "UPDATE broker_orders SET state = '%s', sent_seq = 1 WHERE id = %zu",
             finals[i], 10 + i);
    ts_sql(f->c, sql);
    assert_int_equal(fix_broker_cancel(f->c, 10 + i), -ERR_FIX_ORDER_FINAL);
    assert_int_equal(get(f, 10 + i).cancel, FIX_BROKER_CANCEL_NONE);
  }

  /* Canceled before it was sent: the connector cancels it without a message. */
  f->app.on_work(f->app.ctx, f->s, util_now_ms());
  assert_int_equal(outbox_n(f), 0);
  struct fix_broker_order o = get(f, 7);
  assert_int_equal(o.state, FIX_BROKER_CANCELED);
  assert_int_equal(o.cancel, FIX_BROKER_CANCEL_DONE);
  assert_money(o.leaves_qty, "0.000000");
  assert_int_equal(fix_broker_cancel(f->c, 7), -ERR_FIX_ORDER_FINAL);
  assert_sql(f, "SELECT count(*) FROM broker_order_events WHERE kind = 'canceled_unsent'", "1");
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */
/* ------------------------------------------------------------------ */

static void test_send_and_persist(void **state)
{
  struct fx *f = *state;
  assert_int_equal(place(f, 1, "AAPL", "10", NULL, NULL), 0);
  struct fix_broker_order_req r = {
      .id = 2,
      .symbol = "BRK.B",
      .isin = "US0846707026",
      .side = FIX_BROKER_SELL,
      .qty = amt("0.25"),
      .type = FIX_BROKER_LIMIT,
      .price = amt("410.5"),
      .tif = FIX_BROKER_IOC,
      .note = "sim:partial:2:50",
  };
  assert_int_equal(fix_broker_place(f->c, &r), 0);
  int64_t next = f->app.on_work(f->app.ctx, f->s, util_now_ms());
  assert_true(next > 0 && next <= 1000);
  assert_int_equal(outbox_n(f), 2);

  struct fix_msg *m = out_msg(f, 0, "D");
  assert_field(m, 11, "BS1");
  assert_field(m, 1, "RESERVE");
  assert_field(m, 21, "1");
  assert_field(m, 55, "AAPL");
  assert_field(m, 48, NULL);
  assert_field(m, 54, "1");
  assert_field(m, 38, "10");
  assert_field(m, 40, "1");
  assert_field(m, 44, NULL);
  assert_field(m, 59, "0");
  assert_field(m, 544, "1");
  assert_field(m, 58, NULL);
  assert_field(m, 34, "2");
  free(m);
  m = out_msg(f, 1, "D");
  assert_field(m, 11, "BS2");
  assert_field(m, 55, "BRK.B");
  assert_field(m, 48, "US0846707026");
  assert_field(m, 22, "4");
  assert_field(m, 54, "2");
  assert_field(m, 38, "0.25");
  assert_field(m, 40, "2");
  assert_field(m, 44, "410.5");
  assert_field(m, 59, "3");
  assert_field(m, 58, "sim:partial:2:50");
  free(m);
  size_t n;
  const char *buf;
  const struct fix_out *o = fix_session_outbox(f->s, &n, &buf);
  assert_int_equal(o[0].app_ref, 1);
  assert_int_equal(o[1].app_ref, 2);

  /* Not yet stored: still pending_new.  Stored: sent, with the numbers. */
  assert_int_equal(get(f, 1).state, FIX_BROKER_PENDING_NEW);
  assert_int_equal(persist(f, false), 2);
  assert_int_equal(get(f, 1).state, FIX_BROKER_SENT);
  assert_int_equal(get(f, 1).sent_seq, 2);
  assert_int_equal(get(f, 2).sent_seq, 3);
  assert_sql(f, "SELECT session_id FROM broker_orders WHERE id = 2", "BACKSTOCK->BROKER");
  assert_sql(f,
             "SELECT string_agg(kind || ':' || msg_seq_num, ',' ORDER BY id)"
             " FROM broker_order_events WHERE kind = 'sent'",
             "sent:2,sent:3");

  /* Nothing to send twice. */
  f->app.on_work(f->app.ctx, f->s, util_now_ms());
  assert_int_equal(outbox_n(f), 0);
  assert_int_equal(fix_broker_stats_get(f->b)->orders_sent, 2);
}

/* A crash after the frames were built but before the store committed. */
static void test_crash_before_commit(void **state)
{
  struct fx *f = *state;
  assert_int_equal(place(f, 5, "AAPL", "1", NULL, NULL), 0);
  f->app.on_work(f->app.ctx, f->s, util_now_ms());
  assert_int_equal(outbox_n(f), 1);
  assert_int_equal(persist(f, true), 1);
  assert_int_equal(get(f, 5).state, FIX_BROKER_PENDING_NEW);
  assert_sql(f, "SELECT count(*) FROM broker_order_events WHERE kind = 'sent'", "0");

  /* The restarted connector sends it as new, under the same ClOrdID. */
  fix_session_free(f->s);
  fix_broker_free(f->b);
  assert_int_equal(fix_broker_create(f->c, "RESERVE", &f->b), 0);
  f->app = fix_broker_app(f->b);
  open_session(f, 0);
  fix_session_sent(f->s, util_now_ms());
  f->app.on_work(f->app.ctx, f->s, util_now_ms());
  struct fix_msg *m = out_msg(f, 0, "D");
  assert_field(m, 11, "BS5");
  free(m);
  assert_int_equal(persist(f, false), 1);
  assert_int_equal(get(f, 5).state, FIX_BROKER_SENT);
}

static void test_rate_limit(void **state)
{
  struct fx *f = *state; /* 2 messages per second */
  for (uint64_t id = 1; id <= 5; id++)
    assert_int_equal(place(f, id, "AAPL", "1", NULL, NULL), 0);
  int64_t now = util_now_ms();
  int64_t next = f->app.on_work(f->app.ctx, f->s, now);
  assert_int_equal(outbox_n(f), 2);
  assert_true(next >= 1 && next <= 1000);
  assert_int_equal(persist(f, false), 2);
  f->app.on_work(f->app.ctx, f->s, now);
  assert_int_equal(outbox_n(f), 0);
  f->app.on_work(f->app.ctx, f->s, now + 1000);
  assert_int_equal(outbox_n(f), 2);
  persist(f, false);
  f->app.on_work(f->app.ctx, f->s, now + 2000);
  assert_int_equal(outbox_n(f), 1);
  persist(f, false);
  assert_sql(f, "SELECT string_agg(sent_seq::text, ',' ORDER BY id) FROM broker_orders",
             "2,3,4,5,6");
}

static void test_status_on_logon(void **state)
{
  struct fx *f = *state;
  place_sent(f, 1, "10");
  place_sent(f, 2, "10");
  place_sent(f, 3, "10");
  assert_int_equal(place(f, 4, "AAPL", "10", NULL, NULL), 0); /* never sent */
  assert_int_equal(deliver(f, "8", "37=O2|17=E2|150=0|39=0|55=AAPL|54=1|151=10|14=0|6=0|11=BS2|"),
                   0);
  assert_int_equal(
      deliver(f, "8", "37=O3|17=E3|150=F|39=2|55=AAPL|54=1|151=0|14=10|6=5|11=BS3|32=10|31=5|"), 0);
  fix_session_disconnected(f->s, "test");
  logon(f);
  /* Orders 1 (sent) and 2 (new): asked; 3 is filled, 4 was never sent. */
  assert_int_equal(outbox_n(f), 3); /* our Logon, then two OrderStatusRequests */
  struct fix_msg *m = out_msg(f, 1, "H");
  assert_field(m, 11, "BS1");
  assert_field(m, 37, NULL);
  assert_field(m, 55, "AAPL");
  assert_field(m, 54, "1");
  free(m);
  m = out_msg(f, 2, "H");
  assert_field(m, 11, "BS2");
  assert_field(m, 37, "O2");
  free(m);
  persist(f, false);
  assert_sql(f,
             "SELECT string_agg(order_id::text, ',' ORDER BY id) FROM broker_order_events"
             " WHERE kind = 'status_requested'",
             "1,2");
  /* A status answer sets the totals, adds no execution. */
  assert_int_equal(deliver(f, "8", "37=O1|17=I1|150=I|39=1|55=AAPL|54=1|151=6|14=4|6=7.5|11=BS1|"),
                   0);
  struct fix_broker_order o = get(f, 1);
  assert_int_equal(o.state, FIX_BROKER_PARTIALLY_FILLED);
  assert_money(o.cum_qty, "4.000000");
  assert_money(o.avg_px, "7.50000000");
  assert_sql(f, "SELECT count(*) FROM broker_executions WHERE order_id = 1", "0");
}

/* ------------------------------------------------------------------ */
/* ExecutionReports                                                    */
/* ------------------------------------------------------------------ */

struct seen {
  size_t n;
  struct fix_broker_exec e[8];
  char raw[8][4096];
};

static int collect(void *cls, const struct fix_broker_exec *e)
{
  struct seen *s = cls;
  assert_true(s->n < 8 && e->raw_len < sizeof s->raw[0]);
  s->e[s->n] = *e;
  memcpy(s->raw[s->n], e->raw, e->raw_len);
  s->e[s->n].raw = s->raw[s->n];
  s->n++;
  return 0;
}

static void test_partial_then_fill(void **state)
{
  struct fx *f = *state;
  place_sent(f, 1, "10");
  assert_int_equal(deliver(f, "8", "37=O1|17=E0|150=0|39=0|55=AAPL|54=1|151=10|14=0|6=0|11=BS1|"),
                   0);
  struct fix_broker_order o = get(f, 1);
  assert_int_equal(o.state, FIX_BROKER_NEW);
  assert_string_equal(o.broker_order_id, "O1");

  assert_int_equal(deliver(f, "8",
                           "37=O1|17=E1|150=F|39=1|55=AAPL|54=1|151=6|14=4|6=189.5|11=BS1|32=4|"
                           "31=189.5|75=20260105|64=20260106|"),
                   0);
  char first[4096];
  size_t first_len = f->raw_len;
  memcpy(first, f->raw, first_len);
  o = get(f, 1);
  assert_int_equal(o.state, FIX_BROKER_PARTIALLY_FILLED);
  assert_money(o.cum_qty, "4.000000");
  assert_money(o.leaves_qty, "6.000000");
  assert_money(o.avg_px, "189.50000000");

  assert_int_equal(deliver(f, "8",
                           "37=O1|17=E2|150=F|39=2|55=AAPL|54=1|151=0|14=10|6=189.8|11=BS1|32=6|"
                           "31=190|"),
                   0);
  o = get(f, 1);
  assert_int_equal(o.state, FIX_BROKER_FILLED);
  assert_money(o.cum_qty, "10.000000");
  assert_money(o.leaves_qty, "0.000000");
  assert_money(o.avg_px, "189.80000000");

  /* The executions, by cursor. */
  struct seen s = {0};
  assert_int_equal(fix_broker_executions(f->c, 0, 0, 100, collect, &s), 2);
  assert_string_equal(s.e[0].exec_id, "E1");
  assert_int_equal(s.e[0].exec_type, 'F');
  assert_int_equal(s.e[0].ord_status, '1');
  assert_int_equal(s.e[0].order_id, 1);
  assert_money(s.e[0].last_qty, "4.000000");
  assert_money(s.e[0].last_px, "189.50000000");
  int32_t td, sd;
  assert_int_equal(cal_day(2026, 1, 5, &td), 0);
  assert_int_equal(cal_day(2026, 1, 6, &sd), 0);
  assert_int_equal(s.e[0].trade_day, td);
  assert_int_equal(s.e[0].settl_day, sd);
  assert_int_equal(s.e[0].raw_len, first_len);
  assert_memory_equal(s.e[0].raw, first, first_len);
  assert_string_equal(s.e[1].exec_id, "E2");
  assert_money(s.e[1].last_qty, "6.000000");
  assert_money(s.e[1].last_px, "190.00000000");
  assert_money(s.e[1].cum_qty, "10.000000");
  assert_int_equal(s.e[1].trade_day, INT32_MIN);
  assert_true(s.e[1].cursor > s.e[0].cursor);

  /* Resume after the first; a limit; another order's filter. */
  struct seen t = {0};
  assert_int_equal(fix_broker_executions(f->c, s.e[0].cursor, 0, 100, collect, &t), 1);
  assert_string_equal(t.e[0].exec_id, "E2");
  struct seen u = {0};
  assert_int_equal(fix_broker_executions(f->c, 0, 0, 1, collect, &u), 1);
  assert_string_equal(u.e[0].exec_id, "E1");
  struct seen v = {0};
  assert_int_equal(fix_broker_executions(f->c, 0, 2, 100, collect, &v), 0);
  assert_int_equal(fix_broker_executions(f->c, s.e[1].cursor, 0, 100, collect, &v), 0);
  assert_int_equal(fix_broker_stats_get(f->b)->fills, 2);
}

static void test_reject_cancel_expire(void **state)
{
  struct fx *f = *state;
  place_sent(f, 1, "10");
  place_sent(f, 2, "10");
  place_sent(f, 3, "10");
  assert_int_equal(deliver(f, "8",
                           "37=NONE|17=R1|150=8|39=8|55=AAPL|54=1|151=0|14=0|6=0|11=BS1|103=1|"
                           "58=Unknown symbol|"),
                   0);
  struct fix_broker_order o = get(f, 1);
  assert_int_equal(o.state, FIX_BROKER_REJECTED);
  assert_string_equal(o.last_text, "103=1 Unknown symbol");
  assert_string_equal(o.broker_order_id, "");
  assert_money(o.leaves_qty, "0.000000");

  /* An unsolicited cancel. */
  assert_int_equal(deliver(f, "8", "37=O2|17=C1|150=4|39=4|55=AAPL|54=1|151=0|14=0|6=0|11=BS2|"),
                   0);
  assert_int_equal(get(f, 2).state, FIX_BROKER_CANCELED);
  assert_int_equal(get(f, 2).cancel, FIX_BROKER_CANCEL_NONE);

  assert_int_equal(deliver(f, "8", "37=O3|17=X1|150=C|39=C|55=AAPL|54=1|151=0|14=0|6=0|11=BS3|"),
                   0);
  assert_int_equal(get(f, 3).state, FIX_BROKER_EXPIRED);
  assert_sql(f, "SELECT count(*) FROM broker_executions", "0");
  assert_sql(f, "SELECT count(*) FROM broker_order_events WHERE kind = 'report'", "3");
  for (uint64_t id = 1; id <= 3; id++)
    assert_int_equal(fix_broker_cancel(f->c, id), -ERR_FIX_ORDER_FINAL);
}

static void test_cancel_request(void **state)
{
  struct fx *f = *state;
  place_sent(f, 1, "10");
  place_sent(f, 2, "10");
  for (int i = 1; i <= 2; i++) {
    char fields[160];
    snprintf(fields, sizeof fields,
             "37=O%d|17=A%d|150=0|39=0|55=AAPL|54=1|151=10|14=0|6=0|11=BS%d|", i, i, i);
    assert_int_equal(deliver(f, "8", fields), 0);
  }
  assert_int_equal(fix_broker_cancel(f->c, 1), 0);
  assert_int_equal(fix_broker_cancel(f->c, 2), 0);
  f->app.on_work(f->app.ctx, f->s, util_now_ms());
  assert_int_equal(outbox_n(f), 2);
  struct fix_msg *m = out_msg(f, 0, "F");
  assert_field(m, 41, "BS1");
  assert_field(m, 11, "BS1C1");
  assert_field(m, 37, "O1");
  assert_field(m, 55, "AAPL");
  assert_field(m, 54, "1");
  assert_field(m, 38, "10");
  free(m);
  persist(f, false);
  assert_int_equal(get(f, 1).cancel, FIX_BROKER_CANCEL_SENT);
  assert_sql(f, "SELECT cancel_seq FROM broker_orders WHERE id = 1", "4");
  assert_int_equal(fix_broker_cancel(f->c, 1), 0); /* already sent: nothing changes */
  f->app.on_work(f->app.ctx, f->s, util_now_ms());
  assert_int_equal(outbox_n(f), 0);

  /* The cancel of order 1 succeeds (the report names the cancel's ClOrdID). */
  assert_int_equal(
      deliver(f, "8", "37=O1|17=B1|150=4|39=4|55=AAPL|54=1|151=0|14=0|6=0|11=BS1C1|41=BS1|"), 0);
  assert_int_equal(get(f, 1).state, FIX_BROKER_CANCELED);
  assert_int_equal(get(f, 1).cancel, FIX_BROKER_CANCEL_DONE);

  /* That of order 2 is rejected; asking again sends a new cancel ClOrdID. */
  assert_int_equal(deliver(f, "9", "37=O2|11=BS2C1|41=BS2|39=0|434=1|102=0|58=Too late to cancel|"),
                   0);
  struct fix_broker_order o = get(f, 2);
  assert_int_equal(o.state, FIX_BROKER_NEW);
  assert_int_equal(o.cancel, FIX_BROKER_CANCEL_REJECTED);
  assert_string_equal(o.last_text, "102=0 Too late to cancel");
  assert_int_equal(fix_broker_stats_get(f->b)->cancel_rejects, 1);
  assert_int_equal(fix_broker_cancel(f->c, 2), 0);
  assert_int_equal(get(f, 2).cancel, FIX_BROKER_CANCEL_PENDING);
  /* A stale reject of the first request does not touch the second. */
  assert_int_equal(deliver(f, "9", "37=O2|11=BS2C1|41=BS2|39=0|434=1|58=again|"), 0);
  assert_int_equal(get(f, 2).cancel, FIX_BROKER_CANCEL_PENDING);
  f->app.on_work(f->app.ctx, f->s, util_now_ms());
  m = out_msg(f, 0, "F");
  assert_field(m, 11, "BS2C2");
  free(m);
}

static void test_bust_and_correct(void **state)
{
  struct fx *f = *state;
  place_sent(f, 1, "10");
  place_sent(f, 2, "10");
  assert_int_equal(
      deliver(f, "8", "37=O1|17=T1|150=F|39=2|55=AAPL|54=1|151=0|14=10|6=100|11=BS1|32=10|31=100|"),
      0);
  /* H: the fill is reversed; the broker's totals come with it. */
  assert_int_equal(deliver(f, "8",
                           "37=O1|17=T1B|150=H|39=0|55=AAPL|54=1|151=10|14=0|6=0|11=BS1|"
                           "19=T1|58=busted|"),
                   0);
  struct fix_broker_order o = get(f, 1);
  assert_int_equal(o.state, FIX_BROKER_NEW);
  assert_money(o.cum_qty, "0.000000");
  assert_money(o.leaves_qty, "10.000000");
  assert_money(o.avg_px, "0.00000000");

  assert_int_equal(
      deliver(f, "8", "37=O2|17=T2|150=F|39=2|55=AAPL|54=1|151=0|14=10|6=100|11=BS2|32=10|31=100|"),
      0);
  assert_int_equal(deliver(f, "8",
                           "37=O2|17=T2C|150=G|39=2|55=AAPL|54=1|151=0|14=10|6=99.5|11=BS2|"
                           "19=T2|32=10|31=99.5|"),
                   0);
  o = get(f, 2);
  assert_int_equal(o.state, FIX_BROKER_FILLED);
  assert_money(o.cum_qty, "10.000000");
  assert_money(o.avg_px, "99.50000000");

  struct seen s = {0};
  assert_int_equal(fix_broker_executions(f->c, 0, 0, 100, collect, &s), 4);
  assert_string_equal(s.e[1].exec_id, "T1B");
  assert_int_equal(s.e[1].exec_type, 'H');
  assert_string_equal(s.e[1].exec_ref_id, "T1");
  assert_money(s.e[1].last_qty, "10.000000"); /* taken from the busted trade */
  assert_money(s.e[1].last_px, "100.00000000");
  assert_money(s.e[1].cum_qty, "0.000000");
  assert_string_equal(s.e[3].exec_id, "T2C");
  assert_int_equal(s.e[3].exec_type, 'G');
  assert_string_equal(s.e[3].exec_ref_id, "T2");
  assert_money(s.e[3].last_px, "99.50000000");
  assert_string_equal(s.e[0].exec_ref_id, "");
}

static void test_duplicate_exec_id(void **state)
{
  struct fx *f = *state;
  place_sent(f, 1, "10");
  assert_int_equal(
      deliver(f, "8", "37=O1|17=D1|150=F|39=1|55=AAPL|54=1|151=6|14=4|6=50|11=BS1|32=4|31=50|"), 0);
  /* The same ExecID again (new MsgSeqNum, even other numbers): nothing changes. */
  assert_int_equal(deliver(f, "8",
                           "37=O1|17=D1|150=F|39=2|55=AAPL|54=1|151=0|14=10|6=60|11=BS1|"
                           "32=10|31=60|"),
                   0);
  struct fix_broker_order o = get(f, 1);
  assert_int_equal(o.state, FIX_BROKER_PARTIALLY_FILLED);
  assert_money(o.cum_qty, "4.000000");
  assert_money(o.avg_px, "50.00000000");
  assert_sql(f, "SELECT count(*) FROM broker_executions", "1");
  assert_sql(f, "SELECT count(*) FROM broker_order_events WHERE kind = 'report'", "1");
  assert_int_equal(fix_broker_stats_get(f->b)->duplicates, 1);
  assert_int_equal(fix_broker_stats_get(f->b)->fills, 1);
}

static void test_unknown_tag_reaches_order(void **state)
{
  struct fx *f = *state;
  place_sent(f, 1, "10");
  assert_int_equal(deliver(f, "8",
                           "37=O1|17=U1|150=F|39=2|55=AAPL|54=1|151=0|14=10|6=20|11=BS1|32=10|"
                           "31=20|9999=broker-own|20001=x|"),
                   0);
  assert_int_equal(get(f, 1).state, FIX_BROKER_FILLED);
  assert_sql(f, "SELECT unknown_tags::text FROM broker_executions", "{9999,20001}");
  assert_sql(f, "SELECT unknown_tags::text FROM broker_order_events WHERE kind = 'report'",
             "{9999,20001}");
  struct seen s = {0};
  assert_int_equal(fix_broker_executions(f->c, 0, 1, 10, collect, &s), 1);
  assert_int_equal(s.e[0].n_unknown, 2);
  assert_int_equal(s.e[0].unknown_tags[0], 9999);
  assert_int_equal(s.e[0].unknown_tags[1], 20001);
  assert_non_null(memmem(s.e[0].raw, s.e[0].raw_len, "\0019999=broker-own\001", 17));
}

static void test_unknown_cl_ord_id(void **state)
{
  struct fx *f = *state;
  place_sent(f, 1, "10");
  assert_int_equal(deliver(f, "8",
                           "37=X9|17=Z1|150=F|39=2|55=MSFT|54=2|38=5|151=0|14=5|6=300|11=BS999|"
                           "32=5|31=300|"),
                   0);
  assert_int_equal(outbox_n(f), 1);
  struct fix_msg *m = out_msg(f, 0, "Q");
  assert_field(m, 37, "X9");
  assert_field(m, 17, "Z1");
  assert_field(m, 55, "MSFT");
  assert_field(m, 54, "2");
  assert_field(m, 38, "5");
  assert_field(m, 127, "D");
  assert_field(m, 32, "5");
  assert_field(m, 31, "300");
  free(m);
  assert_sql(f, "SELECT kind || ' ' || ref FROM broker_alerts", "unknown_cl_ord_id Z1");
  assert_sql(f, "SELECT count(*) FROM broker_executions", "0");
  assert_sql(f, "SELECT count(*) FROM broker_order_events WHERE kind = 'report'", "0");
  assert_int_equal(get(f, 1).state, FIX_BROKER_SENT);
  persist(f, false);

  /* A ClOrdID that is not ours at all, without OrderQty: 38 from CumQty. */
  assert_int_equal(deliver(f, "8",
                           "37=X10|17=Z2|150=F|39=2|55=IBM|54=1|151=0|14=7|6=1|11=OTHER-7|32=7|"
                           "31=1|"),
                   0);
  m = out_msg(f, 0, "Q");
  assert_field(m, 17, "Z2");
  assert_field(m, 38, "7");
  free(m);
  assert_sql(f, "SELECT count(*) FROM broker_alerts", "2");
  assert_int_equal(fix_broker_stats_get(f->b)->dk_sent, 2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_place_idempotent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_rules, setup, teardown),
      cmocka_unit_test_setup_teardown(test_send_and_persist, setup, teardown),
      cmocka_unit_test_setup_teardown(test_crash_before_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rate_limit, setup_rate, teardown),
      cmocka_unit_test_setup_teardown(test_status_on_logon, setup, teardown),
      cmocka_unit_test_setup_teardown(test_partial_then_fill, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reject_cancel_expire, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel_request, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bust_and_correct, setup, teardown),
      cmocka_unit_test_setup_teardown(test_duplicate_exec_id, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_tag_reaches_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_cl_ord_id, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
