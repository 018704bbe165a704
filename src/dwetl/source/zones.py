"""A `timestamp with time zone` read from a source whose session is not on UTC.

dwetl reads such a column as UTC (`conform`) and keeps the watermark that way, but the source
compares the `:since` bound, a naive literal, with it in the session's `TimeZone`, and reads its
clock (`LOCALTIMESTAMP`) there: on a server on São Paulo time, a bound is read 3 hours later
than dwetl meant, and a change stamped in between is never read. dwetl's login on UTC
(`ALTER ROLE <login> SET timezone = 'UTC'`) makes the three agree.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

if TYPE_CHECKING:
    from dwetl.core.urls import DbUrl
    from dwetl.source.dialects import SourceDialect

log = logging.getLogger(__name__)


def is_utc(zone: str) -> bool:
    """Whether the zone named `zone` is UTC all year round (an unknown name is not).

    >>> is_utc("Etc/UTC"), is_utc("GMT"), is_utc("America/Sao_Paulo"), is_utc("Europe/London")
    (True, True, False, False)
    """
    try:
        info = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    year = datetime.now().year
    return all(not datetime(year, month, 1, tzinfo=info).utcoffset() for month in (1, 4, 7, 10))


def zoned_columns(schema: pa.Schema, names: list[str] | None = None) -> list[str]:
    """The columns of `schema` (of `names`, where given) that are timestamps with a time zone.

    >>> zoned_columns(pa.schema([("a", pa.timestamp("us", "UTC")), ("b", pa.timestamp("us"))]))
    ['a']
    """
    return [
        field.name
        for field in schema
        if pa.types.is_timestamp(field.type)
        and field.type.tz is not None
        and (names is None or field.name in names)
    ]


def zone_problem(columns: list[str], zone: str | None, login: str | None) -> str | None:
    """What to say where `columns` (timestamps with a time zone, compared with the watermark)
    come from a session on `zone`; None where nothing is wrong.

    >>> zone_problem(["atualizado_em"], "UTC", "etl") is None
    True
    """
    if not columns or zone is None or is_utc(zone):
        return None
    return (
        f"{', '.join(columns)} is a timestamp with time zone, which dwetl keeps in UTC, but the "
        f"source session's TimeZone is {zone}: an incremental run compares its bound in "
        f"{zone} and can miss rows stamped after it; put dwetl's login on UTC: ALTER ROLE "
        f"{login or '<login>'} SET timezone = 'UTC'"
    )


#: the (source, file, zone) a process has warned of
_warned: set[tuple[str, Path, str | None]] = set()
_guard = threading.Lock()


def warn_if_misread(
    dialect: SourceDialect, url: DbUrl, path: Path, schema: pa.Schema, stamp: str | None
) -> None:
    """Log, once per process, file and zone, where the watermark column `stamp` of `path`'s rows
    (`schema`, as read) is a timestamp with a time zone and the source's session is not on UTC
    (`zone_problem`). The session's zone is asked only where such a column was read."""
    zoned = zoned_columns(schema, [stamp] if stamp else [])
    if not zoned:
        return
    zone = dialect.session_zone(url)
    problem = zone_problem(zoned, zone, url.user)
    if problem is None:
        return
    with _guard:
        if (url.masked, path, zone) in _warned:
            return
        _warned.add((url.masked, path, zone))
    log.warning("%s: %s", path, problem)
