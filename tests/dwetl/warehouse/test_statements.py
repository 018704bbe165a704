"""The load's statements quote every name: a table and columns that need quotes (a space, upper
case, a reserved word) load, merge, upsert and withdraw on DuckDB and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from dwetl.core.config import load_settings
from dwetl.run import merge, withdraw
from dwetl.warehouse import open_warehouse
from dwetl.warehouse import statements as st
from dwetl.warehouse.base import Warehouse

TARGET = "dw.Order Items"
TABLE = """
CREATE SCHEMA IF NOT EXISTS dw;
CREATE SCHEMA IF NOT EXISTS stg;
CREATE TABLE dw."Order Items" (
    "Sk"          BIGINT NOT NULL,
    "order"       BIGINT NOT NULL,
    "Line Qty"    INTEGER,
    "select"      VARCHAR(20),
    id_execucao   BIGINT NOT NULL,
    CONSTRAINT "PK Order Items" PRIMARY KEY ("order")
);
"""


@pytest.fixture(params=["duckdb", "postgresql"])
def wh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    url = "duckdb:///dw.duckdb" if request.param == "duckdb" else request.getfixturevalue("pg_url")
    settings = load_settings(dw=url, cwd=tmp_path, env={})
    with open_warehouse(settings.dw, settings) as warehouse:
        for statement in warehouse.transpile(TABLE):
            warehouse.execute(statement)
        yield warehouse


def rows(order: list[int], qty: list[int | None], word: list[str], run: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "Sk": [o * 10 for o in order],
            "order": order,
            "Line Qty": qty,
            "select": word,
            "id_execucao": [run] * len(order),
        },
        schema={
            "Sk": pl.Int64,
            "order": pl.Int64,
            "Line Qty": pl.Int32,
            "select": pl.String,
            "id_execucao": pl.Int64,
        },
    )


def table(wh: Warehouse) -> list[tuple[object, ...]]:
    query = st.select_columns(TARGET, ("order", "Line Qty", "select", "id_execucao"))
    return sorted(wh.fetchall(st.render(query, wh.sqlglot_dialect)))


def plan(wh: Warehouse, run: int) -> merge.MergePlan:
    return merge.plan_for(wh, TARGET, merge.staging_name("Order Items", run), ("order",), "Sk")


def test_a_table_whose_names_need_quotes_loads_and_merges(wh: Warehouse) -> None:
    first = plan(wh, 1)
    assert first.columns == ("Sk", "order", "Line Qty", "select", "id_execucao")
    with wh.transaction():
        landed = merge.land(wh, first, rows([1, 2, 3], [5, 6, None], ["a", "b", "c"], 1))
        assert landed.direct  # an empty target: straight in
        assert merge.settle(wh, landed) == merge.MergeCounts(3, 0, 0)

    second = plan(wh, 2)
    with wh.transaction():
        landed = merge.land(wh, second, rows([1, 2, 4], [5, 7, 1], ["a", "b", "d"], 2))
        assert not landed.direct
        assert merge.count_changes(wh, second).changed == ("Line Qty",)
        assert merge.settle(wh, landed) == merge.MergeCounts(1, 1, 1)
        merge.clean_up(wh, landed)
    assert table(wh) == [(1, 5, "a", 1), (2, 7, "b", 2), (3, None, "c", 1), (4, 1, "d", 2)]
    assert not wh.table_exists(second.staging)


@pytest.mark.parametrize("form", ["merge", "upsert"])
def test_both_statement_forms_apply_the_staged_rows(wh: Warehouse, form: str) -> None:
    with wh.transaction():
        merge.land(wh, plan(wh, 1), rows([1, 2], [5, 6], ["a", "b"], 1))
    staged = plan(wh, 2)
    build = merge.upsert_sql if form == "upsert" else merge.merge_sql
    with wh.transaction():
        merge.stage(wh, staged, rows([1, 2, 3], [5, None, 8], ["a", "x", "c"], 2))
        wh.execute(build(staged, wh.sqlglot_dialect))
        merge.drop_staging(wh, staged)
    assert table(wh) == [(1, 5, "a", 1), (2, None, "x", 2), (3, 8, "c", 2)]


def test_withdrawn_keys_leave_a_quoted_target(wh: Warehouse) -> None:
    with wh.transaction():
        merge.land(wh, plan(wh, 1), rows([1, 2, 3], [5, 6, 7], ["a", "b", "c"], 1))
    withdrawal = withdraw.Withdrawal(plan(wh, 2), withdraw.withdrawn_keys_name("Order Items", 2))
    with wh.transaction():
        keys = pl.DataFrame({"order": [2, 9]}, schema={"order": pl.Int64})
        assert withdraw.withdraw(wh, withdrawal, keys) == 1
    assert [r[0] for r in table(wh)] == [1, 3]


def test_key_rows_and_counts_read_quoted_names(wh: Warehouse) -> None:
    with wh.transaction():
        merge.land(wh, plan(wh, 1), rows([1, 2, 3], [5, 6, 7], ["a", "b", "c"], 1))
    dialect = wh.sqlglot_dialect
    query = st.key_rows(TARGET, "order", "Sk", -1, few=True, listed="wanted")
    # the highest sk's row (order 3) and the listed key 1
    listed = pl.Series(st.LISTED_KEY, [1, 7])
    read = wh.fetch_polars_with(st.render(query, dialect), "wanted", listed)
    assert sorted(read.iter_rows()) == [(1, 10), (3, 30)]
    assert wh.fetchall(st.render(st.count_up_to(TARGET, 2), dialect)) == [(2,)]
    assert not merge.holds_only_unknown_members(wh, plan(wh, 1))


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_a_statement_kept_for_later_runs_reads_as_written_for_its_own_staging_table(
    dialect: str,
) -> None:
    from dwetl.run import rejects

    plan = merge.MergePlan(TARGET, "stg.Order Items_7", ("Sk", "order", "select"), ("order",),
                           ("Sk",))  # fmt: skip
    for run_id in (7, 8):
        staged = replace(plan, staging=f"stg.Order Items_{run_id}")
        args = (staged.target, staged.staging, staged.columns, staged.key, staged.compared)
        assert merge.merge_sql(staged, dialect) == st.render(
            st.merge(*args, staged.updated_columns), dialect
        )
        assert merge.upsert_sql(staged, dialect) == st.render(
            st.upsert(*args, staged.updated_columns), dialect
        )
        assert merge.count_sql(staged, dialect) == st.render(
            st.change_counts(staged.target, staged.staging, staged.key, staged.compared), dialect
        )
        assert merge.insert_sql(staged, dialect) == st.render(st.insert_select(*args[:3]), dialect)
        assert f'"Order Items_{run_id}" AS s' in rejects.resolve_sql(staged.staging, ("order",),
                                                                      dialect)  # fmt: skip


def test_a_builder_that_does_not_read_the_stand_in_as_one_table_is_refused() -> None:
    with pytest.raises(ValueError, match="stand-in"):
        st.rendered(st.key_text, (("dwetl_stand_in",), "s"), "stg.f_1", "duckdb")


def test_a_dimension_s_listed_keys_are_read_by_its_indexes_on_postgresql(pg_url: str, tmp_path):
    """`key_rows` for a few keys (every lookup of an incremental run) reads them by index, not
    by a scan of the whole dimension: one OR with the IN list made PostgreSQL scan it (1M
    customers at 20M items), every run, whatever changed."""
    settings = load_settings(dw=pg_url, cwd=tmp_path, env={})
    with open_warehouse(settings.dw, settings) as wh:
        wh.execute("CREATE SCHEMA IF NOT EXISTS dw")
        wh.execute(
            "CREATE TABLE dw.dim_big (sk BIGINT PRIMARY KEY, nk BIGINT NOT NULL UNIQUE, nome TEXT)"
        )
        wh.execute(
            "INSERT INTO dw.dim_big SELECT g, 1000000 + g, 'cliente ' || g "
            "FROM generate_series(-1, 100000) g"
        )
        wh.execute("ANALYZE dw.dim_big")
        query = st.render(
            st.key_rows("dw.dim_big", "nk", "sk", -1, few=True, listed="k"), "postgres"
        )
        wanted = pl.Series(st.LISTED_KEY, [1000007, 1000042, 5])  # 5: no such key

        plan = "\n".join(
            line for (line,) in wh.fetchall(
                f'EXPLAIN WITH "k" ("{st.LISTED_KEY}") AS (SELECT UNNEST(%s)) {query}',
                [wanted.to_list()],
            )
        )  # fmt: skip
        read = wh.fetch_polars_with(query, "k", wanted)

    assert "Seq Scan on dim_big" not in plan, plan
    # the unknown member, the highest sk, the two listed keys the dimension holds
    assert sorted(read.iter_rows()) == [
        (999999, -1), (1000007, 7), (1000042, 42), (1100000, 100000)
    ]  # fmt: skip
