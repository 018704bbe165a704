"""Where each benchmark run reads and writes: the source, and a fresh warehouse per run.

Every tool of one run gets the same source and an empty warehouse of the same kind (a new
DuckDB file, or a new PostgreSQL database created through the maintenance connection), so the
figures differ only by the tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg
import pymysql

PG_MAINTENANCE_URL = "postgresql://postgres@localhost:5432/postgres"
PG_BASE = "postgresql://postgres@localhost:5432"
MARIADB_BASE = "mysql://root@127.0.0.1:3306"

#: the OLTP source tables (sql/source/oltp.sql) and the fact table the pandas baseline copies
SOURCE_TABLES = (
    "clientes",
    "produtos",
    "lojas",
    "vendedores",
    "descontos",
    "vendas",
    "venda_itens",
    "venda_descontos",
    "metas",
)
FACT_SOURCE_TABLE = "venda_itens"


@dataclass(frozen=True)
class Database:
    """One database of a run: its URL for dwetl/connectorx and for SQLAlchemy."""

    kind: str  # "sqlite" | "duckdb" | "postgresql" | "mariadb"
    url: str  # dwetl / connectorx spelling
    path: Path | None = None  # file databases
    name: str | None = None  # server databases


def sqlalchemy_url(url: str) -> str:
    """dwetl's URL spelled with the SQLAlchemy driver a pandas or dlt user would pick."""
    if url.startswith("postgresql://"):
        return url.replace("postgresql://", "postgresql+psycopg2://", 1)
    if url.startswith("mysql://"):
        return url.replace("mysql://", "mysql+pymysql://", 1)
    return url


def _pg_admin(sql: str) -> None:
    with psycopg.connect(PG_MAINTENANCE_URL, autocommit=True) as con:
        con.execute(sql.encode())


def _mariadb_admin(sql: str) -> None:
    con = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    try:
        with con.cursor() as cur:
            cur.execute(sql)
    finally:
        con.close()


def create_database(kind: str, name: str, folder: Path) -> Database:
    """A new, empty database of `kind` called `name` (a file under `folder` when embedded)."""
    if kind in ("sqlite", "duckdb"):
        path = folder / f"{name}.{kind}"
        for stale in (path, path.with_name(path.name + ".wal")):
            stale.unlink(missing_ok=True)
        return Database(kind, f"{kind}:///{path}", path=path)
    drop_database(Database(kind, "", name=name))
    if kind == "postgresql":
        _pg_admin(f'CREATE DATABASE "{name}"')
        return Database(kind, f"{PG_BASE}/{name}", name=name)
    if kind == "mariadb":
        _mariadb_admin(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        return Database(kind, f"{MARIADB_BASE}/{name}", name=name)
    raise ValueError(f"unknown database kind {kind!r}")


def drop_database(db: Database) -> None:
    """Remove the database (its file, or the server database) if it exists."""
    if db.path is not None:
        for leftover in (db.path, db.path.with_name(db.path.name + ".wal")):
            leftover.unlink(missing_ok=True)
    elif db.kind == "postgresql":
        _pg_admin(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
    elif db.kind == "mariadb":
        _mariadb_admin(f"DROP DATABASE IF EXISTS `{db.name}`")


def _source_connection(db: Database):
    if db.kind == "sqlite":
        import sqlite3

        return sqlite3.connect(str(db.path))
    if db.kind == "postgresql":
        return psycopg.connect(db.url)
    return pymysql.connect(host="127.0.0.1", port=3306, user="root", database=db.name)


def source_row_counts(db: Database) -> dict[str, int]:
    """Rows per source table (all versions of a row count)."""
    con = _source_connection(db)
    try:
        cur = con.cursor()
        counts = {}
        for table in SOURCE_TABLES:
            cur.execute(f"SELECT COUNT(*) FROM {table}")
            counts[table] = int(cur.fetchone()[0])
        return counts
    finally:
        con.close()


#: the source's clock as its rows' `atualizado_em` (what dwetl's `SourceDialect.clock` reads)
_SOURCE_NOW = {
    "sqlite": "strftime('%Y-%m-%d %H:%M:%f', 'now')",
    "postgresql": "LOCALTIMESTAMP",
    "mysql": "NOW(6)",
}


def touch_one_percent(db: Database, round_no: int) -> int:
    """Give 1% of every source table's rows a newer `atualizado_em` (by SQL on the source).

    Rows whose `id` is `round_no` modulo 100 are stamped with the source's own clock, as an
    ERP's change would be: later than the watermark the runs before stored (dwetl caps it at that
    clock), so an incremental run must pick up these rows (and the fact rows whose order header
    changed), and none is dated in the future.
    """
    stamp = _SOURCE_NOW[db.kind]
    remainder = round_no % 100
    con = _source_connection(db)
    touched = 0
    try:
        cur = con.cursor()
        for table in SOURCE_TABLES:
            # No bind parameters, so no driver reads the % as a placeholder.
            cur.execute(f"UPDATE {table} SET atualizado_em = {stamp} WHERE id % 100 = {remainder}")
            touched += max(cur.rowcount, 0)
        con.commit()
    finally:
        con.close()
    return touched
