"""What a full load of a sample must end with, per entity, from the source and its ground truth.

Per entity (full load of every row version): `extracted` = rows of its source table (every
version), `folded` = extracted - distinct ids (chave_duplicada + atualizacao rows),
`rejected` = distinct ids with a `recuperavel = FALSE` damage (for fact_vendas also every item
whose venda has one), `loaded` = distinct ids - rejected. So extracted = loaded + rejected +
folded. Inferred dimension members (orphan keys, rejected dimension rows that facts reference)
come on top of `loaded` in the dimension tables and are not counted here.

>>> from dwetl.sample import generate_sample
>>> s = generate_sample(rows=2_000, seed=1, damage=0.05)
>>> e = expected_counts(s.tables, s.truth)["fact_vendas"]
>>> e.extracted == e.loaded + e.rejected + e.folded
True
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

#: warehouse entity -> the source table it is loaded from
ENTITY_TABLES: dict[str, str] = {
    "dim_cliente": "clientes",
    "dim_produto": "produtos",
    "dim_loja": "lojas",
    "dim_vendedor": "vendedores",
    "dim_desconto": "descontos",
    "fact_vendas": "venda_itens",
    "fact_descontos": "venda_descontos",
    "fact_metas": "metas",
}


@dataclass(frozen=True)
class Expected:
    """The counts one entity's full load must report."""

    extracted: int
    folded: int
    rejected: int
    loaded: int


def rejected_ids(tables: dict[str, pl.DataFrame], truth: pl.DataFrame, entity: str) -> pl.Series:
    """The source ids of `entity` the warehouse must reject (sorted, distinct)."""
    table = ENTITY_TABLES[entity]
    bad = truth.filter(~pl.col("recuperavel"))
    ids = bad.filter(pl.col("tabela") == table)["id"]
    if entity == "fact_vendas":
        bad_vendas = bad.filter(pl.col("tabela") == "vendas")["id"]
        items = tables["venda_itens"].filter(pl.col("id_venda").is_in(bad_vendas.implode()))
        ids = pl.concat([ids, items["id"]])
    return ids.unique().sort()


def expected_counts(tables: dict[str, pl.DataFrame], truth: pl.DataFrame) -> dict[str, Expected]:
    """`Expected` per entity, for source frames (as written) and their `sample_damage` rows."""
    out: dict[str, Expected] = {}
    for entity, table in ENTITY_TABLES.items():
        frame = tables[table]
        distinct = frame["id"].n_unique()
        rejected = rejected_ids(tables, truth, entity).len()
        out[entity] = Expected(
            extracted=frame.height,
            folded=frame.height - distinct,
            rejected=rejected,
            loaded=distinct - rejected,
        )
    return out
