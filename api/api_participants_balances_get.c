/*
 * GET /v1/balances (AP: the books' accounts of owner "ap:<its id>";
 * issuer admin, auditor: every account, or one owner's with ?owner=,
 * e.g. "custodian" or "ap:7"): each account's balance now, by account id,
 * one page at a time: {"items": [{owner, asset, balance, scale}...],
 * "next_cursor": ...}.  balance is a decimal string at the asset's scale
 * (negative for what an owner owes).  An AP passing ?owner= gets 403.
 */
#include <string.h>

#include "api/api_participants_int.h"

static int item(void *cls, const struct books_account *a)
{
  struct api_part_page *p = cls;
  if (!api__part_page_item(p, a->id))
    return 0;
  api_json_obj(p->j);
  api_json_key(p->j, "owner");
  api_json_str(p->j, a->owner);
  api_json_key(p->j, "asset");
  api_json_str(p->j, a->asset);
  api_json_key(p->j, "balance");
  api_json_money(p->j, a->balance);
  api_json_key(p->j, "scale");
  api_json_int(p->j, a->scale);
  api_json_obj_end(p->j);
  return 0;
}

int api_participants_balances_get(struct api_request *req)
{
  const struct api_principal *me = api_req_principal(req);
  struct api_page pg;
  struct api_json j;
  struct db_conn *c;
  char hint[API_HINT_MAX], own[BOOKS_OWNER_MAX];
  const char *owner = api_req_query(req, "owner");
  int rc = api_page_args(req, &pg, hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  if (me->role == API_ROLE_AP) {
    if (owner != NULL)
      return api_reply_error(req, ERR_API_FORBIDDEN,
                             "?owner= is for issuer_admin and auditor keys; an AP sees its own");
    snprintf(own, sizeof own, "ap:%lld", (long long)me->id);
    owner = own;
  } else if (owner != NULL && !books_owner_valid(owner)) {
    return api_reply_error(req, ERR_API_FIELD,
                           "?owner=: want issuer, broker, custodian, chain, fees, suspense or "
                           "ap:<id>");
  }
  if ((rc = api_req_db(req, &c)) != 0)
    return api_reply_error(req, rc, NULL);
  api_json_init(&j);
  struct api_part_page p = {.j = &j, .limit = pg.limit};
  api_page_open(&j);
  rc = books_accounts_list(c, owner, pg.after, (size_t)pg.limit + 1, item, &p);
  if (rc < 0) {
    api_json_free(&j);
    if (rc != -ERR_DB_CONFLICT && rc != -ERR_DB_HARD) {
      log_bug("api", "books account not exact at its scale: %s", err_text(rc));
      rc = -ERR_INTERNAL; /* the books need books check, not the client */
    }
    return api_reply_error(req, rc, NULL);
  }
  api_page_close(&j, p.more ? p.last : 0);
  api_json_obj_end(&j);
  rc = api_reply_writer(req, 200, &j);
  api_json_free(&j);
  return rc;
}
