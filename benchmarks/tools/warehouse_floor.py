"""The warehouse floor: the rows a dwetl full reload wrote, loaded again into a fresh warehouse.

The floor (`floor.py`) moves the source's tables into raw tables: no keys, no CHECKs, the
source's own columns. dwetl must write the warehouse the DDL declares: its columns and types,
its CHECKs and NOT NULLs, its primary and unique keys, and on PostgreSQL its foreign keys. This
tool measures what that costs alone, with no source read, no transform and no validation: every
row dwetl loaded (its `dw.*` tables, exported once by `export`) goes into a warehouse that
`dwetl init` creates (`load`), by the same first-load path dwetl takes (`dwetl.run.merge`: on
PostgreSQL binary COPY straight into the target with its keys dropped and re-created; on DuckDB
a large fact appended in batches to its twin, which is swapped in and keyed; every other table
straight into it). So `warehouse_floor / floor` is the share of the floor a client-side ETL
cannot take back: whatever dwetl does on top of the warehouse's own work.

    python -m benchmarks.tools.warehouse_floor export --dw URL --rows DIR
    python -m benchmarks.tools.warehouse_floor load --dw URL --rows DIR --source URL
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc

from dwetl.core.config import Settings, load_settings
from dwetl.entities.registry import all_entities, resolve_order
from dwetl.entities.spec import EntitySpec
from dwetl.ops.init import run_init
from dwetl.run import merge
from dwetl.warehouse import open_warehouse
from dwetl.warehouse.base import Warehouse


def _entities() -> list[EntitySpec]:
    return resolve_order([spec.name for spec in all_entities()])


def _settings(dw_url: str, source_url: str | None = None) -> Settings:
    # `init` probes the source (the rows themselves come from files): the benchmark's own.
    return load_settings(source=source_url, dw=dw_url)


def _loaded_rows(wh: Warehouse, dw_url: str, spec: EntitySpec) -> pa.Table:
    """The rows of `spec`'s target that a run wrote (not the unknown members `init` seeds)."""
    query = f"SELECT * FROM {spec.target_table}"
    if spec.surrogate_key:
        query += f" WHERE {spec.surrogate_key} >= 0"
    if wh.dialect == "duckdb":
        return wh.fetch_polars(query).to_arrow()
    import connectorx as cx

    # connectorx reads every numeric as decimal128(38,10): give each its column's own type.
    table: pa.Table = cx.read_sql(dw_url, query, return_type="arrow")
    schema, _, name = spec.target_table.rpartition(".")
    declared = {
        column: pa.decimal128(precision, scale)
        for column, precision, scale in wh.fetchall(
            "SELECT column_name, numeric_precision, numeric_scale FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s AND data_type = 'numeric'",
            [schema, name],
        )
    }
    for i, field in enumerate(table.schema):
        if field.name in declared:
            table = table.set_column(i, field.name, table.column(i).cast(declared[field.name]))
    return table


def export(dw_url: str, rows: Path) -> dict[str, int]:
    """Write every entity's loaded rows to `rows/<entity>.arrow`; returns the row counts."""
    rows.mkdir(parents=True, exist_ok=True)
    settings = _settings(dw_url)
    counts = {}
    with open_warehouse(settings.dw, settings) as wh:
        for spec in _entities():
            table = _loaded_rows(wh, dw_url, spec)
            with ipc.new_file(rows / f"{spec.name}.arrow", table.schema) as writer:
                writer.write_table(table)
            counts[spec.name] = table.num_rows
    return counts


def _load_table(wh: Warehouse, spec: EntitySpec, table: pa.Table, batch_rows: int) -> None:
    """One entity's rows into its empty target, the way `dwetl run` loads a first load."""
    import polars as pl

    plan = merge.plan_for(
        wh,
        spec.target_table,
        merge.staging_name(spec.name, 0),
        spec.natural_key,
        spec.surrogate_key,
    )
    frame = pl.DataFrame(table)
    batched = spec.batch_key is not None and frame.height > batch_rows
    if not batched:
        with wh.transaction():
            merge.settle(wh, merge.land(wh, plan, frame))
        return
    batches = [frame.slice(i, batch_rows) for i in range(0, frame.height, batch_rows)]
    if not wh.holds_uncommitted_rows:
        with wh.transaction(), wh.constraints_deferred(plan.target, empty=True):
            for batch in batches:
                merge.append(wh, plan, batch, into=plan.target)
        return
    with wh.transaction():
        plan, swap = merge.create_batch_staging(wh, plan, 0)
    for batch in batches:
        with wh.transaction():
            merge.append(wh, plan, batch)
    with wh.transaction():
        merge.settle(wh, merge.staged(wh, plan, frame.height, swap))


def load(dw_url: str, rows: Path, source_url: str) -> dict[str, Any]:
    """`dwetl init` on the empty warehouse, then every entity's exported rows into it."""
    settings = _settings(dw_url, source_url)
    started = time.perf_counter()
    report = run_init(settings)
    if not report.ok:
        raise RuntimeError(f"dwetl init failed: {report.problems}")
    initialised = time.perf_counter()
    tables = [
        (spec, ipc.open_file(pa.memory_map(str(rows / f"{spec.name}.arrow"))).read_all())
        for spec in _entities()
    ]
    seconds: dict[str, float] = {}
    with open_warehouse(settings.dw, settings) as wh:
        for spec, table in tables:
            begun = time.perf_counter()
            _load_table(wh, spec, table, settings.batch_rows)
            seconds[spec.name] = round(time.perf_counter() - begun, 3)
    loaded = time.perf_counter()
    return {
        "phases": {"init": initialised - started, "load": loaded - initialised},
        "rows": sum(table.num_rows for _, table in tables),
        "entities": seconds,
    }


def main(argv: list[str] | None = None) -> None:
    """`export` prints {"rows": {entity: n}}; `load` prints {"phases": ..., "rows": n}."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("step", choices=("export", "load"))
    parser.add_argument("--dw", required=True, help="warehouse URL (dwetl's spelling)")
    parser.add_argument("--rows", required=True, type=Path, help="folder of the exported rows")
    parser.add_argument("--source", help="source URL that `init` probes (load)")
    args = parser.parse_args(argv)
    if args.step == "export":
        print(json.dumps({"rows": export(args.dw, args.rows)}))
    elif args.source is None:
        parser.error("load needs --source")
    else:
        print(json.dumps(load(args.dw, args.rows, args.source)))


if __name__ == "__main__":
    main()
