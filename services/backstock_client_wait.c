/*
 * "backstock orders wait ID --for STATE[,STATE...]" (backstock_client.h):
 * poll GET /v1/orders/{id} every half second until the order is in one of
 * the states wanted or has been in one (its events say so: a state passed
 * between two polls counts) (exit 0), or is in a final state or
 * requires_attention that is not wanted (exit 1), or the time is up
 * (exit 1).  Each change
 * of state is written to stderr as it is seen, the last reply to stdout.
 * The whole wait is bounded by --timeout (default 120 s), each request
 * by the smaller of 30 s and what is left.
 */
#include <string.h>

#include <sodium.h>
#include <yajl/yajl_tree.h>

#include "common/common.h"
#include "services/backstock_client.h"

#define POLL_MS 500

/* Whether @state is one of the comma-separated @list. */
static bool in_list(const char *list, const char *state)
{
  size_t n = strlen(state);
  for (const char *p = list; *p != '\0';) {
    size_t len = strcspn(p, ",");
    if (len == n && strncmp(p, state, n) == 0)
      return true;
    p += len + (p[len] == ',');
  }
  return false;
}

/* States after which waiting longer is pointless. */
static bool settled_state(const char *s)
{
  return in_list("completed,rejected,expired,cancelled,broker_rejected,requires_attention", s);
}

/* Whether the order's events (GET @path/events) hold a move to one of @want. */
static int passed(const struct client_conn *c, const char *path, const char *want, bool *yes)
{
  char epath[CLIENT_URL_MAX];
  struct client_reply rep = {0};
  const char *pi[] = {"items", NULL}, *pt[] = {"to_state", NULL};
  snprintf(epath, sizeof epath, "%s/events", path);
  struct client_req req = {.method = "GET", .path = epath, .query = "limit=500"};
  *yes = false;
  if (client_http(c, &req, &rep) != 0 || rep.status != 200) {
    client_print_error(stderr, c, &rep);
    client_reply_free(&rep);
    return -ERR_IO;
  }
  yajl_val root = yajl_tree_parse(rep.body, NULL, 0);
  yajl_val items = root != NULL ? yajl_tree_get(root, pi, yajl_t_array) : NULL;
  for (size_t k = 0; items != NULL && k < items->u.array.len && !*yes; k++) {
    yajl_val to = yajl_tree_get(items->u.array.values[k], pt, yajl_t_string);
    *yes = to != NULL && in_list(want, to->u.string);
  }
  yajl_tree_free(root);
  client_reply_free(&rep);
  return 0;
}

/* The order's state in a reply {"order": {"state": ...}} into @out. */
static bool state_of(const struct client_reply *rep, char *out, size_t size)
{
  const char *path[] = {"order", "state", NULL};
  yajl_val root = yajl_tree_parse(rep->body, NULL, 0);
  yajl_val s = root != NULL ? yajl_tree_get(root, path, yajl_t_string) : NULL;
  bool ok = s != NULL && util_strlcpy(out, s->u.string, size) == 0;
  yajl_tree_free(root);
  return ok;
}

int client_wait_order(const struct client_conn *conn, const char *path, const char *want,
                      long total_ms, bool table)
{
  struct client_conn c = *conn;
  struct client_req req = {.method = "GET", .path = path};
  struct client_reply rep = {0};
  char state[64] = "", seen[64] = "";
  bool reached = false;
  int64_t deadline = util_mono_ms() + total_ms;
  int rc = CLIENT_EXIT_ERROR;
  for (;;) {
    int64_t left = deadline - util_mono_ms();
    c.timeout_ms = left < 30000 ? (left > 1000 ? (long)left : 1000) : 30000;
    c.connect_ms = c.timeout_ms < conn->connect_ms ? c.timeout_ms : conn->connect_ms;
    client_reply_free(&rep);
    if (client_http(&c, &req, &rep) != 0 || rep.status != 200) {
      client_print_error(stderr, &c, &rep);
      goto out;
    }
    if (!state_of(&rep, state, sizeof state)) {
      fprintf(stderr, "error %d %s: the reply holds no order.state\n", ERR_IO, err_name(ERR_IO));
      goto out;
    }
    if (strcmp(state, seen) != 0) {
      fprintf(stderr, "backstock: %s: %s\n", path, state);
      memcpy(seen, state, sizeof seen);
    }
    if (in_list(want, state))
      break;
    /* A state the order went through between two polls counts too. */
    if (passed(&c, path, want, &reached) != 0)
      goto out;
    if (reached || settled_state(state) || util_mono_ms() + POLL_MS > deadline)
      break;
    util_sleep_ms(POLL_MS);
  }
  if (table ? client_print_table(stdout, rep.body, rep.len) != 0
            : client_print_json(stdout, rep.body, rep.len) != 0)
    fprintf(stdout, "%s\n", rep.body);
  fflush(stdout);
  if (in_list(want, state) || reached)
    rc = CLIENT_EXIT_OK;
  else if (settled_state(state))
    fprintf(stderr, "error %d %s: the order is %s, not %s\n", ERR_ORDER_STATE,
            err_name(ERR_ORDER_STATE), state, want);
  else
    fprintf(stderr, "error %d %s: the order is still %s after %ld s (waiting for %s)\n",
            ERR_ORDER_STATE, err_name(ERR_ORDER_STATE), state, total_ms / 1000, want);
out:
  client_reply_free(&rep);
  sodium_memzero(c.key, sizeof c.key);
  return rc;
}
