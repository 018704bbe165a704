"""Every read of a source goes through connectorx here, so that what connectorx cannot read
fails as an error its caller names, never as the end of the process."""

from __future__ import annotations

from typing import TYPE_CHECKING

import connectorx as cx

if TYPE_CHECKING:
    import pyarrow as pa

    from dwetl.core.urls import DbUrl


class UnreadableColumn(RuntimeError):
    """A column of a type connectorx has no reader for (PostgreSQL's `money`)."""


def read_arrow(url: DbUrl, query: str) -> pa.Table:
    """The rows of `query` on the source `url`, as Arrow.

    connectorx panics on a column type it has no reader for ("not implemented: money"), and a
    Rust panic reaches Python as a `BaseException`: past every `except Exception`, it ended the
    whole run with a traceback. It is raised as `UnreadableColumn` instead, which fails the
    entity whose query it was, saying what to do."""
    try:
        table: pa.Table = cx.read_sql(url.connectorx_url, query, return_type="arrow")
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":  # pyo3's, not importable by name
            raise
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else "a panic"
        raise UnreadableColumn(
            f"connectorx cannot read a column of this query ({cause}): cast that column in "
            "the extract SQL to a type it reads (numeric, text)"
        ) from None
    return table
