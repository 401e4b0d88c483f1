-- The token ledger (chain/, docs/chain.md): the tokens and intents every
-- backend uses, and the tables of the built-in backend, which keeps the
-- ledger itself in PostgreSQL.  Amounts are exact decimals at the token's
-- decimals (at most 18), never negative; addresses are '0x' and 40
-- lower-case hex digits, and the zero address is the counterpart of
-- mints and burns and never holds a balance.

-- One row per token the ledger knows.  Registration is idempotent (the
-- same symbol with other terms is refused).  An EVM backend will keep the
-- token's contract address in a table of its own, keyed by symbol.
CREATE TABLE chain_tokens (
  symbol text PRIMARY KEY CHECK (symbol ~ '^[A-Za-z0-9][A-Za-z0-9.-]{0,15}$'),
  decimals smallint NOT NULL CHECK (decimals BETWEEN 0 AND 18),
  name text NOT NULL CHECK (name ~ '^[ -~]{1,64}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per mint, burn or transfer asked for, keyed by the caller's
-- idempotency key, written before anything executes (state 'recorded').
-- The built-in backend moves it to 'executed' (with its block) or
-- 'failed' (with the error number and a reason) in the transaction that
-- applies it; an external backend passes through 'submitted' while its
-- transaction is on its way.  'executed' and 'failed' are final.  A
-- recorded key with other terms is refused, so an intent means one thing.
CREATE TABLE chain_intents (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key text NOT NULL UNIQUE CHECK (key ~ '^[!-~]{1,128}$'),
  op text NOT NULL CHECK (op IN ('mint', 'burn', 'transfer')),
  token text NOT NULL REFERENCES chain_tokens (symbol),
  from_address text NOT NULL CHECK (from_address ~ '^0x[0-9a-f]{40}$'),
  to_address text NOT NULL CHECK (to_address ~ '^0x[0-9a-f]{40}$'),
  amount numeric(60, 18) NOT NULL CHECK (amount > 0),
  state text NOT NULL DEFAULT 'recorded'
    CHECK (state IN ('recorded', 'submitted', 'executed', 'failed')),
  block bigint CHECK (block > 0),
  error integer CHECK (error > 0),
  reason text,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  -- mints come from the zero address, burns go to it, transfers neither
  CHECK ((op = 'mint') = (from_address = '0x0000000000000000000000000000000000000000')),
  CHECK ((op = 'burn') = (to_address = '0x0000000000000000000000000000000000000000')),
  CHECK ((state = 'executed') = (block IS NOT NULL)),
  CHECK ((state = 'failed') = (error IS NOT NULL AND reason IS NOT NULL)),
  CHECK ((state IN ('executed', 'failed')) = (finished_at IS NOT NULL))
);
-- What resuming after a crash executes, in record order.
CREATE INDEX chain_intents_open ON chain_intents (id) WHERE state IN ('recorded', 'submitted');

-- The built-in ledger's newest block.  Every executed intent is one block:
-- its transaction takes the next number here (a row lock), so blocks are
-- gapless and commit in their order, and a reader that follows transfers
-- by block misses none (an identity column would hand out numbers that
-- can commit out of order, or never).
CREATE TABLE chain_head (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  block bigint NOT NULL CHECK (block >= 0)
);
INSERT INTO chain_head (block) VALUES (0);

-- The built-in ledger's history: one row per block, the transfer that
-- block holds (from the zero address for a mint, to it for a burn), and
-- the intent it executed (at most one block per intent).
CREATE TABLE chain_transfers (
  block bigint PRIMARY KEY CHECK (block > 0),
  token text NOT NULL REFERENCES chain_tokens (symbol),
  from_address text NOT NULL CHECK (from_address ~ '^0x[0-9a-f]{40}$'),
  to_address text NOT NULL CHECK (to_address ~ '^0x[0-9a-f]{40}$'),
  amount numeric(60, 18) NOT NULL CHECK (amount > 0),
  intent_id bigint NOT NULL UNIQUE REFERENCES chain_intents (id),
  executed_at timestamptz NOT NULL DEFAULT now(),
  CHECK (from_address <> to_address OR from_address <> '0x0000000000000000000000000000000000000000')
);
CREATE INDEX chain_transfers_token ON chain_transfers (token, block);

-- Running supply: one row per token per block that minted or burned it,
-- the supply after that block (= all mints minus all burns up to it).
-- Supply at block B is the newest row at or below B: one read of the
-- primary key backwards; no row means 0.
CREATE TABLE chain_supply (
  token text NOT NULL REFERENCES chain_tokens (symbol),
  block bigint NOT NULL REFERENCES chain_transfers (block),
  supply numeric(60, 18) NOT NULL CHECK (supply >= 0),
  PRIMARY KEY (token, block)
);

-- Running balances: one row per holder per token per block that changed
-- its balance, the balance after that block.  Balance at block B is the
-- newest row at or below B; no row means 0.  At every block the supply
-- equals the sum of the balances (the tests check it).
CREATE TABLE chain_balances (
  token text NOT NULL REFERENCES chain_tokens (symbol),
  address text NOT NULL CHECK (address ~ '^0x[0-9a-f]{40}$'
                               AND address <> '0x0000000000000000000000000000000000000000'),
  block bigint NOT NULL REFERENCES chain_transfers (block),
  balance numeric(60, 18) NOT NULL CHECK (balance >= 0),
  PRIMARY KEY (token, address, block)
);
