/*
 * Tests of common/common_config.c: the service's configuration.
 *
 * The defaults of cfg_init(); the "key = value" file format with comments,
 * blank lines, spaces around '=' and CRLF line ends; each error with its
 * own code and the 1-based number of the bad line; the value checks of
 * every key (and that a rejected value leaves the old one in place);
 * IPv6 listen addresses and port 0; the environment overriding the file,
 * skipping foreign and test-only variables and rejecting a misspelt
 * BACKSTOCK_ one by name; cfg_print() output, its round trip through
 * cfg_load_text(), and that it never shows a database password, in URL or
 * conninfo form.  Last, README.md (through BACKSTOCK_TEST_SOURCE_ROOT, set by
 * meson) must name every key's variable and no BACKSTOCK_ variable that
 * does not exist; a missing README fails the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

/* cfg_load_text() of a C string. */
static int load(struct cfg *c, const char *text, unsigned *line)
{
  return cfg_load_text(c, text, strlen(text), line);
}

/* cfg_print() into a malloc'd string, freed by the caller. */
static char *print_to_string(const struct cfg *c)
{
  char *buf = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&buf, &size);
  assert_non_null(f);
  cfg_print(c, f);
  assert_int_equal(fclose(f), 0);
  assert_non_null(buf);
  return buf;
}

static void test_defaults(void **state)
{
  (void)state;
  struct cfg c;
  memset(&c, 0x5a, sizeof c);
  cfg_init(&c);
  assert_string_equal(c.listen_host, "127.0.0.1");
  assert_int_equal(c.listen_port, 8080);
  assert_string_equal(c.data_dir, "./var");
  assert_null(c.database_url);
  assert_string_equal(c.pg_bindir, "");
  assert_string_equal(c.calendar_file, "");
  assert_int_equal(c.log_level, LOGL_INFO);
  assert_int_equal(c.log_format, LOG_FORMAT_TEXT);
  assert_int_equal(c.db_max_retries, 10);
  assert_int_equal(c.db_pool_size, 4);
  assert_int_equal(c.http_threads, 4);
  cfg_free(&c);
  cfg_free(NULL);
}

static void test_keys_table(void **state)
{
  (void)state;
  size_t n = 0;
  const struct cfg_key *k = cfg_keys(&n);
  assert_int_equal(n, 35);
  for (size_t i = 0; i < n; i++) {
    /* The variable is the key in upper case behind BACKSTOCK_. */
    char want[128];
    size_t kl = strlen(k[i].key);
    assert_true(kl + 11 < sizeof want);
    memcpy(want, "BACKSTOCK_", 10);
    for (size_t j = 0; j <= kl; j++) {
      char ch = k[i].key[j];
      want[10 + j] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
    }
    assert_string_equal(k[i].env, want);
    assert_non_null(k[i].def);
    assert_true(k[i].doc != NULL && k[i].doc[0] != '\0');
  }
  assert_string_equal(k[0].key, "listen");
  assert_string_equal(k[0].def, "127.0.0.1:8080");
}

static void test_load_text_format(void **state)
{
  (void)state;
  struct cfg c;
  cfg_init(&c);
  const char *text = "# a comment\n"
                     "\n"
                     "   \t\n"
                     "  # an indented comment = with an equals sign\n"
                     "listen=0.0.0.0:9090\n"
                     "data_dir   =   /srv/backstock  \n"
                     "\tlog_level\t=\tdebug\t\n"
                     "log_format = json\r\n"
                     "db_max_retries = 25\r\n"
                     "\r\n"
                     "BACKSTOCK_DB_POOL_SIZE = 8\n"
                     "http_threads = 16"; /* no newline at the end */
  unsigned line = 999;
  assert_int_equal(load(&c, text, &line), 0);
  assert_string_equal(c.listen_host, "0.0.0.0");
  assert_int_equal(c.listen_port, 9090);
  assert_string_equal(c.data_dir, "/srv/backstock");
  assert_int_equal(c.log_level, LOGL_DEBUG);
  assert_int_equal(c.log_format, LOG_FORMAT_JSON);
  assert_int_equal(c.db_max_retries, 25);
  assert_int_equal(c.db_pool_size, 8);
  assert_int_equal(c.http_threads, 16);
  assert_null(c.database_url);

  /* Only @len bytes count. */
  const char *cut = "http_threads = 32\nhttp_threads = 7";
  assert_int_equal(cfg_load_text(&c, cut, 17, NULL), 0);
  assert_int_equal(c.http_threads, 32);
  assert_int_equal(cfg_load_text(&c, "", 0, NULL), 0);
  cfg_free(&c);
}

static void test_database_url(void **state)
{
  (void)state;
  struct cfg c;
  cfg_init(&c);
  assert_int_equal(load(&c, "database_url = postgresql://u:pw@db.example/books?x=1\n", NULL), 0);
  assert_string_equal(c.database_url, "postgresql://u:pw@db.example/books?x=1");
  /* A value may hold '=' itself. */
  assert_int_equal(load(&c, "database_url = host=h dbname=d\n", NULL), 0);
  assert_string_equal(c.database_url, "host=h dbname=d");
  /* Empty means the embedded cluster again. */
  assert_int_equal(load(&c, "database_url =\n", NULL), 0);
  assert_null(c.database_url);
  assert_int_equal(cfg_set(&c, "BACKSTOCK_DATABASE_URL", "postgresql:///x"), 0);
  assert_string_equal(c.database_url, "postgresql:///x");
  cfg_free(&c);
  assert_null(c.database_url);
  cfg_free(&c); /* twice is harmless */
}

static void test_load_text_errors(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    int rc;
    unsigned line;
  } cases[] = {
      {"listen = 127.0.0.1:1\nlisten_port = 80\n", -ERR_CFG_UNKNOWN_KEY, 2},
      {"# c\n\nlog_levle = info\n", -ERR_CFG_UNKNOWN_KEY, 3},
      {"BACKSTOCK_LISTN = 1.2.3.4:5\n", -ERR_CFG_UNKNOWN_KEY, 1},
      {"\n\n\nhttp_threads 4\n", -ERR_CFG_SYNTAX, 4},
      {"listen\n", -ERR_CFG_SYNTAX, 1},
      {"data_dir = /x\r\n = 4\r\n", -ERR_CFG_SYNTAX, 2},
      {"listen = 127.0.0.1:65536\n", -ERR_CFG_VALUE, 1},
      {"db_pool_size = 2\nlisten = host\n", -ERR_CFG_VALUE, 2},
      {"db_max_retries = 0\n", -ERR_CFG_VALUE, 1},
      {"db_max_retries = 1001\n", -ERR_CFG_VALUE, 1},
      {"log_level = verbose\n", -ERR_CFG_VALUE, 1},
      {"log_format = xml\n", -ERR_CFG_VALUE, 1},
      {"db_pool_size = 257\n", -ERR_CFG_VALUE, 1},
      {"http_threads = 0\n", -ERR_CFG_VALUE, 1},
      {"http_threads = -1\n", -ERR_CFG_VALUE, 1},
      {"http_threads = 4x\n", -ERR_CFG_VALUE, 1},
      {"http_threads = +4\n", -ERR_CFG_VALUE, 1},
      {"http_threads =\n", -ERR_CFG_VALUE, 1},
      {"data_dir =\n", -ERR_CFG_VALUE, 1},
      {"listen = :8080\n", -ERR_CFG_VALUE, 1},
      {"listen = host:\n", -ERR_CFG_VALUE, 1},
      {"listen = ::1:8080\n", -ERR_CFG_VALUE, 1},
      {"listen = [::1]\n", -ERR_CFG_VALUE, 1},
      {"listen = []:80\n", -ERR_CFG_VALUE, 1},
      {"listen = [::1:80\n", -ERR_CFG_VALUE, 1},
      {"listen = h:99999999999999999999\n", -ERR_CFG_VALUE, 1},
      {"attestation_tree_height = 0\n", -ERR_CFG_VALUE, 1},
      {"attestation_tree_height = 41\n", -ERR_CFG_VALUE, 1},
      {"recon_tolerance_tokens = -1\n", -ERR_CFG_VALUE, 1},
      {"recon_tolerance_tokens = 1000000000000000001\n", -ERR_CFG_VALUE, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct cfg c;
    cfg_init(&c);
    unsigned line = 0;
    int rc = load(&c, cases[i].text, &line);
    if (rc != cases[i].rc || line != cases[i].line)
      fail_msg("case %zu \"%s\": got %d (%s) at line %u, want %d (%s) at line %u", i, cases[i].text,
               rc, err_name(rc), line, cases[i].rc, err_name(cases[i].rc), cases[i].line);
    cfg_free(&c);
  }
  /* A NUL byte inside a line is a syntax error, not a shorter line. */
  struct cfg c;
  cfg_init(&c);
  unsigned line = 0;
  assert_int_equal(cfg_load_text(&c, "listen = 1.2.3.4:5\0x\n", 21, &line), -ERR_CFG_SYNTAX);
  assert_int_equal(line, 1);
  cfg_free(&c);
}

/* A rejected value leaves the setting as it was. */
static void test_bad_value_keeps_old(void **state)
{
  (void)state;
  struct cfg c;
  cfg_init(&c);
  assert_int_equal(cfg_set(&c, "listen", "10.0.0.1:7000"), 0);
  assert_int_equal(cfg_set(&c, "listen", "10.0.0.2:65536"), -ERR_CFG_VALUE);
  assert_int_equal(cfg_set(&c, "listen", "otherhost"), -ERR_CFG_VALUE);
  assert_string_equal(c.listen_host, "10.0.0.1");
  assert_int_equal(c.listen_port, 7000);
  assert_int_equal(cfg_set(&c, "db_max_retries", "1001"), -ERR_CFG_VALUE);
  assert_int_equal(c.db_max_retries, 10);
  assert_int_equal(cfg_set(&c, "log_level", "verbose"), -ERR_CFG_VALUE);
  assert_int_equal(c.log_level, LOGL_INFO);
  assert_int_equal(cfg_set(&c, "log_format", "xml"), -ERR_CFG_VALUE);
  assert_int_equal(c.log_format, LOG_FORMAT_TEXT);
  assert_int_equal(cfg_set(&c, "no_such_key", "1"), -ERR_CFG_UNKNOWN_KEY);
  /* Boundaries that are allowed. */
  assert_int_equal(cfg_set(&c, "db_max_retries", "1"), 0);
  assert_int_equal(c.db_max_retries, 1);
  assert_int_equal(cfg_set(&c, "db_max_retries", "1000"), 0);
  assert_int_equal(c.db_max_retries, 1000);
  assert_int_equal(cfg_set(&c, "db_pool_size", "256"), 0);
  assert_int_equal(c.db_pool_size, 256);
  assert_int_equal(cfg_set(&c, "log_level", "error"), 0);
  assert_int_equal(c.log_level, LOGL_ERROR);
  assert_int_equal(cfg_set(&c, "log_level", "warn"), 0);
  assert_int_equal(c.log_level, LOGL_WARN);
  cfg_free(&c);
}

static void test_listen_forms(void **state)
{
  (void)state;
  struct cfg c;
  cfg_init(&c);
  assert_int_equal(load(&c, "listen = [::1]:9000\n", NULL), 0);
  assert_string_equal(c.listen_host, "::1");
  assert_int_equal(c.listen_port, 9000);
  assert_int_equal(cfg_set(&c, "listen", "[fe80::1%eth0]:443"), 0);
  assert_string_equal(c.listen_host, "fe80::1%eth0");
  assert_int_equal(c.listen_port, 443);
  assert_int_equal(cfg_set(&c, "listen", "localhost:0"), 0);
  assert_string_equal(c.listen_host, "localhost");
  assert_int_equal(c.listen_port, 0);
  assert_int_equal(cfg_set(&c, "listen", "0.0.0.0:65535"), 0);
  assert_string_equal(c.listen_host, "0.0.0.0");
  assert_int_equal(c.listen_port, 65535);
  cfg_free(&c);
}

static void test_load_file(void **state)
{
  (void)state;
  struct cfg c;
  cfg_init(&c);
  unsigned line = 0;
  assert_int_equal(cfg_load_file(&c, "/nonexistent/backstock-test/backstock.conf", &line),
                   -ERR_CFG_FILE);
  assert_int_equal(cfg_load_file(&c, "/", &line), -ERR_CFG_FILE); /* a folder */

  char path[] = "/tmp/test_common_config_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  assert_non_null(f);
  fputs("# test\nhttp_threads = 12\nlisten = [::]:0\n", f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(cfg_load_file(&c, path, &line), 0);
  assert_int_equal(c.http_threads, 12);
  assert_string_equal(c.listen_host, "::");
  assert_int_equal(c.listen_port, 0);

  f = fopen(path, "w");
  assert_non_null(f);
  fputs("http_threads = 3\n\nbogus = 1\n", f);
  assert_int_equal(fclose(f), 0);
  line = 0;
  assert_int_equal(cfg_load_file(&c, path, &line), -ERR_CFG_UNKNOWN_KEY);
  assert_int_equal(line, 3);
  assert_int_equal(unlink(path), 0);
  cfg_free(&c);
}

static void test_env_overrides_file(void **state)
{
  (void)state;
  struct cfg c;
  cfg_init(&c);
  assert_int_equal(load(&c,
                        "listen = 10.1.1.1:1000\nhttp_threads = 2\nlog_level = warn\n"
                        "data_dir = /from/file\n",
                        NULL),
                   0);
  char *envp[] = {
      "PATH=/usr/bin:/bin",
      "HOME=/root",
      "BACKSTOCKS=1", /* not the prefix */
      "backstock_listen=1.1.1.1:1",
      "BACKSTOCK_CONFIG=/etc/backstock.conf",
      "BACKSTOCK_TEST_DATABASE_URL=postgresql:///test",
      "BACKSTOCK_TEST_FAST_PG=1",
      "BACKSTOCK_TEST_SOURCE_ROOT=/src",
      "BACKSTOCK_API_KEY=bsk_0123456789abcdef_secret", /* the API client's */
      "BACKSTOCK_API_URL=http://127.0.0.1:8080",
      "BACKSTOCK_LISTEN=[::1]:9000",
      "BACKSTOCK_HTTP_THREADS=32",
      "BACKSTOCK_DATABASE_URL=postgresql://app:pw@db/books",
      NULL,
  };
  const char *bad = "untouched";
  assert_int_equal(cfg_load_env(&c, envp, &bad), 0);
  assert_string_equal(c.listen_host, "::1");
  assert_int_equal(c.listen_port, 9000);
  assert_int_equal(c.http_threads, 32);
  assert_string_equal(c.database_url, "postgresql://app:pw@db/books");
  /* What the environment does not name stays as the file set it. */
  assert_int_equal(c.log_level, LOGL_WARN);
  assert_string_equal(c.data_dir, "/from/file");
  assert_int_equal(c.db_pool_size, 4);

  /* The later of two settings of a variable wins, as in environ order. */
  char *twice[] = {"BACKSTOCK_DB_POOL_SIZE=5", "BACKSTOCK_DB_POOL_SIZE=6", NULL};
  assert_int_equal(cfg_load_env(&c, twice, NULL), 0);
  assert_int_equal(c.db_pool_size, 6);
  char *empty[] = {NULL};
  assert_int_equal(cfg_load_env(&c, empty, NULL), 0);
  assert_int_equal(c.db_pool_size, 6);
  cfg_free(&c);
}

/* Control characters and surrounding spaces are refused from every source. */
static void test_unclean_values(void **state)
{
  (void)state;
  struct cfg c;
  const char *bad = NULL;
  cfg_init(&c);
  assert_int_equal(cfg_set(&c, "calendar_file", "a\nb"), -ERR_CFG_VALUE);
  assert_int_equal(cfg_set(&c, "BACKSTOCK_DATA_DIR", " /srv/x"), -ERR_CFG_VALUE);
  assert_int_equal(cfg_set(&c, "data_dir", "/srv/x\t"), -ERR_CFG_VALUE);
  assert_int_equal(cfg_set(&c, "data_dir", "/srv/a b"), 0); /* inner spaces are fine */
  assert_string_equal(c.data_dir, "/srv/a b");
  /* Hosts: names, IPv4, bracketed IPv6 with a zone; nothing else. */
  assert_int_equal(cfg_set(&c, "listen", "[fe80::1%eth0]:80"), 0);
  assert_string_equal(c.listen_host, "fe80::1%eth0");
  assert_int_equal(cfg_set(&c, "listen", "api.example-1.internal:443"), 0);
  assert_int_equal(cfg_set(&c, "listen", "[[x]:0"), -ERR_CFG_VALUE);
  assert_int_equal(cfg_set(&c, "listen", "[\xa3Uten=[\xa3]:0"), -ERR_CFG_VALUE);
  assert_int_equal(cfg_set(&c, "listen", "h\xa3st:80"), -ERR_CFG_VALUE);
  assert_int_equal(cfg_set(&c, "listen", "a/b:80"), -ERR_CFG_VALUE);
  assert_int_equal(cfg_set(&c, "listen", "[]:80"), -ERR_CFG_VALUE);
  assert_int_equal(cfg_set(&c, "listen", "[77%IIIK_CALE]:7"), -ERR_CFG_VALUE);
  assert_int_equal(cfg_set(&c, "listen", "[127.0.0.1]:7"), -ERR_CFG_VALUE);
  assert_int_equal(cfg_set(&c, "listen", ":80"), -ERR_CFG_VALUE);
  char *env[] = {"BACKSTOCK_CALENDAR_FILE=\ndabST", NULL};
  assert_int_equal(cfg_load_env(&c, env, &bad), -ERR_CFG_VALUE);
  assert_string_equal(bad, "BACKSTOCK_CALENDAR_FILE");
  assert_string_equal(c.calendar_file, "");
  cfg_free(&c);
}

static void test_env_errors(void **state)
{
  (void)state;
  struct cfg c;
  cfg_init(&c);
  char *value[] = {"BACKSTOCK_DB_MAX_RETRIES=0", NULL};
  const char *bad = NULL;
  assert_int_equal(cfg_load_env(&c, value, &bad), -ERR_CFG_VALUE);
  assert_string_equal(bad, "BACKSTOCK_DB_MAX_RETRIES");
  assert_int_equal(c.db_max_retries, 10);

  char *level[] = {"BACKSTOCK_LOG_LEVEL=verbose", NULL};
  assert_int_equal(cfg_load_env(&c, level, NULL), -ERR_CFG_VALUE);
  assert_int_equal(c.log_level, LOGL_INFO);

  /* The operator must learn which variable is wrong (checked last). */
  char *typo[] = {"BACKSTOCK_HTTP_THREADS=8", "BACKSTOCK_LISTN=0.0.0.0:80", NULL};
  bad = NULL;
  assert_int_equal(cfg_load_env(&c, typo, &bad), -ERR_CFG_UNKNOWN_KEY);
  assert_string_equal(c.listen_host, "127.0.0.1");
  assert_int_equal(c.listen_port, 8080);
  assert_non_null(bad);
  if (strstr(bad, "BACKSTOCK_LISTN") == NULL) {
    cfg_free(&c);
    fail_msg("bad_out = \"%s\" does not name BACKSTOCK_LISTN", bad);
  }
  cfg_free(&c);
}

static void test_print_defaults(void **state)
{
  (void)state;
  struct cfg c;
  cfg_init(&c);
  char *out = print_to_string(&c);
  assert_string_equal(out, "listen = 127.0.0.1:8080\n"
                           "data_dir = ./var\n"
                           "database_url = \n"
                           "pg_bindir = \n"
                           "calendar_file = \n"
                           "log_level = info\n"
                           "log_format = text\n"
                           "db_max_retries = 10\n"
                           "db_pool_size = 4\n"
                           "http_threads = 4\n"
                           "broker = 127.0.0.1:9878\n"
                           "broker_sender_comp_id = BACKSTOCK\n"
                           "broker_target_comp_id = BROKER\n"
                           "broker_account = RESERVE\n"
                           "fix_heartbeat_s = 30\n"
                           "fix_reset_time = 17:00\n"
                           "fix_time_zone = America/New_York\n"
                           "fix_rate_per_s = 50\n"
                           "fix_reset_on_logon = false\n"
                           "custody_servicers = \n"
                           "custody_accounts = \n"
                           "custody_drop_dir = custody-in\n"
                           "custody_feed_url = \n"
                           "custody_feed_token = \n"
                           "custody_poll_ms = 2000\n"
                           "custody_max_bytes = 536870912\n"
                           "serve_engine = true\n"
                           "engine_poll_ms = 1000\n"
                           "engine_batch = 100\n"
                           "settlement_retry_s = 900\n"
                           "settlement_escalate_days = 3\n"
                           "redemption_address = 0x00000000000000000000000000000000000bac57\n"
                           "attestation_key_dir = keys\n"
                           "attestation_tree_height = 20\n"
                           "recon_tolerance_tokens = 0\n");
  free(out);
  cfg_free(&c);
}

/* What cfg_print() writes loads back to the same configuration. */
static void test_print_round_trip(void **state)
{
  (void)state;
  struct cfg a, b;
  cfg_init(&a);
  assert_int_equal(load(&a,
                        "listen = [::1]:9000\ndata_dir = /d\npg_bindir = /usr/lib/pg/bin\n"
                        "calendar_file = /etc/closures.txt\nlog_level = error\n"
                        "log_format = json\ndb_max_retries = 3\ndb_pool_size = 9\n"
                        "http_threads = 7\ndatabase_url = host=db dbname=books\n",
                        NULL),
                   0);
  char *out = print_to_string(&a);
  cfg_init(&b);
  unsigned line = 0;
  if (load(&b, out, &line) != 0)
    fail_msg("cfg_print output does not load back (line %u):\n%s", line, out);
  assert_string_equal(b.listen_host, "::1");
  assert_int_equal(b.listen_port, 9000);
  assert_string_equal(b.data_dir, "/d");
  assert_string_equal(b.pg_bindir, "/usr/lib/pg/bin");
  assert_string_equal(b.calendar_file, "/etc/closures.txt");
  assert_int_equal(b.log_level, LOGL_ERROR);
  assert_int_equal(b.log_format, LOG_FORMAT_JSON);
  assert_int_equal(b.db_max_retries, 3);
  assert_int_equal(b.db_pool_size, 9);
  assert_int_equal(b.http_threads, 7);
  assert_string_equal(b.database_url, "host=db dbname=books");
  free(out);
  cfg_free(&a);
  cfg_free(&b);
}

/* The printed database_url line of @url. */
static char *printed_url(const char *url)
{
  struct cfg c;
  cfg_init(&c);
  assert_int_equal(cfg_set(&c, "database_url", url), 0);
  char *out = print_to_string(&c);
  cfg_free(&c);
  return out;
}

static void assert_redacted(const char *url, const char *want_line, const char *secret)
{
  char *out = printed_url(url);
  if (strstr(out, secret) != NULL)
    fail_msg("cfg_print shows the password \"%s\" of \"%s\":\n%s", secret, url, out);
  if (strstr(out, "***") == NULL)
    fail_msg("cfg_print of \"%s\" has no \"***\":\n%s", url, out);
  if (want_line != NULL && strstr(out, want_line) == NULL)
    fail_msg("cfg_print of \"%s\" lacks \"%s\":\n%s", url, want_line, out);
  free(out);
}

static void test_print_redacts_password(void **state)
{
  (void)state;
  assert_redacted("postgresql://u:secret@h/db", "\ndatabase_url = postgresql://u:***@h/db\n",
                  "secret");
  assert_redacted("host=x password=secret dbname=y",
                  "\ndatabase_url = host=x password=*** dbname=y\n", "secret");
  assert_redacted("postgres://app:s3cr3t@db.example:5432/books?sslmode=require",
                  "\ndatabase_url = postgres://app:***@db.example:5432/books?sslmode=require\n",
                  "s3cr3t");
  assert_redacted("postgresql://h/db?user=u&password=secret&sslmode=require",
                  "\ndatabase_url = postgresql://h/db?user=u&password=***&sslmode=require\n",
                  "secret");
  assert_redacted("password=secret", "\ndatabase_url = password=***\n", "secret");

  /* No password: printed as it is. */
  char *out = printed_url("postgresql://u@h/db");
  assert_non_null(strstr(out, "\ndatabase_url = postgresql://u@h/db\n"));
  free(out);
  out = printed_url("host=/run/postgresql dbname=books");
  assert_non_null(strstr(out, "\ndatabase_url = host=/run/postgresql dbname=books\n"));
  free(out);
}

/*
 * Other spellings libpq accepts: spaces around '=' in conninfo, a quoted
 * value, sslpassword before password, and a URL with the password both in
 * the user part and in the query.  None may show the secret.
 */
static void test_print_redacts_conninfo_variants(void **state)
{
  (void)state;
  static const char *const urls[] = {
      "host=x password = hunter2 dbname=y",
      "host=x password='hun ter2' dbname=y",
      "host=x sslpassword=keypass password=hunter2",
      "postgresql://u:hunter2@h/db?password=other",
  };
  size_t leaks = 0;
  for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
    char *out = printed_url(urls[i]);
    if (strstr(out, "ter2") != NULL) {
      const char *line = strstr(out, "database_url");
      print_error("cfg_print of \"%s\" shows the password: %.*s\n", urls[i],
                  (int)strcspn(line, "\n"), line);
      leaks++;
    }
    free(out);
  }
  if (leaks != 0)
    fail_msg("%zu of %zu database URLs printed with their password", leaks,
             sizeof urls / sizeof urls[0]);
}

/* Whether the README names @name as a whole word. */
static int names(const char *text, const char *name)
{
  size_t nl = strlen(name);
  for (const char *p = strstr(text, name); p != NULL; p = strstr(p + 1, name)) {
    char after = p[nl];
    if (!((after >= 'A' && after <= 'Z') || (after >= '0' && after <= '9') || after == '_'))
      return 1;
  }
  return 0;
}

static int is_name_char(char ch)
{
  return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

static void test_readme_matches_keys(void **state)
{
  (void)state;
  const char *root = getenv("BACKSTOCK_TEST_SOURCE_ROOT");
  if (root == NULL || root[0] == '\0')
    fail_msg("BACKSTOCK_TEST_SOURCE_ROOT is not set (run through meson test)");
  char path[4096];
  snprintf(path, sizeof path, "%s/README.md", root);
  char *text = NULL;
  size_t len = 0;
  int rc = util_read_file(path, 1 << 20, &text, &len);
  if (rc != 0)
    fail_msg("%s is missing or unreadable (%s): it must document every configuration key", path,
             err_name(rc));

  size_t n = 0, problems = 0;
  const struct cfg_key *k = cfg_keys(&n);
  for (size_t i = 0; i < n; i++)
    if (!names(text, k[i].env)) {
      print_error("README.md does not mention %s (key \"%s\")\n", k[i].env, k[i].key);
      problems++;
    }

  /* Every BACKSTOCK_ variable the README names must exist. */
  static const char prefix[] = "BACKSTOCK_";
  size_t seen = 0;
  for (const char *p = strstr(text, prefix); p != NULL; p = strstr(p + 1, prefix)) {
    if (p > text && (is_name_char(p[-1]) || (p[-1] >= 'a' && p[-1] <= 'z')))
      continue;
    size_t l = sizeof prefix - 1;
    while (is_name_char(p[l]))
      l++;
    if (l == sizeof prefix - 1)
      continue; /* "BACKSTOCK_*": the family, not a variable */
    char name[128];
    if (l >= sizeof name)
      fail_msg("README.md has an overlong name at offset %td", p - text);
    memcpy(name, p, l);
    name[l] = '\0';
    seen++;
    int ok = strcmp(name, "BACKSTOCK_CONFIG") == 0 || strncmp(name, "BACKSTOCK_TEST_", 15) == 0 ||
             strcmp(name, "BACKSTOCK_API_KEY") == 0 || strcmp(name, "BACKSTOCK_API_URL") == 0;
    for (size_t i = 0; i < n && !ok; i++)
      ok = strcmp(name, k[i].env) == 0;
    if (!ok) {
      print_error("README.md names %s, which is no configuration variable\n", name);
      problems++;
    }
  }
  free(text);
  if (seen < n)
    fail_msg("README.md names only %zu BACKSTOCK_ variables, fewer than the %zu keys", seen, n);
  if (problems != 0)
    fail_msg("README.md and cfg_keys() disagree in %zu places", problems);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_keys_table),
      cmocka_unit_test(test_load_text_format),
      cmocka_unit_test(test_database_url),
      cmocka_unit_test(test_load_text_errors),
      cmocka_unit_test(test_bad_value_keeps_old),
      cmocka_unit_test(test_listen_forms),
      cmocka_unit_test(test_load_file),
      cmocka_unit_test(test_env_overrides_file),
      cmocka_unit_test(test_unclean_values),
      cmocka_unit_test(test_env_errors),
      cmocka_unit_test(test_print_defaults),
      cmocka_unit_test(test_print_round_trip),
      cmocka_unit_test(test_print_redacts_password),
      cmocka_unit_test(test_print_redacts_conninfo_variants),
      cmocka_unit_test(test_readme_matches_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
