-- Corporate actions (issuance/issuance_corpact.c, docs/corporate-actions.md).
-- One record per action on an instrument.  A split or reverse split
-- changes the instrument's multiplier (raw token -> shares) from
-- old_multiplier to new_multiplier = old x ratio_new / ratio_old, rounded
-- half-even to 18 places, at effective_at (the activation time, on the
-- clock), guarded by the expected old value: if the instrument's
-- multiplier is not old_multiplier then, the action is not applied, stays
-- scheduled and gets attention text (an operator must look).  A symbol
-- change renames the instrument, guarded the same way by old_symbol.  A
-- cash dividend is recorded (cash_per_share, dates) and changes no
-- multiplier; a stock dividend, a merger and a delisting are recorded
-- only (applied with attention text: nothing changes automatically yet).
-- Primary-market mint and redeem are refused from window_start to
-- window_end, both included, while the action is not cancelled
-- (ERR_ORDER_CORPACT).  Business times come from clock_now().
-- status: announced -> scheduled -> applied -> reconciled, or cancelled
-- (only before applied).
CREATE TABLE corporate_actions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  instrument bigint NOT NULL REFERENCES instruments (id),
  type text NOT NULL CHECK (type IN ('split', 'reverse_split', 'cash_dividend', 'stock_dividend',
                                     'symbol_change', 'merger', 'delisting')),
  ratio_old numeric(20, 6) CHECK (ratio_old > 0),   -- "1-for-10": old 10, new 1
  ratio_new numeric(20, 6) CHECK (ratio_new > 0),
  cash_per_share numeric(20, 6) CHECK (cash_per_share > 0),
  currency text CHECK (currency ~ '^[A-Z]{3}$'),
  new_symbol text CHECK (new_symbol ~ '^[A-Z0-9.]{1,16}$'),
  old_symbol text CHECK (old_symbol ~ '^[A-Z0-9.]{1,16}$'), -- symbol change: set when scheduled
  record_date date,
  ex_date date,
  pay_date date,
  effective_at timestamptz NOT NULL,
  window_start timestamptz NOT NULL,
  window_end timestamptz NOT NULL,
  old_multiplier numeric(38, 18) CHECK (old_multiplier > 0),
  new_multiplier numeric(38, 18) CHECK (new_multiplier > 0),
  status text NOT NULL DEFAULT 'announced'
    CHECK (status IN ('announced', 'scheduled', 'applied', 'reconciled', 'cancelled')),
  attention text CHECK (octet_length(attention) BETWEEN 1 AND 255),
  created_by bigint REFERENCES principals (id),
  created timestamptz NOT NULL DEFAULT clock_now(),
  applied_at timestamptz,
  updated timestamptz NOT NULL DEFAULT clock_now(),
  CHECK (window_start <= effective_at AND effective_at <= window_end
         AND window_start < window_end),
  CHECK (type NOT IN ('split', 'reverse_split', 'stock_dividend')
         OR (ratio_old IS NOT NULL AND ratio_new IS NOT NULL)),
  CHECK (type <> 'split' OR ratio_new > ratio_old),
  CHECK (type <> 'reverse_split' OR ratio_new < ratio_old),
  CHECK (type <> 'stock_dividend' OR ratio_new > ratio_old),
  CHECK (type <> 'cash_dividend' OR (cash_per_share IS NOT NULL AND currency IS NOT NULL)),
  CHECK (type <> 'symbol_change' OR new_symbol IS NOT NULL),
  CHECK ((cash_per_share IS NULL) = (currency IS NULL)),
  CHECK (ex_date IS NULL OR record_date IS NULL OR ex_date <= record_date),
  CHECK (record_date IS NULL OR pay_date IS NULL OR record_date <= pay_date),
  CHECK (ex_date IS NULL OR pay_date IS NULL OR ex_date <= pay_date),
  -- a split's multipliers are known from scheduled on
  CHECK (status IN ('announced', 'cancelled') OR type NOT IN ('split', 'reverse_split')
         OR (old_multiplier IS NOT NULL AND new_multiplier IS NOT NULL)),
  CHECK ((status IN ('applied', 'reconciled')) = (applied_at IS NOT NULL))
);
CREATE INDEX corporate_actions_instrument ON corporate_actions (instrument, window_start);
CREATE INDEX corporate_actions_due ON corporate_actions (effective_at) WHERE status = 'scheduled';
