-- Instruments and pauses (api/api_instruments.c and the endpoints of
-- docs/api.md).  Times are stored truncated to milliseconds, as the API
-- shows them.  Every change is written by the API with its audit record
-- (audit_log) in the same transaction.
--
-- instruments: one tokenized stock.  symbol is the stock's ticker (TSLA),
-- token_symbol the token's (TSLAx); the ISIN's pattern and check digit are
-- checked by the API, its pattern here too.  Quantities are shares at
-- scale 6, fee_flat USD at scale 2, fee_rate an exact fraction (0.0025 is
-- 25 basis points).  Primary-market hours are wall times in
-- America/New_York: orders are taken from market_open until cutoff; at
-- other times out_of_hours says whether they wait for the next session
-- (queue) or are refused.  multiplier is the raw-to-displayed factor that
-- corporate actions (splits) change.
CREATE TABLE instruments (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  symbol text NOT NULL UNIQUE CHECK (symbol ~ '^[A-Z0-9.]{1,16}$'),
  isin text NOT NULL UNIQUE CHECK (isin ~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$'),
  token_symbol text NOT NULL UNIQUE CHECK (token_symbol ~ '^[A-Za-z0-9._-]{1,16}$'),
  token_decimals integer NOT NULL DEFAULT 18 CHECK (token_decimals BETWEEN 0 AND 18),
  settlement_lag_days integer NOT NULL DEFAULT 1 CHECK (settlement_lag_days BETWEEN 0 AND 10),
  mint_policy text NOT NULL CHECK (mint_policy IN ('at_fill', 'at_settlement')),
  burn_policy text NOT NULL CHECK (burn_policy IN ('on_receipt', 'at_payout')),
  min_order_qty numeric(30, 6) NOT NULL CHECK (min_order_qty > 0),
  max_order_qty numeric(30, 6) NOT NULL CHECK (max_order_qty >= min_order_qty),
  fee_flat numeric(20, 2) NOT NULL DEFAULT 0 CHECK (fee_flat >= 0),
  fee_rate numeric(7, 6) NOT NULL DEFAULT 0 CHECK (fee_rate >= 0 AND fee_rate < 1),
  market_open text NOT NULL CHECK (market_open ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  market_close text NOT NULL CHECK (market_close ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  cutoff text NOT NULL CHECK (cutoff ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  out_of_hours text NOT NULL CHECK (out_of_hours IN ('queue', 'refuse')),
  multiplier numeric(38, 18) NOT NULL DEFAULT 1 CHECK (multiplier > 0),
  created timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  CHECK (market_open < cutoff AND cutoff <= market_close)
);

-- pauses: the current state of each pause, one row per scope and kind
-- (instrument NULL: global), set and cleared in place.  Minting (kind
-- mint) or redeeming (redeem) an instrument is paused when its own row or
-- the global row of that kind says paused.  Its history is the audit log
-- (action pause.set).
CREATE TABLE pauses (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  instrument bigint REFERENCES instruments (id),
  kind text NOT NULL CHECK (kind IN ('mint', 'redeem')),
  paused boolean NOT NULL,
  reason text NOT NULL CHECK (octet_length(reason) BETWEEN 1 AND 200),
  set_by bigint REFERENCES principals (id),
  set_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);
CREATE UNIQUE INDEX pauses_scope_kind ON pauses ((coalesce(instrument, 0)), kind);
