"""A run asked to stop by a signal: Ctrl-C (SIGINT) or a scheduler's stop (SIGTERM; systemd,
Kubernetes and Airflow send it before they kill).

The first signal only asks: the run stops at the next point that is safe to stop at (the start of a
phase of an entity, `context.phase`: each batch's read and the commit among them; each try of a wait
for an entity's lock; or the next entity), the entity in progress rolls back, the run is recorded as
failed, and `dwetl run` exits 128 + the signal's number (130, 143). It is not raised where it lands
because it would land anywhere: inside a DuckDB statement, which turns it into an error of that
statement (or reports a COMMIT that went through as interrupted), or between a transaction's last
statement and its end. A second signal is for a step that takes too long: it raises
`KeyboardInterrupt` where it lands, and whatever error that becomes, the run treats it as the stop
it is. Before the entities load (connecting, waiting for the DuckDB file's lock) a signal breaks in
at once, there being nothing to roll back; once the run records how it ended (a few statements),
signals wait for it.

A run started outside the main thread (signal handlers are the main thread's) keeps Python's
own handling.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from dwetl.core import signals
from dwetl.run.summary import EntityResult, RunStopped

log = logging.getLogger(__name__)


class Stopping(Exception):
    """Raised at a safe point once a stop was asked: the entity rolls back, and the runner
    records the stop (`dwetl.run.entity`)."""


class StopRequest:
    """Whether a signal asked this run to stop, and which (`signal_name`)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        #: the entities are loading (`armed`): a signal asks, a second one breaks in
        self._armed = False
        #: the stop is being recorded, or the run is done loading (`recording`, `armed`'s
        #: end): a signal waits for it
        self._recording = False

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def signal_name(self) -> str:
        """The signal's name ("SIGINT"); "a signal" before any.

        >>> stop = StopRequest()
        >>> stop.signum = signal.SIGTERM
        >>> stop.signal_name, stop.exit_code
        ('SIGTERM', 143)
        """
        return "a signal" if self.signum is None else signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process a signal ended."""
        return signals.exit_code(self.signum or signal.SIGINT)

    @contextmanager
    def on_signals(self) -> Iterator[StopRequest]:
        """Within the block, this request handles SIGINT and SIGTERM (in the main thread only;
        the handlers before it are back after it): before `armed`, a signal breaks in as
        Python's own SIGINT does (a run still connecting has nothing to roll back); within it,
        it asks for the stop; after it, while the run records how it ended and closes its
        connections, it waits for that."""
        with signals.handling(self._handle):
            yield self

    @contextmanager
    def armed(self) -> Iterator[None]:
        """The block where a signal asks for the stop (the entities' loads); after it, signals
        wait for the run to end."""
        self._armed = True
        try:
            yield
        finally:
            self._armed, self._recording = False, True

    def recording(self) -> None:
        """Where a stop was asked, from now on the run records it, and a signal no longer
        breaks in (that takes a few statements; a signal raised into them would leave the run
        unrecorded, as SIGKILL does)."""
        self._recording = self._recording or self.signum is not None

    def check(self) -> None:
        """Raise `Stopping` if a stop was asked (called at the steps that may end a run)."""
        if self.signum is not None:
            raise Stopping(f"stopped by {self.signal_name}")

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._recording:
            log.warning("%s: the run is recording how it ended", signal.Signals(signum).name)
            return
        if not self._armed or self.signum is not None:  # not loading yet, or asked again
            self.signum = self.signum or signum
            raise KeyboardInterrupt
        self.signum = signum
        log.warning(
            "%s: the run stops at its next safe point, the entity in progress rolls back "
            "(send it again to stop at once)",
            self.signal_name,
        )


class Interrupted(RunStopped):
    """A signal stopped the run: exit 128 + its number."""

    def __init__(
        self, stop: StopRequest, result: EntityResult | None = None, *, before: str = ""
    ) -> None:
        where = f": the run stopped before {before}" if before else ""
        super().__init__(f"interrupted by {stop.signal_name}{where}", result)
        self.exit_code = stop.exit_code
