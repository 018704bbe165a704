"""How a command's exception becomes its last line and exit code (`dwetl.cli.app._ending`): a
file or folder the system refused, which no command put into words of its own, is the path and
why, never a traceback; an error dwetl did not foresee is left to show itself."""

from __future__ import annotations

from dwetl.cli.app import _ending
from dwetl.cli.interrupts import CommandInterrupt
from dwetl.core.errors import UsageError


def test_a_refused_path_is_its_reason_and_the_path() -> None:
    refused = PermissionError(13, "Permission denied", "/srv/dwetl/out.csv")
    assert _ending(refused, CommandInterrupt()) == (1, "Permission denied: /srv/dwetl/out.csv")


def test_dwetl_s_own_errors_keep_their_line_and_code() -> None:
    assert _ending(UsageError("unknown entity x"), CommandInterrupt()) == (2, "unknown entity x")


def test_an_unforeseen_error_is_let_through() -> None:
    assert _ending(KeyError("x"), CommandInterrupt()) is None
    assert _ending(OSError("no path in it"), CommandInterrupt()) is None
