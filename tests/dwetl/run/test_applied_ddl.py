"""Rows are validated against the DDL `init` applied to the warehouse (`--ddl-dir`), as
`ctl.schema_version` records it, not against the shipped DDL (issue 21, item 10)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from dwetl.core.paths import ddl_root
from dwetl.ops.init import run_init
from dwetl.warehouse import open_warehouse
from dwetl.warehouse.ddl import applied_constraint_sets, shipped_constraint_sets

SHIPPED_TIPOS = "'Programa de Fidelidade', 'Atacado')"
WITH_BRINDE = "'Programa de Fidelidade', 'Atacado', 'Brinde')"


def ddl_with_brinde(folder: Path, *, keep_texts: bool = True) -> Path:
    """A copy of the shipped DDL whose CK_DIM_DESCONTO_tipo also allows 'Brinde'."""
    shutil.copytree(ddl_root(), folder)
    script = folder / "003_dimensions.sql"
    text = script.read_text(encoding="utf-8")
    assert text.count(SHIPPED_TIPOS) == 1
    script.write_text(text.replace(SHIPPED_TIPOS, WITH_BRINDE), encoding="utf-8")
    if not keep_texts:
        (folder / "006_schema_text.sql").unlink()
    return folder


def _brinde(etl, value: str = "Brinde") -> int:
    etl.sample(300, 4, 0.0)
    (desconto,), *_ = etl.src("SELECT MIN(id) FROM descontos")
    etl.src("UPDATE descontos SET tipo_desconto = ? WHERE id = ?", [value, desconto])
    return int(desconto)


@pytest.mark.pairs("sqlite-duckdb", "postgresql-postgresql")
def test_a_run_validates_against_the_ddl_init_applied(etl, tmp_path):
    # damaged as the ERP damages categories: repaired to the applied CHECK's value, then valid
    desconto = _brinde(etl, " BRINDE ")
    ddl = ddl_with_brinde(tmp_path / "ddl")
    report = run_init(dataclasses.replace(etl.settings, ddl_dir=ddl))
    assert report.ok, report.as_dict()
    shutil.rmtree(ddl)  # the warehouse keeps what was applied: the folder is not needed

    summary = etl.run("dim_desconto")

    (result,) = summary.entities
    assert (result.status, result.rejected, result.error) == ("success", 0, None)
    assert etl.dw(
        "SELECT tipo_desconto FROM dw.dim_desconto WHERE id_desconto_origem = %s", [desconto]
    ) == [("Brinde",)]


def test_the_shipped_ddl_rejects_what_the_custom_one_allows(etl):
    desconto = _brinde(etl)
    etl.init()

    (result,) = etl.run("dim_desconto").entities

    assert (result.status, result.rejected) == ("success", 1)
    assert result.reject_reasons == {"CK_DIM_DESCONTO_tipo": 1}
    assert etl.dw(
        "SELECT COUNT(*) FROM dw.dim_desconto WHERE id_desconto_origem = %s", [desconto]
    ) == [(0,)]


def test_the_applied_texts_are_kept_and_parsed_once_per_checksums(etl, tmp_path):
    ddl = ddl_with_brinde(tmp_path / "ddl")
    settings = dataclasses.replace(etl.settings, ddl_dir=ddl)
    run_init(settings)
    with open_warehouse(settings.dw, settings) as wh:
        kept = dict(wh.fetchall("SELECT script, script_text FROM ctl.schema_script"))
        first = applied_constraint_sets(wh)
        assert applied_constraint_sets(wh) is first  # the same checksums: parsed once
    assert kept["003_dimensions.sql"] == (ddl / "003_dimensions.sql").read_text(encoding="utf-8")
    assert first != shipped_constraint_sets()
    assert "'Brinde'" in str(first["dw.dim_desconto"].checks)


def test_a_folder_without_the_texts_table_is_read_from_its_files_or_named(
    etl, tmp_path, dwetl_process
):
    # A DDL folder from before sql/ddl/006_schema_text.sql: the warehouse keeps no text, so the
    # run reads the scripts of the same checksum from the DDL folder; with the folder gone, it
    # says which script it cannot find instead of validating against the shipped DDL.
    desconto = _brinde(etl)
    ddl = ddl_with_brinde(tmp_path / "ddl", keep_texts=False)
    settings = dataclasses.replace(etl.settings, ddl_dir=ddl)
    assert run_init(settings).ok
    from dwetl.run.runner import run

    (result,) = run(settings, ["dim_desconto"]).entities
    assert (result.status, result.rejected) == ("success", 0)
    assert etl.dw(
        "SELECT COUNT(*) FROM dw.dim_desconto WHERE id_desconto_origem = %s", [desconto]
    ) == [(1,)]

    shutil.rmtree(ddl)  # a new process (this one has the scripts parsed, by their checksums)
    done = dwetl_process("run", "--entity", "dim_desconto", "--json", cwd=etl.folder, env=etl.env)
    (result,) = json.loads(done.stdout)["entities"]
    assert result["status"] == "failed" and done.returncode != 0
    assert "003_dimensions.sql" in result["error"] and "dwetl init --ddl-dir" in result["error"]
