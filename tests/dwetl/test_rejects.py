"""`dwetl rejects`: quarantined rows with their reasons; resolved once fixed at the source."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any


def demo(tmp_path: Path, dwetl: Any) -> tuple[str, str]:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    dw = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    result = dwetl("demo", "--rows", "2000", "--source", source, "--dw", dw, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    return source, dw


def rejects_json(dwetl: Any, tmp_path: Path, *args: str) -> dict[str, Any]:
    result = dwetl("rejects", "--json", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def new_version(tmp_path: Path, key: int, uf: str, when: str) -> None:
    """A newer version of customer `key` in the source (the newest `atualizado_em` wins)."""
    with sqlite3.connect(tmp_path / "source.db") as con:
        con.execute(
            "INSERT INTO clientes (id, nome, cpf, email, cidade, uf, data_cadastro, atualizado_em)"
            " SELECT id, nome, cpf, email, cidade, ?, data_cadastro, ? FROM clientes"
            " WHERE id = ? ORDER BY atualizado_em DESC LIMIT 1",
            [uf, when, key],
        )


def test_a_reject_is_listed_then_resolved_once_fixed_at_the_source(
    tmp_path: Path, dwetl: Any
) -> None:
    source, dw = demo(tmp_path, dwetl)
    run_args = (
        "run",
        "-e",
        "dim_cliente",
        "--max-reject-ratio",
        "1",
        "--source",
        source,
        "--dw",
        dw,
    )
    new_version(tmp_path, 7, "XX", "2099-01-01 00:00:00")
    assert dwetl(*run_args, cwd=tmp_path).returncode == 3  # partial: the row is quarantined
    listed = rejects_json(dwetl, tmp_path, "--dw", dw, "--entity", "dim_cliente")
    reject = next(r for r in listed["rejects"] if r["source_key"] == "7")
    assert reject["reasons"] == ["CK_DIM_CLIENTE_uf"]
    assert reject["row"]["uf"] == "XX" and reject["row"]["id_cliente_origem"] == 7
    assert listed["by_reason"]["CK_DIM_CLIENTE_uf"] >= 1

    new_version(tmp_path, 7, "SP", "2099-01-02 00:00:00")
    run = dwetl(*run_args, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr

    still_open = rejects_json(dwetl, tmp_path, "--dw", dw, "--entity", "dim_cliente")
    assert "7" not in [r["source_key"] for r in still_open["rejects"]]
    everything = rejects_json(dwetl, tmp_path, "--dw", dw, "--entity", "dim_cliente", "--all")
    fixed = next(r for r in everything["rejects"] if r["reject_id"] == reject["reject_id"])
    assert fixed["resolved_run_id"] is not None and fixed["resolved_run_id"] > reject["run_id"]

    text = dwetl("rejects", "--dw", dw, "--all", "--entity", "dim_cliente", cwd=tmp_path).stdout
    assert f"7  CK_DIM_CLIENTE_uf  (resolved by run {fixed['resolved_run_id']})" in text


def test_rejects_filters_by_run_and_counts_every_reason(tmp_path: Path, dwetl: Any) -> None:
    _, dw = demo(tmp_path, dwetl)
    everything = rejects_json(dwetl, tmp_path, "--dw", dw)
    assert everything["count"] == len(everything["rejects"]) > 0
    total = sum(len(r["reasons"]) for r in everything["rejects"])
    assert sum(everything["by_reason"].values()) == total
    assert rejects_json(dwetl, tmp_path, "--dw", dw, "--run", "999")["count"] == 0
    text = dwetl("rejects", "--dw", dw, "--run", "999", cwd=tmp_path).stdout
    assert text.strip() == "no rejects"


def test_rejects_on_a_warehouse_without_control_tables_is_one_clear_line(
    tmp_path: Path, dwetl: Any
) -> None:
    result = dwetl("rejects", "--dw", f"duckdb:///{tmp_path / 'empty.duckdb'}", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "dwetl init" in result.stderr
