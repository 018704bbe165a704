"""Named queries kept in `sql/` files: `-- name: NAME` starts each one."""

from __future__ import annotations

import re
from functools import cache

from dwetl.core.paths import sql_root

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def parse_named(text: str) -> dict[str, str]:
    """The queries of one file by name.

    >>> parse_named("-- name: one\\nSELECT 1;\\n-- name: two\\nSELECT 2;")["two"]
    'SELECT 2'
    """
    parts = _NAME.split(text)
    # parts = [preamble, name1, body1, name2, body2, ...]
    pairs = zip(parts[1::2], parts[2::2], strict=True)
    return {name: body.strip().rstrip(";").strip() for name, body in pairs}


@cache
def named_queries(relative_path: str) -> dict[str, str]:
    """The named queries of `sql/<relative_path>`, e.g. `named_queries("ops/rollout.sql")`."""
    return parse_named((sql_root() / relative_path).read_text(encoding="utf-8"))
