"""`dwetl rejects`: the quarantined rows of `ctl.etl_reject`, with counts per reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import polars as pl

from dwetl.dialects.base import Warehouse
from dwetl.errors import DwetlError
from dwetl.queries import named_queries


@dataclass(frozen=True)
class RejectList:
    """The rejects asked for: one row each (reasons decoded), and the count per reason."""

    rows: pl.DataFrame
    by_reason: dict[str, int]

    def as_dict(self, limit: int | None = None) -> dict[str, Any]:
        """JSON-able: counts, and each reject with its reasons and source row decoded."""
        shown = self.rows if limit is None else self.rows.head(limit)
        rejects = [
            {**{k: v for k, v in r.items() if k != "row_json"}, "row": json.loads(r["row_json"])}
            for r in shown.iter_rows(named=True)
        ]
        return {"count": self.rows.height, "by_reason": self.by_reason, "rejects": rejects}


def list_rejects(
    wh: Warehouse,
    *,
    run_id: int | None = None,
    entity: str | None = None,
    include_resolved: bool = False,
) -> RejectList:
    """The rejects of `run_id` / `entity` (every one when None); open ones unless asked."""
    if not wh.table_exists("ctl.etl_reject"):
        raise DwetlError("the warehouse has no ctl.etl_reject: run dwetl init first")
    sql = named_queries("ops/rejects.sql")["list"]
    params = [run_id, run_id, entity, entity, include_resolved]
    rows = wh.fetch_polars(wh.transpile(sql)[0], params)
    rows = rows.with_columns(pl.col("reasons").str.json_decode(pl.List(pl.String)))
    counts = rows.get_column("reasons").explode().drop_nulls().value_counts(sort=True)
    by_reason = {str(r): int(n) for r, n in counts.iter_rows()}
    return RejectList(rows, by_reason)
