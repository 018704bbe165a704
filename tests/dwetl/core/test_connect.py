"""Connection retry with backoff: the real console script against closed and late-opening ports."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dwetl.core.connect import describe, with_retry
from dwetl.core.errors import CannotConnect, ConnectionFailed, UsageError
from dwetl.core.urls import parse_url

DWETL = Path(sys.executable).with_name("dwetl")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


FAST = {
    "DWETL_CONNECT_ATTEMPTS": "3",
    "DWETL_CONNECT_BACKOFF_SECONDS": "0.05",
    "DWETL_CONNECT_BACKOFF_MAX_SECONDS": "0.1",
}


def test_backoff_doubles_up_to_the_ceiling_and_logs_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = parse_url("postgresql://app:s3cret@db:5432/dw", setting="--dw")
    slept: list[float] = []
    calls = 0

    def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 5:
            raise OSError(f"connection refused (password=s3cret, {url.raw})")
        return "connection"

    caplog.set_level(logging.WARNING, logger="dwetl")
    conn, seconds = with_retry(
        flaky,
        what="warehouse",
        url=url,
        attempts=5,
        backoff_s=0.5,
        backoff_max_s=1.5,
        sleep=slept.append,
    )
    assert conn == "connection" and calls == 5 and seconds >= 0
    assert slept == [0.5, 1.0, 1.5, 1.5]
    retries = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(retries) == 4 and "connected after 5 attempts" in caplog.records[-1].getMessage()
    assert "attempt 1 of 5 failed" in caplog.text
    assert "postgresql://app:***@db:5432/dw" in caplog.text and "s3cret" not in caplog.text


def test_last_failure_is_one_line_naming_the_database() -> None:
    url = parse_url("mysql://root:s3cret@h/erp", setting="--source")

    def down() -> None:
        raise ConnectionRefusedError("[Errno 111] Connection refused\nmore detail")

    with pytest.raises(ConnectionFailed) as info:
        with_retry(
            down,
            what="source",
            url=url,
            attempts=2,
            backoff_s=0,
            backoff_max_s=0,
            sleep=lambda _: None,
        )
    assert str(info.value) == (
        "source mysql://root:***@h:3306/erp unreachable after 2 attempts: "
        "[Errno 111] Connection refused"
    )


def test_a_usage_error_is_not_retried() -> None:
    url = parse_url("duckdb:///x.duckdb", setting="--dw")
    calls = []

    def bad() -> None:
        calls.append(1)
        raise UsageError("not retried")

    with pytest.raises(UsageError):
        with_retry(bad, what="warehouse", url=url, attempts=5, backoff_s=0, backoff_max_s=0)
    assert calls == [1]


#: what the drivers said, copied from real failures (psycopg, PyMySQL, DuckDB, sqlite3)
TRANSIENT = [
    'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused'
    "\n\tIs the server running on that host and accepting TCP/IP connections?",
    'connection failed: connection to server at "10.0.0.9", port 5432 failed: timeout expired',
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  '
    "the database system is starting up",
    "(2003, \"Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection refused)\")",
    "(2013, \"Lost connection to MySQL server at 'reading initial communication packet'\")",
    'IO Error: Could not set lock on file "/srv/dw.duckdb": Conflicting lock is held',
]
PERMANENT = [
    ('connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  '
     'database "nodb" does not exist', "create it"),
    ('connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  '
     'password authentication failed for user "etl"', "user and password"),
    ("(1049, \"Unknown database 'nodb'\")", "create it"),
    ("(1045, \"Access denied for user 'etl'@'127.0.0.1' (using password: YES)\")", "grants"),
    ("(2003, \"Can't connect to MySQL server on 'db.invalid' ([Errno -2] Name or service not "
     'known)")', "host name"),
    ('IO Error: The file "/srv/notes.duckdb" exists, but it is not a valid DuckDB database file!',
     "DuckDB warehouse file"),
    ("unable to open database file", "not retried"),
]  # fmt: skip


@pytest.mark.parametrize("message", TRANSIENT)
def test_refusals_timeouts_and_starting_servers_are_retried(message: str) -> None:
    url = parse_url("postgresql://etl:s3cret@db:5432/dw", setting="--dw")
    slept: list[float] = []

    def fails() -> None:
        raise OSError(message)

    with pytest.raises(ConnectionFailed, match="unreachable after 3 attempts"):
        with_retry(
            fails, what="warehouse", url=url, attempts=3, backoff_s=1, backoff_max_s=1,
            sleep=slept.append,
        )  # fmt: skip
    assert slept == [1, 1]


@pytest.mark.parametrize(("message", "advice"), PERMANENT)
def test_anything_else_fails_at_once_with_what_to_do(message: str, advice: str) -> None:
    url = parse_url("postgresql://etl:s3cret@db:5432/dw", setting="--dw")
    calls: list[int] = []

    def fails() -> None:
        calls.append(1)
        raise OSError(message)

    with pytest.raises(CannotConnect) as info:
        with_retry(fails, what="warehouse", url=url, attempts=5, backoff_s=60, backoff_max_s=60)
    assert calls == [1] and info.value.exit_code == 2
    text = str(info.value)
    assert text.startswith("warehouse postgresql://etl:***@db:5432/dw: ") and "\n" not in text
    assert advice in text and "failed:" not in text


def test_describe_keeps_the_reason_of_a_psycopg_message() -> None:
    message = (
        'connection failed: connection to server at "127.0.0.1", port 5999 failed: '
        "Connection refused\n\tIs the server running on that host?"
    )
    assert describe(OSError(message)) == "Connection refused"


def test_closed_port_fails_after_the_configured_attempts(tmp_path: Path, dwetl: Any) -> None:
    port = free_port()
    url = f"postgresql://dwetl:s3cret@127.0.0.1:{port}/dw"
    result = dwetl("init", "--dw", url, cwd=tmp_path, env=FAST)
    assert result.returncode == 1
    assert "s3cret" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(
        f"error: warehouse postgresql://dwetl:***@127.0.0.1:{port}/dw "
        "unreachable after 3 attempts: "
    )
    assert "refused" in lines[-1].lower()
    assert [line for line in lines if line.startswith("error:")] == [lines[-1]]
    assert sum("failed:" in line and "attempt" in line for line in lines) == 2


class LateForwarder:
    """A TCP port that opens only when told to, then forwards every connection to `target`."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self.open_now = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.open_now.wait(0.05):
            if self.stop.is_set():
                return
        with socket.socket() as server:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", self.port))
            server.listen()
            server.settimeout(0.2)
            while not self.stop.is_set():
                try:
                    client, _ = server.accept()
                except TimeoutError:
                    continue
                upstream = socket.create_connection(self.target)
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def late_forwarder(pg_admin: Any) -> Iterator[LateForwarder]:
    forwarder = LateForwarder(free_port(), ("127.0.0.1", 5432))
    forwarder.thread.start()
    yield forwarder
    forwarder.stop.set()
    forwarder.thread.join(timeout=5)


def test_a_database_that_opens_late_is_waited_for(
    tmp_path: Path, late_forwarder: LateForwarder, pg_database: str
) -> None:
    url = f"postgresql://postgres:s3cret@127.0.0.1:{late_forwarder.port}/{pg_database}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DWETL_")}
    env |= {
        "DWETL_CONNECT_ATTEMPTS": "30",
        "DWETL_CONNECT_BACKOFF_SECONDS": "0.2",
        "DWETL_CONNECT_BACKOFF_MAX_SECONDS": "0.5",
    }
    process = subprocess.Popen(
        [str(DWETL), "init", "--dw", url],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    stderr: list[str] = []
    # open the port only once dwetl has seen it closed
    for line in process.stderr:
        stderr.append(line)
        if "attempt 1 of 30 failed" in line:
            late_forwarder.open_now.set()
            break
    out, rest = process.communicate(timeout=120)
    stderr.append(rest)
    errors = "".join(stderr)
    assert process.returncode == 0, errors
    assert late_forwarder.open_now.is_set()
    assert "connected after" in errors
    assert "required tables: 16 of 16 present" in out
    assert "s3cret" not in out + errors
