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
OUTPUT_COLUMNS = (
    "id_venda_desconto_origem", "id_venda_origem", "id_item_origem", "nivel", "sk_data",
    "id_cliente", "id_loja", "id_produto", "id_desconto", "valor_desconto", "atualizado_em",
)  # fmt: skip


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
