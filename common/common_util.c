/*
 * Small helpers shared by every module: clocks, sleeping, bounded file
 * reading, bounded string copy, random hex ids and JSON string escaping.
 * Nothing here allocates except util_read_file(), whose buffer the caller
 * frees.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/common.h"
#include "common/common_int.h"

const uint64_t util_pow10[20] = {COMMON__POW10_0_19};

int64_t util_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void util_sleep_ms(unsigned ms)
{
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

int util_read_file(const char *path, size_t max, char **out, size_t *len)
{
  int rc = -ERR_IO;
  char *buf = NULL;
  size_t used = 0, cap = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -ERR_IO;
  for (;;) {
    if (used + 4096 + 1 > cap) {
      size_t ncap = cap == 0 ? 8192 : cap * 2;
      if (ncap > max + 4096 + 1)
        ncap = max + 4096 + 1;
      char *nb = realloc(buf, ncap);
      if (nb == NULL) {
        rc = -ERR_NOMEM;
        goto out;
      }
      buf = nb;
      cap = ncap;
    }
    ssize_t r = read(fd, buf + used, cap - used - 1);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      goto out;
    }
    if (r == 0)
      break;
    used += (size_t)r;
    if (used > max) {
      rc = -ERR_TOO_LONG;
      goto out;
    }
  }
  buf[used] = '\0';
  *out = buf;
  if (len != NULL)
    *len = used;
  buf = NULL;
  rc = 0;
out:
  free(buf);
  close(fd);
  return rc;
}

int util_strlcpy(char *dst, const char *src, size_t size)
{
  size_t n = strlen(src);
  if (size == 0)
    return -ERR_TOO_LONG;
  if (n >= size) {
    memcpy(dst, src, size - 1);
    dst[size - 1] = '\0';
    return -ERR_TOO_LONG;
  }
  memcpy(dst, src, n + 1);
  return 0;
}

void util_random_hex(char *out, size_t nbytes)
{
  unsigned char raw[64];
  static const char hex[] = "0123456789abcdef";
  while (nbytes > 0) {
    size_t k = nbytes < sizeof raw ? nbytes : sizeof raw;
    randombytes_buf(raw, k);
    for (size_t i = 0; i < k; i++) {
      *out++ = hex[raw[i] >> 4];
      *out++ = hex[raw[i] & 15];
    }
    nbytes -= k;
  }
  *out = '\0';
}

void util_json_escape(char *buf, size_t size, size_t *pos, const char *s)
{
  static const char hex[] = "0123456789abcdef";
  size_t p = *pos;
  if (size == 0 || p >= size)
    return;
  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    char esc[7];
    size_t n;
    if (ch == '"' || ch == '\\') {
      esc[0] = '\\';
      esc[1] = (char)ch;
      n = 2;
    } else if (ch == '\n') {
      memcpy(esc, "\\n", 2);
      n = 2;
    } else if (ch == '\r') {
      memcpy(esc, "\\r", 2);
      n = 2;
    } else if (ch == '\t') {
      memcpy(esc, "\\t", 2);
      n = 2;
    } else if (ch < 0x20 || ch == 0x7f) {
      memcpy(esc, "\\u00", 4);
      esc[4] = hex[ch >> 4];
      esc[5] = hex[ch & 15];
      n = 6;
    } else {
      esc[0] = (char)ch;
      n = 1;
    }
    if (p + n >= size)
      break;
    memcpy(buf + p, esc, n);
    p += n;
  }
  buf[p < size ? p : size - 1] = '\0';
  *pos = p;
}
