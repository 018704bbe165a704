-- Queries of `dwetl check` (PostgreSQL dialect; %s placeholders).

-- name: control
SELECT entity, active, target_table FROM ctl.etl_control ORDER BY load_order, entity;

-- name: scope
SELECT entity, active, changed_by, changed_at FROM ctl.etl_scope ORDER BY entity;
