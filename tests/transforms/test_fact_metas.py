"""fact_metas: the target's month as the first day's date key; a store target keeps no seller."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import polars as pl

from dwetl.entities.registry import get_entity
from transforms import fact_metas


def test_first_day_of_month_and_store_target() -> None:
    frame = pl.DataFrame(
        {
            "id_meta_origem": [1, 2, 3],
            "ano": [2024, 2024, 2024],
            "mes": [12, 1, 13],
            "id_loja": [2, 2, 2],
            "id_vendedor": [None, 9, 9],
            "valor_meta": ["50000", "12345678901.23", "1"],
            "atualizado_em": [datetime(2024, 1, 1)] * 3,
        },
        schema=fact_metas.SOURCE_SCHEMA,
    )
    out = get_entity("fact_metas").transform(frame)
    assert out["sk_data"].to_list() == [20241201, 20240101, None]  # month 13: no date
    assert out["id_vendedor"].to_list() == [None, 9, 9]
    assert out["valor_meta"].to_list() == [
        Decimal("50000.00"),
        Decimal("12345678901.23"),
        Decimal("1"),
    ]
    assert out.columns == list(fact_metas.OUTPUT_COLUMNS)
