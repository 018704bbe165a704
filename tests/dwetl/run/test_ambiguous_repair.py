"""A damaged word two known words fit (`Am?lia`: Amália or Amélia) loads as the source has it,
and the run log counts it as ambiguous: repair never guesses, validation decides."""

from __future__ import annotations

import json


def test_ambiguous_word_loads_as_it_was_and_is_counted(etl):
    etl.sample(300, 5, 0.0)
    etl.init()
    names = {1: "Amália Souza", 2: "Amélia Lima", 3: "Am?lia Silva", 4: "Am?lia Castro"}
    for key, name in names.items():
        etl.src("UPDATE clientes SET nome = ? WHERE id = ?", [name, key])

    summary = etl.run("dim_cliente")

    (result,) = summary.entities
    assert (result.status, result.rejected) == ("success", 0), result.error
    loaded = dict(
        etl.dw(
            "SELECT id_cliente_origem, nome FROM dw.dim_cliente "
            "WHERE id_cliente_origem BETWEEN 1 AND 4"
        )
    )
    assert loaded == names
    assert result.repairs["nome"]["ambiguous"] == 2
    ((logged,),) = etl.dw(
        "SELECT repairs FROM ctl.etl_run_entity WHERE run_id = %s AND entity = 'dim_cliente'",
        [summary.run_id],
    )
    assert json.loads(logged)["nome"]["ambiguous"] == 2
