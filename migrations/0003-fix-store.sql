-- The FIX message store (fix/fix_store_pg.c).  One row per FIX session
-- ("SENDER->TARGET"): the next sequence number we send and the next one we
-- expect, and the schedule day they belong to (NULL until the first daily
-- reset).  Beside it the application messages the session sent, kept so a
-- ResendRequest can be answered after a restart; admin messages are never
-- stored (a resend replaces them with a GapFill).  A daily reset deletes
-- the session's messages and sets both numbers back to 1.
--
-- Each batch of outgoing frames is written by one statement that inserts
-- the messages and updates the numbers together, so the numbers never run
-- ahead of or behind what is stored.
CREATE TABLE fix_sessions (
  session_id text PRIMARY KEY CHECK (session_id <> ''),
  next_out bigint NOT NULL DEFAULT 1 CHECK (next_out >= 1),
  next_in bigint NOT NULL DEFAULT 1 CHECK (next_in >= 1),
  session_day date,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- body: the fields after the standard header, before 10= (a resend writes
-- a fresh header with 43=Y and 122 = sending_ms around it).  sending_ms is
-- the original SendingTime (52) in milliseconds since the epoch.
CREATE TABLE fix_messages (
  session_id text NOT NULL REFERENCES fix_sessions ON DELETE CASCADE,
  seq bigint NOT NULL CHECK (seq >= 1),
  msg_type text NOT NULL CHECK (msg_type <> ''),
  sending_ms bigint NOT NULL,
  body bytea NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (session_id, seq)
);
