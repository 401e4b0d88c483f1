/*
 * Query: the extra market closures stored in the database, added to a
 * business-day calendar.
 */
#include <string.h>

#include "db/db_int.h"

const struct db_stmt db_stmt_select_market_closures = {
    "select_market_closures",
    "SELECT to_char(day, 'YYYY-MM-DD') FROM market_closures ORDER BY day",
    0,
};

enum db_qs db_select_market_closures(struct db_conn *c, struct cal *cal)
{
  PGresult *r;
  enum db_qs qs = db_exec(c, &db_stmt_select_market_closures, NULL, &r);
  if (qs <= 0)
    return qs;
  for (int i = 0; i < PQntuples(r); i++) {
    const char *v = PQgetvalue(r, i, 0);
    int32_t day;
    if (cal_parse_date(v, strlen(v), &day) != 0) {
      /* The column is a date: a value we cannot parse is out of range. */
      log_msg(LOGL_WARN, "db", "market closure %s outside the calendar's range, ignored", v);
      continue;
    }
    if (cal_add_closure(cal, day) != 0) {
      PQclear(r);
      return DB_QS_HARD;
    }
  }
  PQclear(r);
  return qs;
}
