-- Queries of `dwetl run` / `dwetl status` on the control tables (PostgreSQL dialect; %s
-- placeholders). One query per `-- name:`.

-- name: control
SELECT entity, kind, target_table, load_order, active, watermark_column, watermark_value,
       last_run_id, last_status, last_run_at
FROM ctl.etl_control
ORDER BY load_order, entity;

-- name: advance_control
UPDATE ctl.etl_control
SET watermark_value = %s, last_run_id = %s, last_status = %s, last_run_at = %s
WHERE entity = %s;

-- name: mark_control
UPDATE ctl.etl_control
SET last_run_id = %s, last_status = %s, last_run_at = %s
WHERE entity = %s;

-- name: insert_run_entity
INSERT INTO ctl.etl_run_entity
    (run_id, entity, status, started_at, finished_at, extracted, folded, rejected, inserted,
     updated, unchanged, inferred, blocked, future, ties, watermark_from, watermark_to,
     seconds_extract, seconds_transform, seconds_validate, seconds_load, seconds_merge, repairs,
     error)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
        %s, %s);

-- name: run_entity_recorded
-- Whether an entity has its row of a run (written in the transaction that loads it).
SELECT 1 FROM ctl.etl_run_entity WHERE run_id = %s AND entity = %s;

-- name: last_run_entities
SELECT e.entity, e.run_id, e.status, e.finished_at, e.extracted, e.folded, e.rejected,
       e.inserted, e.updated, e.unchanged, e.inferred, e.future, e.ties, e.error
FROM ctl.etl_run_entity e
JOIN (SELECT entity, MAX(run_id) AS run_id FROM ctl.etl_run_entity GROUP BY entity) m
  ON m.entity = e.entity AND m.run_id = e.run_id;

-- name: open_rejects_by_entity
-- Per entity, its open rejects: keys quarantined that no later run has loaded (a failed
-- entity's rows, kept not applied, are none).
SELECT entity, COUNT(*) FROM ctl.etl_reject
WHERE resolved_run_id IS NULL AND applied
GROUP BY entity;

-- name: reject_state
-- Whether an entity has blocked rows of earlier runs (a failed run's, never applied) and open
-- rejects that an earlier run last read: one row of two booleans. Parameters: entity, run id,
-- twice. Two EXISTS, each done at its first row (by the indexes of sql/ddl/009 and 010), not one
-- aggregate over every open reject of the entity.
SELECT
    EXISTS (
        SELECT 1 FROM ctl.etl_reject
        WHERE entity = %s AND resolved_run_id IS NULL AND NOT applied AND run_id <> %s
    ),
    EXISTS (
        SELECT 1 FROM ctl.etl_reject
        WHERE entity = %s AND resolved_run_id IS NULL AND applied AND run_id <> %s
    );

-- name: open_reject_keys
-- The keys an entity has open in the quarantine.
SELECT source_key FROM ctl.etl_reject
WHERE entity = %s AND resolved_run_id IS NULL AND applied AND source_key IS NOT NULL;

-- name: open_reject_of_entity
-- Whether an entity has an open reject at all (one row, or none).
SELECT 1 FROM ctl.etl_reject
WHERE entity = %s AND resolved_run_id IS NULL AND applied
LIMIT 1;

-- name: close_blocked
-- Close an entity's blocked rows (a failed run's, never applied) of earlier runs.
UPDATE ctl.etl_reject SET resolved_run_id = %s, resolved_at = %s
WHERE entity = %s AND NOT applied AND resolved_run_id IS NULL AND run_id <> %s;

-- name: next_reject_id
SELECT COALESCE(MAX(reject_id), 0) + 1 FROM ctl.etl_reject;

-- name: upgraded_columns
-- The control columns sql/ddl/005_reject_per_key.sql, 007_run_entity_future_ties.sql and
-- 008_run_process.sql add (eight rows once they are applied).
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = 'ctl' AND table_catalog = current_database()
  AND ((table_name = 'etl_reject' AND column_name IN ('first_run_id', 'times_seen', 'applied'))
       OR (table_name = 'etl_run_entity' AND column_name IN ('blocked', 'future', 'ties'))
       OR (table_name = 'etl_run' AND column_name IN ('pid', 'abandoned_at')));
