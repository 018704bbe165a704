"""A live progress display of a run on a terminal (rich); silent when not a terminal.

The runner reports each entity's phase through the callback this yields (`run(progress=...)`)
and prints nothing itself; rich is imported when a run starts, not with the CLI."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from dwetl.run.context import Progress as ProgressCallback


@contextmanager
def live_progress(console: Console | None = None) -> Iterator[ProgressCallback | None]:
    """Yield a progress callback for `run(...)`, or None when stderr is not a terminal."""
    if console is None and not _may_be_terminal():
        yield None  # what rich would decide, without importing it (a nightly job has no tty)
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def update(entity: str, phase: str) -> None:
            if entity not in tasks:
                tasks[entity] = bar.add_task(entity, total=1)
            task = tasks[entity]
            if phase.startswith("done:"):
                bar.update(task, description=f"{entity}: {phase[5:]}", completed=1)
            else:
                bar.update(task, description=f"{entity}: {phase}…")

        yield update


def _may_be_terminal() -> bool:
    """False where rich's `Console(stderr=True).is_terminal` is sure to be: stderr is no tty and
    neither TTY_COMPATIBLE nor FORCE_COLOR says otherwise."""
    if "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ:
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False
