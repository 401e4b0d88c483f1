/*
 * Tests of the token ledger (chain/chain_ledger.c) on its built-in
 * backend (chain/chain_builtin.c), each on a fresh, migrated database:
 * tokens, mint/burn/transfer with exact balances, supply and transfer
 * history at every point, idempotency and conflicting terms, balances too
 * small, bad addresses, 18-decimal amounts at the edge of the range, a
 * crash between recording and executing (resume executes each intent
 * once, also with two resumers at once), two connections executing the
 * same intent at once (one mint), and a property test: 1,000 random
 * operations, then supply == sum of balances == a model at every block.
 */
#include <pthread.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chain.h"
#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

#define A       "0x1111111111111111111111111111111111111111"
#define B       "0x2222222222222222222222222222222222222222"
#define C       "0x3333333333333333333333333333333333333333"
#define D       "0x4444444444444444444444444444444444444444"
#define ZERO    CHAIN_ZERO_ADDRESS
#define MAX_TXT "170141183460469231731.687303715884105727" /* MONEY_V_MAX at 18 decimals */

static struct ts_db db;
static struct db_conn *c;
static struct chain_ledger *l;

static void add_token(const char *symbol, unsigned decimals, const char *name)
{
  struct chain_token t = {.decimals = decimals};
  util_strlcpy(t.symbol, symbol, sizeof t.symbol);
  util_strlcpy(t.name, name, sizeof t.name);
  assert_int_equal(chain_token_register(l, &t), 0);
}

static int setup(void **state)
{
  (void)state;
  char msg[256];
  ts_db_create("chain", &db);
  c = ts_db_connect(&db, 20);
  int rc = db_migrate(c, migrations_all, migrations_count, NULL, msg, sizeof msg);
  if (rc != 0) {
    fprintf(stderr, "migrate: %s\n", msg);
    return rc;
  }
  if ((rc = chain_builtin_open(c, &l)) != 0)
    return rc;
  add_token("TSLAx", 18, "Tesla xStock");
  add_token("AAPLx", 6, "Apple xStock");
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  chain_ledger_free(l);
  l = NULL;
  db_close(c);
  c = NULL;
  ts_db_drop(&db);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* @s at @scale, exactly (a '-' allowed). */
static struct money ms(const char *s, unsigned scale)
{
  struct money m;
  int rc = money_parse(s, strlen(s), scale, MONEY_PARSE_NEGATIVE, &m);
  if (rc != 0)
    fail_msg("bad test amount %s: %s", s, err_text(rc));
  return m;
}

static struct money m18(const char *s)
{
  return ms(s, 18);
}

static void assert_money(struct money got, const char *want)
{
  char g[MONEY_STR_MAX];
  struct money w = ms(want, got.scale);
  money_format(got, g, sizeof g);
  if (got.v != w.v)
    fail_msg("amount %s, want %s", g, want);
}

static long long num(const char *sql)
{
  char *v = ts_sql_value(c, sql);
  long long n = strtoll(v, NULL, 10);
  free(v);
  return n;
}

static void assert_sql(const char *sql, const char *want)
{
  char *v = ts_sql_value(c, sql);
  if (strcmp(v, want) != 0)
    fail_msg("%s: got '%s', want '%s'", sql, v, want);
  free(v);
}

static void expect_supply(const char *tok, int64_t block, const char *want)
{
  struct money m;
  int64_t at = -5;
  assert_int_equal(chain_supply(l, tok, block, &m, &at), 0);
  assert_int_equal(at, block);
  assert_money(m, want);
}

static void expect_balance(const char *tok, const char *addr, int64_t block, const char *want)
{
  struct money m;
  int64_t at = -5;
  assert_int_equal(chain_balance(l, tok, addr, block, &m, &at), 0);
  assert_int_equal(at, block);
  assert_money(m, want);
}

static int64_t head(void)
{
  int64_t h = -1;
  assert_int_equal(chain_head(l, &h), 0);
  return h;
}

/* ------------------------------------------------------------------ */
/* Tokens                                                              */
/* ------------------------------------------------------------------ */

static void test_tokens(void **state)
{
  (void)state;
  struct chain_token t = {"TSLAx", 18, "Tesla xStock"}, got;
  assert_int_equal(chain_token_register(l, &t), 0); /* again, same terms */
  t.decimals = 6;
  assert_int_equal(chain_token_register(l, &t), -ERR_API_CONFLICT);
  t.decimals = 18;
  util_strlcpy(t.name, "Tesla", sizeof t.name);
  assert_int_equal(chain_token_register(l, &t), -ERR_API_CONFLICT);

  const char *bad_symbols[] = {"", "-AB", ".A", "A B", "A/B", "A$", "\xc3\x84X"};
  for (size_t i = 0; i < sizeof bad_symbols / sizeof bad_symbols[0]; i++) {
    struct chain_token b = {"", 18, "x"};
    util_strlcpy(b.symbol, bad_symbols[i], sizeof b.symbol);
    assert_int_equal(chain_token_register(l, &b), -ERR_INVALID_ARGUMENT);
  }
  struct chain_token b = {"NVDAx", 19, "Nvidia"};
  assert_int_equal(chain_token_register(l, &b), -ERR_INVALID_ARGUMENT);
  b.decimals = 18;
  b.name[0] = '\0';
  assert_int_equal(chain_token_register(l, &b), -ERR_INVALID_ARGUMENT);
  util_strlcpy(b.name, "Nvidia\n", sizeof b.name);
  assert_int_equal(chain_token_register(l, &b), -ERR_INVALID_ARGUMENT);
  assert_int_equal(chain_token_register(l, NULL), -ERR_INVALID_ARGUMENT);
  assert_int_equal(num("SELECT count(*) FROM chain_tokens"), 2);

  assert_int_equal(chain_token_get(l, "AAPLx", &got), 0);
  assert_string_equal(got.symbol, "AAPLx");
  assert_int_equal(got.decimals, 6);
  assert_string_equal(got.name, "Apple xStock");
  assert_int_equal(chain_token_get(l, "aaplx", &got), -ERR_CHAIN_UNKNOWN_TOKEN);
  assert_int_equal(chain_token_get(l, "NVDAx", &got), -ERR_CHAIN_UNKNOWN_TOKEN);

  /* An unknown token everywhere: nothing recorded, nothing read. */
  struct money m;
  assert_int_equal(chain_mint(l, "k1", "NVDAx", A, m18("1"), NULL), -ERR_CHAIN_UNKNOWN_TOKEN);
  assert_int_equal(chain_supply(l, "NVDAx", CHAIN_LATEST, &m, NULL), -ERR_CHAIN_UNKNOWN_TOKEN);
  assert_int_equal(chain_balance(l, "NVDAx", A, CHAIN_LATEST, &m, NULL), -ERR_CHAIN_UNKNOWN_TOKEN);
  struct chain_transfer tr[2];
  assert_int_equal(chain_transfers(l, "NVDAx", 0, tr, 2), -ERR_CHAIN_UNKNOWN_TOKEN);
  assert_int_equal(chain_transfers(l, "TSLAx", 0, tr, 2), 0);
  assert_int_equal(num("SELECT count(*) FROM chain_intents"), 0);
}

/* ------------------------------------------------------------------ */
/* Mint, burn, transfer                                                */
/* ------------------------------------------------------------------ */

static void test_mint_burn_transfer(void **state)
{
  (void)state;
  struct chain_intent it;
  assert_int_equal(head(), 0);
  assert_int_equal(chain_mint(l, "order-1-mint", "TSLAx", A, m18("100"), &it), 0);
  assert_int_equal(it.state, CHAIN_INTENT_EXECUTED);
  assert_int_equal(it.block, 1);
  assert_int_equal(it.op, CHAIN_OP_MINT);
  assert_string_equal(it.from, ZERO);
  assert_string_equal(it.to, A);
  assert_money(it.amount, "100");
  assert_int_equal(it.amount.scale, 18);
  assert_int_equal(chain_transfer(l, "move-1", "TSLAx", A, B, m18("30.25"), &it), 0);
  assert_int_equal(it.block, 2);
  assert_int_equal(chain_burn(l, "order-2-burn", "TSLAx", B, m18("10.000000000000000001"), &it), 0);
  assert_int_equal(it.block, 3);
  assert_string_equal(it.to, ZERO);
  assert_int_equal(chain_mint(l, "order-3-mint", "AAPLx", C, ms("2.5", 6), &it), 0);
  assert_int_equal(it.block, 4);
  assert_int_equal(head(), 4);

  expect_balance("TSLAx", A, 4, "69.75");
  expect_balance("TSLAx", B, 4, "20.249999999999999999");
  expect_balance("TSLAx", C, 4, "0");
  expect_balance("AAPLx", C, 4, "2.5");
  expect_supply("TSLAx", 4, "89.999999999999999999");
  expect_supply("AAPLx", 4, "2.5");
  struct money m;
  int64_t at;
  assert_int_equal(chain_supply(l, "TSLAx", CHAIN_LATEST, &m, &at), 0);
  assert_int_equal(at, 4);
  assert_money(m, "89.999999999999999999");
  assert_int_equal(m.scale, 18);
  assert_int_equal(chain_balance(l, "AAPLx", C, CHAIN_LATEST, &m, &at), 0);
  assert_int_equal(m.scale, 6);
  assert_money(m, "2.5");

  /* The history, mints and burns from and to the zero address. */
  struct chain_transfer t[8];
  assert_int_equal(chain_transfers(l, NULL, 0, t, 8), 4);
  const char *from[] = {ZERO, A, B, ZERO}, *to[] = {A, B, ZERO, C};
  const char *amt[] = {"100", "30.25", "10.000000000000000001", "2.5"};
  const char *keys[] = {"order-1-mint", "move-1", "order-2-burn", "order-3-mint"};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(t[i].cursor, i + 1);
    assert_int_equal(t[i].block, i + 1);
    assert_string_equal(t[i].from, from[i]);
    assert_string_equal(t[i].to, to[i]);
    assert_money(t[i].amount, amt[i]);
    assert_string_equal(t[i].key, keys[i]);
    assert_string_equal(t[i].token, i < 3 ? "TSLAx" : "AAPLx");
  }
  assert_int_equal(chain_transfers(l, "TSLAx", 1, t, 8), 2);
  assert_int_equal(t[0].cursor, 2);
  assert_int_equal(t[1].cursor, 3);
  assert_int_equal(chain_transfers(l, "AAPLx", 0, t, 8), 1);
  assert_int_equal(t[0].cursor, 4);
  assert_int_equal(chain_transfers(l, NULL, 4, t, 8), 0);
  assert_int_equal(chain_transfers(l, NULL, 0, t, 1), 1);
  assert_int_equal(chain_transfers(l, NULL, -1, t, 1), -ERR_INVALID_ARGUMENT);
  assert_int_equal(chain_transfers(l, NULL, 0, t, CHAIN_TRANSFERS_MAX + 1), -ERR_INVALID_ARGUMENT);

  /* A self-transfer moves nothing but is a block. */
  assert_int_equal(chain_transfer(l, "self", "TSLAx", A, A, m18("69.75"), &it), 0);
  assert_int_equal(it.block, 5);
  expect_balance("TSLAx", A, 5, "69.75");
  assert_int_equal(chain_transfer(l, "self2", "TSLAx", A, A, m18("69.76"), &it),
                   -ERR_CHAIN_INSUFFICIENT);

  /* The rows as stored. */
  assert_sql("SELECT string_agg(state || ':' || coalesce(block::text, '-'), ',' ORDER BY id)"
             " FROM chain_intents",
             "executed:1,executed:2,executed:3,executed:4,executed:5,failed:-");
  assert_sql("SELECT string_agg(address || '=' || balance, ',' ORDER BY block, address)"
             " FROM chain_balances WHERE token = 'TSLAx'",
             A "=100.000000000000000000," A "=69.750000000000000000," B "=30.250000000000000000," B
               "=20.249999999999999999");
  assert_sql("SELECT string_agg(block || '=' || supply, ',' ORDER BY block) FROM chain_supply"
             " WHERE token = 'TSLAx'",
             "1=100.000000000000000000,3=89.999999999999999999");
}

/* Supply and balances at every block of a history over two tokens. */
/*
 * A transfer is stamped with the business clock (clock_now()), which the reconciler compares
 * with a statement's cut-off: with the clock moved ten days on, a mint's executed_at is ten
 * days past the wall clock, not the wall clock's now().
 */
static void test_business_time(void **state)
{
  (void)state;
  struct chain_intent it;
  assert_int_equal(db_clock_advance(c, 10LL * 86400000, NULL), 0);
  assert_int_equal(chain_mint(l, "order-9-mint", "TSLAx", A, m18("1"), &it), 0);
  assert_int_equal(ts_sql_int(c, "SELECT count(*) FROM chain_transfers WHERE executed_at"
                                 " BETWEEN now() + interval '9 days 23 hours' AND clock_now()"),
                   1);
}

static void test_history(void **state)
{
  (void)state;
  assert_int_equal(chain_mint(l, "h1", "TSLAx", A, m18("100"), NULL), 0);
  assert_int_equal(chain_mint(l, "h2", "AAPLx", A, ms("5.5", 6), NULL), 0);
  assert_int_equal(chain_transfer(l, "h3", "TSLAx", A, B, m18("40"), NULL), 0);
  assert_int_equal(chain_burn(l, "h4", "TSLAx", B, m18("10"), NULL), 0);
  assert_int_equal(chain_burn(l, "h4x", "AAPLx", A, ms("5.500001", 6), NULL),
                   -ERR_CHAIN_INSUFFICIENT); /* no block */
  assert_int_equal(chain_mint(l, "h5", "TSLAx", C, m18("0.000000000000000001"), NULL), 0);
  assert_int_equal(chain_transfer(l, "h6", "AAPLx", A, C, ms("2.25", 6), NULL), 0);
  assert_int_equal(chain_burn(l, "h7", "AAPLx", A, ms("3.25", 6), NULL), 0);
  assert_int_equal(head(), 7);

  static const char *const t_supply[] = {"0",
                                         "100",
                                         "100",
                                         "100",
                                         "90",
                                         "90.000000000000000001",
                                         "90.000000000000000001",
                                         "90.000000000000000001"};
  static const char *const t_a[] = {"0", "100", "100", "60", "60", "60", "60", "60"};
  static const char *const t_b[] = {"0", "0", "0", "40", "30", "30", "30", "30"};
  static const char *const t_c[] = {"0",
                                    "0",
                                    "0",
                                    "0",
                                    "0",
                                    "0.000000000000000001",
                                    "0.000000000000000001",
                                    "0.000000000000000001"};
  static const char *const p_supply[] = {"0", "0", "5.5", "5.5", "5.5", "5.5", "5.5", "2.25"};
  static const char *const p_a[] = {"0", "0", "5.5", "5.5", "5.5", "5.5", "3.25", "0"};
  static const char *const p_c[] = {"0", "0", "0", "0", "0", "0", "2.25", "2.25"};
  for (int64_t b = 0; b <= 7; b++) {
    expect_supply("TSLAx", b, t_supply[b]);
    expect_balance("TSLAx", A, b, t_a[b]);
    expect_balance("TSLAx", B, b, t_b[b]);
    expect_balance("TSLAx", C, b, t_c[b]);
    expect_supply("AAPLx", b, p_supply[b]);
    expect_balance("AAPLx", A, b, p_a[b]);
    expect_balance("AAPLx", B, b, "0");
    expect_balance("AAPLx", C, b, p_c[b]);
    expect_balance("AAPLx", ZERO, b, "0");
  }
  struct money m;
  assert_int_equal(chain_supply(l, "TSLAx", 8, &m, NULL), -ERR_INVALID_ARGUMENT);
  assert_int_equal(chain_balance(l, "TSLAx", A, 8, &m, NULL), -ERR_INVALID_ARGUMENT);
  assert_int_equal(chain_supply(l, "TSLAx", -2, &m, NULL), -ERR_INVALID_ARGUMENT);
  assert_int_equal(chain_balance(l, "TSLAx", A, INT64_MIN, &m, NULL), -ERR_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------ */
/* Intents: idempotency, conflicts, failures                           */
/* ------------------------------------------------------------------ */

static void test_idempotent(void **state)
{
  (void)state;
  struct chain_intent it;
  assert_int_equal(chain_mint(l, "k1", "TSLAx", A, m18("10"), &it), 0);
  assert_int_equal(it.block, 1);
  /* The same terms, also written otherwise: the first result, no second mint. */
  struct money ten0;
  assert_int_equal(money_make(10, 0, &ten0), 0);
  assert_int_equal(chain_mint(l, "k1", "TSLAx", A, m18("10"), &it), 0);
  assert_int_equal(it.block, 1);
  assert_int_equal(chain_mint(l, "k1", "TSLAx", A, ten0, &it), 0);
  assert_int_equal(
      chain_mint(l, "k1", "TSLAx", "0x1111111111111111111111111111111111111111", ten0, &it), 0);
  assert_int_equal(it.block, 1);
  assert_int_equal(it.id, 1);

  /* Other terms under the same key. */
  assert_int_equal(chain_mint(l, "k1", "TSLAx", A, m18("11"), NULL), -ERR_CHAIN_INTENT_CONFLICT);
  assert_int_equal(chain_mint(l, "k1", "TSLAx", A, m18("10.000000000000000001"), NULL),
                   -ERR_CHAIN_INTENT_CONFLICT);
  assert_int_equal(chain_mint(l, "k1", "TSLAx", B, m18("10"), NULL), -ERR_CHAIN_INTENT_CONFLICT);
  assert_int_equal(chain_mint(l, "k1", "AAPLx", A, ms("10", 6), NULL), -ERR_CHAIN_INTENT_CONFLICT);
  assert_int_equal(chain_burn(l, "k1", "TSLAx", A, m18("10"), NULL), -ERR_CHAIN_INTENT_CONFLICT);
  assert_int_equal(chain_transfer(l, "k1", "TSLAx", A, B, m18("10"), NULL),
                   -ERR_CHAIN_INTENT_CONFLICT);
  assert_int_equal(head(), 1);
  expect_supply("TSLAx", 1, "10");
  assert_int_equal(num("SELECT count(*) FROM chain_intents"), 1);
  assert_int_equal(num("SELECT count(*) FROM chain_transfers"), 1);

  /* Record, then execute, each any number of times. */
  struct chain_intent_req req = {"k2", CHAIN_OP_TRANSFER, "TSLAx", A, B, m18("4")};
  assert_int_equal(chain_intent_record(l, &req, &it), 0);
  assert_int_equal(it.state, CHAIN_INTENT_RECORDED);
  assert_int_equal(it.block, 0);
  assert_int_equal(chain_intent_record(l, &req, &it), 0);
  assert_int_equal(chain_intent_status(l, "k2", &it), 0);
  assert_int_equal(it.state, CHAIN_INTENT_RECORDED);
  assert_string_equal(chain_intent_state_name(it.state), "recorded");
  assert_int_equal(head(), 1);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(chain_intent_execute(l, "k2", &it), 0);
    assert_int_equal(it.state, CHAIN_INTENT_EXECUTED);
    assert_int_equal(it.block, 2);
  }
  assert_int_equal(chain_intent_record(l, &req, &it), 0); /* recorded before: its state now */
  assert_int_equal(it.state, CHAIN_INTENT_EXECUTED);
  expect_balance("TSLAx", A, 2, "6");
  expect_balance("TSLAx", B, 2, "4");

  /* Keys. */
  assert_int_equal(chain_intent_status(l, "never", &it), 0);
  assert_int_equal(it.state, CHAIN_INTENT_NONE);
  assert_string_equal(chain_intent_state_name(it.state), "none");
  assert_int_equal(chain_intent_execute(l, "never", &it), -ERR_INVALID_ARGUMENT);
  char key[CHAIN_KEY_MAX + 1];
  memset(key, 'k', CHAIN_KEY_MAX - 1);
  key[CHAIN_KEY_MAX - 1] = '\0';
  assert_int_equal(chain_mint(l, key, "TSLAx", A, m18("1"), NULL), 0); /* 128 characters */
  key[CHAIN_KEY_MAX - 1] = 'k';
  key[CHAIN_KEY_MAX] = '\0';
  assert_int_equal(chain_mint(l, key, "TSLAx", A, m18("1"), NULL), -ERR_INVALID_ARGUMENT);
  const char *bad_keys[] = {"", "a b", "tab\tkey", "caf\xc3\xa9", NULL};
  for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
    assert_int_equal(chain_mint(l, bad_keys[i], "TSLAx", A, m18("1"), NULL), -ERR_INVALID_ARGUMENT);
    assert_int_equal(chain_intent_status(l, bad_keys[i], &it), -ERR_INVALID_ARGUMENT);
  }
  /* A key with SQL in it is just a key. */
  assert_int_equal(chain_mint(l, "x');DROP_TABLE_chain_tokens;--", "TSLAx", A, m18("1"), &it), 0);
  assert_int_equal(it.block, 4);
  req.op = (enum chain_op)7;
  assert_int_equal(chain_intent_record(l, &req, NULL), -ERR_INVALID_ARGUMENT);
  assert_int_equal(num("SELECT count(*) FROM chain_intents"), 4);
}

/* The counterpart of an op given explicitly, and the same inside a caller's transaction. */
struct rec_in {
  const struct chain_intent_req *req;
  int err;
};

static enum db_qs rec_in_body(struct db_conn *cn, void *cls)
{
  struct rec_in *x = cls;
  struct chain_intent it;
  enum db_qs qs = chain_intent_record_in(cn, x->req, &it, &x->err);
  if (qs < 0 || x->err != 0)
    return qs;
  /* The caller's own write in the same transaction. */
  return db_exec_sql(cn, "CREATE TABLE marker (x int)");
}

static void test_record_in(void **state)
{
  (void)state;
  struct chain_intent_req req = {"r1", CHAIN_OP_MINT, "TSLAx", ZERO, A, m18("3")};
  struct rec_in x = {&req, 0};
  assert_int_equal(db_txn(c, "test", rec_in_body, &x), 0);
  assert_int_equal(x.err, 0);
  assert_int_equal(num("SELECT count(*) FROM marker"), 0);
  assert_sql("SELECT state FROM chain_intents WHERE key = 'r1'", "recorded");
  req.from = B;
  assert_int_equal(chain_intent_record(l, &req, NULL), -ERR_INVALID_ARGUMENT);
  req.op = CHAIN_OP_BURN;
  req.key = "r2";
  req.from = A;
  req.to = "0X0000000000000000000000000000000000000000";
  assert_int_equal(chain_intent_record(l, &req, NULL), -ERR_INVALID_ARGUMENT);
  req.to = ZERO;
  assert_int_equal(chain_intent_record(l, &req, NULL), 0);
  assert_int_equal(chain_intent_execute(l, "r1", NULL), 0);
  assert_int_equal(chain_intent_execute(l, "r2", NULL), 0);
  expect_supply("TSLAx", 2, "0");
}

static void test_insufficient(void **state)
{
  (void)state;
  struct chain_intent it;
  assert_int_equal(chain_mint(l, "m1", "TSLAx", A, m18("5"), NULL), 0);
  assert_int_equal(chain_burn(l, "b1", "TSLAx", A, m18("5.000000000000000001"), &it),
                   -ERR_CHAIN_INSUFFICIENT);
  assert_int_equal(it.state, CHAIN_INTENT_FAILED);
  assert_int_equal(it.error, -ERR_CHAIN_INSUFFICIENT);
  assert_int_equal(it.block, 0);
  assert_string_equal(it.reason, "balance 5.000000000000000000 of " A
                                 " is below the amount 5.000000000000000001");
  assert_int_equal(chain_intent_status(l, "b1", &it), 0);
  assert_int_equal(it.state, CHAIN_INTENT_FAILED);
  assert_int_equal(it.error, -ERR_CHAIN_INSUFFICIENT);
  assert_string_equal(chain_intent_state_name(it.state), "failed");
  assert_int_equal(head(), 1);

  /* A failure is final: enough balance later does not revive the key. */
  assert_int_equal(chain_mint(l, "m2", "TSLAx", A, m18("10"), NULL), 0);
  assert_int_equal(chain_burn(l, "b1", "TSLAx", A, m18("5.000000000000000001"), NULL),
                   -ERR_CHAIN_INSUFFICIENT);
  assert_int_equal(chain_intent_execute(l, "b1", NULL), -ERR_CHAIN_INSUFFICIENT);
  assert_int_equal(chain_burn(l, "b2", "TSLAx", A, m18("5.000000000000000001"), NULL), 0);
  expect_balance("TSLAx", A, 3, "9.999999999999999999");

  assert_int_equal(chain_transfer(l, "t1", "TSLAx", A, B, m18("10"), NULL),
                   -ERR_CHAIN_INSUFFICIENT);
  assert_int_equal(chain_transfer(l, "t2", "TSLAx", C, B, m18("0.000000000000000001"), NULL),
                   -ERR_CHAIN_INSUFFICIENT);
  assert_int_equal(chain_transfer(l, "t3", "AAPLx", A, B, ms("1", 6), NULL),
                   -ERR_CHAIN_INSUFFICIENT); /* A holds the other token only */
  assert_int_equal(chain_transfer(l, "t4", "TSLAx", A, B, m18("9.999999999999999999"), NULL), 0);
  expect_balance("TSLAx", A, 4, "0");
  assert_int_equal(chain_burn(l, "b3", "TSLAx", A, m18("0.000000000000000001"), NULL),
                   -ERR_CHAIN_INSUFFICIENT);
  expect_balance("TSLAx", B, 4, "9.999999999999999999");
  expect_supply("TSLAx", 4, "9.999999999999999999");
  assert_int_equal(head(), 4);
  assert_sql("SELECT string_agg(key || ':' || error, ',' ORDER BY id) FROM chain_intents"
             " WHERE state = 'failed'",
             "b1:7002,t1:7002,t2:7002,t3:7002,b3:7002");
  struct chain_resume_stats st;
  assert_int_equal(chain_resume(l, &st), 0);
  assert_int_equal(st.executed + st.failed + st.pending, 0);
}

/* ------------------------------------------------------------------ */
/* Addresses and amounts                                               */
/* ------------------------------------------------------------------ */

static void test_addresses(void **state)
{
  (void)state;
  const char *bad[] = {
      NULL,
      "",
      "0x",
      "0x111111111111111111111111111111111111111",   /* 39 digits */
      "0x11111111111111111111111111111111111111111", /* 41 */
      "0x111111111111111111111111111111111111111g",
      "1x1111111111111111111111111111111111111111",
      "0X1111111111111111111111111111111111111111",
      " 0x111111111111111111111111111111111111111",
      "0x111111111111111111111111111111111111111 ",
      "0x11111111111111111111'OR'1'='11111111111111",
  };
  struct money m;
  char out[CHAIN_ADDR_STR];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(chain_address_parse(bad[i], out), -ERR_CHAIN_ADDRESS);
    assert_int_equal(chain_mint(l, "k", "TSLAx", bad[i], m18("1"), NULL), -ERR_CHAIN_ADDRESS);
    assert_int_equal(chain_burn(l, "k", "TSLAx", bad[i], m18("1"), NULL), -ERR_CHAIN_ADDRESS);
    assert_int_equal(chain_transfer(l, "k", "TSLAx", A, bad[i], m18("1"), NULL),
                     -ERR_CHAIN_ADDRESS);
    assert_int_equal(chain_transfer(l, "k", "TSLAx", bad[i], A, m18("1"), NULL),
                     -ERR_CHAIN_ADDRESS);
    assert_int_equal(chain_balance(l, "TSLAx", bad[i], CHAIN_LATEST, &m, NULL), -ERR_CHAIN_ADDRESS);
  }
  /* The zero address only as the op's own counterpart. */
  assert_int_equal(chain_mint(l, "k", "TSLAx", ZERO, m18("1"), NULL), -ERR_CHAIN_ADDRESS);
  assert_int_equal(chain_burn(l, "k", "TSLAx", ZERO, m18("1"), NULL), -ERR_CHAIN_ADDRESS);
  assert_int_equal(chain_transfer(l, "k", "TSLAx", A, ZERO, m18("1"), NULL), -ERR_CHAIN_ADDRESS);
  assert_int_equal(chain_transfer(l, "k", "TSLAx", ZERO, A, m18("1"), NULL), -ERR_CHAIN_ADDRESS);
  assert_int_equal(num("SELECT count(*) FROM chain_intents"), 0);

  /* Either case in, lower case stored and compared. */
  const char *mixed = "0xAbCdEf0123456789aBcDeF0123456789ABCDEF01";
  const char *lower = "0xabcdef0123456789abcdef0123456789abcdef01";
  assert_int_equal(chain_address_parse(mixed, out), 0);
  assert_string_equal(out, lower);
  struct chain_intent it;
  assert_int_equal(chain_mint(l, "k", "TSLAx", mixed, m18("7"), &it), 0);
  assert_string_equal(it.to, lower);
  assert_int_equal(chain_mint(l, "k", "TSLAx", lower, m18("7"), &it), 0); /* same terms */
  assert_int_equal(it.block, 1);
  expect_balance("TSLAx", mixed, 1, "7");
  expect_balance("TSLAx", lower, 1, "7");
  expect_balance("TSLAx", ZERO, 1, "0");
  assert_sql("SELECT to_address FROM chain_intents", lower);
}

static void test_amounts(void **state)
{
  (void)state;
  struct money max18, one_wei, m;
  struct chain_intent it;
  assert_int_equal(money_make(MONEY_V_MAX, 18, &max18), 0);
  assert_int_equal(money_make(1, 18, &one_wei), 0);
  struct money max_less;
  assert_int_equal(money_make(MONEY_V_MAX - 1, 18, &max_less), 0);

  assert_int_equal(chain_mint(l, "wei", "TSLAx", A, one_wei, NULL), 0);
  expect_balance("TSLAx", A, 1, "0.000000000000000001");
  assert_int_equal(chain_mint(l, "most", "TSLAx", A, max_less, NULL), 0);
  expect_supply("TSLAx", 2, MAX_TXT);
  expect_balance("TSLAx", A, 2, MAX_TXT);
  assert_sql("SELECT supply::text FROM chain_supply WHERE block = 2", MAX_TXT);
  /* One wei more leaves the range: the intent fails, nothing moves. */
  assert_int_equal(chain_mint(l, "over", "TSLAx", B, one_wei, &it), -ERR_MONEY_OVERFLOW);
  assert_int_equal(it.state, CHAIN_INTENT_FAILED);
  assert_string_equal(it.reason,
                      "supply " MAX_TXT " plus 0.000000000000000001 leaves the amount range");
  assert_int_equal(head(), 2);
  assert_int_equal(chain_transfer(l, "all", "TSLAx", A, B, max18, NULL), 0);
  expect_balance("TSLAx", A, 3, "0");
  expect_balance("TSLAx", B, 3, MAX_TXT);
  assert_int_equal(chain_burn(l, "gone", "TSLAx", B, max18, NULL), 0);
  expect_supply("TSLAx", 4, "0");
  expect_supply("TSLAx", 3, MAX_TXT);

  /* Refused before anything is recorded. */
  struct money zero, neg, fine, bad_scale, huge0;
  assert_int_equal(money_make(0, 18, &zero), 0);
  assert_int_equal(money_make(-1, 18, &neg), 0);
  assert_int_equal(money_make(1, 19, &fine), 0);
  assert_int_equal(money_make(MONEY_V_MAX, 0, &huge0), 0);
  bad_scale.v = 1;
  bad_scale.scale = 39;
  long long before = num("SELECT count(*) FROM chain_intents");
  assert_int_equal(chain_mint(l, "z", "TSLAx", A, zero, NULL), -ERR_INVALID_ARGUMENT);
  assert_int_equal(chain_mint(l, "z", "TSLAx", A, neg, NULL), -ERR_INVALID_ARGUMENT);
  assert_int_equal(chain_mint(l, "z", "TSLAx", A, fine, NULL), -ERR_MONEY_PRECISION);
  assert_int_equal(chain_mint(l, "z", "TSLAx", A, bad_scale, NULL), -ERR_MONEY_SCALE);
  assert_int_equal(chain_mint(l, "z", "TSLAx", A, huge0, NULL), -ERR_MONEY_OVERFLOW);
  assert_int_equal(chain_mint(l, "z", "AAPLx", A, ms("1.0000001", 7), NULL), -ERR_MONEY_PRECISION);
  assert_int_equal(num("SELECT count(*) FROM chain_intents"), before);

  /* A 6-decimal token takes any scale that is exact at 6. */
  assert_int_equal(chain_mint(l, "p", "AAPLx", A, m18("1.500000000000000000"), &it), 0);
  assert_int_equal(it.amount.scale, 6);
  assert_money(it.amount, "1.5");
  assert_int_equal(chain_balance(l, "AAPLx", A, CHAIN_LATEST, &m, NULL), 0);
  assert_int_equal(m.scale, 6);
  assert_money(m, "1.5");
  /* A token without decimals. */
  add_token("SHARE", 0, "Whole shares");
  assert_int_equal(chain_mint(l, "s1", "SHARE", A, ms("7", 0), NULL), 0);
  assert_int_equal(chain_mint(l, "s2", "SHARE", A, ms("0.5", 1), NULL), -ERR_MONEY_PRECISION);
  struct money max0;
  assert_int_equal(money_make(MONEY_V_MAX - 7, 0, &max0), 0);
  assert_int_equal(chain_mint(l, "s3", "SHARE", B, max0, NULL), 0);
  expect_supply("SHARE", 7, "170141183460469231731687303715884105727");
}

/* ------------------------------------------------------------------ */
/* Crash safety and concurrency                                        */
/* ------------------------------------------------------------------ */

/* A second connection and ledger on the test's database. */
static struct chain_ledger *other_ledger(struct db_conn **cn)
{
  struct chain_ledger *o;
  *cn = ts_db_connect(&db, 50);
  assert_int_equal(chain_builtin_open(*cn, &o), 0);
  return o;
}

static void close_ledger(struct chain_ledger *o, struct db_conn *cn)
{
  chain_ledger_free(o);
  db_close(cn);
}

static void test_crash_resume(void **state)
{
  (void)state;
  struct db_conn *c1;
  struct chain_ledger *l1 = other_ledger(&c1);
  struct chain_intent_req reqs[] = {
      {"m1", CHAIN_OP_MINT, "TSLAx", NULL, A, m18("10")},
      {"t1", CHAIN_OP_TRANSFER, "TSLAx", A, B, m18("4")},
      {"b1", CHAIN_OP_BURN, "TSLAx", B, NULL, m18("100")}, /* will fail */
      {"m2", CHAIN_OP_MINT, "AAPLx", NULL, C, ms("1", 6)},
  };
  assert_int_equal(chain_mint(l1, "m0", "TSLAx", D, m18("2"), NULL), 0); /* before the crash */
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(chain_intent_record(l1, &reqs[i], NULL), 0);
  /* The crash: nothing executed, the connection gone. */
  close_ledger(l1, c1);

  assert_sql("SELECT string_agg(key || ':' || state, ',' ORDER BY id) FROM chain_intents",
             "m0:executed,m1:recorded,t1:recorded,b1:recorded,m2:recorded");
  assert_int_equal(head(), 1);
  struct chain_resume_stats st;
  assert_int_equal(chain_resume(l, &st), 0);
  assert_int_equal(st.executed, 3);
  assert_int_equal(st.failed, 1);
  assert_int_equal(st.pending, 0);
  assert_int_equal(head(), 4);
  assert_sql("SELECT string_agg(key || ':' || state || ':' || coalesce(block::text, '-'), ','"
             " ORDER BY id) FROM chain_intents",
             "m0:executed:1,m1:executed:2,t1:executed:3,b1:failed:-,m2:executed:4");
  expect_balance("TSLAx", A, 4, "6");
  expect_balance("TSLAx", B, 4, "4");
  expect_balance("TSLAx", D, 4, "2");
  expect_balance("AAPLx", C, 4, "1");
  expect_supply("TSLAx", 4, "12");

  /* Again: nothing to do, nothing moves. */
  assert_int_equal(chain_resume(l, &st), 0);
  assert_int_equal(st.executed + st.failed + st.pending, 0);
  struct chain_intent it;
  assert_int_equal(chain_intent_execute(l, "m1", &it), 0);
  assert_int_equal(it.block, 2);
  assert_int_equal(head(), 4);
  assert_int_equal(num("SELECT count(*) FROM chain_transfers"), 4);
}

struct resumer {
  struct chain_ledger *l;
  int rc;
  struct chain_resume_stats st;
};

static void *resume_thread(void *arg)
{
  struct resumer *r = arg;
  r->rc = chain_resume(r->l, &r->st);
  return NULL;
}

/* Two processes resuming the same 60 intents at once: each executes once. */
static void test_resume_concurrent(void **state)
{
  (void)state;
  char key[32];
  for (int i = 0; i < 60; i++) {
    snprintf(key, sizeof key, "c%d", i);
    struct chain_intent_req req = {key, CHAIN_OP_MINT, "TSLAx", NULL, i % 2 ? A : B, m18("1.5")};
    assert_int_equal(chain_intent_record(l, &req, NULL), 0);
  }
  struct db_conn *c1, *c2;
  struct resumer r1 = {other_ledger(&c1), -1, {0, 0, 0}};
  struct resumer r2 = {other_ledger(&c2), -1, {0, 0, 0}};
  pthread_t t1, t2;
  assert_int_equal(pthread_create(&t1, NULL, resume_thread, &r1), 0);
  assert_int_equal(pthread_create(&t2, NULL, resume_thread, &r2), 0);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  assert_int_equal(r1.rc, 0);
  assert_int_equal(r2.rc, 0);
  assert_true(r1.st.executed + r2.st.executed >= 60);
  close_ledger(r1.l, c1);
  close_ledger(r2.l, c2);
  assert_int_equal(head(), 60);
  assert_int_equal(num("SELECT count(*) FROM chain_transfers"), 60);
  assert_int_equal(num("SELECT count(DISTINCT intent_id) FROM chain_transfers"), 60);
  assert_int_equal(num("SELECT count(*) FROM chain_intents WHERE state = 'executed'"), 60);
  expect_supply("TSLAx", 60, "90");
  expect_balance("TSLAx", A, 60, "45");
  expect_balance("TSLAx", B, 60, "45");
}

struct racer {
  struct chain_ledger *l;
  pthread_barrier_t *go;
  const char *key;
  int rc;
  int64_t block;
};

static void *execute_thread(void *arg)
{
  struct racer *r = arg;
  struct chain_intent it;
  pthread_barrier_wait(r->go);
  r->rc = chain_intent_execute(r->l, r->key, &it);
  r->block = r->rc == 0 ? it.block : -1;
  return NULL;
}

/*
 * Two connections execute the same intent at the same moment, round after
 * round: one mint each round, both see the same block.  The loser waits
 * for the winner's row lock and retries on the serialization failure.
 */
static void test_concurrent_execute(void **state)
{
  (void)state;
  struct db_conn *c1, *c2;
  struct chain_ledger *l1 = other_ledger(&c1), *l2 = other_ledger(&c2);
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, 2);
  int rounds = 0;
  unsigned long retries = 0;
  char key[32];
  for (; rounds < 40 || (retries == 0 && rounds < 300); rounds++) {
    snprintf(key, sizeof key, "race-%d", rounds);
    struct chain_intent_req req = {key, CHAIN_OP_MINT, "TSLAx", NULL, A, m18("1")};
    assert_int_equal(chain_intent_record(l, &req, NULL), 0);
    struct racer r1 = {l1, &go, key, -1, 0}, r2 = {l2, &go, key, -1, 0};
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, execute_thread, &r1), 0);
    assert_int_equal(pthread_create(&t2, NULL, execute_thread, &r2), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_int_equal(r1.rc, 0);
    assert_int_equal(r2.rc, 0);
    assert_int_equal(r1.block, rounds + 1);
    assert_int_equal(r2.block, rounds + 1);
    retries = c1->stats.txn_retries + c2->stats.txn_retries;
  }
  pthread_barrier_destroy(&go);
  fprintf(stderr, "# %d rounds, %lu retries\n", rounds, retries);
  assert_true(retries > 0); /* the race did happen */
  close_ledger(l1, c1);
  close_ledger(l2, c2);
  char want[16];
  snprintf(want, sizeof want, "%d", rounds);
  assert_int_equal(head(), rounds);
  assert_int_equal(num("SELECT count(*) FROM chain_transfers"), rounds);
  expect_supply("TSLAx", rounds, want);
  expect_balance("TSLAx", A, rounds, want);
}

struct minter {
  struct chain_ledger *l;
  const char *prefix;
  int rc;
};

static void *mint_thread(void *arg)
{
  struct minter *m = arg;
  char key[32];
  for (int i = 0; i < 50 && m->rc == 0; i++) {
    snprintf(key, sizeof key, "%s-%d", m->prefix, i);
    m->rc = chain_mint(m->l, key, i % 2 ? "TSLAx" : "AAPLx", i % 3 ? A : B, ms("0.25", 6), NULL);
  }
  return NULL;
}

/* Two connections minting different intents at once: gapless blocks, exact totals. */
static void test_concurrent_mints(void **state)
{
  (void)state;
  struct db_conn *c1, *c2;
  struct minter m1 = {other_ledger(&c1), "x", 0}, m2 = {other_ledger(&c2), "y", 0};
  pthread_t t1, t2;
  assert_int_equal(pthread_create(&t1, NULL, mint_thread, &m1), 0);
  assert_int_equal(pthread_create(&t2, NULL, mint_thread, &m2), 0);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  assert_int_equal(m1.rc, 0);
  assert_int_equal(m2.rc, 0);
  close_ledger(m1.l, c1);
  close_ledger(m2.l, c2);
  assert_int_equal(head(), 100);
  assert_sql("SELECT count(*) || ':' || min(block) || ':' || max(block) FROM chain_transfers",
             "100:1:100");
  expect_supply("TSLAx", 100, "12.5");
  expect_supply("AAPLx", 100, "12.5");
  /* i % 3 != 0 goes to A: 33 of each 50 per thread, split between the tokens. */
  struct money a1, a2, b1, b2, sum;
  assert_int_equal(chain_balance(l, "TSLAx", A, 100, &a1, NULL), 0);
  assert_int_equal(chain_balance(l, "AAPLx", A, 100, &a2, NULL), 0);
  assert_int_equal(chain_balance(l, "TSLAx", B, 100, &b1, NULL), 0);
  assert_int_equal(chain_balance(l, "AAPLx", B, 100, &b2, NULL), 0);
  assert_int_equal(money_add(a1, a2, &sum), 0);
  assert_money(sum, "16.5");
  assert_int_equal(money_add(b1, b2, &sum), 0);
  assert_money(sum, "8.5");
}

/* ------------------------------------------------------------------ */
/* Property: 1,000 random operations                                   */
/* ------------------------------------------------------------------ */

#define P_OPS    1000
#define P_ADDRS  6
#define P_TOKENS 2

static uint64_t rng;

static uint64_t rnd(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Supply and balances of the model after a block. */
struct snap {
  struct money supply[P_TOKENS];
  struct money bal[P_TOKENS][P_ADDRS];
};

/* One operation asked for, to replay later. */
struct op {
  char key[24];
  struct chain_intent_req req;
  int rc;
  int64_t block;
};

static void test_property(void **state)
{
  (void)state;
  const char *tokens[P_TOKENS] = {"TSLAx", "AAPLx"};
  const unsigned dec[P_TOKENS] = {18, 6};
  const char *addrs[P_ADDRS] = {A,
                                B,
                                C,
                                D,
                                "0x5555555555555555555555555555555555555555",
                                "0x66666666666666666666666666666666666666aa"};
  const char *seed_env = getenv("BACKSTOCK_TEST_SEED");
  rng = seed_env != NULL ? strtoull(seed_env, NULL, 0) : 0x5eed2024ULL;
  if (rng == 0)
    rng = 1;
  fprintf(stderr, "# property seed %" PRIu64 " (BACKSTOCK_TEST_SEED)\n", rng);

  struct snap *snaps = calloc(P_OPS + 1, sizeof *snaps);
  struct op *ops = calloc(P_OPS, sizeof *ops);
  assert_non_null(snaps);
  assert_non_null(ops);
  struct snap cur;
  for (int t = 0; t < P_TOKENS; t++) {
    money_make(0, dec[t], &cur.supply[t]);
    for (int a = 0; a < P_ADDRS; a++)
      money_make(0, dec[t], &cur.bal[t][a]);
  }
  snaps[0] = cur;
  int64_t blocks = 0;
  int n_ops = 0, n_replays = 0, n_failed = 0;
  for (int i = 0; i < P_OPS; i++) {
    unsigned kind = (unsigned)(rnd() % 10);
    struct chain_intent it;
    if (kind == 9 && n_ops > 0) {
      /* The same key and terms again: the first result, nothing moves. */
      struct op *o = &ops[rnd() % (uint64_t)n_ops];
      assert_int_equal(chain_intent_record(l, &o->req, NULL), 0);
      assert_int_equal(chain_intent_execute(l, o->key, &it), o->rc);
      if (o->rc == 0)
        assert_int_equal(it.block, o->block);
      n_replays++;
      continue;
    }
    int t = (int)(rnd() % P_TOKENS), from = (int)(rnd() % P_ADDRS), to = (int)(rnd() % P_ADDRS);
    enum chain_op op = kind <= 3 ? CHAIN_OP_MINT : kind <= 5 ? CHAIN_OP_BURN : CHAIN_OP_TRANSFER;
    __int128 range = (__int128)util_pow10[dec[t]] * 1000; /* up to 1,000 tokens */
    unsigned __int128 r = ((unsigned __int128)rnd() << 64) | rnd();
    __int128 v = (__int128)(r % (unsigned __int128)range) + 1;
    if (op != CHAIN_OP_MINT && rnd() % 8 == 0 && cur.bal[t][from].v > 0)
      v = cur.bal[t][from].v; /* exactly all of it */
    struct op *o = &ops[n_ops++];
    snprintf(o->key, sizeof o->key, "p-%d", i);
    o->req.key = o->key;
    o->req.op = op;
    o->req.token = tokens[t];
    o->req.from = op == CHAIN_OP_MINT ? NULL : addrs[from];
    o->req.to = op == CHAIN_OP_BURN ? NULL : addrs[to];
    assert_int_equal(money_make(v, dec[t], &o->req.amount), 0);
    struct money amt = o->req.amount;
    bool enough = op == CHAIN_OP_MINT || money_cmp(cur.bal[t][from], amt) >= 0;
    assert_int_equal(chain_intent_record(l, &o->req, NULL), 0);
    o->rc = chain_intent_execute(l, o->key, &it);
    if (!enough) {
      assert_int_equal(o->rc, -ERR_CHAIN_INSUFFICIENT);
      n_failed++;
      continue;
    }
    assert_int_equal(o->rc, 0);
    o->block = it.block;
    assert_int_equal(it.block, ++blocks);
    if (op != CHAIN_OP_MINT)
      assert_int_equal(money_sub(cur.bal[t][from], amt, &cur.bal[t][from]), 0);
    if (op != CHAIN_OP_BURN)
      assert_int_equal(money_add(cur.bal[t][to], amt, &cur.bal[t][to]), 0);
    if (op == CHAIN_OP_MINT)
      assert_int_equal(money_add(cur.supply[t], amt, &cur.supply[t]), 0);
    if (op == CHAIN_OP_BURN)
      assert_int_equal(money_sub(cur.supply[t], amt, &cur.supply[t]), 0);
    snaps[blocks] = cur;
  }
  fprintf(stderr, "# %" PRId64 " blocks, %d failed, %d replays\n", blocks, n_failed, n_replays);
  assert_int_equal(head(), blocks);
  assert_true(blocks > 500 && n_failed > 10 && n_replays > 50);

  /* At every point: supply == the model == the sum of the balances. */
  for (int64_t b = 0; b <= blocks; b++) {
    for (int t = 0; t < P_TOKENS; t++) {
      struct money s, sum, bal;
      money_make(0, dec[t], &sum);
      assert_int_equal(chain_supply(l, tokens[t], b, &s, NULL), 0);
      if (money_cmp(s, snaps[b].supply[t]) != 0)
        fail_msg("supply of %s at block %" PRId64 " differs from the model", tokens[t], b);
      for (int a = 0; a < P_ADDRS; a++) {
        assert_int_equal(chain_balance(l, tokens[t], addrs[a], b, &bal, NULL), 0);
        if (money_cmp(bal, snaps[b].bal[t][a]) != 0)
          fail_msg("balance of %s in %s at block %" PRId64 " differs", addrs[a], tokens[t], b);
        assert_int_equal(money_add(sum, bal, &sum), 0);
      }
      if (money_cmp(s, sum) != 0)
        fail_msg("supply of %s at block %" PRId64 " is not the sum of balances", tokens[t], b);
    }
  }

  /* The history page by page: every block once, in order. */
  struct chain_transfer page[97];
  int64_t after = 0, seen = 0;
  for (;;) {
    int n = chain_transfers(l, NULL, after, page, 97);
    assert_true(n >= 0);
    for (int k = 0; k < n; k++)
      assert_int_equal(page[k].cursor, ++seen);
    if (n < 97)
      break;
    after = page[n - 1].cursor;
  }
  assert_int_equal(seen, blocks);
  /* And the running supply is mints minus burns, in SQL too. */
  assert_int_equal(num("SELECT count(*) FROM chain_supply s WHERE s.supply <> ("
                       "SELECT coalesce(sum(CASE WHEN x.from_address = '" ZERO "'"
                       " THEN x.amount ELSE -x.amount END), 0) FROM chain_transfers x"
                       " WHERE x.token = s.token AND x.block <= s.block"
                       " AND '" ZERO "' IN (x.from_address, x.to_address))"),
                   0);
  free(snaps);
  free(ops);
}

int main(void)
{
  log_setup(LOGL_WARN, LOG_FORMAT_TEXT, NULL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
      cmocka_unit_test_setup_teardown(test_mint_burn_transfer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_business_time, setup, teardown),
      cmocka_unit_test_setup_teardown(test_history, setup, teardown),
      cmocka_unit_test_setup_teardown(test_idempotent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_record_in, setup, teardown),
      cmocka_unit_test_setup_teardown(test_insufficient, setup, teardown),
      cmocka_unit_test_setup_teardown(test_addresses, setup, teardown),
      cmocka_unit_test_setup_teardown(test_amounts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_crash_resume, setup, teardown),
      cmocka_unit_test_setup_teardown(test_resume_concurrent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_execute, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_mints, setup, teardown),
      cmocka_unit_test_setup_teardown(test_property, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
