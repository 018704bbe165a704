"""A first load (the target is empty, or a dimension holds only its unknown member) goes
straight into the target — no staging table, no count, no MERGE — and lands exactly what the
MERGE path lands from the same input: the same rows, counts, quarantined rows, and earlier
rejects resolved. The next run merges, and leaves unchanged rows alone."""

from __future__ import annotations

import logging

import polars as pl
import pytest

from dwetl.entities.registry import all_entities

pytestmark = pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql")

TABLES = [s.target_table for s in all_entities()]
FACTS = [s.target_table for s in all_entities() if s.kind == "fact"]
#: the dimensions with a surrogate key: `dwetl init` seeds each with its unknown member (-1)
DIMENSIONS = [s.target_table for s in all_entities() if s.kind == "dimension"]

#: one row per fact that no source row has (natural key -1), on the unknown members, and one
#: per dimension besides its unknown member (natural key -2, sk 0): in the target before the
#: run, it makes the target hold a row a load could have written, so the run takes the MERGE
#: path (new dimension rows are numbered from 1 either way)
SENTINELS = [
    "INSERT INTO dw.fact_vendas VALUES (-1, -1, -1, -1, -1, -1, -1, 'Loja Física', 1, 1.00, "
    "1.00, 0.00, 1.00, TIMESTAMP '2000-01-01 00:00:00', 1)",
    "INSERT INTO dw.fact_descontos VALUES (-1, -1, NULL, 'Pedido', -1, -1, -1, -1, -1, 1.00, "
    "TIMESTAMP '2000-01-01 00:00:00', 1)",
    "INSERT INTO dw.fact_metas VALUES (-1, 2000, 1, -1, -1, -1, 1.00, "
    "TIMESTAMP '2000-01-01 00:00:00', 1)",
    *(
        f"INSERT INTO dw.dim_{name} (sk_{name}, id_{name}_origem, {text}, inferido) "
        "VALUES (0, -2, 'Sentinela', TRUE)"
        for name, text in [
            ("cliente", "nome"), ("produto", "nome"), ("loja", "nome"), ("vendedor", "nome"),
            ("desconto", "codigo"),
        ]
    ),
]  # fmt: skip
SENTINEL_KEYS = {
    "dw.fact_vendas": ("id_item_origem", -1),
    "dw.fact_descontos": ("id_venda_desconto_origem", -1),
    "dw.fact_metas": ("id_meta_origem", -1),
    **{table: (f"id_{table.removeprefix('dw.dim_')}_origem", -2) for table in DIMENSIONS},
}

REJECTS = (
    "SELECT entity, source_key, reasons, run_id, resolved_run_id FROM ctl.etl_reject "
    "ORDER BY entity, source_key, run_id"
)


def contents(etl) -> dict[str, pl.DataFrame]:
    """Every target table, sorted, without the sentinel rows."""
    out = {}
    for table in TABLES:
        key, value = SENTINEL_KEYS.get(table, (None, None))
        where = f" WHERE {key} <> {value}" if key else ""
        frame = etl.dw_frame(f"SELECT * FROM {table}{where}")
        out[table] = frame.sort(frame.columns)
    return out


def open_rejects_of_earlier_run(etl, loads: int) -> None:
    """Two open rejects of fact_vendas from run 1 (init's): key `loads`, which this run loads,
    and key 0, which no source row has."""
    for reject_id, key in ((9001, loads), (9002, 0)):
        etl.dw_execute(
            "INSERT INTO ctl.etl_reject (reject_id, run_id, entity, source_key, reasons, "
            "row_json, rejected_at) VALUES (%s, 1, 'fact_vendas', %s, '[\"X\"]', '{}', "
            "TIMESTAMP '2000-01-01 00:00:00')",
            [reject_id, str(key)],
        )


def test_first_load_lands_what_the_merge_path_lands(etl, new_etl, caplog):
    etl.sample(1500, 41, 0.02)
    (loads,), *_ = etl.src(
        "SELECT MIN(id) FROM venda_itens WHERE id NOT IN "
        "(SELECT id FROM sample_damage WHERE tabela = 'venda_itens')"
    )
    etl.init()
    open_rejects_of_earlier_run(etl, loads)
    with caplog.at_level(logging.DEBUG, logger="dwetl.run.merge"):
        direct = etl.run("all", max_reject_ratio=0.5)
    # the table from the message, not from `args`: logs.MaskPasswords (installed by any earlier
    # in-process setup_logging) rewrites every record as a formatted message without args
    went_direct = {
        r.getMessage().split(" is empty")[0]
        for r in caplog.records
        if "straight into" in r.getMessage()
    }
    assert set(FACTS) | set(DIMENSIONS) <= went_direct

    merged_etl = new_etl("merged")
    merged_etl.use_source_of(etl)
    merged_etl.init()
    open_rejects_of_earlier_run(merged_etl, loads)
    for sentinel in SENTINELS:
        merged_etl.dw_execute(sentinel)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="dwetl.run.merge"):
        merged = merged_etl.run("all", max_reject_ratio=0.5)
    assert not [r for r in caplog.records if "straight into" in r.getMessage()]

    assert direct.status == merged.status == "success"
    assert direct.quarantined == merged.quarantined > 0
    for mine, theirs in zip(direct.entities, merged.entities, strict=True):
        same = {"seconds": None, "source_clock": None}  # when each ran
        assert mine.to_dict() | same == theirs.to_dict() | same
    fact_vendas = next(e for e in direct.entities if e.entity == "fact_vendas")
    assert fact_vendas.inserted > 1000 and fact_vendas.rejected > 0
    ours, theirs_ = contents(etl), contents(merged_etl)
    for table in TABLES:
        assert ours[table].height > 0, table
        assert ours[table].equals(theirs_[table]), table
    assert etl.dw(REJECTS) == merged_etl.dw(REJECTS)
    run_id = direct.run_id
    assert etl.dw(
        "SELECT source_key, resolved_run_id FROM ctl.etl_reject WHERE reject_id IN (9001, 9002) "
        "ORDER BY reject_id"
    ) == [(str(loads), run_id), ("0", None)]


def test_the_next_run_merges_and_leaves_unchanged_rows_alone(etl):
    etl.sample(800, 42, 0.0)
    etl.init()
    first = etl.run("all")
    before = contents(etl)

    again = etl.run("all", full=True)

    assert again.status == first.status == "success"
    for mine in again.entities:
        if mine.entity.startswith("fact"):
            done = next(e for e in first.entities if e.entity == mine.entity)
            assert (mine.inserted, mine.updated, mine.unchanged) == (0, 0, done.inserted)
    after = contents(etl)
    for table in FACTS:  # the lineage says who wrote each row: still the first run
        assert after[table].equals(before[table]), table
