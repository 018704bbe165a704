"""Extract: run an entity's SQL on the source, typed exactly as its transform expects.

    extract(spec, settings, watermark) -> Extracted(frame, watermark_to, legacy_decoded)

An incremental read starts at `since` = the stored watermark minus
`settings.watermark_overlap_seconds` (rows committed late are re-read; the merge on the natural
key absorbs them); a first or full run has no `since`. A file that uses the `:since` placeholder
filters itself: dwetl binds it to that timestamp literal, or to NULL on a full run. A file
without it is wrapped as `SELECT * FROM (<file>) src WHERE (src.atualizado_em > '<since>' OR
src.atualizado_em IS NULL)`.

An entity whose rows join several source tables (the facts) may be read in parts: one simple
query per table (`EntitySpec.extract_parts`, each checked against its own schema), joined in
Polars by the entity's pure `combine`; rows whose combined watermark column is not after
`since` are then left out. A part without `:since` is read whole on every run.

A large entity that declares a `batch_key` may be read in batches instead (`plan_batches`,
`extract_batches`): its first part (or its one file) in slices of key ranges, `WHERE
src.<batch_key> >= lo AND src.<batch_key> < hi` (equal widths over the keys the count saw
where they are dense, as on a full run; where they are sparse, as the changed rows of an
incremental run, cut at the keys' quantiles so that no batch holds most rows; the first also
NULL keys and the last open above), each combined with the other parts, read once
(with only the rows the batch joins, where the part declares its `batch_join`). Every version
of a key is in one batch, so folding versions and the key checks stay exact batch by batch; and
a range, unlike a key modulo P, lets the source read each batch from an index on the key: the
batches together read the rows once, not P times.

The columns must be exactly the transform's SOURCE_SCHEMA (a part's: its schema); values are
cast to it (decimals exact at the warehouse's scale, timestamps as timestamps). How each kind of
source is read lives in `dwetl.source.dialects`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
from sqlglot.errors import TokenError

from dwetl.core.config import Settings
from dwetl.core.connect import describe
from dwetl.core.errors import DwetlError, UsageError
from dwetl.core.sqltext import query_text
from dwetl.core.urls import DbUrl
from dwetl.entities.registry import source_schema
from dwetl.entities.spec import EntitySpec, ExtractPart
from dwetl.source.combine import combined
from dwetl.source.conform import check_columns, conform
from dwetl.source.dialects import (
    Partition,
    Schema,
    SourceDialect,
    bind_since,
    source_dialect,
    uses_since,
)
from dwetl.source.reads import read_arrow
from dwetl.source.zones import reading_zone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Extracted:
    """What one extract read: the rows, and the watermark to store once they are loaded."""

    frame: pl.DataFrame
    #: newest watermark-column value read, never after `clock`; the watermark given when
    #: nothing was read
    watermark_to: datetime | None
    #: distinct text values that were not UTF-8 and were decoded as cp1252/latin-1
    legacy_decoded: int = 0
    #: the source's clock when the extract began (`SourceDialect.clock`): the watermark's cap
    clock: datetime | None = None
    #: rows whose watermark column is after `clock` (dated in the future): loaded, and read
    #: again by every run until their time comes
    future: int = 0


def extract(
    spec: EntitySpec,
    settings: Settings,
    watermark: datetime | None,
    *,
    sql_dir: Path | None = None,
) -> Extracted:
    """Read `spec`'s rows changed after `watermark` (all rows when None) from the source."""
    reading = _prepare(spec, settings, watermark, sql_dir)
    if not reading.parts:
        (path, schema, sql), *_ = reading.files
        frame, legacy = _read(reading, path, sql, schema, spec.watermark_column)
    else:
        frames, legacy = [], 0
        for path, part_schema, sql in reading.files:
            part, decoded = _read(reading, path, sql, part_schema, None)
            frames.append(part)
            legacy += decoded
        frame = combined(spec, frames, reading.schema, reading.since)
    return _extracted(frame, spec.watermark_column, reading, legacy)


@dataclass(frozen=True)
class BatchPlan:
    """How to read an entity in key-range batches (`plan_batches`, then `extract_batches`):
    `count` ranges, between the `cuts`, over the span [`low`, `high`] of keys its counting
    query saw."""

    spec: EntitySpec
    low: int = 0  # the smallest and largest batch key the count saw (0 and 0: none)
    high: int = 0
    watermark: datetime | None = None
    reading: _Reading | None = field(default=None, repr=False)
    cuts: tuple[int, ...] = ()  # increasing keys: where one batch ends, the next begins
    #: the parts after the first: read once for every batch (`_Part`), or left for each batch
    #: to read for its own rows (`_Ranged`: a plan made `ranged`); and the legacy-decoded
    #: texts of those read once
    rest: tuple[_Part | _Ranged, ...] = field(default=(), repr=False)
    rest_legacy: int = 0

    @property
    def count(self) -> int:
        """How many batches (1: read it in one `extract`)."""
        return len(self.cuts) + 1

    @property
    def partitions(self) -> list[Partition]:
        """The batches' key ranges."""
        assert self.spec.batch_key is not None
        return Partition.between(self.spec.batch_key, list(self.cuts))


def plan_batches(
    spec: EntitySpec,
    settings: Settings,
    watermark: datetime | None,
    batch_rows: int,
    *,
    sql_dir: Path | None = None,
    ranged: bool = False,
) -> BatchPlan:
    """In how many key-range batches to read `spec` (`extract_batches`): the rows its batched
    query (the first part, or the one file) returns, over `batch_rows`, rounded to the nearest
    (batches of about `batch_rows`, never more than 1.5 times it: 1,008,000 rows under the
    default 1,000,000 stay one read rather than two half batches plus a staging pass); 1 (one
    read, `extract`) for an entity without `batch_key` or when `batch_rows` is 0. One query
    counts the rows and finds the span of their keys, which the batches split; the other parts
    are read meanwhile, once, and kept in the plan for every batch.

    `ranged` (the Spark engine, whose tasks read the batches elsewhere): where there is more
    than one batch, a part with a `batch_join` on an integer column is not read here; each
    batch reads it for the span of its own rows' `batch_join` values (`_Ranged`), so that the
    plan holds no rows that grow with the entity. The batches' rows are the same.

    >>> [_batches(rows, 1000) for rows in (0, 1008, 1499, 1500, 5000)]
    [1, 1, 1, 2, 5]
    """
    if spec.batch_key is None or batch_rows <= 0:
        return BatchPlan(spec, watermark=watermark)
    reading = _prepare(spec, settings, watermark, sql_dir)
    path, schema, _ = reading.files[0]
    _check_batch_key(spec.batch_key, schema, path)
    # where `ranged`, the parts each batch may read for its own rows (`_Ranged`), by position
    # in the files; read here after all if the rows come to one batch
    deferred = {
        at: join
        for at, join in enumerate(_joins(spec, reading), 1)
        if ranged and join is not None and reading.files[at][1][join].is_integer()
    }

    def read_part(at: int) -> tuple[pl.DataFrame, int]:
        path, schema, sql = reading.files[at]
        return _read(reading, path, sql, schema, None)

    # The parts read once (fact_vendas' order headers; fact_descontos' items and orders) are
    # read while the rows are counted, each on a thread of its own: none needs another, and
    # the run's loading thread is often idle then, waiting for this entity's first batch
    # (connectorx leaves Python's lock while it reads).
    with ThreadPoolExecutor(max(1, len(reading.files) - 1), "dwetl-parts") as pool:
        parts = {
            at: pool.submit(read_part, at)
            for at in range(1, len(reading.files))
            if at not in deferred
        }
        rows, low, high = _count(spec, spec.batch_key, reading)
        count = _batches(rows, batch_rows)
        if count == 1:
            cuts = []
            parts |= {at: pool.submit(read_part, at) for at in deferred}
            deferred = {}
        elif high - low + 1 <= 2 * rows:  # dense keys (a full run): equal widths, equal rows
            cuts = Partition.even_cuts(low, high, count)
        else:  # sparse (an incremental run's changed rows may cluster): the keys' quantiles
            cuts = _quantile_cuts(_keys(spec, spec.batch_key, reading), count)
        read_parts = {at: part.result() for at, part in parts.items()}
    legacy = sum(decoded for _, decoded in read_parts.values())
    # each batch takes only the rows of a part that it joins (where the part declares its
    # `batch_join`); one batch takes them all, as `extract` does
    joins = _joins(spec, reading) if count > 1 else [None] * (len(reading.files) - 1)
    rest = tuple(
        _Ranged(at, deferred[at]) if at in deferred else _Part.of(read_parts[at][0], join)
        for at, join in enumerate(joins, 1)
    )
    return BatchPlan(spec, low, high, watermark, reading, tuple(cuts), rest, legacy)


def _joins(spec: EntitySpec, reading: _Reading) -> list[str | None]:
    """The `batch_join` of each part after the first (None for each file of an entity read in
    one file: there are none)."""
    if not reading.parts:
        return [None] * (len(reading.files) - 1)
    return [p.batch_join for p in spec.extract_parts[1:]]


def _batched_query(
    spec: EntitySpec, reading: _Reading
) -> tuple[Path, str, str | None, datetime | None]:
    """The batched query (the first file) with `:since` bound: its path, text, and the
    watermark filter still to wrap it with (column and bound; None where it filters itself)."""
    path, _, sql = reading.files[0]
    column = None if reading.parts else spec.watermark_column
    return (path, *_bound(reading.dialect, path, sql, column, reading.since))


def _ask(reading: _Reading, path: Path, query: str, doing: str) -> pa.Table:
    """A query about the batched query in `path`, read by connectorx; a failure is a DwetlError
    naming the file and what it was `doing`."""
    try:
        return read_arrow(reading.url, query)
    except Exception as exc:
        raise DwetlError(
            f"{path}: the source {reading.url.masked} failed to {doing}: {describe(exc)}"
        ) from None


def _batches(rows: int, batch_rows: int) -> int:
    return max(1, (2 * rows + batch_rows) // (2 * batch_rows))  # rounded half up


def _quantile_cuts(keys: pl.Series, batches: int) -> list[int]:
    """Increasing keys that cut `keys` into `batches` parts of about as many rows (fewer parts
    where one key has many rows: every row of a key stays in one part).

    >>> _quantile_cuts(pl.Series([1, 1000, 1001, 1002, 1003, 1004, 5000, 5001]), 4)
    [1001, 1003, 5000]
    >>> _quantile_cuts(pl.Series([7, 7, 7, 7, 9, 10]), 3)  # 7's four rows stay together
    [9]
    """
    ordered = keys.sort()
    at = [ordered[len(ordered) * k // batches] for k in range(1, batches)]
    first = ordered[0]
    return sorted({int(c) for c in at if c != first})


def _keys(spec: EntitySpec, key: str, reading: _Reading) -> pl.Series:
    """Every key the batched query returns (one integer column: cheap next to its rows)."""
    path, sql, column, since = _batched_query(spec, reading)
    query = reading.dialect.keys_query(sql, key, column, since)
    table = _ask(reading, path, query, "read its keys")
    return pl.Series("k", table.column(0)).cast(pl.Int64)


def _count(spec: EntitySpec, key: str, reading: _Reading) -> tuple[int, int, int]:
    """The rows of the batched query and the span of their keys: (rows, low, high)."""
    path, sql, column, since = _batched_query(spec, reading)
    query = reading.dialect.count_query(sql, key, column, since)
    table = _ask(reading, path, query, "count its rows")
    rows, low, high = (table.column(i)[0].as_py() or 0 for i in range(3))
    if not all(isinstance(v, int | float) for v in (low, high)):
        # a key stored as text (SQLite keeps what it is given): the span is the numbers'
        # (asked only then: a CASE on every key made a full run's count 1.5x as long)
        query = reading.dialect.count_query(sql, key, column, since, numbers_only=True)
        table = _ask(reading, path, query, "count its rows")
        rows, low, high = (table.column(i)[0].as_py() or 0 for i in range(3))
    return int(rows), int(low), int(high)


def extract_batches(plan: BatchPlan) -> Iterator[Extracted]:
    """`extract` in `plan.count` reads (`plan_batches`), one `Extracted` each, lazily: batch k
    holds the rows of the batched query whose `batch_key` is in the k-th of the plan's key
    ranges (`BatchPlan.partitions`; the first also below the span and NULL, the last also above
    it) — every version of a key in one batch — combined with the other parts, which the plan
    read once (the first batch counts their legacy-decoded texts). Together the batches hold
    `extract`'s rows.
    """
    for number in range(plan.count):
        # yielded straight from the call: no local name keeps a batch alive while the caller
        # works on it
        yield extract_batch(plan, number)


def extract_batch(plan: BatchPlan, number: int) -> Extracted:
    """Batch `number` (from 0) of `extract_batches`, on its own: what a Spark task reads
    (`dwetl.run.spark.tasks`)."""
    spec, reading = plan.spec, plan.reading
    if spec.batch_key is None or reading is None:
        raise DwetlError(f"{spec.name}: no batch_key, it cannot be read in batches")
    legacy = plan.rest_legacy if number == 0 else 0
    return _batch(spec, reading, plan.partitions[number], plan.rest, legacy)


def _batch(
    spec: EntitySpec,
    reading: _Reading,
    partition: Partition,
    rest: Sequence[_Part | _Ranged],
    legacy: int,
) -> Extracted:
    """One batch of `extract_batches`: its slice of the first file, combined with the rows of
    the other parts it joins."""
    (path, schema, sql), *_ = reading.files
    column = None if reading.parts else spec.watermark_column
    frame, decoded = _read(reading, path, sql, schema, column, partition)
    if reading.parts:
        joined = []
        for part in rest:
            if isinstance(part, _Ranged):
                rows, part_decoded = part.rows_for(frame, reading)
                decoded += part_decoded
            else:
                rows = part.rows_for(frame)
            joined.append(rows)
        frame = combined(spec, [frame, *joined], reading.schema, reading.since)
    return _extracted(frame, spec.watermark_column, reading, legacy + decoded)


@dataclass(frozen=True)
class _Part:
    """A part read once for every batch; with `join`, sorted on it, so that a batch takes the
    rows it joins by binary search (never a pass over every row, per batch)."""

    frame: pl.DataFrame
    join: str | None = None

    @classmethod
    def of(cls, frame: pl.DataFrame, join: str | None) -> _Part:
        """The part, sorted on `join` (rows whose `join` is NULL join nothing: left out)."""
        if join is None:
            return cls(frame)
        # a source usually returns a part in its key order (a table read by its primary key):
        # then neither step copies its columns (20M items' 6.7M order headers: the sort took
        # 0.43 s and 0.4 GB more while the plan was read)
        keys = frame.get_column(join)
        if keys.null_count():
            frame = frame.filter(keys.is_not_null())
        if not frame.get_column(join).is_sorted():
            frame = frame.sort(join)
        return cls(frame, join)

    def rows_for(self, batch: pl.DataFrame) -> pl.DataFrame:
        """The rows whose `join` value is one `batch` holds in that column (all, without join).

        >>> part = _Part.of(pl.DataFrame({"k": [3, 1, 3, None, 2], "v": list("abcde")}), "k")
        >>> part.rows_for(pl.DataFrame({"k": [3, 9, None, 3]})).rows()
        [(3, 'a'), (3, 'c')]
        """
        if self.join is None:
            return self.frame
        keys = self.frame.get_column(self.join)
        wanted = batch.get_column(self.join).drop_nulls().unique().sort().cast(keys.dtype)
        first = keys.search_sorted(wanted, side="left")
        after = keys.search_sorted(wanted, side="right")
        at = pl.select(pl.int_ranges(first, after, dtype=pl.Int64)).to_series()
        return self.frame[at.explode().drop_nulls()]


@dataclass(frozen=True)
class _Ranged:
    """A part that each batch reads for itself (`plan_batches`'s `ranged`): the rows whose
    `join` value lies between the smallest and the largest of the batch's (one range: an
    index range scan on a source that indexes the column; the batch's rows of one key range
    join a narrow span of it where the source numbers them in the same order, as order items
    and their orders), of which the batch then takes those it joins (`_Part.rows_for`)."""

    at: int  # the part's position in the reading's files
    join: str

    def rows_for(self, batch: pl.DataFrame, reading: _Reading) -> tuple[pl.DataFrame, int]:
        """The part's rows that `batch` joins, and its legacy-decoded texts."""
        path, schema, sql = reading.files[self.at]
        keys = batch.get_column(self.join).drop_nulls()
        # no key: an empty range, so that the part's columns still come typed from its query
        low, high = (int(keys.min()), int(keys.max()) + 1) if keys.len() else (0, 0)  # type: ignore[arg-type]
        span = Partition(self.join, low, high)
        frame, legacy = _read(reading, path, sql, schema, None, span)
        return _Part.of(frame, self.join).rows_for(batch), legacy


@dataclass(frozen=True)
class _Reading:
    """What an entity's extract reads: the files (path, schema, text), how and from where."""

    dialect: SourceDialect
    url: DbUrl
    files: list[tuple[Path, Schema, str]]
    parts: bool  # read in parts, joined by the entity's `combine`
    schema: Schema  # the entity's SOURCE_SCHEMA
    since: datetime | None
    clock: datetime  # the source's clock before the first read
    watermark: datetime | None  # the stored watermark, never after `clock`
    stamp: str | None = None  # the entity's watermark column
    zone: str | None = None  # the source session's zone (`SourceDialect.clock_and_zone`)


def _prepare(
    spec: EntitySpec, settings: Settings, watermark: datetime | None, sql_dir: Path | None
) -> _Reading:
    folder = sql_dir or settings.sql_dir
    schema = source_schema(spec)
    parts = parts_to_read(spec, folder)
    files = {folder / p.sql: p.schema for p in parts} or {_single(spec, folder): schema}
    texts = [read_extract_sql(path) for path in files]
    url = settings.source
    try:
        dialect = source_dialect(url.scheme)
    except KeyError:
        raise UsageError(f"source {url.masked}: dwetl cannot read a {url.scheme} source") from None
    clock, zone = _clock(dialect, url)
    since = None
    if watermark is not None:
        if watermark > clock:
            log.warning(
                "%s: the stored watermark %s is after the source's clock %s (a row dated in "
                "the future set it, before dwetl capped the watermark): read from the clock "
                "on; rows it hid meanwhile are read by a --full run",
                spec.name, watermark, clock,
            )  # fmt: skip
            watermark = clock
        since = watermark - timedelta(seconds=settings.watermark_overlap_seconds)
    read = [(path, part, sql) for (path, part), sql in zip(files.items(), texts, strict=True)]
    stamp = spec.watermark_column
    return _Reading(dialect, url, read, bool(parts), schema, since, clock, watermark, stamp, zone)


def _clock(dialect: SourceDialect, url: DbUrl) -> tuple[datetime, str | None]:
    """The source's clock and session zone (`SourceDialect.clock_and_zone`); a failure is a
    DwetlError naming the source."""
    try:
        return dialect.clock_and_zone(url)
    except Exception as exc:
        raise DwetlError(f"source {url.masked}: cannot read its clock: {describe(exc)}") from None


def _check_batch_key(column: str, schema: Schema, path: Path) -> None:
    dtype = schema.get(column)
    if dtype is None or not dtype.is_integer():
        raise DwetlError(
            f"{path}: batch key {column} must be an integer column of this query "
            f"(it is {'missing' if dtype is None else dtype})"
        )


def parts_to_read(spec: EntitySpec, folder: Path) -> tuple[ExtractPart, ...]:
    """The parts of `spec` to read from `folder`; none: read its one file.

    An entity read in parts whose folder has none of its parts but has `<entity>.sql` (a folder
    written before the entity was split) reads that one file, as before.
    """
    written_before = not any((folder / p.sql).is_file() for p in spec.extract_parts)
    return () if written_before and _single(spec, folder).is_file() else spec.extract_parts


def _single(spec: EntitySpec, folder: Path) -> Path:
    return folder / (spec.extract_sql or f"{spec.name}.sql")


def _bound(
    dialect: SourceDialect,
    path: Path,
    sql: str,
    watermark_column: str | None,
    since: datetime | None,
) -> tuple[str, str | None, datetime | None]:
    """A query using `:since` gets it bound and no wrapping filter; any other keeps both. The
    placeholder is found by the source dialect's SQL tokenizer (never in a comment or a string
    literal); a file it cannot read is a UsageError naming it."""
    where = dialect.sqlglot_dialect
    try:
        if uses_since(sql, where):
            return bind_since(sql, since, where), None, None
    except TokenError as exc:
        raise UsageError(f"{path}: cannot be read as {where or 'SQL'}: {exc}") from None
    return sql, watermark_column, since


def _read(
    reading: _Reading,
    path: Path,
    sql: str,
    schema: Schema,
    watermark_column: str | None,
    partition: Partition | None = None,
) -> tuple[pl.DataFrame, int]:
    """One file's rows, typed as `schema`; `watermark_column`: wrap it with the filter;
    `partition`: only that batch's rows. A timestamp with a time zone is read as the wall time
    of the source session's zone (`dwetl.source.zones`)."""
    dialect, url = reading.dialect, reading.url
    sql, watermark_column, since = _bound(dialect, path, sql, watermark_column, reading.since)
    try:
        columns = dialect.output_columns(url, sql)
    except Exception as exc:
        raise DwetlError(f"{path}: the source rejected the query: {describe(exc)}") from None
    if columns is not None:
        check_columns(columns, schema, path)
    query = dialect.query(sql, schema, watermark_column, since, partition)
    try:
        table = read_arrow(url, query)
    except Exception as exc:
        raise DwetlError(
            f"{path}: the source {url.masked} failed the query: {describe(exc)}"
        ) from None
    zone = reading_zone(reading.zone, url, path, table.schema, reading.stamp)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    frame, legacy = dialect.restore(frame, schema)
    if columns is None:
        check_columns(frame.columns, schema, path)
    return conform(frame, schema, zone), legacy


def read_extract_sql(path: Path) -> str:
    """The text of an extract file; a missing or empty file is a UsageError naming it."""
    try:
        sql = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"extract file {path} not found (the folder is set by --sql-dir, DWETL_SQL_DIR "
            "or [extract] sql_dir in dwetl.toml)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"extract file {path} cannot be read: {exc}") from None
    if not query_text(sql):
        raise UsageError(f"extract file {path} is empty")
    return sql


def _extracted(
    frame: pl.DataFrame, column: str | None, reading: _Reading, legacy: int
) -> Extracted:
    """The rows read, with the watermark to store after them: the newest stamp read, never
    after the source's clock at the start of the extract nor before the stored watermark; and
    how many rows are dated after that clock (they stay after the watermark: the next runs read
    them again, and the merge leaves them as they are, until their time comes)."""
    watermark, clock = reading.watermark, reading.clock
    if column is None or column not in frame.columns or frame.height == 0:
        return Extracted(frame, watermark, legacy, clock)
    stamps = frame.get_column(column)
    newest = stamps.max()
    if not isinstance(newest, datetime):
        return Extracted(frame, watermark, legacy, clock)
    future = int((stamps > clock).sum())
    newest = min(newest, clock)
    if watermark is not None and watermark > newest:
        newest = watermark
    return Extracted(frame, newest, legacy, clock, future)
