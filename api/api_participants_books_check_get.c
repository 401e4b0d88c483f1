/*
 * GET /v1/books/check (issuer admin, auditor): run the books' checker
 * with the orders' hook (books_check_with(engine_books_check), in one
 * read-only snapshot: every order against the postings of its reference
 * order:<id>, as issue "external") and answer its report:
 * {"ok", "postings", "entries", "accounts", "counts": {<issue>: n ...},
 * "totals": [{asset, scale, accounts, entries, held, owed, net,
 * entries_net}], "discrepancies": [{issue, posting_id, account_id, owner,
 * asset, expected, actual, text}]} (the first 10 of each issue; counts
 * has them all).  200 whether the books hold or not (ok says which).
 */
#include "api/api_participants_int.h"

static void show_report(struct api_json *j, const struct books_report *r)
{
  api_json_obj(j);
  api_json_key(j, "ok");
  api_json_bool(j, r->ok);
  api_json_key(j, "postings");
  api_json_int(j, r->postings);
  api_json_key(j, "entries");
  api_json_int(j, r->entries);
  api_json_key(j, "accounts");
  api_json_int(j, r->accounts);
  api_json_key(j, "counts");
  api_json_obj(j);
  for (unsigned i = 0; i < BOOKS_ISSUE_COUNT; i++) {
    api_json_key(j, books_issue_name((enum books_issue)i));
    api_json_int(j, (int64_t)r->counts[i]);
  }
  api_json_obj_end(j);
  api_json_key(j, "totals");
  api_json_arr(j);
  for (size_t i = 0; i < r->n_totals; i++) {
    const struct books_asset_total *t = &r->totals[i];
    api_json_obj(j);
    api_json_key(j, "asset");
    api_json_str(j, t->asset);
    api_json_key(j, "scale");
    api_json_int(j, t->scale);
    api_json_key(j, "accounts");
    api_json_int(j, t->accounts);
    api_json_key(j, "entries");
    api_json_int(j, t->entries);
    api_json_key(j, "held");
    api_json_str(j, t->held);
    api_json_key(j, "owed");
    api_json_str(j, t->owed);
    api_json_key(j, "net");
    api_json_str(j, t->net);
    api_json_key(j, "entries_net");
    api_json_str(j, t->entries_net);
    api_json_obj_end(j);
  }
  api_json_arr_end(j);
  api_json_key(j, "discrepancies");
  api_json_arr(j);
  for (size_t i = 0; i < r->n_items; i++) {
    const struct books_discrepancy *d = &r->items[i];
    api_json_obj(j);
    api_json_key(j, "issue");
    api_json_str(j, books_issue_name(d->issue));
    api_json_key(j, "posting_id");
    if (d->posting_id > 0)
      api_json_int(j, d->posting_id);
    else
      api_json_null(j);
    api_json_key(j, "account_id");
    if (d->account_id > 0)
      api_json_int(j, d->account_id);
    else
      api_json_null(j);
    api_json_key(j, "owner");
    api_json_str(j, d->owner);
    api_json_key(j, "asset");
    api_json_str(j, d->asset);
    api_json_key(j, "expected");
    api_json_str(j, d->expected);
    api_json_key(j, "actual");
    api_json_str(j, d->actual);
    api_json_key(j, "text");
    api_json_str(j, d->text);
    api_json_obj_end(j);
  }
  api_json_arr_end(j);
  api_json_obj_end(j);
}

int api_participants_books_check_get(struct api_request *req)
{
  struct books_report r;
  struct api_json j;
  struct db_conn *c;
  int rc = api_req_db(req, &c);
  if (rc != 0)
    return api_reply_error(req, rc, NULL);
  books_report_init(&r);
  rc = books_check_with(c, engine_books_check, NULL, &r);
  if (rc != 0) {
    books_report_free(&r);
    return api_reply_error(req, rc, NULL);
  }
  api_json_init(&j);
  show_report(&j, &r);
  books_report_free(&r);
  rc = api_reply_writer(req, 200, &j);
  api_json_free(&j);
  return rc;
}
