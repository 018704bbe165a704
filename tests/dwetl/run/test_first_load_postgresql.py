"""First loads and large batches on a PostgreSQL warehouse: the target's foreign keys are dropped
for the load and re-created identical (`dwetl check` stays clean); a fault after the load
rolls back the rows and keeps the keys; unchanged rows are never rewritten."""

from __future__ import annotations

import pytest

from dwetl.ops.check import check_warehouse
from dwetl.warehouse import open_warehouse

pytestmark = pytest.mark.pairs("sqlite-postgresql")

KEYS = (
    "SELECT conname, oid::bigint, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conrelid = 'dw.fact_vendas'::regclass AND contype IN ('p', 'f') ORDER BY conname"
)


def keys(etl) -> dict[str, tuple[int, str]]:
    """fact_vendas's primary and foreign keys: name -> (oid, definition)."""
    return {name: (oid, definition) for name, oid, definition in etl.dw(KEYS)}


def definitions(found: dict[str, tuple[int, str]]) -> dict[str, str]:
    return {name: definition for name, (_, definition) in found.items()}


def xmins(etl) -> dict[int, str]:
    return dict(etl.dw("SELECT id_item_origem, xmin::text FROM dw.fact_vendas"))


def check_problems(etl) -> list[str]:
    with open_warehouse(etl.settings.dw, etl.settings) as wh:
        return check_warehouse(wh, etl.settings).problems


@pytest.mark.parametrize("point", ["merge", "commit"])
def test_a_fault_after_a_first_load_commits_nothing_and_keeps_the_keys(etl, monkeypatch, point):
    etl.sample(800, 43, 0.0)
    etl.init()
    before = keys(etl)
    assert len(before) == 6

    monkeypatch.setenv("DWETL_FAIL_AT", f"{point}:fact_vendas")
    failed = etl.run("all")
    monkeypatch.delenv("DWETL_FAIL_AT")

    vendas = next(e for e in failed.entities if e.entity == "fact_vendas")
    assert vendas.status == "failed" and "DWETL_FAIL_AT" in (vendas.error or "")
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas") == [(0,)]
    assert keys(etl) == before  # the same constraints: their drop was rolled back with the rows
    assert check_problems(etl) == []

    again = etl.run("fact_vendas")
    (loaded,) = again.entities
    assert loaded.status == "success" and loaded.inserted > 0
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas") == [(loaded.inserted,)]
    after = keys(etl)
    assert definitions(after) == definitions(before)
    assert all(after[name][0] != oid for name, (oid, _) in before.items())  # dropped, re-added
    assert check_problems(etl) == []


def test_a_large_batch_merges_with_the_keys_deferred_a_small_one_with_them_in_place(etl):
    etl.sample(1500, 44, 0.0)
    etl.init()
    first = etl.run("all")
    assert first.status == "success"
    total = etl.dw("SELECT COUNT(*) FROM dw.fact_vendas")[0][0]

    for share, deferred in ((0.4, True), (0.02, False)):
        step = round(1 / share)
        etl.dw_execute(f"DELETE FROM dw.fact_vendas WHERE id_item_origem % {step} = 0")
        gone = total - etl.dw("SELECT COUNT(*) FROM dw.fact_vendas")[0][0]
        kept, before = xmins(etl), keys(etl)

        again = etl.run("fact_vendas", full=True)

        (vendas,) = again.entities
        assert (vendas.inserted, vendas.updated, vendas.unchanged) == (gone, 0, total - gone)
        after_xmins = xmins(etl)
        assert len(after_xmins) == total
        assert all(after_xmins[k] == x for k, x in kept.items()), share  # never rewritten
        after = keys(etl)
        assert definitions(after) == definitions(before)
        fk_oids_changed = after["fk_fact_vendas_cliente"][0] != before["fk_fact_vendas_cliente"][0]
        assert fk_oids_changed is deferred, share
        assert after["pk_fact_vendas"] == before["pk_fact_vendas"]  # a non-empty target's key
    assert check_problems(etl) == []
