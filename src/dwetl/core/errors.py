"""Errors a user sees as one clear line, each with the exit code the CLI returns."""

from __future__ import annotations


class DwetlError(Exception):
    """An expected failure: printed as one line (no traceback), exits with `exit_code`."""

    exit_code = 1


class UsageError(DwetlError):
    """Bad usage or configuration: an unknown entity, a malformed URL, a missing file."""

    exit_code = 2


class ConnectionFailed(DwetlError):
    """A database could not be reached after every retry."""

    exit_code = 1


class CannotConnect(UsageError):
    """A database answered in a way no retry can change (a missing file, no such database, a
    wrong password): the configuration must change first."""
