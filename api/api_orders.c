/*
 * What the orders' endpoints share (api_orders_int.h): the JSON of an
 * order, an event and a cash movement; reading an order for the caller
 * (an AP sees its own only); the mapping of issuance errors inside a
 * POST's work; and the creation of mint and redeem orders with their
 * signed payload, which the two POST endpoints run.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_orders_int.h"

static int64_t time_or_none(int64_t ms)
{
  return ms == 0 ? API_TIME_NONE : ms;
}

static void money_member(struct api_json *j, const char *key, struct money m)
{
  api_json_key(j, key);
  api_json_money(j, m);
}

void api__show_order(struct api_json *j, const struct order *o)
{
  char day[CAL_DATE_STR];
  struct money due, shown;
  bool mint = o->kind == ORDER_MINT;
  api_json_obj(j);
  api_json_key(j, "id");
  api_json_int(j, o->id);
  api_json_key(j, "kind");
  api_json_str(j, order_kind_name(o->kind));
  api_json_key(j, "state");
  api_json_str(j, order_state_name(o->state));
  api_json_key(j, "state_since");
  api_json_time(j, o->state_since_ms);
  api_json_key(j, "ap");
  api_json_int(j, o->ap);
  api_json_key(j, "symbol");
  api_json_str(j, o->symbol);
  api_json_key(j, "token_symbol");
  api_json_str(j, o->token_symbol);
  api_json_key(j, "isin");
  api_json_str(j, o->isin);
  api_json_key(j, "wallet");
  api_json_str(j, o->wallet);
  money_member(j, "quantity", o->quantity);
  money_member(j, "token_amount", o->token_amount);
  money_member(j, "multiplier", o->multiplier);
  api_json_key(j, "token_amount_displayed");
  if (money_mul(o->token_amount, o->multiplier, ISSUANCE_TOKEN_SCALE, MONEY_ROUND_DOWN, &shown) ==
      0)
    api_json_money(j, shown);
  else
    api_json_null(j);
  api_json_key(j, "token_decimals");
  api_json_int(j, o->token_decimals);
  api_json_key(j, "limit_price");
  if (o->has_limit)
    api_json_money(j, o->limit_price);
  else
    api_json_null(j);
  api_json_key(j, "mint_policy");
  api_json_str(j, mint ? (o->mint_at_fill ? "at_fill" : "at_settlement") : NULL);
  api_json_key(j, "burn_policy");
  api_json_str(j, mint ? NULL : (o->burn_on_receipt ? "on_receipt" : "at_payout"));
  money_member(j, "fee_flat", o->fee_flat);
  money_member(j, "fee_rate", o->fee_rate);
  money_member(j, "cash_required", o->cash_required);
  money_member(j, "cash_funded", o->cash_funded);
  money_member(j, "filled_qty", o->filled_qty);
  money_member(j, "fill_cash", o->fill_cash);
  money_member(j, "settled_qty", o->settled_qty);
  money_member(j, "settled_cash", o->settled_cash);
  money_member(j, "fee", o->fee);
  money_member(j, "cash_paid", o->cash_paid);
  api_json_key(j, "cash_due");
  if (order_cash_due(o, &due) == 0)
    api_json_money(j, due);
  else
    api_json_null(j);
  money_member(j, "tokens_done", o->tokens_done);
  cal_format_date(o->session_date, day);
  api_json_key(j, "session_date");
  api_json_str(j, day);
  api_json_key(j, "cash_deadline");
  api_json_time(j, time_or_none(o->cash_deadline_ms));
  api_json_key(j, "cancel_requested");
  api_json_bool(j, o->cancel_requested);
  api_json_key(j, "attention");
  api_json_str(j, o->attention[0] != '\0' ? o->attention : NULL);
  api_json_key(j, "client_ref");
  api_json_str(j, o->client_ref[0] != '\0' ? o->client_ref : NULL);
  api_json_key(j, "signed");
  api_json_bool(j, o->signing_key != 0);
  api_json_key(j, "signing_key");
  if (o->signing_key != 0)
    api_json_int(j, o->signing_key);
  else
    api_json_null(j);
  api_json_key(j, "created");
  api_json_time(j, o->created_ms);
  api_json_key(j, "updated");
  api_json_time(j, o->updated_ms);
  api_json_obj_end(j);
}

void api__show_order_event(struct api_json *j, const struct order_event *e)
{
  api_json_obj(j);
  api_json_key(j, "id");
  api_json_int(j, e->id);
  api_json_key(j, "seq");
  api_json_int(j, e->seq);
  api_json_key(j, "from_state");
  api_json_str(j, e->has_from ? order_state_name(e->from) : NULL);
  api_json_key(j, "to_state");
  api_json_str(j, order_state_name(e->to));
  api_json_key(j, "actor");
  api_json_str(j, e->actor);
  api_json_key(j, "detail");
  api_json_raw(j, e->detail, strlen(e->detail)); /* jsonb's text: one JSON object */
  api_json_key(j, "at");
  api_json_time(j, e->at_ms);
  api_json_obj_end(j);
}

void api__show_movement(struct api_json *j, const struct order_movement *m)
{
  api_json_obj(j);
  api_json_key(j, "id");
  api_json_int(j, m->id);
  api_json_key(j, "order_id");
  api_json_int(j, m->order_id);
  api_json_key(j, "kind");
  api_json_str(j, order_cash_kind_name(m->kind));
  money_member(j, "amount", m->amount);
  api_json_key(j, "bank_ref");
  api_json_str(j, m->bank_ref);
  api_json_key(j, "recorded_by");
  api_json_int(j, m->recorded_by);
  api_json_key(j, "at");
  api_json_time(j, m->at_ms);
  api_json_obj_end(j);
}

int api__order_visible(struct db_conn *c, const struct api_principal *who, int64_t id, bool lock,
                       struct order *o)
{
  int rc = order_get(c, id, lock, o);
  if (rc == 0 && who->role == API_ROLE_AP && o->ap != who->id)
    return -ERR_ORDER_NOT_FOUND; /* another AP's: as if there were none */
  return rc;
}

int api__order_id(struct api_request *req, int64_t *id)
{
  return api_parse_id(api_req_param(req, "id"), id) == 0 ? 0 : -ERR_ORDER_NOT_FOUND;
}

enum db_qs api__order_fail(struct api_txn *t, int rc, const char *hint)
{
  enum db_qs qs = order_qs(rc);
  if (qs != DB_QS_NONE)
    return qs;
  if (rc == -ERR_INVALID_ARGUMENT)
    return api_txn_error(t, ERR_API_FIELD, hint);
  return api_txn_error(t, rc, hint);
}

enum db_qs api__order_reply(struct db_conn *c, struct api_txn *t, unsigned status, int64_t id,
                            const struct order_movement *movement)
{
  struct order o;
  struct api_json j;
  int rc = order_get(c, id, false, &o);
  if (rc != 0)
    return api__order_fail(t, rc, NULL);
  api_txn_reply_open(&j, "order");
  api__show_order(&j, &o);
  if (movement != NULL) {
    api_json_key(&j, "movement");
    api__show_movement(&j, movement);
  }
  return api_txn_reply_close(t, status, &j);
}

int api__order_cash_post(struct api_request *req, const struct api_field *fields, size_t n,
                         const char *name, api_work_fn fn)
{
  struct api_order_cash x;
  memset(&x, 0, sizeof x);
  int rc = api__order_id(req, &x.id);
  if (rc != 0)
    return api_reply_error(req, rc, NULL);
  return api_idem_post(req, fields, n, &x, name, fn, &x);
}

enum db_qs api__order_cash_reply(struct db_conn *c, struct api_txn *t, int64_t id,
                                 const char *action, const struct order_movement *m)
{
  if (!m->existed) {
    struct api_json d;
    char target[40];
    api_json_init(&d);
    api_json_obj(&d);
    api_json_key(&d, "amount");
    api_json_money(&d, m->amount);
    api_json_key(&d, "bank_ref");
    api_json_str(&d, m->bank_ref);
    api_json_key(&d, "movement");
    api_json_int(&d, m->id);
    api_json_obj_end(&d);
    snprintf(target, sizeof target, "order:%lld", (long long)id);
    enum db_qs qs = api__audit(c, api_txn_principal(t)->id, action, target, &d);
    if (qs < 0)
      return qs;
  }
  return api__order_reply(c, t, m->existed ? 200 : 201, id, m);
}

/* ------------------------------------------------------------------ */
/* Creation: POST /v1/orders/mint and /v1/orders/redeem               */
/* ------------------------------------------------------------------ */

struct create_body {
  char symbol[ORDER_SYMBOL_MAX];
  struct money quantity;
  struct money limit_price;
  char wallet[API_ADDRESS_LEN + 1];
  char client_ref[ORDER_REF_MAX];
};

#define CREATE_FIELDS(limit_flags)                                                                 \
  {                                                                                                \
    API_FIELD_STRING("symbol", struct create_body, symbol, API_F_REQUIRED, API_CS_ID),             \
        API_FIELD_DECIMAL("quantity", struct create_body, quantity, API_F_REQUIRED,                \
                          ISSUANCE_QTY_SCALE),                                                     \
        API_FIELD_DECIMAL("limit_price", struct create_body, limit_price, limit_flags, 6),         \
        API_FIELD_ADDRESS("wallet", struct create_body, wallet, API_F_REQUIRED),                   \
        API_FIELD_STRING("client_ref", struct create_body, client_ref, 0, API_CS_TEXT),            \
  }

static const struct api_field mint_fields[] = CREATE_FIELDS(API_F_REQUIRED);
static const struct api_field redeem_fields[] = CREATE_FIELDS(0);

/* Bits of the present mask: the fields' indexes above. */
#define F_LIMIT      (1u << 2)
#define F_CLIENT_REF (1u << 4)

struct create_ctx {
  struct order_request rq;
};

static enum db_qs create_work(struct db_conn *c, struct api_txn *t, void *cls)
{
  struct create_ctx *x = cls;
  struct order o;
  struct api_json j;
  int rc = order_create_get_in(c, &x->rq, &o);
  if (rc != 0)
    return api__order_fail(t, rc,
                           rc == -ERR_ORDER_SIGNATURE
                               ? "sign the instruction with an active key of yours:"
                                 " X-Backstock-Signature: keyid=<id>,sig=<base64>"
                               : NULL);
  /* The order as the insert returned it: what order_get() would read now. */
  api_txn_reply_open(&j, "order");
  api__show_order(&j, &o);
  return api_txn_reply_close(t, 201, &j);
}

/*
 * The bytes a signature covers: "backstock-order-v1\n" METHOD "\n" PATH
 * "\n" IDEMPOTENCY-KEY "\n" BODY.  Returns a malloc'd buffer or NULL.
 */
static unsigned char *signed_payload(struct api_request *req, size_t *len)
{
  size_t blen;
  const char *body = api_req_body(req, &blen);
  size_t pre = strlen(API_ORDER_SIG_PREFIX), m = strlen(req->method), p = strlen(req->url),
         k = strlen(req->idem_key);
  size_t n = pre + m + 1 + p + 1 + k + 1 + blen;
  unsigned char *b = malloc(n + 1);
  if (b == NULL)
    return NULL;
  size_t at = 0;
  memcpy(b + at, API_ORDER_SIG_PREFIX, pre);
  at += pre;
  memcpy(b + at, req->method, m);
  at += m;
  b[at++] = '\n';
  memcpy(b + at, req->url, p);
  at += p;
  b[at++] = '\n';
  memcpy(b + at, req->idem_key, k);
  at += k;
  b[at++] = '\n';
  memcpy(b + at, body, blen);
  at += blen;
  b[at] = '\0';
  *len = at;
  return b;
}

int api__order_create(struct api_request *req, enum order_kind kind)
{
  struct create_body b;
  struct create_ctx x;
  char hint[API_HINT_MAX];
  uint64_t present = 0;
  size_t len;
  memset(&b, 0, sizeof b);
  memset(&x, 0, sizeof x);
  const char *body = api_req_body(req, &len);
  const struct api_field *fields = kind == ORDER_MINT ? mint_fields : redeem_fields;
  int rc = api_body_parse(body, len, fields, sizeof mint_fields / sizeof mint_fields[0], &b,
                          &present, hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  const char *sig =
      MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Backstock-Signature");
  if (sig != NULL && strlen(sig) > ORDER_SIG_HEADER_MAX)
    return api_reply_error(req, ERR_ORDER_SIGNATURE, "X-Backstock-Signature too long");
  x.rq.kind = kind;
  x.rq.ap = api_req_principal(req)->id;
  x.rq.symbol = b.symbol;
  x.rq.quantity = b.quantity;
  x.rq.has_limit = (present & F_LIMIT) != 0;
  x.rq.limit_price = b.limit_price;
  x.rq.wallet = b.wallet;
  x.rq.client_ref = (present & F_CLIENT_REF) != 0 ? b.client_ref : NULL;
  x.rq.sig_header = sig;
  x.rq.cal = api_req_ctx(req)->cal;
  unsigned char *payload = NULL;
  if (sig != NULL) {
    payload = signed_payload(req, &x.rq.payload_len);
    if (payload == NULL)
      return api_reply_error(req, ERR_NOMEM, NULL);
    x.rq.payload = payload;
  }
  rc = api_idem_run(req, kind == ORDER_MINT ? "orders_mint_post" : "orders_redeem_post",
                    create_work, &x);
  free(payload);
  return rc;
}
