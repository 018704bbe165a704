"""dim_loja from the ERP's `lojas`: repaired names and cities, UF and region in their domains.

>>> f = pl.DataFrame({"id_loja_origem": [1], "nome": ["Loja Centro"], "cidade": ["Bel?m"],
...     "uf": ["pa "], "regiao": ["NORTE"], "data_abertura": [None], "atualizado_em": [None]},
...     schema_overrides=SOURCE_SCHEMA)
>>> transform(f, domains={"uf": ["PA"], "regiao": ["Norte"]}).row(0)[3:5]
('PA', 'Norte')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from transforms.columns import TIMESTAMP, blank_to_null
from transforms.text import normalize, repair, repair_to_domain

SOURCE_SCHEMA: dict[str, pl.DataType] = {
    "id_loja_origem": pl.Int64(),
    "nome": pl.String(),
    "cidade": pl.String(),
    "uf": pl.String(),
    "regiao": pl.String(),
    "data_abertura": pl.Date(),
    "atualizado_em": TIMESTAMP,
}
DOMAIN_COLUMNS = ("uf", "regiao")


def transform(frame: pl.DataFrame, *, domains: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """Repair name and city; fit `uf` (upper-cased) and `regiao` to their domains, never guess."""
    return (
        frame.with_columns(
            repair(frame["nome"]),
            repair(frame["cidade"]),
            repair_to_domain(normalize("uf").str.to_uppercase(), domains["uf"]).alias("uf"),
            repair_to_domain(normalize("regiao"), domains["regiao"]).alias("regiao"),
        )
        .with_columns(blank_to_null(pl.col(c)) for c in ("nome", "cidade", "uf", "regiao"))
        .select(list(SOURCE_SCHEMA))
    )
