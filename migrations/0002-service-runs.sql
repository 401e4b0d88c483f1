-- One row per start of a service process: which binary ran against this
-- database, when, and how it ended.  Operators read it to see restarts;
-- a row whose stopped_at stays NULL marks a process that did not stop
-- cleanly (killed, crashed).
CREATE TABLE service_runs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  service text NOT NULL,
  version text NOT NULL,
  schema_version integer NOT NULL,
  pid integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  stopped_at timestamptz
);
CREATE INDEX service_runs_started ON service_runs (started_at);
