"""How a `dwetl` process ends: with its exit status, once its work is finished, without the
interpreter's teardown (docs/decisions/0017-exit-without-teardown.md)."""

from __future__ import annotations

import atexit
import os
import sys
import threading
from contextlib import suppress
from typing import NoReturn


def exit_status(code: object) -> int:
    """The status `SystemExit(code)` ends a process with: None is 0, an int itself, anything
    else 1, printed to stderr first (as Python prints it).

    >>> [exit_status(c) for c in (None, 0, 2)]
    [0, 0, 2]
    """
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def leave(code: object) -> NoReturn:
    """End the process as `SystemExit(code)` would, without freeing every module and object
    first: nothing reads them any more, and the teardown of polars, pyarrow, DuckDB,
    connectorx and sqlglot took 0.13-0.2 s of every command.

    What an ordinary exit finishes is finished first: the atexit handlers run (they flush and
    close the log's handlers, remove what `weakref.finalize` registered), then stdout and stderr
    are flushed. While a thread that is not a daemon still runs, it is an ordinary exit instead,
    which waits for that thread."""
    status = exit_status(code)
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if any(not t.daemon for t in others):
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # a closed pipe (`dwetl history | head`): nothing is left to keep
        with suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
