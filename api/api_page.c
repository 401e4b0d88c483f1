/*
 * Cursor pagination: ?limit= and an opaque ?cursor= (base64url of the
 * decimal id of the last item shown), and the reply's frame
 * {"items": [...], "next_cursor": "..." | null}.  A list is ordered by a
 * positive id; a page holds the rows with id > the cursor's.  A cursor is
 * checked strictly (canonical base64url of a canonical decimal), so any
 * other text is api_bad_cursor, never a silent first page.  A list
 * endpoint gives api_page_get() its check, rows and tail; the rest (the
 * arguments, the database, the frame, the reply) is done here once.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api_int.h"

void api_cursor_encode(int64_t id, char out[API_CURSOR_MAX])
{
  char dec[24];
  int n = snprintf(dec, sizeof dec, "%lld", (long long)id);
  sodium_bin2base64(out, API_CURSOR_MAX, (const unsigned char *)dec, (size_t)n,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int api_cursor_decode(const char *s, int64_t *id)
{
  unsigned char dec[24];
  size_t n = 0;
  const char *end = NULL;
  char again[API_CURSOR_MAX];
  size_t len = strlen(s);
  if (len == 0 || len >= API_CURSOR_MAX ||
      sodium_base642bin(dec, sizeof dec - 1, s, len, NULL, &n, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != s + len || n == 0 || n > 19 || dec[0] < '1' || dec[0] > '9')
    return -ERR_API_BAD_CURSOR;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (dec[i] < '0' || dec[i] > '9' || v > (INT64_MAX - (dec[i] - '0')) / 10)
      return -ERR_API_BAD_CURSOR;
    v = v * 10 + (dec[i] - '0');
  }
  api_cursor_encode(v, again);
  if (strcmp(again, s) != 0) /* unused bits set: not the text we make */
    return -ERR_API_BAD_CURSOR;
  *id = v;
  return 0;
}

int api_page_args(struct api_request *req, struct api_page *p, char *hint, size_t hint_size)
{
  const char *lim = api_req_query(req, "limit");
  const char *cur = api_req_query(req, "cursor");
  p->limit = API_PAGE_DEFAULT;
  p->after = 0;
  if (lim != NULL) {
    uint32_t v;
    if (kv_parse_uint(lim, strlen(lim), 1, API_PAGE_MAX, &v) != 0)
      return api__hint(hint, hint_size, -ERR_API_FIELD, "limit: want an integer from 1 to %d",
                       API_PAGE_MAX);
    p->limit = v;
  }
  if (cur != NULL && api_cursor_decode(cur, &p->after) != 0)
    return api__hint(hint, hint_size, -ERR_API_BAD_CURSOR,
                     "cursor: pass the next_cursor of the previous page as it is");
  return 0;
}

int api_page_fetch(struct db_conn *c, const struct db_stmt *q, const struct api_page *p,
                   const char *const *args, int n_args, PGresult **r, int *shown, bool *more)
{
  char after[24], lim[16];
  snprintf(after, sizeof after, "%lld", (long long)p->after);
  snprintf(lim, sizeof lim, "%u", p->limit + 1);
  const char *params[2 + API_PAGE_ARGS_MAX] = {after, lim};
  if (n_args < 0 || n_args > API_PAGE_ARGS_MAX)
    return ERR_INTERNAL;
  for (int k = 0; k < n_args; k++)
    params[2 + k] = args[k];
  *r = NULL;
  enum db_qs qs = db_exec(c, q, params, r);
  if (qs < 0)
    return qs == DB_QS_SOFT ? ERR_DB_CONFLICT : ERR_DB_HARD;
  int rows = qs > 0 ? PQntuples(*r) : 0;
  *shown = rows > (int)p->limit ? (int)p->limit : rows;
  *more = rows > *shown;
  return 0;
}

void api_page_open(struct api_json *j)
{
  api_json_obj(j);
  api_json_key(j, "items");
  api_json_arr(j);
}

void api_page_close(struct api_json *j, int64_t next_after)
{
  char c[API_CURSOR_MAX];
  api_json_arr_end(j);
  api_json_key(j, "next_cursor");
  if (next_after > 0) {
    api_cursor_encode(next_after, c);
    api_json_str(j, c);
  } else {
    api_json_null(j);
  }
}

bool api_page_item(struct api_page_out *o, int64_t id)
{
  if (o->n >= o->page.limit) {
    o->more = true;
    return false;
  }
  o->n++;
  o->last = id;
  return true;
}

int api_page_query(struct db_conn *c, const struct db_stmt *q, struct api_page_out *o,
                   void (*show)(struct api_json *j, PGresult *r, int row))
{
  return api_page_query_args(c, q, NULL, 0, o, show);
}

int api_page_query_args(struct db_conn *c, const struct db_stmt *q, const char *const *args,
                        int n_args, struct api_page_out *o,
                        void (*show)(struct api_json *j, PGresult *r, int row))
{
  PGresult *r = NULL;
  int shown;
  bool more;
  int rc = api_page_fetch(c, q, &o->page, args, n_args, &r, &shown, &more);
  if (rc != 0)
    return -rc;
  for (int i = 0; i < shown; i++) {
    show(o->j, r, i);
    o->n++;
    o->last = strtoll(PQgetvalue(r, i, 0), NULL, 10);
  }
  o->more = more;
  PQclear(r);
  return 0;
}

int api_page_get(struct api_request *req, const struct api_page_list *l, void *cls)
{
  struct api_page_out o = {.n = 0};
  struct api_json j;
  struct db_conn *c;
  char hint[API_HINT_MAX];
  int rc = api_page_args(req, &o.page, hint, sizeof hint);
  if (rc == 0 && l->check != NULL)
    rc = l->check(req, cls, hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  if ((rc = api_req_db(req, &c)) != 0)
    return api_reply_error(req, rc, NULL);
  api_json_init(&j);
  o.j = &j;
  api_page_open(&j);
  rc = l->rows(c, &o, cls);
  if (rc < 0) {
    api_json_free(&j);
    return api_reply_error(req, rc, o.hint[0] != '\0' ? o.hint : NULL);
  }
  api_page_close(&j, o.more ? o.last : 0);
  if (l->tail != NULL)
    l->tail(&j, cls);
  api_json_obj_end(&j);
  rc = api_reply_writer(req, 200, &j);
  api_json_free(&j);
  return rc;
}
