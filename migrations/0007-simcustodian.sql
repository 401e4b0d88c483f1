-- The simulated custodian's books (custody/custody_simcust.c,
-- docs/simcustodian.md): what it settled from the simulated broker's
-- blotter (sim_trades), the holdings that resulted, the statements it
-- produced, and every document it published.  Only the simulated
-- custodian writes here; our own ingestion reads the documents through
-- the drop folder or HTTP, never these tables.
--
-- sim_documents: every document published, in order (id), with its exact
-- bytes and their SHA-256 (lower-case hex).  A document is committed in
-- the same transaction as the settlement or statement it reports, and
-- written to the drop folder afterwards: written_at stays NULL until the
-- file is in place, so a restarted custodian writes what a crash left
-- unwritten.  The HTTP feed serves the bytes from here.
CREATE TABLE sim_documents (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,94}$'),
  kind text NOT NULL CHECK (kind IN ('sese025', 'semt002', 'mt535')),
  content text NOT NULL,    -- the document (ASCII XML or MT535 text)
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  statement_id bigint,      -- sim_statements.id of a statement page
  page_no integer CHECK (page_no >= 1),
  created_at timestamptz NOT NULL DEFAULT now(),
  written_at timestamptz    -- when the file reached the drop folder
);
CREATE INDEX sim_documents_unwritten ON sim_documents (id) WHERE written_at IS NULL;

-- sim_settlements: one row per blotter trade the custodian decided on,
-- keyed by the trade, so a trade is settled (or failed) at most once
-- whatever the restarts.  tx_id is derived from the trade id (the trade
-- id itself when it is a plain Max35Text, else "H." and a hash of it) and
-- is the sese.025 AcctOwnrTxId; AcctSvcrTxId is "SC" || id.  status
-- 'settled': settled_date is the effective settlement date (the
-- contractual settle_date, or later by a configured delay), the holdings
-- changed and document_id names the sese.025.  status 'failed': never
-- settles (a configured fail, or no ISIN known); reason says why.
CREATE TABLE sim_settlements (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  trade_id text NOT NULL UNIQUE REFERENCES sim_trades (trade_id),
  tx_id text NOT NULL UNIQUE CHECK (length(tx_id) BETWEEN 1 AND 35),
  status text NOT NULL CHECK (status IN ('settled', 'failed')),
  reason text,
  safekeeping_account text NOT NULL,
  symbol text NOT NULL,
  isin text CHECK (isin ~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$'),
  side text NOT NULL CHECK (side IN ('buy', 'sell')),
  quantity numeric(30, 6) NOT NULL CHECK (quantity > 0),
  price numeric(30, 6) NOT NULL CHECK (price > 0), -- the trade's price when settled
  amount numeric(38, 2),    -- quantity x price, half-even to cents (SttldAmt, USD)
  trade_date date NOT NULL,
  settle_date date NOT NULL, -- contractual, from the blotter
  settled_date date,         -- effective
  document_id bigint REFERENCES sim_documents (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'settled') = (settled_date IS NOT NULL)),
  CHECK (status = 'failed' OR (isin IS NOT NULL AND amount IS NOT NULL)),
  CHECK (status = 'settled' OR (reason IS NOT NULL AND document_id IS NULL))
);
CREATE INDEX sim_settlements_date ON sim_settlements (safekeeping_account, settled_date);

-- sim_holdings: the settled balance per safekeeping account and ISIN,
-- moved by each settlement in its transaction (buys add, sells remove;
-- negative is a short position).  Always equal to the sum of the
-- account's settled sim_settlements rows.
CREATE TABLE sim_holdings (
  safekeeping_account text NOT NULL,
  isin text NOT NULL CHECK (isin ~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$'),
  quantity numeric(36, 17) NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (safekeeping_account, isin)
);

-- sim_statements: one row per statement of holdings (semt.002 or MT535,
-- all its pages), as of stmt_date's cut-off.  stmt_id is "SC" ||
-- YYYYMMDD || '-' || the sequence value.  A daily statement exists at
-- most once per account and date; statements asked for over HTTP are
-- never daily.
CREATE SEQUENCE sim_statement_ids;
CREATE TABLE sim_statements (
  id bigint PRIMARY KEY,    -- from sim_statement_ids
  stmt_id text NOT NULL UNIQUE CHECK (length(stmt_id) BETWEEN 1 AND 35),
  format text NOT NULL CHECK (format IN ('semt002', 'mt535')),
  stmt_date date NOT NULL,
  daily boolean NOT NULL,
  safekeeping_account text NOT NULL,
  pages integer NOT NULL DEFAULT 0 CHECK (pages >= 0),
  positions integer NOT NULL DEFAULT 0 CHECK (positions >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sim_statements_daily ON sim_statements (safekeeping_account, stmt_date)
  WHERE daily;
ALTER TABLE sim_documents ADD FOREIGN KEY (statement_id) REFERENCES sim_statements (id);
