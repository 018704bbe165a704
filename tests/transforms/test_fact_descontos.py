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


D = datetime


def _rows(schema: dict[str, pl.DataType], *rows: dict[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=schema)  # columns a row leaves out are NULL


def test_combine_joins_newest_order_and_item_and_takes_the_latest_change() -> None:
    descontos = _rows(
        fact_descontos.DESCONTOS_SCHEMA,
        {"id_venda_desconto_origem": 100, "id_venda_origem": 1, "id_item_origem": 10,
         "id_desconto": 2, "valor_desconto": Decimal("1.25"), "atualizado_em": D(2024, 3, 1)},
        {"id_venda_desconto_origem": 101, "id_venda_origem": 1, "id_item_origem": None,
         "id_desconto": 2, "valor_desconto": Decimal("3"), "atualizado_em": D(2024, 3, 8)},
        {"id_venda_desconto_origem": 102, "id_venda_origem": 9, "id_item_origem": 99,
         "id_desconto": 2, "valor_desconto": Decimal("1"), "atualizado_em": D(2024, 2, 1)},
    )  # fmt: skip
    vendas = _rows(
        fact_descontos.VENDAS_SCHEMA,
        {"id_venda_origem": 1, "id_cliente": 4, "id_loja": 2, "atualizado_em": D(2024, 3, 5)},
        {"id_venda_origem": 1, "id_cliente": 5, "id_loja": 2, "atualizado_em": D(2024, 3, 7)},
    )
    itens = _rows(
        fact_descontos.ITENS_SCHEMA,
        {"id_item_origem": 10, "id_produto": 3, "atualizado_em": D(2024, 3, 6)},
        {"id_item_origem": 10, "id_produto": 8, "atualizado_em": D(2024, 3, 2)},
        {"id_item_origem": 11, "id_produto": 4, "atualizado_em": D(2024, 3, 9)},
    )
    out = fact_descontos.combine(descontos, vendas, itens)
    assert out.schema == pl.Schema(fact_descontos.SOURCE_SCHEMA)
    assert out.select(
        "id_venda_desconto_origem", "id_cliente", "id_produto", "atualizado_em"
    ).rows() == [
        (100, 5, 3, D(2024, 3, 7)),  # the order changed last
        (101, 5, None, D(2024, 3, 8)),  # an order discount: no product; its own change last
        (102, None, None, D(2024, 2, 1)),  # no order, no item: NULLs, for validation to reject
    ]
    assert out["valor_desconto"].to_list() == [Decimal("1.25"), Decimal("3"), Decimal("1")]


def test_combine_takes_the_item_change_when_it_is_the_latest() -> None:
    descontos = _rows(
        fact_descontos.DESCONTOS_SCHEMA,
        {"id_venda_desconto_origem": 100, "id_venda_origem": 1, "id_item_origem": 10,
         "atualizado_em": D(2024, 3, 1)},
    )  # fmt: skip
    vendas = _rows(
        fact_descontos.VENDAS_SCHEMA, {"id_venda_origem": 1, "atualizado_em": D(2024, 3, 2)}
    )
    itens = _rows(
        fact_descontos.ITENS_SCHEMA,
        {"id_item_origem": 10, "id_produto": 3, "atualizado_em": D(2024, 3, 9)},
    )
    out = fact_descontos.combine(descontos, vendas, itens)
    assert out["atualizado_em"].to_list() == [D(2024, 3, 9)]
