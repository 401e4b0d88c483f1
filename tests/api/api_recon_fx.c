/*
 * The reconciliation fixture of the API suites (tests/api/api_recon_fx.h):
 * the instrument, its ledger and the custodian's statements, planted as
 * tests/reconcile/test_recon.c and test_attest.c do.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "chain/chain.h"
#include "custody/custody.h"
#include "reconcile/reconcile.h"
#include "tests/api/api_recon_fx.h"

static struct money amt(const char *s, unsigned scale)
{
  struct money m;
  assert_int_equal(money_parse(s, strlen(s), scale, 0, &m), 0);
  return m;
}

void rfx_plant(struct tl_server *s)
{
  ts_sql(s->conn,
         "INSERT INTO instruments (symbol, isin, token_symbol, token_decimals, mint_policy,"
         " burn_policy, min_order_qty, max_order_qty, market_open, market_close, cutoff,"
         " out_of_hours) VALUES ('AAPL', '" RFX_ISIN "', 'AAPLx', 6, 'at_fill', 'on_receipt', 1,"
         " 1000, '09:30', '16:00', '15:30', 'refuse')");
  struct chain_ledger *l = NULL;
  assert_int_equal(chain_builtin_open(s->conn, &l), 0);
  struct chain_token t = {"AAPLx", 6, "Apple tokenized"};
  assert_int_equal(chain_token_register(l, &t), 0);
  struct chain_intent in;
  assert_int_equal(chain_mint(l, "m1", "AAPLx", RFX_A1, amt("100", 6), &in), 0);
  assert_int_equal(chain_mint(l, "m2", "AAPLx", RFX_A2, amt("250.5", 6), &in), 0);
  assert_int_equal(chain_mint(l, "m3", "AAPLx", RFX_A3, amt("49.5", 6), &in), 0);
  chain_ledger_free(l);
  ts_sql(s->conn, "UPDATE chain_transfers SET executed_at = '2026-03-01 20:00:00+00'");
}

void rfx_statement(struct tl_server *s, const char *id, unsigned day, long long shares,
                   long long other)
{
  struct custody_stmt st;
  struct custody_position p[2];
  struct custody_ingest res;
  struct custody_store *cs = NULL;
  int32_t d;
  char *buf = NULL, num[32];
  size_t len = 0, n = other != 0 ? 2 : 1;
  assert_int_equal(cal_day(2026, 3, day, &d), 0);
  memset(&st, 0, sizeof st);
  st.kind = CUSTODY_KIND_SEMT002;
  util_strlcpy(st.stmt_id, id, sizeof st.stmt_id);
  st.page_no = 1;
  st.last_page = true;
  st.stmt_day = d;
  st.stmt_ms = (int64_t)d * 86400000 + 22 * 3600000;
  st.stmt_has_time = true;
  util_strlcpy(st.frequency, "DAIL", sizeof st.frequency);
  st.update = CUSTODY_UPDATE_COMPLETE;
  st.basis = CUSTODY_BASIS_SETT;
  util_strlcpy(st.account_owner, "ISSUER-1", sizeof st.account_owner);
  util_strlcpy(st.account_servicer, "BANKUS33XXX", sizeof st.account_servicer);
  util_strlcpy(st.safekeeping_account, "RESERVE-1", sizeof st.safekeeping_account);
  memset(p, 0, sizeof p);
  util_strlcpy(p[0].isin, RFX_ISIN, sizeof p[0].isin);
  snprintf(num, sizeof num, "%lld", shares);
  p[0].aggregate = (struct custody_qty){true, CUSTODY_QTY_UNIT, amt(num, CUSTODY_QTY_SCALE), false};
  util_strlcpy(p[1].isin, RFX_OTHER, sizeof p[1].isin);
  snprintf(num, sizeof num, "%lld", other);
  p[1].aggregate = (struct custody_qty){true, CUSTODY_QTY_UNIT, amt(num, CUSTODY_QTY_SCALE), false};
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  assert_int_equal(custody_semt002_write_begin(f, &st), 0);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(custody_semt002_write_position(f, &p[i]), 0);
  assert_int_equal(custody_semt002_write_end(f), 0);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(custody_store_open(s->conn, "BANKUS33XXX", "RESERVE-1", NULL, &cs), 0);
  assert_int_equal(custody_ingest_mem(cs, buf, len, id, &res), 0);
  assert_int_equal(res.outcome, CUSTODY_INGESTED);
  custody_store_free(cs);
  free(buf);
}

unsigned rfx_recon(struct tl_server *s)
{
  struct recon_stats st;
  assert_int_equal(recon_step(s->conn, 0, &st), 0);
  return st.runs;
}

struct sink {
  char *buf;
  size_t len;
  bool over;
};

static size_t sink_write(char *p, size_t size, size_t n, void *cls)
{
  struct sink *k = cls;
  size_t add = size * n;
  if (k->len + add > ((size_t)32 << 20)) {
    k->over = true;
    return 0;
  }
  char *nb = realloc(k->buf, k->len + add + 1);
  if (nb == NULL)
    return 0;
  memcpy(nb + k->len, p, add);
  k->buf = nb;
  k->len += add;
  k->buf[k->len] = '\0';
  return add;
}

long rfx_get(uint16_t port, const char *path, const char *key, char **body, size_t *len, char *ct,
             size_t ct_size)
{
  char url[1024], auth[256];
  struct sink k = {NULL, 0, false};
  struct curl_slist *h = NULL;
  long status = 0;
  char *type = NULL;
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
  CURL *c = curl_easy_init();
  assert_non_null(c);
  if (key != NULL) {
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
    h = curl_slist_append(h, auth);
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK)
    fail_msg("GET %s: %s", path, curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
  util_strlcpy(ct, type != NULL ? type : "", ct_size);
  curl_easy_cleanup(c);
  curl_slist_free_all(h);
  if (k.buf == NULL) {
    k.buf = calloc(1, 1);
    assert_non_null(k.buf);
  }
  *body = k.buf;
  *len = k.len;
  return status;
}
