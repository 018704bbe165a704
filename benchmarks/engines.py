"""`dwetl run --full` with `--engine polars` and with `--engine spark`, side by side: wall time and
peak RSS of the driver (the `dwetl` process), of Spark's JVM and of each Python worker (its
executors' Python, where the batches are transformed).

    uv run python -m benchmarks.engines --items 5000000 20000000 --repeat 1
    uv run python -m benchmarks.engines --items 5000000 20000000 --by-entity

`--by-entity` runs each engine's full reload in steps instead, on one warehouse: the dimensions
(one run), then each fact on its own (`-e fact_vendas` ...), and gives each step's peaks: which
part of a run sets the driver's peak, and whether that part grows with the fact.

Per size, the sample source (SQLite) is generated once; then, round after round, the engines run
in turn on a fresh warehouse each (polars, spark, polars, spark ...): a DuckDB file, or with
`--dw postgresql` a new PostgreSQL database on localhost (dropped after its run). With
`--before DIR` a third engine runs in the rounds, `spark` from the checkout at DIR (its own
`.venv`, with the spark extra), to compare a change to the Spark engine alternated:

    uv run python -m benchmarks.engines --items 1000000 --dw postgresql --repeat 3 \
        --before /tmp/dwetl-main

A process's peak RSS is sampled from /proc every 0.2 s over the process tree of the run (`wait4`
gives only the largest of the tree, not each process's). `--by-entity` uses DuckDB only.
Results: a JSON and a Markdown table in `benchmarks/results/`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.databases import create_database, drop_database
from benchmarks.measure import child_env, console_script

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Sampled:
    """One run's wall time and the peak RSS (MB) of each process of its tree, by role."""

    wall_s: float = 0.0
    returncode: int = 0
    driver_mb: float = 0.0
    jvm_mb: float = 0.0
    workers_mb: dict[int, float] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def _rss_mb(pid: int) -> tuple[float, str]:
    """Resident set size in MB, and the command line."""
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return 0.0, ""
    return rss / 1024, cmd


def _sample(root: int, into: Sampled, stop: threading.Event) -> None:
    while not stop.is_set():
        tree, todo = [], [root]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += _children(pid)
        for pid in tree:
            mb, cmd = _rss_mb(pid)
            if pid == root:
                into.driver_mb = max(into.driver_mb, mb)
            elif "java" in cmd.split(" ")[0]:
                into.jvm_mb = max(into.jvm_mb, mb)
            elif "pyspark.daemon" in cmd or "pyspark/daemon" in cmd or "python" in cmd:
                into.workers_mb[pid] = max(into.workers_mb.get(pid, 0.0), mb)
        stop.wait(0.2)


def measured(args: list[str], env: dict[str, str]) -> Sampled:
    """Run `args` and sample its process tree until it ends."""
    out = Sampled()
    started = time.perf_counter()
    child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stop = threading.Event()
    sampler = threading.Thread(target=_sample, args=(child.pid, out, stop), daemon=True)
    sampler.start()
    stdout, stderr = child.communicate()
    out.wall_s = time.perf_counter() - started
    stop.set()
    sampler.join()
    out.returncode = child.returncode
    lines = [line for line in stdout.decode().splitlines() if line.startswith("{")]
    out.report = json.loads(lines[-1]) if lines else {"stderr": stderr.decode()[-2000:]}
    return out


def sampled_source(items: int, work: Path, dwetl: str, env: dict[str, str]) -> str:
    """The URL of a SQLite source of `items` order items in `work`, sampled unless it is there
    already (from an earlier size or mode of the same work folder)."""
    path = work / f"oltp-{items}.sqlite"
    source = f"sqlite:///{path}"
    if not path.exists():
        subprocess.run([dwetl, "sample", "--rows", str(items), "--source", source], env=env,
                       check=True, capture_output=True)  # fmt: skip
    return source


def one_size(
    items: int,
    repeat: int,
    work: Path,
    master: str,
    batch_rows: int,
    dw_kind: str = "duckdb",
    before: Path | None = None,
) -> dict[str, Any]:
    dwetl, env = console_script("dwetl"), child_env()
    source = sampled_source(items, work, dwetl, env)
    #: label -> (the dwetl to run, its engine)
    engines = {"polars": (dwetl, "polars"), "spark": (dwetl, "spark")}
    if before is not None:
        engines["spark (before)"] = (str(before / ".venv" / "bin" / "dwetl"), "spark")
    runs: dict[str, list[Sampled]] = {label: [] for label in engines}
    for round_ in range(repeat):
        for label, (program, engine) in engines.items():
            name = f"dwetl_engines_{items}_{engine}_{round_}_{os.getpid()}"
            db = create_database(dw_kind, name, work)
            subprocess.run([program, "init", "--source", source, "--dw", db.url], env=env,
                           check=True, capture_output=True)  # fmt: skip
            args = [program, "run", "--full", "--json", "--source", source, "--dw", db.url,
                    "--batch-rows", str(batch_rows), "--engine", engine]  # fmt: skip
            if engine == "spark":
                args += ["--spark-master", master]
            sampled = measured(args, env)
            drop_database(db)
            if sampled.returncode not in (0, 3):
                raise RuntimeError(f"{label} at {items}: {sampled.report}")
            runs[label].append(sampled)
    summary: dict[str, Any] = {}
    for engine, samples in runs.items():
        summary[engine] = {
            "wall_s": statistics.median(s.wall_s for s in samples),
            "driver_mb": max(s.driver_mb for s in samples),
            "jvm_mb": max(s.jvm_mb for s in samples),
            "worker_mb": max(max(s.workers_mb.values(), default=0.0) for s in samples),
            "workers": max(len(s.workers_mb) for s in samples),
            "status": samples[-1].report.get("status"),
        }
    return summary


def steps() -> list[tuple[str, list[str]]]:
    """The steps of `--by-entity`: the dimensions (the calendar with them), then each fact."""
    from dwetl.entities.registry import all_entities

    specs = all_entities()
    dims = [s.name for s in specs if s.kind != "fact"]
    return [("dimensions", dims), *((s.name, [s.name]) for s in specs if s.kind == "fact")]


def by_entity(
    items: int, work: Path, master: str, batch_rows: int, dw_kind: str = "duckdb"
) -> dict[str, Any]:
    """Per engine, per step (`steps`): wall time and peaks of that step's run, into one
    warehouse of `dw_kind` per engine."""
    dwetl, env = console_script("dwetl"), child_env()
    source = sampled_source(items, work, dwetl, env)
    summary: dict[str, Any] = {}
    for engine in ("polars", "spark"):
        db = create_database(dw_kind, f"dwetl_engines_{items}_{engine}_steps_{os.getpid()}", work)
        url = db.url
        subprocess.run([dwetl, "init", "--source", source, "--dw", url], env=env,
                       check=True, capture_output=True)  # fmt: skip
        summary[engine] = {}
        for step, names in steps():
            args = [dwetl, "run", "--full", "--json", "--source", source, "--dw", url,
                    "--batch-rows", str(batch_rows), "--engine", engine,
                    "-e", ",".join(names)]  # fmt: skip
            if engine == "spark":
                args += ["--spark-master", master]
            sampled = measured(args, env)
            if sampled.returncode not in (0, 3):
                raise RuntimeError(f"{engine} {step} at {items}: {sampled.report}")
            summary[engine][step] = {
                "wall_s": sampled.wall_s,
                "driver_mb": sampled.driver_mb,
                "jvm_mb": sampled.jvm_mb,
                "worker_mb": max(sampled.workers_mb.values(), default=0.0),
                "batches": {e["entity"]: e["batches"] for e in sampled.report.get("entities", [])},
            }
        drop_database(db)
    return summary


def step_table(results: dict[int, dict[str, Any]], master: str) -> str:
    lines = [
        f"| items | engine | step | wall s | driver peak MB | JVM peak MB | largest Python "
        f"worker peak MB (`{master}`) |",
        "|---:|---|---|---:|---:|---:|---:|",
    ]
    for items, by_engine in results.items():
        for engine, by_step in by_engine.items():
            for step, r in by_step.items():
                jvm = f"{r['jvm_mb']:.0f}" if r["jvm_mb"] else "—"
                worker = f"{r['worker_mb']:.0f}" if r["worker_mb"] else "—"
                lines.append(
                    f"| {items:,} | {engine} | {step} | {r['wall_s']:.1f} "
                    f"| {r['driver_mb']:.0f} | {jvm} | {worker} |"
                )
    return "\n".join(lines) + "\n"


def table(results: dict[int, dict[str, Any]], master: str) -> str:
    lines = [
        f"| items | engine | wall s | vs polars | driver peak MB | JVM peak MB | largest "
        f"Python worker peak MB (`{master}`) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for items, by_engine in results.items():
        base = by_engine["polars"]["wall_s"]
        for engine, r in by_engine.items():
            jvm = f"{r['jvm_mb']:.0f}" if r["jvm_mb"] else "—"
            worker = f"{r['worker_mb']:.0f}" if engine.startswith("spark") else "—"
            lines.append(
                f"| {items:,} | {engine} | {r['wall_s']:.1f} | {r['wall_s'] / base:.2f}x "
                f"| {r['driver_mb']:.0f} | {jvm} | {worker} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", required=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--batch-rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--dw", choices=("duckdb", "postgresql"), default="duckdb")
    parser.add_argument("--before", type=Path, default=None,
                        help="a checkout whose spark engine runs in the rounds too")  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS)
    steps_help = "each engine's reload in steps: dimensions, then each fact"
    parser.add_argument("--by-entity", action="store_true", help=steps_help)
    options = parser.parse_args(argv)
    work = options.work or Path(tempfile.mkdtemp(prefix="dwetl-engines-"))
    master, batch_rows = options.spark_master, options.batch_rows
    if options.by_entity:
        results = {
            items: by_entity(items, work, master, batch_rows, options.dw) for items in options.items
        }
        render, kind = step_table, "engines-by-entity"
    else:
        results = {
            items: one_size(
                items, options.repeat, work, master, batch_rows, options.dw, options.before
            )
            for items in options.items
        }
        render, kind = table, "engines"
    if options.dw != "duckdb":
        kind += f"-{options.dw}"
    sizes = "-".join(f"{items // 1_000_000}M" if items >= 1_000_000 else str(items)
                     for items in options.items)  # fmt: skip
    name = f"{date.today()}-{kind}-{sizes}"
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (options.out / f"{name}.md").write_text(render(results, master))
    print(render(results, master))


if __name__ == "__main__":
    main()
