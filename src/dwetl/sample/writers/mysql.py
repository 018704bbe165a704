"""The MariaDB/MySQL source writer: LOAD DATA LOCAL INFILE from CSV files, through pymysql."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pymysql

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

_LOAD = (
    "LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 "
    "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '\\\\' "
    "LINES TERMINATED BY '\\n' ({columns})"
)


class MysqlWriter(SourceWriter):
    """Drop, create (utf8mb4), then LOAD DATA every table; a missing database is created.

    Text is stored as UTF-8: a latin1 column could not hold mojibake such as `Ã‚` (U+201A)
    exactly, so `codificacao_legada` is not produced here (mojibake stands for it).
    """

    legacy_bytes = False

    def _connect(self, database: str | None) -> Any:
        u = self.url
        return pymysql.connect(
            host=u.host or "127.0.0.1",
            port=u.port or 3306,
            user=u.user or "root",
            password=u.password or "",
            database=database,
            charset="utf8mb4",
            local_infile=True,
            connect_timeout=10,
            autocommit=True,
        )

    def write(self, sample: Sample) -> dict[str, float]:
        conn = self.connect_with_retry(lambda: self._connect(None))
        seconds: dict[str, float] = {}
        try:
            with conn.cursor() as cur, tempfile.TemporaryDirectory() as tmp:
                db = self.url.database
                cur.execute(
                    f"CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4 "
                    "COLLATE utf8mb4_bin"
                )
                cur.execute(f"USE `{db}`")
                ddl = transpiled_schema("mysql")
                tables = table_names(";\n".join(ddl))
                cur.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = DATABASE() ORDER BY 1"
                )
                existing = [str(r[0]) for r in cur.fetchall()]
                marks = []
                if marker.MARKER_TABLE in existing:
                    cur.execute(marker.MARKER_READ)
                    marks = [str(r[0]) for r in cur.fetchall()]
                marker.refuse_unless_ours(self.url, existing, tables, marks)
                # the mark is committed before anything is dropped (DDL commits on MariaDB)
                cur.execute(marker.MARKER_DDL)
                for statement in marker.MARKER_WRITES:
                    cur.execute(statement)
                for name in tables:
                    cur.execute(f"DROP TABLE IF EXISTS {name}")
                for statement in ddl:
                    cur.execute(statement)
                for name, frame in output_frames(sample).items():
                    start = time.perf_counter()
                    sql = _LOAD.format(table=name, columns=", ".join(frame.columns))
                    for i, chunk in chunks(frame):
                        path = Path(tmp) / f"{name}_{i}.csv"
                        csv_ready(chunk).write_csv(path, include_header=False, null_value="\\N")
                        cur.execute(sql, (str(path),))
                    seconds[name] = time.perf_counter() - start
                start = time.perf_counter()
                for statement in source_indexes():
                    cur.execute(statement)
                seconds["indexes"] = time.perf_counter() - start
        except pymysql.MySQLError as exc:
            raise DwetlError(
                f"source {self.url.masked}: writing the sample failed: {exc}"
            ) from None
        finally:
            conn.close()
        return seconds
