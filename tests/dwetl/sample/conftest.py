"""Shared helpers for the sample tests: the DDL's CHECK domains."""

from __future__ import annotations

import re

import pytest

from dwetl.core.paths import ddl_root


@pytest.fixture(scope="session")
def ddl_domains() -> dict[str, tuple[str, set[str]]]:
    """CHECK (col IN (...)) constraints of the shipped DDL: name -> (column, allowed values)."""
    text = "\n".join(p.read_text() for p in sorted(ddl_root().glob("*.sql")))
    out = {}
    for name, column, values in re.findall(
        r"CONSTRAINT (\w+) CHECK \((\w+) IN \(([^)]*)\)\)", text
    ):
        out[name] = (column, set(re.findall(r"'([^']*)'", values)))
    return out
