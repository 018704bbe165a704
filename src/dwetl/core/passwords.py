"""The password libpq would use for a PostgreSQL URL that gives none, for connectorx.

psycopg (libpq) finds a password the URL does not give by itself: `PGPASSWORD`, then the
password file (`?passfile=`, else `PGPASSFILE`, else `~/.pgpass`). connectorx's PostgreSQL
client reads neither, so the source's reads would connect without it; this module finds the
same password, by libpq's documented rules, and the URL puts it where connectorx reads it.
Every password found is registered with `masking`, so that no message can show it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from dwetl.core import masking


def libpq_password(
    host: str | None,
    port: int | None,
    database: str | None,
    user: str | None,
    passfile: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """`PGPASSWORD`, else the first matching line of the password file, else None."""
    env = os.environ if env is None else env
    found = env.get("PGPASSWORD") or None
    if found is None:
        path = passfile or env.get("PGPASSFILE") or str(Path.home() / ".pgpass")
        fields = [host or "localhost", str(port or 5432), database or "", user or ""]
        found = _from_passfile(Path(path).expanduser(), fields)
    masking.remember(found)
    return found


def _from_passfile(path: Path, wanted: list[str]) -> str | None:
    """The password of the first `host:port:database:user:password` line that matches
    (`*` matches anything; `\\:` and `\\\\` escape). libpq ignores a file that others can read.

    >>> import tempfile; folder = Path(tempfile.mkdtemp()); f = folder / "pgpass"
    >>> _ = f.write_text("# comment\\ndb:5432:*:app:first\\n*:*:*:app:a\\\\:b\\n"); f.chmod(0o600)
    >>> _from_passfile(f, ["db", "5432", "dw", "app"]), _from_passfile(f, ["x", "1", "d", "app"])
    ('first', 'a:b')
    """
    try:
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO) or not path.is_file():
            return None
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        fields = _split(line)
        if len(fields) < 5:
            continue
        if all(f == "*" or f == w for f, w in zip(fields[:4], wanted, strict=True)):
            return ":".join(fields[4:])
    return None


def _split(line: str) -> list[str]:
    fields, current, escaped = [], "", False
    for char in line:
        if escaped:
            current, escaped = current + char, False
        elif char == "\\":
            escaped = True
        elif char == ":":
            fields.append(current)
            current = ""
        else:
            current += char
    fields.append(current)
    return fields
