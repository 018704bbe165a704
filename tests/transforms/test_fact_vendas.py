"""fact_vendas: exact gross/net, the date key, the channel repaired to CK_FACT_VENDAS_canal."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import polars as pl

from dwetl.entities.registry import get_entity
from transforms import fact_vendas


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id_item_origem": [10, 11, 12],
            "id_venda_origem": [1, 1, 2],
            "data_venda": [datetime(2024, 3, 5, 23, 59), datetime(2024, 3, 5, 23, 59), None],
            "id_cliente": [4, 4, None],
            "id_produto": [3, 5, 6],
            "id_loja": [2, 2, 2],
            "id_vendedor": [9, 9, None],
            "canal": ["Loja Fisica", "Loja Física", "E-COMMERCE"],
            "quantidade": [3, 7, 1],
            "preco_unitario": ["0.10", "123456789.99", "19.90"],
            "valor_desconto": ["0.05", None, "19.90"],
            "atualizado_em": [datetime(2024, 3, 6)] * 3,
        },
        schema=fact_vendas.SOURCE_SCHEMA,
    )


def test_money_is_exact_decimal_at_scale_two() -> None:
    out = get_entity("fact_vendas").transform(_frame())
    assert out["valor_bruto"].to_list() == [
        Decimal("0.30"),
        Decimal("864197529.93"),
        Decimal("19.90"),
    ]
    assert out["valor_desconto"].to_list() == [Decimal("0.05"), Decimal("0"), Decimal("19.90")]
    assert out["valor_liquido"].to_list() == [
        Decimal("0.25"),
        Decimal("864197529.93"),
        Decimal("0"),
    ]
    for column in ("valor_bruto", "valor_desconto", "valor_liquido", "preco_unitario"):
        dtype = out.schema[column]
        assert isinstance(dtype, pl.Decimal) and dtype.scale == 2, column


def test_date_key_channel_and_natural_keys() -> None:
    out = get_entity("fact_vendas").transform(_frame())
    assert out["sk_data"].to_list() == [20240305, 20240305, None]
    assert out["canal"].to_list() == ["Loja Física", "Loja Física", "E-commerce"]
    assert out.columns == list(fact_vendas.OUTPUT_COLUMNS)
    assert {"id_cliente", "id_produto", "id_loja", "id_vendedor"} <= set(out.columns)
