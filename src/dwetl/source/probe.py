"""Reachability of the source database: one short query per scheme, with the native driver."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from dwetl.core.config import Settings
from dwetl.core.connect import with_retry
from dwetl.core.errors import CannotConnect, ConnectionFailed, UsageError
from dwetl.core.urls import DbUrl, missing_file

_TIMEOUT_S = 10
MISSING_SOURCE = "create it with `dwetl sample`, or point --source / DWETL_SOURCE_URL at the ERP"


ProbeStatus = Literal["reachable", "not found", "unreachable", "refused"]


@dataclass(frozen=True)
class Probe:
    """How reaching one database went."""

    status: ProbeStatus
    seconds: float | None
    detail: str = ""


def _sqlite(url: DbUrl) -> None:
    assert url.path is not None
    if not url.path.is_file():
        raise UsageError(missing_file("source", url, MISSING_SOURCE))
    with sqlite3.connect(f"file:{url.path}?mode=ro", uri=True, timeout=_TIMEOUT_S) as con:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    con.close()


def _duckdb(url: DbUrl) -> None:
    import duckdb

    from dwetl.warehouse.duckdb import NO_EXTENSIONS

    duckdb.connect(str(url.path), read_only=True, config=NO_EXTENSIONS).close()


def _postgresql(url: DbUrl) -> None:
    from dwetl.warehouse.postgresql import PostgreSQLWarehouse

    PostgreSQLWarehouse.connect(url).close()


def _mysql(url: DbUrl) -> None:
    import pymysql

    pymysql.connect(
        host=url.host,
        port=url.port or 3306,
        user=url.user or "root",
        password=url.password or "",
        database=url.database,
        connect_timeout=_TIMEOUT_S,
    ).close()


def _mssql(url: DbUrl) -> None:
    from dwetl.source.reads import read_arrow

    read_arrow(url, "SELECT 1 AS ok")


#: scheme -> a function that connects once and raises when it cannot
PROBES: dict[str, Callable[[DbUrl], None]] = {
    "sqlite": _sqlite,
    "duckdb": _duckdb,
    "postgresql": _postgresql,
    "mysql": _mysql,
    "mssql": _mssql,
}


def probe_source(settings: Settings) -> Probe:
    """Connect to the source with retries; a missing embedded file is "not found", not an error;
    a source that refuses for good (`CannotConnect`) is "refused", at the first attempt."""
    url = settings.source
    if url.path is not None and not url.path.is_file():
        return Probe("not found", None, f"{url.path} does not exist yet; dwetl sample creates it")
    try:
        seconds = reach_source(settings)
    except ConnectionFailed as exc:
        return Probe("unreachable", None, str(exc))
    except CannotConnect as exc:
        return Probe("refused", None, str(exc))
    return Probe("reachable", seconds)


def reach_source(settings: Settings) -> float:
    """Seconds to reach the source with the settings' retries; ConnectionFailed when it never
    answers, a UsageError (exit 2) when it cannot be opened as configured (a missing file, no
    such database, a wrong password: not retried). The native driver's probe, not connectorx:
    its pool retries a refused connection for 30 s and logs every try on stderr."""
    url = settings.source
    _, seconds = with_retry(
        lambda: PROBES[url.scheme](url),
        what="source",
        url=url,
        attempts=settings.connect_attempts,
        backoff_s=settings.connect_backoff_seconds,
        backoff_max_s=settings.connect_backoff_max_seconds,
    )
    return seconds
