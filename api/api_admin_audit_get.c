/*
 * GET /v1/admin/audit (issuer admin, auditor): the audit log by seq, one
 * page at a time (?limit=, ?cursor=), with the chain checked from its
 * first record on every call: {"items": [...], "next_cursor": ...,
 * "verified": true|false, "broken_seq": null|N, "records": N}.  Each item
 * carries what its hash covers (details as the exact canonical text), so a
 * client can recompute the chain itself.  Nothing changed.
 */
#include <stdlib.h>

#include "api/api_int.h"

static const struct db_stmt q_page = {
    "api_audit_page",
    "SELECT seq, (extract(epoch from at) * 1000)::bigint, principal, action, target, details,"
    " prev_hash, hash FROM audit_log WHERE seq > $1::bigint ORDER BY seq LIMIT $2::integer",
    2,
};

/* A bytea column ("\x..") as a hex string without its prefix. */
static void hex_col(struct api_json *j, PGresult *r, int row, int col)
{
  const char *v = PQgetvalue(r, row, col);
  api_json_str(j, v[0] == '\\' && v[1] == 'x' ? v + 2 : v);
}

static void item(struct api_json *j, PGresult *r, int i)
{
  api_json_obj(j);
  api_json_key(j, "seq");
  api_json_int(j, strtoll(PQgetvalue(r, i, 0), NULL, 10));
  api_json_key(j, "at");
  api_json_time(j, api__ms_value(r, i, 1));
  api_json_key(j, "principal");
  if (PQgetisnull(r, i, 2))
    api_json_null(j);
  else
    api_json_int(j, strtoll(PQgetvalue(r, i, 2), NULL, 10));
  api_json_key(j, "action");
  api_json_str(j, PQgetvalue(r, i, 3));
  api_json_key(j, "target");
  api_json_str(j, PQgetvalue(r, i, 4));
  api_json_key(j, "details");
  api_json_strn(j, PQgetvalue(r, i, 5), (size_t)PQgetlength(r, i, 5));
  api_json_key(j, "prev_hash");
  hex_col(j, r, i, 6);
  api_json_key(j, "hash");
  hex_col(j, r, i, 7);
  api_json_obj_end(j);
}

/* The chain as checked: the members after the page. */
struct chain {
  int64_t broken, count;
};

static int rows(struct db_conn *c, struct api_page_out *o, void *cls)
{
  struct chain *ch = cls;
  int rc = api_audit_verify(c, &ch->broken, &ch->count);
  return rc != 0 ? rc : api_page_query(c, &q_page, o, item);
}

static void tail(struct api_json *j, void *cls)
{
  const struct chain *ch = cls;
  api_json_key(j, "verified");
  api_json_bool(j, ch->broken == 0);
  api_json_key(j, "broken_seq");
  if (ch->broken == 0)
    api_json_null(j);
  else
    api_json_int(j, ch->broken);
  api_json_key(j, "records");
  api_json_int(j, ch->count);
}

int api_admin_audit_get(struct api_request *req)
{
  static const struct api_page_list list = {.rows = rows, .tail = tail};
  struct chain ch = {0, 0};
  return api_page_get(req, &list, &ch);
}
