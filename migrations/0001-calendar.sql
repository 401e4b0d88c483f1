-- Extra market closures (national days of mourning, weather) that add to
-- the built-in NYSE rules and the closures file.  The service loads them
-- into its business-day calendar at start.
CREATE TABLE market_closures (
  day date PRIMARY KEY,
  reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now()
);
