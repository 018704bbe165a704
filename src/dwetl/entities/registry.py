"""The nine entities of the rollout, declared once, and their dependency order.

Categorical columns are repaired to the allowed values of the warehouse's own CHECKs, read from
the DDL applied to the warehouse being loaded (`domains`), so a transform can never drift from
what the DW accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from types import ModuleType

import polars as pl

from dwetl.core.errors import UsageError
from dwetl.entities.spec import EntitySpec, ExtractPart, Lookup, Transform
from transforms import (
    dim_cliente,
    dim_data,
    dim_desconto,
    dim_loja,
    dim_produto,
    dim_vendedor,
    fact_descontos,
    fact_metas,
    fact_vendas,
)
from transforms.constraints import ConstraintSet
from transforms.domains import allowed_values

#: the constraint sets of the warehouse being loaded (`applied_ddl`); unset: the shipped DDL's
_APPLIED: ContextVar[Mapping[str, ConstraintSet] | None] = ContextVar("applied_ddl", default=None)


@contextmanager
def applied_ddl(sets: Mapping[str, ConstraintSet]) -> Iterator[None]:
    """Within the block, the transforms repair categorical columns to the allowed values of
    `sets` (the DDL `init` applied to the warehouse being loaded)."""
    token = _APPLIED.set(sets)
    try:
        yield
    finally:
        _APPLIED.reset(token)


def domains(table: str) -> Mapping[str, Sequence[str]]:
    """Allowed values per categorical column of `schema.table`: from the DDL of the warehouse
    being loaded (`applied_ddl`), else from the shipped DDL."""
    from dwetl.warehouse.ddl import shipped_constraint_sets

    sets = _APPLIED.get()
    cs = sets.get(table) if sets is not None else None
    return _allowed(cs if cs is not None else shipped_constraint_sets()[table])


@cache
def _allowed(cs: ConstraintSet) -> Mapping[str, Sequence[str]]:
    return allowed_values(cs)


def _with_domains(module: ModuleType, table: str) -> Transform:
    # Read lazily: importing the registry must not need the DDL files.
    def transform(frame: pl.DataFrame) -> pl.DataFrame:
        result: pl.DataFrame = module.transform(frame, domains=domains(table))
        return result

    transform.__doc__ = module.transform.__doc__
    transform.__qualname__ = transform.__name__ = f"{module.__name__}.transform"
    return transform


def _dimension(
    name: str, order: int, module: ModuleType, *, categorical: bool = True
) -> EntitySpec:
    entity = name.removeprefix("dim_")
    table = f"dw.{name}"
    return EntitySpec(
        name=name,
        kind="dimension",
        target_table=table,
        load_order=order,
        natural_key=(f"id_{entity}_origem",),
        transform=_with_domains(module, table) if categorical else module.transform,
        surrogate_key=f"sk_{entity}",
        extract_sql=f"{name}.sql",
    )


_ENTITIES: tuple[EntitySpec, ...] = (
    EntitySpec(
        name="dim_data",
        kind="calendar",
        target_table="dw.dim_data",
        load_order=10,
        natural_key=("sk_data",),
        transform=dim_data.transform,
        extract_sql="dim_data.sql",
    ),
    _dimension("dim_cliente", 20, dim_cliente),
    _dimension("dim_produto", 30, dim_produto),
    _dimension("dim_loja", 40, dim_loja),
    _dimension("dim_vendedor", 50, dim_vendedor, categorical=False),
    _dimension("dim_desconto", 60, dim_desconto),
    EntitySpec(
        name="fact_vendas",
        kind="fact",
        target_table="dw.fact_vendas",
        load_order=70,
        natural_key=("id_item_origem",),
        transform=_with_domains(fact_vendas, "dw.fact_vendas"),
        depends_on=("dim_data", "dim_cliente", "dim_produto", "dim_loja", "dim_vendedor"),
        # items and their order headers, each read fast on its own, joined in Polars
        extract_parts=(
            ExtractPart("fact_vendas.itens.sql", fact_vendas.ITENS_SCHEMA),
            ExtractPart(
                "fact_vendas.vendas.sql", fact_vendas.VENDAS_SCHEMA, batch_join="id_venda_origem"
            ),
        ),
        combine=fact_vendas.combine,
        batch_key="id_item_origem",
        lookups=(
            # A sale to an unidentified shopper ("consumidor final") or without a seller
            # (e-commerce) is normal: those references are optional.
            Lookup("dim_cliente", "id_cliente", "sk_cliente", optional=True),
            Lookup("dim_produto", "id_produto", "sk_produto"),
            Lookup("dim_loja", "id_loja", "sk_loja"),
            Lookup("dim_vendedor", "id_vendedor", "sk_vendedor", optional=True),
        ),
    ),
    EntitySpec(
        name="fact_descontos",
        kind="fact",
        target_table="dw.fact_descontos",
        load_order=80,
        natural_key=("id_venda_desconto_origem",),
        transform=fact_descontos.transform,
        depends_on=("dim_data", "dim_cliente", "dim_loja", "dim_produto", "dim_desconto"),
        extract_parts=(
            ExtractPart("fact_descontos.descontos.sql", fact_descontos.DESCONTOS_SCHEMA),
            ExtractPart(
                "fact_descontos.vendas.sql",
                fact_descontos.VENDAS_SCHEMA,
                batch_join="id_venda_origem",
            ),
            ExtractPart(
                "fact_descontos.itens.sql",
                fact_descontos.ITENS_SCHEMA,
                batch_join="id_item_origem",
            ),
        ),
        combine=fact_descontos.combine,
        batch_key="id_venda_desconto_origem",
        lookups=(
            Lookup("dim_cliente", "id_cliente", "sk_cliente", optional=True),
            Lookup("dim_loja", "id_loja", "sk_loja"),
            # An order-level discount has no product.
            Lookup("dim_produto", "id_produto", "sk_produto", optional=True),
            Lookup("dim_desconto", "id_desconto", "sk_desconto"),
        ),
    ),
    EntitySpec(
        name="fact_metas",
        kind="fact",
        target_table="dw.fact_metas",
        load_order=90,
        natural_key=("id_meta_origem",),
        transform=fact_metas.transform,
        depends_on=("dim_data", "dim_loja", "dim_vendedor"),
        extract_sql="fact_metas.sql",
        lookups=(
            Lookup("dim_loja", "id_loja", "sk_loja"),
            # No seller: the store's own target, on the unknown seller (-1).
            Lookup("dim_vendedor", "id_vendedor", "sk_vendedor", optional=True),
        ),
    ),
)
_BY_NAME = {spec.name: spec for spec in _ENTITIES}

#: each entity's transform module (SOURCE_SCHEMA, transform), for extract and documentation
MODULES: dict[str, ModuleType] = {
    "dim_data": dim_data,
    "dim_cliente": dim_cliente,
    "dim_produto": dim_produto,
    "dim_loja": dim_loja,
    "dim_vendedor": dim_vendedor,
    "dim_desconto": dim_desconto,
    "fact_vendas": fact_vendas,
    "fact_descontos": fact_descontos,
    "fact_metas": fact_metas,
}


def all_entities() -> tuple[EntitySpec, ...]:
    """Every entity, in load order (calendar, dimensions, facts)."""
    return tuple(sorted(_ENTITIES, key=lambda s: s.load_order))


def get_entity(name: str) -> EntitySpec:
    """The entity called `name`; an unknown name is a UsageError listing the valid ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        valid = ", ".join(s.name for s in all_entities())
        raise UsageError(f"unknown entity {name!r} (expected one of: {valid})") from None


def source_schema(spec: EntitySpec) -> dict[str, pl.DataType]:
    """The columns and types the entity's extract must return (its transform's SOURCE_SCHEMA)."""
    schema: dict[str, pl.DataType] = MODULES[spec.name].SOURCE_SCHEMA
    return schema


def resolve_order(names: Iterable[str], *, include_dependencies: bool = False) -> list[EntitySpec]:
    """The named entities (each once), dependencies first; with `include_dependencies`, also
    every entity they depend on, directly or not.

    Topological; among entities free to go, the lowest load_order goes first. An unknown name
    is a UsageError.
    """
    wanted: dict[str, EntitySpec] = {}
    pending = [get_entity(n) for n in names]
    while pending:
        spec = pending.pop()
        if spec.name not in wanted:
            wanted[spec.name] = spec
            if include_dependencies:
                pending.extend(get_entity(d) for d in spec.depends_on)
    ordered: list[EntitySpec] = []
    done: set[str] = set()
    while len(ordered) < len(wanted):
        ready = [
            s
            for s in wanted.values()
            if s.name not in done and all(d in done or d not in wanted for d in s.depends_on)
        ]
        if not ready:
            cycle = sorted(set(wanted) - done)
            raise UsageError(f"entities depend on each other in a cycle: {', '.join(cycle)}")
        first = min(ready, key=lambda s: (s.load_order, s.name))
        ordered.append(first)
        done.add(first.name)
    return ordered
