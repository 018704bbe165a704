"""How Spark tasks stage a fact's batches on a PostgreSQL warehouse, two ways side by side
(docs/decisions/0013-spark-postgresql-staging.md):

  attempt tables  each task COPYs its batch into an UNLOGGED table of its own attempt
                  (`dwetl.run.spark.pg_staging.TaskCopy`, dwetl's code); the driver attaches the
                  tables of the attempts Spark reports as done to the staging table (`attach`:
                  ALTER TABLE ... INHERIT)
  shared table    every task COPYs into the one staging table, with two more columns (its batch
                  and its attempt); the driver deletes the rows of every other attempt (it cannot
                  know which attempts wrote before they failed: one DELETE over the table)

then, for both, what the driver's merge does with the staged rows on a first load: one
INSERT ... SELECT of the fact's columns (here into a scratch UNLOGGED table, the same for both).

The rows are a real run's: a sample source of --items order items is loaded into a fresh
PostgreSQL warehouse with `--engine polars` once, its dw.fact_vendas written to Parquet, and each
task reads its key range of that file (what differs between the two ways is only the write and
what the driver does after it). Rounds alternate the two ways; medians of --repeat rounds.

    uv run python -m benchmarks.spark_pg_staging --items 1000000 --batches 5 --repeat 3
    uv run python -m benchmarks.spark_pg_staging ... --retry --spark-master 'local[2,2]'

With --retry the first attempt of one batch fails after its write, and Spark retries it: the
failed attempt's rows must not be read (each round checks the row count). Results:
benchmarks/results/spark_pg_staging-<UTC time>.json. The database is dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from benchmarks.databases import create_database, drop_database
from benchmarks.measure import child_env, console_script
from dwetl.core.urls import DbUrl, parse_url
from dwetl.run import merge
from dwetl.run.spark import pg_staging
from dwetl.warehouse import statements as st
from dwetl.warehouse.postgresql import PostgreSQLWarehouse

RESULTS = Path(__file__).parent / "results"
TARGET = "dw.fact_vendas"
STAGING = "stg.fact_vendas_1"
SCRATCH = "stg.bench_scratch"
#: the shared table's extra columns
BATCH, ATTEMPT = "dwetl_batch", "dwetl_attempt"
_OUT = pa.schema([("batch", pa.int32()), ("table", pa.string())])


@dataclass(frozen=True)
class Task:
    """One task's work (pickled into it): read its slice of the Parquet file, COPY it."""

    way: str
    url: DbUrl
    plan: merge.MergePlan
    parquet: str
    cuts: tuple[int, ...]  # row offsets: batch k is rows cuts[k]:cuts[k + 1]
    #: the first attempt of batch 1 fails after its write (Spark retries it: a master of the
    #: form local[N,2])
    retry: bool = False

    def __call__(self, partition: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        context = TaskContext.get()
        attempt_id = context.taskAttemptId() if context is not None else 0
        first = context is None or context.attemptNumber() == 0
        for record_batch in partition:
            for batch in record_batch.column(0).to_pylist():
                start, end = self.cuts[batch], self.cuts[batch + 1]
                rows = pl.scan_parquet(self.parquet).slice(start, end - start).collect()
                table = self.write(rows, batch, attempt_id)
                if self.retry and first and batch == 1:
                    raise RuntimeError("the first attempt of batch 1 fails after its write")
                yield pa.RecordBatch.from_pylist([{"batch": batch, "table": table}], schema=_OUT)

    def write(self, rows: pl.DataFrame, batch: int, attempt_id: int) -> str:
        if self.way == "attempt tables":
            return pg_staging.TaskCopy(self.url, self.plan).copy(rows, batch, attempt_id) or ""
        wh = PostgreSQLWarehouse.connect(self.url)
        try:
            tagged = rows.select(self.plan.columns).with_columns(
                pl.lit(batch, pl.Int32).alias(BATCH), pl.lit(attempt_id, pl.Int64).alias(ATTEMPT)
            )
            wh.load_arrow(self.plan.staging, tagged.to_arrow())
        finally:
            wh.close()
        return f"{batch}:{attempt_id}"


def one_round(way: str, spark: Any, wh: PostgreSQLWarehouse, task: Task) -> dict[str, float]:
    """Stage every batch the `way`, settle what the driver keeps, read it as the merge would."""
    plan = task.plan
    merge.create_staging(wh, plan)
    if way == "shared table":
        wh.execute(f"ALTER TABLE {STAGING} ADD COLUMN {BATCH} integer, ADD COLUMN {ATTEMPT} bigint")
    batches = len(task.cuts) - 1
    started = time.perf_counter()
    rows = spark.range(batches, numPartitions=batches).mapInArrow(task, "batch int, table string")
    done = rows.collect()
    written = time.perf_counter()
    if way == "attempt tables":
        for row in done:
            pg_staging.attach(wh, row["table"], STAGING)
    else:
        winners = ", ".join(f"({b}, {a})" for b, a in (row["table"].split(":") for row in done))
        wh.execute(f"DELETE FROM {STAGING} WHERE ({BATCH}, {ATTEMPT}) NOT IN ({winners})")
    settled = time.perf_counter()
    wh.execute(st.render(st.drop_table(SCRATCH), wh.sqlglot_dialect))
    wh.execute(st.render(st.create_empty_like(SCRATCH, TARGET, (), "UNLOGGED TABLE"), "postgres"))
    wh.execute(merge.insert_sql(replace(plan, target=SCRATCH), wh.sqlglot_dialect))
    read = time.perf_counter()
    (copied,), *_ = wh.fetchall(f"SELECT COUNT(*) FROM {SCRATCH}")
    pg_staging.drop_all(wh, STAGING)
    wh.execute(st.render(st.drop_table(SCRATCH), wh.sqlglot_dialect))
    assert copied == task.cuts[-1], (way, copied)
    return {
        "write_s": written - started,
        "settle_s": settled - written,
        "read_s": read - settled,
        "total_s": read - started,
    }


def _loaded_warehouse(items: int, work: Path) -> tuple[Any, Path]:
    """A fresh warehouse loaded from a sample of `items` order items; its fact as Parquet."""
    dwetl, env = console_script("dwetl"), child_env()
    source = f"sqlite:///{work / 'oltp.sqlite'}"
    db = create_database("postgresql", f"dwetl_bench_stg_{os.getpid()}", work)
    steps = [
        ["sample", "--rows", str(items), "--source", source],
        ["init", "--source", source, "--dw", db.url],
        ["run", "--full", "--source", source, "--dw", db.url, "--max-reject-ratio", "1"],
    ]
    for step in steps:
        subprocess.run([dwetl, *step], env=env, check=True, capture_output=True)
    wh = PostgreSQLWarehouse.connect(parse_url(db.url, setting="dw"))
    try:
        fact = wh.fetch_polars(f"SELECT * FROM {TARGET} ORDER BY id_item_origem")
    finally:
        wh.close()
    parquet = work / "fact.parquet"
    fact.write_parquet(parquet)
    return db, parquet


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--retry", action="store_true", help="batch 1 fails its first attempt "
                        "after its write (use a master such as local[2,2])")  # fmt: skip
    options = parser.parse_args(argv)
    from pyspark.sql import SparkSession

    # pyspark warns of pandas 3 on every job (mapInArrow, used here with Arrow only)
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
    work = Path(tempfile.mkdtemp(prefix="dwetl-spark-pg-staging-"))
    db, parquet = _loaded_warehouse(options.items, work)
    url = parse_url(db.url, setting="dw")
    wh = PostgreSQLWarehouse.connect(url)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master(options.spark_master)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.pyspark.python", sys.executable)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        rows = pl.scan_parquet(parquet).select(pl.len()).collect().item()
        size = -(-rows // options.batches)
        cuts = (*range(0, rows, size), rows)
        plan = merge.plan_for(wh, TARGET, STAGING, ("id_item_origem",), None)
        ways = ("attempt tables", "shared table")
        rounds: dict[str, list[dict[str, float]]] = {way: [] for way in ways}
        for round_ in range(options.repeat + 1):  # the first round warms the workers up
            for way in ways if round_ % 2 else reversed(ways):
                task = Task(way, url, plan, str(parquet), cuts, options.retry)
                timing = one_round(way, spark, wh, task)
                if round_:
                    rounds[way].append(timing)
                print(way, {k: round(v, 2) for k, v in timing.items()}, flush=True)
        medians = {
            way: {k: round(statistics.median(t[k] for t in timings), 3) for k in timings[0]}
            for way, timings in rounds.items()
        }
    finally:
        spark.stop()
        wh.close()
        drop_database(db)
    result = {
        "items": options.items,
        "fact_rows": rows,
        "batches": options.batches,
        "master": options.spark_master,
        "retry": options.retry,
        "repeat": options.repeat,
        "medians": medians,
        "rounds": rounds,
    }
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"spark_pg_staging-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(medians, indent=2))


if __name__ == "__main__":
    main()
