"""The quarantine holds one open reject per (entity, natural key): a run that reads the key
still broken updates it (reasons, row, the run that last read it, how many times it was read),
a run that loads the key closes it, and two runs of one entity never add the key twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DWETL = Path(sys.executable).with_name("dwetl")
OPEN = (
    "SELECT source_key, COUNT(*), MIN(times_seen), MAX(times_seen), MIN(first_run_id), "
    "MAX(run_id) FROM ctl.etl_reject WHERE entity = 'dim_desconto' AND resolved_run_id IS NULL "
    "AND applied GROUP BY source_key ORDER BY source_key"
)


def fix_at_source(etl, key: int) -> None:
    """Give reject `key` of dim_desconto its clean value, stamped after every watermark."""
    (column, clean), *_ = etl.src(
        "SELECT coluna, valor_limpo FROM sample_damage WHERE tabela = 'descontos' AND id = ? "
        "AND NOT recuperavel",
        [key],
    )
    etl.src(
        f"UPDATE descontos SET {column} = ?, atualizado_em = ? WHERE id = ?",
        [clean, etl.later("descontos"), key],
    )


@pytest.mark.pairs("sqlite-duckdb", "postgresql-postgresql")
def test_three_reads_of_a_broken_row_are_one_open_reject_until_it_is_fixed(etl):
    etl.sample(1000, 8, 0.05)
    etl.init()
    runs = [etl.run("dim_desconto", full=True, max_reject_ratio=1.0) for _ in range(3)]
    (first,) = runs[0].entities
    assert first.rejected >= 2
    assert all(r.entities[0].rejected == first.rejected for r in runs)  # every run re-read them

    rows = etl.dw(OPEN)
    assert len(rows) == first.rejected  # one open reject per key, not one per read
    assert {row[1:] for row in rows} == {(1, 3, 3, runs[0].run_id, runs[2].run_id)}
    assert etl.dw("SELECT COUNT(*) FROM ctl.etl_reject") == [(first.rejected,)]

    key = rows[0][0]
    fix_at_source(etl, int(key))
    fixed = etl.run("dim_desconto", max_reject_ratio=1.0)

    assert fixed.entities[0].inserted == 1
    assert etl.dw(
        "SELECT resolved_run_id, times_seen FROM ctl.etl_reject WHERE source_key = %s", [key]
    ) == [(fixed.run_id, 3)]
    assert [row[0] for row in etl.dw(OPEN)] == [row[0] for row in rows[1:]]


@pytest.mark.pairs("sqlite-duckdb", "postgresql-postgresql")
def test_a_key_rejected_again_after_its_fix_opens_one_new_reject(etl):
    etl.sample(1000, 8, 0.05)
    etl.init()
    first = etl.run("dim_desconto", max_reject_ratio=1.0)
    (key, *_), *_ = etl.dw(OPEN)
    fix_at_source(etl, int(key))
    fixed = etl.run("dim_desconto", max_reject_ratio=1.0)
    etl.src("UPDATE descontos SET valor = -1, atualizado_em = ? WHERE id = ?",
            [etl.later("descontos"), int(key)])  # fmt: skip
    broken = etl.run("dim_desconto", max_reject_ratio=1.0)

    assert broken.entities[0].rejected == 1
    assert etl.dw(
        "SELECT run_id, times_seen, resolved_run_id FROM ctl.etl_reject "
        "WHERE source_key = %s ORDER BY reject_id",
        [key],
    ) == [(first.run_id, 1, fixed.run_id), (broken.run_id, 1, None)]  # the closed one stays


@pytest.mark.pairs("sqlite-postgresql")
def test_two_concurrent_full_runs_do_not_double_the_quarantine(etl, tmp_path):
    etl.sample(1000, 8, 0.05)
    etl.init()
    command = [str(DWETL), "run", "-e", "dim_desconto", "--full", "--max-reject-ratio", "1",
               "--json"]  # fmt: skip
    env = {"PATH": "/usr/bin:/bin", **etl.env}
    both = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    summaries = [json.loads(p.communicate(timeout=300)[0]) for p in both]

    rejected = [s["entities"][0]["rejected"] for s in summaries]
    assert [s["entities"][0]["status"] for s in summaries] == ["success", "success"]
    assert rejected[0] == rejected[1] > 0
    rows = etl.dw(OPEN)
    assert len(rows) == rejected[0]
    assert {row[1:4] for row in rows} == {(1, 2, 2)}
    assert etl.dw("SELECT COUNT(*) FROM ctl.etl_reject") == [(rejected[0],)]


@pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql")
@pytest.mark.parametrize("by_key_up_to", [0, 10_000], ids=["by-join", "by-key"])
def test_both_ways_of_resolving_close_the_same_rejects(etl, monkeypatch, by_key_up_to):
    """A few loaded keys resolve their rejects by probing the quarantine's index with the keys
    (PostgreSQL), many by one join with the entity's open rejects: the same rejects close."""
    from dwetl.run import rejects

    monkeypatch.setattr(rejects, "RESOLVE_BY_KEY_UP_TO", {"postgresql": by_key_up_to})
    etl.sample(1000, 8, 0.05)
    etl.init()
    etl.run("dim_desconto", max_reject_ratio=1.0)
    open_before = [
        int(k)
        for (k,) in etl.dw(
            "SELECT source_key FROM ctl.etl_reject WHERE resolved_run_id IS NULL ORDER BY reject_id"
        )
    ]
    assert len(open_before) >= 3
    for key in open_before[:2]:
        fix_at_source(etl, key)

    second = etl.run("dim_desconto", max_reject_ratio=1.0)

    resolved = etl.dw(
        "SELECT source_key, resolved_run_id FROM ctl.etl_reject "
        "WHERE resolved_run_id IS NOT NULL ORDER BY source_key"
    )
    assert resolved == sorted((str(k), second.run_id) for k in open_before[:2])
    still_open = etl.dw("SELECT COUNT(*) FROM ctl.etl_reject WHERE resolved_run_id IS NULL")
    assert still_open == [(len(open_before) - 2,)]


@pytest.mark.pairs("sqlite-duckdb", "postgresql-postgresql")
def test_a_reject_keeps_its_row_until_the_broken_row_changes(etl):
    """A broken row read again as it was leaves its reject's reasons and row as they were (only
    who read it, when and how often change), and the row holds no run id of its own: a broken
    row that changed, still broken, has its reject restated."""
    etl.sample(1000, 8, 0.05)
    etl.init()
    # the second run numbers the rejected keys after the loaded rows, as every later run does
    for _ in range(2):
        etl.run("dim_desconto", full=True, max_reject_ratio=1.0)
    key = etl.dw(OPEN)[0][0]
    reject = (
        "SELECT row_json, reasons, times_seen, run_id FROM ctl.etl_reject "
        "WHERE entity = 'dim_desconto' AND source_key = %s AND resolved_run_id IS NULL"
    )
    ((row, reasons, _, _),) = etl.dw(reject, [key])
    assert "id_execucao" not in json.loads(row)

    again = etl.run("dim_desconto", full=True, max_reject_ratio=1.0)
    assert etl.dw(reject, [key]) == [(row, reasons, 3, again.run_id)]

    ((damaged,),) = etl.src(
        "SELECT coluna FROM sample_damage WHERE tabela = 'descontos' AND id = ? "
        "AND NOT recuperavel",
        [int(key)],
    )
    other, value = ("valor", 77.7) if damaged != "valor" else ("descricao", "Outra")
    etl.src(
        f"UPDATE descontos SET {other} = ?, atualizado_em = ? WHERE id = ?",
        [value, etl.later("descontos"), int(key)],
    )
    changed = etl.run("dim_desconto", max_reject_ratio=1.0)
    ((new_row, _, seen, run_id),) = etl.dw(reject, [key])
    assert (seen, run_id) == (4, changed.run_id)
    assert json.loads(new_row)[other] in ("77.70", "Outra")
