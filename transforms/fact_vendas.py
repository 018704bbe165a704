"""fact_vendas (grain: order item): gross and net in exact decimals, channel in its domain.

>>> f = pl.DataFrame({"id_item_origem": [10], "id_venda_origem": [1],
...     "data_venda": [datetime(2024, 3, 5, 14, 30)], "id_cliente": [None], "id_produto": [3],
...     "id_loja": [2], "id_vendedor": [None], "canal": ["e-commerce"], "quantidade": [3],
...     "preco_unitario": ["10.05"], "valor_desconto": ["1.10"], "atualizado_em": [None]},
...     schema_overrides=SOURCE_SCHEMA)
>>> t = transform(f, domains={"canal": ["E-commerce"]})
>>> t.select("sk_data", "canal", "valor_bruto", "valor_liquido").row(0)
(20240305, 'E-commerce', Decimal('30.15'), Decimal('29.05'))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime  # noqa: F401  (used by the doctest)

import polars as pl

from transforms.columns import MONEY, TIMESTAMP, date_key
from transforms.keys import fold_versions
from transforms.text import normalize, repair_to_domain

SOURCE_SCHEMA: dict[str, pl.DataType] = {
    "id_item_origem": pl.Int64(),
    "id_venda_origem": pl.Int64(),
    "data_venda": TIMESTAMP,
    "id_cliente": pl.Int64(),
    "id_produto": pl.Int64(),
    "id_loja": pl.Int64(),
    "id_vendedor": pl.Int64(),
    "canal": pl.String(),
    "quantidade": pl.Int32(),
    "preco_unitario": MONEY,
    "valor_desconto": MONEY,
    "atualizado_em": TIMESTAMP,
}
#: the extract's parts (sql/extract/fact_vendas.itens.sql, .vendas.sql), joined by `combine`
ITENS_SCHEMA: dict[str, pl.DataType] = {
    "id_item_origem": pl.Int64(),
    "id_venda_origem": pl.Int64(),
    "id_produto": pl.Int64(),
    "quantidade": pl.Int32(),
    "preco_unitario": MONEY,
    "valor_desconto": MONEY,
    "atualizado_em": TIMESTAMP,
}
VENDAS_SCHEMA: dict[str, pl.DataType] = {
    "id_venda_origem": pl.Int64(),
    "data_venda": TIMESTAMP,
    "id_cliente": pl.Int64(),
    "id_loja": pl.Int64(),
    "id_vendedor": pl.Int64(),
    "canal": pl.String(),
    "atualizado_em": TIMESTAMP,
}
DOMAIN_COLUMNS = ("canal",)
OUTPUT_COLUMNS = (
    "id_item_origem", "id_venda_origem", "sk_data", "id_cliente", "id_produto", "id_loja",
    "id_vendedor", "canal", "quantidade", "preco_unitario", "valor_bruto", "valor_desconto",
    "valor_liquido", "atualizado_em",
)  # fmt: skip


def combine(itens: pl.DataFrame, vendas: pl.DataFrame) -> pl.DataFrame:
    """Each item version with its order's newest header; `atualizado_em`: the later of the two.

    An item without a header keeps NULL header columns (validation rejects it, never dropped).

    >>> itens = pl.DataFrame([{"id_item_origem": 10, "id_venda_origem": 1,
    ...     "atualizado_em": datetime(2024, 3, 6)}], schema=ITENS_SCHEMA)
    >>> vendas = pl.DataFrame([
    ...     {"id_venda_origem": 1, "id_cliente": 4, "atualizado_em": datetime(2024, 3, 5)},
    ...     {"id_venda_origem": 1, "id_cliente": 5, "atualizado_em": datetime(2024, 3, 7)}],
    ...     schema=VENDAS_SCHEMA)
    >>> combine(itens, vendas).select("id_cliente", "atualizado_em").row(0)
    (5, datetime.datetime(2024, 3, 7, 0, 0))
    """
    headers = fold_versions(vendas, "id_venda_origem", "atualizado_em")[0]
    return (
        itens.join(
            headers.rename({"atualizado_em": "venda_atualizado_em"}),
            on="id_venda_origem",
            how="left",
            maintain_order="left",
        )
        .with_columns(pl.max_horizontal("atualizado_em", "venda_atualizado_em"))
        .select(list(SOURCE_SCHEMA))
    )


def transform(frame: pl.DataFrame, *, domains: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """Derive `sk_data`, gross = qty x unit price, net = gross - discount (NULL discount = 0)."""
    gross = (pl.col("quantidade").cast(pl.Decimal(38, 0)) * pl.col("preco_unitario")).cast(MONEY)
    return (
        frame.with_columns(
            date_key(pl.col("data_venda")).alias("sk_data"),
            repair_to_domain(normalize("canal"), domains["canal"]).alias("canal"),
            gross.alias("valor_bruto"),
            pl.col("valor_desconto").fill_null(0).cast(MONEY),
        )
        .with_columns(
            (pl.col("valor_bruto") - pl.col("valor_desconto")).cast(MONEY).alias("valor_liquido"),
        )
        .select(OUTPUT_COLUMNS)
    )
