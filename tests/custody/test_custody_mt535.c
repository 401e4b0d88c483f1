/*
 * Tests of the MT535 reader and writer (custody/custody_mt535.c), no I/O:
 * a realistic two-page statement (full FIN messages with CRLF and with
 * LF line ends, and block 4 text alone) parsed to exact figures: pages,
 * dates, basis, accounts, sub-account, ISINs, descriptions, decimal
 * commas, negative quantities, face amounts, sub-balances, places.  Then
 * the writer: its exact bytes, write -> parse round trips, what it
 * refuses.  Then every malformed input with its exact error code, line
 * and tag.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custody/custody.h"

#define MAXPOS 32

/* What a parse delivered. */
struct got {
  struct custody_stmt st;
  struct custody_position pos[MAXPOS];
  size_t n;
  int stop_at; /* return 99 from the callback at this position (1-based); 0 never */
};

static int collect(void *cls, const struct custody_stmt *st, const struct custody_position *p)
{
  struct got *g = cls;
  assert_true(g->n < MAXPOS);
  assert_int_equal(st->kind, CUSTODY_KIND_MT535);
  g->pos[g->n++] = *p;
  if (g->stop_at > 0 && (size_t)g->stop_at == g->n)
    return 99;
  return 0;
}

static int parse(const char *text, struct got *g, struct custody_error *err)
{
  memset(g->pos, 0, sizeof g->pos);
  memset(&g->st, 0, sizeof g->st);
  g->n = 0;
  return custody_mt535_parse(text, strlen(text), NULL, &g->st, collect, g, err);
}

static void assert_qty(const struct custody_qty *q, enum custody_qty_kind kind, const char *dec,
                       bool shrt)
{
  struct money want;
  assert_int_equal(money_parse(dec, strlen(dec), CUSTODY_QTY_SCALE, 0, &want), 0);
  assert_true(q->present);
  assert_int_equal(q->kind, kind);
  assert_int_equal(q->qty.scale, CUSTODY_QTY_SCALE);
  assert_true(q->qty.v == want.v);
  assert_int_equal(q->shrt, shrt);
}

static int32_t day(int y, unsigned mo, unsigned d)
{
  int32_t out;
  assert_int_equal(cal_day(y, mo, d, &out), 0);
  return out;
}

/* @text with every "\n" turned into "\r\n" (malloc'd). */
static char *crlf(const char *text)
{
  size_t n = strlen(text), k = 0;
  char *out = malloc(2 * n + 1);
  assert_non_null(out);
  for (size_t i = 0; i < n; i++) {
    if (text[i] == '\n')
      out[k++] = '\r';
    out[k++] = text[i];
  }
  out[k] = '\0';
  return out;
}

/* ------------------------------------------------------------------ */
/* A realistic statement of two pages                                  */
/* ------------------------------------------------------------------ */

static const char page1_head[] =
    "{1:F01BKSTUS33AXXX0000000000}"
    "{2:O5351705250630CUSTUS33AXXX12340000562506301705N}"
    "{3:{108:MT535P1OF2}{121:4ea37e81-98ec-4014-b7a4-1ff4611b3fca}}{4:\n";

static const char page1_b4[] = ":16R:GENL\n"                    /* 2 */
                               ":28E:1/MORE\n"                  /* 3 */
                               ":13A::STAT//001\n"              /* 4 */
                               ":20C::SEME//STMT20250630A\n"    /* 5 */
                               ":23G:NEWM\n"                    /* 6 */
                               ":98C::STAT//20250630170500\n"   /* 7 */
                               ":22F::SFRE//DAIL\n"             /* 8 */
                               ":22F::CODE//COMP\n"             /* 9 */
                               ":22F::STTY//CUST\n"             /* 10 */
                               ":22F::STBA//SETT\n"             /* 11 */
                               ":16R:LINK\n"                    /* 12 */
                               ":20C::PREV//NONREF\n"           /* 13 */
                               ":16S:LINK\n"                    /* 14 */
                               ":95P::ACOW//BKSTUS33XXX\n"      /* 15 */
                               ":97A::SAFE//RESERVE01\n"        /* 16 */
                               ":17B::ACTI//Y\n"                /* 17 */
                               ":17B::CONS//Y\n"                /* 18 */
                               ":16S:GENL\n"                    /* 19 */
                               ":16R:SUBSAFE\n"                 /* 20 */
                               ":16R:FIN\n"                     /* 21 */
                               ":35B:ISIN US0378331005\n"       /* 22 */
                               "APPLE INC\n"                    /* 23 */
                               "COMMON STOCK\n"                 /* 24 */
                               ":16R:FIA\n"                     /* 25 */
                               ":12A::CLAS/ISIT/ESVUFR\n"       /* 26 */
                               ":16S:FIA\n"                     /* 27 */
                               ":90B::MRKT//ACTU/USD189,5\n"    /* 28 */
                               ":93B::AGGR//UNIT/100250,\n"     /* 29 */
                               ":93B::AVAI//UNIT/100000,\n"     /* 30 */
                               ":93B::NAVL//UNIT/250,\n"        /* 31 */
                               ":94F::SAFE//NCSD/DTCYUS33XXX\n" /* 32 */
                               ":16R:SUBBAL\n"                  /* 33 */
                               ":93C::PEND//UNIT/NAVL/250,\n"   /* 34 */
                               ":70C::SUBB//PENDING DELIVERY\n" /* 35 */
                               "(REDEMPTION R-77)\n"            /* 36 */
                               ":16S:SUBBAL\n"                  /* 37 */
                               ":16R:SUBBAL\n"                  /* 38 */
                               ":93C::PENR//UNIT/AVAI/1500,\n"  /* 39 */
                               ":16S:SUBBAL\n"                  /* 40 */
                               ":19A::HOLD//USD18997375,\n"     /* 41 */
                               ":16S:FIN\n"                     /* 42 */
                               ":16R:FIN\n"                     /* 43 */
                               ":35B:ISIN US88160R1014\n"       /* 44 */
                               "TESLA INC\n"                    /* 45 */
                               ":93B::AGGR//UNIT/42000,5\n"     /* 46 */
                               ":93B::AVAI//UNIT/0042000,50\n"  /* 47 */
                               ":16S:FIN\n"                     /* 48 */
                               ":16S:SUBSAFE\n";                /* 49 */
static const char page1_tail[] = "-}{5:{CHK:0123456789AB}}\n";  /* 50 */

/* Page 2: LF line ends, an input (I) header, a sub-account, ADDINFO. */
static const char page2[] = "{1:F01CUSTUS33AXXX0000000000}{2:I535BKSTUS33XXXXN}{4:\n"
                            ":16R:GENL\n"                           /* 2 */
                            ":28E:2/LAST\n"                         /* 3 */
                            ":20C::SEME//STMT20250630A\n"           /* 4 */
                            ":23G:NEWM\n"                           /* 5 */
                            ":98E::STAT//20250630130500,250/N04\n"  /* 6 */
                            ":22F::SFRE//DAIL\n"                    /* 7 */
                            ":22F::CODE//DELT\n"                    /* 8 */
                            ":22F::STTY//CUST\n"                    /* 9 */
                            ":22F::STBA//TRAD\n"                    /* 10 */
                            ":97A::SAFE//RESERVE01\n"               /* 11 */
                            ":17B::ACTI//Y\n"                       /* 12 */
                            ":17B::CONS//Y\n"                       /* 13 */
                            ":16S:GENL\n"                           /* 14 */
                            ":16R:SUBSAFE\n"                        /* 15 */
                            ":97A::SAFE//RESERVE01-LEND\n"          /* 16 */
                            ":17B::HOLD//Y\n"                       /* 17 */
                            ":16R:FIN\n"                            /* 18 */
                            ":35B:ISIN US5949181045\n"              /* 19 */
                            "MICROSOFT CORP\n"                      /* 20 */
                            ":93B::AGGR//UNIT/N12,\n"               /* 21 */
                            ":93B::AVAI//UNIT/0,\n"                 /* 22 */
                            ":93B::NAVL//UNIT/N12,\n"               /* 23 */
                            ":16R:SUBBAL\n"                         /* 24 */
                            ":93C::BLOK//UNIT/NAVL/0,125\n"         /* 25 */
                            ":16S:SUBBAL\n"                         /* 26 */
                            ":16R:SUBBAL\n"                         /* 27 */
                            ":93B::PLED//UNIT/N3,\n"                /* 28 */
                            ":16S:SUBBAL\n"                         /* 29 */
                            ":16S:FIN\n"                            /* 30 */
                            ":16R:FIN\n"                            /* 31 */
                            ":35B:ISIN US91282CJL54\n"              /* 32 */
                            "UNITED STATES TREASURY NOTE 4,5 PCT\n" /* 33 */
                            "15/11/2033 (SERIES AX-2033)\n"         /* 34 */
                            ":93B::AGGR//FAMT/1000000,\n"           /* 35 */
                            ":93B::AVAI//AMOR/998712,3456789\n"     /* 36 */
                            ":16S:FIN\n"                            /* 37 */
                            ":16S:SUBSAFE\n"                        /* 38 */
                            ":16R:ADDINFO\n"                        /* 39 */
                            ":70E::ADTX//END OF STATEMENT\n"        /* 40 */
                            ":16S:ADDINFO\n"                        /* 41 */
                            "-}";

static char *page1_text(bool crlf_ends)
{
  size_t n = sizeof page1_head + sizeof page1_b4 + sizeof page1_tail;
  char *lf = malloc(n);
  assert_non_null(lf);
  snprintf(lf, n, "%s%s%s", page1_head, page1_b4, page1_tail);
  if (!crlf_ends)
    return lf;
  char *out = crlf(lf);
  free(lf);
  return out;
}

static void check_page1(const struct got *g)
{
  const struct custody_stmt *st = &g->st;
  assert_int_equal(st->kind, CUSTODY_KIND_MT535);
  assert_string_equal(st->stmt_id, "STMT20250630A");
  assert_int_equal(st->page_no, 1);
  assert_false(st->last_page);
  assert_int_equal(st->stmt_day, day(2025, 6, 30));
  assert_true(st->stmt_ms == (int64_t)day(2025, 6, 30) * 86400000 + (17 * 3600 + 5 * 60) * 1000);
  assert_true(st->stmt_has_time);
  assert_string_equal(st->frequency, "DAIL");
  assert_int_equal(st->update, CUSTODY_UPDATE_COMPLETE);
  assert_int_equal(st->basis, CUSTODY_BASIS_SETT);
  assert_true(st->activity);
  assert_true(st->sub_accounts);
  assert_string_equal(st->account_owner, "BKSTUS33XXX");
  assert_string_equal(st->account_servicer, "CUSTUS33XXX");
  assert_string_equal(st->safekeeping_account, "RESERVE01");

  assert_int_equal(g->n, 2);
  const struct custody_position *a = &g->pos[0], *t = &g->pos[1];
  assert_string_equal(a->sub_account, "");
  assert_string_equal(a->isin, "US0378331005");
  assert_string_equal(a->description, "APPLE INC COMMON STOCK");
  assert_qty(&a->aggregate, CUSTODY_QTY_UNIT, "100250", false);
  assert_qty(&a->available, CUSTODY_QTY_UNIT, "100000", false);
  assert_qty(&a->not_available, CUSTODY_QTY_UNIT, "250", false);
  assert_string_equal(a->place, "DTCYUS33XXX");
  assert_int_equal(a->n_sub, 2);
  assert_string_equal(a->sub[0].type, "PEND");
  assert_qty(&a->sub[0].qty, CUSTODY_QTY_UNIT, "250", false);
  assert_string_equal(a->sub[1].type, "PENR");
  assert_qty(&a->sub[1].qty, CUSTODY_QTY_UNIT, "1500", false);

  assert_string_equal(t->isin, "US88160R1014");
  assert_string_equal(t->description, "TESLA INC");
  assert_qty(&t->aggregate, CUSTODY_QTY_UNIT, "42000.5", false);
  assert_qty(&t->available, CUSTODY_QTY_UNIT, "42000.5", false);
  assert_false(t->not_available.present);
  assert_string_equal(t->place, "");
  assert_int_equal(t->n_sub, 0);
}

static void test_page1(void **state)
{
  (void)state;
  static struct got g;
  g.stop_at = 0;
  struct custody_error err;
  for (int ends = 0; ends < 2; ends++) {
    char *text = page1_text(ends == 1);
    assert_int_equal(parse(text, &g, &err), 0);
    assert_int_equal(err.code, 0);
    check_page1(&g);
    free(text);
  }
}

static void test_page2(void **state)
{
  (void)state;
  static struct got g;
  g.stop_at = 0;
  struct custody_error err;
  assert_int_equal(parse(page2, &g, &err), 0);
  const struct custody_stmt *st = &g.st;
  assert_int_equal(st->page_no, 2);
  assert_true(st->last_page);
  /* 13:05:00.250 at UTC-4 is 17:05:00.250 UTC. */
  assert_int_equal(st->stmt_day, day(2025, 6, 30));
  assert_true(st->stmt_ms ==
              (int64_t)day(2025, 6, 30) * 86400000 + (17 * 3600 + 5 * 60) * 1000 + 250);
  assert_int_equal(st->update, CUSTODY_UPDATE_DELTA);
  assert_int_equal(st->basis, CUSTODY_BASIS_TRAD);
  assert_string_equal(st->account_owner, "");
  /* An input message: the sender is in block 1. */
  assert_string_equal(st->account_servicer, "CUSTUS33XXX");

  assert_int_equal(g.n, 2);
  const struct custody_position *m = &g.pos[0], *b = &g.pos[1];
  assert_string_equal(m->sub_account, "RESERVE01-LEND");
  assert_string_equal(m->isin, "US5949181045");
  assert_string_equal(m->description, "MICROSOFT CORP");
  assert_qty(&m->aggregate, CUSTODY_QTY_UNIT, "12", true);
  assert_qty(&m->available, CUSTODY_QTY_UNIT, "0", false);
  assert_qty(&m->not_available, CUSTODY_QTY_UNIT, "12", true);
  assert_int_equal(m->n_sub, 2);
  assert_string_equal(m->sub[0].type, "BLOK");
  assert_qty(&m->sub[0].qty, CUSTODY_QTY_UNIT, "0.125", false);
  assert_string_equal(m->sub[1].type, "PLED");
  assert_qty(&m->sub[1].qty, CUSTODY_QTY_UNIT, "3", true);

  assert_string_equal(b->sub_account, "RESERVE01-LEND");
  assert_string_equal(b->isin, "US91282CJL54");
  /* Two description lines joined by a space, cut to 35 characters. */
  assert_string_equal(b->description, "UNITED STATES TREASURY NOTE 4,5 PCT");
  assert_qty(&b->aggregate, CUSTODY_QTY_FACE_AMT, "1000000", false);
  assert_qty(&b->available, CUSTODY_QTY_AMTSD_VAL, "998712.3456789", false);
  assert_int_equal(b->n_sub, 0);
}

/* Block 4's text alone: the same figures, no servicer. */
static void test_block4_alone(void **state)
{
  (void)state;
  static struct got g;
  g.stop_at = 0;
  struct custody_error err;
  size_t n = sizeof page1_b4 + 2;
  char *text = malloc(n);
  assert_non_null(text);
  snprintf(text, n, "%s-", page1_b4);
  for (int variant = 0; variant < 3; variant++) {
    if (variant == 1)
      text[n - 3] = '\0'; /* without the final "-" line */
    if (variant == 2) {
      char *c = crlf(page1_b4);
      free(text);
      text = c;
    }
    assert_int_equal(parse(text, &g, &err), 0);
    assert_string_equal(g.st.account_servicer, "");
    memcpy(g.st.account_servicer, "CUSTUS33XXX", 12);
    check_page1(&g);
  }
  free(text);
}

/* ------------------------------------------------------------------ */
/* The writer                                                          */
/* ------------------------------------------------------------------ */

static char *write_mem(const struct custody_stmt *st, const struct custody_position *p, size_t n,
                       int *rc)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  *rc = custody_mt535_write(f, st, p, n);
  assert_int_equal(fclose(f), 0);
  return buf;
}

static struct custody_qty qty(enum custody_qty_kind kind, const char *dec, bool shrt)
{
  struct custody_qty q = {.present = true, .kind = kind, .shrt = shrt};
  assert_int_equal(money_parse(dec, strlen(dec), CUSTODY_QTY_SCALE, 0, &q.qty), 0);
  return q;
}

static void base_stmt(struct custody_stmt *st)
{
  memset(st, 0, sizeof *st);
  st->kind = CUSTODY_KIND_MT535;
  snprintf(st->stmt_id, sizeof st->stmt_id, "S20250630");
  st->page_no = 1;
  st->last_page = true;
  st->stmt_day = day(2025, 6, 30);
  st->stmt_ms = (int64_t)st->stmt_day * 86400000;
  snprintf(st->frequency, sizeof st->frequency, "DAIL");
  st->update = CUSTODY_UPDATE_COMPLETE;
  st->basis = CUSTODY_BASIS_SETT;
  st->activity = true;
  snprintf(st->account_servicer, sizeof st->account_servicer, "CUSTUS33XXX");
  snprintf(st->safekeeping_account, sizeof st->safekeeping_account, "RESERVE01");
}

static void base_position(struct custody_position *p, const char *isin)
{
  memset(p, 0, sizeof *p);
  snprintf(p->isin, sizeof p->isin, "%s", isin);
  p->aggregate = qty(CUSTODY_QTY_UNIT, "100", false);
}

static void test_write_bytes(void **state)
{
  (void)state;
  struct custody_stmt st;
  struct custody_position p[2];
  base_stmt(&st);
  base_position(&p[0], "US0378331005");
  snprintf(p[0].description, sizeof p[0].description, "APPLE INC");
  p[0].aggregate = qty(CUSTODY_QTY_UNIT, "100250.5", false);
  p[0].not_available = qty(CUSTODY_QTY_UNIT, "250", false);
  snprintf(p[0].place, sizeof p[0].place, "DTCYUS33XXX");
  p[0].n_sub = 1;
  memcpy(p[0].sub[0].type, "PEND", 5);
  p[0].sub[0].qty = qty(CUSTODY_QTY_UNIT, "250", false);
  base_position(&p[1], "US88160R1014");
  p[1].aggregate = qty(CUSTODY_QTY_UNIT, "0.0000000000001", true);
  int rc;
  char *out = write_mem(&st, p, 2, &rc);
  assert_int_equal(rc, 0);
  assert_string_equal(out, "{1:F01XXXXXXXXXXXX0000000000}"
                           "{2:O5350000250630CUSTUS33AXXX00000000002506300000N}{4:\r\n"
                           ":16R:GENL\r\n"
                           ":28E:1/ONLY\r\n"
                           ":20C::SEME//S20250630\r\n"
                           ":23G:NEWM\r\n"
                           ":98A::STAT//20250630\r\n"
                           ":22F::SFRE//DAIL\r\n"
                           ":22F::CODE//COMP\r\n"
                           ":22F::STTY//CUST\r\n"
                           ":22F::STBA//SETT\r\n"
                           ":97A::SAFE//RESERVE01\r\n"
                           ":17B::ACTI//Y\r\n"
                           ":17B::CONS//N\r\n"
                           ":16S:GENL\r\n"
                           ":16R:SUBSAFE\r\n"
                           ":16R:FIN\r\n"
                           ":35B:ISIN US0378331005\r\n"
                           "APPLE INC\r\n"
                           ":93B::AGGR//UNIT/100250,5\r\n"
                           ":93B::NAVL//UNIT/250,\r\n"
                           ":94F::SAFE//NCSD/DTCYUS33XXX\r\n"
                           ":16R:SUBBAL\r\n"
                           ":93C::PEND//UNIT/NAVL/250,\r\n"
                           ":16S:SUBBAL\r\n"
                           ":16S:FIN\r\n"
                           ":16R:FIN\r\n"
                           ":35B:ISIN US88160R1014\r\n"
                           ":93B::AGGR//UNIT/N0,0000000000001\r\n"
                           ":16S:FIN\r\n"
                           ":16S:SUBSAFE\r\n"
                           "-}");
  free(out);
}

static void assert_same_stmt(const struct custody_stmt *a, const struct custody_stmt *b)
{
  assert_string_equal(a->stmt_id, b->stmt_id);
  assert_int_equal(a->page_no, b->page_no);
  assert_int_equal(a->last_page, b->last_page);
  assert_int_equal(a->stmt_day, b->stmt_day);
  assert_true(a->stmt_ms == b->stmt_ms);
  assert_int_equal(a->stmt_has_time, b->stmt_has_time);
  assert_string_equal(a->frequency, b->frequency);
  assert_int_equal(a->update, b->update);
  assert_int_equal(a->basis, b->basis);
  assert_int_equal(a->activity, b->activity);
  assert_int_equal(a->sub_accounts, b->sub_accounts);
  assert_string_equal(a->account_owner, b->account_owner);
  assert_string_equal(a->account_servicer, b->account_servicer);
  assert_string_equal(a->safekeeping_account, b->safekeeping_account);
}

static void assert_same_qty(const struct custody_qty *a, const struct custody_qty *b)
{
  assert_int_equal(a->present, b->present);
  if (!a->present)
    return;
  assert_int_equal(a->kind, b->kind);
  assert_int_equal(money_cmp(a->qty, b->qty), 0);
  assert_int_equal(b->qty.scale, CUSTODY_QTY_SCALE);
  assert_int_equal(a->shrt, b->shrt);
}

static void assert_same_position(const struct custody_position *a, const struct custody_position *b)
{
  assert_string_equal(a->sub_account, b->sub_account);
  assert_string_equal(a->isin, b->isin);
  assert_string_equal(a->description, b->description);
  assert_same_qty(&a->aggregate, &b->aggregate);
  assert_same_qty(&a->available, &b->available);
  assert_same_qty(&a->not_available, &b->not_available);
  assert_string_equal(a->place, b->place);
  assert_int_equal(a->n_sub, b->n_sub);
  for (unsigned i = 0; i < a->n_sub; i++) {
    assert_string_equal(a->sub[i].type, b->sub[i].type);
    assert_same_qty(&a->sub[i].qty, &b->sub[i].qty);
  }
}

static void round_trip(const struct custody_stmt *st, const struct custody_position *p, size_t n)
{
  int rc;
  char *out = write_mem(st, p, n, &rc);
  assert_int_equal(rc, 0);
  static struct got g;
  g.stop_at = 0;
  struct custody_error err;
  rc = parse(out, &g, &err);
  if (rc != 0)
    fail_msg("parse of written MT535: %d line %llu %s: %s\n%s", rc, (unsigned long long)err.line,
             err.where, err.msg, out);
  assert_same_stmt(st, &g.st);
  assert_int_equal(g.n, n);
  for (size_t i = 0; i < n; i++)
    assert_same_position(&p[i], &g.pos[i]);
  free(out);
}

static void test_round_trip(void **state)
{
  (void)state;
  struct custody_stmt st;
  struct custody_position p[4];
  base_stmt(&st);
  round_trip(&st, p, 0);

  /* A later page, delta, trade basis, a time with milliseconds. */
  st.page_no = 12345;
  st.last_page = false;
  st.stmt_has_time = true;
  st.stmt_ms = (int64_t)day(2031, 12, 31) * 86400000 + 86399999;
  st.stmt_day = day(2031, 12, 31);
  st.update = CUSTODY_UPDATE_DELTA;
  st.basis = CUSTODY_BASIS_CONT;
  st.activity = false;
  st.sub_accounts = true;
  st.frequency[0] = '\0';
  snprintf(st.account_owner, sizeof st.account_owner, "ISSUER-0001");
  base_position(&p[0], "US0378331005");
  snprintf(p[0].description, sizeof p[0].description, "%s", "A 35 CHARACTER LONG DESCRIPTION (X)");
  p[0].aggregate = qty(CUSTODY_QTY_UNIT, "99999999999999", false);
  p[0].available = qty(CUSTODY_QTY_UNIT, "0.0000000000001", false);
  p[0].not_available = qty(CUSTODY_QTY_UNIT, "1234567.1234567", true);
  snprintf(p[0].place, sizeof p[0].place, "DTCYUS33");
  base_position(&p[1], "XS0000000009");
  p[1].aggregate = qty(CUSTODY_QTY_FACE_AMT, "5000000", false);
  p[1].available = qty(CUSTODY_QTY_AMTSD_VAL, "4999999.99", false);
  p[1].n_sub = CUSTODY_SUBBAL_MAX;
  for (unsigned i = 0; i < CUSTODY_SUBBAL_MAX; i++) {
    snprintf(p[1].sub[i].type, sizeof p[1].sub[i].type, "B%03u", i);
    p[1].sub[i].qty = qty(CUSTODY_QTY_FACE_AMT, "1.5", i % 2 == 1);
  }
  base_position(&p[2], "US5949181045");
  p[2].aggregate = qty(CUSTODY_QTY_UNIT, "0", false);
  round_trip(&st, p, 3);

  /* An owner as BIC and as LEI; whole-second time (98C); no servicer. */
  st.stmt_ms -= 999;
  snprintf(st.account_owner, sizeof st.account_owner, "BKSTUS33XXX");
  round_trip(&st, p, 3);
  snprintf(st.account_owner, sizeof st.account_owner, "5493001KJTIIGC8Y1R12");
  st.account_servicer[0] = '\0';
  round_trip(&st, p, 3);

  /* Before 1970: negative day numbers. */
  st.stmt_ms = (int64_t)day(1950, 1, 1) * 86400000 + 1500;
  st.stmt_day = day(1950, 1, 1);
  round_trip(&st, p, 1);
}

/* Page 1 as read, written again, reads the same. */
static void test_parse_write_parse(void **state)
{
  (void)state;
  static struct got g;
  g.stop_at = 0;
  struct custody_error err;
  char *text = page1_text(true);
  assert_int_equal(parse(text, &g, &err), 0);
  round_trip(&g.st, g.pos, g.n);
  free(text);
}

static void test_write_refuses(void **state)
{
  (void)state;
  struct custody_stmt st;
  struct custody_position p;
  int rc;
  char *out;
#define REFUSED(mutate)                                                                            \
  do {                                                                                             \
    base_stmt(&st);                                                                                \
    base_position(&p, "US0378331005");                                                             \
    mutate;                                                                                        \
    out = write_mem(&st, &p, 1, &rc);                                                              \
    assert_int_equal(rc, -ERR_INVALID_ARGUMENT);                                                   \
    assert_string_equal(out, "");                                                                  \
    free(out);                                                                                     \
  } while (0)
  REFUSED(snprintf(p.sub_account, sizeof p.sub_account, "SUB1"));
  REFUSED(p.aggregate.kind = CUSTODY_QTY_DGTL_TKN_UNIT);
  REFUSED(p.aggregate.present = false);
  REFUSED(p.aggregate = qty(CUSTODY_QTY_UNIT, "0.00000000000001", false)); /* 16 characters */
  REFUSED(p.aggregate = qty(CUSTODY_QTY_UNIT, "100000000000000", false));
  REFUSED(p.aggregate = qty(CUSTODY_QTY_UNIT, "0", true));
  REFUSED(p.isin[11] = 'X');
  REFUSED(snprintf(p.description, sizeof p.description, ":COLON"));
  REFUSED(snprintf(p.description, sizeof p.description, "CAF\xc3\x89"));
  REFUSED(snprintf(p.place, sizeof p.place, "NOT A BIC"));
  REFUSED(snprintf(p.sub[0].type, sizeof p.sub[0].type, "PE"); p.n_sub = 1;
          p.sub[0].qty = qty(CUSTODY_QTY_UNIT, "1", false));
  REFUSED(snprintf(st.stmt_id, sizeof st.stmt_id, "ABCDEFGHIJKLMNOPQ")); /* 17 > 16x */
  REFUSED(st.stmt_id[0] = '\0');
  REFUSED(st.safekeeping_account[0] = '\0');
  REFUSED(st.page_no = 0);
  REFUSED(st.page_no = 100000);
  REFUSED(snprintf(st.account_servicer, sizeof st.account_servicer, "CUST"));
  REFUSED(snprintf(st.frequency, sizeof st.frequency, "dail"));
  REFUSED(st.basis = 0);
  REFUSED(st.stmt_day = day(2200, 12, 31) + 1);
#undef REFUSED
}

/* ------------------------------------------------------------------ */
/* Malformed input                                                     */
/* ------------------------------------------------------------------ */

/* A small valid block 4 text; the cases below replace one of its lines. */
static const char *const base_lines[] = {
    ":16R:GENL",              /* 1 */
    ":28E:1/ONLY",            /* 2 */
    ":20C::SEME//S1",         /* 3 */
    ":23G:NEWM",              /* 4 */
    ":98A::STAT//20250630",   /* 5 */
    ":97A::SAFE//ACC1",       /* 6 */
    ":16S:GENL",              /* 7 */
    ":16R:SUBSAFE",           /* 8 */
    ":16R:FIN",               /* 9 */
    ":35B:ISIN US0378331005", /* 10 */
    ":93B::AGGR//UNIT/5,",    /* 11 */
    ":16S:FIN",               /* 12 */
    ":16S:SUBSAFE",           /* 13 */
};
#define N_BASE (sizeof base_lines / sizeof base_lines[0])

/* The base text with line @at (1-based) replaced by @with (NULL drops it). */
static void build(char *buf, size_t size, unsigned at, const char *with)
{
  size_t o = 0;
  buf[0] = '\0';
  for (unsigned i = 1; i <= N_BASE; i++) {
    const char *l = i == at ? with : base_lines[i - 1];
    if (l == NULL)
      continue;
    int n = snprintf(buf + o, size - o, "%s\n", l);
    assert_true(n > 0 && (size_t)n < size - o);
    o += (size_t)n;
  }
}

struct bad {
  unsigned at;
  const char *with;
  int code;
  uint64_t line;
  const char *where;
};

static const struct bad bad_cases[] = {
    /* Structure. */
    {1, ":16R:GENX", -ERR_CUSTODY_MT535, 1, "16R:GENL"},
    {1, NULL, -ERR_CUSTODY_MT535, 1, "16R:GENL"},
    {7, NULL, -ERR_CUSTODY_MT535, 7, "16R:SUBSAFE"},
    {9, ":16R:FINX", -ERR_CUSTODY_MT535, 9, "16R:FINX"},
    {12, NULL, -ERR_CUSTODY_MT535, 12, "16S:SUBSAFE"},
    {13, NULL, -ERR_CUSTODY_MT535, 8, "16R:SUBSAFE"},
    {12, ":16S:FIN\n:16S:SUBSAFE\n:16S:SUBSAFE", -ERR_CUSTODY_MT535, 14, "16S:SUBSAFE"},
    {12, ":16S:FIN\n:16S:SUBSAFE\n:93B::AGGR//UNIT/5,", -ERR_CUSTODY_MT535, 14, "93B"},
    {12, ":16R:SUBBAL\n:16S:SUBBAL\n:16S:FIN", -ERR_CUSTODY_MISSING, 13, "93C"},
    {12, ":16R:SUBBAL\n:93C::PEND//UNIT/AVAI/1,\n:93C::PEND//UNIT/AVAI/1,\n:16S:SUBBAL\n:16S:FIN",
     -ERR_CUSTODY_MT535, 14, "93C::PEND"},
    {12, ":16R:FIA\n:16R:FIA\n:16S:FIA\n:16S:FIN", -ERR_CUSTODY_MT535, 13, "16R:FIA"},
    {12, ":16S:FIN\n:16R:FIN\n:35B:ISIN US0378331005\n:93B::AGGR//UNIT/5,\n:16S:FIN\n:97A::SAFE//X",
     -ERR_CUSTODY_MT535, 17, "97A::SAFE"},
    {13, ":16S:SUBSAFE\n:16R:ADDINFO\n:16S:ADDINFO\n:16R:SUBSAFE\n:16S:SUBSAFE", -ERR_CUSTODY_MT535,
     16, "16R:SUBSAFE"},
    {6, ":97A::SAFE//ACC1\n:16R:FIN", -ERR_CUSTODY_MT535, 7, "16R:FIN"},
    /* Lines and fields. */
    {11, "93B::AGGR//UNIT/5,", -ERR_CUSTODY_MISSING, 12, "93B::AGGR"}, /* a 35B line */
    {10, ":35B:ISIN US0378331005\nA\nB\nC\nD\nE", -ERR_CUSTODY_MT535, 15, "35B"},
    {11, "::93B::AGGR//UNIT/5,", -ERR_CUSTODY_MT535, 11, "block 4"},
    {11, ":9B::AGGR//UNIT/5,", -ERR_CUSTODY_MT535, 11, "block 4"},
    {11, "", -ERR_CUSTODY_MT535, 11, "block 4"},
    {11, "-", -ERR_CUSTODY_MT535, 11, "block 4"},
    {11, ":93B::AGGR//UNIT/5,\n-", -ERR_CUSTODY_MT535, 12, "block 4"},
    {11, ":93B:AGGR//UNIT/5,", -ERR_CUSTODY_MT535, 11, "93B"},
    {11, ":93B::AGGR//UNIT/5,\n7", -ERR_CUSTODY_MT535, 12, "93B"},
    {11, ":93B::AGGR", -ERR_CUSTODY_MT535, 11, "93B"},
    {11, ":93B::AGGR//UNIT/5,\n:93B::AGGR//UNIT/6,", -ERR_CUSTODY_MT535, 12, "93B::AGGR"},
    /* Character set. */
    {10, ":35B:ISIN US0378331005\nCAF\xc3\x89", -ERR_CUSTODY_MT535, 11, "block 4"},
    {10, ":35B:ISIN US0378331005\nA\tB", -ERR_CUSTODY_MT535, 11, "block 4"},
    {10, ":35B:ISIN US0378331005\nA{B}", -ERR_CUSTODY_MT535, 11, "block 4"},
    {10, ":35B:ISIN US0378331005\nA\rB", -ERR_CUSTODY_MT535, 11, "block 4"},
    {10, ":35B:ISIN US0378331005\nA;B", -ERR_CUSTODY_MT535, 11, "block 4"},
    {3, ":20C::SEME//S1\"", -ERR_CUSTODY_MT535, 3, "block 4"},
    /* Sequence A. */
    {2, NULL, -ERR_CUSTODY_MISSING, 6, "28E"},
    {3, NULL, -ERR_CUSTODY_MISSING, 6, "20C::SEME"},
    {4, NULL, -ERR_CUSTODY_MISSING, 6, "23G"},
    {5, NULL, -ERR_CUSTODY_MISSING, 6, "98A::STAT"},
    {6, NULL, -ERR_CUSTODY_MISSING, 6, "97A::SAFE"},
    {2, ":28E:0/MORE", -ERR_CUSTODY_VALUE, 2, "28E"},
    {2, ":28E:2/ONLY", -ERR_CUSTODY_VALUE, 2, "28E"},
    {2, ":28E:123456/LAST", -ERR_CUSTODY_VALUE, 2, "28E"},
    {2, ":28E:1/NEXT", -ERR_CUSTODY_VALUE, 2, "28E"},
    {2, ":28E:1/ONLY\n:28E:1/ONLY", -ERR_CUSTODY_MT535, 3, "28E"},
    {3, ":20C::SEME//", -ERR_CUSTODY_VALUE, 3, "20C::SEME"},
    {3, ":20C::SEME//ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", -ERR_CUSTODY_TEXT_LONG, 3, "20C::SEME"},
    {3, ":20C::SEME/XX/S1", -ERR_CUSTODY_VALUE, 3, "20C::SEME"},
    {4, ":23G:CANC", -ERR_CUSTODY_VALUE, 4, "23G"},
    {5, ":98A::STAT//20250230", -ERR_CUSTODY_VALUE, 5, "98A::STAT"},
    {5, ":98A::STAT//2025063", -ERR_CUSTODY_VALUE, 5, "98A::STAT"},
    {5, ":98C::STAT//20250630246000", -ERR_CUSTODY_VALUE, 5, "98C::STAT"},
    {5, ":98E::STAT//20250630120000,/N04", -ERR_CUSTODY_VALUE, 5, "98E::STAT"},
    {5, ":98E::STAT//20250630120000/N4", -ERR_CUSTODY_VALUE, 5, "98E::STAT"},
    {5, ":98A::STAT//18991231", -ERR_CUSTODY_VALUE, 5, "98A::STAT"},
    {6, ":97A::SAFE//ACC1\n:22F::CODE//FULL", -ERR_CUSTODY_VALUE, 7, "22F::CODE"},
    {6, ":97A::SAFE//ACC1\n:22F::STBA//SETTL", -ERR_CUSTODY_VALUE, 7, "22F::STBA"},
    {6, ":97A::SAFE//ACC1\n:22F::STBA/DSS/SETT", -ERR_CUSTODY_VALUE, 7, "22F::STBA"},
    {6, ":97A::SAFE//ACC1\n:22F::STTY//ABCD", -ERR_CUSTODY_VALUE, 7, "22F::STTY"},
    {6, ":97A::SAFE//ACC1\n:17B::ACTI//YES", -ERR_CUSTODY_VALUE, 7, "17B::ACTI"},
    {6, ":97A::SAFE//ACC1\n:95P::ACOW//NOTABIC", -ERR_CUSTODY_VALUE, 7, "95P::ACOW"},
    {6, ":97A::SAFE//ACC1\n:16R:FIA", -ERR_CUSTODY_MT535, 7, "16R:FIA"},
    /* Positions. */
    {10, NULL, -ERR_CUSTODY_MISSING, 11, "35B"},
    {11, NULL, -ERR_CUSTODY_MISSING, 11, "93B::AGGR"},
    {10, ":35B:/US/037833100", -ERR_CUSTODY_MISSING, 10, "35B"},
    {10, ":35B:ISIN US037833100A", -ERR_CUSTODY_VALUE, 10, "35B"},
    {10, ":35B:ISIN us0378331005", -ERR_CUSTODY_VALUE, 10, "35B"},
    {10, ":35B:ISIN US03783310055", -ERR_CUSTODY_VALUE, 10, "35B"},
    {10, ":35B:ISIN US0378331005\n:35B:ISIN US0378331005", -ERR_CUSTODY_MT535, 11, "35B"},
    {11, ":93B::AGGR//UNIT/5", -ERR_CUSTODY_VALUE, 11, "93B::AGGR"},
    {11, ":93B::AGGR//UNIT/5,5,", -ERR_CUSTODY_VALUE, 11, "93B::AGGR"},
    {11, ":93B::AGGR//UNIT/,5", -ERR_CUSTODY_VALUE, 11, "93B::AGGR"},
    {11, ":93B::AGGR//UNIT/-5,", -ERR_CUSTODY_VALUE, 11, "93B::AGGR"},
    {11, ":93B::AGGR//UNIT/N0,", -ERR_CUSTODY_VALUE, 11, "93B::AGGR"},
    {11, ":93B::AGGR//UNIT/NN5,", -ERR_CUSTODY_VALUE, 11, "93B::AGGR"},
    {11, ":93B::AGGR//UNIT/5.5", -ERR_CUSTODY_VALUE, 11, "93B::AGGR"},
    {11, ":93B::AGGR//UNIT/123456789012345,", -ERR_CUSTODY_VALUE, 11, "93B::AGGR"},
    {11, ":93B::AGGR//UNIT/", -ERR_CUSTODY_VALUE, 11, "93B::AGGR"},
    {11, ":93B::AGGR//SHAR/5,", -ERR_CUSTODY_VALUE, 11, "93B::AGGR"},
    {11, ":93B::AGGR/DSS/UNIT/5,", -ERR_CUSTODY_VALUE, 11, "93B::AGGR"},
    {11, ":93B::AGGR//UNIT/5,\n:93B::AVAI//UNIT/1 ,", -ERR_CUSTODY_VALUE, 12, "93B::AVAI"},
    {11, ":93B::AGGR//UNIT/5,\n:94F::SAFE//NCSD/DTC", -ERR_CUSTODY_VALUE, 12, "94F::SAFE"},
    {11, ":93B::AGGR//UNIT/5,\n:16R:SUBBAL\n:93C::PEND//UNIT/FREE/1,\n:16S:SUBBAL",
     -ERR_CUSTODY_VALUE, 13, "93C::PEND"},
    {11, ":93B::AGGR//UNIT/5,\n:16R:SUBBAL\n:93C::PEND//UNIT/AVAI/250\n:16S:SUBBAL",
     -ERR_CUSTODY_VALUE, 13, "93C::PEND"},
};

static void test_malformed(void **state)
{
  (void)state;
  char buf[2048];
  static struct got g;
  g.stop_at = 0;
  struct custody_error err;
  build(buf, sizeof buf, 0, NULL);
  assert_int_equal(parse(buf, &g, &err), 0); /* the base itself is fine */
  assert_int_equal(g.n, 1);
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    const struct bad *b = &bad_cases[i];
    build(buf, sizeof buf, b->at, b->with);
    int rc = parse(buf, &g, &err);
    if (rc != b->code || err.code != b->code || err.line != b->line ||
        strcmp(err.where, b->where) != 0)
      fail_msg("case %zu (line %u -> \"%s\"): got %d line %llu \"%s\" (%s); want %d line %llu "
               "\"%s\"",
               i, b->at, b->with ? b->with : "(dropped)", rc, (unsigned long long)err.line,
               err.where, err.msg, b->code, (unsigned long long)b->line, b->where);
    assert_true(err.msg[0] != '\0');
  }
  /* Text that stops inside FIN (block 4 alone: the end of the text). */
  size_t o = 0;
  for (int i = 0; i < 11; i++)
    o += (size_t)snprintf(buf + o, sizeof buf - o, "%s\n", base_lines[i]);
  assert_int_equal(parse(buf, &g, &err), -ERR_CUSTODY_MT535);
  assert_int_equal(err.line, 9);
  assert_string_equal(err.where, "16R:FIN");
  assert_int_equal(g.n, 0);
}

/* Optional fields and sequences we do not read are skipped. */
static void test_skipped(void **state)
{
  (void)state;
  char buf[2048];
  static struct got g;
  g.stop_at = 0;
  struct custody_error err;
  build(buf, sizeof buf, 11,
        ":93B::AGGR//UNIT/5,\n:93B::OTHR//UNIT/ANY THING\n:94B::SAFE//CUST/TEXT\n"
        ":70E::HOLD//FIRST LINE\nSECOND LINE\n:16R:SUBBAL\n:93C::BLOK//UNIT/AVAI/1,\n"
        ":94C::SAFE//US\n:16R:BREAK\n:36B::BREA//UNIT/1,\n:16S:BREAK\n:16S:SUBBAL");
  assert_int_equal(parse(buf, &g, &err), 0);
  assert_int_equal(g.n, 1);
  assert_qty(&g.pos[0].aggregate, CUSTODY_QTY_UNIT, "5", false);
  assert_int_equal(g.pos[0].n_sub, 1);
  assert_string_equal(g.pos[0].sub[0].type, "BLOK");
  /* The defaults when 22F and 17B are absent. */
  assert_int_equal(g.st.update, CUSTODY_UPDATE_COMPLETE);
  assert_int_equal(g.st.basis, CUSTODY_BASIS_SETT);
  assert_true(g.st.activity);
  assert_false(g.st.sub_accounts);
  assert_string_equal(g.st.frequency, "");
  assert_false(g.st.stmt_has_time);
  assert_true(g.st.stmt_ms == (int64_t)day(2025, 6, 30) * 86400000);
  /* 17 sub-balances are one too many. */
  char lines[1024];
  size_t o = (size_t)snprintf(lines, sizeof lines, ":93B::AGGR//UNIT/5,");
  for (int i = 0; i < 17; i++)
    o += (size_t)snprintf(lines + o, sizeof lines - o,
                          "\n:16R:SUBBAL\n:93C::B%03d//UNIT/AVAI/1,\n:16S:SUBBAL", i);
  build(buf, sizeof buf, 11, lines);
  assert_int_equal(parse(buf, &g, &err), -ERR_CUSTODY_VALUE);
  assert_int_equal(err.line, 11 + 16 * 3 + 2);
  assert_string_equal(err.where, "93C::B016");
  /* A page without positions: the statement still comes back. */
  o = 0;
  for (int i = 0; i < 7; i++)
    o += (size_t)snprintf(buf + o, sizeof buf - o, "%s\n", base_lines[i]);
  assert_int_equal(parse(buf, &g, &err), 0);
  assert_int_equal(g.n, 0);
  assert_string_equal(g.st.stmt_id, "S1");
}

/* Headers, trailers and the message as a whole. */
static void test_envelope(void **state)
{
  (void)state;
  static const struct {
    const char *head, *tail;
    int code;
    uint64_t line;
    const char *where;
  } cases[] = {
      {"{1:F01CUSTUS33AXXX0000000000}{4:\n", "-}", 0, 0, ""},
      {"{4:\r\n", "-}\r\n\r\n", 0, 0, ""},
      {"{1:F01CUSTUS33AXXX0000000000}{2:O5351705250630CUSTUS33AXXX12340000562506301705}{4:\n",
       "-}{5:{CHK:ABC}{TNG:}}{S:{SAC:}{COP:P}}", 0, 0, ""},
      {"{2:O5361705250630CUSTUS33AXXX12340000562506301705N}{4:\n", "-}", -ERR_CUSTODY_NAMESPACE, 1,
       "{2:"},
      {"{2:I940CUSTUS33AXXXN}{4:\n", "-}", -ERR_CUSTODY_NAMESPACE, 1, "{2:"},
      {"{2:O5351705250630CUSTUS33AXXX1234000056250630170}{4:\n", "-}", -ERR_CUSTODY_MT535, 1,
       "{2:"},
      {"{2:I535CUSTUS33AXXXQ}{4:\n", "-}", -ERR_CUSTODY_MT535, 1, "{2:"},
      {"{1:F01custus33AXXX0000000000}{4:\n", "-}", -ERR_CUSTODY_MT535, 1, "{1:"},
      {"{1:F01CUSTUS33AXXX000000000}{4:\n", "-}", -ERR_CUSTODY_MT535, 1, "{1:"},
      {"{3:{108:A}{119}}{4:\n", "-}", -ERR_CUSTODY_MT535, 1, "{3:"},
      {"{4:", "-}", -ERR_CUSTODY_MT535, 1, "{4:"},
      {"{4:\n", "", -ERR_CUSTODY_MT535, 15, "block 4"},
      {"{4:\n", "-", -ERR_CUSTODY_MT535, 15, "block 4"},
      {"{4:\n", "-}X", -ERR_CUSTODY_MT535, 15, "-}"},
      {"{4:\n", "-}{5:{CHK:ABC}", -ERR_CUSTODY_MT535, 15, "{5:"},
      {"{4:\n", "-}\n-}", -ERR_CUSTODY_MT535, 15, "-}"},
      {"{5:{CHK:ABC}}{4:\n", "-}", -ERR_CUSTODY_MT535, 1, "{4:"},
  };
  char b4[1024], buf[2048];
  static struct got g;
  g.stop_at = 0;
  struct custody_error err;
  build(b4, sizeof b4, 0, NULL);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(buf, sizeof buf, "%s%s%s", cases[i].head, b4, cases[i].tail);
    int rc = parse(buf, &g, &err);
    if (rc != cases[i].code || err.line != cases[i].line || strcmp(err.where, cases[i].where))
      fail_msg("case %zu: got %d line %llu \"%s\" (%s)", i, rc, (unsigned long long)err.line,
               err.where, err.msg);
    if (rc == 0)
      assert_int_equal(g.n, 1);
  }
  /* Before the message: a byte order mark and line breaks; after block 4 text: blank lines. */
  static const char *const wraps[][2] = {
      {"\xef\xbb\xbf\r\n\n{4:\r\n", "-}\r\n"},
      {"\n\n", "\n\r\n"},
      {"\r\n", "-\r\n\r\n"},
  };
  for (size_t i = 0; i < 3; i++) {
    snprintf(buf, sizeof buf, "%s%s%s", wraps[i][0], b4, wraps[i][1]);
    assert_int_equal(parse(buf, &g, &err), 0);
    assert_int_equal(g.n, 1);
  }
  /* Line numbers count the leading line breaks. */
  build(b4, sizeof b4, 11, ":93B::AGGR//UNIT/5");
  snprintf(buf, sizeof buf, "\n\n{4:\n%s-}", b4);
  assert_int_equal(parse(buf, &g, &err), -ERR_CUSTODY_VALUE);
  assert_int_equal(err.line, 14);
  snprintf(buf, sizeof buf, "\r\n%s", b4);
  assert_int_equal(parse(buf, &g, &err), -ERR_CUSTODY_VALUE);
  assert_int_equal(err.line, 12);
  snprintf(buf, sizeof buf, "\n{2:O536}{4:\n%s-}", b4);
  assert_int_equal(parse(buf, &g, &err), -ERR_CUSTODY_NAMESPACE);
  assert_int_equal(err.line, 2);
  /* A blank line inside block 4 text is still an error. */
  build(b4, sizeof b4, 11, ":93B::AGGR//UNIT/5,\n");
  assert_int_equal(parse(b4, &g, &err), -ERR_CUSTODY_MT535);
  assert_int_equal(err.line, 12);
  /* An empty message. */
  assert_int_equal(custody_mt535_parse("", 0, NULL, NULL, NULL, NULL, &err), -ERR_CUSTODY_MT535);
  assert_int_equal(err.line, 1);
}

static void test_limits(void **state)
{
  (void)state;
  char buf[2048];
  static struct got g;
  g.stop_at = 0;
  struct custody_error err;
  struct custody_limits lim;
  build(buf, sizeof buf, 0, NULL);
  size_t len = strlen(buf);

  custody_limits_default(&lim);
  lim.max_bytes = len - 1;
  assert_int_equal(custody_mt535_parse(buf, len, &lim, &g.st, NULL, NULL, &err),
                   -ERR_CUSTODY_TOO_LARGE);
  assert_int_equal(err.line, 0);
  lim.max_bytes = len;
  assert_int_equal(custody_mt535_parse(buf, len, &lim, &g.st, NULL, NULL, &err), 0);

  /* Lines and fields longer than max_text. */
  custody_limits_default(&lim);
  lim.max_text = 22; /* ":35B:ISIN US0378331005" is 22 */
  assert_int_equal(custody_mt535_parse(buf, len, &lim, &g.st, NULL, NULL, &err), 0);
  lim.max_text = 21;
  assert_int_equal(custody_mt535_parse(buf, len, &lim, &g.st, NULL, NULL, &err),
                   -ERR_CUSTODY_TEXT_LONG);
  assert_int_equal(err.line, 10);
  build(buf, sizeof buf, 10, ":35B:ISIN US0378331005\nAAAAAAAAAA\nBBBBBBBBBB");
  lim.max_text = 30; /* the field: 17 + 10 + 10 bytes */
  assert_int_equal(custody_mt535_parse(buf, strlen(buf), &lim, &g.st, NULL, NULL, &err),
                   -ERR_CUSTODY_TEXT_LONG);
  assert_int_equal(err.line, 12);
  assert_string_equal(err.where, "35B");

  /* Positions. */
  build(buf, sizeof buf, 12,
        ":16S:FIN\n:16R:FIN\n:35B:ISIN US88160R1014\n:93B::AGGR//UNIT/1,\n:16S:FIN");
  custody_limits_default(&lim);
  lim.max_positions = 1;
  g.n = 0;
  assert_int_equal(custody_mt535_parse(buf, strlen(buf), &lim, &g.st, collect, &g, &err),
                   -ERR_CUSTODY_TOO_LARGE);
  assert_int_equal(err.line, 13);
  assert_int_equal(g.n, 1);

  /* The callback stops the parse with its own value. */
  g.stop_at = 1;
  assert_int_equal(parse(buf, &g, &err), 99);
  assert_int_equal(g.n, 1);
  g.stop_at = 0;
  assert_int_equal(parse(buf, &g, &err), 0);
  assert_int_equal(g.n, 2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_page1),         cmocka_unit_test(test_page2),
      cmocka_unit_test(test_block4_alone),  cmocka_unit_test(test_write_bytes),
      cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_parse_write_parse),
      cmocka_unit_test(test_write_refuses), cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_skipped),       cmocka_unit_test(test_envelope),
      cmocka_unit_test(test_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
