"""Splitting SQL into statements with sqlglot's tokenizer (a `;` inside a string is safe)."""

from __future__ import annotations

import sqlglot
from sqlglot import TokenType


def split_statements(sql: str, dialect: str = "postgres") -> list[str]:
    """The statements of `sql`, each as written (comments between statements dropped).

    >>> split_statements("SELECT ';'; -- note\\nSELECT 2;")
    ["SELECT ';'", 'SELECT 2']
    """
    statements: list[str] = []
    start: int | None = None
    end = 0
    for token in sqlglot.Dialect.get_or_raise(dialect).tokenize(sql):
        if token.token_type == TokenType.SEMICOLON:
            if start is not None:
                statements.append(sql[start : end + 1])
            start = None
            continue
        if start is None:
            start = token.start
        end = token.end
    if start is not None:
        statements.append(sql[start : end + 1])
    return statements


def first_line(statement: str, width: int = 80) -> str:
    """The start of a statement for an error message: first line, at most `width` characters.

    >>> first_line("CREATE TABLE x (\\n  a INT\\n)")
    'CREATE TABLE x ('
    """
    line = statement.strip().splitlines()[0].strip() if statement.strip() else ""
    return line if len(line) <= width else line[: width - 3] + "..."
