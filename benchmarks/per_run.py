"""The fixed cost of a run inside one process: `dwetl.run.runner.run(settings, ["all"])` on a small
loaded sample (`dwetl sample --rows 1000`, `init`, a full run), as the test suite calls it hundreds
of times, with nothing changed or with `--changed` order items changed before every run.

    uv run python -m benchmarks.per_run --baseline main --rounds 4 --runs 6
    uv run python -m benchmarks.per_run --baseline main --changed 10 --single-thread

Each checkout (this one, and with `--baseline REV` that commit's code, `git archive`d into a
scratch folder and run on the same interpreter and packages) runs in its own process per round,
alternated (A B A B ...), each with its own warehouse: one warm-up run, then `--runs` timed runs.
The figures are the medians over all rounds of the wall seconds and of the process's CPU seconds
per run (`time.process_time`, every thread). On a shared machine the CPU seconds move less than
the wall; `--single-thread` (Polars and DuckDB on one thread each) makes them the work done, not
the threads' waiting. Writes `<name>.json` and `<name>.md` into --out.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.report import unused_name

REPO = Path(__file__).resolve().parent.parent


def _worker(folder: Path, runs: int, changed: int, rows: int, single: bool) -> dict[str, Any]:
    """In this process: the sample set up once in `folder`, then a warm-up and `runs` runs."""
    source, dw = folder / "source.sqlite", folder / "dw.duckdb"
    os.environ["DWETL_SOURCE_URL"] = f"sqlite:///{source}"
    os.environ["DWETL_DW_URL"] = f"duckdb:///{dw}"
    os.chdir(folder)
    if single:
        import dwetl.warehouse.duckdb as duckdb_warehouse

        duckdb_warehouse.NO_EXTENSIONS["threads"] = 1
    from typer.testing import CliRunner

    from dwetl.cli.app import app
    from dwetl.core.config import load_settings
    from dwetl.run.runner import run

    if not dw.exists():
        for args in (["sample", "--rows", str(rows)], ["init"], ["run", "--full"]):
            done = CliRunner().invoke(app, args)
            if done.exit_code not in (0, 1):
                raise SystemExit(f"dwetl {' '.join(args)}: {done.output}")
    settings = load_settings(cwd=folder)
    run(settings, ["all"])
    walls, cpus = [], []
    for _ in range(runs):
        if changed:
            _change(source, changed)
        wall, cpu = time.perf_counter(), time.process_time()
        run(settings, ["all"])
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"wall": walls, "cpu": cpus}


def _change(source: Path, n: int) -> None:
    """`n` order items spread over the key range get quantidade + 1, stamped by the source."""
    con = sqlite3.connect(source)
    ids = [i for (i,) in con.execute("SELECT id FROM venda_itens WHERE quantidade > 0 ORDER BY id")]
    picked = ids[:: max(1, len(ids) // n)][:n]
    con.executemany(
        "UPDATE venda_itens SET quantidade = quantidade + 1, "
        "atualizado_em = strftime('%Y-%m-%d %H:%M:%f', 'now') WHERE id = ?",
        [(i,) for i in picked],
    )
    con.commit()
    con.close()


def _archive(rev: str, into: Path) -> Path:
    """The code of commit `rev` (src/, transforms/, sql/) in a scratch folder."""
    tar = subprocess.run(
        ["git", "archive", rev, "src", "transforms", "sql"], cwd=REPO, capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    return into


def _measure(tree: Path, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=f"{tree}{os.pathsep}{tree / 'src'}")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.single_thread:
        env["POLARS_MAX_THREADS"] = "1"
    command = [sys.executable, "-m", "benchmarks.per_run", "--worker", str(folder)]
    command += ["--runs", str(args.runs), "--changed", str(args.changed), "--rows", str(args.rows)]
    command += ["--single-thread"] if args.single_thread else []
    env["PYTHONPATH"] += os.pathsep + str(REPO)
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{tree}: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", help="a commit to alternate with this checkout")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--changed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--single-thread", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--name", default=f"{datetime.now(UTC):%Y-%m-%d}-per-run")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.runs, args.changed, args.rows,
                                 args.single_thread)))  # fmt: skip
        return
    with tempfile.TemporaryDirectory(prefix="dwetl-per-run-") as scratch:
        trees = {"this checkout": REPO}
        if args.baseline:
            trees[args.baseline] = _archive(args.baseline, Path(scratch) / "baseline")
        found: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in trees}
        for round_ in range(args.rounds):
            for i, (name, tree) in enumerate(reversed(trees.items())):
                folder = Path(scratch) / f"sample-{i}"
                folder.mkdir(exist_ok=True)
                got = _measure(tree, folder, args)
                for key in ("wall", "cpu"):
                    found[name][key] += got[key]
                print(f"round {round_ + 1}: {name}: wall {statistics.median(got['wall']):.3f} s, "
                      f"cpu {statistics.median(got['cpu']):.3f} s", flush=True)  # fmt: skip
    _write(args, found)


def _write(args: argparse.Namespace, found: dict[str, dict[str, list[float]]]) -> None:
    medians = {
        name: {k: round(statistics.median(v), 4) for k, v in values.items()}
        for name, values in found.items()
    }
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "baseline": args.baseline,
        "rounds": args.rounds,
        "runs": args.runs,
        "changed": args.changed,
        "rows": args.rows,
        "single_thread": args.single_thread,
        "load_average": os.getloadavg(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "medians": medians, "runs": found}
    name = unused_name(args.out, args.name)
    (args.out / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    what = (
        f"{args.changed} order items changed before each run" if args.changed else "nothing changed"
    )
    lines = [
        f"# In-process run, {args.rows:,}-item sample, {what}",
        "",
        f"`python -m benchmarks.per_run` at {commit}"
        + (f" alternated with {args.baseline}" if args.baseline else "")
        + f": {args.rounds} rounds x {args.runs} runs each"
        + (", Polars and DuckDB on one thread" if args.single_thread else "")
        + f". {meta['machine']}; load average {', '.join(f'{x:.1f}' for x in meta['load_average'])}"
        " at the end.",
        "",
        "| code | wall s per run (median) | CPU s per run (median) |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {n} | {m['wall']:.3f} | {m['cpu']:.3f} |" for n, m in medians.items()]
    if args.baseline:
        this, base = medians["this checkout"], medians[args.baseline]
        lines += [
            f"| ratio | {this['wall'] / base['wall']:.2f} | {this['cpu'] / base['cpu']:.2f} |"
        ]
    (args.out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out / name}.json and .md")


if __name__ == "__main__":
    main()
