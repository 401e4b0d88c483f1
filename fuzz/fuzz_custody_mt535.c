/*
 * libFuzzer harness for the MT535 reader (custody_mt535_parse), which
 * takes custodian statements from outside.
 *
 * Each input is parsed twice: as it is, and spliced into a valid
 * statement (the first byte picks one of its lines, the rest replaces
 * that line), so the fuzzer reaches the deep sequences without a seed
 * corpus.  Invariants, abort() on any breach: no crash; a failure returns
 * a registry error equal to err.code with a message; every position has a
 * valid ISIN, an aggregate, quantities >= 0 at scale 17 (N only with a
 * nonzero value), at most 16 sub-balances of 4-character types; and when
 * the statement fits the writer's subset (main account only, 20C of at
 * most 16 characters) custody_mt535_write() accepts it and parsing what
 * it wrote gives back the same statement and positions.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custody/custody.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXPOS 64

struct got {
  struct custody_position pos[MAXPOS];
  size_t n;
  bool fits;
};

static struct got first, again;

static const char *const template_lines[] = {
    "{1:F01BKSTUS33AXXX0000000000}{2:O5351705250630CUSTUS33AXXX12340000562506301705N}{4:",
    ":16R:GENL",
    ":28E:1/MORE",
    ":20C::SEME//STMT20250630A",
    ":23G:NEWM",
    ":98E::STAT//20250630130500,250/N04",
    ":22F::SFRE//DAIL",
    ":22F::CODE//COMP",
    ":22F::STBA//SETT",
    ":95R::ACOW/PRTY/ISSUER-1",
    ":97A::SAFE//RESERVE01",
    ":17B::ACTI//Y",
    ":16S:GENL",
    ":16R:SUBSAFE",
    ":16R:FIN",
    ":35B:ISIN US0378331005",
    "APPLE INC",
    ":93B::AGGR//UNIT/100250,",
    ":93B::AVAI//FAMT/N100000,5",
    ":94F::SAFE//NCSD/DTCYUS33XXX",
    ":16R:SUBBAL",
    ":93C::PEND//UNIT/NAVL/250,",
    ":16S:SUBBAL",
    ":16S:FIN",
    ":16S:SUBSAFE",
    "-}",
};
#define N_TEMPLATE (sizeof template_lines / sizeof template_lines[0])

static bool ok_qty(const struct custody_qty *q)
{
  if (!q->present)
    return true;
  return q->kind >= CUSTODY_QTY_UNIT && q->kind <= CUSTODY_QTY_AMTSD_VAL &&
         q->qty.scale == CUSTODY_QTY_SCALE && q->qty.v >= 0 && !(q->shrt && q->qty.v == 0);
}

static bool ok_isin(const char *s)
{
  if (strnlen(s, CUSTODY_ISIN_LEN + 1) != CUSTODY_ISIN_LEN)
    return false;
  for (int i = 0; i < CUSTODY_ISIN_LEN; i++) {
    char c = s[i];
    bool up = c >= 'A' && c <= 'Z', dig = c >= '0' && c <= '9';
    if (i < 2 ? !up : i < 11 ? !(up || dig) : !dig)
      return false;
  }
  return true;
}

static int collect(void *cls, const struct custody_stmt *st, const struct custody_position *p)
{
  struct got *g = cls;
  if (st == NULL || st->kind != CUSTODY_KIND_MT535 || !ok_isin(p->isin) || !p->aggregate.present ||
      !ok_qty(&p->aggregate) || !ok_qty(&p->available) || !ok_qty(&p->not_available) ||
      p->n_sub > CUSTODY_SUBBAL_MAX ||
      memchr(p->description, '\0', sizeof p->description) == NULL ||
      memchr(p->sub_account, '\0', sizeof p->sub_account) == NULL ||
      memchr(p->place, '\0', sizeof p->place) == NULL)
    abort();
  for (unsigned i = 0; i < p->n_sub; i++)
    if (strnlen(p->sub[i].type, sizeof p->sub[i].type) != 4 || !ok_qty(&p->sub[i].qty) ||
        !p->sub[i].qty.present)
      abort();
  if (p->sub_account[0] != '\0')
    g->fits = false;
  if (g->n < MAXPOS)
    g->pos[g->n] = *p;
  else
    g->fits = false;
  g->n++;
  return 0;
}

static bool same_qty(const struct custody_qty *a, const struct custody_qty *b)
{
  return a->present == b->present &&
         (!a->present || (a->kind == b->kind && a->shrt == b->shrt && a->qty.v == b->qty.v &&
                          a->qty.scale == b->qty.scale));
}

static bool same_position(const struct custody_position *a, const struct custody_position *b)
{
  if (strcmp(a->sub_account, b->sub_account) || strcmp(a->isin, b->isin) ||
      strcmp(a->description, b->description) || strcmp(a->place, b->place) ||
      !same_qty(&a->aggregate, &b->aggregate) || !same_qty(&a->available, &b->available) ||
      !same_qty(&a->not_available, &b->not_available) || a->n_sub != b->n_sub)
    return false;
  for (unsigned i = 0; i < a->n_sub; i++)
    if (strcmp(a->sub[i].type, b->sub[i].type) || !same_qty(&a->sub[i].qty, &b->sub[i].qty))
      return false;
  return true;
}

static bool same_stmt(const struct custody_stmt *a, const struct custody_stmt *b)
{
  return a->kind == b->kind && !strcmp(a->stmt_id, b->stmt_id) && a->page_no == b->page_no &&
         a->last_page == b->last_page && a->stmt_day == b->stmt_day && a->stmt_ms == b->stmt_ms &&
         a->stmt_has_time == b->stmt_has_time && !strcmp(a->frequency, b->frequency) &&
         a->update == b->update && a->basis == b->basis && a->activity == b->activity &&
         a->sub_accounts == b->sub_accounts && !strcmp(a->account_owner, b->account_owner) &&
         !strcmp(a->account_servicer, b->account_servicer) &&
         !strcmp(a->safekeeping_account, b->safekeeping_account);
}

static void check(const char *buf, size_t len)
{
  struct custody_limits lim;
  struct custody_error err;
  struct custody_stmt st;
  custody_limits_default(&lim);
  lim.max_text = 512;
  first.n = 0;
  first.fits = true;
  int rc = custody_mt535_parse(buf, len, &lim, &st, collect, &first, &err);
  if (rc != 0) {
    if (rc > 0 || !err_known(rc) || err.code != rc || err.msg[0] == '\0' ||
        memchr(err.where, '\0', sizeof err.where) == NULL)
      abort();
    return;
  }
  if (st.kind != CUSTODY_KIND_MT535 || st.page_no == 0 || st.page_no > 99999 ||
      st.stmt_id[0] == '\0' || st.safekeeping_account[0] == '\0' ||
      (st.update != CUSTODY_UPDATE_COMPLETE && st.update != CUSTODY_UPDATE_DELTA) ||
      st.basis < CUSTODY_BASIS_SETT || st.basis > CUSTODY_BASIS_CONT)
    abort();
  if (!first.fits || strlen(st.stmt_id) > 16)
    return;

  char *out = NULL;
  size_t out_len = 0;
  FILE *f = open_memstream(&out, &out_len);
  if (f == NULL)
    abort();
  int wrc = custody_mt535_write(f, &st, first.pos, first.n);
  if (fclose(f) != 0 || wrc != 0)
    abort();
  struct custody_stmt st2;
  again.n = 0;
  again.fits = true;
  if (custody_mt535_parse(out, out_len, &lim, &st2, collect, &again, &err) != 0)
    abort();
  if (!same_stmt(&st, &st2) || again.n != first.n)
    abort();
  for (size_t i = 0; i < first.n; i++)
    if (!same_position(&first.pos[i], &again.pos[i]))
      abort();
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  check((const char *)data, size);
  if (size == 0 || size > 4096)
    return 0;

  /* The template with line data[0] % N replaced by the rest of the input. */
  static char buf[8192];
  size_t at = data[0] % N_TEMPLATE, o = 0;
  for (size_t i = 0; i < N_TEMPLATE; i++) {
    const char *l = template_lines[i];
    size_t n = strlen(l);
    if (i == at) {
      l = (const char *)data + 1;
      n = size - 1;
    }
    memcpy(buf + o, l, n);
    o += n;
    if (i + 1 < N_TEMPLATE) {
      memcpy(buf + o, "\r\n", 2);
      o += 2;
    }
  }
  check(buf, o);
  return 0;
}
