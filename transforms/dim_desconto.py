"""dim_desconto from the ERP's `descontos`: type, method and scope repaired to their CHECK domains.

>>> f = pl.DataFrame({"id_desconto_origem": [1], "codigo": [" BF24 "], "descricao": [None],
...     "tipo_desconto": ["Promo??o Autom?tica"], "metodo_desconto": ["percentual"],
...     "aplica_em": ["ITEM"], "valor": ["10"], "inicio_vigencia": [None],
...     "fim_vigencia": [None], "atualizado_em": [None]}, schema_overrides=SOURCE_SCHEMA)
>>> d = {"tipo_desconto": ["Promoção Automática"], "metodo_desconto": ["Percentual"],
...      "aplica_em": ["Item"]}
>>> transform(f, domains=d).row(0)[1:6]
('BF24', None, 'Promoção Automática', 'Percentual', 'Item')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from transforms.columns import MONEY, TIMESTAMP, blank_to_null
from transforms.text import normalize, repair, repair_to_domain

SOURCE_SCHEMA: dict[str, pl.DataType] = {
    "id_desconto_origem": pl.Int64(),
    "codigo": pl.String(),
    "descricao": pl.String(),
    "tipo_desconto": pl.String(),
    "metodo_desconto": pl.String(),
    "aplica_em": pl.String(),
    "valor": MONEY,
    "inicio_vigencia": pl.Date(),
    "fim_vigencia": pl.Date(),
    "atualizado_em": TIMESTAMP,
}
DOMAIN_COLUMNS = ("tipo_desconto", "metodo_desconto", "aplica_em")


def transform(frame: pl.DataFrame, *, domains: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """Fit each categorical column to `domains[column]`; normalise the code, repair descriptions."""
    return (
        frame.with_columns(
            normalize("codigo"),
            repair(frame["descricao"]),
            *(repair_to_domain(normalize(c), domains[c]).alias(c) for c in DOMAIN_COLUMNS),
        )
        .with_columns(blank_to_null(pl.col(c)) for c in ("codigo", "descricao", *DOMAIN_COLUMNS))
        .select(list(SOURCE_SCHEMA))
    )
