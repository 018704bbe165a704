"""dim_vendedor from the ERP's `vendedores`: repaired names; the store stays a natural key.

>>> f = pl.DataFrame({"id_vendedor_origem": [7], "nome": [" Ana  Lúcia "],
...     "id_loja_origem": [1], "data_admissao": [None], "atualizado_em": [None]},
...     schema_overrides=SOURCE_SCHEMA)
>>> transform(f).row(0)[:3]
(7, 'Ana Lúcia', 1)
"""

from __future__ import annotations

import polars as pl

from transforms.columns import TIMESTAMP, blank_to_null
from transforms.text import repair

SOURCE_SCHEMA: dict[str, pl.DataType] = {
    "id_vendedor_origem": pl.Int64(),
    "nome": pl.String(),
    "id_loja_origem": pl.Int64(),
    "data_admissao": pl.Date(),
    "atualizado_em": TIMESTAMP,
}


def transform(frame: pl.DataFrame) -> pl.DataFrame:
    """Repair the seller's name; everything else passes through."""
    return (
        frame.with_columns(repair(frame["nome"]))
        .with_columns(blank_to_null(pl.col("nome")))
        .select(list(SOURCE_SCHEMA))
    )
