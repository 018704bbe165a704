"""fact_vendas: exact gross/net, the date key, the channel repaired to CK_FACT_VENDAS_canal."""

from __future__ import annotations

from collections.abc import Mapping
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


def _rows(schema: dict[str, pl.DataType], *rows: Mapping[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=schema)  # columns a row leaves out are NULL


D = datetime


def _item(item: int, *, venda: int, quantidade: int, at: datetime) -> dict[str, object]:
    return {
        "id_item_origem": item,
        "id_venda_origem": venda,
        "quantidade": quantidade,
        "atualizado_em": at,
    }


def test_combine_gives_each_item_version_the_newest_header() -> None:
    itens = _rows(
        fact_vendas.ITENS_SCHEMA,
        _item(10, venda=1, quantidade=1, at=D(2024, 3, 6)),
        _item(10, venda=1, quantidade=2, at=D(2024, 3, 9)),
        _item(11, venda=2, quantidade=5, at=D(2024, 3, 1)),
    )
    vendas = _rows(
        fact_vendas.VENDAS_SCHEMA,
        {"id_venda_origem": 1, "canal": "Loja", "id_cliente": 4, "atualizado_em": D(2024, 3, 5)},
        {"id_venda_origem": 1, "canal": "Web", "id_cliente": 5, "atualizado_em": D(2024, 3, 7)},
        {"id_venda_origem": 1, "canal": "Old", "id_cliente": 6, "atualizado_em": D(2024, 3, 2)},
        {"id_venda_origem": 2, "canal": "Loja", "id_cliente": 7, "atualizado_em": D(2024, 3, 4)},
    )  # fmt: skip
    out = fact_vendas.combine(itens, vendas)
    assert out.schema == pl.Schema(fact_vendas.SOURCE_SCHEMA)
    # every item version stays (the runner folds them), in the items' order
    assert out.select("id_item_origem", "quantidade", "canal", "id_cliente").rows() == [
        (10, 1, "Web", 5),
        (10, 2, "Web", 5),
        (11, 5, "Loja", 7),
    ]
    # the later of the item's and the newest header's change
    assert out["atualizado_em"].to_list() == [D(2024, 3, 7), D(2024, 3, 9), D(2024, 3, 4)]


def test_combine_keeps_an_item_without_header_with_null_header_columns() -> None:
    itens = _rows(fact_vendas.ITENS_SCHEMA, _item(12, venda=77, quantidade=1, at=D(2024, 1, 1)))
    out = fact_vendas.combine(itens, _rows(fact_vendas.VENDAS_SCHEMA))
    assert out.height == 1
    row = out.row(0, named=True)
    assert row["id_venda_origem"] == 77
    assert [row[c] for c in ("data_venda", "id_cliente", "id_loja", "canal")] == [None] * 4
    assert row["atualizado_em"] == D(2024, 1, 1)
    # ... and validation then rejects it (no store, no date): never silently dropped
    assert get_entity("fact_vendas").transform(out)["sk_data"].to_list() == [None]


def test_combine_picks_the_same_header_among_equal_timestamps_whatever_the_order() -> None:
    itens = _rows(fact_vendas.ITENS_SCHEMA, {"id_item_origem": 10, "id_venda_origem": 1})
    versions = [
        {"id_venda_origem": 1, "canal": canal, "atualizado_em": D(2024, 3, 5)}
        for canal in ("A", "B")
    ]
    picked = {
        fact_vendas.combine(itens, _rows(fact_vendas.VENDAS_SCHEMA, *order))["canal"][0]
        for order in (versions, versions[::-1])
    }
    assert len(picked) == 1
