"""Both warehouse dialects against real databases: the same behaviour through one interface."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from dwetl.core.config import Settings, load_settings
from dwetl.core.errors import DwetlError, UsageError
from dwetl.warehouse import open_warehouse, warehouse_class
from dwetl.warehouse.base import Warehouse

TABLE = """
CREATE SCHEMA IF NOT EXISTS stg;
CREATE TABLE stg.item (
    id        BIGINT NOT NULL,
    nome      VARCHAR(50),
    valor     DECIMAL(12,2),
    quando    TIMESTAMP,
    ativo     BOOLEAN,
    origem    VARCHAR(10) NOT NULL DEFAULT 'erp',
    CONSTRAINT PK_item PRIMARY KEY (id)
);
"""


@pytest.fixture(params=["duckdb", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = (
        "duckdb:///wh/dw.duckdb" if request.param == "duckdb" else request.getfixturevalue("pg_url")
    )
    return load_settings(dw=url, cwd=tmp_path, env={})


@pytest.fixture
def wh(settings: Settings) -> Iterator[Warehouse]:
    with open_warehouse(settings.dw, settings) as warehouse:
        for statement in warehouse.transpile(TABLE):
            warehouse.execute(statement)
        yield warehouse


def test_placeholders_fetch_and_table_exists(wh: Warehouse) -> None:
    wh.execute("INSERT INTO stg.item (id, nome) VALUES (%s, %s)", [1, "Promoção 50%"])
    assert wh.fetchall("SELECT nome FROM stg.item WHERE id = %s", [1]) == [("Promoção 50%",)]
    # without parameters a % is just a character
    assert wh.fetchall("SELECT count(*) FROM stg.item WHERE nome LIKE '%50%'") == [(1,)]
    assert wh.table_exists("stg.item") and not wh.table_exists("stg.nothing")
    assert not wh.table_exists("nowhere.item")


def test_transaction_commits_or_rolls_back(wh: Warehouse) -> None:
    with wh.transaction():
        wh.execute("INSERT INTO stg.item (id) VALUES (1)")
    with pytest.raises(ValueError), wh.transaction():
        wh.execute("INSERT INTO stg.item (id) VALUES (2)")
        raise ValueError("boom")
    assert wh.fetchall("SELECT id FROM stg.item ORDER BY id") == [(1,)]
    with pytest.raises(RuntimeError, match="re-entrant"), wh.transaction(), wh.transaction():
        pass


def test_load_arrow_matches_columns_by_name_and_keeps_nulls_apart_from_empty(
    wh: Warehouse,
) -> None:
    frame = pl.DataFrame(
        {
            "valor": [Decimal("10.50"), None, Decimal("0.01")],
            "id": [3, 1, 2],
            "nome": ['São Paulo, "centro"\nloja', "", None],
            "quando": [dt.datetime(2026, 1, 2, 3, 4, 5, 678901), None, dt.datetime(2026, 1, 1)],
            "ativo": [True, None, False],
        },
        schema_overrides={"valor": pl.Decimal(12, 2)},
    )
    wh.load_arrow("stg.item", frame.to_arrow())
    got = wh.fetch_polars("SELECT * FROM stg.item ORDER BY id")
    assert got.columns == ["id", "nome", "valor", "quando", "ativo", "origem"]
    assert got["id"].to_list() == [1, 2, 3]
    assert got["nome"].to_list() == ["", None, 'São Paulo, "centro"\nloja']
    assert got["valor"].to_list() == [None, Decimal("0.01"), Decimal("10.50")]
    assert got["quando"].to_list() == [
        None,
        dt.datetime(2026, 1, 1),
        dt.datetime(2026, 1, 2, 3, 4, 5, 678901),
    ]
    assert got["ativo"].to_list() == [None, False, True]
    assert got["origem"].to_list() == ["erp"] * 3  # the column the frame lacks takes its default


def test_entity_lock_excludes_a_second_holder_and_names_it(
    wh: Warehouse, settings: Settings
) -> None:
    wh.run_id = 41
    with open_warehouse(settings.dw, settings) as other:
        with wh.entity_lock("dim_cliente", timeout_s=1):
            with pytest.raises(DwetlError) as info, other.entity_lock("dim_cliente", 0.3):
                pass
            message = str(info.value)
            assert "dim_cliente" in message and "0.3 s" in message
            assert "run 41" in message and str(os.getpid()) in message
            with other.entity_lock("dim_produto", 0.3):  # another entity is free
                pass
        with other.entity_lock("dim_cliente", 0.3):  # released
            pass


def test_what_waiting_raises_ends_the_wait_for_an_entity_lock(
    wh: Warehouse, settings: Settings
) -> None:
    class Asked(Exception):
        pass

    tries = []

    def waiting() -> None:
        tries.append(1)
        if len(tries) == 3:
            raise Asked

    with (
        open_warehouse(settings.dw, settings) as other,
        wh.entity_lock("dim_loja", 1),
        pytest.raises(Asked),
        other.entity_lock("dim_loja", 300, waiting=waiting),
    ):
        pass
    assert len(tries) == 3


def test_unsupported_warehouse_scheme_is_a_usage_error(tmp_path: Path) -> None:
    settings = load_settings(dw="sqlite:///dw.sqlite", cwd=tmp_path, env={})
    with pytest.raises(UsageError, match="sqlite is not supported as the warehouse"):
        warehouse_class(settings.dw)


def test_duckdb_file_folder_is_created(tmp_path: Path) -> None:
    settings = load_settings(dw="duckdb:///a/b/dw.duckdb", cwd=tmp_path, env={})
    with open_warehouse(settings.dw, settings) as wh:
        # a file called dw.duckdb must not clash with the schema dw
        wh.execute("CREATE SCHEMA dw")
        wh.execute("CREATE TABLE dw.t (a INTEGER)")
        assert wh.table_exists("dw.t")
    assert (tmp_path / "a" / "b" / "dw.duckdb").is_file()


def test_without_nested_loops_holds_for_the_block_only(wh: Warehouse) -> None:
    wh.execute("INSERT INTO stg.item (id, nome) VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    join = "SELECT count(*) FROM stg.item a JOIN stg.item b ON b.nome = a.nome AND b.id <= %s"
    with wh.transaction():
        with wh.without_nested_loops():
            assert wh.fetchall(join, [2]) == [(2,)]
            if wh.dialect == "postgresql":
                assert wh.fetchall("SHOW enable_nestloop") == [("off",)]
        if wh.dialect == "postgresql":
            assert wh.fetchall("SHOW enable_nestloop") == [("on",)]
    with pytest.raises(ValueError), wh.transaction(), wh.without_nested_loops():
        raise ValueError("boom")
    if wh.dialect == "postgresql":
        assert wh.fetchall("SHOW enable_nestloop") == [("on",)]


def test_a_closed_duckdb_warehouse_is_free_for_another_process_and_its_instance_reused(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    from dwetl.warehouse import duckdb as duckdb_warehouse

    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    settings = load_settings(dw=f"duckdb:///{first}", cwd=tmp_path, env={})
    with open_warehouse(settings.dw, settings) as wh:
        wh.execute("CREATE TABLE main.item AS SELECT range AS id FROM range(1000)")
        instance = duckdb_warehouse._shared[first][0]
    # closed: detached (checkpointed, unlocked), not only forgotten
    assert not first.with_name("first.duckdb.wal").exists()
    other = subprocess.run(
        [sys.executable, "-c", f"import duckdb; c = duckdb.connect({str(first)!r}); "
         "c.execute('INSERT INTO main.item VALUES (1000)'); "
         "print(c.execute('SELECT count(*) FROM main.item').fetchone()[0])"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (other.returncode, other.stdout.strip()) == (0, "1001"), other.stderr
    # the next open, of another file, takes the kept instance, and sees nothing of the first
    settings = load_settings(dw=f"duckdb:///{second}", cwd=tmp_path, env={})
    with open_warehouse(settings.dw, settings) as wh:
        assert duckdb_warehouse._shared[second][0] is instance
        assert not wh.table_exists("main.item")
        assert wh.fetchall("SELECT count(*) FROM duckdb_databases() WHERE NOT internal") == [(2,)]
