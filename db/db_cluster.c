/*
 * The embedded PostgreSQL cluster: a private server under the service's
 * data folder, reached only through a unix socket (listen_addresses = '').
 *
 * Layout of a data folder D:
 *   D/backstock.lock   flock()ed by the running service (and its guardian)
 *   D/pg/              the cluster (PGDATA); when run as root and the
 *                      "postgres" user cannot enter D, D/pg is a symlink to
 *                      /var/lib/backstock/pg-<hash of D> instead
 *   D/pg/sock/         the socket folder (or /tmp/backstock-<hash> when
 *                      that path is too long for a unix socket)
 *   D/log/postgresql.log  the server's output
 *
 * Invariants:
 * - One service per data folder: the lock is taken before anything else
 *   and held, through the guardian, until the server has stopped.
 * - No stray server: a guardian process (forked before any thread exists)
 *   waits on a pipe from the service; when the service dies in any way,
 *   even SIGKILL, the pipe closes and the guardian runs a fast shutdown.
 * - A crash leaves nothing that blocks the next start: a postmaster.pid
 *   whose process is not a postmaster of this cluster is removed, and a
 *   server still running from an earlier service is stopped first.
 * - The cluster is created with initdb in a side folder and renamed into
 *   place, so an interrupted initdb is simply redone.
 * PostgreSQL refuses to run as root, so as root every PostgreSQL program
 * runs as the "postgres" user.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "db/db.h"

#define PG_PORT       "5432"
#define RELOCATE_BASE "/var/lib/backstock"

unsigned db_cluster_lock_wait_ms = 20000;

struct db_cluster {
  char data_dir[PATH_MAX]; /* the service's data folder (absolute) */
  char dir[PATH_MAX];      /* PGDATA (absolute, links resolved) */
  char sockdir[PATH_MAX];
  char bindir[PATH_MAX];
  char logfile[PATH_MAX];
  char conninfo[2 * PATH_MAX];
  unsigned flags;
  bool drop; /* run PostgreSQL programs as another user */
  uid_t uid;
  gid_t gid;
  int lock_fd;
  pid_t guardian;
  int guardian_fd; /* write end of the guardian's pipe */
};

static int pathf(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* snprintf that reports truncation: 0 or -ERR_IO. */
static int pathf(char *dst, size_t size, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(dst, size, fmt, ap);
  va_end(ap);
  return (n < 0 || (size_t)n >= size) ? -ERR_IO : 0;
}

static bool is_exec(const char *dir, const char *prog)
{
  char p[PATH_MAX];
  return pathf(p, sizeof p, "%s/%s", dir, prog) == 0 && access(p, X_OK) == 0;
}

/* Compare "15" and "9.6" style version folder names numerically. */
static long version_rank(const char *name)
{
  char *end;
  long major = strtol(name, &end, 10);
  if (end == name)
    return -1;
  long minor = *end == '.' ? strtol(end + 1, NULL, 10) : 0;
  return major * 100 + minor;
}

static int find_bindir(const char *want, char *out, size_t size)
{
  if (want != NULL && want[0] != '\0') {
    if (!is_exec(want, "pg_ctl") || !is_exec(want, "initdb")) {
      log_msg(LOGL_ERROR, "pg", "no initdb/pg_ctl in %s", want);
      return -ERR_PG_BINARIES;
    }
    return util_strlcpy(out, want, size) == 0 ? 0 : -ERR_PG_BINARIES;
  }
  /* Debian keeps server programs out of PATH, one folder per version. */
  long best = -1;
  DIR *d = opendir("/usr/lib/postgresql");
  if (d != NULL) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      char cand[PATH_MAX];
      long rank = version_rank(e->d_name);
      if (rank <= best ||
          pathf(cand, sizeof cand, "/usr/lib/postgresql/%s/bin%s", e->d_name, "") != 0)
        continue;
      if (is_exec(cand, "pg_ctl") && is_exec(cand, "initdb")) {
        best = rank;
        util_strlcpy(out, cand, size);
      }
    }
    closedir(d);
  }
  if (best >= 0)
    return 0;
  const char *path = getenv("PATH");
  while (path != NULL && *path != '\0') {
    const char *colon = strchr(path, ':');
    size_t len = colon != NULL ? (size_t)(colon - path) : strlen(path);
    if (len > 0 && len < size) {
      memcpy(out, path, len);
      out[len] = '\0';
      if (is_exec(out, "pg_ctl") && is_exec(out, "initdb"))
        return 0;
    }
    path = colon != NULL ? colon + 1 : NULL;
  }
  log_msg(LOGL_ERROR, "pg",
          "PostgreSQL server programs (initdb, pg_ctl) not found; "
          "install the postgresql package or set BACKSTOCK_PG_BINDIR");
  return -ERR_PG_BINARIES;
}

/* In a child: become the PostgreSQL user.  Returns 0 or -1. */
static int drop_privileges(const struct db_cluster *cl)
{
  if (!cl->drop)
    return 0;
  if (setgroups(0, NULL) != 0 || setgid(cl->gid) != 0 || setuid(cl->uid) != 0)
    return -1;
  return 0;
}

/*
 * Run a PostgreSQL program as the cluster's user, output appended to the
 * log (opened before privileges drop, so its folder need not be theirs).
 * Returns the exit status, or -1 when it could not run.
 */
static int run(const struct db_cluster *cl, char *const argv[])
{
  int logfd = open(cl->logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    if (logfd >= 0)
      close(logfd);
    return -1;
  }
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0)
      dup2(devnull, 0);
    if (logfd >= 0) {
      dup2(logfd, 1);
      dup2(logfd, 2);
    }
    /* The service blocks its stop signals and ignores SIGPIPE; exec keeps
     * both, and PostgreSQL's programs must start from the defaults. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (chdir("/") != 0 || drop_privileges(cl) != 0)
      _exit(126);
    execv(argv[0], argv);
    _exit(127);
  }
  if (logfd >= 0)
    close(logfd);
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int pg_ctl(const struct db_cluster *cl, const char *action, const char *mode)
{
  char prog[PATH_MAX];
  if (pathf(prog, sizeof prog, "%s/%s", cl->bindir, "pg_ctl") != 0)
    return -1;
  char *argv[] = {prog,
                  (char *)action,
                  "-D",
                  (char *)cl->dir,
                  "-w",
                  "-t",
                  "60",
                  "-s",
                  mode != NULL ? "-m" : NULL,
                  (char *)mode,
                  NULL};
  return run(cl, argv);
}

/* Whether the cluster's user can enter @path (checked in a child). */
static bool user_can_enter(const struct db_cluster *cl, const char *path)
{
  if (!cl->drop)
    return true;
  pid_t pid = fork();
  if (pid < 0)
    return false;
  if (pid == 0)
    _exit(drop_privileges(cl) == 0 && access(path, X_OK) == 0 ? 0 : 1);
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return false;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int mkdir_owned(const struct db_cluster *cl, const char *path, mode_t mode)
{
  if (mkdir(path, mode) != 0 && errno != EEXIST)
    return -ERR_IO;
  if (cl->drop && chown(path, cl->uid, cl->gid) != 0)
    return -ERR_IO;
  return chmod(path, mode) == 0 ? 0 : -ERR_IO;
}

static void short_hash(const char *s, char out[17])
{
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
  sodium_bin2hex(out, 17, h, 8);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void)sb;
  (void)ftw;
  return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : -1;
}

/* Find or choose PGDATA for the data folder (see the layout above). */
static int locate(struct db_cluster *cl)
{
  char link[PATH_MAX], target[PATH_MAX];
  struct stat st;
  if (pathf(link, sizeof link, "%s/%s", cl->data_dir, "pg") != 0)
    return -ERR_IO;
  if (lstat(link, &st) == 0) {
    if (realpath(link, cl->dir) == NULL) {
      log_msg(LOGL_ERROR, "pg", "%s points nowhere; remove it to start afresh", link);
      return -ERR_IO;
    }
    return 0;
  }
  if (user_can_enter(cl, cl->data_dir))
    return util_strlcpy(cl->dir, link, sizeof cl->dir) == 0 ? 0 : -ERR_IO;
  char hash[17];
  short_hash(cl->data_dir, hash);
  if (mkdir(RELOCATE_BASE, 0755) != 0 && errno != EEXIST)
    return -ERR_IO;
  if (pathf(target, sizeof target, "%s/pg-%s", RELOCATE_BASE, hash) != 0)
    return -ERR_IO;
  if (symlink(target, link) != 0)
    return -ERR_IO;
  log_msg(LOGL_INFO, "pg", "user postgres cannot enter %s; the cluster lives in %s (linked as %s)",
          cl->data_dir, target, link);
  return util_strlcpy(cl->dir, target, sizeof cl->dir) == 0 ? 0 : -ERR_IO;
}

static int initdb(struct db_cluster *cl)
{
  char tmp[PATH_MAX], prog[PATH_MAX], conf[PATH_MAX];
  if (pathf(tmp, sizeof tmp, "%s%s.init", cl->dir, "") != 0 ||
      pathf(prog, sizeof prog, "%s/%s", cl->bindir, "initdb") != 0)
    return -ERR_IO;
  if (access(tmp, F_OK) == 0)
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  if (mkdir_owned(cl, tmp, 0700) != 0)
    return -ERR_IO;
  log_msg(LOGL_INFO, "pg", "creating a PostgreSQL cluster in %s", cl->dir);
  char *argv[] = {prog,
                  "-D",
                  tmp,
                  "-U",
                  "backstock",
                  "-A",
                  "trust",
                  "-E",
                  "UTF8",
                  "--no-locale",
                  "--no-instructions",
                  (cl->flags & DB_CLUSTER_FAST) ? "--no-sync" : NULL,
                  NULL};
  int st = run(cl, argv);
  if (st != 0) {
    log_msg(LOGL_ERROR, "pg", "initdb failed (status %d); see %s", st, cl->logfile);
    return -ERR_PG_INITDB;
  }
  if (pathf(conf, sizeof conf, "%s/%s", tmp, "postgresql.conf") != 0)
    return -ERR_IO;
  FILE *f = fopen(conf, "a");
  if (f == NULL)
    return -ERR_IO;
  fputs("\n# backstock: settings that follow the data folder\n"
        "include_if_exists = 'backstock.conf'\n",
        f);
  if (fclose(f) != 0 || rename(tmp, cl->dir) != 0)
    return -ERR_IO;
  return 0;
}

/* Write a single-quoted PostgreSQL configuration string. */
static void conf_quote(FILE *f, const char *s)
{
  fputc('\'', f);
  for (; *s != '\0'; s++) {
    if (*s == '\'' || *s == '\\')
      fputc(*s, f);
    fputc(*s, f);
  }
  fputc('\'', f);
}

static int write_conf(struct db_cluster *cl)
{
  char path[PATH_MAX], tmp[PATH_MAX];
  if (pathf(path, sizeof path, "%s/%s", cl->dir, "backstock.conf") != 0 ||
      pathf(tmp, sizeof tmp, "%s/%s", cl->dir, "backstock.conf.tmp") != 0)
    return -ERR_IO;
  FILE *f = fopen(tmp, "w");
  if (f == NULL)
    return -ERR_IO;
  fputs("# written by backstock at every start; edits are lost\n"
        "listen_addresses = ''\n"
        "port = " PG_PORT "\n"
        "unix_socket_permissions = 0700\n"
        "unix_socket_directories = ",
        f);
  conf_quote(f, cl->sockdir);
  fputs("\nmax_connections = 100\n"
        "log_line_prefix = '%m [%p] '\n"
        "log_min_messages = warning\n",
        f);
  if (cl->flags & DB_CLUSTER_FAST)
    /* Tests run many processes at once (each FIX session holds a connection). */
    fputs("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
          "max_connections = 400\n",
          f);
  if (fclose(f) != 0)
    return -ERR_IO;
  if (cl->drop && chown(tmp, cl->uid, cl->gid) != 0)
    return -ERR_IO;
  return rename(tmp, path) == 0 ? 0 : -ERR_IO;
}

/* Read the pid on the first line of a PostgreSQL lock file; 0 if none. */
static pid_t lockfile_pid(const char *path)
{
  char *buf;
  pid_t pid = 0;
  if (util_read_file(path, 4096, &buf, NULL) != 0)
    return 0;
  long v = strtol(buf, NULL, 10);
  if (v > 0 && v < INT_MAX)
    pid = (pid_t)v;
  free(buf);
  return pid;
}

/* Whether @pid is a live process whose working folder is @dir. */
static bool pid_in_dir(pid_t pid, const char *dir)
{
  char proc[64], cwd[PATH_MAX];
  ssize_t n;
  if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM))
    return false;
  snprintf(proc, sizeof proc, "/proc/%ld/cwd", (long)pid);
  n = readlink(proc, cwd, sizeof cwd - 1);
  if (n < 0)
    return false;
  cwd[n] = '\0';
  return strcmp(cwd, dir) == 0;
}

/* Number of live processes working in @dir (the server and its backends). */
static int procs_in_dir(const char *dir)
{
  int n = 0;
  struct dirent *e;
  DIR *d = opendir("/proc");
  while (d != NULL && (e = readdir(d)) != NULL) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end == '\0' && pid > 0 && pid_in_dir((pid_t)pid, dir))
      n++;
  }
  if (d != NULL)
    closedir(d);
  return n;
}

/*
 * Deal with what an earlier run left: a server still running (stop it),
 * or lock files whose pid is now some other process (remove them).
 */
static int recover(struct db_cluster *cl)
{
  char pidfile[PATH_MAX], socklock[PATH_MAX], sock[PATH_MAX];
  if (pathf(pidfile, sizeof pidfile, "%s/%s", cl->dir, "postmaster.pid") != 0 ||
      pathf(socklock, sizeof socklock, "%s/%s", cl->sockdir, ".s.PGSQL." PG_PORT ".lock") != 0 ||
      pathf(sock, sizeof sock, "%s/%s", cl->sockdir, ".s.PGSQL." PG_PORT) != 0)
    return -ERR_IO;
  pid_t pid = lockfile_pid(pidfile);
  if (pid > 0 && pid_in_dir(pid, cl->dir)) {
    log_msg(LOGL_WARN, "pg", "a server left by an earlier run is still up (pid %ld); stopping it",
            (long)pid);
    if (pg_ctl(cl, "stop", "fast") != 0 && pid_in_dir(pid, cl->dir)) {
      log_msg(LOGL_ERROR, "pg", "could not stop the old server (pid %ld)", (long)pid);
      return -ERR_PG_STOP;
    }
  } else if (pid > 0) {
    log_msg(LOGL_WARN, "pg", "removing stale postmaster.pid (pid %ld is not our server)",
            (long)pid);
    unlink(pidfile);
    /* Backends of a killed postmaster exit on their own, but one busy in
     * a long query still holds the shared memory the new server needs. */
    int64_t deadline = util_mono_ms() + 30000;
    int left;
    while ((left = procs_in_dir(cl->dir)) > 0 && util_mono_ms() < deadline)
      util_sleep_ms(100);
    if (left > 0)
      log_msg(LOGL_WARN, "pg", "%d processes of the old server still run in %s", left, cl->dir);
  }
  pid = lockfile_pid(socklock);
  if (pid > 0 && !pid_in_dir(pid, cl->dir)) {
    unlink(socklock);
    unlink(sock);
  }
  return 0;
}

/* Take the data folder's lock, waiting a while for a dying predecessor. */
static int lock_data_dir(struct db_cluster *cl)
{
  char path[PATH_MAX], pidtxt[32];
  if (pathf(path, sizeof path, "%s/%s", cl->data_dir, "backstock.lock") != 0)
    return -ERR_IO;
  cl->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (cl->lock_fd < 0)
    return -ERR_IO;
  int64_t deadline = util_mono_ms() + db_cluster_lock_wait_ms;
  while (flock(cl->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK || util_mono_ms() > deadline) {
      log_msg(LOGL_ERROR, "pg", "data folder %s is in use by another backstock process",
              cl->data_dir);
      close(cl->lock_fd);
      cl->lock_fd = -1;
      return -ERR_PG_IN_USE;
    }
    util_sleep_ms(50);
  }
  int n = snprintf(pidtxt, sizeof pidtxt, "%ld\n", (long)getpid());
  if (ftruncate(cl->lock_fd, 0) != 0 || pwrite(cl->lock_fd, pidtxt, (size_t)n, 0) != n)
    return -ERR_IO;
  return 0;
}

/*
 * Fork the guardian.  It holds the data folder's lock and waits for the
 * service: a 'q' means the service stopped the server itself; end of file
 * means the service died, and the guardian stops the server.
 */
static int start_guardian(struct db_cluster *cl)
{
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) != 0)
    return -ERR_IO;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(pfd[0]);
    close(pfd[1]);
    return -ERR_IO;
  }
  if (pid == 0) {
    char b = 0;
    ssize_t r;
    setpgid(0, 0); /* out of the terminal's process group: no Ctrl-C */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    close(pfd[1]);
    for (int fd = 3; fd < 1024; fd++)
      if (fd != pfd[0] && fd != cl->lock_fd)
        close(fd);
    do
      r = read(pfd[0], &b, 1);
    while (r < 0 && errno == EINTR);
    if (r == 1 && b == 'q')
      _exit(0);
    log_msg(LOGL_WARN, "pg", "service gone; guardian stopping PostgreSQL in %s", cl->dir);
    _exit(pg_ctl(cl, "stop", "fast") == 0 ? 0 : 1);
  }
  close(pfd[0]);
  cl->guardian = pid;
  cl->guardian_fd = pfd[1];
  return 0;
}

static void end_guardian(struct db_cluster *cl)
{
  if (cl->guardian <= 0)
    return;
  ssize_t w = write(cl->guardian_fd, "q", 1);
  (void)w;
  close(cl->guardian_fd);
  while (waitpid(cl->guardian, NULL, 0) < 0 && errno == EINTR)
    ;
  cl->guardian = 0;
}

/* Write a libpq conninfo value, quoted. */
static int conninfo_quote(char *dst, size_t size, const char *s)
{
  size_t p = 0;
  if (size < 3)
    return -ERR_IO;
  dst[p++] = '\'';
  for (; *s != '\0'; s++) {
    if (p + 4 >= size)
      return -ERR_IO;
    if (*s == '\'' || *s == '\\')
      dst[p++] = '\\';
    dst[p++] = *s;
  }
  dst[p++] = '\'';
  dst[p] = '\0';
  return 0;
}

static int create_database(struct db_cluster *cl)
{
  char admin[sizeof cl->conninfo + 32];
  if (pathf(admin, sizeof admin, "%s%s", cl->conninfo, " dbname=postgres") != 0)
    return -ERR_IO;
  PGconn *pg = PQconnectdb(admin);
  int rc = -ERR_PG_START;
  if (PQstatus(pg) != CONNECTION_OK) {
    log_msg(LOGL_ERROR, "pg", "cannot connect to the new server: %s", PQerrorMessage(pg));
    goto out;
  }
  PGresult *r = PQexec(pg, "SELECT 1 FROM pg_database WHERE datname = 'backstock'");
  bool exists = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
  PQclear(r);
  if (!exists) {
    r = PQexec(pg, "CREATE DATABASE backstock");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      log_msg(LOGL_ERROR, "pg", "CREATE DATABASE failed: %s", PQresultErrorMessage(r));
      PQclear(r);
      goto out;
    }
    PQclear(r);
  }
  rc = 0;
out:
  PQfinish(pg);
  return rc;
}

/* Resolve user, folders and paths; take the lock.  Common to start and stop. */
static int prepare(struct db_cluster *cl, const char *data_dir, const char *bindir)
{
  int rc;
  char hash[17];
  cl->lock_fd = -1;
  cl->guardian_fd = -1;
  /* As root, 0711 lets the postgres user pass through to pg/ (no listing). */
  if (mkdir(data_dir, geteuid() == 0 ? 0711 : 0700) != 0 && errno != EEXIST)
    return -ERR_IO;
  if (realpath(data_dir, cl->data_dir) == NULL)
    return -ERR_IO;
  if ((rc = find_bindir(bindir, cl->bindir, sizeof cl->bindir)) != 0)
    return rc;
  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("postgres");
    if (pw == NULL) {
      log_msg(LOGL_ERROR, "pg", "running as root needs a 'postgres' user to run PostgreSQL as");
      return -ERR_PG_USER;
    }
    cl->drop = true;
    cl->uid = pw->pw_uid;
    cl->gid = pw->pw_gid;
  }
  if ((rc = lock_data_dir(cl)) != 0)
    return rc;
  if (pathf(cl->logfile, sizeof cl->logfile, "%s/%s", cl->data_dir, "log") != 0)
    return -ERR_IO;
  if (mkdir(cl->logfile, 0700) != 0 && errno != EEXIST)
    return -ERR_IO;
  if (pathf(cl->logfile, sizeof cl->logfile, "%s/%s", cl->data_dir, "log/postgresql.log") != 0)
    return -ERR_IO;
  if ((rc = locate(cl)) != 0)
    return rc;
  /* A unix socket path has at most 107 bytes. */
  if (pathf(cl->sockdir, sizeof cl->sockdir, "%s/%s", cl->dir, "sock") != 0 ||
      strlen(cl->sockdir) + sizeof "/.s.PGSQL." PG_PORT ".lock" > 107) {
    short_hash(cl->dir, hash);
    pathf(cl->sockdir, sizeof cl->sockdir, "/tmp/backstock-%s%s", hash, "");
  }
  char q[PATH_MAX + 16];
  if (conninfo_quote(q, sizeof q, cl->sockdir) != 0 ||
      pathf(cl->conninfo, sizeof cl->conninfo, "host=%s port=" PG_PORT " user=backstock%s", q,
            "") != 0)
    return -ERR_IO;
  return 0;
}

static void release(struct db_cluster *cl)
{
  end_guardian(cl);
  if (cl->lock_fd >= 0)
    close(cl->lock_fd);
  free(cl);
}

int db_cluster_start(const char *data_dir, const char *bindir, unsigned flags,
                     struct db_cluster **out)
{
  struct db_cluster *cl = calloc(1, sizeof *cl);
  int rc;
  char pgver[PATH_MAX];
  if (cl == NULL)
    return -ERR_NOMEM;
  cl->flags = flags;
  if ((rc = prepare(cl, data_dir, bindir)) != 0)
    goto fail;
  if (!(flags & DB_CLUSTER_NO_GUARDIAN) && (rc = start_guardian(cl)) != 0)
    goto fail;
  if (pathf(pgver, sizeof pgver, "%s/%s", cl->dir, "PG_VERSION") != 0) {
    rc = -ERR_IO;
    goto fail;
  }
  if (access(pgver, F_OK) != 0 && (rc = initdb(cl)) != 0)
    goto fail;
  if ((rc = recover(cl)) != 0)
    goto fail;
  if ((rc = mkdir_owned(cl, cl->sockdir, 0700)) != 0 || (rc = write_conf(cl)) != 0)
    goto fail;
  int st = pg_ctl(cl, "start", NULL);
  if (st != 0) {
    log_msg(LOGL_ERROR, "pg", "pg_ctl start failed (status %d); see %s", st, cl->logfile);
    rc = -ERR_PG_START;
    goto fail;
  }
  if ((rc = create_database(cl)) != 0) {
    pg_ctl(cl, "stop", "fast");
    goto fail;
  }
  size_t len = strlen(cl->conninfo);
  if (pathf(cl->conninfo + len, sizeof cl->conninfo - len, "%s%s", " dbname=backstock", "") != 0) {
    rc = -ERR_IO;
    goto fail;
  }
  log_msg(LOGL_INFO, "pg", "embedded PostgreSQL up in %s (socket in %s)", cl->dir, cl->sockdir);
  *out = cl;
  return 0;
fail:
  release(cl);
  return rc;
}

const char *db_cluster_conninfo(const struct db_cluster *cl)
{
  return cl->conninfo;
}

const char *db_cluster_dir(const struct db_cluster *cl)
{
  return cl->dir;
}

int db_cluster_stop(struct db_cluster *cl)
{
  if (cl == NULL)
    return 0;
  char pidfile[PATH_MAX];
  int rc = 0;
  if (pg_ctl(cl, "stop", "fast") != 0 &&
      pathf(pidfile, sizeof pidfile, "%s/%s", cl->dir, "postmaster.pid") == 0 &&
      pid_in_dir(lockfile_pid(pidfile), cl->dir)) {
    log_msg(LOGL_ERROR, "pg", "PostgreSQL in %s did not stop", cl->dir);
    rc = -ERR_PG_STOP;
  } else {
    log_msg(LOGL_INFO, "pg", "embedded PostgreSQL stopped");
  }
  release(cl);
  return rc;
}

void db_cluster_detach(struct db_cluster *cl)
{
  if (cl != NULL)
    release(cl);
}

int db_cluster_stop_dir(const char *data_dir, const char *bindir)
{
  struct db_cluster *cl = calloc(1, sizeof *cl);
  int rc;
  if (cl == NULL)
    return -ERR_NOMEM;
  if ((rc = prepare(cl, data_dir, bindir)) != 0) {
    release(cl);
    return rc;
  }
  return db_cluster_stop(cl);
}
