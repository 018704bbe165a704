-- Queries of `dwetl rejects` (PostgreSQL dialect; %s placeholders).

-- name: list
SELECT reject_id, run_id, entity, source_key, reasons, row_json, rejected_at,
       resolved_run_id, resolved_at
FROM ctl.etl_reject
WHERE (CAST(%s AS BIGINT) IS NULL OR run_id = CAST(%s AS BIGINT))
  AND (CAST(%s AS VARCHAR) IS NULL OR entity = CAST(%s AS VARCHAR))
  AND (CAST(%s AS BOOLEAN) OR resolved_run_id IS NULL)
ORDER BY run_id, entity, reject_id;
