"""The one lock of a DuckDB warehouse file: which dwetl process has it open, and since when.

DuckDB lets one process at a time open a file for writing; a second one gets DuckDB's raw
`Could not set lock on file`. So every dwetl process takes `<file>.lock` (an exclusive
`flock`, beside the file) before DuckDB opens the file, writes into it who holds it (run id,
pid, host, since when, the entity it loads), and removes it when it lets go. A run or another
writer waits for it up to the lock timeout (`held`); a command that only reads (`status`,
`history`, `rejects`, `check`) does not wait: it says at once who holds the file (`acquire` with
no wait). A killed holder's flock goes with its process: its stale file is taken over. Where
the folder cannot be written (a read-only copy), no lock file can be made there by anyone:
dwetl then goes without and DuckDB's own lock decides.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dwetl.core.errors import DwetlError

_POLL_S = 0.1


class WarehouseBusy(DwetlError):
    """Another process has the DuckDB warehouse file open."""


@dataclass
class _Hold:
    #: the flock'ed lock file; -1 where the folder cannot be written (no lock file)
    fd: int
    record: dict[str, Any]
    users: int = 0
    #: entities this process holds the entity lock of, in the order taken
    entities: list[str] = field(default_factory=list)


# Per file: this process's hold (one flock shared by its every user: the run, its connections)
_guard = threading.Lock()
_holds: dict[Path, _Hold] = {}
_taking: dict[Path, threading.Lock] = {}


def lock_path(path: Path) -> Path:
    """The lock file of the warehouse file `path`: `<file>.lock` beside it."""
    return path.with_name(f"{path.name}.lock")


def acquire(path: Path, *, wait_s: float) -> None:
    """Take the file's lock for one more user of this process, waiting up to `wait_s` for
    another process to let go; WarehouseBusy naming the holder when it does not."""
    with _guard:
        if path in _holds:
            _holds[path].users += 1
            return
        taking = _taking.setdefault(path, threading.Lock())
    with taking:  # one thread of this process takes the flock; the others then share it
        with _guard:
            if path in _holds:
                _holds[path].users += 1
                return
        fd = _take(path, wait_s)
        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        hold = _Hold(fd, {"pid": os.getpid(), "host": socket.gethostname(), "since": since}, 1)
        _write(hold)
        with _guard:
            _holds[path] = hold


def release(path: Path) -> None:
    """One user of this process lets go; the last removes the lock file and unlocks it."""
    with _guard:
        hold = _holds[path]
        hold.users -= 1
        if hold.users:
            return
        del _holds[path]
    if hold.fd < 0:
        return
    # removed while still locked: a waiter that locked the old file sees it is gone and retries
    try:
        os.unlink(lock_path(path))
    except FileNotFoundError:
        pass
    finally:
        fcntl.flock(hold.fd, fcntl.LOCK_UN)
        os.close(hold.fd)


@contextmanager
def held(path: Path, *, wait_s: float) -> Iterator[None]:
    """Hold the file's lock for the block (a run: before its connections open, after they
    close), waiting up to `wait_s` for another process to let go."""
    acquire(path, wait_s=wait_s)
    try:
        yield
    finally:
        release(path)


def note(path: Path, **fields: Any) -> None:
    """Record `fields` (e.g. `run_id=7`) in this process's lock record, when it holds one."""
    with _guard:
        hold = _holds.get(path)
        if hold is None:
            return
        hold.record.update(fields)
        _write(hold)


@contextmanager
def loading(path: Path, entity: str) -> Iterator[None]:
    """Record for the block that this process loads `entity` (shown to whoever waits)."""
    with _guard:
        hold = _holds.get(path)
        if hold is not None:
            hold.entities.append(entity)
            _write(hold)
    try:
        yield
    finally:
        with _guard:
            if hold is not None and entity in hold.entities:
                hold.entities.remove(entity)
                if path in _holds:
                    _write(hold)


def describe(record: dict[str, Any]) -> str:
    """A holder record as words.

    >>> describe({"run_id": 7, "pid": 42, "host": "etl1", "since": "2026-12-06 02:30:00 UTC",
    ...           "loading": "fact_vendas"})
    'run 7, pid 42 on etl1, since 2026-12-06 02:30:00 UTC, loading fact_vendas'
    >>> describe({"pid": 42, "host": "etl1", "since": "2026-12-06 02:30:00 UTC"})
    'pid 42 on etl1, since 2026-12-06 02:30:00 UTC'
    """
    run = f"run {record['run_id']}, " if record.get("run_id") is not None else ""
    text = f"{run}pid {record.get('pid', '?')} on {record.get('host', '?')}"
    text += f", since {record.get('since', '?')}"
    if record.get("loading"):
        text += f", loading {record['loading']}"
    return text


def holder(path: Path) -> dict[str, Any] | None:
    """The record in the file's lock file, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads(lock_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write(hold: _Hold) -> None:
    if hold.fd < 0:
        return
    record = dict(hold.record)
    if hold.entities:
        record["loading"] = hold.entities[0]
    data = (json.dumps(record) + "\n").encode()
    try:
        os.pwrite(hold.fd, data, 0)
        os.ftruncate(hold.fd, len(data))
    except OSError:  # a full disk: the record only informs whoever waits, the flock is the lock
        pass


def _take(path: Path, wait_s: float) -> int:
    """A descriptor of the lock file, flock'ed exclusively (waiting up to `wait_s`)."""
    target = lock_path(path)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) and not target.exists():
                return -1
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise _busy(path, wait_s) from None
            time.sleep(_POLL_S)
            continue
        try:
            current = os.stat(target).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(fd).st_ino:
            return fd
        # the holder removed the file as we locked it: lock the one that is there now
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _busy(path: Path, wait_s: float) -> WarehouseBusy:
    record = None
    for _ in range(10):  # the holder writes its record right after it locks
        record = holder(path)
        if record is not None:
            break
        time.sleep(0.02)
    who = describe(record) if record is not None else "holder unknown"
    if wait_s > 0:
        return WarehouseBusy(
            f"warehouse {path} is being loaded by another dwetl ({who}); "
            f"gave up after waiting {wait_s:g} s"
        )
    what = "a dwetl run is in progress" if record and record.get("run_id") else "another dwetl"
    return WarehouseBusy(
        f"warehouse {path} is in use: {what} ({who}); DuckDB lets one process open the file "
        "at a time, so try again when it ends"
    )
