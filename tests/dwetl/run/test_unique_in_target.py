"""A UNIQUE other than the merge key, already held in the warehouse: the row taking the tuple
is quarantined with the constraint's name and the rest of the entity loads (the MERGE would
otherwise fail on it and take the whole entity down)."""

from __future__ import annotations

import pytest


@pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql")
def test_a_new_target_on_a_loaded_grain_is_rejected_and_the_others_load(etl):
    etl.sample(500, 21, 0.0)
    etl.init()
    first = etl.run("all")
    assert first.status == "success", [(e.entity, e.error) for e in first.entities]

    taken, moved = etl.src(
        "SELECT id, MAX(ano), MAX(mes), MAX(id_loja), MAX(id_vendedor) FROM metas "
        "WHERE id_vendedor IS NOT NULL GROUP BY id HAVING COUNT(*) = 1 ORDER BY id LIMIT 2"
    )
    (new_id,), *_ = etl.src("SELECT MAX(id) + 1 FROM metas")
    later = etl.later("metas")
    # A new target (new id) on the grain (ano, mes, loja, vendedor) that `taken` holds...
    etl.src(
        "INSERT INTO metas (id, ano, mes, id_loja, id_vendedor, valor_meta, atualizado_em) "
        "VALUES (?, ?, ?, ?, ?, 1234.56, ?)",
        [new_id, *taken[1:], later],
    )
    # ...and an ordinary change to another target in the same run.
    etl.src(
        "UPDATE metas SET valor_meta = 777.77, atualizado_em = ? WHERE id = ?", [later, moved[0]]
    )

    # the incremental batch is a handful of rows: one reject is over the default 5%
    second = etl.run("fact_metas", max_reject_ratio=1.0)

    (metas,) = second.entities
    assert (metas.status, metas.error) == ("success", None)
    assert (metas.rejected, metas.updated, metas.inserted) == (1, 1, 0)
    assert metas.reject_reasons == {"UQ_fact_metas_grao": 1}
    assert (second.status, second.exit_code, second.quarantined) == ("success", 0, 1)
    (reasons,), *_ = etl.dw(
        "SELECT reasons FROM ctl.etl_reject WHERE entity = 'fact_metas' AND source_key = %s",
        [str(new_id)],
    )
    assert "UQ_fact_metas_grao" in reasons
    # the held target is left as it was, the changed one loaded, the newcomer is not there
    assert etl.dw(
        "SELECT id_meta_origem, id_execucao, CAST(valor_meta AS VARCHAR) FROM dw.fact_metas "
        "WHERE id_meta_origem IN (%s, %s, %s) ORDER BY id_meta_origem",
        [taken[0], moved[0], new_id],
    ) == [
        (taken[0], first.run_id, _loaded(etl, first.run_id, taken[0])),
        (moved[0], second.run_id, "777.77"),
    ]


def _loaded(etl, run_id: int, key: int) -> str:
    """The value the first run loaded for `key`."""
    (value,), *_ = etl.dw(
        "SELECT CAST(valor_meta AS VARCHAR) FROM dw.fact_metas WHERE id_meta_origem = %s "
        "AND id_execucao = %s",
        [key, run_id],
    )
    return str(value)
