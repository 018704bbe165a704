"""SIGINT and SIGTERM handled by dwetl for the length of a block: Ctrl-C, and the stop that
systemd, Kubernetes and Airflow send before they kill."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

#: the signals that ask dwetl to stop
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

Handler = Callable[[int, FrameType | None], None]


@contextmanager
def handling(handler: Handler) -> Iterator[None]:
    """Within the block, `handler` handles SIGINT and SIGTERM; the handlers before it are back
    after it. Outside the main thread (signal handlers are the main thread's) it does nothing.

    >>> with handling(lambda signum, frame: None):
    ...     signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    False
    >>> signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    True
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, previous in before.items():
            signal.signal(signum, previous)


def exit_code(signum: int) -> int:
    """128 + the signal's number, as a shell reports a process a signal ended.

    >>> exit_code(signal.SIGINT), exit_code(signal.SIGTERM)
    (130, 143)
    """
    return 128 + signum
