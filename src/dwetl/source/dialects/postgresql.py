"""PostgreSQL as a source."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import pyarrow as pa

from dwetl.core.urls import DbUrl
from dwetl.source.dialects.base import _GuardedSource, _naive
from dwetl.source.reads import read_arrow


class PostgresSource(_GuardedSource):
    """PostgreSQL: `LOCALTIMESTAMP` is the wall clock of the session's `TimeZone` (the server's
    `timezone` setting, or the database's or role's), what `now()` stores into a `timestamp`
    column; connectorx keeps that zone.

    connectorx reads every `numeric` as decimal128(38, 10), rounding the digits past the 10th
    decimal, and fails the whole query on a value of 7.93e18 or more: it goes through a 96-bit
    decimal, 28 digits of which the scale takes 10 (DESIGN says 28 integer digits; 1e20 fails).
    Such a value is read as its text instead (`scale()` and one comparison per value), so that
    a value with more decimals than the warehouse's scale is quarantined, not rounded, and a
    huge one is judged by `conform`, not the end of the entity."""

    scheme: ClassVar[str] = "postgresql"
    sqlglot_dialect: ClassVar[str | None] = "postgres"
    clock_sql: ClassVar[str] = "SELECT LOCALTIMESTAMP AS now, current_setting('TimeZone') AS zone"

    def clock_and_zone(self, url: DbUrl) -> tuple[datetime, str | None]:
        """The clock and the session's `TimeZone` (the server's, or the database's or login's
        setting), in one query."""
        table = read_arrow(url, self.clock_sql)
        return _naive(table.column(0)[0].as_py()), str(table.column(1)[0].as_py())

    def _guard(self, src: str, dtype: pa.DataType) -> str | None:
        if pa.types.is_decimal(dtype):
            return f"(scale({src}) > 10 OR abs({src}) >= 1e18)"
        return None
