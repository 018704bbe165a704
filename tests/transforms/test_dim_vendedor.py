"""dim_vendedor: the seller's name is repaired; the store's natural key passes through."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from dwetl.entities.registry import get_entity
from transforms import dim_vendedor


def test_name_repaired_and_store_kept() -> None:
    frame = pl.DataFrame(
        {
            "id_vendedor_origem": [7, 8],
            "nome": ["  Ana  LÃºcia", ""],
            "id_loja_origem": [1, None],
            "data_admissao": [date(2020, 5, 1), None],
            "atualizado_em": [datetime(2024, 1, 1)] * 2,
        },
        schema=dim_vendedor.SOURCE_SCHEMA,
    )
    out = get_entity("dim_vendedor").transform(frame)
    assert out.rows() == [
        (7, "Ana Lúcia", 1, date(2020, 5, 1), datetime(2024, 1, 1)),
        (8, None, None, None, datetime(2024, 1, 1)),
    ]
