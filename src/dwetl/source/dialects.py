"""How dwetl reads each kind of source database through connectorx: one class per scheme.

A dialect wraps an extract query (watermark filter, value carriers), may learn the query's
output columns before reading, and turns what connectorx returned back into plain columns.
A query that filters itself with the `:since` placeholder gets it bound (`bind_since`) instead
of the wrapping filter; the placeholder is found by sqlglot's tokenizer for the source's
dialect, so a `:since` in a comment or a string literal is never one. `SourceDialect.clock`
reads the source's own clock, which caps the watermark (`extract`). A large extract may be
read in batches of key ranges: the wrapper then also keeps one `Partition` of the rows, and
`count_query` tells how many rows there are and the span of their keys.
Nothing else in dwetl asks which kind of source it reads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import ClassVar

import connectorx as cx
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import TokenType
from sqlglot.dialects.dialect import Dialect

from dwetl.core.urls import DbUrl

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
    # The file's text goes inside parentheses: drop a final `;`, and end on a new line so a
    # trailing `-- comment` cannot swallow the closing parenthesis.
    return sql.strip().rstrip(";").rstrip() + "\n"


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
        conditions.append(f"src.{watermark_column} > {watermark_literal(since)}")
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
        table = cx.read_sql(url.connectorx_url, self.clock_sql, return_type="arrow")
        return _naive(table.column(0)[0].as_py())

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
        return f"SELECT * FROM (\n{_body(sql)}) src{_where(watermark_column, since, partition)}"  # noqa: S608 (see _body)

    def count_query(
        self, sql: str, key: str, watermark_column: str | None, since: datetime | None
    ) -> str:
        """How many rows `query` returns and the span of their `key`s, as one row: n, low,
        high (0 and 0 where no key is set: SQLite's reader cannot type a NULL first value).

        >>> print(SourceDialect().count_query("SELECT id FROM t;", "id", None, None))
        SELECT COUNT(*) AS n,
        COALESCE(MIN(src.id), 0) AS low,
        COALESCE(MAX(src.id), 0) AS high FROM (
        SELECT id FROM t
        ) src
        """
        return (
            f"SELECT COUNT(*) AS n,\nCOALESCE(MIN(src.{key}), 0) AS low,\n"  # noqa: S608 (see _body)
            f"COALESCE(MAX(src.{key}), 0) AS high FROM (\n{_body(sql)}) src"
            f"{_where(watermark_column, since)}"
        )

    def keys_query(
        self, sql: str, key: str, watermark_column: str | None, since: datetime | None
    ) -> str:
        """The `key` of every row `query` returns that has one (one column, `k`).

        >>> print(SourceDialect().keys_query("SELECT id FROM t;", "id", None, None))
        SELECT src.id AS k FROM (
        SELECT id FROM t
        ) src WHERE src.id IS NOT NULL
        """
        where = _where(watermark_column, since)
        where = f"{where} AND" if where else " WHERE"
        return f"SELECT src.{key} AS k FROM (\n{_body(sql)}) src{where} src.{key} IS NOT NULL"  # noqa: S608 (see _body)

    def restore(self, frame: pl.DataFrame, schema: Schema) -> tuple[pl.DataFrame, int]:
        """The frame as the query meant it, and how many legacy-encoded texts were decoded."""
        return frame, 0


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
        table = cx.read_sql(url.connectorx_url, probe, return_type="arrow")
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
        return (
            f"SELECT {', '.join(selected)} FROM (\n{_body(sql)}) src"  # noqa: S608 (see _body)
            f"{_where(watermark_column, since, partition)}"
        )

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
        return pl.DataFrame(columns), 0


class PostgresSource(_GuardedSource):
    """PostgreSQL: `LOCALTIMESTAMP` is the wall clock of the session's `TimeZone` (the server's
    `timezone` setting, or the database's or role's), what `now()` stores into a `timestamp`
    column; connectorx keeps that zone.

    connectorx reads every `numeric` as decimal128(38, 10), rounding the digits past the 10th
    decimal and failing the whole query past 28 integer digits. Such a value is read as its
    text instead (`scale()` and one comparison per value), so that a value with more decimals
    than the warehouse's scale is quarantined, not rounded."""

    scheme: ClassVar[str] = "postgresql"
    sqlglot_dialect: ClassVar[str | None] = "postgres"
    clock_sql: ClassVar[str] = "SELECT LOCALTIMESTAMP AS now"

    def _guard(self, src: str, dtype: pa.DataType) -> str | None:
        if pa.types.is_decimal(dtype):
            return f"(scale({src}) > 10 OR abs({src}) >= 1e27)"
        return None


class MysqlSource(_GuardedSource):
    """MariaDB/MySQL: `NOW(6)` is the wall clock of the session's `time_zone` (the server's
    `@@global.time_zone`, SYSTEM: its host's zone), what `CURRENT_TIMESTAMP` stores into a
    DATETIME column.

    A DATE or DATETIME may hold a date that is none (the zero date '0000-00-00', or a zero
    month or day), which connectorx cannot convert: it panics and the whole read is lost. A
    real date plus 0 days is itself; a date that is none gives NULL. The guard costs the server
    a little per value (docs/decisions/0009-source-reads.md)."""

    scheme: ClassVar[str] = "mysql"
    sqlglot_dialect: ClassVar[str | None] = "mysql"
    clock_sql: ClassVar[str] = "SELECT NOW(6) AS now"
    quote: ClassVar[str] = "`"
    _text_type: ClassVar[str] = "CHAR"

    def _guard(self, src: str, dtype: pa.DataType) -> str | None:
        if pa.types.is_date(dtype) or pa.types.is_timestamp(dtype):
            return f"{src} + INTERVAL 0 DAY IS NULL"
        return None


class MssqlSource(SourceDialect):
    """SQL Server: `SYSDATETIME()` is the server's local wall clock, as `GETDATE()` stamps a
    `datetime2` column."""

    scheme: ClassVar[str] = "mssql"
    sqlglot_dialect: ClassVar[str | None] = "tsql"
    clock_sql: ClassVar[str] = "SELECT SYSDATETIME() AS now"


class SqliteSource(SourceDialect):
    """SQLite: columns have no fixed types, and TEXT may hold bytes that are not UTF-8.

    connectorx infers a computed column's type from the first row (and fails on NULL) and
    fails the whole query on a TEXT value that is not valid UTF-8. So every column is read
    through a carrier whose type is certain -- text as BLOB, dates as TEXT, integers as
    INTEGER, decimals as REAL plus the TEXT of the values a double cannot hold (`_carried`) --
    under a first sentinel row that fixes those types, and is then decoded here (text: UTF-8,
    else cp1252, else latin-1; decimals: the text SQLite prints for them).
    """

    scheme: ClassVar[str] = "sqlite"
    sqlglot_dialect: ClassVar[str | None] = "sqlite"
    #: what SQLite's own `CURRENT_TIMESTAMP` writes (UTC: SQLite has no session zone), with
    #: microseconds
    clock_sql: ClassVar[str] = "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"

    def clock(self, url: DbUrl) -> datetime:
        with closing(_connect_sqlite(url)) as conn:
            (text,) = conn.execute(self.clock_sql).fetchone()
        return datetime.fromisoformat(text)

    def output_columns(self, url: DbUrl, sql: str) -> list[str] | None:
        with closing(_connect_sqlite(url)) as conn:
            cursor = conn.execute(f"SELECT * FROM (\n{_body(sql)}) src LIMIT 0")  # noqa: S608 (see _body)
            return [d[0] for d in cursor.description]

    def query(
        self,
        sql: str,
        schema: Schema,
        watermark_column: str | None,
        since: datetime | None,
        partition: Partition | None = None,
    ) -> str:
        carried = [(f'1 AS "{SENTINEL}"', "0")]
        for column, dtype in schema.items():
            carried += _carried(column, dtype)
        integers = [column for column, dtype in schema.items() if dtype.is_integer()]
        if integers:
            carried.append((f"'' AS \"{INTEGER_TEXT}\"", _integer_texts(integers)))
        sentinel = ", ".join(first for first, _ in carried)
        rows = ", ".join(expression for _, expression in carried)
        return (
            f"SELECT {sentinel}\nUNION ALL\nSELECT {rows} FROM (\n{_body(sql)}) src"  # noqa: S608 (see _body)
            f"{_where(watermark_column, since, partition)}"
        )

    def restore(self, frame: pl.DataFrame, schema: Schema) -> tuple[pl.DataFrame, int]:
        frame = frame.filter(pl.col(SENTINEL) == 0).drop(SENTINEL)
        texts = _integer_columns_texts(frame, schema)
        decoded = 0
        columns = []
        for name in frame.columns:
            if name.endswith(DECIMAL_TEXT) or name == INTEGER_TEXT:
                continue
            series = frame.get_column(name)
            wanted = schema.get(name)
            if series.dtype == pl.Binary:
                series, count = decode_legacy_text(series)
                decoded += count
            elif isinstance(wanted, pl.Decimal):
                series = sqlite_decimal(series, frame.get_column(name + DECIMAL_TEXT), wanted)
            elif name in texts:
                series = sqlite_integer(series, texts[name])
            columns.append(series)
        return pl.DataFrame(columns), decoded


#: the second column a decimal or an integer is read through: its text, where the first
#: column cannot hold it exactly (`_carried`)
DECIMAL_TEXT = "__dwetl_text"


def _carried(column: str, dtype: pl.DataType) -> list[tuple[str, str]]:
    """(sentinel column, carried expression) for each column a wanted column is read through.

    A decimal comes as a double, plus its text where the double could not hold it: SQLite keeps
    a DECIMAL column's numbers as REAL or INTEGER (NUMERIC affinity), and prints them with 15
    significant digits, which `sqlite_decimal` does from the double. connectorx builds a string
    per text value, so doubles read about twice as fast (docs/decisions/0009-source-reads.md).
    Text that is not a number ('12,50'), a blob, or a magnitude of 1e15 or more comes as text.

    Those are told apart by comparison, not by `typeof()` and `abs()`: SQLite orders every
    number before every text and blob, so only a number can lie between -1e15 and 1e15. The
    unary `+` takes the column's affinity away, so that a TEXT column's '1,5' is compared as
    the text it is, not against '1.0e+15' as text. The comparisons cost a third of two
    function calls per value.

    An integer comes as SQLite's CAST to INTEGER, which reads 'xyz' as 0, 17.5 as 17 and
    '12abc' as 12; the row's one `INTEGER_TEXT` column tells where that was not the value
    (`_integer_texts`)."""
    src = f'src."{column}"'
    text = f"'' AS \"{column}{DECIMAL_TEXT}\""
    if isinstance(dtype, pl.Decimal):
        odd = f"CASE WHEN +{src} > -1e15 AND +{src} < 1e15 THEN NULL ELSE CAST({src} AS TEXT) END"
        return [(f'0.0 AS "{column}"', f"CAST({src} AS REAL)"), (text, odd)]
    carrier, literal = _carrier(dtype)
    return [(f'{literal} AS "{column}"', f"CAST({src} AS {carrier})")]


def sqlite_decimal(number: pl.Series, text: pl.Series, dtype: pl.Decimal) -> pl.Series:
    """A decimal read as a double and, where the double could not hold it, its text (`_carried`):
    the decimal of `dtype` that SQLite's text of it gives (`decimal_text`), or that text itself
    where some text is no decimal or has more decimals than the scale (`conform.conform` then
    quarantines those).

    A double that is the nearest one to a decimal of `dtype`'s scale and of at most 15 digits
    (10.05, not 1.015's neighbour 1.0149999999999999) prints as that decimal: it is cast
    straight, and the cast checked by casting back, which spares printing and parsing it; the
    others go that way.

    >>> sqlite_decimal(pl.Series("v", [10.05, 0.7 + 0.1, None, 2.5]),
    ...                pl.Series("t", [None, None, None, "7"]), pl.Decimal(38, 2)).to_list()
    [Decimal('10.05'), Decimal('0.80'), None, Decimal('7.00')]
    >>> sqlite_decimal(pl.Series("v", [10.05, 1.0149999999999999]),  # 1.015: 3 decimals
    ...                pl.Series("t", [None, None]), pl.Decimal(38, 2)).to_list()
    ['10.05', '1.015']
    """
    direct = number.cast(dtype, strict=False)
    digits = 10.0 ** (15 - (dtype.scale or 0))
    holds = direct.cast(pl.Float64) == number
    exact = (text.is_null() & (number.abs() < digits) & holds).fill_null(True)  # NULL: no value
    if exact.all():
        return direct
    at = exact.not_().arg_true()
    printed = decimal_text(number.gather(at), text.gather(at)).str.strip_chars()
    parsed = printed.cast(dtype, strict=False)
    scale = dtype.scale or 0
    # more decimals than the scale (17.505 at scale 2) would be cut by the cast: such text,
    # like text that is no number, goes to `conform` as text, which quarantines it
    if (parsed.is_null() & printed.is_not_null()).any() or (
        printed.str.contains(rf"\.\d{{{scale}}}0*[1-9]|[eE]").any()
    ):
        return decimal_text(number, text)
    return direct.scatter(at, parsed)


#: one column per row: NULL where every integer column's CAST is its value, else a JSON array
#: of their texts, NULL for each one that is (`_integer_texts`)
INTEGER_TEXT = "__dwetl_integers"


def _integer_texts(columns: list[str]) -> str:
    """The `INTEGER_TEXT` expression of a row: a value without its affinity IS its CAST to
    INTEGER for an integer, 17.0, the text '17' and NULL; not for 'xyz', 17.5, '12abc'. One
    column for all of a row's integers, and its texts only where the row has such a value: a
    text column per integer costs connectorx a string per value, this one nearly nothing
    (docs/decisions/0009-source-reads.md)."""
    checks = [f'+src."{c}" IS CAST(src."{c}" AS INTEGER)' for c in columns]
    texts = [f'CASE WHEN {check} THEN NULL ELSE CAST(src."{c}" AS TEXT) END'
             for c, check in zip(columns, checks, strict=True)]  # fmt: skip
    return f"CASE WHEN {' AND '.join(checks)} THEN NULL ELSE json_array({', '.join(texts)}) END"


def _integer_columns_texts(frame: pl.DataFrame, schema: Schema) -> dict[str, pl.Series]:
    """Per integer column with a value that its CAST changed, the texts of such values (NULL
    elsewhere), from the `INTEGER_TEXT` column."""
    if INTEGER_TEXT not in frame.columns:
        return {}
    arrays = frame.get_column(INTEGER_TEXT)
    if arrays.null_count() == arrays.len():
        return {}
    integers = [column for column, dtype in schema.items() if dtype.is_integer()]
    lists = arrays.str.json_decode(pl.List(pl.String))
    texts = {c: lists.list.get(i, null_on_oob=True).alias(c) for i, c in enumerate(integers)}
    return {c: t for c, t in texts.items() if t.null_count() < t.len()}


def sqlite_integer(number: pl.Series, text: pl.Series) -> pl.Series:
    """An integer read through SQLite's CAST and, where that CAST was not the value, its text
    (`_carried`): the integers as they are, or, where some value was no integer, every value as
    text, which `conform` then types (and quarantines what is no integer).

    >>> sqlite_integer(pl.Series("q", [3, 17, 0]), pl.Series("t", [None, "17.5", "xyz"])).to_list()
    ['3', '17.5', 'xyz']
    """
    if text.null_count() == text.len():
        return number
    return pl.select(pl.coalesce(text, number.cast(pl.String))).to_series().alias(number.name)


def decimal_text(number: pl.Series, text: pl.Series) -> pl.Series:
    """A decimal read as a double and, where the double could not hold it, its text: the text
    SQLite's CAST(... AS TEXT) gives (15 significant digits; the shortest text of the double
    rounded to them).

    >>> decimal_text(pl.Series("v", [0.7 + 0.1, 12.0, None, 0.0]),
    ...              pl.Series("t", [None, None, None, "12,50"])).to_list()
    ['0.8', '12.0', None, '12,50']
    """
    shortest = number.round_sig_figs(15).cast(pl.String)
    return pl.select(pl.coalesce(text, shortest)).to_series().alias(number.name)


def _carrier(dtype: pl.DataType) -> tuple[str, str]:
    """(SQLite type to CAST to, sentinel literal of that type) for a wanted column type (a
    decimal: see `_carried`)."""
    if dtype == pl.String:
        return "BLOB", "X''"
    if dtype.is_integer() or dtype == pl.Boolean:
        return "INTEGER", "0"
    if dtype.is_float():
        return "REAL", "0.0"
    # dates and timestamps: their text
    return "TEXT", "''"


def _connect_sqlite(url: DbUrl) -> sqlite3.Connection:
    if url.path is None or not url.path.is_file():
        raise FileNotFoundError(f"no such SQLite file: {url.path}")
    return sqlite3.connect(f"file:{url.path.as_posix()}?mode=ro", uri=True)


def decode_legacy_text(series: pl.Series) -> tuple[pl.Series, int]:
    """Bytes as text: UTF-8 where valid, else cp1252, else latin-1; and how many were not UTF-8.

    Only the distinct non-ASCII values of a column that is not all valid UTF-8 are decoded one
    by one, then mapped back (never a Python loop over every row).

    >>> decode_legacy_text(pl.Series("c", [b"ok", "Promoção".encode("cp1252")]))[0].to_list()
    ['ok', 'Promoção']
    """
    try:
        return series.cast(pl.String), 0
    except pl.exceptions.ComputeError:
        pass
    distinct = series.drop_nulls().unique()
    as_text = distinct.to_arrow().cast(pa.large_binary()).view(pa.large_string())
    ascii_only = pl.Series(pc.string_is_ascii(as_text))
    texts = distinct.filter(~ascii_only)
    decoded = [_decode(value) for value in texts.to_list()]
    legacy = sum(not _is_utf8(value) for value in texts.to_list())
    mapping_from = pl.concat([distinct.filter(ascii_only), texts])
    mapping_to = pl.concat(
        [distinct.filter(ascii_only).cast(pl.String), pl.Series(decoded, dtype=pl.String)]
    )
    restored = series.replace_strict(mapping_from, mapping_to, return_dtype=pl.String)
    return restored.alias(series.name), legacy


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode(value: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return value.decode(encoding)
        except UnicodeDecodeError:
            continue
    return value.decode("latin-1")  # every byte is a latin-1 character: never fails


_DIALECTS: dict[str, Callable[[], SourceDialect]] = {
    "sqlite": SqliteSource,
    "postgresql": PostgresSource,
    "mysql": MysqlSource,
    "mssql": MssqlSource,
}


def _naive(value: object) -> datetime:
    """A clock value as a naive timestamp (one with a zone: its wall time in UTC, as
    `extract.conform` reads a zoned column)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"the source's clock came as {value!r}, not a timestamp")
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def source_dialect(scheme: str) -> SourceDialect:
    """The reader for a source URL's scheme ("sqlite", "postgresql", "mysql", "mssql")."""
    return _DIALECTS[scheme]()
