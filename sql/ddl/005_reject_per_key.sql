-- The quarantine holds one open reject per (entity, natural key): a run that reads the key
-- still broken updates that row (its reasons and row, run_id = the run that last read it,
-- times_seen + 1) instead of adding another; a run that loads the key closes it.
-- A failed entity's rejected rows are kept too, outside its rolled-back transaction, with
-- applied = FALSE: they never reached the quarantine, and count as no open reject of their key.
-- Idempotent: every statement can run again and changes nothing more.

ALTER TABLE ctl.etl_reject ADD COLUMN IF NOT EXISTS first_run_id BIGINT;
ALTER TABLE ctl.etl_reject ADD COLUMN IF NOT EXISTS times_seen INTEGER DEFAULT 1;
ALTER TABLE ctl.etl_reject ALTER COLUMN times_seen SET NOT NULL;
ALTER TABLE ctl.etl_reject ADD COLUMN IF NOT EXISTS applied BOOLEAN DEFAULT TRUE;
ALTER TABLE ctl.etl_reject ALTER COLUMN applied SET NOT NULL;

-- The valid rows of a failed entity that were not applied (extracted = blocked + rejected +
-- folded for a failed entity; 0 for one that loaded).
ALTER TABLE ctl.etl_run_entity ADD COLUMN IF NOT EXISTS blocked BIGINT DEFAULT 0;
ALTER TABLE ctl.etl_run_entity ALTER COLUMN blocked SET NOT NULL;

UPDATE ctl.etl_reject SET first_run_id = run_id WHERE first_run_id IS NULL;

-- A warehouse written before this script may hold one open reject per read of a key: collapse
-- them into the newest (its reasons and row are the latest read), which counts every read and
-- remembers the first run; the older rows go.
UPDATE ctl.etl_reject AS r
SET times_seen = d.seen, first_run_id = d.first_run
FROM (
    SELECT entity, source_key, MAX(reject_id) AS newest, SUM(times_seen) AS seen,
           MIN(first_run_id) AS first_run
    FROM ctl.etl_reject
    WHERE resolved_run_id IS NULL AND applied AND source_key IS NOT NULL
    GROUP BY entity, source_key
    HAVING COUNT(*) > 1
) d
WHERE r.reject_id = d.newest;

DELETE FROM ctl.etl_reject
WHERE reject_id IN (
    SELECT reject_id
    FROM (
        SELECT reject_id,
               ROW_NUMBER() OVER (PARTITION BY entity, source_key ORDER BY reject_id DESC) AS n
        FROM ctl.etl_reject
        WHERE resolved_run_id IS NULL AND applied AND source_key IS NOT NULL
    ) ranked
    WHERE n > 1
);
