/*
 * The token ledger's shared layer: argument checks and normalization,
 * the intents (recorded here for every backend, in chain_intents), the
 * token registry reads, resuming after a crash, and dispatch to the
 * backend's vtable.  A backend sees only checked arguments: known ops,
 * well-formed symbols and keys, lower-case addresses, points >= 0 or
 * CHAIN_LATEST.
 *
 * Recording never executes anything, so a crash after it leaves an
 * intent that chain_resume() executes; executing is the backend's and
 * takes effect once (see the backend's file for how).
 */
#include <stdlib.h>
#include <string.h>

#include "chain/chain_int.h"

#define OPEN_BATCH 100 /* intents chain_resume() reads at a time */

/* ------------------------------------------------------------------ */
/* Names and text forms                                                */
/* ------------------------------------------------------------------ */

static const char *const op_names[] = {"mint", "burn", "transfer"};
static const char *const state_names[] = {"none", "recorded", "submitted", "executed", "failed"};
#define N_OPS    (sizeof op_names / sizeof op_names[0])
#define N_STATES (sizeof state_names / sizeof state_names[0])

const char *chain_op_name(enum chain_op op)
{
  return (unsigned)op < N_OPS ? op_names[op] : "unknown";
}

const char *chain_intent_state_name(enum chain_intent_state st)
{
  return (unsigned)st < N_STATES ? state_names[st] : "unknown";
}

static int name_index(const char *const *names, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(names[i], s) == 0)
      return (int)i;
  return -1;
}

int chain_address_parse(const char *s, char out[CHAIN_ADDR_STR])
{
  if (s == NULL || strlen(s) != CHAIN_ADDR_STR - 1 || s[0] != '0' || s[1] != 'x')
    return -ERR_CHAIN_ADDRESS;
  char tmp[CHAIN_ADDR_STR] = "0x";
  for (size_t i = 2; i < CHAIN_ADDR_STR - 1; i++) {
    char ch = s[i];
    if (ch >= 'A' && ch <= 'F')
      ch = (char)(ch - 'A' + 'a');
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
      return -ERR_CHAIN_ADDRESS;
    tmp[i] = ch;
  }
  tmp[CHAIN_ADDR_STR - 1] = '\0';
  memcpy(out, tmp, CHAIN_ADDR_STR);
  return 0;
}

bool chain__symbol_ok(const char *s)
{
  if (s == NULL)
    return false;
  size_t n = strlen(s);
  if (n == 0 || n >= CHAIN_SYMBOL_MAX)
    return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    bool alnum = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
    if (!alnum && (i == 0 || (ch != '.' && ch != '-')))
      return false;
  }
  return true;
}

bool chain__key_ok(const char *s)
{
  if (s == NULL)
    return false;
  size_t n = strlen(s);
  if (n == 0 || n >= CHAIN_KEY_MAX)
    return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '!' || s[i] > '~')
      return false;
  return true;
}

static bool name_ok(const char *s)
{
  if (s == NULL)
    return false;
  size_t n = strlen(s);
  if (n == 0 || n >= CHAIN_NAME_MAX)
    return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] < ' ' || s[i] > '~')
      return false;
  return true;
}

int chain__money(const char *txt, unsigned decimals, struct money *out)
{
  /* Drop the zeros past @decimals in the text: parsing at 18 first could
   * overflow a large amount of a token with few decimals. */
  size_t len = strlen(txt);
  const char *dot = strchr(txt, '.');
  if (dot != NULL) {
    size_t keep = (size_t)(dot - txt) + (decimals > 0 ? 1 + decimals : 0);
    while (len > keep && txt[len - 1] == '0')
      len--;
    if (len > 0 && txt[len - 1] == '.')
      len--;
  }
  if (money_parse(txt, len, decimals, MONEY_PARSE_NEGATIVE, out) != 0) {
    log_bug(CHAIN__COMP, "amount '%s' does not read at %u decimals", txt, decimals);
    return -ERR_INTERNAL;
  }
  return 0;
}

int chain__format(struct money m, char out[CHAIN__NUM_TXT])
{
  return money_format(m, out, CHAIN__NUM_TXT) < 0 ? -ERR_INTERNAL : 0;
}

int chain__intent_row(const PGresult *r, int row, struct chain_intent *out, unsigned *decimals)
{
  struct chain_intent it;
  memset(&it, 0, sizeof it);
  it.id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
  int op = name_index(op_names, N_OPS, PQgetvalue(r, row, 2));
  int st = name_index(state_names, N_STATES, PQgetvalue(r, row, 7));
  long dec = strtol(PQgetvalue(r, row, 11), NULL, 10);
  if (op < 0 || st <= 0 || dec < 0 || dec > CHAIN_TOKEN_SCALE ||
      util_strlcpy(it.key, PQgetvalue(r, row, 1), sizeof it.key) != 0 ||
      util_strlcpy(it.token, PQgetvalue(r, row, 3), sizeof it.token) != 0 ||
      util_strlcpy(it.from, PQgetvalue(r, row, 4), sizeof it.from) != 0 ||
      util_strlcpy(it.to, PQgetvalue(r, row, 5), sizeof it.to) != 0) {
    log_bug(CHAIN__COMP, "intent row %s does not read back", PQgetvalue(r, row, 0));
    return -ERR_INTERNAL;
  }
  if (chain__money(PQgetvalue(r, row, 6), (unsigned)dec, &it.amount) != 0)
    return -ERR_INTERNAL;
  it.op = (enum chain_op)op;
  it.state = (enum chain_intent_state)st;
  it.block = strtoll(PQgetvalue(r, row, 8), NULL, 10);
  it.error = -(int)strtol(PQgetvalue(r, row, 9), NULL, 10);
  util_strlcpy(it.reason, PQgetvalue(r, row, 10), sizeof it.reason); /* long text is cut */
  *out = it;
  if (decimals != NULL)
    *decimals = (unsigned)dec;
  return 0;
}

int chain__result(const struct chain_intent *it)
{
  switch (it->state) {
  case CHAIN_INTENT_EXECUTED:
    return 0;
  case CHAIN_INTENT_FAILED:
    return it->error < 0 ? it->error : -ERR_INTERNAL;
  case CHAIN_INTENT_RECORDED:
  case CHAIN_INTENT_SUBMITTED:
    return -ERR_CHAIN_PENDING;
  case CHAIN_INTENT_NONE:
    break;
  }
  return -ERR_INTERNAL;
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/* ------------------------------------------------------------------ */

static const struct db_stmt st_token_get = {
    "chain_token_get",
    "SELECT symbol, decimals, name FROM chain_tokens WHERE symbol = $1",
    1,
};

static const struct db_stmt st_intent_insert = {
    "chain_intent_insert",
    "INSERT INTO chain_intents (key, op, token, from_address, to_address, amount)"
    " VALUES ($1, $2, $3, $4, $5, $6::numeric) ON CONFLICT (key) DO NOTHING RETURNING id",
    6,
};

static const struct db_stmt st_intent_same = {
    "chain_intent_same",
    "SELECT op = $2 AND token = $3 AND from_address = $4 AND to_address = $5"
    " AND amount = $6::numeric FROM chain_intents WHERE key = $1",
    6,
};

static const struct db_stmt st_intent_get = {
    "chain_intent_get",
    "SELECT " CHAIN__INTENT_COLS CHAIN__INTENT_FROM " WHERE i.key = $1",
    1,
};

static const struct db_stmt st_intent_open = {
    "chain_intent_open",
    "SELECT id, key FROM chain_intents WHERE state IN ('recorded', 'submitted') AND id > $1::bigint"
    " ORDER BY id LIMIT $2::bigint",
    2,
};

/* ------------------------------------------------------------------ */
/* Ledgers and tokens                                                  */
/* ------------------------------------------------------------------ */

void chain_ledger_free(struct chain_ledger *l)
{
  if (l == NULL)
    return;
  if (l->be != NULL && l->be->close != NULL)
    l->be->close(l);
  free(l);
}

int chain_token_register(struct chain_ledger *l, const struct chain_token *t)
{
  if (t == NULL || !chain__symbol_ok(t->symbol) || t->decimals > CHAIN_TOKEN_SCALE ||
      !name_ok(t->name))
    return -ERR_INVALID_ARGUMENT;
  return l->be->token_register(l, t);
}

struct token_ctx {
  const char *symbol;
  struct chain_token t;
  int err;
};

static enum db_qs token_get_body(struct db_conn *c, void *cls)
{
  struct token_ctx *x = cls;
  PGresult *r;
  const char *p[] = {x->symbol};
  enum db_qs qs = db_exec(c, &st_token_get, p, &r);
  x->err = qs == 0 ? -ERR_CHAIN_UNKNOWN_TOKEN : 0;
  if (qs <= 0)
    return qs;
  memset(&x->t, 0, sizeof x->t);
  util_strlcpy(x->t.symbol, PQgetvalue(r, 0, 0), sizeof x->t.symbol);
  x->t.decimals = (unsigned)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
  util_strlcpy(x->t.name, PQgetvalue(r, 0, 2), sizeof x->t.name);
  PQclear(r);
  return DB_QS_NONE;
}

int chain_token_get(struct chain_ledger *l, const char *symbol, struct chain_token *out)
{
  if (!chain__symbol_ok(symbol))
    return -ERR_CHAIN_UNKNOWN_TOKEN;
  struct token_ctx x = {.symbol = symbol};
  int rc = db_txn(l->c, "chain_token_get", token_get_body, &x);
  if (rc == 0 && x.err == 0)
    *out = x.t;
  return rc != 0 ? rc : x.err;
}

/* ------------------------------------------------------------------ */
/* Recording                                                           */
/* ------------------------------------------------------------------ */

/*
 * Check @req and write its normalized addresses into @from and @to (the
 * zero address where the op has none).
 */
static int check_req(const struct chain_intent_req *req, char from[CHAIN_ADDR_STR],
                     char to[CHAIN_ADDR_STR])
{
  if (req == NULL || !chain__key_ok(req->key) || (unsigned)req->op >= N_OPS)
    return -ERR_INVALID_ARGUMENT;
  if (!chain__symbol_ok(req->token))
    return -ERR_CHAIN_UNKNOWN_TOKEN;
  bool has_from = req->op != CHAIN_OP_MINT, has_to = req->op != CHAIN_OP_BURN;
  const char *addr[2] = {req->from, req->to};
  char *dst[2] = {from, to};
  bool wanted[2] = {has_from, has_to};
  for (int i = 0; i < 2; i++) {
    if (!wanted[i]) {
      /* The op's counterpart: the zero address, given or not. */
      if (addr[i] != NULL &&
          (chain_address_parse(addr[i], dst[i]) != 0 || strcmp(dst[i], CHAIN_ZERO_ADDRESS) != 0))
        return -ERR_INVALID_ARGUMENT;
      memcpy(dst[i], CHAIN_ZERO_ADDRESS, CHAIN_ADDR_STR);
      continue;
    }
    int rc = chain_address_parse(addr[i], dst[i]);
    if (rc != 0)
      return rc;
    if (strcmp(dst[i], CHAIN_ZERO_ADDRESS) == 0)
      return -ERR_CHAIN_ADDRESS; /* mints and burns are ops of their own */
  }
  if (req->amount.scale > MONEY_MAX_SCALE)
    return -ERR_MONEY_SCALE;
  if (req->amount.v <= 0)
    return -ERR_INVALID_ARGUMENT;
  return 0;
}

enum db_qs chain_intent_record_in(struct db_conn *c, const struct chain_intent_req *req,
                                  struct chain_intent *out, int *err)
{
  char from[CHAIN_ADDR_STR], to[CHAIN_ADDR_STR], amount[CHAIN__NUM_TXT];
  *err = check_req(req, from, to);
  if (*err != 0)
    return DB_QS_NONE;

  PGresult *r;
  const char *pt[] = {req->token};
  enum db_qs qs = db_exec(c, &st_token_get, pt, &r);
  if (qs < 0)
    return qs;
  if (qs == 0) {
    *err = -ERR_CHAIN_UNKNOWN_TOKEN;
    return DB_QS_NONE;
  }
  unsigned decimals = (unsigned)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
  PQclear(r);
  struct money amt;
  *err = money_rescale(req->amount, decimals, MONEY_ROUND_EXACT, &amt);
  if (*err == -ERR_MONEY_INEXACT)
    *err = -ERR_MONEY_PRECISION;
  if (*err == 0)
    *err = chain__format(amt, amount);
  if (*err != 0)
    return DB_QS_NONE;

  const char *p[] = {req->key, op_names[req->op], req->token, from, to, amount};
  qs = db_exec(c, &st_intent_insert, p, NULL);
  if (qs < 0)
    return qs;
  if (qs == 0) {
    /* Recorded before: the same terms, or a conflict. */
    qs = db_exec(c, &st_intent_same, p, &r);
    if (qs <= 0)
      return qs == 0 ? DB_QS_HARD : qs; /* the row we collided with is gone: not possible */
    bool same = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!same) {
      *err = -ERR_CHAIN_INTENT_CONFLICT;
      return DB_QS_NONE;
    }
  }
  if (out == NULL)
    return DB_QS_NONE;
  const char *pk[] = {req->key};
  qs = db_exec(c, &st_intent_get, pk, &r);
  if (qs <= 0)
    return qs == 0 ? DB_QS_HARD : qs;
  *err = chain__intent_row(r, 0, out, NULL);
  PQclear(r);
  return DB_QS_NONE;
}

struct record_ctx {
  const struct chain_intent_req *req;
  struct chain_intent *out;
  int err;
};

static enum db_qs record_body(struct db_conn *c, void *cls)
{
  struct record_ctx *x = cls;
  return chain_intent_record_in(c, x->req, x->out, &x->err);
}

int chain_intent_record(struct chain_ledger *l, const struct chain_intent_req *req,
                        struct chain_intent *out)
{
  struct chain_intent it;
  struct record_ctx x = {req, &it, 0};
  int rc = db_txn(l->c, "chain_intent_record", record_body, &x);
  if (rc != 0)
    return rc;
  if (x.err == 0 && out != NULL)
    *out = it;
  return x.err;
}

/* ------------------------------------------------------------------ */
/* Executing, status, resuming                                         */
/* ------------------------------------------------------------------ */

int chain_intent_execute(struct chain_ledger *l, const char *key, struct chain_intent *out)
{
  if (!chain__key_ok(key))
    return -ERR_INVALID_ARGUMENT;
  struct chain_intent it;
  int rc = l->be->execute(l, key, &it);
  if (rc != 0)
    return rc;
  if (out != NULL)
    *out = it;
  return chain__result(&it);
}

struct status_ctx {
  const char *key;
  struct chain_intent it;
  int err;
};

static enum db_qs status_body(struct db_conn *c, void *cls)
{
  struct status_ctx *x = cls;
  PGresult *r;
  const char *p[] = {x->key};
  enum db_qs qs = db_exec(c, &st_intent_get, p, &r);
  memset(&x->it, 0, sizeof x->it);
  x->err = 0;
  if (qs <= 0)
    return qs; /* none: state CHAIN_INTENT_NONE */
  x->err = chain__intent_row(r, 0, &x->it, NULL);
  PQclear(r);
  return DB_QS_NONE;
}

int chain_intent_status(struct chain_ledger *l, const char *key, struct chain_intent *out)
{
  if (!chain__key_ok(key))
    return -ERR_INVALID_ARGUMENT;
  struct status_ctx x = {.key = key};
  int rc = db_txn(l->c, "chain_intent_status", status_body, &x);
  if (rc == 0 && x.err == 0) {
    if (x.it.state == CHAIN_INTENT_NONE)
      util_strlcpy(x.it.key, key, sizeof x.it.key);
    *out = x.it;
  }
  return rc != 0 ? rc : x.err;
}

struct open_ctx {
  int64_t after;
  char keys[OPEN_BATCH][CHAIN_KEY_MAX];
  int64_t ids[OPEN_BATCH];
  int n;
};

static enum db_qs open_body(struct db_conn *c, void *cls)
{
  struct open_ctx *x = cls;
  char after[24], lim[24];
  snprintf(after, sizeof after, "%lld", (long long)x->after);
  snprintf(lim, sizeof lim, "%d", OPEN_BATCH);
  const char *p[] = {after, lim};
  PGresult *r;
  x->n = 0;
  enum db_qs qs = db_exec(c, &st_intent_open, p, &r);
  if (qs <= 0)
    return qs;
  for (int i = 0; i < PQntuples(r) && i < OPEN_BATCH; i++) {
    x->ids[i] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    util_strlcpy(x->keys[i], PQgetvalue(r, i, 1), CHAIN_KEY_MAX);
    x->n = i + 1;
  }
  PQclear(r);
  return DB_QS_NONE;
}

int chain_resume(struct chain_ledger *l, struct chain_resume_stats *st)
{
  struct chain_resume_stats s = {0, 0, 0};
  struct open_ctx *x = calloc(1, sizeof *x);
  int rc = x == NULL ? -ERR_NOMEM : 0;
  while (rc == 0) {
    rc = db_txn(l->c, "chain_resume", open_body, x);
    if (rc != 0 || x->n == 0)
      break;
    for (int i = 0; i < x->n && rc == 0; i++) {
      struct chain_intent it;
      memset(&it, 0, sizeof it);
      int r = chain_intent_execute(l, x->keys[i], &it);
      if (r == 0)
        s.executed++;
      else if (r == -ERR_CHAIN_PENDING)
        s.pending++;
      else if (it.state == CHAIN_INTENT_FAILED && r == it.error)
        s.failed++;
      else
        rc = r;
      x->after = x->ids[i];
    }
  }
  free(x);
  if (rc != 0)
    log_msg(LOGL_ERROR, CHAIN__COMP, "resume stopped: %s", err_text(rc));
  else if (s.executed + s.failed + s.pending > 0)
    log_msg(LOGL_INFO, CHAIN__COMP, "resumed intents: %u executed, %u failed, %u pending",
            s.executed, s.failed, s.pending);
  if (st != NULL)
    *st = s;
  return rc;
}

static int record_execute(struct chain_ledger *l, const struct chain_intent_req *req,
                          struct chain_intent *out)
{
  int rc = chain_intent_record(l, req, NULL);
  return rc != 0 ? rc : chain_intent_execute(l, req->key, out);
}

int chain_mint(struct chain_ledger *l, const char *key, const char *token, const char *to,
               struct money amount, struct chain_intent *out)
{
  struct chain_intent_req req = {key, CHAIN_OP_MINT, token, NULL, to, amount};
  return record_execute(l, &req, out);
}

int chain_burn(struct chain_ledger *l, const char *key, const char *token, const char *from,
               struct money amount, struct chain_intent *out)
{
  struct chain_intent_req req = {key, CHAIN_OP_BURN, token, from, NULL, amount};
  return record_execute(l, &req, out);
}

int chain_transfer(struct chain_ledger *l, const char *key, const char *token, const char *from,
                   const char *to, struct money amount, struct chain_intent *out)
{
  struct chain_intent_req req = {key, CHAIN_OP_TRANSFER, token, from, to, amount};
  return record_execute(l, &req, out);
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

int chain_head(struct chain_ledger *l, int64_t *block)
{
  return l->be->head(l, block);
}

int chain_supply(struct chain_ledger *l, const char *token, int64_t block, struct money *out,
                 int64_t *at)
{
  if (!chain__symbol_ok(token))
    return -ERR_CHAIN_UNKNOWN_TOKEN;
  if (block < 0 && block != CHAIN_LATEST)
    return -ERR_INVALID_ARGUMENT;
  int64_t a;
  int rc = l->be->supply(l, token, block, out, &a);
  if (rc == 0 && at != NULL)
    *at = a;
  return rc;
}

int chain_balance(struct chain_ledger *l, const char *token, const char *addr, int64_t block,
                  struct money *out, int64_t *at)
{
  char a[CHAIN_ADDR_STR];
  if (!chain__symbol_ok(token))
    return -ERR_CHAIN_UNKNOWN_TOKEN;
  int rc = chain_address_parse(addr, a);
  if (rc != 0)
    return rc;
  if (block < 0 && block != CHAIN_LATEST)
    return -ERR_INVALID_ARGUMENT;
  int64_t at_block;
  rc = l->be->balance(l, token, a, block, out, &at_block);
  if (rc == 0 && at != NULL)
    *at = at_block;
  return rc;
}

int chain_transfers(struct chain_ledger *l, const char *token, int64_t after,
                    struct chain_transfer *out, size_t max)
{
  if (token != NULL && !chain__symbol_ok(token))
    return -ERR_CHAIN_UNKNOWN_TOKEN;
  if (after < 0 || max > CHAIN_TRANSFERS_MAX || (out == NULL && max > 0))
    return -ERR_INVALID_ARGUMENT;
  return l->be->transfers(l, token != NULL ? token : "", after, out, max);
}
