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
 * api__part_details() - begin the audit details of an AP's row in @d:
 * {"ap": @ap, and the caller's members; api__part_reply() ends it.
 */
void api__part_details(struct api_json *d, int64_t ap);

/**
 * api__part_revoke_post() - POST .../{id}/revoke of a wallet or a key: the
 * path's {id} (else 404 with @missing), no body (or {}), then
 * api_idem_post(@name, @fn) whose @cls is the id (an int64_t).
 */
int api__part_revoke_post(struct api_request *req, const char *missing, const char *name,
                          api_work_fn fn);

/**
 * api__part_reply() - the end of a participants POST's work: unless @d is
 * NULL (nothing changed), audit @action by the caller on "@kind:@id" with
 * the details @d (a JSON object still open: ended and freed here); then
 * the reply @j (begun by api_txn_reply_open(@j, @kind), the item written;
 * ended and freed here) with @status.
 */
enum db_qs api__part_reply(struct db_conn *c, struct api_txn *t, struct api_json *d,
                           const char *action, const char *kind, int64_t id, unsigned status,
                           struct api_json *j);

/**
 * api__part_scope() - the AP a list shows (a struct api_page_list check;
 * @cls is an int64_t), by the caller: an AP its own id (and ?ap= is 403
 * api_forbidden for it); an issuer admin or auditor the id given as ?ap=
 * (1..INT64_MAX; anything else 400 api_field) or 0 for all.  Returns 0 or
 * the code to answer, with @hint.
 */
int api__part_scope(struct api_request *req, void *cls, char *hint, size_t hint_size);

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
