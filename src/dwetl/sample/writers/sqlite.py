"""Writers of a sample into a source database: one class per backend, picked by URL scheme.

Each writer drops and recreates the OLTP tables from `sql/source/oltp.sql` and the ground-truth
tables from `sql/source/sample_damage.sql` (the schema lives only there), then bulk-loads them.
"""

from __future__ import annotations

import re
import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl

from dwetl.config import DbUrl, parse_url
from dwetl.errors import DwetlError, UsageError
from dwetl.paths import sql_root

if TYPE_CHECKING:
    from dwetl.sample import Sample

CHUNK_ROWS = 2_000_000
TS_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"
GROUND_TRUTH = ("sample_damage", "sample_info")


def source_schema_sql() -> str:
    """The OLTP tables' DDL and the ground-truth tables' DDL, as shipped."""
    root = sql_root() / "source"
    return (root / "oltp.sql").read_text() + "\n" + (root / "sample_damage.sql").read_text()


def table_names(sql: str) -> list[str]:
    """The tables a DDL script creates, in order.

    >>> table_names("CREATE TABLE a (x INT); create table b (y INT);")
    ['a', 'b']
    """
    return re.findall(r"(?i)\bcreate\s+table\s+(\w+)", sql)


def truth_frame(sample: Sample) -> pl.DataFrame:
    """`sample_damage` as written (legacy bytes are stored by the writers that support them)."""
    return sample.truth.drop("valor_danificado_bytes")


def _arrow_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Types SQLite stores as the ERP does: money as REAL, timestamps and dates as ISO text."""
    casts = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Decimal):
            casts.append(pl.col(name).cast(pl.Float64))
        elif isinstance(dtype, pl.Datetime):
            casts.append(pl.col(name).dt.strftime(TS_FORMAT))
        elif dtype == pl.Date:
            casts.append(pl.col(name).dt.strftime(DATE_FORMAT))
        elif dtype == pl.Boolean:
            casts.append(pl.col(name).cast(pl.Int8))
    return frame.with_columns(casts) if casts else frame


def _python_columns(frame: pl.DataFrame) -> list[list[Any]]:
    """Columns as Python lists a DB-API driver binds (see `_arrow_ready`)."""
    ready = _arrow_ready(frame)
    return [ready[name].to_list() for name in ready.columns]


def _chunks(frame: pl.DataFrame, size: int = CHUNK_ROWS) -> Iterator[tuple[int, pl.DataFrame]]:
    for start in range(0, frame.height, size):
        yield start, frame.slice(start, size)


class SourceWriter(ABC):
    """Writes a Sample into one kind of source database."""

    #: whether the backend can hold text that is not valid UTF-8 (class codificacao_legada)
    legacy_bytes: ClassVar[bool] = False

    def __init__(self, url: DbUrl) -> None:
        self.url = url

    @abstractmethod
    def write(self, sample: Sample) -> dict[str, float]:
        """Drop, recreate and fill every table; returns seconds per table."""


class SqliteWriter(SourceWriter):
    """Arrow bulk ingest through ADBC (3-5x stdlib `executemany`), journaling and syncing off.

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
        self._reset(path, table_names(ddl))
        with self._sqlite(path) as conn:
            for statement in _statements(ddl):
                conn.execute(statement)
            conn.execute("COMMIT")
        seconds: dict[str, float] = {}
        with adbc.connect(str(path), autocommit=True) as db, db.cursor() as cur:
            for pragma in self._PRAGMAS:
                cur.execute(f"PRAGMA {pragma}")
            # autocommit: each ingest call is one transaction of up to CHUNK_ROWS rows
            for name, frame in sample.tables.items():
                start = time.perf_counter()
                for _, chunk in _chunks(frame):
                    cur.adbc_ingest(name, _arrow_ready(chunk).to_arrow(), mode="append")
                seconds[name] = time.perf_counter() - start
        start = time.perf_counter()
        with self._sqlite(path) as conn:
            for (name, column), cells in sample.legacy.items():
                conn.executemany(
                    f"UPDATE {name} SET {column} = ? WHERE rowid = ?",
                    [(raw, pos + 1) for pos, raw in cells.items()],
                )
            truth = truth_frame(sample)
            blobs = sample.truth["valor_danificado_bytes"].to_list()
            lists = _python_columns(truth)
            at = truth.columns.index("valor_danificado")
            lists[at] = [b if b is not None else v for v, b in zip(lists[at], blobs, strict=True)]
            self._insert(conn, "sample_damage", truth.columns, lists)
            info = sample.info()
            self._insert(conn, "sample_info", info.columns, _python_columns(info))
            conn.execute("COMMIT")
        seconds["sample_damage"] = time.perf_counter() - start
        return seconds

    @staticmethod
    def _reset(path: Path, ours: list[str]) -> None:
        # dropping a 10M-row table costs seconds: when the file holds only sample tables,
        # start from a new file instead; otherwise drop only the sample's tables
        if not path.exists():
            return
        with closing(sqlite3.connect(path)) as conn:
            existing = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if existing <= set(ours):
            path.unlink()
            return
        with SqliteWriter._sqlite(path) as conn:
            for name in ours:
                conn.execute(f"DROP TABLE IF EXISTS {name}")
            conn.execute("COMMIT")

    @staticmethod
    @contextmanager
    def _sqlite(path: Path) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
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
        marks = ", ".join("?" * len(columns))
        conn.executemany(
            f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})", zip(*lists, strict=True)
        )


def _statements(ddl: str) -> list[str]:
    """The statements of a DDL script, comments dropped."""
    out = []
    for statement in ddl.split(";"):
        body = "\n".join(
            line for line in statement.splitlines() if not line.strip().startswith("--")
        ).strip()
        if body:
            out.append(body)
    return out


#: URL scheme -> writer class
WRITERS: dict[str, type[SourceWriter]] = {"sqlite": SqliteWriter}


def writer_for(url: DbUrl | str) -> SourceWriter:
    """The writer for `url`'s scheme; an unsupported one is a UsageError naming it."""
    parsed = (
        url if isinstance(url, DbUrl) else parse_url(str(url), setting="--source", cwd=Path.cwd())
    )
    cls = WRITERS.get(parsed.scheme)
    if cls is None:
        raise UsageError(
            f"--source: sample cannot write to {parsed.scheme!r} ({parsed.masked}); "
            f"supported: {', '.join(sorted(WRITERS))}"
        )
    return cls(parsed)


def write_sample(sample: Sample, url: object) -> dict[str, float]:
    """Write `sample` to the source at `url` (str or DbUrl); seconds per table."""
    return writer_for(url if isinstance(url, DbUrl) else str(url)).write(sample)
