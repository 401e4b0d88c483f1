/*
 * POST /v1/admin/limits (issuer admin): set a limit on the shares of an
 * instrument ordered in a rolling window.  Body: symbol (the stock's or
 * the token's), ap (optional: one AP's limit; absent: all APs together),
 * kind ("mint" or "redeem"), window_seconds (60 to 31622400), max_qty
 * (shares, > 0, scale 6); all but ap required.  A limit is named by
 * (instrument, ap, kind, window_seconds): setting it again replaces its
 * max_qty.  200 {"limit": ...}.  400 api_field when the symbol names no
 * instrument or ap is not an AP.  Audited as limit.set with the previous
 * max_qty (null when new).
 */
#include <string.h>

#include "api/api_participants_int.h"

struct body {
  char symbol[ORDER_SYMBOL_MAX];
  int64_t ap;
  int kind;
  int64_t window_seconds;
  struct money max_qty;
};

static const char *const kinds[] = {"mint", "redeem", NULL};

static const struct api_field fields[] = {
    API_FIELD_STRING("symbol", struct body, symbol, API_F_REQUIRED, API_CS_ID),
    API_FIELD_INT("ap", struct body, ap, 0, 1, INT64_MAX),
    API_FIELD_ENUM("kind", struct body, kind, API_F_REQUIRED, kinds),
    API_FIELD_INT("window_seconds", struct body, window_seconds, API_F_REQUIRED,
                  ORDER_LIMIT_WINDOW_MIN, ORDER_LIMIT_WINDOW_MAX),
    API_FIELD_DECIMAL("max_qty", struct body, max_qty, API_F_REQUIRED, ISSUANCE_QTY_SCALE),
};

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct body *b = cls;
  struct order_limit l;
  struct money prev;
  struct api_json d, j;
  char sym[ORDER_SYMBOL_MAX];
  memset(&l, 0, sizeof l);
  enum db_qs qs = api__part_instrument(c, b->symbol, &l.instrument, sym);
  if (qs < 0)
    return qs;
  if (qs == DB_QS_NONE)
    return api_txn_error(t, ERR_API_FIELD,
                         "field \"symbol\": no instrument has this symbol or token symbol");
  l.ap = b->ap;
  l.kind = b->kind == 1 ? ORDER_REDEEM : ORDER_MINT;
  l.window_seconds = (int32_t)b->window_seconds;
  l.max_qty = b->max_qty;
  int rc = order_limit_set_in(c, &l, &prev);
  if (rc == -ERR_API_NOT_FOUND)
    return api_txn_error(t, ERR_API_FIELD, "field \"ap\": no AP has this id");
  if (rc != 0)
    return api__part_fail(t, rc, NULL);
  api_json_init(&d);
  api_json_obj(&d);
  api_json_key(&d, "symbol");
  api_json_str(&d, l.symbol);
  api_json_key(&d, "ap");
  if (l.ap > 0)
    api_json_int(&d, l.ap);
  else
    api_json_null(&d);
  api_json_key(&d, "kind");
  api_json_str(&d, order_kind_name(l.kind));
  api_json_key(&d, "window_seconds");
  api_json_int(&d, l.window_seconds);
  api_json_key(&d, "max_qty");
  api_json_money(&d, l.max_qty);
  api_json_key(&d, "previous_max_qty");
  if (prev.v > 0)
    api_json_money(&d, prev);
  else
    api_json_null(&d);
  api_txn_reply_open(&j, "limit");
  api__show_limit(&j, &l);
  return api__part_reply(c, t, &d, "limit.set", "limit", l.id, 200, &j);
}

int api_participants_limits_post(struct api_request *req)
{
  struct body b;
  memset(&b, 0, sizeof b);
  return api_idem_post(req, fields, sizeof fields / sizeof fields[0], &b, "limits_post", work, &b);
}
