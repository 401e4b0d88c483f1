/*
 * Reading orders: a filtered list by id (the ids in one statement, then
 * each order with order_get(), so there is one reader of an order's row),
 * and the event history of an order in seq order.
 */
#include <stdlib.h>
#include <string.h>

#include "issuance/issuance_orders_int.h"

static const struct db_stmt q_list = {
    "order_list",
    "SELECT o.id FROM orders o JOIN instruments i ON i.id = o.instrument"
    " WHERE o.id > $1::bigint AND ($2::bigint IS NULL OR o.ap = $2::bigint)"
    " AND ($3::text IS NULL OR o.state = $3) AND ($4::text IS NULL OR o.kind = $4)"
    " AND ($5::text IS NULL OR i.symbol = $5 OR i.token_symbol = $5)"
    " ORDER BY o.id LIMIT $6::integer",
    6};

static const struct db_stmt q_events = {
    "order_events",
    "SELECT id, order_id, seq, from_state, to_state, actor, detail::text,"
    " floor(extract(epoch FROM at) * 1000)::bigint FROM order_events"
    " WHERE order_id = $1::bigint AND id > $2::bigint ORDER BY seq LIMIT $3::integer",
    3};

int order_list(struct db_conn *c, const struct order_filter *f, int64_t after, size_t max,
               order_fn fn, void *cls)
{
  char aft[ISS_I64_TXT], ap[ISS_I64_TXT], lim[16];
  if (c == NULL || f == NULL || fn == NULL)
    return -ERR_INVALID_ARGUMENT;
  if (max == 0)
    return 0;
  snprintf(lim, sizeof lim, "%zu", max > 100000 ? (size_t)100000 : max);
  const char *params[] = {ord__i64(after < 0 ? 0 : after, aft),
                          f->ap > 0 ? ord__i64(f->ap, ap) : NULL,
                          f->has_state ? order_state_name(f->state) : NULL,
                          f->has_kind ? order_kind_name(f->kind) : NULL,
                          f->symbol,
                          lim};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_list, params, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  int n = qs > 0 ? PQntuples(r) : 0, done = 0, rc = 0;
  for (int i = 0; i < n && rc == 0; i++) {
    struct order o;
    rc = order_get(c, strtoll(PQgetvalue(r, i, 0), NULL, 10), false, &o);
    if (rc == -ERR_ORDER_NOT_FOUND) {
      rc = 0; /* cannot be: orders are never deleted */
      continue;
    }
    if (rc == 0 && (rc = fn(cls, &o)) == 0)
      done++;
  }
  PQclear(r);
  return rc != 0 ? rc : done;
}

int order_events(struct db_conn *c, int64_t id, int64_t after, size_t max, order_event_fn fn,
                 void *cls)
{
  char ids[ISS_I64_TXT], aft[ISS_I64_TXT], lim[16];
  if (c == NULL || fn == NULL)
    return -ERR_INVALID_ARGUMENT;
  if (max == 0)
    return 0;
  snprintf(lim, sizeof lim, "%zu", max > 100000 ? (size_t)100000 : max);
  const char *params[] = {ord__i64(id, ids), ord__i64(after < 0 ? 0 : after, aft), lim};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_events, params, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  int n = qs > 0 ? PQntuples(r) : 0, rc = 0, done = 0;
  for (int i = 0; i < n && rc == 0; i++) {
    struct order_event e = {0};
    e.id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    e.order_id = strtoll(PQgetvalue(r, i, 1), NULL, 10);
    e.seq = (int)strtol(PQgetvalue(r, i, 2), NULL, 10);
    e.has_from = !PQgetisnull(r, i, 3);
    if ((e.has_from && order_state_parse(PQgetvalue(r, i, 3), &e.from) != 0) ||
        order_state_parse(PQgetvalue(r, i, 4), &e.to) != 0) {
      rc = -ERR_INTERNAL;
      break;
    }
    e.actor = PQgetvalue(r, i, 5);
    e.detail = PQgetvalue(r, i, 6);
    e.at_ms = ord__ms(PQgetvalue(r, i, 7));
    if ((rc = fn(cls, &e)) == 0)
      done++;
  }
  PQclear(r);
  return rc != 0 ? rc : done;
}
