"""Expected full-load counts per entity follow from the source frames and the ground truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from dwetl.sample import generate_sample
from dwetl.sample.expected import expected_counts, rejected_ids


def test_counts_add_up_and_match_the_damage() -> None:
    s = generate_sample(6_000, 8, 0.05)
    counts = expected_counts(s.tables, s.truth)
    for entity, e in counts.items():
        assert e.extracted == e.loaded + e.rejected + e.folded, entity
        if e.extracted >= 200:  # 50 stores at 5% are only 2 damaged rows: not every class
            assert e.rejected > 0 and e.folded > 0, entity
    # one row damage per source row: a dimension's rejects are its non-recoverable damages
    bad = s.truth.filter(~pl.col("recuperavel"))
    assert counts["dim_desconto"].rejected == bad.filter(pl.col("tabela") == "descontos").height
    assert (
        counts["fact_vendas"].folded
        == s.truth.filter(
            (pl.col("tabela") == "venda_itens")
            & pl.col("classe").is_in(["chave_duplicada", "atualizacao"])
        ).height
    )
    assert counts["fact_vendas"].loaded + counts["fact_vendas"].rejected == 6_000


def test_a_rejected_order_rejects_all_its_items() -> None:
    s = generate_sample(6_000, 8, 0.05)
    venda = s.truth.filter(
        (pl.col("tabela") == "vendas") & (pl.col("classe") == "fora_do_dominio")
    )["id"][0]
    items = s.tables["venda_itens"].filter(pl.col("id_venda") == venda)["id"]
    rejected = rejected_ids(s.tables, s.truth, "fact_vendas")
    assert items.len() >= 1
    assert items.is_in(rejected.implode()).all()
    own = s.truth.filter((pl.col("tabela") == "venda_itens") & ~pl.col("recuperavel"))["id"]
    assert own.is_in(rejected.implode()).all()
    assert rejected.len() > own.n_unique()


def test_no_damage_no_rejects() -> None:
    s = generate_sample(1_000, 2, 0.0)
    for e in expected_counts(s.tables, s.truth).values():
        assert e.rejected == e.folded == 0
        assert e.loaded == e.extracted


def test_a_full_run_reports_exactly_the_expected_counts(tmp_path: Path) -> None:
    """The ground truth's contract with the real pipeline: sample, init, run (SQLite -> DuckDB)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DWETL_")}

    def dwetl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(Path(sys.executable).with_name("dwetl")), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    sample = dwetl("sample", "--rows", "4000", "--seed", "3", "--damage", "0.05")
    assert sample.returncode == 0, sample.stderr
    assert dwetl("init").returncode == 0
    run = dwetl("run", "--entity", "all", "--json")
    assert run.returncode == 0, run.stderr  # the damage quarantines rows; every entity loads
    # what `sample` announces is what the run quarantines, to the row
    quarantined = sum(e["rejected"] for e in json.loads(run.stdout)["entities"])
    assert f"a full load quarantines exactly {quarantined:,} rows" in sample.stdout
    s = generate_sample(4_000, 3, 0.05)
    expected = expected_counts(s.tables, s.truth)
    reported = {e["entity"]: e for e in json.loads(run.stdout)["entities"]}
    for entity, want in expected.items():
        got = reported[entity]
        loaded = got["inserted"] + got["updated"] + got["unchanged"]
        assert (got["extracted"], got["folded"], got["rejected"], loaded) == (
            want.extracted,
            want.folded,
            want.rejected,
            want.loaded,
        ), entity
