"""SQL text as written: splitting statements with sqlglot's tokenizer (a `;` inside a string is
safe), and the end of one query without its `;` and trailing comments."""

from __future__ import annotations

from functools import lru_cache

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


@lru_cache(maxsize=64)
def query_text(sql: str) -> str:
    """One query as written, up to its last character of code: without the `;` that ends it
    and any comment after that, so that it can be wrapped in parentheses (`SELECT * FROM (...)
    src`). Quotes are respected: a `--` or `;` inside a string or a quoted name stays.

    >>> query_text("SELECT 1 AS x;\\n-- end of file\\n")
    'SELECT 1 AS x'
    >>> query_text("SELECT '--;' AS x; /* done */ -- really")
    "SELECT '--;' AS x"
    >>> query_text("-- only a comment;")
    ''
    """
    end = 0  # just after the last character of code
    at, n = 0, len(sql)
    while at < n:
        char = sql[at]
        if char == "-" and sql.startswith("--", at):
            newline = sql.find("\n", at)
            at = n if newline < 0 else newline + 1
            continue
        if char == "/" and sql.startswith("/*", at):
            close = sql.find("*/", at + 2)
            at = n if close < 0 else close + 2
            continue
        if char in "'\"`":
            close = at + 1
            while close < n:  # a doubled quote ('it''s') is one character of the string
                if sql[close] == char:
                    if close + 1 < n and sql[close + 1] == char:
                        close += 2
                        continue
                    break
                close += 1
            at = close + 1
            end = min(at, n)
            continue
        if not char.isspace() and char != ";":
            end = at + 1
        at += 1
    return sql[:end]
