"""The run log `ctl.etl_run`: one row per dwetl command that touches the warehouse."""

from __future__ import annotations

import getpass
import json
import os
import socket
from datetime import UTC, datetime
from typing import Any

from dwetl.core import masking
from dwetl.core.config import Settings
from dwetl.core.queries import named_queries
from dwetl.core.status import RunOutcome
from dwetl.warehouse.base import Warehouse

_ID_ATTEMPTS = 5  # two runs starting at once may both pick max+1; the loser takes the next


def start_run(
    wh: Warehouse,
    command: str,
    settings: Settings,
    *,
    full: bool = False,
    dry_run: bool = False,
    with_pid: bool | None = None,
) -> int:
    """Insert a `running` row for `command` and return its run_id (max + 1).

    The URLs are stored masked; the host and process id are stored so that the run, killed,
    can be found abandoned (`dwetl.ops.abandoned`). The run id is also set on `wh` (and, where the
    dialect names sessions, on its connection) so its entity locks name it. `with_pid`: what
    `records_pid` said, where the caller asked it already.
    """
    if with_pid is None:
        with_pid = records_pid(wh)
    for attempt in range(1, _ID_ATTEMPTS + 1):
        try:
            with wh.transaction():
                run_id = int(wh.fetchall(_q("next_run_id"))[0][0])
                wh.name_session(run_id)
                where = [socket.gethostname(), os.getpid()] if with_pid else [socket.gethostname()]
                wh.execute(
                    _q("insert_run" if with_pid else "insert_run_without_pid"),
                    [
                        run_id,
                        command,
                        now_utc(),
                        os_user(),
                        *where,
                        settings.source.masked,
                        settings.dw.masked,
                        full,
                        dry_run,
                    ],
                )
        except Exception:
            if attempt == _ID_ATTEMPTS:
                raise
            continue
        wh.run_id = run_id
        return run_id
    raise AssertionError("unreachable")


def finish_run(
    wh: Warehouse,
    run_id: int,
    status: RunOutcome,
    *,
    details: dict[str, Any] | None = None,
    error: str | None = None,
    startup_seconds: float | None = None,
) -> None:
    """Close the run: its status, details as JSON, error text.
    A run found abandoned meanwhile (wrongly: it was alive) gets its real end recorded."""
    text = json.dumps(details, default=str, ensure_ascii=False) if details is not None else None
    with wh.transaction():
        wh.execute(
            _q("finish_run"),
            [
                status,
                now_utc(),
                masking.scrub(text) if text is not None else None,
                masking.scrub(error) if error is not None else None,
                startup_seconds,
                run_id,
            ],
        )


def records_pid(wh: Warehouse) -> bool:
    """Whether ctl.etl_run has the columns of 008_run_process.sql (`pid`, `abandoned_at`): a
    warehouse `init` has not upgraded yet has not."""
    return bool(wh.fetchall(_q("has_pid")))


def now_utc() -> datetime:
    """Now in UTC, without a zone (the warehouse's TIMESTAMP columns hold UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


def os_user() -> str:
    """The operating-system user running dwetl."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def _q(name: str) -> str:
    return named_queries("ops/runlog.sql")[name]
