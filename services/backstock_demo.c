/*
 * "backstock demo seed": what the README's first command seeds so that a
 * new user can mint and redeem at once -- three principals (an issuer
 * admin, an AP, an auditor) each with an API key, the demo instruments
 * TSLAx, AAPLx and NVDAx with their policies, and an allow-listed wallet
 * of the AP -- and the file <data dir>/demo-keys.json holding the keys
 * (mode 0600; the keys are stored nowhere else, only their hashes).
 *
 * Run again, it changes nothing and prints the file as it is.  With the
 * file gone, the principals and instruments found are kept and each
 * principal gets a new key (its old keys stay valid until revoked).
 *
 * "backstock demo open" and "demo next-day" move the shared clock
 * (docs/clock.md) to a time when the demo instruments' primary market is
 * open: the next session's open + 5 minutes (open: only when it is closed
 * now; next-day: always the next business day's), so that a demo started
 * at night or over a weekend still fills at once and T+1 passes with one
 * command.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "common/common.h"
#include "db/db.h"
#include "issuance/issuance.h"
#include "services/backstock_int.h"

/* The demo AP's wallet: a fixed address, so the README can name it. */
#define DEMO_WALLET "0x00000000000000000000000000000000000a0001"

static const struct {
  const char *name;
  enum api_role role;
  const char *label;
} demo_principals[] = {
    {"demo-admin", API_ROLE_ISSUER_ADMIN, "admin"},
    {"demo-ap", API_ROLE_AP, "ap"},
    {"demo-auditor", API_ROLE_AUDITOR, "auditor"},
};
#define N_PRINCIPALS (sizeof demo_principals / sizeof demo_principals[0])

/*
 * The instruments, with one of each policy so the demo shows them:
 * TSLAx mints at settlement and burns on receipt (strict), AAPLx mints at
 * fill (backed by shares in transit), NVDAx burns at payout.
 */
static const struct {
  const char *symbol, *isin, *token, *mint_policy, *burn_policy;
} demo_instruments[] = {
    {"TSLA", "US88160R1014", "TSLAx", "at_settlement", "on_receipt"},
    {"AAPL", "US0378331005", "AAPLx", "at_fill", "on_receipt"},
    {"NVDA", "US67066G1040", "NVDAx", "at_settlement", "at_payout"},
};
#define N_INSTRUMENTS (sizeof demo_instruments / sizeof demo_instruments[0])

static const struct db_stmt q_principal = {"demo_select_principal",
                                           "SELECT id FROM principals WHERE name = $1", 1};

static const struct db_stmt q_instrument = {
    "demo_insert_instrument",
    "INSERT INTO instruments (symbol, isin, token_symbol, token_decimals, settlement_lag_days,"
    " mint_policy, burn_policy, min_order_qty, max_order_qty, fee_flat, fee_rate, market_open,"
    " market_close, cutoff, out_of_hours) VALUES ($1, $2, $3, 18, 1, $4, $5, 1, 100000, 5.00,"
    " 0.001, '09:30', '16:00', '15:30', 'queue') ON CONFLICT (symbol) DO NOTHING RETURNING id",
    5};

static const struct db_stmt q_wallet = {
    "demo_insert_wallet",
    "INSERT INTO ap_wallets (ap, address, label) VALUES ($1::bigint, $2, 'demo wallet')"
    " ON CONFLICT (address) DO NOTHING RETURNING id",
    2};

struct seed {
  int64_t ids[N_PRINCIPALS];
  char keys[N_PRINCIPALS][API_KEY_TEXT_MAX];
  unsigned instruments_added;
};

static enum db_qs seed_txn(struct db_conn *c, void *cls)
{
  struct seed *s = cls;
  struct api_principal p;
  struct api_key_info k;
  enum db_qs qs;
  s->instruments_added = 0;
  for (size_t i = 0; i < N_PRINCIPALS; i++) {
    PGresult *r = NULL;
    const char *params[] = {demo_principals[i].name};
    qs = db_exec(c, &q_principal, params, &r);
    if (qs > 0)
      s->ids[i] = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (qs < 0)
      return qs;
    if (qs > 0)
      qs = api_key_create(c, s->ids[i], API_TIME_NONE, &k, s->keys[i]);
    else {
      qs = api_principal_create(c, demo_principals[i].name, demo_principals[i].role, API_TIME_NONE,
                                &p, &k, s->keys[i]);
      s->ids[i] = p.id;
    }
    if (qs <= 0)
      return qs < 0 ? qs : DB_QS_HARD;
    char target[48], details[128];
    snprintf(target, sizeof target, "principal:%lld", (long long)s->ids[i]);
    snprintf(details, sizeof details, "{\"key_id\":\"%s\",\"name\":\"%s\"}", k.id,
             demo_principals[i].name);
    if ((qs = api_audit_append(c, 0, "demo.seed.key", target, details)) < 0)
      return qs;
  }
  for (size_t i = 0; i < N_INSTRUMENTS; i++) {
    const char *params[] = {demo_instruments[i].symbol, demo_instruments[i].isin,
                            demo_instruments[i].token, demo_instruments[i].mint_policy,
                            demo_instruments[i].burn_policy};
    PGresult *r = NULL;
    qs = db_exec(c, &q_instrument, params, &r);
    PQclear(r);
    if (qs < 0)
      return qs;
    if (qs > 0) {
      char target[48];
      snprintf(target, sizeof target, "instrument:%s", demo_instruments[i].symbol);
      if ((qs = api_audit_append(c, 0, "demo.seed.instrument", target, "{}")) < 0)
        return qs;
      s->instruments_added++;
    }
  }
  char ap[24];
  snprintf(ap, sizeof ap, "%lld", (long long)s->ids[1]);
  const char *wparams[] = {ap, DEMO_WALLET};
  PGresult *r = NULL;
  qs = db_exec(c, &q_wallet, wparams, &r);
  PQclear(r);
  return qs < 0 ? qs : 1;
}

/* The file's text (the keys in it: the caller wipes it). */
static int render(const struct seed *s, const char *api_url, char *buf, size_t size)
{
  int n = snprintf(buf, size, "{\n  \"api\": \"%s\",\n", api_url);
  for (size_t i = 0; i < N_PRINCIPALS && n > 0 && (size_t)n < size; i++)
    n += snprintf(
        buf + n, size - (size_t)n,
        "  \"%s\": {\"principal\": %lld, \"name\": \"%s\", \"key\": \"%s\"%s},\n",
        demo_principals[i].label, (long long)s->ids[i], demo_principals[i].name, s->keys[i],
        demo_principals[i].role == API_ROLE_AP ? ", \"wallet\": \"" DEMO_WALLET "\"" : "");
  if (n > 0 && (size_t)n < size)
    n += snprintf(buf + n, size - (size_t)n,
                  "  \"instruments\": [\"TSLAx\", \"AAPLx\", \"NVDAx\"]\n}\n");
  return n > 0 && (size_t)n < size ? n : -ERR_TOO_LONG;
}

static int print_file(const char *path)
{
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -ERR_IO;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    fwrite(buf, 1, n, stdout);
  sodium_memzero(buf, sizeof buf);
  fclose(f);
  fflush(stdout);
  return 0;
}

int demo_seed(struct db_conn *c, const char *out_path, const char *api_url)
{
  if (access(out_path, F_OK) == 0) {
    fprintf(stderr, "backstock: demo seed: %s exists; nothing changed\n", out_path);
    return print_file(out_path);
  }
  struct seed s;
  memset(&s, 0, sizeof s);
  int rc = db_txn(c, "demo seed", seed_txn, &s);
  char text[4096];
  if (rc == 0 && (rc = render(&s, api_url, text, sizeof text)) > 0) {
    size_t len = (size_t)rc;
    rc = 0;
    int fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
      fprintf(stderr, "backstock: demo seed: cannot write %s: %s\n", out_path, strerror(errno));
      rc = -ERR_IO;
    }
    if (fd >= 0)
      close(fd);
    if (rc == 0) {
      fwrite(text, 1, len, stdout);
      fflush(stdout);
      fprintf(stderr, "backstock: demo seed: %u instrument(s) added; keys written to %s\n",
              s.instruments_added, out_path);
    }
  } else if (rc != 0) {
    fprintf(stderr, "backstock: demo seed: %s\n", err_text(rc));
  }
  sodium_memzero(text, sizeof text);
  sodium_memzero(&s, sizeof s);
  return rc;
}

/* The demo instruments' hours (as seeded above). */
#define DEMO_OPEN          "09:30"
#define DEMO_CUTOFF        "15:30"
#define DEMO_OPEN_TO_CUT   (6 * 3600 * 1000LL) /* cutoff - open */
#define DEMO_AFTER_OPEN_MS (5 * 60 * 1000LL)

int demo_clock(struct db_conn *c, bool next_day)
{
  int64_t now;
  struct order_session ses;
  int rc = db_clock_now(c, &now);
  if (rc == 0)
    rc = order_hours(NULL, DEMO_OPEN, DEMO_CUTOFF, now, &ses);
  if (rc == 0 && next_day) /* the session after today's (or the coming) one */
    rc = order_hours(NULL, DEMO_OPEN, DEMO_CUTOFF, ses.cutoff_ms + 1, &ses);
  if (rc != 0) {
    fprintf(stderr, "backstock: demo: %s\n", err_text(rc));
    return rc;
  }
  int64_t target = ses.cutoff_ms - DEMO_OPEN_TO_CUT + DEMO_AFTER_OPEN_MS;
  struct db_clock clk;
  if ((next_day || !ses.in_hours) && target > now)
    rc = db_clock_advance(c, target - now, &clk);
  else
    rc = db_clock_get(c, &clk);
  if (rc != 0) {
    fprintf(stderr, "backstock: demo: %s\n", err_text(rc));
    return rc;
  }
  char day[16];
  cal_format_date(ses.session_date, day);
  printf("clock now %lld ms (session %s, primary market %s)\n", (long long)clk.now_ms, day,
         (next_day || !ses.in_hours) ? "opened 5 minutes ago" : "open");
  return 0;
}
