"""`dwetl check --source`: extract files that follow the contract pass (exit 0); breaking any one
column of any file -- renamed, a value of the wrong type, a value outside a CHECK's domain -- is
a line naming that file and column (exit 1). Real SQLite and PostgreSQL sources: a table per
extract file, with the contract's SQL types and its example row."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from dwetl.core.config import load_settings
from dwetl.ops.check_source import check_source
from dwetl.source.contract.build import build_contract
from dwetl.source.contract.model import Contract, FileContract, json_value
from dwetl.warehouse.ddl import shipped_constraint_sets


@pytest.fixture(scope="module")
def contract() -> Contract:
    return build_contract(shipped_constraint_sets(), ddl_note="the shipped DDL")


def files(contract: Contract) -> list[tuple[str, FileContract]]:
    return [(e.name, f) for e in contract.entities for f in e.files]


def table(file: FileContract) -> str:
    return "t_" + file.file.removesuffix(".sql").replace(".", "_")


def write_source(contract: Contract, path: Path) -> None:
    """A SQLite source: per extract file a table of its columns (the contract's SQL types)
    holding its example row."""
    con = sqlite3.connect(path)
    for _, file in files(contract):
        columns = ", ".join(f"{c.name} {c.sql_type}" for c in file.columns)
        con.execute(f"CREATE TABLE {table(file)} ({columns})")
        marks = ", ".join("?" for _ in file.columns)
        con.execute(
            f"INSERT INTO {table(file)} VALUES ({marks})",
            [json_value(c.example) for c in file.columns],
        )
    con.commit()
    con.close()


def write_extracts(
    contract: Contract, folder: Path, change: dict[tuple[str, str], str] | None = None
) -> None:
    """Per file `SELECT col AS col, ... FROM its table`; `change`: (file, column) -> the
    select item to write instead."""
    folder.mkdir(exist_ok=True)
    change = change or {}
    for _, file in files(contract):
        items = [change.get((file.file, c.name), f"{c.name} AS {c.name}") for c in file.columns]
        (folder / file.file).write_text(f"SELECT {', '.join(items)}\nFROM {table(file)}\n")


def checked(contract: Contract, tmp_path: Path, source: str, folder: Path) -> Any:
    settings = load_settings(
        source=source, dw=f"duckdb:///{tmp_path / 'none.duckdb'}", sql_dir=str(folder), env={}
    )
    return check_source(settings, contract, limit=10, inactive=[])


def reported(report: Any) -> set[tuple[str, str | None]]:
    return {(p.file, p.column) for p in report.problems}


def breakable(contract: Contract, kind: str) -> dict[tuple[str, str], str]:
    """Per file one column to break, and its broken select item: `rename` the alias, `type` a
    text no type but text holds, `domain` a value outside the column's CHECK domain."""
    out = {}
    for name, file in files(contract):
        entity = contract.entity(name)
        joins = {f.joins_on for f in entity.files} | set(entity.natural_key)
        for c in file.columns:
            if kind == "rename" and c.name not in joins:
                out[(file.file, c.name)] = f"{c.name} AS {c.name}_x"
            elif (
                kind == "type"
                and c.sql_type != "VARCHAR"
                and not c.sql_type.startswith(("VARCHAR", "CHAR"))
                and c.name not in joins
                and not c.watermark
            ):
                out[(file.file, c.name)] = f"'not a value' AS {c.name}"
            elif kind == "domain" and c.allowed:
                out[(file.file, c.name)] = f"'Atlantis' AS {c.name}"
            else:
                continue
            break
    return out


def write_pg_source(contract: Contract, url: str) -> None:
    """A PostgreSQL source like `write_source`'s: per extract file a table of its columns (the
    contract's SQL types) holding its example row."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        for _, file in files(contract):
            columns = ", ".join(f"{c.name} {c.sql_type}" for c in file.columns)
            con.execute(f"CREATE TABLE {table(file)} ({columns})")
            marks = ", ".join("%s" for _ in file.columns)
            con.execute(
                f"INSERT INTO {table(file)} VALUES ({marks})", [c.example for c in file.columns]
            )


@pytest.fixture
def sqlite_source(contract: Contract, tmp_path: Path) -> str:
    write_source(contract, tmp_path / "erp.sqlite")
    return f"sqlite:///{tmp_path / 'erp.sqlite'}"


def test_extracts_that_follow_the_contract_pass_through_the_cli(
    contract: Contract, sqlite_source: str, tmp_path: Path, dwetl: Any
) -> None:
    write_extracts(contract, tmp_path / "extract")
    env = {"DWETL_SOURCE_URL": sqlite_source, "DWETL_DW_URL": f"duckdb:///{tmp_path}/dw.duckdb"}
    done = dwetl("check", "--source", "--sql-dir", str(tmp_path / "extract"), "--json",
                 cwd=tmp_path, env=env)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["problems"] == []
    assert len(report["checked"]) == 12


@pytest.mark.parametrize("kind", ["rename", "type", "domain"])
def test_a_broken_column_of_any_file_is_named(
    contract: Contract, sqlite_source: str, tmp_path: Path, kind: str
) -> None:
    broken = breakable(contract, kind)
    assert len(broken) >= (12 if kind != "domain" else 5)
    write_extracts(contract, tmp_path / "extract", broken)
    report = checked(contract, tmp_path, sqlite_source, tmp_path / "extract")
    assert not report.ok
    found = reported(report)
    for file, column in broken:
        assert (file, column) in found, (kind, file, column, [p.line() for p in report.problems])
        if kind == "rename":
            assert (file, f"{column}_x") in found
    # nothing but the broken columns is reported
    named = {(f, c) for f, c in found}
    expected = set(broken) | {(f, f"{c}_x") for f, c in broken if kind == "rename"}
    assert named <= expected, sorted(named - expected)


def test_cli_exits_1_with_a_line_naming_file_and_column(
    contract: Contract, sqlite_source: str, tmp_path: Path, dwetl: Any
) -> None:
    write_extracts(
        contract, tmp_path / "extract", {("dim_loja.sql", "regiao"): "'Atlantis' AS regiao"}
    )
    (tmp_path / "extract" / "fact_metas.sql").unlink()
    env = {"DWETL_SOURCE_URL": sqlite_source, "DWETL_DW_URL": f"duckdb:///{tmp_path}/dw.duckdb"}
    done = dwetl("check", "--source", "--sql-dir", str(tmp_path / "extract"), cwd=tmp_path, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(
        line.startswith(
            "dim_loja.sql: column regiao: 1 of 1 sampled row(s) break CK_DIM_LOJA_regiao"
        )
        and "'Nordeste'" in line
        for line in lines
    ), lines
    assert any(
        line.startswith("fact_metas.sql: ") and "not found" in line and "rollout disable" in line
        for line in lines
    ), lines


def test_since_that_empties_a_full_run_is_reported(
    contract: Contract, sqlite_source: str, tmp_path: Path
) -> None:
    folder = tmp_path / "extract"
    write_extracts(contract, folder)
    path = folder / "dim_cliente.sql"
    path.write_text(path.read_text() + "WHERE atualizado_em > :since\n")
    path = folder / "dim_loja.sql"  # the right way
    path.write_text(path.read_text() + "WHERE :since IS NULL OR atualizado_em > :since\n")
    report = checked(contract, tmp_path, sqlite_source, folder)
    assert [(p.file, p.column) for p in report.problems] == [("dim_cliente.sql", None)]
    assert ":since IS NULL OR" in report.problems[0].message


def test_an_entity_switched_off_is_not_checked(
    contract: Contract, sqlite_source: str, tmp_path: Path
) -> None:
    folder = tmp_path / "extract"
    write_extracts(contract, folder)
    (folder / "fact_metas.sql").unlink()
    settings = load_settings(source=sqlite_source, sql_dir=str(folder), env={})
    report = check_source(settings, contract, limit=10, inactive=["fact_metas"])
    assert report.ok, [p.line() for p in report.problems]
    assert any("fact_metas: inactive" in n for n in report.notes)


def test_postgresql_source(contract: Contract, pg_database: str, tmp_path: Path) -> None:

    url = f"postgresql://postgres@localhost:5432/{pg_database}"
    write_pg_source(contract, url)
    folder = tmp_path / "extract"
    write_extracts(contract, folder)
    report = checked(contract, tmp_path, url, folder)
    assert report.ok, [p.line() for p in report.problems]
    broken = {
        ("dim_loja.sql", "regiao"): "'Atlantis' AS regiao",
        ("fact_vendas.itens.sql", "quantidade"): "'muitos' AS quantidade",
        ("dim_produto.sql", "marca"): "marca AS brand",
    }
    write_extracts(contract, folder, broken)
    report = checked(contract, tmp_path, url, folder)
    found = reported(report)
    assert set(broken) | {("dim_produto.sql", "brand")} == found, [
        p.line() for p in report.problems
    ]


def test_since_that_fails_says_why_and_gives_the_timestamp_hint_only_for_a_type_error(
    contract: Contract, pg_database: str, tmp_path: Path
) -> None:
    """A bound query that failed for want of a permission was told to 'compare it with a
    timestamp column'; only a comparison of another type gets that hint now."""
    import psycopg

    url = f"postgresql://postgres@localhost:5432/{pg_database}"
    write_pg_source(contract, url)
    folder = tmp_path / "extract"
    write_extracts(contract, folder)
    path = folder / "dim_cliente.sql"  # :since against an integer: a type error
    path.write_text(path.read_text() + "WHERE :since IS NULL OR id_cliente_origem > :since\n")
    path = folder / "dim_loja.sql"  # the incremental branch reads a table the login may not
    path.write_text(
        path.read_text() + "WHERE :since IS NULL OR atualizado_em > :since "
        "OR id_loja_origem IN (SELECT 1 FROM segredo)\n"
    )
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("CREATE TABLE segredo (x INT)")
        con.execute("DROP ROLE IF EXISTS dwetl_since_reader")
        con.execute("CREATE ROLE dwetl_since_reader LOGIN")
        con.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO dwetl_since_reader")
        con.execute("REVOKE SELECT ON segredo FROM dwetl_since_reader")
    try:
        reader = f"postgresql://dwetl_since_reader@localhost:5432/{pg_database}"
        report = checked(contract, tmp_path, reader, folder)
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute("DROP OWNED BY dwetl_since_reader")
            con.execute("DROP ROLE dwetl_since_reader")

    messages = {p.file: p.message for p in report.problems}
    assert set(messages) == {"dim_cliente.sql", "dim_loja.sql"}, [p.line() for p in report.problems]
    assert "invalid input syntax for type bigint" in messages["dim_cliente.sql"]
    assert "compare it with a timestamp column" in messages["dim_cliente.sql"]
    assert "permission denied for table segredo" in messages["dim_loja.sql"]
    assert "timestamp column" not in messages["dim_loja.sql"]


def test_a_column_returned_twice_is_named_not_a_traceback(
    contract: Contract, pg_database: str, tmp_path: Path
) -> None:
    """Two select items with one alias: PostgreSQL keeps both names, and Polars refused the
    frame (`DuplicateError`), ending check --source in a traceback."""
    url = f"postgresql://postgres@localhost:5432/{pg_database}"
    write_pg_source(contract, url)
    folder = tmp_path / "extract"
    write_extracts(contract, folder, {("dim_loja.sql", "cidade"): "nome AS cidade, cidade AS nome"})
    report = checked(contract, tmp_path, url, folder)
    assert ("dim_loja.sql", "nome") in reported(report), [p.line() for p in report.problems]
    (line,) = [p.message for p in report.problems if p.column == "nome"]
    assert line == "returned more than once: give each its own alias"


@pytest.mark.parametrize("zone", ["America/Sao_Paulo", "<-03>+03"])
def test_zoned_stamps_are_read_in_the_session_zone_or_named(
    contract: Contract, pg_database: str, tmp_path: Path, zone: str
) -> None:
    # A `timestamp with time zone` is read as the wall time of the session's zone, where the
    # source compares the incremental bound: a note. A zone dwetl cannot convert to (a POSIX
    # string) leaves it read as UTC, 3 h off the bound here: a problem, with the fix.
    import psycopg

    url = f"postgresql://postgres@localhost:5432/{pg_database}"
    write_pg_source(contract, url)
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("ALTER TABLE t_dim_loja ALTER COLUMN atualizado_em TYPE timestamptz")
        con.execute("ALTER TABLE t_fact_vendas_vendas ALTER COLUMN data_venda TYPE timestamptz")
        con.execute(f"ALTER DATABASE {pg_database} SET timezone = '{zone}'")
    folder = tmp_path / "extract"
    write_extracts(contract, folder)

    report = checked(contract, tmp_path, url, folder)

    if zone == "America/Sao_Paulo":
        assert report.ok, [p.line() for p in report.problems]
        zoned = sorted(n for n in report.notes if "timestamp with time zone" in n)
        assert zoned == [
            f"dim_loja.sql: atualizado_em: timestamp with time zone, read as the wall time of "
            f"the source session's zone, {zone}, where the source reads its clock and compares "
            "the incremental bound",
            f"fact_vendas.vendas.sql: data_venda: timestamp with time zone, read as the wall "
            f"time of the source session's zone, {zone}, where the source reads its clock and "
            "compares the incremental bound",
        ]
    else:
        # the sale time is no watermark: nothing to miss, so no problem
        assert reported(report) == {("dim_loja.sql", "atualizado_em")}
        (line,) = [p.line() for p in report.problems]
        assert f"TimeZone {zone!r} names no zone" in line
        assert "ALTER ROLE postgres SET timezone = 'UTC'" in line

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"ALTER DATABASE {pg_database} SET timezone = 'UTC'")
    on_utc = checked(contract, tmp_path, url, folder)
    assert on_utc.ok, [p.line() for p in on_utc.problems]
    assert not [n for n in on_utc.notes if "timestamp with time zone" in n]


def test_an_empty_extract_leaves_an_entity_out_and_fits(
    contract: Contract, sqlite_source: str, tmp_path: Path, dwetl: Any
) -> None:
    """fact_vendas as one empty file (the joined columns, no rows) instead of its parts: it
    fits the contract, and the run loads every entity, fact_vendas with nothing."""
    folder = tmp_path / "extract"
    write_extracts(contract, folder)
    entity = contract.entity("fact_vendas")
    assert entity.single_file is not None
    for file in entity.files:
        (folder / file.file).unlink()
    items = ", ".join(f"CAST(NULL AS {c.sql_type}) AS {c.name}" for c in entity.single_file.columns)
    (folder / "fact_vendas.sql").write_text(f"SELECT {items} WHERE 1 = 0\n")
    report = checked(contract, tmp_path, sqlite_source, folder)
    assert report.ok, [p.line() for p in report.problems]
    assert "fact_vendas.sql: returned no rows; no value was checked" in report.notes
    env = {"DWETL_SOURCE_URL": sqlite_source, "DWETL_DW_URL": f"duckdb:///{tmp_path}/dw.duckdb"}
    assert dwetl("init", cwd=tmp_path, env=env).returncode == 0
    done = dwetl("run", "--json", "--sql-dir", str(folder), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = {e["entity"]: e for e in json.loads(done.stdout)["entities"]}
    assert loaded["fact_vendas"]["status"] == "success"
    assert loaded["fact_vendas"]["extracted"] == 0
    assert loaded["fact_metas"]["inserted"] == 1
