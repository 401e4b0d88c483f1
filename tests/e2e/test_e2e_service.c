/*
 * End-to-end tests of the service binary (services/backstock) with its
 * embedded PostgreSQL: the real executable runs as a child process (in
 * its own process group, with an explicit environment and no
 * BACKSTOCK_DATABASE_URL) and is asked GET /healthz over HTTP.
 *
 * The scenarios share one data folder and run in order: first start
 * (initdb), SIGTERM (exit 0, no stray postgres, no guardian left), a
 * restart that reuses the cluster, kill -9 of the service alone (the
 * guardian stops PostgreSQL), kill -9 of service, guardian and postmaster
 * at once (the next start recovers), a stale postmaster.pid naming a live
 * unrelated process, then the service_runs rows those starts left (one
 * with stopped_at NULL per killed service).  Independent of the folder:
 * bad configuration exits 2, "migrate" against an external database,
 * "version", and the service run by an ordinary user (as root: the
 * "postgres" user), whose PostgreSQL then runs as that user.  Every wait is bounded; a failed test
 * prints the child's stderr and the PostgreSQL log.  Longer than most files: the scenarios share
 * their process and HTTP helpers, which belong to no library.
 */
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yajl/yajl_tree.h>

#include "migrations/migrations.h"
#include "tests/support/testsupport.h"

#define START_WAIT_MS 90000
#define STOP_WAIT_MS  30000
#define GRACE_MS      5000 /* a stopped postmaster may outlive its pidfile briefly */
#define BODY_CAP      8192
#define MAX_ENV       16

/* What the scenarios share. */
struct e2e {
  char tmp[PATH_MAX];         /* ts_tmpdir(), removed at the end */
  char var[PATH_MAX];         /* tmp/var: the service's data folder */
  char bin[PATH_MAX];         /* the service binary (links resolved) */
  char marker[PATH_MAX + 32]; /* "BACKSTOCK_DATA_DIR=<var>" */
  char out_path[PATH_MAX];    /* stdout and stderr of the last child */
  char err_path[PATH_MAX];
  unsigned spawned;
  uint16_t port;
  pid_t svc;    /* the running service, 0 when none */
  bool as_user; /* spawn as as_uid/as_gid (a root test running a non-root service) */
  uid_t as_uid;
  gid_t as_gid;
  bool have_pgver;
  struct stat pgver; /* var/pg/PG_VERSION after the first start */
  unsigned starts;   /* services that answered 200 */
  unsigned killed;   /* ... of which were killed with SIGKILL */
  pid_t killed_pids[8];
  struct db_cluster *cl; /* the cluster opened by test_service_runs */
  struct db_conn *conn;  /* ... and its connection */
  bool ok;               /* the current test reached its end */
};

/* ------------------------------------------------------------------ */
/* Files and processes                                                 */
/* ------------------------------------------------------------------ */

static void path_in(char *out, size_t size, const char *dir, const char *rel)
{
  int n = snprintf(out, size, "%s/%s", dir, rel);
  if (n < 0 || (size_t)n >= size)
    fail_msg("path too long: %s/%s", dir, rel);
}

/* The cluster folder (var/pg with links resolved), or "" before initdb. */
static void pg_dir(const struct e2e *e, char *out)
{
  char link[PATH_MAX];
  path_in(link, sizeof link, e->var, "pg");
  if (realpath(link, out) == NULL)
    out[0] = '\0';
}

/* Whole file as a string ("" when missing); free() it. */
static char *slurp(const char *path)
{
  char *buf = NULL;
  if (util_read_file(path, 1 << 20, &buf, NULL) != 0)
    return strdup("");
  return buf;
}

static void dump_tail(const char *title, const char *path, size_t max)
{
  char *s = slurp(path);
  size_t n = strlen(s);
  if (n > 0)
    fprintf(stderr, "----- %s (%s)%s -----\n%s\n----- end -----\n", title, path,
            n > max ? ", last part" : "", n > max ? s + n - max : s);
  free(s);
}

/* On failure: what the service and PostgreSQL said. */
static void dump_logs(const struct e2e *e)
{
  char pglog[PATH_MAX];
  if (e->spawned > 0) {
    dump_tail("child stdout", e->out_path, 4096);
    dump_tail("child stderr", e->err_path, 16384);
  }
  path_in(pglog, sizeof pglog, e->var, "log/postgresql.log");
  dump_tail("PostgreSQL log", pglog, 8192);
}

/* A port that was free a moment ago on 127.0.0.1. */
static uint16_t free_port(void)
{
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  socklen_t len = sizeof a;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  assert_true(ntohs(a.sin_port) != 0);
  return ntohs(a.sin_port);
}

/* Set "KEY=value" in @env (NULL-ended, at most MAX_ENV entries), replacing KEY. */
static void env_put(const char **env, const char *kv)
{
  size_t kl = strcspn(kv, "=");
  size_t i = 0;
  for (; env[i] != NULL; i++)
    if (strncmp(env[i], kv, kl + 1) == 0) {
      env[i] = kv;
      return;
    }
  assert_true(i + 1 < MAX_ENV);
  env[i] = kv;
  env[i + 1] = NULL;
}

/*
 * Run the binary with @cmd (NULL: serve) in its own process group,
 * stdout/stderr to fresh files in the temporary folder.  The environment
 * holds exactly the data folder, the listen address on e->port, the log
 * level and PATH, then @extra ("KEY=value" entries, NULL-ended or NULL)
 * which may replace them.
 */
static pid_t spawn(struct e2e *e, const char *cmd, const char *const *extra)
{
  char listen[64], path[PATH_MAX + 8], name[64];
  const char *env[MAX_ENV + 1] = {NULL};
  const char *p = getenv("PATH");
  snprintf(listen, sizeof listen, "BACKSTOCK_LISTEN=127.0.0.1:%u", e->port);
  snprintf(path, sizeof path, "PATH=%s", p != NULL ? p : "/usr/bin:/bin");
  env_put(env, e->marker);
  env_put(env, listen);
  env_put(env, "BACKSTOCK_LOG_LEVEL=info");
  env_put(env, path);
  for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
    env_put(env, extra[i]);
  e->spawned++;
  snprintf(name, sizeof name, "child-%u.out", e->spawned);
  path_in(e->out_path, sizeof e->out_path, e->tmp, name);
  snprintf(name, sizeof name, "child-%u.err", e->spawned);
  path_in(e->err_path, sizeof e->err_path, e->tmp, name);
  char *argv[] = {e->bin, (char *)cmd, NULL};
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY);
    int out = open(e->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(e->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
      _exit(126);
    if (e->as_user && (setgroups(0, NULL) != 0 || setgid(e->as_gid) != 0 || setuid(e->as_uid) != 0))
      _exit(125);
    execve(e->bin, argv, (char *const *)env);
    _exit(127);
  }
  setpgid(pid, pid); /* also here, so no signal can miss the group */
  return pid;
}

/* Wait at most @ms for child @pid to end; true with its status in *st. */
static bool wait_exit(pid_t pid, unsigned ms, int *st)
{
  int64_t end = util_mono_ms() + ms;
  for (;;) {
    pid_t r = waitpid(pid, st, WNOHANG);
    if (r == pid)
      return true;
    if (r < 0 && errno != EINTR)
      fail_msg("waitpid(%ld): %s", (long)pid, strerror(errno));
    if (util_mono_ms() >= end)
      return false;
    util_sleep_ms(100);
  }
}

/* Run a command to its end (at most 60 s); returns its exit status. */
static int run_cmd(struct e2e *e, const char *cmd, const char *const *extra)
{
  int st;
  pid_t pid = spawn(e, cmd, extra);
  if (!wait_exit(pid, 60000, &st)) {
    kill(-pid, SIGKILL);
    waitpid(pid, &st, 0);
    fail_msg("backstock %s did not end within 60 s", cmd != NULL ? cmd : "");
  }
  if (!WIFEXITED(st))
    fail_msg("backstock %s died of signal %d", cmd != NULL ? cmd : "", WTERMSIG(st));
  return WEXITSTATUS(st);
}

/* Whether @pid is gone (or a zombie nobody reaped yet). */
static bool gone(pid_t pid)
{
  char path[64], *s;
  if (kill(pid, 0) != 0 && errno == ESRCH)
    return true;
  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  s = slurp(path);
  const char *rp = strrchr(s, ')');
  bool zombie = rp != NULL && rp[1] == ' ' && rp[2] == 'Z';
  free(s);
  return zombie;
}

/* Wait until no process carries @needle in its environment; the last count. */
static int wait_no_env(const char *needle, unsigned ms)
{
  int64_t end = util_mono_ms() + ms;
  int n;
  while ((n = ts_procs_with_env(needle)) > 0 && util_mono_ms() < end)
    util_sleep_ms(100);
  return n;
}

/* Nothing left: no process in the cluster folder, none with the marker. */
static void assert_no_leftovers(const struct e2e *e, unsigned ms)
{
  char dir[PATH_MAX];
  pg_dir(e, dir);
  assert_true(dir[0] != '\0');
  int in_dir = ts_wait_no_procs(dir, ms);
  int with_env = wait_no_env(e->marker, ms);
  if (in_dir != 0 || with_env != 0)
    fail_msg("after %u ms: %d processes in %s, %d with %s", ms, in_dir, dir, with_env, e->marker);
}

/* The guardian: the other process of our binary with the data folder's marker. */
static pid_t find_guardian(const struct e2e *e)
{
  DIR *d = opendir("/proc");
  struct dirent *de;
  pid_t found = 0;
  int n = 0;
  size_t ml = strlen(e->marker);
  assert_non_null(d);
  while ((de = readdir(d)) != NULL) {
    char path[300], exe[PATH_MAX];
    char *end;
    long pid = strtol(de->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == e->svc || pid == getpid())
      continue;
    snprintf(path, sizeof path, "/proc/%ld/exe", pid);
    ssize_t k = readlink(path, exe, sizeof exe - 1);
    if (k <= 0)
      continue;
    exe[k] = '\0';
    if (strcmp(exe, e->bin) != 0)
      continue;
    snprintf(path, sizeof path, "/proc/%ld/environ", pid);
    char *env = NULL;
    size_t len = 0;
    if (util_read_file(path, 1 << 20, &env, &len) != 0)
      continue;
    for (size_t i = 0; i < len; i += strnlen(env + i, len - i) + 1)
      if (strncmp(env + i, e->marker, ml) == 0 && env[i + ml] == '\0') {
        found = (pid_t)pid;
        n++;
        break;
      }
    free(env);
  }
  closedir(d);
  if (n != 1)
    fail_msg("want exactly one guardian of %s, found %d", e->var, n);
  return found;
}

/* The pid on the first line of var/pg/postmaster.pid, 0 when none. */
static pid_t postmaster_pid(const struct e2e *e)
{
  char path[PATH_MAX];
  path_in(path, sizeof path, e->var, "pg/postmaster.pid");
  char *s = slurp(path);
  long v = strtol(s, NULL, 10);
  free(s);
  return v > 0 && v < INT_MAX ? (pid_t)v : 0;
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */
/* ------------------------------------------------------------------ */

struct body {
  char buf[BODY_CAP];
  size_t len;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *cls)
{
  struct body *b = cls;
  size_t n = size * nmemb;
  if (b->len + n >= sizeof b->buf)
    return 0;
  memcpy(b->buf + b->len, data, n);
  b->len += n;
  b->buf[b->len] = '\0';
  return n;
}

/* GET /healthz once; the HTTP status, or 0 when nothing answered. */
static long get_healthz(uint16_t port, struct body *b)
{
  char url[64];
  long status = 0;
  CURL *h = curl_easy_init();
  assert_non_null(h);
  b->len = 0;
  b->buf[0] = '\0';
  snprintf(url, sizeof url, "http://127.0.0.1:%u/healthz", port);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
  if (curl_easy_perform(h) == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  return status;
}

static const char *str_at(yajl_val root, const char *a, const char *b)
{
  const char *path[3] = {a, b, NULL};
  yajl_val v = yajl_tree_get(root, path, yajl_t_string);
  if (v == NULL)
    fail_msg("no string %s.%s in the reply", a, b != NULL ? b : "");
  return YAJL_GET_STRING(v);
}

static long long int_at(yajl_val root, const char *a, const char *b)
{
  const char *path[3] = {a, b, NULL};
  yajl_val v = yajl_tree_get(root, path, yajl_t_number);
  if (v == NULL || !YAJL_IS_INTEGER(v))
    fail_msg("no integer %s.%s in the reply", a, b != NULL ? b : "");
  return YAJL_GET_INTEGER(v);
}

/*
 * Start the service and poll GET /healthz every 100 ms, at most 90 s,
 * until it answers 200.  Returns the parsed reply (yajl_tree_free it).
 */
static yajl_val start_service(struct e2e *e)
{
  struct body b;
  char err[128];
  int st;
  assert_int_equal(e->svc, 0);
  e->port = free_port();
  e->svc = spawn(e, NULL, NULL);
  int64_t end = util_mono_ms() + START_WAIT_MS;
  long status = 0;
  for (;;) {
    status = get_healthz(e->port, &b);
    if (status == 200)
      break;
    if (waitpid(e->svc, &st, WNOHANG) == e->svc) {
      e->svc = 0;
      fail_msg("the service ended before answering (%s %d)",
               WIFEXITED(st) ? "exit status" : "signal",
               WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    }
    if (util_mono_ms() >= end)
      fail_msg("no 200 from /healthz within %d ms (last status %ld: %s)", START_WAIT_MS, status,
               b.buf);
    util_sleep_ms(100);
  }
  e->starts++;
  yajl_val v = yajl_tree_parse(b.buf, err, sizeof err);
  if (v == NULL)
    fail_msg("reply is not JSON (%s): %s", err, b.buf);
  assert_string_equal(str_at(v, "status", NULL), "ok");
  assert_string_equal(str_at(v, "database", "state"), "up");
  return v;
}

/* SIGTERM the service; it must exit with status 0 within 30 s. */
static void stop_service(struct e2e *e)
{
  int st;
  assert_true(e->svc > 0);
  assert_int_equal(kill(e->svc, SIGTERM), 0);
  if (!wait_exit(e->svc, STOP_WAIT_MS, &st))
    fail_msg("the service did not exit within %d ms of SIGTERM", STOP_WAIT_MS);
  e->svc = 0;
  if (!WIFEXITED(st))
    fail_msg("the service died of signal %d after SIGTERM", WTERMSIG(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

/* SIGKILL the service process alone and reap it. */
static void kill_service(struct e2e *e)
{
  int st;
  assert_true(e->svc > 0);
  assert_int_equal(kill(e->svc, SIGKILL), 0);
  assert_true(wait_exit(e->svc, STOP_WAIT_MS, &st));
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  assert_true(e->killed < sizeof e->killed_pids / sizeof e->killed_pids[0]);
  e->killed_pids[e->killed++] = e->svc;
  e->svc = 0;
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */
/* ------------------------------------------------------------------ */

/* After a test: kill what it left running and let the guardian stop PostgreSQL. */
static void reap_leftovers(struct e2e *e)
{
  char dir[PATH_MAX];
  int st;
  db_close(e->conn);
  e->conn = NULL;
  if (e->cl != NULL && db_cluster_stop(e->cl) != 0)
    fprintf(stderr, "db_cluster_stop failed\n");
  e->cl = NULL;
  if (e->svc > 0) {
    kill(-e->svc, SIGKILL);
    kill(e->svc, SIGKILL);
    waitpid(e->svc, &st, 0);
    e->svc = 0;
  }
  pg_dir(e, dir);
  if (dir[0] != '\0' && ts_wait_no_procs(dir, STOP_WAIT_MS) > 0) {
    fprintf(stderr, "leftover server in %s: stopping it\n", dir);
    db_cluster_stop_dir(e->var, NULL);
    ts_wait_no_procs(dir, STOP_WAIT_MS);
  }
}

static int group_setup(void **state)
{
  struct e2e *e = calloc(1, sizeof *e);
  char bin[PATH_MAX];
  if (e == NULL)
    return -1;
  log_setup(LOGL_WARN, LOG_FORMAT_TEXT, stderr);
  ts_build_path(bin, sizeof bin, "services/backstock");
  if (realpath(bin, e->bin) == NULL || access(e->bin, X_OK) != 0) {
    fprintf(stderr, "FATAL: %s is not built\n", bin);
    free(e);
    return -1;
  }
  ts_tmpdir(e->tmp, sizeof e->tmp);
  path_in(e->var, sizeof e->var, e->tmp, "var");
  snprintf(e->marker, sizeof e->marker, "BACKSTOCK_DATA_DIR=%s", e->var);
  *state = e;
  return 0;
}

static int group_teardown(void **state)
{
  struct e2e *e = *state;
  char link[PATH_MAX], target[PATH_MAX];
  struct stat st;
  if (e == NULL)
    return 0;
  reap_leftovers(e);
  /* Were the cluster relocated (see db_cluster.c), remove its real folder too. */
  path_in(link, sizeof link, e->var, "pg");
  if (lstat(link, &st) == 0 && S_ISLNK(st.st_mode) && realpath(link, target) != NULL &&
      strncmp(target, "/var/lib/backstock/pg-", 22) == 0)
    ts_rmtree(target);
  ts_rmtree(e->tmp);
  free(e);
  return 0;
}

static int test_setup(void **state)
{
  struct e2e *e = *state;
  e->ok = false;
  return 0;
}

static int test_teardown(void **state)
{
  struct e2e *e = *state;
  if (!e->ok)
    dump_logs(e);
  reap_leftovers(e);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Scenarios                                                           */
/* ------------------------------------------------------------------ */

/* a. First start: initdb, migrations, the lock file. */
static void test_first_start(void **state)
{
  struct e2e *e = *state;
  char pgver[PATH_MAX], lock[PATH_MAX], dir[PATH_MAX], pidtxt[32];
  assert_int_equal(access(e->var, F_OK), -1);
  yajl_val v = start_service(e);
  assert_true(
      YAJL_IS_TRUE(yajl_tree_get(v, (const char *[]){"database", "embedded", NULL}, yajl_t_any)));
  assert_int_equal(int_at(v, "database", "schema_version"), migrations_count);
  assert_int_equal(int_at(v, "database", "expected_schema_version"), migrations_count);
  assert_string_equal(str_at(v, "version", NULL), BACKSTOCK_VERSION);
  yajl_tree_free(v);

  path_in(pgver, sizeof pgver, e->var, "pg/PG_VERSION");
  path_in(lock, sizeof lock, e->var, "backstock.lock");
  assert_int_equal(stat(pgver, &e->pgver), 0);
  assert_true(S_ISREG(e->pgver.st_mode));
  e->have_pgver = true;
  char *s = slurp(lock);
  snprintf(pidtxt, sizeof pidtxt, "%ld\n", (long)e->svc);
  assert_string_equal(s, pidtxt);
  free(s);

  /* The checks of the later scenarios do see a running service. */
  pg_dir(e, dir);
  assert_true(ts_procs_in_dir(dir) >= 1);
  assert_true(ts_procs_with_env(e->marker) >= 2);
  assert_true(postmaster_pid(e) > 0);
  stop_service(e);
  e->ok = true;
}

/* b. SIGTERM: exit 0, then no postgres in the cluster folder and no guardian. */
static void test_sigterm(void **state)
{
  struct e2e *e = *state;
  struct body b;
  yajl_val v = start_service(e);
  yajl_tree_free(v);
  uint16_t port = e->port;
  stop_service(e);
  assert_no_leftovers(e, GRACE_MS);
  assert_int_equal(get_healthz(port, &b), 0);
  e->ok = true;
}

/* c. A restart reuses the cluster: PG_VERSION is the same file, untouched. */
static void test_restart_reuses_data(void **state)
{
  struct e2e *e = *state;
  char pgver[PATH_MAX];
  struct stat before, after;
  assert_true(e->have_pgver);
  path_in(pgver, sizeof pgver, e->var, "pg/PG_VERSION");
  assert_int_equal(stat(pgver, &before), 0);
  yajl_val v = start_service(e);
  assert_int_equal(int_at(v, "database", "schema_version"), migrations_count);
  yajl_tree_free(v);
  assert_int_equal(stat(pgver, &after), 0);
  assert_int_equal(after.st_ino, e->pgver.st_ino);
  assert_int_equal(after.st_mtim.tv_sec, e->pgver.st_mtim.tv_sec);
  assert_int_equal(after.st_mtim.tv_nsec, e->pgver.st_mtim.tv_nsec);
  assert_int_equal(after.st_ino, before.st_ino);
  stop_service(e);
  assert_no_leftovers(e, GRACE_MS);
  e->ok = true;
}

/* d. kill -9 of the service alone: its guardian stops PostgreSQL. */
static void test_kill_service(void **state)
{
  struct e2e *e = *state;
  char lock[PATH_MAX];
  yajl_val v = start_service(e);
  yajl_tree_free(v);
  pid_t pm = postmaster_pid(e);
  assert_true(pm > 0 && !gone(pm));
  kill_service(e);
  assert_no_leftovers(e, STOP_WAIT_MS);
  assert_true(gone(pm));
  /* The data folder's lock is free again.  An exiting guardian drops its
   * memory (its environ reads empty) a moment before its files, so allow
   * it that moment, as the service's own start does. */
  path_in(lock, sizeof lock, e->var, "backstock.lock");
  int fd = open(lock, O_RDWR | O_CLOEXEC);
  assert_true(fd >= 0);
  int64_t end = util_mono_ms() + 5000;
  int locked;
  while ((locked = flock(fd, LOCK_EX | LOCK_NB)) != 0 && util_mono_ms() < end)
    util_sleep_ms(20);
  assert_int_equal(locked, 0);
  close(fd);
  e->ok = true;
}

/* e. kill -9 of service, guardian and postmaster at once; the next start recovers. */
static void test_kill_everything(void **state)
{
  struct e2e *e = *state;
  char pidfile[PATH_MAX];
  yajl_val v = start_service(e);
  yajl_tree_free(v);
  pid_t guardian = find_guardian(e);
  pid_t pm = postmaster_pid(e);
  assert_true(pm > 0 && pm != e->svc && pm != guardian);
  int st;
  pid_t svc = e->svc;
  assert_int_equal(kill(svc, SIGKILL), 0);
  assert_int_equal(kill(guardian, SIGKILL), 0);
  assert_int_equal(kill(pm, SIGKILL), 0);
  assert_true(wait_exit(svc, STOP_WAIT_MS, &st));
  assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
  e->killed_pids[e->killed++] = svc;
  e->svc = 0;
  int64_t end = util_mono_ms() + STOP_WAIT_MS;
  while ((!gone(guardian) || !gone(pm)) && util_mono_ms() < end)
    util_sleep_ms(50);
  assert_true(gone(guardian) && gone(pm));
  /* Left behind: a pidfile naming a dead postmaster. */
  path_in(pidfile, sizeof pidfile, e->var, "pg/postmaster.pid");
  assert_int_equal(access(pidfile, F_OK), 0);
  assert_int_equal(postmaster_pid(e), pm);

  v = start_service(e);
  assert_int_equal(int_at(v, "database", "schema_version"), migrations_count);
  yajl_tree_free(v);
  pid_t pm2 = postmaster_pid(e);
  assert_true(pm2 > 0 && pm2 != pm);
  stop_service(e);
  assert_no_leftovers(e, GRACE_MS);
  e->ok = true;
}

/* f. A stale postmaster.pid whose pid is a live, unrelated process. */
static void test_stale_pidfile(void **state)
{
  struct e2e *e = *state;
  char pidfile[PATH_MAX], dir[PATH_MAX], text[PATH_MAX + 32];
  struct stat st;
  path_in(pidfile, sizeof pidfile, e->var, "pg/postmaster.pid");
  pg_dir(e, dir);
  assert_true(dir[0] != '\0');
  assert_int_equal(access(pidfile, F_OK), -1);
  int n = snprintf(text, sizeof text, "%ld\n%s\n", (long)getpid(), dir);
  int fd = open(pidfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, (size_t)n), n);
  close(fd);
  /* Owned like PostgreSQL's own, so only our recovery can explain success. */
  assert_int_equal(stat(dir, &st), 0);
  assert_int_equal(chown(pidfile, st.st_uid, st.st_gid), 0);

  yajl_val v = start_service(e);
  yajl_tree_free(v);
  pid_t pm = postmaster_pid(e);
  assert_true(pm > 0 && pm != getpid());
  stop_service(e);
  assert_no_leftovers(e, GRACE_MS);
  assert_int_equal(access(pidfile, F_OK), -1);
  e->ok = true;
}

/* g. One service_runs row per start; stopped_at NULL exactly for the killed ones. */
static void test_service_runs(void **state)
{
  struct e2e *e = *state;
  struct db_cluster *cl = NULL;
  struct db_conn *c = NULL;
  char want[128], dir[PATH_MAX], *s;
  size_t pos = 0;
  /* a, b, c, d, e (twice) and f ran, d and e's first start were killed. */
  assert_int_equal(e->starts, 7);
  assert_int_equal(e->killed, 2);
  want[0] = '\0';
  for (unsigned i = 0; i < e->killed; i++)
    pos += (size_t)snprintf(want + pos, sizeof want - pos, "%s%ld", i > 0 ? "," : "",
                            (long)e->killed_pids[i]);

  assert_int_equal(db_cluster_start(e->var, NULL, DB_CLUSTER_NO_GUARDIAN, &e->cl), 0);
  int rc = db_connect(db_cluster_conninfo(e->cl), NULL, 3, &e->conn);
  if (rc != 0)
    fail_msg("cannot connect to the embedded cluster: %s", err_text(rc));
  c = e->conn;
  s = ts_sql_value(c, "SELECT count(*) FROM service_runs");
  assert_string_equal(s, "7");
  free(s);
  s = ts_sql_value(c, "SELECT count(*) FROM service_runs WHERE stopped_at IS NULL");
  assert_string_equal(s, "2");
  free(s);
  s = ts_sql_value(c, "SELECT string_agg(pid::text, ',' ORDER BY id) FROM service_runs"
                      " WHERE stopped_at IS NULL");
  assert_string_equal(s, want);
  free(s);
  s = ts_sql_value(c, "SELECT count(DISTINCT pid) FROM service_runs"
                      " WHERE service = 'backstock' AND version = '" BACKSTOCK_VERSION "'");
  assert_string_equal(s, "7");
  free(s);
  s = ts_sql_value(c, "SELECT count(*) FROM service_runs WHERE stopped_at >= started_at");
  assert_string_equal(s, "5");
  free(s);
  s = ts_sql_value(c, "SELECT min(schema_version) || '-' || max(schema_version) FROM service_runs");
  char range[32];
  snprintf(range, sizeof range, "%zu-%zu", migrations_count, migrations_count);
  assert_string_equal(s, range);
  free(s);
  db_close(e->conn);
  e->conn = NULL;
  pg_dir(e, dir);
  cl = e->cl;
  e->cl = NULL;
  assert_int_equal(db_cluster_stop(cl), 0);
  assert_int_equal(ts_wait_no_procs(dir, GRACE_MS), 0);
  e->ok = true;
}

/* h. Bad configuration: exit status 2 and a line naming the variable. */
static void test_bad_config(void **state)
{
  struct e2e *e = *state;
  char data[PATH_MAX], dd[PATH_MAX + 32];
  path_in(data, sizeof data, e->tmp, "var-bad");
  snprintf(dd, sizeof dd, "BACKSTOCK_DATA_DIR=%s", data);
  e->port = free_port();

  const char *listen[] = {dd, "BACKSTOCK_LISTEN=nonsense", NULL};
  assert_int_equal(run_cmd(e, NULL, listen), 2);
  char *s = slurp(e->err_path);
  assert_string_equal(s, "backstock: BACKSTOCK_LISTEN: invalid configuration value\n");
  free(s);

  const char *port[] = {dd, "BACKSTOCK_LISTEN=127.0.0.1:70000", NULL};
  assert_int_equal(run_cmd(e, NULL, port), 2);
  s = slurp(e->err_path);
  assert_string_equal(s, "backstock: BACKSTOCK_LISTEN: invalid configuration value\n");
  free(s);

  const char *typo[] = {dd, "BACKSTOCK_LISTN=1", NULL};
  assert_int_equal(run_cmd(e, NULL, typo), 2);
  s = slurp(e->err_path);
  assert_string_equal(s, "backstock: BACKSTOCK_LISTN: unknown configuration key\n");
  free(s);

  /* Refused before touching anything. */
  assert_int_equal(access(data, F_OK), -1);
  e->ok = true;
}

/* i. "migrate" against an external database, twice; "version". */
static void test_migrate_and_version(void **state)
{
  struct e2e *e = *state;
  struct ts_db db;
  char conninfo[2048], url[2100], data[PATH_MAX], dd[PATH_MAX + 32], want[128];
  /* ts_db_create() would exit(), skipping the cleanup: fail here instead. */
  const char *admin = getenv("BACKSTOCK_TEST_DATABASE_URL");
  if (admin == NULL || admin[0] == '\0')
    fail_msg("BACKSTOCK_TEST_DATABASE_URL is not set; this test needs a real PostgreSQL");
  ts_db_create("e2emig", &db);
  ts_db_conninfo(&db, conninfo, sizeof conninfo);
  snprintf(url, sizeof url, "BACKSTOCK_DATABASE_URL=%s", conninfo);
  path_in(data, sizeof data, e->tmp, "var-migrate");
  snprintf(dd, sizeof dd, "BACKSTOCK_DATA_DIR=%s", data);
  e->port = free_port();
  const char *env[] = {dd, url, NULL};
  snprintf(want, sizeof want, "%zu", migrations_count);

  for (int round = 0; round < 2; round++) {
    int st = run_cmd(e, "migrate", env);
    if (st != 0) {
      ts_db_drop(&db);
      fail_msg("backstock migrate (round %d) exited with %d", round + 1, st);
    }
    struct db_conn *c = ts_db_connect(&db, 3);
    char *max = ts_sql_value(c, "SELECT max(version) FROM backstock.schema_versions");
    char *cnt = ts_sql_value(c, "SELECT count(*) FROM backstock.schema_versions");
    char *runs = ts_sql_value(c, "SELECT count(*) FROM backstock.service_runs");
    db_close(c);
    bool good = strcmp(max, want) == 0 && strcmp(cnt, want) == 0 && strcmp(runs, "0") == 0;
    if (!good) {
      ts_db_drop(&db);
      fail_msg("round %d: max(version) %s, %s versions, %s runs; want %s, %s, 0", round + 1, max,
               cnt, runs, want, want);
    }
    free(max);
    free(cnt);
    free(runs);
  }
  ts_db_drop(&db);
  /* An external database needs no embedded cluster. */
  assert_int_equal(access(data, F_OK), -1);

  assert_int_equal(run_cmd(e, "version", NULL), 0);
  char *s = slurp(e->out_path);
  snprintf(want, sizeof want, "backstock %s (schema version %zu)\n", BACKSTOCK_VERSION,
           migrations_count);
  assert_string_equal(s, want);
  free(s);
  e->ok = true;
}

/*
 * k. A database newer than the binary, or with a gap in its record: the
 * service refuses to start, exit status 1, with a message saying why,
 * and changes nothing.
 */
static void test_refuses_bad_schema(void **state)
{
  struct e2e *e = *state;
  struct ts_db db;
  char conninfo[2048], url[2100], dd[PATH_MAX + 32], data[PATH_MAX], want[256];
  ts_db_create("e2enewer", &db);
  ts_db_conninfo(&db, conninfo, sizeof conninfo);
  snprintf(url, sizeof url, "BACKSTOCK_DATABASE_URL=%s", conninfo);
  path_in(data, sizeof data, e->tmp, "var-newer");
  snprintf(dd, sizeof dd, "BACKSTOCK_DATA_DIR=%s", data);
  e->port = free_port();
  const char *env[] = {dd, url, NULL};
  assert_int_equal(run_cmd(e, "migrate", env), 0);
  struct db_conn *c = ts_db_connect(&db, 3);

  ts_sql(c, "INSERT INTO backstock.schema_versions (version, name, sha256)"
            " VALUES (99, 'from-the-future', 'x')");
  assert_int_equal(run_cmd(e, NULL, env), 1);
  char *s = slurp(e->err_path);
  snprintf(want, sizeof want,
           "backstock: database schema is newer than this binary: the database is at schema "
           "version 99 but this binary knows only up to %zu; run a newer backstock\n",
           migrations_count);
  assert_non_null(strstr(s, want));
  free(s);

  ts_sql(c, "DELETE FROM backstock.schema_versions WHERE version IN (1, 99)");
  assert_int_equal(run_cmd(e, NULL, env), 1);
  s = slurp(e->err_path);
  assert_non_null(strstr(s, "backstock: migration numbering has a gap: the database records "
                            "migration 2 but not migration 1\n"));
  free(s);
  /* Nothing was applied or recorded by the refused starts. */
  char *runs = ts_sql_value(c, "SELECT count(*) FROM backstock.service_runs");
  assert_string_equal(runs, "0");
  free(runs);
  db_close(c);
  ts_db_drop(&db);
  e->ok = true;
}

/* Owner uid of @path (lstat), or (uid_t)-1. */
static uid_t owner_of(const char *path)
{
  struct stat st;
  return lstat(path, &st) == 0 ? st.st_uid : (uid_t)-1;
}

/* Real uid of process @pid from /proc, or (uid_t)-1. */
static uid_t uid_of(pid_t pid)
{
  char path[64], *s;
  snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
  s = slurp(path);
  char *u = strstr(s, "\nUid:");
  uid_t uid = u != NULL ? (uid_t)strtoul(u + 5, NULL, 10) : (uid_t)-1;
  free(s);
  return uid;
}

/*
 * j. The service as an ordinary user (how a system service account runs
 * it): PostgreSQL then runs as that same user, with the cluster directly
 * in the data folder.  As root the test runs the binary as "postgres";
 * otherwise as the current user.
 */
static void test_non_root_user(void **state)
{
  struct e2e *e = *state;
  char bindir[PATH_MAX], bin[PATH_MAX], saved_bin[PATH_MAX], data[PATH_MAX], dd[PATH_MAX + 32];
  char pgdir[PATH_MAX];
  uid_t want = geteuid();
  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("postgres");
    assert_non_null(pw);
    e->as_user = true;
    e->as_uid = pw->pw_uid;
    e->as_gid = pw->pw_gid;
    want = pw->pw_uid;
  }
  /* A copy of the binary and a data folder the user can reach. */
  path_in(bindir, sizeof bindir, e->tmp, "bin");
  path_in(bin, sizeof bin, bindir, "backstock");
  path_in(data, sizeof data, e->tmp, "var-user");
  assert_int_equal(mkdir(bindir, 0755), 0);
  assert_int_equal(mkdir(data, 0700), 0);
  char *image;
  size_t len;
  assert_int_equal(util_read_file(e->bin, 64u << 20, &image, &len), 0);
  FILE *f = fopen(bin, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(image, 1, len, f), len);
  fclose(f);
  free(image);
  assert_int_equal(chmod(bin, 0755), 0);
  if (e->as_user)
    assert_int_equal(chown(data, e->as_uid, e->as_gid), 0);
  snprintf(dd, sizeof dd, "BACKSTOCK_DATA_DIR=%s", data);
  memcpy(saved_bin, e->bin, sizeof saved_bin);
  memcpy(e->bin, bin, sizeof e->bin);
  char saved_var[PATH_MAX], saved_marker[sizeof e->marker];
  memcpy(saved_var, e->var, sizeof saved_var);
  memcpy(saved_marker, e->marker, sizeof saved_marker);
  memcpy(e->var, data, sizeof e->var);
  memcpy(e->marker, dd, sizeof e->marker);

  yajl_val v = start_service(e);
  assert_true(
      YAJL_IS_TRUE(yajl_tree_get(v, (const char *[]){"database", "embedded", NULL}, yajl_t_true)));
  yajl_tree_free(v);
  /* The cluster is a real folder in the data folder, owned by the user,
   * and every process (service, guardian, postmaster) runs as the user. */
  path_in(pgdir, sizeof pgdir, data, "pg");
  struct stat st;
  assert_int_equal(lstat(pgdir, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(owner_of(pgdir), want);
  assert_int_equal(uid_of(e->svc), want);
  pid_t pm = postmaster_pid(e);
  assert_true(pm > 0);
  assert_int_equal(uid_of(pm), want);
  pid_t g = find_guardian(e);
  assert_true(g > 0);
  assert_int_equal(uid_of(g), want);
  stop_service(e);
  assert_no_leftovers(e, STOP_WAIT_MS);

  memcpy(e->bin, saved_bin, sizeof e->bin);
  memcpy(e->var, saved_var, sizeof e->var);
  memcpy(e->marker, saved_marker, sizeof e->marker);
  e->as_user = false;
  e->ok = true;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_first_start, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_sigterm, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_restart_reuses_data, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_kill_service, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_kill_everything, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_stale_pidfile, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_service_runs, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_bad_config, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_migrate_and_version, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_refuses_bad_schema, test_setup, test_teardown),
      cmocka_unit_test_setup_teardown(test_non_root_user, test_setup, test_teardown),
  };
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return 1;
  int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
  curl_global_cleanup();
  return rc;
}
