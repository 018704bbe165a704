"""dim_cliente from the ERP's `clientes`: repaired names and cities, CPF digits, UF in its domain.

>>> f = pl.DataFrame({"id_cliente_origem": [1], "nome": ["Jos? da Silva "],
...     "cpf": ["123.456.789-09"], "email": [" Jose@X.com"], "cidade": ["SÃ£o Paulo"],
...     "uf": [" sp"], "data_cadastro": [None], "atualizado_em": [None]},
...     schema_overrides=SOURCE_SCHEMA)
>>> transform(f, domains={"uf": ["SP"]}).row(0)[1:6]
('Jos? da Silva', '12345678909', 'jose@x.com', 'São Paulo', 'SP')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from transforms.columns import TIMESTAMP, blank_to_null
from transforms.text import normalize, repair, repair_to_domain

SOURCE_SCHEMA: dict[str, pl.DataType] = {
    "id_cliente_origem": pl.Int64(),
    "nome": pl.String(),
    "cpf": pl.String(),
    "email": pl.String(),
    "cidade": pl.String(),
    "uf": pl.String(),
    "data_cadastro": pl.Date(),
    "atualizado_em": TIMESTAMP,
}
DOMAIN_COLUMNS = ("uf",)


def transform(frame: pl.DataFrame, *, domains: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """Repair text, keep the CPF's digits, lower-case the e-mail, fit `uf` to `domains["uf"]`."""
    return (
        frame.with_columns(
            repair(frame["nome"]),
            repair(frame["cidade"]),
            pl.col("cpf").str.replace_all(r"\D", ""),
            normalize("email").str.to_lowercase(),
            repair_to_domain(normalize("uf").str.to_uppercase(), domains["uf"]).alias("uf"),
        )
        .with_columns(blank_to_null(pl.col(c)) for c in ("nome", "cpf", "email", "cidade", "uf"))
        .select(list(SOURCE_SCHEMA))
    )
