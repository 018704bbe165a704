"""How fast the `dwetl` console script starts: `--help`, a command's `--help`, and a command
that answers from the warehouse (`status` on a fresh DuckDB warehouse: process start to its
first queries answered and printed).

    uv run python -m benchmarks.cli_start --runs 10

Each command runs `--runs` times as its own process, in rounds (A B C A B C ...) so drift of a
shared machine hits them alike; the figures are median, min and max wall seconds. The bytecode
of dwetl is compiled first (a machine with PYTHONDONTWRITEBYTECODE=1 would otherwise compile
every module from source in every process). Writes `<name>.json` and `<name>.md` into --out.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.report import spread

REPO = Path(__file__).resolve().parent.parent
DWETL = str(Path(sys.executable).with_name("dwetl"))


def commands(dw: str) -> dict[str, list[str]]:
    """What is timed, by label: the interpreter alone as the floor, then dwetl."""
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "dwetl --help": [DWETL, "--help"],
        "dwetl run --help": [DWETL, "run", "--help"],
        "dwetl version": [DWETL, "version"],
        "dwetl status (DuckDB)": [DWETL, "status", "--dw", dw],
    }


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DWETL_")}


def _time(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=_env(), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-500:]}")
    return wall


def modules_imported(argv: list[str]) -> int:
    """How many modules the command imports (`python -X importtime` lines)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dwetl", *argv[1:]],
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    return sum(1 for line in done.stderr.splitlines() if line.startswith("import time:")) - 1


def measure(runs: int, work: Path) -> dict[str, Any]:
    for folder in ("src", "transforms"):
        compileall.compile_dir(REPO / folder, quiet=1)
    dw = f"duckdb:///{work / 'warehouse.duckdb'}"
    init = [DWETL, "init", "--dw", dw, "--source", f"sqlite:///{work / 'none.sqlite'}"]
    subprocess.run(init, env=_env(), capture_output=True, check=True)
    timed = commands(dw)
    for argv in timed.values():  # warm the page cache once
        _time(argv)
    walls: dict[str, list[float]] = {label: [] for label in timed}
    load_before = os.getloadavg()
    for _ in range(runs):
        for label, argv in timed.items():
            walls[label].append(_time(argv))
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "runs": runs,
        "wall_s": {label: spread(values) for label, values in walls.items()},
        "modules_imported": {
            label: modules_imported(argv)
            for label, argv in timed.items()
            if argv[0] == DWETL and label != "dwetl status (DuckDB)"
        },
    }


def markdown(result: dict[str, Any]) -> str:
    load = result["machine"]["load_average_before"]
    lines = [
        f"# dwetl start-up, {result['when']}",
        "",
        f"{result['runs']} runs each, interleaved; Python {result['machine']['python']}, "
        f"{result['machine']['cpus']} CPUs, load average {load[0]:.1f} before.",
        "",
        "| command | median s | min s | max s | modules imported |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, cell in result["wall_s"].items():
        modules = result["modules_imported"].get(label, "")
        lines.append(
            f"| `{label}` | {cell['median']:.3f} | {cell['min']:.3f} | {cell['max']:.3f} | "
            f"{modules} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--name", default=f"{datetime.now(UTC):%Y-%m-%d}-cli-start")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dwetl-cli-start-") as work:
        result = measure(args.runs, Path(work))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / f"{args.name}.md").write_text(markdown(result))
    sys.stdout.write(markdown(result))


if __name__ == "__main__":
    main()
