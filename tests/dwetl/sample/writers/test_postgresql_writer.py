"""`dwetl sample` into a fresh PostgreSQL database: COPY, exact counts, truthful ground truth."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dwetl.sample import generate_sample, write_sample

DWETL = Path(sys.executable).with_name("dwetl")
ROWS = 2_000


def _fetch(url: str) -> Callable[[str], list[tuple[Any, ...]]]:
    def fetch(sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(url) as conn:
            return conn.execute(sql).fetchall()

    return fetch


@pytest.mark.servers
def test_sample_into_postgresql(
    pg_url: str,
    tmp_path: Path,
    truth_check: Callable[..., int],
    dwetl: Any,
    shipped_indexes: set[tuple[str, str, str]],
) -> None:
    args = ("--rows", str(ROWS), "--seed", "4", "--damage", "0.1")
    result = dwetl("sample", "--source", pg_url, *args, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    fetch = _fetch(pg_url)
    assert fetch("SELECT COUNT(DISTINCT id) FROM venda_itens") == [(ROWS,)]
    for tabela, linhas in fetch("SELECT tabela, linhas FROM sample_info"):
        assert fetch(f"SELECT COUNT(*) FROM {tabela}") == [(linhas,)]
    assert truth_check(fetch) > 300
    classes = {r[0] for r in fetch("SELECT DISTINCT classe FROM sample_damage")}
    assert "codificacao_legada" not in classes  # UTF8 database: mojibake stands for it
    assert {"mojibake", "acento_perdido_fffd", "nfd", "chave_duplicada"} <= classes
    before = fetch("SELECT * FROM clientes ORDER BY id, atualizado_em")

    # drops and recreates: same seed, same rows
    write_sample(generate_sample(ROWS, 4, 0.1, legacy_bytes=False), pg_url)
    assert fetch("SELECT * FROM clientes ORDER BY id, atualizado_em") == before
    assert fetch("SELECT COUNT(*) FROM sample_info") == [(9,)]
    # the indexes incremental extraction uses, and the statistics to plan with them
    indexes = fetch(
        "SELECT i.relname, t.relname, a.attname FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0] "
        "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public'"
    )
    assert set(indexes) == shipped_indexes
    analyzed = fetch("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")
    assert {"vendas", "venda_itens", "venda_descontos"} <= {r[0] for r in analyzed}


@pytest.mark.servers
def test_missing_database_is_created(
    pg_admin: psycopg.Connection, tmp_path: Path, dwetl: Any
) -> None:
    name = "dwetl_test_sample_created"
    pg_admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    try:
        url = f"postgresql://postgres@localhost:5432/{name}"
        result = dwetl("sample", "--source", url, "--rows", "100", cwd=tmp_path, timeout=300)
        assert result.returncode == 0, result.stderr
        assert _fetch(url)("SELECT COUNT(DISTINCT id) FROM venda_itens") == [(100,)]
    finally:
        pg_admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.servers
def test_unreachable_server_is_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DWETL_")}
    result = subprocess.run(
        [
            str(DWETL),
            "sample",
            "--rows",
            "10",
            "--source",
            "postgresql://postgres:s3cret@localhost:1/x",
        ],
        cwd=tmp_path,
        env={**env, "DWETL_CONNECT_ATTEMPTS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert "s3cret" not in result.stderr + result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith("error:")
