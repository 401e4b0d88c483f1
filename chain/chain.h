/*
 * chain: the token ledger behind one interface.  A ledger (struct
 * chain_ledger) is a backend and the database connection its intents are
 * recorded on.  The built-in backend (chain_builtin.c) keeps tokens,
 * balances, supply and transfers in PostgreSQL and is the embedded
 * default; an EVM backend (JSON-RPC to a node, anvil in tests) will come
 * behind the same vtable, so the interface assumes execution may be
 * external and asynchronous.  docs/chain.md has the whole design.
 *
 * Invariants:
 * - Every mint, burn and transfer is an intent, recorded durably under
 *   the caller's key (state 'recorded') before anything executes.  An
 *   intent executes at most once: executing it again, after a crash or
 *   from another connection, returns its first result.  The same key with
 *   other terms is -ERR_CHAIN_INTENT_CONFLICT.
 * - 'executed' and 'failed' are final.  A failed intent (balance too
 *   small, supply out of range) keeps its error and reason; a new attempt
 *   needs a new key.
 * - Amounts are exact (struct money at the token's decimals), positive;
 *   supply and every balance are never negative, and supply at any point
 *   equals the sum of the balances at that point.
 * - Addresses are "0x" and 40 hex digits, kept in lower case; the zero
 *   address is the counterpart of mints (from) and burns (to) and holds
 *   nothing.
 *
 * Conventions as in common.h: 0 or a negated error of common_errors.h;
 * out-values are written on success only unless a function says more.
 */
#ifndef BACKSTOCK_CHAIN_H
#define BACKSTOCK_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "db/db.h"

/* Default decimals of a token, and the most a token may have. */
#define CHAIN_TOKEN_SCALE 18
/* An address as text: "0x", 40 hex digits, NUL. */
#define CHAIN_ADDR_STR     43
#define CHAIN_ZERO_ADDRESS "0x0000000000000000000000000000000000000000"
/* A token symbol: 1-16 of A-Z a-z 0-9 . -, starting with a letter or digit. */
#define CHAIN_SYMBOL_MAX 17
/* A token name: 1-64 printable ASCII characters (spaces allowed). */
#define CHAIN_NAME_MAX 65
/* An intent key: 1-128 printable ASCII characters, no spaces. */
#define CHAIN_KEY_MAX 129
/* A failed intent's reason, NUL included (longer text is cut). */
#define CHAIN_REASON_MAX 256
/* A point: the newest block. */
#define CHAIN_LATEST ((int64_t)-1)
/* Most transfers one chain_transfers() call returns. */
#define CHAIN_TRANSFERS_MAX 1000

/* A token as registered. */
struct chain_token {
  char symbol[CHAIN_SYMBOL_MAX];
  unsigned decimals; /* 0..CHAIN_TOKEN_SCALE */
  char name[CHAIN_NAME_MAX];
};

enum chain_op {
  CHAIN_OP_MINT = 0, /* from the zero address */
  CHAIN_OP_BURN,     /* to the zero address */
  CHAIN_OP_TRANSFER, /* between two holders */
};

enum chain_intent_state {
  CHAIN_INTENT_NONE = 0,  /* no intent under this key (chain_intent_status only) */
  CHAIN_INTENT_RECORDED,  /* durable, nothing executed */
  CHAIN_INTENT_SUBMITTED, /* handed to an external chain, outcome not final (EVM) */
  CHAIN_INTENT_EXECUTED,  /* took effect at its block (final) */
  CHAIN_INTENT_FAILED,    /* refused: error and reason (final) */
};

/* What to record.  Borrowed strings. */
struct chain_intent_req {
  const char *key; /* the caller's idempotency key, e.g. "order-17-mint" */
  enum chain_op op;
  const char *token;   /* a registered symbol */
  const char *from;    /* burn, transfer; mint: NULL or the zero address */
  const char *to;      /* mint, transfer; burn: NULL or the zero address */
  struct money amount; /* > 0, exact at the token's decimals (any scale that rescales exactly) */
};

/* An intent as stored. */
struct chain_intent {
  int64_t id; /* record order */
  char key[CHAIN_KEY_MAX];
  enum chain_op op;
  char token[CHAIN_SYMBOL_MAX];
  char from[CHAIN_ADDR_STR]; /* lower case; the zero address for a mint */
  char to[CHAIN_ADDR_STR];   /* lower case; the zero address for a burn */
  struct money amount;       /* at the token's decimals */
  enum chain_intent_state state;
  int64_t block;                 /* executed: the point it took effect at; else 0 */
  int error;                     /* failed: the negated error; else 0 */
  char reason[CHAIN_REASON_MAX]; /* failed: why, for people; else "" */
};

/* One movement of tokens; mints come from and burns go to the zero address. */
struct chain_transfer {
  int64_t cursor; /* increasing; pass the last one back to read on */
  int64_t block;
  char token[CHAIN_SYMBOL_MAX];
  char from[CHAIN_ADDR_STR];
  char to[CHAIN_ADDR_STR];
  struct money amount;     /* at the token's decimals */
  char key[CHAIN_KEY_MAX]; /* the intent it executed ("" when not ours) */
};

/* What chain_resume() did. */
struct chain_resume_stats {
  unsigned executed; /* intents that are now executed */
  unsigned failed;   /* intents that are now failed */
  unsigned pending;  /* still submitted (an asynchronous backend) */
};

/* ------------------------------------------------------------------ */
/* Backends                                                            */
/* ------------------------------------------------------------------ */

struct chain_ledger;

/*
 * A backend's operations.  The shared layer (chain_ledger.c) checks and
 * normalizes every argument first (symbols, lower-case addresses, keys,
 * points >= 0 or CHAIN_LATEST), records intents itself, and maps results
 * to return values; a backend only does what differs between ledgers.
 * Every operation returns 0 or a negated error; -ERR_CHAIN_BACKEND when
 * the ledger cannot be reached (the caller retries later).
 */
struct chain_backend {
  const char *name; /* "builtin", "evm" */
  /* Make @t known (idempotent; other terms -ERR_API_CONFLICT). */
  int (*token_register)(struct chain_ledger *l, const struct chain_token *t);
  /*
   * Advance the recorded intent @key as far as it can go now and leave
   * it, as stored afterwards, in @out: executed, failed, or (external
   * ledgers) submitted.  Must be safe to call any number of times, from
   * any number of connections at once: an intent takes effect once.
   * An unknown key is -ERR_INVALID_ARGUMENT.
   */
  int (*execute)(struct chain_ledger *l, const char *key, struct chain_intent *out);
  /* The newest block (final, for an external chain). */
  int (*head)(struct chain_ledger *l, int64_t *block);
  /* Supply of @token at @block (or CHAIN_LATEST), and the block answered for. */
  int (*supply)(struct chain_ledger *l, const char *token, int64_t block, struct money *out,
                int64_t *at);
  /* Balance of @addr (lower case) likewise. */
  int (*balance)(struct chain_ledger *l, const char *token, const char *addr, int64_t block,
                 struct money *out, int64_t *at);
  /* Transfers with cursor > @after, in order, of @token ("" for all), at most @max. */
  int (*transfers)(struct chain_ledger *l, const char *token, int64_t after,
                   struct chain_transfer *out, size_t max);
  /* Free @l->impl (may be NULL). */
  void (*close)(struct chain_ledger *l);
};

/* A ledger: a backend, its state, and the connection intents live on. */
struct chain_ledger {
  const struct chain_backend *be;
  struct db_conn *c; /* borrowed; not inside a transaction when a chain_* call starts */
  void *impl;        /* the backend's own state */
};

/**
 * chain_builtin_open() - a ledger on the built-in PostgreSQL backend.
 * @c: borrowed connection to a migrated database; it must outlive the
 *     ledger.  One ledger per connection; several ledgers (processes,
 *     threads) may share a database.
 * @out: receives the ledger; free with chain_ledger_free().
 * Returns 0 or -ERR_NOMEM.
 */
int chain_builtin_open(struct db_conn *c, struct chain_ledger **out);

/** chain_ledger_free() - close the backend and free @l; NULL does nothing. */
void chain_ledger_free(struct chain_ledger *l);

/* ------------------------------------------------------------------ */
/* Tokens                                                              */
/* ------------------------------------------------------------------ */

/**
 * chain_token_register() - make a token known to the ledger.
 * @t: symbol, decimals (0..CHAIN_TOKEN_SCALE) and name.
 * Idempotent: the same symbol with the same decimals and name returns 0.
 * Returns 0, -ERR_INVALID_ARGUMENT (a field out of its range),
 * -ERR_API_CONFLICT (the symbol is taken with other terms), -ERR_DB_* or
 * -ERR_CHAIN_BACKEND.
 */
int chain_token_register(struct chain_ledger *l, const struct chain_token *t);

/**
 * chain_token_get() - a registered token.
 * Returns 0, -ERR_CHAIN_UNKNOWN_TOKEN or -ERR_DB_*.
 */
int chain_token_get(struct chain_ledger *l, const char *symbol, struct chain_token *out);

/* ------------------------------------------------------------------ */
/* Intents                                                             */
/* ------------------------------------------------------------------ */

/** chain_op_name() - "mint", "burn", "transfer" (static). */
const char *chain_op_name(enum chain_op op);

/** chain_intent_state_name() - "none", "recorded", "submitted", ... (static). */
const char *chain_intent_state_name(enum chain_intent_state st);

/**
 * chain_address_parse() - check an address and write it in lower case.
 * @s: "0x" and 40 hex digits in either case (an EIP-55 checksum is not
 *     verified).
 * @out: receives the lower-case form.
 * Returns 0 or -ERR_CHAIN_ADDRESS (also for NULL).
 */
int chain_address_parse(const char *s, char out[CHAIN_ADDR_STR]);

/**
 * chain_intent_record_in() - record an intent inside the caller's
 * transaction (call inside db_txn, e.g. with the order change it belongs
 * to; nothing executes).
 * @c: the connection of the caller's transaction.
 * @req: the intent; checked and normalized first.
 * @out: if not NULL, receives the intent as stored (state 'recorded',
 *       or whatever state an earlier record with the same terms reached).
 * @err: receives 0 (recorded, or recorded before with the same terms) or
 *       the refusal: -ERR_INVALID_ARGUMENT (key, op, a missing or extra
 *       address, amount <= 0), -ERR_CHAIN_ADDRESS, -ERR_CHAIN_UNKNOWN_TOKEN,
 *       -ERR_MONEY_PRECISION / -ERR_MONEY_OVERFLOW / -ERR_MONEY_SCALE (the
 *       amount does not fit the token's decimals exactly),
 *       -ERR_CHAIN_INTENT_CONFLICT (the key is taken with other terms).
 *       Nothing is written on a refusal.
 * Returns the query status for the runner (DB_QS_SOFT: retry; DB_QS_HARD),
 * else DB_QS_NONE and *@err as above.
 */
enum db_qs chain_intent_record_in(struct db_conn *c, const struct chain_intent_req *req,
                                  struct chain_intent *out, int *err);

/**
 * chain_intent_record() - chain_intent_record_in() in a transaction of its
 * own on the ledger's connection.
 * Returns *err of chain_intent_record_in(), or -ERR_DB_*.
 */
int chain_intent_record(struct chain_ledger *l, const struct chain_intent_req *req,
                        struct chain_intent *out);

/**
 * chain_intent_execute() - execute the recorded intent @key, or return the
 * result it already has.  The built-in backend applies it in one
 * transaction (balances, supply, the transfer, the intent marked
 * 'executed' with its block); an external backend submits it and later
 * calls see whether it became final.
 * @out: if not NULL, receives the intent as stored afterwards (also on
 *       -ERR_CHAIN_INSUFFICIENT and the other refusals, and on
 *       -ERR_CHAIN_PENDING).
 * Returns 0 (executed, out->block set), the error of a failed intent
 * (-ERR_CHAIN_INSUFFICIENT: burn or transfer beyond the balance;
 * -ERR_MONEY_OVERFLOW: supply would leave the amount range),
 * -ERR_CHAIN_PENDING (submitted, not final yet: call again later),
 * -ERR_INVALID_ARGUMENT (no intent under @key), -ERR_CHAIN_BACKEND,
 * or -ERR_DB_* (-ERR_DB_COMMIT_UNKNOWN: call again to learn the outcome).
 */
int chain_intent_execute(struct chain_ledger *l, const char *key, struct chain_intent *out);

/**
 * chain_intent_status() - the intent @key as stored, without advancing it.
 * @out: receives it; out->state is CHAIN_INTENT_NONE when there is none.
 * Returns 0, -ERR_INVALID_ARGUMENT (a malformed key) or -ERR_DB_*.
 */
int chain_intent_status(struct chain_ledger *l, const char *key, struct chain_intent *out);

/**
 * chain_resume() - execute every intent recorded or submitted but not
 * final, in record order (at start, after a crash).  Each executes once
 * however often this runs, and while others execute the same intents.
 * @st: if not NULL, receives the counts (written also on error).
 * Returns 0 (failed and pending intents are counted, not errors), or the
 * first error that stops the run (-ERR_DB_*, -ERR_CHAIN_BACKEND).
 */
int chain_resume(struct chain_ledger *l, struct chain_resume_stats *st);

/**
 * chain_mint() / chain_burn() / chain_transfer() - record an intent and
 * execute it: chain_intent_record() then chain_intent_execute().  Calling
 * again with the same key and terms returns the first result.
 * @out: if not NULL, receives the intent as after chain_intent_execute().
 * Returns the refusals of chain_intent_record(), then the results of
 * chain_intent_execute().
 */
int chain_mint(struct chain_ledger *l, const char *key, const char *token, const char *to,
               struct money amount, struct chain_intent *out);
int chain_burn(struct chain_ledger *l, const char *key, const char *token, const char *from,
               struct money amount, struct chain_intent *out);
int chain_transfer(struct chain_ledger *l, const char *key, const char *token, const char *from,
                   const char *to, struct money amount, struct chain_intent *out);

/* ------------------------------------------------------------------ */
/* Reading the ledger                                                  */
/* ------------------------------------------------------------------ */

/**
 * chain_head() - the newest block (0 before anything executed).
 * Returns 0, -ERR_DB_* or -ERR_CHAIN_BACKEND.
 */
int chain_head(struct chain_ledger *l, int64_t *block);

/**
 * chain_supply() - total supply of @token at a point.
 * @block: a block 0..head, or CHAIN_LATEST.
 * @out: receives the supply at the token's decimals.
 * @at: if not NULL, receives the block answered for (the head for
 *      CHAIN_LATEST).
 * Returns 0, -ERR_CHAIN_UNKNOWN_TOKEN, -ERR_INVALID_ARGUMENT (a block
 * below 0 or past the head), -ERR_DB_* or -ERR_CHAIN_BACKEND.
 */
int chain_supply(struct chain_ledger *l, const char *token, int64_t block, struct money *out,
                 int64_t *at);

/**
 * chain_balance() - balance of @addr in @token at a point, as
 * chain_supply(); the zero address always holds 0.
 * Returns as chain_supply(), and -ERR_CHAIN_ADDRESS.
 */
int chain_balance(struct chain_ledger *l, const char *token, const char *addr, int64_t block,
                  struct money *out, int64_t *at);

/**
 * chain_transfers() - the transfer history after a cursor, mints and burns
 * included, in order.
 * @token: a symbol, or NULL for every token.
 * @after: 0 for the start, else the cursor of the last transfer read.
 * @out: receives at most @max transfers (@max <= CHAIN_TRANSFERS_MAX).
 * Returns the number written (>= 0; fewer than @max: the end for now),
 * -ERR_CHAIN_UNKNOWN_TOKEN, -ERR_INVALID_ARGUMENT, -ERR_DB_* or
 * -ERR_CHAIN_BACKEND.
 */
int chain_transfers(struct chain_ledger *l, const char *token, int64_t after,
                    struct chain_transfer *out, size_t max);

#endif
