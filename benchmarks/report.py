"""Turn the runs of one benchmark into figures: medians with min and max, ratios, JSON,
a markdown table and a PNG chart of wall time per tool and phase."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

#: display order and labels of the measured tools
TOOLS = {
    "dwetl_full": "dwetl full reload",
    "dwetl_unchanged": "dwetl run, nothing changed",
    "dwetl_incremental": "dwetl incremental (1%)",
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
    return out


def _fmt(cell: dict[str, float], digits: int = 2) -> str:
    return f"{cell['median']:.{digits}f} ({cell['min']:.{digits}f}–{cell['max']:.{digits}f})"


def markdown(result: dict[str, Any]) -> str:
    """The summary as a markdown table plus ratios and notes."""
    meta = result["meta"]
    lines = [
        f"# Full reload benchmark — {meta['date']}, {meta['items']:,} items, "
        f"{meta['source']} → {meta['dw']}",
        "",
        f"K = {meta['repeat']} runs, median (min–max). Machine: {meta['machine']}. "
        f"Source rows: {meta.get('source_rows_total', '?'):,}. dwetl at commit "
        f"{meta.get('commit') or '?'}"
        f"{' with uncommitted changes' if meta.get('uncommitted_changes') else ''}.",
        "",
        "| tool | wall s | peak RSS MB | rows | phases (median s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for tool, label in TOOLS.items():
        entry = result["summary"].get(tool)
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
        breakdown = result.get("entities", {}).get(tool)
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
    lines += [f"| {name} | {value:.2f} |" for name, value in result["ratios"].items()]
    if meta.get("notes"):
        lines += ["", *[f"- {note}" for note in meta["notes"]]]
    return "\n".join(lines) + "\n"


def _label(tool: str, entry: dict[str, Any]) -> str:
    if tool == "pandas" and isinstance(entry.get("rows"), int):
        return f"pandas + SQLAlchemy\n(fact only, {entry['rows']:,} rows)"
    return TOOLS[tool]


def chart(result: dict[str, Any], path: Path) -> bool:
    """A PNG: wall time per tool as stacked phases (min–max whiskers), and peak RSS per tool."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    summary = result["summary"]
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
    meta = result["meta"]
    fig.suptitle(
        f"dwetl full reload, {meta['items']:,} items, {meta['source']} → {meta['dw']}, "
        f"K={meta['repeat']} ({meta['date']})"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write(result: dict[str, Any], folder: Path, name: str) -> list[Path]:
    """JSON, markdown and PNG under `folder`; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / f"{name}.json", folder / f"{name}.md"]
    written[0].write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    written[1].write_text(markdown(result))
    png = folder / f"{name}.png"
    if chart(result, png):
        written.append(png)
    return written
