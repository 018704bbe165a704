"""The writers' public names in one place (`dwetl.sample.writers` holds one module per backend)."""

from __future__ import annotations

from dwetl.sample.writers import WRITERS, SourceWriter, write_sample, writer_for
from dwetl.sample.writers.base import source_schema_sql, table_names

__all__ = [
    "WRITERS",
    "SourceWriter",
    "source_schema_sql",
    "table_names",
    "write_sample",
    "writer_for",
]
