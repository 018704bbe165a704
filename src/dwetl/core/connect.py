"""Connecting with retries: only what may pass is retried, the rest fails at once, one line each.

A connection refused, a timeout, or a server that says it is starting up (or restarting) may
pass by waiting: those are retried with exponential backoff, each failure logged, the last one
`ConnectionFailed` (exit 1). Anything else, a missing file, a file of another kind, a database,
user or host that does not exist, a wrong password, no permission, cannot pass by waiting: it
is `CannotConnect` (exit 2) at the first attempt, naming the database and what to do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from dwetl.core import masking
from dwetl.core.errors import CannotConnect, ConnectionFailed, DwetlError
from dwetl.core.urls import DbUrl

log = logging.getLogger("dwetl")

T = TypeVar("T")

#: what a driver says when waiting may help (lower case): the server is not listening yet,
#: did not answer in time, or is starting up, recovering or restarting (PostgreSQL's FATALs;
#: MariaDB/MySQL's lost handshake and shutdown in progress, code 2013 and 1053); a name server
#: that cannot answer yet (EAI_AGAIN); a database file another process holds for writing
TRANSIENT = (
    "connection refused",
    "timeout expired",
    "timed out",
    "the database system is starting up",
    "the database system is not yet accepting connections",
    "the database system is in recovery mode",
    "the database system is shutting down",
    "server closed the connection unexpectedly",
    "lost connection to mysql server",
    "lost connection to server",
    "server shutdown in progress",
    "temporary failure in name resolution",
    "conflicting lock is held",
    "database is locked",
)

#: a permanent failure's cause (lower case) -> what to do about it
ADVICE = (
    ("does not exist", "create it, or fix the name in the URL"),
    ("unknown database", "create it, or fix the database name in the URL"),
    ("password authentication failed", "check the user and password in the URL (or ~/.pgpass)"),
    ("access denied", "check the user, the password and the user's grants"),
    ("no pg_hba.conf entry", "allow this host and user in the server's pg_hba.conf"),
    ("no password supplied", "give the password in the URL, PGPASSWORD or ~/.pgpass"),
    ("failed to resolve host", "check the host name in the URL"),
    ("name or service not known", "check the host name in the URL"),
    ("not a valid duckdb database", "point the URL at the DuckDB warehouse file"),
    ("file is not a database", "point the URL at the SQLite file of the ERP"),
    ("permission denied", "give dwetl's user access to the file and its folder"),
    ("read-only", "give dwetl's user write access to the file and its folder"),
)
_NOT_RETRIED = (
    "not retried: it is no refused connection, timeout or starting server; "
    "fix the URL, the credentials or the file and run again"
)


def with_retry(
    connect_fn: Callable[[], T],
    *,
    what: str,
    url: DbUrl,
    attempts: int,
    backoff_s: float,
    backoff_max_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[T, float]:
    """Call `connect_fn` until it succeeds, at most `attempts` times, sleeping `backoff_s`,
    then twice as long each time up to `backoff_max_s`. Returns (connection, seconds taken).

    `what` names the database in messages ("warehouse", "source"). Only a `transient` failure
    is retried; any other is `CannotConnect` at once, and a DwetlError raised by `connect_fn`
    (its own one-line diagnosis) passes as it is.
    """
    started = time.perf_counter()
    delay = backoff_s
    reason = ""
    for attempt in range(1, attempts + 1):
        try:
            conn = connect_fn()
        except DwetlError:
            raise
        except (AssertionError, AttributeError, NameError, TypeError):
            raise  # a bug in dwetl, not an answer of the database: keep its traceback
        except Exception as exc:
            reason = describe(exc)
            if not transient(exc):
                raise CannotConnect(f"{what} {url.masked}: {reason}; {advice(reason)}") from None
            if attempt == attempts:
                break
            wait = min(delay, backoff_max_s)
            log.warning(
                "%s %s: attempt %d of %d failed: %s; retrying in %.1f s",
                what,
                url.masked,
                attempt,
                attempts,
                reason,
                wait,
            )
            sleep(wait)
            delay = max(delay * 2, 0.001)
            continue
        seconds = time.perf_counter() - started
        if attempt > 1:  # a warning, as the retries were: the console shows warnings only
            log.warning(
                "%s %s: connected after %d attempts (%.2f s)", what, url.masked, attempt, seconds
            )
        return conn, seconds
    tries = "attempt" if attempts == 1 else "attempts"
    raise ConnectionFailed(f"{what} {url.masked} unreachable after {attempts} {tries}: {reason}")


def transient(exc: BaseException) -> bool:
    """True when waiting may cure `exc`: a refused or timed-out connection, a starting server.

    >>> transient(ConnectionRefusedError(111, "Connection refused"))
    True
    >>> transient(OSError('FATAL:  database "dw" does not exist'))
    False
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError | TimeoutError):
            return True
        text = " ".join(str(a) for a in seen.args).lower() if seen.args else str(seen).lower()
        if any(marker in text for marker in TRANSIENT):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def advice(reason: str) -> str:
    """What to do about a permanent failure, from its one-line reason.

    >>> advice("Unknown database 'erp'")
    'create it, or fix the database name in the URL (not retried)'
    """
    lowered = reason.lower()
    for marker, what_to_do in ADVICE:
        if marker in lowered:
            return f"{what_to_do} (not retried)"
    return _NOT_RETRIED


def describe(exc: BaseException) -> str:
    """A driver error as one short line, with any password scrubbed.

    >>> describe(OSError("connection refused\\n\\tIs the server running?"))
    'connection refused'
    >>> describe(Exception(1049, "Unknown database 'erp'"))  # PyMySQL: (code, message)
    "Unknown database 'erp'"
    """
    args = exc.args
    if (
        not isinstance(exc, OSError)  # its str() adds the file name
        and len(args) == 2
        and isinstance(args[0], int)
        and isinstance(args[1], str)
    ):
        text = args[1].strip()
    else:
        text = str(exc).strip()
    text = text or type(exc).__name__
    first = next((line.strip() for line in text.splitlines() if line.strip()), text)
    # psycopg: 'connection failed: connection to server at "127.0.0.1", port 5999 failed: ...'
    if "failed: " in first:
        first = first.rsplit("failed: ", 1)[1]
    first = first.removeprefix("FATAL:").strip()
    return masking.scrub(first)
