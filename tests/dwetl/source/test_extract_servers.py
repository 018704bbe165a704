"""The same extract files on PostgreSQL and MariaDB give exactly what they give on SQLite."""

from __future__ import annotations

import dataclasses
import secrets
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import psycopg
import pymysql
import pytest

from dwetl.core.config import Settings, load_settings
from dwetl.core.errors import DwetlError, UsageError
from dwetl.core.paths import sql_root
from dwetl.entities.registry import all_entities, get_entity
from dwetl.source.conform import ORIGINAL
from dwetl.source.extract import extract

pytestmark = pytest.mark.servers

ROWS: dict[str, list[tuple[object, ...]]] = {
    "clientes": [
        (1, "João  Silva", "123.456.789-09", "j@x.com", "São Paulo", "sp", "2020-01-02",
         "2024-01-01 10:00:00"),
        (1, "João Silva", "12345678909", "j@x.com", "São Paulo", "SP", "2020-01-02",
         "2024-02-01 10:00:01"),  # whole seconds: MariaDB TIMESTAMP has no fraction
        (2, None, None, None, None, None, None, "2024-01-03 00:00:00"),
    ],
    "produtos": [
        (3, "Geladeira", "Eletrodomésticos", "Brastemp", "3999.99", 1, "2024-01-01 00:00:00"),
    ],
    "lojas": [(2, "Loja Centro", "Recife", "PE", "Nordeste", "2019-05-01", "2024-01-01 00:00:00")],
    "vendedores": [(9, "Ana", 2, "2021-03-01", "2024-01-01 00:00:00")],
    "descontos": [
        (5, "BF", "Black Friday", "Promo??o Autom?tica", "Percentual", "Item", "15.00",
         "2024-11-01", "2024-11-30", "2024-01-01 00:00:00"),
    ],
    "vendas": [
        (1, 1, 2, 9, "2024-03-05 10:00:00", "Loja Física", "2024-03-05 10:00:00"),
        (1, 1, 2, None, "2024-03-05 10:00:00", "E-commerce", "2024-03-07 08:00:00"),
    ],
    "venda_itens": [
        (10, 1, 3, 2, "1234567890.12", "0.50", "2024-03-06 00:00:00"),
        (11, 1, 3, 1, "0.10", None, "2024-03-05 10:00:00"),
    ],
    "venda_descontos": [
        (100, 1, 10, 5, "0.50", "2024-03-06 00:00:00"),
        (101, 1, None, 5, "1.00", "2024-03-08 00:00:00"),
    ],
    "metas": [
        (1, 2024, 3, 2, None, "12345678901.23", "2024-01-01 00:00:00"),
        (2, 2024, 3, 2, 9, "5000.00", "2024-01-01 00:00:00"),
    ],
}  # fmt: skip


def _statements() -> list[str]:
    ddl = (sql_root() / "source" / "oltp.sql").read_text(encoding="utf-8")
    lines = [line for line in ddl.splitlines() if not line.lstrip().startswith("--")]
    return [s for s in "\n".join(lines).split(";") if s.strip()]


def _load(cursor: object, placeholder: str) -> None:
    for statement in _statements():
        cursor.execute(statement)  # type: ignore[attr-defined]
    for table, rows in ROWS.items():
        marks = ", ".join([placeholder] * len(rows[0]))
        cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)  # type: ignore[attr-defined]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    path = tmp_path / "oltp.sqlite"
    with sqlite3.connect(path) as conn:
        _load(conn, "?")
    return f"sqlite:///{path}"


@pytest.fixture
def postgresql_url(server_unreachable: Any) -> Iterator[str]:
    name = f"dwetl_src_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(
            "host=localhost port=5432 user=postgres dbname=postgres", autocommit=True
        )
    except psycopg.Error as exc:
        server_unreachable("PostgreSQL on localhost:5432", exc)
    admin.execute(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(f"host=localhost port=5432 user=postgres dbname={name}") as conn:
            _load(conn.cursor(), "%s")
        yield f"postgresql://postgres@localhost:5432/{name}"
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture
def mysql_url(server_unreachable: Any) -> Iterator[str]:
    name = f"dwetl_src_{secrets.token_hex(6)}"
    try:
        admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    except pymysql.MySQLError as exc:
        server_unreachable("MariaDB on 127.0.0.1:3306", exc)
    admin.cursor().execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    try:
        conn = pymysql.connect(
            host="127.0.0.1", user="root", database=name, autocommit=True, charset="utf8mb4"
        )
        with conn:
            _load(conn.cursor(), "%s")
        yield f"mysql://root@127.0.0.1:3306/{name}"
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


def _settings(url: str, tmp_path: Path) -> Settings:
    settings = load_settings(
        source=url, dw=f"duckdb:///{tmp_path / 'dw.duckdb'}", cwd=tmp_path, env={}
    )
    return dataclasses.replace(settings, watermark_overlap_seconds=0.0)


def _all_extracts(url: str, tmp_path: Path) -> dict[str, pl.DataFrame]:
    settings = _settings(url, tmp_path)
    return {s.name: extract(s, settings, None).frame.sort(pl.all()) for s in all_entities()}


@pytest.mark.parametrize("server", ["postgresql_url", "mysql_url"])
def test_every_extract_matches_sqlite_exactly(
    server: str, sqlite_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(server)
    expected = _all_extracts(sqlite_url, tmp_path)
    got = _all_extracts(url, tmp_path)
    for name, frame in expected.items():
        assert got[name].schema == frame.schema, name
        assert got[name].equals(frame), name
    vendas = got["fact_vendas"].sort("id_item_origem")
    assert vendas["preco_unitario"].cast(pl.String).to_list() == ["1234567890.12", "0.10"]
    assert vendas["id_vendedor"].to_list() == [None, None]  # the newest header has no seller


@pytest.mark.parametrize("server", ["sqlite_url", "postgresql_url", "mysql_url"])
def test_watermark_filter_on_every_source(
    server: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    settings = _settings(request.getfixturevalue(server), tmp_path)
    got = extract(get_entity("dim_cliente"), settings, datetime(2024, 1, 3))
    assert got.frame["atualizado_em"].to_list() == [datetime(2024, 2, 1, 10, 0, 1)]
    facts = extract(get_entity("fact_descontos"), settings, datetime(2024, 3, 7, 12))
    assert facts.frame["id_venda_desconto_origem"].to_list() == [101]


@pytest.mark.parametrize("server", ["postgresql_url", "mysql_url"])
def test_wrong_columns_on_a_server_name_the_file(
    server: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    folder = tmp_path / "erp"
    folder.mkdir()
    (folder / "dim_vendedor.sql").write_text(
        "SELECT id AS id_vendedor_origem, nome, id_loja AS loja, data_admissao, atualizado_em "
        "FROM vendedores",
        encoding="utf-8",
    )
    settings = _settings(request.getfixturevalue(server), tmp_path)
    with pytest.raises(UsageError, match=r"erp/dim_vendedor\.sql: missing column\(s\) id_loja_"):
        extract(get_entity("dim_vendedor"), settings, None, sql_dir=folder)


@pytest.mark.parametrize("server", ["postgresql_url", "mysql_url"])
def test_fact_parts_read_the_same_changes_as_on_sqlite(
    server: str, sqlite_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # :since bound as a literal in the parts' SQL (NULL on a full run): the same rows everywhere
    url = request.getfixturevalue(server)
    sizes = []
    for watermark in (None, datetime(2024, 3, 5, 12), datetime(2024, 3, 7, 12)):
        for name in ("fact_vendas", "fact_descontos"):
            spec = get_entity(name)
            expected = extract(spec, _settings(sqlite_url, tmp_path), watermark).frame
            got = extract(spec, _settings(url, tmp_path), watermark).frame
            assert got.sort(pl.all()).equals(expected.sort(pl.all())), (name, watermark)
            sizes.append(expected.height)
    # full; after 03-05 12:00 (item 10, and item 11 by its header); after 03-07 12:00 (101)
    assert sizes == [2, 2, 2, 2, 0, 1]


def _goals_typed(url: str, tmp_path: Path, sql_type: str, values: str) -> pl.DataFrame:
    """fact_metas read from a source whose `valor_meta` is `sql_type`, with goals of `values`
    (a comma-separated list) after the two of ROWS; sorted by id."""
    rows = ", ".join(f"({at}, {v})" for at, v in enumerate(values.split(", "), 3))
    with psycopg.connect(url) as conn:
        conn.execute(f"ALTER TABLE metas ALTER COLUMN valor_meta TYPE {sql_type}")
        conn.execute(
            "INSERT INTO metas SELECT id, 2024, id + 1, 2, NULL, v, '2024-01-01' FROM (VALUES "
            f"{rows}) AS t(id, v)"
        )
    frame = extract(get_entity("fact_metas"), _settings(url, tmp_path), None).frame
    return frame.sort("id_meta_origem")


def test_postgresql_numeric_past_ten_decimals_is_kept_as_its_text(
    postgresql_url: str, tmp_path: Path
) -> None:
    """connectorx rounds a `numeric` past its 10th decimal, and fails the whole query from
    7.93e18 on (1e20 failed fact_vendas): such a value comes as its text, so 17.50000000001 is
    quarantined, not loaded as 17.50, and 1e20 is judged as any other value."""
    values = "17.50000000001, 1e30, 17.500, 1e20, -7.95e18"
    frame = _goals_typed(postgresql_url, tmp_path, "numeric", values)
    assert frame["valor_meta"].to_list()[2:] == [
        None,
        Decimal(10**30),
        Decimal("17.50"),
        Decimal(10**20),
        Decimal(-795 * 10**16),
    ]
    assert frame[ORIGINAL].struct.field("valor_meta").to_list()[2:] == [
        "17.50000000001",
        None,
        None,
        None,
        None,
    ]


def test_postgresql_real_is_read_as_the_decimal_it_prints_as(
    postgresql_url: str, tmp_path: Path
) -> None:
    """A goal kept as `real` (0.1 stored as 0.100000001490116...) was rejected for its 15
    digits; it loads as PostgreSQL prints it."""
    frame = _goals_typed(postgresql_url, tmp_path, "real", "0.1, 17.35, 123456.78")
    got = frame["valor_meta"].to_list()[2:]
    assert got == [Decimal("0.10"), Decimal("17.35"), Decimal("123456.78")]
    assert ORIGINAL not in frame.columns


def test_a_postgresql_column_connectorx_cannot_read_fails_its_entity_in_one_line(
    postgresql_url: str, tmp_path: Path, dwetl: Any
) -> None:
    """A `money` column made connectorx panic: a BaseException that passed every handler, so
    the whole run ended in a traceback (exit 1) and no later entity ran. Now it fails its
    entity, naming the file and the way out; the others load."""
    with psycopg.connect(postgresql_url) as conn:
        conn.execute("ALTER TABLE metas ALTER COLUMN valor_meta TYPE money USING valor_meta::money")
    with pytest.raises(DwetlError, match=r"fact_metas\.sql: .*not implemented: money.*cast that"):
        extract(get_entity("fact_metas"), _settings(postgresql_url, tmp_path), None)

    dw = f"duckdb:///{tmp_path / 'dw.duckdb'}"
    assert dwetl("init", "--dw", dw, cwd=tmp_path).returncode == 0
    ran = dwetl("run", "--entity", "all", "--source", postgresql_url, "--dw", dw,
                "--max-reject-ratio", "1", cwd=tmp_path)  # fmt: skip
    assert ran.returncode == 3, ran.stdout + ran.stderr  # partial: the rest loaded
    assert "Traceback" not in ran.stderr, ran.stderr
    said = " ".join(ran.stdout.split())  # the message wraps to the terminal's width
    assert "FAIL fact_metas" in said and "(not implemented: money): cast" in said, ran.stdout


def test_a_postgresql_query_returning_a_column_twice_names_the_file(
    postgresql_url: str, tmp_path: Path
) -> None:
    """PostgreSQL keeps both names of two select items with one alias; the entity failed with
    Polars' `DuplicateError`, naming no file."""
    folder = tmp_path / "erp"
    folder.mkdir()
    shipped = (sql_root() / "extract" / "dim_loja.sql").read_text(encoding="utf-8")
    (folder / "dim_loja.sql").write_text(
        shipped.replace("l.cidade         AS cidade", "l.cidade AS cidade, l.uf AS nome"),
        encoding="utf-8",
    )
    settings = dataclasses.replace(_settings(postgresql_url, tmp_path), sql_dir=folder)
    with pytest.raises(
        UsageError, match=r"erp/dim_loja\.sql: column\(s\) returned more than once: nome"
    ):
        extract(get_entity("dim_loja"), settings, None)
