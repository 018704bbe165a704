"""A fact loaded in key-partitioned batches (--batch-rows) ends exactly as one loaded at once:
same target rows, counts and rejects; all or nothing of the entity; no staging table left."""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
from datetime import datetime
from typing import Any

import polars as pl
import psycopg
import pytest
from polars.testing import assert_frame_equal

from dwetl.entities import registry
from dwetl.ops.check import check_warehouse
from dwetl.run.runner import run
from dwetl.warehouse import open_warehouse

BATCH_ROWS = 300
DIMENSIONS = ("cliente", "produto", "loja", "vendedor", "desconto")
TABLES = (
    "dim_data", *(f"dim_{d}" for d in DIMENSIONS), "fact_vendas", "fact_descontos", "fact_metas",
)  # fmt: skip
#: the tables a batched load writes before it settles: its staging table, or the twin of an
#: empty target it swaps in (DuckDB), and what a killed run leaves of them
LEFT = (
    "SELECT table_schema || '.' || table_name FROM information_schema.tables "
    "WHERE table_schema = 'stg' OR POSITION('__loading_' IN table_name) > 0"
)
STG = f"SELECT COUNT(*) FROM ({LEFT}) t"


def _run(etl: Any, batch_rows: int, *entities: str, **options: Any) -> Any:
    """`dwetl run` on the harness with `batch_rows`; every reject ratio passes."""
    settings = dataclasses.replace(etl.settings, batch_rows=batch_rows)
    options.setdefault("max_reject_ratio", 1.0)
    return run(settings, list(entities) or ["all"], **options)


def check(settings: Any) -> Any:
    with open_warehouse(settings.dw, settings) as wh:
        return check_warehouse(wh, settings)


def _counts(summary: Any) -> dict[str, dict[str, Any]]:
    """Per entity, everything the summary says but its seconds, how many batches and the
    source's clock when it was read."""
    return {
        e.entity: {
            k: v for k, v in e.to_dict().items() if k not in ("seconds", "batches", "source_clock")
        }
        for e in summary.entities
    }


def _naturals(etl: Any) -> dict[str, dict[Any, Any]]:
    """Per surrogate-key column, sk -> the dimension's natural key."""
    return {
        f"sk_{d}": dict(etl.dw(f"SELECT sk_{d}, id_{d}_origem FROM dw.dim_{d}")) for d in DIMENSIONS
    }


def _canonical(etl: Any) -> dict[str, pl.DataFrame]:
    """Every warehouse table as loaded, independent of how the run numbered the surrogate keys
    of inferred members (created batch by batch, so in another order): each surrogate key as
    its natural key; the lineage column left out. Sorted on every column."""
    naturals = _naturals(etl)
    out = {}
    for table in TABLES:
        frame = etl.dw_frame(f"SELECT * FROM dw.{table}").drop("id_execucao")
        own = f"sk_{table.removeprefix('dim_')}"
        for column in frame.columns:
            if column in naturals:
                mapping = naturals[column]
                natural = frame.get_column(column).replace_strict(mapping, default=None)
                frame = frame.with_columns(natural.alias(column))
        if table != "dim_data" and own in frame.columns:
            frame = frame.drop(own)
        out[table] = frame.select(sorted(frame.columns)).sort(pl.all(), nulls_last=True)
    return out


def _rejects(etl: Any) -> list[tuple[Any, ...]]:
    """The quarantine (ctl.etl_reject's applied rows), but ids and times; surrogate keys in a
    rejected row as natural keys."""
    naturals = _naturals(etl)
    rows = []
    for entity, key, reasons, row_json, resolved in etl.dw(
        "SELECT entity, source_key, reasons, row_json, resolved_run_id FROM ctl.etl_reject "
        "WHERE applied"
    ):
        row = json.loads(row_json)
        for column, mapping in naturals.items():
            if column in row and entity != f"dim_{column.removeprefix('sk_')}":
                row[column] = mapping.get(row[column], row[column])
        rows.append((entity, key, reasons, json.dumps(row, sort_keys=True), resolved))
    return sorted(rows, key=repr)


def _blocked(etl: Any, run_id: int) -> int:
    """The rows a failed run kept as not applied."""
    (count,), *_ = etl.dw(
        "SELECT COUNT(*) FROM ctl.etl_reject WHERE run_id = %s AND NOT applied", [run_id]
    )
    return int(count)


def _equal(left: pl.DataFrame, right: pl.DataFrame, table: str) -> None:
    try:
        assert_frame_equal(left, right, check_exact=True)
    except AssertionError as exc:
        raise AssertionError(f"{table}: {exc}") from None


def _same_warehouse(mine: Any, theirs: Any) -> None:
    left, right = _canonical(mine), _canonical(theirs)
    for table in TABLES:
        assert left[table].height, table
        _equal(left[table], right[table], table)
    assert _rejects(mine) == _rejects(theirs)


def _twin(etl: Any, new_etl: Any) -> Any:
    """A sample source and two initialised warehouses on it: `etl`'s, and the one returned."""
    etl.sample(2000, 3, 0.02)
    etl.init()
    batched = new_etl("batched")
    batched.use_source_of(etl)
    batched.init()
    return batched


def _batches(summary: Any) -> dict[str, int]:
    return {e.entity: e.batches for e in summary.entities}


@pytest.mark.pairs("sqlite-duckdb", "postgresql-postgresql", "mysql-postgresql")
def test_a_batched_full_run_loads_what_one_at_once_loads(etl, new_etl):
    batched = _twin(etl, new_etl)

    once = _run(etl, 0, full=True)
    # 200, not BATCH_ROWS: the batch count is rows / batch_rows rounded to the nearest, and
    # 343 discount versions over 300 would be one batch
    inbatches = _run(batched, 200, full=True)

    assert once.quarantined > 0, once.to_dict()  # the damaged sample has rejects
    assert _batches(once) == dict.fromkeys(_batches(once), 1)
    # 2016 item versions and 343 discount versions; everything else at once
    assert _batches(inbatches) == {**_batches(once), "fact_vendas": 10, "fact_descontos": 2}
    assert _counts(inbatches) == _counts(once)
    vendas = next(e for e in inbatches.entities if e.entity == "fact_vendas")
    assert vendas.folded and vendas.rejected and vendas.inferred  # all three happen in batches
    _same_warehouse(batched, etl)
    assert batched.dw(STG) == [(0,)]
    # an empty target that took the twin of its batches (DuckDB) has its keys and CHECKs back
    assert check(batched.settings).problems == []
    assert _catalog(batched) == _catalog(etl)
    if batched.dw_kind == "duckdb":
        with pytest.raises(Exception, match="primary key"):
            batched.dw_execute("INSERT INTO dw.fact_vendas SELECT * FROM dw.fact_vendas LIMIT 1")


def _catalog(etl: Any) -> list[tuple[Any, ...]]:
    """The warehouse tables' columns (name, type, nullable, default) and constraint types."""
    columns = etl.dw(
        "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = 'dw' ORDER BY 1, ordinal_position"
    )
    constraints = etl.dw(
        "SELECT table_name, constraint_type, COUNT(*) FROM information_schema.table_constraints "
        "WHERE table_schema = 'dw' GROUP BY 1, 2 ORDER BY 1, 2"
    )
    return columns + constraints


def test_versions_that_row_order_would_split_fold_to_the_newest(etl):
    etl.sample(2000, 3, 0.0)
    keys = [k for (k,) in etl.src(
        "SELECT id FROM venda_itens GROUP BY id HAVING COUNT(*) = 1 ORDER BY MIN(rowid) LIMIT 3"
    )]  # fmt: skip
    # A newer version of the first items, written last: far apart in the table's row order
    # (where chunks of rows would fold each half alone), together in their key's batch.
    etl.src(
        "INSERT INTO venda_itens (id, id_venda, id_produto, quantidade, preco_unitario, "
        "valor_desconto, atualizado_em) SELECT id, id_venda, id_produto, quantidade + 10, "
        f"preco_unitario, valor_desconto, ? FROM venda_itens WHERE id IN {tuple(keys)}",
        [etl.later("venda_itens")],
    )
    (first, last), *_ = etl.src(
        f"SELECT MIN(rowid), MAX(rowid) FROM venda_itens WHERE id = {keys[0]}"
    )
    assert last - first > BATCH_ROWS
    etl.init()
    summary = _run(etl, BATCH_ROWS, "fact_vendas", "dim_data", "dim_cliente", "dim_produto",
                   "dim_loja", "dim_vendedor", full=True)  # fmt: skip

    (vendas,) = [e for e in summary.entities if e.entity == "fact_vendas"]
    assert vendas.batches > 2 and vendas.status == "success", vendas.to_dict()
    newest = etl.src(
        f"SELECT id, MAX(quantidade) FROM venda_itens WHERE id IN {tuple(keys)} GROUP BY id"
    )
    assert etl.dw(
        "SELECT id_item_origem, quantidade FROM dw.fact_vendas "
        f"WHERE id_item_origem IN {tuple(keys)} ORDER BY 1"
    ) == sorted(newest)
    (rows, versions), *_ = etl.src(
        "SELECT COUNT(*), COUNT(*) - COUNT(DISTINCT id) FROM venda_itens"
    )
    assert vendas.folded == versions
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas") == [(rows - versions,)]


def _changes(etl: Any) -> None:
    """About 5% of the items changed and a few order headers (which re-send their items)."""
    later = etl.later("venda_itens")
    etl.src(
        "INSERT INTO venda_itens (id, id_venda, id_produto, quantidade, preco_unitario, "
        "valor_desconto, atualizado_em) SELECT id, id_venda, id_produto, quantidade + 1, "
        "preco_unitario, valor_desconto, ? FROM venda_itens WHERE id % 20 = 3",
        [later],
    )
    etl.src(
        "INSERT INTO vendas (id, id_cliente, id_loja, id_vendedor, data_venda, canal, "
        "atualizado_em) SELECT id, id_cliente, id_loja, id_vendedor, data_venda, 'Televendas', ? "
        "FROM vendas WHERE id % 25 = 1",
        [max(later, etl.later("vendas"))],
    )


@pytest.mark.pairs("sqlite-duckdb", "postgresql-postgresql")
def test_a_batched_incremental_run_loads_what_one_at_once_loads(etl, new_etl):
    batched = _twin(etl, new_etl)
    _run(etl, 0)
    _run(batched, BATCH_ROWS)
    _changes(etl)

    once = _run(etl, 0)
    inbatches = _run(batched, 40)

    vendas = next(e for e in inbatches.entities if e.entity == "fact_vendas")
    assert vendas.batches > 2 and vendas.updated and vendas.unchanged, vendas.to_dict()
    assert vendas.extracted < 1000  # the watermark's rows only
    assert _counts(inbatches) == _counts(once)
    _same_warehouse(batched, etl)


def test_a_watermark_overlap_shorter_than_the_batched_read_keeps_the_first_batch_s(etl, new_etl):
    etl.sample(2000, 3, 0.0)
    etl.init()
    settings = dataclasses.replace(
        etl.settings, batch_rows=BATCH_ROWS, watermark_overlap_seconds=0.0
    )
    summary = run(settings, ["all"], full=True)

    (vendas,) = [e for e in summary.entities if e.entity == "fact_vendas"]
    assert vendas.batches == 7
    # batch 0: the items of the first of 7 equal key ranges, each with its order's newest header
    (first,), *_ = etl.src(
        "SELECT MAX(MAX(i.atualizado_em, COALESCE(h.atualizado_em, i.atualizado_em))) "
        "FROM venda_itens i LEFT JOIN vendas h ON h.id = i.id_venda "
        "WHERE i.id < (SELECT MIN(id) + (MAX(id) - MIN(id) + 1) / 7 FROM venda_itens)"
    )
    (newest,), *_ = etl.src(
        "SELECT MAX(MAX(i.atualizado_em, COALESCE(h.atualizado_em, i.atualizado_em))) "
        "FROM venda_itens i LEFT JOIN vendas h ON h.id = i.id_venda"
    )
    assert first < newest
    assert vendas.watermark_to == datetime.fromisoformat(first)
    assert etl.dw("SELECT watermark_value FROM ctl.etl_control WHERE entity = 'fact_vendas'") == [
        (datetime.fromisoformat(first),)
    ]


def _state(etl: Any) -> dict[str, Any]:
    return {
        "tables": _canonical(etl),
        "watermarks": etl.dw("SELECT entity, watermark_value FROM ctl.etl_control ORDER BY 1"),
        "rejects": _rejects(etl),
        "stg": etl.dw(STG),
    }


@pytest.mark.pairs("sqlite-duckdb", "postgresql-postgresql")
def test_a_failure_in_batch_two_leaves_the_target_and_no_staging(etl, monkeypatch):
    etl.sample(2000, 3, 0.02)
    etl.init()
    _run(etl, 0)
    _changes(etl)
    before = _state(etl)

    monkeypatch.setenv("DWETL_FAIL_AT", "batch2:fact_vendas")
    failed = _run(etl, BATCH_ROWS, "fact_vendas", full=True)

    (vendas,) = failed.entities
    assert vendas.status == "failed" and "batch2 of fact_vendas" in vendas.error
    after = _state(etl)
    for table in TABLES:
        _equal(after["tables"][table], before["tables"][table], table)
    assert after["watermarks"] == before["watermarks"]
    assert after["rejects"] == before["rejects"]
    assert _blocked(etl, failed.run_id) == vendas.rejected > 0  # kept, not applied
    assert after["stg"] == [(0,)]
    assert etl.dw(
        "SELECT status, inserted, updated, unchanged FROM ctl.etl_run_entity "
        "WHERE run_id = %s AND entity = 'fact_vendas'",
        [failed.run_id],
    ) == [("failed", 0, 0, 0)]


def test_too_many_rejects_over_all_batches_fail_the_entity_with_nothing_kept(etl):
    etl.sample(2000, 3, 0.02)
    etl.init()
    _run(etl, 0, "dim_data", "dim_cliente", "dim_produto", "dim_loja", "dim_vendedor")
    before = _state(etl)

    failed = _run(etl, BATCH_ROWS, "fact_vendas", max_reject_ratio=0.001)

    (vendas,) = failed.entities
    assert vendas.status == "failed" and "above the limit of 0.1%" in vendas.error
    assert vendas.batches == 7
    after = _state(etl)
    assert after["tables"]["fact_vendas"].height == 0
    assert after["stg"] == [(0,)] and after["rejects"] == before["rejects"]
    assert _blocked(etl, failed.run_id) == vendas.rejected > 0  # kept, not applied


def test_a_run_killed_between_batches_leaves_staging_the_next_run_drops(etl, dwetl):
    etl.sample(2000, 3, 0.02)
    etl.init()
    env = {**etl.env, "DWETL_MAX_REJECT_RATIO": "1"}
    _run(etl, 0)  # the target has rows: the batches are staged, committed batch by batch
    _changes(etl)
    (loaded,), *_ = etl.dw("SELECT COUNT(*) FROM dw.fact_vendas")

    killed = dwetl("run", "--full", "--batch-rows", str(BATCH_ROWS), cwd=etl.folder,
                   env={**env, "DWETL_FAIL_AT": "batch2:fact_vendas:kill"})  # fmt: skip

    assert killed.returncode == -signal.SIGKILL
    (run_id,), *_ = etl.dw("SELECT MAX(run_id) FROM ctl.etl_run")
    assert etl.dw(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'stg'"
    ) == [(f"fact_vendas_{run_id}",)]  # its first two batches, committed
    (staged,), *_ = etl.dw(f"SELECT COUNT(*) FROM stg.fact_vendas_{run_id}")
    assert staged > BATCH_ROWS

    again = dwetl("run", "--full", "--batch-rows", str(BATCH_ROWS), "--json",
                  cwd=etl.folder, env=env)  # fmt: skip

    assert again.returncode == 0, again.stderr
    assert f"dropping stg.fact_vendas_{run_id}" in again.stderr
    assert etl.dw(STG) == [(0,)]
    vendas = next(e for e in json.loads(again.stdout)["entities"] if e["entity"] == "fact_vendas")
    assert vendas["batches"] == 7 and vendas["status"] == "success" and vendas["updated"] > 0
    assert vendas["rejected"] > 0
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas") == [(loaded + vendas["inserted"],)]


@pytest.mark.pairs("sqlite-postgresql")
def test_a_first_load_in_batches_with_its_keys_in_place_writes_members_before_their_batch(
    etl, caplog
):
    """When the keys cannot be deferred (here a report holds a dimension the fact references),
    every batch is checked against its foreign keys as it is written: the inferred members it
    needs are written before it."""
    etl.sample(2000, 3, 0.02)
    etl.init()
    _run(etl, 0, "dim_data", "dim_cliente", "dim_produto", "dim_loja", "dim_vendedor")

    with psycopg.connect(etl.dw_url, autocommit=True) as report:
        report.execute("BEGIN")
        report.execute("LOCK TABLE dw.dim_loja IN ACCESS SHARE MODE")
        with caplog.at_level(logging.INFO, logger="dwetl"):
            summary = _run(etl, BATCH_ROWS, "fact_vendas")
        report.execute("ROLLBACK")

    (vendas,) = summary.entities
    assert any("checked row by row" in m for m in caplog.messages)  # the keys stayed
    assert (vendas.status, vendas.batches) == ("success", 7), vendas.to_dict()
    assert vendas.inferred > 0 and _inferred(etl) == vendas.inferred
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas") == [(vendas.inserted,)]


@pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql")
def test_a_first_load_killed_between_batches(etl, dwetl):
    """PostgreSQL keeps a transaction's rows in the server: a first load's batches all go into
    the target in one transaction, so a kill leaves nothing. DuckDB would hold them in this
    process's memory until the commit: they go into a twin of the target, committed batch by
    batch, and a kill leaves the twin, which the next run drops."""
    etl.sample(2000, 3, 0.02)
    etl.init()
    env = {**etl.env, "DWETL_MAX_REJECT_RATIO": "1"}

    killed = dwetl("run", "--batch-rows", str(BATCH_ROWS), cwd=etl.folder,
                   env={**env, "DWETL_FAIL_AT": "batch2:fact_vendas:kill"})  # fmt: skip

    assert killed.returncode == -signal.SIGKILL
    (run_id,), *_ = etl.dw("SELECT MAX(run_id) FROM ctl.etl_run")
    left = etl.dw(LEFT)
    if etl.dw_kind == "duckdb":
        twin = f"dw.fact_vendas__loading_{run_id}"
        assert left == [(twin,)]  # its first two batches, committed
        (staged,), *_ = etl.dw(f"SELECT COUNT(*) FROM {twin}")
        assert staged > BATCH_ROWS
    else:
        assert left == []
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas") == [(0,)]

    again = dwetl("run", "--batch-rows", str(BATCH_ROWS), "--json", cwd=etl.folder, env=env)

    assert again.returncode == 0, again.stderr
    if etl.dw_kind == "duckdb":
        assert f"dropping {twin}" in again.stderr
    assert etl.dw(STG) == [(0,)]
    vendas = next(e for e in json.loads(again.stdout)["entities"] if e["entity"] == "fact_vendas")
    assert vendas["batches"] == 7 and vendas["status"] == "success" and vendas["rejected"] > 0
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas") == [(vendas["inserted"],)]


def _inferred(etl: Any) -> int:
    """Inferred members in the dimensions (placeholders a fact created; not the unknown members)."""
    return sum(
        etl.dw(f"SELECT COUNT(*) FROM dw.dim_{d} WHERE inferido AND sk_{d} <> -1")[0][0]
        for d in DIMENSIONS
    )


@pytest.mark.pairs("sqlite-postgresql")
def test_a_first_load_in_batches_goes_straight_into_the_target(etl, caplog):
    etl.sample(2000, 3, 0.02)
    etl.init()
    _run(etl, 0, "dim_data", "dim_cliente", "dim_produto", "dim_loja", "dim_vendedor")
    assert _inferred(etl) == 0

    with caplog.at_level(logging.DEBUG, logger="dwetl"):
        summary = _run(etl, BATCH_ROWS, "fact_vendas")

    (vendas,) = summary.entities
    assert vendas.batches == 7 and vendas.inferred > 0, vendas.to_dict()
    assert "dw.fact_vendas is empty: its 7 batches go straight into it" in caplog.messages
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas") == [(vendas.inserted,)]
    # the placeholders committed with the fact, in its run
    assert _inferred(etl) == vendas.inferred
    assert {
        run_id
        for d in DIMENSIONS
        for (run_id,) in etl.dw(
            f"SELECT DISTINCT id_execucao FROM dw.dim_{d} WHERE inferido AND sk_{d} <> -1"
        )
    } == {summary.run_id}


@pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql")
def test_a_first_load_failing_after_its_batches_leaves_nothing_of_it(etl, monkeypatch):
    """Into PostgreSQL the batches go straight into the target, into DuckDB into its twin: on
    both the inferred members they need commit with the fact, or, as here, not at all."""
    etl.sample(2000, 3, 0.02)
    etl.init()
    _run(etl, 0, "dim_data", "dim_cliente", "dim_produto", "dim_loja", "dim_vendedor")
    constraints = (
        "SELECT constraint_name FROM information_schema.table_constraints "
        "WHERE table_schema = 'dw' AND table_name = 'fact_vendas' ORDER BY 1"
    )

    def state() -> dict[str, Any]:
        dims = {d: etl.dw_frame(f"SELECT * FROM dw.dim_{d}") for d in DIMENSIONS}
        return {
            "dims": {d: frame.sort(frame.columns) for d, frame in dims.items()},
            "facts": etl.dw("SELECT COUNT(*) FROM dw.fact_vendas"),
            "watermarks": etl.dw("SELECT entity, watermark_value FROM ctl.etl_control ORDER BY 1"),
            "rejects": etl.dw("SELECT COUNT(*) FROM ctl.etl_reject WHERE applied"),
            "constraints": etl.dw(constraints),
        }

    before = state()
    monkeypatch.setenv("DWETL_FAIL_AT", "merge:fact_vendas")  # every batch is in the target
    failed = _run(etl, BATCH_ROWS, "fact_vendas")

    (vendas,) = failed.entities
    assert vendas.status == "failed" and "merge of fact_vendas" in vendas.error
    assert vendas.batches == 7
    after = state()
    for d in DIMENSIONS:  # its inferred members went with it
        _equal(after["dims"][d], before["dims"][d], d)
    assert after["facts"] == before["facts"] == [(0,)]
    assert after["watermarks"] == before["watermarks"]
    assert after["rejects"] == before["rejects"]
    assert _blocked(etl, failed.run_id) == vendas.rejected > 0  # kept, not applied
    assert after["constraints"] == before["constraints"]  # what PostgreSQL deferred is back
    assert len(before["constraints"]) > 1
    assert _inferred(etl) == 0

    monkeypatch.delenv("DWETL_FAIL_AT")
    (again,) = _run(etl, BATCH_ROWS, "fact_vendas").entities
    assert again.status == "success" and again.rejected > 0 and again.inferred > 0
    assert _inferred(etl) == again.inferred


def test_batch_rows_zero_never_batches(etl, dwetl):
    etl.sample(2000, 3, 0.02)
    etl.init()
    env = {**etl.env, "DWETL_MAX_REJECT_RATIO": "1", "DWETL_BATCH_ROWS": str(BATCH_ROWS)}

    done = dwetl("run", "--batch-rows", "0", "--json", cwd=etl.folder, env=env)

    assert done.returncode == 0, done.stderr
    entities = json.loads(done.stdout)["entities"]
    assert {e["entity"]: e["batches"] for e in entities} == dict.fromkeys(
        (e["entity"] for e in entities), 1
    )


def test_a_batch_key_on_a_target_with_another_unique_key_is_refused(etl, monkeypatch):
    etl.sample(500, 3, 0.0)
    etl.init()
    metas = dataclasses.replace(registry.get_entity("fact_metas"), batch_key="id_meta_origem")
    monkeypatch.setitem(registry._BY_NAME, "fact_metas", metas)
    _run(etl, 0, "dim_data", "dim_loja", "dim_vendedor")

    summary = _run(etl, 10, "fact_metas")

    (result,) = summary.entities
    assert result.status == "failed"
    assert result.error == (
        "fact_metas: declares batch_key id_meta_origem, but dw.fact_metas has key(s) other than "
        "its natural key (UQ_fact_metas_grao), which batches cannot check; remove batch_key "
        "from its EntitySpec"
    )
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_metas") == [(0,)]
