"""The extract contract as data: entities -> files -> columns, and their JSON form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from transforms.constraints import ConstraintSet

#: how a query filters itself by the watermark (`:since`): dwetl needs it nowhere (a file
#: without it is wrapped, or a part read whole and its joined rows filtered), so "optional"
SINCE_OPTIONAL = "optional"


@dataclass(frozen=True)
class ColumnContract:
    """One column an extract file must return."""

    name: str
    sql_type: str  # "BIGINT", "VARCHAR(150)", "DECIMAL(12,2)", "DATE", "TIMESTAMP"
    polars_type: str  # what dwetl casts it to: "Int64", "Decimal(precision=38, scale=2)"
    required: bool  # a NULL gets the row rejected ...
    required_by: tuple[str, ...]  # ... by these rules (NN_..., CK_..._obrigatorio)
    natural_key: bool
    watermark: bool
    feeds: tuple[str, ...]  # warehouse columns it lands in: "dw.dim_cliente.nome"
    allowed: tuple[str, ...] | None  # the CHECK domain of a categorical column
    rules: tuple[str, ...]  # the warehouse's rules on it, each as text
    example: Any = None

    def as_dict(self) -> dict[str, Any]:
        """A plain dict (JSON-ready: the example as text where it is no JSON type)."""
        return {
            "name": self.name,
            "sql_type": self.sql_type,
            "polars_type": self.polars_type,
            "nullable": not self.required,
            "required_by": list(self.required_by),
            "natural_key": self.natural_key,
            "watermark": self.watermark,
            "feeds": list(self.feeds),
            "allowed": list(self.allowed) if self.allowed is not None else None,
            "rules": list(self.rules),
            "example": json_value(self.example),
        }

    def note(self) -> str:
        """The column's type and rules in one line, for a comment: `VARCHAR(2), required by
        CK_DIM_CLIENTE_obrigatorio, one of: 'AC', ...`."""
        parts = [self.sql_type, "NOT NULL" if self.required else "NULL allowed"]
        if self.natural_key:
            parts.append("natural key")
        if self.watermark:
            parts.append("watermark")
        if self.required_by:
            parts.append("required by " + ", ".join(self.required_by))
        parts += self.rules
        return ", ".join(parts)


@dataclass(frozen=True)
class FileContract:
    """One extract file of an entity: its columns in order and how it uses `:since`."""

    file: str  # "fact_vendas.itens.sql"
    columns: tuple[ColumnContract, ...]
    since: str  # SINCE_OPTIONAL
    since_note: str
    joins_on: str | None = None  # a later part: the column it joins the first part's rows on

    @property
    def example(self) -> dict[str, Any]:
        """The example row, column -> value."""
        return {c.name: c.example for c in self.columns}

    def as_dict(self) -> dict[str, Any]:
        """A plain dict."""
        return {
            "file": self.file,
            "since": self.since,
            "since_note": self.since_note,
            "joins_on": self.joins_on,
            "columns": [c.as_dict() for c in self.columns],
            "example": {k: json_value(v) for k, v in self.example.items()},
        }


@dataclass(frozen=True)
class EntityContract:
    """One entity: where it lands, what it reads, what it needs and what needs it."""

    name: str
    kind: str
    target_table: str
    natural_key: tuple[str, ...]
    watermark_column: str | None
    depends_on: tuple[str, ...]
    needed_by: tuple[str, ...]
    files: tuple[FileContract, ...]
    #: read in parts: the one file that may replace them, returning the joined columns
    single_file: FileContract | None = None

    @property
    def leave_out(self) -> str:
        """How to run without this entity when the source has no such data."""
        one = self.single_file.file if self.single_file else self.files[0].file
        first = (
            f"after disabling {', '.join(self.needed_by)}, which need it"
            if self.needed_by
            else "its files are then not read"
        )
        empty = f"an empty extract: {one} with its columns and `WHERE 1 = 0`"
        if self.needed_by:
            empty += " (what the entities that need it reference becomes inferred members)"
        return f"`dwetl rollout disable {self.name}` ({first}), or {empty}"

    def as_dict(self) -> dict[str, Any]:
        """A plain dict."""
        return {
            "entity": self.name,
            "kind": self.kind,
            "target_table": self.target_table,
            "natural_key": list(self.natural_key),
            "watermark_column": self.watermark_column,
            "depends_on": list(self.depends_on),
            "needed_by": list(self.needed_by),
            "files": [f.as_dict() for f in self.files],
            "single_file": self.single_file.as_dict() if self.single_file else None,
            "leave_out": self.leave_out,
        }


@dataclass(frozen=True)
class Contract:
    """Every entity's extract contract, against one DDL."""

    ddl: str  # "applied" (read from the warehouse) | "shipped" (sql/ddl)
    ddl_note: str
    entities: tuple[EntityContract, ...] = field(default=())
    #: the constraint sets it was built against
    sets: Mapping[str, ConstraintSet] = field(default_factory=dict, repr=False, compare=False)

    def entity(self, name: str) -> EntityContract:
        """The contract of entity `name` (KeyError if not in this contract)."""
        for e in self.entities:
            if e.name == name:
                return e
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        """A plain dict, JSON-ready."""
        return {
            "ddl": self.ddl,
            "ddl_note": self.ddl_note,
            "leave_out": LEAVE_OUT,
            "entities": [e.as_dict() for e in self.entities],
        }


LEAVE_OUT = (
    "An entity the source has no data for: switch it off with `dwetl rollout disable ENTITY` "
    "(its files are then not read; an entity that another active one depends on is refused "
    "until that one is off), or give it an empty extract: its columns, no rows "
    "(`SELECT CAST(NULL AS BIGINT) AS ... WHERE 1 = 0`); an entity read in parts may use one "
    "file named after it (e.g. fact_vendas.sql) with the joined columns instead."
)


def json_value(value: Any) -> Any:
    """A value as JSON can hold it: decimals, dates and timestamps as their text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value
