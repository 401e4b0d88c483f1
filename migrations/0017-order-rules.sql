-- The two rules that decide whether minting or redeeming an instrument is
-- open, in one place for every reader (order creation in
-- issuance/issuance_orders.c, the engine's broker placement in
-- issuance/issuance_engine_broker.c, corpact_window_in() in
-- issuance/issuance_corpact.c).

-- order_paused(instrument, kind): its own pause of that kind, or the
-- global one, is set.
CREATE FUNCTION order_paused(inst bigint, k text) RETURNS boolean
  LANGUAGE sql STABLE
  AS $$
    SELECT EXISTS (SELECT 1 FROM pauses p WHERE p.paused AND p.kind = k
                   AND (p.instrument IS NULL OR p.instrument = inst))
  $$;

-- corpact_window(instrument, at): the first corporate action (not
-- cancelled) whose window holds @at, by window start then id; NULL when none.
CREATE FUNCTION corpact_window(inst bigint, at timestamptz) RETURNS bigint
  LANGUAGE sql STABLE
  AS $$
    SELECT a.id FROM corporate_actions a
     WHERE a.instrument = inst AND a.status <> 'cancelled'
       AND a.window_start <= at AND at <= a.window_end
     ORDER BY a.window_start, a.id LIMIT 1
  $$;
