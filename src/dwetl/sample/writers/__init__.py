"""Writers of a sample into a source database: one class per backend, picked by URL scheme.

Each writer drops and recreates the OLTP tables from `sql/source/oltp.sql` and the ground-truth
tables from `sql/source/sample_damage.sql` (the schema lives only there), then bulk-loads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dwetl.core.config import Settings
from dwetl.core.errors import UsageError
from dwetl.core.urls import DbUrl, parse_url
from dwetl.sample.writers.base import SourceWriter
from dwetl.sample.writers.mysql import MysqlWriter
from dwetl.sample.writers.postgresql import PostgresWriter
from dwetl.sample.writers.sqlite import SqliteWriter

if TYPE_CHECKING:
    from dwetl.sample import Sample

#: URL scheme -> writer class
WRITERS: dict[str, type[SourceWriter]] = {
    "sqlite": SqliteWriter,
    "postgresql": PostgresWriter,
    "mysql": MysqlWriter,
}


def writer_for(url: DbUrl | str, settings: Settings | None = None) -> SourceWriter:
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
    return cls(parsed, settings)


def write_sample(
    sample: Sample, url: DbUrl | str, settings: Settings | None = None
) -> dict[str, float]:
    """Write `sample` to the source at `url`; seconds per table."""
    return writer_for(url, settings).write(sample)


__all__ = ["WRITERS", "SourceWriter", "write_sample", "writer_for"]
