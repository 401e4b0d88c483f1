/*
 * custody_sese025.c: sese.025.001.11 settlement confirmations, parsed
 * with the engine of custody_semt002.c (same hostile-input rules) and
 * written as the smallest document the schema accepts plus our fields.
 *
 * Where the fields live (SecuritiesSettlementTransactionConfirmationV11):
 *   TxIdDtls/AcctOwnrTxId, AcctSvcrTxId, SctiesMvmntTp (RECE|DELI), Pmt (APMT|FREE)
 *   TradDtls/TradDt/(Dt/(Dt|DtTm) | DtCd)          trade date, optional
 *   TradDtls/FctvSttlmDt/(Dt/(Dt|DtTm) | DtCd)     effective settlement date
 *   FinInstrmId/ISIN
 *   QtyAndAcctDtls/SttldQty/(Qty/(Unit|FaceAmt|AmtsdVal|DgtlTknUnit) | OrgnlAndCurFace)
 *   QtyAndAcctDtls/AcctOwnr/Id/(AnyBIC|PrtryId/Id), QtyAndAcctDtls/SfkpgAcct/Id
 *   RcvgSttlmPties/Pty1/Id (RECE) or DlvrgSttlmPties/Pty1/Id (DELI): our
 *     side's first party, the account servicer (AnyBIC|PrtryId/Id|NmAndAdr/Nm)
 *   SttldAmt/Amt[@Ccy], CdtDbtInd
 * A date given with a time keeps the date as written; a date given as a
 * code leaves the trade date absent and refuses the settlement date.
 */
#include <string.h>

#include "custody/custody_xml_int.h"

#define SESE025_NS "urn:iso:std:iso:20022:tech:xsd:sese.025.001.11"

/* clang-format off */
enum {
  T_LEAF = 0, T_ROOT, T_DOC, T_CONF, T_TXID, T_TRAD, T_TRADDT, T_SETDT, T_DTCH, T_ANY, T_FIN,
  T_QAA, T_Q51, T_FIQ, T_OCF, T_OWNR, T_OWNR_ID, T_PID, T_SFK, T_PTIES, T_PTY, T_PTY_ID, T_NM,
  T_AMT, T_COUNT
};
/* clang-format on */

/* clang-format off */
enum {
  A_NONE = 0, A_TXID, A_SVCRTXID, A_MVMNT, A_PMT, A_TRADDT, A_SETDT, A_SETDT_CD, A_DT, A_DTTM,
  A_ISIN, A_UNIT, A_FACE, A_AMTSD, A_DGTL, A_OCF_FACE, A_OWNR_BIC, A_OWNR_ID, A_SFK_ID, A_RCVG,
  A_DLVR, A_PTY1, A_SVCR_BIC, A_SVCR_ID, A_SVCR_NM, A_AMT, A_CDI, A_CONF
};
/* clang-format on */

#define K(n, t, a, f)                                                                              \
  {                                                                                                \
    n, sizeof(n) - 1, t, a, f                                                                      \
  }
#define REQ    CUSTODY__XF_REQ
#define ATTR   CUSTODY__XF_ATTR
#define CHOICE CUSTODY__XT_CHOICE
#define TY(k, f)                                                                                   \
  {                                                                                                \
    k, sizeof(k) / sizeof(k[0]), f                                                                 \
  }

static const struct custody__xml_child k_root[] = {K("Document", T_DOC, 0, REQ)};
static const struct custody__xml_child k_doc[] = {K("SctiesSttlmTxConf", T_CONF, A_CONF, REQ)};
static const struct custody__xml_child k_conf[] = {K("TxIdDtls", T_TXID, 0, REQ),
                                                   K("TradDtls", T_TRAD, 0, REQ),
                                                   K("FinInstrmId", T_FIN, 0, REQ),
                                                   K("QtyAndAcctDtls", T_QAA, 0, REQ),
                                                   K("DlvrgSttlmPties", T_PTIES, A_DLVR, 0),
                                                   K("RcvgSttlmPties", T_PTIES, A_RCVG, 0),
                                                   K("SttldAmt", T_AMT, 0, 0)};
static const struct custody__xml_child k_txid[] = {
    K("AcctOwnrTxId", T_LEAF, A_TXID, REQ), K("AcctSvcrTxId", T_LEAF, A_SVCRTXID, 0),
    K("SctiesMvmntTp", T_LEAF, A_MVMNT, REQ), K("Pmt", T_LEAF, A_PMT, REQ)};
static const struct custody__xml_child k_trad[] = {K("TradDt", T_TRADDT, 0, 0),
                                                   K("FctvSttlmDt", T_SETDT, 0, REQ)};
static const struct custody__xml_child k_traddt[] = {K("Dt", T_DTCH, A_TRADDT, 0),
                                                     K("DtCd", T_ANY, 0, 0)};
static const struct custody__xml_child k_setdt[] = {K("Dt", T_DTCH, A_SETDT, 0),
                                                    K("DtCd", T_ANY, A_SETDT_CD, 0)};
static const struct custody__xml_child k_dtch[] = {K("Dt", T_LEAF, A_DT, 0),
                                                   K("DtTm", T_LEAF, A_DTTM, 0)};
static const struct custody__xml_child k_fin[] = {K("ISIN", T_LEAF, A_ISIN, 0)};
static const struct custody__xml_child k_qaa[] = {
    K("SttldQty", T_Q51, 0, REQ), K("AcctOwnr", T_OWNR, 0, 0), K("SfkpgAcct", T_SFK, 0, 0)};
static const struct custody__xml_child k_q51[] = {K("Qty", T_FIQ, 0, 0),
                                                  K("OrgnlAndCurFace", T_OCF, 0, 0)};
static const struct custody__xml_child k_fiq[] = {
    K("Unit", T_LEAF, A_UNIT, 0), K("FaceAmt", T_LEAF, A_FACE, 0),
    K("AmtsdVal", T_LEAF, A_AMTSD, 0), K("DgtlTknUnit", T_LEAF, A_DGTL, 0)};
static const struct custody__xml_child k_ocf[] = {K("FaceAmt", T_LEAF, A_OCF_FACE, REQ),
                                                  K("AmtsdVal", T_LEAF, A_AMTSD, REQ)};
static const struct custody__xml_child k_ownr[] = {K("Id", T_OWNR_ID, 0, REQ)};
static const struct custody__xml_child k_ownr_id[] = {K("AnyBIC", T_LEAF, A_OWNR_BIC, 0),
                                                      K("PrtryId", T_PID, 0, 0)};
static const struct custody__xml_child k_pid[] = {K("Id", T_LEAF, A_OWNR_ID, REQ)};
static const struct custody__xml_child k_sfk[] = {K("Id", T_LEAF, A_SFK_ID, REQ)};
static const struct custody__xml_child k_pties[] = {K("Pty1", T_PTY, A_PTY1, 0)};
static const struct custody__xml_child k_pty[] = {K("Id", T_PTY_ID, 0, REQ)};
static const struct custody__xml_child k_pty_id[] = {
    K("AnyBIC", T_LEAF, A_SVCR_BIC, 0), K("PrtryId", T_PID, 0, 0), K("NmAndAdr", T_NM, 0, 0)};
static const struct custody__xml_child k_nm[] = {K("Nm", T_LEAF, A_SVCR_NM, REQ)};
static const struct custody__xml_child k_amt[] = {K("Amt", T_LEAF, A_AMT, REQ | ATTR),
                                                  K("CdtDbtInd", T_LEAF, A_CDI, REQ)};

/* clang-format off */
static const struct custody__xml_type sese_types[T_COUNT] = {
    [T_ROOT] = TY(k_root, 0), [T_DOC] = TY(k_doc, 0), [T_CONF] = TY(k_conf, 0),
    [T_TXID] = TY(k_txid, 0), [T_TRAD] = TY(k_trad, 0), [T_TRADDT] = TY(k_traddt, CHOICE),
    [T_SETDT] = TY(k_setdt, CHOICE), [T_DTCH] = TY(k_dtch, CHOICE), [T_ANY] = {NULL, 0, 0},
    [T_FIN] = TY(k_fin, 0), [T_QAA] = TY(k_qaa, 0), [T_Q51] = TY(k_q51, CHOICE),
    [T_FIQ] = TY(k_fiq, CHOICE), [T_OCF] = TY(k_ocf, 0), [T_OWNR] = TY(k_ownr, 0),
    [T_OWNR_ID] = TY(k_ownr_id, CHOICE), [T_PID] = TY(k_pid, 0), [T_SFK] = TY(k_sfk, 0),
    [T_PTIES] = TY(k_pties, 0), [T_PTY] = TY(k_pty, 0), [T_PTY_ID] = TY(k_pty_id, CHOICE),
    [T_NM] = TY(k_nm, 0), [T_AMT] = TY(k_amt, 0),
};
/* clang-format on */

struct sese {
  struct custody_settlement *out;
  int which;     /* A_TRADDT or A_SETDT while inside that date */
  bool our_side; /* inside the settlement parties of our direction */
  bool in_pty1;  /* inside that side's Pty1 (a PrtryId there is the servicer's) */
};

static int put_id(struct custody__xml *x, char *dst, const char *t, size_t n)
{
  if (n == 0)
    return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "empty");
  if (n >= CUSTODY_ID_MAX)
    return custody__xml_fail(x, -ERR_CUSTODY_TEXT_LONG, NULL, "longer than %d bytes",
                             CUSTODY_ID_MAX - 1);
  memcpy(dst, t, n);
  dst[n] = '\0';
  return 0;
}

static int put_qty(struct custody__xml *x, struct custody_qty *q, enum custody_qty_kind kind,
                   const char *t, size_t n)
{
  unsigned scale, frac, total;
  custody__qty_limits(kind, &scale, &frac, &total);
  if (custody__decimal(t, n, scale, frac, total, &q->qty) != 0)
    return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL,
                             "not a non-negative decimal of at most %u digits, %u after the point",
                             total, frac);
  q->present = true;
  q->kind = kind;
  return 0;
}

static int set_day(struct sese *s, struct custody__xml *x, int32_t day)
{
  if (s->which == A_TRADDT)
    s->out->trade_day = day;
  else if (s->which == A_SETDT)
    s->out->settlement_day = day;
  else
    return custody__xml_fail(x, -ERR_INTERNAL, NULL, "date outside a date element");
  return 0;
}

static int sese_leaf(struct sese *s, struct custody__xml *x, unsigned act, const char *t, size_t n)
{
  struct custody_settlement *o = s->out;
  switch (act) {
  case A_TXID:
    return put_id(x, o->tx_id, t, n);
  case A_SVCRTXID:
    return put_id(x, o->servicer_tx_id, t, n);
  case A_MVMNT: {
    int k = custody__code4(t, n, "RECEDELI"); /* in the order of enum custody_direction */
    if (k < 0)
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not RECE or DELI");
    o->direction = (enum custody_direction)(k + 1);
    return 0;
  }
  case A_PMT: {
    int k = custody__code4(t, n, "APMTFREE");
    if (k < 0)
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not APMT or FREE");
    o->against_payment = k == 0;
    return 0;
  }
  case A_DT: {
    int32_t day;
    if (custody__date(t, n, &day) != 0)
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not a date YYYY-MM-DD");
    return set_day(s, x, day);
  }
  case A_DTTM: {
    int64_t ms;
    int32_t day;
    if (custody__datetime(t, n, &ms, &day) != 0)
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not a date and time");
    return set_day(s, x, day);
  }
  case A_ISIN:
    if (!custody__isin_ok(t, n))
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not an ISIN");
    memcpy(o->isin, t, CUSTODY_ISIN_LEN);
    o->isin[CUSTODY_ISIN_LEN] = '\0';
    return 0;
  case A_UNIT:
    return put_qty(x, &o->qty, CUSTODY_QTY_UNIT, t, n);
  case A_FACE:
    return put_qty(x, &o->qty, CUSTODY_QTY_FACE_AMT, t, n);
  case A_AMTSD:
    return put_qty(x, &o->qty, CUSTODY_QTY_AMTSD_VAL, t, n);
  case A_DGTL:
    return put_qty(x, &o->qty, CUSTODY_QTY_DGTL_TKN_UNIT, t, n);
  case A_OCF_FACE: {
    struct money m;
    if (custody__decimal(t, n, CUSTODY_QTY_SCALE, 5, 18, &m) != 0)
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not a face amount");
    return 0;
  }
  case A_OWNR_BIC:
  case A_SVCR_BIC:
    if (!custody__bic_ok(t, n))
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not a BIC");
    if (act == A_OWNR_BIC)
      return put_id(x, o->account_owner, t, n);
    return s->our_side ? put_id(x, o->account_servicer, t, n) : 0;
  case A_OWNR_ID:
    /* PrtryId/Id: the owner's, or in our side's Pty1 the servicer's */
    if (s->in_pty1)
      return s->our_side ? put_id(x, o->account_servicer, t, n) : 0;
    return put_id(x, o->account_owner, t, n);
  case A_SVCR_NM: {
    if (!s->our_side)
      return 0;
    size_t cut = n < CUSTODY_ID_MAX - 1 ? n : CUSTODY_ID_MAX - 1;
    while (cut < n && cut > 0 && ((unsigned char)t[cut] & 0xC0) == 0x80)
      cut--;
    return put_id(x, o->account_servicer, t, cut);
  }
  case A_SFK_ID:
    return put_id(x, o->safekeeping_account, t, n);
  case A_AMT:
    if (custody__decimal(t, n, 2, 2, 18, &o->amount) != 0)
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL,
                               "settled amount not a decimal of at most 2 fraction digits");
    return 0;
  case A_CDI:
    if (n != 4 || (memcmp(t, "CRDT", 4) != 0 && memcmp(t, "DBIT", 4) != 0))
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "not CRDT or DBIT");
    return 0;
  default:
    return 0;
  }
}

static int sese_action(void *cls, struct custody__xml *x, unsigned act,
                       enum custody__xml_phase phase, const char *t, size_t n)
{
  struct sese *s = cls;
  bool start = phase == CUSTODY__XML_START;
  if (phase == CUSTODY__XML_LEAF)
    return sese_leaf(s, x, act, t, n);
  switch (act) {
  case A_TRADDT:
  case A_SETDT:
    s->which = start ? (int)act : 0;
    return 0;
  case A_SETDT_CD:
    return start ? custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL,
                                     "settlement date given as a code, not a date")
                 : 0;
  case A_RCVG:
  case A_DLVR:
    s->our_side = start && ((act == A_RCVG && s->out->direction == CUSTODY_RECEIVE) ||
                            (act == A_DLVR && s->out->direction == CUSTODY_DELIVER));
    return 0;
  case A_PTY1:
    s->in_pty1 = start;
    return 0;
  case A_AMT: {
    char ccy[8];
    int k = custody__xml_attr(x, "Ccy", ccy, sizeof ccy);
    if (k != 3 || ccy[0] < 'A' || ccy[0] > 'Z' || ccy[1] < 'A' || ccy[1] > 'Z' || ccy[2] < 'A' ||
        ccy[2] > 'Z')
      return custody__xml_fail(x, -ERR_CUSTODY_VALUE, NULL, "Ccy is not a currency code");
    memcpy(s->out->currency, ccy, 4);
    return 0;
  }
  case A_CONF:
    if (!start && s->out->isin[0] == '\0')
      return custody__xml_fail(x, -ERR_CUSTODY_MISSING, "FinInstrmId/ISIN", "an ISIN is required");
    return 0;
  default:
    return 0;
  }
}

static const struct custody__xml_schema sese_schema = {
    .ns = SESE025_NS, .types = sese_types, .n_types = T_COUNT, .action = sese_action};

int custody_sese025_parse_mem(const char *buf, size_t len, const struct custody_limits *lim,
                              struct custody_settlement *out, struct custody_error *err)
{
  if (out == NULL || (buf == NULL && len > 0)) {
    if (err != NULL) {
      memset(err, 0, sizeof *err);
      err->code = -ERR_INVALID_ARGUMENT;
    }
    return -ERR_INVALID_ARGUMENT;
  }
  struct custody_settlement o;
  memset(&o, 0, sizeof o);
  o.trade_day = INT32_MIN;
  o.amount.scale = 2;
  struct sese s = {.out = &o};
  int rc = custody__xml_parse(-1, buf != NULL ? buf : "", len, lim, &sese_schema, &s, err);
  if (rc == 0)
    *out = o;
  return rc;
}

int custody_sese025_write(FILE *out, const struct custody_settlement *s)
{
  char qty[MONEY_STR_MAX], amt[MONEY_STR_MAX];
  if (out == NULL || s == NULL)
    return -ERR_INVALID_ARGUMENT;
  const char *ids[] = {s->tx_id, s->servicer_tx_id, s->account_owner, s->account_servicer,
                       s->safekeeping_account};
  for (size_t i = 0; i < 5; i++)
    if (memchr(ids[i], '\0', CUSTODY_ID_MAX) == NULL ||
        (ids[i][0] != '\0' && !custody__text_ok(ids[i], 35)))
      return -ERR_INVALID_ARGUMENT;
  unsigned scale, frac, total;
  int32_t lo, hi;
  cal_day(CAL_YEAR_MIN, 1, 1, &lo);
  cal_day(CAL_YEAR_MAX, 12, 31, &hi);
  if (s->tx_id[0] == '\0' || !custody__isin_ok(s->isin, strnlen(s->isin, sizeof s->isin)) ||
      !s->qty.present || !custody__qty_limits(s->qty.kind, &scale, &frac, &total) ||
      s->qty.qty.scale != scale || s->qty.qty.v < 0 ||
      custody__money_text(s->qty.qty, frac, total, qty) < 0 ||
      (s->direction != CUSTODY_RECEIVE && s->direction != CUSTODY_DELIVER) ||
      s->settlement_day < lo || s->settlement_day > hi ||
      (s->trade_day != INT32_MIN && (s->trade_day < lo || s->trade_day > hi)))
    return -ERR_INVALID_ARGUMENT;
  if (s->against_payment) {
    const char *c = s->currency;
    if (strnlen(c, sizeof s->currency) != 3 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' ||
        c[1] > 'Z' || c[2] < 'A' || c[2] > 'Z' || s->amount.scale != 2 ||
        custody__money_text(s->amount, 2, 18, amt) < 0)
      return -ERR_INVALID_ARGUMENT;
  }
  bool rece = s->direction == CUSTODY_RECEIVE;
  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"" SESE025_NS "\">\n"
        "<SctiesSttlmTxConf>\n<TxIdDtls>",
        out);
  custody__put_elem(out, "AcctOwnrTxId", s->tx_id);
  if (s->servicer_tx_id[0] != '\0')
    custody__put_elem(out, "AcctSvcrTxId", s->servicer_tx_id);
  fprintf(out, "<SctiesMvmntTp>%s</SctiesMvmntTp><Pmt>%s</Pmt></TxIdDtls>\n<TradDtls>",
          rece ? "RECE" : "DELI", s->against_payment ? "APMT" : "FREE");
  if (s->trade_day != INT32_MIN) {
    fputs("<TradDt><Dt><Dt>", out);
    custody__put_date(out, s->trade_day);
    fputs("</Dt></Dt></TradDt>", out);
  }
  fputs("<FctvSttlmDt><Dt><Dt>", out);
  custody__put_date(out, s->settlement_day);
  fprintf(out, "</Dt></Dt></FctvSttlmDt></TradDtls>\n<FinInstrmId><ISIN>%s</ISIN></FinInstrmId>\n",
          s->isin);
  fputs("<QtyAndAcctDtls><SttldQty><Qty>", out);
  custody__put_qty(out, &s->qty);
  fputs("</Qty></SttldQty>", out);
  if (s->account_owner[0] != '\0') {
    fputs("<AcctOwnr><Id>", out);
    custody__put_party(out, s->account_owner, s->account_servicer);
    fputs("</Id></AcctOwnr>", out);
  }
  if (s->safekeeping_account[0] != '\0') {
    fputs("<SfkpgAcct>", out);
    custody__put_elem(out, "Id", s->safekeeping_account);
    fputs("</SfkpgAcct>", out);
  }
  fputs("</QtyAndAcctDtls>\n<SttlmParams><SctiesTxTp><Cd>TRAD</Cd></SctiesTxTp></SttlmParams>\n",
        out);
  if (s->account_servicer[0] != '\0') {
    const char *side = rece ? "RcvgSttlmPties" : "DlvrgSttlmPties";
    fprintf(out, "<%s><Pty1><Id>", side);
    custody__put_party(out, s->account_servicer, NULL);
    fprintf(out, "</Id></Pty1></%s>\n", side);
  }
  if (s->against_payment)
    fprintf(out, "<SttldAmt><Amt Ccy=\"%s\">%s</Amt><CdtDbtInd>%s</CdtDbtInd></SttldAmt>\n",
            s->currency, amt, rece ? "DBIT" : "CRDT");
  fputs("</SctiesSttlmTxConf>\n</Document>\n", out);
  return ferror(out) ? -ERR_IO : 0;
}
