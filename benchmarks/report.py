"""Turn the runs of one benchmark into figures: medians with min and max, ratios (per size and
across sizes), JSON, a markdown report (the checks first) and a PNG chart per size of wall time
per tool and phase."""

from __future__ import annotations

import itertools
import json
import statistics
from pathlib import Path
from typing import Any

#: display order and labels of the measured tools
TOOLS = {
    "dwetl_before_full": "dwetl full reload, previous commit (--before)",
    "dwetl_full": "dwetl full reload",
    "dwetl_before_unchanged": "dwetl run, nothing changed, previous commit",
    "dwetl_unchanged": "dwetl run, nothing changed",
    "dwetl_before_incremental": "dwetl incremental (changed items), previous commit",
    "dwetl_incremental": "dwetl incremental (changed items)",
    "floor": "floor (connectorx + bulk insert)",
    "warehouse_floor": "warehouse floor (dwetl's rows into keyed tables)",
    "dlt": "dlt sql_database (merge)",
    "dlt_parquet": "dlt sql_database (merge, parquet)",
    "pandas": "pandas + SQLAlchemy (fact only)",
}

#: stacking order of phases in the chart; the rest of the wall time is start-up and overhead
PHASE_ORDER = (
    "init",
    "extract",
    "transform",
    "normalize",
    "fold",
    "keys",
    "validate",
    "load",
    "merge",
    "commit",
)
OTHER = "start-up + other"


def spread(values: list[float]) -> dict[str, float]:
    """Median, min and max of a list of figures."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per tool: wall, peak RSS and each phase as median/min/max over the successful runs."""
    summary: dict[str, Any] = {}
    for tool in TOOLS:
        ok = [r for r in runs if r["tool"] == tool and "error" not in r]
        failed = [r for r in runs if r["tool"] == tool and "error" in r]
        if not ok:
            if failed:
                summary[tool] = {"error": failed[-1]["error"], "failed_runs": len(failed)}
            continue
        phases = list(dict.fromkeys(p for r in ok for p in r["phases"]))
        summary[tool] = {
            "wall_s": spread([r["wall_s"] for r in ok]),
            "peak_rss_mb": spread([r["peak_rss_mb"] for r in ok]),
            "phases": {p: spread([r["phases"].get(p, 0.0) for r in ok]) for p in phases},
            "rows": ok[-1].get("rows"),
            "failed_runs": len(failed),
        }
    return summary


def entity_breakdown(runs: list[dict[str, Any]], tool: str) -> dict[str, dict[str, float]]:
    """dwetl's seconds per entity and phase (medians over rounds), from the run summaries."""
    per: dict[str, dict[str, list[float]]] = {}
    for run in runs:
        if run["tool"] != tool or "error" in run:
            continue
        for entity in run.get("summary", {}).get("entities", []):
            phases = per.setdefault(entity["entity"], {})
            for phase, seconds in entity.get("seconds", {}).items():
                phases.setdefault(phase, []).append(float(seconds))
            phases.setdefault("extracted", []).append(float(entity.get("extracted", 0)))
    return {e: {p: statistics.median(v) for p, v in phases.items()} for e, phases in per.items()}


def ratios(summary: dict[str, Any]) -> dict[str, float]:
    """The ratios the issue asks for, on medians of the same run."""

    def median(tool: str) -> float | None:
        entry = summary.get(tool, {})
        return entry["wall_s"]["median"] if "wall_s" in entry else None

    out: dict[str, float] = {}
    full, floor, inc = median("dwetl_full"), median("floor"), median("dwetl_incremental")
    warehouse = median("warehouse_floor")
    dlts = [v for v in (median("dlt"), median("dlt_parquet")) if v is not None]
    if full and floor:
        out["dwetl_full / floor"] = full / floor
    if warehouse and floor:
        out["warehouse_floor / floor"] = warehouse / floor
    if full and warehouse:
        out["dwetl_full / warehouse_floor"] = full / warehouse
    if full and dlts:
        out["dwetl_full / dlt_fastest"] = full / min(dlts)
    if full and inc:
        out["dwetl_incremental / dwetl_full"] = inc / full
    if full and (unchanged := median("dwetl_unchanged")):
        out["dwetl_unchanged / dwetl_full"] = unchanged / full
    # this commit against the previous one, alternated in the same rounds (--before)
    for step in ("full", "unchanged", "incremental"):
        now, before = median(f"dwetl_{step}"), median(f"dwetl_before_{step}")
        if now and before:
            out[f"dwetl_{step} / dwetl_before_{step}"] = now / before
    return out


def _median(size: dict[str, Any], tool: str, figure: str = "wall_s") -> float | None:
    entry = size["summary"].get(tool, {})
    return entry[figure]["median"] if figure in entry else None


def across_sizes(sizes: list[dict[str, Any]]) -> dict[str, Any]:
    """What one run over several sizes says about growth: per size dwetl's medians, and for
    each larger size against the smallest and against the size before it (20M / 5M, the pair
    issue 23's targets name), the ratio of full reloads, of peak RSS and, where both changed the
    same number of items, of incremental runs."""
    rows = []
    for size in sizes:
        full, inc = _median(size, "dwetl_full"), _median(size, "dwetl_incremental")
        rows.append(
            {
                "items": size["items"],
                "changed_items": size.get("changed_items"),
                "dwetl_full_s": full,
                "dwetl_unchanged_s": _median(size, "dwetl_unchanged"),
                "dwetl_incremental_s": inc,
                "dwetl_incremental / dwetl_full": inc / full if inc and full else None,
                "dwetl_full_peak_rss_mb": _median(size, "dwetl_full", "peak_rss_mb"),
                "floor_s": _median(size, "floor"),
            }
        )
    growth = {}
    pairs = [(row, rows[0]) for row in rows[1:]]
    pairs += [(row, before) for before, row in itertools.pairwise(rows[1:])]
    for row, base in pairs:
        pair = f"{row['items']:,} / {base['items']:,} items"
        figures = {}
        for key, name in (
            ("dwetl_full_s", "dwetl_full"),
            ("floor_s", "floor"),
            ("dwetl_full_peak_rss_mb", "dwetl_full peak RSS"),
        ):
            if row[key] and base[key]:
                figures[name] = row[key] / base[key]
        if (
            row["dwetl_incremental_s"]
            and base["dwetl_incremental_s"]
            and row["changed_items"] == base["changed_items"]
        ):
            figures[f"dwetl_incremental, {row['changed_items']:,} items changed at both"] = (
                row["dwetl_incremental_s"] / base["dwetl_incremental_s"]
            )
        growth[pair] = figures
    return {"sizes": rows, "growth": growth}


def _fmt(cell: dict[str, float], digits: int = 2) -> str:
    return f"{cell['median']:.{digits}f} ({cell['min']:.{digits}f}–{cell['max']:.{digits}f})"


def _checks_lines(result: dict[str, Any]) -> list[str]:
    found = result.get("checks")
    if not found:
        return []
    rounds, baseline = found["rounds"], found["baseline"]
    lines = ["## Is the warehouse what it was?", ""]
    if rounds["status"] == "no checksums":
        lines.append("- Rounds: dwetl did not run, no warehouse was checksummed.")
    elif rounds["status"] == "equal":
        lines.append("- Rounds: every round's warehouse has the same table checksums.")
    else:
        lines.append("- **ROUNDS DIFFER: dwetl did not write the same warehouse twice.**")
        lines += [f"  - {line}" for line in rounds["lines"]]
    before = found.get("before", {"status": "no before"})
    if before["status"] == "equal":
        lines.append(
            "- Previous commit (`--before`): its warehouse, loaded in the same rounds, equals "
            "this commit's in every table."
        )
    elif before["status"] != "no before":
        verb = "DIFFERS FROM" if before["status"] == "differs" else "NOT COMPARABLE WITH"
        lines.append(f"- **THE WAREHOUSE {verb} THE PREVIOUS COMMIT'S** (`--before`):")
        lines += [f"  - {line}" for line in before["lines"]]
    if baseline["status"] == "no baseline":
        lines.append("- Baseline: none given (`--baseline PATH`): not compared.")
    elif baseline["status"] == "equal":
        lines.append(
            f"- Baseline: equal to `{baseline['path']}` (commit {baseline.get('commit') or '?'})"
            " in every table, after the full and the incremental run."
        )
    else:
        verb = "DIFFERS FROM" if baseline["status"] == "differs" else "NOT COMPARABLE WITH"
        lines.append(
            f"- **THE WAREHOUSE {verb} THE BASELINE** `{baseline['path']}` "
            f"(commit {baseline.get('commit') or '?'}):"
        )
    if baseline["status"] != "no baseline":
        lines += [f"  - {line}" for line in baseline["lines"]]
    return [*lines, ""]


def size_markdown(meta: dict[str, Any], size: dict[str, Any]) -> str:
    """One size's summary as a markdown table plus per-entity seconds, ratios and notes."""
    lines = [
        f"## {size['items']:,} items",
        "",
        f"K = {size['repeat']} rounds, median (min–max). Source rows: "
        f"{size.get('source_rows_total', 0):,}."
        + (
            f" The incremental run found {size['changed_items']:,} order items changed "
            f"({100 * size['changed_items'] / size['items']:.2g}% of them)."
            if size.get("changed_items")
            else ""
        ),
        "",
        "| tool | wall s | peak RSS MB | rows | phases (median s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for tool, label in TOOLS.items():
        entry = size["summary"].get(tool)
        if entry is None:
            continue
        if "wall_s" not in entry:
            lines.append(f"| {label} | failed: {entry['error'].splitlines()[0][:80]} | | | |")
            continue
        phases = ", ".join(f"{p} {v['median']:.2f}" for p, v in entry["phases"].items())
        rows = f"{entry['rows']:,}" if isinstance(entry.get("rows"), int) else ""
        lines.append(
            f"| {label} | {_fmt(entry['wall_s'])} | {_fmt(entry['peak_rss_mb'], 0)} | {rows} "
            f"| {phases} |"
        )
    for tool in ("dwetl_full", "dwetl_incremental"):
        breakdown = size.get("entities", {}).get(tool)
        if not breakdown:
            continue
        phases = [p for p in next(iter(breakdown.values())) if p != "extracted"]
        lines += [
            "",
            f"{TOOLS[tool]}, seconds per entity (median):",
            "",
            "| entity | rows extracted | " + " | ".join(phases) + " | sum |",
            "| --- | --- | " + " | ".join("---" for _ in phases) + " | --- |",
        ]
        for entity, cells in breakdown.items():
            values = " | ".join(f"{cells.get(p, 0.0):.2f}" for p in phases)
            total = sum(cells.get(p, 0.0) for p in phases)
            lines.append(f"| {entity} | {cells['extracted']:,.0f} | {values} | {total:.2f} |")
    lines += ["", "| ratio (medians) | value |", "| --- | --- |"]
    lines += [f"| {name} | {value:.2f} |" for name, value in size["ratios"].items()]
    if size.get("notes"):
        lines += ["", *[f"- {note}" for note in size["notes"]]]
    return "\n".join(lines) + "\n"


def _across_markdown(across: dict[str, Any]) -> list[str]:
    if len(across["sizes"]) < 2:
        return []
    lines = [
        "## Across sizes (one run)",
        "",
        "| items | changed items | dwetl full s | nothing changed s | incremental s "
        "| incremental / full | dwetl peak RSS MB | floor s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def cell(value: float | None, digits: int = 2) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    for row in across["sizes"]:
        changed = f"{row['changed_items']:,}" if row["changed_items"] else ""
        lines.append(
            f"| {row['items']:,} | {changed} | {cell(row['dwetl_full_s'])} "
            f"| {cell(row['dwetl_unchanged_s'])} | {cell(row['dwetl_incremental_s'])} "
            f"| {cell(row['dwetl_incremental / dwetl_full'], 3)} "
            f"| {cell(row['dwetl_full_peak_rss_mb'], 0)} | {cell(row['floor_s'])} |"
        )
    lines += ["", "| growth (medians) | ratio |", "| --- | --- |"]
    for pair, figures in across["growth"].items():
        lines += [f"| {name}, {pair} | {value:.2f} |" for name, value in figures.items()]
    return [*lines, ""]


def markdown(result: dict[str, Any]) -> str:
    """The run as markdown: what ran, the warehouse checks, each size, growth across sizes."""
    meta = result["meta"]
    sizes = ", ".join(f"{s:,}" for s in meta["sizes"])
    lines = [
        f"# Benchmark — {meta['date']}, {sizes} items, {meta['source']} → {meta['dw']}",
        "",
        f"One harness run. Machine: {meta['machine']}"
        + (f", load average {meta['load_average']} at the end" if meta.get("load_average") else "")
        + f". dwetl at commit {meta.get('commit') or '?'}"
        f"{' with uncommitted changes' if meta.get('uncommitted_changes') else ''}.",
        "",
        *_checks_lines(result),
    ]
    body = "\n".join(lines) + "\n"
    for size in result["sizes"]:
        body += "\n" + size_markdown(meta, size)
    across = _across_markdown(result.get("across_sizes", {"sizes": []}))
    if across:
        body += "\n" + "\n".join(across)
    if meta.get("notes"):
        body += "\n" + "\n".join(f"- {note}" for note in meta["notes"]) + "\n"
    return body


def _label(tool: str, entry: dict[str, Any]) -> str:
    if tool == "pandas" and isinstance(entry.get("rows"), int):
        return f"pandas + SQLAlchemy\n(fact only, {entry['rows']:,} rows)"
    return TOOLS[tool]


def chart(meta: dict[str, Any], size: dict[str, Any], path: Path) -> bool:
    """A PNG of one size: wall time per tool as stacked phases (min–max whiskers), and peak RSS
    per tool."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    summary = size["summary"]
    tools = [t for t in TOOLS if "wall_s" in summary.get(t, {})]
    if not tools:
        return False
    seen = {p for t in tools for p in summary[t]["phases"]}
    all_phases = [p for p in PHASE_ORDER if p in seen] + sorted(seen - set(PHASE_ORDER))
    all_phases.append(OTHER)
    colours = plt.get_cmap("tab10")
    fig, (ax_t, ax_m) = plt.subplots(
        1, 2, figsize=(13, 0.65 * len(tools) + 2.6), gridspec_kw={"width_ratios": [3, 1]}
    )
    labels = [_label(t, summary[t]) for t in tools]
    y = list(range(len(tools)))[::-1]
    for i, tool in enumerate(tools):
        entry = summary[tool]
        left = 0.0
        for j, phase in enumerate(all_phases):
            if phase == OTHER:
                width = max(entry["wall_s"]["median"] - left, 0.0)
            else:
                width = entry["phases"].get(phase, {}).get("median", 0.0)
            if width <= 0:
                continue
            ax_t.barh(
                y[i],
                width,
                left=left,
                color="lightgrey" if phase == OTHER else colours(j % 10),
                label=phase if i == tools.index(tool) else None,
            )
            left += width
        wall = entry["wall_s"]
        ax_t.errorbar(
            wall["median"],
            y[i],
            xerr=[[wall["median"] - wall["min"]], [wall["max"] - wall["median"]]],
            fmt="none",
            ecolor="black",
            capsize=3,
        )
        ax_t.text(wall["max"], y[i], f"  {wall['median']:.1f} s", va="center", fontsize=9)
        rss = entry["peak_rss_mb"]["median"]
        ax_m.barh(y[i], rss, color="grey")
        ax_m.text(rss, y[i], f" {rss:.0f}", va="center", fontsize=9)
    handles, names = ax_t.get_legend_handles_labels()
    found = dict(zip(names, handles, strict=False))
    unique = {p: found[p] for p in all_phases if p in found}
    ax_t.legend(
        unique.values(),
        unique.keys(),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        fontsize=8,
        ncol=len(unique),
        frameon=False,
    )
    ax_t.set_yticks(y, labels)
    ax_t.set_xlabel("wall time, seconds (median; whiskers: min–max)")
    ax_m.set_yticks(y, [""] * len(y))
    ax_m.set_xlabel("peak RSS, MB (median)")
    ax_m.margins(x=0.25)
    ax_t.margins(x=0.12)
    fig.suptitle(
        f"dwetl full reload, {size['items']:,} items, {meta['source']} → {meta['dw']}, "
        f"K={size['repeat']} ({meta['date']})"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def unused_name(folder: Path, name: str) -> str:
    """`name`, else `name-2`, `name-3`, ...: the first for which `folder` holds no `.json` or
    `.md` file, so that a result is never written over an earlier one (two runs on one day
    share the default, date-based names).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "day.json").write_text("{}")
    >>> unused_name(folder, "day"), unused_name(folder, "other")
    ('day-2', 'other')
    """
    candidate, number = name, 1
    while any((folder / f"{candidate}{suffix}").exists() for suffix in (".json", ".md")):
        number += 1
        candidate = f"{name}-{number}"
    return candidate


def write(result: dict[str, Any], folder: Path, name: str) -> list[Path]:
    """JSON, markdown and a PNG per size under `folder` (`name.png` for one size,
    `name-<size>.png` for several; `name` made unused first, `unused_name`); returns the paths
    written."""
    folder.mkdir(parents=True, exist_ok=True)
    name = unused_name(folder, name)
    written = [folder / f"{name}.json", folder / f"{name}.md"]
    written[0].write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    written[1].write_text(markdown(result))
    several = len(result["sizes"]) > 1
    for size in result["sizes"]:
        png = folder / (f"{name}-{size['label']}.png" if several else f"{name}.png")
        if chart(result["meta"], size, png):
            written.append(png)
    return written
