/*
 * GET /v1/wallets (AP: its own; issuer admin, auditor: every AP's, or
 * one AP's with ?ap=): the wallets by id, revoked ones too, one page at
 * a time (?limit=, ?cursor=): {"items": [wallet...], "next_cursor": ...}.
 * An AP passing ?ap= gets 403.
 */
#include "api/api_participants_int.h"

static int item(void *cls, const struct ap_wallet *w)
{
  struct api_part_page *p = cls;
  if (api__part_page_item(p, w->id))
    api__show_wallet(p->j, w);
  return 0;
}

int api_participants_wallets_get(struct api_request *req)
{
  struct api_page pg;
  struct api_json j;
  struct db_conn *c;
  char hint[API_HINT_MAX];
  int64_t ap;
  int rc = api_page_args(req, &pg, hint, sizeof hint);
  if (rc == 0)
    rc = api__part_scope(req, "ap", &ap, hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  if ((rc = api_req_db(req, &c)) != 0)
    return api_reply_error(req, rc, NULL);
  api_json_init(&j);
  struct api_part_page p = {.j = &j, .limit = pg.limit};
  api_page_open(&j);
  rc = ap_wallets_list(c, ap, pg.after, (size_t)pg.limit + 1, item, &p);
  if (rc < 0) {
    api_json_free(&j);
    return api_reply_error(req, rc, NULL);
  }
  api_page_close(&j, p.more ? p.last : 0);
  api_json_obj_end(&j);
  rc = api_reply_writer(req, 200, &j);
  api_json_free(&j);
  return rc;
}
