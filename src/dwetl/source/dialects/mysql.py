"""MariaDB/MySQL as a source."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from dwetl.source.dialects.base import _GuardedSource


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
