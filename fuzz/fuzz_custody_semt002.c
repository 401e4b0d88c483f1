/*
 * libFuzzer harness for the ISO 20022 parsers of custodian input:
 * custody_semt002_parse_mem() and custody_sese025_parse_mem(), which read
 * documents from outside (hostile by assumption).  Seeded with the shared
 * semt.002 example (fuzz/corpus/custody_semt002/).
 *
 * Invariants, abort() on any breach: the parsers never crash; an error is
 * a registry code with err.code equal to it and NUL-terminated texts;
 * every position has a valid ISIN, non-negative quantities at the scale
 * of their kind (17, or 29 for DgtlTknUnit), sub-balance types of 4
 * letters or digits, NUL-terminated fields; and what parsed writes back
 * (custody_semt002_write_* / custody_sese025_write) without error and
 * parses again to the same statement, positions and settlement.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custody/custody.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEEP 64

struct run {
  struct custody_stmt st;
  struct custody_position pos[KEEP];
  size_t n;
};

static bool terminated(const char *s, size_t size)
{
  return memchr(s, '\0', size) != NULL;
}

static bool isin_ok(const char *s)
{
  if (strlen(s) != CUSTODY_ISIN_LEN)
    return false;
  for (int i = 0; i < CUSTODY_ISIN_LEN; i++) {
    char c = s[i];
    bool upper = c >= 'A' && c <= 'Z', digit = c >= '0' && c <= '9';
    if ((i < 2 && !upper) || (i == 11 && !digit) || (!upper && !digit))
      return false;
  }
  return true;
}

static void check_qty(const struct custody_qty *q, bool required)
{
  if (!q->present) {
    if (required)
      abort();
    return;
  }
  unsigned want = q->kind == CUSTODY_QTY_DGTL_TKN_UNIT ? CUSTODY_DGTL_SCALE : CUSTODY_QTY_SCALE;
  if (q->kind < CUSTODY_QTY_UNIT || q->kind > CUSTODY_QTY_DGTL_TKN_UNIT || q->qty.scale != want ||
      q->qty.v < 0)
    abort();
}

static void check_position(const struct custody_position *p)
{
  if (!terminated(p->sub_account, sizeof p->sub_account) ||
      !terminated(p->description, sizeof p->description) ||
      !terminated(p->place, sizeof p->place) || !terminated(p->isin, sizeof p->isin) ||
      !isin_ok(p->isin) || p->n_sub > CUSTODY_SUBBAL_MAX)
    abort();
  check_qty(&p->aggregate, true);
  check_qty(&p->available, false);
  check_qty(&p->not_available, false);
  for (unsigned i = 0; i < p->n_sub; i++) {
    const char *t = p->sub[i].type;
    if (strnlen(t, sizeof p->sub[i].type) != 4)
      abort();
    for (int k = 0; k < 4; k++)
      if (!((t[k] >= 'A' && t[k] <= 'Z') || (t[k] >= 'a' && t[k] <= 'z') ||
            (t[k] >= '0' && t[k] <= '9')))
        abort();
    check_qty(&p->sub[i].qty, true);
  }
}

static int on_position(void *cls, const struct custody_stmt *st, const struct custody_position *p)
{
  struct run *r = cls;
  check_position(p);
  if (st->kind != CUSTODY_KIND_SEMT002)
    abort();
  if (r->n < KEEP)
    r->pos[r->n] = *p;
  r->n++;
  return 0;
}

static void check_error(int rc, const struct custody_error *err)
{
  if (rc > 0 || !err_known(rc) || err->code != rc || !terminated(err->where, sizeof err->where) ||
      !terminated(err->msg, sizeof err->msg))
    abort();
}

static bool qty_eq(const struct custody_qty *a, const struct custody_qty *b)
{
  return a->present == b->present &&
         (!a->present || (a->kind == b->kind && a->shrt == b->shrt &&
                          a->qty.scale == b->qty.scale && a->qty.v == b->qty.v));
}

static bool pos_eq(const struct custody_position *a, const struct custody_position *b)
{
  if (strcmp(a->sub_account, b->sub_account) != 0 || strcmp(a->isin, b->isin) != 0 ||
      strcmp(a->description, b->description) != 0 || strcmp(a->place, b->place) != 0 ||
      !qty_eq(&a->aggregate, &b->aggregate) || !qty_eq(&a->available, &b->available) ||
      !qty_eq(&a->not_available, &b->not_available) || a->n_sub != b->n_sub)
    return false;
  for (unsigned i = 0; i < a->n_sub; i++)
    if (strcmp(a->sub[i].type, b->sub[i].type) != 0 || !qty_eq(&a->sub[i].qty, &b->sub[i].qty))
      return false;
  return true;
}

static bool stmt_eq(const struct custody_stmt *a, const struct custody_stmt *b)
{
  return a->kind == b->kind && strcmp(a->stmt_id, b->stmt_id) == 0 && a->page_no == b->page_no &&
         a->last_page == b->last_page && a->stmt_day == b->stmt_day && a->stmt_ms == b->stmt_ms &&
         a->stmt_has_time == b->stmt_has_time && strcmp(a->frequency, b->frequency) == 0 &&
         a->update == b->update && a->basis == b->basis && a->activity == b->activity &&
         a->sub_accounts == b->sub_accounts && strcmp(a->account_owner, b->account_owner) == 0 &&
         strcmp(a->account_servicer, b->account_servicer) == 0 &&
         strcmp(a->safekeeping_account, b->safekeeping_account) == 0;
}

static void semt002(const uint8_t *data, size_t size, const struct custody_limits *lim)
{
  static struct run a, b;
  struct custody_error err;
  memset(&a, 0, sizeof a);
  int rc = custody_semt002_parse_mem((const char *)data, size, lim, &a.st, on_position, &a, &err);
  if (rc != 0) {
    check_error(rc, &err);
    return;
  }
  if (a.n > KEEP)
    return;
  /* write back, parse again: the same statement */
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (f == NULL)
    return;
  if (custody_semt002_write_begin(f, &a.st) != 0)
    abort();
  for (size_t i = 0; i < a.n; i++)
    if (custody_semt002_write_position(f, &a.pos[i]) != 0)
      abort();
  if (custody_semt002_write_end(f) != 0)
    abort();
  fclose(f);
  memset(&b, 0, sizeof b);
  rc = custody_semt002_parse_mem(buf, len, lim, &b.st, on_position, &b, &err);
  if (rc != 0 || !stmt_eq(&a.st, &b.st) || a.n != b.n)
    abort();
  for (size_t i = 0; i < a.n; i++)
    if (!pos_eq(&a.pos[i], &b.pos[i]))
      abort();
  free(buf);
}

static void sese025(const uint8_t *data, size_t size, const struct custody_limits *lim)
{
  struct custody_settlement s, t;
  struct custody_error err;
  int rc = custody_sese025_parse_mem((const char *)data, size, lim, &s, &err);
  if (rc != 0) {
    check_error(rc, &err);
    return;
  }
  if (!isin_ok(s.isin) || s.tx_id[0] == '\0' || s.amount.scale != 2 || s.amount.v < 0 ||
      (s.direction != CUSTODY_RECEIVE && s.direction != CUSTODY_DELIVER))
    abort();
  check_qty(&s.qty, true);
  if (s.against_payment && s.currency[0] == '\0')
    return; /* no SttldAmt: nothing the writer can state */
  if (!s.against_payment) {
    s.amount.v = 0;
    s.currency[0] = '\0';
  }
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (f == NULL)
    return;
  if (custody_sese025_write(f, &s) != 0)
    abort();
  fclose(f);
  rc = custody_sese025_parse_mem(buf, len, lim, &t, &err);
  if (rc != 0 || strcmp(s.tx_id, t.tx_id) != 0 || strcmp(s.servicer_tx_id, t.servicer_tx_id) != 0 ||
      strcmp(s.account_owner, t.account_owner) != 0 ||
      strcmp(s.account_servicer, t.account_servicer) != 0 ||
      strcmp(s.safekeeping_account, t.safekeeping_account) != 0 || strcmp(s.isin, t.isin) != 0 ||
      !qty_eq(&s.qty, &t.qty) || s.direction != t.direction ||
      s.against_payment != t.against_payment || s.trade_day != t.trade_day ||
      s.settlement_day != t.settlement_day || s.amount.v != t.amount.v ||
      strcmp(s.currency, t.currency) != 0)
    abort();
  free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct custody_limits lim;
  custody_limits_default(&lim);
  lim.max_bytes = 1u << 20;
  lim.max_positions = 4096;
  semt002(data, size, &lim);
  sese025(data, size, &lim);
  return 0;
}
