"""Idempotency by watermark: a re-run changes nothing, 1% of updated rows change exactly those
rows, and `--full` after incremental runs gives the same warehouse as one full load."""

from __future__ import annotations

import polars as pl
import pytest

TABLES = (
    "dim_data",
    "dim_cliente",
    "dim_produto",
    "dim_loja",
    "dim_vendedor",
    "dim_desconto",
    "fact_vendas",
    "fact_descontos",
    "fact_metas",
)


def watermarks(etl) -> dict[str, object]:
    return dict(etl.dw("SELECT entity, watermark_value FROM ctl.etl_control"))


def lineage(etl, table: str, key: str) -> dict[int, int]:
    return dict(etl.dw(f"SELECT {key}, id_execucao FROM dw.{table}"))


@pytest.mark.pairs()
def test_second_run_without_source_change_writes_nothing(etl):
    etl.sample(1500, 2, 0.02)
    etl.init()
    first = etl.run("all", max_reject_ratio=0.5)
    assert first.status == "success"
    before = watermarks(etl)
    assert all(v is not None for v in before.values())
    kept = lineage(etl, "dim_cliente", "id_cliente_origem")

    second = etl.run("all", max_reject_ratio=0.5)

    assert [(e.entity, e.inserted, e.updated) for e in second.entities] == [
        (e.entity, 0, 0) for e in second.entities
    ]
    assert all(e.status != "failed" for e in second.entities)
    assert watermarks(etl) == before
    assert lineage(etl, "dim_cliente", "id_cliente_origem") == kept  # nothing rewritten


@pytest.mark.pairs()
def test_one_percent_updated_changes_exactly_those_rows(etl):
    etl.sample(1500, 3, 0.0)
    etl.init()
    assert etl.run("all").status == "success"
    ids = [r[0] for r in etl.src("SELECT id FROM clientes ORDER BY id")]
    chosen = ids[:: max(len(ids) // max(len(ids) // 100, 1), 1)][: max(len(ids) // 100, 1)]
    marks = ",".join("?" * len(chosen))
    etl.src(
        f"UPDATE clientes SET email = 'novo' || id || '@exemplo.com.br', "
        f"atualizado_em = ? WHERE id IN ({marks})",
        [etl.later("clientes"), *chosen],
    )
    before = lineage(etl, "dim_cliente", "id_cliente_origem")

    summary = etl.run("all")

    by = {e.entity: e for e in summary.entities}
    assert (by["dim_cliente"].inserted, by["dim_cliente"].updated) == (0, len(chosen))
    assert all(e.inserted == e.updated == 0 for n, e in by.items() if n != "dim_cliente")
    after = lineage(etl, "dim_cliente", "id_cliente_origem")
    changed = {k for k in after if after[k] != before[k]}
    assert changed == set(chosen)
    emails = dict(
        etl.dw(
            "SELECT id_cliente_origem, email FROM dw.dim_cliente WHERE id_execucao = %s",
            [summary.run_id],
        )
    )
    assert emails == {i: f"novo{i}@exemplo.com.br" for i in chosen}


def snapshot(etl) -> dict[str, pl.DataFrame]:
    out = {}
    for table in TABLES:
        frame = etl.dw_frame(f"SELECT * FROM dw.{table}").drop("id_execucao")
        out[table] = frame.sort(frame.columns)
    return out


@pytest.mark.pairs("sqlite-duckdb", "mysql-postgresql")
def test_full_after_incrementals_equals_one_full_load(etl, new_etl):
    etl.sample(1500, 4, 0.03)
    etl.init()
    etl.run("all", max_reject_ratio=0.5)
    etl.src(
        "UPDATE produtos SET marca = 'Marca Nova', atualizado_em = ? WHERE id % 50 = 0",
        [etl.later("produtos")],
    )
    etl.run("all", max_reject_ratio=0.5)
    full = etl.run("all", full=True, max_reject_ratio=0.5)
    assert full.status != "failed"

    other = new_etl("other")
    other.use_source_of(etl)
    other.init()
    other.run("all", max_reject_ratio=0.5)

    mine, theirs = snapshot(etl), snapshot(other)
    for table in TABLES:
        assert mine[table].equals(theirs[table]), table
