"""`dwetl rollout`: scope changes behind a dry-run gate, on the record, via the console script."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dwetl.core.config import load_settings
from dwetl.warehouse import open_warehouse


def _console_script(*args: str, cwd: Path, env: dict[str, str], timeout: float) -> Any:
    # the `dwetl` fixture is per test; the module's template needs the same thing once
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DWETL_")}
    return subprocess.run(
        [str(Path(sys.executable).with_name("dwetl")), *args],
        cwd=cwd,
        env={**full_env, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Scratch:
    """A sample source (SQLite) and an initialised, loaded warehouse (DuckDB) in a tmp folder."""

    def __init__(self, tmp_path: Path, dwetl: Any) -> None:
        self.dir = tmp_path
        self.source = tmp_path / "oltp.sqlite"
        self.env = {
            "DWETL_SOURCE_URL": f"sqlite:///{self.source}",
            "DWETL_DW_URL": f"duckdb:///{tmp_path}/dw.duckdb",
        }
        self._dwetl = dwetl

    def dwetl(self, *args: str) -> Any:
        return self._dwetl(*args, cwd=self.dir, env=self.env, timeout=300)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        settings = load_settings(dw=self.env["DWETL_DW_URL"], cwd=self.dir, env={})
        with open_warehouse(settings.dw, settings) as wh:
            return wh.fetchall(sql)

    def source_sql(self, sql: str) -> None:
        with sqlite3.connect(self.source) as con:
            con.execute(sql)

    def active(self, entity: str) -> tuple[bool, bool | None]:
        """(live flag in ctl.etl_control, expected flag in ctl.etl_scope)."""
        rows = self.query(
            "SELECT c.active, s.active FROM ctl.etl_control c "
            f"LEFT JOIN ctl.etl_scope s ON s.entity = c.entity WHERE c.entity = '{entity}'"
        )
        return rows[0][0], rows[0][1]

    def changes(self, entity: str) -> list[tuple[Any, ...]]:
        return self.query(
            "SELECT active_from, active_to, forced, reason, changed_by FROM ctl.etl_scope_change "
            f"WHERE entity = '{entity}' ORDER BY change_id"
        )

    def footprint(self, entity: str, table: str) -> tuple[Any, ...]:
        """What a dry run must not change: rows, watermark, rejects, the entity's run rows."""
        return (
            self.query(f"SELECT COUNT(*), MAX(id_execucao) FROM {table}")[0],
            self.query(f"SELECT watermark_value FROM ctl.etl_control WHERE entity = '{entity}'"),
            self.query(f"SELECT COUNT(*) FROM ctl.etl_reject WHERE entity = '{entity}'"),
            self.query(f"SELECT COUNT(*) FROM ctl.etl_run_entity WHERE entity = '{entity}'"),
        )


@pytest.fixture(scope="module")
def loaded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo (sample source, init, run) per module; each test works on a copy of its files."""
    folder = tmp_path_factory.mktemp("rollout_template")
    s = Scratch(folder, _console_script)
    # the demo reads no configured URL: its files are named as options
    urls = ("--source", s.env["DWETL_SOURCE_URL"], "--dw", s.env["DWETL_DW_URL"])
    result = s.dwetl("demo", "--rows", "300", "--damage", "0", "--json", *urls)
    # the demo's own run may end partial; what matters here is a loaded, initialised warehouse
    assert result.returncode in (0, 3), result.stderr
    assert s.query("SELECT COUNT(*) FROM dw.dim_desconto")[0][0] > 1
    return folder


@pytest.fixture
def scratch(loaded_template: Path, tmp_path: Path, dwetl: Any) -> Scratch:
    for name in ("oltp.sqlite", "dw.duckdb"):
        shutil.copyfile(loaded_template / name, tmp_path / name)
    return Scratch(tmp_path, dwetl)


def _break_discount_types(s: Scratch) -> None:
    # half the discounts get a type no repair can map to the allowed set: CK_DIM_DESCONTO_tipo
    s.source_sql("UPDATE descontos SET tipo_desconto = 'Brinde Surpresa' WHERE id % 2 = 0")


def _switch_off_discounts(s: Scratch) -> None:
    assert s.dwetl("rollout", "disable", "fact_descontos").returncode == 0
    assert s.dwetl("rollout", "disable", "dim_desconto").returncode == 0


def test_disabling_a_dimension_an_active_fact_needs_is_refused(scratch: Scratch) -> None:
    before = scratch.changes("dim_desconto")
    result = scratch.dwetl("rollout", "disable", "dim_desconto")
    assert result.returncode == 1
    assert "refused" in result.stderr and "fact_descontos" in result.stderr
    assert "Traceback" not in result.stderr
    assert scratch.active("dim_desconto") == (True, True)
    assert scratch.changes("dim_desconto") == before


def test_disable_keeps_data_and_watermark_and_is_recorded(scratch: Scratch) -> None:
    kept = scratch.footprint("dim_desconto", "dw.dim_desconto")
    _switch_off_discounts(scratch)
    assert scratch.active("dim_desconto") == (False, False)
    assert scratch.active("fact_descontos") == (False, False)
    assert scratch.footprint("dim_desconto", "dw.dim_desconto") == kept
    active_from, active_to, forced, _, who = scratch.changes("dim_desconto")[-1]
    assert (active_from, active_to, forced, who) == (True, False, False, getpass.getuser())
    # a disabled entity is not loaded by the nightly run
    run = scratch.dwetl("run", "--entity", "all", "--json")
    assert '"dim_desconto"' not in run.stdout


def test_enable_refuses_while_the_dry_run_fails_and_accepts_once_the_source_is_fixed(
    scratch: Scratch,
) -> None:
    _switch_off_discounts(scratch)
    _break_discount_types(scratch)
    before = scratch.footprint("dim_desconto", "dw.dim_desconto")
    changes = scratch.changes("dim_desconto")

    refused = scratch.dwetl("rollout", "enable", "dim_desconto")
    assert refused.returncode == 1
    assert "rollout enable dim_desconto refused" in refused.stderr
    assert "CK_DIM_DESCONTO_tipo" in refused.stderr  # the reason, with its count
    assert "rejected" in refused.stderr and "limit 5.0%" in refused.stderr
    assert scratch.active("dim_desconto") == (False, False)
    assert scratch.changes("dim_desconto") == changes
    assert (
        scratch.footprint("dim_desconto", "dw.dim_desconto") == before
    )  # a dry run writes nothing

    scratch.source_sql("UPDATE descontos SET tipo_desconto = 'Cupom' WHERE id % 2 = 0")
    accepted = scratch.dwetl("rollout", "enable", "dim_desconto")
    assert accepted.returncode == 0, accepted.stderr
    assert scratch.active("dim_desconto") == (True, True)
    active_from, active_to, forced, _, who = scratch.changes("dim_desconto")[-1]
    assert (active_from, active_to, forced, who) == (False, True, False, getpass.getuser())


def test_force_overrides_the_gate_and_is_recorded_as_forced(scratch: Scratch) -> None:
    _switch_off_discounts(scratch)
    _break_discount_types(scratch)
    result = scratch.dwetl("rollout", "enable", "dim_desconto", "--force")
    assert result.returncode == 0, result.stderr
    assert "forced" in result.stdout
    assert scratch.active("dim_desconto") == (True, True)
    active_from, active_to, forced, reason, _ = scratch.changes("dim_desconto")[-1]
    assert (active_from, active_to, forced) == (False, True, True)
    assert "reject" in reason  # why it needed forcing, kept with the change

    status = scratch.dwetl("rollout", "status")
    assert status.returncode == 0
    line = next(x for x in status.stdout.splitlines() if "dim_desconto: no -> yes" in x)
    assert "forced" in line and getpass.getuser() in line
    data = json.loads(scratch.dwetl("rollout", "status", "--json", "--last", "1").stdout)
    assert [(c["entity"], c["forced"], c["active_to"]) for c in data["changes"]] == [
        ("dim_desconto", True, True)
    ]
    assert {r["entity"]: r["active"] for r in data["scope"]}["dim_desconto"] is True


def test_enabling_a_fact_whose_dimension_is_off_is_refused_and_reasons_given(
    scratch: Scratch,
) -> None:
    _switch_off_discounts(scratch)
    result = scratch.dwetl("rollout", "enable", "fact_descontos")
    assert result.returncode == 1
    assert "dim_desconto" in result.stderr and "not active" in result.stderr
    assert scratch.active("fact_descontos") == (False, False)


def test_rollout_status_shows_scope_and_drift_behind_dwetl_s_back(scratch: Scratch) -> None:
    settings = load_settings(dw=scratch.env["DWETL_DW_URL"], cwd=scratch.dir, env={})
    with open_warehouse(settings.dw, settings) as wh:
        wh.execute("UPDATE ctl.etl_control SET active = FALSE WHERE entity = 'fact_metas'")
    status = scratch.dwetl("rollout", "status")
    assert status.returncode == 0
    line = next(x for x in status.stdout.splitlines() if x.startswith("fact_metas"))
    assert "DRIFT" in line
    assert "recent changes:" in status.stdout
    assert scratch.dwetl("check").returncode == 1

    # the switch-off, done through rollout after the fact, goes on the record and ends the drift
    result = scratch.dwetl("rollout", "disable", "fact_metas", "--reason", "night shift")
    assert result.returncode == 0, result.stderr
    assert scratch.active("fact_metas") == (False, False)
    assert scratch.changes("fact_metas")[-1][:4] == (False, False, False, "night shift")
    assert scratch.dwetl("check").returncode == 0


def test_unknown_entity_is_bad_usage(scratch: Scratch) -> None:
    result = scratch.dwetl("rollout", "enable", "dim_nada")
    assert result.returncode == 2
    assert "dim_nada" in result.stderr and "Traceback" not in result.stderr


def test_json_log_events_for_the_gate_and_the_change(scratch: Scratch) -> None:
    assert scratch.dwetl("rollout", "disable", "fact_metas").returncode == 0
    result = scratch.dwetl("--log-format", "json", "rollout", "enable", "fact_metas")
    assert result.returncode == 0, result.stderr
    events = [json.loads(x) for x in result.stderr.splitlines() if x.startswith("{")]
    gate = next(e for e in events if e.get("phase") == "dry-run")
    change = next(e for e in events if e.get("phase") == "rollout")
    assert gate["entity"] == "fact_metas" and isinstance(gate["run_id"], int)
    assert gate["counts"]["extracted"] > 0
    # every rejected row has at least one reason (a row may break several constraints)
    assert sum(gate["counts"]["reasons"].values()) >= gate["counts"]["rejected"]
    assert (gate["counts"]["rejected"] > 0) == bool(gate["counts"]["reasons"])
    assert (change["entity"], change["status"]) == ("fact_metas", "active")
