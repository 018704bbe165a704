"""Generated from the shipped constraint sets: every rule, one row that breaks exactly it."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
import sqlglot
from ddl_rows import SHIPPED, apply_ddl, base_row, frame, try_insert
from sqlglot import exp

from transforms.check_sql import UnsupportedCheck, canonical_check
from transforms.constraints import ConstraintSet, constraint_sets_from_ddl
from transforms.validate import Rule, rules, split

TABLES = sorted(SHIPPED)


@pytest.fixture(scope="module")
def dw(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path_factory.mktemp("dw") / "warehouse.duckdb"))
    apply_ddl(con)
    return con


def references(cs: ConstraintSet) -> dict[str, pl.Series]:
    return {fk.ref_table: pl.Series([1, -1]) for fk in cs.foreign_keys}


def reasons_of(cs: ConstraintSet, rows: list[dict[str, Any]]) -> list[list[str]]:
    valid, rejected = split(frame(cs, rows), cs, references=references(cs), reasons_column="_why")
    assert valid.height + rejected.height == len(rows)
    return rejected["_why"].to_list()


def all_rules() -> list[tuple[str, Rule]]:
    # A natural frame (Int64, Date, ...) can overflow SMALLINT, INTEGER and DECIMAL only; the
    # other TYPE rules are exercised with text input below.
    return [
        (t, r)
        for t in TABLES
        for r in rules(SHIPPED[t])
        if r.kind != "TYPE" or SHIPPED[t].column(r.columns[0]).type in OVERFLOWABLE
    ]


OVERFLOWABLE = {"SMALLINT", "INTEGER", "DECIMAL"}


def _candidates(cs: ConstraintSet, column: str) -> list[Any]:
    """Values near every boundary a CHECK on the column could draw (NULL first)."""
    col = cs.column(column)
    literals: list[int] = []
    for check in cs.checks:
        for node in sqlglot.parse_one(check.expression_sql, read="postgres").walk():
            if (
                isinstance(node, exp.Literal)
                and not node.is_string
                and column in _cols(check.expression_sql)
            ):
                literals.append(int(node.this))
    near = sorted({v + d for v in literals for d in (-1, 1)} | {-1, 0, 2})
    if col.type in ("SMALLINT", "INTEGER", "BIGINT"):
        return [None, *near]
    if col.type == "DECIMAL":
        return [None, *(Decimal(n) for n in near)]
    if col.type == "DATE":
        return [None, dt.date(2000, 1, 1), dt.date(2030, 1, 1)]
    if col.type == "BOOLEAN":
        return [None, True]
    return [None, "x", "Item"]


def _related(cs: ConstraintSet, columns: tuple[str, ...]) -> list[str]:
    """The columns tied to `columns` through CHECKs (transitively), in table order."""
    group = set(columns)
    changed = True
    while changed:
        changed = False
        for check in cs.checks:
            cols = _cols(check.expression_sql)
            if cols & group and not cols <= group:
                group |= cols
                changed = True
    return [c.name for c in cs.columns if c.name in group]


def breaking_check_rows(cs: ConstraintSet, rule: Rule) -> tuple[list[dict[str, Any]], bool]:
    """A row breaking the CHECK and as little else as possible; True when it breaks only it."""
    base = base_row(cs)
    related = _related(cs, rule.columns)
    keys = [k.name for k in [cs.primary_key, *cs.uniques] if k]
    best: tuple[int, dict[str, Any]] | None = None
    for width in (1, 2, 3):
        rows = [
            {**base, **dict(zip(cols, values, strict=True))}
            for cols in itertools.combinations(related, width)
            if set(cols) & set(rule.columns)
            for values in itertools.product(*(_candidates(cs, c) for c in cols))
        ]
        if not rows:
            continue
        df = frame(cs, rows).with_row_index("_i")
        _, rejected = split(df, cs, references=references(cs), reasons_column="_why")
        # Candidates share the base row's keys: in-batch key reasons are artefacts here.
        why = pl.col("_why").list.eval(pl.element().filter(~pl.element().is_in(keys)))
        hits = (
            rejected.with_columns(why)
            .filter(pl.col("_why").list.contains(rule.name))
            .with_columns(pl.col("_why").list.len().alias("_n"))
            .filter(pl.col("_why").list.eval(pl.element().str.starts_with("CK_")).list.all())
        )
        if hits.height:
            top = hits.sort("_n", "_i").row(0, named=True)
            if best is None or top["_n"] < best[0]:
                best = (top["_n"], rows[top["_i"]])
            if best[0] == 1:
                return [best[1]], True
    assert best is not None, f"no generated row breaks {rule.name}: add an override"
    return [best[1]], False


def breaking_rows(cs: ConstraintSet, rule: Rule) -> list[dict[str, Any]] | None:
    """Rows breaking exactly `rule` (None when the frame's dtype cannot break it)."""
    base = base_row(cs)
    if rule.kind == "NN":
        return [{**base, rule.columns[0]: None}]
    if rule.kind == "TYPE":
        col = cs.column(rule.columns[0])
        if col.type == "DECIMAL":
            return [{**base, col.name: Decimal(10) ** ((col.precision or 0) - (col.scale or 0))}]
        limit = {"SMALLINT": 2**15, "INTEGER": 2**31}.get(col.type)
        return [{**base, col.name: limit}] if limit else None
    if rule.kind == "LEN":
        col = cs.column(rule.columns[0])
        return [{**base, col.name: "ç" * ((col.length or 0) + 1)}]
    if rule.kind in ("PK", "UQ"):
        twin = dict(base)
        tied = {c for fk in cs.foreign_keys for c in fk.columns}
        tied |= {c for ck in cs.checks for c in _cols(ck.expression_sql)}
        for key in [k for k in [cs.primary_key, *cs.uniques] if k and k.name != rule.name]:
            fk_cols = {c for fk in cs.foreign_keys for c in fk.columns}
            c = next(
                (c for c in key.columns if c not in tied),
                next((c for c in key.columns if c not in fk_cols), key.columns[-1]),
            )
            value = base[c]
            twin[c] = (
                value + 1
                if isinstance(value, int)
                else value + dt.timedelta(1)
                if isinstance(value, dt.date)
                else f"{value}2"
            )
        return [base, twin]
    if rule.kind == "FK":
        return [{**base, rule.columns[0]: 999}]
    return None


def test_every_table_has_a_valid_base_row_the_database_accepts(
    dw: duckdb.DuckDBPyConnection,
) -> None:
    for table in TABLES:
        cs = SHIPPED[table]
        rows = [base_row(cs)]
        assert reasons_of(cs, rows) == [], table
        assert try_insert(dw, cs, frame(cs, rows)) is None, table


@pytest.mark.parametrize(("table", "rule"), all_rules(), ids=lambda v: getattr(v, "name", v))
def test_a_row_breaking_one_rule_is_rejected_with_exactly_its_name(
    dw: duckdb.DuckDBPyConnection, table: str, rule: Rule
) -> None:
    cs = SHIPPED[table]
    exact = True
    rows: list[dict[str, Any]] | None
    if rule.kind == "CK":
        rows, exact = breaking_check_rows(cs, rule)
    else:
        rows = breaking_rows(cs, rule)
    assert rows is not None, rule
    got = reasons_of(cs, rows)
    if rule.kind == "LEN":
        # A longer string may also leave a CHECK's allowed set on the same column.
        assert all(r[0] == rule.name for r in got) and len(got) == len(rows)
        extra = {n for r in got for n in r[1:]}
        same_column = {c.name for c in cs.checks if rule.columns[0] in _cols(c.expression_sql)}
        assert extra <= same_column
        return  # DuckDB does not enforce VARCHAR(n); PostgreSQL does (tested there).
    if exact:
        assert got == [[rule.name]] * len(rows)
    else:
        # The other CHECKs imply this one (CK_FACT_VENDAS_preco follows from bruto, desconto
        # and liquido): no row breaks it alone, so it must come with the fewest others.
        assert all(rule.name in r for r in got)
    error = try_insert(dw, cs, frame(cs, rows))
    assert error is not None, f"DuckDB accepted a row split rejects for {rule.name}"
    if rule.kind == "CK":
        match = re.search(r"with expression CHECK\((.*)\)", error, re.S)
        assert match, error
        check = next(c for c in cs.checks if c.name == rule.name)
        assert canonical_check(match.group(1), "duckdb") == canonical_check(check.expression_sql)


def _cols(sql: str) -> set[str]:
    return {c.name for c in sqlglot.parse_one(sql, read="postgres").find_all(exp.Column)}


def test_every_copy_of_a_duplicated_unique_key_is_rejected_and_others_pass() -> None:
    cs = SHIPPED["dw.dim_cliente"]
    base = base_row(cs)
    rows = [base, {**base, "sk_cliente": 2}, {**base, "sk_cliente": 3, "id_cliente_origem": 3}]
    valid, rejected = split(frame(cs, rows), cs)
    assert valid["sk_cliente"].to_list() == [3]
    assert rejected["reasons"].to_list() == [["UQ_dim_cliente_origem"]] * 2


def test_nulls_never_collide_in_a_unique_key() -> None:
    cs = SHIPPED["dw.dim_data"]
    base = {**base_row(cs), "data": None, "ano": None, "mes": None, "dia": None}
    rows = [{**base, "sk_data": -1}, {**base, "sk_data": -2, "data": None}]
    rows[1]["sk_data"] = -1  # same PK: only the PK is reported, never the NULL unique
    _, rejected = split(frame(cs, rows), cs)
    assert rejected["reasons"].to_list() == [["PK_dim_data"], ["PK_dim_data"]]


def test_a_merge_key_that_is_no_constraint_rejects_every_duplicate() -> None:
    cs = SHIPPED["dw.fact_descontos"]
    base = base_row(cs)
    rows = [base, {**base, "id_venda_desconto_origem": 2}]
    _, rejected = split(frame(cs, rows), cs, key=["id_venda_origem"])
    assert rejected["reasons"].to_list() == [["KEY_fact_descontos"]] * 2


def test_a_unique_tuple_held_in_the_target_by_another_key_is_rejected_with_its_name() -> None:
    cs = SHIPPED["dw.fact_metas"]
    base = {**base_row(cs), "ano": 2024, "mes": 3, "sk_loja": 7, "sk_vendedor": 9}
    rows = [
        {**base, "id_meta_origem": 1},  # updates its own tuple: fine
        {**base, "id_meta_origem": 2, "sk_vendedor": 5},  # takes the tuple key 3 holds
        {**base, "id_meta_origem": 4, "sk_vendedor": -1},  # a tuple nobody holds
        {**base, "id_meta_origem": 6, "sk_vendedor": None},  # NULLs never collide
    ]
    existing = pl.DataFrame(
        {
            "id_meta_origem": [1, 3, 8],
            "ano": [2024, 2024, 2024],
            "mes": [3, 3, 3],
            "sk_loja": [7, 7, 7],
            "sk_vendedor": [9, 5, None],
        }
    )
    valid, rejected = split(frame(cs, rows), cs, key=["id_meta_origem"], existing=existing)
    assert valid["id_meta_origem"].to_list() == [1, 4]
    assert rejected["id_meta_origem"].to_list() == [2, 6]
    assert rejected["reasons"].to_list() == [["UQ_fact_metas_grao"], ["NN_fact_metas_sk_vendedor"]]


def test_a_tuple_freed_in_the_same_batch_is_still_held_until_it_is_loaded() -> None:
    # The database checks the UNIQUE row by row inside the MERGE: row 2 may not take the tuple
    # row 1 leaves in this very batch (it loads on the next run instead).
    cs = SHIPPED["dw.fact_metas"]
    base = {**base_row(cs), "ano": 2024, "mes": 3, "sk_loja": 7}
    rows = [
        {**base, "id_meta_origem": 1, "sk_vendedor": 4},
        {**base, "id_meta_origem": 2, "sk_vendedor": 9},
    ]
    existing = pl.DataFrame(
        {"id_meta_origem": [1], "ano": [2024], "mes": [3], "sk_loja": [7], "sk_vendedor": [9]},
        schema_overrides={"ano": pl.Int16, "mes": pl.Int16},
    )
    valid, rejected = split(frame(cs, rows), cs, key=["id_meta_origem"], existing=existing)
    assert valid["id_meta_origem"].to_list() == [1]
    assert rejected["reasons"].to_list() == [["UQ_fact_metas_grao"]]


def test_existing_rows_need_the_merge_key() -> None:
    cs = SHIPPED["dw.fact_metas"]
    with pytest.raises(ValueError, match="merge `key`"):
        split(frame(cs, [base_row(cs)]), cs, existing=pl.DataFrame({"id_meta_origem": [1]}))


def test_foreign_keys_accept_parent_keys_given_as_a_frame_and_skip_when_not_given() -> None:
    cs = SHIPPED["dw.fact_metas"]
    rows = [{**base_row(cs), "sk_loja": 7}]
    lojas = pl.DataFrame({"sk_loja": [7, -1], "nome": ["a", "b"]})
    refs: dict[str, pl.Series | pl.DataFrame | list[int]] = {
        "FK_fact_metas_loja": lojas,
        "dim_data": pl.Series([1]),
        "dim_vendedor": [1],
    }
    valid, _ = split(frame(cs, rows), cs, references=refs)
    assert valid.height == 1
    _, rejected = split(frame(cs, rows), cs, references={"dw.dim_loja": pl.Series([1])})
    assert rejected["reasons"].to_list() == [["FK_fact_metas_loja"]]
    valid, _ = split(frame(cs, rows), cs)
    assert valid.height == 1


def test_a_row_breaking_several_rules_carries_every_name_in_rule_order() -> None:
    cs = SHIPPED["dw.dim_desconto"]
    row = {**base_row(cs), "codigo": None, "tipo_desconto": "Promo??o", "valor": Decimal("-1")}
    _, rejected = split(frame(cs, [row]), cs)
    assert rejected["reasons"].to_list() == [
        ["NN_dim_desconto_codigo", "CK_DIM_DESCONTO_tipo", "CK_DIM_DESCONTO_valor"]
    ]
    assert rejected["codigo"].to_list() == [None]  # the row keeps its columns


def test_decimals_are_rounded_like_the_database_and_only_overflow_is_rejected() -> None:
    cs = SHIPPED["dw.fact_vendas"]
    base = base_row(cs)
    rows = [
        # 2 x 1.005 is stored as 2 x 1.01 = 2.02: the CHECK sees stored values.
        {
            **base,
            "id_item_origem": 1,
            "quantidade": 2,
            "preco_unitario": Decimal("1.005"),
            "valor_bruto": Decimal("2.02"),
            "valor_liquido": Decimal("2.02"),
        },
        {
            **base,
            "id_item_origem": 2,
            "preco_unitario": Decimal("9999999999.994"),
            "valor_bruto": Decimal("9999999999.99"),
            "valor_liquido": Decimal("9999999999.99"),
        },
        {**base, "id_item_origem": 3, "preco_unitario": Decimal("9999999999.995")},
    ]
    df = pl.DataFrame(rows, schema={**frame(cs, []).schema, "preco_unitario": pl.Decimal(38, 3)})
    valid, rejected = split(df, cs)
    assert valid["id_item_origem"].to_list() == [1, 2]
    assert rejected["reasons"].to_list() == [["TYPE_fact_vendas_preco_unitario"]]


def test_float_money_is_compared_after_rounding_to_the_column_scale() -> None:
    cs = SHIPPED["dw.fact_vendas"]
    base = base_row(cs)
    row = {
        **base,
        "quantidade": 3,
        "preco_unitario": 19.99,
        "valor_bruto": 3 * 19.99,
        "valor_liquido": 59.97,
    }
    schema = {**frame(cs, []).schema}
    schema.update({c: pl.Float64() for c in ("preco_unitario", "valor_bruto", "valor_liquido")})
    valid, _ = split(pl.DataFrame([row], schema=schema), cs)
    assert valid.height == 1  # 3 * 19.99 is 59.970000000000006 as a float


def test_text_dates_and_numbers_that_cannot_be_stored_are_type_errors() -> None:
    cs = SHIPPED["dw.dim_desconto"]
    base = {
        k: (str(v) if k in ("inicio_vigencia", "valor") else v) for k, v in base_row(cs).items()
    }
    rows = [
        base,
        {
            **base,
            "sk_desconto": 2,
            "id_desconto_origem": 2,
            "inicio_vigencia": "2024-02-30",
            "valor": "abc",
        },
    ]
    schema = {**frame(cs, []).schema, "inicio_vigencia": pl.String(), "valor": pl.String()}
    valid, rejected = split(pl.DataFrame(rows, schema=schema, orient="row"), cs)
    assert valid.height == 1
    assert rejected["reasons"].to_list() == [
        ["TYPE_dim_desconto_valor", "TYPE_dim_desconto_inicio_vigencia"]
    ]


def test_trailing_spaces_past_the_length_are_allowed_like_postgresql() -> None:
    cs = SHIPPED["dw.dim_cliente"]
    rows = [{**base_row(cs), "cidade": "São Paulo" + " " * 200}]
    valid, _ = split(frame(cs, rows), cs)
    assert valid.height == 1


def test_a_column_missing_from_the_frame_is_an_error_unless_only_present() -> None:
    cs = SHIPPED["dw.fact_vendas"]
    df = frame(cs, [base_row(cs)]).drop("id_execucao")
    with pytest.raises(ValueError, match="id_execucao"):
        split(df, cs)
    valid, _ = split(df, cs, only_present=True)
    assert valid.columns == df.columns


def test_a_column_with_a_default_may_be_left_out() -> None:
    cs = SHIPPED["dw.dim_cliente"]
    df = frame(cs, [base_row(cs)]).drop("inferido")
    with pytest.raises(ValueError, match="inferido"):
        split(df, cs)  # CK_DIM_CLIENTE_obrigatorio reads it: the check would be wrong without it
    cs_ctl = SHIPPED["ctl.etl_scope_change"]
    valid, _ = split(frame(cs_ctl, [base_row(cs_ctl)]).drop("forced"), cs_ctl)
    assert valid.height == 1


def test_an_untranslatable_check_is_an_error_naming_the_constraint() -> None:
    sets = constraint_sets_from_ddl(
        "CREATE TABLE dw.t (a TEXT, CONSTRAINT CK_T_regex CHECK (a ~ '^[0-9]+$'))"
    )
    with pytest.raises(UnsupportedCheck, match="CK_T_regex"):
        split(pl.DataFrame({"a": ["1"]}), sets["dw.t"])


def test_sql_three_valued_logic_in_checks() -> None:
    sets = constraint_sets_from_ddl(
        "CREATE TABLE dw.t (a INT, b INT, s VARCHAR(10),"
        " CONSTRAINT CK_T_or CHECK (a > 0 OR b > 0),"
        " CONSTRAINT CK_T_not CHECK (NOT (a = 5)),"
        " CONSTRAINT CK_T_in CHECK (s IN ('x', NULL)),"
        " CONSTRAINT CK_T_coalesce CHECK (COALESCE(a, b, 0) <> 7),"
        " CONSTRAINT CK_T_arith CHECK (a + b * 2 - 1 < 100))"
    )
    cs = sets["dw.t"]
    df = pl.DataFrame(
        {"a": [None, -1, 5, None, 50], "b": [None, None, 1, 7, 30], "s": ["y", "x", None, "x", "x"]}
    )
    valid, rejected = split(df, cs)
    assert valid["a"].to_list() == [None, -1]
    assert rejected["reasons"].to_list() == [["CK_T_not"], ["CK_T_coalesce"], ["CK_T_arith"]]


def test_split_takes_a_lazy_frame() -> None:
    cs = SHIPPED["dw.dim_loja"]
    valid, rejected = split(frame(cs, [base_row(cs)]).lazy(), cs)
    assert (valid.height, rejected.height) == (1, 0)


def test_ddl_read_from_paths_as_a_notebook_would() -> None:
    texts = [p.read_text() for p in sorted(Path("sql/ddl").glob("*.sql"))]
    assert constraint_sets_from_ddl(texts).keys() == SHIPPED.keys()
