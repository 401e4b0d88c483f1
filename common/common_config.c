/*
 * Configuration: defaults, then a file of "key = value" lines, then
 * BACKSTOCK_* environment variables.  One table (keys[]) names every key,
 * its variable, its default and its documentation; the README's table is
 * checked against it by a test, so the two cannot drift apart.
 *
 * Values are validated when set: a bad value or an unknown key is an
 * error with the key's name, never ignored.  The file's lines are walked
 * by common_kv.c; the variables are matched against the table here.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/common.h"

static const struct cfg_key keys[] = {
    {"listen", "BACKSTOCK_LISTEN", "127.0.0.1:8080",
     "HTTP listen address, host:port ([v6]:port for IPv6; port 0 picks a free one)"},
    {"data_dir", "BACKSTOCK_DATA_DIR", "./var",
     "folder for the service's data, including the embedded PostgreSQL cluster"},
    {"database_url", "BACKSTOCK_DATABASE_URL", "",
     "libpq URL or conninfo of an external PostgreSQL; empty runs the embedded one"},
    {"pg_bindir", "BACKSTOCK_PG_BINDIR", "",
     "folder of initdb/pg_ctl for the embedded cluster; empty searches the usual places"},
    {"calendar_file", "BACKSTOCK_CALENDAR_FILE", "",
     "extra market closures (YYYY-MM-DD per line) added to the built-in NYSE calendar"},
    {"log_level", "BACKSTOCK_LOG_LEVEL", "info", "debug, info, warn or error"},
    {"log_format", "BACKSTOCK_LOG_FORMAT", "text", "text or json (one JSON object per line)"},
    {"db_max_retries", "BACKSTOCK_DB_MAX_RETRIES", "10",
     "attempts of a transaction that meets serialization failures or deadlocks (1-1000)"},
    {"db_pool_size", "BACKSTOCK_DB_POOL_SIZE", "4", "database connections held by the API (1-256)"},
    {"http_threads", "BACKSTOCK_HTTP_THREADS", "4", "HTTP worker threads (1-256)"},
    {"broker", "BACKSTOCK_BROKER", "127.0.0.1:9878",
     "the broker's FIX acceptor the connector logs on to, host:port"},
    {"broker_sender_comp_id", "BACKSTOCK_BROKER_SENDER_COMP_ID", "BACKSTOCK",
     "our FIX CompID (49 on what the connector sends)"},
    {"broker_target_comp_id", "BACKSTOCK_BROKER_TARGET_COMP_ID", "BROKER",
     "the broker's FIX CompID (56 on what the connector sends)"},
    {"broker_account", "BACKSTOCK_BROKER_ACCOUNT", "RESERVE",
     "the account at the broker (tag 1 on orders)"},
    {"fix_heartbeat_s", "BACKSTOCK_FIX_HEARTBEAT_S", "30",
     "FIX HeartBtInt the connector proposes, seconds (1-3600)"},
    {"fix_reset_time", "BACKSTOCK_FIX_RESET_TIME", "17:00",
     "local time (HH:MM) of the daily FIX sequence reset"},
    {"fix_time_zone", "BACKSTOCK_FIX_TIME_ZONE", "America/New_York",
     "time zone of fix_reset_time (a tz database name)"},
    {"fix_rate_per_s", "BACKSTOCK_FIX_RATE_PER_S", "50",
     "outbound FIX application messages per second (0-100000, 0 = unlimited)"},
    {"fix_reset_on_logon", "BACKSTOCK_FIX_RESET_ON_LOGON", "false",
     "true: every Logon asks for sequence numbers 1 (141=Y)"},
    {"custody_servicers", "BACKSTOCK_CUSTODY_SERVICERS", "",
     "allow-listed account servicers (BICs), comma-separated; empty refuses every document"},
    {"custody_accounts", "BACKSTOCK_CUSTODY_ACCOUNTS", "",
     "allow-listed safekeeping accounts, comma-separated; empty refuses every document"},
    {"custody_drop_dir", "BACKSTOCK_CUSTODY_DROP_DIR", "custody-in",
     "drop folder of custodian documents (relative: under data_dir); empty: no drop folder"},
    {"custody_feed_url", "BACKSTOCK_CUSTODY_FEED_URL", "",
     "custodian listing URL polled by `custody poll` (https; http only to 127.0.0.1)"},
    {"custody_feed_token", "BACKSTOCK_CUSTODY_FEED_TOKEN", "",
     "bearer token sent to the custodian feed (secret: shown as ***)"},
    {"custody_poll_ms", "BACKSTOCK_CUSTODY_POLL_MS", "2000",
     "pause between passes of the drop folder and the HTTP feed, ms (10-3600000)"},
    {"custody_max_bytes", "BACKSTOCK_CUSTODY_MAX_BYTES", "536870912",
     "largest custodian document accepted, bytes (1024-68719476736)"},
    {"serve_engine", "BACKSTOCK_SERVE_ENGINE", "true",
     "true: `serve` also runs the order engine, the settlement worker and the custody feed"},
    {"engine_poll_ms", "BACKSTOCK_ENGINE_POLL_MS", "1000",
     "longest pause between passes of the order engine when nothing wakes it, ms (10-600000)"},
    {"engine_batch", "BACKSTOCK_ENGINE_BATCH", "100",
     "most orders, executions or settlement items one engine step handles per pass (1-10000)"},
    {"settlement_retry_s", "BACKSTOCK_SETTLEMENT_RETRY_S", "900",
     "clock seconds before an unconfirmed settlement item is tried again (1-86400)"},
    {"settlement_escalate_days", "BACKSTOCK_SETTLEMENT_ESCALATE_DAYS", "3",
     "NYSE business days after its settlement date before an unconfirmed item needs attention "
     "(0-250)"},
    {"redemption_address", "BACKSTOCK_REDEMPTION_ADDRESS",
     "0x00000000000000000000000000000000000bac57",
     "the issuer's address that redeemed tokens are escrowed at and burned from (0x + 40 hex)"},
    {"attestation_key_dir", "BACKSTOCK_ATTESTATION_KEY_DIR", "keys",
     "folder of the attestation signing keys, mode 0700 (relative: under data_dir)"},
    {"attestation_tree_height", "BACKSTOCK_ATTESTATION_TREE_HEIGHT", "20",
     "height of each attestation's Merkle sum tree, room for 2^height holders (1-40); fixed so "
     "the tree does not reveal the number of holders"},
    {"recon_tolerance_tokens", "BACKSTOCK_RECON_TOLERANCE_TOKENS", "0",
     "tolerance of the reconciler's contractual coverage, in token base units (0-10^18); settled "
     "shares have none"},
};

#define N_KEYS (sizeof keys / sizeof keys[0])

const struct cfg_key *cfg_keys(size_t *n)
{
  *n = N_KEYS;
  return keys;
}

void cfg_init(struct cfg *c)
{
  memset(c, 0, sizeof *c);
  for (size_t i = 0; i < N_KEYS; i++)
    if (cfg_set(c, keys[i].key, keys[i].def) != 0)
      abort(); /* a default that does not parse is a broken invariant */
}

/* Wipe and free a secret string. */
static void free_secret(char **p)
{
  if (*p != NULL) {
    sodium_memzero(*p, strlen(*p));
    free(*p);
    *p = NULL;
  }
}

void cfg_free(struct cfg *c)
{
  if (c == NULL)
    return;
  free_secret(&c->database_url);
  free_secret(&c->custody_feed_token);
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
  char *end;
  if (*s < '0' || *s > '9')
    return -ERR_CFG_VALUE;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi)
    return -ERR_CFG_VALUE;
  *out = (unsigned)v;
  return 0;
}

/*
 * A host is a name or IPv4 literal ([A-Za-z0-9._-]) or, inside brackets,
 * an IPv6 literal with an optional zone ([0-9A-Fa-f:.] then %zone).
 */
static bool valid_host(const char *h, size_t n, bool v6)
{
  bool zone = false;
  for (size_t i = 0; i < n; i++) {
    char ch = h[i];
    bool alnum = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
    if (v6 && ch == '%' && !zone && i > 0)
      zone = true;
    else if (v6 && !zone && !(alnum || ch == ':' || ch == '.'))
      return false;
    else if ((!v6 || zone) && !(alnum || ch == '.' || ch == '-' || ch == '_'))
      return false;
  }
  return n > 0;
}

/* host:port or [v6]:port into @host_out (CFG_STR_MAX) and *port_out. */
static int parse_hostport(const char *v, unsigned min_port, char *host_out, uint16_t *port_out)
{
  const char *colon;
  char host[CFG_STR_MAX];
  size_t hl;
  unsigned port;
  if (v[0] == '[') {
    const char *close = strchr(v, ']');
    if (close == NULL || close[1] != ':')
      return -ERR_CFG_VALUE;
    hl = (size_t)(close - v - 1);
    /* Brackets hold an IPv6 literal, which always has a colon. */
    if (hl >= sizeof host || !valid_host(v + 1, hl, true) || memchr(v + 1, ':', hl) == NULL)
      return -ERR_CFG_VALUE;
    memcpy(host, v + 1, hl);
    colon = close + 1;
  } else {
    colon = strrchr(v, ':');
    if (colon == NULL)
      return -ERR_CFG_VALUE;
    hl = (size_t)(colon - v);
    if (hl >= sizeof host || !valid_host(v, hl, false))
      return -ERR_CFG_VALUE;
    memcpy(host, v, hl);
  }
  host[hl] = '\0';
  if (parse_uint(colon + 1, min_port, 65535, &port) != 0)
    return -ERR_CFG_VALUE;
  memcpy(host_out, host, hl + 1);
  *port_out = (uint16_t)port;
  return 0;
}

static int parse_listen(struct cfg *c, const char *v)
{
  return parse_hostport(v, 0, c->listen_host, &c->listen_port);
}

/* A FIX CompID or account: 1-63 of letters, digits, '.', '_', '-'. */
static int set_id(char *dst, const char *v)
{
  size_t n = strlen(v);
  if (n < 1 || n >= CFG_ID_MAX)
    return -ERR_CFG_VALUE;
  for (size_t i = 0; i < n; i++) {
    char ch = v[i];
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
          ch == '.' || ch == '_' || ch == '-'))
      return -ERR_CFG_VALUE;
  }
  memcpy(dst, v, n + 1);
  return 0;
}

/* A tz database name: "UTC", "America/New_York", "Etc/GMT+5" (no "..", no leading '/'). */
static int set_tz(char *dst, const char *v)
{
  size_t n = strlen(v);
  if (n < 1 || n >= CFG_ID_MAX || v[0] == '/' || strstr(v, "..") != NULL)
    return -ERR_CFG_VALUE;
  for (size_t i = 0; i < n; i++) {
    char ch = v[i];
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
          ch == '/' || ch == '_' || ch == '-' || ch == '+' || ch == '.'))
      return -ERR_CFG_VALUE;
  }
  memcpy(dst, v, n + 1);
  return 0;
}

/* "HH:MM", 00:00 to 23:59, as minutes after midnight. */
static int parse_hhmm(const char *v, unsigned *out)
{
  for (int i = 0; i < 5; i++)
    if (i == 2 ? v[i] != ':' : (v[i] < '0' || v[i] > '9'))
      return -ERR_CFG_VALUE;
  unsigned h = (unsigned)(v[0] - '0') * 10 + (unsigned)(v[1] - '0');
  unsigned m = (unsigned)(v[3] - '0') * 10 + (unsigned)(v[4] - '0');
  if (v[5] != '\0' || h > 23 || m > 59)
    return -ERR_CFG_VALUE;
  *out = h * 60 + m;
  return 0;
}

static int set_path(char *dst, size_t size, const char *v, int allow_empty)
{
  if (!allow_empty && v[0] == '\0')
    return -ERR_CFG_VALUE;
  if (strlen(v) >= size)
    return -ERR_CFG_VALUE;
  memcpy(dst, v, strlen(v) + 1);
  return 0;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
  char *end;
  if (*s < '0' || *s > '9')
    return -ERR_CFG_VALUE;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi)
    return -ERR_CFG_VALUE;
  *out = v;
  return 0;
}

/* A comma list of ids (the custodian's Max35Text): each item at most 35 characters. */
static int set_list(char *dst, size_t size, const char *v)
{
  size_t item = 0;
  for (const char *p = v; *p != '\0'; p++) {
    if (*p == ',')
      item = 0;
    else if (*p != ' ' && ++item > 35)
      return -ERR_CFG_VALUE;
  }
  return set_path(dst, size, v, 1);
}

/*
 * Control characters, or spaces around a value, are mistakes (a pasted
 * newline, a quoted "value "): refused, so what cfg_print writes always
 * reads back the same.
 */
static bool clean_value(const char *v)
{
  size_t n = strlen(v);
  if (n > 0 && (v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t'))
    return false;
  for (; *v != '\0'; v++)
    if ((unsigned char)*v < 0x20 || *v == 0x7f)
      return false;
  return true;
}

static int set_by_index(struct cfg *c, size_t i, const char *v)
{
  const char *k = keys[i].key;
  if (!clean_value(v))
    return -ERR_CFG_VALUE;
  if (strcmp(k, "listen") == 0)
    return parse_listen(c, v);
  if (strcmp(k, "data_dir") == 0)
    return set_path(c->data_dir, sizeof c->data_dir, v, 0);
  if (strcmp(k, "pg_bindir") == 0)
    return set_path(c->pg_bindir, sizeof c->pg_bindir, v, 1);
  if (strcmp(k, "calendar_file") == 0)
    return set_path(c->calendar_file, sizeof c->calendar_file, v, 1);
  if (strcmp(k, "database_url") == 0) {
    char *dup = NULL;
    if (strlen(v) > 4096)
      return -ERR_CFG_VALUE;
    if (v[0] != '\0' && (dup = strdup(v)) == NULL)
      return -ERR_NOMEM;
    free_secret(&c->database_url);
    c->database_url = dup;
    return 0;
  }
  if (strcmp(k, "log_level") == 0)
    return log_level_parse(v, &c->log_level) == 0 ? 0 : -ERR_CFG_VALUE;
  if (strcmp(k, "log_format") == 0) {
    if (strcmp(v, "text") == 0)
      c->log_format = LOG_FORMAT_TEXT;
    else if (strcmp(v, "json") == 0)
      c->log_format = LOG_FORMAT_JSON;
    else
      return -ERR_CFG_VALUE;
    return 0;
  }
  if (strcmp(k, "db_max_retries") == 0)
    return parse_uint(v, 1, 1000, &c->db_max_retries);
  if (strcmp(k, "db_pool_size") == 0)
    return parse_uint(v, 1, 256, &c->db_pool_size);
  if (strcmp(k, "http_threads") == 0)
    return parse_uint(v, 1, 256, &c->http_threads);
  if (strcmp(k, "broker") == 0)
    return parse_hostport(v, 1, c->broker_host, &c->broker_port);
  if (strcmp(k, "broker_sender_comp_id") == 0)
    return set_id(c->broker_sender_comp_id, v);
  if (strcmp(k, "broker_target_comp_id") == 0)
    return set_id(c->broker_target_comp_id, v);
  if (strcmp(k, "broker_account") == 0)
    return set_id(c->broker_account, v);
  if (strcmp(k, "fix_heartbeat_s") == 0)
    return parse_uint(v, 1, 3600, &c->fix_heartbeat_s);
  if (strcmp(k, "fix_reset_time") == 0)
    return parse_hhmm(v, &c->fix_reset_minute);
  if (strcmp(k, "fix_time_zone") == 0)
    return set_tz(c->fix_time_zone, v);
  if (strcmp(k, "fix_rate_per_s") == 0)
    return parse_uint(v, 0, 100000, &c->fix_rate_per_s);
  if (strcmp(k, "fix_reset_on_logon") == 0) {
    if (strcmp(v, "true") == 0)
      c->fix_reset_on_logon = true;
    else if (strcmp(v, "false") == 0)
      c->fix_reset_on_logon = false;
    else
      return -ERR_CFG_VALUE;
    return 0;
  }
  if (strcmp(k, "custody_servicers") == 0)
    return set_list(c->custody_servicers, sizeof c->custody_servicers, v);
  if (strcmp(k, "custody_accounts") == 0)
    return set_list(c->custody_accounts, sizeof c->custody_accounts, v);
  if (strcmp(k, "custody_drop_dir") == 0)
    return set_path(c->custody_drop_dir, sizeof c->custody_drop_dir, v, 1);
  if (strcmp(k, "attestation_tree_height") == 0)
    return parse_uint(v, 1, 40, &c->attestation_tree_height);
  if (strcmp(k, "recon_tolerance_tokens") == 0)
    return parse_u64(v, 0, 1000000000000000000ull, &c->recon_tolerance_tokens);
  if (strcmp(k, "attestation_key_dir") == 0)
    return set_path(c->attestation_key_dir, sizeof c->attestation_key_dir, v, 0);
  if (strcmp(k, "custody_feed_url") == 0) {
    if (v[0] != '\0' && strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
      return -ERR_CFG_VALUE;
    if (strchr(v, ' ') != NULL)
      return -ERR_CFG_VALUE;
    return set_path(c->custody_feed_url, sizeof c->custody_feed_url, v, 1);
  }
  if (strcmp(k, "custody_feed_token") == 0) {
    char *dup = NULL;
    if (strlen(v) > 4096)
      return -ERR_CFG_VALUE;
    for (const char *p = v; *p != '\0'; p++)
      if (*p == ' ' || *p == '\t')
        return -ERR_CFG_VALUE; /* one word: it goes into an HTTP header */
    if (v[0] != '\0' && (dup = strdup(v)) == NULL)
      return -ERR_NOMEM;
    free_secret(&c->custody_feed_token);
    c->custody_feed_token = dup;
    return 0;
  }
  if (strcmp(k, "custody_poll_ms") == 0)
    return parse_uint(v, 10, 3600000, &c->custody_poll_ms);
  if (strcmp(k, "custody_max_bytes") == 0)
    return parse_u64(v, 1024, 68719476736ull, &c->custody_max_bytes);
  if (strcmp(k, "serve_engine") == 0) {
    if (strcmp(v, "true") == 0)
      c->serve_engine = true;
    else if (strcmp(v, "false") == 0)
      c->serve_engine = false;
    else
      return -ERR_CFG_VALUE;
    return 0;
  }
  if (strcmp(k, "engine_poll_ms") == 0)
    return parse_uint(v, 10, 600000, &c->engine_poll_ms);
  if (strcmp(k, "engine_batch") == 0)
    return parse_uint(v, 1, 10000, &c->engine_batch);
  if (strcmp(k, "settlement_retry_s") == 0)
    return parse_uint(v, 1, 86400, &c->settlement_retry_s);
  if (strcmp(k, "settlement_escalate_days") == 0)
    return parse_uint(v, 0, 250, &c->settlement_escalate_days);
  if (strcmp(k, "redemption_address") == 0) {
    /* 0x and 40 hex digits, kept in lower case; not the zero address. */
    char a[44];
    if (strlen(v) != 42 || v[0] != '0' || (v[1] != 'x' && v[1] != 'X'))
      return -ERR_CFG_VALUE;
    bool zero = true;
    for (size_t k2 = 0; k2 < 42; k2++) {
      char ch = v[k2];
      if (k2 >= 2) {
        if (ch >= 'A' && ch <= 'F')
          ch = (char)(ch - 'A' + 'a');
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
          return -ERR_CFG_VALUE;
        zero = zero && ch == '0';
      }
      a[k2] = k2 == 1 ? 'x' : ch;
    }
    a[42] = '\0';
    if (zero)
      return -ERR_CFG_VALUE;
    memcpy(c->redemption_address, a, sizeof a - 1);
    c->redemption_address[42] = '\0';
    return 0;
  }
  return -ERR_CFG_UNKNOWN_KEY;
}

int cfg_set(struct cfg *c, const char *key, const char *value)
{
  for (size_t i = 0; i < N_KEYS; i++)
    if (strcmp(key, keys[i].key) == 0 || strcmp(key, keys[i].env) == 0)
      return set_by_index(c, i, value);
  return -ERR_CFG_UNKNOWN_KEY;
}

static int apply(void *c, const char *key, const char *value, char *why, size_t wsz)
{
  (void)why;
  (void)wsz;
  return cfg_set(c, key, value);
}

/* The longest line: a path-sized value with room for its key. */
#define FILE_LINE_MAX (CFG_PATH_MAX + 64)

int cfg_load_text(struct cfg *c, const char *text, size_t len, unsigned *line_out)
{
  return kv_load_text(text, len, FILE_LINE_MAX, apply, c, line_out, NULL, 0);
}

int cfg_load_file(struct cfg *c, const char *path, unsigned *line_out)
{
  return kv_load_file(path, FILE_LINE_MAX, apply, c, line_out, NULL, 0);
}

int cfg_load_env(struct cfg *c, char *const *envp, const char **bad_out)
{
  static const char prefix[] = "BACKSTOCK_";
  /* Static so that *bad_out can name the variable after we return. */
  static _Thread_local char name[128];
  for (; *envp != NULL; envp++) {
    const char *e = *envp;
    if (strncmp(e, prefix, sizeof prefix - 1) != 0)
      continue;
    const char *eq = strchr(e, '=');
    if (eq == NULL)
      continue;
    if ((size_t)(eq - e) >= sizeof name) {
      if (bad_out != NULL)
        *bad_out = "a BACKSTOCK_ variable with an overlong name";
      return -ERR_CFG_UNKNOWN_KEY;
    }
    memcpy(name, e, (size_t)(eq - e));
    name[eq - e] = '\0';
    /* Not the service's keys: the config file's name, the tests', and the
     * API client's (docs/cli.md), which a shell exports next to them. */
    if (strcmp(name, "BACKSTOCK_CONFIG") == 0 || strncmp(name, "BACKSTOCK_TEST_", 15) == 0 ||
        strcmp(name, "BACKSTOCK_API_KEY") == 0 || strcmp(name, "BACKSTOCK_API_URL") == 0)
      continue;
    size_t i;
    for (i = 0; i < N_KEYS; i++)
      if (strcmp(name, keys[i].env) == 0)
        break;
    int rc = i == N_KEYS ? -ERR_CFG_UNKNOWN_KEY : set_by_index(c, i, eq + 1);
    if (rc != 0) {
      if (bad_out != NULL)
        *bad_out = i == N_KEYS ? name : keys[i].env;
      return rc;
    }
  }
  return 0;
}

/* Whether the keyword [k, k+n) is one whose value is a secret. */
static bool secret_key(const char *k, size_t n)
{
  return (n == 8 && strncmp(k, "password", 8) == 0) ||
         (n == 11 && strncmp(k, "sslpassword", 11) == 0);
}

/*
 * Write a libpq conninfo ("k = v k='v v'") with the values of password
 * and sslpassword replaced by "***", walking it keyword by keyword as
 * libpq does (spaces around '=', single-quoted values with backslashes).
 */
static void print_redacted_conninfo(const char *s, FILE *out)
{
  while (*s != '\0') {
    const char *k = s;
    while (*s == ' ' || *s == '\t' || *s == '\n')
      fputc(*s++, out);
    k = s;
    while (*s != '\0' && *s != '=' && *s != ' ' && *s != '\t')
      s++;
    size_t kn = (size_t)(s - k);
    fwrite(k, 1, kn, out);
    while (*s == ' ' || *s == '\t')
      fputc(*s++, out);
    if (*s != '=')
      continue;
    fputc(*s++, out);
    while (*s == ' ' || *s == '\t')
      fputc(*s++, out);
    const char *v = s;
    if (*s == '\'') {
      for (s++; *s != '\0' && *s != '\''; s++)
        if (*s == '\\' && s[1] != '\0')
          s++;
      if (*s == '\'')
        s++;
    } else {
      while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\n')
        s++;
    }
    if (secret_key(k, kn))
      fputs("***", out);
    else
      fwrite(v, 1, (size_t)(s - v), out);
  }
}

/*
 * Write a postgresql:// URL with the password of its user part and of
 * password= / sslpassword= query parameters replaced by "***".
 */
static void print_redacted_uri(const char *url, FILE *out)
{
  const char *auth = strstr(url, "://") + 3;
  const char *end = auth + strcspn(auth, "/?");
  const char *at = NULL;
  for (const char *p = auth; p < end; p++)
    if (*p == '@')
      at = p; /* the last '@' ends the user part */
  const char *colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
  if (colon != NULL) {
    fwrite(url, 1, (size_t)(colon - url), out);
    fputs(":***", out);
    url = at;
  }
  const char *q = strchr(url, '?');
  if (q == NULL) {
    fputs(url, out);
    return;
  }
  fwrite(url, 1, (size_t)(q - url), out);
  for (const char *p = q; *p != '\0';) {
    fputc(*p++, out); /* '?' or '&' */
    const char *k = p;
    p += strcspn(p, "=&");
    fwrite(k, 1, (size_t)(p - k), out);
    if (*p != '=')
      continue;
    fputc(*p++, out);
    const char *v = p;
    p += strcspn(p, "&");
    if (secret_key(k, (size_t)(v - 1 - k)))
      fputs("***", out);
    else
      fwrite(v, 1, (size_t)(p - v), out);
  }
}

static void print_redacted_url(const char *url, FILE *out)
{
  if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
    print_redacted_uri(url, out);
  else
    print_redacted_conninfo(url, out);
}

void cfg_print(const struct cfg *c, FILE *out)
{
  static const char *lvl[] = {"debug", "info", "warn", "error"};
  if (strchr(c->listen_host, ':') != NULL)
    fprintf(out, "listen = [%s]:%u\n", c->listen_host, c->listen_port);
  else
    fprintf(out, "listen = %s:%u\n", c->listen_host, c->listen_port);
  fprintf(out, "data_dir = %s\n", c->data_dir);
  fputs("database_url = ", out);
  if (c->database_url != NULL)
    print_redacted_url(c->database_url, out);
  fputc('\n', out);
  fprintf(out, "pg_bindir = %s\n", c->pg_bindir);
  fprintf(out, "calendar_file = %s\n", c->calendar_file);
  fprintf(out, "log_level = %s\n", lvl[c->log_level]);
  fprintf(out, "log_format = %s\n", c->log_format == LOG_FORMAT_JSON ? "json" : "text");
  fprintf(out, "db_max_retries = %u\n", c->db_max_retries);
  fprintf(out, "db_pool_size = %u\n", c->db_pool_size);
  fprintf(out, "http_threads = %u\n", c->http_threads);
  if (strchr(c->broker_host, ':') != NULL)
    fprintf(out, "broker = [%s]:%u\n", c->broker_host, c->broker_port);
  else
    fprintf(out, "broker = %s:%u\n", c->broker_host, c->broker_port);
  fprintf(out, "broker_sender_comp_id = %s\n", c->broker_sender_comp_id);
  fprintf(out, "broker_target_comp_id = %s\n", c->broker_target_comp_id);
  fprintf(out, "broker_account = %s\n", c->broker_account);
  fprintf(out, "fix_heartbeat_s = %u\n", c->fix_heartbeat_s);
  fprintf(out, "fix_reset_time = %02u:%02u\n", c->fix_reset_minute / 60, c->fix_reset_minute % 60);
  fprintf(out, "fix_time_zone = %s\n", c->fix_time_zone);
  fprintf(out, "fix_rate_per_s = %u\n", c->fix_rate_per_s);
  fprintf(out, "fix_reset_on_logon = %s\n", c->fix_reset_on_logon ? "true" : "false");
  fprintf(out, "custody_servicers = %s\n", c->custody_servicers);
  fprintf(out, "custody_accounts = %s\n", c->custody_accounts);
  fprintf(out, "custody_drop_dir = %s\n", c->custody_drop_dir);
  fprintf(out, "custody_feed_url = %s\n", c->custody_feed_url);
  fprintf(out, "custody_feed_token = %s\n", c->custody_feed_token != NULL ? "***" : "");
  fprintf(out, "custody_poll_ms = %u\n", c->custody_poll_ms);
  fprintf(out, "custody_max_bytes = %llu\n", (unsigned long long)c->custody_max_bytes);
  fprintf(out, "serve_engine = %s\n", c->serve_engine ? "true" : "false");
  fprintf(out, "engine_poll_ms = %u\n", c->engine_poll_ms);
  fprintf(out, "engine_batch = %u\n", c->engine_batch);
  fprintf(out, "settlement_retry_s = %u\n", c->settlement_retry_s);
  fprintf(out, "settlement_escalate_days = %u\n", c->settlement_escalate_days);
  fprintf(out, "redemption_address = %s\n", c->redemption_address);
  fprintf(out, "attestation_key_dir = %s\n", c->attestation_key_dir);
  fprintf(out, "attestation_tree_height = %u\n", c->attestation_tree_height);
  fprintf(out, "recon_tolerance_tokens = %llu\n", (unsigned long long)c->recon_tolerance_tokens);
}
