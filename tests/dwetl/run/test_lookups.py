"""What a fact looks up in the warehouse: the parent keys of its foreign keys come from the key
maps it read for its surrogate keys, not from a second read of each dimension."""

from __future__ import annotations

import polars as pl
import pytest

from dwetl.entities.registry import all_entities
from dwetl.run import lookups
from dwetl.run.context import RunContext
from dwetl.warehouse import open_warehouse
from dwetl.warehouse.ddl import shipped_constraint_sets

pytestmark = pytest.mark.pairs("sqlite-duckdb")


@pytest.fixture
def ctx(etl):
    etl.sample(300, 3, 0.0)
    etl.init()
    for entity in ("dim_data", "dim_loja", "dim_vendedor"):
        assert etl.run(entity).status == "success"
    with open_warehouse(etl.settings.dw, etl.settings) as wh:
        specs = {spec.name: spec for spec in all_entities()}
        yield RunContext(wh, etl.settings, run_id=99, specs=specs, control={})


def _fk(table: str, parent: str):
    return next(
        fk for fk in shipped_constraint_sets()[table].foreign_keys if fk.ref_table == parent
    )


def test_parent_keys_of_a_mapped_dimension_are_its_key_maps_surrogate_keys(ctx):
    cs = shipped_constraint_sets()["dw.fact_metas"]
    loja = lookups.key_map(ctx, ctx.specs["dim_loja"])
    every = sorted(sk for (sk,) in ctx.wh.fetchall("SELECT sk_loja FROM dw.dim_loja"))

    refs = lookups.references(ctx, cs, maps={"dim_loja": loja})
    assert sorted(refs[_fk("dw.fact_metas", "dw.dim_loja").name]["sk_loja"]) == every

    # taken from the map as it is (it is current: re-read or grown after inferred members),
    # not read again: a map of fewer keys gives fewer parents
    fewer = loja.head(3)
    refs = lookups.references(ctx, cs, maps={"dim_loja": fewer})
    parents = refs[_fk("dw.fact_metas", "dw.dim_loja").name]["sk_loja"]
    assert parents.to_list() == fewer["sk_loja"].to_list() != every
    # a dimension without a map is read from the warehouse
    vendedores = ctx.wh.fetchall("SELECT COUNT(*) FROM dw.dim_vendedor")[0][0]
    assert refs[_fk("dw.fact_metas", "dw.dim_vendedor").name].height == vendedores > 0


def test_the_calendars_parent_keys_come_from_its_map_too(ctx):
    # the calendar's natural key is its surrogate key: its map holds the column twice
    cs = shipped_constraint_sets()["dw.fact_vendas"]
    calendar = lookups.key_map(ctx, ctx.specs["dim_data"]).head(5)
    refs = lookups.references(ctx, cs, maps={"dim_data": calendar})
    parents = refs[_fk("dw.fact_vendas", "dw.dim_data").name]
    assert parents.columns == ["sk_data"]
    assert parents["sk_data"].to_list() == calendar["sk_data"].to_list()


def test_a_few_keys_read_only_their_rows_the_unknown_member_and_the_highest_sk(ctx):
    loja = ctx.specs["dim_loja"]
    every = dict(ctx.wh.fetchall("SELECT id_loja_origem, sk_loja FROM dw.dim_loja"))
    top = max(every.values())
    some = sorted(k for k in every if k > 0)[:2]

    read = lookups.key_map(ctx, loja, pl.Series([*some, *some, None, 999_999]))

    expected = {k: every[k] for k in [*some, -1]} | {k: v for k, v in every.items() if v == top}
    assert dict(read.iter_rows()) == expected
    assert len(expected) < len(every)


def test_many_keys_read_every_row(ctx, monkeypatch):
    monkeypatch.setattr(lookups, "KEYS_READ_BY_VALUE", 1)
    every = ctx.wh.fetchall("SELECT COUNT(*) FROM dw.dim_loja")[0][0]
    read = lookups.key_map(ctx, ctx.specs["dim_loja"], pl.Series([1, 2]))
    assert read.height == every
