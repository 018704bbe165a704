"""A small frame is compared with its target before it is staged, where the warehouse reads rows
in place (DuckDB): rows all equal to their target rows are not staged at all, and the counts are
those of the staging table's join, the values cast as loading them into it casts them."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from dwetl.run import merge, rejects
from dwetl.warehouse import open_warehouse
from dwetl.warehouse import statements as st

pytestmark = pytest.mark.pairs("sqlite-duckdb")


@pytest.fixture
def wh(etl):
    etl.sample(200, 1, 0.0)
    etl.init()
    with open_warehouse(etl.settings.dw, etl.settings) as con:
        yield con


def _tables(wh) -> list[str]:
    return [
        f"dw.{name}"
        for (name,) in wh.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'dw' "
            "ORDER BY table_name"
        )
    ]


def test_the_cast_gives_each_column_its_target_type(wh):
    tables = _tables(wh)
    assert "dw.fact_vendas" in tables and "dw.dim_produto" in tables
    for target in tables:
        empty = wh.fetch_polars(f"SELECT * FROM {st.quoted(target, 'duckdb')} LIMIT 0")
        types = wh.column_types(target)
        rows = st.cast_columns("__rows", types, "duckdb")
        cast = wh.fetchall_with(f"DESCRIBE {rows}", "__rows", empty.to_arrow())
        assert [(name, kind) for name, kind, *_ in cast] == list(types), target


def _products(rows: list[tuple[int, int, str, object]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "sk_produto": sk, "id_produto_origem": nk, "nome": nome, "categoria": "Bebidas",
                "marca": "X", "preco_lista": preco, "ativo": True, "inferido": False,
                "atualizado_em": None,
                "id_execucao": 1,
            }
            for sk, nk, nome, preco in rows
        ]
    )  # fmt: skip


def _plan(wh, run_id: int) -> merge.MergePlan:
    staging = merge.staging_name("dim_produto", run_id)
    return merge.plan_for(wh, "dw.dim_produto", staging, ("id_produto_origem",), "sk_produto")


def _loaded(wh) -> merge.MergePlan:
    plan = _plan(wh, 1)
    first = _products([(i, i * 10, f"P{i}", Decimal("10.00")) for i in range(1, 6)])
    wh.execute("DELETE FROM dw.dim_produto WHERE sk_produto > 0")
    with wh.transaction():
        merge.stage(wh, plan, first.select(plan.columns))
        merge.settle(wh, merge.Landed(plan, first.height, direct=False))
        merge.drop_staging(wh, plan)
    return plan


def _staged_counts(wh, plan: merge.MergePlan, frame: pl.DataFrame) -> merge.MergeCounts:
    with wh.transaction():
        merge.stage(wh, plan, frame)
        counts = merge.count_changes(wh, plan)
        merge.drop_staging(wh, plan)
    return counts


@pytest.mark.parametrize(
    ("preco", "dtype"),
    [
        # a float that the target's DECIMAL(12,2) stores as the 10.00 it holds: unchanged
        (10.001, pl.Float64),
        (10.0, pl.Float64),
        # one that it stores as 10.01: changed
        (10.006, pl.Float64),
        (Decimal("10.00"), pl.Decimal(12, 2)),
        (Decimal("10.004"), pl.Decimal(12, 3)),
        # text, as a source could give it
        ("10.00", pl.String),
    ],
)
def test_unstaged_counts_are_the_staged_ones(wh, preco, dtype):
    plan = _loaded(wh)
    frame = _products([(1, 10, "P1", preco), (2, 20, "P2", Decimal("10.00"))])
    frame = frame.with_columns(pl.col("preco_lista").cast(dtype)).select(plan.columns)
    staged = _staged_counts(wh, _plan(wh, 2), frame)
    compared = merge.compare_unstaged(wh, _plan(wh, 2), frame)
    assert compared is not None
    unstaged, _ = compared
    assert (unstaged, unstaged.changed) == (staged, staged.changed)
    assert staged.unchanged in (1, 2)


def test_a_new_or_changed_row_is_counted_and_staged(wh):
    plan = _loaded(wh)
    frame = _products(
        [
            (1, 10, "P1", Decimal("10.00")),
            (2, 20, "Outro", Decimal("10.00")),
            (9, 90, "N", Decimal("5")),
        ]
    ).select(plan.columns)
    compared = merge.compare_unstaged(wh, _plan(wh, 2), frame)
    assert compared is not None
    counts, _ = compared
    assert counts == merge.MergeCounts(inserted=1, updated=1, unchanged=1)
    assert counts.changed == ("nome",)
    with wh.transaction():
        landed = merge.land(wh, _plan(wh, 2), frame)
        assert landed.unstaged is None and landed.counts == counts
        assert wh.fetchall("SELECT COUNT(*) FROM stg.dim_produto_2") == [(3,)]
        assert merge.settle(wh, landed) == counts
        merge.clean_up(wh, landed)
    assert wh.fetchall(
        "SELECT id_produto_origem, nome FROM dw.dim_produto WHERE sk_produto > 0 "
        "AND id_produto_origem IN (20, 90) ORDER BY 1"
    ) == [(20, "Outro"), (90, "N")]


def test_rows_all_unchanged_are_not_staged(wh):
    plan = _loaded(wh)
    frame = _products([(1, 10, "P1", 10.001), (2, 20, "P2", Decimal("10.00"))])
    frame = frame.select(plan.columns)
    before = wh.fetchall("SELECT * FROM dw.dim_produto ORDER BY sk_produto")
    with wh.transaction():
        landed = merge.land(wh, _plan(wh, 2), frame)
        assert landed.unstaged is not None
        assert wh.fetchall(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'stg'"
        ) == [(0,)]
        assert merge.settle(wh, landed) == merge.MergeCounts(0, 0, 2, ())
        merge.clean_up(wh, landed)
        # a withdrawal, which reads the rows as a table, stages them after all
        staged = merge.stage_now(wh, landed)
        assert staged.unstaged is None
        assert wh.fetchall("SELECT COUNT(*) FROM stg.dim_produto_2") == [(2,)]
        merge.clean_up(wh, staged)
    assert wh.fetchall("SELECT * FROM dw.dim_produto ORDER BY sk_produto") == before


def test_a_frame_larger_than_the_limit_is_staged(wh, monkeypatch):
    plan = _loaded(wh)
    frame = _products([(1, 10, "P1", Decimal("10.00"))]).select(plan.columns)
    monkeypatch.setattr(merge, "COMPARED_UNSTAGED_UP_TO", 0)
    assert merge.compare_unstaged(wh, _plan(wh, 2), frame) is None
    with wh.transaction():
        landed = merge.land(wh, _plan(wh, 2), frame)
        assert landed.unstaged is None and landed.counts is None
        assert merge.settle(wh, landed) == merge.MergeCounts(0, 0, 1)
        merge.clean_up(wh, landed)


def test_the_plan_reads_the_columns_with_their_types(wh):
    plan = _plan(wh, 2)
    assert plan.columns == tuple(merge.target_schema(wh, "dw.dim_produto").names())
    assert dict(zip(plan.columns, plan.types, strict=True)) == dict(
        wh.column_types("dw.dim_produto")
    )
    assert dict(zip(plan.columns, plan.types, strict=True))["preco_lista"] == "DECIMAL(12,2)"


def _open_rejects(wh) -> list[tuple[str, int | None]]:
    return wh.fetchall(
        "SELECT source_key, resolved_run_id FROM ctl.etl_reject WHERE entity = 'dim_produto' "
        "ORDER BY source_key"
    )


def test_unstaged_rows_resolve_the_open_rejects_of_their_keys(wh):
    plan = _loaded(wh)
    # keys 10 and 90 quarantined by an earlier run (3); 10's row is then read as the target
    # holds it
    quarantined = pl.DataFrame(
        {"id_produto_origem": [10, 90], "nome": ["P1", "?"], "reasons": [["CK_x"], ["CK_x"]]}
    )
    with wh.transaction():
        rejects.write_rejects(
            wh, quarantined, ("id_produto_origem",), run_id=3, entity="dim_produto"
        )
    frame = _products([(1, 10, "P1", Decimal("10.00"))]).select(plan.columns)
    with wh.transaction():
        landed = merge.land(wh, _plan(wh, 4), frame)
        assert landed.unstaged is not None
        rejects.resolve_rejects(
            wh, landed.loaded, plan.key, run_id=4, entity="dim_produto", unstaged=landed.unstaged
        )
    assert _open_rejects(wh) == [("10", 4), ("90", None)]
