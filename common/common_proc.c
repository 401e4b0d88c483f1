/*
 * What every process's main() does the same way: the leading options
 * (--config FILE, --help); and, for a long-running one, SIGINT and SIGTERM
 * asking it to stop (they set a flag its loop polls) with SIGPIPE
 * ignored, so a peer that closes a socket is a write error, not a death.
 *
 * One flag per process: the handler writes through a pointer set before
 * the handlers are installed, and nothing else.
 */
#include <signal.h>
#include <string.h>

#include "common/common.h"

static volatile int *stop_flag;

static void on_stop(int sig)
{
  (void)sig;
  if (stop_flag != NULL)
    *stop_flag = 1;
}

void proc_catch_stop(volatile int *stop)
{
  struct sigaction sa;
  stop_flag = stop;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

int proc_options(int argc, char **argv, void (*usage)(FILE *out), const char **config_path,
                 int *next)
{
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      *config_path = argv[++i];
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (next != NULL) {
    *next = i;
  } else if (i < argc) { /* arguments besides the options, where none are taken */
    usage(stderr);
    return 2;
  }
  return -1;
}
