/*
 * libFuzzer harness for the configuration file parser (cfg_load_text).
 * The input is split at its first NUL byte into a file and an environment
 * block (NUL-separated variables), so both sources are fuzzed.  Checked:
 * no crash or leak; a failure names a line within the text; a successful
 * load prints a configuration that loads back to the same printout.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *print(const struct cfg *c, size_t *len)
{
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  if (f == NULL)
    abort();
  cfg_print(c, f);
  fclose(f);
  return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *text = (const char *)data;
  const uint8_t *nul = memchr(data, 0, size);
  size_t tlen = nul != NULL ? (size_t)(nul - data) : size;
  struct cfg c;
  unsigned line = 0;
  cfg_init(&c);
  int rc = cfg_load_text(&c, text, tlen, &line);
  if (rc != 0) {
    size_t lines = 1;
    for (size_t i = 0; i < tlen; i++)
      lines += text[i] == '\n';
    if (line == 0 || line > lines)
      abort();
  } else if (nul != NULL) {
    /* The rest: NUL-separated "NAME=value" entries, at most 16. */
    char *env[17];
    size_t n = 0;
    char *rest = malloc(size - tlen);
    if (rest == NULL)
      abort();
    memcpy(rest, nul + 1, size - tlen - 1);
    rest[size - tlen - 1] = '\0';
    for (char *p = rest; p < rest + (size - tlen - 1) && n < 16; p += strlen(p) + 1)
      env[n++] = p;
    env[n] = NULL;
    const char *bad = NULL;
    cfg_load_env(&c, env, &bad);
    free(rest);
  }
  if (rc == 0 && c.database_url == NULL) {
    /* Round trip (a URL would be printed redacted, so skip those). */
    size_t l1, l2;
    char *p1 = print(&c, &l1);
    struct cfg d;
    cfg_init(&d);
    if (cfg_load_text(&d, p1, l1, &line) != 0)
      abort();
    char *p2 = print(&d, &l2);
    if (l1 != l2 || memcmp(p1, p2, l1) != 0)
      abort();
    free(p1);
    free(p2);
    cfg_free(&d);
  }
  cfg_free(&c);
  return 0;
}
