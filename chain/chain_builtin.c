/*
 * The built-in token ledger: the ledger itself in PostgreSQL, the
 * embedded default when no chain is configured (tables in
 * migrations/0008-chain-ledger.sql, design in docs/chain.md).
 *
 * A block is one executed intent.  Executing runs one SERIALIZABLE
 * transaction (db_txn, retried on conflicts) that locks the intent row,
 * returns at once if it is already final, checks the sender's balance (a
 * shortfall marks the intent 'failed' and uses no block), takes the next
 * block from chain_head (a row lock: blocks are gapless and commit in
 * their order), and writes the transfer, the new balances, the new supply
 * (mints and burns) and the intent's 'executed' state with its block.  So
 * an intent takes effect at most once, whichever connection runs it and
 * however often; and a crash before COMMIT leaves it 'recorded', for
 * chain_resume().
 *
 * Balances and supply are running values, one row per change, so a value
 * at any block is one read of a primary key backwards.  Every sum is done
 * here in exact money (struct money), and a mint that would take the
 * supply out of the range of struct money fails the intent
 * (-ERR_MONEY_OVERFLOW): balances never exceed supply, so they fit too.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain_int.h"

#define INT64_TXT 24

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/* ------------------------------------------------------------------ */

static const struct db_stmt st_token_insert = {
    "chain_builtin_token_insert",
    "INSERT INTO chain_tokens (symbol, decimals, name) VALUES ($1, $2::smallint, $3)"
    " ON CONFLICT (symbol) DO NOTHING",
    3,
};

static const struct db_stmt st_token_same = {
    "chain_builtin_token_same",
    "SELECT decimals = $2::smallint AND name = $3 FROM chain_tokens WHERE symbol = $1",
    3,
};

static const struct db_stmt st_token_exists = {
    "chain_builtin_token_exists",
    "SELECT 1 FROM chain_tokens WHERE symbol = $1",
    1,
};

static const struct db_stmt st_lock = {
    "chain_builtin_lock",
    "SELECT " CHAIN__INTENT_COLS CHAIN__INTENT_FROM " WHERE i.key = $1 FOR UPDATE OF i",
    1,
};

static const struct db_stmt st_balance_now = {
    "chain_builtin_balance_now",
    "SELECT balance::text FROM chain_balances WHERE token = $1 AND address = $2"
    " ORDER BY block DESC LIMIT 1",
    2,
};

static const struct db_stmt st_supply_now = {
    "chain_builtin_supply_now",
    "SELECT supply::text FROM chain_supply WHERE token = $1 ORDER BY block DESC LIMIT 1",
    1,
};

static const struct db_stmt st_fail = {
    "chain_builtin_fail",
    "UPDATE chain_intents SET state = 'failed', error = $2::integer, reason = $3,"
    " finished_at = now() WHERE id = $1::bigint",
    3,
};

static const struct db_stmt st_next_block = {
    "chain_builtin_next_block",
    "UPDATE chain_head SET block = block + 1 RETURNING block",
    0,
};

static const struct db_stmt st_insert_transfer = {
    "chain_builtin_insert_transfer",
    "INSERT INTO chain_transfers (block, token, from_address, to_address, amount, intent_id)"
    " VALUES ($1::bigint, $2, $3, $4, $5::numeric, $6::bigint)",
    6,
};

static const struct db_stmt st_insert_balance = {
    "chain_builtin_insert_balance",
    "INSERT INTO chain_balances (token, address, block, balance)"
    " VALUES ($1, $2, $3::bigint, $4::numeric)",
    4,
};

static const struct db_stmt st_insert_supply = {
    "chain_builtin_insert_supply",
    "INSERT INTO chain_supply (token, block, supply) VALUES ($1, $2::bigint, $3::numeric)",
    3,
};

static const struct db_stmt st_executed = {
    "chain_builtin_executed",
    "UPDATE chain_intents SET state = 'executed', block = $2::bigint, finished_at = now()"
    " WHERE id = $1::bigint",
    2,
};

static const struct db_stmt st_head = {
    "chain_builtin_head",
    "SELECT block FROM chain_head",
    0,
};

/* The head, the token's decimals and its supply at block $2 (no row: unknown token). */
static const struct db_stmt st_supply_at = {
    "chain_builtin_supply_at",
    "SELECT h.block, t.decimals, coalesce((SELECT s.supply FROM chain_supply s"
    " WHERE s.token = t.symbol AND s.block <= $2::bigint ORDER BY s.block DESC LIMIT 1), 0)::text"
    " FROM chain_tokens t CROSS JOIN chain_head h WHERE t.symbol = $1",
    2,
};

static const struct db_stmt st_balance_at = {
    "chain_builtin_balance_at",
    "SELECT h.block, t.decimals, coalesce((SELECT b.balance FROM chain_balances b"
    " WHERE b.token = t.symbol AND b.address = $3 AND b.block <= $2::bigint"
    " ORDER BY b.block DESC LIMIT 1), 0)::text"
    " FROM chain_tokens t CROSS JOIN chain_head h WHERE t.symbol = $1",
    3,
};

#define TRANSFER_COLS                                                                              \
  "SELECT x.block, x.token, x.from_address, x.to_address, x.amount::text, t.decimals, i.key"       \
  " FROM chain_transfers x JOIN chain_tokens t ON t.symbol = x.token"                              \
  " JOIN chain_intents i ON i.id = x.intent_id "

static const struct db_stmt st_transfers_all = {
    "chain_builtin_transfers_all",
    TRANSFER_COLS "WHERE x.block > $1::bigint ORDER BY x.block LIMIT $2::bigint",
    2,
};

static const struct db_stmt st_transfers_token = {
    "chain_builtin_transfers_token",
    TRANSFER_COLS "WHERE x.token = $3 AND x.block > $1::bigint ORDER BY x.block LIMIT $2::bigint",
    3,
};

/* ------------------------------------------------------------------ */
/* Tokens                                                              */
/* ------------------------------------------------------------------ */

struct register_ctx {
  const struct chain_token *t;
  int err;
};

static enum db_qs register_body(struct db_conn *c, void *cls)
{
  struct register_ctx *x = cls;
  char dec[8];
  snprintf(dec, sizeof dec, "%u", x->t->decimals);
  const char *p[] = {x->t->symbol, dec, x->t->name};
  x->err = 0;
  enum db_qs qs = db_exec(c, &st_token_insert, p, NULL);
  if (qs != 0)
    return qs;
  PGresult *r;
  qs = db_exec(c, &st_token_same, p, &r);
  if (qs <= 0)
    return qs == 0 ? DB_QS_HARD : qs;
  if (strcmp(PQgetvalue(r, 0, 0), "t") != 0)
    x->err = -ERR_API_CONFLICT;
  PQclear(r);
  return DB_QS_NONE;
}

static int builtin_token_register(struct chain_ledger *l, const struct chain_token *t)
{
  struct register_ctx x = {t, 0};
  int rc = db_txn(l->c, "chain_token_register", register_body, &x);
  return rc != 0 ? rc : x.err;
}

/* ------------------------------------------------------------------ */
/* Executing                                                           */
/* ------------------------------------------------------------------ */

struct exec_ctx {
  const char *key;
  struct chain_intent it;
  int err;
};

/* The newest value of a running total (@stmt), 0 when it has no row yet. */
static enum db_qs read_now(struct db_conn *c, const struct db_stmt *stmt, const char *const *p,
                           unsigned decimals, struct money *out, int *err)
{
  PGresult *r;
  enum db_qs qs = db_exec(c, stmt, p, &r);
  if (qs < 0)
    return qs;
  if (qs == 0)
    return money_make(0, decimals, out) == 0 ? DB_QS_NONE : DB_QS_HARD;
  int rc = chain__money(PQgetvalue(r, 0, 0), decimals, out);
  PQclear(r);
  if (rc != 0)
    *err = rc; /* kept until the caller looks: a later read does not clear it */
  return DB_QS_NONE;
}

/* Mark the intent failed with @error and a reason (no block is used). */
static enum db_qs fail(struct db_conn *c, struct exec_ctx *x, int error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum db_qs fail(struct db_conn *c, struct exec_ctx *x, int error, const char *fmt, ...)
{
  char id[INT64_TXT], num[16];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->it.reason, sizeof x->it.reason, fmt, ap);
  va_end(ap);
  snprintf(id, sizeof id, "%" PRId64, x->it.id);
  snprintf(num, sizeof num, "%d", -error);
  const char *p[] = {id, num, x->it.reason};
  enum db_qs qs = db_exec(c, &st_fail, p, NULL);
  if (qs < 0)
    return qs;
  x->it.state = CHAIN_INTENT_FAILED;
  x->it.error = error;
  log_msg(LOGL_INFO, CHAIN__COMP, "intent %s failed: %s", x->it.key, x->it.reason);
  return DB_QS_NONE;
}

static enum db_qs insert_value(struct db_conn *c, const struct db_stmt *stmt, const char *token,
                               const char *addr, const char *block, struct money v)
{
  char txt[CHAIN__NUM_TXT];
  if (chain__format(v, txt) != 0)
    return DB_QS_HARD;
  const char *pb[] = {token, addr, block, txt};
  const char *ps[] = {token, block, txt};
  return db_exec(c, stmt, addr != NULL ? pb : ps, NULL);
}

static enum db_qs exec_body(struct db_conn *c, void *cls)
{
  struct exec_ctx *x = cls;
  struct chain_intent *it = &x->it;
  PGresult *r;
  unsigned dec;
  const char *pk[] = {x->key};
  x->err = 0;
  enum db_qs qs = db_exec(c, &st_lock, pk, &r);
  if (qs <= 0) {
    x->err = qs == 0 ? -ERR_INVALID_ARGUMENT : 0;
    return qs;
  }
  x->err = chain__intent_row(r, 0, it, &dec);
  PQclear(r);
  if (x->err != 0 || it->state == CHAIN_INTENT_EXECUTED || it->state == CHAIN_INTENT_FAILED)
    return DB_QS_NONE;

  /* The values before: sender, receiver (a self-transfer moves nothing), supply. */
  bool mint = it->op == CHAIN_OP_MINT, burn = it->op == CHAIN_OP_BURN;
  bool self = strcmp(it->from, it->to) == 0;
  struct money from_bal, to_bal, supply, zero;
  money_make(0, dec, &zero);
  from_bal = to_bal = supply = zero;
  const char *pf[] = {it->token, it->from}, *pt[] = {it->token, it->to}, *ps[] = {it->token};
  if (!mint && (qs = read_now(c, &st_balance_now, pf, dec, &from_bal, &x->err)) < 0)
    return qs;
  if (!burn && !self && (qs = read_now(c, &st_balance_now, pt, dec, &to_bal, &x->err)) < 0)
    return qs;
  if ((mint || burn) && (qs = read_now(c, &st_supply_now, ps, dec, &supply, &x->err)) < 0)
    return qs;
  if (x->err != 0)
    return DB_QS_NONE;

  char a[MONEY_STR_MAX], b[MONEY_STR_MAX];
  money_format(it->amount, a, sizeof a);
  if (!mint && money_cmp(from_bal, it->amount) < 0) {
    money_format(from_bal, b, sizeof b);
    return fail(c, x, -ERR_CHAIN_INSUFFICIENT, "balance %s of %s is below the amount %s", b,
                it->from, a);
  }
  struct money new_supply = supply, new_from = from_bal, new_to = to_bal;
  if (mint && money_add(supply, it->amount, &new_supply) != 0) {
    money_format(supply, b, sizeof b);
    return fail(c, x, -ERR_MONEY_OVERFLOW, "supply %s plus %s leaves the amount range", b, a);
  }
  /* The rest cannot overflow: no balance exceeds the supply, which fits. */
  if ((burn && money_sub(supply, it->amount, &new_supply) != 0) ||
      (!mint && money_sub(from_bal, it->amount, &new_from) != 0) ||
      (!burn && money_add(to_bal, it->amount, &new_to) != 0)) {
    log_bug(CHAIN__COMP, "intent %s: totals out of range", it->key);
    x->err = -ERR_INTERNAL;
    return DB_QS_NONE;
  }

  qs = db_exec(c, &st_next_block, NULL, &r);
  if (qs <= 0)
    return qs == 0 ? DB_QS_HARD : qs;
  it->block = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  char block[INT64_TXT], id[INT64_TXT], amount[CHAIN__NUM_TXT];
  snprintf(block, sizeof block, "%" PRId64, it->block);
  snprintf(id, sizeof id, "%" PRId64, it->id);
  if (chain__format(it->amount, amount) != 0)
    return DB_QS_HARD;
  const char *ptr[] = {block, it->token, it->from, it->to, amount, id};
  if ((qs = db_exec(c, &st_insert_transfer, ptr, NULL)) < 0)
    return qs;
  if (!self) {
    if (!mint &&
        (qs = insert_value(c, &st_insert_balance, it->token, it->from, block, new_from)) < 0)
      return qs;
    if (!burn && (qs = insert_value(c, &st_insert_balance, it->token, it->to, block, new_to)) < 0)
      return qs;
  }
  if ((mint || burn) &&
      (qs = insert_value(c, &st_insert_supply, it->token, NULL, block, new_supply)) < 0)
    return qs;
  const char *pe[] = {id, block};
  if ((qs = db_exec(c, &st_executed, pe, NULL)) < 0)
    return qs;
  it->state = CHAIN_INTENT_EXECUTED;
  return DB_QS_NONE;
}

static int builtin_execute(struct chain_ledger *l, const char *key, struct chain_intent *out)
{
  struct exec_ctx x;
  memset(&x, 0, sizeof x);
  x.key = key;
  int rc = db_txn(l->c, "chain_intent_execute", exec_body, &x);
  if (rc == 0 && x.err == 0)
    *out = x.it;
  return rc != 0 ? rc : x.err;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

struct read_ctx {
  const struct db_stmt *stmt;
  const char *const *params;
  PGresult *r; /* the result of the last run */
};

static enum db_qs read_body(struct db_conn *c, void *cls)
{
  struct read_ctx *x = cls;
  PQclear(x->r);
  x->r = NULL;
  return db_exec(c, x->stmt, x->params, &x->r);
}

/* Run one read in a transaction; *@r receives the rows (NULL: none). */
static int read_rows(struct chain_ledger *l, const struct db_stmt *stmt, const char *const *p,
                     PGresult **r)
{
  struct read_ctx x = {stmt, p, NULL};
  int rc = db_txn(l->c, stmt->name, read_body, &x);
  if (rc != 0) {
    PQclear(x.r);
    return rc;
  }
  *r = x.r;
  return 0;
}

static int builtin_head(struct chain_ledger *l, int64_t *block)
{
  PGresult *r;
  int rc = read_rows(l, &st_head, NULL, &r);
  if (rc != 0)
    return rc;
  if (r == NULL)
    return -ERR_INTERNAL; /* the migration writes the row */
  *block = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return 0;
}

/* A value at a point: @p[1] is the block, filled in here. */
static int value_at(struct chain_ledger *l, const struct db_stmt *stmt, const char **p,
                    int64_t block, struct money *out, int64_t *at)
{
  char b[INT64_TXT];
  snprintf(b, sizeof b, "%" PRId64, block == CHAIN_LATEST ? INT64_MAX : block);
  p[1] = b;
  PGresult *r;
  int rc = read_rows(l, stmt, p, &r);
  if (rc != 0)
    return rc;
  if (r == NULL)
    return -ERR_CHAIN_UNKNOWN_TOKEN;
  int64_t head = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  unsigned dec = (unsigned)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
  if (block != CHAIN_LATEST && block > head)
    rc = -ERR_INVALID_ARGUMENT;
  else
    rc = chain__money(PQgetvalue(r, 0, 2), dec, out);
  PQclear(r);
  if (rc == 0)
    *at = block == CHAIN_LATEST ? head : block;
  return rc;
}

static int builtin_supply(struct chain_ledger *l, const char *token, int64_t block,
                          struct money *out, int64_t *at)
{
  const char *p[] = {token, NULL};
  return value_at(l, &st_supply_at, p, block, out, at);
}

static int builtin_balance(struct chain_ledger *l, const char *token, const char *addr,
                           int64_t block, struct money *out, int64_t *at)
{
  const char *p[] = {token, NULL, addr};
  return value_at(l, &st_balance_at, p, block, out, at);
}

static int builtin_transfers(struct chain_ledger *l, const char *token, int64_t after,
                             struct chain_transfer *out, size_t max)
{
  if (max == 0)
    return 0;
  char a[INT64_TXT], m[INT64_TXT];
  snprintf(a, sizeof a, "%" PRId64, after);
  snprintf(m, sizeof m, "%zu", max);
  const char *p[] = {a, m, token};
  PGresult *r;
  int rc = read_rows(l, token[0] != '\0' ? &st_transfers_token : &st_transfers_all, p, &r);
  if (rc != 0)
    return rc;
  if (r == NULL) {
    if (token[0] == '\0')
      return 0;
    const char *pt[] = {token};
    rc = read_rows(l, &st_token_exists, pt, &r);
    if (rc != 0)
      return rc;
    bool known = r != NULL;
    PQclear(r);
    return known ? 0 : -ERR_CHAIN_UNKNOWN_TOKEN;
  }
  int n = PQntuples(r);
  for (int i = 0; i < n && (size_t)i < max && rc == 0; i++) {
    struct chain_transfer *t = &out[i];
    memset(t, 0, sizeof *t);
    t->block = t->cursor = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    unsigned dec = (unsigned)strtoul(PQgetvalue(r, i, 5), NULL, 10);
    if (util_strlcpy(t->token, PQgetvalue(r, i, 1), sizeof t->token) != 0 ||
        util_strlcpy(t->from, PQgetvalue(r, i, 2), sizeof t->from) != 0 ||
        util_strlcpy(t->to, PQgetvalue(r, i, 3), sizeof t->to) != 0 ||
        util_strlcpy(t->key, PQgetvalue(r, i, 6), sizeof t->key) != 0 ||
        chain__money(PQgetvalue(r, i, 4), dec, &t->amount) != 0)
      rc = -ERR_INTERNAL;
  }
  PQclear(r);
  return rc != 0 ? rc : n;
}

/* ------------------------------------------------------------------ */
/* The backend                                                         */
/* ------------------------------------------------------------------ */

static const struct chain_backend builtin_backend = {
    .name = "builtin",
    .token_register = builtin_token_register,
    .execute = builtin_execute,
    .head = builtin_head,
    .supply = builtin_supply,
    .balance = builtin_balance,
    .transfers = builtin_transfers,
    .close = NULL,
};

int chain_builtin_open(struct db_conn *c, struct chain_ledger **out)
{
  struct chain_ledger *l = calloc(1, sizeof *l);
  if (l == NULL)
    return -ERR_NOMEM;
  l->be = &builtin_backend;
  l->c = c;
  *out = l;
  return 0;
}
