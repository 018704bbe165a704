"""Runs left `running` by a process that died (kill -9, a reboot, the OOM killer): found and
marked `abandoned`, since nobody is left to close their row in `ctl.etl_run`.

A `running` run is abandoned when it holds no lock in the warehouse (`Warehouse.
run_holds_locks`: PostgreSQL, no session named for it; DuckDB, no entity lock file held by
it) and its process is known to be gone:
- it ran on this host and its pid is not running, or is a zombie, or belongs to a process
  that started after the run did (the pid was reused);
- it ran elsewhere, on a warehouse whose connections carry the run's name from its start to
  its end (`Warehouse.sessions_name_runs`: PostgreSQL): no such session means no process;
- an earlier dwetl recorded it without a pid, before this warehouse was upgraded by
  008_run_process.sql. (Such a run, still alive between two entities, would be taken for
  abandoned; when it ends, its own end is recorded over the mark.)
Anything else (a run on another host of a DuckDB file) cannot be told from here and stays
`running`.

`dwetl run` records what it finds at its start: `abandoned_at` (when it was found), `error` (how)
and status `failed`, the statuses `ctl.etl_run`'s CHECK admits; `abandoned_at` makes it read as
`abandoned` (`dwetl.ops.history`). `status` and `history` only read, so they show such a run as
abandoned without recording it, and say so.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dwetl.core.queries import named_queries
from dwetl.ops.runlog import now_utc, records_pid
from dwetl.warehouse.base import Warehouse

#: the script that made ctl.etl_run record pids
PID_SCRIPT = "008_run_process.sql"
#: a process that started this long after its run's recorded start is another one (the run's
#: row is written after its process started; /proc's boot time is whole seconds)
_REUSED_AFTER = timedelta(seconds=2)


@dataclass(frozen=True)
class Abandoned:
    """A run found abandoned: when, and how (one line for `ctl.etl_run.error`)."""

    run_id: int
    command: str
    found_at: datetime
    how: str


def find_abandoned(
    wh: Warehouse, *, found_by: str, own_run_id: int | None = None, with_pid: bool | None = None
) -> list[Abandoned]:
    """The `running` runs of `wh` (other than `own_run_id`) that are abandoned; `found_by`
    (e.g. "dwetl run 18") goes into each note; `with_pid`: what `records_pid` said, where the
    caller asked it already. Reads only."""
    if with_pid is None:
        with_pid = records_pid(wh)
    upgraded_at = _applied_at(wh) if with_pid else None
    found: list[Abandoned] = []
    for run_id, command, started_at, host, pid in running_runs(wh, with_pid=with_pid):
        if run_id == own_run_id or wh.run_holds_locks(int(run_id)):
            continue
        gone = _gone(wh, started_at, host, pid, upgraded_at)
        if gone is not None:
            now = now_utc()
            how = (
                f"abandoned: {gone} and the run holds no lock; found by {found_by} "
                f"at {now:%Y-%m-%d %H:%M:%S} UTC"
            )
            found.append(Abandoned(int(run_id), str(command), now, how))
    return found


def running_runs(wh: Warehouse, *, with_pid: bool | None = None) -> list[tuple[Any, ...]]:
    """(run_id, command, started_at, hostname, pid) of each run still `running` (pid None where
    the warehouse does not record it)."""
    if with_pid is None:
        with_pid = records_pid(wh)
    return wh.fetchall(_q("running_runs" if with_pid else "running_runs_without_pid"))


def record_abandoned(wh: Warehouse, found: list[Abandoned]) -> None:
    """Record each run as abandoned (one that finished meanwhile keeps its status)."""
    if not found:
        return
    with wh.transaction():
        for run in found:
            wh.execute(_q("mark_abandoned"), [run.found_at, run.how, run.run_id])


def _gone(
    wh: Warehouse,
    started_at: datetime,
    host: str | None,
    pid: int | None,
    upgraded_at: datetime | None,
) -> str | None:
    """How the run's process is known to be gone, or None when it is not known."""
    here = socket.gethostname()
    if pid is not None and host == here:
        state = process_state(int(pid), started_at)
        return None if state == "running" else f"its process {pid} on {host} {state}"
    if pid is not None and wh.sessions_name_runs:
        return f"its process {pid} on {host or 'an unknown host'} left no session in the warehouse"
    if pid is None and upgraded_at is not None and started_at < upgraded_at:
        return f"it was started by an earlier dwetl (no pid recorded) before {PID_SCRIPT}"
    return None


def process_state(pid: int, started_at: datetime) -> str:
    """`running`, or how process `pid` of this host is not the run that started at
    `started_at` (UTC): "is gone", "is a zombie", "is another process (pid reused)"."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "is gone"
    except PermissionError:
        pass  # another user's process: it exists
    stat = _proc_stat(pid)
    if stat is None:  # no /proc (not Linux): the pid exists, so assume it is the run
        return "running"
    state, start = stat
    if state in ("Z", "X"):
        return "is a zombie"
    if start is not None and start > started_at + _REUSED_AFTER:
        return "is another process (pid reused)"
    return "running"


def _proc_stat(pid: int) -> tuple[str, datetime | None] | None:
    """(state letter, start time in UTC) of a Linux process, from /proc; None without /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (OSError, StopIteration, ValueError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    try:
        ticks = int(fields[19])  # field 22 of stat: start time, in clock ticks since boot
        start = datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), UTC)
    except (IndexError, ValueError, OSError):
        return fields[0] if fields else "?", None
    return fields[0], start.replace(tzinfo=None)


def _applied_at(wh: Warehouse) -> datetime | None:
    rows = wh.fetchall(_q("script_applied_at"), [PID_SCRIPT])
    return rows[0][0] if rows else None


def _q(name: str) -> str:
    return named_queries("ops/runlog.sql")[name]
