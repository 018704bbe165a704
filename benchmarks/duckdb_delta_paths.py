"""DuckDB: deltas applied to a loaded fact by MERGE (what dwetl does) or by delete and re-insert,
run after run, interleaved: the time of each run and the storage after them (decision 0019).

The fact is `dw.fact_vendas` of a warehouse dwetl loaded (copied twice; the file given is only
read). Run r's delta: every 1/share-th item (other items each run, spread over every row
group), changed as an ERP changes an order item: one more unit, its gross and net values, a new
stamp, run r's lineage.
  merge     `dwetl.run.merge`'s DuckDB path: the counting join, then MERGE setting only the
            changed columns (`MergePlan.kept`)
  replace   DELETE of the target rows a staged row differs from, then INSERT of the staged rows
            whose key the target lacks
A run stages its delta, applies it in one transaction, and closes the warehouse (DuckDB
checkpoints when the last user detaches, decision 0015): its time is apply + COMMIT + close.
After every run, the blocks in use and in the file (`pragma_database_size`). Both forms must
leave the same rows, else the command exits 1.

    dwetl sample --rows 5000000 --source sqlite:///data/5M.sqlite
    DWETL_DW_URL=duckdb:///data/5M.duckdb DWETL_SOURCE_URL=sqlite:///data/5M.sqlite \\
        sh -c 'dwetl init && dwetl run --entity all --full'
    uv run --group bench python -m benchmarks.duckdb_delta_paths --warehouse data/5M.duckdb

Results go to benchmarks/results/duckdb_delta_paths-<UTC time>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from benchmarks.pg_load_paths import RESULTS
from dwetl.core.urls import parse_url
from dwetl.run import merge
from dwetl.warehouse.duckdb import DuckDBWarehouse

FACT = "dw.fact_vendas"
STAGING = "stg.fact_vendas_delta"
KEY = "id_item_origem"
FORMS = ("merge", "replace")


def connect(path: Path) -> DuckDBWarehouse:
    return DuckDBWarehouse.connect(parse_url(f"duckdb:///{path}", setting="bench", cwd=Path()))


def delta(wh: DuckDBWarehouse, share: float, run: int) -> pl.DataFrame:
    """Run `run`'s changed items, read from the fact as it stands."""
    step = round(1 / share)
    rows = wh.fetch_polars(f"SELECT * FROM {FACT} WHERE {KEY} % {step} = {run % step}")
    quantidade = pl.col("quantidade") + 1
    bruto = pl.col("preco_unitario") * quantidade
    return rows.with_columns(
        quantidade.alias("quantidade"),
        bruto.cast(pl.Decimal(14, 2)).alias("valor_bruto"),
        (bruto - pl.col("valor_desconto")).cast(pl.Decimal(14, 2)).alias("valor_liquido"),
        (pl.col("atualizado_em") + pl.duration(seconds=run + 1)).alias("atualizado_em"),
        pl.lit(10_000 + run, dtype=pl.Int64).alias("id_execucao"),
    )


def apply(wh: DuckDBWarehouse, how: str) -> None:
    """Apply the staged rows by `how`, in the caller's transaction."""
    plan = merge.plan_for(wh, FACT, STAGING, (KEY,), None)
    if how == "replace":
        differs = " OR ".join(f't."{c}" IS DISTINCT FROM s."{c}"' for c in plan.compared)
        wh.execute(
            f"DELETE FROM {FACT} AS t USING {STAGING} AS s WHERE t.{KEY} = s.{KEY} AND ({differs})"
        )
        wh.execute(
            f"INSERT INTO {FACT} SELECT * FROM {STAGING} AS s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {FACT} AS t WHERE t.{KEY} = s.{KEY})"
        )
        return
    counts = merge.count_changes(wh, plan)
    kept = tuple(c for c in plan.compared if c not in (counts.changed or ()))
    wh.execute(merge.merge_sql(replace(plan, kept=kept), wh.sqlglot_dialect))


def one_run(path: Path, share: float, run: int, how: str) -> tuple[float, int]:
    """Stage run `run`'s delta, apply it, close: seconds of apply + COMMIT + close, and the
    rows staged."""
    wh = connect(path)
    try:
        staged = delta(wh, share, run)
        plan = merge.plan_for(wh, FACT, STAGING, (KEY,), None)
        with wh.transaction():
            merge.stage(wh, plan, staged)
        started = time.perf_counter()
        with wh.transaction():
            apply(wh, how)
            wh.execute(f"DROP TABLE {STAGING}")
    finally:
        wh.close()
    return time.perf_counter() - started, staged.height


def read_only(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True)


def fact_in(con: duckdb.DuckDBPyConnection) -> str:
    """The fact, qualified by the file's catalog: DuckDB names it after the file, and a file
    called dw.duckdb would make `dw.fact_vendas` ambiguous."""
    ((catalog,),) = con.execute("SELECT current_database()").fetchall()
    return f'"{catalog}".{FACT}'


def blocks(path: Path) -> dict[str, Any]:
    con = read_only(path)
    try:
        used, total = con.execute(
            "SELECT used_blocks, total_blocks FROM pragma_database_size()"
        ).fetchall()[0]
        ((checksum,),) = con.execute(f"SELECT SUM(HASH(t)) FROM {fact_in(con)} AS t").fetchall()
    finally:
        con.close()
    return {"used_blocks": int(used), "total_blocks": int(total), "checksum": str(checksum)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True, help="a loaded DuckDB warehouse")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--share", type=float, default=0.01, help="items changed per run")
    args = parser.parse_args()
    before = blocks(args.warehouse)
    seconds: dict[str, list[float]] = {how: [] for how in FORMS}
    staged: list[int] = []
    storage: dict[str, list[dict[str, Any]]] = {how: [] for how in FORMS}
    with tempfile.TemporaryDirectory(prefix="duckdb_delta_paths_") as scratch:
        copies = {how: Path(scratch, f"{how}.duckdb") for how in FORMS}
        for path in copies.values():
            shutil.copyfile(args.warehouse, path)
        for run in range(args.runs):
            for how in FORMS if run % 2 == 0 else FORMS[::-1]:
                took, rows = one_run(copies[how], args.share, run, how)
                seconds[how].append(took)
                storage[how].append(blocks(copies[how]))
            staged.append(rows)
            if storage["merge"][-1]["checksum"] != storage["replace"][-1]["checksum"]:
                raise SystemExit(f"run {run}: the two forms leave different rows")
            print(
                f"run {run + 1}: merge {seconds['merge'][-1]:.2f} s, replace "
                f"{seconds['replace'][-1]:.2f} s; blocks in use "
                f"{storage['merge'][-1]['used_blocks']} / {storage['replace'][-1]['used_blocks']}, "
                f"in the file {storage['merge'][-1]['total_blocks']} / "
                f"{storage['replace'][-1]['total_blocks']}",
                flush=True,
            )
    figures = {
        how: {
            "first_s": round(seconds[how][0], 3),
            "mean_s": round(statistics.fmean(seconds[how]), 3),
            "median_s": round(statistics.median(seconds[how]), 3),
            "seconds": [round(s, 3) for s in seconds[how]],
            "blocks": [{k: v for k, v in b.items() if k != "checksum"} for b in storage[how]],
        }
        for how in FORMS
    }
    out = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "duckdb": duckdb.__version__},
        "warehouse": str(args.warehouse),
        "fact_rows": None,
        "share": args.share,
        "runs": args.runs,
        "staged_rows": staged,
        "blocks_before": {k: v for k, v in before.items() if k != "checksum"},
        **figures,
    }
    con = read_only(args.warehouse)
    out["fact_rows"] = con.execute(f"SELECT COUNT(*) FROM {fact_in(con)}").fetchall()[0][0]
    con.close()
    for how in FORMS:
        print(
            f"{how}: first run {figures[how]['first_s']:.2f} s, mean {figures[how]['mean_s']:.2f} "
            f"s over {args.runs}; blocks in use {before['used_blocks']} -> "
            f"{storage[how][-1]['used_blocks']}, in the file {before['total_blocks']} -> "
            f"{storage[how][-1]['total_blocks']}"
        )
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"duckdb_delta_paths-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
