-- The run log records where each run runs, so that a run killed before it could close its row
-- is found: its process is gone and its locks are free (src/dwetl/abandoned.py).
-- `pid`: the run's process on `hostname`. `abandoned_at`: when a later run found it abandoned;
-- such a run keeps status `failed` (the statuses CK_ETL_RUN_status admits), with how it was
-- found in `error`, and reads as `abandoned` in `dwetl history` and `dwetl status`.
-- Idempotent: every statement can run again and changes nothing more.

ALTER TABLE ctl.etl_run ADD COLUMN IF NOT EXISTS pid INTEGER;
ALTER TABLE ctl.etl_run ADD COLUMN IF NOT EXISTS abandoned_at TIMESTAMP;
