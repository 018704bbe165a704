"""Merge on a PostgreSQL warehouse: either statement form (MERGE for large batches, ON CONFLICT
for small deltas) rewrites exactly the changed rows — an unchanged row keeps its `xmin`."""

from __future__ import annotations

import polars as pl
import pytest

from dwetl.run import merge
from dwetl.warehouse import open_warehouse

pytestmark = pytest.mark.pairs("sqlite-postgresql")


def xmins(wh) -> dict[int, str]:
    return dict(wh.fetchall("SELECT id_cliente_origem, xmin::text FROM dw.dim_cliente"))


def apply(wh, frame: pl.DataFrame, run_id: int) -> tuple[merge.MergeCounts, str]:
    plan = merge.plan_for(
        wh, "dw.dim_cliente", merge.staging_name("dim_cliente", run_id),
        ("id_cliente_origem",), "sk_cliente",
    )  # fmt: skip
    with wh.transaction():
        merge.stage(wh, plan, frame)
        form = merge.apply_sql(wh, plan, frame.height).split()[0]
        counts = merge.merge(wh, plan)
        merge.drop_staging(wh, plan)
    return counts, form


def changed_emails(rows: pl.DataFrame, *, every: int, run_id: int) -> pl.DataFrame:
    """Every `every`-th customer of `rows` with a new email, as run `run_id` stages it."""
    return rows.filter(pl.col("id_cliente_origem") % every == 0).with_columns(
        pl.format("novo{}@x.com", "id_cliente_origem").alias("email"),
        pl.lit(run_id, dtype=pl.Int64).alias("id_execucao"),
    )


@pytest.mark.parametrize("changed_share", [0.1, 0.5])
def test_only_changed_rows_are_rewritten(etl, changed_share):
    etl.sample(3000, 5, 0.0)
    etl.init()
    assert etl.run("dim_cliente").status == "success"
    with open_warehouse(etl.settings.dw, etl.settings) as wh:
        rows = wh.fetch_polars("SELECT * FROM dw.dim_cliente WHERE sk_cliente <> -1")
        before = xmins(wh)

        # a no-change rerun of every row: nothing rewritten
        counts, form = apply(wh, rows, run_id=900)
        assert (counts.inserted, counts.updated, counts.unchanged) == (0, 0, rows.height)
        assert form == "MERGE"
        assert xmins(wh) == before

        # a batch where `changed_share` of the rows differ (small: ON CONFLICT; large: MERGE)
        step = round(1 / changed_share)
        batch = changed_emails(rows, every=step, run_id=901)
        counts, form = apply(wh, batch, run_id=901)
        assert form == ("INSERT" if batch.height < 0.25 * (rows.height + 1) else "MERGE")
        assert (counts.inserted, counts.updated) == (0, batch.height)
        after = xmins(wh)
        rewritten = {k for k in before if after[k] != before[k]}
        assert rewritten == set(batch["id_cliente_origem"].to_list())
        assert wh.fetchall(
            "SELECT COUNT(*) FROM dw.dim_cliente WHERE email LIKE 'novo%' AND id_execucao = 901"
        ) == [(batch.height,)]


def test_the_staging_table_is_unlogged(etl):
    # scratch space: no write-ahead log for the rows a batched load stages (a crash empties it,
    # and the next run drops it)
    etl.sample(300, 5, 0.0)
    etl.init()
    with open_warehouse(etl.settings.dw, etl.settings) as wh:
        plan = merge.plan_for(
            wh, "dw.fact_vendas", merge.staging_name("fact_vendas", 902),
            ("id_item_origem",), None,
        )  # fmt: skip
        with wh.transaction():
            merge.create_staging(wh, plan)
        persistence = "SELECT relpersistence FROM pg_class WHERE oid = %s::regclass"
        assert wh.fetchall(persistence, [plan.staging]) == [("u",)]
        assert wh.fetchall(persistence, [plan.target]) == [("p",)]
        with wh.transaction():
            merge.drop_staging(wh, plan)


def test_an_upsert_rewrites_the_rows_in_key_order(etl):
    # The target's pages are visited in key order, not in the order the rows were staged (the
    # transforms' joins shuffle them): PostgreSQL appends each updated row's new version to the
    # table in the order the statement writes them, so that order shows in their ctids.
    etl.sample(3000, 5, 0.0)
    etl.init()
    assert etl.run("dim_cliente").status == "success"
    with open_warehouse(etl.settings.dw, etl.settings) as wh:
        rows = wh.fetch_polars("SELECT * FROM dw.dim_cliente WHERE sk_cliente <> -1")
        batch = changed_emails(rows, every=20, run_id=903).sample(
            fraction=1.0, shuffle=True, seed=7
        )
        assert batch["id_cliente_origem"].to_list() != sorted(batch["id_cliente_origem"])

        counts, form = apply(wh, batch, run_id=903)

        assert form == "INSERT"
        assert (counts.inserted, counts.updated) == (0, batch.height)
        written = wh.fetchall(
            "SELECT id_cliente_origem FROM dw.dim_cliente WHERE id_execucao = 903 ORDER BY ctid"
        )
        assert [k for (k,) in written] == sorted(batch["id_cliente_origem"])
