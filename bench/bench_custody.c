/*
 * bench_custody: our streaming semt.002 parser (custody_semt002_parse_fd)
 * against libxml2's own streaming reader doing nothing but read
 * (`xmllint --stream --noout`), on the same files in the same run.
 *
 * Two statements are generated with the writer into a temporary folder:
 * 100,000 and 1,000,000 positions (fixed-seed quantities, distinct ISINs,
 * an available balance on each, a pending sub-balance on every tenth).
 * Each measurement runs in a child process: ours forked (the parse and a
 * callback counting positions and summing aggregates), xmllint forked and
 * exec'd; the wall time is taken around fork..wait4 and the peak memory
 * is the child's ru_maxrss from wait4.  Best of REPS runs, alternating.
 *
 * Honesty: our child must report exactly the number of positions written
 * and the exact sum of their aggregates, and xmllint must exit 0, or the
 * benchmark exits 1.  Our peak memory on the 1M file must stay within
 * 8 MiB of the 100k file's (memory does not grow with the file), or it
 * exits 1.  Output: sizes, times and peaks, then
 * "RATIO parse_vs_xmllint=<ours / xmllint on the 1M file>".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "custody/custody.h"
#include "bench/bench_util.h"

#define REPS 3

struct result {
  double seconds;
  long maxrss_kb;
  bool ok;
};

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A valid ISIN-shaped identifier for position @i: "US" + 9 digits of i + a digit. */
static void isin_of(uint64_t i, char out[CUSTODY_ISIN_LEN + 1])
{
  snprintf(out, CUSTODY_ISIN_LEN + 1, "US%09" PRIu64 "%u", i % 1000000000u, (unsigned)(i % 10));
}

/* Writes @n positions to @path; their aggregate sum (in units of 10^-17) goes to @sum. */
static int generate(const char *path, uint64_t n, __int128 *sum)
{
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  static char buf[1 << 20];
  setvbuf(f, buf, _IOFBF, sizeof buf);
  struct custody_stmt st;
  memset(&st, 0, sizeof st);
  st.kind = CUSTODY_KIND_SEMT002;
  snprintf(st.stmt_id, sizeof st.stmt_id, "BENCH-%" PRIu64, n);
  st.page_no = 1;
  st.last_page = true;
  cal_day(2025, 6, 30, &st.stmt_day);
  st.stmt_ms = (int64_t)st.stmt_day * 86400000 + 86399000;
  st.stmt_has_time = true;
  snprintf(st.frequency, sizeof st.frequency, "DAIL");
  st.update = CUSTODY_UPDATE_COMPLETE;
  st.basis = CUSTODY_BASIS_SETT;
  st.activity = true;
  snprintf(st.account_owner, sizeof st.account_owner, "ISSUER-0001");
  snprintf(st.account_servicer, sizeof st.account_servicer, "EXAMCHZZXXX");
  snprintf(st.safekeeping_account, sizeof st.safekeeping_account, "OMNI-TOKEN-RESERVE-01");
  int rc = custody_semt002_write_begin(f, &st);
  *sum = 0;
  struct custody_position p;
  memset(&p, 0, sizeof p);
  for (uint64_t i = 0; i < n && rc == 0; i++) {
    isin_of(i, p.isin);
    uint64_t r = xorshift64();
    /* whole shares up to 10^7, one in four with 6 decimals */
    __int128 units = (__int128)(r % 10000000u) * 100000000000000000;
    if ((r >> 32) % 4 == 0)
      units += (__int128)((r >> 40) % 1000000u) * 100000000000;
    p.aggregate = (struct custody_qty){.present = true, .kind = CUSTODY_QTY_UNIT, .shrt = false};
    p.aggregate.qty = (struct money){units, CUSTODY_QTY_SCALE};
    p.available = p.aggregate;
    p.n_sub = 0;
    if (i % 10 == 0) {
      memcpy(p.sub[0].type, "PEND", 5);
      p.sub[0].qty = (struct custody_qty){.present = true, .kind = CUSTODY_QTY_UNIT};
      p.sub[0].qty.qty =
          (struct money){(__int128)((r >> 8) % 1000u) * 100000000000000000, CUSTODY_QTY_SCALE};
      p.n_sub = 1;
    }
    *sum += units;
    rc = custody_semt002_write_position(f, &p);
  }
  if (rc == 0)
    rc = custody_semt002_write_end(f);
  if (fclose(f) != 0)
    rc = -1;
  return rc;
}

struct tally {
  uint64_t n;
  __int128 sum;
};

static int count(void *cls, const struct custody_stmt *st, const struct custody_position *p)
{
  struct tally *t = cls;
  (void)st;
  t->n++;
  t->sum += p->aggregate.qty.v;
  return 0;
}

/* Our parser in a forked child; it reports its tally through a pipe. */
static struct result run_ours(const char *path, uint64_t want_n, __int128 want_sum)
{
  struct result res = {0, 0, false};
  int fds[2];
  if (pipe(fds) != 0)
    return res;
  double t0 = now_s();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    struct tally t = {0, 0};
    int fd = open(path, O_RDONLY);
    struct custody_limits lim;
    custody_limits_default(&lim);
    struct custody_error err;
    int rc = fd < 0 ? -ERR_IO : custody_semt002_parse_fd(fd, &lim, NULL, count, &t, &err);
    if (rc != 0)
      fprintf(stderr, "bench_custody: parse failed: %d %s at %s\n", rc, err.msg, err.where);
    ssize_t w = write(fds[1], &t, sizeof t);
    _exit(rc == 0 && w == (ssize_t)sizeof t ? 0 : 1);
  }
  close(fds[1]);
  struct tally t = {0, 0};
  ssize_t got = read(fds[0], &t, sizeof t);
  close(fds[0]);
  int status = 0;
  struct rusage ru;
  if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
    return res;
  res.seconds = now_s() - t0;
  res.maxrss_kb = ru.ru_maxrss;
  res.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && got == (ssize_t)sizeof t &&
           t.n == want_n && t.sum == want_sum;
  if (!res.ok)
    fprintf(stderr, "bench_custody: our parse counted %" PRIu64 " positions, want %" PRIu64 "\n",
            t.n, want_n);
  return res;
}

static struct result run_xmllint(const char *xmllint, const char *path)
{
  struct result res = {0, 0, false};
  double t0 = now_s();
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0)
      dup2(devnull, 1);
    execl(xmllint, "xmllint", "--stream", "--noout", path, (char *)NULL);
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
    return res;
  res.seconds = now_s() - t0;
  res.maxrss_kb = ru.ru_maxrss;
  res.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!res.ok)
    fprintf(stderr, "bench_custody: xmllint failed (status %d)\n", status);
  return res;
}

static const char *find_xmllint(void)
{
  static char buf[4096];
  const char *path = getenv("PATH");
  if (path == NULL)
    path = "/usr/bin:/bin";
  while (*path != '\0') {
    size_t n = strcspn(path, ":");
    snprintf(buf, sizeof buf, "%.*s/xmllint", (int)n, path);
    if (access(buf, X_OK) == 0)
      return buf;
    path += n + (path[n] == ':');
  }
  return NULL;
}

struct measured {
  struct result ours, ref;
  off_t bytes;
};

static int measure(const char *dir, const char *xmllint, uint64_t n, struct measured *m)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/semt002-%" PRIu64 ".xml", dir, n);
  __int128 sum;
  double g0 = now_s();
  if (generate(path, n, &sum) != 0) {
    fprintf(stderr, "bench_custody: cannot write %s\n", path);
    return -1;
  }
  struct stat sb;
  stat(path, &sb);
  m->bytes = sb.st_size;
  printf("%" PRIu64 " positions: %.1f MiB written in %.2f s\n", n, (double)sb.st_size / 1048576.0,
         now_s() - g0);
  m->ours.seconds = m->ref.seconds = 1e30;
  for (int r = 0; r < REPS; r++) {
    struct result a = run_ours(path, n, sum), b = run_xmllint(xmllint, path);
    if (!a.ok || !b.ok) {
      unlink(path);
      return -1;
    }
    if (a.seconds < m->ours.seconds)
      m->ours.seconds = a.seconds;
    if (b.seconds < m->ref.seconds)
      m->ref.seconds = b.seconds;
    if (a.maxrss_kb > m->ours.maxrss_kb)
      m->ours.maxrss_kb = a.maxrss_kb;
    if (b.maxrss_kb > m->ref.maxrss_kb)
      m->ref.maxrss_kb = b.maxrss_kb;
  }
  unlink(path);
  double mib = (double)m->bytes / 1048576.0;
  printf("  ours:    %.3f s (%.0f MiB/s, %.0f positions/s), peak %ld KiB\n", m->ours.seconds,
         mib / m->ours.seconds, (double)n / m->ours.seconds, m->ours.maxrss_kb);
  printf("  xmllint: %.3f s (%.0f MiB/s), peak %ld KiB\n", m->ref.seconds, mib / m->ref.seconds,
         m->ref.maxrss_kb);
  return 0;
}

int main(void)
{
  const char *xmllint = find_xmllint();
  if (xmllint == NULL) {
    fprintf(stderr, "bench_custody: xmllint not found (Debian package libxml2-utils)\n");
    return 1;
  }
  char dir[] = "/tmp/bench-custody-XXXXXX";
  if (mkdtemp(dir) == NULL) {
    perror("bench_custody: mkdtemp");
    return 1;
  }
  struct measured small, big;
  memset(&small, 0, sizeof small);
  memset(&big, 0, sizeof big);
  int rc = measure(dir, xmllint, 100000, &small);
  if (rc == 0)
    rc = measure(dir, xmllint, 1000000, &big);
  rmdir(dir);
  if (rc != 0)
    return 1;
  printf("peak memory ours: %ld KiB (100k) -> %ld KiB (1M); xmllint: %ld KiB -> %ld KiB\n",
         small.ours.maxrss_kb, big.ours.maxrss_kb, small.ref.maxrss_kb, big.ref.maxrss_kb);
  if (big.ours.maxrss_kb > small.ours.maxrss_kb + 8192) {
    fprintf(stderr, "bench_custody: our peak memory grows with the file\n");
    return 1;
  }
  printf("RATIO parse_vs_xmllint=%.3f\n", big.ours.seconds / big.ref.seconds);
  return 0;
}
