/*
 * The settlement queue's worker (docs/settlement.md).  Each fill of an
 * order has one settlement_items row (written by the engine with the
 * fill); the worker claims one due item per transaction -- pending,
 * next_try_at passed, settle_date reached on the clock's New York date --
 * (or a confirmation of its ExecID arrived since its last try: a retry
 * does not wait out settlement_retry_s when the custodian has spoken)
 * with FOR UPDATE SKIP LOCKED, so any number of workers (threads or
 * processes) share the queue and an item is handled by one at a time,
 * and confirms it against the custodian's sese.025 confirmations
 * (custody_settlements): the transaction id is the ExecID (or its
 * custody_simcust_tx_id() form), same ISIN, same quantity, direction RECE
 * for a buy and DELI for a sell.
 *
 * Confirmed: in the same transaction the item is marked confirmed (the
 * custodian's document and date), the settlement is posted (key
 * "order-<id>-settle-<ExecID>": delivery against payment), the order's
 * settled figures grow, an event records it (with a note when the
 * custodian's date differs from ours), and the order moves on once all
 * its live items are confirmed.  Not found: attempts + 1, tried again
 * cfg.settle_retry_s later on the clock; the order (settling) moves to
 * settlement_failed at the first miss after the settlement date (once,
 * not per retry); cfg.escalate_days NYSE
 * business days after settle_date the item and its order go to
 * requires_attention.  The claim, the lookup and every write are one
 * transaction: an item is confirmed at most once, whatever the workers.
 */
#include <stdlib.h>
#include <string.h>

#include "custody/custody.h"
#include "issuance/issuance_engine_int.h"

static const struct db_stmt q_claim = {
    "settle_claim",
    "SELECT id, order_id, exec_id, side, isin, quantity, cash,"
    " settle_date - DATE '1970-01-01', attempts FROM settlement_items"
    " WHERE state = 'pending' AND (next_try_at <= clock_now() OR EXISTS (SELECT 1"
    " FROM custody_settlements cs WHERE cs.tx_id = settlement_items.exec_id"
    " AND cs.document_id > settlement_items.seen_document))"
    " AND settle_date <= (clock_now() AT TIME ZONE 'America/New_York')::date"
    " ORDER BY next_try_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
    0};

static const struct db_stmt q_confirmation = {
    "settle_confirmation",
    "SELECT document_id, settlement_date - DATE '1970-01-01', coalesce(amount::text, ''), tx_id"
    " FROM custody_settlements WHERE tx_id IN ($1, $2) AND isin = $3 AND direction = $4"
    " AND quantity = $5::numeric AND NOT is_short ORDER BY document_id LIMIT 1",
    5};

static const struct db_stmt q_confirm = {
    "settle_confirm",
    "UPDATE settlement_items SET state = 'confirmed', attempts = attempts + 1,"
    " custody_document = $2::bigint, custody_settle_date = $3::date, confirmed_at = clock_now(),"
    " last_error = NULL WHERE id = $1::bigint",
    3};

static const struct db_stmt q_settled_figures = {
    "settle_order_figures",
    "UPDATE orders SET settled_qty = settled_qty + $2::numeric,"
    " settled_cash = settled_cash + $3::numeric WHERE id = $1::bigint",
    3};

static const struct db_stmt q_retry = {
    "settle_retry",
    "UPDATE settlement_items SET attempts = attempts + 1, last_error = $3,"
    " next_try_at = clock_now() + make_interval(secs => $2::integer),"
    " seen_document = (SELECT COALESCE(max(document_id), 0) FROM custody_settlements"
    " WHERE tx_id = settlement_items.exec_id) WHERE id = $1::bigint",
    3};

static const struct db_stmt q_escalate = {
    "settle_escalate",
    "UPDATE settlement_items SET state = 'requires_attention', attempts = attempts + 1,"
    " last_error = $2 WHERE id = $1::bigint",
    2};

struct claimed {
  int64_t id, order_id;
  char exec_id[FIX_BROKER_ID_MAX];
  bool buy;
  char isin[ORDER_ISIN_MAX];
  struct money qty, cash;
  int32_t settle_day;
  int attempts;
};

struct settle_job {
  struct engine *e;
  struct engine_stats st;
  bool claimed;
  int64_t item; /* the item claimed (also when its handling failed) */
  int rc;
};

/* The settlement posting of item @it of @o: delivery against payment. */
static int post_settlement(struct db_conn *c, const struct order *o, const struct claimed *it)
{
  struct engine_names nm;
  struct money q = it->qty, nq = it->qty, m = it->cash, nm_ = it->cash;
  char key[BOOKS_KEY_MAX];
  nq.v = -nq.v;
  nm_.v = -nm_.v;
  engine__names(o, &nm);
  struct books_entry buy[] = {
      {BOOKS_OWNER_BROKER, "cash:USD", nm_},   {BOOKS_OWNER_CUSTODIAN, "cash:USD", m},
      {BOOKS_OWNER_ISSUER, nm.in_transit, nq}, {BOOKS_OWNER_BROKER, nm.in_transit, q},
      {BOOKS_OWNER_CUSTODIAN, nm.settled, nq}, {BOOKS_OWNER_ISSUER, nm.settled, q},
  };
  struct books_entry sell[] = {
      {BOOKS_OWNER_CUSTODIAN, nm.settled, q},   {BOOKS_OWNER_ISSUER, nm.settled, nq},
      {BOOKS_OWNER_BROKER, nm.in_transit, nq},  {BOOKS_OWNER_ISSUER, nm.in_transit, q},
      {BOOKS_OWNER_CUSTODIAN, "cash:USD", nm_}, {BOOKS_OWNER_BROKER, "cash:USD", m},
  };
  bool ok = strlen(it->exec_id) <= 63 && it->exec_id[0] != '\0';
  for (const char *p = it->exec_id; ok && *p != '\0'; p++)
    ok = *p > ' ' && *p <= '~';
  if (ok)
    snprintf(key, sizeof key, "settle-%s", it->exec_id);
  else
    snprintf(key, sizeof key, "settle-i%lld", (long long)it->id);
  return engine__post(c, o, key, it->buy ? buy : sell, 6, "settlement confirmed by the custodian");
}

static int escalate_after(const struct engine *e, const struct claimed *it, int32_t *day)
{
  return cal_add_business_days(e->cal, it->settle_day, (int)e->cfg.escalate_days, day);
}

/* Confirmed by custody document @doc of date @cday: everything of the confirmation. */
static int confirm(struct settle_job *j, struct order *o, const struct claimed *it, int64_t doc,
                   int32_t cday, const char *amount, const char *tx_id)
{
  struct db_conn *c = j->e->c;
  struct engine_json d;
  char iid[ISS_I64_TXT], docs[ISS_I64_TXT], cd[CAL_DATE_STR], oid[ISS_I64_TXT];
  char q[MONEY_STR_MAX], cash[MONEY_STR_MAX];
  int rc = post_settlement(c, o, it);
  if (rc != 0)
    return rc;
  snprintf(iid, sizeof iid, "%lld", (long long)it->id);
  snprintf(docs, sizeof docs, "%lld", (long long)doc);
  cal_format_date(cday, cd);
  const char *p[] = {iid, docs, cd};
  enum db_qs qs = db_exec(c, &q_confirm, p, NULL);
  if (qs < 0)
    return issuance__qs_err(qs);
  snprintf(oid, sizeof oid, "%lld", (long long)o->id);
  engine__fmt(it->qty, q);
  engine__fmt(it->cash, cash);
  const char *fp[] = {oid, q, cash};
  if ((qs = db_exec(c, &q_settled_figures, fp, NULL)) < 0)
    return issuance__qs_err(qs);
  if (money_add(o->settled_qty, it->qty, &o->settled_qty) != 0 ||
      money_add(o->settled_cash, it->cash, &o->settled_cash) != 0)
    return -ERR_MONEY_OVERFLOW;
  engine__json_init(&d);
  engine__json_str(&d, "settled", it->exec_id);
  engine__json_i64(&d, "item", it->id);
  engine__json_i64(&d, "custody_document", doc);
  engine__json_str(&d, "custody_tx_id", tx_id);
  engine__json_day(&d, "settle_date", it->settle_day);
  engine__json_str(&d, "custody_settle_date", cd);
  engine__json_money(&d, "qty", it->qty);
  engine__json_money(&d, "cash", it->cash);
  if (cday != it->settle_day)
    engine__json_str(&d, "note", "the custodian's settlement date differs from ours");
  if (amount[0] != '\0') {
    struct money amt;
    if (issuance__num_money(amount, ISSUANCE_CASH_SCALE, &amt) != 0 ||
        money_cmp(amt, it->cash) != 0) {
      engine__json_str(&d, "custody_amount", amount);
      engine__json_str(&d, "amount_note", "the custodian's settled amount differs from the fill's");
    }
  }
  if ((rc = order_event_in(c, o->id, o->state, ENGINE_ACTOR, engine__json_end(&d))) != 0)
    return rc;
  ENGINE_COUNT(&j->st, confirmed);
  rc = engine__advance_in(j->e, o, &j->st);
  return rc < 0 ? rc : 0;
}

/* Not confirmed (yet): retry later, or escalate. */
static int miss(struct settle_job *j, struct order *o, const struct claimed *it,
                const struct engine_now *now)
{
  struct db_conn *c = j->e->c;
  struct engine_json d;
  char iid[ISS_I64_TXT], secs[ISS_I64_TXT], why[256], sd[CAL_DATE_STR];
  int32_t esc;
  int rc = escalate_after(j->e, it, &esc);
  if (rc != 0)
    return -ERR_CAL_DATE_RANGE;
  snprintf(iid, sizeof iid, "%lld", (long long)it->id);
  cal_format_date(it->settle_day, sd);
  engine__json_init(&d);
  engine__json_str(&d, "unsettled", it->exec_id);
  engine__json_i64(&d, "item", it->id);
  engine__json_str(&d, "settle_date", sd);
  engine__json_i64(&d, "attempts", it->attempts + 1);
  if (now->ny_day >= esc) {
    snprintf(why, sizeof why,
             "settlement of %s (settle date %s) not confirmed by the custodian after %u business "
             "days",
             it->exec_id, sd, j->e->cfg.escalate_days);
    const char *p[] = {iid, why};
    enum db_qs qs = db_exec(c, &q_escalate, p, NULL);
    if (qs < 0)
      return issuance__qs_err(qs);
    ENGINE_COUNT(&j->st, escalated);
    ENGINE_COUNT(&j->st, attention);
    return engine__attention_in(c, o, why, engine__json_end(&d));
  }
  snprintf(secs, sizeof secs, "%u", j->e->cfg.settle_retry_s);
  const char *p[] = {iid, secs, "no matching sese.025 confirmation yet"};
  enum db_qs qs = db_exec(c, &q_retry, p, NULL);
  if (qs < 0)
    return issuance__qs_err(qs);
  ENGINE_COUNT(&j->st, retried);
  /*
   * A trade fails when it has not settled on its settlement date: misses
   * on that date itself (the custodian may confirm at any time of it) are
   * retried quietly; from the next day on the order is settlement_failed.
   * One event per change of state, not per retry.
   */
  if (o->state == ORDER_SETTLING && now->ny_day > it->settle_day)
    return order_transition_in(c, o->id, o->state, ORDER_SETTLEMENT_FAILED, ENGINE_ACTOR,
                               engine__json_end(&d));
  return 0;
}

static int parse_claim(PGresult *r, struct claimed *it)
{
  memset(it, 0, sizeof *it);
  it->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  it->order_id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
  util_strlcpy(it->exec_id, PQgetvalue(r, 0, 2), sizeof it->exec_id);
  it->buy = strcmp(PQgetvalue(r, 0, 3), "buy") == 0;
  util_strlcpy(it->isin, PQgetvalue(r, 0, 4), sizeof it->isin);
  it->settle_day = (int32_t)strtol(PQgetvalue(r, 0, 7), NULL, 10);
  it->attempts = (int)strtol(PQgetvalue(r, 0, 8), NULL, 10);
  if (issuance__num_money(PQgetvalue(r, 0, 5), ISSUANCE_QTY_SCALE, &it->qty) != 0 ||
      issuance__num_money(PQgetvalue(r, 0, 6), ISSUANCE_CASH_SCALE, &it->cash) != 0)
    return -ERR_INTERNAL;
  return 0;
}

static enum db_qs settle_body(struct db_conn *c, void *cls)
{
  struct settle_job *j = cls;
  struct claimed it;
  struct order o;
  struct engine_now now;
  PGresult *r = NULL;
  int rc;
  j->claimed = false;
  j->rc = 0;
  memset(&j->st, 0, sizeof j->st);
  enum db_qs qs = db_exec(c, &q_claim, NULL, &r);
  if (qs <= 0)
    return qs;
  rc = parse_claim(r, &it);
  PQclear(r);
  j->item = it.id;
  if (rc == 0 && (rc = engine__now(c, &now)) == 0)
    rc = order_get(c, it.order_id, true, &o);
  if (rc != 0) {
    j->rc = rc;
    return order_qs(rc) == DB_QS_NONE ? DB_QS_HARD : order_qs(rc);
  }
  j->claimed = true;
  /* The custodian's transaction id: the ExecID as it is, or its hashed form. */
  char tx[CUSTODY_ID_MAX], qty[MONEY_STR_MAX];
  custody_simcust_tx_id(it.exec_id, tx);
  engine__fmt(it.qty, qty);
  const char *p[] = {it.exec_id, tx, it.isin, it.buy ? "RECE" : "DELI", qty};
  r = NULL;
  qs = db_exec(c, &q_confirmation, p, &r);
  if (qs < 0)
    return qs;
  if (qs > 0) {
    int32_t cday = (int32_t)strtol(PQgetvalue(r, 0, 1), NULL, 10);
    rc = confirm(j, &o, &it, strtoll(PQgetvalue(r, 0, 0), NULL, 10), cday, PQgetvalue(r, 0, 2),
                 PQgetvalue(r, 0, 3));
    PQclear(r);
  } else {
    rc = miss(j, &o, &it, &now);
  }
  j->rc = rc;
  if (rc != 0)
    return order_qs(rc) == DB_QS_NONE ? DB_QS_HARD : order_qs(rc);
  return DB_QS_NONE;
}

struct defer_job {
  int64_t item;
  unsigned secs;
  const char *why;
};

/* An item whose handling failed for a reason of ours: tried again later, not at the queue's head.
 */
static enum db_qs defer_body(struct db_conn *c, void *cls)
{
  struct defer_job *j = cls;
  char iid[ISS_I64_TXT], secs[ISS_I64_TXT];
  snprintf(iid, sizeof iid, "%lld", (long long)j->item);
  snprintf(secs, sizeof secs, "%u", j->secs);
  const char *p[] = {iid, secs, j->why};
  enum db_qs qs = db_exec(c, &q_retry, p, NULL);
  return qs < 0 ? qs : DB_QS_NONE;
}

int engine_settle_step(struct engine *e, struct engine_stats *st)
{
  int done = 0;
  for (unsigned i = 0; i < e->cfg.batch; i++) {
    struct settle_job j = {.e = e};
    int rc = db_txn(e->c, "settle_item", settle_body, &j);
    if (j.rc != 0 && j.item != 0 && j.rc != -ERR_DB_CONFLICT && j.rc != -ERR_DB_HARD &&
        j.rc != -ERR_DB_CONNECT) {
      struct defer_job dj = {.item = j.item, .secs = e->cfg.settle_retry_s, .why = err_text(j.rc)};
      log_msg(LOGL_ERROR, ENGINE_COMP, "settlement item %lld: %s (deferred)", (long long)j.item,
              err_text(j.rc));
      ENGINE_COUNT(st, errors);
      if (db_txn(e->c, "settle_defer", defer_body, &dj) == 0)
        continue;
    }
    if (rc != 0 || j.rc != 0) {
      log_msg(LOGL_WARN, ENGINE_COMP, "settlement: %s", err_text(rc != 0 ? rc : j.rc));
      ENGINE_COUNT(st, errors);
      return done > 0 ? done : (rc != 0 ? rc : j.rc);
    }
    if (!j.claimed)
      break; /* nothing due */
    engine__stats_add(st, &j.st);
    done++;
  }
  return done;
}
