/*
 * Principals and API keys: role names, the making and checking of a key's
 * text, the rows (tables in migrations/0010-api-principals.sql), the first
 * issuer admin, and the JSON shapes the admin endpoints show.
 *
 * A key is "bsk_<key_id>_<secret>": key_id is 8 random bytes in hex (16
 * digits, public, the row's lookup), secret 32 random bytes in base64url
 * without padding (43 characters).  Only BLAKE2b-256 of the secret, keyed
 * with "backstock-api-key-v1:<key_id>", is stored: a random 256-bit secret
 * needs no slow hash, and the key binds the hash to its row.  Secrets live
 * in the caller's buffers only and are wiped there.
 */
#include <string.h>

#include <sodium.h>

#include "api/api_int.h"

#define KEY_PREFIX     "bsk_"
#define KEY_SECRET_B64 43 /* base64url characters of 32 bytes, no padding */
#define KEY_TEXT_LEN   (4 + API_KEY_ID_LEN + 1 + KEY_SECRET_B64)
#define HASH_CONTEXT   "backstock-api-key-v1:"

static const char *const role_names[] = {"issuer_admin", "ap", "auditor"};

const char *api_role_name(enum api_role role)
{
  for (unsigned i = 0; i < 3; i++)
    if ((unsigned)role == 1u << i)
      return role_names[i];
  return "public";
}

int api_role_parse(const char *name, enum api_role *out)
{
  for (unsigned i = 0; i < 3; i++) {
    if (strcmp(name, role_names[i]) == 0) {
      *out = (enum api_role)(1u << i);
      return 0;
    }
  }
  return -ERR_INVALID_ARGUMENT;
}

static void key_hash(const char key_id[API_KEY_ID_LEN + 1], const uint8_t secret[32],
                     uint8_t hash[32])
{
  uint8_t k[sizeof HASH_CONTEXT - 1 + API_KEY_ID_LEN];
  memcpy(k, HASH_CONTEXT, sizeof HASH_CONTEXT - 1);
  memcpy(k + sizeof HASH_CONTEXT - 1, key_id, API_KEY_ID_LEN);
  crypto_generichash(hash, 32, secret, API_KEY_SECRET_LEN, k, sizeof k);
}

void api_key_make(char key_id[API_KEY_ID_LEN + 1], char text[API_KEY_TEXT_MAX], uint8_t hash[32])
{
  uint8_t secret[API_KEY_SECRET_LEN];
  char b64[KEY_SECRET_B64 + 1];
  if (sodium_init() < 0)
    abort(); /* no randomness at all: nothing safe to do */
  util_random_hex(key_id, API_KEY_ID_LEN / 2);
  randombytes_buf(secret, sizeof secret);
  sodium_bin2base64(b64, sizeof b64, secret, sizeof secret,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  snprintf(text, API_KEY_TEXT_MAX, KEY_PREFIX "%s_%s", key_id, b64);
  key_hash(key_id, secret, hash);
  sodium_memzero(secret, sizeof secret);
  sodium_memzero(b64, sizeof b64);
}

int api_key_check_text(const char *text, size_t len, char key_id[API_KEY_ID_LEN + 1],
                       uint8_t hash[32])
{
  uint8_t secret[API_KEY_SECRET_LEN];
  char again[KEY_SECRET_B64 + 1];
  size_t n = 0;
  const char *end = NULL;
  const char *b64 = text + 4 + API_KEY_ID_LEN + 1;
  if (len != KEY_TEXT_LEN || memcmp(text, KEY_PREFIX, 4) != 0 || text[4 + API_KEY_ID_LEN] != '_')
    return -ERR_API_UNAUTHORIZED;
  for (size_t i = 0; i < API_KEY_ID_LEN; i++) {
    char c = text[4 + i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return -ERR_API_UNAUTHORIZED;
  }
  if (sodium_base642bin(secret, sizeof secret, b64, KEY_SECRET_B64, NULL, &n, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      n != sizeof secret || end != b64 + KEY_SECRET_B64) {
    sodium_memzero(secret, sizeof secret);
    return -ERR_API_UNAUTHORIZED;
  }
  /* One text per secret: the unused low bits of the last character are zero. */
  sodium_bin2base64(again, sizeof again, secret, sizeof secret,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  int same = sodium_memcmp(again, b64, KEY_SECRET_B64);
  memcpy(key_id, text + 4, API_KEY_ID_LEN);
  key_id[API_KEY_ID_LEN] = '\0';
  key_hash(key_id, secret, hash);
  sodium_memzero(secret, sizeof secret);
  sodium_memzero(again, sizeof again);
  return same == 0 ? 0 : -ERR_API_UNAUTHORIZED;
}

/* ------------------------------------------------------------------ */
/* Rows                                                                */
/* ------------------------------------------------------------------ */

static const struct db_stmt q_insert_principal = {
    "api_insert_principal",
    "INSERT INTO principals (name, role) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
    " RETURNING id, (extract(epoch from created) * 1000)::bigint",
    2,
};

static const struct db_stmt q_insert_key = {
    "api_insert_key",
    "INSERT INTO api_keys (principal, key_id, secret_hash, expires_at)"
    " SELECT id, $2, $3::bytea, 'epoch'::timestamptz + $4::bigint * interval '1 millisecond'"
    " FROM principals WHERE id = $1::bigint"
    " RETURNING (extract(epoch from created) * 1000)::bigint,"
    " (extract(epoch from expires_at) * 1000)::bigint",
    4,
};

static const struct db_stmt q_admin_exists = {
    "api_admin_exists",
    "SELECT 1 FROM principals WHERE role = 'issuer_admin' AND NOT disabled LIMIT 1",
    0,
};

enum db_qs api_key_create(struct db_conn *c, int64_t principal, int64_t expires_ms,
                          struct api_key_info *k, char text[API_KEY_TEXT_MAX])
{
  uint8_t hash[32];
  char idtxt[24], exptxt[24], hashtxt[2 + 64 + 1];
  PGresult *r;
  memset(k, 0, sizeof *k);
  api_key_make(k->id, text, hash);
  memcpy(hashtxt, "\\x", 2);
  sodium_bin2hex(hashtxt + 2, sizeof hashtxt - 2, hash, sizeof hash);
  snprintf(idtxt, sizeof idtxt, "%lld", (long long)principal);
  const char *params[] = {idtxt, k->id, hashtxt, api__ms_param(expires_ms, exptxt)};
  enum db_qs qs = db_exec(c, &q_insert_key, params, &r);
  if (qs > 0) {
    k->principal = principal;
    k->created_ms = api__ms_value(r, 0, 0);
    k->expires_ms = api__ms_value(r, 0, 1);
    k->revoked_ms = API_TIME_NONE;
    k->last_used_ms = API_TIME_NONE;
    PQclear(r);
  }
  if (qs <= 0)
    sodium_memzero(text, API_KEY_TEXT_MAX);
  return qs;
}

enum db_qs api_principal_create(struct db_conn *c, const char *name, enum api_role role,
                                int64_t expires_ms, struct api_principal *p, struct api_key_info *k,
                                char text[API_KEY_TEXT_MAX])
{
  PGresult *r;
  const char *params[] = {name, api_role_name(role)};
  memset(p, 0, sizeof *p);
  enum db_qs qs = db_exec(c, &q_insert_principal, params, &r);
  if (qs <= 0)
    return qs;
  p->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  p->created_ms = api__ms_value(r, 0, 1);
  PQclear(r);
  util_strlcpy(p->name, name, sizeof p->name);
  p->role = role;
  qs = api_key_create(c, p->id, expires_ms, k, text);
  return qs == DB_QS_NONE ? DB_QS_HARD : qs; /* the principal was just made */
}

void api_show_principal(struct api_json *j, const struct api_principal *p)
{
  api_json_obj(j);
  api_json_key(j, "id");
  api_json_int(j, p->id);
  api_json_key(j, "name");
  api_json_str(j, p->name);
  api_json_key(j, "role");
  api_json_str(j, api_role_name(p->role));
  api_json_key(j, "created");
  api_json_time(j, p->created_ms);
  api_json_key(j, "disabled");
  api_json_bool(j, p->disabled);
  api_json_obj_end(j);
}

void api_show_key(struct api_json *j, const struct api_key_info *k)
{
  api_json_obj(j);
  api_json_key(j, "id");
  api_json_str(j, k->id);
  api_json_key(j, "principal");
  api_json_int(j, k->principal);
  api_json_key(j, "created");
  api_json_time(j, k->created_ms);
  api_json_key(j, "expires_at");
  api_json_time(j, k->expires_ms);
  api_json_key(j, "revoked_at");
  api_json_time(j, k->revoked_ms);
  api_json_key(j, "last_used_at");
  api_json_time(j, k->last_used_ms);
  api_json_obj_end(j);
}

/* ------------------------------------------------------------------ */
/* The first issuer admin                                              */
/* ------------------------------------------------------------------ */

struct boot {
  const char *name;
  bool force;
  bool conflict; /* out: an admin exists, or the name is taken */
  struct api_principal p;
  struct api_key_info k;
  char text[API_KEY_TEXT_MAX];
};

static enum db_qs boot_txn(struct db_conn *c, void *cls)
{
  struct boot *b = cls;
  struct api_json d;
  char target[40];
  b->conflict = false;
  if (!b->force) {
    enum db_qs qs = db_exec(c, &q_admin_exists, NULL, NULL);
    if (qs != DB_QS_NONE) {
      b->conflict = qs > 0;
      return qs > 0 ? DB_QS_NONE : qs;
    }
  }
  enum db_qs qs =
      api_principal_create(c, b->name, API_ROLE_ISSUER_ADMIN, API_TIME_NONE, &b->p, &b->k, b->text);
  if (qs <= 0) {
    b->conflict = qs == DB_QS_NONE;
    return qs;
  }
  api_json_init(&d);
  api_json_obj(&d);
  api_json_key(&d, "force");
  api_json_bool(&d, b->force);
  api_json_key(&d, "key_id");
  api_json_str(&d, b->k.id);
  api_json_key(&d, "name");
  api_json_str(&d, b->p.name);
  api_json_key(&d, "role");
  api_json_str(&d, "issuer_admin");
  api_json_obj_end(&d);
  snprintf(target, sizeof target, "principal:%lld", (long long)b->p.id);
  return api__audit(c, 0, "principal.bootstrap", target, &d);
}

int api_bootstrap_admin(struct db_conn *c, const char *name, bool force, struct api_principal *p,
                        char text[API_KEY_TEXT_MAX])
{
  struct boot b = {.name = name, .force = force};
  if (!api__name_ok(name, strlen(name)))
    return -ERR_API_FIELD;
  int rc = db_txn(c, "api_bootstrap_admin", boot_txn, &b);
  if (rc == 0 && b.conflict)
    rc = -ERR_API_CONFLICT;
  if (rc == 0) {
    *p = b.p;
    memcpy(text, b.text, API_KEY_TEXT_MAX);
  }
  sodium_memzero(b.text, sizeof b.text);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Shared by the endpoints                                             */
/* ------------------------------------------------------------------ */

void api__key_row(PGresult *r, int row, int col, struct api_key_info *k)
{
  memset(k, 0, sizeof *k);
  util_strlcpy(k->id, PQgetvalue(r, row, col), sizeof k->id);
  k->principal = strtoll(PQgetvalue(r, row, col + 1), NULL, 10);
  k->created_ms = api__ms_value(r, row, col + 2);
  k->expires_ms = api__ms_value(r, row, col + 3);
  k->revoked_ms = api__ms_value(r, row, col + 4);
  k->last_used_ms = api__ms_value(r, row, col + 5);
}

static void new_key_body(struct api_json *j, const struct api_principal *p,
                         const struct api_key_info *k, const char *text)
{
  api_json_obj(j);
  if (p != NULL) {
    api_json_key(j, "principal");
    api_show_principal(j, p);
  }
  api_json_key(j, "key");
  api_show_key(j, k);
  api_json_key(j, "api_key");
  api_json_str(j, text);
  api_json_obj_end(j);
}

enum db_qs api__new_key_reply(struct api_txn *t, const struct api_principal *p,
                              const struct api_key_info *k, const char *text)
{
  struct api_json live, stored;
  api_json_init(&live);
  api_json_init(&stored);
  api_json_secret(&live);
  new_key_body(&live, p, k, text);
  new_key_body(&stored, p, k, NULL);
  enum db_qs qs = api_txn_reply(t, 201, &live, &stored);
  api_json_free(&live);
  api_json_free(&stored);
  return qs;
}

enum db_qs api__audit(struct db_conn *c, int64_t principal, const char *action, const char *target,
                      struct api_json *details)
{
  const char *text;
  size_t len;
  enum db_qs qs = DB_QS_HARD;
  if (api_json_done(details, &text, &len) == 0)
    qs = api_audit_append(c, principal, action, target, text);
  else
    log_bug("audit", "details of %s could not be written", action);
  api_json_free(details);
  return qs;
}
