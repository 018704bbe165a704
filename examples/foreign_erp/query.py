"""Run a SQL file on a SQLite or DuckDB database file and print the last statement's rows.

    python query.py data/erp.sqlite erp.sql                       # build the example source
    python query.py data/erp.sqlite checks/net_sales_source.sql   # one line per row: a|b|c

A `.duckdb` file is opened read-only (the warehouse: query it between runs). The rows are
printed as SQLite's shell prints them by default, `|` between the values, after a header line.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any


def run(database: Path, script: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The column names and rows of the script's last statement (none: no rows)."""
    if database.suffix == ".duckdb":
        import duckdb

        with duckdb.connect(str(database), read_only=True) as con:
            result = con.execute(script)
            names = [d[0] for d in result.description or []]
            return names, result.fetchall() if names else []
    database.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(database) as con:
        statements, pending = [], ""
        for line in script.splitlines(keepends=True):
            pending += line
            if sqlite3.complete_statement(pending):
                statements.append(pending)
                pending = ""
        cursor = con.cursor()
        for statement in statements:
            cursor.execute(statement)
        names = [d[0] for d in cursor.description or []]
        return names, cursor.fetchall() if names else []


def main() -> None:
    database, script = Path(sys.argv[1]), Path(sys.argv[2]).read_text(encoding="utf-8")
    names, rows = run(database, script)
    if names:
        print("|".join(names))
    for row in rows:
        print("|".join("" if v is None else str(v) for v in row))


if __name__ == "__main__":
    main()
