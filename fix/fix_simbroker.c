/*
 * The simulated broker (docs/simbroker.md): the application side of a
 * FIX 4.4 acceptor that fills the orders it receives by behaviours chosen
 * per symbol or per order, and books every fill in sim_trades.
 *
 * Invariants:
 * - The database is the truth.  An order is inserted into sim_orders
 *   (step 'ack' or 'reject', due now) before anything is sent about it;
 *   every later change rides on the ExecutionReport that announces it:
 *   the report is queued with app_ref = a pending entry holding the
 *   order's new state (and the trade to book, bust or correct), and the
 *   persist hook writes that state inside the message store's transaction,
 *   before the frame reaches the socket.  So a fill is never sent without
 *   being booked, nor booked without being sent (or stored for resend).
 * - In memory each session keeps its orders with work left (and those
 *   touched since) in their newest state, which may run ahead of the
 *   database by the frames of the current loop turn.  When the connection
 *   ends, those frames are dropped unsent; the session then reloads its
 *   orders from the database (lazily, at its next callback) and redoes
 *   what was lost.
 * - Bodies are built with a fix_writer on a local buffer: begin with the
 *   MsgType, remember the writer's position after "35=x SOH", write the
 *   fields, and hand fix_session_send() the bytes from that position on.
 * - ExecIDs: "<OrderID>-<n>" for the n-th report that changed the order
 *   (stable: the same after a restart), "I<n>" from a sequence for reports
 *   that change nothing (status answers, duplicate-ClOrdID rejects).
 *
 * The configuration and the arithmetic are in fix_simbroker_cfg.c.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fix/fix.h"

#define COMPONENT "simbroker"
#define STR_MAX   65 /* ClOrdID, Account, Symbol, SecurityID: 64 characters */
#define BODY_MAX  1200
#define QTY_SCALE 6
#define AMT_SCALE 12
#define RETRY_MS  1000
/* Longest wait between two on_work calls: the loop runs on_work on its
   own timer only, so work that a message created (an ack_delay, the
   first fill of a partial) is seen at most this late. */
#define POLL_MS 20

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/* ------------------------------------------------------------------ */

#define MS_TO_TS(n) "(timestamptz 'epoch' + $" #n "::bigint * interval '1 millisecond')"
/* The columns order_from_row() reads, in its order. */
#define ORDER_COLS                                                                                 \
  "id, order_id, cl_ord_id, account, symbol, security_id, security_id_source, side_code, "         \
  "ord_type_code, time_in_force, order_qty, limit_price, fill_price, behaviour, reject_reason, "   \
  "reject_text, status, cum_qty, leaves_qty, cum_amount, avg_px, exec_count, parts_done, step, "   \
  "(extract(epoch from next_at) * 1000)::bigint, last_exec_id, last_qty, last_px, "                \
  "(extract(epoch from last_at) * 1000)::bigint, to_char(trade_date, 'YYYY-MM-DD'), "              \
  "to_char(settle_date, 'YYYY-MM-DD')"

static const struct db_stmt q_insert_order = {
    "sim_insert_order",
    "INSERT INTO sim_orders (session, cl_ord_id, account, symbol, security_id, "
    "security_id_source, side_code, ord_type_code, time_in_force, order_qty, limit_price, "
    "fill_price, behaviour, reject_reason, reject_text, step, next_at, leaves_qty) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, " MS_TO_TS(
        17) ", $18) ON CONFLICT (session, cl_ord_id) DO NOTHING RETURNING id",
    18,
};

static const struct db_stmt q_update_order = {
    "sim_update_order",
    "UPDATE sim_orders SET status = $2, cum_qty = $3, leaves_qty = $4, cum_amount = $5, "
    "avg_px = $6, exec_count = $7, parts_done = $8, step = $9, next_at = " MS_TO_TS(
        10) ", "
            "last_exec_id = $11, last_qty = $12, last_px = $13, last_at = " MS_TO_TS(
                14) ", "
                    "trade_date = $15, settle_date = $16, updated_at = now() WHERE id = $1",
    16,
};

static const struct db_stmt q_select_active = {
    "sim_select_active",
    "SELECT " ORDER_COLS " FROM sim_orders WHERE session = $1 AND step <> 'done' ORDER BY id",
    1,
};

static const struct db_stmt q_select_order = {
    "sim_select_order",
    "SELECT " ORDER_COLS " FROM sim_orders WHERE session = $1 AND cl_ord_id = $2",
    2,
};

static const struct db_stmt q_insert_trade = {
    "sim_insert_trade",
    "INSERT INTO sim_trades (trade_id, order_id, sim_order_id, cl_ord_id, session, account, "
    "symbol, isin, side, quantity, price, trade_date, settle_date, executed_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, " MS_TO_TS(14) ")",
    14,
};

static const struct db_stmt q_bust_trade = {
    "sim_bust_trade",
    "UPDATE sim_trades SET status = 'busted', busted_by = $2, busted_at = " MS_TO_TS(
        3) " WHERE trade_id = $1 AND status = 'booked'",
    3,
};

static const struct db_stmt q_correct_trade = {
    "sim_correct_trade",
    "UPDATE sim_trades SET original_price = coalesce(original_price, price), price = $2, "
    "corrected_by = $3, corrected_at = " MS_TO_TS(4) " WHERE trade_id = $1",
    4,
};

static const struct db_stmt q_next_exec_id = {
    "sim_next_exec_id",
    "SELECT nextval('sim_exec_ids')",
    0,
};

static const struct db_stmt q_insert_dk = {
    "sim_insert_dont_know_trade",
    "INSERT INTO sim_dont_know_trades (session, order_id, exec_id, dk_reason, symbol, side_code, "
    "order_qty, last_qty, last_px, text) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    10,
};

/* Net position per symbol of a session's booked trades up to a date. */
static const struct db_stmt q_select_positions = {
    "sim_select_positions",
    "SELECT symbol, max(isin), sum(CASE side WHEN 'buy' THEN quantity ELSE -quantity END) "
    "FROM sim_trades WHERE session = $1 AND status = 'booked' AND trade_date <= $2::date "
    "AND ($3::text IS NULL OR account = $3) AND ($4::text IS NULL OR symbol = $4) "
    "GROUP BY symbol ORDER BY symbol",
    4,
};

/* ------------------------------------------------------------------ */
/* State                                                               */
/* ------------------------------------------------------------------ */

/* What an order does next; the names are sim_orders.step. */
enum step {
  ST_ACK = 0,
  ST_REJECT,
  ST_FILL,
  ST_CANCEL,
  ST_EXPIRE,
  ST_DUP,
  ST_BUST,
  ST_CORRECT,
  ST_DROP,
  ST_REST,
  ST_DONE,
  ST_N
};
static const char *const step_names[ST_N] = {
    "ack",  "reject",  "fill",       "cancel", "expire", "duplicate",
    "bust", "correct", "disconnect", "rest",   "done",
};

struct order {
  struct order *next;
  long long id;
  char order_id[24];
  char cl_ord_id[STR_MAX], account[STR_MAX], symbol[STR_MAX];
  char security_id[STR_MAX], security_id_source[STR_MAX];
  char side, ord_type, tif;
  bool has_qty, has_limit, has_px;
  struct money qty, limit, px;
  struct fix_sim_behaviour beh;
  int rej_reason;
  char rej_text[96];
  char status; /* 39 */
  struct fix_sim_totals t;
  uint32_t exec_n, parts_done;
  enum step step;
  int64_t due_ms;
  bool has_last; /* the last fill */
  char last_exec_id[48];
  struct money last_qty, last_px;
  int64_t last_ms;
  int32_t trade_day, settle_day;
  char cxl_cl_ord_id[STR_MAX]; /* the OrderCancelRequest being answered */
  unsigned inflight;           /* queued reports not yet persisted */
};

/* What an outgoing report does to the blotter. */
enum trade_op { TOP_NONE = 0, TOP_BOOK, TOP_BUST, TOP_CORRECT };

/* A message to send; with ref != 0, the order state it persists. */
struct outmsg {
  struct outmsg *next;
  char type[4];
  uint64_t ref;
  struct order *o;
  struct order snap;
  enum trade_op top;
  char exec_id[48];
  bool persisted;
  size_t len;
  char body[BODY_MAX];
};

struct sim_sess {
  struct fix_sim *sim;
  char id[2 * FIX_COMPID_MAX + 2]; /* "SENDER->TARGET" */
  struct order *orders;
  struct outmsg *q_head, *q_tail; /* to hand to the session */
  struct outmsg *sent;            /* handed over, waiting for the persist hook */
  uint64_t next_ref;
  bool need_reload;
};

struct fix_sim {
  const struct fix_sim_cfg *cfg;
  struct fix_net *net;
  struct db_conn *db;
  struct cal cal;
  size_t n_sess;
  struct sim_sess sess[FIX_SIM_TARGETS_MAX];
};

static struct money mzero(unsigned scale)
{
  struct money m = {0, (uint8_t)scale};
  return m;
}

static bool final_status(char st)
{
  return st == '2' || st == '4' || st == '8' || st == 'C';
}

static const char *mtxt(struct money m, char buf[MONEY_STR_MAX])
{
  if (money_format(m, buf, MONEY_STR_MAX) < 0)
    buf[0] = '\0';
  return buf;
}

static void copy_str(char *dst, size_t size, const char *src)
{
  if (util_strlcpy(dst, src, size) != 0)
    log_bug(COMPONENT, "value truncated: %s", src);
}

static const char *opt(const char *s)
{
  return s[0] != '\0' ? s : NULL;
}

static void format_date(int32_t day, char buf[CAL_DATE_STR])
{
  cal_format_date(day, buf);
}

/* ------------------------------------------------------------------ */
/* Loading orders                                                      */
/* ------------------------------------------------------------------ */

static int col_money(PGresult *r, int row, int col, unsigned scale, struct money *out)
{
  const char *v = PQgetvalue(r, row, col);
  if (PQgetisnull(r, row, col))
    return 1;
  return money_parse(v, strlen(v), scale, MONEY_PARSE_NEGATIVE, out) == 0 ? 0 : -1;
}

static int64_t col_i64(PGresult *r, int row, int col)
{
  return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int32_t col_date(PGresult *r, int row, int col)
{
  int32_t d = 0;
  const char *v = PQgetvalue(r, row, col);
  if (!PQgetisnull(r, row, col) && cal_parse_date(v, strlen(v), &d) != 0)
    d = 0;
  return d;
}

/* One row of ORDER_COLS into @o.  Returns 0 or -1 (a value we cannot read). */
static int order_from_row(PGresult *r, int i, struct order *o)
{
  int bad = 0, k;
  memset(o, 0, sizeof *o);
  o->id = (long long)col_i64(r, i, 0);
  copy_str(o->order_id, sizeof o->order_id, PQgetvalue(r, i, 1));
  copy_str(o->cl_ord_id, sizeof o->cl_ord_id, PQgetvalue(r, i, 2));
  copy_str(o->account, sizeof o->account, PQgetvalue(r, i, 3));
  copy_str(o->symbol, sizeof o->symbol, PQgetvalue(r, i, 4));
  copy_str(o->security_id, sizeof o->security_id, PQgetvalue(r, i, 5));
  copy_str(o->security_id_source, sizeof o->security_id_source, PQgetvalue(r, i, 6));
  o->side = PQgetvalue(r, i, 7)[0];
  o->ord_type = PQgetvalue(r, i, 8)[0];
  o->tif = PQgetvalue(r, i, 9)[0];
  bad |= (k = col_money(r, i, 10, QTY_SCALE, &o->qty)) < 0;
  o->has_qty = k == 0;
  bad |= (k = col_money(r, i, 11, QTY_SCALE, &o->limit)) < 0;
  o->has_limit = k == 0;
  bad |= (k = col_money(r, i, 12, QTY_SCALE, &o->px)) < 0;
  o->has_px = k == 0;
  const char *spec = PQgetvalue(r, i, 13);
  bad |= fix_sim_behaviour_parse(spec, strlen(spec), &o->beh) != 0;
  o->rej_reason = (int)col_i64(r, i, 14);
  copy_str(o->rej_text, sizeof o->rej_text, PQgetvalue(r, i, 15));
  o->status = PQgetvalue(r, i, 16)[0];
  bad |= col_money(r, i, 17, QTY_SCALE, &o->t.cum_qty) != 0;
  bad |= col_money(r, i, 18, QTY_SCALE, &o->t.leaves_qty) != 0;
  bad |= col_money(r, i, 19, AMT_SCALE, &o->t.amount) != 0;
  bad |= col_money(r, i, 20, QTY_SCALE, &o->t.avg_px) != 0;
  o->exec_n = (uint32_t)col_i64(r, i, 21);
  o->parts_done = (uint32_t)col_i64(r, i, 22);
  o->step = ST_N;
  for (int s = 0; s < ST_N; s++)
    if (strcmp(PQgetvalue(r, i, 23), step_names[s]) == 0)
      o->step = (enum step)s;
  bad |= o->step == ST_N;
  o->due_ms = col_i64(r, i, 24);
  o->has_last = !PQgetisnull(r, i, 25);
  copy_str(o->last_exec_id, sizeof o->last_exec_id, PQgetvalue(r, i, 25));
  if (o->has_last) {
    bad |= col_money(r, i, 26, QTY_SCALE, &o->last_qty) != 0;
    bad |= col_money(r, i, 27, QTY_SCALE, &o->last_px) != 0;
  }
  o->last_ms = col_i64(r, i, 28);
  o->trade_day = col_date(r, i, 29);
  o->settle_day = col_date(r, i, 30);
  /* The connection a 'disconnect' step was to drop is gone: fill next. */
  if (o->step == ST_DROP)
    o->step = ST_FILL;
  return bad ? -1 : 0;
}

static void free_state(struct sim_sess *ss)
{
  struct outmsg *m, *mn;
  for (m = ss->q_head; m != NULL; m = mn) {
    mn = m->next;
    free(m);
  }
  for (m = ss->sent; m != NULL; m = mn) {
    mn = m->next;
    free(m);
  }
  ss->q_head = ss->q_tail = ss->sent = NULL;
  for (struct order *o = ss->orders, *on; o != NULL; o = on) {
    on = o->next;
    free(o);
  }
  ss->orders = NULL;
}

struct load_ctx {
  struct sim_sess *ss;
  struct order *list;
};

static enum db_qs load_tx(struct db_conn *c, void *cls)
{
  struct load_ctx *lc = cls;
  const char *params[1] = {lc->ss->id};
  PGresult *r;
  while (lc->list != NULL) { /* a retried run starts over */
    struct order *n = lc->list->next;
    free(lc->list);
    lc->list = n;
  }
  enum db_qs qs = db_exec(c, &q_select_active, params, &r);
  if (qs <= 0)
    return qs;
  for (int i = PQntuples(r) - 1; i >= 0; i--) {
    struct order *o = malloc(sizeof *o);
    if (o == NULL) {
      PQclear(r);
      return DB_QS_HARD;
    }
    if (order_from_row(r, i, o) != 0) {
      log_bug(COMPONENT, "sim_orders row %s unreadable: left alone", PQgetvalue(r, i, 0));
      free(o);
      continue;
    }
    o->next = lc->list;
    lc->list = o;
  }
  PQclear(r);
  return qs;
}

/* Replace the session's memory with the database's orders with work left. */
static int reload(struct sim_sess *ss)
{
  struct load_ctx lc = {ss, NULL};
  int rc = db_txn(ss->sim->db, "sim_load_orders", load_tx, &lc);
  if (rc != 0) {
    while (lc.list != NULL) {
      struct order *n = lc.list->next;
      free(lc.list);
      lc.list = n;
    }
    log_msg(LOGL_ERROR, COMPONENT, "%s: cannot load orders: %s", ss->id, err_text(rc));
    ss->need_reload = true;
    return rc;
  }
  free_state(ss);
  ss->orders = lc.list;
  ss->need_reload = false;
  size_t n = 0;
  for (struct order *o = ss->orders; o != NULL; o = o->next)
    n++;
  log_msg(LOGL_INFO, COMPONENT, "%s: %zu orders with work left", ss->id, n);
  return 0;
}

/* An order of this session by ClOrdID: memory first, then the database
   (*tmp receives it; final there, since every other order is in memory).
   Returns the order, NULL when unknown, or sets *err on a database error. */
static struct order *find_order(struct sim_sess *ss, const char *cl_ord_id, struct order *tmp,
                                int *err)
{
  const char *params[2] = {ss->id, cl_ord_id};
  PGresult *r;
  *err = 0;
  for (struct order *o = ss->orders; o != NULL; o = o->next)
    if (strcmp(o->cl_ord_id, cl_ord_id) == 0)
      return o;
  enum db_qs qs = db_exec(ss->sim->db, &q_select_order, params, &r);
  if (qs < 0) {
    *err = -ERR_DB_HARD;
    return NULL;
  }
  if (qs == 0)
    return NULL;
  int bad = order_from_row(r, 0, tmp);
  PQclear(r);
  if (bad)
    log_bug(COMPONENT, "sim_orders %s/%s unreadable", ss->id, cl_ord_id);
  tmp->next = NULL;
  return tmp;
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */
/* ------------------------------------------------------------------ */

/* A body under construction: the writer's bytes after "35=x SOH". */
struct body {
  struct fix_writer w;
  size_t off;
  char buf[BODY_MAX + 64];
};

static void body_begin(struct body *b, const char *type)
{
  fix_writer_begin(&b->w, b->buf, sizeof b->buf, type);
  b->off = b->w.pos;
}

/* Hand queued messages to the session in order, until it refuses one. */
static void flush(struct sim_sess *ss, struct fix_session *s, int64_t now)
{
  while (ss->q_head != NULL) {
    struct outmsg *m = ss->q_head;
    int rc = fix_session_send(s, m->type, m->body, m->len, m->ref, now);
    if (rc == -ERR_FIX_RATE || rc == -ERR_FIX_NOT_LOGGED_ON)
      return;
    ss->q_head = m->next;
    if (ss->q_head == NULL)
      ss->q_tail = NULL;
    if (rc != 0) {
      log_bug(COMPONENT, "%s: %s not sent: %s", ss->id, m->type, err_text(rc));
      if (m->ref != 0)
        ss->need_reload = true; /* memory ran ahead of what will be persisted */
      free(m);
      continue;
    }
    if (m->ref == 0) {
      free(m);
      continue;
    }
    m->next = NULL; /* append: the persist hook meets them in this order */
    struct outmsg **tail = &ss->sent;
    while (*tail != NULL)
      tail = &(*tail)->next;
    *tail = m;
  }
}

/*
 * Queue the body of @b.  With @o, the message changes that order: its
 * state now (already updated by the caller) is what the persist hook will
 * write, with @top applied to the blotter.
 */
static int enqueue(struct sim_sess *ss, const char *type, struct body *b, struct order *o,
                   enum trade_op top, const char *exec_id)
{
  if (b->w.error != 0) {
    log_bug(COMPONENT, "%s: %s body: %s", ss->id, type, err_text(b->w.error));
    return b->w.error;
  }
  struct outmsg *m = calloc(1, sizeof *m);
  if (m == NULL)
    return -ERR_NOMEM;
  memcpy(m->type, type, strlen(type) + 1);
  m->len = b->w.pos - b->off;
  memcpy(m->body, b->buf + b->off, m->len);
  if (o != NULL) {
    m->ref = ++ss->next_ref;
    m->o = o;
    m->snap = *o;
    m->top = top;
    copy_str(m->exec_id, sizeof m->exec_id, exec_id != NULL ? exec_id : "");
    o->inflight++;
  }
  if (ss->q_tail != NULL)
    ss->q_tail->next = m;
  else
    ss->q_head = m;
  ss->q_tail = m;
  return 0;
}

/* Free what the store has persisted; drop finished orders from memory. */
static void settle(struct sim_sess *ss)
{
  while (ss->sent != NULL && ss->sent->persisted) {
    struct outmsg *m = ss->sent;
    ss->sent = m->next;
    m->o->inflight--;
    free(m);
  }
  for (struct order **p = &ss->orders; *p != NULL;) {
    struct order *o = *p;
    if (o->step == ST_DONE && o->inflight == 0) {
      *p = o->next;
      free(o);
    } else {
      p = &o->next;
    }
  }
}

/* An ExecID for a report that changes nothing: "I<n>". */
static int info_exec_id(struct sim_sess *ss, char buf[48])
{
  PGresult *r;
  if (db_exec(ss->sim->db, &q_next_exec_id, NULL, &r) <= 0)
    return -ERR_DB_HARD;
  snprintf(buf, 48, "I%s", PQgetvalue(r, 0, 0));
  PQclear(r);
  return 0;
}

/*
 * The business time now, @biz: clock_now() of the database (docs/clock.md),
 * which tests and the demo move forward; and its TradeDate and SettlDate.
 * Timers (due_ms) and SendingTime stay on the wall clock.
 */
static int dates_now(struct sim_sess *ss, int64_t *biz, int32_t *trade, int32_t *settle)
{
  int rc = db_clock_now(ss->sim->db, biz);
  if (rc == 0)
    rc = fix_sim_trade_day(*biz, trade);
  if (rc == 0)
    rc = fix_sim_settle_date(&ss->sim->cal, *trade, ss->sim->cfg->settle_days, settle);
  return rc;
}

static void write_date(struct fix_writer *w, uint32_t tag, int32_t day)
{
  char d[CAL_DATE_STR], f[9];
  format_date(day, d);
  memcpy(f, d, 4);
  memcpy(f + 4, d + 5, 2);
  memcpy(f + 6, d + 8, 2);
  fix_writer_str(w, tag, f, 8);
}

/* The variable part of an ExecutionReport about an order. */
struct er {
  char exec_type;
  const char *exec_id;
  const char *exec_ref_id; /* 19, H and G */
  bool last;               /* 32 and 31 */
  struct money last_qty, last_px;
  int rej_reason;   /* 103 when > 0 */
  const char *text; /* 58 */
  int64_t transact_ms;
  int32_t trade_day, settle_day;
  const char *status_req_id; /* 790 */
};

static void write_er(struct body *b, const struct order *o, const struct er *e)
{
  struct fix_writer *w = &b->w;
  body_begin(b, "8");
  fix_writer_cstr(w, 37, o->order_id);
  if (o->cxl_cl_ord_id[0] != '\0' && e->exec_type == '4') {
    fix_writer_cstr(w, 11, o->cxl_cl_ord_id);
    fix_writer_cstr(w, 41, o->cl_ord_id);
  } else {
    fix_writer_cstr(w, 11, o->cl_ord_id);
  }
  fix_writer_cstr(w, 17, e->exec_id);
  if (e->exec_ref_id != NULL)
    fix_writer_cstr(w, 19, e->exec_ref_id);
  fix_writer_char(w, 150, e->exec_type);
  fix_writer_char(w, 39, o->status);
  if (e->rej_reason > 0)
    fix_writer_u64(w, 103, (uint64_t)e->rej_reason);
  if (o->account[0] != '\0')
    fix_writer_cstr(w, 1, o->account);
  fix_writer_cstr(w, 55, o->symbol);
  if (o->security_id[0] != '\0')
    fix_writer_cstr(w, 48, o->security_id);
  if (o->security_id_source[0] != '\0')
    fix_writer_cstr(w, 22, o->security_id_source);
  fix_writer_char(w, 54, o->side);
  fix_writer_money(w, 38, o->has_qty ? o->qty : mzero(0));
  fix_writer_char(w, 40, o->ord_type);
  if (o->has_limit)
    fix_writer_money(w, 44, o->limit);
  if (e->last) {
    fix_writer_money(w, 32, e->last_qty);
    fix_writer_money(w, 31, e->last_px);
  }
  fix_writer_money(w, 14, o->t.cum_qty);
  fix_writer_money(w, 151, o->t.leaves_qty);
  fix_writer_money(w, 6, o->t.avg_px);
  write_date(w, 75, e->trade_day);
  write_date(w, 64, e->settle_day);
  fix_writer_time(w, 60, e->transact_ms);
  if (e->text != NULL && e->text[0] != '\0')
    fix_writer_cstr(w, 58, e->text);
  if (e->status_req_id != NULL)
    fix_writer_cstr(w, 790, e->status_req_id);
}

/* Echo field @tag of @m if present. */
static void echo(struct fix_writer *w, const struct fix_msg *m, uint32_t tag)
{
  const char *v;
  size_t n;
  if (fix_msg_str(m, tag, &v, &n) == 0 && n > 0)
    fix_writer_str(w, tag, v, n);
}

/*
 * A report that changes no order, about the request @m (a NewOrderSingle
 * or an OrderStatusRequest): OrderID NONE, OrdStatus 8, nothing filled.
 */
static int send_info_reject(struct sim_sess *ss, const struct fix_msg *m, char exec_type,
                            int reason, const char *text)
{
  struct body b;
  char exec_id[48];
  int32_t td, sd;
  int64_t biz;
  int rc;
  if ((rc = info_exec_id(ss, exec_id)) != 0 || (rc = dates_now(ss, &biz, &td, &sd)) != 0)
    return rc;
  body_begin(&b, "8");
  fix_writer_cstr(&b.w, 37, "NONE");
  echo(&b.w, m, 11);
  fix_writer_cstr(&b.w, 17, exec_id);
  fix_writer_char(&b.w, 150, exec_type);
  fix_writer_char(&b.w, 39, '8');
  fix_writer_u64(&b.w, 103, (uint64_t)reason);
  static const uint32_t tags[] = {1, 55, 48, 22, 54, 38, 40, 44};
  for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
    echo(&b.w, m, tags[i]);
  fix_writer_money(&b.w, 14, mzero(0));
  fix_writer_money(&b.w, 151, mzero(0));
  fix_writer_money(&b.w, 6, mzero(0));
  write_date(&b.w, 75, td);
  write_date(&b.w, 64, sd);
  fix_writer_time(&b.w, 60, biz);
  fix_writer_cstr(&b.w, 58, text);
  echo(&b.w, m, 790);
  return enqueue(ss, "8", &b, NULL, TOP_NONE, NULL);
}

/* ------------------------------------------------------------------ */
/* The order state machine                                             */
/* ------------------------------------------------------------------ */

/* Whether a limit order can trade at the table price now. */
static bool marketable(const struct order *o)
{
  if (o->ord_type != '2')
    return true;
  int c = money_cmp(o->limit, o->px);
  return o->side == '1' ? c >= 0 : c <= 0;
}

/* The step after the ack, by behaviour. */
static void after_ack(struct order *o, int64_t now)
{
  o->due_ms = now;
  if (!marketable(o)) {
    o->step = o->tif == '3' ? ST_CANCEL : ST_REST; /* IOC: nothing to trade, canceled */
    return;
  }
  switch (o->beh.kind) {
  case FIX_SIM_PARTIAL:
    o->step = ST_FILL;
    o->due_ms = now + o->beh.ms;
    break;
  case FIX_SIM_CANCEL:
    o->step = ST_CANCEL;
    break;
  case FIX_SIM_EXPIRE:
    o->step = ST_EXPIRE;
    break;
  case FIX_SIM_DISCONNECT:
    o->step = ST_DROP;
    break;
  case FIX_SIM_SILENT:
    o->step = ST_REST;
    break;
  default:
    o->step = ST_FILL;
    break;
  }
}

/* The step after a fill that completed the order. */
static enum step after_fill(const struct order *o)
{
  switch (o->beh.kind) {
  case FIX_SIM_DUPLICATE:
    return ST_DUP;
  case FIX_SIM_BUST:
    return ST_BUST;
  case FIX_SIM_CORRECT:
    return ST_CORRECT;
  default:
    return ST_DONE;
  }
}

/* The next state-changing ExecID of @o. */
static void next_exec_id(struct order *o, char buf[48])
{
  o->exec_n++;
  snprintf(buf, 48, "%s-%u", o->order_id, o->exec_n);
}

/*
 * Perform the due step of @o: update it and queue the report.  Returns 0,
 * or an error (the order is left as it was).
 */
static int do_step(struct sim_sess *ss, struct order *o, int64_t now)
{
  struct order was = *o;
  struct body b;
  struct er e = {0};
  char exec_id[48];
  enum trade_op top = TOP_NONE;
  int64_t biz;
  int rc;
  if ((rc = dates_now(ss, &biz, &e.trade_day, &e.settle_day)) != 0)
    return rc;
  e.exec_id = exec_id;
  e.transact_ms = biz;
  switch (o->step) {
  case ST_ACK:
    next_exec_id(o, exec_id);
    e.exec_type = '0';
    o->status = '0';
    fix_sim_totals_init(&o->t, o->qty);
    after_ack(o, now);
    break;
  case ST_REJECT:
    next_exec_id(o, exec_id);
    e.exec_type = '8';
    e.rej_reason = o->rej_reason;
    e.text = o->rej_text;
    o->status = '8';
    o->t.leaves_qty = mzero(QTY_SCALE);
    o->step = ST_DONE;
    break;
  case ST_CANCEL:
  case ST_EXPIRE:
    next_exec_id(o, exec_id);
    e.exec_type = o->step == ST_CANCEL ? '4' : 'C';
    o->status = e.exec_type;
    o->t.leaves_qty = mzero(QTY_SCALE);
    o->step = ST_DONE;
    break;
  case ST_FILL: {
    struct money part = o->qty;
    uint32_t n_eff = 1;
    if (o->beh.kind == FIX_SIM_PARTIAL &&
        (rc = fix_sim_split(o->qty, o->beh.n, o->parts_done + 1, &part, &n_eff)) != 0)
      break;
    if ((rc = fix_sim_totals_fill(&o->t, part, o->px)) != 0)
      break;
    next_exec_id(o, exec_id);
    o->parts_done++;
    o->status = o->t.leaves_qty.v == 0 ? '2' : '1';
    o->has_last = true;
    memcpy(o->last_exec_id, exec_id, sizeof exec_id);
    o->last_qty = part;
    o->last_px = o->px;
    o->last_ms = biz;
    o->trade_day = e.trade_day;
    o->settle_day = e.settle_day;
    o->step = o->t.leaves_qty.v == 0 ? after_fill(o) : ST_FILL;
    o->due_ms = now + (o->step == ST_FILL ? o->beh.ms : 0);
    top = TOP_BOOK;
    e.exec_type = 'F';
    break;
  }
  case ST_DUP: /* the last fill's report again, byte for byte */
    e.exec_id = o->last_exec_id;
    e.exec_type = 'F';
    e.transact_ms = o->last_ms;
    e.trade_day = o->trade_day;
    e.settle_day = o->settle_day;
    o->step = ST_DONE;
    break;
  case ST_BUST:
    if ((rc = fix_sim_totals_fill(&o->t, (struct money){-o->last_qty.v, o->last_qty.scale},
                                  o->last_px)) != 0)
      break;
    next_exec_id(o, exec_id);
    o->t.leaves_qty = mzero(QTY_SCALE);
    o->status = o->t.cum_qty.v == 0 ? '4' : '2';
    e.exec_type = 'H';
    o->step = ST_DONE;
    top = TOP_BUST;
    break;
  case ST_CORRECT: { /* LastPx moves up one cent */
    struct money cent = {10000, QTY_SCALE}, px;
    struct fix_sim_totals t = o->t;
    if ((rc = money_add(o->last_px, cent, &px)) != 0 ||
        (rc = fix_sim_totals_fill(&t, (struct money){-o->last_qty.v, o->last_qty.scale},
                                  o->last_px)) != 0)
      break;
    t.leaves_qty = o->last_qty;
    if ((rc = fix_sim_totals_fill(&t, o->last_qty, px)) != 0)
      break;
    next_exec_id(o, exec_id);
    o->t = t;
    o->last_px = px;
    e.exec_type = 'G';
    o->step = ST_DONE;
    top = TOP_CORRECT;
    break;
  }
  default:
    return -ERR_INTERNAL;
  }
  if (rc != 0) {
    *o = was;
    return rc;
  }
  if (top == TOP_BUST || top == TOP_CORRECT)
    e.exec_ref_id = o->last_exec_id;
  if (e.exec_type == 'F' || top != TOP_NONE) {
    e.last = true;
    e.last_qty = o->last_qty;
    e.last_px = o->last_px;
  }
  write_er(&b, o, &e);
  if ((rc = enqueue(ss, "8", &b, o, top, exec_id)) != 0)
    *o = was;
  return rc;
}

/* Run every due step of @o.  Returns whether @o waits for a connection drop. */
static bool advance(struct sim_sess *ss, struct order *o, int64_t now)
{
  while (o->step != ST_REST && o->step != ST_DONE && o->due_ms <= now) {
    if (o->step == ST_DROP)
      return o->inflight == 0; /* the ack is out: drop now */
    int rc = do_step(ss, o, now);
    if (rc != 0) {
      log_msg(LOGL_ERROR, COMPONENT, "%s: order %s step %s: %s; retrying later", ss->id,
              o->order_id, step_names[o->step], err_text(rc));
      o->due_ms = now + RETRY_MS;
      break;
    }
  }
  return false;
}

/* ------------------------------------------------------------------ */
/* Incoming application messages                                       */
/* ------------------------------------------------------------------ */

/* Copy field @tag: 0, 1 when absent (buf ""), -1 when longer than size - 1. */
static int take(const struct fix_msg *m, uint32_t tag, char *buf, size_t size)
{
  int rc = fix_msg_copy(m, tag, buf, size);
  buf[rc == 0 ? strlen(buf) : 0] = '\0';
  return rc == 0 ? 0 : rc == -ERR_FIX_MISSING ? 1 : -1;
}

static char take_char(const struct fix_msg *m, uint32_t tag, char def)
{
  const char *v;
  size_t n;
  return fix_msg_str(m, tag, &v, &n) == 0 && n == 1 ? v[0] : def;
}

struct insert_ctx {
  const char *session;
  struct order *o;
  char spec[FIX_SIM_SPEC_MAX];
  bool inserted;
};

static enum db_qs insert_tx(struct db_conn *c, void *cls)
{
  struct insert_ctx *ic = cls;
  struct order *o = ic->o;
  char side[2] = {o->side, 0}, type[2] = {o->ord_type, 0}, tif[2] = {o->tif, 0};
  char qty[MONEY_STR_MAX], lim[MONEY_STR_MAX], px[MONEY_STR_MAX], leaves[MONEY_STR_MAX];
  char reason[16], due[24];
  snprintf(reason, sizeof reason, "%d", o->rej_reason);
  snprintf(due, sizeof due, "%lld", (long long)o->due_ms);
  const char *params[18] = {
      ic->session,
      o->cl_ord_id,
      opt(o->account),
      o->symbol,
      opt(o->security_id),
      opt(o->security_id_source),
      side,
      type,
      tif,
      o->has_qty ? mtxt(o->qty, qty) : NULL,
      o->has_limit ? mtxt(o->limit, lim) : NULL,
      o->has_px ? mtxt(o->px, px) : NULL,
      ic->spec,
      o->step == ST_REJECT ? reason : NULL,
      o->step == ST_REJECT ? o->rej_text : NULL,
      step_names[o->step],
      due,
      mtxt(o->t.leaves_qty, leaves),
  };
  PGresult *r;
  enum db_qs qs = db_exec(c, &q_insert_order, params, &r);
  ic->inserted = qs > 0;
  if (qs > 0) {
    o->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
  }
  return qs;
}

__attribute__((format(printf, 3, 4))) static int rej(struct order *o, int reason, const char *fmt,
                                                     ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(o->rej_text, sizeof o->rej_text, fmt, ap);
  va_end(ap);
  return reason;
}

/* Why a NewOrderSingle is rejected: its OrdRejReason (rej_text set), or 0. */
static int vet_order(const struct fix_sim_cfg *cfg, const struct fix_msg *m, struct order *o)
{
  const struct fix_sim_symbol *cs = fix_sim_cfg_symbol(cfg, o->symbol);
  char text[128], c[2] = {0, 0};
  o->beh = cs != NULL && cs->has_behaviour ? cs->behaviour : cfg->default_behaviour;
  bool bad_spec = take(m, 58, text, sizeof text) == 0 && strncmp(text, "sim:", 4) == 0 &&
                  fix_sim_behaviour_parse(text + 4, strlen(text + 4), &o->beh) != 0;
  o->has_qty = fix_msg_money(m, 38, QTY_SCALE, &o->qty) == 0 && o->qty.v > 0;
  o->has_limit =
      o->ord_type == '2' && fix_msg_money(m, 44, QTY_SCALE, &o->limit) == 0 && o->limit.v > 0;
  o->has_px = cs != NULL && cs->has_price;
  if (o->has_px)
    o->px = cs->price;
  if (o->side != '1' && o->side != '2')
    return c[0] = o->side, rej(o, 11, "unsupported Side %s", c);
  if (o->ord_type != '1' && o->ord_type != '2')
    return c[0] = o->ord_type, rej(o, 11, "unsupported OrdType %s", c);
  if (!o->has_qty)
    return rej(o, 13, "%s", "OrderQty missing, not positive or with more than 6 decimals");
  if (o->ord_type == '2' && !o->has_limit)
    return rej(o, 99, "%s", "limit order without a valid Price");
  if (bad_spec)
    return rej(o, 99, "bad sim spec: %s", text + 4);
  if (!o->has_px)
    return rej(o, 1, "unknown symbol %s", o->symbol);
  if (o->beh.kind == FIX_SIM_REJECT)
    return rej(o, 99, "%s", "rejected by simulation");
  return 0;
}

static void append_order(struct sim_sess *ss, struct order *o)
{
  struct order **p = &ss->orders;
  while (*p != NULL)
    p = &(*p)->next;
  o->next = NULL;
  *p = o;
}

static int on_new_order(struct sim_sess *ss, const struct fix_msg *m, int64_t now)
{
  struct order *o = calloc(1, sizeof *o);
  const char *v;
  size_t n;
  bool possdup = fix_msg_str(m, FIX_TAG_POSS_DUP, &v, &n) == 0 && n == 1 && v[0] == 'Y';
  int rc;
  if (o == NULL)
    return -ERR_NOMEM;
  if (take(m, 11, o->cl_ord_id, sizeof o->cl_ord_id) != 0 ||
      take(m, 1, o->account, sizeof o->account) < 0 ||
      take(m, 55, o->symbol, sizeof o->symbol) != 0 ||
      take(m, 48, o->security_id, sizeof o->security_id) < 0 ||
      take(m, 22, o->security_id_source, sizeof o->security_id_source) < 0) {
    free(o);
    return send_info_reject(ss, m, '8', 99, "a field is longer than 64 characters");
  }
  o->side = take_char(m, 54, '?');
  o->ord_type = take_char(m, 40, '?');
  o->tif = take_char(m, 59, '0');
  o->rej_reason = vet_order(ss->sim->cfg, m, o);
  o->status = 'A';
  fix_sim_totals_init(&o->t, o->has_qty ? o->qty : mzero(QTY_SCALE));
  o->step = o->rej_reason != 0 ? ST_REJECT : ST_ACK;
  o->due_ms = now + (o->step == ST_ACK && o->beh.kind == FIX_SIM_ACK_DELAY ? o->beh.ms : 0);

  struct insert_ctx ic = {ss->id, o, {0}, false};
  fix_sim_behaviour_format(&o->beh, ic.spec);
  bool known = false;
  for (struct order *p = ss->orders; p != NULL; p = p->next)
    known |= strcmp(p->cl_ord_id, o->cl_ord_id) == 0;
  if (!known && (rc = db_txn(ss->sim->db, "sim_insert_order", insert_tx, &ic)) != 0) {
    free(o);
    return rc;
  }
  if (known || !ic.inserted) {
    log_msg(LOGL_INFO, COMPONENT, "%s: NewOrderSingle %s: ClOrdID already known, %s", ss->id,
            o->cl_ord_id, possdup ? "PossDup ignored" : "rejected as a duplicate");
    free(o);
    return possdup ? 0 : send_info_reject(ss, m, '8', 6, "duplicate ClOrdID");
  }
  snprintf(o->order_id, sizeof o->order_id, "SIM%lld", o->id);
  log_msg(
      LOGL_INFO, COMPONENT, "%s: order %s (%s) %s %s: %s%s%s", ss->id, o->order_id, o->cl_ord_id,
      o->side == '1'   ? "buy"
      : o->side == '2' ? "sell"
                       : "?",
      o->symbol, ic.spec, o->rej_reason ? ", rejected: " : "", o->rej_reason ? o->rej_text : "");
  append_order(ss, o);
  advance(ss, o, now);
  return 0;
}

static int send_cancel_reject(struct sim_sess *ss, const struct fix_msg *m, const struct order *o,
                              const char *text)
{
  struct body b;
  int64_t biz;
  int rc = db_clock_now(ss->sim->db, &biz);
  if (rc != 0)
    return rc;
  body_begin(&b, "9");
  fix_writer_cstr(&b.w, 37, o != NULL ? o->order_id : "NONE");
  echo(&b.w, m, 11);
  echo(&b.w, m, 41);
  fix_writer_char(&b.w, 39, o != NULL ? o->status : '8');
  fix_writer_char(&b.w, 434, '1');
  fix_writer_u64(&b.w, 102, o != NULL ? 0 : 1); /* too late to cancel / unknown order */
  fix_writer_cstr(&b.w, 58, text);
  echo(&b.w, m, 1);
  fix_writer_time(&b.w, 60, biz);
  return enqueue(ss, "9", &b, NULL, TOP_NONE, NULL);
}

static int on_cancel(struct sim_sess *ss, const struct fix_msg *m, int64_t now)
{
  char orig[STR_MAX], cl[STR_MAX];
  struct order tmp, *o = NULL;
  int err = 0;
  if (take(m, 41, orig, sizeof orig) == 0)
    o = find_order(ss, orig, &tmp, &err);
  if (err != 0)
    return err;
  if (o == NULL)
    return send_cancel_reject(ss, m, NULL, "unknown order");
  if (o == &tmp || final_status(o->status) || o->step == ST_DONE)
    return send_cancel_reject(ss, m, o, "order already in a final state");
  if (take(m, 11, cl, sizeof cl) != 0)
    return send_cancel_reject(ss, m, o, "ClOrdID longer than 64 characters");
  memcpy(o->cxl_cl_ord_id, cl, sizeof cl);
  o->step = ST_CANCEL;
  o->due_ms = now;
  advance(ss, o, now);
  return 0;
}

static int on_status(struct sim_sess *ss, const struct fix_msg *m)
{
  char cl[STR_MAX], req[STR_MAX], exec_id[48];
  struct order tmp, *o = NULL;
  struct er e = {0};
  struct body b;
  int64_t biz;
  int err = 0;
  if (take(m, 11, cl, sizeof cl) == 0)
    o = find_order(ss, cl, &tmp, &err);
  if (err != 0)
    return err;
  if (o == NULL)
    return send_info_reject(ss, m, 'I', 5, "unknown ClOrdID");
  if ((err = info_exec_id(ss, exec_id)) != 0 ||
      (err = dates_now(ss, &biz, &e.trade_day, &e.settle_day)) != 0)
    return err;
  if (o->has_last) {
    e.trade_day = o->trade_day;
    e.settle_day = o->settle_day;
  }
  e.exec_type = 'I';
  e.exec_id = exec_id;
  e.transact_ms = biz;
  e.status_req_id = take(m, 790, req, sizeof req) == 0 ? req : NULL;
  write_er(&b, o, &e);
  return enqueue(ss, "8", &b, NULL, TOP_NONE, NULL);
}

/* A money field as text for SQL, NULL when absent or unreadable. */
static const char *msg_money_txt(const struct fix_msg *m, uint32_t tag, char buf[MONEY_STR_MAX])
{
  struct money v;
  return fix_msg_money(m, tag, QTY_SCALE, &v) == 0 ? mtxt(v, buf) : NULL;
}

struct dk_ctx {
  const char *params[10];
};

static enum db_qs dk_tx(struct db_conn *c, void *cls)
{
  return db_exec(c, &q_insert_dk, ((struct dk_ctx *)cls)->params, NULL);
}

static int on_dont_know(struct sim_sess *ss, const struct fix_msg *m)
{
  char f[5][STR_MAX], text[256], q1[MONEY_STR_MAX], q2[MONEY_STR_MAX], q3[MONEY_STR_MAX];
  static const uint32_t tags[5] = {37, 17, 127, 55, 54};
  for (int i = 0; i < 5; i++)
    take(m, tags[i], f[i], sizeof f[i]);
  take(m, 58, text, sizeof text);
  struct dk_ctx dk = {{ss->id, f[0], f[1], f[2], f[3], f[4], msg_money_txt(m, 38, q1),
                       msg_money_txt(m, 32, q2), msg_money_txt(m, 31, q3), opt(text)}};
  log_msg(LOGL_WARN, COMPONENT, "%s: DontKnowTrade for order %s exec %s, reason %s: %s", ss->id,
          f[0], f[1], f[2], text);
  return db_txn(ss->sim->db, "sim_insert_dont_know_trade", dk_tx, &dk);
}

/* One PositionReport. */
static int send_position(struct sim_sess *ss, const struct fix_msg *m, const char *req_id,
                         unsigned k, unsigned total, int result, const char *symbol,
                         const char *isin, const char *net_qty, const char *text)
{
  struct body b;
  char id[STR_MAX + 16];
  snprintf(id, sizeof id, "%s-%u", req_id, k);
  body_begin(&b, "AP");
  fix_writer_cstr(&b.w, 721, id);
  fix_writer_cstr(&b.w, 710, req_id);
  echo(&b.w, m, 724);
  fix_writer_u64(&b.w, 727, total);
  fix_writer_u64(&b.w, 728, (uint64_t)result);
  fix_writer_char(&b.w, 325, 'N');
  echo(&b.w, m, 1);
  echo(&b.w, m, 715);
  if (symbol != NULL) {
    const struct fix_sim_symbol *cs = fix_sim_cfg_symbol(ss->sim->cfg, symbol);
    struct money q;
    fix_writer_cstr(&b.w, 55, symbol);
    if (isin != NULL && isin[0] != '\0') {
      fix_writer_cstr(&b.w, 48, isin);
      fix_writer_char(&b.w, 22, '4');
    }
    if (cs != NULL && cs->has_price) {
      fix_writer_money(&b.w, 730, cs->price);
      fix_writer_char(&b.w, 731, '1');
    }
    if (money_parse(net_qty, strlen(net_qty), QTY_SCALE, MONEY_PARSE_NEGATIVE, &q) != 0)
      return -ERR_DB_HARD;
    struct money zero = mzero(0), neg = {-q.v, q.scale};
    fix_writer_u64(&b.w, 702, 1);
    fix_writer_cstr(&b.w, 703, "FIN");
    fix_writer_money(&b.w, 704, q.v > 0 ? q : zero);
    fix_writer_money(&b.w, 705, q.v < 0 ? neg : zero);
  }
  if (text != NULL)
    fix_writer_cstr(&b.w, 58, text);
  return enqueue(ss, "AP", &b, NULL, TOP_NONE, NULL);
}

static int on_positions(struct sim_sess *ss, const struct fix_msg *m)
{
  char req[STR_MAX], acct[STR_MAX], sym[STR_MAX], d8[16], date[CAL_DATE_STR];
  uint64_t type = 99;
  int32_t day;
  PGresult *r = NULL;
  if (take(m, 710, req, sizeof req) != 0)
    copy_str(req, sizeof req, "?");
  fix_msg_u64(m, 724, &type);
  if (type != 0)
    return send_position(ss, m, req, 1, 0, 4, NULL, NULL, NULL,
                         "only PosReqType 0 (positions) is supported");
  if (take(m, 715, d8, sizeof d8) != 0 || strlen(d8) != 8 ||
      cal_day((d8[0] - '0') * 1000 + (d8[1] - '0') * 100 + (d8[2] - '0') * 10 + (d8[3] - '0'),
              (unsigned)((d8[4] - '0') * 10 + (d8[5] - '0')),
              (unsigned)((d8[6] - '0') * 10 + (d8[7] - '0')), &day) != 0)
    return send_position(ss, m, req, 1, 0, 1, NULL, NULL, NULL, "bad ClearingBusinessDate");
  format_date(day, date);
  const char *params[4] = {ss->id, date, take(m, 1, acct, sizeof acct) == 0 ? acct : NULL,
                           take(m, 55, sym, sizeof sym) == 0 ? sym : NULL};
  enum db_qs qs = db_exec(ss->sim->db, &q_select_positions, params, &r);
  if (qs < 0)
    return -ERR_DB_HARD;
  if (qs == 0)
    return send_position(ss, m, req, 1, 0, 2, NULL, NULL, NULL, "no positions");
  int rc = 0, n = PQntuples(r);
  for (int i = 0; i < n && rc == 0; i++)
    rc = send_position(ss, m, req, (unsigned)i + 1, (unsigned)n, 0, PQgetvalue(r, i, 0),
                       PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), NULL);
  PQclear(r);
  return rc;
}

/* ------------------------------------------------------------------ */
/* The application callbacks                                           */
/* ------------------------------------------------------------------ */

/* At the start of each callback: reload after a lost connection, else
   forget what the store has persisted. */
static int prepare(struct sim_sess *ss)
{
  if (ss->need_reload)
    return reload(ss);
  settle(ss);
  return 0;
}

static int app_message(void *ctx, struct fix_session *s, const struct fix_msg *m,
                       const struct fix_valid_info *info)
{
  struct sim_sess *ss = ctx;
  int64_t now = util_now_ms();
  int rc;
  (void)info;
  if ((rc = prepare(ss)) != 0)
    return rc;
  if (fix_msg_is(m, "D"))
    rc = on_new_order(ss, m, now);
  else if (fix_msg_is(m, "F"))
    rc = on_cancel(ss, m, now);
  else if (fix_msg_is(m, "H"))
    rc = on_status(ss, m);
  else if (fix_msg_is(m, "Q"))
    rc = on_dont_know(ss, m);
  else if (fix_msg_is(m, "AN"))
    rc = on_positions(ss, m);
  else
    return 1;
  flush(ss, s, now);
  return rc;
}

static void app_logon(void *ctx, struct fix_session *s)
{
  struct sim_sess *ss = ctx;
  (void)s;
  prepare(ss);
  log_msg(LOGL_INFO, COMPONENT, "%s: logged on", ss->id);
}

static void app_disconnect(void *ctx, struct fix_session *s, const char *why)
{
  struct sim_sess *ss = ctx;
  (void)s;
  ss->need_reload = true; /* the frames not yet persisted are gone */
  log_msg(LOGL_INFO, COMPONENT, "%s: disconnected (%s)", ss->id, why != NULL ? why : "?");
}

static int64_t app_work(void *ctx, struct fix_session *s, int64_t now)
{
  struct sim_sess *ss = ctx;
  int64_t wait = -1;
  if (prepare(ss) != 0)
    return RETRY_MS;
  for (struct order *o = ss->orders; o != NULL; o = o->next) {
    if (o->step == ST_DROP && o->due_ms <= now && o->inflight == 0) {
      log_msg(LOGL_INFO, COMPONENT, "%s: order %s: dropping the connection (disconnect)", ss->id,
              o->order_id);
      fix_net_drop(ss->sim->net, s);
      return POLL_MS;
    }
  }
  for (struct order *o = ss->orders; o != NULL; o = o->next) {
    advance(ss, o, now);
    if (o->step == ST_REST || o->step == ST_DONE)
      continue;
    int64_t w = o->step == ST_DROP && o->inflight > 0 ? 1 : o->due_ms - now;
    if (w < 0)
      w = 0;
    if (wait < 0 || w < wait)
      wait = w;
  }
  flush(ss, s, now);
  if (ss->q_head != NULL) {
    int64_t w = fix_session_rate_wait_ms(s, now);
    w = w > 0 ? w : 1;
    if (wait < 0 || w < wait)
      wait = w;
  }
  return wait < 0 || wait > POLL_MS ? POLL_MS : wait;
}

/* Write one report's order state (and blotter change) in the store's transaction. */
static enum db_qs persist_one(struct db_conn *c, struct sim_sess *ss, const struct outmsg *m,
                              int64_t at_ms)
{
  const struct order *o = &m->snap;
  char id[24], st[2] = {o->status, 0}, cum[MONEY_STR_MAX], leaves[MONEY_STR_MAX];
  char amt[MONEY_STR_MAX], avg[MONEY_STR_MAX], execs[16], parts[16], due[24];
  char lq[MONEY_STR_MAX], lp[MONEY_STR_MAX], last_at[24], at[24], td[CAL_DATE_STR],
      sd[CAL_DATE_STR];
  snprintf(id, sizeof id, "%lld", o->id);
  snprintf(execs, sizeof execs, "%u", o->exec_n);
  snprintf(parts, sizeof parts, "%u", o->parts_done);
  snprintf(due, sizeof due, "%lld", (long long)o->due_ms);
  snprintf(last_at, sizeof last_at, "%lld", (long long)o->last_ms);
  snprintf(at, sizeof at, "%lld", (long long)at_ms);
  format_date(o->trade_day, td);
  format_date(o->settle_day, sd);
  const char *up[16] = {id,
                        st,
                        mtxt(o->t.cum_qty, cum),
                        mtxt(o->t.leaves_qty, leaves),
                        mtxt(o->t.amount, amt),
                        mtxt(o->t.avg_px, avg),
                        execs,
                        parts,
                        step_names[o->step],
                        due,
                        o->has_last ? o->last_exec_id : NULL,
                        o->has_last ? mtxt(o->last_qty, lq) : NULL,
                        o->has_last ? mtxt(o->last_px, lp) : NULL,
                        o->has_last ? last_at : NULL,
                        o->has_last ? td : NULL,
                        o->has_last ? sd : NULL};
  enum db_qs qs = db_exec(c, &q_update_order, up, NULL);
  if (qs < 0)
    return qs;
  if (qs == 0) {
    log_bug(COMPONENT, "%s: sim_orders %s missing", ss->id, id);
    return DB_QS_HARD;
  }
  if (m->top == TOP_BOOK) {
    bool isin = strcmp(o->security_id_source, "4") == 0 && o->security_id[0] != '\0';
    const char *tp[14] = {o->last_exec_id,
                          o->order_id,
                          id,
                          o->cl_ord_id,
                          ss->id,
                          opt(o->account),
                          o->symbol,
                          isin ? o->security_id : NULL,
                          o->side == '1' ? "buy" : "sell",
                          lq,
                          lp,
                          td,
                          sd,
                          last_at};
    qs = db_exec(c, &q_insert_trade, tp, NULL);
  } else if (m->top == TOP_BUST) {
    const char *bp[3] = {o->last_exec_id, m->exec_id, at};
    qs = db_exec(c, &q_bust_trade, bp, NULL);
  } else if (m->top == TOP_CORRECT) {
    const char *cp[4] = {o->last_exec_id, lp, m->exec_id, at};
    qs = db_exec(c, &q_correct_trade, cp, NULL);
  }
  if (qs == 0 && m->top != TOP_NONE) {
    log_bug(COMPONENT, "%s: trade %s not found for %s", ss->id, o->last_exec_id, m->exec_id);
    return DB_QS_HARD;
  }
  return qs < 0 ? qs : DB_QS_NONE;
}

static enum db_qs app_persist(void *ctx, struct db_conn *c, const struct fix_out *batch, size_t n,
                              const char *outbuf)
{
  struct sim_sess *ss = ctx;
  (void)outbuf;
  for (size_t i = 0; i < n; i++) {
    if (batch[i].app_ref == 0)
      continue;
    struct outmsg *m = ss->sent;
    while (m != NULL && m->ref != batch[i].app_ref)
      m = m->next;
    if (m == NULL) {
      log_bug(COMPONENT, "%s: frame %llu with unknown app_ref %llu", ss->id,
              (unsigned long long)batch[i].seq, (unsigned long long)batch[i].app_ref);
      continue;
    }
    enum db_qs qs = persist_one(c, ss, m, batch[i].sending_ms);
    if (qs < 0)
      return qs;
    m->persisted = true;
  }
  return DB_QS_NONE;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

static enum db_qs closures_tx(struct db_conn *c, void *cls)
{
  return db_select_market_closures(c, cls);
}

int fix_sim_create(const struct fix_sim_cfg *cfg, struct fix_net *net, struct fix_sim **out)
{
  unsigned line = 0;
  int rc;
  struct fix_sim *sim = calloc(1, sizeof *sim);
  if (sim == NULL)
    return -ERR_NOMEM;
  sim->cfg = cfg;
  sim->net = net;
  sim->db = fix_net_db(net);
  cal_init(&sim->cal);
  if ((rc = cal_load_closures(&sim->cal, cal_builtin_closures, cal_builtin_closures_len, &line)) !=
      0) {
    log_bug(COMPONENT, "built-in closures line %u: %s", line, err_text(rc));
    goto fail;
  }
  if ((rc = db_txn(sim->db, "sim_load_closures", closures_tx, &sim->cal)) != 0)
    goto fail;
  for (size_t i = 0; i < cfg->n_targets; i++) {
    struct sim_sess *ss = &sim->sess[i];
    struct fix_endpoint ep;
    struct fix_session *s = NULL;
    ss->sim = sim;
    snprintf(ss->id, sizeof ss->id, "%s->%s", cfg->sender, cfg->targets[i]);
    sim->n_sess = i + 1;
    memset(&ep, 0, sizeof ep);
    fix_session_cfg_init(&ep.cfg, FIX_ACCEPTOR, cfg->sender, cfg->targets[i]);
    ep.cfg.max_skew_s = cfg->max_skew_s;
    ep.cfg.reset_minute = cfg->reset_minute;
    memcpy(ep.cfg.tz, cfg->tz, sizeof ep.cfg.tz);
    ep.app = (struct fix_app){ss, app_message, app_logon, app_disconnect, app_work, app_persist};
    if ((rc = fix_net_add(net, &ep, &s)) != 0)
      goto fail;
    if (s != NULL && strcmp(fix_session_id(s), ss->id) != 0)
      copy_str(ss->id, sizeof ss->id, fix_session_id(s));
    if ((rc = reload(ss)) != 0)
      goto fail;
  }
  *out = sim;
  return 0;
fail:
  fix_sim_free(sim);
  return rc;
}

void fix_sim_free(struct fix_sim *sim)
{
  if (sim == NULL)
    return;
  for (size_t i = 0; i < sim->n_sess; i++)
    free_state(&sim->sess[i]);
  cal_free(&sim->cal);
  free(sim);
}
