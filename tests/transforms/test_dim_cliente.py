"""dim_cliente: names and cities repaired, CPF digits, e-mail lower-case, UF in its domain."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from dwetl.entities.registry import get_entity
from transforms import dim_cliente


def _frame(**columns: list[object]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    base: dict[str, list[object]] = {
        "id_cliente_origem": list(range(1, n + 1)),
        "nome": ["Ana"] * n,
        "cpf": ["12345678909"] * n,
        "email": ["a@b.com"] * n,
        "cidade": ["Recife"] * n,
        "uf": ["PE"] * n,
        "data_cadastro": [None] * n,
        "atualizado_em": [datetime(2024, 1, 1)] * n,
    }
    return pl.DataFrame({**base, **columns}, schema=dim_cliente.SOURCE_SCHEMA)


def test_cpf_keeps_digits_only_and_blank_is_null() -> None:
    out = get_entity("dim_cliente").transform(_frame(cpf=["123.456.789-09", " ", None]))
    assert out["cpf"].to_list() == ["12345678909", None, None]


def test_uf_is_trimmed_upper_cased_and_in_domain() -> None:
    out = get_entity("dim_cliente").transform(_frame(uf=[" sp", "rj ", "Xx"]))
    assert out["uf"].to_list() == ["SP", "RJ", "XX"]  # XX stays: validation rejects it


def test_mojibake_and_lost_accents_in_free_text_are_repaired() -> None:
    out = get_entity("dim_cliente").transform(
        _frame(
            nome=["JoÃ£o  Silva", "João Silva", "Jo?o Silva"],
            cidade=["SÃ£o Paulo", "São Paulo", "S?o Paulo"],
            email=[" Joao@X.COM ", "j@x.com", ""],
        )
    )
    assert out["nome"].to_list() == ["João Silva"] * 3
    assert out["cidade"].to_list() == ["São Paulo"] * 3
    assert out["email"].to_list() == ["joao@x.com", "j@x.com", None]
    assert out.columns == list(dim_cliente.SOURCE_SCHEMA)
