-- Attestations (reconcile/attest*.c, docs/attestation.md): one row per
-- signed proof-of-reserves attestation.  id is the attestation's number
-- (1, 2, ...; it is also the payload's "id"), payload the canonical JSON
-- that was signed, document the signed document
-- ({"payload":..,"signature":..}), hash its SHA-256 (lower-case hex) and
-- previous_hash the hash of attestation id - 1 (NULL only for the first).
-- previous_hash is unique: the attestations form one chain, never a fork.
CREATE TABLE attestations (
  id bigint PRIMARY KEY CHECK (id >= 1),
  created timestamptz NOT NULL,
  payload text NOT NULL,
  document text NOT NULL,
  hash text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
  previous_hash text UNIQUE REFERENCES attestations (hash)
    CHECK (previous_hash ~ '^[0-9a-f]{64}$'),
  CHECK ((id = 1) = (previous_hash IS NULL))
);
