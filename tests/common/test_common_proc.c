/*
 * Tests of common/common_proc.c: a process's leading options and its stop
 * signals.
 *
 * proc_options(): --config FILE, --help and -h (usage on stdout, status
 * 0), an unknown option or a --config without FILE (usage on stderr,
 * status 2), the index of the first argument after the options, that the
 * options end at the first argument not starting with '-', and that
 * without @next such an argument is refused (status 2).
 * proc_catch_stop(): SIGTERM and SIGINT set the flag and the process goes
 * on; SIGPIPE is ignored; a second call moves the signals to a new flag.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"

/* Which streams usage() was given, in order: 'o' stdout, 'e' stderr. */
static char usage_log[8];

static void usage(FILE *out)
{
  size_t n = strlen(usage_log);
  if (n + 1 < sizeof usage_log)
    usage_log[n] = out == stdout ? 'o' : out == stderr ? 'e' : '?';
}

static void test_options(void **state)
{
  (void)state;
  static const struct {
    const char *argv[5];
    int rc;
    const char *config; /* NULL: left as it was */
    int next;           /* when rc is -1 */
    const char *usage;
  } cases[] = {
      {{"p"}, -1, NULL, 1, ""},
      {{"p", "--config", "a.conf"}, -1, "a.conf", 3, ""},
      {{"p", "--config", "a.conf", "--config", "b.conf"}, -1, "b.conf", 5, ""},
      {{"p", "--config", "a.conf", "serve", "--x"}, -1, "a.conf", 3, ""},
      {{"p", "serve", "--config", "a.conf"}, -1, NULL, 1, ""},
      {{"p", ""}, -1, NULL, 1, ""},
      {{"p", "--help"}, 0, NULL, 0, "o"},
      {{"p", "-h", "--bogus"}, 0, NULL, 0, "o"},
      {{"p", "--config", "a.conf", "-h"}, 0, "a.conf", 0, "o"},
      {{"p", "--config"}, 2, NULL, 0, "e"},
      {{"p", "--bogus", "-h"}, 2, NULL, 0, "e"},
      {{"p", "-"}, 2, NULL, 0, "e"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *argv[6] = {0};
    int argc = 0;
    while (argc < 5 && cases[i].argv[argc] != NULL) {
      argv[argc] = (char *)cases[i].argv[argc];
      argc++;
    }
    const char *config = NULL;
    int next = -7;
    memset(usage_log, 0, sizeof usage_log);
    int rc = proc_options(argc, argv, usage, &config, &next);
    bool config_ok = cases[i].config == NULL
                         ? config == NULL
                         : config != NULL && strcmp(config, cases[i].config) == 0;
    if (rc != cases[i].rc || !config_ok || (rc == -1 && next != cases[i].next) ||
        strcmp(usage_log, cases[i].usage) != 0)
      fail_msg("case %zu: rc %d config %s next %d usage \"%s\"", i, rc,
               config != NULL ? config : "(null)", next, usage_log);
  }
  /* With next NULL, an argument after the options is refused. */
  char *argv1[] = {"p", "--config", "a.conf", NULL};
  char *argv2[] = {"p", "--config", "a.conf", "serve", NULL};
  const char *config = NULL;
  memset(usage_log, 0, sizeof usage_log);
  assert_int_equal(proc_options(3, argv1, usage, &config, NULL), -1);
  assert_string_equal(config, "a.conf");
  assert_string_equal(usage_log, "");
  assert_int_equal(proc_options(4, argv2, usage, &config, NULL), 2);
  assert_string_equal(usage_log, "e");
}

static volatile int flag_a, flag_b;

static void test_catch_stop(void **state)
{
  (void)state;
  proc_catch_stop(&flag_a);
  assert_int_equal(raise(SIGTERM), 0);
  assert_int_equal(flag_a, 1);
  flag_a = 0;
  assert_int_equal(raise(SIGINT), 0);
  assert_int_equal(flag_a, 1);
  assert_int_equal(raise(SIGPIPE), 0); /* ignored: we are still here */
  struct sigaction sa;
  assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
  assert_true(sa.sa_handler == SIG_IGN);

  flag_a = 0;
  proc_catch_stop(&flag_b);
  assert_int_equal(raise(SIGTERM), 0);
  assert_int_equal(flag_b, 1);
  assert_int_equal(flag_a, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_options),
      cmocka_unit_test(test_catch_stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
