-- Queries of `dwetl history` (PostgreSQL dialect; %s placeholders). One query per `-- name:`.

-- name: runs
SELECT run_id, command, status, started_at, finished_at, os_user, hostname, source_url, dw_url,
       full_reload, dry_run, startup_seconds, details, error
FROM ctl.etl_run
ORDER BY run_id DESC
LIMIT %s;

-- name: runs_of_entity
SELECT r.run_id, r.command, r.status, r.started_at, r.finished_at, r.os_user, r.hostname,
       r.source_url, r.dw_url, r.full_reload, r.dry_run, r.startup_seconds, r.details, r.error
FROM ctl.etl_run r
WHERE EXISTS (SELECT 1 FROM ctl.etl_run_entity e WHERE e.run_id = r.run_id AND e.entity = %s)
ORDER BY r.run_id DESC
LIMIT %s;

-- name: run
SELECT run_id, command, status, started_at, finished_at, os_user, hostname, source_url, dw_url,
       full_reload, dry_run, startup_seconds, details, error
FROM ctl.etl_run
WHERE run_id = %s;

-- name: run_entities
SELECT run_id, entity, status, started_at, finished_at, extracted, folded, rejected, inserted,
       updated, unchanged, inferred, watermark_from, watermark_to, seconds_extract,
       seconds_transform, seconds_validate, seconds_load, seconds_merge, repairs, error, blocked
FROM ctl.etl_run_entity
WHERE run_id BETWEEN %s AND %s
ORDER BY run_id, started_at, entity;

-- name: rejects_by_reasons
SELECT run_id, entity, reasons, COUNT(*) AS n
FROM ctl.etl_reject
WHERE run_id BETWEEN %s AND %s
GROUP BY run_id, entity, reasons
ORDER BY run_id, entity, reasons;

-- name: run_processes
-- The columns of 008_run_process.sql: where each run ran, and when it was found abandoned.
SELECT run_id, pid, abandoned_at
FROM ctl.etl_run
WHERE run_id BETWEEN %s AND %s;
