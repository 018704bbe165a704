"""Foreign keys on a DuckDB warehouse are enforced by dwetl, not by DuckDB: `init` leaves them
out of the catalog, validation still quarantines an orphan, `check` does not ask for them, and a
warehouse created earlier with them (the DDL as it was transpiled then) keeps working.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot

from dwetl.core.config import Settings, load_settings
from dwetl.core.errors import DwetlError
from dwetl.core.paths import ddl_root
from dwetl.ops.check import FOREIGN_KEYS_BY_DWETL, check_warehouse
from dwetl.ops.init import run_init
from dwetl.warehouse import open_warehouse
from dwetl.warehouse.ddl import (
    Script,
    apply_pending,
    apply_script,
    list_scripts,
    shipped_constraint_sets,
)
from dwetl.warehouse.duckdb import CATALOG, DuckDBWarehouse
from dwetl.warehouse.duckdb_ddl import is_partial_index, without_foreign_keys

#: the query docs/architecture.md gives for orphan rows a writer other than dwetl may leave
ORPHANS = re.search(
    r"<!-- query:orphans -->\s*```sql\n(.*?)```",
    (Path(__file__).parents[3] / "docs" / "architecture.md").read_text(encoding="utf-8"),
    re.DOTALL,
)

#: the DDL's foreign keys as (table, column, referenced table): 13 in dw, 2 in ctl (DuckDB
#: keeps no constraint names)
DDL_FKS = {
    (table, fk.columns[0], fk.ref_table.split(".")[1])
    for table, cs in shipped_constraint_sets().items()
    for fk in cs.foreign_keys
}


class WarehouseWithForeignKeys(DuckDBWarehouse):
    """DuckDB as dwetl set it up before it left the foreign keys out: the DDL transpiled whole."""

    enforces_foreign_keys = True

    def transpile(self, sql: str) -> list[str]:
        """PostgreSQL-dialect SQL as DuckDB statements, foreign keys and all (a partial index,
        which no DuckDB can build, left out as today)."""
        trees = [t for t in sqlglot.parse(sql, read="postgres") if t and not is_partial_index(t)]
        return [s for s in (t.sql(dialect="duckdb") for t in trees) if s.strip()]


def create_with_foreign_keys(settings: Settings) -> None:
    """Apply the shipped DDL, foreign keys included, and record it in ctl.schema_version with
    the shipped checksums: a warehouse `dwetl init` made before this change."""
    with WarehouseWithForeignKeys.connect(settings.dw) as wh:
        results = apply_pending(wh, list_scripts(ddl_root()))
    assert {r.status for r in results} == {"applied"}


def live_fks(settings: Settings) -> set[tuple[str, str, str]]:
    with open_warehouse(settings.dw, settings) as wh:
        rows = wh.fetchall(
            "SELECT schema_name || '.' || table_name, constraint_column_names[1], "
            "referenced_table FROM duckdb_constraints() "
            "WHERE database_name = %s AND constraint_type = 'FOREIGN KEY'",
            [CATALOG],
        )
    return set(rows)


def check(settings: Settings) -> Any:
    with open_warehouse(settings.dw, settings) as wh:
        return check_warehouse(wh, settings)


def entity(summary: Any, name: str) -> Any:
    return next(e for e in summary.entities if e.entity == name)


def test_every_form_of_foreign_key_is_left_out_and_the_rest_kept() -> None:
    sql = (
        "CREATE TABLE IF NOT EXISTS f (a INT NOT NULL REFERENCES d (a), "
        "b INT CONSTRAINT fk_b REFERENCES d (b) ON DELETE CASCADE, c INT UNIQUE, "
        "CONSTRAINT PK_f PRIMARY KEY (a), CONSTRAINT FK_c FOREIGN KEY (c) REFERENCES d (c), "
        "FOREIGN KEY (b) REFERENCES d (b), CONSTRAINT CK_f CHECK (a > 0))"
    )
    tree = without_foreign_keys(sqlglot.parse_one(sql, read="postgres"))
    assert tree.sql("duckdb") == (
        "CREATE TABLE IF NOT EXISTS f (a INT NOT NULL, b INT, c INT UNIQUE, "
        "CONSTRAINT PK_f PRIMARY KEY (a), CONSTRAINT CK_f CHECK (a > 0))"
    )
    # and DuckDB takes the statement and an orphan row, while the other constraints hold
    con = duckdb.connect()
    for statement in DuckDBWarehouse.transpile(None, sql):  # type: ignore[arg-type]
        con.execute(statement)
    con.execute("INSERT INTO f VALUES (1, 2, 3)")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO f VALUES (1, 2, 4)")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO f VALUES (-5, 2, 5)")


def test_other_statements_pass_unchanged() -> None:
    sql = (
        "CREATE TABLE stg.x AS SELECT * FROM dw.fact_vendas WHERE FALSE; "
        "ALTER TABLE dw.t ADD COLUMN y INT; SELECT 1 FROM dw.dim_data"
    )
    expected = [s for s in sqlglot.transpile(sql, read="postgres", write="duckdb") if s.strip()]
    assert DuckDBWarehouse.transpile(None, sql) == expected  # type: ignore[arg-type]


def test_a_partial_index_is_left_out_and_a_plain_one_kept() -> None:
    sql = "CREATE INDEX a ON dw.t (y) WHERE z IS NULL; CREATE INDEX b ON dw.t (y)"
    assert DuckDBWarehouse.transpile(None, sql) == [  # type: ignore[arg-type]
        "CREATE INDEX b ON dw.t(y)"
    ]


def test_a_reference_to_a_missing_table_or_column_still_fails_its_script(tmp_path: Path) -> None:
    settings = load_settings(dw=f"duckdb:///{tmp_path / 'dw.duckdb'}", cwd=tmp_path, env={})
    run_init(settings)

    def script(reference: str) -> Script:
        text = f"CREATE TABLE dw.extra (a BIGINT NOT NULL REFERENCES {reference});"
        return Script("005_extra.sql", tmp_path / "005_extra.sql", text, "-")

    with open_warehouse(settings.dw, settings) as wh:
        for wrong in ("dw.no_such_table (sk_loja)", "dw.dim_loja (no_such_column)"):
            with pytest.raises(DwetlError, match=r"005_extra\.sql failed at statement 1"):
                apply_script(wh, script(wrong))
            assert not wh.table_exists("dw.extra")
        assert apply_script(wh, script("dw.dim_loja (sk_loja)")).status == "applied"
        wh.execute("INSERT INTO dw.extra VALUES (424242)")  # created without the foreign key
    assert live_fks(settings) == set()


def test_a_fresh_warehouse_has_no_foreign_key_and_validation_quarantines_an_orphan(
    etl: Any,
) -> None:
    assert len(DDL_FKS) == 15
    etl.sample(1000, 1, 0.0)
    etl.init()
    assert live_fks(etl.settings) == set()
    report = check(etl.settings)
    assert report.ok, report.problems
    assert report.notes == [FOREIGN_KEYS_BY_DWETL.format(dialect="duckdb")]

    # A sale on a day the calendar lacks: DuckDB would take the row, dwetl must not.
    dims = etl.run("dim_data", "dim_cliente", "dim_produto", "dim_loja", "dim_vendedor")
    assert dims.status == "success", dims.to_dict()
    (day, items), *_ = etl.src(
        "SELECT date(v.data_venda), COUNT(*) FROM venda_itens i JOIN vendas v "
        "ON v.id = i.id_venda GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    )
    sk_data = int(day.replace("-", ""))
    etl.dw_execute("DELETE FROM dw.dim_data WHERE sk_data = %s", [sk_data])

    facts = etl.run("fact_vendas", max_reject_ratio=1.0)

    vendas = entity(facts, "fact_vendas")
    assert vendas.status == "success" and vendas.reject_reasons == {"FK_fact_vendas_data": items}
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas WHERE sk_data = %s", [sk_data]) == [(0,)]
    assert etl.dw(
        "SELECT COUNT(*) FROM ctl.etl_reject WHERE entity = 'fact_vendas' "
        "AND reasons LIKE '%%FK_fact_vendas_data%%'"
    ) == [(items,)]
    assert etl.dw(
        "SELECT COUNT(*) FROM dw.fact_vendas f "
        "WHERE NOT EXISTS (SELECT 1 FROM dw.dim_data d WHERE d.sk_data = f.sk_data)"
    ) == [(0,)]


def test_an_scd1_update_of_a_referenced_dimension_row_works(etl: Any) -> None:
    etl.sample(1000, 1, 0.0)
    etl.init()
    first = etl.run("all")
    assert first.status == "success", first.to_dict()
    (cliente, sk, count), *_ = etl.dw(
        "SELECT d.id_cliente_origem, d.sk_cliente, COUNT(*) FROM dw.fact_vendas f "
        "JOIN dw.dim_cliente d USING (sk_cliente) WHERE d.sk_cliente > 0 "
        "GROUP BY ALL ORDER BY 3 DESC, 1 LIMIT 1"
    )
    etl.src(
        "UPDATE clientes SET cidade = 'Recife', uf = 'PE', atualizado_em = ? WHERE id = ?",
        [etl.later("clientes"), cliente],
    )

    second = etl.run("dim_cliente")

    assert (entity(second, "dim_cliente").status, entity(second, "dim_cliente").updated) == (
        "success",
        1,
    )
    assert etl.dw(
        "SELECT sk_cliente, cidade, uf FROM dw.dim_cliente WHERE id_cliente_origem = %s", [cliente]
    ) == [(sk, "Recife", "PE")]
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas WHERE sk_cliente = %s", [sk]) == [(count,)]
    # An UPDATE that touches an indexed column, which DuckDB runs as DELETE + INSERT (with
    # the facts' foreign keys in place it is refused: the row "is still referenced").
    etl.dw_execute(
        "UPDATE dw.dim_cliente SET id_cliente_origem = id_cliente_origem, nome = 'Outro Nome' "
        "WHERE sk_cliente = %s",
        [sk],
    )
    assert etl.dw("SELECT nome FROM dw.dim_cliente WHERE sk_cliente = %s", [sk]) == [
        ("Outro Nome",)
    ]


def test_a_warehouse_created_with_foreign_keys_keeps_working(etl: Any, dwetl: Any) -> None:
    etl.sample(1000, 1, 0.02)
    create_with_foreign_keys(etl.settings)
    assert live_fks(etl.settings) == DDL_FKS

    etl.init()  # every script already applied: only the control tables are seeded

    with open_warehouse(etl.settings.dw, etl.settings) as wh:
        scripts = wh.fetchall("SELECT script, checksum FROM ctl.schema_version ORDER BY 1")
    assert scripts == [(s.name, s.checksum) for s in list_scripts(ddl_root())]
    assert live_fks(etl.settings) == DDL_FKS
    result = dwetl("check", "--dw", etl.dw_url, cwd=etl.folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert FOREIGN_KEYS_BY_DWETL.format(dialect="duckdb") in result.stdout

    first = etl.run("all")
    assert first.status == "success", first.to_dict()
    assert all(e.status == "success" for e in first.entities), first.to_dict()
    loaded = etl.dw("SELECT COUNT(*) FROM dw.fact_vendas")[0][0]
    assert loaded == entity(first, "fact_vendas").inserted > 0
    (changed,), *_ = etl.src("SELECT MIN(id) FROM produtos")
    etl.src(
        "UPDATE produtos SET marca = 'Marca Nova', atualizado_em = ? WHERE id = ?",
        [etl.later("produtos"), changed],
    )
    second = etl.run("all")
    assert entity(second, "dim_produto").updated == 1, second.to_dict()
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas") == [(loaded,)]
    assert check(etl.settings).ok


def test_duckdb_takes_an_orphan_written_by_others_and_the_documented_query_finds_it(
    etl: Any,
) -> None:
    assert ORPHANS is not None, "docs/architecture.md lost its <!-- query:orphans --> block"
    etl.sample(1000, 1, 0.0)
    etl.init()
    assert etl.run("all").status == "success"
    assert etl.dw(ORPHANS.group(1)) == []
    (item,), *_ = etl.dw("SELECT MIN(id_item_origem) FROM dw.fact_vendas")
    etl.dw_execute(
        "INSERT INTO dw.fact_vendas SELECT * REPLACE (id_item_origem + 10000000 AS "
        "id_item_origem, 999999 AS sk_cliente) FROM dw.fact_vendas WHERE id_item_origem = %s",
        [item],
    )
    assert etl.dw(ORPHANS.group(1)) == [(item + 10_000_000, 999_999)]
    assert check(etl.settings).ok  # the schema is right; the rows are the writer's business
