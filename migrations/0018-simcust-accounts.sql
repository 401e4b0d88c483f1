-- The simulated custodian's accounts and the day each was opened: the
-- first day whose daily statement (semt.002 at the cut-off) it owes.  The
-- custodian records it at its first step, so a clock that jumps over a
-- cut-off (the demo's advance_business_days) still gets that day's
-- statement, like a real custodian that reports every day since opening.
CREATE TABLE sim_accounts (
  safekeeping_account text PRIMARY KEY CHECK (length(safekeeping_account) BETWEEN 1 AND 35),
  opened_date date NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
