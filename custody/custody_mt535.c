/*
 * custody_mt535.c: the SWIFT MT535 statement of holdings, read and
 * written (docs/custody-mt535.md).
 *
 * The reader takes one FIN message ({1:}{2:}{3:} optional, then
 * {4:\r\n ... \r\n-} and optional {5:}{S:} trailers) or block 4's text
 * alone, and walks block 4 line by line without allocating: sequence A
 * (GENL) fills a struct custody_stmt, then every B1 (FIN) inside a B
 * (SUBSAFE) becomes one struct custody_position handed to the callback
 * as soon as its 16S:FIN is read.  Outside input is hostile: the size,
 * every line and every field are bounded, block 4 must use the SWIFT X
 * character set, a 16R must be closed by its own 16S, and unknown fields
 * are skipped only inside the sequences we know.  Errors name the
 * 1-based input line and the tag.
 *
 * The writer produces the subset the reader round-trips exactly: one
 * page of the main account (one SUBSAFE without 97A), CRLF line ends.
 * It checks everything before writing a byte.
 *
 * Over 400 lines because the reader and its inverse share the field
 * grammar and the file list of custody/meson.build is fixed.
 */
#include <stdarg.h>
#include <string.h>

#include "custody/custody.h"

#define MS_PER_DAY 86400000LL
#define QTY_D_MAX  15 /* SWIFT "15d": digits and the decimal comma */

/* The block 4 reader: where the next line starts, and its number. */
struct rd {
  const char *p, *end;
  uint64_t line;
  bool alone;        /* block 4 text without {4: and -} */
  const char *after; /* full message: first byte after "-}" */
  const struct custody_limits *lim;
  struct custody_error *err;
  uint64_t n_pos;
};

struct line {
  const char *s, *next;
  size_t n;
};

/* One field: ":TAG:value" plus continuation lines. */
struct fld {
  char tag[4];
  const char *v; /* the first line's value */
  size_t n;
  const char *more, *more_end; /* continuation lines, raw */
  unsigned n_more;
  uint64_t line;
  /* The generic form ":QUAL/DSS/rest" once split_qual() ran. */
  char qual[5];
  size_t n_dss;
  const char *rest;
  size_t n_rest;
  char where[24];
};

__attribute__((format(printf, 5, 6))) static int fail(struct rd *r, int code, uint64_t line,
                                                      const char *where, const char *fmt, ...)
{
  struct custody_error *e = r->err;
  e->code = code;
  e->line = line;
  snprintf(e->where, sizeof e->where, "%s", where);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return code;
}

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static bool is_upper(char c)
{
  return c >= 'A' && c <= 'Z';
}

static bool is_alnum_up(char c)
{
  return is_upper(c) || is_digit(c);
}

/* The SWIFT X character set (without CR and LF). */
static bool is_x(unsigned char c)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  return c != 0 && strchr("/-?:().,'+ ", c) != NULL;
}

static bool eq(const char *s, size_t n, const char *lit)
{
  return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static bool all(const char *s, size_t n, bool (*ok)(char))
{
  for (size_t i = 0; i < n; i++)
    if (!ok(s[i]))
      return false;
  return true;
}

/* [A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})? */
static bool is_bic(const char *s, size_t n)
{
  return (n == 8 || n == 11) && all(s, 6, is_upper) && all(s + 6, n - 6, is_alnum_up);
}

/* [A-Z0-9]{18}[0-9]{2} */
static bool is_lei(const char *s, size_t n)
{
  return n == 20 && all(s, 18, is_alnum_up) && all(s + 18, 2, is_digit);
}

/* [A-Z]{2}[A-Z0-9]{9}[0-9] */
static bool is_isin(const char *s, size_t n)
{
  return n == CUSTODY_ISIN_LEN && all(s, 2, is_upper) && all(s + 2, 9, is_alnum_up) &&
         is_digit(s[11]);
}

/* ------------------------------------------------------------------ */
/* Lines and fields                                                    */
/* ------------------------------------------------------------------ */

/* Whether [p, end) holds only line breaks. */
static bool only_breaks(const char *p, const char *end)
{
  for (; p < end; p++)
    if (*p != '\r' && *p != '\n')
      return false;
  return true;
}

/*
 * Read the line at @at (number @no) into @l.  Returns 1, 0 at the end of
 * block 4 (the "-}" or final "-" line, or the end of block 4 text), or an
 * error.
 */
static int read_line(struct rd *r, const char *at, uint64_t no, struct line *l)
{
  if (at >= r->end) {
    if (r->alone)
      return 0;
    return fail(r, -ERR_CUSTODY_MT535, no, "block 4", "message ends before block 4's \"-}\"");
  }
  const char *nl = memchr(at, '\n', (size_t)(r->end - at));
  const char *e = nl ? nl : r->end;
  l->next = nl ? nl + 1 : r->end;
  if (e > at && e[-1] == '\r')
    e--;
  if (at[0] == '-') {
    if (!r->alone && at + 1 < r->end && at[1] == '}') {
      r->after = at + 2;
      return 0;
    }
    if (r->alone && e == at + 1 && only_breaks(l->next, r->end))
      return 0;
    return fail(r, -ERR_CUSTODY_MT535, no, "block 4", "a line may not start with '-'");
  }
  l->s = at;
  l->n = (size_t)(e - at);
  if (l->n > r->lim->max_text)
    return fail(r, -ERR_CUSTODY_TEXT_LONG, no, "block 4", "line of %zu bytes (limit %zu)", l->n,
                r->lim->max_text);
  if (l->n == 0) {
    /* Block 4 text alone may end with blank lines. */
    if (r->alone && only_breaks(at, r->end))
      return 0;
    return fail(r, -ERR_CUSTODY_MT535, no, "block 4", "empty line");
  }
  for (size_t i = 0; i < l->n; i++)
    if (!is_x((unsigned char)at[i]))
      return fail(r, -ERR_CUSTODY_MT535, no, "block 4",
                  "byte 0x%02x at column %zu is outside the SWIFT X character set",
                  (unsigned char)at[i], i + 1);
  return 1;
}

/* The next field of block 4: 1, 0 at its end, or an error. */
static int next_field(struct rd *r, struct fld *f)
{
  struct line l;
  int rc = read_line(r, r->p, r->line, &l);
  if (rc <= 0)
    return rc;
  size_t k = 3;
  if (l.n >= 4 && is_upper(l.s[3]))
    k = 4;
  if (l.n < k + 1 || l.s[0] != ':' || !is_digit(l.s[1]) || !is_digit(l.s[2]) || l.s[k] != ':')
    return fail(r, -ERR_CUSTODY_MT535, r->line, "block 4", "expected a field \":NNa:\"");
  memset(f, 0, sizeof *f);
  memcpy(f->tag, l.s + 1, k - 1);
  memcpy(f->where, f->tag, k - 1);
  f->v = l.s + k + 1;
  f->n = l.n - k - 1;
  f->line = r->line;
  r->p = l.next;
  r->line++;
  f->more = r->p;
  size_t total = f->n;
  while (r->p < r->end && *r->p != ':' && *r->p != '-') {
    rc = read_line(r, r->p, r->line, &l);
    if (rc < 0)
      return rc;
    if (rc == 0)
      break; /* blank lines at the end of block 4 text alone */
    total += l.n;
    if (total > r->lim->max_text)
      return fail(r, -ERR_CUSTODY_TEXT_LONG, r->line, f->where, "field longer than %zu bytes",
                  r->lim->max_text);
    f->n_more++;
    r->p = l.next;
    r->line++;
  }
  f->more_end = r->p;
  return 1;
}

static bool is_tag(const struct fld *f, const char *tag)
{
  return strcmp(f->tag, tag) == 0;
}

static int one_line(struct rd *r, const struct fld *f)
{
  if (f->n_more == 0)
    return 0;
  return fail(r, -ERR_CUSTODY_MT535, f->line + 1, f->where, "%s takes one line", f->where);
}

/* Split ":QUAL/DSS/rest" (generic fields); sets where to "TAG::QUAL". */
static int split_qual(struct rd *r, struct fld *f)
{
  int rc = one_line(r, f);
  if (rc)
    return rc;
  const char *v = f->v;
  if (f->n < 7 || v[0] != ':' || !all(v + 1, 4, is_alnum_up) || v[5] != '/')
    return fail(r, -ERR_CUSTODY_MT535, f->line, f->where, "%s is not \":QUAL//...\"", f->tag);
  const char *slash = memchr(v + 6, '/', f->n - 6);
  if (slash == NULL)
    return fail(r, -ERR_CUSTODY_MT535, f->line, f->where, "%s is not \":QUAL//...\"", f->tag);
  memcpy(f->qual, v + 1, 4);
  f->n_dss = (size_t)(slash - (v + 6));
  f->rest = slash + 1;
  f->n_rest = f->n - (size_t)(f->rest - v);
  snprintf(f->where, sizeof f->where, "%s::%s", f->tag, f->qual);
  return 0;
}

/*
 * Split @f when its tag is one of @tags, the generic fields a sequence
 * reads: those must have the form, others are skipped unread.
 */
static int split_known(struct rd *r, struct fld *f, const char *const *tags)
{
  for (; *tags; tags++)
    if (strcmp(f->tag, *tags) == 0)
      return split_qual(r, f);
  return 0;
}

/* Whether a split field has qualifier @qual. */
static bool is_q(const struct fld *f, const char *qual)
{
  return strcmp(f->qual, qual) == 0;
}

/* The 16R/16S value, which names a sequence. */
static int seq_name(struct rd *r, struct fld *f)
{
  int rc = one_line(r, f);
  if (rc)
    return rc;
  if (f->n == 0 || f->n > 16 || !all(f->v, f->n, is_alnum_up))
    return fail(r, -ERR_CUSTODY_MT535, f->line, f->tag, "bad sequence name");
  snprintf(f->where, sizeof f->where, "%s:%.*s", f->tag, (int)f->n, f->v);
  return 0;
}

static bool is_seq(const struct fld *f, const char *tag, const char *name)
{
  return is_tag(f, tag) && eq(f->v, f->n, name);
}

static int unclosed(struct rd *r, const char *name, uint64_t open_line)
{
  char where[24];
  snprintf(where, sizeof where, "16R:%s", name);
  return fail(r, -ERR_CUSTODY_MT535, open_line, where, "16R:%s is never closed by 16S:%s", name,
              name);
}

/* Checks common to every field read inside sequence @name. */
static int in_seq(struct rd *r, struct fld *f, int rc, const char *name, uint64_t open_line)
{
  if (rc < 0)
    return rc;
  if (rc == 0)
    return unclosed(r, name, open_line);
  if (is_tag(f, "16R") || is_tag(f, "16S")) {
    rc = seq_name(r, f);
    if (rc)
      return rc;
    if (is_tag(f, "16S") && !eq(f->v, f->n, name))
      return fail(r, -ERR_CUSTODY_MT535, f->line, f->where, "%s inside 16R:%s (line %llu)",
                  f->where, name, (unsigned long long)open_line);
  }
  return 1;
}

static int unexpected(struct rd *r, const struct fld *f, const char *name)
{
  return fail(r, -ERR_CUSTODY_MT535, f->line, f->where, "unexpected %s inside %s", f->where, name);
}

/* Skip an optional subsequence we do not read (LINK, FIA, BREAK, ADDINFO). */
static int skip_seq(struct rd *r, const char *name, uint64_t open_line)
{
  struct fld f;
  for (;;) {
    int rc = in_seq(r, &f, next_field(r, &f), name, open_line);
    if (rc < 0)
      return rc;
    if (is_tag(&f, "16S"))
      return 0;
    if (is_tag(&f, "16R"))
      return unexpected(r, &f, name);
  }
}

static int once(struct rd *r, unsigned *seen, unsigned bit, const struct fld *f)
{
  if (*seen & bit)
    return fail(r, -ERR_CUSTODY_MT535, f->line, f->where, "%s repeated", f->where);
  *seen |= bit;
  return 0;
}

/* Copy a text value into a CUSTODY_ID_MAX field. */
static int text(struct rd *r, const struct fld *f, const char *s, size_t n, char *dst, size_t cap)
{
  if (n == 0)
    return fail(r, -ERR_CUSTODY_VALUE, f->line, f->where, "%s is empty", f->where);
  if (n >= cap)
    return fail(r, -ERR_CUSTODY_TEXT_LONG, f->line, f->where, "%s longer than %zu characters",
                f->where, cap - 1);
  memcpy(dst, s, n);
  dst[n] = '\0';
  return 0;
}

static int no_dss(struct rd *r, const struct fld *f)
{
  if (f->n_dss == 0)
    return 0;
  return fail(r, -ERR_CUSTODY_VALUE, f->line, f->where, "%s: proprietary code not supported",
              f->where);
}

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

static unsigned num(const char *s, size_t n)
{
  unsigned v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (unsigned)(s[i] - '0');
  return v;
}

static int64_t floor_div(int64_t a, int64_t b)
{
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/*
 * 98A (YYYYMMDD), 98C (YYYYMMDDHHMMSS) and 98E (YYYYMMDDHHMMSS[,n]
 * [/[N]HH[MM]]): a time without a UTC offset is taken as UTC.
 */
static int parse_when(struct rd *r, const struct fld *f, struct custody_stmt *s)
{
  const char *v = f->rest;
  size_t n = f->n_rest;
  char o = f->tag[2];
  int32_t day;
  if (n < 8 || !all(v, 8, is_digit) ||
      cal_day((int)num(v, 4), num(v + 4, 2), num(v + 6, 2), &day) != 0)
    goto bad;
  int64_t ms = day * MS_PER_DAY;
  if (o == 'A') {
    if (n != 8)
      goto bad;
    s->stmt_day = day;
    s->stmt_ms = ms;
    s->stmt_has_time = false;
    return 0;
  }
  if (n < 14 || !all(v + 8, 6, is_digit) || num(v + 8, 2) > 23 || num(v + 10, 2) > 59 ||
      num(v + 12, 2) > 59)
    goto bad;
  ms += (int64_t)(num(v + 8, 2) * 3600 + num(v + 10, 2) * 60 + num(v + 12, 2)) * 1000;
  size_t i = 14;
  if (o == 'C' && n != 14)
    goto bad;
  if (i < n && v[i] == ',') {
    size_t d = 0;
    unsigned frac = 0;
    for (i++; i < n && is_digit(v[i]) && d < 3; i++, d++)
      frac = frac * 10 + (unsigned)(v[i] - '0');
    if (d == 0)
      goto bad;
    for (; d < 3; d++)
      frac *= 10;
    ms += frac;
  }
  if (i < n && v[i] == '/') {
    bool neg = ++i < n && v[i] == 'N';
    if (neg)
      i++;
    size_t d = n - i;
    if ((d != 2 && d != 4) || !all(v + i, d, is_digit) || num(v + i, 2) > 23 ||
        (d == 4 && num(v + i + 2, 2) > 59))
      goto bad;
    int64_t off = (int64_t)num(v + i, 2) * 3600000 + (d == 4 ? num(v + i + 2, 2) * 60000 : 0);
    ms -= neg ? -off : off;
    i = n;
  }
  if (i != n)
    goto bad;
  int y;
  unsigned mo, d;
  cal_civil((int32_t)floor_div(ms, MS_PER_DAY), &y, &mo, &d);
  if (y < CAL_YEAR_MIN || y > CAL_YEAR_MAX)
    goto bad;
  s->stmt_ms = ms;
  s->stmt_day = (int32_t)floor_div(ms, MS_PER_DAY);
  s->stmt_has_time = true;
  return 0;
bad:
  return fail(r, -ERR_CUSTODY_VALUE, f->line, f->where, "bad date or time \"%.*s\"",
              (int)(n < 40 ? n : 40), v);
}

/*
 * A quantity "TYPE/[N]d" (93B) or "TYPE/STATUS/[N]d" (93C): TYPE UNIT,
 * FAMT or AMOR; d has a decimal comma and at most 15 characters.
 */
static int parse_qty(struct rd *r, const struct fld *f, bool status, struct custody_qty *q)
{
  const char *v = f->rest;
  size_t n = f->n_rest;
  int rc = no_dss(r, f);
  if (rc)
    return rc;
  if (n < 6 || v[4] != '/')
    goto bad;
  if (memcmp(v, "UNIT", 4) == 0)
    q->kind = CUSTODY_QTY_UNIT;
  else if (memcmp(v, "FAMT", 4) == 0)
    q->kind = CUSTODY_QTY_FACE_AMT;
  else if (memcmp(v, "AMOR", 4) == 0)
    q->kind = CUSTODY_QTY_AMTSD_VAL;
  else
    return fail(r, -ERR_CUSTODY_VALUE, f->line, f->where, "unknown quantity type \"%.4s\"", v);
  v += 5;
  n -= 5;
  if (status) {
    if (n < 6 || v[4] != '/' || (memcmp(v, "AVAI", 4) != 0 && memcmp(v, "NAVL", 4) != 0))
      goto bad;
    v += 5;
    n -= 5;
  }
  q->shrt = n > 0 && v[0] == 'N';
  if (q->shrt) {
    v++;
    n--;
  }
  const char *comma = memchr(v, ',', n);
  if (n == 0 || n > QTY_D_MAX || comma == NULL || comma == v)
    goto bad;
  size_t ni = (size_t)(comma - v), nf = n - ni - 1;
  if (!all(v, ni, is_digit) || !all(comma + 1, nf, is_digit))
    goto bad;
  __int128 iv = 0, fv = 0;
  for (size_t i = 0; i < ni; i++)
    iv = iv * 10 + (v[i] - '0');
  for (size_t i = 0; i < CUSTODY_QTY_SCALE; i++)
    fv = fv * 10 + (i < nf ? comma[1 + i] - '0' : 0);
  if (money_make(iv * (__int128)util_pow10[CUSTODY_QTY_SCALE] + fv, CUSTODY_QTY_SCALE, &q->qty))
    goto bad;
  if (q->shrt && q->qty.v == 0)
    return fail(r, -ERR_CUSTODY_VALUE, f->line, f->where, "N before a zero quantity");
  q->present = true;
  return 0;
bad:
  return fail(r, -ERR_CUSTODY_VALUE, f->line, f->where, "bad quantity \"%.*s\"",
              (int)(f->n_rest < 40 ? f->n_rest : 40), f->rest);
}

/* ------------------------------------------------------------------ */
/* Sequences                                                           */
/* ------------------------------------------------------------------ */

enum {
  G_PAGE = 1u << 0,
  G_SEME = 1u << 1,
  G_FUNC = 1u << 2,
  G_STAT = 1u << 3,
  G_SAFE = 1u << 4,
  G_SFRE = 1u << 5,
  G_CODE = 1u << 6,
  G_STTY = 1u << 7,
  G_STBA = 1u << 8,
  G_ACTI = 1u << 9,
  G_CONS = 1u << 10,
  G_ACOW = 1u << 11,
};

static int parse_page(struct rd *r, struct fld *f, struct custody_stmt *s)
{
  int rc = one_line(r, f);
  if (rc)
    return rc;
  const char *slash = memchr(f->v, '/', f->n);
  size_t nd = slash ? (size_t)(slash - f->v) : 0;
  if (slash == NULL || nd == 0 || nd > 5 || !all(f->v, nd, is_digit) || f->n - nd - 1 != 4)
    goto bad;
  s->page_no = num(f->v, nd);
  if (s->page_no == 0)
    goto bad;
  if (memcmp(slash + 1, "ONLY", 4) == 0 && s->page_no == 1)
    s->last_page = true;
  else if (memcmp(slash + 1, "LAST", 4) == 0)
    s->last_page = true;
  else if (memcmp(slash + 1, "MORE", 4) == 0)
    s->last_page = false;
  else
    goto bad;
  return 0;
bad:
  return fail(r, -ERR_CUSTODY_VALUE, f->line, "28E", "bad page \"%.*s\"",
              (int)(f->n < 40 ? f->n : 40), f->v);
}

/* 22F: a code of four characters, chosen from @codes when given. */
static int code4(struct rd *r, const struct fld *f, const char *const *codes, int *idx)
{
  if (f->n_rest != 4 || !all(f->rest, 4, is_alnum_up))
    return fail(r, -ERR_CUSTODY_VALUE, f->line, f->where, "bad code");
  if (codes == NULL)
    return 0;
  int rc = no_dss(r, f);
  if (rc)
    return rc;
  for (int i = 0; codes[i]; i++)
    if (memcmp(f->rest, codes[i], 4) == 0) {
      *idx = i;
      return 0;
    }
  return fail(r, -ERR_CUSTODY_VALUE, f->line, f->where, "unsupported code \"%.4s\"", f->rest);
}

static int parse_flag(struct rd *r, const struct fld *f, bool *out)
{
  int rc = no_dss(r, f);
  if (rc)
    return rc;
  if (f->n_rest != 1 || (f->rest[0] != 'Y' && f->rest[0] != 'N'))
    return fail(r, -ERR_CUSTODY_VALUE, f->line, f->where, "flag must be Y or N");
  *out = f->rest[0] == 'Y';
  return 0;
}

/* 97A::SAFE//id or 97B::SAFE/[dss]/TYPE/id. */
static int parse_account(struct rd *r, struct fld *f, char *dst)
{
  const char *v = f->rest;
  size_t n = f->n_rest;
  if (f->tag[2] == 'A') {
    int rc = no_dss(r, f);
    if (rc)
      return rc;
  } else {
    if (n < 6 || !all(v, 4, is_alnum_up) || v[4] != '/')
      return fail(r, -ERR_CUSTODY_VALUE, f->line, f->where, "bad account");
    v += 5;
    n -= 5;
  }
  return text(r, f, v, n, dst, CUSTODY_ID_MAX);
}

/* 95P::ACOW//BIC, 95L::ACOW//LEI, 95R::ACOW/DSS/id. */
static int parse_owner(struct rd *r, struct fld *f, char *dst)
{
  char o = f->tag[2];
  if (o == 'R') {
    if (f->n_dss == 0 || f->n_rest > 34)
      return fail(r, -ERR_CUSTODY_VALUE, f->line, f->where, "bad proprietary account owner");
  } else {
    int rc = no_dss(r, f);
    if (rc)
      return rc;
    if (o == 'P' ? !is_bic(f->rest, f->n_rest) : !is_lei(f->rest, f->n_rest))
      return fail(r, -ERR_CUSTODY_VALUE, f->line, f->where, "bad %s", o == 'P' ? "BIC" : "LEI");
  }
  return text(r, f, f->rest, f->n_rest, dst, CUSTODY_ID_MAX);
}

static int genl_field(struct rd *r, struct fld *f, struct custody_stmt *s, unsigned *seen)
{
  static const char *const update[] = {"COMP", "DELT", NULL};
  static const char *const stty[] = {"CUST", "ACCT", NULL};
  static const char *const basis[] = {"SETT", "TRAD", "CONT", NULL};
  static const char *const known[] = {"20C", "98A", "98C", "98E", "22F", "95P",
                                      "95R", "95L", "97A", "97B", "17B", NULL};
  int k = 0, rc = split_known(r, f, known);
  if (rc)
    return rc;
  if (is_tag(f, "28E")) {
    if ((rc = once(r, seen, G_PAGE, f)) == 0)
      rc = parse_page(r, f, s);
  } else if (is_tag(f, "23G")) {
    if ((rc = once(r, seen, G_FUNC, f)) == 0 && (rc = one_line(r, f)) == 0 &&
        !(eq(f->v, f->n, "NEWM") ||
          (f->n == 9 && memcmp(f->v, "NEWM/", 5) == 0 && all(f->v + 5, 4, is_alnum_up))))
      rc = fail(r, -ERR_CUSTODY_VALUE, f->line, "23G", "only NEWM statements are read");
  } else if (is_tag(f, "20C") && is_q(f, "SEME")) {
    if ((rc = once(r, seen, G_SEME, f)) == 0 && (rc = no_dss(r, f)) == 0)
      rc = text(r, f, f->rest, f->n_rest, s->stmt_id, sizeof s->stmt_id);
  } else if ((is_tag(f, "98A") || is_tag(f, "98C") || is_tag(f, "98E")) && is_q(f, "STAT")) {
    if ((rc = once(r, seen, G_STAT, f)) == 0 && (rc = no_dss(r, f)) == 0)
      rc = parse_when(r, f, s);
  } else if (is_tag(f, "22F") && is_q(f, "SFRE")) {
    if ((rc = once(r, seen, G_SFRE, f)) == 0 && (rc = code4(r, f, NULL, &k)) == 0)
      memcpy(s->frequency, f->rest, 5 - 1);
  } else if (is_tag(f, "22F") && is_q(f, "CODE")) {
    if ((rc = once(r, seen, G_CODE, f)) == 0 && (rc = code4(r, f, update, &k)) == 0)
      s->update = k == 0 ? CUSTODY_UPDATE_COMPLETE : CUSTODY_UPDATE_DELTA;
  } else if (is_tag(f, "22F") && is_q(f, "STTY")) {
    if ((rc = once(r, seen, G_STTY, f)) == 0)
      rc = code4(r, f, stty, &k);
  } else if (is_tag(f, "22F") && is_q(f, "STBA")) {
    if ((rc = once(r, seen, G_STBA, f)) == 0 && (rc = code4(r, f, basis, &k)) == 0)
      s->basis = (enum custody_basis)(CUSTODY_BASIS_SETT + k);
  } else if ((is_tag(f, "97A") || is_tag(f, "97B")) && is_q(f, "SAFE")) {
    if ((rc = once(r, seen, G_SAFE, f)) == 0)
      rc = parse_account(r, f, s->safekeeping_account);
  } else if ((is_tag(f, "95P") || is_tag(f, "95R") || is_tag(f, "95L")) && is_q(f, "ACOW")) {
    if ((rc = once(r, seen, G_ACOW, f)) == 0)
      rc = parse_owner(r, f, s->account_owner);
  } else if (is_tag(f, "17B") && is_q(f, "ACTI")) {
    if ((rc = once(r, seen, G_ACTI, f)) == 0)
      rc = parse_flag(r, f, &s->activity);
  } else if (is_tag(f, "17B") && is_q(f, "CONS")) {
    if ((rc = once(r, seen, G_CONS, f)) == 0)
      rc = parse_flag(r, f, &s->sub_accounts);
  }
  /* Anything else (13A, 98A::PREP, ...) is an optional field: skipped. */
  return rc;
}

/* Sequence A, after its 16R:GENL. */
static int parse_genl(struct rd *r, struct custody_stmt *s, uint64_t open_line)
{
  static const struct {
    unsigned bit;
    const char *where;
  } need[] = {{G_PAGE, "28E"},
              {G_SEME, "20C::SEME"},
              {G_FUNC, "23G"},
              {G_STAT, "98A::STAT"},
              {G_SAFE, "97A::SAFE"}};
  unsigned seen = 0;
  struct fld f;
  for (;;) {
    int rc = in_seq(r, &f, next_field(r, &f), "GENL", open_line);
    if (rc < 0)
      return rc;
    if (is_tag(&f, "16S"))
      break;
    if (is_seq(&f, "16R", "LINK"))
      rc = skip_seq(r, "LINK", f.line);
    else if (is_tag(&f, "16R"))
      rc = unexpected(r, &f, "GENL");
    else
      rc = genl_field(r, &f, s, &seen);
    if (rc)
      return rc;
  }
  for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
    if (!(seen & need[i].bit))
      return fail(r, -ERR_CUSTODY_MISSING, f.line, need[i].where, "sequence A lacks %s",
                  need[i].where);
  return 0;
}

/* 35B: "ISIN <12>" then up to four description lines, joined by spaces. */
static int parse_instrument(struct rd *r, const struct fld *f, struct custody_position *p)
{
  if (f->n < 5 || memcmp(f->v, "ISIN ", 5) != 0)
    return fail(r, -ERR_CUSTODY_MISSING, f->line, "35B", "35B has no ISIN");
  if (!is_isin(f->v + 5, f->n - 5))
    return fail(r, -ERR_CUSTODY_VALUE, f->line, "35B", "bad ISIN \"%.*s\"",
                (int)(f->n - 5 < 20 ? f->n - 5 : 20), f->v + 5);
  if (f->n_more > 4)
    return fail(r, -ERR_CUSTODY_MT535, f->line + 5, "35B", "more than 4 description lines");
  memcpy(p->isin, f->v + 5, CUSTODY_ISIN_LEN);
  p->isin[CUSTODY_ISIN_LEN] = '\0';
  size_t o = 0, cap = sizeof p->description - 1;
  for (const char *s = f->more; s < f->more_end;) {
    const char *nl = memchr(s, '\n', (size_t)(f->more_end - s));
    const char *e = nl ? nl : f->more_end;
    const char *next = nl ? nl + 1 : f->more_end;
    if (e > s && e[-1] == '\r')
      e--;
    if (o > 0 && o < cap)
      p->description[o++] = ' ';
    size_t n = (size_t)(e - s);
    if (n > cap - o)
      n = cap - o;
    memcpy(p->description + o, s, n);
    o += n;
    s = next;
  }
  p->description[o] = '\0';
  return 0;
}

/* 94F::SAFE//PLACE/BIC: the place is the BIC. */
static int parse_place(struct rd *r, const struct fld *f, char *dst)
{
  int rc = no_dss(r, f);
  if (rc)
    return rc;
  if (f->n_rest < 13 || f->rest[4] != '/' || !all(f->rest, 4, is_alnum_up) ||
      !is_bic(f->rest + 5, f->n_rest - 5))
    return fail(r, -ERR_CUSTODY_VALUE, f->line, f->where, "bad place of safekeeping");
  return text(r, f, f->rest + 5, f->n_rest - 5, dst, CUSTODY_ID_MAX);
}

/* B1b, after its 16R:SUBBAL: one 93C (or 93B) becomes one sub-balance. */
static int parse_subbal(struct rd *r, struct custody_position *p, uint64_t open_line)
{
  struct custody_subbal sb;
  bool have = false;
  struct fld f;
  memset(&sb, 0, sizeof sb);
  for (;;) {
    int rc = in_seq(r, &f, next_field(r, &f), "SUBBAL", open_line);
    if (rc < 0)
      return rc;
    if (is_tag(&f, "16S"))
      break;
    rc = 0;
    if (is_seq(&f, "16R", "BREAK")) {
      rc = skip_seq(r, "BREAK", f.line);
    } else if (is_tag(&f, "16R")) {
      rc = unexpected(r, &f, "SUBBAL");
    } else if (is_tag(&f, "93C") || is_tag(&f, "93B")) {
      if ((rc = split_qual(r, &f)) != 0)
        return rc;
      if (have)
        return fail(r, -ERR_CUSTODY_MT535, f.line, f.where, "second quantity in SUBBAL");
      if (p->n_sub >= CUSTODY_SUBBAL_MAX)
        return fail(r, -ERR_CUSTODY_VALUE, f.line, f.where, "more than %d sub-balances",
                    CUSTODY_SUBBAL_MAX);
      memcpy(sb.type, f.qual, 5);
      rc = parse_qty(r, &f, f.tag[2] == 'C', &sb.qty);
      have = true;
    }
    if (rc)
      return rc;
  }
  if (!have)
    return fail(r, -ERR_CUSTODY_MISSING, f.line, "93C", "SUBBAL without a quantity");
  p->sub[p->n_sub++] = sb;
  return 0;
}

enum { F_ISIN = 1, F_AGGR = 2, F_AVAI = 4, F_NAVL = 8, F_SAFE = 16 };

/* B1, after its 16R:FIN. */
static int parse_fin(struct rd *r, struct custody_position *p, uint64_t open_line)
{
  static const char *const known[] = {"93B", "94F", NULL};
  unsigned seen = 0;
  struct fld f;
  for (;;) {
    int rc = in_seq(r, &f, next_field(r, &f), "FIN", open_line);
    if (rc < 0)
      return rc;
    if (is_tag(&f, "16S"))
      break;
    if ((rc = split_known(r, &f, known)) != 0)
      return rc;
    if (is_seq(&f, "16R", "FIA")) {
      rc = skip_seq(r, "FIA", f.line);
    } else if (is_seq(&f, "16R", "SUBBAL")) {
      rc = parse_subbal(r, p, f.line);
    } else if (is_tag(&f, "16R")) {
      rc = unexpected(r, &f, "FIN");
    } else if (is_tag(&f, "35B")) {
      if ((rc = once(r, &seen, F_ISIN, &f)) == 0)
        rc = parse_instrument(r, &f, p);
    } else if (is_tag(&f, "93B") && is_q(&f, "AGGR")) {
      if ((rc = once(r, &seen, F_AGGR, &f)) == 0)
        rc = parse_qty(r, &f, false, &p->aggregate);
    } else if (is_tag(&f, "93B") && is_q(&f, "AVAI")) {
      if ((rc = once(r, &seen, F_AVAI, &f)) == 0)
        rc = parse_qty(r, &f, false, &p->available);
    } else if (is_tag(&f, "93B") && is_q(&f, "NAVL")) {
      if ((rc = once(r, &seen, F_NAVL, &f)) == 0)
        rc = parse_qty(r, &f, false, &p->not_available);
    } else if (is_tag(&f, "94F") && is_q(&f, "SAFE")) {
      if ((rc = once(r, &seen, F_SAFE, &f)) == 0)
        rc = parse_place(r, &f, p->place);
    }
    if (rc < 0)
      return rc;
  }
  if (!(seen & F_ISIN))
    return fail(r, -ERR_CUSTODY_MISSING, f.line, "35B", "FIN block (line %llu) without 35B",
                (unsigned long long)open_line);
  if (!(seen & F_AGGR))
    return fail(r, -ERR_CUSTODY_MISSING, f.line, "93B::AGGR",
                "FIN block (line %llu) without 93B::AGGR", (unsigned long long)open_line);
  return 0;
}

struct sink {
  const struct custody_stmt *st;
  custody_position_fn fn;
  void *cls;
};

/* Sequence B, after its 16R:SUBSAFE. */
static int parse_subsafe(struct rd *r, const struct sink *k, uint64_t open_line)
{
  static const char *const known[] = {"97A", "97B", NULL};
  char sub[CUSTODY_ID_MAX] = "";
  bool any_fin = false;
  unsigned seen = 0;
  struct fld f;
  struct custody_position pos;
  for (;;) {
    int rc = in_seq(r, &f, next_field(r, &f), "SUBSAFE", open_line);
    if (rc < 0)
      return rc;
    if (is_tag(&f, "16S"))
      return 0;
    if ((rc = split_known(r, &f, known)) != 0)
      return rc;
    if (is_seq(&f, "16R", "FIN")) {
      if (++r->n_pos > r->lim->max_positions)
        return fail(r, -ERR_CUSTODY_TOO_LARGE, f.line, "16R:FIN", "more than %llu positions",
                    (unsigned long long)r->lim->max_positions);
      memset(&pos, 0, sizeof pos);
      memcpy(pos.sub_account, sub, sizeof sub);
      any_fin = true;
      rc = parse_fin(r, &pos, f.line);
      if (rc == 0 && k->fn)
        rc = k->fn(k->cls, k->st, &pos);
      if (rc)
        return rc;
    } else if (is_tag(&f, "16R")) {
      rc = unexpected(r, &f, "SUBSAFE");
    } else if ((is_tag(&f, "97A") || is_tag(&f, "97B")) && is_q(&f, "SAFE")) {
      if (any_fin)
        return fail(r, -ERR_CUSTODY_MT535, f.line, f.where, "%s after the first FIN", f.where);
      if ((rc = once(r, &seen, 1, &f)) == 0)
        rc = parse_account(r, &f, sub);
    }
    if (rc < 0)
      return rc;
  }
}

static int parse_block4(struct rd *r, const char *servicer, struct custody_stmt *out,
                        custody_position_fn fn, void *cls)
{
  struct custody_stmt s;
  struct fld f;
  int rc;
  memset(&s, 0, sizeof s);
  s.kind = CUSTODY_KIND_MT535;
  s.update = CUSTODY_UPDATE_COMPLETE;
  s.basis = CUSTODY_BASIS_SETT;
  s.activity = true;
  if ((rc = next_field(r, &f)) < 0)
    return rc;
  if (rc == 0 || !is_tag(&f, "16R") || !eq(f.v, f.n, "GENL"))
    return fail(r, -ERR_CUSTODY_MT535, rc == 0 ? r->line : f.line, "16R:GENL",
                "block 4 must start with 16R:GENL");
  if ((rc = seq_name(r, &f)) != 0 || (rc = parse_genl(r, &s, f.line)) != 0)
    return rc;
  memcpy(s.account_servicer, servicer, sizeof s.account_servicer);
  *out = s;
  struct sink k = {out, fn, cls};
  bool addinfo = false;
  for (;;) {
    if ((rc = next_field(r, &f)) <= 0)
      return rc;
    if ((is_tag(&f, "16R") || is_tag(&f, "16S")) && (rc = seq_name(r, &f)) != 0)
      return rc;
    if (is_seq(&f, "16R", "SUBSAFE") && !addinfo)
      rc = parse_subsafe(r, &k, f.line);
    else if (is_seq(&f, "16R", "ADDINFO") && !addinfo) {
      rc = skip_seq(r, "ADDINFO", f.line);
      addinfo = true;
    } else
      rc =
          fail(r, -ERR_CUSTODY_MT535, f.line, f.where, "unexpected %s outside a sequence", f.where);
    if (rc)
      return rc;
  }
}

/* ------------------------------------------------------------------ */
/* Blocks 1, 2, 3 and the trailers                                     */
/* ------------------------------------------------------------------ */

static bool lt_address(const char *s)
{
  return is_bic(s, 8) && all(s + 8, 4, is_alnum_up);
}

/* The BIC of a 12-character logical terminal address: BIC8 + branch. */
static void lt_bic(const char *lt, char *bic)
{
  memcpy(bic, lt, 8);
  memcpy(bic + 8, lt + 9, 3);
  bic[11] = '\0';
}

/* "{X:" then "{tag:value}"... then "}" (blocks 3, 5 and S). */
static int skip_tagged_block(struct rd *r, const char **pp)
{
  const char *p = *pp + 3;
  char where[4] = {'{', (*pp)[1], ':', '\0'};
  for (;;) {
    if (p >= r->end)
      break;
    if (*p == '}') {
      *pp = p + 1;
      return 0;
    }
    if (*p != '{')
      break;
    const char *s = ++p;
    while (p < r->end && is_alnum_up(*p) && p - s < 3)
      p++;
    if (p == s || p >= r->end || *p != ':')
      break;
    for (s = ++p; p < r->end && *p != '}' && *p >= 0x20 && *p < 0x7f && *p != '{'; p++)
      if ((size_t)(p - s) >= r->lim->max_text)
        return fail(r, -ERR_CUSTODY_TEXT_LONG, r->line, where, "header field too long");
    if (p >= r->end || *p != '}')
      break;
    p++;
  }
  return fail(r, -ERR_CUSTODY_MT535, r->line, where, "malformed block %c", (*pp)[1]);
}

/* Blocks 1, 2, 3 and "{4:" plus its line break; sets the servicer BIC. */
static int parse_head(struct rd *r, const char **pp, char *servicer)
{
  const char *p = *pp, *e = r->end;
  char b1[12] = "";
  bool have_b2 = false;
  if (e - p >= 3 && memcmp(p, "{1:", 3) == 0) {
    if (e - p < 29 || memcmp(p + 3, "F01", 3) != 0 || !lt_address(p + 6) ||
        !all(p + 18, 10, is_digit) || p[28] != '}')
      return fail(r, -ERR_CUSTODY_MT535, r->line, "{1:", "malformed basic header block");
    lt_bic(p + 6, b1);
    p += 29;
  }
  if (e - p >= 7 && memcmp(p, "{2:", 3) == 0) {
    const char *close = memchr(p, '}', (size_t)(e - p) < 64 ? (size_t)(e - p) : 64);
    size_t n = close ? (size_t)(close - p) - 3 : 0; /* "O535..." */
    const char *v = p + 3;
    if (n < 4 || (v[0] != 'O' && v[0] != 'I') || !all(v + 1, 3, is_digit))
      return fail(r, -ERR_CUSTODY_MT535, r->line, "{2:", "malformed application header block");
    if (memcmp(v + 1, "535", 3) != 0)
      return fail(r, -ERR_CUSTODY_NAMESPACE, r->line, "{2:", "message type MT%.3s, not MT535",
                  v + 1);
    if (v[0] == 'O') {
      /* O535 HHMM MIR(YYMMDD LT12 session4 ISN6) YYMMDD HHMM [priority] */
      if ((n != 46 && n != 47) || !all(v + 4, 10, is_digit) || !lt_address(v + 14) ||
          !all(v + 26, 20, is_digit) || (n == 47 && memchr("SNU", v[46], 3) == NULL))
        return fail(r, -ERR_CUSTODY_MT535, r->line, "{2:", "malformed output application header");
      lt_bic(v + 14, servicer);
    } else {
      /* I535 LT12 [priority [monitoring [obsolescence]]] */
      if ((n != 16 && n != 17 && n != 18 && n != 21) || !lt_address(v + 4) ||
          (n >= 17 && memchr("SNU", v[16], 3) == NULL) ||
          (n >= 18 && memchr("123", v[17], 3) == NULL) || (n == 21 && !all(v + 18, 3, is_digit)))
        return fail(r, -ERR_CUSTODY_MT535, r->line, "{2:", "malformed input application header");
      memcpy(servicer, b1, sizeof b1);
    }
    have_b2 = true;
    p = close + 1;
  }
  if (!have_b2)
    memcpy(servicer, b1, sizeof b1);
  if (e - p >= 3 && memcmp(p, "{3:", 3) == 0) {
    int rc = skip_tagged_block(r, &p);
    if (rc)
      return rc;
  }
  if (e - p < 3 || memcmp(p, "{4:", 3) != 0)
    return fail(r, -ERR_CUSTODY_MT535, r->line, "{4:", "expected block 4 \"{4:\"");
  p += 3;
  if (e - p >= 2 && p[0] == '\r' && p[1] == '\n')
    p += 2;
  else if (e - p >= 1 && p[0] == '\n')
    p += 1;
  else
    return fail(r, -ERR_CUSTODY_MT535, r->line, "{4:", "\"{4:\" must end its line");
  *pp = p;
  return 0;
}

/* After "-}": optional {5:} and {S:} blocks, then only line breaks. */
static int parse_tail(struct rd *r)
{
  const char *p = r->after;
  for (const char *b = "5S"; *b; b++)
    if (r->end - p >= 3 && p[0] == '{' && p[1] == *b && p[2] == ':') {
      int rc = skip_tagged_block(r, &p);
      if (rc)
        return rc;
    }
  for (; p < r->end; p++)
    if (*p != '\r' && *p != '\n')
      return fail(r, -ERR_CUSTODY_MT535, r->line, "-}", "data after the end of the message");
  return 0;
}

int custody_mt535_parse(const char *buf, size_t len, const struct custody_limits *lim,
                        struct custody_stmt *st, custody_position_fn fn, void *cls,
                        struct custody_error *err)
{
  struct custody_limits dl;
  struct custody_error de;
  struct custody_stmt ds;
  if (lim == NULL) {
    custody_limits_default(&dl);
    lim = &dl;
  }
  if (err == NULL)
    err = &de;
  memset(err, 0, sizeof *err);
  struct rd r = {.p = buf, .end = buf + len, .line = 1, .lim = lim, .err = err};
  if (buf == NULL && len > 0)
    return fail(&r, -ERR_INVALID_ARGUMENT, 0, "", "no buffer");
  if (len > lim->max_bytes)
    return fail(&r, -ERR_CUSTODY_TOO_LARGE, 0, "", "message of %zu bytes (limit %llu)", len,
                (unsigned long long)lim->max_bytes);
  /* Tolerated before the message: a UTF-8 byte order mark, line breaks. */
  if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
    r.p += 3;
  for (; r.p < r.end && (*r.p == '\r' || *r.p == '\n'); r.p++)
    if (*r.p == '\n')
      r.line++;
  if (r.p == r.end)
    return fail(&r, -ERR_CUSTODY_MT535, r.line, "", "empty message");
  char servicer[CUSTODY_ID_MAX] = "";
  r.alone = *r.p != '{';
  if (!r.alone) {
    int rc = parse_head(&r, &r.p, servicer);
    if (rc)
      return rc;
    r.line++;
  }
  int rc = parse_block4(&r, servicer, st ? st : &ds, fn, cls);
  if (rc == 0 && !r.alone)
    rc = parse_tail(&r);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */

/*
 * Text of the X set of at most @max characters; a text on a line of its
 * own (@own_line) may be empty but may not start with ':' or '-'.
 */
static bool x_text(const char *s, size_t cap, size_t max, bool own_line)
{
  size_t n = strnlen(s, cap);
  if (n == cap || n > max || (n == 0 && !own_line) ||
      (own_line && n > 0 && (s[0] == ':' || s[0] == '-')))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!is_x((unsigned char)s[i]))
      return false;
  return true;
}

/* "UNIT/[N]d" into @buf (at least 24 bytes); false when not expressible. */
static bool fmt_qty(const struct custody_qty *q, char *buf, size_t size)
{
  static const char *const kinds[] = {NULL, "UNIT", "FAMT", "AMOR"};
  struct money m;
  if (!q->present || q->kind < CUSTODY_QTY_UNIT || q->kind > CUSTODY_QTY_AMTSD_VAL ||
      money_rescale(q->qty, CUSTODY_QTY_SCALE, MONEY_ROUND_EXACT, &m) != 0 || m.v < 0 ||
      (q->shrt && m.v == 0))
    return false;
  __int128 one = (__int128)util_pow10[CUSTODY_QTY_SCALE];
  __int128 ip = m.v / one, fp = m.v % one;
  if (ip >= (__int128)util_pow10[QTY_D_MAX - 1])
    return false;
  char frac[CUSTODY_QTY_SCALE + 1];
  int nf = CUSTODY_QTY_SCALE;
  for (int i = CUSTODY_QTY_SCALE - 1; i >= 0; i--, fp /= 10)
    frac[i] = (char)('0' + (int)(fp % 10));
  while (nf > 0 && frac[nf - 1] == '0')
    nf--;
  int n = snprintf(buf, size, "%s/%s%llu,%.*s", kinds[q->kind], q->shrt ? "N" : "",
                   (unsigned long long)ip, nf, frac);
  return n > 0 && (size_t)n < size && (size_t)n - 5 - (q->shrt ? 1 : 0) <= QTY_D_MAX;
}

static bool check_position(const struct custody_position *p)
{
  char q[32];
  if (p->sub_account[0] != '\0' || strnlen(p->isin, sizeof p->isin) != CUSTODY_ISIN_LEN ||
      !is_isin(p->isin, CUSTODY_ISIN_LEN) ||
      !x_text(p->description, sizeof p->description, 35, true) ||
      !fmt_qty(&p->aggregate, q, sizeof q) ||
      (p->available.present && !fmt_qty(&p->available, q, sizeof q)) ||
      (p->not_available.present && !fmt_qty(&p->not_available, q, sizeof q)) ||
      p->n_sub > CUSTODY_SUBBAL_MAX)
    return false;
  size_t np = strnlen(p->place, sizeof p->place);
  if (np > 0 && !is_bic(p->place, np))
    return false;
  for (unsigned i = 0; i < p->n_sub; i++)
    if (strnlen(p->sub[i].type, sizeof p->sub[i].type) != 4 ||
        !all(p->sub[i].type, 4, is_alnum_up) || !fmt_qty(&p->sub[i].qty, q, sizeof q))
      return false;
  return true;
}

static bool check_stmt(const struct custody_stmt *st)
{
  size_t nf = strnlen(st->frequency, sizeof st->frequency);
  size_t ns = strnlen(st->account_servicer, sizeof st->account_servicer);
  size_t no = strnlen(st->account_owner, sizeof st->account_owner);
  int64_t ms = st->stmt_has_time ? st->stmt_ms : (int64_t)st->stmt_day * MS_PER_DAY;
  int y;
  unsigned mo, d;
  cal_civil((int32_t)floor_div(ms, MS_PER_DAY), &y, &mo, &d);
  return st->page_no >= 1 && st->page_no <= 99999 &&
         x_text(st->stmt_id, sizeof st->stmt_id, 16, false) &&
         x_text(st->safekeeping_account, sizeof st->safekeeping_account, 35, false) &&
         (nf == 0 || (nf == 4 && all(st->frequency, 4, is_alnum_up))) &&
         (ns == 0 || is_bic(st->account_servicer, ns)) &&
         (no == 0 || is_bic(st->account_owner, no) || is_lei(st->account_owner, no) ||
          x_text(st->account_owner, sizeof st->account_owner, 34, false)) &&
         (st->update == CUSTODY_UPDATE_COMPLETE || st->update == CUSTODY_UPDATE_DELTA) &&
         st->basis >= CUSTODY_BASIS_SETT && st->basis <= CUSTODY_BASIS_CONT && y >= CAL_YEAR_MIN &&
         y <= CAL_YEAR_MAX;
}

/* Logical terminal address of a BIC: BIC8 + 'A' + branch (XXX if none). */
static void bic_lt(const char *bic, char lt[13])
{
  size_t n = strnlen(bic, 11);
  memcpy(lt, bic, 8);
  lt[8] = 'A';
  memcpy(lt + 9, n == 11 ? bic + 8 : "XXX", 3);
  lt[12] = '\0';
}

static void write_qty(FILE *out, const char *tag, const char *qual, const struct custody_qty *q)
{
  char buf[32];
  if (!q->present || !fmt_qty(q, buf, sizeof buf))
    return;
  fprintf(out, ":%s::%s//%s\r\n", tag, qual, buf);
}

static void write_position(FILE *out, const struct custody_position *p)
{
  fputs(":16R:FIN\r\n", out);
  fprintf(out, ":35B:ISIN %s\r\n", p->isin);
  if (p->description[0])
    fprintf(out, "%s\r\n", p->description);
  write_qty(out, "93B", "AGGR", &p->aggregate);
  write_qty(out, "93B", "AVAI", &p->available);
  write_qty(out, "93B", "NAVL", &p->not_available);
  if (p->place[0])
    fprintf(out, ":94F::SAFE//NCSD/%s\r\n", p->place);
  for (unsigned i = 0; i < p->n_sub; i++) {
    char buf[32];
    fmt_qty(&p->sub[i].qty, buf, sizeof buf);
    /* The status is not kept by the reader: NAVL, the usual one. */
    fprintf(out, ":16R:SUBBAL\r\n:93C::%.4s//%.4s/NAVL/%s\r\n:16S:SUBBAL\r\n", p->sub[i].type, buf,
            buf + 5);
  }
  fputs(":16S:FIN\r\n", out);
}

int custody_mt535_write(FILE *out, const struct custody_stmt *st, const struct custody_position *p,
                        size_t n)
{
  static const char *const basis[] = {NULL, "SETT", "TRAD", "CONT"};
  if (out == NULL || st == NULL || (p == NULL && n > 0) || !check_stmt(st))
    return -ERR_INVALID_ARGUMENT;
  for (size_t i = 0; i < n; i++)
    if (!check_position(&p[i]))
      return -ERR_INVALID_ARGUMENT;
  int64_t ms = st->stmt_has_time ? st->stmt_ms : (int64_t)st->stmt_day * MS_PER_DAY;
  int32_t day = (int32_t)floor_div(ms, MS_PER_DAY);
  int64_t in_day = ms - (int64_t)day * MS_PER_DAY;
  unsigned hh = (unsigned)(in_day / 3600000), mi = (unsigned)(in_day / 60000 % 60),
           ss = (unsigned)(in_day / 1000 % 60), milli = (unsigned)(in_day % 1000);
  int y;
  unsigned mo, d;
  cal_civil(day, &y, &mo, &d);

  if (st->account_servicer[0]) {
    char snd[13], rcv[13] = "XXXXXXXXXXXX";
    bic_lt(st->account_servicer, snd);
    size_t no = strnlen(st->account_owner, sizeof st->account_owner);
    if (no > 0 && is_bic(st->account_owner, no))
      bic_lt(st->account_owner, rcv);
    fprintf(out, "{1:F01%s0000000000}", rcv);
    fprintf(out, "{2:O535%02u%02u%02d%02u%02u%s0000000000%02d%02u%02u%02u%02uN}", hh, mi, y % 100,
            mo, d, snd, y % 100, mo, d, hh, mi);
  }
  fputs("{4:\r\n:16R:GENL\r\n", out);
  fprintf(out, ":28E:%u/%s\r\n", st->page_no,
          !st->last_page     ? "MORE"
          : st->page_no == 1 ? "ONLY"
                             : "LAST");
  fprintf(out, ":20C::SEME//%s\r\n:23G:NEWM\r\n", st->stmt_id);
  if (!st->stmt_has_time)
    fprintf(out, ":98A::STAT//%04d%02u%02u\r\n", y, mo, d);
  else if (milli == 0)
    fprintf(out, ":98C::STAT//%04d%02u%02u%02u%02u%02u\r\n", y, mo, d, hh, mi, ss);
  else
    fprintf(out, ":98E::STAT//%04d%02u%02u%02u%02u%02u,%03u/00\r\n", y, mo, d, hh, mi, ss, milli);
  if (st->frequency[0])
    fprintf(out, ":22F::SFRE//%.4s\r\n", st->frequency);
  fprintf(out, ":22F::CODE//%s\r\n:22F::STTY//CUST\r\n:22F::STBA//%s\r\n",
          st->update == CUSTODY_UPDATE_DELTA ? "DELT" : "COMP", basis[st->basis]);
  size_t no = strnlen(st->account_owner, sizeof st->account_owner);
  if (no > 0 && is_bic(st->account_owner, no))
    fprintf(out, ":95P::ACOW//%s\r\n", st->account_owner);
  else if (no > 0 && is_lei(st->account_owner, no))
    fprintf(out, ":95L::ACOW//%s\r\n", st->account_owner);
  else if (no > 0)
    fprintf(out, ":95R::ACOW/PRTY/%s\r\n", st->account_owner);
  fprintf(out, ":97A::SAFE//%s\r\n:17B::ACTI//%c\r\n:17B::CONS//%c\r\n:16S:GENL\r\n",
          st->safekeeping_account, st->activity ? 'Y' : 'N', st->sub_accounts ? 'Y' : 'N');
  if (n > 0) {
    fputs(":16R:SUBSAFE\r\n", out);
    for (size_t i = 0; i < n; i++)
      write_position(out, &p[i]);
    fputs(":16S:SUBSAFE\r\n", out);
  }
  fputs("-}", out);
  return ferror(out) ? -ERR_IO : 0;
}
