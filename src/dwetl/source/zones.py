"""A `timestamp with time zone` column is read as the wall time of the source session's zone.

A PostgreSQL source compares the incremental bound, a naive literal, with such a column in its
session's `TimeZone`, and reads its clock (`LOCALTIMESTAMP`) there. So dwetl reads the column's
instants as that zone's wall time too: the watermark, the clock and the bound then agree, as for
a naive column stamped by the ERP's clock, and a sale's day is the session's day. Read as UTC, on
a server on São Paulo time, a bound was compared 3 hours late, and a change stamped in between was
never read.

Where the session's zone is not one dwetl can convert to (a POSIX string rather than a zone
name), the column is read as UTC and a run warns: put dwetl's login on UTC
(`ALTER ROLE <login> SET timezone = 'UTC'`).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from dwetl.core.urls import DbUrl

log = logging.getLogger(__name__)

UTC = "UTC"


def known(zone: str) -> bool:
    """Whether `zone` names a zone of the IANA database (what dwetl can convert to).

    >>> known("America/Sao_Paulo"), known("Etc/UTC"), known("<-03>+03"), known("Mars/Base")
    (True, True, False, False)
    """
    # imported here: only a source with zoned columns asks, and every run imports this module
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def is_utc(zone: str) -> bool:
    """Whether the zone named `zone` is UTC all year round (an unknown name is not).

    >>> is_utc("Etc/UTC"), is_utc("GMT"), is_utc("America/Sao_Paulo"), is_utc("Europe/London")
    (True, True, False, False)
    """
    if not known(zone):
        return False
    from zoneinfo import ZoneInfo

    info = ZoneInfo(zone)
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


def readable(zone: str | None) -> str:
    """The zone dwetl reads a session's zoned timestamps in: the session's `zone` where dwetl
    can convert to it, else UTC.

    >>> readable("America/Sao_Paulo"), readable("<-03>+03"), readable(None)
    ('America/Sao_Paulo', 'UTC', 'UTC')
    """
    return zone if zone is not None and known(zone) else UTC


def unusable_zone(columns: list[str], zone: str | None, login: str | None) -> str | None:
    """What to say where `columns` (timestamps with a time zone, compared with the watermark)
    come from a session on `zone`, which dwetl cannot read them in; None where it can.

    >>> unusable_zone(["atualizado_em"], "America/Sao_Paulo", "etl") is None
    True
    """
    if not columns or zone is None or known(zone):
        return None
    return (
        f"{', '.join(columns)} is a timestamp with time zone, but the source session's TimeZone "
        f"{zone!r} names no zone dwetl can read it in, so it is read as UTC while the source "
        f"compares the incremental bound in its own zone: a run can miss rows stamped after "
        f"the bound; put dwetl's login on a named zone: ALTER ROLE {login or '<login>'} SET "
        f"timezone = 'UTC'"
    )


#: the (source, file, zone) a process has warned of
_warned: set[tuple[str, Path, str | None]] = set()
_guard = threading.Lock()


def reading_zone(
    zone: str | None, url: DbUrl, path: Path, schema: pa.Schema, stamp: str | None
) -> str:
    """The zone to read `path`'s timestamps with a time zone in (`schema`, as read): the source
    session's `zone` (`SourceDialect.clock_and_zone`), else UTC. Where `zone` is one dwetl
    cannot read in and the watermark column `stamp` is zoned, a warning, once per process, file
    and zone (`unusable_zone`)."""
    if not zoned_columns(schema):
        return UTC
    problem = unusable_zone(zoned_columns(schema, [stamp] if stamp else []), zone, url.user)
    if problem is not None:
        with _guard:
            first = (url.masked, path, zone) not in _warned
            _warned.add((url.masked, path, zone))
        if first:
            log.warning("%s: %s", path, problem)
    return readable(zone)
