/*
 * libFuzzer harness for the calendar's text parsers: cal_parse_date (dates
 * arrive from clients and custodians) and cal_load_closures (the closures
 * file).  Invariants checked on every input: a parsed date formats back to
 * the same ten bytes; a failed closures load leaves the calendar unchanged;
 * a successful one gives a sorted, unique list whose every day is a
 * closure.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  int32_t day;
  if (cal_parse_date((const char *)data, size, &day) == 0) {
    char buf[CAL_DATE_STR];
    cal_format_date(day, buf);
    if (size != 10 || memcmp(buf, data, 10) != 0)
      abort();
    int32_t again;
    if (cal_parse_date(buf, 10, &again) != 0 || again != day)
      abort();
  }

  struct cal c;
  unsigned line = 0;
  cal_init(&c);
  if (cal_add_closure(&c, 20000) != 0)
    abort();
  int rc = cal_load_closures(&c, (const char *)data, size, &line);
  if (rc != 0) {
    if (c.n_closures != 1 || c.closures[0] != 20000 || line == 0)
      abort();
  } else {
    for (size_t i = 1; i < c.n_closures; i++)
      if (c.closures[i - 1] >= c.closures[i])
        abort();
    for (size_t i = 0; i < c.n_closures; i++) {
      unsigned wd = cal_weekday(c.closures[i]);
      if (wd != 0 && wd != 6 && cal_is_business_day(&c, c.closures[i]))
        abort();
    }
  }
  cal_free(&c);
  return 0;
}
