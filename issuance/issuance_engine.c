/*
 * The engine: its configuration and lifecycle, one pass over every step,
 * the loop that runs passes (woken by NOTIFY broker_orders and clock),
 * with the corporate actions' scheduler step (corpact_step()) in each,
 * and the small helpers the steps share (the clock, books names,
 * postings under an order's reference, the fee, tokens for a quantity,
 * JSON details).  The steps live in issuance_engine_broker.c (placing,
 * broker final states, cancels), issuance_engine_exec.c (executions),
 * issuance_settle.c (the settlement queue), issuance_engine_chain.c
 * (the token ledger), issuance_engine_moves.c (shared moves, completion)
 * and issuance_engine_check.c (the books hook).  docs/engine.md.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_engine_int.h"

/* ------------------------------------------------------------------ */
/* Configuration and lifecycle                                         */
/* ------------------------------------------------------------------ */

void engine_cfg_init(struct engine_cfg *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->batch = 100;
  cfg->settle_retry_s = 900;
  cfg->escalate_days = 3;
  util_strlcpy(cfg->redemption_address, ENGINE_REDEMPTION_ADDRESS, sizeof cfg->redemption_address);
}

void engine_cfg_from(const struct cfg *c, struct engine_cfg *out)
{
  engine_cfg_init(out);
  out->batch = c->engine_batch;
  out->settle_retry_s = c->settlement_retry_s;
  out->escalate_days = c->settlement_escalate_days;
  util_strlcpy(out->redemption_address, c->redemption_address, sizeof out->redemption_address);
}

int engine_open(struct db_conn *c, const struct cal *cal, const struct engine_cfg *cfg,
                struct engine **out)
{
  char addr[CHAIN_ADDR_STR];
  if (c == NULL || cal == NULL || cfg == NULL || out == NULL || cfg->batch < 1 ||
      cfg->batch > 10000 || cfg->settle_retry_s < 1 || cfg->escalate_days > 250 ||
      chain_address_parse(cfg->redemption_address, addr) != 0 ||
      strcmp(addr, CHAIN_ZERO_ADDRESS) == 0)
    return -ERR_INVALID_ARGUMENT;
  struct engine *e = calloc(1, sizeof *e);
  if (e == NULL)
    return -ERR_NOMEM;
  e->c = c;
  e->cal = cal;
  e->cfg = *cfg;
  util_strlcpy(e->cfg.redemption_address, addr, sizeof e->cfg.redemption_address);
  int rc = chain_builtin_open(c, &e->l);
  if (rc != 0) {
    free(e);
    return rc;
  }
  *out = e;
  return 0;
}

void engine_free(struct engine *e)
{
  if (e == NULL)
    return;
  chain_ledger_free(e->l);
  free(e);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static const struct db_stmt q_now = {
    "engine_now",
    "SELECT floor(extract(epoch FROM t) * 1000)::bigint,"
    " (t AT TIME ZONE 'America/New_York')::date - DATE '1970-01-01',"
    " extract(hour FROM t AT TIME ZONE 'America/New_York')::int * 60"
    " + extract(minute FROM t AT TIME ZONE 'America/New_York')::int"
    " FROM (SELECT clock_now() AS t) s",
    0};

int engine__now(struct db_conn *c, struct engine_now *out)
{
  PGresult *r = NULL;
  if (!c->in_txn && db_ensure(c) != 0)
    return -ERR_DB_CONNECT;
  enum db_qs qs = db_exec(c, &q_now, NULL, &r);
  if (qs <= 0)
    return qs == DB_QS_NONE ? -ERR_INTERNAL : issuance__qs_err(qs);
  out->ms = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  out->ny_day = (int32_t)strtol(PQgetvalue(r, 0, 1), NULL, 10);
  out->ny_minute = (int)strtol(PQgetvalue(r, 0, 2), NULL, 10);
  PQclear(r);
  return 0;
}

void engine__names(const struct order *o, struct engine_names *n)
{
  snprintf(n->ref, sizeof n->ref, "order:%lld", (long long)o->id);
  snprintf(n->ap, sizeof n->ap, "ap:%lld", (long long)o->ap);
  snprintf(n->in_transit, sizeof n->in_transit, "shares:%s:in_transit", o->isin);
  snprintf(n->settled, sizeof n->settled, "shares:%s:settled", o->isin);
  snprintf(n->tokens, sizeof n->tokens, "tokens:%s", o->token_symbol);
}

int engine__post(struct db_conn *c, const struct order *o, const char *what,
                 const struct books_entry *e, size_t n, const char *memo)
{
  struct books_entry kept[BOOKS_ENTRIES_MAX];
  char key[BOOKS_KEY_MAX], ref[BOOKS_REF_MAX];
  size_t k = 0;
  for (size_t i = 0; i < n && k < BOOKS_ENTRIES_MAX; i++)
    if (e[i].amount.v != 0)
      kept[k++] = e[i];
  if (k < 2)
    return 0;
  snprintf(key, sizeof key, "order-%lld-%s", (long long)o->id, what);
  snprintf(ref, sizeof ref, "order:%lld", (long long)o->id);
  struct books_posting p = {
      .key = key, .reference = ref, .memo = memo, .at_ms = 0, .entries = kept, .n_entries = k};
  int rc = books_post(c, &p, NULL);
  return rc == BOOKS_POSTED || rc == BOOKS_ALREADY_POSTED ? 0 : rc;
}

int engine__fee(const struct order *o, struct money cash, struct money *fee)
{
  struct money pct, f;
  if (money_mul(cash, o->fee_rate, ISSUANCE_CASH_SCALE, MONEY_ROUND_UP, &pct) != 0 ||
      money_add(o->fee_flat, pct, &f) != 0 ||
      money_rescale(f, ISSUANCE_CASH_SCALE, MONEY_ROUND_EXACT, &f) != 0)
    return -ERR_MONEY_OVERFLOW;
  if (o->kind == ORDER_REDEEM && money_cmp(f, cash) > 0)
    f = cash;
  *fee = f;
  return 0;
}

int engine__tokens_for(const struct order *o, struct money qty, struct money *out)
{
  struct money t;
  if (money_cmp(qty, o->quantity) == 0)
    return money_rescale(o->token_amount, ISSUANCE_TOKEN_SCALE, MONEY_ROUND_EXACT, out);
  if (money_div(qty, o->multiplier, o->token_decimals, MONEY_ROUND_DOWN, &t) != 0 ||
      money_rescale(t, ISSUANCE_TOKEN_SCALE, MONEY_ROUND_EXACT, &t) != 0)
    return -ERR_MONEY_OVERFLOW;
  *out = t;
  return 0;
}

void engine__fmt(struct money m, char out[MONEY_STR_MAX])
{
  if (money_format(m, out, MONEY_STR_MAX) < 0)
    util_strlcpy(out, "?", MONEY_STR_MAX);
}

void engine__json_init(struct engine_json *j)
{
  j->s[0] = '{';
  j->s[1] = '\0';
  j->n = 1;
}

/* Room kept for the closing brace. */
#define JSON_ROOM (ENGINE_DETAIL_MAX - 2)

static void json_raw(struct engine_json *j, const char *s)
{
  size_t n = strlen(s);
  if (j->n + n >= JSON_ROOM)
    return;
  memcpy(j->s + j->n, s, n + 1);
  j->n += n;
}

static void json_escaped(struct engine_json *j, const char *s)
{
  char clean[ENGINE_DETAIL_MAX];
  size_t k = 0;
  for (; *s != '\0' && k + 1 < sizeof clean; s++)
    clean[k++] = (unsigned char)*s >= 0x80 ? '?' : *s; /* ASCII only: jsonb takes it as it is */
  clean[k] = '\0';
  util_json_escape(j->s, JSON_ROOM, &j->n, clean);
}

void engine__json_str(struct engine_json *j, const char *key, const char *val)
{
  if (j->n > 1)
    json_raw(j, ",");
  json_raw(j, "\"");
  json_escaped(j, key);
  json_raw(j, "\":\"");
  json_escaped(j, val != NULL ? val : "");
  json_raw(j, "\"");
}

void engine__json_money(struct engine_json *j, const char *key, struct money m)
{
  char t[MONEY_STR_MAX];
  engine__fmt(m, t);
  engine__json_str(j, key, t);
}

void engine__json_i64(struct engine_json *j, const char *key, int64_t v)
{
  char t[ISS_I64_TXT];
  snprintf(t, sizeof t, "%lld", (long long)v);
  engine__json_str(j, key, t);
}

void engine__json_day(struct engine_json *j, const char *key, int32_t day)
{
  char t[CAL_DATE_STR];
  cal_format_date(day, t);
  engine__json_str(j, key, t);
}

const char *engine__json_end(struct engine_json *j)
{
  if (j->n + 1 < ENGINE_DETAIL_MAX) {
    j->s[j->n] = '}';
    j->s[j->n + 1] = '\0';
  }
  return j->s;
}

void engine__stats_add(struct engine_stats *to, const struct engine_stats *from)
{
  _Static_assert(sizeof(struct engine_stats) % sizeof(unsigned) == 0, "counters only");
  if (to == NULL)
    return;
  unsigned *t = (unsigned *)to;
  const unsigned *f = (const unsigned *)from;
  for (size_t i = 0; i < sizeof *to / sizeof(unsigned); i++)
    t[i] += f[i];
}

void engine__intent_key(int64_t id, const char *what, char out[CHAIN_KEY_MAX])
{
  snprintf(out, CHAIN_KEY_MAX, "order-%lld-%s", (long long)id, what);
}

int engine__ids(struct db_conn *c, const struct db_stmt *stmt, const char *const *params,
                int64_t *ids, size_t max)
{
  PGresult *r = NULL;
  if (!c->in_txn && db_ensure(c) != 0)
    return -ERR_DB_CONNECT;
  enum db_qs qs = db_exec(c, stmt, params, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  int n = 0;
  for (int i = 0; i < (int)qs && (size_t)n < max; i++)
    ids[n++] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
  PQclear(r);
  return n;
}

/* ------------------------------------------------------------------ */
/* A pass and the loop                                                 */
/* ------------------------------------------------------------------ */

typedef int (*step_fn)(struct engine *e, struct engine_stats *st);

int engine_pass(struct engine *e, struct engine_stats *st)
{
  static const struct {
    const char *name;
    step_fn fn;
  } steps[] = {
      {"place", engine_place_step},   {"exec", engine_exec_step},
      {"broker", engine_broker_step}, {"settle", engine_settle_step},
      {"chain", engine_chain_step},   {"complete", engine_complete_step},
  };
  int total = 0, first_err = 0;
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    int rc = steps[i].fn(e, st);
    if (rc < 0) {
      log_msg(LOGL_WARN, ENGINE_COMP, "step %s: %s", steps[i].name, err_text(rc));
      if (first_err == 0)
        first_err = rc;
    } else {
      total += rc;
    }
  }
  /* Corporate actions due on the clock (issuance_corpact_step.c): applied once, whoever runs it. */
  struct corpact_step_stats cs;
  int rc = corpact_step(e->c, &cs);
  if (rc < 0) {
    log_msg(LOGL_WARN, ENGINE_COMP, "step corpact: %s", err_text(rc));
    if (first_err == 0)
      first_err = rc;
  } else {
    total += (int)(cs.applied + cs.guarded + cs.unplanned);
  }
  return first_err != 0 ? first_err : total;
}

/* LISTEN on the channels that mean "work may be waiting"; again after a reconnect. */
static int listen_channels(struct db_conn *c)
{
  if (db_ensure(c) != 0)
    return -ERR_DB_CONNECT;
  if (db_exec_sql(c, "LISTEN " FIX_BROKER_CHANNEL "; LISTEN clock") < 0)
    return -ERR_DB_HARD;
  return 0;
}

/* Wait up to @ms for a notification (drained) or *stop, in slices of 100 ms. */
static void wait_work(struct db_conn *c, unsigned ms, volatile int *stop)
{
  int64_t end = util_mono_ms() + ms;
  while (!*stop) {
    int64_t left = end - util_mono_ms();
    if (left <= 0)
      return;
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
      util_sleep_ms(left > 100 ? 100 : (unsigned)left);
      continue;
    }
    struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN};
    int n = poll(&pfd, 1, left > 100 ? 100 : (int)left);
    if (n > 0) {
      bool woke = false;
      if (PQconsumeInput(c->pg) == 0)
        return; /* broken: the next pass reconnects */
      PGnotify *nt;
      while ((nt = PQnotifies(c->pg)) != NULL) {
        woke = true;
        PQfreemem(nt);
      }
      if (woke)
        return;
    }
  }
}

int engine_run(struct engine *e, unsigned poll_ms, volatile int *stop)
{
  struct chain_resume_stats rs;
  PGconn *listening = NULL;
  int rc = chain_resume(e->l, &rs);
  if (rc != 0)
    log_msg(LOGL_WARN, ENGINE_COMP, "chain resume: %s", err_text(rc));
  else if (rs.executed + rs.failed + rs.pending > 0)
    log_msg(LOGL_INFO, ENGINE_COMP, "chain resume: %u executed, %u failed, %u pending", rs.executed,
            rs.failed, rs.pending);
  log_msg(LOGL_INFO, ENGINE_COMP, "engine running (poll %u ms, batch %u)", poll_ms, e->cfg.batch);
  while (!*stop) {
    if (listening != e->c->pg || e->c->pg == NULL || PQstatus(e->c->pg) != CONNECTION_OK) {
      listening = listen_channels(e->c) == 0 ? e->c->pg : NULL;
    }
    struct engine_stats st;
    memset(&st, 0, sizeof st);
    rc = engine_pass(e, &st);
    if (rc > 0)
      log_msg(LOGL_DEBUG, ENGINE_COMP,
              "pass: placed %u fills %u finals %u confirmed %u retried %u minted %u completed %u",
              st.placed, st.fills, st.finals, st.confirmed, st.retried, st.minted, st.completed);
    if (rc > 0 && !*stop)
      continue; /* more may wait: the next pass at once */
    wait_work(e->c, poll_ms, stop);
  }
  log_msg(LOGL_INFO, ENGINE_COMP, "engine stopped");
  return 0;
}
