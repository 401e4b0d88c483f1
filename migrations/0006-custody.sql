-- The custody store (custody/custody_store.c, docs/custody-store.md):
-- every document the custodian sent us, stored once with its raw bytes
-- and SHA-256, and what we parsed from it; statement pages assembled
-- into statements; and a record of every document we refused.  A
-- document is stored in one transaction with everything parsed from it,
-- or not at all (then only a custody_rejects row says why).

-- custody_documents: one row per distinct document (sha256 is the
-- idempotency key: the same bytes again change nothing).  kind is the
-- format; source where it came from (a file path or URL).  The raw bytes
-- are in raw for documents up to 64 MiB, else in custody_document_chunks
-- (n_chunks > 0), so that a 500 MB statement is streamed in and out.
CREATE TABLE custody_documents (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('semt002', 'mt535', 'sese025')),
  sha256 text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size bigint NOT NULL CHECK (size >= 0),
  source text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  raw bytea,
  n_chunks integer NOT NULL DEFAULT 0 CHECK (n_chunks >= 0),
  CHECK ((raw IS NULL) = (n_chunks > 0)),
  CHECK (raw IS NULL OR octet_length(raw) = size)
);

-- The raw bytes of a large document in order: seq 0, 1, ... n_chunks - 1,
-- each 1 MiB but the last.
CREATE TABLE custody_document_chunks (
  document_id bigint NOT NULL REFERENCES custody_documents (id),
  seq integer NOT NULL CHECK (seq >= 0),
  data bytea NOT NULL,
  PRIMARY KEY (document_id, seq)
);

-- custody_statements: one statement of holdings, identified by its
-- servicer, safekeeping account, statement id ('' when it has none), day,
-- basis and update type; its pages are documents (semt.002 or MT535).
-- pages counts the pages stored, last_page is N once the page flagged
-- last arrived.  Page numbers are unique and never above N, so the
-- statement is complete exactly when pages = last_page: complete_at is
-- set then, in the transaction of the completing page.  stale_at: when
-- it was reported (custody_rejects, error custody_pages) as incomplete
-- and superseded by a later statement of the same account and basis.
CREATE TABLE custody_statements (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_servicer text NOT NULL,
  safekeeping_account text NOT NULL,
  stmt_id text NOT NULL,
  stmt_day date NOT NULL,
  basis text NOT NULL CHECK (basis IN ('SETT', 'TRAD', 'CONT')),
  update_type text NOT NULL CHECK (update_type IN ('COMP', 'DELT')),
  stmt_at timestamptz NOT NULL,    -- StmtDtTm (the day's midnight UTC when only a date)
  stmt_has_time boolean NOT NULL,
  pages integer NOT NULL DEFAULT 0 CHECK (pages >= 0),
  last_page integer CHECK (last_page >= 1),
  complete_at timestamptz,
  stale_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_servicer, safekeeping_account, stmt_id, stmt_day, basis, update_type),
  CHECK (last_page IS NULL OR pages <= last_page),
  CHECK ((complete_at IS NOT NULL) = (last_page IS NOT NULL AND pages = last_page))
);
CREATE INDEX custody_statements_account ON custody_statements
  (account_servicer, safekeeping_account, basis, stmt_at);

-- One row per statement document: its page of the statement and the
-- details of its header.  content_sha256 hashes what was parsed (page,
-- positions and balances, not the bytes): a page sent again in other
-- bytes is told apart from a contradicting one by it.
CREATE TABLE custody_statement_pages (
  document_id bigint PRIMARY KEY REFERENCES custody_documents (id),
  statement_id bigint NOT NULL REFERENCES custody_statements (id),
  page_no integer NOT NULL CHECK (page_no >= 1),
  last_page boolean NOT NULL,
  kind text NOT NULL CHECK (kind IN ('semt002', 'mt535')),
  account_owner text NOT NULL,
  frequency text NOT NULL,         -- Frqcy code, '' when absent
  activity boolean NOT NULL,       -- ActvtyInd
  sub_accounts boolean NOT NULL,   -- SubAcctInd
  stmt_at timestamptz NOT NULL,
  positions bigint NOT NULL DEFAULT 0,
  balances bigint NOT NULL DEFAULT 0,
  content_sha256 text NOT NULL DEFAULT '',
  UNIQUE (statement_id, page_no)
);

-- custody_positions: one row per balance of each position of a page:
-- balance_no 0 the aggregate balance, 1 available, 2 not available,
-- 3 + i the i-th sub-balance (sub_type PENR, PEND, BLOK, ...).  position_no
-- numbers the positions of the document from 1, in document order.
-- quantity is exact and never negative; is_short is ShrtLngInd SHOR (or a
-- negative MT535 quantity).  qty_kind: UNIT units, FAMT face amount, AMOR
-- amortised value, DGTL digital token units.  sub_account '' is the
-- safekeeping account itself.
CREATE TABLE custody_positions (
  document_id bigint NOT NULL REFERENCES custody_documents (id),
  position_no integer NOT NULL CHECK (position_no >= 1),
  balance_no integer NOT NULL CHECK (balance_no >= 0),
  balance text NOT NULL CHECK (balance IN ('aggregate', 'available', 'not_available', 'sub')),
  sub_type text CHECK ((balance = 'sub') = (sub_type IS NOT NULL)),
  isin text NOT NULL,
  sub_account text NOT NULL,
  quantity numeric NOT NULL CHECK (quantity >= 0),
  is_short boolean NOT NULL,
  qty_kind text NOT NULL CHECK (qty_kind IN ('UNIT', 'FAMT', 'AMOR', 'DGTL')),
  PRIMARY KEY (document_id, position_no, balance_no)
);

-- custody_settlements: one sese.025 confirmation per settled
-- transaction, unique per servicer and the account owner's transaction
-- id (a second confirmation of it in other bytes is refused as a
-- conflict).  amount and currency are NULL when free of payment.
CREATE TABLE custody_settlements (
  document_id bigint PRIMARY KEY REFERENCES custody_documents (id),
  account_servicer text NOT NULL,
  tx_id text NOT NULL,
  servicer_tx_id text NOT NULL,    -- '' when absent
  account_owner text NOT NULL,
  safekeeping_account text NOT NULL,
  isin text NOT NULL,
  quantity numeric NOT NULL CHECK (quantity >= 0),
  is_short boolean NOT NULL,
  qty_kind text NOT NULL CHECK (qty_kind IN ('UNIT', 'FAMT', 'AMOR', 'DGTL')),
  direction text NOT NULL CHECK (direction IN ('RECE', 'DELI')),
  against_payment boolean NOT NULL,
  trade_date date,
  settlement_date date NOT NULL,
  amount numeric,
  currency text,
  UNIQUE (account_servicer, tx_id)
);
CREATE INDEX custody_settlements_isin ON custody_settlements (isin, settlement_date);

-- custody_rejects: every document refused, with the registry error (code
-- and name), a message, where in the document (element path or MT535
-- tag, and line), and the first 4 KiB of its bytes (head) -- never more.
-- sha256 is NULL when it was not computed (a document over the size
-- limit is not read to its end).  A stale incomplete statement is
-- reported here too: statement_id set, no sha256, no head.
CREATE TABLE custody_rejects (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sha256 text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size bigint NOT NULL DEFAULT 0,
  source text NOT NULL,
  kind text,                       -- as detected, NULL when unknown
  error_code integer NOT NULL,
  error_name text NOT NULL,
  message text NOT NULL,
  location text NOT NULL DEFAULT '',
  line bigint NOT NULL DEFAULT 0,
  head bytea CHECK (octet_length(head) <= 4096),
  statement_id bigint REFERENCES custody_statements (id),
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX custody_rejects_received ON custody_rejects (received_at);

-- The HTTP feed's memory: each document URL fetched and what became of
-- it (the document stored or found again, or the reject), so a URL is
-- fetched once.  A transient failure (timeout, 5xx after the retries)
-- leaves no row: the next pass tries again.
CREATE TABLE custody_feed_documents (
  url text PRIMARY KEY,
  sha256 text,
  document_id bigint REFERENCES custody_documents (id),
  reject_id bigint REFERENCES custody_rejects (id),
  fetched_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((document_id IS NULL) <> (reject_id IS NULL))
);

-- What readers use: complete statements only, and their positions.
CREATE VIEW custody_complete_statements AS
  SELECT * FROM custody_statements WHERE complete_at IS NOT NULL;

CREATE VIEW custody_statement_positions AS
  SELECT s.id AS statement_id, s.account_servicer, s.safekeeping_account, s.stmt_id, s.stmt_day,
         s.stmt_at, s.basis, s.update_type, g.document_id, g.page_no, p.position_no, p.balance_no,
         p.balance, p.sub_type, p.isin, p.sub_account, p.quantity, p.is_short, p.qty_kind
    FROM custody_statements s
    JOIN custody_statement_pages g ON g.statement_id = s.id
    JOIN custody_positions p ON p.document_id = g.document_id
   WHERE s.complete_at IS NOT NULL;
