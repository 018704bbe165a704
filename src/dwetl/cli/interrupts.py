"""Ctrl-C or SIGTERM while a command works: one line naming the signal and the command, and
exit 128 + its number (130, 143), whatever error the signal became where it landed.

`dwetl run` stops at a safe point of its own (`dwetl.run.stop`, installed for the run's length,
inside this). Every other command writes in transactions, or reads: the signal breaks in where
it lands, as Python's Ctrl-C does, and what had not committed rolls back. Where it lands decides
what it becomes: Typer turns `KeyboardInterrupt` into a silent exit 130, DuckDB into an error of
the statement under way, and the SQLite writer's ADBC into `NotSupportedError` (it cannot cancel)
with a traceback. SIGTERM ended the process on the spot, with no line.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from dwetl.core import signals

#: what is left after a command the signal stopped, where "what it had not committed rolled
#: back; run it again" is not the whole story (a sample is written in many transactions)
_LEFT = {
    "dwetl sample": "the source it was writing is incomplete; run it again, which writes it anew",
}
_LEFT_DEFAULT = "what it had not committed rolled back; run it again"


class CommandInterrupt:
    """Which signal broke into the command, if any, and in which command."""

    def __init__(self) -> None:
        self.signum: int | None = None
        #: "dwetl sample": set by the app's callback once the command is known
        self.command = "dwetl"

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        return signals.exit_code(self.signum or signal.SIGINT)

    def line(self) -> str:
        """What the user reads.

        >>> interrupt = CommandInterrupt()
        >>> interrupt.signum, interrupt.command = signal.SIGTERM, "dwetl init"
        >>> interrupt.line().split(", ")  # doctest: +NORMALIZE_WHITESPACE
        ['interrupted by SIGTERM: dwetl init stopped before it finished',
         'what it had not committed rolled back; run it again']
        """
        name = signal.Signals(self.signum or signal.SIGINT).name
        left = _LEFT.get(self.command, _LEFT_DEFAULT)
        return f"interrupted by {name}: {self.command} stopped before it finished, {left}"

    def ended(self, exc: BaseException) -> bool:
        """Whether a signal ended the command that raised `exc`: this handler's, or Ctrl-C
        that a driver handled itself while it blocked (ADBC does, to cancel the statement),
        raising an error of its own with the `KeyboardInterrupt` in its chain, which Typer may
        have turned into exit 130. A run's own stop (`RunStopped`) has said what it stopped."""
        from dwetl.run.summary import RunStopped

        for raised in _chain(exc) if self.signum is None else ():
            if isinstance(raised, RunStopped):
                break
            if isinstance(raised, KeyboardInterrupt):
                self.signum = signal.SIGINT
                break
        return self.signum is not None

    @contextmanager
    def on_signals(self) -> Iterator[CommandInterrupt]:
        """Within the block, SIGINT and SIGTERM raise `KeyboardInterrupt` where they land, and
        are remembered (main thread only)."""
        with signals.handling(self._handle):
            yield self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signum = self.signum or signum
        raise KeyboardInterrupt


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and the exceptions it was raised from or while handling."""
    seen: set[int] = set()
    at: BaseException | None = exc
    while at is not None and id(at) not in seen:
        seen.add(id(at))
        yield at
        at = at.__cause__ or at.__context__
