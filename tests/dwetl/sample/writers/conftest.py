"""Helpers for the writer tests: a fresh MariaDB database, and the ground-truth check."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pymysql
import pytest

from dwetl.core.paths import sql_root
from dwetl.sample.textdamage import TEXT_CLASSES, damage_text

Fetch = Callable[[str], list[tuple[Any, ...]]]


def as_text(value: Any) -> Any:
    """A source value as the ground truth writes it (bytes stay bytes)."""
    if value is None or isinstance(value, bytes | str):
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | float):
        return f"{value:.2f}"
    return str(value)


def check_truth(fetch: Fetch) -> int:
    """Every sample_damage row names one source row whose column holds valor_danificado;
    text classes recompute from valor_limpo. Returns how many rows were checked."""
    truth = fetch(
        "SELECT tabela, id, atualizado_em, coluna, classe, valor_limpo, valor_danificado "
        "FROM sample_damage"
    )
    by_column: dict[tuple[str, str], dict[tuple[int, str], list[Any]]] = {}
    for tabela, _, _, coluna, *_ in truth:
        if (tabela, coluna) not in by_column:
            index: dict[tuple[int, str], list[Any]] = {}
            for id_, at, value in fetch(f"SELECT id, atualizado_em, {coluna} FROM {tabela}"):
                index.setdefault((id_, as_text(at)), []).append(value)
            by_column[(tabela, coluna)] = index
    for tabela, id_, at, coluna, classe, limpo, danificado in truth:
        values = by_column[(tabela, coluna)].get((id_, as_text(at)), [])
        assert len(values) == 1, (tabela, id_, at, coluna)
        value = values[0]
        if isinstance(danificado, str) and coluna in {
            "preco_lista",
            "valor",
            "valor_meta",
            "valor_desconto",
            "preco_unitario",
        }:
            assert float(value) == pytest.approx(float(danificado)), (tabela, id_, coluna)
        else:
            assert as_text(value) == danificado, (tabela, id_, coluna, value, danificado)
        if classe in TEXT_CLASSES:
            assert damage_text(limpo, classe, id_) == value, (tabela, id_, classe)
    return len(truth)


@pytest.fixture
def mysql_database(server_unreachable: Any) -> Iterator[str]:
    """A new, empty MariaDB database on 127.0.0.1:3306, dropped after the test."""
    try:
        admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    except pymysql.MySQLError as exc:
        server_unreachable("MariaDB on 127.0.0.1:3306", exc)
    name = f"dwetl_test_{secrets.token_hex(6)}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    yield name
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.close()


@pytest.fixture
def truth_check() -> Callable[[Fetch], int]:
    """`truth_check(fetch)`: assert the ground truth against the source; rows checked."""
    return check_truth


@pytest.fixture(scope="session")
def shipped_indexes() -> set[tuple[str, str, str]]:
    """(index, table, column) of every index in sql/source/oltp_indexes.sql."""
    text = (sql_root() / "source" / "oltp_indexes.sql").read_text(encoding="utf-8")
    found = set(re.findall(r"CREATE INDEX (\w+) ON (\w+) \((\w+)\);", text))
    assert len(found) == text.count("CREATE INDEX") >= 14
    return found
