-- The double-entry books (issuance/issuance_books.c, docs/books.md):
-- assets with their scale, accounts per owner and asset with a balance
-- kept in step with their entries, and postings -- sets of entries with
-- a unique key whose amounts sum to zero per asset.  Postings and entries
-- are append-only (triggers refuse UPDATE, DELETE and TRUNCATE), and a
-- deferred trigger refuses at COMMIT a posting that does not balance,
-- whoever wrote it.  books_check() proves from these tables that every
-- posting balances, every asset sums to zero and every stored balance is
-- the sum of its entries.  Amounts are exact numeric at the asset's
-- scale, never float.

-- books_assets: every asset used, with its scale (digits after the
-- point).  cash:<CCY> (default 2), shares:<ISIN>:settled and
-- shares:<ISIN>:in_transit (6), tokens:<SYMBOL> (18 unless defined
-- otherwise).  Rows are added on first use; a scale never changes.
CREATE TABLE books_assets (
  asset text PRIMARY KEY CHECK (asset ~ ('^(cash:[A-Z]{3}'
    '|shares:[A-Z]{2}[A-Z0-9]{9}[0-9]:(settled|in_transit)'
    '|tokens:[A-Za-z][A-Za-z0-9]{0,15})$')),
  scale smallint NOT NULL CHECK (scale BETWEEN 0 AND 38),
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO books_assets (asset, scale) VALUES ('cash:USD', 2);

-- books_accounts: one per owner and asset (the natural key), created on
-- first use.  owner is a system role (which may go negative) or an AP
-- 'ap:<id>'.  balance is the sum of the account's entries, updated by
-- every posting under a row lock; floor, when not NULL, is the lowest
-- balance a posting may leave (an AP's accounts start with 0).
CREATE TABLE books_accounts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner text NOT NULL CHECK (owner ~
    '^(issuer|broker|custodian|chain|fees|suspense|ap:[A-Za-z0-9][A-Za-z0-9._-]{0,63})$'),
  asset text NOT NULL REFERENCES books_assets (asset),
  balance numeric NOT NULL DEFAULT 0,
  floor numeric,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (owner, asset)
);
CREATE INDEX books_accounts_asset ON books_accounts (asset);

-- books_postings: one row per posting.  key is the idempotency key (the
-- same key again with the same reference and entries changes nothing;
-- with others it is refused).  reference names what the posting belongs
-- to ('order:123', 'event:456'); posted_at is the posting's time as the
-- caller gave it; n_entries is how many entries it wrote (the checker
-- compares).  The id is drawn after the accounts are locked, so an
-- account's entries are numbered in commit order.
CREATE TABLE books_postings (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key text NOT NULL UNIQUE CHECK (key ~ '^[!-~]{1,127}$'),
  reference text NOT NULL CHECK (reference ~ '^[a-z][a-z0-9_]{0,31}:[!-~]{1,94}$'),
  memo text NOT NULL DEFAULT '' CHECK (octet_length(memo) < 512),
  posted_at timestamptz NOT NULL,
  n_entries integer NOT NULL CHECK (n_entries BETWEEN 2 AND 64),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX books_postings_reference ON books_postings (reference, id);

-- books_entries: the entries of each posting in the caller's order (seq
-- from 1); amount is signed and never zero.  The index serves balances,
-- balances as of a posting or time, and an account's entries after a
-- cursor (the entry id).
CREATE TABLE books_entries (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  posting_id bigint NOT NULL REFERENCES books_postings (id),
  seq smallint NOT NULL CHECK (seq BETWEEN 1 AND 64),
  account_id bigint NOT NULL REFERENCES books_accounts (id),
  amount numeric NOT NULL CHECK (amount <> 0),
  UNIQUE (posting_id, seq)
);
CREATE INDEX books_entries_account ON books_entries (account_id, id) INCLUDE (posting_id, amount);

-- Postings and entries are append-only: a correction is a new posting.
-- (In the functions below BEGIN never starts a line: scripts/embed.py
-- would take it for a transaction of the migration's own.)
CREATE FUNCTION books_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  RAISE EXCEPTION 'books: % on % refused: postings and entries are append-only',
    TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER books_postings_append_only BEFORE UPDATE OR DELETE ON books_postings
  FOR EACH ROW EXECUTE FUNCTION books_append_only();
CREATE TRIGGER books_postings_no_truncate BEFORE TRUNCATE ON books_postings
  FOR EACH STATEMENT EXECUTE FUNCTION books_append_only();
CREATE TRIGGER books_entries_append_only BEFORE UPDATE OR DELETE ON books_entries
  FOR EACH ROW EXECUTE FUNCTION books_append_only();
CREATE TRIGGER books_entries_no_truncate BEFORE TRUNCATE ON books_entries
  FOR EACH STATEMENT EXECUTE FUNCTION books_append_only();

-- At COMMIT, every posting inserted in the transaction must hold the
-- n_entries entries it announced and balance per asset (books_post()
-- checks this before writing; this catches any other writer).  Two
-- indexed queries per posting.
CREATE FUNCTION books_posting_check() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE
  n integer;
  bad text; BEGIN
  SELECT count(*) INTO n FROM books_entries WHERE posting_id = NEW.id;
  IF n <> NEW.n_entries THEN
    RAISE EXCEPTION 'books: posting % holds % entries, not %', NEW.id, n, NEW.n_entries
      USING ERRCODE = 'check_violation';
  END IF;
  SELECT a.asset INTO bad FROM books_entries e JOIN books_accounts a ON a.id = e.account_id
    WHERE e.posting_id = NEW.id GROUP BY a.asset HAVING sum(e.amount) <> 0 ORDER BY a.asset LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'books: posting % does not balance in %', NEW.id, bad
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER books_postings_balanced AFTER INSERT ON books_postings
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION books_posting_check();
