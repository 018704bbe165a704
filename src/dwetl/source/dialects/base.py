"""What every source dialect shares: the `SourceDialect` base (a server source), the
`:since` binding, the `Partition` of a batched read, the wrapping of an extract file
(`_body`, `_where`), and `_GuardedSource` (a server source read through value guards)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import ClassVar

import polars as pl
import pyarrow as pa
from sqlglot import TokenType
from sqlglot.dialects.dialect import Dialect

from dwetl.core.sqltext import query_text
from dwetl.core.urls import DbUrl
from dwetl.source.dialects.legacy_text import decode_legacy_text
from dwetl.source.reads import read_arrow

Schema = Mapping[str, pl.DataType]
SENTINEL = "__dwetl_sentinel"


def watermark_literal(since: datetime) -> str:
    """A timestamp as an SQL string literal every source compares with its TIMESTAMP column.

    >>> watermark_literal(datetime(2024, 1, 2, 3, 4, 5, 600))
    "'2024-01-02 03:04:05.000600'"
    """
    return "'" + since.replace(tzinfo=None).isoformat(sep=" ") + "'"


#: the incremental bound an extract file may use instead of dwetl's wrapping filter
SINCE = ":since"


def since_spans(sql: str, dialect: str | None = None) -> list[tuple[int, int]]:
    """Where `sql` has the `:since` bind parameter: (start, end) of each, as sqlglot's tokenizer
    for `dialect` (a sqlglot dialect name; None: its default) reads the text. A `:since` in a
    comment, a string literal or a quoted name is no parameter, nor is `x::since` (a cast) or
    `:since_x`. A text the tokenizer cannot read (an unterminated string) raises
    `sqlglot.errors.TokenError`.

    >>> since_spans("SELECT ':since' /* :since */ WHERE :since IS NULL")
    [(35, 41)]
    """
    tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    spans = []
    for colon, name in pairwise(tokens):
        if (
            colon.token_type == TokenType.COLON
            and name.token_type == TokenType.VAR
            and name.text == "since"
            and name.start == colon.end + 1  # `: since` is not the parameter
            and not _glued(sql, colon.start)
        ):
            spans.append((colon.start, name.end + 1))
    return spans


def _glued(sql: str, at: int) -> bool:
    """Whether the character before `at` joins a name or a colon to it (`x:since`, `x::since`)."""
    return at > 0 and (sql[at - 1].isalnum() or sql[at - 1] in "_:")


def uses_since(sql: str, dialect: str | None = None) -> bool:
    """Whether an extract query filters itself with the `:since` bind parameter (never one in a
    comment or a string literal: `since_spans`).

    >>> uses_since("SELECT * FROM t WHERE :since IS NULL OR t.atualizado_em > :since")
    True
    >>> uses_since("/* :since */ SELECT x::since_type, ':since' FROM t -- :since")
    False
    """
    return bool(since_spans(sql, dialect))


def bind_since(sql: str, since: datetime | None, dialect: str | None = None) -> str:
    """`sql` with every `:since` bind parameter replaced by the bound as a literal, or NULL (read
    everything); comments and string literals are left as written.

    >>> bind_since("WHERE :since IS NULL OR a > :since", datetime(2024, 1, 2))
    "WHERE '2024-01-02 00:00:00' IS NULL OR a > '2024-01-02 00:00:00'"
    >>> bind_since("WHERE :since IS NULL /* :since */ OR a > ':since'", None)
    "WHERE NULL IS NULL /* :since */ OR a > ':since'"
    """
    literal = "NULL" if since is None else watermark_literal(since)
    out, at = [], 0
    for start, end in since_spans(sql, dialect):
        out += [sql[at:start], literal]
        at = end
    return "".join(out) + sql[at:]


def _body(sql: str) -> str:
    # The extract file is SQL a DBA wrote, kept in sql/extract and wrapped as written (`noqa:
    # S608` where it is): sqlglot would have to parse it, and could rewrite the source's own
    # syntax.
    # The file's text goes inside parentheses: drop the final `;` and any comment after it
    # (`query_text`: a `;` left inside was a syntax error on every source), and end on a new
    # line so a trailing `-- comment` cannot swallow the closing parenthesis.
    return query_text(sql) + "\n"


@dataclass(frozen=True)
class Partition:
    """One batch: the rows whose integer `column` is in [`low`, `high`), every version of one
    key in the same batch. None is open: the first batch (`low` None) also holds the NULL keys
    and the last (`high` None) every key above, so a key outside the counted span (a row
    written after counting) is never left out."""

    column: str  # "id_item_origem"
    low: int | None
    high: int | None

    @classmethod
    def ranges(cls, column: str, low: int, high: int, of: int) -> list[Partition]:
        """`of` batches of equal key width over [`low`, `high`], the first and last open.

        >>> [(p.low, p.high) for p in Partition.ranges("k", 1, 10, 3)]
        [(None, 4), (4, 7), (7, None)]
        >>> [(p.low, p.high) for p in Partition.ranges("k", 5, 5, 2)]  # one key: the last holds it
        [(None, 5), (5, None)]
        """
        return cls.between(column, cls.even_cuts(low, high, of))

    @staticmethod
    def even_cuts(low: int, high: int, of: int) -> list[int]:
        """The keys that cut [`low`, `high`] into `of` ranges of equal width (fewer where the
        span holds fewer keys than `of`).

        >>> Partition.even_cuts(1, 10, 3), Partition.even_cuts(5, 5, 3)
        ([4, 7], [5])
        """
        span = max(high - low + 1, 1)
        return sorted({low + span * k // of for k in range(1, of)})

    @classmethod
    def between(cls, column: str, cuts: list[int]) -> list[Partition]:
        """The batches between increasing `cuts`: below the first (and NULL), from each to the
        next, from the last up.

        >>> [(p.low, p.high) for p in Partition.between("k", [4, 9])]
        [(None, 4), (4, 9), (9, None)]
        """
        bounds: list[int | None] = [None, *cuts, None]
        return [cls(column, a, b) for a, b in pairwise(bounds)]

    @property
    def condition(self) -> str | None:
        """The filter on the wrapped query `src` (None: every row). A key range is one index
        range scan where the key is an indexed column under the query (SQLite, PostgreSQL
        and MariaDB push it down into a UNION ALL); the first batch's NULL keys cost that
        batch, on SQLite, a full scan, which costs no more than the range alone.

        >>> Partition("id_item_origem", 10, 20).condition
        'src.id_item_origem >= 10 AND src.id_item_origem < 20'
        >>> Partition("id_item_origem", None, 10).condition
        '(src.id_item_origem < 10 OR src.id_item_origem IS NULL)'
        """
        key = f"src.{self.column}"
        if self.low is None:
            return None if self.high is None else f"({key} < {self.high} OR {key} IS NULL)"
        if self.high is None:
            return f"{key} >= {self.low}"
        return f"{key} >= {self.low} AND {key} < {self.high}"


def _where(
    watermark_column: str | None, since: datetime | None, partition: Partition | None = None
) -> str:
    conditions = []
    if watermark_column is not None and since is not None:
        # a row without a stamp is read by every run: left out, its changes were never read
        # again after the first load, the runs saying success (the merge leaves it as it is
        # while it has not changed)
        column = f"src.{watermark_column}"
        conditions.append(f"({column} > {watermark_literal(since)} OR {column} IS NULL)")
    if partition is not None and partition.condition is not None:
        conditions.append(partition.condition)
    return " WHERE " + " AND ".join(conditions) if conditions else ""


class SourceDialect:
    """A server source (PostgreSQL, MariaDB/MySQL, SQL Server): connectorx types are reliable."""

    scheme: ClassVar[str] = "server"
    #: the sqlglot dialect that reads its extract files (finds their `:since`)
    sqlglot_dialect: ClassVar[str | None] = None
    #: the source's wall clock now, as its own `CURRENT_TIMESTAMP` stamps a TIMESTAMP column
    #: without a time zone (`clock`)
    clock_sql: ClassVar[str] = "SELECT CURRENT_TIMESTAMP AS now"

    def clock(self, url: DbUrl) -> datetime:
        """The source's clock now, without a zone: the newest `atualizado_em` a row written now
        by the source's own clock would have. Naive watermark stamps are compared with it."""
        table = read_arrow(url, self.clock_sql)
        return _naive(table.column(0)[0].as_py())

    def clock_and_zone(self, url: DbUrl) -> tuple[datetime, str | None]:
        """The clock (`clock`), and the zone in which the source reads it and compares a naive
        bound with a `timestamp with time zone` (`dwetl.source.zones`); None where that cannot
        differ from how dwetl reads such a column."""
        return self.clock(url), None

    def output_columns(self, url: DbUrl, sql: str) -> list[str] | None:
        """The query's columns, learnt before reading; None: learn them from the result."""
        return None

    def query(
        self,
        sql: str,
        schema: Schema,
        watermark_column: str | None,
        since: datetime | None,
        partition: Partition | None = None,
    ) -> str:
        """The extract query wrapped with the watermark filter (and the batch's partition)."""
        return f"SELECT * FROM {self.rows(sql, watermark_column, since, partition)}"  # noqa: S608 (see _body)

    def rows(
        self,
        sql: str,
        watermark_column: str | None,
        since: datetime | None,
        partition: Partition | None = None,
    ) -> str:
        """The rows the extract reads, as what a query reads FROM (`src`): those changed after
        `since`, those without a stamp (`_where`), and only the batch's (`partition`).

        >>> print(SourceDialect().rows("SELECT id FROM t;", None, None))
        (
        SELECT id FROM t
        ) src
        """
        return f"(\n{_body(sql)}) src{_where(watermark_column, since, partition)}"

    def count_query(
        self,
        sql: str,
        key: str,
        watermark_column: str | None,
        since: datetime | None,
        *,
        numbers_only: bool = False,
    ) -> str:
        """How many rows `query` returns and the span of their `key`s, as one row: n, low,
        high (0 and 0 where no key is set: SQLite's reader cannot type a NULL first value);
        `numbers_only`: the span of the keys that are numbers (`key_number`).

        >>> print(SourceDialect().count_query("SELECT id FROM t;", "id", None, None))
        SELECT COUNT(*) AS n,
        COALESCE(MIN(src.id), 0) AS low,
        COALESCE(MAX(src.id), 0) AS high FROM (
        SELECT id FROM t
        ) src
        """
        number = self.key_number(f"src.{key}") if numbers_only else f"src.{key}"
        return (
            f"SELECT COUNT(*) AS n,\nCOALESCE(MIN({number}), 0) AS low,\n"  # noqa: S608 (see _body)
            f"COALESCE(MAX({number}), 0) AS high FROM {self.rows(sql, watermark_column, since)}"
        )

    def keys_query(
        self, sql: str, key: str, watermark_column: str | None, since: datetime | None
    ) -> str:
        """The `key` of every row `query` returns that has one (one column, `k`; a NULL first
        value is one SQLite's reader cannot type).

        >>> print(SourceDialect().keys_query("SELECT id FROM t;", "id", None, None))
        SELECT k FROM (SELECT src.id AS k FROM (
        SELECT id FROM t
        ) src) keyed WHERE k IS NOT NULL
        """
        number = self.key_number(f"src.{key}")
        rows = self.rows(sql, watermark_column, since)
        return f"SELECT k FROM (SELECT {number} AS k FROM {rows}) keyed WHERE k IS NOT NULL"  # noqa: S608 (see _body)

    def key_number(self, key: str) -> str:
        """`key` where it is a number, NULL where not: what the batches' key span is made of.
        A typed source's integer column holds nothing else.

        >>> SourceDialect().key_number("src.id")
        'src.id'
        """
        return key

    def restore(self, frame: pl.DataFrame, schema: Schema) -> tuple[pl.DataFrame, int]:
        """The frame as the query meant it, and how many legacy-encoded texts were decoded."""
        return texts_decoded(frame, schema)


class _GuardedSource(SourceDialect):
    """A server source some of whose values connectorx cannot read as they are: the query's
    columns are learnt first (no rows: `LIMIT 0`), and each column `_guard` names is read as
    itself where it can be, NULL where not, plus that value as text (a `DECIMAL_TEXT` column),
    which `conform` then judges (and quarantines what does not fit)."""

    quote: ClassVar[str] = '"'

    def __init__(self) -> None:
        self._types: dict[str, list[tuple[str, pa.DataType]]] = {}

    def _guard(self, src: str, dtype: pa.DataType) -> str | None:
        """The condition under which `src` (of Arrow type `dtype`) cannot be read as it is
        (None: it always can)."""
        return None

    def output_columns(self, url: DbUrl, sql: str) -> list[str] | None:
        probe = f"SELECT * FROM (\n{_body(sql)}) src LIMIT 0"  # noqa: S608 (see _body)
        table = read_arrow(url, probe)
        self._types[sql] = [(f.name, f.type) for f in table.schema]
        return [f.name for f in table.schema]

    def query(
        self,
        sql: str,
        schema: Schema,
        watermark_column: str | None,
        since: datetime | None,
        partition: Partition | None = None,
    ) -> str:
        q = self.quote
        selected, guarded = [], False
        for name, dtype in self._types.get(sql, []):
            src = f"src.{q}{name}{q}"
            odd = self._guard(src, dtype)
            if odd is None:
                selected.append(src)
                continue
            guarded = True
            selected.append(f"CASE WHEN {odd} THEN NULL ELSE {src} END AS {q}{name}{q}")
            text = f"CASE WHEN {odd} THEN CAST({src} AS {self._text_type}) END"
            selected.append(f"{text} AS {q}{name}{DECIMAL_TEXT}{q}")
        if not guarded:
            return super().query(sql, schema, watermark_column, since, partition)
        rows = self.rows(sql, watermark_column, since, partition)
        return f"SELECT {', '.join(selected)} FROM {rows}"  # noqa: S608 (see _body)

    _text_type: ClassVar[str] = "TEXT"

    def restore(self, frame: pl.DataFrame, schema: Schema) -> tuple[pl.DataFrame, int]:
        columns = []
        for name in frame.columns:
            if name.endswith(DECIMAL_TEXT):
                continue
            series = frame.get_column(name)
            if name + DECIMAL_TEXT in frame.columns:
                text = frame.get_column(name + DECIMAL_TEXT)
                if text.null_count() < text.len():  # some value could not be read: as text
                    series = pl.select(pl.coalesce(text, series.cast(pl.String))).to_series()
            columns.append(series.alias(name))
        return texts_decoded(pl.DataFrame(columns), schema)


def texts_decoded(frame: pl.DataFrame, schema: Schema) -> tuple[pl.DataFrame, int]:
    """Bytes where the contract wants text (a MariaDB VARBINARY, a PostgreSQL bytea) as text,
    decoded as a SQLite source's are (`decode_legacy_text`), and how many were not UTF-8. One
    value that is no UTF-8 no longer makes every row of the column a TYPE reject.

    >>> frame = pl.DataFrame({"nome": [b"Jo\\xe3o", b"Ana"], "ativo": [b"\\x01", b"\\x00"]})
    >>> decoded, legacy = texts_decoded(frame, {"nome": pl.String(), "ativo": pl.Int16()})
    >>> decoded.rows(), legacy
    ([('João', b'\\x01'), ('Ana', b'\\x00')], 1)
    """
    legacy, decoded = 0, []
    for series in frame.iter_columns():
        if series.dtype == pl.Binary and schema.get(series.name) == pl.String:
            text, count = decode_legacy_text(series)
            legacy += count
            decoded.append(text)
    return (frame.with_columns(decoded) if decoded else frame), legacy


#: the second column a decimal or an integer is read through: its text, where the first
#: column cannot hold it exactly (`_carried`)
DECIMAL_TEXT = "__dwetl_text"


def _naive(value: object) -> datetime:
    """A clock value as a naive timestamp (one with a zone: its wall time in UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"the source's clock came as {value!r}, not a timestamp")
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value
