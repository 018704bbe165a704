"""The SQLite source writer."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
from sqlglot import exp

from dwetl.core.errors import DwetlError
from dwetl.sample.writers import marker
from dwetl.sample.writers.base import (
    SourceWriter,
    arrow_ready,
    chunks,
    python_columns,
    source_indexes,
    source_schema_sql,
    statements,
    table_names,
    truth_frame,
)

if TYPE_CHECKING:
    from dwetl.sample import Sample


class SqliteWriter(SourceWriter):
    """Arrow bulk ingest through ADBC, journaling and syncing off (docs/decisions/0011).

    Cells of class codificacao_legada are then set to their cp1252 bytes (a BLOB in a TEXT
    column) by rowid, which is the frame position + 1 in a freshly created table.
    """

    legacy_bytes = True
    _PRAGMAS = ("journal_mode=OFF", "synchronous=OFF", "cache_size=-262144", "temp_store=MEMORY")

    def write(self, sample: Sample) -> dict[str, float]:
        path = self.url.path
        assert path is not None
        try:
            return self._write(sample, path)
        except (sqlite3.Error, OSError) as exc:
            raise DwetlError(
                f"source {self.url.masked}: writing the sample failed: {exc}"
            ) from None

    def _write(self, sample: Sample, path: Path) -> dict[str, float]:
        import adbc_driver_sqlite.dbapi as adbc

        path.parent.mkdir(parents=True, exist_ok=True)
        ddl = source_schema_sql()
        ours = table_names(ddl)
        existing = self._tables(path)
        marker.refuse_unless_ours(self.url, existing, ours, self._marks(path, existing))
        self._reset(path, ours, existing)
        with self._sqlite(path, page_size=65536) as conn:
            # the mark first, in the transaction that creates the tables (see marker.py)
            conn.execute(marker.MARKER_DDL)
            for statement in marker.MARKER_WRITES:
                conn.execute(statement)
            for statement in statements(ddl):
                conn.execute(statement)
            conn.execute("COMMIT")
        seconds: dict[str, float] = dict.fromkeys(sample.tables, 0.0)
        jobs = [(name, part) for name, frame in sample.tables.items() for _, part in chunks(frame)]
        with (
            adbc.connect(str(path), autocommit=True) as db,
            db.cursor() as cur,
            ThreadPoolExecutor(1) as pool,
            ThreadPoolExecutor(1) as ingesting,
        ):
            for pragma in self._PRAGMAS:
                cur.execute(f"PRAGMA {pragma}")
            # Polars converts the next chunk while SQLite ingests this one (both drop the GIL);
            # autocommit: each ingest call is one transaction of up to CHUNK_ROWS rows. The
            # ingest runs off the main thread: there ADBC swaps in a SIGINT handler of its own,
            # which hands the signal to a thread that cancels the call (SQLite's driver cannot)
            # and loses it when the call has ended first: Ctrl-C went unnoticed. The main thread
            # waits, and takes the signal (`dwetl.cli.interrupts`).
            ahead = [pool.submit(_to_arrow, chunk) for _, chunk in jobs[:1]]
            for i, (name, _) in enumerate(jobs):
                start = time.perf_counter()
                table = ahead.pop().result()
                if i + 1 < len(jobs):
                    ahead.append(pool.submit(_to_arrow, jobs[i + 1][1]))
                ingesting.submit(cur.adbc_ingest, name, table, mode="append").result()
                seconds[name] += time.perf_counter() - start
        start = time.perf_counter()
        with self._sqlite(path) as conn:
            for (name, column), cells in sample.legacy.items():
                conn.executemany(
                    _update_by_rowid(name, column),
                    [(raw, pos + 1) for pos, raw in cells.items()],
                )
            truth = truth_frame(sample)
            blobs = sample.truth["valor_danificado_bytes"].to_list()
            lists = python_columns(truth)
            at = truth.columns.index("valor_danificado")
            lists[at] = [b if b is not None else v for v, b in zip(lists[at], blobs, strict=True)]
            self._insert(conn, "sample_damage", truth.columns, lists)
            info = sample.info()
            self._insert(conn, "sample_info", info.columns, python_columns(info))
            conn.execute("COMMIT")
        seconds["sample_damage"] = time.perf_counter() - start
        start = time.perf_counter()
        with self._sqlite(path) as conn:
            for statement in source_indexes():
                conn.execute(statement)
            conn.execute("COMMIT")
        seconds["indexes"] = time.perf_counter() - start
        return seconds

    @staticmethod
    def _tables(path: Path) -> list[str]:
        """Every table and view of the file (none where there is no file yet)."""
        if not path.exists():
            return []
        with closing(sqlite3.connect(path)) as conn:
            rows = conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            ).fetchall()
        return [r[0] for r in rows]

    @staticmethod
    def _marks(path: Path, tables: list[str]) -> list[str]:
        if marker.MARKER_TABLE not in tables:
            return []
        with closing(sqlite3.connect(path)) as conn:
            return [str(r[0]) for r in conn.execute(marker.MARKER_READ).fetchall()]

    @staticmethod
    def _reset(path: Path, ours: list[str], existing: list[str]) -> None:
        # dropping a 10M-row table costs seconds: when the file holds only sample tables,
        # start from a new file instead; otherwise drop only the sample's tables
        if not path.exists():
            return
        if set(existing) <= {*ours, marker.MARKER_TABLE}:
            path.unlink()
            return
        with SqliteWriter._sqlite(path) as conn:
            for name in ours:
                conn.execute(f"DROP TABLE IF EXISTS {name}")
            conn.execute("COMMIT")

    @staticmethod
    @contextmanager
    def _sqlite(path: Path, page_size: int | None = None) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            if page_size:
                # only takes effect on a new file: fewer, larger writes (faster ingest)
                conn.execute(f"PRAGMA page_size={page_size}")
            for pragma in SqliteWriter._PRAGMAS:
                conn.execute(f"PRAGMA {pragma}")
            conn.execute("BEGIN")
            yield conn
        finally:
            conn.close()

    @staticmethod
    def _insert(
        conn: sqlite3.Connection, name: str, columns: list[str], lists: list[list[Any]]
    ) -> None:
        conn.executemany(_insert_values(name, columns), zip(*lists, strict=True))


def _update_by_rowid(table: str, column: str) -> str:
    """UPDATE table SET column = ? WHERE rowid = ?, names quoted (SQLite).

    >>> _update_by_rowid("cliente", "nome")
    'UPDATE "cliente" SET "nome" = ? WHERE rowid = ?'
    """
    name = exp.to_identifier(column, quoted=True)
    statement = exp.Update(
        this=exp.table_(table, quoted=True),
        expressions=[exp.EQ(this=exp.column(name), expression=exp.Placeholder())],
        where=exp.Where(this=exp.column("rowid").eq(exp.Placeholder())),
    )
    return statement.sql(dialect="sqlite")


def _insert_values(table: str, columns: Sequence[str]) -> str:
    """INSERT INTO table (columns) VALUES (?, ...), names quoted (SQLite).

    >>> _insert_values("cliente", ["id", "nome"])
    'INSERT INTO "cliente" ("id", "nome") VALUES (?, ?)'
    """
    into = exp.Schema(
        this=exp.table_(table, quoted=True),
        expressions=[exp.to_identifier(c, quoted=True) for c in columns],
    )
    values = exp.values([tuple(exp.Placeholder() for _ in columns)])
    return exp.Insert(this=into, expression=values).sql(dialect="sqlite")


def _to_arrow(chunk: pl.DataFrame) -> pa.Table:
    return arrow_ready(chunk).to_arrow()
