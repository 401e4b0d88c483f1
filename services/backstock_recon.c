/*
 * "backstock recon ..." (services/backstock_recon.h, docs/reconcile.md):
 *   recon run                       one recon_step() pass, its counts
 *   recon runs [--isin X] [--status ok|breaks] [--after ID] [--limit N]
 *   recon breaks [--isin X] [--status S] [--class C] [--after ID] [--limit N]
 *   recon resolve ID explained|resolved NOTE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/reconcile.h"
#include "services/backstock_recon.h"

static void usage(void)
{
  fputs("usage: backstock recon run\n"
        "       backstock recon runs [--isin X] [--status ok|breaks] [--after ID] [--limit N]\n"
        "       backstock recon breaks [--isin X] [--status S] [--class C] [--after ID]"
        " [--limit N]\n"
        "       backstock recon resolve ID explained|resolved NOTE\n",
        stderr);
}

static int parse_filter(int argc, char **argv, int i, struct recon_filter *f)
{
  memset(f, 0, sizeof *f);
  for (; i < argc; i += 2) {
    if (i + 1 >= argc)
      return -ERR_INVALID_ARGUMENT;
    const char *v = argv[i + 1];
    char *end = NULL;
    if (strcmp(argv[i], "--isin") == 0) {
      f->isin = v;
    } else if (strcmp(argv[i], "--status") == 0) {
      f->status = v;
    } else if (strcmp(argv[i], "--class") == 0) {
      f->klass = v;
    } else if (strcmp(argv[i], "--after") == 0) {
      f->after = strtoll(v, &end, 10);
      if (*v == '\0' || *end != '\0' || f->after < 0)
        return -ERR_INVALID_ARGUMENT;
    } else if (strcmp(argv[i], "--limit") == 0) {
      unsigned long n = strtoul(v, &end, 10);
      if (*v == '\0' || *end != '\0' || n == 0 || n > 1000)
        return -ERR_INVALID_ARGUMENT;
      f->limit = (unsigned)n;
    } else {
      return -ERR_INVALID_ARGUMENT;
    }
  }
  return 0;
}

struct resolve {
  int64_t id;
  const char *status, *note;
  int err;
};

static enum db_qs resolve_txn(struct db_conn *c, void *cls)
{
  struct resolve *r = cls;
  return recon_break_resolve_in(c, r->id, r->status, r->note, 0, &r->err);
}

int backstock_recon_command(struct db_conn *c, int64_t tolerance_tokens, int argc, char **argv,
                            int i)
{
  const char *what = i < argc ? argv[i] : "";
  struct recon_filter f;
  int rc;
  if (strcmp(what, "run") == 0 && i + 1 == argc) {
    struct recon_stats st;
    rc = recon_step(c, tolerance_tokens, &st);
    printf("recon runs=%u ok=%u breaks=%u open_breaks=%u%s\n", st.runs, st.ok, st.with_breaks,
           st.open_breaks, rc == 0 ? "" : " stopped=error");
    if (rc != 0)
      fprintf(stderr, "backstock: recon run: %s\n", err_text(rc));
    return rc;
  }
  if ((strcmp(what, "runs") == 0 || strcmp(what, "breaks") == 0) &&
      parse_filter(argc, argv, i + 1, &f) == 0) {
    rc = what[0] == 'r' ? recon_runs_show(c, &f, stdout) : recon_breaks_show(c, &f, stdout);
    if (rc < 0)
      fprintf(stderr, "backstock: recon %s: %s\n", what, err_text(rc));
    return rc < 0 ? rc : 0;
  }
  if (strcmp(what, "resolve") == 0 && i + 4 == argc) {
    struct resolve r = {0, argv[i + 2], argv[i + 3], 0};
    char *end = NULL;
    r.id = strtoll(argv[i + 1], &end, 10);
    if (argv[i + 1][0] != '\0' && *end == '\0' && r.id > 0) {
      if ((rc = db_txn(c, "recon_resolve", resolve_txn, &r)) == 0)
        rc = r.err;
      if (rc != 0) {
        fprintf(stderr, "backstock: recon resolve %lld: %s\n", (long long)r.id, err_text(rc));
        return rc == -ERR_INVALID_ARGUMENT ? -ERR_INVALID_ARGUMENT : rc;
      }
      printf("break %lld %s\n", (long long)r.id, r.status);
      return 0;
    }
  }
  usage();
  return -ERR_INVALID_ARGUMENT;
}
