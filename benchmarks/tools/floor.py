"""The floor: connectorx read of every source table + raw bulk insert, no transform, no checks.

What no client-side ETL can beat on this machine: the same bytes moved from the same source into
the same warehouse by the fastest paths each end offers (DuckDB: CREATE TABLE AS from Arrow;
PostgreSQL: COPY of Arrow-written CSV into a table without keys).

    python -m benchmarks.tools.floor --source URL --dw URL [--tables a,b]
"""

from __future__ import annotations

import argparse
import io
import json
import time

import connectorx as cx
import pyarrow as pa
import pyarrow.csv as pacsv

from benchmarks.databases import SOURCE_TABLES

COPY_BATCH_ROWS = 200_000


def read_table(source_url: str, table: str) -> pa.Table:
    """One source table as Arrow, read by connectorx."""
    result = cx.read_sql(source_url, f"SELECT * FROM {table}", return_type="arrow")
    assert isinstance(result, pa.Table)
    return result


def _pg_type(dtype: pa.DataType) -> str:
    if pa.types.is_int64(dtype):
        return "BIGINT"
    if pa.types.is_integer(dtype):
        return "INTEGER"
    if pa.types.is_floating(dtype):
        return "DOUBLE PRECISION"
    if pa.types.is_decimal(dtype):
        return f"NUMERIC({dtype.precision},{dtype.scale})"
    if pa.types.is_timestamp(dtype):
        return "TIMESTAMP"
    if pa.types.is_date(dtype):
        return "DATE"
    if pa.types.is_boolean(dtype):
        return "BOOLEAN"
    return "TEXT"


def load_duckdb(path: str, tables: dict[str, pa.Table]) -> None:
    """CREATE TABLE raw.<t> AS SELECT * FROM <arrow> for every table, one transaction."""
    import duckdb

    con = duckdb.connect(path)
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        con.execute("BEGIN")
        for name, data in tables.items():
            con.register("arrow_in", data)
            con.execute(f"CREATE TABLE raw.{name} AS SELECT * FROM arrow_in")
            con.unregister("arrow_in")
        con.execute("COMMIT")
    finally:
        con.close()


def load_postgresql(url: str, tables: dict[str, pa.Table]) -> None:
    """COPY every table (Arrow written as CSV in bounded batches) into raw.<t>, one transaction."""
    import psycopg

    with psycopg.connect(url) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        for name, data in tables.items():
            columns = ", ".join(f'"{f.name}" {_pg_type(f.type)}' for f in data.schema)
            con.execute(f"CREATE TABLE raw.{name} ({columns})".encode())
            options = pacsv.WriteOptions(include_header=False)
            copy_sql = f"COPY raw.{name} FROM STDIN (FORMAT csv)".encode()
            with con.cursor().copy(copy_sql) as copy:
                for batch in data.to_batches(max_chunksize=COPY_BATCH_ROWS):
                    buffer = io.BytesIO()
                    pacsv.write_csv(pa.Table.from_batches([batch]), buffer, options)
                    copy.write(buffer.getbuffer())
        con.commit()


def main(argv: list[str] | None = None) -> None:
    """Read, load, print {"phases": {"extract": s, "load": s}, "rows": n}."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True)
    parser.add_argument("--dw", required=True)
    parser.add_argument("--tables", default=",".join(SOURCE_TABLES))
    args = parser.parse_args(argv)

    started = time.perf_counter()
    tables = {t: read_table(args.source, t) for t in args.tables.split(",")}
    extracted = time.perf_counter()
    if args.dw.startswith("duckdb:///"):
        load_duckdb(args.dw.removeprefix("duckdb:///"), tables)
    else:
        load_postgresql(args.dw, tables)
    loaded = time.perf_counter()
    print(
        json.dumps(
            {
                "phases": {"extract": extracted - started, "load": loaded - extracted},
                "rows": sum(t.num_rows for t in tables.values()),
            }
        )
    )


if __name__ == "__main__":
    main()
