/*
 * The error registry's lookups: name, text and HTTP status of each error
 * number of common_errors.h.  The table is generated from the X-macro list,
 * so the enum and the lookups can never disagree.
 */
#include <limits.h>
#include <pthread.h>

#include "common/common.h"

struct err_row {
  int num;
  unsigned http;
  const char *name;
  const char *text;
};

static const struct err_row rows[] = {
#define COMMON_ERR_ROW(name, num, http, text) {num, http, #name, text},
    COMMON_ERRORS(COMMON_ERR_ROW)
#undef COMMON_ERR_ROW
};

static const struct err_row *find(int code)
{
  if (code == INT_MIN)
    return NULL;
  if (code < 0)
    code = -code;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    if (rows[i].num == code)
      return &rows[i];
  return NULL;
}

/* Names are kept upper case in the list and answered lower case. */
static char lower[sizeof rows / sizeof rows[0]][40];
static pthread_once_t lower_once = PTHREAD_ONCE_INIT;

static void make_lower(void)
{
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    size_t j = 0;
    for (; rows[i].name[j] != '\0' && j + 1 < sizeof lower[i]; j++) {
      char ch = rows[i].name[j];
      lower[i][j] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    lower[i][j] = '\0';
  }
}

const char *err_name(int code)
{
  const struct err_row *r = find(code);
  if (r == NULL)
    return "unknown";
  pthread_once(&lower_once, make_lower);
  return lower[r - rows];
}

const char *err_text(int code)
{
  const struct err_row *r = find(code);
  return r == NULL ? "unknown error" : r->text;
}

unsigned err_http_status(int code)
{
  const struct err_row *r = find(code);
  return r == NULL ? 500 : r->http;
}

int err_known(int code)
{
  return find(code) != NULL;
}
