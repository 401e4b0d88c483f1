-- The one clock (db/db_clock.c, docs/clock.md): the business time of the
-- service and of the simulated broker and custodian that share its
-- database.  Virtual now = anchor_virtual + (wall now - anchor_wall) *
-- speed.  The row starts as the wall clock (speed 1, no offset); tests and
-- the demo move it forward or speed it up so that T+1 passes in seconds.
-- It never goes backwards: a change re-anchors at the current virtual time
-- and may only add to it.
CREATE TABLE clock (
  id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  anchor_wall timestamptz NOT NULL,
  anchor_virtual timestamptz NOT NULL,
  speed integer NOT NULL DEFAULT 1 CHECK (speed BETWEEN 1 AND 1000000),
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO clock (anchor_wall, anchor_virtual, speed) VALUES (now(), now(), 1);

-- clock_now(): the virtual time now, truncated to milliseconds (as the API
-- shows times).  clock_timestamp(), not now(): a long transaction sees the
-- clock move.
CREATE FUNCTION clock_now() RETURNS timestamptz
  LANGUAGE sql STABLE
  AS $$
    SELECT date_trunc('milliseconds',
                      anchor_virtual + (clock_timestamp() - anchor_wall) * speed)
      FROM clock WHERE id = 1
  $$;
