-- Queries of `dwetl rejects` (PostgreSQL dialect; %s placeholders).

-- name: list
-- One row per open reject of a key (run_id: the run that last read it), per resolved one
-- with --all, and per row of a failed entity that was not applied (applied FALSE). A run
-- asked for shows every row it left, resolved or not.
SELECT reject_id, run_id, entity, source_key, reasons, row_json, rejected_at,
       resolved_run_id, resolved_at, first_run_id, times_seen, applied
FROM ctl.etl_reject
WHERE (CAST(%s AS BIGINT) IS NULL OR run_id = CAST(%s AS BIGINT))
  AND (CAST(%s AS VARCHAR) IS NULL OR entity = CAST(%s AS VARCHAR))
  AND (CAST(%s AS BOOLEAN) OR CAST(%s AS BIGINT) IS NOT NULL OR resolved_run_id IS NULL)
ORDER BY run_id, entity, reject_id;
