-- Reconciliation runs and breaks (reconcile/recon*.c, docs/reconcile.md).
--
-- One run per (ISIN, complete custodian statement with basis SETT and
-- update type COMP): the custodian's settled aggregate AGG at the
-- statement's cut-off T, our own records at T (fills not yet settled,
-- redemptions owed, mints owed), the token supply N at the last block at
-- or before T and the multiplier m in force at T.  All figures numeric,
-- never floating point.  Shares scale 6, tokens raw at scale 18.
--
--   settled_coverage     = AGG - (ceil6(m*N) + RED_owed)
--   contractual_coverage = (AGG + PENR_in - PEND_out)
--                          - (ceil6(m*N) + (RED_owed - RED_instr) + MINT_owed)
--
-- The work is one function, recon_isin(), called by recon_step() in one
-- transaction per (statement, ISIN); the unique key makes it resumable.

CREATE TABLE recon_runs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  isin text NOT NULL CHECK (isin ~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$'),
  statement bigint NOT NULL REFERENCES custody_statements (id),
  instrument bigint REFERENCES instruments (id),   -- NULL: no instrument has the ISIN
  cutoff timestamptz NOT NULL,                     -- the statement's StmtDtTm
  statement_sha256s text[] NOT NULL,               -- its pages' documents, page order
  block bigint NOT NULL CHECK (block >= 0),        -- last block at or before cutoff
  supply numeric(60, 18) NOT NULL CHECK (supply >= 0),          -- N, raw tokens
  multiplier numeric(38, 18) NOT NULL CHECK (multiplier > 0),   -- m at cutoff
  agg numeric(30, 6) NOT NULL,                     -- settled aggregate (SHOR counted negative)
  pend_out numeric(30, 6) NOT NULL CHECK (pend_out >= 0),
  penr_in numeric(30, 6) NOT NULL CHECK (penr_in >= 0),
  red_owed numeric(30, 6) NOT NULL CHECK (red_owed >= 0),
  red_instr numeric(30, 6) NOT NULL CHECK (red_instr >= 0),
  mint_owed numeric(30, 6) NOT NULL CHECK (mint_owed >= 0),     -- shares bought, not minted
  liabilities numeric(30, 6) NOT NULL CHECK (liabilities >= 0), -- ceil6(m*N)
  settled_coverage numeric(30, 6) NOT NULL,
  contractual_coverage numeric(30, 6) NOT NULL,
  status text NOT NULL CHECK (status IN ('ok', 'breaks')),
  breaks integer NOT NULL DEFAULT 0 CHECK (breaks >= 0),        -- breaks this run raised or saw
  created timestamptz NOT NULL DEFAULT clock_now(),
  -- the same two figures under the names the attestation slice reads
  statement_id bigint GENERATED ALWAYS AS (statement) STORED,
  chain_block bigint GENERATED ALWAYS AS (block) STORED,
  UNIQUE (isin, statement),
  CHECK (red_instr <= red_owed)
);
CREATE INDEX recon_runs_cutoff ON recon_runs (isin, cutoff);

-- One row per difference.  key names the finding within its ISIN
-- ('si:<settlement item>', 'coverage', 'rollforward:agg', 'short',
-- 'stale:<statement>', ...): a later run that finds it again updates the
-- open row (amount, class: pending_settlement -> failed_settlement) instead
-- of adding one.  Open timing and settlement breaks that a later run no
-- longer finds become aged_out; the others wait for an admin.
CREATE TABLE recon_breaks (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run bigint NOT NULL REFERENCES recon_runs (id),  -- the run that opened it
  last_run bigint NOT NULL REFERENCES recon_runs (id),  -- the last run that saw it
  isin text NOT NULL,
  key text NOT NULL CHECK (octet_length(key) BETWEEN 1 AND 128),
  class text NOT NULL CHECK (class IN ('timing', 'pending_settlement', 'failed_settlement',
                                       'corporate_action', 'fees', 'security_master', 'booking',
                                       'custodian_data')),
  amount numeric(30, 6) NOT NULL,                  -- shares, signed (custodian minus us)
  detail text NOT NULL CHECK (octet_length(detail) BETWEEN 1 AND 500),
  status text NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'explained', 'aged_out', 'resolved')),
  opened timestamptz NOT NULL DEFAULT clock_now(),
  updated timestamptz NOT NULL DEFAULT clock_now(),
  resolved_by bigint REFERENCES principals (id),
  note text CHECK (octet_length(note) <= 500),
  CHECK (status NOT IN ('explained', 'resolved') OR note IS NOT NULL)
);
CREATE INDEX recon_breaks_isin ON recon_breaks (isin, key) WHERE status IN ('open', 'explained');
CREATE INDEX recon_breaks_status ON recon_breaks (status, id);

-- The (statement, ISIN) pairs still to reconcile, in cut-off order: every
-- complete SETT/COMP statement with each ISIN it holds and each
-- instrument's ISIN.
CREATE VIEW recon_todo AS
  SELECT s.id AS statement, s.stmt_at AS cutoff, x.isin
    FROM custody_complete_statements s
    CROSS JOIN LATERAL (
      SELECT p.isin FROM custody_statement_positions p
       WHERE p.statement_id = s.id AND p.balance = 'aggregate'
      UNION
      SELECT i.isin FROM instruments i) x
   WHERE s.basis = 'SETT' AND s.update_type = 'COMP'
     AND NOT EXISTS (SELECT 1 FROM recon_runs r WHERE r.statement = s.id AND r.isin = x.isin);

-- ceil at 6 places.
CREATE FUNCTION recon_ceil6(v numeric) RETURNS numeric
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT round(ceil(v * 1000000) / 1000000, 6) $$;

-- Records (or refreshes) one finding of a run.
CREATE FUNCTION recon_finding(p_run bigint, p_isin text, p_key text, p_class text,
                              p_amount numeric, p_detail text) RETURNS void
  LANGUAGE plpgsql
  AS $$
DECLARE
  b bigint; BEGIN
  SELECT id INTO b FROM recon_breaks
   WHERE isin = p_isin AND key = p_key AND status IN ('open', 'explained')
   ORDER BY id DESC LIMIT 1;
  IF b IS NULL THEN
    INSERT INTO recon_breaks (run, last_run, isin, key, class, amount, detail)
      VALUES (p_run, p_run, p_isin, p_key, p_class, p_amount, left(p_detail, 500));
  ELSE
    UPDATE recon_breaks SET last_run = p_run, class = p_class, amount = p_amount,
           detail = left(p_detail, 500), updated = clock_now()
     WHERE id = b;
  END IF;
END $$;

-- Reconciles @p_isin at statement @p_statement; returns the run's id
-- (the existing one when it was done before).  @p_tol: tolerance on the
-- contractual coverage in token base units (recon_tolerance_tokens; 0:
-- none), taken as shares through the token's decimals and m.
CREATE FUNCTION recon_isin(p_statement bigint, p_isin text, p_tol numeric) RETURNS bigint
  LANGUAGE plpgsql
  AS $$
DECLARE
  s custody_statements%ROWTYPE;
  ins instruments%ROWTYPE;
  prev recon_runs%ROWTYPE;
  v_run bigint;
  v_sha text[];
  v_block bigint;
  v_n numeric := 0;
  v_m numeric := 1;
  v_agg numeric := 0;
  v_short numeric := 0;
  v_held boolean;
  v_pend numeric := 0;
  v_penr numeric := 0;
  v_red numeric := 0;
  v_redi numeric := 0;
  v_mint numeric := 0;
  v_liab numeric := 0;
  v_settled numeric;
  v_contract numeric;
  v_left numeric;           -- contractual difference not yet explained
  v_assets numeric;
  v_owed numeric;
  v_exp numeric;
  v_cnt integer;
  r record; BEGIN
  SELECT id INTO v_run FROM recon_runs WHERE statement = p_statement AND isin = p_isin;
  IF v_run IS NOT NULL THEN
    RETURN v_run;
  END IF;
  SELECT * INTO s FROM custody_complete_statements WHERE id = p_statement;
  IF NOT FOUND OR s.basis <> 'SETT' OR s.update_type <> 'COMP' THEN
    RAISE EXCEPTION 'recon: statement % is not a complete SETT/COMP statement', p_statement;
  END IF;
  SELECT array_agg(d.sha256 ORDER BY g.page_no) INTO v_sha
    FROM custody_statement_pages g JOIN custody_documents d ON d.id = g.document_id
   WHERE g.statement_id = s.id;
  SELECT coalesce(sum(quantity) FILTER (WHERE NOT is_short), 0),
         coalesce(sum(quantity) FILTER (WHERE is_short), 0), count(*) > 0
    INTO v_agg, v_short, v_held
    FROM custody_statement_positions
   WHERE statement_id = s.id AND isin = p_isin AND balance = 'aggregate';
  v_agg := round(v_agg - v_short, 6);
  v_short := round(v_short, 6);
  SELECT coalesce(max(block), 0) INTO v_block FROM chain_transfers WHERE executed_at <= s.stmt_at;
  SELECT * INTO ins FROM instruments WHERE isin = p_isin;
  IF FOUND THEN
    SELECT coalesce((SELECT supply FROM chain_supply WHERE token = ins.token_symbol
                      AND block <= v_block ORDER BY block DESC LIMIT 1), 0) INTO v_n;
    -- m at T: undo the splits that took effect after T
    SELECT coalesce((SELECT old_multiplier FROM corporate_actions
                      WHERE instrument = ins.id AND status IN ('applied', 'reconciled')
                        AND old_multiplier IS NOT NULL AND effective_at > s.stmt_at
                      ORDER BY effective_at, id LIMIT 1), ins.multiplier) INTO v_m;
    -- fills not settled by the statement's day (per our settlement items)
    SELECT coalesce(sum(quantity) FILTER (WHERE side = 'buy'), 0),
           coalesce(sum(quantity) FILTER (WHERE side = 'sell'), 0)
      INTO v_penr, v_pend
      FROM settlement_items si
     WHERE si.isin = p_isin AND si.created <= s.stmt_at AND si.state <> 'cancelled'
       AND NOT (si.state = 'confirmed'
                AND coalesce(si.custody_settle_date, si.settle_date) <= s.stmt_day);
    -- redemptions burned by T, shares not delivered by T; the instructed part
    SELECT coalesce(sum(greatest(q.qty - q.settled, 0)), 0),
           coalesce(sum(q.instr), 0)
      INTO v_red, v_redi
      FROM (SELECT CASE WHEN o.state = 'completed' THEN o.filled_qty ELSE o.quantity END AS qty,
                   coalesce((SELECT sum(quantity) FROM settlement_items si
                              WHERE si.order_id = o.id AND si.state = 'confirmed'
                                AND si.created <= s.stmt_at
                                AND coalesce(si.custody_settle_date, si.settle_date)
                                    <= s.stmt_day), 0) AS settled,
                   coalesce((SELECT sum(quantity) FROM settlement_items si
                              WHERE si.order_id = o.id AND si.created <= s.stmt_at
                                AND si.state <> 'cancelled'
                                AND NOT (si.state = 'confirmed'
                                         AND coalesce(si.custody_settle_date, si.settle_date)
                                             <= s.stmt_day)), 0) AS instr
              FROM orders o
             WHERE o.instrument = ins.id AND o.kind = 'redeem'
               AND EXISTS (SELECT 1 FROM order_events e WHERE e.order_id = o.id
                              AND e.to_state = 'burned' AND e.at <= s.stmt_at)
               AND NOT EXISTS (SELECT 1 FROM order_events e WHERE e.order_id = o.id
                                  AND e.to_state = 'cancelled' AND e.at <= s.stmt_at)) q;
    v_redi := least(v_redi, v_red);
    -- shares bought for mints whose tokens are not minted by T
    SELECT coalesce(sum(b.qty), 0) INTO v_mint
      FROM (SELECT (SELECT coalesce(sum(quantity), 0) FROM settlement_items si
                     WHERE si.order_id = o.id AND si.created <= s.stmt_at
                       AND si.state <> 'cancelled') AS qty
              FROM orders o
             WHERE o.instrument = ins.id AND o.kind = 'mint'
               AND NOT EXISTS (SELECT 1 FROM order_events e WHERE e.order_id = o.id
                                  AND e.to_state = 'minted' AND e.at <= s.stmt_at)) b;
    v_liab := recon_ceil6(v_m * v_n);
  END IF;
  v_settled := v_agg - (v_liab + v_red);
  v_contract := (v_agg + v_penr - v_pend) - (v_liab + (v_red - v_redi) + v_mint);
  SELECT * INTO prev FROM recon_runs
   WHERE isin = p_isin AND cutoff < s.stmt_at ORDER BY cutoff DESC, id DESC LIMIT 1;
  INSERT INTO recon_runs (isin, statement, instrument, cutoff, statement_sha256s, block, supply,
                          multiplier, agg, pend_out, penr_in, red_owed, red_instr, mint_owed,
                          liabilities, settled_coverage, contractual_coverage, status)
    VALUES (p_isin, s.id, ins.id, s.stmt_at, coalesce(v_sha, '{}'), v_block, v_n, v_m, v_agg,
            v_pend, v_penr, v_red, v_redi, v_mint, v_liab, v_settled, v_contract, 'ok')
    RETURNING id INTO v_run;

  -- the custodian's data
  IF v_short > 0 THEN
    PERFORM recon_finding(v_run, p_isin, 'short:' || s.id, 'custodian_data', -v_short,
      format('statement %s reports a SHOR balance of %s', s.id, v_short));
  END IF;
  FOR r IN SELECT c.id, j.message FROM custody_statements c
             JOIN custody_rejects j ON j.statement_id = c.id AND j.error_name = 'custody_pages'
            WHERE c.account_servicer = s.account_servicer
              AND c.safekeeping_account = s.safekeeping_account AND c.basis = s.basis
              AND c.complete_at IS NULL AND c.stale_at IS NOT NULL AND c.stmt_at < s.stmt_at
              AND (prev.cutoff IS NULL OR c.stmt_at > prev.cutoff) LOOP
    PERFORM recon_finding(v_run, p_isin, 'stale:' || r.id, 'custodian_data', 0,
      format('statement %s is incomplete: %s', r.id, r.message));
  END LOOP;
  FOR r IN SELECT c.id FROM custody_complete_statements c
            WHERE c.account_servicer = s.account_servicer
              AND c.safekeeping_account = s.safekeeping_account AND c.basis = 'SETT'
              AND c.update_type = 'DELT' AND c.stmt_at <= s.stmt_at
              AND (prev.cutoff IS NULL OR c.stmt_at > prev.cutoff) LOOP
    PERFORM recon_finding(v_run, p_isin, 'delta:' || r.id, 'custodian_data', 0,
      format('statement %s is a delta (DELT) where a complete one (COMP) is expected', r.id));
  END LOOP;

  IF ins.id IS NULL THEN
    PERFORM recon_finding(v_run, p_isin, 'isin', 'security_master', v_agg,
      format('the custodian holds %s of %s, which no instrument has', v_agg, p_isin));
    v_left := 0;
  ELSIF NOT v_held AND v_n > 0 THEN
    PERFORM recon_finding(v_run, p_isin, 'isin', 'security_master', v_contract,
      format('%s (%s) is missing from statement %s while its supply is %s', p_isin, ins.symbol,
             s.id, v_n));
    v_left := 0;
  ELSE
    v_left := v_contract;
  END IF;

  -- settlements due by the statement's day and not in it
  FOR r IN SELECT si.* FROM settlement_items si
            WHERE si.isin = p_isin AND si.created <= s.stmt_at AND si.state <> 'cancelled'
              AND si.settle_date <= s.stmt_day
              AND NOT (si.state = 'confirmed'
                       AND coalesce(si.custody_settle_date, si.settle_date) <= s.stmt_day)
            ORDER BY si.id LOOP
    PERFORM recon_finding(v_run, p_isin, 'si:' || r.id,
      CASE WHEN r.settle_date < s.stmt_day THEN 'failed_settlement' ELSE 'pending_settlement' END,
      CASE WHEN r.side = 'buy' THEN -r.quantity ELSE r.quantity END,
      format('%s of %s (order %s, exec %s) due %s, not settled at %s', r.side, r.quantity,
             r.order_id, r.exec_id, r.settle_date, s.stmt_day));
  END LOOP;

  IF ins.id IS NOT NULL THEN
    -- mints on the chain since the previous run that no order made
    FOR r IN SELECT t.block, t.amount, i.key FROM chain_transfers t
               JOIN chain_intents i ON i.id = t.intent_id
              WHERE t.token = ins.token_symbol
                AND t.from_address = '0x0000000000000000000000000000000000000000'
                AND t.block <= v_block AND t.block > coalesce(prev.block, 0)
                AND NOT (i.key ~ '^order-[0-9]+-(re)?mint$'
                         AND EXISTS (SELECT 1 FROM orders o
                                      WHERE o.id = substring(i.key from '^order-([0-9]+)-')::bigint
                                        AND o.instrument = ins.id))
              ORDER BY t.block LOOP
      v_exp := -recon_ceil6(v_m * r.amount);
      PERFORM recon_finding(v_run, p_isin, 'mint:' || r.block, 'booking', v_exp,
        format('block %s minted %s %s (intent %s) without a purchase', r.block, r.amount,
               ins.token_symbol, r.key));
      v_left := v_left - v_exp;
    END LOOP;
    -- the supply rolls forward: N(T) = N(T-1) + mints - burns
    IF prev.id IS NOT NULL THEN
      SELECT prev.supply
             + coalesce(sum(amount) FILTER (
                 WHERE from_address = '0x0000000000000000000000000000000000000000'), 0)
             - coalesce(sum(amount) FILTER (
                 WHERE to_address = '0x0000000000000000000000000000000000000000'), 0)
        INTO v_exp
        FROM chain_transfers
       WHERE token = ins.token_symbol AND block > prev.block AND block <= v_block;
      IF v_exp <> v_n THEN
        PERFORM recon_finding(v_run, p_isin, 'rollforward:supply:' || v_run, 'booking',
          recon_ceil6(v_m * (v_exp - v_n)),
          format('supply %s at block %s, expected %s from the mints and burns since block %s',
                 v_n, v_block, v_exp, prev.block));
      END IF;
    END IF;
    -- a corporate action the custodian applied and we did not (or the reverse):
    -- the assets a whole multiple (or fraction) of what we owe
    v_assets := v_agg + v_penr - v_pend;
    v_owed := v_liab + (v_red - v_redi) + v_mint;
    IF v_left <> 0 AND v_assets > 0 AND v_owed > 0 AND v_assets <> v_owed
       AND (mod(v_assets, v_owed) = 0 OR mod(v_owed, v_assets) = 0) THEN
      PERFORM recon_finding(v_run, p_isin, 'corpact', 'corporate_action', v_left,
        format('custodian holds %s, we owe %s: a ratio of %s, a corporate action applied on one '
               'side only (multiplier %s)', v_assets, v_owed,
               CASE WHEN v_assets > v_owed THEN trim_scale(v_assets / v_owed)::text
                    ELSE '1/' || trim_scale(v_owed / v_assets)::text END, v_m));
      v_left := 0;
    END IF;
    -- the custodian's aggregate rolls forward: AGG(T) = AGG(T-1) x m(T)/m(T-1)
    -- + receipts - deliveries (its confirmations between the cut-offs)
    IF v_left <> 0 AND prev.id IS NOT NULL THEN
      SELECT prev.agg * v_m / prev.multiplier
             + coalesce(sum(quantity) FILTER (WHERE direction = 'RECE'), 0)
             - coalesce(sum(quantity) FILTER (WHERE direction = 'DELI'), 0)
        INTO v_exp
        FROM custody_settlements cs
       WHERE cs.isin = p_isin AND cs.safekeeping_account = s.safekeeping_account
         AND cs.settlement_date > prev.cutoff::date AND cs.settlement_date <= s.stmt_day;
      v_exp := round(v_exp, 6);
      IF v_exp <> v_agg THEN
        PERFORM recon_finding(v_run, p_isin, 'rollforward:agg:' || v_run, 'booking',
          v_agg - v_exp,
          format('AGG %s at %s, expected %s from AGG %s at %s and the settlements between',
                 v_agg, s.stmt_day, v_exp, prev.agg, prev.cutoff::date));
        v_left := v_left - (v_agg - v_exp);
      END IF;
    END IF;
    IF abs(v_left) > recon_ceil6(p_tol * v_m / (10::numeric ^ ins.token_decimals)) THEN
      PERFORM recon_finding(v_run, p_isin, 'coverage:' || v_run, 'booking', v_left,
        format('contractual coverage %s at %s not explained (AGG %s, m*N %s)', v_left,
               s.stmt_day, v_agg, v_liab));
    END IF;
    IF v_settled < 0 AND NOT EXISTS (SELECT 1 FROM recon_breaks WHERE last_run = v_run) THEN
      PERFORM recon_finding(v_run, p_isin, 'settled:' || v_run, 'timing', v_settled,
        format('settled coverage %s: shares bought and not yet settled back tokens', v_settled));
    END IF;
  END IF;

  -- what a later run no longer finds ages out (timing and settlement breaks)
  UPDATE recon_breaks SET status = 'aged_out', updated = clock_now()
   WHERE isin = p_isin AND status IN ('open', 'explained') AND last_run <> v_run
     AND class IN ('timing', 'pending_settlement', 'failed_settlement');
  SELECT count(*) INTO v_cnt FROM recon_breaks WHERE last_run = v_run;
  UPDATE recon_runs SET breaks = v_cnt, status = CASE WHEN v_cnt > 0 THEN 'breaks' ELSE 'ok' END
   WHERE id = v_run;
  RETURN v_run;
END $$;
