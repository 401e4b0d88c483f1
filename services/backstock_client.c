/*
 * The client commands of backstock (backstock_client.h, docs/cli.md):
 * find the command in the table by its words, read its options (each at
 * most once, "--name value" or "--name=value"), check every value here
 * (a bad decimal is a usage error, exit 2, and nothing is sent), build
 * the path, the query and the JSON body (yajl_gen; amounts as the
 * decimal strings typed), sign it when asked, send it with a fresh
 * Idempotency-Key (or the one given, to retry safely), and print the
 * reply on stdout or "error <code> <name>: <hint>" on stderr.
 *
 * The API key comes from BACKSTOCK_API_KEY or --key-file FILE, never from
 * an argument: the command line of every process is visible to every
 * user of the machine (ps, /proc/<pid>/cmdline) and lands in shell
 * history.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <sodium.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/common.h"
#include "services/backstock_client.h"

#define MAX_OPTS 32

/* One command line, read. */
struct run {
  const struct client_cmd *cmd;
  const char *vals[MAX_OPTS];
  const char *api, *key_file, *idem, *output, *timeout, *sign_key, *sign_key_id;
  bool verbose;
};

/* Top-level words that belong to the client ("admin" except "admin bootstrap"). */
static const char *const client_words[] = {
    "help",  "mint", "redeem",      "orders", "wallets", "balances",    "signing-keys",
    "audit", "me",   "instruments", "pauses", "alerts",  "attestations"};

bool client_handles(int argc, char **argv, int i)
{
  if (i >= argc)
    return false;
  if (strcmp(argv[i], "admin") == 0)
    return i + 1 >= argc || strcmp(argv[i + 1], "bootstrap") != 0;
  for (size_t k = 0; k < sizeof client_words / sizeof client_words[0]; k++)
    if (strcmp(argv[i], client_words[k]) == 0)
      return true;
  return false;
}

/* A usage error: one line on stderr, exit 2. */
static int usage_error(const struct client_cmd *cmd, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int usage_error(const struct client_cmd *cmd, int code, const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "error %d %s: ", code, err_name(code));
  if (cmd != NULL)
    fprintf(stderr, "%s: ", cmd->words);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if (cmd != NULL)
    fprintf(stderr, " (backstock %s --help)\n", cmd->words);
  else
    fputs(" (backstock help)\n", stderr);
  return CLIENT_EXIT_USAGE;
}

/* How many leading words of argv[i..] are the words of @words; 0 if not all. */
static int words_match(const char *words, int argc, char **argv, int i)
{
  int n = 0;
  const char *w = words;
  while (*w != '\0') {
    size_t len = strcspn(w, " ");
    if (i + n >= argc || strlen(argv[i + n]) != len || strncmp(argv[i + n], w, len) != 0)
      return 0;
    n++;
    w += len;
    while (*w == ' ')
      w++;
  }
  return n;
}

static const struct client_opt *opt_at(const struct client_cmd *cmd, size_t k)
{
  return cmd->opts[k].field != NULL ? &cmd->opts[k] : NULL;
}

/* ------------------------------------------------------------------ */
/* Reading the command line                                            */
/* ------------------------------------------------------------------ */

/* The slot of a common option @name for @cmd, or NULL. */
static const char **common_slot(struct run *r, const char *name)
{
  const struct client_cmd *cmd = r->cmd;
  bool post = cmd->method != NULL && strcmp(cmd->method, "POST") == 0;
  bool remote = cmd->local == NULL;
  if (remote && strcmp(name, "--api") == 0)
    return &r->api;
  if (remote && strcmp(name, "--key-file") == 0)
    return &r->key_file;
  if (remote && strcmp(name, "--output") == 0)
    return &r->output;
  if (remote && strcmp(name, "--timeout") == 0)
    return &r->timeout;
  if (post && strcmp(name, "--idempotency-key") == 0)
    return &r->idem;
  if ((cmd->flags & CLIENT_CMD_SIGN) && strcmp(name, "--sign-key") == 0)
    return &r->sign_key;
  if ((cmd->flags & CLIENT_CMD_SIGN) && strcmp(name, "--sign-key-id") == 0)
    return &r->sign_key_id;
  return NULL;
}

/* Read argv[i..] into @r; 0 or the usage exit status (message printed). */
static int read_args(struct run *r, int argc, char **argv, int i)
{
  const struct client_cmd *cmd = r->cmd;
  for (; i < argc; i++) {
    const char *a = argv[i], *val = NULL, **slot = NULL;
    char name[64];
    if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
      size_t k = 0;
      for (; opt_at(cmd, k) != NULL && cmd->opts[k].name != NULL; k++)
        ;
      if (opt_at(cmd, k) == NULL || r->vals[k] != NULL)
        return usage_error(cmd, ERR_INVALID_ARGUMENT, "unexpected argument \"%s\"", a);
      r->vals[k] = a;
      continue;
    }
    size_t nlen = strcspn(a, "=");
    if (nlen >= sizeof name)
      return usage_error(cmd, ERR_INVALID_ARGUMENT, "unknown option %.40s...", a);
    memcpy(name, a, nlen);
    name[nlen] = '\0';
    if (strcmp(name, "--verbose") == 0 && a[nlen] == '\0' && cmd->local == NULL) {
      r->verbose = true;
      continue;
    }
    if (strcmp(name, "--key") == 0 || strcmp(name, "--api-key") == 0)
      return usage_error(cmd, ERR_INVALID_ARGUMENT,
                         "%s: an API key is never taken as an argument (every user sees "
                         "arguments in ps); set BACKSTOCK_API_KEY or use --key-file FILE",
                         name);
    slot = common_slot(r, name);
    for (size_t k = 0; slot == NULL && opt_at(cmd, k) != NULL; k++)
      if (cmd->opts[k].name != NULL && strcmp(cmd->opts[k].name, name) == 0)
        slot = &r->vals[k];
    if (slot == NULL)
      return usage_error(cmd, ERR_INVALID_ARGUMENT, "unknown option %s", name);
    if (a[nlen] == '=')
      val = a + nlen + 1;
    else if (i + 1 < argc)
      val = argv[++i];
    else
      return usage_error(cmd, ERR_INVALID_ARGUMENT, "%s wants a value", name);
    if (*slot != NULL)
      return usage_error(cmd, ERR_INVALID_ARGUMENT, "%s given twice", name);
    *slot = val;
  }
  return 0;
}

/* Whether @s is a base64 Ed25519 public key (32 bytes). */
static bool is_pubkey(const char *s)
{
  unsigned char pk[32];
  size_t n = 0;
  const char *end = NULL;
  return sodium_base642bin(pk, sizeof pk, s, strlen(s), NULL, &n, &end,
                           sodium_base64_VARIANT_ORIGINAL) == 0 &&
         n == 32 && *end == '\0';
}

static bool is_space(char c)
{
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Narrows [*@a, *@b) of @text to leave out leading and trailing blanks and line ends. */
static void trim_span(const char *text, size_t *a, size_t *b)
{
  while (*a < *b && is_space(text[*a]))
    (*a)++;
  while (*b > *a && is_space(text[*b - 1]))
    (*b)--;
}

/* Read a public key file into @buf (trimmed); 0 or the usage status. */
static int read_keyfile(const struct client_cmd *cmd, const struct client_opt *o, const char *path,
                        char *buf, size_t size)
{
  char *text = NULL;
  size_t len = 0;
  if (util_read_file(path, 4096, &text, &len) != 0)
    return usage_error(cmd, ERR_IO, "%s: cannot read %s", o->name, path);
  size_t a = 0, b = len;
  trim_span(text, &a, &b);
  text[b] = '\0';
  bool ok = b - a < size && is_pubkey(text + a);
  if (ok)
    memcpy(buf, text + a, b - a + 1);
  free(text);
  if (!ok)
    return usage_error(cmd, ERR_INVALID_ARGUMENT,
                       "%s: %s does not hold a base64 Ed25519 public key (32 bytes)", o->name,
                       path);
  return 0;
}

/* Check one value against its option's type; 0 or the usage status. */
static int check_value(const struct client_cmd *cmd, const struct client_opt *o, const char *v)
{
  const char *label = o->name != NULL ? o->name : o->meta;
  struct money m;
  int rc;
  switch (o->type) {
  case CLIENT_T_DECIMAL:
    if ((rc = money_parse(v, strlen(v), o->scale, 0, &m)) != 0)
      return usage_error(cmd, -rc, "%s \"%s\": %s (a decimal like 12.5, at most %u places)", label,
                         v, err_text(rc), o->scale);
    return 0;
  case CLIENT_T_INT:
  case CLIENT_T_ID: {
    size_t n = strlen(v);
    bool ok = n >= 1 && n <= 18 && strspn(v, "0123456789") == n && (v[0] != '0' || n == 1) &&
              (o->type == CLIENT_T_INT || v[0] != '0');
    if (!ok)
      return usage_error(cmd, ERR_INVALID_ARGUMENT, "%s \"%s\": want a %s integer", label, v,
                         o->type == CLIENT_T_ID ? "positive" : "non-negative");
    return 0;
  }
  case CLIENT_T_BOOL:
    if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
      return usage_error(cmd, ERR_INVALID_ARGUMENT, "%s \"%s\": want true or false", label, v);
    return 0;
  case CLIENT_T_ENUM: {
    size_t n = strlen(v);
    for (const char *c = o->choices; *c != '\0';) {
      size_t len = strcspn(c, "|");
      if (len == n && strncmp(c, v, n) == 0)
        return 0;
      c += len + (c[len] == '|');
    }
    return usage_error(cmd, ERR_INVALID_ARGUMENT, "%s \"%s\": want one of %s", label, v,
                       o->choices);
  }
  case CLIENT_T_STRING:
  case CLIENT_T_KEYFILE:
    if (v[0] == '\0')
      return usage_error(cmd, ERR_INVALID_ARGUMENT, "%s: empty value", label);
    return 0;
  }
  return 0;
}

/* Every value checked, the required ones present, alternatives exclusive. */
static int check_args(struct run *r)
{
  const struct client_cmd *cmd = r->cmd;
  int rc;
  for (size_t k = 0; opt_at(cmd, k) != NULL; k++) {
    const struct client_opt *o = &cmd->opts[k];
    bool any = false;
    for (size_t j = 0; opt_at(cmd, j) != NULL; j++)
      if (strcmp(cmd->opts[j].field, o->field) == 0 && cmd->opts[j].dest == o->dest &&
          r->vals[j] != NULL) {
        if (any && j == k)
          return usage_error(cmd, ERR_INVALID_ARGUMENT, "give only one of the options for %s",
                             o->field);
        any = true;
      }
    if (o->required && !any) {
      char names[256];
      size_t at = 0;
      for (size_t j = 0; opt_at(cmd, j) != NULL && at < sizeof names; j++)
        if (strcmp(cmd->opts[j].field, o->field) == 0 && cmd->opts[j].dest == o->dest)
          at += (size_t)snprintf(names + at, sizeof names - at, "%s%s %s", at > 0 ? " or " : "",
                                 cmd->opts[j].name != NULL ? cmd->opts[j].name : "the argument",
                                 cmd->opts[j].meta);
      return usage_error(cmd, ERR_INVALID_ARGUMENT, "%s is required", names);
    }
    if (r->vals[k] != NULL && (rc = check_value(cmd, o, r->vals[k])) != 0)
      return rc;
  }
  if (r->output != NULL && strcmp(r->output, "json") != 0 && strcmp(r->output, "table") != 0)
    return usage_error(cmd, ERR_INVALID_ARGUMENT, "--output \"%s\": want json or table", r->output);
  if (r->idem != NULL) {
    size_t n = strlen(r->idem);
    bool ok = n >= 1 && n <= CLIENT_IDEM_MAX;
    for (size_t k = 0; ok && k < n; k++)
      ok = r->idem[k] > 0x20 && r->idem[k] < 0x7f;
    if (!ok)
      return usage_error(cmd, ERR_INVALID_ARGUMENT,
                         "--idempotency-key: want 1 to %d visible ASCII characters",
                         CLIENT_IDEM_MAX);
  }
  if (r->sign_key_id != NULL && r->sign_key == NULL)
    return usage_error(cmd, ERR_INVALID_ARGUMENT, "--sign-key-id goes with --sign-key FILE");
  if (r->sign_key_id != NULL && strspn(r->sign_key_id, "0123456789") != strlen(r->sign_key_id))
    return usage_error(cmd, ERR_INVALID_ARGUMENT, "--sign-key-id \"%s\": want the key's id",
                       r->sign_key_id);
  return 0;
}

/* ------------------------------------------------------------------ */
/* The request                                                         */
/* ------------------------------------------------------------------ */

/* The path with each {field} replaced by its escaped value. */
static int build_path(const struct run *r, char *out, size_t size)
{
  const struct client_cmd *cmd = r->cmd;
  size_t o = 0;
  for (const char *p = cmd->path; *p != '\0';) {
    const char *piece = p;
    size_t len = 1;
    char esc[512];
    if (*p == '{') {
      size_t flen = strcspn(p + 1, "}");
      piece = NULL;
      for (size_t k = 0; opt_at(cmd, k) != NULL; k++)
        if (cmd->opts[k].dest == CLIENT_PATH && strlen(cmd->opts[k].field) == flen &&
            strncmp(cmd->opts[k].field, p + 1, flen) == 0 && r->vals[k] != NULL) {
          if (client_escape(r->vals[k], esc, sizeof esc) != 0)
            return -ERR_TOO_LONG;
          piece = esc;
        }
      if (piece == NULL)
        return -ERR_INTERNAL; /* a row of the table without its option */
      len = strlen(esc);
      p += flen + 2;
    } else {
      p++;
    }
    if (o + len >= size)
      return -ERR_TOO_LONG;
    memcpy(out + o, piece, len);
    o += len;
  }
  out[o] = '\0';
  return 0;
}

static int build_query(const struct run *r, char *out, size_t size)
{
  const struct client_cmd *cmd = r->cmd;
  size_t o = 0;
  out[0] = '\0';
  for (size_t k = 0; opt_at(cmd, k) != NULL; k++) {
    char esc[1024];
    if (cmd->opts[k].dest != CLIENT_QUERY || r->vals[k] == NULL)
      continue;
    if (client_escape(r->vals[k], esc, sizeof esc) != 0)
      return -ERR_TOO_LONG;
    int n = snprintf(out + o, size - o, "%s%s=%s", o > 0 ? "&" : "", cmd->opts[k].field, esc);
    if (n < 0 || (size_t)n >= size - o)
      return -ERR_TOO_LONG;
    o += (size_t)n;
  }
  return 0;
}

#define GSTR(g, s) yajl_gen_string(g, (const unsigned char *)(s), strlen(s))

/* The JSON body of a POST into a new yajl_gen (free it); its bytes in *body. */
static int build_body(const struct run *r, yajl_gen *gout, const unsigned char **body, size_t *len)
{
  const struct client_cmd *cmd = r->cmd;
  yajl_gen g = yajl_gen_alloc(NULL);
  int rc = 0;
  if (g == NULL)
    return -ERR_NOMEM;
  yajl_gen_map_open(g);
  for (size_t k = 0; opt_at(cmd, k) != NULL && rc == 0; k++) {
    const struct client_opt *o = &cmd->opts[k];
    const char *v = r->vals[k];
    char key[256];
    if (o->dest != CLIENT_BODY || v == NULL)
      continue;
    GSTR(g, o->field);
    switch (o->type) {
    case CLIENT_T_INT:
    case CLIENT_T_ID:
      yajl_gen_integer(g, strtoll(v, NULL, 10));
      break;
    case CLIENT_T_BOOL:
      yajl_gen_bool(g, strcmp(v, "true") == 0);
      break;
    case CLIENT_T_KEYFILE:
      if ((rc = read_keyfile(cmd, o, v, key, sizeof key)) == 0)
        GSTR(g, key);
      break;
    default:
      GSTR(g, v);
      break;
    }
  }
  if (cmd->fixed_key != NULL) {
    GSTR(g, cmd->fixed_key);
    yajl_gen_bool(g, cmd->fixed_value);
  }
  yajl_gen_map_close(g);
  if (rc == 0 && yajl_gen_get_buf(g, body, len) != yajl_gen_status_ok)
    rc = -ERR_INVALID_ARGUMENT; /* not UTF-8 text */
  if (rc != 0) {
    yajl_gen_free(g);
    return rc;
  }
  *gout = g;
  return 0;
}

/* The service's URL and the API key; 0 or the usage status. */
static int setup_conn(const struct run *r, struct client_conn *conn)
{
  const struct client_cmd *cmd = r->cmd;
  const char *url = r->api != NULL ? r->api : getenv("BACKSTOCK_API_URL");
  if (url == NULL || url[0] == '\0')
    url = CLIENT_DEFAULT_URL;
  size_t n = strlen(url);
  while (n > 0 && url[n - 1] == '/')
    n--;
  if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) || n >= 512 || n <= 8 ||
      strcspn(url, " \t\r\n?#") < n)
    return usage_error(cmd, ERR_INVALID_ARGUMENT,
                       "the service URL \"%s\" is not http(s)://HOST[:PORT] (--api or "
                       "BACKSTOCK_API_URL)",
                       url);
  memcpy(conn->base, url, n);
  conn->base[n] = '\0';
  conn->timeout_ms = 30000;
  if (r->timeout != NULL) {
    uint32_t s;
    if (kv_parse_uint(r->timeout, strlen(r->timeout), 1, 3600, &s) != 0)
      return usage_error(cmd, ERR_INVALID_ARGUMENT, "--timeout \"%s\": want 1 to 3600 seconds",
                         r->timeout);
    conn->timeout_ms = (long)s * 1000;
  }
  conn->connect_ms = conn->timeout_ms < 5000 ? conn->timeout_ms : 5000;
  conn->verbose = r->verbose;
  if (cmd->flags & CLIENT_CMD_NOKEY)
    return 0;
  char *text = NULL;
  size_t len = 0;
  const char *from = "BACKSTOCK_API_KEY";
  if (r->key_file != NULL) {
    struct stat st;
    from = r->key_file;
    if (util_read_file(r->key_file, CLIENT_KEY_MAX * 4, &text, &len) != 0)
      return usage_error(cmd, ERR_IO, "--key-file: cannot read %s", r->key_file);
    if (stat(r->key_file, &st) == 0 && (st.st_mode & 077) != 0)
      fprintf(stderr, "backstock: warning: %s can be read by other users (chmod 600 %s)\n",
              r->key_file, r->key_file);
  } else if (getenv("BACKSTOCK_API_KEY") != NULL) {
    text = strdup(getenv("BACKSTOCK_API_KEY"));
    len = text != NULL ? strlen(text) : 0;
  }
  size_t a = 0, b = len;
  trim_span(text, &a, &b);
  bool ok = b > a && b - a < sizeof conn->key;
  for (size_t k = a; ok && k < b; k++)
    ok = text[k] > 0x20 && text[k] < 0x7f;
  if (ok) {
    memcpy(conn->key, text + a, b - a);
    conn->key[b - a] = '\0';
  }
  bool had = text != NULL;
  if (text != NULL) {
    sodium_memzero(text, len);
    free(text);
  }
  if (!ok && !had)
    return usage_error(cmd, ERR_INVALID_ARGUMENT,
                       "no API key: set BACKSTOCK_API_KEY or use --key-file FILE");
  if (!ok && b == a)
    return usage_error(cmd, ERR_INVALID_ARGUMENT, "the API key from %s is empty", from);
  if (!ok)
    return usage_error(cmd, ERR_INVALID_ARGUMENT,
                       "the API key from %s is not one line of visible characters", from);
  return 0;
}

/* The id of the caller's active signing key whose public key is @pub. */
static int lookup_key_id(const struct client_conn *conn, const char *pub, char *out, size_t size)
{
  struct client_req req = {.method = "GET", .path = "/v1/signing-keys", .query = "limit=500"};
  struct client_reply rep;
  int found = 0;
  if (client_http(conn, &req, &rep) != 0 || rep.status != 200) {
    client_print_error(stderr, conn, &rep);
    client_reply_free(&rep);
    return -ERR_IO;
  }
  yajl_val root = yajl_tree_parse(rep.body, NULL, 0);
  const char *pi[] = {"items", NULL}, *pk[] = {"public_key", NULL}, *pid[] = {"id", NULL},
             *prev[] = {"revoked_at", NULL};
  yajl_val items = root != NULL ? yajl_tree_get(root, pi, yajl_t_array) : NULL;
  for (size_t k = 0; items != NULL && k < items->u.array.len && found == 0; k++) {
    yajl_val it = items->u.array.values[k];
    yajl_val key = yajl_tree_get(it, pk, yajl_t_string);
    yajl_val id = yajl_tree_get(it, pid, yajl_t_any);
    yajl_val rev = yajl_tree_get(it, prev, yajl_t_any);
    if (key == NULL || strcmp(key->u.string, pub) != 0 || id == NULL ||
        (rev != NULL && !YAJL_IS_NULL(rev)))
      continue;
    const char *text = YAJL_IS_NUMBER(id) ? id->u.number.r : YAJL_IS_STRING(id) ? id->u.string : "";
    found = text[0] != '\0' && util_strlcpy(out, text, size) == 0 ? 1 : 0;
  }
  yajl_tree_free(root);
  client_reply_free(&rep);
  if (found == 0) {
    fprintf(stderr,
            "error %d %s: the public key %s is not an active signing key of yours "
            "(backstock signing-keys add --public-key-file FILE.pub)\n",
            ERR_ORDER_SIGNATURE, err_name(ERR_ORDER_SIGNATURE), pub);
    return -ERR_ORDER_SIGNATURE;
  }
  return 0;
}

/* The X-Backstock-Signature of the request into @sig; exit status on failure, else 0. */
static int sign_request(const struct run *r, const struct client_conn *conn, const char *path,
                        const char *idem, const unsigned char *body, size_t len,
                        char sig[CLIENT_SIG_MAX])
{
  unsigned char seed[32];
  char pub[45], key_id[32];
  size_t plen = 0;
  if (client_sign_key_load(r->sign_key, seed) != 0)
    return usage_error(r->cmd, ERR_INVALID_ARGUMENT,
                       "--sign-key: %s does not hold an Ed25519 seed (32 bytes in base64 or hex)",
                       r->sign_key);
  client_sign_public(seed, pub);
  int rc = 0;
  if (r->sign_key_id != NULL)
    util_strlcpy(key_id, r->sign_key_id, sizeof key_id);
  else if (lookup_key_id(conn, pub, key_id, sizeof key_id) != 0)
    rc = CLIENT_EXIT_ERROR;
  unsigned char *payload =
      rc == 0 ? client_sign_payload(r->cmd->method, path, idem, body, len, &plen) : NULL;
  if (rc == 0 && (payload == NULL || client_sign_header(seed, key_id, payload, plen, sig) != 0)) {
    fprintf(stderr, "error %d %s: cannot sign the request\n", ERR_NOMEM, err_name(ERR_NOMEM));
    rc = CLIENT_EXIT_ERROR;
  }
  free(payload);
  sodium_memzero(seed, sizeof seed);
  return rc;
}

/* Whether a reply's top-level "ok" is true. */
static bool reply_ok(const struct client_reply *rep)
{
  const char *pok[] = {"ok", NULL};
  yajl_val root = yajl_tree_parse(rep->body, NULL, 0);
  yajl_val ok = root != NULL ? yajl_tree_get(root, pok, yajl_t_any) : NULL;
  bool yes = ok != NULL && YAJL_IS_TRUE(ok);
  yajl_tree_free(root);
  return yes;
}

/* Print a reply; the exit status. */
static int show_reply(const struct run *r, const struct client_conn *conn,
                      const struct client_reply *rep, const char *idem)
{
  bool post = strcmp(r->cmd->method, "POST") == 0;
  if (rep->status >= 200 && rep->status < 300) {
    bool table = r->output != NULL && strcmp(r->output, "table") == 0;
    if (rep->len > 0 && (table ? client_print_table(stdout, rep->body, rep->len)
                               : client_print_json(stdout, rep->body, rep->len)) != 0) {
      fwrite(rep->body, 1, rep->len, stdout);
      fputc('\n', stdout);
    }
    if ((r->cmd->flags & CLIENT_CMD_OKFIELD) && !reply_ok(rep)) {
      fprintf(stderr, "error %d %s: %s: the reply says \"ok\": false (see above)\n",
              ERR_BOOKS_UNBALANCED, err_name(ERR_BOOKS_UNBALANCED), r->cmd->words);
      fflush(stdout);
      return CLIENT_EXIT_ERROR;
    }
    if (rep->replayed)
      fprintf(stderr,
              "backstock: this is the stored reply of an earlier request with Idempotency-Key "
              "%s; nothing was done again\n",
              idem);
    return fflush(stdout) == 0 ? CLIENT_EXIT_OK : CLIENT_EXIT_ERROR;
  }
  client_print_error(stderr, conn, rep);
  if (post && (rep->status == 0 || rep->status >= 500))
    fprintf(stderr,
            "backstock: the outcome is unknown; to retry safely, run the same command with "
            "--idempotency-key %s\n",
            idem);
  return CLIENT_EXIT_ERROR;
}

static int run_remote(struct run *r)
{
  struct client_conn conn;
  struct client_reply rep = {0};
  char path[CLIENT_URL_MAX], query[CLIENT_URL_MAX], idem[CLIENT_IDEM_MAX + 1] = "";
  char sig[CLIENT_SIG_MAX];
  yajl_gen g = NULL;
  const unsigned char *body = NULL;
  size_t blen = 0;
  bool post = strcmp(r->cmd->method, "POST") == 0;
  int rc;

  memset(&conn, 0, sizeof conn);
  if ((rc = setup_conn(r, &conn)) != 0)
    goto out;
  if (r->cmd->flags & CLIENT_CMD_FETCH) {
    const char *which = NULL, *dir = NULL;
    for (size_t k = 0; opt_at(r->cmd, k) != NULL; k++) {
      if (r->cmd->opts[k].name == NULL)
        which = r->vals[k]; /* ID or latest */
      else if (strcmp(r->cmd->opts[k].name, "--out") == 0)
        dir = r->vals[k];
    }
    rc = client_fetch_attestation(&conn, which, dir);
    goto out;
  }
  if (build_path(r, path, sizeof path) != 0 || build_query(r, query, sizeof query) != 0) {
    rc = usage_error(r->cmd, ERR_TOO_LONG, "the request's URL is too long");
    goto out;
  }
  struct client_req req = {.method = r->cmd->method, .path = path, .query = query};
  if (r->cmd->flags & CLIENT_CMD_WAIT) {
    const char *want = "completed";
    for (size_t k = 0; opt_at(r->cmd, k) != NULL; k++)
      if (r->cmd->opts[k].dest == CLIENT_LOCAL && r->vals[k] != NULL)
        want = r->vals[k];
    rc = client_wait_order(&conn, path, want, r->timeout != NULL ? conn.timeout_ms : 120000,
                           r->output != NULL && strcmp(r->output, "table") == 0);
    goto out;
  }
  if (post) {
    int b = build_body(r, &g, &body, &blen);
    if (b != 0) {
      rc = b > 0 ? b : usage_error(r->cmd, -b, "a value is not UTF-8 text");
      goto out;
    }
    if (r->idem != NULL)
      util_strlcpy(idem, r->idem, sizeof idem);
    else
      util_random_hex(idem, 16);
    req.idem = idem;
    req.body = body;
    req.body_len = blen;
    if (r->sign_key != NULL) {
      if ((rc = sign_request(r, &conn, path, idem, body, blen, sig)) != 0)
        goto out;
      req.signature = sig;
    }
  }
  client_http(&conn, &req, &rep);
  rc = show_reply(r, &conn, &rep, idem);
out:
  client_reply_free(&rep);
  if (g != NULL)
    yajl_gen_free(g);
  client_conn_wipe(&conn);
  return rc;
}

/* The command matching the most words of argv[i..]; *used the words it took. */
static const struct client_cmd *find_cmd(int argc, char **argv, int i, int *used)
{
  const struct client_cmd *best = NULL;
  *used = 0;
  for (size_t k = 0; k < client_n_cmds; k++) {
    int n = words_match(client_cmds[k].words, argc, argv, i);
    if (n > *used) {
      *used = n;
      best = &client_cmds[k];
    }
  }
  return best;
}

static bool wants_help(int argc, char **argv, int i)
{
  for (; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return true;
  return false;
}

int client_main(int argc, char **argv, int i)
{
  struct run r;
  int used, rc;
  if (strcmp(argv[i], "help") == 0) {
    if (i + 1 >= argc) {
      client_help_all(stdout);
      return CLIENT_EXIT_OK;
    }
    const struct client_cmd *cmd = find_cmd(argc, argv, i + 1, &used);
    if (cmd != NULL && i + 1 + used == argc) {
      client_help_cmd(stdout, cmd);
      return CLIENT_EXIT_OK;
    }
    return client_help_group(argc, argv, i + 1, true);
  }
  memset(&r, 0, sizeof r);
  r.cmd = find_cmd(argc, argv, i, &used);
  /* "admin instruments" alone: the commands it starts. */
  if (r.cmd == NULL)
    return client_help_group(argc, argv, i, wants_help(argc, argv, i));
  if (wants_help(argc, argv, i + used)) {
    client_help_cmd(stdout, r.cmd);
    return CLIENT_EXIT_OK;
  }
  if ((rc = read_args(&r, argc, argv, i + used)) != 0 || (rc = check_args(&r)) != 0)
    return rc;
  if (sodium_init() < 0) {
    fprintf(stderr, "error %d %s: libsodium cannot start\n", ERR_INTERNAL, err_name(ERR_INTERNAL));
    return CLIENT_EXIT_ERROR;
  }
  if (r.cmd->local != NULL)
    return r.cmd->local(r.cmd, r.vals);
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    fprintf(stderr, "error %d %s: libcurl cannot start\n", ERR_INTERNAL, err_name(ERR_INTERNAL));
    return CLIENT_EXIT_ERROR;
  }
  rc = run_remote(&r);
  curl_global_cleanup();
  return rc;
}
