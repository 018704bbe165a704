"""`dwetl check`: the live warehouse (real DuckDB files, the real PostgreSQL) against the DDL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
import sqlglot
from sqlglot import exp

from dwetl.core.config import Settings, load_settings
from dwetl.core.paths import ddl_root
from dwetl.entities.registry import all_entities
from dwetl.ops.check import FOREIGN_KEYS_BY_DWETL, check_warehouse, shipped_sets
from dwetl.ops.init import run_init
from dwetl.warehouse import open_warehouse


def init_duckdb(tmp_path: Path) -> tuple[Settings, Path]:
    path = tmp_path / "warehouse.duckdb"
    settings = load_settings(dw=f"duckdb:///{path}", cwd=tmp_path, env={})
    run_init(settings)
    return settings, path


def create_statement(table: str) -> exp.Create:
    """The DDL's CREATE TABLE of `table` as a sqlglot tree, to alter and replay."""
    for path in sorted(ddl_root().glob("*.sql")):
        for statement in sqlglot.parse(path.read_text(encoding="utf-8"), read="postgres"):
            if (
                isinstance(statement, exp.Create)
                and statement.kind == "TABLE"
                and statement.this.this.sql() == table
            ):
                return statement
    raise AssertionError(table)


def recreate(path: Path, table: str, change: Any) -> None:
    """Replace `table` in the DuckDB file by the DDL's definition as `change(tree)` alters it."""
    tree = create_statement(table)
    change(tree)
    with duckdb.connect(str(path)) as con:
        con.execute(f"DROP TABLE {table}")
        con.execute(tree.sql(dialect="duckdb"))


def constraint(tree: exp.Create, name: str) -> exp.Constraint:
    return next(
        c for c in tree.this.expressions if isinstance(c, exp.Constraint) and c.name == name
    )


def check(settings: Settings) -> Any:
    with open_warehouse(settings.dw, settings) as wh:
        return check_warehouse(wh, settings)


#: check compares the warehouse alone: one pair per warehouse dialect
DW_PAIRS = ("sqlite-duckdb", "postgresql-postgresql")


@pytest.mark.pairs(*DW_PAIRS)
def test_a_fresh_init_matches_and_the_cli_exits_0(etl: Any, dwetl: Any) -> None:
    etl.init()
    result = dwetl("check", "--dw", etl.dw_url, cwd=etl.folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches the DDL" in result.stdout
    report = json.loads(dwetl("check", "--json", "--dw", etl.dw_url, cwd=etl.folder).stdout)
    assert report["ok"] is True and report["problems"] == []
    assert report["tables_checked"] == len(shipped_sets(ddl_root()))
    # DuckDB leaves the foreign keys to dwetl and the report says so, once; PostgreSQL checks them
    sets = shipped_sets(ddl_root()).values()
    declared = sum(
        bool(cs.primary_key) + len(cs.uniques) + len(cs.foreign_keys) + len(cs.checks)
        + sum(not c.nullable for c in cs.columns)
        for cs in sets
    )  # fmt: skip
    fks = sum(len(cs.foreign_keys) for cs in sets)
    note = FOREIGN_KEYS_BY_DWETL.format(dialect="duckdb")
    if etl.dw_kind == "duckdb":
        assert report["notes"] == [note] and result.stdout.count(note) == 1
        assert report["constraints_checked"] == declared - fks
    else:
        assert report["notes"] == [] and "foreign keys" not in result.stdout
        assert report["constraints_checked"] == declared


def test_a_half_initialised_warehouse_fails_the_check_naming_what_is_missing(
    tmp_path: Path, dwetl: Any
) -> None:
    # init stops at a broken script: the shipped tables are there, the entities were never seeded
    ddl = tmp_path / "ddl-next"
    shutil.copytree(ddl_root(), ddl)
    (ddl / "099_broken.sql").write_text("CREATE TABLE dw.x (id INTEGER REFERENCES dw.nada (id));")
    url = f"duckdb:///{tmp_path / 'drill' / 'warehouse.duckdb'}"
    assert dwetl("init", "--dw", url, "--ddl-dir", str(ddl), cwd=tmp_path).returncode == 1

    result = dwetl("check", "--dw", url, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    missing = sorted(
        line.split(":")[0].removeprefix("  entity ")
        for line in result.stdout.splitlines()
        if line.endswith("declared by dwetl, but not in ctl.etl_control: run `dwetl init`")
    )
    assert missing == sorted(spec.name for spec in all_entities())
    assert "table missing" not in result.stdout  # 001-004 are all there

    assert dwetl("init", "--dw", url, cwd=tmp_path).returncode == 0
    assert dwetl("check", "--dw", url, cwd=tmp_path).returncode == 0


def test_init_runs_the_check(tmp_path: Path) -> None:
    settings = load_settings(dw=f"duckdb:///{tmp_path / 'w.duckdb'}", cwd=tmp_path, env={})
    report = run_init(settings)
    assert report.check["ok"] is True and report.check["problems"] == []
    assert report.check["notes"] == [FOREIGN_KEYS_BY_DWETL.format(dialect="duckdb")]
    assert report.check["tables_checked"] == len(shipped_sets(ddl_root()))
    assert report.ok


def test_on_duckdb_a_foreign_key_the_ddl_lacks_is_reported_one_it_declares_is_not(
    tmp_path: Path,
) -> None:
    settings, path = init_duckdb(tmp_path)
    # replayed from the DDL's tree, the table gets its foreign keys back: they match the DDL
    recreate(path, "dw.fact_vendas", lambda t: None)
    with duckdb.connect(str(path)) as con:
        (fks,) = con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'FOREIGN KEY'"
        ).fetchone() or (0,)
    assert fks == 5
    assert check(settings).problems == []

    def elsewhere(tree: exp.Create) -> None:
        reference = constraint(tree, "FK_fact_metas_loja").find(exp.Reference)
        assert reference is not None
        reference.this.set("this", exp.to_table("dw.dim_vendedor"))
        reference.this.set("expressions", [exp.to_identifier("sk_vendedor")])

    recreate(path, "dw.fact_metas", elsewhere)
    (problem,) = check(settings).problems
    assert problem.startswith("dw.fact_metas: FOREIGN KEY ")
    assert problem.endswith(
        "(FOREIGN KEY (sk_loja) REFERENCES dw.dim_vendedor(sk_vendedor)) not in the DDL"
    )


def test_a_dropped_constraint_is_reported_with_exit_1(tmp_path: Path, dwetl: Any) -> None:
    settings, path = init_duckdb(tmp_path)
    recreate(path, "dw.fact_metas", lambda t: constraint(t, "CK_FACT_METAS_valor").pop())
    result = dwetl("check", "--dw", f"duckdb:///{path}", cwd=tmp_path)
    assert result.returncode == 1
    assert "dw.fact_metas: CHECK CK_FACT_METAS_valor (valor_meta >= 0) missing" in result.stdout
    recreate(path, "dw.fact_metas", lambda t: constraint(t, "UQ_fact_metas_grao").pop())
    assert check(settings).problems == [
        "dw.fact_metas: UQ_fact_metas_grao (UNIQUE (ano, mes, sk_loja, sk_vendedor)) missing"
    ]


def test_a_changed_check_list_is_reported_with_exit_1(tmp_path: Path, dwetl: Any) -> None:
    _, path = init_duckdb(tmp_path)

    def add_channel(tree: exp.Create) -> None:
        in_list = constraint(tree, "CK_FACT_VENDAS_canal").find(exp.In)
        assert in_list is not None
        in_list.append("expressions", exp.Literal.string("Marketplace"))

    recreate(path, "dw.fact_vendas", add_channel)
    result = dwetl("check", "--dw", f"duckdb:///{path}", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(
        "CHECK CK_FACT_VENDAS_canal" in line and "missing or changed" in line for line in lines
    )
    assert any("'Marketplace'" in line and "not in the DDL" in line for line in lines)
    assert lines[0].startswith("2 difference(s)")


def test_a_widened_column_is_reported_with_exit_1(tmp_path: Path, dwetl: Any) -> None:
    settings, path = init_duckdb(tmp_path)

    def widen(tree: exp.Create) -> None:
        column = next(c for c in tree.this.expressions if c.name == "valor_meta")
        column.set("kind", exp.DataType.build("DECIMAL(18,2)"))

    recreate(path, "dw.fact_metas", widen)
    result = dwetl("check", "--dw", f"duckdb:///{path}", cwd=tmp_path)
    assert result.returncode == 1
    assert check(settings).problems == [
        "dw.fact_metas.valor_meta: type DECIMAL(18,2), DDL says DECIMAL(14,2)"
    ]


def test_a_nullable_column_and_an_extra_table_are_reported(tmp_path: Path) -> None:
    settings, path = init_duckdb(tmp_path)
    with duckdb.connect(str(path)) as con:
        con.execute("ALTER TABLE ctl.etl_scope_change ALTER COLUMN changed_by DROP NOT NULL")
        con.execute("CREATE TABLE dw.dim_extra (x INTEGER)")
    assert check(settings).problems == [
        "ctl.etl_scope_change.changed_by: NULL, DDL says the opposite",
        "dw.dim_extra: table not in the DDL",
    ]


@pytest.mark.pairs(*DW_PAIRS)
def test_a_deactivated_entity_is_drift_but_a_recorded_scope_change_is_not(
    etl: Any, dwetl: Any
) -> None:
    etl.init()
    etl.dw_execute("UPDATE ctl.etl_control SET active = FALSE WHERE entity = 'fact_metas'")
    result = dwetl("check", "--dw", etl.dw_url, cwd=etl.folder)
    assert result.returncode == 1
    assert "entity fact_metas: inactive in ctl.etl_control, expected active" in result.stdout
    etl.dw_execute("UPDATE ctl.etl_scope SET active = FALSE WHERE entity = 'fact_metas'")
    assert check(etl.settings).ok


def test_an_active_entity_without_its_table_is_reported(tmp_path: Path) -> None:
    settings, path = init_duckdb(tmp_path)
    with duckdb.connect(str(path)) as con:
        con.execute("DROP TABLE dw.fact_descontos")
    assert check(settings).problems == [
        "dw.fact_descontos: table missing",
        "entity fact_descontos: active, but its table dw.fact_descontos is missing",
    ]


def test_check_on_a_missing_warehouse_file_is_one_clear_line(tmp_path: Path, dwetl: Any) -> None:
    result = dwetl("check", "--dw", f"duckdb:///{tmp_path / 'none.duckdb'}", cwd=tmp_path)
    assert result.returncode == 2  # nothing to check: a missing file is bad configuration
    assert result.stderr.startswith("error: ") and "dwetl init" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "none.duckdb").exists()


@pytest.mark.servers
def test_postgresql_fresh_init_matches_and_drift_is_reported(
    tmp_path: Path, pg_url: str, pg_database: str, dwetl: Any
) -> None:
    settings = load_settings(dw=pg_url, cwd=tmp_path, env={})
    run_init(settings)
    assert check(settings).problems == []
    assert dwetl("check", "--dw", pg_url, cwd=tmp_path).returncode == 0
    dsn = f"host=localhost port=5432 user=postgres dbname={pg_database}"
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("ALTER TABLE dw.dim_desconto DROP CONSTRAINT ck_dim_desconto_tipo")
        con.execute(
            "ALTER TABLE dw.dim_desconto ADD CONSTRAINT ck_dim_desconto_tipo "
            "CHECK (tipo_desconto IN ('Cupom', 'Atacado'))"
        )
        con.execute("ALTER TABLE dw.dim_cliente ALTER COLUMN nome TYPE VARCHAR(300)")
        con.execute("ALTER TABLE dw.fact_vendas DROP CONSTRAINT fk_fact_vendas_loja")
    problems = check(settings).problems
    assert "dw.dim_cliente.nome: type VARCHAR(300), DDL says VARCHAR(150)" in problems
    assert any(p.startswith("dw.dim_desconto: CHECK CK_DIM_DESCONTO_tipo") for p in problems)
    assert any(p.startswith("dw.dim_desconto: CHECK ck_dim_desconto_tipo") for p in problems)
    assert (
        "dw.fact_vendas: FK_fact_vendas_loja (FOREIGN KEY (sk_loja) REFERENCES "
        "dw.dim_loja(sk_loja)) missing"
    ) in problems
    assert len(problems) == 4
    assert dwetl("check", "--dw", pg_url, cwd=tmp_path).returncode == 1
