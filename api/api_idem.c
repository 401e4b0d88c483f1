/*
 * Idempotency-Key: a POST's work and its record in one transaction.
 *
 * In db_txn(): look up (principal, key) in api_idempotency; a record with
 * the same method, path and body SHA-256 is a replay (its stored reply
 * goes out again, with "Idempotent-Replayed: true"), with anything else a
 * conflict (409).  Without a record: SAVEPOINT, the handler's work, and
 * the record of its reply, so a crash leaves both or neither.  A work that
 * answers an error is rolled back to the savepoint and leaves no record
 * (the client may fix the request and send it again under the same key).
 * Two requests racing with one key: the second one's INSERT waits for the
 * first's commit and fails serialization (SERIALIZABLE), db_txn() runs it
 * again, and then it finds the record: one effect, the same reply.
 *
 * The first lookup runs on its own, before the transaction: a committed
 * record is final, and a record committed after it is caught by the
 * INSERT above (the unique key), so the transaction need not read the
 * index page every concurrent POST inserts into (a predicate lock that
 * made SERIALIZABLE abort unrelated requests).  Attempts after a conflict
 * look up inside the transaction, as before.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api_int.h"

struct api_txn {
  const struct api_principal *principal;
  bool replied;
  unsigned status;
  char *body; /* the reply sent now */
  size_t len;
  char *stored; /* the reply recorded, when it differs (no secret) */
  size_t stored_len;
  bool wipe; /* body holds a secret */
  int err_code;
  char err_hint[API_HINT_MAX];
};

enum outcome { RAN, REPLAY, CONFLICT };

struct run {
  struct api_request *req;
  api_work_fn fn;
  void *cls;
  struct api_txn t;
  char pid[24];
  char sha_hex[2 + 64 + 1]; /* "\x" and the body's SHA-256 in hex */
  enum outcome outcome;
  bool looked; /* the lookup before the transaction found nothing: skip it once */
  unsigned replay_status;
  char *replay_body;
  size_t replay_len;
};

static const struct db_stmt q_idem_get = {
    "api_idem_get",
    "SELECT method, path, body_sha256, status, response FROM api_idempotency"
    " WHERE principal = $1::bigint AND key = $2",
    2,
};

static const struct db_stmt q_idem_put = {
    "api_idem_put",
    "INSERT INTO api_idempotency (principal, key, method, path, body_sha256, status, response)"
    " VALUES ($1::bigint, $2, $3, $4, $5::bytea, $6::integer, $7) ON CONFLICT DO NOTHING",
    7,
};

static void txn_reset(struct api_txn *t)
{
  if (t->wipe && t->body != NULL)
    sodium_memzero(t->body, t->len);
  free(t->body);
  free(t->stored);
  const struct api_principal *p = t->principal;
  memset(t, 0, sizeof *t);
  t->principal = p;
}

static char *copy_text(struct api_json *j, size_t *len)
{
  const char *text;
  if (api_json_done(j, &text, len) != 0)
    return NULL;
  char *c = malloc(*len + 1);
  if (c != NULL)
    memcpy(c, text, *len + 1);
  return c;
}

enum db_qs api_txn_reply(struct api_txn *t, unsigned status, struct api_json *live,
                         struct api_json *stored)
{
  txn_reset(t);
  t->replied = true;
  t->status = status;
  t->wipe = live->wipe;
  t->body = copy_text(live, &t->len);
  if (stored != NULL)
    t->stored = copy_text(stored, &t->stored_len);
  if (t->body == NULL || (stored != NULL && t->stored == NULL)) {
    log_msg(LOGL_ERROR, "api", "cannot keep the reply (%s)",
            live->err != 0 ? err_text(live->err) : "out of memory");
    return DB_QS_HARD;
  }
  return DB_QS_NONE;
}

void api_txn_reply_open(struct api_json *j, const char *key)
{
  api_json_init(j);
  api_json_obj(j);
  api_json_key(j, key);
}

enum db_qs api_txn_reply_close(struct api_txn *t, unsigned status, struct api_json *j)
{
  api_json_obj_end(j);
  enum db_qs qs = api_txn_reply(t, status, j, NULL);
  api_json_free(j);
  return qs;
}

enum db_qs api_txn_error(struct api_txn *t, int code, const char *hint)
{
  txn_reset(t);
  t->replied = true;
  t->err_code = code < 0 ? -code : code;
  if (hint != NULL)
    util_strlcpy(t->err_hint, hint, sizeof t->err_hint);
  return DB_QS_NONE;
}

const struct api_principal *api_txn_principal(const struct api_txn *t)
{
  return t->principal;
}

/* The stored record of (principal, key), if any: replay or conflict. */
static enum db_qs lookup(struct db_conn *c, struct run *x)
{
  PGresult *r;
  const char *params[] = {x->pid, x->req->idem_key};
  enum db_qs qs = db_exec(c, &q_idem_get, params, &r);
  if (qs <= 0)
    return qs;
  bool same = strcmp(PQgetvalue(r, 0, 0), x->req->method) == 0 &&
              strcmp(PQgetvalue(r, 0, 1), x->req->url) == 0 &&
              strcmp(PQgetvalue(r, 0, 2), x->sha_hex) == 0;
  x->outcome = same ? REPLAY : CONFLICT;
  if (same) {
    x->replay_status = (unsigned)strtoul(PQgetvalue(r, 0, 3), NULL, 10);
    x->replay_len = (size_t)PQgetlength(r, 0, 4);
    x->replay_body = malloc(x->replay_len + 1);
    if (x->replay_body == NULL) {
      PQclear(r);
      return DB_QS_HARD;
    }
    memcpy(x->replay_body, PQgetvalue(r, 0, 4), x->replay_len + 1);
  }
  PQclear(r);
  return 1;
}

static enum db_qs run_txn(struct db_conn *c, void *cls)
{
  struct run *x = cls;
  char status[16];
  txn_reset(&x->t);
  free(x->replay_body);
  x->replay_body = NULL;
  x->outcome = RAN;
  enum db_qs qs = DB_QS_NONE;
  if (x->looked)
    x->looked = false; /* the first attempt: the lookup before it found nothing */
  else if ((qs = lookup(c, x)) != DB_QS_NONE)
    return qs;
  if ((qs = db_exec_sql(c, "SAVEPOINT api_work")) < 0)
    return qs;
  if ((qs = x->fn(c, &x->t, x->cls)) < 0)
    return qs;
  if (!x->t.replied) {
    log_bug("api", "work of %s %s gave no reply", x->req->method, x->req->url);
    api_txn_error(&x->t, ERR_INTERNAL, NULL);
  }
  if (x->t.err_code != 0)
    return db_exec_sql(c, "ROLLBACK TO SAVEPOINT api_work");
  snprintf(status, sizeof status, "%u", x->t.status);
  const char *params[] = {x->pid,
                          x->req->idem_key,
                          x->req->method,
                          x->req->url,
                          x->sha_hex,
                          status,
                          x->t.stored != NULL ? x->t.stored : x->t.body};
  qs = db_exec(c, &q_idem_put, params, NULL);
  if (qs == DB_QS_NONE) {
    /* Only a record committed after our snapshot; SERIALIZABLE reports that
     * itself, but should it not: run again, and find it. */
    util_strlcpy(c->last_sqlstate, "40001", sizeof c->last_sqlstate);
    return DB_QS_SOFT;
  }
  return qs;
}

int api_idem_run(struct api_request *req, const char *name, api_work_fn fn, void *cls)
{
  struct run x = {.req = req, .fn = fn, .cls = cls};
  uint8_t sha[crypto_hash_sha256_BYTES];
  struct db_conn *c;
  size_t len;
  int rc;
  if (!req->authed || req->idem_key == NULL) {
    log_bug("api", "%s: api_idem_run() on a route without key or Idempotency-Key", name);
    return api_reply_error(req, ERR_INTERNAL, NULL);
  }
  x.t.principal = &req->principal;
  snprintf(x.pid, sizeof x.pid, "%lld", (long long)req->principal.id);
  const char *body = api_req_body(req, &len);
  crypto_hash_sha256(sha, (const unsigned char *)body, len);
  memcpy(x.sha_hex, "\\x", 2);
  sodium_bin2hex(x.sha_hex + 2, sizeof x.sha_hex - 2, sha, sizeof sha);
  if ((rc = api_req_db(req, &c)) == 0)
    rc = db_ensure(c);
  if (rc == 0) {
    /* On its own: no predicate lock in the transaction.  Should it fail
     * (a lost connection...), the transaction looks up as before. */
    enum db_qs qs = lookup(c, &x);
    x.looked = qs == DB_QS_NONE;
    if (qs <= 0)
      rc = db_txn(c, name, run_txn, &x);
  }
  if (rc != 0)
    rc = api_reply_error(req, rc, NULL);
  else if (x.outcome == REPLAY)
    rc = api__reply(req, x.replay_status, x.replay_body, x.replay_len, true);
  else if (x.outcome == CONFLICT)
    rc = api_reply_error(req, ERR_API_IDEMPOTENCY_CONFLICT,
                         "this Idempotency-Key was used with another request (method, path "
                         "or body differ)");
  else if (x.t.err_code != 0)
    rc = api_reply_error(req, x.t.err_code, x.t.err_hint[0] != '\0' ? x.t.err_hint : NULL);
  else
    rc = api__reply(req, x.t.status, x.t.body, x.t.len, false);
  txn_reset(&x.t);
  free(x.replay_body);
  return rc;
}

int api_idem_post(struct api_request *req, const struct api_field *fields, size_t n, void *target,
                  const char *name, api_work_fn fn, void *cls)
{
  char hint[API_HINT_MAX];
  size_t len;
  const char *body = api_req_body(req, &len);
  int rc = api_body_parse(body, len, fields, n, target, NULL, hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  return api_idem_run(req, name, fn, cls);
}
