"""The entity registry: nine entities, dependency order, clear errors, files and schemas agree."""

from __future__ import annotations

import pytest

from dwetl.core.errors import UsageError
from dwetl.core.paths import ddl_root, extract_root
from dwetl.entities.registry import MODULES, all_entities, get_entity, resolve_order
from transforms.constraints import constraint_sets_from_ddl

NAMES = [
    "dim_data", "dim_cliente", "dim_produto", "dim_loja", "dim_vendedor", "dim_desconto",
    "fact_vendas", "fact_descontos", "fact_metas",
]  # fmt: skip


def test_all_entities_in_load_order() -> None:
    specs = all_entities()
    assert [s.name for s in specs] == NAMES
    assert [s.load_order for s in specs] == sorted(s.load_order for s in specs)
    assert [s.kind for s in specs] == ["calendar"] + ["dimension"] * 5 + ["fact"] * 3


def test_every_dependency_loads_before_its_dependent() -> None:
    position = {s.name: i for i, s in enumerate(all_entities())}
    for spec in all_entities():
        for dependency in spec.depends_on:
            assert position[dependency] < position[spec.name], (spec.name, dependency)


def test_resolve_order_puts_dependencies_first_stably() -> None:
    names = [s.name for s in resolve_order(["fact_metas", "dim_vendedor", "dim_data"])]
    assert names == ["dim_data", "dim_vendedor", "fact_metas"]
    with_deps = [s.name for s in resolve_order(["fact_metas"], include_dependencies=True)]
    assert with_deps == ["dim_data", "dim_loja", "dim_vendedor", "fact_metas"]
    assert [s.name for s in resolve_order(["fact_vendas", "fact_vendas"])] == ["fact_vendas"]


def test_unknown_entity_lists_the_valid_names() -> None:
    with pytest.raises(UsageError) as error:
        get_entity("dim_clientes")
    assert "'dim_clientes'" in str(error.value)
    assert ", ".join(NAMES) in str(error.value)
    with pytest.raises(UsageError):
        resolve_order(["fact_vendas", "nope"])


def test_specs_match_the_ddl_and_the_shipped_files() -> None:
    ddl = constraint_sets_from_ddl(
        [p.read_text(encoding="utf-8") for p in sorted(ddl_root().glob("*.sql"))]
    )
    used = set()
    for spec in all_entities():
        table = ddl[spec.target_table]
        columns = {c.name for c in table.columns}
        assert set(spec.natural_key) <= columns, spec.name
        files: list[str | None] = [part.sql for part in spec.extract_parts]
        files = files or [spec.extract_sql]
        assert None not in files, spec.name
        for name in files:
            assert (extract_root() / str(name)).is_file(), (spec.name, name)
        used.update(files)
        if spec.surrogate_key:
            assert spec.surrogate_key in columns
        for lookup in spec.lookups:
            assert lookup.sk_column in columns, (spec.name, lookup)
            fk_targets = {fk.ref_table for fk in table.foreign_keys}
            assert get_entity(lookup.dimension).target_table in fk_targets
            assert lookup.dimension in spec.depends_on
        assert spec.name in MODULES
    # no shipped file is left unread (e.g. an entity's one file after it was split in parts)
    assert {p.name for p in extract_root().glob("*.sql")} == used


def test_fact_metas_store_target_is_the_unknown_seller() -> None:
    lookup = {lk.dimension: lk for lk in get_entity("fact_metas").lookups}
    assert lookup["dim_vendedor"].optional is True
    assert lookup["dim_loja"].optional is False
