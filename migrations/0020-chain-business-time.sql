-- The built-in ledger's transfers are stamped with the business clock
-- (clock_now(), migrations/0012-clock.sql) like everything else the
-- reconciler compares with a statement's cut-off: recon_isin() takes the
-- last block executed at or before StmtDtTm.  With now() (the wall clock)
-- a mint executed after a cut-off on a clock moved ahead (the demo, the
-- tests) counted as before it, and the statement reconciled after the mint
-- saw its tokens without their purchase.
ALTER TABLE chain_transfers ALTER COLUMN executed_at SET DEFAULT clock_now();
