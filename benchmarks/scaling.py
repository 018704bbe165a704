"""Time and peak RSS against size, from one `benchmarks.reload` run over several sizes.

    uv run --group bench python -m benchmarks.scaling benchmarks/results/<name>.json

Reads that one results file (every size measured in the same run, on the same machine state:
sizes from different runs, picked by date or file time, would mix days and commits), writes
<its name>-scaling.md and .png beside it: wall time must grow linearly, peak RSS sub-linearly.
`benchmarks.reload --sizes` writes them itself.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.report import TOOLS


class NotOneRunOverSizes(ValueError):
    """The file is not a `benchmarks.reload` result with several sizes."""


def load(path: Path) -> dict[int, dict[str, Any]]:
    """Each size's block of one results file, by items."""
    result = json.loads(path.read_text())
    sizes = result.get("sizes") if isinstance(result, dict) else None
    if not isinstance(sizes, list):
        raise NotOneRunOverSizes(
            f"{path} is not a results file of one run over sizes (python -m benchmarks.reload "
            "--sizes 1M,5M,20M writes one)"
        )
    return {int(size["items"]): size for size in sizes}


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


def write(results: dict[int, dict[str, Any]], folder: Path, name: str, dw: str) -> list[Path]:
    """<name>-scaling.md and .png under `folder`; returns the paths written."""
    md, png = folder / f"{name}-scaling.md", folder / f"{name}-scaling.png"
    md.write_text(table(results))
    try:
        chart(results, png, dw)
    except ImportError:  # matplotlib is in the bench group
        return [md]
    return [md, png]


def main(argv: list[str] | None = None) -> None:
    """Write <name>-scaling.md and .png from one results file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path, help="a benchmarks.reload results file (JSON)")
    args = parser.parse_args(argv)
    try:
        results = load(args.results)
    except (OSError, ValueError) as exc:
        raise SystemExit(str(exc)) from None
    if len(results) < 2:
        raise SystemExit(f"{args.results} has one size: nothing to scale")
    dw = json.loads(args.results.read_text())["meta"]["dw"]
    write(results, args.results.parent, args.results.stem, dw)
    print(table(results))


if __name__ == "__main__":
    main()
