"""Staging and merge: a run-private `stg` table, then one MERGE by natural key.

A row is rewritten only when one of its compared columns IS DISTINCT FROM the staged value;
the key columns, the surrogate key (stable, SCD type 1) and the lineage column `id_execucao`
are never compared, so re-reading an unchanged row leaves it (and its lineage) as it was.
The SQL is written in PostgreSQL's dialect and passed through `Warehouse.transpile`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from dwetl.dialects.base import Warehouse

LINEAGE = "id_execucao"


@dataclass(frozen=True)
class MergePlan:
    """Which columns play which part in one target's merge."""

    target: str  # "dw.dim_cliente"
    staging: str  # "stg.dim_cliente_42"
    columns: tuple[str, ...]  # every target column, in the target's order
    key: tuple[str, ...]  # natural key: the MERGE condition
    fixed: tuple[str, ...] = ()  # never updated once inserted (the surrogate key)

    @property
    def compared(self) -> tuple[str, ...]:
        """Columns whose change makes a row "updated"."""
        skip = {*self.key, *self.fixed, LINEAGE}
        return tuple(c for c in self.columns if c not in skip)

    @property
    def updated_columns(self) -> tuple[str, ...]:
        """Columns an update writes: the compared ones and the lineage."""
        return tuple(c for c in self.columns if c not in {*self.key, *self.fixed})


@dataclass(frozen=True)
class MergeCounts:
    """What a merge did (or, in a dry run, would do)."""

    inserted: int
    updated: int
    unchanged: int


def staging_name(entity: str, run_id: int) -> str:
    """The run-private staging table of an entity.

    >>> staging_name("dim_cliente", 42)
    'stg.dim_cliente_42'
    """
    return f"stg.{entity}_{run_id}"


def target_schema(wh: Warehouse, target: str) -> pl.Schema:
    """The target table's columns and their Polars types, read from the warehouse."""
    return wh.fetch_polars(f"SELECT * FROM {target} WHERE 1 = 0").schema


def _run(wh: Warehouse, sql: str) -> None:
    for statement in wh.transpile(sql):
        wh.execute(statement)


def stage(wh: Warehouse, plan: MergePlan, frame: pl.DataFrame) -> None:
    """Create the staging table like the target (no constraints) and bulk-load `frame` into it."""
    _run(wh, f"DROP TABLE IF EXISTS {plan.staging}")
    _run(wh, f"CREATE TABLE {plan.staging} AS SELECT * FROM {plan.target} WHERE FALSE")
    if frame.height:
        wh.load_arrow(plan.staging, frame.select(plan.columns).to_arrow())


def drop_staging(wh: Warehouse, plan: MergePlan) -> None:
    """Drop the staging table."""
    _run(wh, f"DROP TABLE IF EXISTS {plan.staging}")


def _changed(plan: MergePlan) -> str:
    if not plan.compared:
        return "FALSE"
    return " OR ".join(f"t.{c} IS DISTINCT FROM s.{c}" for c in plan.compared)


def _on(plan: MergePlan) -> str:
    return " AND ".join(f"t.{c} = s.{c}" for c in plan.key)


def count_changes(wh: Warehouse, plan: MergePlan) -> MergeCounts:
    """Staged rows that are new, changed, or equal to their target row."""
    probe = plan.key[0]
    sql = (
        f"SELECT COUNT(*), "
        f"COALESCE(SUM(CASE WHEN t.{probe} IS NULL THEN 1 ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN t.{probe} IS NOT NULL AND ({_changed(plan)}) "
        f"THEN 1 ELSE 0 END), 0) "
        f"FROM {plan.staging} s LEFT JOIN {plan.target} t ON {_on(plan)}"
    )
    (total, inserted, updated), *_ = wh.fetchall(wh.transpile(sql)[0])
    return MergeCounts(int(inserted), int(updated), int(total) - int(inserted) - int(updated))


def merge_sql(plan: MergePlan) -> str:
    """The MERGE statement (PostgreSQL dialect) that applies the staged rows to the target."""
    sets = ", ".join(f"{c} = s.{c}" for c in plan.updated_columns)
    cols = ", ".join(plan.columns)
    vals = ", ".join(f"s.{c}" for c in plan.columns)
    return (
        f"MERGE INTO {plan.target} AS t USING {plan.staging} AS s ON {_on(plan)} "
        f"WHEN MATCHED AND ({_changed(plan)}) THEN UPDATE SET {sets} "
        f"WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({vals})"
    )


def upsert_sql(plan: MergePlan) -> str:
    """The same merge as `INSERT ... ON CONFLICT (key) DO UPDATE` (PostgreSQL dialect): an
    update only where the row IS DISTINCT FROM the staged one; needs a unique key on `key`."""
    cols = ", ".join(plan.columns)
    insert = (
        f"INSERT INTO {plan.target} AS t ({cols}) SELECT {cols} FROM {plan.staging} "
        f"ON CONFLICT ({', '.join(plan.key)}) DO "
    )
    if not plan.compared:
        return insert + "NOTHING"
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in plan.updated_columns)
    mine = ", ".join(f"t.{c}" for c in plan.compared)
    staged = ", ".join(f"EXCLUDED.{c}" for c in plan.compared)
    return insert + f"UPDATE SET {sets} WHERE ({mine}) IS DISTINCT FROM ({staged})"


#: dialect -> below which share of the target's rows the staged rows are applied with
#: `upsert_sql` instead of MERGE (MERGE hash-joins the whole target; ON CONFLICT probes the key
#: index per staged row). PostgreSQL 15, 500k-row target, median of 3
#: (benchmarks/pg_load_paths.py): first load MERGE 1.76 s / ON CONFLICT 2.41 s; 10% delta
#: 0.67 / 0.43 s; 25% delta 1.23 / 1.25 s (the crossover); 10%-changed full snapshot 1.40 /
#: 1.96 s. DuckDB always MERGEs.
UPSERT_BELOW_SHARE = {"postgresql": 0.25}


def apply_sql(wh: Warehouse, plan: MergePlan, staged: int) -> str:
    """The statement that applies `staged` rows to the target: the faster form for the dialect
    and the sizes (both rewrite only rows that differ)."""
    share = UPSERT_BELOW_SHARE.get(wh.dialect)
    if share is not None:
        (target_rows,), *_ = wh.fetchall(f"SELECT COUNT(*) FROM {plan.target}")
        if staged < share * int(target_rows):
            return upsert_sql(plan)
    return merge_sql(plan)


def merge(wh: Warehouse, plan: MergePlan, *, apply: bool = True) -> MergeCounts:
    """Count, then (unless `apply` is False: a dry run) merge the staged rows into the target."""
    counts = count_changes(wh, plan)
    if apply and counts.inserted + counts.updated:
        staged = counts.inserted + counts.updated + counts.unchanged
        _run(wh, apply_sql(wh, plan, staged))
    return counts


def plan_for(
    wh: Warehouse,
    target: str,
    staging: str,
    key: Sequence[str],
    surrogate_key: str | None,
) -> MergePlan:
    """The merge plan of `target`, its columns read from the warehouse."""
    columns = tuple(target_schema(wh, target).names())
    fixed = (surrogate_key,) if surrogate_key and surrogate_key not in key else ()
    return MergePlan(target, staging, columns, tuple(key), fixed)
