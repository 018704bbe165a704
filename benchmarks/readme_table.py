"""The README's benchmark section, written from one or more results files (one harness run per
warehouse), and the move of the section it replaces into benchmarks/README.md.

    uv run python -m benchmarks.readme_table benchmarks/results/<duckdb>.json <postgresql>.json
    uv run python -m benchmarks.readme_table <duckdb>.json <postgresql>.json --write

Without --write it prints the section. With --write the README's `## Benchmarks` section (up to
the next `## ` heading) becomes the new one, and the old one goes, its headings one level down
and its links made relative to benchmarks/, to the top of benchmarks/README.md's
`## Earlier results` (newest first). Which run deserves the README is the reader's call: a run
on a noisy machine says so in its load average, not in this module.
"""

from __future__ import annotations

import argparse
import json
import posixpath
import re
from pathlib import Path
from typing import Any

from benchmarks.report import across_sizes

REPO = Path(__file__).resolve().parent.parent
SECTION = "## Benchmarks"
EARLIER = "## Earlier results"
#: the README's columns: (heading, tool in a size's summary)
COLUMNS = (
    ("dwetl full", "dwetl_full"),
    ("floor (connectorx + bulk insert)", "floor"),
    ("warehouse floor (dwetl's rows into keyed tables)", "warehouse_floor"),
    ("dlt (fastest)", "dlt_fastest"),
    ("dwetl run, nothing changed", "dwetl_unchanged"),
    ("dwetl incremental", "dwetl_incremental"),
)
#: the ratios shown, and what issue 23 asks of them
TARGETS = (
    ("dwetl_full / floor", "≤ 1.5 at 5M, ≤ 2.0 at 1M (DuckDB)"),
    ("dwetl_full / warehouse_floor", "≤ 1.25 (PostgreSQL)"),
    ("dwetl_unchanged / dwetl_full", ""),
    ("dwetl_incremental / dwetl_full", "≤ 0.06 with 1% of the items changed, at 5M"),
    ("dwetl_full / dlt_fastest", "≤ 0.33 (dlt ≥ 3x as long), at 5M"),
)
#: what issue 23 asks of growth across sizes (`across_sizes`), by the figure's name
GROWTH_TARGETS = (
    ("dwetl_incremental", "≤ 1.5 at 20M / 5M, the same items changed"),
    ("dwetl_full peak RSS", "≤ 1.3 at 20M / 5M (and ≤ 1.5 GB at 20M, DuckDB)"),
)
#: the pair of sizes those targets are set on (`across_sizes`' name for it)
GROWTH_PAIR = "20,000,000 / 5,000,000 items"
_DW = {"duckdb": "DuckDB", "postgresql": "PostgreSQL"}


def _median(size: dict[str, Any], tool: str, figure: str = "wall_s") -> float | None:
    if tool == "dlt_fastest":
        found = [m for t in ("dlt", "dlt_parquet") if (m := _median(size, t, figure)) is not None]
        return min(found) if found else None
    entry = size["summary"].get(tool, {})
    return entry[figure]["median"] if figure in entry else None


def _label(result: dict[str, Any], size: dict[str, Any]) -> str:
    return f"{_DW.get(result['meta']['dw'], result['meta']['dw'])}, {size['label']} items"


def table(results: list[dict[str, Any]]) -> list[str]:
    """One row per warehouse and size: medians in seconds, and dwetl's peak RSS."""
    lines = [
        "| warehouse, size (K) | " + " | ".join(h for h, _ in COLUMNS) + " | dwetl peak RSS |",
        "|---" * (len(COLUMNS) + 2) + "|",
    ]
    for result in results:
        for size in result["sizes"]:
            cells = []
            for _, tool in COLUMNS:
                value = _median(size, tool)
                cell = "" if value is None else f"{value:.1f} s"
                if tool == "dwetl_incremental" and value is not None and size["changed_items"]:
                    cell += f" ({size['changed_items']:,} changed)"
                cells.append(cell)
            rss = _median(size, "dwetl_full", "peak_rss_mb")
            rss_cell = "" if rss is None else f"{rss / 1024:.2f} GB"
            lines.append(
                f"| {_label(result, size)} (K={size['repeat']}) | "
                + " | ".join(cells)
                + f" | {rss_cell} |"
            )
    return lines


def ratio_table(results: list[dict[str, Any]]) -> list[str]:
    """The ratios of each warehouse and size side by side, with issue 23's targets."""
    sizes = [(result, size) for result in results for size in result["sizes"]]
    lines = [
        "| ratio (medians of one run) | "
        + " | ".join(_label(r, s) for r, s in sizes)
        + " | target (issue 23) |",
        "|---" * (len(sizes) + 2) + "|",
    ]
    for name, target in TARGETS:
        cells = [s["ratios"].get(name) for _, s in sizes]
        if any(c is not None for c in cells):
            shown = " | ".join("" if c is None else f"{c:.2f}" for c in cells)
            lines.append(f"| {name} | {shown} | {target} |")
    return lines


def growth_table(results: list[dict[str, Any]]) -> list[str]:
    """Each larger size against the smallest of the same run and against the size before it
    (`across_sizes`); a target is shown on the pair it names (20M / 5M)."""
    rows = [
        (result, pair, name, value)
        for result in results
        # computed again from the sizes: a results file written before the pairs grew
        for pair, figures in across_sizes(result["sizes"])["growth"].items()
        for name, value in figures.items()
    ]
    if not rows:
        return []
    lines = ["| growth (medians of one run) | ratio | target (issue 23) |", "|---|---|---|"]
    for result, pair, name, value in rows:
        targets = GROWTH_TARGETS if pair == GROWTH_PAIR else ()
        target = next((t for prefix, t in targets if name.startswith(prefix)), "")
        dw = _DW.get(result["meta"]["dw"], result["meta"]["dw"])
        lines.append(f"| {dw}: {name}, {pair} | {value:.2f} | {target} |")
    return [*lines, ""]


def _checks_line(result: dict[str, Any]) -> str:
    checks = result.get("checks", {})
    dw = _DW.get(result["meta"]["dw"], result["meta"]["dw"])
    said = []
    rounds = checks.get("rounds", {}).get("status")
    if rounds:
        said.append(f"**{rounds}** in every round")
    before = checks.get("before", {}).get("status")
    if before and before != "no before":
        said.append(f"**{before}** to the previous commit's, loaded in the same rounds")
    baseline = checks.get("baseline", {})
    status = baseline.get("status", "no baseline")
    if status == "no baseline":
        said.append("not compared with a baseline run")
    else:
        said.append(
            f"**{status}** against the baseline run of commit "
            f"{baseline.get('commit') or '?'} ({baseline.get('path')})"
        )
    return f"- {dw}: the warehouse is " + "; ".join(said) + "."


def section(results: list[dict[str, Any]], paths: list[Path]) -> str:
    """The README's `## Benchmarks` section for these runs."""
    meta = results[0]["meta"]
    commits = sorted({r["meta"].get("commit") or "?" for r in results})
    loads = "; ".join(
        f"{_DW.get(r['meta']['dw'])} {r['meta'].get('load_average')}" for r in results
    )
    commands = [r["meta"]["command"] for r in results if r["meta"].get("command")]
    reports = [_repo_path(path.with_suffix(".md")) for path in paths]
    lines = [
        f"{SECTION} (latest, {meta['date']})",
        "",
        f"One harness run per warehouse, every size and tool in it, alternating "
        f"(details in [benchmarks/README.md](benchmarks/README.md)), dwetl at commit "
        f"{', '.join(commits)}, on {meta['machine']} (load average at the end: {loads}). "
        "Medians; compare the ratios, not the seconds, with other days' tables.",
        "",
        *[f"    uv run --group bench {command}" for command in commands],
        *([""] if commands else []),
        *table(results),
        "",
        *ratio_table(results),
        "",
        *growth_table(results),
        *[_checks_line(r) for r in results],
        "",
        "Results: " + ", ".join(f"[{md}]({md})" for md in reports) + ".",
        "",
    ]
    largest = results[0]["sizes"][-1]
    several = len(results[0]["sizes"]) > 1
    png = paths[0].with_name(
        f"{paths[0].stem}-{largest['label']}.png" if several else f"{paths[0].stem}.png"
    )
    if png.exists():
        lines += [
            f"![dwetl and the floors, {_label(results[0], largest)}]({_repo_path(png)})",
            "",
        ]
    return "\n".join(lines)


def _repo_path(path: Path) -> str:
    return path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)


def split_section(text: str, heading: str) -> tuple[str, str, str]:
    """(before, the section from its `heading` line to the next `## `, after)."""
    match = re.search(rf"^{re.escape(heading)}.*$", text, flags=re.MULTILINE)
    if match is None:
        raise ValueError(f"no line starting with {heading!r}")
    start = match.start()
    following = re.search(r"^## ", text[match.end() :], flags=re.MULTILINE)
    end = match.end() + following.start() if following else len(text)
    return text[:start], text[start:end], text[end:]


def _relative_to_benchmarks(target: str) -> str:
    if "://" in target or target.startswith(("#", "/", "mailto:")):
        return target
    path, hash_, anchor = target.partition("#")
    return posixpath.relpath(path, "benchmarks") + hash_ + anchor


def moved(old_section: str) -> str:
    """The README's old section as benchmarks/README.md holds it: headings one level down,
    relative links and images pointing from benchmarks/."""
    text = re.sub(r"^(#+) ", r"#\1 ", old_section, flags=re.MULTILINE)
    text = text.replace(f"#{SECTION} (latest, ", f"#{SECTION} (", 1)
    return re.sub(
        r"(\]\()([^)\s]+)(\))",
        lambda m: m.group(1) + _relative_to_benchmarks(m.group(2)) + m.group(3),
        text,
    )


def write(new_section: str, readme: Path, benchmarks_readme: Path) -> None:
    """Put `new_section` in the README in place of its benchmark section, and that section at
    the top of benchmarks/README.md's earlier results."""
    before, old, after = split_section(readme.read_text(), SECTION)
    readme.write_text(before + new_section.rstrip("\n") + "\n\n" + after)
    text = benchmarks_readme.read_text()
    old_moved = moved(old).rstrip("\n") + "\n\n"
    if re.search(rf"^{re.escape(EARLIER)}", text, flags=re.MULTILINE):
        head, earlier, tail = split_section(text, EARLIER)
        title, _, rest = earlier.partition("\n")
        intro, blank, older = rest.lstrip("\n").partition("\n\n")
        earlier = f"{title}\n\n{intro}{blank}{old_moved}{older}"
        benchmarks_readme.write_text(head + earlier + tail)
    else:
        benchmarks_readme.write_text(
            text.rstrip("\n")
            + f"\n\n{EARLIER}\n\nThe README's benchmark tables before the latest, newest first.\n\n"
            + old_moved
        )


def main(argv: list[str] | None = None) -> None:
    """Print the section, or --write it into README.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path, nargs="+", help="benchmarks.reload results files")
    parser.add_argument("--write", action="store_true", help="replace the README's section")
    parser.add_argument("--readme", type=Path, default=REPO / "README.md")
    parser.add_argument("--benchmarks-readme", type=Path, default=REPO / "benchmarks" / "README.md")
    args = parser.parse_args(argv)
    results = []
    for path in args.results:
        result = json.loads(path.read_text())
        if not isinstance(result, dict) or not isinstance(result.get("sizes"), list):
            raise SystemExit(f"{path} is not a benchmarks.reload results file with sizes")
        results.append(result)
    text = section(results, [p.resolve() for p in args.results])
    if args.write:
        write(text, args.readme, args.benchmarks_readme)
    else:
        print(text)


if __name__ == "__main__":
    main()
