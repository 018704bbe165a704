"""dwetl's stdout and stderr when their reader stops reading: `dwetl history | head -2`,
`dwetl rejects --json | jq ... ` that fails, a terminal that closed.

A reader that goes away is no error of the command: what is left to print goes nowhere, and the
command ends as it would have, with its own exit status (a run that loaded everything is still
0). Python ignores SIGPIPE, so a closed pipe raises `BrokenPipeError` on the next write; Typer
turned that into a silent exit 1, which a script under `set -o pipefail` reads as a failure.
"""

from __future__ import annotations

import os
from contextlib import suppress
from typing import Any, Protocol


class _Stream(Protocol):
    def write(self, text: str, /) -> int: ...
    def flush(self) -> None: ...
    def fileno(self) -> int: ...


class ReaderMayLeave:
    """A text stream whose writes, once its pipe is closed, go to /dev/null.

    >>> import io; out = ReaderMayLeave(io.StringIO()); out.write("ok")
    2
    >>> out.reader_left
    False
    """

    def __init__(self, stream: _Stream) -> None:
        self._stream = stream
        self.reader_left = False

    def write(self, text: str) -> int:
        if not self.reader_left:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._left()
        return len(text)

    def flush(self) -> None:
        if not self.reader_left:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._left()

    def _left(self) -> None:
        self.reader_left = True
        # What the stream still buffers would be flushed again at exit and fail there (Python
        # then reports it and exits 120): its descriptor now leads to /dev/null.
        with suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
