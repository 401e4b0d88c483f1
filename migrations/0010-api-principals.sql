-- Who may call the API, with which keys, what each POST already answered,
-- and what the admins did (api/: docs/api.md).  Times are stored truncated
-- to milliseconds, as the API shows them.
--
-- principals: an issuer admin, an authorized participant (ap) or an
-- auditor.  Never deleted; a disabled principal's keys are refused.
CREATE TABLE principals (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (octet_length(name) BETWEEN 1 AND 100),
  role text NOT NULL CHECK (role IN ('issuer_admin', 'ap', 'auditor')),
  created timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  disabled boolean NOT NULL DEFAULT false
);

-- api_keys: a key is "bsk_<key_id>_<secret>"; only key_id (public, 16 hex
-- digits) and secret_hash (BLAKE2b-256 of the 32 random bytes of the
-- secret, keyed with "backstock-api-key-v1:<key_id>") are kept, so the
-- text of a key is shown once, when it is made.  A key is refused once
-- revoked_at is set or expires_at has passed.  last_used_at is refreshed
-- at most once a minute.
CREATE TABLE api_keys (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  principal bigint NOT NULL REFERENCES principals (id),
  key_id text NOT NULL UNIQUE CHECK (key_id ~ '^[0-9a-f]{16}$'),
  secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
  created timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz
);
CREATE INDEX api_keys_principal ON api_keys (principal, id);

-- api_idempotency: the reply of every POST that did its work, under the
-- caller's Idempotency-Key, written in the same transaction as the work.
-- The same key with the same method, path and body (SHA-256) gets the
-- stored reply again; with another request it is refused.  A reply that
-- showed a secret is stored without it.
CREATE TABLE api_idempotency (
  principal bigint NOT NULL REFERENCES principals (id),
  key text NOT NULL CHECK (octet_length(key) BETWEEN 1 AND 128),
  method text NOT NULL,
  path text NOT NULL,
  body_sha256 bytea NOT NULL CHECK (octet_length(body_sha256) = 32),
  status integer NOT NULL,
  response text NOT NULL,
  created timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  PRIMARY KEY (principal, key)
);

-- audit_log: every admin action, appended in the transaction of the
-- action, as a hash chain: hash = SHA-256(prev_hash || seq || at ||
-- principal || action || target || details) with prev_hash the hash of
-- seq - 1 (32 zero bytes for seq 1); seq, at (Unix ms) and principal (0:
-- the command line) as 8-byte big-endian integers, each text as a 4-byte
-- big-endian length and its bytes; details is canonical JSON (sorted
-- names, no whitespace) kept as text, byte for byte.  api_audit_verify()
-- recomputes the chain.  Append-only: the triggers below refuse UPDATE,
-- DELETE and TRUNCATE (the service has one database role, so privileges
-- cannot do it).
CREATE TABLE audit_log (
  seq bigint PRIMARY KEY CHECK (seq >= 1),
  at timestamptz NOT NULL,
  principal bigint REFERENCES principals (id),
  action text NOT NULL,
  target text NOT NULL,
  details text NOT NULL,
  prev_hash bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
  hash bytea NOT NULL CHECK (octet_length(hash) = 32)
);

-- (The body opens on the "$$" line: scripts/embed.py refuses a line that
-- starts with BEGIN, a transaction of its own.)
CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
