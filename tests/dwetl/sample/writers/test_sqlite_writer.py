"""`dwetl sample` into a real SQLite file: exact counts, determinism, truthful ground truth."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from dwetl.sample import generate_sample, write_sample
from dwetl.sample.writers.base import source_schema_sql, table_names

ROWS = 3_000
TABLES = table_names(source_schema_sql())
OLTP = [t for t in TABLES if not t.startswith("sample_")]

DWETL = Path(sys.executable).with_name("dwetl")


def dwetl(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    """The real console script in a subprocess (a module-scoped fixture needs it too)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DWETL_")}
    return subprocess.run(
        [str(DWETL), *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _sample(cwd: Path, name: str, *args: str) -> Path:
    result = dwetl("sample", "--source", f"sqlite:///{name}", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert "sample_damage" in result.stdout
    return cwd / name


def _dump(path: Path, table: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("sample")
    return _sample(cwd, "oltp.sqlite", "--rows", str(ROWS), "--seed", "2", "--damage", "0.1")


@pytest.fixture(scope="module")
def conn(source: Path) -> sqlite3.Connection:
    return sqlite3.connect(source)


def test_exactly_n_items_and_info(conn: sqlite3.Connection) -> None:
    assert conn.execute("SELECT COUNT(DISTINCT id) FROM venda_itens").fetchone() == (ROWS,)
    info = {r[0]: r[1:] for r in conn.execute("SELECT * FROM sample_info")}
    assert set(info) == set(OLTP)
    for table, (linhas, ids, semente, itens, taxa) in info.items():
        assert conn.execute(f"SELECT COUNT(*), COUNT(DISTINCT id) FROM {table}").fetchone() == (
            linhas,
            ids,
        )
        assert (semente, itens, taxa) == (2, ROWS, 0.1)


def _api_sample(path: Path, rows: int, seed: int, damage: float) -> Path:
    write_sample(generate_sample(rows, seed, damage), f"sqlite:///{path}")
    return path


def test_same_seed_same_file_other_seed_other(tmp_path: Path, source: Path) -> None:
    again = _api_sample(tmp_path / "again.sqlite", ROWS, 2, 0.1)
    for table in TABLES:
        assert _dump(again, table) == _dump(source, table), table
    other = _api_sample(tmp_path / "other.sqlite", ROWS, 3, 0.1)
    assert _dump(other, "clientes") != _dump(source, "clientes")
    assert _dump(other, "sample_damage") != _dump(source, "sample_damage")


def test_every_recorded_damage_is_in_the_source(
    conn: sqlite3.Connection, truth_check: Callable[..., int]
) -> None:
    assert truth_check(lambda sql: conn.execute(sql).fetchall()) > 500


def test_legacy_text_is_a_blob_that_is_not_utf8(conn: sqlite3.Connection) -> None:
    blobs = conn.execute(
        "SELECT nome FROM clientes WHERE typeof(nome) = 'blob' "
        "UNION ALL SELECT canal FROM vendas WHERE typeof(canal) = 'blob'"
    ).fetchall()
    assert blobs
    for (raw,) in blobs:
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        assert raw.decode("cp1252")
    n_truth = conn.execute(
        "SELECT COUNT(*) FROM sample_damage WHERE classe = 'codificacao_legada' "
        "AND typeof(valor_danificado) = 'blob'"
    ).fetchone()[0]
    n_cells = sum(
        conn.execute(f"SELECT COUNT(*) FROM {t} WHERE typeof({c}) = 'blob'").fetchone()[0]
        for t, c in conn.execute(
            "SELECT DISTINCT tabela, coluna FROM sample_damage WHERE classe = 'codificacao_legada'"
        ).fetchall()
    )
    assert n_truth == n_cells > 0


@pytest.mark.parametrize(
    ("table", "constraint"),
    [
        ("descontos", "CK_DIM_DESCONTO_tipo"),
        ("descontos", "CK_DIM_DESCONTO_metodo"),
        ("descontos", "CK_DIM_DESCONTO_aplica_em"),
        ("produtos", "CK_DIM_PRODUTO_categoria"),
        ("vendas", "CK_FACT_VENDAS_canal"),
        ("clientes", "CK_DIM_CLIENTE_uf"),
        ("lojas", "CK_DIM_LOJA_regiao"),
    ],
)
def test_undamaged_values_pass_the_dw_checks(
    conn: sqlite3.Connection,
    ddl_domains: dict[str, tuple[str, set[str]]],
    table: str,
    constraint: str,
) -> None:
    column, allowed = ddl_domains[constraint]
    values = {
        r[0]
        for r in conn.execute(
            f"SELECT {column} FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM sample_damage d "
            f"WHERE d.tabela = '{table}' AND d.id = t.id AND d.coluna = '{column}')"
        )
    }
    assert values and values <= allowed
    damaged = {
        r[0]
        for r in conn.execute(
            f"SELECT valor_danificado FROM sample_damage WHERE tabela = '{table}' "
            f"AND coluna = '{column}' AND recuperavel AND typeof(valor_danificado) = 'text'"
        )
    }
    assert damaged and not damaged & allowed  # every recorded text damage really damages


def test_undamaged_items_pass_the_money_checks(conn: sqlite3.Connection) -> None:
    bad = conn.execute(
        "SELECT COUNT(*) FROM venda_itens i WHERE (quantidade <= 0 "
        "OR valor_desconto > quantidade * preco_unitario + 1e-9 OR valor_desconto < 0) "
        "AND NOT EXISTS (SELECT 1 FROM sample_damage d WHERE d.tabela = 'venda_itens' "
        "AND d.id = i.id AND NOT d.recuperavel)"
    ).fetchone()[0]
    assert bad == 0
    rejected = conn.execute(
        "SELECT COUNT(*) FROM sample_damage WHERE tabela = 'venda_itens' AND NOT recuperavel"
    ).fetchone()[0]
    # 10% of the items get a row damage, dealt over 5 classes; 2 of them cannot load
    assert rejected == round(0.1 * ROWS) // 5 * 2


def test_reads_brazilian(conn: sqlite3.Connection) -> None:
    ufs = {r[0] for r in conn.execute("SELECT DISTINCT uf FROM lojas")}
    assert "SP" in ufs
    accented = conn.execute(
        "SELECT COUNT(*) FROM clientes WHERE typeof(nome) = 'text' AND (nome LIKE '%ã%' "
        "OR nome LIKE '%ç%' OR nome LIKE '%é%' OR nome LIKE '%ô%' OR nome LIKE '%í%')"
    ).fetchone()[0]
    assert accented > 20
    assert conn.execute("SELECT COUNT(*) FROM clientes WHERE cidade = 'São Paulo'").fetchone()[0]


def test_rewrite_replaces_the_sample_and_keeps_other_tables(tmp_path: Path) -> None:
    path = _api_sample(tmp_path / "src.sqlite", 500, 1, 0.02)
    with closing(sqlite3.connect(path)) as c:
        c.execute("CREATE TABLE notas (texto TEXT)")
        c.execute("INSERT INTO notas VALUES ('fica')")
        c.commit()
    _api_sample(path, 200, 1, 0.02)
    with closing(sqlite3.connect(path)) as c:
        assert c.execute("SELECT COUNT(DISTINCT id) FROM venda_itens").fetchone() == (200,)
        assert c.execute("SELECT texto FROM notas").fetchall() == [("fica",)]
        assert c.execute("SELECT itens FROM sample_info WHERE tabela = 'vendas'").fetchone() == (
            200,
        )


def test_the_source_has_the_indexes_incremental_extraction_uses(
    tmp_path: Path, conn: sqlite3.Connection, shipped_indexes: set[tuple[str, str, str]]
) -> None:
    def indexes(c: sqlite3.Connection) -> set[tuple[str, str, str]]:
        return set(
            c.execute(
                "SELECT m.name, m.tbl_name, i.name FROM sqlite_master m, "
                "pragma_index_info(m.name) i WHERE m.type = 'index'"
            ).fetchall()
        )

    assert indexes(conn) == shipped_indexes
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM venda_itens WHERE atualizado_em > '2099-01-01'"
    ).fetchall()
    assert "USING INDEX ix_venda_itens_atualizado_em" in " ".join(r[3] for r in plan)
    # written again over itself: the same indexes, once
    path = _api_sample(tmp_path / "again.sqlite", 100, 1, 0.0)
    _api_sample(path, 100, 2, 0.0)
    with closing(sqlite3.connect(path)) as again:
        assert indexes(again) == shipped_indexes


def test_default_source_comes_from_settings(tmp_path: Path) -> None:
    result = dwetl(
        "sample", "--rows", "100", cwd=tmp_path, env={"DWETL_SOURCE_URL": "sqlite:///env.sqlite"}
    )
    assert result.returncode == 0, result.stderr
    with closing(sqlite3.connect(tmp_path / "env.sqlite")) as c:
        assert c.execute("SELECT COUNT(DISTINCT id) FROM venda_itens").fetchone() == (100,)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--damage", "1.5"), "--damage"),
        (("--rows", "0"), "--rows"),
        (("--source", "duckdb:///x.duckdb"), "duckdb"),
        (("--source", "nope://x"), "nope"),
    ],
)
def test_bad_usage_is_one_line_exit_2(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    result = dwetl("sample", *args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]
