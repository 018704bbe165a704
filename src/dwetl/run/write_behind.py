"""Writing behind: one batch loaded in a background thread while the next one is prepared.

A first load in batches into PostgreSQL (`dwetl.run.load_into_empty`) spends about as long in COPY —
the server parsing and storing the rows, the client waiting on its socket — as in transforming
and validating the next batch in Polars. Both release the GIL, so on two cores they overlap:
the loading thread hands each batch to `WriteBehind.submit` and goes on with the next, and
waits only when the previous batch is still being written.

At most one batch is in flight (memory holds it and the one being prepared). The write runs on
the caller's connection and inside its open transaction, so the connection must serialize its
use by two threads (psycopg's does: a statement of the loading thread waits for the COPY to
end). A failed write is raised to the loading thread at its next `submit` or `wait`; leaving the
block waits for the write in flight, so that a rollback never overtakes it, and a write's own
failure is the one raised (the loading thread's error, often the same one seen later on the
aborted transaction, is chained to it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType


class WriteBehind:
    """Each submitted write run in order, one at a time, behind the caller.

    >>> written = []
    >>> with WriteBehind() as behind:
    ...     behind.submit(lambda: written.append("batch 1"))
    ...     behind.submit(lambda: written.append("batch 2"))
    >>> written
    ['batch 1', 'batch 2']
    """

    def __init__(self, name: str = "dwetl-write") -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._pending: Future[float] | None = None
        #: seconds the writes themselves took (in the background; the caller waited less)
        self.seconds = 0.0

    def submit(self, write: Callable[[], object]) -> None:
        """Run `write` in the background, once the previous write is done (its error raised)."""
        self.wait()
        self._pending = self._pool.submit(self._timed, write)

    def wait(self) -> None:
        """Until the write in flight is done; its error is raised here."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self.seconds += pending.result()

    @staticmethod
    def _timed(write: Callable[[], object]) -> float:
        started = time.perf_counter()
        write()
        return time.perf_counter() - started

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc is None:
                self.wait()
                return
            pending, self._pending = self._pending, None
            failed = pending.exception() if pending is not None else None  # waits for it
            if failed is not None and failed is not exc:
                raise failed from exc
        finally:
            self._pool.shutdown(wait=True)
