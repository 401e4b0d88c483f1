-- The simulated broker's books (fix/fix_simbroker.c, docs/simbroker.md):
-- the orders it received over FIX, the trades it booked for them, and the
-- DontKnowTrades its clients sent back.  Only the simulated broker
-- writes here; the simulated custodian reads sim_trades.
--
-- sim_orders: one row per ClOrdID per FIX session ("BROKER->BACKSTOCK",
-- our CompID first), so a NewOrderSingle whose ClOrdID is already known
-- creates no second order.  The row holds the order as received, the
-- behaviour it follows and its running state: what the simulator does
-- next (step) and when (next_at), so that a restarted simulator carries
-- on where it stopped.  exec_count numbers the ExecutionReports that
-- changed the order: the n-th has ExecID order_id || '-' || n.
CREATE TABLE sim_orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id text GENERATED ALWAYS AS ('SIM' || id::text) STORED, -- FIX 37
  session text NOT NULL,
  cl_ord_id text NOT NULL CHECK (length(cl_ord_id) BETWEEN 1 AND 64),
  account text,
  symbol text NOT NULL,
  security_id text,         -- 48 as received (an ISIN when security_id_source = '4')
  security_id_source text,  -- 22 as received
  side_code text NOT NULL,  -- 54 as received: '1' buy, '2' sell (others are rejected)
  ord_type_code text NOT NULL, -- 40 as received: '1' market, '2' limit (others are rejected)
  time_in_force text NOT NULL DEFAULT '0', -- 59 as received, '0' (day) when absent
  order_qty numeric(30, 6), -- 38; NULL when the order came without a usable one (rejected)
  limit_price numeric(30, 6), -- 44 of a limit order
  fill_price numeric(30, 6), -- price.<SYMBOL> when the order arrived; NULL: unknown symbol
  behaviour text NOT NULL,  -- the behaviour spec followed ("fill", "partial:3:100", ...)
  reject_reason integer,    -- 103 when the order is rejected
  reject_text text,         -- 58 of the reject
  -- Running state, as the last ExecutionReport sent reported it.
  status text NOT NULL DEFAULT 'A', -- 39 OrdStatus: A pending new, 0 new, 1 partially filled,
                                    -- 2 filled, 4 canceled, 8 rejected, C expired
  cum_qty numeric(30, 6) NOT NULL DEFAULT 0,
  leaves_qty numeric(30, 6) NOT NULL DEFAULT 0,
  cum_amount numeric(38, 12) NOT NULL DEFAULT 0, -- sum of quantity x price of the live fills
  avg_px numeric(30, 6) NOT NULL DEFAULT 0,      -- cum_amount / cum_qty, half-even
  exec_count integer NOT NULL DEFAULT 0 CHECK (exec_count >= 0),
  parts_done integer NOT NULL DEFAULT 0 CHECK (parts_done >= 0),
  step text NOT NULL CHECK (step IN ('ack', 'reject', 'fill', 'cancel', 'expire', 'duplicate',
                                     'bust', 'correct', 'disconnect', 'rest', 'done')),
  next_at timestamptz NOT NULL,
  -- The last fill (the one a duplicate repeats, a bust cancels, a correct corrects).
  last_exec_id text,
  last_qty numeric(30, 6),
  last_px numeric(30, 6),
  last_at timestamptz,
  trade_date date,
  settle_date date,
  received_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (session, cl_ord_id)
);
-- What a (re)started simulator loads: the orders with work left.
CREATE INDEX sim_orders_active ON sim_orders (session, id) WHERE step <> 'done';

-- ExecIDs of ExecutionReports that change no order (order status
-- answers, rejects of duplicate ClOrdIDs): "I" || nextval.
CREATE SEQUENCE sim_exec_ids;

-- sim_trades: the trade blotter, one row per fill.  trade_id is the
-- fill's ExecID; quantity and price are exact; side is 'buy' or 'sell'
-- from the client's point of view (it bought or sold); trade_date is the
-- New York date of the fill and settle_date the date it settles (trade
-- date + settle_days NYSE business days).  status 'booked' until a trade
-- cancel (ExecType H) makes it 'busted'; a trade correct (ExecType G)
-- changes price and keeps the first one in original_price.
CREATE TABLE sim_trades (
  trade_id text PRIMARY KEY,
  order_id text NOT NULL,   -- FIX 37, "SIM" || sim_orders.id
  sim_order_id bigint NOT NULL REFERENCES sim_orders (id),
  cl_ord_id text NOT NULL,
  session text NOT NULL,
  account text,
  symbol text NOT NULL,
  isin text,                -- 48 when 22 = 4
  side text NOT NULL CHECK (side IN ('buy', 'sell')),
  quantity numeric(30, 6) NOT NULL CHECK (quantity > 0),
  price numeric(30, 6) NOT NULL CHECK (price > 0),
  trade_date date NOT NULL,
  settle_date date NOT NULL CHECK (settle_date >= trade_date),
  status text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'busted')),
  executed_at timestamptz NOT NULL,
  busted_by text,           -- ExecID of the trade cancel
  busted_at timestamptz,
  corrected_by text,        -- ExecID of the last trade correct
  original_price numeric(30, 6),
  corrected_at timestamptz,
  CHECK ((status = 'busted') = (busted_by IS NOT NULL))
);
CREATE INDEX sim_trades_settle ON sim_trades (settle_date, status);
CREATE INDEX sim_trades_session_symbol ON sim_trades (session, symbol);

-- DontKnowTrades (35=Q) received: a client did not recognise one of our
-- ExecutionReports.  Recorded as received, for the operator and tests.
CREATE TABLE sim_dont_know_trades (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session text NOT NULL,
  order_id text NOT NULL,   -- 37
  exec_id text NOT NULL,    -- 17
  dk_reason text NOT NULL,  -- 127: A unknown symbol, B wrong side, ... Z other
  symbol text NOT NULL,
  side_code text NOT NULL,
  order_qty numeric(30, 6),
  last_qty numeric(30, 6),
  last_px numeric(30, 6),
  text text,
  received_at timestamptz NOT NULL DEFAULT now()
);
