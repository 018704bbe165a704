"""Nothing is lost: for every entity, extracted = inserted + updated + unchanged + rejected +
folded in the run log, on a damaged sample; every reject is in ctl.etl_reject."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dwetl.core.paths import sql_root
from dwetl.run.runner import run


@pytest.mark.pairs()
def test_every_row_is_accounted_for_in_the_run_log(etl):
    etl.sample(3000, 8, 0.05)
    etl.init()
    summary = etl.run("all", max_reject_ratio=0.5)
    assert summary.status == "success" and summary.quarantined > 0

    rows = etl.dw(
        "SELECT entity, status, extracted, inserted, updated, unchanged, rejected, folded "
        "FROM ctl.etl_run_entity WHERE run_id = %s",
        [summary.run_id],
    )
    assert len(rows) == 9
    for entity, status, extracted, ins, upd, unch, rej, folded in rows:
        assert status == "success", entity
        assert extracted == ins + upd + unch + rej + folded, entity
        quarantined = etl.dw(
            "SELECT COUNT(*) FROM ctl.etl_reject WHERE run_id = %s AND entity = %s",
            [summary.run_id, entity],
        )[0][0]
        assert quarantined == rej, entity
    assert sum(r[6] for r in rows) > 0  # the damage was there: rejects
    assert sum(r[7] for r in rows) > 0  # and versions folded


@pytest.mark.pairs("sqlite-duckdb", "mysql-postgresql")
def test_a_reject_carries_its_reasons_and_its_row(etl):
    etl.sample(1000, 8, 0.05)
    etl.init()
    summary = etl.run("dim_desconto", max_reject_ratio=1.0)
    (result,) = summary.entities
    assert result.rejected > 0
    rejects = etl.dw(
        "SELECT source_key, reasons, row_json FROM ctl.etl_reject WHERE entity = 'dim_desconto'"
    )
    assert len(rejects) == result.rejected
    truth = {
        str(i)
        for (i,) in etl.src(
            "SELECT DISTINCT id FROM sample_damage WHERE tabela = 'descontos' AND NOT recuperavel"
        )
    }
    assert {key for key, _, _ in rejects} == truth
    for key, reasons, row in rejects:
        names = json.loads(reasons)
        assert names and all(n.startswith(("CK_", "NN_")) for n in names)
        assert json.loads(row)["id_desconto_origem"] == int(key)


@pytest.mark.pairs("sqlite-duckdb", "postgresql-postgresql", "mysql-postgresql")
def test_a_change_to_a_row_without_a_stamp_is_read_by_the_next_run(etl):
    """The contract allows a NULL `atualizado_em`. Such a row loaded on the first run, and the
    wrapped incremental query (`atualizado_em > <watermark>`) never read it again: a change
    to it stayed out of the warehouse, every run saying success. Every run now reads the rows
    without a stamp; the merge leaves them while they have not changed."""
    etl.sample(300, 5)
    folder = etl.folder / "erp"
    folder.mkdir()
    shipped = (sql_root() / "extract" / "dim_loja.sql").read_text(encoding="utf-8")
    stamp = "l.atualizado_em  AS atualizado_em"
    assert stamp in shipped
    (folder / "dim_loja.sql").write_text(
        shipped.replace(
            stamp, "CASE WHEN l.id <= 3 THEN NULL ELSE l.atualizado_em END AS atualizado_em"
        ),
        encoding="utf-8",
    )
    etl.init()
    settings = dataclasses.replace(etl.settings, sql_dir=folder)
    assert run(settings, ["dim_loja"]).status == "success"

    etl.src("UPDATE lojas SET nome = 'Loja Renomeada' WHERE id = 2")
    (again,) = run(settings, ["dim_loja"]).entities

    # the three rows without a stamp are read again (and those within the overlap)
    assert again.updated == 1 and again.extracted >= 3 and again.inserted == 0, again
    assert etl.dw("SELECT nome FROM dw.dim_loja WHERE id_loja_origem = 2") == [("Loja Renomeada",)]
    (third,) = run(settings, ["dim_loja"]).entities
    assert (third.updated, third.inserted) == (0, 0), third
