-- The live DuckDB warehouse's catalog, read by `dwetl check` (DuckDB dialect; %s placeholders).

-- name: columns
SELECT schema_name, table_name, column_name, data_type, is_nullable, column_default IS NOT NULL
FROM duckdb_columns()
WHERE database_name = current_database() AND NOT internal
ORDER BY schema_name, table_name, column_index;

-- name: constraints
SELECT schema_name, table_name, constraint_name, constraint_type, constraint_text, expression,
       constraint_column_names, referenced_table, referenced_column_names
FROM duckdb_constraints()
WHERE database_name = current_database()
  AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY', 'CHECK')
ORDER BY schema_name, table_name, constraint_index;
