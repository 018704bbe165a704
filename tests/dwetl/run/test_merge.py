"""Merge through the real DuckDB warehouse: counts, unchanged rows not rewritten, stable sks,
an inferred member completed in place."""

from __future__ import annotations

import polars as pl
import pytest

from dwetl.dialects import open_warehouse
from dwetl.entities.registry import get_entity
from dwetl.run import inferred, merge

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
