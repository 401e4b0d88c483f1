/*
 * api: the orders' endpoints, shared by their files (api_orders*.c,
 * api_order_*.c, api_admin_order_*.c).  The rules live in issuance/
 * (issuance_orders*.c, the "Orders" sections of issuance/issuance.h);
 * these files parse, check roles and scope, build the signed payload,
 * audit admin actions and answer.  An AP sees and acts on its own orders
 * only: another AP's order answers 404 order_not_found, as if it did not
 * exist.  Conventions: docs/api.md, docs/orders.md.
 */
#ifndef BACKSTOCK_API_ORDERS_INT_H
#define BACKSTOCK_API_ORDERS_INT_H

#include "api/api_int.h"
#include "issuance/issuance.h"

/* The signed payload's first line (docs/orders.md, "Signed instructions"). */
#define API_ORDER_SIG_PREFIX "backstock-order-v1\n"

/** api__show_order() - an order as the API shows it (one object). */
void api__show_order(struct api_json *j, const struct order *o);

/** api__show_order_event() - {id, seq, from_state, to_state, actor, detail, at}. */
void api__show_order_event(struct api_json *j, const struct order_event *e);

/** api__show_movement() - {id, order_id, kind, amount, bank_ref, recorded_by, at}. */
void api__show_movement(struct api_json *j, const struct order_movement *m);

/**
 * api__order_visible() - read order @id for the caller: an AP only its
 * own (another's is -ERR_ORDER_NOT_FOUND, as if it did not exist).
 * @lock: FOR UPDATE (inside a transaction only).
 * Returns 0, -ERR_ORDER_NOT_FOUND, -ERR_DB_CONFLICT or -ERR_DB_HARD.
 */
int api__order_visible(struct db_conn *c, const struct api_principal *who, int64_t id, bool lock,
                       struct order *o);

/**
 * api__order_id() - the path's {id} (1..INT64_MAX), or -ERR_ORDER_NOT_FOUND.
 */
int api__order_id(struct api_request *req, int64_t *id);

/**
 * api__order_fail() - what a POST's work returns after an issuance call
 * failed with @rc: DB_QS_SOFT or DB_QS_HARD for database errors, else
 * the error reply (-ERR_INVALID_ARGUMENT as api_field with @hint).
 */
enum db_qs api__order_fail(struct api_txn *t, int rc, const char *hint);

/**
 * api__order_reply() - the reply {"order": ..., <extra member>} with
 * @status after re-reading order @id in the transaction; @movement (may
 * be NULL) adds "movement".
 */
enum db_qs api__order_reply(struct db_conn *c, struct api_txn *t, unsigned status, int64_t id,
                            const struct order_movement *movement);

/* The request of a cash movement's POST (funding, refund, payout). */
struct api_order_cash {
  int64_t id; /* the path's {id} */
  int kind;   /* payouts only: 0 "refund", 1 "payout" */
  struct money amount;
  char bank_ref[ORDER_REF_MAX];
};

/**
 * api__order_cash_post() - POST /v1/admin/orders/{id}/funding and
 * /payouts: the path's {id}, then api_idem_post() with the body parsed by
 * @fields (@n of them, members of struct api_order_cash) and @fn, whose
 * @cls is the struct api_order_cash.
 */
int api__order_cash_post(struct api_request *req, const struct api_field *fields, size_t n,
                         const char *name, api_work_fn fn);

/**
 * api__order_cash_reply() - the end of a cash movement's work: unless @m
 * was recorded before, audit @action on "order:<id>" with {amount,
 * bank_ref, movement}; then api__order_reply() with @m: 201, or 200 when
 * @m was recorded before.
 */
enum db_qs api__order_cash_reply(struct db_conn *c, struct api_txn *t, int64_t id,
                                 const char *action, const struct order_movement *m);

/**
 * api__order_create() - POST /v1/orders/mint and /redeem: parse, build
 * the signed payload, create in one transaction with the idempotency
 * record, answer 201 {"order": ...}.
 */
int api__order_create(struct api_request *req, enum order_kind kind);

/* Handlers, one file each. */
int api_orders_mint_post(struct api_request *req);
int api_orders_redeem_post(struct api_request *req);
int api_orders_get(struct api_request *req);
int api_order_get(struct api_request *req);
int api_order_events_get(struct api_request *req);
int api_order_cancel_post(struct api_request *req);
int api_admin_order_funding_post(struct api_request *req);
int api_admin_order_payouts_post(struct api_request *req);

#endif
