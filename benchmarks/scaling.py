"""Time and peak RSS against size, from the result files of several `benchmarks.reload` runs.

    uv run --group bench python -m benchmarks.scaling --dw duckdb

Reads benchmarks/results/*.json of that warehouse kind (the latest file per size), writes
benchmarks/results/scaling-<dw>.png and .md: wall time must grow linearly, peak RSS sub-linearly.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.report import TOOLS

RESULTS = Path(__file__).parent / "results"


def load(folder: Path, dw: str) -> dict[int, dict[str, Any]]:
    """The latest result per size (items) for warehouse kind `dw`."""
    by_size: dict[int, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime):
        result = json.loads(path.read_text())
        if not isinstance(result, dict):  # another tool's file
            continue
        meta = result.get("meta", {})
        if meta.get("dw") == dw and "summary" in result:
            by_size[int(meta["items"])] = result  # later files replace earlier ones
    return dict(sorted(by_size.items()))


def table(results: dict[int, dict[str, Any]]) -> str:
    """Markdown: wall s and peak RSS MB per tool (rows) and size (columns)."""
    sizes = list(results)
    head = "| tool | " + " | ".join(f"{s:,} items" for s in sizes) + " |"
    lines = [head, "| --- |" + " --- |" * len(sizes)]
    for tool, label in TOOLS.items():
        cells = []
        for size in sizes:
            entry = results[size]["summary"].get(tool, {})
            if "wall_s" in entry:
                wall = entry["wall_s"]["median"]
                rss = entry["peak_rss_mb"]["median"]
                cells.append(f"{wall:.1f} s, {rss:.0f} MB")
            else:
                cells.append("")
        if any(cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def chart(results: dict[int, dict[str, Any]], path: Path, dw: str) -> None:
    """Two log-log panels: wall time and peak RSS against items, one line per tool."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 4.5))
    for tool, label in TOOLS.items():
        if tool == "pandas":  # capped at --pandas-items rows: not a function of the size
            continue
        points = [
            (size, r["summary"][tool])
            for size, r in results.items()
            if "wall_s" in r["summary"].get(tool, {})
        ]
        if not points:
            continue
        sizes = [p[0] for p in points]
        ax_t.plot(sizes, [p[1]["wall_s"]["median"] for p in points], marker="o", label=label)
        ax_m.plot(sizes, [p[1]["peak_rss_mb"]["median"] for p in points], marker="o", label=label)
    for ax, what in ((ax_t, "wall time, s"), (ax_m, "peak RSS, MB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("order items in the source")
        ax.set_ylabel(what)
        ax.grid(True, which="both", alpha=0.3)
    ax_t.legend(fontsize=8)
    fig.suptitle(f"Scaling of a full reload into {dw} (medians)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """Write scaling-<dw>.md and .png from the result files."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dw", choices=("duckdb", "postgresql"), default="duckdb")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = load(args.results, args.dw)
    if not results:
        raise SystemExit(f"no results for {args.dw} in {args.results}")
    (args.results / f"scaling-{args.dw}.md").write_text(table(results))
    chart(results, args.results / f"scaling-{args.dw}.png", args.dw)
    print(table(results))


if __name__ == "__main__":
    main()
