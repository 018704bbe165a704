"""dim_produto from the ERP's `produtos`: repaired names and brands, category in its domain.

>>> f = pl.DataFrame({"id_produto_origem": [1], "nome": ["Geladeira"],
...     "categoria": ["ELETRODOMESTICOS"], "marca": ["BrastemÃ­"], "preco_lista": ["10.5"],
...     "ativo": [1], "atualizado_em": [None]}, schema_overrides=SOURCE_SCHEMA)
>>> transform(f, domains={"categoria": ["Eletrodomésticos"]}).row(0)[2:6]
('Eletrodomésticos', 'Brastemí', Decimal('10.50'), True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from transforms.columns import MONEY, TIMESTAMP, blank_to_null
from transforms.text import normalize, repair, repair_to_domain

SOURCE_SCHEMA: dict[str, pl.DataType] = {
    "id_produto_origem": pl.Int64(),
    "nome": pl.String(),
    "categoria": pl.String(),
    "marca": pl.String(),
    "preco_lista": MONEY,
    "ativo": pl.Int16(),
    "atualizado_em": TIMESTAMP,
}
DOMAIN_COLUMNS = ("categoria",)


def transform(frame: pl.DataFrame, *, domains: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """Repair name and brand, fit `categoria` to its domain, `ativo` 0/1 -> boolean."""
    return (
        frame.with_columns(
            repair(frame["nome"]),
            repair(frame["marca"]),
            repair_to_domain(normalize("categoria"), domains["categoria"]).alias("categoria"),
            (pl.col("ativo") != 0).alias("ativo"),
        )
        .with_columns(blank_to_null(pl.col(c)) for c in ("nome", "categoria", "marca"))
        .select(list(SOURCE_SCHEMA))
    )
