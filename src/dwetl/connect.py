"""Connecting with retries: exponential backoff, each failure logged, the last one a clear error."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from dwetl import masking
from dwetl.config import DbUrl
from dwetl.errors import ConnectionFailed, DwetlError

log = logging.getLogger("dwetl")

T = TypeVar("T")


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

    `what` names the database in messages ("warehouse", "source"). A DwetlError raised by
    `connect_fn` (bad usage, not a flaky network) is not retried.
    """
    started = time.perf_counter()
    delay = backoff_s
    reason = ""
    for attempt in range(1, attempts + 1):
        try:
            conn = connect_fn()
        except DwetlError:
            raise
        except Exception as exc:
            reason = describe(exc)
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
        if attempt > 1:
            log.info(
                "%s %s: connected after %d attempts (%.2f s)", what, url.masked, attempt, seconds
            )
        return conn, seconds
    tries = "attempt" if attempts == 1 else "attempts"
    raise ConnectionFailed(f"{what} {url.masked} unreachable after {attempts} {tries}: {reason}")


def describe(exc: BaseException) -> str:
    """A driver error as one short line, with any password scrubbed.

    >>> describe(OSError("connection refused\\n\\tIs the server running?"))
    'connection refused'
    """
    text = str(exc).strip() or type(exc).__name__
    first = next((line.strip() for line in text.splitlines() if line.strip()), text)
    # psycopg: 'connection failed: connection to server at "127.0.0.1", port 5999 failed: ...'
    if "failed: " in first:
        first = first.rsplit("failed: ", 1)[1]
    return masking.scrub(first)
