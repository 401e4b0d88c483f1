/*
 * db: the database layer.  A connection (struct db_conn) carries the
 * session defaults (SERIALIZABLE, search_path backstock, UTC) and the
 * prepared statements made on it; one transaction runner retries
 * serialization failures and deadlocks a bounded number of times; a small
 * pool hands connections to API threads; the migration runner applies
 * the numbered SQL files; and the embedded cluster runs a private
 * PostgreSQL under the data folder.
 *
 * Every query returns one status (enum db_qs): hard error, soft error
 * (40001 serialization failure, 40P01 deadlock), no rows, or a row count.
 * Only db_txn() retries.
 */
#ifndef BACKSTOCK_DB_H
#define BACKSTOCK_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "common/common.h"

/* The schema every table of ours lives in. */
#define DB_SCHEMA "backstock"

enum db_qs {
  DB_QS_HARD = -2, /* error that a retry will not cure */
  DB_QS_SOFT = -1, /* serialization failure or deadlock: retry */
  DB_QS_NONE = 0,  /* success, no rows */
  /* > 0: success, that many rows returned or affected */
};

/*
 * One prepared statement: defined once, as a const object in the file of
 * its query (db_select_schema_version.c holds db_stmt_select_schema_version),
 * prepared on a connection the first time it runs there.
 */
struct db_stmt {
  const char *name; /* also the server-side statement name */
  const char *sql;
  int nparams;
};

struct db_conn_stats {
  unsigned long txn_commits; /* transactions that committed */
  unsigned long txn_retries; /* attempts repeated after a soft error */
  unsigned long txn_gave_up; /* runs that ended with ERR_DB_CONFLICT */
  unsigned long reconnects;  /* successful reconnections */
  unsigned long prepares;    /* statements prepared on this connection */
};

struct db_conn {
  PGconn *pg;
  char *conninfo;       /* owned, wiped on close */
  char *dbname;         /* optional override, owned */
  unsigned max_retries; /* attempts per db_txn() run */
  bool in_txn;
  const struct db_stmt **prepared; /* open-addressing set, size cap */
  size_t n_prepared, cap_prepared;
  char last_error[512]; /* message of the last failed call */
  char last_sqlstate[6];
  struct db_conn_stats stats;
};

/**
 * db_connect() - open a connection and apply the session defaults.
 * @conninfo: libpq URL or key=value string.
 * @dbname: if not NULL, overrides the database named in @conninfo.
 * @max_retries: attempts per db_txn() run (>= 1).
 * @out: receives the connection; free with db_close().
 * Returns 0, -ERR_DB_CONNECT (message in the log) or -ERR_NOMEM.
 */
int db_connect(const char *conninfo, const char *dbname, unsigned max_retries,
               struct db_conn **out);

/** db_close() - close and free; db_close(NULL) does nothing. */
void db_close(struct db_conn *c);

/**
 * db_ensure() - reconnect if the connection is broken.  Only outside a
 * transaction (a transaction is never resumed on a new connection).
 * Returns 0 or -ERR_DB_CONNECT.
 */
int db_ensure(struct db_conn *c);

/**
 * db_exec() - run a prepared statement with text parameters.
 * @params: @stmt->nparams values (NULL for SQL NULL).
 * @res: if not NULL, receives the result when the status is > 0 (rows
 *       returned or affected; the caller PQclears it), else NULL.  So a
 *       caller frees exactly when it got rows.
 * Returns the query status; on error last_error/last_sqlstate are set.
 */
enum db_qs db_exec(struct db_conn *c, const struct db_stmt *stmt, const char *const *params,
                   PGresult **res);

/**
 * db_exec_bin() - db_exec() with binary parameters or a binary result:
 * @lengths and @formats as PQexecPrepared takes them (NULL: all text),
 * @result_format 0 text, 1 binary.  Same status and @res contract.
 */
enum db_qs db_exec_bin(struct db_conn *c, const struct db_stmt *stmt, const char *const *params,
                       const int *lengths, const int *formats, int result_format, PGresult **res);

/**
 * db_exec_sql() - run SQL text without parameters (may hold several
 * statements).  For migrations and session setup only.
 */
enum db_qs db_exec_sql(struct db_conn *c, const char *sql);

/*
 * The body of a transaction: runs its queries on @c and returns DB_QS_HARD,
 * DB_QS_SOFT or a value >= 0.  It may run more than once, so it must not
 * have effects outside the database (no replies, no messages) until
 * db_txn() returns 0.
 */
typedef enum db_qs (*db_txn_fn)(struct db_conn *c, void *cls);

/**
 * db_txn() - run @fn inside BEGIN..COMMIT, retrying on serialization
 * failures and deadlocks (in the body or at COMMIT) up to c->max_retries
 * attempts with randomized backoff.  A connection found broken before a
 * transaction starts is reconnected; one lost inside the body is
 * reconnected and the body retried; one lost during COMMIT is reported,
 * since the outcome is unknown.
 * @name: for the log.
 * Returns 0, -ERR_DB_CONFLICT (gave up after the retries), -ERR_DB_HARD,
 * -ERR_DB_CONNECT or -ERR_DB_COMMIT_UNKNOWN.
 */
int db_txn(struct db_conn *c, const char *name, db_txn_fn fn, void *cls);

/* ------------------------------------------------------------------ */
/* Queries (one file each, named after the query)                      */
/* ------------------------------------------------------------------ */

/**
 * db_insert_service_run() - record a process start in service_runs.
 * @id: receives the new row's id.
 */
enum db_qs db_insert_service_run(struct db_conn *c, const char *service, const char *version,
                                 unsigned schema_version, long pid, long long *id);

/** db_update_service_run_stopped() - record the clean end of run @id. */
enum db_qs db_update_service_run_stopped(struct db_conn *c, long long id);

/** db_select_market_closures() - add the stored extra closures to @cal. */
enum db_qs db_select_market_closures(struct db_conn *c, struct cal *cal);

/* ------------------------------------------------------------------ */
/* Pool (db_pool.c)                                                    */
/* ------------------------------------------------------------------ */

struct db_pool;

/**
 * db_pool_create() - a pool of at most @size connections, opened lazily.
 * Returns 0 or -ERR_NOMEM; free with db_pool_free().
 */
int db_pool_create(const char *conninfo, unsigned size, unsigned max_retries, struct db_pool **out);

/** db_pool_free() - close every connection; all must be returned. */
void db_pool_free(struct db_pool *p);

/**
 * db_pool_get() - borrow a connected connection, waiting at most
 * @timeout_ms for one to be free.
 * Returns 0, -ERR_DB_POOL_TIMEOUT or -ERR_DB_CONNECT.
 */
int db_pool_get(struct db_pool *p, unsigned timeout_ms, struct db_conn **out);

/** db_pool_put() - give a connection back. */
void db_pool_put(struct db_pool *p, struct db_conn *c);

/* ------------------------------------------------------------------ */
/* Migrations (db_migrate.c)                                           */
/* ------------------------------------------------------------------ */

struct db_migration {
  unsigned version; /* 1, 2, 3, ... contiguous */
  const char *name; /* file name without the number, e.g. "base" */
  const char *sql;
};

struct db_migrate_result {
  unsigned from_version; /* schema version found */
  unsigned to_version;   /* schema version left */
  unsigned applied;      /* migrations applied by this call */
};

/**
 * db_migrate() - bring the database to the newest of @list, each
 * migration in its own transaction, recorded with its SHA-256 in
 * backstock.schema_versions; concurrent callers serialize on an advisory
 * lock.
 * @list: migrations in order; numbering must start at 1 and be contiguous.
 * @msg: receives a human explanation of a failure.
 * Returns 0, -ERR_MIGRATE_GAP, -ERR_MIGRATE_DB_NEWER,
 * -ERR_MIGRATE_CHECKSUM, -ERR_MIGRATE_FAILED or -ERR_DB_CONNECT.
 */
int db_migrate(struct db_conn *c, const struct db_migration *list, size_t n,
               struct db_migrate_result *res, char *msg, size_t msg_size);

/**
 * db_schema_version() - newest applied migration, 0 on an empty database.
 * Returns 0, -ERR_DB_HARD or -ERR_DB_CONNECT.
 */
int db_schema_version(struct db_conn *c, unsigned *out);

/* ------------------------------------------------------------------ */
/* A service's run (db_service.c)                                      */
/* ------------------------------------------------------------------ */

/**
 * db_service_start() - what a process does on its database before it
 * serves: connect to @url, db_migrate() it to the newest of @list (and log
 * the versions), and record the run in service_runs (@service, this
 * build's version, schema version @n, the process id).
 * @out: receives the connection (NULL if none), which the caller keeps
 * for db_service_stop() and frees with db_close(), also after a failure.
 * @run_id: receives the run's id, 0 when no row was written.
 * @msg: on failure, one line for the operator: the error's text; after a
 * refused migration "<error>: <detail>"; after the row "cannot record the
 * run: <error>".
 * Returns 0 or the error of the step that failed.
 */
int db_service_start(const char *url, const char *service, const struct db_migration *list,
                     size_t n, struct db_conn **out, long long *run_id, char *msg, size_t msg_size);

/**
 * db_service_stop() - record the clean end of run @run_id on @c; nothing
 * when @c is NULL or @run_id is 0.  Returns 0 or the error of db_txn().
 */
int db_service_stop(struct db_conn *c, long long run_id);

/* ------------------------------------------------------------------ */
/* Embedded PostgreSQL cluster (db_cluster.c)                          */
/* ------------------------------------------------------------------ */

/* Flags of db_cluster_start(). */
#define DB_CLUSTER_NO_GUARDIAN 0x1u /* leave the server running at exit */
#define DB_CLUSTER_FAST        0x2u /* tests only: fsync off, initdb --no-sync */

struct db_cluster;

/*
 * How long db_cluster_start() waits for the data folder's lock, which a
 * predecessor's guardian may still hold while it stops the server
 * (default 20000 ms).  Tests shorten it.
 */
extern unsigned db_cluster_lock_wait_ms;

/**
 * db_cluster_start() - run the private PostgreSQL cluster of a data
 * folder: create it (initdb) on first use, recover a stale pidfile or a
 * server left behind by a killed service, start it with pg_ctl on a unix
 * socket only (no TCP), and create the "backstock" database.  When run as
 * root the server runs as the "postgres" user.  Unless
 * DB_CLUSTER_NO_GUARDIAN, a guardian process stops the server when this
 * process dies in any way, even by SIGKILL.
 * @data_dir: the service's data folder; the cluster lives in its pg/.
 * @bindir: folder of initdb and pg_ctl, or NULL/"" to search.
 * @out: receives the handle; stop with db_cluster_stop().
 * Returns 0, -ERR_PG_IN_USE, -ERR_PG_BINARIES, -ERR_PG_USER,
 * -ERR_PG_INITDB, -ERR_PG_START, -ERR_IO or -ERR_NOMEM.
 */
int db_cluster_start(const char *data_dir, const char *bindir, unsigned flags,
                     struct db_cluster **out);

/** db_cluster_conninfo() - libpq conninfo of the "backstock" database. */
const char *db_cluster_conninfo(const struct db_cluster *cl);

/** db_cluster_dir() - the cluster's data directory (after links). */
const char *db_cluster_dir(const struct db_cluster *cl);

/**
 * db_cluster_stop() - stop the server (fast shutdown), end the guardian,
 * release the data folder and free @cl.  NULL does nothing.
 * Returns 0 or -ERR_PG_STOP.
 */
int db_cluster_stop(struct db_cluster *cl);

/**
 * db_cluster_detach() - free @cl and release the data folder but leave the
 * server running (for "backstock pg start"; with DB_CLUSTER_NO_GUARDIAN).
 */
void db_cluster_detach(struct db_cluster *cl);

/**
 * db_cluster_stop_dir() - stop a server left running in @data_dir (by
 * DB_CLUSTER_NO_GUARDIAN), if any.  Returns 0, -ERR_PG_STOP or another
 * error of db_cluster_start().
 */
int db_cluster_stop_dir(const char *data_dir, const char *bindir);

/* ------------------------------------------------------------------ */
/* The clock (db_clock.c, migrations/0012-clock.sql, docs/clock.md)    */
/* ------------------------------------------------------------------ */

/**
 * db_clock_now() - the business time now: clock_now() of the database
 * (the wall clock unless tests or the demo moved or sped it up), in ms
 * since the epoch.  One statement, inside a transaction or on its own.
 * Returns 0, -ERR_DB_CONFLICT, -ERR_DB_HARD or -ERR_DB_CONNECT (outside a
 * transaction, when the connection cannot be re-opened).
 */
int db_clock_now(struct db_conn *c, int64_t *ms);

/* Largest db_clock_advance() step: ten years. */
#define DB_CLOCK_ADVANCE_MAX_MS (3660LL * 86400 * 1000)
/* Largest speed (the table's CHECK). */
#define DB_CLOCK_SPEED_MAX 1000000
/* Latest time db_clock_set() takes: 9999-12-31T23:59:59.999Z. */
#define DB_CLOCK_TIME_MAX_MS 253402300799999LL

/* The clock as db_clock_get() and the changes report it. */
struct db_clock {
  int64_t now_ms;            /* virtual time now: clock_now(), ms since the epoch */
  int64_t wall_ms;           /* the wall clock at the same instant (now_ms - wall_ms: offset) */
  int64_t anchor_wall_ms;    /* the last change: the wall time then (ms, rounded down) */
  int64_t anchor_virtual_ms; /* and the virtual time then */
  int32_t speed;             /* virtual ms per wall ms, 1..DB_CLOCK_SPEED_MAX */
};

/**
 * db_clock_get() - the clock's row and its time now, read at one instant
 * (one clock_timestamp()).  One statement, inside a transaction or on its
 * own.  Returns 0 or an error as db_clock_now().
 */
int db_clock_get(struct db_conn *c, struct db_clock *out);

/*
 * The changes below are one UPDATE each: they re-anchor the clock at its
 * exact virtual time now and send NOTIFY on channel "clock" (payload
 * "<now ms> <speed>", delivered at commit).  Outside a transaction each
 * runs in db_txn() (a conflict with a concurrent change is retried, so two
 * advances both count); inside the caller's db_txn it runs once and a
 * conflict returns -ERR_DB_CONFLICT for the caller's retry.  @out (may be
 * NULL) receives the clock right after the change.  Besides their own,
 * they return the errors of db_txn().
 */

/**
 * db_clock_advance() - move the business time forward by @delta_ms
 * (0..DB_CLOCK_ADVANCE_MAX_MS), keeping the speed.
 * Returns 0 or -ERR_INVALID_ARGUMENT (@delta_ms negative: the clock never
 * goes backwards; or too large).
 */
int db_clock_advance(struct db_conn *c, int64_t delta_ms, struct db_clock *out);

/**
 * db_clock_set_speed() - let the business time run @speed times as fast
 * as the wall clock from now on (1..DB_CLOCK_SPEED_MAX); the time itself
 * is continuous.  Returns 0 or -ERR_INVALID_ARGUMENT.
 */
int db_clock_set_speed(struct db_conn *c, int32_t speed, struct db_clock *out);

/**
 * db_clock_set() - jump to @at_ms (0..DB_CLOCK_TIME_MAX_MS), keeping the
 * speed, only when it is not before the clock's time now (equal is
 * allowed and changes nothing visible).
 * Returns 0 or -ERR_INVALID_ARGUMENT (@at_ms before now: never backwards).
 */
int db_clock_set(struct db_conn *c, int64_t at_ms, struct db_clock *out);

#endif
