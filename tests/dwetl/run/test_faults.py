"""A crash between staging and merge (DWETL_FAIL_AT, the documented fault-injection point)
leaves target, watermark and run log as they were; the next run loads everything."""

from __future__ import annotations

import signal

import pytest

ENTITY_STATE = (
    "SELECT entity, watermark_value, last_run_id, last_status FROM ctl.etl_control ORDER BY entity"
)


def state(etl) -> dict[str, object]:
    return {
        "control": etl.dw(ENTITY_STATE),
        "run_entities": etl.dw("SELECT COUNT(*) FROM ctl.etl_run_entity"),
        "rejects": etl.dw("SELECT COUNT(*) FROM ctl.etl_reject"),
        "clientes": etl.dw("SELECT COUNT(*) FROM dw.dim_cliente"),
        "vendas": etl.dw("SELECT COUNT(*) FROM dw.fact_vendas"),
        "stg": etl.dw("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'stg'"),
    }


@pytest.mark.pairs("sqlite-duckdb", "postgresql-postgresql")
def test_killed_between_staging_and_merge_leaves_the_warehouse_as_it_was(etl, dwetl):
    etl.sample(800, 14, 0.02)
    etl.init()
    before = state(etl)

    crashed = dwetl(
        "run", "--entity", "dim_cliente", "--max-reject-ratio", "0.5", cwd=etl.folder,
        env={**etl.env, "DWETL_FAIL_AT": "merge:dim_cliente:kill"},
    )  # fmt: skip

    assert crashed.returncode == -signal.SIGKILL
    assert state(etl) == before
    # The killed run is the one trace it leaves: its ctl.etl_run row, still `running`.
    assert etl.dw("SELECT status FROM ctl.etl_run WHERE command = 'run'") == [("running",)]

    again = dwetl("run", "--max-reject-ratio", "0.5", cwd=etl.folder, env=etl.env)

    assert again.returncode in (0, 3), again.stdout + again.stderr
    expected = etl.src(
        "SELECT COUNT(DISTINCT id) FROM clientes WHERE id NOT IN (SELECT id FROM sample_damage "
        "WHERE tabela = 'clientes' AND NOT recuperavel)"
    )[0][0]
    assert etl.dw(
        "SELECT COUNT(*) FROM dw.dim_cliente WHERE sk_cliente <> -1 AND NOT inferido"
    ) == [(expected,)]
    assert etl.dw("SELECT COUNT(*) FROM ctl.etl_control WHERE watermark_value IS NULL") == [(0,)]


@pytest.mark.pairs("sqlite-duckdb", "mysql-postgresql")
def test_failure_between_staging_and_merge_rolls_back_the_entity(etl, monkeypatch):
    etl.sample(800, 14, 0.02)
    etl.init()
    monkeypatch.setenv("DWETL_FAIL_AT", "merge:dim_cliente")
    failed = etl.run("all", max_reject_ratio=0.5)
    monkeypatch.delenv("DWETL_FAIL_AT")
    cliente = next(e for e in failed.entities if e.entity == "dim_cliente")
    assert cliente.status == "failed" and "DWETL_FAIL_AT" in cliente.error
    assert etl.dw("SELECT watermark_value FROM ctl.etl_control WHERE entity = 'dim_cliente'") == [
        (None,)
    ]
    assert etl.dw(
        "SELECT COUNT(*) FROM ctl.etl_reject WHERE entity = 'dim_cliente' AND applied"
    ) == [(0,)]  # its rejects are kept, not applied
    assert etl.dw(
        "SELECT COUNT(*) FROM ctl.etl_reject WHERE entity = 'dim_cliente' AND NOT applied"
    ) == [(cliente.rejected,)]
    # The facts that need customers were skipped: no placeholders stand in for them.
    assert {e.entity: e.status for e in failed.entities}["fact_vendas"] == "skipped"
    assert etl.dw("SELECT COUNT(*) FROM dw.dim_cliente WHERE sk_cliente <> -1") == [(0,)]
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas") == [(0,)]

    again = etl.run("all", max_reject_ratio=0.5)

    cliente = next(e for e in again.entities if e.entity == "dim_cliente")
    assert cliente.status == "success" and cliente.rejected > 0 and cliente.inserted > 0
    assert {e.entity: e.status for e in again.entities}["fact_vendas"] != "skipped"
    expected = etl.src(
        "SELECT COUNT(DISTINCT id) FROM clientes WHERE id NOT IN (SELECT id FROM sample_damage "
        "WHERE tabela = 'clientes' AND NOT recuperavel)"
    )[0][0]
    assert etl.dw(
        "SELECT COUNT(*) FROM dw.dim_cliente WHERE sk_cliente <> -1 AND NOT inferido"
    ) == [(expected,)]
