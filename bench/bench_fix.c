/*
 * bench_fix: the speed of our FIX codec (fix_parse + fix_msg_*, and
 * struct fix_writer) against QuickFIX 1.15.1 (quickfix_ref.cpp) doing the
 * same work on the same messages, measured in the same run.
 *
 * Messages: a ring of RING NewOrderSingles and RING ExecutionReports
 * (about 230 and 300 bytes), every one different (random ids, accounts,
 * symbols, prices, quantities, sequence numbers and times from a fixed
 * seed xorshift), written by our writer.
 *
 * Parse = frame check (BodyLength and CheckSum) + tokenise + read six
 * fields.  ER: 17 ExecID, 37 OrderID, 150 ExecType, 14 CumQty, 6 AvgPx,
 * 31 LastPx; NOS: 11 ClOrdID, 55 Symbol, 54 Side, 38 OrderQty, 44 Price,
 * 34 MsgSeqNum.  Ours: fix_parse, fix_msg_str, fix_msg_money (exact
 * decimals), fix_msg_u64; QuickFIX: Message::setString(text, true) and
 * typed getField (doubles).  Serialize = build the whole message from the
 * same typed values (strings, chars, integers, prices and quantities as
 * decimals: struct money for us, double for QuickFIX, whose typed fields
 * are double) into a buffer / std::string.
 *
 * Honesty: before timing, both sides must serialize every message of the
 * ring to the same bytes, and read the same values from every message
 * (strings equal, each decimal equal to the double QuickFIX read);
 * otherwise the benchmark says where and exits 1.  Results go to a
 * volatile sink.
 *
 * Timing: one message is too short for clock_gettime, so batches of
 * BATCH consecutive ring messages are timed and divided by BATCH; the
 * p50 and p99 are over all batches of PASSES passes over the ring, ours
 * and QuickFIX alternating pass by pass so that noise hits both alike.
 * Messages per second is the total count over the total timed time.
 *
 * Not here: the round trip over loopback with a durable message store
 * (the other half of the benchmark) needs the session layer,
 * which does not exist yet.
 *
 * Output: per operation and message type, "parse ER: ours p50 X ns p99 Y
 * ns (N msg/s); quickfix p50 ...", then "RATIO parse=<q> serialize=<q>"
 * where q is QuickFIX p50 / ours p50, the mean of the NOS and ER ratios.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fix/fix.h"
#include "bench/bench_util.h"

/* The QuickFIX side (quickfix_ref.cpp). */
int qf_load(size_t i, const char *text, size_t len);
long qf_parse_er(size_t i);
long qf_parse_nos(size_t i);
void qf_last(char *s1, char *s2, char *s3, size_t size, double *d, long *i);
size_t qf_serialize_nos(char *out, size_t cap, uint64_t seq, int64_t sending_ms,
                        const char *account, const char *cl_ord_id, double order_qty, char ord_type,
                        double price, char side, const char *symbol, char tif, int64_t transact_ms);
size_t qf_serialize_er(char *out, size_t cap, uint64_t seq, int64_t sending_ms, const char *account,
                       double avg_px, const char *cl_ord_id, double cum_qty, const char *exec_id,
                       double last_px, double last_qty, const char *order_id, double order_qty,
                       char ord_status, double price, char side, const char *symbol,
                       int64_t transact_ms, char exec_type, double leaves_qty);

#define RING     1024u /* messages of each type */
#define BATCH    64u
#define PASSES   300u
#define TEXT_MAX 512u
#define SCALE    8u /* scale at which decimals are read back */

#define NOINLINE __attribute__((noinline))

/* A decimal as both sides take it. */
struct dec {
  struct money m;
  double d;
};

struct nos {
  uint64_t seq;
  int64_t sending_ms, transact_ms;
  char account[16], cl_ord_id[32], symbol[8];
  struct dec qty, price;
  char ord_type, side, tif;
};

struct er {
  uint64_t seq;
  int64_t sending_ms, transact_ms;
  char account[16], cl_ord_id[32], exec_id[32], order_id[32], symbol[8];
  struct dec avg_px, cum_qty, last_px, last_qty, order_qty, price, leaves_qty;
  char ord_status, side, exec_type;
};

static struct nos nos[RING];
static struct er er[RING];
/* Ring texts: NOS at [0, RING), ER at [RING, 2 * RING). */
static char text[2 * RING][TEXT_MAX];
static size_t text_len[2 * RING];

static struct fix_msg parsed;
static char out_buf[TEXT_MAX];
static volatile long sink;

/* ------------------------------------------------------------------ */
/* The ring                                                            */
/* ------------------------------------------------------------------ */

static uint64_t below(uint64_t n)
{
  return xorshift64() % n;
}

static struct dec dec_make(int64_t v, unsigned scale)
{
  struct dec r;
  static const double p10[] = {1, 10, 100, 1000, 10000};
  if (money_make(v, scale, &r.m) != 0) {
    fprintf(stderr, "bench_fix: bad decimal\n");
    exit(1);
  }
  r.d = (double)v / p10[scale];
  return r;
}

/* A price 0.01 .. 99999.9999 at scale 4; a quantity 1 .. 1,000,000. */
static struct dec rand_price(void)
{
  return dec_make((int64_t)(100 + below(999999900)), 4);
}

static struct dec rand_qty(void)
{
  return dec_make((int64_t)(1 + below(1000000)), 0);
}

static const char *const symbols[] = {"AAPL",  "MSFT", "GOOG", "AMZN", "TSLA", "NVDA",
                                      "META",  "IBM",  "ORCL", "SAP",  "ASML", "NESN",
                                      "BRK.B", "V",    "JPM",  "XOM"};

/* Time: 2024-03-01 plus up to a year, in milliseconds. */
static int64_t rand_time(void)
{
  return 1709251200000LL + (int64_t)below(366ULL * 86400000ULL);
}

/* Random uppercase hex of @n digits after @prefix, NUL-terminated. */
static void rand_id(char *dst, size_t size, const char *prefix, unsigned n)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t p = strlen(prefix);
  if (p + n + 1 > size)
    abort();
  memcpy(dst, prefix, p);
  uint64_t r = xorshift64();
  for (unsigned k = 0; k < n; k++) {
    if (k == 16)
      r = xorshift64();
    dst[p + k] = hex[r & 15];
    r >>= 4;
  }
  dst[p + n] = '\0';
}

static void make_ring(void)
{
  for (unsigned i = 0; i < RING; i++) {
    struct nos *o = &nos[i];
    o->seq = 1 + below(10000000);
    o->sending_ms = rand_time();
    o->transact_ms = o->sending_ms - (int64_t)below(1000);
    rand_id(o->account, sizeof o->account, "ACC-", 6);
    rand_id(o->cl_ord_id, sizeof o->cl_ord_id, "ORD-", 20);
    memcpy(o->symbol, symbols[below(16)], sizeof o->symbol);
    o->qty = rand_qty();
    o->price = rand_price();
    o->ord_type = '2';
    o->side = below(2) ? '1' : '2';
    o->tif = below(2) ? '0' : '1';

    struct er *e = &er[i];
    e->seq = 1 + below(10000000);
    e->sending_ms = rand_time();
    e->transact_ms = e->sending_ms - (int64_t)below(1000);
    rand_id(e->account, sizeof e->account, "ACC-", 6);
    rand_id(e->cl_ord_id, sizeof e->cl_ord_id, "ORD-", 20);
    rand_id(e->exec_id, sizeof e->exec_id, "EX-", 24);
    rand_id(e->order_id, sizeof e->order_id, "OID-", 16);
    memcpy(e->symbol, symbols[below(16)], sizeof e->symbol);
    int64_t qty = (int64_t)(2 + below(1000000));
    int64_t cum = 1 + (int64_t)below((uint64_t)qty);
    int64_t last = 1 + (int64_t)below((uint64_t)cum);
    e->order_qty = dec_make(qty, 0);
    e->cum_qty = dec_make(cum, 0);
    e->last_qty = dec_make(last, 0);
    e->leaves_qty = dec_make(qty - cum, 0);
    e->price = rand_price();
    e->last_px = rand_price();
    e->avg_px = rand_price();
    e->ord_status = cum == qty ? '2' : '1';
    e->exec_type = 'F';
    e->side = below(2) ? '1' : '2';
  }
}

/* ------------------------------------------------------------------ */
/* Our side                                                            */
/* ------------------------------------------------------------------ */

static int ours_write_nos(const struct nos *o, char *buf, size_t cap, const char **msg, size_t *len)
{
  struct fix_writer w;
  fix_writer_begin(&w, buf, cap, "D");
  fix_writer_u64(&w, 34, o->seq);
  fix_writer_str(&w, 49, "BACKSTOCK", 9);
  fix_writer_time(&w, 52, o->sending_ms);
  fix_writer_str(&w, 56, "BROKER", 6);
  fix_writer_cstr(&w, 1, o->account);
  fix_writer_cstr(&w, 11, o->cl_ord_id);
  fix_writer_money(&w, 38, o->qty.m);
  fix_writer_char(&w, 40, o->ord_type);
  fix_writer_money(&w, 44, o->price.m);
  fix_writer_char(&w, 54, o->side);
  fix_writer_cstr(&w, 55, o->symbol);
  fix_writer_char(&w, 59, o->tif);
  fix_writer_time(&w, 60, o->transact_ms);
  return fix_writer_finish(&w, msg, len);
}

static int ours_write_er(const struct er *e, char *buf, size_t cap, const char **msg, size_t *len)
{
  struct fix_writer w;
  fix_writer_begin(&w, buf, cap, "8");
  fix_writer_u64(&w, 34, e->seq);
  fix_writer_str(&w, 49, "BACKSTOCK", 9);
  fix_writer_time(&w, 52, e->sending_ms);
  fix_writer_str(&w, 56, "BROKER", 6);
  fix_writer_cstr(&w, 1, e->account);
  fix_writer_money(&w, 6, e->avg_px.m);
  fix_writer_cstr(&w, 11, e->cl_ord_id);
  fix_writer_money(&w, 14, e->cum_qty.m);
  fix_writer_cstr(&w, 17, e->exec_id);
  fix_writer_money(&w, 31, e->last_px.m);
  fix_writer_money(&w, 32, e->last_qty.m);
  fix_writer_cstr(&w, 37, e->order_id);
  fix_writer_money(&w, 38, e->order_qty.m);
  fix_writer_char(&w, 39, e->ord_status);
  fix_writer_money(&w, 44, e->price.m);
  fix_writer_char(&w, 54, e->side);
  fix_writer_cstr(&w, 55, e->symbol);
  fix_writer_time(&w, 60, e->transact_ms);
  fix_writer_char(&w, 150, e->exec_type);
  fix_writer_money(&w, 151, e->leaves_qty.m);
  return fix_writer_finish(&w, msg, len);
}

/* What one parse read, for the agreement check. */
struct got {
  const char *s[3];
  size_t n[3];
  struct money m[3];
  uint64_t seq;
};

static int ours_parse_nos(size_t i, struct got *g)
{
  enum fix_garble why;
  int rc = fix_parse(text[i], text_len[i], &parsed, &why);
  rc |= fix_msg_str(&parsed, 11, &g->s[0], &g->n[0]);
  rc |= fix_msg_str(&parsed, 55, &g->s[1], &g->n[1]);
  rc |= fix_msg_str(&parsed, 54, &g->s[2], &g->n[2]);
  rc |= fix_msg_money(&parsed, 38, SCALE, &g->m[0]);
  rc |= fix_msg_money(&parsed, 44, SCALE, &g->m[1]);
  rc |= fix_msg_u64(&parsed, 34, &g->seq);
  g->m[2].v = 0;
  g->m[2].scale = SCALE;
  return rc;
}

static int ours_parse_er(size_t i, struct got *g)
{
  enum fix_garble why;
  int rc = fix_parse(text[i], text_len[i], &parsed, &why);
  rc |= fix_msg_str(&parsed, 17, &g->s[0], &g->n[0]);
  rc |= fix_msg_str(&parsed, 37, &g->s[1], &g->n[1]);
  rc |= fix_msg_str(&parsed, 150, &g->s[2], &g->n[2]);
  rc |= fix_msg_money(&parsed, 14, SCALE, &g->m[0]);
  rc |= fix_msg_money(&parsed, 6, SCALE, &g->m[1]);
  rc |= fix_msg_money(&parsed, 31, SCALE, &g->m[2]);
  g->seq = 0;
  return rc;
}

/* ------------------------------------------------------------------ */
/* Timed bodies: one message each, returning something to sink         */
/* ------------------------------------------------------------------ */

typedef long (*one_fn)(size_t i);

static NOINLINE long parse_nos_ours(size_t i)
{
  struct got g;
  int rc = ours_parse_nos(i, &g);
  return rc != 0 ? -1 : (long)(g.n[0] + g.n[1] + (size_t)g.m[0].v + g.seq);
}

static NOINLINE long parse_er_ours(size_t i)
{
  struct got g;
  int rc = ours_parse_er(RING + i, &g);
  return rc != 0 ? -1 : (long)(g.n[0] + g.n[1] + (size_t)g.m[0].v);
}

static NOINLINE long parse_nos_qf(size_t i)
{
  return qf_parse_nos(i);
}

static NOINLINE long parse_er_qf(size_t i)
{
  return qf_parse_er(RING + i);
}

static NOINLINE long ser_nos_ours(size_t i)
{
  const char *msg;
  size_t len;
  int rc = ours_write_nos(&nos[i], out_buf, sizeof out_buf, &msg, &len);
  return rc != 0 ? -1 : (long)len + msg[len - 2];
}

static NOINLINE long ser_er_ours(size_t i)
{
  const char *msg;
  size_t len;
  int rc = ours_write_er(&er[i], out_buf, sizeof out_buf, &msg, &len);
  return rc != 0 ? -1 : (long)len + msg[len - 2];
}

static size_t qf_write_nos(const struct nos *o, char *buf, size_t cap)
{
  return qf_serialize_nos(buf, cap, o->seq, o->sending_ms, o->account, o->cl_ord_id, o->qty.d,
                          o->ord_type, o->price.d, o->side, o->symbol, o->tif, o->transact_ms);
}

static size_t qf_write_er(const struct er *e, char *buf, size_t cap)
{
  return qf_serialize_er(buf, cap, e->seq, e->sending_ms, e->account, e->avg_px.d, e->cl_ord_id,
                         e->cum_qty.d, e->exec_id, e->last_px.d, e->last_qty.d, e->order_id,
                         e->order_qty.d, e->ord_status, e->price.d, e->side, e->symbol,
                         e->transact_ms, e->exec_type, e->leaves_qty.d);
}

static NOINLINE long ser_nos_qf(size_t i)
{
  size_t len = qf_write_nos(&nos[i], out_buf, sizeof out_buf);
  return len == 0 ? -1 : (long)len + out_buf[len - 2];
}

static NOINLINE long ser_er_qf(size_t i)
{
  size_t len = qf_write_er(&er[i], out_buf, sizeof out_buf);
  return len == 0 ? -1 : (long)len + out_buf[len - 2];
}

/* ------------------------------------------------------------------ */
/* Agreement                                                           */
/* ------------------------------------------------------------------ */

static void die(const char *what, unsigned i)
{
  fprintf(stderr, "bench_fix: %s: ours and QuickFIX disagree on message %u\n", what, i);
  exit(1);
}

static double money_double(struct money m)
{
  double p = 1;
  for (unsigned k = 0; k < m.scale; k++)
    p *= 10;
  return (double)m.v / p;
}

static void show(const char *who, const char *s, size_t n)
{
  fprintf(stderr, "%s: ", who);
  for (size_t k = 0; k < n; k++)
    fputc(s[k] == FIX_SOH ? '|' : s[k], stderr);
  fputc('\n', stderr);
}

/* Check the values ours read against QuickFIX's. */
static void check_got(const char *what, unsigned i, const struct got *g, unsigned n_money)
{
  char s[3][64];
  double d[3];
  long seq;
  qf_last(s[0], s[1], s[2], sizeof s[0], d, &seq);
  for (int k = 0; k < 3; k++)
    if (strlen(s[k]) != g->n[k] || memcmp(s[k], g->s[k], g->n[k]) != 0)
      die(what, i);
  for (unsigned k = 0; k < n_money; k++)
    if (money_double(g->m[k]) != d[k])
      die(what, i);
  if (g->seq != (uint64_t)(n_money == 2 ? seq : 0))
    die(what, i);
}

/* Write the ring with our writer, check both writers give the same
   bytes, load the texts into QuickFIX, check both parsers read the same
   values and that they are the values written. */
static void build_and_verify(void)
{
  char qf[TEXT_MAX];
  for (unsigned i = 0; i < 2 * RING; i++) {
    const char *msg;
    size_t len, qlen;
    int rc;
    if (i < RING) {
      rc = ours_write_nos(&nos[i], text[i], TEXT_MAX, &msg, &len);
      qlen = qf_write_nos(&nos[i], qf, sizeof qf);
    } else {
      rc = ours_write_er(&er[i - RING], text[i], TEXT_MAX, &msg, &len);
      qlen = qf_write_er(&er[i - RING], qf, sizeof qf);
    }
    if (rc != 0) {
      fprintf(stderr, "bench_fix: our writer failed (%d) on message %u\n", rc, i);
      exit(1);
    }
    if (qlen != len || memcmp(qf, msg, len) != 0) {
      show("ours", msg, len);
      show("quickfix", qf, qlen);
      die("serialize", i);
    }
    memmove(text[i], msg, len);
    text_len[i] = len;
    if (qf_load(i, text[i], len) != 0)
      die("load", i);
  }
  for (unsigned i = 0; i < RING; i++) {
    struct got g;
    if (ours_parse_nos(i, &g) != 0 || qf_parse_nos(i) < 0)
      die("parse NOS", i);
    check_got("parse NOS", i, &g, 2);
    if (money_cmp(g.m[0], nos[i].qty.m) != 0 || money_cmp(g.m[1], nos[i].price.m) != 0 ||
        g.seq != nos[i].seq)
      die("parse NOS (values written)", i);
    if (ours_parse_er(RING + i, &g) != 0 || qf_parse_er(RING + i) < 0)
      die("parse ER", RING + i);
    check_got("parse ER", RING + i, &g, 3);
    if (money_cmp(g.m[0], er[i].cum_qty.m) != 0 || money_cmp(g.m[1], er[i].avg_px.m) != 0 ||
        money_cmp(g.m[2], er[i].last_px.m) != 0)
      die("parse ER (values written)", RING + i);
  }
}

/* ------------------------------------------------------------------ */
/* Timing                                                              */
/* ------------------------------------------------------------------ */

static double now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#define N_BATCH (PASSES * (RING / BATCH))

struct dist {
  double ns[N_BATCH]; /* per message, one per batch */
  double total_ns;
  unsigned n;
};

static struct dist d_ours, d_qf;

/* One pass over the ring in batches; appends to @d. */
static void pass(one_fn fn, struct dist *d)
{
  long acc = 0;
  for (size_t b = 0; b < RING; b += BATCH) {
    double t0 = now_ns();
    for (size_t i = b; i < b + BATCH; i++) {
      long r = fn(i);
      if (r < 0) {
        fprintf(stderr, "bench_fix: a timed call failed on message %zu\n", i);
        exit(1);
      }
      acc += r;
    }
    double t = now_ns() - t0;
    d->ns[d->n++] = t / BATCH;
    d->total_ns += t;
  }
  sink = acc;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double pct(struct dist *d, double p)
{
  size_t k = (size_t)(p * (double)(d->n - 1) + 0.5);
  return d->ns[k];
}

/* Time ours and QuickFIX alternately; print a line; return qf p50 /
   ours p50. */
static double compare(const char *what, one_fn ours, one_fn qf)
{
  d_ours.n = d_qf.n = 0;
  d_ours.total_ns = d_qf.total_ns = 0;
  pass(ours, &d_ours); /* warm up */
  pass(qf, &d_qf);
  d_ours.n = d_qf.n = 0;
  d_ours.total_ns = d_qf.total_ns = 0;
  for (unsigned p = 0; p < PASSES; p++) {
    pass(ours, &d_ours);
    pass(qf, &d_qf);
  }
  qsort(d_ours.ns, d_ours.n, sizeof(double), cmp_double);
  qsort(d_qf.ns, d_qf.n, sizeof(double), cmp_double);
  double o50 = pct(&d_ours, 0.5), o99 = pct(&d_ours, 0.99);
  double q50 = pct(&d_qf, 0.5), q99 = pct(&d_qf, 0.99);
  printf("%s: ours p50 %.0f ns p99 %.0f ns (%.2f M msg/s); quickfix p50 %.0f ns p99 %.0f ns "
         "(%.2f M msg/s)\n",
         what, o50, o99, d_ours.n * (double)BATCH / d_ours.total_ns * 1e3, q50, q99,
         d_qf.n * (double)BATCH / d_qf.total_ns * 1e3);
  fflush(stdout);
  return q50 / o50;
}

int main(void)
{
  make_ring();
  build_and_verify();
  size_t nos_bytes = 0, er_bytes = 0;
  for (unsigned i = 0; i < RING; i++) {
    nos_bytes += text_len[i];
    er_bytes += text_len[RING + i];
  }
  printf("ring: %u NewOrderSingle (mean %zu bytes), %u ExecutionReport (mean %zu bytes); "
         "batches of %u, %u passes\n",
         RING, nos_bytes / RING, RING, er_bytes / RING, BATCH, PASSES);
  double p_nos = compare("parse NOS", parse_nos_ours, parse_nos_qf);
  double p_er = compare("parse ER", parse_er_ours, parse_er_qf);
  double s_nos = compare("serialize NOS", ser_nos_ours, ser_nos_qf);
  double s_er = compare("serialize ER", ser_er_ours, ser_er_qf);
  printf("RATIO parse=%.2f serialize=%.2f\n", (p_nos + p_er) / 2, (s_nos + s_er) / 2);
  return 0;
}
