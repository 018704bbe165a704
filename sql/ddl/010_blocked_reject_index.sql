-- An entity's blocked rows (the rejects of a run that failed, never applied), found at once:
-- every run asks, per entity, whether it has any, to close them, and almost never has. With only
-- 009's index PostgreSQL answered by reading every open reject of the entity: the 89,000 of
-- fact_vendas at 5M order items and 2% damage, about 40 ms in every run, whatever changed.
-- Partial: it holds the blocked rows only, which a run closes once the entity commits.
-- (A DuckDB warehouse leaves this statement out, as it does 009's: DuckDB has no partial index.)
-- Idempotent: it can run again and changes nothing more.

CREATE INDEX IF NOT EXISTS IX_etl_reject_blocked
    ON ctl.etl_reject (entity)
    WHERE resolved_run_id IS NULL AND NOT applied;
