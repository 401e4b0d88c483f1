/*
 * Corporate actions: names, the rules within an announcement's terms,
 * the multiplier arithmetic and the displayed figures (exact integers,
 * never floating point), reading actions, and the window in which mint
 * and redeem are refused.  The changes of status are in
 * issuance_corpact_admin.c, the scheduler step and the supply figures in
 * issuance_corpact_step.c; the model in docs/corporate-actions.md.
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_corpact_int.h"

static const char *const type_names[CORPACT_TYPE_COUNT] = {
    "split",         "reverse_split", "cash_dividend", "stock_dividend",
    "symbol_change", "merger",        "delisting",
};

static const char *const status_names[CORPACT_STATUS_COUNT] = {
    "announced", "scheduled", "applied", "reconciled", "cancelled",
};

/* 10^14 at scale 6: the bound of numeric(20, 6). */
static const struct money amount_bound = {.v = (__int128)100000000000000 * 1000000, .scale = 6};

static const struct db_stmt q_get = {
    "corpact_get",
    "SELECT " CORPACT_COLS CORPACT_FROM " WHERE a.id = $1::bigint",
    1,
};

static const struct db_stmt q_get_lock = {
    "corpact_get_lock",
    "SELECT " CORPACT_COLS CORPACT_FROM " WHERE a.id = $1::bigint FOR UPDATE OF a",
    1,
};

static const struct db_stmt q_list = {
    "corpact_list",
    "SELECT " CORPACT_COLS CORPACT_FROM " WHERE a.instrument = $1::bigint AND a.id > $2::bigint"
    " ORDER BY a.id LIMIT $3::bigint",
    3,
};

/* The first action (not cancelled) whose window holds $2 (Unix ms; NULL: clock_now()). */
static const struct db_stmt q_window = {
    "corpact_window",
    "SELECT w FROM corpact_window($1::bigint, coalesce('epoch'::timestamptz"
    " + $2::bigint * interval '1 millisecond', clock_now())) w WHERE w IS NOT NULL",
    2,
};

const char *corpact_type_name(enum corpact_type t)
{
  return (unsigned)t < CORPACT_TYPE_COUNT ? type_names[t] : "unknown";
}

int corpact_type_parse(const char *s, enum corpact_type *out)
{
  for (unsigned i = 0; s != NULL && i < CORPACT_TYPE_COUNT; i++)
    if (strcmp(s, type_names[i]) == 0) {
      *out = (enum corpact_type)i;
      return 0;
    }
  return -ERR_INVALID_ARGUMENT;
}

const char *corpact_status_name(enum corpact_status st)
{
  return (unsigned)st < CORPACT_STATUS_COUNT ? status_names[st] : "unknown";
}

int corpact_status_parse(const char *s, enum corpact_status *out)
{
  for (unsigned i = 0; s != NULL && i < CORPACT_STATUS_COUNT; i++)
    if (strcmp(s, status_names[i]) == 0) {
      *out = (enum corpact_status)i;
      return 0;
    }
  return -ERR_INVALID_ARGUMENT;
}

const char *corpact__ms_text(int64_t ms, char buf[ISS_I64_TXT])
{
  snprintf(buf, ISS_I64_TXT, "%lld", (long long)ms);
  return buf;
}

bool corpact__multiplier_type(enum corpact_type t)
{
  return t == CORPACT_SPLIT || t == CORPACT_REVERSE_SPLIT;
}

void corpact_terms_init(struct corpact_terms *t, enum corpact_type type)
{
  memset(t, 0, sizeof *t);
  t->type = type;
  t->ratio_old.scale = t->ratio_new.scale = CORPACT_RATIO_SCALE;
  t->cash_per_share.scale = CORPACT_CASH_SCALE;
  t->record_date = t->ex_date = t->pay_date = CORPACT_DATE_NONE;
  t->effective_ms = t->window_start_ms = t->window_end_ms = CORPACT_TIME_NONE;
}

/* An amount of the terms: > 0, exact at @scale, below 10^14. */
static int amount_check(struct money m, unsigned scale, const char *field, char *why, size_t wsz)
{
  struct money x;
  if (m.v <= 0 || money_rescale(m, scale, MONEY_ROUND_EXACT, &x) != 0 ||
      money_cmp(m, amount_bound) >= 0)
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                   "field \"%s\": must be above 0 and below 100000000000000, with at most "
                   "%u decimals",
                   field, scale);
  return 0;
}

static bool symbol_ok(const char *s)
{
  size_t n = strlen(s);
  if (n < 1 || n > CORPACT_SYMBOL_MAX - 1)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
      return false;
  return true;
}

static int ratio_check(const struct corpact_terms *t, char *why, size_t wsz)
{
  bool required = t->type == CORPACT_SPLIT || t->type == CORPACT_REVERSE_SPLIT ||
                  t->type == CORPACT_STOCK_DIVIDEND;
  const char *tn = corpact_type_name(t->type);
  if (!t->has_ratio) {
    if (required)
      return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                     "field \"ratio_new\": a %s needs ratio_new and ratio_old", tn);
    return 0;
  }
  if (!required && t->type != CORPACT_MERGER)
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT, "field \"ratio_new\": not for a %s", tn);
  int rc = amount_check(t->ratio_old, CORPACT_RATIO_SCALE, "ratio_old", why, wsz);
  if (rc == 0)
    rc = amount_check(t->ratio_new, CORPACT_RATIO_SCALE, "ratio_new", why, wsz);
  if (rc != 0)
    return rc;
  int c = money_cmp(t->ratio_new, t->ratio_old);
  if ((t->type == CORPACT_SPLIT || t->type == CORPACT_STOCK_DIVIDEND) && c <= 0)
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                   "field \"ratio_new\": a %s has ratio_new above ratio_old "
                   "(ratio_new-for-ratio_old, e.g. 2-for-1)",
                   tn);
  if (t->type == CORPACT_REVERSE_SPLIT && c >= 0)
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                   "field \"ratio_new\": a reverse_split has ratio_new below ratio_old "
                   "(ratio_new-for-ratio_old, e.g. 1-for-10)");
  return 0;
}

static int cash_symbol_check(const struct corpact_terms *t, char *why, size_t wsz)
{
  const char *tn = corpact_type_name(t->type);
  if (t->has_cash) {
    if (t->type != CORPACT_CASH_DIVIDEND && t->type != CORPACT_MERGER)
      return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT, "field \"cash_per_share\": not for a %s", tn);
    int rc = amount_check(t->cash_per_share, CORPACT_CASH_SCALE, "cash_per_share", why, wsz);
    if (rc != 0)
      return rc;
    const char *cc = t->currency;
    if (strlen(cc) != 3 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' ||
        cc[2] < 'A' || cc[2] > 'Z')
      return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                     "field \"currency\": 3 letters A-Z (ISO 4217), with cash_per_share");
  } else if (t->type == CORPACT_CASH_DIVIDEND) {
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                   "field \"cash_per_share\": a cash_dividend needs cash_per_share and "
                   "currency");
  } else if (t->currency[0] != '\0') {
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT, "field \"currency\": only with cash_per_share");
  }
  if (t->new_symbol[0] != '\0') {
    if (t->type != CORPACT_SYMBOL_CHANGE && t->type != CORPACT_MERGER)
      return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT, "field \"new_symbol\": not for a %s", tn);
    if (!symbol_ok(t->new_symbol))
      return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT, "field \"new_symbol\": 1-16 of A-Z 0-9 .");
  } else if (t->type == CORPACT_SYMBOL_CHANGE) {
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                   "field \"new_symbol\": a symbol_change needs new_symbol");
  }
  return 0;
}

static int dates_times_check(const struct corpact_terms *t, char *why, size_t wsz)
{
  int32_t ex = t->ex_date, rec = t->record_date, pay = t->pay_date;
  if (ex != CORPACT_DATE_NONE && rec != CORPACT_DATE_NONE && ex > rec)
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                   "field \"ex_date\": must not be after record_date");
  if (rec != CORPACT_DATE_NONE && pay != CORPACT_DATE_NONE && rec > pay)
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                   "field \"pay_date\": must not be before record_date");
  if (ex != CORPACT_DATE_NONE && pay != CORPACT_DATE_NONE && ex > pay)
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                   "field \"pay_date\": must not be before ex_date");
  if (t->effective_ms == CORPACT_TIME_NONE)
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT, "field \"effective_at\": required");
  if (t->window_start_ms != CORPACT_TIME_NONE && t->window_start_ms > t->effective_ms)
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                   "field \"window_start\": must not be after effective_at");
  if (t->window_end_ms != CORPACT_TIME_NONE && t->window_end_ms < t->effective_ms)
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                   "field \"window_end\": must not be before effective_at");
  if (t->window_start_ms != CORPACT_TIME_NONE && t->window_end_ms != CORPACT_TIME_NONE &&
      t->window_start_ms >= t->window_end_ms)
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT,
                   "field \"window_end\": must be after window_start");
  return 0;
}

int corpact_terms_check(const struct corpact_terms *t, char *why, size_t wsz)
{
  if ((unsigned)t->type >= CORPACT_TYPE_COUNT)
    return kv_fail(why, wsz, -ERR_INVALID_ARGUMENT, "field \"type\": unknown");
  int rc = ratio_check(t, why, wsz);
  if (rc == 0)
    rc = cash_symbol_check(t, why, wsz);
  if (rc == 0)
    rc = dates_times_check(t, why, wsz);
  return rc;
}

static __int128 gcd128(__int128 a, __int128 b)
{
  while (b != 0) {
    __int128 r = a % b;
    a = b;
    b = r;
  }
  return a;
}

int corpact_multiplier(struct money old, struct money ratio_new, struct money ratio_old,
                       struct money *out)
{
  struct money rn, ro, prod, m;
  /* numeric(38, 18) holds values below 10^20. */
  const struct money limit = {.v = (__int128)100000000000000000LL * 1000, .scale = 0};
  if (old.v <= 0 || ratio_new.v <= 0 || ratio_old.v <= 0)
    return -ERR_INVALID_ARGUMENT;
  /* The ratio as a fraction of integers in lowest terms (both at one scale first). */
  int rc = money_rescale(ratio_new, CORPACT_RATIO_SCALE, MONEY_ROUND_EXACT, &rn);
  if (rc == 0)
    rc = money_rescale(ratio_old, CORPACT_RATIO_SCALE, MONEY_ROUND_EXACT, &ro);
  if (rc != 0)
    return -ERR_INVALID_ARGUMENT;
  __int128 g = gcd128(rn.v, ro.v);
  rn.v /= g;
  ro.v /= g;
  rn.scale = ro.scale = 0;
  /* old x numerator is exact at old's scale; one rounding, in the division. */
  rc = money_mul(old, rn, old.scale, MONEY_ROUND_EXACT, &prod);
  if (rc == 0)
    rc = money_div(prod, ro, CORPACT_MULT_SCALE, MONEY_ROUND_HALF_EVEN, &m);
  if (rc != 0)
    return rc == -ERR_MONEY_SCALE ? rc : -ERR_MONEY_OVERFLOW;
  if (m.v <= 0 || money_cmp(m, limit) >= 0)
    return -ERR_INVALID_ARGUMENT;
  *out = m;
  return 0;
}

int corpact_figures(struct money raw, struct money multiplier, struct corpact_supply *out)
{
  struct money shown, owed;
  int rc = money_mul(raw, multiplier, CORPACT_MULT_SCALE, MONEY_ROUND_DOWN, &shown);
  if (rc == 0)
    rc = money_mul(raw, multiplier, ISSUANCE_QTY_SCALE, MONEY_ROUND_UP, &owed);
  if (rc != 0)
    return rc == -ERR_MONEY_SCALE ? rc : -ERR_MONEY_OVERFLOW;
  out->raw_supply = raw;
  out->multiplier = multiplier;
  out->displayed_supply = shown;
  out->liability_shares = owed;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

static int col_money(PGresult *r, int row, int col, unsigned scale, bool *has, struct money *out)
{
  if (PQgetisnull(r, row, col)) {
    if (has != NULL)
      *has = false;
    out->v = 0;
    out->scale = (uint8_t)scale;
    return 0;
  }
  if (has != NULL)
    *has = true;
  return issuance__num_money(PQgetvalue(r, row, col), scale, out) == 0 ? 0 : -ERR_INTERNAL;
}

static void col_text(PGresult *r, int row, int col, char *out, size_t size)
{
  out[0] = '\0';
  if (!PQgetisnull(r, row, col))
    util_strlcpy(out, PQgetvalue(r, row, col), size);
}

static int32_t col_day(PGresult *r, int row, int col)
{
  return PQgetisnull(r, row, col) ? CORPACT_DATE_NONE
                                  : (int32_t)strtol(PQgetvalue(r, row, col), NULL, 10);
}

static int64_t col_ms(PGresult *r, int row, int col)
{
  return PQgetisnull(r, row, col) ? CORPACT_TIME_NONE : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int corpact__row(PGresult *r, int row, struct corpact *out)
{
  struct corpact a;
  bool has_cash = false, has_old = false, has_new = false;
  int rc = 0;
  memset(&a, 0, sizeof a);
  a.id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
  a.instrument = strtoll(PQgetvalue(r, row, 1), NULL, 10);
  col_text(r, row, 2, a.symbol, sizeof a.symbol);
  if (corpact_type_parse(PQgetvalue(r, row, 3), &a.terms.type) != 0)
    rc = -ERR_INTERNAL;
  rc = rc != 0 ? rc
               : col_money(r, row, 4, CORPACT_RATIO_SCALE, &a.terms.has_ratio, &a.terms.ratio_old);
  rc = rc != 0 ? rc : col_money(r, row, 5, CORPACT_RATIO_SCALE, NULL, &a.terms.ratio_new);
  rc = rc != 0 ? rc : col_money(r, row, 6, CORPACT_CASH_SCALE, &has_cash, &a.terms.cash_per_share);
  a.terms.has_cash = has_cash;
  col_text(r, row, 7, a.terms.currency, sizeof a.terms.currency);
  col_text(r, row, 8, a.terms.new_symbol, sizeof a.terms.new_symbol);
  col_text(r, row, 9, a.old_symbol, sizeof a.old_symbol);
  a.terms.record_date = col_day(r, row, 10);
  a.terms.ex_date = col_day(r, row, 11);
  a.terms.pay_date = col_day(r, row, 12);
  a.terms.effective_ms = col_ms(r, row, 13);
  a.terms.window_start_ms = col_ms(r, row, 14);
  a.terms.window_end_ms = col_ms(r, row, 15);
  rc = rc != 0 ? rc : col_money(r, row, 16, CORPACT_MULT_SCALE, &has_old, &a.old_multiplier);
  rc = rc != 0 ? rc : col_money(r, row, 17, CORPACT_MULT_SCALE, &has_new, &a.new_multiplier);
  a.has_multipliers = has_old && has_new;
  if (rc == 0 && corpact_status_parse(PQgetvalue(r, row, 18), &a.status) != 0)
    rc = -ERR_INTERNAL;
  col_text(r, row, 19, a.attention, sizeof a.attention);
  a.created_by = PQgetisnull(r, row, 20) ? 0 : strtoll(PQgetvalue(r, row, 20), NULL, 10);
  a.created_ms = col_ms(r, row, 21);
  a.updated_ms = col_ms(r, row, 22);
  a.applied_ms = col_ms(r, row, 23);
  if (rc != 0) {
    log_bug("corpact", "corporate action %lld: a stored value does not fit", (long long)a.id);
    return rc;
  }
  *out = a;
  return 0;
}

int corpact_get(struct db_conn *c, int64_t id, bool lock, struct corpact *out)
{
  char b[ISS_I64_TXT];
  const char *p[] = {corpact__ms_text(id, b)};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, lock ? &q_get_lock : &q_get, p, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == DB_QS_NONE)
    return -ERR_API_NOT_FOUND;
  int rc = corpact__row(r, 0, out);
  PQclear(r);
  return rc;
}

int corpact_list(struct db_conn *c, int64_t instrument, int64_t after, struct corpact *out,
                 size_t max)
{
  char bi[ISS_I64_TXT], ba[ISS_I64_TXT], bm[ISS_I64_TXT];
  if (max == 0)
    return 0;
  const char *p[] = {corpact__ms_text(instrument, bi), corpact__ms_text(after, ba),
                     corpact__ms_text((int64_t)max, bm)};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_list, p, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == DB_QS_NONE)
    return 0;
  int n = PQntuples(r), rc = 0;
  for (int i = 0; i < n && (size_t)i < max && rc == 0; i++)
    rc = corpact__row(r, i, &out[i]);
  PQclear(r);
  return rc != 0 ? rc : n;
}

int corpact_window_at(struct db_conn *c, int64_t instrument, int64_t at_ms, int64_t *action_id)
{
  char bi[ISS_I64_TXT], bt[ISS_I64_TXT];
  const char *p[] = {corpact__ms_text(instrument, bi),
                     at_ms == CORPACT_TIME_NONE ? NULL : corpact__ms_text(at_ms, bt)};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_window, p, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  int64_t id = 0;
  if (qs > 0) {
    id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
  }
  if (action_id != NULL)
    *action_id = id;
  return id != 0 ? 1 : 0;
}

int corpact_window_in(struct db_conn *c, int64_t instrument, int64_t *action_id)
{
  return corpact_window_at(c, instrument, CORPACT_TIME_NONE, action_id);
}
