/*
 * The simulated custodian (custody/custody_simcust.c) on a real
 * PostgreSQL: blotter rows inserted by hand into sim_trades, the
 * custodian stepped at chosen instants (no process, no HTTP: the e2e test
 * runs those), and what it did read back from its tables, its drop folder
 * and its documents -- each of which must validate against the ISO 20022
 * schema in ../shared/data/iso20022 (libxml2) and parse back with our own
 * parsers to the exact figures.
 *
 * Dates: Monday 2026-03-02 is "today" unless a test moves the clock; the
 * cut-off is 22:00 UTC, so a step at 12:00 writes no daily statement.
 * Covered: settlement on the settle date and not before, fails (by
 * configuration, for want of an ISIN), delays in business days across a
 * weekend, busts (at booking and later, before the settlement date),
 * corrected prices, exact holdings, buys and sells, the daily statement once,
 * catch-up, pagination, MT535 and earlier dates on request, restart and
 * a second custodian (nothing settled twice, nothing skipped), a crash
 * between commit and file, and the configuration parser.
 */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <sodium.h>

#include "custody/custody.h"
#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

#define AAPL  "US0378331005"
#define MSFT  "US5949181045"
#define TSLA  "US88160R1014"
#define TOKEN "test-token-0123456789"

struct fixture {
  struct ts_db db;
  char url[1200];
  char dir[PATH_MAX];
  struct db_conn *c;
  struct custody_simcust_cfg cfg;
  struct custody_simcust *sc;
  int32_t today; /* 2026-03-02 */
  unsigned orders;
};

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static int32_t day_of(const char *s)
{
  int32_t d;
  assert_int_equal(cal_parse_date(s, strlen(s), &d), 0);
  return d;
}

/* Wall-clock ms of @date at @hh:@mm UTC. */
static int64_t at(const char *date, unsigned hh, unsigned mm)
{
  return (int64_t)day_of(date) * 86400000LL + (int64_t)(hh * 60 + mm) * 60000;
}

static void set(struct fixture *f, const char *key, const char *value)
{
  char why[256] = "";
  int rc = custody_simcust_cfg_set(&f->cfg, key, value, why, sizeof why);
  if (rc != 0)
    fail_msg("%s = %s: %s (%s)", key, value, err_text(rc), why);
}

static void assert_sql(struct db_conn *c, const char *sql, const char *want)
{
  char *v = ts_sql_value(c, sql);
  if (strcmp(v, want) != 0) {
    char got[2048];
    snprintf(got, sizeof got, "%s", v);
    free(v);
    fail_msg("%s\n  got  \"%s\"\n  want \"%s\"", sql, got, want);
  }
  free(v);
}

/* A blotter row (and the order it belongs to), as the simulated broker books it. */
static void add_trade(struct fixture *f, const char *trade_id, const char *symbol, const char *isin,
                      const char *side, const char *qty, const char *px, const char *trade_date,
                      const char *settle_date, bool busted)
{
  char sql[2048], isin_sql[32];
  unsigned n = ++f->orders;
  snprintf(isin_sql, sizeof isin_sql, isin != NULL ? "'%s'" : "NULL", isin);
  snprintf(sql, sizeof sql,
           "WITH o AS (INSERT INTO sim_orders (session, cl_ord_id, symbol, side_code,"
           " ord_type_code, behaviour, step, next_at)"
           " VALUES ('BROKER->BACKSTOCK', 'BS%u', '%s', '%s', '1', 'fill', 'done', now())"
           " RETURNING id, order_id)"
           " INSERT INTO sim_trades (trade_id, order_id, sim_order_id, cl_ord_id, session,"
           " account, symbol, isin, side, quantity, price, trade_date, settle_date, status,"
           " executed_at, busted_by, busted_at)"
           " SELECT '%s', o.order_id, o.id, 'BS%u', 'BROKER->BACKSTOCK', 'RESERVE', '%s', %s,"
           " '%s', %s, %s, '%s', '%s', '%s', now(), %s, %s FROM o",
           n, symbol, strcmp(side, "buy") == 0 ? "1" : "2", trade_id, n, symbol, isin_sql, side,
           qty, px, trade_date, settle_date, busted ? "busted" : "booked",
           busted ? "'X-1'" : "NULL", busted ? "now()" : "NULL");
  ts_sql(f->c, sql);
}

static struct custody_simcust_stats step(struct fixture *f, int64_t now_ms)
{
  struct custody_simcust_stats st;
  int rc = custody_simcust_step(f->sc, now_ms, &st);
  if (rc != 0)
    fail_msg("step: %s (%s)", err_text(rc), err_name(rc));
  return st;
}

static char *read_doc(struct fixture *f, const char *name, size_t *len)
{
  char path[PATH_MAX + 128], *buf = NULL;
  snprintf(path, sizeof path, "%s/%s", f->dir, name);
  if (util_read_file(path, 64u << 20, &buf, len) != 0)
    fail_msg("%s: not in the drop folder", path);
  return buf;
}

/* Files of the drop folder whose name starts with @prefix (and no .part at all). */
static unsigned count_files(struct fixture *f, const char *prefix)
{
  DIR *d = opendir(f->dir);
  struct dirent *e;
  unsigned n = 0;
  assert_non_null(d);
  while ((e = readdir(d)) != NULL) {
    size_t l = strlen(e->d_name);
    if (l > 5 && strcmp(e->d_name + l - 5, ".part") == 0)
      fail_msg("a .part file was left behind: %s", e->d_name);
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
      n++;
  }
  closedir(d);
  return n;
}

/* The document validates against ../shared/data/iso20022/@xsd. */
static void assert_schema_valid(const char *xsd, const char *buf, size_t len)
{
  char rel[256], path[PATH_MAX];
  snprintf(rel, sizeof rel, "../shared/data/iso20022/%s", xsd);
  ts_source_path(path, sizeof path, rel);
  xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(path);
  assert_non_null(pc);
  xmlSchemaPtr schema = xmlSchemaParse(pc);
  if (schema == NULL)
    fail_msg("cannot load the schema %s", path);
  xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
  xmlDocPtr doc = xmlReadMemory(buf, (int)len, "document.xml", NULL, XML_PARSE_NONET);
  if (doc == NULL)
    fail_msg("not well-formed XML:\n%.*s", (int)len, buf);
  int rc = xmlSchemaValidateDoc(vc, doc);
  xmlFreeDoc(doc);
  xmlSchemaFreeValidCtxt(vc);
  xmlSchemaFree(schema);
  xmlSchemaFreeParserCtxt(pc);
  if (rc != 0)
    fail_msg("does not validate against %s (%d):\n%.*s", xsd, rc, (int)len, buf);
}

static void assert_qty(const struct custody_qty *q, const char *want, bool shrt)
{
  char buf[MONEY_STR_MAX];
  struct money w;
  assert_true(q->present);
  assert_int_equal(q->kind, CUSTODY_QTY_UNIT);
  assert_int_equal(money_parse(want, strlen(want), CUSTODY_QTY_SCALE, 0, &w), 0);
  money_format(q->qty, buf, sizeof buf);
  if (money_cmp(q->qty, w) != 0 || q->shrt != shrt)
    fail_msg("quantity %s%s, want %s%s", q->shrt ? "-" : "", buf, shrt ? "-" : "", want);
}

/* The sese.025 of trade @trade_id: schema-valid, and what our parser reads from it. */
static struct custody_settlement sese(struct fixture *f, const char *trade_id)
{
  char name[128], tx[CUSTODY_ID_MAX];
  struct custody_limits lim;
  struct custody_settlement s;
  struct custody_error err;
  size_t len;
  custody_simcust_tx_id(trade_id, tx);
  snprintf(name, sizeof name, "sese025-%s.xml", tx);
  char *buf = read_doc(f, name, &len);
  assert_schema_valid("sese.025.001.11.xsd", buf, len);
  custody_limits_default(&lim);
  memset(&err, 0, sizeof err);
  int rc = custody_sese025_parse_mem(buf, len, &lim, &s, &err);
  if (rc != 0)
    fail_msg("%s: %s at %s: %s", name, err_text(rc), err.where, err.msg);
  free(buf);
  return s;
}

/* A statement read back: its details and up to 16 positions, pages in order. */
struct stmt_read {
  struct custody_stmt st;
  struct custody_position p[16];
  size_t n;
};

static int collect(void *cls, const struct custody_stmt *st, const struct custody_position *p)
{
  struct stmt_read *r = cls;
  (void)st;
  if (r->n < 16)
    r->p[r->n] = *p;
  r->n++;
  return 0;
}

static void read_semt002(struct fixture *f, const char *name, struct stmt_read *r)
{
  struct custody_limits lim;
  struct custody_error err;
  size_t len;
  char *buf = read_doc(f, name, &len);
  assert_schema_valid("semt.002.001.11.xsd", buf, len);
  custody_limits_default(&lim);
  memset(&err, 0, sizeof err);
  int rc = custody_semt002_parse_mem(buf, len, &lim, &r->st, collect, r, &err);
  if (rc != 0)
    fail_msg("%s: %s at %s line %llu: %s", name, err_text(rc), err.where,
             (unsigned long long)err.line, err.msg);
  free(buf);
}

static const struct custody_subbal *subbal(const struct custody_position *p, const char *type)
{
  for (unsigned i = 0; i < p->n_sub; i++)
    if (strcmp(p->sub[i].type, type) == 0)
      return &p->sub[i];
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void cfg_defaults(struct fixture *f)
{
  custody_simcust_cfg_init(&f->cfg);
  set(f, "database_url", f->url);
  set(f, "out_dir", f->dir);
  set(f, "token", TOKEN);
  set(f, "isin.AAPL", AAPL);
  set(f, "isin.MSFT", MSFT);
  set(f, "isin.SLOW", TSLA);
  set(f, "isin.FAILX", TSLA);
  set(f, "fail.FAILX", "fail");
  set(f, "fail.SLOW", "delay:2");
  set(f, "statement_time", "22:00");
  char why[128];
  assert_int_equal(custody_simcust_cfg_check(&f->cfg, why, sizeof why), 0);
}

static void open_sc(struct fixture *f)
{
  int rc = custody_simcust_create(&f->cfg, &f->sc);
  if (rc != 0)
    fail_msg("custody_simcust_create: %s", err_text(rc));
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof *f);
  char msg[256];
  assert_non_null(f);
  ts_db_create("simcust", &f->db);
  ts_db_conninfo(&f->db, f->url, sizeof f->url);
  f->c = ts_db_connect(&f->db, 10);
  if (db_migrate(f->c, migrations_all, migrations_count, NULL, msg, sizeof msg) != 0)
    fail_msg("migrate: %s", msg);
  ts_tmpdir(f->dir, sizeof f->dir);
  strncat(f->dir, "/out", sizeof f->dir - strlen(f->dir) - 1); /* created by the custodian */
  f->today = day_of("2026-03-02");
  cfg_defaults(f);
  open_sc(f);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  char parent[PATH_MAX];
  custody_simcust_free(f->sc);
  custody_simcust_cfg_free(&f->cfg);
  db_close(f->c);
  ts_db_drop(&f->db);
  snprintf(parent, sizeof parent, "%s", f->dir);
  *strrchr(parent, '/') = '\0';
  ts_rmtree(parent);
  free(f);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Settlement                                                          */
/* ------------------------------------------------------------------ */

static void test_settles_on_its_date(void **state)
{
  struct fixture *f = *state;
  /* Friday's trades settle Monday T+1; Monday's settle Tuesday. */
  add_trade(f, "SIM1-1", "AAPL", AAPL, "buy", "10", "189.5", "2026-02-27", "2026-03-02", false);
  add_trade(f, "SIM2-1", "AAPL", NULL, "buy", "2.5", "190.125", "2026-02-27", "2026-03-02", false);
  add_trade(f, "SIM3-1", "MSFT", MSFT, "buy", "7", "410.25", "2026-03-02", "2026-03-03", false);

  /* Sunday: nothing is due. */
  struct custody_simcust_stats st = step(f, at("2026-03-01", 12, 0));
  assert_int_equal(st.settled, 0);
  assert_sql(f->c, "SELECT count(*) FROM sim_settlements", "0");
  assert_int_equal(count_files(f, "sese025-"), 0);

  st = step(f, at("2026-03-02", 12, 0));
  assert_int_equal(st.settled, 2);
  assert_int_equal(st.failed, 0);
  /* Sunday's cut-off has passed: the account was opened on Sunday, so its statement is owed. */
  assert_int_equal(st.statements, 1);
  assert_int_equal(st.written, 3);
  assert_sql(
      f->c,
      "SELECT string_agg(stmt_date || ' ' || daily || ' ' || positions, ',') FROM sim_statements",
      "2026-03-01 true 1");
  assert_sql(f->c,
             "SELECT string_agg(trade_id || ' ' || tx_id || ' ' || status || ' ' || isin || ' '"
             " || settled_date || ' ' || amount, ', ' ORDER BY trade_id) FROM sim_settlements",
             "SIM1-1 SIM1-1 settled " AAPL " 2026-03-02 1895.00, SIM2-1 SIM2-1 settled " AAPL
             " 2026-03-02 475.31");
  assert_sql(f->c,
             "SELECT string_agg(isin || '=' || quantity::numeric(30,6), ',') FROM sim_holdings"
             " WHERE safekeeping_account = 'RESERVE-01'",
             AAPL "=12.500000");
  assert_int_equal(count_files(f, "sese025-"), 2);

  struct custody_settlement s = sese(f, "SIM2-1");
  assert_string_equal(s.tx_id, "SIM2-1");
  assert_string_equal(s.isin, AAPL);
  assert_int_equal(s.direction, CUSTODY_RECEIVE);
  assert_true(s.against_payment);
  assert_qty(&s.qty, "2.5", false);
  assert_int_equal(s.settlement_day, f->today);
  assert_int_equal(s.trade_day, day_of("2026-02-27"));
  assert_string_equal(s.currency, "USD");
  assert_true(s.amount.v == 47531 && s.amount.scale == 2); /* 2.5 x 190.125 = 475.3125 */
  assert_string_equal(s.account_servicer, "SIMCUSTXXXX");
  assert_string_equal(s.safekeeping_account, "RESERVE-01");
  assert_true(strncmp(s.servicer_tx_id, "SC", 2) == 0);

  /* Tuesday: the Monday trade, and Monday's statement (its cut-off has passed). */
  st = step(f, at("2026-03-03", 9, 30));
  assert_int_equal(st.settled, 1);
  assert_int_equal(st.statements, 1);
  assert_sql(f->c,
             "SELECT string_agg(isin || '=' || quantity::numeric(30,6), ',' ORDER BY isin)"
             " FROM sim_holdings",
             AAPL "=12.500000," MSFT "=7.000000");
  s = sese(f, "SIM3-1");
  assert_qty(&s.qty, "7", false);
  assert_int_equal(s.settlement_day, day_of("2026-03-03"));

  /* A sell delivers: holdings go down, DELI. */
  add_trade(f, "SIM4-1", "AAPL", AAPL, "sell", "4", "191", "2026-03-02", "2026-03-03", false);
  st = step(f, at("2026-03-03", 9, 31));
  assert_int_equal(st.settled, 1);
  s = sese(f, "SIM4-1");
  assert_int_equal(s.direction, CUSTODY_DELIVER);
  assert_qty(&s.qty, "4", false);
  assert_sql(f->c, "SELECT quantity::numeric(30,6) FROM sim_holdings WHERE isin = '" AAPL "'",
             "8.500000");
  /* The holdings equal the settlements' sum, per ISIN. */
  assert_sql(f->c,
             "SELECT count(*) FROM sim_holdings h WHERE h.quantity <> (SELECT sum(CASE side"
             " WHEN 'buy' THEN quantity ELSE -quantity END) FROM sim_settlements s"
             " WHERE s.isin = h.isin AND s.status = 'settled')",
             "0");
  /* Every settlement names its document. */
  assert_sql(f->c,
             "SELECT count(*) FROM sim_settlements s JOIN sim_documents d ON d.id = s.document_id"
             " WHERE d.name = 'sese025-' || s.tx_id || '.xml' AND d.written_at IS NOT NULL",
             "4");
}

static void test_fails_delays_busts(void **state)
{
  struct fixture *f = *state;
  add_trade(f, "SIM1-1", "FAILX", NULL, "buy", "5", "10", "2026-02-27", "2026-03-02", false);
  add_trade(f, "SIM2-1", "NOISIN", NULL, "buy", "5", "10", "2026-02-27", "2026-03-02", false);
  add_trade(f, "SIM3-1", "SLOW", NULL, "buy", "3", "20", "2026-02-27", "2026-03-02", false);
  add_trade(f, "SIM4-1", "AAPL", AAPL, "buy", "100", "189.5", "2026-02-27", "2026-03-02", true);
  add_trade(f, "SIM5-1", "SLOW", NULL, "sell", "1", "20", "2026-03-05", "2026-03-06", false);
  add_trade(f, "SIM6-1", "AAPL", AAPL, "buy", "1", "189.5", "2026-02-27", "2026-03-02", false);

  struct custody_simcust_stats st = step(f, at("2026-03-02", 12, 0));
  assert_int_equal(st.settled, 1); /* SIM6-1 only */
  assert_int_equal(st.failed, 2);
  assert_sql(f->c,
             "SELECT string_agg(trade_id || ': ' || status || ' ' || coalesce(reason, '-'), '; '"
             " ORDER BY trade_id) FROM sim_settlements",
             "SIM1-1: failed configured fail (fail.FAILX = fail); "
             "SIM2-1: failed no ISIN: the trade has none and isin.NOISIN is not configured; "
             "SIM6-1: settled -");
  /* Fails are recorded once; the delayed trade waits two business days. */
  st = step(f, at("2026-03-03", 12, 0));
  assert_int_equal(st.settled + st.failed, 0);
  st = step(f, at("2026-03-04", 12, 0));
  assert_int_equal(st.settled, 1);
  assert_sql(f->c,
             "SELECT settle_date || ' ' || settled_date FROM sim_settlements"
             " WHERE trade_id = 'SIM3-1'",
             "2026-03-02 2026-03-04");
  struct custody_settlement s = sese(f, "SIM3-1");
  assert_int_equal(s.settlement_day, day_of("2026-03-04"));
  assert_string_equal(s.isin, TSLA); /* from isin.SLOW */

  /* Friday + 2 business days is Tuesday: not Sunday, not Monday. */
  st = step(f, at("2026-03-08", 12, 0));
  assert_int_equal(st.settled, 0);
  st = step(f, at("2026-03-09", 23, 0));
  assert_int_equal(st.settled, 0);
  st = step(f, at("2026-03-10", 0, 1));
  assert_int_equal(st.settled, 1);
  assert_sql(f->c, "SELECT settled_date FROM sim_settlements WHERE trade_id = 'SIM5-1'",
             "2026-03-10");

  /* The busted trade never settles; a trade busted after the poll neither. */
  assert_sql(f->c, "SELECT count(*) FROM sim_settlements WHERE trade_id = 'SIM4-1'", "0");
  add_trade(f, "SIM7-1", "MSFT", MSFT, "buy", "9", "400", "2026-03-09", "2026-03-10", false);
  ts_sql(f->c, "UPDATE sim_trades SET status = 'busted', busted_by = 'SIM7-2', busted_at = now()"
               " WHERE trade_id = 'SIM7-1'");
  st = step(f, at("2026-03-10", 12, 0));
  assert_int_equal(st.settled + st.failed, 0);
  assert_sql(f->c, "SELECT count(*) FROM sim_settlements WHERE trade_id = 'SIM7-1'", "0");
  assert_sql(f->c,
             "SELECT string_agg(isin || '=' || quantity::numeric(30,6), ',' ORDER BY isin)"
             " FROM sim_holdings",
             AAPL "=1.000000," TSLA "=2.000000");
  assert_int_equal(count_files(f, "sese025-"), 3);
}

/* A corrected trade settles at its corrected price. */
static void test_corrected_price(void **state)
{
  struct fixture *f = *state;
  add_trade(f, "SIM1-1", "AAPL", AAPL, "buy", "3", "189.5", "2026-02-27", "2026-03-02", false);
  ts_sql(f->c, "UPDATE sim_trades SET price = 189.51, original_price = 189.5,"
               " corrected_by = 'SIM1-3', corrected_at = now() WHERE trade_id = 'SIM1-1'");
  step(f, at("2026-03-02", 12, 0));
  assert_sql(f->c, "SELECT price || ' ' || amount FROM sim_settlements", "189.510000 568.53");
  struct custody_settlement s = sese(f, "SIM1-1");
  assert_true(s.amount.v == 56853 && s.amount.scale == 2);
}

/* More due trades than one poll batch (500) ahead of the one that can settle: none starves. */
static void test_many_waiting(void **state)
{
  struct fixture *f = *state;
  ts_sql(f->c, "WITH o AS (INSERT INTO sim_orders (session, cl_ord_id, symbol, side_code,"
               " ord_type_code, behaviour, step, next_at)"
               " SELECT 'BROKER->BACKSTOCK', 'BW' || g, 'SLOW', '1', '1', 'fill', 'done', now()"
               " FROM generate_series(1, 1100) g RETURNING id, order_id, cl_ord_id)"
               " INSERT INTO sim_trades (trade_id, order_id, sim_order_id, cl_ord_id, session,"
               " symbol, side, quantity, price, trade_date, settle_date, executed_at)"
               " SELECT 'W' || o.id, o.order_id, o.id, o.cl_ord_id, 'BROKER->BACKSTOCK', 'SLOW',"
               " 'buy', 1, 20, '2026-02-27', '2026-03-02', now() FROM o");
  add_trade(f, "Z1-1", "AAPL", AAPL, "buy", "2", "189.5", "2026-02-27", "2026-03-02", false);
  struct custody_simcust_stats st = step(f, at("2026-03-02", 12, 0));
  assert_int_equal(st.settled, 1);
  assert_sql(f->c, "SELECT string_agg(trade_id, ',') FROM sim_settlements", "Z1-1");
  st = step(f, at("2026-03-04", 12, 0)); /* delay:2 */
  assert_int_equal(st.settled, 1100);
  assert_sql(f->c, "SELECT quantity::numeric(30,6) FROM sim_holdings WHERE isin = '" TSLA "'",
             "1100.000000");
  assert_int_equal(count_files(f, "sese025-"), 1101);
}

/* ------------------------------------------------------------------ */
/* Statements                                                          */
/* ------------------------------------------------------------------ */

static void book_portfolio(struct fixture *f)
{
  /* Settled by Monday's cut-off: AAPL +10 +5 -3 = 12; MSFT +7. */
  add_trade(f, "SIM1-1", "AAPL", AAPL, "buy", "10", "189.5", "2026-02-26", "2026-02-27", false);
  add_trade(f, "SIM2-1", "AAPL", AAPL, "buy", "5", "189.5", "2026-02-27", "2026-03-02", false);
  add_trade(f, "SIM3-1", "AAPL", AAPL, "sell", "3", "190", "2026-02-27", "2026-03-02", false);
  add_trade(f, "SIM4-1", "MSFT", MSFT, "buy", "7", "410.25", "2026-02-27", "2026-03-02", false);
  /* Booked Monday, settling Tuesday: pending at Monday's cut-off. */
  add_trade(f, "SIM5-1", "AAPL", AAPL, "sell", "2", "191", "2026-03-02", "2026-03-03", false);
  add_trade(f, "SIM6-1", "TSLA", TSLA, "buy", "4.25", "250", "2026-03-02", "2026-03-03", false);
  add_trade(f, "SIM7-1", "MSFT", MSFT, "buy", "1", "411", "2026-03-02", "2026-03-03", false);
}

static void test_daily_statement(void **state)
{
  struct fixture *f = *state;
  book_portfolio(f);
  struct custody_simcust_stats st = step(f, at("2026-03-02", 21, 59));
  assert_int_equal(st.settled, 4);
  assert_int_equal(st.statements, 0);
  assert_int_equal(count_files(f, "semt002-"), 0);
  st = step(f, at("2026-03-02", 22, 0));
  assert_int_equal(st.statements, 1);
  assert_int_equal(count_files(f, "semt002-"), 1);
  /* Once a day, whatever the restarts. */
  st = step(f, at("2026-03-02", 23, 30));
  assert_int_equal(st.statements, 0);
  custody_simcust_free(f->sc);
  open_sc(f);
  st = step(f, at("2026-03-02", 23, 45));
  assert_int_equal(st.statements, 0);
  assert_sql(f->c,
             "SELECT count(*) || ' ' || min(stmt_date) || ' ' || bool_and(daily)"
             " || ' ' || min(pages) || ' ' || min(positions) FROM sim_statements",
             "1 2026-03-02 true 1 3");

  char *name = ts_sql_value(f->c, "SELECT name FROM sim_documents WHERE kind = 'semt002'");
  struct stmt_read r = {0};
  read_semt002(f, name, &r);
  if (strncmp(name, "semt002-SC20260302-", 19) != 0)
    fail_msg("statement name %s", name);
  free(name);
  assert_int_equal(r.st.kind, CUSTODY_KIND_SEMT002);
  assert_int_equal(r.st.update, CUSTODY_UPDATE_COMPLETE);
  assert_int_equal(r.st.basis, CUSTODY_BASIS_SETT);
  assert_string_equal(r.st.frequency, "DAIL");
  assert_int_equal(r.st.page_no, 1);
  assert_true(r.st.last_page);
  assert_true(r.st.activity);
  assert_int_equal(r.st.stmt_day, f->today);
  assert_true(r.st.stmt_has_time);
  assert_true(r.st.stmt_ms == at("2026-03-02", 22, 0));
  assert_string_equal(r.st.account_servicer, "SIMCUSTXXXX");
  assert_string_equal(r.st.safekeeping_account, "RESERVE-01");
  assert_string_equal(r.st.account_owner, "BACKSTOCK");
  assert_true(strncmp(r.st.stmt_id, "SC20260302-", 11) == 0);
  assert_int_equal(r.n, 3);
  /* AAPL: 12 settled, 2 pending delivery inside it. */
  assert_string_equal(r.p[0].isin, AAPL);
  assert_string_equal(r.p[0].description, "AAPL");
  assert_qty(&r.p[0].aggregate, "12", false);
  assert_qty(&r.p[0].available, "10", false);
  assert_qty(&r.p[0].not_available, "2", false);
  assert_non_null(subbal(&r.p[0], "PEND"));
  assert_qty(&subbal(&r.p[0], "PEND")->qty, "2", false);
  assert_null(subbal(&r.p[0], "PENR"));
  /* MSFT: 7 settled, 1 pending receipt outside it. */
  assert_string_equal(r.p[1].isin, MSFT);
  assert_qty(&r.p[1].aggregate, "7", false);
  assert_qty(&r.p[1].available, "7", false);
  assert_false(r.p[1].not_available.present);
  assert_qty(&subbal(&r.p[1], "PENR")->qty, "1", false);
  assert_null(subbal(&r.p[1], "PEND"));
  /* TSLA: nothing settled yet, 4.25 pending receipt. */
  assert_string_equal(r.p[2].isin, TSLA);
  assert_qty(&r.p[2].aggregate, "0", false);
  assert_qty(&subbal(&r.p[2], "PENR")->qty, "4.25", false);

  /* Tuesday's daily: everything settled, nothing pending. */
  st = step(f, at("2026-03-03", 22, 1));
  assert_int_equal(st.settled, 3);
  assert_int_equal(st.statements, 1);
  name = ts_sql_value(f->c, "SELECT d.name FROM sim_documents d JOIN sim_statements s"
                            " ON s.id = d.statement_id WHERE s.stmt_date = '2026-03-03'");
  memset(&r, 0, sizeof r);
  read_semt002(f, name, &r);
  free(name);
  assert_int_equal(r.n, 3);
  assert_qty(&r.p[0].aggregate, "10", false);
  assert_qty(&r.p[1].aggregate, "8", false);
  assert_qty(&r.p[2].aggregate, "4.25", false);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(r.p[i].n_sub, 0);
    assert_false(r.p[i].not_available.present);
  }
}

/* Missed cut-offs are caught up from the last daily statement, at most 31 days. */
static void test_daily_catch_up(void **state)
{
  struct fixture *f = *state;
  book_portfolio(f);
  step(f, at("2026-03-02", 22, 30)); /* the first daily: nothing before it */
  step(f, at("2026-03-05", 10, 0));  /* down Tuesday and Wednesday evenings */
  assert_sql(f->c, "SELECT string_agg(stmt_date::text, ',' ORDER BY stmt_date) FROM sim_statements",
             "2026-03-02,2026-03-03,2026-03-04");
  step(f, at("2026-05-05", 23, 0));
  assert_sql(f->c,
             "SELECT count(*) || ' ' || min(stmt_date) || ' ' || max(stmt_date)"
             " FROM sim_statements WHERE stmt_date > '2026-03-04'",
             "31 2026-04-05 2026-05-05");
}

static void test_pages_mt535_and_earlier_dates(void **state)
{
  struct fixture *f = *state;
  char name[CUSTODY_SIMCUST_NAME_MAX];
  unsigned pages = 0;
  custody_simcust_free(f->sc);
  set(f, "page_size", "2");
  open_sc(f);
  book_portfolio(f);
  step(f, at("2026-03-02", 12, 0));

  /* Three positions on pages of two. */
  assert_int_equal(custody_simcust_statement(f->sc, NULL, f->today, CUSTODY_KIND_SEMT002, name,
                                             sizeof name, &pages),
                   0);
  assert_int_equal(pages, 2);
  struct stmt_read r1 = {0}, r2 = {0};
  read_semt002(f, name, &r1);
  assert_int_equal(r1.st.page_no, 1);
  assert_false(r1.st.last_page);
  assert_int_equal(r1.n, 2);
  assert_string_equal(r1.st.frequency, "ADHO");
  char second[CUSTODY_SIMCUST_NAME_MAX];
  snprintf(second, sizeof second, "%.*s2.xml", (int)(strlen(name) - 5), name);
  read_semt002(f, second, &r2);
  assert_int_equal(r2.st.page_no, 2);
  assert_true(r2.st.last_page);
  assert_string_equal(r2.st.stmt_id, r1.st.stmt_id);
  assert_int_equal(r2.n, 1);
  assert_string_equal(r2.p[0].isin, TSLA);

  /* The same as MT535, one page of two, then one of one. */
  custody_simcust_free(f->sc);
  set(f, "page_size", "1000");
  open_sc(f);
  assert_int_equal(custody_simcust_statement(f->sc, NULL, f->today, CUSTODY_KIND_MT535, name,
                                             sizeof name, &pages),
                   0);
  assert_int_equal(pages, 1);
  if (strncmp(name, "mt535-SC20260302-", 17) != 0 || strstr(name, "-p0001.txt") == NULL)
    fail_msg("MT535 name %s", name);
  size_t len;
  char *buf = read_doc(f, name, &len);
  struct custody_limits lim;
  struct custody_error err;
  struct stmt_read m = {0};
  custody_limits_default(&lim);
  int rc = custody_mt535_parse(buf, len, &lim, &m.st, collect, &m, &err);
  if (rc != 0)
    fail_msg("MT535: %s at %s: %s\n%s", err_text(rc), err.where, err.msg, buf);
  free(buf);
  assert_int_equal(m.st.kind, CUSTODY_KIND_MT535);
  assert_int_equal(m.st.stmt_day, f->today);
  assert_string_equal(m.st.safekeeping_account, "RESERVE-01");
  assert_int_equal(m.n, 3);
  assert_string_equal(m.p[0].isin, AAPL);
  assert_qty(&m.p[0].aggregate, "12", false);
  assert_qty(&subbal(&m.p[0], "PEND")->qty, "2", false);
  assert_string_equal(m.p[2].isin, TSLA);
  assert_qty(&m.p[2].aggregate, "0", false);
  assert_qty(&subbal(&m.p[2], "PENR")->qty, "4.25", false);

  /* As of Friday: only SIM1-1 had settled; Friday's three trades were pending. */
  assert_int_equal(custody_simcust_statement(f->sc, NULL, day_of("2026-02-27"),
                                             CUSTODY_KIND_SEMT002, name, sizeof name, &pages),
                   0);
  struct stmt_read fr = {0};
  read_semt002(f, name, &fr);
  assert_int_equal(fr.n, 2);
  assert_string_equal(fr.p[0].isin, AAPL);
  assert_qty(&fr.p[0].aggregate, "10", false);
  assert_qty(&fr.p[0].available, "7", false);
  assert_qty(&subbal(&fr.p[0], "PENR")->qty, "5", false);
  assert_qty(&subbal(&fr.p[0], "PEND")->qty, "3", false);
  assert_string_equal(fr.p[1].isin, MSFT);
  assert_qty(&fr.p[1].aggregate, "0", false);
  assert_qty(&subbal(&fr.p[1], "PENR")->qty, "7", false);

  /* A sell beyond the holdings: short. */
  add_trade(f, "SIM8-1", "MSFT", MSFT, "sell", "20", "411", "2026-03-02", "2026-03-02", false);
  step(f, at("2026-03-02", 12, 5));
  assert_int_equal(custody_simcust_statement(f->sc, NULL, f->today, CUSTODY_KIND_SEMT002, name,
                                             sizeof name, &pages),
                   0);
  struct stmt_read sh = {0};
  read_semt002(f, name, &sh);
  assert_string_equal(sh.p[1].isin, MSFT);
  assert_qty(&sh.p[1].aggregate, "13", true);
  assert_qty(&sh.p[1].available, "13", true);

  /* An empty account: one page, no position. */
  assert_int_equal(custody_simcust_statement(f->sc, NULL, day_of("2026-01-05"),
                                             CUSTODY_KIND_SEMT002, name, sizeof name, &pages),
                   0);
  assert_int_equal(pages, 1);
  struct stmt_read e = {0};
  read_semt002(f, name, &e);
  assert_int_equal(e.n, 0);
  assert_true(e.st.last_page);
  assert_false(e.st.activity);
  assert_int_equal(custody_simcust_statement(f->sc, NULL, f->today, CUSTODY_KIND_SESE025, name,
                                             sizeof name, &pages),
                   -ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------ */
/* Exactly once                                                        */
/* ------------------------------------------------------------------ */

struct listed {
  unsigned n;
  char first[CUSTODY_SIMCUST_NAME_MAX];
};

static int count_doc(void *cls, const char *name, const char *sha)
{
  struct listed *l = cls;
  assert_int_equal(strlen(sha), 64);
  if (l->n++ == 0)
    snprintf(l->first, sizeof l->first, "%s", name);
  return 0;
}

static void test_restart_idempotent(void **state)
{
  struct fixture *f = *state;
  book_portfolio(f);
  struct custody_simcust_stats st = step(f, at("2026-03-02", 12, 0));
  assert_int_equal(st.settled, 4);

  /* A restart, and a second custodian on the same database: nothing new. */
  custody_simcust_free(f->sc);
  open_sc(f);
  struct custody_simcust *other = NULL;
  assert_int_equal(custody_simcust_create(&f->cfg, &other), 0);
  assert_int_equal(custody_simcust_step(other, at("2026-03-02", 12, 1), &st), 0);
  assert_int_equal(st.settled + st.failed + st.written, 0);
  st = step(f, at("2026-03-02", 12, 2));
  assert_int_equal(st.settled + st.failed + st.written, 0);
  assert_sql(f->c, "SELECT count(*) || ' ' || count(DISTINCT trade_id) FROM sim_settlements",
             "4 4");
  assert_sql(f->c, "SELECT count(*) FROM sim_documents", "4");

  /* A crash between the commit and the file: the next step writes it, same bytes. */
  char *sha = ts_sql_value(f->c, "SELECT sha256 FROM sim_documents WHERE name ="
                                 " 'sese025-SIM2-1.xml'");
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/sese025-SIM2-1.xml", f->dir);
  assert_int_equal(unlink(path), 0);
  ts_sql(f->c, "UPDATE sim_documents SET written_at = NULL WHERE name = 'sese025-SIM2-1.xml'");
  st = step(f, at("2026-03-02", 12, 3));
  assert_int_equal(st.written, 1);
  assert_int_equal(st.settled, 0);
  size_t len;
  char *buf = read_doc(f, "sese025-SIM2-1.xml", &len);
  unsigned char h[crypto_hash_sha256_BYTES];
  char hx[65];
  crypto_hash_sha256(h, (const unsigned char *)buf, len);
  for (size_t i = 0; i < sizeof h; i++)
    snprintf(hx + 2 * i, 3, "%02x", h[i]);
  assert_string_equal(hx, sha);
  free(sha);

  /* The stored bytes are the file's, and the list is in order. */
  enum custody_kind kind;
  char *content = NULL, dsha[65];
  size_t clen;
  assert_int_equal(
      custody_simcust_document(f->c, "sese025-SIM2-1.xml", &kind, &content, &clen, dsha), 0);
  assert_int_equal(kind, CUSTODY_KIND_SESE025);
  assert_int_equal(clen, len);
  assert_memory_equal(content, buf, len);
  assert_string_equal(dsha, hx);
  free(content);
  free(buf);
  assert_int_equal(custody_simcust_document(f->c, "nope.xml", &kind, &content, &clen, dsha),
                   -ERR_API_NOT_FOUND);
  assert_int_equal(custody_simcust_document(f->c, "../etc", &kind, &content, &clen, dsha),
                   -ERR_API_NOT_FOUND);
  struct listed l = {0};
  assert_int_equal(custody_simcust_documents(f->c, count_doc, &l), 0);
  assert_int_equal(l.n, 4);
  assert_string_equal(l.first, "sese025-SIM1-1.xml");

  /* New trades after the restart are not skipped. */
  add_trade(f, "SIM9-1", "AAPL", AAPL, "buy", "1", "189.5", "2026-03-02", "2026-03-03", false);
  assert_int_equal(custody_simcust_step(other, at("2026-03-03", 12, 0), &st), 0);
  assert_int_equal(st.settled, 4); /* SIM5-1, SIM6-1, SIM7-1, SIM9-1 */
  custody_simcust_free(other);
  st = step(f, at("2026-03-03", 12, 1));
  assert_int_equal(st.settled, 0);
  assert_sql(f->c, "SELECT count(*) || ' ' || count(DISTINCT tx_id) FROM sim_settlements", "8 8");
  assert_sql(f->c, "SELECT quantity::numeric(30,6) FROM sim_holdings WHERE isin = '" AAPL "'",
             "11.000000");
}

/* ------------------------------------------------------------------ */
/* Configuration and ids                                               */
/* ------------------------------------------------------------------ */

static void test_config(void **state)
{
  (void)state;
  struct custody_simcust_cfg c;
  char why[256];
  unsigned line = 0;
  const char *bad = NULL;
  custody_simcust_cfg_init(&c);
  assert_string_equal(c.account_servicer, "SIMCUSTXXXX");
  assert_string_equal(c.safekeeping_account, "RESERVE-01");
  assert_int_equal(c.page_size, 1000);
  assert_int_equal(custody_simcust_cfg_check(&c, why, sizeof why), -ERR_CFG_VALUE);
  static const char text[] = "# simulated custodian\n"
                             "listen = 127.0.0.1:0\n"
                             "out_dir = /tmp/x\n"
                             "token = abcdefghijklmnopq\n"
                             "statement_time = 21:30\n"
                             "day_offset = -2\n"
                             "isin.BRK.B = US0846707026\n"
                             "fail.BRK.B = delay:3\n";
  assert_int_equal(custody_simcust_cfg_load_text(&c, text, sizeof text - 1, &line, why, sizeof why),
                   0);
  assert_int_equal(c.listen_port, 0);
  assert_int_equal(c.statement_minute, 21 * 60 + 30);
  assert_int_equal(c.day_offset, -2);
  const struct custody_simcust_symbol *e = custody_simcust_cfg_symbol(&c, "BRK.B");
  assert_non_null(e);
  assert_string_equal(e->isin, "US0846707026");
  assert_int_equal(e->rule, CUSTODY_SIMCUST_DELAY);
  assert_int_equal(e->delay_days, 3);
  char *env[] = {"BACKSTOCK_DATABASE_URL=dbname=x",  "BACKSTOCK_SIMCUST_ISIN.AAPL=" AAPL,
                 "BACKSTOCK_SIMCUST_FAIL.AAPL=fail", "BACKSTOCK_SIMCUST_DAY_OFFSET=3",
                 "BACKSTOCK_SIM_LISTEN=127.0.0.1:1", NULL};
  assert_int_equal(custody_simcust_cfg_load_env(&c, env, &bad, why, sizeof why), 0);
  assert_int_equal(c.day_offset, 3);
  assert_int_equal(custody_simcust_cfg_symbol(&c, "AAPL")->rule, CUSTODY_SIMCUST_FAIL);
  assert_int_equal(custody_simcust_cfg_check(&c, why, sizeof why), 0);
  /* 2026-03-02 23:00 UTC plus 3 days. */
  assert_int_equal(custody_simcust_today(&c, at("2026-03-02", 23, 0)), day_of("2026-03-05"));

  char *bad_env[] = {"BACKSTOCK_SIMCUST_NOPE=1", NULL};
  assert_int_equal(custody_simcust_cfg_load_env(&c, bad_env, &bad, why, sizeof why),
                   -ERR_CFG_UNKNOWN_KEY);
  assert_string_equal(bad, "BACKSTOCK_SIMCUST_NOPE");
  static const struct {
    const char *key, *value;
    int rc;
  } refused[] = {
      {"isin.AAPL", "US0378331006", -ERR_CFG_VALUE}, /* check digit */
      {"isin.AAPL", "us0378331005", -ERR_CFG_VALUE},
      {"fail.AAPL", "delay:251", -ERR_CFG_VALUE},
      {"fail.AAPL", "sometimes", -ERR_CFG_VALUE},
      {"account_servicer", "SIMCUSTXX", -ERR_CFG_VALUE},
      {"account_servicer", "SIMC1STXXXX", -ERR_CFG_VALUE},
      {"token", "short", -ERR_CFG_VALUE},
      {"statement_time", "24:00", -ERR_CFG_VALUE},
      {"page_size", "0", -ERR_CFG_VALUE},
      {"day_offset", "-0", -ERR_CFG_VALUE},
      {"day_offset", "3661", -ERR_CFG_VALUE},
      {"listen", "localhost:80", -ERR_CFG_VALUE},
      {"safekeeping_account", "RESERVE 01", -ERR_CFG_VALUE},
      {"isin.A B", AAPL, -ERR_CFG_UNKNOWN_KEY},
      {"colour", "blue", -ERR_CFG_UNKNOWN_KEY},
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    if (custody_simcust_cfg_set(&c, refused[i].key, refused[i].value, why, sizeof why) !=
        refused[i].rc)
      fail_msg("%s = %s was not refused as expected", refused[i].key, refused[i].value);
  static const char broken[] = "listen = 127.0.0.1:0\nout_dir\n";
  assert_int_equal(
      custody_simcust_cfg_load_text(&c, broken, sizeof broken - 1, &line, why, sizeof why),
      -ERR_CFG_SYNTAX);
  assert_int_equal(line, 2);
  custody_simcust_cfg_free(&c);

  char tx[CUSTODY_ID_MAX];
  custody_simcust_tx_id("SIM12-3", tx);
  assert_string_equal(tx, "SIM12-3");
  custody_simcust_tx_id("an id with spaces", tx);
  assert_int_equal(strlen(tx), 35);
  assert_true(strncmp(tx, "H.", 2) == 0);
  char tx2[CUSTODY_ID_MAX];
  custody_simcust_tx_id("an id with spaces!", tx2);
  assert_string_not_equal(tx, tx2);
  custody_simcust_tx_id("X123456789012345678901234567890123456", tx2); /* 37 characters */
  assert_true(strncmp(tx2, "H.", 2) == 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_config),
      cmocka_unit_test_setup_teardown(test_settles_on_its_date, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fails_delays_busts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_corrected_price, setup, teardown),
      cmocka_unit_test_setup_teardown(test_many_waiting, setup, teardown),
      cmocka_unit_test_setup_teardown(test_daily_statement, setup, teardown),
      cmocka_unit_test_setup_teardown(test_daily_catch_up, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pages_mt535_and_earlier_dates, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restart_idempotent, setup, teardown),
  };
  xmlInitParser();
  return cmocka_run_group_tests(tests, NULL, NULL);
}
