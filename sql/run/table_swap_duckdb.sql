-- What a first load in batches needs to know to swap a twin table into an empty DuckDB target
-- instead of copying the twin's rows into it (%s: the target's schema and table). The swap
-- drops the target and renames the twin: it keeps what the CREATE TABLE says (columns,
-- defaults, NOT NULLs, CHECKs) and re-adds the primary key; a target with anything more is not
-- swapped.

-- name: definition
-- The target's CREATE TABLE as DuckDB keeps it, and whether it has what a swap would lose:
-- indexes of its own (CREATE INDEX), comments on it or its columns.
SELECT t.sql,
       EXISTS (SELECT 1 FROM duckdb_indexes() i WHERE i.table_oid = t.table_oid)
       OR t.comment IS NOT NULL
       OR EXISTS (SELECT 1 FROM duckdb_columns() c
                  WHERE c.table_oid = t.table_oid AND c.comment IS NOT NULL)
FROM duckdb_tables() t
WHERE t.database_name = current_database() AND t.schema_name = %s AND t.table_name = %s;

-- name: keys
-- Its keys: a primary key is re-added after the swap; a UNIQUE (DuckDB cannot add one to a
-- table) or a FOREIGN KEY means no swap.
SELECT constraint_type, constraint_column_names
FROM duckdb_constraints()
WHERE database_name = current_database() AND schema_name = %s AND table_name = %s
  AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
ORDER BY constraint_index;
