/*
 * The simulated custodian (custody.h, section "Simulated custodian";
 * docs/simcustodian.md): configuration, settlement of the simulated
 * broker's blotter, holdings, statements, the drop folder, and reading
 * the published documents back.  backstock-simcustodian
 * (services/simcustodian.c) is its main() and serves the HTTP API.
 *
 * Invariants:
 * - A trade is decided once: its sim_settlements row (unique on the
 *   trade), the holdings change and the sese.025 document row commit in
 *   one SERIALIZABLE transaction, which re-reads the trade; a second
 *   attempt finds the row and does nothing.  A busted trade is never
 *   settled.
 * - A document's bytes are committed before its file is written; files
 *   are written as NAME.part, fsynced, renamed to NAME, and only then is
 *   the row marked written, so a crash leaves at worst a file written
 *   twice with the same bytes, never a half file or a lost one.  One
 *   mutex serializes the writers of out_dir within the process.
 * - The simulated time is the business time of the database, clock_now()
 *   (docs/clock.md: the wall clock unless tests or the demo moved it),
 *   plus day_offset days; its UTC date is today.  custody_simcust_run()
 *   reads it each pass; nothing else reads a clock.
 *
 * The file is longer than most (about 1,400 lines) because the module's
 * file list is fixed: custody_simcust.c holds the whole custodian, in
 * sections (configuration, helpers, queries, documents, settlement,
 * statements, reading back, the step loop, setup).  The configuration's
 * lines and variables are walked by common/common_kv.c, as the simulated
 * broker's are.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "custody/custody.h"

#define QTY6          6
#define DAY_MS        86400000LL
#define DELAY_MAX     250
#define OFFSET_MAX    3660
#define PAGE_SIZE_MAX 100000
#define DUE_BATCH     500
#define CATCH_UP_DAYS 31

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

void custody_simcust_cfg_init(struct custody_simcust_cfg *c)
{
  memset(c, 0, sizeof *c);
  memcpy(c->listen_host, "127.0.0.1", 10);
  c->listen_port = 9879;
  memcpy(c->account_servicer, "SIMCUSTXXXX", 12);
  memcpy(c->account_owner, "BACKSTOCK", 10);
  memcpy(c->safekeeping_account, "RESERVE-01", 11);
  c->statement_minute = 22 * 60;
  c->page_size = 1000;
  c->poll_ms = 500;
  c->log_level = LOGL_INFO;
}

static void set_secret(char **slot, char *v)
{
  if (*slot != NULL) {
    sodium_memzero(*slot, strlen(*slot));
    free(*slot);
  }
  *slot = v;
}

void custody_simcust_cfg_free(struct custody_simcust_cfg *c)
{
  if (c == NULL)
    return;
  set_secret(&c->database_url, NULL);
  set_secret(&c->token, NULL);
  free(c->symbols);
  c->symbols = NULL;
  c->n_symbols = c->cap_symbols = 0;
}

/* A decimal without sign or leading zeros in [lo, hi]. */
static int parse_uint(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
  return kv_parse_uint(s, strlen(s), lo, hi, out);
}

/* 1..max-1 characters, each alphanumeric or in @extra. */
static bool charset(const char *s, size_t max, const char *extra)
{
  size_t n = strlen(s);
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    bool alnum = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
    if (!alnum && strchr(extra, ch) == NULL)
      return false;
  }
  return n > 0 && n < max;
}

static bool upper_alnum(char ch)
{
  return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* AnyBIC: [A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})? */
static bool valid_bic(const char *s)
{
  size_t n = strlen(s);
  if (n != 8 && n != 11)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!upper_alnum(s[i]) || ((i == 4 || i == 5) && !(s[i] >= 'A' && s[i] <= 'Z')))
      return false;
  return true;
}

/* [A-Z]{2}[A-Z0-9]{9}[0-9] with its check digit (Luhn over the letters as 10..35). */
static bool valid_isin(const char *s)
{
  unsigned digits[24], n = 0, sum = 0;
  if (strlen(s) != CUSTODY_ISIN_LEN)
    return false;
  for (size_t i = 0; i < CUSTODY_ISIN_LEN; i++) {
    bool letter = s[i] >= 'A' && s[i] <= 'Z', digit = s[i] >= '0' && s[i] <= '9';
    if ((i < 2 && !letter) || (i == 11 && !digit) || (!letter && !digit))
      return false;
  }
  for (size_t i = 0; i < 11; i++) {
    if (s[i] >= 'A') {
      unsigned v = (unsigned)(s[i] - 'A') + 10;
      digits[n++] = v / 10;
      digits[n++] = v % 10;
    } else {
      digits[n++] = (unsigned)(s[i] - '0');
    }
  }
  for (unsigned k = 0; k < n; k++) {
    unsigned d = digits[n - 1 - k];
    if (k % 2 == 0) {
      d *= 2;
      d = d / 10 + d % 10;
    }
    sum += d;
  }
  return (unsigned)(s[11] - '0') == (10 - sum % 10) % 10;
}

static struct custody_simcust_symbol *symbol_entry(struct custody_simcust_cfg *c, const char *sym)
{
  for (size_t i = 0; i < c->n_symbols; i++)
    if (strcmp(c->symbols[i].symbol, sym) == 0)
      return &c->symbols[i];
  if (c->n_symbols == c->cap_symbols) {
    size_t cap = c->cap_symbols ? c->cap_symbols * 2 : 16;
    struct custody_simcust_symbol *s = realloc(c->symbols, cap * sizeof *s);
    if (s == NULL)
      return NULL;
    c->symbols = s;
    c->cap_symbols = cap;
  }
  struct custody_simcust_symbol *e = &c->symbols[c->n_symbols++];
  memset(e, 0, sizeof *e);
  memcpy(e->symbol, sym, strlen(sym) + 1);
  return e;
}

/* isin.<SYMBOL> and fail.<SYMBOL>. */
static int set_symbol_key(struct custody_simcust_cfg *c, const char *key, const char *v, char *why,
                          size_t wsz)
{
  bool isin = strncmp(key, "isin.", 5) == 0;
  const char *sym = key + 5; /* after "isin." or "fail." */
  enum custody_simcust_rule rule = CUSTODY_SIMCUST_SETTLE;
  uint32_t days = 0;
  if (!charset(sym, CUSTODY_SIMCUST_SYMBOL_MAX, "./_-"))
    return kv_fail(why, wsz, -ERR_CFG_UNKNOWN_KEY, "%s: not a symbol (A-Z a-z 0-9 . / _ -)", key);
  if (isin && !valid_isin(v))
    return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want an ISIN with a valid check digit", key);
  if (!isin) {
    if (strcmp(v, "fail") == 0)
      rule = CUSTODY_SIMCUST_FAIL;
    else if (strncmp(v, "delay:", 6) == 0 && parse_uint(v + 6, 0, DELAY_MAX, &days) == 0)
      rule = CUSTODY_SIMCUST_DELAY;
    else
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want fail or delay:<business days, 0-%d>", key,
                     DELAY_MAX);
  }
  struct custody_simcust_symbol *e = symbol_entry(c, sym);
  if (e == NULL)
    return -ERR_NOMEM;
  if (isin) {
    memcpy(e->isin, v, CUSTODY_ISIN_LEN + 1);
  } else {
    e->rule = rule;
    e->delay_days = days;
  }
  return 0;
}

static int set_text_id(char *dst, size_t size, const char *key, const char *v, char *why,
                       size_t wsz)
{
  if (!charset(v, size, "./_-"))
    return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want 1-%zu of A-Z a-z 0-9 . / _ -", key,
                   size - 1);
  memcpy(dst, v, strlen(v) + 1);
  return 0;
}

int custody_simcust_cfg_set(struct custody_simcust_cfg *c, const char *key, const char *v,
                            char *why, size_t wsz)
{
  uint32_t u;
  for (const char *p = v; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: control character in the value", key);
  if (strcmp(key, "database_url") == 0 || strcmp(key, "token") == 0) {
    bool tok = key[0] == 't';
    size_t n = strlen(v);
    char *dup = NULL;
    if (n > 4096)
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: longer than 4096 bytes", key);
    if (tok && n > 0 && (n < CUSTODY_SIMCUST_TOKEN_MIN || strchr(v, ' ') != NULL))
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want at least %d printable bytes, no space",
                     key, CUSTODY_SIMCUST_TOKEN_MIN);
    if (n > 0 && (dup = strdup(v)) == NULL)
      return -ERR_NOMEM;
    set_secret(tok ? &c->token : &c->database_url, dup);
    return 0;
  }
  if (strcmp(key, "listen") == 0)
    return kv_parse_ipv4_port(v, c->listen_host, &c->listen_port) == 0
               ? 0
               : kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want IPv4-address:port", key);
  if (strcmp(key, "out_dir") == 0) {
    if (v[0] == '\0' || strlen(v) >= sizeof c->out_dir - CUSTODY_SIMCUST_NAME_MAX - 8)
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want a folder path under %zu bytes", key,
                     sizeof c->out_dir - CUSTODY_SIMCUST_NAME_MAX - 8);
    memcpy(c->out_dir, v, strlen(v) + 1);
    return 0;
  }
  if (strcmp(key, "account_servicer") == 0) {
    if (!valid_bic(v))
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want a BIC (8 or 11 of A-Z 0-9)", key);
    memcpy(c->account_servicer, v, strlen(v) + 1);
    return 0;
  }
  if (strcmp(key, "account_owner") == 0)
    return set_text_id(c->account_owner, sizeof c->account_owner, key, v, why, wsz);
  if (strcmp(key, "safekeeping_account") == 0)
    return set_text_id(c->safekeeping_account, sizeof c->safekeeping_account, key, v, why, wsz);
  if (strcmp(key, "statement_time") == 0) {
    unsigned h = 99, m = 99;
    if (strlen(v) == 5 && v[2] == ':' && v[0] >= '0' && v[0] <= '9' && v[1] >= '0' && v[1] <= '9' &&
        v[3] >= '0' && v[3] <= '9' && v[4] >= '0' && v[4] <= '9') {
      h = (unsigned)(v[0] - '0') * 10 + (unsigned)(v[1] - '0');
      m = (unsigned)(v[3] - '0') * 10 + (unsigned)(v[4] - '0');
    }
    if (h > 23 || m > 59)
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want HH:MM (UTC)", key);
    c->statement_minute = h * 60 + m;
    return 0;
  }
  if (strcmp(key, "page_size") == 0) {
    if (parse_uint(v, 1, PAGE_SIZE_MAX, &c->page_size) != 0)
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want positions per page, 1-%d", key,
                     PAGE_SIZE_MAX);
    return 0;
  }
  if (strcmp(key, "day_offset") == 0) {
    bool neg = v[0] == '-';
    if (parse_uint(v + neg, 0, OFFSET_MAX, &u) != 0 || (neg && u == 0))
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want whole days, -%d to %d", key, OFFSET_MAX,
                     OFFSET_MAX);
    c->day_offset = neg ? -(int)u : (int)u;
    return 0;
  }
  if (strcmp(key, "poll_ms") == 0) {
    if (parse_uint(v, 10, 60000, &c->poll_ms) != 0)
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want milliseconds, 10-60000", key);
    return 0;
  }
  if (strcmp(key, "log_level") == 0)
    return log_level_parse(v, &c->log_level) == 0
               ? 0
               : kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want debug, info, warn or error", key);
  if (strncmp(key, "isin.", 5) == 0 || strncmp(key, "fail.", 5) == 0)
    return set_symbol_key(c, key, v, why, wsz);
  return kv_fail(why, wsz, -ERR_CFG_UNKNOWN_KEY, "%s: unknown key", key);
}

static int apply(void *c, const char *key, const char *v, char *why, size_t wsz)
{
  return custody_simcust_cfg_set(c, key, v, why, wsz);
}

int custody_simcust_cfg_load_text(struct custody_simcust_cfg *c, const char *text, size_t len,
                                  unsigned *line_out, char *why, size_t wsz)
{
  return kv_load_text(text, len, KV_LINE_MAX, apply, c, line_out, why, wsz);
}

int custody_simcust_cfg_load_file(struct custody_simcust_cfg *c, const char *path,
                                  unsigned *line_out, char *why, size_t wsz)
{
  return kv_load_file(path, KV_LINE_MAX, apply, c, line_out, why, wsz);
}

int custody_simcust_cfg_load_env(struct custody_simcust_cfg *c, char *const *envp,
                                 const char **bad_out, char *why, size_t wsz)
{
  int rc =
      kv_load_env_var(envp, "BACKSTOCK_DATABASE_URL", "database_url", apply, c, bad_out, why, wsz);
  return rc != 0 ? rc : kv_load_env(envp, "BACKSTOCK_SIMCUST_", apply, c, bad_out, why, wsz);
}

int custody_simcust_cfg_check(const struct custody_simcust_cfg *c, char *why, size_t wsz)
{
  if (c->database_url == NULL)
    return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s",
                   "no database: set database_url or BACKSTOCK_DATABASE_URL");
  if (c->out_dir[0] == '\0')
    return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s",
                   "no out_dir: the folder documents are written to");
  if (c->token == NULL)
    return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s",
                   "no token: the HTTP clients' bearer token (at least 16 bytes)");
  return 0;
}

const struct custody_simcust_symbol *custody_simcust_cfg_symbol(const struct custody_simcust_cfg *c,
                                                                const char *symbol)
{
  for (size_t i = 0; i < c->n_symbols; i++)
    if (strcmp(c->symbols[i].symbol, symbol) == 0)
      return &c->symbols[i];
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static int64_t floor_div(int64_t a, int64_t b)
{
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int64_t sim_ms(const struct custody_simcust_cfg *c, int64_t now_ms)
{
  return now_ms + (int64_t)c->day_offset * DAY_MS;
}

int32_t custody_simcust_today(const struct custody_simcust_cfg *c, int64_t now_ms)
{
  return (int32_t)floor_div(sim_ms(c, now_ms), DAY_MS);
}

static void hex(const unsigned char *b, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 15];
  }
  out[2 * n] = '\0';
}

void custody_simcust_tx_id(const char *trade_id, char out[CUSTODY_ID_MAX])
{
  unsigned char h[crypto_hash_sha256_BYTES];
  char hx[2 * crypto_hash_sha256_BYTES + 1];
  if (charset(trade_id, CUSTODY_ID_MAX, "-")) {
    memcpy(out, trade_id, strlen(trade_id) + 1);
    return;
  }
  crypto_hash_sha256(h, (const unsigned char *)trade_id, strlen(trade_id));
  hex(h, sizeof h, hx);
  snprintf(out, CUSTODY_ID_MAX, "H.%.33s", hx);
}

static int parse_day(const char *s, int32_t *out)
{
  return cal_parse_date(s, strlen(s), out);
}

/* A quantity of a statement or settlement: Unit at CUSTODY_QTY_SCALE, sign as SHOR. */
static int qty_of(const char *text, struct custody_qty *q)
{
  struct money m;
  int rc = money_parse(text, strlen(text), CUSTODY_QTY_SCALE, MONEY_PARSE_NEGATIVE, &m);
  if (rc != 0)
    return rc;
  q->present = true;
  q->kind = CUSTODY_QTY_UNIT;
  q->shrt = m.v < 0;
  q->qty.v = m.v < 0 ? -m.v : m.v;
  q->qty.scale = CUSTODY_QTY_SCALE;
  return 0;
}

/* A document in memory, as one of the writers produced it. */
struct doc {
  char *buf;
  size_t len;
  char sha[2 * crypto_hash_sha256_BYTES + 1];
};

static void doc_free(struct doc *d)
{
  free(d->buf);
  d->buf = NULL;
  d->len = 0;
}

/* Open a memory stream for a writer; doc_close() then seals it. */
static FILE *doc_open(struct doc *d)
{
  doc_free(d);
  return open_memstream(&d->buf, &d->len);
}

static int doc_close(struct doc *d, FILE *f, int wrc)
{
  unsigned char h[crypto_hash_sha256_BYTES];
  bool bad = ferror(f) != 0;
  if (fclose(f) != 0 || bad)
    wrc = wrc != 0 ? wrc : -ERR_IO;
  if (wrc == 0 && (d->buf == NULL || memchr(d->buf, '\0', d->len) != NULL))
    wrc = -ERR_INTERNAL; /* the content column is text */
  if (wrc != 0) {
    doc_free(d);
    return wrc;
  }
  crypto_hash_sha256(h, (const unsigned char *)d->buf, d->len);
  hex(h, sizeof h, d->sha);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/* ------------------------------------------------------------------ */

static const struct db_stmt q_select_due = {
    "simcust_select_due",
    "SELECT t.trade_id, t.symbol, coalesce(t.isin, ''), to_char(t.settle_date, 'YYYY-MM-DD')"
    " FROM sim_trades t"
    " WHERE t.status = 'booked' AND t.settle_date <= $1::date"
    "   AND (t.settle_date, t.trade_id COLLATE \"C\") > ($2::date, $3::text COLLATE \"C\")"
    "   AND NOT EXISTS (SELECT 1 FROM sim_settlements s WHERE s.trade_id = t.trade_id)"
    " ORDER BY t.settle_date, t.trade_id COLLATE \"C\" LIMIT 500",
    3,
};

static const struct db_stmt q_select_trade = {
    "simcust_select_trade",
    "SELECT status, side, quantity::text, price::text, to_char(trade_date, 'YYYY-MM-DD'),"
    " to_char(settle_date, 'YYYY-MM-DD')"
    " FROM sim_trades WHERE trade_id = $1",
    1,
};

static const struct db_stmt q_insert_settlement = {
    "simcust_insert_settlement",
    "INSERT INTO sim_settlements (trade_id, tx_id, status, reason, safekeeping_account, symbol,"
    " isin, side, quantity, price, amount, trade_date, settle_date, settled_date)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::numeric, $10::numeric, $11::numeric,"
    " $12::date, $13::date, $14::date)"
    " ON CONFLICT (trade_id) DO NOTHING RETURNING id",
    14,
};

static const struct db_stmt q_settlement_doc = {
    "simcust_settlement_doc",
    "UPDATE sim_settlements SET document_id = $2::bigint WHERE id = $1::bigint",
    2,
};

static const struct db_stmt q_upsert_holding = {
    "simcust_upsert_holding",
    "INSERT INTO sim_holdings (safekeeping_account, isin, quantity) VALUES ($1, $2, $3::numeric)"
    " ON CONFLICT (safekeeping_account, isin) DO UPDATE"
    " SET quantity = sim_holdings.quantity + EXCLUDED.quantity, updated_at = now()",
    3,
};

static const struct db_stmt q_insert_document = {
    "simcust_insert_document",
    "INSERT INTO sim_documents (name, kind, content, sha256, statement_id, page_no)"
    " VALUES ($1, $2, $3, $4, $5::bigint, $6::integer) RETURNING id",
    6,
};

static const struct db_stmt q_select_unwritten = {
    "simcust_select_unwritten",
    "SELECT id, name, content FROM sim_documents WHERE written_at IS NULL ORDER BY id LIMIT 64",
    0,
};

static const struct db_stmt q_mark_written = {
    "simcust_mark_written",
    "UPDATE sim_documents SET written_at = now() WHERE id = $1::bigint AND written_at IS NULL",
    1,
};

static const struct db_stmt q_list_documents = {
    "simcust_list_documents",
    "SELECT name, sha256 FROM sim_documents ORDER BY id",
    0,
};

static const struct db_stmt q_select_document = {
    "simcust_select_document",
    "SELECT kind, content, sha256 FROM sim_documents WHERE name = $1",
    1,
};

static const struct db_stmt q_next_statement = {
    "simcust_next_statement",
    "SELECT nextval('sim_statement_ids')",
    0,
};

static const struct db_stmt q_insert_statement = {
    "simcust_insert_statement",
    "INSERT INTO sim_statements (id, stmt_id, format, stmt_date, daily, safekeeping_account)"
    " VALUES ($1::bigint, $2, $3, $4::date, $5::boolean, $6)"
    " ON CONFLICT DO NOTHING RETURNING id",
    6,
};

static const struct db_stmt q_finish_statement = {
    "simcust_finish_statement",
    "UPDATE sim_statements SET pages = $2::integer, positions = $3::integer"
    " WHERE id = $1::bigint",
    3,
};

static const struct db_stmt q_open_account = {
    "simcust_open_account",
    "INSERT INTO sim_accounts (safekeeping_account, opened_date) VALUES ($1, $2::date)"
    " ON CONFLICT (safekeeping_account) DO NOTHING",
    2,
};

static const struct db_stmt q_last_daily = {
    "simcust_last_daily",
    "SELECT to_char(a.opened_date, 'YYYY-MM-DD'),"
    " coalesce(to_char(max(s.stmt_date), 'YYYY-MM-DD'), '')"
    " FROM sim_accounts a LEFT JOIN sim_statements s"
    " ON s.daily AND s.safekeeping_account = a.safekeeping_account"
    " WHERE a.safekeeping_account = $1 GROUP BY a.opened_date",
    1,
};

static const struct db_stmt q_activity = {
    "simcust_activity",
    "SELECT 1 FROM sim_settlements WHERE safekeeping_account = $1 AND status = 'settled'"
    " AND settled_date = $2::date LIMIT 1",
    2,
};

/*
 * The positions of the account as of the cut-off of $2: the settled
 * holdings rolled back by the settlements effective after $2, and the
 * booked trades of $2 or before not settled by then (failed ones too:
 * they stay pending), their ISIN from the blotter or the configured map
 * ($3 symbols, $4 ISINs).  One row per ISIN with a balance or something
 * pending, in ISIN order.
 */
static const struct db_stmt q_positions = {
    "simcust_positions",
    "WITH m AS (SELECT * FROM unnest($3::text[], $4::text[]) AS m (symbol, isin)),"
    " pend AS ("
    "  SELECT coalesce(t.isin, m.isin) AS isin, min(t.symbol) AS symbol,"
    "   sum(CASE WHEN t.side = 'buy' THEN t.quantity ELSE 0 END) AS penr,"
    "   sum(CASE WHEN t.side = 'sell' THEN t.quantity ELSE 0 END) AS pend"
    "  FROM sim_trades t LEFT JOIN m ON m.symbol = t.symbol"
    "  WHERE t.status = 'booked' AND t.trade_date <= $2::date"
    "   AND coalesce(t.isin, m.isin) IS NOT NULL"
    "   AND NOT EXISTS (SELECT 1 FROM sim_settlements s WHERE s.trade_id = t.trade_id"
    "                   AND s.status = 'settled' AND s.settled_date <= $2::date)"
    "  GROUP BY 1),"
    " later AS ("
    "  SELECT isin, sum(CASE WHEN side = 'buy' THEN quantity ELSE -quantity END) AS q"
    "  FROM sim_settlements WHERE safekeeping_account = $1 AND status = 'settled'"
    "   AND settled_date > $2::date GROUP BY isin),"
    " held AS ("
    "  SELECT h.isin, h.quantity - coalesce(l.q, 0) AS q"
    "  FROM sim_holdings h LEFT JOIN later l ON l.isin = h.isin"
    "  WHERE h.safekeeping_account = $1),"
    " names AS ("
    "  SELECT isin, min(symbol) AS symbol FROM sim_settlements"
    "  WHERE safekeeping_account = $1 AND isin IS NOT NULL GROUP BY isin)"
    " SELECT isin, coalesce(names.symbol, pend.symbol, ''), coalesce(held.q, 0)::text,"
    "  coalesce(pend.penr, 0)::text, coalesce(pend.pend, 0)::text"
    " FROM held FULL JOIN pend USING (isin) LEFT JOIN names USING (isin)"
    " WHERE coalesce(held.q, 0) <> 0 OR pend.isin IS NOT NULL"
    " ORDER BY isin COLLATE \"C\"",
    4,
};

/* ------------------------------------------------------------------ */
/* The custodian                                                       */
/* ------------------------------------------------------------------ */

struct custody_simcust {
  const struct custody_simcust_cfg *cfg;
  struct cal cal;
  struct db_conn *db;    /* the step loop's */
  pthread_mutex_t files; /* one writer of out_dir at a time */
  char *map_symbols;     /* the configured ISIN map as two text[] literals */
  char *map_isins;
};

/* Insert one document row; @id receives its id. */
static enum db_qs insert_document(struct db_conn *c, const char *name, const char *kind,
                                  const struct doc *d, long long statement_id, unsigned page,
                                  long long *id)
{
  char sid[24], pg[16];
  PGresult *r;
  snprintf(sid, sizeof sid, "%lld", statement_id);
  snprintf(pg, sizeof pg, "%u", page);
  const char *params[] = {
      name, kind, d->buf, d->sha, statement_id > 0 ? sid : NULL, page > 0 ? pg : NULL};
  enum db_qs qs = db_exec(c, &q_insert_document, params, &r);
  if (qs > 0) {
    *id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
  }
  return qs;
}

static int fsync_dir(const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -ERR_IO;
  int rc = fsync(fd) == 0 ? 0 : -ERR_IO;
  close(fd);
  return rc;
}

/* Write @len bytes to out_dir/@name through out_dir/@name.part. */
static int write_file(const struct custody_simcust *s, const char *name, const char *buf,
                      size_t len)
{
  char path[CUSTODY_SIMCUST_PATH_MAX + CUSTODY_SIMCUST_NAME_MAX + 8];
  char part[sizeof path + 8];
  snprintf(path, sizeof path, "%s/%s", s->cfg->out_dir, name);
  snprintf(part, sizeof part, "%s.part", path);
  int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    log_msg(LOGL_ERROR, "simcust", "cannot create %s: %s", part, strerror(errno));
    return -ERR_IO;
  }
  for (size_t off = 0; off < len;) {
    ssize_t w = write(fd, buf + off, len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      log_msg(LOGL_ERROR, "simcust", "cannot write %s: %s", part, strerror(errno));
      close(fd);
      unlink(part);
      return -ERR_IO;
    }
    off += (size_t)w;
  }
  if (fsync(fd) != 0 || close(fd) != 0 || rename(part, path) != 0) {
    log_msg(LOGL_ERROR, "simcust", "cannot complete %s: %s", path, strerror(errno));
    unlink(part);
    return -ERR_IO;
  }
  return fsync_dir(s->cfg->out_dir);
}

struct unwritten {
  PGresult *r;
};

static enum db_qs select_unwritten(struct db_conn *c, void *cls)
{
  struct unwritten *u = cls;
  if (u->r != NULL)
    PQclear(u->r);
  u->r = NULL;
  return db_exec(c, &q_select_unwritten, NULL, &u->r);
}

static enum db_qs mark_written(struct db_conn *c, void *cls)
{
  const char *params[] = {cls};
  return db_exec(c, &q_mark_written, params, NULL);
}

/* Write every committed document whose file is not in out_dir yet, oldest first. */
static int flush(struct custody_simcust *s, struct db_conn *c, unsigned *written)
{
  int rc = 0;
  pthread_mutex_lock(&s->files);
  for (;;) {
    struct unwritten u = {NULL};
    if ((rc = db_txn(c, "simcust_unwritten", select_unwritten, &u)) != 0 || u.r == NULL)
      break;
    int n = PQntuples(u.r);
    for (int i = 0; i < n && rc == 0; i++) {
      const char *name = PQgetvalue(u.r, i, 1);
      rc = write_file(s, name, PQgetvalue(u.r, i, 2), (size_t)PQgetlength(u.r, i, 2));
      if (rc == 0)
        rc = db_txn(c, "simcust_mark_written", mark_written, PQgetvalue(u.r, i, 0));
      if (rc == 0) {
        log_msg(LOGL_INFO, "simcust", "wrote %s", name);
        if (written != NULL)
          (*written)++;
      }
    }
    PQclear(u.r);
    if (rc != 0 || n < 64)
      break;
  }
  pthread_mutex_unlock(&s->files);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Settlement                                                          */
/* ------------------------------------------------------------------ */

/* One trade to decide, and what the transaction did. */
struct settle_job {
  const struct custody_simcust *s;
  const char *trade_id;
  const char *symbol;
  const char *isin;   /* "" when failing for want of one */
  const char *reason; /* non-NULL: record a fail */
  int32_t eff_day;    /* effective settlement date */
  int rc;             /* an error of ours that aborted the body */
  bool settled, failed;
  struct doc doc;
};

static enum db_qs settle_body(struct db_conn *c, void *cls)
{
  struct settle_job *j = cls;
  const struct custody_simcust_cfg *cfg = j->s->cfg;
  struct custody_settlement st;
  struct money qty, px, amount;
  char tx_id[CUSTODY_ID_MAX], amount_s[MONEY_STR_MAX], eff[CAL_DATE_STR],
      name[CUSTODY_SIMCUST_NAME_MAX];
  char sid[24], did[24], signed_qty[MONEY_STR_MAX + 1];
  PGresult *r = NULL, *ins = NULL;
  long long settlement_id, doc_id;
  enum db_qs qs;
  j->settled = j->failed = false;
  j->rc = 0;
  const char *p1[] = {j->trade_id};
  if ((qs = db_exec(c, &q_select_trade, p1, &r)) <= 0)
    return qs; /* gone: nothing to do */
  if (strcmp(PQgetvalue(r, 0, 0), "booked") != 0) {
    PQclear(r);
    return DB_QS_NONE; /* busted since the poll: never settled */
  }
  const char *side = PQgetvalue(r, 0, 1), *qty_s = PQgetvalue(r, 0, 2), *px_s = PQgetvalue(r, 0, 3);
  const char *trade_date = PQgetvalue(r, 0, 4), *settle_date = PQgetvalue(r, 0, 5);
  bool buy = strcmp(side, "buy") == 0;
  custody_simcust_tx_id(j->trade_id, tx_id);
  cal_format_date(j->eff_day, eff);
  if (money_parse(qty_s, strlen(qty_s), QTY6, 0, &qty) != 0 ||
      money_parse(px_s, strlen(px_s), QTY6, 0, &px) != 0 ||
      money_mul(qty, px, 2, MONEY_ROUND_HALF_EVEN, &amount) != 0 ||
      money_format(amount, amount_s, sizeof amount_s) < 0) {
    log_bug("simcust", "trade %s: quantity %s or price %s unusable", j->trade_id, qty_s, px_s);
    j->rc = -ERR_INTERNAL;
    qs = DB_QS_HARD;
    goto out;
  }
  const char *p2[] = {j->trade_id,
                      tx_id,
                      j->reason != NULL ? "failed" : "settled",
                      j->reason,
                      cfg->safekeeping_account,
                      j->symbol,
                      j->isin[0] != '\0' ? j->isin : NULL,
                      side,
                      qty_s,
                      px_s,
                      j->reason != NULL ? NULL : amount_s,
                      trade_date,
                      settle_date,
                      j->reason != NULL ? NULL : eff};
  if ((qs = db_exec(c, &q_insert_settlement, p2, &ins)) <= 0)
    goto out; /* NONE: decided already (another attempt, process or a restart) */
  settlement_id = strtoll(PQgetvalue(ins, 0, 0), NULL, 10);
  if (j->reason != NULL) {
    j->failed = true;
    qs = 1;
    goto out;
  }
  /* The sese.025 of the settlement. */
  memset(&st, 0, sizeof st);
  memcpy(st.tx_id, tx_id, sizeof tx_id);
  snprintf(st.servicer_tx_id, sizeof st.servicer_tx_id, "SC%lld", settlement_id);
  util_strlcpy(st.account_owner, cfg->account_owner, sizeof st.account_owner);
  util_strlcpy(st.account_servicer, cfg->account_servicer, sizeof st.account_servicer);
  util_strlcpy(st.safekeeping_account, cfg->safekeeping_account, sizeof st.safekeeping_account);
  util_strlcpy(st.isin, j->isin, sizeof st.isin);
  st.qty.present = true;
  st.qty.kind = CUSTODY_QTY_UNIT;
  if (money_rescale(qty, CUSTODY_QTY_SCALE, MONEY_ROUND_EXACT, &st.qty.qty) != 0 ||
      parse_day(trade_date, &st.trade_day) != 0 ||
      parse_day(settle_date, &st.settlement_day) != 0) {
    log_bug("simcust", "trade %s: quantity or dates unusable", j->trade_id);
    j->rc = -ERR_INTERNAL;
    qs = DB_QS_HARD;
    goto out;
  }
  st.settlement_day = j->eff_day;
  st.direction = buy ? CUSTODY_RECEIVE : CUSTODY_DELIVER;
  st.against_payment = true;
  st.amount = amount;
  memcpy(st.currency, "USD", 4);
  FILE *f = doc_open(&j->doc);
  if (f == NULL || (j->rc = doc_close(&j->doc, f, custody_sese025_write(f, &st))) != 0) {
    if (f == NULL)
      j->rc = -ERR_NOMEM;
    log_msg(LOGL_ERROR, "simcust", "trade %s: cannot write its sese.025: %s", j->trade_id,
            err_text(j->rc));
    qs = DB_QS_HARD;
    goto out;
  }
  snprintf(name, sizeof name, "sese025-%s.xml", tx_id);
  if ((qs = insert_document(c, name, "sese025", &j->doc, 0, 0, &doc_id)) <= 0)
    goto out_hard;
  snprintf(sid, sizeof sid, "%lld", settlement_id);
  snprintf(did, sizeof did, "%lld", doc_id);
  const char *p3[] = {sid, did};
  if ((qs = db_exec(c, &q_settlement_doc, p3, NULL)) <= 0)
    goto out_hard;
  snprintf(signed_qty, sizeof signed_qty, "%s%s", buy ? "" : "-", qty_s);
  const char *p4[] = {cfg->safekeeping_account, j->isin, signed_qty};
  if ((qs = db_exec(c, &q_upsert_holding, p4, NULL)) <= 0)
    goto out_hard;
  j->settled = true;
  qs = 1;
  goto out;
out_hard:
  if (qs == DB_QS_NONE)
    qs = DB_QS_HARD; /* an insert or update that touched nothing: a bug */
out:
  if (r != NULL)
    PQclear(r);
  if (ins != NULL)
    PQclear(ins);
  return qs;
}

/* Decide one due trade (row @i of the due query).  Returns 0 or an error. */
static int settle_one(struct custody_simcust *s, PGresult *due, int i, int32_t today,
                      struct custody_simcust_stats *stats)
{
  const struct custody_simcust_cfg *cfg = s->cfg;
  const char *trade_id = PQgetvalue(due, i, 0), *symbol = PQgetvalue(due, i, 1);
  const char *isin = PQgetvalue(due, i, 2);
  const struct custody_simcust_symbol *e = custody_simcust_cfg_symbol(cfg, symbol);
  char reason[160];
  int32_t settle_day, eff;
  int rc;
  if (parse_day(PQgetvalue(due, i, 3), &settle_day) != 0)
    return -ERR_INTERNAL;
  struct settle_job j = {.s = s, .trade_id = trade_id, .symbol = symbol, .eff_day = settle_day};
  if (!valid_isin(isin))
    isin = e != NULL && e->isin[0] != '\0' ? e->isin : "";
  j.isin = isin;
  if (isin[0] == '\0') {
    snprintf(reason, sizeof reason, "no ISIN: the trade has none and isin.%.40s is not configured",
             symbol);
    j.reason = reason;
  } else if (e != NULL && e->rule == CUSTODY_SIMCUST_FAIL) {
    snprintf(reason, sizeof reason, "configured fail (fail.%.40s = fail)", symbol);
    j.reason = reason;
  } else if (e != NULL && e->rule == CUSTODY_SIMCUST_DELAY) {
    if ((rc = cal_add_business_days(&s->cal, settle_day, (int)e->delay_days, &eff)) != 0)
      return rc;
    if (eff > today)
      return 0; /* not yet */
    j.eff_day = eff;
  }
  rc = db_txn(s->db, "simcust_settle", settle_body, &j);
  doc_free(&j.doc);
  if (rc != 0)
    return j.rc != 0 ? j.rc : rc;
  if (j.settled) {
    stats->settled++;
    log_msg(LOGL_INFO, "simcust", "settled trade %s: %s %s", trade_id, symbol, isin);
  } else if (j.failed) {
    stats->failed++;
    log_msg(LOGL_WARN, "simcust", "failed trade %s: %s", trade_id, j.reason);
  }
  return 0;
}

struct due_query {
  const char *params[3];
  PGresult *r;
};

static enum db_qs select_due(struct db_conn *c, void *cls)
{
  struct due_query *q = cls;
  if (q->r != NULL)
    PQclear(q->r);
  q->r = NULL;
  return db_exec(c, &q_select_due, q->params, &q->r);
}

/*
 * Decide every booked trade due by @today, in (settle date, trade id)
 * order.  A trade that cannot be decided now (database down, ...) is
 * logged and left for the next step; the others go on.  Returns 0 or the
 * first error.
 */
static int settle_due(struct custody_simcust *s, int32_t today, struct custody_simcust_stats *st)
{
  char today_s[CAL_DATE_STR], after_day[CAL_DATE_STR] = "1900-01-01";
  char *after_id = strdup("");
  int first = 0, rc;
  cal_format_date(today, today_s);
  for (;;) {
    struct due_query q = {{today_s, after_day, after_id}, NULL};
    if (after_id == NULL)
      return -ERR_NOMEM;
    if ((rc = db_txn(s->db, "simcust_due", select_due, &q)) != 0 || q.r == NULL)
      break;
    int n = PQntuples(q.r);
    for (int i = 0; i < n; i++) {
      if ((rc = settle_one(s, q.r, i, today, st)) == 0)
        continue;
      log_msg(LOGL_WARN, "simcust", "trade %s: not decided now: %s", PQgetvalue(q.r, i, 0),
              err_text(rc));
      if (first == 0)
        first = rc;
    }
    if (n > 0) {
      util_strlcpy(after_day, PQgetvalue(q.r, n - 1, 3), sizeof after_day);
      free(after_id);
      after_id = strdup(PQgetvalue(q.r, n - 1, 0));
    }
    PQclear(q.r);
    if (n < DUE_BATCH)
      break;
  }
  free(after_id);
  return first != 0 ? first : rc;
}

/* ------------------------------------------------------------------ */
/* Statements                                                          */
/* ------------------------------------------------------------------ */

struct stmt_job {
  const struct custody_simcust *s;
  int32_t day;
  enum custody_kind kind;
  bool daily;
  int rc;
  /* Results. */
  bool existed; /* a daily statement of that day was there already */
  char first[CUSTODY_SIMCUST_NAME_MAX];
  unsigned pages, positions;
  struct doc doc;
  struct custody_position *page; /* MT535: one page of positions */
};

/* Row @i of the positions query as a position. */
static int position_of(PGresult *r, int i, struct custody_position *p)
{
  struct custody_qty held, penr, pend;
  struct money avail;
  int rc;
  memset(p, 0, sizeof *p);
  util_strlcpy(p->isin, PQgetvalue(r, i, 0), sizeof p->isin);
  util_strlcpy(p->description, PQgetvalue(r, i, 1), sizeof p->description);
  if ((rc = qty_of(PQgetvalue(r, i, 2), &held)) != 0 ||
      (rc = qty_of(PQgetvalue(r, i, 3), &penr)) != 0 ||
      (rc = qty_of(PQgetvalue(r, i, 4), &pend)) != 0)
    return rc;
  p->aggregate = held;
  /* Available: the aggregate less what is pending delivery (still inside it). */
  struct money h = held.qty;
  if (held.shrt)
    h.v = -h.v;
  if ((rc = money_sub(h, pend.qty, &avail)) != 0)
    return rc;
  p->available = held;
  p->available.shrt = avail.v < 0;
  p->available.qty.v = avail.v < 0 ? -avail.v : avail.v;
  if (pend.qty.v > 0) {
    p->not_available = pend;
    memcpy(p->sub[p->n_sub].type, "PEND", 5);
    p->sub[p->n_sub++].qty = pend;
  }
  if (penr.qty.v > 0) {
    memcpy(p->sub[p->n_sub].type, "PENR", 5);
    p->sub[p->n_sub++].qty = penr;
  }
  return 0;
}

static int write_page(struct stmt_job *j, const struct custody_stmt *st, PGresult *r, int from,
                      int to)
{
  FILE *f = doc_open(&j->doc);
  int rc = 0;
  if (f == NULL)
    return -ERR_NOMEM;
  if (j->kind == CUSTODY_KIND_SEMT002) {
    struct custody_position p;
    rc = custody_semt002_write_begin(f, st);
    for (int i = from; i < to && rc == 0; i++)
      if ((rc = position_of(r, i, &p)) == 0)
        rc = custody_semt002_write_position(f, &p);
    if (rc == 0)
      rc = custody_semt002_write_end(f);
  } else {
    for (int i = from; i < to && rc == 0; i++)
      rc = position_of(r, i, &j->page[i - from]);
    if (rc == 0)
      rc = custody_mt535_write(f, st, j->page, (size_t)(to - from));
  }
  return doc_close(&j->doc, f, rc);
}

static enum db_qs stmt_body(struct db_conn *c, void *cls)
{
  struct stmt_job *j = cls;
  const struct custody_simcust_cfg *cfg = j->s->cfg;
  const char *format = j->kind == CUSTODY_KIND_SEMT002 ? "semt002" : "mt535";
  struct custody_stmt st;
  char day_s[CAL_DATE_STR], seq_s[24], pages_s[16], npos_s[16], name[CUSTODY_SIMCUST_NAME_MAX];
  PGresult *r = NULL, *pos = NULL;
  enum db_qs qs;
  int y;
  unsigned mo, d;
  j->existed = false;
  j->first[0] = '\0';
  j->pages = j->positions = 0;
  j->rc = 0;
  memset(&st, 0, sizeof st);
  cal_format_date(j->day, day_s);
  cal_civil(j->day, &y, &mo, &d);
  if ((qs = db_exec(c, &q_next_statement, NULL, &r)) <= 0)
    return qs == DB_QS_NONE ? DB_QS_HARD : qs;
  long long seq = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  r = NULL;
  snprintf(seq_s, sizeof seq_s, "%lld", seq);
  snprintf(st.stmt_id, sizeof st.stmt_id, "SC%04d%02u%02u-%lld", y, mo, d, seq);
  const char *p1[] = {
      seq_s, st.stmt_id, format, day_s, j->daily ? "true" : "false", cfg->safekeeping_account};
  if ((qs = db_exec(c, &q_insert_statement, p1, NULL)) <= 0) {
    j->existed = qs == DB_QS_NONE;
    return qs;
  }
  const char *p2[] = {cfg->safekeeping_account, day_s};
  if ((qs = db_exec(c, &q_activity, p2, &r)) < 0)
    return qs;
  st.activity = qs > 0;
  if (r != NULL)
    PQclear(r);
  const char *p3[] = {cfg->safekeeping_account, day_s, j->s->map_symbols, j->s->map_isins};
  if ((qs = db_exec(c, &q_positions, p3, &pos)) < 0)
    return qs;
  int n = qs > 0 ? PQntuples(pos) : 0;
  st.kind = j->kind;
  st.stmt_day = j->day;
  st.stmt_ms = (int64_t)j->day * DAY_MS + (int64_t)cfg->statement_minute * 60000;
  st.stmt_has_time = true;
  memcpy(st.frequency, j->daily ? "DAIL" : "ADHO", 5);
  st.update = CUSTODY_UPDATE_COMPLETE;
  st.basis = CUSTODY_BASIS_SETT;
  util_strlcpy(st.account_owner, cfg->account_owner, sizeof st.account_owner);
  util_strlcpy(st.account_servicer, cfg->account_servicer, sizeof st.account_servicer);
  util_strlcpy(st.safekeeping_account, cfg->safekeeping_account, sizeof st.safekeeping_account);
  unsigned pages = n == 0 ? 1 : (unsigned)((n + (int)cfg->page_size - 1) / (int)cfg->page_size);
  for (unsigned pg = 1; pg <= pages; pg++) {
    long long doc_id;
    int from = (int)((pg - 1) * cfg->page_size);
    int to = from + (int)cfg->page_size < n ? from + (int)cfg->page_size : n;
    st.page_no = pg;
    st.last_page = pg == pages;
    if ((j->rc = write_page(j, &st, pos, from, to)) != 0) {
      log_msg(LOGL_ERROR, "simcust", "statement %s page %u: %s", st.stmt_id, pg, err_text(j->rc));
      qs = DB_QS_HARD;
      goto out;
    }
    snprintf(name, sizeof name, "%s-%s-p%04u.%s", format, st.stmt_id, pg,
             j->kind == CUSTODY_KIND_SEMT002 ? "xml" : "txt");
    if ((qs = insert_document(c, name, format, &j->doc, seq, pg, &doc_id)) <= 0)
      goto out;
    if (pg == 1)
      memcpy(j->first, name, sizeof name);
  }
  snprintf(pages_s, sizeof pages_s, "%u", pages);
  snprintf(npos_s, sizeof npos_s, "%d", n);
  const char *p4[] = {seq_s, pages_s, npos_s};
  if ((qs = db_exec(c, &q_finish_statement, p4, NULL)) > 0) {
    j->pages = pages;
    j->positions = (unsigned)n;
  }
out:
  if (pos != NULL)
    PQclear(pos);
  return qs;
}

/* Write one statement on @c; its files too, counted in @written when not NULL.  0, or an error. */
static int statement_on(struct custody_simcust *s, struct db_conn *c, struct stmt_job *j,
                        unsigned *written)
{
  size_t per_page = j->kind == CUSTODY_KIND_MT535 ? s->cfg->page_size : 0;
  int rc;
  if (per_page > 0 && (j->page = calloc(per_page, sizeof *j->page)) == NULL)
    return -ERR_NOMEM;
  rc = db_txn(c, "simcust_statement", stmt_body, j);
  free(j->page);
  j->page = NULL;
  doc_free(&j->doc);
  if (rc != 0)
    return j->rc != 0 ? j->rc : rc;
  if (!j->existed)
    log_msg(LOGL_INFO, "simcust", "statement %s: %u position(s), %u page(s)", j->first,
            j->positions, j->pages);
  return flush(s, c, written);
}

int custody_simcust_statement(struct custody_simcust *s, struct db_conn *c, int32_t day,
                              enum custody_kind kind, char *name, size_t size, unsigned *pages)
{
  if (kind != CUSTODY_KIND_SEMT002 && kind != CUSTODY_KIND_MT535)
    return -ERR_INVALID_ARGUMENT;
  struct stmt_job j = {.s = s, .day = day, .kind = kind};
  int rc = statement_on(s, c != NULL ? c : s->db, &j, NULL);
  if (rc == 0) {
    if (name != NULL && util_strlcpy(name, j.first, size) != 0)
      return -ERR_TOO_LONG;
    if (pages != NULL)
      *pages = j.pages;
  }
  return rc;
}

/* ------------------------------------------------------------------ */
/* Reading the documents back                                          */
/* ------------------------------------------------------------------ */

struct doc_query {
  const char *name; /* NULL: the list */
  PGresult *r;
};

static enum db_qs doc_query_body(struct db_conn *c, void *cls)
{
  struct doc_query *q = cls;
  const char *p[] = {q->name};
  if (q->r != NULL)
    PQclear(q->r);
  q->r = NULL;
  return db_exec(c, q->name != NULL ? &q_select_document : &q_list_documents, p, &q->r);
}

int custody_simcust_documents(struct db_conn *c, custody_simcust_doc_fn fn, void *cls)
{
  struct doc_query q = {NULL, NULL};
  int rc = db_txn(c, "simcust_documents", doc_query_body, &q);
  for (int i = 0; rc == 0 && q.r != NULL && i < PQntuples(q.r); i++)
    rc = fn(cls, PQgetvalue(q.r, i, 0), PQgetvalue(q.r, i, 1));
  if (q.r != NULL)
    PQclear(q.r);
  return rc;
}

int custody_simcust_document(struct db_conn *c, const char *name, enum custody_kind *kind,
                             char **content, size_t *len, char sha256[65])
{
  struct doc_query q = {name, NULL};
  int rc;
  if (!charset(name, CUSTODY_SIMCUST_NAME_MAX, "._-"))
    return -ERR_API_NOT_FOUND;
  if ((rc = db_txn(c, "simcust_document", doc_query_body, &q)) != 0)
    return rc;
  if (q.r == NULL)
    return -ERR_API_NOT_FOUND;
  const char *k = PQgetvalue(q.r, 0, 0);
  size_t n = (size_t)PQgetlength(q.r, 0, 1);
  char *buf = malloc(n + 1);
  if (buf == NULL) {
    PQclear(q.r);
    return -ERR_NOMEM;
  }
  memcpy(buf, PQgetvalue(q.r, 0, 1), n + 1);
  *kind = strcmp(k, "mt535") == 0     ? CUSTODY_KIND_MT535
          : strcmp(k, "semt002") == 0 ? CUSTODY_KIND_SEMT002
                                      : CUSTODY_KIND_SESE025;
  util_strlcpy(sha256, PQgetvalue(q.r, 0, 2), 65);
  *content = buf;
  *len = n;
  PQclear(q.r);
  return 0;
}

/* ------------------------------------------------------------------ */
/* The step loop                                                       */
/* ------------------------------------------------------------------ */

struct daily_query {
  const char *account;
  int32_t today;  /* in: the opening day when the account is new */
  int32_t opened; /* out: the first day owed a daily statement */
  int32_t day;    /* out: the last daily statement's day; INT32_MIN: none yet */
};

static enum db_qs select_last_daily(struct db_conn *c, void *cls)
{
  struct daily_query *q = cls;
  PGresult *r;
  char today[CAL_DATE_STR];
  cal_format_date(q->today, today);
  const char *pi[] = {q->account, today};
  enum db_qs qs = db_exec(c, &q_open_account, pi, NULL);
  if (qs < 0)
    return qs;
  const char *p[] = {q->account};
  q->day = INT32_MIN;
  qs = db_exec(c, &q_last_daily, p, &r);
  if (qs > 0) {
    const char *last = PQgetvalue(r, 0, 1);
    if (parse_day(PQgetvalue(r, 0, 0), &q->opened) != 0 ||
        (last[0] != '\0' && parse_day(last, &q->day) != 0))
      qs = DB_QS_HARD;
    PQclear(r);
  } else if (qs == DB_QS_NONE) {
    qs = DB_QS_HARD;
  }
  return qs;
}

/* The daily statements due at simulated time @t (ms): each day's once past its cut-off, from the
 * day the account was opened (its first step), at most CATCH_UP_DAYS back. */
static int daily_statements(struct custody_simcust *s, int64_t t, struct custody_simcust_stats *st)
{
  int32_t today = (int32_t)floor_div(t, DAY_MS);
  int64_t minute = (t - (int64_t)today * DAY_MS) / 60000;
  int32_t due = minute >= (int64_t)s->cfg->statement_minute ? today : today - 1;
  struct daily_query q = {s->cfg->safekeeping_account, today, today, INT32_MIN};
  int rc = db_txn(s->db, "simcust_last_daily", select_last_daily, &q);
  if (rc != 0)
    return rc;
  int32_t from = q.day == INT32_MIN ? q.opened : q.day + 1;
  if (from < due - (CATCH_UP_DAYS - 1))
    from = due - (CATCH_UP_DAYS - 1);
  for (int32_t d = from; d <= due; d++) {
    struct stmt_job j = {.s = s, .day = d, .kind = CUSTODY_KIND_SEMT002, .daily = true};
    if ((rc = statement_on(s, s->db, &j, &st->written)) != 0)
      return rc;
    if (!j.existed)
      st->statements++;
  }
  return 0;
}

int custody_simcust_step(struct custody_simcust *s, int64_t now_ms,
                         struct custody_simcust_stats *st)
{
  struct custody_simcust_stats local;
  int rc;
  if (st == NULL)
    st = &local;
  memset(st, 0, sizeof *st);
  if ((rc = flush(s, s->db, &st->written)) != 0)
    return rc;
  if ((rc = settle_due(s, custody_simcust_today(s->cfg, now_ms), st)) != 0)
    return rc;
  if ((rc = daily_statements(s, sim_ms(s->cfg, now_ms), st)) != 0)
    return rc;
  return flush(s, s->db, &st->written);
}

int custody_simcust_run(struct custody_simcust *s, volatile int *stop)
{
  int64_t next = 0;
  unsigned failures = 0;
  while (!*stop) {
    if (util_mono_ms() >= next) {
      struct custody_simcust_stats st;
      int64_t now = 0;
      int rc = db_clock_now(s->db, &now);
      if (rc == 0)
        rc = custody_simcust_step(s, now, &st);
      if (rc != 0 && failures++ % 20 == 0)
        log_msg(LOGL_WARN, "simcust", "step failed: %s (retrying every %u ms)", err_text(rc),
                s->cfg->poll_ms);
      if (rc == 0)
        failures = 0;
      next = util_mono_ms() + s->cfg->poll_ms;
    }
    util_sleep_ms(20);
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

/* The configured ISIN map as two text[] literals of equal length. */
static int build_map(struct custody_simcust *s)
{
  size_t n = s->cfg->n_symbols, cap = 4 + n * (CUSTODY_SIMCUST_SYMBOL_MAX + 4);
  size_t a = 0, b = 0;
  if ((s->map_symbols = malloc(cap)) == NULL || (s->map_isins = malloc(cap)) == NULL)
    return -ERR_NOMEM;
  s->map_symbols[a++] = '{';
  s->map_isins[b++] = '{';
  for (size_t i = 0; i < n; i++) {
    const struct custody_simcust_symbol *e = &s->cfg->symbols[i];
    if (e->isin[0] == '\0')
      continue;
    a += (size_t)snprintf(s->map_symbols + a, cap - a, "%s\"%s\"", b > 1 ? "," : "", e->symbol);
    b += (size_t)snprintf(s->map_isins + b, cap - b, "%s\"%s\"", b > 1 ? "," : "", e->isin);
  }
  memcpy(s->map_symbols + a, "}", 2);
  memcpy(s->map_isins + b, "}", 2);
  return 0;
}

static enum db_qs load_closures(struct db_conn *c, void *cls)
{
  return db_select_market_closures(c, cls);
}

int custody_simcust_create(const struct custody_simcust_cfg *cfg, struct custody_simcust **out)
{
  unsigned line = 0;
  int rc;
  struct custody_simcust *s = calloc(1, sizeof *s);
  if (s == NULL)
    return -ERR_NOMEM;
  s->cfg = cfg;
  cal_init(&s->cal);
  pthread_mutex_init(&s->files, NULL);
  if ((rc = build_map(s)) != 0)
    goto fail;
  if ((rc = cal_load_closures(&s->cal, cal_builtin_closures, cal_builtin_closures_len, &line)) !=
      0) {
    log_bug("simcust", "built-in closures line %u: %s", line, err_text(rc));
    goto fail;
  }
  if ((rc = db_connect(cfg->database_url, NULL, 10, &s->db)) != 0 ||
      (rc = db_txn(s->db, "simcust_closures", load_closures, &s->cal)) != 0)
    goto fail;
  if (mkdir(cfg->out_dir, 0755) != 0 && errno != EEXIST) {
    log_msg(LOGL_ERROR, "simcust", "cannot create %s: %s", cfg->out_dir, strerror(errno));
    rc = -ERR_IO;
    goto fail;
  }
  *out = s;
  return 0;
fail:
  custody_simcust_free(s);
  return rc;
}

void custody_simcust_free(struct custody_simcust *s)
{
  if (s == NULL)
    return;
  db_close(s->db);
  cal_free(&s->cal);
  pthread_mutex_destroy(&s->files);
  free(s->map_symbols);
  free(s->map_isins);
  free(s);
}
