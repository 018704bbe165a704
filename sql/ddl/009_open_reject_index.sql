-- The open rejects of an entity, found by key: every run asks, per entity, whether it has open
-- or blocked rejects, closes those whose keys it loaded, and folds a re-read broken row into
-- its open reject instead of adding one. Without this index each of those statements scans
-- the whole quarantine, which keeps every reject ever made: at 5M order items and 2% damage
-- that is 96,000 rows, and a PostgreSQL run after 50,000 items changed spent 0.7 of its 2.9 s
-- there.
-- Partial: a resolved reject is never looked up by key again, and most rejects end resolved.
-- (A DuckDB warehouse leaves this statement out: DuckDB has no partial index, and its joins
-- do not use one.)
-- Idempotent: it can run again and changes nothing more.

CREATE INDEX IF NOT EXISTS IX_etl_reject_open
    ON ctl.etl_reject (entity, source_key)
    WHERE resolved_run_id IS NULL;
