"""What a fact looks up in the warehouse: the parent keys of its foreign keys come from the key
maps it read for its surrogate keys, not from a second read of each dimension; a dimension
that is empty, or that this run filled, is not read by its keys."""

from __future__ import annotations

import polars as pl
import pytest

from dwetl.entities.registry import all_entities
from dwetl.ops.runlog import start_run
from dwetl.run import control, inferred, lookups
from dwetl.run.context import RunContext
from dwetl.run.entity import run_entity
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
        run_id = start_run(wh, "run", etl.settings)
        yield RunContext(wh, etl.settings, run_id, specs=specs, control=control.read_control(wh))


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


def _rows(ctx, table: str, natural: str, sk: str) -> dict[int, int]:
    return dict(ctx.wh.fetchall(f"SELECT {natural}, {sk} FROM {table}"))


def _add_member(ctx, dim, key: int) -> int:
    """An inferred member for `key`, as another run (or a fact's late key) adds one: its sk."""
    rows = inferred.add_inferred(ctx.wh, dim, pl.Series([key]), ctx.run_id, lock_timeout_s=5)
    return int(rows[dim.surrogate_key][0])


def test_an_empty_dimension_is_read_whole_not_by_its_keys(ctx):
    cliente = ctx.specs["dim_cliente"]  # the fixture loaded no customer: the unknown member only
    seeded = _rows(ctx, "dw.dim_cliente", "id_cliente_origem", "sk_cliente")
    assert list(seeded.values()) == [-1]

    read = lookups.key_map(ctx, cliente, pl.Series(range(1, 60_000)))

    assert dict(read.iter_rows()) == seeded
    assert ctx.whole_maps["dw.dim_cliente"].top == -1  # whole: a later frame may take it
    # a row added since makes it stale: the next read finds the new row
    sk = _add_member(ctx, cliente, 7)
    assert dict(lookups.key_map(ctx, cliente, pl.Series([7])).iter_rows()) == {7: sk, -1: -1}


def test_a_dimension_this_run_filled_is_its_map_until_a_row_is_added(ctx):
    cliente = ctx.specs["dim_cliente"]
    assert run_entity(ctx, cliente).status == "success"
    every = _rows(ctx, "dw.dim_cliente", "id_cliente_origem", "sk_cliente")
    assert len(every) > 100

    # the loaded rows and the unknown member, without a read: every customer, whatever the keys
    read = lookups.key_map(ctx, cliente, pl.Series([1, 2]))
    assert dict(read.iter_rows()) == every
    assert read.height == len(every)

    late = max(every) + 1_000
    sk = _add_member(ctx, cliente, late)
    read = lookups.key_map(ctx, cliente, pl.Series([1, late]))
    assert dict(read.iter_rows())[late] == sk > max(every.values())


def test_a_load_that_withdrew_rows_or_a_dry_run_keeps_no_whole_map(ctx):
    loja = ctx.specs["dim_loja"]
    lookups.key_map(ctx, loja)
    assert "dw.dim_loja" in ctx.whole_maps
    rows = pl.DataFrame({"id_loja_origem": [10**6], "sk_loja": [10**6]})
    lookups.filled(ctx, loja, rows, withdrawn=1)  # a deleted row would stay in the map
    assert "dw.dim_loja" not in ctx.whole_maps

    ctx.dry_run = True  # its reads include rows it did not write
    lookups.key_map(ctx, loja)
    assert "dw.dim_loja" not in ctx.whole_maps
