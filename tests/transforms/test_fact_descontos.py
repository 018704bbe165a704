"""fact_descontos: item or order level, the order's date key, exact values."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import polars as pl

from dwetl.entities.registry import get_entity
from transforms import fact_descontos


def test_level_date_key_and_value() -> None:
    frame = pl.DataFrame(
        {
            "id_venda_desconto_origem": [5, 6],
            "id_venda_origem": [1, 1],
            "id_item_origem": [10, None],
            "id_desconto": [2, 3],
            "data_venda": [datetime(2023, 12, 31, 22), datetime(2023, 12, 31, 22)],
            "id_cliente": [4, None],
            "id_loja": [2, 2],
            "id_produto": [3, None],
            "valor_desconto": ["1.5", "1234567890.12"],
            "atualizado_em": [datetime(2024, 1, 2)] * 2,
        },
        schema=fact_descontos.SOURCE_SCHEMA,
    )
    out = get_entity("fact_descontos").transform(frame)
    assert out.select("nivel", "sk_data", "id_item_origem", "id_produto").rows() == [
        ("Item", 20231231, 10, 3),
        ("Pedido", 20231231, None, None),
    ]
    assert out["valor_desconto"].to_list() == [Decimal("1.50"), Decimal("1234567890.12")]
    assert out.columns == list(fact_descontos.OUTPUT_COLUMNS)
