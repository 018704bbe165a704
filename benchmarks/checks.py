"""Does a round's warehouse equal the one before it? Table checksums compared between the rounds
of one run and against a baseline results file (the same harness run at the previous commit).

A benchmark of a change is only worth its figure if the change kept the result: every dwetl
round checksums the warehouse after its full reload and after its incremental run
(`databases.warehouse_checksums`), and this module says, one line per difference, where two
sets of checksums disagree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: the warehouse states a dwetl round checksums, in the order it reaches them
STAGES = ("full", "incremental")
#: what must be equal for two runs' warehouses to be comparable at all
SAME_INPUT = ("source", "dw", "seed", "damage")


def differences(current: dict[str, dict], reference: dict[str, dict], what: str) -> list[str]:
    """One line per table whose rows or checksum differ between two sets of checksums."""
    lines = []
    for table in sorted(set(current) | set(reference)):
        mine, theirs = current.get(table), reference.get(table)
        if mine is None or theirs is None:
            lines.append(f"{what}: dw.{table} is {'missing' if mine is None else 'new'} here")
        elif mine != theirs:
            lines.append(
                f"{what}: dw.{table} has {mine['rows']:,} rows (checksum {mine['checksum']}), "
                f"against {theirs['rows']:,} (checksum {theirs['checksum']})"
            )
    return lines


def across_rounds(size: dict[str, Any]) -> list[str]:
    """Differences between the rounds of one size: dwetl must write the same warehouse from the
    same source every time (each round starts from a fresh warehouse and the same sample)."""
    lines = []
    for stage in STAGES:
        tool = f"dwetl_{stage}"
        rounds = [r for r in size["runs"] if r["tool"] == tool and "checksums" in r]
        for later in rounds[1:]:
            lines += differences(
                later["checksums"],
                rounds[0]["checksums"],
                f"{size['items']:,} items, round {later['round'] + 1} against round 1, "
                f"after the {stage} run",
            )
    return lines


def against_before(size: dict[str, Any]) -> list[str]:
    """Differences, round by round, between this commit's warehouse and the previous commit's
    (`--before`), both loaded from the same source in the same round."""
    lines = []
    for stage in STAGES:
        before = {
            r["round"]: r["checksums"]
            for r in size["runs"]
            if r["tool"] == f"dwetl_before_{stage}" and "checksums" in r
        }
        for run in size["runs"]:
            if run["tool"] == f"dwetl_{stage}" and run["round"] in before and "checksums" in run:
                lines += differences(
                    run["checksums"],
                    before[run["round"]],
                    f"{size['items']:,} items, round {run['round'] + 1}, after the {stage} run, "
                    "this commit against the previous one",
                )
    return lines


def against_baseline(result: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Compare every size of `result` with the same size of `baseline`.

    Returns {"status": "equal" | "differs" | "not comparable", "lines": [...]}: "differs" when
    a checksum or a row count differs; "not comparable" when the two runs did not load the
    same input (source, warehouse kind, seed, damage, size, changed items) or the baseline
    has no checksums, so nothing was compared.
    """
    meta, other = result["meta"], baseline.get("meta", {})
    unlike = [k for k in SAME_INPUT if meta.get(k) != other.get(k)]
    if unlike:
        return {
            "status": "not comparable",
            "lines": [f"the baseline differs in {', '.join(unlike)}: nothing compared"],
        }
    theirs = {s["items"]: s for s in baseline.get("sizes", [])}
    unequal: list[str] = []  # what differs
    skipped: list[str] = []  # what could not be compared
    compared = 0
    for size in result["sizes"]:
        items = size["items"]
        base = theirs.get(items)
        if base is None or not base.get("checksums"):
            skipped.append(f"{items:,} items: the baseline has no checksums for this size")
            continue
        for stage in STAGES:
            mine, reference = size["checksums"].get(stage), base["checksums"].get(stage)
            if mine is None or reference is None:
                continue
            if stage == "incremental" and size.get("changed_items") != base.get("changed_items"):
                skipped.append(
                    f"{items:,} items: the baseline changed {base.get('changed_items')} items, "
                    f"this run {size.get('changed_items')}: the incremental run not compared"
                )
                continue
            compared += 1
            unequal += differences(mine, reference, f"{items:,} items, after the {stage} run")
    if unequal:
        status = "differs"
    elif compared == 0:
        status = "not comparable"
    else:
        status = "equal"
    lines = unequal + skipped
    return {"status": status, "lines": lines}


def check(result: dict[str, Any], baseline_path: Path | None) -> dict[str, Any]:
    """The result's `checks`: its rounds against each other, and against the baseline file."""
    rounds = [line for size in result["sizes"] for line in across_rounds(size)]
    if not any(size.get("checksums") for size in result["sizes"]):
        rounds_status = "no checksums"  # dwetl did not run
    else:
        rounds_status = "differs" if rounds else "equal"
    out: dict[str, Any] = {
        "rounds": {"status": rounds_status, "lines": rounds},
        "before": _before(result),
        "baseline": {"status": "no baseline", "lines": []},
    }
    if baseline_path is not None:
        baseline = json.loads(baseline_path.read_text())
        out["baseline"] = {
            "path": str(baseline_path),
            "commit": baseline.get("meta", {}).get("commit"),
            **against_baseline(result, baseline),
        }
    return out


def _before(result: dict[str, Any]) -> dict[str, Any]:
    if not (result["meta"].get("before") or {}).get("checkout"):
        return {"status": "no before", "lines": []}
    lines = [line for size in result["sizes"] for line in against_before(size)]
    compared = any(
        r["tool"].startswith("dwetl_before_") for s in result["sizes"] for r in s["runs"]
    )
    status = "differs" if lines else ("equal" if compared else "not comparable")
    return {"status": status, "lines": lines}


def alarms(checks: dict[str, Any]) -> list[str]:
    """The lines to shout: every difference, and a baseline that could not be compared."""
    lines = [f"rounds differ: {line}" for line in checks["rounds"]["lines"]]
    before = checks.get("before", {"status": "no before", "lines": []})
    if before["status"] in ("differs", "not comparable"):
        lines.append(
            f"the warehouse {before['status'].upper()} from the previous commit's (--before)"
        )
        lines += [f"  {line}" for line in before["lines"]]
    baseline = checks["baseline"]
    if baseline["status"] in ("differs", "not comparable"):
        verb = "DIFFERS from" if baseline["status"] == "differs" else "could not be compared with"
        lines.append(
            f"the warehouse {verb} the baseline {baseline.get('path')} "
            f"(commit {baseline.get('commit') or '?'})"
        )
        lines += [f"  {line}" for line in baseline["lines"]]
    return lines
