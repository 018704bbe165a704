"""`dwetl sample` into a fresh MariaDB database: LOAD DATA, exact counts, truthful ground truth."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql
import pytest

from dwetl.sample import generate_sample, write_sample

ROWS = 2_000


def _fetch(database: str) -> Callable[[str], list[tuple[Any, ...]]]:
    def fetch(sql: str) -> list[tuple[Any, ...]]:
        conn = pymysql.connect(
            host="127.0.0.1", port=3306, user="root", database=database, charset="utf8mb4"
        )
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())
        finally:
            conn.close()

    return fetch


@pytest.mark.servers
def test_sample_into_mariadb(
    mysql_database: str,
    tmp_path: Path,
    truth_check: Callable[..., int],
    dwetl: Any,
    shipped_indexes: set[tuple[str, str, str]],
) -> None:
    url = f"mysql://root@127.0.0.1:3306/{mysql_database}"
    args = ("--rows", str(ROWS), "--seed", "4", "--damage", "0.1")
    result = dwetl("sample", "--source", url, *args, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    fetch = _fetch(mysql_database)
    assert fetch("SELECT COUNT(DISTINCT id) FROM venda_itens") == [(ROWS,)]
    for tabela, linhas in fetch("SELECT tabela, linhas FROM sample_info"):
        assert fetch(f"SELECT COUNT(*) FROM {tabela}") == [(linhas,)]
    assert truth_check(fetch) > 300
    nulls = fetch("SELECT COUNT(*) FROM clientes WHERE nome IS NULL")[0][0]
    recorded = fetch(
        "SELECT COUNT(*) FROM sample_damage WHERE tabela = 'clientes' "
        "AND classe = 'nulo_obrigatorio'"
    )[0][0]
    assert nulls == recorded > 0  # \\N in the CSV is NULL, never the text 'N' or ''
    before = fetch("SELECT * FROM vendas ORDER BY id")

    write_sample(generate_sample(ROWS, 4, 0.1, legacy_bytes=False), url)
    assert fetch("SELECT * FROM vendas ORDER BY id") == before
    indexes = fetch(
        "SELECT INDEX_NAME, TABLE_NAME, COLUMN_NAME FROM information_schema.STATISTICS "
        "WHERE TABLE_SCHEMA = DATABASE()"
    )
    assert set(indexes) == shipped_indexes
