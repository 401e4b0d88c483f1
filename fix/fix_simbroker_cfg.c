/*
 * The simulated broker's configuration and arithmetic (fix.h, section
 * "Simulated broker"; docs/simbroker.md): behaviour specs, the keys of the
 * "key = value" file and BACKSTOCK_SIM_* variables (whose lines and
 * variables common/common_kv.c walks), the exact running totals of an
 * order (CumQty, LeavesQty, AvgPx), how a partial:<n> order is cut into
 * fills, and the trade and settlement dates.  No I/O besides reading the
 * configuration file; fix_simbroker.c holds the application.
 *
 * Quantities and prices are exact decimals at scale 6, amounts (quantity
 * x price) at scale 12; AvgPx is rounded half-even to scale 6.
 */
#include <stdlib.h>
#include <string.h>

#include "fix/fix.h"

#define QTY_SCALE 6
#define AMT_SCALE 12

/* ------------------------------------------------------------------ */
/* Behaviour specs                                                     */
/* ------------------------------------------------------------------ */

static const char *const kind_names[] = {
    [FIX_SIM_FILL] = "fill",
    [FIX_SIM_PARTIAL] = "partial",
    [FIX_SIM_REJECT] = "reject",
    [FIX_SIM_CANCEL] = "cancel",
    [FIX_SIM_EXPIRE] = "expire",
    [FIX_SIM_ACK_DELAY] = "ack_delay",
    [FIX_SIM_DISCONNECT] = "disconnect",
    [FIX_SIM_DUPLICATE] = "duplicate",
    [FIX_SIM_SILENT] = "silent",
    [FIX_SIM_BUST] = "bust",
    [FIX_SIM_CORRECT] = "correct",
};
#define N_KINDS (sizeof kind_names / sizeof kind_names[0])

int fix_sim_behaviour_parse(const char *s, size_t len, struct fix_sim_behaviour *out)
{
  const char *colon = memchr(s, ':', len);
  size_t nl = colon != NULL ? (size_t)(colon - s) : len;
  struct fix_sim_behaviour b = {0};
  size_t k;
  for (k = 0; k < N_KINDS; k++)
    if (strlen(kind_names[k]) == nl && memcmp(kind_names[k], s, nl) == 0)
      break;
  if (k == N_KINDS)
    return -ERR_CFG_VALUE;
  b.kind = (enum fix_sim_kind)k;
  if (b.kind == FIX_SIM_PARTIAL) {
    const char *a = colon != NULL ? colon + 1 : NULL;
    const char *c2 = a != NULL ? memchr(a, ':', (size_t)(s + len - a)) : NULL;
    if (c2 == NULL || kv_parse_uint(a, (size_t)(c2 - a), 1, 1000, &b.n) != 0 ||
        kv_parse_uint(c2 + 1, (size_t)(s + len - c2 - 1), 0, 86400000, &b.ms) != 0)
      return -ERR_CFG_VALUE;
  } else if (b.kind == FIX_SIM_ACK_DELAY) {
    if (colon == NULL ||
        kv_parse_uint(colon + 1, (size_t)(s + len - colon - 1), 0, 86400000, &b.ms))
      return -ERR_CFG_VALUE;
  } else if (colon != NULL) {
    return -ERR_CFG_VALUE;
  }
  *out = b;
  return 0;
}

void fix_sim_behaviour_format(const struct fix_sim_behaviour *b, char buf[FIX_SIM_SPEC_MAX])
{
  const char *name = (size_t)b->kind < N_KINDS ? kind_names[b->kind] : "fill";
  if (b->kind == FIX_SIM_PARTIAL)
    snprintf(buf, FIX_SIM_SPEC_MAX, "%s:%u:%u", name, b->n, b->ms);
  else if (b->kind == FIX_SIM_ACK_DELAY)
    snprintf(buf, FIX_SIM_SPEC_MAX, "%s:%u", name, b->ms);
  else
    snprintf(buf, FIX_SIM_SPEC_MAX, "%s", name);
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

void fix_sim_cfg_init(struct fix_sim_cfg *c)
{
  memset(c, 0, sizeof *c);
  memcpy(c->listen_host, "127.0.0.1", 10);
  c->listen_port = 9878;
  memcpy(c->sender, "BROKER", 7);
  memcpy(c->targets[0], "BACKSTOCK", 10);
  c->n_targets = 1;
  c->max_skew_s = 120;
  c->reset_minute = 17 * 60;
  memcpy(c->tz, "America/New_York", 17);
  c->settle_days = 1;
  c->default_behaviour.kind = FIX_SIM_FILL;
  c->log_level = LOGL_INFO;
}

static void set_url(struct fix_sim_cfg *c, char *url)
{
  if (c->database_url != NULL) {
    explicit_bzero(c->database_url, strlen(c->database_url));
    free(c->database_url);
  }
  c->database_url = url;
}

void fix_sim_cfg_free(struct fix_sim_cfg *c)
{
  if (c == NULL)
    return;
  set_url(c, NULL);
  free(c->symbols);
  c->symbols = NULL;
  c->n_symbols = c->cap_symbols = 0;
}

static bool charset(const char *s, size_t n, const char *extra)
{
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    bool alnum = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
    if (!alnum && (ch == '\0' || strchr(extra, ch) == NULL))
      return false;
  }
  return n > 0;
}

/* A CompID: 1..63 printable characters, no space, '=' or ','. */
static bool valid_compid(const char *s, size_t n)
{
  if (n == 0 || n >= FIX_COMPID_MAX)
    return false;
  for (size_t i = 0; i < n; i++)
    if (s[i] <= ' ' || s[i] > '~' || s[i] == '=' || s[i] == ',')
      return false;
  return true;
}

static int set_targets(struct fix_sim_cfg *c, const char *v)
{
  char t[FIX_SIM_TARGETS_MAX][FIX_COMPID_MAX];
  size_t n = 0;
  for (const char *p = v;; p++) {
    const char *e = strchr(p, ',');
    size_t len = e != NULL ? (size_t)(e - p) : strlen(p);
    while (len > 0 && p[0] == ' ')
      p++, len--;
    while (len > 0 && p[len - 1] == ' ')
      len--;
    if (n == FIX_SIM_TARGETS_MAX || !valid_compid(p, len))
      return -ERR_CFG_VALUE;
    memcpy(t[n], p, len);
    t[n][len] = '\0';
    for (size_t i = 0; i < n; i++)
      if (strcmp(t[i], t[n]) == 0)
        return -ERR_CFG_VALUE;
    n++;
    if (e == NULL)
      break;
    p = e;
  }
  memcpy(c->targets, t, sizeof t);
  c->n_targets = n;
  return 0;
}

static struct fix_sim_symbol *symbol_entry(struct fix_sim_cfg *c, const char *sym)
{
  for (size_t i = 0; i < c->n_symbols; i++)
    if (strcmp(c->symbols[i].symbol, sym) == 0)
      return &c->symbols[i];
  if (c->n_symbols == c->cap_symbols) {
    size_t cap = c->cap_symbols ? c->cap_symbols * 2 : 16;
    struct fix_sim_symbol *s = realloc(c->symbols, cap * sizeof *s);
    if (s == NULL)
      return NULL;
    c->symbols = s;
    c->cap_symbols = cap;
  }
  struct fix_sim_symbol *e = &c->symbols[c->n_symbols++];
  memset(e, 0, sizeof *e);
  memcpy(e->symbol, sym, strlen(sym) + 1);
  return e;
}

int fix_sim_cfg_set(struct fix_sim_cfg *c, const char *key, const char *v, char *why, size_t wsz)
{
  uint32_t u;
  for (const char *p = v; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: control character in the value", key);
  if (strcmp(key, "listen") == 0)
    return kv_parse_ipv4_port(v, c->listen_host, &c->listen_port) == 0
               ? 0
               : kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want IPv4-address:port", key);
  if (strcmp(key, "sender_comp_id") == 0) {
    if (!valid_compid(v, strlen(v)))
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want 1-63 printable characters", key);
    memcpy(c->sender, v, strlen(v) + 1);
    return 0;
  }
  if (strcmp(key, "target_comp_ids") == 0)
    return set_targets(c, v) == 0 ? 0
                                  : kv_fail(why, wsz, -ERR_CFG_VALUE,
                                            "%s: want 1-16 distinct comma-separated CompIDs", key);
  if (strcmp(key, "max_skew_s") == 0) {
    if (kv_parse_uint(v, strlen(v), 1, 86400, &c->max_skew_s) != 0)
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want seconds, 1-86400", key);
    return 0;
  }
  if (strcmp(key, "settle_days") == 0) {
    if (kv_parse_uint(v, strlen(v), 0, 30, &u) != 0)
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want business days, 0-30", key);
    c->settle_days = u;
    return 0;
  }
  if (strcmp(key, "reset_time") == 0) {
    unsigned h = 99, m = 99;
    if (strlen(v) == 5 && v[2] == ':' && charset(v, 2, "") && charset(v + 3, 2, "") &&
        v[0] <= '9' && v[1] <= '9' && v[3] <= '9' && v[4] <= '9') {
      h = (unsigned)(v[0] - '0') * 10 + (unsigned)(v[1] - '0');
      m = (unsigned)(v[3] - '0') * 10 + (unsigned)(v[4] - '0');
    }
    if (h > 23 || m > 59)
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want HH:MM", key);
    c->reset_minute = h * 60 + m;
    return 0;
  }
  if (strcmp(key, "time_zone") == 0) {
    if (strlen(v) >= sizeof c->tz || !charset(v, strlen(v), "_+-/") || v[0] == '/' ||
        strstr(v, "..") != NULL)
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want a zone name such as America/New_York",
                     key);
    memcpy(c->tz, v, strlen(v) + 1);
    return 0;
  }
  if (strcmp(key, "database_url") == 0) {
    char *dup = NULL;
    if (strlen(v) > 4096)
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: longer than 4096 bytes", key);
    if (v[0] != '\0' && (dup = strdup(v)) == NULL)
      return -ERR_NOMEM;
    set_url(c, dup);
    return 0;
  }
  if (strcmp(key, "log_level") == 0)
    return log_level_parse(v, &c->log_level) == 0
               ? 0
               : kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: want debug, info, warn or error", key);
  if (strcmp(key, "behaviour.default") == 0) {
    if (fix_sim_behaviour_parse(v, strlen(v), &c->default_behaviour) != 0)
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: not a behaviour spec", key);
    return 0;
  }
  bool price = strncmp(key, "price.", 6) == 0;
  if (price || strncmp(key, "behaviour.", 10) == 0) {
    const char *sym = key + (price ? 6 : 10);
    struct fix_sim_behaviour b;
    struct money px;
    if (strlen(sym) >= FIX_SIM_SYMBOL_MAX || !charset(sym, strlen(sym), "./_-"))
      return kv_fail(why, wsz, -ERR_CFG_UNKNOWN_KEY, "%s: not a symbol (A-Z a-z 0-9 . / _ -)", key);
    if (price && (money_parse(v, strlen(v), QTY_SCALE, 0, &px) != 0 || px.v <= 0))
      return kv_fail(why, wsz, -ERR_CFG_VALUE,
                     "%s: want a positive decimal with at most 6 fraction digits", key);
    if (!price && fix_sim_behaviour_parse(v, strlen(v), &b) != 0)
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s: not a behaviour spec", key);
    struct fix_sim_symbol *e = symbol_entry(c, sym);
    if (e == NULL)
      return -ERR_NOMEM;
    if (price) {
      e->has_price = true;
      e->price = px;
    } else {
      e->has_behaviour = true;
      e->behaviour = b;
    }
    return 0;
  }
  return kv_fail(why, wsz, -ERR_CFG_UNKNOWN_KEY, "%s: unknown key", key);
}

static int apply(void *c, const char *key, const char *v, char *why, size_t wsz)
{
  return fix_sim_cfg_set(c, key, v, why, wsz);
}

/* As apply(); BACKSTOCK_SIM_BEHAVIOUR.DEFAULT names behaviour.default, not a symbol DEFAULT. */
static int apply_env(void *c, const char *key, const char *v, char *why, size_t wsz)
{
  return fix_sim_cfg_set(c, strcmp(key, "behaviour.DEFAULT") == 0 ? "behaviour.default" : key, v,
                         why, wsz);
}

int fix_sim_cfg_load_text(struct fix_sim_cfg *c, const char *text, size_t len, unsigned *line_out,
                          char *why, size_t wsz)
{
  return kv_load_text(text, len, KV_LINE_MAX, apply, c, line_out, why, wsz);
}

int fix_sim_cfg_load_file(struct fix_sim_cfg *c, const char *path, unsigned *line_out, char *why,
                          size_t wsz)
{
  return kv_load_file(path, KV_LINE_MAX, apply, c, line_out, why, wsz);
}

int fix_sim_cfg_load_env(struct fix_sim_cfg *c, char *const *envp, const char **bad_out, char *why,
                         size_t wsz)
{
  int rc = kv_load_env_var(envp, "BACKSTOCK_DATABASE_URL", "database_url", apply_env, c, bad_out,
                           why, wsz);
  return rc != 0 ? rc : kv_load_env(envp, "BACKSTOCK_SIM_", apply_env, c, bad_out, why, wsz);
}

int fix_sim_cfg_check(const struct fix_sim_cfg *c, char *why, size_t wsz)
{
  if (c->database_url == NULL)
    return kv_fail(why, wsz, -ERR_CFG_VALUE, "%s",
                   "no database: set database_url or BACKSTOCK_DATABASE_URL");
  for (size_t i = 0; i < c->n_targets; i++)
    if (strcmp(c->targets[i], c->sender) == 0)
      return kv_fail(why, wsz, -ERR_CFG_VALUE, "target_comp_ids: %s is the sender_comp_id",
                     c->sender);
  return c->n_targets > 0 ? 0 : kv_fail(why, wsz, -ERR_CFG_VALUE, "%s", "no target_comp_ids");
}

const struct fix_sim_symbol *fix_sim_cfg_symbol(const struct fix_sim_cfg *c, const char *symbol)
{
  for (size_t i = 0; i < c->n_symbols; i++)
    if (strcmp(c->symbols[i].symbol, symbol) == 0)
      return &c->symbols[i];
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Arithmetic: totals, partial fills, dates                            */
/* ------------------------------------------------------------------ */

static struct money mzero(unsigned scale)
{
  struct money m = {0, (uint8_t)scale};
  return m;
}

void fix_sim_totals_init(struct fix_sim_totals *t, struct money order_qty)
{
  t->cum_qty = mzero(QTY_SCALE);
  t->leaves_qty = order_qty;
  t->amount = mzero(AMT_SCALE);
  t->avg_px = mzero(QTY_SCALE);
}

int fix_sim_totals_fill(struct fix_sim_totals *t, struct money qty, struct money px)
{
  struct fix_sim_totals n;
  struct money value;
  int rc;
  if (money_cmp(qty, t->leaves_qty) > 0)
    return -ERR_INVALID_ARGUMENT;
  if ((rc = money_mul(qty, px, AMT_SCALE, MONEY_ROUND_EXACT, &value)) != 0 ||
      (rc = money_add(t->cum_qty, qty, &n.cum_qty)) != 0 ||
      (rc = money_sub(t->leaves_qty, qty, &n.leaves_qty)) != 0 ||
      (rc = money_add(t->amount, value, &n.amount)) != 0 ||
      (rc = money_rescale(n.amount, AMT_SCALE, MONEY_ROUND_EXACT, &n.amount)) != 0)
    return rc;
  if (n.cum_qty.v < 0)
    return -ERR_INVALID_ARGUMENT;
  if (n.cum_qty.v == 0)
    n.avg_px = mzero(QTY_SCALE);
  else if ((rc = money_div(n.amount, n.cum_qty, QTY_SCALE, MONEY_ROUND_HALF_EVEN, &n.avg_px)) != 0)
    return rc;
  *t = n;
  return 0;
}

int fix_sim_split(struct money qty, uint32_t n, uint32_t k, struct money *part, uint32_t *n_eff)
{
  struct money q;
  if (qty.v <= 0 || n == 0 || money_rescale(qty, QTY_SCALE, MONEY_ROUND_EXACT, &q) != 0)
    return -ERR_INVALID_ARGUMENT;
  __int128 unit = 1000000; /* the order's own last digit: shares, then tenths, ... */
  while (q.v % unit != 0)
    unit /= 10;
  __int128 units = q.v / unit;
  uint32_t ne = units < (__int128)n ? (uint32_t)units : n;
  if (k == 0 || k > ne)
    return -ERR_INVALID_ARGUMENT;
  __int128 base = units / ne;
  __int128 mine = k < ne ? base : units - base * (ne - 1);
  part->v = mine * unit;
  part->scale = QTY_SCALE;
  *n_eff = ne;
  return 0;
}

int fix_sim_settle_date(const struct cal *cal, int32_t trade_day, unsigned settle_days,
                        int32_t *out)
{
  return cal_add_business_days(cal, trade_day, (int)settle_days, out);
}

static int64_t floor_div(int64_t a, int64_t b)
{
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int fix_sim_trade_day(int64_t unix_ms, int32_t *day)
{
  int64_t s = floor_div(unix_ms, 1000);
  int32_t utc_day = (int32_t)floor_div(s, 86400), mar1, nov1;
  int y;
  unsigned mo, d;
  cal_civil(utc_day, &y, &mo, &d);
  if (cal_day(y, 3, 1, &mar1) != 0 || cal_day(y, 11, 1, &nov1) != 0)
    return -ERR_CAL_DATE_RANGE;
  /* EDT from the second Sunday of March, 2:00 EST (07:00 UTC), to the
     first Sunday of November, 2:00 EDT (06:00 UTC). */
  int64_t dst_on = ((int64_t)mar1 + (7 - cal_weekday(mar1)) % 7 + 7) * 86400 + 7 * 3600;
  int64_t dst_off = ((int64_t)nov1 + (7 - cal_weekday(nov1)) % 7) * 86400 + 6 * 3600;
  int64_t offset = s >= dst_on && s < dst_off ? -4 * 3600 : -5 * 3600;
  *day = (int32_t)floor_div(s + offset, 86400);
  return 0;
}
