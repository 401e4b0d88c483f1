/*
 * Real processes for the engine's end-to-end tests (test_engine_e2e.c,
 * test_engine_crash.c), all on one fresh database and 127.0.0.1: the
 * simulated broker, `backstock connector`, the simulated custodian
 * writing into a drop folder, and `backstock serve` / `backstock engine`
 * / `backstock custody watch`.  The business clock is the database's
 * (test_engine_lib.c sets it to Tuesday 2027-03-02 15:00 UTC); every
 * process reads it.  Every wait is bounded; a failure prints the
 * children's stderr.
 */
#ifndef BACKSTOCK_TEST_ENGINE_E2E_LIB_H
#define BACKSTOCK_TEST_ENGINE_E2E_LIB_H

#include <limits.h>
#include <sys/types.h>

#include "tests/issuance/test_engine_lib.h"

#define EX_START_WAIT_MS 30000
#define EX_STOP_WAIT_MS  15000

struct ex_child {
  const char *what;
  pid_t pid;
  char out[PATH_MAX + 32];
  char err[PATH_MAX + 32];
};

struct ex {
  struct tl t; /* the database, the clock, the AP, AAPL and MSFT */
  char url[1200];
  char tmp[PATH_MAX];
  char drop[PATH_MAX + 8];
  char sim_bin[PATH_MAX], svc_bin[PATH_MAX], cust_bin[PATH_MAX];
  char reset_env[64];
  uint16_t broker_port;
  unsigned spawned;
  struct ex_child *all[16];
  unsigned n_all;
};

/*
 * Set up @x: tl_setup(), a temporary folder, the binaries.  @sim_extra and
 * @cust_extra are more configuration lines of the simulated broker and
 * custodian (prices, behaviours, fails).
 */
void ex_setup(struct ex *x, const char *tag);
void ex_teardown(struct ex *x);

/* EX_FIXTURE(tag) - "static struct ex X", started by ex_setup(&X, @tag) (TS_FIXTURE()). */
#define EX_FIXTURE(tag) TS_FIXTURE(struct ex, X, ex_setup, ex_teardown, tag)

/* The simulated broker (its listening port in x->broker_port). */
void ex_start_sim(struct ex *x, struct ex_child *ch, const char *extra);
/* The simulated custodian writing into x->drop. */
void ex_start_cust(struct ex *x, struct ex_child *ch, const char *extra);
/*
 * `backstock @args...` with the service's environment: the database, the
 * broker, the custody allow-lists and drop folder, fast polls, and @env
 * (NULL-ended, may be NULL) on top.  Does not wait.
 */
void ex_start_backstock(struct ex *x, struct ex_child *ch, const char *what, char *const args[],
                        const char *const env[]);
/* Run `backstock @args...` to its end; its exit status; stdout in *out when not NULL (free it). */
int ex_run_backstock(struct ex *x, char *const args[], char **out);

/* `backstock books check` must exit 0 and say "books ok" (else its report and @note, failing). */
void ex_books_ok(struct ex *x, const char *note);

/* SIGTERM, then it must exit 0 within EX_STOP_WAIT_MS. */
void ex_stop(struct ex_child *ch);
/* SIGKILL (its process group), reaped. */
void ex_kill(struct ex_child *ch);
/* Print every child's stderr (on failure). */
void ex_dump(struct ex *x);

/* Wait until @sql's first value is @want, at most @ms; fails with what it got. */
void ex_wait_sql(struct ex *x, unsigned ms, const char *want, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
