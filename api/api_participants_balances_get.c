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
  struct api_page_out *p = cls;
  if (!api_page_item(p, a->id))
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

/* The owner whose accounts are shown (NULL: every one). */
struct scope {
  const char *owner;
  char own[BOOKS_OWNER_MAX];
};

static int check(struct api_request *req, void *cls, char *hint, size_t hint_size)
{
  const struct api_principal *me = api_req_principal(req);
  struct scope *s = cls;
  s->owner = api_req_query(req, "owner");
  if (me->role == API_ROLE_AP) {
    if (s->owner != NULL)
      return api__hint(hint, hint_size, ERR_API_FORBIDDEN,
                       "?owner= is for issuer_admin and auditor keys; an AP sees its own");
    snprintf(s->own, sizeof s->own, "ap:%lld", (long long)me->id);
    s->owner = s->own;
  } else if (s->owner != NULL && !books_owner_valid(s->owner)) {
    return api__hint(hint, hint_size, ERR_API_FIELD,
                     "?owner=: want issuer, broker, custodian, chain, fees, suspense or ap:<id>");
  }
  return 0;
}

static int rows(struct db_conn *c, struct api_page_out *o, void *cls)
{
  const struct scope *s = cls;
  int rc = books_accounts_list(c, s->owner, o->page.after, (size_t)o->page.limit + 1, item, o);
  if (rc < 0 && rc != -ERR_DB_CONFLICT && rc != -ERR_DB_HARD) {
    log_bug("api", "books account not exact at its scale: %s", err_text(rc));
    rc = -ERR_INTERNAL; /* the books need books check, not the client */
  }
  return rc;
}

int api_participants_balances_get(struct api_request *req)
{
  static const struct api_page_list list = {.check = check, .rows = rows};
  struct scope s;
  return api_page_get(req, &list, &s);
}
