"""Inferred members: placeholder dimension rows for keys a fact references before they arrive.

A placeholder has a real surrogate key (max + 1 ...), its natural key, `inferido` TRUE, and
'Não informado' in the NOT NULL text columns (the `CK_*_obrigatorio` CHECKs exempt it from the
other required attributes). It is committed before the fact, under the dimension's entity lock;
when the real row arrives, the dimension's merge completes that same row (same sk, inferido
FALSE). A fact loaded in batches holds its dimensions' locks for its whole transaction instead
(`lookups.HeldDimensions`): its placeholders are written in that transaction and commit with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl
from sqlglot import exp

from dwetl.entities.spec import EntitySpec
from dwetl.warehouse import statements as st
from dwetl.warehouse.base import Warehouse, go_on

PLACEHOLDER = "Não informado"
INFERRED_FLAG = "inferido"


def required_text_columns(wh: Warehouse, table: str, skip: Sequence[str]) -> list[str]:
    """NOT NULL text columns without a default: a placeholder must fill them."""
    schema, _, name = table.rpartition(".")
    rows = wh.fetchall(
        "SELECT column_name, is_nullable, column_default, data_type "
        "FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        [schema, name],
    )
    return [
        column
        for column, nullable, default, dtype in rows
        if str(nullable).upper() == "NO"
        and default is None
        and column not in skip
        and any(t in str(dtype).upper() for t in ("CHAR", "TEXT", "STRING"))
    ]


def key_map(wh: Warehouse, dim: EntitySpec) -> pl.DataFrame:
    """The dimension's DataFrame[natural_key, sk] as it is in the warehouse."""
    assert dim.surrogate_key is not None, f"{dim.name} has no surrogate key"
    natural = dim.natural_key[0]
    query = st.select_columns(dim.target_table, (natural, dim.surrogate_key))
    return wh.fetch_polars(st.render(query, wh.sqlglot_dialect))


def fill_columns(wh: Warehouse, dim: EntitySpec) -> list[str]:
    """The text columns a placeholder of `dim` fills with `PLACEHOLDER`."""
    assert dim.surrogate_key is not None, f"{dim.name} has no surrogate key"
    return required_text_columns(wh, dim.target_table, (dim.natural_key[0], dim.surrogate_key))


def placeholders(
    wh: Warehouse,
    dim: EntitySpec,
    keys: pl.Series,
    existing: pl.DataFrame,
    run_id: int,
    fill: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Placeholder rows for the `keys` not in `existing`, numbered from max(sk) + 1; `fill`:
    `fill_columns` (read when not given)."""
    assert dim.surrogate_key is not None, f"{dim.name} has no surrogate key"
    natural, sk = dim.natural_key[0], dim.surrogate_key
    new = keys.drop_nulls().unique().sort().to_frame(natural)
    known = existing.select(pl.col(natural).cast(new.schema[natural]))
    new = new.join(known, on=natural, how="anti")
    top = existing.select(pl.col(sk).cast(pl.Int64).max()).item() if existing.height else None
    start = max(int(top or 0), 0) + 1
    fill = fill_columns(wh, dim) if fill is None else fill
    return new.with_columns(
        pl.int_range(start, start + new.height, dtype=pl.Int64).alias(sk),
        pl.lit(True).alias(INFERRED_FLAG),
        pl.lit(run_id, dtype=pl.Int64).alias("id_execucao"),
        *(pl.lit(PLACEHOLDER).alias(c) for c in fill),
    ).select(sk, natural, INFERRED_FLAG, "id_execucao", *fill)


def placeholder_sets(
    wh: Warehouse, dim: EntitySpec, columns: Sequence[str], run_id: int
) -> tuple[tuple[tuple[str, exp.Expr], ...], list[object]]:
    """The SET list (column, value) and its parameters, of an UPDATE that turns a row of
    `dim` (whose target has `columns`) into the placeholder `placeholders` would insert for
    its key: its surrogate and natural key kept, `inferido` TRUE, the lineage this run, the
    required text columns `PLACEHOLDER`, every other column its default (NULL where it has
    none) — what a full reload leaves for a key that a fact references and the dimension
    rejected."""
    assert dim.surrogate_key is not None, f"{dim.name} has no surrogate key"
    fill = set(fill_columns(wh, dim))
    sets: list[tuple[str, exp.Expr]] = []
    params: list[object] = []
    for column in columns:
        if column in (dim.surrogate_key, *dim.natural_key):
            continue
        if column == INFERRED_FLAG:
            sets.append((column, exp.true()))
        elif column == "id_execucao":
            sets.append((column, exp.Placeholder()))
            params.append(run_id)
        elif column in fill:
            sets.append((column, exp.Placeholder()))
            params.append(PLACEHOLDER)
        else:
            sets.append((column, exp.var("DEFAULT")))
    return tuple(sets), params


def add_inferred(
    wh: Warehouse,
    dim: EntitySpec,
    keys: pl.Series,
    run_id: int,
    *,
    lock_timeout_s: float,
    waiting: Callable[[], None] = go_on,
    write: bool = True,
) -> pl.DataFrame:
    """Create (commit) the inferred members of `dim` for `keys`; returns the rows created.
    `waiting`: as `Warehouse.entity_lock`'s, while it waits for the dimension's lock.

    With `write=False` (a dry run) nothing is written: the rows it would create come back.
    """
    if not write:
        return placeholders(wh, dim, keys, key_map(wh, dim), run_id)
    with wh.entity_lock(dim.name, lock_timeout_s, waiting=waiting), wh.transaction():
        # Read again under the lock: another run may have created some of them meanwhile.
        rows = placeholders(wh, dim, keys, key_map(wh, dim), run_id)
        if rows.height:
            wh.load_arrow(dim.target_table, rows.to_arrow())
    return rows
