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


def os_reason(exc: OSError) -> str:
    """Why the system refused a path, for a one-line error: its reason and the path.

    >>> os_reason(FileNotFoundError(2, "No such file or directory", "/proc/x"))
    'No such file or directory: /proc/x'
    >>> os_reason(FileExistsError(17, "File exists", "notes.txt"))  # a folder wanted there
    'notes.txt is a file, not a folder'
    >>> os_reason(NotADirectoryError(20, "Not a directory", "notes.txt/logs"))
    'notes.txt/logs: a part of it is a file, not a folder'
    """
    if isinstance(exc, FileExistsError) and exc.filename is not None:
        return f"{exc.filename} is a file, not a folder"
    if isinstance(exc, NotADirectoryError) and exc.filename is not None:
        return f"{exc.filename}: a part of it is a file, not a folder"
    reason = exc.strerror or str(exc)
    return reason if exc.filename is None else f"{reason}: {exc.filename}"
