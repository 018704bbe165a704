"""`dwetl init` on real DuckDB files and a real PostgreSQL database."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from dwetl.core.config import Settings, load_settings
from dwetl.core.errors import DwetlError
from dwetl.core.paths import ddl_root
from dwetl.ops.init import run_init
from dwetl.warehouse import open_warehouse
from dwetl.warehouse.ddl import list_scripts
from dwetl.warehouse.duckdb import CATALOG

SHIPPED = len(list_scripts(ddl_root()))

_KINDS = {
    exp.PrimaryKey: "PRIMARY KEY",
    exp.UniqueColumnConstraint: "UNIQUE",
    exp.CheckColumnConstraint: "CHECK",
    exp.ForeignKey: "FOREIGN KEY",
}


def ddl_declarations() -> dict[str, dict[str, Any]]:
    """table -> {"columns": [...], "constraints": Counter(kind), "names": {name: kind},
    "not_null": n}, read from the shipped DDL with sqlglot (a later ALTER TABLE's columns and
    NOT NULLs included)."""
    tables: dict[str, dict[str, Any]] = {}
    for path in sorted(ddl_root().glob("*.sql")):
        for statement in sqlglot.parse(path.read_text(encoding="utf-8"), read="postgres"):
            if isinstance(statement, exp.Alter):
                altered = tables[f"{statement.this.db}.{statement.this.name}"]
                for action in statement.args.get("actions") or []:
                    if isinstance(action, exp.ColumnDef):
                        altered["columns"].append(action.name)
                    elif isinstance(action, exp.AlterColumn) and not action.args.get("drop"):
                        altered["not_null"] += action.args.get("allow_null") is False
                continue
            if not isinstance(statement, exp.Create) or statement.kind != "TABLE":
                continue
            schema = statement.this
            table = schema.this
            entry: dict[str, Any] = {
                "columns": [],
                "constraints": Counter(),
                "names": {},
                "not_null": 0,
            }
            for item in schema.expressions:
                if isinstance(item, exp.ColumnDef):
                    entry["columns"].append(item.name)
                    kinds = [type(c.kind) for c in item.constraints]
                    entry["not_null"] += exp.NotNullColumnConstraint in kinds
                elif isinstance(item, exp.Constraint):
                    kind = _KINDS[type(item.expressions[0])]
                    entry["constraints"][kind] += 1
                    entry["names"][item.this.name] = kind
            tables[f"{table.db}.{table.name}"] = entry
    return tables


def settings_for(tmp_path: Path, dw: str, **kwargs: Any) -> Settings:
    return load_settings(dw=dw, cwd=tmp_path, env={}, **kwargs)


def snapshot(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """What a second init must not change."""
    with open_warehouse(settings.dw, settings) as wh:
        return {
            "schema_version": wh.fetchall(
                "SELECT script, checksum, applied_at FROM ctl.schema_version ORDER BY script"
            ),
            "etl_control": wh.fetchall("SELECT * FROM ctl.etl_control ORDER BY entity"),
            "etl_scope": wh.fetchall("SELECT * FROM ctl.etl_scope ORDER BY entity"),
            "etl_scope_change": wh.fetchall(
                "SELECT * FROM ctl.etl_scope_change ORDER BY change_id"
            ),
            "unknown_members": wh.fetchall(
                "SELECT 'cliente', count(*) FROM dw.dim_cliente WHERE sk_cliente = -1 "
                "UNION ALL SELECT 'desconto', count(*) FROM dw.dim_desconto WHERE sk_desconto = -1"
            ),
        }


def test_init_duckdb_creates_every_table_and_constraint_of_the_ddl_but_its_foreign_keys(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path, "duckdb:///new/dw.duckdb")
    report = run_init(settings)
    assert report.ok and not report.missing
    assert settings.dw.path is not None and settings.dw.path.is_file()
    declared = ddl_declarations()
    assert len(declared) == 17
    with open_warehouse(settings.dw, settings) as wh:
        rows = wh.fetchall(
            "SELECT schema_name, table_name, constraint_type, count(*) FROM duckdb_constraints() "
            "WHERE database_name = %s GROUP BY ALL",
            [CATALOG],
        )
        live: dict[str, Counter[str]] = {}
        for schema, table, kind, count in rows:
            live.setdefault(f"{schema}.{table}", Counter())[kind] = count
        for name, entry in declared.items():
            assert wh.table_exists(name), name
            columns = [
                r[0]
                for r in wh.fetchall(
                    "SELECT column_name FROM information_schema.columns WHERE table_catalog = %s "
                    "AND table_schema || '.' || table_name = %s ORDER BY ordinal_position",
                    [CATALOG, name],
                )
            ]
            assert columns == entry["columns"], name
            expected = Counter(entry["constraints"])
            expected["NOT NULL"] = entry["not_null"]
            # DuckDB does not enforce the foreign keys: dwetl's validation does
            expected["FOREIGN KEY"] = 0
            got = live.get(name, Counter())
            assert {k: got[k] for k in expected} == dict(expected), name
        assert wh.fetchall("SELECT nome FROM dw.dim_cliente WHERE sk_cliente = -1") == [
            ("Não informado",)
        ]


def test_init_postgresql_creates_every_named_constraint(tmp_path: Path, pg_url: str) -> None:
    settings = settings_for(tmp_path, pg_url)
    report = run_init(settings)
    assert report.ok, report
    codes = {"p": "PRIMARY KEY", "u": "UNIQUE", "c": "CHECK", "f": "FOREIGN KEY"}
    with open_warehouse(settings.dw, settings) as wh:
        live: dict[str, dict[str, str]] = {}
        for table, name, code in wh.fetchall(
            "SELECT n.nspname || '.' || t.relname, c.conname, c.contype FROM pg_constraint c "
            "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname IN ('dw', 'ctl') AND c.contype IN ('p', 'u', 'c', 'f')"
        ):
            live.setdefault(table, {})[name] = codes[code]
    for table, entry in ddl_declarations().items():
        # PostgreSQL folds unquoted names to lower case
        assert live[table] == {n.lower(): k for n, k in entry["names"].items()}, table


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_second_init_changes_nothing_and_keeps_a_disabled_entity_off(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = "duckdb:///dw.duckdb" if backend == "duckdb" else request.getfixturevalue("pg_url")
    settings = settings_for(tmp_path, url)
    first = run_init(settings)
    assert len(first.seeded) == 9 and set(first.active) == set(first.seeded)
    with open_warehouse(settings.dw, settings) as wh:
        wh.execute("UPDATE ctl.etl_control SET active = FALSE WHERE entity = 'fact_metas'")
    before = snapshot(settings)
    second = run_init(settings)
    assert snapshot(settings) == before
    assert [s.status for s in second.scripts] == ["already applied"] * SHIPPED
    assert second.seeded == []
    assert "fact_metas" in second.inactive and "fact_metas" not in second.active
    assert "dw.fact_metas" not in second.required and "dw.fact_vendas" in second.required
    assert before["etl_scope_change"] and len(before["etl_scope_change"]) == 9


def test_init_records_startup_times_in_the_run_log(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "duckdb:///dw.duckdb")
    report = run_init(settings)
    with open_warehouse(settings.dw, settings) as wh:
        (row,) = wh.fetchall(
            "SELECT command, status, startup_seconds, details, dw_url, source_url "
            "FROM ctl.etl_run WHERE run_id = %s",
            [report.run_id],
        )
    command, status, startup, details_text, dw_url, source_url = row
    assert (command, status) == ("init", "success")
    assert startup == pytest.approx(report.total_seconds)
    details = json.loads(details_text)
    assert details["connect_seconds"]["warehouse"] >= 0
    assert [s["name"] for s in details["scripts"]] == [s.name for s in list_scripts(ddl_root())]
    assert all(s["status"] == "applied" for s in details["scripts"])
    assert details["source_status"] == "not found"
    assert (dw_url, source_url) == ("duckdb:///dw.duckdb", "sqlite:///data/oltp.sqlite")


def test_changed_applied_script_is_an_error_naming_it(tmp_path: Path) -> None:
    ddl = tmp_path / "ddl"
    shutil.copytree(ddl_root(), ddl)
    settings = settings_for(tmp_path, "duckdb:///dw.duckdb", ddl_dir=str(ddl))
    run_init(settings)
    script = ddl / "003_dimensions.sql"
    script.write_text(script.read_text(encoding="utf-8") + "\n-- edited\n", encoding="utf-8")
    with pytest.raises(DwetlError, match=r"DDL script 003_dimensions\.sql changed after it was"):
        run_init(settings)


BROKEN = """-- a script whose second statement fails (also where foreign keys are not enforced)
CREATE TABLE dw.extra_one (a INTEGER NOT NULL);
CREATE TABLE dw.extra_two (a INTEGER REFERENCES dw.no_such_table (a));
CREATE TABLE dw.extra_three (a INTEGER);
"""
FIXED = BROKEN.replace("REFERENCES dw.no_such_table (a)", "NOT NULL")


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_script_failing_half_way_leaves_nothing_and_init_finishes_after_the_fix(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest, dwetl: Any
) -> None:
    url = "duckdb:///dw.duckdb" if backend == "duckdb" else request.getfixturevalue("pg_url")
    ddl = tmp_path / "ddl"
    shutil.copytree(ddl_root(), ddl)
    (ddl / "900_extra.sql").write_text(BROKEN, encoding="utf-8")

    result = dwetl("init", "--dw", url, "--ddl-dir", str(ddl), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "900_extra.sql" in error and "statement 2" in error
    assert "CREATE TABLE dw.extra_two" in error
    settings = settings_for(tmp_path, url, ddl_dir=str(ddl))
    with open_warehouse(settings.dw, settings) as wh:
        assert not wh.table_exists("dw.extra_one")
        assert wh.table_exists("dw.fact_metas")  # the scripts before it stay applied
        scripts = [r[0] for r in wh.fetchall("SELECT script FROM ctl.schema_version")]
        assert "900_extra.sql" not in scripts and len(scripts) == SHIPPED
        (failed,) = wh.fetchall("SELECT status, error FROM ctl.etl_run WHERE command = 'init'")
        assert failed[0] == "failed" and "900_extra.sql failed at statement 2" in failed[1]

    (ddl / "900_extra.sql").write_text(FIXED, encoding="utf-8")
    result = dwetl("init", "--dw", url, "--ddl-dir", str(ddl), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "DDL 900_extra.sql: applied" in result.stdout
    with open_warehouse(settings.dw, settings) as wh:
        assert all(wh.table_exists(f"dw.extra_{n}") for n in ("one", "two", "three"))
        assert len(wh.fetchall("SELECT script FROM ctl.schema_version")) == SHIPPED + 1


def test_missing_table_fails_the_check_with_exit_1(tmp_path: Path, dwetl: Any) -> None:
    ddl = tmp_path / "ddl"
    shutil.copytree(ddl_root(), ddl)
    facts = ddl / "004_facts.sql"
    text = facts.read_text(encoding="utf-8")
    facts.write_text(text[: text.index("CREATE TABLE IF NOT EXISTS dw.fact_metas")])
    result = dwetl("init", "--ddl-dir", str(ddl), "--json", cwd=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["missing"] == ["dw.fact_metas"] and report["ok"] is False
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: init check failed: missing table dw.fact_metas")
