/*
 * Logging: one line per message, with UTC time, level, component and the
 * calling thread's request id, as plain text or as JSON lines.  A line is
 * formatted into a stack buffer and written with one fwrite under a mutex,
 * so lines from different threads never interleave.  Messages longer than
 * LOG_LINE_MAX are truncated, never split.
 */
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "common/common.h"

#define LOG_LINE_MAX 4096
#define LOG_RID_MAX  65 /* 64 characters, as the API accepts, and the NUL */

static enum log_level min_level = LOGL_INFO;
static enum log_format fmt_kind = LOG_FORMAT_TEXT;
static FILE *dest;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local char request_id[LOG_RID_MAX];

static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_setup(enum log_level level, enum log_format format, FILE *out)
{
  pthread_mutex_lock(&lock);
  min_level = level;
  fmt_kind = format;
  dest = out;
  pthread_mutex_unlock(&lock);
}

void log_set_request_id(const char *id)
{
  if (id == NULL)
    request_id[0] = '\0';
  else
    util_strlcpy(request_id, id, sizeof request_id);
}

int log_level_parse(const char *s, enum log_level *out)
{
  for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
    if (strcmp(s, level_names[i]) == 0) {
      *out = (enum log_level)i;
      return 0;
    }
  return -ERR_INVALID_ARGUMENT;
}

static void append(char *buf, size_t size, size_t *pos, const char *s)
{
  size_t n = strlen(s);
  if (*pos + n >= size)
    n = *pos + 1 < size ? size - 1 - *pos : 0;
  memcpy(buf + *pos, s, n);
  *pos += n;
  buf[*pos] = '\0';
}

size_t log_format_line(char *buf, size_t size, enum log_format format, int64_t unix_ms,
                       enum log_level level, const char *component, const char *rid,
                       const char *msg)
{
  char ts[40];
  time_t secs = (time_t)(unix_ms / 1000);
  struct tm tm;
  size_t pos = 0;
  if (size == 0)
    return 0;
  buf[0] = '\0';
  gmtime_r(&secs, &tm);
  size_t tl = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(ts + tl, sizeof ts - tl, ".%03dZ", (int)(unix_ms % 1000));
  const char *lvl = level_names[level <= LOGL_ERROR ? level : LOGL_ERROR];
  if (format == LOG_FORMAT_JSON) {
    append(buf, size, &pos, "{\"ts\":\"");
    append(buf, size, &pos, ts);
    append(buf, size, &pos, "\",\"level\":\"");
    append(buf, size, &pos, lvl);
    append(buf, size, &pos, "\",\"component\":\"");
    util_json_escape(buf, size, &pos, component);
    if (rid != NULL && rid[0] != '\0') {
      append(buf, size, &pos, "\",\"request_id\":\"");
      util_json_escape(buf, size, &pos, rid);
    }
    append(buf, size, &pos, "\",\"msg\":\"");
    /* Leave room for the closing quote, brace and newline. */
    if (pos + 3 < size) {
      util_json_escape(buf, size - 3, &pos, msg);
      append(buf, size, &pos, "\"}\n");
    }
  } else {
    if (size < 2) {
      buf[0] = '\0';
      return 0;
    }
    int n = snprintf(buf, size, "%s %-5s %s%s%s%s ", ts, lvl, component,
                     rid != NULL && rid[0] != '\0' ? " [" : "", rid != NULL ? rid : "",
                     rid != NULL && rid[0] != '\0' ? "]" : "");
    /* Keep room for the newline and the NUL. */
    pos = n < 0 ? 0 : ((size_t)n < size - 1 ? (size_t)n : size - 2);
    /* Control characters would let outside text forge log lines. */
    for (const char *m = msg; *m != '\0' && pos + 2 < size; m++)
      buf[pos++] = ((unsigned char)*m < 0x20 && *m != '\t') ? ' ' : *m;
    buf[pos++] = '\n';
    buf[pos] = '\0';
  }
  return pos;
}

void log_vmsg(enum log_level level, const char *component, const char *fmt, va_list ap)
{
  char msg[LOG_LINE_MAX];
  char line[LOG_LINE_MAX + 256];
  if (level < min_level)
    return;
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = log_format_line(line, sizeof line, fmt_kind, util_now_ms(), level, component,
                             request_id, msg);
  pthread_mutex_lock(&lock);
  FILE *out = dest != NULL ? dest : stderr;
  fwrite(line, 1, n, out);
  fflush(out);
  pthread_mutex_unlock(&lock);
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  log_vmsg(level, component, fmt, ap);
  va_end(ap);
}

void log_bug_at(const char *file, int line, const char *component, const char *fmt, ...)
{
  char msg[LOG_LINE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_msg(LOGL_ERROR, component, "BUG at %s:%d: %s", file, line, msg);
}
