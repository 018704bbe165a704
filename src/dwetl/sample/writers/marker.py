"""Whether `dwetl sample` may write into a database: only an empty one, or one it wrote.

A writer drops the sample's tables before it writes them again, and the sample's tables have
the names of a real ERP's (`clientes`, `vendas`, ...): pointed at that ERP, it would drop the
ERP's tables. So before it drops anything, a writer lists the database's tables and refuses
(`UsageError`, exit 2, nothing touched) unless the database

- holds no table at all, or
- holds the sample's mark: the table `sample_marker` with its one row, `dwetl sample`, which
  every writer commits before it writes any other table (a sample written half-way is still
  recognised), and which no other writer drops; or
- was written before the mark existed: it holds nothing but the sample's own tables, the
  ground-truth tables `sample_damage` and `sample_info` among them.

Tables that are not the sample's (a user's notes beside a marked sample) are never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dwetl.core.errors import UsageError
from dwetl.core.urls import DbUrl

MARKER_TABLE = "sample_marker"
MARK = "dwetl sample"
#: the tables a sample written before the mark had, beside the OLTP tables
LEGACY_TRUTH = frozenset({"sample_damage", "sample_info"})
#: portable across SQLite, PostgreSQL and MariaDB; never dropped by a writer
MARKER_DDL = "CREATE TABLE IF NOT EXISTS sample_marker (escrito_por VARCHAR(40) NOT NULL)"
MARKER_WRITES = ("DELETE FROM sample_marker", "INSERT INTO sample_marker VALUES ('dwetl sample')")
MARKER_READ = "SELECT escrito_por FROM sample_marker"
_SHOWN = 5


def foreign_tables(tables: Sequence[str], ours: Iterable[str], marks: Sequence[str]) -> list[str]:
    """The tables that make the database not the sample's to write (empty: it may write).

    `tables`: every table and view of the database, those outside the schema the sample
    writes to as `schema.table`; `ours`: the sample's tables; `marks`: the rows of
    `sample_marker` (none where it is absent).

    >>> ours = {"clientes", "vendas", "sample_damage", "sample_info", "sample_marker"}
    >>> foreign_tables([], ours, [])
    []
    >>> foreign_tables(["clientes", "notas", "sample_marker"], ours, ["dwetl sample"])
    []
    >>> foreign_tables(["clientes", "vendas"], ours, [])
    ['clientes', 'vendas']
    >>> foreign_tables(["clientes", "sample_damage", "sample_info"], ours, [])
    []
    """
    if list(marks) == [MARK]:
        return []
    present = {t.lower() for t in tables}
    mine = {t.lower() for t in ours} | {MARKER_TABLE}
    others = sorted(t for t in tables if t.lower() not in mine)
    if others or not present:
        return others
    # only the sample's names: the sample's if its ground truth is there, else an ERP's
    return [] if present >= LEGACY_TRUTH else sorted(tables)


def refuse_unless_ours(
    url: DbUrl, tables: Sequence[str], ours: Iterable[str], marks: Sequence[str]
) -> None:
    """A one-line UsageError (exit 2) naming the database and what to do, where the sample
    may not write (see `foreign_tables`)."""
    foreign = foreign_tables(tables, ours, marks)
    if not foreign:
        return
    shown = ", ".join(foreign[:_SHOWN]) + (
        f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else ""
    )
    raise UsageError(
        f"sample: refusing to write into {url.masked}: it holds tables dwetl sample did not "
        f"write ({shown}), which it would drop; sample writes only into an empty database or "
        f"one it wrote (marked by its table {MARKER_TABLE}): point --source or "
        "DWETL_SOURCE_URL at a new, empty database"
    )
