/*
 * The custody store: each document the custodian sends is ingested in one
 * transaction (db_txn) -- stored with its raw bytes, SHA-256 and what was
 * parsed from it, or not at all, and then one custody_rejects row says
 * why.  Tables: migrations/0006-custody.sql; rules: docs/custody-store.md.
 *
 * The order of work in the transaction keeps memory flat for a statement
 * of any size: the duplicate check by SHA-256; the parse, whose first
 * position (when the statement's header is complete) triggers the checks
 * that need no positions (allow-list, page numbers), the document row
 * (raw bytes inline up to 64 MiB, else streamed in 1 MiB chunks with a
 * binary COPY) and the page row, and then starts one COPY of the
 * position rows, fed in 1 MiB batches while the parser streams on; last,
 * the statement's page count and completion, and the stale report of
 * older incomplete statements of the account.  Everything runs after a
 * SAVEPOINT: a fault of the document found anywhere rolls back to it and
 * records the reject instead, in the same transaction.
 *
 * Invariants: a custody_documents row exists iff everything parsed from
 * it is stored; page numbers of a statement are unique and never above
 * its last page, so pages = last_page means pages 1..N are all there.
 * Failures that are not the document's fault (database, reading the
 * file, a file changed while it was read) record nothing and are
 * returned for the caller to retry.
 *
 * Longer than most files: custody/meson.build's file list is fixed, and
 * the whole store (its SQL, COPY streams and page rules) lives here;
 * custody_show() went to custody_feed.c to keep this one under 1,500.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "custody/custody.h"

#define ALLOW_MAX  64         /* items per allow-list */
#define BATCH_SIZE (1u << 20) /* COPY data sent per PQputCopyData */

struct custody_store {
  struct db_conn *db;
  struct custody_limits lim;
  char servicers[ALLOW_MAX][CUSTODY_ID_MAX];
  size_t n_servicers;
  char accounts[ALLOW_MAX][CUSTODY_ID_MAX];
  size_t n_accounts;
};

/* A growable byte buffer. */
struct buf {
  char *p;
  size_t len, cap;
};

static int buf_reserve(struct buf *b, size_t more)
{
  if (b->len + more <= b->cap)
    return 0;
  size_t ncap = b->cap == 0 ? 4096 : b->cap;
  while (ncap < b->len + more)
    ncap *= 2;
  char *np = realloc(b->p, ncap);
  if (np == NULL)
    return -ERR_NOMEM;
  b->p = np;
  b->cap = ncap;
  return 0;
}

static int buf_put(struct buf *b, const void *d, size_t n)
{
  if (buf_reserve(b, n) != 0)
    return -ERR_NOMEM;
  memcpy(b->p + b->len, d, n);
  b->len += n;
  return 0;
}

static int buf_str(struct buf *b, const char *s)
{
  return buf_put(b, s, strlen(s));
}

/* @s as a COPY text field (backslash, tab, newline, CR escaped). */
static int buf_field(struct buf *b, const char *s)
{
  if (buf_reserve(b, 2 * strlen(s)) != 0)
    return -ERR_NOMEM;
  for (; *s != '\0'; s++) {
    char e = *s == '\\' ? '\\' : *s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : 0;
    if (e != 0) {
      b->p[b->len++] = '\\';
      b->p[b->len++] = e;
    } else {
      b->p[b->len++] = *s;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Names, detection                                                    */
/* ------------------------------------------------------------------ */

const char *custody_kind_name(enum custody_kind k)
{
  switch (k) {
  case CUSTODY_KIND_SEMT002:
    return "semt002";
  case CUSTODY_KIND_MT535:
    return "mt535";
  case CUSTODY_KIND_SESE025:
    return "sese025";
  }
  return "unknown";
}

const char *custody_outcome_name(enum custody_outcome o)
{
  switch (o) {
  case CUSTODY_INGESTED:
    return "ingested";
  case CUSTODY_DUPLICATE:
    return "duplicate";
  case CUSTODY_REJECTED:
    return "rejected";
  }
  return "failed";
}

static bool starts(const char *p, const char *end, const char *lit)
{
  size_t n = strlen(lit);
  return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

static const char *find(const char *p, const char *end, const char *lit)
{
  size_t n = strlen(lit);
  for (; (size_t)(end - p) >= n; p++)
    if (memcmp(p, lit, n) == 0)
      return p;
  return NULL;
}

/*
 * XML: the namespace of the root element (skipping the declaration,
 * comments and processing instructions) decides; any other XML is given
 * to the semt.002 parser, which names what is wrong (a DOCTYPE, another
 * namespace, broken syntax).  MT535: a FIN block ({1:, {2:, {4:) or
 * block 4's text (:16R:).
 */
enum custody_kind custody_detect_kind(const char *head, size_t n)
{
  const char *p = head, *end = head + n;
  if (starts(p, end, "\xef\xbb\xbf"))
    p += 3;
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    p++;
  if (starts(p, end, "{1:") || starts(p, end, "{2:") || starts(p, end, "{4:") ||
      starts(p, end, ":16R:"))
    return CUSTODY_KIND_MT535;
  if (p == end || *p != '<')
    return 0;
  while (p < end) {
    const char *lt = memchr(p, '<', (size_t)(end - p));
    if (lt == NULL)
      break;
    if (starts(lt, end, "<?")) {
      const char *q = find(lt, end, "?>");
      p = q != NULL ? q + 2 : end;
    } else if (starts(lt, end, "<!--")) {
      const char *q = find(lt + 4, end, "-->");
      p = q != NULL ? q + 3 : end;
    } else if (starts(lt, end, "<!")) {
      break; /* DOCTYPE or worse: the parser refuses it */
    } else {
      const char *gt = memchr(lt, '>', (size_t)(end - lt));
      const char *tend = gt != NULL ? gt : end;
      if (find(lt, tend, "urn:iso:std:iso:20022:tech:xsd:sese.025") != NULL)
        return CUSTODY_KIND_SESE025;
      break;
    }
  }
  return CUSTODY_KIND_SEMT002;
}

/* ------------------------------------------------------------------ */
/* The store                                                           */
/* ------------------------------------------------------------------ */

/* Split a comma list into @items; empty items are skipped. */
static int parse_list(const char *s, char items[][CUSTODY_ID_MAX], size_t *n)
{
  *n = 0;
  if (s == NULL)
    return 0;
  while (*s != '\0') {
    const char *comma = strchr(s, ',');
    const char *e = comma != NULL ? comma : s + strlen(s);
    const char *a = s;
    while (a < e && (*a == ' ' || *a == '\t'))
      a++;
    const char *z = e;
    while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
      z--;
    if (z > a) {
      if ((size_t)(z - a) >= CUSTODY_ID_MAX || *n == ALLOW_MAX)
        return -ERR_INVALID_ARGUMENT;
      memcpy(items[*n], a, (size_t)(z - a));
      items[*n][z - a] = '\0';
      (*n)++;
    }
    s = comma != NULL ? comma + 1 : e;
  }
  return 0;
}

int custody_store_open(struct db_conn *c, const char *servicers, const char *accounts,
                       const struct custody_limits *lim, struct custody_store **out)
{
  struct custody_store *s = calloc(1, sizeof *s);
  if (s == NULL)
    return -ERR_NOMEM;
  s->db = c;
  if (lim != NULL)
    s->lim = *lim;
  else
    custody_limits_default(&s->lim);
  if (parse_list(servicers, s->servicers, &s->n_servicers) != 0 ||
      parse_list(accounts, s->accounts, &s->n_accounts) != 0) {
    log_msg(LOGL_ERROR, "custody", "allow-list: at most %d items of at most 35 characters each",
            ALLOW_MAX);
    free(s);
    return -ERR_INVALID_ARGUMENT;
  }
  if (s->n_servicers == 0 || s->n_accounts == 0)
    log_msg(LOGL_WARN, "custody",
            "%s is empty: every custodian document will be refused "
            "(set custody_servicers and custody_accounts)",
            s->n_servicers == 0 ? "custody_servicers" : "custody_accounts");
  *out = s;
  return 0;
}

void custody_store_free(struct custody_store *s)
{
  free(s);
}

struct db_conn *custody_store_db(struct custody_store *s)
{
  return s->db;
}

static bool allowed(char items[][CUSTODY_ID_MAX], size_t n, const char *v)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(items[i], v) == 0)
      return true;
  return false;
}

static void vset_err(struct custody_error *e, int code, const char *where, const char *fmt,
                     va_list ap) __attribute__((format(printf, 4, 0)));

static void vset_err(struct custody_error *e, int code, const char *where, const char *fmt,
                     va_list ap)
{
  e->code = code;
  e->line = 0;
  util_strlcpy(e->where, where, sizeof e->where);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

static void set_err(struct custody_error *e, int code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_err(struct custody_error *e, int code, const char *where, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vset_err(e, code, where, fmt, ap);
  va_end(ap);
}

/* The allow-list check of a servicer and account; 0 or -ERR_CUSTODY_ACCOUNT in @e. */
static int check_allowed(const struct custody_store *s, const char *servicer, const char *account,
                         struct custody_error *e)
{
  const char *why = s->n_servicers == 0 ? " (custody_servicers is empty: every document is refused)"
                    : s->n_accounts == 0 ? " (custody_accounts is empty: every document is refused)"
                                         : "";
  if (!allowed((char(*)[CUSTODY_ID_MAX])s->servicers, s->n_servicers, servicer)) {
    set_err(e, -ERR_CUSTODY_ACCOUNT, "AcctSvcr", "account servicer '%s' is not allow-listed%s",
            servicer, why);
    return e->code;
  }
  if (!allowed((char(*)[CUSTODY_ID_MAX])s->accounts, s->n_accounts, account)) {
    set_err(e, -ERR_CUSTODY_ACCOUNT, "SfkpgAcct", "safekeeping account '%s' is not allow-listed%s",
            account, why);
    return e->code;
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/* ------------------------------------------------------------------ */

static const struct db_stmt q_doc_by_sha = {
    "custody_select_document_by_sha", "SELECT id FROM custody_documents WHERE sha256 = $1", 1};

static const struct db_stmt q_stmt_lock = {
    "custody_select_statement_lock",
    "SELECT id FROM custody_statements WHERE account_servicer = $1 AND safekeeping_account = $2"
    " AND stmt_id = $3 AND stmt_day = $4::date AND basis = $5 AND update_type = $6 FOR UPDATE",
    6};

static const struct db_stmt q_stmt_insert = {
    "custody_insert_statement",
    "INSERT INTO custody_statements (account_servicer, safekeeping_account, stmt_id, stmt_day,"
    " basis, update_type, stmt_at, stmt_has_time)"
    " VALUES ($1, $2, $3, $4::date, $5, $6, $7::timestamptz, $8::boolean) RETURNING id",
    8};

static const struct db_stmt q_pages = {
    "custody_select_statement_pages",
    "SELECT page_no, last_page, document_id, content_sha256 FROM custody_statement_pages"
    " WHERE statement_id = $1::bigint ORDER BY page_no",
    1};

static const struct db_stmt q_doc_chunked = {
    "custody_insert_document_chunked",
    "INSERT INTO custody_documents (kind, sha256, size, source, n_chunks)"
    " VALUES ($1, $2, $3::bigint, $4, $5::integer) RETURNING id",
    5};

static const struct db_stmt q_page_insert = {
    "custody_insert_statement_page",
    "INSERT INTO custody_statement_pages (document_id, statement_id, page_no, last_page, kind,"
    " account_owner, frequency, activity, sub_accounts, stmt_at)"
    " VALUES ($1::bigint, $2::bigint, $3::integer, $4::boolean, $5, $6, $7, $8::boolean,"
    " $9::boolean, $10::timestamptz)",
    10};

static const struct db_stmt q_page_done = {
    "custody_update_statement_page_content",
    "UPDATE custody_statement_pages SET positions = $2::bigint, balances = $3::bigint,"
    " content_sha256 = $4 WHERE document_id = $1::bigint",
    4};

static const struct db_stmt q_stmt_count = {
    "custody_update_statement_pages",
    "UPDATE custody_statements SET pages = pages + 1,"
    " last_page = CASE WHEN $2::boolean THEN $3::integer ELSE last_page END,"
    " complete_at = CASE WHEN pages + 1 = (CASE WHEN $2::boolean THEN $3::integer"
    " ELSE last_page END) THEN now() END"
    " WHERE id = $1::bigint RETURNING complete_at IS NOT NULL",
    3};

static const struct db_stmt q_stale = {
    "custody_update_statements_stale",
    "UPDATE custody_statements s SET stale_at = now()"
    " WHERE account_servicer = $1 AND safekeeping_account = $2 AND basis = $3"
    " AND stmt_at < $4::timestamptz AND complete_at IS NULL AND stale_at IS NULL"
    " RETURNING s.id, s.stmt_id, to_char(s.stmt_day, 'YYYY-MM-DD'), s.update_type, s.pages,"
    " COALESCE(s.last_page, 0),"
    " (SELECT COALESCE(string_agg(g::text, ',' ORDER BY g), '') FROM generate_series(1,"
    "   COALESCE(s.last_page, (SELECT max(page_no) FROM custody_statement_pages p"
    "   WHERE p.statement_id = s.id), 0)) g WHERE NOT EXISTS (SELECT 1 FROM"
    "   custody_statement_pages p WHERE p.statement_id = s.id AND p.page_no = g))",
    4};

static const struct db_stmt q_reject = {
    "custody_insert_reject",
    "INSERT INTO custody_rejects (sha256, size, source, kind, error_code, error_name, message,"
    " location, line, head, statement_id) VALUES ($1, $2::bigint, $3, $4, $5::integer, $6, $7,"
    " $8, $9::bigint, decode($10, 'hex'), $11::bigint) RETURNING id",
    11};

static const struct db_stmt q_settle_by_tx = {
    "custody_select_settlement_by_tx",
    "SELECT document_id FROM custody_settlements WHERE account_servicer = $1 AND tx_id = $2", 2};

static const struct db_stmt q_settle_insert = {
    "custody_insert_settlement",
    "INSERT INTO custody_settlements (document_id, account_servicer, tx_id, servicer_tx_id,"
    " account_owner, safekeeping_account, isin, quantity, is_short, qty_kind, direction,"
    " against_payment, trade_date, settlement_date, amount, currency) VALUES ($1::bigint, $2,"
    " $3, $4, $5, $6, $7, $8::numeric, $9::boolean, $10, $11, $12::boolean, $13::date,"
    " $14::date, $15::numeric, $16)",
    16};

/* Classify a result of PQexec/PQexecParams as db_exec does; records the error on @c. */
static enum db_qs classify(struct db_conn *c, PGresult *r)
{
  ExecStatusType t = PQresultStatus(r);
  if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK || t == PGRES_COPY_IN) {
    if (t == PGRES_TUPLES_OK)
      return (enum db_qs)PQntuples(r);
    const char *n = PQcmdTuples(r);
    return n[0] == '\0' ? DB_QS_NONE : (enum db_qs)strtol(n, NULL, 10);
  }
  const char *msg = r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(c->pg);
  const char *st = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  util_strlcpy(c->last_error, msg != NULL && msg[0] != '\0' ? msg : PQerrorMessage(c->pg),
               sizeof c->last_error);
  size_t n = strlen(c->last_error);
  while (n > 0 && (c->last_error[n - 1] == '\n' || c->last_error[n - 1] == ' '))
    c->last_error[--n] = '\0';
  util_strlcpy(c->last_sqlstate, st != NULL ? st : "", sizeof c->last_sqlstate);
  if (strcmp(c->last_sqlstate, "40001") == 0 || strcmp(c->last_sqlstate, "40P01") == 0)
    return DB_QS_SOFT;
  return DB_QS_HARD;
}

static enum db_qs sql(struct db_conn *c, const char *text)
{
  PGresult *r = PQexec(c->pg, text);
  enum db_qs qs = classify(c, r);
  PQclear(r);
  return qs;
}

/* ------------------------------------------------------------------ */
/* The document being ingested                                         */
/* ------------------------------------------------------------------ */

struct doc {
  int fd;          /* -1 when in memory only */
  const char *mem; /* the whole document, when it fits CUSTODY_RAW_INLINE_MAX */
  char *owned;     /* mem when read here from fd */
  uint64_t size;
  const char *source;
  enum custody_kind kind;
  char sha[65];
  char head[CUSTODY_REJECT_HEAD];
  size_t head_len;
  struct stat st0; /* of fd, before reading */
};

/* pread all of [off, off + n) into @p; -ERR_IO on a short read. */
static int read_at(const struct doc *d, uint64_t off, char *p, size_t n)
{
  if (d->mem != NULL) {
    memcpy(p, d->mem + off, n);
    return 0;
  }
  while (n > 0) {
    ssize_t k = pread(d->fd, p, n, (off_t)off);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return -ERR_IO;
    p += k;
    off += (uint64_t)k;
    n -= (size_t)k;
  }
  return 0;
}

static void hex_sha(const unsigned char h[crypto_hash_sha256_BYTES], char out[65])
{
  sodium_bin2hex(out, 65, h, crypto_hash_sha256_BYTES);
}

/* SHA-256 of the whole document, streaming from the file when not in memory. */
static int hash_doc(struct doc *d, char *block)
{
  crypto_hash_sha256_state hs;
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_init(&hs);
  if (d->mem != NULL) {
    crypto_hash_sha256_update(&hs, (const unsigned char *)d->mem, d->size);
  } else {
    for (uint64_t off = 0; off < d->size;) {
      size_t n = d->size - off < CUSTODY_RAW_CHUNK ? (size_t)(d->size - off) : CUSTODY_RAW_CHUNK;
      if (read_at(d, off, block, n) != 0)
        return -ERR_IO;
      crypto_hash_sha256_update(&hs, (const unsigned char *)block, n);
      off += n;
    }
  }
  crypto_hash_sha256_final(&hs, h);
  hex_sha(h, d->sha);
  return 0;
}

/* ------------------------------------------------------------------ */
/* One ingest: the transaction's state                                 */
/* ------------------------------------------------------------------ */

enum { CB_STOP = 1 }; /* callback return: see x->qs / x->fail / x->rej */

struct ictx {
  struct custody_store *s;
  struct doc *d;
  struct custody_ingest *res;
  char *block; /* CUSTODY_RAW_CHUNK + 64 bytes of scratch */
  /* Reset on every attempt. */
  enum db_qs qs; /* a database failure to return */
  int fail;      /* a failure that is not the document's (-ERR_IO, -ERR_NOMEM) */
  bool rejected; /* the document is refused: res->err, or own when own_err */
  bool own_err;  /* the reason is ours (allow-list, pages), in own */
  struct custody_error own;
  bool header_done;       /* checks and rows of the statement done */
  bool copying;           /* the positions COPY is open */
  bool dup_page;          /* the page is stored already: only hash the content */
  struct custody_stmt st; /* the header, from the first callback */
  long long statement_id, document_id, dup_doc_id;
  char dup_content[65];
  uint64_t positions, balances;
  crypto_hash_sha256_state content;
  struct buf rows;
};

static void ictx_reset(struct ictx *x)
{
  x->qs = DB_QS_NONE;
  x->fail = 0;
  x->rejected = false;
  x->own_err = false;
  x->header_done = false;
  x->copying = false;
  x->dup_page = false;
  memset(&x->st, 0, sizeof x->st);
  x->statement_id = x->document_id = x->dup_doc_id = 0;
  x->dup_content[0] = '\0';
  x->positions = x->balances = 0;
  crypto_hash_sha256_init(&x->content);
  x->rows.len = 0;
  memset(&x->res->err, 0, sizeof x->res->err);
  x->res->completed = false;
  x->res->stale = 0;
}

/*
 * A database failure to hand to db_txn.  A unique violation means a
 * concurrent transaction stored the same document or statement first:
 * retried like a serialization failure, the next attempt sees its rows.
 */
static int db_fail(struct ictx *x, enum db_qs qs)
{
  x->qs = qs < 0 ? qs : DB_QS_HARD;
  if (x->qs == DB_QS_HARD && strcmp(x->s->db->last_sqlstate, "23505") == 0)
    x->qs = DB_QS_SOFT;
  return CB_STOP;
}

static int reject(struct ictx *x, int code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int reject(struct ictx *x, int code, const char *where, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vset_err(&x->own, code, where, fmt, ap);
  va_end(ap);
  x->rejected = x->own_err = true;
  return CB_STOP;
}

static void fmt_ll(char *b, size_t n, long long v)
{
  snprintf(b, n, "%lld", v);
}

/* "YYYY-MM-DD HH:MM:SS.mmm+00" of UTC milliseconds. */
static void fmt_ts(int64_t ms, char out[40])
{
  int64_t day = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
  int64_t r = ms - day * 86400000;
  int y;
  unsigned mo, md;
  cal_civil((int32_t)day, &y, &mo, &md);
  snprintf(out, 40, "%04d-%02u-%02u %02u:%02u:%02u.%03u+00", y, mo, md, (unsigned)(r / 3600000),
           (unsigned)(r / 60000 % 60), (unsigned)(r / 1000 % 60), (unsigned)(r % 1000));
}

static const char *basis_code(enum custody_basis b)
{
  return b == CUSTODY_BASIS_SETT ? "SETT" : b == CUSTODY_BASIS_TRAD ? "TRAD" : "CONT";
}

static const char *qty_kind_code(enum custody_qty_kind k)
{
  switch (k) {
  case CUSTODY_QTY_UNIT:
    return "UNIT";
  case CUSTODY_QTY_FACE_AMT:
    return "FAMT";
  case CUSTODY_QTY_AMTSD_VAL:
    return "AMOR";
  case CUSTODY_QTY_DGTL_TKN_UNIT:
    return "DGTL";
  }
  return NULL;
}

/* The quantity as the shortest exact decimal ("100250", "0.5"); 0 or -ERR_CUSTODY_VALUE. */
static int fmt_qty(const struct custody_qty *q, char out[MONEY_STR_MAX])
{
  if (q->qty.v < 0 || qty_kind_code(q->kind) == NULL ||
      money_format(q->qty, out, MONEY_STR_MAX) < 0)
    return -ERR_CUSTODY_VALUE;
  char *dot = strchr(out, '.');
  if (dot != NULL) {
    char *e = out + strlen(out);
    while (e > dot + 1 && e[-1] == '0')
      *--e = '\0';
    if (e == dot + 1)
      *dot = '\0';
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* COPY                                                                */
/* ------------------------------------------------------------------ */

static enum db_qs copy_begin(struct db_conn *c, const char *text)
{
  PGresult *r = PQexec(c->pg, text);
  enum db_qs qs = PQresultStatus(r) == PGRES_COPY_IN ? DB_QS_NONE : classify(c, r);
  if (qs == DB_QS_NONE && PQresultStatus(r) != PGRES_COPY_IN)
    qs = DB_QS_HARD;
  PQclear(r);
  return qs;
}

static enum db_qs copy_put(struct db_conn *c, const char *p, size_t n)
{
  while (n > 0) {
    int k = n > INT32_MAX ? INT32_MAX : (int)n;
    if (PQputCopyData(c->pg, p, k) != 1) {
      util_strlcpy(c->last_error, PQerrorMessage(c->pg), sizeof c->last_error);
      c->last_sqlstate[0] = '\0';
      return DB_QS_HARD;
    }
    p += k;
    n -= (size_t)k;
  }
  return DB_QS_NONE;
}

/* End a COPY: @abort_msg NULL commits its rows, else fails it.  Drains the results. */
static enum db_qs copy_end(struct db_conn *c, const char *abort_msg)
{
  enum db_qs qs = DB_QS_NONE;
  bool first = true;
  if (PQputCopyEnd(c->pg, abort_msg) != 1) {
    util_strlcpy(c->last_error, PQerrorMessage(c->pg), sizeof c->last_error);
    qs = DB_QS_HARD;
  }
  PGresult *r;
  while ((r = PQgetResult(c->pg)) != NULL) {
    if (first && qs == DB_QS_NONE) {
      enum db_qs q = classify(c, r);
      qs = q < 0 ? q : DB_QS_NONE;
    }
    first = false;
    PQclear(r);
  }
  return abort_msg != NULL ? DB_QS_NONE : qs;
}

static void put_be(char *p, uint64_t v, int n)
{
  for (int i = n - 1; i >= 0; i--, v >>= 8)
    p[i] = (char)(v & 0xff);
}

/*
 * Stream the raw bytes into custody_document_chunks with a binary COPY,
 * hashing them again: a file changed since its hash was taken is not
 * stored (-ERR_IO, retried later).
 */
static int store_chunks(struct ictx *x, struct db_conn *c)
{
  static const char hdr[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
  crypto_hash_sha256_state hs;
  unsigned char h[crypto_hash_sha256_BYTES];
  char again[65];
  enum db_qs qs = copy_begin(c, "COPY custody_document_chunks (document_id, seq, data)"
                                " FROM STDIN (FORMAT binary)");
  if (qs < 0)
    return db_fail(x, qs);
  qs = copy_put(c, hdr, sizeof hdr);
  crypto_hash_sha256_init(&hs);
  uint32_t seq = 0;
  for (uint64_t off = 0; qs == DB_QS_NONE && off < x->d->size; seq++) {
    size_t n =
        x->d->size - off < CUSTODY_RAW_CHUNK ? (size_t)(x->d->size - off) : CUSTODY_RAW_CHUNK;
    char *t = x->block;
    put_be(t, 3, 2);
    put_be(t + 2, 8, 4);
    put_be(t + 6, (uint64_t)x->document_id, 8);
    put_be(t + 14, 4, 4);
    put_be(t + 18, seq, 4);
    put_be(t + 22, n, 4);
    if (read_at(x->d, off, t + 26, n) != 0) {
      copy_end(c, "read error");
      x->fail = -ERR_IO;
      return CB_STOP;
    }
    crypto_hash_sha256_update(&hs, (const unsigned char *)t + 26, n);
    qs = copy_put(c, t, n + 26);
    off += n;
  }
  if (qs == DB_QS_NONE)
    qs = copy_put(c, "\xff\xff", 2);
  if (qs < 0) {
    copy_end(c, "failed");
    return db_fail(x, qs);
  }
  crypto_hash_sha256_final(&hs, h);
  hex_sha(h, again);
  if (strcmp(again, x->d->sha) != 0) {
    copy_end(c, "changed");
    log_msg(LOGL_WARN, "custody", "%s changed while it was being ingested: not stored",
            x->d->source);
    x->fail = -ERR_IO;
    return CB_STOP;
  }
  qs = copy_end(c, NULL);
  return qs < 0 ? db_fail(x, qs) : 0;
}

/* Insert the document row (and its raw bytes); x->document_id. */
static int store_document(struct ictx *x, struct db_conn *c)
{
  char size[24], chunks[24];
  PGresult *r = NULL;
  enum db_qs qs;
  snprintf(size, sizeof size, "%llu", (unsigned long long)x->d->size);
  if (x->d->size <= CUSTODY_RAW_INLINE_MAX) {
    const char *v[5] = {custody_kind_name(x->d->kind), x->d->sha, size, x->d->source, x->d->mem};
    int lens[5] = {0, 0, 0, 0, (int)x->d->size};
    int fmts[5] = {0, 0, 0, 0, 1};
    r = PQexecParams(c->pg,
                     "INSERT INTO custody_documents (kind, sha256, size, source, raw)"
                     " VALUES ($1, $2, $3::bigint, $4, $5::bytea) RETURNING id",
                     5, NULL, v, lens, fmts, 0);
    qs = classify(c, r);
  } else {
    snprintf(chunks, sizeof chunks, "%llu",
             (unsigned long long)((x->d->size + CUSTODY_RAW_CHUNK - 1) / CUSTODY_RAW_CHUNK));
    const char *v[5] = {custody_kind_name(x->d->kind), x->d->sha, size, x->d->source, chunks};
    qs = db_exec(c, &q_doc_chunked, v, &r);
  }
  if (qs <= 0) {
    PQclear(r);
    return db_fail(x, qs);
  }
  x->document_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return x->d->size > CUSTODY_RAW_INLINE_MAX ? store_chunks(x, c) : 0;
}

/* ------------------------------------------------------------------ */
/* Statements                                                          */
/* ------------------------------------------------------------------ */

static const char *bool_text(bool b)
{
  return b ? "true" : "false";
}

/* Find or create the statement of x->st, locked; x->statement_id. */
static int statement_row(struct ictx *x, struct db_conn *c)
{
  const struct custody_stmt *st = &x->st;
  char day[CAL_DATE_STR], at[40];
  PGresult *r = NULL;
  cal_format_date(st->stmt_day, day);
  fmt_ts(st->stmt_ms, at);
  const char *upd = st->update == CUSTODY_UPDATE_DELTA ? "DELT" : "COMP";
  const char *v[8] = {st->account_servicer,
                      st->safekeeping_account,
                      st->stmt_id,
                      day,
                      basis_code(st->basis),
                      upd,
                      at,
                      bool_text(st->stmt_has_time)};
  enum db_qs qs = db_exec(c, &q_stmt_lock, v, &r);
  if (qs == DB_QS_NONE)
    qs = db_exec(c, &q_stmt_insert, v, &r);
  if (qs <= 0)
    return db_fail(x, qs);
  x->statement_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return 0;
}

/*
 * The page rules against the pages stored: the same number again is
 * decided by content at the end (dup_page); a page above the last page,
 * a second last page, or a last page below a stored page is refused.
 */
static int check_pages(struct ictx *x, struct db_conn *c)
{
  char id[24];
  PGresult *r = NULL;
  fmt_ll(id, sizeof id, x->statement_id);
  const char *v[1] = {id};
  enum db_qs qs = db_exec(c, &q_pages, v, &r);
  if (qs < 0)
    return db_fail(x, qs);
  uint32_t pg = x->st.page_no, last = 0, max = 0;
  for (int i = 0; i < (int)qs; i++) {
    uint32_t no = (uint32_t)strtoul(PQgetvalue(r, i, 0), NULL, 10);
    if (PQgetvalue(r, i, 1)[0] == 't')
      last = no;
    if (no > max)
      max = no;
    if (no == pg) {
      x->dup_page = true;
      x->dup_doc_id = strtoll(PQgetvalue(r, i, 2), NULL, 10);
      util_strlcpy(x->dup_content, PQgetvalue(r, i, 3), sizeof x->dup_content);
    }
  }
  PQclear(r);
  if (x->dup_page)
    return 0;
  if (last != 0 && pg > last)
    return reject(x, -ERR_CUSTODY_PAGES, "Pgntn/PgNb",
                  "page %u of statement '%s': its last page is page %u", pg, x->st.stmt_id, last);
  if (last != 0 && x->st.last_page)
    return reject(x, -ERR_CUSTODY_PAGES, "Pgntn/LastPgInd",
                  "page %u of statement '%s' is flagged last, but page %u already is", pg,
                  x->st.stmt_id, last);
  if (x->st.last_page && max > pg)
    return reject(x, -ERR_CUSTODY_PAGES, "Pgntn/LastPgInd",
                  "page %u of statement '%s' is flagged last, but page %u is stored", pg,
                  x->st.stmt_id, max);
  return 0;
}

static int insert_page(struct ictx *x, struct db_conn *c)
{
  const struct custody_stmt *st = &x->st;
  char doc[24], sid[24], pg[16], at[40];
  fmt_ll(doc, sizeof doc, x->document_id);
  fmt_ll(sid, sizeof sid, x->statement_id);
  snprintf(pg, sizeof pg, "%u", (unsigned)st->page_no);
  fmt_ts(st->stmt_ms, at);
  const char *v[10] = {doc,
                       sid,
                       pg,
                       bool_text(st->last_page),
                       custody_kind_name(x->d->kind),
                       st->account_owner,
                       st->frequency,
                       bool_text(st->activity),
                       bool_text(st->sub_accounts),
                       at};
  enum db_qs qs = db_exec(c, &q_page_insert, v, NULL);
  return qs < 0 ? db_fail(x, qs) : 0;
}

/* Everything a statement page needs before its first position. */
static int on_header(struct ictx *x, const struct custody_stmt *st)
{
  struct db_conn *c = x->s->db;
  char line[64];
  int rc;
  x->header_done = true;
  x->st = *st;
  if (check_allowed(x->s, st->account_servicer, st->safekeeping_account, &x->own) != 0) {
    x->rejected = x->own_err = true;
    return CB_STOP;
  }
  if (st->page_no < 1)
    return reject(x, -ERR_CUSTODY_PAGES, "Pgntn/PgNb", "page number 0");
  if ((st->basis < CUSTODY_BASIS_SETT || st->basis > CUSTODY_BASIS_CONT) ||
      (st->update != CUSTODY_UPDATE_COMPLETE && st->update != CUSTODY_UPDATE_DELTA))
    return reject(x, -ERR_CUSTODY_VALUE, "StmtGnlDtls", "statement basis or update type missing");
  /* The content hash covers the page, not the bytes: see check_pages(). */
  int n = snprintf(line, sizeof line, "page %u %d\n", (unsigned)st->page_no, st->last_page ? 1 : 0);
  crypto_hash_sha256_update(&x->content, (const unsigned char *)line, (size_t)n);
  if ((rc = statement_row(x, c)) != 0 || (rc = check_pages(x, c)) != 0)
    return rc;
  if (x->dup_page)
    return 0;
  if ((rc = store_document(x, c)) != 0 || (rc = insert_page(x, c)) != 0)
    return rc;
  enum db_qs qs = copy_begin(c, "COPY custody_positions (document_id, position_no, balance_no,"
                                " balance, sub_type, isin, sub_account, quantity, is_short,"
                                " qty_kind) FROM STDIN");
  if (qs < 0)
    return db_fail(x, qs);
  x->copying = true;
  return 0;
}

/* One balance: a COPY row (unless only hashing) and a line of the content hash. */
static int add_balance(struct ictx *x, const struct custody_position *p, unsigned no,
                       const char *balance, const char *sub_type, const struct custody_qty *q)
{
  char qty[MONEY_STR_MAX], pre[64], line[160];
  if (fmt_qty(q, qty) != 0)
    return reject(x, -ERR_CUSTODY_VALUE, "Qty", "quantity of %s out of range", p->isin);
  const char *kind = qty_kind_code(q->kind);
  int n = snprintf(line, sizeof line, "%u %s %s %s %d\n", no, sub_type != NULL ? sub_type : "-",
                   qty, kind, q->shrt ? 1 : 0);
  crypto_hash_sha256_update(&x->content, (const unsigned char *)line, (size_t)n);
  x->balances++;
  if (!x->copying)
    return 0;
  struct buf *b = &x->rows;
  snprintf(pre, sizeof pre, "%lld\t%llu\t%u\t%s\t", x->document_id,
           (unsigned long long)x->positions, no, balance);
  if (buf_str(b, pre) != 0 || (sub_type != NULL ? buf_field(b, sub_type) : buf_str(b, "\\N")) ||
      buf_str(b, "\t") || buf_field(b, p->isin) || buf_str(b, "\t") ||
      buf_field(b, p->sub_account) || buf_str(b, "\t") || buf_str(b, qty) ||
      buf_str(b, q->shrt ? "\tt\t" : "\tf\t") || buf_str(b, kind) || buf_str(b, "\n")) {
    x->fail = -ERR_NOMEM;
    return CB_STOP;
  }
  return 0;
}

static int on_position(void *cls, const struct custody_stmt *st, const struct custody_position *p)
{
  struct ictx *x = cls;
  int rc;
  if (!x->header_done && (rc = on_header(x, st)) != 0)
    return rc;
  x->positions++;
  if (x->positions > x->s->lim.max_positions)
    return reject(x, -ERR_CUSTODY_TOO_LARGE, "BalForAcct", "more than %llu positions",
                  (unsigned long long)x->s->lim.max_positions);
  if (!p->aggregate.present)
    return reject(x, -ERR_CUSTODY_MISSING, "BalForAcct/AggtBal", "position %s without AggtBal",
                  p->isin);
  char line[CUSTODY_ID_MAX + 40];
  int n = snprintf(line, sizeof line, "pos %s %s\n", p->isin, p->sub_account);
  crypto_hash_sha256_update(&x->content, (const unsigned char *)line, (size_t)n);
  if ((rc = add_balance(x, p, 0, "aggregate", NULL, &p->aggregate)) != 0)
    return rc;
  if (p->available.present && (rc = add_balance(x, p, 1, "available", NULL, &p->available)) != 0)
    return rc;
  if (p->not_available.present &&
      (rc = add_balance(x, p, 2, "not_available", NULL, &p->not_available)) != 0)
    return rc;
  for (unsigned i = 0; i < p->n_sub && i < CUSTODY_SUBBAL_MAX; i++) {
    if (!p->sub[i].qty.present)
      continue;
    if ((rc = add_balance(x, p, 3 + i, "sub", p->sub[i].type, &p->sub[i].qty)) != 0)
      return rc;
  }
  if (x->copying && x->rows.len >= BATCH_SIZE) {
    enum db_qs qs = copy_put(x->s->db, x->rows.p, x->rows.len);
    x->rows.len = 0;
    if (qs < 0)
      return db_fail(x, qs);
  }
  return 0;
}

/* The page is parsed: close the COPY, count the page, report stale statements. */
static int finish_page(struct ictx *x, struct db_conn *c)
{
  unsigned char h[crypto_hash_sha256_BYTES];
  char content[65], doc[24], npos[24], nbal[24], sid[24], pg[16], at[40];
  PGresult *r = NULL;
  enum db_qs qs;
  crypto_hash_sha256_final(&x->content, h);
  hex_sha(h, content);
  if (x->dup_page) {
    if (strcmp(content, x->dup_content) == 0)
      return reject(x, -ERR_CUSTODY_PAGES, "Pgntn/PgNb",
                    "page %u of statement '%s' is stored already (document %lld); "
                    "the same page again in other bytes",
                    (unsigned)x->st.page_no, x->st.stmt_id, x->dup_doc_id);
    return reject(x, -ERR_CUSTODY_CONFLICT, "Pgntn/PgNb",
                  "page %u of statement '%s' is stored already (document %lld) with other "
                  "positions",
                  (unsigned)x->st.page_no, x->st.stmt_id, x->dup_doc_id);
  }
  if (x->rows.len > 0 && (qs = copy_put(c, x->rows.p, x->rows.len)) < 0)
    return db_fail(x, qs);
  x->rows.len = 0;
  x->copying = false;
  if ((qs = copy_end(c, NULL)) < 0)
    return db_fail(x, qs);
  fmt_ll(doc, sizeof doc, x->document_id);
  snprintf(npos, sizeof npos, "%llu", (unsigned long long)x->positions);
  snprintf(nbal, sizeof nbal, "%llu", (unsigned long long)x->balances);
  const char *v1[4] = {doc, npos, nbal, content};
  if ((qs = db_exec(c, &q_page_done, v1, NULL)) < 0)
    return db_fail(x, qs);
  fmt_ll(sid, sizeof sid, x->statement_id);
  snprintf(pg, sizeof pg, "%u", (unsigned)x->st.page_no);
  const char *v2[3] = {sid, bool_text(x->st.last_page), pg};
  if ((qs = db_exec(c, &q_stmt_count, v2, &r)) <= 0)
    return db_fail(x, qs);
  x->res->completed = PQgetvalue(r, 0, 0)[0] == 't';
  PQclear(r);
  /* Older incomplete statements of this account and basis are stale now. */
  fmt_ts(x->st.stmt_ms, at);
  const char *v3[4] = {x->st.account_servicer, x->st.safekeeping_account, basis_code(x->st.basis),
                       at};
  if ((qs = db_exec(c, &q_stale, v3, &r)) < 0)
    return db_fail(x, qs);
  for (int i = 0; i < (int)qs; i++) {
    char msg[400], code[16];
    unsigned last = (unsigned)strtoul(PQgetvalue(r, i, 5), NULL, 10);
    if (last != 0)
      snprintf(msg, sizeof msg,
               "statement '%s' of %s (%s) is incomplete: page(s) %s of %u missing; "
               "superseded by statement '%s' of %s",
               PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 6),
               last, x->st.stmt_id, at);
    else
      snprintf(msg, sizeof msg,
               "statement '%s' of %s (%s) is incomplete: its last page never arrived (%s page(s) "
               "stored%s%s); superseded by statement '%s' of %s",
               PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
               PQgetvalue(r, i, 6)[0] != '\0' ? ", missing " : "", PQgetvalue(r, i, 6),
               x->st.stmt_id, at);
    snprintf(code, sizeof code, "%d", ERR_CUSTODY_PAGES);
    const char *v4[11] = {NULL,
                          "0",
                          x->d->source,
                          custody_kind_name(x->d->kind),
                          code,
                          err_name(ERR_CUSTODY_PAGES),
                          msg,
                          "Pgntn",
                          "0",
                          "",
                          PQgetvalue(r, i, 0)};
    enum db_qs q2 = db_exec(c, &q_reject, v4, NULL);
    if (q2 < 0) {
      PQclear(r);
      return db_fail(x, q2);
    }
    log_msg(LOGL_WARN, "custody", "%s: %s", err_name(ERR_CUSTODY_PAGES), msg);
    x->res->stale++;
  }
  if (qs > 0)
    PQclear(r);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Settlements                                                         */
/* ------------------------------------------------------------------ */

static int ingest_settlement(struct ictx *x, struct db_conn *c)
{
  struct custody_settlement t;
  char qty[MONEY_STR_MAX], amount[MONEY_STR_MAX], trade[CAL_DATE_STR], settled[CAL_DATE_STR];
  char doc[24];
  PGresult *r = NULL;
  int rc;
  memset(&t, 0, sizeof t);
  rc = custody_sese025_parse_mem(x->d->mem, x->d->size, &x->s->lim, &t, &x->res->err);
  if (rc != 0) {
    x->res->err.code = rc;
    x->rejected = true;
    return CB_STOP;
  }
  if (check_allowed(x->s, t.account_servicer, t.safekeeping_account, &x->own) != 0) {
    x->rejected = x->own_err = true;
    return CB_STOP;
  }
  if (fmt_qty(&t.qty, qty) != 0 ||
      (t.direction != CUSTODY_RECEIVE && t.direction != CUSTODY_DELIVER))
    return reject(x, -ERR_CUSTODY_VALUE, "SttldQty", "quantity or direction out of range");
  const char *v[2] = {t.account_servicer, t.tx_id};
  enum db_qs qs = db_exec(c, &q_settle_by_tx, v, &r);
  if (qs < 0)
    return db_fail(x, qs);
  if (qs > 0) {
    long long other = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return reject(x, -ERR_CUSTODY_CONFLICT, "TxIdDtls/AcctOwnrTxId",
                  "transaction '%s' of %s is confirmed already by document %lld (other bytes)",
                  t.tx_id, t.account_servicer, other);
  }
  if ((rc = store_document(x, c)) != 0)
    return rc;
  fmt_ll(doc, sizeof doc, x->document_id);
  if (t.trade_day != INT32_MIN)
    cal_format_date(t.trade_day, trade);
  cal_format_date(t.settlement_day, settled);
  bool paid = t.currency[0] != '\0';
  if (paid && money_format(t.amount, amount, sizeof amount) < 0)
    return reject(x, -ERR_CUSTODY_VALUE, "SttldAmt", "settled amount out of range");
  const char *w[16] = {doc,
                       t.account_servicer,
                       t.tx_id,
                       t.servicer_tx_id,
                       t.account_owner,
                       t.safekeeping_account,
                       t.isin,
                       qty,
                       bool_text(t.qty.shrt),
                       qty_kind_code(t.qty.kind),
                       t.direction == CUSTODY_RECEIVE ? "RECE" : "DELI",
                       bool_text(t.against_payment),
                       t.trade_day != INT32_MIN ? trade : NULL,
                       settled,
                       paid ? amount : NULL,
                       paid ? t.currency : NULL};
  if ((qs = db_exec(c, &q_settle_insert, w, NULL)) < 0)
    return db_fail(x, qs);
  x->positions = 1;
  return 0;
}

/* ------------------------------------------------------------------ */
/* The transaction                                                     */
/* ------------------------------------------------------------------ */

/* A reason that is the document's fault (a reject), not ours or the system's. */
static bool document_fault(int rc)
{
  int e = rc < 0 ? -rc : rc;
  return (e >= 1000 && e < 1200) || (e > 5000 && e < 6000) || e == ERR_TOO_LONG;
}

static enum db_qs insert_reject(struct ictx *x, struct db_conn *c)
{
  const struct custody_error *e = &x->res->err;
  char size[24], code[16], line[24], head[2 * CUSTODY_REJECT_HEAD + 1];
  PGresult *r = NULL;
  snprintf(size, sizeof size, "%llu", (unsigned long long)x->d->size);
  snprintf(code, sizeof code, "%d", e->code < 0 ? -e->code : e->code);
  snprintf(line, sizeof line, "%llu", (unsigned long long)e->line);
  sodium_bin2hex(head, sizeof head, (const unsigned char *)x->d->head, x->d->head_len);
  const char *v[11] = {x->d->sha[0] != '\0' ? x->d->sha : NULL,
                       size,
                       x->d->source,
                       x->d->kind != 0 ? custody_kind_name(x->d->kind) : NULL,
                       code,
                       err_name(e->code),
                       e->msg[0] != '\0' ? e->msg : err_text(e->code),
                       e->where,
                       line,
                       head,
                       NULL};
  enum db_qs qs = db_exec(c, &q_reject, v, &r);
  if (qs > 0) {
    x->res->reject_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
  }
  return qs;
}

/* Parse the document; on_header()/on_position() store as it goes. */
static int parse_doc(struct ictx *x)
{
  struct custody_stmt st;
  int rc;
  memset(&st, 0, sizeof st);
  switch (x->d->kind) {
  case CUSTODY_KIND_SEMT002:
    if (x->d->mem != NULL) {
      rc = custody_semt002_parse_mem(x->d->mem, x->d->size, &x->s->lim, &st, on_position, x,
                                     &x->res->err);
    } else {
      if (lseek(x->d->fd, 0, SEEK_SET) != 0) {
        x->fail = -ERR_IO;
        return CB_STOP;
      }
      rc = custody_semt002_parse_fd(x->d->fd, &x->s->lim, &st, on_position, x, &x->res->err);
    }
    break;
  case CUSTODY_KIND_MT535:
    rc = custody_mt535_parse(x->d->mem, x->d->size, &x->s->lim, &st, on_position, x, &x->res->err);
    break;
  default:
    return ingest_settlement(x, x->s->db);
  }
  if (rc == CB_STOP)
    return rc;
  if (rc != 0) {
    if (!document_fault(rc)) {
      x->fail = rc;
      return CB_STOP;
    }
    x->res->err.code = rc;
    x->rejected = true;
    return CB_STOP;
  }
  if (!x->header_done && (rc = on_header(x, &st)) != 0)
    return rc;
  /* Streamed from the file: it must not have changed under the parser. */
  struct stat sb;
  if (x->d->mem == NULL && (fstat(x->d->fd, &sb) != 0 || sb.st_size != x->d->st0.st_size ||
                            sb.st_mtim.tv_sec != x->d->st0.st_mtim.tv_sec ||
                            sb.st_mtim.tv_nsec != x->d->st0.st_mtim.tv_nsec)) {
    log_msg(LOGL_WARN, "custody", "%s changed while it was being ingested: not stored",
            x->d->source);
    x->fail = -ERR_IO;
    return CB_STOP;
  }
  return finish_page(x, x->s->db);
}

static enum db_qs ingest_body(struct db_conn *c, void *cls)
{
  struct ictx *x = cls;
  PGresult *r = NULL;
  ictx_reset(x);
  x->res->outcome = 0;
  x->res->document_id = x->res->reject_id = 0;
  enum db_qs qs = sql(c, "SAVEPOINT custody_doc");
  if (qs < 0)
    return qs;
  const char *v[1] = {x->d->sha};
  if ((qs = db_exec(c, &q_doc_by_sha, v, &r)) < 0)
    return qs;
  if (qs > 0) {
    x->res->document_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    x->res->outcome = CUSTODY_DUPLICATE;
    PQclear(r);
    return DB_QS_NONE;
  }
  parse_doc(x);
  if (x->copying) {
    copy_end(c, x->rejected ? "document rejected" : "failed");
    x->copying = false;
  }
  if (x->qs < 0)
    return x->qs;
  if (x->fail != 0) {
    util_strlcpy(c->last_error, err_text(x->fail), sizeof c->last_error);
    c->last_sqlstate[0] = '\0';
    return DB_QS_HARD;
  }
  if (x->rejected) {
    /* Our own reason wins over whatever the parser wrote when the callback stopped it. */
    if (x->own_err)
      x->res->err = x->own;
    if ((qs = sql(c, "ROLLBACK TO SAVEPOINT custody_doc")) < 0)
      return qs;
    x->res->stale = 0;
    x->res->completed = false;
    if ((qs = insert_reject(x, c)) < 0)
      return qs;
    x->res->outcome = CUSTODY_REJECTED;
    return DB_QS_NONE;
  }
  x->res->outcome = CUSTODY_INGESTED;
  x->res->document_id = x->document_id;
  x->res->positions = x->positions;
  x->res->balances = x->balances;
  return DB_QS_NONE;
}

/* A reject found before the transaction (size, kind): its own small transaction. */
static enum db_qs reject_body(struct db_conn *c, void *cls)
{
  return insert_reject(cls, c);
}

static void log_result(const struct doc *d, const struct custody_ingest *res)
{
  if (res->outcome == CUSTODY_INGESTED)
    log_msg(LOGL_INFO, "custody",
            "ingested %s %.16s from %s: document %lld, %llu positions, %llu balances%s",
            custody_kind_name(d->kind), d->sha, d->source, (long long)res->document_id,
            (unsigned long long)res->positions, (unsigned long long)res->balances,
            res->completed ? ", statement complete" : "");
  else if (res->outcome == CUSTODY_DUPLICATE)
    log_msg(LOGL_INFO, "custody", "duplicate %s %.16s from %s: document %lld already stored",
            custody_kind_name(d->kind), d->sha, d->source, (long long)res->document_id);
  else if (res->outcome == CUSTODY_REJECTED)
    log_msg(LOGL_WARN, "custody", "rejected %s from %s (%s): %s: %s%s%s line %llu",
            custody_kind_name(d->kind), d->source, d->sha[0] != '\0' ? d->sha : "no sha256",
            err_name(res->err.code), res->err.msg, res->err.where[0] != '\0' ? " at " : "",
            res->err.where, (unsigned long long)res->err.line);
}

static int ingest(struct custody_store *s, struct doc *d, struct custody_ingest *res)
{
  struct ictx x;
  int rc = 0;
  memset(&x, 0, sizeof x);
  x.s = s;
  x.d = d;
  x.res = res;
  x.block = malloc(CUSTODY_RAW_CHUNK + 64);
  if (x.block == NULL)
    return -ERR_NOMEM;
  res->size = d->size;
  if (read_at(d, 0, d->head, d->head_len = d->size < sizeof d->head ? d->size : sizeof d->head) !=
      0) {
    rc = -ERR_IO;
    goto out;
  }
  d->kind = custody_detect_kind(d->head, d->head_len);
  res->kind = d->kind;
  if (d->size > s->lim.max_bytes) {
    set_err(&res->err, -ERR_CUSTODY_TOO_LARGE, "",
            "document of %llu bytes is over the limit of %llu (custody_max_bytes)",
            (unsigned long long)d->size, (unsigned long long)s->lim.max_bytes);
  } else {
    if (d->mem == NULL && d->size <= CUSTODY_RAW_INLINE_MAX) {
      d->owned = malloc(d->size + 1);
      if (d->owned == NULL) {
        rc = -ERR_NOMEM;
        goto out;
      }
      if (read_at(d, 0, d->owned, d->size) != 0) {
        rc = -ERR_IO;
        goto out;
      }
      d->owned[d->size] = '\0';
      d->mem = d->owned;
    }
    if ((rc = hash_doc(d, x.block)) != 0)
      goto out;
    memcpy(res->sha256, d->sha, sizeof d->sha);
    if (d->kind == 0)
      set_err(&res->err, -ERR_CUSTODY_NAMESPACE, "", "not a semt.002, sese.025 or MT535 document");
    else if (d->mem == NULL && d->kind != CUSTODY_KIND_SEMT002)
      set_err(&res->err, -ERR_CUSTODY_TOO_LARGE, "",
              "an MT535 or sese.025 over %u bytes is refused", CUSTODY_MEM_DOC_MAX);
  }
  if (res->err.code != 0) {
    rc = db_txn(s->db, "custody_reject", reject_body, &x);
    if (rc == 0) {
      res->outcome = CUSTODY_REJECTED;
      rc = res->err.code;
    }
    goto out;
  }
  rc = db_txn(s->db, "custody_ingest", ingest_body, &x);
  if (rc != 0) {
    res->outcome = 0;
    if (x.fail != 0)
      rc = x.fail;
    log_msg(LOGL_ERROR, "custody", "%s: not ingested, will be retried: %s", d->source,
            err_text(rc));
    goto out;
  }
  if (res->outcome == CUSTODY_REJECTED)
    rc = res->err.code;
out:
  if (res->outcome != 0)
    log_result(d, res);
  free(x.rows.p);
  free(x.block);
  free(d->owned);
  d->owned = NULL;
  return rc;
}

int custody_ingest_fd(struct custody_store *s, int fd, const char *source,
                      struct custody_ingest *res)
{
  struct doc d;
  memset(res, 0, sizeof *res);
  memset(&d, 0, sizeof d);
  d.fd = fd;
  d.source = source != NULL ? source : "";
  if (fstat(fd, &d.st0) != 0 || !S_ISREG(d.st0.st_mode)) {
    log_msg(LOGL_ERROR, "custody", "%s: not a regular file", d.source);
    return -ERR_IO;
  }
  d.size = (uint64_t)d.st0.st_size;
  return ingest(s, &d, res);
}

int custody_ingest_file(struct custody_store *s, const char *path, struct custody_ingest *res)
{
  memset(res, 0, sizeof *res);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    log_msg(LOGL_ERROR, "custody", "%s: %s", path, strerror(errno));
    return -ERR_IO;
  }
  int rc = custody_ingest_fd(s, fd, path, res);
  close(fd);
  return rc;
}

int custody_ingest_mem(struct custody_store *s, const char *buf, size_t len, const char *source,
                       struct custody_ingest *res)
{
  struct doc d;
  memset(res, 0, sizeof *res);
  memset(&d, 0, sizeof d);
  d.fd = -1;
  d.mem = buf;
  d.size = len;
  d.source = source != NULL ? source : "";
  return ingest(s, &d, res);
}

const struct custody_limits *custody_store_limits(const struct custody_store *s)
{
  return &s->lim;
}

int custody_reject_record(struct custody_store *s, const char *source, uint64_t size,
                          const char *head, size_t head_len, const struct custody_error *err,
                          int64_t *reject_id)
{
  struct doc d;
  struct custody_ingest res;
  struct ictx x;
  memset(&d, 0, sizeof d);
  memset(&res, 0, sizeof res);
  memset(&x, 0, sizeof x);
  d.fd = -1;
  d.size = size;
  d.source = source != NULL ? source : "";
  d.head_len = head_len < sizeof d.head ? head_len : sizeof d.head;
  if (d.head_len > 0)
    memcpy(d.head, head, d.head_len);
  d.kind = custody_detect_kind(d.head, d.head_len);
  res.err = *err;
  x.s = s;
  x.d = &d;
  x.res = &res;
  int rc = db_txn(s->db, "custody_reject", reject_body, &x);
  if (rc == 0) {
    res.outcome = CUSTODY_REJECTED;
    log_result(&d, &res);
    if (reject_id != NULL)
      *reject_id = res.reject_id;
  }
  return rc;
}
