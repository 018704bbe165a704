"""How much a DuckDB process's memory grows when rows go into a table with a primary key, at
two sizes: the warehouse's own share of the driver's memory where the warehouse is DuckDB (it
runs inside the `dwetl` process, and keeps a primary key's ART index in memory).

    uv run python -m benchmarks.duckdb_key_memory --rows 5000000 20000000 [--memory-limit 300MB]

Each size runs in a process of its own (RSS from /proc before and after one INSERT ... SELECT of
`rows` staged rows into the table, committed), with the primary key and without it. With
`--memory-limit`, DuckDB's `memory_limit` is set first: whether the index's growth can be capped
(a commit that cannot stay under it fails, and its row says so)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def one(rows: int, folder: Path, *, keyed: bool, memory_limit: str | None) -> None:
    import duckdb

    con = duckdb.connect(str(folder / f"keys-{rows}.duckdb"))
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
    key = ", CONSTRAINT pk PRIMARY KEY (k)" if keyed else ""
    con.execute(f"CREATE TABLE t (k BIGINT NOT NULL, v DOUBLE, d DATE{key})")
    con.execute(
        "CREATE TABLE s AS SELECT range AS k, random() AS v, "
        f"DATE '2020-01-01' + (range % 1000)::INT AS d FROM range({rows})"
    )
    con.execute("CHECKPOINT")
    before = _rss_mb()
    keys = "yes" if keyed else "no"
    limit = memory_limit or "none"
    try:
        con.execute("BEGIN")
        con.execute("INSERT INTO t SELECT * FROM s")
        con.execute("COMMIT")
    except duckdb.Error as error:
        failed = str(error).splitlines()[0]
        print(f"| {rows:,} | {keys} | {limit} | {before:.0f} | failed: {failed} | |", flush=True)
        return
    after = _rss_mb()
    grown = after - before
    print(f"| {rows:,} | {keys} | {limit} | {before:.0f} | {after:.0f} | {grown:.0f} |", flush=True)
    con.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", required=True)
    parser.add_argument("--memory-limit", help="DuckDB's memory_limit, e.g. 300MB (default: none)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--keyless", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.one:
        one(
            options.one,
            options.folder,
            keyed=not options.keyless,
            memory_limit=options.memory_limit,
        )
        return
    print("| rows | primary key | memory_limit | RSS before MB | RSS after MB | grown MB |")
    print("|---:|---|---|---:|---:|---:|", flush=True)
    limit = ["--memory-limit", options.memory_limit] if options.memory_limit else []
    for rows in options.rows:
        for keyless in ([], ["--keyless"]):
            with tempfile.TemporaryDirectory(prefix="dwetl-keys-") as folder:
                subprocess.run(
                    [sys.executable, "-m", "benchmarks.duckdb_key_memory", "--rows", str(rows),
                     "--one", str(rows), "--folder", folder, *keyless, *limit],
                    check=True,
                )  # fmt: skip


if __name__ == "__main__":
    main()
