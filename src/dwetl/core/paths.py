"""Where dwetl's shipped files live: the `sql/` folder (ddl/, extract/, source/)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def sql_root() -> Path:
    """The `sql/` folder: the copy inside an installed wheel, else the repository's.

    >>> (sql_root() / "ddl").is_dir()
    True
    """
    installed = _PACKAGE / "sql"
    if installed.is_dir():
        return installed
    # Editable install / source checkout: src/dwetl/core/paths.py -> <repo>/sql
    return _PACKAGE.parents[1] / "sql"


def ddl_root() -> Path:
    """The shipped warehouse DDL scripts, `sql/ddl/NNN_*.sql`."""
    return sql_root() / "ddl"


def extract_root() -> Path:
    """The shipped extract queries, `sql/extract/<entity>.sql`."""
    return sql_root() / "extract"


def folder_problem(folder: Path) -> str | None:
    """What is wrong with a folder a setting names, for its one-line error; None if it is one.

    >>> folder_problem(sql_root()), folder_problem(Path("/nonexistent/sql"))
    (None, 'does not exist')
    """
    if folder.is_dir():
        return None
    return "is a file, not a folder" if folder.exists() else "does not exist"
