-- Alerts for operators (docs/alerts.md): one table an issuer admin reads
-- (GET /v1/admin/alerts, `backstock alerts list`) and acknowledges with a
-- note (POST /v1/admin/alerts/{id}/acknowledge).
--
-- kind        what raised it, and ref what it is about:
--   secure_mint  the engine refused a mint because settled reserves would
--                not cover the supply after it (issuance_engine_chain.c);
--                ref = the order's id; raised in the transaction that moves
--                the order to requires_attention; detail = its reason.
--   recon_break  the reconciler opened a break of a class other than
--                timing (reconcile/recon.c); ref = the break's id; raised
--                in the reconciler's transaction.
--   broker       the broker connector's own alert (broker_alerts, written
--                by fix/fix_broker.c), copied here by a trigger;
--                ref = "<broker kind>:<its ref>" (unknown_cl_ord_id:<ExecID>).
-- unique (kind, ref): a retried step (a transaction run again, a pass
-- that finds the same thing) raises its alert once; every insert is
-- ON CONFLICT DO NOTHING.  An alert is open until acknowledged; it is
-- acknowledged once, by an issuer admin, with a note.
--
-- Why broker_alerts is copied by a trigger and not shown through a view:
-- an operator looks in one place, and an acknowledgement needs somewhere
-- to live (broker_alerts has no such columns); one table also gives one
-- id sequence for the list's cursor.  The connector's code is unchanged;
-- broker_alerts keeps the raw message.
CREATE TABLE alerts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('secure_mint', 'recon_break', 'broker')),
  ref text NOT NULL CHECK (octet_length(ref) BETWEEN 1 AND 200),
  isin text CHECK (isin ~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$'),
  instrument bigint REFERENCES instruments (id),
  detail text NOT NULL CHECK (octet_length(detail) BETWEEN 1 AND 2000),
  raised timestamptz NOT NULL DEFAULT clock_now(),
  acknowledged_by bigint REFERENCES principals (id),
  acknowledged_at timestamptz,
  note text CHECK (octet_length(note) BETWEEN 1 AND 500),
  UNIQUE (kind, ref),
  CHECK ((acknowledged_at IS NULL) = (note IS NULL)),
  CHECK (acknowledged_by IS NULL OR acknowledged_at IS NOT NULL)
);
CREATE INDEX alerts_open ON alerts (id) WHERE acknowledged_at IS NULL;

-- The connector's alerts, into the operators' table as they are written
-- (a repeated broker alert inserts no broker_alerts row, so none here).
CREATE FUNCTION alerts_from_broker() RETURNS trigger
  LANGUAGE plpgsql
  AS $$ BEGIN
  INSERT INTO alerts (kind, ref, detail, raised)
    VALUES ('broker', left(NEW.kind || ':' || NEW.ref, 200),
            left(coalesce(nullif(NEW.detail, ''), NEW.kind), 2000), NEW.created_at)
    ON CONFLICT (kind, ref) DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER broker_alerts_to_alerts AFTER INSERT ON broker_alerts
  FOR EACH ROW EXECUTE FUNCTION alerts_from_broker();

-- Those written before this migration.
INSERT INTO alerts (kind, ref, detail, raised)
  SELECT 'broker', left(kind || ':' || ref, 200), left(coalesce(nullif(detail, ''), kind), 2000),
         created_at
    FROM broker_alerts ORDER BY id
  ON CONFLICT (kind, ref) DO NOTHING;
