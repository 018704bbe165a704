"""SQLite as a source: typed carriers under a sentinel row, legacy text decoded."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime
from typing import ClassVar

import polars as pl

from dwetl.core.urls import DbUrl
from dwetl.source.dialects.base import (
    DECIMAL_TEXT,
    SENTINEL,
    Partition,
    Schema,
    SourceDialect,
    _body,
    watermark_literal,
)
from dwetl.source.dialects.legacy_text import decode_legacy_text


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

    def key_number(self, key: str) -> str:
        """SQLite keeps a value of any type in any column: a key written as text (`'abc'`) has
        no place in the span of integer keys the batches cut (and a plain MIN/MAX returns it).
        It sorts above every number, so the last batch (open above) reads its row, and
        validation rejects it (TYPE_).

        A fraction (2.5) counts as its integer part: connectorx types the keys' column from its
        first value, and a cut only balances the batches (they cover every key whatever the
        cuts); validation rejects the fraction.

        >>> SqliteSource().key_number("k")
        "CASE typeof(k) WHEN 'integer' THEN k WHEN 'real' THEN CAST(k AS INTEGER) END"
        """
        return (
            f"CASE typeof({key}) WHEN 'integer' THEN {key} "
            f"WHEN 'real' THEN CAST({key} AS INTEGER) END"
        )

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
            f"SELECT {sentinel}\nUNION ALL\nSELECT {rows} FROM "  # noqa: S608 (see _body)
            f"{self.rows(sql, watermark_column, since, partition)}"
        )

    def rows(
        self,
        sql: str,
        watermark_column: str | None,
        since: datetime | None,
        partition: Partition | None = None,
    ) -> str:
        """As `SourceDialect.rows`, the rows changed after `since` and those without a stamp
        each in a SELECT of its own: as one `OR`, SQLite scans the whole table where the stamp
        column is declared NOT NULL (it drops the `IS NULL` term, and the index with it: 0.07 s
        for 505k customers, against 0.1 ms).

        >>> print(SqliteSource().rows("SELECT * FROM t", "at", None))
        (
        SELECT * FROM t
        ) src
        """
        if watermark_column is None or since is None:
            return super().rows(sql, watermark_column, since, partition)
        column, bound = f"src.{watermark_column}", watermark_literal(since)
        part = (
            ""
            if partition is None or partition.condition is None
            else f" AND {partition.condition}"
        )
        changed, unstamped = (
            f"SELECT * FROM (\n{_body(sql)}) src WHERE {condition}{part}"  # noqa: S608 (see _body)
            for condition in (f"{column} > {bound}", f"{column} IS NULL")
        )
        return f"(\n{changed}\nUNION ALL\n{unstamped}\n) src"

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
        odd = f"CASE WHEN +{src} > -1e15 AND +{src} < 1e15 THEN NULL ELSE {_text_or_hex(src)} END"
        return [(f'0.0 AS "{column}"', f"CAST({src} AS REAL)"), (text, odd)]
    carrier, literal = _carrier(dtype)
    read = _text_or_hex(src) if carrier == "TEXT" else f"CAST({src} AS {carrier})"
    return [(f'{literal} AS "{column}"', read)]


def _text_or_hex(src: str) -> str:
    """`src` as text for a column that is no text (a date, a number's text): a blob as its hex,
    `0x...`, which `conform` then quarantines keeping it (bytes where a number or a date is
    due), as it does a MariaDB BIT(1). Cast to text, bytes that are no UTF-8 made connectorx
    fail the whole read, and with it the entity. SQLite orders every blob after every other
    value, so a comparison finds them: a fifth of the cost of `typeof()` on every value.

    >>> _text_or_hex("src.ano")
    "CASE WHEN +src.ano >= x'' THEN '0x' || hex(src.ano) ELSE CAST(src.ano AS TEXT) END"
    """
    return f"CASE WHEN +{src} >= x'' THEN '0x' || hex({src}) ELSE CAST({src} AS TEXT) END"


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
    sources = [f'src."{c}"' for c in columns]
    checks = [f"+{src} IS CAST({src} AS INTEGER)" for src in sources]
    texts = [f"CASE WHEN {check} THEN NULL ELSE {_text_or_hex(src)} END"
             for src, check in zip(sources, checks, strict=True)]  # fmt: skip
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
