"""What every source writer shares: the interface, the shipped schema, frame conversions."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import polars as pl

from dwetl.core.config import Settings
from dwetl.core.connect import with_retry
from dwetl.core.paths import sql_root
from dwetl.core.urls import DbUrl

if TYPE_CHECKING:
    from dwetl.sample import Sample

CHUNK_ROWS = 1_000_000
TS_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"
GROUND_TRUTH = ("sample_damage", "sample_info")
T = TypeVar("T")


def source_schema_sql() -> str:
    """The OLTP tables' DDL and the ground-truth tables' DDL, as shipped."""
    root = sql_root() / "source"
    return (root / "oltp.sql").read_text() + "\n" + (root / "sample_damage.sql").read_text()


def source_indexes() -> list[str]:
    """The source indexes incremental extraction uses, as shipped (built after the load).

    Plain `CREATE INDEX name ON table (column)`, as every backend spells it: not transpiled.
    """
    return statements((sql_root() / "source" / "oltp_indexes.sql").read_text())


def table_names(sql: str) -> list[str]:
    """The tables a DDL script creates, in order.

    >>> table_names("CREATE TABLE a (x INT); create table b (y INT);")
    ['a', 'b']
    """
    return re.findall(r"(?i)\bcreate\s+table\s+(\w+)", sql)


def truth_frame(sample: Sample) -> pl.DataFrame:
    """`sample_damage` as written (legacy bytes are stored by the writers that support them)."""
    return sample.truth.drop("valor_danificado_bytes")


def arrow_ready(frame: pl.DataFrame) -> pl.DataFrame:
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


def python_columns(frame: pl.DataFrame) -> list[list[Any]]:
    """Columns as Python lists a DB-API driver binds (see `arrow_ready`)."""
    ready = arrow_ready(frame)
    return [ready[name].to_list() for name in ready.columns]


def chunks(frame: pl.DataFrame, size: int = CHUNK_ROWS) -> Iterator[tuple[int, pl.DataFrame]]:
    for start in range(0, frame.height, size):
        yield start, frame.slice(start, size)


def statements(ddl: str) -> list[str]:
    """The statements of a DDL script, comments dropped."""
    out = []
    for statement in ddl.split(";"):
        body = "\n".join(
            line for line in statement.splitlines() if not line.strip().startswith("--")
        ).strip()
        if body:
            out.append(body)
    return out


class SourceWriter(ABC):
    """Writes a Sample into one kind of source database."""

    #: whether the backend can hold text that is not valid UTF-8 (class codificacao_legada)
    legacy_bytes: ClassVar[bool] = False

    def __init__(self, url: DbUrl, settings: Settings | None = None) -> None:
        self.url = url
        self.settings = settings

    def connect_with_retry(self, connect_fn: Callable[[], T]) -> T:
        """`connect_fn()` retried with the settings' backoff (defaults without settings)."""
        s = self.settings
        conn, _ = with_retry(
            connect_fn,
            what="source",
            url=self.url,
            attempts=s.connect_attempts if s else 5,
            backoff_s=s.connect_backoff_seconds if s else 0.5,
            backoff_max_s=s.connect_backoff_max_seconds if s else 8.0,
        )
        return conn

    @abstractmethod
    def write(self, sample: Sample) -> dict[str, float]:
        """Drop, recreate and fill every table; returns seconds per table."""


def transpiled_schema(dialect: str) -> list[str]:
    """The shipped source DDL as statements of `dialect` (sqlglot), comments dropped."""
    import sqlglot

    return [
        sqlglot.transpile(s, read="postgres", write=dialect)[0]
        for s in statements(source_schema_sql())
    ]


def csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Types a server's CSV loader reads as written: timestamps as ISO text, booleans as 0/1."""
    casts = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            casts.append(pl.col(name).dt.strftime(TS_FORMAT))
        elif dtype == pl.Boolean:
            casts.append(pl.col(name).cast(pl.Int8))
    return frame.with_columns(casts) if casts else frame


def output_frames(sample: Sample) -> dict[str, pl.DataFrame]:
    """Every table to write, in order: the OLTP tables, then the ground truth and its info."""
    return {**sample.tables, "sample_damage": truth_frame(sample), "sample_info": sample.info()}
