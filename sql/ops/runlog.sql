-- Queries of the run log, ctl.etl_run (PostgreSQL dialect; %s placeholders). One per `-- name:`.

-- name: next_run_id
SELECT COALESCE(MAX(run_id), 0) + 1 FROM ctl.etl_run;

-- name: insert_run
INSERT INTO ctl.etl_run
    (run_id, command, status, started_at, os_user, hostname, source_url, dw_url,
     full_reload, dry_run)
VALUES (%s, %s, 'running', %s, %s, %s, %s, %s, %s, %s);

-- name: finish_run
UPDATE ctl.etl_run
SET status = %s, finished_at = %s, details = %s, error = %s,
    startup_seconds = COALESCE(%s, startup_seconds)
WHERE run_id = %s;
