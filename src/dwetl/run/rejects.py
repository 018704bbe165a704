"""Quarantine: rejected rows into `ctl.etl_reject`, earlier rejects resolved when a row loads."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from dwetl.dialects.base import Warehouse
from dwetl.queries import named_queries
from dwetl.run.control import now

REASONS = "reasons"


def source_key(key: Sequence[str]) -> pl.Expr:
    """The natural key as one text value ("7", or "2026|3|7" for a compound key)."""
    return pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator="|")


def reject_rows(
    rejected: pl.DataFrame, key: Sequence[str], *, run_id: int, entity: str, first_id: int
) -> pl.DataFrame:
    """The `ctl.etl_reject` rows of a `split` result (`reasons` column: list of names)."""
    row = [c for c in rejected.columns if c != REASONS]
    return rejected.select(
        (pl.int_range(pl.len(), dtype=pl.Int64) + first_id).alias("reject_id"),
        pl.lit(run_id, dtype=pl.Int64).alias("run_id"),
        pl.lit(entity).alias("entity"),
        source_key(key).alias("source_key"),
        # A JSON list: encode {"reasons": [...]} and keep the list part.
        pl.struct(REASONS)
        .struct.json_encode()
        .str.strip_prefix('{"reasons":')
        .str.strip_suffix("}")
        .alias("reasons"),
        pl.struct(row).struct.json_encode().alias("row_json"),
        pl.lit(now()).alias("rejected_at"),
    )


def write_rejects(
    wh: Warehouse, rejected: pl.DataFrame, key: Sequence[str], *, run_id: int, entity: str
) -> None:
    """Append the rejected rows to `ctl.etl_reject` (inside the entity's transaction)."""
    if not rejected.height:
        return
    (first_id,), *_ = wh.fetchall(named_queries("run/control.sql")["next_reject_id"])
    rows = reject_rows(rejected, key, run_id=run_id, entity=entity, first_id=int(first_id))
    wh.load_arrow("ctl.etl_reject", rows.to_arrow())


def resolve_rejects(
    wh: Warehouse, loaded: str, key: Sequence[str], *, run_id: int, entity: str
) -> None:
    """Mark this entity's open rejects whose key has now loaded (is in the table `loaded`: the
    staging table, or the target a first load went straight into) as resolved."""
    if not wh.fetchall(named_queries("run/control.sql")["open_reject"], [entity, run_id]):
        return  # nothing open to resolve: no need to read every loaded key
    with wh.without_nested_loops():  # the open rejects' statistics may be long out of date
        wh.execute(wh.portable(resolve_sql(loaded, key)), [run_id, now(), entity, run_id])


def resolve_sql(loaded: str, key: Sequence[str]) -> str:
    """The UPDATE resolving the open rejects whose key is in `loaded`; parameters: run id,
    time, entity, run id."""
    key_text = " || '|' || ".join(f"CAST(s.{k} AS TEXT)" for k in key)
    return (
        "UPDATE ctl.etl_reject SET resolved_run_id = %s, resolved_at = %s "
        "WHERE entity = %s AND resolved_run_id IS NULL AND run_id <> %s AND source_key IN "
        f"(SELECT {key_text} FROM {loaded} s)"
    )
