/*
 * The "key = value" walker shared by every configuration: it splits a
 * text into lines, drops comments and blank lines, and hands each key and
 * value to a setter of the caller's; and it walks environment variables
 * with a prefix the same way.  It knows no key: what a key means, and the
 * message of a refused one, are the setter's; a few value parsers that
 * more than one setter uses are here too.
 *
 * Invariants:
 * - A line is copied into a stack buffer only to cut it into key and
 *   value; the copy is wiped (sodium_memzero) after each line, and the
 *   buffer of a file after its walk, since values may be secrets.
 * - The first error stops the walk: nothing after a bad line or variable
 *   is applied.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/common.h"

#define FILE_MAX     (1u << 20)
#define ENV_NAME_MAX 128 /* a variable name, with its NUL */

/* Static so that *bad_out can name the variable after we return. */
static _Thread_local char bad_name[ENV_NAME_MAX];

int kv_fail(char *why, size_t wsz, int rc, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  if (why != NULL && wsz > 0)
    vsnprintf(why, wsz, fmt, ap);
  va_end(ap);
  return rc;
}

int kv_parse_uint(const char *s, size_t len, uint32_t lo, uint32_t hi, uint32_t *out)
{
  uint64_t v = 0;
  if (len == 0 || len > 9 || (len > 1 && s[0] == '0'))
    return -ERR_CFG_VALUE;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -ERR_CFG_VALUE;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v < lo || v > hi)
    return -ERR_CFG_VALUE;
  *out = (uint32_t)v;
  return 0;
}

int kv_parse_ipv4_port(const char *v, char host_out[KV_IPV4_MAX], uint16_t *port_out)
{
  const char *colon = strrchr(v, ':');
  struct in_addr a;
  char host[KV_IPV4_MAX];
  uint32_t port;
  if (colon == NULL || (size_t)(colon - v) >= sizeof host ||
      kv_parse_uint(colon + 1, strlen(colon + 1), 0, 65535, &port) != 0)
    return -ERR_CFG_VALUE;
  memcpy(host, v, (size_t)(colon - v));
  host[colon - v] = '\0';
  if (inet_pton(AF_INET, host, &a) != 1)
    return -ERR_CFG_VALUE;
  memcpy(host_out, host, (size_t)(colon - v) + 1);
  *port_out = (uint16_t)port;
  return 0;
}

/* [s, end) without spaces and tabs at the start, nor spaces, tabs and CRs at the end. */
static char *trim(char *s, char *end)
{
  while (s < end && (*s == ' ' || *s == '\t'))
    s++;
  while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
    end--;
  *end = '\0';
  return s;
}

/* One line, copied into @line (NUL-free, shorter than the buffer): 0 for a comment or blank. */
static int one_line(char *line, size_t ll, kv_set_fn set, void *cls, char *why, size_t wsz)
{
  char *t = trim(line, line + ll), *eq = strchr(t, '=');
  if (t[0] == '\0' || t[0] == '#')
    return 0;
  char *k = eq != NULL ? trim(t, eq) : t;
  if (eq == NULL || k[0] == '\0')
    return kv_fail(why, wsz, -ERR_CFG_SYNTAX, "%s", "want key = value");
  return set(cls, k, trim(eq + 1, eq + 1 + strlen(eq + 1)), why, wsz);
}

int kv_load_text(const char *text, size_t len, size_t line_max, kv_set_fn set, void *cls,
                 unsigned *line_out, char *why, size_t wsz)
{
  char line[KV_LINE_MAX];
  unsigned no = 0;
  if (line_max > sizeof line)
    line_max = sizeof line;
  for (size_t pos = 0; pos < len; pos++) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t ll = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
    int rc;
    no++;
    if (ll >= line_max || memchr(text + pos, '\0', ll) != NULL) {
      rc = kv_fail(why, wsz, -ERR_CFG_SYNTAX, "%s", "line too long or holding a NUL byte");
    } else {
      memcpy(line, text + pos, ll);
      rc = one_line(line, ll, set, cls, why, wsz);
      sodium_memzero(line, ll + 1); /* the copy and the NUL trim() may have put after it */
    }
    if (rc != 0) {
      if (line_out != NULL)
        *line_out = no;
      return rc;
    }
    pos += ll;
  }
  return 0;
}

int kv_load_file(const char *path, size_t line_max, kv_set_fn set, void *cls, unsigned *line_out,
                 char *why, size_t wsz)
{
  char *buf;
  size_t len;
  if (util_read_file(path, FILE_MAX, &buf, &len) != 0)
    return kv_fail(why, wsz, -ERR_CFG_FILE, "cannot read %s", path);
  int rc = kv_load_text(buf, len, line_max, set, cls, line_out, why, wsz);
  sodium_memzero(buf, len);
  free(buf);
  return rc;
}

/*
 * The name of variable @e (up to its '=') into bad_name; NULL if it has
 * no '=' or a name too long to hold (such a variable is passed over).
 */
static const char *var_name(const char *e)
{
  const char *eq = strchr(e, '=');
  size_t n = eq != NULL ? (size_t)(eq - e) : 0;
  if (eq == NULL || n >= sizeof bad_name)
    return NULL;
  memcpy(bad_name, e, n);
  bad_name[n] = '\0';
  return eq + 1;
}

int kv_load_env(char *const *envp, const char *prefix, kv_set_fn set, void *cls,
                const char **bad_out, char *why, size_t wsz)
{
  size_t pl = strlen(prefix);
  char key[ENV_NAME_MAX];
  for (char *const *e = envp; *e != NULL; e++) {
    const char *v = var_name(*e);
    if (v == NULL || strncmp(bad_name, prefix, pl) != 0)
      continue;
    size_t i = 0;
    bool lower = true;
    for (const char *p = bad_name + pl; *p; p++, i++) {
      key[i] = lower && *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
      if (*p == '.')
        lower = false;
    }
    key[i] = '\0';
    int rc = set(cls, key, v, why, wsz);
    if (rc != 0) {
      if (bad_out != NULL)
        *bad_out = bad_name;
      return rc;
    }
  }
  return 0;
}

int kv_load_env_var(char *const *envp, const char *name, const char *key, kv_set_fn set, void *cls,
                    const char **bad_out, char *why, size_t wsz)
{
  for (char *const *e = envp; *e != NULL; e++) {
    const char *v = var_name(*e);
    if (v == NULL || strcmp(bad_name, name) != 0)
      continue;
    int rc = set(cls, key, v, why, wsz);
    if (rc != 0) {
      if (bad_out != NULL)
        *bad_out = bad_name;
      return rc;
    }
  }
  return 0;
}
