"""The floor: connectorx read of every source table + raw bulk insert, no transform, no checks.

What no client-side ETL can beat on this machine: the same bytes moved from the same source into
the same warehouse by the fastest paths each end offers (DuckDB: CREATE TABLE AS from Arrow;
PostgreSQL: binary COPY encoded from Arrow into a table without keys).

    python -m benchmarks.tools.floor --source URL --dw URL [--tables a,b]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

import connectorx as cx
import pyarrow as pa

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
    """COPY every table in PostgreSQL's binary format (encoded from Arrow in bounded batches,
    as dwetl loads) into raw.<t> of the types the encoder writes, one transaction. Binary
    COPY is the faster raw path: 982k fact rows took the server 1.6 s against 2.1-3.0 s as
    CSV."""
    import psycopg
    from pgpq import ArrowToPostgresBinaryEncoder

    with psycopg.connect(url) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        for name, data in tables.items():
            encoder = ArrowToPostgresBinaryEncoder(data.schema)
            wire = encoder.schema().columns
            columns = ", ".join(
                f'"{f.name}" {c.data_type.ddl()}' for f, c in zip(data.schema, wire, strict=True)
            )
            con.execute(f"CREATE TABLE raw.{name} ({columns})".encode())
            copy_sql = f"COPY raw.{name} FROM STDIN (FORMAT binary)".encode()
            with con.cursor().copy(copy_sql) as copy:
                copy.write(encoder.write_header())
                for batch in data.to_batches(max_chunksize=COPY_BATCH_ROWS):
                    copy.write(encoder.write_batch(batch))
                copy.write(encoder.finish())
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
