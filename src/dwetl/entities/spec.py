"""The declaration of one entity: what to extract, how to transform it, where it lands."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

EntityKind = Literal["calendar", "dimension", "fact"]
#: an entity's transform: the extracted frame in, the target's rows out (pure Polars)
Transform = Callable[[pl.DataFrame], pl.DataFrame]


@dataclass(frozen=True)
class Lookup:
    """A fact's reference to a dimension: source natural-key column -> the dimension's sk column.

    `optional`: a NULL source key maps to the unknown member (-1); otherwise NULL is a reject.
    A non-NULL key the dimension does not have yet creates an inferred member.
    """

    dimension: str  # entity name, e.g. "dim_cliente"
    source_column: str  # column of the transformed frame holding the natural key, e.g. "id_cliente"
    sk_column: str  # column of the fact receiving the surrogate key, e.g. "sk_cliente"
    optional: bool = False


@dataclass(frozen=True)
class ExtractPart:
    """One query of an extract read in parts: a file under the sql/extract folder and the
    columns (and types) it must return, e.g. the order items of fact_vendas."""

    sql: str  # file name: "fact_vendas.itens.sql"
    schema: Mapping[str, pl.DataType]  # e.g. transforms.fact_vendas.ITENS_SCHEMA
    #: read in batches (`EntitySpec.batch_key`), a part after the first is read once and each
    #: batch's `combine` gets only its rows whose `batch_join` value the batch's rows hold in
    #: the same column (e.g. the headers of the batch's orders, "id_venda_origem"): `combine`
    #: must need no other row of it. None: every row, for every batch.
    batch_join: str | None = None


@dataclass(frozen=True)
class EntitySpec:
    """One entity of the rollout, declared as data."""

    name: str  # "dim_cliente"
    kind: EntityKind
    target_table: str  # "dw.dim_cliente"
    load_order: int
    natural_key: tuple[str, ...]  # key of the target row: ("id_cliente_origem",)
    transform: Transform  # from transforms/<entity>.py
    depends_on: tuple[str, ...] = ()
    surrogate_key: str | None = None  # "sk_cliente" for dimensions
    watermark_column: str | None = "atualizado_em"  # source column driving incremental loads
    extract_sql: str | None = None  # file name under the sql/extract folder; None: generated
    lookups: tuple[Lookup, ...] = field(default=())
    #: read these simple queries instead of `extract_sql` (each fast to read on its own) ...
    extract_parts: tuple[ExtractPart, ...] = ()
    #: ... and join their frames, in that order, into the SOURCE_SCHEMA frame (pure function;
    #: one positional frame per part, so its arity is the number of parts: `...`)
    combine: Callable[..., pl.DataFrame] | None = None
    #: source column partitioning the rows by natural key, so that a large extract can be
    #: loaded in batches each holding every version of its keys ("id_item_origem"); it is a
    #: column of the first part (or of the one file). Only for a target whose sole key is the
    #: natural key (its PK/UNIQUE checks and the folding then stay exact within a batch).
    batch_key: str | None = None

    def __post_init__(self) -> None:
        if bool(self.extract_parts) != (self.combine is not None):
            raise ValueError(f"{self.name}: extract_parts and combine go together")
        batched = self.extract_parts[0].schema if self.extract_parts else None
        if self.batch_key and batched is not None and self.batch_key not in batched:
            raise ValueError(
                f"{self.name}: batch_key {self.batch_key} is not a column of "
                f"{self.extract_parts[0].sql}, the part read in batches"
            )
        for part in self.extract_parts[1:]:
            join = part.batch_join
            if join is not None and (
                batched is None or join not in batched or join not in part.schema
            ):
                raise ValueError(
                    f"{self.name}: batch_join {join} of {part.sql} is not a column of both it "
                    f"and {self.extract_parts[0].sql}"
                )
