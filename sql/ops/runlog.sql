-- Queries of the run log, ctl.etl_run (PostgreSQL dialect; %s placeholders). One per `-- name:`.

-- name: next_run_id
SELECT COALESCE(MAX(run_id), 0) + 1 FROM ctl.etl_run;

-- name: insert_run
INSERT INTO ctl.etl_run
    (run_id, command, status, started_at, os_user, hostname, pid, source_url, dw_url,
     full_reload, dry_run)
VALUES (%s, %s, 'running', %s, %s, %s, %s, %s, %s, %s, %s);

-- name: insert_run_without_pid
-- The same on a warehouse without 008_run_process.sql (an `init` that failed before it).
INSERT INTO ctl.etl_run
    (run_id, command, status, started_at, os_user, hostname, source_url, dw_url,
     full_reload, dry_run)
VALUES (%s, %s, 'running', %s, %s, %s, %s, %s, %s, %s);

-- name: has_pid
-- Whether ctl.etl_run has the columns of 008_run_process.sql (one row, or none).
SELECT 1 FROM information_schema.columns
WHERE lower(table_schema) = 'ctl' AND lower(table_name) = 'etl_run' AND lower(column_name) = 'pid';

-- name: finish_run
UPDATE ctl.etl_run
SET status = %s, finished_at = %s, details = %s, error = %s,
    startup_seconds = COALESCE(%s, startup_seconds)
WHERE run_id = %s;

-- name: running_runs
-- Runs still `running`: the candidates to be found abandoned.
SELECT run_id, command, started_at, hostname, pid
FROM ctl.etl_run
WHERE status = 'running'
ORDER BY run_id;

-- name: running_runs_without_pid
-- The same on a warehouse without 008_run_process.sql (no pid recorded).
SELECT run_id, command, started_at, hostname, NULL AS pid
FROM ctl.etl_run
WHERE status = 'running'
ORDER BY run_id;

-- name: script_applied_at
SELECT applied_at FROM ctl.schema_version WHERE script = %s;

-- name: mark_abandoned
-- Only a run still `running`: one that finished meanwhile keeps its own status. It is recorded
-- `failed` (what CK_ETL_RUN_status admits) with abandoned_at set: it reads as `abandoned`.
UPDATE ctl.etl_run
SET status = 'failed', abandoned_at = %s, error = %s
WHERE run_id = %s AND status = 'running';
