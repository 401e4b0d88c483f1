/*
 * Test helpers: per-test databases on the server the harness started,
 * temporary folders, process inspection through /proc, and child
 * processes (spawned in their own process group with an exact
 * environment, waited for with bounded waits).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/testsupport.h"

static PGconn *admin(void)
{
  const char *url = getenv("BACKSTOCK_TEST_DATABASE_URL");
  if (url == NULL || url[0] == '\0') {
    fail_msg("BACKSTOCK_TEST_DATABASE_URL is not set; this test needs a real PostgreSQL "
             "(run the tests through scripts/test.sh)");
  }
  PGconn *pg = PQconnectdb(url);
  if (PQstatus(pg) != CONNECTION_OK) {
    fail_msg("cannot reach the test PostgreSQL: %s", PQerrorMessage(pg));
  }
  return pg;
}

static void admin_exec(const char *sql)
{
  PGconn *pg = admin();
  PGresult *r = PQexec(pg, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
    fail_msg("%s: %s", sql, PQresultErrorMessage(r));
  }
  PQclear(r);
  PQfinish(pg);
}

void ts_db_create(const char *tag, struct ts_db *out)
{
  static unsigned counter;
  char sql[256];
  snprintf(out->conninfo, sizeof out->conninfo, "%s", getenv("BACKSTOCK_TEST_DATABASE_URL") ?: "");
  snprintf(out->name, sizeof out->name, "bst_%s_%ld_%u", tag, (long)getpid(), counter++);
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", out->name);
  admin_exec(sql);
  snprintf(sql, sizeof sql, "CREATE DATABASE %s", out->name);
  admin_exec(sql);
}

void ts_db_drop(const struct ts_db *db)
{
  char sql[256];
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db->name);
  admin_exec(sql);
}

/* Append a conninfo value, single-quoted with \ and ' escaped. */
static void put_quoted(char *dst, size_t size, size_t *pos, const char *v)
{
  if (*pos + 1 < size)
    dst[(*pos)++] = '\'';
  for (; *v != '\0' && *pos + 3 < size; v++) {
    if (*v == '\'' || *v == '\\')
      dst[(*pos)++] = '\\';
    dst[(*pos)++] = *v;
  }
  if (*pos + 1 < size)
    dst[(*pos)++] = '\'';
  dst[*pos] = '\0';
}

void ts_db_conninfo(const struct ts_db *db, char *out, size_t size)
{
  char *err = NULL;
  PQconninfoOption *opts = PQconninfoParse(db->conninfo, &err);
  size_t pos = 0;
  if (opts == NULL)
    fail_msg("cannot parse the test database URL: %s", err != NULL ? err : "?");
  out[0] = '\0';
  for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
    if (o->val == NULL || strcmp(o->keyword, "dbname") == 0)
      continue;
    int n = snprintf(out + pos, size - pos, "%s%s=", pos > 0 ? " " : "", o->keyword);
    assert_true(n > 0 && (size_t)n < size - pos);
    pos += (size_t)n;
    put_quoted(out, size, &pos, o->val);
  }
  int n = snprintf(out + pos, size - pos, " dbname=%s", db->name);
  assert_true(n > 0 && (size_t)n < size - pos);
  PQconninfoFree(opts);
}

struct db_conn *ts_db_connect(const struct ts_db *db, unsigned max_retries)
{
  struct db_conn *c = NULL;
  int rc = db_connect(db->conninfo, db->name, max_retries, &c);
  if (rc != 0)
    fail_msg("cannot connect to %s: %s", db->name, err_text(rc));
  return c;
}

void ts_sql(struct db_conn *c, const char *sql)
{
  /* A statement on its own (not inside a BEGIN of the test's) that loses
   * a serialization race with processes running beside the test is run
   * again, as db_txn() would; at most 20 times. */
  for (int attempt = 1;; attempt++) {
    enum db_qs qs = db_exec_sql(c, sql);
    if (qs >= 0)
      return;
    if (qs != DB_QS_SOFT || c->in_txn || attempt == 20)
      fail_msg("%s: %s", sql, c->last_error);
    util_sleep_ms((unsigned)(2 * attempt));
  }
}

char *ts_sql_value(struct db_conn *c, const char *sql)
{
  PGresult *r = PQexec(c->pg, sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    fail_msg("%s: %s", sql, PQresultErrorMessage(r));
  char *v = strdup(PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
  PQclear(r);
  return v;
}

long long ts_sql_int(struct db_conn *c, const char *sql)
{
  char *v = ts_sql_value(c, sql);
  long long n = strtoll(v, NULL, 10);
  free(v);
  return n;
}

struct db_conn *ts_db_migrated(const char *tag, struct ts_db *db, unsigned max_retries,
                               const struct db_migration *m, size_t n)
{
  char msg[256];
  ts_db_create(tag, db);
  struct db_conn *c = ts_db_connect(db, max_retries);
  int rc = db_migrate(c, m, n, NULL, msg, sizeof msg);
  if (rc != 0)
    fail_msg("migrate: %s: %s", err_text(rc), msg);
  return c;
}

void ts_db_done(struct db_conn **c, const struct ts_db *db)
{
  db_close(*c);
  *c = NULL;
  ts_db_drop(db);
}

void ts_tmpdir(char *out, size_t size)
{
  snprintf(out, size, "/tmp/bstest-XXXXXX");
  if (mkdtemp(out) == NULL || chmod(out, 0755) != 0)
    fail_msg("mkdtemp: %s", strerror(errno));
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void)sb;
  (void)ftw;
  if (flag == FTW_DP)
    rmdir(path);
  else
    unlink(path);
  return 0;
}

void ts_rmtree(const char *path)
{
  nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void ts_source_path(char *out, size_t size, const char *rel)
{
  const char *root = getenv("BACKSTOCK_TEST_SOURCE_ROOT");
  if (root == NULL)
    fail_msg("BACKSTOCK_TEST_SOURCE_ROOT is not set (run through meson test)");
  snprintf(out, size, "%s/%s", root, rel);
}

void ts_build_path(char *out, size_t size, const char *rel)
{
  const char *root = getenv("BACKSTOCK_TEST_BUILD_ROOT");
  if (root == NULL)
    fail_msg("BACKSTOCK_TEST_BUILD_ROOT is not set (run through meson test)");
  snprintf(out, size, "%s/%s", root, rel);
}

static bool numeric(const char *s)
{
  for (; *s != '\0'; s++)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

int ts_procs_in_dir(const char *dir)
{
  int n = 0;
  DIR *d = opendir("/proc");
  struct dirent *e;
  char real[PATH_MAX];
  if (realpath(dir, real) == NULL)
    snprintf(real, sizeof real, "%s", dir);
  while (d != NULL && (e = readdir(d)) != NULL) {
    char link[300], cwd[PATH_MAX];
    if (!numeric(e->d_name))
      continue;
    snprintf(link, sizeof link, "/proc/%s/cwd", e->d_name);
    ssize_t k = readlink(link, cwd, sizeof cwd - 1);
    if (k <= 0)
      continue;
    cwd[k] = '\0';
    if (strcmp(cwd, real) == 0)
      n++;
  }
  if (d != NULL)
    closedir(d);
  return n;
}

int ts_procs_with_env(const char *needle)
{
  int n = 0;
  size_t nl = strlen(needle);
  DIR *d = opendir("/proc");
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    char path[300];
    if (!numeric(e->d_name) || strtol(e->d_name, NULL, 10) == (long)getpid())
      continue;
    snprintf(path, sizeof path, "/proc/%s/environ", e->d_name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
      continue;
    char buf[65536];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    for (size_t i = 0; i + nl <= len;) {
      if (memcmp(buf + i, needle, nl) == 0 && (i + nl == len || buf[i + nl] == '\0')) {
        n++;
        break;
      }
      i += strnlen(buf + i, len - i) + 1;
    }
  }
  if (d != NULL)
    closedir(d);
  return n;
}

int ts_wait_no_procs(const char *dir, unsigned ms)
{
  int64_t end = util_mono_ms() + ms;
  int n;
  while ((n = ts_procs_in_dir(dir)) > 0 && util_mono_ms() < end)
    util_sleep_ms(100);
  return n;
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

uint16_t ts_free_port(void)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  socklen_t len = sizeof a;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    fail_msg("socket: %s", strerror(errno));
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    int e = errno;
    close(fd);
    fail_msg("bind 127.0.0.1:0: %s", strerror(e));
  }
  close(fd);
  if (ntohs(a.sin_port) == 0)
    fail_msg("no free port on 127.0.0.1");
  return ntohs(a.sin_port);
}

pid_t ts_spawn(char *const argv[], const char *const env[], const char *out_path,
               const char *err_path)
{
  static const char *const empty[] = {NULL};
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    fail_msg("fork: %s", strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
      _exit(126);
    /* The test may have blocked or ignored signals; the child starts clean. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    execve(argv[0], argv, (char *const *)(env != NULL ? env : empty));
    _exit(127);
  }
  setpgid(pid, pid); /* also here, so no signal can miss the group */
  return pid;
}

bool ts_wait_exit(pid_t pid, unsigned ms, int *status)
{
  int st = 0;
  int64_t end = util_mono_ms() + ms;
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      if (status != NULL)
        *status = st;
      return true;
    }
    if (r < 0 && errno != EINTR)
      fail_msg("waitpid(%ld): %s", (long)pid, strerror(errno));
    if (util_mono_ms() >= end)
      return false;
    util_sleep_ms(20);
  }
}

void ts_kill(pid_t pid, int sig)
{
  if (pid > 0)
    kill(-pid, sig);
}

void ts_dump_file(const char *title, const char *path)
{
  enum { MAX = 32 * 1024 };
  char *buf = NULL;
  size_t len = 0;
  if (util_read_file(path, 64u << 20, &buf, &len) != 0)
    return;
  if (len > 0)
    fprintf(stderr, "----- %s (%s)%s -----\n%s%s----- end of %s -----\n", title, path,
            len > MAX ? ", last part" : "", len > MAX ? buf + len - MAX : buf,
            buf[len - 1] == '\n' ? "" : "\n", title);
  free(buf);
}

/* The first whole line of @text starting with @prefix, or NULL; *n its length. */
static const char *find_line(const char *text, size_t len, const char *prefix, size_t *n)
{
  size_t pl = strlen(prefix);
  for (size_t i = 0; i < len;) {
    const char *nl = memchr(text + i, '\n', len - i);
    if (nl == NULL)
      return NULL;
    size_t ll = (size_t)(nl - (text + i));
    if (ll >= pl && memcmp(text + i, prefix, pl) == 0) {
      *n = ll;
      return text + i;
    }
    i += ll + 1;
  }
  return NULL;
}

bool ts_wait_line(const char *path, const char *prefix, unsigned ms, char *buf, size_t size)
{
  int64_t end = util_mono_ms() + ms;
  for (;;) {
    char *text = NULL;
    size_t len = 0, n = 0;
    if (util_read_file(path, 16u << 20, &text, &len) == 0) {
      const char *line = find_line(text, len, prefix, &n);
      if (line != NULL) {
        if (size > 0) {
          size_t k = n < size - 1 ? n : size - 1;
          memcpy(buf, line, k);
          buf[k] = '\0';
        }
        free(text);
        return true;
      }
      free(text);
    }
    if (util_mono_ms() >= end)
      return false;
    util_sleep_ms(20);
  }
}

void ts_sim_init(struct ts_sim *s, const char *rel, const char *tag, const struct db_migration *m,
                 size_t n)
{
  char bin[PATH_MAX], conninfo[2048];
  memset(s, 0, sizeof *s);
  ts_build_path(bin, sizeof bin, rel);
  if (realpath(bin, s->bin) == NULL || access(s->bin, X_OK) != 0)
    fail_msg("%s is not built", bin);
  const char *p = getenv("PATH");
  snprintf(s->path_env, sizeof s->path_env, "PATH=%s", p != NULL ? p : "/usr/bin:/bin");
  ts_tmpdir(s->tmp, sizeof s->tmp);
  s->c = ts_db_migrated(tag, &s->db, 10, m, n);
  ts_db_conninfo(&s->db, conninfo, sizeof conninfo);
  snprintf(s->url_env, sizeof s->url_env, "BACKSTOCK_DATABASE_URL=%s", conninfo);
}

void ts_sim_start(struct ts_sim *s, const char *config, const char *prefix, unsigned ms)
{
  char line[256], title[96];
  int st;
  const char *name = strrchr(s->bin, '/') + 1;
  snprintf(title, sizeof title, "%s stderr", name);
  s->starts++;
  snprintf(s->conf, sizeof s->conf, "%s/sim-%u.conf", s->tmp, s->starts);
  snprintf(s->out, sizeof s->out, "%s/sim-%u.out", s->tmp, s->starts);
  snprintf(s->err, sizeof s->err, "%s/sim-%u.err", s->tmp, s->starts);
  FILE *f = fopen(s->conf, "w");
  assert_non_null(f);
  fputs(config, f);
  assert_int_equal(fclose(f), 0);
  char *argv[] = {s->bin, "--config", s->conf, NULL};
  const char *env[] = {s->path_env, s->url_env, NULL};
  s->pid = ts_spawn(argv, env, s->out, s->err);
  int64_t end = util_mono_ms() + ms;
  while (!ts_wait_line(s->out, prefix, 100, line, sizeof line)) {
    if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
      s->pid = 0;
      ts_dump_file(title, s->err);
      fail_msg("%s ended before listening", name);
    }
    if (util_mono_ms() >= end) {
      ts_dump_file(title, s->err);
      fail_msg("%s printed no listening line within %u ms", name, ms);
    }
  }
  s->port = (uint16_t)strtol(line + strlen(prefix), NULL, 10);
  assert_true(s->port > 0);
}

void ts_sim_stop(struct ts_sim *s, unsigned ms)
{
  int st = 0;
  kill(s->pid, SIGTERM);
  if (!ts_wait_exit(s->pid, ms, &st)) {
    ts_kill(s->pid, SIGKILL);
    ts_wait_exit(s->pid, ms, NULL);
    s->pid = 0;
    fail_msg("%s did not stop within %u ms", strrchr(s->bin, '/') + 1, ms);
  }
  s->pid = 0;
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

void ts_sim_free(struct ts_sim *s)
{
  if (s->pid > 0) {
    ts_kill(s->pid, SIGKILL);
    ts_wait_exit(s->pid, 20000, NULL);
    s->pid = 0;
  }
  if (s->db.name[0] != '\0')
    ts_db_done(&s->c, &s->db);
  if (s->tmp[0] != '\0')
    ts_rmtree(s->tmp);
}

void ts_child_spawn(struct ts_child *ch, const char *dir, unsigned n, const char *what,
                    char *const argv[], const char *const env[])
{
  ch->what = what;
  snprintf(ch->out, sizeof ch->out, "%s/child-%u.out", dir, n);
  snprintf(ch->err, sizeof ch->err, "%s/child-%u.err", dir, n);
  ch->pid = ts_spawn(argv, env, ch->out, ch->err);
}

bool ts_child_wait(struct ts_child *ch, unsigned ms, int *st)
{
  if (ch->pid <= 0 || !ts_wait_exit(ch->pid, ms, st))
    return false;
  ch->pid = 0;
  return true;
}

void ts_child_kill(struct ts_child *ch)
{
  int st;
  if (ch->pid > 0) {
    ts_kill(ch->pid, SIGKILL);
    ts_child_wait(ch, 5000, &st);
  }
}

void ts_child_stop(struct ts_child *ch, unsigned ms)
{
  int st = 0;
  if (ch->pid <= 0)
    fail_msg("%s is not running", ch->what);
  kill(ch->pid, SIGTERM);
  if (!ts_child_wait(ch, ms, &st))
    fail_msg("%s did not stop within %u ms of SIGTERM", ch->what, ms);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("%s ended with status %d after SIGTERM", ch->what, st);
}

void ts_child_dump(const struct ts_child *ch)
{
  if (ch->err[0] != '\0')
    ts_dump_file(ch->what, ch->err);
}
