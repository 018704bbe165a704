-- Queries of `dwetl init` (PostgreSQL dialect; %s placeholders). One per `-- name:`.

-- name: applied_scripts
SELECT script, checksum FROM ctl.schema_version ORDER BY script;

-- name: record_script
INSERT INTO ctl.schema_version (script, checksum, applied_at, seconds) VALUES (%s, %s, %s, %s);

-- name: script_texts
SELECT script, checksum, script_text FROM ctl.schema_script;

-- name: forget_script_text
DELETE FROM ctl.schema_script WHERE script = %s;

-- name: record_script_text
INSERT INTO ctl.schema_script (script, checksum, script_text) VALUES (%s, %s, %s);

-- name: control_entities
SELECT entity FROM ctl.etl_control;

-- name: insert_control
INSERT INTO ctl.etl_control (entity, kind, target_table, load_order, active, watermark_column)
VALUES (%s, %s, %s, %s, TRUE, %s);

-- name: update_control_declaration
UPDATE ctl.etl_control SET kind = %s, target_table = %s, load_order = %s, watermark_column = %s
WHERE entity = %s
  AND (kind <> %s OR target_table <> %s OR load_order <> %s
       OR COALESCE(watermark_column, '') <> COALESCE(%s, ''));

-- name: scope_entities
SELECT entity FROM ctl.etl_scope;

-- name: insert_scope
INSERT INTO ctl.etl_scope (entity, active, changed_by, changed_at)
SELECT entity, active, %s, %s FROM ctl.etl_control WHERE entity = %s;

-- name: next_change_id
SELECT COALESCE(MAX(change_id), 0) + 1 FROM ctl.etl_scope_change;

-- name: insert_change
INSERT INTO ctl.etl_scope_change
    (change_id, entity, active_from, active_to, forced, reason, changed_by, changed_at)
SELECT %s, entity, NULL, active, FALSE, %s, %s, %s FROM ctl.etl_control WHERE entity = %s;

-- name: control_scope
SELECT entity, kind, target_table, active FROM ctl.etl_control ORDER BY load_order, entity;
