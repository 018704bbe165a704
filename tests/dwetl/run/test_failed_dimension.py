"""A fact whose dimension failed in the same run is skipped, not loaded against placeholders
(issue 21, item 8); `on_failed_dimension = "infer"` keeps the old behaviour."""

from __future__ import annotations

import json

import pytest

SKIPPED = "skipped: dimension dim_cliente failed in this run"
WATERMARKS = (
    "SELECT entity, watermark_value FROM ctl.etl_control "
    "WHERE entity IN ('dim_cliente', 'fact_vendas', 'fact_descontos') ORDER BY entity"
)
PLACEHOLDERS = "SELECT COUNT(*) FROM dw.dim_cliente WHERE inferido AND sk_cliente >= 0"


def _break_customers(etl) -> None:
    etl.src("DROP TABLE clientes")  # dim_cliente's extract now fails: no such table


def test_a_fact_whose_dimension_failed_is_skipped_naming_it(etl, dwetl):
    etl.sample(400, 8, 0.0)
    etl.init()
    first = etl.run("all")
    assert first.status == "success", first.to_dict()
    watermarks = etl.dw(WATERMARKS)
    vendas_before = etl.dw("SELECT COUNT(*) FROM dw.fact_vendas")
    # a sale of a customer the warehouse has not seen: loading it would need a placeholder
    (venda,), *_ = etl.src("SELECT MIN(id) FROM vendas")
    etl.src(
        "UPDATE vendas SET id_cliente = 9000001, atualizado_em = ? WHERE id = ?",
        [etl.later("vendas"), venda],
    )
    _break_customers(etl)

    done = dwetl("run", "--json", cwd=etl.folder, env=etl.env)

    summary = json.loads(done.stdout)
    by_entity = {e["entity"]: e for e in summary["entities"]}
    assert by_entity["dim_cliente"]["status"] == "failed"
    for fact in ("fact_vendas", "fact_descontos"):
        assert by_entity[fact]["status"] == "skipped"
        assert by_entity[fact]["error"] == SKIPPED
        assert by_entity[fact]["extracted"] == 0
    assert by_entity["fact_metas"]["status"] == "success"  # it needs no customer
    assert summary["status"] != "success" and done.returncode != 0
    assert etl.dw(WATERMARKS) == watermarks
    assert etl.dw(PLACEHOLDERS) == [(0,)]
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas") == vendas_before
    recorded = etl.dw(
        "SELECT entity, status, error FROM ctl.etl_run_entity WHERE run_id = %s "
        "AND entity LIKE 'fact_%%' ORDER BY entity",
        [summary["run_id"]],
    )
    assert recorded == [
        ("fact_descontos", "failed", SKIPPED),
        ("fact_metas", "success", None),
        ("fact_vendas", "failed", SKIPPED),
    ]
    history = dwetl("history", "--json", cwd=etl.folder, env=etl.env)
    assert '"status": "skipped"' in history.stdout, history.stdout


@pytest.mark.parametrize("where", ["option", "toml"])
def test_infer_loads_the_facts_against_placeholders_as_before(etl, where):
    etl.sample(400, 8, 0.0)
    etl.init()
    _break_customers(etl)

    if where == "option":
        from dwetl.core.config import load_settings
        from dwetl.run.runner import run

        settings = load_settings(
            source=etl.source_url,
            dw=etl.dw_url,
            cwd=etl.folder,
            env={},
            on_failed_dimension="infer",
        )
        summary = run(settings, ["all"])
    else:
        (etl.folder / "dwetl.toml").write_text('[run]\non_failed_dimension = "infer"\n')
        summary = etl.run("all")

    statuses = {e.entity: e.status for e in summary.entities}
    assert statuses["dim_cliente"] == "failed"
    assert statuses["fact_vendas"] == statuses["fact_descontos"] == "success"
    assert etl.dw(PLACEHOLDERS)[0][0] > 0
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas")[0][0] > 0


def test_a_bad_on_failed_dimension_is_a_usage_error(etl, dwetl):
    etl.sample(300, 1, 0.0)
    etl.init()
    bad = dwetl("run", "--on-failed-dimension", "load", cwd=etl.folder, env=etl.env)
    assert bad.returncode == 2
    assert "--on-failed-dimension" in bad.stderr and "skip, infer" in bad.stderr
    env = {**etl.env, "DWETL_ON_FAILED_DIMENSION": "maybe"}
    assert "DWETL_ON_FAILED_DIMENSION" in dwetl("run", cwd=etl.folder, env=env).stderr
