"""dim_loja: UF and region repaired to their domains; a missing region is not invented."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from dwetl.entities.registry import get_entity
from transforms import dim_loja


def test_uf_and_region_repaired_missing_region_stays_missing() -> None:
    frame = pl.DataFrame(
        {
            "id_loja_origem": [1, 2, 3],
            "nome": ["Loja Centro", "Loja Sul", "Loja Norte"],
            "cidade": ["Belém", "Porto Alegre", "Manaus"],
            "uf": ["pa", " RS ", "am"],
            "regiao": ["NORTE", "sul", None],
            "data_abertura": [None] * 3,
            "atualizado_em": [datetime(2024, 1, 1)] * 3,
        },
        schema=dim_loja.SOURCE_SCHEMA,
    )
    out = get_entity("dim_loja").transform(frame)
    assert out["uf"].to_list() == ["PA", "RS", "AM"]
    assert out["regiao"].to_list() == ["Norte", "Sul", None]
    assert out.columns == list(dim_loja.SOURCE_SCHEMA)


def test_centro_oeste_without_accent_or_hyphen_case() -> None:
    frame = pl.DataFrame(
        {"id_loja_origem": [1], "nome": ["L"], "cidade": ["Goiânia"], "uf": ["GO"],
         "regiao": ["CENTRO-OESTE"], "data_abertura": [None], "atualizado_em": [None]},
        schema=dim_loja.SOURCE_SCHEMA,
    )  # fmt: skip
    assert get_entity("dim_loja").transform(frame)["regiao"].to_list() == ["Centro-Oeste"]
