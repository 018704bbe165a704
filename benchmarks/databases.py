"""Where each benchmark run reads and writes: the source, and a fresh warehouse per run.

Every tool of one run gets the same source and an empty warehouse of the same kind (a new
DuckDB file, or a new PostgreSQL database created through the maintenance connection), so the
figures differ only by the tool. Also what the harness does to them itself: change order items
on the source as the ERP would (`change_items`), and checksum a warehouse's tables
(`warehouse_checksums`) so that a round can tell whether dwetl wrote what it wrote before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


#: the source's clock as its rows' `atualizado_em`: what each dialect's `clock_sql` reads in
#: dwetl.source.dialects (SQLite: UTC with microseconds; the servers: their session's zone)
SOURCE_NOW = {
    "sqlite": "strftime('%Y-%m-%d %H:%M:%f', 'now')",
    "postgresql": "LOCALTIMESTAMP",
    "mariadb": "NOW(6)",
}

#: order items a change may pick: one version only (so that exactly one source row changes per
#: item) and a quantity that stays valid when it grows by one
_CHANGEABLE_ITEMS = (
    f"SELECT id FROM {FACT_SOURCE_TABLE} GROUP BY id HAVING COUNT(*) = 1 AND MIN(quantidade) > 0"
)


#: the changed items' previous `atualizado_em`, kept on the source until `revert_items`
CHANGED_ITEMS = "bench_changed_items"


class TooFewItems(ValueError):
    """The source has fewer changeable order items than a change asked for."""


def change_items(db: Database, count: int) -> int:
    """Change `count` order items on the source, as the ERP would: each one's `quantidade` grows
    by one and its `atualizado_em` becomes the source's own clock (`SOURCE_NOW`), which is
    later than any watermark an earlier run stored (dwetl caps it at that clock) and never in
    the future of the source. The items are spread evenly over the key range (every k-th
    single-version item), so the rows they hit are spread over the whole fact table, and they
    are the same items for the same source and count: every round, and the baseline run of
    another commit, change the same rows. Their previous stamps stay in table `CHANGED_ITEMS`
    until `revert_items` puts the source back as it was. Returns the number of rows changed:
    `count`.
    """
    con = _source_connection(db)
    try:
        cur = con.cursor()
        cur.execute(f"SELECT COUNT(*) FROM ({_CHANGEABLE_ITEMS}) e")
        available = int(cur.fetchone()[0])
        if count > available:
            raise TooFewItems(
                f"asked to change {count:,} order items, but the source has {available:,} "
                "single-version items with a positive quantity"
            )
        if count <= 0:
            return 0
        step = available // count
        # No bind parameters, so no driver reads the % as a placeholder. The copy keeps the
        # source's own column types (a TIMESTAMP's precision, SQLite's text).
        cur.execute(f"DROP TABLE IF EXISTS {CHANGED_ITEMS}")
        cur.execute(
            f"CREATE TABLE {CHANGED_ITEMS} AS SELECT i.id, i.atualizado_em "
            f"FROM {FACT_SOURCE_TABLE} i JOIN ("
            "SELECT id FROM ("
            f"SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM ({_CHANGEABLE_ITEMS}) e"
            f") r WHERE (n - 1) % {step} = 0 ORDER BY id LIMIT {count}"
            ") c ON c.id = i.id"
        )
        cur.execute(f"CREATE INDEX ix_{CHANGED_ITEMS}_id ON {CHANGED_ITEMS} (id)")
        cur.execute(
            f"UPDATE {FACT_SOURCE_TABLE} SET quantidade = quantidade + 1, "
            f"atualizado_em = {SOURCE_NOW[db.kind]} "
            f"WHERE id IN (SELECT id FROM {CHANGED_ITEMS})"
        )
        changed = cur.rowcount
        con.commit()
    finally:
        con.close()
    return changed


def revert_items(db: Database) -> int:
    """Undo `change_items`: the items get their quantity and stamp back, so the next tool reads
    the very source the first one read (no new sample needed). Returns the rows put back."""
    con = _source_connection(db)
    try:
        cur = con.cursor()
        cur.execute(
            f"UPDATE {FACT_SOURCE_TABLE} SET quantidade = quantidade - 1, atualizado_em = ("
            f"SELECT c.atualizado_em FROM {CHANGED_ITEMS} c "
            f"WHERE c.id = {FACT_SOURCE_TABLE}.id"
            f") WHERE id IN (SELECT id FROM {CHANGED_ITEMS})"
        )
        reverted = cur.rowcount
        cur.execute(f"DROP TABLE {CHANGED_ITEMS}")
        con.commit()
    finally:
        con.close()
    return reverted


#: warehouse columns that record when or by which run a row was written, not what it holds
RUN_COLUMNS = ("id_execucao",)
#: and the one a change on the source stamps with the source's clock of that moment
STAMP_COLUMNS = ("atualizado_em",)

#: one row's text (NULL spelt out, so that ('a', NULL) and (NULL, 'a') differ) and the sum of
#: its MD5's first 60 bits over the table: the same rows in any order give the same sum
_CHECKSUM_SQL = {
    "duckdb": (
        "COALESCE(CAST({column} AS VARCHAR), '\\N')",
        "SUM(CAST(('0x' || SUBSTR(MD5({row}), 1, 15)) AS BIGINT))",
    ),
    "postgresql": (
        "COALESCE(CAST({column} AS TEXT), '\\N')",
        "SUM(CAST(CAST(('x' || SUBSTR(MD5({row}), 1, 15)) AS BIT(60)) AS BIGINT))",
    ),
}
_DW_COLUMNS = (
    "SELECT c.table_name, c.column_name FROM information_schema.columns c "
    "JOIN information_schema.tables t "
    "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
    "WHERE c.table_schema = 'dw' AND t.table_type = 'BASE TABLE' "
    "ORDER BY c.table_name, c.ordinal_position"
)


def warehouse_checksums(db: Database, exclude: tuple[str, ...] = RUN_COLUMNS) -> dict[str, dict]:
    """Per `dw` table: its row count and an order-independent checksum of its rows, every
    column but `exclude`. Two warehouses of the same kind with the same rows give the same
    figures, whatever order the rows were written in."""
    column_sql, sum_sql = _CHECKSUM_SQL[db.kind]
    if db.kind == "duckdb":
        import duckdb

        con: Any = duckdb.connect(str(db.path), read_only=True)
    else:
        con = psycopg.connect(db.url)
    try:
        # qualified by the database's name: DuckDB names a file's catalog after the file, and a
        # file called dw.duckdb makes `dw.t` ambiguous
        (catalog,) = con.execute("SELECT current_database()").fetchone()
        columns: dict[str, list[str]] = {}
        for table, column in con.execute(_DW_COLUMNS).fetchall():
            if column not in exclude:
                columns.setdefault(table, []).append(column)
        out = {}
        for table, names in sorted(columns.items()):
            row = "CONCAT_WS('|', {})".format(
                ", ".join(column_sql.format(column=f'"{name}"') for name in names)
            )
            count, total = con.execute(
                f'SELECT COUNT(*), {sum_sql.format(row=row)} FROM "{catalog}".dw."{table}"'
            ).fetchone()
            out[table] = {"rows": int(count), "checksum": str(total or 0)}
        return out
    finally:
        con.close()
