"""`dwetl contract` agrees with what `dwetl run` enforces: extracts written from the contract's
JSON (its columns in order, its example rows) load every entity; a NULL in a column the contract
calls required gets the row rejected for the rules it names, and a NULL elsewhere loads."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dwetl.entities.registry import MODULES, all_entities
from dwetl.source.contract.build import build_contract
from dwetl.source.contract.template import template_sql, write_template
from dwetl.warehouse.ddl import shipped_constraint_sets


@pytest.fixture(scope="module")
def contract_json(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from tests.dwetl.conftest import run_dwetl

    folder = tmp_path_factory.mktemp("contract")
    done = run_dwetl("contract", "--json", cwd=folder)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def literal(value: Any) -> str:
    """A value of the contract's JSON as a SQLite literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float | Decimal):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def select(rows: list[dict[str, Any]]) -> str:
    """The rows as one SELECT per row, UNION ALL (SQLite needs no FROM)."""
    return "\nUNION ALL\n".join(
        "SELECT " + ", ".join(f"{literal(v)} AS {k}" for k, v in row.items()) for row in rows
    )


def setup(tmp_path: Path, dwetl: Any) -> dict[str, str]:
    source = tmp_path / "source.sqlite"
    sqlite3.connect(source).close()  # the extracts read no table
    env = {
        "DWETL_SOURCE_URL": f"sqlite:///{source}",
        "DWETL_DW_URL": f"duckdb:///{tmp_path / 'dw.duckdb'}",
    }
    done = dwetl("init", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return env


def test_the_json_lists_every_entity_its_files_and_columns_in_order(contract_json):
    assert contract_json["ddl"] == "shipped"  # no warehouse where it ran: said so
    assert "cannot be read" in contract_json["ddl_note"]
    entities = {e["entity"]: e for e in contract_json["entities"]}
    assert list(entities) == [s.name for s in all_entities()]
    for spec in all_entities():
        entity = entities[spec.name]
        files: list[tuple[str | None, list[str]]] = [
            (p.sql, list(p.schema)) for p in spec.extract_parts
        ] or [(spec.extract_sql, list(MODULES[spec.name].SOURCE_SCHEMA))]
        assert [(f["file"], [c["name"] for c in f["columns"]]) for f in entity["files"]] == files
        assert entity["depends_on"] == list(spec.depends_on)
    dims = entities["dim_loja"]
    assert set(dims["needed_by"]) == {"fact_vendas", "fact_descontos", "fact_metas"}
    columns = {c["name"]: c for c in dims["files"][0]["columns"]}
    assert columns["id_loja_origem"]["natural_key"] and columns["id_loja_origem"]["sql_type"] == (
        "BIGINT"
    )
    assert columns["uf"]["sql_type"] == "CHAR(2)"
    assert columns["uf"]["required_by"] == ["CK_DIM_LOJA_obrigatorio"]
    assert "Nordeste" in columns["regiao"]["allowed"]
    assert columns["atualizado_em"]["watermark"] and columns["atualizado_em"]["nullable"]
    produto = {c["name"]: c for c in entities["dim_produto"]["files"][0]["columns"]}
    assert produto["preco_lista"]["sql_type"] == "DECIMAL(12,2)"
    assert any("preco_lista >= 0" in r for r in produto["preco_lista"]["rules"])
    assert "rollout disable" in contract_json["leave_out"]


def test_extracts_from_the_contract_load_and_its_required_columns_are_what_run_rejects(
    contract_json, tmp_path, dwetl
):
    """Per entity: the example row, and per column one more row with that column NULL (its
    own key). The run loads the example rows; it rejects exactly the rows whose NULL column the
    contract calls required, for the rules the contract names."""
    folder = tmp_path / "extract"
    folder.mkdir()
    expected: dict[str, dict[int, list[str]]] = {}  # entity -> key -> required_by
    for entity in contract_json["entities"]:
        files = entity["files"]
        if entity["kind"] == "calendar":
            (file,) = files
            (folder / file["file"]).write_text(select([file["example"]]))
            continue
        key = entity["natural_key"][0]
        rows: list[list[dict[str, Any]]] = [[dict(f["example"])] for f in files]
        wanted: dict[int, list[str]] = {}
        for at, file in enumerate(files):
            join = file["joins_on"]
            for n, column in enumerate(file["columns"]):
                new_key = 1000 + 100 * at + n
                first = dict(files[0]["example"], **{key: new_key})
                if entity["entity"] == "fact_metas":
                    first["mes"] = 2 + n  # the grain (ano, mes, store, seller) is unique
                if at == 0:
                    first[column["name"]] = None
                else:  # a row of this part of its own, joined by a first-part row
                    row = dict(file["example"], **{join: new_key, column["name"]: None})
                    rows[at].append(row)
                    first[join] = new_key
                rows[0].append(first)
                if column["name"] == key:
                    continue  # a NULL key has no key to find it by: counted below
                wanted[new_key] = column["required_by"]
        for file, part in zip(files, rows, strict=True):
            (folder / file["file"]).write_text(select(part))
        expected[entity["entity"]] = wanted
    env = setup(tmp_path, dwetl)
    done = dwetl("run", "--json", "--max-reject-ratio", "1", "--sql-dir", str(folder),
                 cwd=tmp_path, env=env)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = {e["entity"]: e for e in json.loads(done.stdout)["entities"]}
    import duckdb

    con = duckdb.connect(env["DWETL_DW_URL"].removeprefix("duckdb:///"), read_only=True)
    rejects = con.sql("SELECT entity, source_key, reasons FROM ctl.etl_reject").fetchall()
    con.close()
    found: dict[str, dict[int, list[str]]] = {}
    for entity, source_key, reasons in rejects:
        if source_key is not None:
            found.setdefault(entity, {})[int(source_key)] = json.loads(reasons)
    for entity, wanted in expected.items():
        assert summary[entity]["status"] == "success", summary[entity]
        required = {k: set(r) for k, r in wanted.items() if r}
        got = {k: set(r) for k, r in found.get(entity, {}).items()}
        assert set(got) == set(required), entity
        for k, reasons in required.items():
            assert reasons <= got[k], (entity, k)
        # the NULL natural key is one reject more (no key to find it by); all else loaded
        assert summary[entity]["rejected"] == len(required) + 1, entity


def test_template_writes_every_file_and_keeps_existing_ones(tmp_path):
    built = build_contract(shipped_constraint_sets(), names=["dim_loja", "fact_vendas"])
    kept = tmp_path / "dim_loja.sql"
    kept.write_text("SELECT 1 -- mine\n")
    written, skipped = write_template(built, tmp_path)
    assert skipped == [kept] and kept.read_text() == "SELECT 1 -- mine\n"
    assert sorted(p.name for p in written) == ["fact_vendas.itens.sql", "fact_vendas.vendas.sql"]
    text = (tmp_path / "fact_vendas.vendas.sql").read_text()
    assert "    NULL AS canal" in text and "VARCHAR(20)" in text and "'E-commerce'" in text
    assert "FROM your_table" in text
    loja = template_sql(built.entity("dim_loja"), built.entity("dim_loja").files[0])
    assert "required by CK_DIM_LOJA_obrigatorio" in loja


def test_a_template_folder_that_cannot_be_written_is_one_line_naming_it(tmp_path, dwetl):
    (tmp_path / "notes.txt").write_text("a file where the folder should go")
    result = dwetl("contract", "--template", "notes.txt/extracts", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "error: --template notes.txt/extracts: cannot write the templates there "
        "(notes.txt/extracts: a part of it is a file, not a folder); name a folder that can be "
        "created or written\n"
    )


def test_filled_template_loads(tmp_path, dwetl):
    """The template with each NULL replaced by the example value (and no FROM) loads."""
    built = build_contract(shipped_constraint_sets())
    folder = tmp_path / "extract"
    written, _ = write_template(built, folder)
    for entity in built.entities:
        for file in entity.files:
            path = folder / file.file
            text = path.read_text()
            for column in file.columns:
                value = column.example
                if isinstance(value, datetime | date):
                    value = value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)
                text = re.sub(
                    rf"NULL AS {column.name}\b", f"{literal(value)} AS {column.name}", text
                )
            path.write_text(text.replace("FROM your_table", ""))
    env = setup(tmp_path, dwetl)
    done = dwetl("run", "--json", "--sql-dir", str(folder), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert {e["status"] for e in summary["entities"]} == {"success"}
    assert summary["quarantined"] == 0
    assert len(written) == 12
