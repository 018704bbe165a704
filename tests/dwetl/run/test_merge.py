"""Merge through the real DuckDB warehouse: counts, unchanged rows not rewritten, stable sks,
an inferred member completed in place."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest
import sqlglot

from dwetl.entities.registry import all_entities, get_entity
from dwetl.run import inferred, merge, rejects
from dwetl.warehouse import open_warehouse

pytestmark = pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql")


@pytest.fixture
def wh(etl):
    etl.sample(200, 1, 0.0)
    etl.init()
    with open_warehouse(etl.settings.dw, etl.settings) as con:
        yield con


def lojas(rows: list[tuple[int, int, str, bool, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "sk_loja": sk, "id_loja_origem": nk, "nome": nome, "cidade": "Recife",
                "uf": "PE", "regiao": "Nordeste", "data_abertura": None, "inferido": inf,
                "atualizado_em": None, "id_execucao": run,
            }
            for sk, nk, nome, inf, run in rows
        ]
    )  # fmt: skip


def merge_lojas(wh, frame: pl.DataFrame, run_id: int, apply: bool = True) -> merge.MergeCounts:
    plan = merge.plan_for(
        wh, "dw.dim_loja", merge.staging_name("dim_loja", run_id), ("id_loja_origem",), "sk_loja"
    )
    with wh.transaction():
        merge.stage(wh, plan, frame)
        counts = merge.merge(wh, plan, apply=apply)
        merge.drop_staging(wh, plan)
    return counts


def test_counts_and_unchanged_rows_keep_their_lineage(wh):
    first = merge_lojas(wh, lojas([(1, 10, "Centro", False, 1), (2, 20, "Sul", False, 1)]), 1)
    assert first == merge.MergeCounts(inserted=2, updated=0, unchanged=0)

    second = merge_lojas(
        wh,
        lojas([(1, 10, "Centro", False, 2), (2, 20, "Sul Novo", False, 2), (3, 30, "N", False, 2)]),
        2,
    )

    assert second == merge.MergeCounts(inserted=1, updated=1, unchanged=1)
    rows = wh.fetchall(
        "SELECT id_loja_origem, nome, id_execucao FROM dw.dim_loja "
        "WHERE sk_loja > 0 ORDER BY id_loja_origem"
    )
    assert rows == [(10, "Centro", 1), (20, "Sul Novo", 2), (30, "N", 2)]
    assert wh.fetchall(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'stg'"
    ) == [(0,)]


def _plan(wh, run_id: int) -> merge.MergePlan:
    return merge.plan_for(
        wh, "dw.dim_loja", merge.staging_name("dim_loja", run_id), ("id_loja_origem",), "sk_loja"
    )


def _forty_stores(wh) -> None:
    stores = lojas([(i, i * 10, f"Loja {i}", False, 1) for i in range(1, 41)])
    assert merge_lojas(wh, stores, 1).inserted == 40


def _small_batch() -> pl.DataFrame:
    # against 40 stores: one unchanged, two renamed, one new (a delta, not a reload)
    return lojas(
        [
            (1, 10, "Loja 1", False, 2), (2, 20, "Renomeada", False, 2),
            (3, 30, "Outra", False, 2), (41, 410, "N", False, 2),
        ]
    )  # fmt: skip


@pytest.mark.pairs("sqlite-postgresql")
def test_a_small_batch_is_counted_by_the_upsert_that_applies_it(wh):
    # PostgreSQL counts what its upsert wrote from the rows the statement returns: the same
    # counts as the join of staging and target, without the join.
    _forty_stores(wh)
    plan, batch = _plan(wh, 2), _small_batch()
    with wh.transaction():
        merge.stage(wh, plan, batch)
        expected = merge.count_changes(wh, plan)
        form = merge.form(wh, batch.height, 41)
        assert form == "upsert"
        counted = wh.apply_counted(merge.apply_sql(wh, plan, batch.height, 41), form)
        merge.drop_staging(wh, plan)

    assert counted == (expected.inserted, expected.updated) == (1, 2)
    assert wh.fetchall(
        "SELECT id_loja_origem, nome, id_execucao FROM dw.dim_loja "
        "WHERE id_loja_origem IN (10, 20, 410) ORDER BY id_loja_origem"
    ) == [(10, "Loja 1", 1), (20, "Renomeada", 2), (410, "N", 2)]


class _RolledBack(Exception):
    pass


@pytest.mark.parametrize("form", ["upsert", "merge"])
def test_a_form_the_dialect_cannot_count_writes_nothing(wh, form):
    _forty_stores(wh)
    plan, batch = _plan(wh, 2), _small_batch()
    build = merge.upsert_sql if form == "upsert" else merge.merge_sql
    sql = build(plan, wh.sqlglot_dialect)
    with pytest.raises(_RolledBack), wh.transaction():
        merge.stage(wh, plan, batch)
        if wh.apply_counted(sql, form) is None:
            assert merge.count_changes(wh, plan) == merge.MergeCounts(1, 2, 1)
        raise _RolledBack


def test_merge_of_a_known_number_of_staged_rows_counts_as_the_join(wh):
    _forty_stores(wh)
    plan, batch = _plan(wh, 2), _small_batch()
    with wh.transaction():
        merge.stage(wh, plan, batch)
        counts = merge.merge(wh, plan, staged=batch.height)
        merge.drop_staging(wh, plan)

    assert counts == merge.MergeCounts(inserted=1, updated=2, unchanged=1)
    assert wh.fetchall("SELECT COUNT(*) FROM dw.dim_loja WHERE sk_loja > 0") == [(41,)]


def test_an_update_sets_only_the_columns_some_staged_row_changes(wh):
    _forty_stores(wh)
    plan = _plan(wh, 2)
    moved = lojas([(3, 30, "Loja 3", False, 2)]).with_columns(cidade=pl.lit("Olinda"))
    batch = pl.concat([_small_batch().filter(pl.col("id_loja_origem") != 30), moved])
    with wh.transaction():
        merge.stage(wh, plan, batch)
        counted = merge.count_changes(wh, plan)
        counts = merge.merge(wh, plan)
        merge.drop_staging(wh, plan)

    # store 20 renamed, store 30 moved: only nome and cidade change in any row
    assert counted.changed == ("nome", "cidade")
    assert counts == merge.MergeCounts(inserted=1, updated=2, unchanged=1)
    assert wh.fetchall(
        "SELECT id_loja_origem, nome, cidade, id_execucao FROM dw.dim_loja "
        "WHERE id_loja_origem IN (10, 20, 30, 410) ORDER BY id_loja_origem"
    ) == [
        (10, "Loja 1", "Recife", 1),
        (20, "Renomeada", "Recife", 2),
        (30, "Loja 3", "Olinda", 2),
        (410, "N", "Recife", 2),
    ]
    kept = replace(plan, kept=("uf", "regiao", "data_abertura", "inferido", "atualizado_em"))
    assert (
        'UPDATE SET "nome" = s."nome", "cidade" = s."cidade", "id_execucao" = s."id_execucao" '
        in (merge.merge_sql(kept))
    )


def test_count_only_merge_writes_nothing(wh):
    counts = merge_lojas(wh, lojas([(1, 10, "Centro", False, 1)]), 5, apply=False)
    assert counts.inserted == 1
    assert wh.fetchall("SELECT COUNT(*) FROM dw.dim_loja WHERE sk_loja > 0") == [(0,)]


def test_inferred_member_is_completed_with_the_same_sk(wh):
    spec = get_entity("dim_loja")
    created = inferred.add_inferred(wh, spec, pl.Series([77, 77, None]), run_id=1, lock_timeout_s=5)
    assert created.height == 1
    (sk, nome, flag), *_ = wh.fetchall(
        "SELECT sk_loja, nome, inferido FROM dw.dim_loja WHERE id_loja_origem = 77"
    )
    assert (nome, flag) == (inferred.PLACEHOLDER, True)
    again = inferred.add_inferred(wh, spec, pl.Series([77]), run_id=2, lock_timeout_s=5)
    assert again.height == 0  # already there

    counts = merge_lojas(wh, lojas([(sk, 77, "Loja Real", False, 3)]), 3)

    assert counts == merge.MergeCounts(inserted=0, updated=1, unchanged=0)
    assert wh.fetchall(
        "SELECT sk_loja, nome, inferido FROM dw.dim_loja WHERE id_loja_origem = 77"
    ) == [(sk, "Loja Real", False)]


def _tree(wh, sql: str) -> sqlglot.exp.Expr:
    return sqlglot.parse_one(sql.replace("%s", "?"), read=wh.sqlglot_dialect)


def test_run_time_sql_rendered_for_the_dialect_means_the_transpiled_postgresql(wh):
    # the load's statements are built with sqlglot and rendered in the warehouse's dialect
    # (no parse): each, for every shipped target, must mean what the PostgreSQL rendering
    # transpiled to that dialect means.
    dialect = wh.sqlglot_dialect
    pairs = []
    for spec in all_entities():
        plan = merge.plan_for(
            wh, spec.target_table, merge.staging_name(spec.name, 7), spec.natural_key,
            spec.surrogate_key,
        )  # fmt: skip
        pairs += [
            *zip(
                merge.create_staging_sql(plan, wh.staging_table, dialect),
                merge.create_staging_sql(plan, wh.staging_table),
                strict=True,
            ),
            (merge.count_sql(plan, dialect), merge.count_sql(plan)),
            (merge.merge_sql(plan, dialect), merge.merge_sql(plan)),
            (merge.insert_sql(plan, dialect), merge.insert_sql(plan)),
            (merge.upsert_sql(plan, dialect), merge.upsert_sql(plan)),
            (
                rejects.resolve_sql(plan.staging, spec.natural_key, dialect),
                rejects.resolve_sql(plan.staging, spec.natural_key),
            ),
        ]
    for rendered, postgresql in pairs:
        (transpiled,) = wh.transpile(postgresql)
        assert _tree(wh, rendered) == _tree(wh, transpiled), rendered


def test_counting_the_target_up_to_decisive_rows_decides_as_the_full_count():
    # `merge` counts the target only up to `decisive_rows(staged)`: every choice must be the one
    # the full count gives, for batches small and large against targets small and large.
    sizes = [0, 1, 3, 4, 5, 99, 100, 101, 399, 400, 401, 20_000, 79_999, 80_000, 80_001, 10**6]
    for staged in [1, 2, 3, 4, 100, 20_000, 250_000]:
        cap = merge.decisive_rows(staged)
        for target in sizes:
            counted = min(target, cap)
            for inserted in {0, 1, staged // 2, staged}:
                assert merge.defers_keys(inserted, counted) == merge.defers_keys(inserted, target)
            for dialect in ("postgresql", "duckdb"):
                assert merge.uses_upsert(dialect, staged, counted) == merge.uses_upsert(
                    dialect, staged, target
                )
