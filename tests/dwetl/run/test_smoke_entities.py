"""Smoke test per entity: sample -> init -> run the entity (and its dependencies) -> the target
holds exactly the rows an independent count over the source and its ground truth predicts."""

from __future__ import annotations

from datetime import date

import pytest

from dwetl.entities.registry import resolve_order

ROWS, SEED, DAMAGE = 2000, 11, 0.03

#: entity -> (source table, its surrogate key or None for a fact)
SOURCES = {
    "dim_cliente": ("clientes", "sk_cliente"),
    "dim_produto": ("produtos", "sk_produto"),
    "dim_loja": ("lojas", "sk_loja"),
    "dim_vendedor": ("vendedores", "sk_vendedor"),
    "dim_desconto": ("descontos", "sk_desconto"),
    "fact_vendas": ("venda_itens", None),
    "fact_descontos": ("venda_descontos", None),
    "fact_metas": ("metas", None),
}
FACTS = sorted(e for e, (_, sk) in SOURCES.items() if sk is None)

#: (backend pair, entity): every entity on the default pair and PostgreSQL -> PostgreSQL; the
#: facts (which load every dimension first) on the other server pairs, to keep the suite short
CASES = [
    *((pair, e) for pair in ("sqlite-duckdb", "postgresql-postgresql") for e in sorted(SOURCES)),
    *((pair, e) for pair in ("mysql-postgresql", "sqlite-postgresql") for e in FACTS),
]


def expected_rows(etl, table: str) -> int:
    """Distinct source ids minus those the ground truth says the warehouse must reject."""
    lost_order = (
        " AND id_venda NOT IN (SELECT id FROM sample_damage "
        "WHERE tabela = 'vendas' AND NOT recuperavel)"
        if table == "venda_itens"
        else ""
    )
    sql = (
        f"SELECT COUNT(DISTINCT id) FROM {table} WHERE id NOT IN "
        f"(SELECT id FROM sample_damage WHERE tabela = '{table}' AND NOT recuperavel)" + lost_order
    )
    return etl.src(sql)[0][0]


@pytest.mark.parametrize(("backend_pair", "entity"), CASES, indirect=["backend_pair"])
def test_entity_loads_exactly_the_rows_the_source_predicts(etl, entity):
    etl.sample(ROWS, SEED, DAMAGE)
    etl.init()
    names = [s.name for s in resolve_order([entity], include_dependencies=True)]
    summary = etl.run(*names)

    result = next(e for e in summary.entities if e.entity == entity)
    assert result.status == "success", result.error
    table, sk = SOURCES[entity]
    target = f"dw.{entity}"
    where = f"WHERE {sk} <> -1 AND NOT inferido" if sk else ""
    loaded = etl.dw(f"SELECT COUNT(*) FROM {target} {where}")[0][0]
    assert loaded == expected_rows(etl, table)
    assert loaded > 0


@pytest.mark.pairs("sqlite-duckdb", "postgresql-postgresql", "mysql-postgresql")
def test_calendar_spans_whole_years_of_the_sales_and_targets(etl):
    etl.sample(ROWS, SEED, DAMAGE)
    etl.init()
    summary = etl.run("dim_data")
    assert summary.status == "success", summary.to_dict()

    (sale_min, sale_max), *_ = etl.src(
        "SELECT MIN(CAST(strftime('%Y', data_venda) AS INTEGER)), "
        "MAX(CAST(strftime('%Y', data_venda) AS INTEGER)) FROM vendas"
    )
    (goal_min, goal_max), *_ = etl.src(
        "SELECT MIN(ano), MAX(ano) FROM metas WHERE ano BETWEEN 2000 AND 2100 "
        "AND mes BETWEEN 1 AND 12"
    )
    first, last = min(sale_min, goal_min), max(sale_max, goal_max)
    days = (date(last, 12, 31) - date(first, 1, 1)).days + 1
    rows = etl.dw("SELECT COUNT(*), MIN(data), MAX(data) FROM dw.dim_data WHERE sk_data <> -1")
    assert rows == [(days, date(first, 1, 1), date(last, 12, 31))]
