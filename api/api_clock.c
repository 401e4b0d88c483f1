/*
 * The one clock over HTTP (docs/clock.md, docs/api.md "Clock"):
 *
 *   GET  /v1/clock        public: {"now", "speed", "offset_seconds"}
 *   POST /v1/admin/clock  issuer admin: body {advance_seconds?,
 *                         advance_business_days?, speed?}
 *                         (at least one; JSON integers): advance first,
 *                         then the new speed, in one transaction with the
 *                         Idempotency-Key record and the audit record
 *                         clock.change; 200 with the clock after it.
 *
 * now is the business time (clock_now() of the database, RFC 3339 UTC
 * ms), speed the virtual seconds per wall second, offset_seconds the
 * business time minus the wall time, rounded to whole seconds.  The clock
 * never goes backwards: a negative advance_seconds is 400 api_field.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

#define ADVANCE_MAX_S (DB_CLOCK_ADVANCE_MAX_MS / 1000)

struct body {
  int64_t advance_seconds;
  int64_t speed;
  int64_t advance_business_days;
};

static const struct api_field fields[] = {
    API_FIELD_INT("advance_seconds", struct body, advance_seconds, 0, 0, 0),
    API_FIELD_INT("speed", struct body, speed, 0, 1, DB_CLOCK_SPEED_MAX),
    API_FIELD_INT("advance_business_days", struct body, advance_business_days, 0, 1, 30),
};

#define HAS_ADVANCE 0x1u
#define HAS_SPEED   0x2u
#define HAS_BDAYS   0x4u

#define DAY_MS 86400000LL

/*
 * advance_business_days: to the same UTC time of day @n NYSE business
 * days after the clock's UTC date (T+1 in one request, over weekends and
 * holidays too).  The result in ms to add.
 */
static int bdays_delta(int64_t now_ms, int n, int64_t *delta)
{
  int32_t today = (int32_t)(now_ms >= 0 ? now_ms / DAY_MS : -((-now_ms + DAY_MS - 1) / DAY_MS));
  int32_t target;
  int rc = cal_add_business_days(NULL, today, n, &target);
  if (rc == 0)
    *delta = (int64_t)(target - today) * DAY_MS;
  return rc;
}

/* Offset in whole seconds, rounded half away from zero. */
static int64_t offset_s(const struct db_clock *k)
{
  int64_t d = k->now_ms - k->wall_ms;
  return d >= 0 ? (d + 500) / 1000 : -((-d + 500) / 1000);
}

/* The clock as the API shows it: the members of one object. */
static void show_clock(struct api_json *j, const struct db_clock *k)
{
  api_json_obj(j);
  api_json_key(j, "now");
  api_json_time(j, k->now_ms);
  api_json_key(j, "speed");
  api_json_int(j, k->speed);
  api_json_key(j, "offset_seconds");
  api_json_int(j, offset_s(k));
  api_json_obj_end(j);
}

int api_clock_get(struct api_request *req)
{
  struct db_conn *c;
  struct db_clock k;
  struct api_json j;
  int rc = api_req_db(req, &c);
  if (rc == 0)
    rc = db_clock_get(c, &k);
  if (rc != 0)
    return api_reply_error(req, rc, NULL);
  api_json_init(&j);
  show_clock(&j, &k);
  rc = api_reply_writer(req, 200, &j);
  api_json_free(&j);
  return rc;
}

struct change {
  struct body b;
  uint64_t present;
};

/* A clock function's error inside the transaction as a query status. */
static enum db_qs as_qs(int rc)
{
  return rc == -ERR_DB_CONFLICT ? DB_QS_SOFT : DB_QS_HARD;
}

static enum db_qs work(struct db_conn *c, struct api_txn *t, void *cls)
{
  const struct change *ch = cls;
  const struct api_principal *who = api_txn_principal(t);
  struct db_clock before, after;
  struct api_json d, j;
  int rc;
  enum db_qs qs;
  if ((rc = db_clock_get(c, &before)) != 0)
    return as_qs(rc);
  after = before;
  if ((ch->present & HAS_ADVANCE) != 0 &&
      (rc = db_clock_advance(c, ch->b.advance_seconds * 1000, &after)) != 0)
    return as_qs(rc);
  int64_t bd_ms = 0;
  if ((ch->present & HAS_BDAYS) != 0 &&
      ((rc = bdays_delta(after.now_ms, (int)ch->b.advance_business_days, &bd_ms)) != 0 ||
       (rc = db_clock_advance(c, bd_ms, &after)) != 0))
    return as_qs(rc);
  if ((ch->present & HAS_SPEED) != 0 &&
      (rc = db_clock_set_speed(c, (int32_t)ch->b.speed, &after)) != 0)
    return as_qs(rc);
  api_json_init(&d);
  api_json_obj(&d);
  if ((ch->present & HAS_ADVANCE) != 0) {
    api_json_key(&d, "advance_seconds");
    api_json_int(&d, ch->b.advance_seconds);
  }
  if ((ch->present & HAS_BDAYS) != 0) {
    api_json_key(&d, "advance_business_days");
    api_json_int(&d, ch->b.advance_business_days);
  }
  if ((ch->present & HAS_SPEED) != 0) {
    api_json_key(&d, "speed");
    api_json_int(&d, ch->b.speed);
  }
  api_json_key(&d, "before");
  show_clock(&d, &before);
  api_json_key(&d, "after");
  show_clock(&d, &after);
  api_json_obj_end(&d);
  qs = api__audit(c, who->id, "clock.change", "clock", &d);
  if (qs < 0)
    return qs;
  api_json_init(&j);
  show_clock(&j, &after);
  qs = api_txn_reply(t, 200, &j, NULL);
  api_json_free(&j);
  return qs;
}

int api_admin_clock_post(struct api_request *req)
{
  struct change ch;
  char hint[API_HINT_MAX];
  size_t len;
  const char *body = api_req_body(req, &len);
  memset(&ch, 0, sizeof ch);
  int rc = api_body_parse(body, len, fields, sizeof fields / sizeof fields[0], &ch.b, &ch.present,
                          hint, sizeof hint);
  if (rc != 0)
    return api_reply_error(req, rc, hint);
  if (ch.present == 0)
    return api_reply_error(req, ERR_API_FIELD,
                           "give \"advance_seconds\", \"advance_business_days\", \"speed\"");
  if ((ch.present & HAS_ADVANCE) != 0 && ch.b.advance_seconds < 0)
    return api_reply_error(req, ERR_API_FIELD,
                           "field \"advance_seconds\": the clock never goes backwards (want 0 or "
                           "more)");
  if ((ch.present & HAS_ADVANCE) != 0 && ch.b.advance_seconds > ADVANCE_MAX_S) {
    snprintf(hint, sizeof hint, "field \"advance_seconds\": at most %lld (3660 days)",
             (long long)ADVANCE_MAX_S);
    return api_reply_error(req, ERR_API_FIELD, hint);
  }
  return api_idem_run(req, "clock_post", work, &ch);
}
