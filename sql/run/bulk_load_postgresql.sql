-- What a bulk load into a PostgreSQL table may drop and re-create around itself (%s: the
-- table, e.g. 'dw.fact_vendas'). dwetl has validated every key and reference of the batch
-- before loading, so the table's foreign keys would only re-check it row by row: dropped inside
-- the entity's transaction and re-added after the load (one join each), they come back as the
-- catalog had them, or the transaction rolls back with them still in place.

-- name: may_alter
-- Whether this role may drop and re-add the table's constraints: it owns the table (or is a
-- member of the owning role) and may reference every table its foreign keys point at.
SELECT pg_has_role(c.relowner, 'USAGE')
       AND NOT EXISTS (SELECT 1 FROM pg_constraint f
                       WHERE f.conrelid = c.oid AND f.contype = 'f'
                         AND NOT has_table_privilege(f.confrelid, 'REFERENCES')),
       pg_get_userbyid(c.relowner)
FROM pg_class c
WHERE c.oid = to_regclass(%s);

-- name: foreign_keys
-- The table's foreign keys, in the order of the tables they reference (every load takes those
-- tables' locks in the same order).
SELECT 'foreign key', k.conname, pg_get_constraintdef(k.oid)
FROM pg_constraint k
WHERE k.conrelid = to_regclass(%s) AND k.contype = 'f'
ORDER BY k.confrelid::regclass::text, k.conname;

-- name: indexes
-- For an empty table: its primary / unique keys that no foreign key depends on, and its plain
-- indexes (built once after the load: cheaper than maintained row by row).
SELECT 'key', k.conname, pg_get_constraintdef(k.oid)
FROM pg_constraint k
WHERE k.conrelid = to_regclass(%s) AND k.contype IN ('p', 'u')
  AND NOT EXISTS (SELECT 1 FROM pg_constraint f  -- a foreign key's conindid: the key it uses
                  WHERE f.contype = 'f' AND f.conindid = k.conindid)
UNION ALL
SELECT 'index', quote_ident(n.nspname) || '.' || quote_ident(ic.relname),
       pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE i.indrelid = to_regclass(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                  AND k.conrelid = i.indrelid);
