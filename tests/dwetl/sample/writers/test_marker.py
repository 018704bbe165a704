"""`dwetl sample` writes only into an empty database or one it wrote; `dwetl demo` only into its
own embedded files: a user's tables are never dropped (SQLite, PostgreSQL, MariaDB), through
the real console script."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

from dwetl.core.urls import parse_url
from dwetl.sample import generate_sample, write_sample

Query = Callable[[str], list[tuple[Any, ...]]]


def _query(url: str) -> Query:
    """Run one statement on the database at `url` (committed); its rows."""
    parsed = parse_url(url, setting="test")

    def query(sql: str) -> list[tuple[Any, ...]]:
        if parsed.scheme == "sqlite":
            assert parsed.path is not None
            with closing(sqlite3.connect(parsed.path)) as con:
                rows = con.execute(sql).fetchall()
                con.commit()
                return rows
        if parsed.scheme == "postgresql":
            with psycopg.connect(
                host=parsed.host, port=parsed.port, user=parsed.user, dbname=parsed.database
            ) as pg:
                cur = pg.execute(sql.encode())
                return cur.fetchall() if cur.description else []
        con = pymysql.connect(
            host=parsed.host, port=parsed.port or 3306, user=parsed.user,
            database=parsed.database, autocommit=True,
        )  # fmt: skip
        with con, con.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())

    return query


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a new, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'erp.sqlite'}"
    request.applymarker(pytest.mark.servers)
    servers = request.getfixturevalue("server_databases")
    return str(servers.new(request.param))


def _with_password(url: str) -> str:
    """`url` with a password (trust auth and MariaDB's root ignore it here): it must not show."""
    return url.replace("postgres@", "postgres:Pw-s3cret@") if "postgres@" in url else url


def _sample(dwetl: Any, url: str, cwd: Path) -> Any:
    return dwetl("sample", "--rows", "60", "--source", url, cwd=cwd, timeout=300)


def test_a_database_with_a_user_table_is_refused_and_left_intact(
    database: str, tmp_path: Path, dwetl: Any
) -> None:
    query = _query(database)
    query("CREATE TABLE clientes (id INTEGER PRIMARY KEY, nome VARCHAR(80))")
    query("INSERT INTO clientes VALUES (1, 'Cliente de verdade'), (2, 'Outro')")
    url = _with_password(database)

    result = _sample(dwetl, url, tmp_path)

    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: sample: refusing"), lines
    assert parse_url(url, setting="test").masked in lines[0] and "clientes" in lines[0]
    assert "new, empty database" in lines[0]
    assert "s3cret" not in result.stdout + result.stderr
    assert query("SELECT id, nome FROM clientes ORDER BY id") == [
        (1, "Cliente de verdade"),
        (2, "Outro"),
    ]
    # nothing of the sample was written either
    assert query("SELECT COUNT(*) FROM clientes") == [(2,)]
    with pytest.raises(Exception, match="sample_marker"):
        query("SELECT * FROM sample_marker")


def test_an_empty_database_and_one_sample_wrote_are_accepted(
    database: str, tmp_path: Path, dwetl: Any
) -> None:
    query = _query(database)
    first = _sample(dwetl, database, tmp_path)
    assert first.returncode == 0, first.stderr
    assert query("SELECT escrito_por FROM sample_marker") == [("dwetl sample",)]
    # a user's table beside a sample it wrote: the sample is written again, the table kept
    query("CREATE TABLE notas (texto VARCHAR(20))")
    query("INSERT INTO notas VALUES ('fica')")
    query("UPDATE clientes SET nome = 'mudado'")

    again = _sample(dwetl, database, tmp_path)

    assert again.returncode == 0, again.stderr
    assert query("SELECT COUNT(*) FROM clientes WHERE nome = 'mudado'") == [(0,)]
    assert query("SELECT COUNT(DISTINCT id) FROM venda_itens") == [(60,)]
    assert query("SELECT texto FROM notas") == [("fica",)]
    assert query("SELECT escrito_por FROM sample_marker") == [("dwetl sample",)]


def test_a_sample_written_before_the_marker_existed_is_accepted(tmp_path: Path, dwetl: Any) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    write_sample(generate_sample(60, 1, 0.0), url)
    query = _query(url)
    query("DROP TABLE sample_marker")  # as an earlier dwetl wrote it: ground truth, no marker
    write_sample(generate_sample(60, 2, 0.0), url)
    assert query("SELECT escrito_por FROM sample_marker") == [("dwetl sample",)]
    # the ground truth alone is not the mark: the same names and a table of the user's are not
    query("DROP TABLE sample_marker")
    query("CREATE TABLE notas (texto VARCHAR(20))")
    refused = _sample(dwetl, url, tmp_path)
    assert refused.returncode == 2 and "notas" in refused.stderr
    assert query("SELECT COUNT(*) FROM clientes") != [(0,)]


@pytest.mark.servers
def test_a_table_in_another_schema_is_a_user_table(
    server_databases: Any, tmp_path: Path, dwetl: Any
) -> None:
    url = server_databases.new("postgresql")
    query = _query(url)
    query("CREATE SCHEMA erp")
    query("CREATE TABLE erp.vendas (id INTEGER)")
    result = _sample(dwetl, url, tmp_path)
    assert result.returncode == 2 and "erp.vendas" in result.stderr
    assert query("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]


@pytest.mark.servers
@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_demo_never_touches_the_configured_databases(
    kind: str, server_databases: Any, tmp_path: Path, dwetl: Any
) -> None:
    source, dw = server_databases.new(kind), server_databases.new("postgresql")
    _query(source)("CREATE TABLE clientes (id INTEGER PRIMARY KEY, nome VARCHAR(80))")
    _query(source)("INSERT INTO clientes VALUES (7, 'Produção')")
    (tmp_path / "dwetl.toml").write_text(f'[source]\nurl = "{source}"\n\n[dw]\nurl = "{dw}"\n')

    result = dwetl(
        "demo", "--rows", "300", cwd=tmp_path, env={"DWETL_SOURCE_URL": source, "DWETL_DW_URL": dw}
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "embedded databases only" in result.stdout
    assert "DWETL_SOURCE_URL, DWETL_DW_URL and dwetl.toml's URLs are not read" in result.stdout
    assert (tmp_path / "data" / "oltp.sqlite").exists()
    assert (tmp_path / "data" / "warehouse.duckdb").exists()
    assert _query(source)("SELECT id, nome FROM clientes") == [(7, "Produção")]
    tables = (
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()"
        if kind == "mysql"
        else "SELECT COUNT(*) FROM pg_tables WHERE schemaname NOT IN "
        "('pg_catalog', 'information_schema')"
    )
    assert _query(source)(tables) == [(1,)]
    assert _query(dw)(
        "SELECT COUNT(*) FROM pg_tables WHERE schemaname NOT IN "
        "('pg_catalog', 'information_schema')"
    ) == [(0,)]


@pytest.mark.parametrize(
    ("option", "url"),
    [("--source", "postgresql://u:Pw-s3cret@localhost:5432/erp"), ("--dw", "sqlite:///x.db")],
)
def test_demo_takes_only_embedded_files(option: str, url: str, tmp_path: Path, dwetl: Any) -> None:
    result = dwetl("demo", "--rows", "100", option, url, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: demo {option}"), lines
    assert "s3cret" not in result.stdout + result.stderr
    assert not (tmp_path / "data").exists()


def test_demo_help_says_it_reads_no_configured_url(tmp_path: Path, dwetl: Any) -> None:
    result = dwetl("demo", "--help", cwd=tmp_path, env={"COLUMNS": "200"})
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "Embedded databases only" in text
    assert "DWETL_SOURCE_URL, DWETL_DW_URL and dwetl.toml's URLs are not read" in text
