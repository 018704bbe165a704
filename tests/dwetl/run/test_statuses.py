"""Statuses and exit codes through the real console script: success 0 (rows quarantined or
not, reasons listed), partial 3 (some entity did not load), failed 1 (nothing of it
committed), bad usage 2. More in test_exit_codes.py."""

from __future__ import annotations

import json


def test_clean_source_is_success_exit_0(etl, dwetl):
    etl.sample(500, 12, 0.0)
    etl.init()
    done = dwetl("run", "--json", cwd=etl.folder, env=etl.env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "success"
    assert {e["entity"] for e in summary["entities"]} >= {"dim_cliente", "fact_vendas"}
    for e in summary["entities"]:
        assert set(e["seconds"]) == {"extract", "transform", "validate", "load", "merge", "commit"}


def test_unrepairable_rows_are_quarantined_exit_0_with_rejects_listed(etl, dwetl):
    etl.sample(1000, 13, 0.05)
    etl.init()
    wide = {**etl.env, "COLUMNS": "160"}  # the reasons show from 140 columns on
    done = dwetl("run", "--max-reject-ratio", "0.5", cwd=etl.folder, env=wide)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "success" in done.stdout and "rows quarantined" in done.stdout
    assert "CK_DIM_DESCONTO" in done.stdout  # reasons in the summary
    listed = json.loads(
        dwetl(
            "run", "--json", "--full", "--max-reject-ratio", "0.5", cwd=etl.folder, env=etl.env
        ).stdout
    )
    desconto = next(e for e in listed["entities"] if e["entity"] == "dim_desconto")
    assert desconto["status"] == "success"
    assert sum(desconto["reasons"].values()) >= desconto["rejected"] > 0


def test_reject_ratio_above_limit_fails_and_commits_nothing(etl, dwetl):
    etl.sample(1000, 13, 0.05)
    etl.init()
    done = dwetl(
        "run", "--entity", "dim_cliente", "--max-reject-ratio", "0", "--json",
        cwd=etl.folder, env=etl.env,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    (cliente,) = summary["entities"]
    assert (summary["status"], cliente["status"]) == ("failed", "failed")
    assert "max-reject-ratio" in cliente["error"]
    assert etl.dw("SELECT COUNT(*) FROM dw.dim_cliente WHERE sk_cliente <> -1") == [(0,)]
    # nothing quarantined: the rejected rows are kept, marked as not applied
    assert etl.dw("SELECT COUNT(*) FROM ctl.etl_reject WHERE applied") == [(0,)]
    assert etl.dw("SELECT COUNT(*) FROM ctl.etl_reject WHERE NOT applied") == [
        (cliente["rejected"],)
    ]
    assert etl.dw(
        "SELECT watermark_value, last_status FROM ctl.etl_control WHERE entity = 'dim_cliente'"
    ) == [(None, "failed")]
    assert etl.dw(
        "SELECT status, inserted FROM ctl.etl_run_entity WHERE entity = 'dim_cliente'"
    ) == [("failed", 0)]


def test_one_failed_entity_among_loaded_ones_is_a_partial_run(etl):
    etl.sample(1000, 13, 0.05)
    etl.init()
    # The calendar has nothing to reject; dim_cliente has damaged rows: a zero limit fails it.
    summary = etl.run("dim_data", "dim_cliente", max_reject_ratio=0.0)
    statuses = {e.entity: e.status for e in summary.entities}
    assert statuses == {"dim_data": "success", "dim_cliente": "failed"}
    assert (summary.status, summary.exit_code) == ("partial", 3)


def test_bad_usage_exit_2(etl, dwetl):
    etl.sample(300, 1, 0.0)
    etl.init()
    unknown = dwetl("run", "--entity", "dim_nada", cwd=etl.folder, env=etl.env)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: ") and "dim_nada" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    etl.dw("UPDATE ctl.etl_control SET active = FALSE WHERE entity = 'fact_metas'")
    inactive = dwetl("run", "--entity", "fact_metas", cwd=etl.folder, env=etl.env)
    assert inactive.returncode == 2
    assert "fact_metas" in inactive.stderr and "not active" in inactive.stderr
    ratio = dwetl("run", "--max-reject-ratio", "2", cwd=etl.folder, env=etl.env)
    assert ratio.returncode == 2


def test_all_skips_inactive_entities(etl):
    etl.sample(300, 1, 0.0)
    etl.init()
    etl.dw("UPDATE ctl.etl_control SET active = FALSE WHERE entity = 'fact_metas'")
    summary = etl.run("all")
    assert "fact_metas" not in {e.entity for e in summary.entities}
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_metas") == [(0,)]
