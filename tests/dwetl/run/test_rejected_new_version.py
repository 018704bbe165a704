"""The newest source version of a key decides (issue 21, item 4): when it is rejected, an
incremental run leaves the key as a full reload of the same source would — a fact row gone, a
dimension row gone or, where a fact references it, an inferred member — and the reject open."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest

from dwetl.run.runner import run
from dwetl.warehouse.ddl import shipped_constraint_sets

UNREFERENCED = 9_000_001
TABLES = (
    "dim_data",
    "dim_cliente",
    "dim_produto",
    "dim_loja",
    "dim_vendedor",
    "dim_desconto",
    "fact_vendas",
    "fact_descontos",
    "fact_metas",
)
OPEN_REJECTS = (
    "SELECT DISTINCT entity, source_key FROM ctl.etl_reject "
    "WHERE resolved_run_id IS NULL AND applied"
)


def _natural(table: str) -> str | None:
    """The natural-key column of a dimension (None for the calendar: its sk is its key)."""
    names = [c.name for c in shipped_constraint_sets()[table].columns]
    return next((n for n in names if n.startswith("id_") and n.endswith("_origem")), None)


def keyed(etl, table: str) -> pl.DataFrame:
    """`table`'s rows with every surrogate key replaced by its natural key (surrogate keys may
    be numbered differently by two warehouses) and without the lineage column, sorted."""
    cs = shipped_constraint_sets()[f"dw.{table}"]
    frame = etl.dw_frame(f"SELECT * FROM dw.{table}").drop("id_execucao")
    for fk in cs.foreign_keys:
        natural = _natural(fk.ref_table)
        if natural is None:
            continue
        (column,), (ref_column,) = fk.columns, fk.ref_columns
        parents = etl.dw_frame(f"SELECT {ref_column}, {natural} FROM {fk.ref_table}")
        frame = frame.join(
            parents.rename({ref_column: column, natural: f"{column}__{natural}"}),
            on=column,
            how="left",
        ).drop(column)
    own = cs.primary_key.columns[0] if cs.primary_key else None
    if own and own.startswith("sk_") and _natural(f"dw.{table}"):
        frame = frame.drop(own)
    return frame.sort(frame.columns, nulls_last=True)


@pytest.mark.pairs("sqlite-duckdb", "postgresql-postgresql")
@pytest.mark.parametrize("batch_rows", [1_000_000, 1], ids=["whole", "batched"])
def test_a_rejected_new_version_leaves_what_a_full_reload_leaves(etl, new_etl, batch_rows):
    etl.sample(600, 21, 0.0)
    etl.src(
        "INSERT INTO clientes (id, nome, cpf, email, cidade, uf, data_cadastro, atualizado_em) "
        "VALUES (?, 'Joana Conceição', '12345678901', 'joana@exemplo.com.br', 'Recife', 'PE', "
        "'2024-02-03', '2024-02-03 10:00:00')",
        [UNREFERENCED],
    )
    etl.init()
    first = etl.run("all")
    assert first.status == "success", first.to_dict()

    later = max(etl.later(t) for t in ("clientes", "venda_itens", "vendas"))
    (item,), *_ = etl.src("SELECT MIN(id) FROM venda_itens")
    (referenced,), *_ = etl.src("SELECT MIN(id_cliente) FROM vendas")
    etl.src("UPDATE venda_itens SET quantidade = 0, atualizado_em = ? WHERE id = ?", [later, item])
    etl.src(
        "UPDATE clientes SET nome = NULL, atualizado_em = ? WHERE id IN (?, ?)",
        [later, referenced, UNREFERENCED],
    )

    settings = dataclasses.replace(etl.settings, batch_rows=batch_rows)
    incremental = run(settings, ["all"], max_reject_ratio=1.0)

    counts = {e.entity: (e.status, e.rejected, e.withdrawn) for e in incremental.entities}
    assert counts["dim_cliente"] == ("success", 2, 2)
    assert counts["fact_vendas"] == ("success", 1, 1)
    assert all(e.balance() == 0 for e in incremental.entities)
    vendas = next(e for e in incremental.entities if e.entity == "fact_vendas")
    assert (vendas.batches > 1) == (batch_rows == 1)
    assert etl.dw(
        "SELECT nome, inferido, cidade FROM dw.dim_cliente WHERE id_cliente_origem = %s",
        [referenced],
    ) == [("Não informado", True, None)]
    assert etl.dw(
        "SELECT COUNT(*) FROM dw.dim_cliente WHERE id_cliente_origem = %s", [UNREFERENCED]
    ) == [(0,)]
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas WHERE id_item_origem = %s", [item]) == [(0,)]

    full = new_etl("full")
    full.use_source_of(etl)
    full.init()
    reloaded = full.run("all")
    assert reloaded.status == "success" and reloaded.quarantined > 0, reloaded.to_dict()

    for table in TABLES:
        assert keyed(etl, table).equals(keyed(full, table)), table
    assert set(etl.dw(OPEN_REJECTS)) == set(full.dw(OPEN_REJECTS))
    assert {("dim_cliente", str(referenced)), ("fact_vendas", str(item))} <= set(
        etl.dw(OPEN_REJECTS)
    )

    # Fixed at the source, the key loads again and its reject is resolved.
    etl.src(
        "UPDATE clientes SET nome = 'Cliente Corrigido', atualizado_em = ? WHERE id = ?",
        [etl.later("clientes"), referenced],
    )
    etl.run("all", max_reject_ratio=1.0)
    assert etl.dw(
        "SELECT nome, inferido FROM dw.dim_cliente WHERE id_cliente_origem = %s", [referenced]
    ) == [("Cliente Corrigido", False)]
    assert ("dim_cliente", str(referenced)) not in set(etl.dw(OPEN_REJECTS))
