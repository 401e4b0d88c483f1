-- Mint and redeem orders (issuance/issuance_orders*.c, the engine in
-- issuance/issuance_engine*.c, docs/orders.md).  Business times come from
-- clock_now() (migrations/0012-clock.sql).  Quantities are shares at scale
-- 6, cash USD at scale 2, prices USD per share at scale 6, token amounts
-- raw base units at scale 18 (the token's decimals may be fewer; the
-- amount is then exact at them).

-- ap_wallets: the addresses an AP may mint to and redeem from.  An order
-- names one; a revoked wallet takes no new order.  The address is kept in
-- lower case (chain_address_parse()).
CREATE TABLE ap_wallets (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ap bigint NOT NULL REFERENCES principals (id),
  address text NOT NULL UNIQUE CHECK (address ~ '^0x[0-9a-f]{40}$'),
  label text NOT NULL DEFAULT '' CHECK (octet_length(label) <= 100),
  created timestamptz NOT NULL DEFAULT clock_now(),
  revoked_at timestamptz
);
CREATE INDEX ap_wallets_ap ON ap_wallets (ap, id);

-- ap_signing_keys: Ed25519 public keys an AP registered.  While an AP has
-- an active key, every order instruction it posts must carry a signature
-- by one of them (docs/orders.md, "Signed instructions"); the signature is
-- kept with the order.
CREATE TABLE ap_signing_keys (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ap bigint NOT NULL REFERENCES principals (id),
  public_key bytea NOT NULL UNIQUE CHECK (octet_length(public_key) = 32),
  label text NOT NULL DEFAULT '' CHECK (octet_length(label) <= 100),
  created timestamptz NOT NULL DEFAULT clock_now(),
  revoked_at timestamptz
);
CREATE INDEX ap_signing_keys_ap ON ap_signing_keys (ap, id);

-- order_limits: the most shares of an instrument that may be ordered in
-- any window of window_seconds (rolling, on the clock): by one AP (ap set)
-- or by all APs together (ap NULL), for mint or redeem.  Orders cancelled
-- before their broker order, rejected or expired do not count.
CREATE TABLE order_limits (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  instrument bigint NOT NULL REFERENCES instruments (id),
  ap bigint REFERENCES principals (id),
  kind text NOT NULL CHECK (kind IN ('mint', 'redeem')),
  window_seconds integer NOT NULL CHECK (window_seconds BETWEEN 60 AND 31622400),
  max_qty numeric(30, 6) NOT NULL CHECK (max_qty > 0),
  updated timestamptz NOT NULL DEFAULT clock_now()
);
CREATE UNIQUE INDEX order_limits_scope
  ON order_limits (instrument, (coalesce(ap, 0)), kind, window_seconds);

-- orders: one mint or redeem order of an AP.  quantity is in shares (the
-- displayed token amount); token_amount the raw tokens it mints or burns
-- (quantity / multiplier at creation, rounded down).  limit_price: a mint
-- buys at most at it (cash_required = quantity x limit_price + the fee on
-- it, rounded up to cents), a redeem sells at least at it (NULL: market).
-- The running figures:
--   filled_qty, fill_cash   the broker's fills (cash per fill rounded
--                           half-even to cents, as the custodian settles)
--   settled_qty, settled_cash  what the custodian confirmed
--   cash_funded             received from the AP (mint)
--   fee                     charged once the fills are final
--   cash_paid               paid back to the AP (refunds, payouts)
-- so cash_due = cash_funded + (redeem: fill_cash) - (mint: fill_cash) -
-- fee - cash_paid is what the issuer owes the AP under this order, and the
-- books' cash of ap:<ap> under reference order:<id> equals it.
-- session_date is the primary session the order is for; cash_deadline
-- when an unfunded mint expires.  state_since: when state was entered.
CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('mint', 'redeem')),
  ap bigint NOT NULL REFERENCES principals (id),
  instrument bigint NOT NULL REFERENCES instruments (id),
  wallet text NOT NULL CHECK (wallet ~ '^0x[0-9a-f]{40}$'),
  quantity numeric(30, 6) NOT NULL CHECK (quantity > 0),
  limit_price numeric(30, 6) CHECK (limit_price > 0),
  token_amount numeric(60, 18) NOT NULL CHECK (token_amount > 0),
  multiplier numeric(38, 18) NOT NULL CHECK (multiplier > 0),
  mint_policy text CHECK (mint_policy IN ('at_fill', 'at_settlement')),
  burn_policy text CHECK (burn_policy IN ('on_receipt', 'at_payout')),
  fee_flat numeric(20, 2) NOT NULL,
  fee_rate numeric(7, 6) NOT NULL,
  cash_required numeric(20, 2) NOT NULL DEFAULT 0 CHECK (cash_required >= 0),
  state text NOT NULL CHECK (state IN (
    'requested', 'validated', 'awaiting_cash', 'cash_received', 'awaiting_tokens',
    'tokens_received', 'burned', 'broker_submitted', 'partially_filled', 'filled', 'settling',
    'settled_at_custodian', 'cash_settled', 'mint_submitted', 'minted', 'payout_submitted',
    'paid', 'completed', 'rejected', 'expired', 'cancel_requested', 'cancelled',
    'broker_rejected', 'settlement_failed', 'mint_failed', 'requires_attention')),
  state_since timestamptz NOT NULL DEFAULT clock_now(),
  filled_qty numeric(30, 6) NOT NULL DEFAULT 0 CHECK (filled_qty >= 0),
  fill_cash numeric(20, 2) NOT NULL DEFAULT 0 CHECK (fill_cash >= 0),
  settled_qty numeric(30, 6) NOT NULL DEFAULT 0 CHECK (settled_qty >= 0),
  settled_cash numeric(20, 2) NOT NULL DEFAULT 0 CHECK (settled_cash >= 0),
  cash_funded numeric(20, 2) NOT NULL DEFAULT 0 CHECK (cash_funded >= 0),
  fee numeric(20, 2) NOT NULL DEFAULT 0 CHECK (fee >= 0),
  cash_paid numeric(20, 2) NOT NULL DEFAULT 0 CHECK (cash_paid >= 0),
  tokens_done numeric(60, 18) NOT NULL DEFAULT 0 CHECK (tokens_done >= 0), -- minted / burned
  session_date date NOT NULL,
  cash_deadline timestamptz,
  cancel_requested boolean NOT NULL DEFAULT false,
  attention text,           -- why it needs an operator (requires_attention)
  signing_key bigint REFERENCES ap_signing_keys (id),
  signature bytea CHECK (signature IS NULL OR octet_length(signature) = 64),
  signed_payload bytea,     -- exactly the bytes the signature covers
  client_ref text CHECK (client_ref IS NULL OR octet_length(client_ref) BETWEEN 1 AND 64),
  created timestamptz NOT NULL DEFAULT clock_now(),
  updated timestamptz NOT NULL DEFAULT clock_now(),
  CHECK ((signature IS NULL) = (signing_key IS NULL)),
  CHECK ((kind = 'mint') = (mint_policy IS NOT NULL)),
  CHECK ((kind = 'redeem') = (burn_policy IS NOT NULL)),
  CHECK (filled_qty <= quantity AND settled_qty <= filled_qty)
);
CREATE INDEX orders_ap ON orders (ap, id);
CREATE INDEX orders_instrument ON orders (instrument, created);
-- The engine's work list: every order not in a final state.
CREATE INDEX orders_open ON orders (id)
  WHERE state NOT IN ('completed', 'rejected', 'expired', 'cancelled', 'broker_rejected');

-- order_events: every transition of an order, in order (seq from 1), with
-- the state left and entered, what caused it and its figures (detail, a
-- JSON object).  Append-only: triggers refuse UPDATE and DELETE.
CREATE TABLE order_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES orders (id),
  seq integer NOT NULL CHECK (seq >= 1),
  from_state text,          -- NULL for the first event (requested)
  to_state text NOT NULL,
  actor text NOT NULL,      -- 'api:<principal id>', 'engine', 'admin:<principal id>'
  detail jsonb NOT NULL DEFAULT '{}',
  at timestamptz NOT NULL DEFAULT clock_now(),
  recorded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (order_id, seq)
);

CREATE FUNCTION order_events_refuse() RETURNS trigger
  LANGUAGE plpgsql
  AS $$ BEGIN RAISE EXCEPTION 'order_events is append-only'; END $$;
CREATE TRIGGER order_events_no_update BEFORE UPDATE OR DELETE ON order_events
  FOR EACH ROW EXECUTE FUNCTION order_events_refuse();

-- cash_movements: cash the issuer's bank received from an AP (funding) or
-- paid to one (refund, payout), recorded by an issuer admin with the
-- bank's reference (unique per kind: a statement line is recorded once).
CREATE TABLE cash_movements (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES orders (id),
  kind text NOT NULL CHECK (kind IN ('funding', 'refund', 'payout')),
  amount numeric(20, 2) NOT NULL CHECK (amount > 0),
  bank_ref text NOT NULL CHECK (octet_length(bank_ref) BETWEEN 1 AND 64),
  recorded_by bigint NOT NULL REFERENCES principals (id),
  at timestamptz NOT NULL DEFAULT clock_now(),
  UNIQUE (kind, bank_ref)
);
CREATE INDEX cash_movements_order ON cash_movements (order_id, id);

-- settlement_items: the settlement queue, one item per broker execution
-- (a fill) of an order.  settle_date is computed from the NYSE calendar
-- and the instrument's lag; broker_settle_date is what the broker said
-- (FIX 64).  Workers claim due items (state pending, next_try_at passed)
-- with FOR UPDATE SKIP LOCKED and confirm them against custody_settlements
-- (tx_id = the ExecID, same ISIN, quantity and direction).  An item not
-- confirmed is retried after the retry interval, or at once when a
-- confirmation of its ExecID arrives (seen_document); escalate_after
-- business days after settle_date it becomes requires_attention.  A busted fill's item is cancelled.
CREATE TABLE settlement_items (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES orders (id),
  exec_id text NOT NULL UNIQUE,
  side text NOT NULL CHECK (side IN ('buy', 'sell')),
  isin text NOT NULL CHECK (isin ~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$'),
  quantity numeric(30, 6) NOT NULL CHECK (quantity > 0),
  price numeric(30, 8) NOT NULL CHECK (price > 0),
  cash numeric(20, 2) NOT NULL CHECK (cash >= 0),
  trade_date date NOT NULL,
  settle_date date NOT NULL,
  broker_settle_date date,
  state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'confirmed', 'requires_attention', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_try_at timestamptz NOT NULL,
  last_error text,
  seen_document bigint NOT NULL DEFAULT 0, -- newest confirmation of exec_id at the last try
  custody_document bigint REFERENCES custody_documents (id),
  custody_settle_date date,
  confirmed_at timestamptz,
  created timestamptz NOT NULL DEFAULT clock_now()
);
CREATE INDEX settlement_items_due ON settlement_items (next_try_at) WHERE state = 'pending';
CREATE INDEX settlement_items_order ON settlement_items (order_id, id);

-- engine_cursors: how far a reader of an append-only table got (the
-- engine's cursor over broker_executions), moved in the transaction that
-- handles the rows it passes.
CREATE TABLE engine_cursors (
  name text PRIMARY KEY,
  position bigint NOT NULL DEFAULT 0
);
INSERT INTO engine_cursors (name, position) VALUES ('broker_executions', 0);
