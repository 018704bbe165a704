-- ctl.etl_run_entity gains two counts; idempotent (a warehouse that has them keeps them), and
-- the rows written before read 0.
-- future: rows read whose watermark column is after the source's clock at the start of the
--         extract (the watermark stops at that clock; they are read again until their time).
-- ties:   keys whose newest version tied on the watermark column with another version.
ALTER TABLE ctl.etl_run_entity ADD COLUMN IF NOT EXISTS future BIGINT DEFAULT 0;
ALTER TABLE ctl.etl_run_entity ALTER COLUMN future SET NOT NULL;
ALTER TABLE ctl.etl_run_entity ADD COLUMN IF NOT EXISTS ties BIGINT DEFAULT 0;
ALTER TABLE ctl.etl_run_entity ALTER COLUMN ties SET NOT NULL;
