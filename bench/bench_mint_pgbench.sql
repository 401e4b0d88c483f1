-- pgbench script of bench/bench_mint.c: the writes one POST /v1/orders/mint
-- commits, statement for statement as the service sends them, in one
-- transaction: issuance/issuance_orders.c order_create_in() inserts the
-- order in awaiting_cash with its three events (requested, validated,
-- awaiting_cash) in one statement (q_insert), and api/api_idem.c records
-- the reply in api_idempotency (q_idem_put).  The reads the service makes
-- around them (key, idempotency lookup, the checks, the reply's order) are
-- not here: this is the floor of the same inserts.  Keep it in step with
-- those two statements.
-- Variables from the bench (-D): ap, instrument, day (session date, days
-- since 1970-01-01), deadline (ms), reply (bytes of the service's reply).
-- Each transaction has its own quantity, price and Idempotency-Key, as the
-- HTTP requests do; cash_required is computed as the service does
-- (quantity x limit + 1.00 + ceil(0.25 %), in cents).
\set q random(1, 50)
\set c random(0, 99)
\set k random(1, 9000000000000000000)
\set n (:q * (15000 + :c))
\set cash (:n + 100 + (:n * 25 + 9999) / 10000)
BEGIN;
WITH o AS (INSERT INTO orders (kind, ap, instrument, wallet, quantity, limit_price, token_amount, multiplier, mint_policy, burn_policy, fee_flat, fee_rate, cash_required, state, session_date, cash_deadline, signing_key, signature, signed_payload, client_ref) VALUES ('mint', :ap::bigint, :instrument::bigint, '0x00000000000000000000000000000000000be4c4', :q::numeric, (15000 + :c::integer) / 100.0, :q::numeric, 1, 'at_settlement', NULL, 1.00, 0.0025, :cash::integer / 100.0, 'awaiting_cash', DATE '1970-01-01' + :day::integer, 'epoch'::timestamptz + :deadline::bigint * interval '1 millisecond', NULL, NULL, NULL, 'pgb-' || :k) RETURNING id) INSERT INTO order_events (order_id, seq, from_state, to_state, actor, detail) SELECT id, 1, NULL, 'requested', 'api:' || :ap, ('{"kind": "mint", "symbol": "AAPL", "quantity": "' || :q || '.000000", "limit_price": "150.' || :c || '0000", "wallet": "0x00000000000000000000000000000000000be4c4", "client_ref": "pgb-' || :k || '", "signed": false}')::jsonb FROM o UNION ALL SELECT id, 2, 'requested', 'validated', 'api:' || :ap, ('{"token_amount": "' || :q || '.000000000000000000", "cash_required": "' || :cash || '", "session_date": "2026-11-23", "in_hours": true}')::jsonb FROM o UNION ALL SELECT id, 3, 'validated', 'awaiting_cash', 'api:' || :ap, ('{"cash_required": "' || :cash || '", "cash_deadline_ms": ' || :deadline || '}')::jsonb FROM o RETURNING order_id;
INSERT INTO api_idempotency (principal, key, method, path, body_sha256, status, response) VALUES (:ap::bigint, 'pgb-' || :k, 'POST', '/v1/orders/mint', sha256(('pgb-' || :k)::bytea), 201, repeat('x', :reply::integer)) ON CONFLICT DO NOTHING;
COMMIT;
