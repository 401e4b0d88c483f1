/*
 * The broker connector: orders in PostgreSQL, sent to the broker over a
 * FIX initiator session, and what the broker reports back.
 *
 * The rest of the service writes an order row (fix_broker_place) and a
 * NOTIFY; the connector process runs struct fix_broker as the session's
 * application.  Invariants (docs/broker.md has the whole argument):
 *
 * - A NewOrderSingle goes out only for an order in state pending_new, and
 *   its ClOrdID is "BS<order id>", never anything else.  The persist hook
 *   marks the order 'sent' with the MsgSeqNum in the same transaction
 *   that stores the frame, before the frame reaches the socket: after a
 *   crash the order is either still pending_new (nothing went out, it is
 *   sent as new) or sent and stored (the broker gets it again only by a
 *   ResendRequest, as PossDup with the same ClOrdID, and we ask for its
 *   state with OrderStatusRequest at the next logon).
 * - Every ExecutionReport is applied in one transaction whose first
 *   statement inserts its ExecID into a unique column: a duplicate changes
 *   nothing.  Trades (F), busts (H) and corrections (G) also get a row in
 *   broker_executions, which the rest of the service reads by cursor.
 * - CumQty, LeavesQty and AvgPx of a report are the broker's running
 *   totals: the order takes them as they come, never sums them itself.
 *
 * Longer than most files (about 1,400 lines): the queries live beside
 * the code that runs them rather than in db/, since they belong to this
 * module's tables and statements are prepared per connection anyway.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "fix/fix.h"

#define COMP        "broker"
#define BATCH       100 /* orders read per query */
#define DK_QUEUE    32  /* DontKnowTrades waiting for the rate limit */
#define BODY_MAX    2048
#define POLL_MS     1000
#define NUM_TXT     64 /* a numeric as text */
#define OPEN_STATES "('sent', 'new', 'partially_filled')"

struct fix_broker {
  struct db_conn *c;
  char account[FIX_COMPID_MAX];
  char session_id[2 * FIX_COMPID_MAX + 4];
  bool status_pending; /* OrderStatusRequests still to send after a logon */
  uint64_t status_after;
  struct {
    char body[BODY_MAX];
    size_t len;
  } dk[DK_QUEUE];
  size_t n_dk;
  struct fix_broker_stats stats;
};

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

static const char *const state_names[] = {
    "pending_new", "sent", "new", "partially_filled", "filled", "canceled", "rejected", "expired",
};
static const char *const cancel_names[] = {
    "none", "pending_cancel", "cancel_sent", "cancel_rejected", "cancel_done",
};
#define N_STATES  (sizeof state_names / sizeof state_names[0])
#define N_CANCELS (sizeof cancel_names / sizeof cancel_names[0])

const char *fix_broker_state_name(enum fix_broker_state st)
{
  return (unsigned)st < N_STATES ? state_names[st] : "unknown";
}

const char *fix_broker_cancel_name(enum fix_broker_cancel cs)
{
  return (unsigned)cs < N_CANCELS ? cancel_names[cs] : "unknown";
}

bool fix_broker_state_final(enum fix_broker_state st)
{
  return st == FIX_BROKER_FILLED || st == FIX_BROKER_CANCELED || st == FIX_BROKER_REJECTED ||
         st == FIX_BROKER_EXPIRED;
}

static int name_index(const char *const *names, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(names[i], s) == 0)
      return (int)i;
  return -1;
}

/* The order state an OrdStatus (39) means, or NULL: keep the current one. */
static const char *state_of_ord_status(char st)
{
  switch (st) {
  case '0':
    return "new";
  case '1':
    return "partially_filled";
  case '2':
    return "filled";
  case '4':
    return "canceled";
  case '8':
    return "rejected";
  case '3': /* done for day: nothing more trades on it */
  case 'C':
    return "expired";
  default:
    return NULL; /* 6 pending cancel, A pending new, E pending replace, ... */
  }
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static void u64_txt(char buf[24], uint64_t v)
{
  snprintf(buf, 24, "%" PRIu64, v);
}

static int money_col(const char *s, unsigned scale, struct money *out)
{
  return money_parse(s, strlen(s), scale, MONEY_PARSE_NEGATIVE, out);
}

/* Lower-case hex of @n bytes (for a bytea parameter); malloc'd, NULL on no memory. */
static char *hex_of(const char *p, size_t n)
{
  static const char digits[] = "0123456789abcdef";
  char *h = malloc(2 * n + 1);
  if (h == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    h[2 * i] = digits[(unsigned char)p[i] >> 4];
    h[2 * i + 1] = digits[(unsigned char)p[i] & 15];
  }
  h[2 * n] = '\0';
  return h;
}

static int hexval(char ch)
{
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* Bytes of hex text @h; malloc'd (NUL-terminated for convenience), NULL on bad input. */
static char *unhex(const char *h, size_t *len)
{
  size_t n = strlen(h) / 2;
  char *p = malloc(n + 1);
  if (p == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      free(p);
      return NULL;
    }
    p[i] = (char)(hi << 4 | lo);
  }
  p[n] = '\0';
  *len = n;
  return p;
}

/* Copy outside text for a text column: printable ASCII kept, the rest '?'. */
static void clean_copy(char *dst, size_t size, const char *s, size_t n)
{
  size_t k = n < size - 1 ? n : size - 1;
  for (size_t i = 0; i < k; i++)
    dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  dst[k] = '\0';
}

/* Field @tag cleaned into @dst; "" when absent. */
static void field_txt(const struct fix_msg *m, uint32_t tag, char *dst, size_t size)
{
  const char *v;
  size_t n;
  if (fix_msg_str(m, tag, &v, &n) != 0)
    n = 0;
  clean_copy(dst, size, n > 0 ? v : "", n);
}

/*
 * A decimal field at @scale as text for SQL: 0 with @txt filled, 1 when
 * absent.  More fraction digits than @scale are rounded half-even (the
 * raw message keeps the exact value) with a warning; a value that does
 * not parse at all counts as absent.
 */
static int dec_txt(const struct fix_msg *m, uint32_t tag, unsigned scale, char txt[NUM_TXT])
{
  struct money v;
  int rc = fix_msg_money(m, tag, scale, &v);
  if (rc == -ERR_FIX_MISSING)
    return 1;
  if (rc != 0) {
    const char *s;
    size_t n;
    struct money wide;
    if (fix_msg_str(m, tag, &s, &n) != 0 ||
        money_parse(s, n, 18, MONEY_PARSE_NEGATIVE, &wide) != 0 ||
        money_rescale(wide, scale, MONEY_ROUND_HALF_EVEN, &v) != 0) {
      log_msg(LOGL_WARN, COMP, "tag %u: value does not parse, ignored", tag);
      return 1;
    }
    log_msg(LOGL_WARN, COMP, "tag %u: %.*s rounded to %u decimals", tag, (int)n, s, scale);
  }
  return money_format(v, txt, NUM_TXT) < 0 ? 1 : 0;
}

/*
 * Our order id from a ClOrdID: "BS<id>" (an order) or "BS<id>C<n>" (its
 * n-th cancel request), decimal without leading zeros.  Returns the id, 0
 * when @s is no ClOrdID of ours; *cxl receives n (0 for the order).
 */
static uint64_t parse_cl_ord_id(const char *s, unsigned *cxl)
{
  uint64_t id = 0;
  unsigned n = 0;
  *cxl = 0;
  if (s[0] != 'B' || s[1] != 'S' || s[2] < '1' || s[2] > '9')
    return 0;
  s += 2;
  for (int d = 0; *s >= '0' && *s <= '9'; s++, d++) {
    if (d >= 18)
      return 0;
    id = id * 10 + (uint64_t)(*s - '0');
  }
  if (*s == 'C') {
    s++;
    if (*s < '1' || *s > '9')
      return 0;
    for (int d = 0; *s >= '0' && *s <= '9'; s++, d++) {
      if (d >= 6)
        return 0;
      n = n * 10 + (unsigned)(*s - '0');
    }
  }
  if (*s != '\0')
    return 0;
  *cxl = n;
  return id;
}

/* ------------------------------------------------------------------ */
/* Validation of an order request                                      */
/* ------------------------------------------------------------------ */

static bool valid_symbol(const char *s)
{
  size_t n = s != NULL ? strlen(s) : 0;
  if (n < 1 || n > 16)
    return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    bool alnum = (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (!alnum && (i == 0 || (ch != '.' && ch != '/' && ch != '-')))
      return false;
  }
  return true;
}

/* ISO 6166: 2 letters, 9 letters or digits, a Luhn check digit over the digits
   of the whole code with letters as 10..35. */
static bool valid_isin(const char *s)
{
  char digits[32];
  size_t nd = 0;
  if (strlen(s) != 12)
    return false;
  for (size_t i = 0; i < 12; i++) {
    char ch = s[i];
    bool letter = ch >= 'A' && ch <= 'Z', digit = ch >= '0' && ch <= '9';
    if ((i < 2 && !letter) || (i == 11 && !digit) || (!letter && !digit))
      return false;
    if (digit) {
      digits[nd++] = ch;
    } else {
      int v = ch - 'A' + 10;
      digits[nd++] = (char)('0' + v / 10);
      digits[nd++] = (char)('0' + v % 10);
    }
  }
  unsigned sum = 0;
  for (size_t i = 0; i < nd; i++) {
    unsigned d = (unsigned)(digits[nd - 1 - i] - '0');
    if (i % 2 == 1) {
      d *= 2;
      if (d > 9)
        d -= 9;
    }
    sum += d;
  }
  return sum % 10 == 0;
}

static bool valid_text(const char *s, size_t max)
{
  size_t n = strlen(s);
  if (n < 1 || n > max)
    return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x20 || s[i] >= 0x7f)
      return false;
  return true;
}

/* A positive amount exact at scale 6 that fits numeric(30, 6), as text. */
static int amount_txt(struct money m, char txt[NUM_TXT])
{
  struct money r;
  const __int128 max = (__int128)util_pow10[15] * (__int128)util_pow10[15];
  if (money_rescale(m, FIX_BROKER_QTY_SCALE, MONEY_ROUND_EXACT, &r) != 0 || r.v <= 0 || r.v >= max)
    return -ERR_INVALID_ARGUMENT;
  return money_format(r, txt, NUM_TXT) < 0 ? -ERR_INVALID_ARGUMENT : 0;
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/* ------------------------------------------------------------------ */

static const struct db_stmt st_insert_order = {
    "fix_broker_insert_order",
    "INSERT INTO broker_orders (id, cl_ord_id, symbol, isin, side, quantity, ord_type,"
    " limit_price, tif, note, leaves_qty)"
    " VALUES ($1::bigint, 'BS' || $1, $2, $3, $4, $5::numeric, $6, $7::numeric, $8, $9,"
    " $5::numeric) ON CONFLICT (id) DO NOTHING RETURNING id",
    9,
};

static const struct db_stmt st_same_terms = {
    "fix_broker_same_terms",
    "SELECT symbol = $2 AND isin IS NOT DISTINCT FROM $3::text AND side = $4"
    " AND quantity = $5::numeric AND ord_type = $6"
    " AND limit_price IS NOT DISTINCT FROM $7::numeric AND tif = $8"
    " AND note IS NOT DISTINCT FROM $9::text"
    " FROM broker_orders WHERE id = $1::bigint",
    9,
};

/* An event of order $1, with the order's state after it. */
static const struct db_stmt st_event = {
    "fix_broker_event",
    "INSERT INTO broker_order_events (order_id, kind, state, session_id, msg_seq_num, detail)"
    " SELECT id, $2, state, $3, $4::bigint, $5 FROM broker_orders WHERE id = $1::bigint",
    5,
};

static const struct db_stmt st_notify = {
    "fix_broker_notify",
    "SELECT pg_notify('" FIX_BROKER_CHANNEL "', $1)",
    1,
};

static const struct db_stmt st_states = {
    "fix_broker_states",
    "SELECT state, cancel_state FROM broker_orders WHERE id = $1::bigint",
    1,
};

static const struct db_stmt st_request_cancel = {
    "fix_broker_request_cancel",
    "UPDATE broker_orders SET cancel_state = 'pending_cancel', cancel_count = cancel_count + 1,"
    " updated_at = now() WHERE id = $1::bigint",
    1,
};

static const struct db_stmt st_get = {
    "fix_broker_get",
    "SELECT id, cl_ord_id, symbol, coalesce(isin, ''), side, ord_type, tif, quantity,"
    " coalesce(limit_price, 0), state, cancel_state, cum_qty, leaves_qty, avg_px,"
    " coalesce(broker_order_id, ''), coalesce(sent_seq, 0), coalesce(last_text, ''),"
    " (extract(epoch FROM updated_at) * 1000)::bigint"
    " FROM broker_orders WHERE id = $1::bigint",
    1,
};

static const struct db_stmt st_execs = {
    "fix_broker_execs",
    "SELECT cursor, order_id, exec_id, coalesce(exec_ref_id, ''), exec_type, ord_status,"
    " last_qty, last_px, cum_qty, leaves_qty, avg_px,"
    " coalesce(to_char(trade_date, 'YYYY-MM-DD'), ''),"
    " coalesce(to_char(settl_date, 'YYYY-MM-DD'), ''), msg_seq_num,"
    " array_to_string(unknown_tags, ','), encode(raw, 'hex')"
    " FROM broker_executions WHERE cursor > $1::bigint"
    " AND ($2::bigint = 0 OR order_id = $2::bigint) ORDER BY cursor LIMIT $3::bigint",
    3,
};

/* The connector's lists: one row shape (see struct row). */
#define ROW_COLS                                                                                   \
  "SELECT id, cl_ord_id, symbol, coalesce(isin, ''), side, quantity,"                              \
  " coalesce(limit_price::text, ''), ord_type, tif, coalesce(note, ''),"                           \
  " coalesce(broker_order_id, ''), cancel_count FROM broker_orders "

static const struct db_stmt st_to_send = {
    "fix_broker_to_send",
    ROW_COLS "WHERE state = 'pending_new' AND cancel_state = 'none' ORDER BY id LIMIT $1::bigint",
    1,
};

static const struct db_stmt st_to_cancel = {
    "fix_broker_to_cancel",
    ROW_COLS "WHERE state IN " OPEN_STATES " AND cancel_state = 'pending_cancel'"
             " ORDER BY id LIMIT $1::bigint",
    1,
};

static const struct db_stmt st_to_ask = {
    "fix_broker_to_ask",
    ROW_COLS "WHERE state IN " OPEN_STATES " AND id > $1::bigint ORDER BY id LIMIT $2::bigint",
    2,
};

/* Orders canceled before anything went out: no message needed. */
static const struct db_stmt st_cancel_unsent = {
    "fix_broker_cancel_unsent",
    "WITH c AS (UPDATE broker_orders SET state = 'canceled', cancel_state = 'cancel_done',"
    " leaves_qty = 0, updated_at = now()"
    " WHERE state = 'pending_new' AND cancel_state = 'pending_cancel' RETURNING id, state)"
    " INSERT INTO broker_order_events (order_id, kind, state, detail)"
    " SELECT id, 'canceled_unsent', state, 'canceled before it was sent' FROM c"
    " RETURNING order_id",
    0,
};

static const struct db_stmt st_mark_sent = {
    "fix_broker_mark_sent",
    "UPDATE broker_orders SET state = 'sent', session_id = $2, sent_seq = $3::bigint,"
    " sent_at = now(), updated_at = now() WHERE id = $1::bigint AND state = 'pending_new'",
    3,
};

static const struct db_stmt st_mark_cancel_sent = {
    "fix_broker_mark_cancel_sent",
    "UPDATE broker_orders SET cancel_state = 'cancel_sent', cancel_seq = $2::bigint,"
    " updated_at = now() WHERE id = $1::bigint AND cancel_state = 'pending_cancel'",
    2,
};

/* The order a report names: by id (from 11, then 41), else by OrderID. */
static const struct db_stmt st_find = {
    "fix_broker_find",
    "SELECT id FROM broker_orders WHERE id IN ($1::bigint, $2::bigint)"
    " ORDER BY id = $1::bigint DESC LIMIT 1",
    2,
};

static const struct db_stmt st_find_by_order_id = {
    "fix_broker_find_by_order_id",
    "SELECT id FROM broker_orders WHERE broker_order_id = $1 LIMIT 2",
    1,
};

/* Dedupe first: an ExecID seen before inserts nothing and returns no row. */
static const struct db_stmt st_report_event = {
    "fix_broker_report_event",
    "INSERT INTO broker_order_events (order_id, kind, state, exec_id, session_id, msg_seq_num,"
    " detail, unknown_tags, raw)"
    " SELECT id, $2, coalesce($3::text, state), $4, $5, $6::bigint, $7, $8::integer[],"
    " decode($9, 'hex') FROM broker_orders WHERE id = $1::bigint"
    " ON CONFLICT (exec_id) DO NOTHING RETURNING id",
    9,
};

static const struct db_stmt st_insert_exec = {
    "fix_broker_insert_exec",
    "INSERT INTO broker_executions (exec_id, order_id, exec_type, exec_ref_id, ord_status,"
    " broker_order_id, last_qty, last_px, cum_qty, leaves_qty, avg_px, trade_date, settl_date,"
    " session_id, msg_seq_num, unknown_tags, raw)"
    " VALUES ($1, $2::bigint, $3, $4, $5, $6,"
    " coalesce($7::numeric, (SELECT last_qty FROM broker_executions WHERE exec_id = $4), 0),"
    " coalesce($8::numeric, (SELECT last_px FROM broker_executions WHERE exec_id = $4), 0),"
    " $9::numeric, $10::numeric, $11::numeric, to_date($12, 'YYYYMMDD'),"
    " to_date($13, 'YYYYMMDD'), $14, $15::bigint, $16::integer[], decode($17, 'hex'))"
    " ON CONFLICT (exec_id) DO NOTHING",
    17,
};

static const struct db_stmt st_apply_report = {
    "fix_broker_apply_report",
    "UPDATE broker_orders SET state = coalesce($2::text, state),"
    " cancel_state = CASE WHEN $2::text = 'canceled'"
    " AND cancel_state IN ('pending_cancel', 'cancel_sent') THEN 'cancel_done'"
    " ELSE cancel_state END,"
    " broker_order_id = coalesce($3, broker_order_id),"
    " cum_qty = coalesce($4::numeric, cum_qty), leaves_qty = coalesce($5::numeric, leaves_qty),"
    " avg_px = coalesce($6::numeric, avg_px), last_text = coalesce($7, last_text),"
    " updated_at = now() WHERE id = $1::bigint",
    7,
};

static const struct db_stmt st_cancel_rejected = {
    "fix_broker_cancel_rejected",
    "UPDATE broker_orders SET cancel_state = 'cancel_rejected',"
    " broker_order_id = coalesce($3, broker_order_id), last_text = coalesce($2, last_text),"
    " updated_at = now() WHERE id = $1::bigint"
    " AND cancel_state IN ('pending_cancel', 'cancel_sent')"
    " AND ($4::integer = 0 OR cancel_count = $4::integer)",
    4,
};

static const struct db_stmt st_alert = {
    "fix_broker_alert",
    "INSERT INTO broker_alerts (kind, ref, detail, raw) VALUES ($1, $2, $3, decode($4, 'hex'))"
    " ON CONFLICT (kind, ref) DO NOTHING",
    4,
};

static enum db_qs add_event(struct db_conn *c, uint64_t id, const char *kind, const char *session,
                            uint64_t seq, const char *detail)
{
  char idt[24], seqt[24];
  u64_txt(idt, id);
  u64_txt(seqt, seq);
  const char *p[] = {idt, kind, session, seq != 0 ? seqt : NULL, detail};
  return db_exec(c, &st_event, p, NULL);
}

/* ------------------------------------------------------------------ */
/* Placing, canceling, reading                                         */
/* ------------------------------------------------------------------ */

struct place {
  const char *p[9];
  bool conflict;
};

static enum db_qs place_body(struct db_conn *c, void *cls)
{
  struct place *pl = cls;
  PGresult *r;
  pl->conflict = false;
  enum db_qs qs = db_exec(c, &st_insert_order, pl->p, NULL);
  if (qs < 0)
    return qs;
  if (qs == DB_QS_NONE) {
    /* The id exists: the same terms are a replay, other terms a conflict. */
    if ((qs = db_exec(c, &st_same_terms, pl->p, &r)) <= 0)
      return qs < 0 ? qs : DB_QS_HARD;
    pl->conflict = strcmp(PQgetvalue(r, 0, 0), "t") != 0;
    PQclear(r);
    return DB_QS_NONE;
  }
  uint64_t id = strtoull(pl->p[0], NULL, 10);
  if ((qs = add_event(c, id, "placed", NULL, 0, NULL)) < 0)
    return qs;
  const char *np[] = {pl->p[0]};
  return db_exec(c, &st_notify, np, NULL);
}

int fix_broker_place(struct db_conn *c, const struct fix_broker_order_req *req)
{
  char idt[24], qty[NUM_TXT], px[NUM_TXT];
  if (req == NULL || req->id == 0 || req->id > (uint64_t)INT64_MAX || !valid_symbol(req->symbol))
    return -ERR_INVALID_ARGUMENT;
  if (req->isin != NULL && !valid_isin(req->isin))
    return -ERR_INVALID_ARGUMENT;
  if (req->note != NULL && !valid_text(req->note, FIX_BROKER_NOTE_MAX - 1))
    return -ERR_INVALID_ARGUMENT;
  if ((req->side != FIX_BROKER_BUY && req->side != FIX_BROKER_SELL) ||
      (req->type != FIX_BROKER_MARKET && req->type != FIX_BROKER_LIMIT) ||
      (req->tif != FIX_BROKER_DAY && req->tif != FIX_BROKER_IOC))
    return -ERR_INVALID_ARGUMENT;
  if (amount_txt(req->qty, qty) != 0)
    return -ERR_INVALID_ARGUMENT;
  if (req->type == FIX_BROKER_LIMIT && amount_txt(req->price, px) != 0)
    return -ERR_INVALID_ARGUMENT;
  u64_txt(idt, req->id);
  struct place pl = {
      .p = {idt, req->symbol, req->isin, req->side == FIX_BROKER_BUY ? "buy" : "sell", qty,
            req->type == FIX_BROKER_LIMIT ? "limit" : "market",
            req->type == FIX_BROKER_LIMIT ? px : NULL, req->tif == FIX_BROKER_DAY ? "day" : "ioc",
            req->note},
  };
  int rc = db_txn(c, "broker_place", place_body, &pl);
  if (rc != 0)
    return rc;
  return pl.conflict ? -ERR_FIX_ORDER_CONFLICT : 0;
}

struct cancel {
  const char *idt;
  int result;
};

static enum db_qs cancel_body(struct db_conn *c, void *cls)
{
  struct cancel *cx = cls;
  PGresult *r;
  const char *p[] = {cx->idt};
  enum db_qs qs = db_exec(c, &st_states, p, &r);
  if (qs <= 0) {
    cx->result = -ERR_FIX_ORDER_UNKNOWN;
    return qs;
  }
  int st = name_index(state_names, N_STATES, PQgetvalue(r, 0, 0));
  int cs = name_index(cancel_names, N_CANCELS, PQgetvalue(r, 0, 1));
  PQclear(r);
  cx->result = 0;
  if (st < 0 || fix_broker_state_final((enum fix_broker_state)st)) {
    cx->result = -ERR_FIX_ORDER_FINAL;
    return DB_QS_NONE;
  }
  if (cs == FIX_BROKER_CANCEL_PENDING || cs == FIX_BROKER_CANCEL_SENT)
    return DB_QS_NONE; /* already asked: nothing changes */
  if ((qs = db_exec(c, &st_request_cancel, p, NULL)) < 0)
    return qs;
  if ((qs = add_event(c, strtoull(cx->idt, NULL, 10), "cancel_requested", NULL, 0, NULL)) < 0)
    return qs;
  return db_exec(c, &st_notify, p, NULL);
}

int fix_broker_cancel(struct db_conn *c, uint64_t id)
{
  char idt[24];
  if (id == 0 || id > (uint64_t)INT64_MAX)
    return -ERR_FIX_ORDER_UNKNOWN;
  u64_txt(idt, id);
  struct cancel cx = {.idt = idt};
  int rc = db_txn(c, "broker_cancel", cancel_body, &cx);
  return rc != 0 ? rc : cx.result;
}

static int side_of(const char *s)
{
  return strcmp(s, "buy") == 0 ? FIX_BROKER_BUY : FIX_BROKER_SELL;
}

int fix_broker_get(struct db_conn *c, uint64_t id, struct fix_broker_order *o)
{
  char idt[24];
  PGresult *r;
  if (id == 0 || id > (uint64_t)INT64_MAX)
    return -ERR_FIX_ORDER_UNKNOWN;
  if (!c->in_txn && db_ensure(c) != 0)
    return -ERR_DB_CONNECT;
  u64_txt(idt, id);
  const char *p[] = {idt};
  enum db_qs qs = db_exec(c, &st_get, p, &r);
  if (qs < 0)
    return -ERR_DB_HARD;
  if (qs == 0)
    return -ERR_FIX_ORDER_UNKNOWN;
  memset(o, 0, sizeof *o);
  o->id = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
  util_strlcpy(o->cl_ord_id, PQgetvalue(r, 0, 1), sizeof o->cl_ord_id);
  util_strlcpy(o->symbol, PQgetvalue(r, 0, 2), sizeof o->symbol);
  util_strlcpy(o->isin, PQgetvalue(r, 0, 3), sizeof o->isin);
  o->side = (enum fix_broker_side)side_of(PQgetvalue(r, 0, 4));
  o->type = strcmp(PQgetvalue(r, 0, 5), "limit") == 0 ? FIX_BROKER_LIMIT : FIX_BROKER_MARKET;
  o->tif = strcmp(PQgetvalue(r, 0, 6), "ioc") == 0 ? FIX_BROKER_IOC : FIX_BROKER_DAY;
  int st = name_index(state_names, N_STATES, PQgetvalue(r, 0, 9));
  int cs = name_index(cancel_names, N_CANCELS, PQgetvalue(r, 0, 10));
  o->state = st < 0 ? FIX_BROKER_PENDING_NEW : (enum fix_broker_state)st;
  o->cancel = cs < 0 ? FIX_BROKER_CANCEL_NONE : (enum fix_broker_cancel)cs;
  int bad = money_col(PQgetvalue(r, 0, 7), FIX_BROKER_QTY_SCALE, &o->qty) |
            money_col(PQgetvalue(r, 0, 8), FIX_BROKER_QTY_SCALE, &o->price) |
            money_col(PQgetvalue(r, 0, 11), FIX_BROKER_QTY_SCALE, &o->cum_qty) |
            money_col(PQgetvalue(r, 0, 12), FIX_BROKER_QTY_SCALE, &o->leaves_qty) |
            money_col(PQgetvalue(r, 0, 13), FIX_BROKER_PX_SCALE, &o->avg_px);
  util_strlcpy(o->broker_order_id, PQgetvalue(r, 0, 14), sizeof o->broker_order_id);
  o->sent_seq = strtoull(PQgetvalue(r, 0, 15), NULL, 10);
  util_strlcpy(o->last_text, PQgetvalue(r, 0, 16), sizeof o->last_text);
  o->updated_ms = strtoll(PQgetvalue(r, 0, 17), NULL, 10);
  PQclear(r);
  if (bad != 0) {
    log_bug(COMP, "order %" PRIu64 ": a stored amount does not parse", id);
    return -ERR_INTERNAL;
  }
  return 0;
}

static void parse_tags(const char *s, struct fix_broker_exec *e)
{
  while (*s != '\0') {
    char *end;
    unsigned long t = strtoul(s, &end, 10);
    if (end == s)
      break;
    if (e->n_unknown < 16)
      e->unknown_tags[e->n_unknown] = (uint32_t)t;
    e->n_unknown++;
    s = *end == ',' ? end + 1 : end;
  }
}

static int32_t day_col(const char *s)
{
  int32_t d;
  return s[0] != '\0' && cal_parse_date(s, strlen(s), &d) == 0 ? d : INT32_MIN;
}

int fix_broker_executions(struct db_conn *c, int64_t after, uint64_t order_id, size_t max,
                          fix_broker_exec_fn fn, void *cls)
{
  char at[24], ot[24], mt[24];
  PGresult *r;
  if (max == 0)
    return 0;
  if (!c->in_txn && db_ensure(c) != 0)
    return -ERR_DB_CONNECT;
  snprintf(at, sizeof at, "%" PRId64, after);
  u64_txt(ot, order_id);
  u64_txt(mt, max > 100000 ? 100000 : max);
  const char *p[] = {at, ot, mt};
  enum db_qs qs = db_exec(c, &st_execs, p, &r);
  if (qs < 0)
    return -ERR_DB_HARD;
  int n = 0, rc = 0;
  for (int i = 0; i < (int)qs && rc == 0; i++) {
    struct fix_broker_exec e;
    memset(&e, 0, sizeof e);
    e.cursor = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    e.order_id = strtoull(PQgetvalue(r, i, 1), NULL, 10);
    util_strlcpy(e.exec_id, PQgetvalue(r, i, 2), sizeof e.exec_id);
    util_strlcpy(e.exec_ref_id, PQgetvalue(r, i, 3), sizeof e.exec_ref_id);
    e.exec_type = PQgetvalue(r, i, 4)[0];
    e.ord_status = PQgetvalue(r, i, 5)[0];
    int bad = money_col(PQgetvalue(r, i, 6), FIX_BROKER_QTY_SCALE, &e.last_qty) |
              money_col(PQgetvalue(r, i, 7), FIX_BROKER_PX_SCALE, &e.last_px) |
              money_col(PQgetvalue(r, i, 8), FIX_BROKER_QTY_SCALE, &e.cum_qty) |
              money_col(PQgetvalue(r, i, 9), FIX_BROKER_QTY_SCALE, &e.leaves_qty) |
              money_col(PQgetvalue(r, i, 10), FIX_BROKER_PX_SCALE, &e.avg_px);
    e.trade_day = day_col(PQgetvalue(r, i, 11));
    e.settl_day = day_col(PQgetvalue(r, i, 12));
    e.msg_seq_num = strtoull(PQgetvalue(r, i, 13), NULL, 10);
    parse_tags(PQgetvalue(r, i, 14), &e);
    char *raw = unhex(PQgetvalue(r, i, 15), &e.raw_len);
    if (bad != 0 || raw == NULL) {
      free(raw);
      log_bug(COMP, "execution %" PRId64 " does not read back", e.cursor);
      rc = -ERR_INTERNAL;
      break;
    }
    e.raw = raw;
    n++;
    if (fn(cls, &e) != 0)
      rc = 1;
    free(raw);
  }
  PQclear(r);
  return rc < 0 ? rc : n;
}

/* ------------------------------------------------------------------ */
/* The connector: building and sending orders                          */
/* ------------------------------------------------------------------ */

/* One order as the connector's lists read it (ROW_COLS). */
struct row {
  uint64_t id;
  char cl_ord_id[FIX_BROKER_ID_MAX];
  char symbol[FIX_BROKER_SYMBOL_MAX];
  char isin[FIX_BROKER_ISIN_MAX];
  char side;
  struct money qty, price;
  bool limit;
  char tif;
  char note[FIX_BROKER_NOTE_MAX];
  char broker_order_id[FIX_BROKER_ID_MAX];
  unsigned cancel_count;
};

static void read_row(PGresult *r, int i, struct row *o)
{
  memset(o, 0, sizeof *o);
  o->id = strtoull(PQgetvalue(r, i, 0), NULL, 10);
  util_strlcpy(o->cl_ord_id, PQgetvalue(r, i, 1), sizeof o->cl_ord_id);
  util_strlcpy(o->symbol, PQgetvalue(r, i, 2), sizeof o->symbol);
  util_strlcpy(o->isin, PQgetvalue(r, i, 3), sizeof o->isin);
  o->side = side_of(PQgetvalue(r, i, 4)) == FIX_BROKER_BUY ? '1' : '2';
  money_col(PQgetvalue(r, i, 5), FIX_BROKER_QTY_SCALE, &o->qty);
  o->limit = PQgetvalue(r, i, 6)[0] != '\0';
  if (o->limit)
    money_col(PQgetvalue(r, i, 6), FIX_BROKER_QTY_SCALE, &o->price);
  o->tif = strcmp(PQgetvalue(r, i, 8), "ioc") == 0 ? '3' : '0';
  util_strlcpy(o->note, PQgetvalue(r, i, 9), sizeof o->note);
  util_strlcpy(o->broker_order_id, PQgetvalue(r, i, 10), sizeof o->broker_order_id);
  o->cancel_count = (unsigned)strtoul(PQgetvalue(r, i, 11), NULL, 10);
}

/* The fields after "35=<type> SOH" of a writer's message: what fix_session_send takes. */
static int body_of(struct fix_writer *w, const char *type, const char **body, size_t *len)
{
  size_t skip = 3 + strlen(type) + 1;
  if (w->error != 0)
    return w->error;
  *body = w->buf + w->body_start + skip;
  *len = w->pos - w->body_start - skip;
  return 0;
}

static void instrument(struct fix_writer *w, const struct row *o)
{
  fix_writer_cstr(w, 55, o->symbol);
  if (o->isin[0] != '\0') {
    fix_writer_cstr(w, 48, o->isin);
    fix_writer_char(w, 22, '4');
  }
}

static void write_new_order(struct fix_writer *w, const struct fix_broker *b, const struct row *o,
                            int64_t now_ms)
{
  fix_writer_cstr(w, 11, o->cl_ord_id);
  fix_writer_cstr(w, 1, b->account);
  fix_writer_char(w, 21, '1');
  instrument(w, o);
  fix_writer_char(w, 54, o->side);
  fix_writer_time(w, 60, now_ms);
  fix_writer_money(w, 38, o->qty);
  fix_writer_char(w, 40, o->limit ? '2' : '1');
  if (o->limit)
    fix_writer_money(w, 44, o->price);
  fix_writer_char(w, 59, o->tif);
  fix_writer_char(w, 544, '1');
  if (o->note[0] != '\0')
    fix_writer_cstr(w, 58, o->note);
}

static void write_cancel(struct fix_writer *w, const struct fix_broker *b, const struct row *o,
                         int64_t now_ms)
{
  char cl[FIX_BROKER_ID_MAX + 16];
  snprintf(cl, sizeof cl, "%sC%u", o->cl_ord_id, o->cancel_count);
  fix_writer_cstr(w, 41, o->cl_ord_id);
  fix_writer_cstr(w, 11, cl);
  if (o->broker_order_id[0] != '\0')
    fix_writer_cstr(w, 37, o->broker_order_id);
  fix_writer_cstr(w, 1, b->account);
  instrument(w, o);
  fix_writer_char(w, 54, o->side);
  fix_writer_time(w, 60, now_ms);
  fix_writer_money(w, 38, o->qty);
}

static void write_status(struct fix_writer *w, const struct fix_broker *b, const struct row *o)
{
  fix_writer_cstr(w, 11, o->cl_ord_id);
  if (o->broker_order_id[0] != '\0')
    fix_writer_cstr(w, 37, o->broker_order_id);
  fix_writer_cstr(w, 1, b->account);
  instrument(w, o);
  fix_writer_char(w, 54, o->side);
}

enum list { L_SEND, L_CANCEL, L_ASK };

/*
 * Send one message of kind @what for each order of a list.  Returns 0
 * when the list was worked through, 1 when the rate limit stopped it,
 * negative on a database or session error.  *last receives the last
 * order id sent.
 */
static int send_list(struct fix_broker *b, struct fix_session *s, enum list what, uint64_t after,
                     int64_t now_ms, uint64_t *last)
{
  static const char *const types[] = {"D", "F", "H"};
  char lim[24], aft[24];
  PGresult *r;
  enum db_qs qs;
  u64_txt(lim, BATCH);
  u64_txt(aft, after);
  if (db_ensure(b->c) != 0)
    return -ERR_DB_CONNECT;
  if (what == L_ASK) {
    const char *p[] = {aft, lim};
    qs = db_exec(b->c, &st_to_ask, p, &r);
  } else {
    const char *p[] = {lim};
    qs = db_exec(b->c, what == L_SEND ? &st_to_send : &st_to_cancel, p, &r);
  }
  if (qs < 0) {
    log_msg(LOGL_ERROR, COMP, "reading orders to send: %s", b->c->last_error);
    return -ERR_DB_HARD;
  }
  int rc = 0;
  for (int i = 0; i < (int)qs && rc == 0; i++) {
    struct row o;
    struct fix_writer w;
    char buf[BODY_MAX];
    const char *body;
    size_t len;
    read_row(r, i, &o);
    fix_writer_begin(&w, buf, sizeof buf, types[what]);
    if (what == L_SEND)
      write_new_order(&w, b, &o, now_ms);
    else if (what == L_CANCEL)
      write_cancel(&w, b, &o, now_ms);
    else
      write_status(&w, b, &o);
    if (body_of(&w, types[what], &body, &len) != 0) {
      log_bug(COMP, "order %" PRIu64 ": %s does not encode", o.id, types[what]);
      *last = o.id;
      continue;
    }
    int sr = fix_session_send(s, types[what], body, len, o.id, now_ms);
    if (sr == -ERR_FIX_RATE) {
      rc = 1;
      break;
    }
    if (sr != 0) {
      log_msg(LOGL_WARN, COMP, "order %" PRIu64 ": %s not sent: %s", o.id, types[what],
              err_text(sr));
      rc = sr;
      break;
    }
    *last = o.id;
    if (what == L_SEND)
      b->stats.orders_sent++;
    else if (what == L_CANCEL)
      b->stats.cancels_sent++;
    else
      b->stats.status_requests++;
    log_msg(LOGL_INFO, COMP, "order %" PRIu64 " (%s): %s queued", o.id, o.cl_ord_id,
            what == L_SEND     ? "NewOrderSingle"
            : what == L_CANCEL ? "OrderCancelRequest"
                               : "OrderStatusRequest");
  }
  if (qs > 0)
    PQclear(r);
  if (rc == 0 && what == L_ASK && (int)qs == BATCH)
    rc = 2; /* a full batch: more may follow */
  return rc;
}

/* OrderStatusRequests after a logon, resumed by on_work when the rate limit cut them. */
static int ask_status(struct fix_broker *b, struct fix_session *s, int64_t now_ms)
{
  while (b->status_pending) {
    uint64_t last = b->status_after;
    int rc = send_list(b, s, L_ASK, b->status_after, now_ms, &last);
    b->status_after = last;
    if (rc == 0)
      b->status_pending = false;
    else if (rc != 2)
      return rc;
  }
  return 0;
}

static int flush_dk(struct fix_broker *b, struct fix_session *s, int64_t now_ms)
{
  size_t done = 0;
  int rc = 0;
  while (done < b->n_dk) {
    rc = fix_session_send(s, "Q", b->dk[done].body, b->dk[done].len, 0, now_ms);
    if (rc == -ERR_FIX_RATE)
      break;
    if (rc != 0)
      log_msg(LOGL_ERROR, COMP, "DontKnowTrade not sent: %s", err_text(rc));
    else
      b->stats.dk_sent++;
    done++;
  }
  memmove(b->dk, b->dk + done, (b->n_dk - done) * sizeof b->dk[0]);
  b->n_dk -= done;
  return rc == -ERR_FIX_RATE ? 1 : 0;
}

static enum db_qs cancel_unsent_body(struct db_conn *c, void *cls)
{
  PGresult *r;
  enum db_qs qs = db_exec(c, &st_cancel_unsent, NULL, &r);
  if (qs > 0) {
    for (int i = 0; i < (int)qs; i++)
      log_msg(LOGL_INFO, COMP, "order %s canceled before it was sent", PQgetvalue(r, i, 0));
    PQclear(r);
  }
  (void)cls;
  return qs;
}

static void remember_session(struct fix_broker *b, struct fix_session *s)
{
  util_strlcpy(b->session_id, fix_session_id(s), sizeof b->session_id);
}

static int64_t on_work(void *ctx, struct fix_session *s, int64_t now_ms)
{
  struct fix_broker *b = ctx;
  uint64_t last = 0;
  int rc = 0;
  remember_session(b, s);
  if (fix_session_state(s) != FIX_ST_ACTIVE)
    return POLL_MS;
  if (flush_dk(b, s, now_ms) == 0 && (rc = ask_status(b, s, now_ms)) == 0) {
    if (db_txn(b->c, "broker_cancel_unsent", cancel_unsent_body, NULL) != 0)
      b->stats.errors++;
    rc = send_list(b, s, L_SEND, 0, now_ms, &last);
    if (rc == 0)
      rc = send_list(b, s, L_CANCEL, 0, now_ms, &last);
  } else if (rc == 0) {
    rc = 1; /* the DontKnowTrades wait for the rate limit */
  }
  if (rc < 0)
    b->stats.errors++;
  if (rc == 1) {
    int64_t wait = fix_session_rate_wait_ms(s, now_ms);
    return wait < 1 ? 1 : wait > POLL_MS ? POLL_MS : wait;
  }
  return POLL_MS;
}

static void on_logon(void *ctx, struct fix_session *s)
{
  struct fix_broker *b = ctx;
  remember_session(b, s);
  log_msg(LOGL_INFO, COMP, "logged on (%s): asking the state of every open order", b->session_id);
  b->status_pending = true;
  b->status_after = 0;
  if (ask_status(b, s, util_now_ms()) < 0)
    b->stats.errors++;
}

static void on_disconnect(void *ctx, struct fix_session *s, const char *why)
{
  struct fix_broker *b = ctx;
  (void)s;
  b->status_pending = false;
  log_msg(LOGL_WARN, COMP, "session %s disconnected: %s", b->session_id,
          why != NULL ? why : "(no reason)");
}

/*
 * The persist hook: inside the store's transaction, before anything is
 * written to the socket, record which order went out under which number.
 */
static enum db_qs on_persist(void *ctx, struct db_conn *c, const struct fix_out *batch, size_t n,
                             const char *outbuf)
{
  struct fix_broker *b = ctx;
  const char *sid = b->session_id[0] != '\0' ? b->session_id : NULL;
  (void)outbuf;
  for (size_t i = 0; i < n; i++) {
    const struct fix_out *f = &batch[i];
    char idt[24], seqt[24];
    enum db_qs qs = DB_QS_NONE;
    if (!f->seq_consumed || f->app_ref == 0)
      continue;
    u64_txt(idt, f->app_ref);
    u64_txt(seqt, f->seq);
    if (strcmp(f->msg_type, "D") == 0) {
      const char *p[] = {idt, sid, seqt};
      qs = db_exec(c, &st_mark_sent, p, NULL);
      if (qs == DB_QS_NONE)
        log_bug(COMP, "order %s sent but not pending_new", idt);
      if (qs >= 0)
        qs = add_event(c, f->app_ref, "sent", sid, f->seq, "NewOrderSingle");
    } else if (strcmp(f->msg_type, "F") == 0) {
      const char *p[] = {idt, seqt};
      qs = db_exec(c, &st_mark_cancel_sent, p, NULL);
      if (qs >= 0)
        qs = add_event(c, f->app_ref, "cancel_sent", sid, f->seq, "OrderCancelRequest");
    } else if (strcmp(f->msg_type, "H") == 0) {
      qs = add_event(c, f->app_ref, "status_requested", sid, f->seq, "OrderStatusRequest");
    }
    if (qs < 0)
      return qs;
  }
  return DB_QS_NONE;
}

/* ------------------------------------------------------------------ */
/* The connector: what the broker reports                              */
/* ------------------------------------------------------------------ */

/* An ExecutionReport or OrderCancelReject, read once, as SQL parameters. */
struct report {
  const struct fix_msg *m;
  const struct fix_valid_info *info;
  struct fix_broker *b;
  char exec_id[FIX_BROKER_ID_MAX], cl_ord_id[FIX_BROKER_ID_MAX], orig[FIX_BROKER_ID_MAX];
  char order_id[FIX_BROKER_ID_MAX], exec_ref_id[FIX_BROKER_ID_MAX];
  char exec_type, ord_status;
  char cum[NUM_TXT], leaves[NUM_TXT], avg[NUM_TXT], last_qty[NUM_TXT], last_px[NUM_TXT];
  bool has_cum, has_leaves, has_avg, has_last_qty, has_last_px;
  char trade_date[16], settl_date[16];
  char text[FIX_BROKER_NOTE_MAX + 48];
  char seq[24];
  char tags[16 * 11 + 3];
  char *hex;    /* the raw message */
  uint64_t id;  /* the order, 0 when unknown */
  unsigned cxl; /* n of a "BS<id>C<n>" ClOrdID */
  bool duplicate;
};

static void read_report(struct report *r)
{
  const struct fix_msg *m = r->m;
  char ch[4];
  uint64_t seq = 0;
  field_txt(m, 17, r->exec_id, sizeof r->exec_id);
  field_txt(m, 11, r->cl_ord_id, sizeof r->cl_ord_id);
  field_txt(m, 41, r->orig, sizeof r->orig);
  field_txt(m, 37, r->order_id, sizeof r->order_id);
  field_txt(m, 19, r->exec_ref_id, sizeof r->exec_ref_id);
  field_txt(m, 150, ch, sizeof ch);
  r->exec_type = ch[0];
  field_txt(m, 39, ch, sizeof ch);
  r->ord_status = ch[0];
  r->has_cum = dec_txt(m, 14, FIX_BROKER_QTY_SCALE, r->cum) == 0;
  r->has_leaves = dec_txt(m, 151, FIX_BROKER_QTY_SCALE, r->leaves) == 0;
  r->has_avg = dec_txt(m, 6, FIX_BROKER_PX_SCALE, r->avg) == 0;
  r->has_last_qty = dec_txt(m, 32, FIX_BROKER_QTY_SCALE, r->last_qty) == 0;
  r->has_last_px = dec_txt(m, 31, FIX_BROKER_PX_SCALE, r->last_px) == 0;
  field_txt(m, 75, r->trade_date, sizeof r->trade_date);
  field_txt(m, 64, r->settl_date, sizeof r->settl_date);
  /* The text: 58, with the reject reason (103 or 102) in front when given. */
  char txt[FIX_BROKER_NOTE_MAX], why[16];
  field_txt(m, 58, txt, sizeof txt);
  field_txt(m, fix_msg_is(m, "9") ? 102 : 103, why, sizeof why);
  if (why[0] != '\0')
    snprintf(r->text, sizeof r->text, "%s=%s%s%s", fix_msg_is(m, "9") ? "102" : "103", why,
             txt[0] != '\0' ? " " : "", txt);
  else
    util_strlcpy(r->text, txt, sizeof r->text);
  fix_msg_u64(m, FIX_TAG_MSG_SEQ_NUM, &seq);
  u64_txt(r->seq, seq);
  size_t pos = 0;
  r->tags[pos++] = '{';
  unsigned nt = r->info != NULL ? r->info->n_unknown : 0;
  for (unsigned i = 0; i < nt && i < 16; i++)
    pos += (size_t)snprintf(r->tags + pos, sizeof r->tags - pos, "%s%u", i > 0 ? "," : "",
                            r->info->unknown_tags[i]);
  r->tags[pos++] = '}';
  r->tags[pos] = '\0';
}

/* Whether @s names a broker OrderID we can look orders up by. */
static bool usable_order_id(const char *s)
{
  return s[0] != '\0' && strcmp(s, "NONE") != 0 && strcmp(s, "0") != 0;
}

/* Which of our orders the report is about (r->id, 0 when none). */
static enum db_qs find_order(struct db_conn *c, struct report *r)
{
  char a[24], o[24];
  unsigned cxl_orig;
  PGresult *res;
  uint64_t by_cl = parse_cl_ord_id(r->cl_ord_id, &r->cxl);
  uint64_t by_orig = parse_cl_ord_id(r->orig, &cxl_orig);
  enum db_qs qs;
  r->id = 0;
  if (by_cl != 0 || by_orig != 0) {
    u64_txt(a, by_cl);
    u64_txt(o, by_orig);
    const char *p[] = {a, o};
    if ((qs = db_exec(c, &st_find, p, &res)) < 0)
      return qs;
    if (qs > 0) {
      r->id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
      if (r->id != by_cl)
        r->cxl = 0;
      PQclear(res);
      return qs;
    }
  }
  if (!usable_order_id(r->order_id))
    return DB_QS_NONE;
  const char *p[] = {r->order_id};
  if ((qs = db_exec(c, &st_find_by_order_id, p, &res)) <= 0)
    return qs;
  if (qs == 1)
    r->id = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  return qs;
}

static bool is_trade(char exec_type)
{
  return exec_type == 'F' || exec_type == 'H' || exec_type == 'G';
}

static enum db_qs exec_report_body(struct db_conn *c, void *cls)
{
  struct report *r = cls;
  const char *sid = r->b->session_id[0] != '\0' ? r->b->session_id : NULL;
  char idt[24], detail[96];
  enum db_qs qs;
  r->duplicate = false;
  if ((qs = find_order(c, r)) < 0 || r->id == 0)
    return qs < 0 ? qs : DB_QS_NONE;
  u64_txt(idt, r->id);
  const char *state = state_of_ord_status(r->ord_status);
  /* A status report (I) has no ExecID of its own to dedupe on. */
  bool status = r->exec_type == 'I';
  snprintf(detail, sizeof detail, "ExecutionReport 150=%c 39=%c%s%s", r->exec_type, r->ord_status,
           status ? " 17=" : "", status ? r->exec_id : "");
  const char *ep[] = {idt,    "report", state, status ? NULL : r->exec_id, sid, r->seq,
                      detail, r->tags,  r->hex};
  if ((qs = db_exec(c, &st_report_event, ep, NULL)) < 0)
    return qs;
  if (qs == DB_QS_NONE) {
    r->duplicate = true;
    return DB_QS_NONE;
  }
  if (is_trade(r->exec_type)) {
    const char *xp[] = {
        r->exec_id,
        idt,
        (const char[]){r->exec_type, '\0'},
        r->exec_ref_id[0] != '\0' ? r->exec_ref_id : NULL,
        (const char[]){r->ord_status, '\0'},
        r->order_id,
        r->has_last_qty ? r->last_qty : NULL,
        r->has_last_px ? r->last_px : NULL,
        r->has_cum ? r->cum : "0",
        r->has_leaves ? r->leaves : "0",
        r->has_avg ? r->avg : "0",
        r->trade_date[0] != '\0' ? r->trade_date : NULL,
        r->settl_date[0] != '\0' ? r->settl_date : NULL,
        sid != NULL ? sid : "",
        r->seq,
        r->tags,
        r->hex,
    };
    if ((qs = db_exec(c, &st_insert_exec, xp, NULL)) < 0)
      return qs;
  }
  bool keep_text =
      r->exec_type == '8' || r->exec_type == '4' || r->exec_type == 'C' || r->ord_status == '8';
  const char *up[] = {
      idt,
      state,
      usable_order_id(r->order_id) ? r->order_id : NULL,
      r->has_cum ? r->cum : NULL,
      r->has_leaves ? r->leaves : NULL,
      r->has_avg ? r->avg : NULL,
      keep_text && r->text[0] != '\0' ? r->text : NULL,
  };
  return db_exec(c, &st_apply_report, up, NULL);
}

static enum db_qs alert_body(struct db_conn *c, void *cls)
{
  struct report *r = cls;
  char detail[512];
  snprintf(detail, sizeof detail,
           "ExecutionReport 17=%s 11=%s 41=%s 37=%s 150=%c for no order of ours"
           "; DontKnowTrade sent",
           r->exec_id, r->cl_ord_id, r->orig, r->order_id, r->exec_type);
  const char *p[] = {"unknown_cl_ord_id", r->exec_id[0] != '\0' ? r->exec_id : r->seq, detail,
                     r->hex};
  return db_exec(c, &st_alert, p, NULL);
}

/* DontKnowTrade for a report of an order we do not know (queued on the rate limit). */
static void send_dk(struct fix_broker *b, struct fix_session *s, const struct report *r)
{
  static const uint32_t copy[] = {37, 17, 55, 54, 38, 32, 31};
  struct fix_writer w;
  char buf[BODY_MAX], text[FIX_BROKER_ID_MAX + 32];
  const char *body;
  size_t len;
  fix_writer_begin(&w, buf, sizeof buf, "Q");
  for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++) {
    const char *v;
    size_t n;
    if (fix_msg_str(r->m, copy[i], &v, &n) == 0 && n > 0)
      fix_writer_str(&w, copy[i], v, n);
    else if (copy[i] == 38 && fix_msg_str(r->m, 14, &v, &n) == 0 && n > 0)
      fix_writer_str(&w, 38, v, n); /* no OrderQty: the quantity the report names */
    if (i == 1)
      fix_writer_char(&w, 127, 'D'); /* no matching order */
  }
  snprintf(text, sizeof text, "unknown ClOrdID %s", r->cl_ord_id[0] != '\0' ? r->cl_ord_id : "-");
  fix_writer_cstr(&w, 58, text);
  if (body_of(&w, "Q", &body, &len) != 0) {
    log_msg(LOGL_ERROR, COMP, "DontKnowTrade for ExecID %s does not encode", r->exec_id);
    return;
  }
  int rc = fix_session_send(s, "Q", body, len, 0, util_now_ms());
  if (rc == 0) {
    b->stats.dk_sent++;
    return;
  }
  if (rc == -ERR_FIX_RATE && b->n_dk < DK_QUEUE) {
    memcpy(b->dk[b->n_dk].body, body, len);
    b->dk[b->n_dk++].len = len;
    return;
  }
  log_msg(LOGL_ERROR, COMP, "DontKnowTrade for ExecID %s not sent: %s", r->exec_id, err_text(rc));
}

static int on_exec_report(struct fix_broker *b, struct fix_session *s, struct report *r)
{
  int rc = db_txn(b->c, "broker_exec_report", exec_report_body, r);
  if (rc != 0) {
    b->stats.errors++;
    log_msg(LOGL_ERROR, COMP, "ExecutionReport 17=%s 11=%s not recorded: %s", r->exec_id,
            r->cl_ord_id, err_text(rc));
    /* The session consumed it: ask the broker for every open order's state again. */
    b->status_pending = true;
    b->status_after = 0;
    return rc;
  }
  if (r->id == 0) {
    log_msg(LOGL_ERROR, COMP,
            "ALERT ExecutionReport 17=%s 11=%s 37=%s matches no order of ours: DontKnowTrade",
            r->exec_id, r->cl_ord_id, r->order_id);
    if ((rc = db_txn(b->c, "broker_alert", alert_body, r)) != 0)
      b->stats.errors++;
    send_dk(b, s, r);
    return rc;
  }
  if (r->duplicate) {
    b->stats.duplicates++;
    log_msg(LOGL_INFO, COMP, "order %" PRIu64 ": duplicate ExecID %s ignored", r->id, r->exec_id);
    return 0;
  }
  b->stats.reports++;
  if (is_trade(r->exec_type))
    b->stats.fills++;
  if (r->info != NULL && r->info->n_unknown > 0)
    log_msg(LOGL_WARN, COMP, "order %" PRIu64 ": ExecID %s carries %u tags we do not know %s",
            r->id, r->exec_id, r->info->n_unknown, r->tags);
  log_msg(LOGL_INFO, COMP, "order %" PRIu64 ": ExecutionReport 150=%c 39=%c cum %s avg %s", r->id,
          r->exec_type, r->ord_status, r->has_cum ? r->cum : "-", r->has_avg ? r->avg : "-");
  return 0;
}

static enum db_qs cancel_reject_body(struct db_conn *c, void *cls)
{
  struct report *r = cls;
  char idt[24], nt[16];
  enum db_qs qs;
  if ((qs = find_order(c, r)) < 0 || r->id == 0)
    return qs < 0 ? qs : DB_QS_NONE;
  u64_txt(idt, r->id);
  snprintf(nt, sizeof nt, "%u", r->cxl);
  const char *p[] = {idt, r->text[0] != '\0' ? r->text : NULL,
                     usable_order_id(r->order_id) ? r->order_id : NULL, nt};
  if ((qs = db_exec(c, &st_cancel_rejected, p, NULL)) < 0)
    return qs;
  char detail[FIX_BROKER_ID_MAX + FIX_BROKER_NOTE_MAX + 96];
  snprintf(detail, sizeof detail, "OrderCancelReject 11=%s 39=%c %s", r->cl_ord_id, r->ord_status,
           r->text);
  return add_event(c, r->id, qs > 0 ? "cancel_rejected" : "cancel_reject_stale",
                   r->b->session_id[0] != '\0' ? r->b->session_id : NULL,
                   strtoull(r->seq, NULL, 10), detail);
}

static int on_message(void *ctx, struct fix_session *s, const struct fix_msg *m,
                      const struct fix_valid_info *info)
{
  struct fix_broker *b = ctx;
  bool er = fix_msg_is(m, "8"), cxl = fix_msg_is(m, "9");
  if (!er && !cxl)
    return 1;
  remember_session(b, s);
  struct report *r = calloc(1, sizeof *r);
  if (r == NULL)
    return -ERR_NOMEM;
  r->m = m;
  r->info = info;
  r->b = b;
  read_report(r);
  int rc;
  if ((r->hex = hex_of(m->frame, m->len)) == NULL) {
    rc = -ERR_NOMEM;
  } else if (er) {
    rc = on_exec_report(b, s, r);
  } else {
    rc = db_txn(b->c, "broker_cancel_reject", cancel_reject_body, r);
    if (rc == 0 && r->id == 0)
      log_msg(LOGL_ERROR, COMP, "OrderCancelReject 11=%s 41=%s matches no order of ours",
              r->cl_ord_id, r->orig);
    else if (rc == 0)
      b->stats.cancel_rejects++;
    if (rc == 0)
      log_msg(LOGL_WARN, COMP, "order %" PRIu64 ": cancel rejected: %s", r->id, r->text);
  }
  free(r->hex);
  free(r);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

int fix_broker_create(struct db_conn *c, const char *account, struct fix_broker **out)
{
  if (c == NULL || account == NULL || !valid_text(account, FIX_COMPID_MAX - 1))
    return -ERR_INVALID_ARGUMENT;
  struct fix_broker *b = calloc(1, sizeof *b);
  if (b == NULL)
    return -ERR_NOMEM;
  b->c = c;
  util_strlcpy(b->account, account, sizeof b->account);
  *out = b;
  return 0;
}

void fix_broker_free(struct fix_broker *b)
{
  free(b);
}

struct fix_app fix_broker_app(struct fix_broker *b)
{
  struct fix_app app = {
      .ctx = b,
      .on_message = on_message,
      .on_logon = on_logon,
      .on_disconnect = on_disconnect,
      .on_work = on_work,
      .on_persist = on_persist,
  };
  return app;
}

const struct fix_broker_stats *fix_broker_stats_get(const struct fix_broker *b)
{
  return &b->stats;
}
