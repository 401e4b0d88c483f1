/*
 * Corporate actions: what an operator does -- announce (with the default
 * window), schedule (recording the multipliers or the old symbol the
 * step's guard expects), cancel (before applied) and reconcile (after
 * applied).  Each *_in() joins the caller's transaction, so the API
 * writes its audit record in the same one; the others wrap it in a
 * db_txn() of their own.  Every change re-reads the action's row FOR
 * UPDATE and changes it only from the status it checked.
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_corpact_int.h"

/* The instrument's symbol, clock_now() (ms), and the New York date of $2 (effective_at). */
static const struct db_stmt q_announce_ctx = {
    "corpact_announce_ctx",
    "SELECT i.symbol, (extract(epoch from clock_now()) * 1000)::bigint,"
    " ((('epoch'::timestamptz + $2::bigint * interval '1 millisecond')"
    " AT TIME ZONE 'America/New_York')::date - date '1970-01-01')"
    " FROM instruments i WHERE i.id = $1::bigint",
    2,
};

/* 16:00 in New York on day number $1, as Unix ms. */
static const struct db_stmt q_ny_close = {
    "corpact_ny_close",
    "SELECT (extract(epoch from ((date '1970-01-01' + $1::integer) + time '16:00')"
    " AT TIME ZONE 'America/New_York') * 1000)::bigint",
    1,
};

static const struct db_stmt q_insert = {
    "corpact_insert",
    "INSERT INTO corporate_actions (instrument, type, ratio_old, ratio_new, cash_per_share,"
    " currency, new_symbol, record_date, ex_date, pay_date, effective_at, window_start,"
    " window_end, created_by) VALUES ($1::bigint, $2, $3::numeric, $4::numeric, $5::numeric, $6,"
    " $7, date '1970-01-01' + $8::integer, date '1970-01-01' + $9::integer,"
    " date '1970-01-01' + $10::integer,"
    " 'epoch'::timestamptz + $11::bigint * interval '1 millisecond',"
    " 'epoch'::timestamptz + $12::bigint * interval '1 millisecond',"
    " 'epoch'::timestamptz + $13::bigint * interval '1 millisecond', $14::bigint) RETURNING id",
    14,
};

/* The instrument's multiplier and symbol, clock_now() (ms), and other scheduled splits. */
static const struct db_stmt q_schedule_ctx = {
    "corpact_schedule_ctx",
    "SELECT i.multiplier, i.symbol, (extract(epoch from clock_now()) * 1000)::bigint,"
    " (SELECT count(*) FROM corporate_actions o WHERE o.instrument = i.id"
    " AND o.status = 'scheduled' AND o.type IN ('split', 'reverse_split') AND o.id <> $2::bigint)"
    " FROM instruments i WHERE i.id = $1::bigint FOR SHARE OF i",
    2,
};

static const struct db_stmt q_schedule = {
    "corpact_schedule",
    "UPDATE corporate_actions SET status = 'scheduled', old_multiplier = $2::numeric,"
    " new_multiplier = $3::numeric, old_symbol = $4, updated = clock_now()"
    " WHERE id = $1::bigint AND status = 'announced'",
    4,
};

static const struct db_stmt q_status = {
    "corpact_status",
    "UPDATE corporate_actions SET status = $2, updated = clock_now()"
    " WHERE id = $1::bigint AND status = $3",
    3,
};

/* ------------------------------------------------------------------ */
/* Announce                                                            */
/* ------------------------------------------------------------------ */

static enum db_qs load_closures(struct db_conn *c, struct cal *cal)
{
  unsigned line = 0;
  if (cal_load_closures(cal, cal_builtin_closures, cal_builtin_closures_len, &line) != 0) {
    log_bug("corpact", "built-in closures line %u", line);
    return DB_QS_HARD;
  }
  return db_select_market_closures(c, cal);
}

/* 16:00 New York on the business day before @day, as Unix ms. */
static int close_before(struct db_conn *c, int32_t day, int64_t *out)
{
  struct cal cal;
  int32_t prev;
  char b[ISS_I64_TXT];
  PGresult *r = NULL;
  cal_init(&cal);
  enum db_qs qs = load_closures(c, &cal);
  int rc = qs < 0 ? issuance__qs_err(qs) : 0;
  if (rc == 0 && cal_add_business_days(&cal, day, -1, &prev) != 0)
    rc = -ERR_INVALID_ARGUMENT;
  cal_free(&cal);
  if (rc != 0)
    return rc;
  snprintf(b, sizeof b, "%ld", (long)prev);
  const char *p[] = {b};
  qs = db_exec(c, &q_ny_close, p, &r);
  if (qs <= 0)
    return qs < 0 ? issuance__qs_err(qs) : -ERR_DB_HARD;
  *out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return 0;
}

static const char *money_param(bool has, struct money m, char buf[MONEY_STR_MAX])
{
  if (!has)
    return NULL;
  money_format(m, buf, MONEY_STR_MAX);
  return buf;
}

static const char *day_param(int32_t day, char buf[ISS_I64_TXT])
{
  if (day == CORPACT_DATE_NONE)
    return NULL;
  snprintf(buf, ISS_I64_TXT, "%ld", (long)day);
  return buf;
}

int corpact_announce_in(struct db_conn *c, int64_t instrument, const struct corpact_terms *t,
                        int64_t by, struct corpact *out, char *why, size_t wsz)
{
  char bi[ISS_I64_TXT], be[ISS_I64_TXT];
  PGresult *r = NULL;
  int rc = corpact_terms_check(t, why, wsz);
  if (rc != 0)
    return rc;
  const char *p1[] = {corpact__ms_text(instrument, bi), corpact__ms_text(t->effective_ms, be)};
  enum db_qs qs = db_exec(c, &q_announce_ctx, p1, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == DB_QS_NONE)
    return kv_fail(why, wsz, -ERR_API_NOT_FOUND, "no such instrument");
  char symbol[CORPACT_SYMBOL_MAX];
  util_strlcpy(symbol, PQgetvalue(r, 0, 0), sizeof symbol);
  int64_t now = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
  int32_t eff_day = (int32_t)strtol(PQgetvalue(r, 0, 2), NULL, 10);
  PQclear(r);

  if (t->effective_ms <= now)
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                   "field \"effective_at\": must be after the clock's now");
  if (t->new_symbol[0] != '\0' && strcmp(t->new_symbol, symbol) == 0)
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                   "field \"new_symbol\": the instrument already has this symbol");
  int64_t start = t->window_start_ms, end = t->window_end_ms;
  if (start == CORPACT_TIME_NONE) {
    int64_t close = 0;
    rc = close_before(c, t->ex_date != CORPACT_DATE_NONE ? t->ex_date : eff_day, &close);
    if (rc == -ERR_INVALID_ARGUMENT)
      return kv_fail(why, wsz, rc, "field \"ex_date\": out of the calendar's range");
    if (rc != 0)
      return rc;
    start = close > now ? close : now;
    if (start > t->effective_ms)
      start = t->effective_ms;
  }
  if (end == CORPACT_TIME_NONE)
    end = t->effective_ms + CORPACT_WINDOW_TAIL_MS;
  if (start >= end)
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                   "field \"window_end\": must be after window_start");

  char ro[MONEY_STR_MAX], rn[MONEY_STR_MAX], cps[MONEY_STR_MAX], d1[ISS_I64_TXT], d2[ISS_I64_TXT],
      d3[ISS_I64_TXT], bs[ISS_I64_TXT], bn[ISS_I64_TXT], bb[ISS_I64_TXT];
  const char *p[] = {bi,
                     corpact_type_name(t->type),
                     money_param(t->has_ratio, t->ratio_old, ro),
                     money_param(t->has_ratio, t->ratio_new, rn),
                     money_param(t->has_cash, t->cash_per_share, cps),
                     t->has_cash ? t->currency : NULL,
                     t->new_symbol[0] != '\0' ? t->new_symbol : NULL,
                     day_param(t->record_date, d1),
                     day_param(t->ex_date, d2),
                     day_param(t->pay_date, d3),
                     be,
                     corpact__ms_text(start, bs),
                     corpact__ms_text(end, bn),
                     by > 0 ? corpact__ms_text(by, bb) : NULL};
  qs = db_exec(c, &q_insert, p, &r);
  if (qs <= 0)
    return qs < 0 ? issuance__qs_err(qs) : -ERR_DB_HARD;
  int64_t id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  if (out == NULL)
    return 0;
  return corpact_get(c, id, false, out);
}

/* ------------------------------------------------------------------ */
/* Changes of status                                                   */
/* ------------------------------------------------------------------ */

static int schedule_in(struct db_conn *c, const struct corpact *a, char *why, size_t wsz)
{
  char bi[ISS_I64_TXT], ba[ISS_I64_TXT], om[MONEY_STR_MAX], nm[MONEY_STR_MAX];
  PGresult *r = NULL;
  const char *p1[] = {corpact__ms_text(a->instrument, bi), corpact__ms_text(a->id, ba)};
  enum db_qs qs = db_exec(c, &q_schedule_ctx, p1, &r);
  if (qs <= 0)
    return qs < 0 ? issuance__qs_err(qs) : -ERR_API_NOT_FOUND;
  struct money old;
  int rc = issuance__num_money(PQgetvalue(r, 0, 0), CORPACT_MULT_SCALE, &old);
  char symbol[CORPACT_SYMBOL_MAX];
  util_strlcpy(symbol, PQgetvalue(r, 0, 1), sizeof symbol);
  int64_t now = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
  long long others = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
  PQclear(r);
  if (rc != 0)
    return -ERR_INTERNAL;
  if (a->terms.effective_ms <= now)
    return kv_fail(why, wsz, -ERR_API_CONFLICT,
                   "effective_at has passed: cancel this action and announce it again");
  const char *pm[2] = {NULL, NULL};
  if (corpact__multiplier_type(a->terms.type)) {
    struct money nw;
    if (others > 0)
      return kv_fail(why, wsz, -ERR_API_CONFLICT,
                     "another split of this instrument is scheduled: apply or cancel it "
                     "first (its guard expects the multiplier of now)");
    rc = corpact_multiplier(old, a->terms.ratio_new, a->terms.ratio_old, &nw);
    if (rc != 0)
      return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                     "field \"ratio_new\": the new multiplier would be out of range");
    money_format(old, om, sizeof om);
    money_format(nw, nm, sizeof nm);
    pm[0] = om;
    pm[1] = nm;
  }
  const char *p[] = {ba, pm[0], pm[1], a->terms.type == CORPACT_SYMBOL_CHANGE ? symbol : NULL};
  qs = db_exec(c, &q_schedule, p, NULL);
  if (qs < 0)
    return issuance__qs_err(qs);
  return qs == 1 ? 0 : -ERR_DB_HARD; /* the row is locked in status announced */
}

/* Which statuses a change starts from (bits), and where it goes. */
struct change {
  const char *verb;
  unsigned from; /* 1u << status */
  enum corpact_status to;
};

static const struct change ch_schedule = {"scheduled", 1u << CORPACT_ANNOUNCED, CORPACT_SCHEDULED};
static const struct change ch_cancel = {
    "cancelled", (1u << CORPACT_ANNOUNCED) | (1u << CORPACT_SCHEDULED), CORPACT_CANCELLED};
static const struct change ch_reconcile = {"reconciled", 1u << CORPACT_APPLIED, CORPACT_RECONCILED};

static int change_in(struct db_conn *c, int64_t id, const struct change *ch, struct corpact *out,
                     char *why, size_t wsz)
{
  struct corpact a;
  int rc = corpact_get(c, id, true, &a);
  if (rc == -ERR_API_NOT_FOUND)
    return kv_fail(why, wsz, rc, "no such corporate action");
  if (rc != 0)
    return rc;
  if ((ch->from & (1u << a.status)) == 0)
    return kv_fail(why, wsz, -ERR_API_CONFLICT, "the action is %s: it cannot be %s",
                   corpact_status_name(a.status), ch->verb);
  if (ch->to == CORPACT_SCHEDULED) {
    rc = schedule_in(c, &a, why, wsz);
  } else {
    char b[ISS_I64_TXT];
    const char *p[] = {corpact__ms_text(id, b), corpact_status_name(ch->to),
                       corpact_status_name(a.status)};
    enum db_qs qs = db_exec(c, &q_status, p, NULL);
    rc = qs < 0 ? issuance__qs_err(qs) : qs == 1 ? 0 : -ERR_DB_HARD;
  }
  if (rc != 0 || out == NULL)
    return rc;
  return corpact_get(c, id, false, out);
}

int corpact_schedule_in(struct db_conn *c, int64_t id, struct corpact *out, char *why, size_t wsz)
{
  return change_in(c, id, &ch_schedule, out, why, wsz);
}

int corpact_cancel_in(struct db_conn *c, int64_t id, struct corpact *out, char *why, size_t wsz)
{
  return change_in(c, id, &ch_cancel, out, why, wsz);
}

int corpact_reconcile_in(struct db_conn *c, int64_t id, struct corpact *out, char *why, size_t wsz)
{
  return change_in(c, id, &ch_reconcile, out, why, wsz);
}

/* ------------------------------------------------------------------ */
/* In a transaction of their own                                       */
/* ------------------------------------------------------------------ */

struct own {
  const struct change *ch; /* NULL: announce */
  int64_t id;              /* instrument for announce, else the action */
  const struct corpact_terms *t;
  int64_t by;
  struct corpact a;
  int rc;
  char why[CORPACT_TEXT_MAX];
};

static enum db_qs own_body(struct db_conn *c, void *cls)
{
  struct own *o = cls;
  o->why[0] = '\0';
  o->rc = o->ch == NULL ? corpact_announce_in(c, o->id, o->t, o->by, &o->a, o->why, sizeof o->why)
                        : change_in(c, o->id, o->ch, &o->a, o->why, sizeof o->why);
  if (o->rc == -ERR_DB_CONFLICT)
    return DB_QS_SOFT;
  if (o->rc == -ERR_DB_HARD)
    return DB_QS_HARD;
  /* A refusal wrote nothing: committing the empty transaction is harmless. */
  return DB_QS_NONE;
}

static int own_run(struct db_conn *c, struct own *o, struct corpact *out, char *why, size_t wsz)
{
  int rc = db_txn(c, o->ch == NULL ? "corpact_announce" : "corpact_change", own_body, o);
  if (rc == 0)
    rc = o->rc;
  if (rc == 0)
    log_msg(LOGL_INFO, "corpact", "corporate action %lld (%s of %s) %s", (long long)o->a.id,
            corpact_type_name(o->a.terms.type), o->a.symbol, corpact_status_name(o->a.status));
  if (rc == 0 && out != NULL)
    *out = o->a;
  if (rc != 0 && why != NULL && wsz > 0)
    util_strlcpy(why, o->why, wsz);
  return rc;
}

int corpact_announce(struct db_conn *c, int64_t instrument, const struct corpact_terms *t,
                     int64_t by, struct corpact *out, char *why, size_t wsz)
{
  struct own o = {.ch = NULL, .id = instrument, .t = t, .by = by};
  return own_run(c, &o, out, why, wsz);
}

int corpact_schedule(struct db_conn *c, int64_t id, struct corpact *out, char *why, size_t wsz)
{
  struct own o = {.ch = &ch_schedule, .id = id};
  return own_run(c, &o, out, why, wsz);
}

int corpact_cancel(struct db_conn *c, int64_t id, struct corpact *out, char *why, size_t wsz)
{
  struct own o = {.ch = &ch_cancel, .id = id};
  return own_run(c, &o, out, why, wsz);
}

int corpact_reconcile(struct db_conn *c, int64_t id, struct corpact *out, char *why, size_t wsz)
{
  struct own o = {.ch = &ch_reconcile, .id = id};
  return own_run(c, &o, out, why, wsz);
}
