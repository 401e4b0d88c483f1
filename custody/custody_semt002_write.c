/*
 * custody_semt002_write.c: the streaming writer of semt.002.001.11 pages
 * (begin, one call per position, end), the XML writing helpers the
 * sese.025 writer shares, and the value rules of the schemas (ISIN, BIC,
 * LEI, codes, decimals, dates) that readers and writers share.
 *
 * What it writes validates against semt.002.001.11.xsd: every input is
 * checked before the first byte of its element is written (a refused
 * position leaves the page as it was), text is escaped, quantities are
 * plain decimals without trailing zeros, within the schema's digits.
 * One line per position, no indentation: the files are large.
 *
 * The interface carries no writer object, so the few facts a page needs
 * between calls (whether a SubAcctDtls is open and for which account,
 * the statement's ActvtyInd) live in a small table keyed by the FILE,
 * guarded by a mutex: begin claims a slot (the least recently used one
 * when all are taken), end frees it.
 */
#include <pthread.h>
#include <string.h>

#include "custody/custody_xml_int.h"

#define SEMT002_NS  "urn:iso:std:iso:20022:tech:xsd:semt.002.001.11"
#define NOT_GIVEN   "NOTPROVIDED"
#define WRITERS_MAX 32

/* ------------------------------------------------------------------ */
/* Value rules of the schemas, shared by the readers and the writers   */
/* ------------------------------------------------------------------ */

static bool is_ws(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool up(char c)
{
  return c >= 'A' && c <= 'Z';
}

static bool dig(char c)
{
  return c >= '0' && c <= '9';
}

bool custody__isin_ok(const char *s, size_t len)
{
  if (len != CUSTODY_ISIN_LEN || !up(s[0]) || !up(s[1]) || !dig(s[11]))
    return false;
  for (size_t i = 2; i < 11; i++)
    if (!up(s[i]) && !dig(s[i]))
      return false;
  return true;
}

bool custody__bic_ok(const char *s, size_t len)
{
  if (len != 8 && len != 11)
    return false;
  for (size_t i = 0; i < len; i++) {
    bool letter_only = i == 4 || i == 5;
    if (!up(s[i]) && (letter_only || !dig(s[i])))
      return false;
  }
  return true;
}

bool custody__lei_ok(const char *s, size_t len)
{
  if (len != 20)
    return false;
  for (size_t i = 0; i < 20; i++)
    if (!dig(s[i]) && (i >= 18 || !up(s[i])))
      return false;
  return true;
}

static void trim(const char **s, size_t *len)
{
  while (*len > 0 && is_ws((unsigned char)**s)) {
    (*s)++;
    (*len)--;
  }
  while (*len > 0 && is_ws((unsigned char)(*s)[*len - 1]))
    (*len)--;
}

static __int128 pow10_128(size_t k)
{
  __int128 p = 1;
  if (k >= 19) {
    p = (__int128)util_pow10[19];
    k -= 19;
  }
  return p * (__int128)util_pow10[k];
}

int custody__decimal(const char *s, size_t len, unsigned scale, unsigned max_frac,
                     unsigned max_total, struct money *out)
{
  trim(&s, &len);
  bool neg = false;
  if (len > 0 && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    s++;
    len--;
  }
  size_t il = 0, fl = 0;
  while (il < len && dig(s[il]))
    il++;
  const char *ip = s, *fp = s + il;
  if (il < len) {
    if (s[il] != '.')
      return -ERR_CUSTODY_VALUE;
    fp = s + il + 1;
    while (il + 1 + fl < len && dig(fp[fl]))
      fl++;
    if (il + 1 + fl != len)
      return -ERR_CUSTODY_VALUE;
  }
  if (il + fl == 0 || max_total > 40)
    return -ERR_CUSTODY_VALUE;
  while (il > 0 && *ip == '0') {
    ip++;
    il--;
  }
  while (fl > 0 && fp[fl - 1] == '0')
    fl--;
  if (fl > max_frac || fl > scale || il + fl > max_total || (neg && il + fl > 0))
    return -ERR_CUSTODY_VALUE;
  if (il <= 18 && fl <= 18 && il + scale <= 37) {
    /* exact without money_parse: ip < 10^18, so ip * 10^scale < 10^37 fits */
    uint64_t ipart = 0, fpart = 0;
    for (size_t i = 0; i < il; i++)
      ipart = ipart * 10 + (uint64_t)(ip[i] - '0');
    for (size_t i = 0; i < fl; i++)
      fpart = fpart * 10 + (uint64_t)(fp[i] - '0');
    __int128 v = (__int128)ipart * pow10_128(scale) + (__int128)fpart * pow10_128(scale - fl);
    return money_make(v, scale, out) == 0 ? 0 : -ERR_CUSTODY_VALUE;
  }
  char b[48];
  size_t n = 0;
  if (il == 0)
    b[n++] = '0';
  memcpy(b + n, ip, il);
  n += il;
  if (fl > 0) {
    b[n++] = '.';
    memcpy(b + n, fp, fl);
    n += fl;
  }
  return money_parse(b, n, scale, 0, out) == 0 ? 0 : -ERR_CUSTODY_VALUE;
}

bool custody__qty_limits(enum custody_qty_kind kind, unsigned *scale, unsigned *max_frac,
                         unsigned *max_total)
{
  switch (kind) {
  case CUSTODY_QTY_UNIT:
    *scale = CUSTODY_QTY_SCALE, *max_frac = 17, *max_total = 18;
    return true;
  case CUSTODY_QTY_FACE_AMT:
  case CUSTODY_QTY_AMTSD_VAL:
    *scale = CUSTODY_QTY_SCALE, *max_frac = 5, *max_total = 18;
    return true;
  case CUSTODY_QTY_DGTL_TKN_UNIT:
    *scale = CUSTODY_DGTL_SCALE, *max_frac = 29, *max_total = 30;
    return true;
  }
  return false;
}

int custody__money_text(struct money m, unsigned max_frac, unsigned max_total, char *buf)
{
  char t[MONEY_STR_MAX];
  int n = money_format(m, t, sizeof t);
  if (n <= 0 || t[0] == '-')
    return -ERR_INVALID_ARGUMENT;
  size_t len = (size_t)n;
  const char *dot = memchr(t, '.', len);
  size_t il = dot != NULL ? (size_t)(dot - t) : len;
  size_t fl = dot != NULL ? len - il - 1 : 0;
  while (fl > 0 && dot[fl] == '0')
    fl--;
  size_t sig = (il == 1 && t[0] == '0') ? 0 : il;
  if (fl > max_frac || sig + fl > max_total)
    return -ERR_INVALID_ARGUMENT;
  len = fl > 0 ? il + 1 + fl : il;
  memcpy(buf, t, len);
  buf[len] = '\0';
  return (int)len;
}

/* "hh:mm" of a zone offset at @s (5 bytes) into minutes east of UTC. */
static int zone(const char *s, size_t len, int *minutes)
{
  if (len == 1 && s[0] == 'Z') {
    *minutes = 0;
    return 0;
  }
  if (len != 6 || (s[0] != '+' && s[0] != '-') || !dig(s[1]) || !dig(s[2]) || s[3] != ':' ||
      !dig(s[4]) || !dig(s[5]))
    return -ERR_CUSTODY_VALUE;
  int h = (s[1] - '0') * 10 + (s[2] - '0'), m = (s[4] - '0') * 10 + (s[5] - '0');
  if (h > 14 || m > 59 || (h == 14 && m != 0))
    return -ERR_CUSTODY_VALUE;
  *minutes = (h * 60 + m) * (s[0] == '-' ? -1 : 1);
  return 0;
}

int custody__date(const char *s, size_t len, int32_t *day)
{
  trim(&s, &len);
  int z;
  if (len < 10 || (len > 10 && zone(s + 10, len - 10, &z) != 0))
    return -ERR_CUSTODY_VALUE;
  return cal_parse_date(s, 10, day) == 0 ? 0 : -ERR_CUSTODY_VALUE;
}

static int two(const char *s)
{
  return dig(s[0]) && dig(s[1]) ? (s[0] - '0') * 10 + (s[1] - '0') : -1;
}

int custody__datetime(const char *s, size_t len, int64_t *ms, int32_t *local_day)
{
  trim(&s, &len);
  int32_t day;
  if (len < 19 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || cal_parse_date(s, 10, &day) != 0)
    return -ERR_CUSTODY_VALUE;
  int h = two(s + 11), mi = two(s + 14), se = two(s + 17);
  if (h < 0 || mi < 0 || se < 0 || h > 24 || mi > 59 || se > 59)
    return -ERR_CUSTODY_VALUE;
  size_t i = 19;
  int frac = 0, nd = 0;
  bool nonzero = false;
  if (i < len && s[i] == '.') {
    i++;
    size_t start = i;
    for (; i < len && dig(s[i]); i++) {
      if (nd < 3) {
        frac = frac * 10 + (s[i] - '0');
        nd++;
      }
      nonzero |= s[i] != '0';
    }
    if (i == start)
      return -ERR_CUSTODY_VALUE;
  }
  for (; nd < 3; nd++)
    frac *= 10;
  if (h == 24 && (mi != 0 || se != 0 || nonzero))
    return -ERR_CUSTODY_VALUE;
  int z = 0;
  if (i < len && zone(s + i, len - i, &z) != 0)
    return -ERR_CUSTODY_VALUE;
  *local_day = day;
  *ms = (int64_t)day * 86400000 + (int64_t)h * 3600000 + (int64_t)mi * 60000 + (int64_t)se * 1000 +
        frac - (int64_t)z * 60000;
  return 0;
}

int32_t custody__floor_day(int64_t ms)
{
  int64_t d = ms / 86400000;
  if (ms % 86400000 < 0)
    d--;
  return (int32_t)d;
}

static bool code_in(const char *s, size_t len, const char *list)
{
  if (len != 4)
    return false;
  for (; *list != '\0'; list += list[4] == ' ' ? 5 : 4)
    if (memcmp(list, s, 4) == 0)
      return true;
  return false;
}

bool custody__freq_code_ok(const char *s, size_t len)
{
  return code_in(s, len, "YEAR ADHO MNTH DAIL INDA WEEK SEMI QUTR TOMN TOWK TWMN OVNG ONDE");
}

bool custody__subbal_code_ok(const char *s, size_t len)
{
  return code_in(s, len,
                 "BLOK AWAS BLCA BLOT BLOV BORR BODE BORE COLI COLO LOAN LODE LORE MARG PECA "
                 "PEDA PEND PENR PLED REGO RSTR OTHR TRAN DRAW WDOC BTRA");
}

int custody__code4(const char *s, size_t len, const char *codes)
{
  if (len != 4)
    return -1;
  for (int k = 0; codes[4 * k] != '\0'; k++)
    if (memcmp(s, codes + 4 * k, 4) == 0)
      return k;
  return -1;
}

bool custody__alnum4_ok(const char *s, size_t len)
{
  if (len != 4)
    return false;
  for (size_t i = 0; i < 4; i++)
    if (!up(s[i]) && !dig(s[i]) && !(s[i] >= 'a' && s[i] <= 'z'))
      return false;
  return true;
}

/* ------------------------------------------------------------------ */
/* Helpers shared with custody_sese025.c                               */
/* ------------------------------------------------------------------ */

bool custody__text_ok(const char *s, size_t max)
{
  if (s == NULL || s[0] == '\0')
    return false;
  size_t chars = 0;
  const unsigned char *p = (const unsigned char *)s;
  while (*p != '\0') {
    uint32_t c = *p;
    int more = 0;
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
        return false;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      c &= 0x1F, more = 1;
    } else if ((c & 0xF0) == 0xE0) {
      c &= 0x0F, more = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      c &= 0x07, more = 3;
    } else {
      return false;
    }
    p++;
    for (int i = 0; i < more; i++, p++) {
      if ((*p & 0xC0) != 0x80)
        return false;
      c = (c << 6) | (*p & 0x3F);
    }
    if ((more == 2 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF) || c == 0xFFFE || c == 0xFFFF)) ||
        (more == 3 && (c < 0x10000 || c > 0x10FFFF)))
      return false;
    chars++;
  }
  return chars <= max;
}

void custody__put_text(FILE *out, const char *s)
{
  const char *run = s;
  for (; *s != '\0'; s++) {
    const char *rep = NULL;
    switch (*s) {
    case '&':
      rep = "&amp;";
      break;
    case '<':
      rep = "&lt;";
      break;
    case '>':
      rep = "&gt;";
      break;
    case '\r':
      rep = "&#13;";
      break;
    default:
      continue;
    }
    fwrite(run, 1, (size_t)(s - run), out);
    fputs(rep, out);
    run = s + 1;
  }
  fwrite(run, 1, (size_t)(s - run), out);
}

void custody__put_elem(FILE *out, const char *name, const char *text)
{
  fprintf(out, "<%s>", name);
  custody__put_text(out, text);
  fprintf(out, "</%s>", name);
}

static const char *qty_elem(enum custody_qty_kind k)
{
  switch (k) {
  case CUSTODY_QTY_UNIT:
    return "Unit";
  case CUSTODY_QTY_FACE_AMT:
    return "FaceAmt";
  case CUSTODY_QTY_AMTSD_VAL:
    return "AmtsdVal";
  case CUSTODY_QTY_DGTL_TKN_UNIT:
    return "DgtlTknUnit";
  }
  return NULL;
}

/* The text of @q's value, checked against the schema; NULL when it does not fit. */
static const char *qty_text(const struct custody_qty *q, char buf[MONEY_STR_MAX])
{
  unsigned scale, frac, total;
  if (q == NULL || !q->present || !custody__qty_limits(q->kind, &scale, &frac, &total) ||
      q->qty.scale != scale || q->qty.v < 0)
    return NULL;
  return custody__money_text(q->qty, frac, total, buf) > 0 ? buf : NULL;
}

int custody__put_qty(FILE *out, const struct custody_qty *q)
{
  char buf[MONEY_STR_MAX];
  if (qty_text(q, buf) == NULL)
    return -ERR_INVALID_ARGUMENT;
  const char *e = qty_elem(q->kind);
  fprintf(out, "<%s>%s</%s>", e, buf, e);
  return 0;
}

void custody__put_date(FILE *out, int32_t day)
{
  char d[CAL_DATE_STR];
  cal_format_date(day, d);
  fputs(d, out);
}

void custody__put_party(FILE *out, const char *id, const char *issuer)
{
  if (custody__bic_ok(id, strlen(id))) {
    custody__put_elem(out, "AnyBIC", id);
    return;
  }
  fputs("<PrtryId>", out);
  custody__put_elem(out, "Id", id);
  custody__put_elem(out, "Issr", issuer != NULL && issuer[0] != '\0' ? issuer : NOT_GIVEN);
  fputs("</PrtryId>", out);
}

/* A Max35Text that fits our 35-byte fields. */
static bool id_ok(const char *s)
{
  return memchr(s, '\0', CUSTODY_ID_MAX) != NULL && custody__text_ok(s, 35);
}

static bool day_ok(int32_t day)
{
  int32_t lo, hi;
  cal_day(CAL_YEAR_MIN, 1, 1, &lo);
  cal_day(CAL_YEAR_MAX, 12, 31, &hi);
  return day >= lo && day <= hi;
}

/* ------------------------------------------------------------------ */
/* Per-FILE state                                                      */
/* ------------------------------------------------------------------ */

struct wstate {
  FILE *out; /* NULL: free */
  uint64_t used;
  bool activity;
  bool in_sub;   /* a SubAcctDtls is open */
  bool sub_seen; /* some sub-account position was written */
  char sub[CUSTODY_ID_MAX];
};

static pthread_mutex_t w_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wstate w_tab[WRITERS_MAX];
static uint64_t w_clock;

/* The slot of @out, claimed anew when @claim; NULL if none.  Holds w_lock. */
static struct wstate *w_find(FILE *out, bool claim)
{
  struct wstate *lru = &w_tab[0];
  for (size_t i = 0; i < WRITERS_MAX; i++) {
    if (w_tab[i].out == out) {
      w_tab[i].used = ++w_clock;
      return &w_tab[i];
    }
    if (w_tab[i].out == NULL || (lru->out != NULL && w_tab[i].used < lru->used))
      lru = &w_tab[i];
  }
  if (!claim)
    return NULL;
  memset(lru, 0, sizeof *lru);
  lru->out = out;
  lru->used = ++w_clock;
  return lru;
}

/* ------------------------------------------------------------------ */
/* semt.002                                                            */
/* ------------------------------------------------------------------ */

static bool alpha2(const char *s)
{
  return strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

int custody_semt002_write_begin(FILE *out, const struct custody_stmt *st)
{
  if (out == NULL || st == NULL || st->page_no > 99999 ||
      (st->update != CUSTODY_UPDATE_COMPLETE && st->update != CUSTODY_UPDATE_DELTA) ||
      (st->basis != CUSTODY_BASIS_SETT && st->basis != CUSTODY_BASIS_TRAD &&
       st->basis != CUSTODY_BASIS_CONT))
    return -ERR_INVALID_ARGUMENT;
  const char *fields[] = {st->stmt_id, st->account_owner, st->account_servicer,
                          st->safekeeping_account};
  for (size_t i = 0; i < 4; i++)
    if (memchr(fields[i], '\0', CUSTODY_ID_MAX) == NULL ||
        (fields[i][0] != '\0' && !id_ok(fields[i])))
      return -ERR_INVALID_ARGUMENT;
  size_t fl = strnlen(st->frequency, sizeof st->frequency);
  bool freq_cd = custody__freq_code_ok(st->frequency, fl);
  if (!freq_cd && !custody__alnum4_ok(st->frequency, fl))
    return -ERR_INVALID_ARGUMENT;
  int32_t day = st->stmt_has_time ? custody__floor_day(st->stmt_ms) : st->stmt_day;
  if (!day_ok(day))
    return -ERR_INVALID_ARGUMENT;

  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"" SEMT002_NS "\">\n"
        "<SctiesBalCtdyRpt>\n",
        out);
  fprintf(out, "<Pgntn><PgNb>%u</PgNb><LastPgInd>%s</LastPgInd></Pgntn>\n", (unsigned)st->page_no,
          st->last_page ? "true" : "false");
  fputs("<StmtGnlDtls>", out);
  if (st->stmt_id[0] != '\0')
    custody__put_elem(out, "StmtId", st->stmt_id);
  fputs("<StmtDtTm>", out);
  if (st->stmt_has_time) {
    int64_t ms = st->stmt_ms - (int64_t)day * 86400000;
    fputs("<DtTm>", out);
    custody__put_date(out, day);
    fprintf(out, "T%02d:%02d:%02d", (int)(ms / 3600000), (int)(ms / 60000 % 60),
            (int)(ms / 1000 % 60));
    if (ms % 1000 != 0)
      fprintf(out, ".%03d", (int)(ms % 1000));
    fputs("Z</DtTm>", out);
  } else {
    fputs("<Dt>", out);
    custody__put_date(out, day);
    fputs("</Dt>", out);
  }
  fputs("</StmtDtTm><Frqcy>", out);
  if (freq_cd)
    fprintf(out, "<Cd>%s</Cd>", st->frequency);
  else
    fprintf(out, "<Prtry><Id>%s</Id><Issr>" NOT_GIVEN "</Issr></Prtry>", st->frequency);
  static const char *const basis[] = {"", "SETT", "TRAD", "CONT"};
  fprintf(out,
          "</Frqcy><UpdTp><Cd>%s</Cd></UpdTp><StmtBsis><Cd>%s</Cd></StmtBsis>"
          "<ActvtyInd>%s</ActvtyInd><SubAcctInd>%s</SubAcctInd></StmtGnlDtls>\n",
          st->update == CUSTODY_UPDATE_COMPLETE ? "COMP" : "DELT", basis[st->basis],
          st->activity ? "true" : "false", st->sub_accounts ? "true" : "false");
  if (st->account_owner[0] != '\0') {
    fputs("<AcctOwnr><Id>", out);
    custody__put_party(out, st->account_owner, st->account_servicer);
    fputs("</Id></AcctOwnr>\n", out);
  }
  if (st->account_servicer[0] != '\0') {
    fputs("<AcctSvcr><Id>", out);
    custody__put_party(out, st->account_servicer, NULL);
    fputs("</Id></AcctSvcr>\n", out);
  }
  if (st->safekeeping_account[0] != '\0') {
    fputs("<SfkpgAcct>", out);
    custody__put_elem(out, "Id", st->safekeeping_account);
    fputs("</SfkpgAcct>\n", out);
  }
  pthread_mutex_lock(&w_lock);
  struct wstate *w = w_find(out, true);
  memset(w, 0, sizeof *w);
  w->out = out;
  w->used = ++w_clock;
  w->activity = st->activity;
  pthread_mutex_unlock(&w_lock);
  return ferror(out) ? -ERR_IO : 0;
}

static bool qty_ok(const struct custody_qty *q)
{
  char buf[MONEY_STR_MAX];
  return !q->present || qty_text(q, buf) != NULL;
}

static bool position_ok(const struct custody_position *p)
{
  if (!custody__isin_ok(p->isin, strnlen(p->isin, sizeof p->isin)) || !p->aggregate.present ||
      !qty_ok(&p->aggregate) || !qty_ok(&p->available) || !qty_ok(&p->not_available) ||
      p->not_available.shrt || p->n_sub > CUSTODY_SUBBAL_MAX)
    return false;
  const char *fields[] = {p->sub_account, p->description, p->place};
  for (size_t i = 0; i < 3; i++)
    if (memchr(fields[i], '\0', CUSTODY_ID_MAX) == NULL ||
        (fields[i][0] != '\0' && !id_ok(fields[i])))
      return false;
  for (unsigned i = 0; i < p->n_sub; i++) {
    const char *t = p->sub[i].type;
    size_t tl = strnlen(t, sizeof p->sub[i].type);
    if (!p->sub[i].qty.present || !qty_ok(&p->sub[i].qty) || !custody__alnum4_ok(t, tl))
      return false;
  }
  return true;
}

static void put_place(FILE *out, const char *place)
{
  size_t n = strlen(place);
  fputs("<SfkpgPlc>", out);
  if (custody__bic_ok(place, n)) {
    fprintf(out,
            "<SfkpgPlcFrmt><TpAndId><SfkpgPlcTp>CUST</SfkpgPlcTp><Id>%s</Id></TpAndId>"
            "</SfkpgPlcFrmt>",
            place);
  } else if (alpha2(place)) {
    fprintf(out, "<SfkpgPlcFrmt><Ctry>%s</Ctry></SfkpgPlcFrmt>", place);
  } else if (custody__lei_ok(place, n)) {
    fprintf(out, "<LEI>%s</LEI>", place);
  } else {
    fputs("<SfkpgPlcFrmt><Prtry><Tp><Id>SFKP</Id><Issr>" NOT_GIVEN "</Issr></Tp>", out);
    custody__put_elem(out, "Id", place);
    fputs("</Prtry></SfkpgPlcFrmt>", out);
  }
  fputs("</SfkpgPlc>", out);
}

static void put_balance(FILE *out, const struct custody_position *p, const char *elem)
{
  fprintf(out, "<%s><FinInstrmId><ISIN>%s</ISIN>", elem, p->isin);
  if (p->description[0] != '\0')
    custody__put_elem(out, "Desc", p->description);
  fprintf(out, "</FinInstrmId><AggtBal><ShrtLngInd>%s</ShrtLngInd><Qty><Qty><Qty>",
          p->aggregate.shrt ? "SHOR" : "LONG");
  custody__put_qty(out, &p->aggregate);
  fputs("</Qty></Qty></Qty></AggtBal>", out);
  if (p->available.present) {
    fprintf(out, "<AvlblBal><ShrtLngInd>%s</ShrtLngInd><Qty><Qty>",
            p->available.shrt ? "SHOR" : "LONG");
    custody__put_qty(out, &p->available);
    fputs("</Qty></Qty></AvlblBal>", out);
  }
  if (p->not_available.present) {
    fputs("<NotAvlblBal><Qty>", out);
    custody__put_qty(out, &p->not_available);
    fputs("</Qty></NotAvlblBal>", out);
  }
  if (p->place[0] != '\0')
    put_place(out, p->place);
  for (unsigned i = 0; i < p->n_sub; i++) {
    const struct custody_subbal *b = &p->sub[i];
    if (custody__subbal_code_ok(b->type, strlen(b->type)))
      fprintf(out, "<BalBrkdwn><SubBalTp><Cd>%s</Cd></SubBalTp>", b->type);
    else
      fprintf(out,
              "<BalBrkdwn><SubBalTp><Prtry><Id>%s</Id><Issr>" NOT_GIVEN "</Issr></Prtry>"
              "</SubBalTp>",
              b->type);
    fprintf(out, "<Qty><ShrtLngInd>%s</ShrtLngInd><Qty><Qty>", b->qty.shrt ? "SHOR" : "LONG");
    custody__put_qty(out, &b->qty);
    fputs("</Qty></Qty></Qty></BalBrkdwn>", out);
  }
  fprintf(out, "</%s>\n", elem);
}

int custody_semt002_write_position(FILE *out, const struct custody_position *p)
{
  if (out == NULL || p == NULL || !position_ok(p))
    return -ERR_INVALID_ARGUMENT;
  pthread_mutex_lock(&w_lock);
  struct wstate *w = w_find(out, false);
  int rc = 0;
  if (w == NULL || (p->sub_account[0] == '\0' && w->sub_seen)) {
    rc = -ERR_INVALID_ARGUMENT; /* no begin, or a main-account position after sub-accounts */
    goto out;
  }
  if (p->sub_account[0] == '\0') {
    put_balance(out, p, "BalForAcct");
  } else {
    if (!w->in_sub || strcmp(w->sub, p->sub_account) != 0) {
      if (w->in_sub)
        fputs("</SubAcctDtls>\n", out);
      fputs("<SubAcctDtls><SfkpgAcct>", out);
      custody__put_elem(out, "Id", p->sub_account);
      fprintf(out, "</SfkpgAcct><ActvtyInd>%s</ActvtyInd>\n", w->activity ? "true" : "false");
      w->in_sub = w->sub_seen = true;
      memcpy(w->sub, p->sub_account, sizeof w->sub);
    }
    put_balance(out, p, "BalForSubAcct");
  }
  rc = ferror(out) ? -ERR_IO : 0;
out:
  pthread_mutex_unlock(&w_lock);
  return rc;
}

int custody_semt002_write_end(FILE *out)
{
  if (out == NULL)
    return -ERR_INVALID_ARGUMENT;
  pthread_mutex_lock(&w_lock);
  struct wstate *w = w_find(out, false);
  if (w == NULL) {
    pthread_mutex_unlock(&w_lock);
    return -ERR_INVALID_ARGUMENT;
  }
  if (w->in_sub)
    fputs("</SubAcctDtls>\n", out);
  memset(w, 0, sizeof *w);
  pthread_mutex_unlock(&w_lock);
  fputs("</SctiesBalCtdyRpt>\n</Document>\n", out);
  return ferror(out) ? -ERR_IO : 0;
}
