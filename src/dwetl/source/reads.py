"""Every read of a source goes through connectorx here, so that what connectorx cannot read
fails as an error its caller names, never as the end of the process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import connectorx as cx

if TYPE_CHECKING:
    import pyarrow as pa

    from dwetl.core.urls import DbUrl

T = TypeVar("T")


class UnreadableColumn(RuntimeError):
    """A column of a type connectorx has no reader for (PostgreSQL's `money`)."""


def read_arrow(url: DbUrl, query: str) -> pa.Table:
    """The rows of `query` on the source `url`, as Arrow.

    connectorx panics on a column type it has no reader for ("not implemented: money"), and a
    Rust panic reaches Python as a `BaseException`: past every `except Exception`, it ended the
    whole run with a traceback. It is raised as `UnreadableColumn` instead, which fails the
    entity whose query it was, saying what to do."""
    table: pa.Table = _unpanicked(
        lambda: cx.read_sql(url.connectorx_url, query, return_type="arrow")
    )
    return table


def read_arrow_batches(url: DbUrl, query: str, rows: int) -> Iterator[pa.RecordBatch | pa.Table]:
    """`read_arrow`'s rows in record batches of at most `rows` rows, each read as it is taken
    (at least one: an empty result is one empty table), so that a large read never holds
    all of its rows as Arrow beside what is made of them. The columns' types can differ from
    `read_arrow`'s (PostgreSQL's int4 and real come as int64 and double): a dialect streams
    only where they do not (`SourceDialect.streams`)."""
    reader = _unpanicked(
        lambda: cx.read_sql(url.connectorx_url, query, return_type="arrow_stream", batch_size=rows)
    )
    any_rows = False
    while (batch := _unpanicked(lambda: next(reader, None))) is not None:
        any_rows = True
        yield batch
    if not any_rows:
        yield reader.schema.empty_table()


def _unpanicked(read: Callable[[], T]) -> T:
    """`read()`, a panic of connectorx raised as `UnreadableColumn` (see `read_arrow`)."""
    try:
        return read()
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":  # pyo3's, not importable by name
            raise
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else "a panic"
        raise UnreadableColumn(
            f"connectorx cannot read a column of this query ({cause}): cast that column in "
            "the extract SQL to a type it reads (numeric, text)"
        ) from None
