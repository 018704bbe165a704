"""Versions of one key with the same `atualizado_em`: the same one is kept by a full reload and
by incremental runs, whichever was written first, and the tie is counted."""

from __future__ import annotations

from typing import Any

import pytest

from dwetl.source.dialects import source_dialect

CLIENTE = (
    "INSERT INTO clientes (id, nome, cpf, email, cidade, uf, data_cadastro, atualizado_em) "
    "VALUES (?, ?, '12345678909', 'empate@exemplo.com.br', 'Recife', 'PE', '2024-01-01', ?)"
)
TIED = 900002


def customer(etl: Any) -> list[tuple[Any, ...]]:
    return etl.dw(
        "SELECT nome, email, cidade FROM dw.dim_cliente WHERE id_cliente_origem = %s", [TIED]
    )


@pytest.mark.parametrize("first", ["Jo?o Empate", "Joana Empate"])
def test_tied_versions_keep_one_winner_full_and_incremental(
    etl: Any, new_etl: Any, first: str
) -> None:
    etl.sample(300, 5, 0.0)
    etl.init()
    # a clean "João" the full reload learns, so that it repairs "Jo?o" there; an incremental
    # run that reads only the two versions cannot: the transformed values differ by path
    etl.src(CLIENTE, [900001, "João Empate", "2024-01-01 00:00:00"])
    assert etl.run("dim_cliente").status == "success"
    url = etl.settings.source
    stamp = source_dialect(url.scheme).clock(url).strftime("%Y-%m-%d %H:%M:%S")
    second = "Joana Empate" if first == "Jo?o Empate" else "Jo?o Empate"

    etl.src(CLIENTE, [TIED, first, stamp])
    (one,) = etl.run("dim_cliente").entities
    assert (one.inserted, one.ties) == (1, 0)  # one version so far
    etl.src(CLIENTE, [TIED, second, stamp])  # the same second: re-read through the overlap
    summary = etl.run("dim_cliente")
    (both,) = summary.entities
    assert (both.folded, both.ties) == (1, 1)
    assert summary.to_dict()["entities"][0]["ties"] == 1
    logged = etl.dw(
        "SELECT ties FROM ctl.etl_run_entity WHERE run_id = %s AND entity = 'dim_cliente'",
        [summary.run_id],
    )
    assert logged == [(1,)]
    incremental = customer(etl)

    other = new_etl("full")
    other.use_source_of(etl)
    other.init()
    (full,) = other.run("dim_cliente").entities
    assert full.ties == 1
    assert customer(other) == incremental == [("Joana Empate", "empate@exemplo.com.br", "Recife")]
