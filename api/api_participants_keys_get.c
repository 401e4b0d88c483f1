/*
 * GET /v1/signing-keys (AP: its own; issuer admin, auditor: every AP's,
 * or one AP's with ?ap=): the signing keys by id, revoked ones too, one
 * page at a time: {"items": [signing_key...], "next_cursor": ...}.  An AP
 * passing ?ap= gets 403.
 */
#include "api/api_participants_int.h"

static int item(void *cls, const struct ap_signing_key *k)
{
  struct api_page_out *p = cls;
  if (api_page_item(p, k->id))
    api__show_signing_key(p->j, k);
  return 0;
}

static int rows(struct db_conn *c, struct api_page_out *o, void *cls)
{
  const int64_t *ap = cls;
  return ap_signing_keys_list(c, *ap, o->page.after, (size_t)o->page.limit + 1, item, o);
}

int api_participants_keys_get(struct api_request *req)
{
  static const struct api_page_list list = {.check = api__part_scope, .rows = rows};
  int64_t ap = 0;
  return api_page_get(req, &list, &ap);
}
