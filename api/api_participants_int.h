/*
 * api: the participants' endpoints, shared by their files
 * (api_participants_*.c): wallets, Ed25519 signing keys, order limits,
 * balances and the books check.  The rules live in issuance/
 * (issuance_participants*.c, the "Participants" section of
 * issuance/issuance.h); these files parse, check roles and scope, audit
 * and answer.  An AP sees and acts on its own rows only: another AP's
 * row answers 404, as if it did not exist.  Conventions: docs/api.md,
 * docs/participants.md.
 */
#ifndef BACKSTOCK_API_PARTICIPANTS_INT_H
#define BACKSTOCK_API_PARTICIPANTS_INT_H

#include "api/api_int.h"
#include "issuance/issuance.h"

/* base64 (standard, padded) of a 32-byte public key, and its NUL. */
#define API_PUBKEY_B64 45

/* A page written by a list function's callback: at most @limit items, then "more". */
struct api_part_page {
  struct api_json *j;
  unsigned limit;
  unsigned n;
  int64_t last; /* id of the last item written */
  bool more;    /* a row beyond the page was seen */
};

/**
 * api__part_page_item() - whether the callback may write one more item
 * (counts it and records @id); false once the page is full (and sets
 * more).
 */
bool api__part_page_item(struct api_part_page *p, int64_t id);

/** api__show_wallet() - {id, ap, address, label, created, revoked_at}. */
void api__show_wallet(struct api_json *j, const struct ap_wallet *w);

/** api__show_signing_key() - {id, ap, public_key (base64), label, created, revoked_at}. */
void api__show_signing_key(struct api_json *j, const struct ap_signing_key *k);

/** api__show_limit() - {id, symbol, ap (null: all), kind, window_seconds, max_qty, updated}. */
void api__show_limit(struct api_json *j, const struct order_limit *l);

/**
 * api__part_fail() - what a POST's work returns after an issuance call
 * failed with @rc: a retry (DB_QS_SOFT) or hard failure for database
 * errors, else the error reply @rc with @hint.
 */
enum db_qs api__part_fail(struct api_txn *t, int rc, const char *hint);

/**
 * api__part_scope() - the AP a list shows, by the caller: an AP its own
 * id (and ?@arg= is 403 api_forbidden for it); an issuer admin or auditor
 * the id given as ?@arg= (1..INT64_MAX; anything else 400 api_field) or
 * 0 for all.  Returns 0 or the code to answer, with @hint.
 */
int api__part_scope(struct api_request *req, const char *arg, int64_t *ap, char *hint,
                    size_t hint_size);

/**
 * api__part_instrument() - the instrument whose symbol or token symbol
 * is @symbol (the stock's symbol first): its id and stock symbol.
 * Returns DB_QS_HARD/SOFT, DB_QS_NONE (none) or 1.
 */
enum db_qs api__part_instrument(struct db_conn *c, const char *symbol, int64_t *id,
                                char out[ORDER_SYMBOL_MAX]);

/* Handlers, one file each. */
int api_participants_wallets_post(struct api_request *req);
int api_participants_wallet_revoke_post(struct api_request *req);
int api_participants_wallets_get(struct api_request *req);
int api_participants_keys_post(struct api_request *req);
int api_participants_keys_get(struct api_request *req);
int api_participants_key_revoke_post(struct api_request *req);
int api_participants_limits_post(struct api_request *req);
int api_participants_limits_get(struct api_request *req);
int api_participants_balances_get(struct api_request *req);
int api_participants_books_check_get(struct api_request *req);

#endif
