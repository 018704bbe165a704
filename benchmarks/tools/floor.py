"""The floor: connectorx read of every source table + raw bulk insert, no transform, no checks.

What no client-side ETL can beat on this machine: the same bytes moved from the same source into
the same warehouse by the fastest paths each end offers (DuckDB: CREATE TABLE AS from Arrow;
PostgreSQL: COPY of Arrow-written CSV into a table without keys).

    python -m benchmarks.tools.floor --source URL --dw URL [--tables a,b]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time

import connectorx as cx
import pyarrow as pa
import pyarrow.csv as pacsv

from benchmarks.databases import SOURCE_TABLES

COPY_BATCH_ROWS = 200_000


def _sqlite_carriers(source_url: str, table: str) -> list[tuple[str, str, str]]:
    """(column, carrier type, sentinel literal) per column, from the declared types."""
    import sqlite3

    con = sqlite3.connect(source_url.removeprefix("sqlite://"))
    try:
        info = con.execute(f"PRAGMA table_info({table})").fetchall()
    finally:
        con.close()
    carriers = []
    for _, name, declared, *_ in info:
        declared = declared.upper()
        if "CHAR" in declared or "TEXT" in declared:
            carriers.append((name, "BLOB", "X'00'"))
        elif "INT" in declared:
            carriers.append((name, "INTEGER", "0"))
        elif "DEC" in declared or "NUM" in declared or "REAL" in declared:
            carriers.append((name, "REAL", "0.5"))
        else:  # dates and timestamps: ISO text, parsed by Arrow
            carriers.append((name, "TEXT", "''"))
    return carriers


def _restore(data: pa.Table, declared: dict[str, str]) -> pa.Table:
    # Vectorised casts only. A binary column whose bytes are all UTF-8 becomes text; one holding
    # legacy bytes stays binary: the floor moves bytes, it does not repair them.
    for i, field in enumerate(data.schema):
        column = data.column(i)
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            with contextlib.suppress(pa.ArrowInvalid):
                column = column.cast(pa.string())
        elif declared.get(field.name, "").startswith("TIMESTAMP"):
            column = column.cast(pa.timestamp("us"))
        elif declared.get(field.name, "") == "DATE":
            column = column.cast(pa.date32())
        data = data.set_column(i, field.name, column)
    return data


def read_table(source_url: str, table: str) -> pa.Table:
    """One source table as Arrow, read by connectorx.

    SQLite: a damaged ERP export holds legacy (non-UTF-8) bytes, BLOB values in text columns and
    mixed integer/real values in numeric ones; connectorx fails the whole query on any of them.
    So every column is read through a carrier type fixed by a first sentinel row (dropped).
    """
    if not source_url.startswith("sqlite://"):
        result = cx.read_sql(source_url, f"SELECT * FROM {table}", return_type="arrow")
        assert isinstance(result, pa.Table)
        return result
    carriers = _sqlite_carriers(source_url, table)
    sentinel = ", ".join(f'{literal} AS "{c}"' for c, _, literal in carriers)
    carried = ", ".join(f'CAST("{c}" AS {carrier})' for c, carrier, _ in carriers)
    query = f"SELECT {sentinel} UNION ALL SELECT {carried} FROM {table}"
    result = cx.read_sql(source_url, query, return_type="arrow")
    assert isinstance(result, pa.Table)
    declared = _sqlite_declared(source_url, table)
    return _restore(result.slice(1), declared)


def _sqlite_declared(source_url: str, table: str) -> dict[str, str]:
    import sqlite3

    con = sqlite3.connect(source_url.removeprefix("sqlite://"))
    try:
        return {r[1]: r[2].upper() for r in con.execute(f"PRAGMA table_info({table})")}
    finally:
        con.close()


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
    if pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype):
        return "BYTEA"
    return "TEXT"


def _csv_ready(batch: pa.RecordBatch) -> pa.Table:
    # CSV has no bytes: binary goes as PostgreSQL's bytea hex text (\\x...), vectorised.
    import polars as pl

    data = pa.Table.from_batches([batch])
    binary = [
        f.name
        for f in data.schema
        if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)
    ]
    if not binary:
        return data
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_columns(
        (pl.lit("\\x") + pl.col(c).bin.encode("hex")).alias(c) for c in binary
    )
    return frame.to_arrow()


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
                    pacsv.write_csv(_csv_ready(batch), buffer, options)
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
