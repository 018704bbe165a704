"""fact_descontos (grain: a discount applied to an order or to one of its items).

>>> f = pl.DataFrame({"id_venda_desconto_origem": [5, 6], "id_venda_origem": [1, 1],
...     "id_item_origem": [10, None], "id_desconto": [2, 3],
...     "data_venda": [datetime(2024, 3, 5)] * 2, "id_cliente": [4, 4], "id_loja": [2, 2],
...     "id_produto": [3, None], "valor_desconto": ["1.5", "2"], "atualizado_em": [None] * 2},
...     schema_overrides=SOURCE_SCHEMA)
>>> transform(f).select("nivel", "sk_data", "valor_desconto").rows()
[('Item', 20240305, Decimal('1.50')), ('Pedido', 20240305, Decimal('2.00'))]
"""

from __future__ import annotations

from datetime import datetime  # noqa: F401  (used by the doctest)

import polars as pl

from transforms.columns import MONEY, TIMESTAMP, date_key
from transforms.keys import fold_versions

SOURCE_SCHEMA: dict[str, pl.DataType] = {
    "id_venda_desconto_origem": pl.Int64(),
    "id_venda_origem": pl.Int64(),
    "id_item_origem": pl.Int64(),  # NULL: the discount applies to the whole order
    "id_desconto": pl.Int64(),
    "data_venda": TIMESTAMP,  # the order's, joined in the extract
    "id_cliente": pl.Int64(),
    "id_loja": pl.Int64(),
    "id_produto": pl.Int64(),  # the item's, joined in the extract
    "valor_desconto": MONEY,
    "atualizado_em": TIMESTAMP,
}
#: the extract's parts (sql/extract/fact_descontos.descontos.sql, .vendas.sql, .itens.sql),
#: joined by `combine`
DESCONTOS_SCHEMA: dict[str, pl.DataType] = {
    "id_venda_desconto_origem": pl.Int64(),
    "id_venda_origem": pl.Int64(),
    "id_item_origem": pl.Int64(),
    "id_desconto": pl.Int64(),
    "valor_desconto": MONEY,
    "atualizado_em": TIMESTAMP,
}
VENDAS_SCHEMA: dict[str, pl.DataType] = {
    "id_venda_origem": pl.Int64(),
    "data_venda": TIMESTAMP,
    "id_cliente": pl.Int64(),
    "id_loja": pl.Int64(),
    "atualizado_em": TIMESTAMP,
}
ITENS_SCHEMA: dict[str, pl.DataType] = {
    "id_item_origem": pl.Int64(),
    "id_produto": pl.Int64(),
    "atualizado_em": TIMESTAMP,
}
OUTPUT_COLUMNS = (
    "id_venda_desconto_origem", "id_venda_origem", "id_item_origem", "nivel", "sk_data",
    "id_cliente", "id_loja", "id_produto", "id_desconto", "valor_desconto", "atualizado_em",
)  # fmt: skip


def combine(descontos: pl.DataFrame, vendas: pl.DataFrame, itens: pl.DataFrame) -> pl.DataFrame:
    """Each discount version with its order's and item's newest versions; `atualizado_em`: the
    latest of the three. A missing order or item leaves NULL columns (validation decides).

    >>> descontos = pl.DataFrame([{"id_venda_desconto_origem": 5, "id_venda_origem": 1,
    ...     "id_item_origem": 10, "atualizado_em": datetime(2024, 3, 1)}], schema=DESCONTOS_SCHEMA)
    >>> vendas = pl.DataFrame([{"id_venda_origem": 1, "id_cliente": 4,
    ...     "atualizado_em": datetime(2024, 3, 2)}], schema=VENDAS_SCHEMA)
    >>> itens = pl.DataFrame([{"id_item_origem": 10, "id_produto": 3,
    ...     "atualizado_em": datetime(2024, 3, 8)}], schema=ITENS_SCHEMA)
    >>> combine(descontos, vendas, itens).select("id_cliente", "id_produto", "atualizado_em").row(0)
    (4, 3, datetime.datetime(2024, 3, 8, 0, 0))
    """
    orders = fold_versions(vendas, "id_venda_origem", "atualizado_em")[0]
    items = fold_versions(itens, "id_item_origem", "atualizado_em")[0]
    return (
        descontos.join(
            orders.rename({"atualizado_em": "venda_atualizado_em"}),
            on="id_venda_origem",
            how="left",
            maintain_order="left",
        )
        .join(
            items.rename({"atualizado_em": "item_atualizado_em"}),
            on="id_item_origem",
            how="left",
            maintain_order="left",
        )
        .with_columns(
            pl.max_horizontal("atualizado_em", "venda_atualizado_em", "item_atualizado_em")
        )
        .select(list(SOURCE_SCHEMA))
    )


def transform(frame: pl.DataFrame) -> pl.DataFrame:
    """Derive `nivel` ('Item' when an item is named, else 'Pedido') and `sk_data` of the order."""
    return frame.with_columns(
        pl.when(pl.col("id_item_origem").is_null())
        .then(pl.lit("Pedido"))
        .otherwise(pl.lit("Item"))
        .alias("nivel"),
        date_key(pl.col("data_venda")).alias("sk_data"),
        pl.col("valor_desconto").cast(MONEY),
    ).select(OUTPUT_COLUMNS)
