"""The PostgreSQL source writer: COPY ... FROM STDIN (FORMAT csv) through psycopg 3."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import psycopg

from dwetl.core.errors import DwetlError
from dwetl.sample.writers import marker
from dwetl.sample.writers.base import (
    SourceWriter,
    chunks,
    csv_ready,
    output_frames,
    source_indexes,
    table_names,
    transpiled_schema,
)

if TYPE_CHECKING:
    from dwetl.sample import Sample

# Every table and view a user can have made, in any schema; those of the schema the sample
# writes to (the first of the search path) by their bare name.
_TABLES = """
SELECT CASE WHEN n.nspname = current_schema() THEN c.relname
            ELSE n.nspname || '.' || c.relname END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
ORDER BY 1
"""


class PostgresWriter(SourceWriter):
    """One transaction: drop, create, COPY every table. A missing database is created first.

    A UTF8 database cannot hold invalid UTF-8, so there is no `codificacao_legada` here.
    """

    legacy_bytes = False

    def _conninfo(self, database: str | None = None) -> dict[str, object]:
        u = self.url
        return {
            **dict(u.query),  # libpq's own options: passfile, sslmode, ...
            "host": u.host,
            "port": u.port,
            "user": u.user,
            "password": u.password,
            "dbname": database or u.database,
            "connect_timeout": 10,
        }

    def _ensure_database(self) -> None:
        try:
            psycopg.connect(**self._conninfo(), autocommit=True).close()  # type: ignore[arg-type]
            return
        except psycopg.OperationalError as exc:
            if "does not exist" not in str(exc):
                return  # unreachable: the retrying connect below reports it
        with psycopg.connect(**self._conninfo("postgres"), autocommit=True) as admin:  # type: ignore[arg-type]
            admin.execute(f'CREATE DATABASE "{self.url.database}"')

    def write(self, sample: Sample) -> dict[str, float]:
        self._ensure_database()
        conn = self.connect_with_retry(lambda: psycopg.connect(**self._conninfo()))  # type: ignore[arg-type]
        seconds: dict[str, float] = {}
        try:
            with conn.transaction(), conn.cursor() as cur:
                ddl = transpiled_schema("postgres")
                tables = table_names(";\n".join(ddl))
                existing = [r[0] for r in cur.execute(_TABLES).fetchall()]
                marks = []
                if marker.MARKER_TABLE in existing:
                    marks = [str(r[0]) for r in cur.execute(marker.MARKER_READ).fetchall()]
                marker.refuse_unless_ours(self.url, existing, tables, marks)
                cur.execute(marker.MARKER_DDL)
                for statement in marker.MARKER_WRITES:
                    cur.execute(statement)
                for name in tables:
                    cur.execute(f"DROP TABLE IF EXISTS {name}")
                for statement in ddl:
                    cur.execute(statement)
                for name, frame in output_frames(sample).items():
                    start = time.perf_counter()
                    columns = ", ".join(frame.columns)
                    with cur.copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                        for _, chunk in chunks(frame):
                            copy.write(csv_ready(chunk).write_csv(include_header=False))
                    seconds[name] = time.perf_counter() - start
                start = time.perf_counter()
                for statement in source_indexes():
                    cur.execute(statement)
                # the statistics a live database has, for the planner to use those indexes
                cur.execute(f"ANALYZE {', '.join(tables)}")
                seconds["indexes"] = time.perf_counter() - start
        except psycopg.Error as exc:
            raise DwetlError(
                f"source {self.url.masked}: writing the sample failed: {exc}".splitlines()[0]
            ) from None
        finally:
            conn.close()
        return seconds
