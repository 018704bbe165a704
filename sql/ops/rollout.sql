-- Queries of `dwetl rollout` (PostgreSQL dialect; %s placeholders). One query per `-- name:`.

-- name: scope
SELECT c.entity, c.kind, c.load_order, c.active, s.active AS expected,
       s.changed_by, s.changed_at, c.last_status, c.last_run_id, c.last_run_at
FROM ctl.etl_control c
LEFT JOIN ctl.etl_scope s ON s.entity = c.entity
ORDER BY c.load_order, c.entity;

-- name: recent_changes
SELECT change_id, entity, active_from, active_to, forced, reason, changed_by, changed_at
FROM ctl.etl_scope_change
ORDER BY change_id DESC
LIMIT %s;

-- name: control_active
SELECT active FROM ctl.etl_control WHERE entity = %s;

-- name: set_control_active
UPDATE ctl.etl_control SET active = %s WHERE entity = %s;

-- name: upsert_scope
INSERT INTO ctl.etl_scope (entity, active, changed_by, changed_at)
VALUES (%s, %s, %s, %s)
ON CONFLICT (entity) DO UPDATE
SET active = EXCLUDED.active, changed_by = EXCLUDED.changed_by, changed_at = EXCLUDED.changed_at;

-- name: next_change_id
SELECT COALESCE(MAX(change_id), 0) + 1 FROM ctl.etl_scope_change;

-- name: insert_change
INSERT INTO ctl.etl_scope_change
    (change_id, entity, active_from, active_to, forced, reason, changed_by, changed_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s);
