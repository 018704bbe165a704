"""`dwetl rejects`: the quarantined rows of `ctl.etl_reject`, counted by key, with counts per
reason; and a failed entity's rejected rows, which were not applied."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import polars as pl

from dwetl.core.errors import DwetlError
from dwetl.core.queries import named_queries
from dwetl.run.control import require_upgraded
from dwetl.warehouse.base import Warehouse

#: the listed columns' types (a server returns an empty result's columns untyped)
SCHEMA: dict[str, pl.DataType] = {
    "reject_id": pl.Int64(),
    "run_id": pl.Int64(),
    "entity": pl.String(),
    "source_key": pl.String(),
    "reasons": pl.String(),
    "row_json": pl.String(),
    "rejected_at": pl.Datetime("us"),
    "resolved_run_id": pl.Int64(),
    "resolved_at": pl.Datetime("us"),
    "first_run_id": pl.Int64(),
    "times_seen": pl.Int64(),
    "applied": pl.Boolean(),
}


@dataclass(frozen=True)
class RejectList:
    """The rejects asked for: one row each (reasons decoded), and the keys per reason."""

    rows: pl.DataFrame
    by_reason: dict[str, int]

    @property
    def keys(self) -> int:
        """Keys in the quarantine among the rows (a row without a key counts as one)."""
        return _keys(self.rows.filter(pl.col("applied"))).n_unique()

    @property
    def reads(self) -> int:
        """How many times the runs read those keys rejected."""
        return int(self.rows.filter(pl.col("applied")).get_column("times_seen").sum())

    @property
    def blocked(self) -> int:
        """Rows of a failed entity, never applied (not in the quarantine)."""
        return self.rows.height - int(self.rows.get_column("applied").sum())

    def as_dict(self, limit: int | None = None) -> dict[str, Any]:
        """JSON-able: counts, and each reject with its reasons and source row decoded."""
        shown = self.rows if limit is None else self.rows.head(limit)
        rejects = [
            {**{k: v for k, v in r.items() if k != "row_json"}, "row": json.loads(r["row_json"])}
            for r in shown.iter_rows(named=True)
        ]
        return {
            "count": self.rows.height,
            "keys": self.keys,
            "reads": self.reads,
            "blocked": self.blocked,
            "by_reason": self.by_reason,
            "rejects": rejects,
        }


def _keys(rows: pl.DataFrame) -> pl.Series:
    """Each row's key as one value: entity and source key (a row without one: its id)."""
    return rows.select(
        pl.concat_str(
            pl.col("entity"),
            pl.coalesce(pl.col("source_key"), pl.format("#{}", pl.col("reject_id"))),
            separator="\x00",
        )
    ).to_series()


def list_rejects(
    wh: Warehouse,
    *,
    run_id: int | None = None,
    entity: str | None = None,
    include_resolved: bool = False,
) -> RejectList:
    """The rejects of `run_id` (every row it left) / `entity`; open ones unless asked."""
    if not wh.table_exists("ctl.etl_reject"):
        raise DwetlError("the warehouse has no ctl.etl_reject: run dwetl init first")
    require_upgraded(wh)
    sql = named_queries("ops/rejects.sql")["list"]
    params = [run_id, run_id, entity, entity, include_resolved, run_id]
    rows = wh.fetch_polars(wh.transpile(sql)[0], params).cast(pl.Schema(SCHEMA))
    rows = rows.with_columns(pl.col("reasons").str.json_decode(pl.List(pl.String)))
    per_key = rows.select(_keys(rows).alias("key"), "reasons").explode("reasons").drop_nulls()
    counts = per_key.unique().get_column("reasons").value_counts(sort=True)
    by_reason = {str(r): int(n) for r, n in counts.iter_rows()}
    return RejectList(rows, by_reason)
