"""SQL Server as a source."""

from __future__ import annotations

from typing import ClassVar

from dwetl.source.dialects.base import SourceDialect


class MssqlSource(SourceDialect):
    """SQL Server: `SYSDATETIME()` is the server's local wall clock, as `GETDATE()` stamps a
    `datetime2` column."""

    scheme: ClassVar[str] = "mssql"
    sqlglot_dialect: ClassVar[str | None] = "tsql"
    clock_sql: ClassVar[str] = "SELECT SYSDATETIME() AS now"
