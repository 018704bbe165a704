"""Quarantine round trip: a rejected row fixed at the source loads on the next run and its
earlier reject is marked resolved; the others stay open."""

from __future__ import annotations

import pytest


@pytest.mark.pairs()
def test_fixed_row_loads_and_its_reject_is_resolved(etl):
    etl.sample(1000, 8, 0.05)
    etl.init()
    first = etl.run("dim_desconto", max_reject_ratio=1.0)
    open_before = etl.dw(
        "SELECT source_key FROM ctl.etl_reject WHERE resolved_run_id IS NULL ORDER BY reject_id"
    )
    assert len(open_before) >= 2
    key = int(open_before[0][0])
    (column, clean), *_ = etl.src(
        "SELECT coluna, valor_limpo FROM sample_damage WHERE tabela = 'descontos' AND id = ? "
        "AND NOT recuperavel",
        [key],
    )
    etl.src(
        f"UPDATE descontos SET {column} = ?, atualizado_em = ? WHERE id = ?",
        [clean, etl.later("descontos"), key],
    )

    second = etl.run("dim_desconto", max_reject_ratio=1.0)

    (result,) = second.entities
    assert (result.status, result.inserted, result.rejected) == ("success", 1, 0)
    assert etl.dw(
        "SELECT resolved_run_id FROM ctl.etl_reject WHERE source_key = %s", [str(key)]
    ) == [(second.run_id,)]
    still_open = etl.dw("SELECT source_key FROM ctl.etl_reject WHERE resolved_run_id IS NULL")
    assert sorted(still_open) == sorted(open_before[1:])
    assert etl.dw("SELECT COUNT(*) FROM dw.dim_desconto WHERE id_desconto_origem = %s", [key]) == [
        (1,)
    ]
    assert first.run_id < second.run_id
