/*
 * The JSON of an operators' alert (api_alerts_int.h), shared by the list
 * and the acknowledgement.  Times are RFC 3339 UTC with milliseconds;
 * "open" is true until an issuer admin acknowledged the alert.
 */
#include <stdlib.h>

#include "api/api_alerts_int.h"

/* A text column, null for SQL NULL. */
static void text_col(struct api_json *j, const char *k, PGresult *r, int i, int c)
{
  api_json_key(j, k);
  if (PQgetisnull(r, i, c))
    api_json_null(j);
  else
    api_json_str(j, PQgetvalue(r, i, c));
}

/* An integer column, null for SQL NULL. */
static void int_col(struct api_json *j, const char *k, PGresult *r, int i, int c)
{
  api_json_key(j, k);
  if (PQgetisnull(r, i, c))
    api_json_null(j);
  else
    api_json_int(j, strtoll(PQgetvalue(r, i, c), NULL, 10));
}

void api__alert_show(struct api_json *j, PGresult *r, int row)
{
  api_json_obj(j);
  int_col(j, "id", r, row, 0);
  text_col(j, "kind", r, row, 1);
  text_col(j, "ref", r, row, 2);
  text_col(j, "isin", r, row, 3);
  int_col(j, "instrument", r, row, 4);
  text_col(j, "symbol", r, row, 5);
  text_col(j, "detail", r, row, 6);
  api_json_key(j, "raised");
  api_json_time(j, api__ms_value(r, row, 7));
  api_json_key(j, "open");
  api_json_bool(j, PQgetisnull(r, row, 9));
  int_col(j, "acknowledged_by", r, row, 8);
  api_json_key(j, "acknowledged_at");
  api_json_time(j, api__ms_value(r, row, 9));
  text_col(j, "note", r, row, 10);
  api_json_obj_end(j);
}
