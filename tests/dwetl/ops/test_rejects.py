"""`dwetl rejects`: quarantined rows with their reasons; resolved once fixed at the source."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dwetl.core.paths import ddl_root
from dwetl.warehouse import open_warehouse
from dwetl.warehouse.ddl import apply_pending, list_scripts


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
    assert dwetl(*run_args, cwd=tmp_path).returncode == 0  # loaded: the row is quarantined
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
    assert f"7  CK_DIM_CLIENTE_uf: uf='XX'  (resolved by run {fixed['resolved_run_id']})" in text


def test_rejects_filters_by_run_and_counts_every_reason(tmp_path: Path, dwetl: Any) -> None:
    _, dw = demo(tmp_path, dwetl)
    everything = rejects_json(dwetl, tmp_path, "--dw", dw)
    assert everything["count"] == len(everything["rejects"]) > 0
    total = sum(len(r["reasons"]) for r in everything["rejects"])
    assert sum(everything["by_reason"].values()) == total
    assert rejects_json(dwetl, tmp_path, "--dw", dw, "--run", "999")["count"] == 0
    text = dwetl("rejects", "--dw", dw, "--run", "999", cwd=tmp_path).stdout
    assert text.strip() == "no rejects"


def test_a_long_offending_text_shows_its_start_and_length_the_csv_keeps_it(
    tmp_path: Path, dwetl: Any
) -> None:
    source, dw = demo(tmp_path, dwetl)
    long_name = "Maria " + "x" * 4994
    with sqlite3.connect(tmp_path / "source.db") as con:
        con.execute("UPDATE clientes SET nome = ? WHERE id = 3", [long_name])
    ran = dwetl("run", "--entity", "dim_cliente", "--full", "--max-reject-ratio", "1",
                "--source", source, "--dw", dw, cwd=tmp_path)  # fmt: skip
    assert ran.returncode == 0, ran.stderr

    text = dwetl("rejects", "--dw", dw, "--entity", "dim_cliente", cwd=tmp_path).stdout
    assert "x" * 100 not in text
    shown = "nome='Maria " + "x" * 54 + "…' (5000 characters)"
    assert shown in " ".join(text.split())  # the line may wrap before the value
    csv = dwetl("rejects", "--dw", dw, "--format", "csv", cwd=tmp_path).stdout
    assert long_name in csv


def test_rejects_on_a_warehouse_without_control_tables_is_one_clear_line(
    tmp_path: Path, dwetl: Any
) -> None:
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    result = dwetl("rejects", "--dw", f"duckdb:///{tmp_path / 'empty.duckdb'}", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "dwetl init" in result.stderr


def test_rejects_counts_keys_not_reads(tmp_path: Path, dwetl: Any) -> None:
    source, dw = demo(tmp_path, dwetl)
    first = rejects_json(dwetl, tmp_path, "--dw", dw, "--entity", "dim_desconto")
    assert first["keys"] == first["count"] == first["reads"] > 0
    run_args = ("run", "-e", "dim_desconto", "--full", "--max-reject-ratio", "1")
    for _ in range(2):
        result = dwetl(*run_args, "--source", source, "--dw", dw, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr  # loaded, rows quarantined

    again = rejects_json(dwetl, tmp_path, "--dw", dw, "--entity", "dim_desconto")
    keys = first["keys"]
    assert (again["keys"], again["count"], again["reads"]) == (keys, keys, 3 * keys)
    assert again["by_reason"] == first["by_reason"]
    assert {r["times_seen"] for r in again["rejects"]} == {3}
    text = dwetl("rejects", "--dw", dw, "--entity", "dim_desconto", cwd=tmp_path).stdout
    assert text.startswith(f"{keys} key(s) quarantined, read {3 * keys} time(s)\n")


def test_rejects_on_an_empty_postgresql_warehouse(tmp_path: Path, dwetl: Any, pg_url: str) -> None:
    from dwetl.core.config import load_settings

    settings = load_settings(dw=pg_url, cwd=tmp_path, env={})
    with open_warehouse(settings.dw, settings) as wh:
        apply_pending(wh, list_scripts(settings.ddl_dir))

    text = dwetl("rejects", "--dw", pg_url, cwd=tmp_path)
    assert (text.returncode, text.stdout, text.stderr) == (0, "no rejects\n", "")
    listed = rejects_json(dwetl, tmp_path, "--dw", pg_url, "--all")
    assert (listed["count"], listed["keys"], listed["by_reason"]) == (0, 0, {})


@pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql")
def test_init_collapses_the_open_rejects_an_older_dwetl_piled_up(etl: Any, dwetl: Any) -> None:
    older = etl.folder / "ddl-older"
    older.mkdir()
    for script in sorted(ddl_root().glob("00[1-4]_*.sql")):
        shutil.copy(script, older)
    with open_warehouse(etl.settings.dw, dataclasses.replace(etl.settings, ddl_dir=older)) as wh:
        apply_pending(wh, list_scripts(older))
    for run_id in (1, 2, 3):
        etl.dw_execute(
            "INSERT INTO ctl.etl_run (run_id, command, status, started_at) "
            "VALUES (%s, 'run', 'partial', TIMESTAMP '2026-01-01 00:00:00')",
            [run_id],
        )
    piled = [  # reject_id, run_id, key, resolved by: key 7 read by runs 1-3, once resolved
        (1, 1, "7", 1), (2, 1, "7", None), (3, 2, "7", None), (4, 2, "8", None),
        (5, 3, "7", None),
    ]  # fmt: skip
    for reject_id, run_id, key, resolved in piled:
        etl.dw_execute(
            "INSERT INTO ctl.etl_reject (reject_id, run_id, entity, source_key, reasons, "
            "row_json, rejected_at, resolved_run_id) VALUES (%s, %s, 'dim_cliente', %s, "
            "'[\"CK_DIM_CLIENTE_uf\"]', '{}', TIMESTAMP '2026-01-01 00:00:00', %s)",
            [reject_id, run_id, key, resolved],
        )
    etl.sample(200, 1, 0.0)
    refused = dwetl("run", "-e", "dim_cliente", cwd=etl.folder, env=etl.env)
    assert refused.returncode == 2 and "run `dwetl init`" in refused.stderr, refused.stderr

    etl.init()  # applies 005 and checks the warehouse against every script

    assert etl.dw(
        "SELECT reject_id, run_id, first_run_id, times_seen, applied, resolved_run_id "
        "FROM ctl.etl_reject ORDER BY reject_id"
    ) == [(1, 1, 1, 1, True, 1), (4, 2, 2, 1, True, None), (5, 3, 1, 3, True, None)]
    assert ("005_reject_per_key.sql",) in etl.dw("SELECT script FROM ctl.schema_version")
    checked = dwetl("check", cwd=etl.folder, env=etl.env)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_source_column_the_target_lacks_shows_its_value_and_type(
    tmp_path: Path, dwetl: Any
) -> None:
    """An order's sale time is no column of fact_vendas (it keeps `sk_data`): its type reject
    was listed by name alone. It shows the source's text and the type the extract reads."""
    source, dw = demo(tmp_path, dwetl)
    with sqlite3.connect(tmp_path / "source.db") as con:
        con.execute("UPDATE vendas SET data_venda = '31/02/2024' WHERE id = 4")
    ran = dwetl("run", "--entity", "fact_vendas", "--full", "--max-reject-ratio", "1",
                "--source", source, "--dw", dw, cwd=tmp_path)  # fmt: skip
    assert ran.returncode == 0, ran.stderr

    text = dwetl("rejects", "--dw", dw, "--entity", "fact_vendas", cwd=tmp_path).stdout
    assert "TYPE_fact_vendas_data_venda  e.g. data_venda='31/02/2024'" in text
    assert "rule: TIMESTAMP, as fact_vendas' extract reads it" in text
    assert "TYPE_fact_vendas_data_venda: data_venda='31/02/2024'" in text
    csv = dwetl("rejects", "--dw", dw, "--entity", "fact_vendas", "--format", "csv",
                cwd=tmp_path).stdout  # fmt: skip
    assert "data_venda='31/02/2024'" in csv
