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

from collections.abc import Callable

from dwetl.source.dialects.base import (
    DECIMAL_TEXT,
    SENTINEL,
    SINCE,
    Partition,
    Schema,
    SourceDialect,
    bind_since,
    since_spans,
    uses_since,
    watermark_literal,
)
from dwetl.source.dialects.legacy_text import decode_legacy_text
from dwetl.source.dialects.mssql import MssqlSource
from dwetl.source.dialects.mysql import MysqlSource
from dwetl.source.dialects.postgresql import PostgresSource
from dwetl.source.dialects.sqlite import (
    INTEGER_TEXT,
    SqliteSource,
    decimal_text,
    sqlite_decimal,
    sqlite_integer,
)

__all__ = [
    "DECIMAL_TEXT",
    "INTEGER_TEXT",
    "SENTINEL",
    "SINCE",
    "MssqlSource",
    "MysqlSource",
    "Partition",
    "PostgresSource",
    "Schema",
    "SourceDialect",
    "SqliteSource",
    "bind_since",
    "decimal_text",
    "decode_legacy_text",
    "since_spans",
    "source_dialect",
    "sqlite_decimal",
    "sqlite_integer",
    "uses_since",
    "watermark_literal",
]

_DIALECTS: dict[str, Callable[[], SourceDialect]] = {
    "sqlite": SqliteSource,
    "postgresql": PostgresSource,
    "mysql": MysqlSource,
    "mssql": MssqlSource,
}


def source_dialect(scheme: str) -> SourceDialect:
    """The reader for a source URL's scheme ("sqlite", "postgresql", "mysql", "mssql")."""
    return _DIALECTS[scheme]()
