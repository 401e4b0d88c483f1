-- The broker connector's books (fix/fix_broker.c, docs/broker.md): the
-- orders the service sends to its broker over FIX, what the broker
-- reported about them, and the alerts that need an operator.
--
-- broker_orders: one row per order, keyed by the caller's order id; the
-- ClOrdID is derived from it ("BS" || id), so a resend after a crash
-- carries the same ClOrdID and the broker books it once.  state follows
-- pending_new -> sent (the NewOrderSingle is in the message store with
-- sent_seq) -> new / partially_filled -> filled, or canceled, rejected,
-- expired; cum_qty, leaves_qty and avg_px are the broker's running totals
-- from its last ExecutionReport.  cancel_state tracks our cancel request
-- apart from the order's own state.
CREATE TABLE broker_orders (
  id bigint PRIMARY KEY CHECK (id > 0),
  cl_ord_id text NOT NULL UNIQUE CHECK (cl_ord_id = 'BS' || id::text),
  symbol text NOT NULL CHECK (symbol ~ '^[A-Z0-9][A-Z0-9./-]{0,15}$'),
  isin text CHECK (isin ~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$'),
  side text NOT NULL CHECK (side IN ('buy', 'sell')),
  quantity numeric(30, 6) NOT NULL CHECK (quantity > 0),
  ord_type text NOT NULL CHECK (ord_type IN ('market', 'limit')),
  limit_price numeric(30, 6) CHECK (limit_price > 0),
  tif text NOT NULL CHECK (tif IN ('day', 'ioc')),
  note text CHECK (length(note) BETWEEN 1 AND 128),
  state text NOT NULL DEFAULT 'pending_new'
    CHECK (state IN ('pending_new', 'sent', 'new', 'partially_filled', 'filled', 'canceled',
                     'rejected', 'expired')),
  cancel_state text NOT NULL DEFAULT 'none'
    CHECK (cancel_state IN ('none', 'pending_cancel', 'cancel_sent', 'cancel_rejected',
                            'cancel_done')),
  cancel_count integer NOT NULL DEFAULT 0 CHECK (cancel_count >= 0),
  broker_order_id text,
  cum_qty numeric(30, 6) NOT NULL DEFAULT 0,
  leaves_qty numeric(30, 6) NOT NULL,
  avg_px numeric(30, 8) NOT NULL DEFAULT 0,
  session_id text,
  sent_seq bigint,
  sent_at timestamptz,
  cancel_seq bigint,
  last_text text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((ord_type = 'limit') = (limit_price IS NOT NULL)),
  CHECK (state <> 'sent' OR sent_seq IS NOT NULL)
);
-- The connector's work list: orders to send, to cancel, to ask about.
CREATE INDEX broker_orders_open ON broker_orders (id)
  WHERE state IN ('pending_new', 'sent', 'new', 'partially_filled');
-- A report without a ClOrdID of ours is matched by the broker's OrderID.
CREATE INDEX broker_orders_broker_order_id ON broker_orders (broker_order_id);

-- Every ExecutionReport that moves a filled quantity (ExecType F trade,
-- H trade cancel, G trade correct), one row per ExecID: a duplicate
-- report changes nothing.  The rest of the service reads them in order
-- of cursor (only the connector writes here, one transaction at a time,
-- so cursor order is commit order).  raw is the message as received.
CREATE TABLE broker_executions (
  cursor bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  exec_id text NOT NULL UNIQUE,
  order_id bigint NOT NULL REFERENCES broker_orders (id),
  exec_type text NOT NULL CHECK (exec_type IN ('F', 'H', 'G')),
  exec_ref_id text,
  ord_status text NOT NULL,
  broker_order_id text NOT NULL,
  last_qty numeric(30, 6) NOT NULL,
  last_px numeric(30, 8) NOT NULL,
  cum_qty numeric(30, 6) NOT NULL,
  leaves_qty numeric(30, 6) NOT NULL,
  avg_px numeric(30, 8) NOT NULL,
  trade_date date,
  settl_date date,
  session_id text NOT NULL,
  msg_seq_num bigint NOT NULL,
  unknown_tags integer[] NOT NULL DEFAULT '{}',
  raw bytea NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX broker_executions_order ON broker_executions (order_id, cursor);

-- The history of each order: placed, sent (with its MsgSeqNum), cancel
-- requested and sent, status requested, every ExecutionReport (exec_id
-- unique, so a duplicate is recorded once; status reports, ExecType I,
-- carry no exec_id here) and OrderCancelReject, with the raw message.
CREATE TABLE broker_order_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id bigint NOT NULL REFERENCES broker_orders (id),
  kind text NOT NULL,
  state text NOT NULL,
  exec_id text UNIQUE,
  session_id text,
  msg_seq_num bigint,
  detail text,
  unknown_tags integer[] NOT NULL DEFAULT '{}',
  raw bytea,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX broker_order_events_order ON broker_order_events (order_id, id);

-- What the connector could not match and an operator must look at (an
-- ExecutionReport for a ClOrdID we never sent, answered with
-- DontKnowTrade).  One row per (kind, ref): a repeated report adds none.
CREATE TABLE broker_alerts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL,
  ref text NOT NULL,
  detail text NOT NULL,
  raw bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (kind, ref)
);
