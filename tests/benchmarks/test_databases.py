"""What the harness does to the databases itself: change order items on the source as the ERP
would, stamped with the source's own clock, and checksum a warehouse's tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from benchmarks.checks import differences
from benchmarks.databases import (
    RUN_COLUMNS,
    Database,
    TooFewItems,
    change_items,
    revert_items,
    warehouse_checksums,
)
from dwetl.core.urls import parse_url
from dwetl.source.dialects import source_dialect


def _database(kind: str, url: str) -> Database:
    if kind in ("sqlite", "duckdb"):
        return Database(kind, url, path=parse_url(url, setting="test").path)
    # the harness calls the server of a mysql:// URL mariadb, as the sample's writer does
    return Database({"mysql": "mariadb"}.get(kind, kind), url, name=url.rsplit("/", 1)[-1])


@pytest.mark.pairs("sqlite-duckdb", "postgresql-postgresql", "mysql-postgresql")
def test_changed_items_are_exactly_as_many_as_asked_stamped_by_the_source_clock_and_revert(
    etl,
) -> None:
    url = etl.sample(rows=1000, seed=5)
    if etl.source_kind == "postgresql":
        # a zone 14 hours from the host's: a stamp from the host's clock would show
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f"ALTER DATABASE \"{url.rsplit('/', 1)[-1]}\" SET timezone = 'Etc/GMT-14'")
    source, clock = _database(etl.source_kind, url), source_dialect(etl.source_kind)
    original = sorted(etl.src("SELECT id, quantidade, atualizado_em FROM venda_itens"))
    before_rows = {item: quantity for item, quantity, _ in original}
    # a MariaDB DATETIME keeps whole seconds of the clock
    started = clock.clock(parse_url(url, setting="test")).replace(microsecond=0)

    assert change_items(source, 37) == 37

    ended = clock.clock(parse_url(url, setting="test"))
    changed = etl.src(
        "SELECT id, quantidade, atualizado_em FROM venda_itens WHERE atualizado_em >= ?",
        [started.isoformat(sep=" ")],
    )
    assert len(changed) == 37
    for item, quantity, stamp in changed:
        assert quantity == before_rows[item] + 1
        stamp = stamp if isinstance(stamp, datetime) else datetime.fromisoformat(stamp)
        assert started <= stamp <= ended
    if etl.source_kind == "postgresql":
        host_utc = datetime.now(UTC).replace(tzinfo=None)
        assert started - host_utc > timedelta(hours=13)
    # spread over the key range, not the first 37 ids
    ids = sorted(item for item, _, _ in changed)
    assert ids[-1] - ids[0] > 500
    with pytest.raises(TooFewItems, match="asked to change 1,000,000 order items"):
        change_items(source, 1_000_000)

    # put back: the next tool of the round reads the very source the first one read
    assert revert_items(source) == 37
    assert sorted(etl.src("SELECT id, quantidade, atualizado_em FROM venda_itens")) == original


@pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql")
def test_checksums_see_one_changed_value_and_not_the_run_id(etl) -> None:
    etl.sample(rows=1000, seed=5)
    etl.init()
    etl.run("all", full=True)
    warehouse = _database(etl.dw_kind, etl.dw_url)
    loaded = warehouse_checksums(warehouse, RUN_COLUMNS)
    assert {"dim_cliente", "dim_data", "fact_vendas", "fact_descontos", "fact_metas"} <= set(loaded)
    assert loaded["fact_vendas"]["rows"] == etl.dw("SELECT COUNT(*) FROM dw.fact_vendas")[0][0]

    etl.dw_execute("UPDATE dw.fact_vendas SET id_execucao = id_execucao + 7")
    assert warehouse_checksums(warehouse, RUN_COLUMNS) == loaded

    etl.dw_execute(
        "UPDATE dw.fact_vendas SET canal = 'Televendas' WHERE id_item_origem = "
        "(SELECT MIN(id_item_origem) FROM dw.fact_vendas WHERE canal <> 'Televendas')"
    )
    changed = warehouse_checksums(warehouse, RUN_COLUMNS)
    lines = differences(changed, loaded, "after the edit")
    assert len(lines) == 1
    assert lines[0].startswith("after the edit: dw.fact_vendas has ")
    assert changed["fact_vendas"]["rows"] == loaded["fact_vendas"]["rows"]
