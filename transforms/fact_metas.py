"""fact_metas (grain: year x month x store x seller; no seller = the store's target).

>>> f = pl.DataFrame({"id_meta_origem": [1], "ano": [2024], "mes": [3], "id_loja": [2],
...     "id_vendedor": [None], "valor_meta": ["50000"], "atualizado_em": [None]},
...     schema_overrides=SOURCE_SCHEMA)
>>> transform(f).select("sk_data", "id_vendedor", "valor_meta").row(0)
(20240301, None, Decimal('50000.00'))
"""

from __future__ import annotations

import polars as pl

from transforms.columns import MONEY, TIMESTAMP

SOURCE_SCHEMA: dict[str, pl.DataType] = {
    "id_meta_origem": pl.Int64(),
    "ano": pl.Int32(),
    "mes": pl.Int32(),
    "id_loja": pl.Int64(),
    "id_vendedor": pl.Int64(),  # NULL: the store's target (sk_vendedor -1 through the lookup)
    "valor_meta": MONEY,
    "atualizado_em": TIMESTAMP,
}
OUTPUT_COLUMNS = (
    "id_meta_origem", "ano", "mes", "sk_data", "id_loja", "id_vendedor", "valor_meta",
    "atualizado_em",
)  # fmt: skip


def transform(frame: pl.DataFrame) -> pl.DataFrame:
    """Derive `sk_data` = the first day of the target's month (NULL when year or month is off)."""
    valid_month = pl.col("mes").is_between(1, 12) & pl.col("ano").is_between(1, 9999)
    return frame.with_columns(
        pl.when(valid_month)
        .then((pl.col("ano") * 10000 + pl.col("mes") * 100 + 1).cast(pl.Int32))
        .alias("sk_data"),
    ).select(OUTPUT_COLUMNS)
