"""A full disk (or quota, or file size limit) as one line naming the file and the cause.

Nothing else can go on once the warehouse's disk is full: every entity would fail the same way,
so a run stops at the first such failure (`dwetl.run.entity`), and any command that meets one
ends with this line instead of a traceback (`dwetl.cli.app`).
"""

from __future__ import annotations

import errno
import re

#: what the operating system, DuckDB, SQLite and PostgreSQL say (lower case)
_CAUSES = (
    "no space left on device",
    "disk quota exceeded",
    "file too large",
    "database or disk is full",
)
_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
#: DuckDB: 'Could not write file "/srv/dw.duckdb.wal": No space left on device';
#: PostgreSQL: 'could not extend file "base/16384/2619": No space left on device'
_QUOTED_FILE = re.compile(r'file "([^"]+)"', re.IGNORECASE)


def out_of_space(exc: BaseException) -> tuple[str | None, str] | None:
    """(the file, when the error names one; the cause) when `exc`, or an error it was raised
    from, is a full disk, an exceeded quota or file size limit; None for any other error.

    >>> out_of_space(OSError(errno.ENOSPC, "No space left on device", "/srv/dw.duckdb.lock"))
    ('/srv/dw.duckdb.lock', 'No space left on device')
    >>> out_of_space(RuntimeError('Could not write file "/srv/dw.duckdb.wal": File too large'))
    ('/srv/dw.duckdb.wal', 'File too large')
    >>> out_of_space(ValueError("no such table: vendas")) is None
    True
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _ERRNOS:
            filename = seen.filename if isinstance(seen.filename, str) else None
            return filename, seen.strerror or str(seen)
        text = str(seen)
        lowered = text.lower()
        for cause in _CAUSES:
            at = lowered.find(cause)
            if at >= 0:
                quoted = _QUOTED_FILE.search(text)
                return (quoted.group(1) if quoted else None), text[at : at + len(cause)]
        seen = seen.__cause__ or seen.__context__
    return None


def describe(exc: BaseException, fallback: str) -> str | None:
    """'<file>: <cause>' for an out-of-space `exc` (`fallback` names the place when the error
    names no file); None for any other error.

    >>> describe(OSError(errno.ENOSPC, "No space left on device"), "warehouse duckdb:///dw.duckdb")
    'warehouse duckdb:///dw.duckdb: No space left on device'
    """
    found = out_of_space(exc)
    if found is None:
        return None
    file, cause = found
    return f"{file or fallback}: {cause}"
