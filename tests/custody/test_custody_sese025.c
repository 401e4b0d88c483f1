/*
 * Tests of the sese.025.001.11 settlement confirmation parser and writer
 * (custody/custody_sese025.c): written confirmations validate against
 * sese.025.001.11.xsd (libxml2) and parse back field for field; the
 * schema's other shapes for the same fields, written by hand, parse to
 * the same figures; bad and hostile documents give their exact errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include "custody/custody.h"

#define NS "urn:iso:std:iso:20022:tech:xsd:sese.025.001.11"

static xmlSchemaPtr schema;

static void schema_error(void *ctx, xmlErrorPtr e)
{
  char *msg = ctx;
  if (msg[0] == '\0')
    snprintf(msg, 512, "line %d: %s", e->line, e->message);
}

/* libxml2 validates decimals of at most 24 digits (see test_custody_semt002.c). */
static void assert_valid(const char *doc, size_t len)
{
  static char msg[512];
  msg[0] = '\0';
  if (schema == NULL) {
    const char *root = getenv("BACKSTOCK_TEST_SOURCE_ROOT");
    if (root == NULL)
      fail_msg("BACKSTOCK_TEST_SOURCE_ROOT is not set (run through meson test)");
    char path[4096];
    snprintf(path, sizeof path, "%s/../shared/data/iso20022/sese.025.001.11.xsd", root);
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(path);
    assert_non_null(pc);
    schema = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    assert_non_null(schema);
  }
  xmlDocPtr d = xmlReadMemory(doc, (int)len, "doc.xml", NULL, XML_PARSE_NONET);
  assert_non_null(d);
  xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
  xmlSchemaSetValidStructuredErrors(vc, schema_error, msg);
  int rc = xmlSchemaValidateDoc(vc, d);
  xmlSchemaFreeValidCtxt(vc);
  xmlFreeDoc(d);
  if (rc != 0)
    fail_msg("not valid against sese.025.001.11.xsd: %s\n%.*s", msg, (int)len, doc);
}

static int32_t day(int y, unsigned m, unsigned d)
{
  int32_t out;
  assert_int_equal(cal_day(y, m, d, &out), 0);
  return out;
}

static struct custody_qty qty(enum custody_qty_kind kind, const char *dec)
{
  struct custody_qty q = {.present = true, .kind = kind};
  unsigned scale = kind == CUSTODY_QTY_DGTL_TKN_UNIT ? CUSTODY_DGTL_SCALE : CUSTODY_QTY_SCALE;
  assert_int_equal(money_parse(dec, strlen(dec), scale, 0, &q.qty), 0);
  return q;
}

static struct money cash(const char *dec)
{
  struct money m;
  assert_int_equal(money_parse(dec, strlen(dec), 2, 0, &m), 0);
  return m;
}

static void assert_eq(const struct custody_settlement *a, const struct custody_settlement *b)
{
  assert_string_equal(a->tx_id, b->tx_id);
  assert_string_equal(a->servicer_tx_id, b->servicer_tx_id);
  assert_string_equal(a->account_owner, b->account_owner);
  assert_string_equal(a->account_servicer, b->account_servicer);
  assert_string_equal(a->safekeeping_account, b->safekeeping_account);
  assert_string_equal(a->isin, b->isin);
  assert_int_equal(a->qty.present, b->qty.present);
  assert_int_equal(a->qty.kind, b->qty.kind);
  assert_int_equal(a->qty.shrt, b->qty.shrt);
  assert_int_equal(a->qty.qty.scale, b->qty.qty.scale);
  assert_true(a->qty.qty.v == b->qty.qty.v);
  assert_int_equal(a->direction, b->direction);
  assert_int_equal(a->against_payment, b->against_payment);
  assert_int_equal(a->trade_day, b->trade_day);
  assert_int_equal(a->settlement_day, b->settlement_day);
  assert_int_equal(a->amount.scale, b->amount.scale);
  assert_true(a->amount.v == b->amount.v);
  assert_string_equal(a->currency, b->currency);
}

static char *write_doc(const struct custody_settlement *s, size_t *len)
{
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  assert_non_null(f);
  assert_int_equal(custody_sese025_write(f, s), 0);
  fclose(f);
  return buf;
}

static void base(struct custody_settlement *s)
{
  memset(s, 0, sizeof *s);
  snprintf(s->tx_id, sizeof s->tx_id, "BS1042");
  snprintf(s->servicer_tx_id, sizeof s->servicer_tx_id, "CUST-77 & <8>");
  snprintf(s->account_owner, sizeof s->account_owner, "ISSUER-0001");
  snprintf(s->account_servicer, sizeof s->account_servicer, "EXAMCHZZXXX");
  snprintf(s->safekeeping_account, sizeof s->safekeeping_account, "OMNI-TOKEN-RESERVE-01");
  snprintf(s->isin, sizeof s->isin, "US0378331005");
  s->qty = qty(CUSTODY_QTY_UNIT, "1500");
  s->direction = CUSTODY_RECEIVE;
  s->against_payment = true;
  s->trade_day = day(2025, 6, 27);
  s->settlement_day = day(2025, 6, 30);
  s->amount = cash("284250.5");
  snprintf(s->currency, sizeof s->currency, "USD");
}

static void roundtrip(const struct custody_settlement *s)
{
  size_t len;
  char *doc = write_doc(s, &len);
  assert_valid(doc, len);
  struct custody_settlement got;
  struct custody_error err;
  int rc = custody_sese025_parse_mem(doc, len, NULL, &got, &err);
  if (rc != 0)
    fail_msg("parse: %d %s at %s\n%s", rc, err.msg, err.where, doc);
  assert_int_equal(err.code, 0);
  assert_eq(&got, s);
  free(doc);
}

static void test_roundtrip(void **state)
{
  (void)state;
  struct custody_settlement s;
  base(&s);
  roundtrip(&s);

  /* a delivery free of payment, no trade date, no servicer or owner, fractional shares */
  base(&s);
  s.direction = CUSTODY_DELIVER;
  s.against_payment = false;
  s.amount = cash("0");
  s.currency[0] = '\0';
  s.trade_day = INT32_MIN;
  s.servicer_tx_id[0] = s.account_servicer[0] = s.account_owner[0] = '\0';
  s.qty = qty(CUSTODY_QTY_UNIT, "0.12345678901234567");
  roundtrip(&s);

  /* BIC owner, proprietary servicer, face amount, a delivery against payment */
  base(&s);
  s.direction = CUSTODY_DELIVER;
  snprintf(s.account_owner, sizeof s.account_owner, "OWNRUS33XXX");
  snprintf(s.account_servicer, sizeof s.account_servicer, "Custodian Bank N.A.");
  s.qty = qty(CUSTODY_QTY_FACE_AMT, "1000000.12345");
  s.amount = cash("0.01");
  snprintf(s.currency, sizeof s.currency, "EUR");
  roundtrip(&s);

  /* digital token units (within the 24 digits libxml2 validates) */
  base(&s);
  s.qty = qty(CUSTODY_QTY_DGTL_TKN_UNIT, "12.0000000000000000000001");
  roundtrip(&s);
  s.qty = qty(CUSTODY_QTY_AMTSD_VAL, "999.99999");
  roundtrip(&s);

  /* the writer refuses what would not validate */
  char *buf = NULL;
  size_t len;
  FILE *f = open_memstream(&buf, &len);
  struct custody_settlement b;
  base(&b);
  b.isin[0] = 'u';
  assert_int_equal(custody_sese025_write(f, &b), -ERR_INVALID_ARGUMENT);
  base(&b);
  b.tx_id[0] = '\0';
  assert_int_equal(custody_sese025_write(f, &b), -ERR_INVALID_ARGUMENT);
  base(&b);
  b.direction = 0;
  assert_int_equal(custody_sese025_write(f, &b), -ERR_INVALID_ARGUMENT);
  base(&b);
  b.currency[0] = 'u';
  assert_int_equal(custody_sese025_write(f, &b), -ERR_INVALID_ARGUMENT);
  base(&b);
  b.amount.scale = 3;
  assert_int_equal(custody_sese025_write(f, &b), -ERR_INVALID_ARGUMENT);
  base(&b);
  b.qty.qty.scale = 2;
  assert_int_equal(custody_sese025_write(f, &b), -ERR_INVALID_ARGUMENT);
  base(&b);
  b.qty = qty(CUSTODY_QTY_UNIT, "1000000000000000000");
  assert_int_equal(custody_sese025_write(f, &b), -ERR_INVALID_ARGUMENT);
  base(&b);
  b.settlement_day = day(1900, 1, 1) - 1;
  assert_int_equal(custody_sese025_write(f, &b), -ERR_INVALID_ARGUMENT);
  base(&b);
  snprintf(b.safekeeping_account, sizeof b.safekeeping_account, "tab\x01");
  assert_int_equal(custody_sese025_write(f, &b), -ERR_INVALID_ARGUMENT);
  fclose(f);
  assert_int_equal(len, 0);
  free(buf);
}

#define DOC_HEAD "<Document xmlns=\"" NS "\"><SctiesSttlmTxConf>"
#define DOC_TAIL "</SctiesSttlmTxConf></Document>"
#define TXID(dir, pmt)                                                                             \
  "<TxIdDtls><AcctOwnrTxId>T1</AcctOwnrTxId><SctiesMvmntTp>" dir "</SctiesMvmntTp><Pmt>" pmt       \
  "</Pmt></TxIdDtls>"
#define FIN   "<FinInstrmId><ISIN>US88160R1014</ISIN><Desc>TESLA</Desc></FinInstrmId>"
#define PARMS "<SttlmParams><SctiesTxTp><Cd>TRAD</Cd></SctiesTxTp></SttlmParams>"

/* The schema's alternatives for the same fields. */
static void test_shapes(void **state)
{
  (void)state;
  static const char doc[] = DOC_HEAD TXID(
      "DELI",
      "APMT") "<TradDtls><TradId>X</TradId><TradDt><DtCd><Cd>VARI</Cd></DtCd></TradDt>"
              "<FctvSttlmDt><Dt><DtTm>2025-06-30T23:30:00-05:00</DtTm></Dt></FctvSttlmDt></"
              "TradDtls>" FIN "<QtyAndAcctDtls><SttldQty><OrgnlAndCurFace><FaceAmt>100</"
              "FaceAmt><AmtsdVal>75.5</AmtsdVal>"
              "</OrgnlAndCurFace></SttldQty><AcctOwnr><Id><PrtryId><Id>OWNER 1</Id><Issr>X</Issr>"
              "</PrtryId></Id></AcctOwnr><SfkpgAcct><Id>SAFE-2</Id></SfkpgAcct></"
              "QtyAndAcctDtls>" PARMS "<DlvrgSttlmPties><Dpstry><Id><AnyBIC>DTCYUS33</AnyBIC></"
              "Id></Dpstry><Pty1><Id><PrtryId>"
              "<Id>OUR-CUSTODIAN</Id><Issr>X</Issr></PrtryId></Id></Pty1></DlvrgSttlmPties>"
              "<RcvgSttlmPties><Pty1><Id><AnyBIC>THEMUS33</AnyBIC></Id></Pty1></RcvgSttlmPties>"
              "<SttldAmt><Amt Ccy=\"CHF\"> 12.50 "
              "</Amt><CdtDbtInd>CRDT</CdtDbtInd></SttldAmt>" DOC_TAIL;
  struct custody_settlement s;
  struct custody_error err;
  int rc = custody_sese025_parse_mem(doc, sizeof doc - 1, NULL, &s, &err);
  if (rc != 0)
    fail_msg("%d %s at %s", rc, err.msg, err.where);
  assert_string_equal(s.tx_id, "T1");
  assert_string_equal(s.servicer_tx_id, "");
  assert_int_equal(s.direction, CUSTODY_DELIVER);
  assert_true(s.against_payment);
  assert_int_equal(s.trade_day, INT32_MIN);
  assert_int_equal(s.settlement_day, day(2025, 6, 30)); /* the date as written */
  assert_string_equal(s.isin, "US88160R1014");
  assert_int_equal(s.qty.kind, CUSTODY_QTY_AMTSD_VAL);
  struct custody_qty want = qty(CUSTODY_QTY_AMTSD_VAL, "75.5");
  assert_true(s.qty.qty.v == want.qty.v);
  assert_string_equal(s.account_owner, "OWNER 1");
  assert_string_equal(s.safekeeping_account, "SAFE-2");
  assert_string_equal(s.account_servicer, "OUR-CUSTODIAN");
  assert_true(s.amount.v == 1250 && s.amount.scale == 2);
  assert_string_equal(s.currency, "CHF");

  /* receipt: the receiving side's party, a name; dates with DtTm and Dt */
  static const char doc2[] = DOC_HEAD TXID(
      "RECE",
      "FREE") "<TradDtls><TradDt><Dt><DtTm>2025-06-27T10:00:00</DtTm></Dt></TradDt>"
              "<FctvSttlmDt><Dt><Dt>2025-06-30</Dt></Dt></FctvSttlmDt></TradDtls>" FIN
              "<QtyAndAcctDtls><SttldQty><Qty><DgtlTknUnit>0.00000000000000000000000000001</"
              "DgtlTknUnit>"
              "</Qty></SttldQty></QtyAndAcctDtls>" PARMS
              "<DlvrgSttlmPties><Pty1><Id><AnyBIC>THEMUS33</AnyBIC></Id></Pty1></DlvrgSttlmPties>"
              "<RcvgSttlmPties><Pty1><Id><NmAndAdr><Nm>Our Custodian With A Rather Long Legal Name "
              "Ltd"
              "</Nm></NmAndAdr></Id></Pty1></RcvgSttlmPties>" DOC_TAIL;
  rc = custody_sese025_parse_mem(doc2, sizeof doc2 - 1, NULL, &s, &err);
  if (rc != 0)
    fail_msg("%d %s at %s", rc, err.msg, err.where);
  assert_int_equal(s.direction, CUSTODY_RECEIVE);
  assert_false(s.against_payment);
  assert_int_equal(s.trade_day, day(2025, 6, 27));
  assert_int_equal(s.settlement_day, day(2025, 6, 30));
  assert_int_equal(s.qty.kind, CUSTODY_QTY_DGTL_TKN_UNIT);
  assert_int_equal(s.qty.qty.scale, 29);
  assert_true(s.qty.qty.v == 1);
  assert_string_equal(s.account_servicer, "Our Custodian With A Rather Long Le");
  assert_string_equal(s.account_owner, "");
  assert_true(s.amount.v == 0 && s.amount.scale == 2);
  assert_string_equal(s.currency, "");
}

struct bad_case {
  const char *doc;
  int code;
  const char *where;
};

static void test_bad(void **state)
{
  (void)state;
  static const struct bad_case cases[] = {
      {DOC_HEAD
       "<TxIdDtls><SctiesMvmntTp>RECE</SctiesMvmntTp><Pmt>FREE</Pmt></TxIdDtls>"
       "<TradDtls><FctvSttlmDt><Dt><Dt>2025-06-30</Dt></Dt></FctvSttlmDt></TradDtls>" FIN
       "<QtyAndAcctDtls><SttldQty><Qty><Unit>1</Unit></Qty></SttldQty></QtyAndAcctDtls>" PARMS
           DOC_TAIL,
       -ERR_CUSTODY_MISSING, "TxIdDtls/AcctOwnrTxId"},
      {DOC_HEAD TXID(
           "RECE",
           "FREE") "<TradDtls><FctvSttlmDt><Dt><Dt>2025-06-30</Dt></Dt></FctvSttlmDt></TradDtls>"
                   "<FinInstrmId><Desc>X</Desc></FinInstrmId>"
                   "<QtyAndAcctDtls><SttldQty><Qty><Unit>1</Unit></Qty></SttldQty></"
                   "QtyAndAcctDtls>" PARMS DOC_TAIL,
       -ERR_CUSTODY_MISSING, "FinInstrmId/ISIN"},
      {DOC_HEAD TXID("RECE", "FREE") "<TradDtls></TradDtls>" FIN
                                     "<QtyAndAcctDtls><SttldQty><Qty><Unit>1</Unit></Qty>"
                                     "</SttldQty></QtyAndAcctDtls>" PARMS DOC_TAIL,
       -ERR_CUSTODY_MISSING, "TradDtls/FctvSttlmDt"},
      {DOC_HEAD TXID(
           "RECE",
           "FREE") "<TradDtls><FctvSttlmDt><DtCd><Id>ABCD</Id><Issr>X</Issr></DtCd></FctvSttlmDt>"
                   "</TradDtls>" FIN "<QtyAndAcctDtls><SttldQty><Qty><Unit>1</Unit></Qty></"
                   "SttldQty></QtyAndAcctDtls>" PARMS DOC_TAIL,
       -ERR_CUSTODY_VALUE, "TradDtls/FctvSttlmDt/DtCd"},
      {DOC_HEAD TXID("SEND", "FREE") DOC_TAIL, -ERR_CUSTODY_VALUE, "TxIdDtls/SctiesMvmntTp"},
      {DOC_HEAD TXID("RECE", "DVP") DOC_TAIL, -ERR_CUSTODY_VALUE, "TxIdDtls/Pmt"},
      {DOC_HEAD TXID(
           "RECE",
           "FREE") "<TradDtls><FctvSttlmDt><Dt><Dt>2025-06-30</Dt></Dt></FctvSttlmDt></TradDtls>"
                   "<FinInstrmId><ISIN>US88160R101</ISIN></FinInstrmId>" DOC_TAIL,
       -ERR_CUSTODY_VALUE, "FinInstrmId/ISIN"},
      {DOC_HEAD TXID("RECE", "FREE") "<TradDtls><FctvSttlmDt><Dt><Dt>2025-06-30</Dt></Dt></"
                                     "FctvSttlmDt></TradDtls>" FIN
                                     "<QtyAndAcctDtls><SttldQty><Qty><Unit>1.123456789012345678</"
                                     "Unit></Qty></SttldQty>"
                                     "</QtyAndAcctDtls>" DOC_TAIL,
       -ERR_CUSTODY_VALUE, "QtyAndAcctDtls/SttldQty/Qty/Unit"},
      {DOC_HEAD TXID(
           "RECE", "APMT") "<TradDtls><FctvSttlmDt><Dt><Dt>2025-06-30</Dt></Dt></FctvSttlmDt></"
                           "TradDtls>" FIN "<QtyAndAcctDtls><SttldQty><Qty><Unit>1</Unit></Qty></"
                           "SttldQty></QtyAndAcctDtls>" PARMS "<SttldAmt><Amt "
                           "Ccy=\"USD\">1.005</Amt><CdtDbtInd>DBIT</CdtDbtInd></SttldAmt>" DOC_TAIL,
       -ERR_CUSTODY_VALUE, "SttldAmt/Amt"},
      {DOC_HEAD TXID(
           "RECE", "APMT") "<TradDtls><FctvSttlmDt><Dt><Dt>2025-06-30</Dt></Dt></FctvSttlmDt></"
                           "TradDtls>" FIN "<QtyAndAcctDtls><SttldQty><Qty><Unit>1</Unit></Qty></"
                           "SttldQty></QtyAndAcctDtls>" PARMS
                           "<SttldAmt><Amt>1</Amt><CdtDbtInd>DBIT</CdtDbtInd></SttldAmt>" DOC_TAIL,
       -ERR_CUSTODY_VALUE, "SttldAmt/Amt"},
      {DOC_HEAD TXID("RECE", "FREE") "<TradDtls><FctvSttlmDt><Dt><Dt>2025-06-31</Dt></Dt></"
                                     "FctvSttlmDt></TradDtls>" DOC_TAIL,
       -ERR_CUSTODY_VALUE, "TradDtls/FctvSttlmDt/Dt/Dt"},
      {"<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:sese.025.001.10\"/>",
       -ERR_CUSTODY_NAMESPACE, NULL},
      {"<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:semt.002.001.11\"/>",
       -ERR_CUSTODY_NAMESPACE, NULL},
      {"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>" DOC_HEAD "&e;" DOC_TAIL,
       -ERR_CUSTODY_FORBIDDEN, NULL},
      {DOC_HEAD "<TxIdDtls><AcctOwnrTxId>&e;</AcctOwnrTxId></TxIdDtls>" DOC_TAIL,
       -ERR_CUSTODY_FORBIDDEN, NULL},
      {DOC_HEAD TXID("RECE", "FREE") "<TradDtls>", -ERR_CUSTODY_XML, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct custody_settlement s;
    memset(&s, 0x5A, sizeof s);
    struct custody_settlement before = s;
    struct custody_error err;
    int rc = custody_sese025_parse_mem(cases[i].doc, strlen(cases[i].doc), NULL, &s, &err);
    if (rc != cases[i].code || err.code != rc ||
        (cases[i].where != NULL && strcmp(err.where, cases[i].where) != 0))
      fail_msg("case %zu: rc %d at %s (%s), want %d at %s", i, rc, err.where, err.msg,
               cases[i].code, cases[i].where != NULL ? cases[i].where : "-");
    assert_memory_equal(&s, &before, sizeof s); /* untouched on error */
  }

  /* limits apply as to statements */
  struct custody_settlement s, g;
  base(&s);
  size_t len;
  char *doc = write_doc(&s, &len);
  struct custody_limits lim;
  custody_limits_default(&lim);
  lim.max_bytes = len - 1;
  struct custody_error err;
  assert_int_equal(custody_sese025_parse_mem(doc, len, &lim, &g, &err), -ERR_CUSTODY_TOO_LARGE);
  custody_limits_default(&lim);
  lim.max_depth = 3;
  assert_int_equal(custody_sese025_parse_mem(doc, len, &lim, &g, &err), -ERR_CUSTODY_DEPTH);
  custody_limits_default(&lim);
  lim.max_text = 5;
  assert_int_equal(custody_sese025_parse_mem(doc, len, &lim, &g, &err), -ERR_CUSTODY_TEXT_LONG);
  /* every truncation is malformed */
  const char *end = strstr(doc, "</Document>");
  size_t full = (size_t)(end - doc) + strlen("</Document>");
  for (size_t n = 0; n < full; n++) {
    int rc = custody_sese025_parse_mem(doc, n, NULL, &g, &err);
    if (rc != -ERR_CUSTODY_XML)
      fail_msg("prefix %zu: %d %s", n, rc, err.msg);
  }
  free(doc);
  assert_int_equal(custody_sese025_parse_mem(NULL, 1, NULL, &g, &err), -ERR_INVALID_ARGUMENT);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_shapes),
      cmocka_unit_test(test_bad),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  if (schema != NULL)
    xmlSchemaFree(schema);
  xmlCleanupParser();
  return rc;
}
