"""One small interface per warehouse dialect (DuckDB, PostgreSQL): see `base.Warehouse`."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from dwetl.core.errors import UsageError

if TYPE_CHECKING:
    from dwetl.core.config import Settings
    from dwetl.core.urls import DbUrl
    from dwetl.warehouse.base import Warehouse


def _duckdb() -> type[Warehouse]:
    from dwetl.warehouse.duckdb import DuckDBWarehouse

    return DuckDBWarehouse


def _postgresql() -> type[Warehouse]:
    from dwetl.warehouse.postgresql import PostgreSQLWarehouse

    return PostgreSQLWarehouse


#: URL scheme -> the dialect class (imported lazily: a DuckDB user needs no psycopg and back)
DIALECTS = {"duckdb": _duckdb, "postgresql": _postgresql}


def warehouse_class(url: DbUrl) -> type[Warehouse]:
    """The Warehouse implementation for `url`, or a UsageError naming the supported schemes."""
    loader = DIALECTS.get(url.scheme)
    if loader is None:
        raise UsageError(
            f"{url.masked}: {url.scheme} is not supported as the warehouse "
            f"(supported: {', '.join(sorted(DIALECTS))})"
        )
    return loader()


def require_existing(url: DbUrl) -> None:
    """UsageError where `url` names no warehouse yet and that shows without connecting: a
    command that writes an initialised warehouse (`run`, `rollout`) must not create an empty
    one (a mistyped path) and then say it lacks its control tables."""
    why = warehouse_class(url).missing(url)
    if why is not None:
        raise UsageError(why)


def write_lock(settings: Settings) -> AbstractContextManager[None]:
    """The warehouse's write lock for a command that writes it (`Warehouse.write_lock`), with
    the settings' lock timeout."""
    return warehouse_class(settings.dw).write_lock(settings.dw, settings.lock_timeout_seconds)


def open_warehouse(url: DbUrl, settings: Settings, *, read_only: bool = False) -> Warehouse:
    """Connect to the warehouse at `url`, retrying with backoff per `settings`; `read_only`
    for a command that only reads (a DuckDB file must exist, and is opened read-only).

    The seconds the connection took are kept in `.connect_seconds`.
    """
    from dwetl.core.connect import with_retry

    cls = warehouse_class(url)
    wh, seconds = with_retry(
        lambda: cls.connect(url, read_only=read_only),
        what="warehouse",
        url=url,
        attempts=settings.connect_attempts,
        backoff_s=settings.connect_backoff_seconds,
        backoff_max_s=settings.connect_backoff_max_seconds,
    )
    wh.connect_seconds = seconds
    return wh
