"""How many text values a transform repaired, per column and class of damage (for the run log:
`repairs` of `ctl.etl_run_entity`)."""

from __future__ import annotations

import polars as pl

from transforms.text import may_report, repair_report

#: below how many rows the text columns that can report anything are found in one pass over
#: all of them (`may_report`), before any column's report: a small batch (an incremental run's)
#: mostly has none, and a report per column costs a handful of Polars queries whatever its
#: rows; a large batch's columns mostly have something to report, and the pass would be extra
CHECKED_AT_ONCE_BELOW = 10_000


def repairs(before: pl.DataFrame, after: pl.DataFrame) -> dict[str, dict[str, int]] | None:
    """Text repairs per column and class (for the run log), where the transform kept the rows
    and the column's name: the transforms are row-preserving maps, so rows line up."""
    if before.height != after.height or not before.height:
        return None
    out: dict[str, dict[str, int]] = {}
    names = [
        name
        for name, dtype in before.schema.items()
        if dtype == pl.String and after.schema.get(name) == pl.String
    ]
    if names and before.height < CHECKED_AT_ONCE_BELOW:
        names = _reporting(before, after, names)
    for name in names:
        report = repair_report(before.get_column(name), after.get_column(name))
        # a column nothing changed is logged where it holds words left as they were
        # because two known words fit them (`ambiguous`): validation decides on those
        if report.get("changed") or report.get("ambiguous"):
            out[name] = {k: v for k, v in report.items() if v and k != "rows"}
    return out or None


def _reporting(before: pl.DataFrame, after: pl.DataFrame, names: list[str]) -> list[str]:
    """Those of the columns `names` where `repair_report` can count some row (`may_report`);
    the others' reports are all zeros."""
    pairs = pl.DataFrame(
        [before.get_column(n).alias(f"b{i}") for i, n in enumerate(names)]
        + [after.get_column(n).alias(f"a{i}") for i, n in enumerate(names)]
    )
    found = pairs.select(
        may_report(pl.col(f"b{i}"), pl.col(f"a{i}")).any().alias(str(i)) for i in range(len(names))
    ).row(0)
    return [n for n, any_row in zip(names, found, strict=True) if any_row]


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
