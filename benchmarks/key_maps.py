"""Reading a dimension's key map by value: the keys bound as one list, against the keys offered
as a one-column table (`Warehouse.fetch_polars_with`), the whole map read, and the highest-sk
check that lets a run reuse a map it holds (docs/decisions/0008-key-maps.md).

uv run python -m benchmarks.key_maps --rows 50000 --keys 50000 --dw duckdb
uv run python -m benchmarks.key_maps --rows 50000 --keys 50000 --dw postgresql://postgres@localhost/db

A dimension of `--rows` rows (dense ids, as the ERP's) is written to a scratch DuckDB file (or
a scratch schema of the PostgreSQL database given), then each way of reading the map of `--keys`
of its keys is timed in turn, round after round (A B C D A B C D ...), so that a busy machine
slows all alike. Figures are the median and the best of `--repeat` rounds, and each way's median
as a ratio of the list's.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from dwetl.core.config import load_settings
from dwetl.warehouse import open_warehouse
from dwetl.warehouse import statements as st
from dwetl.warehouse.base import Warehouse

SCHEMA = "bench_key_maps"
TABLE = f"{SCHEMA}.dim"
LISTED = "__bench_keys"


def _dimension(wh: Warehouse, rows: int) -> None:
    for statement in (
        f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE",
        f"CREATE SCHEMA {SCHEMA}",
        f"CREATE TABLE {TABLE} (sk BIGINT PRIMARY KEY, nk BIGINT NOT NULL UNIQUE)",
    ):
        wh.execute(statement)
    ids = pl.int_range(1, rows + 1, eager=True)
    wh.load_arrow(TABLE, pl.DataFrame({"sk": ids, "nk": ids + 1000}).to_arrow())


def _ways(wh: Warehouse, keys: pl.Series) -> dict[str, Callable[[], object]]:
    """Each way of reading the map of `keys`, as `lookups.key_map` did or does."""
    dialect = wh.sqlglot_dialect
    listed = st.render(st.key_rows(TABLE, "nk", "sk", -1, few=True, listed=LISTED), dialect)
    bound = st.render(st.key_rows(TABLE, "nk", "sk", -1, few=True), dialect)
    # the former read: the keys bound as one list parameter inside the IN
    bound = bound.replace(" OR ", ' OR "nk" IN (SELECT UNNEST(%s)) OR ', 1)
    whole = st.render(st.select_columns(TABLE, ("nk", "sk")), dialect)
    highest = st.render(st.highest(TABLE, "sk"), dialect)
    named = keys.alias(st.LISTED_KEY)
    return {
        "keys bound as one list": lambda: wh.fetch_polars(bound, [keys.to_list()]),
        "keys as a table (fetch_polars_with)": lambda: wh.fetch_polars_with(listed, LISTED, named),
        "whole map": lambda: wh.fetch_polars(whole),
        "highest sk (a held map reused)": lambda: wh.fetchall(highest),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows of the dimension")
    parser.add_argument("--keys", type=int, default=50_000, help="distinct keys looked up")
    parser.add_argument("--dw", default="duckdb", help="duckdb (a scratch file) or a URL")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = f"duckdb:///{Path(scratch) / 'dw.duckdb'}" if args.dw == "duckdb" else args.dw
        settings = load_settings(dw=url, cwd=Path(scratch), env={})
        with open_warehouse(settings.dw, settings) as wh:
            _dimension(wh, args.rows)
            keys = pl.int_range(1001, 1001 + args.keys, eager=True).shuffle(seed=1)
            ways = _ways(wh, keys)
            first = {name: way() for name, way in ways.items()}  # warm, and the same rows
            bound, listed = (first[n] for n in list(ways)[:2])
            assert isinstance(bound, pl.DataFrame) and isinstance(listed, pl.DataFrame)
            assert bound.sort("nk").equals(listed.sort("nk")), "the two reads differ"
            times: dict[str, list[float]] = {name: [] for name in ways}
            for _ in range(args.repeat):
                for name, way in ways.items():
                    started = time.perf_counter()
                    way()
                    times[name].append(time.perf_counter() - started)
            wh.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    base = statistics.median(times["keys bound as one list"])
    print(f"{wh.dialect}: {args.rows:,} rows, {args.keys:,} keys, {args.repeat} rounds")
    print("| read | median s | best s | median / list |\n| --- | --- | --- | --- |")
    for name, seconds in times.items():
        median = statistics.median(seconds)
        print(f"| {name} | {median:.4f} | {min(seconds):.4f} | {median / base:.3f} |")


if __name__ == "__main__":
    main()
