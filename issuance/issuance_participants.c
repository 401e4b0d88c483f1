/*
 * Participants: the wallets an AP may mint to and redeem from, the
 * Ed25519 keys it signs order instructions with, and the check of a
 * signed instruction (tables ap_wallets and ap_signing_keys of
 * migrations/0013-orders.sql; docs/participants.md).
 *
 * Invariants: an address is stored in lower case and belongs to one AP
 * for good (a revoked wallet can only be made active again by the same
 * AP's admin); a public key is registered once, by one AP, and is a valid
 * Ed25519 point; a revoked key never verifies again.  Every refusal of a
 * signature is the same -ERR_ORDER_SIGNATURE (no oracle on which part was
 * wrong); the verification is libsodium's crypto_sign_verify_detached().
 * Limits and the balances list live in issuance_participants_limits.c.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chain/chain.h"
#include "issuance/issuance_int.h"

#define MS(x) "floor(extract(epoch FROM " x ") * 1000)::bigint"

#define WALLET_COLS "id, ap, address, label, " MS("created") ", " MS("revoked_at")
#define KEY_COLS    "id, ap, public_key, label, " MS("created") ", " MS("revoked_at")

/*
 * Wallets and signing keys alike: an AP's row @id ($1) revoked once, read
 * and listed, all APs' when the AP ($2 of revoke and get, $1 of a list) is 0.
 */
#define REVOKE_SQL(table, cols)                                                                    \
  "UPDATE " table " SET revoked_at = clock_now() WHERE id = $1::bigint"                            \
  " AND ($2::bigint = 0 OR ap = $2::bigint) AND revoked_at IS NULL RETURNING " cols
#define GET_SQL(table, cols)                                                                       \
  "SELECT " cols " FROM " table " WHERE id = $1::bigint AND ($2::bigint = 0 OR ap = $2::bigint)"
#define LIST_SQL(table, cols)                                                                      \
  "SELECT " cols " FROM " table " WHERE ($1::bigint = 0 OR ap = $1::bigint)"                       \
  " AND id > $2::bigint ORDER BY id LIMIT $3::bigint"

static const struct db_stmt q_is_ap = {
    "part_select_ap", "SELECT 1 FROM principals WHERE id = $1::bigint AND role = 'ap'", 1};

/* New, or the same AP's revoked wallet made active again; nothing when taken. */
static const struct db_stmt q_wallet_add = {
    "part_insert_wallet",
    "INSERT INTO ap_wallets AS w (ap, address, label) VALUES ($1::bigint, $2, $3)"
    " ON CONFLICT (address) DO UPDATE SET revoked_at = NULL, label = EXCLUDED.label"
    " WHERE w.ap = EXCLUDED.ap AND w.revoked_at IS NOT NULL RETURNING " WALLET_COLS,
    3};

static const struct db_stmt q_wallet_revoke = {"part_update_wallet_revoke",
                                               REVOKE_SQL("ap_wallets", WALLET_COLS), 2};

static const struct db_stmt q_wallet_get = {"part_select_wallet",
                                            GET_SQL("ap_wallets", WALLET_COLS), 2};

static const struct db_stmt q_wallet_active = {
    "part_select_wallet_active",
    "SELECT 1 FROM ap_wallets WHERE ap = $1::bigint AND address = $2 AND revoked_at IS NULL", 2};

static const struct db_stmt q_wallets = {"part_select_wallets", LIST_SQL("ap_wallets", WALLET_COLS),
                                         3};

static const struct db_stmt q_key_add = {
    "part_insert_signing_key",
    "INSERT INTO ap_signing_keys (ap, public_key, label) VALUES ($1::bigint, $2::bytea, $3)"
    " ON CONFLICT (public_key) DO NOTHING RETURNING " KEY_COLS,
    3};

static const struct db_stmt q_key_revoke = {"part_update_signing_key_revoke",
                                            REVOKE_SQL("ap_signing_keys", KEY_COLS), 2};

static const struct db_stmt q_key_get = {"part_select_signing_key",
                                         GET_SQL("ap_signing_keys", KEY_COLS), 2};

static const struct db_stmt q_keys = {"part_select_signing_keys",
                                      LIST_SQL("ap_signing_keys", KEY_COLS), 3};

/* The AP's active key @id: its public key. */
static const struct db_stmt q_key_active = {
    "part_select_signing_key_active",
    "SELECT public_key FROM ap_signing_keys WHERE id = $1::bigint AND ap = $2::bigint"
    " AND revoked_at IS NULL",
    2};

static const struct db_stmt q_any_key_active = {
    "part_select_any_signing_key_active",
    "SELECT 1 FROM ap_signing_keys WHERE ap = $1::bigint AND revoked_at IS NULL LIMIT 1", 1};

/* ------------------------------------------------------------------ */
/* Rows                                                                */
/* ------------------------------------------------------------------ */

static int64_t col_i64(PGresult *r, int row, int col)
{
  return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void wallet_row(PGresult *r, int row, struct ap_wallet *w)
{
  memset(w, 0, sizeof *w);
  w->id = col_i64(r, row, 0);
  w->ap = col_i64(r, row, 1);
  util_strlcpy(w->address, PQgetvalue(r, row, 2), sizeof w->address);
  util_strlcpy(w->label, PQgetvalue(r, row, 3), sizeof w->label);
  w->created_ms = col_i64(r, row, 4);
  w->revoked_ms = col_i64(r, row, 5);
}

/* bytea in text form ("\x" and hex) to exactly @n bytes. */
static int bytea_text(const char *s, unsigned char *out, size_t n)
{
  size_t got = 0;
  if (strncmp(s, "\\x", 2) != 0 || strlen(s + 2) != 2 * n ||
      sodium_hex2bin(out, n, s + 2, 2 * n, NULL, &got, NULL) != 0 || got != n)
    return -ERR_INTERNAL;
  return 0;
}

static int key_row(PGresult *r, int row, struct ap_signing_key *k)
{
  memset(k, 0, sizeof *k);
  k->id = col_i64(r, row, 0);
  k->ap = col_i64(r, row, 1);
  util_strlcpy(k->label, PQgetvalue(r, row, 3), sizeof k->label);
  k->created_ms = col_i64(r, row, 4);
  k->revoked_ms = col_i64(r, row, 5);
  return bytea_text(PQgetvalue(r, row, 2), k->public_key, sizeof k->public_key);
}

static void i64_text(int64_t v, char out[ISS_I64_TXT])
{
  snprintf(out, ISS_I64_TXT, "%lld", (long long)v);
}

/* A label: 0-100 bytes of UTF-8 without control characters. */
static bool label_valid(const char *s)
{
  return s == NULL || (strlen(s) < AP_LABEL_MAX && issuance__memo_valid(s));
}

/* Whether @ap is a principal of role ap: 0, -ERR_API_NOT_FOUND or a database error. */
static int check_ap(struct db_conn *c, int64_t ap)
{
  char ids[ISS_I64_TXT];
  if (ap <= 0)
    return -ERR_API_NOT_FOUND;
  i64_text(ap, ids);
  const char *params[] = {ids};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_is_ap, params, &r);
  PQclear(r);
  if (qs < 0)
    return issuance__qs_err(qs);
  return qs == DB_QS_NONE ? -ERR_API_NOT_FOUND : 0;
}

/* ------------------------------------------------------------------ */
/* Wallets                                                             */
/* ------------------------------------------------------------------ */

int ap_wallet_add_in(struct db_conn *c, int64_t ap, const char *address, const char *label,
                     struct ap_wallet *out)
{
  char addr[CHAIN_ADDR_STR], ids[ISS_I64_TXT];
  if (c == NULL || out == NULL)
    return -ERR_INVALID_ARGUMENT;
  int rc = chain_address_parse(address, addr);
  if (rc != 0)
    return rc;
  if (!label_valid(label))
    return -ERR_INVALID_ARGUMENT;
  if ((rc = check_ap(c, ap)) != 0)
    return rc;
  i64_text(ap, ids);
  const char *params[] = {ids, addr, label != NULL ? label : ""};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_wallet_add, params, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == DB_QS_NONE)
    return -ERR_API_CONFLICT;
  wallet_row(r, 0, out);
  PQclear(r);
  return 0;
}

/* Revoke (or find revoked) row @id of @ap through @revoke / @get; 1 when this call revoked it. */
static int revoke(struct db_conn *c, const struct db_stmt *revoke_st, const struct db_stmt *get_st,
                  int64_t id, int64_t ap, PGresult **r)
{
  char ids[ISS_I64_TXT], aps[ISS_I64_TXT];
  if (id <= 0 || ap < 0)
    return -ERR_API_NOT_FOUND;
  i64_text(id, ids);
  i64_text(ap, aps);
  const char *params[] = {ids, aps};
  enum db_qs qs = db_exec(c, revoke_st, params, r);
  if (qs > 0)
    return 1;
  if (qs == DB_QS_NONE)
    qs = db_exec(c, get_st, params, r);
  if (qs < 0)
    return issuance__qs_err(qs);
  return qs == DB_QS_NONE ? -ERR_API_NOT_FOUND : 0;
}

int ap_wallet_revoke_in(struct db_conn *c, int64_t id, int64_t ap, struct ap_wallet *out,
                        bool *changed)
{
  PGresult *r = NULL;
  if (c == NULL || out == NULL)
    return -ERR_INVALID_ARGUMENT;
  int rc = revoke(c, &q_wallet_revoke, &q_wallet_get, id, ap, &r);
  if (rc < 0)
    return rc;
  wallet_row(r, 0, out);
  PQclear(r);
  if (changed != NULL)
    *changed = rc == 1;
  return 0;
}

int ap_wallet_active_in(struct db_conn *c, int64_t ap, const char *address,
                        char out[ORDER_WALLET_MAX])
{
  char addr[CHAIN_ADDR_STR], ids[ISS_I64_TXT];
  if (c == NULL)
    return -ERR_INVALID_ARGUMENT;
  if (chain_address_parse(address, addr) != 0 || ap <= 0)
    return -ERR_ORDER_WALLET;
  i64_text(ap, ids);
  const char *params[] = {ids, addr};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_wallet_active, params, &r);
  PQclear(r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == DB_QS_NONE)
    return -ERR_ORDER_WALLET;
  if (out != NULL)
    util_strlcpy(out, addr, ORDER_WALLET_MAX);
  return 0;
}

/* Who gets the rows of a list: the wallet or the key callback (one of them). */
struct lister {
  ap_wallet_fn wallet;
  ap_signing_key_fn key;
  void *cls;
};

/* One row to the lister: 0 to go on, else stop. */
static int list_row(void *cls, PGresult *r, int row)
{
  const struct lister *l = cls;
  if (l->wallet != NULL) {
    struct ap_wallet w;
    wallet_row(r, row, &w);
    return l->wallet(l->cls, &w);
  }
  struct ap_signing_key k;
  int rc = key_row(r, row, &k);
  return rc != 0 ? rc : l->key(l->cls, &k);
}

/* One page of @st ($1 ap, $2 after, $3 limit), each row to @l. */
static int list(struct db_conn *c, const struct db_stmt *st, int64_t ap, int64_t after, size_t max,
                struct lister *l)
{
  char aps[ISS_I64_TXT];
  if (c == NULL || (l->wallet == NULL && l->key == NULL) || ap < 0 || after < 0)
    return -ERR_INVALID_ARGUMENT;
  i64_text(ap, aps);
  return issuance__page(c, st, aps, after, max, list_row, l);
}

int ap_wallets_list(struct db_conn *c, int64_t ap, int64_t after, size_t max, ap_wallet_fn fn,
                    void *cls)
{
  struct lister l = {.wallet = fn, .cls = cls};
  return fn == NULL ? -ERR_INVALID_ARGUMENT : list(c, &q_wallets, ap, after, max, &l);
}

/* ------------------------------------------------------------------ */
/* Signing keys                                                        */
/* ------------------------------------------------------------------ */

int ap_signing_key_add_in(struct db_conn *c, int64_t ap, const unsigned char pk[32],
                          const char *label, struct ap_signing_key *out)
{
  char ids[ISS_I64_TXT], hex[2 + 64 + 1] = "\\x";
  if (c == NULL || out == NULL || pk == NULL)
    return -ERR_INVALID_ARGUMENT;
  if (sodium_init() < 0 || crypto_core_ed25519_is_valid_point(pk) != 1 || !label_valid(label))
    return -ERR_INVALID_ARGUMENT;
  int rc = check_ap(c, ap);
  if (rc != 0)
    return rc;
  i64_text(ap, ids);
  sodium_bin2hex(hex + 2, sizeof hex - 2, pk, 32);
  const char *params[] = {ids, hex, label != NULL ? label : ""};
  PGresult *r = NULL;
  enum db_qs qs = db_exec(c, &q_key_add, params, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == DB_QS_NONE)
    return -ERR_API_CONFLICT;
  rc = key_row(r, 0, out);
  PQclear(r);
  return rc;
}

int ap_signing_key_revoke_in(struct db_conn *c, int64_t id, int64_t ap, struct ap_signing_key *out,
                             bool *changed)
{
  PGresult *r = NULL;
  if (c == NULL || out == NULL)
    return -ERR_INVALID_ARGUMENT;
  int rc = revoke(c, &q_key_revoke, &q_key_get, id, ap, &r);
  if (rc < 0)
    return rc;
  int kr = key_row(r, 0, out);
  PQclear(r);
  if (kr != 0)
    return kr;
  if (changed != NULL)
    *changed = rc == 1;
  return 0;
}

int ap_signing_keys_list(struct db_conn *c, int64_t ap, int64_t after, size_t max,
                         ap_signing_key_fn fn, void *cls)
{
  struct lister l = {.key = fn, .cls = cls};
  return fn == NULL ? -ERR_INVALID_ARGUMENT : list(c, &q_keys, ap, after, max, &l);
}

/* ------------------------------------------------------------------ */
/* Signed instructions                                                 */
/* ------------------------------------------------------------------ */

int order_sig_header_parse(const char *s, size_t len, int64_t *key_id, unsigned char sig[64])
{
  static const char k_pre[] = "keyid=", s_pre[] = ",sig=";
  unsigned char bin[64];
  char again[ORDER_SIG_B64_LEN + 1];
  size_t i = sizeof k_pre - 1, got = 0;
  const char *end = NULL;
  int64_t id = 0;
  if (s == NULL || len > ORDER_SIG_HEADER_MAX || len < sizeof k_pre - 1 ||
      memcmp(s, k_pre, sizeof k_pre - 1) != 0)
    return -ERR_ORDER_SIGNATURE;
  /* The key id: 1..INT64_MAX, no leading zero. */
  if (i >= len || s[i] < '1' || s[i] > '9')
    return -ERR_ORDER_SIGNATURE;
  for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
    int d = s[i] - '0';
    if (id > (INT64_MAX - d) / 10)
      return -ERR_ORDER_SIGNATURE;
    id = id * 10 + d;
  }
  if (len - i != sizeof s_pre - 1 + ORDER_SIG_B64_LEN ||
      memcmp(s + i, s_pre, sizeof s_pre - 1) != 0)
    return -ERR_ORDER_SIGNATURE;
  i += sizeof s_pre - 1;
  /*
   * Standard padded base64.  libsodium refuses missing padding and stray
   * bits but (1.0.18) takes some bytes >= 0x80 for letters, so the text
   * must also be exactly what encoding the bytes again gives.
   */
  if (sodium_base642bin(bin, sizeof bin, s + i, ORDER_SIG_B64_LEN, NULL, &got, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      got != sizeof bin || end != s + len)
    return -ERR_ORDER_SIGNATURE;
  sodium_bin2base64(again, sizeof again, bin, sizeof bin, sodium_base64_VARIANT_ORIGINAL);
  if (memcmp(again, s + i, ORDER_SIG_B64_LEN) != 0)
    return -ERR_ORDER_SIGNATURE;
  *key_id = id;
  memcpy(sig, bin, sizeof bin);
  return 0;
}

int order_signature_check_in(struct db_conn *c, int64_t ap, const char *header,
                             const unsigned char *payload, size_t len, int64_t *key_id,
                             unsigned char sig[64])
{
  char ids[ISS_I64_TXT], aps[ISS_I64_TXT];
  unsigned char pk[32], s[64];
  int64_t id = 0;
  PGresult *r = NULL;
  enum db_qs qs;
  if (c == NULL || key_id == NULL || sig == NULL || (payload == NULL && len > 0))
    return -ERR_INVALID_ARGUMENT;
  if (sodium_init() < 0)
    return -ERR_INTERNAL;
  i64_text(ap, aps);
  if (header == NULL) {
    /* Unsigned: only while the AP has no active key. */
    const char *params[] = {aps};
    qs = db_exec(c, &q_any_key_active, params, &r);
    PQclear(r);
    if (qs < 0)
      return issuance__qs_err(qs);
    if (qs > 0)
      return -ERR_ORDER_SIGNATURE;
    *key_id = 0;
    return 0;
  }
  if (order_sig_header_parse(header, strnlen(header, ORDER_SIG_HEADER_MAX + 1), &id, s) != 0)
    return -ERR_ORDER_SIGNATURE;
  i64_text(id, ids);
  const char *params[] = {ids, aps};
  qs = db_exec(c, &q_key_active, params, &r);
  if (qs < 0)
    return issuance__qs_err(qs);
  if (qs == DB_QS_NONE)
    return -ERR_ORDER_SIGNATURE; /* no such key, another AP's, or revoked */
  int rc = bytea_text(PQgetvalue(r, 0, 0), pk, sizeof pk);
  PQclear(r);
  if (rc != 0)
    return rc;
  static const unsigned char none[1] = {0};
  if (crypto_sign_verify_detached(s, payload != NULL ? payload : none, len, pk) != 0)
    return -ERR_ORDER_SIGNATURE;
  *key_id = id;
  memcpy(sig, s, sizeof s);
  return 0;
}
