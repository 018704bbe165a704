"""How many text values a transform repaired, per column and class of damage (for the run log:
`repairs` of `ctl.etl_run_entity`)."""

from __future__ import annotations

import polars as pl

from transforms.text import repair_report


def repairs(before: pl.DataFrame, after: pl.DataFrame) -> dict[str, dict[str, int]] | None:
    """Text repairs per column and class (for the run log), where the transform kept the rows
    and the column's name: the transforms are row-preserving maps, so rows line up."""
    if before.height != after.height or not before.height:
        return None
    out: dict[str, dict[str, int]] = {}
    for name, dtype in before.schema.items():
        if dtype == pl.String and after.schema.get(name) == pl.String:
            report = repair_report(before.get_column(name), after.get_column(name))
            # a column nothing changed is logged where it holds words left as they were
            # because two known words fit them (`ambiguous`): validation decides on those
            if report.get("changed") or report.get("ambiguous"):
                out[name] = {k: v for k, v in report.items() if v and k != "rows"}
    return out or None


def merged_repairs(
    total: dict[str, dict[str, int]] | None, more: dict[str, dict[str, int]] | None
) -> dict[str, dict[str, int]] | None:
    """Two batches' repair counts as one (the counts are rows: they add up).

    >>> merged_repairs({"nome": {"changed": 2}}, {"nome": {"changed": 1}, "uf": {"changed": 1}})
    {'nome': {'changed': 3}, 'uf': {'changed': 1}}
    """
    if not more:
        return total
    out = {column: dict(classes) for column, classes in (total or {}).items()}
    for column, classes in more.items():
        into = out.setdefault(column, {})
        for name, n in classes.items():
            into[name] = into.get(name, 0) + n
    return out
