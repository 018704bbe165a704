"""How fast the `dwetl` console script starts: `--help`, a command's `--help`, a command that
answers from the warehouse (`status` on a fresh DuckDB warehouse: process start to its first
queries answered and printed), and `dwetl run`: on a warehouse `init` never touched (process
start to its first query answered: it exits 2 at once, asking for `init`), and with nothing
changed on a small loaded one (the fixed cost every run pays, whatever it loads).

    uv run python -m benchmarks.cli_start --runs 10
    uv run python -m benchmarks.cli_start --runs 10 --baseline main

Each command runs `--runs` times as its own process, in rounds (A B C A B C ...) so drift of a
shared machine hits them alike; the figures are median, min and max wall seconds. With
`--baseline REV` the same commands also run from that commit's code (`git archive` into a
scratch folder, on the same interpreter and packages, against the warehouse this checkout set
up), alternated with this checkout's in every round, and the table adds their ratio. The
bytecode of dwetl is compiled first (a machine with PYTHONDONTWRITEBYTECODE=1 would otherwise
compile every module from source in every process). Writes `<name>.json` and `<name>.md` into
--out.
"""

from __future__ import annotations

import argparse
import compileall
import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.report import spread, unused_name

REPO = Path(__file__).resolve().parent.parent
#: items of the small source the nothing-changed run reads (`dwetl sample --rows`)
SAMPLE_ITEMS = 2000
#: labels of the timed commands that touch a warehouse (no import count: it would write it)
TOUCHES_WAREHOUSE = (
    "dwetl status (DuckDB)",
    "dwetl run, to its first query",
    "dwetl run --json, nothing changed",
)
#: exit codes that are the command doing its job (a run on an uninitialised warehouse: 2)
EXPECTED_EXIT = {"dwetl run, to its first query": 2}
#: the label suffix of the baseline's figures
BASELINE = " [baseline]"


def commands(dw: str, work: Path) -> dict[str, list[str]]:
    """What is timed, by label: the interpreter alone as the floor, then dwetl's arguments
    (`dwetl` first: the command runs as `python -m dwetl` from the tree being timed)."""
    source = f"sqlite:///{work / 'source.sqlite'}"
    never_inited = f"duckdb:///{work / 'never-inited.duckdb'}"
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "dwetl --help": ["dwetl", "--help"],
        "dwetl run --help": ["dwetl", "run", "--help"],
        "dwetl version": ["dwetl", "version"],
        "dwetl status (DuckDB)": ["dwetl", "status", "--dw", dw],
        "dwetl run, to its first query": ["dwetl", "run", "--source", source, "--dw", never_inited],
        "dwetl run --json, nothing changed": [
            *("dwetl", "run", "--json", "--source", source, "--dw", dw),
        ],
    }


def _env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DWETL_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([str(tree / "src"), str(tree)])
    return env


def _argv(argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "dwetl", *argv[1:]] if argv[0] == "dwetl" else argv


def _time(argv: list[str], tree: Path, expected_exit: int = 0) -> float:
    started = time.perf_counter()
    done = subprocess.run(_argv(argv), env=_env(tree), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != expected_exit:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-500:]}")
    return wall


def modules_imported(argv: list[str], tree: Path) -> int:
    """How many modules the command imports (`python -X importtime` lines)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *_argv(argv)[1:]],
        env=_env(tree),
        capture_output=True,
        text=True,
        check=False,
    )
    return sum(1 for line in done.stderr.splitlines() if line.startswith("import time:")) - 1


def checkout(rev: str, folder: Path) -> Path:
    """The files of commit `rev` of this repository, in `folder`."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def measure(runs: int, work: Path, baseline: str | None = None) -> dict[str, Any]:
    trees = {"": REPO}
    if baseline is not None:
        trees[BASELINE] = checkout(baseline, work / "baseline")
    for tree in trees.values():
        for folder in ("src", "transforms"):
            compileall.compile_dir(tree / folder, quiet=1)
    dw = f"duckdb:///{work / 'warehouse.duckdb'}"
    source = f"sqlite:///{work / 'source.sqlite'}"
    for argv in (
        ["dwetl", "sample", "--rows", str(SAMPLE_ITEMS), "--source", source],
        ["dwetl", "init", "--dw", dw, "--source", source],
        ["dwetl", "run", "--full", "--dw", dw, "--source", source],
    ):
        subprocess.run(_argv(argv), env=_env(REPO), capture_output=True, check=True)
    # an empty DuckDB file: `run` connects and asks it for its control table (a file that does
    # not exist is refused before connecting)
    duckdb.connect(str(work / "never-inited.duckdb")).close()
    timed = commands(dw, work)
    for label, argv in timed.items():  # warm the page cache once
        for tree in trees.values():
            _time(argv, tree, EXPECTED_EXIT.get(label, 0))
    walls: dict[str, list[float]] = {label + s: [] for label in timed for s in trees}
    load_before = os.getloadavg()
    for _ in range(runs):
        for label, argv in timed.items():
            for suffix, tree in trees.items():
                walls[label + suffix].append(_time(argv, tree, EXPECTED_EXIT.get(label, 0)))
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "runs": runs,
        "baseline": baseline,
        "wall_s": {label: spread(values) for label, values in walls.items()},
        "modules_imported": {
            label + suffix: modules_imported(argv, tree)
            for label, argv in timed.items()
            for suffix, tree in trees.items()
            if argv[0] == "dwetl" and label not in TOUCHES_WAREHOUSE
        },
    }


def markdown(result: dict[str, Any]) -> str:
    load = result["machine"]["load_average_before"]
    baseline = result.get("baseline")
    lines = [
        f"# dwetl start-up, {result['when']}",
        "",
        f"{result['runs']} runs each, interleaved; Python {result['machine']['python']}, "
        f"{result['machine']['cpus']} CPUs, load average {load[0]:.1f} before.",
        "",
    ]
    if baseline:
        lines += [f"`{BASELINE.strip()}`: the code of `{baseline}`, alternated with this one.", ""]
    header = "| command | median s | min s | max s | modules imported |"
    lines += [header + (" / baseline |" if baseline else ""), "| --- | ---: | ---: | ---: | ---: |"]
    lines[-1] += " ---: |" if baseline else ""
    for label, cell in result["wall_s"].items():
        modules = result["modules_imported"].get(label, "")
        row = (
            f"| `{label}` | {cell['median']:.3f} | {cell['min']:.3f} | {cell['max']:.3f} | "
            f"{modules} |"
        )
        if baseline:
            base = result["wall_s"].get(label + BASELINE)
            row += f" {cell['median'] / base['median']:.2f} |" if base else " |"
        lines.append(row)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--baseline", help="a commit to time alongside (e.g. main)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--name", default=f"{datetime.now(UTC):%Y-%m-%d}-cli-start")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dwetl-cli-start-") as work:
        result = measure(args.runs, Path(work), args.baseline)
    args.out.mkdir(parents=True, exist_ok=True)
    name = unused_name(args.out, args.name)
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / f"{name}.md").write_text(markdown(result))
    sys.stdout.write(markdown(result))
    sys.stdout.write(f"\nwrote {args.out / name}.json and .md\n")


if __name__ == "__main__":
    main()
