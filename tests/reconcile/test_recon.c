/*
 * The reconciler (reconcile/recon*.c, docs/reconcile.md) on a real
 * PostgreSQL: statements are semt.002 documents ingested through the
 * custody store, settlements sese.025 confirmations, tokens minted on the
 * built-in ledger, orders and their settlement items written directly.
 * A clean day, then the planted faults of issue 6: a settlement that never
 * arrives, a statement one share short, a missing page, a corporate action
 * applied by the custodian only, an over-mint; plus an unknown ISIN, the
 * resumable pass, the admin's resolution of a break and the operators'
 * alerts breaks raise.  Exact figures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain/chain.h"
#include "custody/custody.h"
#include "migrations/migrations.h"
#include "reconcile/reconcile.h"
#include "tests/support/testsupport.h"

#define ISIN     "US0378331005"
#define ISIN_X   "US5949181045" /* no instrument has it */
#define SERVICER "BANKUS33XXX"
#define ACCOUNT  "RESERVE-1"
#define WALLET   "0x00000000000000000000000000000000000000a1"

struct t {
  struct ts_db db;
  struct db_conn *c;
  struct custody_store *store;
  struct chain_ledger *chain;
  long long ap;
  long long instrument;
};

static struct t T;

static int setup(void **state)
{
  (void)state;
  memset(&T, 0, sizeof T);
  T.c = ts_db_migrated("recon", &T.db, 5, migrations_all, migrations_count);
  assert_int_equal(custody_store_open(T.c, SERVICER, ACCOUNT, NULL, &T.store), 0);
  assert_int_equal(chain_builtin_open(T.c, &T.chain), 0);
  T.ap =
      ts_sql_int(T.c, "INSERT INTO principals (name, role) VALUES ('ap-one', 'ap') RETURNING id");
  T.instrument = ts_sql_int(
      T.c, "INSERT INTO instruments (symbol, isin, token_symbol, token_decimals, mint_policy,"
           " burn_policy, min_order_qty, max_order_qty, market_open, market_close, cutoff,"
           " out_of_hours) VALUES ('AAPL', '" ISIN "', 'AAPLx', 18, 'at_settlement',"
           " 'on_receipt', 0.000001, 100000, '09:30', '16:00', '15:30', 'queue') RETURNING id");
  struct chain_token tok;
  memset(&tok, 0, sizeof tok);
  snprintf(tok.symbol, sizeof tok.symbol, "AAPLx");
  snprintf(tok.name, sizeof tok.name, "Apple tokenized");
  tok.decimals = 18;
  assert_int_equal(chain_token_register(T.chain, &tok), 0);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  chain_ledger_free(T.chain);
  custody_store_free(T.store);
  ts_db_done(&T.c, &T.db);
  return 0;
}

static void sql(const char *fmt, ...)
{
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  ts_sql(T.c, buf);
}

static long long sql_int(const char *fmt, ...)
{
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return ts_sql_int(T.c, buf);
}

/* The text of one value (asserted present). */
static void expect(const char *want, const char *fmt, ...)
{
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  char *v = ts_sql_value(T.c, buf);
  assert_non_null(v);
  assert_string_equal(v, want);
  free(v);
}

static int32_t day(unsigned d)
{
  int32_t out;
  assert_int_equal(cal_day(2026, 3, d, &out), 0);
  return out;
}

/* One position: @isin, @shares whole shares, SHOR when @shrt. */
struct pos {
  const char *isin;
  long long shares;
  bool shrt;
};

/* Ingests page @page of statement @id (March @d 2026, 22:00 UTC) with @n positions. */
static struct custody_ingest statement(const char *id, unsigned d, unsigned page, bool last,
                                       const struct pos *p, size_t n)
{
  struct custody_stmt st;
  struct custody_ingest res;
  char *buf = NULL;
  size_t len = 0;
  memset(&st, 0, sizeof st);
  st.kind = CUSTODY_KIND_SEMT002;
  snprintf(st.stmt_id, sizeof st.stmt_id, "%s", id);
  st.page_no = page;
  st.last_page = last;
  st.stmt_day = day(d);
  st.stmt_ms = (int64_t)day(d) * 86400000 + 22 * 3600000;
  st.stmt_has_time = true;
  snprintf(st.frequency, sizeof st.frequency, "DAIL");
  st.update = CUSTODY_UPDATE_COMPLETE;
  st.basis = CUSTODY_BASIS_SETT;
  snprintf(st.account_owner, sizeof st.account_owner, "ISSUER-1");
  snprintf(st.account_servicer, sizeof st.account_servicer, SERVICER);
  snprintf(st.safekeeping_account, sizeof st.safekeeping_account, ACCOUNT);
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  assert_int_equal(custody_semt002_write_begin(f, &st), 0);
  for (size_t i = 0; i < n; i++) {
    struct custody_position q;
    memset(&q, 0, sizeof q);
    snprintf(q.isin, sizeof q.isin, "%s", p[i].isin);
    q.aggregate.present = true;
    q.aggregate.kind = CUSTODY_QTY_UNIT;
    q.aggregate.shrt = p[i].shrt;
    assert_int_equal(
        money_make((__int128)p[i].shares * 100000000000000000, CUSTODY_QTY_SCALE, &q.aggregate.qty),
        0);
    assert_int_equal(custody_semt002_write_position(f, &q), 0);
  }
  assert_int_equal(custody_semt002_write_end(f), 0);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(custody_ingest_mem(T.store, buf, len, id, &res), 0);
  assert_int_equal(res.outcome, CUSTODY_INGESTED);
  free(buf);
  return res;
}

/* A one-page statement holding @shares of ISIN. */
static void statement1(const char *id, unsigned d, long long shares)
{
  struct pos p = {ISIN, shares, false};
  struct custody_ingest r = statement(id, d, 1, true, &p, 1);
  assert_true(r.completed);
}

/* A sese.025 confirmation of @shares settled on March @d. */
static void settlement(const char *tx, unsigned d, long long shares, bool receive)
{
  struct custody_settlement s;
  struct custody_ingest res;
  char *buf = NULL;
  size_t len = 0;
  memset(&s, 0, sizeof s);
  snprintf(s.tx_id, sizeof s.tx_id, "%s", tx);
  snprintf(s.account_owner, sizeof s.account_owner, "ISSUER-1");
  snprintf(s.account_servicer, sizeof s.account_servicer, SERVICER);
  snprintf(s.safekeeping_account, sizeof s.safekeeping_account, ACCOUNT);
  snprintf(s.isin, sizeof s.isin, ISIN);
  s.qty.present = true;
  s.qty.kind = CUSTODY_QTY_UNIT;
  assert_int_equal(money_make((__int128)shares * 100000000000000000, CUSTODY_QTY_SCALE, &s.qty.qty),
                   0);
  s.direction = receive ? CUSTODY_RECEIVE : CUSTODY_DELIVER;
  s.trade_day = day(d - 1);
  s.settlement_day = day(d);
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  assert_int_equal(custody_sese025_write(f, &s), 0);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(custody_ingest_mem(T.store, buf, len, tx, &res), 0);
  assert_int_equal(res.outcome, CUSTODY_INGESTED);
  free(buf);
}

/* An order of @kind for @qty shares in @state; returns its id. */
static long long order(const char *kind, long long qty, const char *state)
{
  bool mint = strcmp(kind, "mint") == 0;
  return sql_int("INSERT INTO orders (kind, ap, instrument, wallet, quantity, limit_price,"
                 " token_amount, multiplier, mint_policy, burn_policy, fee_flat, fee_rate, state,"
                 " filled_qty, session_date) VALUES ('%s', %lld, %lld, '" WALLET "', %lld, 10,"
                 " %lld, 1, %s, %s, 0, 0, '%s', %lld, '2026-03-01') RETURNING id",
                 kind, T.ap, T.instrument, qty, qty, mint ? "'at_settlement'" : "NULL",
                 mint ? "NULL" : "'on_receipt'", state, qty);
}

/* An event of order @o entering @state on March @d at @hour UTC. */
static void event(long long o, int seq, const char *state, unsigned d, int hour)
{
  sql("INSERT INTO order_events (order_id, seq, to_state, actor, at) VALUES (%lld, %d, '%s',"
      " 'engine', '2026-03-%02u %02d:00:00+00')",
      o, seq, state, d, hour);
}

/* A fill of @o (@side) traded March @td, due March @sd; confirmed on March @cd (0: not). */
static long long fill(long long o, const char *exec, const char *side, long long qty, unsigned td,
                      unsigned sd, unsigned cd)
{
  char confirmed[64] = "NULL";
  if (cd != 0)
    snprintf(confirmed, sizeof confirmed, "'2026-03-%02u'", cd);
  return sql_int("INSERT INTO settlement_items (order_id, exec_id, side, isin, quantity, price,"
                 " cash, trade_date, settle_date, state, next_try_at, custody_settle_date,"
                 " confirmed_at, created) VALUES (%lld, '%s', '%s', '" ISIN "', %lld, 10,"
                 " %lld, '2026-03-%02u', '2026-03-%02u', '%s', '2026-03-%02u', %s,"
                 " %s::timestamptz, '2026-03-%02u 15:00:00+00') RETURNING id",
                 o, exec, side, qty, qty * 10, td, sd, cd != 0 ? "confirmed" : "pending", sd,
                 confirmed, confirmed, td);
}

/* Executes a chain operation under @key at March @d 20:00 UTC. */
static void chain_op(bool mint, const char *key, long long tokens, unsigned d)
{
  struct money amt;
  struct chain_intent in;
  assert_int_equal(money_make((__int128)tokens * 1000000000000000000, 18, &amt), 0);
  if (mint)
    assert_int_equal(chain_mint(T.chain, key, "AAPLx", WALLET, amt, &in), 0);
  else
    assert_int_equal(chain_burn(T.chain, key, "AAPLx", WALLET, amt, &in), 0);
  sql("UPDATE chain_transfers SET executed_at = '2026-03-%02u 20:00:00+00' WHERE block = %lld", d,
      (long long)in.block);
}

static void step(unsigned runs, unsigned ok, unsigned with_breaks, unsigned open)
{
  struct recon_stats st;
  assert_int_equal(recon_step(T.c, 0, &st), 0);
  assert_int_equal(st.runs, runs);
  assert_int_equal(st.ok, ok);
  assert_int_equal(st.with_breaks, with_breaks);
  assert_int_equal(st.open_breaks, open);
}

#define RUN_FIGURES                                                                                \
  "SELECT concat_ws(' ', agg, pend_out, penr_in, red_owed, red_instr, mint_owed, liabilities,"     \
  " settled_coverage, contractual_coverage, supply, multiplier, block, status, breaks)"            \
  " FROM recon_runs r JOIN custody_statements s ON s.id = r.statement"                             \
  " WHERE s.stmt_id = '%s' AND r.isin = '" ISIN "'"

/* Day 1: 100 shares bought, settled and minted (order 1). */
static long long day1_base(void)
{
  long long o = order("mint", 100, "completed");
  fill(o, "E1", "buy", 100, 1, 1, 1);
  char key[64];
  snprintf(key, sizeof key, "order-%lld-mint", o);
  chain_op(true, key, 100, 1);
  event(o, 1, "minted", 1, 20);
  return o;
}

/* A clean day with work in flight, then the next day when it settled. */
static void test_clean_day(void **state)
{
  (void)state;
  day1_base();
  /* a mint bought 10 on day 1, due day 2, not minted yet (at_settlement) */
  long long m2 = order("mint", 10, "settling");
  long long f2 = fill(m2, "E2", "buy", 10, 1, 2, 0);
  /* a redemption of 5: tokens burned on day 1, sold, due day 2 */
  long long r3 = order("redeem", 5, "settling");
  char key[64];
  snprintf(key, sizeof key, "order-%lld-burn", r3);
  chain_op(false, key, 5, 1);
  event(r3, 1, "burned", 1, 20);
  long long f3 = fill(r3, "E3", "sell", 5, 1, 2, 0);
  statement1("S1", 1, 100);
  step(1, 1, 0, 0);
  expect("100.000000 5.000000 10.000000 5.000000 5.000000 10.000000 95.000000 0.000000 0.000000 "
         "95.000000000000000000 1.000000000000000000 2 ok 0",
         RUN_FIGURES, "S1");
  expect("1", "SELECT cardinality(statement_sha256s) FROM recon_runs");
  expect("t", "SELECT statement_sha256s[1] = (SELECT sha256 FROM custody_documents WHERE source"
              " = 'S1') FROM recon_runs");

  /* day 2: both settle, the mint's tokens are minted */
  settlement("TX-2", 2, 10, true);
  settlement("TX-3", 2, 5, false);
  sql("UPDATE settlement_items SET state = 'confirmed', custody_settle_date = '2026-03-02',"
      " confirmed_at = '2026-03-02 18:00:00+00' WHERE id IN (%lld, %lld)",
      f2, f3);
  snprintf(key, sizeof key, "order-%lld-mint", m2);
  chain_op(true, key, 10, 2);
  event(m2, 1, "minted", 2, 20);
  sql("UPDATE orders SET state = 'completed' WHERE id IN (%lld, %lld)", m2, r3);
  statement1("S2", 2, 105);
  step(1, 1, 0, 0);
  expect("105.000000 0.000000 0.000000 0.000000 0.000000 0.000000 105.000000 0.000000 0.000000 "
         "105.000000000000000000 1.000000000000000000 3 ok 0",
         RUN_FIGURES, "S2");
  /* resumable: nothing left, nothing done twice */
  step(0, 0, 0, 0);
  expect("2", "SELECT count(*) FROM recon_runs");
  expect("0", "SELECT count(*) FROM recon_breaks");
}

/* A purchase whose settlement never arrives: pending on its day, failed after. */
static void test_settlement_never_arrives(void **state)
{
  (void)state;
  day1_base();
  long long m = order("mint", 10, "settling");
  long long f = fill(m, "E9", "buy", 10, 1, 2, 0);
  statement1("N1", 1, 100);
  statement1("N2", 2, 100);
  step(2, 1, 1, 1);
  expect("100.000000 0.000000 10.000000 0.000000 0.000000 10.000000 100.000000 0.000000 0.000000 "
         "100.000000000000000000 1.000000000000000000 1 breaks 1",
         RUN_FIGURES, "N2");
  char key[32];
  snprintf(key, sizeof key, "si:%lld", f);
  expect("pending_settlement -10.000000 open",
         "SELECT concat_ws(' ', class, amount, status)"
         " FROM recon_breaks WHERE key = '%s'",
         key);
  long long id = sql_int("SELECT id FROM recon_breaks WHERE key = '%s'", key);
  statement1("N3", 3, 100);
  step(1, 0, 1, 1);
  expect("failed_settlement -10.000000 open",
         "SELECT concat_ws(' ', class, amount, status)"
         " FROM recon_breaks WHERE id = %lld",
         id);
  expect("1", "SELECT count(*) FROM recon_breaks");
  expect("t",
         "SELECT detail = 'buy of 10.000000 (order %lld, exec E9) due 2026-03-02, not"
         " settled at 2026-03-03' FROM recon_breaks WHERE id = %lld",
         m, id);
  /* it arrives on day 4: the break ages out */
  settlement("TX-9", 4, 10, true);
  sql("UPDATE settlement_items SET state = 'confirmed', custody_settle_date = '2026-03-04'"
      " WHERE id = %lld",
      f);
  statement1("N4", 4, 110);
  step(1, 1, 0, 0);
  expect("aged_out", "SELECT status FROM recon_breaks WHERE id = %lld", id);
  expect("110.000000 0.000000 0.000000 0.000000 0.000000 10.000000 100.000000 10.000000 0.000000 "
         "100.000000000000000000 1.000000000000000000 1 ok 0",
         RUN_FIGURES, "N4");
}

/* A statement one share short; then an admin resolves the break. */
static void test_one_share_short(void **state)
{
  (void)state;
  day1_base();
  statement1("O1", 1, 100);
  statement1("O2", 2, 99);
  step(2, 1, 1, 1);
  expect("99.000000 0.000000 0.000000 0.000000 0.000000 0.000000 100.000000 -1.000000 -1.000000 "
         "100.000000000000000000 1.000000000000000000 1 breaks 1",
         RUN_FIGURES, "O2");
  expect("booking -1.000000 open", "SELECT concat_ws(' ', class, amount, status) FROM"
                                   " recon_breaks");
  expect("AGG 99.000000 at 2026-03-02, expected 100.000000 from AGG 100.000000 at 2026-03-01 and"
         " the settlements between",
         "SELECT detail FROM recon_breaks");
  long long id = sql_int("SELECT id FROM recon_breaks");
  long long admin =
      sql_int("INSERT INTO principals (name, role) VALUES ('admin', 'issuer_admin') RETURNING id");
  int err = 1;
  assert_int_equal(recon_break_resolve_in(T.c, id, "closed", "x", admin, &err), DB_QS_NONE);
  assert_int_equal(err, -ERR_INVALID_ARGUMENT);
  assert_int_equal(
      recon_break_resolve_in(T.c, id, "explained", "custodian lost one share", admin, &err), 1);
  assert_int_equal(err, 0);
  assert_int_equal(recon_break_resolve_in(T.c, id, "explained", "again", admin, &err), DB_QS_NONE);
  assert_int_equal(err, -ERR_API_CONFLICT);
  assert_int_equal(recon_break_resolve_in(T.c, id, "resolved", "share returned", admin, &err), 1);
  assert_int_equal(err, 0);
  assert_int_equal(recon_break_resolve_in(T.c, id, "resolved", "again", admin, &err), DB_QS_NONE);
  assert_int_equal(err, -ERR_API_CONFLICT);
  assert_int_equal(recon_break_resolve_in(T.c, id + 100, "resolved", "none", admin, &err),
                   DB_QS_NONE);
  assert_int_equal(err, -ERR_API_NOT_FOUND);
  expect("resolved share returned t",
         "SELECT concat_ws(' ', status, note, resolved_by = %lld)"
         " FROM recon_breaks",
         admin);
  /* the listing */
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  struct recon_filter flt = {.status = "resolved"};
  assert_int_equal(recon_breaks_show(T.c, &flt, f), 1);
  flt.status = "open";
  assert_int_equal(recon_breaks_show(T.c, &flt, f), 0);
  fclose(f);
  char want[512];
  snprintf(want, sizeof want,
           "break id=%lld run=2 last_run=2 isin=" ISIN " key=rollforward:agg:2 class=booking"
           " amount=-1.000000 status=resolved note=\"share returned\" detail=\"AGG 99.000000 at"
           " 2026-03-02, expected 100.000000 from AGG 100.000000 at 2026-03-01 and the"
           " settlements between\"\n",
           id);
  assert_string_equal(buf, want);
  free(buf);
}

/* A statement whose page 2 never arrives, superseded by the next day's. */
static void test_missing_page(void **state)
{
  (void)state;
  day1_base();
  struct pos p = {ISIN, 60, false};
  struct custody_ingest r = statement("M1", 1, 1, false, &p, 1);
  assert_false(r.completed);
  step(0, 0, 0, 0); /* nothing complete yet */
  statement1("M2", 2, 100);
  long long stale = sql_int("SELECT id FROM custody_statements WHERE stmt_id = 'M1'");
  step(1, 0, 1, 1);
  char key[32];
  snprintf(key, sizeof key, "stale:%lld", stale);
  expect("custodian_data 0.000000 open",
         "SELECT concat_ws(' ', class, amount, status) FROM"
         " recon_breaks WHERE key = '%s'",
         key);
  expect("1", "SELECT count(*) FROM recon_breaks");
  expect("100.000000 0.000000 0.000000 0.000000 0.000000 0.000000 100.000000 0.000000 0.000000 "
         "100.000000000000000000 1.000000000000000000 1 breaks 1",
         RUN_FIGURES, "M2");
}

/* A 2-for-1 split the custodian applied and we did not. */
static void test_corporate_action(void **state)
{
  (void)state;
  day1_base();
  statement1("C1", 1, 100);
  statement1("C2", 2, 200);
  step(2, 1, 1, 1);
  expect("corporate_action 100.000000 open", "SELECT concat_ws(' ', class, amount, status)"
                                             " FROM recon_breaks");
  expect("custodian holds 200.000000, we owe 100.000000: a ratio of 2, a corporate action applied"
         " on one side only (multiplier 1.000000000000000000)",
         "SELECT detail FROM recon_breaks");
  expect("200.000000 0.000000 0.000000 0.000000 0.000000 0.000000 100.000000 100.000000 "
         "100.000000 100.000000000000000000 1.000000000000000000 1 breaks 1",
         RUN_FIGURES, "C2");
}

/* Tokens minted without a purchase: settled coverage negative. */
static void test_over_mint(void **state)
{
  (void)state;
  day1_base();
  statement1("V1", 1, 100);
  chain_op(true, "rogue-1", 10, 2);
  statement1("V2", 2, 100);
  step(2, 1, 1, 1);
  expect("100.000000 0.000000 0.000000 0.000000 0.000000 0.000000 110.000000 -10.000000 "
         "-10.000000 110.000000000000000000 1.000000000000000000 2 breaks 1",
         RUN_FIGURES, "V2");
  expect("booking -10.000000 open mint:2", "SELECT concat_ws(' ', class, amount, status, key)"
                                           " FROM recon_breaks");
}

/* An ISIN the custodian holds that no instrument has; a SHOR balance. */
static void test_security_master_and_short(void **state)
{
  (void)state;
  day1_base();
  struct pos p[2] = {{ISIN, 100, false}, {ISIN_X, 7, false}};
  statement("X1", 1, 1, true, p, 2);
  step(2, 1, 1, 1);
  expect("security_master 7.000000 open isin", "SELECT concat_ws(' ', class, amount, status, key)"
                                               " FROM recon_breaks WHERE isin = '" ISIN_X "'");
  expect("breaks 7.000000 t", "SELECT concat_ws(' ', status, agg, instrument IS NULL) FROM"
                              " recon_runs WHERE isin = '" ISIN_X "'");
  struct pos s = {ISIN, 3, true};
  statement("X2", 2, 1, true, &s, 1);
  step(1, 0, 1, 3);
  expect("custodian_data -3.000000", "SELECT concat_ws(' ', class, amount) FROM recon_breaks"
                                     " WHERE key LIKE 'short:%%'");
  expect("-3.000000 -103.000000", "SELECT concat_ws(' ', agg, settled_coverage) FROM recon_runs r"
                                  " JOIN custody_statements s ON s.id = r.statement WHERE"
                                  " s.stmt_id = 'X2' AND r.isin = '" ISIN "'");
}

/*
 * Alerts (migrations/0019-alerts.sql): a timing break raises none; a
 * break of another class raises one recon_break alert in the run's
 * transaction, and one only however many runs find it again.
 */
static void test_break_alerts(void **state)
{
  (void)state;
  day1_base();
  /* an at_fill mint: 10 tokens minted on day 1, its shares due on day 2 */
  long long m = order("mint", 10, "settling");
  sql("UPDATE orders SET mint_policy = 'at_fill' WHERE id = %lld", m);
  long long f = fill(m, "E5", "buy", 10, 1, 2, 0);
  char key[64];
  snprintf(key, sizeof key, "order-%lld-mint", m);
  chain_op(true, key, 10, 1);
  event(m, 1, "minted", 1, 20);
  statement1("A1", 1, 100);
  step(1, 0, 1, 1);
  expect("timing -10.000000 open", "SELECT concat_ws(' ', class, amount, status) FROM"
                                   " recon_breaks");
  expect("0", "SELECT count(*) FROM alerts");

  /* day 2: the shares are not in the statement: a pending settlement, one alert */
  statement1("A2", 2, 100);
  step(1, 0, 1, 1);
  snprintf(key, sizeof key, "si:%lld", f);
  long long b = sql_int("SELECT id FROM recon_breaks WHERE key = '%s'", key);
  expect("pending_settlement open",
         "SELECT concat_ws(' ', class, status) FROM recon_breaks"
         " WHERE id = %lld",
         b);
  expect("1", "SELECT count(*) FROM alerts");
  char want[512];
  snprintf(want, sizeof want,
           "recon_break|%lld|" ISIN "|AAPL|pending_settlement break si:%lld on " ISIN
           ": buy of 10.000000 (order %lld, exec E5) due 2026-03-02, not settled at 2026-03-02|t",
           b, f, m);
  expect(want,
         "SELECT concat_ws('|', a.kind, a.ref, a.isin, i.symbol, a.detail,"
         " a.xmin::text = r.xmin::text) FROM alerts a JOIN instruments i ON i.id = a.instrument"
         " JOIN recon_runs r ON r.id = (SELECT run FROM recon_breaks WHERE id = %lld)",
         b);

  /* day 3: the same break, now a failed settlement: no second alert */
  statement1("A3", 3, 100);
  step(1, 0, 1, 1);
  expect("failed_settlement open",
         "SELECT concat_ws(' ', class, status) FROM recon_breaks"
         " WHERE id = %lld",
         b);
  expect("1", "SELECT count(*) FROM alerts");
  expect("aged_out", "SELECT status FROM recon_breaks WHERE class = 'timing'");
  step(0, 0, 0, 1);
  expect("1", "SELECT count(*) FROM alerts");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_clean_day, setup, teardown),
      cmocka_unit_test_setup_teardown(test_settlement_never_arrives, setup, teardown),
      cmocka_unit_test_setup_teardown(test_one_share_short, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_page, setup, teardown),
      cmocka_unit_test_setup_teardown(test_corporate_action, setup, teardown),
      cmocka_unit_test_setup_teardown(test_over_mint, setup, teardown),
      cmocka_unit_test_setup_teardown(test_security_master_and_short, setup, teardown),
      cmocka_unit_test_setup_teardown(test_break_alerts, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
