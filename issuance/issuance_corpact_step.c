/*
 * Corporate actions over time: the scheduler step the engine loop calls
 * on each pass, and the raw / multiplier / displayed figures of an
 * instrument.
 *
 * The step applies each due action in a transaction of its own, with the
 * action's row locked and its status, attention and time checked again,
 * so two engines running it at once apply an action once.  The change of
 * the instrument is guarded by the value the action expects (the
 * multiplier, or the symbol): when it is not there, nothing changes, the
 * action stays scheduled with attention text, and the step leaves it
 * alone from then on (an operator cancels it and announces it again).
 */
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "issuance/issuance_corpact_int.h"

/* Most actions one step handles; the rest wait for the next pass. */
#define STEP_BATCH     100
#define STEP_BATCH_TXT "100"

static const struct db_stmt q_due = {
    "corpact_due",
    "SELECT id FROM corporate_actions WHERE status = 'scheduled' AND attention IS NULL"
    " AND effective_at <= clock_now() ORDER BY effective_at, id LIMIT " STEP_BATCH_TXT,
    0,
};

static const struct db_stmt q_unplanned = {
    "corpact_unplanned",
    "UPDATE corporate_actions SET attention = 'effective_at passed while announced: never"
    " scheduled, nothing applied', updated = clock_now() WHERE status = 'announced'"
    " AND attention IS NULL AND effective_at <= clock_now() RETURNING id",
    0,
};

static const struct db_stmt q_now = {
    "corpact_now",
    "SELECT (extract(epoch from clock_now()) * 1000)::bigint",
    0,
};

/* The guarded change: 1 row when the multiplier was the expected one. */
static const struct db_stmt q_set_multiplier = {
    "corpact_set_multiplier",
    "UPDATE instruments SET multiplier = $2::numeric, updated = date_trunc('milliseconds', now())"
    " WHERE id = $1::bigint AND multiplier = $3::numeric",
    3,
};

/* Likewise for a symbol, not when another instrument has the new one. */
static const struct db_stmt q_set_symbol = {
    "corpact_set_symbol",
    "UPDATE instruments SET symbol = $2, updated = date_trunc('milliseconds', now())"
    " WHERE id = $1::bigint AND symbol = $3"
    " AND NOT EXISTS (SELECT 1 FROM instruments o WHERE o.symbol = $2)",
    3,
};

static const struct db_stmt q_instrument_now = {
    "corpact_instrument_now",
    "SELECT multiplier, symbol FROM instruments WHERE id = $1::bigint",
    1,
};

static const struct db_stmt q_applied = {
    "corpact_applied",
    "UPDATE corporate_actions SET status = 'applied', applied_at = clock_now(),"
    " updated = clock_now(), attention = $2 WHERE id = $1::bigint AND status = 'scheduled'",
    2,
};

static const struct db_stmt q_attention = {
    "corpact_attention",
    "UPDATE corporate_actions SET attention = $2, updated = clock_now()"
    " WHERE id = $1::bigint AND status = 'scheduled'",
    2,
};

static const struct db_stmt q_supply_ctx = {
    "corpact_supply_ctx",
    "SELECT token_symbol, token_decimals, multiplier FROM instruments WHERE id = $1::bigint",
    1,
};

/* What applying one action came to, for the log after the commit. */
enum outcome { OUT_SKIPPED = 0, OUT_APPLIED, OUT_GUARDED };

struct apply {
  int64_t id;
  enum outcome out;
  struct corpact a;
  char note[CORPACT_TEXT_MAX]; /* the attention text written, "" none */
};

static enum db_qs exec_qs(struct db_conn *c, const struct db_stmt *s, const char *const *p)
{
  return db_exec(c, s, p, NULL);
}

/* The guard failed: say what the instrument holds instead. */
static enum db_qs guard_failed(struct db_conn *c, struct apply *x, const char *ids)
{
  PGresult *r = NULL;
  const char *p[] = {ids};
  enum db_qs qs = db_exec(c, &q_instrument_now, p, &r);
  if (qs <= 0)
    return qs < 0 ? qs : DB_QS_HARD;
  char want[MONEY_STR_MAX];
  if (corpact__multiplier_type(x->a.terms.type)) {
    money_format(x->a.old_multiplier, want, sizeof want);
    snprintf(x->note, sizeof x->note,
             "guard failed: the multiplier is %s, expected %s; not applied, an operator must look",
             PQgetvalue(r, 0, 0), want);
  } else {
    snprintf(x->note, sizeof x->note,
             "guard failed: the symbol is %s, expected %s, or %s is taken; not applied, an "
             "operator must look",
             PQgetvalue(r, 0, 1), x->a.old_symbol, x->a.terms.new_symbol);
  }
  PQclear(r);
  char b[ISS_I64_TXT];
  const char *pa[] = {corpact__ms_text(x->id, b), x->note};
  qs = exec_qs(c, &q_attention, pa);
  if (qs < 0)
    return qs;
  x->out = OUT_GUARDED;
  return DB_QS_NONE;
}

static enum db_qs apply_body(struct db_conn *c, void *cls)
{
  struct apply *x = cls;
  PGresult *r = NULL;
  char ids[ISS_I64_TXT], bi[ISS_I64_TXT];
  x->out = OUT_SKIPPED;
  x->note[0] = '\0';
  int rc = corpact_get(c, x->id, true, &x->a);
  if (rc == -ERR_DB_CONFLICT)
    return DB_QS_SOFT;
  if (rc != 0)
    return rc == -ERR_API_NOT_FOUND ? DB_QS_NONE : DB_QS_HARD;
  enum db_qs qs = db_exec(c, &q_now, NULL, &r);
  if (qs <= 0)
    return qs < 0 ? qs : DB_QS_HARD;
  int64_t now = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  if (x->a.status != CORPACT_SCHEDULED || x->a.attention[0] != '\0' ||
      x->a.terms.effective_ms > now)
    return DB_QS_NONE; /* someone else got there first */
  corpact__ms_text(x->id, ids);
  corpact__ms_text(x->a.instrument, bi);
  enum corpact_type ty = x->a.terms.type;
  if (corpact__multiplier_type(ty)) {
    char om[MONEY_STR_MAX], nm[MONEY_STR_MAX];
    money_format(x->a.old_multiplier, om, sizeof om);
    money_format(x->a.new_multiplier, nm, sizeof nm);
    const char *p[] = {bi, nm, om};
    if ((qs = exec_qs(c, &q_set_multiplier, p)) < 0)
      return qs;
    if (qs == DB_QS_NONE)
      return guard_failed(c, x, bi);
  } else if (ty == CORPACT_SYMBOL_CHANGE) {
    const char *p[] = {bi, x->a.terms.new_symbol, x->a.old_symbol};
    if ((qs = exec_qs(c, &q_set_symbol, p)) < 0)
      return qs;
    if (qs == DB_QS_NONE)
      return guard_failed(c, x, bi);
  } else if (ty != CORPACT_CASH_DIVIDEND) {
    snprintf(x->note, sizeof x->note,
             "recorded only: a %s changes nothing automatically yet; act on it by hand, then "
             "reconcile",
             corpact_type_name(ty));
  }
  const char *pa[] = {ids, x->note[0] != '\0' ? x->note : NULL};
  if ((qs = exec_qs(c, &q_applied, pa)) < 0)
    return qs;
  if (qs != 1)
    return DB_QS_HARD; /* the row is locked in status scheduled */
  x->out = OUT_APPLIED;
  return DB_QS_NONE;
}

static void log_outcome(const struct apply *x)
{
  const struct corpact *a = &x->a;
  char om[MONEY_STR_MAX], nm[MONEY_STR_MAX];
  if (x->out == OUT_GUARDED) {
    log_msg(LOGL_WARN, "corpact", "corporate action %lld (%s of %s) not applied: %s",
            (long long)a->id, corpact_type_name(a->terms.type), a->symbol, x->note);
  } else if (corpact__multiplier_type(a->terms.type)) {
    money_format(a->old_multiplier, om, sizeof om);
    money_format(a->new_multiplier, nm, sizeof nm);
    log_msg(LOGL_INFO, "corpact", "corporate action %lld (%s of %s) applied: multiplier %s -> %s",
            (long long)a->id, corpact_type_name(a->terms.type), a->symbol, om, nm);
  } else if (a->terms.type == CORPACT_SYMBOL_CHANGE) {
    log_msg(LOGL_INFO, "corpact", "corporate action %lld (symbol_change) applied: %s -> %s",
            (long long)a->id, a->old_symbol, a->terms.new_symbol);
  } else {
    log_msg(x->note[0] != '\0' ? LOGL_WARN : LOGL_INFO, "corpact",
            "corporate action %lld (%s of %s) applied (recorded)%s%s", (long long)a->id,
            corpact_type_name(a->terms.type), a->symbol, x->note[0] != '\0' ? ": " : "", x->note);
  }
}

struct due {
  int64_t ids[STEP_BATCH];
  int n;
  bool unplanned; /* mark the announced ones past their time instead */
};

static enum db_qs due_body(struct db_conn *c, void *cls)
{
  struct due *d = cls;
  PGresult *r = NULL;
  d->n = 0;
  enum db_qs qs = db_exec(c, d->unplanned ? &q_unplanned : &q_due, NULL, &r);
  if (qs <= 0)
    return qs;
  int n = PQntuples(r);
  for (int i = 0; i < n && i < STEP_BATCH; i++)
    d->ids[d->n++] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
  PQclear(r);
  return qs;
}

int corpact_step(struct db_conn *c, struct corpact_step_stats *st)
{
  struct corpact_step_stats s = {0, 0, 0};
  struct due d;
  d.unplanned = true;
  int rc = db_txn(c, "corpact_unplanned", due_body, &d);
  if (rc == 0) {
    for (int i = 0; i < d.n; i++)
      log_msg(LOGL_WARN, "corpact",
              "corporate action %lld: effective_at passed while announced; never scheduled, "
              "nothing applied",
              (long long)d.ids[i]);
    s.unplanned = (unsigned)d.n;
    d.unplanned = false;
    rc = db_txn(c, "corpact_due", due_body, &d);
  }
  for (int i = 0; rc == 0 && i < d.n; i++) {
    struct apply x = {.id = d.ids[i]};
    rc = db_txn(c, "corpact_apply", apply_body, &x);
    if (rc != 0)
      break;
    if (x.out == OUT_SKIPPED)
      continue;
    log_outcome(&x);
    if (x.out == OUT_APPLIED)
      s.applied++;
    else
      s.guarded++;
  }
  if (st != NULL)
    *st = s;
  return rc;
}

/* ------------------------------------------------------------------ */
/* Raw, multiplier, displayed                                          */
/* ------------------------------------------------------------------ */

struct supply_ctx {
  int64_t id;
  PGresult *r;
};

static enum db_qs supply_body(struct db_conn *c, void *cls)
{
  struct supply_ctx *x = cls;
  char b[ISS_I64_TXT];
  const char *p[] = {corpact__ms_text(x->id, b)};
  PQclear(x->r);
  x->r = NULL;
  return db_exec(c, &q_supply_ctx, p, &x->r);
}

int corpact_supply(struct db_conn *c, int64_t instrument, struct corpact_supply *out)
{
  struct supply_ctx x = {instrument, NULL};
  struct corpact_supply s;
  memset(&s, 0, sizeof s);
  int rc = db_txn(c, "corpact_supply", supply_body, &x);
  if (rc != 0) {
    PQclear(x.r);
    return rc;
  }
  if (x.r == NULL)
    return -ERR_API_NOT_FOUND;
  s.instrument = instrument;
  util_strlcpy(s.token_symbol, PQgetvalue(x.r, 0, 0), sizeof s.token_symbol);
  s.token_decimals = (unsigned)strtoul(PQgetvalue(x.r, 0, 1), NULL, 10);
  rc = issuance__num_money(PQgetvalue(x.r, 0, 2), CORPACT_MULT_SCALE, &s.multiplier);
  PQclear(x.r);
  if (rc != 0)
    return -ERR_INTERNAL;

  struct chain_ledger *l = NULL;
  struct money raw = {.v = 0, .scale = (uint8_t)s.token_decimals};
  if ((rc = chain_builtin_open(c, &l)) != 0)
    return rc;
  rc = chain_supply(l, s.token_symbol, CHAIN_LATEST, &raw, &s.block);
  if (rc == -ERR_CHAIN_UNKNOWN_TOKEN) {
    /* Never registered on the ledger: nothing minted. */
    raw.v = 0;
    raw.scale = (uint8_t)s.token_decimals;
    rc = chain_head(l, &s.block);
  }
  chain_ledger_free(l);
  if (rc != 0)
    return rc;
  if ((rc = corpact_figures(raw, s.multiplier, &s)) != 0)
    return rc;
  *out = s;
  return 0;
}
